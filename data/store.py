"""The HDF5 store of a sweep (docs/architecture.md, 'HDF5 layout'; ``format_version`` 1).

Layout::

    /                      attrs: format="macrobell", format_version=1, macrobell_version, quimb_version,
                                  numpy_version, h5py_version, created (ISO 8601 UTC)
    /sweep                 attrs: toml (the sweep file's text), canonical (JSON of the validated sweep),
                                  n_points
    /points/<id>/          attrs: params (JSON), index (grid position), status ("complete", written last),
                                  elapsed_s, warnings (JSON list of str)
    /points/<id>/state     attrs: backend, method, energy, truncation_error, variance, max_bond, converged,
                                  T, beta, info (JSON of the solver's diagnostics)
    /points/<id>/partitions/<name>/
                           datasets: regions (N,) int (region index of each site, -1 = none),
                                     T (4,)*K float, rho (2^K, 2^K) complex
                           attrs: every criterion and the verdict; lists, dicts and None are JSON strings
                                  whose names are listed in the attr ``json_attrs``
    /points/<id>/pairs/C   optional (N, N, 4, 4): C[i, j, a, b] = <σ_a^i σ_b^j>

Crash safety. Only the driver process writes. A point is written as one
group, the file is flushed, and only then is ``status = "complete"`` set
and flushed again; the file is closed between points, so a process killed
at any moment (SIGKILL included) leaves the on-disk file as of the last
close (at worst one incomplete group). Readers ignore incomplete groups and
``--resume`` deletes and recomputes them. The default (earliest) HDF5
file format is used on purpose: the ``libver="latest"`` superblock records
"open for writing" flags that make a killed writer's file unopenable
without ``h5clear``. SWMR does not help here, since it cannot create
groups. Attributes are JSON, never pickle.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

__all__ = ["FORMAT", "FORMAT_VERSION", "StoreError", "create_store", "open_store", "Store", "to_jsonable",
           "decode_attrs", "read_snapshot"]

FORMAT = "macrobell"
FORMAT_VERSION = 1
#: How long the writer waits for another process's HDF5 file lock before giving up.
WRITE_LOCK_TIMEOUT_S = 30.0


class StoreError(ValueError):
    """A file that is not (or no longer) a macrobell store, or a refused write."""


def to_jsonable(obj: Any) -> Any:
    """Plain-JSON version of ``obj`` (numpy scalars/arrays → Python; unknown objects → ``repr``)."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, (complex, np.complexfloating)):
        return {"re": float(np.real(obj)), "im": float(np.imag(obj))}
    if isinstance(obj, np.ndarray):
        if obj.size > 4096:
            return f"<array shape={obj.shape} dtype={obj.dtype}>"
        return to_jsonable(obj.tolist())
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    return repr(obj)


def _dumps(obj) -> str:
    return json.dumps(to_jsonable(obj), allow_nan=True)


def _set_attrs(obj, values: Mapping):
    """Store scalars natively and everything else as JSON (names listed in ``json_attrs``)."""
    json_keys = []
    for k, v in values.items():
        if isinstance(v, (np.bool_, np.integer, np.floating)):
            v = v.item()
        if isinstance(v, (bool, int, float, str)) and not (isinstance(v, int) and abs(v) >= 2 ** 63):
            obj.attrs[k] = v
        else:
            obj.attrs[k] = _dumps(v)
            json_keys.append(k)
    obj.attrs["json_attrs"] = json.dumps(json_keys)


def decode_attrs(obj) -> dict:
    """Inverse of the attribute encoding: native scalars back to Python, JSON keys decoded."""
    json_keys = set(json.loads(obj.attrs.get("json_attrs", "[]")))
    out = {}
    for k, v in obj.attrs.items():
        if k == "json_attrs":
            continue
        if isinstance(v, bytes):
            v = v.decode()
        if k in json_keys:
            v = json.loads(v)
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


