"""Correlators of MPS states: one-sweep effective states, all pairs, k-body reduced states.

All functions take an :class:`~macrobell.tn.MPSState` (plain, d = 2, or a
purification, d = 4 with ``s = 2 p + a``: operators act on the physical
``p``, the ancilla is traced) and lattice indices; the MPS order
(``lattice.mps_position``) is internal. The state is brought to
right-canonical form once (:meth:`MPSState.arrays`, cached read-only on
the state), so every right environment is the identity and only left
environments are carried.

* :func:`mps_correlation_tensor` — the one-sweep recurrence of docs/physics.md, 'One-sweep effective state',
  for the collective moments ``T[a_1…a_K] = <Π_X m^X_{a_X}>``: for each
  proper subset S of regions and each choice of non-identity labels on S a
  left environment ``L_S[a_S]`` (4^K − 3^K of them) is swept once through the
  chain; at a site of region X

      L_{S∪X}[a_S, a] += E_{σ_a}(L_S[a_S]),   L_S[a_S] ← E_1(L_S[a_S]),

  and ``T`` accumulates ``Tr E_{σ_a}(L_{all−X})``. Entries with identity
  labels are the lower-order sums divided by the region sizes. A subset
  that no later site can extend (every region outside it is finished) is
  *finished*: it is only ever closed by traces (no environment is built —
  e.g. ``{B}`` for halves), and a carried environment that becomes finished
  is traced once and dropped (``Tr E_1(L) = Tr L`` when right-canonical).
  Cost O(N χ³ d² 4^K), all in GEMMs (see :mod:`._mps_kernels`); real MPS
  use the real basis {1, σx, iσy, σz}. For blocks the sweep from both ends
  to a meeting bond (:mod:`._two_ended`) carries ~4^⌈K/2⌉ environments
  instead; a flop model picks the cheaper sweep per partition.
* :func:`mps_mbody_tensor` — the M-body effective tensor (K·M qubits, the
  average over ordered M-tuples of distinct sites per region; seed §III–IV)
  by the same sweep with environments keyed by one label multiset
  (|μ| ≤ M, labels x, y, z) per region: ``L_{…μ_X+a…} += E_{σ_a}(L_{…μ_X…})``
  at a site of region X. Identity slots, the slot order and the multisets
  reduce to exact counting factors (:mod:`._mbody`); no site tuples, cost
  O(N χ³ d² C(M+3, 3)^K).
* :func:`mps_pair_correlations` — all ``C[i, j, a, b]`` in O(N² χ³): one
  left-to-right sweep carrying, for every earlier site i, the three
  environments ``E_{σ_a}(L_i)``, a = x, y, z (the identity label would only
  reproduce the norm environment); each site j closes all of them with the
  four operators at once.
* :func:`mps_reduced_state` — ``ρ`` of any k sites (any order), O(N χ³ 4^k).
"""

from __future__ import annotations

import numpy as np

from macrobell.tn import MPSState

from . import _mbody as mb
from . import _mps_kernels as kern
from ._checks import region_arrays, site_array
from ._pauli import fill_diagonal_blocks
from ._two_ended import sweep_costs, two_ended_sweep

__all__ = ["mps_correlation_tensor", "mps_mbody_tensor", "mps_pair_correlations", "mps_reduced_state", "mps_reduced_states",
           "MPS_MAX_REGIONS",
           "correlation_tensor_arrays", "sweep_costs", "SWEEPS",
           "MPS_MAX_REDUCED_BYTES"]

#: Largest number of regions K of the one-sweep recurrence (4^K − 3^K environments of χ² each).
MPS_MAX_REGIONS = 8
#: Memory limit of the environments of :func:`mps_reduced_state` (4^k) and
#: :func:`mps_correlation_tensor` (4^K − 3^K), in bytes.
MPS_MAX_REDUCED_BYTES = 2 * 1024 ** 3


