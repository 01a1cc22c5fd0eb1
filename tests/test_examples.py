"""The shipped examples keep working: sweep files validate to the grid they write down, the quick-start
script prints the values an independent exact diagonalisation gives."""

import math
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from conftest import ring_zz_oracle, werner_level
from macrobell.data import Sweep
from macrobell.lattice.materials import MATERIALS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in sorted(EXAMPLES.glob("*.toml"))])
def test_example_sweep_files_validate(path):
    sweep = Sweep.from_file(path)
    assert len(sweep.points) > 0
    # The grid the file writes down, read with tomllib: the cartesian product of its list-valued keys,
    # temperatures innermost, one computation per everything-but-temperature.
    cfg = tomllib.loads(path.read_text())
    axes = [v for sec in ("lattice", "model", "state") for k, v in cfg[sec].items()
            if isinstance(v, list) and k != "temperatures"]
    temps = cfg["state"]["temperatures"]
    n_groups = math.prod(len(v) for v in axes)
    assert len(sweep.groups) == n_groups
    assert len(sweep.points) == n_groups * len(temps)
    assert [q["kind"] for q in sweep.partitions] == [p["kind"] for p in cfg["partitions"]]
    first = [pt.params for pt in sweep.points[:len(temps)]]
    if cfg["model"].get("temperature_unit") == "K":
        J_K = MATERIALS[cfg["model"]["material"]].couplings_K["J"]
        assert [q["T_K"] for q in first] == temps
        np.testing.assert_allclose([q["T"] for q in first], np.array(temps) / J_K, rtol=1e-14)
    else:
        assert [q["T"] for q in first] == temps
    for key, value in cfg["lattice"].items():  # L, or Lx/Ly/pbc_y of a cylinder: the first value of an axis
        if key != "kind":
            assert first[0]["lattice"][key] == (value[0] if isinstance(value, list) else value), key
    assert first[0]["state"]["method"] == cfg["state"]["method"]


def test_quickstart_script_runs():
    r = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "E0 = -5.3873909174" in r.stdout  # 12-site ring, docs/physics.md
    # Independent values: sector-wise exact diagonalisation of the 12-ring. SU(2) symmetry makes the
    # sublattice effective state a Werner state, T = -V 1 with V = -<zz> averaged over the A x B pairs, so
    # CHSH_max = 2 sqrt(2) V (Horodecki 1995) and the monogamy bound is (R + 2) / (3 R), R = 6 (Kay et al.,
    # PRL 103, 050501 (2009)).
    even, odd = np.arange(0, 12, 2), np.arange(1, 12, 2)

    def werner_V(T):
        energy, C = ring_zz_oracle(12, 1.0, T)
        return energy, -C[np.ix_(even, odd)].mean()

    E0, V0 = werner_V(0.0)
    m = re.search(r"E0 = (\S+)  chsh_max = (\S+)  werner_V = (\S+) \(monogamy bound (\S+)\)  verdict: (\S+)",
                  r.stdout)
    assert m, r.stdout
    assert float(m[1]) == pytest.approx(E0, abs=1e-9)
    assert float(m[2]) == pytest.approx(2 * math.sqrt(2) * V0, abs=6e-5)
    assert float(m[3]) == pytest.approx(V0, abs=6e-5)
    assert float(m[4]) == pytest.approx(8 / 18, abs=6e-5)
    assert m[5] == werner_level(V0)
    m = re.search(r"DMRG: (\S+) (\S+)", r.stdout)
    assert float(m[1]) == pytest.approx(E0, abs=1e-8) and m[2] == "True"
    rows = re.findall(r"T = (\S+): werner_V = (\S+), verdict (\S+)", r.stdout)
    assert [float(t) for t, _, _ in rows] == [0.25, 1.0]
    for t, v, verdict in rows:
        V = werner_V(float(t))[1]
        assert float(v) == pytest.approx(V, abs=6e-5)
        assert verdict == werner_level(V)
