"""Benchmark: the LHS (unsteerability) SDP certificate versus polyhedron size, and exact WWZB.

Times ``bell.lhs_certificate`` per two-qubit effective state for n = 3 .. 12
measurement axes (2^n hidden states), printing the certified Werner
visibility next to the polyhedron's shrinking factor, and the ratio to the
Bowles closed-form sufficient test measured in the same run.  Also times
``bell.wwzb`` for GHZ/W/random K = 3, 4 states against the Zukowski-Brukner
sum of squares ``zb_max`` (its sufficient, non-exact counterpart).

    python benchmarks/bench_lhs.py [--quick] [--reps 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, line  # noqa: E402

import macrobell as mb  # noqa: E402,F401
from macrobell.observables.bell.bracket import werner_lhv_certificate  # noqa: E402
from macrobell.observables.bell.lhs import lhs_certificate, measurement_polyhedron  # noqa: E402
from macrobell.observables.bell.wwzb import wwzb  # noqa: E402
from macrobell.observables.criteria import T_from_rho, bowles_value, werner_state, zb_max  # noqa: E402
from macrobell.observables.effective import EffectiveState  # noqa: E402


def _random_two_qubit(seed):
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
    rho = G @ G.conj().T
    return EffectiveState(T=T_from_rho(rho / np.trace(rho).real), sizes=(4, 4))


def _random_pure(K, seed):
    rng = np.random.default_rng(seed)
    psi = rng.standard_normal(2**K) + 1j * rng.standard_normal(2**K)
    psi /= np.linalg.norm(psi)
    return EffectiveState(T=T_from_rho(np.outer(psi, psi.conj())), sizes=(1,) * K)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n <= 8 only (seconds)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--werner-lhv", action="store_true",
                    help="also time the icosahedral two-sided LHV certificate of the singlet (31 axes, ~10-20 s)")
    args = ap.parse_args(argv)
    werner = EffectiveState(T=T_from_rho(werner_state(1.0)), sizes=(8, 8))
    general = _random_two_qubit(1)
    lhs_certificate(werner, 3)                   # cvxpy/solver import and first-call overhead
    t_bowles, _ = best_time(lambda: (bowles_value(general.T, "A->B"), bowles_value(general.T, "B->A")),
                            args.reps)
    print("== lhs_certificate (both directions, Clarabel), 1 BLAS thread ==", flush=True)
    line("baseline: Bowles test, both directions", f"{t_bowles * 1e3:.2f}", "ms")
    for n in (range(3, 9) if args.quick else range(3, 13)):
        _, r = measurement_polyhedron(n)
        t_w, cert = best_time(lambda: lhs_certificate(werner, n), args.reps)
        t_g, _ = best_time(lambda: lhs_certificate(general, n), args.reps)
        line(f"n={n:2d} (2^n={2**n:5d}) r={r:.4f} Werner v_cert={cert.certified_visibility:.4f} (exact 0.5)",
             f"{t_w * 1e3:8.1f} ms, general {t_g * 1e3:8.1f} ms = {t_g / t_bowles:7.0f}x Bowles")
    if args.werner_lhv:
        t_l, cert = best_time(lambda: werner_lhv_certificate(werner, 0), 1)
        line(f"Werner LHV, 31 icosahedral axes: v_cert={cert.certified_visibility:.4f} "
             f"({cert.iterations} rounds, {cert.n_strategies} strategies)", f"{t_l:8.1f} s")
    print("== wwzb (exact two-setting condition) vs zb_max (sum of squares) ==", flush=True)
    psi = np.zeros(8)
    psi[[1, 2, 4]] = 1 / np.sqrt(3)
    states = {"W": EffectiveState(T=T_from_rho(np.outer(psi, psi)), sizes=(1, 1, 1)),
              "random K=3": _random_pure(3, 2), "random K=4": _random_pure(4, 3)}
    for name, eff in states.items():
        t_zb, _ = best_time(lambda: zb_max(eff.T, n_starts=20, seed=0), args.reps)
        t_ww, res = best_time(lambda: wwzb(eff, restarts=20, seed=0), args.reps)
        line(f"{name}: ratio {res.value:.5f}", f"{t_ww * 1e3:8.1f} ms = {t_ww / t_zb:5.1f}x zb_max")


if __name__ == "__main__":
    main()
