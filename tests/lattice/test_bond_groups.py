"""Bond groups per direction and per-group couplings, against Hamiltonians built here from geometry.

The oracle Hamiltonians are Kronecker products over pairs found from the site
positions in this file (never from ``model.terms`` or ``lattice.bond_groups``).
"""

import functools
from collections import Counter

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from macrobell import lattice as ml

P = ml.PAULI


def op(n, ops):
    return functools.reduce(np.kron, [ops.get(i, np.eye(2)) for i in range(n)])


def xxz_pair(n, i, j, J, Delta=1.0):
    """J (SxSx + SySy + Δ SzSz) with S = σ/2, built from Pauli matrices."""
    return J / 4 * (op(n, {i: P[1], j: P[1]}) + op(n, {i: P[2], j: P[2]}) + Delta * op(n, {i: P[3], j: P[3]})).real


def ladder_pairs(L):
    """Leg, rung and diagonal pairs of an open two-leg ladder from site = x * 2 + leg."""
    s = lambda x, l: 2 * x + l  # noqa: E731
    legs = [(s(x, l), s(x + 1, l)) for x in range(L - 1) for l in range(2)]
    rungs = [(s(x, 0), s(x, 1)) for x in range(L)]
    diags = [(s(x, 0), s(x + 1, 1)) for x in range(L - 1)] + [(s(x, 1), s(x + 1, 0)) for x in range(L - 1)]
    return legs, rungs, diags


def ground_energy(H):
    return float(np.linalg.eigvalsh(H)[0])


def sparse_ground_energy(model):
    return float(spla.eigsh(model.to_sparse(), k=1, which="SA")[0][0])


# ---------------------------------------------------------------- geometry


def _pairs(b):
    return Counter(map(tuple, np.sort(np.asarray(b), axis=1).tolist()))


@pytest.mark.parametrize("lat", [ml.ladder(4), ml.ladder(2, pbc=True), ml.ladder(3, legs=3), ml.square(3, 4, pbc=True),
                                 ml.square(2, 3, pbc_x=True), ml.triangular(3, 3, pbc=True), ml.triangular(2, 3),
                                 ml.honeycomb(2, 2, pbc=True), ml.cubic(2, 3, 2, pbc=True), ml.chain(6, pbc=True),
                                 ml.kagome(2)], ids=repr)
def test_groups_partition_each_kind_exactly(lat):
    for kind, b in lat.bonds.items():
        union = sum((_pairs(g) for g in lat.bond_groups[kind].values()), Counter())
        assert union == _pairs(b), kind


def test_group_names_and_directions_from_positions():
    lad = ml.ladder(5)
    assert lad.groups("nn") == ["leg", "rung"] and lad.groups("nnn") == ["diag"]
    pos = lad.positions
    leg, rung = lad.bond_group("nn", "leg"), lad.bond_group("nn", "rung")
    assert np.allclose(pos[leg[:, 1]] - pos[leg[:, 0]], [1, 0]) and len(leg) == 8
    assert np.allclose(pos[rung[:, 1]] - pos[rung[:, 0]], [0, 1]) and len(rung) == 5
    sq = ml.square(3, 3)
    assert sq.groups("nn") == ["x", "y"] and sq.groups("nnn") == ["diag1", "diag2"]
    d = sq.positions[sq.bond_group("nn", "y")]
    assert np.allclose(d[:, 1] - d[:, 0], [0, 1])
    tri = ml.triangular(3, 3)
    assert tri.groups("nn") == ["a1", "a2", "a3"]
    for g, vec in zip(("a1", "a2", "a3"), ((1, 0), (0.5, np.sqrt(3) / 2), (0.5, -np.sqrt(3) / 2))):
        b = tri.bond_group("nn", g)
        diff = tri.positions[b[:, 1]] - tri.positions[b[:, 0]]
        assert np.allclose(np.abs(diff @ np.asarray(vec)), 1.0), g  # parallel unit vectors
    assert ml.cubic(2).groups("nn") == ["x", "y", "z"] and ml.chain(4).groups("nn") == ["nn"]
    # the unions are the lists of before, in the same canonical order
    assert np.array_equal(ml.ladder(4).bonds["nn"], np.array(sorted(map(tuple, np.concatenate([
        ml.ladder(4).bond_group("nn", "leg"), ml.ladder(4).bond_group("nn", "rung")]).tolist()))))


