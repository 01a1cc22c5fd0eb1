"""DMRG stopping rule: a per-site energy tolerance and ``info["stopped_by"]`` (issue 12)."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import macrobell as mb
from macrobell.tn.dmrg import ConvergenceWarning, dmrg_ground_state


def _lanczos_energy(model):
    # an independent oracle: ARPACK on the sparse Hamiltonian
    return float(spla.eigsh(model.to_sparse(), k=1, which="SA")[0][0])


def test_stopped_by_tolerance_is_true_when_it_says_so():
    model = mb.lattice.heisenberg(mb.lattice.chain(10))
    tol = 1e-10
    st = dmrg_ground_state(model, bond_dim=32, tol=tol, seed=1, degenerate="ignore")
    info = st.info
    assert info["stopped_by"] == "tolerance" and st.diagnostics.converged
    assert info["tol"] == tol and info["tol_total"] == pytest.approx(tol * 10)
    e = info["energies"]
    assert abs(e[-1] - e[-2]) < tol * model.n_sites  # the rule that was claimed to stop it
    # chi = 32 is exact for 10 sites: the per-site tolerance still gives the exact energy
    assert st.energy == pytest.approx(_lanczos_energy(model), abs=1e-8)


def test_stopped_by_max_sweeps_when_schedule_ends_first():
    model = mb.lattice.heisenberg(mb.lattice.chain(10))
    # ramp 16 -> 32 -> 64: the tolerance can be tested only from the 4th half sweep on
    with pytest.warns(ConvergenceWarning, match="max_sweeps=3"):
        st = dmrg_ground_state(model, bond_dim=64, max_sweeps=3, seed=1, degenerate="ignore")
    assert st.info["stopped_by"] == "max_sweeps"
    assert not st.diagnostics.converged
    assert st.info["sweeps"] == 3


def test_tolerance_is_per_site():
    # The same per-site tol on a longer chain admits a proportionally larger total change.
    model = mb.lattice.heisenberg(mb.lattice.chain(24))
    st = dmrg_ground_state(model, bond_dim=32, tol=1e-7, seed=3, degenerate="ignore")
    assert st.info["tol_total"] == pytest.approx(24e-7)
    e = st.info["energies"]
    assert st.info["stopped_by"] == "tolerance"
    assert abs(e[-1] - e[-2]) < 24e-7
    assert np.isfinite(st.energy)
