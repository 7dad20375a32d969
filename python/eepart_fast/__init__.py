"""eepart_fast: exact, fast search over DNN partitioning and early exit (Ebrahimi et al., EdgeSys'22).

The package's layers, bottom up: `model` (profile, topology, cost tables), `engine` (the backends),
`io` (results and files), `planning` (plans, the Planner, plan tables); the applications `nn` (training
and profiling with torch), `runtime` (ONNX + ZeroMQ), `study` (Dask) and `cli` import what they need
when they are used.
"""
import importlib as _importlib

from . import _deprecated, engine, errors, io, model, planning
from ._version import __version__  # noqa: F401  eepart_fast.__version__
from .engine import backends, frontier_indices
from .io import Evaluation, SweepResult
from .model import CostTables, Profile, Topology, cost_tables, count_configurations
from .planning import (
    Plan,
    PlanBatch,
    Planner,
    PlanTable,
    PlanTableRow,
    evaluate,
    max_accuracy,
    min_energy,
    min_latency,
    pareto,
    plan_many,
    sweep,
)

_deprecated.install()

# The applications need extras (torch, onnxruntime and pyzmq, dask and pyarrow): imported on first use.
_APPLICATIONS = ("cli", "nn", "runtime", "study")


def __getattr__(name):
    if name in _APPLICATIONS:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Profile",
    "Topology",
    "CostTables",
    "cost_tables",
    "evaluate",
    "sweep",
    "pareto",
    "min_latency",
    "max_accuracy",
    "min_energy",
    "plan_many",
    "Plan",
    "PlanBatch",
    "Planner",
    "PlanTable",
    "PlanTableRow",
    "Evaluation",
    "SweepResult",
    "backends",
    "count_configurations",
    "frontier_indices",
    # the typed errors
    "errors",
    # the layers
    "model",
    "engine",
    "io",
    "planning",
]
# The applications (cli, nn, runtime, study) are not in __all__: `from eepart_fast import *` must not load
# their extras. `eepart_fast.study` and the others import on first use (__getattr__ above).
