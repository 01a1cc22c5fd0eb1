"""Fault injection into the store: a kill at every write boundary, a full disk, flipped bytes.

The oracle is an uninterrupted run: whatever the fault, the file stays
readable and ``--resume`` ends with exactly its rows. Kills use
``strace --inject=SYSCALL:signal=KILL:when=N`` on a forked driver (every N
from 1 until the run completes, for each write-like syscall) where strace
is available, and a pure-Python fallback that ends the driver with
``os._exit`` at the k-th call of each os-level write function.
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pandas as pd
import pytest

from macrobell.data import StoreError, load, run_sweep
from macrobell.data import journal as journal_mod
from macrobell.data import store as store_mod
from macrobell.data.journal import Journal, journal_path
from macrobell.data.store import StoreWarning

SWEEP = """
[lattice]
kind = "chain"
L = [4, 6]
[model]
kind = "heisenberg"
[state]
method = "exact"
temperatures = [0.0, 0.5]
[[partitions]]
kind = "halves"
"""
N_POINTS = 4
STRACE = shutil.which("strace")
#: The syscalls that change files: a kill is injected at the entry of each invocation of each.
WRITE_SYSCALLS = ("write", "pwrite64", "fsync", "fdatasync", "rename", "renameat", "renameat2", "unlink",
                  "unlinkat", "mkdir", "rmdir")
#: The os-level functions of the write path (pure-Python fallback).
WRITE_FUNCTIONS = ("open", "write", "fsync", "replace", "unlink", "mkdir", "rmdir")


def _same_rows(a: pd.DataFrame, b: pd.DataFrame):
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    cols = [c for c in a.columns if c not in ("elapsed_s", "state_elapsed_s")]  # wall times
    a, b = a[cols].reset_index(drop=True), b[cols].reset_index(drop=True)
    for c in cols:
        if a[c].dtype.kind == "f":
            np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)
        else:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "ref.h5"
    run_sweep(SWEEP, path, workers=1, show_progress=False)
    return path, load(path)


def _fork(out, before_run, resume=False) -> int:
    """Run the sweep in a forked child (imports already done, so each run costs milliseconds)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            before_run()
            run_sweep(SWEEP, out, workers=1, resume=resume, show_progress=False)
            code = 0
        except BaseException:  # noqa: BLE001 - any failure is reported through the exit code
            code = 3
        finally:
            os._exit(code)
    return pid


