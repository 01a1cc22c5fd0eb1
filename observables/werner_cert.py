"""Certificates that a two-qubit state inherits a Werner-state LHV model.

A Werner bound (local for all POVMs at ``V <= 1/2``, for all projective
measurements at ``V <= 0.6875``) is a statement about the Werner state only.
It carries over to a state ``rho`` that can be written as

    ``rho = (1 - t) rho_W(V') + t sigma``,   ``sigma`` separable, ``V'`` <= bound,

because the states with an LHV model for a given class of measurements form a
convex set that contains every separable state (a convex mixture of local
models is a local model; Werner, PRA 40, 4277 (1989)).  For two qubits
``sigma`` is separable iff it is PPT (Peres, PRL 77, 1413 (1996); Horodecki,
Horodecki, Horodecki, PLA 223, 1 (1996)).

``V' = bound`` is no loss of generality: for ``V'' < V'``,
``rho_W(V'') = (V''/V') rho_W(V') + (1 - V''/V') 1/4`` and ``1/4`` is
separable, so any decomposition with ``V''`` is one with ``V'`` (and a larger
separable part).

With ``V'`` fixed, ``t sigma = rho - (1 - t) rho_W(V')`` is determined by
``t``: the "SDP in (t, t sigma)" has one free variable.  With ``s = 1 - t``
the constraints are the two linear matrix inequalities
``rho - s W >= 0`` and ``rho^Gamma - s W^Gamma >= 0`` (``W = rho_W(V')``,
``Gamma`` = partial transpose on qubit B).  Their smallest eigenvalues are
concave in ``s``, so the feasible set is an interval; we locate its largest
point (smallest ``t``) by golden-section search for the maximum of the
concave function followed by bisection, always keeping the last point that
evaluated as feasible.  The certificate is then *verified* afresh: ``sigma``
is rebuilt from ``(rho, V', t)`` and its eigenvalues and those of its partial
transpose must be ``>= -tol``; the level is granted only on that check,
never on the search having succeeded.

Local frames.  A local unitary maps LHV models to LHV models of the same
measurement class, and ``rho_W`` is ``U (x) U`` invariant, so every
``(U_A (x) U_B) rho_W (U_A (x) U_B)^dagger`` equals
``(1 (x) U) rho_W (1 (x) U)^dagger`` with ``U = U_B U_A^dagger``: a frame
rotation on B alone covers the whole local-unitary orbit.  :func:`werner_frame`
picks ``U`` from the correlation block (closest rotation), and the
certificate may use it (``frame``).

Safety margin: the search only ever keeps a ``t`` at which both smallest
eigenvalues evaluated ``>= 0``; the check accepts ``>= -tol`` (``tol`` =
1e-10), so a search point passes the check with ``tol`` to spare for the
rounding of the reconstruction.

Conventions: ``rho`` is 4x4 with qubit A the most significant factor;
``rho_W(V) = V |psi-><psi-| + (1 - V) 1/4``, ``|psi-> = (|01> - |10>)/sqrt 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import thresholds as th
from ._pauli import PAULI

__all__ = ["WernerCertificate", "werner_certificate", "verify_werner_certificate", "werner_frame",
           "frame_rotation"]

_PSI_MINUS = np.array([0.0, 1.0, -1.0, 0.0]) / math.sqrt(2.0)
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_PAULI = PAULI[1:]  # sigma_x, sigma_y, sigma_z


@dataclass(frozen=True)
class WernerCertificate:
    """``rho = (1 - t) rho_W(V) + t sigma`` with ``sigma`` separable (verified).

    Attributes
    ----------
    V : float
        Visibility ``V'`` of the Werner component (the threshold used).
    t : float
        Weight of the separable part, in ``[0, 1]``.
    sigma : ndarray (4, 4) or None
        The separable part (``None`` when ``t == 0``: ``rho`` is ``rho_W(V)``).
    min_eig, min_pt_eig : float
        Smallest eigenvalues of ``sigma`` and ``sigma^Gamma`` (of
        ``rho - rho_W(V)`` and its partial transpose when ``t == 0``).
    residual : float
        ``max |(1 - t) rho_W(V) + t sigma - rho|`` of the reconstruction.
    verified : bool
        All checks of :func:`verify_werner_certificate` passed.
    frame : ndarray (2, 2) or None
        Unitary ``U`` on qubit B: the Werner component is
        ``(1 (x) U) rho_W(V) (1 (x) U)^dagger``; ``None`` = identity.
    """

    V: float
    t: float
    sigma: np.ndarray | None
    min_eig: float
    min_pt_eig: float
    residual: float
    verified: bool
    frame: np.ndarray | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly summary; ``frame`` as B's 3x3 rotation (:func:`frame_rotation`) or None."""
        return {"V": float(self.V), "t": float(self.t), "min_eig": float(self.min_eig),
                "min_pt_eig": float(self.min_pt_eig), "residual": float(self.residual),
                "verified": bool(self.verified),
                "frame": None if self.frame is None else frame_rotation(self.frame).tolist()}


