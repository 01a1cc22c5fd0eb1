"""The ground manifold of the dense DMRG path: orthogonal partners by penalised two-site DMRG, and mixtures.

Private to :mod:`macrobell.tn.dmrg` (the U(1) engine, :mod:`macrobell.tn._dmrg_u1_search`, shares
:func:`mixture` and the constants). A (near-)degenerate ground manifold (odd SU(2) chains, the
Majumdar-Ghosh ring, ...) makes DMRG converge to one seed-dependent member, not the T -> 0 mixture. The
partners are the ground states of ``H + w Σ_j |ψ_j><ψ_j|`` (``w`` = :data:`GAP_PENALTY`; the
penalised-projector method of excited-state DMRG, e.g. Stoudenmire & White, Annu. Rev. Condens. Matter
Phys. 3, 111 (2012)), found by a plain two-site DMRG (White, PRL 69, 2863 (1992)) written here on
macrobell's MPO arrays ``W (Dl, Dr, out, in)`` and MPS arrays ``(χl, 2, χr)``.
"""

from __future__ import annotations

import numpy as np

from ._dmrg_common import gap_window, quimb_mps
from .mpo import mpo_moments
from .state import Diagnostics, MixtureState, MPSState, _right_canonical

#: Penalty ``w`` of ``H + w Σ_j |ψ_j><ψ_j|`` (units of the coupling): gaps are resolved up to ``w``.
GAP_PENALTY = 1.0
#: Bond dimension of the cheap first gap estimate (capped at ``bond_dim``).
GAP_CHECK_BOND = 16
#: Largest ground-manifold dimension searched for.
MAX_MANIFOLD = 4
#: Half-sweeps of the cheap gap estimate and the most of its refinement.
_GAP_SWEEPS, _GAP_REFINE_SWEEPS = 4, 20


def _random_arrays(n, chi, rng, dtype):
    bonds = [1] + [int(min(chi, 2 ** min(k, n - k))) for k in range(1, n)] + [1]
    out = []
    for k in range(n):
        a = rng.standard_normal((bonds[k], 2, bonds[k + 1]))
        if np.issubdtype(np.dtype(dtype), np.complexfloating):
            a = a + 1j * rng.standard_normal(a.shape)
        out.append(a.astype(dtype))
    return _right_canonical(out)


def _h_left(L, A, W):
    """Left environment ``L[b, w, k]`` of ``<ψ|H|ψ>`` moved past site ``A (k, s, r)``."""
    x = np.tensordot(L, A, ([2], [0]))              # b w s r
    x = np.tensordot(x, W, ([1, 2], [0, 3]))        # b r v t
    return np.tensordot(x, A.conj(), ([0, 3], [0, 1])).transpose(2, 1, 0)


def _h_right(R, A, W):
    x = np.tensordot(A, R, ([2], [2]))              # k s c v
    x = np.tensordot(x, W, ([1, 3], [3, 1]))        # k c w t
    return np.tensordot(x, A.conj(), ([1, 3], [2, 1])).transpose(2, 1, 0)


def _o_left(L, B, A):
    """Left environment ``L[x, y]`` of ``<φ|ψ>`` (``B`` of φ, ``A`` of ψ)."""
    return np.tensordot(B.conj(), np.tensordot(L, A, ([1], [0])), ([0, 1], [0, 1]))


def _o_right(R, B, A):
    return np.tensordot(B.conj(), np.tensordot(A, R, ([2], [1])), ([1, 2], [1, 2]))


def _local_overlap_vector(Lo, Bi, Bj, Ro):
    """``g`` with ``<φ|ψ> = Σ g θ`` for the two-site tensor ``θ`` of ψ."""
    t = np.tensordot(Lo.conj(), Bi, ([0], [0]))     # y s z
    t = np.tensordot(t, Bj, ([2], [0]))             # y s t u
    return np.tensordot(t, Ro.conj(), ([3], [0])).conj()


def _h_eff(Lh, Wi, Wj, Rh, theta):
    """``H_eff θ`` on two sites; ``θ (χl, 2, 2, χr)``."""
    x = np.tensordot(Lh, theta, ([2], [0]))       # b w s p r
    x = np.tensordot(x, Wi, ([1, 2], [0, 3]))     # b p r v t
    x = np.tensordot(x, Wj, ([3, 1], [0, 3]))     # b r t u q
    x = np.tensordot(x, Rh, ([3, 1], [1, 2]))     # b t q c
    return x


