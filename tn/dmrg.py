"""Ground states by DMRG (quimb's DMRG2 / DMRG1) on the model's MPO, or U(1)-symmetric DMRG.

Two engines behind the one backend ``"dmrg"`` (option ``conserve``): when the
model conserves ``S^z_total`` (:attr:`SpinModel.conserves_sz`) and TeNPy is
installed (extra ``symmetric``), ``conserve="auto"`` runs the block-sparse
U(1) engine of :mod:`macrobell.tn._dmrg_u1` (TeNPy's charge-conserving
DMRG, in a magnetisation sector ``sz_total`` or the lowest over all
sectors; the result is a quimb MPS in MPS order like the dense path's);
otherwise the dense quimb path below. Both follow the same schedule,
stopping rule and diagnostics.

The MPO is built by :func:`macrobell.tn.mpo.model_to_mpo` in the lattice's
MPS order, so long-range bonds (rings, ladders, J2, 2D snakes) are handled.
Sweeps alternate right/left with a bond-dimension ramp (16, 32, … up to
``bond_dim``, two sweeps per step); convergence is declared only once the
ramp has reached ``bond_dim`` and the energy changed by less than
``tol · N`` (``tol`` is per site) between two sweeps; ``info["stopped_by"]``
says whether that tolerance (``"tolerance"``) or the sweep limit
(``"max_sweeps"``) ended the run. The truncation uses quimb's ``cutoff_mode="sum2"``:
the *discarded weight* (sum of squared discarded singular values of the
normalised state) per bond is kept below ``cutoff``, so the default 1e-12
never caps the bond dimension silently at the accuracy local observables
need (errors in local expectation values scale with the discarded weight).

Diagnostics (``state.diagnostics``, a :class:`~macrobell.tn.state.Diagnostics`):
``converged``, ``energy`` (``<H>`` of the returned MPS, from the MPO),
``energy_variance`` (``<H²> − <H>²``, computed exactly from the MPO by an
O(N χ³ D²) sweep), ``discarded_weight`` (the sum over the two-site splits
of the *final* sweep of the squared singular values quimb discarded from
the normalised two-site tensor, as quimb reports them: the truncation that
produced the returned MPS; 0 for DMRG1, which does not truncate),
``max_bond``, ``n_sweeps`` (half sweeps), ``elapsed_s``, ``warnings``.
``extra`` (and ``state.info``, which also keeps the old keys): ``energies``
(one per sweep), ``variance`` (= ``energy_variance``), ``sweeps``
(= ``n_sweeps``), ``max_discarded_weight`` (largest single split of the
final sweep), ``discarded_weights`` (per sweep), ``method``, ``algorithm``,
``bond_dims`` (the schedule used), ``bond_dim``, ``cutoff``, ``tol`` (per
site), ``tol_total`` (``tol · N``, the threshold applied), ``stopped_by``,
``seed``, ``mpo_bond``, and from the ground-manifold check (see
:func:`dmrg_ground_state`, option ``degenerate``) ``gap``,
``ground_manifold_dim``, ``ground_manifold_complete``,
``degenerate_manifold``, ``gap_check_sweeps``, ``gap_check_s``.
Non-convergence or a large variance emits :class:`ConvergenceWarning` and
sets ``converged=False``; it never raises. A degenerate ground manifold emits a :class:`ConvergenceWarning`
(``degenerate="warn"``) or is returned as its equal mixture
(``degenerate="mix"``).

Cost of the manifold check (open 32-site Heisenberg chain, bond_dim 128, one
core): 0.4-0.5 s on top of 1.1-1.6 s of DMRG; a gapped model pays one cheap
run at bond 16 (four half-sweeps), only near-degenerate ones are refined.
"""

from __future__ import annotations

import logging
import time
import warnings

import numpy as np

from macrobell.lattice import SpinModel

from . import _dmrg_u1
from ._checks import check_options
from .mpo import model_to_mpo, mpo_arrays, mpo_expectation, mpo_moments, mpo_transpose
from .state import ConvergenceWarning, Diagnostics, MixtureState, MPSState, _right_canonical

_log = logging.getLogger(__name__)  # -> the 'macrobell.tn' layer logger; quiet unless the application listens

