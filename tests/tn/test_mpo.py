"""The model MPO against oracles: the sparse Hamiltonian (dense, N ≤ 10), operator-Schmidt ranks
of that dense matrix (minimal bond dimensions), and quimb's SparseOperatorBuilder (large N)."""

import numpy as np
import pytest

import macrobell as mb
from macrobell.lattice.models import Field, SpinModel, Term
from macrobell.tn.mpo import _model_fsm, _model_to_mpo_builder, model_to_mpo


def _dense_in_mps_order(model, order):
    n = model.n_sites
    H = model.to_sparse().toarray().reshape((2,) * (2 * n))
    H = H.transpose(list(order) + [n + k for k in order])
    return H.reshape(2 ** n, 2 ** n)


def _fsm_dense(model, compress):
    """Dense matrix of the (un)compressed FSM W-matrices, contracted here (independent of quimb)."""
    W, _ = _model_fsm(model, None, compress, "test")
    T = W[0][0]                                  # (D, out, in)
    for Wk in W[1:]:
        T = np.einsum("aoi,abst->bosit", T, Wk)  # (D', out.., s, in.., t)
        d = T.shape[1] * 2
        T = T.reshape(T.shape[0], d // 2, 2, d // 2, 2).reshape(T.shape[0], d, d)
    return T[0]


def _custom_complex():
    lat = mb.lattice.chain(5)
    return SpinModel(lat, (Term(0.7, "xy", [[0, 3], [1, 2]]), Term(0.2, "yz", [[2, 4]]), Term(-0.4, "yy", [[0, 4]])),
                     (Field(0.3, "y", [1, 3]), Field(-0.2, "x", [0])))


def _reversed_asymmetric():
    # bonds listed against the MPS order with unequal operators: each operator must land on its own site
    lat = mb.lattice.chain(6)
    return SpinModel(lat, (Term(0.9, "xz", [[4, 1], [5, 0], [2, 3]]), Term(-0.6, "zy", [[3, 0], [1, 5]]),
                           Term(0.35, "yx", [[2, 0]])), (Field(0.4, "z", [0, 5]),))


def _duplicate_bonds():
    # a bond listed twice (or as (j, i)) adds; xx and −xx on one bond cancel exactly
    lat = mb.lattice.chain(5)
    return SpinModel(lat, (Term(1.0, "zz", [[0, 1], [0, 1], [1, 0], [2, 4]]), Term(0.5, "xx", [[1, 3], [1, 3]]),
                           Term(-0.5, "xx", [[3, 1]]), Term(0.25, "yy", [[0, 4], [4, 0]])),
                     (Field(0.3, "x", [2, 2]),))


def _fields_xyz():
    lat = mb.lattice.chain(6)
    return SpinModel(lat, (Term(1.0, "zz", lat.bond_array("nn")),),
                     (Field(0.3, "x", np.arange(6)), Field(-0.7, "y", [1, 4]), Field(0.2, "z", [0, 2, 5])))


MODELS = [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(6, pbc=True)), id="heisenberg-ring6"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(8), h=0.3), id="heisenberg-open8-field"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(8, pbc=True), J2=0.3, h=0.2), id="j1j2-ring8-field"),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.chain(9), J2=0.45), id="j1j2-open9"),
    pytest.param(lambda: mb.lattice.xxz(mb.lattice.chain(7), Delta=1.5), id="xxz-open7"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(4), Delta=0.5, J2=0.3), id="ladder-4x2-j2"),
    pytest.param(lambda: mb.lattice.tfim(mb.lattice.chain(5, pbc=True), g=0.7), id="tfim-ring5"),
    pytest.param(lambda: mb.lattice.xyz(mb.lattice.square(3, 3), Jx=0.3, Jy=1.2, Jz=0.5, h=0.1), id="xyz-square3x3"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.square(2, 4, pbc=True)), id="square2x4-pbc"),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.square(3, 3, pbc_y=True), J2=0.5), id="j1j2-cylinder3x3-snake"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.triangular(3, 3, pbc_y=True), h=0.2), id="triangular3x3"),
    pytest.param(_custom_complex, id="complex-long-range"),
    pytest.param(_reversed_asymmetric, id="reversed-asymmetric-complex"),
    pytest.param(_duplicate_bonds, id="duplicate-bonds"),
    pytest.param(_fields_xyz, id="fields-xyz"),
    pytest.param(lambda: SpinModel(mb.lattice.chain(4), (), (Field(0.5, "y", [1, 2]), Field(-1.0, "x", [3]))),
                 id="fields-only"),
    pytest.param(lambda: SpinModel(mb.lattice.chain(6), (Term(1.3, "yy", [[3, 2]]), Term(0.4, "xz", [[2, 4]]))),
                 id="terms-in-the-middle-only"),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.square(2, 2, pbc=True), J2=0.7),
                 id="square2x2-pbc-every-bond-twice"),
]


