"""[observables] Bell-engine keys: validated before work, results in the file and in load()."""

import numpy as np
import pytest

import macrobell as mb
from macrobell.data import SweepError, load, run_sweep

BELL_TOML = """
[lattice]
kind = "chain"
L = 4
pbc = true
[model]
kind = "heisenberg"
[state]
method = "exact"
temperatures = [0.0, 1.0]
[[partitions]]
kind = "custom"
name = "nn"
regions = {A = [0], B = [1]}
[[partitions]]
kind = "halves"
[observables]
bell_settings = [2, 3]
bell_restarts = 3
bell_seed = 5
lhs = true
"""


def test_bell_columns_reach_the_frame(tmp_path):
    out = tmp_path / "bell.h5"
    run_sweep(BELL_TOML, out, workers=1, show_progress=False)
    df = load(out)
    nn0 = df[(df.partition == "nn") & (df["T"] == 0)].iloc[0]
    # the 4-ring's nearest-neighbour pair at T = 0 is a Werner state with V = 2/3 (<S0.S1> = -1/2):
    # LHS-certified? V > 1/2 is steerable, so never; not CHSH-violating (V < 1/sqrt 2); no search violation
    assert nn0["werner_V"] == pytest.approx(2 / 3, abs=1e-9)
    assert not nn0["lhs_local"]
    assert nn0["bell_visibility_S2"] == pytest.approx(1 / (np.sqrt(2) * (2 / 3)), abs=1e-6)
    assert nn0["bell_visibility_S3"] >= 1 - 1e-9
    assert nn0["verdict"] == "local-projective"  # Werner certificate, V = 2/3 <= 0.6875
    hot = df[(df.partition == "nn") & (df["T"] == 1.0)].iloc[0]
    assert hot["lhs_local"] and hot["lhs_visibility"] >= 1
    assert set(df.columns) >= {"bell_visibility_S2", "bell_visibility_S3", "i3322_value", "lhs_visibility",
                               "bell_nonlocal_inequality"}


@pytest.mark.parametrize("text, key", [
    ("bell_settings = [1]", "bell_settings"),
    ("bell_settings = 11", "bell_settings"),
    ("bell_settings = [2]\nbell_restarts = 0", "bell_restarts"),
    ("bell_restarts = 3", "bell_settings"),
    ("bell_settings = [2]\nM = 2", "bell_settings"),
    ("lhs = 1", "lhs"),
])
def test_bad_bell_options_name_the_key(text, key, tmp_path):
    toml = BELL_TOML.split("[observables]")[0] + "[observables]\n" + text + "\n"
    with pytest.raises(SweepError, match=key):
        run_sweep(toml, tmp_path / "x.h5", workers=1, show_progress=False)
    assert not (tmp_path / "x.h5").exists()


def test_too_many_settings_for_the_partition_is_refused_before_work(tmp_path):
    toml = BELL_TOML.replace('kind = "halves"', 'kind = "blocks"\nK = 4').split("[observables]")[0]
    toml += "[observables]\nbell_settings = [6]\n"
    with pytest.raises(SweepError, match="K\\*S = 24"):
        run_sweep(toml, tmp_path / "x.h5", workers=1, show_progress=False)


def test_sweeps_without_bell_keys_keep_their_canonical_form():
    sw = mb.data.Sweep.from_toml(BELL_TOML.split("[observables]")[0])
    assert sw.config["observables"] == {"pairs": False, "M": 1}
