"""Benchmark: M-body effective states (K = 2 halves) by the one-pass multiset sweep.

For a real random MPS (bond dimension ``--chi``, right-canonical) at each chain length it times,
single-threaded:
  * the M = 1 sweep (``correlation_tensor_arrays``), the reference cost;
  * the M = 2 and M = 3 multiset sweeps (``mbody_tensor_arrays``), as a multiple of M = 1;
  * the old path (one reduced state per ordered site tuple, ``observables.api._tuple_average_rho``)
    for M = 2 where its estimated time (from a timed sample of tuples) is under ``--old-budget``
    seconds; otherwise "skipped" with the estimate. Where it runs, the two results are compared.

    python benchmarks/bench_mbody.py [--quick] [--chi 32] [--ns 24 64 256] [--old-budget 120]
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, line  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.observables.api import _tuple_average_rho  # noqa: E402
from macrobell.observables.criteria import T_from_rho  # noqa: E402
from macrobell.observables.mps import (_prepare, correlation_tensor_arrays, mbody_tensor_arrays,  # noqa: E402
                                       mps_reduced_states)
from macrobell.tn.dmrg import random_mps  # noqa: E402


def old_path_estimate(st, regions, M, sample=200):
    """Seconds the tuple path would take, from timing ``sample`` of its reduced states."""
    per = [list(itertools.permutations(r, M)) for r in regions]
    count = math.prod(len(p) for p in per)
    combos = itertools.islice(itertools.product(*per), sample)
    groups = [[s for t in c for s in t] for c in combos]
    t = time.perf_counter()
    mps_reduced_states(st, groups)
    return (time.perf_counter() - t) * count / len(groups), count


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--chi", type=int, default=32)
    ap.add_argument("--ns", type=int, nargs="+", default=[24, 64, 256])
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--old-budget", type=float, default=120.0,
                    help="run the old tuple path only where its estimate is below this many seconds")
    args = ap.parse_args(argv)
    ns, chi = ([12, 24], 16) if args.quick else (args.ns, args.chi)
    print(f"== M-body effective state (K=2 halves), real random MPS, chi={chi}, 1 BLAS thread ==", flush=True)
    for n in ns:
        lat = mb.lattice.chain(n)
        st = mb.tn.from_quimb(random_mps(n, chi, seed=0), lat)
        regions = [list(range(n // 2)), list(range(n // 2, n))]
        A4, real = _prepare(st, "bench")
        mbody_tensor_arrays(A4, regions, 2, real=real)  # warm-up (numba kernels, caches)
        print(f"-- N={n} (N_A = N_B = {n // 2})", flush=True)
        t1, _ = best_time(lambda: correlation_tensor_arrays(A4, regions, real=real), args.reps)
        line("M=1 sweep", f"{t1 * 1e3:.1f}", "ms")
        T2 = None
        for M in (2, 3):
            tM, T = best_time(lambda: mbody_tensor_arrays(A4, regions, M, real=real), args.reps)
            line(f"M={M} multiset sweep", f"{tM * 1e3:.1f} ms  ({tM / t1:.1f}x M=1)")
            if M == 2:
                T2, t2 = T, tM
        est, count = old_path_estimate(st, regions, 2)
        label = f"M=2 old tuple path ({count} reduced states)"
        if est > args.old_budget:
            line(label, f"skipped (estimated {est:.0f} s, {est / t2:.0f}x the sweep)")
            continue
        t0 = time.perf_counter()
        rho = _tuple_average_rho(st, regions, 2)
        told = time.perf_counter() - t0
        err = float(np.abs(T_from_rho(rho) - T2).max())
        line(label, f"{told:.2f} s  ({told / t2:.0f}x the sweep; max |dT| = {err:.1e})")


if __name__ == "__main__":
    main()
