"""Planning on the models: evaluate and sweep configurations, the exact frontier and the two constrained
problems (Planner, pareto, min_latency, max_accuracy; min_energy with energy), plans over a range
(PlanTable), tail latency from measured records, and plots.

One idea per module: batch (plan_many: many scenarios in one call), evaluation (evaluate, sweep), load (plans
under an arrival rate, and capacity), under_load (a Planner's questions under load: Planner.under), rate_table
(P_lat over a range of rates), plan (Plan, breakdown), planner
(Planner and the one-question functions), plantable (PlanTable), tail (quantiles from records) and plot
(figures; matplotlib on first use); _state holds what the Planner and plan tables share (the snapshot searched,
one search)."""
from . import batch, evaluation, load, plan, planner, plantable, plot, rate_table, tail, under_load
from .batch import PlanBatch, plan_many
from .evaluation import evaluate, sweep
from .plan import Plan
from .planner import Planner, max_accuracy, min_energy, min_latency, pareto
from .plantable import PlanTable, PlanTableRow

__all__ = ["Plan", "PlanBatch", "PlanTable", "PlanTableRow", "Planner", "evaluate", "max_accuracy", "min_energy",
           "min_latency", "pareto", "plan_many", "sweep",
           # the modules
           "batch", "evaluation", "load", "plan", "planner", "plantable", "plot", "rate_table", "tail",
           "under_load"]
