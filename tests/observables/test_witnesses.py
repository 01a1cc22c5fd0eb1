"""Microscopic Bell-correlation witnesses (Tura et al. 2014, Schmied et al. 2016) against oracles.

Oracles: collective moments and Bell operators built here by Kronecker
products with an explicit i ≠ j pair loop; direction searches done here
independently (dense angle grids + Nelder–Mead); the Bell operator
diagonalised in the symmetric (Dicke) subspace with spin-j matrices;
analytic values for singlets and Dicke states; LHV models of product states;
the derivation of the Schmied bound from the Tura inequality (a theorem that
holds for every state).
"""

import functools
import itertools
import json
from math import comb

import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

import macrobell as mb
from macrobell.lattice.models import PAULI
from macrobell.observables import witnesses as W
from macrobell.observables.mps import mps_pair_correlations  # noqa: F401  (the MPS module stays importable)
from macrobell.tn.dmrg import dmrg_ground_state, random_mps

# ----------------------------------------------------------------- oracles


def _site_op(op, i, n):
    return np.kron(np.kron(np.eye(2 ** i), op), np.eye(2 ** (n - i - 1)))


@functools.lru_cache(maxsize=None)
def _ops(n):
    return [[_site_op(PAULI[a], i, n) for a in (1, 2, 3)] for i in range(n)]


def brute_moments(rho):
    """first[a] = Σ_i Tr ρ σ_a^i and second[a, b] = Σ_{i≠j} Tr ρ σ_a^i σ_b^j by Kronecker products."""
    n = int(np.log2(rho.shape[0]))
    ops = _ops(n)
    first = np.array([sum(np.trace(rho @ ops[i][a]).real for i in range(n)) for a in range(3)])
    RO = [[rho @ ops[i][a] for a in range(3)] for i in range(n)]
    second = np.zeros((3, 3))
    for i, j in itertools.permutations(range(n), 2):
        for a, b in itertools.product(range(3), repeat=2):
            second[a, b] += np.sum(RO[i][a] * ops[j][b].T).real  # Tr(ρ σ_a^i σ_b^j)
    return first, second


def brute_tura_operator(n, n0, n1):
    """2 Σ M_0^i + Σ_{i≠j} (½ M_0^i M_0^j − M_0^i M_1^j + ½ M_1^i M_1^j) + 2n, explicitly."""
    ops = _ops(n)
    M0 = [sum(n0[a] * ops[i][a] for a in range(3)) for i in range(n)]
    M1 = [sum(n1[a] * ops[i][a] for a in range(3)) for i in range(n)]
    B = 2 * sum(M0) + 2 * n * np.eye(2 ** n)
    for i, j in itertools.permutations(range(n), 2):
        B = B + 0.5 * M0[i] @ M0[j] - M0[i] @ M1[j] + 0.5 * M1[i] @ M1[j]
    return B


def _sph(t, p):
    t, p = np.broadcast_arrays(t, p)
    return np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1)


def brute_tura_min(first, second, n):
    """min over two unit vectors by a dense 4-angle grid, then Nelder–Mead from the best grid points."""
    def value(N0, N1):
        return (2 * N0 @ first + 0.5 * np.einsum("...a,ab,...b->...", N0, second, N0)
                - np.einsum("...a,ab,...b->...", N0, second, N1)
                + 0.5 * np.einsum("...a,ab,...b->...", N1, second, N1) + 2 * n)
    t = np.linspace(0, np.pi, 13)
    p = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    D = _sph(t[:, None], p[None, :]).reshape(-1, 3)
    V = value(D[:, None, :], D[None, :, :])
    best = np.inf
    for flat in np.argsort(V, axis=None)[:8]:
        i, j = np.unravel_index(flat, V.shape)
        x0 = np.concatenate([[np.arccos(np.clip(D[i, 2], -1, 1)), np.arctan2(D[i, 1], D[i, 0])],
                             [np.arccos(np.clip(D[j, 2], -1, 1)), np.arctan2(D[j, 1], D[j, 0])]])
        r = minimize(lambda x: value(_sph(x[0], x[1]), _sph(x[2], x[3])), x0, method="Nelder-Mead",
                     options={"xatol": 1e-11, "fatol": 1e-13, "maxiter": 20000})
        best = min(best, r.fun)
    return best


