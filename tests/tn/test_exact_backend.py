"""Exact backend: ground states, degeneracies, thermal states, from_dense, memory guard.

Oracles: the docs/physics.md table (Heisenberg rings, 4×4 torus), analytic
values (ferromagnetic manifolds), and brute force on small N (dense
``eigvalsh``, ``expm``).
"""

import time

import numpy as np
import pytest
import scipy.linalg as sla

from macrobell import lattice as ml

import macrobell as mb
from macrobell.lattice import Field, SpinModel, chain, heisenberg, square
from macrobell.tn.exact import (ExactTooLargeError, check_exact_memory, estimate_exact_memory,
                                exact_ground_state, exact_thermal_states)

# docs/physics.md, "Reference values": periodic Heisenberg rings, S = σ/2
RINGS = {
    4: (-2.0, -0.5, 0.25),
    6: (-2.8027756377, -0.4671292730, 0.2080125736),
    8: (-3.6510934089, -0.4563866761, 0.1957779040),
    10: (-4.5154463545, -0.4515446354, 0.1905499793),
    12: (-5.3873909174, -0.4489492431, 0.1878327853),
    16: (-7.1422963606, -0.4463935225, 0.1852243813),
}


def s_dot_s(C, i, j):
    """<S_i·S_j> from Pauli correlators: (C_xx + C_yy + C_zz)/4."""
    return (C[i, j, 1, 1] + C[i, j, 2, 2] + C[i, j, 3, 3]) / 4


def s_tot_squared(C):
    n = C.shape[0]
    return sum(s_dot_s(C, i, j) for i in range(n) for j in range(n))


@pytest.mark.parametrize("n", [pytest.param(n, id=f"ring{n}") for n in RINGS])
def test_ring_ground_state_references(n):
    E0, ss1, ss2 = RINGS[n]
    gs = mb.tn.ground_state(heisenberg(chain(n, pbc=True)), method="exact")
    assert gs.energy == pytest.approx(E0, abs=1e-9)
    assert gs.temperature == 0 and gs.info["method"] == "exact" and gs.info["converged"]
    assert gs.info["degeneracy"] == 1 and not gs.info["mixed"] and gs.is_pure
    assert gs.info["gap"] > 0.1 and gs.info["n_sites"] == n and gs.info["dim"] == 2**n
    C = mb.observables.pair_correlations(gs)
    # every bond of the ring is equivalent (translation invariance)
    for i in range(n):
        assert s_dot_s(C, i, (i + 1) % n) == pytest.approx(ss1, abs=1e-9)
        assert s_dot_s(C, i, (i + 2) % n) == pytest.approx(ss2, abs=1e-9)
    assert n * ss1 == pytest.approx(E0, abs=1e-9)


def test_square_4x4_torus():
    # ~3.5 s on one idle core (Lanczos on 2^16 states, 32 bonds, plus the deflation check)
    gs = mb.tn.ground_state(heisenberg(square(4, 4, pbc_x=True, pbc_y=True)), method="exact")
    assert gs.energy == pytest.approx(-11.2284832084, abs=1e-9)
    assert gs.info["degeneracy"] == 1


def test_ferromagnet_4_sites_mixture():
    """J < 0 chain: the S = 2 multiplet (5 states) is the ground manifold; the mixture has <S_tot²> = 6."""
    model = heisenberg(chain(4), J=-1.0)
    gs = mb.tn.ground_state(model, method="exact")
    assert gs.info["degeneracy"] == 5 and gs.info["mixed"] and not gs.is_pure
    assert "degenerate" in gs.info["note"]
    assert gs.energy == pytest.approx(-0.75, abs=1e-12)
    rho = gs.rho
    assert np.trace(rho) == pytest.approx(1.0)
    assert np.trace(rho @ rho).real == pytest.approx(1 / 5)  # a rank-5 projector / 5
    C = mb.observables.pair_correlations(gs)
    assert s_tot_squared(C) == pytest.approx(6.0, abs=1e-10)
    # brute force: the projector onto the lowest eigenvalue's eigenspace
    e, v = np.linalg.eigh(model.to_sparse().toarray())
    P = v[:, e < e[0] + 1e-8]
    assert np.allclose(rho, P @ P.conj().T / 5, atol=1e-12)


