"""Behaviours and correlators of projective qubit measurements on an effective state.

Conventions
-----------
* Party ``X`` (region ``X`` of the effective state, ``M = 1``: one qubit per
  party) measures the Pauli observable ``A^X_x = n_{X,x} . sigma`` for setting
  ``x``, with ``n_{X,x}`` a unit Bloch vector; outcomes are ``+1`` and ``-1``
  (Pauli eigenvalues, not spin-1/2 ``+-1/2``).
* ``settings`` is a list of K arrays, ``settings[X]`` of shape ``(S_X, 3)``.
* The behaviour is ``p[a_1, ..., a_K, x_1, ..., x_K] = p(a_1...a_K | x_1...x_K)
  = Tr(rho (x)_X (1 + s(a_X) n_{X,x_X} . sigma) / 2)`` with outcome index
  ``a = 0 <-> +1`` and ``a = 1 <-> -1`` (``s(0) = +1``, ``s(1) = -1``).
* The *extended* correlator tensor ``C`` has shape ``(S_1+1, ..., S_K+1)``;
  index ``0`` of party ``X`` means "not measured" (the identity), index
  ``x >= 1`` means setting ``x - 1``.  So ``C[0, ..., 0] = 1``, single-party
  indices give marginals ``<A^X_x>`` and the rest are (full or partial)
  correlators ``< prod_{X: x_X > 0} A^X_{x_X - 1} >``.  For a no-signalling
  behaviour (every quantum one) ``C`` and ``p`` determine each other.

Both are computed directly from the Pauli tensor ``T`` of the effective
state by contracting each party's index with ``[1, s n]`` (Pauli
expectation values are linear in ``T``), never forming ``2^K x 2^K``
operators.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._pauli import rho_from_T

__all__ = ["correlations", "correlators", "check_settings", "extended_vectors",
           "correlators_from_T", "bell_operator", "UNIT_TOL"]

#: Allowed deviation of ``|n|`` from 1 for a measurement direction.  Loose
#: enough for directions normalised in double precision and written to text,
#: tight enough that a non-unit vector (an unphysical "measurement") is caught.
UNIT_TOL = 1e-8


def _check_eff(eff: Any, where: str) -> None:
    T = getattr(eff, "T", None)
    if T is None or not hasattr(eff, "sizes"):
        raise ValueError(f"{where}: expected an EffectiveState (with attributes T, sizes, M), "
                         f"got {type(eff).__name__}")
    if getattr(eff, "M", 1) != 1:
        raise ValueError(f"{where}: needs one qubit per party (M = 1), got an effective state with "
                         f"M={eff.M}")
    if np.shape(T) != (4,) * len(eff.sizes):
        raise ValueError(f"{where}: T has shape {np.shape(T)}, expected (4,)*K with K={len(eff.sizes)}")


def check_settings(eff: Any, settings: Sequence[Any], where: str = "settings") -> list[np.ndarray]:
    """Validate measurement settings for ``eff`` and return them as float arrays.

    Parameters
    ----------
    eff : EffectiveState
        Effective state with ``M = 1`` (one qubit per party).
    settings : sequence of K array-likes
        ``settings[X]`` has shape ``(S_X, 3)`` (or ``(3,)`` for one setting):
        unit Bloch vectors, ``| |n| - 1 | <= UNIT_TOL``.

    Returns
    -------
    list of ndarray, shape (S_X, 3)

    Raises
    ------
    ValueError
        Not an ``M = 1`` effective state, wrong number of parties, wrong
        shape, no setting for a party, non-finite or non-unit vectors.
    """
    _check_eff(eff, where)
    K = len(eff.sizes)
    if isinstance(settings, np.ndarray) and settings.ndim == 3:
        settings = list(settings)
    if isinstance(settings, (str, bytes)) or not isinstance(settings, (Sequence, np.ndarray)):
        raise ValueError(f"{where}: settings must be a list of K={K} arrays of shape (S_X, 3), "
                         f"got {type(settings).__name__}")
    if len(settings) != K:
        raise ValueError(f"{where}: settings has {len(settings)} parties, the effective state has K={K}")
    out = []
    for X, s in enumerate(settings):
        try:
            a = np.array(s, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: settings[{X}] must be a numeric array of shape (S_X, 3)") from None
        if a.ndim == 1:
            a = a.reshape(1, -1)
        if a.ndim != 2 or a.shape[1] != 3 or a.shape[0] < 1:
            raise ValueError(f"{where}: settings[{X}] must have shape (S_X, 3) with S_X >= 1, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{where}: settings[{X}] has non-finite entries")
        norms = np.linalg.norm(a, axis=1)
        bad = np.flatnonzero(np.abs(norms - 1.0) > UNIT_TOL)
        if bad.size:
            raise ValueError(f"{where}: settings[{X}] rows {bad.tolist()} are not unit vectors "
                             f"(norms {norms[bad].tolist()}; allowed | |n| - 1 | <= {UNIT_TOL})")
        out.append(a)
    return out


def extended_vectors(n: np.ndarray) -> np.ndarray:
    """Rows ``[1, 0, 0, 0]`` and ``[0, n_x]`` (shape ``(S+1, 4)``): the Pauli
    coefficients of the identity and of each observable ``n_x . sigma``."""
    n = np.asarray(n, dtype=float)
    W = np.zeros((n.shape[0] + 1, 4))
    W[0, 0] = 1.0
    W[1:, 1:] = n
    return W


def _contract(T: np.ndarray, mats: Sequence[np.ndarray]) -> np.ndarray:
    """``sum_a T[a_1..a_K] prod_X mats[X][i_X, a_X]`` with the new indices in party order."""
    Y = np.asarray(T, dtype=float)
    for W in mats:
        # The leading axis is always the next party's Pauli index; the new
        # axis goes to the end, so after K steps the order is i_1..i_K.
        Y = np.tensordot(Y, W, axes=([0], [1]))
    return Y


def correlators_from_T(T: np.ndarray, settings: Sequence[np.ndarray]) -> np.ndarray:
    """Extended correlator tensor (see module docstring) from a Pauli tensor, unvalidated."""
    return _contract(T, [extended_vectors(n) for n in settings])


def correlators(eff: Any, settings: Sequence[Any]) -> np.ndarray:
    """Extended correlator tensor ``C`` of ``eff`` for the given settings.

    Parameters
    ----------
    eff : EffectiveState (M = 1)
    settings : list of K arrays of shape (S_X, 3), unit vectors

    Returns
    -------
    C : ndarray, shape (S_1+1, ..., S_K+1)
        ``C[i_1..i_K] = < prod_{X: i_X > 0} n_{X, i_X - 1} . sigma^X >`` on
        ``rho_eff`` (Pauli observables, eigenvalues +-1); ``C[0..0] = 1``.
        The full correlators ``E(x_1..x_K)`` are ``C[1:, ..., 1:]``.
    """
    settings = check_settings(eff, settings, "correlators")
    return correlators_from_T(eff.T, settings)


def correlations(eff: Any, settings: Sequence[Any]) -> np.ndarray:
    """The behaviour ``p(a_1...a_K | x_1...x_K)`` of projective +-1 measurements.

    Parameters
    ----------
    eff : EffectiveState (M = 1)
    settings : list of K arrays of shape (S_X, 3), unit vectors

    Returns
    -------
    p : ndarray, shape (2,)*K + (S_1, ..., S_K)
        ``p[a_1..a_K, x_1..x_K] = Tr(rho_eff (x)_X (1 + s(a_X) n_{X,x_X}.sigma)/2)``
        with outcome index 0 <-> +1, 1 <-> -1.  Sums to 1 over the ``a``
        indices for every ``x``.
    """
    settings = check_settings(eff, settings, "correlations")
    mats = []
    for n in settings:
        # V[a, x, :] = [1, s(a) n_x] / 2, flattened to rows (a, x).
        V = np.zeros((2, n.shape[0], 4))
        V[:, :, 0] = 0.5
        V[0, :, 1:] = 0.5 * n
        V[1, :, 1:] = -0.5 * n
        mats.append(V.reshape(-1, 4))
    Y = _contract(eff.T, mats)
    K = len(settings)
    Y = Y.reshape(sum(((2, n.shape[0]) for n in settings), ()))
    perm = [2 * X for X in range(K)] + [2 * X + 1 for X in range(K)]
    return np.ascontiguousarray(Y.transpose(perm))


def bell_operator(coefficients: np.ndarray, settings: Sequence[Any]) -> np.ndarray:
    """Bell operator ``sum_i beta[i] (x)_X W_X[i_X] . sigma`` as a ``2^K x 2^K`` matrix.

    ``coefficients`` is an extended-correlator coefficient tensor of shape
    ``(S_1+1, ..., S_K+1)`` (index 0 = identity, see the module docstring),
    so that ``Tr(rho B) = sum_i beta[i] C[i]``.  Meant for small K (state
    optimisation for fixed settings); qubit 0 is the most significant factor.
    """
    beta = np.asarray(coefficients, dtype=float)
    settings = [np.asarray(n, dtype=float).reshape(-1, 3) for n in settings]
    if beta.shape != tuple(n.shape[0] + 1 for n in settings):
        raise ValueError(f"bell_operator: coefficients have shape {beta.shape}, settings need "
                         f"{tuple(n.shape[0] + 1 for n in settings)}")
    # Pauli coefficients of the operator: G[a_1..a_K] = sum_i beta[i] prod W[i_X, a_X].
    G = _contract(beta, [extended_vectors(n).T for n in settings])
    # rho_from_T is this Pauli expansion with the 2^-K of a density matrix.
    return rho_from_T(G) * 2 ** len(settings)
