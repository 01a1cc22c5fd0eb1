"""The HDF5 file of a store: attribute encoding, building it in memory, reading it with every check.

See :mod:`.store` for the layout and why the file is built in memory and
replaced atomically. Nothing here touches the journal or the disk except
:func:`read_store`, which opens the file read-only without a lock.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Mapping

import numpy as np

from ._json import to_jsonable

__all__ = ["FORMAT", "FORMAT_VERSION", "READ_VERSIONS", "INTEGRITY", "StoreError", "StoreWarning", "to_jsonable", "decode_attrs",
           "escape_control", "hdf5_bytes", "read_store", "missing_data", "damage_error"]

FORMAT = "macrobell"
#: Version 2 (issue 10): the correlation tensor is the dataset ``corr`` (was ``T``), ``state`` holds the
#: Diagnostics fields by name (was ``truncation_error``, ``variance``, ``info``), points carry ``seeds``.
FORMAT_VERSION = 2
#: Versions this module reads; version 1 points are verified in their own encoding, then converted.
READ_VERSIONS = (1, 2)
INTEGRITY = "sha256"
#: The HDF5 user block (ignored by HDF5) holds the SHA-256 of the rest of the file, checked before libhdf5
#: ever parses it: libhdf5 can crash (SIGSEGV) on damaged metadata, so a damaged file is parsed only in a
#: child process (see :func:`_read_isolated`).
USERBLOCK = 512
FILE_MAGIC = b"macrobell-store sha256="
#: Deepest group nesting of the layout (/points/<id>/partitions/<name>/corr is depth 5).
_MAX_DEPTH = 5
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class StoreError(ValueError):
    """A file that is not (or no longer) a macrobell store, or a refused write."""


class StoreWarning(UserWarning):
    """Something about a store the user should know (damage repaired, a deferred rebuild)."""


# ---------------------------------------------------------------- attribute encoding


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


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_control(text: str, keep_newlines: bool = True) -> str:
    """``text`` with control characters (terminal escape sequences, bidi overrides) shown as ``\\xNN``.

    Attribute text comes from files that may have been crafted; printing it
    raw would let the file drive the terminal. Newlines and tabs are kept
    unless ``keep_newlines`` is false.
    """
    text = str(text)
    if not keep_newlines:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                        else f"\\u{ord(m.group()):04x}", text)


def _sweep_digest(toml: str, canonical: str, n_points: int) -> str:
    return hashlib.sha256(json.dumps([toml, canonical, int(n_points)]).encode()).hexdigest()


def _manifest(complete, failed) -> str:
    return json.dumps({"complete": sorted(complete), "failed": sorted(failed)}, sort_keys=True)


# ---------------------------------------------------------------- writing HDF5 (in memory)


def _write_point_group(pts, point: Mapping, digest: str):
    g = pts.create_group(point["id"])
    g.attrs["params"] = _dumps(point["params"])
    g.attrs["index"] = int(point["index"])
    g.attrs["elapsed_s"] = float(point["elapsed_s"])
    g.attrs["warnings"] = _dumps(list(point["warnings"]))
    g.attrs["seeds"] = _dumps(point["seeds"])
    _set_attrs(g.create_group("state"), point["state"])
    pg = g.create_group("partitions")
    for name, part in point["partitions"].items():
        h = pg.create_group(name)
        for k in ("regions", "corr", "rho"):
            h.create_dataset(k, data=part[k])
        _set_attrs(h, part["criteria"])
        if part.get("arrays"):
            b = h.create_group("bell")
            for k, v in part["arrays"].items():
                b.create_dataset(k, data=v)
    if point.get("microscopic"):
        _set_attrs(g.create_group("microscopic"), point["microscopic"])
    if point.get("pairs") is not None:
        g.create_group("pairs").create_dataset("C", data=point["pairs"])
    g.attrs["sha256"] = digest
    g.attrs["status"] = "complete"


def hdf5_bytes(header: Mapping, points: Mapping, failed: Mapping) -> bytes:
    """The whole store file as bytes: ``points`` id → (normalised point, digest), ``failed`` id → info."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w", userblock_size=USERBLOCK) as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        for k in ("macrobell_version", "quimb_version", "numpy_version", "h5py_version", "hdf5_version",
                  "created"):
            f.attrs[k] = str(header.get(k, ""))
        f.attrs["integrity"] = INTEGRITY
        g = f.create_group("sweep")
        g.attrs["toml"] = header["toml"]
        g.attrs["canonical"] = header["canonical"]
        g.attrs["n_points"] = int(header["n_points"])
        g.attrs["sha256"] = _sweep_digest(header["toml"], header["canonical"], header["n_points"])
        pts = f.create_group("points")
        for pid in sorted(points, key=lambda i: (points[i][0]["index"], i)):
            _write_point_group(pts, *points[pid])
        for pid, info in sorted(failed.items()):
            if pid in points:
                continue
            h = pts.create_group(pid)
            h.attrs["params"] = _dumps(info.get("params", {}))
            h.attrs["index"] = int(info.get("index", -1))
            h.attrs["error"] = str(info.get("error", ""))
            h.attrs["error_type"] = str(info.get("error_type", ""))
            h.attrs["status"] = "failed"
        manifest = _manifest(points, [i for i in failed if i not in points])
        pts.attrs["manifest"] = manifest
        pts.attrs["manifest_sha256"] = hashlib.sha256(manifest.encode()).hexdigest()
    data = bytearray(buf.getvalue())
    stamp = FILE_MAGIC + hashlib.sha256(memoryview(data)[USERBLOCK:]).hexdigest().encode() + b"\n"
    data[:USERBLOCK] = stamp.ljust(USERBLOCK, b"\0")
    return bytes(data)


