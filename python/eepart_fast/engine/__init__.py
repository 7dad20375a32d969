"""The engine: backends behind one Protocol (registry.py), each answering evaluate, sweep and pareto on
CostTables alone. reference.py is the NumPy executable specification; backends/ holds the numpy, cpu
(the C++ core), cuda and cupy implementations."""
# The subpackage first: importing it later (the registry does, on first use) would set the package's
# attribute `backends` to it, over the function of the same name imported below.
from . import backends as _backend_modules  # noqa: F401
from . import frontier, reference, registry
from .frontier import frontier_indices
from .registry import Backend, backends

__all__ = ["Backend", "backends", "frontier_indices",
           # the modules (backends/, the subpackage of backend modules, is reached by its full name)
           "frontier", "reference", "registry"]
