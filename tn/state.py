"""The state interface shared by every backend.

A :class:`State` knows its lattice (and model, when it came from one), its
energy, its temperature and one :class:`Diagnostics` record of the solver
(``state.diagnostics``; ``state.info`` is its read-only mapping view with
the backend's own keys). Backends add the data observables need:

* :class:`DenseState` — a state vector or a density matrix (exact backend).
* :class:`MPSState` — a quimb ``MatrixProductState`` in the lattice's MPS
  order, optionally a purification (local dimension 4 = physical ⊗ ancilla).
* :class:`PEPSState` — a quimb ``PEPS`` on a rectangular lattice, with the
  map between lattice sites and PEPS coordinates ``(x, y)`` and the
  boundary-contraction bond ``chi`` its observables use.
* :class:`MixtureState` — a convex combination ``Σ_k p_k ρ_k`` of the
  above (e.g. the equal mixture of a degenerate DMRG ground manifold).

Observables dispatch on these classes; they never depend on how a state was
made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np

from macrobell.lattice import Lattice, SpinModel

__all__ = ["State", "DenseState", "MPSState", "PEPSState", "MixtureState", "ConvergenceWarning", "Diagnostics",
           "ReadOnlyMapping", "DIAGNOSTICS_FIELDS"]


class ConvergenceWarning(UserWarning, RuntimeWarning):
    """A solver stopped before meeting its tolerance (or found a degenerate manifold it cannot
    represent); the state is still returned, flagged ``diagnostics.converged = False``.

    The one warning class of every backend. It is also a ``RuntimeWarning``, the class the exact
    backend used before, so existing filters on either keep working.
    """


class ReadOnlyMapping(Mapping):
    """An immutable, picklable mapping (``state.info``, ``Diagnostics.extra``).

    Item assignment raises ``TypeError``; the values themselves are not copied.
    """

    __slots__ = ("_data",)

    def __init__(self, data=()):
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __setattr__(self, name, value):
        raise AttributeError("ReadOnlyMapping is immutable")

    def __repr__(self):
        return f"ReadOnlyMapping({self._data!r})"

    def __reduce__(self):
        return (ReadOnlyMapping, (self._data,))


#: Names of the common :class:`Diagnostics` fields (``extra`` aside); ``state.info`` has them all.
DIAGNOSTICS_FIELDS = ("converged", "energy", "energy_variance", "discarded_weight", "max_bond", "n_sweeps",
                      "elapsed_s", "warnings")
# legacy info keys read as a field when the field's own name is absent (user-built info dicts)
_ALIASES = {"energy_variance": ("variance",), "discarded_weight": ("truncation_error",), "n_sweeps": ("sweeps",)}


def _opt_float(x) -> float:
    if x is None:
        return float("nan")
    return float(np.real(x))


@dataclass(frozen=True)
class Diagnostics:
    """The solver record every state carries (``state.diagnostics``); one meaning for every backend.

    A field that does not apply to a backend is ``None`` (integers, flags) or
    ``nan`` (floats); each backend documents which and how it measures the
    others. Energies are in units of the coupling (``S = σ/2``, k_B = 1).

    Attributes
    ----------
    converged : bool or None
        The backend's convergence flag (what it certifies is documented per
        backend); ``None`` when no solver ran that could fail.
    energy : float
        ``<H> = Tr(ρH)`` of the returned state (``nan`` without a model).
    energy_variance : float
        ``<H²> − <H>²`` of the returned state, computed from the state
        (``nan`` where not computed, e.g. PEPS).
    discarded_weight : float
        Sum of the squared singular values the backend discarded, relative
        to the norm, over the truncations that produced the returned state
        (``0.0`` when nothing was discarded; ``nan`` when not tracked).
    max_bond : int or None
        Largest bond dimension of the tensor network (``None`` for dense states).
    n_sweeps : int or None
        DMRG (half) sweeps, imaginary-time (Trotter) steps for purification
        and PEPS; ``None`` for exact and user-supplied states.
    elapsed_s : float
        Wall time the backend spent on this state (``nan`` when unknown).
    warnings : tuple of str
        The messages of the warnings the backend issued about this state.
    extra : Mapping
        Backend-specific diagnostics (read-only), e.g. ``gap``, ``energies``.
    """

    converged: bool | None = None
    energy: float = float("nan")
    energy_variance: float = float("nan")
    discarded_weight: float = float("nan")
    max_bond: int | None = None
    n_sweeps: int | None = None
    elapsed_s: float = float("nan")
    warnings: tuple = ()
    extra: Mapping = field(default_factory=dict)

    def __post_init__(self):
        set_ = object.__setattr__
        if self.converged is not None and not isinstance(self.converged, (bool, np.bool_)):
            raise ValueError(f"Diagnostics: converged must be True, False or None, got {self.converged!r}")
        set_(self, "converged", None if self.converged is None else bool(self.converged))
        for name in ("energy", "energy_variance", "discarded_weight", "elapsed_s"):
            set_(self, name, _opt_float(getattr(self, name)))
        for name in ("max_bond", "n_sweeps"):
            v = getattr(self, name)
            set_(self, name, None if v is None else int(v))
        w = self.warnings
        set_(self, "warnings", (w,) if isinstance(w, str) else tuple(str(x) for x in w))
        extra = dict(self.extra)
        clash = sorted(set(extra) & set(DIAGNOSTICS_FIELDS))
        if clash:
            raise ValueError(f"Diagnostics: extra must not repeat the common fields {clash}")
        set_(self, "extra", ReadOnlyMapping(extra))

    def __hash__(self):  # extra holds lists: identity hash, equality by value
        return id(self)

    @classmethod
    def from_info(cls, info: Mapping | None, energy=None) -> "Diagnostics":
        """The record of a plain info mapping (e.g. ``{**state.info, "converged": False}``).

        The common fields are read from their own keys, else from the legacy
        aliases ``variance``, ``truncation_error``, ``sweeps``; every other key
        goes to ``extra`` (aliases included, so the info view keeps them).
        ``energy`` is used when ``info`` has no ``"energy"`` key.
        """
        if info is None:
            info = {}
        if isinstance(info, Diagnostics):
            return info
        if not isinstance(info, Mapping):
            raise ValueError(f"State: info must be a mapping or a Diagnostics, got {type(info).__name__}")
        info = dict(info)
        vals = {}
        for name in DIAGNOSTICS_FIELDS:
            if name in info:
                vals[name] = info.pop(name)
            else:
                for alias in _ALIASES.get(name, ()):
                    if alias in info:
                        vals[name] = info[alias]
                        break
        if "energy" not in vals and energy is not None:
            vals["energy"] = energy
        return cls(**vals, extra=info)

    def as_info(self) -> ReadOnlyMapping:
        """The read-only mapping ``state.info``: ``extra`` plus every common field under its name."""
        out = dict(self.extra)
        out.update((name, getattr(self, name)) for name in DIAGNOSTICS_FIELDS)
        out["warnings"] = list(self.warnings)
        return ReadOnlyMapping(out)

    def replace(self, **changes) -> "Diagnostics":
        """A copy with ``changes`` (common fields by name; ``extra`` keys merged in via ``extra=``)."""
        vals = {f.name: getattr(self, f.name) for f in fields(self)}
        extra = dict(self.extra)
        extra.update(changes.pop("extra", {}))
        vals.update(changes)
        vals["extra"] = extra
        return Diagnostics(**vals)


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
    info : Mapping
        Read-only view of :attr:`diagnostics`: its ``extra`` keys (``method``,
        backend-specific errors, …) plus every common field by name. Assigning
        a mapping (constructor or ``state.info = {...}``) rebuilds the record
        with :meth:`Diagnostics.from_info`.
    diagnostics : Diagnostics
        The solver record (keyword-only; given, it takes precedence over ``info``).
    """

    lattice: Lattice
    model: SpinModel | None = None
    energy: float | None = None
    temperature: float = float("nan")
    info: Mapping = field(default_factory=dict)
    diagnostics: Diagnostics | None = field(default=None, kw_only=True)

    def __setattr__(self, name, value):
        # info and diagnostics are two views of one record: keep them in step
        if name == "info":
            d = Diagnostics.from_info(value, energy=getattr(self, "energy", None))
            object.__setattr__(self, "diagnostics", d)
            object.__setattr__(self, "info", d.as_info())
        elif name == "diagnostics":
            if value is None:
                if "diagnostics" not in self.__dict__:
                    self.info = {}
                return
            if not isinstance(value, Diagnostics):
                raise ValueError(f"State: diagnostics must be a Diagnostics, got {type(value).__name__}")
            object.__setattr__(self, "diagnostics", value)
            object.__setattr__(self, "info", value.as_info())
        else:
            object.__setattr__(self, name, value)

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
    #: Private cache of observables (not a field): ``(mps, canonical site arrays, real)`` set by
    #: ``macrobell.observables.mps`` via ``object.__setattr__``; the arrays are read-only and the cache
    #: is used only while ``self.mps`` is the same object (replace ``mps``, never edit it in place).
    _canonical_cache = None

    @property
    def backend(self) -> str:
        return "mps-purification" if self.purified else "mps"

    @property
    def phys_dim(self) -> int:
        return 4 if self.purified else 2

    def arrays(self, canonical: str | None = "right") -> list:
        """The tensors as numpy arrays ``(χ_left, d, χ_right)`` in MPS order.

        With ``canonical="right"`` the copy is right-canonical and normalised
        (``Σ_s A[s] A[s]^† = 1`` on every site but the first, so every right
        environment is the identity), the form the one-sweep correlators
        need. It is computed here by a right-to-left sweep of numpy QR
        decompositions, O(N d χ³), much faster than a quimb ``right_canonize``
        on a tensor network copy. Arrays come out real (float64) when the
        imaginary parts vanish (relative 1e-14), e.g. for a real MPS that
        passed through complex arithmetic.
        """
        if canonical not in ("right", None):
            raise ValueError(f"MPSState.arrays: canonical must be 'right' or None, got {canonical!r}")
        psi = self.mps
        L = psi.L
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
        if any(np.iscomplexobj(a) for a in out):
            scale = max(float(np.abs(a).max()) for a in out) or 1.0
            if max(float(np.abs(a.imag).max()) if np.iscomplexobj(a) else 0.0 for a in out) <= 1e-14 * scale:
                out = [np.ascontiguousarray(a.real) for a in out]
            else:
                out = [a.astype(complex) for a in out]
        if canonical == "right":
            out = _right_canonical(out)
        return out


