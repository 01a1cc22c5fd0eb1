"""The effective state of a partition and its physicality check.

``rho_eff = (1 / prod_X N_X) sum_{l_1 in R_1} ... sum_{l_K in R_K} rho_{l_1...l_K}``
(seed eq. 4; docs/physics.md, 'Effective state') is a K-qubit state whose Pauli correlation tensor
``T[a_1...a_K] = Tr(rho_eff sigma_{a_1} (x) ... (x) sigma_{a_K})`` equals the
normalised collective-magnetisation moments ``< prod_X m^X_{a_X} >`` with
``m^X_a = (1/N_X) sum_{i in R_X} sigma^i_a`` (Pauli matrices, not spin-1/2).

For M-body observables the state has K*M qubits: the average over ordered
M-tuples of distinct sites per region, qubits grouped region by region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from . import criteria as _cr
from ._checks import region_arrays

__all__ = ["EffectiveState", "UnphysicalStateError", "PHYSICALITY_TOL"]

#: Tolerance of the physicality check.  Applied absolutely to
#: ``|Tr rho - 1|``, to ``max |Im T|`` (Hermiticity) and to negative
#: eigenvalues; since ``Tr rho = 1`` this is also relative to the trace.
#: 1e-8 sits well above double-precision rounding of the T -> rho map and
#: below any physically meaningful eigenvalue, while tolerating MPS
#: truncation noise of that order.
PHYSICALITY_TOL = 1e-8


class UnphysicalStateError(ValueError):
    """An effective state failed the physicality check.

    Attributes
    ----------
    context : dict or None
        Caller-supplied description of where the state came from (e.g. the
        sweep point's parameters); repeated in the message.
    details : dict
        The offending numbers (trace, min eigenvalue, max imaginary part).
    """

    def __init__(self, message: str, context: dict | None = None, details: dict | None = None):
        self.context = context
        self.details = dict(details or {})
        full = message
        if self.details:
            full += " [" + ", ".join(f"{k}={v!r}" for k, v in self.details.items()) + "]"
        if context is not None:
            full += f" (context: {context!r})"
        super().__init__(full)


def _check_physical(T: np.ndarray, context: dict | None, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(real T, rho)`` or raise :class:`UnphysicalStateError`."""
    if np.iscomplexobj(T):
        imag = float(np.max(np.abs(T.imag))) if T.size else 0.0
        if imag > tol:
            # Real T <=> Hermitian rho: Pauli strings are Hermitian.
            raise UnphysicalStateError(
                "effective state is not Hermitian (T has imaginary entries)",
                context, {"max_imag_T": imag, "tol": tol})
        T = T.real
    T = np.array(T, dtype=float)
    if not np.all(np.isfinite(T)):
        raise UnphysicalStateError("effective state has non-finite entries", context,
                                   {"n_nonfinite": int(np.sum(~np.isfinite(T)))})
    trace = float(T[(0,) * T.ndim])
    if abs(trace - 1.0) > tol:
        raise UnphysicalStateError("effective state does not have trace 1", context,
                                   {"trace": trace, "tol": tol})
    rho = _cr.rho_from_T(T)
    eigs = np.linalg.eigvalsh(rho)
    if eigs[0] < -tol:
        raise UnphysicalStateError(
            "effective state has negative eigenvalues", context,
            {"min_eigenvalue": float(eigs[0]), "n_negative": int(np.sum(eigs < -tol)), "tol": tol})
    return T, rho


@dataclass(frozen=True, eq=False)
class EffectiveState:
    """Effective state of K regions (seed eq. 4; docs/physics.md), validated on construction.

    Parameters
    ----------
    T : ndarray, shape (4,)*(K*M)
        Pauli correlation tensor, ``T[0,...,0] = 1``.
    sizes : tuple of int
        Region sizes ``N_X``.
    names : tuple of str, optional
        Region names (default ``"R0", "R1", ...``).
    M : int
        Body order (number of qubits per region in ``T``).
    context : dict, optional
        Carried into :class:`UnphysicalStateError` if the check fails.

    Attributes
    ----------
    rho : ndarray, shape (2^(K*M), 2^(K*M))
        ``2^{-n} sum_a T_a sigma_a``, qubit 0 most significant.

    Raises
    ------
    ValueError
        Inconsistent shapes / sizes / names.
    UnphysicalStateError
        Not Hermitian, trace != 1 or an eigenvalue < -PHYSICALITY_TOL.

    Notes
    -----
    Constructors: :meth:`from_pairs`, and ``from_state(state, partition, M=1, *, context=None)``,
    which :mod:`macrobell.observables.api` attaches (it delegates to
    :func:`~macrobell.observables.api.effective_state`, which this module must not import).
    """

    T: np.ndarray
    sizes: tuple[int, ...]
    names: tuple[str, ...] | None = None
    M: int = 1
    context: dict | None = field(default=None, repr=False)
    rho: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        sizes = tuple(int(n) for n in self.sizes)
        K = len(sizes)
        if K < 2:
            raise ValueError(f"EffectiveState: need K >= 2 regions, got sizes={sizes}")
        if isinstance(self.M, bool) or int(self.M) != self.M or self.M < 1:
            raise ValueError(f"EffectiveState: M must be an integer >= 1, got {self.M!r}")
        M = int(self.M)
        if min(sizes) < M:
            raise ValueError(f"EffectiveState: every region needs >= M={M} sites, got sizes={sizes}")
        names = tuple(f"R{X}" for X in range(K)) if self.names is None else tuple(str(n) for n in self.names)
        if len(names) != K:
            raise ValueError(f"EffectiveState: {len(names)} names for {K} regions")
        T = np.asarray(self.T)
        if T.shape != (4,) * (K * M):
            raise ValueError(f"EffectiveState: T has shape {T.shape}, expected (4,)*{K * M} "
                             f"for K={K} regions and M={M}")
        T, rho = _check_physical(T, self.context, PHYSICALITY_TOL)
        T.flags.writeable = False
        rho.flags.writeable = False
        object.__setattr__(self, "T", T)
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "M", M)
        object.__setattr__(self, "rho", rho)

    @property
    def K(self) -> int:
        """Number of regions."""
        return len(self.sizes)

    @property
    def n_qubits(self) -> int:
        """Number of qubits of ``rho`` (``K * M``)."""
        return self.K * self.M

    def criteria(self, **kw: Any) -> dict[str, Any]:
        """Every LHV criterion of docs/physics.md; see :func:`.criteria.criteria`.

        Keyword arguments (``seed``, ``zb_starts``, ``bloch_tol``, ``bell``
        -- results of the Bell engine for the verdict table -- and the
        no-longer-deciding ``werner_tol``) are passed through.  The dict's
        ``verdict`` is one of :data:`.verdict.VERDICTS`, with ``entangled``,
        ``verdict_reason`` and ``verdict_guarantee`` beside it.
        """
        return _cr.criteria(self.T, self.sizes, M=self.M, rho=self.rho, **kw)

    def E(self, n_list: Sequence[Sequence[float]]) -> float:
        """Macroscopic correlation ``E(n_1...n_K)`` of the magnetisations.

        ``E = prod_X N_X * sum_{k >= 1} T_{k_1...k_K} n_{1,k_1} ... n_{K,k_K}``
        = ``< prod_X (n_X . sum_{i in R_X} sigma^i) >`` (seed eq. 3).

        Parameters
        ----------
        n_list : K vectors in R^3 (unit vectors for measurement directions).
        """
        if self.M != 1:
            raise ValueError(f"E is defined for M = 1 effective states, this one has M={self.M}")
        if len(n_list) != self.K:
            raise ValueError(f"E needs {self.K} directions, got {len(n_list)}")
        Y = self.T[(slice(1, None),) * self.K]
        for n in n_list:
            n = np.asarray(n, dtype=float)
            if n.shape != (3,):
                raise ValueError(f"each direction must be a 3-vector, got shape {n.shape}")
            Y = np.tensordot(n, Y, axes=([0], [0]))
        return float(math.prod(self.sizes) * Y)

    @classmethod
    def from_pairs(cls, C: np.ndarray, partition: Any, *, context: dict | None = None) -> "EffectiveState":
        """Two-region effective state from all-pairs correlators.

        ``T_ab = mean_{i in A, j in B} C[i, j, a, b]`` with
        ``C[i, j, a, b] = <sigma_a^i sigma_b^j>``, ``sigma_0 = 1`` (so
        ``C[i, j, 0, b] = <sigma_b^j>``); diagonal blocks ``C[i, i]`` are
        never used because regions are disjoint.

        Parameters
        ----------
        C : ndarray, shape (N, N, 4, 4)
        partition : object with ``.regions`` (two int index arrays) and
            ``.names``.
        context : dict, optional
        """
        C = np.asarray(C)
        if C.ndim != 4 or C.shape[0] != C.shape[1] or C.shape[2:] != (4, 4):
            raise ValueError(f"from_pairs: C must have shape (N, N, 4, 4), got {C.shape}")
        regions = region_arrays(partition.regions, C.shape[0], "from_pairs", max_regions=2,
                                why="all-pairs correlators give K = 2 moments only")
        if len(regions) != 2:
            raise ValueError(f"from_pairs: only K = 2 partitions, got K = {len(regions)}")
        A, B = regions
        T = C[np.ix_(A, B)].mean(axis=(0, 1))
        return cls(T=T, sizes=(A.size, B.size), names=tuple(partition.names), M=1, context=context)
