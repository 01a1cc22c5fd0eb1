"""One table of column metadata for the loaded frame: axis label, unit, kind.

:data:`COLUMNS` maps a column of :func:`~macrobell.data.load`'s frame to a
:class:`Column`; :func:`axis_label` turns it into the text of an axis.
Conventions (DESIGN of the frame, see :mod:`macrobell.data.load`): ``T`` is
in units of the coupling ``J`` (``k_B = 1``), or of the material's reference
coupling ``J_ref`` for material sweeps, whose kelvin value is ``T_K``;
energies are in units of ``J``; correlators are Pauli (not spin-1/2)
expectation values, so ``chsh_max`` lies in [0, 2√2] (Horodecki et al.,
Phys. Lett. A 200, 340 (1995)) and ``werner_V = -(T_xx + T_yy + T_zz)/3``.

Kinds: ``"param"`` (a swept parameter), ``"criterion"`` (a number from the
criteria), ``"diagnostic"`` (state diagnostics), ``"flag"`` (bool),
``"category"`` (strings, e.g. ``verdict``), ``"derived"`` (computed by
:func:`derived_column` from other columns, e.g. the region size ``R``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Column", "COLUMNS", "KINDS", "axis_label", "column_info", "derived_column"]

KINDS = ("param", "criterion", "diagnostic", "flag", "category", "derived")


@dataclass(frozen=True)
class Column:
    """Metadata of one frame column.

    Attributes
    ----------
    label : str
        Readable name (matplotlib mathtext allowed).
    unit : str
        Unit ("" for dimensionless numbers); ``"J"`` means "in units of the coupling".
    kind : str
        One of :data:`KINDS`.
    """

    label: str
    unit: str
    kind: str


COLUMNS: dict[str, Column] = {
    # parameters
    "L": Column("linear size $L$", "", "param"),
    "Lx": Column("$L_x$", "", "param"),
    "Ly": Column("$L_y$", "", "param"),
    "N": Column("number of spins $N$", "", "param"),
    "R": Column("region size $R = \\max(N_A, N_B)$", "", "derived"),
    "J": Column("coupling $J$", "", "param"),
    "J2": Column("$J_2 / J$", "", "param"),
    "Delta": Column("anisotropy $\\Delta$", "", "param"),
    "h": Column("field $h / J$", "", "param"),
    "T": Column("temperature $T$", "J", "param"),
    "T_K": Column("temperature $T$", "K", "param"),
    "bond_dim": Column("bond dimension $\\chi$", "", "param"),
    "partition": Column("partition", "", "category"),
    # state diagnostics
    "energy": Column("energy $E$", "J", "diagnostic"),
    "converged": Column("converged", "", "flag"),
    "max_bond": Column("largest bond", "", "diagnostic"),
    "truncation_error": Column("truncation error", "", "diagnostic"),
    "variance": Column("energy variance", "J^2", "diagnostic"),
    "elapsed_s": Column("wall time", "s", "diagnostic"),
    # criteria
    "chsh_max": Column("max CHSH value $\\langle B\\rangle$", "", "criterion"),
    "zb_max": Column("Żukowski–Brukner sum $\\max\\sum T_k^2$", "", "criterion"),
    "zb_upper": Column("Żukowski–Brukner upper bound", "", "criterion"),
    "werner_V": Column("Werner visibility $V$", "", "criterion"),
    "werner_distance": Column("distance to Werner state", "", "criterion"),
    "negativity": Column("negativity $\\mathcal{N}$", "", "criterion"),
    "concurrence": Column("concurrence $C$", "", "criterion"),
    "sv_max": Column("largest singular value of $T_{ij}$", "", "criterion"),
    "monogamy_bound": Column("monogamy bound $(R+2)/(3R)$", "", "criterion"),
    "ppt": Column("PPT", "", "flag"),
    "steering": Column("steering", "", "category"),
    "grothendieck_local": Column("Grothendieck local", "", "flag"),
    "verdict": Column("verdict", "", "category"),
}


def column_info(name: str) -> Column:
    """The :class:`Column` of ``name``; unknown columns get their own name, no unit, kind ``"criterion"``."""
    return COLUMNS.get(name, Column(name, "", "criterion"))


def axis_label(name: str, df=None) -> str:
    """Axis text of column ``name`` with its unit: ``"temperature $T$ / $J$"``, ``"temperature $T$ (K)"``.

    A quantity in units of the coupling is written ``X / J`` (``X / J_ref`` on
    a material sweep, i.e. when ``df`` has a ``material`` column); other units
    in parentheses.
    """
    info = column_info(name)
    if info.unit in ("J", "J^2"):
        ref = "J_\\mathrm{ref}" if df is not None and "material" in getattr(df, "columns", ()) else "J"
        power = "^2" if info.unit == "J^2" else ""
        return f"{info.label} / ${ref}{power}$"
    if info.unit:
        return f"{info.label} ({info.unit})"
    return info.label


def derived_column(df, name: str):
    """Add derived column ``name`` (``"R"``: the largest region, from ``sizes``) to a copy of ``df``.

    Returns ``df`` unchanged when ``name`` is already a column or is not derivable.
    """
    if name in df.columns or column_info(name).kind != "derived":
        return df
    if name == "R" and "sizes" in df.columns:
        out = df.copy()
        out["R"] = [max(int(s) for s in sz) if sz is not None else -1 for sz in df["sizes"]]
        return out
    return df  # pragma: no cover - only R is derived today