def _file_check(data: bytes) -> str:
    """``"ok"``, ``"none"`` (no digest: an older file) or ``"mismatch"`` for the file-wide SHA-256."""
    if not data.startswith(FILE_MAGIC):
        return "mismatch" if data[:64].find(b"macrobell-store") >= 0 else "none"
    want = data[len(FILE_MAGIC):len(FILE_MAGIC) + 64]
    return "ok" if hashlib.sha256(memoryview(data)[USERBLOCK:]).hexdigest().encode() == want else "mismatch"


# ---------------------------------------------------------------- reading HDF5


def _check_no_links(group, path, depth=0):
    """Refuse soft/external links and external/virtual datasets anywhere below ``group``."""
    import h5py

    if depth > _MAX_DEPTH:
        raise StoreError(f"{str(path)!r}: group {group.name} is nested deeper than a macrobell file")
    for k in group:
        link = group.get(k, getlink=True)
        where = f"{group.name.rstrip('/')}/{k}"
        if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            kind = "soft" if isinstance(link, h5py.SoftLink) else "external"
            raise StoreError(f"{str(path)!r}: {where} is an HDF5 {kind} link; refusing the file "
                             "(a macrobell file contains no links)")
        obj = group[k]
        if isinstance(obj, h5py.Group):
            _check_no_links(obj, path, depth + 1)
        elif isinstance(obj, h5py.Dataset):
            if obj.is_virtual or obj.id.get_create_plist().get_external_count() > 0:
                raise StoreError(f"{str(path)!r}: dataset {where} stores its data in another file; refusing it")


def _read_point(g, pairs: bool) -> dict:
    """One point group as the point dict of its file's version (tensor ``T`` and no seeds in version 1)."""
    version = int(g.file.attrs.get("format_version", FORMAT_VERSION))
    tensor = "corr" if version >= 2 else "T"
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
            out["partitions"][name] = {"regions": h["regions"][()], tensor: h[tensor][()], "rho": h["rho"][()],
                                       "criteria": decode_attrs(h)}
            if "bell" in h:
                out["partitions"][name]["arrays"] = {k: h["bell"][k][()] for k in h["bell"]}
    if "microscopic" in g:
        out["microscopic"] = decode_attrs(g["microscopic"])
    if pairs and "pairs" in g and "C" in g["pairs"]:
        out["pairs"] = g["pairs"]["C"][()]
    if version >= 2:
        out["seeds"] = json.loads(g.attrs["seeds"])
    return out


def missing_data(point: Mapping, partition_names) -> str | None:
    """Why a point marked complete is not whole (``None`` when it is)."""
    if not point.get("state"):
        return "no state diagnostics"
    have = set(point.get("partitions", {}))
    if partition_names is not None and have != set(partition_names):
        return f"partitions {sorted(have)} instead of {sorted(partition_names)}"
    return None


def _partition_names(canonical: str):
    try:
        return [p["name"] for p in json.loads(canonical).get("partitions", [])]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def sweep_observables(canonical: str):
    """The ``[observables]`` of a canonical sweep (``None`` when it cannot be read)."""
    try:
        obs = json.loads(canonical).get("observables", {})
        return obs if isinstance(obs, dict) else None
    except (ValueError, TypeError, AttributeError):
        return None


