"""Observables: correlators, reduced and effective states, LHV criteria.

``macrobell.observables`` imports :mod:`macrobell.lattice` and the state
classes of :mod:`macrobell.tn` (and the leaf ``macrobell._threads``: the
entry points pin BLAS threads when work starts).
"""

from . import bell, criteria, thresholds, witnesses
from .api import correlation_tensor, effective_state, pair_correlations, reduced_state, reduced_states
from .criteria import criteria as lhv_criteria
from .effective import EffectiveState, UnphysicalStateError

__all__ = ["effective_state", "pair_correlations", "reduced_state", "reduced_states", "correlation_tensor",
           "EffectiveState", "UnphysicalStateError", "lhv_criteria", "criteria", "thresholds", "bell",
           "witnesses"]