def frame_rotation(U: np.ndarray) -> np.ndarray:
    """SO(3) matrix ``O`` of a qubit unitary: ``U (m . sigma) U^dagger = (O m) . sigma``."""
    U = np.asarray(U, dtype=complex)
    return np.einsum("iab,bc,jcd,ad->ij", _PAULI, U, _PAULI, U.conj()).real / 2.0


def werner_frame(T: np.ndarray) -> np.ndarray | None:
    """Unitary ``U`` on B bringing the correlation block closest to Werner form.

    For ``(1 (x) U) rho_W(V) (1 (x) U)^dagger`` the block ``T[1:, 1:]`` is
    ``-V O^T`` with ``O`` = :func:`frame_rotation` of ``U``.  ``O^T`` is taken
    as the rotation closest to ``-T[1:, 1:]`` (orthogonal Procrustes with
    ``det = +1``).  Returns ``None`` when the block vanishes (no frame).
    """
    C = np.asarray(T, dtype=float)[1:, 1:]
    if np.linalg.norm(C) < 1e-12:
        return None
    P, _, Qt = np.linalg.svd(-C)
    D = np.diag([1.0, 1.0, np.sign(np.linalg.det(P @ Qt)) or 1.0])
    O = (P @ D @ Qt).T
    # Axis-angle of O -> U = exp(-i theta/2 n.sigma), which rotates Bloch vectors by O.
    angle = math.acos(max(-1.0, min(1.0, (np.trace(O) - 1.0) / 2.0)))
    if angle < 1e-12:
        return np.eye(2, dtype=complex)
    if math.pi - angle < 1e-6:
        # Near pi: the axis is the eigenvector of O with eigenvalue 1.
        w, v = np.linalg.eigh(0.5 * (O + O.T))
        n = v[:, -1]
    else:
        n = np.array([O[2, 1] - O[1, 2], O[0, 2] - O[2, 0], O[1, 0] - O[0, 1]]) / (2 * math.sin(angle))
    n = n / np.linalg.norm(n)
    U = math.cos(angle / 2) * np.eye(2) - 1j * math.sin(angle / 2) * np.tensordot(n, _PAULI, axes=1)
    if np.max(np.abs(frame_rotation(U) - O)) > 1e-8:
        U = U.conj().T  # the axis sign was ambiguous (angle ~ pi)
    return U


def _werner(V: float, frame: np.ndarray | None = None) -> np.ndarray:
    W = V * np.outer(_PSI_MINUS, _PSI_MINUS).astype(complex) + (1.0 - V) * np.eye(4) / 4.0
    if frame is None:
        return W
    K = np.kron(np.eye(2), frame)
    return K @ W @ K.conj().T


def _pt_b(X: np.ndarray) -> np.ndarray:
    """Partial transpose on qubit B (the least significant factor)."""
    return X.reshape(2, 2, 2, 2).transpose(0, 3, 2, 1).reshape(4, 4)