def read_store(path, pairs: bool = False) -> dict:
    """Read a whole store file in one opening, checking everything it can.

    Returns
    -------
    dict
        ``root`` (root attributes), ``toml``, ``canonical``, ``n_points``,
        ``statuses`` (id → status of every group present), ``points`` (id →
        (point dict, digest) of every intact complete point), ``failed``
        (id → params, error, error_type), ``damaged`` (id → reason: a
        checksum mismatch, unreadable or missing data), ``checked`` (whether
        the file carries checksums).

    Raises
    ------
    StoreError
        Not HDF5, not a macrobell file, an unknown ``format_version``, links,
        or a damaged ``/sweep`` header — at once, without retries.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"file {str(path)!r} does not exist")
    try:
        with open(path, "rb") as fh:
            data = fh.read()  # one read: the bytes checked are the bytes parsed, whatever replaces the file
    except OSError as exc:
        raise StoreError(f"cannot read {str(path)!r}: {exc}") from None
    check = _file_check(data)
    if check == "mismatch":
        out = _read_isolated(path, data, pairs)
    else:
        out = _parse(data, path, pairs)
    out["file_check"] = check
    return out


def _parse(data: bytes, path, pairs, emit=None) -> dict:
    import h5py

    try:
        f = h5py.File(io.BytesIO(data), "r")
    except OSError as exc:
        raise StoreError(f"cannot open {str(path)!r} as HDF5 (damaged or not HDF5): {exc}") from None
    try:
        with f:
            return _read_open_store(f, path, pairs, emit)
    except StoreError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise StoreError(f"{str(path)!r} is damaged: {type(exc).__name__}: {exc}") from None


#: The child imports only this module and the journal (as package ``_mbstore``), not macrobell: fast start.
ISOLATED_BOOT = ("import sys, types\npkg = types.ModuleType('_mbstore')\npkg.__path__ = [{dir!r}]\n"
                 "sys.modules['_mbstore'] = pkg\n").format(dir=str(Path(__file__).resolve().parent))
_ISOLATED = ISOLATED_BOOT + "from _mbstore._h5 import _isolated_main\n_isolated_main()\n"


def _read_isolated(path, data: bytes, pairs: bool) -> dict:
    """Parse a file that fails its file checksum in a child process, which libhdf5 may crash.

    The child streams what it reads (the header, then each point as it is
    verified); a crash names the point being read, and everything verified
    before it is kept.
    """
    import subprocess
    import sys

    from .journal import decode_point

    r = subprocess.run([sys.executable, "-c", _ISOLATED, "1" if pairs else "0"], input=data,
                       capture_output=True, timeout=600)
    frames, pos, buf = [], 0, r.stdout
    while pos < len(buf):
        nl = buf.find(b"\n", pos)
        if nl < 0:
            break
        kind, _, n = buf[pos:nl].decode().partition(" ")
        if nl + 1 + int(n) > len(buf):
            break
        frames.append((kind, buf[nl + 1:nl + 1 + int(n)]))
        pos = nl + 1 + int(n)
    out, started, end = None, None, None
    for kind, payload in frames:
        if kind == "error":
            raise StoreError(payload.decode())
        if kind == "head":
            out = {**json.loads(payload), "statuses": {}, "points": {}, "failed": {}, "damaged": {}}
        elif kind == "start":
            started = payload.decode()
        elif kind == "point":
            digest, _, body = payload.partition(b"\n")
            point = decode_point(body)
            if not pairs:
                point.pop("pairs", None)
            out["points"][point["id"]] = (point, digest.decode() if digest != b"-" else None)
            started = None
        elif kind == "end":
            end = json.loads(payload)
    if out is None:
        raise StoreError(f"{str(path)!r} is damaged: it fails its file checksum and the HDF5 library cannot "
                         f"read it (exit status {r.returncode})")
    if end is not None:
        for k in ("statuses", "failed", "damaged"):
            out[k] = end[k]
    else:
        out["damaged"][started or "?"] = ("unreadable: the HDF5 library crashed reading it (points after it "
                                          "were not read)")
    return out


def _isolated_main():  # pragma: no cover - runs in the child of _read_isolated
    import sys

    from .journal import encode_point, normalize_record

    stream = sys.stdout.buffer

    def frame(kind, payload: bytes):
        stream.write(f"{kind} {len(payload)}\n".encode() + payload)
        stream.flush()

    def emit(kind, *args):
        if kind == "head":
            frame("head", json.dumps(args[0]).encode())
        elif kind == "start":
            frame("start", args[0].encode())
        elif kind == "point":
            point, digest = args
            frame("point", (digest or "-").encode() + b"\n" + encode_point(normalize_record(point)))

    pairs = sys.argv[1] == "1"
    try:
        out = _parse(sys.stdin.buffer.read(), "<damaged file>", pairs, emit)
    except StoreError as exc:
        frame("error", str(exc).encode())
        return
    frame("end", json.dumps({k: out[k] for k in ("statuses", "failed", "damaged")}).encode())


def _read_open_store(f, path, pairs, emit=None) -> dict:
    from .journal import normalize_record, point_digest  # the journal's encoding defines the checksum

    _check_no_links(f, path)
    if f.attrs.get("format") != FORMAT:
        raise StoreError(f"{str(path)!r} is not a macrobell file (root attribute format={f.attrs.get('format')!r})")
    v = int(f.attrs.get("format_version", -1))
    if v not in READ_VERSIONS:
        raise StoreError(f"{str(path)!r} has format_version {v}; this macrobell reads "
                         f"{' and '.join(map(str, READ_VERSIONS))}")
    checked = f.attrs.get("integrity") == INTEGRITY
    sw = f["sweep"]
    toml, canonical = str(sw.attrs["toml"]), str(sw.attrs.get("canonical", ""))
    n_points = int(sw.attrs.get("n_points", -1))
    if checked and sw.attrs.get("sha256") != _sweep_digest(toml, canonical, n_points):
        raise StoreError(f"{str(path)!r} is damaged: the /sweep header fails its checksum")
    out = {"root": decode_attrs(f), "toml": toml, "canonical": canonical, "n_points": n_points,
           "statuses": {}, "points": {}, "failed": {}, "damaged": {}, "checked": checked}
    if emit:
        emit("head", {k: out[k] for k in ("root", "toml", "canonical", "n_points", "checked")})
    pts = f["points"] if "points" in f else {}
    listed = None
    if checked:
        manifest = str(pts.attrs.get("manifest", ""))
        if pts.attrs.get("manifest_sha256") != hashlib.sha256(manifest.encode()).hexdigest():
            raise StoreError(f"{str(path)!r} is damaged: the /points manifest fails its checksum")
        listed = set(json.loads(manifest)["complete"])
    names = _partition_names(canonical)
    observables = sweep_observables(canonical)
    for pid in pts:
        if emit:
            emit("start", pid)
        try:
            g = pts[pid]
            status = g.attrs.get("status", "incomplete")
            status = status.decode() if isinstance(status, bytes) else str(status)
            out["statuses"][pid] = status
            if status == "failed":
                out["failed"][pid] = {"params": json.loads(g.attrs.get("params", "{}")),
                                      "index": int(g.attrs.get("index", -1)),
                                      "error": str(g.attrs.get("error", "")),
                                      "error_type": str(g.attrs.get("error_type", ""))}
                continue
            if status != "complete":
                continue
            if listed is not None and pid not in listed:
                out["damaged"][pid] = "marked complete but not in the manifest"
                continue
            point = _read_point(g, pairs=True)
            digest = None
            if checked:
                point = normalize_record(point, version=v)
                if g.attrs.get("sha256") != point_digest(point):
                    out["damaged"][pid] = "checksum mismatch"
                    continue
            if v < FORMAT_VERSION or not checked:  # verified in its own version: now the current form
                point = normalize_record(point, observables=observables)
            if checked:
                digest = point_digest(point)
            why = missing_data(point, names)
            if why:
                out["damaged"][pid] = f"marked complete but {why}"
                continue
            if emit:
                emit("point", point, digest)
            if not pairs:
                point.pop("pairs", None)
            out["points"][pid] = (point, digest)
        except Exception as exc:  # noqa: BLE001 - any failure to read one point is damage of that point
            out["damaged"][pid] = f"unreadable ({type(exc).__name__}: {exc})"
    for pid in sorted(listed or ()):  # the manifest catches a point whose group or status was damaged away
        if pid not in out["points"] and pid not in out["damaged"]:
            st = out["statuses"].get(pid)
            out["damaged"][pid] = ("listed complete but missing" if st is None
                                   else f"listed complete but its status reads {st!r}")
    return out


def damage_error(path, damaged: Mapping) -> StoreError:
    items = "; ".join(f"{k}: {v}" for k, v in sorted(damaged.items())[:10])
    more = f" (and {len(damaged) - 10} more)" if len(damaged) > 10 else ""
    return StoreError(f"{str(path)!r} is damaged: {len(damaged)} point(s) fail their checks — {items}{more}; "
                      "`macrobell run SWEEP.toml -o FILE --resume` recomputes them")
