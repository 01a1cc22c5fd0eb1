"""TeNPy interoperability: :func:`from_tenpy` and its inverse :func:`to_tenpy`.

TeNPy (``physics-tenpy``, the optional ``symmetric`` or ``bench`` extra) is imported lazily;
without it both functions raise a :class:`ValueError` that says how to
install it.

Conventions. A TeNPy MPS (``tenpy.networks.mps.MPS``, finite boundaries)
has site ``k`` = lattice site ``k``, like :func:`~macrobell.tn.from_quimb`;
macrobell keeps its MPS in the lattice's MPS order and reorders on the way
in and out. The local basis of each TeNPy site is read from its ``Sz``
operator (spin-1/2 operators, ``Sz = ±1/2``): TeNPy sites that conserve
``Sz`` sort their basis by charge (``down`` first), macrobell's is
``|0> = |up>`` (``σ_z = diag(1, −1)``), so the basis is permuted to match.
A purification (``tenpy.networks.purification_mps.PurificationMPS``, legs
``vL, p, q, vR`` with ancilla ``q``; Karrasch, Bardarson & Moore,
PRL 108, 227206 (2012)) maps to macrobell's local dimension 4 with index
``s = 2 p + a`` (physical ``p``, ancilla ``a``); the ancilla takes the same
basis permutation as the physical leg, which leaves ``ρ = Tr_a |ψ><ψ|``
unchanged.
"""

from __future__ import annotations

import numpy as np

from macrobell.lattice import Lattice, SpinModel

from .mps_state import mps_state_from_quimb, reorder_mps
from .state import MPSState

__all__ = ["from_tenpy", "to_tenpy"]

_INSTALL = "TeNPy is not installed: pip install physics-tenpy (or macrobell[symmetric])"


def _tenpy():
    try:
        import tenpy  # noqa: F401
        from tenpy.networks.mps import MPS
        from tenpy.networks.purification_mps import PurificationMPS
    except ImportError:
        raise ValueError(_INSTALL) from None
    return MPS, PurificationMPS


def _up_first(site) -> np.ndarray:
    """Permutation ``perm`` with ``macrobell index i`` = TeNPy index ``perm[i]`` (``up`` first)."""
    try:
        sz = np.asarray(site.get_op("Sz").to_ndarray())
    except (KeyError, AttributeError, ValueError):
        raise ValueError(f"from_tenpy: site {site!r} has no Sz operator; spin-1/2 sites are required") from None
    if sz.shape != (2, 2) or not np.allclose(sz, np.diag(np.diag(sz))) \
            or not np.allclose(sorted(np.diag(sz).real), [-0.5, 0.5]):
        raise ValueError(f"from_tenpy: sites must be spin-1/2 with Sz = diag(±1/2), got Sz = {sz.tolist()}")
    return np.argsort(-np.diag(sz).real)


def _tenpy_arrays(psi, purified: bool = False) -> list:
    """A finite TeNPy MPS as dense arrays ``(χl, d, χr)`` in macrobell's basis, TeNPy's site order kept.

    Right-canonical (B form) with the left singular values absorbed into the first array, so the arrays
    are the state itself; ``purified``: ``d = 4``, ``s = 2 p + a``.
    """
    arrays = []
    for k in range(psi.L):
        perm = _up_first(psi.sites[k])
        B = psi.get_B(k, form="B", copy=True)
        if purified:
            a = B.itranspose(["vL", "p", "q", "vR"]).to_ndarray()[:, perm][:, :, perm]
            a = a.reshape(a.shape[0], 4, a.shape[3])  # s = 2 p + a
        else:
            a = B.itranspose(["vL", "p", "vR"]).to_ndarray()[:, perm]
        arrays.append(a)
    # B form: the state is S[0] B_0 B_1 ... with a trivial S[0] for finite boundaries.
    arrays[0] = np.tensordot(np.diag(np.asarray(psi.get_SL(0))), arrays[0], axes=(1, 0))
    return arrays


