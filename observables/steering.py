"""Unsteerability criteria for two-qubit effective states.

Unsteerable (from either party, projective measurements) implies an LHV model
for all projective measurements.  Conventions as in :mod:`.criteria`: Pauli
correlation tensor ``T`` (4, 4), Alice first, Bloch vectors ``T[1:, 0]`` and
``T[0, 1:]``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import elliprg

from . import thresholds as th
from ._pauli import PAULI, T_from_rho, _require_two_qubit, rho_from_T

__all__ = ["jevtic_integral", "bowles_value", "steering"]


def jevtic_integral(T: np.ndarray) -> float:
    """``(1/4pi) int_{S^2} |T n| dn`` for the 3x3 block of a two-qubit ``T``.

    This spherical mean of ``sqrt(n^T T^T T n)`` is, by definition,
    Carlson's symmetric elliptic integral ``R_G(t1^2, t2^2, t3^2)`` of the
    squared singular values, evaluated to machine precision by
    ``scipy.special.elliprg``.  For a T-state (zero Bloch vectors) the state
    is unsteerable under projective measurements iff the value is ``<= 1/2``
    (Jevtic et al., JOSA B 32, A40 (2015); Nguyen & Vu, EPL 115, 10003
    (2016)).  For the Werner state the value is exactly V.
    """
    T = np.asarray(T, dtype=float)
    _require_two_qubit(T, "jevtic_integral")
    s = np.linalg.svd(T[1:, 1:], compute_uv=False)
    return float(elliprg(s[0] ** 2, s[1] ** 2, s[2] ** 2))


def _bowles_max(a: np.ndarray, C: np.ndarray) -> tuple[float, float]:
    """Upper and lower bounds on ``max_{|x|=1} (a.x)^2 + 2 |C^T x|``.

    With ``A = a a^T`` and ``B = C C^T``, ``2 sqrt(q) = min_{s>0} q/s + s``
    and, because the joint numerical range ``{(x^T A x, x^T B x)}`` of two
    real quadratic forms on S^2 is convex (Brickman 1961), Sion's minimax
    theorem gives exactly ``max = min_{s>0} lambda_max(A + B/s) + s``, a 1-D
    convex problem.  Every ``s`` yields a valid upper bound, so the
    certificate stays sound even if the minimiser is inexact; the lower
    bound is the objective at the maximising eigenvector.
    """
    A = np.outer(a, a)
    B = C @ C.T

    def h(s: float) -> float:
        return float(np.linalg.eigvalsh(A + B / s)[-1] + s)

    res = minimize_scalar(h, bounds=(1e-14, 2.0), method="bounded", options={"xatol": 1e-12})
    s_opt = float(res.x)
    upper = h(s_opt)
    x = np.linalg.eigh(A + B / s_opt)[1][:, -1]
    lower = float((a @ x) ** 2 + 2.0 * np.linalg.norm(C.T @ x))
    return upper, lower


def bowles_value(T: np.ndarray, direction: str = "A->B", *, with_lower: bool = False):
    """Bowles-Hirsch-Quintino-Brunner value; ``<= 1`` certifies unsteerability.

    Criterion (PRA 93, 022121 (2016), arXiv:1510.06721): filter the steered
    party to a maximally mixed marginal, ``rho' = (1 (x) rho_B^{-1/2}) rho
    (1 (x) rho_B^{-1/2}) / 2`` (a local filter on the steered side preserves
    (un)steerability), write ``a`` for the steering party's Bloch vector and
    ``T`` (steering party first) for the correlations of ``rho'``; then
    ``max_{|x|=1} (a.x)^2 + 2 ||T^T x|| <= 1`` implies a local-hidden-state
    model for all projective measurements of the steering party (hidden
    states uniform on Bob's Bloch sphere, response = biased hemisphere).

    Parameters
    ----------
    T : ndarray, shape (4, 4)
    direction : {"A->B", "B->A"}
        ``"A->B"``: Alice steers Bob (Bob is filtered).
    with_lower : bool
        Also return a lower bound on the maximum (for checks).

    Returns
    -------
    float (or (upper, lower))
        ``inf`` when the steered marginal is singular (pure marginal: the
        state is then a product, and the filter does not exist).
    """
    T = np.asarray(T, dtype=float)
    _require_two_qubit(T, "bowles_value")
    if direction == "B->A":
        T = T.T
    elif direction != "A->B":
        raise ValueError(f"direction must be 'A->B' or 'B->A', got {direction!r}")
    b = T[0, 1:]
    rho_b = 0.5 * (PAULI[0] + np.tensordot(b, PAULI[1:], axes=1))
    w, v = np.linalg.eigh(rho_b)
    if w[0] <= 1e-12:
        return (math.inf, math.inf) if with_lower else math.inf
    F = np.kron(np.eye(2), (v / np.sqrt(w)) @ v.conj().T)
    rho_f = F @ rho_from_T(T) @ F.conj().T
    Tf = T_from_rho(rho_f / np.trace(rho_f).real)
    upper, lower = _bowles_max(Tf[1:, 0], Tf[1:, 1:])
    return (upper, lower) if with_lower else upper


def steering(T: np.ndarray, bloch_tol: float = 1e-8) -> tuple[float, str, bool]:
    """Best available unsteerability test for a two-qubit state.

    Returns
    -------
    value : float
        ``"t-state"``: :func:`jevtic_integral` (unsteerable iff ``<= 1/2``);
        ``"bowles"``: min over both directions of :func:`bowles_value`
        (unsteerable if ``<= 1``; sufficient only).
    method : {"t-state", "bowles"}
        ``"t-state"`` when both Bloch vectors have norm ``<= bloch_tol``.
    unsteerable : bool
        Unsteerable (in at least one direction) under projective
        measurements, hence local for projective measurements.
    """
    T = np.asarray(T, dtype=float)
    _require_two_qubit(T, "steering")
    if max(np.linalg.norm(T[1:, 0]), np.linalg.norm(T[0, 1:])) <= bloch_tol:
        value = jevtic_integral(T)
        return value, "t-state", bool(value <= th.JEVTIC_BOUND + th.NUMERIC_TOL)
    value = min(bowles_value(T, "A->B"), bowles_value(T, "B->A"))
    return value, "bowles", bool(value <= th.BOWLES_BOUND + th.NUMERIC_TOL)
