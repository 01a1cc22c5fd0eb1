"""Benchmark: purified-MPS thermal states against TeNPy ``PurificationTEBD``.

Heisenberg chain (open, J = 1, S = σ/2), β = 4, χ = 64, dτ = 0.05, one BLAS
thread. Reports CPU seconds (``time.process_time``: robust on a shared
machine; the evolution is single-threaded) and wall seconds.

1. Same settings: macrobell (order 4 and order 2) vs TeNPy (order 2, its only
   imaginary-time order) at dτ = 0.05.
2. Equal accuracy: energy error against a reference (macrobell order 4 at
   dτ = 0.025, same χ). (a) the largest macrobell order-4 dτ whose error is at most
   TeNPy's at dτ = 0.05 (measured); (b) the TeNPy dτ that would match
   macrobell's default (order 4, dτ = 0.05), from TeNPy's measured dτ² law
   (two TeNPy runs, dτ = 0.05 and 0.025), and its extrapolated cost.
3. One evolution for many temperatures: eight temperatures vs the lowest alone.

Usage::

    python benchmarks/bench_purification.py            # L = 32, β = 4 (several minutes)
    python benchmarks/bench_purification.py --quick    # L = 12, β = 2, χ = 32 (under a minute)
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

import macrobell as mb
from macrobell.tn.purification import purification_thermal_states

mb.set_threads()  # single-threaded BLAS for us and TeNPy alike (importing macrobell leaves the pools alone)


def _timed(f):
    c0, w0 = time.process_time(), time.perf_counter()
    out = f()
    return out, time.process_time() - c0, time.perf_counter() - w0


def ours(model, beta, chi, dtau, order):
    (st,), cpu, wall = _timed(lambda: purification_thermal_states(model, [1 / beta], bond_dim=chi, dtau=dtau,
                                                                   order=order))
    return st.energy, cpu, wall, st.info


def tenpy_run(L, beta, chi, dtau, conserve=None):
    from tenpy.algorithms.purification import PurificationTEBD
    from tenpy.models.spins import SpinChain
    from tenpy.networks.purification_mps import PurificationMPS

    model = SpinChain({"L": L, "S": 0.5, "Jx": 1.0, "Jy": 1.0, "Jz": 1.0, "bc_MPS": "finite",
                       "conserve": conserve})
    psi = PurificationMPS.from_infiniteT(model.lat.mps_sites(), bc="finite")
    eng = PurificationTEBD(psi, model, {"trunc_params": {"chi_max": chi, "svd_min": 1e-10}, "dt": dtau})
    # TeNPy applies e^{-τH} to the purification for τ = beta/2 (ρ ∝ e^{-2τH}); its imaginary time is order 2.
    _, cpu, wall = _timed(lambda: eng.run_imaginary(beta / 2))
    energy = float(np.sum(model.bond_energies(psi)))
    return energy, cpu, wall, max(psi.chi)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small chain (L=12, beta=2, chi=32)")
    ap.add_argument("--no-tenpy", action="store_true", help="skip the TeNPy baseline")
    ap.add_argument("--tenpy-sz", action="store_true", help="also run TeNPy with Sz conservation")
    args = ap.parse_args(argv)
    L, beta, chi = (12, 2.0, 32) if args.quick else (32, 4.0, 64)
    dtau = 0.05
    warnings.simplefilter("ignore")
    model = mb.lattice.heisenberg(mb.lattice.chain(L))
    print(f"Heisenberg chain L={L}, beta={beta}, chi={chi}, dtau={dtau}, default cutoff (discarded weight 1e-20 = the former relative 1e-10); CPU s / wall s")

    e4, c4, w4, info4 = ours(model, beta, chi, dtau, 4)
    e2, c2, w2, _ = ours(model, beta, chi, dtau, 2)
    eref, cref, _, _ = ours(model, beta, chi, dtau / 2, 4)
    print(f"reference  macrobell order 4, dtau={dtau / 2}: E = {eref:.12f}  ({cref:.1f} s)")
    print(f"macrobell  order 4, dtau={dtau}: {c4:8.2f} / {w4:8.2f}  E err {abs(e4 - eref):.2e}  "
          f"max_bond {info4['max_bond']}  discarded {info4['discarded_weight']:.1e}")
    print(f"macrobell  order 2, dtau={dtau}: {c2:8.2f} / {w2:8.2f}  E err {abs(e2 - eref):.2e}")

    # Equal accuracy, measured: our cheapest order-4 step at least as accurate as TeNPy at dtau.
    coarse = []
    for dt in (0.1, 0.2, 0.4):
        e, c, w, _ = ours(model, beta, chi, dt, 4)
        coarse.append((dt, abs(e - eref), c))
        print(f"macrobell  order 4, dtau={dt}: {c:8.2f} / {w:8.2f}  E err {abs(e - eref):.2e}")

    if not args.no_tenpy:
        et, ct, wt, chit = tenpy_run(L, beta, chi, dtau)
        errt = abs(et - eref)
        print(f"TeNPy      order 2, dtau={dtau}: {ct:8.2f} / {wt:8.2f}  E err {errt:.2e}  max chi {chit}")
        et2, ct2, wt2, _ = tenpy_run(L, beta, chi, dtau / 2)
        errt2 = abs(et2 - eref)
        print(f"TeNPy      order 2, dtau={dtau / 2}: {ct2:8.2f} / {wt2:8.2f}  E err {errt2:.2e}")
        slope = math.log(errt / errt2) / math.log(2.0)
        print(f"TeNPy error slope in dtau: {slope:.2f} (2 expected)")
        print(f"\nsame settings (dtau={dtau}): TeNPy/macrobell CPU time = {ct / c4:.2f} (order 4), "
              f"{ct / c2:.2f} (order 2)")
        ok = [x for x in [(dtau, abs(e4 - eref), c4)] + coarse if x[1] <= errt]
        if ok:
            dt_m, err_m, c_m = max(ok, key=lambda x: x[0])
            print(f"equal accuracy (TeNPy dtau={dtau}, err {errt:.1e}): macrobell order 4 dtau={dt_m} "
                  f"(err {err_m:.1e}) -> TeNPy/macrobell CPU time = {ct / c_m:.1f}")
        err4 = max(abs(e4 - eref), 1e-14)
        dt_match = dtau * math.sqrt(err4 / errt)
        t_match = ct * dtau / dt_match
        print(f"equal accuracy (macrobell default, err {err4:.1e}): TeNPy needs dtau ~ {dt_match:.2e} "
              f"(~{t_match:.0f} s extrapolated, steps ∝ 1/dtau) -> TeNPy/macrobell = {t_match / c4:.0f}")
        if args.tenpy_sz:
            ez, cz, wz, _ = tenpy_run(L, beta, chi, dtau, conserve="Sz")
            print(f"TeNPy (Sz conserved) order 2, dtau={dtau}: {cz:8.2f} / {wz:8.2f}  E err {abs(ez - eref):.2e}"
                  f"  -> TeNPy_Sz/macrobell(order 4) = {cz / c4:.2f}")

    # One evolution for every temperature.
    temps = list(np.linspace(1 / beta, 2.0, 8)[::-1])
    sts, c8, w8 = _timed(lambda: purification_thermal_states(model, temps, bond_dim=chi, dtau=dtau, order=4))
    _, c1, w1 = _timed(lambda: purification_thermal_states(model, [min(temps)], bond_dim=chi, dtau=dtau, order=4))
    print(f"\n8 temperatures {[round(float(t), 3) for t in temps]}: {c8:.2f} s CPU; lowest alone {c1:.2f} s "
          f"-> ratio {c8 / c1:.3f} (target <= 1.5)")
    print("  E(T):", " ".join(f"{s.temperature:.3g}:{s.energy:.6f}" for s in sts))


if __name__ == "__main__":
    main()
