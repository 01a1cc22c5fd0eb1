"""States of spin lattices: exact (dense), MPS (DMRG, purification), PEPS (simple update).

``macrobell.tn`` imports :mod:`macrobell.lattice` only (and the leaf
``macrobell._threads``, which pins BLAS threads when ``ground_state`` /
``thermal_states`` start work).
"""

from . import registry
from .api import from_dense, from_quimb, ground_state, thermal_states
from .interop import from_tenpy, to_tenpy
from .state import ConvergenceWarning, DenseState, MixtureState, MPSState, PEPSState, State

__all__ = ["ground_state", "thermal_states", "from_dense", "from_quimb", "from_tenpy", "to_tenpy", "State", "DenseState", "MPSState", "PEPSState", "MixtureState",
           "GROUND_METHODS", "THERMAL_METHODS", "ConvergenceWarning"]


def __getattr__(name):
    # GROUND_METHODS / THERMAL_METHODS follow the backend registry (tn.registry)
    if name in ("GROUND_METHODS", "THERMAL_METHODS"):
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
