"""Benchmark: our code versus the library that could do the same job (issue 10).

Each candidate is timed ours-versus-library in the same run, memory is
measured where it matters (peak RSS of a fresh subprocess, so numba's
allocations are counted too), and the results are compared for equality:

* Trotter layers: ``tn.gates.commuting_layers`` vs ``quimb.tensor.edge_coloring``
  (networkx line-graph greedy colouring), and ``tn.gates.step_sequence`` vs
  ``quimb.tensor.trotter_schedule``;
* sparse Hamiltonian: ``SpinModel.to_sparse`` vs quimb's
  ``SparseOperatorBuilder.build_sparse_matrix`` (full space, and the U(1)
  sector build the exact backend could use);
* PEPS local Hamiltonian: ``tn.peps.model_to_local_ham`` vs the builder's
  ``build_local_ham`` / ``build_local_terms``;
* lattice 2-colouring: ``lattice.geometry._two_colouring`` vs
  ``networkx.bipartite.color``;
* TOML writer: ``data._toml.to_toml`` vs ``tomli_w.dumps``.

    python benchmarks/bench_library.py [--quick]

The decisions the figures led to are recorded in the modules' docstrings.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Mapping

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, line  # noqa: E402

import macrobell as mb  # noqa: E402
from macrobell.lattice import geometry as geo  # noqa: E402
from macrobell.tn import gates  # noqa: E402


# ---------------------------------------------------------------- helpers


def _models(quick):
    L = mb.lattice
    out = [
        ("heisenberg chain 16", L.heisenberg(L.chain(16), J2=0.3, h=0.2)),
        ("xyz ring 14", L.xyz(L.chain(14, pbc=True), Jx=0.7, Jy=1.1, Jz=0.4, h=0.3)),
        ("tfim square 4x4", L.tfim(L.square(4, 4), g=0.8)),
        ("heisenberg kagome 2x2", L.heisenberg(L.kagome(2, 2), h=0.1)),
    ]
    if not quick:
        out.append(("heisenberg chain 18", L.heisenberg(L.chain(18), J2=0.3)))
    return out


def _builder(model):
    """The model in quimb's SparseOperatorBuilder (Pauli units, site i = register i)."""
    from quimb.operator import HilbertSpace, SparseOperatorBuilder

    b = SparseOperatorBuilder(hilbert_space=HilbertSpace(model.n_sites), atol=0.0)
    for sites, ops, coef in model.pauli_strings():
        b.add_term(coef, *zip(ops, sites))
    return b


def _sector_builder(model, n_up):
    """A U(1)-conserving model in the builder, in the sector of ``n_up`` up spins.

    The builder checks symmetry term by term, so ``SxSx + SySy`` is written
    as ``(S+S- + S-S+)/2`` (``xx`` and ``yy`` alone change S^z by 2).
    """
    from quimb.operator import HilbertSpace, SparseOperatorBuilder

    acc = {}
    for t in model.terms:
        for i, j in t.bonds:
            c = acc.setdefault((int(i), int(j)), {"xx": 0.0, "yy": 0.0, "zz": 0.0})
            c[t.ops] += t.coefficient
    hs = HilbertSpace(model.n_sites, sector=n_up, symmetry="U1")
    b = SparseOperatorBuilder(hilbert_space=hs, atol=0.0)
    for (i, j), c in acc.items():
        if c["xx"]:
            b.add_term(c["xx"] / 2, ("+", i), ("-", j))
            b.add_term(c["xx"] / 2, ("-", i), ("+", j))
        if c["zz"]:
            b.add_term(c["zz"], ("sz", i), ("sz", j))
    for f in model.fields:
        for i in f.sites:
            b.add_term(f.coefficient, ("sz", int(i)))
    return b


def _our_sectors(model):
    """Sector blocks as the exact backend takes them: the full CSR matrix, sliced per S^z."""
    H = model.to_sparse()
    n = model.n_sites
    ups = np.array([bin(i).count("1") for i in range(2**n)])
    return [H[idx][:, idx] for idx in (np.flatnonzero(ups == k) for k in range(n + 1))]


