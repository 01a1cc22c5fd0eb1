"""One Diagnostics record on every state: same fields for every backend, each the value it claims.

Oracles: dense linear algebra on the Hamiltonian (energies and variances recomputed from the state's
own vector / density matrix, the purification's ancillas traced out densely), numpy SVDs and quimb's
own truncation rule (discarded weights), the exact spectrum (Boltzmann weights dropped).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping

import numpy as np
import pytest

import macrobell as mb
from macrobell.data.compute import state_diagnostics
from macrobell.tn import ConvergenceWarning
from macrobell.tn.dmrg import _TruncationLog, dmrg_ground_state
from macrobell.tn.peps import peps_ground_state, peps_state_from_quimb
from macrobell.tn.purification import DEFAULT_CUTOFF, kept_count, purification_thermal_states
from macrobell.tn.state import DIAGNOSTICS_FIELDS, Diagnostics, MixtureState

OLD_STATE_KEYS = {"backend", "method", "energy", "truncation_error", "variance", "max_bond", "converged", "T",
                  "beta", "info"}


def _chain_model(n, **kw):
    return mb.lattice.heisenberg(mb.lattice.chain(n), **kw)


def _dense_H(model):
    return model.to_sparse().toarray()


def _rho_of(state):
    """The state's density matrix by dense linear algebra (no macrobell contraction code)."""
    if isinstance(state, MixtureState):
        return sum(p * _rho_of(c) for p, c in zip(state.weights, state.components))
    if state.backend == "exact":
        return state.density_matrix()
    if state.backend == "peps":
        v = np.asarray(state.peps.to_dense()).reshape(-1)
        return np.outer(v, v.conj()) / np.vdot(v, v).real
    n = state.n_sites
    v = np.asarray(state.mps.to_dense()).reshape(-1)
    if not state.purified:
        return np.outer(v, v.conj()) / np.vdot(v, v).real
    # s = 2p + a on every site: (p0, a0, p1, a1, ...) -> physical rows, ancilla columns; trace the ancillas
    m = v.reshape((2, 2) * n).transpose(list(range(0, 2 * n, 2)) + list(range(1, 2 * n, 2))).reshape(2**n, 2**n)
    rho = m @ m.conj().T
    return rho / np.trace(rho).real


def _moments(state):
    H = _dense_H(state.model)
    rho = _rho_of(state)
    e = np.trace(rho @ H).real
    return e, np.trace(rho @ H @ H).real - e**2


