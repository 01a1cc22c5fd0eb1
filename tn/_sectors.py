"""Total-S^z sectors of the exact backend: bases, Hamiltonian blocks, mirror sectors, block diagonalisation.

Basis convention of :meth:`SpinModel.to_sparse`: site 0 is the most
significant bit of a basis index, ``|0> = |↑>``; the sector with ``k``
one-bits (k spins ↓) has ``S^z_total = (N − 2k)/2`` and dimension
``C(N, k)``. A model that conserves S^z (``model.conserves_sz``) is block
diagonal in these sectors; when it has no field at all it also commutes with
the global spin flip ``F = Π_i σ^x_i``, which maps sector k onto sector
N − k (same spectrum, eigenvectors ``F|n>``) and splits the middle sector of
an even N into flip-even and flip-odd halves.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla

from macrobell.lattice import SpinModel

__all__ = ["sector_basis", "sector_hamiltonian", "sector_ranks", "spin_flip_symmetric", "mirror_rows",
           "sector_eigh"]


def _popcount(a: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(a)
    c = np.zeros(a.shape, dtype=np.int64)
    a = a.copy()
    while a.any():
        c += a & 1
        a >>= 1
    return c


def sector_basis(n: int, k: int) -> np.ndarray:
    """Sorted basis states (integers, site 0 = most significant bit) with ``k`` one-bits (k spins ↓).

    The magnetisation sector ``S^z_total = (N − 2k)/2`` of :meth:`SpinModel.to_sparse`'s basis.
    """
    if n <= 26:
        a = np.arange(1 << n, dtype=np.int64)
        return a[_popcount(a) == k]
    from itertools import combinations
    out = np.fromiter((sum(1 << (n - 1 - s) for s in c) for c in combinations(range(n), k)), dtype=np.int64)
    return np.sort(out)


def sector_hamiltonian(model: SpinModel, k: int, states: np.ndarray | None = None):
    """The block of ``model.to_sparse()`` on the sector with ``k`` one-bits, built without the full matrix.

    Same construction as :meth:`SpinModel.to_sparse` (one value per basis
    state and flip pattern, ``H[r, r ^ f]`` = the value at input ``r ^ f``),
    restricted to the sector's states: memory ∝ ``C(N, k)`` instead of
    ``2^N``. Requires ``model.conserves_sz`` (then no entry leaves the
    sector: the ``xx`` and ``yy`` parts of a flip of two equal bits cancel).

    Returns
    -------
    (scipy.sparse.csr_matrix, numpy.ndarray)
        The ``C(N, k) × C(N, k)`` block and the sector's sorted basis states.
    """
    import scipy.sparse as sp

    if not model.conserves_sz:
        raise ValueError("sector_hamiltonian: the model does not conserve total S^z (allowed: XXZ-type exchange "
                         "with equal xx and yy couplings, fields along z)")
    n = model.n_sites
    idx = sector_basis(n, k) if states is None else states
    d = idx.size
    dtype = np.dtype(np.float64 if model.is_real else np.complex128)
    blocks = model.flip_blocks(idx.astype(np.int64, copy=False), dtype)
    rows, cols, data = [], [], []
    scale = max((float(np.abs(v).max()) for v in blocks.values() if v.size), default=0.0)
    for f, vals in blocks.items():
        out = idx ^ f  # output state of each input state idx
        pos = np.searchsorted(idx, out)
        pos = np.minimum(pos, d - 1)
        inside = idx[pos] == out
        leak = float(np.abs(vals[~inside]).max()) if (~inside).any() else 0.0
        if leak > 1e-12 * max(scale, 1e-300):  # a flip leaving the sector with a nonzero amplitude
            raise ValueError(f"sector_hamiltonian: flip pattern {f:#x} leaves the sector (amplitude {leak:.3g})")
        keep = inside & (vals != 0)
        rows.append(pos[keep])
        cols.append(np.flatnonzero(keep))
        data.append(vals[keep])
    itype = np.int32 if d < 2**31 else np.int64
    H = sp.csr_matrix((np.concatenate(data), (np.concatenate(rows).astype(itype), np.concatenate(cols).astype(itype))),
                      shape=(d, d))
    H.sum_duplicates()
    return H, idx


def _su2_no_field(model: SpinModel) -> bool:
    """Isotropic exchange on every bond (xx = yy = zz) and no field: H commutes with every S^a_total."""
    return model.su2_invariant


def _sector_order(n: int) -> list:
    """Sectors k = number of one-bits, from the middle (S^z = 0 or ±1/2) outwards."""
    return sorted(range(n + 1), key=lambda k: (abs(2 * k - n), k))


def sector_ranks(n: int) -> np.ndarray:
    """``rank[s]`` = position of basis state ``s`` in its sector's sorted basis (:func:`sector_basis`), int64, 2^N.

    With it an operator that maps a sector state ``s`` to ``t`` finds the
    row of ``t`` in the target sector in O(1).
    """
    ups = _popcount(np.arange(1 << n, dtype=np.int64))
    rank = np.empty(1 << n, dtype=np.int64)
    for k in range(n + 1):
        idx = np.flatnonzero(ups == k)
        rank[idx] = np.arange(idx.size)
    return rank


def spin_flip_symmetric(model: SpinModel) -> bool:
    """Whether H conserves S^z and commutes with the global flip ``Π σ^x`` (XXZ exchange, no field).

    ``σx σx``, ``σy σy`` and ``σz σz`` are invariant under ``σ^{x,y,z} → σ^x σ^{x,y,z} σ^x`` pairwise
    (signs cancel in pairs); a z field changes sign.
    """
    return bool(model.conserves_sz) and not model.fields


def mirror_rows(n: int, states: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Rows of the mirror sector: for the sorted basis ``states`` of sector N − k, the row of ``F|s>`` in sector k.

    Eigenvectors of sector N − k of a flip-symmetric H are ``V_{N−k} = V_k[mirror_rows(n, states_{N−k}, rank)]``.
    """
    return rank[states ^ ((1 << n) - 1)]


