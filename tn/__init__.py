"""States of spin lattices: exact (dense), MPS (DMRG, purification), PEPS (simple update).

``macrobell.tn`` imports :mod:`macrobell.lattice` only.
"""

from .api import GROUND_METHODS, THERMAL_METHODS, from_dense, from_quimb, ground_state, thermal_states
from .state import ConvergenceWarning, DenseState, MixtureState, MPSState, PEPSState, State

__all__ = ["ground_state", "thermal_states", "from_dense", "from_quimb", "State", "DenseState", "MPSState", "PEPSState", "MixtureState",
           "GROUND_METHODS", "THERMAL_METHODS", "ConvergenceWarning"]
