"""Benchmark: the Bell engine per effective state -- LP, settings search, LHS certificate.

Times, on one two-qubit effective state (Werner v = 0.9 rotated by random local
unitaries, plus a random pure state):

* ``local_visibility`` (the LP alone) for S = 2, 3, 4 and for 2 x 10 settings
  (2^20 strategies, column generation);
* ``search`` for S = 2, 3, 4 (restarts as given), as a ratio to one LP at the
  same S (how many LP-equivalents a search costs) and, for S = 2, to the CHSH
  closed form;
* ``lhs_certificate`` (if implemented on this branch) as a ratio to the LP at S = 3.

    python benchmarks/bench_bell.py [--quick] [--restarts 20]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, line  # noqa: E402

import macrobell as mb  # noqa: E402, F401
from macrobell.observables import bell  # noqa: E402
from macrobell.observables.bell.search import random_settings  # noqa: E402
from macrobell.observables.criteria import T_from_rho, werner_state  # noqa: E402
from macrobell.observables.effective import EffectiveState  # noqa: E402


def _random_unitary(rng):
    Z = rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2))
    Q, R = np.linalg.qr(Z)
    return Q * (np.diag(R) / np.abs(np.diag(R)))


def states(rng):
    U = np.kron(_random_unitary(rng), _random_unitary(rng))
    rho_w = U @ werner_state(0.9) @ U.conj().T
    psi = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    psi /= np.linalg.norm(psi)
    return {"werner 0.9 (rotated)": EffectiveState(T=T_from_rho(rho_w), sizes=(1, 1)),
            "random pure": EffectiveState(T=T_from_rho(np.outer(psi, psi.conj())), sizes=(1, 1))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer restarts, skip the 2^20 LP")
    ap.add_argument("--restarts", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args(argv)
    restarts = 6 if a.quick else a.restarts
    rng = np.random.default_rng(0)
    print(f"== Bell engine per effective state (K = 2), restarts={restarts}, 1 BLAS thread ==", flush=True)
    for name, eff in states(rng).items():
        print(f"-- {name}: CHSH = {bell.chsh(eff).value:.6f}", flush=True)
        t_chsh, _ = best_time(lambda: bell.chsh(eff), 20)
        line("chsh closed form", f"{t_chsh * 1e6:.1f}", "us")
        lp_time = {}
        for S in (2, 3, 4):
            st = random_settings([S, S], rng)
            lp_time[S], _ = best_time(lambda: bell.local_visibility(eff, st), a.reps)
            line(f"local_visibility S={S} ({2 ** (2 * S)} strategies)", f"{lp_time[S] * 1e3:.2f}", "ms")
        if not a.quick:
            st = random_settings([10, 10], rng)
            t20, res = best_time(lambda: bell.local_visibility(eff, st), 1)
            line(f"local_visibility 10+10 settings (2^20, {res.iterations} rounds)", f"{t20:.2f}", "s")
        for S in (2, 3, 4):
            t, res = best_time(lambda: bell.search(eff, settings=S, restarts=restarts, seed=1), 1)
            extra = f", x{t / t_chsh:.0f} CHSH" if S == 2 else ""
            line(f"search S={S}: visibility {res.visibility:.6f}", f"{t:.3f} s (x{t / lp_time[S]:.0f} LP{extra})")
        try:
            t, cert = best_time(lambda: bell.lhs_certificate(eff), 1)
        except NotImplementedError:
            line("lhs_certificate", "not implemented on this branch")
            continue
        vis = getattr(cert, "visibility", getattr(cert, "certified_visibility", float("nan")))
        line(f"lhs_certificate: certified visibility {vis}", f"{t:.3f} s (x{t / lp_time[3]:.0f} LP S=3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
