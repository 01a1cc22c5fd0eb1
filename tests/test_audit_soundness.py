"""Independent audit: does every verdict level and ``converged`` flag prove what it says?

Every check here uses oracles written in this file with plain numpy
(Kronecker products, explicit partial transposes, enumeration of
deterministic strategies, dense exact diagonalisation), never the package's
own criteria functions.  The package is exercised through its real pipeline:
``mb.tn.from_dense`` -> ``mb.lattice.Partition.custom`` ->
``mb.observables.effective_state`` -> ``eff.criteria(bell=decide(...)["hook"])``.

Sources of the oracles:
* PPT <=> separable for two qubits: Peres, PRL 77, 1413 (1996); Horodecki,
  Horodecki, Horodecki, PLA 223, 1 (1996).
* Werner thresholds: Werner, PRA 40, 4277 (1989); Barrett, PRA 65, 042302
  (2002) (1/2, POVMs); Designolle et al., PRR 5, 043059 (2023) (0.6875,
  0.6961); Horodecki, Horodecki, Horodecki, PLA 200, 340 (1995) (1/sqrt 2);
  Wiseman, Jones, Doherty, PRL 98, 140402 (2007) (Werner unsteerable iff
  V <= 1/2 for projective measurements).
* Linear steering inequalities (any LHS model, trusted qubit):
  ``sum_k <A_k (x) n_k.sigma> <= sqrt(n)`` for n = 2, 3 orthonormal n_k,
  Cavalcanti, Jones, Wiseman, Reid, PRA 80, 032112 (2009); hence
  unsteerable => t1 + t2 <= sqrt 2 and t1 + t2 + t3 <= sqrt 3.
* WWZB functional: Zukowski & Brukner, PRL 88, 210401 (2002).
* Singlet monogamy ``V <= (R+2)/(3R)``: Kay, Kaszlikowski, Ramanathan,
  PRL 103, 050501 (2009); two-setting locality for regions with R >= 2:
  Ramanathan et al., PRL 107, 060405 (2011).
* Temple's inequality: (E - E0)(E1 - E) <= var for E0 <= E <= E1, and the
  ground-manifold weight p0 >= 1 - (var + (E - E0)^2) / (E1 - E0)^2.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

import macrobell as mb
from macrobell.observables import bell

PAULI = [np.eye(2, dtype=complex), np.array([[0, 1], [1, 0]], dtype=complex),
         np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0]).astype(complex)]
TOL = 1e-9
PSI_MINUS = np.array([0.0, 1.0, -1.0, 0.0]) / math.sqrt(2.0)
THRESHOLDS = (1 / 3, 0.5, 0.6875, 0.6961, 1 / math.sqrt(2))


# --- oracles (numpy only) ---------------------------------------------------

def kron(*ops):
    out = np.eye(1, dtype=complex)
    for o in ops:
        out = np.kron(out, o)
    return out


def my_pt(rho, qubits):
    n = int(round(math.log2(rho.shape[0])))
    X = rho.reshape((2,) * (2 * n))
    perm = list(range(2 * n))
    for q in qubits:
        perm[q], perm[n + q] = n + q, q
    return X.transpose(perm).reshape(2 ** n, 2 ** n)


def min_eig(X):
    return float(np.linalg.eigvalsh(0.5 * (X + X.conj().T))[0])


def my_T(rho):
    n = int(round(math.log2(rho.shape[0])))
    T = np.zeros((4,) * n)
    for a in itertools.product(range(4), repeat=n):
        T[a] = np.trace(rho @ kron(*[PAULI[i] for i in a])).real
    return T


def rho_of_T(T):
    n = T.ndim
    r = np.zeros((2 ** n,) * 2, dtype=complex)
    for a in itertools.product(range(4), repeat=n):
        if T[a] != 0:
            r += T[a] * kron(*[PAULI[i] for i in a])
    return r / 2 ** n


def obs(n):
    return sum(n[k] * PAULI[k + 1] for k in range(3))


def ext_correlators(rho, settings):
    """Extended correlators (index 0 = not measured) by Kronecker products."""
    ops = [[PAULI[0]] + [obs(np.asarray(v, float)) for v in party] for party in settings]
    shape = tuple(len(o) for o in ops)
    C = np.zeros(shape)
    for i in itertools.product(*[range(s) for s in shape]):
        C[i] = np.trace(rho @ kron(*[ops[X][i[X]] for X in range(len(ops))])).real
    return C


def local_bound_ext(beta):
    """Maximum of ``sum beta * C`` over deterministic strategies, by enumeration."""
    S = [d - 1 for d in beta.shape]
    best = -np.inf
    for strat in itertools.product(*[list(itertools.product([1, -1], repeat=s)) for s in S]):
        v = beta
        for lam in strat:
            v = np.tensordot(v, np.array((1,) + lam, float), axes=([0], [0]))
        best = max(best, float(v))
    return best


def chsh_beta():
    b = np.zeros((3, 3))
    b[1, 1] = b[1, 2] = b[2, 1] = 1
    b[2, 2] = -1
    return b


def i3322_beta():
    """<A1>+<A2>-<B1>-<B2>+<(A1+A2)(B1+B2)>+<A1B3>+<A3B1>-<A2B3>-<A3B2> (Collins & Gisin 2004)."""
    b = np.zeros((4, 4))
    b[1, 0] = b[2, 0] = 1
    b[0, 1] = b[0, 2] = -1
    b[1:3, 1:3] = 1
    b[1, 3] = b[3, 1] = 1
    b[2, 3] = b[3, 2] = -1
    return b


def full_corr(rho, settings):
    K = len(settings)
    E = np.zeros((2,) * K)
    for k in itertools.product((0, 1), repeat=K):
        E[k] = np.trace(rho @ kron(*[obs(settings[X][k[X]]) for X in range(K)])).real
    return E


def wwzb_value(E):
    """``sum_s |sum_k prod_j s_j^{k_j} E(k)|`` (Zukowski & Brukner 2002)."""
    K = E.ndim
    tot = 0.0
    for s in itertools.product((1, -1), repeat=K):
        tot += abs(sum(np.prod([s[j] ** k[j] for j in range(K)]) * E[k]
                       for k in itertools.product((0, 1), repeat=K)))
    return tot


def wwzb_local_bound(K):
    best = 0.0
    for lam in itertools.product((1, -1), repeat=2 * K):
        E = np.zeros((2,) * K)
        for k in itertools.product((0, 1), repeat=K):
            E[k] = np.prod([lam[2 * j + k[j]] for j in range(K)])
        best = max(best, wwzb_value(E))
    return best


def werner(V):
    return V * np.outer(PSI_MINUS, PSI_MINUS) + (1 - V) * np.eye(4) / 4


def werner_component(V, O):
    """(1 (x) U) rho_W(V) (1 (x) U)^dag from B's rotation O: correlation block -V O^T."""
    T = np.zeros((4, 4))
    T[0, 0] = 1
    T[1:, 1:] = -V * (np.eye(3) if O is None else np.asarray(O).T)
    return rho_of_T(T)


