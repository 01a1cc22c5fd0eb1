"""The model MPO equals the sparse Hamiltonian (permuted into MPS order), densely, for small N."""

import numpy as np
import pytest

import macrobell as mb
from macrobell.lattice.models import Field, SpinModel, Term
from macrobell.tn.mpo import model_to_mpo


def _dense_in_mps_order(model, order):
    n = model.n_sites
    H = model.to_sparse().toarray().reshape((2,) * (2 * n))
    H = H.transpose(list(order) + [n + k for k in order])
    return H.reshape(2 ** n, 2 ** n)


def _custom_complex():
    lat = mb.lattice.chain(5)
    return SpinModel(lat, (Term(0.7, "xy", [[0, 3], [1, 2]]), Term(0.2, "yz", [[2, 4]]), Term(-0.4, "yy", [[0, 4]])),
                     (Field(0.3, "y", [1, 3]), Field(-0.2, "x", [0])))


MODELS = [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(6, pbc=True)), id="heisenberg-ring6"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(8, pbc=True), J2=0.3, h=0.2), id="j1j2-ring8-field"),
    pytest.param(lambda: mb.lattice.xxz(mb.lattice.chain(7), Delta=1.5), id="xxz-open7"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(4), Delta=0.5, J2=0.3), id="ladder-4x2-j2"),
    pytest.param(lambda: mb.lattice.tfim(mb.lattice.chain(5, pbc=True), g=0.7), id="tfim-ring5"),
    pytest.param(lambda: mb.lattice.xyz(mb.lattice.square(3, 3), Jx=0.3, Jy=1.2, Jz=0.5, h=0.1), id="xyz-square3x3"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.square(2, 4, pbc=True)), id="square2x4-pbc"),
    pytest.param(_custom_complex, id="complex-long-range"),
]


@pytest.mark.parametrize("make", MODELS)
def test_mpo_matches_sparse_hamiltonian(make):
    model = make()
    mpo = model_to_mpo(model)
    assert mpo.L == model.n_sites
    ref = _dense_in_mps_order(model, model.lattice.order)
    np.testing.assert_allclose(mpo.to_dense(), ref, atol=1e-12)
    if model.is_real:
        assert all(not np.iscomplexobj(t.data) for t in mpo)


def test_mpo_custom_order():
    model = mb.lattice.heisenberg(mb.lattice.chain(6, pbc=True), J2=0.4)
    order = [3, 0, 5, 1, 4, 2]
    mpo = model_to_mpo(model, order=order)
    np.testing.assert_allclose(mpo.to_dense(), _dense_in_mps_order(model, order), atol=1e-12)


def test_mpo_bad_order():
    model = mb.lattice.heisenberg(mb.lattice.chain(4))
    with pytest.raises(ValueError, match="order"):
        model_to_mpo(model, order=[0, 1, 1, 2])
