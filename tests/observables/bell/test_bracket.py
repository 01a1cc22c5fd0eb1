"""Oracle tests for the critical-visibility bracket and the two-sided LHV certificate.

Oracles: the Werner thresholds of references.md (some Bell inequality is
violated above 0.6961, CHSH above 1/sqrt 2; Designolle et al. 2023),
Horodecki's CHSH value (nothing certified local may violate it), and an
independent full-enumeration LP over all deterministic strategies for the
column-generation optimum.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from macrobell.observables import thresholds as th
from macrobell.observables.bell import bracket as br
from macrobell.observables.bell import _icosahedral as ico
from macrobell.observables.bell.bracket import (VisibilityBracket, bracket, lhv_certificate,
                                               werner_lhv_certificate)
from macrobell.observables.bell.lhs import measurement_polyhedron
from macrobell.observables.criteria import T_from_rho, chsh_max, werner_state
from macrobell.observables.effective import EffectiveState


def _eff(rho):
    return EffectiveState(T=T_from_rho(rho), sizes=(3, 3))


def _random_rho(rng, rank=3, p_min=0.3):
    G = rng.standard_normal((4, rank)) + 1j * rng.standard_normal((4, rank))
    rho = G @ G.conj().T
    rho /= np.trace(rho).real
    p = rng.uniform(p_min, 1.0)
    return p * rho + (1 - p) * np.eye(4) / 4


def _full_enumeration_visibility(T, nA, nB):
    """Largest v with the shrunk finite behaviour of v rho + (1-v)/4 in the full local polytope.

    Written from the definition with p(a, b | x, y) tables and all 2^(nA+nB)
    deterministic strategies (independent of the column-generation code).
    """
    alpha, eA = measurement_polyhedron(nA)
    beta, eB = measurement_polyhedron(nB)
    eA, eB = eA - 1e-12, eB - 1e-12

    def p_table(v):
        P = np.empty((nA, nB, 2, 2))
        for x, y, (i, a), (j, b) in itertools.product(range(nA), range(nB), enumerate((1, -1)),
                                                      enumerate((1, -1))):
            P[x, y, i, j] = 0.25 * (1 + a * v * alpha[x] @ T[1:, 0] / eA + b * v * beta[y] @ T[0, 1:] / eB
                                    + a * b * v * alpha[x] @ T[1:, 1:] @ beta[y] / (eA * eB))
        return P.ravel()

    cols = []
    for lam in itertools.product((0, 1), repeat=nA + nB):
        D = np.zeros((nA, nB, 2, 2))
        for x, y in itertools.product(range(nA), range(nB)):
            D[x, y, lam[x], lam[nA + y]] = 1.0
        cols.append(D.ravel())
    D = np.array(cols).T
    P0, P1 = p_table(0.0), p_table(1.0) - p_table(0.0)
    c = np.zeros(D.shape[1] + 1)
    c[-1] = -1
    res = linprog(c, A_eq=np.hstack([D, -P1[:, None]]), b_eq=P0,
                  bounds=[(0, None)] * D.shape[1] + [(0, 2.0)], method="highs")
    assert res.status == 0
    return float(res.x[-1])


def test_column_generation_matches_full_enumeration_lp():
    rng = np.random.default_rng(2)
    for T in (T_from_rho(werner_state(1.0)), T_from_rho(_random_rho(rng, rank=1, p_min=0.9))):
        cert = lhv_certificate(EffectiveState(T=T, sizes=(2, 2)), (4, 5), seed=1)
        assert cert.converged
        assert cert.solver_visibility == pytest.approx(_full_enumeration_visibility(T, 4, 5), abs=1e-7)
        assert cert.certified_visibility <= cert.solver_visibility
        assert cert.certified_visibility == pytest.approx(cert.solver_visibility, abs=1e-6)
        assert cert.model_error < 1e-9


def test_werner_bracket_is_sound_and_beats_lhs():
    b = bracket(_eff(werner_state(1.0)), lhs_directions=6, lhv_directions=6)
    assert b.v_nonlocal == pytest.approx(1 / math.sqrt(2), abs=1e-12)     # Horodecki CHSH
    assert b.v_local <= th.WERNER_BELL_VIOLATED                            # never past 0.6961
    assert b.v_local <= b.v_nonlocal
    assert b.lhv_visibility > b.lhs_visibility                             # the two-sided polyhedra help
    assert b.local_method == "lhv"
    json.dumps(b.to_dict())
    assert isinstance(b, VisibilityBracket)
    bw = bracket(_eff(werner_state(1.0)), lhs_directions=6, lhv_directions=None,
                 werner_options={"shells": 0, "max_iterations": 3})
    assert 0 < bw.lhv_visibility <= th.WERNER_BELL_VIOLATED and bw.v_local >= bw.lhs_visibility


def test_nothing_certified_local_violates_chsh_on_random_states():
    rng = np.random.default_rng(8)
    for _ in range(5):
        rho = _random_rho(rng)
        cert = lhv_certificate(_eff(rho), 5, seed=0, max_iterations=20)
        T = T_from_rho(rho)
        # rho(v) has correlation block v T: its CHSH value v chsh_max(T) may not exceed 2.
        assert cert.certified_visibility * chsh_max(T) <= 2.0 + 1e-9
        b = bracket(_eff(rho), lhs_directions=5, lhv_directions=None)
        assert b.v_local <= b.v_nonlocal + 1e-9


def test_repair_shrinks_a_perturbed_lp_model():
    T = T_from_rho(werner_state(1.0))
    alpha, eA = measurement_polyhedron(4)
    A = np.array(list(itertools.product((1.0, -1.0), repeat=4)))
    SA = np.repeat(A, len(A), axis=0)
    SB = np.tile(A, (len(A), 1))
    D = br._columns(SA, SB)
    P0 = np.zeros(D.shape[0])
    P0[0] = 1.0
    P1 = np.concatenate([[0.0], np.zeros(8), (alpha @ T[1:, 1:] @ alpha.T).ravel() / eA**2])
    v_s, w, _ = br._solve_lp(D, P0, P1, 2.0)
    w_bad = w + 1e-4 * np.random.default_rng(0).random(w.shape)
    v_c, residual, err = br._repair_lhv(D, w_bad, v_s, P0, P1)
    assert residual > 1e-3 and 0 < v_c < v_s and err < 1e-9


def test_bad_input_is_refused():
    eff = _eff(werner_state(0.5))
    with pytest.raises(ValueError, match="n_directions"):
        lhv_certificate(eff, 2)
    with pytest.raises(ValueError, match="n_directions"):
        lhv_certificate(eff, (4, 4, 4))
    with pytest.raises(ValueError, match="max_iterations"):
        lhv_certificate(eff, 4, max_iterations=0)
    with pytest.raises(ValueError, match="two-qubit"):
        bracket(EffectiveState(T=T_from_rho(np.eye(8) / 8), sizes=(1, 1, 1)))
    with pytest.raises(ValueError, match="lhs_directions"):
        bracket(eff, lhs_directions=6.0)


def _full_pair_correlations(model):
    """Correlations of the group-averaged model on *all* pairs, from the definition
    E(x, y) = mean_g s_x(g) s_y(g) sum_l w_l a_l[pi_g x] b_l[pi_g y]."""
    C = model["A"].T @ (model["weights"][:, None] * model["B"])
    perm, s = ico.axis_action(model["alpha"])
    E = np.zeros_like(C)
    for g in range(perm.shape[0]):
        E += s[g][:, None] * s[g][None, :] * C[np.ix_(perm[g], perm[g])]
    return E / perm.shape[0]


def test_icosahedral_polyhedra_and_group():
    G = ico.rotation_group()
    assert G.shape == (60, 3, 3)
    assert np.allclose(np.einsum("gij,gkj->gik", G, G), np.eye(3)) and np.allclose(np.linalg.det(G), 1.0)
    assert ico.icosahedral_axes(0).shape == (31, 3) and ico.icosahedral_axes(1).shape == (91, 3)


@pytest.mark.parametrize("seed", [3])
def test_werner_lhv_model_reproduces_every_pair_and_is_sound(seed):
    from scipy.stats import special_ortho_group

    T = T_from_rho(werner_state(1.0))
    if seed:
        # Local rotations: T -> Ra T Rb^T is still c * orthogonal, same critical visibility.
        T = T.copy()
        T[1:, 1:] = special_ortho_group.rvs(3, random_state=seed) @ T[1:, 1:] @ special_ortho_group.rvs(
            3, random_state=seed + 1).T
    cert, model = br._werner_lhv(EffectiveState(T=T, sizes=(4, 4)), 0, max_iterations=20, seed=0)
    v = cert.certified_visibility
    # Independent reconstruction on all 31 x 31 pairs: chi(v) correlations alpha_x^T (v T) beta_y / eta^2.
    target = v * model["alpha"] @ T[1:, 1:] @ model["beta"].T / model["eta"] ** 2
    assert np.max(np.abs(_full_pair_correlations(model) - target)) < 1e-9
    assert np.min(model["weights"]) >= 0 and abs(np.sum(model["weights"]) - 1) < 1e-12
    assert 0.5 < v <= th.WERNER_BELL_VIOLATED           # beyond steering, never past 0.6961
    assert cert.model_error < 1e-9


def test_werner_lhv_refuses_other_states():
    T = T_from_rho(werner_state(0.5))
    T2 = T.copy()
    T2[3, 3] *= 0.5
    with pytest.raises(ValueError, match="singular values"):
        werner_lhv_certificate(EffectiveState(T=T2, sizes=(2, 2)))
    T3 = T.copy()
    T3[3, 0] = 0.05
    with pytest.raises(ValueError, match="Bloch"):
        werner_lhv_certificate(EffectiveState(T=T3, sizes=(2, 2)))
    with pytest.raises(ValueError, match="shells"):
        werner_lhv_certificate(EffectiveState(T=T, sizes=(2, 2)), shells=5)


@pytest.mark.slow
def test_werner_31_axes_converged():
    cert = werner_lhv_certificate(_eff(werner_state(1.0)), 0)
    assert cert.converged
    assert 0.63 < cert.certified_visibility <= th.WERNER_BELL_VIOLATED


@pytest.mark.slow
def test_werner_lhv_beyond_steering_with_finer_polyhedra():
    cert = lhv_certificate(_eff(werner_state(1.0)), 12, seed=0, max_iterations=60)
    # Beyond the exact steering threshold 1/2, and never past the nonlocality bound.
    assert 0.5 < cert.certified_visibility <= th.WERNER_BELL_VIOLATED
