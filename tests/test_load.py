"""Plans under load (docs/model.md "Load"): the worked example by hand, the search on the loaded tables
against brute force over every configuration priced from the servers' loads, and capacity against the
closed form and against every plan's own capacity."""
from __future__ import annotations

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.load import INFEASIBLE, Load, LoadModel, load_tables, wait
from eepart_fast.planning.load import (
    configurations,
    load_max_accuracy,
    load_min_latency,
    load_pareto,
    max_rate,
    plan_max_rate,
)

from _instances import random_profile, random_topology
from test_worked_example import spec_profile as worked_profile

ROW = (1, [1, 3], [1, 3])  # the worked example's first row: 384.5879296 ms unloaded


def worked():
    return worked_profile(), ef.Topology.preset("mobile")


def test_worked_example_by_hand():
    p, topo = worked()
    r = ef.model.evaluate_load(p, topo, ROW, load=Load(20.0), link_queues=False)
    # Phone: 25 ms for every sample at 20/s, rho 0.5: W = 20 x 0.025^2 / 2 / 0.5 = 12.5 ms.
    # Cloud: 8 ms for the 70 % that stay, 14/s, rho 0.112: W = 14 x 0.008^2 / 2 / 0.888, weighted by 0.7.
    cloud = 14 * 0.008 ** 2 / 2 / 0.888
    assert r.base == pytest.approx(0.3845879296, rel=1e-12)
    assert r.servers[("tier", 1)] == pytest.approx((1.0, 0.5, 0.0125), rel=1e-12)
    assert r.servers[("tier", 3)] == pytest.approx((0.7, 0.112, cloud), rel=1e-12)
    assert r.latency == pytest.approx(0.3845879296 + 0.0125 + 0.7 * cloud, rel=1e-12)
    assert r.latency == pytest.approx(0.3974410827531532, rel=1e-12)  # docs/model.md's number
    # Two sources sharing the phone load it to 1: infeasible.
    assert ef.model.evaluate_load(p, topo, ROW, load=Load(20.0, fleet=2, private=[0]),
                                  link_queues=False).latency == np.inf
    # The source's own tier is not shared: a fleet of two does not change a plan computing there alone.
    alone = (1, [3], [0])
    assert (ef.model.evaluate_load(p, topo, alone, load=Load(0.1, fleet=2), link_queues=False).latency
            == ef.model.evaluate_load(p, topo, alone, load=Load(0.1), link_queues=False).latency)


def test_worked_example_links():
    p, topo = worked()
    r = ef.model.evaluate_load(p, topo, ROW, load=Load(2.0))
    # The watch's uplink (link 0, 500 kbit/s) sends every input: 0.196608 s a sample at 2/s.
    up = r.servers[("link", 0, 0, 1)]
    assert up == pytest.approx((1.0, 0.393216, 2 * 0.196608 ** 2 / 2 / (1 - 0.393216)), rel=1e-12)
    # Link 0 back to the watch carries both partitions' results: one server, the loads added (not per hop).
    down = r.servers[("link", 0, 1, 0)]
    assert down.visits == pytest.approx(1.0, rel=1e-12)
    assert down.utilisation == pytest.approx(2 * 320 / 500e3, rel=1e-12)


def test_wait_formula():
    assert float(wait(50.0, 0.01, 1e-4)) == pytest.approx(0.005, rel=1e-15)
    assert float(wait(100.0, 0.01, 1e-4)) == np.inf  # rho = 1
    # Background: its residual waits too, and it takes capacity.
    assert float(wait(10.0, 0.01, 1e-4, 0.5, 0.02)) == pytest.approx((10 * 1e-4 / 2 + 0.5 * 0.02) / 0.4, rel=1e-15)