def _peak_rss_mb(code):
    """Peak RSS growth (MB) of a fresh interpreter while it runs ``code`` (after its imports).

    The high-water mark is reset (``/proc/self/clear_refs`` = 5) after the
    imports, since a child inherits its parent's mark through fork.
    """
    head = ("import macrobell as mb, numpy as np, quimb.operator, scipy.sparse\n"
            "def hwm():\n"
            "    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
            "def rss():\n"
            "    return int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])\n"
            "open('/proc/self/clear_refs', 'w').write('5')\n"
            "r0 = rss()\n")
    probe = "\nprint(hwm() - r0)"
    run = subprocess.run([sys.executable, "-c", head + code + probe], capture_output=True, text=True, check=True)
    return int(run.stdout.split()[-1]) / 1024


# ---------------------------------------------------------------- candidates


def _merged_step_svds(layers):
    """SVDs of one merged order-2 step: first and last layer once, the others twice; a bond of range r
    costs 2 (r - 1) swaps + 1 gate."""
    c = [sum(2 * (l - k - 1) + 1 for k, l in lay) for lay in layers]
    return c[0] + c[-1] + 2 * sum(c[1:-1]) if len(c) > 1 else c[0]


def _cost_sorted(layers):
    """quimb's layers in the order commuting_layers uses (two costliest first and last)."""
    if len(layers) <= 2:
        return layers
    cost = [sum(2 * (l - k - 1) + 1 for k, l in lay) for lay in layers]
    idx = sorted(range(len(layers)), key=lambda i: -cost[i])
    return [layers[i] for i in [idx[0]] + idx[2:] + [idx[1]]]


def bench_layers(reps):
    """Layers and schedules: ours vs quimb.tensor.edge_coloring / trotter_schedule."""
    import quimb.tensor as qtn

    print("-- Trotter layers (tn/gates.py)", flush=True)
    L = mb.lattice
    rows = []
    qtn.edge_coloring([(0, 1), (1, 2)])  # import networkx outside the timing
    for label, model in [("chain 64", L.heisenberg(L.chain(64))),
                         ("square 6x6 snake", L.heisenberg(L.square(6, 6))),
                         ("kagome 3x3", L.heisenberg(L.kagome(3, 3))),
                         ("j1j2 ladder 2x16", L.j1j2(L.ladder(16))),
                         ("triangular 4x4", L.heisenberg(L.triangular(4, 4))),
                         ("honeycomb 3x3", L.heisenberg(L.honeycomb(3, 3))),
                         ("j1j2 chain 20", L.j1j2(L.chain(20)))]:
        bonds, _ = gates.hamiltonian_pieces(model)
        edges = [(k, l) for k, l, _ in bonds]
        t_o, ours = best_time(lambda: gates.commuting_layers(bonds), max(reps, 10))
        t_l, lib = best_time(lambda: qtn.edge_coloring(edges), max(reps, 10))
        ours = [[edges[b] for b in lay] for lay in ours]
        lib = [list(lay) for lay in lib]
        equal = sorted(map(sorted, ours)) == sorted(map(sorted, lib))
        s_o, s_l, s_ls = _merged_step_svds(ours), _merged_step_svds(lib), _merged_step_svds(_cost_sorted(lib))
        line(f"{label}: layers ours / quimb", f"{len(ours)} / {len(lib)}")
        line(f"{label}: SVDs/step ours / quimb / quimb+our order", f"{s_o} / {s_l} / {s_ls} ({s_ls / s_o - 1:+.1%})")
        line(f"{label}: time ours / quimb", f"{t_o * 1e3:.3f} / {t_l * 1e3:.3f}", "ms")
        line(f"{label}: same layers", str(equal))
        rows.append(dict(case=label, ours_ms=t_o * 1e3, lib_ms=t_l * 1e3, ours_svds=s_o, lib_svds=s_l,
                         lib_sorted_svds=s_ls, equal=equal))
    same = exact = True
    for n in (1, 2, 3, 5):
        for order, w in ((2, gates.SCHEMES[2]), (4, gates.SCHEMES["suzuki"])):
            ours = gates.step_sequence(n, w, 0.1)
            lib = [(m, 0.1 * f) for m, f in qtn.trotter_schedule(n, order)]
            same &= [m for m, _ in ours] == [m for m, _ in lib]
            exact &= [t for _, t in ours] == [t for _, t in lib]
    t_o, _ = best_time(lambda: gates.step_sequence(5, gates.SCHEMES["suzuki"], 0.1), max(reps, 100))
    t_l, _ = best_time(lambda: [(m, 0.1 * f) for m, f in qtn.trotter_schedule(5, 4)], max(reps, 100))
    imp = subprocess.run([sys.executable, "-c", "import time, macrobell.tn.purification; t = time.perf_counter(); "
                          "import quimb.tensor; print(time.perf_counter() - t)"], capture_output=True, text=True,
                         check=True)
    t_imp = float(imp.stdout.split()[-1])
    line("step_sequence / trotter_schedule (5 layers, suzuki)", f"{t_o * 1e6:.1f} / {t_l * 1e6:.1f}", "us")
    line("import quimb.tensor after tn.purification (which does not need it)", f"{t_imp:.2f}", "s")
    rows.append(dict(case="step_sequence", ours_us=t_o * 1e6, lib_us=t_l * 1e6, lib_import_s=t_imp))
    line("step_sequence == trotter_schedule (orders 2, 4-suzuki; 1-5 layers): layers, exact τ",
         f"{same}, {exact}")
    line("forest-ruth order 4 in trotter_schedule", "no (only order 1, 2, 4-suzuki)")
    return rows


