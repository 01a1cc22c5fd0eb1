"""Figures read back from matplotlib: labels with units, verdict markers, hollow unconverged points,
thresholds only where they apply (and unclipped, non-overlapping labels), facets, log axes, phase diagrams."""

import itertools
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from conftest import EXACT_CHAIN_SWEEP  # noqa: E402
from macrobell.cli import main  # noqa: E402
from macrobell.data import load, plot, run_sweep  # noqa: E402
from macrobell.data.columns import COLUMNS, KINDS, axis_label  # noqa: E402
from macrobell.data.plot import VERDICT_COLOURS, VERDICT_MARKERS, WERNER_LINE_TOL, _hue_colours  # noqa: E402
from macrobell.observables import thresholds as th  # noqa: E402
from macrobell.observables.criteria import VERDICTS  # noqa: E402

SWEEP = EXACT_CHAIN_SWEEP

MATERIAL = """
[lattice]
L = 4
pbc = true
[model]
material = "CuPzN"
temperature_unit = "K"
[state]
method = "exact"
temperatures = [0.0, 5.0, 10.0]
[[partitions]]
kind = "halves"
"""


@pytest.fixture(scope="module")
def df(exact_chain_store):
    return load(exact_chain_store)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _gid_lines(ax, prefix):
    return [ln for ln in ax.lines if (ln.get_gid() or "").startswith(prefix)]


def _legend_texts(fig):
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def _points(lines):
    return {(round(float(a), 9), round(float(b), 9)) for ln in lines for a, b in zip(ln.get_xdata(), ln.get_ydata())}


def test_column_table_is_consistent():
    assert all(c.kind in KINDS for c in COLUMNS.values())
    assert axis_label("T") == "temperature $T$ / $J$"
    assert axis_label("T_K") == "temperature $T$ (K)"
    assert axis_label("elapsed_s") == "wall time (s)"
    assert axis_label("not_a_column") == "not_a_column"


def test_axis_labels_with_units_and_overrides(df):
    fig = plot(df, x="T", y="chsh_max", hue="L")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "temperature $T$ / $J$"
    assert "CHSH" in ax.get_ylabel() and ax.get_ylabel() != "chsh_max"
    fig = plot(df, x="T", y="chsh_max", xlabel="k_B T / J", ylabel="B")
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("k_B T / J", "B")


def test_material_sweep_plots_kelvin(tmp_path):
    path = tmp_path / "m.h5"
    run_sweep(MATERIAL, path, workers=1, show_progress=False)
    mdf = load(path)
    fig = plot(mdf, x="T", y="energy")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "temperature $T$ (K)"
    assert ax.get_ylabel() == "energy $E$ / $J_\\mathrm{ref}$"
    (data,) = _gid_lines(ax, "data")
    assert sorted(data.get_xdata()) == [0.0, 5.0, 10.0]  # the kelvin values, not T / J_ref
    assert not np.allclose(sorted(mdf["T"]), [0.0, 5.0, 10.0])


def test_verdict_markers_match_each_point(df):
    fig = plot(df[df.Delta == 0.5], x="T", y="chsh_max", hue="L")
    seen = set()
    for ax, part in zip(fig.axes, ["sublattices", "halves"]):
        sub = df[(df.Delta == 0.5) & (df.partition == part)]
        for v in set(sub["verdict"]):
            lines = _gid_lines(ax, f"verdict:{v}")
            assert lines and all(ln.get_marker() == VERDICT_MARKERS[v] for ln in lines)
            rows = sub[sub.verdict == v]
            assert _points(lines) == {(round(a, 9), round(b, 9)) for a, b in zip(rows["T"], rows["chsh_max"])}
            seen.add(v)
    assert len(seen) >= 2  # the data have several verdicts, so the test tells them apart
    legend = _legend_texts(fig)
    assert all(v in legend for v in seen)
    assert "L=4" in legend and "L=6" in legend
    assert not any("not converged" in t for t in legend)  # every exact state converged


