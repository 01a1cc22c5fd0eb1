"""Benchmark: the PEPS effective state (K = 2 halves) against lattice size and bond dimension (issue 12).

For each ``L x L`` open square lattice and PEPS bond dimension ``D`` (boundary bond ``chi = 4 D²``,
the default) a random real PEPS (the cost of the boundary contractions depends on the shapes, not on
the state) is normalised and its effective state for the halves is computed the way
``mb.observables.effective_state`` does: ``N_A · N_B`` two-site reduced states, each the exact
contraction of the smallest rectangle (plaquette) holding both sites inside a boundary environment,
one environment set per plaquette size. Printed per case:

  * the wall time (time-boxed by ``--timeout``: a case that does not finish says so, with the
    time spent and the work done by then);
  * the number of environment sets and of plaquette contractions and the time of each kind
    (quimb's ``compute_plaquette_environments`` / ``partial_traces_from_environment``, timed);
  * the up-front estimate of :func:`macrobell.observables.peps.peps_correlation_cost` (the one the
    warning quotes) next to the measured time;

then, with ``--dmrg``, the same lattice by DMRG on its snake MPS (``method="dmrg"``), ground state plus
the halves' effective state, for comparison.

    python benchmarks/bench_peps.py [--cases 3x2,4x3,4x4,5x4,6x4] [--timeout 600] [--dmrg 6x64] [--max-gib 10]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import line  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.observables import peps as opeps  # noqa: E402
from macrobell.tn.peps import peps_state_from_quimb, quimb_tensor  # noqa: E402


class _TimeBox(Exception):
    pass


def _alarm(signum, frame):
    raise _TimeBox()


class Meter:
    """Wrap quimb's two contraction steps of the PEPS reduced states and count/time them."""

    def __init__(self):
        import quimb.tensor.tnag.core as core
        from quimb.tensor.tensor_2d import TensorNetwork2D

        self.core, self.tn2d = core, TensorNetwork2D
        self.reset()
        self._env, self._plaq = TensorNetwork2D.compute_plaquette_environments, core.partial_traces_from_environment
        meter = self

        def env(self_, *a, **k):
            t = time.perf_counter()
            try:
                return meter._env(self_, *a, **k)
            finally:
                meter.env_n += 1
                meter.env_s += time.perf_counter() - t

        def plaq(*a, **k):
            t = time.perf_counter()
            try:
                return meter._plaq(*a, **k)
            finally:
                dt = time.perf_counter() - t
                meter.plaq_n += 1
                meter.plaq_s += dt
                xy = np.array(a[1][0])  # the site tuple's coordinates: its bounding box is the plaquette
                meter.by_size.setdefault(tuple(int(v) for v in xy.max(0) - xy.min(0) + 1), []).append(dt)

        TensorNetwork2D.compute_plaquette_environments = env
        core.partial_traces_from_environment = plaq

    def reset(self):
        self.env_n = self.env_s = self.plaq_n = self.plaq_s = 0.0
        self.by_size = {}


def run_case(L, D, timeout, meter, seed=1, verbose=False):
    qtn = quimb_tensor()
    lat = mb.lattice.square(L, L)
    psi = qtn.PEPS.rand(L, L, bond_dim=D, seed=seed, dtype="float64")
    st = peps_state_from_quimb(psi, lat)
    part = mb.lattice.Partition.halves(lat)
    regions = [r.tolist() for r in part.regions]
    est = opeps.peps_correlation_cost(st, regions)
    meter.reset()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(timeout))
    t = time.perf_counter()
    done = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", opeps.PEPSCostWarning)
            mb.observables.effective_state(st, part)
    except _TimeBox:
        done = False
    except MemoryError:  # the address-space limit of --max-gib: a plaquette too large to contract
        done = None
    finally:
        signal.alarm(0)
    dt = time.perf_counter() - t
    status = ("" if done else f"  DID NOT FINISH within {timeout:g} s" if done is False
              else "  OUT OF MEMORY (--max-gib)")
    line(f"{L}x{L} D={D} chi={st.chi}: halves effective state",
         f"{dt:8.1f} s  (estimate {est['seconds']:8.1f} s){status}")
    line(f"  environment sets: {int(meter.env_n)} of {est['n_sizes']}",
         f"{meter.env_s:8.1f} s  (model {est['env_seconds']:.1f} s)")
    line(f"  plaquette contractions: {int(meter.plaq_n)} of {est['n_tuples']}",
         f"{meter.plaq_s:8.1f} s  (model {est['plaquette_seconds']:.1f} s)")
    if verbose:
        for (sx, sy), ts in sorted(meter.by_size.items()):
            line(f"    plaquette {sx}x{sy}: {len(ts)} done", f"mean {np.mean(ts):.2f} s, max {np.max(ts):.2f} s")
    return dt, done, est


def dmrg_case(L, chi):
    lat = mb.lattice.square(L, L)
    model = mb.lattice.heisenberg(lat)
    t = time.perf_counter()
    gs = mb.tn.ground_state(model, method="dmrg", bond_dim=chi, seed=0, degenerate="ignore")
    t_gs = time.perf_counter() - t
    t = time.perf_counter()
    eff = mb.observables.effective_state(gs, mb.lattice.Partition.halves(lat))
    t_eff = time.perf_counter() - t
    line(f"DMRG {L}x{L} open square, chi={chi}: ground state / halves effective state",
         f"{t_gs:.1f} s / {t_eff * 1e3:.0f} ms  (E/N = {gs.energy / lat.n_sites:.6f}, converged "
         f"{gs.diagnostics.converged}, T_zz = {eff.T[3, 3]:.5f})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="3x2,3x3,3x4,4x2,4x3,4x4,5x3,5x4,6x4",
                    help="comma-separated LxD (lattice side x PEPS bond dimension)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per case")
    ap.add_argument("--dmrg", default="", help="comma-separated LxCHI: DMRG comparisons, e.g. 6x64")
    ap.add_argument("--max-gib", type=float, default=10.0,
                    help="address-space limit of this process (GiB; a huge plaquette fails instead of "
                         "exhausting a shared machine)")
    ap.add_argument("--verbose", action="store_true", help="time per plaquette size")
    args = ap.parse_args(argv)
    if args.max_gib > 0:
        import resource
        lim = int(args.max_gib * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    print("== PEPS effective state, K = 2 halves, random real PEPS, chi = 4 D^2, 1 BLAS thread ==", flush=True)
    meter = Meter()
    run_case(2, 2, args.timeout, meter)  # imports, path caches
    for case in filter(None, args.cases.split(",")):
        L, D = map(int, case.split("x"))
        run_case(L, D, args.timeout, meter, verbose=args.verbose)
    for case in filter(None, args.dmrg.split(",")):
        L, chi = map(int, case.split("x"))
        dmrg_case(L, chi)
    return 0


if __name__ == "__main__":
    sys.exit(main())
