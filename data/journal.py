"""The write-ahead journal of a sweep: one checksummed file per finished point.

A running sweep never edits its HDF5 file in place (HDF5 updates its
metadata in place, so a kill or a full disk mid-write can leave it
unreadable). Instead every finished point becomes its own small file in a
sidecar directory ``OUT.h5.journal/``, committed atomically — written under
a temporary name, ``fsync``-ed, moved into place with :func:`os.replace`,
and the directory ``fsync``-ed — so that at any moment each entry is either
absent or whole. The HDF5 file users read is rebuilt from the journal (see
:mod:`.store`).

Layout::

    OUT.h5.journal/
        sweep.mbj          the sweep (its TOML text, canonical JSON, point count, versions)
        points/<id>.mbj    one finished or failed point
        lock               flock-ed by the one writing process

Entry format (no pickle)::

    b"MBJ1 <kind> <sha256 of body, hex>\\n" + body

``kind`` is ``sweep``, ``complete`` or ``failed``. A ``complete`` body is
:func:`encode_point` (a sorted-key JSON line describing the point, then the
raw little-endian bytes of its arrays), and its digest is also the point's
``sha256`` attribute in the HDF5 file, so the same check covers both copies.
Since format version 2 the JSON line carries ``format_version`` (2),
``seeds`` and the Diagnostics ``state`` fields, and the correlation tensor is
``corr``; entries of version 1 runs (no ``format_version``, tensor ``T``) are
still read, and a resume commits them again in the version 2 form.

Measured on this machine (tmp on ext4, 6 kB points, 200 commits): one file
+ fsync + rename + directory fsync per point, 0.31 ms; an SQLite insert in
WAL mode with ``synchronous=FULL``, 0.17 ms. Both are negligible next to a
point's computation; files were chosen because damage stays local to one
point (one flipped byte cannot make the rest unreadable, unlike a shared
B-tree page), lock-free readers need nothing, and every commit is a few
plain syscalls that fault-injection tests can enumerate.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ._json import to_jsonable

__all__ = ["JournalError", "Journal", "journal_path", "encode_point", "decode_point", "point_digest",
           "normalize_record", "state_record", "point_seeds", "atomic_write", "MAGIC", "POINT_VERSION",
           "STATE_FIELDS", "DIAGNOSTICS_FIELDS", "ZB_SEED"]

MAGIC = b"MBJ1"
_KINDS = ("sweep", "complete", "failed")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_SUFFIX = ".mbj"
#: Version of the point encoding (it is also the HDF5 ``format_version`` that stores points this way).
POINT_VERSION = 2
#: Array fields of a partition, per encoding version, and the dtype each is stored in. Version 2 names the
#: correlation tensor ``corr`` (``T`` is the temperature everywhere else).
_ARRAYS = {1: {"regions": "<i8", "T": "<f8", "rho": "<c16"}, 2: {"regions": "<i8", "corr": "<f8", "rho": "<c16"}}
_ARRAY_DTYPES = _ARRAYS[POINT_VERSION]
#: The common fields of ``macrobell.tn.state.Diagnostics`` (``DIAGNOSTICS_FIELDS``; repeated here because
#: this module is also imported alone, in the child process of ``_h5._read_isolated``; a test checks they agree).
DIAGNOSTICS_FIELDS = ("converged", "energy", "energy_variance", "discarded_weight", "max_bond", "n_sweeps",
                      "elapsed_s", "warnings")
#: The ``state`` of a version 2 point: every Diagnostics field, ``extra``, and the point's T, beta, backend, method.
STATE_FIELDS = DIAGNOSTICS_FIELDS + ("extra", "T", "beta", "backend", "method")
#: Version 1 state keys read as a version 2 field when the field's own key is absent (Diagnostics' aliases).
_STATE_ALIASES = {"energy_variance": ("variance",), "discarded_weight": ("truncation_error",),
                  "n_sweeps": ("sweeps",)}
#: The seed ``criteria()`` gives ``zb_max``'s random starts: the sweep calls it without one, so its default
#: (``macrobell.observables.criteria.criteria(seed=0)``; a test checks they agree).
ZB_SEED = 0


class JournalError(ValueError):
    """A journal entry that is damaged or unsafe (the message names it)."""


def journal_path(out) -> Path:
    """The journal directory of the HDF5 file ``out`` (``OUT.h5.journal``)."""
    out = Path(out)
    return out.with_name(out.name + ".journal")


# ---------------------------------------------------------------- encoding


def _jsonable(obj: Any) -> Any:
    return to_jsonable(obj)  # one conversion rule for HDF5 attributes and the journal


def _dumps(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, allow_nan=True, separators=(",", ":")).encode()


def point_seeds(params: Mapping, observables: Mapping | None) -> dict:
    """The random seeds a point used: ``{"state": ..., "bell": ..., "zb": ...}`` (issue 13).

    ``state`` is the backend's ``seed`` option (``None``: none given, the
    backend's default); ``bell`` the Bell engine's ``bell_seed`` (default 0;
    ``None`` when the sweep runs no Bell engine, or when ``observables`` is
    unknown); ``zb`` the seed of ``zb_max``'s random starts (:data:`ZB_SEED`).
    """
    state = params.get("state") if isinstance(params, Mapping) else None
    seed = state.get("seed") if isinstance(state, Mapping) else None
    bell = None
    if observables is not None and ("bell_settings" in observables or observables.get("lhs")):
        bell = int(observables.get("bell_seed", 0))  # what compute._partition_criteria passes
    return {"state": _jsonable(seed), "bell": bell, "zb": ZB_SEED}


def _state_field(state: Mapping, info: Mapping, name: str):
    for src in (state, info):
        for key in (name, *_STATE_ALIASES.get(name, ())):
            if key in src and src[key] is not None:
                return src[key]
    return None


def _float(v) -> float:
    return math.nan if v is None else float(v)


def state_record(state: Mapping) -> dict:
    """The ``state`` of a version 2 point from a worker's (or a version 1 file's) state dict.

    Every field of :data:`STATE_FIELDS`, nothing else. A field is taken from
    its own key, else from its version 1 name (``truncation_error`` →
    ``discarded_weight``, ``variance`` → ``energy_variance``), else from the
    ``info`` mapping; ``extra`` is ``info`` without the common fields (exactly
    ``Diagnostics.extra`` when ``info`` is ``state.info``). Conventions of
    :func:`~.compute.state_diagnostics`: ``max_bond`` and ``n_sweeps`` are -1
    where they do not apply, ``converged`` is true for a state without a
    solver flag, floats that do not apply are ``nan``.
    """
    state = dict(state)
    info = state.get("info") if isinstance(state.get("info"), Mapping) else {}
    get = lambda name: _state_field(state, info, name)  # noqa: E731
    T = _float(get("T"))
    beta = get("beta")
    extra = state["extra"] if isinstance(state.get("extra"), Mapping) else \
        {k: v for k, v in info.items() if k not in DIAGNOSTICS_FIELDS}
    conv = get("converged")
    return _jsonable({
        "converged": True if conv is None else bool(conv),
        "energy": _float(get("energy")),
        "energy_variance": _float(get("energy_variance")),
        "discarded_weight": _float(get("discarded_weight")),
        "max_bond": -1 if get("max_bond") is None else int(get("max_bond")),
        "n_sweeps": -1 if get("n_sweeps") is None else int(get("n_sweeps")),
        "elapsed_s": _float(get("elapsed_s")),
        "warnings": [str(w) for w in (get("warnings") or [])],
        "extra": dict(extra),
        "T": T,
        "beta": (math.inf if T == 0 else 1.0 / T) if beta is None else float(beta),
        "backend": str(get("backend") or ""),
        "method": str(get("method") or ""),
    })


def normalize_record(record: Mapping, version: int = POINT_VERSION, observables: Mapping | None = None) -> dict:
    """A worker's point record in the exact form the store keeps (and reads back from HDF5).

    Scalars and containers become plain JSON values; ``regions``, the
    correlation tensor and ``rho`` become int64 / float64 / complex128
    arrays; the partition's ``names`` and ``sizes`` join its criteria (they
    are stored as attributes next to them); ``pairs`` becomes real when its
    imaginary part is zero.

    Version 2 (the default): the correlation tensor is ``corr`` (a record's
    ``T``, as :func:`~.compute.compute_group` and version 1 points name it,
    is read as ``corr``); ``state`` holds exactly :data:`STATE_FIELDS`
    (:func:`state_record`); ``seeds`` is the record's, else
    :func:`point_seeds` of its params and ``observables`` (the sweep's
    ``[observables]``). So a version 1 point normalises into its version 2
    form. ``version=1`` gives the version 1 form (to verify a version 1
    file's checksums).
    """
    if version not in _ARRAYS:
        raise JournalError(f"point encoding version {version!r}: expected one of {sorted(_ARRAYS)}")
    pid = str(record["id"])
    if not _ID.match(pid):
        raise JournalError(f"point id {pid!r} is not a safe file name")
    tensor = "corr" if version >= 2 else "T"
    parts = {}
    for name, part in record.get("partitions", {}).items():
        crit = _jsonable(dict(part.get("criteria", {})))
        crit.setdefault("names", _jsonable(list(part.get("names", []))))
        crit.setdefault("sizes", _jsonable(list(part.get("sizes", []))))
        src = dict(part)
        if tensor not in src:  # the other version's name of the correlation tensor
            src[tensor] = part["T" if tensor == "corr" else "corr"]
        parts[str(name)] = {k: np.ascontiguousarray(src[k], dtype=np.dtype(dt)) for k, dt in _ARRAYS[version].items()}
        parts[str(name)]["criteria"] = crit
        extra = {str(k): np.ascontiguousarray(v, dtype="<f8") for k, v in (part.get("arrays") or {}).items()}
        if extra:  # the Bell engine's inequality and settings (absent otherwise, so old digests stand)
            for k in extra:
                if not _ID.match(k):
                    raise JournalError(f"partition {name!r}: array name {k!r} is not a safe dataset name")
            parts[str(name)]["arrays"] = extra
    pairs = record.get("pairs")
    if pairs is not None:
        pairs = np.asarray(pairs)
        if np.iscomplexobj(pairs) and not np.abs(pairs.imag).any():
            pairs = pairs.real
        pairs = np.ascontiguousarray(pairs, dtype="<c16" if np.iscomplexobj(pairs) else "<f8")
    params = _jsonable(record["params"])
    out = {"id": pid, "index": int(record.get("index", -1)), "params": params,
           "elapsed_s": float(record.get("elapsed_s", math.nan)),
           "warnings": [str(w) for w in record.get("warnings", [])],
           "state": _jsonable(dict(record.get("state", {}))) if version == 1 else
           state_record(record.get("state", {})),
           "partitions": parts, "pairs": pairs,
           **({"microscopic": _jsonable(dict(record["microscopic"]))} if record.get("microscopic") else {})}
    if version >= 2:
        seeds = record.get("seeds")
        out["seeds"] = _jsonable(dict(seeds)) if isinstance(seeds, Mapping) else point_seeds(params, observables)
    return out


def _point_version(point: Mapping) -> int:
    """The encoding version of a normalised point (version 1 points have no ``seeds``)."""
    return POINT_VERSION if "seeds" in point else 1


def encode_point(point: Mapping) -> bytes:
    """Deterministic bytes of a normalised point: a JSON line, then the raw array bytes.

    A version 2 point (:func:`normalize_record`) carries ``format_version``
    and ``seeds`` in its JSON line and its tensor as ``corr``, so the
    checksum covers them; a version 1 point encodes exactly as version 1 did.
    """
    version = _point_version(point)
    blobs: list = []

    def ref(a) -> dict:
        a = np.ascontiguousarray(a)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        blobs.append(a.tobytes())
        return {"__array__": a.dtype.str, "shape": list(a.shape), "nbytes": len(blobs[-1])}

    parts = {}
    for name in sorted(point["partitions"]):  # the order of the blobs must not depend on insertion order
        part = point["partitions"][name]
        parts[name] = {k: ref(part[k]) for k in _ARRAYS[version]}
        parts[name]["criteria"] = part["criteria"]
        if part.get("arrays"):
            parts[name]["arrays"] = {k: ref(part["arrays"][k]) for k in sorted(part["arrays"])}
    meta = {k: point[k] for k in ("id", "index", "params", "elapsed_s", "warnings", "state")}
    if version >= 2:
        meta["format_version"] = version
        meta["seeds"] = point["seeds"]
    if point.get("microscopic"):
        meta["microscopic"] = point["microscopic"]
    meta["partitions"] = parts
    meta["pairs"] = None if point.get("pairs") is None else ref(point["pairs"])
    return _dumps(meta) + b"\n" + b"".join(blobs)


def decode_point(body: bytes) -> dict:
    """Inverse of :func:`encode_point` (raises ``ValueError`` on malformed bytes).

    A version 1 entry decodes into its version 1 form (tensor ``T``, no
    ``seeds``); :func:`normalize_record` turns it into version 2.
    """
    head, sep, rest = body.partition(b"\n")
    if not sep:
        raise ValueError("no header line")
    meta = json.loads(head)
    version = int(meta.pop("format_version", 1))
    if version not in _ARRAYS:
        raise ValueError(f"unknown point encoding version {version}")
    if version >= 2 and "seeds" not in meta:
        raise ValueError("a version 2 point without seeds")
    pos = 0

    def take(r) -> np.ndarray:
        nonlocal pos
        dt = np.dtype(r["__array__"])
        n = int(r["nbytes"])
        if pos + n > len(rest) or n != dt.itemsize * int(np.prod(r["shape"], dtype=np.int64)):
            raise ValueError("array bytes truncated")
        a = np.frombuffer(rest, dtype=dt, count=n // dt.itemsize, offset=pos).reshape(r["shape"]).copy()
        pos += n
        return a

    parts = {}
    for name in sorted(meta["partitions"]):
        part = meta["partitions"][name]
        parts[name] = {k: take(part[k]) for k in _ARRAYS[version]}
        parts[name]["criteria"] = part["criteria"]
        if part.get("arrays"):
            parts[name]["arrays"] = {k: take(part["arrays"][k]) for k in sorted(part["arrays"])}
    meta["partitions"] = parts
    meta["pairs"] = None if meta.get("pairs") is None else take(meta["pairs"])
    if pos != len(rest):
        raise ValueError("trailing bytes")
    return meta


def point_digest(point: Mapping) -> str:
    """SHA-256 (hex) of :func:`encode_point` — the checksum of a point in the journal and in HDF5."""
    return hashlib.sha256(encode_point(point)).hexdigest()


def _frame(kind: str, body: bytes) -> bytes:
    return MAGIC + b" " + kind.encode() + b" " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body


def _unframe(data: bytes, what: str) -> tuple[str, bytes, str]:
    head, sep, body = data.partition(b"\n")
    fields = head.split(b" ")
    if not sep or len(fields) != 3 or fields[0] != MAGIC or fields[1].decode("ascii", "replace") not in _KINDS:
        raise JournalError(f"{what}: not a journal entry (bad header)")
    digest = hashlib.sha256(body).hexdigest()
    if fields[2].decode("ascii", "replace") != digest:
        raise JournalError(f"{what}: checksum mismatch (damaged)")
    return fields[1].decode(), body, digest


# ---------------------------------------------------------------- atomic files


def _write_all(fd: int, data: bytes):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, data: bytes) -> None:
    """Replace ``path`` by ``data`` atomically and durably (temp file, fsync, rename, fsync of the directory).

    A kill at any point leaves either the old file or the new one (plus, at
    worst, a ``.*.tmp`` file that :meth:`Journal.clean` removes); an error
    (e.g. ``ENOSPC``) removes the temporary file and propagates.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)


