"""Purified-MPS thermal states against exact diagonalisation.

Oracle: ``macrobell.tn.thermal_states(model, temps, method="exact")`` (full
diagonalisation) and, for ``log Z`` and the Trotter-error slopes, the
spectrum of ``model.to_sparse()`` directly. Settings of the accuracy tests:
order 4, dτ = 0.1, χ = 64 (exact for N = 6; N = 8 open chain truncates at
≤ 1e-9 weight).
"""

import math

import numpy as np
import pytest

import macrobell as mb
from macrobell.lattice import Partition
from macrobell.lattice.models import Field, SpinModel
from macrobell.tn import gates
from macrobell.tn.purification import ERROR_TOL, purification_thermal_states, purified_energy

TEMPS = [0.25, 0.5, 1.0, 2.0]
TOL = 1e-5


def _y_field_chain():
    """A complex Hamiltonian (σy field): exercises the complex-arithmetic path."""
    lat = mb.lattice.chain(6)
    base = mb.lattice.heisenberg(lat, Delta=0.6)
    return SpinModel(lat, base.terms, (Field(0.3, "y", np.arange(6)), Field(-0.2, "x", [0, 3])), "custom", {})


CASES = [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(8)), id="chain8-heisenberg"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(6), Delta=0.5, J2=0.3, h=0.2),
                 id="chain6-xxz-j2-field"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(6, pbc=True)), id="ring6-heisenberg"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(3)), id="ladder2x3-heisenberg"),
    pytest.param(lambda: mb.lattice.tfim(mb.lattice.chain(6, pbc=True), J=1.0, g=0.7), id="ring6-tfim"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.square(3, 2), J2=0.5, h=0.1), id="square3x2-snake-j2"),
    pytest.param(_y_field_chain, id="chain6-complex-field"),
]


def _exact_log_z(model, T):
    w = np.linalg.eigvalsh(model.to_sparse().toarray())
    return float(np.log(np.sum(np.exp(-(w - w.min()) / T))) - w.min() / T)


def _exact_energy(model, T):
    w = np.linalg.eigvalsh(model.to_sparse().toarray())
    p = np.exp(-(w - w.min()) / T)
    return float(p @ w / p.sum())


def _partitions(lat):
    parts = [Partition.halves(lat)]
    if lat.bipartite:
        parts.append(Partition.sublattices(lat))
    return parts


@pytest.mark.parametrize("make", CASES)
def test_energies_and_effective_states_match_exact(make):
    model = make()
    temps = [1.0, 0.25, 2.0, 0.5]  # deliberately unsorted
    pur = mb.tn.thermal_states(model, temps, method="purification", bond_dim=64, dtau=0.1, order=4)
    ex = mb.tn.thermal_states(model, temps, method="exact")
    for p, e, T in zip(pur, ex, temps):
        assert p.purified and p.temperature == T and p.phys_dim == 4
        assert p.info["converged"] and p.info["beta"] == pytest.approx(1 / T)
        assert abs(p.energy - e.energy) < TOL
        assert abs(p.info["log_Z"] - _exact_log_z(model, T)) < TOL
        for part in _partitions(model.lattice):
            Tp = mb.observables.effective_state(p, part).T
            Te = mb.observables.effective_state(e, part).T
            assert np.abs(Tp - Te).max() < TOL, (T, part.names)
        if model.su2_invariant:  # seed claim 4 (docs/physics.md): Heisenberg thermal states give Werner effective states
            for part in _partitions(model.lattice):
                assert mb.observables.effective_state(p, part).criteria()["werner_distance"] < 1e-6


@pytest.mark.parametrize("make", [CASES[3], CASES[6]])  # ladder (non-trivial MPS order), complex chain
def test_pair_correlators_and_reduced_states_match_exact(make):
    model = make()
    p, = mb.tn.thermal_states(model, [0.5], method="purification", bond_dim=64, dtau=0.1)
    e, = mb.tn.thermal_states(model, [0.5], method="exact")
    assert np.abs(mb.observables.pair_correlations(p) - mb.observables.pair_correlations(e)).max() < TOL
    sites = [4, 0, 3]
    assert np.abs(mb.observables.reduced_state(p, sites) - mb.observables.reduced_state(e, sites)).max() < TOL