def _local_ground(Lh, Wi, Wj, Rh, gs, theta0, penalty):
    """Lowest eigenpair of ``H_eff + w Σ_g g* g^T`` (``g``: the penalised states in the local basis)."""
    import scipy.sparse.linalg as spla

    shape = theta0.shape
    dim = theta0.size
    dtype = np.result_type(theta0, Wi, *gs)
    flat = [g.reshape(-1) for g in gs]

    def mv(v):
        v = v.reshape(shape)
        out = _h_eff(Lh, Wi, Wj, Rh, v).reshape(-1)
        vf = v.reshape(-1)
        for g in flat:
            out = out + penalty * g.conj() * np.dot(g, vf)
        return out

    if dim <= 256:
        H = np.column_stack([mv(e) for e in np.eye(dim, dtype=dtype)])
        w, v = np.linalg.eigh((H + H.conj().T) / 2)
        return float(w[0]), v[:, 0].reshape(shape)
    op = spla.LinearOperator((dim, dim), matvec=mv, dtype=dtype)
    w, v = spla.eigsh(op, k=1, which="SA", v0=theta0.reshape(-1), tol=1e-10, ncv=min(dim, 20))
    return float(w[0]), v[:, 0].reshape(shape)


def _penalised_dmrg(W, fixed, A, chi, half_sweeps, tol, penalty):
    """Two-site DMRG for the ground state of ``H + w Σ_j |φ_j><φ_j|`` from right-canonical arrays ``A``.

    ``fixed``: right-canonical arrays of the states ``φ_j``. Returns ``(A, λ, energies)`` with ``λ`` the
    penalised energy after the last half-sweep (variational: an upper bound of the penalised ground energy),
    plus the discarded weight of the last half-sweep's splits (``(A, λ, energies, weight)``).
    """
    n = len(A)
    A = list(A)
    one3, one2 = np.ones((1, 1, 1)), np.ones((1, 1))
    Lh, Rh = [one3] + [None] * n, [None] * n + [one3]
    Lo = [[one2] + [None] * n for _ in fixed]
    Ro = [[None] * n + [one2] for _ in fixed]
    for k in range(n - 1, 0, -1):
        Rh[k] = _h_right(Rh[k + 1], A[k], W[k])
        for j, B in enumerate(fixed):
            Ro[j][k] = _o_right(Ro[j][k + 1], B[k], A[k])
    lams = []
    for sweep in range(half_sweeps):
        right = sweep % 2 == 0
        disc = 0.0
        for i in (range(n - 1) if right else range(n - 2, -1, -1)):
            theta = np.tensordot(A[i], A[i + 1], ([2], [0]))
            gs = [_local_overlap_vector(Lo[j][i], B[i], B[i + 1], Ro[j][i + 2]) for j, B in enumerate(fixed)]
            lam, theta = _local_ground(Lh[i], W[i], W[i + 1], Rh[i + 2], gs, theta, penalty)
            chl, chr_ = theta.shape[0], theta.shape[3]
            u, s, vh = np.linalg.svd(theta.reshape(chl * 2, 2 * chr_), full_matrices=False)
            keep = max(1, min(chi, int(np.count_nonzero(s > 1e-14 * s[0]))))
            disc += max(0.0, 1.0 - float(np.dot(s[:keep], s[:keep])) / float(np.dot(s, s)))
            u, s, vh = u[:, :keep], s[:keep] / np.linalg.norm(s[:keep]), vh[:keep]
            if right:
                A[i], A[i + 1] = u.reshape(chl, 2, keep), (s[:, None] * vh).reshape(keep, 2, chr_)
                Lh[i + 1] = _h_left(Lh[i], A[i], W[i])
                for j, B in enumerate(fixed):
                    Lo[j][i + 1] = _o_left(Lo[j][i], B[i], A[i])
            else:
                A[i], A[i + 1] = (u * s).reshape(chl, 2, keep), vh.reshape(keep, 2, chr_)
                Rh[i + 1] = _h_right(Rh[i + 2], A[i + 1], W[i + 1])
                for j, B in enumerate(fixed):
                    Ro[j][i + 1] = _o_right(Ro[j][i + 2], B[i + 1], A[i + 1])
        lams.append(lam)
        if len(lams) >= 2 and abs(lams[-1] - lams[-2]) < tol:
            break
    return _right_canonical(A), lams[-1], lams, disc  # right-canonical and normalised for the caller


def _overlap(B, A):
    o = np.ones((1, 1))
    for b, a in zip(B, A):
        o = _o_left(o, b, a)
    return complex(o.reshape(-1)[0])


