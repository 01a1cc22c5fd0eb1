"""Wrapping user-supplied quimb MPS as :class:`~macrobell.tn.state.MPSState`.

A quimb ``MatrixProductState`` given by a user has site ``k`` = lattice site
``k``. macrobell keeps MPS in the lattice's MPS order (``lattice.order``; a
snake through 2D lattices), so a non-identity order is applied here by
compressed adjacent swaps (quimb ``swap_site_to``, discarding only singular
values below 1e-14 relative), once.
"""

from __future__ import annotations

import numpy as np

from macrobell.lattice import Lattice, SpinModel

from .state import Diagnostics, MPSState

__all__ = ["mps_state_from_quimb", "reorder_mps", "SWAP_CUTOFF"]

#: Relative singular-value cutoff of the adjacent swaps used to reorder an MPS.
SWAP_CUTOFF = 1e-14


def reorder_mps(mps, order):
    """Return a copy of ``mps`` whose site ``k`` holds the input's site ``order[k]``."""
    psi = mps.copy()
    current = list(range(psi.L))  # current[k] = input site now at position k
    for k, want in enumerate(np.asarray(order, dtype=int)):
        cur = current.index(int(want))
        if cur != k:
            psi.swap_site_to_(cur, k, cutoff=SWAP_CUTOFF, cutoff_mode="rel")
            current.insert(k, current.pop(cur))
    return psi


def _phys_dims(mps) -> list:
    return [int(mps.phys_dim(k)) for k in range(mps.L)]


def mps_state_from_quimb(mps, lattice: Lattice, model: SpinModel | None = None,
                         purified: bool | None = None) -> MPSState:
    """Wrap a quimb MPS in *lattice* order as an :class:`MPSState` (in MPS order).

    Parameters
    ----------
    mps : quimb.tensor.MatrixProductState
        Site ``k`` is lattice site ``k``; open boundaries.
    lattice : Lattice
    model : SpinModel, optional
        If given, ``energy`` is set to ``<H>`` (MPO expectation value).
    purified : bool, optional
        ``True``: local dimension 4, index ``s = 2 p + a`` (physical ``p``,
        ancilla ``a``). ``None``: inferred from the local dimension (2 or 4).

    Returns
    -------
    MPSState
        Normalised copy in the lattice's MPS order, ``temperature = nan``.
        ``diagnostics``: ``converged=True`` (no solver ran), ``energy`` and
        ``energy_variance`` (``<H²> − <H>²``, from the MPO) when ``model`` is
        given (else ``nan``), ``discarded_weight`` (``0`` without reordering;
        else the weight the reordering swaps lost, ``1 − ‖ψ'‖²/‖ψ‖²``, each swap
        being a truncated SVD at the orthogonality centre), ``max_bond``,
        ``n_sweeps = None``; ``extra``: ``method="from_quimb"``, ``reordered``.
    """
    import quimb.tensor as qtn

    if not isinstance(lattice, Lattice):
        raise ValueError(f"from_quimb: lattice must be a macrobell.lattice.Lattice, got {type(lattice).__name__}")
    if not isinstance(mps, qtn.MatrixProductState):
        raise ValueError(f"from_quimb: mps must be a quimb.tensor.MatrixProductState, got {type(mps).__name__}")
    if getattr(mps, "cyclic", False):
        raise ValueError("from_quimb: mps must have open boundaries (cyclic=False)")
    n = lattice.n_sites
    if mps.L != n:
        raise ValueError(f"from_quimb: the MPS has length {mps.L} but the lattice has {n} sites")
    dims = _phys_dims(mps)
    if len(set(dims)) != 1 or dims[0] not in (2, 4):
        raise ValueError(f"from_quimb: local dimension must be 2 (spins) or 4 (purification) on every site, "
                         f"got {sorted(set(dims))}")
    d = dims[0]
    if purified is None:
        purified = d == 4
    purified = bool(purified)
    if d != (4 if purified else 2):
        raise ValueError(f"from_quimb: local dimension {d} does not match purified={purified} "
                         f"(expected {4 if purified else 2})")
    if model is not None:
        if not isinstance(model, SpinModel):
            raise ValueError(f"from_quimb: model must be a SpinModel, got {type(model).__name__}")
        if model.lattice.n_sites != n:
            raise ValueError(f"from_quimb: model has {model.lattice.n_sites} sites, the lattice {n}")

    order = lattice.order
    reordered = not np.array_equal(order, np.arange(n))
    nrm0 = float(mps.norm()) if reordered else None
    psi = reorder_mps(mps, order) if reordered else mps.copy()
    nrm = psi.norm()
    if not np.isfinite(nrm) or nrm == 0:
        raise ValueError(f"from_quimb: the MPS has norm {nrm}; cannot normalise")
    disc = max(0.0, 1.0 - (float(nrm) / nrm0) ** 2) if reordered else 0.0
    psi /= nrm
    state = MPSState(lattice=lattice, model=model, temperature=float("nan"), mps=psi, purified=purified)
    energy = variance = None
    if model is not None:
        from .mpo import model_to_mpo, mpo_moments

        e, e2 = mpo_moments(state.arrays(), model_to_mpo(model), purified=purified)
        energy = float(np.real(e))
        variance = float(np.real(e2)) - energy ** 2
    state.energy = energy
    state.diagnostics = Diagnostics(converged=True, energy=energy, energy_variance=variance, discarded_weight=disc,
                                    max_bond=int(psi.max_bond()),
                                    extra={"method": "from_quimb", "reordered": bool(reordered)})
    return state
