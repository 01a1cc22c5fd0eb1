"""Spin models: the sparse Hamiltonian against brute-force Kronecker products."""

import functools

import numpy as np
import pytest

from macrobell import lattice as ml

P = ml.PAULI
AX = {"x": 1, "y": 2, "z": 3}


def kron_op(n, ops):
    """Brute-force ⊗ of single-site operators {site: 2×2} (site 0 most significant)."""
    return functools.reduce(np.kron, [ops.get(i, np.eye(2)) for i in range(n)])


def brute_hamiltonian(model):
    n = model.n_sites
    H = np.zeros((2**n, 2**n), complex)
    for t in model.terms:
        for i, j in t.bonds:
            H += t.coefficient * kron_op(n, {i: P[AX[t.ops[0]]] / 2, j: P[AX[t.ops[1]]] / 2}) \
                if i != j else 0
    for f in model.fields:
        for i in f.sites:
            H += f.coefficient * kron_op(n, {i: P[AX[f.op]] / 2})
    return H


MODELS = {
    "heisenberg-ring": lambda: ml.heisenberg(ml.chain(5, pbc=True), J=1.3, Delta=0.7, J2=0.4, h=0.3),
    "xyz-chain": lambda: ml.xyz(ml.chain(4), Jx=1.0, Jy=-0.5, Jz=0.3, h=0.2),
    "tfim-chain": lambda: ml.tfim(ml.chain(5), J=1.0, g=0.7),
    "j1j2-square": lambda: ml.j1j2(ml.square(2, 3), J1=1.0, J2=0.5),
    "ladder": lambda: ml.heisenberg(ml.ladder(3), J=1.0),
    "mixed-xy-terms": lambda: ml.SpinModel(ml.chain(3), (ml.Term(0.7, "xy", [[2, 0]]), ml.Term(-0.2, "zy", [[0, 1]])),
                                           (ml.Field(0.3, "y", [1]),)),
}
CASES = [pytest.param(f, id=k) for k, f in MODELS.items()]


@pytest.mark.parametrize("make", CASES)
def test_sparse_matches_kronecker(make):
    model = make()
    np.testing.assert_allclose(model.to_sparse().toarray(), brute_hamiltonian(model), atol=1e-13)


@pytest.mark.parametrize("make", CASES)
def test_two_site_terms_reassemble_hamiltonian(make):
    model = make()
    n = model.n_sites
    H = np.zeros((2**n, 2**n), complex)
    for i, j, h in model.two_site_terms():
        # embed h (on i ⊗ j) by expanding in Paulis
        for a in range(4):
            for b in range(4):
                c = np.trace(np.kron(P[a], P[b]).conj().T @ h) / 4
                if abs(c) > 1e-15:
                    H += c * kron_op(n, {i: P[a], j: P[b]})
    for i, h in model.one_site_terms():
        H += kron_op(n, {i: h})
    np.testing.assert_allclose(H, brute_hamiltonian(model), atol=1e-13)


def test_real_and_su2_flags():
    lat = ml.chain(4)
    assert ml.heisenberg(lat).is_real and ml.heisenberg(lat).su2_invariant
    assert not ml.heisenberg(lat, Delta=0.5).su2_invariant
    assert not ml.heisenberg(lat, h=0.1).su2_invariant
    assert not ml.SpinModel(lat, (ml.Term(1.0, "xy", [[0, 1]]),)).is_real


def test_heisenberg_dimer_singlet_energy():
    # J S1·S2 has eigenvalues -3J/4 (singlet) and J/4 (triplet)
    w = np.linalg.eigvalsh(ml.heisenberg(ml.chain(2), J=2.0).to_sparse().toarray())
    np.testing.assert_allclose(w, [-1.5, 0.5, 0.5, 0.5])


@pytest.mark.parametrize("call, match", [
    pytest.param(lambda: ml.heisenberg(ml.chain(4), J="one"), "J must be a real number", id="J-string"),
    pytest.param(lambda: ml.heisenberg(ml.chain(4), Delta=float("nan")), "Delta must be finite", id="Delta-nan"),
    pytest.param(lambda: ml.heisenberg(ml.triangular(2), J2=0.5), "no 'nnn' bonds", id="no-nnn"),
    pytest.param(lambda: ml.Term(1.0, "xw", [[0, 1]]), "ops", id="bad-ops"),
    pytest.param(lambda: ml.SpinModel(ml.chain(3), (ml.Term(1.0, "xx", [[0, 5]]),)), "outside", id="bond-range"),
])
def test_bad_models(call, match):
    with pytest.raises(ValueError, match=match):
        call()
