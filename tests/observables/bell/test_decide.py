"""bell.decide and the verdict it feeds: proofs only, checked against oracles."""

import itertools

import numpy as np
import pytest

import macrobell as mb
from macrobell.observables import bell
from macrobell.observables.criteria import chsh_max, zb_upper


def _eff(vec_or_rho, groups):
    n = sum(len(g) for g in groups)
    lat = mb.lattice.chain(n)
    st = mb.tn.from_dense(vec_or_rho, lat)
    part = mb.lattice.Partition.custom(lat, {f"R{i}": list(g) for i, g in enumerate(groups)})
    return mb.observables.effective_state(st, part)


def _random_state(rng, n):
    v = rng.standard_normal(2**n) + 1j * rng.standard_normal(2**n)
    return v / np.linalg.norm(v)


def _wwzb_functional(T, A):
    """Independent WWZB ratio (Zukowski-Brukner 2002) for settings A[X] = (a_X1, a_X2)."""
    K = T.ndim
    C = np.asarray(T)[(slice(1, None),) * K]
    E = {}
    for k in itertools.product((0, 1), repeat=K):
        Y = C
        for X in range(K):
            Y = np.tensordot(A[X][k[X]], Y, axes=([0], [0]))
        E[k] = float(Y)
    total = 0.0
    for s in itertools.product((1, -1), repeat=K):
        total += abs(sum(np.prod([s[j] ** k[j] for j in range(K)]) * E[k] for k in E))
    return total / 2**K


def test_wwzb_upper_bound_is_chsh_for_two_parties_and_bounds_every_setting():
    rng = np.random.default_rng(7)
    for _ in range(20):
        eff = _eff(_random_state(rng, 2), [[0], [1]])
        assert bell.wwzb_upper_bound(eff.T) == pytest.approx(chsh_max(eff.T) / 2, abs=1e-12)
    for K in (3, 4):
        for _ in range(5):
            eff = _eff(_random_state(rng, K), [[i] for i in range(K)])
            ub = bell.wwzb_upper_bound(eff.T)
            assert ub <= np.sqrt(zb_upper(eff.T)) + 1e-12
            for _ in range(50):  # random settings never beat the bound
                A = [rng.standard_normal((2, 3)) for _ in range(K)]
                A = [a / np.linalg.norm(a, axis=1, keepdims=True) for a in A]
                assert _wwzb_functional(eff.T, A) <= ub + 1e-12


def test_ghz_wwzb_upper_bound_is_attained():
    v = np.zeros(8)
    v[0] = v[7] = 2**-0.5
    eff = _eff(v, [[0], [1], [2]])
    # Mermin settings (x, y) on every party reach 2 = the bound
    assert bell.wwzb_upper_bound(eff.T) == pytest.approx(2.0, abs=1e-12)
    A = [np.array([[1.0, 0, 0], [0, 1.0, 0]])] * 3
    assert _wwzb_functional(eff.T, A) == pytest.approx(2.0, abs=1e-12)


def test_singlet_is_nonlocal_with_a_checkable_inequality():
    v = np.array([0, 1, -1, 0]) / np.sqrt(2)
    eff = _eff(v, [[0], [1]])
    res = bell.decide(eff, settings=[2], restarts=4, seed=0, lhs=False)
    nl = res["hook"]["nonlocal"]
    assert nl["value"] / nl["local_bound"] == pytest.approx(np.sqrt(2), abs=1e-6)
    crit = eff.criteria(bell=res["hook"])
    assert crit["verdict"] == "nonlocal" and crit["entangled"] is True
    # the stored settings and inequality reproduce the value on the state
    settings = [np.asarray(s) for s in nl["settings"]]
    C = bell.correlators(eff, settings)
    assert float(np.sum(res["arrays"]["bell_inequality"] * C)) == pytest.approx(nl["value"], rel=1e-9)


