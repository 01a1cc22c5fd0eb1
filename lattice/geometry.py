"""Lattice geometry as plain data: positions, sublattices, bond arrays, MPS order.

A :class:`Lattice` is a frozen dataclass of read-only numpy arrays, in the
spirit of TeNPy's lattices: factories build the positions and the bond lists
once, and everything downstream (models, partitions, tensor networks) reads
them. Sites are numbered ``0 … N-1`` ("lattice indices"); ``order`` is the
sequence in which an MPS visits them (a snake through 2D lattices) and is
an internal detail of the tensor-network backends.

Bond rule (all factories)
-------------------------
A factory lists, for every bond kind, one bond per unit cell and per bond
vector of that kind, with periodic directions wrapped: ``H = Σ_cells
Σ_vectors h_b`` is exactly the translation-invariant sum (e.g.
``Σ_i S_i·S_{i+2}`` on a ring). Bonds therefore carry *multiplicity*: on a
small periodic lattice a pair reached by two periodic images (or by two
bond vectors) is listed twice, and the pair's coupling is counted twice,
the convention of a coupling summed over all lattice sites (TeNPy's
``CouplingModel.add_coupling``). A periodic size at which a bond vector maps
a site onto its own image (a self-bond, e.g. the ``i → i+2`` bond of a
two-site ring) is refused with a ``ValueError``.

Bond groups
-----------
Every bond kind is split into named *groups*, one per bond direction, so that
models can couple each direction differently (TeNPy names its couplings per
direction the same way): ``ladder``: ``"nn"`` = ``"leg"`` ∪ ``"rung"``,
``"nnn"`` = ``"diag"``; ``square``: ``"nn"`` = ``"x"`` ∪ ``"y"``, ``"nnn"`` =
``"diag1"`` (vector (1, 1)) ∪ ``"diag2"`` (vector (1, −1)); ``triangular``:
``"nn"`` = ``"a1"`` ∪ ``"a2"`` ∪ ``"a3"`` (vectors a1, a2, a1 − a2);
``honeycomb``: ``"nn"`` = ``"a1"`` ∪ ``"a2"`` ∪ ``"a3"`` (the three bond
directions); ``cubic``: ``"nn"`` = ``"x"`` ∪ ``"y"`` ∪ ``"z"``. A kind
without direction groups (chain, kagome, :func:`from_bonds`) has one group
named like the kind. The groups of a kind partition its bonds exactly
(multiplicity included); ``Lattice.bonds`` keeps the unions, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = [
    "Lattice",
    "chain",
    "ladder",
    "square",
    "triangular",
    "honeycomb",
    "kagome",
    "cubic",
    "from_bonds",
    "LATTICE_KINDS",
]


def _readonly(a, dtype=None):
    a = np.array(a, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Lattice:
    """A finite lattice of spin-1/2 sites.

    Attributes
    ----------
    name : str
        Kind of lattice (``"chain"``, ``"ladder"``, ``"square"``, ...).
    positions : ndarray, shape (N, dim)
        Real-space coordinates (lattice spacing 1).
    sublattice : ndarray of int, shape (N,)
        Sublattice label of each site. For bipartite lattices (chain with
        even L or open ends, ladder, square, honeycomb) the labels 0/1 are
        the two sublattices; see :attr:`bipartite`.
    bonds : dict[str, ndarray of int, shape (E, 2)]
        Bond lists by kind: ``"nn"`` nearest neighbours, ``"nnn"`` next-
        nearest (chain: ``(i, i+2)``; ladder and square: the plaquette
        diagonals). Rows are ``(i, j)`` with ``i < j``, sorted. Bonds carry
        multiplicity: a factory lists one bond per cell and bond vector
        (the translation-invariant sum), so on small periodic lattices a
        pair can appear more than once and then couples with that weight
        (``chain(4, pbc=True)``: each ``"nnn"`` pair twice, as in
        ``Σ_i S_i·S_{i+2}``; ``chain(3, pbc=True)``: the ``"nnn"`` pairs
        are the ``"nn"`` pairs; ``square(2, 3, pbc_x=True)``: every x bond
        twice; ``triangular(2, 2, pbc=True)``: each pair of the 4 sites
        twice, coordination 6). Every model and backend adds repeated bonds.
        Self-bonds are refused.
    pbc : tuple of bool
        Periodic boundary flag for each lattice direction.
    order : ndarray of int, shape (N,)
        ``order[k]`` is the lattice site at MPS position ``k``.
    params : dict
        The factory arguments (``{"L": 8, "pbc": True}``), for provenance.
    bipartite : bool
        Whether the ``"nn"`` graph is bipartite with the given ``sublattice``
        labels (every nn bond joins sublattice 0 to 1).
    bond_groups : dict[str, dict[str, ndarray of int, shape (E_g, 2)]]
        The bonds of each kind split by direction (module section "Bond
        groups"): ``bond_groups["nn"]["rung"]``. Optional in the
        constructor: a kind without groups gets one group named like the
        kind. The groups of a kind must be a partition of its bonds
        (checked, multiplicity included).
    """

    name: str
    positions: np.ndarray
    sublattice: np.ndarray
    bonds: Mapping[str, np.ndarray]
    pbc: tuple
    order: np.ndarray
    params: Mapping = field(default_factory=dict)
    bond_groups: Mapping | None = None

    def __post_init__(self):
        pos = _readonly(self.positions, float)
        if pos.ndim == 1:
            pos = _readonly(pos[:, None])
        n = pos.shape[0]
        if n < 1:
            raise ValueError("Lattice: a lattice needs at least one site")
        sub = _readonly(self.sublattice, int)
        if sub.shape != (n,):
            raise ValueError(f"Lattice.sublattice: expected shape ({n},), got {sub.shape}")
        bonds = {}
        for kind, b in dict(self.bonds).items():
            b = np.asarray(b, dtype=int).reshape(-1, 2)
            if b.size and (b.min() < 0 or b.max() >= n):
                bad = b[(b < 0).any(1) | (b >= n).any(1)]
                raise ValueError(
                    f"Lattice.bonds[{kind!r}]: sites must be in 0..{n - 1}; got bonds {bad[:5].tolist()}"
                )
            if b.size and (b[:, 0] == b[:, 1]).any():
                raise ValueError(f"Lattice.bonds[{kind!r}]: a bond joins a site to itself")
            b = np.sort(b, axis=1)
            # Canonical order makes models and hashes reproducible; repeated rows are kept
            # (multiplicity: the translation-invariant sum counts a pair once per image).
            b = b[np.lexsort((b[:, 1], b[:, 0]))] if b.size else b.reshape(0, 2)
            bonds[kind] = _readonly(b)
        order = _readonly(self.order, int)
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"Lattice.order: must be a permutation of 0..{n - 1}")
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "sublattice", sub)
        object.__setattr__(self, "bonds", bonds)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "pbc", tuple(bool(p) for p in self.pbc))
        object.__setattr__(self, "params", dict(self.params))
        object.__setattr__(self, "bond_groups", _check_groups(n, bonds, self.bond_groups))

    @property
    def n_sites(self) -> int:
        """Number of sites N."""
        return self.positions.shape[0]

    N = n_sites

    @property
    def dim(self) -> int:
        """Spatial dimension of ``positions``."""
        return self.positions.shape[1]

    @property
    def mps_position(self) -> np.ndarray:
        """Inverse of :attr:`order`: ``mps_position[site]`` is its MPS index."""
        inv = np.empty(self.n_sites, dtype=int)
        inv[self.order] = np.arange(self.n_sites)
        return inv

    @property
    def bipartite(self) -> bool:
        nn = self.bonds.get("nn", np.zeros((0, 2), int))
        if len(set(self.sublattice.tolist())) != 2:
            return False
        return bool(np.all(self.sublattice[nn[:, 0]] != self.sublattice[nn[:, 1]]))

    def bond_array(self, kind: str) -> np.ndarray:
        """The ``(E, 2)`` bonds of ``kind``; a clear error for unknown kinds."""
        if kind not in self.bonds:
            raise ValueError(
                f"lattice {self.name!r} has no bonds of kind {kind!r}; available: {sorted(self.bonds)}"
            )
        return self.bonds[kind]

    def groups(self, kind: str = "nn") -> list:
        """Names of the bond groups of ``kind`` (e.g. ``["leg", "rung"]``), in a fixed order."""
        self.bond_array(kind)
        return list(self.bond_groups[kind])

    def bond_group(self, kind: str, group: str) -> np.ndarray:
        """The ``(E_g, 2)`` bonds of one group; a clear error listing the groups otherwise."""
        groups = self.groups(kind)
        if group not in groups:
            raise ValueError(f"lattice {self.name!r} has no {kind!r} bond group {group!r}; available: {groups}")
        return self.bond_groups[kind][group]

    def max_mps_bond_range(self, kind: str = "nn") -> int:
        """Largest distance in MPS order spanned by a bond of ``kind``."""
        b = self.bonds.get(kind)
        if b is None or len(b) == 0:
            return 0
        p = self.mps_position
        return int(np.abs(p[b[:, 0]] - p[b[:, 1]]).max())

    def __repr__(self):
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.bonds.items())
        return f"Lattice({self.name!r}, N={self.n_sites}, params={self.params}, bonds: {counts})"


def _canonical(b):
    b = np.sort(np.asarray(b, dtype=int).reshape(-1, 2), axis=1)
    return b[np.lexsort((b[:, 1], b[:, 0]))] if b.size else b.reshape(0, 2)


def _check_groups(n, bonds, groups):
    """Canonical read-only groups; every kind's groups must partition its bonds (with multiplicity)."""
    groups = {} if groups is None else {k: dict(v) for k, v in dict(groups).items()}
    bad = sorted(set(groups) - set(bonds))
    if bad:
        raise ValueError(f"Lattice.bond_groups: kinds {bad} are not bond kinds; available: {sorted(bonds)}")
    out = {}
    for kind, b in bonds.items():
        g = groups.get(kind) or {kind: b}
        canon = {}
        for name, gb in g.items():
            if not isinstance(name, str) or not name or "." in name:
                raise ValueError(f"Lattice.bond_groups[{kind!r}]: group names must be non-empty strings "
                                 f"without '.', got {name!r}")
            canon[name] = _readonly(_canonical(gb))
        union = _canonical(np.concatenate(list(canon.values()))) if canon else np.zeros((0, 2), int)
        if not np.array_equal(union, b):
            raise ValueError(f"Lattice.bond_groups[{kind!r}]: the groups {list(canon)} must together hold every "
                             f"{kind!r} bond exactly once (with its multiplicity)")
        out[kind] = canon
    return out


def _grouped(where, dims, pbc, n_basis, groups, kind):
    """``(union, {group: bonds})`` of one kind from ``{group: [vectors]}`` (see :func:`_cell_bonds`)."""
    parts = {g: _cell_bonds(where, dims, pbc, n_basis, vecs, kind) for g, vecs in groups.items()}
    union = np.concatenate(list(parts.values())) if parts else np.zeros((0, 2), int)
    return union.reshape(-1, 2), parts


def _check_size(field_name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{field_name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{field_name} must be an integer >= {minimum}, got {value}")
    return int(value)


def _cell_bonds(where: str, dims, pbc, n_basis: int, vectors, kind: str) -> np.ndarray:
    """Bonds of one kind: every cell ``r`` and every vector ``(b1, b2, d)``.

    Site ``b1`` of cell ``r`` is joined to site ``b2`` of cell ``r + d``
    (cells flattened in C order, site = cell * n_basis + b). Periodic
    directions wrap ``r + d`` modulo the size and keep every image, so
    repeated pairs stay repeated (see the module's bond rule); open
    directions drop bonds that leave the lattice. A bond that wraps onto
    its own site is refused.
    """
    dims_a = np.asarray(dims, dtype=int)
    pbc_a = np.asarray(pbc, dtype=bool)
    cells = np.array(list(np.ndindex(*dims)), dtype=int).reshape(-1, len(dims))
    out = []
    for b1, b2, d in vectors:
        tgt = cells + np.asarray(d, dtype=int)
        keep = (((tgt >= 0) & (tgt < dims_a)) | pbc_a).all(axis=1)
        src, tgt = cells[keep], tgt[keep] % dims_a
        i = np.ravel_multi_index(tuple(src.T), dims) * n_basis + b1
        j = np.ravel_multi_index(tuple(tgt.T), dims) * n_basis + b2
        if (i == j).any():
            raise ValueError(
                f"{where}: with size {tuple(int(x) for x in dims)} and pbc={tuple(bool(p) for p in pbc)} the "
                f"{kind!r} bond vector {tuple(d)} joins a site to its own periodic image (a self-bond); "
                f"use a longer periodic direction or open boundaries")
        out.append(np.stack([i, j], axis=1))
    return np.concatenate(out).reshape(-1, 2) if out else np.zeros((0, 2), dtype=int)


def chain(L: int, pbc: bool = False) -> Lattice:
    """A chain of ``L`` sites; ``"nn"`` bonds (i, i+1) and ``"nnn"`` (i, i+2).

    With ``pbc=True`` the bonds are taken modulo ``L`` from every site, so
    ``"nn"`` has ``L`` bonds and ``"nnn"`` has ``L`` bonds, i.e. exactly
    ``Σ_i S_i·S_{i+1}`` and ``Σ_i S_i·S_{i+2}`` on the ring (multiplicity:
    ``L = 4`` lists each nnn pair twice, ``L = 3`` lists the nn pairs). A
    ring needs ``L >= 3`` (at ``L = 2`` the nnn bond joins a site to
    itself). Sublattices alternate 0, 1; an odd ring is not bipartite.
    """
    L = _check_size("chain: L", L, 2)
    if pbc and L < 3:
        raise ValueError(f"chain: a periodic chain needs L >= 3, got L={L} "
                         f"(its 'nnn' bond (i, i+2) would join a site to itself)")
    i = np.arange(L)
    bonds = {kind: _cell_bonds("chain", (L,), (pbc,), 1, [(0, 0, (step,))], kind)
             for kind, step in (("nn", 1), ("nnn", 2))}
    return Lattice(
        name="chain",
        positions=i[:, None].astype(float),
        sublattice=i % 2,
        bonds=bonds,
        pbc=(pbc,),
        order=i,
        params={"L": L, "pbc": bool(pbc)},
    )


def _rect(Lx: int, Ly: int, pbc_x: bool, pbc_y: bool, name: str, params: dict, diagonals: bool):
    """Square-lattice geometry on an ``Lx × Ly`` grid; site = x * Ly + y.

    ``"nn"``: vectors (1, 0), (0, 1); ``"nnn"``: the diagonals (1, ±1), from
    every cell (module bond rule). The MPS order is a snake: column x = 0
    upwards, x = 1 downwards, ... so consecutive MPS sites are always
    lattice neighbours.
    """
    sites = np.arange(Lx * Ly).reshape(Lx, Ly)
    pos = np.array([(x, y) for x in range(Lx) for y in range(Ly)], dtype=float)
    dims, pbc = (Lx, Ly), (pbc_x, pbc_y)
    ladder = name == "ladder"
    nn_groups = ({"leg": [(0, 0, (1, 0))], "rung": [(0, 0, (0, 1))]} if ladder
                 else {"x": [(0, 0, (1, 0))], "y": [(0, 0, (0, 1))]})
    d1, d2 = [(0, 0, (1, 1))], [(0, 0, (1, -1))]
    nnn_groups = {} if not diagonals else ({"diag": d1 + d2} if ladder else {"diag1": d1, "diag2": d2})
    bonds, groups = {}, {}
    bonds["nn"], groups["nn"] = _grouped(name, dims, pbc, 1, nn_groups, "nn")
    bonds["nnn"], groups["nnn"] = _grouped(name, dims, pbc, 1, nnn_groups, "nnn")
    order = np.concatenate([sites[x] if x % 2 == 0 else sites[x][::-1] for x in range(Lx)])
    sub = ((pos[:, 0] + pos[:, 1]) % 2).astype(int)
    return Lattice(name=name, positions=pos, sublattice=sub, bonds=bonds, pbc=pbc, order=order, params=params,
                   bond_groups=groups)


def ladder(L: int, legs: int = 2, pbc: bool = False) -> Lattice:
    """A ladder of ``L`` rungs and ``legs`` legs; site = x * legs + leg.

    ``"nn"`` holds legs and rungs (bond groups ``"leg"``: (x, l)–(x+1, l),
    ``"rung"``: (x, l)–(x, l+1)), ``"nnn"`` the plaquette diagonals (group
    ``"diag"``); the
    MPS order is rung by rung (snaking across legs), so leg bonds span
    ``legs`` MPS sites. ``pbc`` closes the legs into rings (the rungs stay
    open); with ``L = 2`` every leg and diagonal bond is listed twice
    (module bond rule).
    """
    L = _check_size("ladder: L", L, 2)
    legs = _check_size("ladder: legs", legs, 2)
    return _rect(L, legs, bool(pbc), False, "ladder", {"L": L, "legs": legs, "pbc": bool(pbc)}, True)


def _directions(where, pbc_x, pbc_y, pbc):
    """Per-direction periodicity: ``pbc`` sets both, ``pbc_y`` defaults to ``pbc_x``."""
    if pbc is not None:
        pbc_x = pbc_y = pbc
    pbc_y = pbc_x if pbc_y is None else pbc_y
    for key, v in (("pbc_x", pbc_x), ("pbc_y", pbc_y)):
        if not (isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, np.integer)) and v in (0, 1))):
            raise ValueError(f"{where}: {key} (or pbc) must be True or False, got {v!r}")
    return bool(pbc_x), bool(pbc_y)


