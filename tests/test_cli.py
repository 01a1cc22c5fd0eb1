"""The macrobell command line: point, run/resume, show, plot, demo; one-line errors with exit status 2."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import matplotlib.collections
import matplotlib.image
import numpy as np
import pytest

from conftest import chain_sweep_toml, horodecki_chsh_max, two_region_T, werner_level, xxz_ring_oracle
import macrobell as mb
import macrobell.data
from macrobell.cli import main

SWEEP = chain_sweep_toml(Delta=None, temperatures="[0.0, 1.0]")


def _cli_cmd():
    exe = Path(sys.executable).parent / "macrobell"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "macrobell.cli"]


def _ring_werner_V(L, T, partition):
    """Brute-force V = -<zz> over the region pairs of a Heisenberg ring (a Werner state by SU(2))."""
    part = getattr(mb.lattice.Partition, partition)(mb.lattice.chain(L, pbc=True))
    energy, rho = xxz_ring_oracle(L, 1.0, T)
    T3 = two_region_T(rho, part.regions, L)
    return energy, -T3[2, 2], T3


def _captured_figures(monkeypatch):
    """Make the CLI's ``plot`` calls keep their figures (the CLI closes them) for reading back."""
    figs = []
    real = macrobell.data.plot

    def keep(*args, **kw):
        fig = real(*args, **kw)
        figs.append(fig)
        return fig

    monkeypatch.setattr(macrobell.data, "plot", keep)
    return figs


def _one_line_error(capsys, rc, pattern=""):
    out, err = capsys.readouterr()
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("macrobell: error:"), err
    assert "Traceback" not in err
    assert pattern in lines[0]
    return lines[0]


def test_point_prints_criteria_and_verdict(capsys):
    rc = main(["point", "--lattice", "chain", "--L", "8", "--pbc", "--model", "heisenberg", "--Delta", "1",
               "--T", "0", "--partition", "sublattices", "halves"])
    out, _ = capsys.readouterr()
    assert rc == 0
    assert "chsh_max" in out and "werner_V" in out and "verdict [sublattices]:" in out
    assert "energy = -3.651093409" in out  # docs/physics.md, 'Reference values', N = 8 ring


def test_point_blocks_and_material(capsys):
    assert main(["point", "--L", "6", "--partition", "blocks", "--K", "3", "--T", "0.5"]) == 0
    out, _ = capsys.readouterr()
    assert "blocks_K3" in out and "zb_max" in out
    assert main(["point", "--material", "CuPzN", "--L", "4", "--pbc", "--T", "10.7", "--kelvin"]) == 0
    out, _ = capsys.readouterr()
    assert "T = 1 (10.7 K)" in out


