"""The exact Zukowski-Brukner (WWZB) two-setting condition, maximised over settings.

For K parties measuring projective +-1 observables along two unit Bloch
vectors each, ``n_{j,1}, n_{j,2}``, the full correlations
``E(k) = sum_{a >= 1} T_{a_1...a_K} n_{1,k_1,a_1} ... n_{K,k_K,a_K}`` admit a
local-hidden-variable model **iff**

    sum_{s in {+-1}^K} | sum_{k in {1,2}^K} prod_j s_j^{k_j - 1} E(k) | <= 2^K

(Zukowski & Brukner, PRL 88, 210401 (2002); the single inequality is
equivalent to the whole Werner-Wolf-Zukowski-Brukner family of two-setting
full-correlation inequalities).  :func:`wwzb` reports the largest ratio of the
left side to ``2^K`` found over all settings, so ``<= 1`` means local for
every such experiment.

Conventions
-----------
Pauli basis (``sigma_1..3 = X, Y, Z`` with eigenvalues +-1), ``T`` the
*normalised* correlation tensor of the effective state (not multiplied by
``prod N_X``); the macroscopic prefactor cancels in the ratio.

Algorithm
---------
With ``w_j(+) = (n_{j,1} + n_{j,2}) / 2`` and ``w_j(-) = (n_{j,1} - n_{j,2}) / 2``
the ratio is ``sum_s |C . w_1(s_1) (x) ... (x) w_K(s_K)|`` with ``C = T[1:,...,1:]``.
For a fixed sign pattern ``sigma_s = sign(...)`` it is linear in each party's
pair, ``n_{j,1} . g_1 + n_{j,2} . g_2``, maximised in closed form by
``n = g / |g|``.  Alternating the sign pattern and the party updates never
decreases the ratio (a seesaw); it runs from a higher-order-SVD start, the
Horodecki optimum for K = 2, and ``restarts`` random starts.  The result is a
lower bound on the true maximum, and is never above ``sqrt(zb_upper(T))``
(Cauchy-Schwarz on the Zukowski-Brukner sum of squares).
"""

from __future__ import annotations

import math
import string
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any, Sequence

import numpy as np

from ..effective import EffectiveState

__all__ = ["WWZBValue", "wwzb", "wwzb_ratio"]

#: Relative slack for ``violated``: only floating-point rounding, no physics.
_VIOLATION_TOL = 1e-9
#: Short seesaw for every start, then a long one for the few best (the ascent
#: converges linearly, so the tail is only worth paying for promising starts).
_SCREEN_SWEEPS = 30
_POLISH_SWEEPS = 100
_POLISH_BEST = 3
_SWEEP_TOL = 1e-14


