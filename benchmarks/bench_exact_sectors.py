"""Benchmark: exact thermal states by S^z sectors (ρ never assembled) against the assembled-ρ path.

Heisenberg chain (open, J = 1, S = σ/2), temperatures T = 0.5, 1, 2 (one
diagonalisation for all three), then the effective states of the two halves
and of the two sublattices at every temperature. One BLAS thread. Each case
runs in its own subprocess so that its peak memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its own:

1. ``old`` — the assembled-ρ path (``sz_sectors=False``: sector-wise
   ``eigh``, one dense 2^N × 2^N ρ per temperature) at N = 14, the largest
   size it serves (N = 15 is refused); it needs ``max_memory_gb=14`` for
   three temperatures;
2. ``new`` at N = 14 — the same-run baseline of equal size (and the check
   that both give the same effective states);
3. ``new`` at N = 16 — what the sector path reaches.

Printed per case: the diagonalisation (``thermal_states`` call) and the
observables in CPU and wall seconds, the peak RSS, the energy and one
correlator; then the same-run ratios. Timings on a shared machine: compare
the ratios, not the absolute seconds.

Usage::

    python benchmarks/bench_exact_sectors.py            # N = 14 old/new, N = 16 new (about half an hour)
    python benchmarks/bench_exact_sectors.py --quick    # N = 10 old/new, N = 12 new (seconds)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

TEMPS = [0.5, 1.0, 2.0]


def run_case(n: int, path: str) -> dict:
    """One case in this process (called in a subprocess by :func:`main`)."""
    import resource

    import macrobell as mb
    from macrobell.tn._exact_thermal import _thermal_states

    mb.set_threads()
    model = mb.lattice.heisenberg(mb.lattice.chain(n))
    lat = model.lattice
    c0, w0 = time.process_time(), time.perf_counter()
    states = _thermal_states(model, TEMPS, sz_sectors=(path == "new"),
                             max_memory_gb=None if path == "new" else 14.0)
    diag = (time.process_time() - c0, time.perf_counter() - w0)
    halves = mb.lattice.Partition(lat, [list(range(n // 2)), list(range(n // 2, n))])
    subl = mb.lattice.Partition(lat, [list(range(0, n, 2)), list(range(1, n, 2))])
    c0, w0 = time.process_time(), time.perf_counter()
    effs = [(mb.observables.effective_state(s, halves), mb.observables.effective_state(s, subl)) for s in states]
    obs = (time.process_time() - c0, time.perf_counter() - w0)
    return {"n": n, "path": path, "diag_cpu": diag[0], "diag_wall": diag[1], "obs_cpu": obs[0], "obs_wall": obs[1],
            "maxrss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            "energies": [s.energy for s in states],
            "T_halves": [e[0].T.tolist() for e in effs], "T_subl": [e[1].T.tolist() for e in effs],
            "storage": states[0].info["rho_storage"], "driver": states[0].info["lapack_driver"]}


def _spawn(n: int, path: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--case", str(n), path], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"case N={n} {path} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--case", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(int(args.case[0]), args.case[1])))
        return
    import numpy as np

    n_old, n_new = (10, 12) if args.quick else (14, 16)
    rows = [_spawn(n_old, "old"), _spawn(n_old, "new"), _spawn(n_new, "new")]
    print(f"Heisenberg chain, T = {TEMPS}, effective states of halves and sublattices at every T")
    print(f"{'N':>3} {'path':>4} {'storage':>23} {'diag cpu/wall s':>16} {'obs cpu/wall s':>15} {'peak RSS GiB':>12}")
    for r in rows:
        print(f"{r['n']:>3} {r['path']:>4} {r['storage']:>23} {r['diag_cpu']:>7.1f}/{r['diag_wall']:<8.1f}"
              f"{r['obs_cpu']:>7.2f}/{r['obs_wall']:<7.2f} {r['maxrss_gib']:>12.2f}")
    old, new, big = rows
    dT = max(float(np.abs(np.array(old[k]) - np.array(new[k])).max()) for k in ("T_halves", "T_subl"))
    dE = max(abs(a - b) for a, b in zip(old["energies"], new["energies"]))
    print(f"N={n_old}: new vs old  max |ΔT| = {dT:.2e}, max |ΔE| = {dE:.2e}")
    tot = lambda r: r["diag_cpu"] + r["obs_cpu"]  # noqa: E731
    print(f"N={n_old} same-run ratios old/new: diag cpu {old['diag_cpu'] / new['diag_cpu']:.2f}x, "
          f"observables cpu {old['obs_cpu'] / new['obs_cpu']:.2f}x, total cpu {tot(old) / tot(new):.2f}x, "
          f"peak RSS {old['maxrss_gib'] / new['maxrss_gib']:.2f}x")
    print(f"N={n_new} new / N={n_old} old: total cpu {tot(big) / tot(old):.2f}x, "
          f"peak RSS {big['maxrss_gib'] / old['maxrss_gib']:.2f}x")
    print(f"N={n_new} energies {['%.10f' % e for e in big['energies']]}, "
          f"halves T_zz {[round(t[3][3], 8) for t in big['T_halves']]}")


if __name__ == "__main__":
    main()
