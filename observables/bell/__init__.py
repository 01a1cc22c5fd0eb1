"""Deciding locality on effective states: the Bell engine.

Projective +-1 qubit measurements along unit Bloch vectors, one list of
settings per party (``M = 1`` effective states: one qubit per party).
Behaviours are ``p[a_1..a_K, x_1..x_K]`` with outcome index 0 <-> +1;
inequalities are in extended-correlator form (index 0 = not measured), see
:mod:`.behaviour`.  Submodules:

* :mod:`.behaviour` -- the behaviour ``p(a_1...a_K | x_1...x_K)`` and correlators;
* :mod:`.lp`        -- the local polytope LP (visibility, local model, dual inequality);
* :mod:`.search`    -- settings seesaw around the LP;
* :mod:`.named`     -- CHSH (Horodecki) and I3322;
* :mod:`.wwzb`      -- the exact Zukowski-Brukner two-setting condition;
* :mod:`.lhs`       -- local-hidden-state (unsteerability) certificates by SDP.
"""

from .behaviour import correlations, correlators, check_settings, bell_operator
from .lp import LocalTest, BellInequality, local_visibility, MAX_SETTINGS_TOTAL, VIOLATION_TOL
from .search import BellSearch, search, CHSH_COEFFICIENTS, I3322_COEFFICIENTS
from .named import BellValue, chsh, i3322
from .wwzb import WWZBValue, wwzb, wwzb_ratio
from .lhs import MAX_DIRECTIONS, LHSCertificate, lhs_certificate, measurement_polyhedron
# the bracket function is exported as visibility_bracket: its own name would hide the submodule bell.bracket
from .bracket import LHVCertificate, VisibilityBracket, lhv_certificate, werner_lhv_certificate
from .bracket import bracket as visibility_bracket
from .decide import decide, wwzb_upper_bound
from .mbody import MBodySearch, StateSearch, mbody_search, state_search

__all__ = [
    "correlations", "correlators", "check_settings", "bell_operator",
    "LocalTest", "BellInequality", "local_visibility", "MAX_SETTINGS_TOTAL", "VIOLATION_TOL",
    "BellSearch", "search", "CHSH_COEFFICIENTS", "I3322_COEFFICIENTS",
    "BellValue", "chsh", "i3322",
    "wwzb", "WWZBValue", "wwzb_ratio",
    "LHSCertificate", "lhs_certificate", "measurement_polyhedron", "MAX_DIRECTIONS",
    "visibility_bracket", "VisibilityBracket", "lhv_certificate", "LHVCertificate", "werner_lhv_certificate",
    "decide", "wwzb_upper_bound",
    "MBodySearch", "StateSearch", "mbody_search", "state_search",
]
