"""A minimal TOML writer for the subset sweep files use (tables, arrays of tables, scalars, lists, inline tables).

:mod:`tomllib` only reads; sweeps given as dictionaries (``Sweep.from_dict``,
``macrobell point``) are written back to TOML so that the file's ``/sweep``
attribute always holds text that reproduces the sweep.
"""

from __future__ import annotations

import json
import math
from typing import Mapping

import numpy as np

__all__ = ["to_toml", "TomlWriteError"]


class TomlWriteError(ValueError):
    """A value that has no TOML form."""




def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(float(v))  # float() drops numpy's repr "np.float64(...)"
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, np.ndarray):
        return _toml_value(v.tolist())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return _toml_value(v.item())
    raise TomlWriteError(f"sweep: cannot write {v!r} ({type(v).__name__}) to TOML")


def to_toml(config: Mapping) -> str:
    """Write a sweep dictionary as TOML text (the subset sweep files use)."""
    lines = []
    for k, v in config.items():
        if not isinstance(v, (Mapping, list)) or (isinstance(v, list) and not all(isinstance(x, Mapping) for x in v)):
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in config.items():
        if isinstance(v, Mapping):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            for item in v:
                lines.append(f"\n[[{k}]]")
                lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"