def test_ferromagnet_lanczos_degeneracy():
    """N = 11 > the full-diagonalisation size: Lanczos + deflation must find all N+1 states."""
    n = 11
    gs = mb.tn.ground_state(heisenberg(chain(n), J=-1.0), method="exact")
    assert gs.info["solver"] == "lanczos"
    assert gs.info["degeneracy"] == n + 1
    assert gs.energy == pytest.approx(-(n - 1) / 4, abs=1e-10)
    assert np.trace(gs.rho @ gs.rho).real == pytest.approx(1 / (n + 1), abs=1e-10)
    C = mb.observables.pair_correlations(gs)
    S = n / 2
    assert s_tot_squared(C) == pytest.approx(S * (S + 1), abs=1e-8)


def test_odd_ring_lanczos_degeneracy(monkeypatch):
    # force the Lanczos path on a small ring, where dense eigvalsh is a cheap oracle
    monkeypatch.setattr(mb.tn.exact, "FULL_DIAG_MAX_DIM", 16)
    model = heisenberg(chain(9, pbc=True))
    gs = mb.tn.ground_state(model, method="exact")
    H = model.to_sparse().toarray()
    e = np.linalg.eigvalsh(H)
    g = int((e < e[0] + 1e-8).sum())
    assert g == 4  # two S = 1/2 doublets at momenta ±k
    assert gs.info["degeneracy"] == g and gs.info["solver"] == "lanczos"
    assert gs.energy == pytest.approx(e[0], abs=1e-10)
    assert gs.info["gap"] == pytest.approx(e[g] - e[0], abs=1e-8)
    rho = gs.rho
    assert np.allclose(H @ rho, e[0] * rho, atol=1e-9)  # inside the ground eigenspace
    assert np.trace(rho @ rho).real == pytest.approx(1 / g, abs=1e-10)


@pytest.mark.parametrize("n,full_max", [pytest.param(6, 1024, id="full"), pytest.param(8, 16, id="lanczos")])
def test_complex_hamiltonian(n, full_max, monkeypatch):
    monkeypatch.setattr(mb.tn.exact, "FULL_DIAG_MAX_DIM", full_max)
    lat = chain(n)
    base = heisenberg(lat, Delta=0.7)
    model = SpinModel(lat, base.terms, (Field(0.3, "y", np.arange(n)), Field(0.1, "x", [0])), "custom")
    assert not model.is_real
    gs = exact_ground_state(model)
    assert gs.info["solver"] == ("full" if 2**n <= full_max else "lanczos")
    e = np.linalg.eigvalsh(model.to_sparse().toarray())
    assert gs.energy == pytest.approx(e[0], abs=1e-10)
    assert np.vdot(gs.vector, model.to_sparse() @ gs.vector).real == pytest.approx(e[0], abs=1e-10)


# ---------------------------------------------------------------- thermal states

def brute_thermal(model, T):
    H = model.to_sparse().toarray()
    rho = sla.expm(-H / T)
    Z = np.trace(rho).real
    return rho / Z, H, Z


def test_thermal_against_expm_and_order():
    model = heisenberg(chain(6, pbc=True))
    temps = [1.0, 0.0, 2.0, 0.25]
    states = mb.tn.thermal_states(model, temps, method="exact")
    assert [s.temperature for s in states] == temps
    for s in states:
        assert s.info["method"] == "exact" and s.info["mixed"] == (s.temperature > 0) and s.rho.shape == (64, 64)
        assert np.trace(s.rho) == pytest.approx(1.0)
        if s.temperature == 0:
            continue
        rho, H, Z = brute_thermal(model, s.temperature)
        assert np.allclose(s.rho, rho, atol=1e-12)
        assert s.energy == pytest.approx(np.trace(rho @ H).real, abs=1e-10)
        E0 = np.linalg.eigvalsh(H)[0]
        assert s.info["beta"] == pytest.approx(1 / s.temperature)
        assert s.info["free_energy"] == pytest.approx(-s.temperature * np.log(Z), abs=1e-10)
        evals = np.linalg.eigvalsh(rho)
        evals = evals[evals > 1e-300]
        assert s.info["entropy"] == pytest.approx(-(evals * np.log(evals)).sum(), abs=1e-8)
        assert s.energy > E0


