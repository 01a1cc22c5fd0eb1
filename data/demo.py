"""The built-in demo: Heisenberg rings through the whole sweep machinery.

Heisenberg rings N = 6, 8, 10, 12 (exact states), T ∈ {0, 0.5, 1, 2},
partitions ``halves`` and ``sublattices``: a built-in TOML sweep run by
:func:`~macrobell.data.run_sweep` into an HDF5 file of the docs/architecture.md
layout, a summary table printed, and a PNG (see below) written next to the
output. Running it again on the same file resumes (and so only reprints).

The figure tells the seed's story (seed §V; Kay, Kaszlikowski, Ramanathan,
PRL 103, 050501 (2009)): the Werner visibility ``V`` of the two-region
effective state against the region size ``R = max(N_A, N_B)``, under the
singlet-monogamy bound ``(R+2)/(3R)`` that falls to the separable line
``V = 1/3`` as the regions grow; marker shapes are the verdicts, colours the
temperature, one panel per partition.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .load import load
from .plot import plot
from .journal import journal_path
from .runner import run_sweep
from .sweep import Sweep, to_toml

__all__ = ["DEMO_TOML", "DEMO_SUFFIX", "demo_sweep", "run_demo", "summary_table"]

DEMO_SIZES = (6, 8, 10, 12)
DEMO_TEMPERATURES = (0.0, 0.5, 1.0, 2.0)

#: The demo's sweep file.
DEMO_TOML = """\
description = "macrobell demo: Heisenberg rings, exact ground and thermal states"

[lattice]
kind = "chain"
L = [6, 8, 10, 12]
pbc = true

[model]
kind = "heisenberg"
J = 1.0
Delta = 1.0

[state]
method = "exact"
temperatures = [0.0, 0.5, 1.0, 2.0]

[[partitions]]
kind = "halves"

[[partitions]]
kind = "sublattices"
"""

#: The demo's output must be an HDF5 file with this suffix (the plot takes the same name with ``.png``).
DEMO_SUFFIX = ".h5"

#: Reference lines of the demo figure: the separable line and the monogamy bound (R+2)/(3R).
DEMO_THRESHOLDS = ("separable", "monogamy")

SUMMARY_COLUMNS = ("chsh_max", "zb_max", "werner_V", "werner_distance", "negativity", "verdict")


def demo_sweep(sizes=DEMO_SIZES, temperatures=DEMO_TEMPERATURES) -> Sweep:
    """The demo sweep (optionally on other ring sizes / temperatures, e.g. for quick tests)."""
    if tuple(sizes) == DEMO_SIZES and tuple(temperatures) == DEMO_TEMPERATURES:
        return Sweep.from_toml(DEMO_TOML)
    cfg = {"description": "macrobell demo (custom sizes)",
           "lattice": {"kind": "chain", "L": [int(n) for n in sizes], "pbc": True},
           "model": {"kind": "heisenberg", "J": 1.0, "Delta": 1.0},
           "state": {"method": "exact", "temperatures": [float(t) for t in temperatures]},
           "partitions": [{"kind": "halves"}, {"kind": "sublattices"}]}
    return Sweep.from_toml(to_toml(cfg))


def summary_table(df, columns=SUMMARY_COLUMNS, max_rows: int | None = 200) -> str:
    """A readable text table: the varying parameters, the partition, and the main criteria."""
    import pandas as pd

    if df.empty:
        return "(no complete points)"
    params = []
    for c in df.columns:
        if c == "partition":
            break
        if c in ("N", "T") or df[c].astype(str).nunique() > 1:
            params.append(c)
    cols = params + ["partition"] + [c for c in columns if c in df.columns]
    view = df[cols]
    if max_rows is not None and len(view) > max_rows:
        view = view.head(max_rows)
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        text = view.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    if max_rows is not None and len(df) > max_rows:
        text += f"\n… {len(df) - max_rows} more rows"
    return text


def run_demo(out="demo.h5", sizes=DEMO_SIZES, temperatures=DEMO_TEMPERATURES, workers=None,
             make_plot: bool = True, stream=None, show_progress: bool | None = True) -> dict:
    """Run the demo into ``out``; print the summary table; write ``<out>.png``.

    ``out`` must end in ``.h5`` (a ``ValueError`` before any work otherwise):
    the plot is written beside it with the suffix ``.png``.

    Returns
    -------
    dict
        ``{"path", "plot", "frame", "summary"}``.
    """
    stream = sys.stdout if stream is None else stream
    out = Path(out)
    # out is the HDF5 file and the plot goes beside it as <out>.png: any other suffix would make
    # the plot overwrite the data (-o x.png) or leave the file type ambiguous
    if out.suffix.lower() != DEMO_SUFFIX:
        raise ValueError(f"demo: output {str(out)!r} must be the HDF5 file, ending in {DEMO_SUFFIX!r} (the plot "
                         f"is written beside it as {out.with_suffix('.png').name!r}); got suffix "
                         f"{out.suffix or '(none)'!r}")
    sweep = demo_sweep(sizes, temperatures)
    # the same sweep resumes (a different one is refused by run_sweep); a journal alone is a killed start
    resume = out.exists() or journal_path(out).exists()
    summary = run_sweep(sweep, out, workers=workers, resume=resume, show_progress=show_progress)
    df = load(out)
    print(f"macrobell demo: {summary['n_points']} points ({summary['computed']} computed now) in {out}",
          file=stream)
    print(summary_table(df), file=stream)
    png = None
    if make_plot:
        png = out.with_suffix(".png")
        fig = plot(df, x="R", y="werner_V", hue="T", col="partition", out=png, thresholds=DEMO_THRESHOLDS,
                   title="Heisenberg rings (exact): macroscopic regions are pushed towards separability")
        import matplotlib.pyplot as plt
        plt.close(fig)
        print(f"plot: {png}", file=stream)
    return {"path": str(out), "plot": None if png is None else str(png), "frame": df, "summary": summary}