def _versions() -> dict:
    import h5py

    from macrobell._version import __version__

    out = {"macrobell_version": __version__, "numpy_version": np.__version__,
           "h5py_version": h5py.__version__, "hdf5_version": h5py.version.hdf5_version}
    try:
        import quimb
        out["quimb_version"] = quimb.__version__
    except Exception:  # pragma: no cover - quimb is a dependency, but provenance must not crash a run
        out["quimb_version"] = "unavailable"
    return out


def create_store(path, sweep) -> "Store":
    """Create a new store for ``sweep``; an existing file is an error (never overwritten)."""
    import h5py

    path = Path(path)
    if path.exists():
        raise StoreError(f"output file {str(path)!r} already exists; use --resume (resume=True) to finish it, "
                         "or choose another name")
    try:
        with h5py.File(path, "w-") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            for k, v in _versions().items():
                f.attrs[k] = v
            f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
            g = f.create_group("sweep")
            g.attrs["toml"] = sweep.text
            g.attrs["canonical"] = sweep.canonical
            g.attrs["n_points"] = len(sweep.points)
            f.create_group("points")
    except FileExistsError:
        raise StoreError(f"output file {str(path)!r} already exists") from None
    return Store(path)


def read_snapshot(fn, path, attempts: int = 40, wait_s: float = 0.05):
    """Call ``fn()`` (which reads ``path``), retrying while a running sweep is mid-write.

    Readers take no file lock so that they never block the writer; the price
    is that a read overlapping a write can see a half-written group (h5py
    raises ``RuntimeError``/``KeyError``/``OSError``, or a group reads as
    ``None``). Such a read is retried;
    if it keeps failing a :class:`StoreError` says why.
    """
    last = None
    for _ in range(attempts):
        try:
            return fn()
        except StoreError:
            raise
        except (RuntimeError, KeyError, OSError, AttributeError) as exc:
            last = exc
            time.sleep(wait_s)
    raise StoreError(f"could not read a consistent snapshot of {str(path)!r} (is a sweep writing it right now? "
                     f"try again): {last}")


def open_store(path) -> "Store":
    """Open an existing store (checked to be a macrobell file of a known version)."""
    store = Store(path)
    with store.read() as f:
        if f.attrs.get("format") != FORMAT:
            raise StoreError(f"{str(path)!r} is not a macrobell file (root attribute format="
                             f"{f.attrs.get('format')!r})")
        v = int(f.attrs.get("format_version", -1))
        if v != FORMAT_VERSION:
            raise StoreError(f"{str(path)!r} has format_version {v}; this macrobell reads {FORMAT_VERSION}")
    return store


