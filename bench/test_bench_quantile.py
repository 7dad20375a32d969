"""The exact p99 search against a sweep + quantile + frontier, side by side in one run (issue 13):

    PYTHONPATH=python python -m pytest bench/test_bench_quantile.py --benchmark-group-by=group

Each group holds the two ways to the same (p99 latency, accuracy) frontier on one of the search
benchmark's instances (bench/test_bench_search.py). `search` is _core.pareto(quantile=0.99). `sweep` is
the cpu sweep of every configuration with its p99, then the frontier; it is bounded a priori, as the
mean's baseline is, by the latency of the most accurate single-partition plan (one exit: its p99 is its
latency, and every slower configuration is dominated by it), which also lets the sweep skip prefixes
whose p99 already passes the bound. Both answers are checked equal to the bit.
"""
from __future__ import annotations

import numpy as np
import pytest

from eepart_fast import _core
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.configs import count_configurations
from eepart_fast.model.tables import cost_tables

from _bench_instances import chain, realistic_profile

Q = 0.99
CASES = {"N10-M4-K20": (10, 4, 20), "N30-M5-K20": (30, 5, 20), "N55-M3-K10": (55, 3, 10), "N55-M4-K10": (55, 4, 10)}
_cache: dict = {}


def tables_of(name):
    if name not in _cache:
        N, M, K = CASES[name]
        _cache[name] = cost_tables(realistic_profile(N, K), chain(M))
    return _cache[name]


def a_priori_bound(tables) -> float:
    q = int(np.argmax(tables.accuracy)) + 1
    return min(tables.input_cost[b] + tables.compute_cost[b, 0, q] + tables.result_cost[b] for b in range(tables.M))


def sweep_frontier(tables):
    rows = _core.sweep(tables, max_latency=a_priori_bound(tables), quantile=Q)
    idx = frontier_indices(rows["latency"], rows["accuracy"])
    return rows["latency"][idx], rows["accuracy"][idx]


@pytest.mark.parametrize("name", list(CASES))
def test_search(benchmark, name):
    tables = tables_of(name)
    benchmark.group = f"p99 {name}"
    benchmark.extra_info["configurations"] = count_configurations(tables.N, tables.M, tables.K)
    front = benchmark.pedantic(lambda: _core.pareto(tables, quantile=Q), rounds=20, warmup_rounds=1)
    benchmark.extra_info["frontier_points"] = int(front["latency"].size)
    assert front["latency"].size > 0


@pytest.mark.parametrize("name", list(CASES))
def test_sweep_quantile_frontier(benchmark, name):
    tables = tables_of(name)
    benchmark.group = f"p99 {name}"
    front = _core.pareto(tables, quantile=Q)
    n = count_configurations(tables.N, tables.M, tables.K)
    benchmark.extra_info["configurations"] = n
    lat, acc = benchmark.pedantic(lambda: sweep_frontier(tables), rounds=1 if n > 5e7 else 3)
    np.testing.assert_array_equal(lat, front["latency"])
    np.testing.assert_array_equal(acc, front["accuracy"])