def brute_schmied(first, second, n, optimal):
    """ζ_x² − ½(1 − √(1 − C_z²)) with (z, x) by grids + Nelder–Mead (z: mean spin, or the whole sphere)."""
    def value(zt, zp, xa):
        z = _sph(zt, zp)
        e1 = _sph(zt + np.pi / 2, zp)                   # ⟂ z
        e2 = np.cross(z, e1)
        x = np.cos(xa)[..., None] * e1 + np.sin(xa)[..., None] * e2
        C = np.abs(z @ first) / n
        zeta2 = (np.einsum("...a,ab,...b->...", x, second, x) + n) / n
        return zeta2 - 0.5 * (1 - np.sqrt(np.clip(1 - C ** 2, 0, None)))
    if optimal:
        zt, zp, xa = np.meshgrid(np.linspace(0, np.pi, 31), np.linspace(0, 2 * np.pi, 60, endpoint=False),
                                 np.linspace(0, np.pi, 36, endpoint=False), indexing="ij")
        V = value(zt, zp, xa)
        best = np.inf
        for flat in np.argsort(V, axis=None)[:6]:
            idx = np.unravel_index(flat, V.shape)
            x0 = [zt[idx], zp[idx], xa[idx]]
            r = minimize(lambda x: value(*x), x0, method="Nelder-Mead",
                         options={"xatol": 1e-11, "fatol": 1e-14, "maxiter": 20000})
            best = min(best, r.fun)
        return best
    z = first / np.linalg.norm(first)
    zt, zp = np.arccos(np.clip(z[2], -1, 1)), np.arctan2(z[1], z[0])
    xa = np.linspace(0, np.pi, 3600, endpoint=False)
    V = value(zt, zp, xa)
    r = minimize_scalar(lambda a: value(zt, zp, a), bounds=(xa[np.argmin(V)] - 1e-3, xa[np.argmin(V)] + 1e-3),
                        method="bounded", options={"xatol": 1e-12})
    return min(r.fun, V.min())


# ------------------------------------------------- symmetric (Dicke) subspace


def spin_matrices(n):
    """Spin-j = n/2 matrices in the basis |j, m = j − k>, k = number of down spins (|1> = ↓)."""
    j = n / 2
    m = j - np.arange(n + 1)
    Sp = np.zeros((n + 1, n + 1))
    for k in range(1, n + 1):
        Sp[k - 1, k] = np.sqrt(j * (j + 1) - m[k] * (m[k] + 1))
    return (Sp + Sp.T) / 2, (Sp - Sp.T) / 2j, np.diag(m)


def symmetric_bell_operator(n, gamma):
    """Tura Bell operator on the symmetric subspace, n0 = z, n1 = (sin γ, 0, cos γ).

    With M_k = 2 n_k·S: Σ_i M_k^i = 2 S_k, Σ_{i≠j} M_k^i M_k^j = 4 S_k² − n,
    Σ_{i≠j} M_0^i M_1^j = 2{S_0, S_1} − n n_0·n_1 (the one-site products
    σ_a σ_b = δ_ab + i ε_abc σ_c removed).
    """
    Sx, _, Sz = spin_matrices(n)
    a, b = Sz, np.cos(gamma) * Sz + np.sin(gamma) * Sx
    eye = np.eye(n + 1)
    S00, S11 = 4 * a @ a - n * eye, 4 * b @ b - n * eye
    S01 = 2 * (a @ b + b @ a) - n * np.cos(gamma) * eye
    return 4 * a + 0.5 * S00 - S01 + 0.5 * S11 + 2 * n * eye


