"""U(1)-symmetric DMRG (``conserve="Sz"``, TeNPy engine) against exact diagonalisation (issue 12).

Oracles: the exact backend (energies, effective states, degeneracies), the
lowest eigenvalue of each exact ``S^z`` block (:func:`sector_hamiltonian`),
the sparse Hamiltonian on the dense vector of the returned MPS, and the
Weinstein bound (an eigenvalue lies within the standard deviation of every
state's energy).
"""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import macrobell as mb
from macrobell.lattice import Partition
from macrobell.tn import _dmrg_u1
from macrobell.tn.dmrg import VARIANCE_TOL_PER_SITE, ConvergenceWarning, dmrg_ground_state
from macrobell.tn.exact import sector_hamiltonian
from macrobell.tn.state import MixtureState

pytest.importorskip("tenpy")

CASES = [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(10)), id="chain10"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(5)), id="ladder-2x5"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.square(3, 4, pbc_y=True)), id="cylinder-3x4"),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.chain(10), J1=1.0, J2=0.3), id="j1j2-10"),
    pytest.param(lambda: mb.lattice.xxz(mb.lattice.chain(10), Delta=0.5, h=1.2), id="xxz-field-10"),
]


def _sector_minima(model):
    """{S^z: lowest eigenvalue of the exact S^z block} (k spins down: S^z = (N - 2k)/2)."""
    n = model.n_sites
    out = {}
    for k in range(n + 1):
        H, _ = sector_hamiltonian(model, k)
        e = np.linalg.eigvalsh(H.toarray())[0] if H.shape[0] <= 300 else spla.eigsh(H, k=1, which="SA")[0][0]
        out[(n - 2 * k) / 2] = float(e)
    return out


def _effective_T(state, part):
    return mb.observables.effective_state(state, part).T


@pytest.mark.parametrize("make", CASES)
def test_u1_energy_and_effective_states_equal_exact(make):
    model = make()
    # gapped, non-degenerate ground states (the manifold check is tested below)
    st = dmrg_ground_state(model, bond_dim=64, conserve="Sz", degenerate="ignore")
    ex = mb.tn.ground_state(model, method="exact")
    assert ex.info["degeneracy"] == 1
    info = st.info
    assert info["engine"] == "tenpy-u1" and info["converged"] and info["stopped_by"] == "tolerance"
    assert abs(st.energy - ex.energy) < 1e-8
    # the sector found: the exact backend's lowest block (the field-polarised one for the z field)
    minima = _sector_minima(model)
    assert minima[info["sz_total"]] == pytest.approx(min(minima.values()), abs=1e-8)
    if model.fields:
        assert info["sz_sector_mode"] == "scan" and info["sz_total"] > 0
    else:
        assert info["sz_sector_mode"] == "su2-minimal" and info["sz_total"] == 0
    lat = model.lattice
    for part in (Partition.halves(lat), Partition.sublattices(lat)):
        assert np.abs(_effective_T(st, part) - _effective_T(ex, part)).max() < 1e-6
    assert abs(info["engine_energy"] - st.energy) < 1e-10
    assert -1e-10 < info["variance"] < 1e-6 and len(info["energies"]) == info["sweeps"]


def test_u1_conversion_is_exact_against_the_sparse_hamiltonian():
    # chain: MPS order = lattice order, so the MPS's dense vector is the state in to_sparse()'s basis
    model = mb.lattice.xxz(mb.lattice.chain(9), Delta=0.7, h=0.3)
    st = dmrg_ground_state(model, bond_dim=32, conserve="Sz", sz_total=0.5, degenerate="ignore")
    v = np.asarray(st.mps.to_dense()).reshape(-1)
    assert abs(np.vdot(v, model.to_sparse() @ v).real - st.energy) < 1e-10
    n_down = np.array([bin(i).count("1") for i in range(2 ** 9)])
    assert np.abs(v[n_down != 4]).max() < 1e-12  # all weight in S^z = 1/2 (4 of 9 spins down)