def bench_sparse(quick, reps):
    """to_sparse vs SparseOperatorBuilder.build_sparse_matrix (full space and a U(1) sector)."""
    print("-- sparse Hamiltonian (SpinModel.to_sparse)", flush=True)
    rows = []
    warm = mb.lattice.heisenberg(mb.lattice.chain(4))  # numba compiles outside the timings
    _builder(warm).build_sparse_matrix()
    _sector_builder(warm, 2).build_sparse_matrix()
    for label, model in _models(quick):
        t_o, H = best_time(lambda: model.to_sparse(), reps)
        b = _builder(model)
        t_l, Q = best_time(lambda: _builder(model).build_sparse_matrix(stype="csr"), reps)
        if np.isrealobj(H) and np.iscomplexobj(Q.data) and not np.any(Q.data.imag):
            Q = Q.real
        diff = abs(H - Q).max() if H.nnz else 0.0
        exact = diff == 0.0
        line(f"{label}: time ours / quimb", f"{t_o * 1e3:.1f} / {t_l * 1e3:.1f}", "ms")
        line(f"{label}: nnz ours / quimb, max |diff|", f"{H.nnz} / {Q.nnz}, {diff:.1e}")
        row = dict(case=label, ours_ms=t_o * 1e3, lib_ms=t_l * 1e3, max_diff=float(diff), exact=exact)
        del b
        if label.startswith("heisenberg chain"):
            n = model.n_sites
            code_o = (f"m = mb.lattice.heisenberg(mb.lattice.chain({n}), J2=0.3); H = m.to_sparse()")
            code_l = (f"m = mb.lattice.heisenberg(mb.lattice.chain({n}), J2=0.3)\n"
                      "b = quimb.operator.SparseOperatorBuilder(hilbert_space=quimb.operator.HilbertSpace("
                      f"{n}), atol=0.0)\n"
                      "for s, o, c in m.pauli_strings(): b.add_term(c, *zip(o, s))\n"
                      "H = b.build_sparse_matrix(stype='csr')")
            row["ours_mb"], row["lib_mb"] = _peak_rss_mb(code_o), _peak_rss_mb(code_l)
            line(f"{label}: peak memory ours / quimb", f"{row['ours_mb']:.0f} / {row['lib_mb']:.0f}", "MB")
            t_os, ours_s = best_time(lambda: _our_sectors(model), reps)
            t_ls, lib_s = best_time(lambda: [_sector_builder(model, k).build_sparse_matrix(stype="csr")
                                             for k in range(n + 1)], 1)  # seconds per run: one is enough
            # quimb's U1 sector k counts 1-bits (= down spins here, |1> = down); ours counts 1-bits too
            sdiff = max(abs(a - b).max() if a.nnz or b.nnz else 0.0 for a, b in zip(ours_s, lib_s))
            line(f"{label}: all S^z sectors ours (to_sparse + slice) / quimb",
                 f"{t_os * 1e3:.1f} / {t_ls * 1e3:.1f}", "ms")
            line(f"{label}: sectors max |diff|", f"{sdiff:.1e}")
            row.update(ours_sector_ms=t_os * 1e3, lib_sector_ms=t_ls * 1e3, sector_diff=float(sdiff))
        rows.append(row)
    return rows


