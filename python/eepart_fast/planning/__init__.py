"""Planning on the models: evaluate and sweep configurations, the exact frontier and the two constrained
problems (Planner, pareto, min_latency, max_accuracy), plans over a range (PlanTable), tail latency from
measured records, and plots."""
from .evaluation import evaluate, sweep
from .plan import Plan, Planner, max_accuracy, min_latency, pareto
from .plantable import PlanTable, PlanTableRow

__all__ = ["Plan", "PlanTable", "PlanTableRow", "Planner", "evaluate", "max_accuracy", "min_latency", "pareto",
           "sweep"]
