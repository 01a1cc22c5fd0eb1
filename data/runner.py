"""Run a sweep into an HDF5 store: validate, plan, execute, journal (driver only), resume.

Order of events in :func:`run_sweep`:

1. the sweep is validated completely (a :class:`~.sweep.SweepError` leaves
   no file behind), and so are the executor options;
2. a new store is created (journal ``OUT.h5.journal/`` and an empty
   ``OUT.h5``) — existing output is an error unless ``resume=True``, which
   checks that it was made by the same sweep (the refusal says what
   differs), keeps every intact point and plans only the others;
3. groups (all temperatures of one parameter set) go to the executor;
4. the driver commits each returned point to the journal (atomically) and
   rebuilds ``OUT.h5`` from it now and then and at the end.

A point that fails (an executor's error record, e.g. an unphysical
effective state) is recorded as failed — not complete, so ``resume``
recomputes it — and the run goes on; the failures are listed in the
summary's ``failed``. A kill at any moment loses at most the points in
flight; a full disk stops the run with a :class:`~.store.StoreError` that
says so, every finished point kept.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from pathlib import Path

from macrobell._threads import pin_threads

from .compute import compute_group, make_task
from .executors import make_executor, progress
from .store import StoreError, create_store, resume_store
from .sweep import Sweep, SweepError, point_id

__all__ = ["run_sweep", "as_sweep", "point_costs", "inline_ok", "INLINE_MAX_SITES",
           "INLINE_SERIAL_TASKS"]

_log = logging.getLogger(__name__)

#: Modelled cost of one point's observables, criteria and bookkeeping, in the units of the state costs
#: (~flops): about 0.1 s of one core, measured order of magnitude for the criteria of an effective state.
POINT_OVERHEAD = 2e9
#: Bond dimensions and steps the cost model assumes when the sweep leaves them to the backend's default.
_DEFAULT_CHI = {"dmrg": 128, "purification": 64, "peps": 4}
_DMRG_SWEEPS = 10
_PEPS_STEPS = 400  # 4 tau stages × 100 steps (tn.peps defaults)


#: Exact groups of at most this many sites may be computed by the driver itself while the worker pool
#: starts (``ProcessExecutor.imap(inline=...)``). Measured (2 busy cores, halves + sublattices, a whole
#: group): 6 sites 11-35 ms, 8 sites ~30 ms, 10 sites 80-300 ms, 12 sites at three temperatures 1.2 s — a
#: worker takes ~1 s to start, so up to 8 sites the driver finishes tens of such groups meanwhile.
INLINE_MAX_SITES = 8
#: With the default worker count, a sweep of at most this many such groups runs serially in the driver.
#: Measured (benchmarks/bench_sweep_overhead.py, 6-site points, busy 2-core machine): a tiny point costs the
#: worker ~8 ms but the driver ~20 ms (journal commit with fsync, HDF5 rebuilds, final file), so workers
#: cannot speed such a sweep up: 144 points took 30 ms/point serially, 44-56 ms/point with 2 workers.
INLINE_SERIAL_TASKS = 1000


def _n_sites(lattice_spec) -> int:
    # A plan asks for the size of each task several times (sort key, costs, inline): build each lattice once.
    try:
        key = json.dumps(lattice_spec, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return _n_sites_uncached(lattice_spec)
    return _n_sites_cached(key)


@functools.lru_cache(maxsize=1024)
def _n_sites_cached(key: str) -> int:
    return _n_sites_uncached(json.loads(key))


def _n_sites_uncached(lattice_spec) -> int:
    from .sweep import _build_lattice

    try:
        return int(_build_lattice(lattice_spec).n_sites)
    except Exception:  # noqa: BLE001 - a cost estimate only; the computation reports bad lattices
        return 16


def inline_ok(task) -> bool:
    """Whether the driver may compute ``task`` itself while workers start: an exact group of at most
    :data:`INLINE_MAX_SITES` sites (tens of ms; it cannot run long or exhaust memory)."""
    return task["state"].get("method") == "exact" and _n_sites(task["lattice"]) <= INLINE_MAX_SITES


def point_costs(task) -> list:
    """Modelled cost (≈ flops) of each point of a sweep task, for the ETA.

    A deliberately simple model, per group (one state computation serves
    every temperature): exact ground states ``N·2^N`` (Lanczos), exact
    thermal states ``(2^N)^3`` (full diagonalisation); DMRG ``N·χ³`` per
    sweep; purification ``N·(dχ)³`` per Trotter step (``d = 2``: the
    ancilla doubles the physical leg) for ``β_max/dτ`` steps, plus DMRG for
    T = 0; PEPS ``N·D⁶`` per simple-update step. The group's cost is shared
    equally by its points, each adding :data:`POINT_OVERHEAD`.
    """
    points = task["points"]
    if not points:
        return []
    state = task["state"]
    method = state["method"]
    n = _n_sites(task["lattice"])
    temps = [float(p["params"]["T"]) for p in points]
    chi = float(state.get("bond_dim", _DEFAULT_CHI.get(method, 64)))
    if method == "exact":
        dim = 2.0 ** min(n, 60)
        cost = dim ** 3 if any(t > 0 for t in temps) else n * dim
    elif method == "peps":
        cost = n * chi ** 6 * _PEPS_STEPS
    else:
        cost = 0.0
        if any(t == 0 for t in temps):
            cost += n * chi ** 3 * _DMRG_SWEEPS
        finite = [t for t in temps if t > 0]
        if finite:
            steps = math.ceil(1.0 / min(finite) / 2 / float(state.get("dtau", 0.05)))
            cost += n * (2 * chi) ** 3 * steps
    return [cost / len(points) + POINT_OVERHEAD] * len(points)


def as_sweep(sweep) -> Sweep:
    """Accept a :class:`Sweep`, a dict, TOML text or a path to a ``.toml`` file."""
    if isinstance(sweep, Sweep):
        return sweep
    if isinstance(sweep, dict):
        return Sweep.from_dict(sweep)
    if isinstance(sweep, Path):
        return Sweep.from_file(sweep)
    if isinstance(sweep, str):
        if "\n" not in sweep and sweep.strip().endswith(".toml"):
            return Sweep.from_file(sweep)
        return Sweep.from_toml(sweep)
    raise SweepError(f"sweep: expected a Sweep, a dict, TOML text or a path, got {type(sweep).__name__}")


def run_sweep(sweep, out_path, workers: int | None = None, scheduler=None, resume: bool = False,
              threads: int | None = None, show_progress: bool | None = True) -> dict:
    """Compute every point of ``sweep`` into the HDF5 file ``out_path``.

    Parameters
    ----------
    sweep : Sweep, dict, str or Path
        The sweep (TOML text or a file path are validated here).
    out_path : str or Path
        The output file. Neither it nor its journal ``OUT.h5.journal`` may
        exist unless ``resume``.
    workers : int, optional
        Local worker processes (default: the core count; 1 = serial, in this process).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address: run on that cluster instead of local processes.
    resume : bool
        Finish an interrupted or partly failed run of the same sweep
        (recompute missing, failed or damaged points only).
    threads : int, optional
        BLAS/numba threads per worker (default 1).
    show_progress : bool
        Progress bar / log lines on stderr.

    Returns
    -------
    dict
        ``{"path", "n_points", "computed", "skipped", "warnings", "failed", "deferred"}``:
        ``failed`` lists ``{"id", "params", "error", "error_type"}`` of the
        points that failed (recorded, recomputed by a resume); ``deferred`` is
        ``None`` or why the final HDF5 file could not be written yet (the
        points are safe in the journal).
    """
    pin_threads()  # first: a bad $MACROBELL_THREADS fails before any file exists
    sweep = as_sweep(sweep)
    out = Path(out_path)
    if not out.parent.exists():
        raise StoreError(f"output directory {str(out.parent)!r} does not exist")

    def plan(done):
        tasks = [make_task(sweep, g, {i for i in g["point_ids"] if i not in done})
                 for g in sweep.groups if any(i not in done for i in g["point_ids"])]
        # Most expensive groups first (longest-processing-time scheduling): the largest points no longer
        # set the critical path at the end of a parallel run. Results are keyed by point id, so the
        # order of the work never changes the file.
        return sorted(tasks, key=lambda t: -sum(point_costs(t)))

    def executor_for(tasks):
        # A single work unit gains nothing from a process pool (and would pay its start-up); neither do
        # tiny ones, whose cost is the driver's store work per point, not the computation (INLINE_SERIAL_TASKS).
        tiny = len(tasks) <= INLINE_SERIAL_TASKS and all(inline_ok(t) for t in tasks)
        serial = workers is None and scheduler is None and (len(tasks) <= 1 or tiny)
        return make_executor(1 if serial else workers, scheduler, threads)

    store = executor = None
    try:
        if resume and (out.exists() or out.with_name(out.name + ".journal").exists()):
            store, done = resume_store(out, sweep)
            tasks = plan(done)
            executor = executor_for(tasks)
        else:
            done, tasks = set(), plan(set())
            executor = executor_for(tasks)  # bad options fail before any file exists
            store = create_store(out, sweep)
    except BaseException:
        if executor is not None:
            executor.close()
        if store is not None:
            store.close()
        raise
    summary = {"path": str(out), "n_points": len(sweep.points), "computed": 0, "skipped": len(done),
               "warnings": 0, "failed": [], "deferred": None}
    costs = {p["id"]: c for t in tasks for p, c in zip(t["points"], point_costs(t))}
    bar = progress(len(costs), desc=f"macrobell {out.name}", enabled=show_progress,
                   total_cost=sum(costs.values()))
    task_cost = [sum(costs[p["id"]] for p in t["points"]) for t in tasks]
    pending = list(range(len(tasks)))  # a pool hands out tasks in this order
    workers = int(getattr(executor, "workers", 1) or 1)
    try:
        for i, records in executor.imap(compute_group, tasks, inline=[inline_ok(t) for t in tasks]):
            pending.remove(i)
            # The worker that returned task i starts a fresh one; the other workers' tasks are, on
            # average, half done: credit that, or parallel runs get an ETA workers-times too long.
            bar.in_flight(0.5 * sum(task_cost[j] for j in pending[:workers - 1]))
            bar.parallel = max(1, min(workers, len(pending)))
            _commit(store, tasks[i], records, summary, bar, costs)
            store.rebuild()  # when due: readers see progress without rebuilding at every point
        bar.close()
        if not store.finish():
            summary["deferred"] = store.deferred
    except BaseException as exc:
        if not isinstance(exc, StoreError):  # Ctrl-C, a dead worker …: let readers see every finished point
            _best_effort(store.sync_journal)
            _best_effort(store.rebuild, force=True)
        raise
    finally:
        bar.close()
        executor.close()
        store.close()
    return summary


def _commit(store, task, records, summary, bar, costs=None) -> None:
    """Journal the records of one task; every point of it without a result is recorded as failed."""
    costs = costs or {}
    errors = []
    for rec in records:
        if "error" in rec:
            errors.append(rec)
            continue
        store.write_point(rec, rebuild=False)
        summary["computed"] += 1
        summary["warnings"] += len(rec["warnings"])
        for w in rec["warnings"]:  # as they happen, each with the point (temperature) it concerns
            bar.warn(f"{_fmt_params(rec['params'])}: {w}")
        bar.update(1, note=_fmt_params(rec["params"]), cost=costs.get(rec["id"]), seconds=rec.get("elapsed_s"))
        _log.debug("point %s done, ETA %.1f s", rec["id"], getattr(bar, "eta", float("nan")),
                   extra={"point_id": rec["id"], "eta_s": getattr(bar, "eta", float("nan"))})
    done = {rec["id"] for rec in records if "error" not in rec}
    by_id = {e.get("id") or _safe_id(e.get("params")): e for e in errors}
    first = errors[0] if errors else {"error": "no result was returned for it", "error_type": "MissingResult",
                                      "params": None}
    for p in task["points"]:
        if p["id"] in done:
            continue
        e = by_id.get(p["id"])
        if e is None:  # a later point of a group whose computation stopped at an earlier one
            where = f" at {_fmt_params(first['params'])}" if first.get("params") else ""
            e = {"error": f"not computed: its group failed{where}: {first['error']}",
                 "error_type": first.get("error_type", "")}
        info = {"params": p["params"], "index": p["index"], "error": str(e["error"]),
                "error_type": str(e.get("error_type", ""))}
        store.write_failed(p["id"], info)
        summary["failed"].append({"id": p["id"], **info})
        bar.update(1, note=f"FAILED {_fmt_params(p['params'])}", cost=costs.get(p["id"]))


def _best_effort(fn, **kw):
    try:
        fn(**kw)
    except Exception:  # noqa: BLE001 - the points are in the journal whatever happens here
        pass


def _safe_id(params):
    try:
        return point_id(params) if params is not None else None
    except (TypeError, ValueError):
        return None


def _fmt_params(params) -> str:
    parts = []
    for sec in ("lattice", "model", "state"):
        for k, v in params.get(sec, {}).items():
            parts.append(f"{sec if k == 'kind' else k}={v}" if k != "method" else f"method={v}")
    parts.append(f"T={params.get('T')}")
    if "T_K" in params:
        parts.append(f"T_K={params['T_K']}")
    return " ".join(parts)
