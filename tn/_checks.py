"""Option validation shared by the tensor-network backends.

Each check raises a ``ValueError`` that names the caller (``where``), the
option and the allowed values.
"""

from __future__ import annotations

import math

import numpy as np

from macrobell.lattice import SpinModel

__all__ = ["check_model", "check_int", "check_number"]


def check_model(model, where: str) -> None:
    """``model`` must be a :class:`~macrobell.lattice.SpinModel`."""
    if not isinstance(model, SpinModel):
        raise ValueError(f"{where}: model must be a macrobell.lattice.SpinModel, got {type(model).__name__}")


def check_int(where: str, name: str, value, minimum: int) -> int:
    """An integer (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_number(where: str, name: str, value, minimum: float, strict: bool = True) -> float:
    """A finite real number ``> minimum`` (``>=`` when not ``strict``)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        raise ValueError(f"{where}: {name} must be a finite number {'>' if strict else '>='} {minimum}, "
                         f"got {value!r}")
    return float(value)