def _prepare(state, where):
    """Right-canonical site views ``(χl, dp, da, χr)`` and whether they are real, cached on ``state``.

    The QR sweep of :meth:`MPSState.arrays` is 25–34 % of an effective state
    at N = 256–1000 and would be repeated for every partition of a sweep
    point, so its result is kept in ``state._canonical_cache`` as read-only
    arrays, valid while ``state.mps`` is the same object.
    """
    if not isinstance(state, MPSState):
        raise ValueError(f"{where}: expected an MPSState, got {type(state).__name__}")
    cache = state._canonical_cache
    if cache is not None and cache[0] is state.mps:
        return list(cache[1]), cache[2]
    arrays = state.arrays("right")
    d = state.phys_dim
    bad = [k for k, A in enumerate(arrays) if A.shape[1] != d]
    if bad or len(arrays) != state.n_sites:
        raise ValueError(f"{where}: the MPS (length {len(arrays)}, local dims {sorted({A.shape[1] for A in arrays})}) "
                         f"does not match N={state.n_sites}, d={d}")
    real = not any(np.iscomplexobj(A) for A in arrays)
    da = 2 if state.purified else 1
    if not real:
        arrays = [A.astype(complex, copy=False) for A in arrays]
    A4 = [kern.site_view(A, da) for A in arrays]
    for A in arrays + A4:
        A.flags.writeable = False
    object.__setattr__(state, "_canonical_cache", (state.mps, tuple(A4), real))
    return list(A4), real


def _to_physical(U, real, ny):
    """Undo the real basis (σy = −i·iσy) and return the real part of an expectation value."""
    if real:
        U = U * ((-1j) ** ny)
    return np.real(U)


def mps_correlation_tensor(state: MPSState, regions) -> np.ndarray:
    """Normalised collective moments ``T[a_1…a_K] = <Π_X m^X_{a_X}>`` by one MPS sweep.

    Parameters
    ----------
    state : MPSState
        Plain or purified MPS.
    regions : sequence of sequences of int
        K disjoint, non-empty lists of lattice sites, ``1 <= K <= MPS_MAX_REGIONS``.

    Returns
    -------
    ndarray, shape (4,)*K, real
        ``m^X_a = (1/N_X) Σ_{i∈R_X} σ_a^i`` (σ_0 = 1), so ``T[0…0] = 1``.
    """
    where = "correlation_tensor"
    n = state.n_sites
    regs = region_arrays(regions, n, where, MPS_MAX_REGIONS,
                         "MPS_MAX_REGIONS: the sweep carries 4^K - 3^K environments")
    K = len(regs)
    A4, real = _prepare(state, where)
    chi = max(A.shape[0] for A in A4)
    nbytes = (4 ** K - 3 ** K) * chi ** 2 * (8 if real else 16)
    if nbytes > MPS_MAX_REDUCED_BYTES:
        raise ValueError(f"{where}: K={K} regions at bond dimension {chi} need {nbytes / 2**30:.1f} GiB of "
                         f"environments (4^K - 3^K = {4 ** K - 3 ** K} of chi^2 each); the limit is "
                         f"{MPS_MAX_REDUCED_BYTES / 2**30:.0f} GiB (MPS_MAX_REDUCED_BYTES)")
    pos = state.lattice.mps_position
    return correlation_tensor_arrays(A4, [pos[r] for r in regs], real=real)


#: Sweeps of :func:`correlation_tensor_arrays`: the cheaper of the two by :func:`sweep_costs`, or one forced.
SWEEPS = ("auto", "one-ended", "two-ended")
#: "auto" takes the two-ended sweep only when modelled at least 10 % cheaper: near parity (K = 2 halves,
#: model 1.06x) the measured times are equal within noise (N = 100, χ = 128: 300 vs 312 ms).
_TWO_ENDED_MARGIN = 0.9


