"""The seed's Section IV story: with N_A = 1, N_B = 2, two settings never violate, three can.

Ramanathan et al., PRL 107, 060405 (2011): the effective state of one qubit
(A) against the average of two qubits (B = {B1, B2}),
``rho_eff = (rho_{A B1} + rho_{A B2}) / 2``, has a symmetric extension, so no
two-setting Bell inequality is violated; with three settings I3322 can be
(Terhal, Doherty, Schwab, PRL 90, 157903 (2003); Collins & Gisin, J. Phys. A
37, 1775 (2004)).  This script

1. searches random 3-qubit states for a violation with two settings per
   party (LP/settings seesaw, ``bell.search``) and by a seesaw over states
   and settings of CHSH -- none is found, the maximum stays at the local bound;
2. maximises I3322 over 3-qubit pure states and settings (seesaw: the best
   state for fixed settings is the top eigenvector of the averaged Bell
   operator, the best settings for a fixed state are closed-form updates)
   and certifies the violation it finds through the real pipeline
   (``tn.from_dense`` -> ``effective_state``) and the local-polytope LP.

Run ``python examples/seed_settings.py [--restarts 30] [--seed 0] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

import macrobell as mb
from macrobell.observables import bell
from macrobell.observables.bell.behaviour import bell_operator
from macrobell.observables.bell.named import CHSH_COEFFICIENTS, I3322_COEFFICIENTS
from macrobell.observables.bell.search import maximise_settings, random_settings
from macrobell.observables.criteria import T_from_rho


def effective_state(psi: np.ndarray) -> "mb.observables.EffectiveState":
    """N_A = 1 (site 0), N_B = 2 (sites 1, 2) effective state of a 3-qubit state, by the real pipeline."""
    lat = mb.lattice.chain(3)
    part = mb.lattice.Partition.custom(lat, {"A": [0], "B": [1, 2]})
    return mb.observables.effective_state(mb.tn.from_dense(psi, lat), part)


def _effective_T(psi: np.ndarray) -> np.ndarray:
    """Fast version of :func:`effective_state` for the inner loop (partial traces)."""
    X = psi.reshape(2, 2, 2)
    rho_ab1 = np.einsum("abk,cdk->abcd", X, X.conj()).reshape(4, 4)
    rho_ab2 = np.einsum("akb,ckd->abcd", X, X.conj()).reshape(4, 4)
    return T_from_rho((rho_ab1 + rho_ab2) / 2)


def averaged_operator(coefficients: np.ndarray, settings) -> np.ndarray:
    """``(B_{A B1} + B_{A B2}) / 2`` on three qubits (A, B1, B2): its expectation
    in a 3-qubit state is the Bell value of the effective state."""
    B = bell_operator(coefficients, settings).reshape(2, 2, 2, 2)
    eye = np.eye(2)
    on_b1 = np.einsum("abcd,ef->aebcfd", B, eye).reshape(8, 8)
    on_b2 = np.einsum("abcd,ef->abecdf", B, eye).reshape(8, 8)
    return (on_b1 + on_b2) / 2


def state_settings_seesaw(coefficients, S, restarts, rng, rounds=60):
    """Maximise a Bell expression over 3-qubit pure states and settings; returns (value, psi, settings)."""
    best = (-np.inf, None, None)
    for _ in range(restarts):
        settings = random_settings(S, rng)
        value = -np.inf
        for _ in range(rounds):
            w, v = np.linalg.eigh(averaged_operator(coefficients, settings))
            psi = v[:, -1]
            settings, new = maximise_settings(_effective_T(psi), coefficients, settings)
            if new <= value + 1e-12:
                break
            value = new
        if value > best[0]:
            best = (value, psi, settings)
    return best


def random_state(rng, rank):
    G = rng.standard_normal((8, rank)) + 1j * rng.standard_normal((8, rank))
    if rank == 1:
        return G[:, 0] / np.linalg.norm(G)
    rho = G @ G.conj().T
    return rho / np.trace(rho).real


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--restarts", type=int, default=30)
    ap.add_argument("--states", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)

    vis2 = []
    for k in range(a.states):
        eff = effective_state(random_state(rng, 1 + k % 3))
        vis2.append(bell.search(eff, settings=2, restarts=6, seed=rng).visibility)
    chsh_best = state_settings_seesaw(CHSH_COEFFICIENTS, [2, 2], a.restarts, rng)[0]
    value, psi, settings = state_settings_seesaw(I3322_COEFFICIENTS, [3, 3], a.restarts, rng)
    # Certify through the pipeline: the state's effective state, the LP at those settings.
    eff = effective_state(psi)
    i3322_pipeline = float(np.sum(I3322_COEFFICIENTS * bell.correlators(eff, settings)))
    lp = bell.local_visibility(eff, settings)
    out = {"min_visibility_2_settings_random": float(min(vis2)), "chsh_max_state_seesaw": float(chsh_best),
           "i3322_max": i3322_pipeline, "i3322_local_bound": 4.0, "lp_visibility_3_settings": lp.visibility,
           "psi_real": psi.real.tolist(), "psi_imag": psi.imag.tolist(),
           "settings": [np.asarray(s).tolist() for s in settings]}
    if a.json:
        print(json.dumps(out))
        return 0
    print("N_A = 1, N_B = 2 effective states (rho_AB1 + rho_AB2)/2 of 3-qubit states")
    print(f"{'quantity':<52s} {'value':>12s} {'local bound':>12s}")
    print(f"{'2 settings: min LP visibility, ' + str(a.states) + ' random states':<52s} "
          f"{min(vis2):12.6f} {1.0:12.6f}")
    print(f"{'2 settings: max CHSH, seesaw over states':<52s} {chsh_best:12.6f} {2.0:12.6f}")
    print(f"{'3 settings: max I3322, seesaw over states':<52s} {i3322_pipeline:12.6f} {4.0:12.6f}")
    print(f"{'3 settings: LP visibility at those settings':<52s} {lp.visibility:12.6f} {1.0:12.6f}")
    print("state (|A B1 B2>, qubit A most significant):")
    for i, c in enumerate(psi):
        if abs(c) > 1e-6:
            print(f"  |{i:03b}>  {c.real:+.6f} {c.imag:+.6f}i")
    return 0


if __name__ == "__main__":
    sys.exit(main())
