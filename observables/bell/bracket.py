"""A bracket ``[v_local, v_nonlocal]`` of the critical white-noise visibility of a two-qubit state.

For ``rho(v) = v rho + (1 - v) 1/4`` and projective measurements:

* ``v_local`` -- ``rho(v)`` is *proven* local for ``v <= v_local``.  Two
  certificates, the better is kept:

  - the LHS (unsteerability) SDP of :mod:`.lhs` (unsteerable => local);
  - an LHV certificate with polyhedra on *both* sides (Designolle, Iommazzo,
    Besancon, Knebel, Gelss, Pokutta, PRR 5, 043059 (2023), arXiv:2302.04721;
    Hirsch et al., Quantum 1, 3 (2017)): with axes ``alpha_x`` (Alice) and
    ``beta_y`` (Bob) whose polyhedra have inradii ``eta_A, eta_B``, define
    ``chi(v)`` by dividing Alice's Bloch rows of ``T`` by ``eta_A`` and Bob's by
    ``eta_B``.  If the finite behaviour of ``chi(v)`` is in the local polytope,
    every projective behaviour of ``rho(v)`` is a mixture of finite ones
    (each noisy measurement ``(1 + eta u.sigma)/2`` is a mixture of vertex
    measurements and their relabellings), hence local.  The LP over
    deterministic strategies is solved by column generation (the pricing
    step is a local search over +-1 strategies; any strategy subset still
    gives a *valid* model, only possibly a weaker one).  As in :mod:`.lhs`,
    the LP solution is repaired exactly in numpy and re-checked.

* ``v_nonlocal`` -- an explicit Bell violation exists for ``v > v_nonlocal``:
  ``bell.search`` (settings seesaw + LP) when available, and the closed-form
  Horodecki CHSH value ``2 / chsh_max(T)``.

Conventions as in :mod:`.lhs` (Pauli basis, Alice first, ``T[i, j]``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

import numpy as np

from ..criteria import chsh_max
from ..effective import EffectiveState
from . import _icosahedral as ico
from .lhs import MAX_DIRECTIONS, _inradius, _repulsion_axes, lhs_certificate, measurement_polyhedron

__all__ = ["LHVCertificate", "VisibilityBracket", "lhv_certificate", "werner_lhv_certificate", "bracket"]

#: Largest number of axes per side of the two-sided LHV polyhedra.
MAX_LHV_DIRECTIONS = 60
_PRICE_TOL = 1e-9


@dataclass(frozen=True)
class LHVCertificate:
    """Result of :func:`lhv_certificate` (white-noise family, projective measurements).

    Attributes
    ----------
    certified_visibility : float
        ``rho(v)`` is local for all projective measurements for ``v <=`` this.
    local : bool
        ``certified_visibility >= 1``.
    n_directions : list of int
        Axes of Alice's and Bob's polyhedra.
    shrinking_factors : list of float
        Their inradii ``eta_A, eta_B``.
    solver_visibility : float
        LP optimum (visibility of ``rho(v)``, shrink included) before the repair.
    n_strategies : int
        Deterministic strategies in the final column pool.
    iterations : int
        Column-generation rounds.
    converged : bool
        The last pricing round found no improving strategy (local search:
        a heuristic statement about the LP optimum, not about the certificate,
        which is valid either way).
    residual : float
        LP model's reconstruction error before the repair.
    model_error : float
        Reconstruction error of the certified model.
    """

    certified_visibility: float
    local: bool
    n_directions: list
    shrinking_factors: list
    solver_visibility: float
    n_strategies: int
    iterations: int
    converged: bool
    residual: float
    model_error: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the fields."""
        return asdict(self)


@dataclass(frozen=True)
class VisibilityBracket:
    """Result of :func:`bracket`: ``v_local <= v_crit <= v_nonlocal``.

    Attributes
    ----------
    v_local, v_nonlocal : float
        Certified-local and explicitly-nonlocal white-noise visibilities
        (``v_nonlocal`` may exceed 1: no violation found for the state itself).
    local_method : str
        ``"lhs"`` or ``"lhv"``: which certificate gave ``v_local``.
    nonlocal_method : str
        ``"search"`` or ``"chsh"``.
    lhs_visibility, lhv_visibility, search_visibility, chsh_visibility : float
        Each bound separately (``nan`` where not computed).
    """

    v_local: float
    v_nonlocal: float
    local_method: str
    nonlocal_method: str
    lhs_visibility: float
    lhv_visibility: float
    search_visibility: float
    chsh_visibility: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of the fields."""
        return asdict(self)


def _two_qubit(eff: Any, what: str) -> np.ndarray:
    if not isinstance(eff, EffectiveState) or eff.M != 1 or eff.K != 2:
        raise ValueError(f"{what}: eff must be a two-qubit EffectiveState (K = 2, M = 1)")
    return np.asarray(eff.T, dtype=float)


def _axes(n: int) -> tuple[np.ndarray, float]:
    if n <= MAX_DIRECTIONS:
        return measurement_polyhedron(n)
    ax = _repulsion_axes(n)
    return ax, _inradius(ax)


def _columns(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Behaviour columns ``[1, a, b, vec(a b^T)]`` of strategies (rows of A, B)."""
    E = (A[:, :, None] * B[:, None, :]).reshape(A.shape[0], -1)
    return np.hstack([np.ones((A.shape[0], 1)), A, B, E]).T


