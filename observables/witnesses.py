"""Bell-correlation witnesses between individual spins, from the whole-lattice moments.

The seed tests regions as parties; the many-body literature since then tests
*every spin* as a party with permutation-invariant Bell inequalities built
from one- and two-body symmetric correlators only, i.e. from the first and
second moments of the total spin (:class:`CollectiveMoments`, Pauli
convention, S = ½ Σ σ). This module offers the two standard ones for every
backend (dense, MPS incl. purified thermal MPS, PEPS):

* :func:`tura` — Tura, Augusiak, Sainz, Vértesi, Lewenstein, Acín, Science
  344, 1256 (2014): with two measurements ``M_k = n_k·σ`` per spin,
  ``S_k = Σ_i <M_k^(i)>`` and ``S_kl = Σ_{i≠j} <M_k^(i) M_l^(j)>``, every
  local-hidden-variable (LHV) model obeys

      2 S_0 + ½ S_00 − S_01 + ½ S_11 + 2n ≥ 0,

  minimised here over the two unit vectors (a negative value: Bell-correlated).
* :func:`schmied` — Schmied et al., Science 352, 441 (2016): with the contrast
  ``C_z = 2<S_z>/n`` and the scaled second moment ``ζ_x² = 4<S_x²>/n``, LHV
  requires ``ζ_x² ≥ ½(1 − √(1 − C_z²))``.

Both values are attained at the reported directions, so a violation is a
certificate (up to the accuracy of the moments); a missed violation can only
come from the direction search, which is why :func:`tura` combines many
starts, planar scans and a local polish.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from macrobell.tn import State

from ._moments import CollectiveMoments, collective_moments

__all__ = ["CollectiveMoments", "collective_moments", "TuraResult", "SchmiedResult", "tura", "schmied",
           "microscopic", "tura_value", "schmied_bound"]

#: Violation threshold per spin: a witness value counts as violated below ``-VIOLATION_ATOL * n``
#: (float rounding of moments that are sums of O(n²) terms; truncation errors of MPS/PEPS moments
#: are the caller's to judge).
VIOLATION_ATOL = 1e-9


def _moments(obj, where) -> CollectiveMoments:
    if isinstance(obj, CollectiveMoments):
        m = obj
    elif isinstance(obj, State):
        if obj.n_sites < 2:
            raise ValueError(f"{where}: a Bell-correlation witness needs at least 2 sites (spins as parties), "
                             f"the state has n_sites={obj.n_sites}")
        m = collective_moments(obj)
    else:
        raise ValueError(f"{where}: expected a macrobell state (from macrobell.tn) or CollectiveMoments, "
                         f"got {type(obj).__name__}")
    if m.n < 2:
        raise ValueError(f"{where}: a Bell-correlation witness needs at least 2 sites (spins as parties), got n={m.n}")
    return m


def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


# ----------------------------------------------------------------------------------------- Tura


@dataclass(frozen=True)
class TuraResult:
    """Minimum over directions of the Tura et al. (2014) Bell expression (< 0: Bell-correlated spins).

    Attributes
    ----------
    value : float
        ``2S_0 + ½S_00 − S_01 + ½S_11 + 2n`` at ``n0, n1`` (the smallest found).
    n0, n1 : tuple of float
        Unit measurement directions of ``M_0 = n0·σ`` and ``M_1 = n1·σ``.
    S0, S1, S00, S01, S11 : float
        The symmetric correlators at these directions.
    n : int
    violated : bool
        ``value < -VIOLATION_ATOL * n``.
    """

    value: float
    n0: tuple
    n1: tuple
    S0: float
    S1: float
    S00: float
    S01: float
    S11: float
    n: int
    violated: bool

    def to_dict(self) -> dict:
        return {"value": self.value, "n0": list(self.n0), "n1": list(self.n1), "S0": self.S0, "S1": self.S1,
                "S00": self.S00, "S01": self.S01, "S11": self.S11, "n": self.n, "violated": self.violated}


def tura_value(moments: CollectiveMoments, n0, n1) -> float:
    """``2S_0 + ½S_00 − S_01 + ½S_11 + 2n`` for given unit directions (Tura et al. 2014)."""
    a, b = _unit(n0), _unit(n1)
    f, G = moments.first, moments.second
    return float(2 * a @ f + 0.5 * a @ G @ a - a @ G @ b + 0.5 * b @ G @ b + 2 * moments.n)


def _tura_batch(f, G, n, N0, N1):
    """Tura expression for stacks of directions ``N0, N1`` of shape (..., 3)."""
    GN0 = N0 @ G
    return (2 * N0 @ f + 0.5 * np.sum(GN0 * N0, -1) - np.sum(GN0 * N1, -1)
            + 0.5 * np.sum((N1 @ G) * N1, -1) + 2 * n)


def _tura_objective(x, f, G, n):
    u0, u1 = x[:3], x[3:]
    r0, r1 = np.linalg.norm(u0), np.linalg.norm(u1)
    a, b = u0 / r0, u1 / r1
    Ga, Gb = G @ a, G @ b
    val = 2 * a @ f + 0.5 * a @ Ga - a @ Gb + 0.5 * b @ Gb + 2 * n
    ga = 2 * f + Ga - Gb
    gb = Gb - Ga
    # gradient of v(u/|u|): the tangential part of the direction gradient, over |u|
    da = (ga - a * (a @ ga)) / r0
    db = (gb - b * (b @ gb)) / r1
    return val, np.concatenate([da, db])


def _planes(f, G):
    """Orthonormal pairs spanning the candidate planes of the scan: G's eigenplanes and f with each eigenvector."""
    _, V = np.linalg.eigh(G)
    planes = [(V[:, i], V[:, j]) for i, j in ((1, 2), (0, 2), (0, 1))]  # (1, 2): the two largest
    if np.linalg.norm(f) > 0:
        fh = _unit(f)
        for k in range(3):
            w = V[:, k] - fh * (fh @ V[:, k])
            if np.linalg.norm(w) > 1e-8:
                planes.append((fh, _unit(w)))
    return planes