@dataclass(eq=False, repr=False)
class PEPSState(State):
    """A projected entangled pair state (quimb ``PEPS``) on an ``Lx × Ly`` grid.

    Lattice site ``i`` sits at PEPS coordinate ``coords[i] = (x, y)`` (for
    :func:`macrobell.lattice.square` and :func:`~macrobell.lattice.ladder`:
    ``i = x * Ly + y``). Physical index 0 is ``|↑>`` (σz = +1). Observables
    contract the norm network by boundary MPS of bond dimension ``chi``.
    """

    peps: object = None
    coords: np.ndarray | None = None
    chi: int = 64

    @property
    def backend(self) -> str:
        return "peps"

    @property
    def shape(self) -> tuple:
        """``(Lx, Ly)`` of the PEPS grid."""
        return int(self.peps.Lx), int(self.peps.Ly)

    def coo(self, site: int) -> tuple:
        """PEPS coordinate ``(x, y)`` of lattice site ``site``."""
        x, y = self.coords[int(site)]
        return int(x), int(y)


@dataclass(eq=False, repr=False)
class MixtureState(State):
    """The mixed state ``ρ = Σ_k p_k ρ_k`` of ``components`` ``ρ_k`` with ``weights`` ``p_k``.

    Every observable macrobell computes (correlation tensors, effective
    states, pair correlators, reduced states) is linear in ``ρ``, so it is the
    ``p``-weighted average of the components' values. The components must be
    states on lattices of the same size and not themselves mixtures; weights
    must be finite and ``>= 0`` and are normalised to sum 1. Equal weights by
    default. For the equal mixture of a degenerate ground manifold the
    components must be orthonormal (then ``ρ = P/g``, the projector over its
    dimension, which the exact backend returns).
    """

    components: list = field(default_factory=list)
    weights: np.ndarray | None = None

    def __post_init__(self):
        comps = list(self.components)
        if not comps:
            raise ValueError("MixtureState: components must be a non-empty list of states")
        for c in comps:
            if not isinstance(c, State) or isinstance(c, MixtureState):
                raise ValueError(f"MixtureState: components must be macrobell states (not mixtures), "
                                 f"got {type(c).__name__}")
            if c.n_sites != self.lattice.n_sites:
                raise ValueError(f"MixtureState: a component has {c.n_sites} sites, the lattice "
                                 f"{self.lattice.n_sites}")
        w = np.full(len(comps), 1.0 / len(comps)) if self.weights is None else np.asarray(self.weights, float)
        if w.shape != (len(comps),) or not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError(f"MixtureState: weights must be {len(comps)} finite numbers >= 0 with a positive "
                             f"sum, got {self.weights!r}")
        self.components = comps
        self.weights = w / w.sum()

    @property
    def backend(self) -> str:
        return "mixture"


