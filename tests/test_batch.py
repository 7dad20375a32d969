"""plan_many and _core.pareto_many: every scenario's answer is exactly a Planner's given the same changes
(same tables, same engine: latencies equal bit for bit), on random chains and route matrices and the shipped
presets, with bounds that some scenarios cannot meet; the numpy reference agrees; bad scenarios are named;
threads; Ctrl-C and time limits stop a long batch."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.planning import batch as batch_module

from _instances import random_profile, random_topology


def _config(plan):
    return None if plan is None else (plan.latency, plan.accuracy, plan.config())


def _random_case(seed: int, S: int = 12):
    rng = np.random.default_rng(seed)
    N, M, K = int(rng.integers(2, 7)), int(rng.integers(2, 5)), int(rng.integers(1, 4))
    profile, topology = random_profile(rng, N, K), random_topology(rng, M)
    link = 0 if topology.links is not None else (0, 1)
    scenarios = []
    for _ in range(S):
        sc = {"bandwidth": {link: float(10 ** rng.uniform(4, 9))},
              "min_accuracy": float(rng.uniform(0.0, 1.1)),  # above the best accuracy sometimes: no plan
              "source": int(rng.integers(0, M)), "destination": int(rng.integers(0, M))}
        if rng.random() < 0.5:
            sc["latency"] = {link: float(rng.uniform(0, 0.05))}
        if rng.random() < 0.5:
            sc["ratio"] = {M - 1: float(rng.uniform(0.5, 50))}
        scenarios.append(sc)
    scenarios.append(dict(scenarios[0]))  # a duplicate: searched once, answered twice
    return profile, topology, scenarios


def _planner_answer(profile, topology, sc, problem, quantile=None):
    planner = ef.Planner(profile, topology, source=sc.get("source", 0), destination=sc.get("destination", 0),
                         backend="cpu")
    for link, v in sc.get("bandwidth", {}).items():
        planner.set_bandwidth(link, v)
    for link, v in sc.get("latency", {}).items():
        planner.set_latency(link, v)
    for tier, v in sc.get("ratio", {}).items():
        planner.set_ratio(tier, v)
    if problem == "min_latency":
        return [planner.min_latency(min_accuracy=sc["min_accuracy"], quantile=quantile)]
    if problem == "max_accuracy":
        return [planner.max_accuracy(max_latency=sc["max_latency"], quantile=quantile)]
    return planner.pareto(quantile=quantile)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("problem", ["min_latency", "max_accuracy", "frontier"])
def test_random_instances_match_a_planner_per_scenario(seed, problem):
    profile, topology, scenarios = _random_case(seed)
    if problem != "min_latency":
        for i, sc in enumerate(scenarios):
            del sc["min_accuracy"]
            if problem == "max_accuracy":
                sc["max_latency"] = [1e-6, 0.05, 1.0, math.inf][i % 4]  # the first: no plan
    batch = ef.plan_many(profile, topology, scenarios, problem=problem, backend="cpu", threads=2)
    assert len(batch) == len(scenarios)
    for i, sc in enumerate(scenarios):
        want = [p for p in _planner_answer(profile, topology, sc, problem) if p is not None]
        assert [_config(p) for p in batch.plans(i)] == [_config(p) for p in want], (seed, i)
        assert batch.counts[i] == len(want)
        assert batch.topology(i).to_dict() == _planner_topology(topology, sc)
    rows = batch.columns["scenario"]
    assert np.array_equal(rows, np.repeat(np.arange(len(scenarios)), batch.counts))


def _planner_topology(topology, sc):
    t = topology
    for link, v in sc.get("bandwidth", {}).items():
        t = t.with_link(link, bandwidth=v)
    for link, v in sc.get("latency", {}).items():
        t = t.with_link(link, latency=v)
    for tier, v in sc.get("ratio", {}).items():
        t = t.with_ratio(tier, v)
    return t.to_dict()


@pytest.mark.parametrize("seed", range(6))
def test_link_changes_on_a_chain_stacked_match_a_planner_per_scenario(seed):
    """Scenarios that change only links of a chain have their move tables filled stacked (no Topology per
    network): on both route rules (with and without mtu_bits), with serialisation terms, several links,
    latencies, sources and destinations, each answer is a Planner's to the bit, and so is each network's
    move tables."""
    rng = np.random.default_rng(100 + seed)
    N, M, K = int(rng.integers(2, 7)), int(rng.integers(2, 6)), int(rng.integers(1, 4))
    profile = random_profile(rng, N, K)
    rule = ["store_and_forward", "bottleneck", "bottleneck"][seed % 3]
    extras = {"mtu_bits": 12000.0} if seed % 3 == 2 else {}
    if seed % 2:
        extras["serialize"] = rng.uniform(0, 1e-8, M).tolist()
    topology = ef.Topology.chain([f"t{j}" for j in range(M)], rng.uniform(0.5, 100.0, M),
                                 rng.uniform(1e5, 1e9, M - 1), rng.uniform(0, 0.05, M - 1), route_rule=rule,
                                 **extras)
    S = 40
    # Few values per link, so that bandwidths tie across links (the bottleneck's first slowest link).
    values = [1e5, 3e5, 1e6, 1e6, 2e7, 1e9]
    cols = {"bandwidth": {j: rng.choice(values, S) for j in range(M - 1)},
            "latency": {0: [None if r < 0.5 else v for r, v in zip(rng.random(S), rng.uniform(0, 0.05, S))]},
            "source": rng.integers(0, M, S), "destination": rng.integers(0, M, S),
            "min_accuracy": rng.uniform(0.0, 1.0, S)}
    batch = ef.plan_many(profile, topology, cols, backend="cpu", threads=2)
    assert batch_module._Batch(profile, topology, cols, source=0, destination=0,
                               problem="min_latency")._links is not None  # the stacked fill ran
    for i in range(S):
        sc = {"bandwidth": {j: cols["bandwidth"][j][i] for j in range(M - 1)},
              "source": int(cols["source"][i]), "destination": int(cols["destination"][i]),
              "min_accuracy": cols["min_accuracy"][i]}
        if cols["latency"][0][i] is not None:
            sc["latency"] = {0: cols["latency"][0][i]}
        assert _config(batch.plan(i)) == _config(_planner_answer(profile, topology, sc, "min_latency")[0]), i


def test_stacked_move_tables_equal_the_planners_bits():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    rng = np.random.default_rng(5)
    S = 30
    cols = {"bandwidth": {j: 10 ** rng.uniform(4, 10, S) for j in range(3)},
            "latency": {1: rng.uniform(0, 0.1, S)}, "min_accuracy": np.full(S, 0.9)}
    b = batch_module._Batch(profile, topology, cols, source=0, destination=0, problem="min_latency")
    stacked = b.engine_tables_many(list(range(len(b.sc.keys))))
    planner = ef.Planner(profile, topology, backend="cpu")
    for u, k in enumerate(b.sc.keys.tolist()):
        for j in range(3):
            planner.set_bandwidth(j, k[j])
        planner.set_latency(1, k[3])
        for name in ("input_cost", "forward_cost", "result_cost"):
            got, want = getattr(stacked[u], name), np.asarray(getattr(planner.tables, name))
            if name == "forward_cost":  # the engine's copy zeroes the entries no configuration reads
                want = _core.Tables(*planner.tables).forward_cost
            assert np.array_equal(got.view(np.int64), want.view(np.int64)), (u, name)


def test_stacked_networks_a_planner_refuses_fail_as_it_does():
    """A network whose move costs overflow the rule is left to the one-at-a-time path: the Planner's error,
    naming the place; a latency of -0.0 (which with_link keeps as given) gives the Planner's answer."""
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    cols = {"bandwidth": {0: [1e6, 1e6, 1e-300]}, "latency": {2: [-0.0, 0.01, 0.01]}, "min_accuracy": [0.9] * 3}
    planner = ef.Planner(profile, topology)
    planner.set_bandwidth(0, 1e-300)
    with pytest.raises(ValueError) as want:
        planner.min_latency(min_accuracy=0.9)
    with pytest.raises(ValueError) as got:
        ef.plan_many(profile, topology, cols, backend="cpu")
    assert str(got.value) == str(want.value) and "costs must be finite" in str(got.value)
    batch = ef.plan_many(profile, topology, {k: {j: v[:2] for j, v in c.items()} if isinstance(c, dict) else c[:2]
                                             for k, c in cols.items()}, backend="cpu")
    planner = ef.Planner(profile, topology)
    planner.set_bandwidth(0, 1e6)
    planner.set_latency(2, -0.0)
    assert _config(batch.plan(0)) == _config(planner.min_latency(min_accuracy=0.9))


