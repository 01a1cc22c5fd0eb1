"""Benchmark: the 1000-site pipeline end to end (issue 12).

An open Heisenberg chain of ``--n`` sites (default 1000): MPO build, DMRG ground state at
``--chi`` (default 64; ``--chi 128`` for the larger run), then effective states (K-region
correlation tensors and criteria) for halves, sublattices and K = 4 contiguous blocks. Prints
the wall time of every stage and the memory:

  * peak resident memory of the process (``resource.getrusage`` maxrss) after every stage;
  * the MPS size (bytes of its tensors) and the tracemalloc peak of the effective-state stage
    (tracemalloc only around the observables, where it costs little: it would slow DMRG down);

with same-run baselines on the same state:

  * the one-ended K-region sweep (the previous algorithm) against the automatic choice
    (two-ended for blocks) for K = 4 blocks;
  * with ``--tenpy``: TeNPy's ``MPS.correlation_function`` for the nine operator pairs on a
    subset of ``--tenpy-pairs`` pairs (i in A, j in B) of the halves, scaled to all
    ``N_A N_B`` pairs the halves' T_ab needs.

    python benchmarks/bench_pipeline_1000.py [--n 1000] [--chi 64] [--tenpy] [--degenerate ignore]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import TENPY_OPS, line, to_tenpy  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.observables.mps import _prepare, correlation_tensor_arrays, sweep_costs  # noqa: E402
from macrobell.tn.mpo import model_to_mpo  # noqa: E402


def maxrss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stage(label, fn):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    line(label, f"{dt:9.3f} s   (peak RSS so far {maxrss_mib():7.0f} MiB)")
    return dt, out


def load_state(path, lat):
    """An MPSState from arrays saved by ``--save-mps`` (right-canonical ``(χl, 2, χr)``)."""
    import quimb.tensor as qtn

    with np.load(path) as f:
        arrays = [f[f"arr_{k}"] for k in range(len(f.files))]
    # quimb's MatrixProductState wants (χl, χr, d) in the middle, (χr, d) / (χl, d) at the ends
    arrays[0], arrays[-1] = arrays[0][0], arrays[-1][:, :, 0]
    mid = [np.transpose(a, (0, 2, 1)) for a in arrays[1:-1]]
    mps = qtn.MatrixProductState([arrays[0]] + mid + [arrays[-1]], shape="lrp")
    return mb.tn.from_quimb(mps, lat)


def warm_up():
    """Compile the numba kernels (sweep, criteria) on a tiny chain, so no stage below pays for it."""
    lat = mb.lattice.chain(8)
    gs = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="dmrg", bond_dim=8, seed=0, degenerate="ignore")
    for p in (mb.lattice.Partition.halves(lat), mb.lattice.Partition.sublattices(lat),
              mb.lattice.Partition.blocks(lat, 4)):
        mb.observables.effective_state(gs, p).criteria()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--chi", type=int, default=64)
    ap.add_argument("--max-sweeps", type=int, default=30)
    ap.add_argument("--degenerate", default="ignore", choices=("warn", "ignore"),
                    help="DMRG ground-manifold check (ignore: skip it, the benchmark default; warn: the library "
                         "default, runs partner DMRGs — at N = 1000 its random start MPS has norm nan in "
                         "tn.dmrg._random_arrays as of issue 12, so it fails there)")
    ap.add_argument("--tenpy", action="store_true", help="TeNPy correlation_function baseline on a pair subset")
    ap.add_argument("--tenpy-rows", type=int, default=4, help="sites of A in TeNPy's sample (all of B each)")
    ap.add_argument("--save-mps", help="save the DMRG ground state's arrays (.npz) for --load-mps")
    ap.add_argument("--load-mps", help="skip DMRG: load the arrays saved by --save-mps (same --n)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    n, chi = args.n, args.chi
    print(f"== pipeline: open Heisenberg chain N={n}, DMRG chi={chi}, 1 BLAS thread ==", flush=True)
    warm_up()
    t_all = time.perf_counter()
    lat = mb.lattice.chain(n)
    model = mb.lattice.heisenberg(lat, J=1.0, Delta=1.0)
    t_mpo, _ = stage("MPO build (model_to_mpo)", lambda: model_to_mpo(model))
    if args.load_mps:
        t_dmrg, gs = stage(f"load saved ground state {args.load_mps} (no DMRG)", lambda: load_state(args.load_mps, lat))
    else:
        t_dmrg, gs = stage(f"DMRG ground state (chi={chi}, degenerate={args.degenerate!r}, MPO build included)",
                           lambda: mb.tn.ground_state(model, method="dmrg", bond_dim=chi, seed=args.seed,
                                                      max_sweeps=args.max_sweeps, degenerate=args.degenerate))
        d = gs.diagnostics
        line("  energy, energy per site", f"{gs.energy:.10f}, {gs.energy / n:.10f}")
        line("  converged, sweeps, max bond, discarded weight",
             f"{d.converged}, {d.n_sweeps}, {d.max_bond}, {d.discarded_weight:.2e}")
        line("  energy variance", f"{d.energy_variance:.2e}")
        if args.save_mps:
            np.savez(args.save_mps, *gs.arrays())
    mps_bytes = sum(a.nbytes for a in gs.arrays())
    line("  MPS size (right-canonical tensors)", f"{mps_bytes / 2 ** 20:.2f}", "MiB")

    parts = {"halves": mb.lattice.Partition.halves(lat), "sublattices": mb.lattice.Partition.sublattices(lat),
             "blocks K=4": mb.lattice.Partition.blocks(lat, 4)}
    tracemalloc.start()
    t_obs = {}
    for name, p in parts.items():
        t_obs[name], eff = stage(f"effective state + criteria, {name}",
                                 lambda p=p: mb.observables.effective_state(gs, p).criteria())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    line("tracemalloc peak of the effective-state stage", f"{peak / 2 ** 20:.1f}", "MiB")
    T = mb.observables.effective_state(gs, parts["halves"]).T
    line("  halves T_zz, T_xx", f"{T[3, 3]:.6f}, {T[1, 1]:.6f}")

    print("  -- baseline: one-ended sweep (previous algorithm) vs automatic choice, K=4 blocks --", flush=True)
    A4, real = _prepare(gs, "bench")
    pos = lat.mps_position
    regs = [np.sort(pos[np.asarray(r)]) for r in parts["blocks K=4"].regions]
    cost = sweep_costs([A.shape for A in A4], regs)
    t1 = time.perf_counter()
    T1 = correlation_tensor_arrays(A4, regs, real, sweep="one-ended")
    t1 = time.perf_counter() - t1
    t2 = time.perf_counter()
    T2 = correlation_tensor_arrays(A4, regs, real)
    t2 = time.perf_counter() - t2
    line("K=4 blocks sweep: one-ended / automatic",
         f"{t1:.3f} / {t2:.3f} s  RATIO {t1 / t2:.2f}x  (model {cost['one-ended'] / cost['two-ended']:.2f}x)  "
         f"max|dT| {np.abs(T1 - T2).max():.1e}")

    if args.tenpy:
        # TeNPy's fastest route: one call per operator pair with sites1 = a sample of A, sites2 = all of B
        # (it sweeps once from each i over every j), scaled by |A| / |sample|.
        A, B = [r.tolist() for r in parts["halves"].regions]
        rng = np.random.default_rng(1)
        sample = sorted(int(i) for i in rng.choice(A, size=min(args.tenpy_rows, len(A)), replace=False))
        psi = to_tenpy(gs.arrays())
        t = time.perf_counter()
        C = {(a, b): psi.correlation_function(TENPY_OPS[a], TENPY_OPS[b], sites1=sample, sites2=B)
             for a in (1, 2, 3) for b in (1, 2, 3)}
        t_tp = (time.perf_counter() - t) / len(sample) * len(A)
        line(f"TeNPy correlation_function, 9 op pairs, {len(sample)} rows of A x all of B, scaled to |A|",
             f"{t_tp:.1f}", "s")
        line("RATIO TeNPy (scaled) / macrobell halves effective state", f"{t_tp / t_obs['halves']:.0f}", "x")
        # oracle check: the same average from macrobell, regions = the sampled rows and all of B
        sub = np.array([[C[a, b].real.mean() for b in (1, 2, 3)] for a in (1, 2, 3)])
        mine = mb.observables.correlation_tensor(gs, [sample, B])[1:, 1:]
        line("  max |T_ab(TeNPy) - T_ab(macrobell)|, regions = sampled rows x B", f"{np.abs(sub - mine).max():.1e}")

    total = time.perf_counter() - t_all
    line("TOTAL pipeline (MPO + DMRG + 3 effective states)",
         f"{t_dmrg + sum(t_obs.values()):.1f} s  (wall incl. baselines {total:.1f} s)")
    line("peak RSS", f"{maxrss_mib():.0f}", "MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