def sector_eigh(Hk, states: np.ndarray, n: int, rank: np.ndarray, *, driver: str, flip_split: bool):
    """All eigenpairs of one sector block ``Hk`` (sparse), eigenvectors as columns of a Fortran-ordered array.

    ``flip_split`` (the middle sector k = N/2 of a flip-symmetric H, N even):
    in the basis ``(|s> ± |s̄>)/√2`` over the pairs ``s < s̄ = F s`` the block
    splits into ``A ± B`` with ``A = H[s, t]``, ``B = H[s, t̄]`` (``F H F = H``),
    two halves of dimension C(N, N/2)/2: a quarter of the ``eigh`` flops. The
    eigenvalues come out sorted within each half; degenerate levels may mix differently from a
    plain ``eigh`` (any orthonormal basis of an eigenspace serves ρ).
    """
    if not flip_split:
        a = Hk.toarray(order="F")
        E, V = sla.eigh(a, overwrite_a=True, check_finite=False, driver=driver)
        return E, np.asfortranarray(V)
    d = states.size
    bar = states ^ ((1 << n) - 1)
    reps = np.flatnonzero(states < bar)  # row of s in each pair s < s̄
    partner = rank[bar[reps]]  # row of s̄
    Hr = Hk[reps]
    A = Hr[:, reps].toarray(order="F")
    B = Hr[:, partner].toarray(order="F")
    del Hr
    plus = A + B
    A -= B  # A is now the flip-odd block
    del B
    V = np.zeros((d, d), dtype=plus.dtype, order="F")
    E = np.empty(d)
    h = reps.size
    c = 1.0 / math.sqrt(2.0)
    for j, (M, sign) in enumerate(((plus, 1.0), (A, -1.0))):
        e, w = sla.eigh(M, overwrite_a=True, check_finite=False, driver=driver)
        E[j * h:(j + 1) * h] = e
        V[reps, j * h:(j + 1) * h] = c * w
        V[partner, j * h:(j + 1) * h] = sign * c * w
        del w
    return E, V