def correlation_tensor_arrays(A4, regions_mps, real: bool, sweep: str = "auto") -> np.ndarray:
    """The sweep on right-canonical site arrays ``(χl, dp, da, χr)`` (see :func:`._mps_kernels.site_view`).

    ``regions_mps`` are disjoint lists of MPS *positions*. No validation of
    the arrays: :func:`mps_correlation_tensor` is the checked entry point;
    benchmarks call this to time the sweep alone. ``sweep`` is one of
    :data:`SWEEPS`: ``"one-ended"`` is the left-to-right sweep with finished
    environments traced and dropped (:func:`_one_ended_sweep`),
    ``"two-ended"`` sweeps from both ends to the meeting bond of least cost
    (:func:`._two_ended.two_ended_sweep`), ``"auto"`` takes the cheaper by the flop
    model :func:`sweep_costs` (two-ended only if >= 10 % cheaper). Both give the same ``T`` (to rounding).
    """
    if sweep not in SWEEPS:
        raise ValueError(f"correlation_tensor: sweep must be one of {SWEEPS}, got {sweep!r}")
    regs = [np.asarray(r, dtype=int) for r in regions_mps]
    if sweep == "one-ended":
        U = _one_ended_sweep(A4, regs, real)
    else:
        cost = sweep_costs([A.shape for A in A4], regs)
        if sweep == "two-ended" or cost["two-ended"] < _TWO_ENDED_MARGIN * cost["one-ended"]:
            U = two_ended_sweep(A4, regs, real, cost["bond"])
        else:
            U = _one_ended_sweep(A4, regs, real)
    return _assemble_T(U, regs, real)


def _one_ended_sweep(A4, regs, real):
    """``U[S]`` (labels of the regions of S in region order) by one left-to-right sweep."""
    n = len(A4)
    K = len(regs)
    region_at = np.full(n, -1)
    for X, r in enumerate(regs):
        region_at[r] = X
    last = max(int(r.max()) for r in regs)

    dtype = float if real else complex
    basis = kern.pauli_basis(real)
    lastpos = np.array([int(r.max()) for r in regs])
    # U[S][labels]: finished sums over one site per region of S (no further site can join them)
    U = {}

    def add_U(S, vals):
        U[S] = U.get(S, 0) + vals

    def grows(S, k):
        """Whether L_S can still be extended after site k (a region outside S has a later site)."""
        return any(lastpos[Y] > k for Y in range(K) if not S >> Y & 1)

    envs = {0: np.ones((1, 1, 1), dtype=dtype)}  # subset mask -> (3^|S|, χ, χ), labels region-ordered
    for k in range(last + 1):
        A = A4[k]
        X = int(region_at[k])
        masks = list(envs)
        bit = 1 << X if X >= 0 else 0
        # An environment nobody will extend is finished: Tr E_1(L) = Tr L (right-canonical), so its
        # trace is recorded now and it is not carried (nor transferred) any further.
        keep = [S for S in masks if grows(S, k)]
        for S in masks:
            if not grows(S, k):
                add_U(S, np.trace(envs[S], axis1=-2, axis2=-1).reshape((3,) * bin(S).count("1")))
        # P: extend S by X into an environment that will grow further (needs E_σ matrices);
        # C: extend S by X into a finished set (needs only Tr E_σ, no per-environment GEMM).
        pm = [S for S in masks if X >= 0 and not S & bit and grows(S | bit, k)]
        cm = [S for S in masks if X >= 0 and not S & bit and not grows(S | bit, k)]
        new = {}
        if cm:
            tr = kern.close_paulis(_stack(envs, cm), A, basis)
            row = 0
            for S in cm:
                m = envs[S].shape[0]
                nS = bin(S).count("1")
                j = bin(S & (bit - 1)).count("1")  # position of X among the regions of S ∪ X
                t = tr[row:row + m, 1:].T.reshape((3,) + (3,) * nS)
                add_U(S | bit, np.moveaxis(t, 0, j))
                row += m
        ident = [S for S in keep if S not in pm]
        if ident:
            new.update(_split(kern.transfer_identity(_stack(envs, ident), A), envs, ident))
        if pm:
            E = kern.transfer_paulis(_stack(envs, pm), A, real)  # (4, M, χ, χ)
            row = 0
            for S in pm:
                m = envs[S].shape[0]
                if S in keep:
                    new[S] = E[0, row:row + m]
                contrib = E[1:, row:row + m]  # (3, 3^|S|, χ, χ)
                row += m
                T = S | bit
                nS = bin(S).count("1")
                j = bin(S & (bit - 1)).count("1")  # position of X among T's regions
                chi = contrib.shape[-1]
                c = np.moveaxis(contrib.reshape((3,) + (3,) * nS + (chi, chi)), 0, j)
                c = c.reshape(3 ** (nS + 1), chi, chi)
                new[T] = new[T] + c if T in new else np.ascontiguousarray(c)
        envs = new
    # Past the last region site only traces remain (right environments are identities).
    for S, L in envs.items():
        add_U(S, np.trace(L, axis1=-2, axis2=-1).reshape((3,) * bin(S).count("1")))
    return U


