"""Exact backend by total-S^z sectors (issue 12), against the full-space computation and to_sparse."""

import math

import numpy as np
import pytest

import macrobell as mb
from macrobell.lattice import Partition
from macrobell.observables import effective_state
from macrobell.tn.exact import (ExactTooLargeError, _check_sector_memory, check_exact_model_memory,
                                exact_ground_state, _ground_state, sector_basis, sector_hamiltonian)


def _random_xxz(n, seed):
    # random XXZ couplings on a ring plus a random z field: conserves S^z, no SU(2), no spin-flip symmetry
    from macrobell.lattice.models import Field, SpinModel, Term
    rng = np.random.default_rng(seed)
    lat = mb.lattice.chain(n, pbc=True)
    nn = lat.bonds["nn"]
    terms = []
    for b in nn:
        jxy, jz = rng.normal(size=2)
        terms += [Term(jxy, "xx", [b]), Term(jxy, "yy", [b]), Term(jz, "zz", [b])]
    return SpinModel(lat, tuple(terms), (Field(rng.normal(), "z", np.arange(n)),))


def test_sector_blocks_are_the_blocks_of_to_sparse():
    model = _random_xxz(8, seed=5)
    H = model.to_sparse().toarray()
    total = 0
    for k in range(9):
        Hk, states = sector_hamiltonian(model, k)
        assert states.size == math.comb(8, k)
        assert np.array_equal(states, sector_basis(8, k))
        np.testing.assert_allclose(Hk.toarray(), H[np.ix_(states, states)], atol=1e-14)
        total += states.size
    assert total == 2**8
    # nothing outside the blocks: H is block diagonal in the popcount
    ups = np.array([bin(i).count("1") for i in range(2**8)])
    assert np.abs(H[ups[:, None] != ups[None, :]]).max() == 0


def test_sector_hamiltonian_refuses_non_conserving_models():
    model = mb.lattice.tfim(mb.lattice.chain(6))
    with pytest.raises(ValueError, match="does not conserve total S\\^z"):
        sector_hamiltonian(model, 3)
    with pytest.raises(ValueError, match="sz_sectors=True needs"):
        _ground_state(model, sz_sectors=True)
    with pytest.raises(ValueError, match="sz_sectors must be"):
        _ground_state(mb.lattice.heisenberg(mb.lattice.chain(6)), sz_sectors="yes")


CASES = [
    # N = 10: forced sectors against the dense eigh of the whole space (the default there)
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(10)), id="heisenberg-open10", marks=pytest.mark.slow),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.chain(10, pbc=True), J1=1.0, J2=0.5),
                 id="majumdar-ghosh-ring10-degenerate"),
    # N = 11: sectors by default, against full-space Lanczos
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(11, pbc=True)), id="heisenberg-ring11-degenerate"),
    pytest.param(lambda: mb.lattice.xxz(mb.lattice.chain(11), Delta=0.5, h=0.7), id="xxz-field-open11"),
    pytest.param(lambda: _random_xxz(11, seed=2), id="random-xxz-field-ring11"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(12)), id="heisenberg-open12", marks=pytest.mark.slow),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.chain(12, pbc=True), J1=1.0, J2=0.5), id="majumdar-ghosh-ring12",
                 marks=pytest.mark.slow),
]


@pytest.mark.parametrize("make", CASES)
def test_sector_ground_state_equals_full_space(make):
    model = make()
    full = _ground_state(model, sz_sectors=False)
    sec = _ground_state(model, sz_sectors=True)
    assert sec.info["sz_sectors"] >= 1 and full.info.get("sz_sectors") is None
    assert sec.energy == pytest.approx(full.energy, abs=1e-10)
    assert sec.info["degeneracy"] == full.info["degeneracy"]
    assert sec.info["gap"] == pytest.approx(full.info["gap"], abs=1e-8)
    assert abs(sec.diagnostics.energy_variance) < 1e-9 and sec.diagnostics.converged
    # the state itself, as the density matrix (gauge-free) and as effective states
    assert np.abs(sec.density_matrix() - full.density_matrix()).max() < 1e-10
    for part in (Partition.halves(model.lattice), Partition.blocks(model.lattice, 3))[:1 if sec.info["mixed"] else 2]:
        a, b = effective_state(sec, part), effective_state(full, part)
        assert np.abs(a.T - b.T).max() < 1e-10


def test_degenerate_manifold_across_sectors_is_mixed():
    # odd Heisenberg ring: the S = 1/2 ground manifold has members in S^z = +1/2 and -1/2
    st = exact_ground_state(mb.lattice.heisenberg(mb.lattice.chain(11, pbc=True)))
    assert sorted(st.info["sz_ground_sectors"]) == [-0.5, 0.5]
    rho = st.density_matrix()
    g = st.info["degeneracy"]
    assert g == 4  # two momenta x two S^z: the known S = 1/2 degeneracy of odd rings
    # an equal mixture of g orthonormal states: trace 1, purity 1/g
    assert np.trace(rho) == pytest.approx(1.0) and np.vdot(rho, rho).real == pytest.approx(1 / g, abs=1e-12)


def test_sector_memory_estimate_admits_n24_where_full_space_is_refused():
    model = mb.lattice.heisenberg(mb.lattice.chain(24))
    est = _check_sector_memory(model, max_memory_gb=64)
    with pytest.raises(ExactTooLargeError):
        check_exact_model_memory(model, "lanczos", max_memory_gb=est / 2**30)
    with pytest.raises(ExactTooLargeError, match="S\\^z sector"):
        exact_ground_state(model, max_memory_gb=est / 2**30 / 2)
