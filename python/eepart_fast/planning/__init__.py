"""Planning on the models: evaluate and sweep configurations, the exact frontier and the two constrained
problems (Planner, pareto, min_latency, max_accuracy; min_energy with energy), plans over a range
(PlanTable), tail latency from measured records, and plots.

One idea per module: batch (plan_many: many scenarios in one call), evaluation (evaluate, sweep), plan (Plan, breakdown), planner (Planner and the
one-question functions), plantable (PlanTable), tail (quantiles from records) and plot (figures; matplotlib
on first use); _state holds what the Planner and plan tables share (the snapshot searched, one search)."""
from . import batch, evaluation, plan, planner, plantable, plot, tail
from .batch import PlanBatch, plan_many
from .evaluation import evaluate, sweep
from .plan import Plan
from .plantable import PlanTable, PlanTableRow
from .planner import Planner, max_accuracy, min_energy, min_latency, pareto

__all__ = ["Plan", "PlanBatch", "PlanTable", "PlanTableRow", "Planner", "evaluate", "max_accuracy", "min_energy",
           "min_latency", "pareto", "plan_many", "sweep",
           # the modules
           "batch", "evaluation", "plan", "planner", "plantable", "plot", "tail"]
