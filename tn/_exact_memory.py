"""Memory guard of the exact backend: estimates in bytes, refused before anything is allocated.

Every exact computation first calls :func:`check_exact_memory` (or
:func:`check_exact_model_memory`) with its kind; the estimate is compared
with :func:`memory_limit_bytes`. The formulas are stated per kind in
:func:`estimate_exact_memory` (``dim = 2^N``, ``item`` = 8 bytes real or 16
complex, ``C(N, k)`` the size of the S^z sector with k spins down).
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np

from macrobell.lattice import SpinModel

__all__ = ["ExactTooLargeError", "memory_limit_bytes", "estimate_exact_memory", "check_exact_memory",
           "check_exact_model_memory", "thermal_memory_kind", "KINDS"]

#: The kinds :func:`estimate_exact_memory` knows.
KINDS = ("sparse", "lanczos", "full", "sectors", "density", "vector")
#: Bytes of observable workspace the S^z-sector thermal states use at a time (eigenvector chunks,
#: see ``tn._exact_thermal``); counted in the ``"sectors"`` estimate.
SECTOR_CHUNK_BYTES = 64 * 2**20
#: S^z-conserving models on spaces up to this dimension (N <= 10) keep the assembled ρ: it is small (8 MiB at
#: N = 10), as fast, and bitwise the same as before, so stored sweeps and fixtures reproduce; above it the
#: sector storage is ~6x faster (N = 12, 14) and ~13x smaller (N = 14). The ground state switches to S^z
#: sectors at the same dimension (``exact.FULL_DIAG_MAX_DIM``).
SECTOR_STORAGE_MIN_DIM = 1024


class ExactTooLargeError(ValueError):
    """The exact backend's memory estimate exceeds the limit (raised before allocating)."""


