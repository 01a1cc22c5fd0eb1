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
from macrobell.tn.exact import SectorDenseState
from macrobell.tn._exact_thermal import SectorBatch

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
    """``(N, array)`` of a dense state; an S^z-sector state gives its never-assembled block form (``ndim`` 2)."""
    if not isinstance(state, DenseState):
        raise ValueError(f"{where}: expected a DenseState, got {type(state).__name__}")
    n = state.n_sites
    if isinstance(state, SectorDenseState):
        return n, state.rho_blocks
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
    if isinstance(state, SectorDenseState):
        return _sector_site_expectations(state)
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
    ``C[i, i, a, a] = 1``. S^z-sector states: :func:`_sector_pair_correlations`.
    """
    if isinstance(state, SectorDenseState):
        return _sector_pair_correlations(state)
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
    if isinstance(state, SectorDenseState):
        return _sector_correlation_tensor(state, regions, algorithm)
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
    last = regs[-1]
    if arr.ndim == 1:
        # m^K_a ψ for a = 1..3; (iσy)† = −iσy, hence the sign for a = 2
        closers = [arr] + [kern.apply_collective_vector(arr, n, last, a) * (-1.0 if a == 2 else 1.0)
                           for a in (1, 2, 3)]
        closers = np.stack(closers).conj()

        def close(phi):
            return closers @ phi

        def apply(phi, sites, a):
            return kern.apply_collective_vector(phi, n, sites, a)
    else:
        def close(M):
            return np.array([np.trace(M)] + [kern.trace_collective(M, n, last, a) for a in (1, 2, 3)])

        def apply(phi, sites, a):
            return kern.apply_collective_rows(phi, n, sites, a)

    T = _tree_moments(arr, regs, apply, close)
    return _finish_tree(T / (np.trace(arr) if arr.ndim == 2 else np.vdot(arr, arr)), regs)


def _tree_moments(root, regs, apply, close):
    """``U[a_1…a_K] = <Π_X O^X_{a_X}>`` unnormalised, real basis, trailing axes those of ``close``'s values.

    Depth first over the labels of regions 1…K−1 (``apply(phi, sites, a)``
    adds the collective operator), the last region closed by ``close(phi)``,
    a length-4 array over its labels. Shared by vectors, density matrices
    and S^z-sector eigenvector batches.
    """
    K = len(regs)
    out = {}

    def recurse(phi, level, labels):
        if level == K - 1:
            out[labels] = close(phi)
            return
        for a in range(4):
            nxt = phi if a == 0 else apply(phi, regs[level], a)
            recurse(nxt, level + 1, labels + (a,))

    recurse(root, 0, ())
    first = np.asarray(next(iter(out.values())))
    U = np.zeros((4,) * (K - 1) + first.shape, dtype=np.result_type(*[np.asarray(v).dtype for v in out.values()]))
    for labels, v in out.items():
        U[labels] = v
    return U


def _finish_tree(U, regs):
    """Normalised U (leading K label axes) to ``T``: ``(−i)^{#y}`` back from ``iσy`` to σy, ``1/N_X`` per label."""
    K = len(regs)
    grids, n_y = _labels_grid(K)
    norm = np.ones((4,) * K)
    for X, g in enumerate(grids):
        norm = norm * np.where(g == 0, 1.0, 1.0 / regs[X].size)
    fac = ((-1j) ** n_y * norm).reshape((4,) * K + (1,) * (U.ndim - K))
    return np.ascontiguousarray((fac * U).real)


def dense_reduced_state(state: DenseState, sites) -> np.ndarray:
    """Reduced density matrix of ``sites`` in the order given, ``2^k × 2^k``.

    The first listed site is the most significant tensor factor. A vector is
    reshaped to ``(2,)*N``, the kept axes moved to the front and
    ``ρ = A A†`` formed with ``A`` of shape ``(2^k, 2^{N−k})``; a matrix is
    partially traced over the other sites. Normalised to unit trace.
    """
    if isinstance(state, SectorDenseState):
        return _sector_reduced_state(state, sites)
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
    if isinstance(state, SectorDenseState):
        return _sector_mbody_tensor(state, regions, M)
    n, arr = _data(state, where)
    regs = region_arrays(regions, n, where)
    M = mbd.check_body_order(M, [r.size for r in regs], where)
    vec = arr.ndim == 1
    apply_kern = kern.apply_collective_vector if vec else kern.apply_collective_rows

    def apply(phi, sites, a):
        return apply_kern(phi, n, sites, a)

    def close(v):
        return np.vdot(arr, v) if vec else np.trace(v)

    U = _mbody_moments(arr, regs, M, apply, close)
    return mbd.assemble_tensor(U, [r.size for r in regs], M, real_basis=True)


def _mbody_moments(root, regs, M, apply, close):
    """``U[μ_1…μ_K] = <Π_X Φ^X_{μ_X}>`` (real basis, unnormalised) of :func:`dense_mbody_tensor`'s recurrence.

    ``apply(phi, sites, a)`` adds a one-site operator, ``close(v)`` is the
    final overlap with the state; its values' shape is U's trailing shape.
    """
    from . import _mbody as mbd
    K = len(regs)
    counts, add = mbd.multisets(M)
    n_mu = len(counts)
    order = np.argsort(-counts.sum(axis=1), kind="stable")  # largest multisets first

    def region_ops(phi, sites):
        out = [None] * n_mu
        out[0] = phi
        for j in sites:
            one = np.array([j], dtype=np.int64)
            for mu in order:
                if out[mu] is None or add[0, mu] < 0:
                    continue
                for a in range(3):
                    t = apply(out[mu], one, a + 1)
                    tgt = add[a, mu]
                    out[tgt] = t if out[tgt] is None else out[tgt] + t
        return out

    vals = {}

    def recurse(phi, X, labels):
        for mu, v in enumerate(region_ops(phi, regs[X])):
            if v is None:
                continue
            if X == K - 1:
                vals[labels + (mu,)] = close(v)
            else:
                recurse(v, X + 1, labels + (mu,))

    recurse(root, 0, ())
    first = np.asarray(next(iter(vals.values())))
    U = np.zeros((n_mu,) * K + first.shape, dtype=np.result_type(*[np.asarray(v).dtype for v in vals.values()]))
    for labels, v in vals.items():
        U[labels] = v
    return U


# --------------------------------------------------------------------------- S^z-sector thermal states
# SectorDenseState keeps ρ = Σ_k V_k diag(p_k) V_k^† as sector eigenvectors (macrobell.tn._exact_thermal):
# every observable is a weighted sum over eigenvector chunks, computed for all temperatures of the spectrum
# at once and cached there. ρ commutes with S^z_total, so every operator that changes S^z has zero mean:
# one-site σx, σy vanish and two-site correlators need only ρ's diagonal and <σ^+_i σ^-_j>.

def _z_table(n):
    """``z_i(s) = (−1)^{bit i of s}`` for every basis state, shape (2^N, N)."""
    s = np.arange(1 << n, dtype=np.int64)[:, None]
    return 1.0 - 2.0 * ((s >> (n - 1 - np.arange(n))[None, :]) & 1)


def _sector_site_expectations(state) -> np.ndarray:
    n = state.n_sites
    d = state.spectrum.diagonal()[state.column]
    m = np.zeros((n, 4))
    m[:, 0] = d.sum()
    m[:, 3] = d @ _z_table(n)
    return m / d.sum()


def _sector_pair_correlations(state) -> np.ndarray:
    """``C[i, j, a, b]`` from ρ's diagonal (z parts) and ``G = <σ^+_i σ^-_j>`` (:meth:`SzSpectrum.hops`).

    With ``σx = σ^+ + σ^-`` and ``σy = −iσ^+ + iσ^-`` only the S^z-conserving
    products survive: ``<σx σx> = <σy σy> = 2 Re G``, ``<σx_i σy_j> = −2 Im G``,
    ``<σy_i σx_j> = 2 Im G``; every mixed x/y–z or x/y–1 correlator is 0.
    """
    n = state.n_sites
    sp, t = state.spectrum, state.column
    d = sp.diagonal()[t]
    G = sp.hops()[t]
    Z = _z_table(n)
    mz = d @ Z
    C = np.zeros((n, n, 4, 4))
    C[:, :, 0, 0] = 1.0
    C[:, :, 0, 3] = mz[None, :]
    C[:, :, 3, 0] = mz[:, None]
    C[:, :, 3, 3] = (Z * d[:, None]).T @ Z
    C[:, :, 1, 1] = C[:, :, 2, 2] = 2.0 * G.real
    if np.iscomplexobj(G):
        C[:, :, 1, 2] = -2.0 * G.imag
        C[:, :, 2, 1] = 2.0 * G.imag
    return fill_diagonal_blocks(C, _sector_site_expectations(state))


def _sector_correlation_tensor(state, regions, algorithm="auto") -> np.ndarray:
    """``T`` of an S^z-sector state.

    ``"tuples"`` (``"auto"`` for K ≤ 2): the region average of the cached
    one- and two-site correlators (``T[a, b] = mean_{i∈R_1, j∈R_2} C[i, j, a, b]``),
    free once :func:`_sector_pair_correlations` ran, so every K = 2 partition
    of a sweep point shares one pass. ``"tree"`` (``"auto"`` for K ≥ 3): the
    collective-operator tree of :func:`dense_correlation_tensor` on
    eigenvector chunks, ``O(4^{K−1} Σ_X N_X · C(2N, N))`` for all temperatures.
    """
    n = state.n_sites
    regs = region_arrays(regions, n, "correlation_tensor")
    K = len(regs)
    if algorithm == "auto":
        algorithm = "tuples" if K <= 2 else "tree"
    if algorithm == "tuples":
        if K > 2:
            raise ValueError(f"correlation_tensor: algorithm 'tuples' of an S^z-sector state is for K <= 2 "
                             f"regions (pair correlators), got K={K}; use 'tree' or 'auto'")
        if K == 1:
            return np.ascontiguousarray(_sector_site_expectations(state)[regs[0]].mean(axis=0))
        C = _sector_pair_correlations(state)
        return np.ascontiguousarray(C[np.ix_(regs[0], regs[1])].mean(axis=(0, 1)))
    sp = state.spectrum

    def compute():
        U, trace = 0.0, 0.0
        for b, X, W in sp.chunks(parts=2 * K + 4):
            root = SectorBatch({b.k: X})
            closers = [root] + [sp.apply(root, regs[-1], a) * (-1.0 if a == 2 else 1.0) for a in (1, 2, 3)]
            moments = _tree_moments(root, regs, lambda phi, sites, a: sp.apply(phi, sites, a),
                                    lambda phi: np.stack([sp.vdot(c, phi) for c in closers]))
            U = U + sp.weigh(moments, W)
            trace = trace + sp.weigh(sp.vdot(root, root), W)
        U = np.moveaxis(U / trace, -1, 0)
        return np.stack([_finish_tree(U[t], regs) for t in range(sp.n_temperatures)])

    key = ("tensor", tuple(tuple(int(i) for i in r) for r in regs))
    return np.array(sp.cached(key, compute)[state.column])


def _sector_reduced_state(state, sites) -> np.ndarray:
    s = site_array(sites, state.n_sites, "reduced_state")
    return np.array(state.spectrum.reduced(s)[state.column])


def _sector_mbody_tensor(state, regions, M) -> np.ndarray:
    from . import _mbody as mbd
    where = "mbody_tensor"
    regs = region_arrays(regions, state.n_sites, where)
    M = mbd.check_body_order(M, [r.size for r in regs], where)
    sp = state.spectrum

    def compute():
        U = 0.0
        for b, X, W in sp.chunks(parts=8):
            root = SectorBatch({b.k: X})
            U = U + sp.weigh(_mbody_moments(root, regs, M, lambda phi, sites, a: sp.apply(phi, sites, a),
                                            lambda v: sp.vdot(root, v)), W)
        U = np.moveaxis(U, -1, 0)
        return np.stack([mbd.assemble_tensor(U[t], [r.size for r in regs], M, real_basis=True)
                         for t in range(sp.n_temperatures)])

    key = ("mbody", M, tuple(tuple(int(i) for i in r) for r in regs))
    return np.array(sp.cached(key, compute)[state.column])


# --------------------------------------------------------------------------- registration (observables._dispatch)
from ._dispatch import register_observables  # noqa: E402  (the registration block ends the module)

register_observables(DenseState, correlation_tensor=dense_correlation_tensor,
                     pair_correlations=dense_pair_correlations, reduced_state=dense_reduced_state,
                     mbody_tensor=dense_mbody_tensor)
register_observables(SectorDenseState, correlation_tensor=_sector_correlation_tensor,
                     pair_correlations=_sector_pair_correlations, reduced_state=_sector_reduced_state,
                     mbody_tensor=_sector_mbody_tensor)
