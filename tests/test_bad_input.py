"""Bad input that used to get through or fail late (issue 8): each refusal names the field and the allowed
values, comes before any work, and leaves no output file behind."""

import inspect
import math
import re
import time

import numpy as np
import pytest

import macrobell as mb
from conftest import chain_sweep_toml
from macrobell.cli import main
from macrobell.data import run_sweep
from macrobell.data.sweep import Sweep, SweepError
from macrobell.lattice import LATTICE_KINDS, Partition, SpinModel, Term
from macrobell.lattice.models import MAX_HAMILTONIAN_NORM
from macrobell.tn import dmrg, exact, peps, purification
from macrobell.tn._checks import (MAX_DISCARDED_WEIGHT, OPTION_RANGES, OptionError, check_options,
                                  peps_chi_range)

SWEEP = chain_sweep_toml(L="4", Delta=None, temperatures="[0.0]", partitions=("halves",))


def _refused_without_file(tmp_path, text, *fragments, error=SweepError):
    """run_sweep(text) raises ``error`` containing every fragment; no output file is created."""
    out = tmp_path / "out.h5"
    with pytest.raises(error) as exc:
        run_sweep(text, out, workers=1, show_progress=False)
    for f in fragments:
        assert f in str(exc.value), (f, str(exc.value))
    assert not out.exists()
    return str(exc.value)


def _cli_refused(capsys, argv, *fragments):
    rc = main(argv)
    _, err = capsys.readouterr()
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("macrobell: error:") and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


# --------------------------------------------------------------------------- memory guard, O(1)


@pytest.mark.parametrize("L", [10**6, 1024])
def test_exact_api_refuses_huge_models_in_o1(L, monkeypatch):
    model = mb.lattice.heisenberg(mb.lattice.chain(L, pbc=True))
    # the guard must not build the flip masks (O(terms x N) big integers: 23 GB for L = 10^6) or H
    monkeypatch.setattr(SpinModel, "flip_masks", lambda self: pytest.fail("flip masks built before the guard"))
    monkeypatch.setattr(SpinModel, "to_sparse", lambda self: pytest.fail("H built before the guard"))
    for call in (lambda: mb.tn.ground_state(model, method="exact"),
                 lambda: mb.tn.thermal_states(model, [1.0], method="exact")):
        t0 = time.perf_counter()
        with pytest.raises(exact.ExactTooLargeError, match=rf"N={L} sites .*limit.*method='(dmrg|purification)'"):
            call()
        assert time.perf_counter() - t0 < 1.0


def test_memory_message_survives_astronomical_estimates():
    # 2^1024 bytes overflows a float: the message used to raise OverflowError instead
    with pytest.raises(exact.ExactTooLargeError, match="N=1024"):
        exact.check_exact_memory(1024, "full", n_ops=3000)
    assert exact.estimate_exact_memory(20, "lanczos", n_ops=21) > 0  # exact for small N, unchanged
    # the largest limit a float can express still refuses 10^6 sites (the O(1) cap is a lower bound)
    assert exact.memory_limit_bytes(1.7e308) > 2**1000  # was an OverflowError (float 1.7e308 * 2^30)
    with pytest.raises(exact.ExactTooLargeError, match="N=1000000"):
        exact.check_exact_memory(10**6, "full", max_memory_gb=1.7e308, n_ops=1)


def test_sweep_and_point_refuse_huge_exact_lattices_fast(tmp_path, capsys):
    for L in (10**6, 1024):
        t0 = time.perf_counter()
        _refused_without_file(tmp_path, SWEEP.replace("L = 4", f"L = {L}"), "[state] method", f"N={L}",
                              "method='dmrg'")
        assert time.perf_counter() - t0 < 1.0  # building the 10^6-site lattice alone takes > 2 s
        t0 = time.perf_counter()
        _cli_refused(capsys, ["point", "--L", str(L), "--pbc", "--method", "exact"], "[state] method", f"N={L}")
        assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("kind, args", [("chain", {"L": 5}), ("ladder", {"L": 3, "legs": 3}),
                                        ("square", {"Lx": 3, "Ly": 2}), ("square", {"Lx": 3}),
                                        ("triangular", {"Lx": 3, "Ly": 2}), ("honeycomb", {"Lx": 2, "Ly": 2}),
                                        ("kagome", {"Lx": 2, "Ly": 2}), ("cubic", {"Lx": 2, "Ly": 2, "Lz": 2})])