def _read_nofollow(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        chunks = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the journal


class Journal:
    """The journal directory of one output file (see the module docstring)."""

    def __init__(self, path):
        self.path = Path(path)
        self.points_dir = self.path / "points"
        self._lock_fd = None

    # -- safety
    def check_safe(self) -> None:
        """Refuse a journal that is (or contains) a symbolic link: writes must not land elsewhere."""
        for p in (self.path, self.points_dir):
            if p.is_symlink():
                raise JournalError(f"{str(p)!r} is a symbolic link; refusing to use it as a journal")
            if p.exists() and not p.is_dir():
                raise JournalError(f"{str(p)!r} exists and is not a directory")

    def exists(self) -> bool:
        return self.path.is_symlink() or self.path.exists()

    # -- creation / locking
    def create(self) -> None:
        """Make the (empty) journal directories; an existing journal is an error."""
        try:
            os.mkdir(self.path)
        except FileExistsError:
            raise JournalError(f"journal {str(self.path)!r} already exists") from None
        os.mkdir(self.points_dir)
        fsync_dir(self.path)
        fsync_dir(self.path.parent)

    def ensure_dirs(self) -> None:
        self.check_safe()
        for p in (self.path, self.points_dir):
            if not p.exists():
                os.mkdir(p)
                fsync_dir(p.parent)

    def lock(self) -> None:
        """Take the writer's lock (released when the process ends, however it ends)."""
        fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise JournalError(f"another macrobell process is writing {str(self.path)!r}") from None
            raise
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- header
    def write_header(self, header: Mapping) -> None:
        atomic_write(self.path / "sweep.mbj", _frame("sweep", _dumps(_jsonable(dict(header)))))

    def read_header(self) -> dict | None:
        """The sweep header, ``None`` when absent; :class:`JournalError` when damaged."""
        p = self.path / "sweep.mbj"
        if not p.exists() and not p.is_symlink():
            return None
        try:
            kind, body, _ = _unframe(_read_nofollow(p), f"journal header {str(p)!r}")
            if kind != "sweep":
                raise JournalError(f"journal header {str(p)!r}: wrong kind {kind!r}")
            return json.loads(body)
        except OSError as exc:
            raise JournalError(f"journal header {str(p)!r}: cannot read ({exc})") from None
        except ValueError as exc:
            if isinstance(exc, JournalError):
                raise
            raise JournalError(f"journal header {str(p)!r}: malformed ({exc})") from None

    # -- points
    def _entry(self, pid: str) -> Path:
        if not _ID.match(pid):
            raise JournalError(f"point id {pid!r} is not a safe file name")
        return self.points_dir / (pid + _SUFFIX)

    def write_point(self, point: Mapping) -> str:
        """Commit a normalised point (see :func:`normalize_record`); returns its digest."""
        body = encode_point(point)
        atomic_write(self._entry(point["id"]), _frame("complete", body))
        return hashlib.sha256(body).hexdigest()

    def write_failed(self, pid: str, info: Mapping) -> None:
        """Record a failed point (not complete: a resume recomputes it)."""
        atomic_write(self._entry(pid), _frame("failed", _dumps(_jsonable({"id": pid, **info}))))

    def remove(self, pid: str) -> None:
        try:
            os.unlink(self._entry(pid))
        except FileNotFoundError:
            pass

    def scan(self) -> tuple[dict, dict, dict]:
        """Read every entry: ``(complete, failed, damaged)``.

        ``complete`` maps id → (point, digest), ``failed`` id → info, and
        ``damaged`` id (or file name) → the reason it was rejected.
        """
        complete, failed, damaged = {}, {}, {}
        if not self.points_dir.is_dir() or self.points_dir.is_symlink():
            return complete, failed, damaged
        for p in sorted(self.points_dir.iterdir()):
            name = p.name
            if not name.endswith(_SUFFIX) or name.startswith("."):
                continue
            pid = name[: -len(_SUFFIX)]
            try:
                if p.is_symlink() or not p.is_file():
                    raise JournalError(f"journal entry {name!r} is not a regular file")
                kind, body, digest = _unframe(_read_nofollow(p), f"journal entry {name!r}")
                if kind == "complete":
                    point = decode_point(body)
                    if point.get("id") != pid:
                        raise JournalError(f"journal entry {name!r} holds point {point.get('id')!r}")
                    complete[pid] = (point, digest)
                elif kind == "failed":
                    failed[pid] = json.loads(body)
                else:
                    raise JournalError(f"journal entry {name!r}: unexpected kind {kind!r}")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                damaged[pid] = str(exc)
        return complete, failed, damaged

    # -- housekeeping
    def clean(self) -> None:
        """Remove temporary files left by a killed writer."""
        for d in (self.path, self.points_dir):
            if d.is_dir() and not d.is_symlink():
                for p in d.iterdir():
                    if p.name.startswith(".") and p.name.endswith(".tmp"):
                        p.unlink()

    def destroy(self) -> None:
        """Delete the journal (after its content is safely in the HDF5 file).

        Points go first and the header last, so a kill half-way leaves a
        journal that a resume still reads correctly alongside the HDF5 file.
        """
        self.check_safe()
        if self.points_dir.is_dir():
            for p in self.points_dir.iterdir():
                p.unlink()
            os.rmdir(self.points_dir)
        for name in ("sweep.mbj", "lock"):
            try:
                os.unlink(self.path / name)
            except FileNotFoundError:
                pass
        self.unlock()
        self.clean()
        try:
            os.rmdir(self.path)
        except OSError:
            pass  # something foreign inside: leave it for the user to inspect
        fsync_dir(self.path.parent)
