"""The local polytope for fixed settings: white-noise visibility, local model, Bell inequality.

For K parties with ``S_X`` two-outcome settings each, a local behaviour is
a convex mixture of the ``2^(sum_X S_X)`` deterministic strategies ``lambda``
(party ``X`` outputs ``lambda_X[x] = +-1`` for setting ``x``).  The LP

    maximise eta  s.t.  sum_lambda q_lambda D_lambda = eta p + (1 - eta) p_white,
                        sum_lambda q_lambda = 1,  q >= 0

gives the visibility ``eta*`` of the behaviour ``p`` against the white noise
``p_white`` (the behaviour of the maximally mixed state, every outcome 1/2);
``eta* < 1`` means ``p`` violates a Bell inequality, and the LP dual gives one
(Fine, PRL 48, 291 (1982); the LP formulation and its dual as a separating
inequality: e.g. Brunner et al., Rev. Mod. Phys. 86, 419 (2014);
Designolle et al., PRR 5, 043059 (2023)).

The LP is written in the extended-correlator coordinates of
:mod:`.behaviour` (index 0 = not measured): for no-signalling behaviours
they are an invertible affine image of ``p``, deterministic strategies map to
product vectors ``C_lambda[i] = prod_X lambda_X[i_X]`` (``lambda_X[0] = 1``)
and white noise maps to ``C_white = delta_{i,0}``.  It is solved by column
generation: a restricted master LP over a few strategies, and an exact
pricing oracle (:func:`best_strategy`) that finds the strategy with the
largest reduced cost by enumerating all parties but one and giving the last
its best response in closed form.  ``sum_X S_X <= MAX_SETTINGS_TOTAL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.optimize import linprog

from .behaviour import check_settings, correlators_from_T

__all__ = ["LocalTest", "BellInequality", "local_visibility", "visibility_from_correlators",
           "best_strategy", "strategy_correlators", "party_strategies", "MAX_SETTINGS_TOTAL",
           "VIOLATION_TOL"]

#: Largest total number of settings ``sum_X S_X`` (2^20 deterministic strategies).
MAX_SETTINGS_TOTAL = 20
#: Below this many strategies the LP is solved with all columns at once.
_FULL_LP_MAX = 2**10
#: A visibility below ``1 - VIOLATION_TOL`` counts as a violation; HiGHS
#: solves these small LPs to ~1e-9, so 1e-7 leaves a safety factor of 100.
VIOLATION_TOL = 1e-7
_PRICE_TOL = 1e-9
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10, "presolve": False}
#: Dual simplex without presolve: about 2x faster than the default on these
#: dense, degenerate masters (measured on 2^15 and 2^20-strategy problems).
_METHOD = "highs-ds"
_MAX_ROUNDS = 2000
_COLUMNS_PER_ROUND = 64


def party_strategies(S: int) -> np.ndarray:
    """All ``2^S`` deterministic strategies of one party as rows of +-1.

    Row ``c`` gives outcome ``+1`` for setting ``j`` iff bit ``j`` of ``c`` is 0.
    """
    c = np.arange(2**S)[:, None]
    return 1 - 2 * ((c >> np.arange(S)[None, :]) & 1)


def _extended(S: int) -> np.ndarray:
    L = np.ones((2**S, S + 1))
    L[:, 1:] = party_strategies(S)
    return L


def strategy_correlators(codes: np.ndarray, S: Sequence[int]) -> np.ndarray:
    """Extended correlator tensors of deterministic strategies, shape ``(n, S_1+1, ..., S_K+1)``.

    ``codes[r, X]`` is party ``X``'s strategy index (see :func:`party_strategies`).
    """
    codes = np.atleast_2d(np.asarray(codes, dtype=np.int64))
    out = np.ones((codes.shape[0],) + tuple(s + 1 for s in S))
    for X, s in enumerate(S):
        v = _extended(s)[codes[:, X]]
        shape = [codes.shape[0]] + [1] * len(S)
        shape[X + 1] = s + 1
        out = out * v.reshape(shape)
    return out


def best_strategy(beta: np.ndarray, top: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Exact maximum of ``sum_i beta[i] C_lambda[i]`` over deterministic strategies.

    Parameters
    ----------
    beta : ndarray, shape (S_1+1, ..., S_K+1)
        Extended-correlator coefficients (``beta[0..0]`` is a constant).
    top : int
        How many strategies to return (the best ``top`` of the enumerated
        parties' combinations, each with its last party's best response).

    Returns
    -------
    values : ndarray, shape (top,)
        Largest values first; ``values[0]`` is the exact maximum.
    codes : ndarray, shape (top, K)
        Strategy indices per party.

    Notes
    -----
    All parties but the one with the most settings are enumerated (their
    contraction with ``beta`` is a tensor of ``2^(sum S - S_max) (S_max+1)``
    entries); the remaining party's value ``v_0 + sum_j lambda_j v_j`` is
    maximised by ``lambda_j = sign(v_j)``.
    """
    beta = np.asarray(beta, dtype=float)
    S = [d - 1 for d in beta.shape]
    K = len(S)
    last = int(np.argmax(S))
    order = [X for X in range(K) if X != last] + [last]
    Z = np.transpose(beta, order)
    for X in order[:-1]:
        # Leading axis is party X's extended index; its strategy axis goes last.
        Z = np.tensordot(Z, _extended(S[X]), axes=([0], [1]))
    # Z axes: (last party's extended index, strategy of order[0], order[1], ...).
    Z = np.moveaxis(Z, 0, -1)
    Z = Z.reshape(-1, S[last] + 1)
    vals = Z[:, 0] + np.abs(Z[:, 1:]).sum(axis=1)
    top = min(int(top), vals.size)
    if top == 1:
        idx = np.array([int(np.argmax(vals))])
    else:
        idx = np.argpartition(-vals, top - 1)[:top]
        idx = idx[np.argsort(-vals[idx])]
    codes = np.zeros((idx.size, K), dtype=np.int64)
    rest = idx.copy()
    # Unravel in C order over order[:-1] (the last enumerated party varies fastest).
    dims = [2 ** S[X] for X in order[:-1]]
    for pos in range(len(dims) - 1, -1, -1):
        codes[:, order[pos]] = rest % dims[pos]
        rest //= dims[pos]
    bits = (Z[idx, 1:] < 0).astype(np.int64)
    codes[:, last] = (bits << np.arange(S[last])[None, :]).sum(axis=1)
    return vals[idx], codes