def ground_manifold(W, arrays0, e0, bond_dim, tol, degeneracy_tol, seed, dtype, err_at_check):
    """Orthogonal partners of ``arrays0`` within ``degeneracy_tol`` of ``e0``, and the gap above them.

    Each partner: a cheap penalised run (bond :data:`GAP_CHECK_BOND`, a few half-sweeps); only if its
    gap estimate is below ``1e-3 + 10 err_at_check`` (``err_at_check``: how far the main run's energy at
    that bond dimension was above ``e0``) is it refined at ``bond_dim`` to convergence. Returns
    ``(partners, gap, n_penalised_sweeps, refined_converged)``; ``gap`` is an upper estimate of
    ``min(E_next − E0, w)`` (``nan`` if :data:`MAX_MANIFOLD` states were found without reaching a gap);
    ``refined_converged``: every refinement met ``tol`` before its sweep limit. ``partners`` are
    ``(arrays, discarded weight of their last half-sweep)``.
    """
    rng = np.random.default_rng(seed if seed is None else [int(seed), 11])
    fixed, weights, sweeps, ok = [arrays0], [], 0, True
    chi_c = min(bond_dim, GAP_CHECK_BOND)
    gap = float("nan")
    for _ in range(MAX_MANIFOLD - 1):
        A = _random_arrays(len(W), chi_c, rng, dtype)
        A, lam, lams, disc = _penalised_dmrg(W, fixed, A, chi_c, _GAP_SWEEPS, tol, GAP_PENALTY)
        sweeps += len(lams)
        gap = lam - e0
        if gap > gap_window(err_at_check):  # clearly gapped: the cheap estimate settles it
            break
        A, lam, lams, disc = _penalised_dmrg(W, fixed, A, bond_dim, _GAP_REFINE_SWEEPS, tol, GAP_PENALTY)
        sweeps += len(lams)
        ok = ok and len(lams) < _GAP_REFINE_SWEEPS
        gap = lam - e0
        if gap > degeneracy_tol:
            break
        fixed.append(A)
        weights.append(disc)
    else:  # the manifold may be larger than MAX_MANIFOLD
        gap = float("nan")
    return list(zip(fixed[1:], weights)), gap, sweeps, ok


def mixture(model, first, partners, ham, converged, messages):
    """Equal mixture of ``first`` and the partner states (right-canonical arrays, discarded weight), as a
    MixtureState.

    Partners get their own record: ``energy`` and ``energy_variance`` from the MPO, ``discarded_weight``
    of their last penalised half-sweep, ``converged`` = every refinement met ``tol``. The mixture's record:
    ``energy = Σ p_k E_k``, ``energy_variance = Σ p_k <H²>_k − E²`` (the variance of ρ = Σ p_k |ψ_k><ψ_k|),
    the largest discarded weight and bond of its components, ``first``'s flag, sweeps, time and warnings.
    """
    comps, second = [first], [first.diagnostics.energy_variance + first.energy ** 2]
    first_arrays = first.arrays()
    for A, disc in partners:
        st = MPSState(lattice=model.lattice, model=model, temperature=0.0, mps=quimb_mps(A), purified=False)
        e, e2 = mpo_moments(A, ham)
        st.energy = float(np.real(e))
        second.append(float(np.real(e2)))
        st.diagnostics = Diagnostics(
            converged=converged, energy=st.energy, energy_variance=second[-1] - st.energy ** 2,
            discarded_weight=disc, max_bond=int(st.mps.max_bond()),
            extra={"method": "dmrg-penalised", "overlap_with_first": abs(_overlap(first_arrays, A))})
        comps.append(st)
    mix = MixtureState(lattice=model.lattice, model=model, temperature=0.0, components=comps)
    p = mix.weights
    energies = [c.energy for c in comps]
    energy = float(p @ energies)
    d = first.diagnostics
    extra = dict(d.extra)
    extra["component_energies"] = energies
    extra["max_overlap"] = max(c.info["overlap_with_first"] for c in comps[1:])
    mix.energy = energy
    mix.diagnostics = Diagnostics(
        converged=converged, energy=energy, energy_variance=float(p @ second) - energy ** 2,
        discarded_weight=max(c.diagnostics.discarded_weight for c in comps),
        max_bond=max(c.diagnostics.max_bond for c in comps), n_sweeps=d.n_sweeps, elapsed_s=d.elapsed_s,
        warnings=messages, extra=extra)
    return mix
