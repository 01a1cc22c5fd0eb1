"""Exact thermal states: one diagonalisation serves every temperature; by S^z sectors without assembling ρ.

``ρ(T) = Σ_n p_n |n><n|`` with Boltzmann weights ``p_n ∝ e^{−(E_n − E_0)/T}``
(shifted by ``E_0`` so nothing overflows; k_B = 1, energies in units of the
coupling, ``S = σ/2``; basis of :meth:`SpinModel.to_sparse`).

Two representations:

* models that conserve total S^z (``model.conserves_sz``), N > 10: every sector
  block is diagonalised (:mod:`._sectors`) and its eigenvectors are kept,
  shared by all temperatures (a :class:`SzSpectrum`); each temperature is
  only a weight vector. Observables are sums over eigenvector chunks
  (:mod:`macrobell.observables.dense` registers them for
  :class:`SectorDenseState`); the ``2^N × 2^N`` ρ is assembled only when a
  user reads ``state.rho``, and only when it fits the memory guard. Memory:
  ``Σ_k C(N, k)² = C(2N, N)`` eigenvector entries instead of ``4^N`` per
  temperature (N = 16: 4.5 GiB once, against 32 GiB per temperature); the
  estimate is :func:`~macrobell.tn._exact_memory.estimate_exact_memory`'s
  ``"sectors"``. Without a field the global spin flip maps sector k onto
  N − k: those share one stored array, and the middle sector is split into
  flip-even and flip-odd halves (a quarter of its ``eigh`` flops).
* every other model, and N ≤ 10: one diagonalisation (by sectors when
  S^z is conserved) and one assembled ρ per temperature (``DenseState.rho``), as before.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.linalg as sla

from macrobell._threads import pin_threads
from macrobell.lattice import SpinModel

from . import _sector_kernels as skern
from ._checks import check_model, check_options, check_temperatures
from ._exact_memory import (SECTOR_CHUNK_BYTES, ExactTooLargeError, check_exact_memory, check_exact_model_memory,
                            estimate_exact_memory, memory_limit_bytes, thermal_memory_kind, _n_ops)
from ._sectors import (_popcount, mirror_rows, sector_basis, sector_eigh, sector_hamiltonian, sector_ranks,
                       spin_flip_symmetric)
from .state import DenseState, Diagnostics

__all__ = ["exact_thermal_states", "SectorDenseState", "SzSpectrum", "SectorBatch"]

#: Boltzmann weights below this fraction of the largest are dropped (below double precision).
WEIGHT_CUTOFF = 1e-17
#: Results kept per spectrum (pair correlations, tensors, reduced states of every temperature), in bytes.
_CACHE_BYTES = 256 * 2**20


def exact_thermal_states(model: SpinModel, temperatures, *, degeneracy_tol: float = 1e-8,
                         max_memory_gb: float | None = None) -> list:
    """Thermal states ``ρ(T) = e^{−H/T}/Z`` for every temperature from one full diagonalisation.

    ``ρ(T) = Σ_n p_n |n><n|`` with ``p_n = e^{−(E_n−E_0)/T} / Σ_m e^{−(E_m−E_0)/T}``
    (the shift by ``E_0`` keeps every exponent ≤ 0); ``T = 0`` gives the
    equal mixture of the ground manifold (eigenvalues within
    ``degeneracy_tol`` of ``E_0``). Weights below 1e-17 of the largest are
    dropped (their contribution is below double precision).

    Models that conserve total S^z on more than ``SECTOR_STORAGE_MIN_DIM``
    states (N > 10) are diagonalised sector by sector and
    return :class:`SectorDenseState` objects: the sector eigenvectors are
    kept once for all temperatures and ρ is never assembled unless
    ``state.rho`` is read (then only if the 2^N × 2^N matrix fits the memory
    limit; otherwise a clear :class:`ExactTooLargeError`). Every observable
    (effective states, pair correlations, reduced states, M-body tensors,
    witnesses) is evaluated sector by sector, which reaches N = 16.

    Parameters
    ----------
    model : SpinModel
    temperatures : sequence of float
        Each ≥ 0 (units of the coupling, k_B = 1).
    degeneracy_tol : float
        Ground-manifold tolerance for ``T = 0``, in (0, 1e-5] (units of the coupling).
    max_memory_gb : float, optional
        Memory limit (see :func:`check_exact_memory`); the estimate counts
        one density matrix per temperature (``"full"``) or, for S^z-conserving
        models, every sector's eigenvectors once (``"sectors"``).

    Returns
    -------
    list of DenseState
        In the order given; ``energy = Tr(ρH)``, ``temperature = T``;
        ``rho`` set (S^z-conserving models: assembled on first access).
        ``diagnostics``: ``converged=True`` (a dense diagonalisation),
        ``energy``, ``energy_variance`` ``= Σ p_n E_n² − U²`` (``= Tr ρH² −
        (Tr ρH)²``, i.e. ``T² C_v``), ``discarded_weight`` (the total
        Boltzmann weight of the dropped levels, below 1e-17 each),
        ``max_bond = n_sweeps = None``, ``elapsed_s`` (shared diagonalisation
        plus this state's assembly), ``warnings=()``; ``extra`` (also in
        ``info``): ``method="exact"``, ``solver="full"``, ``lapack_driver``,
        ``sz_sectors``, ``beta``, ``free_energy`` (``−T ln Z``), ``entropy``
        (``−Σ p ln p``), ``degeneracy`` (of the ground manifold), ``gap``,
        ``mixed``, ``n_sites``, ``dim``, ``n_states_kept``, ``rho_storage``
        (``"dense"`` or ``"sz_sector_eigenvectors"``), ``mirrored_sectors``
        (sectors obtained from their spin-flip mirror).
    """
    pin_threads()  # a direct call too: multithreaded BLAS is far slower on these machines
    return _thermal_states(model, temperatures, degeneracy_tol=degeneracy_tol, max_memory_gb=max_memory_gb)


def _thermal_states(model, temperatures, *, degeneracy_tol=1e-8, max_memory_gb=None, sz_sectors=None) -> list:
    """:func:`exact_thermal_states`; ``sz_sectors``: None (auto), True (sector storage) or False (assembled ρ)."""
    where = "thermal_states(method='exact')"
    check_model(model, where)
    temps = check_temperatures(temperatures, where)
    degeneracy_tol = check_options(where, "exact", degeneracy_tol=degeneracy_tol)["degeneracy_tol"]
    if sz_sectors not in (None, True, False):
        raise ValueError(f"{where}: sz_sectors must be None (auto), True or False, got {sz_sectors!r}")
    if sz_sectors is True and not model.conserves_sz:
        raise ValueError(f"{where}: sz_sectors=True needs a model that conserves total S^z (XXZ-type exchange "
                         "with equal xx and yy couplings, fields along z); allowed: None or False for this model")
    # O(1) first, a lower bound of both storages: refuses 10^6 sites before conserves_sz looks at every bond
    check_exact_memory(model.n_sites, "sectors", max_memory_gb, n_ops=1, n_temperatures=len(temps))
    if sz_sectors is None:
        sz_sectors = thermal_memory_kind(model) == "sectors"
    if sz_sectors:
        return _sector_thermal_states(model, temps, degeneracy_tol, max_memory_gb)
    return _assembled_thermal_states(model, temps, degeneracy_tol, max_memory_gb)


def _boltzmann(E: np.ndarray, degeneracy_tol: float, temps: list) -> tuple:
    """Weights ``(levels, n_T)`` and per-temperature records from the concatenated energies ``E``."""
    E0 = float(E.min())
    ground = E <= E0 + degeneracy_tol
    g = int(ground.sum())
    above = E[~ground]
    gap = float(above.min() - E0) if above.size else float("nan")
    P = np.zeros((E.size, len(temps)))
    records = []
    for t, T in enumerate(temps):
        if T == 0:
            p = ground / g
            free, entropy, beta = E0, math.log(g), float("inf")
        else:
            with np.errstate(over="ignore"):  # T → 0+: (E−E0)/T → inf, weight 0
                w = np.exp(-(E - E0) / T)
            Z = w.sum()
            p = w / Z
            free = E0 - T * math.log(Z)
            pos = p[p > 0]
            entropy = float(-(pos * np.log(pos)).sum()) + 0.0
            beta = 1.0 / T
        keep = p > WEIGHT_CUTOFF * p.max()
        dropped = float(p[~keep].sum() / p.sum())
        p = np.where(keep, p, 0.0) / p[keep].sum()
        U = float(p @ E)
        variance = float(p @ (E - U) ** 2)  # central second moment: no cancellation of two large numbers
        P[:, t] = p
        records.append({"beta": beta, "free_energy": float(free), "entropy": entropy, "energy": U,
                        "variance": variance, "dropped": dropped, "kept": int(keep.sum()),
                        "mixed": bool(T > 0 or g > 1)})
    return P, records, g, gap


def _states_from(model, temps, records, g, gap, info0, t_diag, make) -> list:
    out = []
    for t, (T, rec) in enumerate(zip(temps, records)):
        t1 = time.perf_counter()
        info = {**info0, "beta": rec["beta"], "free_energy": rec["free_energy"], "entropy": rec["entropy"],
                "degeneracy": g, "gap": gap, "mixed": rec["mixed"], "n_states_kept": rec["kept"]}
        state = make(t, T, rec["energy"])
        state.diagnostics = Diagnostics(converged=True, energy=rec["energy"], energy_variance=rec["variance"],
                                        discarded_weight=rec["dropped"],
                                        elapsed_s=t_diag + time.perf_counter() - t1, extra=info)
        out.append(state)
    return out


# --------------------------------------------------------------------------- assembled ρ (any model)

def _assembled_thermal_states(model, temps, degeneracy_tol, max_memory_gb) -> list:
    t0 = time.perf_counter()
    n = model.n_sites
    est = check_exact_model_memory(model, "full", max_memory_gb, n_temperatures=len(temps))
    dim = 2**n
    is_complex = not model.is_real
    # ?syevd (divide and conquer) is ~2x faster than ?syevr but needs ~2·dim²
    # more workspace: use it when that still fits.
    extra = 2 * dim * dim * (16 if is_complex else 8)
    driver = "evd" if est + extra <= memory_limit_bytes(max_memory_gb) else "evr"
    blocks = _spectrum_blocks(model, driver)
    E = np.concatenate([b[1] for b in blocks])
    P, records, g, gap = _boltzmann(E, degeneracy_tol, temps)
    info0 = {"method": "exact", "solver": "full", "lapack_driver": driver, "sz_sectors": len(blocks),
             "n_sites": n, "dim": dim, "rho_storage": "dense", "mirrored_sectors": 0}

    def make(t, T, U):
        rho = _assemble_rho(blocks, P[:, t], dim, is_complex)
        return DenseState(model.lattice, model, energy=U, temperature=float(T), rho=rho)

    return _states_from(model, temps, records, g, gap, info0, time.perf_counter() - t0, make)


def _spectrum_blocks(model: SpinModel, driver: str) -> list:
    """Full spectrum as ``[(basis indices or None, energies, eigenvectors), …]``.

    When H conserves total S^z it is diagonalised sector by sector (the
    largest block of 12 sites is 924 instead of 4096: ~80× fewer flops);
    otherwise as one dense matrix.
    """
    H = model.to_sparse()
    if not model.conserves_sz:
        E, V = sla.eigh(H.toarray(), overwrite_a=True, check_finite=False, driver=driver)
        return [(None, E, V)]
    n = model.n_sites
    ups = _popcount(np.arange(2**n, dtype=np.int64))
    blocks = []
    for k in range(n + 1):
        idx = np.flatnonzero(ups == k)
        Hk = H[idx][:, idx].toarray()
        E, V = sla.eigh(Hk, overwrite_a=True, check_finite=False, driver=driver)
        blocks.append((idx, E, V))
    return blocks


def _assemble_rho(blocks: list, p: np.ndarray, dim: int, is_complex: bool) -> np.ndarray:
    """``ρ = Σ_n p_n |n><n|`` from ``[(basis indices or None, energies, eigenvectors)]`` (p in their order)."""
    rho = np.zeros((dim, dim), dtype=complex if is_complex else float)
    start = 0
    for idx, E, V in blocks:
        pk = p[start:start + E.size]
        start += E.size
        keep = pk > 0
        if not keep.any():
            continue
        Vk = V[:, keep]
        block = (Vk * pk[keep]) @ Vk.conj().T
        if idx is None:
            rho += block
        else:
            rho[np.ix_(idx, idx)] = block
    return rho


# --------------------------------------------------------------------------- S^z sectors, ρ never assembled

def _sector_thermal_states(model, temps, degeneracy_tol, max_memory_gb) -> list:
    t0 = time.perf_counter()
    n = model.n_sites
    check_exact_model_memory(model, "sectors", max_memory_gb, n_temperatures=len(temps))
    item = 8 if model.is_real else 16
    est = estimate_exact_memory(n, "sectors", n_ops=_n_ops(model), n_temperatures=len(temps),
                                is_complex=not model.is_real)
    cmax = math.comb(n, n // 2)
    driver = "evd" if est + cmax * cmax * item <= memory_limit_bytes(max_memory_gb) else "evr"
    spectrum, E = SzSpectrum.diagonalise(model, driver)
    P, records, g, gap = _boltzmann(E, degeneracy_tol, temps)
    spectrum.set_weights(P, temps, max_memory_gb)
    info0 = {"method": "exact", "solver": "full", "lapack_driver": driver, "sz_sectors": n + 1,
             "n_sites": n, "dim": 2**n, "rho_storage": "sz_sector_eigenvectors",
             "mirrored_sectors": spectrum.n_mirrored}

    def make(t, T, U):
        return SectorDenseState(model.lattice, model, spectrum=spectrum, column=t, energy=U, temperature=float(T))

    return _states_from(model, temps, records, g, gap, info0, time.perf_counter() - t0, make)


class _Block:
    """One sector's eigenpairs: ``vectors[rows]`` (``rows=None``: all rows) are its eigenvectors as columns."""

    __slots__ = ("k", "states", "energies", "vectors", "rows", "weights")

    def __init__(self, k, states, energies, vectors, rows=None):
        self.k, self.states, self.energies, self.vectors, self.rows = k, states, energies, vectors, rows
        self.weights = None