def _assemble_T(U, regs, real):
    """``T`` from the sums ``U[S][labels]`` (identity labels: lower-order sums over the region sizes)."""
    K = len(regs)
    sizes = np.array([len(r) for r in regs], dtype=float)
    T = np.zeros((4,) * K)
    norm = float(np.real(U[0]))
    for a in np.ndindex(*(4,) * K):
        S = sum(1 << X for X in range(K) if a[X])
        labels = tuple(a[X] - 1 for X in range(K) if a[X])
        val = np.asarray(U[S])[labels]
        ny = sum(1 for x in a if x == 2)
        T[a] = _to_physical(val, real, ny) / np.prod(sizes[[X for X in range(K) if a[X]]]) / norm
    return T


def _stack(envs, masks):
    if len(masks) == 1:
        return envs[masks[0]]
    return np.concatenate([envs[S] for S in masks])


def _split(E, envs, masks):
    out, row = {}, 0
    for S in masks:
        m = envs[S].shape[0]
        out[S] = E[row:row + m]
        row += m
    return out


def mps_pair_correlations(state: MPSState) -> np.ndarray:
    """All two-point functions ``C[i, j, a, b] = <σ_a^i σ_b^j>`` of an MPS, shape (N, N, 4, 4), real.

    One left-to-right sweep in O(N² χ³): at site j the stack of
    environments ``E_{σ_a}(L_i)``, a = x, y, z, of all earlier sites i (3 per
    site) is closed with the four operators (one GEMM) and propagated (one
    more). The identity label needs no environment: ``E_1(L_i)`` propagates
    to the norm environment ``L_j`` itself, closed once per site.
    Diagonal blocks follow the dense backend: ``C[i, i] = Re <σ_a σ_b>``
    (identity plus ``C[i, i, 0, b] = C[i, i, b, 0] = <σ_b^i>``).
    """
    A4, real = _prepare(state, "pair_correlations")
    n = len(A4)
    basis = kern.pauli_basis(real)
    cbasis = kern.pauli_basis(False)
    dtype = float if real else complex
    Cm = np.zeros((n, n, 4, 4), dtype=dtype)
    mag = np.zeros((n, 4))
    # stack[0]: the norm environment L_j; stack[1 + 3 i + a − 1]: E_{σ_a}(L_i), a = x, y, z, propagated
    # to j. The identity label of site i needs no row: E_1(L_i) propagates to L_j itself, so
    # C[i, j, 0, b] is the same closing of stack[0] for every i < j.
    stack = np.ones((1, 1, 1), dtype=dtype)
    for j, A in enumerate(A4):
        rho = kern.site_density(stack[0], A)  # ρ[p', p]
        mag[j] = np.real(np.einsum("qpr,rp->q", cbasis, rho))
        if j:
            tr = kern.close_paulis(stack, A, basis)  # (1 + 3 j, 4): one site GEMM for all rows
            Cm[:j, j, 0] = tr[0]
            Cm[:j, j, 1:] = tr[1:].reshape(j, 3, 4)
        if j == n - 1:
            break
        E = kern.transfer_paulis(stack[:1], A, real)[:, 0]  # (4, χ, χ): E_{σ_a}(L_j)
        # propagate the 3j earlier environments straight into a stack with room for the new ones
        M = stack.shape[0] - 1
        new = np.empty((M + 4,) + E.shape[1:], dtype=E.dtype)
        new[0] = E[0]
        if M:
            kern.transfer_identity(stack[1:], A, out=new[1:M + 1])
        new[M + 1:] = E[1:]
        stack = new
    norm = mag[:, 0].mean()
    ny = (np.arange(4) == 2)[:, None].astype(int) + (np.arange(4) == 2)[None, :].astype(int)
    Cm = _to_physical(Cm, real, ny) / norm
    iu, ju = np.triu_indices(n, k=1)
    Cm[ju, iu] = Cm[iu, ju].transpose(0, 2, 1)
    fill_diagonal_blocks(Cm, mag / norm)
    pos = state.lattice.mps_position
    return Cm[np.ix_(pos, pos)]


