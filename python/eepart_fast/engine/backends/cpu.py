"""The `cpu` backend: the compiled C++ engine, multithreaded, GIL released.

`tables` is a CostTables (copied into the engine and checked per call) or an `eepart_fast._core.Tables`
(built and checked once, for callers that ask many questions of the same tables).
"""
from __future__ import annotations

import importlib

import numpy as np

try:
    # By its full name, as cuda.py loads its module: a compiled module is no node of the package's import
    # graph, and `from ... import _core` reads there as an import of the whole package.
    _core = importlib.import_module("eepart_fast._core")
except ImportError as exc:  # a broken install; reported by eepart_fast.backends()
    _core = None
    _import_error = str(exc)


def available():
    if _core is None:
        return False, f"the compiled module eepart_fast._core failed to import: {_import_error}"
    return True, "available"


def evaluate(tables, threshold_index, num_partitions, partitions, placement, threads=0, quantile=None):
    return _core.evaluate(tables, threshold_index, num_partitions, partitions, placement, threads=threads,
                          quantile=quantile)


_DEFAULT_MAX_ROWS = None if _core is None else _core.DEFAULT_MAX_ROWS
_DEFAULT_MAX_MEMORY = None if _core is None else _core.DEFAULT_MAX_MEMORY


def sweep(tables, max_latency=np.inf, min_accuracy=-np.inf, max_rows=_DEFAULT_MAX_ROWS, threads=0,
          time_limit=np.inf, quantile=None):
    return _core.sweep(tables, max_latency=max_latency, min_accuracy=min_accuracy, max_rows=max_rows, threads=threads,
                       time_limit=time_limit, quantile=quantile)


def pareto(tables, min_accuracy=-np.inf, max_latency=np.inf, threads=0, max_memory=_DEFAULT_MAX_MEMORY,
           time_limit=np.inf, quantile=None):
    return _core.pareto(tables, min_accuracy=min_accuracy, max_latency=max_latency, threads=threads,
                        max_memory=max_memory, time_limit=time_limit, quantile=quantile)
