"""The HDF5 store of a sweep (docs/architecture.md, 'HDF5 layout'; ``format_version`` 2), rebuilt from a journal.

Layout (after a 512-byte HDF5 user block holding ``macrobell-store sha256=<hex>``, the
SHA-256 of the rest of the file; HDF5 readers skip it)::

    /                      attrs: format="macrobell", format_version=2, macrobell_version, quimb_version,
                                  numpy_version, h5py_version, created (ISO 8601 UTC), integrity="sha256"
    /sweep                 attrs: toml (the sweep file's text), canonical (JSON of the validated sweep),
                                  n_points, sha256 (of those three)
    /points                attrs: manifest (JSON {"complete": [ids], "failed": [ids]}), manifest_sha256
    /points/<id>/          attrs: params (JSON), index (grid position), status ("complete" | "failed"),
                                  elapsed_s (the point's wall time), warnings (JSON list of str),
                                  seeds (JSON {"state": backend seed option or null, "bell": Bell engine
                                  seed or null, "zb": seed of zb_max's starts}), sha256 (complete points:
                                  the digest of :func:`~.journal.encode_point`); failed points: error,
                                  error_type
    /points/<id>/state     attrs: the fields of ``state.diagnostics`` (tn.state.Diagnostics) by name:
                                  converged, energy, energy_variance, discarded_weight, max_bond (-1: dense),
                                  n_sweeps (-1: none), elapsed_s (the backend's wall time), warnings (JSON
                                  list), extra (JSON dict); and the point's T, beta, backend, method
    /points/<id>/partitions/<name>/
                           datasets: regions (N,) int (region index of each site, -1 = none),
                                     corr (4,)*K float (the Pauli correlation tensor EffectiveState.T),
                                     rho (2^K, 2^K) complex
                           attrs: every criterion and the verdict; lists, dicts and None are JSON strings
                                  whose names are listed in the attr ``json_attrs``
    /points/<id>/pairs/C   optional (N, N, 4, 4): C[i, j, a, b] = <σ_a^i σ_b^j>

Crash safety. The file is never modified in place. Finished points are
committed one by one to the journal ``OUT.h5.journal/`` (:mod:`.journal`),
and the whole HDF5 file is built in memory from the journal and moved over
``OUT.h5`` with :func:`os.replace` (periodically and at the end; the
journal is deleted once the final file is verified). So ``OUT.h5`` is
always a complete file of some moment — readers (``load``, ``macrobell
show``) never see a half-written one and need no lock — and a kill or a
full disk at any moment loses at most the points in flight. libhdf5 never
writes to disk itself, so a full disk is a plain ``ENOSPC`` error. Other
programs holding ``OUT.h5`` open (with HDF5 file locking) do not block the
writer: they keep reading the version they opened.

Integrity. The whole file's digest is checked before libhdf5 parses a
byte (parsing happens in memory, on exactly the bytes checked); a file that
fails it is parsed in a child process, because libhdf5 can crash on
damaged metadata. Every complete point carries the SHA-256 of its content, the
manifest lists which points are complete, and ``/sweep`` is checksummed, so
flipped bytes are detected and named (:class:`StoreError`, or
``damaged`` in :func:`read_store`), never returned as values; ``--resume``
recomputes damaged points. Files written before ``integrity`` existed are
read as before (without checks). Files containing HDF5 soft or external
links, external or virtual datasets are refused: a macrobell file has none,
and following one would read (or, for old writers, modify) another file.
Attributes are JSON, never pickle.

Version 1 (read, never written). The tensor was the dataset ``T``; ``state``
held backend, method, energy, truncation_error (= discarded_weight), variance
(= energy_variance), max_bond, converged, T, beta and info (the solver's
mapping, whose non-common keys are ``extra``); no ``seeds``. Its points are
verified against their version 1 checksums, then converted to version 2
(:func:`~.journal.normalize_record`; seeds from the sweep's params and
``[observables]``). A resume of a version 1 file or journal converts every
kept point and rewrites the file as version 2.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np

from ._h5 import (_NO_SPACE, FORMAT, FORMAT_VERSION, READ_VERSIONS, StoreError, StoreWarning,  # noqa: F401
                  _dumps, _read_point, _set_attrs, damage_error, decode_attrs, escape_control, hdf5_bytes,
                  missing_data, read_store, sweep_observables, to_jsonable)
from .journal import Journal, JournalError, atomic_write, journal_path, normalize_record, point_digest

__all__ = ["FORMAT", "FORMAT_VERSION", "StoreError", "StoreWarning", "create_store", "open_store",
           "resume_store", "Store", "to_jsonable", "decode_attrs", "read_snapshot", "read_store",
           "escape_control"]


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


def read_snapshot(fn, path, attempts: int = 5, wait_s: float = 0.02):
    """Call ``fn()`` (which reads ``path``); retry only if ``path`` was replaced meanwhile.

    The writer replaces the file atomically, so a read that fails on an
    unchanged file means damage: its :class:`StoreError` is raised at once.
    A read whose file was swapped under it (two openings straddling a
    rebuild) is simply repeated.
    """
    def stamp():
        try:
            st = os.stat(path)
            return st.st_ino, st.st_mtime_ns, st.st_size
        except OSError:
            return None

    for i in range(attempts):
        before = stamp()
        try:
            return fn()
        except (StoreError, OSError, KeyError, RuntimeError):
            if i + 1 == attempts or stamp() == before:
                raise
            time.sleep(wait_s)


# ---------------------------------------------------------------- the store


def _header(sweep) -> dict:
    return {"format": FORMAT, "format_version": FORMAT_VERSION, **_versions(),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "toml": sweep.text, "canonical": sweep.canonical, "n_points": len(sweep.points)}


def _io_error(exc: OSError, what: str, journal) -> StoreError:
    if exc.errno in _NO_SPACE:
        return StoreError(f"no space left on the device while {what} ({exc.strerror}); every finished point "
                          f"is safe in {str(journal)!r}: free some space (or move the output file and its "
                          "journal elsewhere) and run again with --resume")
    return StoreError(f"cannot write while {what}: {exc}; every finished point is safe in {str(journal)!r}")


def _is_stub(j: Journal) -> bool:
    """A journal with no header and no entry: what a kill during creation leaves; nothing to keep."""
    try:
        j.check_safe()
    except JournalError:
        return False
    if (j.path / "sweep.mbj").exists():
        return False
    return not (j.points_dir.is_dir() and any(not p.name.startswith(".") for p in j.points_dir.iterdir()))


def create_store(path, sweep) -> "Store":
    """Create a new store (journal + an empty HDF5 file) for ``sweep``; existing output is an error."""
    path = Path(path)
    j = Journal(journal_path(path))
    if path.exists() or path.is_symlink():
        raise StoreError(f"output file {str(path)!r} already exists; use --resume (resume=True) to finish it, "
                         "or choose another name")
    if j.exists():
        if not _is_stub(j):
            raise StoreError(f"{str(j.path)!r} holds the journal of an interrupted run; use --resume "
                             "(resume=True) to finish it, or choose another name")
        j.destroy()
    header = _header(sweep)  # slow imports before anything exists on disk
    try:
        j.create()
    except JournalError as exc:
        raise StoreError(str(exc)) from None
    store = Store(path, journal=j)
    store._start(header)
    return store


def open_store(path) -> "Store":
    """Open an existing store for reading (checked: HDF5, macrobell format, known version, no links)."""
    read_store(path)
    return Store(path)


def resume_store(path, sweep) -> tuple["Store", set]:
    """Open the output of an interrupted run of ``sweep`` for writing; returns ``(store, ids done)``.

    Everything intact is kept, from the journal and from the HDF5 file; a
    damaged journal entry or HDF5 point is named in a :class:`StoreWarning`
    and left to be recomputed; failed points are recomputed. A different
    sweep, or a file that cannot be identified as this sweep's, is refused.
    """
    path = Path(path)
    j = Journal(journal_path(path))
    try:
        j.check_safe()
        header = j.read_header() if j.exists() else None
    except JournalError as exc:
        if "symbolic link" in str(exc) or "not a directory" in str(exc):
            raise StoreError(str(exc)) from None
        warnings.warn(f"{exc}; using the HDF5 file instead", StoreWarning, stacklevel=3)
        header = None
    contents = None
    if path.exists() or path.is_symlink():
        if path.is_symlink():
            raise StoreError(f"output {str(path)!r} is a symbolic link; refusing to resume into it")
        try:
            contents = read_store(path)
        except StoreError as exc:
            if header is None or "link" in str(exc) or "stores its data in another file" in str(exc):
                raise StoreError(f"cannot resume {str(path)!r}: {exc}") from None
            warnings.warn(f"{exc}; it is rebuilt from the journal {str(j.path)!r}", StoreWarning, stacklevel=3)
    stored = header["canonical"] if header else contents["canonical"] if contents else None
    if stored is not None and stored != sweep.canonical:
        raise StoreError(f"refusing to resume {str(path)!r}: it was made by a different sweep "
                         f"({sweep.difference(stored)})")
    if stored is None and j.exists() and not _is_stub(j) and not path.exists():
        warnings.warn(f"the journal {str(j.path)!r} has no readable header; keeping only entries of this sweep",
                      StoreWarning, stacklevel=3)
    try:
        j.ensure_dirs()
        j.lock()
        j.clean()
        _clean_tmp(path)
    except JournalError as exc:
        raise StoreError(str(exc)) from None
    except OSError as exc:
        raise _io_error(exc, f"opening the journal {str(j.path)!r}", j.path) from None
    store = Store(path, journal=j)
    if header is None or header.get("format_version") != FORMAT_VERSION:  # none, or a version 1 run's
        old = header or (contents or {}).get("root") or {}
        header = {**_header(sweep), **({"created": old["created"]} if old.get("created") else {})}
        store._guard(lambda: j.write_header(header), "writing the journal header")
    done = store._adopt(sweep, contents)
    store._header = header
    store.rebuild(force=True)
    return store, done


def _clean_tmp(out: Path):
    for p in out.parent.glob(f".{out.name}.*.tmp"):
        p.unlink()


class Store:
    """One output file and (while a run writes it) its journal.

    Readers use :meth:`iter_points`, :meth:`statuses`, … (each one opening
    of the HDF5 file, no lock). Writers (from :func:`create_store` /
    :func:`resume_store`) commit points with :meth:`write_point` /
    :meth:`write_failed`, :meth:`rebuild` the HDF5 file and :meth:`finish`.
    """

    #: The HDF5 file is rebuilt at most every this many seconds while a sweep runs …
    REBUILD_EVERY_S = 10.0
    #: … and never spends more than about this fraction of the run's time on rebuilds.
    REBUILD_SHARE = 0.1
    #: Pause between the final rebuild's attempts when the file cannot be replaced.
    FINISH_RETRY_WAIT_S = 0.5

    def __init__(self, path, journal: Journal | None = None):
        self.path = Path(path)
        self.journal = journal
        self._header = None
        self._points: dict = {}
        self._failed: dict = {}
        self._dirty = False
        self._last_build = -math.inf
        self._build_cost = 0.0
        self.deferred: str | None = None

    # ---- reading (the HDF5 file) -----------------------------------------

    def contents(self, pairs: bool = False) -> dict:
        """Everything in the file, checked (see :func:`read_store`)."""
        return read_store(self.path, pairs=pairs)

    @contextmanager
    def read(self):
        """The raw ``h5py.File``, read-only and without a lock, after the checks of :func:`read_store`."""
        import h5py

        read_store(self.path)
        with h5py.File(self.path, "r", locking=False) as f:
            yield f

    def sweep_text(self) -> str:
        return self.contents()["toml"]

    def sweep_canonical(self) -> str:
        return self.contents()["canonical"]

    def root_attrs(self) -> dict:
        return self.contents()["root"]

    def statuses(self) -> dict:
        """``{point id: status}`` of every point group present (damaged complete points: ``"damaged"``)."""
        c = self.contents()
        return {k: ("damaged" if k in c["damaged"] else s) for k, s in c["statuses"].items()}

    def complete_ids(self) -> set:
        return set(self.contents()["points"])

    def iter_points(self, pairs: bool = False) -> Iterator[dict]:
        """Yield every intact complete point as a plain dict (damaged ones raise :class:`StoreError`)."""
        c = self.contents(pairs=pairs)
        if c["damaged"]:
            raise damage_error(self.path, c["damaged"])
        for point, _ in c["points"].values():
            yield point

    # ---- writing (journal first, then the HDF5 file) ---------------------

    def _writable(self):
        if self.journal is None or self._header is None:
            raise StoreError(f"{str(self.path)!r} is open for reading only (use create_store / resume_store)")

    def _guard(self, fn, what):
        try:
            return fn()
        except OSError as exc:
            raise _io_error(exc, what, self.journal.path) from None

    def _start(self, header):
        self._header = header
        self.journal.lock()
        self._guard(lambda: self.journal.write_header(header), "writing the journal header")
        self.rebuild(force=True)

    def _adopt(self, sweep, contents) -> set:
        """Collect intact points of ``sweep`` from the journal and the HDF5 contents."""
        expected = {p.id: p for p in sweep.points}
        names = [p["name"] for p in sweep.partitions]
        obs = dict(sweep.observables)
        complete, failed, damaged = self.journal.scan()
        for pid, why in damaged.items():
            warnings.warn(f"journal entry of point {pid} is damaged ({why}); it will be recomputed",
                          StoreWarning, stacklevel=4)
            self._guard(lambda: self.journal.remove(pid), "removing a damaged journal entry")
        for pid, (point, digest) in complete.items():
            why = "not a point of this sweep" if pid not in expected or point["params"] != expected[pid].params \
                else missing_data(point, names)
            if why:
                warnings.warn(f"journal entry of point {pid} ignored: {why}", StoreWarning, stacklevel=4)
                continue
            point = normalize_record(point, observables=obs)  # a version 1 entry becomes version 2 …
            if point_digest(point) != digest:  # … and is committed again in that form
                digest = self._guard(lambda: self.journal.write_point(point), "converting a journal entry")
            self._points[pid] = (point, digest)
        if contents:
            for pid, why in contents["damaged"].items():
                if pid not in self._points:
                    warnings.warn(f"point {pid} in {str(self.path)!r} is damaged ({why}); it will be recomputed",
                                  StoreWarning, stacklevel=4)
            c = read_store(self.path, pairs=True) if contents["points"] else contents
            for pid, (point, digest) in c["points"].items():
                if pid in self._points or pid not in expected or point["params"] != expected[pid].params:
                    continue
                point = normalize_record(point, observables=obs)
                digest = point_digest(point)
                self._guard(lambda: self.journal.write_point(point), "copying a point into the journal")
                self._points[pid] = (point, digest)
        self._failed = {k: v for k, v in failed.items() if k not in self._points and k in expected}
        return set(self._points)

    def write_point(self, record: Mapping, rebuild: bool = True) -> None:
        """Commit one computed point to the journal (atomically), then (by default) rebuild the HDF5 file.

        ``record`` is what a worker returns: ``id``, ``index``, ``params``,
        ``elapsed_s``, ``warnings``, ``state`` (diagnostics dict),
        ``partitions`` (name → ``regions``, ``corr`` (or ``T``), ``rho``,
        ``criteria``), optionally ``pairs`` (the (N, N, 4, 4) array) and
        ``seeds`` (default: from its params and the sweep's ``[observables]``,
        :func:`~.journal.point_seeds`).
        """
        self._writable()
        point = normalize_record(record, observables=sweep_observables(self._header["canonical"]))
        if point["id"] in self._points:
            raise StoreError(f"point {point['id']} is already complete in {str(self.path)!r}")
        digest = self._guard(lambda: self.journal.write_point(point), f"writing point {point['id']}")
        self._points[point["id"]] = (point, digest)
        self._failed.pop(point["id"], None)
        self._dirty = True
        if rebuild:
            self.rebuild(force=True)

    def sync_journal(self) -> None:
        """Register points the journal holds but memory does not (a signal can land between the
        journal's rename and the bookkeeping of :meth:`write_point`); only this run writes the journal."""
        self._writable()
        complete, _, _ = self.journal.scan()
        for pid, entry in complete.items():
            if pid not in self._points:
                self._points[pid] = entry
                self._failed.pop(pid, None)
                self._dirty = True

    def write_failed(self, pid: str, info: Mapping, rebuild: bool = False) -> None:
        """Record a failed point (``params``, ``index``, ``error``, ``error_type``); it stays incomplete."""
        self._writable()
        self._guard(lambda: self.journal.write_failed(pid, info), f"recording failed point {pid}")
        self._failed[pid] = dict(info)
        self._dirty = True
        if rebuild:
            self.rebuild(force=True)

    def delete_incomplete(self) -> list:
        """Drop every point group of the HDF5 file that is not intact and complete; returns their ids."""
        self._writable()
        c = self.contents()
        bad = sorted(k for k, s in c["statuses"].items()
                     if (s != "complete" or k in c["damaged"]) and k not in self._failed)
        if bad:
            self.rebuild(force=True)
        return bad

    def rebuild(self, force: bool = False) -> bool:
        """Rewrite the HDF5 file from the journal (atomically); ``False`` if it had to be deferred.

        Without ``force`` only when due (see :attr:`REBUILD_EVERY_S`). A file
        that cannot be replaced (e.g. a platform lock) does not stop the
        run: a :class:`StoreWarning` names it and the next rebuild retries.
        A full disk is a :class:`StoreError`.
        """
        self._writable()
        now = time.monotonic()
        if not force and (not self._dirty or now - self._last_build < max(self.REBUILD_EVERY_S,
                                                                            self._build_cost / self.REBUILD_SHARE)):
            return True
        data = hdf5_bytes(self._header, self._points, self._failed)
        try:
            atomic_write(self.path, data)
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise _io_error(exc, f"writing {str(self.path)!r}", self.journal.path) from None
            self.deferred = (f"could not replace {str(self.path)!r} ({exc}); its points are safe in the journal "
                             f"{str(self.journal.path)!r}; run again with --resume to rebuild it")
            warnings.warn(self.deferred, StoreWarning, stacklevel=2)
            return False
        self.deferred = None
        self._dirty = False
        self._last_build = time.monotonic()
        self._build_cost = self._last_build - now
        return True

    def finish(self, attempts: int = 3) -> bool:
        """Final rebuild; once the file reads back intact, delete the journal. ``False``: deferred."""
        self._writable()
        for i in range(attempts):
            if self.rebuild(force=True):
                break
            time.sleep(self.FINISH_RETRY_WAIT_S)
        else:
            return False
        c = read_store(self.path)
        want = {k: d for k, (_, d) in self._points.items()}
        got = {k: d for k, (_, d) in c["points"].items()}
        if c["damaged"] or got != want:
            raise StoreError(f"{str(self.path)!r} did not read back as written (damaged {sorted(c['damaged'])}); "
                             f"the journal {str(self.journal.path)!r} is kept: run again with --resume")
        self._guard(self.journal.destroy, f"removing the journal {str(self.journal.path)!r}")
        return True

    def close(self) -> None:
        if self.journal is not None:
            self.journal.unlock()


