"""load() as a tidy frame, plot() lines / heat maps with threshold lines, the demo on a tiny configuration."""

import io

import matplotlib
import matplotlib.collections
import matplotlib.image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import macrobell as mb  # noqa: E402
from conftest import horodecki_chsh_max, two_region_T, werner_level, xxz_ring_oracle  # noqa: E402
from macrobell.data import load, plot, run_demo  # noqa: E402
from macrobell.data.demo import DEMO_THRESHOLDS  # noqa: E402
from macrobell.observables import thresholds as th  # noqa: E402



@pytest.fixture(scope="module")
def store(exact_chain_store):
    return exact_chain_store  # conftest.EXACT_CHAIN_SWEEP: L in {4, 6}, Delta in {0.5, 1}, T in {0, 0.5, 1}


def test_tidy_frame(store):
    df = load(store)
    assert len(df) == 2 * 2 * 3 * 2
    for c in ("lattice", "L", "pbc", "N", "model", "Delta", "method", "T", "partition", "energy", "converged",
              "chsh_max", "zb_max", "werner_V", "werner_distance", "ppt", "negativity", "concurrence",
              "steering", "grothendieck_local", "monogamy_bound", "min_settings_for_violation", "verdict",
              "point_id", "elapsed_s", "warnings"):
        assert c in df.columns, c
    assert df["partition"].tolist()[:2] == ["sublattices", "halves"]  # the sweep's order
    assert (df["N"] == df["L"]).all()
    assert sorted(df["T"].unique()) == [0.0, 0.5, 1.0]
    assert df.groupby("point_id").size().eq(2).all()


def test_frame_values_against_brute_force(store):
    """Every row's energy and CHSH value against Kronecker-product diagonalisation; on the SU(2) points
    (Delta = 1: Werner states) also V = -<zz> over the region pairs and the verdict V implies."""
    df = load(store)
    levels = set()
    for _, r in df.iterrows():
        L, Delta, T = int(r["L"]), float(r["Delta"]), float(r["T"])
        part = getattr(mb.lattice.Partition, r["partition"])(mb.lattice.chain(L, pbc=True))
        energy, rho = xxz_ring_oracle(L, Delta, T)
        T3 = two_region_T(rho, part.regions, L)
        assert r["energy"] == pytest.approx(energy, abs=1e-10)
        assert r["chsh_max"] == pytest.approx(horodecki_chsh_max(T3), abs=1e-9)
        assert bool(r["converged"])
        if Delta == 1.0:
            np.testing.assert_allclose(T3, T3[2, 2] * np.eye(3), atol=1e-12)  # Werner form: T = -V 1
            assert r["werner_V"] == pytest.approx(-T3[2, 2], abs=1e-9)
            assert r["verdict"] == werner_level(-T3[2, 2]), (L, T, r["partition"])
            levels.add(r["verdict"])
    assert levels == {"separable", "local-povm", "local-projective"}  # the store spans three levels


