"""Thread pinning for BLAS and numba.

On the small machines macrobell targets, multithreaded OpenBLAS on the
~100×100 GEMMs of tensor-network sweeps was measured ~100× slower than a
single thread, so macrobell pins BLAS (via threadpoolctl) and numba to one
thread per process by default and parallelises over sweep points with
processes instead. Override with the ``MACROBELL_THREADS`` environment
variable or :func:`set_threads`.
"""

from __future__ import annotations

import os

__all__ = ["set_threads", "default_threads", "THREADS_ENV"]

THREADS_ENV = "MACROBELL_THREADS"
_limiter = None


def default_threads() -> int:
    """Threads per process: ``$MACROBELL_THREADS`` if set, else 1."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return 1
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}") from None
    if n < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer, got {raw!r}")
    return n


def set_threads(n: int | None = None) -> int:
    """Limit BLAS/OpenMP and numba threads of this process to ``n`` (default: :func:`default_threads`)."""
    global _limiter
    n = default_threads() if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_threads: n must be a positive integer, got {n!r}")
    # threadpoolctl only limits libraries already loaded: load BLAS (numpy's
    # and scipy's) and numba's OpenMP runtime first.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401

    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a core dependency
        numba = None
    from threadpoolctl import threadpool_limits

    if numba is not None:
        # this starts numba's threading layer (it may load libgomp), so it
        # comes before the threadpoolctl limit
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    _limiter = threadpool_limits(limits=n)
    return n
