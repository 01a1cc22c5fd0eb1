"""Transfer-matrix kernels for MPS correlators: GEMM-shaped, no χ⁴ intermediates.

Conventions
-----------
* Site tensors ``A[k]`` are right-canonical arrays viewed as
  ``(χl, dp, da, χr)``: physical ``p`` (dp = 2) and ancilla ``a`` (da = 1 for
  a plain MPS, 2 for a purification whose fused index is ``s = 2 p + a``).
  Operators act on ``p``; the ancilla is traced.
* A left environment ``L[b, k]`` has the bra bond first, the ket bond second.
  ``E_O(L) = Σ_{p,p',a} O[p,p'] A[:,p,a,:]^† L A[:,p',a,:]`` (docs/physics.md); with
  right-canonical tensors every right environment is the identity, so
  ``<…> = Tr L`` once all operators are to the left.
* Operator basis ``q = 0..3``: ``{1, σx, σy, σz}`` (complex) or the real basis
  ``{1, σx, iσy, σz}`` (``iσy = [[0, 1], [−1, 0]]``) when the MPS is real, so
  real states stay in real arithmetic; callers convert with ``σy = −i(iσy)``.

Cost per site for M environments: ``X = L A`` is one GEMM
(M χ × χ × d χ); then ``Y = A^† X`` is one GEMM per environment
(d χ × χ × d χ, batched by ``np.matmul``), from which all four ``E_q`` are
sums of χ×χ blocks. ``transfer_identity`` needs only the p = p' blocks
(χ × dχ × χ). ``close_paulis`` (traces only) needs no per-environment GEMM
at all: one site GEMM gives ``R_q = Σ O_q[p,p'] A_{p'} A_p^†`` and the
traces are one pass over the stack. A module-level flop counter (:data:`FLOPS`) lets benchmarks
report the achieved GEMM throughput.

numba: the block combination (``combine_blocks``) is a memory-bound strided
sum of four χ×χ blocks per environment; a fused ``@njit`` loop beats numpy
slicing + ``np.stack`` at every χ measured (1 thread; χ=8: 1.6 vs 12 µs,
χ=96, M=7: 68 vs 3000 µs (``np.stack``) / 284 µs (``out=`` ufuncs)), so it
is used (``USE_NUMBA_COMBINE``). The GEMMs stay in BLAS: they run near
peak for χ ≳ 32, which no hand-written numba loop matches.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["site_view", "transfer_blocks", "transfer_paulis", "site_density", "transfer_identity", "close_paulis",
           "combine_blocks", "pauli_basis", "FLOPS", "reset_flops"]

#: Running count of floating-point operations (real-arithmetic equivalents) spent in GEMMs.
FLOPS = [0.0]
#: Whether the fused numba block combination is used (measured: see module docstring).
USE_NUMBA_COMBINE = True


def reset_flops() -> float:
    """Reset the flop counter, returning its previous value."""
    v = FLOPS[0]
    FLOPS[0] = 0.0
    return v


def _count(m, k, n, dtype, batch=1):
    # complex multiply-add = 4 real multiply-adds
    FLOPS[0] += 2.0 * m * k * n * batch * (4 if np.iscomplexobj(np.empty(0, dtype)) else 1)


def pauli_basis(real: bool) -> np.ndarray:
    """The operator basis ``(4, 2, 2)``: ``{1, σx, iσy, σz}`` if ``real`` else ``{1, σx, σy, σz}``."""
    if real:
        return np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, 1], [-1, 0]], [[1, 0], [0, -1]]], dtype=float)
    return np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)


def site_view(A: np.ndarray, da: int) -> np.ndarray:
    """View ``(χl, d, χr)`` as ``(χl, d // da, da, χr)`` (``s = p * da + a``)."""
    chl, d, chr_ = A.shape
    return A.reshape(chl, d // da, da, chr_)


def _left_gemm(L, A4):
    """``X[m, b, p', a, c'] = Σ_k L[m, b, k] A[k, p', a, c']`` as one GEMM."""
    M, chl, _ = L.shape
    _, dp, da, chr_ = A4.shape
    X = L.reshape(M * chl, chl) @ A4.reshape(chl, dp * da * chr_)
    _count(M * chl, chl, dp * da * chr_, X.dtype)
    return X.reshape(M, chl, dp, da, chr_)


@njit(cache=True)
def _combine_real(Y, out):
    # Y (M, 2, χ, 2, χ) -> out (4, M, χ, χ) in the real basis {1, x, iy, z}
    M, _, n, _, m = Y.shape
    for i in range(M):
        for c in range(n):
            for d in range(m):
                y00 = Y[i, 0, c, 0, d]
                y01 = Y[i, 0, c, 1, d]
                y10 = Y[i, 1, c, 0, d]
                y11 = Y[i, 1, c, 1, d]
                out[0, i, c, d] = y00 + y11
                out[1, i, c, d] = y01 + y10
                out[2, i, c, d] = y01 - y10
                out[3, i, c, d] = y00 - y11


@njit(cache=True)
def _combine_complex(Y, out):
    # Y (M, 2, χ, 2, χ) -> out (4, M, χ, χ) in the Pauli basis {1, x, y, z}; σy = [[0, -i], [i, 0]]
    M, _, n, _, m = Y.shape
    for i in range(M):
        for c in range(n):
            for d in range(m):
                y00 = Y[i, 0, c, 0, d]
                y01 = Y[i, 0, c, 1, d]
                y10 = Y[i, 1, c, 0, d]
                y11 = Y[i, 1, c, 1, d]
                out[0, i, c, d] = y00 + y11
                out[1, i, c, d] = y01 + y10
                out[2, i, c, d] = 1j * (y10 - y01)
                out[3, i, c, d] = y00 - y11


def combine_blocks(Y: np.ndarray, real: bool) -> np.ndarray:
    """``E[q, m] = Σ_{p,p'} O_q[p, p'] Y[m, p, :, p', :]`` for the four basis operators."""
    if USE_NUMBA_COMBINE and (real or np.iscomplexobj(Y)):
        out = np.empty((4, Y.shape[0], Y.shape[2], Y.shape[4]), dtype=Y.dtype)
        (_combine_real if real else _combine_complex)(Y, out)
        return out
    y00, y01 = Y[:, 0, :, 0, :], Y[:, 0, :, 1, :]
    y10, y11 = Y[:, 1, :, 0, :], Y[:, 1, :, 1, :]
    if real:
        e2 = y01 - y10
    else:
        e2 = 1j * (y10 - y01)
    return np.stack([y00 + y11, y01 + y10, e2, y00 - y11])


def transfer_blocks(L: np.ndarray, A4: np.ndarray) -> np.ndarray:
    """``Y[m, p, c, p', c'] = Σ conj(A[b, p, a, c]) L[m, b, k] A[k, p', a, c']``, shape (M, dp, χr, dp, χr)."""
    M, chl, _ = L.shape
    _, dp, da, chr_ = A4.shape
    X = _left_gemm(L, A4)
    if da == 1:
        Xt = X.reshape(M, chl, dp * chr_)
    else:
        Xt = X.transpose(0, 1, 3, 2, 4).reshape(M, chl * da, dp * chr_)
    # Ac[(p, c), (b, a)] = conj(A[b, p, a, c])
    Ac = np.ascontiguousarray(A4.conj().transpose(1, 3, 0, 2).reshape(dp * chr_, chl * da))
    Y = np.matmul(Ac, Xt)
    _count(dp * chr_, chl * da, dp * chr_, Y.dtype, batch=M)
    return Y.reshape(M, dp, chr_, dp, chr_)


def transfer_paulis(L: np.ndarray, A4: np.ndarray, real: bool) -> np.ndarray:
    """All four transfers ``E_q(L_m)``, shape ``(4, M, χr, χr)``, for a stack ``L (M, χl, χl)``."""
    return combine_blocks(transfer_blocks(L, A4), real)


def transfer_identity(L: np.ndarray, A4: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The plain transfer ``E_1(L_m)`` for a stack ``L (M, χl, χl)``, shape ``(M, χr, χr)``.

    ``out`` (optional, shape (M, χr, χr)) receives the result, e.g. the head
    of a larger preallocated stack.
    """
    M, chl, _ = L.shape
    _, dp, da, chr_ = A4.shape
    X = _left_gemm(L, A4).reshape(M, chl * dp * da, chr_)
    Ac = np.ascontiguousarray(A4.reshape(chl * dp * da, chr_).conj().T)
    out = np.matmul(Ac, X, out=out)
    _count(chr_, chl * dp * da, chr_, out.dtype, batch=M)
    return out


def close_paulis(L: np.ndarray, A4: np.ndarray, basis: np.ndarray, propagate: bool = False):
    """Traces ``Tr E_q(L_m)`` for the four basis operators, shape ``(M, 4)``.

    ``Tr E_O(L) = Σ_{b,k} L[b, k] R_O[k, b]`` with the site-only matrices
    ``R_O = Σ_{p,p'} O[p, p'] A_{p'} A_p^†`` (one dχ × χ × dχ GEMM per site,
    independent of M), so the traces of the whole stack cost one pass over
    ``L`` (an (M, χ²) × (χ², 4) product). With ``propagate=True`` also
    returns ``E_1(L_m)`` as ``(traces, E1)``.
    """
    chl = A4.shape[0]
    dp = A4.shape[1]
    # Z[b, p, k, p'] = Σ_{a,c} conj(A[b, p, a, c]) A[k, p', a, c]: one GEMM per site
    Af = A4.reshape(chl * dp, -1)  # rows (k, p'), columns (a, c)
    Z = (Af.conj() @ Af.T).reshape(chl, dp, chl, dp)
    _count(chl * dp, Af.shape[1], chl * dp, Z.dtype)
    # R[q, b, k] = Σ_{p,p'} O_q[p, p'] Z[b, p, k, p'] (= R_q^T), the same block sums as combine_blocks
    real = not np.iscomplexobj(basis)
    R = combine_blocks(Z.transpose(1, 0, 3, 2)[None], real)[:, 0]
    M = L.shape[0]
    tr = L.reshape(M, chl * chl) @ R.reshape(4, chl * chl).T
    if not propagate:
        return tr
    return tr, transfer_identity(L, A4)


def site_density(L: np.ndarray, A4: np.ndarray) -> np.ndarray:
    """``ρ[p', p]`` of one site given its left environment ``L (χl, χl)`` (right env = 1)."""
    X = _left_gemm(L[None], A4)[0]
    return np.tensordot(X, A4.conj(), axes=([0, 2, 3], [0, 2, 3]))
