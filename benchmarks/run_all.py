"""Run every benchmark (``make bench``): effective state, pair correlations, DMRG, purification, MPO build,
M-body, Bell, LHS, symmetric DMRG, thermal ladders, exact sectors.

    python benchmarks/run_all.py [--quick]

Each benchmark runs in its own process, single-threaded BLAS (``MACROBELL_THREADS``,
default 1), and prints its ratios against baselines measured in the same run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = ["bench_effective_state.py", "bench_pairs.py", "bench_dmrg.py", "bench_purification.py", "bench_mpo.py", "bench_mbody.py", "bench_bell.py", "bench_lhs.py",
           "bench_symmetric_dmrg.py", "bench_thermal_ladder.py", "bench_exact_sectors.py"]
#: Long, run on their own (minutes to an hour; see each docstring): bench_pipeline_1000.py, bench_peps.py,
#: bench_sweep_overhead.py.


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    here = Path(__file__).parent
    failed = []
    for name in BENCHES:
        if not (here / name).exists():
            continue
        rc = subprocess.call([sys.executable, "-W", "ignore", str(here / name), *argv])
        if rc:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"failed: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
