"""Macroscopic locality next to microscopic Bell correlations: one-axis-twisted spin-squeezed states.

The seed's point (Ramanathan et al., PRL 107, 060405 (2011)): correlations of
macroscopic regions look local although the individual spins can be
Bell-correlated.  The family here is the one-axis-twisted state of N spins
(Kitagawa & Ueda, PRA 47, 5138 (1993)),

    |psi(mu)> = exp(-i mu S_z^2 / 2) |+x>^N,     S = (1/2) sum_i sigma^i,

permutation symmetric, spin-squeezed for small ``mu > 0``.  For each ``mu``:

* **microscopic** (individual spins as parties): the Tura et al., Science 344,
  1256 (2014) two-setting expression (``< 0``: Bell-correlated spins), shown
  divided by ``2N``, and the Schmied et al., Science 352, 441 (2016) witness
  ``zeta_x^2 - bound`` (``< 0``: Bell-correlated), both from the whole-chain
  moments (``macrobell.observables.witnesses``);
* **macroscopic** (two regions of N/2 spins, the halves): the effective state
  (``macrobell.observables.effective_state``), the Bell engine
  (``bell.decide``: LP/settings searches with 2 and 3 settings, I3322, LHS
  certificate) and the verdict of ``eff.criteria(bell=...)``; shown as
  ``chsh_max / 2`` and the smallest visibility the searches found (``< 1``:
  violation).  Besides, by the seed's claim 3 no inequality with at most
  ``N/2`` settings on a region is violated by the effective state at all.

Run ``python examples/macro_vs_micro.py [macro_vs_micro.png] [--n 12] [--points 13] [--json]``
(about half a minute for N = 12).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import macrobell as mb


def twisted_state(N: int, mu: float) -> np.ndarray:
    """``exp(-i mu S_z^2 / 2) |+x>^N`` as a dense vector (site 0 most significant, |0> = up)."""
    bits = (np.arange(2**N)[:, None] >> np.arange(N)[::-1]) & 1
    sz = (N - 2 * bits.sum(axis=1)) / 2.0
    return np.exp(-0.5j * mu * sz**2) / np.sqrt(2**N)


def point(N: int, mu: float, seed: int = 0) -> dict:
    lat = mb.lattice.chain(N)
    part = mb.lattice.Partition.halves(lat)
    state = mb.tn.from_dense(twisted_state(N, mu), lat)
    tura = mb.observables.witnesses.tura(state, seed=seed)
    schmied = mb.observables.witnesses.schmied(state, directions="optimal")
    eff = mb.observables.effective_state(state, part)
    dec = mb.observables.bell.decide(eff, seed=seed)
    crit = eff.criteria(bell=dec["hook"])
    vis = [v for k, v in dec["columns"].items() if k.startswith("bell_visibility_S")]
    return {"mu": float(mu), "tura_over_2n": float(tura.value / (2 * N)), "tura_violated": bool(tura.violated),
            "schmied": float(schmied.value), "schmied_violated": bool(schmied.value < 0),
            "chsh_max": float(crit["chsh_max"]), "bell_visibility": float(min(vis)),
            "verdict": str(crit["verdict"]), "entangled": bool(crit["entangled"]),
            "no_violation_below_settings": list(crit["no_violation_below_settings"])}


def plot(rows, N, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mu = np.array([r["mu"] for r in rows])
    fig, (top, bot) = plt.subplots(2, 1, sharex=True, figsize=(7.5, 6.2))
    top.axhline(0, color="k", lw=0.8)
    top.plot(mu, [r["tura_over_2n"] for r in rows], "o-", label="Tura et al. 2014 / 2N  (< 0: Bell-correlated)")
    top.plot(mu, [r["schmied"] for r in rows], "s-", label="Schmied et al. 2016 witness  (< 0: Bell-correlated)")
    micro = np.array([r["tura_violated"] for r in rows])
    if micro.any():
        top.axvspan(mu[micro].min(), mu[micro].max(), color="tab:red", alpha=0.12, label="individual spins nonlocal")
    top.set_ylabel("microscopic witness")
    top.set_ylim(-0.1, 0.3)
    top.legend(fontsize=8)
    top.set_title(f"One-axis twisting, N = {N}: spins Bell-correlated, halves (N_X = {N // 2}) local", fontsize=10)
    bot.axhline(1, color="k", lw=0.8)
    bot.plot(mu, [r["chsh_max"] / 2 for r in rows], "o-", color="tab:green", label="chsh_max / 2 (> 1: CHSH violated)")
    bot.plot(mu, [min(r["bell_visibility"], 1.5) for r in rows], "^-", color="tab:purple",
             label="smallest visibility found, 2 and 3 settings (< 1: violated)")
    for r in rows:
        bot.annotate(r["verdict"], (r["mu"], 0.27), rotation=90, fontsize=7, ha="center", va="bottom")
    bot.set_ylim(0.25, 1.55)
    bot.set_xlabel("twisting strength mu")
    bot.set_ylabel("macroscopic (effective state)")
    bot.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", nargs="?", default="macro_vs_micro.png")
    p.add_argument("--n", type=int, default=12)
    p.add_argument("--points", type=int, default=13)
    p.add_argument("--mu-max", type=float, default=0.6)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    if a.n < 4 or a.n % 2 or a.n > 16:
        p.error(f"--n must be an even number of spins in 4..16, got {a.n}")
    if a.points < 2:
        p.error(f"--points must be >= 2, got {a.points}")
    t0 = time.perf_counter()
    rows = [point(a.n, mu) for mu in np.linspace(0.0, a.mu_max, a.points)]
    print("| mu | Tura/2N | Schmied | chsh_max | smallest visibility | macroscopic verdict |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mu']:.3f} | {r['tura_over_2n']:+.4f} | {r['schmied']:+.4f} | {r['chsh_max']:.4f} | "
              f"{r['bell_visibility']:.4f} | {r['verdict']} |")
    both = [r for r in rows if r["tura_violated"] and r["verdict"] != "nonlocal"]
    print(f"{len(both)} of {len(rows)} states: Tura violated by the spins, halves not nonlocal "
          f"({time.perf_counter() - t0:.0f} s)")
    if a.json:
        print(json.dumps(rows, indent=1))
    plot(rows, a.n, a.out)
    print(f"figure: {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
