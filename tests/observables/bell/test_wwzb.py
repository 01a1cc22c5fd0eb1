"""Oracle tests for the exact Zukowski-Brukner (WWZB) condition, ``bell.wwzb``.

Oracles: published / closed-form maxima (Mermin's GHZ value 2^((K-1)/2),
the W-state value 1.52298 of references.md, Horodecki's CHSH for K = 2), an
independent brute-force maximisation of the Zukowski-Brukner functional
written from its definition (explicit sums over s and k, correlators from
the density matrix by Kronecker products, scipy over spherical angles), and
the Cauchy-Schwarz bound sqrt(zb_upper).
"""

from __future__ import annotations

import itertools
import json
import math
from functools import reduce

import numpy as np
import pytest
from scipy.optimize import minimize

import macrobell as mb
from macrobell.observables.bell.wwzb import WWZBValue, wwzb, wwzb_ratio
from macrobell.observables.criteria import PAULI, T_from_rho, chsh_max, zb_upper
from macrobell.observables.effective import EffectiveState


def _eff(rho, sizes=None):
    n = int(round(math.log2(rho.shape[0])))
    return EffectiveState(T=T_from_rho(rho), sizes=sizes or (1,) * n)


def _pure(psi):
    psi = np.asarray(psi, dtype=complex)
    psi = psi / np.linalg.norm(psi)
    return np.outer(psi, psi.conj())


def _ghz(K):
    psi = np.zeros(2**K)
    psi[0] = psi[-1] = 1.0
    return _pure(psi)


def _w3():
    psi = np.zeros(8)
    psi[[1, 2, 4]] = 1.0
    return _pure(psi)


def _random_mixed(rng, K, rank=2):
    G = rng.standard_normal((2**K, rank)) + 1j * rng.standard_normal((2**K, rank))
    rho = G @ G.conj().T
    return rho / np.trace(rho).real


# --- independent brute force from the definition ----------------------------

def _pauli_expectations(rho):
    """Tr(rho sigma_a1 (x) ... (x) sigma_aK) for a_j in {x, y, z}, by Kronecker products."""
    K = int(round(math.log2(rho.shape[0])))
    P = np.empty((3,) * K)
    for a in itertools.product(range(3), repeat=K):
        P[a] = np.real(np.trace(rho @ reduce(np.kron, [PAULI[1 + i] for i in a])))
    return P


#: SIGN[s, k] = s^(k - 1) for s in (+1, -1) and k in (1, 2).
_SIGN = np.array([[1.0, 1.0], [1.0, -1.0]])


def _zb_functional(P, vectors):
    """sum_s |sum_k prod_j s_j^(k_j - 1) E(k)| / 2^K, E(k) = sum_a P_a prod_j n_{j,k_j,a_j}."""
    K = P.ndim
    E = P
    for j in range(K):
        # E(k) over the 2 settings of party j: contract the leading Pauli axis.
        E = np.tensordot(E, np.asarray(vectors[j], dtype=float), axes=([0], [1]))
    for j in range(K):
        E = np.tensordot(E, _SIGN, axes=([0], [1]))
    return float(np.sum(np.abs(E))) / 2**K


def _zb_functional_from_rho(rho, vectors):
    return _zb_functional(_pauli_expectations(rho), vectors)


def _unit(theta, phi):
    return np.array([math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)])


def _brute_force(rho, K, starts, seed):
    """Best value of Powell runs over the 4K spherical angles from random starts."""
    rng = np.random.default_rng(seed)
    P = _pauli_expectations(rho)

    def vectors(x):
        return [[_unit(x[4 * j], x[4 * j + 1]), _unit(x[4 * j + 2], x[4 * j + 3])] for j in range(K)]

    best = 0.0
    for _ in range(starts):
        x0 = rng.uniform(0, 2 * math.pi, 4 * K)
        res = minimize(lambda x: -_zb_functional(P, vectors(x)), x0, method="Powell",
                       options={"xtol": 1e-8, "ftol": 1e-12, "maxfev": 2000})
        best = max(best, -res.fun)
    return best


# --- tests -------------------------------------------------------------------

