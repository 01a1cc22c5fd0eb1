"""Observables of dense states (state vectors and density matrices).

Validating wrappers around the numba kernels of :mod:`._kernels`. Nothing
here builds a Kronecker product of the full space: every Pauli string is a
bit-flip permutation with phases, so correlators are sums over basis states.

Conventions (docs/physics.md): Pauli ``σ_0 = 1, σ_1 = x, σ_2 = y, σ_3 = z``;
``|0> = |↑>``; site 0 is the most significant bit of a basis index;
``C[i, j, a, b] = <σ_a^i σ_b^j>``;
``T[a_1…a_K] = <Π_X m^X_{a_X}>`` with ``m^X_a = (1/N_X) Σ_{i∈R_X} σ_a^i``,
``m^X_0 = 1``. M-body effective tensors (:func:`dense_mbody_tensor`) group
their K·M qubits region by region. Reduced states list their sites in the order given, the first
as the most significant tensor factor.
"""

from __future__ import annotations

import itertools

import numpy as np

from macrobell.tn import DenseState

from . import _kernels as kern
from ._checks import region_arrays, site_array
from ._pauli import fill_diagonal_blocks

__all__ = ["dense_pair_correlations", "dense_site_expectations", "dense_correlation_tensor", "dense_mbody_tensor",
           "dense_reduced_state"]

# For a Pauli label a: whether it flips the bit (x, y), whether its phase
# carries z = (−1)^bit (y, z), and whether it is y (an extra factor i).
_FLIPS = np.array([0, 1, 1, 0])
_ZPOW = np.array([0, 0, 1, 1])
_IS_Y = np.array([0, 0, 1, 0])


def _data(state, where):
    if not isinstance(state, DenseState):
        raise ValueError(f"{where}: expected a DenseState, got {type(state).__name__}")
    n = state.n_sites
    arr = state.vector if state.vector is not None else state.rho
    if arr is None:
        raise ValueError(f"{where}: the DenseState holds neither a vector nor a density matrix")
    arr = np.ascontiguousarray(arr)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating)):
        arr = arr.astype(float)
    # numba specialisations exist for float64 and complex128 only
    arr = arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64, copy=False)
    expect = (1 << n,) if arr.ndim == 1 else (1 << n, 1 << n)
    if arr.shape != expect:
        raise ValueError(f"{where}: the state's array has shape {arr.shape}, expected {expect} for N={n} sites")
    return n, arr


def dense_site_expectations(state: DenseState) -> np.ndarray:
    """``<σ_a^i>`` for every site, shape (N, 4) (column 0 is the norm, 1). O(N 2^N)."""
    n, arr = _data(state, "site_expectations")
    S = kern.site_sums_vector(arr, n) if arr.ndim == 1 else kern.site_sums_matrix(arr, n)
    a = np.arange(4)
    vals = S[:, _FLIPS[a], _ZPOW[a]] * (1j ** _IS_Y[a])
    return np.ascontiguousarray(vals.real)


def dense_pair_correlations(state: DenseState) -> np.ndarray:
    """All two-point functions ``C[i, j, a, b] = <σ_a^i σ_b^j>``, shape (N, N, 4, 4), real.

    Off-diagonal blocks (i ≠ j) are exact expectation values of commuting
    Hermitian operators, computed from the 16 sums of :mod:`._kernels` per
    pair, O(N² 2^N) in all. Diagonal blocks hold the one-site products
    ``Re <σ_a σ_b> = ½<{σ_a, σ_b}>`` (the real part: ``<σ_x σ_y> = i<σ_z>``
    is imaginary), so ``C[i, i, 0, b] = C[i, i, b, 0] = <σ_b^i>`` and
    ``C[i, i, a, a] = 1``.
    """
    n, arr = _data(state, "pair_correlations")
    S = kern.pair_sums_vector(arr, n) if arr.ndim == 1 else kern.pair_sums_matrix(arr, n)
    a = np.arange(4)[:, None]
    b = np.arange(4)[None, :]
    F = _FLIPS[a] + 2 * _FLIPS[b]
    phase = 1j ** (_IS_Y[a] + _IS_Y[b])
    C = np.zeros((n, n, 4, 4))
    iu, ju = np.triu_indices(n, k=1)
    blocks = (S[iu, ju][:, F, _ZPOW[a], _ZPOW[b]] * phase).real  # (pairs, 4, 4)
    C[iu, ju] = blocks
    C[ju, iu] = blocks.transpose(0, 2, 1)
    return fill_diagonal_blocks(C, dense_site_expectations(state))


