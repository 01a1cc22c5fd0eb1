"""Matrix product operators of spin models, in the lattice's MPS order.

A :class:`~macrobell.lattice.SpinModel` is a list of Pauli-pair terms on
bond arrays; here every term is handed to quimb's
:class:`quimb.operator.SparseOperatorBuilder`, whose greedy finite-state
machine builds an MPO for arbitrary-range two-site terms. So periodic rings,
ladders, next-nearest J2 and 2D snakes all come out of the same code path
(quimb's ``SpinHam1D`` is nearest-neighbour only, and its cyclic MPOs have
known trouble, quimb issue #341; the builder's MPO is an *open* MPO whose
long-range terms simply ride on extra rails).

Real models stay real: ``σy σy = −(iσy)(iσy)`` and quimb's real operator
``"ⴵ" = ZX = iσy`` let every term with an even number of ``y`` s be written
with real matrices, so DMRG on Heisenberg/XXZ/TFIM runs in real arithmetic.
"""

from __future__ import annotations

import numpy as np

from macrobell.lattice import SpinModel

__all__ = ["model_to_mpo", "mpo_arrays", "mpo_transpose", "check_order"]

# quimb's real "Y": ⴵ = Z·X = iσy = [[0, 1], [-1, 0]], so σy = −i·ⴵ.
_REAL_Y = "ⴵ"


def check_order(order, n: int, where: str) -> np.ndarray:
    """Validate an MPS order (a permutation of ``0..n-1``) and return it as an int array."""
    try:
        o = np.asarray(order, dtype=int).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: order must be a permutation of 0..{n - 1}, got {order!r}") from None
    if o.shape != (n,) or not np.array_equal(np.sort(o), np.arange(n)):
        raise ValueError(f"{where}: order must be a permutation of 0..{n - 1}, got {o.tolist()}")
    return o


def _pauli_term(coef, ops):
    """Rewrite ``coef · Π σ_{ops}`` with real operators: each ``y`` → ``−i ⴵ``."""
    ny = ops.count("y")
    c = complex(coef) * (-1j) ** ny
    c = c.real if abs(c.imag) < 1e-300 or c.imag == 0 else c
    return c, tuple(_REAL_Y if o == "y" else o for o in ops)


def model_to_mpo(model: SpinModel, order=None):
    """The Hamiltonian of ``model`` as a quimb ``MatrixProductOperator``.

    Parameters
    ----------
    model : SpinModel
        Terms ``c S^a_i S^b_j`` and fields ``c S^a_i`` with ``S = σ/2``.
    order : sequence of int, optional
        MPS order: ``order[k]`` is the lattice site placed at MPO site ``k``.
        Defaults to ``model.lattice.order``.

    Returns
    -------
    quimb.tensor.MatrixProductOperator
        Open-boundary MPO with ``N`` sites, physical dimension 2; real
        (``float64``) when ``model.is_real``. Its dense form equals
        ``model.to_sparse()`` with the tensor factors permuted into MPS order
        (site 0 most significant, as everywhere in macrobell).
    """
    import quimb.tensor as qtn
    from quimb.operator import HilbertSpace, SparseOperatorBuilder

    if not isinstance(model, SpinModel):
        raise ValueError(f"model_to_mpo: model must be a SpinModel, got {type(model).__name__}")
    n = model.n_sites
    order = model.lattice.order if order is None else check_order(order, n, "model_to_mpo")
    pos = np.empty(n, dtype=int)
    pos[order] = np.arange(n)
    if n < 2:
        raise ValueError(f"model_to_mpo: an MPO needs at least 2 sites, the lattice has {n}")

    builder = SparseOperatorBuilder(hilbert_space=HilbertSpace(n), atol=1e-14)
    for t in model.terms:
        c, ops = _pauli_term(t.coefficient / 4.0, t.ops)  # S^a S^b = σ^a σ^b / 4
        for i, j in t.bonds:
            builder.add_term(c, (ops[0], int(pos[i])), (ops[1], int(pos[j])))
    for f in model.fields:
        c, ops = _pauli_term(f.coefficient / 2.0, f.op)  # S^a = σ^a / 2
        for i in f.sites:
            builder.add_term(c, (ops[0], int(pos[i])))
    dtype = np.float64 if model.is_real else np.complex128
    if builder.nterms == 0:
        # A zero Hamiltonian: an identity MPO times 0 keeps shapes and dtype uniform.
        return qtn.MPO_identity(n, phys_dim=2, dtype=dtype).multiply(0.0, spread_over="all")
    mpo = builder.build_mpo(dtype=dtype)
    return mpo


def mpo_arrays(mpo) -> list:
    """MPO tensors as numpy arrays ``W[k]`` of shape ``(D_left, D_right, out, in)``.

    ``out`` is the MPO's upper (ket) index; boundary tensors get bond size 1.
    """
    L = mpo.L
    out = []
    for k in range(L):
        t = mpo[k]
        left = mpo.bond(k - 1, k) if k > 0 else None
        right = mpo.bond(k, k + 1) if k < L - 1 else None
        inds = [x for x in (left, right) if x is not None] + [mpo.upper_ind(k), mpo.lower_ind(k)]
        a = np.asarray(t.transpose(*inds).data)
        if left is None:
            a = a[None]
        if right is None:
            a = a[:, None]
        out.append(a)
    return out


def mpo_transpose(mpo):
    """The MPO of ``H^T`` (= ``H*`` for Hermitian H): physical in/out swapped on every tensor.

    quimb's DMRG aligns the ket's site indices with the MPO's *upper* index,
    i.e. it minimises ``ψ^T H ψ* = <ψ|H^T|ψ>``. For a complex Hermitian H
    the DMRG must therefore be given ``H^T`` to return the ground state of H
    (for real H the two coincide and no copy is needed).
    """
    import quimb.tensor as qtn

    arrs = []
    L = mpo.L
    for k, W in enumerate(mpo_arrays(mpo)):
        W = W.transpose(0, 1, 3, 2)
        if k == 0:
            W = W[0]
        elif k == L - 1:
            W = W[:, 0]
        arrs.append(W)
    return qtn.MatrixProductOperator(arrs, shape="lrud")