def test_size_arguments_bound_the_site_count_from_below(kind, args):
    from macrobell.data._sweep_checks import min_sites

    # the O(1) sweep pre-check relies on N >= product of the integer size arguments
    assert LATTICE_KINDS[kind](**args).n_sites >= min_sites({"kind": kind, **args}) == math.prod(args.values())
    assert LATTICE_KINDS[kind](**args, pbc=False).n_sites >= min_sites({"kind": kind, "pbc": True, **args})


# --------------------------------------------------------------------------- non-finite values


@pytest.mark.parametrize("factory, kwargs, field", [
    (mb.lattice.heisenberg, {"J": 1e308}, "'J': 1e+308"),
    (mb.lattice.heisenberg, {"J": 1e200, "Delta": 1e200}, "'Delta': 1e+200"),  # J·Δ overflows
    (mb.lattice.tfim, {"g": 1e151}, "'g': 1e+151"),
    (mb.lattice.xyz, {"Jz": -1e160}, "'Jz': -1e+160"),
])
def test_overflowing_couplings_refused(factory, kwargs, field):
    with pytest.raises(ValueError, match=r"couplings .*sum \|coupling\| x bond count <= 1e\+150") as exc:
        factory(mb.lattice.chain(6, pbc=True), **kwargs)
    assert field in str(exc.value)


def test_non_finite_custom_coefficient_refused():
    lat = mb.lattice.chain(3)
    with pytest.raises(ValueError, match=r"term 'zz' the non-finite coefficient nan; allowed: finite"):
        SpinModel(lat, (Term(float("nan"), "zz", lat.bond_array("nn")),))


def test_couplings_below_the_bound_give_exact_scaled_energies():
    # oracle: H(λJ) = λ H(J), so E0 scales exactly; λ = 1e140 keeps sum |c| x bonds below 1e150
    lat = mb.lattice.chain(6, pbc=True)
    e1 = mb.tn.ground_state(mb.lattice.heisenberg(lat), method="exact").energy
    big = mb.tn.ground_state(mb.lattice.heisenberg(lat, J=1e140), method="exact", degeneracy_tol=1e-5)
    assert np.isfinite(big.energy) and big.energy / 1e140 == pytest.approx(e1, rel=1e-9)
    assert 1e140 * 6 * 3 / 4 < MAX_HAMILTONIAN_NORM


def test_overflowing_coupling_in_a_sweep_file_writes_nothing(tmp_path, capsys):
    _refused_without_file(tmp_path, SWEEP.replace('kind = "heisenberg"', 'kind = "heisenberg"\nJ = 1e308'),
                          "[model]", "'J': 1e+308", "<= 1e+150")
    _cli_refused(capsys, ["point", "--L", "6", "--J", "1e308"], "[model]", "1e+150")


def test_non_finite_results_are_refused_before_writing(tmp_path, monkeypatch):
    from macrobell.data import compute, open_store

    real = mb.tn.ground_state

    def broken(model, method="exact", **kw):
        st = real(model, method=method, **kw)
        st.energy = -math.inf
        return st

    monkeypatch.setattr(mb.tn, "ground_state", broken)
    out = tmp_path / "o.h5"
    # a failed point is recorded with its error (not as data) and the run goes on (issue 8: failed points)
    s = run_sweep(SWEEP, out, workers=1, show_progress=False)
    assert len(s["failed"]) == 1
    f = s["failed"][0]
    assert re.search(r"NonFiniteResultError: non-finite state energy -inf", f["error"]), f["error"]
    assert f["params"]["lattice"]["L"] == 4 and f["params"]["T"] == 0.0
    assert open_store(out).complete_ids() == set()  # the point was never written as data


def test_point_reports_a_non_finite_later_temperature(monkeypatch, capsys):
    real = mb.tn.thermal_states

    def broken(model, temperatures, method="exact", **kw):
        states = real(model, temperatures, method=method, **kw)
        states[-1].energy = float("nan")
        return states

    monkeypatch.setattr(mb.tn, "thermal_states", broken)
    _cli_refused(capsys, ["point", "--L", "4", "--T", "0.5", "1.0"], "T = 1.0 failed", "non-finite state energy nan")


