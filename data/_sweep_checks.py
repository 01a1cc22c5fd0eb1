"""Checks of a sweep that need the backends: option ranges, exact-memory capacity, names.

Split from :mod:`macrobell.data.sweep` (which re-exports :class:`SweepError`);
every check raises a :class:`SweepError` naming the section, the key and the
allowed values, before anything is built, computed or written.
"""

from __future__ import annotations

import itertools
from typing import Mapping

__all__ = ["SweepError", "check_name", "check_option_ranges", "check_capacity", "precheck_exact_size",
           "min_sites"]


class SweepError(ValueError):
    """An invalid sweep file: names the section, the key and the allowed values."""


SweepError.__module__ = "macrobell.data.sweep"  # its public home (pickles and messages name it there)


def _err(section, key, msg):
    where = f"[{section}]" if key is None else f"[{section}] {key}"
    return SweepError(f"sweep file: {where}: {msg}")


def _fmt(spec: Mapping) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in spec.items()) + "}"


#: Characters a partition or region name may not contain besides the unprintable ones: names are
#: HDF5 group names (``/`` separates groups, a leading ``.`` is reserved).
_NAME_FORBIDDEN = "/"


def check_name(sec, key, name, what):
    """A partition or region name: a non-empty printable string without '/' and not starting with '.'.

    Control characters (NUL above all) would be cut or mangled as HDF5 group
    names and make distinct partitions collide after the work is done.
    """
    if (not isinstance(name, str) or not name or any(c in _NAME_FORBIDDEN for c in name) or name.startswith(".")
            or not name.isprintable()):
        raise _err(sec, key, f"{what} {name!r}: expected a non-empty string of printable characters (no control "
                             "characters such as NUL, no '/', not starting with '.')")


def check_option_ranges(method, opt_axes: dict, temps) -> None:
    """Every backend option value within its meaningful range (:data:`macrobell.tn._checks.OPTION_RANGES`).

    ``dmrg``/``purification`` sweeps pass their options to DMRG (T = 0
    points) and to the purification (T > 0 points): a value is checked
    against each backend that receives it. Combinations are checked too
    (PEPS ``chi`` against ``bond_dim``).
    """
    from macrobell.tn._checks import OPTION_RANGES, OptionError, check_options

    if method in ("dmrg", "purification"):
        backends = (["dmrg"] if any(t == 0 for t in temps) else []) + (["purification"] if any(t > 0 for t in temps)
                                                                        else [])
    else:
        backends = [method]
    # An option no backend of this sweep receives (dtau in a T = 0 sweep) is still checked, by its own backend.
    unused = [b for b in ("dmrg", "purification") if method in ("dmrg", "purification") and b not in backends]
    keys = list(opt_axes)
    for combo in itertools.product(*opt_axes.values()):
        values = dict(zip(keys, combo))
        for b in backends + unused:
            table = OPTION_RANGES[b]
            given = {k: v for k, v in values.items() if (k in table or (b == "peps" and k == "chi"))
                     and (b in backends or not any(k in OPTION_RANGES[u] for u in backends))}
            if b == "peps" and "chi" in given:
                given.setdefault("bond_dim", _peps_default_bond_dim())
            try:
                check_options(f"backend {b!r}", b, **given)
            except OptionError as exc:
                raise _err("state", exc.option, str(exc)) from None


def _peps_default_bond_dim() -> int:
    import inspect as _inspect

    from macrobell.tn import peps as pe
    return _inspect.signature(pe.peps_ground_state).parameters["bond_dim"].default



def check_capacity(method, model, temps, lat_spec):
    """Refuse, before any work, what the backend would refuse: an exact request over the memory
    guard, a PEPS on a lattice or model it cannot hold."""
    if method == "peps":
        from macrobell.tn import peps as pe
        try:
            pe.model_to_local_ham(model)
        except ValueError as exc:
            raise _err("state", "method", f"lattice {_fmt(lat_spec)}: {exc}") from None
        return
    if method != "exact":
        return
    from macrobell.tn import exact as ex
    mixed = any(t > 0 for t in temps)
    try:
        ex.check_exact_model_memory(model, "full" if mixed else "lanczos", n_temperatures=len(temps))
    except (ValueError, MemoryError) as exc:
        raise _err("state", "method", f"lattice {_fmt(lat_spec)}: {exc}") from None


def min_sites(lat_spec: Mapping, cap: int = 10**9) -> int:
    """A lower bound on a lattice's site count from its spec, in O(1) (without building it), at most ``cap``.

    Every lattice factory has at least one site per unit cell, so the
    product of its positive integer size arguments (``L``, ``legs``,
    ``Lx``, ``Ly``, ``Lz``) bounds the number of sites from below.
    """
    n = 1
    for k, v in lat_spec.items():
        if k != "kind" and isinstance(v, int) and not isinstance(v, bool) and v > 0:
            n = min(n * v, cap)
    return n


def precheck_exact_size(method, temps, lat_spec):
    """Refuse an exact request in O(1), before the lattice is built (10^6 sites take seconds to build).

    The exact backend's estimate for :func:`min_sites` sites and a single
    flip pattern is a lower bound on its memory.
    """
    if method != "exact":
        return
    n = min_sites(lat_spec)
    from macrobell.tn import exact as ex
    try:
        ex.check_exact_memory(n, "full" if any(t > 0 for t in temps) else "lanczos", n_ops=1,
                              n_temperatures=len(temps))
    except (ValueError, MemoryError) as exc:
        raise _err("state", "method", f"lattice {_fmt(lat_spec)}: at least {n} sites: {exc}") from None