def mps_reduced_state(state: MPSState, sites) -> np.ndarray:
    """Reduced density matrix of ``sites`` (lattice indices, any order), ``2^k × 2^k`` complex.

    The first listed site is the most significant tensor factor. One sweep
    from the first to the last of the sites in MPS order, carrying
    ``4^m`` environments after m chosen sites: O(N χ³ 4^k).
    """
    return mps_reduced_states(state, [sites])[0]


def mps_reduced_states(state: MPSState, groups) -> list:
    """Reduced density matrices of several site groups (see :func:`mps_reduced_state`).

    The state is brought to canonical form once for all groups (what
    M-body effective states need: one reduced state per site tuple).
    """
    where = "reduced_state"
    n = state.n_sites
    groups = [site_array(g, n, where, "sites") for g in groups]
    A4, real = _prepare(state, where)
    chi_max = max(A.shape[0] for A in A4)
    k_max = max(g.size for g in groups)
    nbytes = 4 ** k_max * chi_max ** 2 * (8 if real else 16)
    if nbytes > MPS_MAX_REDUCED_BYTES:
        raise ValueError(f"{where}: {k_max} sites at bond dimension {chi_max} need {nbytes / 2**30:.1f} GiB of "
                         f"environments; the limit is {MPS_MAX_REDUCED_BYTES / 2**30:.0f} GiB")
    pos = state.lattice.mps_position
    return [_reduced_from_arrays(A4, real, pos[g]) for g in groups]


def _reduced_from_arrays(A4, real: bool, p) -> np.ndarray:
    """ρ of the MPS positions ``p`` (caller's order) from right-canonical site arrays."""
    k = p.size
    perm = np.argsort(p)  # chosen sites in MPS order: p[perm]
    chosen = set(p.tolist())
    L = np.ones((1, 1, 1), dtype=float if real else complex)
    for q in range(int(p.max()) + 1):
        A = A4[q]
        if q in chosen:
            Y = kern.transfer_blocks(L, A)  # (M, p, c, p', c')
            M, dp, chi = Y.shape[0], Y.shape[1], Y.shape[2]
            L = np.ascontiguousarray(Y.transpose(0, 3, 1, 2, 4)).reshape(M * dp * dp, chi, chi)
        else:
            L = kern.transfer_identity(L, A)
    v = np.trace(L, axis1=-2, axis2=-1)  # index (p'_1, p_1, p'_2, p_2, …) in MPS order
    v = v.reshape((2, 2) * k)
    # rows: kets p' in the caller's order; columns: bras p in the caller's order
    inv = np.empty(k, dtype=int)
    inv[perm] = np.arange(k)   # caller position t sits at MPS-sorted slot inv[t]
    rows = [2 * inv[t] for t in range(k)]
    cols = [2 * inv[t] + 1 for t in range(k)]
    rho = v.transpose(rows + cols).reshape(2 ** k, 2 ** k).astype(complex)
    tr = np.trace(rho).real
    return rho / tr


