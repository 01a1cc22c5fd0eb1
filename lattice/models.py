"""Spin models written once as terms on bond arrays.

Conventions (used everywhere in macrobell)
------------------------------------------
* Spin-1/2 operators ``S^a = σ^a / 2``; a coupling ``J`` multiplies
  ``S^a_i S^b_j``, a field ``h`` multiplies ``S^a_i``.
* ``J > 0`` is antiferromagnetic; energies are in units of the coupling you
  pass (usually ``J = 1``), temperatures in the same units with ``k_B = 1``.
* Heisenberg / XXZ: ``H = Σ_nn J (SxSx + SySy + Δ SzSz)
  + Σ_nnn J2 (SxSx + SySy + Δ SzSz) − h Σ_i Sz_i``.
* Couplings per bond group: every exchange constant (``J``, ``J2``,
  ``Delta``, ``Jx``…) is a number (every bond of its kind) or a dict
  ``{group: value}`` over the lattice's bond groups
  (:attr:`Lattice.bond_groups`, e.g. ``{"leg": 1.0, "rung": 0.5}``). The
  key ``"default"`` — or the kind's name, ``"nn"`` / ``"nnn"`` — gives
  the value of every group not named; without it a missing group is an
  error listing the missing ones, and an unknown name is an error listing
  the lattice's groups.
* Basis: ``|0> = |↑>`` (σz = +1); site 0 is the most significant bit of a
  dense basis index (Kronecker order site 0 ⊗ site 1 ⊗ …).

A :class:`SpinModel` is plain data; the tensor-network backends convert it
to a sparse matrix (:meth:`SpinModel.to_sparse`), an MPO and gates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import scipy.sparse as sp

from .geometry import Lattice

__all__ = ["Term", "Field", "SpinModel", "heisenberg", "xxz", "xyz", "j1j2", "tfim", "MODEL_KINDS",
           "PAULI", "SPIN", "MAX_HAMILTONIAN_NORM", "TFIM_CONVENTIONS"]

#: Pauli matrices σ_0 = 1, σ_x, σ_y, σ_z (index 0..3).
PAULI = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex
)
PAULI.setflags(write=False)
#: Spin-1/2 operators S^a = σ^a / 2 by name.
SPIN = {"x": PAULI[1] / 2, "y": PAULI[2] / 2, "z": PAULI[3] / 2}
_AXES = "xyz"


@dataclass(frozen=True, eq=False)
class Term:
    """``coefficient · Σ_{(i,j) ∈ bonds} S^{ops[0]}_i S^{ops[1]}_j``."""

    coefficient: float
    ops: str
    bonds: np.ndarray

    def __post_init__(self):
        if len(self.ops) != 2 or any(o not in _AXES for o in self.ops):
            raise ValueError(f"Term.ops: expected two of 'x', 'y', 'z' (e.g. 'xx'), got {self.ops!r}")
        b = np.array(self.bonds, dtype=int).reshape(-1, 2)
        b.setflags(write=False)
        object.__setattr__(self, "bonds", b)
        object.__setattr__(self, "coefficient", float(self.coefficient))


@dataclass(frozen=True, eq=False)
class Field:
    """``coefficient · Σ_{i ∈ sites} S^{op}_i``."""

    coefficient: float
    op: str
    sites: np.ndarray

    def __post_init__(self):
        if self.op not in _AXES:
            raise ValueError(f"Field.op: expected 'x', 'y' or 'z', got {self.op!r}")
        s = np.array(self.sites, dtype=int).reshape(-1)
        s.setflags(write=False)
        object.__setattr__(self, "sites", s)
        object.__setattr__(self, "coefficient", float(self.coefficient))


@dataclass(frozen=True, eq=False)
class SpinModel:
    """A spin-1/2 Hamiltonian on a :class:`Lattice`, as a list of terms.

    Attributes
    ----------
    lattice : Lattice
    terms : tuple of Term
        Two-site terms ``c S^a_i S^b_j`` on bond arrays.
    fields : tuple of Field
        One-site terms ``c S^a_i``.
    name : str
        Model kind, e.g. ``"heisenberg"``.
    params : dict
        The factory arguments, for provenance.
    """

    lattice: Lattice
    terms: tuple = ()
    fields: tuple = ()
    name: str = "custom"
    params: Mapping = field(default_factory=dict)

    def __post_init__(self):
        n = self.lattice.n_sites
        _check_norm_bound(self.name, self.params, self.terms, self.fields)
        terms = tuple(t for t in self.terms if t.coefficient != 0 and len(t.bonds))
        fields = tuple(f for f in self.fields if f.coefficient != 0 and len(f.sites))
        for t in terms:
            if t.bonds.min() < 0 or t.bonds.max() >= n or (t.bonds[:, 0] == t.bonds[:, 1]).any():
                raise ValueError(f"SpinModel: term {t.ops!r} has bonds outside 0..{n - 1} or self-bonds")
        for f in fields:
            if f.sites.min() < 0 or f.sites.max() >= n:
                raise ValueError(f"SpinModel: field {f.op!r} has sites outside 0..{n - 1}")
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "params", dict(self.params))

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    @property
    def is_real(self) -> bool:
        """Whether H is a real matrix in the σz basis (an even number of y's per term)."""
        return all(t.ops.count("y") % 2 == 0 for t in self.terms) and all(f.op != "y" for f in self.fields)

    def _exchange_by_bond(self) -> dict | None:
        """Summed ``xx``, ``yy``, ``zz`` couplings per unordered bond; None if any two-site term is of another kind."""
        coeffs = {}
        for t in self.terms:
            if t.ops not in ("xx", "yy", "zz"):
                return None
            for i, j in t.bonds:
                key = (min(int(i), int(j)), max(int(i), int(j)))
                coeffs.setdefault(key, {"xx": 0.0, "yy": 0.0, "zz": 0.0})[t.ops] += t.coefficient
        return coeffs

    @property
    def su2_invariant(self) -> bool:
        """Whether H commutes with total spin (isotropic exchange on every bond, no nonzero field)."""
        if any(f.coefficient != 0 for f in self.fields):
            return False
        ex = self._exchange_by_bond()
        return ex is not None and all(np.isclose(c["xx"], c["zz"]) and np.isclose(c["yy"], c["zz"])
                                      for c in ex.values())

    @property
    def conserves_sz(self) -> bool:
        """Whether H commutes with total ``S^z`` (U(1): XXZ-type exchange, fields along z).

        Then H is block diagonal in the magnetisation sectors, which the exact
        backend exploits.
        """
        if any(f.op != "z" for f in self.fields):
            return False
        ex = self._exchange_by_bond()
        return ex is not None and all(np.isclose(c["xx"], c["yy"]) for c in ex.values())

    def two_site_terms(self) -> list:
        """All two-site terms grouped by bond: list of ``(i, j, h)``, ``h`` 4×4.

        ``h`` acts on ``site i ⊗ site j`` (i first) and includes every term on
        that unordered bond (so ``(i, j)`` appears once, with ``i < j``).
        """
        acc = {}
        for t in self.terms:
            op = np.kron(SPIN[t.ops[0]], SPIN[t.ops[1]])
            for i, j in t.bonds:
                i, j = int(i), int(j)
                m = t.coefficient * op
                if i > j:
                    i, j = j, i
                    m = _swap4(m)
                acc[(i, j)] = acc.get((i, j), 0) + m
        return [(i, j, _maybe_real(h)) for (i, j), h in sorted(acc.items())]

    def one_site_terms(self) -> list:
        """All one-site terms grouped by site: list of ``(i, h)``, ``h`` 2×2."""
        acc = {}
        for f in self.fields:
            for i in f.sites:
                acc[int(i)] = acc.get(int(i), 0) + f.coefficient * SPIN[f.op]
        return [(i, _maybe_real(h)) for i, h in sorted(acc.items())]

    def pauli_strings(self):
        """Every term as ``(sites, ops, coefficient)`` in Pauli units (S = σ/2 folded in)."""
        for t in self.terms:
            for i, j in t.bonds:
                yield (int(i), int(j)), t.ops, t.coefficient / 4.0
        for f in self.fields:
            for i in f.sites:
                yield (int(i),), f.op, f.coefficient / 2.0

    def flip_masks(self) -> list:
        """Distinct bit-flip patterns of the Pauli strings (0 = diagonal), sorted.

        ``to_sparse`` stores one entry per basis state and pattern, so the
        number of patterns sets its memory: ``(len(flip_masks()) ) · 2^N``
        entries at most.
        """
        n = self.n_sites
        masks = {0}
        for sites, ops, _ in self.pauli_strings():
            masks.add(sum(1 << (n - 1 - s) for s, o in zip(sites, ops) if o != "z"))
        return sorted(masks)

    def flip_blocks(self, states: np.ndarray, dtype) -> dict:
        """The Hamiltonian's action on basis states, grouped by bit-flip pattern.

        Returns ``{flip: values}`` with ``values[i] = <states[i] ^ flip| H_flip |states[i]>``, where
        ``H_flip`` is the sum of the Pauli strings (coefficients in Pauli units, :meth:`pauli_strings`)
        that flip the bits ``flip`` (site 0 = most significant bit). ``states`` is any int64 array of
        basis states: all ``2^N`` (:meth:`to_sparse`) or one S^z sector.
        """
        n = self.n_sites
        dtype = np.dtype(dtype)
        blocks = {}
        for sites, ops, coef in self.pauli_strings():
            flip = 0
            phase = np.full(states.size, coef, dtype=complex)
            for s, o in zip(sites, ops):
                bit = (states >> (n - 1 - s)) & 1
                if o != "z":
                    flip |= 1 << (n - 1 - s)
                if o == "y":
                    # <b⊕1| σy |b> : σy|0> = i|1>, σy|1> = -i|0>
                    phase *= np.where(bit == 0, 1j, -1j)
                elif o == "z":
                    phase *= 1 - 2 * bit
            vals = phase.real if dtype.kind == "f" else phase
            blocks[flip] = blocks[flip] + vals if flip in blocks else vals.astype(dtype)
            del phase, vals
        return blocks

    def to_sparse(self, dtype=None) -> sp.csr_matrix:
        """The Hamiltonian as a sparse ``2^N × 2^N`` CSR matrix (site 0 = most significant bit).

        Every Pauli string is a bit-flip permutation with phases, so strings
        with the same flip pattern (``xx`` and ``yy`` on one bond, every
        diagonal term) are summed into one vector and the CSR arrays are
        written directly, one entry per basis state and pattern — no
        Kronecker products, no COO duplicates. Kept over quimb's
        ``SparseOperatorBuilder.build_sparse_matrix`` by measurement (issue 10,
        ``benchmarks/bench_library.py``): equal entry for entry, but the builder
        is 10–30× slower, peaks at ~10× the memory (16 and 18 sites) and stores
        explicit zeros (twice the nnz for Heisenberg); building every S^z sector
        with it is 6–20× slower than slicing this matrix.
        """
        n = self.n_sites
        dim = 1 << n
        dtype = np.dtype(dtype or (np.float64 if self.is_real else np.complex128))
        idx = np.arange(dim, dtype=np.int64)
        blocks = self.flip_blocks(idx, dtype)
        blocks.setdefault(0, np.zeros(dim, dtype=dtype))
        flips = sorted(blocks)
        itype = np.int32 if dim < 2**31 else np.int64
        indices = np.empty((dim, len(flips)), dtype=itype)
        data = np.empty((dim, len(flips)), dtype=dtype)
        for k, f in enumerate(flips):
            # H[r, r ^ f] = <r|P|r ^ f> = value of input state r ^ f
            cols = idx ^ f
            indices[:, k] = cols
            data[:, k] = blocks.pop(f)[cols]
        indptr = np.arange(0, dim * len(flips) + 1, len(flips), dtype=itype)
        H = sp.csr_matrix((data.reshape(-1), indices.reshape(-1), indptr), shape=(dim, dim))
        H.eliminate_zeros()
        H.sort_indices()
        return H

    def __repr__(self):
        return f"SpinModel({self.name!r}, {self.params}, on {self.lattice!r})"


#: Largest allowed bound on ‖H‖ (units of the coupling). Backends square energies (the DMRG variance
#: ⟨H²⟩ − ⟨H⟩², Lanczos norms ‖Hv‖²) and double precision ends at 1.8e308 ≈ (1.3e154)²: 1e150 keeps ‖H‖²
#: finite with four orders of magnitude to spare for sums of such squares. (J = 1e308 on a ring stored
#: E = −inf and the verdict "separable".)
MAX_HAMILTONIAN_NORM = 1e150


def _check_norm_bound(name, params, terms, fields) -> None:
    """Refuse non-finite coefficients and ``Σ |c| · (bonds or sites) / (4 or 2)`` (≥ ‖H‖) above the limit."""
    allowed = (f"allowed: finite couplings with sum |coupling| x bond count <= {MAX_HAMILTONIAN_NORM:g} "
               "(energies and their squares must stay finite in double precision; rescale the units)")
    bound = 0.0
    for what, c, n in ([(f"term {t.ops!r}", t.coefficient, len(t.bonds) / 4) for t in terms]
                       + [(f"field {f.op!r}", f.coefficient, len(f.sites) / 2) for f in fields]):
        if not np.isfinite(c):
            raise ValueError(f"SpinModel {name!r}: couplings {dict(params)} give {what} the non-finite "
                             f"coefficient {c!r}; {allowed}")
        bound += abs(c) * n
    if not bound <= MAX_HAMILTONIAN_NORM:  # also catches an overflow of the sum to inf
        raise ValueError(f"SpinModel {name!r}: couplings {dict(params)} give |H| up to {bound:.3g} "
                         f"(sum of |coupling| x bond count); {allowed}")


def _swap4(m):
    """A two-site operator (4 x 4 on ``site a (x) site b``) re-expressed on ``site b (x) site a``."""
    return m.reshape(2, 2, 2, 2).transpose(1, 0, 3, 2).reshape(4, 4)


def _maybe_real(h):
    h = np.asarray(h, dtype=complex)
    return h.real.copy() if np.allclose(h.imag, 0) else h


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


#: Keys of a per-group coupling dict that set every group not named.
DEFAULT_KEYS = ("default",)


def _coupling(where, value):
    """A number, or a dict ``{group: number}`` with validated finite values (returned as floats)."""
    if isinstance(value, Mapping):
        if not value:
            raise ValueError(f"{where}: a per-group dict needs at least one entry")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: group names must be strings, got {k!r}")
            out[k] = _number(f"{where}[{k!r}]", v)
        return out
    return _number(where, value)


def _group_values(where, lat, kind, value) -> list:
    """``[(bonds, value), …]`` of ``kind``: one entry for a scalar, one per bond group for a dict."""
    if not isinstance(value, Mapping):
        return [(lat.bonds.get(kind, np.zeros((0, 2), int)), value)]
    if kind not in lat.bonds:
        raise ValueError(f"{where}: lattice {lat.name!r} has no {kind!r} bonds; available: {sorted(lat.bonds)}")
    groups = lat.groups(kind)
    fallback = [k for k in (kind, *DEFAULT_KEYS) if k in value and k not in groups]
    unknown = [k for k in value if k not in groups and k not in (kind, *DEFAULT_KEYS)]
    if unknown:
        raise ValueError(f"{where}: unknown bond group(s) {unknown} for {kind!r} bonds of lattice {lat.name!r}; "
                         f"allowed: {groups} (or {[kind, *DEFAULT_KEYS]} for every group not named)")
    missing = [g for g in groups if g not in value]
    if missing and not fallback:
        raise ValueError(f"{where}: no value for the {kind!r} bond group(s) {missing} of lattice {lat.name!r}; "
                         f"give them, or a {' / '.join(repr(k) for k in (kind, *DEFAULT_KEYS))} key for every "
                         f"group not named (groups: {groups})")
    if len(fallback) > 1:
        raise ValueError(f"{where}: give one of {fallback} for the groups not named, not both")
    return [(lat.bond_groups[kind][g], value[g] if g in value else value[fallback[0]]) for g in groups]


def _pick(value, group_bonds, lat, kind, where):
    """Value of a per-group parameter (``Delta``) on one group of bonds, matched by identity of the group."""
    if not isinstance(value, Mapping):
        return value
    groups = lat.groups(kind) if kind in lat.bonds else []
    for g in groups:
        if lat.bond_groups[kind][g] is group_bonds:
            if g in value:
                return value[g]
            break
    for k in (kind, *DEFAULT_KEYS):
        if k in value:
            return value[k]
    if len(groups) == 1 and groups[0] in value:
        return value[groups[0]]
    raise ValueError(f"{where}: no value for the {kind!r} bonds of lattice {lat.name!r}; give the groups "
                     f"{groups} or a {' / '.join(repr(k) for k in (kind, *DEFAULT_KEYS))} key")


def _check_keys(where, lat, value, kinds):
    """Every key of a per-group dict is a group of one of ``kinds``, a kind, or a default key."""
    if not isinstance(value, Mapping):
        return
    allowed = [g for k in kinds if k in lat.bonds for g in lat.groups(k)]
    allowed += [k for k in kinds if k in lat.bonds and k not in allowed] + list(DEFAULT_KEYS)
    unknown = [k for k in value if k not in allowed]
    if unknown:
        raise ValueError(f"{where}: unknown bond group(s) {unknown} of lattice {lat.name!r}; allowed: {allowed}")


def _exchange(lat, kind, Jx, Jy, Jz, where="exchange"):
    """Terms ``Jx SxSx + Jy SySy + Jz SzSz`` on ``kind`` bonds; each J a number or a per-group dict.

    A per-group dict is resolved by :func:`_group_values`; numbers keep one
    term per operator on the whole bond array.
    """
    if not any(isinstance(v, Mapping) for v in (Jx, Jy, Jz)):
        b = lat.bonds.get(kind, np.zeros((0, 2), int))
        if len(b) == 0 and any(v != 0 for v in (Jx, Jy, Jz)):
            raise ValueError(f"lattice {lat.name!r} has no {kind!r} bonds; available: {sorted(lat.bonds)}")
        return [Term(Jx, "xx", b), Term(Jy, "yy", b), Term(Jz, "zz", b)]
    per_op = []
    for op, v in zip(("xx", "yy", "zz"), (Jx, Jy, Jz)):
        if not isinstance(v, Mapping):
            v = {"default": v}
        per_op.append((op, _group_values(f"{where}: {op}", lat, kind, v)))
    terms = []
    for op, pairs in per_op:
        terms += [Term(c, op, b) for b, c in pairs]
    return terms


def _json_coupling(v):
    return dict(v) if isinstance(v, Mapping) else v


def _xxz_terms(where, lat, kind, J, Delta):
    """``Σ_g J_g (SxSx + SySy + Δ_g SzSz)`` on the groups of ``kind`` (J, Δ numbers or per-group dicts)."""
    if not isinstance(J, Mapping) and not isinstance(Delta, Mapping):
        return _exchange(lat, kind, J, J, J * Delta)
    Jd = J if isinstance(J, Mapping) else {"default": J}
    terms = []
    for b, c in _group_values(f"{where}: J", lat, kind, Jd):
        d = _pick(Delta, b, lat, kind, f"{where}: Delta")
        terms += [Term(c, "xx", b), Term(c, "yy", b), Term(c * d, "zz", b)]
    return terms


def heisenberg(lattice: Lattice, J: float = 1.0, Delta: float = 1.0, J2: float = 0.0, h: float = 0.0) -> SpinModel:
    """Heisenberg / XXZ model with next-nearest exchange and a uniform field.

    ``H = Σ_nn J (SxSx + SySy + Δ SzSz) + Σ_nnn J2 (SxSx + SySy + Δ SzSz) − h Σ_i Sz_i``
    with ``S = σ/2``; ``J > 0`` is antiferromagnetic.

    ``J`` (nn groups), ``J2`` (nnn groups) and ``Delta`` (groups of both
    kinds) may each be a dict per bond group, e.g. on a ladder
    ``J={"leg": 1.0, "rung": 0.5}``, ``Delta={"rung": 0.5, "default": 1.0}``
    (module conventions: ``"default"`` or the kind name sets the groups not
    named; a missing group without it is an error). Numbers keep their
    meaning: every bond of the kind.
    """
    J, Delta, J2 = (_coupling(f"heisenberg: {k}", v) for k, v in (("J", J), ("Delta", Delta), ("J2", J2)))
    h = _number("heisenberg: h", h)
    _check_keys("heisenberg: Delta", lattice, Delta, ("nn", "nnn"))
    terms = _xxz_terms("heisenberg", lattice, "nn", J, Delta)
    if isinstance(J2, Mapping) or J2:
        terms += _xxz_terms("heisenberg: J2", lattice, "nnn", J2, Delta)
    fields = [Field(-h, "z", np.arange(lattice.n_sites))]
    return SpinModel(lattice, tuple(terms), tuple(fields), "heisenberg",
                     {"J": _json_coupling(J), "Delta": _json_coupling(Delta), "J2": _json_coupling(J2), "h": h})


def xxz(lattice: Lattice, J: float = 1.0, Delta: float = 1.0, h: float = 0.0) -> SpinModel:
    """XXZ chain ``Σ J (SxSx + SySy + Δ SzSz) − h Σ Sz`` (same as :func:`heisenberg`, J2 = 0)."""
    m = heisenberg(lattice, J=J, Delta=Delta, h=h)
    return SpinModel(m.lattice, m.terms, m.fields, "xxz", {k: m.params[k] for k in ("J", "Delta", "h")})


def j1j2(lattice: Lattice, J1: float = 1.0, J2: float = 0.5, Delta: float = 1.0, h: float = 0.0) -> SpinModel:
    """J1–J2 Heisenberg model (nn exchange J1, nnn exchange J2), see :func:`heisenberg`."""
    m = heisenberg(lattice, J=J1, Delta=Delta, J2=J2, h=h)
    return SpinModel(m.lattice, m.terms, m.fields, "j1j2",
                     {"J1": m.params["J"], "J2": m.params["J2"], "Delta": m.params["Delta"], "h": m.params["h"]})


def xyz(lattice: Lattice, Jx: float = 1.0, Jy: float = 1.0, Jz: float = 1.0, h: float = 0.0) -> SpinModel:
    """XYZ model ``Σ_nn (Jx SxSx + Jy SySy + Jz SzSz) − h Σ Sz``; each J a number or a per-group dict."""
    Jx, Jy, Jz = (_coupling(f"xyz: {k}", v) for k, v in (("Jx", Jx), ("Jy", Jy), ("Jz", Jz)))
    h = _number("xyz: h", h)
    return SpinModel(lattice, tuple(_exchange(lattice, "nn", Jx, Jy, Jz, "xyz")),
                     (Field(-h, "z", np.arange(lattice.n_sites)),), "xyz",
                     {"Jx": _json_coupling(Jx), "Jy": _json_coupling(Jy), "Jz": _json_coupling(Jz), "h": h})


#: Conventions of :func:`tfim`.
TFIM_CONVENTIONS = ("spin", "pauli")


def tfim(lattice: Lattice, J: float = 1.0, g: float = 1.0, convention: str = "spin") -> SpinModel:
    """Transverse-field Ising model.

    ``convention="spin"`` (default, macrobell's S = σ/2 convention):
    ``H = J Σ_nn Sz Sz − g Σ_i Sx_i``, i.e. ``(J/4) Σ σzσz − (g/2) Σ σx`` in
    Pauli units. The chain is critical at ``g = J/2`` (not at the default
    ``g = 1`` with ``J = 1``).

    ``convention="pauli"`` (TeNPy's ``TFIChain``/``TFIModel``):
    ``H = −J Σ_nn σx σx − g Σ_i σz_i`` with Pauli matrices; ``J > 0`` is
    ferromagnetic and the chain is critical at ``g = J`` (P. Pfeuty, Ann.
    Phys. 57, 79 (1970): free fermions with ``ε_k = 2 √(J² + g² − 2 J g cos k)``).
    On a bipartite lattice both conventions have the same spectrum up to
    ``J → 4J``, ``g → 2g`` (a sublattice rotation maps one onto the other).

    ``J`` may be a dict per nn bond group (see :func:`heisenberg`).
    """
    J, g = _coupling("tfim: J", J), _number("tfim: g", g)
    if convention not in TFIM_CONVENTIONS:
        raise ValueError(f"tfim: convention must be one of {list(TFIM_CONVENTIONS)}, got {convention!r}")
    lattice.bond_array("nn")
    sites = np.arange(lattice.n_sites)
    pairs = _group_values("tfim: J", lattice, "nn", J)
    if convention == "spin":
        terms = [Term(c, "zz", b) for b, c in pairs]
        fields = (Field(-g, "x", sites),)
    else:  # σxσx = 4 SxSx, σz = 2 Sz
        terms = [Term(-4.0 * c, "xx", b) for b, c in pairs]
        fields = (Field(-2.0 * g, "z", sites),)
    params = {"J": _json_coupling(J), "g": g}
    if convention != "spin":
        params["convention"] = convention
    return SpinModel(lattice, tuple(terms), fields, "tfim", params)


#: Factories by name, for configuration files and the command line.
MODEL_KINDS = {"heisenberg": heisenberg, "xxz": xxz, "xyz": xyz, "j1j2": j1j2, "tfim": tfim}
