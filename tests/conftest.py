"""Shared test cases: the small exact Heisenberg-ring sweep that the CLI, runner, sweep, load, plot and bad-input
tests run, written from one template, and one stored run of it for the read-only tests.

Test modules that need the text at import time (``pytest.mark.parametrize``) import
:func:`chain_sweep_toml` from here (``from conftest import chain_sweep_toml``); tests that need
a computed store take the session fixture :func:`exact_chain_store`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

_PAULIS = (np.array([[0, 1], [1, 0]], dtype=complex), np.array([[0, -1j], [1j, 0]]),
           np.array([[1, 0], [0, -1]], dtype=complex))


def chain_sweep_toml(*, L: str = "[4, 6]", Delta: str | None = "[0.5, 1.0]",
                     temperatures: str = "[0.0, 0.5, 1.0]",
                     partitions: tuple[str, ...] = ("halves", "sublattices")) -> str:
    """Sweep TOML of exact Heisenberg rings (``pbc = true``), one line per key.

    Values are TOML literals (``L="[4, 6]"``), so tests can still edit the text with
    ``str.replace`` on a whole line; ``Delta=None`` leaves the key out (model default).
    A partition entry is its kind, optionally followed by extra lines
    (``"blocks\\nK = [2, 3]"``).
    """
    lines = ["", "[lattice]", 'kind = "chain"', f"L = {L}", "pbc = true", "[model]", 'kind = "heisenberg"']
    if Delta is not None:
        lines.append(f"Delta = {Delta}")
    lines += ["[state]", 'method = "exact"', f"temperatures = {temperatures}"]
    for entry in partitions:
        kind, *extra = entry.split("\n")
        lines += ["[[partitions]]", f'kind = "{kind}"', *extra]
    return "\n".join(lines) + "\n"


#: The stored case: 2 sizes x 2 anisotropies x 3 temperatures, sublattices before halves.
EXACT_CHAIN_SWEEP = chain_sweep_toml(partitions=("sublattices", "halves"))


@pytest.fixture(scope="session")
def exact_chain_store(tmp_path_factory):
    """Path of one finished run of :data:`EXACT_CHAIN_SWEEP` (12 points, 2 partitions); read it only."""
    from macrobell.data import run_sweep

    path = tmp_path_factory.mktemp("exact_chain") / "s.h5"
    run_sweep(EXACT_CHAIN_SWEEP, path, workers=1, show_progress=False)
    return path


def brute_reduced_rho(rho, n, sites):
    """Reduced density matrix of ``sites`` (in that order) of a 2^n × 2^n matrix, by reshaping and tracing:
    the independent oracle of every reduced-state path."""
    rest = [k for k in range(n) if k not in sites]
    perm = list(sites) + rest
    t = rho.reshape((2,) * (2 * n)).transpose(perm + [n + p for p in perm])
    k = len(sites)
    t = t.reshape(2 ** k, 2 ** (n - k), 2 ** k, 2 ** (n - k))
    return np.einsum("aibi->ab", t)


def _site_op(op, i, n):
    """``op`` on site ``i`` of ``n`` (site 0 the most significant tensor factor)."""
    return np.kron(np.kron(np.eye(2 ** i), op), np.eye(2 ** (n - i - 1)))


@functools.lru_cache(maxsize=None)
def xxz_ring_oracle(L: int, Delta: float, T: float):
    """Brute-force (Kronecker products, full eigendecomposition) XXZ ring, independent of the package.

    ``H = sum_i (Sx_i Sx_{i+1} + Sy_i Sy_{i+1} + Delta Sz_i Sz_{i+1})``, ``S = sigma/2``, J = 1,
    periodic; ``T = 0`` is the (non-degenerate, for even rings) ground state, else
    ``exp(-H/T)/Z`` (k_B = 1). Returns ``(energy, rho)``.
    """
    n = L
    H = np.zeros((2 ** n, 2 ** n), dtype=complex)
    for i in range(n):
        j = (i + 1) % n
        for a, c in zip(_PAULIS, (1.0, 1.0, Delta)):
            H += c / 4 * _site_op(a, i, n) @ _site_op(a, j, n)
    w, U = np.linalg.eigh(H)
    if T == 0:
        assert w[1] - w[0] > 1e-8, "degenerate ground state: no unique T = 0 oracle"
        p = np.zeros_like(w)
        p[0] = 1.0
    else:
        p = np.exp(-(w - w[0]) / T)
        p /= p.sum()
    rho = (U * p) @ U.conj().T
    return float(np.dot(p, w)), rho


def two_region_T(rho, regions, n):
    """``T_ab = mean_{i in A, j in B} Tr(rho sigma_a^i sigma_b^j)``, a, b = x, y, z (3 x 3, real)."""
    A, B = (list(map(int, r)) for r in regions)
    T = np.zeros((3, 3))
    for a in range(3):
        for b in range(3):
            T[a, b] = np.mean([np.trace(rho @ _site_op(_PAULIS[a], i, n) @ _site_op(_PAULIS[b], j, n)).real
                               for i in A for j in B])
    return T


def horodecki_chsh_max(T3) -> float:
    """Largest CHSH value of a two-qubit correlation block: ``2 sqrt(m1 + m2)``, ``m`` the two largest
    eigenvalues of ``T^T T`` (Horodecki, Horodecki, Horodecki, Phys. Lett. A 200, 340 (1995))."""
    m = np.sort(np.linalg.eigvalsh(T3.T @ T3))
    return 2.0 * math.sqrt(max(m[-1] + m[-2], 0.0))


@functools.lru_cache(maxsize=None)
def _ring_sectors(L: int, Delta: float):
    """Eigenvalues and |eigenvector|^2 of each magnetisation sector of the XXZ ring (H conserves S^z)."""
    n = L
    states = np.arange(2 ** n)
    bits = (states[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1  # site 0 the most significant bit
    z = 1 - 2 * bits  # sigma_z eigenvalue per basis state and site
    sectors = []
    for up in range(n + 1):
        sec = states[bits.sum(axis=1) == up]
        pos = np.full(2 ** n, -1)
        pos[sec] = np.arange(sec.size)
        H = np.zeros((sec.size, sec.size))
        for i in range(n):
            j = (i + 1) % n
            zz = z[sec, i] * z[sec, j]
            H[np.arange(sec.size), np.arange(sec.size)] += Delta * zz / 4
            anti = np.flatnonzero(zz < 0)  # (S+S- + S-S+)/2 flips an antiparallel pair with amplitude 1/2
            flipped = sec[anti] ^ (1 << (n - 1 - i)) ^ (1 << (n - 1 - j))
            H[pos[flipped], anti] += 0.5
        w, U = np.linalg.eigh(H)
        sectors.append((sec, w, np.abs(U) ** 2))
    return z, sectors


def ring_zz_oracle(L: int, Delta: float, T: float):
    """Energy and ``C[i, j] = <sigma_z^i sigma_z^j>`` of the XXZ ring of :func:`xxz_ring_oracle`, by full
    diagonalisation of each magnetisation sector, for rings up to ~14 sites.

    Returns ``(energy, C)`` with ``C`` (L, L).
    """
    z, sectors = _ring_sectors(L, float(Delta))
    e0 = min(w[0] for _, w, _ in sectors)
    if T == 0:
        ps = [np.where(np.abs(w - e0) < 1e-9, 1.0, 0.0) for _, w, _ in sectors]
        assert sum(p.sum() for p in ps) == 1, "degenerate ground state: no unique T = 0 oracle"
    else:
        ps = [np.exp(-(w - e0) / T) for _, w, _ in sectors]
    Z = sum(p.sum() for p in ps)
    energy = sum(np.dot(p, w) for p, (_, w, _) in zip(ps, sectors)) / Z
    prob = np.zeros(2 ** L)
    for p, (sec, _, U2) in zip(ps, sectors):
        prob[sec] += U2 @ p / Z
    C = np.einsum("s,si,sj->ij", prob, z, z)
    return float(energy), C


def werner_level(V: float) -> str | None:
    """The verdict a two-qubit Werner state ``V |psi-><psi-| + (1-V) 1/4`` earns by its visibility alone.

    Thresholds from :mod:`macrobell.observables.thresholds`: separable ``V <= 1/3`` (Werner, PRA 40,
    4277 (1989)); LHV for all POVMs ``V <= 1/2`` (Renner, PRL 132, 250202 (2024)); for projective
    measurements ``V <= 0.6875`` (Designolle et al., PRR 5, 043059 (2023)); CHSH violated
    ``V > 1/sqrt(2)`` (Horodecki, Horodecki, Horodecki, PLA 200, 340 (1995)); ``None`` in the gap
    where no level is implied.
    """
    from macrobell.observables import thresholds as th

    if V <= th.WERNER_SEPARABLE:
        return "separable"
    if V <= th.WERNER_LOCAL_POVM:
        return "local-povm"
    if V <= th.WERNER_LOCAL_PROJECTIVE:
        return "local-projective"
    if V > th.WERNER_CHSH_VIOLATED:
        return "nonlocal"
    return None