def _wait(pid) -> int:
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _wait_for_tracer(timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/self/status") as f:
            if any(line.startswith("TracerPid:") and line.split()[1] != "0" for line in f):
                return
        time.sleep(0.001)
    os._exit(99)


def _check_recovery(out, reference):
    """After a fault: the output (if any) opens, and a resume gives exactly the uninterrupted rows."""
    if out.exists():
        load(out, damaged="skip")
    run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    _same_rows(load(out), reference[1])
    assert not journal_path(out).exists()
    leftovers = [p.name for p in out.parent.iterdir() if p.name != out.name]
    assert leftovers == [], leftovers


def _fresh(tmp_path, name):
    d = tmp_path / name
    d.mkdir()
    return d / "out.h5"


@pytest.mark.skipif(STRACE is None or not sys.platform.startswith("linux"), reason="needs strace (Linux)")
def test_kill_at_every_write_syscall_then_resume(tmp_path, reference):
    runs = {}
    for sc in WRITE_SYSCALLS:
        n = 1
        while True:
            out = _fresh(tmp_path, f"{sc}-{n}")
            pid = _fork(out, _wait_for_tracer)
            tracer = subprocess.Popen([STRACE, "-f", "-qq", "-o", os.devnull, "-e", f"trace={sc}",
                                       "-e", f"inject={sc}:signal=KILL:when={n}", "-p", str(pid)],
                                      stderr=subprocess.PIPE)
            rc = _wait(pid)
            tracer.wait(timeout=30)
            if rc == 99:
                pytest.skip(f"strace cannot attach here: {tracer.stderr.read().decode()[:200]}")
            if rc == 0:  # fewer than n calls: the run completed untouched
                _same_rows(load(out), reference[1])
                break
            assert rc == -signal.SIGKILL, (sc, n, rc)
            _check_recovery(out, reference)
            n += 1
        runs[sc] = n - 1
    print("kill points per syscall:", runs)
    # The write path really was exercised: one journal entry per point, each written, synced and renamed.
    renames = runs["rename"] + runs["renameat"] + runs["renameat2"]
    assert runs["write"] >= N_POINTS + 3 and runs["fsync"] >= 2 * (N_POINTS + 3) and renames >= N_POINTS + 3
    assert runs["unlink"] + runs["unlinkat"] >= N_POINTS and runs["mkdir"] == 2


def _exit_at(k):
    """Patch the os write functions so that the k-th call among them ends the process (no cleanup)."""
    count = [0]
    for name in WRITE_FUNCTIONS:
        real = getattr(os, name)

        def hooked(*a, _real=real, _name=name, **kw):
            if _name != "open" or (len(a) > 1 and a[1] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
                count[0] += 1
                if count[0] == k:
                    os._exit(137)
            return _real(*a, **kw)

        setattr(os, name, hooked)


def _exit_at_each_call(tmp_path, reference, step=1):
    k = 1
    while True:
        out = _fresh(tmp_path, f"k{k}")
        rc = _wait(_fork(out, lambda: _exit_at(k)))
        if rc == 0:
            _same_rows(load(out), reference[1])
            break
        assert rc == 137, (k, rc)
        _check_recovery(out, reference)
        k += step
    return k


@pytest.mark.skipif(STRACE is not None, reason="strace is present: the syscall-level test covers every boundary "
                                                "(the full fallback runs with -m slow)")
def test_exit_at_every_os_write_call_then_resume(tmp_path, reference):
    assert _exit_at_each_call(tmp_path, reference) > 5 * (N_POINTS + 3)  # open, write, fsync, rename, fsync dir


@pytest.mark.slow
def test_exit_at_every_os_write_call_then_resume_always(tmp_path, reference):
    assert _exit_at_each_call(tmp_path, reference) > 5 * (N_POINTS + 3)


def test_exit_at_some_os_write_calls_then_resume(tmp_path, reference):
    """The fallback's machinery, on every 7th boundary (all of them: the tests above)."""
    assert _exit_at_each_call(tmp_path, reference, step=7) > 5 * (N_POINTS + 3)


def test_kill_during_creation_leaves_what_resume_and_a_plain_run_accept(tmp_path, reference):
    # Killed right after the journal directories were made (the first two mkdir calls).
    out = _fresh(tmp_path, "c")
    assert _wait(_fork(out, lambda: _exit_at(3))) == 137
    assert not out.exists() and journal_path(out).is_dir()
    run_sweep(SWEEP, out, workers=1, show_progress=False)  # a stub with nothing in it is not "existing output"
    _same_rows(load(out), reference[1])


def _mount_tmpfs(path, size):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return r.returncode == 0


def test_full_disk_is_a_clear_error_and_resume_after_freeing_space(tmp_path, reference):
    mnt = tmp_path / "small"
    if shutil.which("mount") is None or not _mount_tmpfs(mnt, "300k"):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        free = os.statvfs(mnt)
        filler = mnt / "filler"
        room = 24 * 1024  # the header, an empty HDF5 file and a point or two, not the whole sweep
        filler.write_bytes(b"\0" * max(0, free.f_bavail * free.f_frsize - room))
        out = mnt / "out.h5"
        msg = tmp_path / "msg.txt"

        def run_and_report():
            try:
                run_sweep(SWEEP, out, workers=1, show_progress=False)
            except StoreError as exc:
                msg.write_text(str(exc))
                raise

        rc = _wait(_fork_with(run_and_report))
        assert rc == 3, rc  # a Python error: no segfault, no internal error
        assert "no space left" in msg.read_text() and "--resume" in msg.read_text()
        if out.exists():
            load(out)  # what is there is intact
        filler.unlink()
        run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
        _same_rows(load(out), reference[1])
        assert sorted(p.name for p in mnt.iterdir()) == ["out.h5"]
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def _fork_with(fn) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            fn()
            code = 0
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    return pid


def test_fake_full_disk_then_resume_elsewhere(tmp_path, reference, monkeypatch):
    out = _fresh(tmp_path, "full")
    written = [0]

    def write(fd, data):
        written[0] += 1
        if written[0] > 4:  # header, empty file, two points
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)

    monkeypatch.setattr(journal_mod, "os", types.SimpleNamespace(**{**vars(os), "write": write}))
    with pytest.raises(StoreError, match=r"no space left.*safe in .*journal.*--resume"):
        run_sweep(SWEEP, out, workers=1, show_progress=False)
    monkeypatch.undo()
    assert load(out).empty  # the last good HDF5 file, intact
    assert not [p for p in journal_path(out).rglob("*.tmp")]  # the half-written file was removed
    roomy = tmp_path / "roomy"
    roomy.mkdir()
    shutil.move(out, roomy / out.name)
    shutil.move(journal_path(out), journal_path(roomy / out.name))
    s = run_sweep(SWEEP, roomy / out.name, workers=1, resume=True, show_progress=False)
    assert s["skipped"] == 2 and s["computed"] == 2
    _same_rows(load(roomy / out.name), reference[1])


def _journal_of_a_finished_run(tmp_path, monkeypatch):
    out = tmp_path / "j.h5"
    monkeypatch.setattr(store_mod.Store, "finish", lambda self, **kw: self.rebuild(force=True))
    run_sweep(SWEEP, out, workers=1, show_progress=False)
    monkeypatch.undo()
    return out, sorted((journal_path(out) / "points").glob("*.mbj"))


def test_flipped_bytes_in_journal_entries_are_detected_and_named(tmp_path, monkeypatch, reference):
    out, entries = _journal_of_a_finished_run(tmp_path, monkeypatch)
    assert len(entries) == N_POINTS
    # Every single byte of one entry: never read back as a point.
    one = tmp_path / "one"
    (one / "points").mkdir(parents=True)
    data = entries[0].read_bytes()
    target = one / "points" / entries[0].name
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x10
        target.write_bytes(bytes(bad))
        complete, failed, damaged = Journal(one).scan()
        assert complete == {} and failed == {} and list(damaged) == [entries[0].stem], i
    # A flipped byte in each entry, the HDF5 file gone: every point named, recomputed, exact rows.
    rng = np.random.default_rng(7)
    for p in entries:
        bad = bytearray(p.read_bytes())
        bad[int(rng.integers(len(bad)))] ^= 0x01
        p.write_bytes(bytes(bad))
    out.unlink()
    with pytest.warns(StoreWarning) as rec:
        s = run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    named = " ".join(str(w.message) for w in rec)
    assert all(p.stem in named for p in entries)
    assert s["computed"] == N_POINTS
    _same_rows(load(out), reference[1])


FLIP_SCRIPT = r"""
import json, shutil, sys, warnings
import numpy as np
from macrobell.data import StoreError, load, run_sweep
ref, work, sweep, n, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
data = open(ref, "rb").read()
good = load(ref)
cols = [c for c in good.columns if c not in ("elapsed_s", "state_elapsed_s")]


def close(df):  # a recomputed point may differ from the reference in the last bits (as in test_runner)
    if list(df.columns) != list(good.columns) or len(df) != len(good):
        return False
    for c in cols:
        x, y = df[c].reset_index(drop=True), good[c].reset_index(drop=True)
        if x.dtype.kind == "f":
            if not np.allclose(x.to_numpy(), y.to_numpy(), rtol=1e-12, atol=1e-12, equal_nan=True):
                return False
        elif not all(same(u, v) for u, v in zip(x, y)):
            return False
    return True


def same(u, v):
    if isinstance(u, dict) or isinstance(v, dict):  # nested criteria (certificates): compare value by value
        return (isinstance(u, dict) and isinstance(v, dict) and sorted(u) == sorted(v)
                and all(same(u[k], v[k]) for k in u))
    try:
        return np.allclose(np.asarray(u, dtype=float), np.asarray(v, dtype=float), rtol=1e-12, atol=1e-12,
                           equal_nan=True)
    except (TypeError, ValueError):
        return str(u) == str(v)


rng = np.random.default_rng(seed)
positions = sorted(set(rng.integers(0, len(data), n).tolist()))
out = {"size": len(data), "same": 0, "refused": 0, "points_named": 0, "wrong_values": [], "not_recovered": []}
for pos in positions:
    bad = bytearray(data); bad[pos] ^= 1 << int(rng.integers(8))
    open(work, "wb").write(bytes(bad))
    try:
        df = load(work)
    except StoreError as exc:
        named = "point(s) fail their checks" in str(exc)
        out["points_named" if named else "refused"] += 1
        if named:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_sweep(open(sweep).read(), work, workers=1, resume=True, show_progress=False)
            if not close(load(work)):
                out["not_recovered"].append(pos)
        continue
    if df[cols].astype(str).equals(good[cols].astype(str)):
        out["same"] += 1
    else:
        out["wrong_values"].append(pos)
print(json.dumps(out))
"""


def _flip_hdf5(tmp_path, reference, n, seed):
    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP)
    r = subprocess.run([sys.executable, "-c", FLIP_SCRIPT, str(reference[0]), str(tmp_path / "w.h5"),
                        str(sweep), str(n), str(seed)], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]  # no crash inside libhdf5 either
    res = json.loads(r.stdout.strip().splitlines()[-1])
    print("flipped bytes:", {k: v for k, v in res.items()})
    assert res["wrong_values"] == [] and res["not_recovered"] == [], res
    return res


