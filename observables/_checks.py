"""Input validation shared by the observables wrappers."""

from __future__ import annotations

import numpy as np

__all__ = ["site_array"]


def site_array(sites, n: int, where: str, name: str = "sites") -> np.ndarray:
    """Validate a list of distinct lattice sites in ``0..n-1``; return it as an int64 array.

    Raises a ``ValueError`` that names ``where`` and ``name`` (e.g.
    ``"reduced_state: sites [9] out of range 0..7"``).
    """
    try:
        s = np.asarray(sites)
        if s.size and not np.issubdtype(s.dtype, np.integer):
            raise TypeError
        s = s.astype(np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} must be a list of integer site indices, got {sites!r}") from None
    if s.size == 0:
        raise ValueError(f"{where}: {name} is empty")
    bad = s[(s < 0) | (s >= n)]
    if bad.size:
        raise ValueError(f"{where}: {name} has sites {bad.tolist()} out of range 0..{n - 1}")
    if np.unique(s).size != s.size:
        raise ValueError(f"{where}: {name} must be distinct sites, got {s.tolist()}")
    return s


def region_arrays(regions, n: int, where: str, max_regions: int | None = None, why: str = "") -> list:
    """Validate K ≥ 1 disjoint, non-empty regions of lattice sites; return them as int64 arrays.

    ``max_regions`` is the backend's limit on K; ``why`` explains it in the
    error (e.g. ``"MPS_MAX_REGIONS: it carries 4^K - 3^K environments"``).
    """
    if isinstance(regions, np.ndarray) and regions.ndim == 2:
        regions = list(regions)
    try:
        regions = list(regions)
    except TypeError:
        raise ValueError(f"{where}: regions must be a list of site lists, got {regions!r}") from None
    K = len(regions)
    if K < 1:
        raise ValueError(f"{where}: regions is empty; give at least one region")
    if max_regions is not None and K > max_regions:
        raise ValueError(f"{where}: K={K} regions; this backend supports at most K={max_regions}"
                         + (f" ({why})" if why else ""))
    out = [site_array(r, n, where, name=f"region {X}") for X, r in enumerate(regions)]
    allsites = np.concatenate(out)
    if np.unique(allsites).size != allsites.size:
        vals, counts = np.unique(allsites, return_counts=True)
        raise ValueError(f"{where}: regions overlap at sites {vals[counts > 1].tolist()}")
    return out
