"""Public entry points of the tensor-network layer: one interface, several backends.

``ground_state`` / ``thermal_states`` validate the request, then hand it to
the backend module (``exact``, ``dmrg``, ``purification``, ``peps``). Backend options
are keyword arguments; an unknown option is a ``ValueError`` that lists the
allowed ones.
"""

from __future__ import annotations

from macrobell._threads import pin_threads
from macrobell.lattice import Lattice, SpinModel

from ._checks import call_backend as _call_backend
from ._checks import check_model, check_temperatures
from .state import DenseState, MPSState, State

__all__ = ["ground_state", "thermal_states", "from_dense", "from_quimb", "GROUND_METHODS", "THERMAL_METHODS"]

GROUND_METHODS = ("exact", "dmrg", "peps")
THERMAL_METHODS = ("exact", "purification")


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
    pin_threads()
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
    pin_threads()
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