@dataclass(frozen=True, eq=False)
class BellInequality:
    """A Bell inequality ``sum_i coefficients[i] C[i] <= local_bound`` in extended-correlator form.

    ``C`` is the extended correlator tensor of :func:`.behaviour.correlators`
    (index 0 of a party = not measured, index ``x >= 1`` = setting ``x - 1``);
    ``coefficients[0, ..., 0]`` is a constant term.  Normalised so that the
    largest ``|coefficient|`` is 1; ``local_bound`` is the exact maximum over
    all deterministic strategies (brute force), and ``quantum_value`` is
    the value on the state and settings it was derived for.  CHSH, for
    example, reads ``C11 + C12 + C21 - C22 <= 2`` (value ``2 sqrt 2`` on the
    singlet at optimal settings).
    """

    coefficients: np.ndarray
    local_bound: float
    quantum_value: float

    @property
    def violated(self) -> bool:
        """``quantum_value`` exceeds ``local_bound`` beyond the LP tolerance."""
        return bool(self.quantum_value > self.local_bound * (1 + VIOLATION_TOL) + VIOLATION_TOL)

    @property
    def ratio(self) -> float:
        """``quantum_value / local_bound`` (> 1: violated)."""
        return float(self.quantum_value / self.local_bound) if self.local_bound > 0 else float("inf")

    def value(self, C: np.ndarray) -> float:
        """The inequality's left-hand side on an extended correlator tensor ``C``."""
        return float(np.sum(self.coefficients * np.asarray(C)))

    def probability_coefficients(self) -> np.ndarray:
        """The same inequality on behaviours: ``sum G[a, x] p[a, x] <= local_bound``.

        ``G`` has the layout of :func:`.behaviour.correlations` (outcome
        index 0 <-> +1); marginals of unmeasured parties are read off their
        first setting, which is exact for no-signalling behaviours.
        """
        beta = self.coefficients
        S = [d - 1 for d in beta.shape]
        K = len(S)
        G = np.zeros((2,) * K + tuple(S))
        signs = np.array([1.0, -1.0])
        for i in np.ndindex(*beta.shape):
            if beta[i] == 0.0:
                continue
            term = np.array(beta[i])
            x = tuple(max(ix - 1, 0) for ix in i)
            for X in range(K):
                term = np.multiply.outer(term, signs if i[X] > 0 else np.ones(2))
            G[(Ellipsis,) + x] += term
        return G

    def to_dict(self) -> dict:
        return {"coefficients": self.coefficients.tolist(), "local_bound": float(self.local_bound),
                "quantum_value": float(self.quantum_value), "ratio": self.ratio,
                "form": "extended correlators, index 0 = not measured"}