def _min_eig(X: np.ndarray) -> float:
    return float(np.linalg.eigvalsh(0.5 * (X + X.conj().T))[0])


def _check_frame(frame: np.ndarray | None) -> np.ndarray | None:
    if frame is None:
        return None
    frame = np.asarray(frame, dtype=complex)
    if frame.shape != (2, 2) or np.max(np.abs(frame @ frame.conj().T - np.eye(2))) > 1e-12:
        raise ValueError("frame must be a 2x2 unitary (to 1e-12) or None")
    return frame


def _check_inputs(rho: np.ndarray, V: float) -> tuple[np.ndarray, float]:
    rho = np.asarray(rho, dtype=complex)
    if rho.shape != (4, 4):
        raise ValueError(f"werner certificate needs a 4x4 rho, got shape {rho.shape}")
    V = float(V)
    if not -1.0 / 3.0 <= V <= 1.0:
        raise ValueError(f"Werner visibility V must lie in [-1/3, 1], got {V}")
    return 0.5 * (rho + rho.conj().T), V


def verify_werner_certificate(rho: np.ndarray, V: float, t: float, tol: float = th.NUMERIC_TOL,
                              frame: np.ndarray | None = None) -> WernerCertificate:
    """Check ``rho = (1 - t) rho_W(V) + t sigma`` with ``sigma`` PSD and PPT.

    ``sigma = (rho - (1 - t) rho_W(V)) / t`` is rebuilt here from the three
    numbers alone; the certificate is ``verified`` iff ``0 <= t <= 1`` and the
    smallest eigenvalues of ``sigma`` and ``sigma^Gamma`` are ``>= -tol``
    (for ``t == 0``: those of ``rho - rho_W(V)``, i.e. ``rho`` equals the
    Werner state to ``tol``).  The reconstruction residual is reported.

    Parameters
    ----------
    rho : ndarray (4, 4)
    V : float
        Visibility of the Werner component.
    t : float
        Weight of the separable part.
    tol : float
        Eigenvalue slack for floating-point rounding (not physics).
    frame : ndarray (2, 2), optional
        Unitary on B of the Werner component (see :func:`werner_frame`).
    """
    rho, V = _check_inputs(rho, V)
    frame = _check_frame(frame)
    t = float(t)
    W = _werner(V, frame)
    X = rho - (1.0 - t) * W
    if t > 0.0:
        sigma = X / t
        residual = float(np.max(np.abs((1.0 - t) * W + t * sigma - rho)))
    else:
        sigma, residual = None, float(np.max(np.abs(W - rho)))
    Y = X if sigma is None else sigma
    e, e_pt = _min_eig(Y), _min_eig(_pt_b(Y))
    # For t > 0 the residual only measures rounding of the reconstruction; for
    # t = 0 it is |rho - rho_W(V)| itself, already bounded by the eigenvalue test.
    ok = bool(0.0 <= t <= 1.0 and e >= -tol and e_pt >= -tol and (t == 0.0 or residual <= 1e-12))
    return WernerCertificate(V=V, t=t, sigma=sigma, min_eig=e, min_pt_eig=e_pt,
                             residual=residual, verified=ok, frame=frame)


def _feasibility(rho: np.ndarray, V: float, frame: np.ndarray | None):
    """``g(t) = min(lambda_min(X), lambda_min(X^G))``, ``X = rho - (1 - t) W``; concave in t.

    Same floating-point operations as :func:`verify_werner_certificate`
    (the partial transpose is an exact permutation), so a ``t`` the search
    found feasible is judged on the same numbers by the check.
    """
    W = _werner(V, frame)

    def g(t: float) -> float:
        X = rho - (1.0 - t) * W
        return min(_min_eig(X), _min_eig(_pt_b(X)))

    return g


