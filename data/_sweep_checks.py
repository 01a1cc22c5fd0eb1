"""Checks of a sweep that need the backends (read from tn.registry): option ranges, capacity, names.

Split from :mod:`macrobell.data.sweep` (which re-exports :class:`SweepError`);
every check raises a :class:`SweepError` naming the section, the key and the
allowed values, before anything is built, computed or written.
"""

from __future__ import annotations

import itertools
from typing import Mapping

__all__ = ["SweepError", "check_name", "check_option_ranges", "check_capacity", "precheck_size",
           "precheck_exact_size", "min_sites", "serving_backends"]


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


def serving_backends(method, temps) -> tuple[list, list]:
    """``([(backend, its temperatures), …], [unused backends])`` of a sweep of ``method`` (tn.registry).

    A backend serves the temperatures its solvers cover; the rest go to the
    backend it names (``ground_state_backend`` / ``thermal_backend``, e.g.
    ``dmrg`` sweeps: T = 0 by DMRG, T > 0 by purification). A backend no
    temperature reaches is *unused*; a method none of whose backends is
    reached (T > 0 for a ground-state-only one) is checked as itself.
    """
    from macrobell.tn import registry

    g, t = registry.sweep_backends(method)
    cands = []
    for b in (g, t):
        if b is not None and all(b is not c for c in cands):
            cands.append(b)
    serving = []
    for b in cands:
        ts = [x for x in temps if (x == 0 and b is g) or (x > 0 and b is t)]
        if ts:
            serving.append((b, ts))
    if not serving:
        serving = [(registry.get_backend(method), list(temps))]
    used = [b for b, _ in serving]
    return serving, [b for b in cands if all(b is not u for u in used)]


def _checked(backend) -> set:
    """Options with a range or a custom check (the rest, e.g. a memory limit, are the solver's business)."""
    return {k for k, o in backend.options.items() if o.range is not None or o.check is not None}


def check_option_ranges(method, opt_axes: dict, temps) -> None:
    """Every backend option value within its meaningful range (the backends' schemas in tn.registry,
    viewed as :data:`macrobell.tn._checks.OPTION_RANGES`).

    A method whose T = 0 and T > 0 points go to different backends (``dmrg``
    / ``purification``: DMRG ground states, one purification evolution) passes
    its options to each: a value is checked against each backend that
    receives it. Combinations are checked too (an option's ``depends_on``,
    e.g. PEPS ``chi`` against ``bond_dim``, its default when not given).
    """
    from macrobell.tn._checks import OptionError, check_options

    serving, unused = serving_backends(method, temps)
    backends = [b for b, _ in serving]
    # An option no backend of this sweep receives (dtau in a T = 0 sweep) is still checked, by its own backend.
    keys = list(opt_axes)
    for combo in itertools.product(*opt_axes.values()):
        values = dict(zip(keys, combo))
        for b in backends + unused:
            table = _checked(b)
            receives = any(b is u for u in backends)
            given = {k: v for k, v in values.items() if k in table
                     and (receives or not any(k in _checked(u) for u in backends))}
            for k in list(given):
                for dep in b.options[k].depends_on:
                    given.setdefault(dep, b.options[dep].default)
            try:
                check_options(f"backend {b.name!r}", b.name, **given)
            except OptionError as exc:
                raise _err("state", exc.option, str(exc)) from None


def check_capacity(method, model, temps, lat_spec):
    """Refuse, before any work, what a backend would refuse: its feasibility and memory check
    (``Backend.check``: e.g. an exact request over the memory guard, a PEPS on a lattice or model it
    cannot hold)."""
    for b, ts in serving_backends(method, temps)[0]:
        if b.check is None:
            continue
        try:
            b.check(model, ts)
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


def precheck_size(method, temps, lat_spec):
    """Refuse a request in O(1), before the lattice is built (10^6 sites take seconds to build).

    Each serving backend's ``precheck`` gets :func:`min_sites` (the exact
    backend's memory estimate for that many sites and a single flip pattern
    is a lower bound on its memory).
    """
    serving = [(b, ts) for b, ts in serving_backends(method, temps)[0] if b.precheck is not None]
    if not serving:
        return
    n = min_sites(lat_spec)
    for b, ts in serving:
        try:
            b.precheck(n, ts)
        except (ValueError, MemoryError) as exc:
            raise _err("state", "method", f"lattice {_fmt(lat_spec)}: at least {n} sites: {exc}") from None


#: Former name of :func:`precheck_size` (exact was the only backend with a size precheck).
precheck_exact_size = precheck_size
