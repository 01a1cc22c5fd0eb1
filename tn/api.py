"""Public entry points of the tensor-network layer: one interface, several backends.

``ground_state`` / ``thermal_states`` validate the request, then hand it to
the backend module (``exact``, ``dmrg``, ``purification``, ``peps``). Backend options
are keyword arguments; an unknown option is a ``ValueError`` that lists the
allowed ones.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np

from macrobell.lattice import Lattice, SpinModel

from ._checks import check_model
from .state import DenseState, MPSState, State

__all__ = ["ground_state", "thermal_states", "from_dense", "from_quimb", "GROUND_METHODS", "THERMAL_METHODS"]

GROUND_METHODS = ("exact", "dmrg", "peps")
THERMAL_METHODS = ("exact", "purification")


def _call_backend(func, where: str, *args, **kwargs):
    sig = inspect.signature(func)
    allowed = [p.name for p in list(sig.parameters.values())[len(args):]
               if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {unknown}; allowed: {allowed}")
    # Solver warnings (non-convergence, truncation) are re-issued at the
    # user's call site instead of pointing inside macrobell.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(*args, **kwargs)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=3)
    return result


def ground_state(model: SpinModel, method: str = "exact", **options) -> State:
    """Ground state of ``model``.

    Parameters
    ----------
    model : SpinModel
    method : {"exact", "dmrg", "peps"}
        ``"exact"``: Lanczos on the sparse Hamiltonian (degenerate ground
        manifolds give their equal mixture, the T → 0 limit).
        ``"dmrg"``: quimb DMRG on the model's MPO in the lattice's MPS order;
        a (near-)degenerate ground manifold is detected and warned about, or
        returned as its equal mixture (a :class:`~macrobell.tn.state.MixtureState`)
        with ``degenerate="mix"``.
        ``"peps"``: quimb PEPS simple update on open square/ladder lattices
        (nearest-neighbour terms), boundary contraction for observables.
    **options
        Backend settings (e.g. ``bond_dim``, ``cutoff``, ``tol``,
        ``max_sweeps``, ``seed``, ``degenerate`` for DMRG).

    Returns
    -------
    State
        With ``.energy`` and ``.info`` diagnostics (``converged`` among them;
        what it certifies is documented per backend).
    """
    check_model(model, "ground_state")
    if method == "exact":
        from .exact import exact_ground_state
        return _call_backend(exact_ground_state, "ground_state(method='exact')", model, **options)
    if method == "dmrg":
        from .dmrg import dmrg_ground_state
        return _call_backend(dmrg_ground_state, "ground_state(method='dmrg')", model, **options)
    if method == "peps":
        from .peps import peps_ground_state
        return _call_backend(peps_ground_state, "ground_state(method='peps')", model, **options)
    raise ValueError(f"ground_state: unknown method {method!r}; allowed: {list(GROUND_METHODS)}")


def check_temperatures(temperatures, where: str = "thermal_states") -> list:
    """Validate a list of temperatures (finite, ≥ 0, non-empty) and return floats."""
    if isinstance(temperatures, (int, float, np.integer, np.floating)) and not isinstance(temperatures, bool):
        temperatures = [temperatures]
    try:
        temps = [float(t) for t in temperatures]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: temperatures must be a list of numbers >= 0, got {temperatures!r}") from None
    if not temps:
        raise ValueError(f"{where}: temperatures is empty; give at least one T >= 0")
    bad = [t for t in temps if not (math.isfinite(t) and t >= 0)]
    if bad:
        raise ValueError(f"{where}: temperatures must be finite and >= 0 (T = 0 is the ground state), got {bad}")
    return temps


def thermal_states(model: SpinModel, temperatures, method: str = "exact", **options) -> list:
    """Thermal states ``ρ = e^{−H/T} / Z`` for each temperature, in the order given.

    ``T = 0`` gives the ground state. One diagonalisation (``"exact"``) or one
    imaginary-time evolution (``"purification"``) serves every temperature.

    Parameters
    ----------
    model : SpinModel
    temperatures : sequence of float
        Temperatures in units of the coupling, k_B = 1; each must be ≥ 0.
    method : {"exact", "purification"}
    **options
        Backend settings (e.g. ``bond_dim``, ``dtau``, ``order``,
        ``error_tol`` for purification).
    """
    check_model(model, "thermal_states")
    temps = check_temperatures(temperatures)
    if method == "exact":
        from .exact import exact_thermal_states
        return _call_backend(exact_thermal_states, "thermal_states(method='exact')", model, temps, **options)
    if method == "purification":
        from .purification import purification_thermal_states
        return _call_backend(purification_thermal_states, "thermal_states(method='purification')",
                             model, temps, **options)
    raise ValueError(f"thermal_states: unknown method {method!r}; allowed: {list(THERMAL_METHODS)}")


def from_dense(array, lattice: Lattice, model: SpinModel | None = None) -> DenseState:
    """Wrap a state vector (2^N) or density matrix (2^N × 2^N) on ``lattice``.

    The array is validated (size, finite, normalisable; a matrix must be
    Hermitian and positive semi-definite) and normalised.
    """
    from .exact import dense_state_from_array
    return dense_state_from_array(array, lattice, model=model)


def from_quimb(mps, lattice: Lattice, model: SpinModel | None = None, purified: bool | None = None) -> MPSState:
    """Wrap a quimb ``MatrixProductState`` whose site ``k`` is lattice site ``k``.

    The MPS is reordered internally into the lattice's MPS order if that
    differs from the identity. Local dimension 2 (spins) or 4 (a purification,
    physical ⊗ ancilla) is accepted.
    """
    from .mps_state import mps_state_from_quimb
    return mps_state_from_quimb(mps, lattice, model=model, purified=purified)