def test_flipped_bytes_in_the_hdf5_file_never_become_values(tmp_path, reference):
    res = _flip_hdf5(tmp_path, reference, n=12, seed=1)
    assert res["points_named"] + res["refused"] > 0


@pytest.mark.slow
def test_flipped_bytes_in_the_hdf5_file_dense(tmp_path, reference):
    res = _flip_hdf5(tmp_path, reference, n=400, seed=2)
    assert res["points_named"] > 0


def test_damaged_file_is_an_error_at_once(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(2000))
    t0 = time.monotonic()
    with pytest.raises(StoreError, match="damaged or not HDF5"):
        load(bad)
    with pytest.raises(StoreError, match="cannot resume"):
        run_sweep(SWEEP, bad, workers=1, resume=True, show_progress=False)
    assert time.monotonic() - t0 < 2.0  # no retries blaming "a running sweep"


CRASH_ON_SECOND_POINT = """
import os, signal
from _mbstore import _h5
real, n = _h5._read_point, [0]
def crash(g, pairs):
    n[0] += 1
    if n[0] == 2:
        os.kill(os.getpid(), signal.SIGSEGV)  # what libhdf5 does on some damaged metadata
    return real(g, pairs)
_h5._read_point = crash
_h5._isolated_main()
"""


def test_a_damaged_file_is_parsed_in_a_child_that_may_crash(tmp_path, reference, monkeypatch):
    from macrobell.data import _h5
    from macrobell.data.store import read_store

    out = tmp_path / "d.h5"
    data = bytearray(reference[0].read_bytes())
    data[len(_h5.FILE_MAGIC) + 3] ^= 0x01  # the file checksum no longer matches: libhdf5 is not trusted in-process
    out.write_bytes(bytes(data))
    assert read_store(out)["file_check"] == "mismatch" and len(load(out)) == N_POINTS  # every point verified
    monkeypatch.setattr(_h5, "_ISOLATED", _h5.ISOLATED_BOOT + CRASH_ON_SECOND_POINT)
    c = read_store(out)
    assert len(c["points"]) == 1 and len(c["damaged"]) == 1
    (pid, why), = c["damaged"].items()
    with pytest.raises(StoreError, match=f"{pid}: unreadable: the HDF5 library crashed"):
        load(out)
    with pytest.warns(StoreWarning, match=pid):
        s = run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    assert s["skipped"] == 1 and s["computed"] == N_POINTS - 1
    monkeypatch.undo()
    _same_rows(load(out), reference[1])