def from_tenpy(psi, lattice: Lattice, model: SpinModel | None = None) -> MPSState:
    """Wrap a TeNPy MPS or purified MPS as an :class:`MPSState`.

    Parameters
    ----------
    psi : tenpy.networks.mps.MPS or tenpy.networks.purification_mps.PurificationMPS
        Finite boundaries, spin-1/2 sites; site ``k`` is lattice site ``k``.
    lattice : Lattice
    model : SpinModel, optional
        If given, ``energy`` (and ``energy_variance``) are ``<H>`` from the MPO.

    Returns
    -------
    MPSState
        As :func:`~macrobell.tn.from_quimb` returns (normalised, in the
        lattice's MPS order, ``temperature = nan``), ``purified=True`` for a
        ``PurificationMPS``; ``diagnostics.extra["method"] = "from_tenpy"``.
    """
    MPS, PurificationMPS = _tenpy()
    import quimb.tensor as qtn

    if not isinstance(psi, MPS):
        raise ValueError(f"from_tenpy: psi must be a tenpy MPS or PurificationMPS, got {type(psi).__name__}")
    if psi.bc != "finite":
        raise ValueError(f"from_tenpy: psi must have finite boundaries (bc='finite'), got bc={psi.bc!r}")
    if not isinstance(lattice, Lattice):
        raise ValueError(f"from_tenpy: lattice must be a macrobell.lattice.Lattice, got {type(lattice).__name__}")
    if psi.L != lattice.n_sites:
        raise ValueError(f"from_tenpy: the MPS has length {psi.L} but the lattice has {lattice.n_sites} sites")
    purified = isinstance(psi, PurificationMPS)
    arrays = _tenpy_arrays(psi, purified)
    qarrays = [a.transpose(0, 2, 1) for a in arrays]  # quimb "lrp" order
    qarrays[0] = qarrays[0][0]
    qarrays[-1] = qarrays[-1][:, 0] if len(qarrays) > 1 else qarrays[-1]
    mps = qtn.MatrixProductState(qarrays, shape="lrp")
    state = mps_state_from_quimb(mps, lattice, model=model, purified=purified)
    d = state.diagnostics
    state.diagnostics = d.replace(extra={**dict(d.extra or {}), "method": "from_tenpy"})
    return state


def to_tenpy(state: MPSState, sites=None):
    """The TeNPy MPS (or ``PurificationMPS`` for ``purified=True``) of a macrobell :class:`MPSState`.

    Parameters
    ----------
    state : MPSState
    sites : list of tenpy Site, optional
        One spin-1/2 site per lattice site (default
        ``SpinHalfSite(conserve=None)``): the tensors are written in each
        site's basis (see the module notes on ``Sz``-sorted bases).

    Returns
    -------
    tenpy.networks.mps.MPS or tenpy.networks.purification_mps.PurificationMPS
        Site ``k`` = lattice site ``k``, canonical form, norm 1;
        ``from_tenpy(to_tenpy(s), s.lattice)`` is ``s`` again.
    """
    MPS, PurificationMPS = _tenpy()
    import tenpy.linalg.np_conserved as npc
    from tenpy.networks.site import SpinHalfSite

    if not isinstance(state, MPSState):
        raise ValueError(f"to_tenpy: state must be an MPSState, got {type(state).__name__}")
    lattice = state.lattice
    n = lattice.n_sites
    if sites is None:
        sites = [SpinHalfSite(conserve=None) for _ in range(n)]
    if len(sites) != n:
        raise ValueError(f"to_tenpy: {len(sites)} sites given for a lattice of {n} sites")
    if any(s.leg.chinfo.qnumber for s in sites):
        raise ValueError("to_tenpy: sites must not conserve charges (conserve=None); a charge-conserving MPS "
                         "needs TeNPy's own constructors")
    psi = state.mps
    order = np.asarray(lattice.order)
    if not np.array_equal(order, np.arange(n)):
        psi = reorder_mps(psi, np.argsort(order))  # back to site k = lattice site k
    arrays = MPSState(lattice=lattice, model=None, temperature=0.0, mps=psi,
                      purified=state.purified).arrays(canonical="right")
    Bs = []
    for k, a in enumerate(arrays):
        inv = np.argsort(_up_first(sites[k]))  # TeNPy index j = macrobell index inv[j]
        if state.purified:
            t = a.reshape(a.shape[0], 2, 2, a.shape[2])[:, inv][:, :, inv]
            Bs.append(npc.Array.from_ndarray_trivial(t, labels=["vL", "p", "q", "vR"]))
        else:
            Bs.append(a[:, inv].transpose(1, 0, 2))  # from_Bflat takes (p, vL, vR)
    if state.purified:
        SVs = [np.ones(1)] + [np.ones(b.get_leg("vR").ind_len) for b in Bs]
        out = PurificationMPS(sites, Bs, SVs, bc="finite", form="B", unit_cell_width=n)
    else:
        out = MPS.from_Bflat(sites, Bs, bc="finite", form="B", unit_cell_width=n)
    out.canonical_form()  # the true singular values on every bond
    return out
