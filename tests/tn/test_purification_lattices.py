"""Purified thermal states of ladders and cylinders against exact diagonalisation (issue 12).

Oracle: ``thermal_states(..., method="exact")``. Default propagator (``"auto"`` = TEBD with swap gates; the W^II MPO propagator
is tested in ``test_mpo_evolution.py``), on lattices whose MPS order has long-range bonds. The 2 × 6 ladder and the
3 × 4 cylinder need large χ (4^6 = 4096 would be exact) and are ``slow``; 2 × 3 ladders (fields along z
and x) and the 3 × 2 J1–J2 cylinder run by default.
"""

import numpy as np
import pytest

import macrobell as mb
from macrobell.lattice import Partition
from macrobell.tn.purification import purification_thermal_states


@pytest.fixture(autouse=True)
def _one_blas_thread():
    from macrobell._threads import pin_threads  # called below the entry points that pin BLAS threads
    pin_threads()


def _errors(p, e):
    """max(|ΔE|/N, max |ΔT| over halves and sublattices) against the exact state."""
    lat = p.lattice
    d = abs(p.energy - e.energy) / lat.n_sites
    for part in [Partition.halves(lat)] + ([Partition.sublattices(lat)] if lat.bipartite else []):
        d = max(d, np.abs(mb.observables.effective_state(p, part).T - mb.observables.effective_state(e, part).T).max())
    return d


def _check(model, temps, tol, **opts):
    pur = purification_thermal_states(model, temps, **opts)
    ex = mb.tn.thermal_states(model, temps, method="exact")
    for p, e in zip(pur, ex):
        err = _errors(p, e)
        assert err < tol, (p.temperature, err)
        assert p.info["converged"] and err <= p.info["error_estimate"] + 1e-12, (p.temperature, err, p.info)


@pytest.mark.parametrize("make", [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.square(2, 3, pbc_y=True), J2=0.3), id="cylinder3x2-j2"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(3), h=0.4), id="ladder2x3-field-z"),
    pytest.param(lambda: mb.lattice.tfim(mb.lattice.ladder(3), J=1.0, g=0.8), id="ladder2x3-tfim-field-x"),
])
def test_small_ladders_and_cylinders_match_exact(make):
    _check(make(), [2.0, 1.0, 0.5], 1e-5, bond_dim=64)


@pytest.mark.slow
@pytest.mark.parametrize("make, chi, temps", [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(4)), 256, [2.0, 1.0, 0.5], id="ladder2x4"),
    # T = 0.5 needs χ > 128 (measured: 1.5e-5 at χ = 128)
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(6)), 128, [2.0, 1.0], id="ladder2x6"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.square(4, 3, pbc_y=True)), 128, [2.0],
                 id="cylinder3x4"),
])
def test_larger_ladders_and_cylinder_3x4_match_exact(make, chi, temps):
    _check(make(), temps, 1e-5, bond_dim=chi)