def test_line_plot_png_and_pdf_with_threshold_lines(store, tmp_path):
    for name in ("f.png", "f.pdf"):
        fig = plot(store, x="T", y="chsh_max", hue="L", out=tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000
        ax = fig.axes[0]
        labels = [t.get_text() for t in fig.axes[-1].texts]  # threshold labels: right margin of the last panel
        assert any("CHSH" in t for t in labels)
        assert any(np.allclose(line.get_ydata(), th.CHSH_CLASSICAL) for line in ax.lines)
        # The data lines (all panels) carry exactly the stored (T, chsh_max) values, every row once.
        df = load(store)
        drawn = sorted((float(x), float(y)) for a in fig.axes for line in a.lines if line.get_gid() == "data"
                       for x, y in zip(line.get_xdata(), line.get_ydata()))
        assert len(drawn) == len(df)
        np.testing.assert_allclose(drawn, sorted(zip(df["T"], df["chsh_max"])), rtol=0, atol=1e-12)
        plt.close(fig)
    with open(tmp_path / "f.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # The PNG decodes to a drawn picture (not just a header): two panels side by side, not blank.
    img = matplotlib.image.imread(tmp_path / "f.png")
    assert img.ndim == 3 and img.shape[1] > img.shape[0] > 200
    assert img[..., :3].std() > 0.05
    with open(tmp_path / "f.pdf", "rb") as f:
        assert f.read(4) == b"%PDF"


def test_werner_thresholds_and_lines_per_varying_parameter(store):
    df = load(store)
    # Werner thresholds only on Werner data: the Heisenberg (Delta = 1, SU(2)-symmetric) points.
    fig = plot(df[df.Delta == 1.0], x="N", y="werner_V", hue="T", col="partition")
    ax = fig.axes[0]
    ys = {round(float(line.get_ydata()[0]), 6) for line in ax.lines if (line.get_gid() or "").startswith("threshold")
          and len(set(line.get_ydata())) == 1}
    for v in (th.WERNER_SEPARABLE, th.WERNER_LOCAL_POVM, th.WERNER_LOCAL_PROJECTIVE, th.WERNER_CHSH_VIOLATED):
        assert round(v, 6) in ys
    plt.close(fig)
    fig = plot(df, x="N", y="werner_V", hue="T", col="partition")
    ax = fig.axes[0]
    # T (hue) x Delta (also varies, so never averaged): 6 data lines per panel, L is not split (= N).
    data_lines = [line for line in ax.lines if line.get_gid() == "data"]
    assert len(data_lines) == 3 * 2
    assert len(fig.axes) == 2
    plt.close(fig)


def test_heat_map(store, tmp_path):
    df = load(store)
    sub = df[(df.partition == "sublattices") & (df.L == 6)]
    fig = plot(sub, x="T", y="Delta", z="werner_V", out=tmp_path / "h.png")
    assert (tmp_path / "h.png").exists()
    # The cells are the stored werner_V, rows Delta and columns T (both ascending).
    (mesh,) = [c for c in fig.axes[0].collections if isinstance(c, matplotlib.collections.QuadMesh)]
    table = sub.pivot(index="Delta", columns="T", values="werner_V").sort_index().sort_index(axis=1)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(table.shape), table.to_numpy(), atol=1e-12)
    assert matplotlib.image.imread(tmp_path / "h.png").ndim == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="also vary"):
        plot(df, x="T", y="Delta", z="werner_V")


def test_plot_errors(store, tmp_path):
    with pytest.raises(ValueError, match="'chsh' is not in the data"):
        plot(store, x="T", y="chsh")
    with pytest.raises(ValueError, match="must end in"):
        plot(store, x="T", y="chsh_max", out=tmp_path / "f.jpgx")


def test_demo_tiny(tmp_path):
    out = tmp_path / "demo.h5"
    buf = io.StringIO()
    r = run_demo(out, sizes=(4, 6), temperatures=(0.0, 1.0), workers=1, stream=buf, show_progress=False)
    text = buf.getvalue()
    assert "sublattices" in text and "verdict" in text and "chsh_max" in text
    assert (tmp_path / "demo.png").stat().st_size > 1000
    df = r["frame"]
    fig = plot(df, x="R", y="werner_V", hue="T", col="partition", thresholds=DEMO_THRESHOLDS)
    for ax, part in zip(fig.axes, ["halves", "sublattices"]):
        assert ax.get_xlabel().startswith("region size")
        (mono,) = [ln for ln in ax.lines if ln.get_gid() == "threshold:monogamy"]
        R = np.asarray(mono.get_xdata())
        assert list(R) == [2.0, 3.0]  # rings of 4 and 6 split in two
        assert np.allclose(mono.get_ydata(), (R + 2) / (3 * R))  # Kay et al. PRL 103, 050501 (2009)
        (sep,) = [ln for ln in ax.lines if ln.get_gid() == "threshold:separable"]
        assert np.allclose(sep.get_ydata(), 1 / 3)
        sub = df[df.partition == part]
        markers = [ln for ln in ax.lines if (ln.get_gid() or "").startswith("verdict:")]
        assert sum(len(ln.get_xdata()) for ln in markers) == len(sub)
        assert {ln.get_gid().split(":")[1] for ln in markers} == set(sub["verdict"])
        assert np.all(sub["werner_V"] <= sub["monogamy_bound"] + 1e-9)  # the theorem the figure shows
    plt.close(fig)
    assert len(r["frame"]) == 2 * 2 * 2
    # Running it again resumes: nothing recomputed.
    r2 = run_demo(out, sizes=(4, 6), temperatures=(0.0, 1.0), workers=1, stream=io.StringIO(),
                  make_plot=False, show_progress=False)
    assert r2["summary"]["computed"] == 0