@functools.lru_cache(maxsize=None)
def symmetric_minimum(n):
    """min over symmetric states and directions of the Tura expression.

    The symmetric subspace is invariant under every U^{⊗n}, which rotates both
    directions together, so only their angle γ matters: n0 = z, n1 in the x–z
    plane. Outer loop: a γ grid, then a bounded scalar polish.
    """
    gs = np.linspace(0, np.pi, 361)
    ev = np.array([np.linalg.eigvalsh(symmetric_bell_operator(n, g))[0] for g in gs])
    i = int(np.argmin(ev))
    r = minimize_scalar(lambda g: np.linalg.eigvalsh(symmetric_bell_operator(n, g))[0],
                        bounds=(gs[max(i - 1, 0)], gs[min(i + 1, gs.size - 1)]), method="bounded",
                        options={"xatol": 1e-12})
    g, val = (r.x, r.fun) if r.fun < ev[i] else (gs[i], ev[i])
    w, V = np.linalg.eigh(symmetric_bell_operator(n, g))
    return val, g, V[:, 0]


def embed_symmetric(c, n):
    """Σ_k c_k D(n, k) as a 2^n vector; D(n, k) = the equal superposition of n-bit strings with k ones."""
    ones = np.array([bin(s).count("1") for s in range(2 ** n)])
    v = np.zeros(2 ** n, dtype=complex)
    for k in range(n + 1):
        v[ones == k] = c[k] / np.sqrt(comb(n, k))
    return v


def _dense(vec_or_rho, n):
    return mb.tn.from_dense(vec_or_rho, mb.lattice.chain(n))


def _rho(st):
    return st.density_matrix()


def _rotated(v, n, seed):
    """U^{⊗n} v for a random single-spin unitary U: tilts every optimal direction off the axes."""
    from scipy.linalg import expm
    rng = np.random.default_rng(seed)
    H = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    u = expm(1j * (H + H.conj().T))
    return functools.reduce(np.kron, [u] * n) @ v


def _oat_state(n, mu, seed):
    """One-axis-twisted (spin-squeezed) symmetric state exp(−iμ S_z²/2)|+x>^n, randomly rotated."""
    from scipy.linalg import expm
    Sx, Sy, Sz = spin_matrices(n)
    plus = np.linalg.eigh(Sx)[1][:, -1]
    return _rotated(embed_symmetric(expm(-0.5j * mu * Sz @ Sz) @ plus, n), n, seed)


def _bell_state(n, seed, p=1.0):
    """The symmetric state minimising the Tura Bell operator, randomly rotated, mixed with white noise 1 − p."""
    v = _rotated(embed_symmetric(symmetric_minimum(n)[2], n), n, seed)
    return v if p == 1.0 else _noisy(v, p)


def _noisy(v, p):
    return p * np.outer(v, v.conj()) + (1 - p) * np.eye(v.size) / v.size


def _random_vector(n, seed, complex_=True):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=2 ** n) + (1j * rng.normal(size=2 ** n) if complex_ else 0)
    return v / np.linalg.norm(v)


def _random_rho(n, seed, rank=3):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(2 ** n, rank)) + 1j * rng.normal(size=(2 ** n, rank))
    rho = A @ A.conj().T
    return rho / np.trace(rho).real


# -------------------------------------------------------------- moments


@pytest.mark.parametrize("kind", ["vector-real", "vector-complex", "matrix"])
def test_dense_moments_match_kronecker(kind):
    n = 5
    if kind == "matrix":
        rho = _random_rho(n, 1)
        st = _dense(rho, n)
    else:
        v = _random_vector(n, 2, complex_=kind == "vector-complex")
        st, rho = _dense(v, n), np.outer(v, v.conj())
    m = W.collective_moments(st)
    f, s = brute_moments(rho)
    np.testing.assert_allclose(m.first, f, atol=1e-12)
    np.testing.assert_allclose(m.second, s, atol=1e-12)
    # the i = j part is analytic: Σ_{i,j} <σ_a^i σ_b^j> = second + n δ_ab + i ε_abc first_c
    A = [sum(_ops(n)[i][a] for i in range(n)) for a in range(3)]
    full = np.array([[np.trace(rho @ A[a] @ A[b]) for b in range(3)] for a in range(3)])
    eps = np.zeros((3, 3, 3))
    for a, b, c in itertools.permutations(range(3)):
        eps[a, b, c] = np.linalg.det(np.eye(3)[[a, b, c]])
    np.testing.assert_allclose(full, m.second + n * np.eye(3) + 1j * eps @ m.first, atol=1e-11)
    np.testing.assert_allclose(m.spin_second, 0.25 * full.real, atol=1e-12)
    np.testing.assert_allclose(m.mean_spin, 0.5 * f, atol=1e-12)


