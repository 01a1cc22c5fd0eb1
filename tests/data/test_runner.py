"""run_sweep: the docs/architecture.md layout, oracle values, crash safety (SIGKILL), resume, failed points, executors."""

import json
import signal
import subprocess
import sys
import time
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

import macrobell as mb
from conftest import chain_sweep_toml
from macrobell.data import StoreError, Sweep, SweepError, load, run_sweep
from macrobell.data import compute as compute_mod

SWEEP = chain_sweep_toml(Delta="[1.0, 0.5]")
N_POINTS = 12
PY = sys.executable


def _same_rows(a: pd.DataFrame, b: pd.DataFrame):
    """Rows equal up to timing; floats to 1e-12 (separate processes may round differently)."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    cols = [c for c in a.columns if c not in ("elapsed_s", "state_elapsed_s")]  # wall times
    a, b = a[cols].reset_index(drop=True), b[cols].reset_index(drop=True)
    for c in cols:
        x, y = a[c], b[c]
        if x.dtype.kind == "f":
            np.testing.assert_allclose(x.to_numpy(), y.to_numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), c


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted serial run."""
    path = tmp_path_factory.mktemp("ref") / "ref.h5"
    run_sweep(SWEEP, path, workers=1, show_progress=False)
    return path, load(path)


def test_layout_of_design_section_5(reference):
    path, _ = reference
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "macrobell" and f.attrs["format_version"] == 2
        for k in ("macrobell_version", "quimb_version", "numpy_version", "h5py_version", "created"):
            assert k in f.attrs
        assert Sweep.from_toml(f["sweep"].attrs["toml"]).canonical == Sweep.from_toml(SWEEP).canonical
        pts = f["points"]
        assert len(pts) == N_POINTS
        g = next(iter(pts.values()))
        assert g.attrs["status"] == "complete"
        params = json.loads(g.attrs["params"])
        assert {"lattice", "model", "state", "T"} <= set(params)
        assert isinstance(json.loads(g.attrs["warnings"]), list) and g.attrs["elapsed_s"] >= 0
        # format 2: exactly the Diagnostics fields, plus the point's temperature and the backend that ran
        assert set(g["state"].attrs) - {"json_attrs"} == {"backend", "method", "energy", "energy_variance", "discarded_weight",
                                         "max_bond", "n_sweeps", "elapsed_s", "warnings", "extra", "converged",
                                         "T", "beta"}
        N = params["lattice"]["L"]
        h = g["partitions"]["sublattices"]
        assert h["regions"].shape == (N,) and h["corr"].shape == (4, 4) and h["rho"].shape == (4, 4)
        assert h["rho"].dtype.kind == "c"
        np.testing.assert_array_equal(h["regions"][()], np.arange(N) % 2)
        for k in ("chsh_max", "werner_V", "zb_max", "ppt", "negativity", "verdict", "min_settings_for_violation"):
            assert k in h.attrs
        assert json.loads(h.attrs["min_settings_for_violation"]) == [N // 2 + 1] * 2
        assert "pairs" not in g


def test_values_against_exact_oracle(reference):
    _, df = reference
    assert len(df) == 2 * N_POINTS
    assert df["partition"].tolist()[:2] == ["halves", "sublattices"]
    row = df[(df.L == 6) & (df.Delta == 1.0) & (df["T"] == 0.0)].iloc[0]
    assert row["energy"] == pytest.approx(-2.8027756377, abs=1e-9)  # docs/physics.md, N = 6 ring
    # Independent path: the exact thermal state at T = 1 and the observables API directly.
    lat = mb.lattice.chain(6, pbc=True)
    st = mb.tn.thermal_states(mb.lattice.heisenberg(lat, Delta=0.5), [1.0], method="exact")[0]
    crit = mb.observables.effective_state(st, mb.lattice.Partition.sublattices(lat)).criteria()
    got = df[(df.L == 6) & (df.Delta == 0.5) & (df["T"] == 1.0) & (df.partition == "sublattices")].iloc[0]
    assert got["chsh_max"] == pytest.approx(crit["chsh_max"], abs=1e-12)
    assert got["verdict"] == crit["verdict"]
    # Heisenberg ground state of the N = 4 ring: <S0.S1> = -1/2 → sublattice V = -(4/3)<S0.S1>·… = 2/3.
    v = df[(df.L == 4) & (df.Delta == 1.0) & (df["T"] == 0.0) & (df.partition == "sublattices")]["werner_V"]
    assert float(v.iloc[0]) == pytest.approx(2 / 3, abs=1e-10)


def test_existing_output_is_never_overwritten(tmp_path, reference):
    out = tmp_path / "x.h5"
    out.write_bytes(b"precious")
    with pytest.raises(StoreError, match="already exists"):
        run_sweep(SWEEP, out, workers=1, show_progress=False)
    assert out.read_bytes() == b"precious"


def test_invalid_sweep_leaves_no_file(tmp_path):
    out = tmp_path / "bad.h5"
    with pytest.raises(SweepError, match="Delat"):
        run_sweep(SWEEP.replace("Delta = [1.0, 0.5]", "Delat = 1.0"), out, workers=1, show_progress=False)
    assert not out.exists()
    with pytest.raises(ValueError, match="workers"):
        run_sweep(SWEEP, out, workers=0, show_progress=False)
    assert not out.exists()


def test_resume_refuses_a_different_sweep(tmp_path, reference):
    out = tmp_path / "r.h5"
    run_sweep(SWEEP.replace("L = [4, 6]", "L = [4]"), out, workers=1, show_progress=False)
    with pytest.raises(StoreError, match=r"different sweep.*lattice\.L"):
        run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)


