"""The W^II MPO propagator (tn._mpo_evolution) and the purification's ``propagator="mpo"``.

Oracles: ``scipy.linalg.expm`` of the dense Hamiltonian (the propagator's local error and its order),
exact diagonalisation (``method="exact"``) for the thermal states, and the converged flag against the
actual error vs exact.
"""

import numpy as np
import pytest
import scipy.linalg as sla

import macrobell as mb
from macrobell.lattice import Partition
from macrobell.lattice.models import Field, SpinModel
from macrobell.tn import _mpo_evolution as ev
from macrobell.tn.mpo import _model_fsm
from macrobell.tn.purification import ERROR_TOL, MPO_ORDER, purification_thermal_states, resolve_propagator


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # purification_thermal_states is called directly here, below the entry points that pin BLAS threads;
    # unpinned, the many small SVDs of the zip-up ran 30x slower on the 2-core machine.
    from macrobell._threads import pin_threads
    pin_threads()


def _dense(Ws):
    """Dense operator of an MPO given as arrays ``(Dl, Dr, out, in)`` (site 0 most significant)."""
    M = Ws[0][0]
    for W in Ws[1:]:
        M = np.einsum("aOI,abop->bOoIp", M, W)
        s = M.shape
        M = M.reshape(s[0], s[1] * s[2], s[3] * s[4])
    return M[0]


def _dense_mps_order(model):
    lat, n = model.lattice, model.n_sites
    perm = list(lat.order) + [n + p for p in lat.order]
    return model.to_sparse().toarray().reshape([2] * (2 * n)).transpose(perm).reshape(2 ** n, 2 ** n)


def _y_field_chain():
    lat = mb.lattice.chain(5)
    base = mb.lattice.heisenberg(lat, Delta=0.6)
    return SpinModel(lat, base.terms, (Field(0.3, "y", np.arange(5)), Field(-0.2, "x", [0, 3])), "custom", {})


PROPAGATOR_CASES = [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(3), J2=0.4, h=0.3), id="ladder2x3-j2-field"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.square(2, 3, pbc_y=True)), id="cylinder3x2"),
    pytest.param(_y_field_chain, id="chain5-complex-field"),
]


@pytest.mark.parametrize("make", PROPAGATOR_CASES)
def test_wii_local_error_orders_against_expm(make):
    # W^II(t) = e^{tH} + O(t^2); the complex pair W^II(-t2) W^II(-t1) = e^{-τH} + O(τ^3) (Zaletel et al. 2015).
    model = make()
    W, layout = _model_fsm(model, None, True, "test")
    H = _dense_mps_order(model)
    taus = np.array([0.08, 0.04, 0.02])
    one, pair = [], []
    for tau in taus:
        E = sla.expm(-tau * H)
        one.append(np.abs(_dense(ev.wii_mpo(W, layout, -tau)) - E).max())
        a, b = ev.complex_pair(tau)
        pair.append(np.abs(_dense(ev.wii_mpo(W, layout, b)) @ _dense(ev.wii_mpo(W, layout, a)) - E).max())
    assert abs(np.polyfit(np.log(taus), np.log(one), 1)[0] - 2) < 0.2, one
    assert abs(np.polyfit(np.log(taus), np.log(pair), 1)[0] - 3) < 0.3, pair
    # first order is exact: the O(t) term of W^II is -tH
    t = 1e-4
    assert np.abs((_dense(ev.wii_mpo(W, layout, -t)) - np.eye(len(H))) / t + H).max() < 1e-2


def _errors(p, e):
    lat = p.lattice
    d = abs(p.energy - e.energy) / lat.n_sites
    parts = [Partition.halves(lat)] + ([Partition.sublattices(lat)] if lat.bipartite else [])
    for part in parts:
        d = max(d, np.abs(mb.observables.effective_state(p, part).T - mb.observables.effective_state(e, part).T).max())
    return d


