"""docs/architecture.md, 'Public interface': the Python interface exactly as users' scripts call it.

The snippet is that document's, with sizes shrunk (and an exact
oracle alongside) so the suite stays fast.
"""

import numpy as np
import pytest

import macrobell as mb
from conftest import werner_level
from macrobell.observables.verdict import canonical_verdict


def test_python_interface_of_design_section_5():
    lat = mb.lattice.chain(10, pbc=False)
    model = mb.lattice.heisenberg(lat, J=1.0, Delta=1.0, J2=0.0, h=0.0)
    part = mb.lattice.Partition.halves(lat)
    gs = mb.tn.ground_state(model, method="dmrg", bond_dim=32)
    ths = mb.tn.thermal_states(model, temperatures=[0.5, 1.0], method="purification", bond_dim=32, dtau=0.1)
    assert [t.temperature for t in ths] == [0.5, 1.0]
    ex = mb.tn.ground_state(model, method="exact")
    st = mb.tn.from_dense(ex.vector, lat)
    st2 = mb.tn.from_quimb(gs.mps, lat)
    assert gs.info["converged"] and gs.info["max_bond"] <= 32
    assert gs.energy == pytest.approx(ex.energy, abs=1e-8)
    eff = mb.observables.effective_state(gs, part)
    assert isinstance(eff, mb.observables.EffectiveState) and eff.K == 2
    assert eff.T.shape == (4, 4) and eff.rho.shape == (4, 4)
    crit = eff.criteria()
    assert crit["verdict"] in ("separable", "local-povm", "local-projective", "local-correlations",
                               "local-2-setting", "chsh-violating", "unknown")
    # The verdict the physics implies, from an independent value: the SU(2)-singlet ground state makes
    # every two-region effective state a Werner state (T = -V 1, no marginals) with V = -<zz> averaged
    # over the region pairs, here by brute force from the exact vector; the level follows from V alone.
    psi = np.abs(np.asarray(ex.vector).reshape((2,) * 10)) ** 2
    z = [1 - 2 * np.arange(2).reshape([2 if k == s else 1 for k in range(10)]) for s in range(10)]
    for regions, expected in ((part, "separable"), ({"A": [4], "B": [5, 7]}, "local-projective"),
                              ({"A": [4], "B": [5]}, "nonlocal")):
        p = regions if isinstance(regions, mb.lattice.Partition) else mb.lattice.Partition.custom(lat, regions)
        V = -np.mean([np.sum(psi * z[i] * z[j]) for i in p.regions[0] for j in p.regions[1]])
        assert werner_level(V) == expected, (regions, V)  # the cases span three levels
        e = mb.observables.effective_state(gs, p)
        np.testing.assert_allclose(e.T, np.diag([1.0, -V, -V, -V]), atol=1e-6)
        c = e.criteria()
        assert c["werner_V"] == pytest.approx(V, abs=1e-6)
        assert canonical_verdict(c["verdict"]) == expected, (regions, V, c["verdict"])
    for other in (st, st2):
        np.testing.assert_allclose(mb.observables.effective_state(other, part).T, eff.T, atol=1e-6)
    C = mb.observables.pair_correlations(gs)
    assert C.shape == (10, 10, 4, 4)
    rho = mb.observables.reduced_state(gs, [0, 4, 7])
    assert rho.shape == (8, 8)
    np.testing.assert_allclose(rho, mb.observables.reduced_state(st, [0, 4, 7]), atol=1e-6)
    for th, ex_th in zip(ths, mb.tn.thermal_states(model, temperatures=[0.5, 1.0], method="exact")):
        assert th.energy == pytest.approx(ex_th.energy, abs=1e-5)
        np.testing.assert_allclose(mb.observables.effective_state(th, part).T,
                                   mb.observables.effective_state(ex_th, part).T, atol=1e-5)


def test_partition_factories_of_design_section_5():
    lat = mb.lattice.square(4, 4)
    assert mb.lattice.Partition.sublattices(lat).sizes == (8, 8)
    assert mb.lattice.Partition.blocks(lat, 4).K == 4
    p = mb.lattice.Partition.custom(lat, {"A": [0, 1], "B": [5, 6]})
    assert p.names == ("A", "B")
    assert mb.lattice.ladder(4, legs=2).n_sites == 8


DESIGN_TOML = '''
[lattice]
kind = "chain"            # chain | ladder | square | triangular | ...
L = [8, 16, 32]
pbc = false
[model]
kind = "heisenberg"
J = 1.0
Delta = [0.5, 1.0]
[state]
method = "dmrg"           # exact | dmrg | purification | peps
temperatures = [0.0, 0.5, 1.0]   # 0 = ground state
bond_dim = 128
[[partitions]]
kind = "halves"
[[partitions]]
kind = "sublattices"
'''


def test_sweep_file_of_design_section_5_validates():
    sweep = mb.data.Sweep.from_toml(DESIGN_TOML)
    assert len(sweep.points) == 3 * 2 * 3
    assert len(sweep.groups) == 3 * 2  # one computation per (L, Delta) serves all temperatures
    with pytest.raises(mb.data.SweepError, match="Dleta"):
        mb.data.Sweep.from_toml(DESIGN_TOML.replace("Delta =", "Dleta ="))
