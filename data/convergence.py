"""Convergence in the bond dimension: extrapolate a column of a loaded sweep frame in 1/χ or in the discarded weight.

A truncated MPS (DMRG, purification) is exact only as χ → ∞. Local
expectation values of a DMRG state converge linearly in the discarded weight
ε of its truncations (their errors are O(ε); the energy's too, White 1993,
PRB 48, 10345; Legeza & Fáth 1996, PRB 53, 14349), and, more slowly, in 1/χ.
:func:`extrapolate` fits ``y = a + b x`` (``x = 1/χ`` or ``x = ε``) through
the largest bond dimensions of one curve, reports ``a`` as the χ → ∞ value,
an error estimate, and a ``converged`` flag that is true only when the data
themselves support it.

Typical use::

    from macrobell.data import load
    from macrobell.data.convergence import extrapolate
    df = load("chi_study.h5")                      # a sweep with a bond_dim axis
    one = df[(df.partition == "halves") & (df["T"] == 0.0)]
    value, error, converged, table = extrapolate(one, "chsh_max", in_="discarded_weight", tol=1e-4)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from macrobell.tn._checks import MAX_OBSERVABLE_TOL

__all__ = ["extrapolate", "Extrapolation", "EXTRAPOLATION_VARIABLES", "DEFAULT_TOL"]

#: Allowed ``in_``: the abscissa and the frame column it is computed from.
EXTRAPOLATION_VARIABLES = {"1/chi": "bond_dim", "discarded_weight": "truncation_error"}
#: Default tolerance: the gap between the two closest verdict thresholds (the same bound the backends' observable
#: tolerances use, :data:`macrobell.tn._checks.MAX_OBSERVABLE_TOL`): a criterion known to within it cannot change
#: verdict by more than one level.
DEFAULT_TOL = MAX_OBSERVABLE_TOL
#: Bond dimensions fitted (the largest ones): three give a slope and an error from the fit's stability.
_N_FIT = 3


class Extrapolation(NamedTuple):
    """Result of :func:`extrapolate` (unpacks as ``value, error, converged, table``).

    Attributes
    ----------
    value : float
        The χ → ∞ (x → 0) extrapolation: intercept of the straight-line fit.
    error : float
        Error estimate of ``value``: with ≥ 3 bond dimensions the larger of
        the change of the intercept when the smallest fitted χ is dropped
        (a 2-point fit) and the fit's standard error; with 2, the whole
        extrapolation distance ``|value − y(χ_max)|``.
    converged : bool
        ``|y(χ_max) − y(χ_prev)| ≤ tol`` **and** ``error ≤ tol``.
    table : pandas.DataFrame
        One row per bond dimension (ascending): ``bond_dim``, ``x``, the
        column's value, ``delta_prev`` (change from the previous χ) and
        ``delta_extrapolated`` (``y − value``); ``table.attrs`` holds
        ``in_``, ``tol``, ``column`` and ``n_fit`` (bond dimensions fitted).
    """

    value: float
    error: float
    converged: bool
    table: pd.DataFrame


def _check_inputs(df, column, in_, tol, chi_column):
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"extrapolate: df must be a pandas DataFrame (from macrobell.data.load), got {type(df).__name__}")
    if in_ not in EXTRAPOLATION_VARIABLES:
        raise ValueError(f"extrapolate: in_ must be one of {sorted(EXTRAPOLATION_VARIABLES)}, got {in_!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)) \
            or not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"extrapolate: tol must be a positive finite number, got {tol!r}")
    needed = [chi_column, column] + ([EXTRAPOLATION_VARIABLES[in_]] if in_ == "discarded_weight" else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"extrapolate: the frame has no column(s) {missing}; available: {list(df.columns)}")


def _curve(df, column, in_, chi_column):
    """One (χ, x, y) row per bond dimension; refuse frames holding several curves."""
    d = df.dropna(subset=[column, chi_column])
    counts = d.groupby(chi_column).size()
    if (counts > 1).any():
        others = [c for c in d.columns if c not in (column, chi_column)
                  and d[c].map(repr).nunique() > 1 and c in ("partition", "T", "T_K", "L", "N", "Delta", "J", "h",
                                                             "lattice", "model", "material", "method", "dtau",
                                                             "order", "cutoff")]
        raise ValueError(f"extrapolate: {int(counts.max())} rows share one {chi_column}; select one curve first "
                         f"(columns varying besides {chi_column}: {others or 'none found'}), e.g. "
                         f"df[(df.partition == ...) & (df['T'] == ...)]")
    d = d.sort_values(chi_column)
    if len(d) < 2:
        raise ValueError(f"extrapolate: needs at least 2 bond dimensions with a finite {column!r}, got {len(d)}")
    chi = d[chi_column].to_numpy(dtype=float)
    y = d[column].to_numpy(dtype=float)
    if in_ == "1/chi":
        if not (chi > 0).all():
            raise ValueError(f"extrapolate: {chi_column} must be positive, got {chi.tolist()}")
        x = 1.0 / chi
    else:
        x = d[EXTRAPOLATION_VARIABLES[in_]].to_numpy(dtype=float)
        if not (np.isfinite(x).all() and (x >= 0).all()):
            raise ValueError(f"extrapolate: {EXTRAPOLATION_VARIABLES[in_]} must be finite and >= 0, got {x.tolist()}")
    return chi, x, y


def _fit(x, y):
    """Intercept and its standard error of a least-squares line (0 error for two points)."""
    if np.ptp(x) == 0:  # all x equal (e.g. no truncation at all): nothing to extrapolate
        return float(y[-1]), float(np.ptp(y))
    A = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    if len(x) <= 2:
        return float(coef[0]), 0.0
    resid = y - A @ coef
    s2 = float(resid @ resid) / (len(x) - 2)
    cov = s2 * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(np.sqrt(max(cov[0, 0], 0.0)))


def extrapolate(df, column: str, in_: str = "1/chi", *, tol: float = DEFAULT_TOL,
                chi_column: str = "bond_dim") -> Extrapolation:
    """Extrapolate ``column`` to χ → ∞ from a loaded sweep frame with a bond-dimension axis.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of one curve (one partition, temperature, model, …), one row per
        bond dimension, e.g. a filtered :func:`macrobell.data.load` frame.
        Rows with a missing value are ignored; several rows per bond
        dimension are refused (select one curve first).
    column : str
        The quantity (a criterion such as ``"chsh_max"``, or ``"energy"``).
    in_ : {"1/chi", "discarded_weight"}
        Abscissa: ``1/bond_dim``, or the state's discarded weight (the
        frame's ``truncation_error`` column, the weight of the truncations
        that produced the state).
    tol : float
        Tolerance of the ``converged`` flag (units of ``column``); default
        :data:`DEFAULT_TOL`, the gap between adjacent verdict thresholds.
    chi_column : str
        The bond-dimension column (default ``"bond_dim"``, the backend option).

    Returns
    -------
    Extrapolation
        ``(value, error, converged, table)``, see :class:`Extrapolation`.
        Fitted are the :data:`_N_FIT` = 3 largest bond dimensions (2 when
        only 2 exist). ``converged`` is True only when the last two bond
        dimensions agree within ``tol`` and the error estimate is below it.

    Raises
    ------
    ValueError
        Not a frame, an unknown ``in_`` (the message lists the allowed ones),
        a missing column, a non-positive ``tol``, fewer than two bond
        dimensions, or several rows per bond dimension.
    """
    _check_inputs(df, column, in_, tol, chi_column)
    chi, x, y = _curve(df, column, in_, chi_column)
    xf, yf = x[-_N_FIT:], y[-_N_FIT:]
    value, stderr = _fit(xf, yf)
    if len(xf) >= 3:
        value2, _ = _fit(xf[-2:], yf[-2:])
        error = max(abs(value - value2), stderr)
    else:
        error = abs(value - float(y[-1]))
    last_change = abs(float(y[-1] - y[-2]))
    converged = bool(last_change <= tol and error <= tol)
    table = pd.DataFrame({chi_column: chi.astype(int) if np.all(chi == np.round(chi)) else chi, "x": x, column: y,
                          "delta_prev": np.concatenate([[np.nan], np.diff(y)]), "delta_extrapolated": y - value})
    table.attrs.update(in_=in_, tol=float(tol), column=column, n_fit=int(len(xf)))
    return Extrapolation(float(value), float(error), converged, table)