def _flip_closure(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Add (-a, b), (a, -b), (-a, -b): the uniform pool mixture is then white noise."""
    A4 = np.vstack([A, -A, A, -A])
    B4 = np.vstack([B, B, -B, -B])
    S = np.unique(np.hstack([A4, B4]).astype(np.int8), axis=0).astype(float)
    return S[:, :A.shape[1]], S[:, A.shape[1]:]


def _price(y: np.ndarray, nA: int, nB: int, rng: np.random.Generator, starts: int, seeds_B: np.ndarray):
    """Strategies with ``y . column > tol`` by alternating best responses from many starts."""
    y0, yA, yB, Y = y[0], y[1:1 + nA], y[1 + nA:1 + nA + nB], y[1 + nA + nB:].reshape(nA, nB)
    Bs = np.vstack([seeds_B, np.where(rng.random((starts, nB)) < 0.5, -1.0, 1.0)])
    for _ in range(30):
        As = np.where(Bs @ Y.T + yA >= 0, 1.0, -1.0)
        Bn = np.where(As @ Y + yB >= 0, 1.0, -1.0)
        if np.array_equal(Bn, Bs):
            break
        Bs = Bn
    f = y0 + As @ yA + Bs @ yB + np.sum((As @ Y) * Bs, axis=1)
    keep = f > _PRICE_TOL
    return As[keep], Bs[keep], float(np.max(f)) if f.size else -np.inf


def _solve_lp(D: np.ndarray, P0: np.ndarray, P1: np.ndarray, v_max: float):
    from scipy.optimize import linprog

    N = D.shape[1]
    c = np.zeros(N + 1)
    c[-1] = -1.0
    res = linprog(c, A_eq=np.hstack([D, -P1[:, None]]), b_eq=P0,
                  bounds=[(0, None)] * N + [(0, v_max)], method="highs")
    if res.status != 0:
        raise RuntimeError(f"lhv_certificate: LP failed: {res.message}")
    return float(res.x[-1]), res.x[:-1], np.asarray(res.eqlin.marginals, dtype=float)


def _repair_lhv(D, w, v_s, P0, P1, return_model=False):
    """Exact local model at ``theta v_s`` from the (inexact) LP weights; (v, residual, error[, weights])."""
    N = D.shape[1]
    w = np.clip(w, 0.0, None)
    delta = (P0 + v_s * P1) - D @ w
    residual = float(np.max(np.abs(delta)))
    tau, *_ = np.linalg.lstsq(D, delta, rcond=None)
    m = float(np.max(np.clip(-(w + tau), 0.0, None))) + 1e-12
    theta = (1.0 / N) / (1.0 / N + m)
    # The uniform pool mixture is white noise (flip closure): the v = 0 point.
    f = theta * (w + tau) + (1.0 - theta) / N
    v_c = theta * v_s
    err = float(np.max(np.abs(D @ f - (P0 + v_c * P1))))
    if np.min(f) < 0.0 or err > 1e-9:
        v_c = 0.0
    return (v_c, residual, err, f) if return_model else (v_c, residual, err)


def lhv_certificate(eff: Any, n_directions: Any = (8, 8), *, max_iterations: int = 50,
                    pricing_starts: int = 200, initial_strategies: int = 400, seed: Any = 0,
                    max_visibility: float = 2.0) -> LHVCertificate:
    """Certify ``v rho + (1 - v) 1/4`` local for all projective measurements (two polyhedra).

    Parameters
    ----------
    eff : EffectiveState (K = 2, M = 1)
    n_directions : int or (int, int)
        Axes of Alice's and Bob's polyhedra (3..60 each).
    max_iterations : int
        Column-generation rounds.
    pricing_starts : int
        Random starts of the pricing local search per round.
    initial_strategies : int
        Hemisphere strategies ``a_x = sign(alpha_x . u), b_y = +-sign(beta_y . u)``
        in the starting pool (random ``u``).
    seed : int or numpy.random.Generator
    max_visibility : float

    Returns
    -------
    LHVCertificate
    """
    T = _two_qubit(eff, "lhv_certificate")
    nd = (n_directions, n_directions) if isinstance(n_directions, Integral) else tuple(n_directions)
    if len(nd) != 2 or any(isinstance(n, bool) or not isinstance(n, Integral) or not 3 <= n <= MAX_LHV_DIRECTIONS
                           for n in nd):
        raise ValueError(f"lhv_certificate: n_directions must be an int or a pair of ints in "
                         f"[3, {MAX_LHV_DIRECTIONS}], got {n_directions!r}")
    for name, val in (("max_iterations", max_iterations), ("pricing_starts", pricing_starts),
                      ("initial_strategies", initial_strategies)):
        if isinstance(val, bool) or not isinstance(val, Integral) or val < 1:
            raise ValueError(f"lhv_certificate: {name} must be an int >= 1, got {val!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    (alpha, eA), (beta, eB) = _axes(int(nd[0])), _axes(int(nd[1]))
    eA, eB = eA - 1e-12, eB - 1e-12
    nA, nB = alpha.shape[0], beta.shape[0]
    # chi(v): Alice's rows / eta_A, Bob's columns / eta_B; white noise at v = 0.
    P0 = np.zeros(1 + nA + nB + nA * nB)
    P0[0] = 1.0
    P1 = np.concatenate([[0.0], alpha @ T[1:, 0] / eA, beta @ T[0, 1:] / eB,
                         (alpha @ T[1:, 1:] @ beta.T).ravel() / (eA * eB)])
    U = rng.standard_normal((initial_strategies, 3))
    A0 = np.where(U @ alpha.T >= 0, 1.0, -1.0)
    B0 = np.where(U @ beta.T >= 0, 1.0, -1.0)
    SA, SB = _flip_closure(A0, B0)
    converged = False
    it = 0
    for it in range(1, max_iterations + 1):
        D = _columns(SA, SB)
        v_s, w, y = _solve_lp(D, P0, P1, float(max_visibility))
        # For min -v: a column improves iff y . column > 0.
        support = w > 1e-12
        newA, newB, best = _price(y, nA, nB, rng, pricing_starts, SB[support])
        if newA.shape[0] == 0:
            converged = True
            break
        SA, SB = _flip_closure(np.vstack([SA, newA]), np.vstack([SB, newB]))
    D = _columns(SA, SB)
    v_s, w, _ = _solve_lp(D, P0, P1, float(max_visibility))
    v_c, residual, err = _repair_lhv(D, w, v_s, P0, P1)
    return LHVCertificate(
        certified_visibility=float(v_c), local=bool(v_c >= 1.0), n_directions=[nA, nB],
        shrinking_factors=[float(eA), float(eB)], solver_visibility=float(v_s),
        n_strategies=int(D.shape[1]), iterations=it, converged=converged, residual=residual, model_error=err)


def werner_lhv_certificate(eff: Any, shells: int = 0, **options: Any) -> LHVCertificate:
    """Two-sided LHV certificate for states with ``T[1:, 1:] = c O`` (O orthogonal) and no Bloch vectors.

    These are the Werner states up to local rotations (e.g. SU(2)-invariant
    effective states).  Alice's axes ``alpha_x`` are a union of icosahedral
    orbits (31 axes, inradius 0.947, plus ``shells`` generic orbits of 60 axes:
    91 axes, inradius 0.982), Bob's are ``O^T alpha_x``; the correlations
    ``c alpha_x . alpha_y`` are invariant under the icosahedral group, so the
    local-polytope LP is reduced to one constraint per orbit of pairs and
    solved over group-averaged strategies by column generation (Designolle
    et al., PRR 5, 043059 (2023)).  The certified model is a mixture of
    group-averaged deterministic strategies with a shared fair coin flipping
    both outputs (zero marginals); it is repaired and re-checked exactly as
    :func:`lhv_certificate`'s.

    Parameters
    ----------
    eff : EffectiveState (K = 2, M = 1)
        Must have zero Bloch vectors and equal singular values of
        ``T[1:, 1:]`` (within ``tol``).
    shells : int
        Generic orbits added to the 31 base axes (0 or 1).
    **options
        ``max_iterations`` (200), ``pricing_starts`` (300),
        ``initial_strategies`` (2000), ``seed`` (0), ``max_visibility`` (2.0),
        ``tol`` (1e-9), ``time_limit`` (seconds after which column generation
        stops; the certificate is valid at any point, only weaker),
        ``max_new`` (most strategies added per round, 64) and ``prune_above``
        (pool size above which only the LP support and its flip partners are
        kept, default 6000; ``None``: never prune).

    Returns
    -------
    LHVCertificate
        For the singlet (``c = -1``) ``certified_visibility`` is a certified
        Werner visibility (31 axes, converged: 0.6318).
    """
    return _werner_lhv(eff, shells, **options)[0]


def _werner_lhv(eff: Any, shells: int = 0, *, max_iterations: int = 200, pricing_starts: int = 300,
                           initial_strategies: int = 2000, seed: Any = 0, max_visibility: float = 2.0,
                           tol: float = 1e-9, time_limit: float = math.inf, max_new: int = 64,
                prune_above: int | None = 6000) -> tuple[LHVCertificate, dict]:
    """Worker of :func:`werner_lhv_certificate`; also returns the model (strategies, weights, axes)."""
    T = _two_qubit(eff, "werner_lhv_certificate")
    if isinstance(shells, bool) or not isinstance(shells, Integral) or not 0 <= shells <= len(ico._SHELL_POINTS):
        raise ValueError(f"werner_lhv_certificate: shells must be an int in [0, {len(ico._SHELL_POINTS)}], "
                         f"got {shells!r}")
    if max(np.linalg.norm(T[1:, 0]), np.linalg.norm(T[0, 1:])) > tol:
        raise ValueError("werner_lhv_certificate: needs zero Bloch vectors (T[1:, 0] = T[0, 1:] = 0)")
    U, sv, Vt = np.linalg.svd(T[1:, 1:])
    if sv[0] - sv[2] > tol:
        raise ValueError("werner_lhv_certificate: T[1:, 1:] must be c * orthogonal (equal singular values), "
                         f"got singular values {sv.tolist()}")
    if sv[0] <= tol:
        raise ValueError("werner_lhv_certificate: T[1:, 1:] = 0 (product state); nothing to certify")
    O = U @ Vt
    c = float(np.trace(O.T @ T[1:, 1:]) / 3.0)      # T = c O
    if c > 0:
        # Canonical sign (c < 0, singlet-like): locally rotated states give the same LP.
        c, O = -c, -O
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    alpha = np.asarray(ico.icosahedral_axes(int(shells)))
    eta = _inradius(alpha) - 1e-12
    n = alpha.shape[0]
    px, py, sg = ico.pair_orbits(alpha)
    # Target on the pair representatives (the identity is the first group element).
    t = c * np.einsum("ri,ri->r", alpha[px[0]], alpha[py[0]]) / eta**2
    P0 = np.zeros(1 + t.size)
    P0[0] = 1.0
    P1 = np.concatenate([[0.0], t])
    Uh = rng.standard_normal((initial_strategies, 3))
    A0 = np.where(Uh @ alpha.T >= 0, 1.0, -1.0)
    SA, SB = _flip_closure(A0, np.sign(c) * A0)
    D = ico.averaged_columns(SA, SB, px, py, sg)
    converged, it = False, 0
    start = time.perf_counter()
    for it in range(1, max_iterations + 1):
        v_s, w, y = _solve_lp(D, P0, P1, float(max_visibility))
        M = ico.pricing_matrix(y, px, py, sg, n)
        yfull = np.concatenate([[y[0]], np.zeros(2 * n), M.ravel()])
        newA, newB, _ = _price(yfull, n, n, rng, pricing_starts, SB[w > 1e-12])
        if newA.shape[0] == 0:
            converged = True
            break
        if newA.shape[0] > max_new:
            # Keep the distinct strategies with the largest reduced cost.
            f = np.sum((newA @ M) * newB, axis=1)
            _, idx = np.unique(np.hstack([newA, newB]), axis=0, return_index=True)
            idx = idx[np.argsort(-f[idx])][:max_new]
            newA, newB = newA[idx], newB[idx]
        if time.perf_counter() - start > time_limit:
            break
        if prune_above is not None and D.shape[1] > prune_above:
            # Keep the LP support (with its flip partners): smaller LPs, same certificate logic.
            SA, SB = _flip_closure(SA[w > 1e-12], SB[w > 1e-12])
            D = ico.averaged_columns(SA, SB, px, py, sg)
        NA, NB = _flip_closure(newA, newB)
        SA, SB = np.vstack([SA, NA]), np.vstack([SB, NB])
        D = np.hstack([D, ico.averaged_columns(NA, NB, px, py, sg)])
    v_s, w, _ = _solve_lp(D, P0, P1, float(max_visibility))
    v_c, residual, err, f = _repair_lhv(D, w, v_s, P0, P1, return_model=True)
    cert = LHVCertificate(
        certified_visibility=float(v_c), local=bool(v_c >= 1.0), n_directions=[n, n],
        shrinking_factors=[float(eta), float(eta)], solver_visibility=float(v_s),
        n_strategies=int(D.shape[1]), iterations=it, converged=converged, residual=residual, model_error=err)
    return cert, {"A": SA, "B": SB, "weights": f, "alpha": alpha, "beta": alpha @ O, "eta": eta}


def _search_visibility(eff: EffectiveState, settings: int, restarts: int, seed: Any) -> float:
    """``bell.search`` visibility, or ``nan`` where the search is unavailable."""
    try:
        from .search import search
        res = search(eff, settings=settings, restarts=restarts, seed=seed)
        return float(res.visibility)
    except (NotImplementedError, ImportError, AttributeError):
        return math.nan


def _werner_type(T: np.ndarray, tol: float = 1e-9) -> bool:
    sv = np.linalg.svd(T[1:, 1:], compute_uv=False)
    return bool(max(np.linalg.norm(T[1:, 0]), np.linalg.norm(T[0, 1:])) <= tol and sv[0] - sv[2] <= tol
                and sv[0] > tol)


def bracket(eff: Any, *, lhs_directions: int = 8, lhv_directions: Any = (8, 8), settings: int = 3,
            restarts: int = 20, seed: Any = 0, use_search: bool = True,
            werner_options: dict | None = None) -> VisibilityBracket:
    """Bracket ``[v_local, v_nonlocal]`` of the critical white-noise visibility (projective measurements).

    Parameters
    ----------
    eff : EffectiveState (K = 2, M = 1)
    lhs_directions : int
        Axes of the LHS certificate's polyhedron (:func:`.lhs.lhs_certificate`).
    lhv_directions : int, (int, int) or None
        Axes of the two-sided LHV certificate (:func:`lhv_certificate`); ``None`` skips it.
    settings, restarts, seed :
        Passed to ``bell.search`` for the upper end.
    use_search : bool
        Use ``bell.search`` (besides closed-form CHSH) for the upper end.
    werner_options : dict, optional
        For Werner-type states (no Bloch vectors, ``T[1:, 1:] = c O``), also run
        :func:`werner_lhv_certificate` with these options (e.g.
        ``{"shells": 0}``: 31 icosahedral axes, ~10 s, Werner 0.6318);
        ``None`` skips it.

    Returns
    -------
    VisibilityBracket
        ``v_local`` = max of the certified visibilities (``rho(v)`` local for
        ``v <= v_local``); ``v_nonlocal`` = min of ``2 / chsh_max(T)``
        (Horodecki) and the search's LP visibility (a Bell inequality is
        violated for ``v > v_nonlocal``).  Always ``v_local <= v_nonlocal``
        up to rounding unless a certificate is wrong.
    """
    T = _two_qubit(eff, "bracket")
    if isinstance(lhs_directions, bool) or not isinstance(lhs_directions, Integral):
        raise ValueError(f"bracket: lhs_directions must be an int, got {lhs_directions!r}")
    lhs_v = lhs_certificate(eff, lhs_directions, noise="white").certified_visibility
    lhv_v = math.nan
    if lhv_directions is not None:
        lhv_v = lhv_certificate(eff, lhv_directions, seed=seed).certified_visibility
    if werner_options is not None and _werner_type(T):
        wv = werner_lhv_certificate(eff, **werner_options).certified_visibility
        lhv_v = wv if not lhv_v == lhv_v else max(lhv_v, wv)
    chsh = chsh_max(T)
    chsh_v = 2.0 / chsh if chsh > 0 else math.inf
    search_v = _search_visibility(eff, settings, restarts, seed) if use_search else math.nan
    v_local, local_method = (lhv_v, "lhv") if (lhv_v == lhv_v and lhv_v > lhs_v) else (lhs_v, "lhs")
    v_nonlocal, nonlocal_method = (search_v, "search") if search_v == search_v and search_v < chsh_v \
        else (chsh_v, "chsh")
    return VisibilityBracket(v_local=float(v_local), v_nonlocal=float(v_nonlocal), local_method=local_method,
                             nonlocal_method=nonlocal_method, lhs_visibility=float(lhs_v),
                             lhv_visibility=float(lhv_v), search_visibility=float(search_v),
                             chsh_visibility=float(chsh_v))
