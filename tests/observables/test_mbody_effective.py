"""M-body effective states (K·M qubits): the average over ordered M-tuples of distinct sites per region."""

import functools
import itertools
import warnings

import numpy as np
import pytest
import quimb.tensor as qtn

import macrobell as mb
from conftest import brute_reduced_rho


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


# ------------------------------------------------- one-pass M-body recurrences against brute force

from macrobell.lattice.models import PAULI  # noqa: E402
from macrobell.observables._mbody import MBODY_MAX_QUBITS  # noqa: E402
from macrobell.observables.api import _tuple_average_rho  # noqa: E402
from macrobell.observables.dense import dense_mbody_tensor  # noqa: E402
from macrobell.observables.mps import mps_correlation_tensor, mps_mbody_tensor  # noqa: E402
from macrobell.tn.dmrg import random_mps  # noqa: E402


def brute_mbody_T(rho, n, regions, M):
    """Pauli tensor of the mean reduced state over ordered M-tuples of distinct sites (Kronecker products)."""
    per = [list(itertools.permutations(r, M)) for r in regions]
    rho_eff = np.mean([brute_reduced_rho(rho, n, [s for t in c for s in t]) for c in itertools.product(*per)],
                      axis=0)
    rho_eff = rho_eff / np.trace(rho_eff)
    q = len(regions) * M
    # T[a] = Σ_{i,j} ρ[i, j] Π_k σ_{a_k}[j_k, i_k], one Pauli per qubit, as one einsum
    kets, bras, outs = "abcdefgh"[:q], "ijklmnop"[:q], "qrstuvwx"[:q]
    P = np.array([PAULI[x] for x in range(4)])
    spec = kets + bras + "," + ",".join(o + b + k for o, b, k in zip(outs, bras, kets)) + "->" + outs
    return np.real(np.einsum(spec, rho_eff.reshape((2,) * (2 * q)), *[P] * q, optimize=True))


def dense_rho_of_mps(mps_state):
    """ρ in lattice order of a (plain or purified) MPSState, by contracting its arrays (ancillas traced)."""
    arrays = mps_state.arrays(None)
    v = arrays[0]
    for A in arrays[1:]:
        v = np.tensordot(v, A, axes=([-1], [0]))
    v = v.reshape([A.shape[1] for A in arrays])
    n = len(arrays)
    if mps_state.purified:
        v = v.reshape((2, 2) * n).transpose(list(range(0, 2 * n, 2)) + list(range(1, 2 * n, 2)))
        Psi = v.reshape(2 ** n, 2 ** n)
    else:
        Psi = v.reshape(2 ** n, 1)
    rho = Psi @ Psi.conj().T
    # MPS position k holds lattice site order[k]: permute the tensor factors to lattice order
    pos = mps_state.lattice.mps_position
    t = rho.reshape((2,) * (2 * n)).transpose(list(pos) + [n + p for p in pos])
    return t.reshape(2 ** n, 2 ** n) / np.trace(rho)


CASES = [
    pytest.param([[0, 2, 5], [1, 6, 7]], 2, id="K2-M2"),
    pytest.param([[0, 3, 4, 7], [1, 2, 6]], 3, id="K2-M3"),
    pytest.param([[0, 3], [1, 5, 7], [2, 6]], 2, id="K3-M2"),
]


@pytest.mark.parametrize("regions, M", CASES)
@pytest.mark.parametrize("kind", ["real-vector", "complex-vector", "density-matrix"])
def test_dense_mbody_tensor_equals_brute_force(kind, regions, M):
    n = 8
    rng = np.random.default_rng(12)
    if kind == "density-matrix":
        G = rng.normal(size=(2 ** n, 3)) + 1j * rng.normal(size=(2 ** n, 3))
        arr = G @ G.conj().T
        rho = arr
    else:
        arr = rng.normal(size=2 ** n) + (1j * rng.normal(size=2 ** n) if kind == "complex-vector" else 0)
        rho = np.outer(arr, arr.conj())
    rho = rho / np.trace(rho)
    got = dense_mbody_tensor(mb.tn.from_dense(arr, mb.lattice.chain(n)), regions, M)
    np.testing.assert_allclose(got, brute_mbody_T(rho, n, regions, M), atol=1e-12)