def test_mps_layout_is_normalised_phys4_in_mps_order():
    lat = mb.lattice.ladder(3)  # non-trivial MPS order
    model = mb.lattice.heisenberg(lat, Delta=0.8)
    st, = purification_thermal_states(model, [0.7], bond_dim=64, dtau=0.1)
    psi = st.mps
    assert psi.L == lat.n_sites
    assert all(psi.ind_size(psi.site_ind(k)) == 4 for k in range(psi.L))
    assert psi.norm() == pytest.approx(1.0, abs=1e-12)
    # The energy from the site arrays matches the one reported.
    bonds, singles = gates.hamiltonian_pieces(model)
    assert purified_energy(st.arrays(), bonds, singles) == pytest.approx(st.energy, abs=1e-10)
    for key in ("beta", "energy", "trotter_order", "dtau", "max_bond", "discarded_weight", "elapsed_s",
                "converged", "method", "n_steps"):
        assert key in st.info
    assert st.info["method"] == "purification" and st.info["trotter_order"] == 4 and st.info["dtau"] == 0.1
    assert st.info["max_bond"] <= 64


@pytest.mark.parametrize("order, dtaus, slope", [(4, [0.5, 0.25, 0.125], 4.0), (2, [0.2, 0.1, 0.05], 2.0)])
def test_trotter_error_scaling(order, dtaus, slope):
    # τ = β/2 = 1 is a multiple of every dτ, so no shortened step blurs the slope; χ = 64 is exact for N = 6.
    model = mb.lattice.heisenberg(mb.lattice.chain(6), Delta=0.7, h=0.2)
    exact = _exact_energy(model, 0.5)
    errs = [abs(purification_thermal_states(model, [0.5], bond_dim=64, dtau=dt, order=order)[0].energy - exact)
            for dt in dtaus]
    fit = np.polyfit(np.log(dtaus), np.log(errs), 1)[0]
    assert abs(fit - slope) < 0.35, (errs, fit)
    assert errs[-1] < errs[0]


def test_high_temperature_is_product_state():
    model = mb.lattice.heisenberg(mb.lattice.chain(6, pbc=True))
    st, = mb.tn.thermal_states(model, [1e6], method="purification", bond_dim=16)
    for part in _partitions(model.lattice):
        T = mb.observables.effective_state(st, part).T
        assert T[0, 0] == pytest.approx(1.0)
        off = T.copy()
        off[0, 0] = 0
        assert np.abs(off).max() < 1e-5
    assert abs(st.energy) < 1e-5  # Tr H / 2^N = 0
    assert st.info["log_Z"] == pytest.approx(6 * math.log(2), abs=1e-5)


def test_one_shared_evolution_in_the_order_asked():
    model = mb.lattice.heisenberg(mb.lattice.chain(6), Delta=0.5)
    temps = [0.5, 2.0, 0.25, 1.0, 0.5]
    many = purification_thermal_states(model, temps, bond_dim=64, dtau=0.125)
    alone, = purification_thermal_states(model, [0.25], bond_dim=64, dtau=0.125)
    assert [s.temperature for s in many] == temps
    assert all(s.info["n_evolutions"] == 1 for s in many)
    # Cumulative step counts of one evolution: β/(2 dτ) steps to reach each β, not a sum over temperatures.
    assert [s.info["n_steps"] for s in many] == [8, 2, 16, 4, 8]
    low = many[2]
    assert low.info["n_steps"] == alone.info["n_steps"]
    # Snapshots only break the merging of boundary half-steps: at most one extra layer per snapshot.
    assert alone.info["n_svd"] <= low.info["n_svd"] <= alone.info["n_svd"] + 3 * len(set(temps)) * 6
    assert low.energy == pytest.approx(alone.energy, abs=1e-9)
    assert many[0].energy == many[4].energy and many[0] is not many[4]
    # Each β is hit exactly even when it is not a multiple of dτ (shortened last step).
    odd, = purification_thermal_states(model, [1 / 0.77], bond_dim=64, dtau=0.125)
    assert odd.info["n_steps"] == 4  # τ = 0.385 = 3 × 0.125 + 0.01
    assert abs(odd.energy - _exact_energy(model, 1 / 0.77)) < TOL


def test_zero_temperature_is_dmrg_ground_state():
    model = mb.lattice.heisenberg(mb.lattice.chain(6))
    sts = mb.tn.thermal_states(model, [1.0, 0.0], method="purification", bond_dim=32)
    assert not sts[1].purified and sts[1].temperature == 0
    e0 = np.linalg.eigvalsh(model.to_sparse().toarray())[0]
    assert sts[1].energy == pytest.approx(e0, abs=1e-8)
    assert sts[0].purified and sts[0].temperature == 1.0