def test_resume_of_a_complete_file_computes_nothing(reference, tmp_path):
    path, df = reference
    copy = tmp_path / "c.h5"
    copy.write_bytes(path.read_bytes())
    s = run_sweep(SWEEP, copy, workers=1, resume=True, show_progress=False)
    assert s["computed"] == 0 and s["skipped"] == N_POINTS
    _same_rows(load(copy), df)


def _run_in_subprocess(out, prelude="", wait=True):
    """Run the sweep in a fresh interpreter; ``prelude`` (test code) may install a fault first."""
    code = (f"import os, signal\nfrom macrobell.data import run_sweep\n{prelude}\n"
            f"run_sweep({SWEEP!r}, {str(out)!r}, workers=1, show_progress=False)\n")
    proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if wait:
        proc.wait(timeout=120)
    return proc


#: Test-side fault: SIGKILL the driver right after its k-th point is committed to the journal.
KILL_AFTER_POINT = """
from macrobell.data import store as _s
_real, _n = _s.Store.write_point, [0]
def _write(self, rec, rebuild=True):
    _real(self, rec, rebuild)
    _n[0] += 1
    if _n[0] >= {k}:
        os.kill(os.getpid(), signal.SIGKILL)
_s.Store.write_point = _write
"""

#: Test-side fault: SIGKILL while point k+1 is written (its file complete and fsync-ed, not yet renamed).
KILL_BEFORE_RENAME = """
_real, _n = os.replace, [0]
def _replace(src, dst, *a, **kw):
    if str(dst).endswith(".mbj") and "/points/" in str(dst):
        _n[0] += 1
        if _n[0] > {k}:
            os.kill(os.getpid(), signal.SIGKILL)
    return _real(src, dst, *a, **kw)
os.replace = _replace
"""


@pytest.mark.parametrize("k", [1, 7])
def test_sigkill_then_resume_gives_the_uninterrupted_rows(tmp_path, reference, k):
    out = tmp_path / "killed.h5"
    proc = _run_in_subprocess(out, KILL_AFTER_POINT.format(k=k))
    assert proc.returncode == -signal.SIGKILL
    load(out)  # the killed run's file opens (a snapshot as of its last rebuild)
    s = run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    assert s["skipped"] == k and s["computed"] == N_POINTS - k  # exactly the k finished points kept
    _same_rows(load(out), reference[1])
    assert not (tmp_path / "killed.h5.journal").exists()


def test_sigkill_in_the_middle_of_a_write(tmp_path, reference):
    out = tmp_path / "mid.h5"
    proc = _run_in_subprocess(out, KILL_BEFORE_RENAME.format(k=2))
    assert proc.returncode == -signal.SIGKILL
    entries = sorted(p.name for p in (tmp_path / "mid.h5.journal" / "points").iterdir())
    assert len([e for e in entries if not e.startswith(".")]) == 2 and any(e.endswith(".tmp") for e in entries)
    assert load(out)["point_id"].nunique() == 0  # the HDF5 file is intact: its initial, empty version
    s = run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    assert s["skipped"] == 2 and s["computed"] == N_POINTS - 2
    _same_rows(load(out), reference[1])


