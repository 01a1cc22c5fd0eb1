"""Thermal states as purified MPS: one imaginary-time evolution for every temperature.

A thermal state ``ρ(β) = e^{−βH}/Z`` is the partial trace over ancillas of
``|ψ(β)> ∝ (e^{−βH/2} ⊗ 1_anc) |ψ(0)>``, where ``|ψ(0)> = ⊗_i (|00> + |11>)/√2``
pairs every physical spin with an ancilla (Verstraete, García-Ripoll,
Cirac, PRL 93, 207204 (2004); Feiguin & White, PRB 72, 220401 (2005)).
Each MPS tensor carries the fused index ``s = 2 p + a`` (physical ``p``,
ancilla ``a``), local dimension 4; ``Tr ρ H = <ψ|H ⊗ 1|ψ> / <ψ|ψ>``.

The evolution is a direct numpy TEBD on the site arrays ``(χ_l, 4, χ_r)``
kept in mixed-canonical form: every gate is applied at the orthogonality
centre, so each SVD truncation is optimal in the 2-norm (the "sweeping"
variant of imaginary-time TEBD that keeps the canonical form under
non-unitary gates). Gates ``e^{−τ h_ij}`` act on the physical legs only;
bonds that are not nearest neighbours in the MPS order (rings, ladders,
J2, 2D snakes) are applied by swapping the whole fused site next to its
partner (swap gates, each followed by a truncated SVD) and back.

``propagator="mpo"`` replaces the gates and swaps by an MPO approximation
of ``e^{-τH}`` applied to the physical legs (:mod:`._mpo_evolution`); the
truncation rule, the accounting and the error estimate below are shared.

Truncation: ``cutoff`` is the largest *discarded weight* per truncation,
the meaning it has for DMRG (quimb's ``"sum2"`` mode on a normalised
tensor): after each SVD the smallest singular values are dropped while the
sum of their squares stays ≤ ``cutoff · Σ s²`` (quimb's ``"rsum2"``; the
tensors of an imaginary-time evolution are not normalised, hence relative),
and at most ``bond_dim`` are kept. The former rule, ``s_i > sv_cutoff · s_0``
(quimb's ``"rel"``), stays reachable as ``sv_cutoff``. The discarded weight
``Σ_discarded s² / Σ s²`` of every truncation is accumulated in
``diagnostics.discarded_weight``; the largest single one is
``info["max_discarded_weight"]``.

The engine (:class:`_Purified`, :func:`kept_count`) lives in :mod:`._purification_engine`, the
snapshot observables (:func:`purified_energy`) in :mod:`._purification_observables`; both stay
importable from here.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import warnings

import numpy as np

from macrobell._threads import pin_threads

from ._checks import MAX_DISCARDED_WEIGHT, OptionRange, call_backend, check_option, check_options, check_temperatures
from .mpo import mpo_moments
from . import _mpo_evolution as _mpoev
from .gates import commuting_layers, exp_gate, hamiltonian_pieces, merge_sequence, step_sequence, trotter_stages
from .mpo import _model_fsm, model_to_mpo
from .state import ConvergenceWarning, Diagnostics, MixtureState, MPSState, _right_canonical
from ._purification_engine import _Purified, kept_count
from ._purification_observables import _bond_reduced_states, _pauli_expectations, _to_quimb, purified_energy

_log = logging.getLogger(__name__)  # -> the 'macrobell.tn' layer logger

__all__ = ["purification_thermal_states", "purified_energy", "DISCARDED_WEIGHT_TOL", "DEFAULT_DTAU", "ERROR_TOL", "TRUNCATION_FACTOR",
           "MAX_STEPS", "DEFAULT_CUTOFF", "SV_CUTOFF_RANGE", "kept_count", "MPO_ORDER", "PROPAGATORS",
           "resolve_propagator"]

#: Largest number of Trotter steps one call may take (β/2 = MAX_STEPS · dtau).
MAX_STEPS = 1e6
#: Default ``error_tol``: the error estimate (see :func:`purification_thermal_states`) above which a
#: snapshot is flagged ``converged=False`` and warned about.
ERROR_TOL = 1e-3
#: ``truncation_error_estimate = TRUNCATION_FACTOR · √w``: 2 from ``|Δ<O>| ≤ 2‖O‖ ‖δψ‖`` with the
#: single-SVD errors added in quadrature, times 1.5 because measured errors came within 0.9 of ``2√w``
#: (8-site XXZ chain, χ = 12; the single truncation errors add partly coherently).
TRUNCATION_FACTOR = 3.0
#: Default ``cutoff``: the largest discarded weight per truncation. Far below DMRG's 1e-12 because later
#: gates e^{-τH} amplify the low-energy components a truncation drops: at 1e-12 the 8-site Heisenberg chain
#: (χ = 64, dτ = 0.1, order 4, T = 0.25) accumulates a discarded weight of only 1.8e-10 but its log Z is off
#: by 1.7e-5; at 1e-16 by 4e-7. 1e-20 is the weight the former relative singular-value cutoff 1e-10
#: dropped (s < 1e-10 s_max weighs < 1e-20), so the default keeps the former accuracy (a 6-site TFIM at
#: T = 0.5: moments within 3e-9 of exact, against 3e-7 at 1e-16, at equal cost).
DEFAULT_CUTOFF = 1e-20
#: Allowed ``sv_cutoff`` (the former meaning of ``cutoff``): a dropped singular value
#: ``s < sv_cutoff · s_max`` weighs < sv_cutoff² of the largest, so √MAX_DISCARDED_WEIGHT.
SV_CUTOFF_RANGE = OptionRange("number", 0.0, math.sqrt(MAX_DISCARDED_WEIGHT), optional=True)
#: Former flag threshold on the accumulated discarded weight. No longer decides ``converged`` (observable
#: errors grow like the weight's square root, so 1e-6 let errors of 5e-4 pass); kept for old imports.
DISCARDED_WEIGHT_TOL = 1e-6


# -- public API -----------------------------------------------------------------------------------------------
#: Default imaginary-time step (order 4). Issue 12: at χ = 64 the dτ = 0.05 default was over-resolved. Measured on
#: the open 16-site Heisenberg chain at T = 1 against order 4, dτ = 0.025 (whose Trotter error is ~1/256 of
#: dτ = 0.1's): dτ = 0.1 errs by 1.0e-8 in E/N and 5.1e-8 in the pair correlators (dτ = 0.05: 6.4e-10, 3.1e-9;
#: dτ = 0.25: 3.9e-7, 2.0e-6), at the level of the χ = 64 truncation floor reported at low T (~6e-8), in half the
#: steps.
DEFAULT_DTAU = 0.1
#: Order of the MPO propagator: the complex W^II pair (see :mod:`._mpo_evolution`) errs by O(dτ³) per step.
MPO_ORDER = 2
#: Values of ``propagator``.
PROPAGATORS = ("auto", "tebd", "mpo")


def resolve_propagator(model, propagator):
    """The propagator ``"auto"`` stands for on ``model`` (``"tebd"`` or ``"mpo"``); others pass through.

    ``"auto"`` is TEBD for every lattice, by measurement (``benchmarks/bench_thermal_ladder.py``): on the
    2 × 6 Heisenberg ladder at T = 0.5, χ = 128, dτ = 0.1, TEBD with swap gates (order 4) took 54 s with an
    error of 1.5e-5 against exact, the W^II MPO pair 57 s with 1.2e-3 (its error is second order in dτ:
    3.2e-4 at dτ = 0.05 in 123 s), so at equal accuracy TEBD is the cheaper one even with its swaps.
    A Hamiltonian of fields alone has no MPO rails and always runs TEBD.
    """
    if propagator not in PROPAGATORS:
        raise ValueError(f"purification: propagator must be one of {list(PROPAGATORS)}, got {propagator!r}")
    if propagator == "auto" or not any(len(t.bonds) for t in model.terms):
        return "tebd"
    return propagator


def purification_thermal_states(model, temperatures, *, bond_dim=64, dtau=DEFAULT_DTAU, order=4, cutoff=DEFAULT_CUTOFF,
                                error_tol=ERROR_TOL, trotter_check=True, ground_state_options=None, sv_cutoff=None,
                                propagator="auto"):
    """Thermal states ``ρ = e^{−H/T}/Z`` as purified MPS, from one imaginary-time evolution.

    Parameters
    ----------
    model : SpinModel
    temperatures : sequence of float
        ``T ≥ 0`` (k_B = 1, units of the coupling), any order, repeats allowed.
        ``T = 0`` is the DMRG ground state (a pure, non-purified MPS).
    bond_dim : int, default 64
        Maximum bond dimension χ of the purified MPS, in [1, 4096] (a gate
        splits a 4χ × 4χ matrix: 4 GiB at 4096; ranges: :mod:`macrobell.tn._checks`).
    dtau : float, default :data:`DEFAULT_DTAU` = 0.1
        Imaginary-time step, in (0, 1] (units of 1/J: Trotter error bounds
        are series in dtau·J). The default (0.05 before issue 12) balances
        the order-4 Trotter error (~5e-8 in the correlators, 16-site
        Heisenberg chain) against the χ = 64 truncation floor. The purification is evolved to ``τ = β/2`` in
        steps of ``dtau``; the last step before each requested β is shortened
        so every β is hit exactly.
    order : {2, 4}, default 4
        Trotter order: 2 = Strang splitting; 4 = Suzuki's fractal symmetric
        composition of five Strang stages (see :mod:`macrobell.tn.gates`).
        Energies converge as ``dtau**order``.
    cutoff : float, default :data:`DEFAULT_CUTOFF` = 1e-20
        Largest discarded weight per truncation, in [0, 1e-5], the meaning
        ``cutoff`` has for DMRG: after each SVD the smallest singular values
        are dropped while ``Σ_dropped s² ≤ cutoff · Σ s²`` (quimb's
        ``"rsum2"`` rule, :func:`kept_count`). Before this version ``cutoff``
        was a relative singular-value cutoff; that rule is ``sv_cutoff``.
    sv_cutoff : float, optional
        Deprecated, the former meaning of ``cutoff``: keep ``s_i > sv_cutoff ·
        s_max`` (quimb's ``"rel"``), in [0, √1e-5]. Given, it replaces the
        weight rule (``cutoff`` must then stay at its default) and emits a
        ``DeprecationWarning``.
    error_tol : float, default :data:`ERROR_TOL` = 1e-3
        Tolerance of the error estimate ``info["error_estimate"]``; a
        snapshot is ``converged`` iff the estimate is ≤ ``error_tol``. The
        estimate targets the error, against the exact thermal state, of every
        one- and two-site Pauli correlator ``<σ_a^i σ_b^j>`` (so of every
        entry of an effective state's tensor ``T``, an average of them) and
        of the energy per site ``E/N``. It is the sum of
        ``truncation_error_estimate = 3 √w`` (``w`` the discarded weight
        accumulated up to this β; see :data:`TRUNCATION_FACTOR`) and
        ``trotter_error_estimate`` (below). It is an estimate, not a rigorous
        bound (later non-unitary gates can amplify early truncation errors);
        it was checked against exact diagonalisation on chains, rings and
        the 2 × 4 J1–J2 ladder in a field.
    trotter_check : bool, default True
        Run a second evolution at step ``2 dtau`` (about half the cost of the
        first) and estimate the Trotter error by Richardson's rule,
        ``2 max|O(2dτ) − O(dτ)| / (2^order − 1)`` over the energy per site
        and the one- and two-site Pauli expectation values on every bond and
        field site of the Hamiltonian (the factor 2 covers correlators off
        the Hamiltonian's bonds). ``False`` skips it: the estimate is then the
        truncation part alone and says nothing about the O(dτ^order) Trotter
        error (``trotter_error_estimate = None``).
    propagator : {"auto", "tebd", "mpo"}, default "auto"
        ``"tebd"``: the Trotter gates above, with swap gates for bonds that
        are not MPS neighbours. ``"mpo"``: no swaps; each step of ``dtau``
        applies Zaletel et al.'s ``W^II`` MPO (PRB 91, 165112 (2015)) of the
        Hamiltonian at the two complex steps ``−(1 ± i) dtau / 2`` (second
        order whatever ``order`` says; ``info["trotter_order"]`` is 2), by
        zip-up and an optimal SVD sweep (:mod:`._mpo_evolution`); the states
        are complex. ``"auto"``: TEBD, by measurement
        (:func:`resolve_propagator`). ``info["propagator"]`` says which ran.
    ground_state_options : dict, optional
        Options for ``ground_state(model, method="dmrg", ...)`` at T = 0
        (default: ``{"bond_dim": bond_dim, "seed": 0}``).

    Returns
    -------
    list of MPSState
        One per temperature, in the order given. ``T > 0`` states are
        purified (``purified=True``, local dimension 4, ``s = 2p + a``), with
        ``mps`` a normalised quimb ``MatrixProductState`` in MPS order and
        ``diagnostics``: ``converged`` (below), ``energy`` (``Tr ρH`` from the
        bond reduced states), ``energy_variance`` (``Tr ρH² − (Tr ρH)²``,
        from the MPO on the physical legs), ``discarded_weight`` (accumulated
        over every truncation up to this β), ``max_bond``, ``n_sweeps``
        (= ``n_steps``), ``elapsed_s``, ``warnings``; ``info`` (and
        ``extra``): ``method="purification"``, ``beta``, ``energy``,
        ``trotter_order``, ``dtau``, ``n_steps`` (Trotter steps of the shared
        evolution up to this β), ``n_svd``, ``max_bond``, ``bond_dim``,
        ``cutoff``, ``sv_cutoff``, ``cutoff_mode`` (``"rsum2"``, or ``"rel"``
        with ``sv_cutoff``), ``discarded_weight`` (accumulated),
        ``max_discarded_weight`` (largest single truncation),
        ``truncation_error`` (= ``discarded_weight``), ``log_Z`` (``ln Tr e^{−βH}``, from the
        tracked norm), ``elapsed_s`` (evolution time up to this β),
        ``n_evolutions=1`` (one shared evolution serves every temperature),
        ``propagator`` (``"tebd"`` or ``"mpo"``, the one that ran),
        ``check_evolutions`` (1 with the Trotter check: one more, shared, at
        ``2 dtau``; its time is ``check_elapsed_s``), ``error_estimate``,
        ``truncation_error_estimate``, ``trotter_error_estimate``,
        ``error_tol`` and ``converged`` (``error_estimate ≤ error_tol``).
        Every entry depends on this T alone: requesting other temperatures
        in the same call changes neither the state nor its flag.

    Notes
    -----
    Temperatures are processed from high to low T on one evolution; each
    snapshot branches off a copy that finishes its own last (half or
    shortened) step, so it is the state a run for that T alone gives, and
    costs an energy evaluation and a copy (before this change eight
    temperatures cost ~1.1× the lowest alone, see
    ``benchmarks/bench_purification.py``; the branching adds one layer per
    snapshot). The Trotter check roughly adds half the cost again. The
    order-4 composition contains a negative (backward) imaginary-time
    sub-step, unavoidable beyond order 2. Cost per step: one truncated SVD
    of a (4χ × 4χ) matrix per gate (order 2: ≈ N per step for a chain;
    order 4: ≈ 5N), plus 2(r − 1) swap SVDs per gate of MPS range r.
    """
    pin_threads()  # a direct call too: multithreaded BLAS is ~30x slower on these small GEMMs
    temps = check_temperatures(temperatures, "thermal_states(method='purification')")
    o = check_options("purification", "purification", bond_dim=bond_dim, dtau=dtau, order=order, cutoff=cutoff,
                      error_tol=error_tol, trotter_check=trotter_check, propagator=propagator)
    bond_dim, dtau, order, cutoff = o["bond_dim"], o["dtau"], o["order"], o["cutoff"]
    propagator = resolve_propagator(model, o["propagator"])
    error_tol = o["error_tol"]
    mode = "weight"
    if sv_cutoff is not None:
        if cutoff != DEFAULT_CUTOFF:
            raise ValueError(f"purification: give cutoff (a discarded weight) or sv_cutoff (a relative singular-value "
                             f"cutoff), not both; got cutoff={cutoff!r}, sv_cutoff={sv_cutoff!r}")
        cutoff, mode = check_option("purification", "sv_cutoff", sv_cutoff, SV_CUTOFF_RANGE), "sv"
        warnings.warn("purification: sv_cutoff (a relative singular-value cutoff) is deprecated; cutoff is now the "
                      "discarded weight per truncation, as for DMRG", DeprecationWarning, stacklevel=3)
    if ground_state_options is not None and not isinstance(ground_state_options, dict):
        raise ValueError(f"purification: ground_state_options must be a dict, got {ground_state_options!r}")
    lat = model.lattice
    n = lat.n_sites
    out = [None] * len(temps)

    # -- T = 0: ground state ----------------------------------------------------------------------------
    zeros = [i for i, t in enumerate(temps) if t == 0]
    if zeros:
        from .dmrg import dmrg_ground_state

        opts = {"bond_dim": bond_dim, "seed": 0} if ground_state_options is None else dict(ground_state_options)
        gs = call_backend(dmrg_ground_state, "ground_state(method='dmrg')", model, **opts)
        for j, i in enumerate(zeros):  # repeated T = 0 entries get independent copies
            out[i] = gs if j == 0 else _copy_state(gs)

    # -- T > 0: one evolution -------------------------------------------------------------------------
    finite = sorted({t for t in temps if t > 0}, reverse=True)  # high T first = ascending β
    if finite:
        if n < 2:
            raise ValueError("purification: needs at least 2 sites; use method='exact'")
        n_steps = 1.0 / finite[-1] / 2 / dtau
        if n_steps > MAX_STEPS:
            raise ValueError(f"purification: T = {finite[-1]:g} with dtau = {dtau:g} needs {n_steps:.3g} Trotter "
                             f"steps (limit {MAX_STEPS:g}); use T = 0 for the ground state or a larger dtau")
        betas = [1.0 / t for t in finite]
        if propagator == "mpo":
            order = MPO_ORDER

            def evolve(step, moments=True):
                return _evolve_mpo(model, betas, bond_dim, step, cutoff, mode, moments=moments)
        else:
            def evolve(step, moments=True):
                return _evolve(model, betas, bond_dim, step, order, cutoff, mode, moments=moments)
        states, paulis = evolve(dtau)
        checks = [None] * len(states)
        if trotter_check:
            coarse = evolve(2 * dtau, moments=False)
            # Richardson needs two different step sequences: where β/2 fits in one step of either size the
            # coarse run repeats the main one (its difference is 0, not an error bound), so those
            # temperatures are checked against a run at dtau/2 instead.
            void = [c.info["n_steps"] == s.info["n_steps"] for s, c in zip(states, coarse[0])]
            finer = evolve(dtau / 2, moments=False) if any(void) else None
            for j in range(len(states)):
                checks[j] = (finer[0][j], finer[1][j], "finer") if void[j] else (coarse[0][j], coarse[1][j], "coarser")
        for j, st in enumerate(states):
            _flag(st, n, error_tol, order, paulis[j], checks[j])
        by_T = dict(zip(finite, states))
        for i, t in enumerate(temps):
            if t > 0:
                st = by_T[t]
                out[i] = MPSState(lattice=lat, model=model, energy=st.energy, temperature=t,
                                  diagnostics=st.diagnostics, mps=st.mps.copy(), purified=True)
    return out


def _copy_state(st):
    """An independent copy of an MPSState or of a MixtureState of them (degenerate DMRG ground states)."""
    if isinstance(st, MixtureState):
        return dataclasses.replace(st, components=[_copy_state(c) for c in st.components],
                                   weights=st.weights.copy())
    return dataclasses.replace(st, mps=st.mps.copy())


def _flag(st, n, error_tol, order, paulis, coarse):
    """Set the error estimate and ``converged`` of ``st.diagnostics``; warn if the estimate exceeds the tolerance."""
    info = st.info
    trunc = TRUNCATION_FACTOR * math.sqrt(info["discarded_weight"])
    trot = None
    extra = {}
    if coarse is not None:
        cst, cpaulis, kind = coarse
        diff = max([abs(st.energy - cst.energy) / n] + [float(np.abs(a - b).max()) for a, b in zip(paulis, cpaulis)])
        # error ~ c dtau^order: against 2 dtau the difference is (2^p - 1) of it, against dtau/2 (1 - 2^-p);
        # the factor 2 is a safety margin on the asymptotic estimate
        trot = 2.0 * diff / (2 ** order - 1) if kind == "coarser" else 2.0 * diff / (1 - 2.0 ** -order)
        if cst.info["n_steps"] == info["n_steps"]:  # pragma: no cover - dtau/2 always takes more steps
            trot = math.inf
        extra["check_elapsed_s"] = cst.info["elapsed_s"]
        extra["trotter_check"] = kind
    est = trunc + (trot or 0.0)
    converged = bool(est <= error_tol)
    extra.update(check_evolutions=0 if coarse is None else 1, error_estimate=est, truncation_error_estimate=trunc,
                 trotter_error_estimate=trot, error_tol=error_tol)
    messages = list(st.diagnostics.warnings)
    if not converged:
        what = [f"truncation {trunc:.3g} (accumulated discarded weight {info['discarded_weight']:.3g}; "
                f"increase bond_dim, now {info['bond_dim']})"]
        if trot is not None:
            what.append(f"Trotter {trot:.3g} (decrease dtau, now {info['dtau']:g})")
        messages.append(f"purification: error estimate {est:.3g} at beta={info['beta']:g} exceeds error_tol="
                        f"{error_tol:g}: " + ", ".join(what))
        warnings.warn(messages[-1], ConvergenceWarning, stacklevel=3)
    st.diagnostics = st.diagnostics.replace(converged=converged, warnings=messages, extra=extra)


def _segment(target, dtau):
    """``(nfull, rest)``: ``τ = target`` as ``nfull`` steps of ``dtau`` and one shortened step ``rest``."""
    nfull = int(math.floor(target / dtau * (1 + 1e-12)))
    rest = target - nfull * dtau
    if rest <= 1e-12 * max(dtau, target):
        rest = 0.0
    return nfull, rest


def _alone_sequence(n_layers, weights, target, dtau):
    """The merged layer sequence that evolves ``τ(0) → target`` as a run for this β alone would."""
    nfull, rest = _segment(target, dtau)
    one = step_sequence(n_layers, weights, dtau)
    seq = one * nfull
    if rest > 0:
        seq = seq + step_sequence(n_layers, weights, rest)
    return merge_sequence(seq), nfull + (1 if rest > 0 else 0)


def _common_prefix(a, b):
    k = 0
    for x, y in zip(a, b):
        if x != y:
            break
        k += 1
    return k


def _evolve(model, betas, bond_dim, dtau, order, cutoff, mode="weight", moments=True):
    """Evolve to τ = β/2 for every β (ascending) and snapshot; returns ``(states, bond_paulis)``.

    ``moments``: compute each snapshot's energy variance from the MPO (skipped for the Trotter check).

    The snapshot at β is bit-for-bit the state a run for β alone gives: the
    shared evolution follows the layer sequence of the largest β, and each
    smaller β branches off (a copy) where its own sequence stops agreeing
    with it — before the last, merged, half-step layer and any shortened
    step — and finishes on the copy. So its truncations, discarded weight
    and Trotter path depend on β only, never on the other temperatures.
    ``bond_paulis[i]``: the Pauli expectation values of every Hamiltonian
    bond and field site (see :func:`_pauli_expectations`) at ``betas[i]``.
    """
    t0 = time.perf_counter()
    bonds, singles = hamiltonian_pieces(model)
    layers = commuting_layers(bonds)
    real = model.is_real
    dtype = np.float64 if real else np.complex128
    psi = _Purified(model.n_sites, dtype, bond_dim, cutoff, mode)
    ham = model_to_mpo(model) if moments else None
    weights = trotter_stages(order)
    cache = {}

    def gates_of(m, tau):
        key = (m, round(tau, 15))
        if key not in cache:
            cache[key] = [(bonds[b][0], bonds[b][1], exp_gate(bonds[b][2], tau, dtype)) for b in layers[m]]
        return cache[key]

    def run(state, seq, done=0.0):
        # Every layer receives the whole imaginary time in total: layer 0's running sum is beta/2 reached.
        for m, tau in seq:
            state.apply_layer(gates_of(m, tau))
            if m == 0:
                done += tau
                _log.info("beta=%.6g of %.6g max_bond=%d", 2 * done, betas[-1], state.max_bond(),
                          extra={"solver": "purification", "beta": 2 * done, "max_bond": int(state.max_bond())})

    main = _alone_sequence(len(layers), weights, betas[-1] / 2, dtau)[0] if layers else []
    pos, results, paulis = 0, [], []
    for j, beta in enumerate(betas):
        target = beta / 2
        if layers:
            seq, steps = _alone_sequence(len(layers), weights, target, dtau)
        else:  # fields only: nothing to Trotterise
            nfull, rest = _segment(target, dtau)
            seq, steps = [], nfull + (1 if rest > 0 else 0)
        p = len(seq) if j == len(betas) - 1 else _common_prefix(seq, main)
        if p < pos:  # pragma: no cover - ascending β keep the branch points ascending
            raise RuntimeError("purification: branch point before the shared evolution's position")
        run(psi, main[pos:p], sum(t for m, t in main[:pos] if m == 0))
        pos = p
        branch = psi if j == len(betas) - 1 else psi.copy()
        run(branch, seq[p:], sum(t for m, t in seq[:p] if m == 0))
        # Isolated fields commute with everything: e^{-τ Σ f} is applied exactly, once.
        for k, f in singles:
            branch.one_site(k, exp_gate(f, target, dtype))
        st, pa = _snapshot(model, branch, beta, steps, t0, ham, bonds, singles,
                           {"trotter_order": order, "dtau": dtau, "bond_dim": bond_dim, "cutoff": cutoff,
                            "mode": mode, "propagator": "tebd"})
        results.append(st)
        paulis.append(pa)
    return results, paulis


def _snapshot(model, branch, beta, steps, t0, ham, bonds, singles, o):
    """The :class:`MPSState` of a finished branch at ``beta`` and its bond Pauli expectations.

    ``o``: the run's settings (``trotter_order``, ``dtau``, ``bond_dim``, ``cutoff``, ``mode``,
    ``propagator``).
    """
    # One QR sweep serves both contractions (_right_canonical skips an already right-isometric tail).
    arrays = _right_canonical(branch.copy_arrays())
    energy, rhos = _bond_reduced_states(arrays, bonds, singles)
    paulis = _pauli_expectations(rhos)
    disc = branch.discarded
    variance = float("nan")
    if ham is not None:
        e1, e2 = mpo_moments(arrays, ham, purified=True)
        variance = float(np.real(e2)) - float(np.real(e1)) ** 2
    cutoff, mode = o["cutoff"], o["mode"]
    info = {
        "method": "purification", "propagator": o["propagator"], "beta": float(beta),
        "trotter_order": o["trotter_order"], "dtau": o["dtau"], "n_steps": steps, "n_svd": branch.n_svd,
        "bond_dim": o["bond_dim"], "cutoff": cutoff if mode == "weight" else DEFAULT_CUTOFF,
        "sv_cutoff": cutoff if mode == "sv" else None, "cutoff_mode": "rsum2" if mode == "weight" else "rel",
        "max_discarded_weight": branch.max_discarded,
        "truncation_error": disc, "log_Z": model.n_sites * math.log(2.0) + 2.0 * branch.lognorm,
        "n_evolutions": 1,
    }
    diag = Diagnostics(energy=energy, energy_variance=variance, discarded_weight=disc,
                       max_bond=branch.max_bond(), n_sweeps=steps, elapsed_s=time.perf_counter() - t0, extra=info)
    _log.info("state at beta=%.6g (T=%.6g): E=%.12g max_bond=%d discarded=%.3g", beta, 1 / beta, energy,
              diag.max_bond, disc, extra={"solver": "purification", "beta": float(beta), "energy": float(energy),
                                          "max_bond": int(diag.max_bond), "temperature": 1 / float(beta)})
    return MPSState(lattice=model.lattice, model=model, energy=energy, diagnostics=diag,
                    mps=_to_quimb(arrays), purified=True), paulis


def _evolve_mpo(model, betas, bond_dim, dtau, cutoff, mode="weight", moments=True):
    """As :func:`_evolve`, with the MPO propagator of :mod:`._mpo_evolution` (no swap gates).

    One step of ``dtau`` is the complex ``W^II`` pair (second order). The shared evolution takes the
    full steps of the largest β; each β branches off after its own ``floor(β / 2 dtau)`` full steps and
    finishes with its own shortened step, so its snapshot is bit-for-bit the one of a run for it alone.
    """
    t0 = time.perf_counter()
    bonds, singles = hamiltonian_pieces(model)
    W, layout = _model_fsm(model, None, compress=True, where="purification")
    psi = _Purified(model.n_sites, np.complex128, bond_dim, cutoff, mode)
    ham = model_to_mpo(model) if moments else None
    cache = {}

    def step(state, tau):
        key = round(tau, 15)
        if key not in cache:
            cache[key] = [_mpoev.wii_mpo(W, layout, t) for t in _mpoev.complex_pair(tau)]
        for U in cache[key]:
            state.apply_mpo(U)

    done, results, paulis = 0, [], []
    for j, beta in enumerate(betas):
        nfull, rest = _segment(beta / 2, dtau)
        while done < nfull:
            step(psi, dtau)
            done += 1
            _log.info("beta=%.6g of %.6g max_bond=%d", 2 * done * dtau, betas[-1], psi.max_bond(),
                      extra={"solver": "purification", "beta": 2 * done * dtau, "max_bond": int(psi.max_bond())})
        branch = psi if j == len(betas) - 1 else psi.copy()
        if rest > 0:
            step(branch, rest)
        st, pa = _snapshot(model, branch, beta, nfull + (1 if rest > 0 else 0), t0, ham, bonds, singles,
                           {"trotter_order": MPO_ORDER, "dtau": dtau, "bond_dim": bond_dim, "cutoff": cutoff,
                            "mode": mode, "propagator": "mpo"})
        results.append(st)
        paulis.append(pa)
    return results, paulis


# --------------------------------------------------------------------------- registration (tn.registry)

def _register() -> None:
    from ._checks import _PURIFICATION_MAX_BOND, MAX_DTAU, MAX_OBSERVABLE_TOL
    from .registry import Backend, Option, register_backend, solver_defaults

    d = solver_defaults(purification_thermal_states)
    options = {
        "bond_dim": Option(int, d["bond_dim"], "largest bond dimension of the purified MPS",
                           OptionRange("int", 1, _PURIFICATION_MAX_BOND)),
        "dtau": Option(float, d["dtau"], "imaginary-time step (units of 1/J)",
                       OptionRange("number", 0.0, MAX_DTAU, lo_open=True)),
        "order": Option(int, d["order"], "Trotter order", OptionRange("choice", choices=(2, 4))),
        # a discarded weight per truncation, as DMRG's
        "cutoff": Option(float, d["cutoff"], "discarded weight per truncation",
                         OptionRange("number", 0.0, MAX_DISCARDED_WEIGHT)),
        "error_tol": Option(float, d["error_tol"], "largest observable error estimate that counts as converged",
                            OptionRange("number", 0.0, MAX_OBSERVABLE_TOL, lo_open=True)),
        "trotter_check": Option(bool, d["trotter_check"], "estimate the time-step (Trotter or W^II) error by a second, "
                                "coarser run",
                                OptionRange("bool")),
        "propagator": Option(str, d["propagator"], "imaginary-time propagator: auto (TEBD), tebd (Trotter gates, swap "
                             "gates for bonds that are not MPS neighbours) or mpo (W^II MPO pair, no swaps)",
                             OptionRange("choice", choices=PROPAGATORS)),
        "ground_state_options": Option(None, None, "options of the DMRG run at T = 0 (set by sweeps, not in TOML)"),
        # the former meaning of cutoff (deprecated): a relative singular-value cutoff
        "sv_cutoff": Option(None, d["sv_cutoff"], "deprecated: relative singular-value cutoff", SV_CUTOFF_RANGE),
    }
    register_backend(Backend(
        "purification", MPSState, options, thermal=purification_thermal_states, ground_state_backend="dmrg",
        inherited_options=("bond_dim",),
        doc="MPS purification, one imaginary-time evolution for every T > 0 (any lattice); T = 0 by DMRG"),
        replace=True)


_register()
