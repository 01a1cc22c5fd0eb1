"""The shipped examples keep working: sweep files validate, the quick-start script runs."""

import subprocess
import sys
from pathlib import Path

import pytest

from macrobell.data import Sweep

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in sorted(EXAMPLES.glob("*.toml"))])
def test_example_sweep_files_validate(path):
    sweep = Sweep.from_file(path)
    assert len(sweep.points) > 0


def test_quickstart_script_runs():
    r = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "E0 = -5.3873909174" in r.stdout  # 12-site ring, docs/physics.md
