"""What the dense (quimb) and U(1) (TeNPy) DMRG engines share: schedule, stopping rule, checks, records.

Private to :mod:`macrobell.tn.dmrg` and its engines (:mod:`macrobell.tn._dmrg_u1_search`); it imports
neither, so both can use it (one-way imports). Conventions are those of
:func:`macrobell.tn.dmrg.dmrg_ground_state`: energies in units of the coupling, ``tol`` per site,
half sweeps alternating right / left.
"""

from __future__ import annotations

import time
import warnings

from .state import ConvergenceWarning, Diagnostics

#: A ground state whose energy variance exceeds this × N is flagged unconverged.
VARIANCE_TOL_PER_SITE = 1e-5
_RAMP_START = 16


def warn(messages: list, text: str, stacklevel: int = 3) -> None:
    """Issue a :class:`ConvergenceWarning` and keep its message for ``diagnostics.warnings``."""
    messages.append(text)
    warnings.warn(text, ConvergenceWarning, stacklevel=stacklevel)


def schedule(bond_dim: int, ramp: bool) -> list:
    """Bond dimension per half sweep: ``16, 16, 32, 32, …`` below ``bond_dim``, then ``bond_dim``."""
    if not ramp:
        return [bond_dim]
    seq, b = [], _RAMP_START
    while b < bond_dim:
        seq += [b, b]
        b *= 2
    return seq + [bond_dim]


def sweep_converged(h: int, energies: list, n_sched: int, tol_total: float) -> bool:
    """The stopping rule of both engines after half sweep ``h`` (0-based).

    Converged once two half sweeps ran at the final bond dimension (``h >= n_sched``, the schedule's
    length) and the energy changed by less than ``tol_total`` (``tol · N``: the energy is extensive, so a
    per-site tolerance keeps the rule meaningful from 8 to 10^3 sites).
    """
    return h >= n_sched and abs(energies[-1] - energies[-2]) < tol_total


def check_convergence(messages: list, header: str, converged: bool, energies: list, variance: float, n: int,
                      tol: float, max_sweeps: int, stacklevel: int) -> bool:
    """``converged`` and the variance check: False (with one :class:`ConvergenceWarning` that names every
    reason, prefixed by ``header``) when the sweeps hit ``max_sweeps`` or ``variance`` exceeds
    :data:`VARIANCE_TOL_PER_SITE` · N."""
    var_limit = VARIANCE_TOL_PER_SITE * n
    reasons = []
    if not converged:
        last = abs(energies[-1] - energies[-2]) if len(energies) > 1 else float("nan")
        reasons.append(f"energy not converged to tol={tol:g} per site (max_sweeps={max_sweeps} reached) in "
                       f"{len(energies)} sweeps (last change {last:.3g})")
    if variance > var_limit:
        reasons.append(f"energy variance {variance:.3g} > {var_limit:.3g} (= {VARIANCE_TOL_PER_SITE:g} N)")
    if reasons:
        warn(messages, header + ": " + "; ".join(reasons), stacklevel=stacklevel + 1)
        return False
    return converged


def gap_window(err: float) -> float:
    """Energy above ``E0`` beyond which a partner candidate counts as clearly gapped: ``1e-3 + 10 err``
    (``err``: how far the main run was above ``E0`` at the candidate's bond dimension)."""
    return 1e-3 + 10 * max(err, 0.0)


def error_at_bond(energies: list, bond_dims: list, bond: int, e0: float) -> float:
    """How far the main run's last energy at bond dimension ``bond`` lies above ``e0`` (0 if none ran)."""
    at = [e for e, b in zip(energies, bond_dims) if b == bond]
    return (at[-1] - e0) if at else 0.0


