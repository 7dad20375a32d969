"""The package's shape: layers that import only downwards, no import circle, and imports inside functions
only where an optional extra or an application is loaded on first use (docs/architecture.md)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp", reason="grimp (from the test extra's import-linter) builds the import graph")

import eepart_fast  # noqa: E402
from eepart_fast._extras import EXTRAS  # noqa: E402

PACKAGE = Path(eepart_fast.__file__).parent
# Top to bottom; within one entry, modules may import each other's packages (applications side by side).
LAYERS = [
    "eepart_fast.cli",
    "eepart_fast.study : eepart_fast.runtime : eepart_fast.nn",
    "eepart_fast.planning",
    "eepart_fast.io",
    "eepart_fast.engine",
    "eepart_fast.model",
]
APPLICATIONS = ("eepart_fast.cli", "eepart_fast.nn", "eepart_fast.runtime", "eepart_fast.study")
# Imported where used because importing them is slow or optional (tqdm and matplotlib: only long work and
# plots need them; yaml: only YAML files; networkx: only graph topologies).
LAZY_THIRD_PARTY = {*EXTRAS, "cupy", "matplotlib", "tqdm", "yaml", "networkx", "pandas"}


COMPILED = ("_core", "_cuda", "_cuda_emu")


@pytest.fixture(scope="module")
def graph():
    g = grimp.build_graph("eepart_fast", cache_dir=None)
    # grimp reads Python files only: an import of a compiled module (eepart_fast._core) reads as an import
    # of the package itself. Those edges go to C++, below every layer, so they are taken out.
    for importer in g.find_modules_that_directly_import("eepart_fast"):
        lines = [d["line_contents"] for d in g.get_import_details(importer=importer, imported="eepart_fast")]
        if lines and all(any(name in line for name in COMPILED) for line in lines):
            g.remove_import(importer=importer, imported="eepart_fast")
    return g


def test_no_import_circle(graph):
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                circles.append(" -> ".join([module, *back]))
    assert circles == []


def test_layers_import_only_downwards(graph):
    layers = []
    for entry in LAYERS:
        names = [n.strip() for n in entry.split(":")]
        layers.append(grimp.Layer(*names, independent=False))
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers=set())
    found = sorted(f"{d.importer} -> {d.imported}" for d in illegal)
    assert found == []


def _function_imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    yield inner.lineno, [a.name for a in inner.names], 0
                elif isinstance(inner, ast.ImportFrom):
                    yield inner.lineno, [inner.module or ""], inner.level


def _absolute(path: Path, module: str, level: int) -> str:
    if level == 0:
        return module
    parts = ["eepart_fast", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    base = parts[: len(parts) - level] if path.name != "__init__.py" else parts[: len(parts) - level + 1]
    return ".".join([*base, module] if module else base)


def test_imports_inside_functions_load_only_extras_or_applications():
    """A function-level import hides a dependency from the reader; it is there only to keep an optional
    extra (or an application that needs one) off the import of everything else."""
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, modules, level in _function_imports(path):
            for module in modules:
                name = _absolute(path, module, level)
                top = name.split(".")[0]
                if top != "eepart_fast":
                    if top not in LAZY_THIRD_PARTY:
                        hidden.append(f"{path.relative_to(PACKAGE)}:{line} {name}")
                elif not (name.startswith(APPLICATIONS) or name.split(".")[1] in ("_core", "_cuda", "_cuda_emu")
                          or name.startswith("eepart_fast.engine.backends") or name == "eepart_fast.io.arrow"
                          or name.startswith("eepart_fast.planning.plot")):
                    hidden.append(f"{path.relative_to(PACKAGE)}:{line} {name}")
    assert hidden == []
