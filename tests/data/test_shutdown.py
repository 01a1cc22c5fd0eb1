"""Clean shutdown and worker failure, with real processes and real signals (issue 8).

* Ctrl-C / SIGTERM stop a driver within seconds, even with long tasks in flight;
* no worker outlives its driver, whatever kills the driver (SIGKILL included);
* finished points are kept and ``--resume`` completes exactly the uninterrupted rows;
* a worker killed mid-task costs only a retry; a task whose worker dies on every
  attempt becomes failed-point records while the other tasks complete;
* a Dask scheduler without workers times out with a message naming it.

Processes are found through /proc (Linux), recorded *before* the driver dies
(orphans are re-parented), and count as gone once they no longer exist or are
zombies (exited, not yet reaped by their new parent).
"""

import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from macrobell.data import load, run_sweep
from macrobell.data.executors import (DaskExecutor, ProcessExecutor, WorkerDied, WorkerError, make_executor,
                                      worker_died_records)
from macrobell.data.store import StoreError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks read /proc")

PY = sys.executable
#: Seconds within which an interrupted driver must exit and its workers must be gone.
EXIT_S = 6.0

# The L = 12 group (about 1.5 s) is the first task, so it is still in flight when the small
# L = 6 and L = 8 groups have finished their first point.
SWEEP = """
[lattice]
kind = "chain"
L = [12, 6, 8]
pbc = true
[model]
kind = "heisenberg"
Delta = 1.0
[state]
method = "exact"
temperatures = [0.0, 0.5, 1.0, 2.0]
[[partitions]]
kind = "halves"
"""
N_POINTS = 12

# Worker functions for drivers started as subprocesses (spawned workers import them by module name).
HELPER = '''
import os, time
from pathlib import Path

def sleep_task(arg):
    folder, seconds = arg
    Path(folder, f"started-{os.getpid()}").write_text("")
    time.sleep(seconds)
    return seconds
'''


# --------------------------------------------------------------------------- process helpers


def _stat(pid):
    """(state, ppid) of a process from /proc, or None if it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def _descendants(pid) -> set:
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(st[1], []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pid) -> bool:
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _still_alive_after(pids, seconds) -> set:
    deadline = time.monotonic() + seconds
    while True:
        alive = {p for p in pids if _alive(p)}
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _workers_of(pid) -> set:
    """The multiprocessing workers among the descendants (not the resource tracker)."""
    out = set()
    for p in _descendants(pid):
        try:
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "spawn_main" in cmd:
            out.add(p)
    return out


def _wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _n_finished(path) -> int:
    """Points committed so far: the journal's complete entries while it exists (the HDF5 file is rebuilt
    from it only every ~10 s), else the file's."""
    from macrobell.data.journal import Journal, journal_path

    try:
        j = journal_path(path)
        if j.exists():
            return len(Journal(j).scan()[0])
        return load(path)["point_id"].nunique()
    except (StoreError, OSError, KeyError, ValueError):  # not created yet, or a read overlapping a write
        return 0


