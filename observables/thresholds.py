"""Physics constants used by the LHV criteria, each with its source.

Every number that decides a verdict lives here, once, next to the paper it
comes from (docs/physics.md lists them all, with the derivations).  The
criteria module never hard-codes a threshold.

Conventions
-----------
Correlation tensors use Pauli matrices (eigenvalues ±1), not spin-1/2
operators: ``T_ab = Tr(rho sigma_a (x) sigma_b)``.  The two-qubit Werner
state is ``rho_W(V) = V |psi-><psi-| + (1 - V) 1/4``; its visibility is
``V = -(T_xx + T_yy + T_zz) / 3``.

Numerical slack (``NUMERIC_TOL``) is *not* physics: it only absorbs
floating-point rounding when a computed number sits exactly on a bound.
"""

from __future__ import annotations

import math

__all__ = [
    "WERNER_SEPARABLE",
    "WERNER_LOCAL_POVM",
    "WERNER_LOCAL_POVM_SEED",
    "WERNER_LOCAL_PROJECTIVE",
    "WERNER_LOCAL_PROJECTIVE_SEED",
    "WERNER_BELL_VIOLATED",
    "WERNER_CHSH_VIOLATED",
    "WERNER_UNSTEERABLE",
    "WERNER_I3322_VIOLATED",
    "KG3_UPPER",
    "KG3_LOWER",
    "GROTHENDIECK_LOCAL",
    "CHSH_CLASSICAL",
    "CHSH_TSIRELSON",
    "ZB_BOUND",
    "JEVTIC_BOUND",
    "BOWLES_BOUND",
    "I3322_CLASSICAL",
    "I3322_QUANTUM_TWO_QUBIT",
    "NUMERIC_TOL",
    "WERNER_BOUNDS",
    "SEED_WERNER_BOUNDS",
    "werner_bounds_summary",
]

# --- Werner-state visibility thresholds  rho_W(V) = V |psi-><psi-| + (1-V) 1/4 ---

#: Separable iff ``V <= 1/3`` (PPT boundary).
#: Source: R. F. Werner, Phys. Rev. A 40, 4277 (1989).
WERNER_SEPARABLE: float = 1.0 / 3.0

#: Local hidden-variable model for *all POVMs* iff ``V <= 1/2`` (tight).
#: Sources: N. Renner, arXiv:2309.12290, PRL 132, 250202 (2024);
#: Y. Zhang & E. Chitambar, PRL 132, 250201 (2024).
WERNER_LOCAL_POVM: float = 0.5

#: The older POVM-locality bound quoted by the seed paper.
#: Source: J. Barrett, Phys. Rev. A 65, 042302 (2002).
WERNER_LOCAL_POVM_SEED: float = 5.0 / 12.0

#: Local for all *projective* measurements for ``V <= 1/K_G(3)``; the best
#: proven value is 0.6875 (from K_G(3) <= 1.4546).
#: Source: S. Designolle, G. Iommazzo, M. Besançon, S. Knebel, P. Gelß,
#: S. Pokutta, Phys. Rev. Research 5, 043059 (2023), arXiv:2302.04721.
WERNER_LOCAL_PROJECTIVE: float = 0.6875

#: The older projective-locality bound quoted by the seed paper (~0.66).
#: Source: A. Acín, N. Gisin, B. Toner, Phys. Rev. A 73, 062105 (2006).
WERNER_LOCAL_PROJECTIVE_SEED: float = 0.66

#: Some Bell inequality (projective measurements) is violated for
#: ``V > 0.6961`` (from K_G(3) >= 1.4367).
#: Source: Designolle et al., Phys. Rev. Research 5, 043059 (2023).
WERNER_BELL_VIOLATED: float = 0.6961

#: CHSH is violated iff ``V > 1/sqrt(2)`` (Horodecki criterion applied to
#: ``T = -V 1``).  Source: R. Horodecki, P. Horodecki, M. Horodecki,
#: Phys. Lett. A 200, 340 (1995).
WERNER_CHSH_VIOLATED: float = 1.0 / math.sqrt(2.0)

#: Unsteerable under projective measurements iff ``V <= 1/2``.
#: Source: H. M. Wiseman, S. J. Jones, A. C. Doherty, PRL 98, 140402 (2007).
WERNER_UNSTEERABLE: float = 0.5

#: I3322 (Collins & Gisin, J. Phys. A 37, 1775 (2004)) is violated by the
#: Werner state for ``V > 0.8`` [derived in docs/physics.md, 'I3322'].
WERNER_I3322_VIOLATED: float = 0.8

# --- Grothendieck constant of order 3 --------------------------------------

#: Proven upper bound K_G(3) <= 1.4546 (Designolle et al. 2023).
KG3_UPPER: float = 1.4546

#: Proven lower bound K_G(3) >= 1.4367 (Designolle et al. 2023).
KG3_LOWER: float = 1.4367

#: Correlation-only locality test: if the largest singular value of the 3x3
#: block ``T_kl`` is ``<= 1/K_G(3)`` the correlations ``a^T T b`` admit an LHV
#: model for all projective settings (Acín-Gisin-Toner model composed with
#: the SVD of T) [derived in docs/physics.md, 'Grothendieck test'].  Uses the proven 0.6875 of
#: Designolle et al., Phys. Rev. Research 5, 043059 (2023).
GROTHENDIECK_LOCAL: float = WERNER_LOCAL_PROJECTIVE

