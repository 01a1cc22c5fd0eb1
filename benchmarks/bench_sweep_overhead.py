"""Benchmark: per-point overhead of a sweep of tiny points (issue 12, 'Parallel sweeps').

Runs ``run_sweep`` (what ``macrobell run`` calls, without its interpreter start-up) on sweeps of tiny
exact points — open 6-site Heisenberg chains, one temperature (T = 0), K = 2 halves, one group per
point — of 36 and 144 points, with 1 worker (serial), 2 workers and the default worker count. Each
configuration runs twice in the same process:

  * ``before``: the driver only waits while the pool starts (``data.runner.INLINE_MAX_SITES = 0``
    restores the previous behaviour: no inline tasks, a pool for any default run of > 1 group);
  * ``after``: the driver computes the cheap groups itself while the workers start, and a default
    run of tiny groups only (up to INLINE_SERIAL_TASKS) stays serial.

It prints the wall time per point of the whole run (file creation, journal, final HDF5 file
included), the marginal ms/point between 36 and 144 points, and where the time of one tiny point
goes in a serial run (cProfile: state, effective state + criteria, journal commit, HDF5 rebuild).

    python benchmarks/bench_sweep_overhead.py [--reps 2]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import line  # noqa: E402

from macrobell.data import run_sweep  # noqa: E402
from macrobell.data import runner  # noqa: E402


def sweep_toml(n_points: int) -> str:
    k = int(round(n_points ** 0.5))
    deltas = ", ".join(f"{0.1 + 0.1 * i:.2f}" for i in range(k))
    fields = ", ".join(f"{0.05 * i:.2f}" for i in range(n_points // k))
    return (f'[lattice]\nkind = "chain"\nL = 6\npbc = false\n[model]\nkind = "heisenberg"\nDelta = [{deltas}]\n'
            f'h = [{fields}]\n[state]\nmethod = "exact"\ntemperatures = [0.0]\n[[partitions]]\nkind = "halves"\n')


def timed_run(toml, workers, tmp, tag):
    out = Path(tmp) / f"{tag}.h5"
    t = time.perf_counter()
    s = run_sweep(toml, out, workers=workers, show_progress=False)
    dt = time.perf_counter() - t
    out.unlink()
    return dt, s["n_points"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2, help="runs per configuration (the best is shown)")
    args = ap.parse_args(argv)
    sizes = (36, 144)
    tomls = {n: sweep_toml(n) for n in sizes}
    limit = runner.INLINE_MAX_SITES
    print("== sweep overhead: tiny exact points (6-site chain, T = 0, halves), run_sweep wall time ==", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        timed_run(tomls[36], 1, tmp, "warm")  # imports, numba caches
        res = {}
        for workers in (1, 2, None):
            for mode, lim in (("before", 0), ("after", limit)):
                runner.INLINE_MAX_SITES = lim
                try:
                    for n in sizes:
                        res[workers, mode, n] = min(timed_run(tomls[n], workers, tmp, f"{mode}{n}")[0]
                                                    for _ in range(max(1, args.reps)))
                finally:
                    runner.INLINE_MAX_SITES = limit
        for workers in (1, 2, None):
            w = "default" if workers is None else workers
            for n in sizes:
                b, a = res[workers, "before", n], res[workers, "after", n]
                line(f"workers={w}, {n} points: before / after", f"{b / n * 1e3:6.1f} / {a / n * 1e3:6.1f} ms/point  "
                     f"(run {b:.2f} / {a:.2f} s, RATIO {b / a:.2f}x)")
            for mode in ("before", "after"):
                m = (res[workers, mode, 144] - res[workers, mode, 36]) / (144 - 36)
                line(f"workers={w}, {mode}: marginal cost 36 -> 144 points", f"{m * 1e3:.1f}", "ms/point")
        print("  -- where a tiny point's time goes (serial run of 144 points, cProfile, cumulative) --", flush=True)
        pr = cProfile.Profile()
        out = Path(tmp) / "prof.h5"
        pr.enable()
        run_sweep(tomls[144], out, workers=1, show_progress=False)
        pr.disable()
        st = pstats.Stats(pr)
        total = sum(v[3] for k, v in st.stats.items() if k[2] == "run_sweep")
        parts = {"compute_group (state + observables + criteria)": "compute_group",
                 "  ground state": "_states", "  effective state": "effective_state",
                 "  criteria": "_partition_criteria", "journal commit (write_point)": "write_point",
                 "HDF5 rebuilds (during the run)": "rebuild", "final HDF5 file + read-back check": "finish"}
        line("run_sweep total (profiled)", f"{total / 144 * 1e3:.2f}", "ms/point")
        for label, fname in parts.items():
            cum = max((v[3] for k, v in st.stats.items() if k[2] == fname), default=0.0)
            line(label, f"{cum / 144 * 1e3:.2f}", "ms/point")
    return 0


if __name__ == "__main__":
    sys.exit(main())
