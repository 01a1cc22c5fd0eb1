"""Public observables of any state: effective states, pair correlators, reduced states.

Each function validates its input, then dispatches on the state's class
through one table (:mod:`._dispatch`), filled by the backend modules: dense
states go to the numba kernels of :mod:`.dense`, MPS states (plain or
purified) to the one-sweep recurrences of :mod:`.mps`, PEPS states to the
boundary contractions of :mod:`.peps`; a mixture state
(:class:`~macrobell.tn.state.MixtureState`, registered here) gives the
weighted average of its components' values (all of these observables are
linear in ρ). Sites and regions are always lattice indices.
"""

from __future__ import annotations

import itertools

import numpy as np

from macrobell._threads import pin_threads
from macrobell.lattice import Partition
from macrobell.tn import State
from macrobell.tn.state import MixtureState

from ._checks import site_array
from ._dispatch import implementation, register_observables, registered_classes
from .effective import EffectiveState

__all__ = ["effective_state", "pair_correlations", "reduced_state", "reduced_states", "correlation_tensor",
           "MAX_REGIONS", "MAX_TUPLES"]

#: Largest number of regions K supported (the tensor T has 4^K entries and the
#: MPS sweep carries 4^K − 3^K environments).
MAX_REGIONS = 8
#: Largest number of site tuples averaged by the tuple path of M-body effective
#: states (PEPS only; dense and MPS states use the one-pass recurrences, no limit).
MAX_TUPLES = 200_000


def _check_state(state, where):
    if not isinstance(state, State):
        raise ValueError(f"{where}: expected a macrobell state (from macrobell.tn), got {type(state).__name__}")
    if not isinstance(state, registered_classes()):
        raise ValueError(f"{where}: no observables for backend {type(state).__name__}")


def _mixed(state, func, *args):
    """``Σ_k p_k func(component_k, *args)`` (observables are linear in ρ)."""
    return sum(p * np.asarray(func(c, *args)) for p, c in zip(state.weights, state.components))


def _check_partition(state, partition, where):
    if not isinstance(partition, Partition):
        raise ValueError(f"{where}: partition must be a macrobell.lattice.Partition, got {type(partition).__name__}")
    if partition.lattice.n_sites != state.n_sites:
        raise ValueError(f"{where}: the partition is on {partition.lattice.n_sites} sites, the state on {state.n_sites}")
    if partition.K > MAX_REGIONS:
        raise ValueError(f"{where}: K={partition.K} regions; at most K={MAX_REGIONS} are supported")


def correlation_tensor(state: State, regions) -> np.ndarray:
    """``T[a_1…a_K] = <Π_X m^X_{a_X}>`` with ``m^X_a = (1/N_X) Σ_{i∈R_X} σ^i_a`` (σ_0 = 1)."""
    regions = [np.asarray(r, dtype=int) for r in regions]
    return _impl(state, "correlation_tensor", "correlation_tensor")(state, regions)


def _impl(state, operation, where):
    func = implementation(state, operation)
    if func is None:
        raise ValueError(f"{where}: no observables for backend {type(state).__name__}")
    return func


def effective_state(state: State, partition: Partition, M: int = 1, context: dict | None = None) -> EffectiveState:
    """The effective K-qubit state of a partition (seed eq. 4; docs/physics.md, 'Effective state').

    ``ρ_eff = (1/Π N_X) Σ_{l_1∈R_1} … Σ_{l_K∈R_K} ρ_{l_1…l_K}``; its
    correlation tensor is the normalised collective-magnetisation moment
    tensor, computed in one pass (dense: O(K·N·2^N); MPS: one sweep).

    Parameters
    ----------
    state : State
    partition : Partition
    M : int
        Body order of the observables. ``M > 1`` gives the K·M-qubit state
        averaged over ordered M-tuples of distinct sites in each region
        (qubits grouped region by region), K·M ≤ 8 and every region with
        at least M sites. Dense and MPS states compute it in one pass with
        no site tuples (label-multiset recurrences, see
        :func:`.dense.dense_mbody_tensor`, :func:`.mps.mps_mbody_tensor`);
        PEPS states average one reduced state per tuple (at most
        ``MAX_TUPLES`` tuples).
    context : dict, optional
        Carried into the error if the state fails the physicality check
        (e.g. the sweep point's parameters).
    """
    pin_threads()
    _check_state(state, "effective_state")
    _check_partition(state, partition, "effective_state")
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M < 1:
        raise ValueError(f"effective_state: M must be an integer >= 1, got {M!r}")
    sizes = partition.sizes
    if M == 1:
        T = correlation_tensor(state, partition.regions)
        return EffectiveState(T=T, sizes=sizes, names=partition.names, M=1, context=context)
    from ._mbody import check_body_order
    M = check_body_order(M, sizes, "effective_state", names=partition.names)
    mbody = implementation(state, "mbody_tensor")
    if mbody is not None:
        T = mbody(state, partition.regions, M)
    else:
        # no one-pass recurrence (PEPS): the tuple average of reduced states, size-limited
        from .criteria import T_from_rho
        T = T_from_rho(_tuple_average_rho(state, partition.regions, M))
    return EffectiveState(T=T, sizes=sizes, names=partition.names, M=M, context=context)


