"""The TEBD engine of :mod:`.purification`: a purified MPS kept in mixed-canonical form.

Private. :class:`_Purified` holds the arrays ``(χ_l, 4, χ_r)`` (fused ``s = 2 p + a``) with an
orthogonality centre and applies two-site gates at the centre (each truncation optimal in the 2-norm),
swap gates for bonds that are not MPS neighbours, exact one-site gates, and the W^II MPO of
:mod:`._mpo_evolution`. Every truncation follows :func:`kept_count` and is accumulated as a discarded
weight (see :mod:`.purification` for the conventions).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla

from . import _mpo_evolution as _mpoev

__all__ = ["kept_count"]


def kept_count(s, cutoff: float, max_bond: int | None = None, mode: str = "weight") -> int:
    """How many of the descending singular values ``s`` a truncation keeps (at least one).

    ``mode="weight"`` (the ``cutoff`` option): drop the smallest values while the sum of their
    squares stays ≤ ``cutoff · Σ s²`` — the discarded-weight rule of quimb's ``"rsum2"`` mode (and of
    its ``"sum2"`` mode, DMRG's, on a normalised tensor). ``mode="sv"`` (``sv_cutoff``): keep
    ``s_i > cutoff · s_0`` (quimb's ``"rel"``). Then at most ``max_bond``.
    """
    s2 = np.asarray(s, dtype=float) ** 2
    tot = float(s2.sum())
    if not tot > 0 or not np.isfinite(tot):
        raise FloatingPointError("purification: the state vanished or overflowed during the evolution "
                                 "(dtau too large for the spectrum?)")
    if mode == "weight":
        tail = np.cumsum(s2[::-1])  # weight of dropping the k smallest, k = 1, 2, …: non-decreasing
        keep = s2.size - int(np.count_nonzero(tail <= cutoff * tot))
    elif mode == "sv":
        keep = int(np.count_nonzero(s2 > cutoff ** 2 * s2[0]))
    else:
        raise ValueError(f"kept_count: mode must be 'weight' or 'sv', got {mode!r}")
    keep = max(1, keep)
    return keep if max_bond is None else max(1, min(keep, int(max_bond)))


def _svd(m):
    try:
        return sla.svd(m, full_matrices=False, lapack_driver="gesdd", check_finite=False)
    except np.linalg.LinAlgError:  # gesdd occasionally fails to converge; gesvd is slower but robust
        return sla.svd(m, full_matrices=False, lapack_driver="gesvd", check_finite=False)


class _Purified:
    """Arrays ``(χ_l, 4, χ_r)`` in MPS order with an orthogonality centre, normalised."""

    def __init__(self, n, dtype, bond_dim, cutoff, mode="weight"):
        a = np.zeros((1, 4, 1), dtype=dtype)
        a[0, 0, 0] = a[0, 3, 0] = 1 / math.sqrt(2)  # (|p=0,a=0> + |p=1,a=1>)/√2
        self.A = [a.copy() for _ in range(n)]
        self.n = n
        self.centre = 0
        self.chi = bond_dim
        self.cutoff = cutoff
        self.mode = mode  # "weight" (cutoff) or "sv" (sv_cutoff): see kept_count
        self.discarded = 0.0  # Σ over truncations of the relative discarded weight
        self.max_discarded = 0.0  # the largest single one
        self.lognorm = 0.0  # log ‖(e^{-τH} ⊗ 1)ψ(0)‖ as tracked through the renormalisations
        self.n_svd = 0

    # -- canonical form -------------------------------------------------------------------------------
    def _move_right(self):
        c = self.centre
        a = self.A[c]
        q, r = sla.qr(a.reshape(-1, a.shape[2]), mode="economic", check_finite=False)
        self.A[c] = q.reshape(a.shape[0], 4, -1)
        self.A[c + 1] = np.tensordot(r, self.A[c + 1], axes=(1, 0))
        self.centre = c + 1

    def _move_left(self):
        c = self.centre
        a = self.A[c]
        q, r = sla.qr(a.reshape(a.shape[0], -1).T, mode="economic", check_finite=False)
        self.A[c] = q.T.reshape(-1, 4, a.shape[2])
        self.A[c - 1] = np.tensordot(self.A[c - 1], r.T, axes=(2, 0))
        self.centre = c - 1

    def move_to(self, k):
        while self.centre < k:
            self._move_right()
        while self.centre > k:
            self._move_left()

    # -- two-site updates ------------------------------------------------------------------------------
    def _split(self, k, theta, right):
        """Truncated split of ``theta (χl, 4, 4, χr)`` into sites k, k+1; centre to k+1 if ``right``."""
        chl, chr_ = theta.shape[0], theta.shape[3]
        m = theta.reshape(chl * 4, 4 * chr_)
        self.n_svd += 1
        u, s, vh = _svd(m)
        tot = float(np.dot(s, s))
        keep = kept_count(s, self.cutoff, self.chi, self.mode)
        kept = float(np.dot(s[:keep], s[:keep]))
        nrm = self._account(tot, kept)
        s = s[:keep] / nrm
        u, vh = u[:, :keep], vh[:keep]
        if right:
            self.A[k] = u.reshape(chl, 4, keep)
            self.A[k + 1] = (s[:, None] * vh).reshape(keep, 4, chr_)
            self.centre = k + 1
        else:
            self.A[k] = (u * s).reshape(chl, 4, keep)
            self.A[k + 1] = vh.reshape(keep, 4, chr_)
            self.centre = k

    def _account(self, tot, kept):
        """Accumulate discarded weight and the norm; return the kept norm."""
        w = max(0.0, 1.0 - kept / tot)
        self.discarded += w
        self.max_discarded = max(self.max_discarded, w)
        nrm = math.sqrt(kept)
        self.lognorm += math.log(nrm)
        return nrm

    def _theta(self, k):
        self.move_to(k if self.centre <= k else k + 1)
        return np.tensordot(self.A[k], self.A[k + 1], axes=(2, 0))  # (χl, 4, 4, χr)

    def gate(self, k, g, right):
        """Apply ``g`` (4×4 on physical p_k ⊗ p_{k+1}; ancillas untouched) to sites k, k+1."""
        th = self._theta(k)
        chl, chr_ = th.shape[0], th.shape[3]
        th = th.reshape(chl, 2, 2, 2, 2, chr_).transpose(1, 3, 0, 2, 4, 5).reshape(4, -1)
        th = (g @ th).reshape(2, 2, chl, 2, 2, chr_).transpose(2, 0, 3, 1, 4, 5).reshape(chl, 4, 4, chr_)
        self._split(k, th, right)

    def swap(self, k, right):
        """Exchange the fused sites at k and k+1 (physical and ancilla together)."""
        th = self._theta(k)
        self._split(k, th.transpose(0, 2, 1, 3), right)

    def one_site(self, k, g):
        """``g`` (2×2) on the physical leg of site k: exact, keeps the canonical form up to the norm."""
        a = self.A[k]
        b = np.einsum("xp,lpar->lxar", g, a.reshape(a.shape[0], 2, 2, a.shape[2])).reshape(a.shape)
        self.A[k] = b
        self.move_to(k)
        nrm = np.linalg.norm(self.A[k])
        self.lognorm += math.log(nrm)
        self.A[k] = self.A[k] / nrm

    def long_gate(self, k, l, g):
        """Apply ``g`` on ``site(k) ⊗ site(l)``, ``l > k + 1``, moving one site next to the other by swaps."""
        if self.centre <= (k + l) / 2:
            self.move_to(k)
            for m in range(k, l - 1):  # carry site k rightwards to l-1
                self.swap(m, right=True)
            self.gate(l - 1, g, right=False)
            for m in range(l - 2, k - 1, -1):
                self.swap(m, right=False)
        else:
            self.move_to(l)
            for m in range(l - 1, k, -1):  # carry site l leftwards to k+1
                self.swap(m, right=False)
            self.gate(k, g, right=True)
            for m in range(k + 1, l):
                self.swap(m, right=True)

    def apply_layer(self, gates):
        """``gates``: list of (k, l, g) on disjoint sites; swept from the end nearer the centre."""
        right = self.centre <= (self.n - 1) / 2
        for k, l, g in (gates if right else gates[::-1]):
            if l == k + 1:
                self.gate(k, g, right)
            else:
                self.long_gate(k, l, g)

    def apply_mpo(self, U, zip_factor=None):
        """Apply the MPO ``U`` (arrays ``(Dl, Dr, out, in)`` on the physical legs): zip-up, then an optimal
        right-to-left SVD truncation (:mod:`._mpo_evolution`); the centre ends at site 0."""
        self.move_to(0)
        zip_factor = _mpoev.ZIP_FACTOR if zip_factor is None else zip_factor
        cap = None if self.chi is None else zip_factor * self.chi

        def zip_weights(tot, kept):
            w = max(0.0, 1.0 - kept / tot)
            self.discarded += w
            self.max_discarded = max(self.max_discarded, w)

        self.n_svd += 2 * (self.n - 1)
        arrs = _mpoev.zipup_apply(self.A, U, cap, zip_weights)
        self.A = _mpoev.svd_compress_left(arrs, lambda s: kept_count(s, self.cutoff, self.chi, self.mode),
                                          self._account)
        self.centre = 0

    def max_bond(self):
        return max(a.shape[2] for a in self.A)

    def copy_arrays(self):
        return [a.copy() for a in self.A]

    def copy(self):
        """An independent copy (arrays, centre and the accumulated discarded weight, norm and SVD count)."""
        new = object.__new__(_Purified)
        new.__dict__.update(self.__dict__)
        new.A = self.copy_arrays()
        return new