def _dense_factor(psi, n, purified):
    """ρ = Ψ Ψ† in lattice order from a quimb MPS (ancillas of a purification become columns)."""
    v = psi.to_dense().ravel()
    v = v / np.linalg.norm(v)
    if not purified:
        return v[:, None]
    P = v.reshape((2, 2) * n).transpose(list(range(0, 2 * n, 2)) + list(range(1, 2 * n, 2)))
    return P.reshape(2 ** n, 2 ** n)


RANDOM_MPS = [
    pytest.param(lambda: mb.lattice.chain(7), np.float64, False, id="chain7-real"),
    pytest.param(lambda: mb.lattice.chain(7), np.complex128, False, id="chain7-complex"),
    pytest.param(lambda: mb.lattice.ladder(4), np.float64, False, id="ladder4-real-snake"),
    pytest.param(lambda: mb.lattice.square(2, 3), np.complex128, False, id="square2x3-complex-snake"),
    pytest.param(lambda: mb.lattice.chain(5), np.float64, True, id="chain5-purified-real"),
    pytest.param(lambda: mb.lattice.ladder(3), np.complex128, True, id="ladder3-purified-complex"),
]


@pytest.mark.parametrize("make, dtype, purified", RANDOM_MPS)
def test_mps_moments_match_dense_on_random_mps(make, dtype, purified):
    lat = make()
    n = lat.n_sites
    psi = random_mps(n, 6, phys_dim=4 if purified else 2, seed=4, dtype=dtype)
    st = mb.tn.from_quimb(psi, lat, purified=purified)
    Psi = _dense_factor(psi, n, purified)
    m = W.collective_moments(st)
    ref = W.collective_moments(_dense(Psi @ Psi.conj().T, n))
    f, s = brute_moments(Psi @ Psi.conj().T)
    np.testing.assert_allclose(ref.first, f, atol=1e-12)
    np.testing.assert_allclose(m.first, ref.first, atol=1e-10)
    np.testing.assert_allclose(m.second, ref.second, atol=1e-10)
    np.testing.assert_allclose(m.second, s, atol=1e-10)


@functools.lru_cache(maxsize=None)
def _dmrg_tfim():
    model = mb.lattice.tfim(mb.lattice.chain(10), J=1.0, g=0.7)
    return dmrg_ground_state(model, bond_dim=32, seed=3), model


def test_mps_moments_match_dense_on_dmrg_state():
    st, model = _dmrg_tfim()
    v = st.mps.to_dense().ravel()  # chain: MPS order = lattice order
    m = W.collective_moments(st)
    ref = W.collective_moments(_dense(v, 10))
    assert np.abs(m.first).max() > 1.0  # a transverse field: a non-trivial mean spin
    np.testing.assert_allclose(m.first, ref.first, atol=1e-10)
    np.testing.assert_allclose(m.second, ref.second, atol=1e-10)
    # the witnesses of an MPS are those of its dense vector
    assert W.tura(st).value == pytest.approx(W.tura(ref).value, abs=1e-9)
    assert W.schmied(st).value == pytest.approx(W.schmied(ref).value, abs=1e-10)
    # and the DMRG state is the ground state: the exact backend agrees to DMRG accuracy
    ex = W.collective_moments(mb.tn.ground_state(model, method="exact"))
    np.testing.assert_allclose(m.second, ex.second, atol=1e-5)  # measured: 2.7e-6 on entries up to 71


def test_purified_thermal_moments_match_exact():
    model = mb.lattice.tfim(mb.lattice.chain(6), J=1.0, g=0.7)
    temps = [0.5, 2.0]
    for pur, ex in zip(mb.tn.thermal_states(model, temps, method="purification"),
                       mb.tn.thermal_states(model, temps, method="exact")):
        assert pur.backend == "mps-purification"
        m, ref = W.collective_moments(pur), W.collective_moments(ex)
        # measured: 5e-10 (first), 3e-9 (second): the Trotter/truncation error of the purification
        np.testing.assert_allclose(m.first, ref.first, atol=1e-7)
        np.testing.assert_allclose(m.second, ref.second, atol=1e-7)


