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
