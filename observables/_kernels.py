"""numba kernels for dense states: Pauli strings as bit-flip permutations with phases.

Conventions
-----------
* ``n`` qubits, basis index ``s``; site ``i`` is bit ``n - 1 - i`` of ``s``
  (site 0 = most significant bit), ``|0> = |↑>``.
* Every Pauli string is a permutation with phases: ``P|s> = φ(s) |s ⊕ F>``
  with flip mask ``F`` (bits of the sites carrying σx or σy) and
  ``φ(s) = Π_k φ_{a_k}(b_k)`` with ``φ_0 = φ_x = 1``, ``φ_z = z``,
  ``φ_y = i z`` where ``z = (−1)^b`` (σy|0> = i|1>, σy|1> = −i|0>).
* Hence, for a vector, ``<ψ|P|ψ> = Σ_s conj(ψ[s⊕F]) φ(s) ψ[s]`` and, for a
  density matrix, ``Tr(ρP) = Σ_s ρ[s, s⊕F] φ(s)`` (the two agree for
  ``ρ = ψψ†``).
* For a pair (i, j) all 16 correlators follow from 16 sums
  ``S_F[p, q] = Σ_s w_F(s) z_i(s)^p z_j(s)^q`` with ``w_F(s) = conj(ψ[s⊕F]) ψ[s]``
  (or ``ρ[s, s⊕F]``), F ∈ {0, f_i, f_j, f_i+f_j}:
  ``<σ_a^i σ_b^j> = i^{#y} S_{F(a,b)}[p(a), q(b)]`` with ``p = 1`` for y, z.
* Collective operators are applied in the *real* basis ``{1, σx, iσy, σz}``
  (``iσy = [[0, 1], [−1, 0]]``, real), so real states stay real; callers
  multiply by ``(−i)^{#y}`` at the end.

Every kernel is a pure function of arrays; numba compiles separate
specialisations for float64 and complex128 input. No validation here: see
:mod:`.dense`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["pair_sums_vector", "pair_sums_matrix", "site_sums_vector", "site_sums_matrix",
           "apply_collective_vector", "apply_collective_rows", "trace_collective", "tuple_sums_matrix"]


@njit(cache=True)
def _conj(x):
    return np.conj(x)


@njit(cache=True)
def pair_sums_vector(psi, n):
    """``S[i, j, F, p, q]`` for every pair i < j of a state vector (see module doc).

    ``F`` indexes the flip pattern: 0 none, 1 site i, 2 site j, 3 both.
    Cost O(N² 2^N); one streaming pass over ψ per pair.
    """
    dim = psi.shape[0]
    out = np.zeros((n, n, 4, 2, 2), dtype=psi.dtype)
    for i in range(n):
        fi = 1 << (n - 1 - i)
        for j in range(i + 1, n):
            fj = 1 << (n - 1 - j)
            fij = fi | fj
            a00 = a01 = a10 = a11 = out[0, 0, 0, 0, 0]  # a typed zero of psi's dtype
            b00 = b01 = b10 = b11 = a00
            c00 = c01 = c10 = c11 = a00
            d00 = d01 = d10 = d11 = a00
            for s in range(dim):
                v = psi[s]
                zi = 1.0 - 2.0 * ((s & fi) != 0)
                zj = 1.0 - 2.0 * ((s & fj) != 0)
                zz = zi * zj
                w = _conj(v) * v
                a00 += w
                a10 += zi * w
                a01 += zj * w
                a11 += zz * w
                w = _conj(psi[s ^ fi]) * v
                b00 += w
                b10 += zi * w
                b01 += zj * w
                b11 += zz * w
                w = _conj(psi[s ^ fj]) * v
                c00 += w
                c10 += zi * w
                c01 += zj * w
                c11 += zz * w
                w = _conj(psi[s ^ fij]) * v
                d00 += w
                d10 += zi * w
                d01 += zj * w
                d11 += zz * w
            out[i, j, 0, 0, 0] = a00
            out[i, j, 0, 1, 0] = a10
            out[i, j, 0, 0, 1] = a01
            out[i, j, 0, 1, 1] = a11
            out[i, j, 1, 0, 0] = b00
            out[i, j, 1, 1, 0] = b10
            out[i, j, 1, 0, 1] = b01
            out[i, j, 1, 1, 1] = b11
            out[i, j, 2, 0, 0] = c00
            out[i, j, 2, 1, 0] = c10
            out[i, j, 2, 0, 1] = c01
            out[i, j, 2, 1, 1] = c11
            out[i, j, 3, 0, 0] = d00
            out[i, j, 3, 1, 0] = d10
            out[i, j, 3, 0, 1] = d01
            out[i, j, 3, 1, 1] = d11
    return out


@njit(cache=True)
def pair_sums_matrix(rho, n):
    """As :func:`pair_sums_vector` for a density matrix: ``w_F(s) = ρ[s, s⊕F]``.

    Only the 4·2^N entries ``ρ[s, s⊕F]`` per pair are read: O(N² 2^N).
    """
    dim = rho.shape[0]
    out = np.zeros((n, n, 4, 2, 2), dtype=rho.dtype)
    for i in range(n):
        fi = 1 << (n - 1 - i)
        for j in range(i + 1, n):
            fj = 1 << (n - 1 - j)
            fij = fi | fj
            for s in range(dim):
                zi = 1.0 - 2.0 * ((s & fi) != 0)
                zj = 1.0 - 2.0 * ((s & fj) != 0)
                zz = zi * zj
                w0 = rho[s, s]
                w1 = rho[s, s ^ fi]
                w2 = rho[s, s ^ fj]
                w3 = rho[s, s ^ fij]
                out[i, j, 0, 0, 0] += w0
                out[i, j, 0, 1, 0] += zi * w0
                out[i, j, 0, 0, 1] += zj * w0
                out[i, j, 0, 1, 1] += zz * w0
                out[i, j, 1, 0, 0] += w1
                out[i, j, 1, 1, 0] += zi * w1
                out[i, j, 1, 0, 1] += zj * w1
                out[i, j, 1, 1, 1] += zz * w1
                out[i, j, 2, 0, 0] += w2
                out[i, j, 2, 1, 0] += zi * w2
                out[i, j, 2, 0, 1] += zj * w2
                out[i, j, 2, 1, 1] += zz * w2
                out[i, j, 3, 0, 0] += w3
                out[i, j, 3, 1, 0] += zi * w3
                out[i, j, 3, 0, 1] += zj * w3
                out[i, j, 3, 1, 1] += zz * w3
    return out


@njit(cache=True)
def site_sums_vector(psi, n):
    """``S[i, F, p]`` for one site: ``Σ_s w_F(s) z_i(s)^p``, F ∈ {0 (none), 1 (flip i)}. O(N 2^N)."""
    dim = psi.shape[0]
    out = np.zeros((n, 2, 2), dtype=psi.dtype)
    for i in range(n):
        fi = 1 << (n - 1 - i)
        for s in range(dim):
            v = psi[s]
            zi = 1.0 - 2.0 * ((s & fi) != 0)
            w0 = _conj(v) * v
            w1 = _conj(psi[s ^ fi]) * v
            out[i, 0, 0] += w0
            out[i, 0, 1] += zi * w0
            out[i, 1, 0] += w1
            out[i, 1, 1] += zi * w1
    return out


@njit(cache=True)
def site_sums_matrix(rho, n):
    """As :func:`site_sums_vector` for a density matrix (``w_F(s) = ρ[s, s⊕F]``)."""
    dim = rho.shape[0]
    out = np.zeros((n, 2, 2), dtype=rho.dtype)
    for i in range(n):
        fi = 1 << (n - 1 - i)
        for s in range(dim):
            zi = 1.0 - 2.0 * ((s & fi) != 0)
            w0 = rho[s, s]
            w1 = rho[s, s ^ fi]
            out[i, 0, 0] += w0
            out[i, 0, 1] += zi * w0
            out[i, 1, 0] += w1
            out[i, 1, 1] += zi * w1
    return out


@njit(cache=True)
def apply_collective_vector(psi, n, sites, a):
    """``Σ_{i∈sites} O_a^i ψ`` with ``O_1 = σx``, ``O_2 = iσy``, ``O_3 = σz`` (real basis).

    ``(σx^i ψ)[t] = ψ[t⊕f_i]``, ``(iσy^i ψ)[t] = z_i(t) ψ[t⊕f_i]``,
    ``(σz^i ψ)[t] = z_i(t) ψ[t]``. O(|sites| 2^N); output has ψ's dtype.
    """
    dim = psi.shape[0]
    out = np.zeros_like(psi)
    for k in range(sites.shape[0]):
        fi = 1 << (n - 1 - sites[k])
        if a == 1:
            for t in range(dim):
                out[t] += psi[t ^ fi]
        elif a == 2:
            for t in range(dim):
                if t & fi:
                    out[t] -= psi[t ^ fi]
                else:
                    out[t] += psi[t ^ fi]
        else:
            for t in range(dim):
                if t & fi:
                    out[t] -= psi[t]
                else:
                    out[t] += psi[t]
    return out


@njit(cache=True)
def apply_collective_rows(mat, n, sites, a):
    """``(Σ_{i∈sites} O_a^i) @ mat`` — the operator of :func:`apply_collective_vector`
    acting on every column of ``mat`` (row permutations with signs). O(|sites| 4^N)."""
    dim, ncol = mat.shape
    out = np.zeros_like(mat)
    for k in range(sites.shape[0]):
        fi = 1 << (n - 1 - sites[k])
        for t in range(dim):
            if a == 3:
                src = t
            else:
                src = t ^ fi
            sign = 1.0
            if a != 1 and (t & fi):
                sign = -1.0
            for c in range(ncol):
                out[t, c] += sign * mat[src, c]
    return out


@njit(cache=True)
def trace_collective(mat, n, sites, a):
    """``Tr[(Σ_{i∈sites} O_a^i) @ mat]`` (real basis O of :func:`apply_collective_vector`).

    Reads only ``mat[t⊕f_i, t]`` (or the diagonal for σz): O(|sites| 2^N).
    """
    dim = mat.shape[0]
    acc = mat[0, 0] * 0
    for k in range(sites.shape[0]):
        fi = 1 << (n - 1 - sites[k])
        for t in range(dim):
            src = t if a == 3 else t ^ fi
            if a != 1 and (t & fi):
                acc -= mat[src, t]
            else:
                acc += mat[src, t]
    return acc


@njit(cache=True)
def tuple_sums_matrix(rho, masks):
    """``S[F, P] = Σ_tuples Σ_s ρ[s, s⊕f_F] (−1)^{|P ∧ z(s)|}`` for one site per region.

    ``masks[t, X]`` is the bit mask of the site chosen in region X by tuple
    ``t``; ``F`` and ``P`` are K-bit patterns (bit X: flip that site /
    include its ``z`` factor) and ``z(s)`` has bit X set when that site is
    down in ``s``. Then ``Tr(ρ Π_X σ_{a_X}) = i^{#y} S[F(a), P(a)]`` summed
    over tuples (F: a ∈ {x, y}; P: a ∈ {y, z}). O(n_tuples · 4^K · 2^N):
    reads only ``ρ[s, s⊕F]``.
    """
    dim = rho.shape[0]
    n_tuples, K = masks.shape
    nf = 1 << K
    out = np.zeros((nf, nf), dtype=rho.dtype)
    parity = np.zeros(nf, dtype=np.float64)
    for x in range(nf):
        c = 0
        y = x
        while y:
            c += y & 1
            y >>= 1
        parity[x] = 1.0 - 2.0 * (c & 1)
    flip = np.zeros(nf, dtype=np.int64)
    for t in range(n_tuples):
        for F in range(nf):
            fm = 0
            for X in range(K):
                if (F >> X) & 1:
                    fm |= masks[t, X]
            flip[F] = fm
        for s in range(dim):
            zb = 0
            for X in range(K):
                if s & masks[t, X]:
                    zb |= 1 << X
            for F in range(nf):
                w = rho[s, s ^ flip[F]]
                for P in range(nf):
                    out[F, P] += parity[P & zb] * w
    return out