class Store:
    """Access to one store file; every operation opens and closes the file.

    Keeping the file closed between points is what makes a killed run leave
    a readable file.
    """

    def __init__(self, path):
        self.path = Path(path)

    @contextmanager
    def read(self):
        import h5py

        if not self.path.exists():
            raise StoreError(f"file {str(self.path)!r} does not exist")
        try:
            # No file lock: a reader (``macrobell show`` during a run) must never block the writer.
            f = h5py.File(self.path, "r", locking=False)
        except OSError as exc:
            raise StoreError(f"cannot open {str(self.path)!r} as HDF5: {exc}") from None
        try:
            yield f
        finally:
            f.close()

    @contextmanager
    def write(self):
        import h5py

        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT_S
        while True:
            try:
                f = h5py.File(self.path, "r+")
                break
            except OSError as exc:
                # Another process holds the HDF5 file lock (e.g. a reader with locking): wait a little.
                if "lock" in str(exc).lower() and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise StoreError(f"cannot open {str(self.path)!r} for writing: {exc}") from None
        try:
            yield f
        finally:
            f.close()

    # ---- reading --------------------------------------------------------

    def sweep_text(self) -> str:
        with self.read() as f:
            return str(f["sweep"].attrs["toml"])

    def sweep_canonical(self) -> str:
        with self.read() as f:
            return str(f["sweep"].attrs.get("canonical", ""))

    def root_attrs(self) -> dict:
        with self.read() as f:
            return decode_attrs(f)

    def statuses(self) -> dict:
        """``{point id: status}`` of every point group present."""
        with self.read() as f:
            pts = f.get("points")
            if pts is None:
                return {}
            return {k: str(pts[k].attrs.get("status", "incomplete")) for k in pts}

    def complete_ids(self) -> set:
        return {k for k, s in self.statuses().items() if s == "complete"}

    def iter_points(self, pairs: bool = False) -> Iterator[dict]:
        """Yield every complete point as a plain dict (see :meth:`read_point`)."""
        with self.read() as f:
            pts = f["points"]
            for pid in pts:
                g = pts[pid]
                if g.attrs.get("status") != "complete":
                    continue
                yield _read_point(g, pairs)

    # ---- writing --------------------------------------------------------

    def delete_incomplete(self) -> list:
        """Delete every point group not marked complete; returns their ids."""
        with self.write() as f:
            pts = f["points"]
            bad = [k for k in pts if pts[k].attrs.get("status") != "complete"]
            for k in bad:
                del pts[k]
            f.flush()
        return bad

    def write_point(self, record: Mapping, _kill_before_complete: bool = False) -> None:
        """Write one computed point and mark it complete (last, after a flush).

        ``record`` is what a worker returns: ``id``, ``index``, ``params``,
        ``elapsed_s``, ``warnings``, ``state`` (diagnostics dict),
        ``partitions`` (name → ``regions``, ``T``, ``rho``, ``criteria``) and
        optionally ``pairs`` (the (N, N, 4, 4) array).
        """
        with self.write() as f:
            pts = f["points"]
            pid = record["id"]
            if pid in pts:
                if pts[pid].attrs.get("status") == "complete":
                    raise StoreError(f"point {pid} is already complete in {str(self.path)!r}")
                del pts[pid]
            g = pts.create_group(pid)
            g.attrs["params"] = _dumps(record["params"])
            g.attrs["index"] = int(record.get("index", -1))
            g.attrs["elapsed_s"] = float(record.get("elapsed_s", float("nan")))
            g.attrs["warnings"] = _dumps(list(record.get("warnings", [])))
            g.attrs["status"] = "writing"
            st = g.create_group("state")
            _set_attrs(st, record.get("state", {}))
            pg = g.create_group("partitions")
            for name, part in record.get("partitions", {}).items():
                h = pg.create_group(name)
                h.create_dataset("regions", data=np.asarray(part["regions"], dtype=np.int64))
                h.create_dataset("T", data=np.asarray(part["T"], dtype=float))
                h.create_dataset("rho", data=np.asarray(part["rho"], dtype=complex))
                attrs = dict(part.get("criteria", {}))
                attrs.setdefault("names", list(part.get("names", [])))
                attrs.setdefault("sizes", list(part.get("sizes", [])))
                _set_attrs(h, attrs)
            if record.get("pairs") is not None:
                pairs = g.create_group("pairs")
                C = np.asarray(record["pairs"])
                if np.iscomplexobj(C) and not np.abs(C.imag).any():
                    C = C.real
                pairs.create_dataset("C", data=C)
            f.flush()
            if _kill_before_complete:  # test hook: a crash between the data and the completion mark
                import signal
                os.kill(os.getpid(), signal.SIGKILL)
            g.attrs["status"] = "complete"
            f.flush()


def _read_point(g, pairs: bool) -> dict:
    out = {
        "id": g.name.rsplit("/", 1)[-1],
        "index": int(g.attrs.get("index", -1)),
        "params": json.loads(g.attrs["params"]),
        "elapsed_s": float(g.attrs.get("elapsed_s", math.nan)),
        "warnings": json.loads(g.attrs.get("warnings", "[]")),
        "state": decode_attrs(g["state"]) if "state" in g else {},
        "partitions": {},
    }
    if "partitions" in g:
        for name in g["partitions"]:
            h = g["partitions"][name]
            out["partitions"][name] = {"regions": h["regions"][()], "T": h["T"][()], "rho": h["rho"][()],
                                       "criteria": decode_attrs(h)}
    if pairs and "pairs" in g and "C" in g["pairs"]:
        out["pairs"] = g["pairs"]["C"][()]
    return out
