"""The PEPS cost model and its up-front warning: counts against the contractions actually run, the
warning before any work on a lattice where PEPS is the wrong tool, silence on small ones."""

import itertools
import warnings

import numpy as np
import pytest

import macrobell as mb
from macrobell.observables import peps as opeps
from macrobell.tn.peps import peps_state_from_quimb, quimb_tensor

qtn = quimb_tensor()


def _state(L, D, seed=3):
    lat = mb.lattice.square(L, L)
    return peps_state_from_quimb(qtn.PEPS.rand(L, L, bond_dim=D, seed=seed, dtype="float64"), lat, normalize=False)


def _brute_sizes(state, regions):
    sizes = set()
    for t in itertools.product(*regions):
        xy = np.array([state.coo(s) for s in t])
        sizes.add(tuple(xy.max(axis=0) - xy.min(axis=0) + 1))
    return sizes


@pytest.mark.parametrize("parts", ["halves", "sublattices", "blocks3"])
def test_counts_equal_the_contractions_run(parts, monkeypatch):
    """n_tuples / n_sizes are the plaquette contractions / environment sets the tensor really computes."""
    st = _state(3, 2)
    lat = st.lattice
    part = {"halves": mb.lattice.Partition.halves(lat), "sublattices": mb.lattice.Partition.sublattices(lat),
            "blocks3": mb.lattice.Partition.blocks(lat, 3)}[parts]
    regions = [r.tolist() for r in part.regions]
    cost = opeps.peps_correlation_cost(st, regions)
    assert cost["n_tuples"] == int(np.prod([len(r) for r in regions]))
    assert cost["n_sizes"] == len(_brute_sizes(st, regions))
    calls = {"env": 0}
    real = type(st.peps.make_norm()).compute_plaquette_environments

    def counting(self, *a, **k):
        calls["env"] += 1
        return real(self, *a, **k)

    monkeypatch.setattr(type(st.peps.make_norm()), "compute_plaquette_environments", counting)
    seen = []
    real_rs = opeps.peps_reduced_states
    monkeypatch.setattr(opeps, "peps_reduced_states", lambda s, g: seen.extend(g) or real_rs(s, g))
    opeps.peps_correlation_tensor(st, regions)
    assert calls["env"] == cost["n_sizes"] and len(seen) == cost["n_tuples"]
    assert cost["seconds"] == pytest.approx(cost["env_seconds"] + cost["plaquette_seconds"])


def test_pair_cost_counts_all_pairs():
    st = _state(3, 2)
    c = opeps._pairs_cost(st)
    assert c["n_tuples"] == 9 * 8 // 2
    assert c["n_sizes"] == len(_brute_sizes(st, [[0], list(range(1, 9))]) | {
        tuple(np.abs(np.subtract(st.coo(i), st.coo(j))) + 1) for i in range(9) for j in range(i + 1, 9)})


def test_large_lattice_warns_before_any_work(monkeypatch):
    """6 x 6 at D = 4 (measured: does not finish the halves in 10 min) warns with the estimate and the
    alternative, before a single reduced state is computed."""
    st = _state(6, 4)
    regions = [r.tolist() for r in mb.lattice.Partition.halves(st.lattice).regions]
    cost = opeps.peps_correlation_cost(st, regions)
    assert cost["seconds"] > 10 * opeps.PEPS_WARN_SECONDS and cost["largest_plaquette"] == (6, 6)
    # measured: a 4 x 3 plaquette of it allocates 2 GiB arrays and the run exceeds a 10 GiB limit
    assert cost["frontier_gib"] >= 2.0

    class Stop(Exception):
        pass

    def no_work(*a, **k):
        raise Stop

    monkeypatch.setattr(opeps, "peps_reduced_states", no_work)
    with pytest.warns(opeps.PEPSCostWarning, match=r"(?s)6 x 6.*estimated.*GiB.*method='dmrg'"):
        with pytest.raises(Stop):
            mb.observables.correlation_tensor(st, regions)
    with pytest.warns(opeps.PEPSCostWarning, match="all pair correlations"):
        with pytest.raises(Stop):
            mb.observables.pair_correlations(st)


def test_small_lattice_is_silent():
    st = _state(3, 2)
    regions = [r.tolist() for r in mb.lattice.Partition.halves(st.lattice).regions]
    assert opeps.peps_correlation_cost(st, regions)["seconds"] < opeps.PEPS_WARN_SECONDS
    with warnings.catch_warnings():
        warnings.simplefilter("error", opeps.PEPSCostWarning)
        mb.observables.correlation_tensor(st, regions)


def test_estimate_grows_with_lattice_and_bond():
    """Monotone in L and D (the model must never call a bigger job cheaper)."""
    def est(L, D):
        st = _state(L, D)
        return opeps.peps_correlation_cost(st, [r.tolist() for r in
                                                mb.lattice.Partition.halves(st.lattice).regions])["seconds"]

    assert est(3, 2) < est(4, 2) < est(5, 2) < est(6, 2)
    assert est(4, 2) < est(4, 3) < est(4, 4)


def test_cost_bad_input():
    st = _state(3, 2)
    with pytest.raises(ValueError, match="correlation_cost"):
        opeps.peps_correlation_cost(st, [[0, 1], [1, 2]])  # overlapping regions
    with pytest.raises(ValueError, match="correlation_cost"):
        opeps.peps_correlation_cost(st, [[0], [99]])
    with pytest.raises(ValueError, match="PEPSState"):
        opeps.peps_correlation_cost(mb.tn.from_dense(np.eye(4)[0], mb.lattice.chain(2)), [[0], [1]])