def test_some_scenarios_have_no_plan():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    batch = ef.plan_many(profile, topology, {"min_accuracy": [0.9, 0.99, 0.5], "bandwidth": {0: [1e6, 1e6, 1e8]}})
    assert batch.counts.tolist() == [1, 0, 1]
    assert batch.found.tolist() == [True, False, True]
    assert batch.plan(1) is None and batch.plans(1) == []
    assert batch.columns["scenario"].tolist() == [0, 2]


@pytest.mark.parametrize("model", ["resnet20-fashionmnist", "mobilenetv2-fashionmnist"])
@pytest.mark.parametrize("preset", ["mobile", "iot"])
def test_shipped_presets_columns_match_planner(model, preset):
    profile, topology = ef.Profile.preset(model), ef.Topology.preset(preset)
    rng = np.random.default_rng(3)
    S = 40
    links = range(topology.M - 1) if topology.links is not None else [0]
    cols = {"bandwidth": {j: 10 ** rng.uniform(5, 9, S) for j in links},
            "min_accuracy": rng.uniform(0.85, 0.95, S)}
    batch = ef.plan_many(profile, topology, cols, threads=2)
    planner = ef.Planner(profile, topology, backend="cpu")
    for i in range(S):
        for j in links:
            planner.set_bandwidth(j, cols["bandwidth"][j][i])
        want = planner.min_latency(min_accuracy=cols["min_accuracy"][i])
        assert _config(batch.plan(i)) == _config(want), i


