"""TeNPy interop: from_tenpy / to_tenpy (issue 13), checked against TeNPy's own expectation values
and against macrobell's exact diagonalisation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import macrobell.lattice as lat
import macrobell.observables as ob
import macrobell.tn as tn

tenpy = pytest.importorskip("tenpy")
from tenpy.algorithms import dmrg  # noqa: E402
from tenpy.models.xxz_chain import XXZChain  # noqa: E402
from tenpy.networks.mps import MPS  # noqa: E402
from tenpy.networks.purification_mps import PurificationMPS  # noqa: E402

N = 6


def _tenpy_ground(conserve, hz=0.0, Delta=0.5):
    M = XXZChain({"L": N, "Jxx": 1.0, "Jz": Delta, "hz": hz, "bc_MPS": "finite", "conserve": conserve})
    psi = MPS.from_product_state(M.lat.mps_sites(), ["up", "down"] * (N // 2), bc="finite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = dmrg.run(psi, M, {"trunc_params": {"chi_max": 32, "svd_min": 1e-12}, "max_sweeps": 20,
                                 "mixer": conserve is not None})
    return psi, info["E"]


@pytest.mark.parametrize("conserve", [None, "Sz"])  # Sz-conserving sites sort their basis: down first
def test_from_tenpy_matches_tenpy_expectations_and_exact_energy(conserve):
    psi, e_tenpy = _tenpy_ground(conserve, hz=0.0)
    chain = lat.chain(N)
    model = lat.heisenberg(chain, Delta=0.5)  # J Σ (SxSx + SySy + Δ SzSz), spin-1/2 operators: TeNPy's XXZChain
    st = tn.from_tenpy(psi, chain, model=model)
    assert isinstance(st, tn.MPSState) and not st.purified
    e_exact = tn.ground_state(model, method="exact").energy
    assert st.energy == pytest.approx(e_tenpy, abs=1e-8) and st.energy == pytest.approx(e_exact, abs=1e-7)
    C = ob.pair_correlations(st)
    zz = psi.correlation_function("Sz", "Sz")
    np.testing.assert_allclose(C[:, :, 3, 3] / 4, zz, atol=1e-8)
    assert st.diagnostics.extra["method"] == "from_tenpy"


def test_field_sign_survives_a_sorted_basis():
    # A magnetised state tells up from down: a swapped basis would flip every <Sz>.
    for conserve in (None, "Sz"):
        M = XXZChain({"L": N, "Jxx": 1.0, "Jz": 1.0, "hz": 0.0, "bc_MPS": "finite", "conserve": conserve})
        up = MPS.from_product_state(M.lat.mps_sites(), ["up", "up", "down", "up", "up", "up"], bc="finite")
        C = ob.pair_correlations(tn.from_tenpy(up, lat.chain(N)))
        np.testing.assert_allclose(C[np.arange(N), np.arange(N), 0, 3], [1, 1, -1, 1, 1, 1], atol=1e-12)


def test_round_trip_mps_and_purification():
    chain = lat.chain(N)
    model = lat.heisenberg(chain)
    gs = tn.ground_state(model, method="dmrg", bond_dim=16, seed=2)
    back = tn.from_tenpy(tn.to_tenpy(gs), chain, model=model)
    assert back.energy == pytest.approx(gs.energy, abs=1e-10)
    np.testing.assert_allclose(ob.pair_correlations(back), ob.pair_correlations(gs), atol=1e-10)

    (th,) = tn.thermal_states(model, [1.0], method="purification", bond_dim=16)
    tp = tn.to_tenpy(th)
    assert isinstance(tp, PurificationMPS)
    zz = tp.correlation_function("Sz", "Sz")  # TeNPy traces the ancilla itself: an independent ρ
    C = ob.pair_correlations(th)
    np.testing.assert_allclose(C[:, :, 3, 3] / 4, zz, atol=1e-10)
    back = tn.from_tenpy(tp, chain, model=model)
    assert back.purified and back.energy == pytest.approx(th.energy, abs=1e-10)
    exact = tn.thermal_states(model, [1.0], method="exact")[0]
    np.testing.assert_allclose(ob.pair_correlations(back), ob.pair_correlations(exact), atol=1e-3)


def test_tenpy_infinite_temperature_purification_is_maximally_mixed():
    sites = XXZChain({"L": N, "bc_MPS": "finite", "conserve": "Sz"}).lat.mps_sites()
    st = tn.from_tenpy(PurificationMPS.from_infiniteT(sites, bc="finite"), lat.chain(N))
    C = ob.pair_correlations(st)
    off = C.copy()
    for i in range(N):
        off[i, i] = 0
    assert np.abs(off[:, :, 1:, 1:]).max() < 1e-12 and np.abs(C[np.arange(N), np.arange(N), 0, 1:]).max() < 1e-12


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="tenpy MPS"):
        tn.from_tenpy(object(), lat.chain(N))
    psi, _ = _tenpy_ground(None)
    with pytest.raises(ValueError, match="length 6 but the lattice has 8"):
        tn.from_tenpy(psi, lat.chain(8))
    with pytest.raises(ValueError, match="MPSState"):
        tn.to_tenpy(tn.ground_state(lat.heisenberg(lat.chain(4)), method="exact"))
