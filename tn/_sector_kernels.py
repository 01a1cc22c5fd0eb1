"""numba kernels on batches of S^z-sector vectors (eigenvector chunks of the exact thermal states).

A batch is an array ``X`` of shape ``(C(N, k), m)``, C-ordered: row ``r``
holds the amplitudes of basis state ``states[r]`` (sorted, k one-bits) in
``m`` vectors at once, so every update below is a contiguous row operation.
``rank`` (:func:`~macrobell.tn._sectors.sector_ranks`) gives the row of any
basis state in its own sector. Conventions as in
:mod:`macrobell.observables._kernels`: site ``i`` is bit ``n − 1 − i``,
``|0> = |↑>``, real operator basis ``σx``, ``iσy = [[0, 1], [−1, 0]]``.
Pure functions; validation is the caller's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["apply_flip_ops", "hop_sums"]


@njit(cache=True)
def apply_flip_ops(X, states, rank, n, sites, a, lo, hi):
    """Add ``Σ_{i∈sites} O_a^i X`` (``a = 1``: σx, ``a = 2``: iσy) into ``lo`` and ``hi``, in place.

    A flip of a one-bit leaves sector k for k − 1 (rows of ``lo``), of a
    zero-bit for k + 1 (``hi``). ``iσy|1> = |0>`` and ``iσy|0> = −|1>``.
    O(|sites| · rows · m).
    """
    m = X.shape[1]
    for r in range(X.shape[0]):
        s = states[r]
        for k in range(sites.shape[0]):
            f = 1 << (n - 1 - sites[k])
            q = rank[s ^ f]
            if s & f:
                for c in range(m):
                    lo[q, c] += X[r, c]
            elif a == 1:
                for c in range(m):
                    hi[q, c] += X[r, c]
            else:
                for c in range(m):
                    hi[q, c] -= X[r, c]


@njit(cache=True)
def hop_sums(X, states, rank, n, out):
    """``out[i, j, c] += Σ_s conj(X[s', c]) X[s, c]`` over ``s`` with bit i = 1, bit j = 0, for i < j.

    ``s' = s ⊕ f_i ⊕ f_j`` (same sector). For vector c this is
    ``<σ^+_i σ^-_j>`` with ``σ^- |↑> = |↓>`` (bit 0 → 1) and ``σ^+`` the
    reverse; ``<σ^+_j σ^-_i>`` is its conjugate. O(rows · N²/8 · m) on average.
    """
    m = X.shape[1]
    for r in range(X.shape[0]):
        s = states[r]
        for i in range(n):
            fi = 1 << (n - 1 - i)
            if not (s & fi):
                continue
            for j in range(i + 1, n):
                fj = 1 << (n - 1 - j)
                if s & fj:
                    continue
                q = rank[s ^ fi ^ fj]
                for c in range(m):
                    out[i, j, c] += np.conj(X[q, c]) * X[r, c]