def test_blocked_expectation_equals_the_dense_contraction():
    from macrobell.tn.mpo import model_to_mpo, mpo_arrays, mpo_expectation

    model = mb.lattice.xxz(mb.lattice.square(3, 4, pbc_y=True), Delta=0.6, h=0.4)
    tm = _dmrg_u1.tenpy_model(model)
    run = _dmrg_u1.run_sector(tm, model, 2, [8, 8, 16], cutoff=1e-12, tol_total=1e-8, max_sweeps=4, log_solver=None)
    arrays = _dmrg_u1.lpr_arrays(run.psi)
    ham = model_to_mpo(model)
    e = _dmrg_u1.blocked_expectation(arrays, _dmrg_u1.bond_charges(run.psi), mpo_arrays(ham))
    assert e == pytest.approx(float(np.real(mpo_expectation(arrays, ham))), abs=1e-12)
    assert e == pytest.approx(run.energy, abs=1e-12)


def test_fixed_sectors_equal_the_exact_sector_minima():
    model = mb.lattice.heisenberg(mb.lattice.ladder(4))
    minima = _sector_minima(model)
    for m in (0, 1, -2, 4):
        st = dmrg_ground_state(model, bond_dim=32, conserve="Sz", sz_total=m, degenerate="ignore")
        assert st.info["sz_total"] == m and st.info["sz_sector_mode"] == "fixed"
        assert st.energy == pytest.approx(minima[m], abs=1e-8)


def test_odd_chain_doublet_from_the_spin_flip_partner():
    model = mb.lattice.heisenberg(mb.lattice.chain(9))
    ex = mb.tn.ground_state(model, method="exact")
    with pytest.warns(ConvergenceWarning, match=r"S\^z sectors \[-0.5, 0.5\]"):
        st = dmrg_ground_state(model, bond_dim=32, conserve="Sz")
    assert st.info["ground_manifold_dim"] == ex.info["degeneracy"] == 2 and st.info["sz_total"] == 0.5
    mix = dmrg_ground_state(model, bond_dim=32, conserve="Sz", degenerate="mix")
    assert isinstance(mix, MixtureState) and mix.info["converged"]
    obs = mb.observables
    assert np.abs(obs.pair_correlations(mix) - obs.pair_correlations(ex)).max() < 1e-6
    part = Partition.halves(model.lattice)
    assert np.abs(_effective_T(mix, part) - _effective_T(ex, part)).max() < 1e-6
    # the gap: an upper estimate of the exact one (cheap runs in the sector and the next one up)
    assert ex.info["gap"] - 1e-8 <= st.info["gap"] < ex.info["gap"] + 1e-2


def test_converged_flag_is_true_only_within_what_it_claims():
    model = mb.lattice.heisenberg(mb.lattice.chain(12))
    e0 = mb.tn.ground_state(model, method="exact").energy
    limit = VARIANCE_TOL_PER_SITE * model.n_sites
    seen = set()
    for chi in (4, 8, 64):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            st = dmrg_ground_state(model, bond_dim=chi, conserve="Sz", degenerate="ignore")
        d = st.diagnostics
        e = st.info["energies"]
        claims = abs(e[-1] - e[-2]) < st.info["tol_total"] and d.energy_variance <= limit
        assert d.converged == claims
        if d.converged:
            # Weinstein: an eigenvalue lies within sigma of E, and E - E0 < gap / 2 here, so it is E0
            assert st.energy - e0 <= math.sqrt(max(d.energy_variance, 0.0)) + 1e-10
        seen.add(d.converged)
    assert seen == {True, False}  # the small bond fails the variance test, the large one passes


def test_auto_uses_the_dense_path_for_non_conserving_models_and_without_tenpy(monkeypatch):
    tfim = mb.lattice.tfim(mb.lattice.chain(8), J=1.0, g=1.0)
    assert dmrg_ground_state(tfim, bond_dim=16, degenerate="ignore").info["engine"] == "quimb"
    model = mb.lattice.heisenberg(mb.lattice.chain(8))
    monkeypatch.setattr(_dmrg_u1, "engine_available", lambda: False)
    st = dmrg_ground_state(model, bond_dim=16, degenerate="ignore")
    assert st.info["engine"] == "quimb" and st.info["conserve"] == "none"
    with pytest.raises(ValueError, match=r"macrobell\[symmetric\]"):
        dmrg_ground_state(model, conserve="Sz")