def _line(x0: float, y0: float, x1: float, y1: float, x: float) -> float:
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _concave_upper(a, ga, c, gc, d, gd, b, gb) -> float:
    """Upper bound on ``max g`` over [a, b] for concave g known at a < c < d < b.

    Outside [c, d] g lies below the chord through c, d extended; inside, below
    the chords (a, c) and (d, b) extended.
    """
    outer = max(gc, gd, _line(c, gc, d, gd, a), _line(c, gc, d, gd, b))
    left = max(_line(a, ga, c, gc, c), _line(a, ga, c, gc, d)) if c > a else math.inf
    right = max(_line(d, gd, b, gb, c), _line(d, gd, b, gb, d)) if b > d else math.inf
    return max(outer, min(left, right))


def _golden_max(g, lo: float, hi: float, xtol: float) -> tuple[float, float]:
    """A feasible point (``g >= 0``), or the best point found once concavity
    proves ``max g < 0`` (or the bracket is below ``xtol``)."""
    a, b = lo, hi
    ga, gb = g(a), g(b)
    if ga >= 0.0 or gb >= 0.0:
        return (a, ga) if ga >= gb else (b, gb)
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    gc, gd = g(c), g(d)
    while b - a > xtol and gc < 0.0 and gd < 0.0:
        if _concave_upper(a, ga, c, gc, d, gd, b, gb) < 0.0:
            break
        if gc >= gd:
            b, gb, d, gd = d, gd, c, gc
            c = b - _GOLDEN * (b - a)
            gc = g(c)
        else:
            a, ga, c, gc = c, gc, d, gd
            d = a + _GOLDEN * (b - a)
            gd = g(d)
    return (c, gc) if gc >= gd else (d, gd)


def werner_certificate(rho: np.ndarray, V: float, tol: float = th.NUMERIC_TOL,
                       xtol: float = 1e-13, frame: np.ndarray | None = None) -> WernerCertificate | None:
    """Smallest-``t`` decomposition ``rho = (1 - t) rho_W(V) + t sigma``, verified.

    Parameters
    ----------
    rho : ndarray (4, 4)
        Two-qubit state (A most significant).
    V : float
        Visibility of the Werner component, normally a threshold of
        :mod:`.thresholds` (``WERNER_LOCAL_POVM``, ``WERNER_LOCAL_PROJECTIVE``);
        by the argument in the module docstring ``V' = threshold`` loses
        nothing.
    tol : float
        Eigenvalue slack of the final check (rounding, not physics).
    xtol : float
        Resolution in ``t`` of the search.
    frame : ndarray (2, 2), optional
        Unitary on B: decompose against ``(1 (x) U) rho_W(V) (1 (x) U)^dagger``.

    Returns
    -------
    WernerCertificate or None
        ``None`` when the search finds no decomposition; otherwise the
        certificate, whose ``verified`` flag is the result of
        :func:`verify_werner_certificate` on ``(rho, V, t)``.  Only a verified
        certificate proves anything.
    """
    rho, V = _check_inputs(rho, V)
    frame = _check_frame(frame)
    psi = _PSI_MINUS if frame is None else np.kron(np.eye(2), frame) @ _PSI_MINUS
    # Necessary condition, exact: a separable state has fidelity <= 1/2 with a
    # maximally entangled one, so <psi|rho|psi> <= max((1+3V)/4, 1/2).
    if (psi.conj() @ rho @ psi).real > max((1.0 + 3.0 * V) / 4.0, 0.5) + tol:
        return None
    g = _feasibility(rho, V, frame)
    if g(0.0) >= -tol:  # rho is rho_W(V) to rounding
        cert = verify_werner_certificate(rho, V, 0.0, tol=tol, frame=frame)
        if cert.verified:
            return cert
    t0, g0 = _golden_max(g, 0.0, 1.0, xtol)
    if g0 < 0.0:
        return None
    lo, hi = 0.0, t0  # g(lo) < 0 <= g(hi) (or lo = hi = 0): bisect, keeping the feasible end
    for _ in range(200):
        if hi - lo <= xtol:
            break
        mid = 0.5 * (lo + hi)
        if g(mid) >= 0.0:
            hi = mid
        else:
            lo = mid
    return verify_werner_certificate(rho, V, hi, tol=tol, frame=frame)
