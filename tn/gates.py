"""Imaginary-time gates of a :class:`~macrobell.lattice.SpinModel` in MPS order.

The Hamiltonian is split into *pieces* ``h_b`` (one per bond of the model,
on-site fields folded into a bond that touches the site) and the pieces into
*layers* of mutually commuting (site-disjoint) bonds. A Trotter step is a
symmetric composition of layer exponentials:

* order 2 (Strang): ``S2(τ) = e^{-τ/2 L_0} … e^{-τ/2 L_{m-2}} e^{-τ L_{m-1}}
  e^{-τ/2 L_{m-2}} … e^{-τ/2 L_0}``, local error O(τ³) for any number of
  layers (symmetric product of a Lie splitting and its adjoint; Suzuki,
  Phys. Lett. A 146, 319 (1990)). For a nearest-neighbour chain the two
  layers are the even and odd bonds (the classic TEBD brick wall).
* order 4: a symmetric composition of ``S2`` stages with real, partly
  negative weights (negative imaginary-time sub-steps cannot be avoided at
  order > 2: Sheng 1989, Suzuki 1991). Two schemes are tabulated:
  ``"suzuki"`` (fractal, Suzuki 1990: five stages p, p, 1−4p, p, p with
  p = 1/(4 − 4^{1/3})) and ``"forest-ruth"`` (Forest & Ruth, Physica D 43,
  105 (1990) = Yoshida's triple jump, Phys. Lett. A 150, 262 (1990): w1, w0,
  w1 with w1 = 1/(2 − 2^{1/3})).

Consecutive exponentials of the same layer (at stage and step boundaries)
are merged, so in an order-2 step the first and the last layer run once and
every other layer twice (a nearest-neighbour chain: each bond once).

Positions are MPS positions (``lattice.mps_position``); a gate on
``(k, l)``, ``k < l``, acts on ``site at k ⊗ site at l`` (k is the most
significant factor). Bonds with ``l > k + 1`` are applied by the caller with
swap gates.

Why not quimb's ``edge_coloring`` / ``trotter_schedule`` (issue 10,
``benchmarks/bench_library.py``): quimb's networkx line-graph colouring needs
up to 26 % more SVDs per merged step as returned and still up to 6 % more
(square, kagome, J1-J2 chain) with our layer order, and changes every Trotter
splitting; ``trotter_schedule`` gives bit-identical sequences for order 2 and
order-4 Suzuki but has no Forest-Ruth scheme and would import ``quimb.tensor``
(≈2 s) into the purification backend, which does not otherwise need it.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from macrobell.lattice.models import _swap4

__all__ = ["hamiltonian_pieces", "commuting_layers", "trotter_stages", "step_sequence", "merge_sequence",
           "exp_gate", "SCHEMES"]

_P4 = 1.0 / (4.0 - 4.0 ** (1.0 / 3.0))
_W1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
#: Stage weights of the symmetric compositions of S2 (they sum to 1).
SCHEMES = {
    2: (1.0,),
    "suzuki": (_P4, _P4, 1.0 - 4.0 * _P4, _P4, _P4),
    "forest-ruth": (_W1, 1.0 - 2.0 * _W1, _W1),
}


def hamiltonian_pieces(model):
    """The model as pieces on MPS positions.

    Returns
    -------
    bonds : list of (k, l, h)
        ``k < l`` MPS positions, ``h`` (4, 4) on ``site(k) ⊗ site(l)``;
        every one-site field is added (as ``f ⊗ 1`` or ``1 ⊗ f``) to exactly
        one bond touching its site, so ``H = Σ h + Σ singles``.
    singles : list of (k, h)
        Fields on sites that have no bond (``h`` 2×2).
    """
    pos = model.lattice.mps_position
    bonds = []
    for i, j, h in model.two_site_terms():
        k, l = int(pos[i]), int(pos[j])
        h = np.asarray(h)
        if k > l:
            k, l, h = l, k, _swap4(h)
        bonds.append([k, l, h])
    bonds.sort(key=lambda b: (b[0], b[1]))
    singles = []
    eye = np.eye(2)
    for i, f in model.one_site_terms():
        k = int(pos[i])
        # Fold into the shortest bond touching the site (fewest swaps); any choice is a valid splitting.
        touching = [b for b in bonds if k in (b[0], b[1])]
        f = np.asarray(f)
        if not touching:
            singles.append((k, f))
            continue
        b = min(touching, key=lambda b: b[1] - b[0])
        extra = np.kron(f, eye) if b[0] == k else np.kron(eye, f)
        b[2] = b[2] + extra
    return [(k, l, h) for k, l, h in bonds], singles


def _cost(bond):
    k, l = bond[0], bond[1]
    return 2 * (l - k - 1) + 1  # SVDs: swaps in, gate, swaps out


def commuting_layers(bonds):
    """Greedy edge colouring: layers of site-disjoint bonds (indices into ``bonds``).

    Bonds are taken in MPS order, so a nearest-neighbour chain gives the
    even/odd layers. Layers are then sorted so the two most expensive ones
    (in SVDs, swaps included) sit where a merged Strang step applies a layer
    once: first and last.
    """
    layers, busy = [], []
    for b, (k, l, _) in enumerate(bonds):
        for lay, used in zip(layers, busy):
            if k not in used and l not in used:
                lay.append(b)
                used.update((k, l))
                break
        else:
            layers.append([b])
            busy.append({k, l})
    if len(layers) > 2:
        cost = [sum(_cost(bonds[b]) for b in lay) for lay in layers]
        idx = sorted(range(len(layers)), key=lambda i: -cost[i])
        order = [idx[0]] + idx[2:] + [idx[1]]
        layers = [layers[i] for i in order]
    return layers


def trotter_stages(order, scheme=None):
    """Stage weights for ``order`` in {2, 4} (``scheme`` selects the order-4 composition)."""
    if order == 2:
        return SCHEMES[2]
    if order == 4:
        return SCHEMES[scheme or "suzuki"]
    raise ValueError(f"order must be 2 or 4, got {order!r}")


def step_sequence(n_layers, weights, dt):
    """One Trotter step as a list of ``(layer, τ)`` exponentials ``e^{-τ L_layer}`` (unmerged)."""
    seq = []
    for w in weights:
        t = w * dt
        if n_layers == 1:
            seq.append((0, t))
            continue
        seq += [(m, t / 2) for m in range(n_layers - 1)]
        seq.append((n_layers - 1, t))
        seq += [(m, t / 2) for m in range(n_layers - 2, -1, -1)]
    return seq


def merge_sequence(seq):
    """Merge consecutive exponentials of the same layer (they commute with themselves)."""
    out = []
    for m, t in seq:
        if out and out[-1][0] == m:
            out[-1] = (m, out[-1][1] + t)
        else:
            out.append((m, t))
    return [(m, t) for m, t in out if t != 0.0]


def exp_gate(h, tau, dtype=None):
    """``e^{-τ h}`` for a Hermitian ``h`` (via its eigendecomposition, exact to rounding)."""
    w, v = sla.eigh(h)
    g = (v * np.exp(-tau * (w - 0.0))) @ v.conj().T
    if dtype is not None and np.issubdtype(dtype, np.floating):
        g = g.real
    return np.ascontiguousarray(g, dtype=dtype)