def _right_canonical(arrays: list) -> list:
    """Right-canonical, normalised copy of open-boundary MPS arrays ``(χl, d, χr)`` (QR sweep)."""
    out = [np.array(a) for a in arrays]
    # Skip the already right-isometric tail (e.g. DMRG output after a left sweep): checking costs one
    # χ × dχ × χ GEMM per site, a fraction of a QR.
    start = len(out) - 1
    while start > 0:
        m = out[start].reshape(out[start].shape[0], -1)
        if not np.allclose(m @ m.conj().T, np.eye(m.shape[0]), rtol=0, atol=1e-13):
            break
        start -= 1
    for k in range(start, 0, -1):
        chl, d, chr_ = out[k].shape
        # A = R^T Q^T with Q^T right-orthonormal rows
        q, r = np.linalg.qr(out[k].reshape(chl, d * chr_).T)
        out[k] = np.ascontiguousarray(q.T.reshape(-1, d, chr_))
        # R carries the norm leftwards: rescale it, or a long product of unnormalised tensors (a random
        # 1000-site start) overflows to inf/nan; the state is normalised at the end anyway
        rn = np.linalg.norm(r)
        if np.isfinite(rn) and rn > 0:
            r = r / rn
        out[k - 1] = np.tensordot(out[k - 1], r.T, axes=([2], [0]))
    nrm = np.linalg.norm(out[0])
    if not np.isfinite(nrm) or nrm == 0:
        raise ValueError(f"MPSState: the MPS has norm {nrm}")
    out[0] = out[0] / nrm
    return out