def brute(profile, topology, load, source, destination, link_queues=False, min_accuracy=-np.inf,
          max_latency=np.inf):
    """The frontier of every configuration priced by LoadModel (canonical order, first row of a point)."""
    model = LoadModel(profile, topology, load=load, source=source, destination=destination, link_queues=link_queues)
    configs = list(configurations(profile.N, topology.M, profile.K))
    res = [model.evaluate(c) for c in configs]
    lat = np.array([r.latency for r in res])
    acc = np.array([r.accuracy for r in res])
    keep = np.flatnonzero(np.isfinite(lat) & (lat <= max_latency) & (acc >= min_accuracy))
    idx = keep[frontier_indices(lat[keep], acc[keep])]
    return lat[idx], acc[idx], [configs[i] for i in idx], (lat, acc, configs)


def assert_same_frontier(rows, expected):
    lat, acc, _, _ = expected
    assert len(rows["latency"]) == len(lat)
    np.testing.assert_allclose(rows["latency"], lat, rtol=1e-12, atol=0)
    np.testing.assert_allclose(rows["accuracy"], acc, rtol=1e-12, atol=0)


def random_load(rng, tables, M):
    """A rate that overloads some partitions and not others, and every optional input drawn."""
    busy = tables.compute_cost[tables.compute_cost > 0]
    rate = float(rng.uniform(0.05, 1.5) / busy.mean()) if busy.size else 1.0
    return Load(rate, fleet=int(rng.integers(1, 4)), background=rng.uniform(0, 0.5, M),
                background_residual=rng.uniform(0, 1e-3, M), service_cv2=rng.uniform(0, 2, M))


@pytest.mark.parametrize("seed", range(30))
def test_search_equals_brute_force_random(seed):
    rng = np.random.default_rng(seed)
    N, M, K = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    p, topo = random_profile(rng, N, K), random_topology(rng, M)
    s, d = int(rng.integers(0, M)), int(rng.integers(0, M))
    load = random_load(rng, ef.cost_tables(p, topo, source=s, destination=d), M)
    expected = brute(p, topo, load, s, d)
    assert_same_frontier(load_pareto(p, topo, load=load, source=s, destination=d), expected)
    _, _, _, (every_lat, every_acc, _) = expected
    # P_lat and P_acc at bounds drawn from the configurations' own values.
    feasible = np.isfinite(every_lat)
    if feasible.any():
        eps = float(rng.choice(every_acc[feasible]))
        best = load_min_latency(p, topo, load=load, source=s, destination=d, min_accuracy=eps)
        assert best.latency == pytest.approx(every_lat[feasible & (every_acc >= eps)].min(), rel=1e-12)
        bound = float(rng.choice(every_lat[feasible]))
        top = load_max_accuracy(p, topo, load=load, source=s, destination=d, max_latency=bound)
        assert top.accuracy == pytest.approx(every_acc[feasible & (every_lat <= bound)].max(), rel=1e-12)
        # The plan returned is priced as the brute force prices it.
        again = ef.model.evaluate_load(p, topo, (top.threshold_index, top.partitions, top.placement), load=load,
                                       source=s, destination=d, link_queues=False)
        assert again.latency == pytest.approx(top.latency, rel=1e-12)


@pytest.mark.parametrize("seed", range(30))
def test_link_queues_search_equals_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    N, M, K = int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 3))
    p, topo = random_profile(rng, N, K), random_topology(rng, M)
    s, d = int(rng.integers(0, M)), int(rng.integers(0, M))
    load = random_load(rng, ef.cost_tables(p, topo, source=s, destination=d), M)
    expected = brute(p, topo, load, s, d, link_queues=True)
    assert_same_frontier(load_pareto(p, topo, load=load, source=s, destination=d, link_queues=True), expected)


def fewer_thresholds(profile, keep):
    d = profile.to_dict()
    d["thresholds"] = [d["thresholds"][i] for i in keep]
    d["exit_rate"] = [d["exit_rate"][i] for i in keep]
    return ef.Profile.from_dict(d)