@pytest.fixture(scope="module")
def states():
    """One state of every backend (small, a few seconds in all)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _build_states()


def _build_states():
    m6 = _chain_model(6)
    m5 = _chain_model(5)  # odd open chain: a two-fold (S = 1/2) ground manifold
    out = {}
    out["exact-ground"] = mb.tn.ground_state(m6, method="exact")
    out["exact-ground-degenerate"] = mb.tn.ground_state(m5, method="exact")
    out["exact-thermal"], out["exact-thermal-cold"] = mb.tn.thermal_states(m6, [0.7, 0.02], method="exact")
    out["dmrg"] = mb.tn.ground_state(m6, method="dmrg", bond_dim=4, seed=1)  # truncating: exact needs 8
    out["dmrg-mixture"] = mb.tn.ground_state(m5, method="dmrg", bond_dim=16, seed=1, degenerate="mix")
    out["purification"], = purification_thermal_states(_chain_model(4, h=0.3), [0.8], bond_dim=8, dtau=0.1,
                                                       trotter_check=False)
    out["purification-T0"], = purification_thermal_states(m6, [0.0], bond_dim=16)
    sq = mb.lattice.heisenberg(mb.lattice.square(2, 2))
    out["peps"] = peps_ground_state(sq, bond_dim=2, steps=20, tau=(0.1, 0.03), seed=0)
    rng = np.random.default_rng(7)
    v = rng.standard_normal(2**6) + 1j * rng.standard_normal(2**6)
    out["from_dense-vector"] = mb.tn.from_dense(v, m6.lattice, m6)
    a = rng.standard_normal((2**5, 2**5))
    out["from_dense-rho"] = mb.tn.from_dense(a @ a.T, m5.lattice, m5)
    out["from_quimb-mps"] = mb.tn.from_quimb(mb.tn.dmrg.random_mps(6, 4, seed=3), m6.lattice, m6)
    out["from_quimb-peps"] = peps_state_from_quimb(out["peps"].peps, sq.lattice, sq)
    return out


ALL = ["exact-ground", "exact-ground-degenerate", "exact-thermal", "exact-thermal-cold", "dmrg", "dmrg-mixture",
       "purification", "purification-T0", "peps", "from_dense-vector", "from_dense-rho", "from_quimb-mps",
       "from_quimb-peps"]
DENSE_ORACLE = [k for k in ALL if not k.startswith("peps") and k != "from_quimb-peps"]


@pytest.mark.parametrize("key", ALL)
def test_every_backend_carries_the_same_record(states, key):
    st = states[key]
    d = st.diagnostics
    assert isinstance(d, Diagnostics)
    assert [f.name for f in dataclasses.fields(d)] == list(DIAGNOSTICS_FIELDS) + ["extra"]
    assert d.converged in (True, False)
    assert isinstance(d.energy, float) and isinstance(d.energy_variance, float)
    assert isinstance(d.discarded_weight, float) and isinstance(d.elapsed_s, float)
    assert d.max_bond is None or isinstance(d.max_bond, int)
    assert d.n_sweeps is None or isinstance(d.n_sweeps, int)
    assert isinstance(d.warnings, tuple) and isinstance(d.extra, Mapping)
    # info: read-only view with every field and every extra key, same values
    info = st.info
    assert isinstance(info, Mapping)
    with pytest.raises(TypeError):
        info["converged"] = False
    with pytest.raises(TypeError):
        d.extra["x"] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.converged = False
    for name in DIAGNOSTICS_FIELDS:
        got = info[name]
        want = getattr(d, name)
        assert got == list(want) if name == "warnings" else (got is want or got == want), name
    for k, v in d.extra.items():
        assert info[k] is v
    assert info["method"]  # every backend names itself


@pytest.mark.parametrize("key", ALL)
def test_energy_is_the_states_expectation_value(states, key):
    st = states[key]
    d = st.diagnostics
    assert d.energy == st.energy
    e, var = _moments(st)  # the PEPS 2x2 is contracted densely too
    assert d.energy == pytest.approx(e, abs=1e-8)


@pytest.mark.parametrize("key", DENSE_ORACLE)
def test_energy_variance_is_recomputed_from_the_state(states, key):
    st = states[key]
    e, var = _moments(st)
    assert st.diagnostics.energy_variance == pytest.approx(var, abs=1e-8)
    if key.startswith("exact-ground"):
        assert abs(var) < 1e-10  # an eigenstate (mixture)
    if key in ("dmrg", "from_dense-vector", "exact-thermal"):
        assert var > 1e-3  # a truncated or random state, a thermal state: a real spread, measured


def test_peps_variance_not_computed_and_discarded_weight_not_tracked(states):
    d = states["peps"].diagnostics
    assert math.isnan(d.energy_variance) and math.isnan(d.discarded_weight)
    assert d.n_sweeps == 20 * 2 and d.max_bond == states["peps"].peps.max_bond() <= 2


@pytest.mark.parametrize("key", ALL)
def test_max_bond_and_user_states(states, key):
    st = states[key]
    d = st.diagnostics
    if st.backend == "exact":
        assert d.max_bond is None and d.n_sweeps is None
    elif st.backend in ("mps", "mps-purification"):
        assert d.max_bond == st.mps.max_bond()
    elif st.backend == "peps":
        assert d.max_bond == st.peps.max_bond()
    if key.startswith("from_"):
        assert d.converged is True and d.n_sweeps is None and d.warnings == ()
        assert d.discarded_weight == 0.0


def test_exact_discarded_weight_is_the_dropped_boltzmann_weight(states):
    assert states["exact-ground"].diagnostics.discarded_weight == 0.0
    w = np.linalg.eigvalsh(_dense_H(_chain_model(6)))
    for key, T in (("exact-thermal", 0.7), ("exact-thermal-cold", 0.02)):
        p = np.exp(-(w - w.min()) / T)
        p /= p.sum()
        dropped = p[p <= 1e-17 * p.max()].sum()
        assert states[key].diagnostics.discarded_weight == pytest.approx(dropped, rel=1e-6, abs=1e-300)
    assert states["exact-thermal-cold"].diagnostics.discarded_weight > 0  # levels 40 T above E0 are dropped


def test_truncation_log_records_what_the_svd_discards():
    qtn = pytest.importorskip("quimb.tensor")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 10)) * np.logspace(0, -4, 10)
    x /= np.linalg.norm(x)
    s = np.linalg.svd(x, compute_uv=False)
    for max_bond, cutoff in ((4, 0.0), (10, 1e-6), (3, 1e-6)):
        log = _TruncationLog()
        t = qtn.Tensor(x, inds=("a", "b"))
        left, right = t.split(left_inds=["a"], get="arrays", max_bond=max_bond, cutoff=cutoff, cutoff_mode="sum2",
                              method="svd", absorb="right", info=log)
        keep = left.shape[1]
        assert log.weights == [pytest.approx(float(np.sum(s[keep:] ** 2)), rel=1e-10, abs=1e-30)]


def test_dmrg_discarded_weight_is_the_final_sweeps_truncation(states):
    d = states["dmrg"].diagnostics
    assert d.max_bond == 4 and d.discarded_weight > 1e-8
    info = states["dmrg"].info
    assert info["discarded_weights"][-1] == d.discarded_weight
    assert 0 < info["max_discarded_weight"] <= d.discarded_weight
    # nothing truncated (χ = 8 is exact for 6 sites, cutoff 0): exactly nothing discarded
    full = dmrg_ground_state(_chain_model(6), bond_dim=8, cutoff=0.0, seed=1, degenerate="ignore")
    assert full.diagnostics.discarded_weight == 0.0
    # DMRG1 never truncates
    one = dmrg_ground_state(_chain_model(6), bond_dim=8, seed=1, algorithm="dmrg1", degenerate="ignore")
    assert one.diagnostics.discarded_weight == 0.0


def test_dmrg_counts_sweeps_and_records_its_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = dmrg_ground_state(_chain_model(8), bond_dim=32, max_sweeps=2, seed=0, degenerate="ignore")
    d = st.diagnostics
    issued = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert d.converged is False and d.n_sweeps == 2 == len(st.info["energies"])
    assert list(d.warnings) == issued and len(issued) == 1 and "not converged" in issued[0]
    assert d.elapsed_s > 0


def test_mixture_record(states):
    mix = states["dmrg-mixture"]
    assert isinstance(mix, MixtureState) and len(mix.components) == 2
    for c in mix.components:
        e, var = _moments(c)
        assert c.diagnostics.energy == pytest.approx(e, abs=1e-8)
        assert c.diagnostics.energy_variance == pytest.approx(var, abs=1e-8)
    assert mix.diagnostics.discarded_weight == max(c.diagnostics.discarded_weight for c in mix.components)
    assert mix.diagnostics.energy == pytest.approx(states["exact-ground-degenerate"].energy, abs=1e-8)


def test_purification_record(states):
    st = states["purification"]
    d = st.diagnostics
    assert d.n_sweeps == st.info["n_steps"] == math.ceil(1 / 0.8 / 2 / 0.1 - 1e-9)
    assert d.discarded_weight == st.info["truncation_error"] == st.info["discarded_weight"]
    assert st.info["cutoff"] == DEFAULT_CUTOFF and st.info["cutoff_mode"] == "rsum2"
    assert d.converged == (st.info["error_estimate"] <= st.info["error_tol"])
    # T = 0 is the DMRG ground state, its own record
    assert states["purification-T0"].info["method"] == "dmrg"


def test_exact_lanczos_non_convergence_is_a_convergence_warning(monkeypatch):
    import scipy.sparse.linalg as spla

    real = spla.eigsh

    def failing(*args, **kwargs):
        e, v = real(*args, **kwargs)
        raise spla.ArpackNoConvergence("no convergence", e, v)

    monkeypatch.setattr(spla, "eigsh", failing)
    model = mb.lattice.heisenberg(mb.lattice.chain(11, pbc=True), h=0.05)  # 2048 states: Lanczos
    with pytest.warns(ConvergenceWarning) as record:
        st = mb.tn.exact.exact_ground_state(model)
    assert st.info["solver"] == "lanczos"
    assert st.diagnostics.converged is False
    assert set(st.diagnostics.warnings) == {str(w.message) for w in record}
    assert issubclass(ConvergenceWarning, RuntimeWarning) and issubclass(ConvergenceWarning, UserWarning)


# -- one meaning of cutoff ----------------------------------------------------------------------------------
def test_purification_truncation_rule_is_quimbs_discarded_weight_rule():
    from quimb.tensor.decomp import _compute_number_svals_to_keep_numba

    rng = np.random.default_rng(5)
    for _ in range(200):
        s = np.sort(np.abs(rng.standard_normal(30)) * np.logspace(0, rng.uniform(-8, -2), 30))[::-1]
        scale = rng.uniform(0.1, 10.0)
        eps = 10 ** rng.uniform(-10, -5)
        n = s / np.linalg.norm(s)
        # quimb mode 3 = "sum2" (DMRG's, on a normalised tensor), mode 4 = "rsum2" (relative)
        assert kept_count(n, eps) == _compute_number_svals_to_keep_numba(n, eps, 3)
        assert kept_count(s * scale, eps) == _compute_number_svals_to_keep_numba(s * scale, eps, 4)
        keep = kept_count(s, eps)
        assert np.sum(s[keep:] ** 2) <= eps * np.sum(s**2) < np.sum(s[keep - 1:] ** 2)
        assert kept_count(s, eps, max_bond=3) == min(keep, 3)
        assert kept_count(s, eps, mode="sv") == max(1, int(np.count_nonzero(s > eps * s[0])))


def test_same_cutoff_same_truncation_for_dmrg_and_purification():
    eps = 1e-6
    model = _chain_model(6)
    # bond dimensions above the exact ones (32 for 10 sites; 64 for the 6-site purification): the cutoff
    # alone truncates
    gs = dmrg_ground_state(_chain_model(10), bond_dim=64, cutoff=eps, seed=0, degenerate="ignore")
    with pytest.warns(ConvergenceWarning, match="error estimate"):  # 3 √w > error_tol: flagged, honestly
        th, = purification_thermal_states(model, [0.5], bond_dim=64, dtau=0.1, cutoff=eps, trotter_check=False)
    assert gs.diagnostics.max_bond < 32 and th.diagnostics.max_bond < 64
    for st in (gs, th):
        assert 0 < st.info["max_discarded_weight"] <= eps
    assert th.info["cutoff_mode"] == "rsum2" and th.info["cutoff"] == eps
    # the accumulated weight is at most eps per truncation
    assert 0 < th.diagnostics.discarded_weight <= eps * th.info["n_svd"]
    # a tighter cutoff discards less
    tight, = purification_thermal_states(model, [0.5], bond_dim=64, dtau=0.1, cutoff=1e-10, trotter_check=False)
    assert tight.diagnostics.discarded_weight < th.diagnostics.discarded_weight


@pytest.mark.filterwarnings("ignore::macrobell.tn.ConvergenceWarning")
def test_sv_cutoff_keeps_the_old_rule_with_a_deprecation_warning():
    model = _chain_model(4)
    with pytest.warns(DeprecationWarning, match="sv_cutoff"):
        st, = purification_thermal_states(model, [1.0], bond_dim=16, dtau=0.1, sv_cutoff=1e-3, trotter_check=False)
    assert st.info["cutoff_mode"] == "rel" and st.info["sv_cutoff"] == 1e-3
    with pytest.raises(ValueError, match="not both"):
        purification_thermal_states(model, [1.0], cutoff=1e-8, sv_cutoff=1e-3)
    with pytest.raises(ValueError, match="sv_cutoff"):
        purification_thermal_states(model, [1.0], sv_cutoff=0.1)
    with pytest.raises(ValueError, match=r"cutoff must be a finite number in \[0, 1e-05\]"):
        purification_thermal_states(model, [1.0], cutoff=1e-3)  # a former sv cutoff is no discarded weight


# -- info stays readable, assignments rebuild the record -----------------------------------------------------
def test_info_assignment_rebuilds_the_record(states):
    st = dataclasses.replace(states["dmrg"])
    assert st.diagnostics == states["dmrg"].diagnostics
    before = states["dmrg"].diagnostics.converged
    st.info = {**st.info, "converged": not before}
    assert st.diagnostics.converged is (not before) and st.info["converged"] is (not before)
    assert st.info["variance"] == st.diagnostics.energy_variance == states["dmrg"].diagnostics.energy_variance
    assert states["dmrg"].diagnostics.converged is before  # the copy's record only
    legacy = mb.tn.state.DenseState(st.lattice, info={"variance": 0.5, "truncation_error": 1e-7, "sweeps": 3})
    d = legacy.diagnostics
    assert (d.energy_variance, d.discarded_weight, d.n_sweeps, d.converged) == (0.5, 1e-7, 3, None)


@pytest.mark.parametrize("key", ALL)
def test_state_diagnostics_reads_the_record(states, key):
    st = states[key]
    d = st.diagnostics
    out = state_diagnostics(st, "x")
    assert OLD_STATE_KEYS <= set(out) and set(DIAGNOSTICS_FIELDS) <= set(out)

    def same(a, b):
        return (math.isnan(a) and math.isnan(b)) or a == b

    assert same(out["truncation_error"], d.discarded_weight) and same(out["discarded_weight"], d.discarded_weight)
    assert same(out["variance"], d.energy_variance) and same(out["energy_variance"], d.energy_variance)
    assert out["max_bond"] == (-1 if d.max_bond is None else d.max_bond)
    assert out["converged"] is d.converged and out["warnings"] == list(d.warnings)
    assert out["n_sweeps"] == (-1 if d.n_sweeps is None else d.n_sweeps)
    if key == "dmrg":  # the truncation the old key guess never found
        assert out["truncation_error"] > 0


def test_from_quimb_reordering_reports_the_weight_it_lost():
    lat = mb.lattice.ladder(3)  # MPS order [0, 1, 3, 2, 4, 5]: one reordering swap
    model = mb.lattice.heisenberg(lat)
    mps = mb.tn.dmrg.random_mps(6, 8, seed=4)
    st = mb.tn.from_quimb(mps, lat, model)
    assert st.info["reordered"] is True
    v = np.asarray(mps.to_dense()).reshape(-1)
    v = v / np.linalg.norm(v)
    # the wrapped state in lattice order: MPS position k holds lattice site order[k]
    w = np.asarray(st.mps.to_dense()).reshape((2,) * 6)
    w = np.transpose(w, np.argsort(lat.order)).reshape(-1)
    infidelity = 1 - abs(np.vdot(v, w)) ** 2
    d = st.diagnostics
    assert 0.0 <= d.discarded_weight < 1e-12 and abs(d.discarded_weight - infidelity) < 1e-12
    H = _dense_H(model)
    assert d.energy == pytest.approx(np.vdot(w, H @ w).real, abs=1e-10)
    assert d.energy_variance == pytest.approx(np.vdot(H @ w, H @ w).real - d.energy**2, abs=1e-10)
