"""MPO propagator for purified MPS: Zaletel et al.'s W^II applied by zip-up, then an optimal SVD sweep.

``e^{-τH}`` is approximated by the ``W^II`` MPO of Zaletel, Mong, Karrasch,
Moore & Pollmann, PRB 91, 165112 (2015), Eq. (11), built from the
finite-state-machine MPO of :mod:`macrobell.tn.mpo`. Written in
upper-triangular block form ``W = [[1, C, D], [0, A, B], [0, 0, 1]]``
(start, rails, done), ``W^II(t)`` keeps the identity channel and the rails,
bond dimension ``1 + n_rails``, and its blocks are matrix elements of
``exp(t D + √t C b_c† + √t B b_r† + A b_r† b_c†)`` in two hard-core
"bosons" that mark an open rail on the left and on the right (the
construction of TeNPy's ``make_W_II``). ``W^II(t) = e^{tH} + O(t²)`` for
any lattice, long-range bonds included, and it is exact for every product
of terms whose supports do not overlap. Two complex steps
``t₁,₂ = (1 ± i) τ / 2`` cancel the ``t²`` error (``t₁² + t₂² = 0``,
Zaletel et al. Sec. IV), so ``W^II(−t₂) W^II(−t₁) = e^{−τH} + O(τ³)``:
a second-order propagator, whose states are complex.

Application to a purification ``(χl, 4, χr)`` (``s = 2p + a``; the MPO acts
on ``p``): the state is kept right-canonical between steps. A left-to-right
zip-up (Stoudenmire & White, New J. Phys. 12, 055026 (2010)) contracts
each site with its MPO tensor and the carried remainder and splits it,
exactly (identity or QR) while its smaller side fits ``zip_factor · χ``,
and above that by projecting on the dominant ``zip_factor · χ`` singular
directions (from the smaller Gram matrix: cheaper than an SVD, and the
kept weight is measured after the projection). The discarded-weight
cutoff is left to the sweep below. The right part is near-isometric
(``W^II ≈ 1 − τH``) so the zip-up's discarded weights are close to the
true ones, and they are counted. Then a
right-to-left SVD sweep over the now left-canonical MPS truncates to ``χ``
with the cutoff: each of those truncations is optimal in the 2-norm, and
the state ends right-canonical for the next step.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla
from scipy.linalg import blas

__all__ = ["wii_mpo", "complex_pair", "zipup_apply", "svd_compress_left", "ZIP_FACTOR"]

#: The zip-up keeps at most ``ZIP_FACTOR · χ`` dimensions per bond (its cap) before the optimal SVD sweep.
ZIP_FACTOR = 2

_ID2 = np.eye(2)
_B = np.array([[0.0, 0.0], [1.0, 0.0]])  # hard-core boson raising operator |0> -> |1>
_BR = np.kron(_B, _ID2)   # left (row) boson
_BC = np.kron(_ID2, _B)   # right (column) boson
_BRC = np.kron(_B, _B)
_ID4 = np.eye(4)


def _blocks(Wp, left, right):
    """``(A, B, C, D)`` of one FSM W-matrix ``(Dl, Dr, out, in)`` with bond layouts ``(start?, rails, done?)``.

    Missing start/done states (no term wholly to the right / left of a bond) contribute zero blocks.
    """
    sl, nl, dl = left
    sr, nr, dr = right
    zl, zr = int(sl), int(sr)
    d = Wp.shape[2]
    A = Wp[zl:zl + nl, zr:zr + nr]
    B = Wp[zl:zl + nl, -1] if dr else np.zeros((nl, d, d), Wp.dtype)
    C = Wp[0, zr:zr + nr] if sl else np.zeros((nr, d, d), Wp.dtype)
    D = Wp[0, -1] if (sl and dr) else np.zeros((d, d), Wp.dtype)
    return A, B, C, D


def _w_ii(t, A, B, C, D):
    """``W^II`` blocks ``(1 + Nr, 1 + Nc, out, in)`` of ``e^{tH}`` (Zaletel et al. 2015, Eq. 11).

    All ``Nr × Nc`` exponentials of the boson-extended ``4d × 4d`` generators are taken in one batched
    ``expm``; entry ``(r, c)`` is the ``|1_r 1_c> <0 0|`` block, the first row / column the ``|0 1_c>``,
    ``|1_r 0>`` blocks, ``(0, 0)`` is ``e^{tD}``.
    """
    tc = math.sqrt(abs(t))  # √t split between B and C, as Zaletel et al. (only the product tB·tC = t matters)
    tb = t / tc if tc > 0 else 0.0
    d = D.shape[0]
    nr, nc = A.shape[0], A.shape[1]
    dtype = np.result_type(A, B, C, D, t)
    out = np.zeros((1 + nr, 1 + nc, d, d), dtype=dtype)
    base = t * np.kron(_ID4, D)
    R, Cn = max(nr, 1), max(nc, 1)
    h = np.broadcast_to(base, (R, Cn, 4 * d, 4 * d)).astype(dtype, copy=True)
    if nr and nc:
        h += np.einsum("ij,rcpq->rcipjq", _BRC, A).reshape(nr, nc, 4 * d, 4 * d)
    if nr:
        h += tb * np.einsum("ij,rpq->ripjq", _BR, B).reshape(nr, 1, 4 * d, 4 * d)
    if nc:
        h += tc * np.einsum("ij,cpq->cipjq", _BC, C).reshape(1, nc, 4 * d, 4 * d)
    w = sla.expm(h.reshape(-1, 4 * d, 4 * d)).reshape(R, Cn, 2, 2, d, 2, 2, d)[:, :, :, :, :, 0, 0, :]
    out[0, 0] = w[0, 0, 0, 0]
    if nr:
        out[1:, 0] = w[:, 0, 1, 0]
    if nc:
        out[0, 1:] = w[0, :, 0, 1]
    if nr and nc:
        out[1:, 1:] = w[:, :, 1, 1]
    return out


def wii_mpo(W, layout, t):
    """``W^II(t) ≈ e^{tH}`` as arrays ``(Dl, Dr, out, in)`` from an FSM MPO ``(W, layout)``.

    ``layout[b] = (has_start, n_rails, has_done)`` for bond ``b`` (``mpo._fsm_arrays``); the result
    has bond dimension ``1 + n_rails`` and boundary bonds of size 1.
    """
    return [_w_ii(t, *_blocks(Wp, layout[p], layout[p + 1])) for p, Wp in enumerate(W)]


def complex_pair(tau):
    """The two complex steps ``t = −(1 ± i) τ / 2`` whose ``W^II`` product is ``e^{−τH} + O(τ³)``."""
    return (-(1 + 1j) * tau / 2, -(1 - 1j) * tau / 2)


def _svd(m):
    try:
        return sla.svd(m, full_matrices=False, lapack_driver="gesdd", check_finite=False)
    except np.linalg.LinAlgError:  # gesdd occasionally fails to converge
        return sla.svd(m, full_matrices=False, lapack_driver="gesvd", check_finite=False)


def _capped_split(m, cap):
    """``(u, carry)`` with ``u`` an isometry (``r × k``), ``k ≤ cap``, and ``u @ carry = u u† m``.

    Exact (``u u† m = m``) when ``min(r, c) ≤ cap``: the identity for ``r ≤ c``, a QR otherwise. Above the
    cap, the ``k = cap`` dominant singular directions from the Hermitian eigenproblem of the smaller Gram
    matrix (``m m†`` or ``m† m``), then ``carry = u† m``: the projection is applied exactly, so the
    weight it drops, ``‖m‖² − ‖carry‖²``, is measured, not inferred from eigenvalues. The Gram matrix
    resolves singular values down to ~1e-8 s_max only; below that the kept directions mix at the level
    of their own (negligible) weight, which the optimal SVD sweep that follows truncates away. Issue 12
    measured a 384 × 480 complex split at 32 ms this way against 54 ms for ``gesdd``.
    """
    r, c = m.shape
    if cap is None or min(r, c) <= cap:
        if r <= c:
            return np.eye(r, dtype=m.dtype), m
        return sla.qr(m, mode="economic", check_finite=False)
    if r <= c:
        u = _dominant_eigvecs(_gram(m, False), cap)
        return u, u.conj().T @ m
    w = _dominant_eigvecs(_gram(m, True), cap)
    u, rr = sla.qr(m @ w, mode="economic", check_finite=False)
    return u, rr @ w.conj().T


def _gram(m, adjoint_first):
    """Lower triangle of ``m† m`` (``adjoint_first``) or ``m m†``: a Hermitian rank-k update, half a GEMM."""
    if np.iscomplexobj(m):
        return blas.zherk(1.0, m, trans=2 if adjoint_first else 0, lower=1)
    return blas.dsyrk(1.0, m, trans=1 if adjoint_first else 0, lower=1)


def _dominant_eigvecs(g, k):
    """The ``k`` eigenvectors of the largest eigenvalues of the Hermitian ``g`` (lower triangle read), descending."""
    n = g.shape[0]
    if n > 3 * k:  # measured: the MRRR subset pays off for k < n/3 (384 × 384, k = 96: 27 ms vs 34 ms)
        _, v = sla.eigh(g, lower=True, driver="evr", subset_by_index=[n - k, n - 1], check_finite=False,
                        overwrite_a=True)
    else:  # the full divide and conquer is faster (240 × 240, k = 96: 11 ms vs 12 ms; 160: 3 ms vs 6 ms)
        _, v = sla.eigh(g, lower=True, check_finite=False, overwrite_a=True)
        v = v[:, n - k:]
    return np.ascontiguousarray(v[:, ::-1])


def zipup_apply(A, U, cap, on_weights):
    """Apply MPO ``U`` (physical leg of a purification) to right-canonical arrays ``A`` by zip-up.

    Each split keeps at most ``cap`` (``None``: no cap) dimensions and is exact below it
    (:func:`_capped_split`): the discarded-weight cutoff is left to the optimal SVD sweep that follows.
    ``on_weights(tot, kept)`` is told each split's total and kept squared norm (equal when nothing was
    dropped). Returns the new arrays: left-isometric except the last, which carries the norm.
    """
    n = len(A)
    dtype = np.result_type(A[0], U[0])
    carry = np.ones((1, 1, 1), dtype=dtype)  # (new left, old left, mpo left)
    out = []
    for k in range(n):
        a = A[k]
        chl, _, chr_ = a.shape
        a4 = a.reshape(chl, 2, 2, chr_)  # (old l, p, anc, old r)
        # T[n, anc, r, p', w'] = Σ carry[n, o, w] a4[o, p, anc, r] U[w, w', p', p]
        t = np.tensordot(carry, a4, axes=(1, 0))            # n w p anc r
        t = np.tensordot(t, U[k], axes=([1, 2], [0, 3]))    # n anc r w' p'
        nn = t.shape[0]
        if k == n - 1:
            out.append(t.transpose(0, 4, 1, 2, 3).reshape(nn, 4, 1))
            break
        m = t.transpose(0, 4, 1, 2, 3).reshape(nn * 4, -1)  # (n, p', anc) x (r, w')
        u, c = _capped_split(m, cap)
        tot = float(np.vdot(m, m).real)
        kept = tot if c is m or u.shape[1] == min(m.shape) else float(np.vdot(c, c).real)
        on_weights(tot, min(kept, tot))
        kk = u.shape[1]
        out.append(u.reshape(nn, 4, kk))
        carry = c.reshape(kk, chr_, -1)
    return out


def svd_compress_left(A, keep, on_weights):
    """Right-to-left truncating SVD sweep of left-canonical arrays ``A`` (centre at the last site).

    Each split is optimal in the 2-norm (the left block is isometric). ``on_weights(tot, kept)`` returns
    the norm to divide the kept singular values by; the result is right-canonical with the (normalised)
    centre at site 0.
    """
    n = len(A)
    A = list(A)
    for k in range(n - 1, 0, -1):
        a = A[k]
        chl, d, chr_ = a.shape
        u, s, vh = _svd(a.reshape(chl, d * chr_))
        kk = keep(s)
        nrm = on_weights(float(np.dot(s, s)), float(np.dot(s[:kk], s[:kk])))
        A[k] = vh[:kk].reshape(kk, d, chr_)
        A[k - 1] = np.tensordot(A[k - 1], u[:, :kk] * (s[:kk] / nrm), axes=(2, 0))
    nrm = on_weights(float(np.vdot(A[0], A[0]).real), float(np.vdot(A[0], A[0]).real))
    A[0] = A[0] / nrm
    return A