def manifold_warnings(messages: list, where: str, *, dim: int, complete: bool, gap_ok: bool, degenerate: str,
                      degeneracy_tol: float, gap: float, tol: float, converged: bool, max_manifold: int,
                      refine_note: str = "", sectors: str = "", stacklevel: int) -> bool:
    """The warnings of a degenerate ground manifold (``where`` names the run); returns ``converged``.

    ``"mix"`` with an incomplete search (``MAX_MANIFOLD`` states found) or a partner that did not converge
    flags ``converged=False``; ``"warn"`` says the returned state is one member of ``dim``.
    ``refine_note`` / ``sectors``: the engine's extra words in the messages.
    """
    sl = stacklevel + 1
    if dim > 1 and degenerate == "mix" and not complete:
        converged = False
        warn(messages, f"{where}: the ground manifold has at least {dim} states "
                       f"(the search stops at MAX_MANIFOLD={max_manifold}); their mixture is not the T -> 0 limit",
             stacklevel=sl)
    if dim > 1 and degenerate == "mix" and not gap_ok:
        converged = False
        warn(messages, f"{where}: a partner state of the degenerate ground "
                       f"manifold did not converge to tol={tol:g} per site{refine_note}; the mixture is approximate",
             stacklevel=sl)
    if dim > 1 and degenerate == "warn":
        warn(messages, f"{where}: degenerate ground manifold: "
                       f"{dim if complete else f'at least {dim}'} orthogonal states within "
                       f"degeneracy_tol={degeneracy_tol:g} of E0 ({sectors}next gap <= {gap:.3g}); "
                       "DMRG returns one of them, the exact backend their equal mixture. Use degenerate='mix' for "
                       "the mixture, or T > 0.", stacklevel=sl)
    return converged


def manifold_info(degenerate: str, dim: int, complete: bool, gap: float, sectors=None) -> dict:
    """The ground-manifold keys of ``info`` (``None`` with ``degenerate="ignore"``)."""
    skip = degenerate == "ignore"
    out = {"degenerate_manifold": None if skip else dim > 1,
           "ground_manifold_dim": None if skip else dim,
           "ground_manifold_complete": None if skip else complete}
    if sectors is not None:
        out["ground_manifold_sectors"] = None if skip else sectors
    out["gap"] = None if skip else float(gap)
    return out


def sweep_info(*, algorithm, energies, variance, sweep_weights, bond_dims, bond_dim, cutoff, tol, tol_total,
               converged, seed, mpo_bond) -> dict:
    """The per-sweep and option keys of ``info`` (the module docstring of :mod:`macrobell.tn.dmrg`).

    ``sweep_weights``: per half sweep, the discarded weights of its splits; ``converged``: the stopping
    rule's verdict (``stopped_by``), not the final flag.
    """
    last = sweep_weights[-1] if sweep_weights else []
    return {
        "algorithm": algorithm,
        "energies": list(energies),
        "variance": variance,
        "sweeps": len(energies),
        "max_discarded_weight": max(last, default=0.0),
        "discarded_weights": [float(sum(w)) for w in sweep_weights],
        "bond_dims": list(bond_dims),
        "bond_dim": bond_dim,
        "cutoff": cutoff,
        "tol": tol,
        "tol_total": tol_total,
        "stopped_by": "tolerance" if converged else "max_sweeps",
        "seed": seed,
        "mpo_bond": mpo_bond,
    }


def diagnostics(*, converged, energy, variance, sweep_weights, max_bond, t0, messages, info) -> Diagnostics:
    """The returned state's record: ``discarded_weight`` of the final half sweep, time since ``t0``."""
    last = sweep_weights[-1] if sweep_weights else []
    return Diagnostics(converged=bool(converged), energy=energy, energy_variance=variance,
                       discarded_weight=float(sum(last)), max_bond=int(max_bond), n_sweeps=len(info["energies"]),
                       elapsed_s=time.perf_counter() - t0, warnings=messages, extra=info)


def quimb_mps(arrays: list):
    """A quimb ``MatrixProductState`` from ``(χl, 2, χr)`` arrays (MPS order kept)."""
    import quimb.tensor as qtn

    if len(arrays) == 1:
        return qtn.MatrixProductState([arrays[0][0, :, 0]], shape="lrp")
    arrs = [arrays[0][0]] + list(arrays[1:-1]) + [arrays[-1][..., 0]]
    return qtn.MatrixProductState(arrs, shape="lpr")