@pytest.mark.parametrize("name", ["resnet20-fashionmnist", "mobilenetv2-fashionmnist"])
def test_search_equals_brute_force_shipped(name):
    p = fewer_thresholds(ef.Profile.preset(name), [0, 9, 19])
    topo = ef.Topology.preset("mobile")
    # 40/s per source, four sources sharing phone, edge and cloud, the edge a third busy with others.
    load = Load(40.0, fleet=4, background=[0, 0, 0.3, 0], background_residual=[0, 0, 0.002, 0])
    expected = brute(p, topo, load, 0, 0)
    rows = load_pareto(p, topo, load=load)
    assert_same_frontier(rows, expected)
    # Under load the frontier moves: it is not the unloaded one.
    assert len(rows["latency"]) != len(ef.pareto(p, topo)) or rows["latency"][0] > ef.pareto(p, topo)[0].latency


@pytest.mark.parametrize("name", ["resnet20-fashionmnist", "mobilenetv2-fashionmnist"])
def test_link_queues_search_equals_brute_force_shipped(name):
    p = fewer_thresholds(ef.Profile.preset(name), [0, 9, 19])
    topo = ef.Topology.preset("mobile")
    # The watch's own uplink (private) carries every input: at 2/s it is loaded to about 0.2.
    load = Load(2.0, fleet=4, background=[0, 0, 0.3, 0])
    expected = brute(p, topo, load, 0, 0, link_queues=True)
    rows = load_pareto(p, topo, load=load, link_queues=True)
    assert_same_frontier(rows, expected)
    assert not np.allclose(expected[0][:3], brute(p, topo, load, 0, 0)[0][:3])  # links change the answer


def test_overloaded_entries_are_marked():
    p, topo = worked()
    tables = ef.cost_tables(p, topo)
    per_t = load_tables(tables, load=Load(50.0))  # the phone's 25 ms partition at 50/s: rho 1.25
    assert per_t[1].compute_cost[1, 0, 1] * 1.0 >= INFEASIBLE
    # Entries no sample enters keep their cost; the loaded entries of feasible partitions are cost + wait.
    lam = 50.0 * (1 - tables.cum_exit[1, 1])
    c = tables.compute_cost[3, 1, 3]
    assert per_t[1].compute_cost[3, 1, 3] == pytest.approx(c + lam * c * c / 2 / (1 - lam * c), rel=1e-15)


def test_load_inputs_refused_by_name():
    with pytest.raises(ValueError, match="rate"):
        Load(-1.0)
    with pytest.raises(ValueError, match="fleet"):
        Load(1.0, fleet=0)
    with pytest.raises(ValueError, match=r"background\[2\] = 1.0"):
        Load(1.0, background=[0, 0, 1.0, 0]).per_tier(4)
    with pytest.raises(ValueError, match="private"):
        Load(1.0, private=[7]).arrival(4)
    tables = ef.cost_tables(*worked())
    with pytest.raises(ValueError, match="background: expected shape"):
        load_tables(tables, load=Load(1.0, background=[0.1, 0.2]))


def test_plan_max_rate_closed_form():
    p, topo = worked()
    # Compute waits only: 0.0003125 x / (1 - 0.025 x) + 1.568e-5 x / (1 - 0.0056 x) = 0.4 - 0.3845879296,
    # cross-multiplied a quadratic; its root below the phone's capacity (40/s) is the plan's capacity.
    b = 0.4 - 0.3845879296
    poly = (np.polymul([-0.0003125 * 0.0056, 0.0003125, 0], [1]) + np.polymul([-1.568e-5 * 0.025, 1.568e-5, 0], [1])
            - b * np.polymul([-0.025, 1], [-0.0056, 1]))
    root = min(r.real for r in np.roots(poly) if abs(r.imag) < 1e-12 and 0 < r.real < 40)
    cap = plan_max_rate(p, topo, ROW, load=Load(0.0), max_latency=0.4, rtol=1e-12)
    assert cap.rate <= root <= cap.upper and cap.upper - cap.rate <= 1e-12 * cap.upper
    assert root == pytest.approx(21.8327469319, rel=1e-10)  # docs/model.md's number
    assert cap.point.latency <= 0.4
    assert plan_max_rate(p, topo, ROW, load=Load(0.0), max_latency=0.38) is None  # too slow even unloaded


