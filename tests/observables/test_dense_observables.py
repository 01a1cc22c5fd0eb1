"""Dense observables against brute-force Kronecker-product oracles (N ≤ 6).

Oracles build every operator as an explicit 2^N × 2^N Kronecker product
(site 0 = most significant factor) and take ``Tr(ρ O)``; reduced states come
from the Pauli expansion ``ρ_S = 2^{-k} Σ_P Tr(ρ P) P``; the effective state
from its definition (seed eq. 4), the average of two-site reduced states.
"""

import functools
import itertools
import time

import numpy as np
import pytest

import macrobell as mb
from macrobell.lattice import chain
from macrobell.observables.dense import (dense_correlation_tensor, dense_pair_correlations,
                                         dense_reduced_state, dense_site_expectations)

PAULI = [np.eye(2), np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]


def pauli_string(n, ops):
    """Kronecker product with ``ops[site] = a`` (identity elsewhere), site 0 first."""
    return functools.reduce(np.kron, [PAULI[ops.get(s, 0)] for s in range(n)])


def random_vector(n, rng, real=False):
    v = rng.standard_normal(2**n) + (0 if real else 1j * rng.standard_normal(2**n))
    return v / np.linalg.norm(v)


def random_rho(n, rng, rank=None, real=False):
    r = rank or 2**n
    G = rng.standard_normal((2**n, r)) + (0 if real else 1j * rng.standard_normal((2**n, r)))
    rho = G @ G.conj().T
    return rho / np.trace(rho).real


def make_state(kind, n, seed):
    rng = np.random.default_rng(seed)
    lat = chain(n)
    arr = {"vector": lambda: random_vector(n, rng),
           "real-vector": lambda: random_vector(n, rng, real=True),
           "rho": lambda: random_rho(n, rng),
           "real-rho-rank2": lambda: random_rho(n, rng, rank=2, real=True)}[kind]()
    return mb.tn.from_dense(arr, lat), arr


def expect(arr, op):
    if arr.ndim == 1:
        return np.vdot(arr, op @ arr)
    return np.trace(arr @ op)


STATES = [pytest.param(kind, n, seed, id=f"{kind}-N{n}")
          for kind, n, seed in [("vector", 5, 1), ("real-vector", 6, 2), ("rho", 5, 3), ("real-rho-rank2", 5, 4),
                                ("vector", 6, 5)]]


@pytest.mark.parametrize("kind,n,seed", STATES)
def test_pair_correlations_oracle(kind, n, seed):
    st, arr = make_state(kind, n, seed)
    C = dense_pair_correlations(st)
    assert C.shape == (n, n, 4, 4) and C.dtype == float
    assert np.allclose(mb.observables.pair_correlations(st), C)
    for i, j in itertools.product(range(n), repeat=2):
        for a, b in itertools.product(range(4), repeat=2):
            if i != j:
                ref = expect(arr, pauli_string(n, {i: a}) @ pauli_string(n, {j: b}))
                assert abs(ref.imag) < 1e-12
            else:
                # one-site block: Re <σ_a σ_b> (the symmetrised product)
                ref = expect(arr, functools.reduce(np.kron, [PAULI[a] @ PAULI[b] if s == i else PAULI[0]
                                                              for s in range(n)]))
            assert C[i, j, a, b] == pytest.approx(ref.real, abs=1e-12), (i, j, a, b)
    m = dense_site_expectations(st)
    assert np.allclose(m, C[np.arange(n), np.arange(n), 0, :])


def oracle_T(arr, n, regions):
    mats = []
    for R in regions:
        mats.append([np.eye(2**n)] + [sum(pauli_string(n, {i: a}) for i in R) / len(R) for a in (1, 2, 3)])
    T = np.zeros((4,) * len(regions))
    for labels in itertools.product(range(4), repeat=len(regions)):
        op = functools.reduce(np.matmul, [mats[X][a] for X, a in enumerate(labels)])
        val = expect(arr, op)
        assert abs(val.imag) < 1e-12
        T[labels] = val.real
    return T


REGIONS = [
    pytest.param([[0, 3], [2, 4]], id="K2-interleaved"),
    pytest.param([[4], [0, 1, 3]], id="K2-single-site"),
    pytest.param([[3, 0], [1], [4, 2]], id="K3-unsorted"),
    pytest.param([[1, 4], [0], [3]], id="K3-sites-left-out"),
    pytest.param([[2, 0, 4]], id="K1"),
]


