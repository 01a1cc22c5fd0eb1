"""HDF5 format_version 2 (issue 10): ``corr``, the Diagnostics fields in ``state``, ``seeds``; version 1 still read.

Oracles: the load() output of the version 1 fixture recorded by the version 1
code (tests/data/fixtures/make_v1_fixtures.py), the Diagnostics records of
states rebuilt here from the Python API, ``Diagnostics.from_info`` (an
independent split of an info mapping), and uninterrupted runs.
"""

import inspect
import json
import math
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import macrobell as mb
from macrobell.data import StoreError, load, run_sweep
from macrobell.data import journal as journal_mod
from macrobell.data.journal import (STATE_FIELDS, Journal, decode_point, encode_point, journal_path,
                                    normalize_record, point_digest, state_record)
from macrobell.data.store import FORMAT_VERSION, READ_VERSIONS, read_store

FIXTURES = Path(__file__).parent / "fixtures"
V1_SWEEP = """
[lattice]
kind = "chain"
L = 4
[model]
kind = "heisenberg"
Delta = 0.5
[state]
method = "exact"
temperatures = [0.0, 1.0]
[[partitions]]
kind = "halves"
"""
DMRG_SWEEP = """
[lattice]
kind = "chain"
L = 4
[model]
kind = "heisenberg"
[state]
method = "dmrg"
temperatures = [0.0]
bond_dim = 8
seed = 3
[[partitions]]
kind = "halves"
[observables]
bell_settings = [2]
bell_restarts = 2
bell_seed = 5
"""
#: Columns load() adds in format 2 (every column of before stays, in its order, with its values).
NEW_COLUMNS = {"energy_variance", "discarded_weight", "n_sweeps", "state_elapsed_s", "state_warnings", "seeds"}
WALL_TIME = ("elapsed_s", "state_elapsed_s")


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _same_frames(a: pd.DataFrame, b: pd.DataFrame):
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        if c in WALL_TIME:
            continue
        for x, y in zip(a[c], b[c]):
            x, y = _plain(x), _plain(y)
            if isinstance(x, float) and isinstance(y, float):
                assert x == pytest.approx(y, rel=1e-10, abs=1e-10, nan_ok=True), c
            else:
                assert _same(x, y), (c, x, y)


def _copy_v1_partial(tmp_path) -> Path:
    out = tmp_path / "run.h5"
    shutil.copyfile(FIXTURES / "v1_partial.h5", out)
    shutil.copytree(FIXTURES / "v1_partial.h5.journal", journal_path(out))
    return out


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    path = tmp_path_factory.mktemp("fresh") / "v2.h5"
    run_sweep(V1_SWEEP, path, workers=1, show_progress=False)
    return path, load(path)


# ---------------------------------------------------------------- version 1 files


def test_fixture_is_version_1_and_versions_are_known():
    with h5py.File(FIXTURES / "v1_complete.h5", "r") as f:
        assert f.attrs["format_version"] == 1
        g = next(iter(f["points"].values()))
        assert "T" in g["partitions"]["halves"] and "corr" not in g["partitions"]["halves"]
        assert "truncation_error" in g["state"].attrs and "seeds" not in g.attrs
    assert FORMAT_VERSION == 2 and READ_VERSIONS == (1, 2)


def test_a_version_1_file_loads_with_the_columns_and_values_of_before():
    before = json.loads((FIXTURES / "v1_complete_load.json").read_text())
    df = load(FIXTURES / "v1_complete.h5")
    cols = list(df.columns)
    assert [c for c in cols if c in before["columns"]] == before["columns"]  # same columns, same order
    assert set(cols) - set(before["columns"]) == NEW_COLUMNS
    assert len(df) == len(before["rows"])
    for got, want in zip(df.to_dict(orient="records"), before["rows"]):
        for c in before["columns"]:
            assert _same(_plain(got[c]), want[c]), (c, got[c], want[c])
        # the version 1 names are the same numbers as the Diagnostics names
        assert _same(got["energy_variance"], want["variance"])
        assert _same(got["discarded_weight"], want["truncation_error"])
        assert got["seeds"] == {"state": None, "bell": None, "zb": 0}
        assert got["n_sweeps"] == -1
    with h5py.File(FIXTURES / "v1_complete.h5", "r") as f:
        info = [json.loads(g["state"].attrs["info"]) for g in f["points"].values()]
    extra = load(FIXTURES / "v1_complete.h5", extra=True)["extra"]  # version 1 info less the common fields
    assert {json.dumps(e, sort_keys=True) for e in extra} == {
        json.dumps({k: v for k, v in i.items() if k not in journal_mod.DIAGNOSTICS_FIELDS}, sort_keys=True) for i in info}


def test_the_same_sweep_written_as_version_2_loads_to_the_same_frame(fresh):
    _same_frames(load(FIXTURES / "v1_complete.h5"), fresh[1])  # recomputed now: equal up to wall times


