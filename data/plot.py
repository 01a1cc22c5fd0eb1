"""Plots of a loaded sweep: lines (``x``, ``y``, ``hue``) or a heat map (``x``, ``y``, ``z``).

Thresholds are drawn as labelled reference lines when the plotted quantity
has one: ``chsh_max`` (CHSH local bound 2), ``zb_max`` (Zukowski–Brukner
bound 1) and ``werner_V`` (separable 1/3, local for POVMs 1/2, local for
projective measurements 0.6875, CHSH 1/√2) — the values come from
:mod:`macrobell.observables.thresholds`, never from here. matplotlib runs
with the Agg backend (no display needed); the file format follows the
suffix of ``out`` (``.png``, ``.pdf``, …).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot", "reference_lines"]

_FORMATS = (".png", ".pdf", ".svg")


def reference_lines(y: str) -> list:
    """``[(value, label), …]`` of the thresholds relevant to quantity ``y``."""
    from macrobell.observables import thresholds as th

    if y == "chsh_max":
        return [(th.CHSH_CLASSICAL, "CHSH local bound 2"), (th.CHSH_TSIRELSON, "Tsirelson 2√2")]
    if y in ("zb_max", "zb_upper"):
        return [(th.ZB_BOUND, "Zukowski–Brukner bound 1")]
    if y == "werner_V":
        return [(th.WERNER_SEPARABLE, "separable V ≤ 1/3"),
                (th.WERNER_LOCAL_POVM, "local (POVM) V ≤ 1/2"),
                (th.WERNER_LOCAL_PROJECTIVE, "local (projective) V ≤ 0.6875"),
                (th.WERNER_CHSH_VIOLATED, "CHSH violated V > 1/√2")]
    if y == "sv_max":
        return [(th.GROTHENDIECK_LOCAL, "1/K_G(3) ≥ 0.6875")]
    return []


def _frame(path_or_df):
    import pandas as pd

    if isinstance(path_or_df, pd.DataFrame):
        return path_or_df
    from .load import load
    return load(path_or_df)


def _is_numeric(vals) -> bool:
    """Whether a column plots as numbers (pandas extension dtypes included: np.issubdtype rejects them)."""
    from pandas.api import types as pdt

    if pdt.is_bool_dtype(vals.dtype) or pdt.is_numeric_dtype(vals.dtype):
        return True
    try:
        vals.astype(float)
    except (TypeError, ValueError):
        return False
    return True


def _check_column(df, name, role, categorical_ok=False):
    if name not in df.columns:
        cols = [c for c in df.columns if c not in ("warnings", "pairs", "regions", "sizes")]
        raise ValueError(f"plot: {role} column {name!r} is not in the data; available columns: {cols}")
    if role in ("hue", "col") or categorical_ok:
        return
    if not _is_numeric(df[name]):
        raise ValueError(f"plot: {role} column {name!r} is not numeric; categorical columns (e.g. verdict) are "
                         "allowed only as y of a line plot (no z), as hue or as col")


def _categories(values, name) -> list:
    """Category order of a categorical y column: the verdict levels strongest first, else sorted."""
    present = list(dict.fromkeys(str(v) for v in values))
    if name == "verdict":
        from macrobell.observables.criteria import VERDICTS
        return [v for v in VERDICTS if v in present] + sorted(v for v in present if v not in VERDICTS)
    return sorted(present)


def _varying(df, exclude, given) -> list:
    """Parameter columns that vary and are not determined by the plotted ones (e.g. L given N)."""
    out = []
    given = [c for c in given if c is not None and c in df.columns]
    for c in df.columns:
        if c in exclude or c in ("point_id", "index", "elapsed_s", "warnings", "pairs", "regions", "sizes"):
            continue
        try:
            n = df[c].astype(str).nunique()
        except TypeError:  # pragma: no cover
            continue
        if n <= 1 or c not in _PARAM_LIKE(df):
            continue
        if given and df.astype({c: str}).groupby(given, dropna=False)[c].nunique().max() <= 1:
            continue
        out.append(c)
    return out


def _PARAM_LIKE(df):
    # Parameters are the columns before "partition" plus "partition" itself.
    cols = list(df.columns)
    stop = cols.index("partition") + 1 if "partition" in cols else 0
    return set(cols[:stop])


def plot(path_or_df, x: str, y, hue: str | None = None, z: str | None = None, out=None, col: str | None = None,
         title: str | None = None):
    """Plot a sweep.

    Parameters
    ----------
    path_or_df : str, Path or pandas.DataFrame
        A store file or the frame :func:`~macrobell.data.load` returns.
    x : str
        Column on the horizontal axis.
    y : str or list of str
        Column(s) on the vertical axis (one panel row each); with ``z``, the
        vertical axis of a heat map. A categorical column (``"verdict"``)
        gives a strip of its values (verdicts in order, strongest first);
        ``x``, ``z`` and a heat map's ``y`` must be numeric.
    hue : str, optional
        One line per value of this column. Other parameters that vary are
        added to the line labels (never averaged over).
    z : str, optional
        Colour of a heat map over (x, y); other varying parameters must be
        fixed first (filter the frame) or split with ``col``.
    out : str or Path, optional
        File to write (``.png``, ``.pdf`` or ``.svg``).
    col : str, optional
        One panel column per value of this column (e.g. ``"partition"``).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    df = _frame(path_or_df)
    if df.empty:
        raise ValueError("plot: the data set has no complete points")
    ys = [y] if isinstance(y, str) else list(y)
    if not ys:
        raise ValueError("plot: give at least one y column")
    if out is not None and Path(out).suffix.lower() not in _FORMATS:
        raise ValueError(f"plot: output {str(out)!r} must end in one of {list(_FORMATS)}")
    for name, role in [(x, "x")] + [(v, "y") for v in ys] + [(hue, "hue"), (z, "z"), (col, "col")]:
        if name is not None:
            _check_column(df, name, role, categorical_ok=(role == "y" and z is None))
    cols = [None] if col is None else list(dict.fromkeys(df[col].tolist()))
    # categorical y columns share one category axis across panels
    cats = {yy: None if _is_numeric(df[yy]) else _categories(df[yy], yy) for yy in ys}
    if z is not None and len(ys) != 1:
        raise ValueError("plot: a heat map takes exactly one y column")
    fig, axes = plt.subplots(len(ys), len(cols), figsize=(4.8 * len(cols) + 1.2, 3.6 * len(ys)), squeeze=False)
    for j, cval in enumerate(cols):
        sub = df if col is None else df[df[col] == cval]
        for i, yy in enumerate(ys):
            ax = axes[i, j]
            if z is not None:
                _heatmap(fig, ax, sub, x, yy, z, exclude={x, yy, z, col})
            else:
                _lines(ax, sub, x, yy, hue, exclude={x, yy, hue, col}, cats=cats[yy])
            if col is not None and i == 0:
                ax.set_title(f"{col} = {cval}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=120)
    return fig


def _lines(ax, df, x, y, hue, exclude, cats=None):
    extra = _varying(df, exclude, [x, hue])
    keys = ([hue] if hue else []) + extra
    groups = df.groupby(keys, sort=True, dropna=False) if keys else [((), df)]
    # A categorical y (e.g. verdict, cats = its categories) is a strip: one row per category, the strongest
    # verdict at the bottom.
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values(x)
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, key)) or None
        yv = g[y].astype(float) if cats is None else g[y].map(lambda v: cats.index(str(v)))
        ax.plot(g[x].astype(float), yv, marker="o", label=label, lw=1.0 if cats is None else 0.6)
    if cats is not None:
        ax.set_yticks(range(len(cats)), cats)
        ax.set_ylim(-0.5, len(cats) - 0.5)
    for k, (value, label) in enumerate(reference_lines(y)):
        ax.axhline(value, ls="--", lw=0.9, color="0.4")
        # Alternate sides so that close thresholds (0.6875, 1/sqrt 2) stay legible.
        right = k % 2 == 0
        ax.annotate(label, xy=(1.0 if right else 0.0, value), xycoords=("axes fraction", "data"),
                    xytext=(-2 if right else 2, 2), textcoords="offset points", ha="right" if right else "left",
                    va="bottom", fontsize=7, color="0.3")
    xv = df[x].to_numpy(dtype=float)
    if xv.size and np.all(np.equal(np.mod(xv, 1), 0)):
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if keys:
        ax.legend(fontsize=7)


def _heatmap(fig, ax, df, x, y, z, exclude):
    extra = _varying(df, exclude, [x, y])
    if extra:
        raise ValueError(f"plot: heat map of {z!r} over ({x!r}, {y!r}) but {extra} also vary; "
                         "filter the data or pass col=...")
    table = df.pivot_table(index=y, columns=x, values=z, aggfunc="first")
    xs, ys = table.columns.to_numpy(dtype=float), table.index.to_numpy(dtype=float)
    mesh = ax.pcolormesh(_edges(xs), _edges(ys), table.to_numpy(dtype=float), shading="flat")
    fig.colorbar(mesh, ax=ax, label=z)
    ax.set_xlabel(x)
    ax.set_ylabel(y)


def _edges(v):
    v = np.asarray(v, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
