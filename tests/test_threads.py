"""BLAS/numba thread pinning: one thread per process by default, overridable."""

import os
import subprocess
import sys

import pytest

CODE = ("import macrobell, numba\n"
        "from threadpoolctl import threadpool_info\n"
        "blas = [i['num_threads'] for i in threadpool_info()]\n"
        "print(sorted(set(blas)), numba.get_num_threads())\n")


def run(env_value):
    env = {k: v for k, v in os.environ.items() if k != "MACROBELL_THREADS"}
    if env_value is not None:
        env["MACROBELL_THREADS"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True)


def test_default_is_one_thread():
    r = run(None)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("]")[0] + "]" == "[1]"
    assert r.stdout.split()[-1] == "1"


def test_environment_override():
    r = run("2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("[2]")


@pytest.mark.parametrize("value", [pytest.param("zero", id="word"), pytest.param("0", id="zero")])
def test_bad_environment_value_is_a_clear_error(value):
    r = run(value)
    assert r.returncode != 0
    assert "MACROBELL_THREADS must be a positive integer" in r.stderr


def test_set_threads_validates():
    import macrobell as mb

    with pytest.raises(ValueError, match="positive integer"):
        mb.set_threads(0)
    assert mb.set_threads(1) == 1
