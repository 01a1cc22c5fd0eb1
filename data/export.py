"""Export a stored sweep as a table: CSV (pandas), Parquet (pyarrow) or NetCDF (xarray).

The table is :func:`~.load.load`'s frame — one row per intact complete point
× partition, the same columns — so a file read back gives ``load(path)``
again (:func:`read_export`). Columns that hold lists (``warnings``, list-valued
criteria) are stored as JSON text in CSV and NetCDF, which have no list type;
Parquet keeps them as lists. ``pyarrow`` (Parquet) and ``xarray`` (NetCDF,
written with the netCDF4 engine when installed, else scipy's NetCDF-3 writer)
are optional: a missing one is a clear :class:`ValueError` before any file
is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .load import load

__all__ = ["EXPORT_FORMATS", "export", "read_export"]

#: Format -> default file suffix.
EXPORT_FORMATS = {"csv": ".csv", "parquet": ".parquet", "netcdf": ".nc"}
_NEEDS = {"parquet": ("pyarrow", "pip install pyarrow"), "netcdf": ("xarray", "pip install xarray (and netCDF4)")}
#: Attribute / column that names the JSON-encoded list columns of a CSV or NetCDF export.
_JSON_COLUMNS_ATTR = "macrobell_json_columns"


def _check_format(fmt) -> str:
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export: format must be one of {list(EXPORT_FORMATS)}, got {fmt!r}")
    if fmt in _NEEDS:
        module, how = _NEEDS[fmt]
        try:
            __import__(module)
        except ImportError:
            raise ValueError(f"export --to {fmt} needs the optional package {module!r}: {how}") from None
    return fmt


def _list_columns(df) -> list:
    """Columns with values a flat table cannot hold: lists, dicts, ``None``."""
    return [c for c in df.columns if df[c].dtype == object
            and any(v is None or isinstance(v, (list, tuple, np.ndarray, dict)) for v in df[c])]


def _jsonify(df):
    cols = _list_columns(df)
    out = df.copy()
    for c in cols:
        out[c] = [json.dumps(v.tolist() if isinstance(v, np.ndarray) else v) for v in df[c]]
    return out, cols


def export(path, out=None, fmt: str = "csv") -> Path:
    """Write the sweep in ``path`` (a macrobell HDF5 file) as ``fmt``; returns the written file.

    Parameters
    ----------
    path : str or Path
        HDF5 file written by macrobell.
    out : str or Path, optional
        Output file (default: ``path`` with the format's suffix). Must not
        be the input file.
    fmt : {"csv", "parquet", "netcdf"}
    """
    fmt = _check_format(fmt)
    src = Path(path)
    dst = src.with_suffix(EXPORT_FORMATS[fmt]) if out is None else Path(out)
    if dst.resolve() == src.resolve():
        raise ValueError(f"export: output {str(dst)!r} is the input file")
    if not dst.parent.exists():
        raise ValueError(f"export: output directory {str(dst.parent)!r} does not exist")
    df = load(src).reset_index(drop=True)
    if fmt == "parquet":
        df.to_parquet(dst, index=False)
        return dst
    flat, cols = _jsonify(df)
    if fmt == "csv":
        # "nan" marks missing numbers, so an empty text ("" verdict reason) reads back as "", not NaN.
        flat.to_csv(dst, index=False, na_rep="nan")
        return dst
    import xarray as xr

    ds = xr.Dataset.from_dataframe(flat.rename_axis("row"))
    for c in ds.data_vars:
        if ds[c].dtype == object:
            ds[c] = ds[c].astype(str)
    ds.attrs[_JSON_COLUMNS_ATTR] = json.dumps(cols)
    ds.attrs["macrobell_columns"] = json.dumps([str(c) for c in flat.columns])
    ds.attrs["source"] = str(src)
    try:
        import netCDF4  # noqa: F401
        engine = "netcdf4"
    except ImportError:
        engine = "scipy"
    ds.to_netcdf(dst, engine=engine)
    return dst


def read_export(path, fmt: str | None = None):
    """Read an exported table back into a DataFrame with :func:`~.load.load`'s columns and types.

    ``fmt`` defaults to the one of the file's suffix. List columns come back
    as lists.
    """
    import pandas as pd

    p = Path(path)
    if fmt is None:
        fmt = next((f for f, suf in EXPORT_FORMATS.items() if p.suffix == suf), None)
    fmt = _check_format(fmt)
    if fmt == "parquet":
        df = pd.read_parquet(p)
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = [list(v) if isinstance(v, np.ndarray) else v for v in df[c]]
        return df
    if fmt == "csv":
        df = pd.read_csv(p, keep_default_na=False, na_values=["nan"])
        for c in df.columns:  # JSON text columns (lists, dicts, None): what _jsonify wrote
            if not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) \
                    and df[c].map(lambda v: isinstance(v, str) and (v[:1] in "[{" or v == "null")).all():
                df[c] = df[c].map(json.loads)
        return df
    import xarray as xr

    with xr.open_dataset(p, engine=None) as ds:
        cols = json.loads(ds.attrs.get(_JSON_COLUMNS_ATTR, "[]"))
        order = json.loads(ds.attrs.get("macrobell_columns", "[]"))
        df = ds.to_dataframe().reset_index(drop=True)
    for c in df.columns:
        if c in cols:
            df[c] = df[c].map(json.loads)
        elif df[c].dtype == object:  # NetCDF text comes back as bytes or numpy strings
            df[c] = df[c].map(lambda v: v.decode() if isinstance(v, bytes) else str(v))
    return df[order] if order else df
