"""Lattice geometry as plain data: positions, sublattices, bond arrays, MPS order.

A :class:`Lattice` is a frozen dataclass of read-only numpy arrays, in the
spirit of TeNPy's lattices: factories build the positions and the bond lists
once, and everything downstream (models, partitions, tensor networks) reads
them. Sites are numbered ``0 … N-1`` ("lattice indices"); ``order`` is the
sequence in which an MPS visits them (a snake through 2D lattices) and is
an internal detail of the tensor-network backends.
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
        diagonals). Each bond ``(i, j)`` appears once, with ``i < j``.
    pbc : tuple of bool
        Periodic boundary flag for each lattice direction.
    order : ndarray of int, shape (N,)
        ``order[k]`` is the lattice site at MPS position ``k``.
    params : dict
        The factory arguments (``{"L": 8, "pbc": True}``), for provenance.
    bipartite : bool
        Whether the ``"nn"`` graph is bipartite with the given ``sublattice``
        labels (every nn bond joins sublattice 0 to 1).
    """

    name: str
    positions: np.ndarray
    sublattice: np.ndarray
    bonds: Mapping[str, np.ndarray]
    pbc: tuple
    order: np.ndarray
    params: Mapping = field(default_factory=dict)

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
            # Canonical, duplicate-free order makes models and hashes reproducible.
            b = np.unique(b, axis=0) if b.size else b.reshape(0, 2)
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