@pytest.mark.parametrize("kw, match", [
    ({"conserve": "SZ"}, r"conserve must be one of \['auto', 'Sz', 'none'\]"),
    ({"conserve": None}, "conserve"),
    ({"sz_total": 0.3}, r"sz_total must be a finite number in \[-500000, 500000\] that is a multiple of 1/2"),
    ({"sz_total": "highest"}, "or 'lowest', got 'highest'"),
    ({"sz_total": True}, "sz_total"),
    ({"sz_total": 4}, r"sz_total must be 'lowest' or a multiple of 1/2 in \[-6/2, 6/2\]"),
    ({"sz_total": 0.5}, "parity of N=6"),
    ({"sz_total": 0, "conserve": "none"}, "needs the U\\(1\\) engine"),
])
def test_u1_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        dmrg_ground_state(mb.lattice.heisenberg(mb.lattice.chain(6)), **kw)


@pytest.mark.parametrize("kw", [{"conserve": "Sz"}, {"sz_total": 0}])
def test_u1_refuses_models_without_sz_conservation(kw):
    with pytest.raises(ValueError, match="conserves total S\\^z"):
        dmrg_ground_state(mb.lattice.tfim(mb.lattice.chain(6), J=1.0, g=1.0), **kw)


def test_u1_via_ground_state_api_and_option_table():
    from macrobell.tn._checks import OPTION_RANGES

    assert OPTION_RANGES["dmrg"]["conserve"].choices == ("auto", "Sz", "none")
    with pytest.raises(ValueError, match="sz_total"):
        mb.tn.ground_state(mb.lattice.heisenberg(mb.lattice.chain(6)), method="dmrg", sz_total=0.25)
    st = mb.tn.ground_state(mb.lattice.heisenberg(mb.lattice.chain(6)), method="dmrg", bond_dim=16, sz_total=1,
                            degenerate="ignore")
    assert st.info["sz_total"] == 1 and st.info["engine"] == "tenpy-u1"


def test_scan_without_field_finds_the_polarised_doublet():
    # Ising-like ferromagnet (Delta = -2): the ground states are all up and all down, S^z = +-N/2
    model = mb.lattice.xxz(mb.lattice.chain(8), Delta=-2.0)
    ex = mb.tn.ground_state(model, method="exact")
    mix = dmrg_ground_state(model, bond_dim=16, conserve="Sz", degenerate="mix")
    assert mix.info["sz_sector_mode"] == "scan" and abs(mix.info["sz_total"]) == 4
    assert ex.info["degeneracy"] == 2 and sorted(mix.info["ground_manifold_sectors"]) == [-4.0, 4.0]
    assert abs(mix.energy - ex.energy) < 1e-8
    part = Partition.halves(model.lattice)
    assert np.abs(_effective_T(mix, part) - _effective_T(ex, part)).max() < 1e-6


@pytest.mark.parametrize("line, fragment", [
    ('conserve = "SZ"', "[state] conserve: backend 'dmrg': conserve must be one of ['auto', 'Sz', 'none']"),
    ("sz_total = 0.25", "[state] sz_total: backend 'dmrg': sz_total must be a finite number in"),
])
def test_sweep_file_refuses_bad_u1_options(tmp_path, line, fragment):
    from macrobell.data import run_sweep
    from macrobell.data.sweep import SweepError
    from conftest import chain_sweep_toml

    text = chain_sweep_toml(L="4", Delta=None, temperatures="[0.0]", partitions=("halves",))
    out = tmp_path / "out.h5"
    with pytest.raises(SweepError) as exc:
        run_sweep(text.replace('method = "exact"', f'method = "dmrg"\n{line}'), out, workers=1, show_progress=False)
    assert fragment in str(exc.value) and not out.exists()
