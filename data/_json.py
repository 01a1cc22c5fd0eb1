"""Plain-JSON values: the one conversion rule of HDF5 attributes and the journal (a leaf module)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(obj: Any) -> Any:
    """Plain-JSON version of ``obj`` (numpy scalars/arrays → Python; unknown objects → ``repr``)."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, (complex, np.complexfloating)):
        return {"re": float(np.real(obj)), "im": float(np.imag(obj))}
    if isinstance(obj, np.ndarray):
        if obj.size > 4096:
            return f"<array shape={obj.shape} dtype={obj.dtype}>"
        return to_jsonable(obj.tolist())
    if isinstance(obj, Mapping):  # sorted: stored dicts read back in one order, whatever path wrote them
        return {str(k): to_jsonable(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    return repr(obj)