__all__ = ["dmrg_ground_state", "ConvergenceWarning", "DMRG_METHODS", "mpo_expectation", "mpo_moments",
           "VARIANCE_TOL_PER_SITE", "random_mps", "DEGENERATE_MODES", "GAP_PENALTY", "GAP_CHECK_BOND",
           "CONSERVE_MODES"]

#: DMRG flavours: two-site (bond dimension grows adaptively) and one-site.
DMRG_METHODS = ("dmrg2", "dmrg1")
#: A ground state whose energy variance exceeds this × N is flagged unconverged.
VARIANCE_TOL_PER_SITE = 1e-5
_RAMP_START = 16
_WHERE = "dmrg_ground_state"


def random_mps(n: int, bond_dim: int, phys_dim: int = 2, seed=None, dtype=np.float64):
    """A normalised random quimb MPS (Gaussian entries) from ``np.random.default_rng(seed)``.

    Bonds are capped at the exact limit ``min(d^k, d^(N-k))``.
    """
    import quimb.tensor as qtn

    rng = np.random.default_rng(seed)
    bonds = [1] + [int(min(bond_dim, phys_dim ** min(k, n - k))) for k in range(1, n)] + [1]
    arrays = []
    for k in range(n):
        shape = (bonds[k], phys_dim, bonds[k + 1])
        a = rng.standard_normal(shape)
        if np.issubdtype(np.dtype(dtype), np.complexfloating):
            a = a + 1j * rng.standard_normal(shape)
        # unit-variance entries scaled by 1/sqrt(χl d): the transfer map keeps norm ~1, so long chains
        # neither overflow nor underflow before the final normalisation
        a = (a / np.sqrt(bonds[k] * phys_dim * (2 if np.iscomplexobj(a) else 1))).astype(dtype)
        if k == 0:
            a = a[0].T          # (r, p)
        elif k == n - 1:
            a = a[..., 0]        # (l, p)
        else:
            a = a.transpose(0, 2, 1)  # (l, r, p)
        arrays.append(a)
    psi = qtn.MatrixProductState(arrays, shape="lrp")
    psi /= psi.norm()
    return psi


class _TruncationLog(dict):
    """quimb's ``tensor_split(info=...)`` dict: records every split's truncation error.

    quimb stores ``info["error"] = √(Σ discarded s²)`` after each SVD split (overwriting it), so the
    log keeps each value as it is written; :attr:`weights` are their squares, discarded weights.
    """

    def __init__(self):
        super().__init__(error=None)
        self.weights = []

    def __setitem__(self, key, value):
        if key == "error" and value is not None:
            self.weights.append(float(np.real(value)) ** 2)
        super().__setitem__(key, value)


def _warn(messages: list, text: str, stacklevel: int = 3) -> None:
    """Issue a :class:`ConvergenceWarning` and keep its message for ``diagnostics.warnings``."""
    messages.append(text)
    warnings.warn(text, ConvergenceWarning, stacklevel=stacklevel)


def _schedule(bond_dim: int, ramp: bool) -> list:
    if not ramp:
        return [bond_dim]
    seq, b = [], _RAMP_START
    while b < bond_dim:
        seq += [b, b]
        b *= 2
    return seq + [bond_dim]


