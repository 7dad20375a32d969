"""`pareto(quantile=q)` where a backend has no search for quantiles: its own sweep, bounded a priori,
then frontier.frontier_indices, exact (the frontier of the swept rows is the frontier of all of them).

The bound: a single-partition plan has one exit, whose share is 1, so its mean latency and every quantile
of it are the same number, (input_cost[b] + compute_cost[b][0][q]) + result_cost[b], summed as every
engine sums it. The most accurate such plan (branch q of the highest accuracy, on its fastest tier b) is
at least as accurate as any configuration, so nothing slower than it can be on the frontier.
"""
from __future__ import annotations

import numpy as np

import eepart_fast._core as _core  # by name: `from .. import` reads as importing the whole package

from .frontier import frontier_indices
from .reference import least_mean_ties, rows_in_memory


def single_partition_bound(tables) -> float:
    """The latency (mean and every quantile) of the most accurate single-partition plan on its fastest tier."""
    N, M = tables.N, tables.M
    best = np.asarray(tables.accuracy, dtype=np.float64).reshape(-1, N).max(axis=0)  # over thresholds, per branch
    q = int(np.argmax(best)) + 1
    inp, comp, res = (np.asarray(a, dtype=np.float64)
                      for a in (tables.input_cost, tables.compute_cost, tables.result_cost))
    return min(float((inp[b] + comp[b, 0, q]) + res[b]) for b in range(M))


def max_rows_for(max_memory, N: int, M: int) -> int:
    """The swept rows that max_memory bytes hold with the frontier's work on them (None: no cap)."""
    if max_memory is None:
        return _core.DEFAULT_MAX_ROWS
    return max(1, rows_in_memory(max_memory, N, M))


def pareto_by_sweep(sweep, evaluate, tables, min_accuracy, max_latency, quantile, max_memory=None, **sweep_kw) -> dict:
    """The frontier of (quantile latency, accuracy) by `sweep` (a backend's own), bounded by
    single_partition_bound; rows as the sweep gives them, latency rising; of the rows reaching one point,
    the one of least mean latency (by `evaluate`, the backend's own)."""
    bound = max_latency
    try:
        if float(max_latency) > (a_priori := single_partition_bound(tables)):
            bound = a_priori
    except (TypeError, ValueError):
        pass  # a bad max_latency: the sweep says what is wrong with it
    rows = sweep(tables, max_latency=bound, min_accuracy=min_accuracy, quantile=quantile,
                 max_rows=max_rows_for(max_memory, tables.N, tables.M), **sweep_kw)
    idx = least_mean_ties(tables, rows, frontier_indices(rows["latency"], rows["accuracy"]), evaluate)
    return {k: v[idx] for k, v in rows.items()}
