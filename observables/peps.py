"""Correlators of PEPS states by boundary contraction: reduced states, all pairs, correlation tensors.

All functions take a :class:`~macrobell.tn.PEPSState` and lattice indices.
Every quantity comes from reduced density matrices of a few sites, each
computed like quimb's ``compute_partial_traces_boundary``: the norm network
``<ψ|ψ>`` is contracted by boundary MPS of bond ``state.chi`` from all four
sides onto the smallest rectangle (*plaquette*) that holds the chosen sites
(quimb ``compute_plaquette_environments``, one set per plaquette size); the
plaquette's ket and bra layers, with the chosen sites' physical bonds cut,
are then contracted exactly with that environment. Each reduced state is
normalised by its own trace, which cancels the normalisation error of the
environment. With ``chi`` at or above the exact boundary rank (small
lattices) the results are exact.

Cost: one environment set per distinct plaquette size, then one exact
contraction of a ``dx × dy`` double-layer plaquette per site tuple, so sites
far apart (large plaquettes) are the expensive ones — the backend targets
small lattices (a few × a few sites), where the K-region correlation tensor
is simply the average of ``Π N_X`` K-site reduced states (one site per
region) and all pair correlators take ``N(N−1)/2`` two-site reduced states.
Measured (2 cores, chi = 4 D²): 3 × 3, D = 2: all pairs 0.3 s; 4 × 4 simple-update
Heisenberg state, D = 3: sublattice tensor 1.5 s, all pairs 3.3 s; D = 4 (chi = 64):
62 s and 96 s, dominated by the exact contraction of the large plaquettes of
distant pairs.

Conventions as everywhere: ``|0> = |↑>`` (σz = +1), a reduced state's first
listed site is its most significant tensor factor, ``C[i, j, a, b] =
<σ_a^i σ_b^j>`` with σ_0 = 1.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from macrobell.tn import PEPSState

from ._checks import region_arrays, site_array
from ._pauli import PAULI, fill_diagonal_blocks

__all__ = ["peps_reduced_state", "peps_reduced_states", "peps_pair_correlations", "peps_correlation_tensor",
           "peps_correlation_cost", "PEPSCostWarning", "PEPS_WARN_SECONDS", "PEPS_WARN_GIB", "PEPS_MAX_REGIONS",
           "PEPS_MAX_TUPLES"]

#: Largest number of regions K of :func:`peps_correlation_tensor` (K-site reduced states of 4^K entries).
PEPS_MAX_REGIONS = 6
#: Largest number of site tuples (one site per region) averaged by :func:`peps_correlation_tensor`.
PEPS_MAX_TUPLES = 20_000
#: Layer tags of the norm network (quimb's defaults): ket and bra layers are absorbed one by one.
_LAYER_TAGS = ("KET", "BRA")

#: Contraction-path finders of the plaquette contractions, by plaquette size: cotengra's "greedy" up to
#: this many sites, "auto" above. Measured (random PEPS, D = 2-4): "auto-hq" (optimal search) costs
#: seconds per path on 3 × 3 plaquettes, far more than the contraction; "greedy" picks paths ~5× slower
#: than "auto" on 4 × 2 plaquettes at D = 4, "auto" searches ~5× longer than "greedy" on small ones.
_GREEDY_MAX_SITES = 6



def _check(state, where):
    if not isinstance(state, PEPSState):
        raise ValueError(f"{where}: expected a PEPSState, got {type(state).__name__}")
    if state.peps is None or state.coords is None or len(state.coords) != state.n_sites:
        raise ValueError(f"{where}: the PEPSState has no PEPS or no site coordinates for its {state.n_sites} sites")


def peps_reduced_states(state: PEPSState, groups) -> list:
    """Reduced density matrices of several site groups, each ``2^k × 2^k`` complex.

    Parameters
    ----------
    state : PEPSState
    groups : sequence of sequences of int
        Each a list of distinct lattice sites; the first listed site is the
        most significant tensor factor of its reduced state.

    Returns
    -------
    list of ndarray
        One normalised (unit-trace, Hermitian) matrix per group, in order.
    """
    from macrobell.tn.peps import quimb_tensor
    quimb_tensor()
    from quimb.tensor.tnag.core import partial_traces_from_environment

    _check(state, "reduced_state")
    psi = state.peps
    coos = [tuple(state.coo(s) for s in g) for g in groups]
    norm, ket, bra = psi.make_norm(layer_tags=_LAYER_TAGS, return_all=True)
    # group the site tuples by the smallest rectangle (plaquette) holding them
    by_size = defaultdict(list)
    for t, where in enumerate(coos):
        xs, ys = zip(*where)
        x0, y0 = min(xs), min(ys)
        by_size[max(xs) - x0 + 1, max(ys) - y0 + 1].append((t, ((x0, y0), (max(xs) - x0 + 1, max(ys) - y0 + 1))))
    out = [None] * len(coos)
    for (dx, dy), items in by_size.items():
        envs = norm.compute_plaquette_environments(x_bsz=dx, y_bsz=dy, max_bond=state.chi, cutoff=0.0,
                                                   canonize=True, method="mps", layer_tags=_LAYER_TAGS)
        optimize = "greedy" if dx * dy <= _GREEDY_MAX_SITES else "auto"
        for t, p in items:
            (x0, y0), _ = p
            tags = tuple(psi.site_tag(x, y) for x in range(x0, x0 + dx) for y in range(y0, y0 + dy))
            ket_local = ket.select_any(tags, virtual=False)
            bra_local = bra.select_any(tags, virtual=False)
            rho = partial_traces_from_environment(psi, [coos[t]], ket_local, bra_local, envs[p],
                                                  normalized=True, get="matrix", optimize=optimize)[coos[t]]
            rho = np.asarray(rho, dtype=complex)
            out[t] = (rho + rho.conj().T) / 2   # Hermitian part: remove contraction round-off
    return out


def peps_reduced_state(state: PEPSState, sites) -> np.ndarray:
    """Reduced density matrix of ``sites`` (lattice indices, any order), ``2^k × 2^k`` complex.

    The first listed site is the most significant tensor factor.
    """
    s = site_array(sites, state.n_sites, "reduced_state", "sites")
    return peps_reduced_states(state, [s.tolist()])[0]


class PEPSCostWarning(UserWarning):
    """A PEPS correlation tensor is estimated to take long (:func:`peps_correlation_cost`); DMRG on the
    lattice's snake MPS (``method="dmrg"``, cylinders included) is the tool for such lattices."""