def check_cert(rho, cert, tol=TOL):
    """Rebuild sigma from (V, t, frame) and check it PSD and PPT."""
    V, t = cert["V"], cert["t"]
    W = werner_component(V, cert["frame"])
    if t == 0:
        return min_eig(rho - W) >= -tol and np.max(np.abs(rho - W)) <= 1e-8
    s = (rho - (1 - t) * W) / t
    return 0 <= t <= 1 and min_eig(s) >= -tol and min_eig(my_pt(s, [1])) >= -tol


def reproduce_nonlocal(rho, crit, decided):
    """(value, local bound) of the stored violation, recomputed from rho and the stored settings."""
    nv = crit["nonlocal"]
    st = [np.asarray(p, float) for p in nv["settings"]]
    for p in st:
        assert np.allclose(np.linalg.norm(p, axis=1), 1, atol=1e-8)
    name = nv["inequality"]
    if name == "WWZB":
        return wwzb_value(full_corr(rho, st)), wwzb_local_bound(len(st))
    beta = {"CHSH": chsh_beta, "I3322": i3322_beta}.get(name)
    beta = beta() if beta else np.asarray(decided["arrays"]["bell_inequality"])
    return float(np.sum(beta * ext_correlators(rho, st))), local_bound_ext(beta)


def eff_of(rho, sizes=None):
    n = int(round(math.log2(rho.shape[0])))
    lat = mb.lattice.chain(n)
    if sizes is None:
        regions = [[i] for i in range(n)]
    else:
        starts = np.cumsum([0] + list(sizes))
        regions = [list(range(starts[i], starts[i + 1])) for i in range(len(sizes))]
    return mb.observables.effective_state(mb.tn.from_dense(rho, lat), mb.lattice.Partition.custom(lat, regions))


def full_verdict(eff):
    d = bell.decide(eff, settings=[2, 3], restarts=5, seed=0)
    return eff.criteria(bell=d["hook"]), d


def rand_rho(rng, rank, d):
    G = rng.normal(size=(d, rank)) + 1j * rng.normal(size=(d, rank))
    r = G @ G.conj().T
    return r / np.trace(r).real


def haar_u2(rng):
    z = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / abs(np.diag(r)))


def unit_rows(rng, K, S=2):
    out = []
    for _ in range(K):
        s = rng.normal(size=(S, 3))
        out.append(s / np.linalg.norm(s, axis=1)[:, None])
    return out


# --- item 1: verdict levels, two qubits -----------------------------------------