def _check_size(field_name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{field_name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{field_name} must be an integer >= {minimum}, got {value}")
    return int(value)


def chain(L: int, pbc: bool = False) -> Lattice:
    """A chain of ``L`` sites; ``"nn"`` bonds (i, i+1) and ``"nnn"`` (i, i+2).

    With ``pbc=True`` the wrap-around bonds ``(L-1, 0)`` (and ``(L-2, 0)``,
    ``(L-1, 1)`` for nnn) are included; a ring needs ``L >= 3``.
    Sublattices alternate 0, 1; an odd ring is not bipartite.
    """
    L = _check_size("chain: L", L, 2)
    if pbc and L < 3:
        raise ValueError(f"chain: a periodic chain needs L >= 3, got L={L}")
    i = np.arange(L)
    nn = [(a, a + 1) for a in range(L - 1)] + ([(0, L - 1)] if pbc else [])
    nnn = [(a, a + 2) for a in range(L - 2)]
    if pbc and L >= 5:
        nnn += [(L - 2, 0), (L - 1, 1)]
    return Lattice(
        name="chain",
        positions=i[:, None].astype(float),
        sublattice=i % 2,
        bonds={"nn": np.array(nn).reshape(-1, 2), "nnn": np.array(nnn, dtype=int).reshape(-1, 2)},
        pbc=(pbc,),
        order=i,
        params={"L": L, "pbc": bool(pbc)},
    )


def _rect(Lx: int, Ly: int, pbc_x: bool, pbc_y: bool, name: str, params: dict, diagonals: bool):
    """Square-lattice geometry on an ``Lx × Ly`` grid; site = x * Ly + y.

    The MPS order is a snake: column x = 0 upwards, x = 1 downwards, ...
    so consecutive MPS sites are always lattice neighbours.
    """
    sites = np.arange(Lx * Ly).reshape(Lx, Ly)
    pos = np.array([(x, y) for x in range(Lx) for y in range(Ly)], dtype=float)
    nn, nnn = [], []
    for x in range(Lx):
        for y in range(Ly):
            s = sites[x, y]
            if x + 1 < Lx or (pbc_x and Lx > 2):
                nn.append((s, sites[(x + 1) % Lx, y]))
            if y + 1 < Ly or (pbc_y and Ly > 2):
                nn.append((s, sites[x, (y + 1) % Ly]))
            if diagonals:
                for dy in (1, -1):
                    xx, yy = x + 1, y + dy
                    okx = xx < Lx or (pbc_x and Lx > 2)
                    oky = 0 <= yy < Ly or (pbc_y and Ly > 2)
                    if okx and oky:
                        nnn.append((s, sites[xx % Lx, yy % Ly]))
    order = np.concatenate([sites[x] if x % 2 == 0 else sites[x][::-1] for x in range(Lx)])
    sub = ((pos[:, 0] + pos[:, 1]) % 2).astype(int)
    return Lattice(
        name=name,
        positions=pos,
        sublattice=sub,
        bonds={"nn": np.array(nn, dtype=int).reshape(-1, 2), "nnn": np.array(nnn, dtype=int).reshape(-1, 2)},
        pbc=(pbc_x, pbc_y),
        order=order,
        params=params,
    )


def ladder(L: int, legs: int = 2, pbc: bool = False) -> Lattice:
    """A ladder of ``L`` rungs and ``legs`` legs; site = x * legs + leg.

    ``"nn"`` holds legs and rungs, ``"nnn"`` the plaquette diagonals; the
    MPS order is rung by rung (snaking across legs), so leg bonds span
    ``legs`` MPS sites.
    """
    L = _check_size("ladder: L", L, 2)
    legs = _check_size("ladder: legs", legs, 2)
    if pbc and L < 3:
        raise ValueError(f"ladder: a periodic ladder needs L >= 3, got L={L}")
    return _rect(L, legs, pbc, False, "ladder", {"L": L, "legs": legs, "pbc": bool(pbc)}, True)


def square(Lx: int, Ly: int | None = None, pbc_x: bool = False, pbc_y: bool | None = None, pbc=None) -> Lattice:
    """An ``Lx × Ly`` square lattice (``Ly`` defaults to ``Lx``).

    ``pbc`` sets both directions at once; ``"nnn"`` are the diagonals (J1–J2).
    """
    Lx = _check_size("square: Lx", Lx, 2)
    Ly = Lx if Ly is None else _check_size("square: Ly", Ly, 2)
    if pbc is not None:
        pbc_x = pbc_y = bool(pbc)
    pbc_y = pbc_x if pbc_y is None else pbc_y
    return _rect(Lx, Ly, bool(pbc_x), bool(pbc_y), "square",
                 {"Lx": Lx, "Ly": Ly, "pbc_x": bool(pbc_x), "pbc_y": bool(pbc_y)}, True)


def _bravais(name, Lx, Ly, pbc, a1, a2, basis, neighbours, params):
    """Generic 2D Bravais lattice with a basis.

    ``neighbours`` lists ``(b1, b2, dx, dy)``: site ``b1`` of cell (x, y) is
    joined to site ``b2`` of cell (x+dx, y+dy). Site index =
    ``(x * Ly + y) * nb + b``; the MPS order snakes column by column.
    """
    Lx = _check_size(f"{name}: Lx", Lx, 2)
    Ly = _check_size(f"{name}: Ly", Ly, 2)
    nb = len(basis)
    a1, a2, basis = np.asarray(a1, float), np.asarray(a2, float), np.asarray(basis, float)

    def idx(x, y, b):
        return (x * Ly + y) * nb + b

    pos, sub, nn = [], [], []
    for x in range(Lx):
        for y in range(Ly):
            for b in range(nb):
                pos.append(x * a1 + y * a2 + basis[b])
                sub.append(b)
    for x in range(Lx):
        for y in range(Ly):
            for b1, b2, dx, dy in neighbours:
                xx, yy = x + dx, y + dy
                if not (0 <= xx < Lx and 0 <= yy < Ly):
                    if not pbc:
                        continue
                    xx, yy = xx % Lx, yy % Ly
                i, j = idx(x, y, b1), idx(xx, yy, b2)
                if i != j:
                    nn.append((i, j))
    order = []
    for x in range(Lx):
        ys = range(Ly) if x % 2 == 0 else range(Ly - 1, -1, -1)
        for y in ys:
            order.extend(idx(x, y, b) for b in range(nb))
    return Lattice(name=name, positions=np.array(pos), sublattice=np.array(sub),
                   bonds={"nn": np.array(nn, dtype=int).reshape(-1, 2)}, pbc=(pbc, pbc),
                   order=np.array(order), params=params)


def triangular(Lx: int, Ly: int | None = None, pbc: bool = False) -> Lattice:
    """Triangular lattice, ``Lx × Ly`` cells; three-sublattice labels 0, 1, 2."""
    Ly = Lx if Ly is None else Ly
    lat = _bravais("triangular", Lx, Ly, pbc, (1, 0), (0.5, np.sqrt(3) / 2), [(0, 0)],
                   [(0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 1, -1)], {"Lx": Lx, "Ly": Ly, "pbc": bool(pbc)})
    sub = (np.arange(lat.n_sites) // Ly - np.arange(lat.n_sites) % Ly) % 3
    return Lattice(lat.name, lat.positions, sub, lat.bonds, lat.pbc, lat.order, lat.params)


def honeycomb(Lx: int, Ly: int | None = None, pbc: bool = False) -> Lattice:
    """Honeycomb lattice, ``Lx × Ly`` two-site cells (bipartite: A = 0, B = 1)."""
    Ly = Lx if Ly is None else Ly
    a1, a2 = (np.sqrt(3), 0), (np.sqrt(3) / 2, 1.5)
    return _bravais("honeycomb", Lx, Ly, pbc, a1, a2, [(0, 0), (np.sqrt(3) / 2, 0.5)],
                    [(0, 1, 0, 0), (1, 0, 1, 0), (1, 0, 0, 1)], {"Lx": Lx, "Ly": Ly, "pbc": bool(pbc)})


def kagome(Lx: int, Ly: int | None = None, pbc: bool = False) -> Lattice:
    """Kagome lattice, ``Lx × Ly`` three-site cells (sublattices 0, 1, 2)."""
    Ly = Lx if Ly is None else Ly
    return _bravais("kagome", Lx, Ly, pbc, (2, 0), (1, np.sqrt(3)), [(0, 0), (1, 0), (0.5, np.sqrt(3) / 2)],
                    [(0, 1, 0, 0), (0, 2, 0, 0), (1, 2, 0, 0), (1, 0, 1, 0), (2, 0, 0, 1), (2, 1, -1, 1)],
                    {"Lx": Lx, "Ly": Ly, "pbc": bool(pbc)})


def cubic(Lx: int, Ly: int | None = None, Lz: int | None = None, pbc: bool = False) -> Lattice:
    """Simple cubic ``Lx × Ly × Lz`` lattice (small sizes, for exact states)."""
    Lx = _check_size("cubic: Lx", Lx, 2)
    Ly = Lx if Ly is None else _check_size("cubic: Ly", Ly, 2)
    Lz = Lx if Lz is None else _check_size("cubic: Lz", Lz, 2)
    dims = (Lx, Ly, Lz)
    idx = np.arange(Lx * Ly * Lz).reshape(dims)
    pos = np.array(np.unravel_index(np.arange(idx.size), dims)).T.astype(float)
    nn = []
    for s, p in enumerate(pos.astype(int)):
        for d in range(3):
            q = p.copy()
            q[d] += 1
            if q[d] >= dims[d]:
                if not (pbc and dims[d] > 2):
                    continue
                q[d] %= dims[d]
            nn.append((s, idx[tuple(q)]))
    return Lattice("cubic", pos, pos.sum(1).astype(int) % 2, {"nn": np.array(nn)}, (pbc,) * 3,
                   np.arange(idx.size), {"Lx": Lx, "Ly": Ly, "Lz": Lz, "pbc": bool(pbc)})


def from_bonds(n_sites: int, bonds, name: str = "graph", positions=None, sublattice=None) -> Lattice:
    """A lattice from explicit bonds.

    Parameters
    ----------
    n_sites : int
    bonds : (E, 2) array-like, or dict of kind -> (E, 2) array-like
        A bare array is taken as the ``"nn"`` bonds.
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