#: Estimated seconds above which :func:`peps_correlation_tensor` warns up front (:class:`PEPSCostWarning`).
PEPS_WARN_SECONDS = 60.0
#: ... or when one intermediate array of a plaquette contraction is estimated above this many GiB.
PEPS_WARN_GIB = 1.0
#: Cost-model constants (seconds per modelled flop, one core of the 2-core development machine), fitted
#: to ``benchmarks/bench_peps.py`` (3 × 3 to 5 × 5, D = 2-4, chi = 4 D²; see peps_correlation_cost).
_ENV_S_PER_FLOP = 8e-10
_PLAQ_S_PER_FLOP = 3e-11
#: Fixed seconds per environment set and lattice site, and per plaquette contraction (contraction-path
#: search, Python overhead per tensor).
_ENV_S_FIXED_PER_SITE = 0.04
_PLAQ_S_FIXED = 0.05


def peps_correlation_cost(state: PEPSState, regions) -> dict:
    """Up-front estimate of the time of :func:`peps_correlation_tensor`, from a measured cost model.

    The tensor averages ``Π N_X`` K-site reduced states. Per distinct plaquette size one set of
    boundary environments is built (boundary MPS of bond ``chi`` — at most the exact boundary rank
    ``D^(2 ⌊min(Lx, Ly)/2⌋)`` — swept from four sides over the ``Lx × Ly`` double-layer network, then
    along every strip: modelled ``Lx Ly max(Lx, Ly) D⁴ chi³`` flops); per site tuple its
    ``dx × dy`` plaquette is contracted exactly, sweeping along its long side with a frontier of
    ``min(dx, dy)`` double-layer bonds (``D^(2 min)``) and an environment bond ``chi`` on each long
    side that does not lie on the lattice edge: modelled ``dx dy D^(2 min + 8) chi_1 chi_2`` flops
    (the exponent fitted: quimb's contraction path through plaquette and environment costs more than
    the ideal sweep's ``D^(2 min + 4)``), plus a fixed cost per contraction and per environment site.
    The constants (:data:`_ENV_S_PER_FLOP`, :data:`_PLAQ_S_PER_FLOP`) are fitted to
    ``benchmarks/bench_peps.py`` on one core of the development machine; the estimate is an order of
    magnitude, meant to tell seconds from hours.

    Returns
    -------
    dict
        ``seconds`` (total), ``env_seconds``, ``plaquette_seconds``, ``n_tuples``, ``n_sizes``,
        ``largest_plaquette`` ``(dx, dy)``, ``frontier_gib`` (the largest intermediate array of one
        plaquette contraction, ``8 D^(2 min + 2) chi_1 chi_2`` bytes; several are held at once).
    """
    where = "correlation_cost"
    _check(state, where)
    regs = region_arrays(regions, state.n_sites, where, PEPS_MAX_REGIONS,
                         "PEPS_MAX_REGIONS: T averages K-site reduced states")
    count = int(np.prod([r.size for r in regs], dtype=float))
    if count > PEPS_MAX_TUPLES:
        raise ValueError(f"{where}: regions of sizes {[r.size for r in regs]} need {count} reduced states; the "
                         f"PEPS backend's limit is {PEPS_MAX_TUPLES} (PEPS_MAX_TUPLES)")
    coords = np.asarray(state.coords, dtype=int)
    # plaquette corners of every tuple at once: min/max over one site per region
    grids = np.meshgrid(*[np.arange(r.size) for r in regs], indexing="ij")
    stack = np.stack([coords[r][g.ravel()] for r, g in zip(regs, grids)])  # (K, n_tuples, 2)
    return _tuples_cost(state, stack.min(axis=0), stack.max(axis=0))