def audit_two_qubit(name, rho, rng, werner_V=None, search_restarts=3):
    """Every soundness condition of one two-qubit verdict; returns (verdict, list of failures)."""
    eff = eff_of(rho)
    c, d = full_verdict(eff)
    v, R, bad = c["verdict"], eff.rho, []
    pm = min_eig(my_pt(R, [0]))
    if not np.allclose(R, rho / np.trace(rho), atol=1e-10):
        bad.append("effective state differs from the input rho")
    if v == "separable" and pm < -TOL:
        bad.append(f"separable but NPT ({pm})")
    if c["entangled"] is True and pm >= 0:
        bad.append("entangled but PPT")
    if c["entangled"] is False and pm < -TOL:
        bad.append("entangled=False but NPT")
    certs = c["werner_certificates"] or {}
    for lvl, cert in certs.items():
        if cert and cert["verified"] and not check_cert(R, cert):
            bad.append(f"verified {lvl} certificate fails the rebuild")
    if v == "local-povm" and not check_cert(R, certs["local-povm"]):
        bad.append("local-povm without a valid certificate")
    if v == "local-projective":
        pc = certs.get("local-projective")
        if not ((pc and pc["verified"] and check_cert(R, pc)) or c["lhs_local"] is True or c["unsteerable"] is True):
            bad.append("local-projective without certificate / LHS / unsteerable")
    s = np.linalg.svd(my_T(R)[1:, 1:], compute_uv=False)
    if c["lhs_local"] is True or c["unsteerable"] is True:
        if s.sum() > math.sqrt(3) + TOL or s[0] + s[1] > math.sqrt(2) + TOL:
            bad.append(f"unsteerable/LHS but a linear steering inequality is violated ({s})")
    if v == "local-correlations" and s[0] > 0.6875 + TOL:
        bad.append("local-correlations with sv_max > 0.6875")
    if v == "nonlocal":
        val, lb = reproduce_nonlocal(R, c, d)
        if not val > lb + TOL:
            bad.append(f"nonlocal not reproduced: {val} <= {lb}")
    if werner_V is not None:
        V = werner_V
        if v == "separable" and V > 1 / 3 + TOL:
            bad.append("separable above V = 1/3")
        if v == "local-povm" and V > 0.5 + TOL:
            bad.append("local-povm above V = 1/2")
        if (c["lhs_local"] or c["unsteerable"]) and V > 0.5 + TOL:
            bad.append("unsteerable above V = 1/2")
        if v == "local-projective" and V > 0.6875 + TOL:
            bad.append("local-projective above V = 0.6875")
        if V > 1 / math.sqrt(2) + 1e-12 and v != "nonlocal":
            bad.append("CHSH violation missed")
    certified = v in ("separable", "local-povm", "local-projective") or c["lhs_local"] is True
    if certified:
        for S in (2, 3):
            if bell.search(eff, settings=S, restarts=search_restarts, seed=1).violated:
                bad.append(f"certified local ({v}) but bell.search S={S} violates")
    if certified or v in ("local-correlations", "local-2-setting"):
        for st in (unit_rows(rng, 2) for _ in range(30)):
            E = full_corr(R, st)
            if max(abs(E[0, 0] + E[0, 1] + E[1, 0] - E[1, 1]), abs(E[0, 0] - E[0, 1] + E[1, 0] + E[1, 1])) > 2 + TOL:
                bad.append(f"{v} but a CHSH value > 2")
                break
    return v, [f"{name}: {b}" for b in bad]


def two_qubit_family(rng, deltas, n_random):
    out = []
    for V0 in THRESHOLDS:
        for dv in deltas:
            V = V0 + dv
            U = np.kron(haar_u2(rng), haar_u2(rng))
            sep = np.kron(rand_rho(rng, 1, 2), rand_rho(rng, 1, 2))
            out += [(f"werner({V!r})", werner(V), V), (f"rotated werner({V!r})", U @ werner(V) @ U.conj().T, V),
                    (f"0.97 werner({V!r}) + 0.03 product", 0.97 * werner(V) + 0.03 * sep, None)]
    for rank in (1, 2, 3, 4):
        out += [(f"random rank {rank}", rand_rho(rng, rank, 4), None) for _ in range(n_random)]
    for _ in range(n_random):
        T = np.zeros((4, 4))
        T[0, 0] = 1
        T[1:, 1:] = np.diag(rng.uniform(-1, 1, 3) * rng.uniform(0, 1))
        if min_eig(rho_of_T(T)) >= 0:
            out.append(("T-state", rho_of_T(T), None))
        V, a = rng.uniform(0.3, 0.75), rng.normal(size=3)
        r = werner(V) + np.kron(obs(a * rng.uniform(0, 0.3) / np.linalg.norm(a)), np.eye(2)) / 4
        if min_eig(r) >= 0:
            out.append(("werner + Bloch vector", r, None))
    return out


def test_two_qubit_verdicts_sound_fast():
    rng = np.random.default_rng(2026)
    fam = [f for f in two_qubit_family(rng, (-1e-6, 1e-6), 1) if not f[0].startswith("0.97")]
    seen, bad = set(), []
    for name, rho, V in fam:
        v, b = audit_two_qubit(name, rho, rng, werner_V=V, search_restarts=1)
        seen.add(v)
        bad += b
    assert not bad, bad
    # the family reaches every two-qubit level, so every row was exercised
    assert {"separable", "local-povm", "local-projective", "local-2-setting", "nonlocal"} <= seen