def test_peps_moments_match_dense():
    from macrobell.tn.peps import lattice_coords, peps_state_from_quimb, quimb_tensor
    qtn = quimb_tensor()
    lat = mb.lattice.square(2, 3)
    Lx, Ly, coords = lattice_coords(lat)
    psi = qtn.PEPS.rand(Lx, Ly, bond_dim=2, seed=5, dtype="complex128")
    vec = np.asarray(psi.to_dense([psi.site_ind(int(x), int(y)) for x, y in coords])).reshape(-1)
    m = W.collective_moments(peps_state_from_quimb(psi, lat, chi=64))
    ref = W.collective_moments(_dense(vec, lat.n_sites))
    np.testing.assert_allclose(m.first, ref.first, atol=1e-8)
    np.testing.assert_allclose(m.second, ref.second, atol=1e-8)


# -------------------------------------------------------------- witnesses vs brute force


# (name, state, Tura violated, Schmied violated) — the flags are also checked against the brute force
BRUTE_CASES = [
    ("random-pure-4", lambda: _random_vector(4, 7), False, False),
    ("random-mixed-4", lambda: _random_rho(4, 8), False, False),
    ("squeezed-6", lambda: _oat_state(6, 0.3, seed=9), False, False),
    ("squeezed-noisy-5", lambda: _noisy(_oat_state(5, 0.3, seed=11), 0.9), False, False),
    ("bell-5", lambda: _bell_state(5, seed=3), True, False),
    ("bell-noisy-7", lambda: _bell_state(7, seed=4, p=0.97), True, False),   # measured: Tura −0.040
    ("bell-8", lambda: _bell_state(8, seed=5), True, True),                   # Tura −0.649, Schmied −0.011
]


@pytest.mark.parametrize("name, make, tura_violated, schmied_violated",
                         [pytest.param(*c, id=c[0]) for c in BRUTE_CASES])
def test_witnesses_match_brute_force(name, make, tura_violated, schmied_violated):
    data = make()
    n = int(np.log2(data.shape[0]))
    st = _dense(data, n)
    rho = _rho(st)
    f, s = brute_moments(rho)
    t = W.tura(st)
    ref = brute_tura_min(f, s, n)
    # the witness's search is at least as good as the brute force and reaches the same minimum
    assert t.value <= ref + 1e-9
    assert t.value == pytest.approx(ref, abs=1e-7)
    # the value is attained at the reported directions (explicit Bell operator)
    B = brute_tura_operator(n, np.array(t.n0), np.array(t.n1))
    assert np.trace(rho @ B).real == pytest.approx(t.value, abs=1e-10)
    assert np.linalg.norm(t.n0) == pytest.approx(1) and np.linalg.norm(t.n1) == pytest.approx(1)
    assert t.violated == (ref < -1e-6) == tura_violated
    for mode in ("mean_spin", "optimal"):
        sc = W.schmied(st, directions=mode)
        ref_s = brute_schmied(f, s, n, optimal=mode == "optimal")
        assert sc.value <= ref_s + 1e-9, mode
        assert sc.value == pytest.approx(ref_s, abs=1e-7), mode
        # the reported numbers are those of the reported directions
        z, x = np.array(sc.z), np.array(sc.x)
        assert abs(z @ x) < 1e-10
        assert sc.contrast == pytest.approx(z @ f / n, abs=1e-12)
        assert sc.zeta2 == pytest.approx((x @ s @ x + n) / n, abs=1e-12)
        assert sc.bound == pytest.approx(0.5 * (1 - np.sqrt(1 - sc.contrast ** 2)), abs=1e-12)
        assert sc.violated == (ref_s < -1e-6) == schmied_violated, mode


def _schmied_tura_gap(sc):
    c = sc.contrast / (1 + np.sqrt(1 - sc.contrast ** 2))
    return 2 * sc.n * (1 - c ** 2) * sc.value


