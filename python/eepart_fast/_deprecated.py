"""The flat module paths of 0.1 (eepart_fast.plan, eepart_fast.tables, ...), still importable for one
release: each is the module at its new path, with a DeprecationWarning naming it (CHANGELOG.md)."""
from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import inspect
import sys
import warnings

MOVED = {
    "eepart_fast.api": "eepart_fast.planning.evaluation",
    "eepart_fast.plan": "eepart_fast.planning.planner",
    "eepart_fast.plantable": "eepart_fast.planning.plantable",
    "eepart_fast.tail": "eepart_fast.planning.tail",
    "eepart_fast.plot": "eepart_fast.planning.plot",
    "eepart_fast.profile": "eepart_fast.model.profile",
    "eepart_fast.topology": "eepart_fast.model.topology",
    "eepart_fast.tables": "eepart_fast.model.tables",
    "eepart_fast.devices": "eepart_fast.model.devices",
    "eepart_fast.routes": "eepart_fast.model.routes",
    "eepart_fast.configs": "eepart_fast.model.configs",
    "eepart_fast.quantile": "eepart_fast.model.quantile",
    "eepart_fast.reference": "eepart_fast.engine.reference",
    "eepart_fast.frontier": "eepart_fast.engine.frontier",
    "eepart_fast.results": "eepart_fast.io.results",
    "eepart_fast.nn.records": "eepart_fast.io.records",
    "eepart_fast.nn.cli": "eepart_fast.cli.nn",
    "eepart_fast.runtime.cli": "eepart_fast.cli.runtime",
}
REMOVED_IN = "0.3.0"


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers only for the old names, after every real finder has failed (it is appended last)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; the old path is removed in {REMOVED_IN}",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module):
        pass  # the module at its new path is already executed


def install() -> None:
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())


def positional(*old_order: str):
    """For one release, a call that passes by position what is now keyword-only still works, with a
    DeprecationWarning; `old_order` names the parameters that followed the data in 0.1, in order
    (scikit-learn's way of making arguments keyword-only)."""
    def wrap(func):
        params = inspect.signature(func).parameters.values()
        n_data = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)

        @functools.wraps(func)
        def call(*args, **kwargs):
            extra = args[n_data:]
            if extra:
                if len(extra) > len(old_order):
                    raise TypeError(f"{func.__qualname__}() takes {n_data} positional arguments but "
                                    f"{len(args)} were given")
                names = old_order[:len(extra)]
                given = [n for n in names if n in kwargs]
                if given:
                    raise TypeError(f"{func.__qualname__}() got multiple values for argument {given[0]!r}")
                warnings.warn(f"{func.__qualname__}(): pass {', '.join(names)} by keyword ("
                              f"{', '.join(f'{n}=...' for n in names)}); positional use is removed in "
                              f"{REMOVED_IN}", DeprecationWarning, stacklevel=2)
                kwargs.update(zip(names, extra))
                args = args[:n_data]
            return func(*args, **kwargs)

        return call

    return wrap
