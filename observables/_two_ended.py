"""Two-ended sweep of the one-sweep effective state and the flop model that chooses it.

The one-ended sweep (:func:`macrobell.observables.mps.correlation_tensor_arrays`,
``sweep="one-ended"``) carries, past the sites of region X, an environment
for every label choice on every subset of the regions met so far: for K
contiguous blocks about ``4^(K−1)`` environments over the last block. Sweeping
from both ends to a meeting bond ``b`` (between MPS positions ``b`` and
``b + 1``) carries at most ``4^(regions on that side)`` environments per side,
about ``4^⌈K/2⌉`` for contiguous blocks, and the sums are closed at ``b``:

    U[S] = Σ_{S_L ⊔ S_R = S} <L_{S_L}, R_{S_R}>_b ,

where ``L_{S_L}`` has one labelled site of each region of ``S_L`` left of
``b`` and ``R_{S_R}`` one of each region of ``S_R`` right of it (a region may
have sites on both sides; each choice of its one site lies on one side).

Canonical form (derivation). The site arrays are right-canonical,
``Σ_s A_s A_s^† = 1``, so the right environment of the identity is the
identity: the right sweep starts at the last region site with ``R_∅ = 1``.
A right environment ``R[k, b]`` (ket bond first) obeys
``R ← Σ_{p,p'} O[p, p'] A_{p'} R A_p^†``. With the bond-transposed tensors
``B[x, p, a, y] = A[y, p, a, x]`` (the same state with the site order
reversed, no conjugation) this is the left transfer of
:mod:`._mps_kernels`, ``L^B ← Σ O[p, p'] B_p^† L^B B_{p'}``, for
``L^B = R^T`` (bra bond first): the right sweep reuses the left kernels on
the reversed chain with the same operator labels. The left environments
are the usual ones of the right-canonical chain (``L_∅`` is not the
identity), and ``<O> = Tr(L R) = Σ_{b,k} L[b, k] L^B[b, k]``, an elementwise
product: one GEMM over all label pairs at the meeting bond. No left- or
mixed-canonical form is needed.
"""

from __future__ import annotations

import numpy as np

from . import _mps_kernels as kern

__all__ = ["sweep_costs", "two_ended_sweep"]


def _pauli_flops(M, shape):
    chl, dp, da, chr_ = shape
    return 2.0 * M * (chl * chl * dp * da * chr_ + (dp * chr_) ** 2 * chl * da)


def _identity_flops(M, shape):
    chl, dp, da, chr_ = shape
    return 2.0 * M * (chl * chl * dp * da * chr_ + chr_ * chr_ * chl * dp * da)


def _close_flops(M, shape):
    chl, dp, da, chr_ = shape
    return 2.0 * (chl * dp) ** 2 * da * chr_ + 8.0 * M * chl * chl


def _region_at(n, regs):
    region_at = np.full(n, -1)
    for X, r in enumerate(regs):
        region_at[r] = X
    return region_at


def _one_ended_flops(shapes, regs):
    """GEMM flops of the one-ended sweep: its environment bookkeeping replayed on counts (3^|S| per subset)."""
    K = len(regs)
    region_at = _region_at(len(shapes), regs)
    lastpos = [int(r.max()) for r in regs]

    def grows(S, k):
        return any(lastpos[Y] > k for Y in range(K) if not S >> Y & 1)

    envs, total = {0}, 0.0
    for k in range(max(lastpos) + 1):
        X = int(region_at[k])
        bit = 1 << X if X >= 0 else 0
        keep = {S for S in envs if grows(S, k)}
        free = [S for S in envs if X >= 0 and not S & bit]
        pm = [S for S in free if grows(S | bit, k)]
        cm = [S for S in free if not grows(S | bit, k)]
        count = lambda masks: sum(3 ** bin(S).count("1") for S in masks)  # noqa: E731
        if cm:
            total += _close_flops(count(cm), shapes[k])
        total += _pauli_flops(count(pm), shapes[k]) + _identity_flops(count(keep - set(pm)), shapes[k])
        envs = keep | {S | bit for S in pm}
    return total


def _carry_flops(shapes, region_at, sites, seen_before):
    """Per-site flops of a sweep that carries every environment (4^|seen| of them) through ``sites``."""
    out = []
    for k, seen in zip(sites, seen_before):
        X = int(region_at[k])
        allc = 4 ** bin(seen).count("1")
        if X < 0:
            out.append(_identity_flops(allc, shapes[k]))
            continue
        free = 4 ** bin(seen & ~(1 << X)).count("1")
        out.append(_pauli_flops(free, shapes[k]) + _identity_flops(allc - free, shapes[k]))
    return out


