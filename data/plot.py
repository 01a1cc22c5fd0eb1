"""Plots of a loaded sweep: lines (``x``, ``y``, ``hue``), heat maps (``z``) and verdict phase diagrams.

Every figure is meant to be readable without this code at hand:

* axis labels with units come from :mod:`macrobell.data.columns`
  (``T / J``; ``T (K)`` on material sweeps, plotted from ``T_K``);
* each point's marker shape is its verdict (:data:`VERDICT_MARKERS`; legacy
  strings such as ``chsh-violating`` are mapped by
  :func:`macrobell.observables.verdict.canonical_verdict`), its colour its
  ``hue`` value (a sequential map for numbers, never a repeating cycle);
  points whose state did not converge are hollow, and the legend says so;
* thresholds are drawn only where they apply: ``chsh_max`` (CHSH local
  bound 2, Tsirelson 2√2), ``zb_max`` (Żukowski–Brukner bound 1),
  ``sv_max`` (1/K_G(3)), ``werner_V`` (separable 1/3, local for POVMs 1/2,
  local for projective measurements 0.6875, CHSH 1/√2 — only when every
  plotted point is a Werner state, ``werner_distance`` below
  :data:`WERNER_LINE_TOL`) and the singlet-monogamy bound ``(R+2)/(3R)``
  of Kay, Kaszlikowski, Ramanathan, PRL 103, 050501 (2009) (the frame's
  ``monogamy_bound`` column, drawn as a curve against ``x``). The values come
  from :mod:`macrobell.observables.thresholds`, never from here. Their labels
  sit in the right margin, staggered so that close values stay legible;
* points of different partitions are never mixed: when ``partition`` varies
  and is not the hue, there is one panel per partition.

matplotlib runs with the Agg backend (no display needed); the file format
follows the suffix of ``out`` (``.png``, ``.pdf``, ``.svg``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .columns import axis_label, derived_column

__all__ = ["plot", "reference_lines", "VERDICT_MARKERS", "VERDICT_COLOURS", "WERNER_LINE_TOL", "THRESHOLD_KEYS"]

_FORMATS = (".png", ".pdf", ".svg")

#: Werner threshold lines are drawn only when every plotted point has ``werner_distance`` below this.
#: A display tolerance (how far from a Werner state a line at V = 1/3 … 1/√2 still tells the truth
#: to the eye), not a physics threshold: the verdicts rest on the verified certificates.
WERNER_LINE_TOL = 1e-6

#: Marker shape of each verdict level (strongest statement first, as in VERDICTS).
VERDICT_MARKERS = {"nonlocal": "*", "separable": "o", "local-povm": "s", "local-projective": "D",
                   "local-correlations": "^", "local-2-setting": "v", "unknown": "X"}
#: Colour of each verdict level in phase diagrams (red = nonlocal, blue = separable).
VERDICT_COLOURS = {"nonlocal": "#d62728", "separable": "#1f77b4", "local-povm": "#17becf",
                   "local-projective": "#2ca02c", "local-correlations": "#bcbd22", "local-2-setting": "#ff7f0e",
                   "unknown": "#9e9e9e"}
_OTHER_MARKER, _OTHER_COLOUR = "P", "#000000"

#: Keys of the thresholds ``plot(..., thresholds=[...])`` accepts.
THRESHOLD_KEYS = ("chsh-local", "tsirelson", "zb", "grothendieck", "separable", "local-povm", "local-projective",
                  "chsh-werner", "monogamy")
_WERNER_KEYS = ("separable", "local-povm", "local-projective", "chsh-werner")
_PANEL_COLUMNS = ("warnings", "pairs", "regions", "sizes")


def _threshold_table(y: str) -> list:
    """``[(key, value, label), …]`` of the thresholds relevant to quantity ``y``."""
    from macrobell.observables import thresholds as th

    if y == "chsh_max":
        return [("chsh-local", th.CHSH_CLASSICAL, "CHSH local bound 2"),
                ("tsirelson", th.CHSH_TSIRELSON, "Tsirelson 2√2")]
    if y in ("zb_max", "zb_upper"):
        return [("zb", th.ZB_BOUND, "Żukowski–Brukner bound 1")]
    if y == "werner_V":
        return [("separable", th.WERNER_SEPARABLE, "separable: V ≤ 1/3"),
                ("local-povm", th.WERNER_LOCAL_POVM, "local (POVM): V ≤ 1/2"),
                ("local-projective", th.WERNER_LOCAL_PROJECTIVE, "local (projective): V ≤ 0.6875"),
                ("chsh-werner", th.WERNER_CHSH_VIOLATED, "CHSH violated: V > 1/√2")]
    if y == "sv_max":
        return [("grothendieck", th.GROTHENDIECK_LOCAL, "1/K_G(3) ≥ 0.6875")]
    return []


def reference_lines(y: str) -> list:
    """``[(value, label), …]`` of the thresholds relevant to quantity ``y`` (whether they apply or not)."""
    return [(v, lab) for _, v, lab in _threshold_table(y)]


# --------------------------------------------------------------------------- frame helpers


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
        cols = [c for c in df.columns if c not in _PANEL_COLUMNS]
        raise ValueError(f"plot: {role} column {name!r} is not in the data; available columns: {cols}")
    if role in ("hue", "col") or categorical_ok:
        return
    if not _is_numeric(df[name]):
        raise ValueError(f"plot: {role} column {name!r} is not numeric; categorical columns (e.g. verdict) are "
                         "allowed only as y of a line plot (no z), as hue or as col; a verdict map over two "
                         "parameters is plot(..., phase=True) (macrobell plot --phase)")


def _verdict_name(v) -> str:
    from macrobell.observables.verdict import canonical_verdict

    try:
        return canonical_verdict(str(v))
    except ValueError:
        return str(v)


def _categories(values, name) -> list:
    """Category order of a categorical column: the verdict levels strongest first, else sorted."""
    present = list(dict.fromkeys(str(v) for v in values))
    if name == "verdict":
        from macrobell.observables.criteria import VERDICTS
        return [v for v in VERDICTS if v in present] + sorted(v for v in present if v not in VERDICTS)
    return sorted(present)


def _varying(df, exclude, given) -> list:
    """Parameter columns that vary and are not determined by the plotted ones (e.g. L given N)."""
    out = []
    given = [c for c in given if c is not None and c in df.columns]
    for c in _param_like(df):
        if c in exclude or c in ("point_id", "index", "elapsed_s") + _PANEL_COLUMNS:
            continue
        if df[c].astype(str).nunique() <= 1:
            continue
        if given and df.astype({c: str}).groupby(given, dropna=False)[c].nunique().max() <= 1:
            continue
        out.append(c)
    return out


def _param_like(df) -> list:
    # Parameters are the columns before "partition" plus "partition" itself.
    cols = list(df.columns)
    return cols[:cols.index("partition") + 1] if "partition" in cols else []


def _unconverged(df) -> np.ndarray:
    """True where the state is stored as not converged (``converged`` False; None/NaN = not reported)."""
    if "converged" not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return np.array([v is not None and v == v and not bool(v) for v in df["converged"]], dtype=bool)


def _material_T(df, x):
    """``T_K`` instead of ``T`` on a material sweep (temperatures were given in kelvin)."""
    if x == "T" and "T_K" in df.columns and df["T_K"].notna().all():
        return "T_K"
    return x


def _werner_ok(df) -> tuple[bool, float]:
    if "werner_distance" not in df.columns or df.empty:
        return False, float("nan")
    d = df["werner_distance"].astype(float).to_numpy()
    worst = float(np.nanmax(d)) if np.isfinite(d).any() else float("nan")
    return bool(np.all(np.isfinite(d)) and np.all(d < WERNER_LINE_TOL)), worst


def _hue_colours(values) -> dict:
    """Colour per hue value: a sequential map for numbers, distinct qualitative colours otherwise (no repeats)."""
    import matplotlib

    vals = list(dict.fromkeys(values))
    n = len(vals)
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in vals)
    if numeric and n > 1:
        cmap = matplotlib.colormaps["viridis"]
        order = sorted(vals)
        return {v: cmap(0.9 * i / (n - 1)) for i, v in enumerate(order)}
    if n <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return {v: cmap(i) for i, v in enumerate(vals)}
    if n <= 20:
        cmap = matplotlib.colormaps["tab20"]
        return {v: cmap(i) for i, v in enumerate(vals)}
    cmap = matplotlib.colormaps["turbo"]
    return {v: cmap(i / (n - 1)) for i, v in enumerate(vals)}


# --------------------------------------------------------------------------- entry point


def plot(path_or_df, x: str, y, hue: str | None = None, z: str | None = None, out=None, col: str | None = None,
         title: str | None = None, *, facet: str | None = None, logx: bool = False, logy: bool = False,
         xlabel: str | None = None, ylabel: str | None = None, thresholds=None, phase: bool = False):
    """Plot a sweep.

    Parameters
    ----------
    path_or_df : str, Path or pandas.DataFrame
        A store file or the frame :func:`~macrobell.data.load` returns.
    x : str
        Column on the horizontal axis (``"R"``: the largest region size, derived
        from ``sizes``; ``"T"`` on a material sweep plots ``T_K`` in kelvin).
    y : str or list of str
        Column(s) on the vertical axis (one panel row each); with ``z`` or
        ``phase``, the vertical axis of a map. A categorical column
        (``"verdict"``) gives a strip of its values (verdicts in order,
        strongest first); ``x``, ``z`` and a map's ``y`` must be numeric.
    hue : str, optional
        One colour per value of this column. Other parameters that vary get
        their own lines (never averaged over), named in the legend.
    z : str, optional
        Colour of a heat map over (x, y); with ``phase``, the categorical column
        (default ``"verdict"``). Other varying parameters must be fixed first
        (filter the frame) or split with ``col``/``facet``.
    out : str or Path, optional
        File to write (``.png``, ``.pdf`` or ``.svg``).
    col, facet : str, optional
        One panel column per value of this column (e.g. ``"partition"``);
        ``facet`` is the same option. When neither is given and several
        partitions are plotted (not as hue), one panel per partition.
    title : str, optional
        Figure title.
    logx, logy : bool
        Logarithmic axes.
    xlabel, ylabel : str, optional
        Replace the labels of :func:`~macrobell.data.columns.axis_label`.
    thresholds : iterable of str, optional
        Subset of :data:`THRESHOLD_KEYS` to draw (default: all that apply);
        a Werner key is still drawn only on Werner data.
    phase : bool
        A phase diagram: the categorical ``z`` (default ``verdict``) as coloured
        cells over (x, y), with a legend of verdict colours; unconverged cells hatched.

    Returns
    -------
    matplotlib.figure.Figure
    """
    df = _frame(path_or_df)
    if df.empty:
        raise ValueError("plot: the data set has no complete points")
    ys = [y] if isinstance(y, str) else list(y)
    if not ys:
        raise ValueError("plot: give at least one y column")
    if out is not None and Path(out).suffix.lower() not in _FORMATS:
        raise ValueError(f"plot: output {str(out)!r} must end in one of {list(_FORMATS)}")
    if facet is not None and col is not None and facet != col:
        raise ValueError(f"plot: facet={facet!r} and col={col!r} disagree; give one of them")
    col = col if col is not None else facet
    if thresholds is not None:
        thresholds = set(thresholds)
        bad = sorted(thresholds - set(THRESHOLD_KEYS))
        if bad:
            raise ValueError(f"plot: unknown thresholds {bad}; allowed: {list(THRESHOLD_KEYS)}")
    if phase:
        z = "verdict" if z is None else z
    if (z is not None) and len(ys) != 1:
        raise ValueError("plot: a heat map takes exactly one y column")
    df = derived_column(df, x)
    x = _material_T(df, x)
    ys = [_material_T(df, v) for v in ys]
    for name, role in [(x, "x")] + [(v, "y") for v in ys] + [(hue, "hue"), (col, "col")]:
        if name is not None:
            _check_column(df, name, role, categorical_ok=(role == "y" and z is None))
    if z is not None:
        _check_column(df, z, "z", categorical_ok=phase)
    cats = {yy: None if _is_numeric(df[yy]) else _categories(df[yy].map(_verdict_name) if yy == "verdict"
                                                             else df[yy], yy) for yy in ys}
    if logy and z is None and any(c is not None for c in cats.values()):
        raise ValueError(f"plot: logy needs a numeric y; {[k for k, c in cats.items() if c is not None]} "
                         "are categorical")
    if logy and z is None:
        for yy in ys:
            if not (df[yy].astype(float) > 0).any():
                raise ValueError(f"plot: logy but y column {yy!r} has no positive value; drop logy")
    if col is None and "partition" in df.columns and df["partition"].nunique() > 1 \
            and "partition" not in (hue, x, *ys):
        col = "partition"
    if z is not None:  # before any figure exists
        for _, sub in ([(None, df)] if col is None else df.groupby(col, sort=False)):
            _grid(sub, x, ys[0], _varying(sub, {x, ys[0], z, col}, [x, ys[0]]),
                  f"{'phase diagram' if phase else 'heat map'} of {z!r}")
    return _draw(df, x, ys, hue, z, col, cats, out=out, title=title, logx=logx, logy=logy, xlabel=xlabel,
                 ylabel=ylabel, thresholds=thresholds, phase=phase)


def _draw(df, x, ys, hue, z, col, cats, *, out, title, logx, logy, xlabel, ylabel, thresholds, phase):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    cols = [None] if col is None else list(dict.fromkeys(df[col].tolist()))
    subs = [df if col is None else df[df[col] == cval] for cval in cols]
    numeric_rows = z is None and all(cats[yy] is None for yy in ys)
    fig, axes = plt.subplots(len(ys), len(cols), figsize=(4.4 * len(cols) + 2.4, 3.4 * len(ys) + 1.0),
                             squeeze=False, sharey="row" if numeric_rows else False, layout="constrained")
    legend = _Legend()
    colours = _hue_colours(sorted(df[hue].unique().tolist(), key=str)) if hue is not None and z is None else None
    for j, (cval, sub) in enumerate(zip(cols, subs)):
        for i, yy in enumerate(ys):
            ax = axes[i, j]
            if phase:
                _phase_map(ax, sub, x, yy, z, legend)
            elif z is not None:
                legend.hatched = _heatmap(fig, ax, sub, x, yy, z, axis_label(z, df)) or legend.hatched
            else:
                _lines(ax, sub, x, yy, hue, {x, yy, hue, col}, cats[yy], colours, legend)
            if col is not None and i == 0:
                ax.set_title(f"{col} = {cval}", fontsize=10)
            ax.set_xlabel(xlabel if xlabel is not None else axis_label(x, df))
            if j == 0:
                ax.set_ylabel(ylabel if ylabel is not None else axis_label(yy, df))
            if logx:
                ax.set_xscale("log")
            if logy:
                ax.set_yscale("log")
    if z is None:
        for i, yy in enumerate(ys):
            if cats[yy] is None:
                _thresholds(list(zip(axes[i, :], subs)), df, x, yy, thresholds, logy, legend)
    if logy:
        for name in ys if z is None else ys[:1]:
            hidden = int((df[name].astype(float) <= 0).sum())
            if hidden:
                legend.notes.append(f"{hidden} points with {name} ≤ 0 not shown (log axis)")
    legend.draw(fig)
    if title:
        fig.suptitle(title)
    if out is not None:
        fig.savefig(out, dpi=130, bbox_inches="tight")
    return fig


class _Legend:
    """Figure legend entries collected across panels: series, verdict markers, notes."""

    def __init__(self):
        self.series, self.verdicts, self.notes, self.patches = {}, {}, [], {}
        self.hollow = self.hatched = False

    def draw(self, fig):
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = list(self.series.values())
        handles += [Line2D([], [], ls="none", marker=_marker(v), color="0.25", ms=7, label=v)
                    for v in _categories(self.verdicts, "verdict")]
        handles += [Patch(facecolor=self.patches[v], edgecolor="0.3", label=v)
                    for v in _categories(self.patches, "verdict")]
        if self.hollow:
            handles.append(Line2D([], [], ls="none", marker="o", mfc="none", color="0.25", ms=7,
                                  label="hollow marker: state not converged"))
        if self.hatched:
            handles.append(Patch(facecolor="none", edgecolor="0.15", hatch="///", label="hatched cell: not converged"))
        handles += [Patch(facecolor="none", edgecolor="none", label=n) for n in self.notes]
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncol=min(4, len(handles)), fontsize=8,
                       frameon=False)


def _marker(verdict: str) -> str:
    return VERDICT_MARKERS.get(verdict, _OTHER_MARKER)


def _lines(ax, df, x, y, hue, exclude, cats, colours, legend):
    from matplotlib.lines import Line2D

    extra = _varying(df, exclude, [x, hue])
    keys = ([hue] if hue else []) + extra
    groups = list(df.groupby(keys, sort=True, dropna=False)) if keys else [((), df)]
    styles = ["-", "--", ":", "-."]
    extra_combos = list(dict.fromkeys(tuple(k if isinstance(k, tuple) else (k,))[1 if hue else 0:]
                                      for k, _ in groups))
    default = _hue_colours(range(len(groups))) if hue is None else None
    # Connecting lines first (a categorical strip's first line is the first group in x order), markers on top.
    for n, (key, g) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values(x)
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, key)) or None
        colour = colours[key[0]] if hue else default[n]
        ls = styles[extra_combos.index(key[1 if hue else 0:]) % len(styles)]
        xv = g[x].astype(float).to_numpy()
        yv = g[y].astype(float).to_numpy() if cats is None else \
            np.array([cats.index(_verdict_name(v) if y == "verdict" else str(v)) for v in g[y]], dtype=float)
        ax.plot(xv, yv, ls=ls, lw=1.0 if cats is None else 0.6, color=colour, gid="data", label=label)
        if label is not None and label not in legend.series:
            legend.series[label] = Line2D([], [], color=colour, ls=ls, lw=1.2, label=label)
        _verdict_markers(ax, g, xv, yv, colour, legend)
    if cats is not None:
        ax.set_yticks(range(len(cats)), cats)
        ax.set_ylim(-0.5, len(cats) - 0.5)
    xall = df[x].to_numpy(dtype=float)
    if xall.size and np.all(np.equal(np.mod(xall, 1), 0)):
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _verdict_markers(ax, g, xv, yv, colour, legend):
    """One marker artist per (verdict, converged): shape = verdict, hollow = not converged."""
    verdicts = [_verdict_name(v) for v in g["verdict"]] if "verdict" in g.columns else ["unknown"] * len(g)
    bad = _unconverged(g)
    for v in dict.fromkeys(verdicts):
        for hollow in (False, True):
            m = np.array([vv == v for vv in verdicts]) & (bad == hollow)
            if not m.any():
                continue
            ax.plot(xv[m], yv[m], ls="none", marker=_marker(v), ms=9 if v == "nonlocal" else 6, color=colour,
                    mfc="none" if hollow else colour, mew=1.2, gid=f"verdict:{v}" + (":unconverged" if hollow else ""))
            legend.verdicts[v] = True
            legend.hollow = legend.hollow or hollow


def _thresholds(row, df, x, y, keys, logy, legend):
    """Threshold lines that apply to ``y`` on every panel ``(ax, its frame)`` of a row; labels right of the last.

    ``df`` is everything plotted in the row: Werner lines need every point of it to be a Werner state.
    """
    row_axes = [ax for ax, _ in row]
    table = [t for t in _threshold_table(y) if keys is None or t[0] in keys]
    if y == "werner_V":
        ok, worst = _werner_ok(df)
        if not ok and any(k in _WERNER_KEYS for k, _, _ in table):
            table = [t for t in table if t[0] not in _WERNER_KEYS]
            legend.notes.append(f"Werner thresholds not drawn: max werner_distance = {worst:.2g} "
                                f"(≥ {WERNER_LINE_TOL:g}, not Werner states)")
    labels = [(v, lab) for _, v, lab in table]
    for ax in row_axes:
        for key, v, _ in table:
            ax.axhline(v, ls="--", lw=0.9, color="0.45", gid=f"threshold:{key}", zorder=1)
    curves = [(ax, _monogamy_curve(sub, x)) for ax, sub in row]
    if y == "werner_V" and (keys is None or "monogamy" in keys) and any(c is not None for _, c in curves):
        for ax, c in curves:
            if c is not None:
                ax.plot(*c, ls="-.", lw=1.2, color="0.2", gid="threshold:monogamy", zorder=1)
        last = [c for _, c in curves if c is not None][-1]
        labels.append((float(last[1][-1]), "monogamy bound (R+2)/(3R)"))
    if not labels:
        return
    _fit_ylim(row_axes, [v for v, _ in labels], logy)
    _margin_labels(row_axes[-1], labels, logy)


def _monogamy_curve(df, x):
    """``(xs, bound)`` when the frame's ``monogamy_bound`` is a function of ``x``; else None."""
    if "monogamy_bound" not in df.columns or not _is_numeric(df[x]):
        return None
    g = df[[x, "monogamy_bound"]].dropna().astype(float)
    if g.empty or g.groupby(x)["monogamy_bound"].nunique().max() > 1:
        return None
    g = g.groupby(x, sort=True)["monogamy_bound"].first()
    return g.index.to_numpy(dtype=float), g.to_numpy(dtype=float)