def memory_limit_bytes(max_memory_gb: float | None = None) -> int:
    """The memory limit for the exact backend, in bytes.

    In order: ``max_memory_gb`` if given, else ``$MACROBELL_MAX_MEMORY_GB``,
    else half of the machine's available memory (``MemAvailable`` in
    ``/proc/meminfo``, or ``os.sysconf``; 4 GiB if neither is readable).
    """
    if max_memory_gb is None:
        env = os.environ.get("MACROBELL_MAX_MEMORY_GB")
        if env is not None and env.strip():
            try:
                max_memory_gb = float(env)
            except ValueError:
                raise ValueError(f"MACROBELL_MAX_MEMORY_GB must be a number of GiB, got {env!r}") from None
    if max_memory_gb is not None:
        if isinstance(max_memory_gb, bool) or not isinstance(max_memory_gb, (int, float, np.integer, np.floating)) \
                or not math.isfinite(max_memory_gb) or max_memory_gb <= 0:
            raise ValueError(f"max_memory_gb must be a positive number of GiB, got {max_memory_gb!r}")
        return int(Fraction(float(max_memory_gb)) * 2**30)  # exact: max_memory_gb * 2**30 overflows a float above 1.7e299
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 8 * 2**30
    return int(avail // 2)


def estimate_exact_memory(n_sites: int, kind: str, *, n_ops: int | None = None, n_temperatures: int = 1,
                          is_complex: bool = False) -> int:
    """Estimated peak bytes of an exact computation (see :func:`check_exact_memory`).

    With ``dim = 2^N``, ``item`` = 8 (real) or 16 (complex) bytes, ``P`` =
    ``n_ops`` flip patterns and ``C_max = C(N, ⌊N/2⌋)``:

    * ``"sparse"``: building the sparse H, ``(2 item + 4) P dim + 48 dim``;
    * ``"lanczos"``: that, or the CSR matrix plus ~64 Lanczos vectors;
    * ``"full"``: dense diagonalisation of the whole space plus one assembled
      ``dim × dim`` ρ per temperature (``(2 + n_T) dim² item`` on top of H);
    * ``"sectors"``: S^z-sector thermal states that never assemble ρ
      (:func:`~macrobell.tn.exact.exact_thermal_states` for models conserving
      S^z): every sector's eigenvectors, ``Σ_k C(N, k)² = C(2N, N)`` entries
      (Vandermonde), shared by all temperatures; plus the diagonalisation of
      the largest sector (its dense block, overwritten by its eigenvectors,
      and a second ``C_max²`` for LAPACK's output/workspace: ``?syevr``; the
      faster ``?syevd`` is used only when its extra ``C_max²`` also fits);
      plus the basis tables (``25 dim``: the popcount filter of
      ``arange(2^N)`` and the rank table) and the observables' chunk
      workspace (``3 min(64 MiB, C_max² item)``); per temperature ``8 dim``
      for the weights. In all ``C(2N, N) item + C_max² item + 25 dim +
      3 min(64 MiB, C_max² item) + 8 dim n_T`` (N = 16: 5.9 GiB;
      N = 17: 22.0 GiB). Models without a z field store half of the
      eigenvectors (mirror sectors), so this is an upper bound for them;
    * ``"density"``: one ``dim × dim`` matrix and a temporary;
    * ``"vector"``: a few state vectors.

    Exact for ``n_sites <= 1100``; larger sizes return the estimate for
    1100 sites, a lower bound above any expressible limit.
    """
    n = min(int(n_sites), _ESTIMATE_MAX_SITES)
    dim = 2 ** n
    item = 16 if is_complex else 8
    if n_ops is None:
        n_ops = max(int(n_sites), 1) + 1  # a Heisenberg chain: one flip pattern per bond + diagonal
    n_ops = max(int(n_ops), 1)
    # to_sparse accumulates one value vector per flip pattern, then writes
    # CSR values and int32 indices (one entry per basis state and pattern);
    # the index vector and complex phase temporaries add ~48 bytes per state.
    build = (2 * item + 4) * n_ops * dim + 48 * dim
    csr = n_ops * dim * (item + 4) + 8 * dim
    if kind == "sparse":
        return build
    if kind == "lanczos":
        # ARPACK keeps ncv ~ 2k+1 ≤ 40 Lanczos vectors, plus eigenvectors and
        # the deflation workspace.
        return max(build, csr + 64 * dim * item)
    if kind == "full":
        # dense H (overwritten in place by LAPACK ?syevr, O(dim) workspace;
        # ?syevd is used instead when its 2·dim² workspace also fits),
        # eigenvectors, one density matrix per temperature, one temporary.
        dense = dim * dim * item
        return max(build, csr + dense) + (2 + int(n_temperatures)) * dense
    if kind == "sectors":
        cmax = math.comb(n, n // 2)
        # the largest sector's sparse block (COO triplets + CSR) is built before its dense copy
        sector_build = (2 * item + 4 + 16) * n_ops * cmax + 48 * cmax
        chunks = 3 * min(SECTOR_CHUNK_BYTES, cmax * cmax * item)  # a chunk never exceeds its sector's vectors
        return (math.comb(2 * n, n) * item + max(cmax * cmax * item, sector_build) + 25 * dim + chunks
                + 8 * dim * int(n_temperatures))
    if kind == "density":
        return 2 * dim * dim * item
    if kind == "vector":
        return 4 * dim * item
    raise ValueError(f"check_exact_memory: unknown kind {kind!r}; allowed: {list(KINDS)}")


def check_exact_memory(n_sites: int, kind: str, max_memory_gb: float | None = None, *, n_ops: int | None = None,
                       n_temperatures: int = 1, is_complex: bool = False) -> int:
    """Refuse, before allocating, an exact computation that would not fit in memory.

    Parameters
    ----------
    n_sites : int
        Number of spins N (Hilbert-space dimension 2^N).
    kind : {"sparse", "lanczos", "full", "sectors", "density", "vector"}
        ``"sparse"``: building the sparse H; ``"lanczos"``: that plus Lanczos
        vectors; ``"full"``: dense diagonalisation plus ``n_temperatures``
        density matrices; ``"sectors"``: S^z-sector thermal states (every
        sector's eigenvectors, ρ never assembled); ``"density"``: one
        2^N × 2^N density matrix; ``"vector"``: a few state vectors. The
        formulas: :func:`estimate_exact_memory`.
    max_memory_gb : float, optional
        The limit; default from :func:`memory_limit_bytes`.
    n_ops : int, optional
        Pauli strings in the Hamiltonian (default: a chain, 3 per site).
    n_temperatures : int
        Density matrices kept as results (``"full"``); weight vectors (``"sectors"``).
    is_complex : bool
        Complex arithmetic (16 bytes per entry instead of 8).

    Returns
    -------
    int
        The estimate in bytes, when it fits.

    Raises
    ------
    ExactTooLargeError
        With the estimate, the limit, N and the alternatives.
    """
    est = estimate_exact_memory(n_sites, kind, n_ops=n_ops, n_temperatures=n_temperatures, is_complex=is_complex)
    limit = memory_limit_bytes(max_memory_gb)
    if est > limit:
        alt = ("method='purification' (purified MPS)" if kind in ("full", "sectors")
               else "method='dmrg' (MPS)")
        size = _fmt_bytes(est) if n_sites <= _ESTIMATE_MAX_SITES else f"more than {_fmt_bytes(est)}"
        raise ExactTooLargeError(
            f"exact backend: N={n_sites} sites ({kind}) needs an estimated {size}, above the limit of "
            f"{_fmt_bytes(limit)} (set by max_memory_gb, $MACROBELL_MAX_MEMORY_GB, or half the available memory); "
            f"use {alt} for this size, or raise the limit if the machine really has the memory")
    return est


def check_exact_model_memory(model: SpinModel, kind: str, max_memory_gb: float | None = None, *,
                             n_temperatures: int = 1) -> int:
    """:func:`check_exact_memory` for ``model``, refusing impossible sizes in O(1).

    First the estimate with a single flip pattern (a lower bound, O(1)):
    a 10^6-site model is refused in microseconds, before its flip masks
    (O(terms × N) big integers) or sparse matrix are built. Only when that
    fits are the masks counted for the real estimate.
    """
    n, is_complex = model.n_sites, not model.is_real
    check_exact_memory(n, kind, max_memory_gb, n_ops=1, n_temperatures=n_temperatures, is_complex=is_complex)
    return check_exact_memory(n, kind, max_memory_gb, n_ops=_n_ops(model), n_temperatures=n_temperatures,
                              is_complex=is_complex)


def thermal_memory_kind(model: SpinModel) -> str:
    """The storage (and estimate kind) of ``model``'s exact thermal states.

    ``"sectors"`` when H conserves S^z on more than ``SECTOR_STORAGE_MIN_DIM``
    states, else ``"full"`` (one assembled ρ per temperature).
    """
    n = model.n_sites
    return "sectors" if model.conserves_sz and (n >= 64 or 2**n > SECTOR_STORAGE_MIN_DIM) else "full"


def _n_ops(model: SpinModel) -> int:
    """Number of flip patterns ``to_sparse`` stores (one entry per basis state each).

    Costs O(terms × N) big-integer operations: call it only after
    :func:`check_exact_model_memory`'s O(1) pre-check has passed.
    """
    return len(model.flip_masks())


#: Sizes above this are estimated as if they had this many sites, which keeps the estimate O(1) (no 2^N
#: big integers for N = 10^6) and still refuses them: 2^1100 bytes exceed the largest limit a float
#: max_memory_gb can express (1.8e308 GiB ≈ 2^1054 bytes).
_ESTIMATE_MAX_SITES = 1100


def _fmt_bytes(b: int) -> str:
    if b >= 2**50 * 1000:  # beyond ~1000 PiB: an exponent (b can be a 2^N integer too large for a float)
        return f"2^{math.log2(b):.4g} bytes"
    for unit, scale in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b / 2**10:.3g} KiB"


def _check_sector_memory(model: SpinModel, max_memory_gb, degenerate_rho: bool = False) -> int:
    """Peak-memory estimate of the sector ground state (largest sector's build + Lanczos, full-space result)."""
    n = model.n_sites
    item = 8 if model.is_real else 16
    dmax = math.comb(n, n // 2)
    n_ops = _n_ops(model)
    # per sector as estimate_exact_memory's "lanczos" (COO triplets instead of CSR: + 2 index arrays), plus
    # the basis, its search positions, and the ground vectors embedded in the full 2^N space
    build = (2 * item + 4 + 16) * n_ops * dmax + 48 * dmax
    basis = 17 * 2 ** n if n <= 26 else 8 * dmax  # sector_basis filters arange(2^N) (int64 + popcount + mask)
    est = max(build, n_ops * dmax * (item + 4) + 64 * dmax * item, basis) + 16 * dmax + 4 * (2 ** n) * item
    limit = memory_limit_bytes(max_memory_gb)
    if est > limit:
        raise ExactTooLargeError(
            f"exact backend: N={n} sites (Lanczos in the largest S^z sector, dim {dmax}) needs an estimated "
            f"{_fmt_bytes(est)}, above the limit of {_fmt_bytes(limit)} (set by max_memory_gb, "
            "$MACROBELL_MAX_MEMORY_GB, or half the available memory); use method='dmrg' (MPS) for this size")
    return est