def dense_correlation_tensor(state: DenseState, regions, algorithm: str = "auto") -> np.ndarray:
    """Normalised collective moments ``T[a_1…a_K] = <Π_X m^X_{a_X}>``, shape (4,)*K, real.

    ``m^X_a = (1/N_X) Σ_{i∈R_X} σ_a^i`` and ``m^X_0 = 1``, so ``T[0…0] = 1``.
    Never a Kronecker product; two algorithms:

    * ``"tree"`` (vectors always): the regions' collective operators commute
      (disjoint sites) and are applied successively, depth first over the
      labels of regions 1…K−1, the last region closed by inner products with
      ``m^K_a ψ`` (or a trace kernel for ρ); in the real basis
      ``{1, σx, iσy, σz}`` so real states stay real. O(4^{K−1}·N·2^N) for a
      vector, O(4^{K−1}·N·4^N) for a density matrix.
    * ``"tuples"`` (density matrices): ``T = (1/Π N_X) Σ_{l_1∈R_1…l_K∈R_K}
      Tr(ρ Π σ^{l_X})`` from sums that read only ``ρ[s, s⊕F]``,
      O(Π N_X · 4^K · 2^N) — far cheaper than the tree for ρ unless the
      regions are huge.

    ``"auto"`` takes the tree for vectors and the cheaper estimate for ρ.

    Parameters
    ----------
    state : DenseState
    regions : sequence of sequences of int
        K ≥ 1 disjoint, non-empty lists of lattice sites.
    algorithm : {"auto", "tree", "tuples"}
    """
    if algorithm not in ("auto", "tree", "tuples"):
        raise ValueError(f"correlation_tensor: algorithm must be 'auto', 'tree' or 'tuples', got {algorithm!r}")
    n, arr = _data(state, "correlation_tensor")
    regs = region_arrays(regions, n, "correlation_tensor")
    K = len(regs)
    if algorithm == "tuples" and arr.ndim == 1:
        raise ValueError("correlation_tensor: algorithm 'tuples' is for density matrices; vectors use 'tree'")
    if algorithm == "auto":
        algorithm = "tree"
        if arr.ndim == 2:
            n_tuples = float(np.prod([r.size for r in regs], dtype=float))
            tuple_cost = n_tuples * 4.0**K * 2.0**n
            tree_cost = 4.0 ** (K - 1) * sum(r.size for r in regs) * 4.0**n
            algorithm = "tuples" if tuple_cost <= tree_cost else "tree"
    if algorithm == "tuples":
        return _tensor_tuples(arr, n, regs)
    return _tensor_tree(arr, n, regs)


def _labels_grid(K):
    grids = np.meshgrid(*[np.arange(4)] * K, indexing="ij")
    n_y = sum((g == 2).astype(int) for g in grids)
    return grids, n_y


def _tensor_tuples(rho, n, regs):
    K = len(regs)
    masks = np.array(list(itertools.product(*[(1 << (n - 1 - r)).tolist() for r in regs])), dtype=np.int64)
    S = kern.tuple_sums_matrix(rho, masks.reshape(-1, K))
    grids, n_y = _labels_grid(K)
    F = sum(_FLIPS[g] << X for X, g in enumerate(grids))
    P = sum(_ZPOW[g] << X for X, g in enumerate(grids))
    T = (1j ** n_y * S[F, P]).real / (len(masks) * np.trace(rho).real)
    return np.ascontiguousarray(T)


def _tensor_tree(arr, n, regs):
    K = len(regs)
    T = np.zeros((4,) * K, dtype=arr.dtype)
    last = regs[-1]
    if arr.ndim == 1:
        # m^K_a ψ for a = 1..3; (iσy)† = −iσy, hence the sign for a = 2
        closers = [arr] + [kern.apply_collective_vector(arr, n, last, a) * (-1.0 if a == 2 else 1.0)
                           for a in (1, 2, 3)]
        closers = np.stack(closers).conj()

        def close(phi):
            return closers @ phi
    else:
        def close(M):
            return np.array([np.trace(M)] + [kern.trace_collective(M, n, last, a) for a in (1, 2, 3)])

    apply = kern.apply_collective_vector if arr.ndim == 1 else kern.apply_collective_rows

    def recurse(phi, level, labels):
        if level == K - 1:
            T[labels] = close(phi)
            return
        for a in range(4):
            nxt = phi if a == 0 else apply(phi, n, regs[level], a)
            recurse(nxt, level + 1, labels + (a,))

    recurse(arr, 0, ())
    T = T / (np.trace(arr) if arr.ndim == 2 else np.vdot(arr, arr))
    # (−i)^{#y} converts the real basis iσy back to σy; normalise by Π N_X
    grids, n_y = _labels_grid(K)
    norm = np.ones((4,) * K)
    for X, g in enumerate(grids):
        norm = norm * np.where(g == 0, 1.0, 1.0 / regs[X].size)
    return np.ascontiguousarray(((-1j) ** n_y * T).real * norm)


