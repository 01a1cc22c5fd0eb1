"""Executors and progress reporting."""

import io

import pytest

from macrobell.data.executors import (ProcessExecutor, SerialExecutor, default_workers, make_executor,
                                      progress)


def _square(x):
    return x * x


def test_make_executor_choices():
    assert isinstance(make_executor(1), SerialExecutor)
    pool = make_executor(None)
    assert isinstance(pool, ProcessExecutor) and pool.workers == default_workers() and pool.threads == 1
    assert make_executor(3, threads=2).threads == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers"):
            make_executor(bad)
    with pytest.raises(ValueError, match="threads"):
        make_executor(1, threads=0)


def test_serial_imap_in_order():
    assert list(SerialExecutor().imap(_square, [1, 2, 3])) == [(0, 1), (1, 4), (2, 9)]


def test_log_lines_without_a_terminal():
    buf = io.StringIO()
    bar = progress(4, desc="sweep", stream=buf)
    for _ in range(4):
        bar.update(1, note="L=4")
    bar.close()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("sweep: 4/4 points") and "ETA" in lines[0]


def test_tqdm_bar_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    buf = Tty()
    bar = progress(2, desc="sweep", stream=buf)
    bar.update(1)
    bar.update(1)
    bar.close()
    assert "2/2" in buf.getvalue() and "\r" in buf.getvalue()


def test_disabled_progress_is_silent():
    buf = io.StringIO()
    progress(3, enabled=False, stream=buf).update(1)
    assert buf.getvalue() == ""


def _pid_of(x):
    import os
    return x, os.getpid()


def test_inline_tasks_run_in_the_driver_while_the_pool_starts():
    """Marked tasks are computed by the driver while no worker is ready; every task once, none lost."""
    import os

    tasks = list(range(30))
    inline = [i >= 10 for i in tasks]  # the cheap tail of a most-expensive-first order
    got = dict(ProcessExecutor(2).imap(_pid_of, tasks, inline=inline))
    assert sorted(got) == tasks and all(got[i][0] == i for i in tasks)
    by_driver = {i for i, (_, pid) in got.items() if pid == os.getpid()}
    # a spawned worker needs >= ~0.2 s to import numpy; the driver computes a trivial task in microseconds
    assert by_driver and by_driver <= {i for i in tasks if inline[i]}
    assert all(got[i][1] != os.getpid() for i in tasks if not inline[i])


def test_unmarked_tasks_never_run_in_the_driver():
    import os

    got = dict(ProcessExecutor(2).imap(_pid_of, list(range(6))))
    assert sorted(got) == list(range(6)) and all(pid != os.getpid() for _, pid in got.values())
    with pytest.raises(ValueError, match="inline"):
        list(ProcessExecutor(2).imap(_pid_of, [1, 2], inline=[True]))


def test_serial_executor_accepts_inline():
    assert list(SerialExecutor().imap(_square, [2, 3], inline=[True, False])) == [(0, 4), (1, 9)]
