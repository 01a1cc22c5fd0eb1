"""U(1)-symmetric DMRG engine: TeNPy's charge-conserving DMRG, driven half sweep by half sweep.

Private to :mod:`macrobell.tn.dmrg` (which registers the one backend
``"dmrg"`` and decides when this engine runs, :func:`use_u1`); the driver
(sector scan, ground manifold, record) is :mod:`macrobell.tn._dmrg_u1_search`. When H commutes with
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
import warnings
from dataclasses import dataclass, field

import numpy as np

from macrobell.lattice import SpinModel

from ._dmrg_common import quimb_mps, sweep_converged  # noqa: F401  (quimb_mps: re-exported)
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
    the final bond dimension), the dense path's rule (:func:`macrobell.tn._dmrg_common.sweep_converged`).
    Each half sweep is logged (``log_sweep``) under ``log_solver`` (None: not logged). ``stop(run)``, if
    given, is asked after every half sweep whether to end the run early (``run.stopped_early``; not
    converged).
    """
    from tenpy.networks.mps import MPS

    n = model.n_sites
    psi = MPS.from_product_state(tmodel.lat.mps_sites(), product_labels(model, two_m), bc="finite",
                                 unit_cell_width=n)
    # one-site DMRG grows bonds only through the mixer (subspace expansion): keep it on for the whole ramp
    n_mix = max(len(sched) - 1, 2) if algorithm == "dmrg2" else max(len(sched) + 1, 4)
    Engine = _engine_class(algorithm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eng = Engine(psi, tmodel, _engine_options(sched, cutoff), orthogonal_to=list(orthogonal_to or []))
    run = SectorRun(two_m=two_m, psi=psi)
    eng.mixer_activate()
    for h in range(max_sweeps):
        bd = int(sched[min(h, len(sched) - 1)])
        _half_sweep(eng, run, h, bd, mixer_on=h < n_mix)
        if log_solver:
            log_sweep(log_solver, run, h)
        if verbosity:
            print(f"dmrg[U(1){label} 2Sz={two_m}] sweep {h + 1} ({eng.half}) max_bond={max(psi.chi)}/{bd} "
                  f"E={run.energies[-1]:.12f}", flush=True)
        if sweep_converged(h, run.energies, len(sched), tol_total):
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


def _engine_options(sched: list, cutoff: float) -> dict:
    """TeNPy engine options: truncation ``Σ s² ≤ cutoff`` (``trunc_cut = √cutoff``; none for 0) at
    ``sched[0]``, the density-matrix mixer on (switched off by the caller)."""
    opts = {"trunc_params": {"chi_max": int(sched[0]), "svd_min": 1e-14, "trunc_cut": float(np.sqrt(cutoff))
                             if cutoff > 0 else None},
            "mixer": True,
            "mixer_params": {"amplitude": 1e-5, "decay": 2.0, "disable_after": 10 ** 6},
            "combine": True}
    if opts["trunc_params"]["trunc_cut"] is None:
        del opts["trunc_params"]["trunc_cut"]
    return opts


def _half_sweep(eng, run: SectorRun, h: int, bd: int, mixer_on: bool) -> None:
    """Half sweep ``h`` (right for even ``h``) at bond dimension ``bd``, recorded in ``run``."""
    eng.trunc_params["chi_max"] = bd
    if eng.mixer is not None and not mixer_on:
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
    run.max_bonds.append(int(max(run.psi.chi)))


def variance(tmodel, psi, energy: float) -> float:
    """``<H²> − <H>²`` of the TeNPy MPS (block-sparse MPO contraction)."""
    return float(np.real(tmodel.H_MPO.variance(psi, exp_val=energy)))


def lpr_arrays(psi) -> list:
    """The TeNPy MPS as right-canonical dense arrays ``(χl, 2, χr)`` in macrobell's basis (``|0> = |↑>``),
    MPS order kept (:func:`macrobell.tn.interop._tenpy_arrays`)."""
    from .interop import _tenpy_arrays

    return _tenpy_arrays(psi)


def flipped(arrays: list) -> list:
    """``∏ σ^x |ψ>``: the spin-flip partner (exact; ``S^z → −S^z``)."""
    return [a[:, ::-1].copy() for a in arrays]


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