@pytest.mark.parametrize("problem", ["min_latency", "frontier"])
def test_numpy_reference_agrees(problem):
    profile, topology, scenarios = _random_case(11, S=6)
    if problem == "frontier":
        for sc in scenarios:
            sc["max_latency"] = 0.5
    cpu = ef.plan_many(profile, topology, scenarios, problem=problem, backend="cpu")
    ref = ef.plan_many(profile, topology, scenarios, problem=problem, backend="numpy")
    assert np.array_equal(cpu.counts, ref.counts)
    for k in ("scenario", "threshold_index", "num_partitions", "partitions", "placement"):
        assert np.array_equal(cpu.columns[k], ref.columns[k]), k
    np.testing.assert_allclose(cpu.columns["latency"], ref.columns["latency"], rtol=1e-12)
    np.testing.assert_allclose(cpu.columns["accuracy"], ref.columns["accuracy"], rtol=1e-12)


def test_quantile_matches_the_single_search():
    profile, topology, scenarios = _random_case(5, S=5)
    batch = ef.plan_many(profile, topology, scenarios, quantile=0.9, backend="cpu")
    for i, sc in enumerate(scenarios):
        want = _planner_answer(profile, topology, sc, "min_latency", quantile=0.9)[0]
        assert _config(batch.plan(i)) == _config(want)
        assert batch.plan(i) is None or batch.plan(i).quantile == 0.9


def test_list_and_columns_forms_agree():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    bw = [1e5, 3e6, 2e7]
    as_list = ef.plan_many(profile, topology, [{"bandwidth": {("smartwatch", "smartphone"): b}, "min_accuracy": 0.9}
                                               for b in bw])
    as_cols = ef.plan_many(profile, topology, {"bandwidth": {0: np.array(bw)}, "min_accuracy": np.full(3, 0.9)})
    for k, v in as_cols.columns.items():
        assert np.array_equal(v, as_list.columns[k]), k


def test_core_batch_equals_single_pareto_calls():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    tables = [_core.Tables(*ef.Planner(profile, topology.with_link(0, bandwidth=b)).tables) for b in (1e5, 1e7)]
    index = np.array([0, 1, 1, 0, 1])
    lo = np.array([-np.inf, 0.9, 0.9, 0.95, 0.99])
    hi = np.array([np.inf, np.inf, 0.3, 0.2, np.inf])
    for answer in ("frontier", "min_latency", "max_accuracy"):
        got = _core.pareto_many(tables, index, lo, hi, answer=answer, threads=2)
        for s in range(5):
            want = _core.pareto(tables[index[s]], min_accuracy=lo[s], max_latency=hi[s])
            n = want["latency"].shape[0]
            keep = slice(None) if answer == "frontier" or n == 0 else (slice(0, 1) if answer == "min_latency"
                                                                          else slice(n - 1, n))
            rows = got["scenario"] == s
            assert got["counts"][s] == rows.sum()
            for k in ("latency", "accuracy", "threshold_index", "partitions", "placement"):
                assert np.array_equal(got[k][rows], want[k][keep]), (answer, s, k)


def test_core_batch_refuses_bad_arguments():
    tables = [_core.Tables(*ef.Planner(ef.Profile.preset("resnet20-fashionmnist"),
                                       ef.Topology.preset("mobile")).tables)]
    one, inf = np.zeros(1, np.int64), np.array([np.inf])
    with pytest.raises(ValueError, match=r"table_index\[0\] = 3"):
        _core.pareto_many(tables, np.array([3]), inf, inf)
    with pytest.raises(ValueError, match=r"min_accuracy\[0\] = nan"):
        _core.pareto_many(tables, one, np.array([np.nan]), inf)
    with pytest.raises(ValueError, match="answer = 'best'"):
        _core.pareto_many(tables, one, -inf, inf, answer="best")
    with pytest.raises(ValueError, match="max_memory"):
        _core.pareto_many(tables, one, -inf, inf, max_memory=100)