@pytest.mark.parametrize("K", [3, 4])
def test_ghz_reaches_mermin_value(K):
    res = wwzb(_eff(_ghz(K)), restarts=5, seed=0)
    assert res.value == pytest.approx(2 ** ((K - 1) / 2), abs=1e-9)
    assert res.violated and res.local_bound == 1.0
    # The returned settings really give the value, by the independent functional.
    assert _zb_functional_from_rho(_ghz(K), np.array(res.settings)) == pytest.approx(res.value, abs=1e-9)


def test_w_state_value_and_brute_force():
    rho = _w3()
    res = wwzb(_eff(rho), restarts=20, seed=1)
    assert res.value == pytest.approx(1.52298, abs=5e-6)        # references.md
    assert res.value < math.sqrt(7.0 / 3.0)                      # strictly below sqrt(max sum T^2)
    brute = _brute_force(rho, 3, starts=4, seed=2)
    assert brute <= res.value + 1e-8
    assert brute == pytest.approx(res.value, abs=1e-4)


def test_random_three_qubit_states_match_brute_force_and_bound():
    rng = np.random.default_rng(11)
    for _ in range(2):
        rho = _random_mixed(rng, 3, rank=1)
        eff = _eff(rho)
        res = wwzb(eff, restarts=10, seed=3)
        brute = _brute_force(rho, 3, starts=3, seed=4)
        assert res.value >= brute - 1e-6
        assert res.value <= math.sqrt(zb_upper(eff.T)) + 1e-12
        assert _zb_functional_from_rho(rho, np.array(res.settings)) == pytest.approx(res.value, abs=1e-9)


def test_never_above_sqrt_zb_upper_on_random_states():
    rng = np.random.default_rng(5)
    for K in (3, 4):
        for _ in range(3):
            eff = _eff(_random_mixed(rng, K, rank=1 + int(rng.integers(3))))
            assert wwzb(eff, restarts=3, seed=0).value <= math.sqrt(zb_upper(eff.T)) + 1e-12


def test_two_parties_equal_chsh_over_two():
    rng = np.random.default_rng(7)
    for _ in range(30):
        rank = 1 + int(rng.integers(4))
        eff = _eff(_random_mixed(rng, 2, rank=rank), sizes=(2, 3))
        res = wwzb(eff, restarts=2, seed=0)
        assert res.value == pytest.approx(chsh_max(eff.T) / 2.0, abs=1e-10)
        assert res.violated == (chsh_max(eff.T) > 2.0 + 1e-8)


@pytest.mark.parametrize("L,K", [(9, 3), (12, 4)])
def test_heisenberg_ring_blocks_are_local(L, K):
    lat = mb.lattice.chain(L, pbc=True)
    gs = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="exact")
    eff = mb.observables.effective_state(gs, mb.lattice.Partition.blocks(lat, K))
    assert eff.sizes == (3,) * K
    res = wwzb(eff, restarts=10, seed=0)
    assert res.value <= 1.0 and not res.violated


def test_ratio_at_given_settings_and_result_is_json():
    rho = _ghz(3)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 2, 3))
    A /= np.linalg.norm(A, axis=2, keepdims=True)
    assert wwzb_ratio(_eff(rho), A) == pytest.approx(_zb_functional_from_rho(rho, A), abs=1e-12)
    res = wwzb(_eff(rho), restarts=1, seed=np.random.default_rng(3))
    assert isinstance(res, WWZBValue)
    d = json.loads(json.dumps(res.to_dict()))
    assert set(d) == {"value", "local_bound", "violated", "settings"}
    assert np.array(d["settings"]).shape == (3, 2, 3)


def test_bad_input_is_refused():
    eff = _eff(_ghz(3))
    with pytest.raises(ValueError, match="unit vectors"):
        wwzb_ratio(eff, np.ones((3, 2, 3)))
    with pytest.raises(ValueError, match="K=3"):
        wwzb_ratio(eff, np.ones((2, 2, 3)) / math.sqrt(3))
    with pytest.raises(ValueError, match="restarts"):
        wwzb(eff, restarts=-1)
    with pytest.raises(ValueError, match="seed"):
        wwzb(eff, seed="zero")
    with pytest.raises(ValueError, match="EffectiveState"):
        wwzb(np.eye(4))
    T2 = T_from_rho(np.eye(16) / 16)
    with pytest.raises(ValueError, match="M = 1"):
        wwzb(EffectiveState(T=T2, sizes=(2, 2), M=2))
