"""Oracle tests for the LHS (unsteerability) SDP certificate, ``bell.lhs_certificate``.

Oracles: the exact Werner steering threshold 1/2 (Wiseman, Jones, Doherty
2007), the exact T-state criterion (Jevtic et al. integral, proven by Nguyen
& Vu), the polyhedron argument (certified >= r x exact), Horodecki's CHSH
value (nothing certified may violate it) and an independent numpy check of
the repaired LHS model.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import special_ortho_group

from macrobell.observables.bell import lhs as lhs_mod
from macrobell.observables.bell.lhs import LHSCertificate, lhs_certificate, measurement_polyhedron
from macrobell.observables.criteria import (T_from_rho, chsh_max, jevtic_integral, ppt, rho_from_T,
                                            steering, werner_state)
from macrobell.observables.effective import EffectiveState


def _eff_T(T, sizes=(2, 3)):
    return EffectiveState(T=T, sizes=sizes)


def _werner(V):
    return _eff_T(T_from_rho(werner_state(V)))


def _t_state(diag, seed):
    T = np.zeros((4, 4))
    T[0, 0] = 1.0
    Ra = special_ortho_group.rvs(3, random_state=seed)
    Rb = special_ortho_group.rvs(3, random_state=seed + 100)
    T[1:, 1:] = Ra @ np.diag(diag) @ Rb.T
    return T


@pytest.mark.parametrize("n", [3, 6, 8])
def test_werner_certified_within_polyhedron_resolution_never_above_half(n):
    _, r = measurement_polyhedron(n)
    cert = lhs_certificate(_werner(1.0), n)
    # Werner: the family v rho + (1 - v)/4 is the Werner family, critical v = 1/2.
    assert r / 2 - 1e-6 <= cert.certified_visibility <= 0.5 + 1e-9
    assert cert.model_error < 1e-9
    for V in (0.3, r / 2 - 1e-3, 0.45, 0.5, 0.501, 0.55, 0.7):
        c = lhs_certificate(_werner(V), n)
        if c.local:
            assert V <= 0.5 + 1e-9
        if V <= r / 2 - 1e-4:
            assert c.local
    assert lhs_certificate(_werner(0.501), n).local is False


@pytest.mark.parametrize("seed,diag", [(1, (-0.7, -0.5, -0.3)), (2, (-0.9, 0.1, 0.05)),
                                       (3, (0.4, -0.4, 0.35))])
def test_t_states_agree_with_exact_jevtic_integral(seed, diag):
    T = _t_state(diag, seed)
    exact = 1.0 / (2.0 * jevtic_integral(T))      # critical white-noise visibility
    cert = lhs_certificate(_eff_T(T), 6)
    r = cert.shrinking_factor
    assert r * exact - 1e-5 <= cert.certified_visibility <= exact + 1e-9
    # The flag agrees with the exact criterion whenever the polyhedron resolves it.
    value, method, unsteerable = steering(T)
    assert method == "t-state"
    if cert.local:
        assert unsteerable


def test_general_state_where_bowles_is_inconclusive_is_certified():
    T = np.zeros((4, 4))
    T[0, 0] = 1.0
    T[1:, 1:] = np.diag([-0.55, -0.35, -0.2])
    T[3, 0], T[0, 3] = 0.15, -0.1                  # non-zero Bloch vectors: not a T-state
    eff = _eff_T(T)
    assert not ppt(rho_from_T(T))                  # entangled
    value, method, unsteerable = steering(T)
    assert method == "bowles" and not unsteerable and value > 1.05
    cert = lhs_certificate(eff, 6)
    assert cert.local and cert.certified_visibility > 1.05
    assert cert.model_error < 1e-9


def test_nothing_certified_violates_chsh_on_random_states():
    rng = np.random.default_rng(4)
    n_local = 0
    for i in range(16):
        G = rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))
        rho = G @ G.conj().T
        rho /= np.trace(rho).real
        p = rng.uniform(0.2, 1.0)
        rho = p * rho + (1 - p) * np.eye(4) / 4
        T = T_from_rho(rho)
        noise = "white" if i % 2 == 0 else "marginal"
        cert = lhs_certificate(_eff_T(T), 4 + i % 3, noise=noise)
        # Both families keep the correlation block v T[1:, 1:]: the certified
        # state's CHSH value is v * chsh_max(T) and may never exceed 2.
        assert cert.certified_visibility * chsh_max(T) <= 2.0 + 1e-9
        n_local += cert.local
        if cert.local:
            assert chsh_max(T) <= 2.0 + 1e-9
    assert n_local >= 3                            # the check is not vacuous


def test_repair_makes_a_perturbed_solver_model_exact():
    """The certificate never trusts the solver: a wrong model gets shrunk, not granted."""
    n = 6
    axes, r = measurement_polyhedron(n)
    T = T_from_rho(werner_state(1.0))
    TN = np.zeros((4, 4))
    TN[0, 0] = 1.0
    P0, P1, b0, b1 = lhs_mod._targets(T, TN, axes, r)
    v_s, S, _ = lhs_mod._solve(P0, P1, b0, b1, n, 2.0, None)
    rng = np.random.default_rng(0)
    S_bad = S + 1e-3 * rng.standard_normal(S.shape) / 2**n
    v_c, residual, err = lhs_mod._repair(S_bad, v_s, P0, P1, b0, b1, TN[0], n)
    assert residual > 1e-5
    assert 0 < v_c < v_s
    assert v_c <= 0.5 + 1e-9 and err < 1e-9


def test_result_fields_and_json():
    cert = lhs_certificate(_werner(0.4), 6, direction="A->B")
    assert isinstance(cert, LHSCertificate)
    d = json.loads(json.dumps(cert.to_dict()))
    assert d["n_directions"] == 6 and d["direction"] == "A->B" and d["noise"] == "white"
    assert d["local"] is True and set(d["visibilities"]) == {"A->B"}
    # Icosahedron: inradius / circumradius = sqrt(3) (3 + sqrt 5) / (3 sqrt(10 + 2 sqrt 5)).
    r_ico = math.sqrt(3) * (3 + math.sqrt(5)) / (3 * math.sqrt(10 + 2 * math.sqrt(5)))
    assert d["shrinking_factor"] == pytest.approx(r_ico, abs=1e-9)
    axes, r = measurement_polyhedron(3)
    assert np.allclose(np.abs(axes), np.eye(3)) and r == pytest.approx(1 / math.sqrt(3), abs=1e-12)


def test_bad_input_is_refused():
    eff = _werner(0.4)
    with pytest.raises(ValueError, match="n_directions"):
        lhs_certificate(eff, 13)
    with pytest.raises(ValueError, match="n_directions"):
        lhs_certificate(eff, 2)
    with pytest.raises(ValueError, match="noise"):
        lhs_certificate(eff, noise="pink")
    with pytest.raises(ValueError, match="direction"):
        lhs_certificate(eff, direction="A<-B")
    with pytest.raises(ValueError, match="unit"):
        lhs_certificate(eff, axes=2 * np.eye(3))
    with pytest.raises(ValueError, match="span"):
        lhs_certificate(eff, axes=[[1, 0, 0], [0, 1, 0], [math.sqrt(0.5), math.sqrt(0.5), 0]])
    T3 = T_from_rho(np.eye(8) / 8)
    with pytest.raises(ValueError, match="two-qubit"):
        lhs_certificate(EffectiveState(T=T3, sizes=(1, 1, 1)))
    with pytest.raises(ValueError, match="two-qubit"):
        lhs_certificate(T_from_rho(werner_state(0.3)))


@pytest.mark.slow
def test_werner_fine_polyhedron():
    _, r = measurement_polyhedron(12)
    cert = lhs_certificate(_werner(1.0), 12)
    assert r / 2 - 1e-6 <= cert.certified_visibility <= 0.5 + 1e-9
    assert cert.certified_visibility > 0.44
