"""Behaviours and the local-polytope LP, against density-matrix traces and brute force."""

import itertools
import math

import numpy as np
import pytest

from macrobell.observables import bell
from macrobell.observables.bell import lp as lpmod
from macrobell.observables.bell.behaviour import bell_operator
from macrobell.observables.criteria import PAULI, T_from_rho, werner_state
from macrobell.observables.effective import EffectiveState


def rand_rho(rng, n, rank):
    G = rng.standard_normal((2**n, rank)) + 1j * rng.standard_normal((2**n, rank))
    rho = G @ G.conj().T
    return rho / np.trace(rho).real


def eff_of(rho):
    n = int(round(math.log2(rho.shape[0])))
    return EffectiveState(T=T_from_rho(rho), sizes=(1,) * n)


def rand_settings(rng, S):
    out = []
    for s in S:
        v = rng.standard_normal((s, 3))
        out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    return out


def projector(n, a):
    """(1 + s(a) n.sigma)/2 with a = 0 <-> +1."""
    op = np.einsum("k,kij->ij", n, PAULI[1:])
    return (PAULI[0] + (1 - 2 * a) * op) / 2


def kron_all(ops):
    out = np.array([[1.0 + 0j]])
    for o in ops:
        out = np.kron(out, o)
    return out


def deterministic_p(outcomes, S):
    """Behaviour of one deterministic strategy (outcomes: +-1, party 0's settings first)."""
    K = len(S)
    p = np.zeros((2,) * K + tuple(S))
    off = np.cumsum([0] + list(S))
    for x in itertools.product(*[range(s) for s in S]):
        a = tuple(0 if outcomes[off[X] + x[X]] > 0 else 1 for X in range(K))
        p[a + x] = 1.0
    return p


# --- behaviour ---------------------------------------------------------------

@pytest.mark.parametrize("n,S", [(2, (2, 3)), (3, (2, 1, 2))])
def test_correlations_equal_density_matrix_traces(n, S):
    rng = np.random.default_rng(1)
    rho = rand_rho(rng, n, 2)
    eff = eff_of(rho)
    st = rand_settings(rng, S)
    p = bell.correlations(eff, st)
    assert p.shape == (2,) * n + S
    for x in itertools.product(*[range(s) for s in S]):
        for a in itertools.product(range(2), repeat=n):
            P = kron_all([projector(st[X][x[X]], a[X]) for X in range(n)])
            assert p[a + x] == pytest.approx(np.trace(rho @ P).real, abs=1e-12)
    np.testing.assert_allclose(p.sum(axis=tuple(range(n))), 1.0, atol=1e-12)


def test_correlators_and_bell_operator_equal_traces():
    rng = np.random.default_rng(2)
    rho = rand_rho(rng, 3, 3)
    eff = eff_of(rho)
    st = rand_settings(rng, (2, 2, 1))
    C = bell.correlators(eff, st)
    assert C.shape == (3, 3, 2) and C[0, 0, 0] == pytest.approx(1.0)
    obs = [[PAULI[0]] + [np.einsum("k,kij->ij", n, PAULI[1:]) for n in s] for s in st]
    for i in np.ndindex(*C.shape):
        op = kron_all([obs[X][i[X]] for X in range(3)])
        assert C[i] == pytest.approx(np.trace(rho @ op).real, abs=1e-12)
    beta = rng.standard_normal(C.shape)
    B = bell_operator(beta, st)
    assert np.trace(rho @ B).real == pytest.approx(np.sum(beta * C), abs=1e-12)