# -- gates: splitting oracles ----------------------------------------------------------------------------------
def _embed(op, sites, n):
    """``op`` on ``sites`` (first = most significant) ⊗ identity elsewhere, 2^n × 2^n, by brute force."""
    d = len(sites)
    eye = np.eye(2 ** n).reshape([2] * (2 * n))
    t = np.tensordot(np.asarray(op).reshape([2] * (2 * d)), eye, axes=(list(range(d, 2 * d)), list(sites)))
    return np.moveaxis(t, list(range(d)), list(sites)).reshape(2 ** n, 2 ** n)


def _dense_from_pieces(n, bonds, singles):
    """H in MPS-position Kronecker order from the pieces."""
    H = sum(_embed(h, [k, l], n) for k, l, h in bonds)
    return H + sum((_embed(h, [k], n) for k, h in singles), np.zeros((2 ** n, 2 ** n)))


@pytest.mark.parametrize("make", [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(3), Delta=0.5, J2=0.4, h=0.3), id="ladder-j2-field"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(5, pbc=True), h=0.1), id="ring5-field"),
    pytest.param(_y_field_chain, id="chain6-complex-field"),
])
def test_pieces_sum_to_hamiltonian_and_layers_commute(make):
    model = make()
    lat = model.lattice
    n = lat.n_sites
    bonds, singles = gates.hamiltonian_pieces(model)
    Hm = _dense_from_pieces(n, bonds, singles)
    # MPS position k holds lattice site order[k]: permute to lattice order (site 0 most significant).
    perm = list(lat.mps_position) + [n + p for p in lat.mps_position]
    Hl = Hm.reshape([2] * (2 * n)).transpose(perm).reshape(2 ** n, 2 ** n)
    assert np.allclose(Hl, model.to_sparse().toarray())
    layers = gates.commuting_layers(bonds)
    assert sorted(b for lay in layers for b in lay) == list(range(len(bonds)))
    for lay in layers:
        sites = [s for b in lay for s in bonds[b][:2]]
        assert len(sites) == len(set(sites))


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_trotter_sequence_weights(order, n_layers):
    seq = gates.step_sequence(n_layers, gates.trotter_stages(order), 0.1)
    two = gates.merge_sequence(seq + seq)
    for m in range(n_layers):  # every layer evolves by exactly dτ per step
        assert sum(t for l, t in seq if l == m) == pytest.approx(0.1)
        assert sum(t for l, t in two if l == m) == pytest.approx(0.2)
    assert all(a[0] != b[0] for a, b in zip(two, two[1:]))
    assert seq == seq[::-1]  # symmetric compositions: odd-order errors cancel
    if order == 4:
        assert any(t < 0 for _, t in seq)  # order > 2 needs a negative sub-step (Sheng–Suzuki)


def test_exp_gate_matches_expm():
    from scipy.linalg import expm
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
    h = a + a.conj().T
    assert np.allclose(gates.exp_gate(h, 0.3), expm(-0.3 * h))


# -- bad input -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"dtau": 0}, "dtau"), ({"dtau": -0.1}, "dtau"), ({"dtau": float("nan")}, "dtau"), ({"dtau": "0.1"}, "dtau"),
    ({"order": 3}, "order"), ({"order": 1}, "order"), ({"order": "4"}, "order"),
    ({"bond_dim": 0}, "bond_dim"), ({"bond_dim": 2.5}, "bond_dim"), ({"bond_dim": True}, "bond_dim"),
    ({"cutoff": -1.0}, "cutoff"), ({"ground_state_options": 3}, "ground_state_options"),
    ({"nonsense": 1}, "unknown option"),
])
def test_bad_options(kwargs, match):
    model = mb.lattice.heisenberg(mb.lattice.chain(4))
    with pytest.raises(ValueError, match=match):
        mb.tn.thermal_states(model, [1.0], method="purification", **kwargs)


def test_too_low_temperature_for_dtau():
    model = mb.lattice.heisenberg(mb.lattice.chain(4))
    with pytest.raises(ValueError, match="Trotter steps"):
        purification_thermal_states(model, [1.0, 1e-9], dtau=0.05)


@pytest.mark.parametrize("temps", [[-1.0], [1.0, -0.5], [], [float("inf")], [float("nan")]])
def test_bad_temperatures(temps):
    model = mb.lattice.heisenberg(mb.lattice.chain(4))
    with pytest.raises(ValueError, match="temperatures"):
        mb.tn.thermal_states(model, temps, method="purification")
    with pytest.raises(ValueError, match="temperatures"):
        purification_thermal_states(model, temps)


