"""Bond lists with multiplicity, against an independent geometric construction.

The oracle here never looks at a factory's bonds: it takes the site positions
and the textbook supercell vectors of each lattice, places every periodic
image of every site (shifts ``n · L a`` in periodic directions only) and
counts the images of ``j`` at the bond length from ``i``. That count is the
multiplicity of the pair ``(i, j)`` in the translation-invariant sum
``Σ_r Σ_δ S_r · S_{r+δ}`` (issue 8, "Bond lists"). Hamiltonians are then
built from explicit Kronecker products over those counts.
"""

import functools
import itertools
from collections import Counter

import numpy as np
import pytest

import macrobell as mb
from macrobell import lattice as ml
from macrobell.lattice import geometry

S3 = np.sqrt(3)
# Primitive vectors (rows) of each lattice, as in the standard geometries.
PRIMITIVE = {
    "chain": [[1.0]],
    "ladder": [[1.0, 0.0], [0.0, 1.0]],
    "square": [[1.0, 0.0], [0.0, 1.0]],
    "triangular": [[1.0, 0.0], [0.5, S3 / 2]],
    "honeycomb": [[S3, 0.0], [S3 / 2, 1.5]],
    "kagome": [[2.0, 0.0], [1.0, S3]],
    "cubic": np.eye(3).tolist(),
}
# Bond lengths by kind (lattice spacing / nn distance 1).
LENGTH = {"chain": {"nn": 1.0, "nnn": 2.0}, "ladder": {"nn": 1.0, "nnn": np.sqrt(2)},
          "square": {"nn": 1.0, "nnn": np.sqrt(2)}, "triangular": {"nn": 1.0}, "honeycomb": {"nn": 1.0},
          "kagome": {"nn": 1.0}, "cubic": {"nn": 1.0}}


def image_counts(positions, supercell, periodic, length):
    """``C[i, j]`` = number of periodic images of site j at distance ``length`` from site i.

    ``supercell[k]`` is the translation of periodic direction k (``L_k a_k``);
    shifts ``n_k ∈ {-2..2}`` are more than enough for bond lengths below the
    smallest periodic length times sin 60°.
    """
    pos = np.asarray(positions, float)
    dirs = [np.asarray(t, float) for t, p in zip(supercell, periodic) if p]
    shifts = [sum((n * t for n, t in zip(ns, dirs)), np.zeros(pos.shape[1]))
              for ns in itertools.product(range(-2, 3), repeat=len(dirs))]
    shifts = np.array(shifts).reshape(-1, pos.shape[1])
    disp = pos[None, :, None, :] + shifts[None, None] - pos[:, None, None, :]
    return (np.abs(np.linalg.norm(disp, axis=-1) - length) < 1e-9).sum(-1)


def oracle_bonds(lat, kind, sizes, periodic):
    """Multiset ``Counter{(i, j): multiplicity}`` (``i < j``) and the self-image count."""
    a = np.asarray(PRIMITIVE[lat.name], float)
    supercell = [L * a[k] for k, L in enumerate(sizes)]
    C = image_counts(lat.positions, supercell, periodic, LENGTH[lat.name][kind])
    np.testing.assert_array_equal(C, C.T)
    pairs = Counter({(i, j): int(C[i, j]) for i in range(len(C)) for j in range(i + 1, len(C)) if C[i, j]})
    return pairs, int(np.trace(C))


