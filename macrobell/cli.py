"""The ``macrobell`` command line.

::

    macrobell demo [-o demo.h5]
    macrobell run SWEEP.toml -o OUT.h5 [--workers N] [--scheduler ADDR] [--resume] [--threads N]
    macrobell point --lattice chain --L 12 --pbc --model heisenberg --Delta 1 --T 0 --partition sublattices
    macrobell point --material CuPzN --L 8 --pbc --T 2 --kelvin --h-tesla 5   # a material needs a --T unit
    macrobell point --L 12 --region A=0 --region B=1,11 --json      # a custom partition, JSON output
    macrobell list {lattices,models,partitions,materials,criteria}
    macrobell show OUT.h5
    macrobell plot OUT.h5 --x T --y chsh_max --hue L -o fig.png
    macrobell export OUT.h5 --to csv|parquet|netcdf [-o TABLE]

Bad input (a malformed sweep, an unknown key, an existing output file, …)
prints one line ``macrobell: error: …`` and exits with status 2, never a
traceback. Set ``MACROBELL_DEBUG=1`` to see tracebacks of unexpected errors.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading

from ._point import POINT_EPILOG, point_json, region_spec, run_summary

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2
#: Units of ``point --T``.
TEMPERATURE_UNITS = ("J", "K")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``macrobell: error: …`` and exit status 2."""

    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


class _UsageError(Exception):
    pass


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


#: Most BLAS threads per worker with --scheduler (the workers' cores are unknown to the driver): more
#: threads than cores only oversubscribe them, and multithreaded BLAS on sweep-sized GEMMs was measured
#: far slower than one thread (see macrobell._threads); 256 is above the core count of any single node.
MAX_THREADS = 256