@pytest.mark.slow
def test_two_qubit_verdicts_sound_many():
    rng = np.random.default_rng(7)
    fam = two_qubit_family(rng, (-1e-3, -1e-6, 0.0, 1e-6, 1e-3), 6)
    counts, bad = {}, []
    for name, rho, V in fam:
        v, b = audit_two_qubit(name, rho, rng, werner_V=V)
        counts[v] = counts.get(v, 0) + 1
        bad += b
    assert not bad, bad
    assert len(counts) == 6, counts


def test_werner_levels_at_thresholds():
    """Exact Werner states: the level flips exactly at each proven threshold."""
    expect = [(1 / 3, "separable"), (0.5, "local-povm"), (0.6875, "local-projective"),
              (1 / math.sqrt(2), "local-2-setting")]
    rng = np.random.default_rng(3)
    for V, level in expect:
        for dv, lvl in ((-1e-7, level), (0.0, level)):
            U = np.kron(haar_u2(rng), haar_u2(rng))
            for rho in (werner(V + dv), U @ werner(V + dv) @ U.conj().T):
                assert eff_of(rho).criteria()["verdict"] == lvl, (V + dv, lvl)
        above = eff_of(werner(V + 1e-7)).criteria()["verdict"]
        assert above != level, (V, above)


def test_unsteerable_obeys_linear_steering_inequalities():
    """``unsteerable`` (Jevtic / Bowles) never violates the 2- and 3-setting linear steering inequalities."""
    from macrobell.observables.criteria import steering  # the flag under test, not an oracle
    rng = np.random.default_rng(5)
    n = n_uns = 0
    for _ in range(400):
        kind = rng.integers(3)
        if kind == 0:
            T = np.zeros((4, 4))
            T[0, 0] = 1
            T[1:, 1:] = np.diag(rng.uniform(-1, 1, 3) * rng.uniform(0.3, 1))
        elif kind == 1:
            T = my_T(rand_rho(rng, int(rng.integers(1, 5)), 4))
            T[1:, 1:] *= rng.uniform(0.3, 1)
            T[1:, 0] *= rng.uniform(0, 1)
            T[0, 1:] *= rng.uniform(0, 1)
        else:
            T = np.zeros((4, 4))
            T[0, 0] = 1
            t = rng.uniform(0.5, 0.8)
            T[1, 1], T[2, 2], T[3, 3] = t, -t * rng.uniform(0.9, 1), rng.uniform(-0.2, 0.2)
            a = rng.normal(size=3)
            T[1:, 0] = a / np.linalg.norm(a) * rng.uniform(0, 0.3)
        if min_eig(rho_of_T(T)) < 0:
            continue
        n += 1
        if steering(T)[2]:
            n_uns += 1
            s = np.linalg.svd(T[1:, 1:], compute_uv=False)
            assert s.sum() <= math.sqrt(3) + TOL and s[0] + s[1] <= math.sqrt(2) + TOL, (T, s)
    assert n > 150 and n_uns > 50


# --- item 1: K = 3, 4 ---------------------------------------------------------

def ghz(K):
    v = np.zeros(2 ** K)
    v[0] = v[-1] = 1 / math.sqrt(2)
    return np.outer(v, v)


def w_state(K):
    v = np.zeros(2 ** K)
    for j in range(K):
        v[1 << j] = 1 / math.sqrt(K)
    return np.outer(v, v)


def my_wwzb_max(rho, K, rng, starts):
    """Own maximisation of the WWZB functional over angles (Nelder-Mead, random starts)."""
    from scipy.optimize import minimize

    def vec(th, ph):
        return np.array([math.sin(th) * math.cos(ph), math.sin(th) * math.sin(ph), math.cos(th)])

    def f(x):
        x = x.reshape(K, 2, 2)
        return -wwzb_value(full_corr(rho, [np.array([vec(*x[j, 0]), vec(*x[j, 1])]) for j in range(K)]))

    best = 0.0
    for _ in range(starts):
        r = minimize(f, rng.uniform(0, 2 * np.pi, 4 * K), method="Nelder-Mead",
                     options=dict(maxiter=1500, xatol=1e-7, fatol=1e-10))
        best = max(best, -r.fun)
    return best / 2 ** K


def audit_multi(name, rho, rng, n_random, opt_starts):
    K = int(round(math.log2(rho.shape[0])))
    eff = eff_of(rho)
    c, d = full_verdict(eff)
    v, R, bad = c["verdict"], eff.rho, []
    if c["entangled"] is True and min(min_eig(my_pt(R, [X])) for X in range(K)) >= 0:
        bad.append("entangled but every region cut PPT")
    if v in ("separable", "local-povm", "local-projective", "local-correlations"):
        bad.append(f"two-qubit level {v} for K = {K}")
    if v == "nonlocal":
        val, lb = reproduce_nonlocal(R, c, d)
        if not val > lb + TOL:
            bad.append(f"nonlocal not reproduced: {val} <= {lb}")
    if v == "local-2-setting":
        mx = max(wwzb_value(full_corr(R, unit_rows(rng, K))) for _ in range(n_random)) / 2 ** K
        if opt_starts:
            mx = max(mx, my_wwzb_max(R, K, rng, opt_starts))
        if mx > 1 + TOL:
            bad.append(f"local-2-setting but WWZB ratio {mx} > 1")
    return v, [f"{name}: {b}" for b in bad]


