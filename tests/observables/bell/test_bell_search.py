"""Settings search, CHSH and I3322, against Horodecki, analytic values and brute force."""

import itertools
import json
import math

import numpy as np
import pytest

from macrobell.observables import bell
from macrobell.observables.bell import lp as lpmod
from macrobell.observables.bell.named import I3322_COEFFICIENTS
from macrobell.observables.criteria import T_from_rho, chsh_max, werner_state
from macrobell.observables.effective import EffectiveState


def rand_rho(rng, n, rank):
    G = rng.standard_normal((2**n, rank)) + 1j * rng.standard_normal((2**n, rank))
    rho = G @ G.conj().T
    return rho / np.trace(rho).real


def eff_of(rho):
    n = int(round(math.log2(rho.shape[0])))
    return EffectiveState(T=T_from_rho(rho), sizes=(1,) * n)


def ghz(K):
    psi = np.zeros(2**K)
    psi[0] = psi[-1] = 1 / math.sqrt(2)
    return np.outer(psi, psi)


def test_search_two_settings_reproduces_horodecki_on_200_states():
    # CHSH is the only nontrivial facet class for two settings and two parties,
    # so the best visibility is 2/CHSH_max (Horodecki) when CHSH_max > 2.
    rng = np.random.default_rng(20)
    n_violating = 0
    for k in range(200):
        rho = rand_rho(rng, 2, [1, 2, 4][k % 3])
        if k % 2:
            rho = 0.8 * rho + 0.2 * np.eye(4) / 4
        eff = eff_of(rho)
        ch = chsh_max(eff.T)
        res = bell.search(eff, settings=2, restarts=6, seed=k)
        if ch > 2 + 1e-6:
            n_violating += 1
            assert res.violated
            assert 2 / res.visibility == pytest.approx(ch, abs=1e-6)
            assert res.value / res.local_bound == pytest.approx(ch / 2, abs=1e-6)
        else:
            assert not res.violated
            assert res.visibility >= 1 - 1e-7
    assert n_violating >= 40  # 50 of the 200 with this seed


def test_search_violation_is_genuine():
    # The returned inequality, settings and value are re-checked independently:
    # brute-force local bound, value from the behaviour at those settings.
    rng = np.random.default_rng(21)
    eff = eff_of(rand_rho(rng, 2, 1))
    res = bell.search(eff, settings=3, restarts=4, seed=1)
    assert res.violated
    ineq = res.inequality
    S = [3, 3]
    brute = max(float(np.sum(ineq.coefficients * lpmod.strategy_correlators(np.array([c]), S)[0]))
                for c in itertools.product(range(8), range(8)))
    assert res.local_bound == pytest.approx(brute, abs=1e-12)
    assert res.value == pytest.approx(ineq.value(bell.correlators(eff, list(res.settings))), abs=1e-12)
    assert res.value > res.local_bound
    lp = bell.local_visibility(eff, list(res.settings))
    assert lp.visibility == pytest.approx(res.visibility, abs=1e-9)
    d = res.to_dict()
    assert d["violated"] is True and len(d["settings"]) == 2


@pytest.mark.parametrize("K", [3, 4])
def test_ghz_two_settings_visibility(K):
    # Mermin: GHZ_K reaches 2^((K-1)/2) times the local bound of a two-setting
    # full-correlation inequality, so eta* <= 2^(-(K-1)/2).  For K = 3 the
    # Zukowski-Brukner condition (PRL 88, 210401 (2002)) makes 1/2 the exact
    # threshold for full correlations; the marginals of GHZ vanish and the
    # search finds nothing below it either.
    res = bell.search(eff_of(ghz(K)), settings=2, restarts=4, seed=0)
    assert res.visibility <= 2 ** (-(K - 1) / 2) + 1e-7
    if K == 3:
        assert res.visibility == pytest.approx(0.5, abs=1e-7)


def test_separable_states_never_violate():
    rng = np.random.default_rng(22)
    for _ in range(4):
        # Mixtures of product states: local for all measurements.
        rho = np.zeros((4, 4), complex)
        for w in rng.dirichlet(np.ones(3)):
            a, b = rand_rho(rng, 1, 1), rand_rho(rng, 1, 1)
            rho += w * np.kron(a, b)
        res = bell.search(eff_of(rho), settings=3, restarts=3, seed=0)
        assert res.visibility >= 1 - 1e-7 and not res.violated