def bench_local_ham(reps):
    """model_to_local_ham vs the builder's build_local_terms -> LocalHam2D."""
    import quimb.tensor as qtn
    from quimb.operator import SparseOperatorBuilder

    from macrobell.tn.peps import lattice_coords, model_to_local_ham

    print("-- PEPS local Hamiltonian (tn/peps.py model_to_local_ham)", flush=True)
    L = mb.lattice
    rows = []
    for label, model in [("heisenberg 4x4 h", L.heisenberg(L.square(4, 4), h=0.3)),
                         ("xyz 6x6", L.xyz(L.square(6, 6), Jx=0.5, Jz=1.3, h=0.1)),
                         ("tfim 3x5", L.tfim(L.square(3, 5), g=1.1))]:
        t_o, (ham, Lx, Ly, coords) = best_time(lambda: model_to_local_ham(model), max(reps, 10))

        def lib():
            Lx, Ly, coords = lattice_coords(model.lattice)
            b = SparseOperatorBuilder(atol=0.0)
            for term in model.terms:
                for i, j in term.bonds:
                    b.add_term(term.coefficient, ("s" + term.ops[0], tuple(coords[i])),
                               ("s" + term.ops[1], tuple(coords[j])))
            for f in model.fields:
                for i in f.sites:
                    b.add_term(f.coefficient, ("s" + f.op, tuple(coords[i])))
            Hk = b.build_local_terms()
            H2 = {k: v for k, v in Hk.items() if len(k) == 2}
            H1 = {k[0]: v for k, v in Hk.items() if len(k) == 1}
            return qtn.LocalHam2D(Lx, Ly, H2, H1=H1 or None)

        t_l, ham_l = best_time(lib, max(reps, 10))
        diff = max(np.abs(np.asarray(ham.terms[k]) - np.asarray(ham_l.terms[k])).max() for k in ham.terms)
        same_keys = set(ham.terms) == set(ham_l.terms)
        line(f"{label}: time ours / builder", f"{t_o * 1e3:.2f} / {t_l * 1e3:.2f}", "ms")
        line(f"{label}: same bonds, max |diff| of terms", f"{same_keys}, {diff:.1e}")
        rows.append(dict(case=label, ours_ms=t_o * 1e3, lib_ms=t_l * 1e3, max_diff=float(diff)))
    line("builder's build_local_ham returns", "LocalHamGen (PEPS simple update needs LocalHam2D)")
    return rows


def _nx_colouring(n, nn):
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from((int(i), int(j)) for i, j in nn)
    try:
        c = nx.bipartite.color(G)
    except nx.NetworkXError:
        return np.zeros(n, dtype=int)
    return np.array([1 - c[i] if G.degree(i) else 0 for i in range(n)], dtype=int)