@dataclass(frozen=True)
class WWZBValue:
    """Result of :func:`wwzb` (same fields as ``bell.BellValue``).

    Attributes
    ----------
    value : float
        Largest WWZB ratio found, ``sum_s |...| / 2^K`` (``<= 1``: local).
    local_bound : float
        Always 1.0 (the ratio's LHV bound).
    violated : bool
        ``value > 1`` beyond rounding: an explicit two-setting Bell violation
        at ``settings``.
    settings : list
        K entries, each a 2x3 nested list: the two unit Bloch vectors of one
        party achieving ``value``.
    """

    value: float
    local_bound: float
    violated: bool
    settings: list

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the fields."""
        return asdict(self)


def _full_block(eff: Any, what: str) -> np.ndarray:
    """``T[1:, ..., 1:]`` of a qubit-party (M = 1) effective state."""
    if not isinstance(eff, EffectiveState):
        raise ValueError(f"{what}: eff must be an EffectiveState (qubit parties, M = 1), got {type(eff).__name__}")
    T, M = eff.T, eff.M
    if M != 1:
        raise ValueError(f"{what}: needs qubit parties (M = 1), got an effective state with M={M}")
    T = np.asarray(T, dtype=float)
    K = T.ndim
    if K < 2 or T.shape != (4,) * K:
        raise ValueError(f"{what}: T must have shape (4,)*K with K >= 2, got {T.shape}")
    return T[(slice(1, None),) * K]


def _check_settings(settings: Sequence[Any], K: int, what: str, tol: float = 1e-9) -> np.ndarray:
    """Validate K pairs of unit vectors; returns an array of shape (K, 2, 3)."""
    try:
        A = np.asarray(settings, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: settings must be K arrays of shape (2, 3), got {settings!r}") from exc
    if A.shape != (K, 2, 3):
        raise ValueError(f"{what}: settings must have shape (K={K}, 2, 3) (two unit Bloch vectors per "
                         f"party), got {A.shape}")
    norms = np.linalg.norm(A, axis=2)
    if not np.all(np.isfinite(A)) or np.max(np.abs(norms - 1.0)) > tol:
        raise ValueError(f"{what}: settings must be unit vectors, got norms {norms.tolist()}")
    return A


def _party_weights(A: np.ndarray) -> list[np.ndarray]:
    """``w_j`` of shape (2, 3): rows ``(n1 + n2)/2`` (s = +1) and ``(n1 - n2)/2`` (s = -1)."""
    return [np.stack([(a[0] + a[1]) / 2.0, (a[0] - a[1]) / 2.0]) for a in A]


def _signed_terms(C: np.ndarray, W: list[np.ndarray]) -> np.ndarray:
    """``Y[s_1..s_K] = C . w_1(s_1) (x) ... (x) w_K(s_K)``, shape (2,)*K."""
    Y = C
    for w in W:
        # Contract the leading 3-axis; the new 2-axis goes last, so after K
        # steps the party order is restored.
        Y = np.tensordot(Y, w, axes=([0], [1]))
    return Y


def _ratio(C: np.ndarray, A: np.ndarray) -> float:
    return float(np.sum(np.abs(_signed_terms(C, _party_weights(A)))))


def _gradient(C: np.ndarray, W: list[np.ndarray], sigma: np.ndarray, j: int) -> np.ndarray:
    """``g[s_j] = d/dw_j(s_j) sum_s sigma_s Y_s``, shape (2, 3)."""
    K = C.ndim
    letters = string.ascii_letters
    c_idx = letters[:K]                 # 3-indices of C
    s_idx = letters[K:2 * K]            # sign indices
    terms = [c_idx]
    operands: list[np.ndarray] = [C]
    for q in range(K):
        if q != j:
            terms.append(s_idx[q] + c_idx[q])
            operands.append(W[q])
    terms.append(s_idx)
    operands.append(sigma)
    return np.einsum(",".join(terms) + "->" + s_idx[j] + c_idx[j], *operands)


def _seesaw(C: np.ndarray, A: np.ndarray, sweeps: int) -> tuple[float, np.ndarray]:
    A = A.copy()
    value = _ratio(C, A)
    for _ in range(sweeps):
        old = value
        for j in range(C.ndim):
            W = _party_weights(A)
            Y = _signed_terms(C, W)
            sigma = np.where(Y >= 0.0, 1.0, -1.0)
            g = _gradient(C, W, sigma, j)
            # sum_s sigma_s Y_s = n1 . (g+ + g-)/2 + n2 . (g+ - g-)/2.
            for k, h in enumerate(((g[0] + g[1]) / 2.0, (g[0] - g[1]) / 2.0)):
                nh = np.linalg.norm(h)
                if nh > 1e-300:
                    A[j, k] = h / nh
            value = max(value, _ratio(C, A))
        if value - old <= _SWEEP_TOL * max(1.0, value):
            break
    return value, A


def _polish(C: np.ndarray, value: float, A: np.ndarray) -> tuple[float, np.ndarray]:
    """Quasi-Newton polish of the seesaw's slow linear tail (the ratio is smooth
    where no signed term vanishes); kept only if it improves."""
    from scipy.optimize import minimize

    shape = A.shape

    def unit(x):
        X = x.reshape(shape)
        return X / np.linalg.norm(X, axis=2, keepdims=True)

    res = minimize(lambda x: -_ratio(C, unit(x)), A.ravel(), method="BFGS",
                   options={"gtol": 1e-11, "maxiter": 400})
    B = unit(res.x)
    new = _ratio(C, B)
    return (new, B) if new > value else (value, A)


def _random_settings(rng: np.random.Generator, K: int) -> np.ndarray:
    A = rng.standard_normal((K, 2, 3))
    return A / np.linalg.norm(A, axis=2, keepdims=True)


def _structured_starts(C: np.ndarray) -> list[np.ndarray]:
    """HOSVD start (each party: +-45 degrees in its top-2 singular plane) and, for
    K = 2, the Horodecki optimum."""
    K = C.ndim
    starts = []
    A = np.empty((K, 2, 3))
    for p in range(K):
        U, _, _ = np.linalg.svd(np.moveaxis(C, p, 0).reshape(3, -1))
        A[p, 0] = (U[:, 0] + U[:, 1]) / math.sqrt(2.0)
        A[p, 1] = (U[:, 0] - U[:, 1]) / math.sqrt(2.0)
    starts.append(A)
    if K == 2:
        U, t, Vt = np.linalg.svd(C)
        norm = math.hypot(t[0], t[1])
        if norm > 0.0:
            B = np.empty((2, 2, 3))
            B[0, 0], B[0, 1] = U[:, 0], U[:, 1]
            B[1, 0] = (t[0] * Vt[0] + t[1] * Vt[1]) / norm
            B[1, 1] = (t[0] * Vt[0] - t[1] * Vt[1]) / norm
            starts.append(B)
    return starts


def _rng(seed: Any, what: str) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(0)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"{what}: seed must be a non-negative int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(int(seed))


def wwzb_ratio(eff: Any, settings: Sequence[Any]) -> float:
    """WWZB ratio ``sum_s |sum_k prod_j s_j^{k_j-1} E(k)| / 2^K`` at given settings.

    Parameters
    ----------
    eff : EffectiveState (M = 1, any K >= 2)
    settings : K arrays of shape (2, 3), unit Bloch vectors ``n_{j,1}, n_{j,2}``.

    Returns
    -------
    float
        ``<= 1`` for every setting iff an LHV model of the two-setting full
        correlations exists (Zukowski & Brukner, PRL 88, 210401 (2002)).
    """
    C = _full_block(eff, "wwzb_ratio")
    return _ratio(C, _check_settings(settings, C.ndim, "wwzb_ratio"))


def wwzb(eff: Any, restarts: int = 20, seed: Any = None) -> WWZBValue:
    """Maximal WWZB ratio over two projective settings per party.

    Parameters
    ----------
    eff : EffectiveState
        Qubit parties (M = 1), any K >= 2; uses the normalised ``T``.
    restarts : int
        Number of random starts of the seesaw (besides the structured ones).
    seed : int, numpy.random.Generator or None
        Source of the random starts; ``None`` means seed 0 (reproducible).

    Returns
    -------
    WWZBValue
        ``value`` = best ratio to the local bound 2^K found (a lower bound on
        the maximum, exact for K = 2 where it equals CHSH/2 =
        ``sqrt(t1^2 + t2^2)``); ``violated`` iff ``value > 1``; ``settings``
        achieving it.  Reference values: W state 1.52298, GHZ_K
        ``2^((K-1)/2)`` (Mermin).

    Raises
    ------
    ValueError
        Not a qubit-party effective state, ``restarts`` not an int >= 0, or
        a bad ``seed``.
    """
    C = _full_block(eff, "wwzb")
    if isinstance(restarts, bool) or not isinstance(restarts, Integral) or restarts < 0:
        raise ValueError(f"wwzb: restarts must be an int >= 0, got {restarts!r}")
    rng = _rng(seed, "wwzb")
    starts = _structured_starts(C) + [_random_settings(rng, C.ndim) for _ in range(int(restarts))]
    screened = sorted((_seesaw(C, A0, _SCREEN_SWEEPS) for A0 in starts), key=lambda t: -t[0])
    best_value, best_A = screened[0]
    for value0, A0 in screened[:_POLISH_BEST]:
        value, A = _polish(C, *_seesaw(C, A0, _POLISH_SWEEPS))
        if value > best_value:
            best_value, best_A = value, A
    return WWZBValue(
        value=float(best_value),
        local_bound=1.0,
        violated=bool(best_value > 1.0 + _VIOLATION_TOL),
        settings=[a.tolist() for a in best_A],
    )
