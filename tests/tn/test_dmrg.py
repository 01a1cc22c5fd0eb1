"""DMRG ground states against exact diagonalisation, diagnostics, reproducibility and bad input."""

import numpy as np
import pytest

import macrobell as mb
from macrobell.lattice import Partition
from macrobell.tn.dmrg import ConvergenceWarning, dmrg_ground_state, random_mps
from macrobell.tn.state import MixtureState


def exact_energy(model):
    try:
        return mb.tn.ground_state(model, method="exact").energy
    except ImportError:  # exact backend missing: Lanczos on the sparse matrix
        import scipy.sparse.linalg as sla
        return float(sla.eigsh(model.to_sparse(), k=1, which="SA")[0][0])


CASES = [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(12)), id="heisenberg-open12"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(12, pbc=True)), id="heisenberg-ring12"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(6)), id="ladder-6x2"),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.chain(12, pbc=True), J1=1.0, J2=0.3), id="j1j2-ring12"),
    pytest.param(lambda: mb.lattice.xxz(mb.lattice.chain(12), Delta=0.5), id="xxz-0.5-open12"),
    pytest.param(lambda: mb.lattice.xxz(mb.lattice.chain(10, pbc=True), Delta=1.5), id="xxz-1.5-ring10"),
    pytest.param(lambda: mb.lattice.tfim(mb.lattice.chain(12, pbc=True), J=1.0, g=1.0), id="tfim-ring12"),
    pytest.param(lambda: _complex_model(), id="complex-xy-field8"),
]


def _complex_model():
    # complex Hermitian H (odd number of y's): quimb's DMRG must be handed H^T
    from macrobell.lattice.models import Field, SpinModel, Term
    lat = mb.lattice.chain(8)
    nn = lat.bonds["nn"]
    return SpinModel(lat, (Term(1.0, "xx", nn), Term(1.0, "yy", nn), Term(0.5, "zz", nn), Term(0.3, "xy", nn)),
                     (Field(0.2, "y", np.arange(8)),))


@pytest.mark.parametrize("make", CASES)
def test_dmrg_energy_matches_exact(make):
    model = make()
    st = dmrg_ground_state(model, bond_dim=64, seed=7)
    assert st.temperature == 0
    assert st.info["converged"]
    assert abs(st.energy - exact_energy(model)) < 1e-7
    info = st.info
    for key in ("energies", "variance", "max_bond", "converged", "sweeps", "elapsed_s", "method"):
        assert key in info
    assert -1e-10 < info["variance"] < 1e-6  # roundoff can make an exact eigenstate slightly negative
    assert len(info["energies"]) == info["sweeps"] and info["max_bond"] <= 64


def test_dmrg_via_api_and_dmrg1():
    model = mb.lattice.heisenberg(mb.lattice.chain(10))
    e0 = exact_energy(model)
    st = mb.tn.ground_state(model, method="dmrg", bond_dim=32, seed=1)
    assert abs(st.energy - e0) < 1e-7
    st1 = mb.tn.ground_state(model, method="dmrg", bond_dim=32, seed=1, algorithm="dmrg1", max_sweeps=40)
    assert st1.info["method"] == "dmrg" and st1.info["algorithm"] == "dmrg1"
    assert abs(st1.energy - e0) < 1e-6


def test_dmrg_reproducible_with_seed():
    model = mb.lattice.xxz(mb.lattice.chain(10), Delta=0.5)
    a = dmrg_ground_state(model, bond_dim=16, seed=3)
    b = dmrg_ground_state(model, bond_dim=16, seed=3)
    assert a.info["energies"] == b.info["energies"]


def test_dmrg_nonconvergence_is_a_warning():
    model = mb.lattice.heisenberg(mb.lattice.chain(16))
    with pytest.warns(ConvergenceWarning):
        st = dmrg_ground_state(model, bond_dim=4, max_sweeps=2, seed=0)
    assert st.info["converged"] is False
    assert np.isfinite(st.energy)


@pytest.mark.parametrize("kw, match", [
    ({"bond_dim": 0}, "bond_dim"),
    ({"bond_dim": 2.5}, "bond_dim"),
    ({"algorithm": "dmrg3"}, "algorithm"),
    ({"tol": 0.0}, "tol"),
    ({"max_sweeps": 0}, "max_sweeps"),
    ({"cutoff": -1.0}, "cutoff"),
])
def test_dmrg_bad_input(kw, match):
    model = mb.lattice.heisenberg(mb.lattice.chain(6))
    with pytest.raises(ValueError, match=match):
        dmrg_ground_state(model, **kw)


def test_api_unknown_option():
    with pytest.raises(ValueError, match="unknown option"):
        mb.tn.ground_state(mb.lattice.heisenberg(mb.lattice.chain(6)), method="dmrg", chi=8)


