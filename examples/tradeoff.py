"""The seed's settings / body-order trade-off, numerically (seed claim 3, issue 11).

Ramanathan et al., PRL 107, 060405 (2011), §IV: with ``S_X`` settings per
region and M-body observables, the effective state admits an LHV model
whenever ``S_X <= N_X / M`` (symmetric-extension argument; Terhal, Doherty,
Schwab, PRL 90, 157903 (2003)).  For each ``(N_A, N_B, M)`` and settings
``S = (S_A, S_B)`` this script runs a seesaw over *states and observables*
(:func:`macrobell.observables.bell.mbody.state_search`):

* the observables are general +-1 observables on a party's M qubits
  (``A = sign(G)`` updates around the local-polytope LP, :func:`mbody_search`);
* the state is any ``N_A + N_B``-qubit pure state: for fixed observables and
  inequality the best one is the top eigenvector of the Bell operator
  averaged over the placements of its qubits on ordered M-tuples of distinct
  sites (the adjoint of the effective-state map), so every state met is
  one the effective-state map can produce, with no symmetry imposed by hand.

Each found violation is re-checked through the package's pipeline
(``tn.from_dense`` -> ``observables.effective_state(..., M)``) with the
returned observables and the inequality's exact (brute-force) local bound.
The table lists the smallest visibility found (``< 1``: violation) and the
largest quantum-to-local ratio of the final inequality over *all* states of
the system (``max_ratio``, an eigenvalue).  "No violation found" is a search
result, not a proof; rows with ``S_X <= N_X / M`` on some region are local by
the theorem, and the search agrees.

Run ``python examples/tradeoff.py [--out tradeoff.png] [--restarts 60] [--seed 2] [--quick] [--json]``
(about a minute on one core; ``--quick``: a few seconds, fewer rows and restarts).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import macrobell as mb
from macrobell.observables.bell.mbody import mbody_correlators, state_search
from macrobell.observables.criteria import settings_bound

#: (N_A, N_B, M, settings) rows; settings are (S_A, S_B).
ROWS = [
    (1, 1, 1, (1, 1)), (1, 1, 1, (2, 2)),
    (1, 2, 1, (2, 2)), (1, 2, 1, (3, 2)), (1, 2, 1, (2, 3)), (1, 2, 1, (3, 3)),
    (2, 2, 1, (2, 2)), (2, 2, 1, (3, 3)), (2, 2, 1, (4, 4)),
    (2, 2, 2, (1, 1)), (2, 2, 2, (2, 2)),
]
QUICK_ROWS = [(1, 1, 1, (1, 1)), (1, 1, 1, (2, 2)), (1, 2, 1, (2, 2)), (2, 2, 2, (1, 1)), (2, 2, 2, (2, 2))]


def pipeline_value(psi, sizes, M, res) -> float:
    """Inequality value of ``res`` on the package's effective state of ``psi`` (regions contiguous)."""
    N = sum(sizes)
    lat = mb.lattice.chain(N)
    part = mb.lattice.Partition(lat, (list(range(sizes[0])), list(range(sizes[0], N))), ("A", "B"))
    eff = mb.observables.effective_state(mb.tn.from_dense(psi, lat), part, M=M)
    return res.inequality.value(mbody_correlators(eff, res.observables))


def run_row(NA, NB, M, S, restarts, seed) -> dict:
    t0 = time.perf_counter()
    found = state_search((NA, NB), M=M, settings=S, restarts=restarts, seed=seed)
    res = found.bell
    row = {"N_A": NA, "N_B": NB, "M": M, "S_A": S[0], "S_B": S[1],
           "settings_bound": settings_bound((NA, NB), M),
           "local_by_theorem": bool(S[0] <= NA // M or S[1] <= NB // M),
           "visibility": float(res.visibility), "violated": bool(res.violated),
           "ratio": float(res.ratio), "max_ratio": float(found.max_ratio), "restarts": restarts,
           "seconds": round(time.perf_counter() - t0, 2)}
    if res.violated:
        v = pipeline_value(found.psi, (NA, NB), M, res)
        row["pipeline_value"], row["local_bound"] = float(v), float(res.local_bound)
        row["pipeline_violated"] = bool(v > res.local_bound + 1e-6)
    return row


def table(rows) -> str:
    head = "| N_A | N_B | M | S_A | S_B | S_X <= N_X/M somewhere | smallest visibility | violation | max ratio |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(f"| {r['N_A']} | {r['N_B']} | {r['M']} | {r['S_A']} | {r['S_B']} | "
                     f"{'yes (local)' if r['local_by_theorem'] else 'no'} | {min(r['visibility'], 1.0):.6f} | "
                     f"{'yes' if r['violated'] else 'none found'} | {r['max_ratio']:.6f} |")
    return "\n".join(lines)


def plot(rows, path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [f"({r['N_A']},{r['N_B']}) M={r['M']}\nS=({r['S_A']},{r['S_B']})" for r in rows]
    viol = np.array([max(0.0, 1.0 - r["visibility"]) for r in rows])
    theorem = np.array([r["local_by_theorem"] for r in rows])
    x = np.arange(len(rows))
    ax.bar(x, viol, color=np.where(theorem, "tab:blue", "tab:red"), width=0.6)
    ax.scatter(x[theorem], viol[theorem], marker="s", color="tab:blue", zorder=3,
               label="some S_X <= N_X/M: LHV (seed claim 3)")
    ax.scatter(x[~theorem], viol[~theorem], marker="o", color="tab:red", zorder=3,
               label="every S_X > N_X/M: violation possible")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("1 - smallest visibility found")
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.set_ylim(-0.002, 0.6)
    ax.legend(fontsize=8, loc="upper center")
    ax.set_title("Largest violation found by the state + observable seesaw (0: none)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="tradeoff.png")
    p.add_argument("--restarts", type=int, default=60)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    rows = [run_row(NA, NB, M, S, 4 if a.quick else a.restarts, a.seed)
            for NA, NB, M, S in (QUICK_ROWS if a.quick else ROWS)]
    print(table(rows))
    bad = [r for r in rows if r["local_by_theorem"] and r["violated"]]
    unchecked = [r for r in rows if r["violated"] and not r.get("pipeline_violated")]
    if a.json:
        print(json.dumps(rows, indent=1))
    plot(rows, a.out)
    print(f"figure: {a.out}")
    if bad or unchecked:
        print("ERROR: a violation where the theorem forbids one, or one the pipeline does not confirm",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
