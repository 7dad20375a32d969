"""The public API's one convention (docs/architecture.md): the data first, everything else keyword-only, in
one order of names everywhere; a numpydoc docstring with Parameters and an Example that runs; and a
package namespace that is exactly its __all__."""
from __future__ import annotations

import doctest
import importlib
import inspect
import subprocess
import sys

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast._extras import EXTRAS, missing

# What a callable may take by position: the data it works on.
DATA = {"self", "cls", "profile", "topology", "tables", "latency", "accuracy", "N", "M", "K", "path", "data",
        "name", "spec", "study", "out", "folder", "deploy_dir", "images", "labels", "link", "tier", "value", "load",
        "bits_per_s", "seconds", "ratio", "plan", "table", "index", "i", "q", "records", "other", "names",
        "parameter", "target", "low", "high", "text", "obj", "columns", "configs_", "mapping", "address",
        "header", "payload", "scenarios", "transport", "role", "bind", "message", "args", "kwargs",
        # the network's and the engine's arrays: a chain's bandwidths, a graph's links, a device's measured
        # times, a threshold index t, and configurations packed as the backends take them
        "bandwidth", "links", "times", "t", "threshold_index", "num_partitions", "partitions", "placement",
        # a load's arrival rate, one configuration (t, P, A), one server of the load model
        "rate", "config", "server", "loads"}
# The keyword names every callable shares, in the order each must list them.
ORDER = ["source", "destination", "configs", "min_accuracy", "max_latency", "quantile", "backend", "threads",
         "max_memory", "time_limit", "progress"]
# What an application's examples need beyond the package: its extra's modules.
EXAMPLES_NEED = {"eepart_fast.runtime.": ("zmq", "onnxruntime"),
                 "eepart_fast.study.": ("pyarrow", "dask", "distributed")}
LAYERS = ["eepart_fast", "eepart_fast.model", "eepart_fast.engine", "eepart_fast.io", "eepart_fast.planning"]
OPTIONAL = ["eepart_fast.runtime", "eepart_fast.study", "eepart_fast.cli"]


def _modules():
    out = [importlib.import_module(m) for m in LAYERS]
    for name in OPTIONAL:
        try:
            out.append(importlib.import_module(name))
        except ImportError:  # an extra that is not installed: its API is checked where it is
            pass
    return out


def _public():
    seen, out = set(), []
    for module in _modules():
        for name in module.__all__:
            try:
                obj = getattr(module, name)
            except ImportError:  # loaded on first use and needs an extra this install lacks
                continue
            if inspect.ismodule(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            out.append((f"{module.__name__}.{name}", obj))
    return out


PUBLIC = _public()


def _callables():
    """(qualified name, function) for every public function and every public method of a public class."""
    for qual, obj in PUBLIC:
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_") or isinstance(member, property):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    yield f"{qual}.{attr}", member
        elif callable(obj):
            yield qual, obj


def _methods():
    return [(q, f) for q, f in CALLABLES if q not in dict(PUBLIC)]


CALLABLES = list(_callables())
METHODS = _methods()


def test_namespace_is_exactly_all():
    for module in _modules():
        public = {n for n in vars(module) if not n.startswith("_")}
        lazy = set(getattr(module, "_APPLICATIONS", ()))  # imported on first use: there once used
        assert public - lazy <= set(module.__all__), module.__name__
        assert set(module.__all__) - lazy <= public, module.__name__


def test_star_import_needs_no_extra():
    """`from eepart_fast import *` on a bare install: nothing in the layers' __all__ loads an extra."""
    hide = "torch torchvision onnx onnxruntime onnxscript zmq pyarrow dask distributed cupy".split()
    code = (f"import sys\nfor m in {hide!r}: sys.modules[m] = None\n"
            "from eepart_fast import *\nfrom eepart_fast.model import *\nfrom eepart_fast.engine import *\n"
            "from eepart_fast.io import *\nfrom eepart_fast.planning import *\nprint(Planner.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, "Planner"), done.stderr[-2000:]


@pytest.mark.parametrize("qual,func", CALLABLES, ids=[q for q, _ in CALLABLES])
def test_keyword_only_after_the_data(qual, func):
    params = inspect.signature(func).parameters.values()
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert [n for n in positional if n not in DATA] == [], f"{qual}: pass these by keyword"
    shared = [p.name for p in params if p.name in ORDER]
    assert shared == sorted(shared, key=ORDER.index), f"{qual}: keywords out of the shared order"


@pytest.mark.parametrize("qual,obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_numpydoc_with_an_example(qual, obj):
    doc = inspect.getdoc(obj) or ""
    if not (inspect.isclass(obj) and issubclass(obj, BaseException)):
        takes = callable(obj) and any(p.name not in ("self", "cls")
                                      for p in inspect.signature(obj).parameters.values())
        if takes:
            assert "Parameters\n----------" in doc, f"{qual}: no Parameters section"
    assert "Examples\n--------" in doc and ">>>" in doc, f"{qual}: no Examples section"


@pytest.mark.parametrize("qual,func", METHODS, ids=[q for q, _ in METHODS])
def test_methods_say_what_they_take(qual, func):
    doc = inspect.getdoc(func) or ""
    assert doc, f"{qual}: no docstring"
    takes = [p for p in inspect.signature(func).parameters.values() if p.name not in ("self", "cls")]
    if takes:
        assert "Parameters\n----------" in doc, f"{qual}: no Parameters section"


@pytest.mark.parametrize("qual,obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_examples_run(qual, obj, tmp_path, monkeypatch):
    # An application's examples use its extra (the runtime's open sockets): they run where it is installed.
    needs = [m for prefix, modules in EXAMPLES_NEED.items() if qual.startswith(prefix) for m in modules]
    absent = missing(*needs)
    if absent:
        pytest.skip(f"{qual}'s examples need {', '.join(absent)} (the {EXTRAS[absent[0]][0]} extra)")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    finder = doctest.DocTestFinder(recurse=inspect.isclass(obj))
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(obj, qual, globs={"ef": ef, "np": np})
    assert tests, f"{qual}: nothing to run"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{qual}: {result.failed} example(s) failed"