@pytest.mark.parametrize("make", [
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(3)), id="ladder2x3"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.chain(6), J2=0.5, h=0.2), id="chain6-j2-field-z"),
    pytest.param(lambda: mb.lattice.tfim(mb.lattice.chain(6, pbc=True), J=1.0, g=0.7), id="ring6-tfim-field-x"),
])
def test_mpo_propagator_matches_exact(make):
    # χ = 64 is exact for N = 6; dτ = 0.0125 (40 steps to T = 1) puts the second-order error of the chains
    # below 1e-5; the ladder's overlapping terms leave 1.7e-5 at T = 1 (the W^II error constant is large).
    model = make()
    tol = 3e-5 if model.lattice.name == "ladder" else 1e-5
    temps = [2.0, 1.0]
    pur = purification_thermal_states(model, temps, bond_dim=64, dtau=0.0125, propagator="mpo")
    ex = mb.tn.thermal_states(model, temps, method="exact")
    for p, e in zip(pur, ex):
        assert p.info["propagator"] == "mpo" and p.info["trotter_order"] == MPO_ORDER
        assert p.info["beta"] == pytest.approx(1 / p.temperature)
        assert _errors(p, e) < tol, p.temperature
        # ln Z from the tracked norm is the least accurate output of W^II (6e-5 per site on the ladder at T = 0.5)
        assert abs(p.info["log_Z"] - _log_z(model, p.temperature)) / model.n_sites < 1e-4
        assert p.info["converged"]


def _log_z(model, T):
    w = np.linalg.eigvalsh(model.to_sparse().toarray())
    return float(np.log(np.sum(np.exp(-(w - w.min()) / T))) - w.min() / T)


def test_mpo_error_is_second_order_in_dtau():
    model = mb.lattice.heisenberg(mb.lattice.ladder(3), Delta=0.7, h=0.2)
    e, = mb.tn.thermal_states(model, [0.5], method="exact")
    dtaus = [0.2, 0.1, 0.05]  # τ = β/2 = 1 is a multiple of each: no shortened step blurs the slope
    errs = [abs(purification_thermal_states(model, [0.5], bond_dim=64, dtau=dt, propagator="mpo",
                                            trotter_check=False)[0].energy - e.energy) for dt in dtaus]
    assert abs(np.polyfit(np.log(dtaus), np.log(errs), 1)[0] - 2) < 0.35, errs


@pytest.mark.filterwarnings("ignore::macrobell.tn.ConvergenceWarning")
@pytest.mark.parametrize("make, opts, temps", [
    # time-step dominated (χ exact) and truncation dominated runs of the MPO propagator
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(3), J2=0.4, h=0.3), {"bond_dim": 64, "dtau": 0.1},
                 [2.0, 1.0, 0.5], id="ladder2x3-step"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.ladder(4), J2=0.4, h=0.3), {"bond_dim": 24, "dtau": 0.05},
                 [4.0, 2.0, 1.0], id="ladder2x4-chi24"),
    pytest.param(lambda: mb.lattice.heisenberg(mb.lattice.square(2, 3, pbc_y=True), h=0.4),
                 {"bond_dim": 64, "dtau": 0.1}, [2.0, 1.0, 0.4], id="cylinder3x2-field-z"),
    pytest.param(lambda: mb.lattice.tfim(mb.lattice.square(2, 3, pbc_y=True), J=1.0, g=0.8),
                 {"bond_dim": 64, "dtau": 0.2}, [2.0, 1.0, 0.4], id="cylinder3x2-tfim-field-x"),
])
def test_mpo_converged_flag_bounds_errors_against_exact(make, opts, temps):
    model = make()
    ex = mb.tn.thermal_states(model, temps, method="exact")
    pur = purification_thermal_states(model, temps, propagator="mpo", **opts)
    checked = 0
    for p, e in zip(pur, ex):
        est, err = p.info["error_estimate"], _errors(p, e)
        assert p.info["converged"] == (est <= ERROR_TOL)
        if p.info["converged"]:
            assert err < ERROR_TOL, (p.temperature, err)
        if est <= 1e-2:  # the estimate claims errors <= est for every error_tol >= est
            assert err <= est, (p.temperature, err, est)
            checked += 1
    assert checked


def test_mpo_snapshot_does_not_depend_on_other_temperatures():
    model = mb.lattice.heisenberg(mb.lattice.ladder(3), J2=0.4, h=0.3)
    alone, = purification_thermal_states(model, [1.0], bond_dim=6, dtau=0.1, propagator="mpo")
    many = purification_thermal_states(model, [3.0, 1 / 0.77, 1.0, 0.5], bond_dim=6, dtau=0.1, propagator="mpo")
    with_others = many[2]
    for key in ("discarded_weight", "error_estimate", "converged", "n_svd", "n_steps", "log_Z"):
        assert with_others.info[key] == alone.info[key], key
    assert with_others.energy == alone.energy


def test_propagator_option():
    lad = mb.lattice.heisenberg(mb.lattice.ladder(3))
    assert resolve_propagator(lad, "auto") == "tebd" and resolve_propagator(lad, "mpo") == "mpo"
    st, = mb.tn.thermal_states(lad, [1.0], method="purification", bond_dim=16, trotter_check=False)
    assert st.info["propagator"] == "tebd"
    for bad in ("MPO", "swap", 1, None):
        with pytest.raises(ValueError, match="propagator"):
            mb.tn.thermal_states(lad, [1.0], method="purification", propagator=bad)


