"""Lattice factories: bond counts, coordination, MPS order, validation."""

import numpy as np
import pytest

import macrobell as mb
from macrobell import lattice as ml

# (factory, kwargs, N, nn bonds, coordination of an interior/all sites or None)
GEOMETRIES = {
    "chain-open": (ml.chain, dict(L=6), 6, 5, None),
    "chain-ring": (ml.chain, dict(L=6, pbc=True), 6, 6, 2),
    "ladder-open": (ml.ladder, dict(L=4), 8, 10, None),
    "ladder-3leg": (ml.ladder, dict(L=3, legs=3), 9, 12, None),
    "square-open": (ml.square, dict(Lx=3, Ly=4), 12, 17, None),
    "square-torus": (ml.square, dict(Lx=4, Ly=4, pbc=True), 16, 32, 4),
    "triangular-torus": (ml.triangular, dict(Lx=3, Ly=3, pbc=True), 9, 27, 6),
    "honeycomb-torus": (ml.honeycomb, dict(Lx=3, Ly=3, pbc=True), 18, 27, 3),
    "kagome-torus": (ml.kagome, dict(Lx=3, Ly=3, pbc=True), 27, 54, 4),
    "cubic-torus": (ml.cubic, dict(Lx=3, pbc=True), 27, 81, 6),
}
CASES = [pytest.param(*v, id=k) for k, v in GEOMETRIES.items()]


@pytest.mark.parametrize("factory, kwargs, n, n_nn, z", CASES)
def test_counts_and_coordination(factory, kwargs, n, n_nn, z):
    lat = factory(**kwargs)
    assert lat.n_sites == n
    nn = lat.bonds["nn"]
    assert nn.shape == (n_nn, 2)
    assert np.all(nn[:, 0] < nn[:, 1])
    assert len({tuple(b) for b in nn.tolist()}) == n_nn
    if z is not None:
        np.testing.assert_array_equal(np.bincount(nn.ravel(), minlength=n), z)
    assert sorted(lat.order.tolist()) == list(range(n))
    np.testing.assert_array_equal(lat.order[lat.mps_position], np.arange(n))


OPEN = [pytest.param(f, kw, id=k) for k, (f, kw, *_) in GEOMETRIES.items() if not kw.get("pbc")]


@pytest.mark.parametrize("factory, kwargs", OPEN)
def test_nn_bonds_have_equal_length_when_open(factory, kwargs):
    lat = factory(**kwargs)
    d = np.linalg.norm(lat.positions[lat.bonds["nn"][:, 0]] - lat.positions[lat.bonds["nn"][:, 1]], axis=1)
    np.testing.assert_allclose(d, d[0])


def test_snake_order_is_a_path_of_neighbours():
    for lat in (ml.square(4, 3), ml.ladder(5)):
        nn = {tuple(b) for b in lat.bonds["nn"].tolist()}
        for a, b in zip(lat.order[:-1], lat.order[1:]):
            assert (min(a, b), max(a, b)) in nn


def test_chain_nnn_and_bipartiteness():
    lat = ml.chain(6, pbc=True)
    assert lat.bonds["nnn"].tolist() == [[0, 2], [0, 4], [1, 3], [1, 5], [2, 4], [3, 5]]
    assert lat.bipartite
    assert not ml.chain(5, pbc=True).bipartite
    assert ml.chain(5).bipartite


def test_square_diagonals():
    lat = ml.square(3, 3)
    assert len(lat.bonds["nnn"]) == 8  # two diagonals per plaquette, 4 plaquettes
    d = np.linalg.norm(lat.positions[lat.bonds["nnn"][:, 0]] - lat.positions[lat.bonds["nnn"][:, 1]], axis=1)
    np.testing.assert_allclose(d, np.sqrt(2))


def test_from_bonds_colours_bipartite_graphs():
    lat = ml.from_bonds(4, [(0, 1), (1, 2), (2, 3), (3, 0)])
    assert lat.bipartite and lat.sublattice.tolist() == [0, 1, 0, 1]
    tri = ml.from_bonds(3, [(0, 1), (1, 2), (0, 2)])
    assert not tri.bipartite


def test_lattice_is_read_only():
    lat = ml.chain(4)
    with pytest.raises(ValueError):
        lat.positions[0, 0] = 3.0
    with pytest.raises(AttributeError):
        lat.name = "x"


@pytest.mark.parametrize("call, match", [
    pytest.param(lambda: ml.chain(1), "L must be", id="chain-too-short"),
    pytest.param(lambda: ml.chain(2.5), "L must be an integer", id="chain-float"),
    pytest.param(lambda: ml.chain(2, pbc=True), "periodic chain needs", id="ring-too-short"),
    pytest.param(lambda: ml.ladder(3, legs=1), "legs", id="ladder-one-leg"),
    pytest.param(lambda: ml.from_bonds(3, [(0, 3)]), "sites must be in 0..2", id="bond-out-of-range"),
    pytest.param(lambda: ml.from_bonds(3, [(1, 1)]), "itself", id="self-bond"),
])
def test_bad_geometry(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_top_level_api_names():
    lat = mb.lattice.chain(16, pbc=False)
    assert lat.n_sites == 16
    assert mb.lattice.ladder(4, legs=2).n_sites == 8
    assert mb.lattice.square(3, 2).n_sites == 6