def test_truncation_is_flagged():
    model = mb.lattice.heisenberg(mb.lattice.chain(8))
    with pytest.warns(mb.tn.ConvergenceWarning, match="discarded weight"):
        st, = purification_thermal_states(model, [0.25], bond_dim=4, dtau=0.25)
    assert not st.info["converged"] and st.info["discarded_weight"] > 1e-6 and st.info["max_bond"] == 4


# -- bigger systems (slow) -------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("make, chi", [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(12)), 128, id="chain12"),
    # χ = 4^(N/2) = 256 is exact for N = 8; a ring cut in two cuts two bonds and needs it at T = 0.25.
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(8, pbc=True)), 256, id="ring8"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(4)), 256, id="ladder2x4"),
])
def test_larger_lattices_match_exact(make, chi):
    model = make()
    pur = mb.tn.thermal_states(model, TEMPS, method="purification", bond_dim=chi, dtau=0.1)
    ex = mb.tn.thermal_states(model, TEMPS, method="exact")
    for p, e in zip(pur, ex):
        assert abs(p.energy - e.energy) < TOL
        for part in _partitions(model.lattice):
            d = mb.observables.effective_state(p, part).T - mb.observables.effective_state(e, part).T
            assert np.abs(d).max() < TOL


def test_solver_warnings_point_at_the_callers_line():
    model = mb.lattice.heisenberg(mb.lattice.chain(8))
    with pytest.warns(mb.tn.ConvergenceWarning) as record:
        mb.tn.thermal_states(model, [0.25], method="purification", bond_dim=4, dtau=0.25)
    assert record[0].filename == __file__


# -- the converged flag against exact (issue 8) ----------------------------------------------------------------
def _errors_vs_exact(p, e):
    """(|ΔE|/N, max |Δ<σσ>| over all pairs, max |ΔT| over the effective states) against the exact state."""
    de = abs(p.energy - e.energy) / p.n_sites
    dc = np.abs(mb.observables.pair_correlations(p) - mb.observables.pair_correlations(e)).max()
    dt = max(np.abs(mb.observables.effective_state(p, part).T - mb.observables.effective_state(e, part).T).max()
             for part in _partitions(p.lattice))
    return de, dc, dt


FLAG_CASES = [
    # the issue's ladder (2 x 4, J2 = 0.4, h = 0.3) at bond dimensions that truncate
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(4), J2=0.4, h=0.3), {"bond_dim": 24},
                 [4.0, 2.0, 1.0], id="ladder2x4-j2-field-chi24"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(8), Delta=0.5, h=0.2), {"bond_dim": 12},
                 [4.0, 2.0, 1.0, 0.5], id="chain8-xxz-chi12"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(6, pbc=True)), {"bond_dim": 14},
                 [4.0, 1.0, 0.25], id="ring6-chi14"),
    # Trotter-dominated: order 2, large dtau, no truncation
    pytest.param(lambda: mb.lattice.tfim(mb.lattice.chain(6, pbc=True), J=1.0, g=0.7),
                 {"bond_dim": 64, "order": 2, "dtau": 0.1}, [2.0, 1.0, 0.3], id="ring6-tfim-order2"),
]


@pytest.mark.parametrize("make, opts, temps", FLAG_CASES)
@pytest.mark.filterwarnings("ignore::macrobell.tn.ConvergenceWarning")
def test_converged_flag_bounds_errors_against_exact(make, opts, temps):
    model = make()
    ex = mb.tn.thermal_states(model, temps, method="exact")
    pur = purification_thermal_states(model, temps, **opts)
    estimates = []
    for p, e in zip(pur, ex):
        errs = _errors_vs_exact(p, e)
        est = p.info["error_estimate"]
        assert p.info["converged"] == (est <= ERROR_TOL) and p.info["error_tol"] == ERROR_TOL
        if p.info["converged"]:
            assert max(errs) < ERROR_TOL, (p.temperature, errs)
        # The flag with any error_tol >= est claims errors <= est: check that claim for every tolerance a
        # user could reasonably ask (<= 1e-2), which covers error_tol = 1e-2, 1e-3, 1e-4, ... at once.
        if est <= 1e-2:
            assert max(errs) <= est, (p.temperature, errs, est)
        estimates.append(est)
    assert min(estimates) <= 1e-2  # the claim above was checked at least once


def test_small_bond_dim_is_not_converged():
    model = mb.lattice.heisenberg(mb.lattice.ladder(4), J2=0.4, h=0.3)
    with pytest.warns(mb.tn.ConvergenceWarning, match="error estimate"):
        p, = purification_thermal_states(model, [1.0], bond_dim=8)
    e, = mb.tn.thermal_states(model, [1.0], method="exact")
    assert not p.info["converged"]
    assert max(_errors_vs_exact(p, e)) > ERROR_TOL  # and indeed the state is far off