def _fit_ylim(row_axes, values, logy):
    """Widen the shared y range so every threshold is inside it (a line outside the axes would be lost)."""
    ax = row_axes[0]
    lo, hi = ax.get_ylim()
    vals = [v for v in values if not logy or v > 0]
    lo, hi = min([lo] + vals), max([hi] + vals)
    if logy:
        ax.set_ylim(lo / 1.15, hi * 1.15)
    else:
        pad = 0.05 * (hi - lo or 1.0)
        ax.set_ylim(lo - pad, hi + pad)


def _margin_labels(ax, labels, logy, gap=0.075):
    """Labels just right of the axes at their values, pushed apart to at least ``gap`` (axes fraction)."""
    lo, hi = ax.get_ylim()
    f = (lambda v: (np.log(v) - np.log(lo)) / (np.log(hi) - np.log(lo))) if logy else \
        (lambda v: (v - lo) / (hi - lo))
    items = sorted(((float(f(v)), v, lab) for v, lab in labels if not logy or v > 0))
    pos = [p for p, _, _ in items]
    for k in range(1, len(pos)):  # push up, then pull the stack back inside [0, 1]
        pos[k] = max(pos[k], pos[k - 1] + gap)
    shift = max(0.0, pos[-1] - 1.0) if pos else 0.0
    pos = [p - shift for p in pos]
    for k in range(len(pos) - 2, -1, -1):
        pos[k] = min(pos[k], pos[k + 1] - gap)
    for (p0, v, lab), p in zip(items, pos):
        ax.annotate(lab, xy=(1.0, p0), xycoords="axes fraction", xytext=(1.04, p), textcoords="axes fraction",
                    va="center", ha="left", fontsize=7.5, color="0.2", annotation_clip=False, gid="threshold-label",
                    arrowprops=dict(arrowstyle="-", color="0.6", lw=0.6, shrinkA=0, shrinkB=0))


