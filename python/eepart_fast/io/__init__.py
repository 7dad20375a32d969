"""Results and the files they go to: Evaluation and SweepResult, Parquet (arrow.py), atomic writes,
measured per-sample records, and numbers as text for tables."""
import importlib as _importlib

from . import atomic, format, records, results
from .results import Evaluation, SweepResult

# arrow.py needs pyarrow (an extra): imported on first use, as the package's applications are.
_APPLICATIONS = ("arrow",)


def __getattr__(name):
    if name in _APPLICATIONS:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Evaluation", "SweepResult",
           # the modules (arrow.py, which needs pyarrow, imports on first use and stays out of a star import)
           "atomic", "format", "records", "results"]