RELAXATION_CASES = [
    ("random-5", lambda: _random_vector(5, 0)), ("random-mixed-4", lambda: _random_rho(4, 1)),
    ("squeezed-5", lambda: _oat_state(5, 0.4, seed=2)), ("squeezed-6", lambda: _oat_state(6, 0.7, seed=3)),
    ("bell-6", lambda: _bell_state(6, seed=4)), ("bell-8", lambda: _bell_state(8, seed=6)),
]


@pytest.mark.parametrize("name, make", [pytest.param(*c, id=c[0]) for c in RELAXATION_CASES])
def test_schmied_is_a_relaxation_of_tura(name, make):
    # Theorem (derivation in witnesses.schmied): with n_{0,1} = −c z ± s x, the mean of the two Tura
    # expressions is 2n(1 − c²)(ζ_x² − (C c − c²)/(1 − c²)); at c* it is 2n(1 − c*²)·schmied.value,
    # so min over directions of Tura ≤ that, for every state and both direction choices.
    data = make()
    n = int(np.log2(data.shape[0]))
    st = _dense(data, n)
    t = W.tura(st)
    for mode in ("mean_spin", "optimal"):
        sc = W.schmied(st, directions=mode)
        assert t.value <= _schmied_tura_gap(sc) + 1e-9
        if sc.violated:
            assert t.violated


# -------------------------------------------------------------- physics


@pytest.mark.parametrize("n", [6, 8])
def test_heisenberg_ring_singlet_touches_the_bound(n):
    # The ring's ground state is a singlet, S_tot = 0, so S_a|ψ> = 0: <S_a> = 0 and <S_a S_b> = 0, i.e.
    # Σ_{i,j} <σ_a^i σ_b^j> = 0 and, removing i = j (σ_a σ_b = δ_ab + iε_abc σ_c, <σ_c^i> = 0),
    # second = Σ_{i≠j} <σ_a^i σ_b^j> = −n δ_ab. Then the Tura expression is
    # −n/2 + n n0·n1 − n/2 + 2n = n(1 + n0·n1) ≥ 0, with minimum exactly 0 at n1 = −n0: the classical
    # bound is touched, never violated. Schmied: C_z = 0, bound 0, ζ² = (−n + n)/n = 0: value 0.
    st = mb.tn.ground_state(mb.lattice.heisenberg(mb.lattice.chain(n, pbc=True)), method="exact")
    m = W.collective_moments(st)
    np.testing.assert_allclose(m.first, 0, atol=1e-10)
    np.testing.assert_allclose(m.second, -n * np.eye(3), atol=1e-9)
    t = W.tura(st)
    assert abs(t.value) < 1e-9 and not t.violated
    assert np.dot(t.n0, t.n1) == pytest.approx(-1, abs=1e-6)
    for mode in ("mean_spin", "optimal"):
        sc = W.schmied(st, directions=mode)
        assert abs(sc.value) < 1e-9 and not sc.violated and sc.bound < 1e-9


def test_dmrg_singlet_ring_not_violated():
    st = dmrg_ground_state(mb.lattice.heisenberg(mb.lattice.chain(10, pbc=True)), bond_dim=48, seed=2)
    d = W.microscopic(st)
    assert abs(d["tura_value"]) < 1e-5 and not d["tura_violated"]
    assert not d["schmied_violated"] and not d["schmied_optimal_violated"]


