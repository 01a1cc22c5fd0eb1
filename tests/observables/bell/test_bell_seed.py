"""The seed's Section IV claim for N_A = 1, N_B = 2: two settings never violate, three can.

Effective states are built by the real pipeline (tn.from_dense ->
observables.effective_state with a custom partition A = {0}, B = {1, 2}).
Oracles: the symmetric-extension theorem (no CHSH violation, Terhal-Doherty-
Schwab PRL 90, 157903 (2003)), Horodecki's closed form, the LP with a
brute-force local bound.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from macrobell.observables import bell
from macrobell.observables.bell import lp as lpmod
from macrobell.observables.bell.named import CHSH_COEFFICIENTS, I3322_COEFFICIENTS
from macrobell.observables.criteria import chsh_max

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "seed_settings.py"


@pytest.fixture(scope="module")
def seed_example():
    spec = importlib.util.spec_from_file_location("seed_settings", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_effective_state_is_the_average_of_the_two_pairs(seed_example):
    rng = np.random.default_rng(30)
    psi = rng.standard_normal(8) + 1j * rng.standard_normal(8)
    psi /= np.linalg.norm(psi)
    eff = seed_example.effective_state(psi)
    rho = np.outer(psi, psi.conj()).reshape(2, 2, 2, 2, 2, 2)
    rho_ab1 = np.einsum("abkcdk->abcd", rho).reshape(4, 4)
    rho_ab2 = np.einsum("akbckd->abcd", rho).reshape(4, 4)
    np.testing.assert_allclose(eff.rho, (rho_ab1 + rho_ab2) / 2, atol=1e-12)
    assert eff.sizes == (1, 2)


def test_two_settings_never_violate(seed_example):
    rng = np.random.default_rng(31)
    for k in range(12):
        eff = seed_example.effective_state(seed_example.random_state(rng, 1 + k % 3))
        assert chsh_max(eff.T) <= 2 + 1e-9
        res = bell.search(eff, settings=2, restarts=6, seed=k)
        assert not res.violated and res.visibility >= 1 - 1e-7


def test_chsh_seesaw_over_states_stays_at_the_local_bound(seed_example):
    rng = np.random.default_rng(32)
    value, psi, settings = seed_example.state_settings_seesaw(CHSH_COEFFICIENTS, [2, 2], 6, rng)
    assert value <= 2 + 1e-9
    assert value >= 1.99  # the search is not idle: it reaches the boundary
    assert bell.chsh(seed_example.effective_state(psi)).value <= 2 + 1e-9


def test_three_settings_violate_i3322(seed_example):
    rng = np.random.default_rng(33)
    value, psi, settings = seed_example.state_settings_seesaw(I3322_COEFFICIENTS, [3, 3], 8, rng)
    eff = seed_example.effective_state(psi)
    C = bell.correlators(eff, settings)
    value_pipeline = float(np.sum(I3322_COEFFICIENTS * C))
    assert value_pipeline == pytest.approx(value, abs=1e-9)
    assert value_pipeline > 4.06  # largest found: 4.064433 (examples/seed_settings.py)
    # The LP certifies the nonlocality at these settings; its inequality's bound is brute force.
    lp = bell.local_visibility(eff, settings)
    assert lp.violated and lp.visibility <= 4 / value_pipeline + 1e-7
    ineq = lp.inequality
    assert ineq.local_bound == pytest.approx(lpmod.best_strategy(ineq.coefficients)[0][0], abs=1e-12)
    # And the generic search finds a three-setting violation without being told the settings.
    assert bell.search(eff, settings=3, restarts=6, seed=0).violated


def test_example_script_prints_both_halves():
    r = subprocess.run([sys.executable, str(EXAMPLE), "--json", "--restarts", "6", "--states", "3"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["min_visibility_2_settings_random"] >= 1 - 1e-7
    assert out["chsh_max_state_seesaw"] <= 2 + 1e-9
    assert out["i3322_max"] > 4 and out["lp_visibility_3_settings"] < 1