def square(Lx: int, Ly: int | None = None, pbc_x: bool = False, pbc_y: bool | None = None, pbc=None) -> Lattice:
    """An ``Lx × Ly`` square lattice (``Ly`` defaults to ``Lx``).

    ``pbc`` sets both directions at once, ``pbc_y`` defaults to ``pbc_x``
    (``pbc_x=True, pbc_y=False`` is a cylinder); ``"nnn"`` are the
    diagonals (J1–J2). A periodic direction of length 2 lists its bonds
    twice (module bond rule).
    """
    Lx = _check_size("square: Lx", Lx, 2)
    Ly = Lx if Ly is None else _check_size("square: Ly", Ly, 2)
    pbc_x, pbc_y = _directions("square", pbc_x, pbc_y, pbc)
    return _rect(Lx, Ly, pbc_x, pbc_y, "square", {"Lx": Lx, "Ly": Ly, "pbc_x": pbc_x, "pbc_y": pbc_y}, True)


def _bravais(name, Lx, Ly, pbc_x, pbc_y, a1, a2, basis, neighbours):
    """Generic 2D Bravais lattice with a basis.

    ``neighbours`` lists ``(b1, b2, (dx, dy))``: site ``b1`` of cell (x, y)
    is joined to site ``b2`` of cell (x+dx, y+dy), for every cell (module
    bond rule). Site index = ``(x * Ly + y) * nb + b``; the MPS order snakes
    column by column.
    """
    nb = len(basis)
    a1, a2, basis = np.asarray(a1, float), np.asarray(a2, float), np.asarray(basis, float)
    pos = [x * a1 + y * a2 + basis[b] for x in range(Lx) for y in range(Ly) for b in range(nb)]
    sub = np.tile(np.arange(nb), Lx * Ly)
    if isinstance(neighbours, Mapping):
        nn, groups = _grouped(name, (Lx, Ly), (pbc_x, pbc_y), nb, neighbours, "nn")
    else:
        nn, groups = _cell_bonds(name, (Lx, Ly), (pbc_x, pbc_y), nb, neighbours, "nn"), None
    order = []
    for x in range(Lx):
        ys = range(Ly) if x % 2 == 0 else range(Ly - 1, -1, -1)
        for y in ys:
            order.extend((x * Ly + y) * nb + b for b in range(nb))
    return Lattice(name=name, positions=np.array(pos), sublattice=sub, bonds={"nn": nn}, pbc=(pbc_x, pbc_y),
                   order=np.array(order), params={"Lx": Lx, "Ly": Ly, "pbc_x": pbc_x, "pbc_y": pbc_y},
                   bond_groups=None if groups is None else {"nn": groups})


