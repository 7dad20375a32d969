"""A plan table against re-planning at sampled bandwidths, side by side in one run (issue 13), and
against the same table built as before issue 21 (issue 21):

    PYTHONPATH=python python -m pytest bench/test_bench_plan_table.py -s --benchmark-group-by=group

The shipped ResNet-20 profile on the paper's mobile chain, the 4G link (link 1, phone - edge) anywhere in
1-100 Mbit/s. `table` builds the exact plan table once (Planner.plan_table); `table_rebuilt` builds it
with the evaluation of before issue 21 (every value looked at rebuilt the network: _plan_table_rebuild.py)
and checks that the table, its breakpoints' plans and its searches are the same; `replan` is what a
scheduler does without one: set the bandwidth and search again, at 10,000 bandwidths drawn log-uniformly.
The replan test also checks the table: at every one of the 10,000 bandwidths the table's lookup
(config_at) is the plan the re-plan found. With -s it prints the table's breakpoints and searches and the
speed-ups.
"""
from __future__ import annotations

import numpy as np
import pytest

import eepart_fast as ef

from _plan_table_rebuild import rebuilt

SAMPLES = 10_000
LOW, HIGH = 1e6, 100e6
BOUNDS = {"P_acc, latency <= 80 ms": {"max_latency": 0.08}, "P_lat, accuracy >= 0.9": {"min_accuracy": 0.9}}
_times: dict = {}


def planner():
    return ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))


def bandwidths():
    return np.exp(np.random.default_rng(13).uniform(np.log(LOW), np.log(HIGH), SAMPLES)).tolist()


def replan(p, bound):
    out = []
    for v in bandwidths():
        p.set_bandwidth(1, v)
        plan = (p.min_latency(min_accuracy=bound["min_accuracy"]) if "min_accuracy" in bound
                else p.max_accuracy(max_latency=bound["max_latency"]))
        out.append(None if plan is None else plan.config())
    return out


@pytest.mark.parametrize("name", list(BOUNDS))
def test_table(benchmark, name):
    benchmark.group = f"plan table over 1-100 Mbit/s, {name}"
    p = planner()
    table = benchmark(p.plan_table, "bandwidth", 1, LOW, HIGH, **BOUNDS[name])
    _times[(name, "table")] = benchmark.stats.stats.median
    print(f"\n{name}: {len(table.breakpoints)} breakpoints, {table.searches} searches")


@pytest.mark.parametrize("name", list(BOUNDS))
def test_table_rebuilt(benchmark, name):
    benchmark.group = f"plan table over 1-100 Mbit/s, {name}"
    p = planner()
    with rebuilt():
        before = benchmark(p.plan_table, "bandwidth", 1, LOW, HIGH, **BOUNDS[name])
    table = p.plan_table("bandwidth", 1, LOW, HIGH, **BOUNDS[name])
    assert (table.to_dict(), table.point_plans) == (before.to_dict(), before.point_plans)  # the same table
    _times[(name, "rebuilt")] = benchmark.stats.stats.median
    if (name, "table") in _times:
        print(f"\n{name}: the table built as before issue 21 takes "
              f"{_times[(name, 'rebuilt')] / _times[(name, 'table')]:.2f}x the time")


@pytest.mark.parametrize("name", list(BOUNDS))
def test_replan(benchmark, name):
    benchmark.group = f"plan table over 1-100 Mbit/s, {name}"
    configs = benchmark.pedantic(replan, args=(planner(), BOUNDS[name]), rounds=1, iterations=1)
    table = planner().plan_table("bandwidth", 1, LOW, HIGH, **BOUNDS[name])
    assert [table.config_at(v) for v in bandwidths()] == configs  # the table is exact where sampled
    _times[(name, "replan")] = benchmark.stats.stats.median
    if (name, "table") in _times:
        print(f"\n{name}: re-planning at {SAMPLES:,} bandwidths takes "
              f"{_times[(name, 'replan')] / _times[(name, 'table')]:.0f}x the table's time")