# --- Bell-expression bounds ------------------------------------------------

#: Local (classical) bound of the CHSH expression.
#: Source: Clauser, Horne, Shimony, Holt, PRL 23, 880 (1969).
CHSH_CLASSICAL: float = 2.0

#: Quantum maximum of CHSH (Tsirelson 1980) = value for the singlet.
CHSH_TSIRELSON: float = 2.0 * math.sqrt(2.0)

#: Zukowski-Brukner sufficient condition: ``sum_{k in {1,2}^K} T_k^2 <= 1``
#: in every choice of local planes implies an LHV model for all two-setting
#: full-correlation inequalities.  Source: M. Zukowski, C. Brukner,
#: PRL 88, 210401 (2002).
ZB_BOUND: float = 1.0

#: T-states are unsteerable (projective measurements) iff
#: ``(1/4pi) int_{S^2} |T n| dn <= 1/2``.  Sources: S. Jevtic, M. J. W. Hall,
#: M. R. Anderson, M. Zwierz, H. M. Wiseman, JOSA B 32, A40 (2015),
#: arXiv:1411.1517; necessity and sufficiency: H. C. Nguyen & T. Vu, EPL 115,
#: 10003 (2016), arXiv:1604.03815.
JEVTIC_BOUND: float = 0.5

#: Sufficient unsteerability criterion for any two-qubit state (after
#: filtering the steered party to 1/2): ``max_x (a.x)^2 + 2 |T^T x| <= 1``.
#: Source: J. Bowles, F. Hirsch, M. T. Quintino, N. Brunner, PRA 93, 022121
#: (2016), arXiv:1510.06721.
BOWLES_BOUND: float = 1.0

#: I3322 in the correlator form of docs/physics.md, 'I3322': local bound 4.
#: Source: D. Collins, N. Gisin, J. Phys. A 37, 1775 (2004).
I3322_CLASSICAL: float = 4.0

#: I3322 two-qubit maximum 5 (the singlet; docs/physics.md, 'I3322').
I3322_QUANTUM_TWO_QUBIT: float = 5.0

# --- Numerical slack (not physics) -----------------------------------------

#: Absolute slack added to every ``value <= bound`` comparison so that a
#: quantity exactly on a bound is not flipped by rounding.  Far below any
#: physical uncertainty of the bounds themselves.
NUMERIC_TOL: float = 1e-10

# --- Which Werner bounds macrobell reports against -------------------------

#: The current bounds used by the verdict.  The ``local-povm`` and
#: ``local-projective`` values are the ``V'`` of the Werner certificates
#: (:mod:`macrobell.observables.werner_cert`): a state gets these levels only
#: as a verified mixture of ``rho_W(V')`` and a separable state, never from
#: its own ``werner_V``.  Keys are verdict levels / thresholds; each entry
#: gives the value and its source so outputs can state which bound was used.
WERNER_BOUNDS: dict[str, dict[str, object]] = {
    "separable": {
        "value": WERNER_SEPARABLE,
        "source": "Werner, PRA 40, 4277 (1989)",
    },
    "local-povm": {
        "value": WERNER_LOCAL_POVM,
        "source": "Renner, PRL 132, 250202 (2024); Zhang & Chitambar, "
        "PRL 132, 250201 (2024)",
    },
    "local-projective": {
        "value": WERNER_LOCAL_PROJECTIVE,
        "source": "Designolle et al., PRR 5, 043059 (2023) (1/K_G(3), "
        "K_G(3) <= 1.4546)",
    },
    "unsteerable": {
        "value": WERNER_UNSTEERABLE,
        "source": "Wiseman, Jones, Doherty, PRL 98, 140402 (2007)",
    },
    "bell-violated": {
        "value": WERNER_BELL_VIOLATED,
        "source": "Designolle et al., PRR 5, 043059 (2023) (K_G(3) >= 1.4367)",
    },
    "chsh-violated": {
        "value": WERNER_CHSH_VIOLATED,
        "source": "Horodecki, Horodecki, Horodecki, PLA 200, 340 (1995)",
    },
}

#: The older bounds quoted by the seed paper (for comparison only; never used
#: by the verdict).
SEED_WERNER_BOUNDS: dict[str, dict[str, object]] = {
    "local-povm": {
        "value": WERNER_LOCAL_POVM_SEED,
        "source": "Barrett, PRA 65, 042302 (2002)",
    },
    "local-projective": {
        "value": WERNER_LOCAL_PROJECTIVE_SEED,
        "source": "Acin, Gisin, Toner, PRA 73, 062105 (2006)",
    },
}


def werner_bounds_summary() -> str:
    """One-line, JSON/HDF5-friendly description of the Werner bounds in use.

    Returns
    -------
    str
        ``"separable: V<=0.333333 (Werner ...); local-povm: V<=0.5 (...); ..."``
    """
    parts = []
    for name in ("separable", "local-povm", "local-projective"):
        entry = WERNER_BOUNDS[name]
        parts.append(f"{name}: V<={entry['value']:.6g} ({entry['source']})")
    return "; ".join(parts)
