"""PEPS in sweep files: ground states only, on the lattices the backend holds."""

import pytest

from macrobell.data import SweepError, Sweep, load, run_sweep

PEPS_SWEEP = """
[lattice]
kind = "square"
Lx = 2
Ly = 3
[model]
kind = "tfim"
J = 1.0
g = 1.0
[state]
method = "peps"
temperatures = [0.0]
bond_dim = 2
[[partitions]]
kind = "sublattices"
"""


def test_peps_sweep_runs_and_matches_exact(tmp_path):
    out = tmp_path / "peps.h5"
    run_sweep(PEPS_SWEEP, out, workers=1, show_progress=False)
    exact = tmp_path / "exact.h5"
    run_sweep(PEPS_SWEEP.replace('method = "peps"', 'method = "exact"').replace("bond_dim = 2\n", ""), exact,
              workers=1, show_progress=False)
    a, b = load(out), load(exact)
    assert a["backend"].iloc[0] == "peps"
    # simple update at D = 2 is variational: above exact, within 1 % here (TFIM, g = J, 2×3)
    assert b["energy"].iloc[0] <= a["energy"].iloc[0] + 1e-8
    assert a["energy"].iloc[0] == pytest.approx(b["energy"].iloc[0], rel=1e-2)


@pytest.mark.parametrize("edit, key", [
    pytest.param(("temperatures = [0.0]", "temperatures = [0.0, 0.5]"), "temperatures", id="finite-T"),
    pytest.param(('kind = "square"\nLx = 2\nLy = 3', 'kind = "chain"\nL = 6'), "method", id="chain"),
    pytest.param(('kind = "tfim"\nJ = 1.0\ng = 1.0', 'kind = "heisenberg"\nJ2 = 0.5'), "method", id="J2"),
])
def test_peps_sweeps_are_refused_before_any_work(tmp_path, edit, key):
    with pytest.raises(SweepError, match=key):
        Sweep.from_toml(PEPS_SWEEP.replace(*edit))