def test_thermal_zero_is_ground_state():
    model = heisenberg(chain(6, pbc=True))
    (th0,) = mb.tn.thermal_states(model, [0.0], method="exact")
    gs = mb.tn.ground_state(model, method="exact")
    assert np.allclose(th0.rho, np.outer(gs.vector, gs.vector.conj()), atol=1e-10)
    assert th0.energy == pytest.approx(gs.energy, abs=1e-12)
    # degenerate: T = 0 is the ground-manifold mixture, as ground_state gives it
    ferro = heisenberg(chain(4), J=-1.0)
    (th0,) = mb.tn.thermal_states(ferro, [0.0], method="exact")
    assert th0.info["degeneracy"] == 5
    assert np.allclose(th0.rho, mb.tn.ground_state(ferro).rho, atol=1e-12)
    assert th0.info["entropy"] == pytest.approx(np.log(5))


def test_thermal_high_T_and_monotone_energy():
    model = heisenberg(chain(5), Delta=0.5, h=0.2)
    temps = [0.05, 0.1, 0.3, 0.7, 1.5, 4.0, 20.0, 1e12]
    states = exact_thermal_states(model, temps)
    energies = [s.energy for s in states]
    assert all(a < b for a, b in zip(energies, energies[1:]))
    assert np.allclose(states[-1].rho, np.eye(32) / 32, atol=1e-10)  # T → ∞: maximally mixed
    assert states[-1].info["entropy"] == pytest.approx(5 * np.log(2), abs=1e-8)


# ---------------------------------------------------------------- from_dense

def test_from_dense_normalises_and_computes_energy():
    lat = chain(3)
    model = heisenberg(lat)
    psi = np.zeros(8)
    psi[0b010] = 3.0  # |↑↓↑>: two antiparallel bonds, <H> = -1/4 - 1/4
    st = mb.tn.from_dense(psi, lat, model=model)
    assert np.linalg.norm(st.vector) == pytest.approx(1.0)
    assert st.energy == pytest.approx(-0.5)
    rho = 2.5 * np.outer(psi, psi) / 9
    st = mb.tn.from_dense(rho, lat, model=model)
    assert np.trace(st.rho) == pytest.approx(1.0) and st.energy == pytest.approx(-0.5)
    st = mb.tn.from_dense(np.eye(8), lat)
    assert np.allclose(st.rho, np.eye(8) / 8)


@pytest.mark.parametrize("array,match", [
    pytest.param(np.ones(7), r"length 2\^3 = 8 or a 8x8.*got shape \(7,\)", id="wrong-length"),
    pytest.param(np.ones(16), "got shape", id="too-long"),
    pytest.param(np.ones((8, 4)), r"got shape \(8, 4\)", id="not-square"),
    pytest.param(np.ones((2, 2, 2)), "got shape", id="3d"),
    pytest.param(np.zeros(8), "zero norm", id="zero-vector"),
    pytest.param(np.full(8, np.nan), "non-finite", id="nan"),
    pytest.param(np.array(["a"] * 8), "numeric", id="strings"),
    pytest.param(np.triu(np.ones((8, 8))), "not Hermitian", id="non-hermitian"),
    pytest.param(np.diag([1.5, -0.5, 0, 0, 0, 0, 0, 0]), "not positive semi-definite", id="non-psd"),
    pytest.param(np.zeros((8, 8)), "trace", id="zero-trace"),
])
def test_from_dense_bad_input(array, match):
    with pytest.raises(ValueError, match=match):
        mb.tn.from_dense(array, chain(3))


