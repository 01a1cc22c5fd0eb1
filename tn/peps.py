"""Ground states of 2D lattices as PEPS: quimb's simple update, boundary-contraction energies.

The model's terms become a quimb ``LocalHam2D`` on the ``Lx × Ly`` grid
(lattice site ``i`` at PEPS coordinate ``(x, y)`` read from
``lattice.positions``; ``i = x * Ly + y`` for ``square`` and ``ladder``).
Imaginary-time evolution ``e^{−τH}`` by first-order Trotter gates with the
simple-update truncation (Jiang, Weng & Xiang, PRL 101, 090603 (2008),
arXiv:0806.3719; quimb ``SimpleUpdate``) runs in stages of decreasing
``τ`` (default 0.3, 0.1, 0.03, 0.01, ``steps`` sweeps each). After every
stage the energy ``Σ_b <h_b>`` is computed from reduced density matrices by
boundary contraction of the norm network at boundary bond ``chi``
(quimb ``compute_local_expectation``).

Supported: rectangular open-boundary lattices (``square``, ``ladder``) with
nearest-neighbour two-site terms and any one-site fields. Periodic
boundaries, next-nearest terms (J2) and non-rectangular lattices are
refused with a ``ValueError``. Real models are evolved in real arithmetic.

Energies are variational *estimates*, precisely: the returned PEPS is a
physical state, so its exact energy ``<ψ|H|ψ>/<ψ|ψ>`` is ≥ the exact ground
energy; the reported energy is that expectation value computed by boundary
contraction at ``chi``, whose error (either sign) vanishes once ``chi``
reaches the exact boundary rank ``D^(2 ⌊min(Lx, Ly)/2⌋)`` (e.g. 16 for 3 × 3
at D = 4) and is estimated by comparing ``chi`` with ``2 chi``. Simple update
itself is *not* a variational method: it does not minimise the energy over
bond-D PEPS (its truncation uses a mean-field-like environment of bond
weights, Jiang, Weng & Xiang 2008), so its fixed point lies above the best
bond-D PEPS by an amount no diagnostic here estimates, and the energy can
rise as τ decreases. Measured (open Heisenberg, default schedule and chi,
100 sweeps per stage), energy above the exact one for D = 4: 3 × 3 0.40 %
(4 s), 2 × 4 1.3 %, 3 × 4 2.0 %, 4 × 4 2.0 % (16 s); D = 3: 2.0 %, 3.4 %,
3.8 %, 3.5 %.

Where PEPS is the wrong tool: its observables (:mod:`macrobell.observables.peps`) average
``Π N_X`` reduced states, each an exact plaquette contraction that grows like
``D^(2 min(dx, dy))`` with the distance of the sites, not a fixed number of
boundary contractions. Measured for the K = 2 halves (``benchmarks/bench_peps.py``,
``chi = 4 D²``, one core): 4 × 4 at D = 3 11 s, at D = 4 5 min; 5 × 5 at D = 3
2.4 min; 5 × 5 at D = 4 does not finish in 10 min (cost model: 2.7 h), 6 × 6
at D = 4 runs out of memory (2 GiB arrays per plaquette contraction, several at once).
The observables warn up front (``PEPSCostWarning``, with the estimate of
``peps_correlation_cost``) when they expect more than a minute. For such
lattices use DMRG on the snake MPS, ``ground_state(model, method="dmrg")``, on
an open ``square(Lx, Ly)`` or a cylinder ``square(Lx, Ly, pbc_y=True)`` (narrow
periodic width): its effective states take one sweep (docs/physics.md,
'Where PEPS is the wrong tool').

The ``converged`` flag: ``error_estimate < tol`` with ``error_estimate``
the largest of three per-site energy changes, each an estimate of how far
the reported energy is from the τ → 0, fully contracted simple-update fixed
point of this D: ``stage_change`` (last two τ stages: Trotter error and
progress), ``evolution_error`` (the last stage runs in three chunks of
sweeps with energy changes ``d1``, ``d2``; the remaining geometric tail
``|d2| q/(1 − q)``, ``q = d2/d1``, or ``inf`` when the energies do not
approach a limit geometrically) and ``chi_change`` (``|E(2 chi) −
E(chi)|``). Where D is exact (product ground states) it bounds the error
against exact diagonalisation; it says nothing about the finite-D error.

Diagnostics (``state.diagnostics``): ``converged`` (above), ``energy`` (the
boundary-contraction energy at ``chi``), ``energy_variance = nan`` (``<H²>``
is not contracted), ``discarded_weight = nan`` (quimb's simple update
reports the kept singular values only, not the discarded ones),
``max_bond``, ``n_sweeps`` (simple-update sweeps of all stages),
``elapsed_s``, ``warnings``. ``extra`` (and ``state.info``):
``method="peps"``, ``algorithm``, ``energies`` (one per τ stage), ``taus``,
``steps``, ``bond_dim``, ``chi``, ``tol``, ``error_estimate``,
``stage_change``, ``evolution_error``, ``chi_change``, ``energy_2chi``,
``last_stage_energies`` (after each chunk of the last stage), ``seed``,
``init``. Non-convergence emits :class:`ConvergenceWarning` and sets
``converged=False``; it never raises.
"""

