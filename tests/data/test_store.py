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
    assert p["state"]["beta"] == math.inf and p["state"]["info"] == {"a": [1, 2]}
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
