"""Imports flow one way: lattice -> tn -> observables -> data -> macrobell (the face).

An AST walk over every module of the four layers and of the package root collects each
``import`` / ``from`` statement, module level and inside functions alike, and checks that

* no import goes up the pipeline (a layer imports only itself and the layers below it);
* no layer imports the package root ``macrobell`` (``import macrobell``, ``from macrobell import X``);
  the only modules of the root package a layer may import are the leaves ``macrobell._threads``
  (pins BLAS threads at the compute entry points) and ``macrobell._version``, which import nothing
  of ours;
* the import graph between our modules has no cycles, counting function-level (lazy) imports too.

Then, in a fresh interpreter, ``import macrobell.lattice`` loads no heavy dependency and no other
layer, and ``import macrobell`` is lazy but serves every name the root exported before.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: source folder -> installed package (the setuptools package-dir mapping of pyproject.toml)
PACKAGES = {"macrobell": "macrobell", "lattice": "macrobell.lattice", "tn": "macrobell.tn",
            "observables": "macrobell.observables", "data": "macrobell.data"}
#: rank in the pipeline; an import may only go to an equal or lower rank
LAYERS = {"macrobell._threads": 0, "macrobell._version": 0, "macrobell.lattice": 1, "macrobell.tn": 2, "macrobell.observables": 3,
          "macrobell.data": 4, "macrobell": 5}


def module_files() -> dict[str, Path]:
    mods = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("").parts
            if rel[-1] == "__init__":
                rel = rel[:-1]
            mods[".".join((package,) + rel)] = path
    return mods


MODULES = module_files()


def layer_of(module: str) -> str:
    return max((name for name in LAYERS if module == name or module.startswith(name + ".")), key=len)


def imports_of(module: str, path: Path) -> list[tuple[int, str, bool]]:
    """``(line, target, names_root)`` for every import of ours in ``path``; ``names_root`` is True
    when the statement names the package root itself (``import macrobell``, ``from macrobell import``)."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "macrobell":
                    out.append((node.lineno, alias.name, alias.name == "macrobell"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module
            if base.split(".")[0] != "macrobell":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append((node.lineno, sub if sub in MODULES else base, base == "macrobell"))
    return out


GRAPH = {m: imports_of(m, p) for m, p in MODULES.items()}


def test_the_walk_sees_every_layer_and_lazy_imports():
    # guards the test itself: the walk must find modules of every layer and function-level imports
    assert {layer_of(m) for m in MODULES} == set(LAYERS)
    lazy = [t for line, t, _ in GRAPH["macrobell.tn.api"]]
    assert "macrobell.tn.exact" in lazy and "macrobell.lattice" in lazy


def test_no_import_goes_up_the_pipeline():
    bad = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {t}"
           for m, edges in GRAPH.items() for line, t, _ in edges
           if LAYERS[layer_of(t)] > LAYERS[layer_of(m)]]
    assert not bad, "imports going up lattice -> tn -> observables -> data -> macrobell:\n" + "\n".join(bad)


def test_no_layer_imports_the_package_root():
    bad = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {t}"
           for m, edges in GRAPH.items() if layer_of(m) != "macrobell"
           for line, t, names_root in edges if names_root or layer_of(t) == "macrobell"]
    assert not bad, "layers importing the package root:\n" + "\n".join(bad)


@pytest.mark.parametrize("leaf", ["macrobell._threads", "macrobell._version"])
def test_base_modules_are_leaves(leaf):
    assert GRAPH[leaf] == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            comp = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                comp.append(top)
                if top == node:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(out)


def test_cycles_finds_every_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d", "f"}, "f": set()}
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_import_graph_has_no_cycles():
    graph = {m: {t for _, t, _ in edges if t in MODULES and t != m} for m, edges in GRAPH.items()}
    found = cycles(graph)
    assert not found, "import cycles (module-level and lazy imports): " + "; ".join(" <-> ".join(c) for c in found)


def run_python(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r.stdout


HEAVY = ["numba", "quimb", "h5py", "pandas", "macrobell.tn", "macrobell.observables", "macrobell.data"]


def test_lattice_import_loads_no_heavy_dependency():
    out = run_python("import sys, json, macrobell.lattice\n"
                     f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    assert json.loads(out) == []


def test_root_import_is_lazy_and_serves_every_name():
    code = ("import sys, json\n"
            "import macrobell as mb\n"
            f"before = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "from macrobell import lattice, tn, observables, data, set_threads, __version__\n"
            "names = sorted(mb.__all__)\n"
            "ok = [n for n in names if getattr(mb, n, None) is not None]\n"
            "print(json.dumps([before, names, ok, mb.tn.__name__, 'tn' in dir(mb)]))")
    before, names, ok, tn_name, listed = json.loads(run_python(code))
    assert before == []
    assert names == sorted(["lattice", "tn", "observables", "data", "set_threads", "__version__"])
    assert ok == names and tn_name == "macrobell.tn" and listed


def test_root_refuses_unknown_names():
    import macrobell as mb

    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        mb.not_a_name  # noqa: B018
