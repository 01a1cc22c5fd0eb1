"""The backend registry: one record per state backend, read by every layer that routes on a method name.

A backend is one module that ends with a call to :func:`register_backend`
(see ``docs/architecture.md``, "Adding a backend"). Its :class:`Backend`
record names

* its **solvers**: ``ground(model, **options)`` and/or
  ``thermal(model, temperatures, **options)``;
* its **option schema**: :class:`Option` entries (TOML type, range as a
  :class:`~macrobell.tn._checks.OptionRange`, default, one-line meaning),
  the single source of :data:`macrobell.tn._checks.OPTION_RANGES`;
* its **feasibility and memory checks**: ``check(model, temperatures)``
  (``ValueError`` / ``MemoryError`` when the lattice, model or size cannot
  run here) and ``precheck(n_sites, temperatures)`` (O(1), from a lower bound
  on the site count, before a lattice is built);
* its **state class** (``State.backend`` strings are the classes' business);
* for sweeps: ``ground_state_backend`` / ``thermal_backend``, the backend
  that serves the temperatures it does not (DMRG's T > 0 points go to
  purification, purification's T = 0 points to DMRG), and ``auto_max_sites``
  / ``auto_fallback`` for ``--method auto``.

``tn.ground_state`` / ``tn.thermal_states``, the sweep validator,
``data.compute`` and the CLI look backends up here and name none of them.
The built-in backends (``exact``, ``dmrg``, ``purification``, ``peps``)
register when their modules are imported; the registry imports them on the
first look-up, so importing ``macrobell.tn`` stays cheap.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

__all__ = ["OptionError", "OptionRange", "check_option", "Option", "Backend", "register_backend", "unregister_backend", "get_backend", "backend_names",
           "ground_methods", "thermal_methods", "sweep_methods", "sweep_backends", "sweep_options",
           "options_for", "solver_defaults", "BUILTIN_MODULES"]

#: Modules whose import registers the built-in backends, in registration (and listing) order.
BUILTIN_MODULES = ("macrobell.tn.exact", "macrobell.tn.dmrg", "macrobell.tn.purification", "macrobell.tn.peps")

_SOLVER_KINDS = ("ground", "thermal")


class OptionError(ValueError):
    """A backend option outside its allowed range; ``option`` is its name."""

    def __init__(self, message: str, option: str):
        self.option = option
        super().__init__(message)

    def __reduce__(self):  # picklable through process pools
        return (type(self), (self.args[0], self.option))


@dataclass(frozen=True)
class OptionRange:
    """The allowed values of one backend option.

    ``kind``: ``"int"`` (an integer, not a bool, in [lo, hi]), ``"number"``
    (a finite real in the interval, ``lo_open``/``hi_open`` exclude the
    ends), ``"choice"`` (one of ``choices``), ``"seed"`` (None or an
    integer >= 0), ``"bool"``. ``hi = None`` means unbounded.
    """

    kind: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple = ()
    #: None is accepted too (an option that is off unless given, e.g. the deprecated ``sv_cutoff``).
    optional: bool = False

    def allowed(self) -> str:
        """The allowed values in words, e.g. ``"a number in (0, 1e-05]"``."""
        if self.kind == "choice":
            return f"one of {list(self.choices)}"
        if self.kind == "seed":
            return "an integer >= 0 or None"
        if self.kind == "bool":
            return "true or false"
        what = "an integer" if self.kind == "int" else "a finite number"
        if self.hi is None:
            return f"{what} {'>' if self.lo_open else '>='} {self.lo:g}"
        return f"{what} in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"

    def accepts(self, value) -> bool:
        if value is None and self.optional:
            return True
        if self.kind == "choice":
            return not isinstance(value, bool) and value in self.choices
        if self.kind == "bool":
            return isinstance(value, (bool, np.bool_))
        integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        if self.kind == "seed":
            return value is None or (integer and value >= 0)
        if self.kind == "int" and not integer:
            return False
        if not (integer or isinstance(value, (float, np.floating))) or not math.isfinite(value):
            return False
        if value < self.lo or (self.lo_open and value == self.lo):
            return False
        return self.hi is None or not (value > self.hi or (self.hi_open and value == self.hi))


def check_option(where: str, name: str, value, allowed: OptionRange):
    """``value`` if ``allowed`` accepts it (ints and floats normalised), else :class:`OptionError`."""
    if not allowed.accepts(value):
        raise OptionError(f"{where}: {name} must be {allowed.allowed()}, got {value!r}", name)
    if value is None:
        return None
    if allowed.kind == "int":
        return int(value)
    if allowed.kind == "number":
        return float(value)
    if allowed.kind == "seed":
        return None if value is None else int(value)
    if allowed.kind == "bool":
        return bool(value)
    return value


@dataclass(frozen=True)
class Option:
    """One backend option.

    ``type``: the TOML / Python type a sweep file checks (``bool``, ``int``,
    ``float``, ``str``; ``None``: any scalar, left to ``range`` or
    ``check``). ``range``: the allowed values (``None`` when ``check``
    decides or the option is not range-checked, e.g. a memory limit).
    ``check(where, value, checked)``: a custom validator given the options
    checked so far (e.g. PEPS ``chi`` against ``bond_dim``); it runs after
    the plain ones. ``depends_on``: options ``check`` needs; a sweep fills
    missing ones with their defaults. ``solvers``: which of the backend's
    solvers take the option.
    """

    type: type | None
    default: object = None
    doc: str = ""
    range: OptionRange | None = None
    check: Callable | None = None
    depends_on: tuple = ()
    solvers: tuple = _SOLVER_KINDS


@dataclass(frozen=True)
class Backend:
    """A state backend: name, solvers, option schema, feasibility checks, state class (module docstring)."""

    name: str
    state_class: type
    options: Mapping[str, Option] = field(default_factory=dict)
    ground: Callable | None = None
    thermal: Callable | None = None
    check: Callable | None = None
    precheck: Callable | None = None
    ground_state_backend: str | None = None
    thermal_backend: str | None = None
    #: Options a T > 0 run hands to its ``ground_state_backend`` default to this backend's value (or default).
    inherited_options: tuple = ()
    #: ``(ground, thermal)``: ``--method auto`` picks this backend up to these many sites.
    auto_max_sites: tuple | None = None
    #: ``--method auto`` falls back to this backend when no ``auto_max_sites`` backend fits.
    auto_fallback: bool = False
    doc: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Backend: name must be a non-empty string, got {self.name!r}")
        if self.ground is None and self.thermal is None:
            raise ValueError(f"Backend {self.name!r}: give a ground and/or a thermal solver")
        for k, o in self.options.items():
            if not isinstance(o, Option):
                raise ValueError(f"Backend {self.name!r}: option {k!r} must be an Option, got {type(o).__name__}")
            bad = set(o.solvers) - set(_SOLVER_KINDS)
            if bad:
                raise ValueError(f"Backend {self.name!r}: option {k!r} solvers must be in {list(_SOLVER_KINDS)}")

    @property
    def option_ranges(self) -> dict:
        """``{name: OptionRange}`` of the range-checked options (the backend's row of ``OPTION_RANGES``)."""
        return {k: o.range for k, o in self.options.items() if o.range is not None}

    def solver(self, kind: str):
        return self.ground if kind == "ground" else self.thermal

    def options_of(self, kind: str) -> list:
        """Names of the options the ``kind`` solver ("ground" | "thermal") takes."""
        return [k for k, o in self.options.items() if kind in o.solvers]

    def check_options(self, where: str, **values) -> dict:
        """Validate options against the schema; returns them normalised (:class:`OptionError` if not)."""
        out, custom = {}, []
        for name, value in values.items():
            opt = self.options[name]
            if opt.check is not None:
                custom.append(name)
            elif opt.range is not None:
                out[name] = check_option(where, name, value, opt.range)
            else:
                out[name] = value
        for name in custom:
            out[name] = self.options[name].check(where, values[name], out)
        return out


_REGISTRY: dict[str, Backend] = {}
_ORDER: dict[str, tuple] = {}
_loaded = False


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in BUILTIN_MODULES:
        importlib.import_module(mod)


def register_backend(backend: Backend, *, replace: bool = False) -> Backend:
    """Add ``backend`` to the registry; a taken name is a ``ValueError`` unless ``replace``."""
    if not isinstance(backend, Backend):
        raise ValueError(f"register_backend: expected a Backend, got {type(backend).__name__}")
    if backend.name in _REGISTRY and not replace and _REGISTRY[backend.name] is not backend:
        raise ValueError(f"register_backend: a backend named {backend.name!r} is already registered")
    _REGISTRY[backend.name] = backend
    # listing order must not depend on which module happened to be imported first: built-ins in
    # BUILTIN_MODULES order, then the others in registration order
    mod = (backend.ground or backend.thermal).__module__
    rank = BUILTIN_MODULES.index(mod) if mod in BUILTIN_MODULES else len(BUILTIN_MODULES)
    _ORDER.setdefault(backend.name, (rank, len(_ORDER)))
    return backend


def unregister_backend(name: str) -> Backend:
    """Remove and return the backend ``name`` (a ``ValueError`` listing the registered ones if absent)."""
    _load_builtins()
    if name not in _REGISTRY:
        raise ValueError(f"unregister_backend: no backend {name!r}; registered: {backend_names()}")
    _ORDER.pop(name, None)
    return _REGISTRY.pop(name)


def backend_names() -> list:
    """Every registered backend, built-ins first."""
    _load_builtins()
    return sorted(_REGISTRY, key=_ORDER.__getitem__)


def get_backend(name, where: str = "backend", allowed: list | None = None) -> Backend:
    """The registered backend ``name``; a ``ValueError`` naming ``where`` and ``allowed`` if absent."""
    _load_builtins()
    allowed = backend_names() if allowed is None else allowed
    if not isinstance(name, str) or name not in _REGISTRY or name not in allowed:
        raise ValueError(f"{where}: unknown method {name!r}; allowed: {list(allowed)}")
    return _REGISTRY[name]


def ground_methods() -> tuple:
    """Backends with a ground-state solver (``tn.ground_state`` methods)."""
    return tuple(k for k in backend_names() if _REGISTRY[k].ground is not None)


def thermal_methods() -> tuple:
    """Backends with a thermal solver (``tn.thermal_states`` methods)."""
    return tuple(k for k in backend_names() if _REGISTRY[k].thermal is not None)


def sweep_methods() -> tuple:
    """Methods a sweep file (and ``macrobell point --method``) may name: every registered backend."""
    return tuple(backend_names())


def sweep_backends(method: str) -> tuple:
    """``(ground backend, thermal backend)`` serving a sweep of ``method`` at T = 0 and T > 0 (None: none).

    A backend serves the temperatures its own solvers cover; the others go to
    the backend it names in ``ground_state_backend`` / ``thermal_backend``.
    """
    b = get_backend(method)
    g = b if b.ground is not None else (get_backend(b.ground_state_backend) if b.ground_state_backend else None)
    t = b if b.thermal is not None else (get_backend(b.thermal_backend) if b.thermal_backend else None)
    return g, t


def sweep_options(method: str) -> dict:
    """``{option: Option}`` a sweep of ``method`` may set.

    Per distinct serving backend, the options every solver the sweep may call
    takes (an exact sweep calls the ground solver at T = 0 only and the
    thermal one otherwise, so both must take them); the union over backends.
    """
    g, t = sweep_backends(method)
    kinds: dict[str, list] = {}
    order = []
    for b, kind in ((g, "ground"), (t, "thermal")):
        if b is None:
            continue
        if b.name not in kinds:
            order.append(b)
        kinds.setdefault(b.name, []).append(kind)
    out = {}
    for b in order:
        for k, o in b.options.items():
            if all(kind in o.solvers for kind in kinds[b.name]):
                out.setdefault(k, o)
    return out


def options_for(backend: Backend, kind: str, options: Mapping) -> dict:
    """The entries of ``options`` that ``backend``'s ``kind`` solver takes."""
    names = set(backend.options_of(kind))
    return {k: v for k, v in options.items() if k in names}



def solver_defaults(*solvers) -> dict:
    """``{option: default}`` from the solvers' signatures (so a schema never restates a default)."""
    import inspect

    out = {}
    for f in solvers:
        for p in inspect.signature(f).parameters.values():
            if p.default is not inspect.Parameter.empty:
                out.setdefault(p.name, p.default)
    return out
