"""Public entry points of the tensor-network layer: one interface, several backends.

``ground_state`` / ``thermal_states`` validate the request, then hand it to
the solver of the backend registered under ``method`` (:mod:`.registry`). Backend options
are keyword arguments; an unknown option is a ``ValueError`` that lists the
allowed ones.
"""

from __future__ import annotations

from macrobell._threads import pin_threads
from macrobell.lattice import Lattice, SpinModel

from . import registry
from ._checks import call_backend as _call_backend
from ._checks import check_model, check_temperatures
from .state import DenseState, MPSState, State

__all__ = ["ground_state", "thermal_states", "from_dense", "from_quimb", "GROUND_METHODS", "THERMAL_METHODS"]


def __getattr__(name):
    # GROUND_METHODS / THERMAL_METHODS: read from the registry, so registered backends appear in them
    if name == "GROUND_METHODS":
        return registry.ground_methods()
    if name == "THERMAL_METHODS":
        return registry.thermal_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def ground_state(model: SpinModel, method: str = "exact", **options) -> State:
    """Ground state of ``model``.

    Parameters
    ----------
    model : SpinModel
    method : str
        A backend with a ground-state solver (:func:`.registry.ground_methods`); built in:
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
    b = registry.get_backend(method, "ground_state", list(registry.ground_methods()))
    return _call_backend(b.ground, f"ground_state(method={method!r})", model, **options)


def thermal_states(model: SpinModel, temperatures, method: str = "exact", **options) -> list:
    """Thermal states ``ρ = e^{−H/T} / Z`` for each temperature, in the order given.

    ``T = 0`` gives the ground state. One diagonalisation (``"exact"``) or one
    imaginary-time evolution (``"purification"``) serves every temperature.

    Parameters
    ----------
    model : SpinModel
    temperatures : sequence of float
        Temperatures in units of the coupling, k_B = 1; each must be ≥ 0.
    method : str
        A backend with a thermal solver (:func:`.registry.thermal_methods`); built in:
        ``"exact"`` and ``"purification"``.
    **options
        Backend settings (e.g. ``bond_dim``, ``dtau``, ``order``,
        ``error_tol`` for purification).
    """
    pin_threads()
    check_model(model, "thermal_states")
    temps = check_temperatures(temperatures)
    b = registry.get_backend(method, "thermal_states", list(registry.thermal_methods()))
    return _call_backend(b.thermal, f"thermal_states(method={method!r})", model, temps, **options)


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
