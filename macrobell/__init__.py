"""macrobell — macroscopic Bell correlations of spin lattices with tensor networks.

Quick use::

    import macrobell as mb
    lat = mb.lattice.chain(12, pbc=True)
    gs = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="exact")
    eff = mb.observables.effective_state(gs, mb.lattice.Partition.sublattices(lat))
    eff.criteria()["verdict"]

Importing macrobell pins BLAS and numba to ``$MACROBELL_THREADS`` threads
(default 1); see :func:`macrobell.set_threads`.
"""

__version__ = "0.1.0"

from ._threads import set_threads

set_threads()

from . import lattice, observables, tn  # noqa: E402
from . import data  # noqa: E402

__all__ = ["lattice", "tn", "observables", "data", "set_threads", "__version__"]