def test_a_version_1_file_is_still_verified_by_its_own_checksums(tmp_path):
    bad = tmp_path / "bad.h5"
    shutil.copyfile(FIXTURES / "v1_complete.h5", bad)
    with h5py.File(bad, "r+") as f:
        pid = sorted(f["points"])[0]
        f["points"][pid]["partitions"]["halves"]["T"][0, 0] = 0.125
    c = read_store(bad)
    assert c["damaged"] == {pid: "checksum mismatch"} and len(c["points"]) == 1
    with pytest.raises(StoreError, match=pid):
        load(bad)
    intact = read_store(FIXTURES / "v1_complete.h5")
    assert not intact["damaged"] and len(intact["points"]) == 2
    for point, digest in intact["points"].values():  # handed on in the version 2 form, with its digest
        assert set(point["state"]) == set(STATE_FIELDS) and "corr" in point["partitions"]["halves"]
        assert digest == point_digest(point) and "T" not in point["partitions"]["halves"]


def test_an_unknown_format_version_is_refused(tmp_path):
    bad = tmp_path / "v3.h5"
    shutil.copyfile(FIXTURES / "v1_complete.h5", bad)
    with h5py.File(bad, "r+") as f:
        f.attrs["format_version"] = 3
    with pytest.raises(StoreError, match="format_version 3; this macrobell reads 1 and 2"):
        load(bad)


@pytest.mark.parametrize("source", ["journal", "hdf5", "hdf5 only"])
def test_resume_of_a_version_1_run(tmp_path, fresh, source):
    out = _copy_v1_partial(tmp_path)
    j = Journal(journal_path(out))
    (entry,) = j.points_dir.iterdir()
    kept = decode_point(entry.read_bytes().partition(b"\n")[2])  # the version 1 entry of the finished point
    assert "T" in kept["partitions"]["halves"] and "seeds" not in kept
    if source == "hdf5":  # the point survives in the version 1 HDF5 snapshot only
        entry.unlink()
    elif source == "hdf5 only":
        shutil.rmtree(j.path)
    res = run_sweep(V1_SWEEP, out, resume=True, workers=1, show_progress=False)
    assert (res["computed"], res["skipped"]) == (1, 1) and not j.path.exists()
    with h5py.File(out, "r") as f:
        assert f.attrs["format_version"] == 2
    df = load(out)
    _same_frames(df, fresh[1])
    row = df[df.point_id == kept["id"]].iloc[0]
    assert row["elapsed_s"] == kept["elapsed_s"]  # adopted, not recomputed
    assert row["truncation_error"] == kept["state"]["truncation_error"]


# ---------------------------------------------------------------- version 2 files


def _states_of(text):
    """The states of a sweep's points rebuilt with the Python API (as its sweep file describes them)."""
    lat = mb.lattice.chain(4)
    if "dmrg" in text:
        return [mb.tn.ground_state(mb.lattice.heisenberg(lat), method="dmrg", bond_dim=8, seed=3)]
    return list(mb.tn.thermal_states(mb.lattice.heisenberg(lat, Delta=0.5), [0.0, 1.0], method="exact"))


@pytest.mark.parametrize("text", [V1_SWEEP, DMRG_SWEEP], ids=["exact", "dmrg-bell"])
def test_version_2_layout_and_columns_are_the_diagnostics_of_the_states(tmp_path, text):
    path = tmp_path / "v2.h5"
    run_sweep(text, path, workers=1, show_progress=False)
    is_dmrg = "dmrg" in text
    seeds = {"state": 3, "bell": 5, "zb": 0} if is_dmrg else {"state": None, "bell": None, "zb": 0}
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == 2
        for g in f["points"].values():
            h = g["partitions"]["halves"]
            assert set(h) >= {"regions", "corr", "rho"} and "T" not in h and h["corr"].shape == (4, 4)
            assert set(g["state"].attrs) - {"json_attrs"} == set(STATE_FIELDS)
            assert set(json.loads(g["state"].attrs["json_attrs"])) >= {"extra", "warnings"}
            assert json.loads(g.attrs["seeds"]) == seeds
    df = load(path, extra=True).sort_values("T").reset_index(drop=True)
    assert "extra" not in load(path).columns
    states = _states_of(text)
    assert len(df) == len(states)
    for (_, row), st in zip(df.iterrows(), states):
        d = st.diagnostics
        assert row["energy"] == pytest.approx(d.energy, abs=1e-10)
        assert row["energy_variance"] == pytest.approx(d.energy_variance, abs=1e-9, nan_ok=True)
        assert row["discarded_weight"] == pytest.approx(d.discarded_weight, abs=1e-12, nan_ok=True)
        assert row["max_bond"] == (-1 if d.max_bond is None else d.max_bond)
        assert row["n_sweeps"] == (-1 if d.n_sweeps is None else d.n_sweeps)
        assert row["converged"] == (True if d.converged is None else d.converged)
        assert row["state_warnings"] == list(d.warnings)
        assert sorted(row["extra"]) == sorted(d.extra)
        assert row["state_elapsed_s"] > 0 and math.isfinite(row["state_elapsed_s"])
        assert row["truncation_error"] == row["discarded_weight"] and _same(row["variance"], row["energy_variance"])
        assert row["seeds"] == seeds
    if is_dmrg:
        assert df.loc[0, "n_sweeps"] > 0 and df.loc[0, "max_bond"] > 1


