"""Energy questions through the public API (ef.min_energy, max_energy= and objectives=3 on ef.pareto,
min_latency, max_accuracy and the Planner): against every configuration of the NumPy reference with the same
energy tables, across re-plans (the energy tables of a changed network are filled anew), on bare CostTables,
and the errors."""
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast.engine import reference
from eepart_fast.engine.frontier import frontier3_indices, frontier_indices
from eepart_fast.model.energy import energy_tables

from _instances import instances, random_profile, random_topology
from test_energy_model import with_random_energy

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def config_key(plan):
    return plan.threshold_index, plan.partitions, plan.placement


def row_key(every, i):
    L = int(every["num_partitions"][i])
    return (int(every["threshold_index"][i]), tuple(every["partitions"][i][:L].tolist()),
            tuple(every["placement"][i][:L].tolist()))


def assert_plan_is_row(plan, every, i):
    assert (plan.latency, plan.accuracy, plan.energy) == (every["latency"][i], every["accuracy"][i],
                                                          every["energy"][i])


def energy_instance(seed):
    rng = np.random.default_rng(seed)
    profile = random_profile(rng, int(rng.integers(2, 8)), int(rng.integers(1, 3)))
    topo, tiers = with_random_energy(rng, random_topology(rng, int(rng.integers(2, 4))), 0)
    return profile, topo, tiers, rng


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_planner_questions_against_every_configuration(seed, data):
    profile, topo, tiers, _ = energy_instance(seed)
    planner = ef.Planner(profile, topo, energy_tiers=tiers)
    tables, energy = ef.cost_tables(profile, topo), energy_tables(profile, topo, energy_tiers=tiers)
    every = reference.every_configuration_energy(tables, energy)
    q = lambda key: float(np.quantile(every[key], data.draw(st.floats(0, 1))))
    min_acc, max_lat, cap = q("accuracy"), q("latency"), q("energy")

    keep = np.flatnonzero((every["accuracy"] >= min_acc) & (every["latency"] <= max_lat))
    want = keep[frontier_indices(every["energy"][keep], every["accuracy"][keep])[:1]]
    got = planner.min_energy(min_accuracy=min_acc, max_latency=max_lat)
    assert (got is None) == (want.size == 0)
    if got is not None:
        assert_plan_is_row(got, every, want[0])
        assert config_key(got) == row_key(every, want[0])

    within = np.flatnonzero((every["energy"] <= cap) & (every["accuracy"] >= min_acc))
    front = within[frontier_indices(every["latency"][within], every["accuracy"][within])]
    got = planner.min_latency(min_accuracy=min_acc, max_energy=cap)
    assert (got is None) == (front.size == 0)
    if got is not None:
        assert_plan_is_row(got, every, front[0])
    within = np.flatnonzero((every["energy"] <= cap) & (every["latency"] <= max_lat))
    front = within[frontier_indices(every["latency"][within], every["accuracy"][within])]
    got = planner.max_accuracy(max_latency=max_lat, max_energy=cap)
    assert (got is None) == (front.size == 0)
    if got is not None:
        assert_plan_is_row(got, every, front[-1])

    want = frontier3_indices(every["latency"], every["accuracy"], every["energy"])
    got = planner.pareto(objectives=3)
    assert [config_key(p) for p in got] == [row_key(every, i) for i in want]
    for p, i in zip(got, want):
        assert_plan_is_row(p, every, i)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), factor=st.floats(0.01, 1000))
def test_a_replan_fills_the_changed_networks_energy(seed, factor):
    """After set_bandwidth (energy: a radio's power times the transfer time, the idle wait) the answers are
    a fresh Planner's on the changed topology."""
    profile, topo, tiers, _ = energy_instance(seed)
    planner = ef.Planner(profile, topo, energy_tiers=tiers)
    before = planner.min_energy()
    link = 0 if topo.links is not None or topo.graph is not None else (0, 1)
    planner.set_bandwidth(link, 1e6 * factor)
    fresh = ef.Planner(profile, planner.topology, energy_tiers=tiers)
    for question in (lambda p: [p.min_energy()], lambda p: p.pareto(objectives=3)):
        a, b = question(planner), question(fresh)
        assert [(x.latency, x.accuracy, x.energy, config_key(x)) for x in a] == \
               [(x.latency, x.accuracy, x.energy, config_key(x)) for x in b]
    assert before is not None


