"""Ground states by DMRG (quimb's DMRG2 / DMRG1) on the model's MPO, or U(1)-symmetric DMRG.

Two engines behind the one backend ``"dmrg"`` (option ``conserve``): when the
model conserves ``S^z_total`` (:attr:`SpinModel.conserves_sz`) and TeNPy is
installed (extra ``symmetric``), ``conserve="auto"`` runs the block-sparse
U(1) engine of :mod:`macrobell.tn._dmrg_u1` (TeNPy's charge-conserving
DMRG, in a magnetisation sector ``sz_total`` or the lowest over all
sectors; the result is a quimb MPS in MPS order like the dense path's);
otherwise the dense quimb path below. Both follow the same schedule,
stopping rule, checks and record (:mod:`macrobell.tn._dmrg_common`); the
dense path's ground-manifold search (penalised DMRG) and the mixture of a
degenerate manifold are :mod:`macrobell.tn._dmrg_manifold`, the U(1)
driver (sector scan, manifold by sectors) :mod:`macrobell.tn._dmrg_u1_search`.

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

from macrobell._threads import pin_threads

from macrobell.lattice import SpinModel

from . import _dmrg_common as _common
from . import _dmrg_u1, _dmrg_u1_search
from ._checks import check_options
from ._dmrg_common import VARIANCE_TOL_PER_SITE
from ._dmrg_manifold import _GAP_REFINE_SWEEPS, GAP_CHECK_BOND, GAP_PENALTY, MAX_MANIFOLD, ground_manifold, mixture
from .mpo import model_to_mpo, mpo_arrays, mpo_expectation, mpo_moments, mpo_transpose
from .state import ConvergenceWarning, MPSState

# The private names this module had before the split into _dmrg_common / _dmrg_manifold / _dmrg_u1_search,
# kept readable for code that imported them from here.
from ._dmrg_common import _RAMP_START  # noqa: F401,E402
from ._dmrg_common import schedule as _schedule  # noqa: F401,E402
from ._dmrg_common import warn as _warn  # noqa: F401,E402
from ._dmrg_manifold import _GAP_SWEEPS, _overlap, _penalised_dmrg, _random_arrays  # noqa: F401,E402
from .state import Diagnostics, MixtureState, _right_canonical  # noqa: F401,E402

_log = logging.getLogger(__name__)  # -> the 'macrobell.tn' layer logger; quiet unless the application listens

__all__ = ["dmrg_ground_state", "ConvergenceWarning", "DMRG_METHODS", "mpo_expectation", "mpo_moments",
           "VARIANCE_TOL_PER_SITE", "random_mps", "DEGENERATE_MODES", "GAP_PENALTY", "GAP_CHECK_BOND",
           "CONSERVE_MODES"]

#: DMRG flavours: two-site (bond dimension grows adaptively) and one-site.
DMRG_METHODS = ("dmrg2", "dmrg1")
DEGENERATE_MODES = ("warn", "mix", "ignore")
#: ``conserve`` values: U(1) when possible, U(1) required, dense path.
CONSERVE_MODES = ("auto", "Sz", "none")
_WHERE = "dmrg_ground_state"
_mixture, _ground_manifold = mixture, ground_manifold  # the old private names


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
    pin_threads()  # a direct call too: multithreaded BLAS is ~30x slower on these small GEMMs
    if not isinstance(model, SpinModel):
        raise ValueError(f"dmrg_ground_state: model must be a SpinModel, got {type(model).__name__}")
    o = check_options(_WHERE, "dmrg", bond_dim=bond_dim, cutoff=cutoff, tol=tol, max_sweeps=max_sweeps,
                      algorithm=algorithm, seed=seed, ramp=ramp, verbosity=verbosity, degenerate=degenerate,
                      degeneracy_tol=degeneracy_tol, conserve=conserve, sz_total=sz_total)
    bond_dim, cutoff, tol, max_sweeps = o["bond_dim"], o["cutoff"], o["tol"], o["max_sweeps"]
    degeneracy_tol, conserve, sz_total = o["degeneracy_tol"], o["conserve"], o["sz_total"]

    t0 = time.perf_counter()
    if _dmrg_u1.use_u1(model, conserve, sz_total, algorithm):
        return _dmrg_u1_search.u1_ground_state(model, bond_dim=bond_dim, cutoff=cutoff, tol=tol,
                                               max_sweeps=max_sweeps, algorithm=algorithm, seed=o["seed"],
                                               ramp=ramp, verbosity=verbosity, degenerate=degenerate,
                                               degeneracy_tol=degeneracy_tol, sz_total=sz_total, t0=t0)
    return _dense_ground_state(model, bond_dim=bond_dim, cutoff=cutoff, tol=tol, max_sweeps=max_sweeps,
                               algorithm=algorithm, seed=seed, ramp=ramp, verbosity=verbosity,
                               degenerate=degenerate, degeneracy_tol=degeneracy_tol, t0=t0)


def _dense_sweeps(model, ham, sched, *, cutoff, tol_total, max_sweeps, algorithm, seed, verbosity):
    """quimb's DMRG along the half-sweep schedule ``sched``: ``(solver, energies, bond_dims, weights,
    converged)``, ``weights`` the discarded weights of each half sweep's splits."""
    import quimb.tensor as qtn

    dtype = np.float64 if model.is_real else np.complex128
    p0 = random_mps(model.n_sites, sched[0], 2, seed=seed, dtype=dtype)
    bsz = 2 if algorithm == "dmrg2" else 1
    # quimb's DMRG minimises <ψ|H^T|ψ> (ket on the MPO's upper index): hand it H^T for complex H.
    solver = qtn.DMRG(ham if model.is_real else mpo_transpose(ham), bond_dims=sched, cutoffs=cutoff, bsz=bsz,
                      p0=p0)
    # A tight inner eigensolve makes the last sweeps converge to tol ~ 1e-9.
    solver.opts["local_eig_tol"] = 1e-7
    energies, bds, sweep_weights = [], [], []
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
        _log_sweep(solver, sweep, direction, energies[-1], bd, verbosity)
        if _common.sweep_converged(sweep, energies, len(sched), tol_total):
            return solver, energies, bds, sweep_weights, True
    return solver, energies, bds, sweep_weights, False


