"""Local-hidden-state (unsteerability) certificates for two-qubit effective states, by SDP.

Method (Hirsch, Quintino, Vertesi, Pusey, Brunner, PRL 117, 190402 (2016);
Cavalcanti, Guerini, Rabelo, Skrzypczyk, PRL 117, 190401 (2016); the
two-qubit procedure of Fillettaz, Hirsch, Designolle, Brunner, PRA 98,
022115 (2018), arXiv:1804.07576):

1. Take ``n`` measurement axes ``v_x`` of the steering party (Alice); the
   polyhedron ``conv{+-v_x}`` contains the ball of radius ``r`` (its
   *inradius*, the shrinking factor).  A projective measurement along any
   unit ``u`` made noisy, ``(1 + r u.sigma)/2``, is then a convex mixture of the
   ``n`` measurements and their relabellings.
2. For the target family ``tau(v) = v rho + (1 - v) N`` (``N`` the noise,
   white ``1/4`` by default) define ``chi(v)`` by
   ``tau(v) = r chi(v) + (1 - r) 1/2 (x) tau_B(v)``, i.e. Alice's Bloch
   rows of ``T`` divided by ``r``.  The assemblage of ``tau(v)`` under *all*
   projective measurements equals that of ``chi(v)`` under r-noisy ones, so
   if ``chi(v)`` admits an LHS model for the ``n`` measurements, ``tau(v)`` is
   unsteerable for every projective measurement of Alice, hence local for
   all projective measurements of Alice and all measurements of Bob.  The
   SDP maximises ``v`` with ``sigma_{a|x}(chi(v)) = sum_lambda D(a|x, lambda)
   sigma_lambda``, ``sigma_lambda >= 0``, over the ``2^n`` deterministic
   strategies.
3. The solver's answer is never trusted: in numpy the hidden states are
   projected onto the PSD cone, the exact residual ``R`` of the
   reconstruction is written as a (signed) combination over the full
   strategy set, and it is absorbed by mixing in the interior point ``v = 0``
   (uniform strategies, Bob's noise marginal).  The certified visibility is
   ``theta * v_solver`` with the largest ``theta`` for which that exact model
   is PSD, and the final model is checked once more.

Conventions
-----------
Pauli basis; ``T[i, j] = Tr(rho sigma_i (x) sigma_j)``, Alice (region A,
index 0) first.  A 2x2 Hermitian operator is stored as ``c`` with
``X = (c_0 1 + c . sigma) / 2`` (PSD iff ``c_0 >= |c|``, trace ``c_0``).
``direction="A->B"``: Alice steers Bob (Alice's measurements are arbitrary
projective ones); ``"B->A"`` swaps the roles; ``"both"`` keeps the better.
Unsteerability in either direction implies locality for projective
measurements.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

import numpy as np

from ..effective import EffectiveState

__all__ = ["LHSCertificate", "lhs_certificate", "measurement_polyhedron", "MAX_DIRECTIONS"]

#: Largest number of measurement axes: the SDP has ``2^n`` hidden states.
MAX_DIRECTIONS = 12
_NOISES = ("white", "marginal")
_DIRECTIONS = ("A->B", "B->A", "both")
#: Safety margins against floating-point rounding in the certificate itself.
_RADIUS_MARGIN = 1e-12
_ABSORB_MARGIN = 1e-12


@dataclass(frozen=True)
class LHSCertificate:
    """Result of :func:`lhs_certificate`.

    Attributes
    ----------
    certified_visibility : float
        ``v`` such that ``v rho + (1 - v) N`` is *proven* unsteerable (hence
        local) for all projective measurements of the steering party; a
        lower bound on the critical visibility.  Capped at ``max_visibility``.
    local : bool
        ``certified_visibility >= 1``: the state itself is certified.
    n_directions : int
        Number of measurement axes (the polyhedron has ``2 n`` vertices).
    shrinking_factor : float
        Inradius ``r`` of the polyhedron (minus a rounding margin).
    direction : str
        ``"A->B"`` or ``"B->A"``: who steers in the certificate.
    noise : str
        ``"white"`` (``N = 1/4``) or ``"marginal"`` (``N = 1/2 (x)`` steered marginal).
    solver_visibility : float
        The SDP optimum before the exact repair (``>= certified_visibility``).
    residual : float
        Largest entry of the solver model's reconstruction error.
    model_error : float
        Reconstruction error of the repaired, certified model (rounding level).
    solver : str
        The cvxpy solver that was used.
    visibilities : dict
        Certified visibility per direction tried.
    """

    certified_visibility: float
    local: bool
    n_directions: int
    shrinking_factor: float
    direction: str
    noise: str
    solver_visibility: float
    residual: float
    model_error: float
    solver: str
    visibilities: dict

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the fields."""
        return asdict(self)