def test_search_settings_argument():
    eff = eff_of(werner_state(0.9))
    res = bell.search(eff, settings=[2, 3], restarts=2, seed=0)
    assert [s.shape for s in res.settings] == [(2, 3), (3, 3)]
    for bad in [0, [2], [2, 0], 2.5, True]:
        with pytest.raises(ValueError, match="settings"):
            bell.search(eff, settings=bad)
    with pytest.raises(ValueError, match="restarts"):
        bell.search(eff, settings=2, restarts=0)
    a = bell.search(eff, settings=3, restarts=3, seed=5)
    b = bell.search(eff, settings=3, restarts=3, seed=5)
    assert a.visibility == b.visibility
    np.testing.assert_array_equal(a.settings[0], b.settings[0])


# --- named inequalities ---------------------------------------------------------

def test_chsh_closed_form_and_its_settings():
    rng = np.random.default_rng(23)
    for _ in range(20):
        eff = eff_of(rand_rho(rng, 2, 2))
        r = bell.chsh(eff)
        # Horodecki's value is reached at the returned settings ...
        C = bell.correlators(eff, list(r.settings))
        assert C[1, 1] + C[1, 2] + C[2, 1] - C[2, 2] == pytest.approx(r.value, abs=1e-12)
        assert r.value == pytest.approx(chsh_max(eff.T), abs=1e-12)
        # ... and no random settings beat it.
        for _ in range(20):
            st = [rng.standard_normal((2, 3)) for _ in range(2)]
            st = [s / np.linalg.norm(s, axis=1, keepdims=True) for s in st]
            C = bell.correlators(eff, st)
            assert C[1, 1] + C[1, 2] + C[2, 1] - C[2, 2] <= r.value + 1e-12
        assert r.violated == (r.value > 2)
    assert bell.chsh(eff_of(werner_state(1.0))).value == pytest.approx(2 * math.sqrt(2))


def test_i3322_local_bound_by_brute_force():
    S = [3, 3]
    vals = [float(np.sum(I3322_COEFFICIENTS * lpmod.strategy_correlators(np.array([c]), S)[0]))
            for c in itertools.product(range(8), range(8))]
    assert max(vals) == 4.0


@pytest.mark.parametrize("v,violated", [(0.79, False), (0.799, False), (0.801, True), (0.9, True), (1.0, True)])
def test_i3322_on_werner_states_violated_exactly_above_08(v, violated):
    r = bell.i3322(eff_of(werner_state(v)), restarts=6, seed=0)
    # Marginals vanish; the singlet reaches the two-qubit maximum 5, so the value is 5 v.
    assert r.value == pytest.approx(5 * v, abs=1e-8)
    assert r.violated is violated and r.local_bound == 4.0
    C = bell.correlators(eff_of(werner_state(v)), list(r.settings))
    assert float(np.sum(I3322_COEFFICIENTS * C)) == pytest.approx(r.value, abs=1e-12)


def test_i3322_never_above_two_qubit_maximum_and_consistent_with_lp():
    rng = np.random.default_rng(24)
    for _ in range(10):
        eff = eff_of(rand_rho(rng, 2, 1))
        r = bell.i3322(eff, restarts=4, seed=1)
        assert r.value <= 5 + 1e-9
        lp = bell.local_visibility(eff, list(r.settings))
        # A violated I3322 is a point outside the local polytope, and vice versa
        # the LP's visibility is at most 4/value (I3322 is one valid inequality).
        assert lp.visibility <= 4 / r.value + 1e-7
        if r.violated:
            assert lp.violated


def test_named_inequalities_refuse_other_party_counts():
    eff3 = eff_of(ghz(3))
    with pytest.raises(ValueError, match="K = 2"):
        bell.chsh(eff3)
    with pytest.raises(ValueError, match="K = 2"):
        bell.i3322(eff3)
    with pytest.raises(ValueError, match="restarts"):
        bell.i3322(eff_of(werner_state(0.5)), restarts=-1)


def test_results_serialise_to_json():
    eff = eff_of(werner_state(0.9))
    for res in [bell.search(eff, settings=2, restarts=2, seed=0), bell.chsh(eff),
                bell.i3322(eff, restarts=2, seed=0),
                bell.local_visibility(eff, [np.eye(3)[:2], np.eye(3)[1:]])]:
        d = json.loads(json.dumps(res.to_dict()))
        assert isinstance(d, dict) and "settings" in d
