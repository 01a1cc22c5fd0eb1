"""Exact (dense) backend: Lanczos ground states, fully diagonalised thermal states.

This backend is the oracle for every other one. It works on the sparse
Hamiltonian :meth:`SpinModel.to_sparse` (site 0 = most significant bit,
``|0> = |↑>``, ``S = σ/2``, k_B = 1) and refuses, before allocating, any
request whose estimated memory exceeds a limit (:func:`check_exact_memory`,
formulas in :func:`estimate_exact_memory`).

* :func:`exact_ground_state` — Lanczos (ARPACK ``eigsh``, smallest
  algebraic) with an explicit degeneracy search: the lowest eigenvalues are
  requested in growing blocks, then the found ground manifold is deflated
  (shifted up) and Lanczos run again until the next eigenvalue lies above
  ``E0 + degeneracy_tol``. A degenerate ground manifold gives its equal
  mixture ``ρ = P_0 / g``, the ``T → 0`` limit of the thermal state.
  When H conserves total S^z (``model.conserves_sz``) and the space is
  above ``FULL_DIAG_MAX_DIM``, the search runs sector by sector on blocks
  built directly in each sector (:func:`sector_hamiltonian`; memory ∝
  C(N, N/2), 6.2× less than 2^N at N = 24), and the ground manifold is the
  union over sectors of the levels within ``degeneracy_tol`` of the lowest.
* :func:`exact_thermal_states` (:mod:`._exact_thermal`) — one full
  diagonalisation ``H = Σ E_n |n><n|`` serves every temperature:
  ``ρ(T) = Σ_n p_n |n><n|`` with Boltzmann weights ``p_n ∝ exp(−(E_n − E_0)/T)``.
  For S^z-conserving models the sector eigenvectors are kept and ρ is
  never assembled (:class:`SectorDenseState`), which reaches N = 16.
* :func:`dense_state_from_array` — validation for user-supplied states.

Sector machinery: :mod:`._sectors`; memory guard: :mod:`._exact_memory`.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse.linalg as spla

from macrobell._threads import pin_threads
from macrobell.lattice import Lattice, SpinModel

from ._checks import check_model, check_options
from ._exact_memory import (KINDS, ExactTooLargeError, _check_sector_memory, _fmt_bytes, _n_ops,  # noqa: F401
                            check_exact_memory, check_exact_model_memory, estimate_exact_memory, memory_limit_bytes,
                            thermal_memory_kind)
from ._exact_thermal import (SectorDenseState, SzSpectrum, _assemble_rho, _spectrum_blocks,  # noqa: F401
                             _thermal_states, exact_thermal_states)
from ._sectors import (_popcount, _sector_order, _su2_no_field, sector_basis, sector_hamiltonian,  # noqa: F401
                       sector_ranks, spin_flip_symmetric)
from .state import ConvergenceWarning, DenseState, Diagnostics

__all__ = ["exact_ground_state", "exact_thermal_states", "dense_state_from_array", "check_exact_memory",
           "estimate_exact_memory", "sector_basis", "sector_hamiltonian", "SectorDenseState",
           "check_exact_model_memory", "ExactTooLargeError", "memory_limit_bytes", "FULL_DIAG_MAX_DIM"]

#: Ground states of Hilbert spaces up to this dimension use dense ``eigh``
#: (exact degeneracies, no Lanczos subtleties; N ≤ 10 qubits).
FULL_DIAG_MAX_DIM = 1024
#: Largest ground-state degeneracy searched for with Lanczos before falling
#: back to full diagonalisation (when that fits in memory).
MAX_LANCZOS_DEGENERACY = 256
#: S^z sectors up to this dimension use dense ``eigh``; larger ones Lanczos (a 924-dimensional sector, the
#: middle one of 12 sites, takes ~10x longer by ``eigh`` than by ARPACK on a shared core).
SECTOR_FULL_DIAG_MAX_DIM = 128
_SEED = 20110605  # fixed Lanczos start vectors: reproducible results


def _norm_bound(model: SpinModel) -> float:
    """An upper bound on ‖H‖: Σ |c|/4 per two-site string, |c|/2 per field."""
    return (sum(abs(t.coefficient) * len(t.bonds) for t in model.terms) / 4
            + sum(abs(f.coefficient) * len(f.sites) for f in model.fields) / 2)


def _fix_phase(v: np.ndarray) -> np.ndarray:
    """Make the largest-magnitude component real and positive (a reproducible gauge)."""
    k = int(np.argmax(np.abs(v)))
    ph = v[k] / abs(v[k])
    v = v * np.conj(ph)
    if np.iscomplexobj(v) and np.abs(v.imag).max() == 0:
        v = v.real.copy()
    return v / np.linalg.norm(v)


def _eigsh(op, k, tol, v0, ncv=None, messages=None):
    """ARPACK smallest-algebraic eigenpairs; on non-convergence retry once with more room.

    Warning messages issued are appended to ``messages`` (the state's ``diagnostics.warnings``)."""
    try:
        e, v = spla.eigsh(op, k=k, which="SA", tol=tol, v0=v0, ncv=ncv)
        return e, v, True
    except spla.ArpackNoConvergence:
        pass
    dim = op.shape[0]
    ncv2 = min(dim - 1, max(2 * k + 1, 20) * 2)
    try:
        e, v = spla.eigsh(op, k=k, which="SA", tol=tol, v0=v0, ncv=ncv2, maxiter=20 * dim)
        return e, v, True
    except spla.ArpackNoConvergence as err:
        msg = (f"exact ground state: Lanczos did not converge to tol={tol}; using the "
               f"{len(err.eigenvalues)} converged eigenpairs")
        if messages is not None:
            messages.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        if len(err.eigenvalues) == 0:
            raise RuntimeError("exact ground state: Lanczos found no converged eigenvalue") from None
        return err.eigenvalues, err.eigenvectors, False


def _lanczos_manifold(H, model, tol, degeneracy_tol, rng, messages=None):
    """Ground manifold (E0, orthonormal vectors) and the next eigenvalue, by Lanczos + deflation."""
    dim = H.shape[0]
    dtype = H.dtype
    converged = True
    k = min(4, dim - 2)
    while True:
        v0 = rng.standard_normal(dim).astype(dtype)
        e, v, ok = _eigsh(H, k, tol, v0, messages=messages)
        converged &= ok
        order = np.argsort(e)
        e, v = e[order], v[:, order]
        E0 = e[0]
        if e[-1] > E0 + degeneracy_tol or k >= min(MAX_LANCZOS_DEGENERACY, dim - 2):
            break
        k = min(2 * k, MAX_LANCZOS_DEGENERACY, dim - 2)
    ground = e <= E0 + degeneracy_tol
    V = v[:, ground]
    above = e[~ground]
    E1 = above[0] if above.size else np.inf
    if not ground.all() or k < dim - 2:
        # Deflation check: Lanczos from one start vector can miss copies of a
        # degenerate eigenvalue. Push the found manifold up by more than the
        # spectral width and look again; repeat until nothing is left at E0.
        shift = 2.0 * _norm_bound(model) + 1.0
        while V.shape[1] <= MAX_LANCZOS_DEGENERACY:
            Vc, VcH = V, V.conj().T.copy()

            def matvec(x, Vc=Vc, VcH=VcH):
                x = np.asarray(x).reshape(-1)
                return H @ x + shift * (Vc @ (VcH @ x))

            op = spla.LinearOperator((dim, dim), matvec=matvec, dtype=dtype)
            v0 = rng.standard_normal(dim).astype(dtype)
            v0 -= V @ (V.conj().T @ v0)
            ed, vd, ok = _eigsh(op, 1, tol, v0, messages=messages)
            converged &= ok
            ed, vd = ed[0], vd[:, 0]
            if ed > E0 + degeneracy_tol:
                E1 = min(E1, ed)
                break
            # a missed ground state: orthogonalise (twice, for stability) and keep it
            for _ in range(2):
                vd = vd - V @ (V.conj().T @ vd)
            vd /= np.linalg.norm(vd)
            V = np.column_stack([V, vd])
            E0 = min(E0, ed)
        else:
            raise RuntimeError(f"exact ground state: degeneracy above {MAX_LANCZOS_DEGENERACY}; "
                               "use exact_thermal_states(model, [0.0]) (full diagonalisation) instead")
    return float(E0), V, float(E1), converged


def _full_manifold(H, degeneracy_tol):
    """Ground manifold by dense ``eigh``: (E0, vectors, next eigenvalue or nan)."""
    e, v = np.linalg.eigh(H.toarray())
    ground = e <= e[0] + degeneracy_tol
    E1 = float(e[~ground][0]) if (~ground).any() else float("nan")
    return float(e[0]), v[:, ground], E1



def _sector_ground_manifold(model, tol, degeneracy_tol, messages):
    """Ground manifold over the S^z sectors: each sector's lowest levels, the minimum over sectors.

    With isotropic exchange and no field every S multiplet has a member in the
    middle sector, so a sector's lowest energy cannot decrease with ``|S^z|``:
    the scan stops at the first sector above ``E0 + degeneracy_tol``. Otherwise
    every sector is diagonalised (memory: one sector at a time).

    Returns ``(E0, [(states, vectors, H_block)], E1, converged, n_sectors)``.
    """
    n = model.n_sites
    monotone = _su2_no_field(model)
    rng = np.random.default_rng(_SEED)
    found, E1, converged, done = [], np.inf, True, 0
    E0 = np.inf
    for k in _sector_order(n):
        Hk, states = sector_hamiltonian(model, k)
        d = states.size
        done += 1
        if d <= SECTOR_FULL_DIAG_MAX_DIM:
            e0k, Vk, e1k = _full_manifold(Hk, degeneracy_tol)
            e1k = np.inf if not math.isfinite(e1k) else e1k
        else:
            try:
                e0k, Vk, e1k, ok = _lanczos_manifold(Hk, model, tol, degeneracy_tol, rng, messages)
            except RuntimeError:
                if d * d * (16 if Hk.dtype.kind == "c" else 8) * 3 > memory_limit_bytes(None):
                    raise
                e0k, Vk, e1k = _full_manifold(Hk, degeneracy_tol)
                ok = True
            converged &= ok
        if e0k < E0 - degeneracy_tol:
            # a new, lower manifold: what was found so far lies above it
            E1 = min([E1, e1k] + [f[3] for f in found])
            found = []
            E0 = e0k
        if e0k <= E0 + degeneracy_tol:
            E0 = min(E0, e0k)
            found.append((states, Vk, Hk, e0k))
            E1 = min(E1, e1k)
        else:
            E1 = min(E1, e0k)
            if monotone:
                break
    # drop members that a later, slightly lower sector pushed out of the window
    keep = [f for f in found if f[3] <= E0 + degeneracy_tol]
    E1 = min([E1] + [f[3] for f in found if f[3] > E0 + degeneracy_tol])
    return float(E0), [(s, V, H) for s, V, H, _ in keep], float(E1), converged, done


def exact_ground_state(model: SpinModel, *, tol: float = 1e-12, degeneracy_tol: float = 1e-8,
                       max_memory_gb: float | None = None) -> DenseState:
    """Ground state of ``model`` by exact diagonalisation.

    Hilbert spaces up to ``FULL_DIAG_MAX_DIM`` are diagonalised densely;
    larger ones by Lanczos (ARPACK ``eigsh``, smallest algebraic) with the
    degeneracy search described in the module docstring.

    Parameters
    ----------
    model : SpinModel
    tol : float
        Lanczos relative tolerance on the eigenvalues, in (0, 1e-5] (ranges
        and their reasons: :mod:`macrobell.tn._checks`).
    degeneracy_tol : float
        Eigenvalues within this (absolute, units of the coupling) of E0
        belong to the ground manifold; in (0, 1e-5].
    max_memory_gb : float, optional
        Memory limit (see :func:`check_exact_memory`).

    Notes
    -----
    S^z sectors: whenever ``model.conserves_sz`` and the space is above
        ``FULL_DIAG_MAX_DIM``, Lanczos runs sector by sector in total ``S^z``
        (:func:`sector_hamiltonian`; the largest block of 24 sites,
        C(24, 12), is 6.2× smaller than 2^24, which brings N = 24 within memory).
        Each sector's lowest levels are found with the same Lanczos +
        deflation search; the ground energy is the minimum over sectors and
        the ground manifold the union of every sector's levels within
        ``degeneracy_tol`` of it (mixed as a degenerate manifold, exactly as
        the full-space search does). With isotropic exchange and no field
        the scan goes outwards from ``S^z = 0`` (or ±1/2) and stops at the
        first sector above ``E0 + degeneracy_tol``; otherwise every sector
        is diagonalised, one at a time. (``_ground_state(..., sz_sectors=False)``
        forces the full space, for comparisons.)

    Returns
    -------
    DenseState
        ``vector`` for a non-degenerate ground state, else ``rho`` = the equal
        mixture of the g ground states (``info["mixed"] = True``).
        ``energy = E0``, ``temperature = 0``. ``diagnostics``: ``converged``
        (every Lanczos run met ``tol``; always True for dense ``eigh``),
        ``energy`` = E0, ``energy_variance`` = ``<H²> − <H>²`` of the returned
        state computed from ``H`` applied to its vectors (rounding-level for
        an eigenvector), ``discarded_weight = 0`` (nothing truncated),
        ``max_bond = n_sweeps = None``, ``elapsed_s``, ``warnings``; ``extra``
        (also in ``info``): ``method="exact"``, ``solver`` ("full" |
        "lanczos"), ``degeneracy``, ``gap`` (E1 − E0; ``nan`` if the whole
        spectrum is degenerate), ``mixed``, ``n_sites``, ``dim``. Lanczos
        non-convergence emits :class:`~macrobell.tn.state.ConvergenceWarning`.
    """
    pin_threads()  # a direct call too: multithreaded BLAS is far slower on these machines
    return _ground_state(model, tol=tol, degeneracy_tol=degeneracy_tol, max_memory_gb=max_memory_gb)


def _ground_state(model, *, tol=1e-12, degeneracy_tol=1e-8, max_memory_gb=None, sz_sectors=None) -> DenseState:
    """:func:`exact_ground_state`; ``sz_sectors``: None (auto), True (sectors) or False (the full space)."""
    where = "ground_state(method='exact')"
    check_model(model, where)
    o = check_options(where, "exact", tol=tol, degeneracy_tol=degeneracy_tol)
    tol, degeneracy_tol = o["tol"], o["degeneracy_tol"]
    if sz_sectors not in (None, True, False):
        raise ValueError(f"{where}: sz_sectors must be None (auto), True or False, got {sz_sectors!r}")
    t0 = time.perf_counter()
    n = model.n_sites
    full = n < 64 and 2**n <= FULL_DIAG_MAX_DIM
    # O(1) first: the result alone is a 2^N vector (refuses N = 10^6 before any O(N) look at the terms)
    check_exact_memory(n, "vector", max_memory_gb, is_complex=not model.is_real)
    if sz_sectors is True and not model.conserves_sz:
        raise ValueError(f"{where}: sz_sectors=True needs a model that conserves total S^z (XXZ-type exchange "
                         "with equal xx and yy couplings, fields along z); allowed: None or False for this model")
    if sz_sectors or (sz_sectors is None and not full and model.conserves_sz):
        return _sector_ground_state(model, tol, degeneracy_tol, max_memory_gb, t0)
    check_exact_model_memory(model, "full" if full else "lanczos", max_memory_gb, n_temperatures=1)
    dim = 2**n
    is_complex = not model.is_real
    H = model.to_sparse()
    converged = True
    messages = []
    if full:
        E0, V, E1 = _full_manifold(H, degeneracy_tol)
        solver = "full"
    else:
        solver = "lanczos"
        rng = np.random.default_rng(_SEED)
        try:
            E0, V, E1, converged = _lanczos_manifold(H, model, tol, degeneracy_tol, rng, messages)
        except RuntimeError:
            if estimate_exact_memory(n, "full", n_ops=_n_ops(model), is_complex=is_complex) \
                    > memory_limit_bytes(max_memory_gb):
                raise
            E0, V, E1 = _full_manifold(H, degeneracy_tol)
            solver = "full"  # the degeneracy exceeded what Lanczos deflation searches
    g = V.shape[1]
    info = {"method": "exact", "solver": solver, "degeneracy": int(g),
            "gap": float(E1 - E0) if math.isfinite(E1) else float("nan"), "mixed": g > 1,
            "n_sites": n, "dim": dim}
    HV = H @ V
    # <H²> of the equal mixture: the mean of |H v_k|² over its orthonormal vectors
    variance = float(np.real(np.vdot(HV, HV))) / g - E0 ** 2
    return _manifold_state(model, V, E0, variance, info, converged, messages, degeneracy_tol, max_memory_gb, t0,
                           stacklevel=3)


def _manifold_state(model, V, E0, variance, info, converged, messages, degeneracy_tol, max_memory_gb, t0,
                    stacklevel):
    """The T = 0 state of an orthonormal ground manifold ``V`` (2^N × g): its vector, or for g > 1 the equal
    mixture (the T → 0 limit of the thermal state), with its diagnostics; warns when Lanczos did not converge."""
    n, g = model.n_sites, V.shape[1]
    if g == 1:
        state = DenseState(model.lattice, model, energy=E0, temperature=0.0, info=info,
                           vector=_fix_phase(V[:, 0]))
    else:
        check_exact_memory(n, "density", max_memory_gb, is_complex=np.iscomplexobj(V))
        rho = (V @ V.conj().T) / g
        info["note"] = (f"degenerate ground manifold ({g} states within {degeneracy_tol:g} of E0): "
                        "the equal mixture, the T -> 0 limit of the thermal state")
        state = DenseState(model.lattice, model, energy=E0, temperature=0.0, info=info, rho=rho)
    if not converged:
        msg = "exact ground state: Lanczos did not fully converge (diagnostics.converged = False)"
        messages.append(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=stacklevel)
    state.diagnostics = Diagnostics(converged=bool(converged), energy=E0, energy_variance=variance,
                                    discarded_weight=0.0, elapsed_s=time.perf_counter() - t0,
                                    warnings=messages, extra=info)
    return state


def _sector_ground_state(model, tol, degeneracy_tol, max_memory_gb, t0) -> DenseState:
    """:func:`exact_ground_state` by S^z sectors (see its ``sz_sectors``); the same outputs and diagnostics."""
    n = model.n_sites
    if n >= 64:
        check_exact_model_memory(model, "lanczos", max_memory_gb)  # refuses, O(1)
    _check_sector_memory(model, max_memory_gb)
    dim = 2**n
    messages = []
    E0, parts, E1, converged, n_done = _sector_ground_manifold(model, tol, degeneracy_tol, messages)
    g = sum(V.shape[1] for _, V, _ in parts)
    dtype = np.result_type(*[V.dtype for _, V, _ in parts])
    sq = 0.0
    V = np.zeros((dim, g), dtype=dtype)  # the manifold in the full basis: 2^N × g, far below ρ's 4^N
    j = 0
    for states, Vk, Hk in parts:
        HV = Hk @ Vk
        sq += float(np.real(np.vdot(HV, HV)))
        V[states, j:j + Vk.shape[1]] = Vk
        j += Vk.shape[1]
    variance = sq / g - E0 ** 2
    info = {"method": "exact", "solver": "lanczos", "degeneracy": int(g),
            "gap": float(E1 - E0) if math.isfinite(E1) else float("nan"), "mixed": g > 1,
            "n_sites": n, "dim": dim, "sz_sectors": int(n_done),
            "sz_ground_sectors": [float((n - 2 * int(_popcount(s[:1])[0])) / 2) for s, _, _ in parts]}
    return _manifold_state(model, V, E0, variance, info, converged, messages, degeneracy_tol, max_memory_gb, t0,
                           stacklevel=4)


def _energy(model: SpinModel, vector=None, rho=None, max_memory_gb=None) -> float:
    return _moments(model, vector=vector, rho=rho, max_memory_gb=max_memory_gb)[0]


def _moments(model: SpinModel, vector=None, rho=None, max_memory_gb=None) -> tuple:
    """``(<H>, <H²> − <H>²)`` of a normalised vector or density matrix."""
    check_exact_model_memory(model, "lanczos", max_memory_gb)
    H = model.to_sparse()
    if vector is not None:
        hv = H @ vector
        e = float(np.vdot(vector, hv).real)
        return e, float(np.vdot(hv, hv).real) - e ** 2
    # Tr(ρH) = Σ_ij ρ_ij H_ji, touching only H's nonzeros; Tr(ρH²) = Tr(H (Hρ))
    e = float(np.real(H.multiply(rho.T).sum()))
    hr = H @ rho
    return e, float(np.real(H.multiply(hr.T).sum())) - e ** 2


def dense_state_from_array(array, lattice: Lattice, model: SpinModel | None = None, *,
                           atol: float = 1e-10) -> DenseState:
    """Validate and normalise a user-supplied state vector or density matrix.

    Parameters
    ----------
    array : array-like
        A vector of length 2^N or a 2^N × 2^N density matrix (site 0 = most
        significant bit, ``|0> = |↑>``).
    lattice : Lattice
    model : SpinModel, optional
        When given, ``energy = <H>``.
    atol : float
        Relative tolerance of the Hermiticity (``max|ρ−ρ†| ≤ atol·max|ρ|``)
        and positivity (eigenvalues ≥ ``−atol·Tr ρ``) checks.

    Returns
    -------
    DenseState
        Normalised. ``diagnostics``: ``converged=True`` (no solver ran),
        ``energy`` and ``energy_variance`` (``<H²> − <H>²``) when ``model``
        is given (else ``nan``), ``discarded_weight = 0``, ``max_bond =
        n_sweeps = None``; ``extra``: ``method="from_dense"``, ``n_sites``,
        ``dim``, ``mixed``, ``input_norm`` or ``input_trace``.

    Raises
    ------
    ValueError
        Wrong size (the message gives the expected sizes), non-finite or
        non-numeric entries, zero norm/trace, a non-Hermitian or non-PSD
        matrix, a model on another number of sites.
    """
    where = "from_dense"
    if not isinstance(lattice, Lattice):
        raise ValueError(f"{where}: lattice must be a macrobell.lattice.Lattice, got {type(lattice).__name__}")
    n = lattice.n_sites
    dim = 2**n
    if model is not None:
        check_model(model, where)
        if model.n_sites != n:
            raise ValueError(f"{where}: the model has {model.n_sites} sites, the lattice {n}")
    expected = f"a vector of length 2^{n} = {dim} or a {dim}x{dim} density matrix for this {n}-site lattice"
    try:
        a = np.asarray(array)
    except Exception:  # noqa: BLE001 — anything not array-like
        raise ValueError(f"{where}: expected {expected}, got {type(array).__name__}") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) and a.dtype != bool):
        raise ValueError(f"{where}: expected a numeric array ({expected}), got dtype {a.dtype}")
    if not ((a.ndim == 1 and a.shape[0] == dim) or (a.ndim == 2 and a.shape == (dim, dim))):
        raise ValueError(f"{where}: expected {expected}, got shape {a.shape}")
    check_exact_memory(n, "vector" if a.ndim == 1 else "density", None, is_complex=np.iscomplexobj(a))
    a = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"{where}: the array has non-finite entries (nan or inf)")
    info = {"method": "from_dense", "n_sites": n, "dim": dim}
    if a.ndim == 1:
        norm = float(np.linalg.norm(a))
        if not norm > 0:
            raise ValueError(f"{where}: the vector has zero norm and cannot be normalised")
        v = a / norm
        info.update(mixed=False, input_norm=norm)
        energy, var = _moments(model, vector=v) if model is not None else (None, None)
        return DenseState(lattice, model, energy=energy, vector=v, diagnostics=_user_diagnostics(energy, var, info))
    scale = float(np.abs(a).max())
    asym = float(np.abs(a - a.conj().T).max())
    if asym > atol * max(scale, 1e-300):
        raise ValueError(f"{where}: the density matrix is not Hermitian (max |rho - rho^dagger| = {asym:.3g}, "
                         f"tolerance {atol:g} x max|rho|)")
    rho = (a + a.conj().T) / 2
    tr = float(np.trace(rho).real)
    if not tr > 0:
        raise ValueError(f"{where}: the density matrix has trace {tr:.3g}; it must be positive to normalise")
    rho = rho / tr
    if np.iscomplexobj(rho) and np.abs(rho.imag).max() == 0:
        rho = rho.real.copy()
    # Cholesky of ρ + atol·1 succeeds iff λ_min(ρ) > −atol (up to rounding):
    # O(dim³/3), several times cheaper than eigvalsh; the spectrum is only
    # computed to report a failure.
    try:
        sla.cholesky(rho + atol * np.eye(dim), lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        lam = float(np.linalg.eigvalsh(rho)[0])
        raise ValueError(f"{where}: the density matrix is not positive semi-definite (smallest eigenvalue "
                         f"{lam:.3g} of the trace-normalised matrix, tolerance -{atol:g})") from None
    info.update(mixed=True, input_trace=tr)
    energy, var = _moments(model, rho=rho) if model is not None else (None, None)
    return DenseState(lattice, model, energy=energy, rho=rho, diagnostics=_user_diagnostics(energy, var, info))


def _user_diagnostics(energy, variance, info) -> Diagnostics:
    """The record of a user-supplied dense state: nothing solved (``converged=True``, as before), nothing
    discarded; ``energy`` and ``energy_variance`` of the model when one was given, else ``nan``."""
    return Diagnostics(converged=True, energy=energy, energy_variance=variance, discarded_weight=0.0, extra=info)


# --------------------------------------------------------------------------- registration (tn.registry)

def _register() -> None:
    from ._checks import MAX_ENERGY_TOL, OptionRange
    from .registry import Backend, Option, register_backend, solver_defaults

    d = solver_defaults(exact_ground_state, exact_thermal_states)
    # ARPACK's relative eigenvalue tolerance; an energy tolerance (MAX_ENERGY_TOL). Levels within
    # degeneracy_tol of E0 are mixed as the T -> 0 state: it must stay below the energy resolution the other
    # backends' converged flags promise, or the mixture absorbs genuine excitations.
    energy = OptionRange("number", 0.0, MAX_ENERGY_TOL, lo_open=True)
    options = {
        "tol": Option(float, d["tol"], "Lanczos (ARPACK) relative eigenvalue tolerance", energy, solvers=("ground",)),
        "degeneracy_tol": Option(float, d["degeneracy_tol"], "levels within it of E0 form the T = 0 mixture", energy),
        "max_memory_gb": Option(float, d["max_memory_gb"], "memory limit in GB (None: the machine's)"),
    }

    def check(model, temperatures):
        if any(t > 0 for t in temperatures):
            precheck(model.n_sites, temperatures)  # O(1) before thermal_memory_kind reads every bond
            check_exact_model_memory(model, thermal_memory_kind(model), n_temperatures=len(temperatures))
        else:
            check_exact_model_memory(model, "lanczos", n_temperatures=len(temperatures))

    def precheck(n_sites, temperatures):
        # one flip pattern and the S^z-sector storage: a lower bound on the memory of any model on n_sites
        check_exact_memory(n_sites, "sectors" if any(t > 0 for t in temperatures) else "lanczos", n_ops=1,
                           n_temperatures=len(temperatures))

    register_backend(Backend(
        "exact", DenseState, options, ground=exact_ground_state, thermal=exact_thermal_states, check=check,
        precheck=precheck, auto_max_sites=(20, 12),
        doc="exact diagonalisation: Lanczos at T = 0, full diagonalisation for T > 0"), replace=True)


_register()
