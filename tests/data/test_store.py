"""The HDF5 store: attribute encoding, completion marks, refusal to overwrite, foreign files."""

import math

import h5py
import numpy as np
import pytest

from macrobell.data.store import FORMAT_VERSION, StoreError, create_store, decode_attrs, open_store, _set_attrs
from macrobell.data.sweep import Sweep

TOML = """
[lattice]
kind = "chain"
L = 4
[model]
kind = "heisenberg"
[state]
method = "exact"
temperatures = [0.0]
[[partitions]]
kind = "halves"
"""


def _record(pid="abc", T=0.0):
    return {
        "id": pid, "index": 0, "params": {"lattice": {"kind": "chain", "L": 4}, "T": T}, "elapsed_s": 0.25,
        "warnings": ["RuntimeWarning: x"],
        "state": {"backend": "exact", "energy": -2.0, "converged": True, "max_bond": -1, "T": T,
                  "beta": math.inf, "info": {"a": [1, 2]}},
        "partitions": {"halves": {"regions": np.array([0, 0, 1, 1]), "T": np.eye(4), "rho": np.eye(4) / 4,
                                  "criteria": {"chsh_max": 0.5, "ppt": True, "verdict": "separable",
                                               "unsteerable": None, "negativity_cuts": [0.0, 0.0],
                                               "werner_V": float("nan"), "K": 2},
                                  "names": ["A", "B"], "sizes": [2, 2]}},
        "pairs": np.zeros((4, 4, 4, 4)),
    }


def test_attribute_round_trip(tmp_path):
    values = {"f": 1.5, "i": 3, "b": True, "s": "x", "none": None, "lst": [1, None, "a"], "d": {"k": [1.0]},
              "nan": float("nan"), "np": np.float64(2.0), "npb": np.bool_(False)}
    with h5py.File(tmp_path / "a.h5", "w") as f:
        _set_attrs(f, values)
    with h5py.File(tmp_path / "a.h5", "r") as f:
        got = decode_attrs(f)
    assert math.isnan(got.pop("nan")) and math.isnan(values.pop("nan"))
    assert got == {**values, "np": 2.0, "npb": False}
    assert type(got["b"]) is bool and type(got["i"]) is int


def test_write_and_read_point(tmp_path):
    sweep = Sweep.from_toml(TOML)
    store = create_store(tmp_path / "s.h5", sweep)
    root = store.root_attrs()
    assert root["format"] == "macrobell" and root["format_version"] == FORMAT_VERSION
    assert store.sweep_text() == TOML and store.sweep_canonical() == sweep.canonical
    store.write_point(_record())
    (p,) = list(store.iter_points(pairs=True))
    assert p["params"]["lattice"]["L"] == 4 and p["warnings"] == ["RuntimeWarning: x"]
    assert p["state"]["beta"] == math.inf and p["state"]["extra"] == {"a": [1, 2]}  # info less the common fields
    c = p["partitions"]["halves"]["criteria"]
    assert c["ppt"] is True and c["unsteerable"] is None and c["negativity_cuts"] == [0.0, 0.0]
    assert c["names"] == ["A", "B"] and c["sizes"] == [2, 2]
    assert p["pairs"].shape == (4, 4, 4, 4)
    with pytest.raises(StoreError, match="already complete"):
        store.write_point(_record())


def test_incomplete_groups_are_ignored_and_deleted(tmp_path):
    store = create_store(tmp_path / "s.h5", Sweep.from_toml(TOML))
    store.write_point(_record("good"))
    with h5py.File(tmp_path / "s.h5", "r+") as f:
        f["points"].create_group("half").attrs["status"] = "writing"
    assert store.statuses() == {"good": "complete", "half": "writing"}
    assert [p["id"] for p in store.iter_points()] == ["good"]
    assert store.delete_incomplete() == ["half"]
    assert store.complete_ids() == {"good"}
    store.write_point(_record("half"))  # recomputed later: written again, complete
    assert store.complete_ids() == {"good", "half"}


def test_create_refuses_an_existing_file(tmp_path):
    path = tmp_path / "s.h5"
    path.write_text("keep me")
    with pytest.raises(StoreError, match="already exists"):
        create_store(path, Sweep.from_toml(TOML))
    assert path.read_text() == "keep me"


