"""DMRG ground states against exact diagonalisation, diagnostics, reproducibility and bad input."""

import numpy as np
import pytest

import macrobell as mb
from macrobell.tn.dmrg import ConvergenceWarning, dmrg_ground_state, random_mps


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
