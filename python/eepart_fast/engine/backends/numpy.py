"""The `numpy` backend is the reference itself."""
from ..reference import available, evaluate, pareto, sweep  # noqa: F401
