"""Benchmark: U(1)-symmetric DMRG (``conserve="Sz"``) on cylinders, against TeNPy in the same run.

Choice of engine (issue 12). Two candidates were measured on the 8 × 4
Heisenberg cylinder (``square(8, 4, pbc_y=True)``, macrobell's snake MPS
order) at χ = 256:

* symmray 0.5 block-sparse U(1) arrays with quimb. symmray ships random
  symmetric MPS/PEPS and local Hamiltonian *terms*, but neither an MPO
  builder nor a DMRG that runs on its arrays (quimb's ``DMRG`` eigensolves
  dense local operators); a working engine would have to be written here.
  ``--matvec`` times its kernel anyway: the two-site effective-Hamiltonian
  matvec ``L · θ · W · W · R`` on the middle bond of the converged χ = 256
  state, with symmray arrays of exactly TeNPy's block structure (charges and
  block sizes of every leg), against TeNPy's own ``TwoSiteH.matvec``.
* TeNPy 1.1's charge-conserving ``TwoSiteDMRGEngine`` (``np_conserved``):
  a complete, tested DMRG with mixer, truncation by discarded weight,
  excited states (``orthogonal_to``) and a block-sparse MPO.

The wrapped TeNPy engine won: it is a working DMRG at TeNPy's own speed
(the same code path, so the ratio below is ~1 by construction, minus
macrobell's fixed extras: our MPO, the exact-conversion check and the
variance), and symmray's matvec kernel was not faster than TeNPy's on the
same blocks (``--matvec``: 9.8 ms vs 8.7 ms and 17.1 ms vs 15.1 ms in two
runs at χ = 256, MPO bond 14, i.e. 1.13×), so writing a DMRG driver around
it would buy nothing.

Runs (all single-threaded, same process):

* ``macrobell``: ``dmrg_ground_state(model, conserve="Sz", degenerate="ignore")``
  (the manifold check is timed separately with ``--manifold``);
* ``TeNPy``: ``tenpy.algorithms.dmrg.run`` on the same U(1) model (same MPS
  order), mixer on, χ ramp 16, 32, … as ours, ``max_E_err = tol · N``;
* ``--dense``: macrobell's dense quimb path (``conserve="none"``; slow);
* ``--big``: χ = 1024 on the 6 × 4 cylinder (minutes), with peak memory.

    python benchmarks/bench_symmetric_dmrg.py [--quick] [--matvec] [--dense] [--big] [--manifold]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import line  # noqa: E402

import numpy as np  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.tn import _dmrg_u1  # noqa: E402
from macrobell.tn.dmrg import dmrg_ground_state  # noqa: E402


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def tenpy_run(model, chi, tol, cutoff):
    """TeNPy's own DMRG driver on macrobell's U(1) model; returns (E, psi, tenpy model)."""
    from tenpy.algorithms import dmrg
    from tenpy.networks.mps import MPS

    tm = _dmrg_u1.tenpy_model(model)
    n = model.n_sites
    psi = MPS.from_product_state(tm.lat.mps_sites(), _dmrg_u1.product_labels(model, n % 2), bc="finite",
                                 unit_cell_width=n)
    ramp, b, s = {}, 16, 0
    while b < chi:
        ramp[s], b, s = b, 2 * b, s + 1
    ramp[s] = chi
    params = {"mixer": True, "max_E_err": tol * n, "max_sweeps": 40, "chi_list": ramp,
              "trunc_params": {"chi_max": chi, "svd_min": 1e-14, "trunc_cut": cutoff ** 0.5}}
    info = dmrg.run(psi, tm, params)
    tenpy_run.sweeps = int(info["sweep_statistics"]["sweep"][-1])
    return float(info["E"]), psi, tm


def matvec_compare(psi, tm, reps=3):
    """Best time of TeNPy's two-site matvec and of symmray's on the same block structure (middle bond)."""
    import symmray as sr
    from tenpy.algorithms.dmrg import TwoSiteDMRGEngine
    from tenpy.algorithms.mps_common import TwoSiteH

    eng = TwoSiteDMRGEngine(psi, tm, {"trunc_params": {"chi_max": max(psi.chi)}})
    i0 = psi.L // 2 - 1
    env = eng.env
    H = TwoSiteH(env, i0, combine=False)
    theta = psi.get_theta(i0, n=2)
    t_tp = min(_timed(lambda: H.matvec(theta)) for _ in range(reps))

    def to_sr(a, seed):
        idx = []
        for leg in a.legs:
            cm = {}
            for (q,), (lo, hi) in zip(leg.charges, zip(leg.slices[:-1], leg.slices[1:])):
                cm[int(q)] = cm.get(int(q), 0) + int(hi - lo)
            idx.append(sr.BlockIndex(cm, dual=leg.qconj == -1))
        return sr.U1Array.random(idx, charge=int(a.qtotal[0]), seed=seed)

    LP = env.get_LP(i0).itranspose(["vR*", "wR", "vR"])
    RP = env.get_RP(i0 + 1).itranspose(["vL", "wL", "vL*"])
    W0 = H.W0.itranspose(["wL", "wR", "p0", "p0*"])
    W1 = H.W1.itranspose(["wL", "wR", "p1", "p1*"])
    th = theta.itranspose(["vL", "p0", "p1", "vR"])
    sL, sR, s0, s1, sth = (to_sr(a, k) for k, a in enumerate((LP, RP, W0, W1, th)))
    stored_tp = sum(b.size for b in th._data)
    stored_sr = sum(b.size for b in sth.blocks.values())

    def sr_matvec():
        x = sr.tensordot(sL, sth, ([2], [0]))        # b w s p r
        x = sr.tensordot(x, s0, ([1, 2], [0, 3]))    # b p r v t
        x = sr.tensordot(x, s1, ([3, 1], [0, 3]))    # b r t u q
        return sr.tensordot(x, sR, ([3, 1], [1, 0]))  # b t q c (RP: vL is the ket leg)

    t_sr = min(_timed(sr_matvec) for _ in range(reps))
    return t_tp, t_sr, stored_tp, stored_sr, max(psi.chi), int(W0.get_leg("wL").ind_len)


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="4 x 4 cylinder at chi = 64 (seconds)")
    ap.add_argument("--lx", type=int, default=8)
    ap.add_argument("--ly", type=int, default=4)
    ap.add_argument("--chi", type=int, default=256)
    ap.add_argument("--tol", type=float, default=1e-9, help="per-site energy tolerance (ours), tol*N for TeNPy")
    ap.add_argument("--cutoff", type=float, default=1e-12)
    ap.add_argument("--matvec", action="store_true", help="symmray vs TeNPy two-site matvec on the final state")
    ap.add_argument("--dense", action="store_true", help="also macrobell's dense quimb path (slow)")
    ap.add_argument("--manifold", action="store_true", help="also the default run with the manifold check")
    ap.add_argument("--big", action="store_true", help="only chi = 1024 on the 6 x 4 cylinder (minutes)")
    args = ap.parse_args(argv)
    if args.big:
        lx, ly, chi = 6, 4, 1024
    elif args.quick:
        lx, ly, chi = 4, 4, 64
    else:
        lx, ly, chi = args.lx, args.ly, args.chi
    model = mb.lattice.heisenberg(mb.lattice.square(lx, ly, pbc_y=True))
    n = model.n_sites
    print(f"== U(1) DMRG, Heisenberg {lx}x{ly} cylinder (N={n}), chi={chi}, tol={args.tol:g}/site, "
          f"cutoff={args.cutoff:g}, 1 thread ==", flush=True)
    t = time.perf_counter()
    st = dmrg_ground_state(model, bond_dim=chi, tol=args.tol, cutoff=args.cutoff, conserve="Sz",
                           degenerate="ignore")
    t_ours = time.perf_counter() - t
    d = st.diagnostics
    line("macrobell dmrg (conserve='Sz')", f"{t_ours:.1f} s  E={st.energy:.10f}  sweeps={d.n_sweeps}  "
         f"var={d.energy_variance:.1e}  disc={d.discarded_weight:.1e}  max_bond={d.max_bond}  "
         f"converged={d.converged}  stopped_by={st.info['stopped_by']}  maxrss={_maxrss_mib():.0f} MiB")
    tm_ = st.info["timings"]
    line("  of which sweeps / conversion+<H> check / exact variance",
         f"{tm_['dmrg_s']:.1f} s / {tm_['check_s']:.1f} s / {tm_['variance_s']:.1f} s")
    if args.big:
        return 0
    t = time.perf_counter()
    e_tp, psi, tm = tenpy_run(model, chi, args.tol, args.cutoff)
    t_tp = time.perf_counter() - t
    line("TeNPy dmrg.run (conserve='Sz', mixer)", f"{t_tp:.1f} s  E={e_tp:.10f}  max chi={max(psi.chi)}  "
         f"full sweeps={tenpy_run.sweeps}")
    line("energy difference (macrobell - TeNPy)", f"{st.energy - e_tp:.2e}")
    line("RATIO macrobell time / TeNPy time", f"{t_ours / t_tp:.2f}", "x (target <= ~1)")
    line("RATIO macrobell sweeps only / TeNPy time", f"{tm_['dmrg_s'] / t_tp:.2f}", "x (TeNPy computes no variance)")
    if args.manifold:
        t = time.perf_counter()
        sd = dmrg_ground_state(model, bond_dim=chi, tol=args.tol, cutoff=args.cutoff, conserve="Sz")
        t_m = time.perf_counter() - t
        line("macrobell dmrg, default manifold check", f"{t_m:.1f} s  gap<={sd.info['gap']:.4f}  "
             f"dim={sd.info['ground_manifold_dim']}  check={sd.info['gap_check_s']:.1f} s")
    if args.matvec:
        t_mv, t_sr, s_tp, s_sr, chi_m, w = matvec_compare(psi, tm)
        line("two-site matvec, TeNPy TwoSiteH", f"{1e3 * t_mv:.1f} ms  (chi={chi_m}, MPO bond {w}, "
             f"theta stored {s_tp})")
        line("two-site matvec, symmray U1Array", f"{1e3 * t_sr:.1f} ms  (same blocks: theta stored {s_sr})")
        line("RATIO symmray / TeNPy matvec", f"{t_sr / t_mv:.2f}", "x")
    if args.dense:
        t = time.perf_counter()
        sd = dmrg_ground_state(model, bond_dim=chi, tol=args.tol, cutoff=args.cutoff, conserve="none",
                               degenerate="ignore")
        t_d = time.perf_counter() - t
        line("macrobell dense quimb DMRG2 (conserve='none')", f"{t_d:.1f} s  E={sd.energy:.10f}")
        line("RATIO dense / U(1) time", f"{t_d / t_ours:.2f}", "x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