class SectorBatch:
    """``m`` vectors of the full space stored by S^z sector: ``blocks[k]`` has shape ``(C(N, k), m)``.

    The vector type of the sector observables: ``+``, multiplication by a
    scalar, :meth:`SzSpectrum.apply` and :meth:`SzSpectrum.vdot`.
    """

    __slots__ = ("blocks",)

    def __init__(self, blocks: dict):
        self.blocks = blocks

    def __add__(self, other: "SectorBatch") -> "SectorBatch":
        out = dict(self.blocks)
        for k, X in other.blocks.items():
            out[k] = X if k not in out else out[k] + X
        return SectorBatch(out)

    def __mul__(self, c) -> "SectorBatch":
        return SectorBatch({k: c * X for k, X in self.blocks.items()})

    __rmul__ = __mul__


class SzSpectrum:
    """Eigenpairs of every S^z sector of one model and the Boltzmann weights of its temperatures.

    Shared by the :class:`SectorDenseState` objects of one
    :func:`exact_thermal_states` call. Observables are computed for all
    temperatures at once (one pass over the eigenvectors) and cached.
    """

    def __init__(self, n: int, blocks: list, dtype, n_mirrored: int, rank: np.ndarray | None = None):
        self.n = n
        self.blocks = blocks
        self.dtype = np.dtype(dtype)
        self.n_mirrored = n_mirrored
        self.basis = {b.k: b.states for b in blocks}
        self.rank = sector_ranks(n) if rank is None else rank
        self.temperatures = None
        self.max_memory_gb = None
        self._cache = {}

    @classmethod
    def diagonalise(cls, model: SpinModel, driver: str) -> tuple:
        """All sector eigenpairs, largest sector first (the peak comes before anything is stored).

        Returns the spectrum and the concatenated energies in block order.
        """
        n = model.n_sites
        rank = sector_ranks(n)
        mirror = spin_flip_symmetric(model)
        order = sorted(range(n + 1), key=lambda k: (-math.comb(n, k), k))
        done, n_mirrored = {}, 0
        for k in order:
            if mirror and n - k in done:
                src = done[n - k]
                states = sector_basis(n, k)
                done[k] = _Block(k, states, src.energies, src.vectors, mirror_rows(n, states, rank))
                n_mirrored += 1
                continue
            Hk, states = sector_hamiltonian(model, k)
            E, V = sector_eigh(Hk, states, n, rank, driver=driver, flip_split=mirror and 2 * k == n)
            del Hk
            done[k] = _Block(k, states, E, V)
        blocks = [done[k] for k in range(n + 1)]
        dtype = np.result_type(*[b.vectors.dtype for b in blocks])
        spectrum = cls(n, blocks, dtype, n_mirrored, rank)
        return spectrum, np.concatenate([b.energies for b in blocks])

    def set_weights(self, P: np.ndarray, temps: list, max_memory_gb) -> None:
        """Attach the weights ``P`` (levels in block order × temperatures).

        Every eigenvector is kept, so that the chunks (:meth:`chunks`) and
        hence every temperature's rounding do not depend on which other
        temperatures were requested with it (a resumed sweep reproduces its
        files bit for bit); chunks weightless at every temperature are skipped.
        """
        self.temperatures = list(temps)
        self.max_memory_gb = max_memory_gb
        start = 0
        for b in self.blocks:
            b.weights = np.ascontiguousarray(P[start:start + b.energies.size])
            start += b.energies.size

    # ------------------------------------------------------------------ building blocks

    @property
    def n_temperatures(self) -> int:
        return len(self.temperatures)

    def chunks(self, parts: int = 1):
        """``(block, X, W)`` over every sector's eigenvectors in column chunks.

        ``X``: C-ordered ``(C(N, k), m_c)`` with at most ``SECTOR_CHUNK_BYTES / parts`` bytes;
        ``W``: their weights ``(m_c, n_T)``.
        """
        item = self.dtype.itemsize
        for b in self.blocks:
            m = b.energies.size
            if m == 0:
                continue
            width = max(1, int(SECTOR_CHUNK_BYTES // (parts * item * max(b.states.size, 1))))
            for c0 in range(0, m, width):
                c1 = min(m, c0 + width)
                W = b.weights[c0:c1]
                if not W.any():
                    continue
                X = b.vectors[:, c0:c1] if b.rows is None else b.vectors[b.rows, c0:c1]
                yield b, np.ascontiguousarray(X, dtype=self.dtype), W

    @staticmethod
    def weigh(A: np.ndarray, W: np.ndarray) -> np.ndarray:
        """``A @ W`` over A's last axis, one matrix-vector product per temperature.

        Shape ``A.shape[:-1] + (n_T,)``. Column by column so that a temperature's
        result is bitwise the same whatever other temperatures share the spectrum
        (a GEMM may round its columns differently with their number).
        """
        flat = A.reshape(-1, A.shape[-1])
        # a contiguous copy of each column: BLAS may take another code path (and rounding) for a strided x
        out = np.stack([flat @ np.ascontiguousarray(W[:, t]) for t in range(W.shape[1])], axis=-1)
        return out.reshape(A.shape[:-1] + (W.shape[1],))

    def apply(self, batch: SectorBatch, sites: np.ndarray, a: int) -> SectorBatch:
        """``Σ_{i∈sites} O_a^i`` on every vector of ``batch`` (real basis: 1 σx, 2 iσy, 3 σz)."""
        n = self.n
        sites = np.asarray(sites, dtype=np.int64)
        out = {}
        for k, X in batch.blocks.items():
            states = self.basis[k]
            if a == 3:
                mask = int(sum(1 << (n - 1 - int(i)) for i in sites))
                z = sites.size - 2.0 * _popcount(states & mask)
                Y = X * z[:, None]
                out[k] = Y if k not in out else out[k] + Y
                continue
            m = X.shape[1]
            lo = np.zeros((self.basis[k - 1].size if k > 0 else 0, m), dtype=X.dtype)
            hi = np.zeros((self.basis[k + 1].size if k < n else 0, m), dtype=X.dtype)
            skern.apply_flip_ops(X, states, self.rank, n, sites, a, lo, hi)
            for kk, Y in ((k - 1, lo), (k + 1, hi)):
                if Y.shape[0]:
                    out[kk] = Y if kk not in out else out[kk] + Y
        return SectorBatch(out)

    @staticmethod
    def vdot(left: SectorBatch, right: SectorBatch) -> np.ndarray:
        """Column-wise inner products ``<left_c|right_c>``, shape ``(m,)``."""
        m = next(iter(right.blocks.values())).shape[1]
        dtype = np.result_type(*[X.dtype for X in right.blocks.values()], *[X.dtype for X in left.blocks.values()])
        acc = np.zeros(m, dtype=dtype)
        for k, X in right.blocks.items():
            if k in left.blocks:
                acc += np.einsum("ij,ij->j", left.blocks[k].conj(), X)
        return acc

    def cached(self, key, compute):
        """``compute()`` (an array over all temperatures, axis 0), cached under ``key`` within a byte budget."""
        if key in self._cache:
            return self._cache[key]
        value = compute()
        while self._cache and sum(v.nbytes for v in self._cache.values()) + value.nbytes > _CACHE_BYTES:
            self._cache.pop(next(iter(self._cache)))
        if value.nbytes <= _CACHE_BYTES:
            value.setflags(write=False)
            self._cache[key] = value
        return value

    # ------------------------------------------------------------------ observables of every temperature

    def diagonal(self) -> np.ndarray:
        """``ρ[s, s]`` of every temperature, shape ``(n_T, 2^N)``."""
        def compute():
            d = np.zeros((self.n_temperatures, 1 << self.n))
            for b, X, W in self.chunks():
                d[:, b.states] += self.weigh(X.real ** 2 + X.imag ** 2 if np.iscomplexobj(X) else X * X, W).T
            return d
        return self.cached(("diagonal",), compute)

    def hops(self) -> np.ndarray:
        """``G[t, i, j] = <σ^+_i σ^-_j>`` (i ≠ j; σ^- lowers S^z), shape ``(n_T, N, N)``.

        ``G[t, j, i] = conj G[t, i, j]``; one :func:`~._sector_kernels.hop_sums` pass over the eigenvectors.
        """
        def compute():
            n = self.n
            G = np.zeros((n, n, self.n_temperatures), dtype=self.dtype)
            for b, X, W in self.chunks():
                out = np.zeros((n, n, X.shape[1]), dtype=X.dtype)
                skern.hop_sums(X, b.states, self.rank, n, out)
                G += self.weigh(out, W)
            G = np.moveaxis(G, 2, 0)
            return G + np.conj(np.swapaxes(G, 1, 2))
        return self.cached(("hops",), compute)

    def reduced(self, sites) -> np.ndarray:
        """Reduced density matrices of ``sites`` (first = most significant), shape ``(n_T, 2^k, 2^k)``, complex.

        Per sector the rows split as ``s = (a, r)`` (bits on ``sites``, the
        rest); for each popcount q of ``a`` the amplitudes form a matrix
        ``Y_q[a, (r, c)]`` and ``ρ_A`` gets ``Y_q diag(p) Y_q^†`` in its
        (a, a') block with popcount q (ρ_A commutes with S^z_A).
        """
        sites = tuple(int(s) for s in sites)

        def compute():
            n, kA = self.n, len(sites)
            rho = np.zeros((self.n_temperatures, 1 << kA, 1 << kA), dtype=complex)
            mask = sum(1 << (n - 1 - s) for s in sites)
            plan = {}
            for b, X, W in self.chunks():
                if b.k not in plan:
                    plan[b.k] = _reduced_plan(b.states, sites, n, mask)
                for rows, a_idx, r_idx, a_vals, n_r in plan[b.k]:
                    Y = np.zeros((a_vals.size, n_r, X.shape[1]), dtype=X.dtype)
                    Y[a_idx, r_idx] = X[rows]
                    Y = Y.reshape(a_vals.size, -1)
                    Yc = Y.conj().T
                    for t in range(self.n_temperatures):
                        w = np.tile(W[:, t], n_r)
                        rho[t][np.ix_(a_vals, a_vals)] += (Y * w) @ Yc
            tr = np.trace(rho, axis1=1, axis2=2).real
            return rho / tr[:, None, None]
        return self.cached(("reduced", sites), compute)

    def assemble(self, t: int) -> np.ndarray:
        """The dense ``2^N × 2^N`` ρ of temperature ``t`` (the caller checks the memory first)."""
        dim = 1 << self.n
        rho = np.zeros((dim, dim), dtype=self.dtype)
        for b in self.blocks:
            p = b.weights[:, t]
            keep = p > 0
            if not keep.any():
                continue
            V = (b.vectors if b.rows is None else b.vectors[b.rows])[:, keep]
            rho[np.ix_(b.states, b.states)] = (V * p[keep]) @ V.conj().T
        return rho


def _reduced_plan(states, sites, n, mask) -> list:
    """Per popcount q of the ``sites`` bits: (rows, a position, r position, sorted a values, number of r)."""
    kA = len(sites)
    a = np.zeros(states.size, dtype=np.int64)
    for idx, s in enumerate(sites):
        a |= ((states >> (n - 1 - s)) & 1) << (kA - 1 - idx)
    r = states & ~mask
    q = _popcount(a)
    plan = []
    for qq in np.unique(q):
        rows = np.flatnonzero(q == qq)
        a_vals, a_idx = np.unique(a[rows], return_inverse=True)
        r_vals, r_idx = np.unique(r[rows], return_inverse=True)
        plan.append((rows, a_idx, r_idx, a_vals, r_vals.size))
    return plan


class BlockDensityMatrix:
    """The S^z-block-diagonal ρ of a :class:`SectorDenseState`, never assembled: ``ndim``, ``shape`` and the owner.

    What :func:`macrobell.observables.dense._data` hands out for such a
    state; the dense functions route it to the sector implementations.
    """

    ndim = 2

    def __init__(self, state: "SectorDenseState"):
        self.state = state
        self.shape = (1 << state.n_sites, 1 << state.n_sites)
        self.dtype = state.spectrum.dtype


class SectorDenseState(DenseState):
    """A thermal (or T = 0 mixed) exact state kept as S^z-sector eigenvectors and Boltzmann weights.

    A :class:`DenseState` with ``vector = None`` whose ``ρ = Σ_k V_k
    diag(p_k) V_k^†`` is block diagonal in total S^z and never assembled
    unless :attr:`rho` is read. ``spectrum`` (a :class:`SzSpectrum`) is
    shared by every temperature of one :func:`exact_thermal_states` call;
    ``column`` is this state's temperature in it.
    """

    def __init__(self, lattice, model, *, spectrum: SzSpectrum, column: int, energy=None,
                 temperature=float("nan"), diagnostics=None):
        object.__setattr__(self, "_spectrum", spectrum)
        object.__setattr__(self, "_column", int(column))
        object.__setattr__(self, "_rho", None)
        super().__init__(lattice, model, energy=energy, temperature=temperature, diagnostics=diagnostics)

    @property
    def spectrum(self) -> SzSpectrum:
        return self._spectrum

    @property
    def column(self) -> int:
        return self._column

    @property
    def rho_blocks(self) -> BlockDensityMatrix:
        """ρ in block form (what the observables of :mod:`macrobell.observables.dense` read)."""
        return BlockDensityMatrix(self)

    def _get_rho(self):
        if self._rho is None:
            n = self.n_sites
            try:
                check_exact_memory(n, "density", self._spectrum.max_memory_gb,
                                   is_complex=self._spectrum.dtype.kind == "c")
            except ExactTooLargeError as err:
                raise ExactTooLargeError(
                    f"rho of this S^z-sector thermal state (N={n}) was not assembled, for memory reasons: {err}. "
                    "Every observable (effective_state, pair_correlations, reduced_state(s), M-body tensors, "
                    "witnesses) works without it") from None
            object.__setattr__(self, "_rho", self._spectrum.assemble(self._column))
        return self._rho

    def _set_rho(self, value):
        if value is not None:
            raise AttributeError("rho of an S^z-sector thermal state is derived from its eigenvectors and weights; "
                                 "build a new state with macrobell.tn.from_dense(rho, lattice) instead")

    rho = property(_get_rho, _set_rho, doc="The assembled 2^N × 2^N density matrix (built on first access, "
                                           "if it fits the memory limit; else ExactTooLargeError).")
