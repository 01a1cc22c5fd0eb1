"""BLAS/numba thread pinning: at the compute entry points (not at import), one thread by default,
``$MACROBELL_THREADS`` to override or ``none`` to opt out, ``set_threads(None)`` to undo.

Each check runs in a fresh interpreter whose BLAS pools were first set to 3 threads (numba to 3), so
"left alone" and "pinned to 1" are told apart.
"""

import json
import os
import subprocess
import sys

import pytest

PRELUDE = """
import json, numpy as np, scipy.linalg, numba
from threadpoolctl import threadpool_info, threadpool_limits
numba.set_num_threads(3)  # starts numba's OpenMP runtime, so before the BLAS/OpenMP limit
threadpool_limits(3)
def pools():
    return [sorted({i['num_threads'] for i in threadpool_info()}), numba.get_num_threads()]
"""

ENTRY_POINTS = """
import macrobell as mb
from macrobell import _threads
import macrobell.tn, macrobell.observables, macrobell.data  # imports alone must not pin
from macrobell.tn.dmrg import dmrg_ground_state
from macrobell.tn.purification import purification_thermal_states
from macrobell.tn.exact import exact_ground_state, exact_thermal_states
out = {"import": pools()}
lat = mb.lattice.chain(4, pbc=True)
model = mb.lattice.heisenberg(lat)
part = mb.lattice.Partition.halves(lat)
psi = np.zeros(16); psi[5] = 1.0
state = mb.tn.from_dense(psi, lat)  # wrapping an array is no work: no pinning
out["from_dense"] = pools()
calls = {
    "ground_state": lambda: mb.tn.ground_state(model),
    "thermal_states": lambda: mb.tn.thermal_states(model, [1.0]),
    "effective_state": lambda: mb.observables.effective_state(state, part),
    "pair_correlations": lambda: mb.observables.pair_correlations(state),
    "reduced_state": lambda: mb.observables.reduced_state(state, [0, 1]),
    "reduced_states": lambda: mb.observables.reduced_states(state, [[0, 1]]),
    # the backends' own functions, called directly, pin too
    "dmrg_ground_state": lambda: dmrg_ground_state(model, bond_dim=4, degenerate="ignore"),
    "purification_thermal_states": lambda: purification_thermal_states(model, [2.0], bond_dim=4, trotter_check=False),
    "exact_ground_state": lambda: exact_ground_state(model),
    "exact_thermal_states": lambda: exact_thermal_states(model, [1.0]),
}
for name, call in calls.items():
    mb.set_threads(None)      # undo: the pools go back to 3 ...
    _threads._state = None    # ... and the next entry point may pin again (test-only re-arm)
    assert pools() == [[3], 3], pools()
    call()
    out[name] = pools()
mb.set_threads(None)
out["undone"] = pools()
mb.tn.ground_state(model)     # after an undo, entry points leave the pools alone
out["after_undo"] = pools()
print(json.dumps(out))
"""


def run(code, env_value=None):
    env = {k: v for k, v in os.environ.items() if k != "MACROBELL_THREADS"}
    env["NUMBA_NUM_THREADS"] = "4"
    if env_value is not None:
        env["MACROBELL_THREADS"] = env_value
    return subprocess.run([sys.executable, "-c", PRELUDE + code], env=env, capture_output=True, text=True)


def test_import_leaves_threads_alone_and_entry_points_pin_one_thread():
    r = run(ENTRY_POINTS)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out.pop("import") == [[3], 3]
    assert out.pop("from_dense") == [[3], 3]
    assert out.pop("undone") == [[3], 3]
    assert out.pop("after_undo") == [[3], 3]
    assert out == {name: [[1], 1] for name in ("ground_state", "thermal_states", "effective_state",
                                               "pair_correlations", "reduced_state", "reduced_states",
                                               "dmrg_ground_state", "purification_thermal_states",
                                               "exact_ground_state", "exact_thermal_states")}


ENVIRONMENT = """
import os
import macrobell as mb
from macrobell import _threads
model = mb.lattice.heisenberg(mb.lattice.chain(4, pbc=True))
out = {}
for value in ["2", " None ", "zero", "0"]:
    mb.set_threads(None)      # back to 3 threads; then re-arm the automatic pinning (test only)
    _threads._state = None
    os.environ["MACROBELL_THREADS"] = value
    try:
        mb.tn.ground_state(model)
        out[value] = pools()
    except ValueError as exc:
        out[value] = [str(exc), pools()]
print(json.dumps(out))
"""


def test_environment_override_opt_out_and_bad_values():
    r = run(ENVIRONMENT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out.pop("2") == [[2], 2]
    assert out.pop(" None ") == [[3], 3]  # opt-out: the pools stay as they were
    for value, (message, pools) in out.items():  # refused before any work, pools untouched
        assert message == ("MACROBELL_THREADS must be a positive integer or 'none' (leave the BLAS/numba "
                           f"thread pools alone), got {value!r}")
        assert pools == [[3], 3]


def test_bad_environment_value_fails_run_sweep_before_any_file(tmp_path):
    out = tmp_path / "out.h5"
    code = ("import macrobell as mb\n"
            "sweep = {'lattice': {'kind': 'chain', 'L': 4, 'pbc': True}, 'model': {'kind': 'heisenberg'},\n"
            "         'state': {'method': 'exact', 'temperatures': [0.0]}, 'partitions': [{'kind': 'halves'}]}\n"
            f"try:\n    mb.data.run_sweep(sweep, {str(out)!r}, workers=1, show_progress=False)\n"
            "except ValueError as e:\n    print('refused:', e)\n")
    r = run(code, "lots")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("refused: MACROBELL_THREADS must be a positive integer")
    assert not out.exists()


def test_set_threads_validates():
    import macrobell as mb

    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive integer"):
            mb.set_threads(bad)
    assert mb.set_threads(1) == 1
    assert mb.set_threads(1) == 1  # idempotent
