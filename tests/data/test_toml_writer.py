"""The sweep TOML writer (now tomli_w's) against the former hand-written one and tomllib (issue 10).

``tomllib`` (the standard library's reader) is the oracle: the text must read
back to the configuration. On every configuration the former writer handled,
both texts must read back to the same dictionary; where it did not (keys that
are not bare keys, empty top-level lists) the new text must be right.
"""

import json
import math
import tomllib
from typing import Mapping

import numpy as np
import pytest

from macrobell.data._toml import TomlWriteError, to_toml


def _old_value(v):  # the former writer, verbatim, as the reference
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, np.ndarray):
        return _old_value(v.tolist())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_old_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_old_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return _old_value(v.item())
    raise TypeError(v)


def old_to_toml(config):
    lines = []
    for k, v in config.items():
        if not isinstance(v, (Mapping, list)) or (isinstance(v, list) and not all(isinstance(x, Mapping) for x in v)):
            lines.append(f"{k} = {_old_value(v)}")
    for k, v in config.items():
        if isinstance(v, Mapping):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {_old_value(vv)}" for kk, vv in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            for item in v:
                lines.append(f"\n[[{k}]]")
                lines += [f"{kk} = {_old_value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def _key(x):
    """Comparable form: floats by repr (nan == nan), numpy unpacked, tuples as lists."""
    if isinstance(x, Mapping):
        return {str(k): _key(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_key(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return ("f", repr(x))
    return (type(x).__name__, x)


def _scalar(rng):
    k = rng.integers(0, 9)
    return [lambda: bool(rng.integers(0, 2)), lambda: int(rng.integers(-10**12, 10**12)),
            lambda: float(rng.normal() * 10.0 ** rng.integers(-300, 300)), lambda: float("nan"),
            lambda: float(rng.choice([np.inf, -np.inf])), lambda: np.float64(rng.random()),
            lambda: np.int64(rng.integers(-99, 99)), lambda: "".join(rng.choice(list("aé\"\\\n\t\x07 z"), 6)),
            lambda: np.arange(int(rng.integers(0, 4))) * 0.5][k]()


def _value(rng, depth=0):
    r = rng.random()
    if depth < 2 and r < 0.2:
        return [_scalar(rng) for _ in range(int(rng.integers(1, 4)))]
    if depth < 2 and r < 0.3:
        return {f"k{i}": _value(rng, depth + 1) for i in range(int(rng.integers(1, 3)))}
    return _scalar(rng)


def random_config(rng):
    cfg = {f"top{i}": _scalar(rng) for i in range(int(rng.integers(0, 4)))}
    for i in range(int(rng.integers(0, 3))):
        cfg[f"table{i}"] = {f"key_{j}": _value(rng) for j in range(int(rng.integers(0, 4)))}
    if rng.random() < 0.5:
        cfg["scan"] = [{"param": f"p{j}", "values": [_scalar(rng) for _ in range(3)]}
                       for j in range(int(rng.integers(1, 3)))]
    return cfg


def test_new_and_old_writer_read_back_identically_on_random_configs():
    rng = np.random.default_rng(10)
    for _ in range(300):
        cfg = random_config(rng)
        new = tomllib.loads(to_toml(cfg))
        assert _key(new) == _key(cfg)
        assert _key(new) == _key(tomllib.loads(old_to_toml(cfg)))


@pytest.mark.parametrize("cfg", [{"a b": 1}, {"m": {"x.y": 1, "ü": 2}}, {"e": [], "f": 1}, {"t": {"k": []}},
                                 {"l": [{"a": 1}, 2]}, {"u": {"d": {"e": {"f": 1}}}}, {"1": {"2": 3}}],
                         ids=["space-key", "dotted-key", "empty-top-list", "empty-list", "mixed-list", "nested",
                              "numeric-keys"])
def test_new_writer_reads_back_where_the_old_one_failed_or_not(cfg):
    assert tomllib.loads(to_toml(cfg)) == cfg


@pytest.mark.parametrize("bad", [None, object(), {1, 2}, b"x", 1j])
def test_values_without_toml_form_are_refused_by_name(bad):
    with pytest.raises(TomlWriteError, match=type(bad).__name__):
        to_toml({"model": {"J": bad}})
