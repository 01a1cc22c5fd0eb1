"""Named Bell inequalities on two-qubit effective states: CHSH (closed form) and I3322 (seesaw).

Observables are Pauli ``n . sigma`` with outcomes +-1 (see :mod:`.behaviour`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .behaviour import _check_eff, correlators_from_T
from .lp import VIOLATION_TOL
from .search import (CHSH_COEFFICIENTS, I3322_COEFFICIENTS, _check_count, maximise_settings,
                     principal_settings, random_settings)

__all__ = ["BellValue", "chsh", "i3322", "CHSH_COEFFICIENTS", "I3322_COEFFICIENTS",
           "CHSH_LOCAL_BOUND", "I3322_LOCAL_BOUND"]


@dataclass(frozen=True, eq=False)
class BellValue:
    """Value of a named Bell expression maximised over settings.

    Attributes
    ----------
    value : float
        The expression at ``settings`` on the effective state.
    local_bound : float
        Its maximum over local hidden-variable models.
    violated : bool
        ``value > local_bound`` beyond the numerical tolerance ``VIOLATION_TOL``
        (relative); a violation is a proof of nonlocality, no violation proves
        nothing beyond this expression.
    settings : tuple of ndarray, shape (S_X, 3)
        Unit Bloch vectors achieving ``value``.
    """

    value: float
    local_bound: float
    violated: bool
    settings: tuple

    @property
    def ratio(self) -> float:
        return float(self.value / self.local_bound)

    def to_dict(self) -> dict:
        return {"value": float(self.value), "local_bound": float(self.local_bound),
                "violated": bool(self.violated), "ratio": self.ratio,
                "settings": [np.asarray(s).tolist() for s in self.settings]}


def _violated(value: float, bound: float) -> bool:
    return bool(value > bound * (1.0 + VIOLATION_TOL))


CHSH_LOCAL_BOUND = 2.0
I3322_LOCAL_BOUND = 4.0


def _check_two_qubit(eff: Any, where: str) -> np.ndarray:
    _check_eff(eff, where)
    if len(eff.sizes) != 2:
        raise ValueError(f"{where}: defined for K = 2 parties, got K={len(eff.sizes)}")
    return np.asarray(eff.T, dtype=float)


def chsh(eff: Any) -> BellValue:
    """Maximal CHSH value over projective settings, in closed form, with its settings.

    ``2 sqrt(t_1^2 + t_2^2)`` with ``t_1 >= t_2`` the largest singular values of
    the correlation block ``T[1:, 1:]`` (Horodecki, Horodecki, Horodecki,
    Phys. Lett. A 200, 340 (1995)).  With ``T[1:,1:] = sum_k t_k u_k v_k^T``
    the optimum is ``A_1 = u_1, A_2 = u_2``,
    ``B_{1,2} = cos(theta) v_1 +- sin(theta) v_2``, ``tan(theta) = t_2 / t_1``.
    The expression is ``<A1B1> + <A1B2> + <A2B1> - <A2B2> <= 2``.
    """
    T = _check_two_qubit(eff, "bell.chsh")
    U, t, Vh = np.linalg.svd(T[1:, 1:])
    theta = math.atan2(t[1], t[0])
    A = np.array([U[:, 0], U[:, 1]])
    B = np.array([math.cos(theta) * Vh[0] + math.sin(theta) * Vh[1],
                  math.cos(theta) * Vh[0] - math.sin(theta) * Vh[1]])
    value = float(np.sum(CHSH_COEFFICIENTS * correlators_from_T(T, [A, B])))
    return BellValue(value, CHSH_LOCAL_BOUND, _violated(value, CHSH_LOCAL_BOUND), (A, B))


def i3322(eff: Any, restarts: int = 20, seed: Any = 0) -> BellValue:
    """Largest I3322 value found over projective settings (seesaw with restarts).

    Correlator form (Collins & Gisin, J. Phys. A 37, 1775 (2004)):
    ``<A1>+<A2>-<B1>-<B2>+<(A1+A2)(B1+B2)>+<A1B3>+<A3B1>-<A2B3>-<A3B2> <= 4``;
    the two-qubit quantum maximum is 5 (maximally entangled states).  The value
    is linear in every Bloch vector of one party, so each party's three
    settings are updated in closed form, alternating until stalled.

    Parameters
    ----------
    eff : EffectiveState with K = 2, M = 1
    restarts : int
        Starts: the first from the correlations' principal axes, the rest
        uniformly random, all drawn from ``np.random.default_rng(seed)``.
    seed : int, Generator or None

    Returns
    -------
    BellValue
        A lower bound on the true maximum (a found value), exact at its settings.
    """
    T = _check_two_qubit(eff, "bell.i3322")
    restarts = _check_count(restarts, "restarts", "bell.i3322")
    rng = np.random.default_rng(seed)
    best_value, best_settings = -np.inf, None
    for r in range(restarts):
        start = principal_settings(T, [3, 3], rng) if r == 0 else random_settings([3, 3], rng)
        settings, _ = maximise_settings(T, I3322_COEFFICIENTS, start)
        value = float(np.sum(I3322_COEFFICIENTS * correlators_from_T(T, settings)))
        if value > best_value:
            best_value, best_settings = value, settings
    return BellValue(best_value, I3322_LOCAL_BOUND, _violated(best_value, I3322_LOCAL_BOUND),
                     tuple(best_settings))
