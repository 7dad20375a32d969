"""The `numpy` backend is the reference itself."""
from ..reference import available, evaluate, min_energy, pareto, sweep  # noqa: F401