@dataclass(frozen=True, eq=False)
class LocalTest:
    """Result of :func:`local_visibility`.

    Attributes
    ----------
    visibility : float
        Largest ``eta`` with ``eta p + (1 - eta) p_white`` local (``inf`` if
        ``p`` is white noise itself).  ``eta < 1``: ``p`` is nonlocal.
    weights : ndarray or None
        When ``visibility >= 1``: weights of a local model of ``p`` itself
        over the deterministic strategies in ``strategies``
        (``sum_r weights[r] D_{strategies[r]} = p``); ``None`` otherwise.
    inequality : BellInequality or None
        The separating (``visibility < 1``) or tight inequality from the LP
        dual; ``None`` for white noise.
    strategies : ndarray of int, shape (n, sum S_X) or None
        Deterministic strategies: outcomes +-1, party 0's settings first.
    settings : tuple of ndarray
    iterations : int
        Column-generation rounds (1 for the full LP).
    """

    visibility: float
    weights: np.ndarray | None
    inequality: BellInequality | None
    strategies: np.ndarray | None = None
    settings: tuple = field(default=(), repr=False)
    iterations: int = 1

    @property
    def violated(self) -> bool:
        """``visibility < 1 - VIOLATION_TOL`` and the dual inequality, whose local
        bound is exact, is violated at these settings (a checkable certificate)."""
        return bool(self.visibility < 1.0 - VIOLATION_TOL and self.inequality is not None
                    and self.inequality.violated)

    def to_dict(self) -> dict:
        return {"visibility": float(self.visibility), "violated": self.violated,
                "weights": None if self.weights is None else self.weights.tolist(),
                "strategies": None if self.strategies is None else self.strategies.tolist(),
                "inequality": None if self.inequality is None else self.inequality.to_dict(),
                "settings": [np.asarray(s).tolist() for s in self.settings],
                "iterations": int(self.iterations)}


def _check_size(S: Sequence[int], where: str) -> None:
    total = int(sum(S))
    if total > MAX_SETTINGS_TOTAL:
        raise ValueError(f"{where}: {total} settings in total give 2^{total} deterministic strategies; "
                         f"at most sum_X S_X = {MAX_SETTINGS_TOTAL} is supported")