def test_module_functions_and_bare_cost_tables():
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables, energy = ef.cost_tables(profile, topo), energy_tables(profile, topo, energy_tiers="all")
    every = reference.every_configuration_energy(tables, energy)
    keep = np.flatnonzero(every["accuracy"] >= 0.9)
    want = keep[frontier_indices(every["energy"][keep], every["accuracy"][keep])[0]]
    for plan in (ef.min_energy(profile, topo, min_accuracy=0.9, energy_tiers="all"),
                 ef.min_energy(tables, min_accuracy=0.9, energy=energy),
                 ef.min_energy(profile, topo, min_accuracy=0.9, energy=energy),
                 ef.Planner.from_tables(tables, energy=energy).min_energy(min_accuracy=0.9),
                 ef.min_energy(tables, min_accuracy=0.9, energy=energy, backend="numpy")):
        assert_plan_is_row(plan, every, want)
    cap = float(np.quantile(every["energy"], 0.3))
    front = ef.pareto(profile, topo, max_energy=cap, energy_tiers="all")
    within = np.flatnonzero(every["energy"] <= cap)
    idx = within[frontier_indices(every["latency"][within], every["accuracy"][within])]
    assert len(front) == idx.size
    for p, i in zip(front, idx):
        assert_plan_is_row(p, every, i)
    front3 = ef.pareto(tables, objectives=3, energy=energy)
    assert len(front3) == frontier3_indices(every["latency"], every["accuracy"], every["energy"]).size
    plan = ef.max_accuracy(profile, topo, max_latency=0.2, max_energy=cap, energy_tiers="all")
    d = json.loads(json.dumps(plan.to_dict()))
    assert d["energy"] == plan.energy <= cap and "energy=" in repr(plan) and " mJ" in str(plan)
    assert ef.min_latency(profile, topo, min_accuracy=0.9).energy is None  # no energy asked: none given


def test_energy_questions_refused_clearly():
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    with pytest.raises(ValueError, match="no energy model: give energy_tiers="):
        ef.Planner(profile, topo).min_energy()
    with pytest.raises(ValueError, match="without energy tables: give energy="):
        ef.Planner.from_tables(ef.cost_tables(profile, topo)).pareto(objectives=3)
    planner = ef.Planner(profile, topo, energy_tiers="source")
    with pytest.raises(ValueError, match="take the mean latency only"):
        planner.min_latency(min_accuracy=0.9, max_energy=1.0, quantile=0.99)
    with pytest.raises(ValueError, match="objectives = 4: must be 2"):
        planner.pareto(objectives=4)
    with pytest.raises(ValueError, match="max_energy"):
        planner.pareto(max_energy=math.nan)
    with pytest.raises(TypeError, match="energy and energy_tiers: give one"):
        ef.min_energy(profile, topo, energy=energy_tables(profile, topo), energy_tiers="source")
    with pytest.raises(ValueError, match="forward_energy"):
        bad = energy_tables(profile, topo)
        bad.forward_energy[0, 0, 1] = -1.0
        ef.min_energy(profile, topo, energy=bad)


@SETTINGS
@given(inst=instances(max_N=6, max_M=3, max_K=2))
def test_zero_energy_model_gives_plain_answers(inst):
    """A topology without energy inputs has zero energy tables: min_energy is then the most accurate of the
    zero-energy plans (all of them), the 2-D answers unchanged by any max_energy >= 0."""
    profile, topo, src, dst = inst
    planner = ef.Planner(profile, topo, source=src, destination=dst, energy_tiers="all")
    best = planner.max_accuracy(max_latency=math.inf)
    assert planner.min_energy().accuracy == best.accuracy
    assert planner.min_energy().energy == 0.0
    assert [p.config() for p in planner.pareto(max_energy=0.0)] == [p.config() for p in planner.pareto()]