def test_from_dense_model_size_mismatch():
    with pytest.raises(ValueError, match="sites"):
        mb.tn.from_dense(np.ones(8), chain(3), model=heisenberg(chain(4)))


# ---------------------------------------------------------------- bad requests

def test_negative_temperature():
    with pytest.raises(ValueError, match=">= 0"):
        mb.tn.thermal_states(heisenberg(chain(4)), [1.0, -0.5], method="exact")
    with pytest.raises(ValueError, match="empty"):
        mb.tn.thermal_states(heisenberg(chain(4)), [], method="exact")


def test_unknown_method_and_options():
    model = heisenberg(chain(4))
    with pytest.raises(ValueError, match="unknown method"):
        mb.tn.ground_state(model, method="lanczoss")
    with pytest.raises(ValueError, match=r"unknown option.*bond_dim.*allowed.*degeneracy_tol"):
        mb.tn.ground_state(model, method="exact", bond_dim=16)
    with pytest.raises(ValueError, match="unknown option"):
        mb.tn.thermal_states(model, [1.0], method="exact", dtau=0.1)
    with pytest.raises(ValueError, match="tol"):
        mb.tn.ground_state(model, method="exact", tol=-1)


def test_too_large_refused_before_allocating():
    t0 = time.perf_counter()
    with pytest.raises(ExactTooLargeError, match=r"N=40.*limit.*dmrg"):
        mb.tn.ground_state(heisenberg(chain(40)), method="exact")
    with pytest.raises(ValueError, match=r"N=40.*purification"):
        mb.tn.thermal_states(heisenberg(chain(40)), [1.0], method="exact")
    assert time.perf_counter() - t0 < 1.0
    with pytest.raises(ExactTooLargeError, match="limit"):
        mb.tn.ground_state(heisenberg(chain(12)), method="exact", max_memory_gb=0.0001)  # the S^z-sector estimate is ~0.8 MB
    with pytest.raises(ExactTooLargeError):
        check_exact_memory(20, "density")  # 16 TiB


def test_memory_limit_environment(monkeypatch):
    monkeypatch.setenv("MACROBELL_MAX_MEMORY_GB", "0.001")  # sector estimate ~3 MB
    with pytest.raises(ExactTooLargeError, match="N=14"):
        exact_ground_state(heisenberg(chain(14)))
    assert check_exact_memory(6, "full") > 0  # small requests still fit
    monkeypatch.setenv("MACROBELL_MAX_MEMORY_GB", "lots")
    with pytest.raises(ValueError, match="MACROBELL_MAX_MEMORY_GB"):
        check_exact_memory(6, "full")


def test_memory_estimates():
    with pytest.raises(ValueError, match="unknown kind"):
        check_exact_memory(4, "magic")
    for kind in ("sparse", "lanczos", "full", "density", "vector"):
        assert estimate_exact_memory(12, kind) < estimate_exact_memory(13, kind)
    # a 2^12 x 2^12 complex density matrix alone is 256 MiB
    assert estimate_exact_memory(12, "density", is_complex=True) >= 2**28


@pytest.mark.parametrize("make, sectors", [
    pytest.param(lambda: ml.heisenberg(ml.chain(6, pbc=True), Delta=0.6, h=0.3), 7, id="xxz-field-sectors"),
    pytest.param(lambda: ml.xyz(ml.chain(6), Jx=1.0, Jy=0.4, Jz=0.2), 1, id="xyz-no-sectors"),
    pytest.param(lambda: ml.tfim(ml.chain(6), J=1.0, g=0.8), 1, id="tfim-no-sectors"),
])
def test_thermal_sector_decomposition_matches_expm(make, sectors):
    model = make()
    H = model.to_sparse().toarray()
    (st,) = exact_thermal_states(model, [0.7])
    assert st.info["sz_sectors"] == sectors
    rho = sla.expm(-H / 0.7)
    np.testing.assert_allclose(st.rho, rho / np.trace(rho), atol=1e-12)
