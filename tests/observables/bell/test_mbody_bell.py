"""General +-1 observables on M-qubit parties (observables/bell/mbody.py), against oracles.

Oracles: the Horodecki CHSH maximum (two qubits, two settings: the local
polytope's only nontrivial facets are CHSH, so the smallest visibility is
2 / chsh_max), Mermin on GHZ (visibility 1/2), Tsirelson's bound (no state
of any dimension has a two-setting visibility below 1/sqrt 2), separable
states (never violate), brute-force traces and strategy enumeration, the
package's own M-body effective state (an independent implementation), and
the symmetric-extension theorem behind the seed's settings bound.
"""

import itertools

import numpy as np
import pytest

from macrobell.lattice import Partition
from macrobell.observables._pauli import T_from_rho
from macrobell.observables.bell import search
from macrobell.observables.bell.mbody import (
    bell_operator_mbody, check_observables, effective_rho, lifted_operator, maximise_observables,
    mbody_correlators, mbody_search, random_observables, state_search)
from macrobell.observables.criteria import chsh_max, settings_bound
from macrobell.observables.effective import EffectiveState


def _rand_rho(n, rank, rng):
    A = rng.standard_normal((2**n, rank)) + 1j * rng.standard_normal((2**n, rank))
    r = A @ A.conj().T
    return r / np.trace(r)


def _eff(rho, sizes, M=1):
    return EffectiveState(T=T_from_rho(rho), sizes=sizes, M=M)


def _brute_correlators(rho, obs):
    """Tr(rho (x) O) by explicit Kronecker products (independent of the tensordot path)."""
    ext = [[np.eye(A.shape[-1])] + list(A) for A in obs]
    C = np.zeros(tuple(len(e) for e in ext))
    for i in np.ndindex(*C.shape):
        op = np.ones((1, 1))
        for X, ix in enumerate(i):
            op = np.kron(op, ext[X][ix])
        C[i] = np.real(np.trace(rho @ op))
    return C


def _brute_local_bound(beta):
    """Max over all deterministic strategies by enumeration."""
    S = [d - 1 for d in beta.shape]
    best = -np.inf
    for lam in itertools.product(*[itertools.product([1, -1], repeat=s) for s in S]):
        vecs = [np.concatenate([[1.0], l]) for l in lam]
        val = beta
        for v in vecs:
            val = np.tensordot(v, val, axes=([0], [0]))
        best = max(best, float(val))
    return best


def test_qubit_parties_reach_the_horodecki_visibility_like_bell_search():
    rng = np.random.default_rng(3)
    for _ in range(3):
        eff = _eff(_rand_rho(2, 1, rng), (1, 1))
        cm = chsh_max(eff.T)
        cm = cm[0] if isinstance(cm, tuple) else cm
        a = mbody_search(eff, 2, restarts=6, seed=0)
        b = search(eff, 2, restarts=6, seed=0)
        assert cm > 2  # pure entangled states violate CHSH
        assert a.visibility == pytest.approx(2 / cm, abs=1e-7)
        assert a.visibility == pytest.approx(b.visibility, abs=1e-7)
        assert a.violated and b.violated


def test_ghz_mermin_visibility_one_half():
    psi = np.zeros(8)
    psi[0] = psi[7] = 1 / np.sqrt(2)
    res = mbody_search(_eff(np.outer(psi, psi), (1, 1, 1)), 2, restarts=6, seed=1)
    assert res.violated and res.visibility == pytest.approx(0.5, abs=1e-7)


def test_two_setting_visibility_obeys_tsirelson_and_is_attained_on_ququarts():
    # Singlet on (A1, B1), |00> on (A2, B2); qubits ordered A1 A2 B1 B2.
    s = np.zeros(4)
    s[1], s[2] = 1 / np.sqrt(2), -1 / np.sqrt(2)
    full = np.kron(np.outer(s, s), np.diag([1.0, 0, 0, 0])).reshape([2] * 8)
    full = full.transpose([0, 2, 1, 3, 4, 6, 5, 7]).reshape(16, 16)
    res = mbody_search(_eff(full, (2, 2), M=2), 2, restarts=4, seed=0)
    assert res.violated and res.visibility == pytest.approx(1 / np.sqrt(2), abs=1e-7)
    rng = np.random.default_rng(5)
    for _ in range(2):
        r = mbody_search(_eff(_rand_rho(4, 1, rng), (2, 2), M=2), 2, restarts=4, seed=2)
        assert r.visibility >= 1 / np.sqrt(2) - 1e-9


def test_separable_ququart_states_never_violate():
    rng = np.random.default_rng(7)
    rho = sum(w * np.kron(_rand_rho(2, 1, rng), _rand_rho(2, 1, rng)) for w in (0.5, 0.3, 0.2))
    res = mbody_search(_eff(rho, (2, 2), M=2), 3, restarts=4, seed=0)
    assert not res.violated and res.visibility >= 1 - 1e-7


def test_violation_flag_is_certified_by_brute_force():
    rng = np.random.default_rng(11)
    rho = _rand_rho(4, 1, rng)
    res = mbody_search(_eff(rho, (2, 2), M=2), 2, restarts=4, seed=3)
    assert res.violated
    C = _brute_correlators(rho, res.observables)
    beta = res.inequality.coefficients
    assert np.sum(beta * C) == pytest.approx(res.value, abs=1e-9)
    assert _brute_local_bound(beta) == pytest.approx(res.local_bound, abs=1e-12)
    assert res.value > res.local_bound + 1e-6