def _cases():
    out = []
    for L in range(2, 8):
        for pbc in (False, True):
            if not (pbc and L == 2):
                out.append((ml.chain, dict(L=L, pbc=pbc), (L,), (pbc,)))
    for L, legs, pbc in itertools.product((2, 3, 4), (2, 3), (False, True)):
        out.append((ml.ladder, dict(L=L, legs=legs, pbc=pbc), (L, legs), (pbc, False)))
    for name in ("square", "triangular", "honeycomb", "kagome"):
        for Lx, Ly, px, py in itertools.product((2, 3, 4), (2, 3), (False, True), (False, True)):
            if name == "kagome" and Lx * Ly > 9:
                continue
            out.append((getattr(ml, name), dict(Lx=Lx, Ly=Ly, pbc_x=px, pbc_y=py), (Lx, Ly), (px, py)))
    for dims, pbc in itertools.product([(2, 2, 2), (2, 3, 2), (3, 2, 3)], (False, True)):
        out.append((ml.cubic, dict(Lx=dims[0], Ly=dims[1], Lz=dims[2], pbc=pbc), dims, (pbc,) * 3))
    return [pytest.param(*c, id=f"{c[0].__name__}-{'-'.join(f'{k}{v}' for k, v in c[1].items())}") for c in out]


@pytest.mark.parametrize("factory, kwargs, sizes, periodic", _cases())
def test_bonds_equal_independent_image_count(factory, kwargs, sizes, periodic):
    lat = factory(**kwargs)
    assert lat.pbc == tuple(periodic)
    for kind in LENGTH[lat.name]:
        pairs, self_images = oracle_bonds(lat, kind, sizes, periodic)
        assert self_images == 0
        got = Counter(map(tuple, lat.bonds[kind].tolist()))
        assert got == pairs, kind
        # coordination with multiplicity, also from the oracle
        z = np.zeros(lat.n_sites, int)
        for (i, j), m in pairs.items():
            z[[i, j]] += m
        np.testing.assert_array_equal(np.bincount(lat.bonds[kind].ravel(), minlength=lat.n_sites), z)


@pytest.mark.parametrize("factory, kwargs, z", [
    pytest.param(ml.chain, dict(L=3, pbc=True), {"nn": 2, "nnn": 2}, id="chain3"),
    pytest.param(ml.chain, dict(L=4, pbc=True), {"nn": 2, "nnn": 2}, id="chain4"),
    pytest.param(ml.square, dict(Lx=2, Ly=2, pbc=True), {"nn": 4, "nnn": 4}, id="square2x2"),
    pytest.param(ml.square, dict(Lx=2, Ly=3, pbc=True), {"nn": 4, "nnn": 4}, id="square2x3"),
    pytest.param(ml.triangular, dict(Lx=2, Ly=2, pbc=True), {"nn": 6}, id="triangular2x2"),
    pytest.param(ml.triangular, dict(Lx=2, Ly=3, pbc=True), {"nn": 6}, id="triangular2x3"),
    pytest.param(ml.honeycomb, dict(Lx=2, Ly=2, pbc=True), {"nn": 3}, id="honeycomb2x2"),
    pytest.param(ml.kagome, dict(Lx=2, Ly=2, pbc=True), {"nn": 4}, id="kagome2x2"),
    pytest.param(ml.cubic, dict(Lx=2, pbc=True), {"nn": 6}, id="cubic2"),
])
def test_small_tori_have_bulk_coordination(factory, kwargs, z):
    """Textbook coordination numbers hold on every torus once bonds carry multiplicity."""
    lat = factory(**kwargs)
    for kind, zk in z.items():
        np.testing.assert_array_equal(np.bincount(lat.bonds[kind].ravel(), minlength=lat.n_sites), zk)


def test_two_site_ring_is_refused_and_oracle_agrees():
    # the i -> i+2 bond of a 2-site ring is a site's own image: ill-defined
    with pytest.raises(ValueError, match="periodic chain needs L >= 3.*'nnn'"):
        ml.chain(2, pbc=True)
    pos = np.arange(2.0)[:, None]
    np.testing.assert_array_equal(np.diag(image_counts(pos, [[2.0]], [True], 2.0)), [2, 2])
    with pytest.raises(ValueError, match="self-bond"):
        geometry._cell_bonds("chain", (2,), (True,), 1, [(0, 0, (2,))], "nnn")