def _chain32():
    model = mb.lattice.heisenberg(mb.lattice.chain(32))
    return dmrg_ground_state(model, bond_dim=128, seed=0)


def test_heisenberg_chain32_reference_energy():
    # ~3-5 s on one core (not slow-marked: below the 15 s limit)
    # docs/physics.md, 'Reference values' (issue 3): E0(32-site open Heisenberg chain, S = σ/2) = −13.997315618
    st = _chain32()
    assert abs(st.energy - (-13.997315618)) < 1e-8


def test_from_quimb_validation():
    lat = mb.lattice.chain(6)
    with pytest.raises(ValueError, match="length 5"):
        mb.tn.from_quimb(random_mps(5, 4, seed=0), lat)
    with pytest.raises(ValueError, match="local dimension"):
        mb.tn.from_quimb(random_mps(6, 4, phys_dim=3, seed=0), lat)
    with pytest.raises(ValueError, match="purified"):
        mb.tn.from_quimb(random_mps(6, 4, phys_dim=2, seed=0), lat, purified=True)
    with pytest.raises(ValueError, match="MatrixProductState"):
        mb.tn.from_quimb(np.zeros(64), lat)
    st = mb.tn.from_quimb(random_mps(6, 4, phys_dim=4, seed=0), lat)
    assert st.purified and st.phys_dim == 4


def test_from_quimb_reorders_and_gives_energy():
    # ladder MPS order is a snake: the wrapped state must equal the input, site by site
    lat = mb.lattice.ladder(3)
    model = mb.lattice.heisenberg(lat)
    psi = random_mps(lat.n_sites, 8, seed=2)
    st = mb.tn.from_quimb(psi, lat, model=model)
    v = psi.to_dense().ravel()
    v /= np.linalg.norm(v)
    e_ref = np.vdot(v, model.to_sparse() @ v).real
    assert abs(st.energy - e_ref) < 1e-10
    n = lat.n_sites
    w = st.mps.to_dense().ravel().reshape((2,) * n)  # MPS order: axis k = lattice site order[k]
    inv = lat.mps_position
    w = w.transpose(inv).ravel()
    assert abs(abs(np.vdot(w, v)) - 1) < 1e-10


def test_odd_su2_chain_warns_about_its_degenerate_manifold():
    model = mb.lattice.heisenberg(mb.lattice.chain(7))
    with pytest.warns(UserWarning, match="degenerate ground manifold") as record:
        st = mb.tn.ground_state(model, method="dmrg", bond_dim=16, seed=0)
    assert st.info["degenerate_manifold"] and record[0].filename == __file__
    ex = mb.tn.ground_state(model, method="exact")
    assert ex.info["degeneracy"] == 2 and st.energy == pytest.approx(ex.energy, abs=1e-8)


# -- degenerate ground manifolds (issue 8) ----------------------------------------------------------------------
def _mg_ring():
    # Majumdar-Ghosh point J2 = J1/2: the two dimer coverings span the ground manifold of the 12-ring
    return mb.lattice.j1j2(mb.lattice.chain(12, pbc=True), J1=1.0, J2=0.5)


def test_majumdar_ghosh_mixture_matches_exact():
    model = _mg_ring()
    ex = mb.tn.ground_state(model, method="exact")
    assert ex.info["degeneracy"] == 2
    st = mb.tn.ground_state(model, method="dmrg", bond_dim=32, seed=0, degenerate="mix")
    assert isinstance(st, MixtureState) and len(st.components) == 2 and st.info["converged"]
    assert np.allclose(st.weights, 0.5) and st.info["max_overlap"] < 1e-6  # an orthonormal manifold basis
    assert st.info["ground_manifold_dim"] == 2 and st.info["degenerate_manifold"]
    assert abs(st.energy - ex.energy) < 1e-8
    obs = mb.observables
    assert np.abs(obs.pair_correlations(st) - obs.pair_correlations(ex)).max() < 1e-6
    part = Partition.halves(model.lattice)
    assert np.abs(obs.effective_state(st, part).T - obs.effective_state(ex, part).T).max() < 1e-6
    sites = [0, 1, 5]
    assert np.abs(obs.reduced_state(st, sites) - obs.reduced_state(ex, sites)).max() < 1e-6
    groups = [[0, 1], [3, 4, 8]]
    for r, r_ex in zip(obs.reduced_states(st, groups), obs.reduced_states(ex, groups)):
        assert np.abs(r - r_ex).max() < 1e-6
    # the gap above the manifold: an upper estimate of the exact one (here from the cheap bond-16 check)
    assert ex.info["gap"] - 1e-8 <= st.info["gap"] < ex.info["gap"] + 1e-2