from __future__ import annotations

import logging
import math
import time
import warnings

import numpy as np

from macrobell.lattice import Lattice, SpinModel

from ._checks import check_int, check_options
from .state import ConvergenceWarning, Diagnostics, PEPSState

_log = logging.getLogger(__name__)  # -> the 'macrobell.tn' layer logger

__all__ = ["peps_ground_state", "peps_state_from_quimb", "lattice_coords", "model_to_local_ham", "PEPS_LATTICES",
           "PEPS_INITS", "default_chi", "quimb_tensor"]

#: Lattice kinds the PEPS backend accepts (plain rectangles, site = x * Ly + y).
PEPS_LATTICES = ("square", "ladder")
#: Initial states of the simple update.
PEPS_INITS = ("neel", "random")


def quimb_tensor():
    """``quimb.tensor``, with cotengra's hyper-optimizer imported once without its note that the optional
    kahypar partitioner is missing (boundary contractions pick paths with it; the note is noise here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*kahypar.*")
        import quimb.tensor as qtn
        try:  # the note is issued by this cached function on its first call
            from cotengra.hyperoptimizers.hyper import get_default_hq_methods
            get_default_hq_methods()
        except ImportError:  # pragma: no cover - other cotengra versions
            pass
    return qtn


def default_chi(bond_dim: int) -> int:
    """Default boundary bond ``chi = 4 D²`` (at least 8): boundary MPS errors in local
    observables of simple-update states are small once ``chi`` is a few times ``D²``."""
    return max(8, 4 * int(bond_dim) ** 2)


def lattice_coords(lattice: Lattice, where: str = "peps") -> tuple:
    """``(Lx, Ly, coords)`` of a rectangular lattice; ``coords[i] = (x, y)`` of site ``i``.

    Raises ``ValueError`` for lattices other than :data:`PEPS_LATTICES`, for
    grids thinner than 2 in either direction, and for lattices whose
    positions are not the full ``Lx × Ly`` integer grid.
    """
    if not isinstance(lattice, Lattice):
        raise ValueError(f"{where}: lattice must be a macrobell.lattice.Lattice, got {type(lattice).__name__}")
    if lattice.name not in PEPS_LATTICES:
        raise ValueError(f"{where}: the PEPS backend needs a 2D rectangular lattice; got {lattice.name!r}, "
                         f"allowed: {list(PEPS_LATTICES)} (other lattices: method 'exact' or 'dmrg')")
    pos = np.asarray(lattice.positions, dtype=float)
    coords = np.rint(pos).astype(int)
    if pos.ndim != 2 or pos.shape[1] != 2 or not np.allclose(pos, coords):
        raise ValueError(f"{where}: lattice {lattice.name!r} positions are not integer (x, y) grid points")
    Lx, Ly = int(coords[:, 0].max()) + 1, int(coords[:, 1].max()) + 1
    if Lx < 2 or Ly < 2:
        raise ValueError(f"{where}: the PEPS backend needs Lx >= 2 and Ly >= 2, got {Lx} x {Ly} "
                         f"(1D lattices: method 'dmrg')")
    flat = coords[:, 0] * Ly + coords[:, 1]
    if coords.min() < 0 or lattice.n_sites != Lx * Ly or np.unique(flat).size != Lx * Ly:
        raise ValueError(f"{where}: lattice {lattice.name!r} does not fill an {Lx} x {Ly} grid")
    return Lx, Ly, coords


def model_to_local_ham(model: SpinModel, where: str = "peps"):
    """The model as a quimb ``LocalHam2D`` on its ``Lx × Ly`` grid, plus the site coordinates.

    Every nearest-neighbour bond of the grid carries a term (zero where the
    model has none), so one-site fields can be absorbed into bonds. Returns
    ``(ham, Lx, Ly, coords)``. Kept over ``SparseOperatorBuilder.build_local_ham``
    (issue 10, ``benchmarks/bench_library.py``): that gives identical terms but a
    ``LocalHamGen`` (simple update needs ``LocalHam2D``), no grid checks, and the
    same ``LocalHam2D`` built from its terms is as fast (TFIM) to 2.6× slower.
    """
    qtn = quimb_tensor()

    lat = model.lattice
    Lx, Ly, coords = lattice_coords(lat, where)
    dtype = np.float64 if model.is_real else np.complex128
    H2 = {}
    for x in range(Lx):
        for y in range(Ly):
            if x + 1 < Lx:
                H2[(x, y), (x + 1, y)] = np.zeros((4, 4), dtype=dtype)
            if y + 1 < Ly:
                H2[(x, y), (x, y + 1)] = np.zeros((4, 4), dtype=dtype)
    for i, j, h in model.two_site_terms():
        a, b = tuple(int(c) for c in coords[i]), tuple(int(c) for c in coords[j])
        dx, dy = abs(a[0] - b[0]), abs(a[1] - b[1])
        if dx + dy != 1:
            if any(lat.pbc) and (dx, dy) in ((Lx - 1, 0), (0, Ly - 1)):
                raise ValueError(f"{where}: periodic boundaries (pbc={lat.pbc}) are not supported by the PEPS "
                                 f"backend (term on the wrap bond ({i}, {j})); allowed: open boundaries")
            raise ValueError(f"{where}: term on sites ({i}, {j}) at {a}, {b} is not a nearest-neighbour bond of "
                             f"the open {Lx} x {Ly} grid; the PEPS backend supports only 'nn' terms "
                             f"(no J2 / 'nnn' terms)")
        h = np.asarray(h, dtype=dtype)
        if b < a:  # quimb keys bonds (a, b) with a < b; h acts on site i ⊗ site j
            a, b = b, a
            h = h.reshape(2, 2, 2, 2).transpose(1, 0, 3, 2).reshape(4, 4)
        H2[a, b] = H2[a, b] + h
    H1 = {tuple(int(c) for c in coords[i]): np.asarray(h, dtype=dtype) for i, h in model.one_site_terms()}
    ham = qtn.LocalHam2D(Lx, Ly, H2, H1=H1 or None)
    return ham, Lx, Ly, coords


def peps_state_from_quimb(peps, lattice: Lattice, model: SpinModel | None = None, chi: int | None = None,
                          normalize: bool = True) -> PEPSState:
    """Wrap a quimb ``PEPS`` whose coordinate ``(x, y)`` holds lattice site ``x * Ly + y``.

    The lattice must be one :func:`lattice_coords` accepts and the PEPS must
    have its shape and local dimension 2. With ``normalize`` the PEPS is
    scaled to unit norm (boundary contraction at ``chi``). ``chi`` defaults
    to :func:`default_chi` of the PEPS's largest bond. ``diagnostics``:
    ``converged=True`` (no solver ran), ``energy`` = the boundary-contraction
    ``<H>`` at ``chi`` when ``model`` is given and the PEPS backend accepts
    it (else ``nan``, ``state.energy = None``), ``energy_variance = nan``,
    ``discarded_weight = 0`` (nothing truncated), ``max_bond``, ``n_sweeps =
    None``; ``extra``: ``method="from_quimb"``, ``chi``.
    """
    qtn = quimb_tensor()

    where = "peps_state_from_quimb"
    if not isinstance(peps, qtn.PEPS):
        raise ValueError(f"{where}: expected a quimb.tensor.PEPS, got {type(peps).__name__}")
    Lx, Ly, coords = lattice_coords(lattice, where)
    if (peps.Lx, peps.Ly) != (Lx, Ly):
        raise ValueError(f"{where}: the PEPS is {peps.Lx} x {peps.Ly}, the lattice {Lx} x {Ly}")
    dims = {peps.ind_size(ix) for ix in peps.site_inds}
    if dims != {2}:
        raise ValueError(f"{where}: the PEPS has local dimensions {sorted(dims)}; spins need 2")
    if chi is None:
        chi = default_chi(peps.max_bond())
    chi = check_int(where, "chi", chi, 1)
    psi = peps.copy()
    if normalize:
        psi.normalize_(max_bond=chi, cutoff=0.0)
    energy = None
    if model is not None:
        try:
            ham = model_to_local_ham(model, where)[0]
        except ValueError:  # terms the PEPS backend cannot contract (J2, wrap bonds): no energy
            ham = None
        if ham is not None:
            energy = _energy(psi, ham, chi)
    diag = Diagnostics(converged=True, energy=energy, discarded_weight=0.0, max_bond=int(psi.max_bond()),
                       extra={"method": "from_quimb", "chi": chi})
    return PEPSState(lattice=lattice, model=model, energy=energy,
                     temperature=0.0 if model is not None else float("nan"), peps=psi, coords=coords, chi=chi,
                     diagnostics=diag)


def _neel_plus_noise(psi, noise):
    """The Néel product state (``|↑>`` where ``x + y`` is even) plus ``noise`` × the random PEPS ``psi``.

    Each tensor becomes ``δ(bonds = 0) δ(p = s_xy) + noise · A / max|A|``:
    a generic state (all bond channels populated, every symmetry sector
    reached) dominated by the classical antiferromagnet, which keeps simple
    update out of the poor local minima it finds from purely random starts
    (3 × 4 Heisenberg, D = 4: 4.6 % instead of 2.0 % above the exact energy
    for some seeds).
    """
    psi = psi.copy()
    for x in range(psi.Lx):
        for y in range(psi.Ly):
            t = psi[psi.site_tag(x, y)]
            ix = psi.site_ind(x, y)
            inds = tuple(i for i in t.inds if i != ix) + (ix,)
            d = np.asarray(t.transpose(*inds).data)
            base = np.zeros_like(d)
            base[(0,) * (d.ndim - 1) + ((x + y) % 2,)] = 1.0
            t.modify(data=base + noise * d / np.abs(d).max(), inds=inds)
    return psi


def _thirds(steps):
    a = steps // 3
    b = (steps - a) // 2
    return [c for c in (a, b, steps - a - b) if c > 0]


def _error_estimates(energies, last, e_2chi, n):
    """Per-site convergence estimates of a simple-update run (see :func:`peps_ground_state`, ``tol``)."""
    stage = abs(energies[-1] - energies[-2]) / n if len(energies) >= 2 else math.inf
    if len(last) < 3:
        evol = math.inf
    else:
        d1, d2 = last[1] - last[0], last[2] - last[1]
        q = d2 / d1 if d1 != 0 else math.inf
        if abs(d2) <= 1e-12 * n:  # at the fixed point to rounding
            evol = abs(d2)
        elif q >= 0.99:  # not (yet) approaching a limit geometrically
            evol = math.inf
        elif q < 0:  # oscillating about the limit: it lies within the last change
            evol = abs(d2)
        else:
            evol = abs(d2) * q / (1 - q)  # remaining geometric tail Σ_{k≥1} d2 q^k
        evol /= n
    chi_change = abs(e_2chi - energies[-1]) / n
    return {"stage_change": stage, "evolution_error": evol, "chi_change": chi_change,
            "error_estimate": max(stage, evol, chi_change)}


def _energy(psi, ham, chi):
    e = psi.compute_local_expectation(ham.terms, max_bond=chi, cutoff=0.0, normalized=True)
    return float(np.real(e))


def peps_ground_state(model: SpinModel, *, bond_dim: int = 4, chi: int | None = None,
                      tau=(0.3, 0.1, 0.03, 0.01), steps: int = 100, tol: float = 1e-4, seed=None,
                      init: str = "neel", verbosity: int = 0) -> PEPSState:
    """Ground state of a 2D model by PEPS simple update (quimb), as a :class:`PEPSState`.

    Parameters
    ----------
    model : SpinModel
        On an open ``square`` or ``ladder`` lattice, nearest-neighbour terms
        and fields only.
    bond_dim : int
        PEPS bond dimension D, in [1, 16] (the default boundary tensors,
        16 D⁶ entries, fill 4 GiB at 16; ranges: :mod:`macrobell.tn._checks`).
    chi : int, optional
        Boundary-contraction bond for energies and observables, in
        [D², 16384 / D] (below D² even the first row is truncated); default
        :func:`default_chi` ``(bond_dim) = max(8, 4 D²)``.
    tau : float or sequence of float
        Imaginary time steps, each in (0, 1] (units of 1/J), one stage each (decreasing: large steps
        converge fast, small steps reduce the Trotter error O(τ)).
    steps : int
        Simple-update sweeps per stage (each sweep applies every bond gate), >= 1.
    tol : float
        Tolerance on the *per-site* energy error estimate (module docstring):
        ``converged = error_estimate < tol``, in (0, 1e-3] (units of J; simple
        update is itself off by ~1e-2 J per site).
    seed : int >= 0, optional
        Seed of the random initial PEPS and of the random gate order of each
        sweep (``np.random.default_rng``): equal seeds give equal runs.
    init : {"neel", "random"}
        Initial PEPS: the Néel product state plus 10 % random noise (default;
        avoids poor local minima of simple update on antiferromagnets), or a
        random PEPS of bond ``bond_dim``.
    verbosity : int
        0 silent, >= 1 one line per stage.

    Returns
    -------
    PEPSState
        ``temperature = 0``; ``energy`` the boundary-contraction energy of the
        final state, diagnostics in ``info`` (module docstring).
    """
    qtn = quimb_tensor()

    if not isinstance(model, SpinModel):
        raise ValueError(f"peps_ground_state: model must be a SpinModel, got {type(model).__name__}")
    o = check_options("peps_ground_state", "peps", bond_dim=bond_dim, chi=chi, steps=steps, tau=tau, tol=tol,
                      seed=seed, init=init, verbosity=verbosity)
    bond_dim, steps, taus, tol = o["bond_dim"], o["steps"], o["tau"], o["tol"]
    chi = default_chi(bond_dim) if o["chi"] is None else o["chi"]
    ham, Lx, Ly, coords = model_to_local_ham(model, "peps_ground_state")

    t0 = time.perf_counter()
    n = model.n_sites
    dtype = "float64" if model.is_real else "complex128"
    qseed = int(np.random.default_rng(seed).integers(2 ** 31 - 1))
    psi0 = qtn.PEPS.rand(Lx, Ly, bond_dim=bond_dim, seed=qseed, dtype=dtype)
    if init == "neel":
        psi0 = _neel_plus_noise(psi0, noise=0.1)
    pairs = sorted(ham.terms)
    # quimb's default gate order is a fresh random sequence per sweep drawn from Python's global RNG; the
    # same idea, drawn from a seeded Generator, keeps runs reproducible
    order_rng = np.random.default_rng([qseed, 1])

    def ordering():
        return [pairs[k] for k in order_rng.permutation(len(pairs))]

    su = qtn.SimpleUpdate(psi0, ham, D=bond_dim, chi=chi, compute_energy_every=None, compute_energy_final=False,
                          progbar=False, graceful_interrupt=False, ordering=ordering)
    energies, last = [], []
    for k, t in enumerate(taus):
        if k < len(taus) - 1:
            su.evolve(steps, tau=t, progbar=False)
        else:  # the last stage in three chunks: its energy trend tells how far the evolution still has to go
            for chunk in _thirds(steps):
                su.evolve(chunk, tau=t, progbar=False)
                last.append(_energy(su.state, ham, chi))
        energies.append(last[-1] if k == len(taus) - 1 else _energy(su.state, ham, chi))
        _log.info("stage %d/%d tau=%g (%d sweeps) E=%.12g bond_dim=%d", k + 1, len(taus), t, steps, energies[-1],
                  bond_dim, extra={"solver": "peps", "sweep": k + 1, "energy": energies[-1], "max_bond": bond_dim,
                                   "tau": t})
        if verbosity:
            print(f"peps simple update tau={t:g} ({steps} sweeps) E={energies[-1]:.12f}", flush=True)
    psi = su.state
    psi.normalize_(max_bond=chi, cutoff=0.0)
    energy = energies[-1]  # reduced states are trace-normalised: the last stage's energy is the final state's
    e_2chi = _energy(psi, ham, 2 * chi)
    est = _error_estimates(energies, last, e_2chi, n)
    converged = math.isfinite(energy) and est["error_estimate"] < tol
    messages = []
    if not converged:
        if len(energies) < 2:
            why = "a single tau stage gives no convergence estimate"
        else:
            why = (f"energy error estimate per site {est['error_estimate']:.3g} >= tol={tol:g} (tau stages "
                   f"{est['stage_change']:.3g}, remaining imaginary time {est['evolution_error']:.3g}, "
                   f"boundary chi vs 2 chi {est['chi_change']:.3g})")
        messages.append(f"peps_ground_state ({model.name}, {Lx}x{Ly}, bond_dim={bond_dim}): {why}")
        warnings.warn(messages[-1], ConvergenceWarning, stacklevel=2)
    info = {
        "method": "peps",
        "algorithm": "simple-update",
        "energies": energies,
        "taus": taus,
        "steps": steps,
        "bond_dim": bond_dim,
        "chi": chi,
        "tol": float(tol),
        "energy_2chi": e_2chi,
        "last_stage_energies": last,
        **est,
        "seed": seed,
        "init": init,
    }
    diag = Diagnostics(converged=bool(converged), energy=energy, max_bond=int(psi.max_bond()),
                       n_sweeps=steps * len(taus), elapsed_s=time.perf_counter() - t0, warnings=messages, extra=info)
    return PEPSState(lattice=model.lattice, model=model, energy=energy, temperature=0.0, peps=psi, coords=coords,
                     chi=chi, diagnostics=diag)


# --------------------------------------------------------------------------- registration (tn.registry)

def _register() -> None:
    from ._checks import _PEPS_MAX_BOND, MAX_DTAU, MAX_PEPS_TOL, OptionRange, check_peps_chi, check_taus
    from .registry import Backend, Option, register_backend, solver_defaults

    d = solver_defaults(peps_ground_state)
    tau = OptionRange("number", 0.0, MAX_DTAU, lo_open=True)  # each stage's step, as dtau
    options = {
        "bond_dim": Option(int, d["bond_dim"], "PEPS bond dimension D", OptionRange("int", 1, _PEPS_MAX_BOND)),
        "chi": Option(int, d["chi"], "boundary-contraction bond (None: 4 D^2), at least D^2", check=check_peps_chi,
                      depends_on=("bond_dim",)),
        "tau": Option(None, d["tau"], "simple-update imaginary-time step(s), one stage each", tau,
                      check=check_taus(tau)),
        "steps": Option(int, d["steps"], "most steps per stage", OptionRange("int", 1)),
        "tol": Option(float, d["tol"], "energy change per site that ends a stage",
                      OptionRange("number", 0.0, MAX_PEPS_TOL, lo_open=True)),
        "seed": Option(int, d["seed"], "seed of a random initial state", OptionRange("seed")),
        "init": Option(None, d["init"], "initial product state", OptionRange("choice", choices=PEPS_INITS)),
        "verbosity": Option(int, d["verbosity"], "progress output", OptionRange("int", 0)),
    }

    def check(model, temperatures):
        model_to_local_ham(model)  # open square/ladder grids with nearest-neighbour terms only

    register_backend(Backend(
        "peps", PEPSState, options, ground=peps_ground_state, check=check,
        doc="PEPS simple update on open square/ladder lattices, ground states only; effective states take "
            "minutes from 4x4 at D=4 and hours beyond (warned up front): use dmrg (open or cylinder) there"),
        replace=True)


_register()