def bench_colouring(reps):
    print("-- lattice 2-colouring (lattice/geometry.py _two_colouring)", flush=True)
    L = mb.lattice
    rows = []
    _nx_colouring(2, [(0, 1)])  # import networkx outside the timing
    for label, lat in [("square 32x32", L.square(32, 32)), ("cubic 10^3", L.cubic(10)),
                       ("triangular 20x20 (not bipartite)", L.triangular(20, 20)),
                       ("chain 10000", L.chain(10000))]:
        nn = lat.bond_array("nn")
        n = lat.n_sites
        t_o, a = best_time(lambda: geo._two_colouring(n, nn), max(reps, 10))  # ms each: best of 10
        t_n, c = best_time(lambda: _nx_colouring(n, nn), max(reps, 10))
        eq = bool(np.array_equal(a, c))
        line(f"{label}: ours / networkx", f"{t_o * 1e3:.2f} / {t_n * 1e3:.2f}", "ms")
        line(f"{label}: identical colourings", str(eq))
        rows.append(dict(case=label, ours_ms=t_o * 1e3, lib_ms=t_n * 1e3, equal=eq))
    return rows


def _old_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, np.ndarray):
        return _old_value(v.tolist())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_old_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_old_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return _old_value(v.item())
    raise TypeError(v)


def _old_to_toml(config):
    """The former hand-written writer of data/_toml.py (the reference here)."""
    lines = []
    for k, v in config.items():
        if not isinstance(v, (Mapping, list)) or (isinstance(v, list) and not all(isinstance(x, Mapping) for x in v)):
            lines.append(f"{k} = {_old_value(v)}")
    for k, v in config.items():
        if isinstance(v, Mapping):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {_old_value(vv)}" for kk, vv in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            for item in v:
                lines.append(f"\n[[{k}]]")
                lines += [f"{kk} = {_old_value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def bench_toml(reps):
    from macrobell.data._toml import to_toml  # tomli_w since issue 10

    print("-- TOML writer (data/_toml.py)", flush=True)
    cfg = {"name": "bench", "seed": 7, "tol": 1e-10, "flag": True,
           "lattice": {"kind": "square", "Lx": 4, "Ly": 4, "pbc": [False, True]},
           "model": {"kind": "heisenberg", "J": {"leg": 1.0, "rung": 0.5}, "h": 0.0},
           "scan": [{"param": "T", "values": list(np.linspace(0.1, 2.0, 40))},
                    {"param": "J2", "values": [0.0, 0.25, 0.5]}],
           "output": {"path": "out.h5", "regions": [[0, 1], [2, 3]]}}
    reps = max(reps, 20)
    t_o, old = best_time(lambda: _old_to_toml(cfg), reps)
    t_l, new = best_time(lambda: to_toml(cfg), reps)
    same = tomllib.loads(old) == tomllib.loads(new) == json.loads(json.dumps(cfg))
    line("time former writer / tomli_w (with numpy unpacking)", f"{t_o * 1e6:.0f} / {t_l * 1e6:.0f}", "us")
    line("both read back (tomllib) to the config", str(same))
    line("same text", str(old == new))
    bad = {"space key": {"a b": 1}, "dotted key": {"m": {"x.y": 1}}, "empty top-level list": {"e": [], "f": 1}}
    for what, c in bad.items():
        try:
            ok_old = tomllib.loads(_old_to_toml(c)) == c
        except tomllib.TOMLDecodeError:
            ok_old = False
        line(f"{what}: reads back, former / tomli_w", f"{ok_old} / {tomllib.loads(to_toml(c)) == c}")
    return [dict(old_us=t_o * 1e6, lib_us=t_l * 1e6, same_read_back=same)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller cases, one repetition")
    a = p.parse_args(argv)
    reps = 1 if a.quick else 3
    out = {"layers": bench_layers(reps), "sparse": bench_sparse(a.quick, reps),
           "local_ham": bench_local_ham(reps), "colouring": bench_colouring(reps), "toml": bench_toml(reps)}
    return out


if __name__ == "__main__":
    main()