def test_majumdar_ghosh_warns_and_flags_its_single_state():
    model = _mg_ring()
    with pytest.warns(ConvergenceWarning, match="degenerate ground manifold: 2") as record:
        st = mb.tn.ground_state(model, method="dmrg", bond_dim=32, seed=0)
    assert record[0].filename == __file__
    assert isinstance(st, mb.tn.MPSState) and st.info["degenerate_manifold"] and st.info["ground_manifold_dim"] == 2
    # converged certifies energy and variance (the state is in the manifold), not the T -> 0 observables:
    ex = mb.tn.ground_state(model, method="exact")
    assert st.info["converged"] and abs(st.energy - ex.energy) < 1e-8 and st.info["variance"] < 1e-8
    diff = np.abs(mb.observables.pair_correlations(st) - mb.observables.pair_correlations(ex)).max()
    assert diff > 0.1  # one dimer covering: nearest-neighbour correlators off by ~0.5 from the mixture


@pytest.mark.parametrize("make", [CASES[0], CASES[5], CASES[6]])
def test_gapped_ground_state_is_not_called_degenerate(make, recwarn):
    model = make()
    st = dmrg_ground_state(model, bond_dim=32, seed=1)
    ex = mb.tn.ground_state(model, method="exact")
    assert not any(issubclass(w.category, ConvergenceWarning) for w in recwarn)
    assert st.info["ground_manifold_dim"] == 1 and st.info["degenerate_manifold"] is False
    assert st.info["gap"] >= min(ex.info["gap"], mb.tn.dmrg.GAP_PENALTY) - 1e-8  # an upper estimate


def test_odd_chain_mixture_is_the_exact_doublet_mixture():
    model = mb.lattice.heisenberg(mb.lattice.chain(7))
    st = dmrg_ground_state(model, bond_dim=16, seed=0, degenerate="mix")
    ex = mb.tn.ground_state(model, method="exact")
    assert isinstance(st, MixtureState) and len(st.components) == ex.info["degeneracy"] == 2
    assert np.abs(mb.observables.pair_correlations(st) - mb.observables.pair_correlations(ex)).max() < 1e-6


def test_ignore_skips_the_manifold_check(recwarn):
    st = dmrg_ground_state(_mg_ring(), bond_dim=16, seed=0, degenerate="ignore")
    assert st.info["degenerate_manifold"] is None and st.info["gap"] is None and st.info["gap_check_sweeps"] == 0
    assert not any(issubclass(w.category, ConvergenceWarning) for w in recwarn)


@pytest.mark.parametrize("kw, match", [({"degenerate": "average"}, "degenerate"), ({"degenerate": None}, "degenerate"),
                                       ({"degeneracy_tol": 0.0}, "degeneracy_tol")])
def test_degenerate_option_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        dmrg_ground_state(mb.lattice.heisenberg(mb.lattice.chain(6)), **kw)


def test_mixture_state_validation_and_linearity():
    lat = mb.lattice.chain(4)
    a = mb.tn.from_dense(np.eye(16)[0], lat)
    b = mb.tn.from_dense(np.eye(16)[15], lat)
    with pytest.raises(ValueError, match="components"):
        MixtureState(lattice=lat, components=[])
    with pytest.raises(ValueError, match="weights"):
        MixtureState(lattice=lat, components=[a, b], weights=[1.0, -0.5])
    with pytest.raises(ValueError, match="sites"):
        MixtureState(lattice=lat, components=[a, mb.tn.from_dense(np.eye(8)[0], mb.lattice.chain(3))])
    mix = MixtureState(lattice=lat, components=[a, b], weights=[3, 1])
    rho = 0.75 * a.density_matrix() + 0.25 * b.density_matrix()
    dense = mb.tn.from_dense(rho, lat)
    assert np.allclose(mb.observables.pair_correlations(mix), mb.observables.pair_correlations(dense))
    assert np.allclose(mb.observables.reduced_state(mix, [2, 0]), mb.observables.reduced_state(dense, [2, 0]))


def test_manifold_larger_than_the_search_is_not_called_converged():
    # ferromagnetic Heisenberg chain: the S = N/2 multiplet, N + 1 = 7 states, exceeds MAX_MANIFOLD
    model = mb.lattice.heisenberg(mb.lattice.chain(6), J=-1.0)
    with pytest.warns(ConvergenceWarning, match="at least"):
        st = dmrg_ground_state(model, bond_dim=8, seed=0, degenerate="mix")
    assert not st.info["converged"] and st.info["ground_manifold_complete"] is False
    assert len(st.components) == mb.tn.dmrg.MAX_MANIFOLD
