"""eepart_fast: exact, fast search over DNN partitioning and early exit (Ebrahimi et al., EdgeSys'22)."""
from ._version import __version__
from .api import evaluate, sweep
from .backends import backends
from .configs import count_configurations
from .frontier import frontier_indices
from .plan import Plan, Planner, max_accuracy, min_latency, pareto
from .plantable import PlanTable, PlanTableRow
from .profile import Profile
from .results import Evaluation, SweepResult
from .tables import CostTables, cost_tables
from .topology import Topology


def __getattr__(name):
    # `eepart_fast.study(...)`: the study package, callable, imported on first use (it needs pyarrow and dask).
    if name == "study":
        import importlib

        return importlib.import_module(".study", __name__)
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
    "Plan",
    "Planner",
    "PlanTable",
    "PlanTableRow",
    "Evaluation",
    "SweepResult",
    "backends",
    "count_configurations",
    "frontier_indices",
]
