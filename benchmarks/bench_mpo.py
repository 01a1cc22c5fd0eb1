"""Benchmark: MPO construction, finite-state machine + exact compression versus quimb's SparseOperatorBuilder.

``model_to_mpo`` writes the W-matrices directly from the terms in MPS order (linear in N);
the reference ``_model_to_mpo_builder`` is the former quimb ``SparseOperatorBuilder`` path
(quadratic in N: 87 s for a 1000-site Heisenberg chain in issue 12). Both are timed in
this run, and their ``<ψ|H|ψ>`` on a random MPS compared. Targets: a 1000-site J1-J2 chain
and the 8 × 4 J1-J2 cylinder (square(8, 4, pbc_y=True), snake order) in under 1 s each,
and linear scaling over N = 100, 1000, 4000.

    python benchmarks/bench_mpo.py [--quick] [--builder-max-n 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, line  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.tn.mpo import _model_fsm, _model_to_mpo_builder, model_to_mpo  # noqa: E402


def _energy(mpo, psi):
    return complex(psi.H @ mpo.apply(psi)).real


def compare(label, model, reps, with_builder, target_s=None):
    """Time ours (and the builder), print bond dimensions, times, the ratio and the energy check."""
    import quimb.tensor as qtn

    t_ours, ours = best_time(lambda: model_to_mpo(model), reps)
    t_raw, _ = best_time(lambda: _model_fsm(model, None, False, "bench"), reps)
    print(f"-- {label}: N={model.n_sites}", flush=True)
    line("macrobell model_to_mpo (FSM + exact compression)", f"{t_ours * 1e3:.1f} ms, D = {ours.max_bond()}")
    line("  of which FSM W-matrices alone (uncompressed)", f"{t_raw * 1e3:.1f}", "ms")
    if target_s is not None:
        line(f"  target < {target_s:g} s", "met" if t_ours < target_s else "MISSED")
    if not with_builder:
        return t_ours, None
    t_ref, ref = best_time(lambda: _model_to_mpo_builder(model), 1)
    psi = qtn.MPS_rand_state(model.n_sites, 8, seed=7)
    e, e_ref = _energy(ours, psi), _energy(ref, psi)
    line("quimb SparseOperatorBuilder (reference)", f"{t_ref * 1e3:.1f} ms, D = {ref.max_bond()}")
    line("  |<psi|H|psi> ours - builder| (random MPS, chi=8)", f"{abs(e - e_ref):.1e} (E = {e_ref:.6f})")
    line("RATIO builder / macrobell MPO build", f"{t_ref / t_ours:.0f}", "x")
    return t_ours, t_ref


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, builder only up to N = 200 (seconds)")
    ap.add_argument("--builder-max-n", type=int, default=1000,
                    help="largest N for which the quadratic reference builder is timed too")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args(argv)
    bmax = min(args.builder_max_n, 200) if args.quick else args.builder_max_n
    lat = mb.lattice
    print("== MPO construction, 1 BLAS thread ==", flush=True)
    n_chain = 200 if args.quick else 1000
    compare(f"J1-J2 chain (J2 = 0.5, h = 0.1){'' if n_chain == 1000 else ' [quick size]'}",
            lat.j1j2(lat.chain(n_chain), J2=0.5, h=0.1), args.reps, n_chain <= bmax, target_s=1.0)
    compare("8 x 4 J1-J2 cylinder, snake order", lat.j1j2(lat.square(8, 4, pbc_y=True), J2=0.5),
            args.reps, True, target_s=1.0)
    compare("8 x 4 Heisenberg cylinder, snake order", lat.heisenberg(lat.square(8, 4, pbc_y=True)),
            args.reps, True)
    print("-- scaling, Heisenberg chain with field (h = 0.1)", flush=True)
    sizes = (100, 400, 1000) if args.quick else (100, 1000, 4000)
    times = {}
    for n in sizes:
        model = lat.heisenberg(lat.chain(n), h=0.1)
        times[n], _ = best_time(lambda: model_to_mpo(model), args.reps)
        line(f"macrobell model_to_mpo N={n}", f"{times[n] * 1e3:.1f} ms = {times[n] / n * 1e6:.1f} us/site")
    for n in (100, 200, 400):
        if n <= bmax:
            model = lat.heisenberg(lat.chain(n), h=0.1)
            t_ref, _ = best_time(lambda: _model_to_mpo_builder(model), 1)
            line(f"quimb SparseOperatorBuilder N={n}", f"{t_ref * 1e3:.0f} ms = {t_ref / n * 1e6:.0f} us/site")
    lo, hi = sizes[0], sizes[-1]
    slope = np.log(times[hi] / times[lo]) / np.log(hi / lo)
    line(f"macrobell scaling exponent t ~ N^a over N = {lo}..{hi}", f"a = {slope:.2f} (linear: 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