def dmrg_ground_state(model: SpinModel, *, bond_dim: int = 128, cutoff: float = 1e-12, tol: float = 1e-9,
                      max_sweeps: int = 30, algorithm: str = "dmrg2", seed=None, ramp: bool = True,
                      verbosity: int = 0, degenerate: str = "warn", degeneracy_tol: float = 1e-6,
                      conserve: str = "auto", sz_total="lowest"):
    """Ground state of ``model`` by DMRG (quimb), as an :class:`MPSState`.

    Parameters
    ----------
    model : SpinModel
    bond_dim : int
        Maximal MPS bond dimension χ, in [1, 8192] (a two-site block of 8192
        fills 4 GiB; see :mod:`macrobell.tn._checks` for every range).
    cutoff : float
        Largest discarded weight per bond (quimb ``cutoff_mode="sum2"``: the
        smallest singular values of the normalised two-site tensor are dropped
        while the sum of their squares stays ≤ ``cutoff``), in [0, 1e-5]
        (larger weights move observables by more than the gap between
        adjacent verdict thresholds). The same meaning as the purification's
        ``cutoff``.
    tol : float
        Change of the energy *per site* (units of the coupling) between
        consecutive half sweeps at full ``bond_dim`` below which the run
        counts as converged, in (0, 1e-5]: the total energy must change by
        less than ``tol · N``. (Until issue 12 this was a total-energy
        tolerance, which a 1000-site χ = 64 chain could not meet within 30
        sweeps: the sweep-to-sweep change of an extensive energy grows with
        N.) The partner runs of the ground-manifold check use the same
        ``tol · N``.
    max_sweeps : int
        Maximum number of (half) sweeps, ramp included; >= 2 (convergence
        compares two sweeps).
    algorithm : {"dmrg2", "dmrg1"}
        Two-site (default) or one-site DMRG (``ground_state(model,
        method="dmrg", algorithm="dmrg1")``).
    seed : int >= 0 or None
        Seed of the random initial MPS (``np.random.default_rng``); the
        sweeps themselves are deterministic, so equal seeds give equal runs.
    ramp : bool
        Grow the bond dimension 16, 32, … → ``bond_dim`` (two sweeps each).
    verbosity : int
        0 silent, >= 1 one line per sweep.
    degenerate : {"warn", "mix", "ignore"}
        What to do about a (near-)degenerate ground manifold, detected by
        penalised DMRG runs for orthogonal partner states (Notes).
        ``"warn"`` (default): return the first state, with a
        :class:`ConvergenceWarning` if partners were found; ``"mix"``:
        return the equal mixture of the found orthonormal manifold basis as
        a :class:`~macrobell.tn.state.MixtureState` (the exact backend's
        T → 0 limit); ``"ignore"``: skip the check.
    degeneracy_tol : float
        A partner whose energy lies within ``degeneracy_tol`` of the ground
        energy belongs to the ground manifold.
    conserve : {"auto", "Sz", "none"}
        ``"auto"`` (default): the U(1)-symmetric engine
        (:mod:`macrobell.tn._dmrg_u1`, TeNPy's block-sparse DMRG, the
        ``symmetric`` extra) when the model conserves ``S^z_total``
        (:attr:`SpinModel.conserves_sz`: XXZ-type exchange, fields along z)
        and TeNPy is installed, else the dense quimb path; ``"Sz"``: the
        U(1) engine or a ValueError (model not conserving ``S^z``, or TeNPy
        missing); ``"none"``: the dense quimb path. ``algorithm="dmrg1"``
        with ``"auto"`` (and ``sz_total="lowest"``) stays on the dense path,
        whose one-site sweeps never truncate; with ``"Sz"`` it runs TeNPy's
        one-site engine, whose subspace expansion does truncate (its
        discarded weight is reported).
    sz_total : "lowest" or float
        Magnetisation sector ``S^z_total`` (spin-1/2 units: a multiple of
        1/2 in [−N/2, N/2] with ``2 S^z ≡ N`` mod 2) of the U(1) engine, or
        ``"lowest"`` (default): the lowest state over all sectors. For an
        isotropic model without field (SU(2)) every multiplet has a member
        with ``S^z = 0`` (1/2 for odd N), so ``E_min(|S^z|)`` is
        non-decreasing (the exact backend's sector-scan argument) and the
        ground state is searched in that sector alone; otherwise every
        sector (``S^z ≥ 0`` only without field, where the spin flip maps
        ``S^z`` to ``−S^z``) gets a cheap run at bond
        :data:`GAP_CHECK_BOND`, and, lowest cheap energy first, every
        sector whose cheap energy lies within twice the largest cheap-to-full
        drop seen (plus ``degeneracy_tol``) of the best full energy gets the
        full schedule, and so do the two neighbours ``S^z ± 1`` of the best
        sector until both are done; the lowest full energy wins (a heuristic, not a proof:
        a sector whose cheap run is far worse than any refined one's could
        be missed; the exact backend solves every sector). A fixed sector needs the
        U(1) engine (a ValueError otherwise) and restricts the
        ground-manifold search to that sector.

    Returns
    -------
    MPSState or MixtureState
        ``temperature = 0``, ``energy`` the final ``<H>`` and diagnostics in
        ``info`` (see the module docstring); a ``MixtureState`` of
        ``MPSState`` components for ``degenerate="mix"`` and a manifold of
        dimension > 1.

    Notes
    -----
    The manifold check runs two-site DMRG on ``H + w Σ_j |ψ_j><ψ_j|``
    (``w`` = :data:`GAP_PENALTY`; ``ψ_0`` the ground state found, ``ψ_j``
    the partners found so far): first a cheap run at bond
    :data:`GAP_CHECK_BOND`, refined at ``bond_dim`` only when its gap
    estimate is small. ``info`` gets ``gap`` (an upper estimate of
    ``min(E_1 − E_0, w)``, ``E_1`` the lowest level above the manifold),
    ``ground_manifold_dim`` (at most :data:`MAX_MANIFOLD`;
    ``ground_manifold_complete=False`` when the search stopped there, which
    makes ``"mix"`` warn and flag ``converged=False``) and
    ``degenerate_manifold``
    (``ground_manifold_dim > 1``; ``None`` with ``"ignore"``) and
    ``gap_check_sweeps`` / ``gap_check_s`` (its cost).

    The U(1) engine searches the manifold sector by sector: partners in
    the ground state's sector by TeNPy DMRG orthogonal to the states found
    (cheap at :data:`GAP_CHECK_BOND`, refined only when close, as above),
    the exact spin-flip partner ``∏σ^x|ψ>`` in sector ``−S^z`` when there
    is no field, and (SU(2) models) the sectors ``|S^z| + 1, + 2, …`` while
    their lowest states stay within ``degeneracy_tol``; ``gap`` is the
    lowest variational energy found above the manifold minus ``E0`` (an
    upper estimate of ``E_1 − E_0``). ``info`` adds ``engine``
    (``"tenpy-u1"``), ``conserve``, ``sz_total`` (the sector returned),
    ``sz_sector_mode`` (``"fixed"``, ``"su2-minimal"``, ``"scan"``),
    ``sector_energies`` (full runs), ``sector_energies_cheap``,
    ``engine_energy`` (TeNPy's ``<H>``; the returned ``energy`` is
    recomputed from macrobell's MPO and must agree to 1e-10, else a
    RuntimeError) and ``ground_manifold_sectors``. The variance comes from
    TeNPy's block-sparse MPO; ``seed`` is recorded but unused there (the
    start is a deterministic Néel-like product state in the sector).

    ``converged=True`` certifies the energy (converged to ``tol``) and the
    variance (the state lies in the ground manifold to
    :data:`VARIANCE_TOL_PER_SITE` · N). With a degenerate manifold and
    ``degenerate="warn"`` it does *not* certify that the state's
    observables are those of the T → 0 limit: the returned state is one
    (seed-dependent) member of the manifold. With ``"mix"`` and a
    manifold found, ``converged`` additionally requires every partner's
    penalised run to have converged to ``degeneracy_tol``.
    """
    import quimb.tensor as qtn

    if not isinstance(model, SpinModel):
        raise ValueError(f"dmrg_ground_state: model must be a SpinModel, got {type(model).__name__}")
    o = check_options(_WHERE, "dmrg", bond_dim=bond_dim, cutoff=cutoff, tol=tol, max_sweeps=max_sweeps,
                      algorithm=algorithm, seed=seed, ramp=ramp, verbosity=verbosity, degenerate=degenerate,
                      degeneracy_tol=degeneracy_tol, conserve=conserve, sz_total=sz_total)
    bond_dim, cutoff, tol, max_sweeps = o["bond_dim"], o["cutoff"], o["tol"], o["max_sweeps"]
    degeneracy_tol, conserve, sz_total = o["degeneracy_tol"], o["conserve"], o["sz_total"]

    t0 = time.perf_counter()
    if _dmrg_u1.use_u1(model, conserve, sz_total, algorithm):
        return _dmrg_u1.u1_ground_state(model, bond_dim=bond_dim, cutoff=cutoff, tol=tol, max_sweeps=max_sweeps,
                                        algorithm=algorithm, seed=o["seed"], ramp=ramp, verbosity=verbosity,
                                        degenerate=degenerate, degeneracy_tol=degeneracy_tol, sz_total=sz_total,
                                        t0=t0, shared=_u1_shared())
    n = model.n_sites
    ham = model_to_mpo(model)
    dtype = np.float64 if model.is_real else np.complex128
    sched = _schedule(bond_dim, bool(ramp))
    p0 = random_mps(n, sched[0], 2, seed=seed, dtype=dtype)
    bsz = 2 if algorithm == "dmrg2" else 1
    # quimb's DMRG minimises <ψ|H^T|ψ> (ket on the MPO's upper index): hand it H^T for complex H.
    solver = qtn.DMRG(ham if model.is_real else mpo_transpose(ham), bond_dims=sched, cutoffs=cutoff, bsz=bsz,
                      p0=p0)
    # A tight inner eigensolve makes the last sweeps converge to tol ~ 1e-9.
    solver.opts["local_eig_tol"] = 1e-7

    energies, bds, sweep_weights = [], [], []
    messages = []
    converged = False
    # The energy is extensive: a per-site tolerance keeps the stopping rule meaningful from 8 to 10^3 sites.
    tol_total = tol * n
    for sweep in range(max_sweeps):
        bd = sched[min(sweep, len(sched) - 1)]
        direction = "R" if sweep % 2 == 0 else "L"
        if bsz == 1:  # DMRG1 cannot grow bonds by itself: pad them with tiny noise, as quimb's solve() does
            solver._k.expand_bond_dimension(bd, bra=solver._b, rand_strength=solver.opts["bond_expand_rand_strength"])
        log = _TruncationLog()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quimb's inner-eigensolver chatter
            e = solver.sweep(direction=direction, canonize=(sweep == 0 or bsz == 1), max_bond=bd, cutoff=cutoff,
                             cutoff_mode=solver.opts["bond_compress_cutoff_mode"],
                             method=solver.opts["bond_compress_method"], verbosity=0, info=log)
        sweep_weights.append(log.weights)
        energies.append(float(np.real(e)))
        solver.energies.append(e)
        bds.append(bd)
        _log.info("sweep %d (%s) E=%.12g max_bond=%d/%d", sweep + 1, direction, energies[-1], solver._k.max_bond(), bd,
                  extra={"solver": "dmrg", "sweep": sweep + 1, "energy": energies[-1],
                         "max_bond": int(solver._k.max_bond()), "bond_dim": bd})
        if verbosity:
            print(f"dmrg sweep {sweep + 1} ({direction}) max_bond={solver._k.max_bond()}/{bd} "
                  f"E={energies[-1]:.12f}", flush=True)
        at_full = sweep + 1 >= len(sched) + 1  # two sweeps at the final bond dimension
        if at_full and abs(energies[-1] - energies[-2]) < tol_total:
            converged = True
            break

    stopped_by = "tolerance" if converged else "max_sweeps"
    psi = solver.state
    psi /= psi.norm()
    state = MPSState(lattice=model.lattice, model=model, temperature=0.0, mps=psi, purified=False)
    arrays = state.arrays()
    e, e2 = mpo_moments(arrays, ham)
    energy = float(np.real(e))
    variance = float(np.real(e2) - energy ** 2)
    var_limit = VARIANCE_TOL_PER_SITE * n
    reasons = []
    if not converged:
        reasons.append(f"energy not converged to tol={tol:g} per site (max_sweeps={max_sweeps} reached) in "
                       f"{len(energies)} sweeps "
                       f"(last change {abs(energies[-1] - energies[-2]) if len(energies) > 1 else float('nan'):.3g})")
    if variance > var_limit:
        reasons.append(f"energy variance {variance:.3g} > {var_limit:.3g} (= {VARIANCE_TOL_PER_SITE:g} N)")
    if reasons:
        converged = False
        _warn(messages, f"dmrg_ground_state ({model.name}, N={n}, bond_dim={bond_dim}): " + "; ".join(reasons))
    # Degenerate manifolds (odd SU(2) chains, the Majumdar-Ghosh ring, ...): DMRG converges to one
    # (seed-dependent) member, not the T -> 0 mixture the exact backend returns.
    partners, gap, gap_sweeps, t_gap, gap_ok = [], float("nan"), 0, 0.0, True
    if degenerate != "ignore" and n >= 2:
        t1 = time.perf_counter()
        chi_c = min(bond_dim, GAP_CHECK_BOND)
        at_c = [e for e, b in zip(energies, bds) if b == chi_c]
        err_c = (at_c[-1] - energy) if at_c else 0.0
        W = mpo_arrays(ham)
        partners, gap, gap_sweeps, gap_ok = _ground_manifold(W, arrays, energy, bond_dim, tol_total, degeneracy_tol, seed,
                                                             dtype, err_c)
        t_gap = time.perf_counter() - t1
    dim = 1 + len(partners)
    complete = not (degenerate != "ignore" and dim > 1 and np.isnan(gap))
    if dim > 1 and degenerate == "mix" and not complete:
        converged = False
        _warn(messages, f"dmrg_ground_state ({model.name}, N={n}): the ground manifold has at least {dim} states "
                        f"(the search stops at MAX_MANIFOLD={MAX_MANIFOLD}); their mixture is not the T -> 0 limit")
    if dim > 1 and degenerate == "mix" and not gap_ok:
        converged = False
        _warn(messages, f"dmrg_ground_state ({model.name}, N={n}): a partner state of the degenerate ground "
                        f"manifold did not converge to tol={tol:g} per site in {_GAP_REFINE_SWEEPS} half-sweeps; the mixture is "
                        "approximate")
    if dim > 1 and degenerate == "warn":
        _warn(messages, f"dmrg_ground_state ({model.name}, N={n}): degenerate ground manifold: "
                        f"{dim if complete else f'at least {dim}'} orthogonal "
                        f"states within degeneracy_tol={degeneracy_tol:g} of E0 (next gap <= {gap:.3g}); DMRG "
                        "returns one of them, the exact backend their equal mixture. Use degenerate='mix' for the "
                        "mixture, or T > 0.")
    state.energy = energy
    last_weights = sweep_weights[-1]
    info = {
        "method": "dmrg",
        "engine": "quimb",
        "conserve": "none",
        "degenerate_manifold": None if degenerate == "ignore" else dim > 1,
        "ground_manifold_dim": None if degenerate == "ignore" else dim,
        "ground_manifold_complete": None if degenerate == "ignore" else complete,
        "gap": None if degenerate == "ignore" else float(gap),
        "gap_check_sweeps": gap_sweeps,
        "gap_check_s": t_gap,
        "algorithm": algorithm,
        "energies": energies,
        "variance": variance,
        "sweeps": len(energies),
        "max_discarded_weight": max(last_weights, default=0.0),
        "discarded_weights": [float(sum(w)) for w in sweep_weights],
        "bond_dims": bds,
        "bond_dim": bond_dim,
        "cutoff": cutoff,
        "tol": tol,
        "tol_total": tol_total,
        "stopped_by": stopped_by,
        "seed": seed,
        "mpo_bond": int(ham.max_bond()),
    }
    state.diagnostics = Diagnostics(converged=bool(converged), energy=energy, energy_variance=variance,
                                    discarded_weight=float(sum(last_weights)), max_bond=int(psi.max_bond()),
                                    n_sweeps=len(energies), elapsed_s=time.perf_counter() - t0, warnings=messages,
                                    extra=info)
    if dim == 1 or degenerate != "mix":
        return state
    return _mixture(model, state, partners, ham, bool(converged), messages)


