"""Sweep progress (issue 13): a cost-weighted ETA, warnings as they happen and attached to their temperature."""

from __future__ import annotations

import io
import re

import pytest

from macrobell.data import Sweep
from macrobell.data.compute import compute_group, make_task
from macrobell.data.executors import progress
from macrobell.data.runner import POINT_OVERHEAD, point_costs, run_sweep


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.mark.parametrize("k,n", [(1, 10), (3, 10), (9, 10)])
def test_eta_after_k_of_n_equal_cost_points(k, n):
    clock, buf = _Clock(), io.StringIO()
    bar = progress(n, desc="s", stream=buf, clock=clock)
    for _ in range(k):
        clock.t += 2.0  # each point takes 2 s
        bar.update(1)
    assert bar.eta == pytest.approx(2.0 * (n - k))
    last = buf.getvalue().splitlines()[-1]
    assert f"{k}/{n} points" in last and f"ETA {2.0 * (n - k):.1f} s" in last


def test_eta_is_weighted_by_cost():
    # one cheap point (cost 1) done in 1 s, nine points of cost 10 left: 90 s, not the 9 s of equal weights
    clock = _Clock()
    bar = progress(10, stream=io.StringIO(), total_cost=91.0, clock=clock)
    clock.t = 1.0
    bar.update(1, cost=1.0)
    assert bar.eta == pytest.approx(90.0)
    clock.t = 11.0
    bar.update(1, cost=10.0)
    assert bar.eta == pytest.approx(11.0 * 80 / 11)


def test_eta_on_a_terminal_bar_and_warnings_on_their_own_line():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    clock, buf = _Clock(), Tty()
    bar = progress(4, stream=buf, clock=clock)
    clock.t = 5.0
    bar.update(1)
    bar.warn("T=0.5: truncation")
    bar.update(1)
    bar.close()
    text = buf.getvalue()
    assert "ETA 15 s" in text and "2/4" in text and "warning: T=0.5: truncation\n" in text


def test_cost_model_orders_groups_sensibly():
    def task(method, L, temps, **opt):
        pts = [{"id": str(i), "params": {"T": t}} for i, t in enumerate(temps)]
        return {"lattice": {"kind": "chain", "L": L}, "state": {"method": method, **opt}, "points": pts}

    def state_cost(t):  # the group's state computation, without the per-point overhead
        c = point_costs(t)
        return sum(c) - len(c) * POINT_OVERHEAD

    exact8 = state_cost(task("exact", 8, [0.5, 1.0]))
    exact12 = state_cost(task("exact", 12, [0.5, 1.0]))
    assert exact12 / exact8 == pytest.approx(2 ** 12, rel=1e-6)  # (2^N)^3: 4 more sites, 2^12 more work
    cheap = state_cost(task("purification", 32, [1.0], bond_dim=16))
    long = state_cost(task("purification", 32, [0.1], bond_dim=16))
    assert long / cheap == pytest.approx(10, rel=1e-6)  # ten times the imaginary time
    assert state_cost(task("dmrg", 20, [0.0])) < state_cost(task("dmrg", 40, [0.0]))
    assert len(point_costs(task("dmrg", 20, [0.0, 0.0]))) == 2


PURIFICATION = """
[lattice]
kind = "chain"
L = 6
[model]
kind = "heisenberg"
[state]
method = "purification"
bond_dim = 16
dtau = 0.1
order = 2
temperatures = [2.0, 0.5]
[[partitions]]
kind = "halves"
"""


def test_group_warnings_go_to_the_temperatures_they_concern(tmp_path, capsys):
    sweep = Sweep.from_toml(PURIFICATION)
    recs = compute_group(make_task(sweep, sweep.groups[0]))
    by_T = {r["params"]["T"]: r for r in recs}
    hot, cold = by_T[2.0], by_T[0.5]
    # oracle: the state's own diagnostics say whether it converged
    assert hot["state"]["converged"] and not cold["state"]["converged"]
    assert not any("beta=2" in w for w in hot["warnings"])
    assert any("beta=2" in w for w in cold["warnings"])
    # run_sweep shows each warning at once, naming its point
    summary = run_sweep(sweep, tmp_path / "p.h5", workers=1, show_progress=True)
    err = capsys.readouterr().err
    shown = [line for line in err.splitlines() if "warning:" in line]
    assert summary["warnings"] == len(cold["warnings"]) + len(hot["warnings"]) == len(shown)
    assert all(re.search(r"T=0\.5\b", line) for line in shown)


def _logs_progress(task):
    import logging

    for k in range(3):
        logging.getLogger("macrobell.tn.fake").info("sweep %d", k + 1, extra={"solver": "fake", "sweep": k + 1})
    return task


def test_worker_solver_records_reach_the_driver(caplog):
    import logging

    from macrobell.data.executors import ProcessExecutor

    with caplog.at_level(logging.INFO, logger="macrobell"):
        out = list(ProcessExecutor(1).imap(_logs_progress, ["a"]))
    assert out == [(0, "a")]
    recs = [r for r in caplog.records if r.name == "macrobell.tn.fake"]
    assert [r.sweep for r in recs] == [1, 2, 3] and recs[-1].getMessage() == "sweep 3"
    assert all(r.worker_pid != __import__("os").getpid() for r in recs)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="macrobell"):  # not shown: not even sent
        list(ProcessExecutor(1).imap(_logs_progress, ["a"]))
    assert not [r for r in caplog.records if r.name == "macrobell.tn.fake"]


def test_eta_credits_half_of_the_tasks_still_running():
    # two workers, three equal tasks: when the first finishes at 10 s the second is about half done
    clock = _Clock()
    bar = progress(3, stream=io.StringIO(), total_cost=3.0, clock=clock)
    clock.t = 10.0
    bar.in_flight(0.5)
    bar.update(1, cost=1.0)
    assert bar.eta == pytest.approx(10.0 * 1.5 / 1.5)  # 10 s more, not the 20 s of a serial estimate


def test_measured_compute_time_calibrates_the_eta_without_start_up():
    # 30 s of start-up, then a point of cost 1 computed in 2 s: 4 more cost units take 8 s (4 s on 2 workers)
    clock = _Clock()
    bar = progress(5, stream=io.StringIO(), total_cost=5.0, clock=clock)
    clock.t = 32.0
    bar.update(1, cost=1.0, seconds=2.0)
    assert bar.eta == pytest.approx(8.0)
    bar.parallel = 2
    assert bar.eta == pytest.approx(4.0)


def test_expensive_groups_are_scheduled_first(tmp_path, monkeypatch):
    """Longest-processing-time order: the largest lattice's group is handed out first, whatever the file order."""
    from macrobell.data import runner

    seen = []
    real = runner.make_executor

    def spy(*a, **kw):
        ex = real(*a, **kw)
        imap = ex.imap

        def watched(fn, tasks, *args, **kwargs):
            seen.extend(t["lattice"]["L"] for t in tasks)
            return imap(fn, tasks, *args, **kwargs)

        ex.imap = watched
        return ex

    monkeypatch.setattr(runner, "make_executor", spy)
    toml = """
[lattice]
kind = "chain"
L = [4, 8, 6]
pbc = true
[model]
kind = "heisenberg"
[state]
method = "exact"
temperatures = [0.0]
[[partitions]]
kind = "halves"
"""
    s = runner.run_sweep(toml, tmp_path / "o.h5", workers=1, show_progress=False)
    assert seen == [8, 6, 4] and s["computed"] == 3