def test_sigkill_at_an_arbitrary_moment(tmp_path, reference):
    out = tmp_path / "any.h5"
    points = tmp_path / "any.h5.journal" / "points"
    proc = _run_in_subprocess(out, wait=False)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if points.is_dir() and any(p.suffix == ".mbj" for p in points.iterdir()):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if out.exists():
        load(out)  # opens
    run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    _same_rows(load(out), reference[1])


@pytest.mark.parametrize("inline_sites", [0, 8], ids=["workers only", "driver computes tiny groups too"])
def test_process_pool_equals_serial(tmp_path, reference, monkeypatch, inline_sites):
    from macrobell.data import runner
    monkeypatch.setattr(runner, "INLINE_MAX_SITES", inline_sites)
    out = tmp_path / "pool.h5"
    run_sweep(SWEEP, out, workers=2, show_progress=False)
    _same_rows(load(out), reference[1])


def test_default_workers_run_a_few_tiny_groups_serially(monkeypatch):
    """No pool is started for a handful of tiny exact groups (it would start after they are done)."""
    from macrobell.data import runner
    from macrobell.data.compute import make_task

    sweep = runner.as_sweep(SWEEP)
    tasks = [make_task(sweep, g) for g in sweep.groups]
    assert all(runner.inline_ok(t) for t in tasks)  # 4- and 6-site exact rings
    big = runner.as_sweep(SWEEP.replace("L = [4, 6]", "L = [4, 10]"))
    assert not all(runner.inline_ok(make_task(big, g)) for g in big.groups)
    made = []
    real = runner.make_executor

    def spy(workers, scheduler, threads):
        made.append(workers)
        return real(workers, scheduler, threads)

    monkeypatch.setattr(runner, "make_executor", spy)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(SWEEP, f"{tmp}/a.h5", show_progress=False)
    assert made == [1]


def test_dask_local_cluster_equals_serial(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                      dashboard_address=None) as cluster:
            run_sweep(SWEEP, out, scheduler=cluster.scheduler_address, show_progress=False)
    _same_rows(load(out), reference[1])


def test_pairs_are_stored_and_loaded(tmp_path):
    out = tmp_path / "pairs.h5"
    text = SWEEP.replace("L = [4, 6]", "L = 4").replace("Delta = [1.0, 0.5]", "") + "[observables]\npairs = true\n"
    run_sweep(text, out, workers=1, show_progress=False)
    df = load(out, pairs=True)
    assert "pairs" not in load(out).columns
    lat = mb.lattice.chain(4, pbc=True)
    st = mb.tn.thermal_states(mb.lattice.heisenberg(lat), [0.5], method="exact")[0]
    C = df[df["T"] == 0.5]["pairs"].iloc[0]
    assert C.shape == (4, 4, 4, 4)
    np.testing.assert_allclose(C, mb.observables.pair_correlations(st), atol=1e-12)


def test_warnings_and_non_convergence_are_recorded(tmp_path, monkeypatch):
    real = compute_mod._states

    def noisy(model, spec, temps):
        warnings.warn("solver says hello", RuntimeWarning)
        states = real(model, spec, temps)
        states[0].info = {**states[0].info, "converged": False}
        return states

    monkeypatch.setattr(compute_mod, "_states", noisy)
    out = tmp_path / "w.h5"
    run_sweep(SWEEP.replace("L = [4, 6]", "L = 4").replace("Delta = [1.0, 0.5]", ""), out, workers=1,
              show_progress=False)
    df = load(out)
    assert all(any("solver says hello" in w for w in ws) for ws in df["warnings"])
    first = df[df["T"] == 0.0].iloc[0]
    assert not first["converged"] and any("NotConverged" in w for w in first["warnings"])