def test_chain3_nnn_are_the_nn_pairs():
    lat = ml.chain(3, pbc=True)
    np.testing.assert_array_equal(lat.bonds["nnn"], lat.bonds["nn"])
    H = ml.heisenberg(lat, J=1.0, J2=0.4).to_sparse().toarray()
    np.testing.assert_allclose(H, 1.4 * ml.heisenberg(lat).to_sparse().toarray(), atol=1e-14)


def test_periodicity_keywords_mirror_square():
    for f in (ml.square, ml.triangular, ml.honeycomb, ml.kagome):
        torus = f(3, 3, pbc=True)
        for other in (f(3, 3, True), f(3, 3, pbc_x=True), f(3, 3, pbc_x=True, pbc_y=True)):
            assert other.pbc == (True, True)
            np.testing.assert_array_equal(other.bonds["nn"], torus.bonds["nn"])
        cyl = f(3, 4, pbc_x=False, pbc_y=True)
        assert cyl.pbc == (False, True) and cyl.params["pbc_y"] and not cyl.params["pbc_x"]
        assert f(3, 3).pbc == (False, False)
    with pytest.raises(ValueError, match="pbc_x"):
        ml.triangular(3, 3, pbc_x="yes")


def test_from_bonds_keeps_multiplicity():
    lat = ml.from_bonds(2, [(0, 1), (1, 0)])
    assert lat.bonds["nn"].tolist() == [[0, 1], [0, 1]]
    H2 = ml.heisenberg(lat).to_sparse().toarray()
    H1 = ml.heisenberg(ml.from_bonds(2, [(0, 1)])).to_sparse().toarray()
    np.testing.assert_allclose(H2, 2 * H1, atol=1e-14)


# ---------------------------------------------------------------------------
# Backends against a brute-force Hamiltonian over the oracle's multiset

P = ml.PAULI


def kron_op(n, ops):
    return functools.reduce(np.kron, [ops.get(i, np.eye(2)) for i in range(n)])


def brute_heisenberg(lat, sizes, periodic, J, J2=0.0):
    """``Σ_pairs m_ij J S_i·S_j`` (+ nnn with J2) from the image counts; S = σ/2."""
    n = lat.n_sites
    H = np.zeros((2**n, 2**n))
    for kind, c in (("nn", J), ("nnn", J2)):
        if not c:
            continue
        pairs, _ = oracle_bonds(lat, kind, sizes, periodic)
        for (i, j), m in pairs.items():
            for a in (1, 2, 3):
                H += (m * c / 4 * kron_op(n, {i: P[a], j: P[a]})).real
    return H


DUPLICATE_CASES = {
    "chain3-J2": (lambda: ml.chain(3, pbc=True), (3,), (True,), 1.0, 0.45),
    "chain4-J2": (lambda: ml.chain(4, pbc=True), (4,), (True,), 1.0, 0.45),
    "triangular2x3": (lambda: ml.triangular(2, 3, pbc=True), (2, 3), (True, True), 1.0, 0.0),
    "square2x3-cyl": (lambda: ml.square(2, 3, pbc_x=True, pbc_y=False), (2, 3), (True, False), 1.0, 0.3),
}
DUP = [pytest.param(*v, id=k) for k, v in DUPLICATE_CASES.items()]


@pytest.mark.parametrize("make, sizes, periodic, J, J2", DUP)
def test_exact_backend_and_sparse_match_brute_force(make, sizes, periodic, J, J2):
    lat = make()
    model = ml.heisenberg(lat, J=J, J2=J2)
    H = brute_heisenberg(lat, sizes, periodic, J, J2)
    np.testing.assert_allclose(model.to_sparse().toarray(), H, atol=1e-13)
    e0 = np.linalg.eigvalsh(H)[0]
    assert mb.tn.ground_state(model, method="exact").energy == pytest.approx(e0, abs=1e-10)