@pytest.mark.parametrize("regions, M", CASES)
@pytest.mark.parametrize("dtype, purified", [(np.float64, False), (np.complex128, False), (np.complex128, True)],
                         ids=["real", "complex", "purified-complex"])
def test_mps_mbody_tensor_equals_brute_force(dtype, purified, regions, M):
    n = 8
    lat = mb.lattice.chain(n)
    st = mb.tn.from_quimb(random_mps(n, 5, phys_dim=4 if purified else 2, seed=4, dtype=dtype), lat,
                          purified=purified)
    got = mps_mbody_tensor(st, regions, M)
    np.testing.assert_allclose(got, brute_mbody_T(dense_rho_of_mps(st), n, regions, M), atol=1e-12)


def test_mps_mbody_on_snake_ordered_ladder_equals_brute_force():
    # a ladder's MPS order differs from the lattice order: the regions are mapped through mps_position
    lat = mb.lattice.ladder(4)
    st = mb.tn.from_quimb(random_mps(8, 4, seed=9, dtype=np.complex128), lat)
    regions = [[0, 5, 6], [1, 3, 7]]
    got = mb.observables.effective_state(st, mb.lattice.Partition.custom(lat, {"A": regions[0], "B": regions[1]}),
                                         M=2)
    np.testing.assert_allclose(got.T, brute_mbody_T(dense_rho_of_mps(st), 8, regions, 2), atol=1e-12)


def test_purified_thermal_mps_mbody_equals_brute_force():
    lat = mb.lattice.chain(6)
    (st,) = mb.tn.thermal_states(mb.lattice.heisenberg(lat, Delta=0.5, h=0.3), [0.8], method="purification",
                                 bond_dim=16)
    assert st.purified
    regions = [[0, 2, 4], [1, 3, 5]]
    got = mps_mbody_tensor(st, regions, 2)
    want = brute_mbody_T(dense_rho_of_mps(st), 6, regions, 2)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert np.abs(want[0, 0, 3, 3]) > 1e-3  # a non-trivial correlation was compared


def test_mbody_M1_equals_collective_moments():
    lat = mb.lattice.chain(7)
    st = mb.tn.from_quimb(random_mps(7, 4, seed=2, dtype=np.complex128), lat)
    regions = [[0, 4], [1, 2, 6], [3, 5]]
    np.testing.assert_allclose(mps_mbody_tensor(st, regions, 1), mps_correlation_tensor(st, regions), atol=1e-13)


def test_tuple_reference_equals_sweep():
    lat = mb.lattice.chain(7)
    st = mb.tn.from_quimb(random_mps(7, 4, seed=8), lat)
    regions = [[0, 1, 5], [2, 3, 4, 6]]
    rho = _tuple_average_rho(st, regions, 2)
    eff = mb.observables.effective_state(st, mb.lattice.Partition.custom(lat, {"A": regions[0], "B": regions[1]}),
                                         M=2)
    np.testing.assert_allclose(eff.rho, rho, atol=1e-12)


def _haar_su2(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    return np.array([[q[0] + 1j * q[3], q[2] + 1j * q[1]], [-q[2] + 1j * q[1], q[0] - 1j * q[3]]])


@pytest.mark.parametrize("K", [2, 3])
def test_two_body_effective_state_of_singlet_ring_is_su2_invariant(K):
    n = 12 if K == 3 else 8
    lat = mb.lattice.chain(n, pbc=True)
    exact = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="exact")
    groups = {f"R{X}": list(range(X, n, K)) for X in range(K)}
    part = mb.lattice.Partition.custom(lat, groups)
    eff = mb.observables.effective_state(exact, part, M=2)
    rng = np.random.default_rng(5)
    for _ in range(3):
        U = functools.reduce(np.kron, [_haar_su2(rng)] * (2 * K))
        np.testing.assert_allclose(U @ eff.rho @ U.conj().T, eff.rho, atol=1e-10)
    # not the trivial (maximally mixed) invariant state: the singlet correlations survive
    assert abs(eff.T[(0, 0, 3, 3) + (0,) * (2 * K - 4)]) > 1e-2


