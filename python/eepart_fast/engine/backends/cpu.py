"""The `cpu` backend: the compiled C++ engine (eepart_fast._core), multithreaded, GIL released.

Its evaluate, sweep, pareto and min_energy are the compiled functions themselves: they take the Backend Protocol's
arguments (engine/registry.py) by the same names, so nothing is forwarded or written twice. `tables` is a
CostTables (copied into the engine and checked per call) or an `eepart_fast._core.Tables` (built and
checked once, for callers that ask many questions of the same tables).
"""
from __future__ import annotations

import eepart_fast._core as _core  # by name: `from ... import` reads as importing the whole package

evaluate = _core.evaluate
sweep = _core.sweep
pareto = _core.pareto
min_energy = _core.min_energy


def available():
    """(True, "available"): the package does not import without its compiled engine."""
    return True, "available"
