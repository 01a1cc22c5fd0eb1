"""The backend registry: the built-in backends live on it, and a new backend is one registration.

A toy backend ``exact-copy`` (ground states only, wrapping the exact Lanczos solver behind an option of
its own, ``lanczos_tol``, and refusing lattices over 10 sites) is registered inside this file and used from
``tn.ground_state``, the sweep validator (a TOML file naming it), ``data.compute`` and
``macrobell point --method`` without touching any other file; then it is unregistered.

Physics oracle: the 4-site Heisenberg ring, ``H = J Σ S_i·S_{i+1}`` (S = σ/2), has
``H = (J/2)[S_tot² − S_A² − S_B²]`` with the sublattice spins ``S_A, S_B ∈ {0, 1}``, so
``E0 = (J/2)(0 − 2 − 2) = −2J`` (total singlet of two sublattice triplets).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import macrobell as mb
from macrobell.tn import registry
from macrobell.tn._checks import MAX_ENERGY_TOL, OPTION_RANGES, OptionError, OptionRange

TOY = "exact-copy"
TOY_MAX_SITES = 10
E0_RING4 = -2.0  # module docstring


def _toy_ground(model, *, lanczos_tol: float = 1e-12):
    from macrobell.tn._checks import check_options
    from macrobell.tn.exact import exact_ground_state

    # a solver validates its options against its schema at its entry, as the built-in ones do
    o = check_options(f"{TOY}_ground_state", TOY, lanczos_tol=lanczos_tol)
    return exact_ground_state(model, tol=o["lanczos_tol"])


def _toy_check(model, temperatures):
    if model.lattice.n_sites > TOY_MAX_SITES:
        raise ValueError(f"{TOY}: at most {TOY_MAX_SITES} sites, got {model.lattice.n_sites}")


@pytest.fixture
def toy():
    b = registry.Backend(
        TOY, mb.tn.DenseState,
        {"lanczos_tol": registry.Option(float, 1e-12, "Lanczos tolerance",
                                        OptionRange("number", 0.0, MAX_ENERGY_TOL, lo_open=True))},
        ground=_toy_ground, check=_toy_check, doc="the exact solver under another name (a test backend)")
    registry.register_backend(b)
    try:
        yield b
    finally:
        registry.unregister_backend(TOY)
    assert TOY not in registry.backend_names()


def _ring4():
    return mb.lattice.heisenberg(mb.lattice.chain(4, pbc=True))


def test_listing_order_does_not_depend_on_import_order():
    import subprocess
    import sys
    code = ("import macrobell.tn.peps, macrobell.tn.purification; from macrobell.tn import registry; "
            "print(registry.backend_names(), registry.ground_methods())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['exact', 'dmrg', 'purification', 'peps'] ('exact', 'dmrg', 'peps')"


def test_builtin_backends_keep_their_public_tables():
    assert registry.backend_names()[:4] == ["exact", "dmrg", "purification", "peps"]
    assert mb.tn.GROUND_METHODS == ("exact", "dmrg", "peps")
    assert mb.tn.THERMAL_METHODS == ("exact", "purification")
    from macrobell.data.sweep import METHODS
    assert METHODS == ("exact", "dmrg", "purification", "peps")
    # OPTION_RANGES is a view of the schemas: the same objects, nothing else
    for name in registry.backend_names():
        schema = registry.get_backend(name).options
        assert dict(OPTION_RANGES[name]) == {k: o.range for k, o in schema.items() if o.range is not None}
    # every schema default is a valid value (the solvers' own defaults, read from their signatures)
    for name in registry.backend_names():
        b = registry.get_backend(name)
        b.check_options("test", **{k: o.default for k, o in b.options.items() if o.range or o.check})


def test_composite_sweep_rule_is_registry_data():
    # "T = 0 by DMRG, T > 0 by purification", from ground_state_backend / thermal_backend
    for m in ("dmrg", "purification"):
        g, t = registry.sweep_backends(m)
        assert (g.name, t.name) == ("dmrg", "purification")
    assert [b.name for b in registry.sweep_backends("exact")] == ["exact", "exact"]
    g, t = registry.sweep_backends("peps")
    assert g.name == "peps" and t is None
    # the exact sweep options are those both exact solvers take (tol is Lanczos-only)
    assert set(registry.sweep_options("exact")) == {"degeneracy_tol", "max_memory_gb"}


def test_cli_auto_limits_are_the_registry_data():
    from macrobell import cli
    assert registry.get_backend("exact").auto_max_sites == (cli.AUTO_EXACT_MAX_GROUND, cli.AUTO_EXACT_MAX_THERMAL)
    assert cli._auto_method({"kind": "chain", "L": 12}, [0.5]) == "exact"
    assert cli._auto_method({"kind": "chain", "L": 13}, [0.5]) == "dmrg"
    assert cli._auto_method({"kind": "chain", "L": 20}, [0.0]) == "exact"
    assert cli._auto_method({"kind": "chain", "L": 10**6}, [0.0]) == "dmrg"


def test_register_refuses_bad_records():
    with pytest.raises(ValueError, match="already registered"):
        registry.register_backend(registry.Backend("exact", mb.tn.DenseState, ground=_toy_ground))
    with pytest.raises(ValueError, match="ground and/or a thermal solver"):
        registry.Backend("nothing", mb.tn.DenseState)
    with pytest.raises(ValueError, match="no backend 'nope'"):
        registry.unregister_backend("nope")


def test_toy_backend_from_ground_state(toy):
    assert TOY in mb.tn.GROUND_METHODS and TOY not in mb.tn.THERMAL_METHODS
    st = mb.tn.ground_state(_ring4(), method=TOY, lanczos_tol=1e-10)
    assert isinstance(st, mb.tn.DenseState)
    assert math.isclose(st.energy, E0_RING4, abs_tol=1e-9)
    # observables dispatch on the state class: nothing to register for a DenseState backend
    C = mb.observables.pair_correlations(st)
    # singlet-like ground state: <σ^0·σ^1> = 4 <S^0·S^1> = 4 E0 / 4 bonds
    assert math.isclose(float(np.trace(C[0, 1, 1:, 1:]).real), E0_RING4, abs_tol=1e-8)
    with pytest.raises(OptionError, match=r"lanczos_tol must be a finite number in \(0, 1e-05\], got 0.5"):
        mb.tn.ground_state(_ring4(), method=TOY, lanczos_tol=0.5)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['tol'\]; allowed: \['lanczos_tol'\]"):
        mb.tn.ground_state(_ring4(), method=TOY, tol=1e-10)
    with pytest.raises(ValueError, match="thermal_states: unknown method 'exact-copy'"):
        mb.tn.thermal_states(_ring4(), [0.5], method=TOY)
    assert OPTION_RANGES[TOY]["lanczos_tol"].hi == MAX_ENERGY_TOL


def test_toy_backend_unregistered_is_gone():
    with pytest.raises(ValueError, match="ground_state: unknown method 'exact-copy'"):
        mb.tn.ground_state(_ring4(), method=TOY)
    assert TOY not in OPTION_RANGES


def _toml(L=4, temps="[0.0]", extra=""):
    return f"""
