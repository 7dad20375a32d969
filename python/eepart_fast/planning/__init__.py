"""Planning on the models: evaluate and sweep configurations, the exact frontier and the two constrained
problems (Planner, pareto, min_latency, max_accuracy), plans over a range (PlanTable), tail latency from
measured records, and plots.

One idea per module: evaluation (evaluate, sweep), state (the snapshot searched and one search on it),
plan (Plan, breakdown), plantable (PlanTable), planner (Planner and the one-question functions), tail
(quantiles from records) and plot (figures; matplotlib on first use)."""
from .evaluation import evaluate, sweep
from .plan import Plan
from .plantable import PlanTable, PlanTableRow
from .planner import Planner, max_accuracy, min_latency, pareto

__all__ = ["Plan", "PlanTable", "PlanTableRow", "Planner", "evaluate", "max_accuracy", "min_latency", "pareto",
           "sweep"]