@pytest.mark.parametrize("seed", range(6))
def test_max_rate_is_the_best_plans_capacity(seed):
    """Over plans, the capacity is the largest of every configuration's own: feasibility is monotone."""
    rng = np.random.default_rng(200 + seed)
    N, M, K = int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(1, 3))
    p, topo = random_profile(rng, N, K), random_topology(rng, M)
    load = Load(0.0, fleet=int(rng.integers(1, 4)), background=rng.uniform(0, 0.5, M))
    _, _, _, (lat0, acc0, configs) = brute(p, topo, load, 0, 0)
    eps = float(np.quantile(acc0, 0.5))
    bound = float(np.quantile(lat0[acc0 >= eps], 0.5)) * 1.5
    best = 0.0
    for c, a, lt in zip(configs, acc0, lat0):
        if a >= eps and lt <= bound:
            best = max(best, plan_max_rate(p, topo, c, load=load, max_latency=bound, rtol=1e-12).rate)
    cap = max_rate(p, topo, load=load, min_accuracy=eps, max_latency=bound, rtol=1e-9)
    assert cap.rate <= best * (1 + 1e-9) and best <= cap.upper * (1 + 1e-9)
    assert cap.point.accuracy >= eps and cap.point.latency <= bound
    mine = plan_max_rate(p, topo, (cap.point.threshold_index, cap.point.partitions, cap.point.placement),
                         load=load, max_latency=bound, rtol=1e-12)
    assert mine.rate >= cap.rate * (1 - 1e-12)


def test_worked_example_best_plan_moves_with_the_rate():
    """docs/model.md "Load": the plan optimal for one sample is not the one under load."""
    p, topo = worked()
    at = {rate: load_min_latency(p, topo, load=Load(rate), min_accuracy=0.8) for rate in (0.0, 20.0, 35.0)}
    assert (at[0.0].partitions, at[0.0].placement, round(at[0.0].latency * 1e3, 1)) == ([3], [1], 309.2)
    assert (at[20.0].partitions, at[20.0].placement, round(at[20.0].latency * 1e3, 1)) == ([3], [2], 336.6)
    assert (at[35.0].threshold_index, at[35.0].partitions, at[35.0].placement) == (1, [2, 3], [2, 3])
    assert round(at[35.0].latency * 1e3, 1) == 372.0
    # The idle optimum loads the phone to 2 at 20/s: infeasible.
    assert ef.model.evaluate_load(p, topo, (0, [3], [1]), load=Load(20.0), link_queues=False).latency == np.inf
    with_links = plan_max_rate(p, topo, ROW, load=Load(0.0), max_latency=0.4, link_queues=True)
    assert round(with_links.rate, 3) == 0.676


def test_the_runtime_experiments_estimate_and_measurement():
    """experiments/runtime_vs_model.py's open loop (plan 1, one FIFO per link direction, as the load model):
    the load model gives its stored per-server estimate, and is within 4 % of the measured mean up to 0.8 of
    the edge's capacity (docs/model.md "Load")."""
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "experiments" / "results" / "runtime"
    d = json.loads((folder / "results.json").read_text())
    topo = ef.Topology.chain(*(d["topology"][k] for k in ("names", "ratio", "bandwidth", "latency")))
    profile = ef.Profile.load(folder / "profile-ort-mean.json")
    plan = d["plans"][1]
    t = int(np.argmin(abs(profile.thresholds - plan["threshold"])))
    model = LoadModel(profile, topo, load=Load(0.0))
    config = (t, plan["partitions"], [topo.names.index(x) for x in plan["tiers"]])
    assert model.evaluate(config).latency == pytest.approx(plan["predicted"], rel=1e-12)
    for run in d["open_loop"]["runs"]:
        got = model.evaluate(config, rate=run["rate"]).latency
        assert got == pytest.approx(run["pollaczek_khinchine"], rel=1e-9)
        if run["utilisation"] <= 0.8:
            assert got == pytest.approx(run["mean"], rel=0.04)
