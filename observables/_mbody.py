"""Combinatorics of M-body effective states: label multisets and the final symmetrisation.

The M-body effective state of K regions (seed §III–IV) is the K·M-qubit
average of ``ρ`` over ordered M-tuples of *distinct* sites per region,
qubits grouped region by region (region 0's M slots first). Its Pauli
tensor (Pauli matrices, σ_0 = 1) is

    T[a] = Π_X 1/P(N_X, M) · Σ_{distinct ordered tuples} <Π_{X,s} σ^{i_{X,s}}_{a_{X,s}}>,

``P(N, m) = N!/(N−m)!``. Three reductions make it one sweep:

* **identity slots.** With m of the M slots of region X non-identity (labels
  ``b`` in slot order), every choice of the m sites leaves ``N_X − m``
  sites for the identity slots, which still must be distinct from each
  other and from the m sites: ``P(N_X − m, M − m)`` choices, so the region's
  factor is ``S_X(b) / P(N_X, m)`` with ``S_X(b)`` the sum over ordered
  distinct m-tuples of ``Π_s σ^{i_s}_{b_s}``.
* **increasing sequences.** ``S(b) = Σ_{π∈S_m} W(b∘π)`` with
  ``W(c) = Σ_{j_1<…<j_m} Π_t σ^{j_t}_{c_t}`` (sites in sweep order).
* **multisets.** Carrying ``Φ_μ = Σ_{c an arrangement of μ} W(c)`` for the
  label multiset μ is closed under the sweep (``Φ_{μ+a} += σ_a^j Φ_μ`` at
  site j: an arrangement of μ+a ending in a is one of μ followed by a), and
  ``S(b) = Π_a n_a(b)! · Φ_{μ(b)}`` (each distinct arrangement is reached by
  ``Π n_a!`` permutations).

So a sweep carries, per region, one environment per multiset of at most M
labels from {x, y, z} (``C(M+3, 3)`` of them: 10 for M = 2, 20 for M = 3),
and :func:`assemble_tensor` expands the traces into ``T``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["multisets", "assemble_tensor", "check_body_order", "MBODY_MAX_QUBITS"]

#: Largest K·M of an M-body effective state (the state has 4^(K·M) Pauli entries).
MBODY_MAX_QUBITS = 8


def multisets(M: int):
    """Label multisets of size ≤ M over {x, y, z} (labels 1, 2, 3).

    Returns
    -------
    counts : ndarray (nμ, 3)
        ``counts[μ, a−1]`` is the multiplicity of label a; row 0 is the empty set.
    add : ndarray (3, nμ) of int
        ``add[a−1, μ]`` is the index of ``μ + {a}``, −1 where ``|μ| = M``.
    """
    counts = [c for m in range(M + 1) for c in itertools.product(range(m + 1), repeat=3) if sum(c) == m]
    index = {c: k for k, c in enumerate(counts)}
    add = np.full((3, len(counts)), -1, dtype=np.int64)
    for k, c in enumerate(counts):
        if sum(c) < M:
            for a in range(3):
                d = list(c)
                d[a] += 1
                add[a, k] = index[tuple(d)]
    return np.array(counts, dtype=np.int64).reshape(-1, 3), add


def _slot_map(M: int, n_sites: int):
    """For each slot labelling (a_1…a_M) ∈ {0..3}^M (row-major): its multiset, weight and #y."""
    counts, _ = multisets(M)
    index = {tuple(c): k for k, c in enumerate(counts.tolist())}
    n = 4 ** M
    idx = np.empty(n, dtype=np.int64)
    weight = np.empty(n)
    ny = np.empty(n, dtype=np.int64)
    for t, a in enumerate(itertools.product(range(4), repeat=M)):
        c = tuple(a.count(q) for q in (1, 2, 3))
        m = sum(c)
        idx[t] = index[c]
        weight[t] = math.prod(math.factorial(x) for x in c) / math.perm(n_sites, m)
        ny[t] = c[1]
    return idx, weight, ny


def assemble_tensor(U: np.ndarray, sizes, M: int, real_basis: bool) -> np.ndarray:
    """The M-body tensor ``T``, shape (4,)*(K·M), from the multiset traces ``U``.

    Parameters
    ----------
    U : ndarray, shape (nμ,)*K
        ``U[μ_1…μ_K] = <Π_X Φ^X_{μ_X}>`` (unnormalised; ``U[0…0]`` is the norm).
    sizes : sequence of int
        Region sizes N_X (each ≥ M).
    M : int
    real_basis : bool
        Whether ``U`` was computed with ``iσy`` in place of σy (then
        ``σy = −i·iσy`` gives a factor ``(−i)^{#y}``).
    """
    K = len(sizes)
    maps = [_slot_map(M, int(n)) for n in sizes]
    V = U[np.ix_(*[m[0] for m in maps])]
    w = np.ones(())
    ny = np.zeros((), dtype=np.int64)
    for X, (_, wx, nyx) in enumerate(maps):
        w = np.multiply.outer(w, wx)
        ny = np.add.outer(ny, nyx)
    V = V * w
    if real_basis:
        V = V * (-1j) ** ny
    T = np.real(V) / np.real(U[(0,) * K])
    return np.ascontiguousarray(T.reshape((4,) * (K * M)))


def check_body_order(M, sizes, where: str, names=None) -> int:
    """Validate the body order M against the region sizes and the K·M limit; return M as int."""
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise ValueError(f"{where}: M must be an integer >= 1, got {M!r}")
    M = int(M)
    sizes = [int(s) for s in sizes]
    K = len(sizes)
    names = list(names) if names is not None else list(range(K))
    small = [nm for nm, s in zip(names, sizes) if s < M]
    if small:
        raise ValueError(f"{where}: M={M} needs at least {M} sites per region; regions {small} are smaller "
                         f"(K={K}, region sizes {sizes})")
    if K * M > MBODY_MAX_QUBITS:
        raise ValueError(f"{where}: K*M = {K}*{M} = {K * M} qubits (region sizes {sizes}); at most "
                         f"K*M = {MBODY_MAX_QUBITS} are supported (MBODY_MAX_QUBITS: the state has 4^(K*M) "
                         f"Pauli entries)")
    return M
