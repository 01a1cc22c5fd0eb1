"""Read a store into a tidy pandas DataFrame: one row per point × partition.

Columns, in order:

* parameters: ``lattice`` (kind) and its arguments (``L``, ``pbc``, …),
  ``N`` (number of sites), ``model`` (kind) or ``material`` and its
  couplings (``J``, ``Delta``, …), ``method`` and backend options
  (``bond_dim``, …), ``T`` (units of the coupling) and ``T_K`` (kelvin,
  material sweeps);
* ``partition`` (its name), ``sizes`` (list), ``regions`` (names);
* state diagnostics, the fields of ``state.diagnostics``
  (:class:`~macrobell.tn.state.Diagnostics`) under their names: ``energy``,
  ``converged``, ``max_bond`` (-1: a dense state), then (still readable, as
  before) ``truncation_error`` (= ``discarded_weight``) and ``variance``
  (= ``energy_variance``), ``backend``, then ``energy_variance``,
  ``discarded_weight``, ``n_sweeps`` (-1: does not apply) and — named apart
  from the point's own columns of the same name — ``state_elapsed_s`` (the
  backend's wall time for the state; ``elapsed_s`` stays the point's) and
  ``state_warnings`` (the backend's warnings about the state; ``warnings``
  stays the point's); with ``extra=True`` also ``extra`` (dict: the backend's
  own diagnostics, ``Diagnostics.extra``; left out by default because its keys
  depend on the backend's path, not on the point: a point recomputed alone by
  a resume is e.g. an exact Lanczos ground state, where its group had one
  full diagonalisation);
* every criterion of docs/physics.md (``chsh_max``, ``zb_max``, ``werner_V``, …)
  and ``verdict``;
* ``point_id``, ``index`` (grid position), ``elapsed_s`` (the point's wall
  time), ``warnings`` (every warning of the point), ``seeds`` (dict: the
  random seeds it used, see :func:`~.journal.point_seeds`);
* with ``pairs=True``: ``pairs``, the (N, N, 4, 4) correlator array.

Rows are ordered by grid position, then by the sweep's partition order.
Only complete points are read: failed points (recorded with their error)
and incomplete ones are not data. Every point's checksum is verified; a
damaged point is an error that names it (or, with ``damaged="skip"``, a
:class:`~.store.StoreWarning` naming it), never a row.
"""

from __future__ import annotations

import json

import numpy as np

import warnings

from .store import StoreWarning, damage_error, read_snapshot, read_store

__all__ = ["load", "PARAM_PREFIX_COLUMNS", "STATE_COLUMNS", "records_to_frame"]

PARAM_PREFIX_COLUMNS = ("lattice", "material", "model", "method")
#: Column → field of the stored state (format_version 2 names; version 1 files are converted on reading).
STATE_COLUMNS = {"energy": "energy", "converged": "converged", "max_bond": "max_bond",
                 "truncation_error": "discarded_weight", "variance": "energy_variance", "backend": "backend",
                 "energy_variance": "energy_variance", "discarded_weight": "discarded_weight",
                 "n_sweeps": "n_sweeps", "state_elapsed_s": "elapsed_s", "state_warnings": "warnings"}


def _n_sites(point) -> int:
    for part in point["partitions"].values():
        return int(np.asarray(part["regions"]).shape[0])
    return -1


def _flat_params(params: dict) -> dict:
    row = {}
    lat = params.get("lattice", {})
    row["lattice"] = lat.get("kind")
    row.update({k: v for k, v in lat.items() if k != "kind"})
    mod = params.get("model", {})
    if "material" in mod:
        row["material"] = mod["material"]
    else:
        row["model"] = mod.get("kind")
    row.update({k: v for k, v in mod.items() if k not in ("kind", "material")})
    st = params.get("state", {})
    row["method"] = st.get("method")
    row.update({k: v for k, v in st.items() if k != "method"})
    row["T"] = params.get("T")
    if "T_K" in params:
        row["T_K"] = params["T_K"]
    return row


def records_to_frame(points, partition_order=None, pairs: bool = False, extra: bool = False):
    """Flatten point records (as :meth:`Store.iter_points` yields) into the tidy frame."""
    import pandas as pd

    rows = []
    points = sorted(points, key=lambda p: (p["index"], p["id"]))
    for p in points:
        base = _flat_params(p["params"])
        base["N"] = _n_sites(p)
        names = list(p["partitions"])
        if partition_order:
            rank = {n: i for i, n in enumerate(partition_order)}
            names.sort(key=lambda n: rank.get(n, len(rank)))
        for name in names:
            part = p["partitions"][name]
            crit = dict(part["criteria"])
            row = dict(base)
            row["partition"] = name
            row["sizes"] = crit.pop("sizes", None)
            row["regions"] = crit.pop("names", None)
            for col, key in STATE_COLUMNS.items():
                row[col] = p["state"].get(key)
            if extra:
                row["extra"] = p["state"].get("extra")
            for k, v in (p.get("microscopic") or {}).items():  # per state: the same on every partition row
                row[f"micro_{k}" if not k.startswith(("tura_", "schmied_")) else k] = v
            for k, v in crit.items():
                row.setdefault(k, v)
            row["point_id"] = p["id"]
            row["index"] = p["index"]
            row["elapsed_s"] = p["elapsed_s"]
            row["warnings"] = p["warnings"]
            row["seeds"] = p.get("seeds")
            if pairs:
                row["pairs"] = p.get("pairs")
            rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["partition", "point_id", "index", "elapsed_s", "warnings"])
    return pd.DataFrame(rows)


def load(path, pairs: bool = False, damaged: str = "error", extra: bool = False):
    """Load a macrobell HDF5 store as a tidy :class:`pandas.DataFrame`.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`macrobell.data.run_sweep` (or ``macrobell run``/``demo``).
    pairs : bool
        Add a ``pairs`` column with the stored (N, N, 4, 4) pair correlators
        (``None`` for points stored without them).
    damaged : {"error", "skip"}
        What to do with points that fail their checksum or miss data:
        raise a :class:`~.store.StoreError` naming them (default), or leave
        them out with a :class:`~.store.StoreWarning` naming them.
    extra : bool
        Add the ``extra`` column (dict of each state's ``Diagnostics.extra``).

    Returns
    -------
    pandas.DataFrame
        One row per intact complete point × partition; see the module docstring for the columns.
    """
    if damaged not in ("error", "skip"):
        raise ValueError(f"damaged: expected 'error' or 'skip', got {damaged!r}")
    contents = read_snapshot(lambda: read_store(path, pairs=pairs), path)
    if contents["damaged"]:
        if damaged == "error":
            raise damage_error(path, contents["damaged"])
        warnings.warn(str(damage_error(path, contents["damaged"])), StoreWarning, stacklevel=2)
    try:
        order = [p["name"] for p in json.loads(contents["canonical"] or "{}").get("partitions", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        order = None
    return records_to_frame([p for p, _ in contents["points"].values()], order, pairs=pairs, extra=extra)