def test_wwzb_local_bound_oracle():
    assert wwzb_local_bound(2) == 4 and wwzb_local_bound(3) == 8


def test_multipartite_verdicts_sound_fast():
    rng = np.random.default_rng(3)
    bad, seen = [], {}
    p3 = 0.5  # WWZB/Mermin threshold of noisy GHZ_3: ratio = 2 p
    states = [("ghz3", ghz(3), None), ("w3", w_state(3), None)]
    for p in (p3, p3 + 1e-6):
        states.append((f"noisy ghz3 p={p!r}", p * ghz(3) + (1 - p) * np.eye(8) / 8, p))
    for name, rho, p in states:
        v, b = audit_multi(name, rho, rng, n_random=100, opt_starts=0)
        seen[name] = v
        bad += b
        if p is not None and p > p3 + 1e-9 and v != "nonlocal":
            bad.append(f"{name}: violation missed ({v})")
    assert not bad, bad
    assert seen["ghz3"] == seen["w3"] == "nonlocal"
    assert seen[f"noisy ghz3 p={p3!r}"] == "local-2-setting"


@pytest.mark.slow
def test_multipartite_verdicts_sound_many():
    rng = np.random.default_rng(4)
    bad = []
    for K in (3, 4):
        pth = 2 ** (-(K - 1) / 2)
        states = [(f"ghz{K}", ghz(K), None), (f"w{K}", w_state(K), None)]
        # K = 4: decide with 3 settings per party costs ~1-2 min per state, so only the threshold is swept
        for p in ((pth - 1e-3, pth - 1e-6, pth, pth + 1e-6, pth + 1e-3, 0.2, 0.9) if K == 3 else (pth, pth + 1e-6)):
            states.append((f"noisy ghz{K} p={p!r}", p * ghz(K) + (1 - p) * np.eye(2 ** K) / 2 ** K, p))
        if K == 4:
            states = states[2:]
        for rank in ((1, 2, 2 ** K) if K == 3 else ()):
            states += [(f"random K={K} rank {rank}", rand_rho(rng, rank, 2 ** K), None) for _ in range(2)]
        for _ in range(2 if K == 3 else 0):
            q = rng.uniform(0.2, 0.6)
            states.append((f"noisy random K={K}", q * rand_rho(rng, 2, 2 ** K) + (1 - q) * np.eye(2 ** K) / 2 ** K, None))
        for name, rho, p in states:
            v, b = audit_multi(name, rho, rng, n_random=300, opt_starts=2 if K == 3 else 0)
            bad += b
            if p is not None and p > pth + 1e-9 and v != "nonlocal":
                bad.append(f"{name}: violation missed ({v})")
    assert not bad, bad


# --- item 3: the seed's claims on SU(2)-invariant states -----------------------

def site_op(op, i, N):
    return kron(*[op if j == i else PAULI[0] for j in range(N)])


def heisenberg_dense(N, couplings):
    H = np.zeros((2 ** N,) * 2, dtype=complex)
    for (i, j), J in couplings.items():
        for a in (1, 2, 3):
            H += J * site_op(PAULI[a], i, N) @ site_op(PAULI[a], j, N) / 4
    return H


def su2_states(rng, N):
    """Thermal state, random mixture of SU(2) multiplets and ground multiplet of a random Heisenberg model."""
    H = heisenberg_dense(N, {(i, j): rng.normal() for i in range(N) for j in range(i + 1, N)})
    w, U = np.linalg.eigh(H)
    groups = []
    for k, e in enumerate(w):
        if groups and abs(e - w[groups[-1][0]]) < 1e-8:
            groups[-1].append(k)
        else:
            groups.append([k])
    p = np.exp(-rng.uniform(0.2, 5) * (w - w[0]))
    q = np.zeros(len(w))
    for g in groups:
        q[g] = rng.exponential() * (rng.random() < 0.5)
    q[groups[0]] += 1e-3
    g0 = np.zeros(len(w))
    g0[groups[0]] = 1
    return [("thermal", (U * p) @ U.conj().T / p.sum()), ("multiplet mixture", (U * q) @ U.conj().T / q.sum()),
            ("ground multiplet", (U * g0) @ U.conj().T / g0.sum())]


def saturating_state(R):
    """Spin A coupled antiferromagnetically to a ferromagnetic block B of R spins: V = (R+2)/(3R)."""
    N = R + 1
    c = {(0, j): 1.0 for j in range(1, N)}
    c.update({(i, j): -10.0 for i in range(1, N) for j in range(i + 1, N)})
    w, U = np.linalg.eigh(heisenberg_dense(N, c))
    P = U[:, np.abs(w - w[0]) < 1e-8]
    return P @ P.conj().T / P.shape[1]


