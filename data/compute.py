"""Work units of a sweep: one group of points (all temperatures of one parameter set).

:func:`compute_group` runs in a worker (a process, a Dask worker or the
driver itself). It takes and returns plain data — dicts, lists, numpy
arrays — so it travels through any executor, and the driver alone writes
the file. One ``thermal_states`` call serves every temperature of a group
(one exact diagonalisation, one imaginary-time evolution); ``dmrg`` groups
are ground states (T = 0) only.
"""

from __future__ import annotations

import time
import warnings
from typing import Mapping

import numpy as np

from .store import to_jsonable
from .sweep import _build_lattice, _build_model, _build_partition

__all__ = ["compute_group", "make_task", "state_diagnostics", "PointError", "NonFiniteResultError"]


class PointError(ValueError):
    """A point failed (e.g. an unphysical effective state); carries the point's parameters."""

    def __init__(self, message: str, params: Mapping | None = None):
        self.params = params
        super().__init__(message)

    def __reduce__(self):  # picklable through process pools / Dask
        return (type(self), (self.args[0], self.params))


def make_task(sweep, group: Mapping, point_ids=None) -> dict:
    """A plain-data task for :func:`compute_group` (optionally only some of the group's points)."""
    by_id = {p.id: p for p in sweep.points}
    ids = [i for i in group["point_ids"] if point_ids is None or i in point_ids]
    return {
        "group": group["group"],
        "lattice": dict(group["lattice"]),
        "model": dict(group["model"]),
        "state": dict(group["state"]),
        "points": [{"id": i, "index": by_id[i].index, "params": by_id[i].params} for i in ids],
        "partitions": [{"name": p["name"], "kind": p["kind"], "args": p["args"]} for p in sweep.partitions],
        "observables": dict(sweep.observables),
    }


def _fmt_warning(w) -> str:
    return f"{w.category.__name__}: {w.message}"


def state_diagnostics(state, method: str) -> dict:
    """The ``/points/<id>/state`` attributes (docs/architecture.md, 'HDF5 layout') from a backend state.

    Read from the state's :class:`~macrobell.tn.state.Diagnostics` record (``state.diagnostics``), no key
    guessing. The keys of before stay, with their meaning: ``backend``, ``method``, ``energy``,
    ``truncation_error`` (= ``discarded_weight``), ``variance`` (= ``energy_variance``), ``max_bond``
    (-1 for dense states), ``converged`` (a state without a solver flag counts as converged), ``T``,
    ``beta``, ``info`` (JSON of ``state.info``). Added: every Diagnostics field by its name
    (``energy_variance``, ``discarded_weight``, ``n_sweeps`` (-1 when it does not apply), ``elapsed_s``,
    ``warnings`` (list of messages); ``energy``, ``max_bond``, ``converged`` as above). Floats that do
    not apply are ``nan``.
    """
    from macrobell.tn.state import Diagnostics

    d = getattr(state, "diagnostics", None)
    if not isinstance(d, Diagnostics):  # a foreign state object: read its info mapping the same way
        d = Diagnostics.from_info(getattr(state, "info", None) or {}, energy=getattr(state, "energy", None))
    T = float(state.temperature)
    energy = float(state.energy) if state.energy is not None else d.energy
    out = {
        "backend": str(getattr(state, "backend", method)),
        "method": method,
        "energy": float(energy),
        "truncation_error": float(d.discarded_weight),
        "variance": float(d.energy_variance),
        "max_bond": -1 if d.max_bond is None else int(d.max_bond),
        "converged": True if d.converged is None else bool(d.converged),
        "T": T,
        "beta": float("inf") if T == 0 else 1.0 / T,
        "info": to_jsonable(state.info if hasattr(state, "info") else d.as_info()),
        "energy_variance": float(d.energy_variance),
        "discarded_weight": float(d.discarded_weight),
        "n_sweeps": -1 if d.n_sweeps is None else int(d.n_sweeps),
        "elapsed_s": float(d.elapsed_s),
        "warnings": list(d.warnings),
    }
    return out