# --- measurement polyhedra ---------------------------------------------------

def _inradius(axes: np.ndarray) -> float:
    from scipy.spatial import ConvexHull

    pts = np.vstack([axes, -axes])
    hull = ConvexHull(pts)
    normals = hull.equations[:, :3]
    offsets = hull.equations[:, 3] / np.linalg.norm(normals, axis=1)
    return float(np.min(-offsets))


def _icosahedron_axes() -> np.ndarray:
    g = (1.0 + math.sqrt(5.0)) / 2.0
    v = np.array([[0, 1, g], [0, 1, -g], [1, g, 0], [1, -g, 0], [g, 0, 1], [-g, 0, 1]], dtype=float)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _repulsion_axes(n: int) -> np.ndarray:
    """``n`` axes spread by Coulomb repulsion of the ``2n`` points ``+-v`` (fixed start)."""
    k = np.arange(n) + 0.5
    z = 1.0 - k / n                       # Fibonacci points on the upper hemisphere
    phi = k * math.pi * (3.0 - math.sqrt(5.0))
    X = np.stack([np.sqrt(1 - z**2) * np.cos(phi), np.sqrt(1 - z**2) * np.sin(phi), z], axis=1)
    step = 0.05
    for _ in range(600):
        force = np.zeros_like(X)
        for sgn in (1.0, -1.0):
            d = X[:, None, :] - sgn * X[None, :, :]
            dist = np.linalg.norm(d, axis=2)
            if sgn > 0:
                np.fill_diagonal(dist, np.inf)
            force += np.sum(d / dist[:, :, None] ** 3, axis=1)
        X = X + step * force / n
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


@functools.lru_cache(maxsize=None)
def _polyhedron(n: int) -> tuple[np.ndarray, float]:
    if n == 3:
        axes = np.eye(3)
    elif n == 6:
        axes = _icosahedron_axes()
    else:
        axes = _repulsion_axes(n)
    axes.flags.writeable = False
    return axes, _inradius(axes)


def measurement_polyhedron(n_directions: int) -> tuple[np.ndarray, float]:
    """Measurement axes and inradius of the polyhedron ``conv{+-v_x}``.

    ``n = 3``: octahedron (``r = 1/sqrt 3``); ``n = 6``: icosahedron
    (``r = 0.7947``); otherwise axes spread by repulsion from a fixed
    Fibonacci start (deterministic).

    Returns
    -------
    axes : ndarray, shape (n, 3), unit vectors
    inradius : float
    """
    _check_n(n_directions)
    axes, r = _polyhedron(int(n_directions))
    return axes.copy(), r


def _check_n(n: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, Integral) or not 3 <= n <= MAX_DIRECTIONS:
        raise ValueError(f"lhs_certificate: n_directions must be an int in [3, {MAX_DIRECTIONS}] "
                         f"(2^n hidden states), got {n!r}")


# --- the SDP and its exact repair --------------------------------------------

@functools.lru_cache(maxsize=None)
def _strategies(n: int) -> np.ndarray:
    """``L[lambda, x] = +-1``: the output of strategy lambda for measurement x."""
    L = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    L.flags.writeable = False
    return L