def _threads_int(text):
    v = _positive_int(text)
    if v > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected an integer in 1..{MAX_THREADS}, got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="macrobell", description="Macroscopic Bell correlations of spin lattices.")
    from macrobell import __version__
    p.add_argument("--version", action="version", version=f"macrobell {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                           help="the command to run (macrobell COMMAND --help for its flags)")
    sub.required = True

    d = sub.add_parser("demo", help="built-in small study (Heisenberg rings, exact): HDF5 + table + PNG")
    d.add_argument("-o", "--output", default="demo.h5",
                   help="output HDF5 file, ending in .h5 (default demo.h5); the plot goes beside it as .png")
    d.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: cores)")
    d.add_argument("--sizes", type=_positive_int, nargs="+", default=None,
                   help="ring sizes instead of the built-in ones (e.g. a quick look: --sizes 4 6)")
    d.add_argument("--temperatures", type=float, nargs="+", default=None,
                   help="temperatures in units of J instead of the built-in ones (0 = ground state)")
    d.add_argument("--no-plot", action="store_true", help="skip the PNG")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    _add_verbose(d)

    r = sub.add_parser("run", help="run a TOML sweep into an HDF5 file")
    r.add_argument("sweep", help="sweep file (TOML)")
    r.add_argument("-o", "--output", required=True, help="output HDF5 file (must not exist unless --resume)")
    r.add_argument("--workers", type=_positive_int, default=None,
                   help="local worker processes (default: the core count; 1 = serial)")
    r.add_argument("--scheduler", default=None, help="Dask scheduler address (run on a Dask cluster)")
    r.add_argument("--resume", action="store_true", help="finish an interrupted run of the same sweep")
    r.add_argument("--threads", type=_threads_int, default=None,
                   help=f"BLAS threads per worker (default 1; at most the core count, or {MAX_THREADS} "
                        "with --scheduler)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    _add_verbose(r)

    _add_point_parser(sub)

    li = sub.add_parser("list", help="list what exists: lattices, models, partitions, materials or criteria")
    from macrobell._listing import LIST_TOPICS
    li.add_argument("topic", choices=list(LIST_TOPICS),
                    help=f"what to list, one line each (name and meaning): {' | '.join(LIST_TOPICS)}")

    s = sub.add_parser("show", help="the sweep, its progress and a summary table")
    s.add_argument("file", help="HDF5 file written by macrobell")
    s.add_argument("--all", action="store_true", help="print every row")

    g = sub.add_parser("plot", help="plot a stored sweep (lines with verdict markers, a heat map with --z, "
                                    "a verdict phase diagram with --phase)")
    g.add_argument("file", help="HDF5 file written by macrobell")
    g.add_argument("--x", required=True, help="column on the x axis (e.g. T, N, L, R, Delta)")
    g.add_argument("--y", required=True, nargs="+", help="column(s) on the y axis (e.g. chsh_max werner_V verdict)")
    g.add_argument("--hue", default=None, help="one colour per value of this column")
    g.add_argument("--z", default=None, help="heat-map colour (with a single --y); with --phase the categorical "
                                             "column (default verdict)")
    g.add_argument("--col", default=None, help="one panel per value of this column (e.g. partition)")
    g.add_argument("--facet", default=None, help="same as --col (e.g. --facet partition)")
    g.add_argument("--phase", action="store_true", help="phase diagram: verdict over (--x, --y), e.g. --x Delta --y T")
    g.add_argument("--logx", action="store_true", help="logarithmic x axis")
    g.add_argument("--logy", action="store_true", help="logarithmic y axis")
    g.add_argument("--title", default=None, help="figure title")
    g.add_argument("--xlabel", default=None, help="x-axis label (default: the column's name and unit)")
    g.add_argument("--ylabel", default=None, help="y-axis label (default: the column's name and unit)")
    g.add_argument("--where", nargs="+", default=[], metavar="KEY=VALUE", help="keep rows with KEY == VALUE")
    g.add_argument("-o", "--output", required=True, help="figure file (.png, .pdf or .svg)")

    from macrobell.data.export import EXPORT_FORMATS
    e = sub.add_parser("export", help="write a stored sweep as a table: csv, parquet or netcdf (one row per "
                                      "point and partition, the columns of load())")
    e.add_argument("file", help="HDF5 file written by macrobell")
    e.add_argument("--to", required=True, choices=list(EXPORT_FORMATS), help="output format")
    e.add_argument("-o", "--output", default=None,
                   help="output file (default: FILE with the format's suffix: .csv, .parquet, .nc)")
    return p


def _kinds_taking(table: dict, name: str, skip: int) -> list[str]:
    """Keys of a factory table whose factory takes the argument ``name``."""
    from macrobell._listing import factory_arguments

    return [k for k, f in table.items() if name in factory_arguments(f, skip)]


def _methods_taking(name: str) -> list[str]:
    from macrobell.data.sweep import METHODS, _backend_options

    return [m for m in METHODS if name in _backend_options(m)]


def _auto_help() -> str:
    """What ``--method auto`` picks and which methods compute ground states only, from the registry."""
    from macrobell.tn import registry

    backends = [registry.get_backend(m) for m in registry.sweep_methods()]
    sized = [b.name for b in backends if b.auto_max_sites is not None]
    fallback = [b for b in backends if b.auto_fallback]
    text = f"{' or '.join(sized)} when it is small enough" if sized else ""
    if fallback:
        f = fallback[0]
        g, t = registry.sweep_backends(f.name)
        if g is not None and t is not None and g is not t:
            how = f"MPS: {g.name.upper()} at T = 0, {t.name} at T > 0"
        else:
            how = f.name
        text = f"{text}, else {how}" if text else how
    ground_only = [m for m in registry.sweep_methods() if registry.sweep_backends(m)[1] is None]
    if ground_only:
        text += f"; {', '.join(ground_only)}: ground states only"
    return text


def _add_point_parser(sub):
    """The ``point`` subcommand; every list of allowed values is read from the code's tables."""
    from macrobell.data.sweep import METHODS
    from macrobell.lattice import LATTICE_KINDS, MATERIALS, MODEL_KINDS, PARTITION_KINDS

    q = sub.add_parser("point", help="compute one point and print every criterion",
                       epilog=POINT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("--lattice", default="chain",
                   help=f"lattice kind (default chain); allowed: {', '.join(LATTICE_KINDS)} (macrobell list lattices)")
    for name in ("L", "Lx", "Ly", "Lz", "legs"):
        q.add_argument(f"--{name}", type=int, default=None,
                       help=f"lattice size {name} of: {', '.join(_kinds_taking(LATTICE_KINDS, name, 0))}")
    q.add_argument("--pbc", action="store_true", help="periodic boundary conditions (every direction)")
    q.add_argument("--model", default=None,
                   help=f"model kind (default heisenberg); allowed: {', '.join(MODEL_KINDS)} (macrobell list models)")
    q.add_argument("--material", default=None,
                   help=f"material preset instead of --model; allowed: {', '.join(MATERIALS)} "
                        "(macrobell list materials)")
    for name in ("J", "Delta", "J2", "J1", "h", "g", "Jx", "Jy", "Jz"):
        q.add_argument(f"--{name}", type=float, default=None,
                       help=f"model argument {name} of: {', '.join(_kinds_taking(MODEL_KINDS, name, 1))} "
                            "(energies in units of the reference coupling; spin-1/2 operators S = sigma/2)")
    q.add_argument("--T", type=float, nargs="+", default=[0.0], help="temperature(s), 0 = ground state")
    q.add_argument("--T-unit", dest="T_unit", choices=TEMPERATURE_UNITS, default=None,
                   help="unit of --T: J (units of the coupling, the default without --material) or K (kelvin, "
                        "with --material only); with --material the unit must be stated: --T-unit K, --kelvin "
                        "or --T-unit J")
    q.add_argument("--kelvin", action="store_true", help="--T in kelvin: shorthand for --T-unit K (--material only)")
    q.add_argument("--h-tesla", dest="h_tesla", type=float, default=None,
                   help="field in tesla (--material only), converted with the preset's g-factor: "
                        "h = g (mu_B/k_B) B / J_ref[K]; without a material give --h in units of J")
    q.add_argument("--partition", nargs="+", default=None,
                   help=f"partition kind(s) (default halves); allowed: "
                        f"{', '.join(k for k in PARTITION_KINDS if k != 'custom')} (custom: use --region; "
                        "macrobell list partitions)")
    q.add_argument("--region", action="append", default=None, dest="regions", type=region_spec,
                   metavar="NAME=SITES",
                   help="one region of a custom partition, repeatable (at least two), e.g. --region A=0 "
                        "--region B=1,11 or --region A=0-3; SITES: comma-separated site indices or ranges "
                        "I-J (inclusive); not with --partition")
    q.add_argument("--K", type=int, default=None,
                   help=f"number of regions, for partitions: {', '.join(_kinds_taking(PARTITION_KINDS, 'K', 1))}")
    q.add_argument("--axis", type=int, default=None,
                   help=f"lattice axis, for partitions: {', '.join(_kinds_taking(PARTITION_KINDS, 'axis', 1))}")
    q.add_argument("--method", default="auto",
                   help=f"{' | '.join(METHODS)} | auto (default auto: {_auto_help()}; "
                        "macrobell.tn.registry lists the backends)")
    for opt, what in (("bond_dim", "bond dimension"), ("cutoff", "truncation cutoff"),
                      ("max_sweeps", "most DMRG sweeps"), ("dtau", "imaginary-time step"),
                      ("order", "Trotter order"), ("seed", "random seed")):
        typ = float if opt in ("cutoff", "dtau") else int
        q.add_argument(f"--{opt.replace('_', '-')}", dest=opt, type=typ, default=None,
                       help=f"{what} ({opt}), an option of methods: {', '.join(_methods_taking(opt))}")
    q.add_argument("--bell-settings", dest="bell_settings", type=int, nargs="+", default=None, metavar="S",
                   help="decide with the Bell engine: search for a violation with S settings per region (each "
                        "S in 2..10, e.g. --bell-settings 2 3); the verdict becomes 'nonlocal' with the violated "
                        "inequality and its settings when one is found")
    q.add_argument("--bell-restarts", dest="bell_restarts", type=int, default=None,
                   help="restarts of each Bell search (default 20)")
    q.add_argument("--lhs", action="store_true",
                   help="also certify two-region states as unsteerable (local for projective measurements) by "
                        "the local-hidden-state SDP")
    q.add_argument("--microscopic", action="store_true",
                   help="also evaluate the many-body Bell-correlation witnesses of individual spins (Tura et al. "
                        "2014, Schmied et al. 2016) from the total-spin moments")
    q.add_argument("--json", action="store_true",
                   help="print one JSON document (every criterion, diagnostic and parameter) instead of the "
                        "tables; schema below")
    _add_verbose(q)
    return q


def _add_verbose(parser):
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="one line per solver step on stderr (sweep, energy, bond dimension, beta reached); "
                             "on a terminal a live status line is shown without this flag")


# --------------------------------------------------------------------------- commands


def _cmd_demo(a):
    from macrobell.data.demo import DEMO_SIZES, DEMO_TEMPERATURES, run_demo

    run_demo(a.output, sizes=a.sizes or DEMO_SIZES, temperatures=a.temperatures or DEMO_TEMPERATURES,
             workers=a.workers, make_plot=not a.no_plot, show_progress=not a.quiet)
    return 0


def _check_threads(a):
    """``--threads``: at most the local core count (local workers), at most MAX_THREADS on a cluster."""
    if a.threads is None or a.scheduler is not None:
        return
    cores = os.cpu_count() or 1
    if a.threads > cores:
        raise _UsageError(f"argument --threads: expected an integer in 1..{cores} (this machine's core count; "
                          f"more threads than cores only oversubscribe them), got {a.threads}")


def _cmd_run(a):
    from macrobell.data import Sweep, run_sweep

    _check_threads(a)
    sweep = Sweep.from_file(a.sweep)
    s = run_sweep(sweep, a.output, workers=a.workers, scheduler=a.scheduler, resume=a.resume,
                  threads=a.threads, show_progress=not a.quiet)
    print(f"macrobell: {a.output}: {s['computed']} points computed, {s['skipped']} already complete, "
          f"{s['n_points']} in the sweep; {s['warnings']} warnings")
    for f in s.get("failed") or []:
        print(f"macrobell: failed point {f['id']} {_one_line_text(f.get('params'))}: {f['error']} "
              "(recomputed by --resume)", file=sys.stderr)
    if s.get("deferred"):
        print(f"macrobell: {a.output}: not rebuilt yet ({s['deferred']}); the results are safe in the journal "
              "and --resume finishes the file", file=sys.stderr)
    return 1 if s.get("failed") else 0


def _one_line_text(obj) -> str:
    import json

    return json.dumps(obj, sort_keys=True, default=str)


def _temperature_unit(a):
    """The unit of ``--T``: stated with a material (``--T-unit K|J`` or ``--kelvin``), J otherwise."""
    if a.kelvin and a.T_unit == "J":
        raise ValueError("--kelvin means --T-unit K; it contradicts --T-unit J")
    unit = "K" if a.kelvin else a.T_unit
    if a.material is None:
        if unit == "K":
            raise ValueError(f"argument {'--kelvin' if a.kelvin else '--T-unit K'}: temperatures in kelvin need a "
                             "material preset (--material NAME); without one --T is in units of the coupling J")
        if a.h_tesla is not None:
            raise ValueError("argument --h-tesla: a field in tesla needs a material preset (--material NAME) for "
                             "its g-factor and J in kelvin; without one give --h in units of J")
        return "J"
    if unit is None:
        raise ValueError(f"argument --T-unit: with --material {a.material} the unit of --T must be stated: "
                         "--kelvin (or --T-unit K) for kelvin, --T-unit J for units of the reference coupling; "
                         f"allowed: {list(TEMPERATURE_UNITS)}")
    return unit


def _point_config(a) -> dict:
    lat = {"kind": a.lattice}
    for name in ("L", "Lx", "Ly", "Lz", "legs"):
        if getattr(a, name) is not None:
            lat[name] = getattr(a, name)
    if a.pbc:
        lat["pbc"] = True
    unit = _temperature_unit(a)
    if a.material is not None:
        if a.model is not None:
            raise ValueError("give either --model or --material, not both")
        model = {"material": a.material, "temperature_unit": unit}
        if a.h_tesla is not None:
            if a.h is not None:
                raise ValueError("give either --h (units of J) or --h-tesla (tesla), not both")
            model["h_tesla"] = a.h_tesla
        elif a.h is not None:
            raise ValueError("--h is not a material argument; with --material give the field as --h-tesla B "
                             "(tesla, converted with the preset's g-factor)")
    else:
        model = {"kind": a.model or "heisenberg"}
        for name in ("J", "Delta", "J2", "J1", "h", "g", "Jx", "Jy", "Jz"):
            if getattr(a, name) is not None:
                model[name] = getattr(a, name)
    state = {"method": _auto_method(lat, list(a.T)) if a.method == "auto" else a.method,
             "temperatures": list(a.T)}
    for opt in ("bond_dim", "cutoff", "max_sweeps", "dtau", "order", "seed"):
        if getattr(a, opt) is not None:
            state[opt] = getattr(a, opt)
    if a.partition and "custom" in a.partition and not a.regions:
        raise ValueError("argument --partition: a custom partition is given by its regions: --region NAME=SITES "
                         "at least twice (e.g. --region A=0 --region B=1,11), without --partition")
    parts = _custom_partition(a) if a.regions else []
    for kind in ([] if a.regions else a.partition or ["halves"]):
        p = {"kind": kind}
        if kind in ("blocks", "strips") and a.K is not None:
            p["K"] = a.K
        if kind == "strips" and a.axis is not None:
            p["axis"] = a.axis
        parts.append(p)
    obs = {}
    if a.bell_settings:
        obs["bell_settings"] = list(a.bell_settings)
    if a.bell_restarts is not None:
        obs["bell_restarts"] = a.bell_restarts
    if a.lhs:
        obs["lhs"] = True
    if a.microscopic:
        obs["microscopic"] = True
    config = {"lattice": lat, "model": model, "state": state, "partitions": parts}
    if obs:
        config["observables"] = obs
    return config


def _custom_partition(a) -> list:
    """``--region NAME=SITES ...`` → one ``custom`` partition (refused with ``--partition``, ``--K``, ``--axis``)."""
    if a.partition is not None:
        raise ValueError("argument --region: --region builds a custom partition; it cannot be combined with "
                         f"--partition {' '.join(a.partition)} (give either --partition KIND ... or --region "
                         "NAME=SITES at least twice)")
    for flag, value in (("--K", a.K), ("--axis", a.axis)):
        if value is not None:
            raise ValueError(f"argument {flag}: applies to --partition blocks/strips, not to --region")
    regions = {}
    for name, sites in a.regions:
        if name in regions:
            raise ValueError(f"argument --region: region {name!r} given twice; each NAME=SITES needs a distinct "
                             "NAME")
        regions[name] = sites
    if len(regions) < 2:
        raise ValueError(f"argument --region: a custom partition needs at least two regions, got {len(regions)} "
                         "(e.g. --region A=0 --region B=1,11)")
    return [{"kind": "custom", "regions": regions}]


#: ``--method auto`` uses exact states up to these sizes (full diagonalisation for T > 0, Lanczos at T = 0):
#: the exact backend's ``auto_max_sites`` in the registry (macrobell.tn.registry), kept here for old imports.
AUTO_EXACT_MAX_THERMAL = 12
AUTO_EXACT_MAX_GROUND = 20


def _auto_method(lat: dict, temps) -> str:
    """The first registered backend whose ``auto_max_sites`` holds the lattice, else the ``auto_fallback`` one.

    Exact states when they are small enough, else MPS (DMRG at T = 0, purification at T > 0).
    """
    from macrobell.data._sweep_checks import min_sites
    from macrobell.lattice import LATTICE_KINDS
    from macrobell.tn import registry

    backends = [registry.get_backend(m) for m in registry.sweep_methods()]
    sized = [b for b in backends if b.auto_max_sites is not None]
    fallback = next((b.name for b in backends if b.auto_fallback), sized[-1].name if sized else backends[0].name)
    if not sized:
        return fallback
    thermal = any(t > 0 for t in temps)
    if min_sites(lat) > max(b.auto_max_sites[1 if thermal else 0] for b in sized):
        return fallback  # a huge lattice goes to MPS without being built here (10^6 sites: seconds)
    try:
        n = LATTICE_KINDS[lat["kind"]](**{k: v for k, v in lat.items() if k != "kind"}).n_sites
    except Exception:  # the validator reports bad lattices with the proper message
        return sized[0].name
    return next((b.name for b in sized if n <= b.auto_max_sites[1 if thermal else 0]), fallback)


def _fmt_value(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    return str(v)


def point_table(records, partitions) -> str:
    """Criteria × partition text table of computed point records."""
    lines = []
    skip = {"verdict_reason", "werner_bounds_used", "negativity_cuts", "pt_min_eig", "nonlocal",
            "werner_certificates"}
    for rec in records:
        p = rec["params"]
        head = f"T = {p['T']:g}" + (f" ({p['T_K']:g} K)" if "T_K" in p else "")
        st = rec["state"]
        lines.append(f"== {head}   energy = {st['energy']:.10g}   backend = {st['backend']}"
                     f"   converged = {st['converged']}")
        names = [q["name"] for q in partitions]
        keys = [k for k in rec["partitions"][names[0]]["criteria"] if k not in skip]
        rows = [["criterion"] + names]
        rows.append(["sizes"] + [_fmt_value(rec["partitions"][n]["sizes"]) for n in names])
        rows += [[k] + [_fmt_value(rec["partitions"][n]["criteria"].get(k)) for n in names] for k in keys]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        for n in names:
            c = rec["partitions"][n]["criteria"]
            lines.append(f"verdict [{n}]: {c.get('verdict')} — {c.get('verdict_reason', '')}")
            if c.get("nonlocal"):
                v = c["nonlocal"]
                lines.append(f"  violated [{n}]: {v['inequality']}, {v['settings_count']} settings, value "
                             f"{v['value']:.6g} > local bound {v['local_bound']:.6g}; settings (Bloch vectors "
                             f"per region) {_fmt_value(v['settings'])}")
        micro = rec.get("microscopic")
        if micro:
            lines.append("microscopic (individual spins as parties, from the total-spin moments): "
                         + ", ".join(f"{k} = {_fmt_value(micro[k])}" for k in
                                     ("tura_value", "tura_violated", "schmied_value", "schmied_violated")
                                     if k in micro))
        if rec["warnings"]:
            lines += [f"warning: {w}" for w in rec["warnings"]]
        lines.append("")
    if records:
        lines.append(f"Werner bounds: {records[0]['partitions'][partitions[0]['name']]['criteria'].get('werner_bounds_used', '')}")
    return "\n".join(lines)


def _cmd_point(a):
    from macrobell.data.compute import PointError, compute_group, make_task
    from macrobell.data.sweep import Sweep, SweepError

    try:
        sweep = Sweep.from_dict(_point_config(a))
    except SweepError as exc:
        msg = str(exc).replace("sweep file: ", "point: ")
        if a.regions:  # the custom partition is section [partitions #1] of the point's sweep
            msg = re.sub(r"^point: \[partitions #1\]:? ?", "argument --region: ", msg)
        raise SweepError(msg) from None
    group = sweep.groups[0]
    recs = compute_group(make_task(sweep, group))
    for rec in recs:  # an error record ends the list, after the points finished before it
        if "error" in rec:
            raise PointError(f"point T = {rec['params'].get('T')} failed: {rec['error']}", rec["params"])
    if a.json:
        print(point_json(sweep, recs))
        return 0
    lat = group["lattice"]
    print("lattice: " + ", ".join(f"{k}={v}" for k, v in lat.items())
          + f"  (N = {len(next(iter(recs[0]['partitions'].values()))['regions'])})")
    print("model:   " + ", ".join(f"{k}={v}" for k, v in group["model"].items()))
    # Name what ran (the stored states' backends), not only the requested method: with method dmrg
    # every T > 0 comes from one purification evolution.
    print(f"state:   {run_summary(recs)}   ("
          + ", ".join(f"{'requested method' if k == 'method' else k}={v}" for k, v in group["state"].items()) + ")")
    print()
    print(point_table(recs, sweep.partitions))
    return 0


def _cmd_list(a):
    from macrobell._listing import listing

    print(listing(a.topic))
    return 0


def _cmd_show(a):
    import json

    from macrobell.data.demo import summary_table
    from macrobell.data.journal import journal_path
    from macrobell.data.load import records_to_frame
    from macrobell.data.store import escape_control, read_snapshot, read_store

    def out(text=""):  # file text may be crafted: never let it drive the terminal
        print(escape_control(text))

    c = read_snapshot(lambda: read_store(a.file), a.file)
    root, n_total = c["root"], c["n_points"]
    out(f"{a.file}: macrobell format {root.get('format_version')}, created {root.get('created')}, "
        f"macrobell {root.get('macrobell_version')}, quimb {root.get('quimb_version')}"
        + ("" if c["checked"] else "  (written without checksums: not verified)"))
    out("--- sweep ---")
    out(c["toml"].rstrip())
    out("--- progress ---")
    done = len(c["points"])
    incomplete = sum(1 for k, s in c["statuses"].items() if s not in ("complete", "failed"))
    left = n_total - done if n_total >= 0 else "?"
    out(f"{done}/{n_total} points complete, {len(c['failed'])} failed, {len(c['damaged'])} damaged, "
        f"{incomplete} incomplete groups, {left} to compute"
        + ("  (finish with: macrobell run SWEEP.toml -o FILE --resume)" if done < n_total else ""))
    if journal_path(a.file).exists():
        out(f"{journal_path(a.file)} exists: a run is writing this file or was interrupted; newer points may "
            "be there (this file is its last snapshot)")
    if c.get("file_check") == "mismatch":
        out("the file fails its whole-file checksum (damaged): each point was verified on its own")
    for pid, f in sorted(c["failed"].items()):
        out(f"failed {pid} {json.dumps(f['params'], sort_keys=True)}: {f['error']}")
    for pid, why in sorted(c["damaged"].items()):
        out(f"damaged {pid}: {why} (--resume recomputes it)")
    try:
        order = [q["name"] for q in json.loads(c["canonical"]).get("partitions", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        order = None
    df = records_to_frame([p for p, _ in c["points"].values()], order)
    if not df.empty:
        warned = int(df.drop_duplicates("point_id")["warnings"].map(len).gt(0).sum())
        if warned:
            out(f"{warned} points carry warnings (see load(path)['warnings'])")
        out("--- summary ---")
        out(summary_table(_show_frame(df), columns=SHOW_COLUMNS, max_rows=None if a.all else 60))
    return 0


#: Columns of the ``show`` summary after the parameters and the partition.
SHOW_COLUMNS = ("converged", "chsh_max", "zb_max", "werner_V", "werner_distance", "negativity", "verdict")
_SIZE_COLUMNS = ("L", "Lx", "Ly", "Lz", "legs")


def _show_frame(df):
    """The frame for the summary: without ``N`` where a varying lattice size already says it."""
    varying = [c for c in _SIZE_COLUMNS if c in df.columns and df[c].astype(str).nunique() > 1]
    if "N" in df.columns and varying and df.groupby(varying)["N"].nunique().max() == 1:
        return df.drop(columns="N")
    return df


def _cmd_export(a):
    from macrobell.data.export import export

    written = export(a.file, a.output, fmt=a.to)
    print(f"macrobell: wrote {written}")
    return 0


def _coerce(text):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for t in (int, float):
        try:
            return t(text)
        except ValueError:
            pass
    return text


def _cmd_plot(a):
    from pathlib import Path

    from macrobell.data import load

    folder = Path(a.output).parent
    if not folder.is_dir():  # before loading: not a raw [Errno 2] after the work
        raise ValueError(f"plot -o {a.output}: the output directory {str(folder)!r} does not exist")
    df = load(a.file)
    for cond in a.where:
        if "=" not in cond:
            raise ValueError(f"--where expects KEY=VALUE, got {cond!r}")
        key, val = cond.split("=", 1)
        if key not in df.columns:
            raise ValueError(f"--where: unknown column {key!r}; available: "
                             f"{[c for c in df.columns if c not in ('warnings',)]}")
        v = _coerce(val)
        kept = df[df[key].map(lambda x: x == v or str(x) == val)]
        if kept.empty:
            present = sorted({str(x) for x in df[key]})
            raise ValueError(f"--where {cond}: no {'remaining ' if len(a.where) > 1 else ''}row has {key} = {val}; "
                             f"values of {key}: {present}")
        df = kept
    import matplotlib.pyplot as plt

    from macrobell.data import plot

    fig = plot(df, x=a.x, y=a.y if len(a.y) > 1 else a.y[0], hue=a.hue, z=a.z, col=a.col, out=a.output,
               facet=a.facet, phase=a.phase, logx=a.logx, logy=a.logy, title=a.title, xlabel=a.xlabel,
               ylabel=a.ylabel)
    plt.close(fig)
    print(f"macrobell: wrote {a.output}")
    return 0


_COMMANDS = {"demo": _cmd_demo, "run": _cmd_run, "point": _cmd_point, "list": _cmd_list, "show": _cmd_show,
             "plot": _cmd_plot, "export": _cmd_export}


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class _Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwound like Ctrl-C, so workers stop and finished points stay."""


def _raise_terminated(signum, frame):
    raise _Terminated()


def _handle_sigterm():
    """Treat SIGTERM like SIGINT while a command runs; returns the previous handler (or None)."""
    if threading.current_thread() is not threading.main_thread():
        return None  # signal handlers can only be installed from the main thread
    return signal.signal(signal.SIGTERM, _raise_terminated)


def main(argv=None) -> int:
    """Entry point of the ``macrobell`` console script; returns the exit status.

    Ctrl-C (SIGINT) and SIGTERM stop a run within seconds: the workers are
    stopped, every finished point stays in the file, and ``--resume``
    computes the rest. Exit status 130 (SIGINT) or 143 (SIGTERM).
    """
    parser = build_parser()
    previous = _handle_sigterm()
    try:
        args = parser.parse_args(argv)
        from ._logging import cli_logging

        with cli_logging(verbose=getattr(args, "verbose", False), quiet=getattr(args, "quiet", False)):
            return _COMMANDS[args.command](args)
    except _UsageError as exc:
        print(f"macrobell: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    except KeyboardInterrupt as exc:
        term = isinstance(exc, _Terminated)
        print(f"macrobell: {'terminated' if term else 'interrupted'}; finished points are kept "
              "(a run finishes with --resume)", file=sys.stderr)
        return 128 + (signal.SIGTERM if term else signal.SIGINT)
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (ValueError, OSError, KeyError, NotImplementedError, MemoryError) as exc:
        if os.environ.get("MACROBELL_DEBUG"):
            raise
        print(f"macrobell: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: still one line unless debugging
        if os.environ.get("MACROBELL_DEBUG"):
            raise
        print(f"macrobell: internal error: {type(exc).__name__}: {_one_line(exc)} "
              "(set MACROBELL_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