def _log_sweep(solver, sweep, direction, energy, bd, verbosity):
    _log.info("sweep %d (%s) E=%.12g max_bond=%d/%d", sweep + 1, direction, energy, solver._k.max_bond(), bd,
              extra={"solver": "dmrg", "sweep": sweep + 1, "energy": energy,
                     "max_bond": int(solver._k.max_bond()), "bond_dim": bd})
    if verbosity:
        print(f"dmrg sweep {sweep + 1} ({direction}) max_bond={solver._k.max_bond()}/{bd} "
              f"E={energy:.12f}", flush=True)


def _dense_ground_state(model, *, bond_dim, cutoff, tol, max_sweeps, algorithm, seed, ramp, verbosity,
                        degenerate, degeneracy_tol, t0):
    """The dense quimb path of :func:`dmrg_ground_state` (options already validated)."""
    n = model.n_sites
    ham = model_to_mpo(model)
    sched = _common.schedule(bond_dim, bool(ramp))
    tol_total = tol * n
    solver, energies, bds, sweep_weights, stopped = _dense_sweeps(
        model, ham, sched, cutoff=cutoff, tol_total=tol_total, max_sweeps=max_sweeps, algorithm=algorithm,
        seed=seed, verbosity=verbosity)
    psi = solver.state
    psi /= psi.norm()
    state = MPSState(lattice=model.lattice, model=model, temperature=0.0, mps=psi, purified=False)
    arrays = state.arrays()
    e, e2 = mpo_moments(arrays, ham)
    energy = float(np.real(e))
    variance = float(np.real(e2) - energy ** 2)
    messages = []
    converged = _common.check_convergence(messages, f"dmrg_ground_state ({model.name}, N={n}, bond_dim={bond_dim})",
                                          stopped, energies, variance, n, tol, max_sweeps, stacklevel=4)
    # Degenerate manifolds (odd SU(2) chains, the Majumdar-Ghosh ring, ...): DMRG converges to one
    # (seed-dependent) member, not the T -> 0 mixture the exact backend returns.
    partners, gap, gap_sweeps, t_gap, gap_ok = [], float("nan"), 0, 0.0, True
    if degenerate != "ignore" and n >= 2:
        t1 = time.perf_counter()
        err_c = _common.error_at_bond(energies, bds, min(bond_dim, GAP_CHECK_BOND), energy)
        dtype = np.float64 if model.is_real else np.complex128
        partners, gap, gap_sweeps, gap_ok = ground_manifold(mpo_arrays(ham), arrays, energy, bond_dim, tol_total,
                                                            degeneracy_tol, seed, dtype, err_c)
        t_gap = time.perf_counter() - t1
    dim = 1 + len(partners)
    complete = not (degenerate != "ignore" and dim > 1 and np.isnan(gap))
    converged = _common.manifold_warnings(
        messages, f"dmrg_ground_state ({model.name}, N={n})", dim=dim, complete=complete, gap_ok=gap_ok,
        degenerate=degenerate, degeneracy_tol=degeneracy_tol, gap=gap, tol=tol, converged=converged,
        max_manifold=MAX_MANIFOLD, refine_note=f" in {_GAP_REFINE_SWEEPS} half-sweeps", stacklevel=4)
    state.energy = energy
    info = {"method": "dmrg", "engine": "quimb", "conserve": "none",
            **_common.manifold_info(degenerate, dim, complete, gap),
            "gap_check_sweeps": gap_sweeps, "gap_check_s": t_gap,
            **_common.sweep_info(algorithm=algorithm, energies=energies, variance=variance,
                                 sweep_weights=sweep_weights, bond_dims=bds, bond_dim=bond_dim, cutoff=cutoff,
                                 tol=tol, tol_total=tol_total, converged=stopped, seed=seed,
                                 mpo_bond=int(ham.max_bond()))}
    state.diagnostics = _common.diagnostics(converged=converged, energy=energy, variance=variance,
                                            sweep_weights=sweep_weights, max_bond=psi.max_bond(), t0=t0,
                                            messages=messages, info=info)
    if dim == 1 or degenerate != "mix":
        return state
    return mixture(model, state, partners, ham, bool(converged), messages)


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
                             OptionRange("choice", choices=DEGENERATE_MODES)),
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