def test_triangular_2x3_torus_energy():
    # both periodic images of each bond count: E0 = -4.5 (issue 8; the merged bond list gave -2.25)
    lat = ml.triangular(2, 3, pbc=True)
    e0 = np.linalg.eigvalsh(brute_heisenberg(lat, (2, 3), (True, True), 1.0))[0]
    assert e0 == pytest.approx(-4.5, abs=1e-10)


@pytest.mark.parametrize("make, sizes, periodic, J, J2", DUP)
def test_mpo_matches_brute_force(make, sizes, periodic, J, J2):
    from macrobell.tn.mpo import model_to_mpo

    lat = make()
    model = ml.heisenberg(lat, J=J, J2=J2)
    mpo = model_to_mpo(model, order=np.arange(lat.n_sites))  # lattice order: dense = lattice Kronecker order
    np.testing.assert_allclose(mpo.to_dense(), brute_heisenberg(lat, sizes, periodic, J, J2), atol=1e-12)


def _embed(n, i, j, h):
    """A 4×4 ``h`` on ``site i ⊗ site j`` as a 2^n matrix (Pauli expansion)."""
    out = np.zeros((2**n, 2**n), complex)
    for a in range(4):
        for b in range(4):
            c = np.trace(np.kron(P[a], P[b]).conj().T @ h) / 4
            if abs(c) > 1e-15:
                out += c * kron_op(n, {i: P[a], j: P[b]})
    return out


@pytest.mark.parametrize("make, sizes, periodic, J, J2", DUP)
def test_purification_pieces_match_brute_force(make, sizes, periodic, J, J2):
    from macrobell.tn.gates import hamiltonian_pieces

    lat = make()
    model = ml.heisenberg(lat, J=J, J2=J2, h=0.2)
    bonds, singles = hamiltonian_pieces(model)
    assert not singles
    order = lat.order
    H = sum(_embed(lat.n_sites, order[k], order[l], h) for k, l, h in bonds)
    field = -0.2 * sum(kron_op(lat.n_sites, {i: P[3] / 2}) for i in range(lat.n_sites))
    np.testing.assert_allclose(H, brute_heisenberg(lat, sizes, periodic, J, J2) + field, atol=1e-12)


def test_peps_local_ham_adds_repeated_bonds():
    from macrobell.tn.peps import model_to_local_ham

    lat = ml.square(2, 3, pbc_x=True, pbc_y=False)  # every x bond listed twice: doubled couplings on the open 2 x 3 grid
    model = ml.heisenberg(lat, J=1.0)
    ham, Lx, Ly, coords = model_to_local_ham(model)
    n = lat.n_sites
    H = sum(_embed(n, a[0] * Ly + a[1], b[0] * Ly + b[1], h) for (a, b), h in ham.terms.items())
    np.testing.assert_allclose(H, brute_heisenberg(lat, (2, 3), (True, False), 1.0), atol=1e-12)


def test_dmrg_matches_exact_on_duplicate_bonds():
    lat = ml.triangular(2, 3, pbc=True)
    model = ml.heisenberg(lat)
    st = mb.tn.ground_state(model, method="dmrg", bond_dim=16, seed=3)
    assert st.info["converged"]
    e0 = np.linalg.eigvalsh(brute_heisenberg(lat, (2, 3), (True, True), 1.0))[0]
    assert st.energy == pytest.approx(e0, abs=1e-8)


def test_purification_thermal_energy_on_duplicate_bonds():
    # chain(4, pbc) J2: each nnn pair twice; the thermal energy at T = 1 against the brute-force spectrum
    lat = ml.chain(4, pbc=True)
    model = ml.heisenberg(lat, J=1.0, J2=0.45)
    E = np.linalg.eigvalsh(brute_heisenberg(lat, (4,), (True,), 1.0, 0.45))
    w = np.exp(-(E - E[0]))
    (st,) = mb.tn.thermal_states(model, [1.0], method="purification", bond_dim=16, dtau=0.05)
    assert st.energy == pytest.approx(float(w @ E / w.sum()), abs=1e-6)
