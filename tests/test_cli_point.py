"""``macrobell point`` (--region, --json, help, the backend header) and ``macrobell list``."""

import argparse
import json

import numpy as np
import pytest

from macrobell._listing import CRITERIA_MEANINGS, LIST_TOPICS, listing
from macrobell.cli import build_parser, main


def _strict_json(text):
    """Parse JSON refusing NaN / Infinity (not JSON; --json must write null)."""
    def refuse(name):
        raise AssertionError(f"non-JSON constant {name} in the output")
    return json.loads(text, parse_constant=refuse)


def _point_json(capsys, argv):
    rc = main(["point", *argv, "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return _strict_json(out)


def _one_line_error(capsys, rc):
    out, err = capsys.readouterr()
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("macrobell: error:"), err
    return lines[0]


def _api_criteria(L, regions, pbc=True):
    """Oracle: the same point through the Python API (lattice -> model -> exact state -> criteria)."""
    from macrobell import observables, tn
    from macrobell.lattice import Partition, chain, heisenberg

    model = heisenberg(chain(L, pbc=pbc))
    state = tn.ground_state(model, method="exact")
    part = Partition.custom(model.lattice, regions)
    return state.energy, observables.effective_state(state, part, M=1).criteria()


# --------------------------------------------------------------------------- --region


def test_region_builds_the_custom_partition_of_the_python_api(capsys):
    doc = _point_json(capsys, ["--L", "6", "--pbc", "--region", "A=0", "--region", "B=1,5"])
    energy, crit = _api_criteria(6, {"A": [0], "B": [1, 5]})
    (pt,) = doc["points"]
    part = pt["partitions"]["custom"]
    assert part["names"] == ["A", "B"] and part["sizes"] == [1, 2]
    assert doc["params"]["partitions"] == [{"name": "custom", "kind": "custom", "regions": {"A": [0], "B": [1, 5]}}]
    assert pt["state"]["energy"] == pytest.approx(energy, abs=1e-10)
    assert pt["state"]["energy"] == pytest.approx(-2.8027756377, abs=1e-9)  # N = 6 Heisenberg ring, ED
    for key in ("chsh_max", "werner_V", "zb_max", "negativity", "concurrence", "sv_max"):
        assert part["criteria"][key] == pytest.approx(crit[key], abs=1e-10), key
    assert part["criteria"]["verdict"] == crit["verdict"]


def test_region_ranges_equal_the_halves_partition(capsys):
    by_range = _point_json(capsys, ["--L", "6", "--region", "L=0-2", "--region", "R=3-5"])["points"][0]
    halves = _point_json(capsys, ["--L", "6", "--partition", "halves"])["points"][0]
    a, b = by_range["partitions"]["custom"], halves["partitions"]["halves"]
    assert a["sizes"] == b["sizes"] == [3, 3] and a["regions"] == b["regions"]
    for key in ("chsh_max", "werner_V", "negativity", "zb_upper"):
        assert a["criteria"][key] == pytest.approx(b["criteria"][key], abs=1e-12), key


def test_region_text_output(capsys):
    assert main(["point", "--L", "6", "--pbc", "--region", "A=0", "--region", "B=3"]) == 0
    out = capsys.readouterr().out
    assert "verdict [custom]:" in out and "[1, 1]" in out


@pytest.mark.parametrize("extra, pattern", [
    pytest.param(["--region", "A=0", "--region", "B=1", "--partition", "halves"],
                 "argument --region: --region builds a custom partition; it cannot be combined with --partition",
                 id="with-partition"),
    pytest.param(["--region", "A", "--region", "B=1"], "argument --region: expected NAME=SITES", id="no-equals"),
    pytest.param(["--region", "A=", "--region", "B=1"], "argument --region: expected NAME=SITES", id="no-sites"),
    pytest.param(["--region", "A=x", "--region", "B=1"], "got 'A=x'", id="not-int"),
    pytest.param(["--region", "A=-1", "--region", "B=1"], "site indices >= 0", id="negative"),
    pytest.param(["--region", "A=3-1", "--region", "B=0"], "0 <= I <= J", id="reversed-range"),
    pytest.param(["--region", "A=0"], "argument --region: a custom partition needs at least two regions",
                 id="one-region"),
    pytest.param(["--region", "A=0", "--region", "A=1"], "region 'A' given twice", id="duplicate-name"),
    pytest.param(["--region", "A=0", "--region", "B=9"], "argument --region: ", id="out-of-range"),
    pytest.param(["--region", "A=0", "--region", "B=1", "--partition", "custom"], "cannot be combined",
                 id="with-partition-custom"),
    pytest.param(["--region", "A=0,1", "--region", "B=1"], "overlap", id="overlap"),
    pytest.param(["--region", "A=0", "--region", "B=1", "--K", "3"], "argument --K", id="K-with-region"),
    pytest.param(["--partition", "custom"], "argument --partition: a custom partition is given by its regions: "
                 "--region NAME=SITES", id="custom-without-region"),
])
def test_region_errors_name_the_flag_and_the_form(capsys, extra, pattern):
    line = _one_line_error(capsys, main(["point", "--L", "6", *extra]))
    assert pattern in line, line
    if pattern == "argument --region: ":  # the lattice's validator, re-labelled with the flag
        assert "out of range [9]" in line and "0..5" in line


# --------------------------------------------------------------------------- --json


def test_json_document_schema_and_nan_as_null(capsys):
    doc = _point_json(capsys, ["--L", "6", "--pbc", "--T", "0", "1", "--partition", "halves", "blocks", "--K", "3"])
    assert set(doc) == {"params", "points"}
    assert doc["params"]["lattice"] == {"kind": "chain", "L": 6, "pbc": True}
    assert doc["params"]["state"]["temperatures"] == [0.0, 1.0]
    assert [p["T"] for p in doc["points"]] == [0.0, 1.0]
    for pt in doc["points"]:
        assert {"backend", "method", "run", "energy", "converged", "T", "beta", "info"} <= set(pt["state"])
        assert set(pt["partitions"]) == {"halves", "blocks_K3"}
        for part in pt["partitions"].values():
            assert set(part["criteria"]) == set(CRITERIA_MEANINGS)
    ground, hot = doc["points"]
    assert ground["state"]["beta"] is None  # 1/T = inf at T = 0: not JSON, so null
    assert hot["state"]["beta"] == pytest.approx(1.0)
    assert ground["partitions"]["blocks_K3"]["criteria"]["chsh_max"] is None  # nan: K = 3 has no CHSH
    assert ground["partitions"]["blocks_K3"]["criteria"]["K"] == 3
    # Thermal energy of the 6-ring at T = 1 against a dense diagonalisation (independent of the package).
    H = _dense_heisenberg_ring(6)
    w = np.linalg.eigvalsh(H)
    p = np.exp(-(w - w.min()))
    assert hot["state"]["energy"] == pytest.approx(float(p @ w / p.sum()), abs=1e-9)
    assert ground["state"]["energy"] == pytest.approx(w.min(), abs=1e-9)


def _dense_heisenberg_ring(n):
    """H = sum_i S_i . S_{i+1} (spin-1/2, periodic), built from Kronecker products."""
    s = [np.array([[0, 1], [1, 0]]) / 2, np.array([[0, -1j], [1j, 0]]) / 2, np.array([[1, 0], [0, -1]]) / 2]

    def op(o, i):
        out = np.array([[1.0]])
        for j in range(n):
            out = np.kron(out, o if j == i else np.eye(2))
        return out

    return sum(op(a, i) @ op(a, (i + 1) % n) for i in range(n) for a in s).real


def test_json_material_has_kelvin(capsys):
    doc = _point_json(capsys, ["--material", "CuPzN", "--L", "4", "--pbc", "--T", "10.7", "--kelvin"])
    (pt,) = doc["points"]
    assert pt["T_K"] == pytest.approx(10.7) and pt["T"] == pytest.approx(1.0)
    assert doc["params"]["model"] == {"material": "CuPzN", "temperature_unit": "K"}


# --------------------------------------------------------------------------- the header names what ran


def test_header_names_the_backend_actually_run(capsys):
    argv = ["point", "--L", "6", "--method", "dmrg", "--bond-dim", "16", "--T", "0", "0.5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    state_line = next(line for line in out.splitlines() if line.startswith("state:"))
    assert "dmrg at T = 0; purification at T = 0.5" in state_line, state_line
    assert "backend = mps-purification" in out  # the per-point line agrees
    doc = _point_json(capsys, argv[1:])
    assert [(p["state"]["run"], p["state"]["backend"]) for p in doc["points"]] == [
        ("dmrg", "mps"), ("purification", "mps-purification")]
    assert main(["point", "--L", "6", "--T", "0", "1"]) == 0
    state_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("state:"))
    assert state_line.startswith("state:   exact at T = 0, 1"), state_line


# --------------------------------------------------------------------------- help and list


def _subparsers(parser):
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub


def test_every_action_of_every_subcommand_has_help():
    parser = build_parser()
    sub = _subparsers(parser)
    assert sub.help
    missing = []
    for cmd, p in [("macrobell", parser), *sub.choices.items()]:
        for action in p._actions:
            if not action.help or action.help == argparse.SUPPRESS or not str(action.help).strip():
                missing.append(f"{cmd} {action.option_strings or action.dest}")
    assert not missing, missing


def test_point_help_lists_every_allowed_value_from_the_tables(capsys):
    from macrobell.data.sweep import METHODS
    from macrobell.lattice import LATTICE_KINDS, MATERIALS, MODEL_KINDS, PARTITION_KINDS

    assert main(["point", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for name in [*LATTICE_KINDS, *MODEL_KINDS, *MATERIALS, *PARTITION_KINDS, *METHODS]:
        assert name in text, name
    point = _subparsers(build_parser()).choices["point"]
    helps = {a.dest: a.help for a in point._actions}
    assert all(m in helps["method"] for m in METHODS) and "peps" in helps["method"]
    assert all(k in helps["lattice"] for k in LATTICE_KINDS) and all(k in helps["model"] for k in MODEL_KINDS)
    assert all(k in helps["material"] for k in MATERIALS)
    assert '"params"' in text and '"points"' in text and "null" in text  # the --json schema


@pytest.mark.parametrize("topic", list(LIST_TOPICS))
def test_list_prints_every_name_of_the_table(capsys, topic):
    from macrobell.lattice import LATTICE_KINDS, MATERIALS, MODEL_KINDS, PARTITION_KINDS

    names = {"lattices": LATTICE_KINDS, "models": MODEL_KINDS, "partitions": PARTITION_KINDS,
             "materials": MATERIALS, "criteria": CRITERIA_MEANINGS}[topic]
    assert main(["list", topic]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(names)
    assert all(len(line.split()) >= 3 for line in lines)  # a name and a description


def test_list_criteria_covers_exactly_the_keys_criteria_returns():
    """The meanings table against real criteria() dicts (K = 2 and K = 3): no key missing, none invented."""
    from macrobell.observables.criteria import T_from_rho, criteria

    rng = np.random.default_rng(7)
    for K in (2, 3):
        psi = rng.normal(size=2 ** K) + 1j * rng.normal(size=2 ** K)
        psi /= np.linalg.norm(psi)
        rho = np.outer(psi, psi.conj())
        crit = criteria(T_from_rho(rho), [1] * K, rho=rho)
        assert set(crit) == set(CRITERIA_MEANINGS), set(crit) ^ set(CRITERIA_MEANINGS)


def test_list_descriptions_come_from_the_factories():
    from macrobell.lattice import LATTICE_KINDS

    text = listing("lattices")
    first = (LATTICE_KINDS["chain"].__doc__ or "").strip().splitlines()[0].replace("``", "")
    assert first in text
    with pytest.raises(ValueError, match="allowed"):
        listing("nope")


def test_list_unknown_topic_is_one_line(capsys):
    line = _one_line_error(capsys, main(["list", "colours"]))
    assert "invalid choice: 'colours'" in line and "lattices" in line