def test_werner_below_one_half_is_certified_by_lhs_and_never_violates():
    for V in (0.3, 0.42):  # the default 6-direction polyhedron certifies Werner states up to V = 0.4286
        rho = mb.observables.criteria.werner_state(V)
        eff = _eff(rho, [[0], [1]])
        res = bell.decide(eff, settings=[2, 3], restarts=4, seed=1, lhs=True)
        assert "nonlocal" not in res["hook"]
        assert res["columns"]["lhs_local"] is True
        assert res["columns"]["bell_visibility_S2"] >= 1 - 1e-9
        assert res["columns"]["bell_visibility_S3"] >= 1 - 1e-9
        crit = eff.criteria(bell=res["hook"])
        assert crit["verdict"] in ("separable", "local-povm", "local-projective")


def test_heisenberg_rings_of_three_site_regions_are_two_setting_local():
    for N, K in ((9, 3), (12, 4)):
        lat = mb.lattice.chain(N, pbc=True)
        gs = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="exact")
        eff = mb.observables.effective_state(gs, mb.lattice.Partition.blocks(lat, K))
        res = bell.decide(eff, settings=[2], restarts=3, seed=0, lhs=False)
        assert "nonlocal" not in res["hook"]
        assert res["columns"]["wwzb_ratio"] <= res["columns"]["wwzb_upper"] + 1e-9
        assert res["columns"]["wwzb_upper"] <= 1.0
        assert eff.criteria(bell=res["hook"])["verdict"] in ("local-2-setting", "local-correlations",
                                                             "local-projective", "local-povm", "separable")


def test_seed_story_two_settings_never_three_settings_can():
    # the 3-qubit pure state found by the I3322 seesaw (examples/seed_settings.py): A = {0}, B = {1, 2}
    psi = np.array([0.48771, 0.17581 + 0.345743j, 0.17581 + 0.345743j, -0.267753 + 0.280732j,
                    -0.37318 - 0.114282j, -0.183135 + 0.010826j, -0.183135 + 0.010826j, -0.301829 + 0.002575j])
    psi = psi / np.linalg.norm(psi)
    eff = _eff(psi, [[0], [1, 2]])
    two = bell.decide(eff, settings=[2], restarts=6, seed=0, lhs=False)
    assert "nonlocal" not in two["hook"] and two["columns"]["bell_visibility_S2"] >= 1 - 1e-9
    three = bell.decide(eff, settings=[3], restarts=6, seed=0, lhs=False)
    nl = three["hook"]["nonlocal"]
    assert nl["settings_count"] == 3 and nl["value"] > nl["local_bound"] * (1 + 1e-4)
    assert eff.criteria(bell=three["hook"])["verdict"] == "nonlocal"


def test_decide_bad_input():
    eff = _eff(np.array([1, 0, 0, 0.0]), [[0], [1]])
    with pytest.raises(ValueError, match="settings"):
        bell.decide(eff, settings=[1])
    with pytest.raises(ValueError, match="restarts"):
        bell.decide(eff, settings=[2], restarts=0)


def test_nothing_certified_local_is_ever_found_violating():
    """Random two-qubit states of every rank: a local level and a violation never come together."""
    rng = np.random.default_rng(11)
    local_levels = {"separable", "local-povm", "local-projective"}
    n_local = n_nonlocal = 0
    for rank in (1, 2, 4):
        for _ in range(8):
            G = rng.standard_normal((4, rank)) + 1j * rng.standard_normal((4, rank))
            rho = G @ G.conj().T
            rho /= np.trace(rho).real
            eff = _eff(rho, [[0], [1]])
            res = bell.decide(eff, settings=[2, 3], restarts=3, seed=int(rng.integers(1 << 30)), lhs=True)
            crit = eff.criteria(bell=res["hook"])  # raises if a certificate and a violation contradict
            violated = res["columns"]["bell_violated_S2"] or res["columns"]["bell_violated_S3"]
            certified = crit["verdict"] in local_levels or res["columns"]["lhs_local"]
            assert not (violated and certified)
            if certified:
                assert crit["chsh_max"] <= 2 + 1e-9
            n_local += certified
            n_nonlocal += crit["verdict"] == "nonlocal"
    assert n_local and n_nonlocal  # both kinds occur, so the check is not vacuous
