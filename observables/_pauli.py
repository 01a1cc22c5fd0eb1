"""Pauli-basis conversions between a K-qubit density matrix and its correlation tensor.

Pauli matrices with eigenvalues ±1 (``sigma_0 = 1, sigma_1 = X, sigma_2 = Y,
sigma_3 = Z``), *not* spin-1/2 operators; ``|0> = |up>``; qubit 0 is the most
significant tensor factor.  ``T[a_1, ..., a_n] = Tr(rho sigma_{a_1} (x) ...
(x) sigma_{a_n})`` and ``rho = 2^{-n} sum_a T_a sigma_{a_1} (x) ...``.
"""

from __future__ import annotations

import math

import numpy as np

# The one Pauli table of the package lives in the lowest layer (imports flow lattice -> observables).
from macrobell.lattice.models import PAULI

__all__ = ["PAULI", "rho_from_T", "T_from_rho"]
# Q[a, s, s'] = sigma_a[s', s], so that Tr(rho sigma_a) = sum rho[s, s'] Q[a, s, s'].
_PAULI_T = np.ascontiguousarray(PAULI.transpose(0, 2, 1))


def rho_from_T(T: np.ndarray) -> np.ndarray:
    """Density matrix ``rho = 2^{-n} sum_a T_a sigma_{a_1} (x) ... (x) sigma_{a_n}``.

    ``T`` has shape ``(4,)*n``; returns a complex ``2^n x 2^n`` matrix with
    qubit 0 the most significant tensor factor.
    """
    T = np.asarray(T)
    n = T.ndim
    if T.shape != (4,) * n or n == 0:
        raise ValueError(f"T must have shape (4,)*n, got {T.shape}")
    X = T.astype(complex)
    # Each tensordot consumes the leading Pauli label and appends (s, s').
    for _ in range(n):
        X = np.tensordot(X, PAULI, axes=([0], [0]))
    perm = [2 * p for p in range(n)] + [2 * p + 1 for p in range(n)]
    return X.transpose(perm).reshape(2**n, 2**n) / 2**n


def T_from_rho(rho: np.ndarray) -> np.ndarray:
    """Correlation tensor ``T_a = Tr(rho sigma_{a_1} (x) ... (x) sigma_{a_n})``.

    ``rho`` is ``2^n x 2^n`` (qubit 0 most significant); returns the real
    part, shape ``(4,)*n`` (exactly real for Hermitian ``rho``).
    """
    rho = np.asarray(rho)
    d = rho.shape[0]
    n = int(round(math.log2(d))) if d > 0 else 0
    if rho.shape != (d, d) or 2**n != d or n == 0:
        raise ValueError(f"rho must be 2^n x 2^n, got {rho.shape}")
    X = rho.astype(complex).reshape((2,) * (2 * n))
    for p in range(n):
        # Remaining layout: rows (n-p), cols (n-p), then p Pauli labels.
        X = np.tensordot(X, _PAULI_T, axes=([0, n - p], [1, 2]))
    return X.real.copy()


def fill_diagonal_blocks(C: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Set the one-site blocks of all-pairs correlators ``C[i, j, a, b] = <sigma_a^i sigma_b^j>``.

    ``C[i, i] = Re <sigma_a sigma_b>`` for a one-site state with Bloch
    expectations ``m[i] = <sigma_a^i>`` (``m[i, 0]`` the norm): the identity
    (``Re <sigma_x sigma_y> = 0``, ``sigma_a^2 = 1``) with row and column 0
    equal to ``m[i]``. ``C`` is (N, N, 4, 4) and modified in place; returned.
    """
    m = np.asarray(m)
    idx = np.arange(C.shape[0])
    C[idx, idx] = np.eye(4)
    C[idx, idx, 0, :] = m
    C[idx, idx, :, 0] = m
    return C


def _block(T: np.ndarray) -> np.ndarray:
    """Full-correlation block ``T[1:, ..., 1:]`` (shape (3,)*n)."""
    return T[(slice(1, None),) * T.ndim]


def _require_two_qubit(T: np.ndarray, what: str) -> None:
    if T.shape != (4, 4):
        raise ValueError(f"{what} is defined for K = 2 (T of shape (4, 4)), got {T.shape}")