def _same_rows(a: pd.DataFrame, b: pd.DataFrame):
    """Rows equal up to timing; floats to 1e-12 (separate processes may round differently)."""
    assert list(a.columns) == list(b.columns)
    a = a.sort_values(["point_id", "partition"]).reset_index(drop=True)
    b = b.sort_values(["point_id", "partition"]).reset_index(drop=True)
    assert len(a) == len(b)
    for c in a.columns:
        if c in ("elapsed_s", "state_elapsed_s"):  # wall times
            continue
        if a[c].dtype.kind == "f":
            np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)
        else:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted serial run of SWEEP."""
    path = tmp_path_factory.mktemp("ref") / "ref.h5"
    run_sweep(SWEEP, path, workers=1, show_progress=False)
    return load(path)


def _start_cli_run(tmp_path, *extra):
    toml = tmp_path / "sweep.toml"
    toml.write_text(SWEEP)
    out = tmp_path / "out.h5"
    proc = subprocess.Popen([PY, "-m", "macrobell.cli", "run", str(toml), "-o", str(out), "--workers", "2", "-q",
                             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, like a shell job
    return proc, out


# --------------------------------------------------------------------------- driver interrupted


# The library leaves SIGTERM at its default (the driver dies at once, like SIGKILL): slow, a duplicate.
@pytest.mark.parametrize("how", ["SIGINT to the process group", pytest.param("SIGTERM", marks=pytest.mark.slow),
                                 "SIGKILL"])
def test_a_driver_with_long_tasks_in_flight_stops_them_within_seconds(tmp_path, how):
    """Two workers sleep in 60 s tasks; the driver and both workers are gone within EXIT_S."""
    (tmp_path / "shutdown_helper.py").write_text(HELPER)
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from macrobell.data.executors import ProcessExecutor
        from shutdown_helper import sleep_task
        try:
            for _ in ProcessExecutor(2).imap(sleep_task, [({str(tmp_path)!r}, 60)] * 3):
                pass
        except KeyboardInterrupt:
            sys.exit(130)
        """)
    proc = subprocess.Popen([PY, "-c", code], stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        started = _wait_for(lambda: [int(p.name.split("-")[1]) for p in tmp_path.glob("started-*")]
                            if len(list(tmp_path.glob("started-*"))) == 2 else None, 60, "two busy workers")
        family = _descendants(proc.pid)
        assert set(started) <= family
        t0 = time.monotonic()
        if how.startswith("SIGINT"):
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C on a terminal does
        else:
            proc.send_signal(getattr(signal, how))
        proc.wait(timeout=60)
        exited = time.monotonic() - t0
        left = _still_alive_after(family, EXIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not left, f"processes outlived their driver: {left}"
    stderr = proc.stderr.read()
    if how.startswith("SIGINT"):
        assert proc.returncode == 130 and exited < EXIT_S, (proc.returncode, exited, stderr)
        assert "Traceback" not in stderr  # workers ignore SIGINT: no KeyboardInterrupt noise from them
    else:
        assert proc.returncode == -getattr(signal, how)


# SIGTERM by default (the CLI turns it into the KeyboardInterrupt path of Ctrl-C); the others are slow.
@pytest.mark.parametrize("how", [pytest.param("SIGINT to the process group", marks=pytest.mark.slow), "SIGTERM",
                                 pytest.param("SIGKILL", marks=pytest.mark.slow)])
def test_an_interrupted_cli_run_keeps_finished_points_and_resumes_exactly(tmp_path, reference, how):
    proc, out = _start_cli_run(tmp_path)
    try:
        seen = _wait_for(lambda: _n_finished(out), 60, "the first finished point")
        family = _descendants(proc.pid)
        assert len(_workers_of(proc.pid)) == 2
        t0 = time.monotonic()
        if how.startswith("SIGINT"):
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(getattr(signal, how))
        proc.wait(timeout=60)
        exited = time.monotonic() - t0
        left = _still_alive_after(family, EXIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read()
    assert not left, f"processes outlived their driver: {left}"
    expected_rc = {"SIGINT": 130, "SIGTERM": 143, "SIGKILL": -signal.SIGKILL}[how.split()[0]]
    assert proc.returncode == expected_rc, stderr
    assert exited < EXIT_S
    if how != "SIGKILL":
        assert "finished points are kept" in stderr and "Traceback" not in stderr, stderr
    kept = load(out)
    n_kept = kept["point_id"].nunique()
    assert seen <= n_kept < N_POINTS  # every point seen finished is still there; the L = 12 group was not
    _same_rows(kept, reference[reference["point_id"].isin(kept["point_id"])])
    s = run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    assert s["computed"] == N_POINTS - n_kept and s["skipped"] == n_kept
    _same_rows(load(out), reference)


# --------------------------------------------------------------------------- workers dying


@pytest.mark.slow  # ~7 s; test_a_task_whose_worker_is_killed_once_is_retried checks the same in-process
def test_workers_killed_mid_task_are_replaced_and_the_run_completes(tmp_path, reference):
    proc, out = _start_cli_run(tmp_path)
    try:
        _wait_for(lambda: _n_finished(out), 60, "the first finished point")
        victims = _workers_of(proc.pid)
        assert len(victims) == 2
        for pid in victims:  # the L = 12 group is in flight on one of them
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    stderr = proc.stderr.read()
    assert proc.returncode == 0, stderr
    assert "was killed by SIGKILL; running it again (retry 1 of 1)" in stderr
    _same_rows(load(out), reference)


def _die_on_first_attempt(task):
    marker = Path(task["marker"])
    if task["die"] and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return {"square": task["x"] ** 2, "pid": os.getpid()}


def _die_on_bad_groups(task):
    with open(task["log"], "a") as f:
        f.write(f"{task['group']}\n")
    if task["group"] == "bad":
        os.kill(os.getpid(), signal.SIGKILL)
    return [{"params": p["params"], "ok": True} for p in task["points"]]


def test_a_task_whose_worker_is_killed_once_is_retried(tmp_path, caplog):
    tasks = [{"x": x, "die": x == 3, "marker": str(tmp_path / f"m{x}")} for x in (1, 2, 3, 4)]
    with caplog.at_level(logging.WARNING, logger="macrobell.data.executors"):
        got = dict(ProcessExecutor(2).imap(_die_on_first_attempt, tasks))
    assert {i: r["square"] for i, r in got.items()} == {0: 1, 1: 4, 2: 9, 3: 16}
    killed_pid = int((tmp_path / "m3").read_text())
    assert got[2]["pid"] != killed_pid  # computed again, by a fresh worker
    assert not _alive(killed_pid)
    assert any("killed by SIGKILL; running it again (retry 1 of 1)" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("retries", [pytest.param(0, marks=pytest.mark.slow), 1])
def test_a_task_whose_worker_dies_every_time_becomes_failed_records(tmp_path, retries):
    log = tmp_path / "attempts"
    tasks = [{"group": g, "log": str(log), "points": [{"params": {"g": g, "T": t}} for t in (0.0, 1.0)]}
             for g in ("good", "bad", "fine")]
    got = dict(ProcessExecutor(2, retries=retries).imap(_die_on_bad_groups, tasks))
    assert got[0] == [{"params": {"g": "good", "T": t}, "ok": True} for t in (0.0, 1.0)]
    assert got[2] == [{"params": {"g": "fine", "T": t}, "ok": True} for t in (0.0, 1.0)]
    failed = got[1]
    assert [r["params"] for r in failed] == [{"g": "bad", "T": 0.0}, {"g": "bad", "T": 1.0}]
    for r in failed:  # the shape of compute.compute_group's error records
        assert set(r) == {"error", "error_type", "params", "group"}
        assert r["error_type"] == "WorkerDied" and r["group"] == "bad"
        assert r["error"].startswith("WorkerDied: ") and "SIGKILL" in r["error"]
    assert log.read_text().split().count("bad") == retries + 1


def test_worker_died_records_need_a_sweep_task():
    task = {"group": 3, "points": [{"params": {"T": 0.5}}]}
    assert worker_died_records(task, "gone") == [
        {"error": "WorkerDied: gone", "error_type": "WorkerDied", "params": {"T": 0.5}, "group": 3}]
    with pytest.raises(WorkerDied, match="gone"):
        worker_died_records(7, "gone")


def test_retry_and_timeout_options_are_validated():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="retries"):
            ProcessExecutor(2, retries=bad)
    for bad in (0, -1.0, "60", True):
        with pytest.raises(ValueError, match="worker_timeout"):
            make_executor(2, worker_timeout=bad)
    with pytest.raises(ValueError, match="context"):
        ProcessExecutor(2, context="telepathy")


# --------------------------------------------------------------------------- Dask without workers


def _sleep(x):
    time.sleep(x)
    return x


@pytest.mark.parametrize("workers", [0, 1])
def test_dask_without_any_worker_times_out_naming_the_scheduler(workers):
    """No worker from the start, or the last one leaves while tasks wait: WorkerError, not a hang."""
    distributed = pytest.importorskip("distributed")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=workers, processes=False, threads_per_worker=1,
                                      dashboard_address=None) as cluster:
            ex = DaskExecutor(cluster.scheduler_address, worker_timeout=1.0)
            t0 = time.monotonic()
            try:
                it = ex.imap(_sleep, [0.0, 2.0, 2.0])
                if workers:
                    assert next(it) == (0, 0.0)
                    cluster.scale(0)
                with pytest.raises(WorkerError, match=re.escape(cluster.scheduler_address) + r" for 1 s"):
                    list(it)
            finally:
                ex.close()
            assert time.monotonic() - t0 < 10


def test_the_cli_restores_the_sigterm_handler(tmp_path):
    """main() treats SIGTERM like Ctrl-C only while it runs (it may be called from a program)."""
    from macrobell.cli import main

    before = signal.getsignal(signal.SIGTERM)
    assert main(["show", str(tmp_path / "missing.h5")]) == 2
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_busy_worker_exits_by_itself_when_its_lifeline_closes():
    """The portable fallback of PR_SET_PDEATHSIG: EOF on the lifeline (as when the driver dies) ends a worker
    in the middle of a task, by its own watchdog (exit status 1), not by a kill from the driver."""
    import multiprocessing as mp

    from macrobell.data.executors import _Worker

    w = _Worker(mp.get_context("spawn"), 1)
    try:
        assert w.conn.recv()[0] == "ready"
        w.conn.send((0, _sleep, 60.0))
        time.sleep(0.2)
        t0 = time.monotonic()
        w.lifeline.close()
        w.proc.join(EXIT_S)
        assert w.proc.exitcode == 1 and time.monotonic() - t0 < EXIT_S
    finally:
        w.stop()
        w.reap(time.monotonic())
