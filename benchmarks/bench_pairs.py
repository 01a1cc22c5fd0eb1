"""Benchmark: all pair correlators C[i, j, a, b] of an MPS versus TeNPy's all-pairs correlation_function.

macrobell ``pair_correlations`` yields all 16 components for all N² pairs in one O(N² χ³) sweep;
TeNPy needs one ``correlation_function`` call per operator pair (nine for σ_a σ_b, a, b ∈ x, y, z).
Target: >= 5x. Also times the previous sweep (four carried environments per earlier site, the
identity label included; kept here as ``pair_correlations_4env``) against the current one (three).

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
from macrobell.observables.mps import _prepare, _to_physical, mps_pair_correlations  # noqa: E402
from macrobell.tn.dmrg import random_mps  # noqa: E402


def pair_correlations_4env(state):
    """The previous off-diagonal sweep: the identity-label environments E_1(L_i) are carried too."""
    A4, real = _prepare(state, "bench")
    n = len(A4)
    basis = kern.pauli_basis(real)
    Cm = np.zeros((n, n, 4, 4), dtype=float if real else complex)
    Lnorm = np.ones((1, 1), dtype=Cm.dtype)
    stack = None
    cbasis = kern.pauli_basis(False)
    for j, A in enumerate(A4):
        np.einsum("qpr,rp->q", cbasis, kern.site_density(Lnorm, A))  # the magnetisations, as before
        if stack is not None:
            Cm[:j, j] = kern.close_paulis(stack, A, basis).reshape(j, 4, 4)
        if j == n - 1:
            break
        E = kern.transfer_paulis(Lnorm[None], A, real)[:, 0]
        M = 0 if stack is None else stack.shape[0]
        new = np.empty((M + 4,) + E.shape[1:], dtype=E.dtype)
        if stack is not None:
            kern.transfer_identity(stack, A, out=new[:M])
        new[M:] = E
        stack = new
        Lnorm = E[0]
    ny = (np.arange(4) == 2)[:, None].astype(int) + (np.arange(4) == 2)[None, :].astype(int)
    return _to_physical(Cm, real, ny)  # the canonical form is normalised: no division by the norm


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--chi", type=int, default=96)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--only-new", action="store_true", help="only the 4- vs 3-environment comparison")
    args = ap.parse_args(argv)
    n, chi = (24, 32) if args.quick else (args.n, args.chi)
    print(f"== pair correlations, real random MPS N={n}, chi={chi}, 1 BLAS thread ==", flush=True)
    st = mb.tn.from_quimb(random_mps(n, chi, seed=0), mb.lattice.chain(n))
    kern.reset_flops()
    t_ours, C = best_time(lambda: mps_pair_correlations(st), args.reps)
    f_ours = kern.reset_flops() / max(1, args.reps)
    t_old, C_old = best_time(lambda: pair_correlations_4env(st), args.reps)
    f_old = kern.reset_flops() / max(1, args.reps)
    iu = np.triu_indices(n, k=1)
    line("previous sweep (4 env/site) / current (3 env/site)",
         f"{t_old * 1e3:.1f} / {t_ours * 1e3:.1f} ms  RATIO {t_old / t_ours:.2f}x  "
         f"(GEMM flops {f_old / f_ours:.2f}x)  max|dC| {np.abs(C_old[iu] - C[iu]).max():.1e}")
    if args.only_new:
        return 0
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
