"""Exact thermal states kept as S^z-sector eigenvectors (issue 12): ρ never assembled, every observable.

Oracles: the assembled-ρ path (``sz_sectors=False``: one dense ρ per
temperature, the dense kernels), ``expm(−H/T)``, partial traces of that ρ
computed here with numpy, the ground-state backend at T = 0, the
high-temperature expansion and the docs/physics.md ring references (N = 16,
slow test).
"""

import math
import time

import numpy as np
import pytest
import scipy.linalg as sla

import macrobell as mb
from conftest import brute_reduced_rho
from macrobell.lattice import Partition, chain, heisenberg, ladder
from macrobell.lattice.models import Field, SpinModel, Term
from macrobell.observables import dense as od
from macrobell.observables._moments import collective_moments
from macrobell.tn import DenseState
from macrobell.tn._exact_thermal import _thermal_states
from macrobell.tn.exact import (ExactTooLargeError, SectorDenseState, check_exact_memory, estimate_exact_memory,
                                exact_ground_state, exact_thermal_states)

TEMPS = [0.0, 0.3, 1.0, 5.0]
ATOL = 1e-12


def _random_xxz(n, seed):
    # random XXZ couplings on an open chain, random z fields per site: no SU(2), no spin-flip symmetry
    rng = np.random.default_rng(seed)
    lat = chain(n)
    terms = []
    for b in lat.bonds["nn"]:
        jxy, jz = rng.normal(size=2)
        terms += [Term(jxy, "xx", [b]), Term(jxy, "yy", [b]), Term(jz, "zz", [b])]
    fields = tuple(Field(h, "z", [i]) for i, h in enumerate(rng.normal(scale=0.5, size=n)))
    return SpinModel(lat, tuple(terms), fields)


MODELS = {
    "chain8": lambda: heisenberg(chain(8)),  # spin-flip mirrors and the split middle sector
    "xxz-field-ring7": lambda: heisenberg(chain(7, pbc=True), Delta=0.6, h=0.3),  # odd N, field: no mirrors
    "ladder2x4": lambda: heisenberg(ladder(2, 4)),
    "j1j2-chain8-field": lambda: mb.lattice.j1j2(chain(8), J2=0.5, h=0.2),
    "random-xxz8": lambda: _random_xxz(8, seed=3),
}


def _pairs(model):
    """Sector states and assembled-ρ states of one model at TEMPS (module cache: each model built once)."""
    key = id(MODELS[model])
    if key not in _CACHE:
        m = MODELS[model]()
        _CACHE[key] = (m, _thermal_states(m, TEMPS, sz_sectors=True), _thermal_states(m, TEMPS, sz_sectors=False))
    return _CACHE[key]


_CACHE = {}


