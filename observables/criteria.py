"""Local-hidden-variable criteria on an effective state.

Every function is pure: it takes the correlation tensor ``T`` and/or the
density matrix ``rho`` and returns numbers.  The table of docs/physics.md is built
by :func:`criteria`; :func:`verdict` (the ordered table of :mod:`.verdict`)
condenses it into the strongest guarantee that holds.  All thresholds come
from :mod:`.thresholds`.  The Pauli conversions live in :mod:`._pauli`, the
unsteerability tests in :mod:`.steering` and the Werner certificates in
:mod:`.werner_cert`; their public names are re-exported here.

Conventions
-----------
* Pauli basis ``sigma_0 = 1, sigma_1 = X, sigma_2 = Y, sigma_3 = Z`` (Pauli
  matrices with eigenvalues ±1, *not* spin-1/2 operators); ``|0> = |up>``.
* ``T`` has shape ``(4,)*n`` with
  ``T[a_1, ..., a_n] = Tr(rho sigma_{a_1} (x) ... (x) sigma_{a_n})`` and
  ``T[0, ..., 0] = 1``; ``rho = 2^{-n} sum_a T_a sigma_{a_1} (x) ...``.
* ``rho`` is ``2^n x 2^n`` with qubit 0 the most significant tensor factor.
* For two qubits the party index comes first: ``T[i, j]`` with ``i`` Alice
  (region A) and ``j`` Bob (region B); Bloch vectors ``a = T[1:, 0]``,
  ``b = T[0, 1:]``; ``T[1:, 1:]`` is the 3x3 correlation block.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from . import thresholds as th
from ._pauli import PAULI, T_from_rho, _block, _require_two_qubit, rho_from_T
from .steering import bowles_value, jevtic_integral, steering
from .verdict import LEGACY_VERDICTS, VERDICT_TABLE, VERDICTS, canonical_verdict, verdict, verdict_rule
from .werner_cert import werner_certificate, werner_frame

__all__ = [
    "PAULI", "VERDICTS", "LEGACY_VERDICTS", "VERDICT_TABLE", "BELL_KEYS", "rho_from_T",
    "T_from_rho", "chsh_max", "chsh_settings", "zb_max", "zb_upper", "werner_visibility",
    "werner_state", "werner_distance", "partial_transpose", "ppt", "negativity", "cut_spectra",
    "concurrence", "jevtic_integral", "bowles_value", "steering", "grothendieck_local",
    "monogamy_bound", "settings_bound", "min_settings_for_violation", "canonical_verdict",
    "verdict", "verdict_rule", "criteria",
]

_NAN = float("nan")


# --- CHSH and Zukowski-Brukner ---------------------------------------------

def chsh_max(T: np.ndarray) -> float:
    """Maximal CHSH value ``2 sqrt(t1^2 + t2^2)`` over projective settings.

    ``t1 >= t2`` are the largest singular values of ``T[1:, 1:]``
    (Horodecki, Horodecki, Horodecki, Phys. Lett. A 200, 340 (1995)).
    CHSH is violated iff the result exceeds 2.
    """
    T = np.asarray(T, dtype=float)
    _require_two_qubit(T, "chsh_max")
    s = np.linalg.svd(T[1:, 1:], compute_uv=False)
    return float(2.0 * math.sqrt(s[0] ** 2 + s[1] ** 2))


def chsh_settings(T: np.ndarray) -> tuple[float, list[list[list[float]]]]:
    """Horodecki-optimal CHSH settings and the value they reach (K = 2).

    With ``T[1:, 1:] = U diag(t) V^T`` (``t1 >= t2``), Alice measures
    ``a = u1``, ``a' = u2`` and Bob ``b, b' = cos(th) v1 +- sin(th) v2`` with
    ``tan(th) = t2 / t1``; then
    ``CHSH = E(a,b) + E(a,b') + E(a',b) - E(a',b') = 2 sqrt(t1^2 + t2^2)``,
    ``E(x, y) = x^T T[1:, 1:] y`` (Horodecki, Horodecki, Horodecki, PLA 200,
    340 (1995)).  Directions are unit Bloch vectors of the effective state's
    qubits, i.e. the magnetisation directions of the regions.

    Returns
    -------
    (value, [[a, a'], [b, b']])
        Settings as nested lists (JSON-friendly), one list per party.
    """
    T = np.asarray(T, dtype=float)
    _require_two_qubit(T, "chsh_settings")
    U, t, Vt = np.linalg.svd(T[1:, 1:])
    th_ = math.atan2(t[1], t[0])
    b1 = math.cos(th_) * Vt[0] + math.sin(th_) * Vt[1]
    b2 = math.cos(th_) * Vt[0] - math.sin(th_) * Vt[1]
    settings = [[U[:, 0].tolist(), U[:, 1].tolist()], [b1.tolist(), b2.tolist()]]
    C = T[1:, 1:]
    a1, a2 = U[:, 0], U[:, 1]
    value = float(a1 @ C @ b1 + a1 @ C @ b2 + a2 @ C @ b1 - a2 @ C @ b2)
    return value, settings


def zb_upper(T: np.ndarray) -> float:
    """Upper bound ``sum_{k in {1,2,3}^K} T_k^2`` on :func:`zb_max`."""
    C = _block(np.asarray(T, dtype=float))
    return float(np.sum(C * C))


def _zb_objective(C: np.ndarray, planes: Sequence[np.ndarray]) -> float:
    Y = C
    for U in planes:
        # Contract the leading 3-index; the 2-index is appended at the end,
        # so after K steps the party order is restored.
        Y = np.tensordot(Y, U, axes=([0], [1]))
    return float(np.sum(Y * Y))


def _zb_party_matrix(C: np.ndarray, planes: Sequence[np.ndarray], p: int) -> np.ndarray:
    """3x3 PSD matrix M with objective = u1^T M u1 + u2^T M u2 for party p."""
    Y = np.moveaxis(C, p, 0)
    others = [planes[q] for q in range(C.ndim) if q != p]
    for U in others:
        Y = np.tensordot(Y, U, axes=([1], [1]))
    X = Y.reshape(3, -1)
    return X @ X.T


def _zb_alternate(C: np.ndarray, planes: list[np.ndarray], tol: float, max_iter: int) -> float:
    value = _zb_objective(C, planes)
    for _ in range(max_iter):
        for p in range(C.ndim):
            w, v = np.linalg.eigh(_zb_party_matrix(C, planes, p))
            # Ky Fan: the best orthonormal pair spans the top-2 eigenvectors.
            planes[p] = v[:, [2, 1]].T
        new = _zb_objective(C, planes)
        if new - value <= tol * max(1.0, abs(new)):
            return max(new, value)
        value = new
    return value


def zb_max(
    T: np.ndarray,
    n_starts: int = 16,
    seed: int = 0,
    rng: np.random.Generator | None = None,
    tol: float = 1e-13,
    max_iter: int = 1000,
) -> float:
    """Zukowski-Brukner quantity ``max_planes sum_{k in {1,2}^K} T'_k^2``.

    ``T'`` is ``T`` expressed in one plane (orthonormal pair of unit vectors
    in R^3) per party.  ``zb_max <= 1`` is sufficient for an LHV model of all
    two-setting full-correlation Bell inequalities (Zukowski & Brukner,
    PRL 88, 210401 (2002)).

    For K = 2 the maximum is ``t1^2 + t2^2`` (two largest singular values),
    so ``zb_max <= 1`` iff ``chsh_max <= 2``.  For K >= 3 it is maximised by
    alternating over parties: with the other planes fixed the objective is
    ``u1^T M u1 + u2^T M u2`` with a 3x3 PSD ``M``, maximised by the top two
    eigenvectors.  Starts: a higher-order SVD start plus ``n_starts`` random
    ones.  The result is a *lower* bound on the true maximum (local search);
    :func:`zb_upper` is a rigorous upper bound.

    ``n_starts`` random starts use ``rng`` or ``np.random.default_rng(seed)``
    (never the global RNG); ``tol``/``max_iter`` control the sweeps.
    """
    T = np.asarray(T, dtype=float)
    K = T.ndim
    if K < 2:
        raise ValueError("zb_max needs K >= 2 parties")
    C = _block(T)
    if K == 2:
        s = np.linalg.svd(C, compute_uv=False)
        return float(s[0] ** 2 + s[1] ** 2)
    if rng is None:
        rng = np.random.default_rng(seed)
    best = 0.0
    # HOSVD start: top-2 left singular vectors of each unfolding.
    planes = []
    for p in range(K):
        U, _, _ = np.linalg.svd(np.moveaxis(C, p, 0).reshape(3, -1))
        planes.append(U[:, :2].T.copy())
    best = max(best, _zb_alternate(C, planes, tol, max_iter))
    for _ in range(n_starts):
        planes = [np.linalg.qr(rng.standard_normal((3, 2)))[0].T for _ in range(K)]
        best = max(best, _zb_alternate(C, planes, tol, max_iter))
    return float(best)


# --- Werner ----------------------------------------------------------------

_PSI_MINUS = np.array([0.0, 1.0, -1.0, 0.0]) / math.sqrt(2.0)


def werner_visibility(T: np.ndarray) -> float:
    """Werner visibility ``V = -(T_xx + T_yy + T_zz) / 3`` (K = 2)."""
    T = np.asarray(T, dtype=float)
    _require_two_qubit(T, "werner_visibility")
    return float(-(T[1, 1] + T[2, 2] + T[3, 3]) / 3.0)


def werner_state(V: float) -> np.ndarray:
    """``rho_W(V) = V |psi-><psi-| + (1 - V) 1/4`` with ``|psi-> = (|01> - |10>)/sqrt 2``."""
    return V * np.outer(_PSI_MINUS, _PSI_MINUS).astype(complex) + (1.0 - V) * np.eye(4) / 4.0


def werner_distance(rho: np.ndarray, V: float | None = None) -> float:
    """Trace norm ``||rho - rho_W(V)||_1`` (K = 2).

    This is the sum of the absolute eigenvalues of ``rho - rho_W(V)``, i.e.
    *twice* the trace distance ``(1/2)||rho - sigma||_1`` of Nielsen & Chuang;
    the value is kept for compatibility.  ``V`` defaults to
    :func:`werner_visibility` of ``rho``; it is ~0 for SU(2)-invariant states.
    A small value alone proves nothing about locality: the Werner levels of
    the verdict need a certificate (:mod:`.werner_cert`).
    """
    rho = np.asarray(rho, dtype=complex)
    if rho.shape != (4, 4):
        raise ValueError(f"werner_distance needs a 4x4 rho, got {rho.shape}")
    if V is None:
        V = werner_visibility(T_from_rho(rho))
    D = rho - werner_state(V)
    D = 0.5 * (D + D.conj().T)
    return float(np.sum(np.abs(np.linalg.eigvalsh(D))))


# --- Entanglement: partial transpose, negativity, concurrence --------------

def partial_transpose(rho: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """Partial transpose of ``rho`` on the given qubits (0 = most significant)."""
    rho = np.asarray(rho)
    d = rho.shape[0]
    n = int(round(math.log2(d)))
    X = rho.reshape((2,) * (2 * n))
    perm = list(range(2 * n))
    for q in qubits:
        perm[q], perm[n + q] = n + q, q
    return X.transpose(perm).reshape(d, d)


def _pt_eigs(rho: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    R = partial_transpose(rho, qubits)
    return np.linalg.eigvalsh(0.5 * (R + R.conj().T))


def negativity(rho: np.ndarray, qubits: Sequence[int] = (0,)) -> float:
    """Sum of ``|negative eigenvalues|`` of the partial transpose on ``qubits``.

    Equals ``(||rho^Gamma||_1 - 1)/2``; 1/2 for the singlet.
    """
    w = _pt_eigs(rho, qubits)
    return float(np.sum(np.maximum(-w, 0.0)) + 0.0)


def ppt(rho: np.ndarray, qubits: Sequence[int] = (0,), tol: float = th.NUMERIC_TOL) -> bool:
    """Positive partial transpose across the cut ``qubits | rest``.

    For two qubits PPT iff separable (Peres 1996; Horodecki 1996), and
    separable states are local for all measurements, POVMs included.
    """
    return bool(_pt_eigs(rho, qubits)[0] >= -tol)


def cut_spectra(rho: np.ndarray, groups: Sequence[Sequence[int]]) -> tuple[list[float], list[float]]:
    """Minimum partial-transpose eigenvalue and negativity for each cut ``group | rest``.

    Parameters
    ----------
    rho : ndarray
    groups : sequence of qubit-index sequences (one per region)

    Returns
    -------
    (min_eigs, negativities) : two lists of floats, one entry per group.
    """
    mins, negs = [], []
    for g in groups:
        w = _pt_eigs(rho, g)
        mins.append(float(w[0]))
        negs.append(float(np.sum(np.maximum(-w, 0.0)) + 0.0))
    return mins, negs


_YY = np.kron(PAULI[2], PAULI[2]).real  # real symmetric


def concurrence(rho: np.ndarray) -> float:
    """Wootters concurrence ``max(0, l1 - l2 - l3 - l4)`` (K = 2).

    ``l_i`` are the decreasing square roots of the eigenvalues of
    ``rho rho~`` with ``rho~ = (Y (x) Y) rho* (Y (x) Y)`` (Wootters, PRL 80,
    2245 (1998)).  They are computed as the singular values of the complex
    symmetric ``R = W^T (Y (x) Y) W`` for a factor ``rho = W W^dagger``
    (``W = U sqrt(Lambda)`` from the eigendecomposition): ``R^dagger R`` is
    similar to ``rho rho~``.  Taking singular values directly keeps full
    precision on low-rank states (absolute error ~1e-15), where square roots of
    the eigenvalues of ``rho rho~`` lose half the digits (errors ~1e-8 on pure
    states).
    """
    rho = np.asarray(rho, dtype=complex)
    if rho.shape != (4, 4):
        raise ValueError(f"concurrence needs a 4x4 rho, got {rho.shape}")
    w, U = np.linalg.eigh(0.5 * (rho + rho.conj().T))
    W = U * np.sqrt(np.clip(w, 0.0, None))
    lam = np.linalg.svd(W.T @ _YY @ W, compute_uv=False)
    return float(max(0.0, lam[0] - lam[1] - lam[2] - lam[3]))


# --- Grothendieck, monogamy, settings --------------------------------------

def grothendieck_local(T: np.ndarray) -> tuple[bool, float]:
    """Correlation-only LHV test ``sv_max(T[1:,1:]) <= 1/K_G(3)`` (0.6875).

    Returns ``(local, sv_max)``.  Covers correlation functions ``a^T T b``
    for all projective settings, not marginal terms (Acín, Gisin, Toner, PRA 73, 062105 (2006), with the SVD of T;
    Designolle et al. 2023 for the constant).
    """
    T = np.asarray(T, dtype=float)
    _require_two_qubit(T, "grothendieck_local")
    sv = float(np.linalg.svd(T[1:, 1:], compute_uv=False)[0])
    return bool(sv <= th.GROTHENDIECK_LOCAL + th.NUMERIC_TOL), sv


def monogamy_bound(sizes: Sequence[int]) -> float:
    """Singlet-monogamy bound ``V <= (R+2)/(3R)``, ``R = max(N_A, N_B)`` (K = 2).

    From ``sigma_i . sum_j sigma_j >= -(R+2)`` for a block of R spins (seed
    §V; Kay, Kaszlikowski, Ramanathan, PRL 103, 050501 (2009)).
    """
    if len(sizes) != 2:
        raise ValueError(f"monogamy_bound is defined for K = 2 regions, got {len(sizes)}")
    R = max(int(sizes[0]), int(sizes[1]))
    return (R + 2.0) / (3.0 * R)


def settings_bound(sizes: Sequence[int], M: int = 1) -> list[int]:
    """The seed's settings bound ``floor(N_X / M) + 1`` per region.

    Seed claim 3 (Ramanathan et al., PRL 107, 060405 (2011), symmetric
    extensions): M-body observables with ``S_X <= N_X / M`` settings on every
    region admit an LHV model.  So no Bell violation is possible with fewer
    than ``floor(N_X / M) + 1`` settings on every region; this is a lower
    bound on what a violation needs, *not* a prediction that one exists (a
    separable state violates nothing with any number of settings).

    Numerical backing (``examples/tradeoff.py``: a seesaw over all
    ``N_A + N_B``-qubit states and general +-1 M-body observables around the
    local-polytope LP, :func:`macrobell.observables.bell.mbody.state_search`):
    for ``(N_A, N_B, M) = (1, 1, 1), (1, 2, 1), (2, 2, 1), (2, 2, 2)`` no
    violation is found whenever ``S_X <= N_X / M`` on some region -- one
    region suffices, as in the one-sided symmetric-extension theorem of
    Terhal, Doherty & Schwab, PRL 90, 157903 (2003) -- while a violation is
    found at ``S = (2, 2)`` for ``(1, 1, 1)`` and ``(2, 2, 2)`` (visibility
    ``1/sqrt 2``) and at ``S = (3, 3)`` for ``(1, 2, 1)`` (visibility
    0.9841); for ``(2, 2, 1)`` none was found up to ``S = (4, 4)``, which the
    bound allows but does not promise.  The ``(2, 2, 2)`` row is reproduced by
    ``tests/observables/bell/test_mbody_bell.py::test_tradeoff_row_backs_settings_bound``.
    """
    return [int(N) // int(M) + 1 for N in sizes]


def min_settings_for_violation(sizes: Sequence[int], M: int = 1) -> list[int]:
    """Deprecated alias of :func:`settings_bound` (same values).

    The name reads like a prediction; it is the seed's bound only: fewer
    settings on every region never violate (numerical backing: see
    :func:`settings_bound` and ``examples/tradeoff.py``).
    """
    return settings_bound(sizes, M)


# --- The full table ----------------------------------------------------------

#: Keys of the ``bell`` hook of :func:`criteria` (results of the Bell engine).
BELL_KEYS = ("nonlocal", "wwzb_ratio", "lhs_local")
_NONLOCAL_KEYS = ("inequality", "settings_count", "value", "local_bound", "settings")


def _check_bell(bell: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate the ``bell`` hook before any work; returns a plain dict."""
    if bell is None:
        return {}
    if not isinstance(bell, Mapping):
        raise ValueError(f"bell must be a mapping with keys from {BELL_KEYS}, got {type(bell).__name__}")
    unknown = sorted(set(bell) - set(BELL_KEYS))
    if unknown:
        raise ValueError(f"bell: unknown keys {unknown}; allowed: {BELL_KEYS}")
    out = dict(bell)
    nv = out.get("nonlocal")
    if nv is not None:
        if not isinstance(nv, Mapping) or set(_NONLOCAL_KEYS) - set(nv):
            raise ValueError(f"bell['nonlocal'] must be a mapping with keys {_NONLOCAL_KEYS}")
        value, bound = float(nv["value"]), float(nv["local_bound"])
        if not value > bound + th.NUMERIC_TOL:
            raise ValueError(f"bell['nonlocal'] must be a found violation: value {value} "
                             f"does not exceed local_bound {bound}")
        count = nv["settings_count"]
        count = int(count) if np.ndim(count) == 0 else [int(c) for c in count]
        try:  # one list of Bloch vectors per party; parties may differ in length
            settings = [[[float(x) for x in np.ravel(v)] for v in party] for party in nv["settings"]]
        except TypeError as exc:
            raise ValueError("bell['nonlocal']['settings'] must be one list of Bloch vectors "
                             "per party") from exc
        out["nonlocal"] = {"inequality": str(nv["inequality"]), "settings_count": count,
                           "value": value, "local_bound": bound, "settings": settings}
    if out.get("wwzb_ratio") is not None:
        out["wwzb_ratio"] = float(out["wwzb_ratio"])
        if not out["wwzb_ratio"] >= 0.0:
            raise ValueError(f"bell['wwzb_ratio'] must be a number >= 0, got {out['wwzb_ratio']}")
    if out.get("lhs_local") is not None and not isinstance(out["lhs_local"], (bool, np.bool_)):
        raise ValueError(f"bell['lhs_local'] must be True, False or None, got {out['lhs_local']!r}")
    return out


