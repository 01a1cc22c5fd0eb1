"""Executors for sweep groups: serial, local processes, Dask distributed.

All three expose ``imap(fn, tasks, failed=None)``: an iterator of
``(task_index, result)`` in completion order. Tasks and results are plain
data; the driver process consumes the iterator and is the only writer of the
HDF5 file.

* :class:`SerialExecutor` — in the calling process.
* :class:`ProcessExecutor` — a small pool of ``multiprocessing`` processes
  (``spawn`` start method: no fork of a process that holds HDF5 handles or
  BLAS thread pools), one duplex pipe per worker; each worker pins
  BLAS/numba to ``threads`` threads (default 1,
  docs/architecture.md, 'Threads and processes') before its first
  task. A worker needs ~1 s to start (spawn, imports), longer than a tiny
  point takes: tasks the caller marks ``inline`` (the sweep runner: exact
  groups of a few sites) are computed by the driver itself while no worker
  is ready.
* :class:`DaskExecutor` — a ``distributed.Client`` connected to a running
  scheduler (``--scheduler ADDRESS``); Dask is imported lazily, only here.
  Tasks travel by reference to :func:`macrobell.data.compute.compute_group`,
  so the Dask workers need macrobell installed (same version).

Shutdown and worker failure (the contract of the process pool):

* ``close()`` — and leaving ``imap`` early, by an exception such as
  ``KeyboardInterrupt`` or by closing the generator — stops every worker
  within about a second, whatever it is computing. Results not yet handed
  to the driver are dropped; a resumed sweep recomputes exactly those.
* No worker outlives its driver: each one asks the Linux kernel for
  ``SIGKILL`` when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and on
  every platform a watchdog thread exits the worker as soon as the driver's
  end of a "lifeline" pipe closes (which the kernel does when the driver
  dies, even by ``SIGKILL``). Workers ignore ``SIGINT``: a Ctrl-C on a
  terminal reaches the whole process group, and the driver alone decides.
* A worker that dies (out-of-memory killer, segfault, ``SIGKILL``) costs only
  its task: the task is retried ``retries`` times (default 1) on a fresh
  worker, then reported through ``failed(task, message)`` — for sweep tasks,
  one ``{"error", "error_type": "WorkerDied", "params", "group"}`` record per
  point, the shape of the records :func:`~.compute.compute_group` returns
  for failed points — and the run goes on.
* Dask: a scheduler without any worker for ``worker_timeout`` seconds
  (default 60) raises :class:`WorkerError` naming the scheduler address,
  instead of waiting forever; a task whose workers Dask saw die too often
  (``KilledWorker``) is reported through ``failed`` like a dead local worker.

:func:`progress` gives a tqdm bar on a terminal and plain lines otherwise:
points done, an ETA weighted by a cost model, warnings as they arrive.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import wait as _wait_ready
from typing import Callable, Iterator

from ._progress import progress
from .compute import _error_record

__all__ = ["WorkerError", "WorkerDied", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "make_executor",
           "progress", "default_workers", "worker_died_records"]

_log = logging.getLogger(__name__)

#: Linux ``prctl`` option: signal to deliver to this process when its parent dies (<linux/prctl.h>).
_PR_SET_PDEATHSIG = 1
#: Workers that die before they are ready, in a row and before any task succeeded, mean a broken start-up.
_MAX_STARTUP_FAILURES = 3
#: Seconds ``close()`` waits for workers to exit by themselves before it kills them.
_EXIT_GRACE_S = 1.0
_SCRIPT_HINT = ("when calling run_sweep from a script, guard the call with `if __name__ == '__main__':` "
                "(spawned workers re-import the main module)")


class WorkerError(RuntimeError):
    """The workers cannot run the tasks (they die at start-up, or a Dask cluster has no worker left)."""


class WorkerDied(WorkerError):
    """A worker process died while it computed a task (killed, out of memory, a crash)."""


def default_workers() -> int:
    """Number of usable cores (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_died_records(task, message: str) -> list:
    """One failed-point record per point of a sweep task whose worker died.

    Same shape as the error records of :func:`~.compute.compute_group`
    (``error``, ``error_type`` = ``"WorkerDied"``, ``params``, ``group``), so
    the driver handles them like any other failed point. A task that is not
    a sweep task (no ``"points"``) has no records to stand for it: this
    raises :class:`WorkerDied` instead.
    """
    if not isinstance(task, dict) or "points" not in task:
        raise WorkerDied(message)
    exc = WorkerDied(message)
    return [_error_record(exc, p["params"], task) for p in task["points"]]


def _init_worker(threads: int):
    from macrobell._threads import set_threads

    set_threads(threads)


def _pinned_call(fn, task, threads):
    """Run ``fn(task)`` with BLAS/numba pinned (used on Dask workers)."""
    from macrobell._threads import set_threads

    set_threads(threads)
    return fn(task)


# --------------------------------------------------------------------------- worker side


def _die_with_parent(parent_pid: int, lifeline) -> None:
    """Make this worker exit when the driver dies, however it dies."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            # SIGKILL is safe: workers hold no file, the driver alone writes.
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl; the lifeline still works
            pass
    if os.getppid() != parent_pid:  # the driver died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_lifeline, args=(lifeline,), name="macrobell-lifeline", daemon=True).start()


def _watch_lifeline(lifeline) -> None:
    # The driver never writes to the lifeline: it becomes readable only at EOF, when the driver's end
    # closes (close(), or the kernel closing the descriptors of a dead driver).
    try:
        lifeline.poll(None)
    except (OSError, EOFError, ValueError):
        pass
    os._exit(1)


#: Record attributes that travel with a forwarded log record (the solvers' numbers, see macrobell._logging).
_LOG_FIELDS = ("solver", "sweep", "energy", "max_bond", "bond_dim", "beta", "tau", "temperature")


class _PipeLogHandler(logging.Handler):
    """Worker side: send macrobell's log records to the driver through the task pipe."""

    def __init__(self, conn, level):
        super().__init__(level)
        self.conn = conn

    def emit(self, record):
        try:
            fields = {k: getattr(record, k) for k in _LOG_FIELDS if hasattr(record, k)}
            self.conn.send(("log", os.getpid(), (record.name, record.levelno, record.getMessage(), fields)))
        except Exception:  # noqa: BLE001 - progress lines must never break a computation
            pass


def _relay_log(pid, payload) -> None:
    """Driver side: re-issue a worker's record on the driver's logger of the same name."""
    name, level, message, fields = payload
    logger = logging.getLogger(name)
    if logger.isEnabledFor(level):
        logger.handle(logging.makeLogRecord({"name": name, "levelno": level, "levelname": logging.getLevelName(level),
                                             "msg": message, "args": None, "worker_pid": pid, **fields}))


def _worker_main(conn, lifeline, parent_pid: int, threads: int, log_level=None) -> None:
    """Worker loop: receive ``(index, fn, task)``, send ``(index, "ok"|"exc", payload)``; ``None`` stops.

    With ``log_level`` the records of the ``macrobell`` loggers at that level and above are sent as
    ``("log", pid, record)`` messages in between (solver progress, shown live by the driver).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid, lifeline)
    _init_worker(threads)
    if log_level is not None:
        root = logging.getLogger("macrobell")
        root.addHandler(_PipeLogHandler(conn, log_level))
        root.setLevel(log_level)
        root.propagate = False  # the driver's handlers show it; nothing on the worker's own stderr
    conn.send(("ready", os.getpid(), None))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        index, fn, task = msg
        try:
            reply = (index, "ok", fn(task))
        except Exception as exc:  # raised again in the driver, like concurrent.futures does
            reply = (index, "exc", exc)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # an unpicklable result or exception: say so instead of hanging
            conn.send((index, "exc", RuntimeError(f"cannot send the result of task {index} back to the "
                                                  f"driver: {type(exc).__name__}: {exc}")))


# --------------------------------------------------------------------------- driver side


def _describe_exit(code) -> str:
    if code is None:
        return "exited"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class _Worker:
    """Driver-side handle of one worker process: the process, its task pipe, its lifeline."""

    def __init__(self, ctx, threads: int, log_level=None):
        self.conn, child_conn = ctx.Pipe(duplex=True)
        life_r, self.lifeline = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_worker_main, args=(child_conn, life_r, os.getpid(), threads, log_level),
                                name="macrobell-worker", daemon=True)
        self.proc.start()
        self.pid, self.exitcode = self.proc.pid, None
        # Keep only the driver's ends: a worker must never hold the far end of its own pipes, or it
        # cannot notice the driver's death.
        child_conn.close()
        life_r.close()
        self.ready = False
        self.task = None  # index of the task it computes

    def stop(self):
        """Close the lifeline (the worker exits at once, even mid-task) and the task pipe."""
        for c in (self.lifeline, self.conn):
            try:
                c.close()
            except OSError:  # pragma: no cover
                pass

    def reap(self, deadline: float):
        p = self.proc
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(1.0)
        self.exitcode = p.exitcode
        if self.exitcode is not None:
            p.close()


class ProcessExecutor:
    """A pool of ``workers`` local processes (spawn start method), one BLAS thread each by default.

    Parameters
    ----------
    workers : int, optional
        Number of processes (default: the usable cores).
    threads : int, optional
        BLAS/numba threads per worker (default 1).
    context : str
        ``multiprocessing`` start method (default ``"spawn"``; ``"fork"`` is
        unsafe with HDF5 handles and BLAS pools).
    retries : int
        How many times a task whose worker died is run again on a fresh
        worker before it is reported as failed (default 1).

    Notes
    -----
    See the module docstring for the shutdown contract: ``close()`` returns
    within about a second, no worker outlives the driver, and a dead worker
    costs only its task. ``fn`` and the tasks must be picklable (a
    module-level function).
    """

    name = "processes"

    def __init__(self, workers: int | None = None, threads: int | None = None, context: str = "spawn",
                 retries: int = 1):
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers!r}")
        self.threads = 1 if threads is None else int(threads)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
        self.retries = retries
        if context not in mp.get_all_start_methods():
            raise ValueError(f"context must be one of {mp.get_all_start_methods()}, got {context!r}")
        self.context = context
        self._pool: list[_Worker] = []

    def imap(self, fn: Callable, tasks: list, failed: Callable | None = None, inline=None) -> Iterator:
        """Yield ``(index, fn(tasks[index]))`` in completion order.

        ``failed(task, message)`` gives the result that stands for a task
        whose worker died ``retries + 1`` times (default
        :func:`worker_died_records`). An exception raised by ``fn`` in a
        worker is raised here, after the pool is stopped.

        ``inline`` (optional, one bool per task) marks tasks cheap enough for
        the driver to compute itself while the pool starts: as long as no
        worker is ready and idle and not every worker has started, the driver
        takes such a task from the back of the queue (the cheap end of a
        most-expensive-first order) and runs ``fn`` on it in this process.
        Spawning a worker and importing the compute stack takes ~1 s, which a
        sweep of tiny points would otherwise spend waiting (measured:
        ``benchmarks/bench_sweep_overhead.py``). Only tasks the caller marks
        run here — a task that may crash or run long must stay in a worker,
        where its death costs only that task.
        """
        if not tasks:
            return
        failed = worker_died_records if failed is None else failed
        inline = [False] * len(tasks) if inline is None else [bool(x) for x in inline]
        if len(inline) != len(tasks):
            raise ValueError(f"inline must have one entry per task ({len(tasks)}), got {len(inline)}")
        ctx = mp.get_context(self.context)
        queue = collections.deque(range(len(tasks)))
        deaths = [0] * len(tasks)
        left = len(tasks)  # tasks without a final result yet
        startup_failures = 0  # workers that died before they were ready, in a row
        pool = self._pool
        # Forward the workers' progress records only when the driver shows them (the CLI's live line).
        level = logging.getLogger("macrobell").getEffectiveLevel()
        log_level = level if level <= logging.INFO else None
        try:
            while left:
                busy = sum(w.task is not None for w in pool)
                while len(pool) < min(self.workers, busy + len(queue)):
                    pool.append(_Worker(ctx, self.threads, log_level))
                for w in pool:
                    if w.ready and w.task is None and queue:
                        i = queue.popleft()
                        try:
                            w.conn.send((i, fn, tasks[i]))
                        except OSError:  # it just died: its sentinel says so below
                            queue.appendleft(i)
                        else:
                            w.task = i
                starting = sum(not w.ready for w in pool)
                if starting and queue and inline[queue[-1]] and not any(w.ready and w.task is None for w in pool):
                    # The pool is still starting and this task is cheap: compute it here instead of waiting.
                    i = queue.pop()
                    result = fn(tasks[i])
                    left -= 1
                    yield i, result
                    timeout = 0  # then only collect what the workers have sent meanwhile
                else:
                    timeout = None
                ready = set(_wait_ready([w.conn for w in pool] + [w.proc.sentinel for w in pool], timeout))
                for w in list(pool):
                    msg = None
                    if w.conn in ready:
                        try:
                            msg = w.conn.recv()
                        except (EOFError, OSError):  # it died, maybe in the middle of a reply
                            msg = None
                    if msg is not None:
                        index, kind, payload = msg
                        if index == "log":
                            _relay_log(kind, payload)
                            continue
                        if index == "ready":
                            w.ready = True
                            startup_failures = 0
                            continue
                        w.task = None
                        left -= 1
                        if kind == "exc":
                            raise payload
                        yield index, payload
                    elif w.conn in ready or w.proc.sentinel in ready:
                        self._drop(w)
                        if not w.ready:
                            startup_failures += 1
                            if startup_failures >= _MAX_STARTUP_FAILURES:
                                raise WorkerError(
                                    f"{startup_failures} worker processes in a row died at start-up (the last "
                                    f"one {_describe_exit(w.exitcode)}); out of memory? {_SCRIPT_HINT}")
                        if w.task is None:
                            continue
                        i = w.task
                        deaths[i] += 1
                        why = f"the worker process (pid {w.pid}) computing task {i} {_describe_exit(w.exitcode)}"
                        if deaths[i] <= self.retries:
                            _log.warning("%s; running it again (retry %d of %d)", why, deaths[i], self.retries)
                            queue.appendleft(i)
                            continue
                        left -= 1
                        msg = (f"{why} on each of its {deaths[i]} attempts (out of memory? a crash?); "
                               "the other tasks go on")
                        _log.warning("%s", msg)
                        yield i, failed(tasks[i], msg)
        finally:
            self.close()

    def _drop(self, w: _Worker):
        w.stop()
        w.reap(time.monotonic() + _EXIT_GRACE_S)
        self._pool.remove(w)

    def close(self):
        """Stop every worker now (within about a second), finished or not; safe to call twice.

        A worker that has not reported ready yet (still importing) is killed at once: it holds no file and
        no task, and waiting for it to notice its lifeline would add up to a second to a run that
        the driver finished by itself (``inline`` tasks).
        """
        pool = list(self._pool)
        self._pool.clear()
        for w in pool:
            w.stop()
            if not w.ready and w.task is None:
                w.proc.kill()
        deadline = time.monotonic() + _EXIT_GRACE_S
        for w in pool:
            w.reap(deadline)


class SerialExecutor:
    """Run tasks one after the other in this process."""

    name = "serial"

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def imap(self, fn: Callable, tasks: list, failed: Callable | None = None, inline=None) -> Iterator:
        """Yield ``(index, fn(tasks[index]))`` in order (``inline`` is accepted and moot: all runs here)."""
        if self.threads is not None:
            from macrobell._threads import set_threads
            set_threads(self.threads)
        for i, t in enumerate(tasks):
            yield i, fn(t)

    def close(self):
        pass


class DaskExecutor:
    """Submit tasks to a Dask distributed scheduler.

    Parameters
    ----------
    scheduler : str or distributed.Client
        A scheduler address (``"tcp://host:8786"``, or a ``LocalCluster``'s
        ``scheduler_address``) or an existing client.
    threads : int
        BLAS threads on the workers (default 1).
    worker_timeout : float
        Seconds the scheduler may have no worker at all while tasks wait
        (default 60): then :meth:`imap` raises :class:`WorkerError` naming
        the scheduler address, instead of waiting forever.
    """

    name = "dask"

    def __init__(self, scheduler, threads: int | None = None, worker_timeout: float = 60.0):
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("--scheduler needs Dask: pip install 'dask[distributed]' "
                             "(or macrobell[dask])") from None
        self.threads = 1 if threads is None else int(threads)
        self.worker_timeout = _check_timeout(worker_timeout)
        self.poll_s = min(1.0, self.worker_timeout / 4)
        if isinstance(scheduler, Client):
            self.client, self._own = scheduler, False
        else:
            try:
                self.client, self._own = Client(scheduler, timeout="10s"), True
            except (OSError, TimeoutError, ValueError) as exc:
                raise ValueError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from None

    @property
    def address(self) -> str:
        return str(self.client.scheduler.address)

    def imap(self, fn: Callable, tasks: list, failed: Callable | None = None, inline=None) -> Iterator:
        """Yield ``(index, fn(tasks[index]))`` in completion order (see :meth:`ProcessExecutor.imap`).

        ``inline`` is ignored: the driver does not compute beside a cluster."""
        from distributed import KilledWorker
        from distributed import wait as dask_wait

        if not tasks:
            return
        failed = worker_died_records if failed is None else failed
        futures = [self.client.submit(_pinned_call, fn, t, self.threads, pure=False) for t in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        pending = set(futures)
        del futures  # a result handed over is released: a lost worker must not make Dask recompute it
        alone_since = None  # when the scheduler was first seen without any worker
        try:
            while pending:
                try:
                    done, pending = dask_wait(pending, timeout=self.poll_s, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = ()
                for fut in done:
                    i = index[fut.key]
                    try:
                        result = fut.result()
                    except KilledWorker as exc:
                        result = failed(tasks[i], f"Dask workers died computing task {i}: {exc}")
                    fut.release()
                    yield i, result
                if done:
                    alone_since = None
                elif self.client.nthreads():
                    alone_since = None
                elif alone_since is None:
                    alone_since = time.monotonic()
                elif time.monotonic() - alone_since >= self.worker_timeout:
                    raise WorkerError(
                        f"no Dask worker connected to the scheduler at {self.address} for "
                        f"{self.worker_timeout:g} s, with {len(pending)} tasks waiting; start workers "
                        f"(`dask worker {self.address}`) and finish the sweep with --resume")
        finally:
            for f in pending:
                f.cancel()

    def close(self):
        if self._own:
            self.client.close()


def _check_timeout(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"worker_timeout must be a number of seconds > 0, got {value!r}")
    return float(value)


def make_executor(workers: int | None = None, scheduler=None, threads: int | None = None, *,
                  retries: int = 1, worker_timeout: float = 60.0):
    """Choose an executor: Dask when ``scheduler`` is given, serial for ``workers=1``, else processes.

    ``retries`` (local processes) and ``worker_timeout`` (Dask) are described
    in :class:`ProcessExecutor` and :class:`DaskExecutor`.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    _check_timeout(worker_timeout)
    if scheduler is not None:
        return DaskExecutor(scheduler, threads=threads, worker_timeout=worker_timeout)
    if workers == 1:
        return SerialExecutor(threads=threads)
    return ProcessExecutor(workers, threads=threads, retries=retries)