@pytest.mark.parametrize("name", list(MODELS))
def test_sector_states_equal_the_assembled_rho_path(name):
    model, new, old = _pairs(name)
    n = model.n_sites
    for a, b in zip(new, old):
        assert isinstance(a, SectorDenseState) and isinstance(a, DenseState) and not isinstance(b, SectorDenseState)
        assert a.vector is None and not a.is_pure and a.temperature == b.temperature
        assert a.info["rho_storage"] == "sz_sector_eigenvectors" and b.info["rho_storage"] == "dense"
        for key in ("energy", "energy_variance", "free_energy", "entropy", "discarded_weight"):
            assert a.info[key] == pytest.approx(b.info[key], abs=ATOL), key
        for key in ("degeneracy", "n_states_kept", "sz_sectors", "mixed", "beta"):
            assert a.info[key] == b.info[key], key
        np.testing.assert_allclose(a.rho, b.rho, atol=ATOL)  # assembled on access
        np.testing.assert_allclose(mb.observables.pair_correlations(a), mb.observables.pair_correlations(b),
                                   atol=ATOL)
        np.testing.assert_allclose(od.dense_site_expectations(a), od.dense_site_expectations(b), atol=ATOL)
        regions = [[[0, 3, 5]], [list(range(n // 2)), list(range(n // 2, n))], [[0, 2, 4], [1, 3], [n - 1, 5]],
                   [[0], [2, 3], [4], [n - 1]]]
        for regs in regions:
            ref = od.dense_correlation_tensor(b, regs)
            np.testing.assert_allclose(od.dense_correlation_tensor(a, regs, "tree"), ref, atol=ATOL)
            np.testing.assert_allclose(mb.observables.correlation_tensor(a, regs), ref, atol=ATOL)
        for sites in ([2], [5, 1], [0, 6, 3], [1, 2, 3, 4, 0]):
            red = mb.observables.reduced_state(a, sites)
            np.testing.assert_allclose(red, brute_reduced_rho(b.rho, n, sites), atol=ATOL)
        if a.temperature in (0.0, 1.0):  # the dense-ρ M-body reference costs O(4^N) per operator
            M, regs = ((2, [[0, 1], [4, 5, 6]]), (3, [[0, 2, 4]]), (2, [[0, 1], [2, 3], [4, 5]]))[(n + len(name)) % 3]
            np.testing.assert_allclose(od.dense_mbody_tensor(a, regs, M), od.dense_mbody_tensor(b, regs, M),
                                       atol=ATOL)


def test_thermal_against_expm_and_partial_traces():
    model = heisenberg(chain(6, pbc=True), Delta=0.8, h=0.25)
    H = model.to_sparse().toarray()
    for st in _thermal_states(model, [0.4, 2.0], sz_sectors=True):
        rho = sla.expm(-H / st.temperature)
        rho /= np.trace(rho)
        np.testing.assert_allclose(st.rho, rho, atol=ATOL)
        assert st.energy == pytest.approx(np.trace(rho @ H), abs=ATOL)
        for sites in ([0, 1], [4, 2, 5]):
            np.testing.assert_allclose(mb.observables.reduced_state(st, sites), brute_reduced_rho(rho, 6, sites),
                                       atol=ATOL)


def test_pipeline_entry_points_equal_the_assembled_path():
    model, new, old = _pairs("j1j2-chain8-field")
    lat = model.lattice
    halves = Partition(lat, [[0, 1, 2, 3], [4, 5, 6, 7]])
    three = Partition(lat, [[0, 1, 2], [3, 4], [5, 6, 7]])
    for a, b in zip(new, old):
        for part, M in ((halves, 1), (three, 1), (halves, 2) if a.temperature == 1.0 else (halves, 1)):
            ea, eb = mb.observables.effective_state(a, part, M=M), mb.observables.effective_state(b, part, M=M)
            np.testing.assert_allclose(ea.T, eb.T, atol=ATOL)
            np.testing.assert_allclose(ea.rho, eb.rho, atol=ATOL)
        groups = [[0, 1], [7, 3], [2, 5, 6]]
        for ra, rb in zip(mb.observables.reduced_states(a, groups), mb.observables.reduced_states(b, groups)):
            np.testing.assert_allclose(ra, rb, atol=ATOL)
        ma, mbm = collective_moments(a), collective_moments(b)
        np.testing.assert_allclose(ma.first, mbm.first, atol=1e-11)
        np.testing.assert_allclose(ma.second, mbm.second, atol=1e-11)
        wa, wb = mb.observables.witnesses.microscopic(a), mb.observables.witnesses.microscopic(b)
        assert wa.keys() == wb.keys()
        for k in wa:
            if isinstance(wa[k], float):
                assert wa[k] == pytest.approx(wb[k], abs=1e-9), k


def test_zero_temperature_is_the_ground_state_mixture():
    # degenerate manifolds: ferromagnet (g = 5, spread over every sector), odd ring (g = 4: S = 1/2 doublets, k = ±1)
    for model, g in ((heisenberg(chain(4), J=-1.0), 5), (heisenberg(chain(7, pbc=True)), 4)):
        (th0,) = _thermal_states(model, [0.0], sz_sectors=True)
        gs = exact_ground_state(model)
        assert isinstance(th0, SectorDenseState) and th0.info["degeneracy"] == g
        assert th0.energy == pytest.approx(gs.energy, abs=1e-10)
        np.testing.assert_allclose(th0.rho, gs.rho, atol=1e-10)
        np.testing.assert_allclose(mb.observables.pair_correlations(th0), mb.observables.pair_correlations(gs),
                                   atol=1e-10)
        assert th0.info["entropy"] == pytest.approx(math.log(g))
        # only the ground manifold carries weight
        assert sum(int((b.weights > 0).sum()) for b in th0.spectrum.blocks) == g


def test_a_temperature_is_bitwise_independent_of_its_companions():
    # a resumed sweep recomputes a group with fewer temperatures: its numbers must not change in the last bit
    model = mb.lattice.j1j2(ladder(2, 4), J2=0.3, h=0.1)
    part = Partition(model.lattice, [[0, 2, 4], [1, 3, 5], [6, 7]])
    halves = Partition(model.lattice, [[0, 1, 2, 3], [4, 5, 6, 7]])
    alone = {T: _thermal_states(model, [T], sz_sectors=True)[0] for T in (0.0, 0.7)}
    temps = [2.0, 0.7, 0.0, 0.1]
    together = dict(zip(temps, _thermal_states(model, temps, sz_sectors=True)))
    for T, a in alone.items():
        b = together[T]
        assert a.energy == b.energy and a.info["entropy"] == b.info["entropy"]
        for p in (part, halves):
            assert np.array_equal(mb.observables.effective_state(a, p).T, mb.observables.effective_state(b, p).T)
        assert np.array_equal(mb.observables.reduced_state(a, [1, 6]), mb.observables.reduced_state(b, [1, 6]))
        regs = [[0, 1], [4, 5]]
        assert np.array_equal(od.dense_mbody_tensor(a, regs, 2), od.dense_mbody_tensor(b, regs, 2))


def test_small_chunks_give_the_same_results(monkeypatch):
    model, new, old = _pairs("ladder2x4")
    import macrobell.tn._exact_thermal as et
    monkeypatch.setattr(et, "SECTOR_CHUNK_BYTES", 700)  # one or a few eigenvectors per chunk
    fresh = _thermal_states(model, TEMPS, sz_sectors=True)
    regs = [[0, 1, 2], [3, 4], [5, 6, 7]]
    for a, b in zip(fresh, old):
        np.testing.assert_allclose(mb.observables.pair_correlations(a), mb.observables.pair_correlations(b),
                                   atol=ATOL)
        np.testing.assert_allclose(od.dense_correlation_tensor(a, regs), od.dense_correlation_tensor(b, regs),
                                   atol=ATOL)
        np.testing.assert_allclose(mb.observables.reduced_state(a, [3, 0, 7]), brute_reduced_rho(b.rho, 8, [3, 0, 7]),
                                   atol=ATOL)


def test_one_spectrum_serves_every_temperature_and_caches():
    model, new, _ = _pairs("chain8")
    assert len({id(s.spectrum) for s in new}) == 1
    assert new[0].info["mirrored_sectors"] == 4  # k = 5..8 from k = 3..0
    C1 = mb.observables.pair_correlations(new[1])
    assert ("hops",) in new[1].spectrum._cache and ("diagonal",) in new[1].spectrum._cache
    C1[:] = 0  # the caller's copy: the cache is not touched
    C2 = mb.observables.pair_correlations(new[1])
    assert C2[0, 1, 3, 3] < -0.1 and C2[0, 1, 1, 1] == pytest.approx(C2[0, 1, 3, 3], abs=ATOL)  # SU(2)


def test_automatic_choice_of_the_storage():
    # N <= 10 keeps the assembled rho (bitwise as before: stored sweeps reproduce); N = 11 uses the sectors
    (small,) = exact_thermal_states(heisenberg(chain(10)), [1.0])
    (large,) = exact_thermal_states(heisenberg(chain(11)), [1.0])
    assert type(small) is DenseState and small.info["rho_storage"] == "dense"
    assert isinstance(large, SectorDenseState) and large.info["rho_storage"] == "sz_sector_eigenvectors"
    assert mb.tn.thermal_states(heisenberg(chain(11)), [1.0], method="exact")[0].info["rho_storage"] == \
        "sz_sector_eigenvectors"


def test_non_conserving_models_keep_the_assembled_path():
    model = mb.lattice.tfim(chain(5), J=1.0, g=0.7)
    (st,) = exact_thermal_states(model, [0.8])
    assert type(st) is DenseState and st.info["rho_storage"] == "dense" and st.rho.shape == (32, 32)
    with pytest.raises(ValueError, match="sz_sectors=True needs a model that conserves"):
        _thermal_states(model, [0.8], sz_sectors=True)


def test_rho_too_large_is_a_clear_error_and_read_only():
    # N = 12: the sector storage (~50 MB) fits 0.1 GiB, a dense 4096 x 4096 rho (+ temporary, 256 MiB) does not
    (st,) = exact_thermal_states(heisenberg(chain(12)), [1.0], max_memory_gb=0.1)
    with pytest.raises(ExactTooLargeError, match=r"rho of this S\^z-sector thermal state \(N=12\) was not assembled, "
                                                 r"for memory reasons.*effective_state"):
        st.rho
    C = mb.observables.pair_correlations(st)  # the observables need no rho
    assert C.shape == (12, 12, 4, 4)
    with pytest.raises(AttributeError, match="derived from its eigenvectors"):
        st.rho = np.eye(4096) / 4096


def test_memory_guard_admits_n16_and_refuses_n17():
    item = 8
    est16 = estimate_exact_memory(16, "sectors", n_ops=17, n_temperatures=3)
    expected = (math.comb(32, 16) * item + math.comb(16, 8) ** 2 * item + 25 * 2**16 + 3 * 64 * 2**20
                + 8 * 2**16 * 3)
    assert est16 == expected
    assert 5.8 * 2**30 < est16 < 6.0 * 2**30
    # this machine's limit: half of the ~23 GiB available
    assert check_exact_memory(16, "sectors", 11.5, n_ops=17, n_temperatures=3) == est16
    with pytest.raises(ExactTooLargeError, match="N=15 sites.*purification"):
        check_exact_memory(15, "full", 11.5, n_temperatures=3)  # the assembled path stops below 15
    t0 = time.perf_counter()
    refused = r"N=17 sites \(sectors\) needs an estimated 2\d(\.\d)? GiB.*purification"
    with pytest.raises(ExactTooLargeError, match=refused):
        mb.tn.thermal_states(heisenberg(chain(17)), [0.5, 1.0], method="exact", max_memory_gb=11.5)
    with pytest.raises(ExactTooLargeError, match="N=40"):
        exact_thermal_states(heisenberg(chain(40)), [1.0])
    assert time.perf_counter() - t0 < 1.0
    # N = 14 fits in well under 1 GiB instead of 3 dense 2 GiB matrices
    assert estimate_exact_memory(14, "sectors", n_temperatures=3) < 2**30 < estimate_exact_memory(14, "full")


@pytest.mark.slow
def test_n16_ring_thermal_states_against_references():
    # ~6 CPU-min (12-31 min wall on the loaded 2-core machine). T = 0: docs/physics.md ring values.
    # T = 100: the cumulant expansion <H> = -beta k2 + beta^2 k3 / 2 + O(beta^3) with k2 = Tr(H^2)/2^N =
    # 16 bonds x Tr(h^2)/4 = 3 and k3 = Tr(H^3)/2^N = 16 x Tr(h^3)/4 = -3/2 (h = S_i.S_j has eigenvalues 1/4 x3,
    # -3/4; mixed bond products are traceless on a ring without triangles), so <H> = -0.03 - 7.5e-5.
    model = heisenberg(chain(16, pbc=True))
    g0, hot = exact_thermal_states(model, [0.0, 100.0])
    assert g0.energy == pytest.approx(-7.1422963606, abs=1e-9) and g0.info["degeneracy"] == 1
    C = mb.observables.pair_correlations(g0)
    ss1 = (C[0, 1, 1, 1] + C[0, 1, 2, 2] + C[0, 1, 3, 3]) / 4
    ss2 = (C[0, 2, 1, 1] + C[0, 2, 2, 2] + C[0, 2, 3, 3]) / 4
    assert ss1 == pytest.approx(-0.4463935225, abs=1e-9) and ss2 == pytest.approx(0.1852243813, abs=1e-9)
    beta = 1 / 100
    assert hot.energy == pytest.approx(-3.0 * beta - 0.75 * beta**2, abs=2e-6)  # O(beta^3) ~ 1e-6
    halves = Partition(model.lattice, [list(range(8)), list(range(8, 16))])
    eff = mb.observables.effective_state(g0, halves)
    # S_tot = 0 singlet: <m^A_z m^B_z> = -<(m^A_z)^2> and the two halves anti-align along every axis
    assert eff.T[3, 3] == pytest.approx(eff.T[1, 1], abs=1e-10) and eff.T[3, 3] < 0