def _check_bell_consistency(out: Mapping[str, Any], extra: Mapping[str, Any]) -> None:
    """A Bell-engine result that contradicts a theorem is a bug upstream: refuse it."""
    two_qubit = out["K"] == 2 and out["M"] == 1
    if extra.get("nonlocal") is not None and two_qubit and out["ppt"]:
        raise ValueError("bell['nonlocal'] reports a violation by a separable (PPT two-qubit) state")
    if extra.get("lhs_local") and out["nonlocal"] is not None:
        raise ValueError(f"bell['lhs_local'] is True but {out['nonlocal']['inequality']} is violated")


def _werner_certificates(rho: np.ndarray, T: np.ndarray) -> dict[str, dict[str, Any] | None]:
    """Verified Werner certificates at the POVM and projective thresholds.

    ``V' = threshold`` is no loss of generality (a lower ``V''`` is a mixture
    of ``rho_W(V')`` and the separable 1/4).  The Werner family's own frame
    is tried first, then the closest local frame of B (:func:`werner_frame`).
    """
    frame = werner_frame(T)
    certs: dict[str, dict[str, Any] | None] = {}
    for level, bound in (("local-povm", th.WERNER_LOCAL_POVM),
                         ("local-projective", th.WERNER_LOCAL_PROJECTIVE)):
        cert = werner_certificate(rho, bound)
        if (cert is None or not cert.verified) and frame is not None \
                and np.max(np.abs(frame - np.eye(2))) > 1e-12:
            cert = werner_certificate(rho, bound, frame=frame) or cert
        certs[level] = None if cert is None else cert.as_dict()
    return certs


