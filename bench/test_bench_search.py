"""Exact search (_core.pareto) against the full cpu sweep + frontier, side by side in one run (issue 3).

    PYTHONPATH=python python -m pytest bench/test_bench_search.py --benchmark-group-by=group

Each group holds the two ways to the same frontier on one instance; the ratio of their times is the
speed-up. Unbounded, the sweep would keep every row (412 million on N=30, M=5, K=20: 26 GB), so it is
bounded a priori by the latency of the most accurate single-partition plan: every slower row is dominated
by that plan, so the frontier is the same. The bound also lets the sweep skip placement prefixes that are
already too slow, which makes it a strong baseline, far faster than visiting every configuration.
Profiles are seeded and realistic (block times of a few ms, outputs shrinking with depth, exits from a
monotone cumulative curve, accuracy rising with noise); PORTEND's measured ResNet-110 is used as well
where ../shared/peer-data has it.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.configs import count_configurations
from eepart_fast.model.tables import CostTables, cost_tables
from eepart_fast.planning.planner import Planner

from _bench_instances import chain, realistic_profile

PORTEND = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "peer-data", "portend",
                       "resnet110-cifar10.json")


def portend_tables(M: int) -> CostTables:
    """ResNet-110 on CIFAR-10 as PORTEND measured it: compute per partition and device, PORTEND's links."""
    with open(PORTEND) as f:
        d = json.load(f)
    devices = {3: ["a1.medium", "m4.large", "g4dn.xlarge"], 4: ["a1.medium", "a1.large", "m4.large", "g4dn.xlarge"]}[M]
    bandwidth = {3: [10e6, 400e6], 4: [10e6, 100e6, 400e6]}[M]
    latency = {3: [0.020, 0.040], 4: [0.020, 0.010, 0.040]}[M]
    N = d["num_blocks"]
    compute = np.zeros((M, N + 1, N + 1))
    for a, dev in enumerate(devices):
        for first, last, ms in d["partition_latency_ms"][dev]:
            compute[a, first - 1, last] = np.mean(ms) / 1e3
    shapes = d["block_input_shape"]
    output_bits = np.array([32.0 * np.prod(shapes[str(i + 1)]) for i in range(1, N)] + [32.0 * d["num_classes"]])
    topo = ef.Topology.chain(devices, np.ones(M), bandwidth, latency)
    pl, inv = topo.path_latency, topo.path_inv_bandwidth
    v = d["validation"]
    share = np.array(v["exit_count"], dtype=float) / v["samples"]
    cum = np.zeros((share.shape[0], N + 1))
    cum[:, 1:] = np.minimum(np.maximum.accumulate(share, axis=1), 1.0)
    cum[:, N] = 1.0
    return CostTables(np.ascontiguousarray(pl[0] + 32.0 * np.prod(shapes["1"]) * inv[0]), compute,
                      np.ascontiguousarray(pl[None] + output_bits[:, None, None] * inv[None]),
                      np.ascontiguousarray(pl[:, 0] + 32.0 * d["num_classes"] * inv[:, 0]), cum,
                      np.array(v["correct_count"][-1], dtype=float) / v["samples"])


def synthetic(N, M, K):
    return cost_tables(realistic_profile(N, K), chain(M))


CASES = {  # name: (tables, compare against the sweep)
    "N10-M4-K20": (lambda: synthetic(10, 4, 20), True),
    "N30-M5-K20": (lambda: synthetic(30, 5, 20), True),
    "N55-M3-K10": (lambda: synthetic(55, 3, 10), True),
    "N55-M4-K10": (lambda: synthetic(55, 4, 10), True),
    "N100-M8-K20": (lambda: synthetic(100, 8, 20), False),
    "resnet110-M3": (lambda: portend_tables(3), True),
    "resnet110-M4": (lambda: portend_tables(4), True),
}
_cache: dict = {}


def tables_of(name):
    if name.startswith("resnet110") and not os.path.exists(PORTEND):
        pytest.skip("PORTEND's profiles are not in ../shared/peer-data")
    if name not in _cache:
        _cache[name] = CASES[name][0]()
    return _cache[name]


def a_priori_bound(tables) -> float:
    """The latency of the most accurate single-partition plan on its fastest tier: nothing slower can be
    on the frontier, since that plan is at least as accurate as any configuration."""
    q = int(np.argmax(tables.accuracy)) + 1
    return min(tables.input_cost[b] + tables.compute_cost[b, 0, q] + tables.result_cost[b] for b in range(tables.M))


def sweep_frontier(tables):
    rows = _core.sweep(tables, max_latency=a_priori_bound(tables))
    idx = frontier_indices(rows["latency"], rows["accuracy"])
    return rows["latency"][idx], rows["accuracy"][idx]


@pytest.mark.parametrize("name", list(CASES))
def test_pareto(benchmark, name):
    tables = tables_of(name)
    benchmark.group = name
    benchmark.extra_info["configurations"] = count_configurations(tables.N, tables.M, tables.K)
    rounds = 3 if tables.N >= 100 else 20
    front = benchmark.pedantic(lambda: _core.pareto(tables), rounds=rounds, warmup_rounds=1)
    benchmark.extra_info["frontier_points"] = int(front["latency"].size)
    assert front["latency"].size > 0


@pytest.mark.parametrize("name", [n for n, (_, compare) in CASES.items() if compare])
def test_sweep_and_frontier(benchmark, name):
    tables = tables_of(name)
    benchmark.group = name
    front = _core.pareto(tables)
    n = count_configurations(tables.N, tables.M, tables.K)
    benchmark.extra_info["configurations"] = n
    lat, acc = benchmark.pedantic(lambda: sweep_frontier(tables), rounds=1 if n > 5e7 else 3)
    # The same frontier, to the bit: the comparison is between two exact answers.
    np.testing.assert_array_equal(lat, front["latency"])
    np.testing.assert_array_equal(acc, front["accuracy"])


@pytest.mark.parametrize("question", ["min_latency", "frontier"])
def test_replan_after_a_bandwidth_change(benchmark, question):
    """The scheduler's call on the paper's mobile chain (the shipped ResNet-20 profile where present):
    the phone's 4G link moves, then P_lat at 90 % again (paper's case I), or the whole frontier as Plans."""
    shipped = "resnet20-fashionmnist"
    profile = ef.Profile.preset(shipped) if shipped in ef.Profile.presets() else realistic_profile(10, 20)
    planner = Planner(profile, ef.Topology.preset("mobile"), backend="cpu")
    rng = np.random.default_rng(0)
    benchmark.group = "replan"

    def replan():
        planner.set_bandwidth(1, float(rng.uniform(5e6, 20e6)))
        return planner.min_latency(min_accuracy=0.9) if question == "min_latency" else planner.pareto()

    assert benchmark(replan)
