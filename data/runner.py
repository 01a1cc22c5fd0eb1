"""Run a sweep into an HDF5 store: validate, plan, execute, write (driver only), resume.

Order of events in :func:`run_sweep`:

1. the sweep is validated completely (a :class:`~.sweep.SweepError` leaves
   no file behind);
2. a new output file is created — an existing one is an error unless
   ``resume=True``, which checks that the file was made by the same sweep
   (same canonical configuration; the refusal says what differs), deletes
   incomplete point groups and plans only the missing points;
3. groups (all temperatures of one parameter set) go to the executor;
4. the driver writes each returned point, flushes, marks it complete.

A point that fails (e.g. an unphysical effective state) stops the run with
a :class:`~.compute.PointError` carrying the point's parameters; every
point written before stays complete, so ``resume`` continues from there.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from macrobell._threads import pin_threads

from .compute import PointError, compute_group, make_task
from .executors import make_executor, progress
from .store import StoreError, create_store, open_store
from .sweep import Sweep, SweepError

__all__ = ["run_sweep", "as_sweep", "KILL_AFTER_ENV", "KILL_MIDWRITE_ENV"]

#: Test hook: SIGKILL the driver right after this many points were written.
KILL_AFTER_ENV = "MACROBELL_TEST_KILL_AFTER"
#: Test hook: SIGKILL the driver while writing point number k+1 (data flushed, not marked complete).
KILL_MIDWRITE_ENV = "MACROBELL_TEST_KILL_MIDWRITE"


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


def _env_int(name):
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else None


def run_sweep(sweep, out_path, workers: int | None = None, scheduler=None, resume: bool = False,
              threads: int | None = None, show_progress: bool | None = True) -> dict:
    """Compute every point of ``sweep`` into the HDF5 file ``out_path``.

    Parameters
    ----------
    sweep : Sweep, dict, str or Path
        The sweep (TOML text or a file path are validated here).
    out_path : str or Path
        The output file. Must not exist unless ``resume``.
    workers : int, optional
        Local worker processes (default: the core count; 1 = serial, in this process).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address: run on that cluster instead of local processes.
    resume : bool
        Finish an existing file of the same sweep (recompute missing or
        incomplete points only).
    threads : int, optional
        BLAS/numba threads per worker (default 1).
    show_progress : bool
        Progress bar / log lines on stderr.

    Returns
    -------
    dict
        ``{"path", "n_points", "computed", "skipped", "warnings"}``.
    """
    pin_threads()  # first: a bad $MACROBELL_THREADS fails before any file exists
    sweep = as_sweep(sweep)
    out = Path(out_path)
    if resume and out.exists():
        store = open_store(out)
        stored = store.sweep_canonical()
        if stored != sweep.canonical:
            raise StoreError(f"refusing to resume {str(out)!r}: it was made by a different sweep "
                             f"({sweep.difference(stored)})")
        done = store.complete_ids()
    else:
        if out.exists():
            raise StoreError(f"output file {str(out)!r} already exists; pass --resume to finish it "
                             "(it must come from the same sweep), or choose another name")
        if not out.parent.exists():
            raise StoreError(f"output directory {str(out.parent)!r} does not exist")
        store, done = None, set()

    tasks = []
    for g in sweep.groups:
        todo = [i for i in g["point_ids"] if i not in done]
        if todo:
            tasks.append(make_task(sweep, g, set(todo)))
    n_todo = sum(len(t["points"]) for t in tasks)
    # A single work unit gains nothing from a process pool (and would pay its start-up).
    if workers is None and scheduler is None and len(tasks) <= 1:
        workers = 1
    executor = make_executor(workers, scheduler, threads)  # bad options fail before any file exists
    try:
        if store is None:
            store = create_store(out, sweep)
        else:
            store.delete_incomplete()
    except BaseException:
        executor.close()
        raise
    summary = {"path": str(out), "n_points": len(sweep.points), "computed": 0, "skipped": len(done),
               "warnings": 0}
    if not tasks:
        executor.close()
        return summary

    kill_after, kill_mid = _env_int(KILL_AFTER_ENV), _env_int(KILL_MIDWRITE_ENV)
    bar = progress(n_todo, desc=f"macrobell {out.name}", enabled=show_progress)
    try:
        for _, records in executor.imap(compute_group, tasks):
            for rec in records:
                if "error" in rec:
                    raise PointError(f"point {_fmt_params(rec['params'])} failed: {rec['error']}", rec["params"])
                mid = kill_mid is not None and summary["computed"] == kill_mid
                store.write_point(rec, _kill_before_complete=mid)
                summary["computed"] += 1
                summary["warnings"] += len(rec["warnings"])
                bar.update(1, note=_fmt_params(rec["params"]))
                if kill_after is not None and summary["computed"] >= kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)
    finally:
        bar.close()
        executor.close()
    return summary


def _fmt_params(params) -> str:
    parts = []
    for sec in ("lattice", "model", "state"):
        for k, v in params.get(sec, {}).items():
            parts.append(f"{sec if k == 'kind' else k}={v}" if k != "method" else f"method={v}")
    parts.append(f"T={params.get('T')}")
    if "T_K" in params:
        parts.append(f"T_K={params['T_K']}")
    return " ".join(parts)
