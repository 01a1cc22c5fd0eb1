"""Sweep files: a TOML description of a grid of points, validated before any work.

Format (see also docs/architecture.md)::

    [lattice]
    kind = "chain"            # LATTICE_KINDS; other keys are the factory's arguments
    L = [8, 16, 32]           # a list is a sweep axis ...
    pbc = false               # ... a scalar is fixed
    [model]
    kind = "heisenberg"       # MODEL_KINDS; the other keys are the factory's arguments
    Delta = [0.5, 1.0]
    # couplings per bond group (Lattice.bond_groups; a list inside is a sweep axis, stored as
    # the point parameters "J.leg", "J.rung", i.e. load() columns J.leg, J.rung):
    # J = {leg = 1.0, rung = [0.25, 0.5, 1.0]}
    # or a material preset (macrobell.lattice.materials); then temperature_unit is REQUIRED:
    # material = "CuPzN"
    # temperature_unit = "K"  # "K": T / J_ref is stored as T, the kelvin value as T_K; "J": T in units of J_ref
    # h_tesla = [0.0, 5.0]    # field in tesla -> h = g (mu_B/k_B) B / J_ref[K] (stored as h beside h_tesla)
    [state]
    method = "exact"          # a registered backend (tn.registry): exact | dmrg | purification | peps (T = 0 only)
    temperatures = [0.0, 0.5] # 0 = ground state; never a computation per temperature
    # dmrg / purification: T = 0 by DMRG, all T > 0 from one purification evolution;
    # options (bond_dim, cutoff, tol, max_sweeps, seed, dtau, order) are the backends' arguments,
    # each within the backend's range (its option schema in macrobell.tn.registry)
    [[partitions]]
    kind = "halves"           # PARTITION_KINDS; blocks: K, strips: axis, K; custom: regions table
    [observables]
    pairs = false             # store all pair correlators C[i, j, a, b]
    M = 1                     # body order of the effective state

A top-level ``description = "..."`` is allowed (and ignored by ``--resume``).
The grid is the Cartesian product of every axis (sections in the order
lattice, model, state; lattice and model keys in the order of the factory's
arguments, state options in file order; the last axis fastest), times the
temperatures. Points differing only in temperature form one *group*, computed
by one ``thermal_states`` call (one diagonalisation, one imaginary-time
evolution). Every partition is evaluated on every point's state.

Validation is strict: an unknown section or key, a wrong type, an option
outside its backend's range, a partition name with control characters, an
exact request over the memory limit (refused in O(1), before the lattice is
built) or an impossible value (e.g. ``sublattices`` on an odd ring) raises
:class:`SweepError` naming the section, the key and the allowed values,
before anything is computed or written. Allowed keys come from the
factories' signatures (:data:`~macrobell.lattice.LATTICE_KINDS`,
:data:`~macrobell.lattice.MODEL_KINDS`,
:data:`~macrobell.lattice.PARTITION_KINDS`) and the backends' options, so
they never drift from the code.

No ``eval``, no pickle: files are parsed with :mod:`tomllib`.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping


from ._sweep_checks import SweepError, _err, _fmt
from ._sweep_checks import check_capacity as _check_capacity
from ._sweep_checks import check_name as _check_name
from ._sweep_checks import check_option_ranges as _check_option_ranges
from ._sweep_checks import precheck_size as _precheck_exact_size
from ._toml import TomlWriteError, to_toml

__all__ = ["Sweep", "SweepError", "Point", "METHODS", "point_id", "canonical_json", "to_toml"]

SECTIONS = ("lattice", "model", "state", "partitions", "observables")
TOP_LEVEL_KEYS = ("description",)
OBSERVABLE_KEYS = {"pairs": bool, "M": int, "bell_settings": list, "bell_restarts": int, "bell_seed": int,
                   "lhs": bool, "microscopic": bool}
#: Largest settings count per party a sweep may search (the LP's strategy limit is 2^(K*S) <= 2^20).
MAX_BELL_SETTINGS = 10
TEMPERATURE_UNITS = ("J", "K")
#: Keys of ``[model]`` with a material preset.
MATERIAL_KEYS = ("material", "temperature_unit", "h_tesla")
#: Model arguments that may be a table per bond group (``J = {leg = 1.0, rung = [0.25, 0.5]}``).
PER_GROUP_KEYS = ("J", "J1", "J2", "Delta", "Jx", "Jy", "Jz")

# Backend arguments a sweep file cannot set (they clash with [state] keys or are not scalars).
_RESERVED_OPTIONS = ("method", "temperatures", "verbosity", "ground_state_options")


def __getattr__(name):
    # METHODS: the state methods a sweep may name, read from the backend registry (tn.registry) on each
    # access, so a registered backend is a sweep method without touching this module.
    if name == "METHODS":
        from macrobell.tn import registry

        return registry.sweep_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _typename(t):
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(t, str(t))


def _param_type(p: inspect.Parameter):
    """Python type of a factory argument, from its annotation or default."""
    ann = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", str(p.annotation))
    ann = str(ann)
    if "bool" in ann:
        return bool
    if "int" in ann:
        return int
    if "float" in ann:
        return float
    if isinstance(p.default, bool):
        return bool
    if isinstance(p.default, int):
        return int
    if isinstance(p.default, float):
        return float
    if p.name.startswith("pbc"):
        return bool
    return None  # any TOML value


def _factory_params(func, skip: int = 1) -> dict:
    """``{name: (type, required)}`` of a factory's keyword arguments after the first ``skip``."""
    sig = inspect.signature(func)
    out = {}
    for p in list(sig.parameters.values())[skip:]:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        out[p.name] = (_param_type(p), p.default is inspect.Parameter.empty)
    return out