def _entangled(K: int, M: int, pt_min: Sequence[float]) -> bool | None:
    """NPT across some region cut proves entanglement; PPT proves separability
    only for two qubits (K = 2, M = 1); otherwise unknown (None)."""
    if min(pt_min) < -th.NUMERIC_TOL:
        return True
    return False if (K == 2 and M == 1) else None


def criteria(
    T: np.ndarray,
    sizes: Sequence[int],
    M: int = 1,
    rho: np.ndarray | None = None,
    werner_tol: float = 1e-6,
    seed: int = 0,
    *,
    zb_starts: int = 16,
    bloch_tol: float = 1e-8,
    bell: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every criterion of docs/physics.md for an effective state, plus the verdict.

    Parameters
    ----------
    T : ndarray, shape (4,)*(K*M)
        Correlation tensor; for M > 1 the qubits are grouped by region
        (region 0's M qubits first).
    sizes : sequence of int
        Region sizes ``N_X`` (length K).
    M : int
        Body order of the observables.
    rho : ndarray, optional
        Density matrix matching ``T`` (computed from ``T`` if omitted).
    werner_tol : float
        Kept for compatibility; no longer decides anything (the Werner levels
        need a verified certificate, see ``werner_certificates``).
    seed : int
        Seed of the random starts of :func:`zb_max` (K >= 3).
    zb_starts : int
        Random starts of :func:`zb_max`.
    bloch_tol : float
        Bloch-vector norm below which the state counts as a T-state.
    bell : mapping, optional
        Results of the Bell engine (:mod:`macrobell.observables.bell`) for the
        verdict table; keys (all optional) from :data:`BELL_KEYS`:

        * ``"nonlocal"``: a *found* violation, ``{"inequality": str,
          "settings_count": int (or one int per party), "value": float, "local_bound": float,
          "settings": nested lists of Bloch vectors per party}`` with
          ``value > local_bound`` (else ValueError).  Used when CHSH
          (Horodecki) is not violated;
        * ``"wwzb_ratio"``: maximal exact WWZB ratio to the local bound
          (K >= 3); ``<= 1`` grants ``local-2-setting``.  The caller vouches
          that it is a maximum over settings, not a search's lower bound;
        * ``"lhs_local"``: True when an LHS certificate holds (grants
          ``local-projective``).

        Unknown keys or malformed values raise ValueError before any work.

    Returns
    -------
    dict
        JSON-serialisable (values are bool, int, float, str, None, lists and
        dicts of these).  Floats that do not apply are ``nan``; bools,
        strings and dicts that do not apply are ``None``.  Keys:

        ``K``, ``M`` (int); ``chsh_max`` (K=2, M=1); ``zb_max``, ``zb_upper``
        (M=1, any K; ``zb_max`` is a local-search lower bound for K >= 3);
        ``werner_V``, ``werner_distance`` (``||rho - rho_W(V)||_1``, twice the
        trace distance) (K=2, M=1); ``werner_certificates`` (K=2, M=1: dict
        ``{"local-povm": c, "local-projective": c}``, each ``c`` either None
        or ``{"V", "t", "min_eig", "min_pt_eig", "residual", "verified",
        "frame"}`` for ``rho = (1-t) (1 (x) U) rho_W(V) (1 (x) U)^dagger +
        t sigma``, sigma PPT, ``frame`` = None (``U = 1``) or the 3x3
        rotation of ``U`` on B's Bloch vectors; see :mod:`.werner_cert`); ``ppt`` (bool, every region-vs-rest cut PPT;
        for K=2, M=1 iff separable); ``entangled`` (True: NPT across some
        region cut; False: K=2, M=1 and PPT (separable); None: unknown,
        PPT across every region cut of K*M > 2 qubits); ``negativity`` (max
        over region cuts); ``negativity_cuts``, ``pt_min_eig`` (lists, one
        per region); ``concurrence`` (K=2, M=1); ``steering`` (value),
        ``steering_method`` ("t-state"|"bowles"), ``unsteerable`` (K=2,
        M=1); ``grothendieck_local`` (bool), ``sv_max`` (K=2, M=1);
        ``monogamy_bound`` (float), ``monogamy_ok`` (bool) (K=2, M=1);
        ``nonlocal`` (dict of the found violation, see ``bell``, or None; for
        K=2, M=1 CHSH > 2 gives ``{"inequality": "CHSH", "settings_count": 2,
        "value": chsh_max, "local_bound": 2, "settings": [[a, a'], [b, b']]}``
        from :func:`chsh_settings`); ``wwzb_ratio`` (float, from ``bell``),
        ``lhs_local`` (bool, from ``bell``); ``no_violation_below_settings``
        (list of int, :func:`settings_bound`: the seed's bound, fewer
        settings on every region never violate); ``min_settings_for_violation``
        (deprecated alias, same list); ``verdict`` (a level of
        :data:`VERDICTS`), ``verdict_reason``, ``verdict_guarantee`` (what
        the level proves: measurement class and settings count),
        ``werner_bounds_used`` (str).
    """
    T = np.asarray(T)
    if np.iscomplexobj(T):
        T = T.real
    T = T.astype(float)
    sizes = [int(n) for n in sizes]
    K, M = len(sizes), int(M)
    if K < 2:
        raise ValueError(f"need K >= 2 regions, got sizes={sizes}")
    if M < 1:
        raise ValueError(f"M must be >= 1, got {M}")
    if T.shape != (4,) * (K * M):
        raise ValueError(f"T has shape {T.shape}, expected (4,)*{K * M} for K={K}, M={M}")
    extra = _check_bell(bell)
    if rho is None:
        rho = rho_from_T(T)
    rho = np.asarray(rho, dtype=complex)

    groups = [list(range(X * M, (X + 1) * M)) for X in range(K)]
    pt_min, negs = cut_spectra(rho, groups)
    bound = settings_bound(sizes, M)
    out: dict[str, Any] = {
        "K": K, "M": M, "chsh_max": _NAN, "zb_max": _NAN, "zb_upper": _NAN,
        "werner_V": _NAN, "werner_distance": _NAN, "werner_certificates": None,
        "ppt": bool(min(pt_min) >= -th.NUMERIC_TOL), "entangled": _entangled(K, M, pt_min),
        "negativity": float(max(negs)), "negativity_cuts": negs, "pt_min_eig": pt_min,
        "concurrence": _NAN, "steering": _NAN, "steering_method": None, "unsteerable": None,
        "grothendieck_local": None, "sv_max": _NAN, "monogamy_bound": _NAN, "monogamy_ok": None,
        "nonlocal": extra.get("nonlocal"),
        "wwzb_ratio": _NAN if extra.get("wwzb_ratio") is None else extra["wwzb_ratio"],
        "lhs_local": None if extra.get("lhs_local") is None else bool(extra["lhs_local"]),
        "no_violation_below_settings": bound, "min_settings_for_violation": list(bound),
    }
    if M == 1:
        out["zb_max"] = zb_max(T, n_starts=zb_starts, seed=seed)
        out["zb_upper"] = zb_upper(T)
    if M == 1 and K == 2:
        _two_qubit_criteria(out, T, rho, sizes, bloch_tol)
    _check_bell_consistency(out, extra)
    rule, reason = verdict_rule(out)
    out["verdict"] = "unknown" if rule is None else rule.level
    out["verdict_reason"] = reason
    out["verdict_guarantee"] = "nothing proven" if rule is None else rule.guarantee()
    out["werner_bounds_used"] = th.werner_bounds_summary()
    return out


def _two_qubit_criteria(out: dict[str, Any], T: np.ndarray, rho: np.ndarray,
                        sizes: Sequence[int], bloch_tol: float) -> None:
    V = werner_visibility(T)
    value, method, unsteerable = steering(T, bloch_tol=bloch_tol)
    local, sv = grothendieck_local(T)
    mono = monogamy_bound(sizes)
    chsh = chsh_max(T)
    out.update(
        chsh_max=chsh, werner_V=V, werner_distance=werner_distance(rho, V),
        werner_certificates=_werner_certificates(rho, T),
        concurrence=concurrence(rho), steering=float(value), steering_method=method,
        unsteerable=unsteerable, grothendieck_local=local, sv_max=sv, monogamy_bound=mono,
        monogamy_ok=bool(V <= mono + th.NUMERIC_TOL),
    )
    if math.isinf(out["steering"]):
        out["steering"] = _NAN
    if chsh > th.CHSH_CLASSICAL + th.NUMERIC_TOL:
        # Horodecki's explicit violation takes precedence over one from the Bell engine.
        reached, settings = chsh_settings(T)
        out["nonlocal"] = {"inequality": "CHSH", "settings_count": 2, "value": reached,
                           "local_bound": th.CHSH_CLASSICAL, "settings": settings}