def _targets(T: np.ndarray, TN: np.ndarray, axes: np.ndarray, r: float):
    """Affine assemblage of ``chi(v)``: ``plus(v) = P0 + v P1`` (n, 4), ``bob(v) = b0 + v b1`` (4,)."""
    def chi(Ttau):
        out = Ttau.copy()
        out[1:, :] /= r
        return out

    X0, X1 = chi(TN), chi(T - TN)         # T_chi(v) = X0 + v X1
    P0 = 0.5 * (X0[0][None, :] + axes @ X0[1:, :])
    P1 = 0.5 * (X1[0][None, :] + axes @ X1[1:, :])
    return P0, P1, X0[0].copy(), X1[0].copy()


def _soc_project(S: np.ndarray) -> np.ndarray:
    """Rows ``(t, x)`` projected onto the cone ``t >= |x|``."""
    t, x = S[:, 0], S[:, 1:]
    nx = np.linalg.norm(x, axis=1)
    out = S.copy()
    below = nx <= -t
    out[below] = 0.0
    mid = ~below & (nx > t)
    scale = (t[mid] + nx[mid]) / 2.0
    out[mid, 0] = scale
    out[mid, 1:] = x[mid] * (scale / nx[mid])[:, None]
    return out


def _solve(P0, P1, b0, b1, n, v_max, solver):
    import cvxpy as cp

    L = _strategies(n)
    Dplus = (L.T > 0).astype(float)       # (n, 2^n): strategy outputs + for x
    S = cp.Variable((L.shape[0], 4))
    v = cp.Variable()
    cons = [cp.SOC(S[:, 0], S[:, 1:], axis=1),
            Dplus @ S == P0 + v * P1,
            cp.sum(S, axis=0) == b0 + v * b1,
            v >= 0, v <= v_max]
    prob = cp.Problem(cp.Maximize(v), cons)
    names = [solver] if solver else ["CLARABEL", "SCS"]
    last = None
    for name in names:
        try:
            prob.solve(solver=name)
        except (cp.error.SolverError, cp.error.DCPError) as exc:   # pragma: no cover - solver missing
            last = exc
            continue
        if v.value is not None and S.value is not None:
            return float(v.value), np.asarray(S.value, dtype=float), name
    raise RuntimeError(f"lhs_certificate: no SDP solver succeeded ({names}): {last}")


def _repair(S, v_s, P0, P1, b0, b1, c0, n):
    """Exact LHS model at ``theta v_s``; returns (certified v, residual, model error)."""
    L = _strategies(n)
    Dplus = (L.T > 0).astype(float)
    Sp = _soc_project(S)
    R_plus = Dplus @ Sp - (P0 + v_s * P1)
    R_B = Sp.sum(axis=0) - (b0 + v_s * b1)
    residual = float(max(np.max(np.abs(R_plus)), np.max(np.abs(R_B))))
    # R is no-signalling (its outcome sum R_B does not depend on x), so it is
    # reproduced exactly by tau_l = 2^-n (R_B + sum_x l_x (R_{+|x} - R_{-|x})).
    E = 2.0 * R_plus - R_B[None, :]
    W = R_B[None, :] + L @ E                                  # 2^n tau_lambda
    eps = float(np.max(np.abs(W[:, 0]) + np.linalg.norm(W[:, 1:], axis=1))) + _ABSORB_MARGIN
    gap = c0[0] - float(np.linalg.norm(c0[1:]))              # interior depth of the v = 0 model
    theta = gap / (gap + eps) if gap > 0 else 0.0
    final = theta * Sp - theta * W / 2**n + (1.0 - theta) * c0[None, :] / 2**n
    v_c = theta * v_s
    err = float(max(np.max(np.abs(Dplus @ final - (P0 + v_c * P1))),
                    np.max(np.abs(final.sum(axis=0) - (b0 + v_c * b1)))))
    depth = final[:, 0] - np.linalg.norm(final[:, 1:], axis=1)
    if np.min(depth) < -1e-13 or err > 1e-9:
        # The repaired model failed its own check: certify nothing.
        return 0.0, residual, err
    return v_c, residual, err


def _one_direction(T, noise, axes, r, v_max, solver):
    TN = np.zeros((4, 4))
    TN[0, 0] = 1.0
    if noise == "marginal":
        TN[0, :] = T[0, :]
    P0, P1, b0, b1 = _targets(T, TN, axes, r)
    n = axes.shape[0]
    v_s, S, used = _solve(P0, P1, b0, b1, n, v_max, solver)
    v_s = min(max(v_s, 0.0), v_max)
    v_c, residual, err = _repair(S, v_s, P0, P1, b0, b1, TN[0], n)
    return v_c, v_s, residual, err, used