def _check_scalar(section, key, value, typ):
    """Validate one scalar against ``typ`` and return it normalised (ints given for floats → float)."""
    if typ is None:
        if isinstance(value, (bool, int, float, str)):
            return value
        raise _err(section, key, f"expected a scalar, got {value!r}")
    if typ is bool:
        if not isinstance(value, bool):
            raise _err(section, key, f"expected true or false, got {value!r}")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _err(section, key, f"expected an integer, got {value!r}")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _err(section, key, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise _err(section, key, f"expected a finite number, got {value!r}")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise _err(section, key, f"expected a string, got {value!r}")
        return value
    raise AssertionError(typ)


def _axis(section, key, value, typ) -> list:
    """A value or a list of values (a sweep axis) → non-empty list of validated scalars."""
    if isinstance(value, list):
        if not value:
            raise _err(section, key, "an empty list is not a sweep axis; give at least one value")
        vals = [_check_scalar(section, key, v, typ) for v in value]
        if len({json.dumps(v) for v in vals}) != len(vals):
            raise _err(section, key, f"repeated values in the sweep axis {value!r}")
        return vals
    if isinstance(value, dict):
        raise _err(section, key, f"expected {_typename(typ) if typ else 'a scalar'} or a list, got a table")
    return [_check_scalar(section, key, value, typ)]


def _unknown(section, keys, allowed):
    bad = sorted(set(keys) - set(allowed))
    if bad:
        raise _err(section, bad[0], f"unknown key; allowed keys: {sorted(allowed)}")


def canonical_json(obj) -> str:
    """Compact JSON with sorted keys: the canonical form hashed into point ids."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def point_id(params: Mapping) -> str:
    """Stable id of a point: the first 16 hex digits of sha1 of its canonical JSON parameters."""
    return hashlib.sha1(canonical_json(params).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class Point:
    """One grid point: its position in the grid, id and parameters (JSON-able dict)."""

    index: int
    id: str
    params: dict
    group: int


@dataclass(frozen=True, eq=False)
class Sweep:
    """A validated sweep.

    Attributes
    ----------
    text : str
        The TOML text (as given, or written from the dictionary).
    config : dict
        The normalised configuration (every scalar validated; ``canonical``
        is its JSON, used to recognise the same sweep on ``--resume``).
    points : list of Point
        The grid, temperature fastest.
    groups : list of dict
        Work units: points sharing everything but the temperature.
    partitions : list of dict
        ``{"name", "kind", "args"}`` for every partition evaluated on each point.
    observables : dict
        ``{"pairs": bool, "M": int}``.
    """

    text: str
    config: dict
    points: list = field(repr=False)
    groups: list = field(repr=False)
    partitions: list = field(repr=False)
    observables: dict = field(repr=False)

    # ---- constructors ----------------------------------------------------

    @classmethod
    def from_toml(cls, text: str) -> "Sweep":
        """Parse and validate TOML text."""
        if not isinstance(text, str):
            raise SweepError(f"sweep: expected TOML text, got {type(text).__name__}")
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SweepError(f"sweep file: malformed TOML: {exc}") from None
        except RecursionError:  # tomllib parses nested arrays/tables recursively
            raise SweepError("sweep file: malformed TOML: arrays or inline tables nested too deeply; a sweep "
                             "file needs at most a list of values (or a table of site lists) per key") from None
        return cls._build(raw, text)

    @classmethod
    def from_file(cls, path) -> "Sweep":
        """Read and validate a sweep file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SweepError(f"sweep file {str(p)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SweepError(f"sweep file {str(p)!r} cannot be read: {exc}") from None
        return cls.from_toml(text)

    @classmethod
    def from_dict(cls, config: Mapping) -> "Sweep":
        """Validate a sweep given as a dictionary (same structure as the TOML file)."""
        if not isinstance(config, Mapping):
            raise SweepError(f"sweep: expected a dict, got {type(config).__name__}")
        try:
            text = to_toml(config)
        except TomlWriteError as exc:
            raise SweepError(str(exc)) from None
        except RecursionError:
            raise SweepError("sweep: the dict is nested too deeply; a sweep needs at most a list of values "
                             "(or a table of site lists) per key") from None
        # Round-trip through TOML so that the stored text reproduces exactly this sweep.
        return cls.from_toml(text)

    # ---- properties ------------------------------------------------------

    @property
    def canonical(self) -> str:
        """Canonical JSON of the normalised configuration (what ``--resume`` compares)."""
        return canonical_json(self.config)

    def __len__(self):
        return len(self.points)

    def __repr__(self):
        return (f"Sweep({len(self.points)} points in {len(self.groups)} groups, "
                f"partitions {[p['name'] for p in self.partitions]})")

    def difference(self, other_canonical: str) -> str:
        """Human-readable first difference between this sweep and another canonical JSON."""
        try:
            other = json.loads(other_canonical)
        except (TypeError, ValueError):
            return "the stored sweep description is unreadable"
        for sec in sorted(set(self.config) | set(other)):
            a, b = other.get(sec), self.config.get(sec)
            if a == b:
                continue
            if isinstance(a, dict) and isinstance(b, dict):
                for key in sorted(set(a) | set(b)):
                    if a.get(key) != b.get(key):
                        return f"{sec}.{key}: {a.get(key)!r} in the file vs {b.get(key)!r} in the new sweep"
            return f"{sec}: {a!r} in the file vs {b!r} in the new sweep"
        return "no difference"

    # ---- validation ------------------------------------------------------

    @classmethod
    def _build(cls, raw: dict, text: str) -> "Sweep":
        from macrobell.lattice import LATTICE_KINDS, MODEL_KINDS

        for k, v in raw.items():
            if k in TOP_LEVEL_KEYS:
                if not isinstance(v, str):
                    raise _err(k, None, "expected a string")
                continue
            if k not in SECTIONS:
                raise SweepError(f"sweep file: unknown section or key {k!r}; allowed sections: "
                                 f"{list(SECTIONS)} (and top-level keys {list(TOP_LEVEL_KEYS)})")
        for sec in ("lattice", "model", "state", "partitions"):
            if sec not in raw:
                raise SweepError(f"sweep file: missing section [{sec}]" if sec != "partitions"
                                 else "sweep file: missing [[partitions]] (at least one partition)")
        for sec in ("lattice", "model", "state", "observables"):
            if sec in raw and not isinstance(raw[sec], dict):
                raise _err(sec, None, "expected a table ([" + sec + "])")

        # [model] first: a material fixes the lattice kind.
        model_raw = dict(raw["model"])
        material = None
        unit = model_raw.pop("temperature_unit", None)
        if unit is not None and unit not in TEMPERATURE_UNITS:
            raise _err("model", "temperature_unit", f"got {unit!r}; allowed: {list(TEMPERATURE_UNITS)}")
        if "material" in model_raw:
            from macrobell.lattice import materials as _mat

            name = model_raw.pop("material")
            if not isinstance(name, str) or name not in _mat.MATERIALS:
                raise _err("model", "material", f"unknown material {name!r}; allowed: {sorted(_mat.MATERIALS)}")
            material = _mat.MATERIALS[name]
            if model_raw:
                _unknown("model", model_raw, list(MATERIAL_KEYS))
            if unit is None:
                raise _err("model", "temperature_unit",
                           f"missing: with a material preset ({name!r}) the unit of [state] temperatures must be "
                           f"stated; allowed: {list(TEMPERATURE_UNITS)} ('K': kelvin, converted with J_ref = "
                           f"{material.temperature_scale:g} K; 'J': units of the reference coupling)")
            model_axes = {}
            model_cfg = {"material": name, "temperature_unit": unit}
            if "h_tesla" in model_raw:
                model_axes["h_tesla"] = _axis("model", "h_tesla", model_raw["h_tesla"], float)
                if material.g_factor is None:
                    raise _err("model", "h_tesla", f"material {name!r} has no g-factor to convert tesla; allowed "
                                                   f"for: {sorted(k for k, m in _mat.MATERIALS.items() if m.g_factor)}")
                v = model_axes["h_tesla"]
                model_cfg["h_tesla"] = v if len(v) > 1 else v[0]
        else:
            unit = "J" if unit is None else unit
            if unit != "J":
                raise _err("model", "temperature_unit",
                           "temperatures in kelvin need a material preset ([model] material = ...); "
                           f"allowed materials: {sorted(_mat_names())}")
            kind = model_raw.pop("kind", None)
            if kind is None:
                raise _err("model", "kind", f"missing; allowed: {sorted(MODEL_KINDS)} (or material = ...)")
            if not isinstance(kind, str) or kind not in MODEL_KINDS:
                raise _err("model", "kind", f"unknown model {kind!r}; allowed: {sorted(MODEL_KINDS)}")
            params = _factory_params(MODEL_KINDS[kind])
            _unknown("model", model_raw, ["kind", "temperature_unit", *params])
            model_axes, model_cfg = {}, {"kind": kind, "temperature_unit": unit}
            for k in params:
                if k not in model_raw:
                    continue
                if isinstance(model_raw[k], dict) and k in PER_GROUP_KEYS:
                    model_cfg[k] = {}
                    for grp, v in _group_table(k, model_raw[k]).items():
                        model_axes[f"{k}.{grp}"] = ax = _axis("model", f"{k}.{grp}", v, float)
                        model_cfg[k][grp] = ax if len(ax) > 1 else ax[0]
                    continue
                model_axes[k] = ax = _axis("model", k, model_raw[k], params[k][0])
                model_cfg[k] = ax if len(ax) > 1 else ax[0]

        # [lattice]
        lat_raw = dict(raw["lattice"])
        kind = lat_raw.pop("kind", material.lattice if material else None)
        if kind is None:
            raise _err("lattice", "kind", f"missing; allowed: {sorted(LATTICE_KINDS)}")
        if not isinstance(kind, str) or kind not in LATTICE_KINDS:
            raise _err("lattice", "kind", f"unknown lattice {kind!r}; allowed: {sorted(LATTICE_KINDS)}")
        if material is not None and kind != material.lattice:
            raise _err("lattice", "kind", f"material {material.name!r} lives on a {material.lattice!r} lattice, "
                                          f"got {kind!r}; allowed: [{material.lattice!r}]")
        lparams = _factory_params(LATTICE_KINDS[kind], skip=0)
        _unknown("lattice", lat_raw, ["kind", *lparams])
        missing = [k for k, (_, req) in lparams.items() if req and k not in lat_raw]
        if missing:
            raise _err("lattice", missing[0], f"missing (required by lattice kind {kind!r}); "
                                              f"keys of {kind!r}: {list(lparams)}")
        lat_axes = {k: _axis("lattice", k, lat_raw[k], lparams[k][0]) for k in lparams if k in lat_raw}
        lat_cfg = {"kind": kind, **{k: (v if len(v) > 1 else v[0]) for k, v in lat_axes.items()}}

        # [state]
        st_raw = dict(raw["state"])
        method = st_raw.pop("method", "exact")
        methods = __getattr__("METHODS")
        if not isinstance(method, str) or method not in methods:
            raise _err("state", "method", f"unknown method {method!r}; allowed: {list(methods)}")
        if "temperatures" not in st_raw:
            raise _err("state", "temperatures", "missing; give a list of temperatures >= 0 (0 = ground state)")
        temps = _axis("state", "temperatures", st_raw.pop("temperatures"), float)
        bad = [t for t in temps if t < 0]
        if bad:
            raise _err("state", "temperatures", f"temperatures must be >= 0 (0 = ground state), got {bad}")
        options = _backend_options(method)
        _unknown("state", st_raw, ["method", "temperatures", *options])
        opt_axes = {k: _axis("state", k, v, options[k]) for k, v in st_raw.items()}
        _check_option_ranges(method, opt_axes, temps)
        _check_temperature_support(method, temps)
        st_cfg = {"method": method, "temperatures": temps,
                  **{k: (v if len(v) > 1 else v[0]) for k, v in opt_axes.items()}}

        # [[partitions]]
        partitions = _partitions(raw["partitions"])

        # [observables]
        obs = _observables(raw.get("observables", {}))

        # Grid: lattice x model x options, temperatures innermost.
        axes = ([("lattice", k, v) for k, v in lat_axes.items()] + [("model", k, v) for k, v in model_axes.items()]
                + [("state", k, v) for k, v in opt_axes.items()])
        points, groups = [], []
        scale = material.temperature_scale if (material is not None and unit == "K") else None
        for combo in itertools.product(*[a[2] for a in axes]):
            lat = {"kind": kind}
            mod = {"kind": model_cfg.get("kind")} if material is None else {"material": material.name}
            st = {"method": method}
            for (sec, k, _), v in zip(axes, combo):
                {"lattice": lat, "model": mod, "state": st}[sec][k] = v
            if material is not None and "h_tesla" in mod:
                mod["h"] = material.field(mod["h_tesla"])  # h in units of J_ref, beside its tesla value
            _precheck_exact_size(method, temps, lat)
            lattice = _build_lattice(lat)
            model = _build_model(lattice, mod)
            _check_capacity(method, model, temps, lat)
            for p in partitions:
                _check_bell_size(_build_partition(lattice, p, lat), p, obs)
            g = len(groups)
            ids = []
            for T in temps:
                params = {"lattice": lat, "model": mod, "state": st, "T": (T / scale if scale else T)}
                if scale:
                    params["T_K"] = T
                pid = point_id(params)
                points.append(Point(len(points), pid, params, g))
                ids.append(pid)
            groups.append({"group": g, "lattice": lat, "model": mod, "state": st,
                           "temperatures": [points[i].params["T"] for i in range(len(points) - len(temps), len(points))],
                           "point_ids": ids})
        if len({p.id for p in points}) != len(points):  # pragma: no cover - equal params only
            raise SweepError("sweep file: two grid points have identical parameters")
        config = {"lattice": lat_cfg, "model": model_cfg, "state": st_cfg,
                  "partitions": [{"name": p["name"], "kind": p["kind"], **p["args"]} for p in partitions],
                  "observables": obs}
        return cls(text, config, points, groups, partitions, obs)


def _observables(raw) -> dict:
    """The ``[observables]`` section, normalised.

    ``pairs`` and ``M`` are always present; the Bell-engine keys
    (``bell_settings``, ``bell_restarts``, ``bell_seed``, ``lhs``) and
    ``microscopic`` only when given, so that the canonical form (and the
    point ids) of sweeps written before they existed do not change.
    """
    if not isinstance(raw, dict):
        raise _err("observables", None, "expected a table")
    raw = dict(raw)
    _unknown("observables", raw, list(OBSERVABLE_KEYS))
    obs = {"pairs": False, "M": 1}
    for k, v in raw.items():
        if k == "bell_settings":
            v = [v] if isinstance(v, int) and not isinstance(v, bool) else v
            if (not isinstance(v, list) or not v
                    or not all(isinstance(x, int) and not isinstance(x, bool) and 2 <= x <= MAX_BELL_SETTINGS
                               for x in v)):
                raise _err("observables", k, f"expected an integer or a list of integers in [2, {MAX_BELL_SETTINGS}] "
                                             f"(settings per party), got {v!r}")
            obs[k] = sorted(set(v))
            continue
        obs[k] = _check_scalar("observables", k, v, OBSERVABLE_KEYS[k])
    if obs["M"] < 1:
        raise _err("observables", "M", f"must be an integer >= 1, got {obs['M']}")
    if obs.get("bell_restarts", 1) < 1:
        raise _err("observables", "bell_restarts", f"must be an integer >= 1, got {obs['bell_restarts']}")
    if obs.get("bell_seed", 0) < 0:
        raise _err("observables", "bell_seed", f"must be an integer >= 0, got {obs['bell_seed']}")
    bell = "bell_settings" in obs or obs.get("lhs")
    if bell and obs["M"] != 1:
        raise _err("observables", "bell_settings", f"the Bell engine takes one qubit per region (M = 1), got M = {obs['M']}")
    if ("bell_restarts" in obs or "bell_seed" in obs) and "bell_settings" not in obs:
        raise _err("observables", "bell_settings", "bell_restarts/bell_seed need bell_settings (e.g. [2, 3])")
    return obs


def _check_bell_size(partition, p: Mapping, obs: Mapping) -> None:
    """Refuse searches whose LP would exceed the strategy limit, before any work."""
    from macrobell.observables.bell import MAX_SETTINGS_TOTAL

    S = max(obs.get("bell_settings", [0]))
    K = len(partition.regions)
    if S and K * S > MAX_SETTINGS_TOTAL:
        raise _err(p["section"], "kind", f"partition {p['name']!r} has K = {K} regions: bell_settings up to {S} "
                                         f"needs K*S = {K * S} settings in all, the LP allows {MAX_SETTINGS_TOTAL}; "
                                         f"use bell_settings <= {MAX_SETTINGS_TOTAL // K}")


def _group_table(key, table) -> dict:
    """A per-bond-group table of ``[model]``: group names (no '.') to a number or a list of numbers."""
    if not table:
        raise _err("model", key, "an empty table; give a value per bond group, e.g. {leg = 1.0, rung = 0.5}")
    for grp, v in table.items():
        if not grp or "." in grp or not grp.isprintable():
            raise _err("model", f"{key}.{grp}", "bond group names are non-empty printable names without '.'")
        if isinstance(v, dict):
            raise _err("model", f"{key}.{grp}", "expected a number or a list of numbers, got a table")
    return dict(table)


def _unflatten_groups(spec: Mapping) -> dict:
    """``{"J.leg": 1, "J.rung": 2}`` (point params, one column each) → ``{"J": {"leg": 1, "rung": 2}}``."""
    out = {}
    for k, v in spec.items():
        if "." in k:
            key, grp = k.split(".", 1)
            out.setdefault(key, {})[grp] = v
        else:
            out[k] = v
    return out


def _mat_names():
    try:
        from macrobell.lattice import materials as _mat
        return list(_mat.MATERIALS)
    except ImportError:  # pragma: no cover
        return []


def _backend_options(method: str) -> dict:
    """``{option: type}`` a sweep of ``method`` may set: its backends' option schemas (tn.registry).

    A method whose T = 0 and T > 0 points go to different backends (``dmrg``
    and ``purification``: DMRG ground states, one purification evolution)
    accepts the options of both.
    """
    from macrobell.tn import registry

    return {k: o.type for k, o in registry.sweep_options(method).items() if k not in _RESERVED_OPTIONS}


def _check_temperature_support(method: str, temps) -> None:
    """T > 0 for a method no thermal backend serves is refused, naming the methods that can."""
    from macrobell.tn import registry

    if registry.sweep_backends(method)[1] is not None or all(t == 0 for t in temps):
        return
    # methods with a thermal solver of their own, those without a ground solver first
    alts = sorted(registry.thermal_methods(), key=lambda m: registry.get_backend(m).ground is not None)
    raise _err("state", "temperatures", f"method {method!r} computes ground states only: temperatures must "
                                        f"all be 0 (use method {' or '.join(repr(m) for m in alts)} for T > 0)")


def _partitions(raw) -> list:
    from macrobell.lattice import PARTITION_KINDS

    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise _err("partitions", None, "expected one or more [[partitions]] tables")
    out = []
    for n, entry in enumerate(raw):
        sec = f"partitions #{n + 1}"
        if not isinstance(entry, dict):
            raise _err(sec, None, "expected a table")
        entry = dict(entry)
        kind = entry.pop("kind", None)
        if not isinstance(kind, str) or kind not in PARTITION_KINDS:
            raise _err(sec, "kind", f"unknown partition {kind!r}; allowed: {sorted(PARTITION_KINDS)}")
        name = entry.pop("name", None)
        if name is not None:
            _check_name(sec, "name", name, "partition name")
        if kind == "custom":
            _unknown(sec, entry, ["kind", "name", "regions"])
            regions = entry.get("regions")
            if not isinstance(regions, dict) or len(regions) < 2:
                raise _err(sec, "regions", "expected a table name -> list of sites with at least 2 regions")
            for rname, sites in regions.items():
                _check_name(sec, "regions", rname, "region name")
                if (not isinstance(sites, list) or not sites
                        or not all(isinstance(s, int) and not isinstance(s, bool) for s in sites)):
                    raise _err(sec, f"regions.{rname}", f"expected a non-empty list of site indices, got {sites!r}")
            out.append({"name": name or "custom", "kind": kind, "args": {"regions": regions}, "section": sec})
            continue
        params = _factory_params(PARTITION_KINDS[kind])
        _unknown(sec, entry, ["kind", "name", *params])
        axes = {k: _axis(sec, k, v, params[k][0]) for k, v in entry.items()}
        for combo in itertools.product(*axes.values()):
            args = dict(zip(axes, combo))
            label = name or "_".join([kind] + [f"{k}{v}" for k, v in args.items()])
            if name and len(list(itertools.product(*axes.values()))) > 1:
                label = "_".join([name] + [f"{k}{v}" for k, v in args.items()])
            out.append({"name": label, "kind": kind, "args": args, "section": sec})
    names = [p["name"] for p in out]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise _err("partitions", "name", f"partition names must be unique, got {dup} more than once; "
                                         "give each a distinct name = \"...\"")
    return out


# --------------------------------------------------------------------------- builders (also used by workers)


def _build_lattice(spec: Mapping):
    from macrobell.lattice import LATTICE_KINDS

    args = {k: v for k, v in spec.items() if k != "kind"}
    try:
        return LATTICE_KINDS[spec["kind"]](**args)
    except Exception as exc:  # any refusal of a factory is a sweep error, never a crash
        raise _err("lattice", None, f"{_fmt(spec)}: {exc}") from None


def _build_model(lattice, spec: Mapping):
    from macrobell.lattice import MODEL_KINDS

    try:
        if "material" in spec:
            from macrobell.lattice import materials as _mat
            return _mat.MATERIALS[spec["material"]].model(lattice, h=spec.get("h", 0.0))
        args = _unflatten_groups({k: v for k, v in spec.items() if k != "kind"})
        return MODEL_KINDS[spec["kind"]](lattice, **args)
    except Exception as exc:  # any refusal of a factory is a sweep error, never a crash
        raise _err("model", None, f"{_fmt(spec)} on lattice {lattice.name!r} {lattice.params}: {exc}") from None


def _build_partition(lattice, p: Mapping, lat_spec: Mapping | None = None):
    from macrobell.lattice import PARTITION_KINDS

    try:
        part = PARTITION_KINDS[p["kind"]](lattice, **p["args"])
    except Exception as exc:  # any refusal of a factory is a sweep error, never a crash
        raise _err(p.get("section", "partitions"), None,
                   f"partition {p['name']!r} on lattice {_fmt(lat_spec or lattice.params)}: {exc}") from None
    return part