@pytest.mark.parametrize("regions", REGIONS)
@pytest.mark.parametrize("kind,n,seed", STATES)
def test_correlation_tensor_oracle(kind, n, seed, regions):
    st, arr = make_state(kind, n, seed)
    regions = [[s for s in R if s < n] for R in regions]
    ref = oracle_T(arr, n, regions)
    for algorithm in ("auto", "tree") + (("tuples",) if arr.ndim == 2 else ()):
        T = dense_correlation_tensor(st, regions, algorithm=algorithm)
        assert T.shape == (4,) * len(regions)
        assert T[(0,) * len(regions)] == pytest.approx(1.0, abs=1e-13)
        assert np.allclose(T, ref, atol=1e-12), algorithm
    assert np.allclose(mb.observables.correlation_tensor(st, regions), ref, atol=1e-12)


def oracle_reduced(arr, n, sites):
    k = len(sites)
    rho = np.zeros((2**k, 2**k), dtype=complex)
    for labels in itertools.product(range(4), repeat=k):
        full = pauli_string(n, dict(zip(sites, labels)))
        local = functools.reduce(np.kron, [PAULI[a] for a in labels])
        rho += expect(arr, full) * local
    return rho / 2**k


@pytest.mark.parametrize("sites", [[2], [3, 0], [0, 3], [4, 1, 2], [2, 0, 1]], ids=str)
@pytest.mark.parametrize("kind,n,seed", STATES)
def test_reduced_state_oracle(kind, n, seed, sites):
    st, arr = make_state(kind, n, seed)
    rho = dense_reduced_state(st, sites)
    ref = oracle_reduced(arr, n, sites)
    assert rho.shape == (2 ** len(sites),) * 2
    assert np.allclose(rho, ref, atol=1e-12)
    assert np.allclose(mb.observables.reduced_state(st, sites), ref, atol=1e-12)


def test_reduced_state_order_is_kron_order():
    # |ψ> = |0>_0 ⊗ |1>_1 ⊗ |+>_2: sites [1, 0] must give |1><1| ⊗ |0><0|
    plus = np.array([1, 1]) / np.sqrt(2)
    psi = np.kron(np.kron([1, 0], [0, 1]), plus)
    st = mb.tn.from_dense(psi, chain(3))
    rho = dense_reduced_state(st, [1, 0])
    ref = np.kron(np.diag([0, 1]), np.diag([1, 0]))
    assert np.allclose(rho, ref)


@pytest.mark.parametrize("kind,n,seed", STATES[:3])
def test_effective_state_oracle(kind, n, seed):
    """effective_state's T equals the average of two-site reduced states (seed eq. 4)."""
    st, arr = make_state(kind, n, seed)
    regions = {"A": [0, 3], "B": [1, 4] if n > 4 else [1]}
    part = mb.lattice.Partition.custom(chain(n), regions)
    eff = mb.observables.effective_state(st, part)
    rho = sum(oracle_reduced(arr, n, [i, j]) for i in regions["A"] for j in regions["B"])
    rho /= len(regions["A"]) * len(regions["B"])
    T = np.array([[np.trace(rho @ np.kron(PAULI[a], PAULI[b])).real for b in range(4)] for a in range(4)])
    assert np.allclose(eff.T, T, atol=1e-12)
    assert np.allclose(eff.rho, rho, atol=1e-12)


def test_correlation_tensor_bad_regions():
    st, _ = make_state("vector", 4, 0)
    with pytest.raises(ValueError, match="overlap"):
        dense_correlation_tensor(st, [[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="out of range"):
        dense_correlation_tensor(st, [[0], [4]])
    with pytest.raises(ValueError, match="empty"):
        dense_correlation_tensor(st, [[0], []])
    with pytest.raises(ValueError, match="algorithm"):
        dense_correlation_tensor(st, [[0], [1]], algorithm="kron")
    with pytest.raises(ValueError, match="density matrices"):
        dense_correlation_tensor(st, [[0], [1]], algorithm="tuples")
    with pytest.raises(ValueError, match="distinct"):
        dense_reduced_state(st, [1, 1])
    with pytest.raises(ValueError, match="DenseState"):
        dense_pair_correlations("not a state")


def test_speed_pairs_and_tensor():
    """N=16 all pairs and an N=18 K=2 tensor from a vector well under a second (after JIT)."""
    rng = np.random.default_rng(7)
    st16 = mb.tn.from_dense(random_vector(16, rng, real=True), chain(16))
    st18 = mb.tn.from_dense(random_vector(18, rng, real=True), chain(18))
    regions = [np.arange(0, 18, 2), np.arange(1, 18, 2)]
    dense_pair_correlations(mb.tn.from_dense(random_vector(4, rng, real=True), chain(4)))  # JIT
    dense_correlation_tensor(mb.tn.from_dense(random_vector(4, rng, real=True), chain(4)), [[0], [1]])
    t0 = time.perf_counter()
    dense_pair_correlations(st16)
    t1 = time.perf_counter()
    dense_correlation_tensor(st18, regions)
    t2 = time.perf_counter()
    # generous bounds: the machine is shared; typical figures are ~0.1 s each
    assert t1 - t0 < 2.0, t1 - t0
    assert t2 - t1 < 2.0, t2 - t1
