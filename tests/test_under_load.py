"""Planner.under(load): the Planner's questions under load on its network as it is at each call. Checked
against brute force (every configuration priced by LoadModel on the changed models) after the Planner's
network changes, with and without link queues."""
from __future__ import annotations

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.load import Load, LoadModel
from eepart_fast.planning.load import configurations, load_pareto, max_rate

from _instances import random_profile, random_topology


def every_configuration(profile, topology, load, source, destination, link_queues):
    """(latency, accuracy, configs) of every configuration under load, priced by LoadModel."""
    model = LoadModel(profile, topology, load=load, source=source, destination=destination, link_queues=link_queues)
    configs = list(configurations(profile.N, topology.M, profile.K))
    res = [model.evaluate(c) for c in configs]
    return np.array([r.latency for r in res]), np.array([r.accuracy for r in res]), configs


def changed(rng, planner, topology):
    """One change of the Planner's network (a link's bandwidth or a tier's ratio), and the topology it makes."""
    if topology.M > 1 and topology.links is not None and rng.random() < 0.6:
        j, bw = int(rng.integers(0, topology.M - 1)), float(rng.uniform(1e5, 1e9))
        planner.set_bandwidth(j, bw)
        return topology.with_link(j, bandwidth=bw)
    a, ratio = int(rng.integers(0, topology.M)), float(rng.uniform(0.5, 100.0))
    planner.set_ratio(a, ratio)
    return topology.with_ratio(a, ratio)