@pytest.mark.parametrize("make", MODELS)
def test_mpo_matches_sparse_hamiltonian(make):
    model = make()
    mpo = model_to_mpo(model)
    assert mpo.L == model.n_sites
    ref = _dense_in_mps_order(model, model.lattice.order)
    np.testing.assert_allclose(mpo.to_dense(), ref, atol=1e-12)
    np.testing.assert_allclose(_model_to_mpo_builder(model).to_dense(), ref, atol=1e-12)
    want = np.float64 if model.is_real else np.complex128
    assert all(t.data.dtype == want for t in mpo)


@pytest.mark.parametrize("make", MODELS[:4] + MODELS[9:])
def test_uncompressed_fsm_matches_sparse_hamiltonian(make):
    # the raw W-matrices and the compression are each exact, not only their product
    model = make()
    ref = _dense_in_mps_order(model, model.lattice.order)
    np.testing.assert_allclose(_fsm_dense(model, compress=False), ref, atol=1e-12)
    np.testing.assert_allclose(_fsm_dense(model, compress=True), ref, atol=1e-12)


def _operator_schmidt_ranks(H, n):
    """Rank of H across every cut of the MPS order: the minimal MPO bond dimension there."""
    T = H.reshape((2,) * (2 * n))
    ranks = []
    for k in range(1, n):
        axes = list(range(k)) + [n + a for a in range(k)] + list(range(k, n)) + [n + a for a in range(k, n)]
        M = T.transpose(axes).reshape(4 ** k, 4 ** (n - k))
        s = np.linalg.svd(M, compute_uv=False)
        ranks.append(int(np.count_nonzero(s > 1e-10 * s[0])))
    return ranks


RANK_MODELS = [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(8, pbc=True)), id="ring8"),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.chain(8), J2=0.4), id="j1j2-open8"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(4), J2=0.3), id="ladder-4x2-j2"),
    pytest.param(lambda: mb.lattice.j1j2(mb.lattice.square(2, 4, pbc_y=True), J2=0.5), id="j1j2-cylinder2x4"),
    pytest.param(lambda: mb.lattice.xyz(mb.lattice.triangular(2, 4, pbc_y=True), Jx=0.3, Jy=1.2, Jz=0.5),
                 id="xyz-triangular2x4"),
]


@pytest.mark.parametrize("make", RANK_MODELS)
def test_compressed_bond_is_the_operator_schmidt_rank(make):
    # without fields, start/done/rails are independent (Pauli weight 0, 2, 1 on the left), so the
    # compressed bond must equal the exact minimum; the builder can never beat it
    model = make()
    n = model.n_sites
    ranks = _operator_schmidt_ranks(_dense_in_mps_order(model, model.lattice.order), n)
    mpo = model_to_mpo(model)
    assert [mpo.bond_size(k, k + 1) for k in range(n - 1)] == ranks
    ref = _model_to_mpo_builder(model)
    assert all(ref.bond_size(k, k + 1) >= r for k, r in enumerate(ranks))


def _open_rails(model):
    """Distinct (first MPS site, first operator) pairs of the two-site terms open across each bond."""
    pos = model.lattice.mps_position
    n = model.n_sites
    rails = [set() for _ in range(n - 1)]
    for t in model.terms:
        for i, j in t.bonds:
            (a, oa), (b, _) = sorted([(pos[i], t.ops[0]), (pos[j], t.ops[1])])
            for k in range(a, b):
                rails[k].add((a, oa))
    return rails


@pytest.mark.parametrize("make, interior", [
    (lambda: mb.lattice.heisenberg(mb.lattice.chain(12), h=0.5), 5),
    (lambda: mb.lattice.j1j2(mb.lattice.chain(12), J2=0.5), 8),
    (lambda: mb.lattice.heisenberg(mb.lattice.chain(12, pbc=True)), 8),
    (lambda: mb.lattice.j1j2(mb.lattice.square(4, 3, pbc_y=True)), None),
])
def test_fsm_bond_dimension_is_two_plus_open_rails(make, interior):
    model = make()
    n = model.n_sites
    W, layout = _model_fsm(model, None, False, "test")
    rails = _open_rails(model)
    dims = [W[k].shape[1] for k in range(n - 1)]
    for k in range(n - 1):
        hs, nr, hd = layout[k + 1]
        assert nr == len(rails[k])
        assert dims[k] == hs + nr + hd
    if interior is not None:
        assert max(dims) == interior
        # the exact compression cannot lose anything on these: every rail is independent
        assert model_to_mpo(model).max_bond() == interior