def test_the_recorded_zb_seed_reproduces_zb_max(fresh):
    from macrobell.observables.criteria import criteria

    assert journal_mod.ZB_SEED == inspect.signature(criteria).parameters["seed"].default
    c = read_store(fresh[0])
    for point, _ in c["points"].values():
        part = point["partitions"]["halves"]
        got = criteria(part["corr"], part["criteria"]["sizes"], rho=part["rho"], seed=point["seeds"]["zb"])
        assert got["zb_max"] == part["criteria"]["zb_max"]


# ---------------------------------------------------------------- the encoding


def _record():
    return {"id": "abc", "index": 0, "params": {"state": {"method": "dmrg", "seed": 7}, "T": 0.0},
            "elapsed_s": 0.5, "warnings": [],
            "state": {"backend": "dmrg", "method": "dmrg", "energy": -1.5, "truncation_error": 1e-9,
                      "variance": 1e-7, "max_bond": 8, "converged": True, "T": 0.0, "beta": math.inf,
                      "info": {"energy": -1.5, "n_sweeps": 4, "elapsed_s": 0.25, "warnings": ["w"],
                               "converged": True, "gap": 0.3}},
            "partitions": {"h": {"regions": np.array([0, 1]), "T": np.eye(4), "rho": np.eye(4) / 4,
                                 "criteria": {"verdict": "separable"}, "names": ["A", "B"], "sizes": [1, 1]}}}


def test_the_checksum_covers_corr_state_fields_and_seeds():
    p = normalize_record(_record(), observables={"bell_settings": [2]})
    assert p["seeds"] == {"state": 7, "bell": 0, "zb": 0}
    assert list(p["partitions"]["h"]) == ["regions", "corr", "rho", "criteria"]
    head = json.loads(encode_point(p).partition(b"\n")[0])
    assert head["format_version"] == 2 and "corr" in head["partitions"]["h"] and head["seeds"] == p["seeds"]
    d = point_digest(p)
    for change in (lambda q: q["partitions"]["h"]["corr"].__setitem__((1, 1), 0.5),
                   lambda q: q["seeds"].__setitem__("zb", 1),
                   lambda q: q["state"].__setitem__("n_sweeps", 5),
                   lambda q: q["state"]["extra"].__setitem__("gap", 0.4)):
        q = decode_point(encode_point(p))
        assert point_digest(q) == d  # round trip
        change(q)
        assert point_digest(q) != d
    v1 = normalize_record(_record(), version=1)  # version 1 still encodes as it did: no seeds, tensor T
    assert "seeds" not in v1 and "T" in v1["partitions"]["h"] and "info" in v1["state"]
    assert b'"seeds"' not in encode_point(v1) and b'"corr"' not in encode_point(v1)
    up = normalize_record(decode_point(encode_point(v1)), observables={"bell_settings": [2]})
    assert point_digest(up) == d  # a version 1 point converts into exactly the version 2 point


def test_state_record_splits_info_like_diagnostics():
    from macrobell.tn.state import DIAGNOSTICS_FIELDS, Diagnostics

    assert journal_mod.DIAGNOSTICS_FIELDS == DIAGNOSTICS_FIELDS
    rng = np.random.default_rng(10)
    keys = list(DIAGNOSTICS_FIELDS) + ["gap", "energies", "variance", "truncation_error", "dtau", "sweeps"]
    for _ in range(50):
        info = {k: float(rng.normal()) for k in keys if rng.random() < 0.5 and k not in ("warnings", "converged",
                                                                                          "max_bond", "n_sweeps")}
        if rng.random() < 0.5:
            info["n_sweeps"] = int(rng.integers(1, 9))
        if rng.random() < 0.5:
            info["max_bond"] = int(rng.integers(1, 9))
        d = Diagnostics.from_info(info)
        got = state_record({"info": info, "T": 0.5})
        assert got["extra"] == dict(d.extra)
        for name in ("energy", "energy_variance", "discarded_weight", "elapsed_s"):
            assert _same(got[name], getattr(d, name)), name
        assert got["n_sweeps"] == (-1 if d.n_sweeps is None else d.n_sweeps)
        assert got["max_bond"] == (-1 if d.max_bond is None else d.max_bond)
        assert got["beta"] == 2.0 and set(got) == set(STATE_FIELDS)
