"""The engine: backends behind one Protocol (registry.py), each answering evaluate, sweep and pareto on
CostTables alone. reference.py is the NumPy executable specification; backends/ holds the numpy, cpu
(the C++ core), cuda and cupy implementations."""
from .frontier import frontier_indices
from .registry import Backend, backends

__all__ = ["Backend", "backends", "frontier_indices"]