#: Environments per GEMM batch of the M-body sweep (bounds the (4, batch, χ, χ) intermediates).
_MBODY_BATCH_BYTES = 64 * 1024 ** 2


def mps_mbody_tensor(state: MPSState, regions, M: int) -> np.ndarray:
    """The M-body effective tensor ``T``, shape (4,)*(K·M), by one MPS sweep.

    ``T`` is the Pauli tensor of the K·M-qubit average of ``ρ`` over ordered
    M-tuples of distinct sites per region (seed §III–IV), qubits grouped
    region by region. The sweep carries one environment per choice of a
    label multiset of at most M Paulis per region (see :mod:`._mbody` for
    the identity-slot, ordering and multiset reductions): ``C(M+3, 3)^K``
    environments at most, cost O(N χ³ d² C(M+3, 3)^K), no site tuples.

    Parameters
    ----------
    state : MPSState
        Plain or purified MPS.
    regions : sequence of sequences of int
        K disjoint regions of lattice sites, each with at least M sites,
        ``K·M <= MBODY_MAX_QUBITS``.
    M : int
        Body order, ``M >= 1`` (M = 1 gives :func:`mps_correlation_tensor`).
    """
    where = "mbody_tensor"
    n = state.n_sites
    regs = region_arrays(regions, n, where)
    sizes = [r.size for r in regs]
    M = mb.check_body_order(M, sizes, where)
    A4, real = _prepare(state, where)
    chi = max(A.shape[0] for A in A4)
    n_env = len(mb.multisets(M)[0]) ** len(regs)
    nbytes = n_env * chi ** 2 * (8 if real else 16)
    if nbytes > MPS_MAX_REDUCED_BYTES:
        raise ValueError(f"{where}: M={M}, K={len(regs)} at bond dimension {chi} need {nbytes / 2**30:.1f} GiB of "
                         f"environments ({n_env} of chi^2 each); the limit is "
                         f"{MPS_MAX_REDUCED_BYTES / 2**30:.0f} GiB (MPS_MAX_REDUCED_BYTES)")
    pos = state.lattice.mps_position
    return mbody_tensor_arrays(A4, [pos[r] for r in regs], M, real=real)