def _u1_shared():
    """What the U(1) engine shares with this path (it must not import this module: one-way imports)."""
    from types import SimpleNamespace

    return SimpleNamespace(schedule=_schedule, warn=_warn, mixture=_mixture, GAP_CHECK_BOND=GAP_CHECK_BOND,
                           MAX_MANIFOLD=MAX_MANIFOLD, VARIANCE_TOL_PER_SITE=VARIANCE_TOL_PER_SITE,
                           GAP_SWEEPS=_GAP_SWEEPS, GAP_REFINE_SWEEPS=_GAP_REFINE_SWEEPS)


def _mixture(model, first, partners, ham, converged, messages):
    """Equal mixture of ``first`` and the partner states (right-canonical arrays, discarded weight), as a
    MixtureState.

    Partners get their own record: ``energy`` and ``energy_variance`` from the MPO, ``discarded_weight``
    of their last penalised half-sweep, ``converged`` = every refinement met ``tol``. The mixture's record:
    ``energy = Σ p_k E_k``, ``energy_variance = Σ p_k <H²>_k − E²`` (the variance of ρ = Σ p_k |ψ_k><ψ_k|),
    the largest discarded weight and bond of its components, ``first``'s flag, sweeps, time and warnings.
    """
    import quimb.tensor as qtn

    comps, second = [first], [first.diagnostics.energy_variance + first.energy ** 2]
    first_arrays = first.arrays()
    for A, disc in partners:
        arrs = [A[0][0]] + list(A[1:-1]) + [A[-1][..., 0]]
        st = MPSState(lattice=model.lattice, model=model, temperature=0.0,
                      mps=qtn.MatrixProductState(arrs, shape="lpr"), purified=False)
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


