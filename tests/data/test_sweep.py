"""Sweep files: parsing, grid, grouping by temperature, strict validation (incl. hypothesis fuzzing)."""

import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import chain_sweep_toml
from macrobell.data.sweep import Sweep, SweepError, point_id, to_toml

BASE = chain_sweep_toml(partitions=("halves", "blocks\nK = [2, 3]"))


def test_grid_is_cartesian_with_temperature_innermost():
    sw = Sweep.from_toml(BASE)
    assert len(sw.points) == 2 * 2 * 3
    assert len(sw.groups) == 4  # one group (one thermal_states call) per (L, Delta)
    p = [pt.params for pt in sw.points]
    assert [q["T"] for q in p[:3]] == [0.0, 0.5, 1.0]
    assert p[0]["lattice"] == {"kind": "chain", "L": 4, "pbc": True}
    assert p[0]["model"] == {"kind": "heisenberg", "Delta": 0.5}
    assert p[3]["model"]["Delta"] == 1.0 and p[6]["lattice"]["L"] == 6
    assert all(len(g["point_ids"]) == 3 for g in sw.groups)
    assert [q["name"] for q in sw.partitions] == ["halves", "blocks_K2", "blocks_K3"]


def test_point_ids_are_stable_and_type_normalised():
    a = Sweep.from_toml(BASE)
    b = Sweep.from_toml(BASE.replace("Delta = [0.5, 1.0]", "Delta = [0.5, 1]"))
    assert [p.id for p in a.points] == [p.id for p in b.points]
    assert a.canonical == b.canonical
    assert len({p.id for p in a.points}) == len(a.points)
    assert point_id({"x": 1, "y": [1, 2]}) == point_id({"y": [1, 2], "x": 1})


def test_design_example_is_accepted():
    text = """
[lattice]
kind = "chain"
L = [8, 16, 32]
pbc = false
[model]
kind = "heisenberg"
J = 1.0
Delta = [0.5, 1.0]
[state]
method = "dmrg"
temperatures = [0.0, 0.5, 1.0]
bond_dim = 128
[[partitions]]
kind = "halves"
[[partitions]]
kind = "sublattices"
"""
    sw = Sweep.from_toml(text)
    assert len(sw.points) == 18 and len(sw.groups) == 6


def test_from_dict_round_trips_through_toml():
    cfg = tomllib.loads(BASE)
    sw = Sweep.from_dict(cfg)
    assert sw.canonical == Sweep.from_toml(BASE).canonical
    assert tomllib.loads(sw.text) == tomllib.loads(to_toml(cfg))


def test_from_dict_accepts_numpy_values():
    import numpy as np

    cfg = tomllib.loads(BASE)
    cfg["lattice"]["L"] = np.array([4, 6])
    cfg["model"]["Delta"] = [np.float64(0.5), 1.0]
    assert Sweep.from_dict(cfg).canonical == Sweep.from_toml(BASE).canonical


def test_custom_regions_table():
    text = BASE.replace('[[partitions]]\nkind = "blocks"\nK = [2, 3]\n',
                        '[[partitions]]\nkind = "custom"\nname = "ends"\nregions = {A = [0], B = [3]}\n')
    sw = Sweep.from_toml(text)
    assert [p["name"] for p in sw.partitions] == ["halves", "ends"]