@pytest.mark.filterwarnings("ignore::macrobell.tn.ConvergenceWarning")
def test_flag_and_estimate_do_not_depend_on_other_temperatures():
    # a truncating run (χ = 6 < 4^3) with long-range gates; 1/0.77 is not a multiple of dτ (shortened step)
    model = mb.lattice.heisenberg(mb.lattice.ladder(3), J2=0.4, h=0.3)
    alone, = purification_thermal_states(model, [1.0], bond_dim=6, dtau=0.1)
    many = purification_thermal_states(model, [3.0, 1 / 0.77, 1.0, 0.5], bond_dim=6, dtau=0.1)
    assert alone.info["discarded_weight"] > 1e-8
    with_others = many[2]
    for key in ("discarded_weight", "error_estimate", "truncation_error_estimate", "trotter_error_estimate",
                "converged", "n_svd", "n_steps", "log_Z"):
        assert with_others.info[key] == alone.info[key], key
    assert with_others.energy == alone.energy


@pytest.mark.slow
def test_issue_ladder_at_defaults_is_not_converged():
    # issue 8: defaults (χ = 64, dτ = 0.05, order 4) at T = 1 have errors ~5e-4 in the correlators
    model = mb.lattice.heisenberg(mb.lattice.ladder(4), J2=0.4, h=0.3)
    p, = purification_thermal_states(model, [1.0])
    e, = mb.tn.thermal_states(model, [1.0], method="exact")
    errs = _errors_vs_exact(p, e)
    assert max(errs) <= p.info["error_estimate"]
    assert p.info["converged"] == (max(errs) < ERROR_TOL and p.info["error_estimate"] <= ERROR_TOL)


def test_zero_temperature_degenerate_mixture_copies():
    model = mb.lattice.heisenberg(mb.lattice.chain(5))  # S = 1/2 doublet ground manifold
    a, b = mb.tn.thermal_states(model, [0.0, 0.0], method="purification", bond_dim=16,
                                ground_state_options={"bond_dim": 16, "seed": 0, "degenerate": "mix"})
    assert a.backend == b.backend == "mixture" and a is not b and a.components[0] is not b.components[0]
    ex = mb.tn.ground_state(model, method="exact")
    assert np.abs(mb.observables.pair_correlations(b) - mb.observables.pair_correlations(ex)).max() < 1e-6


def test_bond_reduced_states_match_dense_partial_trace():
    """Oracle: the dense purified state vector, ancillas and the other sites traced out by brute force."""
    from macrobell.tn._purification_observables import _bond_reduced_states

    rng = np.random.default_rng(7)
    n, chi = 5, 3
    dims = [1] + [chi] * (n - 1) + [1]
    arrays = [rng.normal(size=(dims[k], 4, dims[k + 1])) + 1j * rng.normal(size=(dims[k], 4, dims[k + 1]))
              for k in range(n)]
    psi = arrays[0]
    for a in arrays[1:]:
        psi = np.tensordot(psi, a, axes=(psi.ndim - 1, 0))
    psi = psi.reshape([2, 2] * n)  # (p0, a0, p1, a1, …)
    psi = psi / np.linalg.norm(psi)
    bonds = [(k, l, rng.normal(size=(4, 4))) for k, l in ((0, 1), (0, 3), (0, 4), (1, 2), (1, 4), (2, 4), (3, 4))]
    singles = [(k, rng.normal(size=(2, 2))) for k in (0, 2, 4)]
    energy, rhos = _bond_reduced_states(arrays, bonds, singles)

    def dense_rho(sites):
        keep = [2 * s for s in sites]
        rest = [i for i in range(2 * n) if i not in keep]
        m = np.transpose(psi, keep + rest).reshape(2 ** len(sites), -1)
        return m @ m.conj().T  # rho[ket, bra]

    want_e = 0.0
    for (k, l, h), r in zip(bonds, rhos):
        d = dense_rho([k, l])
        np.testing.assert_allclose(r, d, atol=1e-12)
        want_e += np.real(np.trace(d @ h))
    for j, (k, h) in enumerate(singles):
        d = dense_rho([k])
        np.testing.assert_allclose(rhos[len(bonds) + j], d, atol=1e-12)
        want_e += np.real(np.trace(d @ h))
    assert energy == pytest.approx(want_e, abs=1e-12)
