"""Whole-lattice first and second moments of the total spin, for every backend.

Conventions (Pauli, σ_0 = 1, σ_1..3 = x, y, z; S = ½ Σ_i σ^i):

* ``first[a]  = Σ_i <σ_a^i>``                      (= 2 <S_a>),
* ``second[a, b] = Σ_{i≠j} <σ_a^i σ_b^j>``          (real, symmetric).

The i = j part is known analytically, ``Σ_i <σ_a^i σ_b^i> = n δ_ab +
i ε_abc first[c]``, so ``4 <S_a S_b>_sym = second[a, b] + n δ_ab``. These are
the one- and two-body symmetric correlators of the permutation-invariant Bell
inequalities of Tura et al., Science 344, 1256 (2014).

Backends:

* dense vector: the collective operators ``Σ_i O_a^i ψ`` (numba kernel of
  :mod:`._kernels`, real basis ``{σx, iσy, σz}``) give every full moment
  ``<A_a A_b> = <A_a ψ | A_b ψ>`` in O(N 2^N);
* dense matrix: the numba pair sums (O(N² 2^N), reading only ``ρ[s, s⊕F]``);
* MPS (plain or purified): one left-to-right sweep over right-canonical
  tensors carrying the environments with 0, 1 or 2 Pauli operators already
  placed — ``L``, ``L_a`` and ``L_{ab}`` (first operator on the earlier
  site) — i.e. the K = 1, M = 2 case of the one-sweep recurrence
  (as in :mod:`.mps`): at each site

      L_{ab} ← E_1(L_{ab}) + E_{σ_b}(L_a),  L_b ← E_1(L_b) + E_{σ_b}(L),  L ← E_1(L),

  13 transfers per site, O(N χ³ d²), no N² pair loop;
* PEPS: the documented fallback through all pair correlators
  (:func:`macrobell.observables.pair_correlations`, N(N−1)/2 two-site
  reduced states).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from macrobell.tn import DenseState, MPSState, PEPSState, State

from . import _kernels as dkern
from . import _mps_kernels as kern

__all__ = ["CollectiveMoments", "collective_moments"]


@dataclass(frozen=True)
class CollectiveMoments:
    """First and second moments of the total spin of ``n`` spins (Pauli convention).

    Attributes
    ----------
    n : int
        Number of spins.
    first : ndarray, shape (3,)
        ``first[a] = Σ_i <σ_a^i>`` for a = x, y, z.
    second : ndarray, shape (3, 3)
        ``second[a, b] = Σ_{i≠j} <σ_a^i σ_b^j>``, real and symmetric.
    """

    n: int
    first: np.ndarray
    second: np.ndarray

    def __post_init__(self):
        f = np.array(self.first, dtype=float).reshape(-1)
        s = np.array(self.second, dtype=float)
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or self.n < 1:
            raise ValueError(f"CollectiveMoments: n must be an integer >= 1, got {self.n!r}")
        if f.shape != (3,) or s.shape != (3, 3):
            raise ValueError(f"CollectiveMoments: first must have shape (3,) and second (3, 3), "
                             f"got {f.shape} and {s.shape}")
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(s))):
            raise ValueError("CollectiveMoments: first and second must be finite")
        f.setflags(write=False)
        s = 0.5 * (s + s.T)
        s.setflags(write=False)
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "first", f)
        object.__setattr__(self, "second", s)

    @property
    def mean_spin(self) -> np.ndarray:
        """``<S_a> = first[a] / 2`` (S = σ/2)."""
        return 0.5 * self.first

    @property
    def spin_second(self) -> np.ndarray:
        """``<(S_a S_b + S_b S_a)/2> = (second[a, b] + n δ_ab) / 4`` (S = σ/2)."""
        return 0.25 * (self.second + self.n * np.eye(3))

    def to_dict(self) -> dict:
        return {"n": self.n, "first": self.first.tolist(), "second": self.second.tolist()}


def collective_moments(state: State) -> CollectiveMoments:
    """The :class:`CollectiveMoments` of any state (dense, MPS incl. purified, PEPS)."""
    if not isinstance(state, State):
        raise ValueError(f"collective_moments: expected a macrobell state (from macrobell.tn), "
                         f"got {type(state).__name__}")
    if isinstance(state, DenseState):
        first, second = _dense_moments(state)
    elif isinstance(state, MPSState):
        first, second = _mps_moments(state)
    elif isinstance(state, PEPSState):
        first, second = _pairs_moments(state)
    else:
        raise ValueError(f"collective_moments: no observables for backend {type(state).__name__}")
    return CollectiveMoments(n=state.n_sites, first=first, second=second)


def _dense_moments(state):
    from .dense import _data
    n, arr = _data(state, "collective_moments")
    if arr.ndim == 2:
        return _pairs_moments(state)
    sites = np.arange(n, dtype=np.int64)
    # A_a ψ = c_a φ_a with φ_a = Σ_i O_a^i ψ in the real basis (σy = −i·iσy)
    c = np.array([1.0, -1j, 1.0])
    phi = np.stack([dkern.apply_collective_vector(arr, n, sites, a) for a in (1, 2, 3)]) * c[:, None]
    norm = np.vdot(arr, arr).real
    first = (phi @ arr.conj()).real / norm
    full = (phi.conj() @ phi.T).real / norm  # <A_a A_b> symmetrised: Re <A_a ψ|A_b ψ>
    return first, full - n * np.eye(3)


def _pairs_moments(state):
    from .api import pair_correlations
    C = pair_correlations(state)
    first = np.einsum("iia->a", C[:, :, 0, 1:])
    off = C[:, :, 1:, 1:].sum(axis=(0, 1)) - np.einsum("iiab->ab", C[:, :, 1:, 1:])
    return first, off


def _mps_moments(state):
    from .mps import _prepare, _to_physical
    A4, real = _prepare(state, "collective_moments")
    dtype = float if real else complex
    L0 = np.ones((1, 1), dtype=dtype)
    L1 = np.zeros((3, 1, 1), dtype=dtype)
    L2 = np.zeros((9, 1, 1), dtype=dtype)  # index 3a + b, σ_a on the earlier site
    for A in A4:
        E = kern.transfer_paulis(np.concatenate([L0[None], L1]), A, real)  # E[q, m], m = 0 (L), 1..3 (L_a)
        new2 = kern.transfer_identity(L2, A)
        new2 += E[1:, 1:].transpose(1, 0, 2, 3).reshape(new2.shape)  # E_{σ_b}(L_a) -> L_{ab}
        L1 = E[0, 1:] + E[1:, 0]
        L0 = E[0, 0]
        L2 = new2
    norm = np.real(np.trace(L0))
    is_y = (np.arange(3) == 1).astype(int)
    first = _to_physical(np.trace(L1, axis1=-2, axis2=-1), real, is_y) / norm
    P = _to_physical(np.trace(L2, axis1=-2, axis2=-1).reshape(3, 3), real, is_y[:, None] + is_y[None, :]) / norm
    # Σ_{i≠j} = Σ_{i<j} (σ_a^i σ_b^j + σ_b^i σ_a^j): sites commute, order-independent
    return first, P + P.T