[lattice]
kind = "chain"
L = {L}
pbc = true
[model]
kind = "heisenberg"
[state]
method = "{TOY}"
temperatures = {temps}
{extra}
[[partitions]]
kind = "halves"
"""


def test_toy_backend_in_a_sweep_and_compute(toy):
    from macrobell.data.compute import compute_group, make_task
    from macrobell.data.sweep import Sweep, SweepError

    sw = Sweep.from_toml(_toml(extra="lanczos_tol = [1e-10, 1e-11]"))
    assert len(sw.points) == 2 and sw.points[0].params["state"] == {"method": TOY, "lanczos_tol": 1e-10}
    recs = compute_group(make_task(sw, sw.groups[0]))
    assert "error" not in recs[0], recs[0]
    assert math.isclose(recs[0]["state"]["energy"], E0_RING4, abs_tol=1e-9)
    assert recs[0]["state"]["method"] == TOY
    # its option range, its feasibility check, ground states only: refused before any work
    with pytest.raises(SweepError, match=r"\[state\] lanczos_tol: backend 'exact-copy': lanczos_tol must be"):
        Sweep.from_toml(_toml(extra="lanczos_tol = 0.5"))
    with pytest.raises(SweepError, match=r"\[state\] method: lattice .*at most 10 sites, got 12"):
        Sweep.from_toml(_toml(L=12))
    with pytest.raises(SweepError, match=r"method 'exact-copy' computes ground states only"):
        Sweep.from_toml(_toml(temps="[0.0, 0.5]"))
    with pytest.raises(SweepError, match=r"\[state\] tol: unknown key; allowed keys: \['lanczos_tol', 'method', "):
        Sweep.from_toml(_toml(extra="tol = 1e-10"))


def test_toy_backend_from_the_cli(toy, capsys):
    from macrobell.cli import main

    rc = main(["point", "--method", TOY, "--L", "4", "--pbc", "--T", "0", "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rec = json.loads(out)
    assert rec["params"]["state"]["method"] == TOY
    assert math.isclose(rec["points"][0]["state"]["energy"], E0_RING4, abs_tol=1e-9)
    from macrobell.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "command" or getattr(a, "choices", None)
               and "point" in (a.choices or {}))
    method = next(a for a in sub.choices["point"]._actions if a.dest == "method")
    assert TOY in method.help
