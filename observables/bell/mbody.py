"""Bell violations with general +-1 observables on parties of M qubits (M-body effective states).

Conventions
-----------
* An M-body effective state (seed §IV; :func:`macrobell.observables.effective_state`
  with ``M > 1``) has ``K*M`` qubits grouped region by region (region 0's M
  slots first, qubit 0 most significant).  Party ``X`` holds ``d = 2^M``
  dimensions and measures, for setting ``x``, a dichotomic observable
  ``A_{X,x} = P_+ - P_-`` (Hermitian, ``A^2 = 1``, eigenvalues +-1; inputs may be
  ``+-1`` multiples of the identity, the searches use nontrivial ones).  ``observables[X]`` has shape
  ``(S_X, d, d)``.
* Behaviour ``p(a|x) = Tr(rho (x)_X (1 + s(a_X) A_{X,x_X}) / 2)`` and extended
  correlators ``C[i] = Tr(rho (x)_X O_X[i_X])`` with ``O_X[0] = 1`` and
  ``O_X[x+1] = A_{X,x}`` -- the layout of :mod:`.behaviour` and :mod:`.lp`
  (index 0 = not measured, outcome index 0 <-> +1).

Method
------
For a fixed Bell inequality ``beta`` (the LP dual of :mod:`.lp`, extended
correlator form) the value ``sum_i beta[i] C[i]`` is linear in every
observable of one party, the others fixed: ``sum_x Tr(G_{X,x} A_{X,x}) +
const`` with the party's effective operator
``G_{X,x} = sum_{i: i_X = x+1} beta[i] Tr_{not X}(rho (x)_{Y != X} O_Y[i_Y])``
(Hermitian).  Over +-1 observables the maximum is ``||G_{X,x}||_1``, reached
by ``A = sign(G)`` (the projector difference onto the positive and negative
eigenspaces; over nontrivial ones, see :func:`_sign`).  Alternating these updates with the visibility LP can only
lower the visibility, as in :mod:`.search` (Designolle et al., PRR 5,
043059 (2023); the fixed-inequality seesaw over observables: Liang &
Doherty, PRA 75, 042103 (2007); Pál & Vértesi, PRA 82, 022116 (2010)).  For
``M = 1`` the nontrivial +-1 qubit observables are exactly ``n . sigma``, so
:func:`mbody_search` explores the same set as :func:`.search.search`.

States can be optimised too (:func:`state_search`): for fixed observables and
inequality, ``beta . C`` on the effective state of an ``N``-qubit state
``rho`` is ``Tr(rho L)`` with ``L`` the average of the Bell operator over the
placements of its ``K*M`` qubits on ordered M-tuples of distinct sites per
region (the adjoint of the effective-state map), so the best state is
``L``'s top eigenvector -- automatically of the form the effective-state
map produces (Terhal, Doherty, Schwab, PRL 90, 157903 (2003), for M = 1: an
effective state is a symmetric extension's reduced state).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._pauli import T_from_rho
from ..effective import EffectiveState
from .lp import VIOLATION_TOL, BellInequality, inequality_from_dual, visibility_from_correlators
from .search import CHSH_COEFFICIENTS, I3322_COEFFICIENTS, counts_for

__all__ = ["MBodySearch", "StateSearch", "mbody_search", "mbody_correlators", "check_observables",
           "random_observables", "maximise_observables", "bell_operator_mbody", "lifted_operator",
           "effective_rho", "state_search", "OBSERVABLE_TOL", "MAX_STATE_QUBITS"]

#: Allowed ``||A^2 - 1||`` and ``||A - A^dagger||`` (max entry) of a +-1 observable.
OBSERVABLE_TOL = 1e-8
#: Largest number of physical qubits ``sum_X N_X`` of :func:`state_search` (dense vectors).
MAX_STATE_QUBITS = 10
_SWEEP_TOL = 1e-12
_MAX_SWEEPS = 300
_MAX_ROUNDS = 60


def _check_eff(eff: Any, where: str) -> tuple[int, int]:
    rho = getattr(eff, "rho", None)
    sizes = getattr(eff, "sizes", None)
    if rho is None or sizes is None:
        raise ValueError(f"{where}: expected an EffectiveState (with attributes rho, sizes, M), "
                         f"got {type(eff).__name__}")
    K, M = len(sizes), int(getattr(eff, "M", 1))
    if np.shape(rho) != (2 ** (K * M),) * 2:
        raise ValueError(f"{where}: rho has shape {np.shape(rho)}, expected {(2 ** (K * M),) * 2} "
                         f"for K={K} parties of M={M} qubits")
    return K, M


def _count(value: Any, name: str, where: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_observables(eff: Any, observables: Sequence[Any], where: str = "observables") -> list[np.ndarray]:
    """Validate +-1 observables for ``eff``: K arrays of shape ``(S_X, 2^M, 2^M)``.

    Raises ``ValueError`` naming the party and setting for a wrong shape,
    non-finite entries, a non-Hermitian matrix or ``A^2 != 1`` (beyond
    :data:`OBSERVABLE_TOL`).
    """
    K, M = _check_eff(eff, where)
    d = 2**M
    if isinstance(observables, (str, bytes)) or not isinstance(observables, (Sequence, np.ndarray)) \
            or len(observables) != K:
        raise ValueError(f"{where}: observables must be a list of K={K} arrays of shape (S_X, {d}, {d})")
    out = []
    for X, A in enumerate(observables):
        try:
            a = np.array(A, dtype=complex)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: observables[{X}] must be a numeric array of shape (S_X, {d}, {d})") from None
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3 or a.shape[1:] != (d, d) or a.shape[0] < 1:
            raise ValueError(f"{where}: observables[{X}] must have shape (S_X, {d}, {d}) with S_X >= 1, "
                             f"got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{where}: observables[{X}] has non-finite entries")
        for x in range(a.shape[0]):
            herm = np.max(np.abs(a[x] - a[x].conj().T))
            sq = np.max(np.abs(a[x] @ a[x] - np.eye(d)))
            if herm > OBSERVABLE_TOL or sq > OBSERVABLE_TOL:
                raise ValueError(f"{where}: observables[{X}][{x}] is not a +-1 observable "
                                 f"(|A - A^dag| = {herm:.2e}, |A^2 - 1| = {sq:.2e}; allowed {OBSERVABLE_TOL})")
        out.append(a)
    return out


def _extended_ops(A: np.ndarray) -> np.ndarray:
    d = A.shape[-1]
    return np.concatenate([np.eye(d, dtype=complex)[None], A], axis=0)


def _contract(rho: np.ndarray, ops: Sequence[np.ndarray], skip: int | None = None) -> np.ndarray:
    """``Tr(rho (x)_X ops[X][i_X])`` for every party but ``skip``.

    Returns the tensor with axes ``(i_X for X != skip)`` and, if ``skip`` is
    given, two trailing axes (row, column) of the skipped party's operator.
    """
    K = len(ops)
    d = ops[0].shape[-1]
    R = np.asarray(rho).reshape((d,) * (2 * K))
    # Interleave (row_X, col_X) so that each party's pair leads in turn.
    R = R.transpose([a for X in range(K) for a in (X, K + X)])
    for X in range(K):
        if X == skip:
            R = np.moveaxis(R, (0, 1), (-2, -1))
            continue
        # Tr(rho O) = sum_{r,c} rho[r, c] O[c, r]; the new setting axis goes last.
        R = np.tensordot(R, ops[X], axes=([0, 1], [2, 1]))
    if skip is not None:
        # Trailing order is (i_{X>skip}..., row, col, ...) after the moves; put row, col last.
        n_after = K - 1 - skip
        axes = list(range(R.ndim))
        rc = axes[R.ndim - 2 - n_after: R.ndim - n_after] if n_after else axes[-2:]
        rest = [a for a in axes if a not in rc]
        R = R.transpose(rest + rc)
    return R


def _correlators(rho: np.ndarray, observables: Sequence[np.ndarray]) -> np.ndarray:
    return np.real(_contract(rho, [_extended_ops(A) for A in observables]))


def mbody_correlators(eff: Any, observables: Sequence[Any]) -> np.ndarray:
    """Extended correlators ``C[i] = Tr(rho_eff (x)_X O_X[i_X])``, shape ``(S_1+1, ..., S_K+1)``.

    ``O_X[0] = 1``, ``O_X[x+1] = observables[X][x]`` (+-1 observables on the
    party's ``2^M`` dimensions, see the module docstring); ``C[0..0] = 1``.
    """
    obs = check_observables(eff, observables, "mbody_correlators")
    return _correlators(eff.rho, obs)


def _sign(G: np.ndarray) -> np.ndarray:
    """Best nontrivial +-1 observable for ``Tr(G A)``: ``sign(G)``, one eigenvalue flipped if that is ``+-1``.

    ``Tr(G A) = sum_+ lambda - sum_- lambda`` over the eigenvalues of ``G``
    put in ``A``'s +1 / -1 eigenspaces; among observables with both
    eigenvalues present the best keeps the signs of ``G`` except that of the
    smallest ``|lambda|`` when ``G`` is definite.  Trivial observables
    ``A = +-1`` never help a violation (their setting is a deterministic
    output: any inequality using it is one with fewer settings) and pin the
    LP visibility at 1 (a zero probability), where the seesaw would stall.
    """
    w, V = np.linalg.eigh(0.5 * (G + G.conj().T))
    s = np.where(w >= 0, 1.0, -1.0)
    if np.all(s > 0):
        s[0] = -1.0
    elif np.all(s < 0):
        s[-1] = 1.0
    return (V * s) @ V.conj().T


def random_observables(S: Sequence[int], d: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random nontrivial +-1 observables: ``sign`` of Gaussian Hermitian matrices (random eigenbasis and rank)."""
    out = []
    for s in S:
        H = rng.standard_normal((int(s), d, d)) + 1j * rng.standard_normal((int(s), d, d))
        out.append(np.array([_sign(h + h.conj().T) for h in H]))
    return out


def maximise_observables(rho: np.ndarray, beta: np.ndarray, observables: Sequence[np.ndarray],
                         max_sweeps: int = _MAX_SWEEPS, tol: float = _SWEEP_TOL) -> tuple[list[np.ndarray], float]:
    """Maximise ``beta . C`` over nontrivial +-1 observables by exact single-party updates ``A = sign(G)``.

    Never lowers the value; stops when a full sweep gains less than ``tol``
    (relative).  Returns the observables and the value.
    """
    obs = [np.array(A, dtype=complex) for A in observables]
    beta = np.asarray(beta, dtype=float)
    K = len(obs)
    value = -np.inf
    for _ in range(max_sweeps):
        old = value
        for X in range(K):
            ext = [_extended_ops(A) for A in obs]
            Y = _contract(rho, ext, skip=X)
            B = np.moveaxis(beta, X, 0)
            # G[i_X] = sum_{i_others} beta[i] Y[i_others, r, c]; value = sum_i_X Tr(G[i_X] O[i_X]^T...).
            G = np.tensordot(B, Y, axes=(list(range(1, K)), list(range(K - 1))))
            # Tr(rho ... O) = sum_{r,c} Y[r, c] O[c, r], i.e. Tr(Y O): Y is the operator G.
            for x in range(obs[X].shape[0]):
                obs[X][x] = _sign(G[x + 1])
            ext_X = _extended_ops(obs[X])
            value = float(np.real(np.einsum("irc,icr->", G, ext_X)))
        if value - old <= tol * max(1.0, abs(value)):
            break
    return obs, value


@dataclass(frozen=True, eq=False)
class MBodySearch:
    """Result of :func:`mbody_search` (the fields of :class:`.search.BellSearch`, observables for settings).

    ``visibility < 1`` with ``violated``: the ``inequality`` (exact
    brute-force ``local_bound``) has quantum value ``value`` on the state at
    ``observables`` (K arrays of shape ``(S_X, 2^M, 2^M)``) -- a proof of
    nonlocality.  Nothing found is not a proof of locality.
    """

    visibility: float
    violated: bool
    inequality: BellInequality | None
    observables: tuple
    value: float
    local_bound: float
    restarts: int = 0

    @property
    def ratio(self) -> float:
        """``value / local_bound`` (> 1: violated); 0 when no inequality."""
        return float(self.value / self.local_bound) if self.local_bound > 0 else 0.0

    def to_dict(self) -> dict:
        return {"visibility": float(self.visibility), "violated": bool(self.violated),
                "inequality": None if self.inequality is None else self.inequality.to_dict(),
                "observables_real": [np.real(A).tolist() for A in self.observables],
                "observables_imag": [np.imag(A).tolist() for A in self.observables],
                "value": float(self.value), "local_bound": float(self.local_bound),
                "restarts": int(self.restarts)}


def _seesaw(rho, obs, max_rounds):
    best = (np.inf, [A.copy() for A in obs], None)
    for _ in range(max_rounds):
        C = _correlators(rho, obs)
        if np.max(np.abs(C.reshape(-1)[1:])) < 1e-14:
            break
        try:
            eta, _, _, beta, _ = visibility_from_correlators(C)
        except RuntimeError:
            # a degenerate master HiGHS gives up on: keep the best round so far
            break
        if eta < best[0]:
            best = (eta, [A.copy() for A in obs], beta)
        if eta > best[0] * (1 + 1e-12) + 1e-12:
            break
        b = beta.copy()
        b.reshape(-1)[0] = 0.0
        old = float(np.sum(b * C))
        obs, new = maximise_observables(rho, b, obs)
        if new <= old * (1 + 1e-11) + 1e-14:
            break
    return best


def _start_inequality(S, rng, facet: bool) -> np.ndarray:
    """A seed inequality in extended-correlator form: for K = 2 (``facet``) a relabelled I3322 (every
    S_X >= 3) or CHSH on random settings, else a random +-1 full-correlation inequality."""
    K = len(S)
    beta = np.zeros(tuple(s + 1 for s in S))
    if facet and K == 2 and min(S) >= 2:
        base = I3322_COEFFICIENTS if min(S) >= 3 else CHSH_COEFFICIENTS
        m = base.shape[0] - 1
        rows = np.concatenate([[0], 1 + rng.choice(S[0], size=m, replace=False)])
        cols = np.concatenate([[0], 1 + rng.choice(S[1], size=m, replace=False)])
        beta[np.ix_(rows, cols)] = base if rng.random() < 0.5 else base.T
    else:
        beta[(slice(1, None),) * K] = rng.choice([-1.0, 1.0], size=tuple(S))
    return beta


def _start(r: int, rho, S, d, rng):
    """Random observables (even starts) or observables tuned to a random +-1 correlation
    inequality / a relabelled CHSH or I3322 (odd starts), as in :func:`.search.search`."""
    obs = random_observables(S, d, rng)
    if r % 2 == 0:
        return obs
    beta = _start_inequality(S, rng, facet=r % 4 == 3)
    return maximise_observables(rho, beta, obs, max_sweeps=100)[0]


def _search_rho(rho, S, d, restarts, rng, max_rounds, initial=None):
    best = (np.inf, None, None)
    starts = ([initial] if initial is not None else []) + [None] * restarts
    for r, init in enumerate(starts):
        obs = init if init is not None else _start(r, rho, S, d, rng)
        res = _seesaw(rho, obs, max_rounds)
        if res[2] is not None and res[0] < best[0]:
            best = res
    return best


def _result(rho, best, S, d, restarts, rng) -> MBodySearch:
    eta, obs, beta = best
    if beta is None:
        return MBodySearch(float("inf"), False, None, tuple(random_observables(S, d, rng)), 0.0, 0.0, restarts)
    ineq = inequality_from_dual(beta, _correlators(rho, obs))
    return MBodySearch(float(eta), bool(eta < 1.0 - VIOLATION_TOL and ineq.violated), ineq, tuple(obs),
                       ineq.quantum_value, ineq.local_bound, restarts)


def mbody_search(eff: Any, settings: Any = 2, restarts: int = 20, seed: Any = 0,
                 max_rounds: int = _MAX_ROUNDS) -> MBodySearch:
    """Search for a Bell violation with ``settings`` general +-1 observables per party.

    Parameters
    ----------
    eff : EffectiveState
        Any body order M (parties of ``2^M`` dimensions; ``M = 1`` too).
    settings : int or sequence of int
        Settings per party (``sum <= 20``).
    restarts : int
        Seesaw starts: even ones random +-1 observables, odd ones tuned to a
        random +-1 full-correlation inequality or (K = 2, every 4th) to a
        relabelled CHSH / I3322.
    seed : int, numpy Generator or None
        ``np.random.default_rng(seed)`` draws every start.
    max_rounds : int
        LP / observables alternations per start.

    Returns
    -------
    MBodySearch
        Smallest visibility found, with the LP-dual inequality (exact local
        bound) and the observables.
    """
    where = "mbody_search"
    K, M = _check_eff(eff, where)
    S = counts_for(K, settings, where)
    restarts = _count(restarts, "restarts", where)
    max_rounds = _count(max_rounds, "max_rounds", where)
    rng = np.random.default_rng(seed)
    rho = np.asarray(eff.rho)
    best = _search_rho(rho, S, 2**M, restarts, rng, max_rounds)
    return _result(rho, best, S, 2**M, restarts, rng)


# --- states: the effective-state map and its adjoint -------------------------------------------

def _placements(sizes: Sequence[int], M: int) -> list[list[int]]:
    """Site lists of every ordered M-tuple of distinct sites per region (regions contiguous)."""
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    per = [list(itertools.permutations(range(o, o + n), M)) for o, n in zip(offsets, sizes)]
    return [[s for t in combo for s in t] for combo in itertools.product(*per)]


def effective_rho(psi: np.ndarray, sizes: Sequence[int], M: int = 1) -> np.ndarray:
    """The M-body effective state of a pure ``N``-qubit vector (regions contiguous, site 0 first).

    The average, over ordered M-tuples of distinct sites per region, of the
    reduced state on those ``K*M`` sites in slot order (seed §IV).
    """
    N = int(sum(sizes))
    n = len(sizes) * M
    psi = np.asarray(psi, dtype=complex).reshape((2,) * N)
    out = np.zeros((2**n, 2**n), dtype=complex)
    places = _placements(sizes, M)
    for sites in places:
        rest = [s for s in range(N) if s not in sites]
        A = psi.transpose(list(sites) + rest).reshape(2**n, -1)
        out += A @ A.conj().T
    return out / len(places)


def lifted_operator(B: np.ndarray, sizes: Sequence[int], M: int = 1) -> np.ndarray:
    """Adjoint of :func:`effective_rho`: ``Tr(rho_eff B) = psi^dag L psi``, ``L`` of size ``2^N``."""
    N = int(sum(sizes))
    n = len(sizes) * M
    places = _placements(sizes, M)
    L = np.zeros((2**N, 2**N), dtype=complex)
    for sites in places:
        order = list(sites) + [s for s in range(N) if s not in sites]
        full = np.kron(B, np.eye(2 ** (N - n))).reshape((2,) * (2 * N))
        axes = [order.index(s) for s in range(N)]
        L += full.transpose(axes + [N + a for a in axes]).reshape(2**N, 2**N)
    return L / len(places)


def bell_operator_mbody(beta: np.ndarray, observables: Sequence[np.ndarray]) -> np.ndarray:
    """``sum_i beta[i] (x)_X O_X[i_X]`` on the ``K*M`` qubits (party 0 most significant)."""
    beta = np.asarray(beta, dtype=float)
    ext = [_extended_ops(np.asarray(A, dtype=complex)) for A in observables]
    d = int(np.prod([e.shape[-1] for e in ext]))
    total = np.zeros((d, d), dtype=complex)
    for i in zip(*np.nonzero(beta)):
        op = np.ones((1, 1), dtype=complex)
        for X, ix in enumerate(i):
            op = np.kron(op, ext[X][ix])
        total += beta[i] * op
    return total


def _top_state(beta, obs, sizes, M):
    w, V = np.linalg.eigh(lifted_operator(bell_operator_mbody(beta, obs), sizes, M))
    return V[:, -1], float(w[-1])


def _inequality_state_start(r, sizes, M, S, rng, sweeps=40):
    """A state and observables tuned to a fixed inequality: a relabelled CHSH / I3322
    (K = 2, odd starts) or a random +-1 full-correlation inequality (even starts).

    Alternates the observables (:func:`maximise_observables`) and the state
    (top eigenvector of the lifted operator) for that inequality, which never
    lowers its value; from a random state the LP dual is often a trivial
    (positivity) facet whose seesaw stalls at visibility 1.
    """
    d = 2**M
    beta = _start_inequality(S, rng, facet=r % 2 == 1)
    N = int(sum(sizes))
    psi = rng.standard_normal(2**N) + 1j * rng.standard_normal(2**N)
    psi /= np.linalg.norm(psi)
    obs, old = random_observables(S, d, rng), -np.inf
    for _ in range(sweeps):
        obs, _ = maximise_observables(effective_rho(psi, sizes, M), beta, obs, max_sweeps=50)
        psi, value = _top_state(beta, obs, sizes, M)
        if value <= old + 1e-10 * max(1.0, abs(value)):
            break
        old = value
    return psi, obs


@dataclass(frozen=True, eq=False)
class StateSearch:
    """Result of :func:`state_search`: the best physical state found and its Bell search.

    ``psi`` is the ``sum N_X``-qubit vector (regions contiguous), ``eff`` its
    M-body :class:`~macrobell.observables.effective.EffectiveState`, ``bell``
    the :class:`MBodySearch` on ``eff``, ``max_ratio`` the largest
    ``lambda_max(L) / local_bound`` over the rounds (for each round's
    inequality and observables, the exact best quantum-to-local ratio that
    any state of the ``sum N_X`` qubits reaches; 0 if no round ran).
    """

    psi: np.ndarray
    eff: EffectiveState
    bell: MBodySearch
    max_ratio: float
    rounds: int


def state_search(sizes: Sequence[int], M: int = 1, settings: Any = 2, restarts: int = 4, seed: Any = 0,
                 rounds: int = 20, observable_restarts: int = 4) -> StateSearch:
    """Seesaw over states and observables for the smallest visibility of an effective state.

    Alternates (i) :func:`mbody_search`-style observable/LP rounds on the
    effective state of ``psi`` and (ii) ``psi`` = top eigenvector of the
    lifted Bell operator of the current inequality and observables
    (:func:`lifted_operator`).  Step (ii) maximises the inequality's value
    over *all* ``N``-qubit states, so at a fixed point no state does better
    for these observables.  ``restarts`` random initial states.
    """
    where = "state_search"
    try:
        sizes = [int(n) for n in sizes]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: sizes must be a list of K >= 2 ints, got {sizes!r}") from None
    if len(sizes) < 2 or _count(M, "M", where) > min(sizes):
        raise ValueError(f"{where}: need K >= 2 regions each with >= M={M} sites, got sizes={sizes}")
    if sum(sizes) > MAX_STATE_QUBITS:
        raise ValueError(f"{where}: {sum(sizes)} qubits; at most MAX_STATE_QUBITS={MAX_STATE_QUBITS} (dense vectors)")
    S = counts_for(len(sizes), settings, where)
    restarts, rounds = _count(restarts, "restarts", where), _count(rounds, "rounds", where)
    observable_restarts = _count(observable_restarts, "observable_restarts", where)
    rng = np.random.default_rng(seed)
    N, d = sum(sizes), 2**M
    best = None
    for r in range(restarts):
        psi, obs = _inequality_state_start(r, sizes, M, S, rng)
        here, ratio, n_done = (np.inf, None, None, None), 0.0, 0
        for n_done in range(1, rounds + 1):
            rho = effective_rho(psi, sizes, M)
            eta, obs_new, beta = _search_rho(rho, S, d, observable_restarts if n_done == 1 else 0, rng,
                                             _MAX_ROUNDS, initial=obs)
            if beta is None or eta >= here[0] * (1 - 1e-9):
                break
            here, obs = (eta, obs_new, beta, psi), obs_new
            b = beta.copy()
            b.reshape(-1)[0] = 0.0
            psi, top = _top_state(b, obs, sizes, M)
            bound = inequality_from_dual(beta, _correlators(rho, obs)).local_bound
            if bound > 0:
                ratio = max(ratio, top / (bound * np.max(np.abs(b))))
        if here[2] is None:
            continue
        rho = effective_rho(here[3], sizes, M)
        res = _result(rho, here[:3], S, d, restarts, rng)
        if best is None or res.visibility < best[2].visibility:
            eff = EffectiveState(T=T_from_rho(rho), sizes=tuple(sizes), M=M)
            best = (here[3], eff, res, ratio, n_done)
    if best is None:
        psi = np.zeros(2**N, dtype=complex)
        psi[0] = 1.0
        rho = effective_rho(psi, sizes, M)
        eff = EffectiveState(T=T_from_rho(rho), sizes=tuple(sizes), M=M)
        best = (psi, eff, _result(rho, (np.inf, None, None), S, d, restarts, rng), 0.0, 0)
    return StateSearch(*best)
