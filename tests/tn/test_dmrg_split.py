"""The dense and U(1) DMRG engines share one stopping rule, one set of checks and one record.

After the split of ``tn/dmrg.py`` into ``_dmrg_common`` / ``_dmrg_manifold`` / ``_dmrg_u1_search``:
both engines are held to the same claims, each checked against what it bounds (the recorded energies,
an exact-diagonalisation energy), and the warnings still point at the caller's line (the helpers moved one
frame deeper).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import macrobell as mb
from macrobell.tn import dmrg
from macrobell.tn.dmrg import ConvergenceWarning, dmrg_ground_state

ENGINES = [pytest.param("none", id="dense"),
           pytest.param("Sz", id="u1", marks=pytest.mark.skipif(not mb.tn._dmrg_u1.engine_available(),
                                                                 reason="TeNPy missing"))]
ENGINE_NAME = {"none": "quimb", "Sz": "tenpy-u1"}


@pytest.mark.parametrize("conserve", ENGINES)
def test_stopped_by_tolerance_is_the_first_half_sweep_the_rule_allows(conserve):
    model = mb.lattice.heisenberg(mb.lattice.chain(10))
    tol = 1e-10
    st = dmrg_ground_state(model, bond_dim=32, tol=tol, seed=1, degenerate="ignore", conserve=conserve)
    info = st.info
    assert info["engine"] == ENGINE_NAME[conserve]
    e, n_sched = info["energies"], 3  # the schedule 16, 16, 32
    assert info["stopped_by"] == "tolerance" and st.diagnostics.converged
    assert info["bond_dims"] == [16, 16] + [32] * (len(e) - 2)
    # the rule: from the 4th half sweep (two at the final bond) on, |E_h - E_{h-1}| < tol N; it ends the run
    # at the first half sweep that satisfies it
    met = [h for h in range(n_sched, len(e)) if abs(e[h] - e[h - 1]) < tol * model.n_sites]
    assert met == [len(e) - 1]
    exact = float(spla.eigsh(model.to_sparse(), k=1, which="SA")[0][0])
    assert st.energy == pytest.approx(exact, abs=1e-8)
    # the record both engines fill alike
    assert info["sweeps"] == st.diagnostics.n_sweeps == len(e)
    assert st.diagnostics.discarded_weight >= info["max_discarded_weight"] >= 0.0  # the sum over the splits
    assert info["discarded_weights"][-1] == pytest.approx(st.diagnostics.discarded_weight)


def _caller_line_warnings(**kw):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        st = dmrg_ground_state(**kw)
    return st, [w for w in rec if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("conserve", ENGINES)
def test_convergence_warnings_point_at_the_caller(conserve):
    model = mb.lattice.heisenberg(mb.lattice.chain(10))
    st, rec = _caller_line_warnings(model=model, bond_dim=64, max_sweeps=3, seed=1, degenerate="ignore",
                                    conserve=conserve)
    assert not st.diagnostics.converged and st.info["stopped_by"] == "max_sweeps"
    assert len(rec) == 1 and "max_sweeps=3" in str(rec[0].message)
    assert rec[0].filename == __file__
    assert list(st.diagnostics.warnings) == [str(rec[0].message)]


@pytest.mark.parametrize("conserve", ENGINES)
def test_degenerate_warning_points_at_the_caller_and_matches_exact(conserve):
    # the odd SU(2) chain: a doublet ground manifold (S = 1/2, S^z = ±1/2)
    model = mb.lattice.heisenberg(mb.lattice.chain(5))
    st, rec = _caller_line_warnings(model=model, bond_dim=32, seed=2, conserve=conserve)
    w = [r for r in rec if "degenerate ground manifold" in str(r.message)]
    assert len(w) == 1 and w[0].filename == __file__
    evals = np.linalg.eigvalsh(model.to_sparse().toarray())
    assert st.info["ground_manifold_dim"] == int(np.sum(evals < evals[0] + 1e-6)) == 2
    # an upper estimate of the gap above the doublet (capped at the penalty on the dense path)
    assert st.info["gap"] >= min(evals[2] - evals[0], dmrg.GAP_PENALTY) - 1e-8


def test_old_names_stay_importable_from_dmrg():
    for name in dmrg.__all__ + ["MAX_MANIFOLD", "_GAP_SWEEPS", "_GAP_REFINE_SWEEPS", "_schedule", "_warn",
                                "_mixture", "_ground_manifold", "_penalised_dmrg", "_overlap", "_TruncationLog"]:
        assert hasattr(dmrg, name), name
    assert dmrg._schedule(64, True) == [16, 16, 32, 32, 64] and dmrg._schedule(64, False) == [64]


def test_random_partner_start_of_a_1000_site_chain_is_finite_and_normalised():
    # the penalised-DMRG partner search starts from a random MPS; its right-canonical QR sweep carried the
    # growing norm of 1000 unnormalised random tensors into inf/nan before R was rescaled
    from macrobell.tn._dmrg_manifold import _random_arrays
    from macrobell.tn.state import _right_canonical

    arrays = _random_arrays(1000, 64, np.random.default_rng(0), np.float64)
    assert all(np.isfinite(a).all() for a in arrays)
    assert np.isclose(np.linalg.norm(arrays[0]), 1.0)
    # the same state as without rescaling, on a chain short enough not to overflow
    rng = np.random.default_rng(1)
    raw = [rng.standard_normal((1 if k == 0 else 4, 2, 1 if k == 5 else 4)) for k in range(6)]
    psi = _right_canonical(raw)
    dense = lambda a: np.einsum("aib,bjc,ckd,dle,emf,fng->ijklmn", *a).ravel()
    v = dense(raw)
    assert np.allclose(dense(psi), v / np.linalg.norm(v), atol=1e-12)