def test_non_finite_fields_are_named():
    from macrobell.data.compute import NonFiniteResultError, _check_finite

    good = {"T": np.zeros((4, 4)), "rho": np.eye(4) / 4, "sizes": [2, 2],
            "criteria": {"M": 1, "chsh_max": 1.0, "steering": float("nan"), "negativity_cuts": [0.0, 0.0]}}
    _check_finite({"energy": -1.0}, {"p": good}, None)  # nan "does not apply" where it may
    cases = [({"rho": np.full((4, 4), np.nan)}, "'p': the effective state's rho"),
             ({"T": np.full((4, 4), np.inf)}, "'p': the effective state's T"),
             ({"criteria": {**good["criteria"], "chsh_max": float("nan")}}, "criterion 'chsh_max'"),
             ({"criteria": {**good["criteria"], "steering": float("inf")}}, "criterion 'steering'"),
             ({"criteria": {**good["criteria"], "negativity_cuts": [0.0, float("nan")]}},
              "criterion 'negativity_cuts'")]
    for change, text in cases:
        with pytest.raises(NonFiniteResultError, match=text.replace("(", r"\(").replace("'", "'")):
            _check_finite({"energy": -1.0}, {"p": {**good, **change}}, None)
    with pytest.raises(NonFiniteResultError, match="energy nan"):
        _check_finite({"energy": float("nan")}, {}, None)
    with pytest.raises(NonFiniteResultError, match="pair correlators"):
        _check_finite({"energy": 0.0}, {}, np.array([np.nan]))


# --------------------------------------------------------------------------- option ranges

_SQUARE = None


def _models():
    global _SQUARE
    if _SQUARE is None:
        _SQUARE = (mb.lattice.heisenberg(mb.lattice.chain(6)), mb.lattice.heisenberg(mb.lattice.square(2, 2)))
    return _SQUARE


def _call(backend, **kw):
    chain, square = _models()
    if backend == "exact":
        if set(kw) == {"degeneracy_tol"}:
            return mb.tn.thermal_states(chain, [1.0], method="exact", **kw)
        return mb.tn.ground_state(chain, method="exact", **kw)
    if backend == "dmrg":
        return mb.tn.ground_state(chain, method="dmrg", **kw)
    if backend == "purification":
        return mb.tn.thermal_states(chain, [1.0], method="purification", **kw)
    return mb.tn.ground_state(square, method="peps", **kw)


def _bad_values(rng):
    if rng.kind == "choice":
        return ["nope", True]
    if rng.kind == "bool":
        return ["yes"]
    if rng.kind == "seed":
        return [-1, 1.5]
    out = [rng.lo - 1 if rng.kind == "int" else (rng.lo if rng.lo_open else rng.lo - 1e-3), float("nan"), True]
    if rng.hi is not None:
        out.append(rng.hi + 1 if rng.kind == "int" else rng.hi * 2)
    return out


_CASES = [pytest.param(b, name, v, id=f"{b}-{name}-{v!r}") for b, table in OPTION_RANGES.items()
          for name, rng in table.items() for v in _bad_values(rng)]


@pytest.mark.parametrize("backend, name, value", _CASES)
def test_every_backend_option_range_is_enforced(backend, name, value):
    rng = OPTION_RANGES[backend][name]
    t0 = time.perf_counter()
    with pytest.raises(OptionError) as exc:
        _call(backend, **{name: value})
    assert exc.value.option == name
    msg = str(exc.value)
    assert f"{name} must be {rng.allowed()}" in msg and msg.endswith(f"got {value!r}"), msg
    assert time.perf_counter() - t0 < 1.0  # refused at the entry, before any work


def test_option_tables_cover_every_solver_option():
    # no option of a solver escapes validation
    not_options = {"model", "temperatures", "max_memory_gb", "ground_state_options", "chi"}
    for backend, funcs in {"exact": [exact.exact_ground_state, exact.exact_thermal_states],
                           "dmrg": [dmrg.dmrg_ground_state], "purification": [purification.purification_thermal_states],
                           "peps": [peps.peps_ground_state]}.items():
        names = {p for f in funcs for p in inspect.signature(f).parameters} - not_options
        assert names == set(OPTION_RANGES[backend]), backend
    assert OPTION_RANGES["dmrg"]["algorithm"].choices == dmrg.DMRG_METHODS
    assert OPTION_RANGES["peps"]["init"].choices == peps.PEPS_INITS