def _cells(name, Lx, Ly, pbc_x, pbc_y, pbc):
    Lx = _check_size(f"{name}: Lx", Lx, 2)
    Ly = Lx if Ly is None else _check_size(f"{name}: Ly", Ly, 2)
    return (Lx, Ly, *_directions(name, pbc_x, pbc_y, pbc))


def triangular(Lx: int, Ly: int | None = None, pbc_x: bool = False, pbc_y: bool | None = None,
               pbc=None) -> Lattice:
    """Triangular lattice, ``Lx × Ly`` cells; three-sublattice labels ``(x − y) mod 3``.

    Primitive vectors ``a1 = (1, 0)``, ``a2 = (1/2, √3/2)``; ``"nn"`` vectors
    ``a1``, ``a2``, ``a1 − a2`` (bond groups ``"a1"``, ``"a2"``, ``"a3"``)
    from every cell, so a torus has coordination
    6 with multiplicity (``triangular(2, 3, pbc=True)``: 18 bonds on 6
    sites). Periodicity as in :func:`square`: ``pbc`` sets both directions,
    ``pbc_y`` defaults to ``pbc_x``; ``pbc_x=False, pbc_y=True`` is a
    cylinder. The sublattice labels are a proper 3-colouring only when the
    periodic lengths are multiples of 3.
    """
    Lx, Ly, pbc_x, pbc_y = _cells("triangular", Lx, Ly, pbc_x, pbc_y, pbc)
    lat = _bravais("triangular", Lx, Ly, pbc_x, pbc_y, (1, 0), (0.5, np.sqrt(3) / 2), [(0, 0)],
                   {"a1": [(0, 0, (1, 0))], "a2": [(0, 0, (0, 1))], "a3": [(0, 0, (1, -1))]})
    sub = (np.arange(lat.n_sites) // Ly - np.arange(lat.n_sites) % Ly) % 3
    return Lattice(lat.name, lat.positions, sub, lat.bonds, lat.pbc, lat.order, lat.params, lat.bond_groups)


def honeycomb(Lx: int, Ly: int | None = None, pbc_x: bool = False, pbc_y: bool | None = None,
              pbc=None) -> Lattice:
    """Honeycomb lattice, ``Lx × Ly`` two-site cells (bipartite: A = 0, B = 1).

    ``a1 = (√3, 0)``, ``a2 = (√3/2, 3/2)``, B at ``(√3/2, 1/2)``; nn bond
    length 1, coordination 3 on a torus. Periodicity as in :func:`square`.
    """
    Lx, Ly, pbc_x, pbc_y = _cells("honeycomb", Lx, Ly, pbc_x, pbc_y, pbc)
    a1, a2 = (np.sqrt(3), 0), (np.sqrt(3) / 2, 1.5)
    return _bravais("honeycomb", Lx, Ly, pbc_x, pbc_y, a1, a2, [(0, 0), (np.sqrt(3) / 2, 0.5)],
                    {"a1": [(0, 1, (0, 0))], "a2": [(1, 0, (1, 0))], "a3": [(1, 0, (0, 1))]})


def kagome(Lx: int, Ly: int | None = None, pbc_x: bool = False, pbc_y: bool | None = None,
           pbc=None) -> Lattice:
    """Kagome lattice, ``Lx × Ly`` three-site cells (sublattices 0, 1, 2).

    ``a1 = (2, 0)``, ``a2 = (1, √3)``; nn bond length 1, coordination 4 on a
    torus. Periodicity as in :func:`square`.
    """
    Lx, Ly, pbc_x, pbc_y = _cells("kagome", Lx, Ly, pbc_x, pbc_y, pbc)
    return _bravais("kagome", Lx, Ly, pbc_x, pbc_y, (2, 0), (1, np.sqrt(3)),
                    [(0, 0), (1, 0), (0.5, np.sqrt(3) / 2)],
                    [(0, 1, (0, 0)), (0, 2, (0, 0)), (1, 2, (0, 0)), (1, 0, (1, 0)), (2, 0, (0, 1)),
                     (2, 1, (-1, 1))])


def cubic(Lx: int, Ly: int | None = None, Lz: int | None = None, pbc: bool = False) -> Lattice:
    """Simple cubic ``Lx × Ly × Lz`` lattice (small sizes, for exact states).

    Site = ``(x * Ly + y) * Lz + z``; ``"nn"`` vectors along the three axes
    from every site, so a periodic direction of length 2 lists its bonds
    twice (module bond rule).
    """
    Lx = _check_size("cubic: Lx", Lx, 2)
    Ly = Lx if Ly is None else _check_size("cubic: Ly", Ly, 2)
    Lz = Lx if Lz is None else _check_size("cubic: Lz", Lz, 2)
    dims = (Lx, Ly, Lz)
    pos = np.array(list(np.ndindex(*dims)), dtype=float)
    nn, groups = _grouped("cubic", dims, (bool(pbc),) * 3, 1,
                          {ax: [(0, 0, tuple(np.eye(3, dtype=int)[d]))] for d, ax in enumerate("xyz")}, "nn")
    return Lattice("cubic", pos, pos.sum(1).astype(int) % 2, {"nn": nn}, (bool(pbc),) * 3,
                   np.arange(pos.shape[0]), {"Lx": Lx, "Ly": Ly, "Lz": Lz, "pbc": bool(pbc)}, {"nn": groups})


def from_bonds(n_sites: int, bonds, name: str = "graph", positions=None, sublattice=None) -> Lattice:
    """A lattice from explicit bonds.

    Parameters
    ----------
    n_sites : int
    bonds : (E, 2) array-like, or dict of kind -> (E, 2) array-like
        A bare array is taken as the ``"nn"`` bonds. Multiplicity is kept:
        a pair listed twice (in either orientation) couples twice.
    positions, sublattice : optional
        Default: sites on a line, sublattice from a 2-colouring of the nn
        graph when it is bipartite (else all 0).
    """
    n = _check_size("from_bonds: n_sites", n_sites, 1)
    if not isinstance(bonds, Mapping):
        bonds = {"nn": bonds}
    bonds = {k: np.asarray(v, dtype=int).reshape(-1, 2) for k, v in bonds.items()}
    if positions is None:
        positions = np.arange(n, dtype=float)[:, None]
    if sublattice is None:
        sublattice = _two_colouring(n, bonds.get("nn", np.zeros((0, 2), int)))
    return Lattice(name, positions, sublattice, bonds, (False,), np.arange(n), {"n_sites": n})


def _two_colouring(n, nn):
    """Colour 0/1 per site with every nn bond joining different colours (each component
    gets 0 at its lowest site), or all zeros if the graph is not bipartite.

    Equal to ``1 - networkx.bipartite.color`` (isolated sites 0) but faster without building a graph
    (issue 10, ``benchmarks/bench_library.py``), so networkx is not used here.
    """
    colour = -np.ones(n, dtype=int)
    adj = [[] for _ in range(n)]
    for i, j in nn:
        if 0 <= i < n and 0 <= j < n:
            adj[i].append(j)
            adj[j].append(i)
    for start in range(n):
        if colour[start] >= 0:
            continue
        colour[start] = 0
        stack = [start]
        while stack:
            i = stack.pop()
            for j in adj[i]:
                if colour[j] < 0:
                    colour[j] = 1 - colour[i]
                    stack.append(j)
                elif colour[j] == colour[i]:
                    return np.zeros(n, dtype=int)
    return colour


#: Factories by name, for configuration files and the command line.
LATTICE_KINDS = {
    "chain": chain,
    "ladder": ladder,
    "square": square,
    "triangular": triangular,
    "honeycomb": honeycomb,
    "kagome": kagome,
    "cubic": cubic,
}