def audit_su2(sizes, rho, name):
    eff = eff_of(rho, sizes=sizes)
    R = max(sizes)
    T = my_T(eff.rho)
    V = -(T[1, 1] + T[2, 2] + T[3, 3]) / 3
    bad = []
    if V > (R + 2) / (3 * R) + TOL:
        bad.append(f"monogamy V = {V} > {(R + 2) / (3 * R)}")
    s = bell.search(eff, settings=2, restarts=5, seed=0)
    if s.violated:
        bad.append(f"two-setting violation with R = {R} (visibility {s.visibility})")
    if not eff.criteria()["monogamy_ok"]:
        bad.append("monogamy_ok False")
    return V, [f"{name} {sizes}: {b}" for b in bad]


def test_monogamy_bound_is_reached_and_respected():
    for R in (2, 3):
        V, bad = audit_su2((1, R), saturating_state(R), "saturating")
        assert not bad, bad
        assert V == pytest.approx((R + 2) / (3 * R), abs=1e-9)


def test_su2_regions_never_violate_two_settings_fast():
    rng = np.random.default_rng(11)
    bad = []
    for sizes, N in (((1, 2), 3), ((2, 2), 4)):
        for name, rho in su2_states(rng, N) + [("generic", rand_rho(rng, 1, 2 ** N))]:
            bad += audit_su2(sizes, rho, name)[1]
    assert not bad, bad


@pytest.mark.slow
def test_su2_regions_never_violate_two_settings_many():
    rng = np.random.default_rng(12)
    bad, n = [], 0
    for sizes, N in (((1, 2), 3), ((2, 2), 4), ((1, 3), 4), ((2, 3), 5), ((1, 4), 5), ((3, 3), 6), ((2, 2), 5)):
        sts = su2_states(rng, N) + su2_states(rng, N) + [("generic", rand_rho(rng, r, 2 ** N)) for r in (1, 3)]
        for name, rho in sts:
            bad += audit_su2(sizes, rho, name)[1]
            n += 1
    assert n == 56 and not bad, bad


# --- item 2: converged flags against exact diagonalisation ----------------------

def model_dense(lat, J=1.0, Delta=1.0, J2=0.0, h=0.0):
    """H = sum J (SxSx + SySy + Delta SzSz) + J2 (nnn) - h sum Sz, S = sigma/2."""
    N = len(lat.positions)
    H = np.zeros((2 ** N,) * 2, dtype=complex)
    for key, c in (("nn", J), ("nnn", J2)):
        if c == 0:
            continue
        for i, j in np.asarray(lat.bonds[key]):
            for a, w in ((1, 1.0), (2, 1.0), (3, Delta)):
                H += c * w * site_op(PAULI[a], i, N) @ site_op(PAULI[a], j, N) / 4
    for i in range(N):
        H -= h * site_op(PAULI[3], i, N) / 2
    return H


def mps_vector(state, lat):
    arrs = state.arrays(canonical="right")
    v = arrs[0]
    for A in arrs[1:]:
        v = np.tensordot(v, A, axes=([-1], [0]))
    v = v.reshape((2,) * len(arrs))
    order = list(getattr(lat, "order", range(len(arrs))))
    v = v.transpose(np.argsort(order)).reshape(-1)
    return v / np.linalg.norm(v)


def audit_dmrg(lat, kw, opts, parts):
    H = model_dense(lat, **kw)
    w, U = np.linalg.eigh(H)
    E0, E1 = w[0], w[w > w[0] + 1e-8][0]
    model = mb.lattice.heisenberg(lat, **kw)
    exact = mb.tn.ground_state(model, "exact")
    assert exact.energy == pytest.approx(E0, abs=1e-8)  # the exact backend agrees with this file's H
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st = mb.tn.ground_state(model, "dmrg", **opts)
    psi = mps_vector(st, lat)
    E = float((psi.conj() @ H @ psi).real)
    var = float((psi.conj() @ H @ H @ psi).real) - E ** 2
    p0 = float(np.sum(np.abs(U[:, np.abs(w - E0) < 1e-8].conj().T @ psi) ** 2))
    dT = max(np.max(np.abs(mb.observables.effective_state(st, p).T - mb.observables.effective_state(exact, p).T))
             for p in parts)
    N = len(lat.positions)
    if st.diagnostics.converged:
        assert abs(st.energy - E) < 1e-8  # the reported energy is <H> of the returned MPS
        assert var <= 1e-5 * N * (1 + 1e-6) + 1e-12  # VARIANCE_TOL_PER_SITE * N, recomputed here
        assert E - E0 <= var / (E1 - E) + 1e-10  # Temple
        leak = max(var + (E - E0) ** 2, 0.0) / (E1 - E0) ** 2
        assert 1 - p0 <= leak + 1e-10
        if np.sum(np.abs(w - E0) < 1e-8) == 1:
            # |<O>_psi - <O>_gs| <= 2 ||O|| sqrt(1 - p0); with a degenerate manifold and degenerate="warn"
            # the state is one (seed-dependent) member, documented as not the T -> 0 mixture
            assert dT <= 2 * math.sqrt(leak) + 1e-8
    return st.diagnostics.converged, E - E0, dT