def sweep_costs(shapes, regs) -> dict:
    """Modelled GEMM flops of both sweeps and the cheapest meeting bond of the two-ended one.

    Parameters
    ----------
    shapes : list of tuple
        Site array shapes ``(χl, dp, da, χr)`` in MPS order.
    regs : list of int arrays
        Disjoint regions as MPS positions.

    Returns
    -------
    dict
        ``{"one-ended": flops, "two-ended": flops, "bond": b}``; the meeting
        bond ``b`` lies between positions ``b`` and ``b + 1``
        (``-1 <= b <= last region site``).
    """
    n, K = len(shapes), len(regs)
    region_at = _region_at(n, regs)
    m = max(int(r.max()) for r in regs)
    # seen_left[k]: regions with a site < k; seen_right[k]: regions with a site > k
    seen_left, seen_right = [0] * (m + 2), [0] * (m + 2)
    for k in range(1, m + 2):
        X = int(region_at[k - 1])
        seen_left[k] = seen_left[k - 1] | (1 << X if X >= 0 else 0)
    for k in range(m - 1, -1, -1):
        X = int(region_at[k + 1])
        seen_right[k] = seen_right[k + 1] | (1 << X if X >= 0 else 0)
    left = np.concatenate([[0.0], np.cumsum(_carry_flops(shapes, region_at, range(m + 1), seen_left))])
    rshapes = [(s[3], s[1], s[2], s[0]) for s in shapes]
    per_right = _carry_flops(rshapes, region_at, range(m + 1), seen_right)
    right = np.concatenate([np.cumsum(per_right[::-1])[::-1], [0.0]])  # right[k]: sites k..m
    best = (np.inf, m)
    for b in range(-1, m + 1):
        sl, sr = seen_left[b + 1], seen_right[b]
        pairs = 1
        for Y in range(K):
            pairs *= {(1, 1): 7, (1, 0): 4, (0, 1): 4, (0, 0): 1}[(sl >> Y & 1, sr >> Y & 1)]
        chi = shapes[b + 1][0] if b + 1 < n else shapes[b][3]
        c = left[b + 1] + right[b + 1] + 2.0 * pairs * chi * chi
        best = min(best, (c, b))
    return {"one-ended": _one_ended_flops(shapes, regs), "two-ended": float(best[0]), "bond": int(best[1])}


def _carry(envs, tensors, labels, real):
    """Carry every environment (mask -> (3^|S|, χ, χ), labels in region order) through ``tensors``."""
    for A, X in zip(tensors, labels):
        masks = list(envs)
        bit = 1 << X if X >= 0 else 0
        pm = [S for S in masks if X >= 0 and not S & bit]
        ident = [S for S in masks if S not in pm]
        new = {}
        if ident:
            new.update(_split(kern.transfer_identity(_stack(envs, ident), A), envs, ident))
        if pm:
            E = kern.transfer_paulis(_stack(envs, pm), A, real)  # (4, M, χ, χ)
            row = 0
            for S in pm:
                m = envs[S].shape[0]
                new[S] = E[0, row:row + m]
                nS = bin(S).count("1")
                j = bin(S & (bit - 1)).count("1")  # position of X among the regions of S ∪ X
                chi = E.shape[-1]
                c = np.moveaxis(E[1:, row:row + m].reshape((3,) + (3,) * nS + (chi, chi)), 0, j)
                c = c.reshape(3 ** (nS + 1), chi, chi)
                T = S | bit
                new[T] = new[T] + c if T in new else np.ascontiguousarray(c)
                row += m
        envs = new
    return envs


def _stack(envs, masks):
    return envs[masks[0]] if len(masks) == 1 else np.concatenate([envs[S] for S in masks])


def _split(E, envs, masks):
    out, row = {}, 0
    for S in masks:
        m = envs[S].shape[0]
        out[S] = E[row:row + m]
        row += m
    return out


def two_ended_sweep(A4, regs, real: bool, bond: int) -> dict:
    """``U[S][labels]`` (as the one-ended sweep) from sweeps of both ends meeting at ``bond``.

    ``A4`` are right-canonical site views ``(χl, dp, da, χr)``, ``regs`` MPS
    positions, ``-1 <= bond <= max position``. See the module docstring for
    the right sweep on the bond-transposed tensors.
    """
    n = len(A4)
    region_at = _region_at(n, regs)
    m = max(int(r.max()) for r in regs)
    if not -1 <= bond <= m:
        raise ValueError(f"two_ended_sweep: bond must lie in [-1, {m}] (the last region site), got {bond}")
    dtype = float if real else complex
    left = _carry({0: np.ones((1, 1, 1), dtype=dtype)}, A4[:bond + 1], region_at[:bond + 1].tolist(), real)
    # right of the last region site the right environment is the identity (right-canonical)
    sites = range(m, bond, -1)
    rev = (np.ascontiguousarray(A4[k].transpose(3, 1, 2, 0)) for k in sites)
    right = _carry({0: np.eye(A4[m].shape[-1], dtype=dtype)[None]}, rev, [int(region_at[k]) for k in sites], real)
    flat = {S: R.reshape(R.shape[0], -1) for S, R in right.items()}
    U = {}
    for SL, L in left.items():
        Lf = L.reshape(L.shape[0], -1)
        for SR, Rf in flat.items():
            if SL & SR:
                continue
            G = Lf @ Rf.T  # <L, R> = Σ L[b, k] L^B[b, k] for every label pair
            order = [Y for Y in range(len(regs)) if SL >> Y & 1] + [Y for Y in range(len(regs)) if SR >> Y & 1]
            val = G.reshape((3,) * len(order)).transpose(np.argsort(order))
            U[SL | SR] = U.get(SL | SR, 0) + val
    return U
