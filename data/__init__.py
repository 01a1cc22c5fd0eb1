"""Sweeps, the HDF5 store, executors, loading and plots (orchestrates everything else).

``macrobell.data`` imports the layers below it, never the package root.

Typical use::

    from macrobell.data import Sweep, run_sweep, load, plot
    sweep = Sweep.from_file("study.toml")          # validated before any work
    run_sweep(sweep, "study.h5", workers=2)         # crash-safe; resume=True finishes a killed run
    df = load("study.h5")                           # one row per point × partition
    plot(df, x="T", y="chsh_max", hue="L", out="chsh.png")
"""

from .compute import PointError, compute_group
from .demo import DEMO_TOML, run_demo
from .executors import DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from .load import load
from .plot import plot
from .runner import run_sweep
from .store import FORMAT, FORMAT_VERSION, StoreError, open_store
from .sweep import Sweep, SweepError, point_id

__all__ = ["Sweep", "SweepError", "run_sweep", "load", "plot", "run_demo", "DEMO_TOML", "open_store",
           "StoreError", "PointError", "FORMAT", "FORMAT_VERSION", "point_id", "compute_group",
           "make_executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor"]
