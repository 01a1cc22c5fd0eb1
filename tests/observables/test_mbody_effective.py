"""M-body effective states (K·M qubits): the average over ordered M-tuples of distinct sites per region."""

import itertools

import numpy as np
import pytest
import quimb.tensor as qtn

import macrobell as mb


def brute_reduced(psi, n, sites):
    """Reduced density matrix of ``sites`` (in that order) by reshaping and tracing, no macrobell code."""
    t = psi.reshape((2,) * n)
    rest = [k for k in range(n) if k not in sites]
    t = np.transpose(t, list(sites) + rest).reshape(2 ** len(sites), -1)
    return t @ t.conj().T


def test_two_body_effective_state_against_brute_force():
    n = 5
    lat = mb.lattice.chain(n)
    rng = np.random.default_rng(7)
    psi = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    psi /= np.linalg.norm(psi)
    part = mb.lattice.Partition.custom(lat, {"A": [0, 2, 3], "B": [1, 4]})
    eff = mb.observables.effective_state(mb.tn.from_dense(psi, lat), part, M=2)
    want = np.mean([brute_reduced(psi, n, list(a) + list(b))
                    for a in itertools.permutations([0, 2, 3], 2) for b in itertools.permutations([1, 4], 2)],
                   axis=0)
    assert eff.M == 2 and eff.rho.shape == (16, 16)
    np.testing.assert_allclose(eff.rho, want, atol=1e-12)
    crit = eff.criteria()
    assert crit["min_settings_for_violation"] == [2, 2]  # floor(N_X / M) + 1 (seed claim 3)
    assert np.isnan(crit["chsh_max"])


def test_two_body_effective_state_mps_equals_dense():
    n = 6
    lat = mb.lattice.chain(n)
    mps = qtn.MPS_rand_state(n, 4, dtype="float64", seed=3)
    st = mb.tn.from_quimb(mps, lat)
    dense = mb.tn.from_dense(mps.to_dense().ravel(), lat)
    part = mb.lattice.Partition.custom(lat, {"A": [0, 1, 5], "B": [2, 4]})
    a = mb.observables.effective_state(st, part, M=2)
    b = mb.observables.effective_state(dense, part, M=2)
    np.testing.assert_allclose(a.T, b.T, atol=1e-10)


@pytest.mark.parametrize("M, match", [
    pytest.param(0, "M must be an integer >= 1", id="M-zero"),
    pytest.param(3, "at least 3 sites per region", id="region-too-small"),
])
def test_bad_body_order(M, match):
    lat = mb.lattice.chain(4)
    st = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="exact")
    with pytest.raises(ValueError, match=match):
        mb.observables.effective_state(st, mb.lattice.Partition.halves(lat), M=M)


def test_reduced_states_batch_equals_single_calls():
    lat = mb.lattice.chain(6)
    mps = qtn.MPS_rand_state(6, 4, dtype="complex128", seed=5)
    groups = [[0, 3], [5, 1, 2], [4]]
    for st in (mb.tn.from_quimb(mps, lat), mb.tn.from_dense(mps.to_dense().ravel(), lat)):
        batch = mb.observables.reduced_states(st, groups)
        for g, rho in zip(groups, batch):
            np.testing.assert_allclose(rho, brute_reduced(mps.to_dense().ravel(), 6, g), atol=1e-12)