def dense_reduced_state(state: DenseState, sites) -> np.ndarray:
    """Reduced density matrix of ``sites`` in the order given, ``2^k × 2^k``.

    The first listed site is the most significant tensor factor. A vector is
    reshaped to ``(2,)*N``, the kept axes moved to the front and
    ``ρ = A A†`` formed with ``A`` of shape ``(2^k, 2^{N−k})``; a matrix is
    partially traced over the other sites. Normalised to unit trace.
    """
    n, arr = _data(state, "reduced_state")
    s = site_array(sites, n, "reduced_state")
    k = s.size
    rest = np.setdiff1d(np.arange(n), s)
    perm = np.concatenate([s, rest])
    if arr.ndim == 1:
        A = arr.reshape((2,) * n).transpose(perm).reshape(1 << k, -1)
        rho = A @ A.conj().T
    else:
        t = arr.reshape((2,) * (2 * n)).transpose(np.concatenate([perm, perm + n]))
        t = t.reshape(1 << k, 1 << (n - k), 1 << k, 1 << (n - k))
        rho = np.einsum("aibi->ab", t)
    rho = rho / np.trace(rho).real
    return rho.astype(complex)


def dense_mbody_tensor(state: DenseState, regions, M: int) -> np.ndarray:
    """The M-body effective tensor ``T``, shape (4,)*(K·M), without site tuples.

    ``T`` is the Pauli tensor of the K·M-qubit average of ``ρ`` over ordered
    M-tuples of distinct sites per region (seed §III–IV), qubits grouped
    region by region. Per region, the multiset operators
    ``Φ_μ = Σ_{distinct sites} Σ_{arrangements of μ} Π σ`` (``|μ| ≤ M``,
    labels in the real basis ``{σx, iσy, σz}``) are built by the recurrence
    ``Φ_{μ+a} += O_a^j Φ_μ`` over the region's sites j (largest μ first, so
    no site is used twice), applied to the state with the one-site kernels of
    :mod:`._kernels`; regions follow depth first (their operators commute)
    and the last closes with ``<ψ|·>`` (or a trace for ρ). :mod:`._mbody`
    expands the resulting ``<Π_X Φ^X_{μ_X}>`` into ``T``. Cost
    O(Σ_X C(M+3,3)^X · 3 N_X · 2^N) for a vector (4^N for ρ).

    Parameters
    ----------
    state : DenseState
    regions : sequence of sequences of int
        K disjoint regions, each with at least M sites, ``K·M <= 8``.
    M : int
        Body order, ``M >= 1``.
    """
    from . import _mbody as mbd
    where = "mbody_tensor"
    n, arr = _data(state, where)
    regs = region_arrays(regions, n, where)
    M = mbd.check_body_order(M, [r.size for r in regs], where)
    K = len(regs)
    counts, add = mbd.multisets(M)
    n_mu = len(counts)
    order = np.argsort(-counts.sum(axis=1), kind="stable")  # largest multisets first
    vec = arr.ndim == 1
    apply = kern.apply_collective_vector if vec else kern.apply_collective_rows
    U = np.zeros((n_mu,) * K, dtype=arr.dtype)

    def region_ops(phi, sites):
        out = [None] * n_mu
        out[0] = phi
        for j in sites:
            one = np.array([j], dtype=np.int64)
            for mu in order:
                if out[mu] is None or add[0, mu] < 0:
                    continue
                for a in range(3):
                    t = apply(out[mu], n, one, a + 1)
                    tgt = add[a, mu]
                    out[tgt] = t if out[tgt] is None else out[tgt] + t
        return out

    def recurse(phi, X, labels):
        for mu, v in enumerate(region_ops(phi, regs[X])):
            if v is None:
                continue
            if X == K - 1:
                U[labels + (mu,)] = np.vdot(arr, v) if vec else np.trace(v)
            else:
                recurse(v, X + 1, labels + (mu,))

    recurse(arr, 0, ())
    return mbd.assemble_tensor(U, [r.size for r in regs], M, real_basis=True)


# --------------------------------------------------------------------------- registration (observables._dispatch)
from ._dispatch import register_observables  # noqa: E402  (the registration block ends the module)

register_observables(DenseState, correlation_tensor=dense_correlation_tensor,
                     pair_correlations=dense_pair_correlations, reduced_state=dense_reduced_state,
                     mbody_tensor=dense_mbody_tensor)