def _pairs_cost(state) -> dict:
    """:func:`peps_correlation_cost` of all ``N(N−1)/2`` pairs (:func:`peps_pair_correlations`)."""
    coords = np.asarray(state.coords, dtype=int)
    i, j = np.triu_indices(len(coords), 1)
    return _tuples_cost(state, np.minimum(coords[i], coords[j]), np.maximum(coords[i], coords[j]))


def _tuples_cost(state, lo, hi) -> dict:
    Lx, Ly = state.peps.Lx, state.peps.Ly
    D, chi = int(state.peps.max_bond()), int(state.chi)
    ext = hi - lo + 1
    n_tuples = ext.shape[0]
    sizes = {tuple(e) for e in np.unique(ext, axis=0).tolist()}
    # the boundary MPS never exceeds the exact boundary rank D^(2 floor(min(Lx, Ly) / 2))
    chi_env = min(float(chi), float(D) ** (2 * (min(Lx, Ly) // 2)))
    env_flops = len(sizes) * Lx * Ly * max(Lx, Ly) * float(D) ** 4 * chi_env ** 3
    dx, dy = ext[:, 0].astype(float), ext[:, 1].astype(float)
    m = np.minimum(dx, dy)
    # environment bonds along the long sides: absent where the plaquette touches the lattice edge there
    long_is_x = dx >= dy
    side1 = np.where(long_is_x, lo[:, 1] > 0, lo[:, 0] > 0)
    side2 = np.where(long_is_x, hi[:, 1] < Ly - 1, hi[:, 0] < Lx - 1)
    chis = np.where(side1, chi, 1.0) * np.where(side2, chi, 1.0)
    plaq_flops = float(np.sum(dx * dy * float(D) ** (2 * m + 8) * chis))
    env_s = len(sizes) * Lx * Ly * _ENV_S_FIXED_PER_SITE + env_flops * _ENV_S_PER_FLOP
    plaq_s = n_tuples * _PLAQ_S_FIXED + plaq_flops * _PLAQ_S_PER_FLOP
    big = tuple(int(v) for v in ext[np.argmax(dx * dy)])
    # largest intermediate: the frontier D^(2 min) x chi_1 chi_2 x one site's D² (measured: a 4 x 3 plaquette
    # inside a 6 x 6 lattice at D = 4, chi = 64 allocates 2^24 x 16 doubles = 2 GiB, several at once)
    frontier_gib = float(np.max(8.0 * float(D) ** (2 * m + 2) * chis)) / 2 ** 30
    return {"seconds": env_s + plaq_s, "env_seconds": env_s, "plaquette_seconds": plaq_s, "n_tuples": int(n_tuples),
            "n_sizes": len(sizes), "largest_plaquette": big, "frontier_gib": frontier_gib}


def _warn_if_slow(state, cost, what):
    """Say up front, with the estimate, when a PEPS observable will take more than PEPS_WARN_SECONDS."""
    if cost["seconds"] <= PEPS_WARN_SECONDS and cost["frontier_gib"] <= PEPS_WARN_GIB:
        return
    import warnings

    Lx, Ly = state.peps.Lx, state.peps.Ly
    mem = (f", with intermediate arrays of ~{cost['frontier_gib']:.3g} GiB each"
           if cost["frontier_gib"] > PEPS_WARN_GIB else "")
    warnings.warn(
        f"PEPS {what} on the {Lx} x {Ly} lattice (D={state.peps.max_bond()}, chi={state.chi}) is estimated to "
        f"take ~{_fmt_seconds(cost['seconds'])} on one core{mem}: {cost['n_tuples']} reduced states, each an exact "
        f"contraction of a plaquette up to {cost['largest_plaquette'][0]} x {cost['largest_plaquette'][1]} sites, "
        f"plus {cost['n_sizes']} boundary-environment sets (peps_correlation_cost). For lattices this large "
        f"use DMRG on the snake MPS: ground_state(model, method='dmrg') (open or cylinder lattices, e.g. "
        f"square(Lx, Ly, pbc_y=True)), whose effective states take one sweep.", PEPSCostWarning, stacklevel=4)


def _fmt_seconds(s):
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.0f} days"


def _pauli_expectations(rho, k):
    """``E[a_1…a_k] = Re Tr(ρ σ_{a_1} ⊗ … ⊗ σ_{a_k})`` of a ``2^k × 2^k`` matrix, shape (4,)*k."""
    r = np.asarray(rho).reshape((2,) * (2 * k))   # kets s_1…s_k, bras t_1…t_k
    # Tr(ρ ⊗σ) = Σ_{s,t} ρ[s, t] Π_X σ_{a_X}[t_X, s_X]
    letters = "abcdefghijklmnopqrstuvwxyz"
    s_idx, t_idx, a_idx = letters[:k], letters[k:2 * k], letters[2 * k:3 * k].upper()
    expr = s_idx + t_idx + "".join(f",{a_idx[X]}{t_idx[X]}{s_idx[X]}" for X in range(k)) + "->" + a_idx
    return np.real(np.einsum(expr, r, *([PAULI] * k), optimize=True))


def peps_pair_correlations(state: PEPSState) -> np.ndarray:
    """All two-point functions ``C[i, j, a, b] = <σ_a^i σ_b^j>``, shape (N, N, 4, 4), real.

    ``C[i, j]`` for ``i ≠ j`` from the two-site reduced states (one per
    unordered pair); diagonal blocks follow the dense backend: ``C[i, i] =
    1`` with ``C[i, i, 0, b] = C[i, i, b, 0] = <σ_b^i>`` from one-site
    reduced states.
    """
    _check(state, "pair_correlations")
    n = state.n_sites
    _warn_if_slow(state, _pairs_cost(state), "all pair correlations")
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    rhos = peps_reduced_states(state, [[i] for i in range(n)] + [list(p) for p in pairs])
    C = np.zeros((n, n, 4, 4))
    fill_diagonal_blocks(C, [_pauli_expectations(rhos[i], 1) for i in range(n)])
    for (i, j), rho in zip(pairs, rhos[n:]):
        E = _pauli_expectations(rho, 2)
        C[i, j] = E
        C[j, i] = E.T
    return C


def peps_correlation_tensor(state: PEPSState, regions) -> np.ndarray:
    """Normalised collective moments ``T[a_1…a_K] = <Π_X m^X_{a_X}>``, shape (4,)*K, real.

    ``m^X_a = (1/N_X) Σ_{i∈R_X} σ_a^i`` (σ_0 = 1), so ``T[0…0] = 1``. Since
    the regions are disjoint, ``T`` is the Pauli expansion of the average of
    the K-site reduced states ``ρ_{l_1…l_K}`` over one site per region
    (``Π N_X`` of them, at most :data:`PEPS_MAX_TUPLES`).

    Parameters
    ----------
    state : PEPSState
    regions : sequence of sequences of int
        K disjoint, non-empty lists of lattice sites, ``1 <= K <= PEPS_MAX_REGIONS``.
    """
    where = "correlation_tensor"
    _check(state, where)
    n = state.n_sites
    regs = region_arrays(regions, n, where, PEPS_MAX_REGIONS,
                         "PEPS_MAX_REGIONS: T averages K-site reduced states")
    K = len(regs)
    count = int(np.prod([r.size for r in regs], dtype=float))
    if count > PEPS_MAX_TUPLES:
        raise ValueError(f"{where}: regions of sizes {[r.size for r in regs]} need {count} {K}-site reduced "
                         f"states (one site per region); the PEPS backend's limit is {PEPS_MAX_TUPLES} "
                         f"(PEPS_MAX_TUPLES); use fewer or smaller regions, or an MPS/exact state")
    _warn_if_slow(state, peps_correlation_cost(state, regs), f"the K={K} correlation tensor")
    tuples = [list(t) for t in itertools.product(*[r.tolist() for r in regs])]
    rho = sum(peps_reduced_states(state, tuples)) / count
    return _pauli_expectations(rho, K)


# --------------------------------------------------------------------------- registration (observables._dispatch)
from ._dispatch import register_observables  # noqa: E402  (the registration block ends the module)

# no mbody_tensor: M > 1 averages one boundary-contracted reduced state per site tuple (api, size-limited)
register_observables(PEPSState, correlation_tensor=peps_correlation_tensor,
                     pair_correlations=peps_pair_correlations, reduced_state=peps_reduced_state,
                     reduced_states=peps_reduced_states)
