"""Backend choice per operation: every backend module satisfies the one declared interface, and `auto`
takes, per operation, the fastest measured backend that runs here (cpu for pareto)."""
import importlib

import pytest

# the module (eepart_fast.engine.registry is also a function)
B = importlib.import_module("eepart_fast.engine.registry")


def test_every_available_backend_has_the_interface():
    for name, info in B.backends().items():
        if info["available"]:
            assert isinstance(B.get_backend(name), B.Backend), name


def test_auto_per_operation(monkeypatch):
    fake = {"cuda": True, "cupy": True, "cpu": True, "numpy": True}
    monkeypatch.setattr(B, "_probe", lambda name: (object(), fake[name], "test"))
    monkeypatch.delenv(B.ENV, raising=False)
    assert B.resolve("auto", "evaluate") == "cuda" and B.resolve("auto", "sweep") == "cuda"
    assert B.resolve("auto", "pareto") == "cpu"  # cuda's search is slower on every measured row
    fake.update(cuda=False, cupy=False)
    assert B.resolve("auto", "sweep") == "cpu"
    fake["cpu"] = False
    assert B.resolve("auto", "pareto") == "numpy"
    monkeypatch.setenv(B.ENV, "numpy")
    assert B.resolve("auto", "pareto") == "numpy" and B.resolve("auto", "evaluate") == "numpy"
    assert B.backends()["numpy"]["auto_for"] == ["evaluate", "sweep", "pareto", "min_energy"]


def test_incomplete_backend_is_unavailable(monkeypatch):
    import types

    half = types.ModuleType("half")
    half.available = lambda: (True, "available")
    half.evaluate = lambda *a, **k: None
    monkeypatch.setattr(B, "_cache", {})
    monkeypatch.setattr(B.importlib, "import_module", lambda *a, **k: half)
    module, ok, reason = B._probe("cpu")
    assert not ok and "sweep" in reason and "pareto" in reason


def test_unknown_operation_and_backend():
    with pytest.raises(ValueError, match="operation = 'plan'"):
        B.resolve("auto", "plan")
    with pytest.raises(ValueError, match="backend = 'gpu'"):
        B.resolve("gpu", "pareto")