def test_legacy_verdict_and_unconverged_points_are_hollow(df):
    sub = df[(df.Delta == 1.0) & (df.partition == "sublattices")].copy()
    sub["verdict"] = sub["verdict"].astype(object)
    first = sub.index[sub["T"] == 0.0]
    sub.loc[first, "verdict"] = "chsh-violating"  # written by old versions
    sub.loc[sub.index[sub["T"] == 1.0], "converged"] = False
    fig = plot(sub, x="T", y="chsh_max", hue="L")
    ax = fig.axes[0]
    nonlocal_ = _gid_lines(ax, "verdict:nonlocal")
    assert nonlocal_ and all(ln.get_marker() == "*" for ln in nonlocal_)
    assert {p[0] for p in _points(nonlocal_)} == {0.0}
    markers = _gid_lines(ax, "verdict:")
    hollow = [ln for ln in markers if ln.get_gid().endswith(":unconverged")]
    filled = [ln for ln in markers if not ln.get_gid().endswith(":unconverged")]
    assert hollow and all(ln.get_markerfacecolor() == "none" for ln in hollow)
    assert {p[0] for p in _points(hollow)} == {1.0}
    assert all(ln.get_markerfacecolor() != "none" for ln in filled)
    assert {p[0] for p in _points(filled)} == {0.0, 0.5}
    legend = _legend_texts(fig)
    assert "hollow marker: state not converged" in legend and "nonlocal" in legend
    assert "chsh-violating" not in legend


def _thresholds(ax):
    return {ln.get_gid().split(":", 1)[1]: float(ln.get_ydata()[0]) for ln in _gid_lines(ax, "threshold:")
            if ln.get_gid() != "threshold:monogamy"}


def test_werner_lines_only_on_werner_data(df):
    # Heisenberg (Delta = 1) is SU(2) symmetric: its effective states are Werner states.
    heis = df[df.Delta == 1.0]
    assert heis["werner_distance"].max() < WERNER_LINE_TOL
    fig = plot(heis, x="N", y="werner_V", hue="T")
    want = {"separable": th.WERNER_SEPARABLE, "local-povm": th.WERNER_LOCAL_POVM,
            "local-projective": th.WERNER_LOCAL_PROJECTIVE, "chsh-werner": th.WERNER_CHSH_VIOLATED}
    for ax in fig.axes:
        assert _thresholds(ax) == pytest.approx(want)
    # XXZ Delta = 0.5 is not: no Werner lines, and the legend says why.
    xxz = df[df.Delta == 0.5]
    assert xxz["werner_distance"].max() > 1e-3
    fig = plot(xxz, x="N", y="werner_V", hue="T")
    for ax in fig.axes:
        assert _thresholds(ax) == {}
    assert any("Werner thresholds not drawn" in t for t in _legend_texts(fig))
    # CHSH bounds hold for every two-qubit state, Werner or not.
    fig = plot(xxz, x="T", y="chsh_max", hue="L")
    assert _thresholds(fig.axes[0]) == pytest.approx({"chsh-local": 2.0, "tsirelson": 2 * math.sqrt(2)})
    with pytest.raises(ValueError, match="unknown thresholds"):
        plot(xxz, x="T", y="chsh_max", thresholds=["tsirelsen"])