def _split_options(options: Mapping, method: str) -> tuple[dict, dict]:
    """Split a sweep's options into (T = 0 backend's, T > 0 backend's) by their option schemas (tn.registry).

    For ``dmrg`` / ``purification`` sweeps: (DMRG ground-state options, purification options).
    """
    from macrobell.tn import registry

    g, t = registry.sweep_backends(method)
    g_opts = registry.options_for(g, "ground", options) if g is not None else {}
    t_opts = registry.options_for(t, "thermal", options) if t is not None else {}
    return g_opts, t_opts


def _states(model, state_spec: Mapping, temps: list):
    """One backend call for every temperature of the group.

    The registry says which backend serves T = 0 and which T > 0
    (:func:`macrobell.tn.registry.sweep_backends`): a ground-state-only group
    is one ground-state call; otherwise one thermal call serves every
    temperature, handing T = 0 to its ``ground_state_backend`` (DMRG for the
    purification) with that backend's options.
    """
    import macrobell.tn as tn
    from macrobell.tn import registry

    method = state_spec["method"]
    options = {k: v for k, v in state_spec.items() if k != "method"}
    g, t = registry.sweep_backends(method)
    g_opts, t_opts = _split_options(options, method)
    # A ground-state-only group is one ground-state call (exact: Lanczos, no full diagonalisation); T > 0
    # for a backend without a thermal one is refused by the sweep validator.
    if g is not None and (all(x == 0 for x in temps) or t is None):
        return [tn.ground_state(model, method=g.name, **g_opts)] * len(temps)
    if t.ground_state_backend is None or g is t or g is None:
        return list(tn.thermal_states(model, temps, method=t.name, **t_opts))
    # T = 0 by the ground-state backend (with its options), every T > 0 from one thermal run.
    if g_opts:
        for k in t.inherited_options:
            g_opts.setdefault(k, t_opts.get(k, t.options[k].default))
    return list(tn.thermal_states(model, temps, method=t.name, **t_opts, ground_state_options=g_opts or None))


def compute_group(task: Mapping) -> list:
    """Compute every point of a task; returns one record per point (plain data).

    A record has ``id``, ``index``, ``params``, ``elapsed_s``, ``warnings``,
    ``state``, ``partitions`` and ``pairs`` (or None). A failure ends the
    list with ``{"error": message, "error_type": ..., "params": ...}``
    (after the records of the points finished before it), so that it
    crosses process boundaries as data.
    """
    import macrobell.observables as observables

    t0 = time.perf_counter()
    points = task["points"]
    if not points:
        return []
    method = task["state"]["method"]
    try:
        with warnings.catch_warnings(record=True) as shared:
            warnings.simplefilter("always")
            lattice = _build_lattice(task["lattice"])
            model = _build_model(lattice, task["model"])
            partitions = [(p["name"], _build_partition(lattice, p)) for p in task["partitions"]]
            states = _states(model, task["state"], [p["params"]["T"] for p in points])
    except Exception as exc:  # returned as data: the driver raises it with the parameters
        return [_error_record(exc, points[0]["params"], task)]
    shared_warnings = [(_fmt_warning(w), str(w.message)) for w in shared]
    # A warning that a state's own diagnostics record names concerns that temperature alone; the rest all.
    claimed = {m for st in states for m in getattr(getattr(st, "diagnostics", None), "warnings", ())}
    t_state = (time.perf_counter() - t0) / len(points)
    records = []
    M = int(task["observables"].get("M", 1))
    for p, state in zip(points, states):
        t1 = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as own:
                warnings.simplefilter("always")
                diag = state_diagnostics(state, method)
                parts = {}
                for name, part in partitions:
                    eff = observables.effective_state(state, part, M=M, context=p["params"])
                    crit, arrays = _partition_criteria(eff, task["observables"])
                    parts[name] = {"regions": part.region_index(), "T": np.asarray(eff.T, dtype=float),
                                   "rho": np.asarray(eff.rho, dtype=complex), "criteria": crit,
                                   "names": list(part.names), "sizes": list(part.sizes), "arrays": arrays}
                pairs = observables.pair_correlations(state) if task["observables"].get("pairs") else None
                micro = (observables.witnesses.microscopic(state) if task["observables"].get("microscopic")
                         else None)
                _check_finite(diag, parts, pairs)
        except Exception as exc:
            # Keep the points finished so far (they are written), then report this one.
            records.append(_error_record(exc, p["params"], task))
            return records
        warns = [f for f, m in shared_warnings if m in diag["warnings"] or m not in claimed]
        warns += [_fmt_warning(w) for w in own]
        if not diag["converged"]:
            # name the solver that ran (a dmrg sweep's T > 0 points come from the purification)
            info = diag["info"] if isinstance(diag["info"], Mapping) else {}
            solver = info.get("method") or diag["backend"]
            warns.append(f"NotConverged: the {solver} solver did not converge (info: {diag['info']})")
        records.append({"id": p["id"], "index": p["index"], "params": p["params"],
                        "elapsed_s": t_state + time.perf_counter() - t1, "warnings": warns,
                        "state": diag, "partitions": parts,
                        "pairs": None if pairs is None else np.asarray(pairs),
                        **({"microscopic": to_jsonable(micro)} if micro else {})})
    return records