def test_peps_chi_range_follows_bond_dim():
    assert (peps_chi_range(4).lo, peps_chi_range(4).hi) == (16, 4096)
    assert peps.default_chi(4) >= peps_chi_range(4).lo  # the default is always allowed
    for D in range(1, 17):
        assert peps_chi_range(D).accepts(peps.default_chi(D)), D
    with pytest.raises(OptionError, match=r"chi must be an integer in \[9, 5461\], got 8"):
        _call("peps", bond_dim=3, chi=8)


def test_defaults_lie_inside_the_ranges():
    for backend, funcs in {"exact": [exact.exact_ground_state, exact.exact_thermal_states],
                           "dmrg": [dmrg.dmrg_ground_state], "purification": [purification.purification_thermal_states],
                           "peps": [peps.peps_ground_state]}.items():
        for f in funcs:
            defaults = {k: p.default for k, p in inspect.signature(f).parameters.items()
                        if k in OPTION_RANGES[backend]}
            check_options("test", backend, **defaults)


def test_largest_allowed_dmrg_cutoff_still_resolves_the_verdict_levels():
    # the bound's claim (tn/_checks docstring): at cutoff = MAX_DISCARDED_WEIGHT the effective state is
    # within 0.0086 (the gap between the 0.6875 and 0.6961 Werner thresholds) of the exact one
    lat = mb.lattice.chain(10, pbc=True)
    model = mb.lattice.heisenberg(lat, Delta=0.7)
    part = Partition.sublattices(lat)
    exact_T = mb.observables.effective_state(mb.tn.ground_state(model, method="exact"), part).T
    with pytest.warns(Warning):
        st = mb.tn.ground_state(model, method="dmrg", cutoff=MAX_DISCARDED_WEIGHT, seed=0)
    assert np.abs(mb.observables.effective_state(st, part).T - exact_T).max() < 0.0086


@pytest.mark.parametrize("option, value, fragment", [
    ("cutoff", 0.5, "[state] cutoff: backend 'dmrg': cutoff must be a finite number in [0, 1e-05], got 0.5"),
    ("max_sweeps", 1, "[state] max_sweeps: backend 'dmrg': max_sweeps must be an integer >= 2"),
    ("bond_dim", 10**5, "[state] bond_dim: backend 'dmrg': bond_dim must be an integer in [1, 8192]"),
    ("tol", 0.1, "[state] tol: backend 'dmrg': tol must be a finite number in (0, 1e-05]"),
    ("dtau", 2.0, "[state] dtau: backend 'purification': dtau must be a finite number in (0, 1]"),
])
def test_sweep_file_option_ranges(tmp_path, option, value, fragment):
    text = SWEEP.replace('method = "exact"', f'method = "dmrg"\n{option} = {value}')
    _refused_without_file(tmp_path, text, fragment)


def test_sweep_option_checked_by_the_backend_that_receives_it(tmp_path):
    # cutoff is a discarded weight <= 1e-5 for both DMRG (T = 0) and purification (T > 0)
    ok = SWEEP.replace('method = "exact"', 'method = "purification"\ncutoff = 1e-6')
    Sweep.from_toml(ok.replace("temperatures = [0.0]", "temperatures = [0.0, 1.0]"))
    pur = SWEEP.replace('method = "exact"', 'method = "purification"\ncutoff = 1e-3')
    _refused_without_file(tmp_path, pur.replace("temperatures = [0.0]", "temperatures = [1.0]"),
                          "[state] cutoff: backend 'purification'")
    _refused_without_file(tmp_path, pur.replace("temperatures = [0.0]", "temperatures = [0.0, 1.0]"),
                          "[state] cutoff: backend")
    # an option only the other backend would use is still range-checked
    _refused_without_file(tmp_path, SWEEP.replace('method = "exact"', 'method = "dmrg"\ndtau = -1'),
                          "[state] dtau: backend 'purification'")
    peps_text = SWEEP.replace('method = "exact"', 'method = "peps"\nbond_dim = 3\nchi = 4').replace(
        'kind = "chain"\nL = 4\npbc = true', 'kind = "square"\nLx = 2\nLy = 2')
    _refused_without_file(tmp_path, peps_text, "[state] chi", "[9, 5461]")


