"""Benchmark: all pair correlators C[i, j, a, b] of an MPS versus TeNPy's all-pairs correlation_function.

macrobell ``pair_correlations`` yields all 16 components for all N² pairs in one O(N² χ³) sweep;
TeNPy needs one ``correlation_function`` call per operator pair (nine for σ_a σ_b, a, b ∈ x, y, z).
Target: >= 5x.

    python benchmarks/bench_pairs.py [--quick] [--n 64] [--chi 96]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import TENPY_OPS, best_time, gemm_gflops, line, to_tenpy  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.observables import _mps_kernels as kern  # noqa: E402
from macrobell.observables.mps import mps_pair_correlations  # noqa: E402
from macrobell.tn.dmrg import random_mps  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--chi", type=int, default=96)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args(argv)
    n, chi = (24, 32) if args.quick else (args.n, args.chi)
    print(f"== pair correlations, real random MPS N={n}, chi={chi}, 1 BLAS thread ==", flush=True)
    st = mb.tn.from_quimb(random_mps(n, chi, seed=0), mb.lattice.chain(n))
    kern.reset_flops()
    t_ours, C = best_time(lambda: mps_pair_correlations(st), args.reps)
    flops = kern.reset_flops() / max(1, args.reps)
    gemm = gemm_gflops([(4 * chi, chi, 2 * chi), (chi, 2 * chi, chi)])
    line("macrobell pair_correlations (all N^2 pairs, 16 components)", f"{t_ours * 1e3:.1f}", "ms")
    line("  GEMM throughput achieved / single-thread GEMM", f"{flops / t_ours / 1e9:.1f} / {gemm:.1f}", "GFLOP/s")
    psi = to_tenpy(st.arrays())

    def tenpy_all():
        return {(a, b): psi.correlation_function(TENPY_OPS[a], TENPY_OPS[b]) for a in (1, 2, 3) for b in (1, 2, 3)}

    t_tp, Cs = best_time(tenpy_all, 1)
    err = max(np.abs(Cs[(a, b)].real - C[:, :, a, b])[~np.eye(n, dtype=bool)].max() for a in (1, 2, 3)
              for b in (1, 2, 3))
    line("TeNPy correlation_function, 9 op pairs, all N^2 pairs", f"{t_tp * 1e3:.1f}", "ms")
    line("  max |C(TeNPy) - C(macrobell)| off the diagonal", f"{err:.2e}")
    line("RATIO TeNPy / macrobell pair_correlations (target >= 5x)", f"{t_tp / t_ours:.1f}", "x")
    part = mb.lattice.Partition.halves(st.lattice)
    t_eff, _ = best_time(lambda: mb.observables.correlation_tensor(st, part.regions), args.reps)
    line("macrobell correlation_tensor (K=2 halves), same state", f"{t_eff * 1e3:.1f}", "ms")
    line("RATIO TeNPy all-pairs / macrobell correlation_tensor", f"{t_tp / t_eff:.0f}", "x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
