"""Searching for Bell violations: a seesaw between the local-polytope LP and the settings.

For fixed settings the LP of :mod:`.lp` gives the visibility ``eta*`` and
the Bell inequality ``beta . C <= L`` that separates the noisy behaviour
from the local polytope.  For a fixed inequality the quantum value
``beta . C(settings) = sum_i beta[i] Tr(rho (x)_X A^X_{i_X})`` is linear in
each Bloch vector ``n_{X,x}`` separately (one setting per party appears in
every term), so the best direction of each setting, the others fixed, is
the normalised gradient.  Since ``beta`` is valid for every settings choice
and vanishes on white noise, ``eta*(new settings) <= L / Q_new <= L / Q_old``:
every round can only lower the visibility.  The LP-plus-settings
alternation follows Designolle et al., PRR 5, 043059 (2023); the
fixed-inequality settings seesaw is that of Liang & Doherty, PRA 75,
042103 (2007).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .behaviour import _check_eff, correlators_from_T, extended_vectors
from .lp import (MAX_SETTINGS_TOTAL, VIOLATION_TOL, BellInequality, inequality_from_dual,
                 visibility_from_correlators)

__all__ = ["BellSearch", "search", "CHSH_COEFFICIENTS", "I3322_COEFFICIENTS", "maximise_settings", "inequality_value", "random_settings",
           "principal_settings", "settings_counts", "counts_for"]

#: CHSH ``<A1B1> + <A1B2> + <A2B1> - <A2B2> <= 2`` in extended-correlator form
#: (index 0 = not measured; :mod:`.behaviour`).
CHSH_COEFFICIENTS = np.array([[0, 0, 0], [0, 1, 1], [0, 1, -1]], dtype=float)
#: I3322 in the correlator form of Collins & Gisin, J. Phys. A 37, 1775 (2004):
#: <A1>+<A2>-<B1>-<B2>+<(A1+A2)(B1+B2)>+<A1B3>+<A3B1>-<A2B3>-<A3B2> <= 4.
#: With CHSH it is the only facet class of the two-party three-setting local
#: polytope (Collins & Gisin 2004), hence a structured start of :func:`search`.
I3322_COEFFICIENTS = np.array([[0, -1, -1, 0],
                               [1, 1, 1, 1],
                               [1, 1, 1, -1],
                               [0, 1, -1, 0]], dtype=float)

_SWEEP_TOL = 1e-13
_MAX_SWEEPS = 500
_MAX_ROUNDS = 60


def random_settings(S: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """Uniformly random unit vectors, ``S[X]`` of them for party ``X``."""
    out = []
    for s in S:
        v = rng.standard_normal((int(s), 3))
        out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    return out


def principal_settings(T: np.ndarray, S: Sequence[int], rng: np.random.Generator,
                       angle: float = np.pi / 4) -> list[np.ndarray]:
    """A structured start from the principal axes of the correlations.

    Party 0 measures along its principal axes ``u_1, u_2, u_3`` (left
    singular vectors of the full-correlation block unfolded on it); every
    other party along ``cos(angle) v_1 +- sin(angle) v_2, v_3`` (CHSH-like
    arrangement; ``angle = pi/4`` is the symmetric one), where for K = 2
    ``v_k`` are the paired right singular vectors and for K > 2 the party's
    own principal axes.  Settings beyond three are random.  None of these
    is the optimum in general; the seesaw takes it from there.
    """
    K = len(S)
    C = np.asarray(T, dtype=float)[(slice(1, None),) * K]
    if K == 2:
        U, _, Vh = np.linalg.svd(C)
        axes = [U.T, Vh]
    else:
        axes = [np.linalg.svd(np.moveaxis(C, X, 0).reshape(3, -1), full_matrices=False)[0].T
                for X in range(K)]
    c, s_ = np.cos(angle), np.sin(angle)
    out = []
    for X, s in enumerate(S):
        A = axes[X]
        if X > 0:
            A = np.array([c * A[0] + s_ * A[1], c * A[0] - s_ * A[1], A[2]])
        n = random_settings([s], rng)[0]
        m = min(s, 3)
        n[:m] = A[:m]
        out.append(n)
    return out


def _inequality_start(T: np.ndarray, S: Sequence[int], rng: np.random.Generator,
                      signs: bool) -> list[np.ndarray]:
    """Settings tuned to a random full-correlation inequality (random +-1 or
    Gaussian coefficients).  Such a start is already strongly correlated, so
    the LP dual there is rarely a trivial (positivity) facet, whose seesaw
    would stall at visibility 1."""
    shape = tuple(int(s) for s in S)
    coef = rng.choice([-1.0, 1.0], size=shape) if signs else rng.standard_normal(shape)
    beta = np.zeros(tuple(s + 1 for s in shape))
    beta[(slice(1, None),) * len(S)] = coef
    return maximise_settings(T, beta, random_settings(S, rng), max_sweeps=100)[0]


def _facet_start(T: np.ndarray, S: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
    """K = 2: settings tuned to a random relabelling of I3322 (S_X >= 3) or
    CHSH, embedded on random settings (permuted settings, flipped outcomes,
    swapped parties)."""
    base = I3322_COEFFICIENTS if min(S) >= 3 else CHSH_COEFFICIENTS
    m = base.shape[0] - 1
    beta = base.copy()
    if rng.random() < 0.5:
        beta = beta.T.copy()
    for axis in range(2):
        flip = np.concatenate([[1.0], rng.choice([-1.0, 1.0], size=m)])
        beta = beta * (flip[:, None] if axis == 0 else flip[None, :])
    full = np.zeros((S[0] + 1, S[1] + 1))
    rows = np.concatenate([[0], 1 + rng.choice(S[0], size=m, replace=False)])
    cols = np.concatenate([[0], 1 + rng.choice(S[1], size=m, replace=False)])
    full[np.ix_(rows, cols)] = beta
    return maximise_settings(T, full, random_settings(S, rng), max_sweeps=200)[0]


def inequality_value(T: np.ndarray, beta: np.ndarray, settings: Sequence[np.ndarray]) -> float:
    """``sum_i beta[i] C[i]`` for the extended correlators of ``settings`` on ``T``."""
    return float(np.sum(np.asarray(beta) * correlators_from_T(T, settings)))


def _party_matrix(T: np.ndarray, beta: np.ndarray, W: Sequence[np.ndarray], X: int) -> np.ndarray:
    """``M[i_X, a_X]`` with ``value = sum M * W[X]`` (everything but party X contracted)."""
    K = len(W)
    Y = np.moveaxis(np.asarray(T, dtype=float), X, 0)
    B = np.moveaxis(np.asarray(beta, dtype=float), X, 0)
    others = [Z for Z in range(K) if Z != X]
    for Z in others:
        # Axis 1 is always the next other party's Pauli index; its setting axis goes last.
        Y = np.tensordot(Y, W[Z], axes=([1], [1]))
    # Y axes: (a_X, i_others in order); B axes: (i_X, i_others in order).
    return np.tensordot(B, Y, axes=(list(range(1, K)), list(range(1, K))))


def maximise_settings(T: np.ndarray, beta: np.ndarray, settings: Sequence[np.ndarray],
                      max_sweeps: int = _MAX_SWEEPS, tol: float = _SWEEP_TOL) -> tuple[list[np.ndarray], float]:
    """Maximise ``beta . C(settings)`` by exact single-party updates until it stalls.

    Each party's settings are replaced by their normalised gradients (the
    value is linear in every Bloch vector of one party, the other parties
    fixed), which never lowers the value.  Returns the settings and value.
    """
    settings = [np.array(n, dtype=float) for n in settings]
    T = np.asarray(T, dtype=float)
    beta = np.asarray(beta, dtype=float)
    W = [extended_vectors(n) for n in settings]
    K = len(settings)
    value = -np.inf
    for _ in range(max_sweeps):
        old = value
        for X in range(K):
            if K == 2:
                # value = sum(beta * (W_0 T W_1^T)); plain matrix products.
                M = beta @ W[1] @ T.T if X == 0 else beta.T @ W[0] @ T
            else:
                M = _party_matrix(T, beta, W, X)
            g = M[1:, 1:]
            norm = np.linalg.norm(g, axis=1)
            ok = norm > 1e-300
            settings[X][ok] = g[ok] / norm[ok, None]
            W[X][1:, 1:] = settings[X]
        # M was computed before the last party's update; the value is linear in it.
        value = float(np.sum(M * W[K - 1]))
        if value - old <= tol * max(1.0, abs(value)):
            break
    return settings, value


def settings_counts(eff: Any, settings: Any, where: str) -> list[int]:
    """Validate ``settings`` as an int (every party) or one int per party of ``eff``."""
    return counts_for(len(eff.sizes), settings, where)


def counts_for(K: int, settings: Any, where: str) -> list[int]:
    """Validate ``settings`` as an int (every one of ``K`` parties) or one int per party."""
    if isinstance(settings, (bool, np.bool_)):
        raise ValueError(f"{where}: settings must be an int >= 1 or a list of K={K} ints, got {settings!r}")
    if isinstance(settings, (int, np.integer)):
        S = [int(settings)] * K
    else:
        try:
            S = [int(s) for s in settings]
        except (TypeError, ValueError):
            raise ValueError(f"{where}: settings must be an int >= 1 or a list of K={K} ints, "
                             f"got {settings!r}") from None
        if any(int(s) != s or isinstance(s, bool) for s in settings):
            raise ValueError(f"{where}: settings counts must be integers, got {settings!r}")
    if len(S) != K:
        raise ValueError(f"{where}: {len(S)} settings counts for K={K} parties")
    if min(S) < 1:
        raise ValueError(f"{where}: settings: every party needs >= 1 setting, got {S}")
    if sum(S) > MAX_SETTINGS_TOTAL:
        raise ValueError(f"{where}: {sum(S)} settings in total give 2^{sum(S)} deterministic strategies; "
                         f"at most sum_X S_X = {MAX_SETTINGS_TOTAL} is supported")
    return S


def _check_count(value: Any, name: str, where: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True, eq=False)
class BellSearch:
    """Result of :func:`search`.

    Attributes
    ----------
    visibility : float
        Smallest white-noise visibility found (``< 1``: violation).
    violated : bool
        ``visibility < 1 - VIOLATION_TOL`` and ``value`` exceeds the exact
        (brute-force) ``local_bound``.
    inequality : BellInequality
        The LP-dual inequality at the best settings (``max |coefficient| = 1``).
    settings : tuple of ndarray, shape (S_X, 3)
    value, local_bound : float
        The inequality's quantum value at ``settings`` and its local bound
        (``visibility = local_bound / value`` when violated).
    restarts : int
    """

    visibility: float
    violated: bool
    inequality: BellInequality | None
    settings: tuple
    value: float
    local_bound: float
    restarts: int = 0

    def to_dict(self) -> dict:
        return {"visibility": float(self.visibility), "violated": bool(self.violated),
                "inequality": None if self.inequality is None else self.inequality.to_dict(),
                "settings": [np.asarray(s).tolist() for s in self.settings],
                "value": float(self.value), "local_bound": float(self.local_bound),
                "restarts": int(self.restarts)}


def _seesaw(T: np.ndarray, settings: list[np.ndarray], max_rounds: int) -> tuple[float, list[np.ndarray], np.ndarray]:
    best = (np.inf, settings, None)
    for _ in range(max_rounds):
        C = correlators_from_T(T, settings)
        if np.max(np.abs(C.reshape(-1)[1:])) < 1e-14:
            break
        eta, _, _, beta, _ = visibility_from_correlators(C)
        if eta < best[0]:
            best = (eta, [n.copy() for n in settings], beta)
        if eta > best[0] * (1 + 1e-12) + 1e-12:
            break
        b = beta.copy()
        b.reshape(-1)[0] = 0.0
        old = inequality_value(T, b, settings)
        settings, new = maximise_settings(T, b, settings)
        if new <= old * (1 + 1e-11) + 1e-14:
            break
    return best


def search(eff: Any, settings: Any = 2, restarts: int = 20, seed: Any = 0,
           max_rounds: int = _MAX_ROUNDS) -> BellSearch:
    """Search for a Bell violation with ``settings`` projective settings per party.

    Parameters
    ----------
    eff : EffectiveState (M = 1)
    settings : int or sequence of int
        Settings per party (``sum <= 20``).
    restarts : int
        Seesaw starts.  Even starts 0, 2, 4, 6: principal axes of the
        correlations with CHSH-like angles pi/4, pi/16, pi/64, pi/256 (see
        :func:`principal_settings`); starts 1, 5, 9, ...: settings tuned to
        a random +-1 full-correlation inequality; starts 3, 7, ...: for K = 2,
        settings tuned to a random relabelling of I3322 (CHSH if a party has
        two settings), else to a Gaussian full-correlation inequality; later
        even starts: uniformly random.
    seed : int, numpy Generator or None
        Source of every random start (``np.random.default_rng(seed)``).
    max_rounds : int
        LP/settings alternations per start.

    Returns
    -------
    BellSearch
        The smallest visibility over all starts, with its inequality and
        settings.  ``violated`` is a proof of nonlocality: the inequality's
        local bound is exact (brute force) and the value is that of ``eff``
        at the returned settings.  No violation found is not a proof of
        locality.
    """
    where = "bell.search"
    _check_eff(eff, where)
    S = settings_counts(eff, settings, where)
    restarts = _check_count(restarts, "restarts", where)
    max_rounds = _check_count(max_rounds, "max_rounds", where)
    rng = np.random.default_rng(seed)
    T = np.asarray(eff.T, dtype=float)
    best = (np.inf, None, None)
    for r in range(restarts):
        if r % 2 == 0 and r < 8:
            start = principal_settings(T, S, rng, angle=np.pi / 4 ** (1 + r // 2))
        elif r % 4 == 3 and len(S) == 2 and min(S) >= 2:
            start = _facet_start(T, S, rng)
        elif r % 2:
            start = _inequality_start(T, S, rng, signs=(r % 4 == 1))
        else:
            start = random_settings(S, rng)
        res = _seesaw(T, start, max_rounds)
        if res[2] is not None and res[0] < best[0]:
            best = res
    eta, st, beta = best
    if beta is None:
        # No correlations at all (white noise for every settings choice).
        st = random_settings(S, rng)
        return BellSearch(float("inf"), False, None, tuple(st), 0.0, 0.0, restarts)
    ineq = inequality_from_dual(beta, correlators_from_T(T, st))
    # Flag a violation only with its certificate: the exact local bound is exceeded.
    return BellSearch(float(eta), bool(eta < 1.0 - VIOLATION_TOL and ineq.violated), ineq, tuple(st),
                      ineq.quantum_value, ineq.local_bound, restarts)