def test_foreign_files_are_refused(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["format"] = "something"
    with pytest.raises(StoreError, match="not a macrobell file"):
        open_store(tmp_path / "other.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(StoreError, match="cannot open"):
        open_store(tmp_path / "text.h5")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "missing.h5")


# ---------------------------------------------------------------- journal-backed writing, integrity, security

import warnings  # noqa: E402

from macrobell.data import load, run_sweep  # noqa: E402
from macrobell.data import store as store_mod  # noqa: E402
from macrobell.data.journal import journal_path, normalize_record  # noqa: E402
from macrobell.data.store import StoreWarning, read_store, resume_store  # noqa: E402

SWEEP2 = TOML.replace("temperatures = [0.0]", "temperatures = [0.0, 1.0]")


def _finished(tmp_path, name="f.h5", text=SWEEP2):
    out = tmp_path / name
    run_sweep(text, out, workers=1, show_progress=False)
    return out


def test_every_point_carries_a_checksum_and_the_journal_is_gone_after_a_run(tmp_path):
    out = _finished(tmp_path)
    assert not journal_path(out).exists()
    c = read_store(out)
    assert c["checked"] and len(c["points"]) == 2 and not c["damaged"]
    with h5py.File(out, "r") as f:
        assert all(len(g.attrs["sha256"]) == 64 for g in f["points"].values())


def test_a_changed_value_is_detected_and_named_never_returned(tmp_path):
    out = _finished(tmp_path)
    with h5py.File(out, "r+") as f:
        pid = sorted(f["points"])[0]
        f["points"][pid]["partitions"]["halves"]["corr"][0, 0] = 4.6e75
    with pytest.raises(StoreError, match=f"{pid}: checksum mismatch"):
        load(out)
    with pytest.warns(StoreWarning, match=pid):
        df = load(out, damaged="skip")
    assert df["point_id"].nunique() == 1 and pid not in set(df["point_id"])
    with pytest.warns(StoreWarning, match=pid):
        s = run_sweep(SWEEP2, out, workers=1, resume=True, show_progress=False)
    assert s["computed"] == 1 and load(out)["point_id"].nunique() == 2


def test_a_vanished_point_is_detected_by_the_manifest(tmp_path):
    out = _finished(tmp_path)
    with h5py.File(out, "r+") as f:
        pid = sorted(f["points"])[1]
        del f["points"][pid]
    with pytest.raises(StoreError, match=f"{pid}: listed complete but missing"):
        load(out)


def test_complete_but_missing_data_is_incomplete(tmp_path):
    # A file without checksums (as written before them): the content check still applies.
    out = _finished(tmp_path)
    with h5py.File(out, "r+") as f:
        del f.attrs["integrity"]
        pid = sorted(f["points"])[0]
        del f["points"][pid]["partitions"]["halves"]
    with pytest.raises(StoreError, match=f"{pid}: marked complete but partitions"):
        load(out)
    with pytest.warns(StoreWarning, match=f"{pid}.*marked complete but partitions"):
        s = run_sweep(SWEEP2, out, workers=1, resume=True, show_progress=False)
    assert s["computed"] == 1 and s["skipped"] == 1
    # The same in the journal: an entry without its partition data is not kept.
    sweep = Sweep.from_toml(SWEEP2)
    out2 = tmp_path / "j.h5"
    store = create_store(out2, sweep)
    rec = _record(sweep.points[0].id)
    rec["params"] = sweep.points[0].params
    del rec["partitions"]["halves"]
    store.journal.write_point(normalize_record(rec))
    store.close()
    with pytest.warns(StoreWarning, match=f"{sweep.points[0].id} ignored: partitions"):
        s = run_sweep(SWEEP2, out2, workers=1, resume=True, show_progress=False)
    assert s["computed"] == 2


def test_old_files_without_checksums_stay_readable(tmp_path):
    out = _finished(tmp_path)
    with h5py.File(out, "r+") as f:
        del f.attrs["integrity"]
        del f["points"].attrs["manifest"]
        for g in f["points"].values():
            del g.attrs["sha256"]
    c = read_store(out)
    assert not c["checked"] and len(c["points"]) == 2
    assert len(load(out)) == 2
    s = run_sweep(SWEEP2, out, workers=1, resume=True, show_progress=False)
    assert s["skipped"] == 2 and read_store(out)["checked"]  # rewritten with checksums


def _crafted(tmp_path, victim_link):
    """A file that looks like the output of SWEEP2 but whose /points is a link."""
    real = _finished(tmp_path, "real.h5")
    crafted = tmp_path / "crafted.h5"
    with h5py.File(real, "r") as src, h5py.File(crafted, "w") as f:
        for k, v in src.attrs.items():
            f.attrs[k] = v
        src.copy("sweep", f)
        f["points"] = victim_link
    return crafted


@pytest.mark.parametrize("kind", ["external", "soft"])
def test_links_are_refused_everywhere(tmp_path, kind, capsys):
    victim = _finished(tmp_path, "victim.h5", SWEEP2.replace("L = 4", "L = 6"))
    before = victim.read_bytes()
    link = h5py.ExternalLink(str(victim), "/points") if kind == "external" else h5py.SoftLink("/sweep")
    crafted = _crafted(tmp_path, link)
    for call in (lambda: load(crafted), lambda: open_store(crafted),
                 lambda: run_sweep(SWEEP2, crafted, workers=1, resume=True, show_progress=False)):
        with pytest.raises(StoreError, match=f"/points is an HDF5 {kind} link"):
            call()
    from macrobell.cli import main
    assert main(["show", str(crafted)]) == 2
    assert "link" in capsys.readouterr().err
    assert victim.read_bytes() == before and len(load(victim)) == 2


def test_external_datasets_are_refused(tmp_path):
    out = _finished(tmp_path)
    (tmp_path / "raw.bin").write_bytes(bytes(128))
    with h5py.File(out, "r+") as f:
        f["points"][sorted(f["points"])[0]].create_dataset("x", shape=(16,), dtype="f8",
                                                           external=[(str(tmp_path / "raw.bin"), 0, 128)])
    with pytest.raises(StoreError, match="stores its data in another file"):
        load(out)


def test_show_escapes_control_characters(tmp_path, capsys):
    from macrobell.cli import main

    out = _finished(tmp_path)
    with h5py.File(out, "r+") as f:  # a crafted file (without checksums, so nothing is re-verified)
        del f.attrs["integrity"]
        f.attrs["created"] = "\x1b]0;pwned\x07"
        f["sweep"].attrs["toml"] = str(f["sweep"].attrs["toml"]) + "# \x1b[2J\x9b31m\u202e\n"
        for g in f["points"].values():
            g["partitions"]["halves"].attrs["verdict"] = "separable\x1b[31m"
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert not any(ch in shown for ch in "\x1b\x07\x9b\u202e")
    assert "\\x1b]0;pwned\\x07" in shown and "\\x1b[2J" in shown and "\\u202e" in shown
    assert "separable\\x1b[31m" in shown and 'kind = "chain"\n' in shown  # newlines kept


HOLD = """
import sys, time, h5py
f = h5py.File(sys.argv[1], "r")  # default HDF5 file locking
print(len(f["points"]), flush=True)
sys.stdin.readline()
print(len(f["points"]), flush=True)
"""


def _interrupted(tmp_path, name):
    out = tmp_path / name
    create_store(out, Sweep.from_toml(SWEEP2)).close()  # what a kill after creation leaves
    return out


def test_a_reader_holding_the_file_does_not_stop_the_run(tmp_path):
    import subprocess
    import sys

    out = _interrupted(tmp_path, "held.h5")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "0"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = run_sweep(SWEEP2, out, workers=1, resume=True, show_progress=False)
        assert s["computed"] == 2 and s["deferred"] is None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "0"  # the holder keeps the (intact) version it opened
    finally:
        holder.kill()
        holder.wait()
    assert len(load(out)) == 2
    # Held open in this very process (HDF5 shares the open file): still no interference.
    with h5py.File(out, "r"):
        assert len(load(out)) == 2


def test_a_file_that_cannot_be_replaced_defers_the_rebuild(tmp_path, monkeypatch):
    out = _interrupted(tmp_path, "busy.h5")
    real = store_mod.atomic_write

    def busy(path, data):
        if str(path) == str(out):
            raise PermissionError(13, "Permission denied (held by another program)")
        return real(path, data)

    monkeypatch.setattr(store_mod, "atomic_write", busy)
    monkeypatch.setattr(store_mod.Store, "FINISH_RETRY_WAIT_S", 0.01)
    with pytest.warns(StoreWarning, match=r"could not replace .*busy\.h5.*safe in the journal"):
        s = run_sweep(SWEEP2, out, workers=1, resume=True, show_progress=False)
    assert s["computed"] == 2 and "--resume" in s["deferred"]
    assert journal_path(out).exists() and load(out).empty
    monkeypatch.undo()
    s = run_sweep(SWEEP2, out, workers=1, resume=True, show_progress=False)
    assert s["computed"] == 0 and s["skipped"] == 2 and len(load(out)) == 2
    assert not journal_path(out).exists()


def test_a_second_writer_is_refused(tmp_path):
    sweep = Sweep.from_toml(SWEEP2)
    out = tmp_path / "two.h5"
    store = create_store(out, sweep)
    with pytest.raises(StoreError, match="another macrobell process is writing"):
        resume_store(out, sweep)
    store.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resume_store(out, sweep)[0].close()


def test_point_encoding_is_independent_of_dict_order():
    from macrobell.data.journal import decode_point, encode_point

    rec = _record()
    rec["partitions"]["sublattices"] = dict(rec["partitions"]["halves"], T=2 * np.eye(4))
    flipped = dict(rec, partitions=dict(reversed(list(rec["partitions"].items()))))
    a, b = encode_point(normalize_record(rec)), encode_point(normalize_record(flipped))
    assert a == b
    back = decode_point(a)
    np.testing.assert_array_equal(back["partitions"]["sublattices"]["corr"], 2 * np.eye(4))
    assert encode_point(back) == a


def test_raw_read_access_is_checked_first(tmp_path):
    out = _finished(tmp_path)
    with open_store(out).read() as f:
        assert len(f["points"]) == 2
    crafted = _crafted(tmp_path, h5py.SoftLink("/sweep"))
    with pytest.raises(StoreError, match="soft link"):
        with store_mod.Store(crafted).read():
            pass


def test_a_point_whose_status_is_damaged_is_named(tmp_path):
    out = _finished(tmp_path)
    with h5py.File(out, "r+") as f:
        pid = sorted(f["points"])[0]
        f["points"][pid].attrs["status"] = "cOmplete"
    with pytest.raises(StoreError, match=f"{pid}: listed complete but its status reads 'cOmplete'"):
        load(out)