BAD = [
    pytest.param(BASE.replace('kind = "chain"', 'kind = "chian"'), "lattice", "kind", id="unknown-lattice"),
    pytest.param(BASE.replace("pbc = true", "pbc = true\nLx = 3"), "lattice", "Lx", id="unknown-lattice-key"),
    pytest.param(BASE.replace("pbc = true", 'pbc = "yes"'), "lattice", "pbc", id="wrong-type-bool"),
    pytest.param(BASE.replace("L = [4, 6]", "L = [4, 1]"), "lattice", "L", id="impossible-L"),
    pytest.param(BASE.replace("L = [4, 6]", "L = []"), "lattice", "L", id="empty-axis"),
    pytest.param(BASE.replace("L = [4, 6]", "L = 4.5"), "lattice", "L", id="float-L"),
    pytest.param(BASE.replace('kind = "heisenberg"', 'kind = "heisenbreg"'), "model", "kind", id="unknown-model"),
    pytest.param(BASE.replace("Delta = [0.5, 1.0]", "Delat = 1.0"), "model", "Delat", id="typo-model-key"),
    pytest.param(BASE.replace("Delta = [0.5, 1.0]", 'Delta = "big"'), "model", "Delta", id="wrong-type-float"),
    pytest.param(BASE.replace('method = "exact"', 'method = "qmc"'), "state", "method", id="unknown-method"),
    pytest.param(BASE.replace("[0.0, 0.5, 1.0]", "[0.0, -1.0]"), "state", "temperatures", id="negative-T"),
    pytest.param(BASE.replace("temperatures = [0.0, 0.5, 1.0]", ""), "state", "temperatures", id="missing-T"),
    pytest.param(BASE.replace('method = "exact"', 'method = "exact"\nbond_dim = 8'), "state", "bond_dim",
                 id="option-of-other-backend"),
    pytest.param(BASE.replace('method = "exact"', 'method = "dmrg"\nbond_dim = 0'), "state", "bond_dim",
                 id="impossible-bond-dim"),
    pytest.param(BASE.replace('method = "exact"', 'method = "purification"\norder = 3'), "state", "order",
                 id="impossible-order"),
    pytest.param(BASE.replace('kind = "halves"', 'kind = "thirds"'), "partitions #1", "kind",
                 id="unknown-partition"),
    pytest.param(BASE.replace("K = [2, 3]", "K = [2, 9]"), "partitions #2", None, id="impossible-K"),
    pytest.param(BASE.replace('kind = "halves"', 'kind = "halves"\nK = 2'), "partitions #1", "K",
                 id="key-of-other-partition"),
    pytest.param(BASE.replace('kind = "halves"', 'kind = "sublattices"').replace("L = [4, 6]", "L = [4, 5]"),
                 "partitions #1", None, id="odd-ring-sublattices"),
    pytest.param(BASE + "\n[observables]\npairz = true\n", "observables", "pairz", id="unknown-observable"),
    pytest.param(BASE + "\n[extra]\nx = 1\n", None, "extra", id="unknown-section"),
    pytest.param(BASE + '[[partitions]]\nkind = "halves"\n', "partitions", "name", id="duplicate-partition-names"),
    pytest.param("[lattice\nkind=", None, "malformed", id="malformed-toml"),
    pytest.param(BASE.replace('kind = "heisenberg"', 'material = "CuPzN"\ntemperature_unit = "K"'),
                 "model", None, id="material-with-extra-keys"),
    pytest.param(BASE.replace('Delta = [0.5, 1.0]', 'temperature_unit = "K"'), "model", "temperature_unit",
                 id="kelvin-without-material"),
]


@pytest.mark.parametrize("text, section, key", BAD)
def test_invalid_sweeps_name_section_and_key(text, section, key):
    with pytest.raises(SweepError) as exc:
        Sweep.from_toml(text)
    msg = str(exc.value)
    if section is not None:
        assert f"[{section}]" in msg
    if key is not None:
        assert key in msg


def test_error_lists_allowed_values():
    with pytest.raises(SweepError, match=r"allowed: \['chain'"):
        Sweep.from_toml(BASE.replace('kind = "chain"', 'kind = "chian"'))
    with pytest.raises(SweepError, match=r"allowed keys: \['L', 'kind', 'pbc'\]"):
        Sweep.from_toml(BASE.replace("pbc = true", "pbc = true\nLx = 3"))


def test_exact_memory_guard_before_work(monkeypatch):
    monkeypatch.setenv("MACROBELL_MAX_MEMORY_GB", "0.001")
    with pytest.raises(SweepError, match=r"\[state\] method"):
        Sweep.from_toml(BASE.replace("L = [4, 6]", "L = [12]"))


# ---- fuzzing: anything malformed gives SweepError, never another exception -------------------

_scalars = st.one_of(st.booleans(), st.integers(-3, 40), st.floats(allow_nan=True, allow_infinity=True),
                     st.text(max_size=6))
_values = st.one_of(_scalars, st.lists(_scalars, max_size=3))
_keys = st.sampled_from(["kind", "L", "pbc", "Lx", "Ly", "legs", "J", "Delta", "h", "g", "method", "temperatures",
                         "bond_dim", "K", "axis", "regions", "name", "pairs", "M", "material", "temperature_unit",
                         "zzz"])