def test_failed_points_are_recorded_and_the_run_goes_on(tmp_path, monkeypatch, reference):
    from macrobell.tn import DenseState

    real = compute_mod._states

    def broken(model, spec, temps):
        states = real(model, spec, temps)
        dim = 2 ** model.n_sites
        p = np.zeros(dim)
        p[0], p[-1] = -0.5, 1.5  # trace 1, not positive: reduced states have negative populations
        states[-1] = DenseState(model.lattice, model, energy=0.0, temperature=temps[-1], info={}, rho=np.diag(p))
        return states

    monkeypatch.setattr(compute_mod, "_states", broken)
    out = tmp_path / "u.h5"
    s = run_sweep(SWEEP, out, workers=1, show_progress=False)
    assert s["computed"] == N_POINTS - 4 and len(s["failed"]) == 4  # T = 1 of each of the 4 groups
    for f in s["failed"]:
        assert f["params"]["T"] == 1.0 and "UnphysicalStateError" in f["error"]
    assert {f["params"]["lattice"]["L"] for f in s["failed"]} == {4, 6}
    df = load(out)  # failed points are not data
    assert df["point_id"].nunique() == N_POINTS - 4 and (df["T"] != 1.0).all()
    with h5py.File(out, "r") as f:
        failed = [g for g in f["points"].values() if g.attrs["status"] == "failed"]
        assert len(failed) == 4 and all("UnphysicalStateError" in g.attrs["error"] for g in failed)
    monkeypatch.undo()
    s = run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    assert s["computed"] == 4 and s["skipped"] == N_POINTS - 4 and s["failed"] == []
    _same_rows(load(out), reference[1])


def test_a_failed_group_marks_each_of_its_points_failed(tmp_path, monkeypatch):
    def boom(model, spec, temps):
        if model.n_sites == 6:
            raise RuntimeError("solver exploded")
        return real(model, spec, temps)

    real = compute_mod._states
    monkeypatch.setattr(compute_mod, "_states", boom)
    s = run_sweep(SWEEP, tmp_path / "g.h5", workers=1, show_progress=False)
    assert len(s["failed"]) == 6 and s["computed"] == 6  # 2 groups × 3 temperatures
    assert {f["id"] for f in s["failed"]} == {p.id for p in Sweep.from_toml(SWEEP).points
                                               if p.params["lattice"]["L"] == 6}
    assert all("solver exploded" in f["error"] for f in s["failed"])


def test_one_backend_call_per_group_serves_every_temperature(tmp_path, monkeypatch):
    calls = []
    real = mb.tn.thermal_states

    def counting(model, temperatures, method="exact", **kw):
        calls.append((model.n_sites, list(temperatures), method))
        return real(model, temperatures, method=method, **kw)

    monkeypatch.setattr(mb.tn, "thermal_states", counting)
    run_sweep(SWEEP, tmp_path / "c.h5", workers=1, show_progress=False)
    assert sorted(calls) == sorted([(n, [0.0, 0.5, 1.0], "exact") for n in (4, 4, 6, 6)])


def test_load_while_a_sweep_writes_never_fails_obscurely(tmp_path, reference):
    """Readers take no lock: a read overlapping a write is retried, and any failure is a StoreError."""
    out = tmp_path / "live.h5"
    proc = _run_in_subprocess(out, {}, wait=False)
    seen = set()
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        if out.exists():
            try:
                seen.add(load(out)["point_id"].nunique())
            except StoreError:
                pass
    proc.wait(timeout=60)
    assert proc.returncode == 0
    _same_rows(load(out), reference[1])
    assert len(seen) >= 1


def test_an_interrupted_run_leaves_every_finished_point_readable(tmp_path, monkeypatch, reference):
    real, n = compute_mod.compute_group, [0]

    def interrupt_on_third_group(task):
        n[0] += 1
        if n[0] == 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr("macrobell.data.runner.compute_group", interrupt_on_third_group)
    out = tmp_path / "ctrl-c.h5"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(SWEEP, out, workers=1, show_progress=False)
    assert load(out)["point_id"].nunique() == 6  # two groups of three temperatures, rebuilt on the way out
    monkeypatch.undo()
    s = run_sweep(SWEEP, out, workers=1, resume=True, show_progress=False)
    assert s["skipped"] == 6 and s["computed"] == 6
    _same_rows(load(out), reference[1])


def test_non_convergence_names_the_solver_that_ran(tmp_path):
    # a "dmrg" sweep's T > 0 points come from the purification: the warning must say so, not "dmrg"
    toml = """
[lattice]
kind = "chain"
L = 8
pbc = true
[model]
kind = "heisenberg"
[state]
method = "dmrg"
temperatures = [0.5]
bond_dim = 2
trotter_check = false
[[partitions]]
kind = "halves"
"""
    out = tmp_path / "nc.h5"
    run_sweep(toml, out, workers=1, show_progress=False)
    row = load(out).iloc[0]
    assert not row["converged"]
    [w] = [w for w in row["warnings"] if w.startswith("NotConverged")]
    assert w.startswith("NotConverged: the purification solver did not converge")
