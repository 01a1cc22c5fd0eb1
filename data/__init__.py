"""Sweeps, the HDF5 store, executors, loading and plots (orchestrates everything else)."""