def test_mbody_mps_equals_dense_on_dmrg_state():
    lat = mb.lattice.chain(10)
    st = mb.tn.ground_state(mb.lattice.heisenberg(lat, Delta=0.7), method="dmrg", bond_dim=32)
    dense = mb.tn.from_dense(st.mps.to_dense().ravel(), lat)  # chain: MPS order = lattice order
    for part, M in [(mb.lattice.Partition.halves(lat), 2), (mb.lattice.Partition.halves(lat), 3),
                    (mb.lattice.Partition.custom(lat, {"A": [0, 3, 6, 9], "B": [1, 4, 7], "C": [2, 5, 8]}), 2)]:
        a = mb.observables.effective_state(st, part, M=M)
        b = mb.observables.effective_state(dense, part, M=M)
        np.testing.assert_allclose(a.T, b.T, atol=1e-10)


@pytest.mark.parametrize("make", ["dense", "mps"])
def test_mbody_bad_input_names_M_K_and_sizes(make):
    lat = mb.lattice.chain(9)
    st = (mb.tn.from_dense(np.ones(2 ** 9), lat) if make == "dense"
          else mb.tn.from_quimb(random_mps(9, 2, seed=1), lat))
    thirds = mb.lattice.Partition.custom(lat, {"A": [0, 1, 2], "B": [3, 4, 5], "C": [6, 7, 8]})
    with pytest.raises(ValueError, match=r"K\*M = 3\*3 = 9 .*region sizes \[3, 3, 3\].*at most K\*M = 8"):
        mb.observables.effective_state(st, thirds, M=3)
    assert MBODY_MAX_QUBITS == 8
    halves = mb.lattice.Partition.custom(lat, {"A": [0, 1, 2, 3, 4, 5], "B": [6, 7, 8]})
    with pytest.raises(ValueError, match=r"M=4 needs at least 4 sites per region; regions \['B'\] .*K=2, "
                                         r"region sizes \[6, 3\]"):
        mb.observables.effective_state(st, halves, M=4)
    fn = dense_mbody_tensor if make == "dense" else mps_mbody_tensor
    with pytest.raises(ValueError, match="M must be an integer >= 1"):
        fn(st, [[0, 1], [2, 3]], 1.5)


def test_tuple_path_limit_is_checked_before_any_work():
    lat = mb.lattice.chain(44)
    st = mb.tn.from_quimb(random_mps(44, 2, seed=0), lat)
    regions = [list(range(22)), list(range(22, 44))]  # (22*21)^2 = 213444 ordered tuples
    with pytest.raises(ValueError, match=r"M=2, K=2 .* 213444 site tuples.*MAX_TUPLES"):
        _tuple_average_rho(st, regions, 2)


@pytest.mark.slow
def test_peps_two_body_tuple_path_equals_brute_force():
    # PEPS keeps the tuple path: compare with the brute-force average on the PEPS's own dense vector
    lat = mb.lattice.square(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence of the simple update is not what is tested here
        st = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="peps", bond_dim=2)
    psi = np.asarray(st.peps.to_dense()).ravel()
    part = mb.lattice.Partition.custom(lat, {"A": [0, 3], "B": [1, 2]})
    eff = mb.observables.effective_state(st, part, M=2)
    np.testing.assert_allclose(eff.T, brute_mbody_T(np.outer(psi, psi.conj()), 4, [[0, 3], [1, 2]], 2), atol=1e-8)
