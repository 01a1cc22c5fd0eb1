"""CLI leftovers of issue 13: export, --where / plot -o messages, the show summary, --verbose."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from macrobell.cli import main
from macrobell.data import load, run_sweep
from macrobell.data.export import export, read_export

SWEEP = """
[lattice]
kind = "chain"
L = [4, 6]
pbc = true
[model]
kind = "heisenberg"
[state]
method = "exact"
temperatures = [0.0, 1.0]
[[partitions]]
kind = "halves"
[[partitions]]
kind = "sublattices"
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "s.h5"
    run_sweep(SWEEP, out, workers=1, show_progress=False)
    return out


def _one_line(capsys, rc, *needles):
    out, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1 and err.startswith("macrobell: error:"), err
    for n in needles:
        assert n in err, err
    return err


@pytest.mark.parametrize("fmt,module", [("csv", None), ("netcdf", "xarray"), ("parquet", "pyarrow")])
def test_export_reads_back_equal_to_load(stored, tmp_path, fmt, module, capsys):
    if module and importlib.util.find_spec(module) is None:
        _one_line(capsys, main(["export", str(stored), "--to", fmt, "-o", str(tmp_path / "x")]), module)
        assert not (tmp_path / "x").exists()
        pytest.skip(f"{module} not installed")
    dst = tmp_path / f"t.{fmt}"
    assert main(["export", str(stored), "--to", fmt, "-o", str(dst)]) == 0
    assert str(dst) in capsys.readouterr().out
    ref = load(stored).reset_index(drop=True)
    back = read_export(dst, fmt)
    assert list(back.columns) == list(ref.columns) and len(back) == len(ref) == 8
    pd.testing.assert_frame_equal(back, ref, check_dtype=False)
    assert back["warnings"].tolist() == ref["warnings"].tolist()  # list columns come back as lists


def test_export_refuses_bad_format_and_input_file(stored, capsys):
    with pytest.raises(ValueError, match="format must be one of"):
        export(stored, fmt="xlsx")
    with pytest.raises(ValueError, match="is the input file"):
        export(stored, stored, fmt="csv")
    _one_line(capsys, main(["export", str(stored), "--to", "xlsx"]), "--to", "csv")


def test_where_names_the_existing_values(stored, tmp_path, capsys):
    err = _one_line(capsys, main(["plot", str(stored), "--x", "T", "--y", "chsh_max", "--where", "partition=halfs",
                                  "-o", str(tmp_path / "a.png")]), "partition", "halfs")
    assert "'halves'" in err and "'sublattices'" in err and not (tmp_path / "a.png").exists()


def test_plot_into_a_missing_folder_is_a_clear_error(stored, capsys):
    err = _one_line(capsys, main(["plot", str(stored), "--x", "T", "--y", "chsh_max", "-o", "/nonexistent/a.png"]),
                    "/nonexistent", "does not exist")
    assert "Errno" not in err


def test_show_summary_has_converged_and_no_redundant_N(stored, capsys):
    assert main(["show", str(stored)]) == 0
    table = capsys.readouterr().out.split("--- summary ---")[1].splitlines()
    head = table[1].split()
    assert "converged" in head and "L" in head and "N" not in head
    rows = [r.split() for r in table[2:] if r.strip()]
    assert len(rows) == 8 and all(r[head.index("converged")] == "True" for r in rows)


def test_verbose_point_prints_solver_sweeps_on_stderr(capsys):
    assert main(["point", "--L", "8", "--method", "dmrg", "--bond-dim", "8", "--seed", "1", "-v"]) == 0
    out, err = capsys.readouterr()
    lines = [x for x in err.splitlines() if x.startswith("dmrg: sweep")]
    assert lines and "E=" in lines[-1] and "max_bond=" in lines[-1]
    assert "dmrg: sweep" not in out
    assert main(["point", "--L", "8", "--method", "dmrg", "--bond-dim", "8", "--seed", "1"]) == 0
    assert "dmrg: sweep" not in capsys.readouterr().err  # not a terminal, not --verbose: quiet
