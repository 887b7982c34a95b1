"""The package's import arrows point down, and no module imports itself in a circle.

Every `import` of a `keras_creps` module is collected with `ast`, at module
level and inside functions alike (a function-level import is still an
arrow), and checked against the layering of the README's Layout section:
utils <- layers <- models <- training / rendering / convert / export.
"""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "keras_creps")

# Which top-level parts each part may import (itself always allowed).
ALLOWED = {
    "utils": set(),
    "official_pickle": set(),
    "layers": {"utils"},
    "data": {"utils"},
    "augment": {"utils", "layers"},
    "models": {"utils", "layers"},
    "rendering": {"utils", "layers", "models"},
    "convert": {"utils", "layers", "models", "official_pickle"},
    "export": {"utils", "layers", "models", "rendering"},
    "metrics": {"utils", "layers", "models", "rendering", "data"},
    "training": {"utils", "layers", "models", "rendering", "data", "augment", "metrics"},
    "saved_models": set(),
}


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def _modules():
    for directory, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                yield rel.removesuffix(".__init__"), path


def _imports(module, path):
    """`(imported keras_creps module, line, at module level)` for each import in `path`."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    top_level = {id(node) for node in tree.body}
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "keras_creps" or name.startswith("keras_creps."):
                yield name, node.lineno, id(node) in top_level


def _part(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_imports_point_down():
    known = {module for module, _ in _modules()}
    bad = []
    for module, path in _modules():
        part = _part(module)
        if part is None:
            continue  # keras_creps/__init__.py gathers the public API
        for name, line, _ in _imports(module, path):
            if name not in known:
                continue  # `from keras_creps.x import SomeClass`: the module itself is listed too
            target = _part(name)
            if target is None:
                bad.append(f"{module}:{line} imports the top-level package")
            elif target != part and target not in ALLOWED[part]:
                bad.append(f"{module}:{line} imports {name} ({part} may import {sorted(ALLOWED[part])})")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    known = {module for module, _ in _modules()}
    graph = {module: set() for module in known}
    for module, path in _modules():
        for name, _, top in _imports(module, path):
            # A package's __init__ re-exporting its modules is not a cycle of concepts.
            if top and name in known and name != module and not name.startswith(module + "."):
                graph[module].add(name)
    cycles = []
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("limit", [450])
def test_modules_stay_readable(limit):
    long = []
    for module, path in _modules():
        with open(path, encoding="utf-8") as f:
            count = sum(1 for _ in f)
        if count > limit:
            long.append(f"{module}: {count} lines")
    assert not long, "\n".join(long)