# -- the ground manifold: orthogonal partners by penalised DMRG ------------------------------------------------
#: Penalty ``w`` of ``H + w Σ_j |ψ_j><ψ_j|`` (units of the coupling): gaps are resolved up to ``w``.
GAP_PENALTY = 1.0
#: Bond dimension of the cheap first gap estimate (capped at ``bond_dim``).
GAP_CHECK_BOND = 16
#: Largest ground-manifold dimension searched for.
MAX_MANIFOLD = 4
#: Half-sweeps of the cheap gap estimate and the most of its refinement.
_GAP_SWEEPS, _GAP_REFINE_SWEEPS = 4, 20
DEGENERATE_MODES = ("warn", "mix", "ignore")
#: ``conserve`` values: U(1) when possible, U(1) required, dense path.
CONSERVE_MODES = ("auto", "Sz", "none")




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


def _ground_manifold(W, arrays0, e0, bond_dim, tol, degeneracy_tol, seed, dtype, err_at_check):
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
        if gap > 1e-3 + 10 * max(err_at_check, 0.0):  # clearly gapped: the cheap estimate settles it
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


# --------------------------------------------------------------------------- registration (tn.registry)

def _register() -> None:
    from ._checks import _DMRG_MAX_BOND, MAX_DISCARDED_WEIGHT, MAX_ENERGY_TOL, OptionRange
    from .registry import Backend, Option, register_backend, solver_defaults

    d = solver_defaults(dmrg_ground_state)
    energy = OptionRange("number", 0.0, MAX_ENERGY_TOL, lo_open=True)
    options = {
        "bond_dim": Option(int, d["bond_dim"], "largest MPS bond dimension", OptionRange("int", 1, _DMRG_MAX_BOND)),
        # quimb "sum2": a discarded weight
        "cutoff": Option(float, d["cutoff"], "discarded weight per truncation",
                         OptionRange("number", 0.0, MAX_DISCARDED_WEIGHT)),
        "tol": Option(float, d["tol"], "energy change between sweeps that counts as converged", energy),
        # convergence is the energy change between two sweeps: fewer than two can never converge
        "max_sweeps": Option(int, d["max_sweeps"], "most sweeps", OptionRange("int", 2)),
        "algorithm": Option(None, d["algorithm"], "one-site or two-site DMRG",
                            OptionRange("choice", choices=DMRG_METHODS)),
        "seed": Option(int, d["seed"], "seed of the initial random MPS", OptionRange("seed")),
        "ramp": Option(bool, d["ramp"], "ramp the bond dimension up over the sweeps", OptionRange("bool")),
        "verbosity": Option(int, d["verbosity"], "quimb's progress output", OptionRange("int", 0)),
        "degenerate": Option(None, d["degenerate"], "a (near-)degenerate ground manifold: warn, mix or ignore",
                             OptionRange("choice", choices=("warn", "mix", "ignore"))),
        # partners within it of E0 form the ground manifold: an energy resolution, as tol
        "degeneracy_tol": Option(float, d["degeneracy_tol"], "partners within it of E0 form the ground manifold",
                                 energy),
        "conserve": Option(str, d["conserve"], "U(1) S^z conservation: auto (when the model conserves it and "
                           "TeNPy is installed), Sz (required) or none (dense path)",
                           OptionRange("choice", choices=CONSERVE_MODES)),
        # the N-dependent range (|S^z| <= N/2, parity of N) is checked against the model at the solver's entry
        "sz_total": Option(None, d["sz_total"], "S^z_total sector of the U(1) engine, or 'lowest' over all sectors",
                           _dmrg_u1.SZ_RANGE, check=_dmrg_u1.check_sz_form),
    }
    register_backend(Backend(
        "dmrg", MPSState, options, ground=dmrg_ground_state, thermal_backend="purification", auto_fallback=True,
        doc="DMRG on the model's MPO in the lattice's MPS order (any lattice); sweeps: T > 0 by purification"),
        replace=True)


_register()
