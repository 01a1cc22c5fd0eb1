"""χ extrapolation of a loaded sweep frame (data.convergence.extrapolate), checked against exact values."""

import numpy as np
import pandas as pd
import pytest

from macrobell.data import load, run_sweep
from macrobell.data.convergence import extrapolate

SWEEP = """
[lattice]
kind = "chain"
L = 8
pbc = false

[model]
kind = "heisenberg"
J = 1.0

[state]
method = "{method}"
temperatures = [0.0]
{extra}

[[partitions]]
kind = "halves"
"""


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    out = {}
    for method, extra in (("dmrg", "bond_dim = [2, 3, 4, 6, 16, 24, 32]\nseed = 0\nconserve = \"none\""), ("exact", "")):
        path = d / f"{method}.h5"
        run_sweep(SWEEP.format(method=method, extra=extra), path, workers=1, show_progress=False)
        out[method] = load(path)
    return out


@pytest.mark.parametrize("column", ["energy", "chsh_max"])
@pytest.mark.parametrize("in_", ["1/chi", "discarded_weight"])
def test_flag_true_only_when_the_value_is_within_tol_of_exact(frames, column, in_):
    dm, ex = frames["dmrg"], frames["exact"]
    exact = float(ex[column].iloc[0])
    tol = 1e-6
    # growing prefixes of the chi axis: the flag must never claim convergence that the exact value denies
    chis = sorted(dm["bond_dim"].unique())
    flags = []
    for k in range(2, len(chis) + 1):
        sub = dm[dm["bond_dim"].isin(chis[:k])]
        r = extrapolate(sub, column, in_=in_, tol=tol)
        flags.append(r.converged)
        if r.converged:
            assert abs(r.value - exact) <= tol
            assert abs(r.table[column].iloc[-1] - exact) <= tol
    assert not flags[0]  # chi = 2, 3 on 8 sites: far from exact
    assert flags[-1]     # chi = 16, 24, 32 >= 2^(8/2): exact to rounding
    r = extrapolate(dm, column, in_=in_, tol=tol)
    assert list(r.table["bond_dim"]) == chis and np.isnan(r.table["delta_prev"].iloc[0])


def test_extrapolation_beats_the_largest_chi_and_error_covers_it(frames):
    # chi <= 6 only: the energy is linear in the discarded weight, the extrapolation is closer to exact
    # (a property of the dense engine's series, hence conserve = "none" in the fixture; the U(1) state
    # at chi = 3 is more constrained and its chi <= 6 series is not yet linear)
    dm, ex = frames["dmrg"], frames["exact"]
    exact = float(ex["energy"].iloc[0])
    sub = dm[dm["bond_dim"] <= 6]
    value, error, converged, table = extrapolate(sub, "energy", in_="discarded_weight", tol=1e-8)
    assert abs(value - exact) < abs(table["energy"].iloc[-1] - exact)
    assert abs(value - exact) <= 2 * error
    assert not converged


def test_bad_input_is_refused(frames):
    dm = frames["dmrg"]
    with pytest.raises(ValueError, match="in_ must be one of"):
        extrapolate(dm, "energy", in_="chi")
    with pytest.raises(ValueError, match="no column"):
        extrapolate(dm, "nonsense")
    with pytest.raises(ValueError, match="tol must be"):
        extrapolate(dm, "energy", tol=0)
    with pytest.raises(ValueError, match="at least 2 bond dimensions"):
        extrapolate(dm[dm["bond_dim"] == 4], "energy")
    with pytest.raises(ValueError, match="select one curve"):
        extrapolate(pd.concat([dm, dm]), "energy")
    with pytest.raises(ValueError, match="DataFrame"):
        extrapolate({"bond_dim": [1, 2]}, "energy")
