"""Shared helpers of the benchmarks: timing, single-thread GEMM throughput, TeNPy conversion.

Importing this module pins BLAS/numba to ``$MACROBELL_THREADS`` threads
(default 1; importing macrobell itself leaves the pools alone), so every
figure here — ours, TeNPy's and the GEMM reference — is measured
single-threaded in the same process.
"""

from __future__ import annotations

import time

import numpy as np

import macrobell as mb

mb.set_threads()  # before any timing: the GEMM baseline and TeNPy run in these pools too


def best_time(fn, reps: int = 3, min_time: float = 0.0):
    """Minimum wall time of ``fn()`` over ``reps`` runs (and the last result)."""
    best, out = float("inf"), None
    for _ in range(max(1, reps)):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def gemm_gflops(shapes, reps: int = 5, target_s: float = 0.2) -> float:
    """Best single-thread GEMM throughput (GFLOP/s) over ``shapes`` [(m, k, n), ...], real float64."""
    rng = np.random.default_rng(0)
    best = 0.0
    for m, k, n in shapes:
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        inner = max(1, int(target_s * 20e9 / (2 * m * k * n)))
        for _ in range(reps):
            t = time.perf_counter()
            for _ in range(inner):
                a @ b
            dt = time.perf_counter() - t
            best = max(best, 2.0 * m * k * n * inner / dt / 1e9)
    return best


def to_tenpy(arrays):
    """A TeNPy MPS (SpinHalfSite, no conservation) from MPS arrays ``(χl, 2, χr)``, brought to canonical form."""
    from tenpy.networks.mps import MPS
    from tenpy.networks.site import SpinHalfSite

    site = SpinHalfSite(conserve=None)
    n = len(arrays)
    psi = MPS.from_Bflat([site] * n, [np.transpose(a, (1, 0, 2)) for a in arrays], form=None, unit_cell_width=n)
    psi.canonical_form()
    return psi


TENPY_OPS = {1: "Sigmax", 2: "Sigmay", 3: "Sigmaz"}


def line(label, value, unit=""):
    print(f"  {label:<58s} {value}{(' ' + unit) if unit else ''}", flush=True)