_kinds = st.sampled_from(["chain", "ladder", "square", "heisenberg", "tfim", "xyz", "halves", "blocks", "strips",
                          "custom", "sublattices", "exact", "dmrg", "purification", "peps", "CuPzN", "nope"])
_table = st.dictionaries(_keys, st.one_of(_values, _kinds), max_size=5)


@st.composite
def _configs(draw):
    cfg = {}
    for sec in ("lattice", "model", "state", "observables"):
        if draw(st.booleans()) or sec != "observables":
            t = draw(_table)
            if sec == "lattice" and draw(st.booleans()):
                t.setdefault("kind", "chain")
                t["L"] = draw(st.one_of(st.integers(-1, 8), st.lists(st.integers(-1, 8), max_size=2)))
            if sec == "state" and draw(st.booleans()):
                t.setdefault("method", "exact")
                t.setdefault("temperatures", [0.0])
            cfg[sec] = t
    cfg["partitions"] = draw(st.lists(_table, max_size=2))
    return cfg


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_configs())
def test_fuzzed_dicts_raise_only_sweep_error(cfg):
    try:
        Sweep.from_dict(cfg)
    except SweepError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_configs())
def test_fuzzed_sweeps_raise_only_sweep_error(cfg):
    try:
        text = to_toml(cfg)
    except ValueError:  # no TOML form (e.g. NaN in a table key position): nothing to validate
        return
    try:
        Sweep.from_toml(text)
    except SweepError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_fuzzed_text_raises_only_sweep_error(text):
    try:
        Sweep.from_toml(text)
    except SweepError:
        pass


# ---------------------------------------------------------------- units and per-group couplings (issue 13)

_MAT = """
[lattice]
L = 4
pbc = true
[model]
material = "CuPzN"
{extra}
[state]
method = "exact"
temperatures = [0.0, 10.7]
[[partitions]]
kind = "sublattices"
"""


def test_material_without_temperature_unit_is_an_error_naming_the_key():
    with pytest.raises(SweepError, match=r"\[model\] temperature_unit: missing.*allowed: \['J', 'K'\]"):
        Sweep.from_toml(_MAT.format(extra=""))
    sw_j = Sweep.from_toml(_MAT.format(extra='temperature_unit = "J"'))
    assert [p.params["T"] for p in sw_j.points] == [0.0, 10.7] and "T_K" not in sw_j.points[1].params
    sw_k = Sweep.from_toml(_MAT.format(extra='temperature_unit = "K"'))
    assert [p.params["T"] for p in sw_k.points] == pytest.approx([0.0, 1.0])


def test_h_tesla_converted_with_the_g_factor():
    from macrobell.lattice.materials import MATERIALS

    sw = Sweep.from_toml(_MAT.format(extra='temperature_unit = "K"\nh_tesla = [0.0, 5.0]'))
    hs = sorted({p.params["model"]["h"] for p in sw.points})
    # independent constants: CODATA 2018 mu_B = 9.2740100783e-24 J/T, k_B = 1.380649e-23 J/K
    g = MATERIALS["CuPzN"].g_factor
    assert hs == pytest.approx([0.0, g * 9.2740100783e-24 / 1.380649e-23 * 5.0 / 10.7], rel=1e-10)
    assert {p.params["model"]["h_tesla"] for p in sw.points} == {0.0, 5.0}
    with pytest.raises(SweepError, match=r"\[model\] h_tesla: material 'CFTD' has no g-factor.*\['BPCB', 'CuPzN'\]"):
        Sweep.from_toml(_MAT.format(extra='temperature_unit = "K"\nh_tesla = 1.0').replace("CuPzN", "CFTD")
                        .replace("L = 4\npbc = true", "Lx = 2\nLy = 2"))
    with pytest.raises(SweepError, match=r"\[model\] h_tesla: expected a number"):
        Sweep.from_toml(_MAT.format(extra='temperature_unit = "K"\nh_tesla = "5 T"'))


