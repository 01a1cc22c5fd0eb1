"""Helpers of ``macrobell point``: ``--region`` parsing, the ``--json`` document and what-ran summaries.

The ``--json`` schema is :data:`POINT_EPILOG` (also printed by ``macrobell point --help``).
"""

from __future__ import annotations

import argparse
import json
import math

__all__ = ["POINT_EPILOG", "region_spec", "run_name", "run_summary", "json_clean", "point_json"]

POINT_EPILOG = """\
--json writes one JSON document on stdout (NaN and infinities as null, numpy values as plain numbers):
  {"params": {"lattice": {...}, "model": {...}, "state": {...}, "partitions": [{"name", "kind", ...}],
              "observables": {...}},            the validated point configuration
   "points": [{"T": float, "T_K": float (T in kelvin only), "params": {...},   one per --T value
               "state": {"backend", "method", "run", "energy", "truncation_error", "variance",
                         "max_bond", "converged", "T", "beta", "info"},           state diagnostics
               "warnings": [str],
               "partitions": {NAME: {"names": [str], "sizes": [int], "regions": [int per site],
                                     "criteria": {KEY: value}}}}]}   (keys: macrobell list criteria)
"run" is what computed the state: exact, dmrg, purification or peps.
"""


def region_spec(text: str):
    """``NAME=SITES`` of ``--region`` → ``(name, [sites])``; SITES like ``0,2,5-7``."""
    form = "expected NAME=SITES with SITES comma-separated site indices >= 0 or ranges I-J, e.g. A=0,1 or B=2-5"
    name, eq, sites = text.partition("=")
    name = name.strip()
    if not eq or not name or not sites.strip():
        raise argparse.ArgumentTypeError(f"{form}; got {text!r}")
    out = []
    for item in sites.split(","):
        item = item.strip()
        lo, dash, hi = item.partition("-")
        try:
            a = int(lo)
            b = int(hi) if dash else a
        except ValueError:
            raise argparse.ArgumentTypeError(f"{form}; got {text!r}") from None
        if a < 0 or b < a:
            raise argparse.ArgumentTypeError(f"{form} (a range I-J needs 0 <= I <= J); got {text!r}")
        out.extend(range(a, b + 1))
    return name, out


#: What computed a state, by the stored state's backend (``State.backend``).
_RUN_BY_BACKEND = {"exact": "exact", "mps": "dmrg", "mps-purification": "purification", "peps": "peps"}


def run_name(diag: dict) -> str:
    """The algorithm that produced a computed state: exact, dmrg, purification or peps."""
    backend = diag["backend"]
    if backend in _RUN_BY_BACKEND:
        return _RUN_BY_BACKEND[backend]
    if backend == "mixture":  # an equal mixture of MPS (e.g. a degenerate DMRG ground manifold)
        method = diag["method"]
        if method in ("dmrg", "purification"):  # the MPS methods: T = 0 by DMRG, T > 0 by purification
            method = "dmrg" if diag["T"] == 0 else "purification"
        return f"{method} (mixture)"
    return backend


def run_summary(recs) -> str:
    """``dmrg at T = 0; purification at T = 0.5, 1``: the backend run per temperature group."""
    groups: dict[str, list] = {}
    for rec in recs:
        groups.setdefault(run_name(rec["state"]), []).append(rec["params"]["T"])
    return "; ".join(f"{run} at T = {', '.join(f'{t:g}' for t in ts)}" for run, ts in groups.items())


def json_clean(obj):
    """JSON-ready copy: numpy → Python, complex → {re, im}, NaN/inf → None (JSON has neither)."""
    from macrobell.data.store import to_jsonable

    obj = to_jsonable(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [json_clean(v) for v in obj]
    return obj


def point_json(sweep, recs) -> str:
    """The ``point --json`` document (schema: :data:`POINT_EPILOG`)."""
    points = []
    for rec in recs:
        p = rec["params"]
        entry = {"T": p["T"]}
        if "T_K" in p:
            entry["T_K"] = p["T_K"]
        entry.update(params=p, state={**rec["state"], "run": run_name(rec["state"])}, warnings=rec["warnings"],
                     partitions={n: {"names": q["names"], "sizes": q["sizes"], "regions": q["regions"],
                                     "criteria": q["criteria"]} for n, q in rec["partitions"].items()})
        if rec.get("microscopic"):
            entry["microscopic"] = rec["microscopic"]
        points.append(entry)
    return json.dumps(json_clean({"params": sweep.config, "points": points}), allow_nan=False, indent=1)