def test_bond_group_errors_name_the_groups():
    with pytest.raises(ValueError, match=r"no 'nn' bond group 'legs'.*\['leg', 'rung'\]"):
        ml.ladder(3).bond_group("nn", "legs")
    with pytest.raises(ValueError, match=r"bond_groups\['nn'\].*exactly once"):
        ml.Lattice("g", np.zeros((3, 1)), [0, 1, 0], {"nn": [[0, 1], [1, 2]]}, (False,), [0, 1, 2],
                   bond_groups={"nn": {"a": [[0, 1]]}})


# ---------------------------------------------------------------- per-group couplings


def test_ladder_per_group_heisenberg_matches_exact_diagonalisation():
    L = 4
    n = 2 * L
    legs, rungs, diags = ladder_pairs(L)
    Jleg, Jrung, Jd, Dleg, Drung, Dd = 1.0, 0.45, 0.2, 0.8, 1.3, 0.6
    H = sum(xxz_pair(n, i, j, Jleg, Dleg) for i, j in legs) + sum(xxz_pair(n, i, j, Jrung, Drung) for i, j in rungs)
    H = H + sum(xxz_pair(n, i, j, Jd, Dd) for i, j in diags)
    m = ml.heisenberg(ml.ladder(L), J={"leg": Jleg, "rung": Jrung}, J2={"diag": Jd},
                      Delta={"leg": Dleg, "rung": Drung, "diag": Dd})
    assert np.allclose(m.to_sparse().toarray(), H)
    assert sparse_ground_energy(m) == pytest.approx(ground_energy(H), abs=1e-9)
    # "default" and the kind name fill the groups not named
    m2 = ml.heisenberg(ml.ladder(L), J={"nn": Jleg, "rung": Jrung}, J2=Jd,
                       Delta={"rung": Drung, "default": Dleg, "nnn": Dd})
    assert np.allclose(m2.to_sparse().toarray(), H)


def test_square_xy_anisotropy_and_scalar_keeps_its_meaning():
    lat = ml.square(2, 3)
    n = 6
    s = lambda x, y: x * 3 + y  # noqa: E731
    xb = [(s(0, y), s(1, y)) for y in range(3)]
    yb = [(s(x, y), s(x, y + 1)) for x in range(2) for y in range(2)]
    H = sum(xxz_pair(n, i, j, 1.0) for i, j in xb) + sum(xxz_pair(n, i, j, 0.3) for i, j in yb)
    m = ml.heisenberg(lat, J={"x": 1.0, "y": 0.3})
    assert ground_energy(m.to_sparse().toarray()) == pytest.approx(ground_energy(H), abs=1e-10)
    assert np.allclose(m.to_sparse().toarray(), H)
    scalar, dict_ = ml.heisenberg(lat, J=0.7, Delta=0.5), ml.heisenberg(lat, J={"default": 0.7}, Delta=0.5)
    assert np.allclose(scalar.to_sparse().toarray(), dict_.to_sparse().toarray())
    assert len(scalar.terms) == 3 and scalar.params["J"] == 0.7  # a scalar: one term per operator, as before


def test_triangular_per_direction_tfim_and_xyz():
    lat = ml.triangular(2, 2)
    n = 4
    s = lambda x, y: x * 2 + y  # noqa: E731
    a1 = [(s(0, y), s(1, y)) for y in range(2)]
    a2 = [(s(x, 0), s(x, 1)) for x in range(2)]
    a3 = [(s(0, 1), s(1, 0))]
    J = {"a1": 1.0, "a2": -0.4, "a3": 0.25}
    H = sum(J[g] / 4 * op(n, {i: P[3], j: P[3]}) for g, pairs in (("a1", a1), ("a2", a2), ("a3", a3))
            for i, j in pairs)
    H = H - 0.6 / 2 * sum(op(n, {i: P[1]}) for i in range(n))
    m = ml.tfim(lat, J=J, g=0.6)
    assert np.allclose(m.to_sparse().toarray(), H.real)
    Hxyz = sum(J[g] / 4 * op(n, {i: P[1], j: P[1]}) + 0.5 / 4 * op(n, {i: P[3], j: P[3]})
               for g, pairs in (("a1", a1), ("a2", a2), ("a3", a3)) for i, j in pairs)
    mx = ml.xyz(lat, Jx=J, Jy=0.0, Jz=0.5)
    assert np.allclose(mx.to_sparse().toarray(), Hxyz.real)


