"""Executors for sweep groups: serial, local processes, Dask distributed.

All three expose ``imap(fn, tasks)``: an iterator of ``(task_index, result)``
in completion order. Tasks and results are plain data; the driver process
consumes the iterator and is the only writer of the HDF5 file.

* :class:`SerialExecutor` — in the calling process.
* :class:`ProcessExecutor` — ``concurrent.futures.ProcessPoolExecutor`` with
  the ``spawn`` start method (no fork of a process that holds HDF5 handles
  or BLAS thread pools); each worker pins BLAS/numba to ``threads`` threads
  (default 1, docs/architecture.md, 'Threads and processes') before its first task.
* :class:`DaskExecutor` — a ``distributed.Client`` connected to a running
  scheduler (``--scheduler ADDRESS``); Dask is imported lazily, only here.
  Tasks travel by reference to :func:`macrobell.data.compute.compute_group`,
  so the Dask workers need macrobell installed (same version).

:func:`progress` gives a tqdm bar with ETA on a terminal and plain log lines
otherwise.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator

__all__ = ["WorkerError", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "make_executor", "progress", "default_workers"]


class WorkerError(RuntimeError):
    """A worker process died (killed, out of memory, or an unguarded script re-imported by spawn)."""


def default_workers() -> int:
    """Number of usable cores (``os.sched_getaffinity`` where available)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(threads: int):
    from macrobell import set_threads

    set_threads(threads)


def _pinned_call(fn, task, threads):
    """Run ``fn(task)`` with BLAS/numba pinned (used on Dask workers)."""
    from macrobell import set_threads

    set_threads(threads)
    return fn(task)


class SerialExecutor:
    """Run tasks one after the other in this process."""

    name = "serial"

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def imap(self, fn: Callable, tasks: list) -> Iterator:
        if self.threads is not None:
            from macrobell import set_threads
            set_threads(self.threads)
        for i, t in enumerate(tasks):
            yield i, fn(t)

    def close(self):
        pass


class ProcessExecutor:
    """A pool of ``workers`` local processes (spawn start method), one BLAS thread each by default."""

    name = "processes"

    def __init__(self, workers: int | None = None, threads: int | None = None, context: str = "spawn"):
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers!r}")
        self.threads = 1 if threads is None else int(threads)
        self.context = context

    def imap(self, fn: Callable, tasks: list) -> Iterator:
        if not tasks:
            return
        n = min(self.workers, len(tasks))
        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context(self.context),
                                 initializer=_init_worker, initargs=(self.threads,)) as pool:
            futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        try:
                            result = fut.result()
                        except BrokenProcessPool as exc:
                            raise WorkerError(
                                f"a worker process died ({exc}); out of memory? When calling run_sweep from a "
                                "script, guard the call with `if __name__ == '__main__':` (spawned workers "
                                "re-import the main module)") from None
                        yield futures[fut], result
            finally:
                for fut in pending:
                    fut.cancel()

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
    """

    name = "dask"

    def __init__(self, scheduler, threads: int | None = None):
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("--scheduler needs Dask: pip install 'dask[distributed]' "
                             "(or macrobell[dask])") from None
        self.threads = 1 if threads is None else int(threads)
        if isinstance(scheduler, Client):
            self.client, self._own = scheduler, False
        else:
            try:
                self.client, self._own = Client(scheduler, timeout="10s"), True
            except (OSError, TimeoutError, ValueError) as exc:
                raise ValueError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from None

    def imap(self, fn: Callable, tasks: list) -> Iterator:
        from distributed import as_completed

        if not tasks:
            return
        futures = [self.client.submit(_pinned_call, fn, t, self.threads, pure=False) for t in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                yield index[fut.key], fut.result()
        finally:
            for f in futures:
                if not f.done():
                    f.cancel()

    def close(self):
        if self._own:
            self.client.close()


def make_executor(workers: int | None = None, scheduler=None, threads: int | None = None):
    """Choose an executor: Dask when ``scheduler`` is given, serial for ``workers=1``, else processes."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    if scheduler is not None:
        return DaskExecutor(scheduler, threads=threads)
    if workers == 1:
        return SerialExecutor(threads=threads)
    return ProcessExecutor(workers, threads=threads)


class _LogProgress:
    """Plain log lines with an ETA (no terminal)."""

    def __init__(self, total: int, desc: str, stream):
        self.total, self.desc, self.stream = total, desc, stream
        self.n, self.t0 = 0, time.monotonic()

    def update(self, k: int = 1, note: str = ""):
        self.n += k
        el = time.monotonic() - self.t0
        eta = el / self.n * (self.total - self.n) if self.n else float("nan")
        print(f"{self.desc}: {self.n}/{self.total} points ({el:.1f} s, ETA {eta:.1f} s){' ' + note if note else ''}",
              file=self.stream, flush=True)

    def close(self):
        pass


class _NoProgress:
    def update(self, k: int = 1, note: str = ""):
        pass

    def close(self):
        pass


def progress(total: int, desc: str = "macrobell", enabled: bool | None = True, stream=None):
    """A progress reporter: tqdm bar on a terminal, log lines otherwise, nothing if disabled."""
    if not enabled:
        return _NoProgress()
    stream = sys.stderr if stream is None else stream
    if getattr(stream, "isatty", lambda: False)():
        from tqdm import tqdm

        bar = tqdm(total=total, desc=desc, unit="pt", file=stream)

        class _Bar:
            def update(self, k: int = 1, note: str = ""):
                if note:
                    bar.set_postfix_str(note, refresh=False)
                bar.update(k)

            def close(self):
                bar.close()

        return _Bar()
    return _LogProgress(total, desc, stream)
