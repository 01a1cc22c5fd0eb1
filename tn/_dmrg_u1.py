"""U(1)-symmetric DMRG engine: TeNPy's charge-conserving DMRG, driven half sweep by half sweep.

Private to :mod:`macrobell.tn.dmrg` (which registers the one backend
``"dmrg"`` and decides when this engine runs). When H commutes with
``S^z_total`` (:attr:`SpinModel.conserves_sz`: XXZ-type exchange, fields
along z) every MPS tensor is block sparse in the magnetisation of its bonds
(McCulloch & Gulácsi, Europhys. Lett. 57, 852 (2002); the implementation is
TeNPy's ``np_conserved``, Hauschild & Pollmann, SciPost Phys. Lect. Notes 5
(2018)): the two-site eigenproblem and the SVD split into blocks, which on
cylinders cuts the cost several-fold (``benchmarks/bench_symmetric_dmrg.py``).

Conventions. The TeNPy chain is built in macrobell's MPS order
(``lattice.order``): TeNPy site ``p`` = MPS position ``p``, so the result
needs no reordering. ``S = σ/2`` on both sides; ``c (S^x S^x + S^y S^y)`` is
written ``c/2 (S^+ S^- + S^- S^+)``. TeNPy's ``SpinHalfSite(conserve="Sz")``
orders its basis by charge; the conversion to quimb (:func:`quimb_mps`)
permutes it to macrobell's ``|0> = |↑>``. Sectors are named by
``2 S^z_total`` (an integer with the parity of N) internally.

The sweeps reproduce the dense path's schedule (:func:`macrobell.tn.dmrg`):
half sweeps alternately right and left, bond dimension ``sched[h]`` in half
sweep ``h``, truncation by discarded weight (TeNPy ``trunc_cut = √cutoff``
on the normalised Schmidt values is the same ``Σ s² ≤ cutoff`` rule as
quimb's ``"sum2"``). TeNPy's density-matrix mixer (White, PRB 72, 180403
(2005)) is on while the bond dimension still ramps up (at least two half
sweeps), so that charge sectors missing from the product-state start are
populated, and off for the half sweeps that decide convergence.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from macrobell.lattice import SpinModel

from .registry import OptionError, OptionRange

_log = logging.getLogger("macrobell.tn.dmrg")

#: The extra that installs the engine.
ENGINE_EXTRA = "symmetric"
INSTALL_HINT = ("the U(1)-symmetric DMRG engine needs TeNPy: pip install 'macrobell[symmetric]' "
                "(physics-tenpy>=1.0)")


def engine_available() -> bool:
    """Whether TeNPy (the U(1) engine) can be imported."""
    return importlib.util.find_spec("tenpy") is not None


#: |sz_total| bound of the option table (the model-dependent |S^z_total| <= N/2 is checked at the solver's entry;
#: a 10^6-site MPS does not fit in memory at any useful bond dimension).
SZ_TOTAL_BOUND = 5e5
SZ_RANGE = OptionRange("number", -SZ_TOTAL_BOUND, SZ_TOTAL_BOUND)


def check_sz_form(where: str, value, checked: dict):
    """``sz_total``: ``"lowest"`` or a finite multiple of 1/2 (the range in N is checked with the model)."""
    if isinstance(value, str) and value == "lowest":
        return value
    ok = SZ_RANGE.accepts(value) and float(2 * value).is_integer()
    if not ok:
        raise OptionError(f"{where}: sz_total must be {SZ_RANGE.allowed()} that is a multiple of 1/2 (with "
                          f"|sz_total| <= N/2 and 2*sz_total of the parity of N), or 'lowest', got {value!r}",
                          "sz_total")
    return float(value)


def use_u1(model: SpinModel, conserve: str, sz_total, algorithm: str = "dmrg2") -> bool:
    """Whether the U(1) engine runs; a ValueError when ``conserve`` / ``sz_total`` cannot be honoured.

    ``"auto"`` with ``algorithm="dmrg1"`` and no fixed sector keeps the dense path: its one-site sweeps
    never truncate (``discarded_weight = 0``), while TeNPy's one-site engine grows bonds by subspace
    expansion and truncates.
    """
    where = "dmrg_ground_state"
    if conserve == "none":
        if sz_total != "lowest":
            raise ValueError(f"{where}: sz_total={sz_total!r} needs the U(1) engine (conserve='auto' or 'Sz'); "
                             "conserve='none' allows only sz_total='lowest'")
        return False
    if not model.conserves_sz:
        if conserve == "Sz" or sz_total != "lowest":
            what = "conserve='Sz'" if conserve == "Sz" else f"sz_total={sz_total!r}"
            raise ValueError(f"{where}: {what} needs a model that conserves total S^z (XXZ-type exchange with equal "
                             f"xx and yy couplings, fields along z); {model.name!r} does not (use conserve='none' "
                             "and sz_total='lowest')")
        return False
    check_sz_total(where, model, sz_total)
    if conserve == "auto" and algorithm == "dmrg1" and sz_total == "lowest":
        return False
    if not engine_available():
        if conserve == "Sz" or sz_total != "lowest":
            raise ValueError(f"{where}: {INSTALL_HINT}")
        return False
    return True


def spin_flip_symmetric(model: SpinModel) -> bool:
    """Whether ``∏ σ^x`` commutes with H (a U(1) model without field): sectors ``±m`` are degenerate."""
    return model.conserves_sz and not model.fields


def _bond_couplings(model: SpinModel):
    """``{(p, q): [c_perp, c_zz]}`` over bonds in MPS positions ``p < q``; ``{p: h}`` of the z fields."""
    pos = model.lattice.mps_position
    bonds = {}
    for t in model.terms:
        for i, j in t.bonds:
            p, q = sorted((int(pos[i]), int(pos[j])))
            c = bonds.setdefault((p, q), {"xx": 0.0, "yy": 0.0, "zz": 0.0})
            c[t.ops] += t.coefficient
    fields = {}
    for f in model.fields:
        for s in f.sites:
            fields[int(pos[s])] = fields.get(int(pos[s]), 0.0) + f.coefficient
    return {k: (0.5 * (c["xx"] + c["yy"]), c["zz"]) for k, c in bonds.items()}, fields


def tenpy_model(model: SpinModel):
    """The TeNPy ``CouplingMPOModel`` of ``model`` on a chain in MPS order, conserving ``S^z``."""
    from tenpy.models.lattice import Chain
    from tenpy.models.model import CouplingModel, MPOModel
    from tenpy.networks.site import SpinHalfSite

    if not model.conserves_sz:
        raise ValueError("U(1) DMRG: the model does not conserve total S^z")
    bonds, fields = _bond_couplings(model)
    n = model.n_sites

    class _U1Model(CouplingModel, MPOModel):
        def __init__(self):
            lat = Chain(n, SpinHalfSite(conserve="Sz"), bc="open", bc_MPS="finite")
            CouplingModel.__init__(self, lat)
            for (p, q), (cp, cz) in bonds.items():
                if cp != 0:
                    # c (SxSx + SySy) = c/2 (S+S- + S-S+)
                    self.add_coupling_term(0.5 * cp, p, q, "Sp", "Sm")
                    self.add_coupling_term(0.5 * cp, p, q, "Sm", "Sp")
                if cz != 0:
                    self.add_coupling_term(cz, p, q, "Sz", "Sz")
            for p, h in fields.items():
                if h != 0:
                    self.add_onsite_term(h, p, "Sz")
            MPOModel.__init__(self, lat, self.calc_H_MPO())

    return _U1Model()


def product_labels(model: SpinModel, two_m: int) -> list:
    """A product state with ``2 S^z = two_m``, in MPS order: ``"up"`` / ``"down"`` per position.

    The up spins go to sublattice 0 first (the Néel state for ``m = 0`` on a
    bipartite lattice), then to sublattice 1, each evenly spread along the
    MPS order; a deterministic start close to the antiferromagnetic ground
    states.
    """
    n = model.n_sites
    n_up = (n + two_m) // 2
    lat = model.lattice
    order = np.asarray(lat.order)
    sub = np.asarray(lat.sublattice)[order] if getattr(lat, "sublattice", None) is not None else np.arange(n) % 2
    a = [p for p in range(n) if sub[p] == sub[0]]
    b = [p for p in range(n) if sub[p] != sub[0]]

    def spread(items, k):
        if k <= 0:
            return []
        idx = np.unique(np.floor(np.arange(k) * len(items) / k).astype(int))
        return [items[i] for i in idx]

    ups = spread(a, min(n_up, len(a))) + spread(b, n_up - len(a)) if n_up > len(a) else spread(a, n_up)
    labels = ["down"] * n
    for p in ups:
        labels[p] = "up"
    assert labels.count("up") == n_up
    return labels


@dataclass
class SectorRun:
    """One DMRG run in one sector: the TeNPy MPS and the per-half-sweep record."""

    two_m: int
    psi: object
    energies: list = field(default_factory=list)        # energy after each half sweep
    weights: list = field(default_factory=list)         # discarded weights of each half sweep's splits
    bond_dims: list = field(default_factory=list)
    max_bonds: list = field(default_factory=list)
    converged: bool = False
    stopped_early: bool = False                         # ended by a caller's stop rule (clearly gapped)
    energy: float = float("nan")                        # <psi|H|psi> of the final MPS (TeNPy's MPO)

    @property
    def n_sweeps(self) -> int:
        return len(self.energies)


def log_sweep(solver: str, run: SectorRun, h: int) -> None:
    """One INFO record of half sweep ``h`` of ``run`` (the dense path's fields, plus the sector)."""
    _log.info("sweep %d (%s) S^z=%g E=%.12g max_bond=%d/%d", h + 1, "R" if h % 2 == 0 else "L", run.two_m / 2,
              run.energies[h], run.max_bonds[h], run.bond_dims[h],
              extra={"solver": solver, "sweep": h + 1, "energy": run.energies[h], "max_bond": run.max_bonds[h],
                     "bond_dim": run.bond_dims[h], "sz_total": run.two_m / 2})


def _engine_class(algorithm):
    from tenpy.algorithms.dmrg import SingleSiteDMRGEngine, TwoSiteDMRGEngine

    base = TwoSiteDMRGEngine if algorithm == "dmrg2" else SingleSiteDMRGEngine

    class _HalfSweepEngine(base):
        """TeNPy's engine with ``sweep()`` doing one half sweep (``half`` = "R" or "L")."""

        half = "R"

        def get_sweep_schedule(self):
            sched = list(super().get_sweep_schedule())
            k = len(sched) // 2
            return iter(sched[:k] if self.half == "R" else sched[k:])

    return _HalfSweepEngine


def run_sector(tmodel, model: SpinModel, two_m: int, sched: list, *, cutoff: float, tol_total: float,
               max_sweeps: int, algorithm: str = "dmrg2", orthogonal_to=None, verbosity: int = 0,
               label: str = "", log_solver: str | None = "dmrg", stop=None) -> SectorRun:
    """Ground state of ``tmodel`` in the sector ``2 S^z = two_m`` (or the lowest state orthogonal to the
    TeNPy MPS in ``orthogonal_to``), following the half-sweep schedule ``sched``.

    Converged: ``|E_h − E_{h−1}| < tol_total`` for a half sweep ``h ≥ len(sched)`` (two half sweeps at
    the final bond dimension), the dense path's rule. Each half sweep is logged (``log_sweep``) under
    ``log_solver`` (None: not logged). ``stop(run)``, if given, is asked after every half sweep whether
    to end the run early (``run.stopped_early``; not converged).
    """
    from tenpy.networks.mps import MPS

    n = model.n_sites
    psi = MPS.from_product_state(tmodel.lat.mps_sites(), product_labels(model, two_m), bc="finite",
                                 unit_cell_width=n)
    # one-site DMRG grows bonds only through the mixer (subspace expansion): keep it on for the whole ramp
    n_mix = max(len(sched) - 1, 2) if algorithm == "dmrg2" else max(len(sched) + 1, 4)
    opts = {"trunc_params": {"chi_max": int(sched[0]), "svd_min": 1e-14, "trunc_cut": float(np.sqrt(cutoff))
                             if cutoff > 0 else None},
            "mixer": True,
            "mixer_params": {"amplitude": 1e-5, "decay": 2.0, "disable_after": 10 ** 6},
            "combine": True}
    if opts["trunc_params"]["trunc_cut"] is None:
        del opts["trunc_params"]["trunc_cut"]
    Engine = _engine_class(algorithm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eng = Engine(psi, tmodel, opts, orthogonal_to=list(orthogonal_to or []))
    run = SectorRun(two_m=two_m, psi=psi)
    eng.mixer_activate()
    for h in range(max_sweeps):
        bd = int(sched[min(h, len(sched) - 1)])
        eng.trunc_params["chi_max"] = bd
        if eng.mixer is not None and h >= n_mix:
            eng.mixer_deactivate()
        eng.half = "R" if h % 2 == 0 else "L"
        start = len(eng.update_stats["E_total"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eng.sweep()
        es = eng.update_stats["E_total"][start:]
        errs = eng.update_stats["err"][start:]
        run.energies.append(float(np.real(es[-1])))
        run.weights.append([float(e.eps) for e in errs])
        run.bond_dims.append(bd)
        run.max_bonds.append(int(max(psi.chi)))
        if log_solver:
            log_sweep(log_solver, run, h)
        if verbosity:
            print(f"dmrg[U(1){label} 2Sz={two_m}] sweep {h + 1} ({eng.half}) max_bond={max(psi.chi)}/{bd} "
                  f"E={run.energies[-1]:.12f}", flush=True)
        if h >= len(sched) and abs(run.energies[-1] - run.energies[-2]) < tol_total:
            run.converged = True
            break
        if stop is not None and stop(run):
            run.stopped_early = True
            break
    if eng.mixer is not None:
        eng.mixer_deactivate()
    eng.mixer_cleanup()
    psi.canonical_form()
    psi.norm = 1.0
    run.energy = float(np.real(tmodel.H_MPO.expectation_value(psi)))
    return run


def variance(tmodel, psi, energy: float) -> float:
    """``<H²> − <H>²`` of the TeNPy MPS (block-sparse MPO contraction)."""
    return float(np.real(tmodel.H_MPO.variance(psi, exp_val=energy)))


def lpr_arrays(psi) -> list:
    """The TeNPy MPS as right-canonical dense arrays ``(χl, 2, χr)`` in macrobell's basis (``|0> = |↑>``),
    MPS order kept (:func:`macrobell.tn.interop._tenpy_arrays`)."""
    from .interop import _tenpy_arrays

    return _tenpy_arrays(psi)


def quimb_mps(arrays: list):
    """A quimb ``MatrixProductState`` from ``(χl, 2, χr)`` arrays (MPS order kept)."""
    import quimb.tensor as qtn

    if len(arrays) == 1:
        return qtn.MatrixProductState([arrays[0][0, :, 0]], shape="lrp")
    arrs = [arrays[0][0]] + list(arrays[1:-1]) + [arrays[-1][..., 0]]
    return qtn.MatrixProductState(arrs, shape="lpr")


def flipped(arrays: list) -> list:
    """``∏ σ^x |ψ>``: the spin-flip partner (exact; ``S^z → −S^z``)."""
    return [a[:, ::-1].copy() for a in arrays]


# -- the driver: sector choice, ground manifold, diagnostics ---------------------------------------------------

def check_sz_total(where: str, model: SpinModel, sz_total):
    """``sz_total`` as ``2 S^z`` (an int), or ``None`` for ``"lowest"``; a ValueError naming the allowed values."""
    n = model.n_sites
    if isinstance(sz_total, str) and sz_total == "lowest":
        return None
    allowed = (f"'lowest' or a multiple of 1/2 in [-{n}/2, {n}/2] with 2*sz_total of the parity of N={n} "
               f"({'odd' if n % 2 else 'even'})")
    ok = isinstance(sz_total, (int, float, np.integer, np.floating)) and not isinstance(sz_total, bool) \
        and np.isfinite(sz_total) and float(2 * sz_total).is_integer()
    if not ok or abs(2 * sz_total) > n or (int(2 * sz_total) - n) % 2:
        raise ValueError(f"{where}: sz_total must be {allowed}, got {sz_total!r}")
    return int(2 * sz_total)


def _member(run: SectorRun):
    from .state import _right_canonical

    return {"two_m": run.two_m, "arrays": _right_canonical(lpr_arrays(run.psi)), "psi": run.psi,
            "disc": float(sum(run.weights[-1])) if run.weights else 0.0, "converged": run.converged,
            "energy": run.energy}


class _Search:
    """The sector runs of one U(1) ground-state search: the model, schedules and the runs done so far."""

    def __init__(self, model, tm, sched, kw, shared, degeneracy_tol, two_m_req):
        from .exact import _su2_no_field

        self.model, self.tm, self.sched, self.kw, self.shared = model, tm, sched, kw, shared
        self.n = model.n_sites
        self.chi_c = min(sched[-1], shared.GAP_CHECK_BOND)
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
        return run_sector(self.tm, self.model, two_m, [self.chi_c], max_sweeps=self.shared.GAP_SWEEPS,
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
        max_drop = 0.0
        while True:
            # refine (full schedule) every sector whose cheap energy lies within twice the largest cheap ->
            # full drop seen so far of the best refined energy, the lowest cheap energies first
            best = min((r.energy for r in self.scanned), default=np.inf)
            done = {r.two_m for r in self.scanned}
            todo = [tw for tw in sorted(self.cheap_e, key=self.cheap_e.get)
                    if tw not in done and self.cheap_e[tw] < best + 2 * max_drop + self.degeneracy_tol]
            if not todo:
                break
            self.scanned.append(self.full(todo[0], log="dmrg-scan"))
            max_drop = max(max_drop, self.cheap_e[todo[0]] - self.scanned[-1].energy)
        while True:
            # and the neighbours S^z ± 1 of the best sector, until both are refined: a less polarised
            # neighbour's cheap run can miss by more than the margin above (more entanglement)
            best = min(self.scanned, key=lambda r: r.energy).two_m
            done = {r.two_m for r in self.scanned}
            nb = [tw for tw in (best - 2, best + 2) if tw in self.cheap_e and tw not in done]
            if not nb:
                break
            self.scanned.extend(self.full(tw, log="dmrg-scan") for tw in nb)
        main = min(self.scanned, key=lambda r: r.energy)
        for h in range(main.n_sweeps):  # the chosen sector's sweeps, as solver "dmrg"
            log_sweep("dmrg", main, h)
        return main, "scan"

    def _refine(self, two_m, orth, e0):
        """A partner candidate along the full schedule; None (and its energy noted) when above the window.

        The run follows the main run's bond ramp and stops early once, after two half sweeps at a bond
        ``b``, its energy lies above ``e0`` by more than ``1e-3 + 10 err_b`` (``err_b``: how far the main run
        was above ``e0`` at that bond): clearly gapped, the cheap-check rule applied at every bond.
        """
        sh = self.shared
        err = {}
        for e, b in zip(self.main.energies, self.main.bond_dims):
            err[b] = max(e - e0, 0.0)  # the last energy at each bond

        def stop(run):
            h = run.n_sweeps - 1
            b = run.bond_dims[h]
            return h >= 1 and run.bond_dims[h - 1] == b and b in err and run.energies[h] - e0 > 1e-3 + 10 * err[b]

        r = self.full(two_m, orth, sweeps=sh.GAP_REFINE_SWEEPS + len(self.sched), log="dmrg-partner", stop=stop)
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
        cap = self.shared.MAX_MANIFOLD
        chi_c = self.chi_c
        self.main = main
        at_c = [e for e, b in zip(main.energies, main.bond_dims) if b == chi_c]
        close = 1e-3 + 10 * max((at_c[-1] - e0) if at_c else 0.0, 0.0)
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
                    degenerate, degeneracy_tol, sz_total, t0, shared):
    """The U(1) path of :func:`macrobell.tn.dmrg.dmrg_ground_state` (options already validated).

    ``shared``: the dense path's schedule, constants and helpers, handed in by :mod:`macrobell.tn.dmrg`
    (so that this module never imports it: one-way imports) — attributes ``schedule``, ``warn``,
    ``mixture``, ``GAP_CHECK_BOND``, ``MAX_MANIFOLD``, ``VARIANCE_TOL_PER_SITE``, ``GAP_SWEEPS``,
    ``GAP_REFINE_SWEEPS``.
    """
    import time

    from .mpo import model_to_mpo, mpo_arrays
    from .state import Diagnostics, MPSState

    _warn, _mixture = shared.warn, shared.mixture
    MAX_MANIFOLD, VARIANCE_TOL_PER_SITE = shared.MAX_MANIFOLD, shared.VARIANCE_TOL_PER_SITE
    n = model.n_sites
    two_m_req = check_sz_total("dmrg_ground_state", model, sz_total)
    tm = tenpy_model(model)
    ham = model_to_mpo(model)
    sched = shared.schedule(bond_dim, bool(ramp))
    tol_total = tol * n
    messages = []
    kw = dict(cutoff=cutoff, tol_total=tol_total, algorithm=algorithm, verbosity=verbosity, max_sweeps=max_sweeps)
    search = _Search(model, tm, sched, kw, shared, degeneracy_tol, two_m_req)
    # 1. the sector of the ground state
    main, sector_mode = search.lowest_sector()
    scanned, cheap_e = search.scanned, search.cheap_e

    t_dmrg = time.perf_counter() - t0
    # 2. the returned state: exact conversion to a quimb MPS in MPS order, checked against our own MPO
    t1 = time.perf_counter()
    first = _member(main)
    psi_q = quimb_mps(first["arrays"])
    # block-sparse contraction of macrobell's MPO with the converted arrays (before the QR re-gauging of
    # _right_canonical, which may mix the charge blocks; it is exact)
    energy = blocked_expectation(lpr_arrays(main.psi), bond_charges(main.psi), mpo_arrays(ham))
    if abs(energy - main.energy) > 1e-10 * max(1.0, abs(energy)):
        raise RuntimeError(f"dmrg_ground_state (U(1)): <H> of the converted MPS {energy!r} differs from the "
                           f"engine's {main.energy!r}; the TeNPy -> quimb conversion is wrong")
    t_check = time.perf_counter() - t1
    t1 = time.perf_counter()
    var = variance(tm, main.psi, main.energy)
    t_var = time.perf_counter() - t1
    var_limit = VARIANCE_TOL_PER_SITE * n
    converged = main.converged
    reasons = []
    if not main.converged:
        last = abs(main.energies[-1] - main.energies[-2]) if main.n_sweeps > 1 else float("nan")
        reasons.append(f"energy not converged to tol={tol:g} per site (max_sweeps={max_sweeps} reached) in "
                       f"{main.n_sweeps} sweeps (last change {last:.3g})")
    if var > var_limit:
        reasons.append(f"energy variance {var:.3g} > {var_limit:.3g} (= {VARIANCE_TOL_PER_SITE:g} N)")
    if reasons:
        converged = False
        _warn(messages, f"dmrg_ground_state ({model.name}, N={n}, bond_dim={bond_dim}, U(1) sector "
                        f"S^z={main.two_m / 2:g}): " + "; ".join(reasons), stacklevel=4)

    # 3. the ground manifold: in-sector partners (orthogonal runs), spin-flip partners, neighbouring sectors
    members, t_gap = [first], 0.0
    if degenerate != "ignore" and n >= 2:
        t1 = time.perf_counter()
        members = search.manifold(first, main, energy)
        t_gap = time.perf_counter() - t1
    complete = len(members) < MAX_MANIFOLD  # the search stops there: the manifold may be larger
    gap_est, gap_runs, gap_ok = search.gap_est, search.gap_runs, search.gap_ok
    dim = len(members)
    gap = float(min(gap_est)) if gap_est else float("nan")
    if degenerate != "ignore" and not complete:
        gap = float("nan")
    if degenerate == "mix" and not complete:
        converged = False
        _warn(messages, f"dmrg_ground_state ({model.name}, N={n}): the ground manifold has at least {dim} states "
                        f"(the search stops at MAX_MANIFOLD={MAX_MANIFOLD}); their mixture is not the T -> 0 limit",
              stacklevel=4)
    if dim > 1 and degenerate == "mix" and not gap_ok:
        converged = False
        _warn(messages, f"dmrg_ground_state ({model.name}, N={n}): a partner state of the degenerate ground "
                        f"manifold did not converge to tol={tol:g} per site; the mixture is approximate", stacklevel=4)
    if dim > 1 and degenerate == "warn":
        sectors = sorted({m["two_m"] / 2 for m in members})
        _warn(messages, f"dmrg_ground_state ({model.name}, N={n}): degenerate ground manifold: "
                        f"{dim if complete else f'at least {dim}'} orthogonal states within "
                        f"degeneracy_tol={degeneracy_tol:g} of E0 (S^z sectors {sectors}; next gap <= {gap:.3g}); "
                        "DMRG returns one of them, the exact backend their equal mixture. Use degenerate='mix' for "
                        "the mixture, or T > 0.", stacklevel=4)

    state = MPSState(lattice=model.lattice, model=model, temperature=0.0, mps=psi_q, purified=False)
    state.energy = energy
    last = main.weights[-1] if main.weights else []
    info = {
        "method": "dmrg",
        "engine": "tenpy-u1",
        "conserve": "Sz",
        "sz_total": main.two_m / 2,
        "sz_sector_mode": sector_mode,
        "sector_energies": {r.two_m / 2: r.energy for r in scanned} or {main.two_m / 2: main.energy},
        "sector_energies_cheap": {k / 2: v for k, v in cheap_e.items()},
        "engine_energy": main.energy,
        "degenerate_manifold": None if degenerate == "ignore" else dim > 1,
        "ground_manifold_dim": None if degenerate == "ignore" else dim,
        "ground_manifold_complete": None if degenerate == "ignore" else complete,
        "ground_manifold_sectors": None if degenerate == "ignore" else [m["two_m"] / 2 for m in members],
        "gap": None if degenerate == "ignore" else gap,
        "gap_check_sweeps": gap_runs,
        "gap_check_s": t_gap,
        # wall time of the sweeps (model and MPO builds included), of the conversion and its <H> check with
        # macrobell's MPO, of the exact variance (TeNPy's block-sparse MPO)
        "timings": {"dmrg_s": t_dmrg, "check_s": t_check, "variance_s": t_var},
        "algorithm": algorithm,
        "energies": list(main.energies),
        "variance": var,
        "sweeps": main.n_sweeps,
        "max_discarded_weight": max(last, default=0.0),
        "discarded_weights": [float(sum(w)) for w in main.weights],
        "bond_dims": list(main.bond_dims),
        "bond_dim": bond_dim,
        "cutoff": cutoff,
        "tol": tol,
        "tol_total": tol_total,
        "stopped_by": "tolerance" if main.converged else "max_sweeps",
        "seed": seed,
        "mpo_bond": int(ham.max_bond()),
    }
    state.diagnostics = Diagnostics(converged=bool(converged), energy=energy, energy_variance=var,
                                    discarded_weight=float(sum(last)), max_bond=int(psi_q.max_bond()),
                                    n_sweeps=main.n_sweeps, elapsed_s=time.perf_counter() - t0, warnings=messages,
                                    extra=info)
    if dim == 1 or degenerate != "mix":
        return state
    partners = [(m["arrays"], m["disc"]) for m in members[1:]]
    return _mixture(model, state, partners, ham, bool(converged), messages)



def bond_charges(psi) -> list:
    """The charge (``2 S^z`` of the left part, TeNPy's convention) of every index of bonds ``0 … L``."""
    out = [np.asarray(psi.get_B(0, form="B").get_leg("vL").to_qflat())[:, 0]]
    for k in range(psi.L):
        out.append(np.asarray(psi.get_B(k, form="B").get_leg("vR").to_qflat())[:, 0])
    return out


def blocked_expectation(arrays: list, charges: list, W: list) -> float:
    """``<ψ|H|ψ>`` of dense MPS ``arrays`` ``(χl, d, χr)`` whose bond indices carry ``charges``, contracted
    only over the nonzero charge blocks; ``W`` are macrobell's MPO arrays ``(Dl, Dr, out, in)``.

    The same contraction as :func:`macrobell.tn.mpo.mpo_expectation` (any MPO: the environment blocks are
    keyed by the bra and ket charges the MPO actually connects), with the dense χ³ GEMMs split into the
    blocks of a U(1)-symmetric state; which blocks are nonzero is read from the data, so the charges only
    have to group the indices (no sign convention is assumed).
    """
    F = {(charges[0][0], charges[0][0]): np.ones((1, 1, 1))}
    idx = [{q: np.flatnonzero(c == q) for q in np.unique(c)} for c in charges]
    for k, (A, Wk) in enumerate(zip(arrays, W)):
        left, right = idx[k], idx[k + 1]
        blocks = {}  # (q_l, s) -> (q_r, A block)
        for ql, il in left.items():
            for s in range(A.shape[1]):
                for qr, ir in right.items():
                    b = A[np.ix_(il, [s], ir)][:, 0]
                    if np.any(b):
                        blocks.setdefault((ql, s), []).append((qr, b))
        new = {}
        for (qb, qk), f in F.items():
            for s in range(A.shape[1]):
                for qk2, ak in blocks.get((qk, s), ()):
                    t = np.tensordot(f, ak, ([2], [0]))                    # b w k'
                    for s2 in range(A.shape[1]):
                        w = Wk[:, :, s2, s]
                        if not np.any(w):
                            continue
                        t2 = np.tensordot(t, w, ([1], [0]))                # b k' w'
                        for qb2, ab in blocks.get((qb, s2), ()):
                            out = np.tensordot(ab.conj(), t2, ([0], [0])).transpose(0, 2, 1)  # b' w' k'
                            key = (qb2, qk2)
                            new[key] = new[key] + out if key in new else out
        F = new
    return float(np.real(sum(f.sum() for f in F.values())))
