"""The state interface shared by every backend.

A :class:`State` knows its lattice (and model, when it came from one), its
energy, its temperature and a dict of solver diagnostics. Backends add the
data observables need:

* :class:`DenseState` — a state vector or a density matrix (exact backend).
* :class:`MPSState` — a quimb ``MatrixProductState`` in the lattice's MPS
  order, optionally a purification (local dimension 4 = physical ⊗ ancilla).

Observables dispatch on these classes; they never depend on how a state was
made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from macrobell.lattice import Lattice, SpinModel

__all__ = ["State", "DenseState", "MPSState"]


@dataclass(eq=False)
class State:
    """Common fields of every state.

    Attributes
    ----------
    lattice : Lattice
    model : SpinModel or None
        The Hamiltonian the state belongs to, when known.
    energy : float or None
        ``<H>`` in units of the coupling (S = σ/2 convention).
    temperature : float
        ``0`` for ground states, ``T > 0`` (k_B = 1) for thermal states,
        ``nan`` when unknown (a state supplied by the user).
    info : dict
        Diagnostics: ``converged``, ``method``, bond dimensions, errors, …
    """

    lattice: Lattice
    model: SpinModel | None = None
    energy: float | None = None
    temperature: float = float("nan")
    info: dict = field(default_factory=dict)

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    @property
    def beta(self) -> float:
        """Inverse temperature ``1/T`` (``inf`` at T = 0)."""
        T = self.temperature
        return float("inf") if T == 0 else 1.0 / T

    @property
    def backend(self) -> str:
        raise NotImplementedError

    def __repr__(self):
        e = "?" if self.energy is None else f"{self.energy:.10g}"
        return f"{type(self).__name__}(N={self.n_sites}, T={self.temperature}, E={e}, backend={self.backend!r})"


@dataclass(eq=False, repr=False)
class DenseState(State):
    """A dense state: ``vector`` (pure, length 2^N) or ``rho`` (2^N × 2^N).

    Basis convention: site 0 is the most significant bit, ``|0> = |↑>``.
    Exactly one of ``vector`` and ``rho`` is set.
    """

    vector: np.ndarray | None = None
    rho: np.ndarray | None = None

    @property
    def backend(self) -> str:
        return "exact"

    @property
    def is_pure(self) -> bool:
        return self.vector is not None

    def density_matrix(self) -> np.ndarray:
        """The density matrix (built from the vector if pure)."""
        if self.rho is not None:
            return self.rho
        v = self.vector
        return np.outer(v, v.conj())


@dataclass(eq=False, repr=False)
class MPSState(State):
    """A matrix product state in the lattice's MPS order.

    MPS position ``k`` holds lattice site ``lattice.order[k]``. For a
    purification (``purified=True``) each tensor has local dimension 4 with
    index ``s = 2 * p + a`` (physical ``p``, ancilla ``a``); operators act on
    ``p`` and the ancilla is traced out.
    """

    mps: object = None
    purified: bool = False

    @property
    def backend(self) -> str:
        return "mps-purification" if self.purified else "mps"

    @property
    def phys_dim(self) -> int:
        return 4 if self.purified else 2

    def arrays(self, canonical: str = "right") -> list:
        """The tensors as numpy arrays ``(χ_left, d, χ_right)`` in MPS order.

        With ``canonical="right"`` the copy is right-canonical and normalised
        (every right environment is the identity), the form the one-sweep
        correlators need; arrays are real when the imaginary part vanishes.
        """
        psi = self.mps.copy()
        L = psi.L
        if canonical == "right":
            psi.right_canonize()
            psi /= psi.norm()
        elif canonical is not None:
            raise ValueError(f"MPSState.arrays: canonical must be 'right' or None, got {canonical!r}")
        out = []
        for k in range(L):
            t = psi[k]
            inds = []
            if k > 0:
                inds.append(psi.bond(k - 1, k))
            inds.append(psi.site_ind(k))
            if k < L - 1:
                inds.append(psi.bond(k, k + 1))
            a = np.asarray(t.transpose(*inds).data)
            if k == 0:
                a = a[None]
            if k == L - 1:
                a = a[..., None]
            out.append(a)
        if all(np.iscomplexobj(a) for a in out) and max(np.abs(a.imag).max() for a in out) < 1e-14:
            out = [np.ascontiguousarray(a.real) for a in out]
        return out