def _solve_master(cols: np.ndarray, c: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Restricted master LP over ``cols`` (n, D) with target ``c`` (D,): eta, q, duals."""
    n = cols.shape[0]
    A = np.zeros((c.size + 1, n + 1))
    A[:-1, :n] = cols.T
    A[:-1, n] = -c
    A[-1, :n] = 1.0
    b = np.zeros(c.size + 1)
    b[-1] = 1.0
    obj = np.zeros(n + 1)
    obj[n] = -1.0
    res = linprog(obj, A_eq=A, b_eq=b, bounds=(0, None), method=_METHOD, options=_HIGHS)
    if res.status != 0:
        raise RuntimeError(f"local_visibility: HiGHS failed ({res.status}: {res.message})")
    return float(res.x[n]), res.x[:n], np.asarray(res.eqlin.marginals)


def _initial_codes(S: Sequence[int]) -> np.ndarray:
    # Each party answering all +1 or all -1, uniformly: the white-noise
    # correlators (C = delta_{i,0}), so eta = 0 is feasible from the start.
    K = len(S)
    const = [np.array([0, 2**s - 1]) for s in S]
    return np.array(np.meshgrid(*const, indexing="ij")).reshape(K, -1).T


def visibility_from_correlators(C: np.ndarray, method: str = "auto") -> tuple[float, np.ndarray, np.ndarray, np.ndarray, int]:
    """Solve the visibility LP for an extended correlator tensor.

    Returns ``(eta, codes, q, beta, rounds)``: optimal visibility, the
    strategies in the final master with their weights ``q`` (a local model
    of ``eta C + (1 - eta) C_white``), the dual coefficient tensor ``beta``
    (``beta[0..0] = y_0 = -eta``) and the number of rounds.

    ``method`` is ``"auto"``, ``"full"`` (all strategies at once) or
    ``"columns"`` (column generation).
    """
    C = np.asarray(C, dtype=float)
    S = [d - 1 for d in C.shape]
    _check_size(S, "local_visibility")
    if method not in ("auto", "full", "columns"):
        raise ValueError(f"local_visibility: method must be 'auto', 'full' or 'columns', got {method!r}")
    target = C.reshape(-1)[1:]
    if method == "full" or (method == "auto" and 2 ** sum(S) <= _FULL_LP_MAX):
        codes = np.array(np.meshgrid(*[np.arange(2**s) for s in S], indexing="ij")).reshape(len(S), -1).T
        cols = strategy_correlators(codes, S).reshape(codes.shape[0], -1)[:, 1:]
        eta, q, y = _solve_master(cols, target)
        return eta, codes, q, _beta(y, C.shape), 1
    codes = _initial_codes(S)
    cols = strategy_correlators(codes, S).reshape(codes.shape[0], -1)[:, 1:]
    for rounds in range(1, _MAX_ROUNDS + 1):
        eta, q, y = _solve_master(cols, target)
        beta = _beta(y, C.shape)
        vals, new = best_strategy(beta, top=_COLUMNS_PER_ROUND)
        keep = vals > _PRICE_TOL
        if not np.any(keep):
            return eta, codes, q, beta, rounds
        # Drop strategies already present (their reduced cost is ~0 up to tolerance).
        new = new[keep]
        have = {tuple(r) for r in codes.tolist()}
        new = np.array([r for r in new.tolist() if tuple(r) not in have], dtype=np.int64)
        if new.size == 0:
            return eta, codes, q, beta, rounds
        codes = np.vstack([codes, new])
        cols = np.vstack([cols, strategy_correlators(new, S).reshape(new.shape[0], -1)[:, 1:]])
    raise RuntimeError(f"local_visibility: column generation did not converge in {_MAX_ROUNDS} rounds")


def _beta(y: np.ndarray, shape: tuple) -> np.ndarray:
    beta = np.empty(int(np.prod(shape)))
    beta[1:] = y[:-1]
    beta[0] = y[-1]
    return beta.reshape(shape)


def _codes_to_outcomes(codes: np.ndarray, S: Sequence[int]) -> np.ndarray:
    return np.hstack([party_strategies(s)[codes[:, X]] for X, s in enumerate(S)])


def inequality_from_dual(beta: np.ndarray, C: np.ndarray) -> BellInequality:
    """Readable Bell inequality from dual coefficients (constant term dropped).

    Scales to ``max |coefficient| = 1``, zeroes entries below 1e-9 of that
    (dual noise), and recomputes the local bound by brute force.
    """
    b = np.array(beta, dtype=float)
    b.reshape(-1)[0] = 0.0
    scale = np.max(np.abs(b))
    if scale == 0.0:
        raise ValueError("inequality_from_dual: all coefficients vanish")
    b /= scale
    b[np.abs(b) < 1e-9] = 0.0
    bound = float(best_strategy(b)[0][0])
    return BellInequality(coefficients=b, local_bound=bound, quantum_value=float(np.sum(b * C)))


def local_visibility(eff: Any, settings: Sequence[Any], *, method: str = "auto") -> LocalTest:
    """White-noise visibility of the behaviour of ``eff`` for fixed projective settings.

    Parameters
    ----------
    eff : EffectiveState (M = 1)
    settings : list of K arrays of shape (S_X, 3), unit vectors
        ``sum_X S_X <= MAX_SETTINGS_TOTAL`` (= 20).
    method : {"auto", "full", "columns"}
        Full LP over all strategies, column generation, or full below
        ``2^10`` strategies.

    Returns
    -------
    LocalTest
        ``visibility < 1``: the behaviour is nonlocal and ``inequality`` is
        violated by it; otherwise ``weights`` over ``strategies`` is a local
        model of ``p`` itself.

    Notes
    -----
    Cost (2 shared cores, measured): K = 2 with 2 x 10 settings (2^20
    strategies) ~5-15 s in ~45 column-generation rounds; K = 3 with 4+4+4
    ~1.5 s, 5+5+5 ~15 s.  The master grows with the number of correlator
    rows ``prod_X (S_X + 1)``, so K = 3 with 7+7+6 settings takes minutes.

    Raises
    ------
    ValueError
        Invalid settings (see :func:`.behaviour.check_settings`) or more than
        ``MAX_SETTINGS_TOTAL`` settings in total (checked before any work).
    """
    settings = check_settings(eff, settings, "local_visibility")
    S = [n.shape[0] for n in settings]
    _check_size(S, "local_visibility")
    C = correlators_from_T(eff.T, settings)
    const = _initial_codes(S)
    if np.max(np.abs(C.reshape(-1)[1:])) < 1e-14:
        # White noise: the LP is unbounded; the uniform constant strategies are its model.
        w = np.full(const.shape[0], 1.0 / const.shape[0])
        return LocalTest(float("inf"), w, None, _codes_to_outcomes(const, S), tuple(settings), 0)
    eta, codes, q, beta, rounds = visibility_from_correlators(C, method)
    ineq = inequality_from_dual(beta, C)
    weights = strategies = None
    if eta >= 1.0 - VIOLATION_TOL:
        # p = (1/eta) [eta p + (1-eta) p_white] + (1 - 1/eta) p_white, and the
        # uniform constant strategies are a model of p_white.
        e = max(eta, 1.0)
        codes = np.vstack([codes, const])
        w = np.concatenate([q / e, np.full(const.shape[0], (1.0 - 1.0 / e) / const.shape[0])])
        uniq, inv = np.unique(codes, axis=0, return_inverse=True)
        w = np.bincount(inv.reshape(-1), weights=w, minlength=uniq.shape[0])
        keep = w > 1e-13
        weights, strategies = w[keep] / w[keep].sum(), _codes_to_outcomes(uniq[keep], S)
    return LocalTest(eta, weights, ineq, strategies, tuple(settings), rounds)