def test_dmrg_converged_flag_small_chain():
    lat = mb.lattice.chain(6)
    parts = [mb.lattice.Partition.custom(lat, [[0, 1], [4, 5]])]
    conv, dE, _ = audit_dmrg(lat, dict(J=1.0, J2=0.3), dict(bond_dim=3, seed=0), parts)
    assert not conv or dE < 1e-3
    conv, dE, _ = audit_dmrg(lat, dict(J=1.0, h=0.2), dict(bond_dim=16, seed=0), parts)
    assert conv and dE < 1e-9


@pytest.mark.slow
def test_dmrg_converged_flag_adversarial():
    ch, lad = mb.lattice.chain(8), mb.lattice.ladder(4)
    pch = [mb.lattice.Partition.custom(ch, [[0, 1, 2], [5, 6, 7]]), mb.lattice.Partition.custom(ch, [[3], [4]])]
    plad = [mb.lattice.Partition.custom(lad, [[0, 1], [6, 7]]), mb.lattice.Partition.custom(lad, [[2], [5]])]
    n_conv = 0
    for lat, kw, opts, parts in [
            (ch, dict(J=1.0), dict(bond_dim=2, seed=0), pch), (ch, dict(J=1.0), dict(bond_dim=4, seed=0), pch),
            (ch, dict(J=1.0), dict(bond_dim=8, seed=0), pch), (ch, dict(J=1.0, J2=0.5), dict(bond_dim=4, seed=0), pch),
            (ch, dict(J=1.0, h=0.3), dict(bond_dim=6, seed=1), pch),
            (lad, dict(J=1.0), dict(bond_dim=4, seed=0), plad),
            (lad, dict(J=1.0), dict(bond_dim=8, seed=0, algorithm="dmrg1"), plad),
            (lad, dict(J=1.0, J2=0.4, h=0.2), dict(bond_dim=6, seed=0, tol=1e-5), plad),
            (lad, dict(J=1.0), dict(bond_dim=16, seed=0), plad)]:
        n_conv += bool(audit_dmrg(lat, kw, opts, parts)[0])
    assert n_conv >= 3


