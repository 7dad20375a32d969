"""The optional dependencies: which extra brings each, and one check that names it.

A command asks for what it needs (`require`) before it does any work; the import itself stays inside the
function that uses the module. A missing module is then one line naming the extra to install, never a
traceback half-way through a sweep.
"""
from __future__ import annotations

import importlib.util

# module -> (the extra that installs it, the distribution's name as pip knows it)
EXTRAS = {
    "zmq": ("runtime", "pyzmq"),
    "onnx": ("runtime", "onnx"),
    "onnxruntime": ("runtime", "onnxruntime"),
    "onnxscript": ("runtime", "onnxscript"),
    "torch": ("train", "torch"),
    "torchvision": ("train", "torchvision"),
    "pyarrow": ("study", "pyarrow"),
    "dask": ("study", "dask[distributed]"),
    "distributed": ("study", "dask[distributed]"),
    "pynvml": ("energy", "nvidia-ml-py"),
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, what: str, module: str):
        extra, dist = EXTRAS[module]
        super().__init__(f"{what} needs {dist}, which is not installed: pip install 'eepart_fast[{extra}]'",
                         name=module)
        self.extra = extra
        self.module = module


def missing(*modules: str) -> list:
    """The modules of `modules` that cannot be imported here (found without importing them)."""
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent package missing, or a module set to None in sys.modules
            found = False
        if not found:
            out.append(name)
    return out


def require(*modules: str, what: str) -> None:
    """Raises MissingExtra for the first of `modules` not installed; `what` names the command or feature."""
    absent = missing(*modules)
    if absent:
        raise MissingExtra(what, absent[0])


def extra_of(exc: ImportError):
    """The extra that would have provided the module an ImportError is about, or None."""
    name = (getattr(exc, "name", None) or "").split(".")[0]
    return EXTRAS[name][0] if name in EXTRAS else None
