"""Snapshot observables of a purified MPS: bond reduced states, their energy and Pauli expectations.

Private helpers of :mod:`.purification`. A purification is a list of arrays
``(χl, 4, χr)`` in MPS order with the fused index ``s = 2 p + a`` (physical
``p``, ancilla ``a``); operators act on ``p`` and the ancillas are traced, so
``Tr ρ O = <ψ|O ⊗ 1|ψ> / <ψ|ψ>`` (Verstraete, García-Ripoll & Cirac,
PRL 93, 207204 (2004)).

Every contraction is a ``tensordot`` (a BLAS GEMM): issue 12 measured the
former ``einsum`` version at ~3.4 s per snapshot of a complex 2 × 12 ladder
purification at χ = 48, 20 % of the whole run, because ``einsum`` does not
call BLAS for these complex four-index contractions.
"""

from __future__ import annotations

import numpy as np

from macrobell.lattice.models import PAULI

from .state import _right_canonical

__all__ = ["purified_energy"]


def purified_energy(arrays, bonds, singles=()):
    """``Σ_b Tr(ρ h_b)`` for a purified MPS given as arrays ``(χl, 4, χr)`` (s = 2p + a).

    ``bonds``: (k, l, h) with ``k < l`` MPS positions and ``h`` on ``p_k ⊗ p_l``;
    ``singles``: (k, h2). Operators act on the physical index, ancillas are
    traced. One right-canonicalisation, then one left environment per site
    and, per first site ``k`` of a bond, one transfer sweep to its farthest
    partner with the physical indices of site k left open: O((N + Σ_k r_k) χ³),
    ``r_k`` the largest MPS range of the bonds starting at ``k``.
    """
    return _bond_reduced_states(arrays, bonds, singles)[0]


def _left_environments(A):
    """``L[k]`` (ket, bra), ``χ × χ``: the identity-contracted sites ``0 … k−1`` of ``A``."""
    L = [np.ones((1, 1), dtype=A[0].dtype)]
    for k in range(len(A) - 1):
        t = np.tensordot(L[k], A[k], axes=(0, 0))  # (bra y, s, ket r)
        L.append(np.tensordot(A[k].conj(), t, axes=((0, 1), (0, 1))).T)  # (ket r, bra r)
    return L


def _bond_reduced_states(arrays, bonds, singles=()):
    """``(energy, rhos)``: the energy of :func:`purified_energy` and the reduced density matrices it
    contracts, one per bond (4 × 4 on ``p_k ⊗ p_l``, in ``bonds`` order) then one per single (2 × 2)."""
    A = _right_canonical(arrays)
    L = _left_environments(A)
    by_site = {}
    for b, (k, l, h) in enumerate(bonds):
        by_site.setdefault(k, []).append((l, b))
    rhos = [None] * (len(bonds) + len(singles))
    for k, lst in by_site.items():
        a = A[k].reshape(A[k].shape[0], 2, 2, -1)  # (l, p, anc, r)
        # X[p, q, c, d] = Σ L[x, y] a[x, p, anc, c] conj(a)[y, q, anc, d]: site k with its physical legs open
        t = np.tensordot(L[k], a, axes=(0, 0))  # (y, p, anc, c)
        X = np.tensordot(t, a.conj(), axes=((0, 2), (0, 2))).transpose(0, 2, 1, 3)  # (p, q, c, d)
        m = k + 1  # X has absorbed sites k+1 … m-1
        for l, b in sorted(lst, key=lambda x: x[0]):
            for m in range(m, l):  # the sorted partners share one transfer sweep
                t = np.tensordot(X, A[m], axes=(2, 0))  # (p, q, d, s, x)
                X = np.tensordot(t, A[m].conj(), axes=((2, 3), (0, 1)))  # (p, q, x, y)
            m = l
            bl = A[l].reshape(A[l].shape[0], 2, 2, -1)  # right-canonical: its right part is the identity
            M = np.tensordot(bl, bl.conj(), axes=((2, 3), (2, 3)))  # (c, r, d, s)
            rhos[b] = np.tensordot(X, M, axes=((2, 3), (0, 2))).transpose(0, 2, 1, 3).reshape(4, 4)
    for j, (k, h) in enumerate(singles):
        a = A[k].reshape(A[k].shape[0], 2, 2, -1)
        t = np.tensordot(L[k], a, axes=(0, 0))  # (y, p, anc, c)
        rhos[len(bonds) + j] = np.tensordot(t, a.conj(), axes=((0, 2, 3), (0, 2, 3)))
    pieces = [h for _, _, h in bonds] + [h for _, h in singles]
    energy = sum(float(np.real(np.sum(r * np.asarray(h).T))) for r, h in zip(rhos, pieces))
    return energy, rhos


_PAULI2 = np.einsum("aij,bkl->abikjl", PAULI, PAULI).reshape(4, 4, 4, 4)


def _pauli_expectations(rhos):
    """``<σ_a ⊗ σ_b>`` (4 × 4, σ_0 = 1) of each 4 × 4 reduced state and ``<σ_a>`` (4,) of each 2 × 2 one."""
    out = []
    for r in rhos:
        if r.shape == (4, 4):
            out.append(np.real(np.einsum("abij,ji->ab", _PAULI2, r)))
        else:
            out.append(np.real(np.einsum("aij,ji->a", PAULI, r)))
    return out


def _to_quimb(arrays):
    import quimb.tensor as qtn

    if len(arrays) == 1:
        raise ValueError("purification: a single-site lattice has no MPS representation here; use method='exact'")
    arrs = [arrays[0][0]] + list(arrays[1:-1]) + [arrays[-1][..., 0]]
    return qtn.MatrixProductState(arrs, shape="lpr")
