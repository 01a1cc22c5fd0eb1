"""The verdict: one ordered table from criteria to the strongest guarantee.

:data:`VERDICT_TABLE` is the single source of truth.  Each row names a level,
the certificate it rests on, the class of measurements and the number of
settings it covers, its source, and a predicate over the criteria dict of
:func:`macrobell.observables.criteria.criteria`.  :func:`verdict` returns the
first row whose predicate holds; :func:`criteria` calls it on its own output,
so the verdict cannot drift from the reported numbers.

Levels, strongest statement first:

* ``nonlocal`` -- an explicit Bell violation was found (no LHV model for
  the stored inequality, with its settings count, value, local bound and
  settings);
* ``separable`` -- K = 2, M = 1, PPT (two qubits: PPT iff separable):
  LHV for all measurements (POVMs), any number of settings;
* ``local-povm`` -- verified Werner certificate at ``V' = 1/2``:
  LHV for all POVMs, any number of settings;
* ``local-projective`` -- verified Werner certificate at ``V' = 0.6875``,
  certified unsteerable, or an LHS certificate: LHV for all projective
  measurements, any number of settings;
* ``local-correlations`` -- Grothendieck: the correlation functions (not
  the marginals) of all projective measurements, any number of settings;
* ``local-2-setting`` -- two settings per party: K = 2, CHSH <= 2 (then
  every 2-setting, 2-outcome behaviour is local, marginals included, Fine,
  PRL 48, 291 (1982)); K >= 3, the Zukowski-Brukner condition (rigorous upper
  bound, or an exact WWZB ratio from the Bell engine): all two-setting
  full-correlation inequalities;
* ``unknown`` -- nothing above is proven.

Results of the Bell engine enter through ``criteria(..., bell=...)`` as the
keys ``nonlocal`` (a found violation), ``wwzb_ratio`` and ``lhs_local`` of the
criteria dict, which the rows below read like any other criterion.  A dict
from an old file that lacks a key simply does not grant that row; old verdict
strings are mapped by :data:`LEGACY_VERDICTS`.

Conventions: projective measurements are +-1 qubit observables along unit
Bloch vectors on the effective state; thresholds come from
:mod:`.thresholds`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from . import thresholds as th

__all__ = ["VerdictRule", "VERDICT_TABLE", "VERDICTS", "LEGACY_VERDICTS", "canonical_verdict",
           "verdict_rule", "verdict"]

#: Verdict strings written by older versions, mapped to the current level.
#: ``chsh-violating`` (CHSH > 2) is a special case of ``nonlocal``.
LEGACY_VERDICTS: dict[str, str] = {"chsh-violating": "nonlocal"}


@dataclass(frozen=True)
class VerdictRule:
    """One row of :data:`VERDICT_TABLE`.

    Attributes
    ----------
    level : str
        Verdict level granted when ``test`` holds.
    certificate : str
        Criteria key(s) the rule reads.
    measurements : str
        Class of measurements the guarantee covers.
    settings : str
        Number of settings per party the guarantee covers.
    source : str
        Paper of the criterion.
    test : callable
        ``test(crit) -> str | None``: a reason when the rule applies.
    """

    level: str
    certificate: str
    measurements: str
    settings: str
    source: str
    test: Callable[[Mapping[str, Any]], str | None]

    def guarantee(self) -> str:
        """One-line statement of what the level proves."""
        if self.level == "nonlocal":
            return f"no LHV model: {self.measurements}, {self.settings}"
        return f"LHV model for {self.measurements}, {self.settings}"


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _le(x: Any, bound: float) -> bool:
    """``x <= bound`` with numerical slack; False for NaN/None."""
    v = _num(x)
    return not math.isnan(v) and v <= bound + th.NUMERIC_TOL


def _two_qubit(c: Mapping[str, Any]) -> bool:
    return int(c.get("K", 0)) == 2 and int(c.get("M", 1)) == 1


def _nonlocal(c: Mapping[str, Any]) -> str | None:
    nv = c.get("nonlocal")
    if not isinstance(nv, Mapping):
        return None
    value, bound = _num(nv.get("value")), _num(nv.get("local_bound"))
    if not value > bound + th.NUMERIC_TOL:
        return None
    return (f"{nv.get('inequality')} = {value:.6g} > local bound {bound:g} with "
            f"{nv.get('settings_count')} settings per party")


def _separable(c: Mapping[str, Any]) -> str | None:
    if _two_qubit(c) and c.get("ppt") is True:
        return "PPT (Peres-Horodecki: two qubits, PPT iff separable)"
    return None


def _werner_cert(level: str, bound: float) -> Callable[[Mapping[str, Any]], str | None]:
    def test(c: Mapping[str, Any]) -> str | None:
        cert = (c.get("werner_certificates") or {}).get(level) if _two_qubit(c) else None
        if not isinstance(cert, Mapping) or cert.get("verified") is not True:
            return None
        if not _le(cert.get("V"), bound) or not 0.0 <= _num(cert.get("t")) <= 1.0:
            return None
        frame = "" if cert.get("frame") is None else " in a rotated frame of B"
        return (f"rho = (1-t) rho_W({_num(cert['V']):.6g}){frame} + t sigma, sigma PPT, "
                f"t = {_num(cert['t']):.6g} (verified; {th.WERNER_BOUNDS[level]['source']}); "
                f"werner_V = {_num(c.get('werner_V')):.6g}")
    return test


def _unsteerable(c: Mapping[str, Any]) -> str | None:
    if _two_qubit(c) and c.get("unsteerable") is True:
        return f"unsteerable ({c.get('steering_method')} criterion, value {_num(c.get('steering')):.6g})"
    return None


def _lhs(c: Mapping[str, Any]) -> str | None:
    return "LHS certificate (Bell engine)" if c.get("lhs_local") is True else None


def _grothendieck(c: Mapping[str, Any]) -> str | None:
    if _two_qubit(c) and c.get("grothendieck_local") is True:
        return f"sv_max = {_num(c.get('sv_max')):.6g} <= 1/K_G(3) = {th.GROTHENDIECK_LOCAL:g}"
    return None


def _chsh_local(c: Mapping[str, Any]) -> str | None:
    # K = 2: zb_max = t1^2 + t2^2 exactly (SVD), = (chsh_max / 2)^2.
    if _two_qubit(c) and _le(c.get("zb_max"), th.ZB_BOUND):
        return f"chsh_max = {_num(c.get('chsh_max')):.6g} <= 2 (zb_max = {_num(c.get('zb_max')):.6g})"
    return None


def _multi(c: Mapping[str, Any]) -> bool:
    return int(c.get("K", 0)) >= 3 and int(c.get("M", 1)) == 1


def _zb_upper(c: Mapping[str, Any]) -> str | None:
    if _multi(c) and _le(c.get("zb_upper"), th.ZB_BOUND):
        return f"zb_upper = {_num(c.get('zb_upper')):.6g} <= 1 (sum of all squared correlations)"
    return None


def _wwzb(c: Mapping[str, Any]) -> str | None:
    if _multi(c) and _le(c.get("wwzb_ratio"), 1.0):
        return f"exact WWZB ratio {_num(c.get('wwzb_ratio')):.6g} <= 1 (Bell engine)"
    return None


_ALL_PROJ = "all projective measurements"
_ANY = "any number of settings"

#: The ordered verdict table: the first row that applies gives the verdict.
VERDICT_TABLE: tuple[VerdictRule, ...] = (
    VerdictRule("nonlocal", "nonlocal", "the projective settings stored in crit['nonlocal']",
                "crit['nonlocal']['settings_count'] settings per party",
                "Horodecki, Horodecki, Horodecki, PLA 200, 340 (1995) for CHSH; Bell engine otherwise",
                _nonlocal),
    VerdictRule("separable", "ppt (K = 2, M = 1)", "all measurements (POVMs)", _ANY,
                "Werner, PRA 40, 4277 (1989); Peres, PRL 77, 1413 (1996); Horodecki, PLA 223, 1 (1996)",
                _separable),
    VerdictRule("local-povm", "werner_certificates['local-povm']", "all POVMs", _ANY,
                str(th.WERNER_BOUNDS["local-povm"]["source"]),
                _werner_cert("local-povm", th.WERNER_LOCAL_POVM)),
    VerdictRule("local-projective", "werner_certificates['local-projective']", _ALL_PROJ, _ANY,
                str(th.WERNER_BOUNDS["local-projective"]["source"]),
                _werner_cert("local-projective", th.WERNER_LOCAL_PROJECTIVE)),
    VerdictRule("local-projective", "unsteerable", _ALL_PROJ, _ANY,
                "Jevtic et al., JOSA B 32, A40 (2015); Nguyen & Vu, EPL 115, 10003 (2016); "
                "Bowles et al., PRA 93, 022121 (2016)", _unsteerable),
    VerdictRule("local-projective", "lhs_local", _ALL_PROJ, _ANY,
                "Fillettaz, Hirsch, Designolle, Brunner, PRA 98, 022115 (2018)", _lhs),
    VerdictRule("local-correlations", "grothendieck_local",
                "correlation functions (no marginals) of all projective measurements", _ANY,
                "Designolle et al., PRR 5, 043059 (2023) (1/K_G(3) >= 0.6875)", _grothendieck),
    VerdictRule("local-2-setting", "zb_max (K = 2: CHSH)",
                "all projective measurements, marginals included", "2 settings per party",
                "Horodecki 1995; Fine, PRL 48, 291 (1982)", _chsh_local),
    VerdictRule("local-2-setting", "zb_upper (K >= 3)",
                "full correlations of projective measurements", "2 settings per party",
                "Zukowski & Brukner, PRL 88, 210401 (2002)", _zb_upper),
    VerdictRule("local-2-setting", "wwzb_ratio (K >= 3)",
                "full correlations of projective measurements", "2 settings per party",
                "Zukowski & Brukner, PRL 88, 210401 (2002)", _wwzb),
)

#: Verdict levels in table order (strongest statement first), then ``unknown``.
VERDICTS: tuple[str, ...] = tuple(dict.fromkeys(r.level for r in VERDICT_TABLE)) + ("unknown",)


def canonical_verdict(level: str) -> str:
    """Map a verdict string, possibly from an old file, to a current level.

    ``"chsh-violating"`` becomes ``"nonlocal"`` (:data:`LEGACY_VERDICTS`);
    current levels are returned unchanged; anything else is a ValueError.
    """
    level = LEGACY_VERDICTS.get(level, level)
    if level not in VERDICTS:
        raise ValueError(f"unknown verdict {level!r}; allowed: {VERDICTS} "
                         f"or legacy {tuple(LEGACY_VERDICTS)}")
    return level


def verdict_rule(crit: Mapping[str, Any]) -> tuple[VerdictRule | None, str]:
    """The first row of :data:`VERDICT_TABLE` that applies, and its reason."""
    for rule in VERDICT_TABLE:
        reason = rule.test(crit)
        if reason:
            return rule, reason
    M = int(crit.get("M", 1))
    if M != 1:
        return None, f"M = {M}: no criterion here certifies locality of M-body observables"
    return None, "no criterion applies"


def verdict(crit: Mapping[str, Any], werner_tol: float | None = None, with_reason: bool = False):
    """Strongest guarantee supported by a criteria dict (see :data:`VERDICT_TABLE`).

    Parameters
    ----------
    crit : mapping
        Output of :func:`macrobell.observables.criteria.criteria` (needs
        ``K``; rows read only the keys they name, missing keys never grant).
    werner_tol : float, optional
        Ignored; kept so old calls work.  Werner levels are granted only by a
        verified certificate (``crit['werner_certificates']``), never by the
        distance to the Werner family.
    with_reason : bool
        Also return a one-line reason naming the bound used.
    """
    del werner_tol
    rule, reason = verdict_rule(crit)
    level = "unknown" if rule is None else rule.level
    return (level, reason) if with_reason else level
