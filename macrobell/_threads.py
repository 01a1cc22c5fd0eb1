"""Thread pinning for BLAS and numba, applied when work starts.

On the small machines macrobell targets, multithreaded OpenBLAS on the
~100×100 GEMMs of tensor-network sweeps was measured ~100× slower than a
single thread, so macrobell pins BLAS (via threadpoolctl) and numba to one
thread per process by default and parallelises over sweep points with
processes instead.

Pinning happens at the first call of a compute entry point
(``tn.ground_state`` / ``thermal_states``, ``observables.effective_state`` /
``pair_correlations`` / ``reduced_state(s)``, ``data.run_sweep``, and so the
CLI), never at import: ``import macrobell`` leaves the process's thread pools
as they are. Settings:

* ``MACROBELL_THREADS=N`` (a positive integer): pin to ``N`` threads (unset: 1);
* ``MACROBELL_THREADS=none``: leave the BLAS and numba pools alone;
* :func:`set_threads` ``(n)`` pins explicitly (this also stops the automatic
  pinning), ``set_threads(None)`` undoes macrobell's pinning and leaves the
  pools alone from then on.

This module is a leaf: it imports nothing else of macrobell, so every layer
may use it: each entry point calls :func:`pin_threads` first.
"""

from __future__ import annotations

import os

__all__ = ["set_threads", "default_threads", "pin_threads", "THREADS_ENV", "OPT_OUT"]

THREADS_ENV = "MACROBELL_THREADS"
#: Value of ``$MACROBELL_THREADS`` (any case) that means "leave the thread pools alone".
OPT_OUT = "none"
_FROM_ENV = object()

# None: nothing decided yet (the next entry point pins); an int: pinned to
# that many threads; False: left alone (opt-out or undone). The flag keeps
# pin_threads() a dictionary lookup after the first call.
_state: int | bool | None = None
_first_limiter = None  # the first threadpoolctl limiter holds the pools' original sizes
_numba_original: int | None = None


def default_threads() -> int | None:
    """Threads per process from ``$MACROBELL_THREADS``: unset → 1, ``"none"`` → None (leave alone).

    Raises
    ------
    ValueError
        If the variable is neither a positive integer nor ``"none"``.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return 1
    if raw.lower() == OPT_OUT:
        return None
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{THREADS_ENV} must be a positive integer or {OPT_OUT!r} "
                         f"(leave the BLAS/numba thread pools alone), got {raw!r}")
    return n


def _load_pools():
    # threadpoolctl only limits libraries already loaded: load BLAS (numpy's
    # and scipy's) and numba's OpenMP runtime first.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401

    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a core dependency
        numba = None
    return numba


def _release() -> None:
    """Give the pools back the sizes they had before macrobell first pinned them."""
    global _first_limiter, _numba_original
    if _first_limiter is not None:
        _first_limiter.restore_original_limits()
        _first_limiter = None
    if _numba_original is not None:
        import numba

        numba.set_num_threads(_numba_original)
        _numba_original = None


def set_threads(n: int | None = _FROM_ENV) -> int | None:
    """Limit BLAS/OpenMP and numba threads of this process to ``n``.

    Parameters
    ----------
    n : int or None, optional
        A positive integer: pin to ``n`` threads. Omitted: from
        :func:`default_threads` (``$MACROBELL_THREADS``, default 1).
        ``None``: undo — restore the thread counts the process had before
        macrobell pinned them, and stop the automatic pinning at the compute
        entry points.

    Returns
    -------
    int or None
        The threads now pinned, or None when the pools are left alone.
    """
    global _state, _first_limiter, _numba_original
    if n is _FROM_ENV:
        n = default_threads()
    if n is None:
        _release()
        _state = False
        return None
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_threads: n must be a positive integer or None (undo), got {n!r}")
    if _state == n and not isinstance(_state, bool):
        return n  # idempotent: already pinned to n
    numba = _load_pools()
    from threadpoolctl import threadpool_limits

    if numba is not None:
        if _numba_original is None:
            _numba_original = numba.get_num_threads()
        # this starts numba's threading layer (it may load libgomp), so it
        # comes before the threadpoolctl limit
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    limiter = threadpool_limits(limits=n)
    if _first_limiter is None:
        _first_limiter = limiter
    _state = n
    return n


def pin_threads() -> int | None:
    """Pin threads from ``$MACROBELL_THREADS`` unless already decided; cheap after the first call."""
    if _state is not None:
        return _state or None
    return set_threads()