def tura(state, starts: int = 4096, polish: int = 12, grid: int = 72, seed: int = 0) -> TuraResult:
    """The Tura et al., Science 344, 1256 (2014) two-setting permutation-invariant Bell expression.

    ``min_{n0, n1} 2S_0 + ½S_00 − S_01 + ½S_11 + 2n`` with ``M_k = n_k·σ``,
    ``S_k = Σ_i <M_k^(i)> = n_k·first`` and ``S_kl = Σ_{i≠j} <M_k^(i) M_l^(j)>
    = n_kᵀ second n_l`` (Pauli convention; equivalently ``S_k = 2 n_k·<S>``,
    ``S_kk = 4<(n_k·S)²> − n``, ``S_01 = 2<{n_0·S, n_1·S}> − n n_0·n_1``).
    Every LHV model gives ``≥ 0``; a negative value means Bell correlations
    between the individual spins.

    The minimisation over the two unit vectors (4 angles) is non-convex; it
    combines (i) a planar scan, ``grid × grid`` angle pairs with both vectors
    in each of G's three eigenplanes (first the two dominant eigen-directions)
    and in the planes of the mean spin and each eigenvector, (ii) ``starts``
    random pairs of directions (``np.random.default_rng(seed)``), all
    evaluated in closed form, and (iii) a BFGS polish (scipy.optimize,
    analytic gradient) of the ``polish`` best distinct candidates. The value
    is attained at the returned directions, so ``violated`` is never a false
    alarm.

    Parameters
    ----------
    state : State or CollectiveMoments
        Any backend (dense, MPS incl. purified, PEPS) with at least 2 sites.
    starts, polish, grid : int
        Random direction pairs (>= 0), candidates polished (>= 1) and scan
        points per angle (>= 8).
    seed : int
    """
    where = "witnesses.tura"
    for name, val, low in (("starts", starts, 0), ("polish", polish, 1), ("grid", grid, 8)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < low:
            raise ValueError(f"{where}: {name} must be an integer >= {low}, got {val!r}")
    m = _moments(state, where)
    f, G, n = m.first, m.second, m.n
    th = np.linspace(0, 2 * np.pi, grid, endpoint=False)
    N0, N1 = [], []
    for e1, e2 in _planes(f, G):
        D = np.cos(th)[:, None] * e1 + np.sin(th)[:, None] * e2  # (grid, 3)
        N0.append(np.repeat(D, grid, axis=0))
        N1.append(np.tile(D, (grid, 1)))
    R = np.random.default_rng(seed).normal(size=(starts, 2, 3))
    R /= np.linalg.norm(R, axis=-1, keepdims=True)
    N0, N1 = np.concatenate(N0 + [R[:, 0]]), np.concatenate(N1 + [R[:, 1]])
    vals = _tura_batch(f, G, n, N0, N1)
    chosen = []
    for k in np.argsort(vals):
        x = np.concatenate([N0[k], N1[k]])
        # distinct basins only: skip candidates within 0.1 rad-ish of one already chosen
        if all(np.linalg.norm(x - y) > 0.15 for y in chosen):
            chosen.append(x)
        if len(chosen) == polish:
            break
    best = None
    for x0 in chosen:
        res = minimize(_tura_objective, x0, args=(f, G, n), jac=True, method="BFGS",
                       options={"gtol": 1e-11, "maxiter": 400})
        x = res.x if np.all(np.isfinite(res.x)) else x0
        for a, b in ((_unit(x[:3]), _unit(x[3:])), (x0[:3], x0[3:])):
            v = tura_value(m, a, b)
            if best is None or v < best[0]:
                best = (v, a, b)
    return _tura_result(m, *best[1:])


def _tura_result(m, a, b) -> TuraResult:
    f, G = m.first, m.second
    S0, S1 = float(a @ f), float(b @ f)
    S00, S01, S11 = float(a @ G @ a), float(a @ G @ b), float(b @ G @ b)
    value = 2 * S0 + 0.5 * S00 - S01 + 0.5 * S11 + 2 * m.n
    return TuraResult(value=float(value), n0=tuple(float(x) for x in a), n1=tuple(float(x) for x in b),
                      S0=S0, S1=S1, S00=S00, S01=S01, S11=S11, n=m.n,
                      violated=bool(value < -VIOLATION_ATOL * m.n))


# -------------------------------------------------------------------------------------- Schmied


@dataclass(frozen=True)
class SchmiedResult:
    """The Schmied et al. (2016) witness ``ζ_x² − ½(1 − √(1 − C_z²))`` (< 0: Bell-correlated spins).

    Attributes
    ----------
    value : float
        ``zeta2 - bound``.
    bound : float
        ``½(1 − √(1 − C_z²))``, the LHV lower bound on ``ζ_x²``.
    contrast : float
        ``C_z = 2<S_z>/n`` (≥ 0: z is oriented along the mean spin).
    zeta2 : float
        ``ζ_x² = 4<S_x²>/n``.
    z, x : tuple of float
        The orthonormal directions used.
    directions : str
        ``"mean_spin"`` or ``"optimal"`` (see :func:`schmied`).
    n : int
    violated : bool
        ``value < -VIOLATION_ATOL``.
    """

    value: float
    bound: float
    contrast: float
    zeta2: float
    z: tuple
    x: tuple
    directions: str
    n: int
    violated: bool

    def to_dict(self) -> dict:
        return {"value": self.value, "bound": self.bound, "contrast": self.contrast, "zeta2": self.zeta2,
                "z": list(self.z), "x": list(self.x), "directions": self.directions, "n": self.n,
                "violated": self.violated}


def schmied_bound(contrast) -> float:
    """``½(1 − √(1 − C²))`` of Schmied et al., Science 352, 441 (2016); ``|C| <= 1``."""
    c2 = min(float(contrast) ** 2, 1.0)
    return 0.5 * (1.0 - math.sqrt(1.0 - c2))


def _smallest_orthogonal(G, z):
    """The unit x ⟂ z minimising xᵀ G x, and that minimum (G restricted to the plane ⟂ z)."""
    B = np.linalg.svd(z[None, :])[2][1:]  # (2, 3): orthonormal basis of the plane ⟂ z
    w, U = np.linalg.eigh(B @ G @ B.T)
    x = U[:, 0] @ B
    return x, float(w[0])


def _sphere(theta, phi):
    return np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


def _schmied_at(m, z):
    z = _unit(z)
    C = float(z @ m.first) / m.n
    if C < 0:
        z, C = -z, -C
    x, q = _smallest_orthogonal(m.second, z)
    zeta2 = (q + m.n) / m.n  # 4<S_x²>/n = (Σ_{i≠j}<σ_x σ_x> + n)/n
    return zeta2 - schmied_bound(C), z, x, C, zeta2


def schmied(state, directions: str = "mean_spin", starts: int = 200) -> SchmiedResult:
    """The Schmied et al., Science 352, 441 (2016) Bell-correlation witness.

    With ``C_z = 2<S_z>/n`` and ``ζ_x² = 4<S_x²>/n`` (S = ½ Σ σ), every LHV
    model obeys ``ζ_x² ≥ ½(1 − √(1 − C_z²))`` (ζ_x² is the second moment, not
    the variance; they coincide for x ⟂ the mean spin). It follows from the
    Tura et al. (2014) inequality (re-derived here): with the settings
    ``n_{0,1} = −cos θ z ± sin θ x`` the Tura expression divided by 2n is
    ``(1 − c²)(ζ_x² − (C_z c − c²)/(1 − c²)) ± sin θ <σ_x>_tot / n`` with
    ``c = cos θ``; the maximum over c of the fraction is the bound, reached at
    ``c* = C_z / (1 + √(1 − C_z²))``. The term odd in θ cancels in the mean of
    the ±θ inequalities, so the LHV bound holds for *every* orthonormal pair
    (x, z), and ``tura(state).value <= 2n(1 − c*²) · schmied(state).value``
    (Schmied is a relaxation of Tura). Both direction choices here are
    therefore valid:

    * ``"mean_spin"`` (the experiment's protocol): z along the mean spin, x the
      direction ⟂ z with the smallest second moment (the squeezed axis; exact,
      the smallest eigenvalue of the second moments in the plane ⟂ z).
    * ``"optimal"``: z over the whole sphere (Fibonacci grid of ``starts``
      points plus the mean-spin direction, Nelder–Mead polish), x as above.

    Returns the value ``ζ_x² − bound`` (negative: Bell-correlated), the bound
    and the directions. For a state with no mean spin, z is the direction of
    largest second moment (C_z = 0, bound 0, never violated).
    """
    where = "witnesses.schmied"
    if directions not in ("mean_spin", "optimal"):
        raise ValueError(f"{where}: directions must be 'mean_spin' or 'optimal', got {directions!r}")
    if isinstance(starts, bool) or not isinstance(starts, (int, np.integer)) or starts < 1:
        raise ValueError(f"{where}: starts must be an integer >= 1, got {starts!r}")
    m = _moments(state, where)
    f = m.first
    if np.linalg.norm(f) > 1e-12 * m.n:
        z0 = _unit(f)
    else:
        z0 = np.linalg.eigh(m.second)[1][:, -1]
    best = _schmied_at(m, z0)
    if directions == "optimal":
        k = np.arange(starts) + 0.5
        polar, azim = np.arccos(1 - 2 * k / starts), np.pi * (1 + 5 ** 0.5) * k
        grid = np.stack([np.sin(polar) * np.cos(azim), np.sin(polar) * np.sin(azim), np.cos(polar)], 1)
        vals = [_schmied_at(m, z)[0] for z in grid]
        for z in [z0] + [grid[i] for i in np.argsort(vals)[:4]]:
            # polish in spherical angles: no radial flat direction for Nelder-Mead to wander along
            ang0 = [np.arccos(np.clip(z[2], -1, 1)), np.arctan2(z[1], z[0])]
            res = minimize(lambda ang: _schmied_at(m, _sphere(*ang))[0], ang0, method="Nelder-Mead",
                           options={"xatol": 1e-12, "fatol": 1e-15, "maxiter": 4000})
            cand = _schmied_at(m, _sphere(*res.x))
            if cand[0] < best[0]:
                best = cand
    value, z, x, C, zeta2 = best
    return SchmiedResult(value=float(value), bound=schmied_bound(C), contrast=float(C), zeta2=float(zeta2),
                         z=tuple(float(v) for v in z), x=tuple(float(v) for v in x), directions=directions,
                         n=m.n, violated=bool(value < -VIOLATION_ATOL))


# ------------------------------------------------------------------------------------ the block


def microscopic(state, seed: int = 0) -> dict:
    """The flat block of the microscopic witnesses for criteria tables and sweeps (scalars only).

    Keys: ``n_sites``; ``tura_value``, ``tura_violated``, ``tura_cos_settings``
    (``n0·n1`` of the optimal directions); ``schmied_value``,
    ``schmied_bound``, ``schmied_contrast``, ``schmied_zeta2``,
    ``schmied_violated`` (mean-spin directions, the paper's protocol);
    ``schmied_optimal_value``, ``schmied_optimal_violated`` (z over the
    sphere). The moments are computed once. Directions: call :func:`tura` /
    :func:`schmied` on the same state (or on its :class:`CollectiveMoments`).
    """
    m = _moments(state, "witnesses.microscopic")
    t = tura(m, seed=seed)
    s = schmied(m)
    so = schmied(m, directions="optimal")
    return {"n_sites": m.n, "tura_value": t.value, "tura_violated": t.violated,
            "tura_cos_settings": float(np.dot(t.n0, t.n1)),
            "schmied_value": s.value, "schmied_bound": s.bound, "schmied_contrast": s.contrast,
            "schmied_zeta2": s.zeta2, "schmied_violated": s.violated,
            "schmied_optimal_value": so.value, "schmied_optimal_violated": so.violated}
