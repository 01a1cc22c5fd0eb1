"""Progress of a sweep for people: points done, a cost-weighted ETA, warnings as they arrive.

:func:`progress` (re-exported by :mod:`macrobell.data.executors`) gives a tqdm
bar on a terminal, plain lines otherwise, nothing when disabled. The ETA is
the elapsed time times the remaining over the completed *modelled* cost
(:func:`macrobell.data.runner.point_costs`), so cheap groups finishing first
do not make it optimistic, nor expensive ones pessimistic.
"""

from __future__ import annotations

import sys
import time

__all__ = ["progress"]


def _fmt_s(seconds: float) -> str:
    if seconds != seconds:  # nan: nothing finished yet
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class _Estimate:
    """Points done and an ETA from the completed work, weighted by a cost model.

    ``total_cost`` is the modelled cost of every point to compute and
    ``update(k, cost=c)`` adds ``k`` points of total cost ``c`` (default: one
    unit each, i.e. equal costs). ETA = elapsed × (remaining cost / completed
    cost): the measured rate of the cost model's units, applied to what is
    left. ``clock`` is injectable for tests.
    """

    def __init__(self, total: int, total_cost: float | None = None, clock=time.monotonic):
        self.total, self.n = int(total), 0
        self.total_cost = float(total if total_cost is None else total_cost)
        self.done_cost = 0.0
        self.credit = 0.0  # modelled work of tasks still running (see in_flight)
        self.busy_s = self.timed_cost = 0.0  # measured compute seconds of finished points, and their cost
        self.parallel = 1  # workers that share the remaining work
        self.clock = clock
        self.t0 = clock()

    def add(self, k: int, cost: float | None, seconds: float | None = None):
        self.n += k
        c = float(k if cost is None else cost)
        self.done_cost += c
        if seconds is not None and seconds == seconds and seconds >= 0:
            self.busy_s += float(seconds)
            self.timed_cost += c

    def in_flight(self, cost: float):
        """Credit ``cost`` of work done by tasks still running (parallel workers), counted in the ETA."""
        self.credit = max(0.0, float(cost))

    @property
    def elapsed(self) -> float:
        return self.clock() - self.t0

    @property
    def eta(self) -> float:
        done = self.done_cost + self.credit
        if self.timed_cost > 0 and self.busy_s > 0:
            # Seconds per cost unit measured on the finished points' own compute time: worker start-up
            # and imports, paid once, do not inflate the estimate of the work left.
            return max(0.0, self.total_cost - done) * self.busy_s / self.timed_cost / max(1, self.parallel)
        if done <= 0:
            return float("nan")
        return self.elapsed * max(0.0, self.total_cost - done) / done


class _LogProgress(_Estimate):
    """Plain lines with points done and an ETA (no terminal)."""

    def __init__(self, total: int, desc: str, stream, total_cost=None, clock=time.monotonic):
        super().__init__(total, total_cost, clock)
        self.desc, self.stream = desc, stream

    def update(self, k: int = 1, note: str = "", cost: float | None = None, seconds: float | None = None):
        self.add(k, cost, seconds)
        print(f"{self.desc}: {self.n}/{self.total} points ({self.elapsed:.1f} s, ETA {self.eta:.1f} s)"
              f"{' ' + note if note else ''}", file=self.stream, flush=True)

    def warn(self, text: str):
        print(f"{self.desc}: warning: {text}", file=self.stream, flush=True)

    def close(self):
        pass


class _NoProgress:
    eta = float("nan")

    def in_flight(self, cost: float):
        pass

    def update(self, k: int = 1, note: str = "", cost: float | None = None, seconds: float | None = None):
        pass

    def warn(self, text: str):
        pass

    def close(self):
        pass


class _Bar(_Estimate):
    """tqdm bar on a terminal: points done, and the cost-weighted ETA in the postfix."""

    def __init__(self, total: int, desc: str, stream, total_cost=None, clock=time.monotonic):
        from tqdm import tqdm

        super().__init__(total, total_cost, clock)
        # tqdm's own remaining-time estimate assumes equal points; ours is weighted by cost.
        self.bar = tqdm(total=total, desc=desc, unit="pt", file=stream,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")

    def update(self, k: int = 1, note: str = "", cost: float | None = None, seconds: float | None = None):
        self.add(k, cost, seconds)
        self.bar.set_postfix_str(f"ETA {_fmt_s(self.eta)}" + (f" {note}" if note else ""), refresh=False)
        self.bar.update(k)

    def warn(self, text: str):
        self.bar.write(f"warning: {text}", file=self.bar.fp)

    def close(self):
        self.bar.close()


def progress(total: int, desc: str = "macrobell", enabled: bool | None = True, stream=None,
             total_cost: float | None = None, clock=time.monotonic):
    """A progress reporter: tqdm bar on a terminal, log lines otherwise, nothing if disabled.

    ``update(k=1, note="", cost=None, seconds=None)`` adds ``k`` finished
    points (of modelled cost ``cost``, default one unit each; ``seconds``:
    their measured compute time, which then calibrates the cost model
    instead of the wall clock, divided among ``parallel`` workers), ``in_flight(cost)``
    credits work done by tasks still running, ``warn(text)`` shows a
    warning at once on its own line. The ETA is the elapsed time times the
    remaining over the completed modelled cost (``total_cost``, default
    ``total``: equal costs).
    """
    if not enabled:
        return _NoProgress()
    stream = sys.stderr if stream is None else stream
    if getattr(stream, "isatty", lambda: False)():
        return _Bar(total, desc, stream, total_cost, clock)
    return _LogProgress(total, desc, stream, total_cost, clock)