def test_bad_settings_are_refused():
    eff = eff_of(werner_state(0.5))
    z = np.array([[0, 0, 1.0]])
    with pytest.raises(ValueError, match="not unit vectors"):
        bell.correlations(eff, [z, np.array([[0, 0, 1.1]])])
    with pytest.raises(ValueError, match="3 parties"):
        bell.correlations(eff, [z, z, z])
    with pytest.raises(ValueError, match="shape"):
        bell.local_visibility(eff, [z, np.zeros((2, 2))])
    with pytest.raises(ValueError, match="non-finite"):
        bell.correlators(eff, [z, np.array([[np.nan, 0, 1]])])
    with pytest.raises(ValueError, match="at most sum_X S_X = 20"):
        bell.local_visibility(eff, [np.tile(z, (11, 1)), np.tile(z, (10, 1))])
    with pytest.raises(ValueError, match="at most sum_X S_X = 20"):
        bell.search(eff, settings=[11, 10])
    with pytest.raises(ValueError, match="EffectiveState"):
        bell.correlations(np.eye(4), [z, z])
    with pytest.raises(ValueError, match="M = 1"):
        rho4 = rand_rho(np.random.default_rng(0), 4, 4)
        bell.correlations(EffectiveState(T=T_from_rho(rho4), sizes=(2, 2), M=2), [z, z])


# --- the LP ------------------------------------------------------------------

def chsh_settings():
    s = 1 / math.sqrt(2)
    return [np.array([[0, 0, 1.0], [1, 0, 0]]), np.array([[s, 0, s], [-s, 0, s]])]


@pytest.mark.parametrize("v", [0.3, 0.5, 0.7, 0.75, 0.9, 1.0])
def test_werner_visibility_at_chsh_settings(v):
    # Werner correlations at the optimal CHSH settings are v/sqrt2 in magnitude
    # and the marginals vanish: eta* = 1/(sqrt2 v) (positivity binds only at sqrt2/v).
    res = bell.local_visibility(eff_of(werner_state(v)), chsh_settings())
    assert res.visibility == pytest.approx(1 / (math.sqrt(2) * v), abs=1e-8)
    assert res.violated == (v > 1 / math.sqrt(2) + 1e-9)
    ineq = res.inequality
    # The dual is a CHSH facet: coefficients +-1 on the four correlators, bound 2.
    assert ineq.local_bound == pytest.approx(2.0, abs=1e-8)
    np.testing.assert_allclose(np.abs(ineq.coefficients[1:, 1:]), 1.0, atol=1e-7)
    np.testing.assert_allclose(ineq.coefficients[0, :], 0.0, atol=1e-7)
    assert ineq.quantum_value == pytest.approx(2 * math.sqrt(2) * v, abs=1e-7)


def brute_force_bound(ineq, S):
    """max over all deterministic strategies of sum G p_lambda (probability form)."""
    G = ineq.probability_coefficients()
    best = -np.inf
    for out in itertools.product([1, -1], repeat=sum(S)):
        best = max(best, float(np.sum(G * deterministic_p(out, S))))
    return best


@pytest.mark.parametrize("n,S,rank", [(2, (2, 2), 4), (2, (3, 2), 2), (2, (3, 3), 1), (3, (2, 2, 1), 2)])
def test_local_model_and_dual_inequality(n, S, rank):
    rng = np.random.default_rng(10 + sum(S))
    checked_local = checked_nonlocal = 0
    for trial in range(12):
        rho = rand_rho(rng, n, rank)
        eff = eff_of(rho)
        st = rand_settings(rng, S)
        p = bell.correlations(eff, st)
        res = bell.local_visibility(eff, st)
        ineq = res.inequality
        # The dual inequality: local bound by brute force, value from p (probability form).
        assert ineq.local_bound == pytest.approx(brute_force_bound(ineq, S), abs=1e-9)
        G = ineq.probability_coefficients()
        assert np.sum(G * p) == pytest.approx(ineq.quantum_value, abs=1e-9)
        if res.violated:
            checked_nonlocal += 1
            assert res.weights is None
            assert ineq.quantum_value > ineq.local_bound
            assert ineq.local_bound / ineq.quantum_value == pytest.approx(res.visibility, rel=1e-6)
        else:
            checked_local += 1
            # The local model rebuilds p itself.
            assert np.all(res.weights >= 0) and res.weights.sum() == pytest.approx(1.0, abs=1e-12)
            rebuilt = sum(w * deterministic_p(o, S) for w, o in zip(res.weights, res.strategies))
            np.testing.assert_allclose(rebuilt, p, atol=1e-7)
            assert ineq.quantum_value <= ineq.local_bound + 1e-7
    assert checked_local + checked_nonlocal == 12
    if rank == 1 and n == 2:
        assert checked_nonlocal > 0  # pure entangled states with 3x3 settings violate sometimes


