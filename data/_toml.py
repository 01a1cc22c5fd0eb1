"""TOML text for sweeps given as dictionaries, written by ``tomli_w``.

:mod:`tomllib` only reads; sweeps given as dictionaries (``Sweep.from_dict``,
``macrobell point``) are written back to TOML so that the file's ``/sweep``
attribute always holds text that reproduces the sweep.

The writing is ``tomli_w``'s (issue 10, decided by
``benchmarks/bench_library.py``): it quotes keys that are not bare keys
(``"a b"``, ``"x.y"``) and keeps empty top-level lists, which the former
hand-written writer got wrong, at a comparable speed. This module only maps
numpy scalars and arrays to Python values and refuses everything the sweep
format has no use for (``None``, dates, objects) with :class:`TomlWriteError`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import tomli_w

__all__ = ["to_toml", "TomlWriteError"]


class TomlWriteError(ValueError):
    """A value that has no TOML form."""


def _plain(v):
    """``v`` as bool / int / float / str / list / dict only (numpy scalars and arrays unpacked)."""
    if isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)  # also drops numpy's float64 subclass
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return _plain(v.item())
    raise TomlWriteError(f"sweep: cannot write {v!r} ({type(v).__name__}) to TOML")


def to_toml(config: Mapping) -> str:
    """Write a sweep dictionary as TOML text (``tomllib.loads`` of it gives back ``config``).

    Numbers round-trip exactly (shortest repr of each float; ``nan`` and
    ``±inf`` as TOML's special floats). Raises :class:`TomlWriteError` for a
    value with no TOML form.
    """
    return tomli_w.dumps(_plain(config))
