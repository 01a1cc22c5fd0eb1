"""Benchmark: macrobell DMRG (quimb DMRG2) versus TeNPy two-site DMRG on a Heisenberg chain.

Same chain (open, S = σ/2, no symmetry conservation in either code), same maximal bond
dimension, same energy tolerance between sweeps and discarded-weight cutoff; both
single-threaded. Reports wall times, energies and the ratio.

    python benchmarks/bench_dmrg.py [--quick] [--n 64] [--chi 64] [--tol 1e-8]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import line  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.tn.dmrg import dmrg_ground_state  # noqa: E402


def tenpy_dmrg(n, chi, tol, cutoff):
    from tenpy.algorithms import dmrg
    from tenpy.models.spins import SpinChain
    from tenpy.networks.mps import MPS

    model = SpinChain({"L": n, "S": 0.5, "Jx": 1.0, "Jy": 1.0, "Jz": 1.0, "conserve": None, "bc_MPS": "finite"})
    psi = MPS.from_product_state(model.lat.mps_sites(), ["up", "down"] * (n // 2), bc="finite",
                                 unit_cell_width=n)
    ramp, b = {}, 16
    sweep = 0
    while b < chi:
        ramp[sweep] = b
        b *= 2
        sweep += 1
    ramp[sweep] = chi
    params = {"mixer": True, "max_E_err": tol, "max_sweeps": 40, "chi_list": ramp,
              "trunc_params": {"chi_max": chi, "svd_min": 1e-14, "trunc_cut": cutoff ** 0.5}}
    info = dmrg.run(psi, model, params)
    return float(info["E"]), psi.chi


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--chi", type=int, default=64)
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--cutoff", type=float, default=1e-12)
    args = ap.parse_args(argv)
    n, chi = (24, 32) if args.quick else (args.n, args.chi)
    print(f"== DMRG, open Heisenberg chain N={n}, chi={chi}, tol={args.tol:g}, 1 BLAS thread ==", flush=True)
    model = mb.lattice.heisenberg(mb.lattice.chain(n))
    t = time.perf_counter()
    st = dmrg_ground_state(model, bond_dim=chi, tol=args.tol, cutoff=args.cutoff, seed=0)
    t_ours = time.perf_counter() - t
    line("macrobell dmrg_ground_state", f"{t_ours:.2f} s   E={st.energy:.10f}  sweeps={st.info['sweeps']}  "
         f"var={st.info['variance']:.1e}  converged={st.info['converged']}")
    t = time.perf_counter()
    e_tp, chis = tenpy_dmrg(n, chi, args.tol, args.cutoff)
    t_tp = time.perf_counter() - t
    line("TeNPy TwoSiteDMRGEngine (mixer on)", f"{t_tp:.2f} s   E={e_tp:.10f}  max chi={max(chis)}")
    line("energy difference (macrobell - TeNPy)", f"{st.energy - e_tp:.2e}")
    line("RATIO TeNPy time / macrobell time", f"{t_tp / t_ours:.2f}", "x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
