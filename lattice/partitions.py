"""Partitions of a lattice into K ≥ 2 disjoint regions (the "parties").

Regions are index arrays in lattice indices; sites in no region are traced
out. Region names default to ``"A", "B", "C", …``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .geometry import Lattice

__all__ = ["Partition", "PARTITION_KINDS"]


def _default_names(k):
    letters = string.ascii_uppercase
    return tuple(letters[i] if i < 26 else f"R{i}" for i in range(k))


@dataclass(frozen=True, eq=False)
class Partition:
    """K named, disjoint, non-empty regions of a lattice.

    Attributes
    ----------
    lattice : Lattice
    regions : tuple of ndarray of int
        Site indices of each region (sorted).
    names : tuple of str
    kind : str
        How it was built (``"halves"``, ``"sublattices"``, ``"custom"``, …).
    """

    lattice: Lattice
    regions: tuple
    names: tuple = ()
    kind: str = "custom"

    def __post_init__(self):
        n = self.lattice.n_sites
        regions = []
        for k, r in enumerate(self.regions):
            try:
                arr = np.asarray(r)
                if arr.size and not np.issubdtype(arr.dtype, np.integer):
                    if not np.all(np.equal(np.mod(arr, 1), 0)):
                        raise TypeError
                arr = arr.astype(int).reshape(-1)
            except (TypeError, ValueError):
                raise ValueError(f"Partition: region {k} must be a list of integer site indices, got {r!r}") from None
            regions.append(arr)
        names = tuple(str(x) for x in self.names) if self.names else _default_names(len(regions))
        if len(regions) < 2:
            raise ValueError(f"Partition: need K >= 2 regions, got {len(regions)}")
        if len(names) != len(regions):
            raise ValueError(f"Partition: {len(names)} names for {len(regions)} regions")
        if len(set(names)) != len(names):
            raise ValueError(f"Partition: region names must be unique, got {names}")
        for name in names:
            # stored as HDF5 attributes/names: NUL and other control characters are cut or mangled there
            if not name or not name.isprintable():
                raise ValueError(f"Partition ({self.kind!r}, regions {list(names)}): region name {name!r} must be a "
                                 "non-empty string of printable characters (no control characters such as NUL)")
        for name, r in zip(names, regions):
            if r.size == 0:
                raise ValueError(f"Partition: region {name!r} is empty")
            bad = r[(r < 0) | (r >= n)]
            if bad.size:
                raise ValueError(
                    f"Partition: region {name!r} has sites out of range {sorted(set(bad.tolist()))}; "
                    f"the lattice has sites 0..{n - 1}"
                )
            u, c = np.unique(r, return_counts=True)
            if (c > 1).any():
                raise ValueError(f"Partition: region {name!r} lists sites {u[c > 1].tolist()} more than once")
        owner = {}
        for name, r in zip(names, regions):
            for s in r.tolist():
                if s in owner:
                    raise ValueError(
                        f"Partition: regions overlap: site {s} is in both {owner[s]!r} and {name!r}"
                    )
                owner[s] = name
        frozen = []
        for r in regions:
            r = np.sort(r)
            r.setflags(write=False)
            frozen.append(r)
        object.__setattr__(self, "regions", tuple(frozen))
        object.__setattr__(self, "names", names)

    @property
    def K(self) -> int:
        """Number of regions."""
        return len(self.regions)

    @property
    def sizes(self) -> tuple:
        """Region sizes ``(N_1, …, N_K)``."""
        return tuple(int(r.size) for r in self.regions)

    def region_index(self) -> np.ndarray:
        """``(N,)`` array: the region of each site, ``-1`` for sites in none."""
        out = -np.ones(self.lattice.n_sites, dtype=int)
        for k, r in enumerate(self.regions):
            out[r] = k
        return out

    def __repr__(self):
        body = ", ".join(f"{n}:{r.size}" for n, r in zip(self.names, self.regions))
        return f"Partition({self.kind!r}, {body})"

    # ---- factories -------------------------------------------------------

    @classmethod
    def custom(cls, lattice: Lattice, regions) -> "Partition":
        """Regions given explicitly: a dict ``{"A": [...], "B": [...]}`` or a list of lists."""
        if isinstance(regions, Mapping):
            return cls(lattice, tuple(regions.values()), tuple(regions.keys()), "custom")
        if isinstance(regions, (str, bytes)) or not isinstance(regions, Sequence):
            raise ValueError(f"Partition.custom: regions must be a dict name -> sites or a list of site lists, "
                             f"got {type(regions).__name__}")
        return cls(lattice, tuple(regions), (), "custom")

    @classmethod
    def blocks(cls, lattice: Lattice, K: int = 2) -> "Partition":
        """K contiguous blocks along the first coordinate (ties broken by site index).

        Block sizes differ by at most one (the first blocks are larger).
        """
        if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 2:
            raise ValueError(f"Partition.blocks: K must be an integer >= 2, got {K!r}")
        n = lattice.n_sites
        if K > n:
            raise ValueError(f"Partition.blocks: K={K} regions cannot be non-empty on {n} sites")
        order = np.lexsort((np.arange(n), lattice.positions[:, 0]))
        parts = np.array_split(order, K)
        return cls(lattice, tuple(parts), (), "blocks")

    @classmethod
    def halves(cls, lattice: Lattice) -> "Partition":
        """Left and right halves (along the first coordinate): ``blocks(lattice, 2)``."""
        p = cls.blocks(lattice, 2)
        return cls(lattice, p.regions, ("A", "B"), "halves")

    @classmethod
    def sublattices(cls, lattice: Lattice) -> "Partition":
        """One region per sublattice label.

        Requires the labels to colour the nearest-neighbour graph properly
        (bipartite lattices, or the 3-sublattice triangular/kagome colourings);
        an odd ring, for example, is refused.
        """
        nn = lattice.bonds.get("nn", np.zeros((0, 2), int))
        labels = np.unique(lattice.sublattice)
        same = lattice.sublattice[nn[:, 0]] == lattice.sublattice[nn[:, 1]]
        if len(labels) < 2 or same.any():
            bad = nn[same][:3].tolist()
            raise ValueError(
                f"Partition.sublattices: lattice {lattice.name!r} {lattice.params} is not bipartite "
                f"(nearest-neighbour bonds {bad} join sites of the same sublattice); "
                f"use 'halves', 'blocks' or 'custom'"
            )
        regions = tuple(np.flatnonzero(lattice.sublattice == s) for s in labels)
        return cls(lattice, regions, (), "sublattices")

    @classmethod
    def strips(cls, lattice: Lattice, axis: int = 0, K: int | None = None) -> "Partition":
        """Regions of equal coordinate along ``axis`` (columns for axis 0, legs of a ladder for axis 1).

        With ``K`` given, the distinct coordinates are grouped into K
        contiguous strips.
        """
        if not isinstance(axis, (int, np.integer)) or not 0 <= axis < lattice.dim:
            raise ValueError(f"Partition.strips: axis must be in 0..{lattice.dim - 1}, got {axis!r}")
        coord = np.round(lattice.positions[:, axis], 8)
        values = np.unique(coord)
        groups = [np.flatnonzero(coord == v) for v in values]
        if K is not None:
            if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or not 2 <= K <= len(groups):
                raise ValueError(f"Partition.strips: K must be an integer in 2..{len(groups)}, got {K!r}")
            groups = [np.concatenate(g) for g in np.array_split(np.array(groups, dtype=object), K)]
        if len(groups) < 2:
            raise ValueError(f"Partition.strips: the lattice has a single strip along axis {axis}")
        return cls(lattice, tuple(groups), (), "strips")


def _custom_kind(lattice, regions=None, **kw):
    if regions is None:
        raise ValueError("partition kind 'custom' needs 'regions' (a table name -> list of sites)")
    return Partition.custom(lattice, regions)


#: Factories by name, for configuration files and the command line.
PARTITION_KINDS = {
    "halves": Partition.halves,
    "sublattices": Partition.sublattices,
    "blocks": Partition.blocks,
    "strips": Partition.strips,
    "custom": _custom_kind,
}