@pytest.mark.parametrize("scenarios,error,match", [
    ([{"bandwidth": {7: 1e6}}], ValueError, r"bandwidth\[7\].*link index out of range"),
    ([{"min_accuracy": 0.9}, {"min_accuracy": 0.9, "bandwidth": {0: -5.0}}], ValueError,
     r"scenarios\[1\]\.bandwidth\[0\] = -5\.0"),
    ({"min_accuracy": [0.9, np.nan]}, ValueError, r"scenarios\[1\]\.min_accuracy = nan"),
    ([{"min_accuracy": 0.9}, {"min_accuracy": float("nan")}], ValueError, r"scenarios\[1\]\.min_accuracy = nan"),
    ([{"min_accuracy": 0.9, "latency": {1: math.inf}}], ValueError, r"scenarios\[0\]\.latency\[1\] = inf"),
    ([{"min_accuracy": 0.9, "source": "mars"}], ValueError, r"scenarios\[0\]\.source = 'mars'"),
    ([{"min_accuracy": 0.9, "speed": 3}], ValueError, r"scenarios\[0\]: unknown field 'speed'"),
    ([{"min_accuracy": 0.9}, {}], ValueError, r"scenarios\[1\]: min_accuracy missing"),
    ([{"min_accuracy": 0.9, "bandwidth": {0: "fast"}}], TypeError, r"scenarios\[0\]\.bandwidth\[0\] = 'fast'"),
    ({"min_accuracy": [0.9, 0.9], "bandwidth": {0: [1e6]}}, ValueError, "different lengths"),
    ({"min_accuracy": [0.9], "bandwidth": {0: [1e6], (0, 1): [1e6]}}, ValueError, "name the same link"),
])
def test_bad_scenarios_are_named(scenarios, error, match):
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    with pytest.raises(error, match=match):
        ef.plan_many(profile, topology, scenarios)


def test_too_many_scenarios_refused_first(monkeypatch):
    monkeypatch.setattr(batch_module, "MAX_SCENARIOS", 3)
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    with pytest.raises(ValueError, match="4 scenarios, more than MAX_SCENARIOS = 3"):
        ef.plan_many(profile, topology, {"min_accuracy": np.full(4, np.nan)})  # refused before the nan is read


def test_bad_keywords():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    with pytest.raises(ValueError, match="problem = 'fastest'"):
        ef.plan_many(profile, topology, [], problem="fastest")
    with pytest.raises(ValueError, match="quantile"):
        ef.plan_many(profile, topology, [], quantile=2.0)
    assert len(ef.plan_many(profile, topology, [])) == 0


def test_threads_share_the_models():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    rng = np.random.default_rng(8)
    cols = [{"bandwidth": {j: 10 ** rng.uniform(5, 9, 300) for j in range(3)},
             "min_accuracy": rng.uniform(0.85, 0.93, 300)} for _ in range(2)]
    serial = [ef.plan_many(profile, topology, c, threads=1).columns for c in cols]
    got = [None, None]

    def run(k):
        got[k] = ef.plan_many(profile, topology, cols[k], threads=2).columns

    workers = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for k in range(2):
        for name, v in serial[k].items():
            assert np.array_equal(v, got[k][name]), (k, name)


LONG_BATCH = r"""
import sys, numpy as np, eepart_fast as ef
from eepart_fast import _core
tables = _core.Tables(*ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")).tables)
n = 2_000_000  # distinct bounds: every scenario searched, minutes in all
print("start", flush=True)
try:
    _core.pareto_many([tables], np.zeros(n, np.int64), np.linspace(0, 0.5, n), np.full(n, np.inf), threads=1)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


def test_ctrl_c_stops_a_long_batch():
    proc = subprocess.Popen([sys.executable, "-c", LONG_BATCH], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(1.0)  # inside the engine by now
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, _ = proc.communicate(timeout=60)  # generous: it stops within a second
    finally:
        proc.kill()
    assert "interrupted" in out and proc.returncode == 130
    assert time.monotonic() - started < 30


def test_time_limit_stops_a_long_batch():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    tables = [_core.Tables(*ef.Planner(profile, topology).tables)]
    n = 1_000_000
    with pytest.raises(TimeoutError, match="batch search: stopped at its time limit"):
        _core.pareto_many(tables, np.zeros(n, np.int64), np.linspace(0, 0.5, n), np.full(n, np.inf), threads=1,
                          time_limit=0.3)
    with pytest.raises(TimeoutError, match="plan_many|batch search"):
        ef.plan_many(profile, topology, {"min_accuracy": np.linspace(0, 0.5, 200_000)}, threads=1, time_limit=0.3)