def test_heisenberg_chain_bond_five_at_4000_sites():
    mpo = model_to_mpo(mb.lattice.heisenberg(mb.lattice.chain(4000), J2=0.0, h=0.1))
    assert mpo.L == 4000
    assert [mpo.bond_size(k, k + 1) for k in range(1, 3999)] == [5] * 3998


@pytest.mark.parametrize("make, dtype", [
    (lambda: mb.lattice.j1j2(mb.lattice.square(10, 4, pbc_y=True), J2=0.5, h=0.1), "float64"),
    (lambda: mb.lattice.heisenberg(mb.lattice.triangular(8, 4, pbc_y=True), h=0.2), "float64"),
    (lambda: SpinModel(mb.lattice.chain(30, pbc=True),
                       (Term(0.8, "xy", mb.lattice.chain(30, pbc=True).bond_array("nn")),
                        Term(-0.3, "zz", [[i, (i + 7) % 30] for i in range(30)]),
                        Term(0.5, "yy", [[(i + 3) % 30, i] for i in range(30)])),
                       (Field(0.2, "y", np.arange(30)),)), "complex128"),
], ids=["j1j2-cylinder10x4", "triangular8x4", "complex-ring30"])
def test_large_n_expectation_matches_builder(make, dtype):
    import quimb.tensor as qtn

    model = make()
    n = model.n_sites
    ours, ref = model_to_mpo(model), _model_to_mpo_builder(model)
    assert all(t.data.dtype == np.dtype(dtype) for t in ours)
    assert ours.max_bond() <= ref.max_bond()
    for seed in (1, 2):
        psi = qtn.MPS_rand_state(n, 6, seed=seed, dtype=dtype)
        e, e_ref = psi.H @ ours.apply(psi), psi.H @ ref.apply(psi)
        assert abs(e - e_ref) < 1e-10 * max(1.0, abs(e_ref))
        assert abs(e_ref) > 1e-3  # a non-trivial check


def test_mpo_custom_order():
    model = mb.lattice.heisenberg(mb.lattice.chain(6, pbc=True), J2=0.4)
    order = [3, 0, 5, 1, 4, 2]
    mpo = model_to_mpo(model, order=order)
    np.testing.assert_allclose(mpo.to_dense(), _dense_in_mps_order(model, order), atol=1e-12)
    cplx = _reversed_asymmetric()
    order = [5, 2, 0, 4, 1, 3]
    np.testing.assert_allclose(model_to_mpo(cplx, order=order).to_dense(), _dense_in_mps_order(cplx, order),
                               atol=1e-12)


def test_zero_hamiltonian():
    lat = mb.lattice.chain(4)
    for model in (SpinModel(lat), mb.lattice.heisenberg(lat, J=0.0),
                  SpinModel(lat, (Term(1.0, "zz", [[0, 2]]), Term(-1.0, "zz", [[2, 0]])))):
        mpo = model_to_mpo(model)
        assert mpo.L == 4
        np.testing.assert_array_equal(mpo.to_dense(), np.zeros((16, 16)))
        assert all(t.data.dtype == np.float64 for t in mpo)


def test_mpo_bad_input():
    model = mb.lattice.heisenberg(mb.lattice.chain(4))
    with pytest.raises(ValueError, match="order"):
        model_to_mpo(model, order=[0, 1, 1, 2])
    with pytest.raises(ValueError, match="at least 2 sites"):
        model_to_mpo(SpinModel(mb.lattice.from_bonds(1, []), (), (Field(1.0, "z", [0]),)))
    with pytest.raises(ValueError, match="SpinModel"):
        model_to_mpo("heisenberg")


def test_small_couplings_survive_the_compression():
    # The compression drops only singular values below 1e-13 of a bond's largest. For J1-J2 those
    # are J1/4 and ~J2²/(4 J1) (coupling matrix [[J1, J2], [J2, 0]] per axis), so J2 = 1e-9 loses a
    # rail at an error ~1e-19 while its own 2.5e-10 entries stay; J2 = 1e-5 keeps all rails.
    model = mb.lattice.j1j2(mb.lattice.chain(8), J1=1.0, J2=1e-9)
    ref = _dense_in_mps_order(model, model.lattice.order)
    nn_only = _dense_in_mps_order(mb.lattice.heisenberg(mb.lattice.chain(8)), model.lattice.order)
    assert np.abs(ref - nn_only).max() > 1e-10  # the J2 part is visible at the tolerance below
    np.testing.assert_allclose(model_to_mpo(model).to_dense(), ref, rtol=0, atol=1e-14)
    model = mb.lattice.j1j2(mb.lattice.chain(8), J1=1.0, J2=1e-5)
    mpo = model_to_mpo(model)
    assert mpo.max_bond() == 8
    np.testing.assert_allclose(mpo.to_dense(), _dense_in_mps_order(model, model.lattice.order), rtol=0, atol=1e-14)