_SWEEP = """
[lattice]
kind = "ladder"
L = 3
[model]
kind = "heisenberg"
[state]
method = "purification"
propagator = {value}
temperatures = [1.0]
[[partitions]]
kind = "halves"
"""


def test_propagator_in_sweep_files():
    from macrobell.data.sweep import Sweep, SweepError

    Sweep.from_toml(_SWEEP.format(value='"mpo"'))
    with pytest.raises(SweepError, match="propagator"):
        Sweep.from_toml(_SWEEP.format(value='"swaps"'))


@pytest.mark.parametrize("shape, cap", [((24, 40), 10), ((40, 24), 10), ((64, 80), 10), ((90, 40), 12),
                                        ((12, 30), 16), ((30, 12), 16), ((8, 8), None)])
def test_capped_split_is_an_optimal_projection(shape, cap):
    # Oracle: the SVD (Eckart–Young): a rank-cap projection drops at least Σ_{i ≥ cap} s_i², and the Gram-matrix
    # split must drop no more than that (to rounding); exact below the cap.
    rng = np.random.default_rng(3)
    r, c = shape
    k = min(r, c)
    u0 = np.linalg.qr(rng.normal(size=(r, k)) + 1j * rng.normal(size=(r, k)))[0]
    v0 = np.linalg.qr(rng.normal(size=(c, k)) + 1j * rng.normal(size=(c, k)))[0]
    s = np.exp(-0.7 * np.arange(k))  # a decaying spectrum, down to ~1e-12 s_max
    m = (u0 * s) @ v0.conj().T
    u, carry = ev._capped_split(m, cap)
    kk = u.shape[1]
    assert kk == (k if cap is None else min(k, cap))
    np.testing.assert_allclose(u.conj().T @ u, np.eye(kk), atol=1e-12)  # left-isometric
    np.testing.assert_allclose(u @ carry, u @ (u.conj().T @ m), atol=1e-12)  # carry is the projection
    dropped = np.linalg.norm(m - u @ carry) ** 2
    optimal = float(np.sum(s[kk:] ** 2))
    assert dropped <= optimal + 1e-13 * np.sum(s ** 2)
    if kk == k:
        assert dropped < 1e-24


def test_zipup_is_exact_without_cap_and_left_canonical_with_it():
    # Oracle: the MPO applied to the purification's physical legs by dense contraction.
    model = mb.lattice.heisenberg(mb.lattice.chain(6))
    W, layout = _model_fsm(model, None, True, "test")
    U = ev.wii_mpo(W, layout, -0.3)
    rng = np.random.default_rng(5)
    dims = [1, 4, 8, 8, 8, 4, 1]
    A = [rng.normal(size=(dims[k], 4, dims[k + 1])) for k in range(6)]
    for k in range(5, 0, -1):  # right-canonical, as the zip-up expects
        a = A[k]
        q, r = np.linalg.qr(a.reshape(a.shape[0], -1).T)
        A[k] = q.T.reshape(-1, 4, a.shape[2])
        A[k - 1] = np.tensordot(A[k - 1], r.T, axes=(2, 0))

    def dense(arrs):
        v = arrs[0]
        for a in arrs[1:]:
            v = np.tensordot(v, a, axes=(v.ndim - 1, 0))
        return v.reshape([2, 2] * 6)  # (p0, a0, p1, a1, …)

    Ud = _dense(U)  # (out, in) on p0 … p5
    v = dense(A).transpose(list(range(0, 12, 2)) + list(range(1, 12, 2))).reshape(2 ** 6, 2 ** 6)
    want = (Ud @ v).reshape([2] * 12).transpose(np.argsort(list(range(0, 12, 2)) + list(range(1, 12, 2))))
    seen = []
    got = ev.zipup_apply(A, U, None, lambda t, k: seen.append((t, k)))
    assert all(t == k for t, k in seen)  # no cap: nothing dropped, and so reported
    np.testing.assert_allclose(dense(got), want, atol=1e-10)
    weights = []
    capped = ev.zipup_apply(A, U, 6, lambda t, k: weights.append(1 - k / t))
    assert max(weights) > 1e-6 and min(weights) >= 0  # the cap bites, and is reported
    for a in capped[:-1]:
        m = a.reshape(-1, a.shape[2])
        np.testing.assert_allclose(m.conj().T @ m, np.eye(m.shape[1]), atol=1e-12)