@pytest.mark.parametrize("link_queues", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_under_load_after_changes_equals_brute_force(seed, link_queues):
    rng = np.random.default_rng(500 + seed)
    N, M, K = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    p, topo = random_profile(rng, N, K), random_topology(rng, M)
    s, d = int(rng.integers(0, M)), int(rng.integers(0, M))
    planner = ef.Planner(p, topo, source=s, destination=d, threads=1)
    busy = ef.cost_tables(p, topo, source=s, destination=d).compute_cost
    rate = float(rng.uniform(0.05, 1.5) / busy[busy > 0].mean()) if (busy > 0).any() else 1.0
    load = Load(rate, fleet=int(rng.integers(1, 4)), background=rng.uniform(0, 0.4, M))
    view = planner.under(load, link_queues=link_queues)
    for _ in range(2):  # the view follows the Planner's changes
        topo = changed(rng, planner, topo)
        lat, acc, configs = every_configuration(p, topo, load, s, d, link_queues)
        feasible = np.flatnonzero(np.isfinite(lat))
        idx = feasible[frontier_indices(lat[feasible], acc[feasible])]
        front = view.pareto()
        assert len(front) == len(idx)
        np.testing.assert_allclose([q.latency for q in front], lat[idx], rtol=1e-12, atol=0)
        np.testing.assert_allclose([q.accuracy for q in front], acc[idx], rtol=1e-12, atol=0)
        if not feasible.size:
            assert view.min_latency(min_accuracy=-1.0) is None
            continue
        eps = float(rng.choice(acc[feasible]))
        best = view.min_latency(min_accuracy=eps)
        assert best.latency == pytest.approx(lat[feasible][acc[feasible] >= eps].min(), rel=1e-12)
        bound = float(rng.choice(lat[feasible]))
        top = view.max_accuracy(max_latency=bound)
        assert top.accuracy == pytest.approx(acc[feasible][lat[feasible] <= bound].max(), rel=1e-12)
        i = configs.index((top.threshold_index, tuple(top.partitions), tuple(top.placement)))
        assert top.latency == pytest.approx(lat[i], rel=1e-12)


def test_capacity_on_the_current_network():
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    planner = ef.Planner(p, topo, threads=1)
    view = planner.under(Load(0.0))
    planner.set_bandwidth(1, 20e6)
    fast = topo.with_link(1, bandwidth=20e6)
    cap = view.max_rate(min_accuracy=0.9, max_latency=0.12)
    assert cap == max_rate(p, fast, load=Load(0.0), min_accuracy=0.9, max_latency=0.12)
    # The plan found carries that rate within the bound, and twice the bracket's top does not fit.
    model = LoadModel(p, fast, load=Load(0.0), link_queues=False)
    config = (cap.point.threshold_index, cap.point.partitions, cap.point.placement)
    assert model.evaluate(config, rate=cap.rate).latency <= 0.12
    assert model.evaluate(config, rate=cap.upper).latency > 0.12
    plan = planner.min_latency(min_accuracy=0.9)
    one = view.plan_max_rate(plan, max_latency=2 * plan.latency)
    assert model.evaluate(plan.config(), rate=one.rate).latency <= 2 * plan.latency
    assert model.evaluate(plan.config(), rate=one.upper).latency > 2 * plan.latency


def test_under_load_refusals():
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    planner = ef.Planner(p, topo)
    with pytest.raises(TypeError, match="load: expected a eepart_fast.model.Load, got float"):
        planner.under(30.0)
    with pytest.raises(TypeError, match="link_queues: expected True or False, got 1"):
        planner.under(Load(30.0), link_queues=1)
    on_tables = ef.Planner.from_tables(ef.cost_tables(p, topo))
    # On bare tables: the compute queues work, the links' need the models.
    assert on_tables.under(Load(30.0)).min_latency(min_accuracy=0.9) == planner.under(Load(30.0)).min_latency(
        min_accuracy=0.9)
    with pytest.raises(ValueError, match="link_queues: this Planner plans on CostTables"):
        on_tables.under(Load(30.0), link_queues=True).pareto()
    with pytest.raises(ValueError, match="queues='qna': this Planner plans on CostTables"):
        on_tables.under(Load(30.0, queues="qna")).pareto()
    with pytest.raises(ValueError, match="plan_max_rate: this Planner plans on CostTables"):
        on_tables.under(Load(30.0)).plan_max_rate((0, [10], [0]), max_latency=1.0)


def test_tables_planner_takes_its_tables_source():
    """A fleet shares every tier but each source's own: on bare tables the view must know which tier that is."""
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    load = Load(20.0, fleet=4)
    tables = ef.cost_tables(p, topo, source=1)
    view = ef.Planner.from_tables(tables).under(load, source=1)
    expected = load_pareto(tables, load=load, source=1)
    assert [q.latency for q in view.pareto()] == expected["latency"].tolist()
    on_models = ef.Planner(p, topo, source=1).under(load)
    assert view.min_latency(min_accuracy=0.9) == on_models.min_latency(min_accuracy=0.9)
    with pytest.raises(ValueError, match=r"source = 1: this Planner plans on models with its own source \(0\)"):
        ef.Planner(p, topo).under(load, source=1)
    with pytest.raises(ValueError, match=r"source = 9: expected a tier index in 0\.\.3"):
        ef.Planner.from_tables(tables).under(load, source=9)


def test_under_qna_load_follows_the_planner():
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    planner = ef.Planner(p, topo)
    load = Load(30.0, queues="qna")
    view = planner.under(load)
    planner.set_bandwidth(1, 20e6)
    expected = load_pareto(p, topo.with_link(1, bandwidth=20e6), load=load, min_accuracy=0.9)
    best = view.min_latency(min_accuracy=0.9)
    assert (best.latency, best.threshold_index, best.partitions, best.placement) == (
        expected["latency"][0], expected["threshold_index"][0],
        expected["partitions"][0][:expected["num_partitions"][0]].tolist(),
        expected["placement"][0][:expected["num_partitions"][0]].tolist())


def test_plan_max_rate_takes_the_views_own_answers_and_names_a_bad_config():
    """A LoadPoint (what min_latency under load returns) and a Capacity's point go back into plan_max_rate,
    giving the capacity of that configuration; anything else that is not (t, P, A) is one TypeError."""
    planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    busy = planner.under(ef.model.Load(30.0, fleet=4))
    point = busy.min_latency(min_accuracy=0.9)
    by_point = busy.plan_max_rate(point, max_latency=0.2)
    by_tuple = busy.plan_max_rate((point.threshold_index, point.partitions, point.placement), max_latency=0.2)
    assert by_point == by_tuple and by_point.point.config() == point.config()
    assert busy.plan_max_rate(by_point.point, max_latency=0.2) == by_point
    with pytest.raises(TypeError, match=r"config: expected \(threshold index, end blocks, tiers\), a Plan or a "
                                        r"LoadPoint, got 0.5"):
        busy.plan_max_rate(0.5, max_latency=0.2)