# --------------------------------------------------------------------------- maps


def _grid(df, x, y, extra, what):
    """Refuse a map whose cells would hold several points (other parameters vary)."""
    if extra:
        raise ValueError(f"plot: {what} over ({x!r}, {y!r}) but {extra} also vary; "
                         "filter the data or pass col=... / facet=...")
    dup = df.groupby([x, y]).size()
    if (dup > 1).any():  # pragma: no cover - excluded by the check above (parameters determine the point)
        raise ValueError(f"plot: several points share one ({x!r}, {y!r}) cell")


def _heatmap(fig, ax, df, x, y, z, zlabel):
    table = df.pivot_table(index=y, columns=x, values=z, aggfunc="first")
    xs, ys = table.columns.to_numpy(dtype=float), table.index.to_numpy(dtype=float)
    mesh = ax.pcolormesh(_edges(xs), _edges(ys), table.to_numpy(dtype=float), shading="flat")
    fig.colorbar(mesh, ax=ax, label=zlabel)
    return _hatch_unconverged(ax, df, x, y, xs, ys)


def _phase_map(ax, df, x, y, z, legend):
    """Categorical cells (verdict colours) over (x, y); a cell without a point stays blank."""
    from matplotlib.colors import ListedColormap

    names = df[z].map(_verdict_name) if z == "verdict" else df[z].astype(str)
    cats = _categories(names, z)
    codes = df.assign(_code=[cats.index(v) for v in names])
    table = codes.pivot_table(index=y, columns=x, values="_code", aggfunc="first")
    xs, ys = table.columns.to_numpy(dtype=float), table.index.to_numpy(dtype=float)
    colours = [VERDICT_COLOURS.get(c) or _hue_colours(cats)[c] for c in cats]
    ax.pcolormesh(_edges(xs), _edges(ys), table.to_numpy(dtype=float), shading="flat",
                  cmap=ListedColormap(colours), vmin=-0.5, vmax=len(cats) - 0.5, gid=f"phase:{z}")
    for c, colour in zip(cats, colours):
        legend.patches[c] = colour
    legend.hatched = _hatch_unconverged(ax, df, x, y, xs, ys) or legend.hatched


def _hatch_unconverged(ax, df, x, y, xs, ys) -> bool:
    """Hatch the cells of unconverged points; whether there were any."""
    from matplotlib.patches import Rectangle

    bad = _unconverged(df)
    ex, ey = _edges(xs), _edges(ys)
    for xv, yv in zip(df[x].to_numpy(dtype=float)[bad], df[y].to_numpy(dtype=float)[bad]):
        i, k = int(np.argmin(abs(xs - xv))), int(np.argmin(abs(ys - yv)))
        ax.add_patch(Rectangle((ex[i], ey[k]), ex[i + 1] - ex[i], ey[k + 1] - ey[k], fill=False, hatch="///",
                               edgecolor="0.15", lw=0, gid="unconverged"))
    return bool(bad.any())


def _edges(v):
    v = np.asarray(v, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