@pytest.mark.parametrize("argv, pattern", [
    pytest.param(["point", "--L", "7", "--pbc", "--partition", "sublattices"], "not bipartite", id="odd-ring"),
    pytest.param(["point", "--L", "6", "--T", "-1"], "temperatures", id="negative-T"),
    pytest.param(["point", "--Lx", "3", "--L", "6"], "Lx", id="wrong-lattice-key"),
    pytest.param(["point", "--L", "6", "--model", "isign"], "allowed", id="unknown-model"),
    pytest.param(["point", "--L", "6", "--method", "magic"], "method", id="unknown-method"),
    pytest.param(["point", "--L", "x"], "invalid int", id="argparse"),
    pytest.param(["frobnicate"], "invalid choice", id="unknown-command"),
    pytest.param([], "required", id="no-command"),
    pytest.param(["show", "missing.h5"], "does not exist", id="show-missing"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, pattern):
    _one_line_error(capsys, main(argv), pattern)


def test_run_resume_show_plot(tmp_path, capsys, monkeypatch):
    toml = tmp_path / "s.toml"
    toml.write_text(SWEEP)
    out = tmp_path / "o.h5"
    assert main(["run", str(toml), "-o", str(out), "--workers", "1", "-q"]) == 0
    assert "4 points computed" in capsys.readouterr().out
    # What the file holds: the brute-force values of each ring, temperature and partition.
    df = macrobell.data.load(out)
    assert len(df) == 2 * 2 * 2
    for _, r in df.iterrows():
        energy, V, T3 = _ring_werner_V(int(r["L"]), float(r["T"]), r["partition"])
        assert r["energy"] == pytest.approx(energy, abs=1e-10)
        assert r["werner_V"] == pytest.approx(V, abs=1e-9)
        assert r["chsh_max"] == pytest.approx(horodecki_chsh_max(T3), abs=1e-9)
        assert r["verdict"] == werner_level(V)
    _one_line_error(capsys, main(["run", str(toml), "-o", str(out), "--workers", "1", "-q"]), "already exists")
    assert main(["run", str(toml), "-o", str(out), "--workers", "1", "--resume", "-q"]) == 0
    assert "0 points computed, 4 already complete" in capsys.readouterr().out
    other = tmp_path / "t.toml"
    other.write_text(SWEEP.replace("[0.0, 1.0]", "[0.0, 2.0]"))
    _one_line_error(capsys, main(["run", str(other), "-o", str(out), "--resume", "-q"]), "different sweep")

    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "4/4 points complete" in shown and "sublattices" in shown and 'kind = "chain"' in shown

    png = tmp_path / "f.png"
    figs = _captured_figures(monkeypatch)
    assert main(["plot", str(out), "--x", "T", "--y", "chsh_max", "--hue", "L", "--col", "partition",
                 "-o", str(png)]) == 0
    assert png.stat().st_size > 1000
    assert matplotlib.image.imread(png).ndim == 3
    # One panel per partition, and its lines carry that partition's stored (T, chsh_max) values.
    (fig,) = figs
    panels = [ax for ax in fig.axes if any(ln.get_gid() == "data" for ln in ax.lines)]
    assert len(panels) == 2
    for ax in panels:
        drawn = sorted((float(x), float(y)) for ln in ax.lines if ln.get_gid() == "data"
                       for x, y in zip(ln.get_xdata(), ln.get_ydata()))
        part = df[df.partition == ax.get_title().split("=")[-1].strip()]
        assert len(part) == 4, ax.get_title()
        np.testing.assert_allclose(drawn, sorted(zip(part["T"], part["chsh_max"])), atol=1e-12)
    capsys.readouterr()
    heat = tmp_path / "h.pdf"
    assert main(["plot", str(out), "--x", "T", "--y", "L", "--z", "werner_V", "--where", "partition=halves",
                 "-o", str(heat)]) == 0
    assert heat.read_bytes()[:4] == b"%PDF"
    # The heat map's cells: werner_V of the halves rows, L (rows) x T (columns).
    (mesh,) = [c for c in figs[-1].axes[0].collections if isinstance(c, matplotlib.collections.QuadMesh)]
    table = df[df.partition == "halves"].pivot(index="L", columns="T", values="werner_V")
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(2, 2),
                               table.sort_index().sort_index(axis=1).to_numpy(), atol=1e-12)
    capsys.readouterr()
    _one_line_error(capsys, main(["plot", str(out), "--x", "T", "--y", "nope", "-o", str(png)]), "nope")


def test_invalid_sweep_file_leaves_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(SWEEP.replace("pbc = true", "pbc = true\nperiodic = 1"))
    out = tmp_path / "o.h5"
    _one_line_error(capsys, main(["run", str(bad), "-o", str(out), "-q"]), "periodic")
    assert not out.exists()
    bad.write_text("[lattice\n")
    _one_line_error(capsys, main(["run", str(bad), "-o", str(out), "-q"]), "malformed TOML")
    assert not out.exists()


def test_demo_tiny(tmp_path, capsys):
    out = tmp_path / "d.h5"
    assert main(["demo", "-o", str(out), "--sizes", "4", "6", "--temperatures", "0", "1", "--workers", "1",
                 "-q"]) == 0
    text = capsys.readouterr().out
    assert "verdict" in text and (tmp_path / "d.png").exists()
    assert matplotlib.image.imread(tmp_path / "d.png").ndim == 3
    # Each printed row against brute force: Werner states, so CHSH_max = 2 sqrt(2) V (Horodecki 1995),
    # negativity max(0, (3V - 1)/4) (the partial transpose's lowest eigenvalue), distance to Werner 0.
    rows = [ln.split() for ln in text.splitlines() if ln.split()[:1] in (["4"], ["6"])]
    assert len(rows) == 2 * 2 * 2
    for L, T, N, partition, chsh, _zb, V_s, dist, neg, verdict in rows:
        assert int(N) == int(L)
        _, V, _ = _ring_werner_V(int(L), float(T), partition)
        assert float(V_s) == pytest.approx(V, abs=6e-5)
        assert float(chsh) == pytest.approx(2 * np.sqrt(2) * V, abs=6e-5)
        assert float(neg) == pytest.approx(max(0.0, (3 * V - 1) / 4), abs=6e-5)
        assert float(dist) == pytest.approx(0.0, abs=6e-5)
        assert verdict == werner_level(V)


def test_console_script_in_a_subprocess(tmp_path):
    env = {**os.environ, "MACROBELL_THREADS": "1"}
    r = subprocess.run(_cli_cmd() + ["point", "--L", "6", "--pbc", "--partition", "sublattices"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert "verdict [sublattices]" in r.stdout
    r = subprocess.run(_cli_cmd() + ["run", str(tmp_path / "none.toml"), "-o", str(tmp_path / "x.h5")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and r.stderr.strip().startswith("macrobell: error:")
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, pattern", [
    pytest.param(["point", "--material", "CuPzN", "--L", "4", "--pbc", "--T", "2"],
                 "argument --T-unit: with --material CuPzN the unit of --T must be stated", id="material-no-unit"),
    pytest.param(["point", "--L", "4", "--pbc", "--T", "2", "--kelvin"],
                 "argument --kelvin: temperatures in kelvin need a material preset", id="kelvin-no-material"),
    pytest.param(["point", "--L", "4", "--T", "2", "--T-unit", "K"],
                 "argument --T-unit K: temperatures in kelvin need a material preset", id="T-unit-K-no-material"),
    pytest.param(["point", "--L", "4", "--T", "1", "--T-unit", "C"], "invalid choice: 'C'", id="T-unit-bad"),
    pytest.param(["point", "--L", "4", "--T", "1", "--h-tesla", "3"],
                 "argument --h-tesla: a field in tesla needs a material preset", id="tesla-no-material"),
    pytest.param(["point", "--material", "CuPzN", "--L", "4", "--T", "1", "--kelvin", "--h", "1"],
                 "--h is not a material argument", id="h-with-material"),
    pytest.param(["point", "--material", "CuPzN", "--L", "4", "--T", "1", "--kelvin", "--T-unit", "J"],
                 "contradicts --T-unit J", id="kelvin-and-J"),
])
def test_units_are_never_silent(capsys, argv, pattern):
    _one_line_error(capsys, main(argv), pattern)


def test_point_material_units_and_field_in_tesla(capsys):
    assert main(["point", "--material", "CuPzN", "--L", "4", "--pbc", "--T", "1", "--T-unit", "J"]) == 0
    out, _ = capsys.readouterr()
    assert "T = 1 " in out and "K)" not in out  # units of J, no kelvin value
    assert main(["point", "--material", "CuPzN", "--L", "4", "--pbc", "--T", "0", "--T-unit", "J",
                 "--h-tesla", "20"]) == 0
    out, _ = capsys.readouterr()
    # h = g (mu_B/k_B) B / J[K] with CODATA 2018 constants; above saturation (h > 2J) the ground state is
    # fully polarised: E = N/4 - h N/2 on the 4-ring
    from macrobell.lattice.materials import MATERIALS

    h = MATERIALS["CuPzN"].g_factor * 9.2740100783e-24 / 1.380649e-23 * 20.0 / 10.7
    assert "h_tesla=20.0" in out and f"energy = {1 - 2 * h:.9f}" in out


def test_console_script_point_json_and_list(tmp_path):
    """stdout of ``point --json`` is exactly one JSON document; ``list`` works from the console script."""
    import json

    env = {**os.environ, "MACROBELL_THREADS": "1"}
    r = subprocess.run(_cli_cmd() + ["point", "--L", "4", "--pbc", "--region", "A=0", "--region", "B=2", "--json"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["points"][0]["partitions"]["custom"]["sizes"] == [1, 1]
    assert doc["points"][0]["state"]["energy"] == pytest.approx(-2.0, abs=1e-10)  # 4-ring: E0 = -2 J
    r = subprocess.run(_cli_cmd() + ["list", "materials"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and "CuPzN" in r.stdout.split(), r.stderr