def _tuple_average_rho(state: State, regions, M: int) -> np.ndarray:
    """Reference M-body state: the mean of one reduced state per site tuple (``MAX_TUPLES`` at most).

    The average over ordered M-tuples of distinct sites per region (qubits
    grouped region by region), one K·M-site reduced state per tuple — cost
    ∝ Π P(N_X, M). The PEPS path, and the independent reference that tests
    and ``benchmarks/bench_mbody.py`` compare the sweeps with.
    """
    regions = [np.asarray(r, dtype=int).tolist() for r in regions]
    sizes = [len(r) for r in regions]
    per_region = [list(itertools.permutations(r, M)) for r in regions]
    count = int(np.prod([len(p) for p in per_region], dtype=float))
    if count > MAX_TUPLES:
        raise ValueError(f"effective_state: M={M}, K={len(regions)} on regions of sizes {sizes} averages {count} "
                         f"site tuples (one reduced state each); the limit of this backend is {MAX_TUPLES} "
                         f"(MAX_TUPLES); dense and MPS states have no limit")
    groups = [[s for tup in combo for s in tup] for combo in itertools.product(*per_region)]
    return np.mean(reduced_states(state, groups), axis=0)


def _effective_state_from(cls, state: State, partition: Partition, M: int = 1, *,
                          context: dict | None = None) -> EffectiveState:
    """Effective state of any macrobell state; delegates to :func:`effective_state`."""
    # Late-bound through the import system, as when .effective imported it: a replaced
    # macrobell.observables.api module (e.g. in tests) is honoured. A self-import, not a cycle.
    from macrobell.observables.api import effective_state as build

    return build(state, partition, M=M, context=context)


# EffectiveState.from_state is attached here rather than defined in .effective: it dispatches on the
# tn backends, and .effective (imported by this module) must not import back up into it.
_effective_state_from.__name__, _effective_state_from.__qualname__ = "from_state", "EffectiveState.from_state"
EffectiveState.from_state = classmethod(_effective_state_from)


def pair_correlations(state: State) -> np.ndarray:
    """All two-point functions ``C[i, j, a, b] = <σ_a^i σ_b^j>`` (σ_0 = 1), shape (N, N, 4, 4).

    Diagonal blocks ``C[i, i]`` hold ``<σ_a σ_b>`` on one site (so
    ``C[i, i, 0, b] = <σ_b^i>``).
    """
    pin_threads()
    _check_state(state, "pair_correlations")
    return _impl(state, "pair_correlations", "pair_correlations")(state)


def reduced_states(state: State, groups) -> list:
    """Reduced density matrices of several site groups (as :func:`reduced_state`, one per group).

    MPS and PEPS states share their canonical form / environments across the
    groups, which is what M-body effective states need.
    """
    pin_threads()
    _check_state(state, "reduced_state")
    groups = [site_array(g, state.n_sites, "reduced_state") for g in groups]
    many = implementation(state, "reduced_states")
    if many is not None:
        return many(state, groups)
    return [reduced_state(state, g) for g in groups]


def reduced_state(state: State, sites) -> np.ndarray:
    """Reduced density matrix of ``sites`` (lattice indices), qubits in the order given.

    Returns a ``2^k × 2^k`` matrix; the first listed site is the most
    significant tensor factor.
    """
    pin_threads()
    _check_state(state, "reduced_state")
    s = site_array(sites, state.n_sites, "reduced_state")
    return _impl(state, "reduced_state", "reduced_state")(state, s)


# --------------------------------------------------------------------------- mixtures (linear in rho)

def _mixture_reduced_states(state, groups) -> list:
    parts = [reduced_states(c, groups) for c in state.components]
    return [sum(p * part[j] for p, part in zip(state.weights, parts)) for j in range(len(groups))]


def _mixture_mbody_tensor(state, regions, M: int) -> np.ndarray:
    comps = []
    for c in state.components:
        mbody = implementation(c, "mbody_tensor")
        if mbody is None:
            from .criteria import T_from_rho
            comps.append(T_from_rho(_tuple_average_rho(c, regions, M)))
        else:
            comps.append(mbody(c, regions, M))
    return sum(p * np.asarray(t) for p, t in zip(state.weights, comps))


register_observables(MixtureState, correlation_tensor=lambda st, regions: _mixed(st, correlation_tensor, regions),
                     pair_correlations=lambda st: _mixed(st, pair_correlations),
                     reduced_state=lambda st, s: _mixed(st, reduced_state, s),
                     reduced_states=_mixture_reduced_states, mbody_tensor=_mixture_mbody_tensor)