def audit_purification(lat, kw, opts, temps, parts):
    """Returns [(converged, error_estimate, |dE|/N, max |dT|)] against this file's dense thermal state."""
    model = mb.lattice.heisenberg(lat, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sts = mb.tn.thermal_states(model, temps, "purification", **opts)
    exact = mb.tn.thermal_states(model, temps, "exact")
    N = len(lat.positions)
    w = np.linalg.eigvalsh(model_dense(lat, **kw))
    out = []
    for T, s, e in zip(temps, sts, exact):
        p = np.exp(-(w - w[0]) / T)
        errE = abs(s.diagnostics.energy - float(np.sum(p * w) / p.sum())) / N
        dT = max(np.max(np.abs(mb.observables.effective_state(s, q).T - mb.observables.effective_state(e, q).T))
                 for q in parts)
        out.append((bool(s.diagnostics.converged), s.info["error_estimate"], errE, dT))
    return out


# audit F1 (fixed): when beta/2 <= dtau the 2*dtau run repeated the single shortened step, the Richardson
# estimate came out 0 and converged=True hid an O(dtau^2) error; such temperatures are now checked at dtau/2
def test_purification_converged_bounds_error_single_step():
    lat = mb.lattice.chain(6)
    parts = [mb.lattice.Partition.custom(lat, [[0, 1], [4, 5]])]
    tol = 1e-4
    for conv, est, errE, dT in audit_purification(lat, dict(J=1.0), dict(bond_dim=64, dtau=0.5, order=2,
                                                                         error_tol=tol), [1.0], parts):
        assert not conv or (errE <= tol and dT <= tol), (conv, est, errE, dT)


# audit F1 (fixed): dtau = 1, order 2, T = 1 reported an estimate of 6e-8 for an energy error of 1.09e-3 per site
def test_purification_converged_default_tol_large_dtau():
    lat = mb.lattice.chain(8)
    parts = [mb.lattice.Partition.custom(lat, [[0, 1, 2], [5, 6, 7]])]
    for conv, est, errE, dT in audit_purification(lat, dict(J=1.0), dict(bond_dim=16, dtau=1.0, order=2),
                                                  [1.0], parts):
        assert not conv or (errE <= 1e-3 and dT <= 1e-3), (conv, est, errE, dT)


@pytest.mark.slow
def test_purification_converged_flag_adversarial():
    ch, lad = mb.lattice.chain(8), mb.lattice.ladder(4)
    pch = [mb.lattice.Partition.custom(ch, [[0, 1, 2], [5, 6, 7]]), mb.lattice.Partition.custom(ch, [[3], [4]])]
    plad = [mb.lattice.Partition.custom(lad, [[0, 1], [6, 7]]), mb.lattice.Partition.custom(lad, [[2], [5]])]
    temps = [0.3, 1.0, 3.0]
    bad, n_conv = [], 0
    # dtau small enough that every beta/2 spans several steps (the failing single-step case is xfailed above)
    for lat, kw, opts, parts in [
            (ch, dict(J=1.0), dict(bond_dim=4), pch), (ch, dict(J=1.0), dict(bond_dim=8, dtau=0.05, order=2), pch),
            (ch, dict(J=1.0), dict(bond_dim=6, dtau=0.05, order=2, error_tol=0.0086), pch),
            (ch, dict(J=1.0, J2=0.5, h=0.4), dict(bond_dim=8, dtau=0.05, order=2), pch),
            (lad, dict(J=1.0, J2=0.5, h=0.4), dict(bond_dim=16, dtau=0.05), plad)]:
        tol = opts.get("error_tol", 1e-3)
        for conv, est, errE, dT in audit_purification(lat, kw, opts, temps, parts):
            n_conv += conv
            if conv and (errE > tol or dT > tol):
                bad.append((opts, conv, est, errE, dT))
    assert not bad, bad
    assert n_conv >= 3


@pytest.mark.slow
def test_dmrg_converged_flag_degenerate_doublet():
    """Odd chain (S = 1/2 doublet, degenerate="warn"): the flag certifies energy and variance only."""
    lat = mb.lattice.chain(7)
    parts = [mb.lattice.Partition.custom(lat, [[0, 1], [5, 6]])]
    for opts in (dict(bond_dim=4, seed=0), dict(bond_dim=16, seed=3)):
        audit_dmrg(lat, dict(J=1.0, J2=0.2), opts, parts)


@pytest.mark.slow
def test_peps_converged_flag_on_product_ground_states():
    """Where D is exact (product ground states) converged bounds the energy error per site (tn/peps.py)."""
    lat = mb.lattice.ladder(3)
    N = len(lat.positions)
    for kw, opts in ((dict(J=1.0, h=10.0), dict(bond_dim=1, steps=30, seed=0)),
                     (dict(J=-1.0, h=0.5), dict(bond_dim=2, steps=30, seed=0, init="random")),
                     (dict(J=1.0, h=10.0), dict(bond_dim=2, steps=20, seed=0, tau=(1.0, 0.5)))):
        model = mb.lattice.heisenberg(lat, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st = mb.tn.ground_state(model, "peps", **opts)
        E0 = np.linalg.eigvalsh(model_dense(lat, **kw))[0]
        tol = opts.get("tol", 1e-4)
        if st.diagnostics.converged:
            assert abs(st.energy - E0) / N <= tol, (kw, opts, st.energy, E0)


def my_reduced(rho, keep):
    """Reduced state on the sites ``keep`` (in that order), by explicit partial trace."""
    n = int(round(math.log2(rho.shape[0])))
    X = rho.reshape((2,) * (2 * n))
    rest = [q for q in range(n) if q not in keep]
    X = X.transpose(list(keep) + rest + [n + q for q in keep] + [n + q for q in rest])
    k = 2 ** len(keep)
    X = X.reshape(k, 2 ** len(rest), k, 2 ** len(rest))
    return np.einsum("ajbj->ab", X)


def test_effective_state_matches_own_average_of_reduced_states():
    """Seed eq. 4: rho_eff = (1 / N_A N_B) sum_{l in A, m in B} rho_{lm}; a site outside both is traced out."""
    rng = np.random.default_rng(21)
    rho = rand_rho(rng, 3, 2 ** 5)
    lat = mb.lattice.chain(5)
    regions = [[0, 1], [3, 4]]
    eff = mb.observables.effective_state(mb.tn.from_dense(rho, lat), mb.lattice.Partition.custom(lat, regions))
    want = sum(my_reduced(rho, [l, m]) for l in regions[0] for m in regions[1]) / 4
    assert np.allclose(eff.rho, want, atol=1e-12)
    assert np.allclose(eff.T, my_T(want), atol=1e-12)


@pytest.mark.xfail(strict=True, reason="werner_frame: for B rotations within ~1e-7 of pi (but not pi) the axis-angle "
                   "branch returns the rotation by exactly pi, off by ~1e-9, so the Werner certificate of a state "
                   "exactly at the threshold fails and the verdict drops a level (sound but incomplete)")
def test_rotated_werner_near_pi_keeps_its_level():
    eps = 1e-8
    a = math.pi - eps
    U = math.cos(a / 2) * np.eye(2) - 1j * math.sin(a / 2) * PAULI[1]
    K_ = np.kron(np.eye(2), U)
    for V, level in ((0.5, "local-povm"), (0.6875, "local-projective")):
        rho = K_ @ werner(V) @ K_.conj().T
        assert eff_of(rho).criteria()["verdict"] == level