def test_correlators_and_sign_update_against_brute_force():
    rng = np.random.default_rng(13)
    rho = _rand_rho(4, 2, rng)
    eff = _eff(rho, (2, 2), M=2)
    obs = random_observables([2, 3], 4, rng)
    assert np.allclose(mbody_correlators(eff, obs), _brute_correlators(rho, obs), atol=1e-12)
    beta = rng.standard_normal((3, 4))
    new, value = maximise_observables(rho, beta, obs)
    assert value == pytest.approx(np.sum(beta * _brute_correlators(rho, new)), abs=1e-10)
    # sign(G) is a party's exact best response: no random +-1 replacement of one does better.
    for _ in range(20):
        trial = [A.copy() for A in new]
        X = int(rng.integers(2))
        trial[X] = random_observables([new[X].shape[0]], 4, rng)[0]
        assert np.sum(beta * _brute_correlators(rho, trial)) <= value + 1e-9


def test_effective_map_and_its_adjoint_match_the_package():
    from macrobell.lattice import chain
    from macrobell.observables import effective_state
    from macrobell.tn.state import DenseState
    rng = np.random.default_rng(17)
    psi = rng.standard_normal(16) + 1j * rng.standard_normal(16)
    psi /= np.linalg.norm(psi)
    B = _rand_rho(4, 3, rng)
    rho = effective_rho(psi, (2, 2), 2)
    L = lifted_operator(B, (2, 2), 2)
    assert np.vdot(psi, L @ psi).real == pytest.approx(np.trace(rho @ B).real, abs=1e-12)
    lat = chain(4)
    part = Partition(lat, ([0, 1], [2, 3]))
    ref = effective_state(DenseState(lattice=lat, vector=psi), part, M=2)
    assert np.allclose(T_from_rho(rho), ref.T, atol=1e-12)


def test_bell_operator_reproduces_the_inequality_value():
    rng = np.random.default_rng(19)
    rho = _rand_rho(4, 2, rng)
    obs = random_observables([2, 2], 4, rng)
    beta = rng.standard_normal((3, 3))
    assert np.trace(rho @ bell_operator_mbody(beta, obs)).real == pytest.approx(
        np.sum(beta * _brute_correlators(rho, obs)), abs=1e-12)


def test_tradeoff_row_backs_settings_bound():
    """One row of examples/tradeoff.py: N_A = N_B = 2, M = 2 (seed claim 3, N_X / M = 1).

    With S = 1 no state violates (settings_bound says >= 2 are needed);
    with S = 2 a state search finds a violation (Tsirelson's 1/sqrt 2).  And
    N_A = 1, N_B = 2, M = 1 with S = 2 (Bob's 2 settings <= N_B): the best
    quantum-to-local ratio over all 3-qubit states stays 1.
    """
    assert settings_bound((2, 2), 2) == [2, 2]
    lo = state_search((2, 2), M=2, settings=1, restarts=2, seed=0)
    hi = state_search((2, 2), M=2, settings=2, restarts=2, seed=0)
    assert not lo.bell.violated and lo.max_ratio <= 1 + 1e-9
    assert hi.bell.violated and hi.bell.visibility == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    # the found state's effective state, rebuilt by the package, violates with the returned observables
    C = mbody_correlators(hi.eff, hi.bell.observables)
    assert hi.bell.inequality.value(C) > hi.bell.local_bound + 1e-6
    ext = state_search((1, 2), M=1, settings=2, restarts=4, seed=0)
    assert not ext.bell.violated and ext.max_ratio <= 1 + 1e-9


@pytest.mark.parametrize("call, match", [
    (lambda e: mbody_search(e, 0), "settings"),
    (lambda e: mbody_search(e, 2, restarts=0), "restarts"),
    (lambda e: mbody_search(object(), 2), "EffectiveState"),
    (lambda e: check_observables(e, [np.eye(4)[None] * 2, np.eye(4)[None]]), "not a \\+-1 observable"),
    (lambda e: check_observables(e, [np.eye(2)[None], np.eye(4)[None]]), "shape"),
    (lambda e: state_search((1, 2), M=2), "M=2"),
    (lambda e: state_search((6, 6)), "MAX_STATE_QUBITS"),
])
def test_bad_input_is_rejected(call, match):
    eff = _eff(np.eye(16) / 16, (2, 2), M=2)
    with pytest.raises(ValueError, match=match):
        call(eff)


@pytest.mark.slow
@pytest.mark.parametrize("script, args", [("tradeoff.py", ["--quick"]), ("macro_vs_micro.py", ["--n", "8", "--points", "4"])])
def test_examples_run_quickly(tmp_path, script, args):
    """The two trade-off examples in their quick modes (tens of seconds together; deselected by default)."""
    import subprocess
    import sys
    from pathlib import Path
    path = Path(__file__).resolve().parents[3] / "examples" / script
    out = tmp_path / "fig.png"
    extra = ["--out", str(out)] if script == "tradeoff.py" else [str(out)]
    r = subprocess.run([sys.executable, str(path), *args, *extra], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0
    if script == "tradeoff.py":
        # the (2,2,2) rows: S = 1 local, S = 2 violated at Tsirelson's visibility
        assert "| 2 | 2 | 2 | 1 | 1 | yes (local) | 1.000000 | none found |" in r.stdout
        assert "| 2 | 2 | 2 | 2 | 2 | no | 0.707107 | yes |" in r.stdout
