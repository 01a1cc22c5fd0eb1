"""Packaging: the top-level lattice/, tn/, observables/, data/ ship as macrobell subpackages."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("lattice", "tn", "observables", "data")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, cwd=out)
    (whl,) = out.glob("macrobell-*.whl")
    return whl


def test_wheel_contains_the_four_subpackages(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for sub in SUBPACKAGES:
        assert f"macrobell/{sub}/__init__.py" in names, sub
    assert "macrobell/observables/_kernels.py" in names
    assert "macrobell/cli.py" in names
    assert not any(n.startswith(("tests/", "lattice/", "tn/")) for n in names)


def test_non_editable_install_imports(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True)
    code = ("import macrobell, macrobell.lattice, macrobell.tn, macrobell.observables, macrobell.data;"
            "print(macrobell.__file__)")
    # run outside the repository so the editable install cannot shadow the wheel
    env = {**os.environ, "PYTHONPATH": str(target)}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert str(target) in r.stdout