def _partition_criteria(eff, obs: Mapping) -> tuple[dict, dict]:
    """Criteria of one effective state, with the Bell engine's results when ``[observables]`` asks.

    Returns the JSON-able criteria (plus the Bell columns) and the arrays of
    the best violated inequality and its settings (empty when none).
    """
    if "bell_settings" not in obs and not obs.get("lhs"):
        return to_jsonable(eff.criteria()), {}
    from macrobell.observables import bell

    res = bell.decide(eff, settings=obs.get("bell_settings", []) or [], restarts=int(obs.get("bell_restarts", 20)),
                      seed=int(obs.get("bell_seed", 0)), lhs=bool(obs.get("lhs", False)))
    crit = eff.criteria(bell=res["hook"])
    crit.update(res["columns"])
    return to_jsonable(crit), res["arrays"]


class NonFiniteResultError(ValueError):
    """A computed value (energy, T, rho, a criterion, a pair correlator) is nan or infinite."""


#: Criteria that apply to every effective state, to M = 1, and to K = 2, M = 1: there ``nan`` is an error.
#: Elsewhere ``nan`` is the documented "does not apply" value of ``criteria()``; ``inf`` is never valid.
_CRITERIA_ALWAYS = ("negativity", "negativity_cuts", "pt_min_eig")
_CRITERIA_M1 = ("zb_max", "zb_upper")
_CRITERIA_K2_M1 = ("chsh_max", "werner_V", "werner_distance", "concurrence", "sv_max", "monogamy_bound")


def _nonfinite(value) -> bool:
    try:
        a = np.asarray(value)
        return a.dtype.kind in "fc" and not np.isfinite(a).all()
    except (TypeError, ValueError):
        return False


def _check_finite(diag, parts, pairs) -> None:
    """Refuse nan/inf results before they are written, naming the field (the point is added by the caller)."""
    if not np.isfinite(diag["energy"]):
        raise NonFiniteResultError(f"non-finite state energy {diag['energy']!r}")
    for name, part in parts.items():
        for field in ("T", "rho"):
            if _nonfinite(part[field]):
                raise NonFiniteResultError(f"partition {name!r}: the effective state's {field} has non-finite "
                                           "entries (nan or inf)")
        crit = part["criteria"]
        K, M = len(part["sizes"]), int(crit.get("M", 1) or 1)
        must = _CRITERIA_ALWAYS + (_CRITERIA_M1 if M == 1 else ()) + (_CRITERIA_K2_M1 if (K, M) == (2, 1) else ())
        for key, value in crit.items():
            if isinstance(value, (bool, str)) or value is None:
                continue
            bad = _nonfinite(value)
            if bad and key not in must:  # nan means "does not apply" there; only an infinity is wrong
                bad = bool(np.isinf(np.asarray(value, dtype=complex)).any())
            if bad:
                raise NonFiniteResultError(f"partition {name!r}: criterion {key!r} is non-finite ({value!r})")
    if pairs is not None and _nonfinite(pairs):
        raise NonFiniteResultError("pair correlators C[i, j, a, b] have non-finite entries")


def _error_record(exc, params, task) -> dict:
    return {"error": f"{type(exc).__name__}: {exc}", "error_type": type(exc).__name__, "params": params,
            "group": task["group"]}