def test_best_strategy_is_brute_force_maximum():
    rng = np.random.default_rng(3)
    for shape in [(4, 3), (3, 2, 3), (2, 4, 2)]:
        beta = rng.standard_normal(shape)
        S = [d - 1 for d in shape]
        vals, codes = lpmod.best_strategy(beta, top=3)
        all_codes = np.array(list(itertools.product(*[range(2**s) for s in S])))
        brute = lpmod.strategy_correlators(all_codes, S).reshape(len(all_codes), -1) @ beta.reshape(-1)
        assert vals[0] == pytest.approx(brute.max(), abs=1e-12)
        got = lpmod.strategy_correlators(codes, S).reshape(len(codes), -1) @ beta.reshape(-1)
        np.testing.assert_allclose(got, vals, atol=1e-12)
        assert vals[2] <= vals[1] <= vals[0]


@pytest.mark.parametrize("n,S", [(2, (4, 4)), (3, (3, 2, 2))])
def test_column_generation_equals_full_lp(n, S):
    rng = np.random.default_rng(4)
    for _ in range(3):
        eff = eff_of(rand_rho(rng, n, 1))
        st = rand_settings(rng, S)
        full = bell.local_visibility(eff, st, method="full")
        cols = bell.local_visibility(eff, st, method="columns")
        assert cols.visibility == pytest.approx(full.visibility, abs=1e-8)
        assert cols.iterations > 1


def test_white_noise_is_local_with_infinite_visibility():
    eff = eff_of(np.eye(4) / 4)
    st = chsh_settings()
    res = bell.local_visibility(eff, st)
    assert res.visibility == math.inf and not res.violated and res.inequality is None
    rebuilt = sum(w * deterministic_p(o, [2, 2]) for w, o in zip(res.weights, res.strategies))
    np.testing.assert_allclose(rebuilt, bell.correlations(eff, st), atol=1e-12)
    d = res.to_dict()
    assert d["visibility"] == math.inf and d["inequality"] is None


def test_fourteen_settings_by_column_generation():
    # 2^14 strategies (the full LP would need a 64 x 16384 matrix); the LP must
    # still be exact: a nonlocal result's inequality is checked by the oracle
    # and its ratio equals 1/visibility.
    rng = np.random.default_rng(5)
    eff = eff_of(werner_state(0.95))
    st = rand_settings(rng, (7, 7))
    res = bell.local_visibility(eff, st)
    ineq = res.inequality
    assert res.violated
    assert ineq.local_bound == pytest.approx(lpmod.best_strategy(ineq.coefficients)[0][0])
    assert ineq.local_bound / ineq.quantum_value == pytest.approx(res.visibility, rel=1e-7)
    # Werner states are local for projective measurements up to v = 0.6875
    # (Designolle et al., PRR 5, 043059 (2023)), so eta* v can never go below it.
    assert res.visibility * 0.95 >= 0.6875


@pytest.mark.slow
def test_twenty_settings_run():
    rng = np.random.default_rng(6)
    eff = eff_of(werner_state(0.95))
    res = bell.local_visibility(eff, rand_settings(rng, (10, 10)))
    assert res.inequality.local_bound / res.inequality.quantum_value == pytest.approx(res.visibility, rel=1e-7)
    assert res.visibility * 0.95 >= 0.6875
