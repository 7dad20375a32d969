"""Results and the files they go to: Evaluation and SweepResult, Parquet (arrow.py), atomic writes,
measured per-sample records, and numbers as text for tables."""
from .results import Evaluation, SweepResult

__all__ = ["Evaluation", "SweepResult"]