def test_symmetric_bell_state_n8_violates_and_dicke_does_not():
    n = 8
    val, gamma, c = symmetric_minimum(n)
    assert val < -0.5  # measured: −0.6493371238 at γ = 2.2123
    st = _dense(embed_symmetric(c, n), n)
    # the embedding is the symmetric state: <B> from the explicit 2^n Bell operator at (z, γ)
    B = brute_tura_operator(n, np.array([0, 0, 1.0]), np.array([np.sin(gamma), 0, np.cos(gamma)]))
    assert np.vdot(st.vector, B @ st.vector).real == pytest.approx(val, abs=1e-9)
    t = W.tura(st)
    # min over directions for this state ≥ the joint minimum (state and directions) = val, and ≤ val
    assert t.value == pytest.approx(val, abs=1e-8)
    assert t.violated
    assert np.dot(t.n0, t.n1) == pytest.approx(np.cos(gamma), abs=1e-5)
    # Dicke D(8, 4): first = 0, second = diag(32, 32, −8) (4<S_x²> − n with <S_x²> = j(j+1)/2 = 10,
    # 4<S_z²> − n = −8), so the expression is ½(n0−n1)ᵀ G (n0−n1) + 16 ≥ ½(−8)·4 + 16 = 0.
    dicke = np.zeros(n + 1)
    dicke[n // 2] = 1
    td = W.tura(_dense(embed_symmetric(dicke, n), n))
    assert td.value == pytest.approx(0, abs=1e-9) and not td.violated


def test_symmetric_minimum_small_n():
    # n ≤ 4: the symmetric-subspace minimum is 0 (no symmetric state violates). Computed here: symmetric
    # states violate the inequality as written from n = 5 on (−0.1515 at n = 5), not only from n = 6.
    for n in (3, 4):
        assert symmetric_minimum(n)[0] > -1e-10
    val5, _, c5 = symmetric_minimum(5)
    assert val5 < -0.1
    assert W.tura(_dense(embed_symmetric(c5, 5), 5)).value == pytest.approx(val5, abs=1e-8)


@pytest.mark.parametrize("seed", range(4))
def test_product_states_never_violate(seed):
    rng = np.random.default_rng(seed)
    n = 6
    if seed % 2:
        # mixed product state: ⊗ ρ_i with random Bloch vectors inside the ball
        rhos = []
        for _ in range(n):
            r = rng.normal(size=3)
            r *= rng.uniform() / np.linalg.norm(r)
            rhos.append(0.5 * (np.eye(2) + sum(r[a] * PAULI[a + 1] for a in range(3))))
        st = _dense(functools.reduce(np.kron, rhos), n)
    else:
        vs = [rng.normal(size=2) + 1j * rng.normal(size=2) for _ in range(n)]
        st = _dense(functools.reduce(np.kron, [v / np.linalg.norm(v) for v in vs]), n)
    t = W.tura(st)
    assert t.value >= -1e-9 and not t.violated
    for mode in ("mean_spin", "optimal"):
        sc = W.schmied(st, directions=mode)
        assert sc.value >= -1e-9 and not sc.violated


# -------------------------------------------------------------- results and bad input


def test_results_are_frozen_and_json():
    st = _dense(_oat_state(6, 0.3, seed=9), 6)
    t, sc, d = W.tura(st), W.schmied(st), W.microscopic(st)
    json.dumps(t.to_dict()), json.dumps(sc.to_dict()), json.dumps(d)
    with pytest.raises(Exception):
        t.value = 0.0
    assert d["n_sites"] == 6
    assert d["tura_value"] == pytest.approx(t.value) and d["tura_violated"] == t.violated
    assert d["schmied_value"] == pytest.approx(sc.value) and d["schmied_bound"] == pytest.approx(sc.bound)
    assert {"schmied_violated", "schmied_optimal_value", "schmied_optimal_violated", "tura_cos_settings"} <= set(d)
    assert all(isinstance(v, (int, float, bool)) for v in d.values())  # a flat block of scalars
    # moments can be passed directly
    assert W.tura(W.collective_moments(st)).value == pytest.approx(t.value, abs=1e-12)


def test_bad_input():
    one = mb.tn.from_dense(np.array([1.0, 0.0]), mb.lattice.from_bonds(1, []))
    for fn in (W.tura, W.schmied, W.microscopic):
        with pytest.raises(ValueError, match="at least 2 sites"):
            fn(one)
        with pytest.raises(ValueError, match="expected a macrobell state"):
            fn(np.ones(4))
    st = _dense(_random_vector(3, 0), 3)
    with pytest.raises(ValueError, match="directions must be 'mean_spin' or 'optimal'"):
        W.schmied(st, directions="z")
    with pytest.raises(ValueError, match="starts must be an integer >= 0"):
        W.tura(st, starts=-1)
    with pytest.raises(ValueError, match="grid must be an integer >= 8"):
        W.tura(st, grid=2)
    with pytest.raises(ValueError, match="first must have shape"):
        W.CollectiveMoments(n=3, first=[0, 0], second=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="collective_moments: expected a macrobell state"):
        W.collective_moments("psi")
