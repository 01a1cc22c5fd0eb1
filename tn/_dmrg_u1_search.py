"""The U(1) DMRG driver: the sector of the ground state, its ground manifold, and the returned record.

Private to :mod:`macrobell.tn.dmrg`, which decides when it runs (:func:`macrobell.tn._dmrg_u1.use_u1`)
and documents the rules (``sz_total``, Notes of :func:`~macrobell.tn.dmrg.dmrg_ground_state`). The
sector runs themselves are :func:`macrobell.tn._dmrg_u1.run_sector` (TeNPy's charge-conserving DMRG);
sectors are named by ``2 S^z_total`` (an int with the parity of N). The stopping rule, checks and record
are the dense path's (:mod:`macrobell.tn._dmrg_common`); the mixture of a degenerate manifold is
:func:`macrobell.tn._dmrg_manifold.mixture`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from macrobell.lattice import SpinModel

from . import _dmrg_common as _common
from ._dmrg_manifold import _GAP_REFINE_SWEEPS, _GAP_SWEEPS, GAP_CHECK_BOND, MAX_MANIFOLD, mixture
from ._dmrg_u1 import (SectorRun, blocked_expectation, bond_charges, check_sz_total, flipped, log_sweep,
                       lpr_arrays, run_sector, spin_flip_symmetric, tenpy_model, variance)


def _member(run: SectorRun):
    from .state import _right_canonical

    return {"two_m": run.two_m, "arrays": _right_canonical(lpr_arrays(run.psi)), "psi": run.psi,
            "disc": float(sum(run.weights[-1])) if run.weights else 0.0, "converged": run.converged,
            "energy": run.energy}


class _Search:
    """The sector runs of one U(1) ground-state search: the model, schedules and the runs done so far."""

    def __init__(self, model, tm, sched, kw, degeneracy_tol, two_m_req):
        from .exact import _su2_no_field

        self.model, self.tm, self.sched, self.kw = model, tm, sched, kw
        self.n = model.n_sites
        self.chi_c = min(sched[-1], GAP_CHECK_BOND)
        self.degeneracy_tol = degeneracy_tol
        self.two_m_req = two_m_req
        self.su2 = _su2_no_field(model)
        # a fixed sector keeps the manifold search inside it; otherwise sectors m and -m are partners without field
        self.flip = spin_flip_symmetric(model) and two_m_req is None
        self.cheap_e, self.scanned = {}, []
        self.gap_est, self.gap_runs, self.gap_ok = [], 0, True

    # the returned state's sweeps are logged as solver "dmrg" (as on the dense path), the others apart
    def full(self, two_m, orth=None, sweeps=None, log="dmrg", stop=None):
        sweeps = self.kw["max_sweeps"] if sweeps is None else sweeps
        kw = {k: v for k, v in self.kw.items() if k != "max_sweeps"}
        return run_sector(self.tm, self.model, two_m, self.sched, max_sweeps=sweeps, orthogonal_to=orth,
                          log_solver=log, stop=stop, **kw)

    def cheap(self, two_m, orth=None, log="dmrg-partner"):
        kw = {k: v for k, v in self.kw.items() if k != "max_sweeps"}
        return run_sector(self.tm, self.model, two_m, [self.chi_c], max_sweeps=_GAP_SWEEPS,
                          orthogonal_to=orth, log_solver=log, **kw)

    def lowest_sector(self):
        """``(main run, mode)``: the sector of the returned state (module docstring of the caller)."""
        n = self.n
        if self.two_m_req is not None:
            self.scanned = [self.full(self.two_m_req)]
            return self.scanned[0], "fixed"
        if self.su2:
            # every S multiplet has a member with S^z = 0 (1/2 for odd N): min_m E(|m|) is reached there
            self.scanned = [self.full(n % 2)]
            return self.scanned[0], "su2-minimal"
        # cheap pass over every sector (m >= 0 if the spin flip maps m to -m), then refine the best ones
        for tw in range(n % 2 if self.flip else -n, n + 1, 2):
            self.cheap_e[tw] = self.cheap(tw, log="dmrg-scan").energy
        self._refine_within_drop()
        self._refine_neighbours()
        main = min(self.scanned, key=lambda r: r.energy)
        for h in range(main.n_sweeps):  # the chosen sector's sweeps, as solver "dmrg"
            log_sweep("dmrg", main, h)
        return main, "scan"

    def _refine_within_drop(self):
        """Refine (full schedule) every sector whose cheap energy lies within twice the largest cheap -> full
        drop seen so far of the best refined energy, the lowest cheap energies first."""
        max_drop = 0.0
        while True:
            best = min((r.energy for r in self.scanned), default=np.inf)
            done = {r.two_m for r in self.scanned}
            todo = [tw for tw in sorted(self.cheap_e, key=self.cheap_e.get)
                    if tw not in done and self.cheap_e[tw] < best + 2 * max_drop + self.degeneracy_tol]
            if not todo:
                return
            self.scanned.append(self.full(todo[0], log="dmrg-scan"))
            max_drop = max(max_drop, self.cheap_e[todo[0]] - self.scanned[-1].energy)

    def _refine_neighbours(self):
        """And the neighbours S^z ± 1 of the best sector, until both are refined: a less polarised
        neighbour's cheap run can miss by more than the margin of :meth:`_refine_within_drop` (more
        entanglement)."""
        while True:
            best = min(self.scanned, key=lambda r: r.energy).two_m
            done = {r.two_m for r in self.scanned}
            nb = [tw for tw in (best - 2, best + 2) if tw in self.cheap_e and tw not in done]
            if not nb:
                return
            self.scanned.extend(self.full(tw, log="dmrg-scan") for tw in nb)

    def _refine(self, two_m, orth, e0):
        """A partner candidate along the full schedule; None (and its energy noted) when above the window.

        The run follows the main run's bond ramp and stops early once, after two half sweeps at a bond
        ``b``, its energy lies above ``e0`` by more than ``1e-3 + 10 err_b`` (``err_b``: how far the main run
        was above ``e0`` at that bond): clearly gapped, the cheap-check rule applied at every bond.
        """
        err = {}
        for e, b in zip(self.main.energies, self.main.bond_dims):
            err[b] = max(e - e0, 0.0)  # the last energy at each bond

        def stop(run):
            h = run.n_sweeps - 1
            b = run.bond_dims[h]
            return (h >= 1 and run.bond_dims[h - 1] == b and b in err
                    and run.energies[h] - e0 > _common.gap_window(err[b]))

        r = self.full(two_m, orth, sweeps=_GAP_REFINE_SWEEPS + len(self.sched), log="dmrg-partner", stop=stop)
        self.gap_runs += r.n_sweeps
        if r.stopped_early:
            self.gap_est.append(r.energy - e0)
            return None
        self.gap_ok = self.gap_ok and r.converged
        if r.energy - e0 > self.degeneracy_tol:
            self.gap_est.append(r.energy - e0)
            return None
        return r

    def sector_members(self, two_m, e0, close, room, known=None):
        """Levels of sector ``two_m`` within ``degeneracy_tol`` of ``e0`` (at most ``room``): ``known`` (a
        member already found there) or a cheap run refined when close, then DMRG orthogonal to those found."""
        found = [known] if known is not None else []
        if known is None:
            c = self.cheap(two_m)
            self.gap_runs += c.n_sweeps
            if c.energy - e0 > close:
                self.gap_est.append(c.energy - e0)
                return found
            r = {r.two_m: r for r in self.scanned}.get(two_m) or self._refine(two_m, None, e0)
            if r is None:
                return found
            found.append(_member(r))
        dim_sector = math.comb(self.n, (self.n + two_m) // 2)
        while len(found) < min(room, dim_sector):
            orth = [f["psi"] for f in found]
            c = self.cheap(two_m, orth)
            self.gap_runs += c.n_sweeps
            if c.energy - e0 > close:
                self.gap_est.append(c.energy - e0)
                break
            r = self._refine(two_m, orth, e0)
            if r is None:
                break
            if max(abs(complex(r.psi.overlap(o))) for o in orth) > 1e-6:
                self.gap_ok = False  # the projected run fell back onto a known state: no new partner
                break
            found.append(_member(r))
        return found

    def manifold(self, first, main, e0):
        """Orthonormal members of the ground manifold (``first`` first), at most ``MAX_MANIFOLD``: in-sector
        partners, their spin-flip images, and (SU(2)) the next sectors of the multiplet or (scan) the
        other sectors within ``degeneracy_tol``."""
        cap = MAX_MANIFOLD
        chi_c = self.chi_c
        self.main = main
        close = _common.gap_window(_common.error_at_bond(main.energies, main.bond_dims, chi_c, e0))
        members = [first]

        def add(found, two_m):
            for f in found:
                images = [f] + ([dict(f, two_m=-two_m, arrays=flipped(f["arrays"]), psi=None)]
                                if self.flip and two_m != 0 else [])
                for g in images:
                    if g is not first and len(members) < cap:
                        members.append(g)

        add(self.sector_members(main.two_m, e0, close, cap, known=first), main.two_m)
        if self.two_m_req is not None:
            return members
        runs = {r.two_m: r for r in self.scanned}
        if self.su2:
            # the next multiplet up: sectors |m| + 1, |m| + 2, ... while they stay degenerate
            tw = main.two_m + 2
            while tw <= self.n and len(members) < cap:
                found = self.sector_members(tw, e0, close, cap - len(members))
                if not found:
                    break
                add(found, tw)
                tw += 2
            return members
        for tw, e in sorted(self.cheap_e.items(), key=lambda kv: kv[1]):
            if tw == main.two_m or (self.flip and tw == -main.two_m) or len(members) >= cap:
                continue
            r = runs.get(tw)
            ee = r.energy if r is not None else e
            if ee - e0 > self.degeneracy_tol:
                self.gap_est.append(ee - e0)
                continue
            add(self.sector_members(tw, e0, close, cap - len(members), _member(r) if r is not None else None), tw)
        return members




def u1_ground_state(model: SpinModel, *, bond_dim, cutoff, tol, max_sweeps, algorithm, seed, ramp, verbosity,
                    degenerate, degeneracy_tol, sz_total, t0):
    """The U(1) path of :func:`macrobell.tn.dmrg.dmrg_ground_state` (options already validated)."""
    from .mpo import model_to_mpo

    n = model.n_sites
    two_m_req = check_sz_total("dmrg_ground_state", model, sz_total)
    tm = tenpy_model(model)
    ham = model_to_mpo(model)
    sched = _common.schedule(bond_dim, bool(ramp))
    tol_total = tol * n
    messages = []
    kw = dict(cutoff=cutoff, tol_total=tol_total, algorithm=algorithm, verbosity=verbosity, max_sweeps=max_sweeps)
    search = _Search(model, tm, sched, kw, degeneracy_tol, two_m_req)
    # 1. the sector of the ground state
    main, sector_mode = search.lowest_sector()
    t_dmrg = time.perf_counter() - t0
    # 2. the returned state, checked against macrobell's MPO; its variance
    first, psi_q, energy, t_check = _converted(main, ham)
    t1 = time.perf_counter()
    var = variance(tm, main.psi, main.energy)
    t_var = time.perf_counter() - t1
    converged = _common.check_convergence(
        messages, f"dmrg_ground_state ({model.name}, N={n}, bond_dim={bond_dim}, U(1) sector S^z={main.two_m / 2:g})",
        main.converged, main.energies, var, n, tol, max_sweeps, stacklevel=4)
    # 3. the ground manifold: in-sector partners (orthogonal runs), spin-flip partners, neighbouring sectors
    members, t_gap = [first], 0.0
    if degenerate != "ignore" and n >= 2:
        t1 = time.perf_counter()
        members = search.manifold(first, main, energy)
        t_gap = time.perf_counter() - t1
    dim = len(members)
    complete = dim < MAX_MANIFOLD  # the search stops there: the manifold may be larger
    gap = float(min(search.gap_est)) if search.gap_est else float("nan")
    if degenerate != "ignore" and not complete:
        gap = float("nan")
    sectors = sorted({m["two_m"] / 2 for m in members})
    converged = _common.manifold_warnings(
        messages, f"dmrg_ground_state ({model.name}, N={n})", dim=dim, complete=complete, gap_ok=search.gap_ok,
        degenerate=degenerate, degeneracy_tol=degeneracy_tol, gap=gap, tol=tol, converged=converged,
        max_manifold=MAX_MANIFOLD, sectors=f"S^z sectors {sectors}; ", stacklevel=4)

    state = _state(model, psi_q, energy)
    info = _info(search, main, sector_mode, degenerate, dim, complete, gap, [m["two_m"] / 2 for m in members],
                 timings={"dmrg_s": t_dmrg, "check_s": t_check, "variance_s": t_var}, t_gap=t_gap)
    info.update(_common.sweep_info(algorithm=algorithm, energies=main.energies, variance=var,
                                   sweep_weights=main.weights, bond_dims=main.bond_dims, bond_dim=bond_dim,
                                   cutoff=cutoff, tol=tol, tol_total=tol_total, converged=main.converged, seed=seed,
                                   mpo_bond=int(ham.max_bond())))
    state.diagnostics = _common.diagnostics(converged=converged, energy=energy, variance=var,
                                            sweep_weights=main.weights, max_bond=psi_q.max_bond(), t0=t0,
                                            messages=messages, info=info)
    if dim == 1 or degenerate != "mix":
        return state
    partners = [(m["arrays"], m["disc"]) for m in members[1:]]
    return mixture(model, state, partners, ham, bool(converged), messages)


def _converted(main: SectorRun, ham):
    """``(member, quimb MPS, <H>, seconds)``: the exact conversion of ``main`` to a quimb MPS in MPS order,
    its energy from macrobell's MPO (a RuntimeError unless it agrees with the engine's to 1e-10)."""
    from .mpo import mpo_arrays

    t1 = time.perf_counter()
    first = _member(main)
    psi_q = _common.quimb_mps(first["arrays"])
    # block-sparse contraction of macrobell's MPO with the converted arrays (before the QR re-gauging of
    # _right_canonical, which may mix the charge blocks; it is exact)
    energy = blocked_expectation(lpr_arrays(main.psi), bond_charges(main.psi), mpo_arrays(ham))
    if abs(energy - main.energy) > 1e-10 * max(1.0, abs(energy)):
        raise RuntimeError(f"dmrg_ground_state (U(1)): <H> of the converted MPS {energy!r} differs from the "
                           f"engine's {main.energy!r}; the TeNPy -> quimb conversion is wrong")
    return first, psi_q, energy, time.perf_counter() - t1


def _state(model, psi_q, energy):
    from .state import MPSState

    state = MPSState(lattice=model.lattice, model=model, temperature=0.0, mps=psi_q, purified=False)
    state.energy = energy
    return state


def _info(search, main, sector_mode, degenerate, dim, complete, gap, member_sectors, *, timings, t_gap) -> dict:
    """The U(1) keys of ``info`` and the ground-manifold ones, in the order of the record."""
    return {
        "method": "dmrg",
        "engine": "tenpy-u1",
        "conserve": "Sz",
        "sz_total": main.two_m / 2,
        "sz_sector_mode": sector_mode,
        "sector_energies": {r.two_m / 2: r.energy for r in search.scanned} or {main.two_m / 2: main.energy},
        "sector_energies_cheap": {k / 2: v for k, v in search.cheap_e.items()},
        "engine_energy": main.energy,
        **_common.manifold_info(degenerate, dim, complete, gap, sectors=member_sectors),
        "gap_check_sweeps": search.gap_runs,
        "gap_check_s": t_gap,
        # wall time of the sweeps (model and MPO builds included), of the conversion and its <H> check with
        # macrobell's MPO, of the exact variance (TeNPy's block-sparse MPO)
        "timings": timings,
    }