def lhs_certificate(eff: Any, n_directions: int = 6, *, noise: str = "white", direction: str = "both",
                    axes: Any = None, solver: str | None = None,
                    max_visibility: float = 2.0) -> LHSCertificate:
    """Certify a two-qubit effective state as unsteerable for all projective measurements.

    Parameters
    ----------
    eff : EffectiveState
        K = 2, M = 1 (two qubits).
    n_directions : int
        Number of measurement axes of the polyhedron, 3..12 (``2^n`` hidden
        states; finer polyhedra give a larger shrinking factor).  Ignored
        when ``axes`` is given.
    noise : {"white", "marginal"}
        Target family ``v rho + (1 - v) N``: ``N = 1/4`` or ``N = 1/2 (x)``
        the steered party's marginal.
    direction : {"A->B", "B->A", "both"}
    axes : array (n, 3), optional
        Explicit unit measurement axes (their polyhedron must contain the origin).
    solver : str, optional
        cvxpy solver name; default Clarabel with SCS as fallback.
    max_visibility : float
        Cap of the SDP objective (``> 0``).

    Returns
    -------
    LHSCertificate
        ``certified_visibility`` (Werner states: between ``r/2`` and the exact
        1/2), ``local`` iff it is ``>= 1``.

    Raises
    ------
    ValueError
        Not a two-qubit effective state, bad option, non-unit or too many axes.
    """
    if not isinstance(eff, EffectiveState) or eff.M != 1 or eff.K != 2:
        raise ValueError("lhs_certificate: eff must be a two-qubit EffectiveState (K = 2, M = 1), got "
                         f"{type(eff).__name__}" + (f" with K={eff.K}, M={eff.M}" if isinstance(eff, EffectiveState) else ""))
    if noise not in _NOISES:
        raise ValueError(f"lhs_certificate: noise must be one of {_NOISES}, got {noise!r}")
    if direction not in _DIRECTIONS:
        raise ValueError(f"lhs_certificate: direction must be one of {_DIRECTIONS}, got {direction!r}")
    if not isinstance(max_visibility, (int, float)) or not 0 < max_visibility < math.inf:
        raise ValueError(f"lhs_certificate: max_visibility must be a finite number > 0, got {max_visibility!r}")
    if axes is None:
        _check_n(n_directions)
        ax, r = _polyhedron(int(n_directions))
    else:
        ax = np.asarray(axes, dtype=float)
        if ax.ndim != 2 or ax.shape[1] != 3:
            raise ValueError(f"lhs_certificate: axes must have shape (n, 3), got {ax.shape}")
        _check_n(ax.shape[0])
        if not np.all(np.isfinite(ax)) or np.max(np.abs(np.linalg.norm(ax, axis=1) - 1.0)) > 1e-9:
            raise ValueError("lhs_certificate: axes must be unit vectors")
        if np.linalg.matrix_rank(ax) < 3:
            raise ValueError("lhs_certificate: axes must span R^3 (the polyhedron must contain the origin)")
        r = _inradius(ax)
    r = r - _RADIUS_MARGIN
    T = np.asarray(eff.T, dtype=float)
    tried = ("A->B", "B->A") if direction == "both" else (direction,)
    results = {}
    for d in tried:
        results[d] = _one_direction(T if d == "A->B" else T.T.copy(), noise, ax, r,
                                    float(max_visibility), solver)
    best = max(tried, key=lambda d: results[d][0])
    v_c, v_s, residual, err, used = results[best]
    return LHSCertificate(
        certified_visibility=float(v_c),
        local=bool(v_c >= 1.0),
        n_directions=int(ax.shape[0]),
        shrinking_factor=float(r),
        direction=best,
        noise=noise,
        solver_visibility=float(v_s),
        residual=float(residual),
        model_error=float(err),
        solver=used,
        visibilities={d: float(results[d][0]) for d in tried},
    )