def mbody_tensor_arrays(A4, regions_mps, M: int, real: bool) -> np.ndarray:
    """The M-body sweep on right-canonical site arrays (no validation; see :func:`mps_mbody_tensor`).

    Environments are keyed by ``(μ_1…μ_K)`` (flat index over ``(nμ,)*K``).
    At a site of region X an environment with ``|μ_X| < M`` feeds
    ``E_{σ_a}(L)`` into ``μ_X + a`` and keeps ``E_1(L)``. As in the M = 1
    sweep, an environment that no later site can extend is traced and
    dropped (``Tr E_1(L) = Tr L``, right-canonical), and extensions into such
    keys need only traces (:func:`._mps_kernels.close_paulis`).
    """
    n = len(A4)
    regs = [np.asarray(r, dtype=int) for r in regions_mps]
    K = len(regs)
    region_at = np.full(n, -1)
    for X, r in enumerate(regs):
        region_at[r] = X
    lastpos = np.array([int(r.max()) for r in regs])
    counts, add = mb.multisets(M)
    n_mu = len(counts)
    shape = (n_mu,) * K
    size_of = counts.sum(axis=1)
    total = n_mu ** K
    mus = np.array(np.unravel_index(np.arange(total), shape)).T  # (total, K)
    room = size_of[mus] < M  # (total, K): region X can still take a label
    dtype = float if real else complex
    basis = kern.pauli_basis(real)
    U = np.zeros(total, dtype=dtype)

    def extensible(keys, k):
        # a later site of a region that still has room
        return np.any(room[keys] & (lastpos[None, :] > k), axis=1)

    def target(keys, X, a):
        m = mus[keys].copy()
        m[:, X] = add[a, m[:, X]]
        return np.ravel_multi_index(m.T, shape)

    keys = np.zeros(1, dtype=np.int64)
    stack = np.ones((1, 1, 1), dtype=dtype)
    for k in range(int(lastpos.max()) + 1):
        X = int(region_at[k])
        kept = extensible(keys, k)
        # an environment nobody extends after k is finished: Tr E_1(L) = Tr L, recorded now
        if not kept.all():
            U[keys[~kept]] += np.trace(stack[~kept], axis1=-2, axis2=-1)
        gi = np.flatnonzero(room[keys, X]) if X >= 0 else np.zeros(0, dtype=np.int64)
        targets = np.array([target(keys[gi], X, a) for a in range(3)]).reshape(3, gi.size)
        # the three targets of one key share their sizes, hence their fate
        full = extensible(targets[0], k)
        keys, stack = _mbody_site(stack, keys, A4[k], kept, gi, targets, full, real, basis, U)
    U[keys] += np.trace(stack, axis1=-2, axis2=-1)
    return mb.assemble_tensor(U.reshape(shape), [r.size for r in regs], M, real_basis=real)


def _mbody_site(stack, keys, A, kept, gi, targets, full, real, basis, U):
    """One site of the M-body sweep: returns the new ``(keys, stack)``; finished traces go into ``U``.

    ``gi`` are the rows that take a label here, ``targets[a−1]`` their keys
    after ``σ_a``; where ``full`` the targets are carried (``E_σ`` matrices),
    elsewhere only their traces are needed. Rows with ``kept`` also carry
    their own ``E_1``.
    """
    new_keys = np.unique(np.concatenate([keys[kept], targets[:, full].ravel()]))
    slot = np.full(U.size, -1, dtype=np.int64)
    slot[new_keys] = np.arange(new_keys.size)
    chi_r = A.shape[-1]
    new = np.zeros((new_keys.size, chi_r, chi_r), dtype=stack.dtype)
    # += throughout: a key can receive its own E_1 and extensions of other keys, in any batch
    done = np.zeros(keys.size, dtype=bool)  # E_1 already written
    f_idx = np.flatnonzero(full)
    for part in _batches(f_idx, stack.shape[-1]):
        rows = gi[part]
        E = kern.transfer_paulis(stack[rows], A, real)  # (4, b, χ, χ)
        sel = kept[rows]
        new[slot[keys[rows[sel]]]] += E[0, sel]
        done[rows[sel]] = True
        for a in range(3):
            new[slot[targets[a, part]]] += E[a + 1]
    c_idx = np.flatnonzero(~full)
    if c_idx.size:
        tr = kern.close_paulis(stack[gi[c_idx]], A, basis)  # (c, 4)
        for a in range(3):
            np.add.at(U, targets[a, c_idx], tr[:, a + 1])
    rest = np.flatnonzero(kept & ~done)
    for rows in _batches(rest, stack.shape[-1]):
        new[slot[keys[rows]]] += kern.transfer_identity(stack[rows], A)
    return new_keys, new


def _batches(rows, chi):
    step = max(1, _MBODY_BATCH_BYTES // (16 * 8 * chi * chi))
    for s in range(0, rows.size, step):
        yield rows[s:s + step]


# --------------------------------------------------------------------------- registration (observables._dispatch)
from ._dispatch import register_observables  # noqa: E402  (the registration block ends the module)

register_observables(MPSState, correlation_tensor=mps_correlation_tensor, pair_correlations=mps_pair_correlations,
                     reduced_state=mps_reduced_state, reduced_states=mps_reduced_states,
                     mbody_tensor=mps_mbody_tensor)
