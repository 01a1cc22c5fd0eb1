"""macrobell — macroscopic Bell correlations of spin lattices with tensor networks.

Quick use::

    import macrobell as mb
    lat = mb.lattice.chain(12, pbc=True)
    gs = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="exact")
    eff = mb.observables.effective_state(gs, mb.lattice.Partition.sublattices(lat))
    eff.criteria()["verdict"]

The layers ``lattice``, ``tn``, ``observables`` and ``data`` are loaded on
first use (PEP 562), so ``import macrobell.lattice`` costs only the lattice.
Importing macrobell leaves the BLAS/numba thread pools alone; the compute
entry points pin them to ``$MACROBELL_THREADS`` threads (default 1;
``none`` opts out) when work starts, see :func:`macrobell.set_threads`.
"""

import importlib

from . import _logging  # noqa: F401  (the "macrobell" logger: quiet by default, a NullHandler)
from ._threads import set_threads
from ._version import __version__

_LAYERS = ("lattice", "tn", "observables", "data")

__all__ = ["lattice", "tn", "observables", "data", "set_threads", "__version__"]


def __getattr__(name: str):
    if name in _LAYERS:
        return importlib.import_module(f"{__name__}.{name}")  # also binds it on this module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
