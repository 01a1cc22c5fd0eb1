"""Benchmark: the one-sweep effective state (docs/physics.md) of a real MPS, K = 2 halves.

Compares, in one run and single-threaded:
  * macrobell ``correlation_tensor`` (the whole call, canonical form included) and the sweep alone,
    with its achieved GFLOP/s against single-thread GEMM throughput on the sweep's GEMM shapes;
  * TeNPy ``MPS.correlation_function`` for the nine operator pairs σ_a σ_b (a, b ∈ x, y, z) over
    all the pairs (i ∈ A, j ∈ B) a user needs for T_ab (the fastest TeNPy route; with
    ``--tenpy-all-pairs`` also over all N² pairs, which ``bench_pairs.py`` times as well);
  * a naive pair-by-pair loop (one environment sweep per pair and operator pair; timed on a sample
    of pairs and extrapolated);
  * the time of the sweep versus N (should grow linearly);
  * one-ended versus two-ended sweep for K = 2, 4, 6 contiguous blocks (same run, same state; the
    flop model's choice and prediction next to the measured ratio);
  * effective_state over 4 partitions of one state with and without the cached canonical form.

    python benchmarks/bench_effective_state.py [--quick] [--n 64] [--chi 96] [--sweep-n 64 --sweep-chi 64]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import TENPY_OPS, best_time, gemm_gflops, line, to_tenpy  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.observables import _mps_kernels as kern  # noqa: E402
from macrobell.observables.mps import (_prepare, correlation_tensor_arrays, mps_correlation_tensor,  # noqa: E402
                                       sweep_costs)
from macrobell.tn.dmrg import random_mps  # noqa: E402


def make_state(n, chi, seed=0):
    lat = mb.lattice.chain(n)
    return mb.tn.from_quimb(random_mps(n, chi, seed=seed), lat)


def naive_pair(A4, Lenvs, i, j, a, b, basis):
    """<σ_a^i σ_b^j> by one environment sweep from i to j (right-canonical: close with a trace)."""
    L = kern.transfer_paulis(Lenvs[i][None], A4[i], True)[a]
    for k in range(i + 1, j):
        L = kern.transfer_identity(L, A4[k])
    return kern.close_paulis(L, A4[j], basis)[0, b]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--chi", type=int, default=96)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-tenpy", action="store_true")
    ap.add_argument("--sweep-n", type=int, default=64, help="N of the one- vs two-ended comparison")
    ap.add_argument("--sweep-chi", type=int, default=64, help="chi of the one- vs two-ended comparison")
    ap.add_argument("--only-new", action="store_true", help="only the sweep and cache comparisons")
    ap.add_argument("--tenpy-all-pairs", action="store_true",
                    help="also time TeNPy over all N^2 pairs (~3x the A x B time; bench_pairs.py measures it too)")
    args = ap.parse_args(argv)
    n, chi = (24, 32) if args.quick else (args.n, args.chi)
    scaling_ns = [8, 16, 32] if args.quick else [32, 64, 128, 256]
    print(f"== effective state (K=2 halves), real random MPS N={n}, chi={chi}, 1 BLAS thread ==", flush=True)

    if args.only_new:
        compare_sweeps(*((16, 16) if args.quick else (args.sweep_n, args.sweep_chi)), 1 if args.quick else 2)
        compare_cache(n, chi, args.reps)
        return 0
    st = make_state(n, chi)
    part = mb.lattice.Partition.halves(st.lattice)
    regions = [r.tolist() for r in part.regions]
    t_full, T = best_time(lambda: mps_correlation_tensor(st, regions), args.reps)
    A4, real = _prepare(st, "bench")
    regs_mps = [np.asarray(r) for r in regions]  # chain: MPS order = lattice order
    kern.reset_flops()
    t_sweep, _ = best_time(lambda: correlation_tensor_arrays(A4, regs_mps, real), args.reps)
    flops = kern.reset_flops() / max(1, args.reps)
    gf = flops / t_sweep / 1e9
    shapes = [(2 * chi, chi, 2 * chi), (4 * chi, chi, 2 * chi), (chi, 2 * chi, chi)]
    gemm = gemm_gflops(shapes)
    line("macrobell correlation_tensor (incl. canonical form)", f"{t_full * 1e3:.1f}", "ms")
    line("macrobell sweep alone", f"{t_sweep * 1e3:.1f}", "ms")
    line("sweep GEMM work", f"{flops / 1e9:.2f}", "GFLOP")
    line("sweep throughput", f"{gf:.1f}", "GFLOP/s")
    line("single-thread GEMM throughput (same shapes, same run)", f"{gemm:.1f}", "GFLOP/s")
    line("EFFICIENCY sweep / GEMM (target >= 60% for chi >= 64)", f"{100 * gf / gemm:.0f}", "%")

    A, B = regions
    arrays = st.arrays()
    if not args.no_tenpy:
        psi = to_tenpy(arrays)

        def tenpy_AB():
            return {(a, b): psi.correlation_function(TENPY_OPS[a], TENPY_OPS[b], sites1=A, sites2=B)
                    for a in (1, 2, 3) for b in (1, 2, 3)}

        t_tp, Cs = best_time(tenpy_AB, 1)
        Ttp = np.array([[Cs[(a, b)].real.mean() for b in (1, 2, 3)] for a in (1, 2, 3)])
        err = np.abs(Ttp - T[1:, 1:]).max()
        line("TeNPy correlation_function, 9 op pairs, pairs A x B", f"{t_tp * 1e3:.1f}", "ms")
        line("  max |T_ab(TeNPy) - T_ab(macrobell)|", f"{err:.2e}")
        line("RATIO TeNPy(A x B) / macrobell correlation_tensor", f"{t_tp / t_full:.0f}", "x")
        line("RATIO TeNPy(A x B) / macrobell sweep (both given the canonical form)", f"{t_tp / t_sweep:.0f}", "x")

        if args.tenpy_all_pairs or args.quick:
            def tenpy_all():
                return [psi.correlation_function(TENPY_OPS[a], TENPY_OPS[b]) for a in (1, 2, 3) for b in (1, 2, 3)]

            t_all, _ = best_time(tenpy_all, 1)
            line("TeNPy correlation_function, 9 op pairs, all N^2 pairs", f"{t_all * 1e3:.1f}", "ms")
            line("RATIO TeNPy(all pairs) / macrobell correlation_tensor (target >= 150x)", f"{t_all / t_full:.0f}",
                 "x")

    # naive pair-by-pair loop: sample pairs, extrapolate to |A|·|B| pairs × 9 operator pairs
    Lenvs = [np.ones((1, 1))]
    for k in range(n - 1):
        Lenvs.append(kern.transfer_identity(Lenvs[-1][None], A4[k])[0])
    basis = kern.pauli_basis(True)
    rng = np.random.default_rng(1)
    sample = [(int(rng.choice(A)), int(rng.choice(B))) for _ in range(4 if args.quick else 6)]
    t = time.perf_counter()
    for i, j in sample:
        for a in (1, 2, 3):
            for b in (1, 2, 3):
                naive_pair(A4, Lenvs, i, j, a, b, basis)
    t_naive = (time.perf_counter() - t) / len(sample) * len(A) * len(B)
    line("naive pair-by-pair loop (extrapolated from a sample)", f"{t_naive:.2f}", "s")
    line("RATIO naive / macrobell correlation_tensor", f"{t_naive / t_full:.0f}", "x")

    print("  -- sweep time vs N (chi fixed) --", flush=True)
    prev = prev_n = None
    for m in scaling_ns:
        s = make_state(m, chi, seed=m)
        A4m, realm = _prepare(s, "bench")
        regs = [np.arange(m // 2), np.arange(m // 2, m)]
        tm, _ = best_time(lambda: correlation_tensor_arrays(A4m, regs, realm), args.reps)
        extra = f"   (time x{tm / prev:.2f} for sites x{m / prev_n:.2g})" if prev else ""
        line(f"N={m:4d}", f"{tm * 1e3:8.1f} ms  {tm / m * 1e6:7.0f} us/site{extra}")
        prev, prev_n = tm, m
    compare_sweeps(*((16, 16) if args.quick else (args.sweep_n, args.sweep_chi)), 1 if args.quick else 2)
    compare_cache(n, chi, args.reps)
    return 0


def compare_sweeps(n, chi, reps):
    """One-ended vs two-ended sweep, K = 2, 4, 6 contiguous blocks, same state, same run."""
    print(f"  -- one-ended vs two-ended sweep, contiguous blocks, N={n}, chi={chi} --", flush=True)
    st = make_state(n, chi, seed=3)
    A4, real = _prepare(st, "bench")
    for K in (2, 4, 6):
        regs = np.array_split(np.arange(n), K)
        cost = sweep_costs([A.shape for A in A4], regs)
        t1, T1 = best_time(lambda: correlation_tensor_arrays(A4, regs, real, sweep="one-ended"), reps)
        t2, T2 = best_time(lambda: correlation_tensor_arrays(A4, regs, real, sweep="two-ended"), reps)
        ta, _ = best_time(lambda: correlation_tensor_arrays(A4, regs, real), 1)
        line(f"K={K}: one-ended / two-ended (bond {cost['bond']})",
             f"{t1 * 1e3:8.1f} / {t2 * 1e3:8.1f} ms  RATIO {t1 / t2:5.2f}x  "
             f"(model {cost['one-ended'] / cost['two-ended']:5.2f}x)  auto {ta * 1e3:.1f} ms  "
             f"max|dT| {np.abs(T1 - T2).max():.1e}")


def compare_cache(n, chi, reps):
    """effective_state over 4 partitions of one state, recomputing the canonical form or reusing the cache."""
    st = make_state(n, chi, seed=5)
    lat = st.lattice
    parts = [mb.lattice.Partition.halves(lat)] + [mb.lattice.Partition.blocks(lat, K) for K in (3, 4, 2)]

    def run(cached):
        object.__setattr__(st, "_canonical_cache", None)
        out = []
        for p in parts:
            if not cached:
                object.__setattr__(st, "_canonical_cache", None)
            out.append(mb.observables.effective_state(st, p).T)
        return out

    t_no, T_no = best_time(lambda: run(False), reps)
    t_yes, T_yes = best_time(lambda: run(True), reps)
    same = all(np.array_equal(a, b) for a, b in zip(T_no, T_yes))
    line(f"effective_state x4 partitions, N={n}, chi={chi}: no cache / cache",
         f"{t_no * 1e3:.1f} / {t_yes * 1e3:.1f} ms  RATIO {t_no / t_yes:.2f}x  identical={same}")


if __name__ == "__main__":
    sys.exit(main())