def _overlap(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_threshold_labels_unclipped_staggered_clear_of_legend(df, tmp_path):
    heis = df[df.Delta == 1.0]
    fig = plot(heis, x="N", y=["werner_V", "chsh_max"], hue="T", out=tmp_path / "w.png")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for row in (fig.axes[:2], fig.axes[2:]):
        last = row[-1]
        labels = [t for t in last.texts if t.get_gid() == "threshold-label"]
        assert labels and all(t.get_gid() != "threshold-label" for t in row[0].texts)  # right margin only
        boxes = [t.get_window_extent(renderer) for t in labels]
        ax_box = last.get_window_extent(renderer)
        fig_box = fig.bbox
        for b in boxes:
            assert b.x0 >= ax_box.x1 and b.x1 <= fig_box.x1 + 1 and b.y0 >= fig_box.y0 and b.y1 <= fig_box.y1
            for leg in fig.legends:
                assert not _overlap(b, leg.get_window_extent(renderer))
        for a, b in itertools.combinations(boxes, 2):
            assert not _overlap(a, b)
        lo, hi = last.get_ylim()
        assert all(lo < v < hi for v in _thresholds(last).values())  # 2√2 and 0.6875 / 1/√2 all visible
    close = {"local (projective): V ≤ 0.6875", "CHSH violated: V > 1/√2"}
    assert {t.get_text() for t in fig.axes[1].texts} >= close
    assert "Tsirelson 2√2" in {t.get_text() for t in fig.axes[3].texts}


def test_facets_no_partition_mixing_and_distinct_colours(df):
    fig = plot(df, x="T", y="chsh_max", hue="L", facet="partition")
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["partition = sublattices", "partition = halves"]
    fig = plot(df, x="T", y="chsh_max", hue="L")  # partitions differ: never one legend of mixed points
    assert len(fig.axes) == 2
    for ax, part in zip(fig.axes, ["sublattices", "halves"]):
        rows = df[df.partition == part]
        assert _points(_gid_lines(ax, "verdict:")) == {(round(a, 9), round(b, 9))
                                                        for a, b in zip(rows["T"], rows["chsh_max"])}
    with pytest.raises(ValueError, match="disagree"):
        plot(df, x="T", y="chsh_max", facet="partition", col="L")
    colours = _hue_colours([f"c{i}" for i in range(12)])
    assert len(set(colours.values())) == 12  # no cycle repeating after 10
    fig = plot(df, x="N", y="chsh_max", hue="T", facet="partition")
    data = _gid_lines(fig.axes[0], "data")
    assert len({ln.get_color() if isinstance(ln.get_color(), str) else tuple(ln.get_color()) for ln in data}) == 3


def test_log_axes_title_and_categorical_strip(df):
    fig = plot(df[df["T"] > 0], x="T", y="chsh_max", hue="L", logx=True, logy=True, title="My title")
    assert fig.axes[0].get_yscale() == "log" and fig.axes[0].get_xscale() == "log"
    assert fig._suptitle.get_text() == "My title"
    assert not any("not shown" in t for t in _legend_texts(fig))
    fig = plot(df, x="T", y="concurrence", hue="L", logy=True)
    hidden = int((df["concurrence"] <= 0).sum())
    assert hidden > 0 and f"{hidden} points with concurrence ≤ 0 not shown (log axis)" in _legend_texts(fig)
    with pytest.raises(ValueError, match="no positive value"):
        plot(df.assign(negativity=0.0), x="T", y="negativity", logy=True)
    with pytest.raises(ValueError, match="logy needs a numeric y"):
        plot(df, x="T", y="verdict", logy=True)
    sub = df[(df.partition == "sublattices") & (df.L == 4) & (df.Delta == 0.5)]
    fig = plot(sub, x="T", y="verdict")
    ax = fig.axes[0]
    cats = [t.get_text() for t in ax.get_yticklabels()]
    assert cats == [v for v in VERDICTS if v in set(sub["verdict"])]
    for v in cats:
        (ln,) = _gid_lines(ax, f"verdict:{v}")
        assert ln.get_marker() == VERDICT_MARKERS[v] and set(ln.get_ydata()) == {cats.index(v)}


def test_phase_diagram(df, tmp_path):
    sub = df[df.L == 6].copy()
    fig = plot(sub, x="Delta", y="T", phase=True, out=tmp_path / "p.png")
    assert len(fig.axes) == 2
    for ax, part in zip(fig.axes, ["sublattices", "halves"]):
        (mesh,) = [c for c in ax.collections if c.get_gid() == "phase:verdict"]
        rows = sub[sub.partition == part]
        codes = np.asarray(mesh.get_array()).reshape(3, 2)  # T (rows) x Delta (columns), sorted
        cmap = mesh.get_cmap()
        for _, r in rows.iterrows():
            i, k = sorted(rows["T"].unique()).index(r["T"]), sorted(rows["Delta"].unique()).index(r["Delta"])
            rgba = cmap(mesh.norm(codes[i, k]))
            assert matplotlib.colors.to_hex(rgba) == VERDICT_COLOURS[r["verdict"]]
        assert ax.get_xlabel() == "anisotropy $\\Delta$"
    legend = _legend_texts(fig)
    assert set(legend) == set(sub["verdict"])
    sub.loc[sub.index[0], "converged"] = False
    fig = plot(sub, x="Delta", y="T", phase=True)
    assert sum(p.get_gid() == "unconverged" for p in fig.axes[0].patches) == 1
    assert "hatched cell: not converged" in _legend_texts(fig)
    with pytest.raises(ValueError, match="also vary"):  # L varies too: refused before any figure or file
        plot(df, x="Delta", y="T", phase=True, out=tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_cli_plot_options(df, tmp_path, capsys, monkeypatch):
    import macrobell.data

    figs = []
    real = macrobell.data.plot
    monkeypatch.setattr(macrobell.data, "plot", lambda *a, **kw: figs.append(real(*a, **kw)) or figs[-1])
    path = tmp_path / "c.h5"
    run_sweep(SWEEP.replace("L = [4, 6]", "L = 4"), path, workers=1, show_progress=False)
    stored = load(path)
    png = tmp_path / "f.png"
    assert main(["plot", str(path), "--x", "T", "--y", "chsh_max", "--hue", "Delta", "--facet", "partition",
                 "--logy", "--title", "T sweep", "--xlabel", "kT/J", "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The options reach the figure, and its lines carry the stored values (every row once).
    fig = figs[-1]
    assert "T sweep" in fig.get_suptitle() + "".join(ax.get_title() for ax in fig.axes)
    panels = [ax for ax in fig.axes if any(ln.get_gid() == "data" for ln in ax.lines)]
    assert {ax.get_xlabel() for ax in panels} <= {"kT/J", ""} and any(ax.get_xlabel() == "kT/J" for ax in panels)
    assert all(ax.get_yscale() == "log" for ax in panels)
    drawn = sorted((float(x), float(y)) for ax in panels for ln in ax.lines if ln.get_gid() == "data"
                   for x, y in zip(ln.get_xdata(), ln.get_ydata()))
    np.testing.assert_allclose(drawn, sorted(zip(stored["T"], stored["chsh_max"])), atol=1e-12)
    phase = tmp_path / "p.png"
    assert main(["plot", str(path), "--phase", "--x", "Delta", "--y", "T", "-o", str(phase)]) == 0
    assert phase.stat().st_size > 1000
    # Phase cells: the colour of each stored point's verdict, T (rows) x Delta (columns).
    for ax, part in zip(figs[-1].axes, ["sublattices", "halves"]):
        (mesh,) = [c for c in ax.collections if c.get_gid() == "phase:verdict"]
        rows = stored[stored.partition == part]
        Ts, Ds = sorted(rows["T"].unique()), sorted(rows["Delta"].unique())
        codes = np.asarray(mesh.get_array()).reshape(len(Ts), len(Ds))
        for _, r in rows.iterrows():
            rgba = mesh.get_cmap()(mesh.norm(codes[Ts.index(r["T"]), Ds.index(r["Delta"])]))
            assert matplotlib.colors.to_hex(rgba) == VERDICT_COLOURS[r["verdict"]]
    capsys.readouterr()