def test_per_group_errors_list_groups():
    lad = ml.ladder(3)
    with pytest.raises(ValueError, match=r"unknown bond group\(s\) \['rungs'\].*allowed: \['leg', 'rung'\]"):
        ml.heisenberg(lad, J={"leg": 1.0, "rungs": 0.5})
    with pytest.raises(ValueError, match=r"no value for the 'nn' bond group\(s\) \['rung'\].*'default'"):
        ml.heisenberg(lad, J={"leg": 1.0})
    with pytest.raises(ValueError, match=r"heisenberg: Delta: unknown bond group\(s\) \['x'\].*'leg', 'rung', 'diag'"):
        ml.heisenberg(lad, Delta={"x": 0.5, "default": 1.0})
    with pytest.raises(ValueError, match=r"Delta: no value for the 'nn' bonds.*\['leg', 'rung'\]"):
        ml.heisenberg(lad, Delta={"rung": 0.5})
    with pytest.raises(ValueError, match=r"heisenberg: J\['leg'\] must be finite"):
        ml.heisenberg(lad, J={"leg": float("nan"), "rung": 1.0})
    with pytest.raises(ValueError, match=r"convention must be one of \['spin', 'pauli'\]"):
        ml.tfim(ml.chain(4), convention="tenpy")


# ---------------------------------------------------------------- TFIM conventions


def free_fermion_tfim_energy(L, J, g):
    """Ground energy of H = −J Σ σxσx − g Σ σz on a ring of L sites (even L).

    Jordan–Wigner (P. Pfeuty, Ann. Phys. 57, 79 (1970)): the ground state lies
    in the even-parity sector with antiperiodic fermions, k = π(2m+1)/L, and
    E0 = −Σ_k ε_k / 2 with ε_k = 2 √(J² + g² − 2 J g cos k).
    """
    k = np.pi * (2 * np.arange(L) + 1) / L
    return -0.5 * np.sum(2 * np.sqrt(J**2 + g**2 - 2 * J * g * np.cos(k)))


@pytest.mark.parametrize("g", [0.3, 1.0, 1.7])
def test_tfim_pauli_convention_is_tenpys_and_free_fermion_exact(g):
    L, J = 10, 1.0
    m = ml.tfim(ml.chain(L, pbc=True), J=J, g=g, convention="pauli")
    assert sparse_ground_energy(m) == pytest.approx(free_fermion_tfim_energy(L, J, g), abs=1e-9)
    # the same operator built here: −J Σ σx σx − g Σ σz
    n = 6
    H = -J * sum(op(n, {i: P[1], (i + 1) % n: P[1]}) for i in range(n)) - g * sum(op(n, {i: P[3]}) for i in range(n))
    assert np.allclose(ml.tfim(ml.chain(n, pbc=True), J=J, g=g, convention="pauli").to_sparse().toarray(), H.real)


def test_tfim_critical_points_of_both_conventions():
    """Kramers–Wannier self-duality fixes the critical point: g = J (Pauli), g = J/2 (spin convention).

    The transverse-field Ising chain has one transition, at its self-dual
    point (Pfeuty 1970: ε_k(J, g) = ε_k(g, J), gap 2|J − g|). On an even
    ring the ground energies obey E0(J, g) = E0(g, J) exactly (the
    antiperiodic-fermion sum is symmetric), checked here by exact
    diagonalisation; the spin convention maps to Pauli (J/4, g/2), so its
    dual of (J, g) is (2g, J/2) and its self-dual point is g = J/2.
    """
    L = 10
    for g in (0.25, 0.5, 0.9):
        m = ml.tfim(ml.chain(L, pbc=True), J=1.0, g=g)
        # H_spin = (1/4) Σ σzσz − (g/2) Σ σx ≅ −(1/4) Σ σxσx − (g/2) Σ σz (bipartite rotation)
        assert sparse_ground_energy(m) == pytest.approx(free_fermion_tfim_energy(L, 0.25, g / 2), abs=1e-9)
    ring = ml.chain(L, pbc=True)
    for J, g in ((1.0, 0.4), (0.7, 1.9)):
        e, dual = (sparse_ground_energy(ml.tfim(ring, J=a, g=b, convention="pauli")) for a, b in ((J, g), (g, J)))
        assert e == pytest.approx(dual, abs=1e-9)
        e, dual = (sparse_ground_energy(ml.tfim(ring, J=a, g=b)) for a, b in ((J, g), (2 * g, J / 2)))
        assert e == pytest.approx(dual, abs=1e-9)
    # and the spin convention is not self-dual at g = J (the default J = g = 1 is not critical)
    assert sparse_ground_energy(ml.tfim(ring, J=1.0, g=0.4)) != pytest.approx(
        sparse_ground_energy(ml.tfim(ring, J=0.4, g=1.0)), abs=1e-3)
