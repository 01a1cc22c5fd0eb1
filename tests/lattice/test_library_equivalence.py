"""Our kernels against the libraries benchmarked as alternatives (issue 10), on many models/graphs.

The library is the independent implementation here: ``SpinModel.to_sparse``
must equal quimb's ``SparseOperatorBuilder`` matrix entry for entry (full
space and every U(1) sector), and ``_two_colouring`` must be a proper
2-colouring that equals networkx's ``bipartite.color`` up to its convention
(networkx starts each component at colour 1, isolated sites at 0).
"""

import numpy as np
import pytest

from macrobell import lattice as ml
from macrobell.lattice.geometry import _two_colouring

AXES = "xyz"


def random_model(rng, n, n_terms=6, real=False, u1=False):
    """A random SpinModel on ``n`` sites: random bonds, ops and fields (``u1``: XXZ-type with z fields)."""
    terms, fields = [], []
    for _ in range(n_terms):
        bonds = [rng.choice(n, 2, replace=False) for _ in range(rng.integers(1, 4))]
        c = float(rng.normal())
        if u1:
            terms += [ml.Term(c, "xx", bonds), ml.Term(c, "yy", bonds), ml.Term(float(rng.normal()), "zz", bonds)]
            continue
        ops = "".join(rng.choice(list("xz" if real else AXES), 2))
        if real and rng.random() < 0.3:
            ops = "yy"
        terms.append(ml.Term(c, ops, bonds))
    for _ in range(2):
        op = "z" if u1 else str(rng.choice(list("xz" if real else AXES)))
        fields.append(ml.Field(float(rng.normal()), op, rng.choice(n, rng.integers(1, n + 1), replace=False)))
    return ml.SpinModel(ml.chain(n), tuple(terms), tuple(fields))


def quimb_sparse(model, n_up=None):
    """The model built by quimb's SparseOperatorBuilder (Pauli strings; site i = register i)."""
    from quimb.operator import HilbertSpace, SparseOperatorBuilder

    n = model.n_sites
    if n_up is None:
        b = SparseOperatorBuilder(hilbert_space=HilbertSpace(n), atol=0.0)
        for sites, ops, coef in model.pauli_strings():
            b.add_term(coef, *zip(ops, sites))
        return b.build_sparse_matrix(stype="csr")
    # the builder checks U(1) term by term: SxSx + SySy = (S+S- + S-S+)/2
    b = SparseOperatorBuilder(hilbert_space=HilbertSpace(n, sector=n_up, symmetry="U1"), atol=0.0)
    for t in model.terms:
        for i, j in t.bonds:
            i, j = int(i), int(j)
            if t.ops == "xx":  # the paired "yy" term has the same coefficient (u1 models)
                b.add_term(t.coefficient / 2, ("+", i), ("-", j))
                b.add_term(t.coefficient / 2, ("-", i), ("+", j))
            elif t.ops == "zz":
                b.add_term(t.coefficient, ("sz", i), ("sz", j))
    for f in model.fields:
        for i in f.sites:
            b.add_term(f.coefficient, ("sz", int(i)))
    return b.build_sparse_matrix(stype="csr")


def _max_diff(A, B):
    D = abs(A - B)
    return D.max() if D.nnz else 0.0


MODELS = {
    "heisenberg-ring": lambda: ml.heisenberg(ml.chain(6, pbc=True), J=1.3, Delta=0.7, J2=0.4, h=0.3),
    "xyz-chain": lambda: ml.xyz(ml.chain(5), Jx=1.0, Jy=-0.5, Jz=0.3, h=0.2),
    "tfim-square": lambda: ml.tfim(ml.square(2, 3), J=1.0, g=0.7),
    "j1j2-square": lambda: ml.j1j2(ml.square(2, 3), J1=1.0, J2=0.5),
    "kagome": lambda: ml.heisenberg(ml.kagome(2, 2), h=0.1),
    "ladder-groups": lambda: ml.heisenberg(ml.ladder(3), J={"leg": 1.0, "rung": 0.4}),
}


@pytest.mark.parametrize("make", list(MODELS.values()), ids=list(MODELS))
def test_to_sparse_equals_quimb_builder_on_named_models(make):
    model = make()
    H, Q = model.to_sparse(), quimb_sparse(model)
    assert H.shape == Q.shape
    assert _max_diff(H, Q) == 0.0  # same sums of the same Pauli strings: exact, not just close


def test_to_sparse_equals_quimb_builder_on_random_models():
    rng = np.random.default_rng(10)
    for k in range(24):
        model = random_model(rng, int(rng.integers(2, 8)), real=bool(k % 2))
        H, Q = model.to_sparse(), quimb_sparse(model)
        assert H.dtype == (np.float64 if model.is_real else np.complex128)
        assert _max_diff(H, Q) <= 1e-15 * max(1.0, abs(Q).max()), (k, model)


def test_sz_sectors_of_to_sparse_equal_quimb_u1_sectors():
    # quimb enumerates a U(1) sector as the ascending basis integers with n_up set bits, which is
    # what the exact backend slices out of to_sparse
    rng = np.random.default_rng(11)
    for _ in range(4):
        model = random_model(rng, int(rng.integers(3, 7)), u1=True)
        assert model.conserves_sz
        n = model.n_sites
        H = model.to_sparse()
        ups = np.array([bin(i).count("1") for i in range(2**n)])
        for k in range(n + 1):
            idx = np.flatnonzero(ups == k)
            assert _max_diff(H[idx][:, idx], quimb_sparse(model, n_up=k)) <= 1e-15 * max(1.0, abs(H).max())


def _nx_colouring(n, nn):
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from((int(i), int(j)) for i, j in nn)
    try:
        c = nx.bipartite.color(G)
    except nx.NetworkXError:  # not bipartite
        return None
    return np.array([1 - c[i] if G.degree(i) else 0 for i in range(n)])


def test_two_colouring_against_networkx_on_random_graphs():
    rng = np.random.default_rng(12)
    n_bip = 0
    for k in range(300):
        n = int(rng.integers(1, 14))
        m = int(rng.integers(0, 2 * n))
        nn = rng.integers(0, n, size=(m, 2))
        if k % 2:  # bipartite by construction: edges only between two random halves
            side = rng.integers(0, 2, n)
            nn = nn[side[nn[:, 0]] != side[nn[:, 1]]]
        ref = _nx_colouring(n, nn)
        got = _two_colouring(n, nn)
        if ref is None:
            assert np.array_equal(got, np.zeros(n, int)), (n, nn)
            continue
        n_bip += 1
        assert np.array_equal(got, ref), (n, nn)
        assert all(got[i] != got[j] for i, j in nn)  # proper colouring (the theorem, not the library)
    assert n_bip > 150


@pytest.mark.parametrize("lat", [ml.square(4, 5), ml.honeycomb(2, 3), ml.cubic(3), ml.chain(7, pbc=True),
                                 ml.triangular(3, 3)], ids=["square", "honeycomb", "cubic", "odd-ring", "triangular"])
def test_two_colouring_of_lattices_against_networkx(lat):
    nn = lat.bond_array("nn")
    ref = _nx_colouring(lat.n_sites, nn)
    got = _two_colouring(lat.n_sites, nn)
    assert np.array_equal(got, np.zeros(lat.n_sites, int) if ref is None else ref)
