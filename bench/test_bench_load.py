"""The exact search under load (planning.load.load_pareto: the engine on the per-threshold loaded tables)
against the bounded sweep of the same tables + the frontier, side by side in one run (issue 23).

    PYTHONPATH=python python -m pytest bench/test_bench_load.py --benchmark-group-by=group

The rate loads the tiers (the cloud's whole network at about 0.4 of its capacity, slower tiers overloaded
for long partitions), so the loaded tables hold waits and infeasible marks. The sweep is bounded a priori,
as in test_bench_search.py, by the loaded latency of the most accurate single-partition plan on its fastest
feasible tier (nothing slower is on the frontier), and below the infeasible mark.
"""
from __future__ import annotations

import numpy as np
import pytest

from eepart_fast import _core
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.configs import count_configurations
from eepart_fast.model.load import Load, load_tables
from eepart_fast.model.tables import cost_tables
from eepart_fast.planning.load import FEASIBLE, load_pareto

from _bench_instances import chain, realistic_profile

CASES = {"load-N30-M5-K20": (30, 5, 20)}
RATE = 8.0  # samples per second, one source


def _tables(name):
    N, M, K = CASES[name]
    return cost_tables(realistic_profile(N, K), chain(M))


def a_priori_bound(per_t) -> float:
    """The least loaded latency of the most accurate single-partition plan (every threshold, every tier),
    kept below the infeasible mark: at least as accurate as any configuration, so nothing slower is on the
    frontier."""
    q = int(np.argmax(per_t[0].accuracy)) + 1
    best = min(t.input_cost[b] + t.compute_cost[b, 0, q] + t.result_cost[b] for t in per_t for b in range(t.M))
    return float(min(best, FEASIBLE))


def sweep_frontier(tables, load):
    per_t = load_tables(tables, load=load)
    bound = a_priori_bound(per_t)
    parts = []
    for _t, table in enumerate(per_t):
        rows = _core.sweep(table, max_latency=bound)
        parts.append((rows["latency"], rows["accuracy"]))
    lat = np.concatenate([p[0] for p in parts])
    acc = np.concatenate([p[1] for p in parts])
    idx = frontier_indices(lat, acc)
    return lat[idx], acc[idx]


@pytest.mark.parametrize("name", list(CASES))
def test_search_under_load(benchmark, name):
    tables = _tables(name)
    benchmark.group = name
    benchmark.extra_info["configurations"] = count_configurations(tables.N, tables.M, tables.K)
    front = benchmark.pedantic(lambda: load_pareto(tables, load=Load(RATE), backend="cpu"), rounds=3,
                               warmup_rounds=1)
    benchmark.extra_info["frontier_points"] = int(front["latency"].size)
    assert front["latency"].size > 0


@pytest.mark.parametrize("name", list(CASES))
def test_bounded_sweep_under_load(benchmark, name):
    tables = _tables(name)
    benchmark.group = name
    front = load_pareto(tables, load=Load(RATE), backend="cpu")
    benchmark.extra_info["configurations"] = count_configurations(tables.N, tables.M, tables.K)
    lat, acc = benchmark.pedantic(lambda: sweep_frontier(tables, Load(RATE)), rounds=1)
    # The same frontier: the comparison is between two exact answers.
    np.testing.assert_allclose(lat, front["latency"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(acc, front["accuracy"], rtol=1e-12, atol=0)