def test_per_group_coupling_axis_in_a_sweep_file():
    text = """
[lattice]
kind = "ladder"
L = 2
[model]
kind = "heisenberg"
J = {leg = 1.0, rung = [0.25, 0.5]}
[state]
method = "exact"
temperatures = [0.0]
[[partitions]]
kind = "halves"
"""
    sw = Sweep.from_toml(text)
    assert [p.params["model"]["J.rung"] for p in sw.points] == [0.25, 0.5]
    assert all(p.params["model"]["J.leg"] == 1.0 for p in sw.points)
    assert sw.config["model"]["J"] == {"leg": 1.0, "rung": [0.25, 0.5]}
    from macrobell.data.sweep import _build_lattice, _build_model

    m = _build_model(_build_lattice(sw.points[0].params["lattice"]), sw.points[0].params["model"])
    # 2x2 ladder = a 4-ring with legs (0,2), (1,3) at J = 1 and rungs (0,1), (2,3) at 0.25: E0 by hand (ED here)
    import numpy as np
    P = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1.0, -1.0])]

    def pair(i, j, J):
        ops = lambda o: [o if k in (i, j) else np.eye(2) for k in range(4)]  # noqa: E731
        out = 0
        for o in P:
            mats = ops(o)
            kr = mats[0]
            for x in mats[1:]:
                kr = np.kron(kr, x)
            out = out + J / 4 * kr
        return out

    H = pair(0, 2, 1.0) + pair(1, 3, 1.0) + pair(0, 1, 0.25) + pair(2, 3, 0.25)
    assert np.allclose(m.to_sparse().toarray(), H.real)
    with pytest.raises(SweepError, match=r"\[model\].*unknown bond group\(s\) \['rungs'\].*\['leg', 'rung'\]"):
        Sweep.from_toml(text.replace("rung =", "rungs ="))
    with pytest.raises(SweepError, match=r"\[model\].*no value for the 'nn' bond group\(s\) \['rung'\]"):
        Sweep.from_toml(text.replace(", rung = [0.25, 0.5]", ""))
    with pytest.raises(SweepError, match=r"\[model\] g: expected a number or a list, got a table"):
        Sweep.from_toml(text.replace('"heisenberg"', '"tfim"').replace("J = {", "g = {"))


def test_per_group_axis_gives_load_columns(tmp_path):
    from macrobell.data import load, run_sweep

    text = """
[lattice]
kind = "ladder"
L = 2
[model]
kind = "heisenberg"
J = {leg = 1.0, rung = [0.0, 2.0]}
[state]
method = "exact"
temperatures = [0.0]
[[partitions]]
kind = "halves"
"""
    out = tmp_path / "g.h5"
    run_sweep(Sweep.from_toml(text), out, workers=1, show_progress=False)
    df = load(out).sort_values("J.rung")
    assert df["J.rung"].tolist() == [0.0, 2.0] and df["J.leg"].tolist() == [1.0, 1.0]
    # open 2-rung ladder = a 4-ring with alternating couplings J1 (legs), J2 (rungs): E0 = -(J1 + J2)/2
    # - sqrt(J1^2 - J1 J2 + J2^2) (rung 0: two leg singlets, -3/2; equal couplings: the 4-ring's -2J)
    e0 = [-(1 + J2) / 2 - (1 - J2 + J2**2) ** 0.5 for J2 in (0.0, 2.0)]
    assert df["energy"].tolist() == pytest.approx(e0, abs=1e-9)


def test_per_group_anisotropy_table_with_default():
    from macrobell.data.sweep import _build_lattice, _build_model

    text = """
[lattice]
kind = "square"
Lx = 2
Ly = 2
[model]
kind = "xxz"
J = 1.0
Delta = {x = [0.0, 0.5], default = 2.0}
[state]
method = "exact"
temperatures = [0.0]
[[partitions]]
kind = "halves"
"""
    sw = Sweep.from_toml(text)
    assert [p.params["model"]["Delta.x"] for p in sw.points] == [0.0, 0.5]
    p = sw.points[1].params
    m = _build_model(_build_lattice(p["lattice"]), p["model"])
    lat = _build_lattice(p["lattice"])
    zz = {(int(i), int(j)): t.coefficient for t in m.terms if t.ops == "zz" for i, j in t.bonds}
    # x bonds join x = 0 and x = 1 (site = x * Ly + y): (0, 2), (1, 3); y bonds (0, 1), (2, 3)
    assert zz == {(0, 2): 0.5, (1, 3): 0.5, (0, 1): 2.0, (2, 3): 2.0} and lat.groups("nn") == ["x", "y"]
    with pytest.raises(SweepError, match=r"\[model\].*Delta: unknown bond group\(s\) \['z'\].*\['x', 'y', 'diag1'"):
        Sweep.from_toml(text.replace("x = [0.0, 0.5]", "z = 0.5"))