def test_point_option_ranges(capsys):
    _cli_refused(capsys, ["point", "--L", "6", "--method", "dmrg", "--cutoff", "0.5"], "[state] cutoff",
                 "[0, 1e-05]")


# --------------------------------------------------------------------------- names, nesting


@pytest.mark.parametrize("name", ["A\x00", "B\n", "\x7f", ""])
def test_partition_refuses_unprintable_region_names(name):
    lat = mb.lattice.chain(4)
    with pytest.raises(ValueError, match=r"region name .* printable"):
        Partition.custom(lat, {name: [0, 1], "Z": [2, 3]})


def test_sweep_refuses_control_characters_in_names(tmp_path):
    two = SWEEP + '[[partitions]]\nkind = "sublattices"\n'
    text = two.replace('kind = "halves"', 'kind = "halves"\nname = "a\\u0000b"').replace(
        'kind = "sublattices"', 'kind = "sublattices"\nname = "a\\u0000c"')
    _refused_without_file(tmp_path, text, "[partitions #1] name", r"'a\x00b'", "printable")
    custom = SWEEP.replace('kind = "halves"', 'kind = "custom"\nregions = { "L\\u0001" = [0, 1], R = [2, 3] }')
    _refused_without_file(tmp_path, custom, "[partitions #1] regions", r"'L\x01'")


def test_deeply_nested_toml_is_a_sweep_error(tmp_path):
    deep = SWEEP.replace("L = 4", "L = " + "[" * 5000 + "]" * 5000)
    _refused_without_file(tmp_path, deep, "nested too deeply")
    cfg = {"lattice": {"kind": "chain", "L": 4}}
    inner = cfg["lattice"]
    for _ in range(5000):
        inner["x"] = {}
        inner = inner["x"]
    with pytest.raises(SweepError, match="nested too deeply"):
        Sweep.from_dict(cfg)


# --------------------------------------------------------------------------- command line


def test_threads_bounded(tmp_path, capsys):
    import os

    toml = tmp_path / "s.toml"
    toml.write_text(SWEEP)
    out = tmp_path / "o.h5"
    _cli_refused(capsys, ["run", str(toml), "-o", str(out), "--threads", "100000"], "--threads", "1..256")
    cores = os.cpu_count() or 1
    _cli_refused(capsys, ["run", str(toml), "-o", str(out), "--threads", str(cores + 1)], "--threads",
                 f"1..{cores}")
    assert not out.exists()


def test_demo_output_must_be_h5(tmp_path, capsys):
    png = tmp_path / "x.png"
    _cli_refused(capsys, ["demo", "-o", str(png), "--sizes", "4", "--temperatures", "0", "--workers", "1", "-q"],
                 "'.h5'", "x.png")
    assert list(tmp_path.iterdir()) == []
    _cli_refused(capsys, ["demo", "-o", str(tmp_path / "x"), "-q"], "'.h5'")
    assert list(tmp_path.iterdir()) == []


def test_plot_categorical_verdict(tmp_path, capsys):
    import matplotlib.pyplot as plt

    from macrobell.data import load, plot

    out = tmp_path / "o.h5"
    run_sweep(SWEEP.replace("temperatures = [0.0]", "temperatures = [0.0, 1.0, 5.0]"), out, workers=1,
              show_progress=False)
    png = tmp_path / "v.png"
    assert main(["plot", str(out), "--x", "T", "--y", "verdict", "chsh_max", "-o", str(png)]) == 0
    assert png.stat().st_size > 1000
    capsys.readouterr()
    df = load(out)
    fig = plot(df, x="T", y="verdict")
    ax = fig.axes[0]
    from macrobell.observables.criteria import VERDICTS
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [v for v in VERDICTS if v in set(df["verdict"])]  # verdict order, strongest first
    ys = ax.lines[0].get_ydata()
    assert [labels[int(k)] for k in ys] == list(df.sort_values("T")["verdict"])  # each point on its verdict
    plt.close(fig)
    heat = tmp_path / "h.png"
    _cli_refused(capsys, ["plot", str(out), "--x", "T", "--y", "L", "--z", "verdict", "-o", str(heat)],
                 "z column 'verdict' is not numeric", "allowed only as y of a line plot")
    assert not heat.exists()
