"""plan_many with energy (docs/model.md "Energy", "In the batch"): per-scenario max_energy, problem="min_energy"
and the energy column, on random instances with random powers and radios, against brute force over every
configuration of each scenario's network (reference.every_configuration_energy on the tables a Planner
given the same changes holds), and the numpy backend's loop against the compiled batch entry point."""
import math

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.engine import reference
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.energy import energy_tables

from _instances import random_profile, random_topology
from test_energy_model import with_random_energy
from test_energy_search import assert_reevaluates, feasible, least_energy

VALUES = ("latency", "accuracy", "energy")


def _energy_case(seed: int, S: int = 10):
    """A random profile and chain or graph topology with random energy inputs, and scenarios changing a
    link, a ratio, the tiers and the bounds (max_energy drawn near the scenario's energies)."""
    rng = np.random.default_rng(seed)
    N, M, K = int(rng.integers(2, 6)), int(rng.integers(2, 4)), int(rng.integers(1, 3))
    profile, topology = random_profile(rng, N, K), random_topology(rng, M)
    topology, tiers = with_random_energy(rng, topology, 0)
    link = 0 if topology.links is not None else (0, 1)
    scenarios = []
    for _ in range(S):
        sc = {"bandwidth": {link: float(10 ** rng.uniform(4, 9))}, "min_accuracy": float(rng.uniform(0.0, 0.9)),
              "source": int(rng.integers(0, M)), "destination": int(rng.integers(0, M)),
              "max_latency": float(rng.choice([math.inf, rng.uniform(0.01, 2)]))}
        if rng.random() < 0.4:
            sc["ratio"] = {M - 1: float(rng.uniform(0.5, 50))}
        scenarios.append(sc)
    return profile, topology, tiers, scenarios, rng


def _every(profile, topology, tiers, sc):
    """Every configuration of the scenario's network with its latency, accuracy and energy."""
    t = topology
    for link, v in sc.get("bandwidth", {}).items():
        t = t.with_link(link, bandwidth=v)
    for tier, v in sc.get("ratio", {}).items():
        t = t.with_ratio(tier, v)
    src, dst = sc.get("source", 0), sc.get("destination", 0)
    tables = ef.cost_tables(profile, t, source=src, destination=dst)
    energy = energy_tables(profile, t, source=src, destination=dst, energy_tiers=tiers)
    return tables, energy, reference.every_configuration_energy(tables, energy)


def _with_caps(profile, topology, tiers, scenarios, rng):
    """Each scenario's max_energy: a quantile of its own energies (so some bind), sometimes none (inf)."""
    for sc in scenarios:
        every = _every(profile, topology, tiers, sc)[2]
        sc["max_energy"] = float(np.quantile(every["energy"], rng.uniform(0, 1))) if rng.random() < 0.8 else math.inf


def _rows(batch, i) -> dict:
    c = batch.columns
    keep = c["scenario"] == i
    return {k: c[k][keep] for k in c}


def _assert_values(got: dict, every: dict, idx: np.ndarray):
    for key in VALUES:
        np.testing.assert_array_equal(got[key], every[key][idx], err_msg=key)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("problem", ["min_latency", "max_accuracy", "frontier"])
def test_max_energy_answers_are_brute_forces(seed, problem):
    """Each scenario's answer within its max_energy (and its other bounds) is brute force's: the frontier
    of the feasible configurations, or its first (min_latency) or last (max_accuracy) point; energy column
    bit for bit, every row re-evaluating to its values."""
    profile, topology, tiers, scenarios, rng = _energy_case(seed)
    _with_caps(profile, topology, tiers, scenarios, rng)
    batch = ef.plan_many(profile, topology, scenarios, problem=problem, backend="cpu", threads=2, energy_tiers=tiers)
    assert "energy" in batch.columns
    for i, sc in enumerate(scenarios):
        tables, energy, every = _every(profile, topology, tiers, sc)
        keep = feasible(every, sc["min_accuracy"], sc["max_latency"], sc["max_energy"])
        want = keep[frontier_indices(every["latency"][keep], every["accuracy"][keep])]
        if problem != "frontier" and want.size:
            want = want[:1] if problem == "min_latency" else want[-1:]
        got = _rows(batch, i)
        _assert_values(got, every, want)
        assert_reevaluates(tables, energy, got)
        assert [p.energy for p in batch.plans(i)] == got["energy"].tolist()


@pytest.mark.parametrize("seed", range(6))
def test_min_energy_answers_are_brute_forces(seed):
    """problem="min_energy": the first point of the (energy, accuracy) frontier of each scenario's feasible
    configurations (min_accuracy, max_latency and max_energy where given; a scenario without min_accuracy
    has none), as Planner.min_energy."""
    profile, topology, tiers, scenarios, rng = _energy_case(100 + seed)
    for i, sc in enumerate(scenarios):
        if i % 3 == 0:
            del sc["min_accuracy"]
    batch = ef.plan_many(profile, topology, scenarios, problem="min_energy", backend="cpu", energy_tiers=tiers)
    for i, sc in enumerate(scenarios):
        tables, energy, every = _every(profile, topology, tiers, sc)
        want = least_energy(every, min_accuracy=sc.get("min_accuracy", -np.inf), max_latency=sc["max_latency"])
        got = _rows(batch, i)
        _assert_values(got, every, want)
        assert_reevaluates(tables, energy, got)
        assert batch.counts[i] == want.size


@pytest.mark.parametrize("problem", ["min_latency", "frontier", "min_energy"])
def test_numpy_loop_agrees_with_the_batch_entry_point(problem):
    profile, topology, tiers, scenarios, rng = _energy_case(7, S=6)
    _with_caps(profile, topology, tiers, scenarios, rng)
    if problem == "min_energy":
        for sc in scenarios:
            del sc["max_energy"]
    runs = [ef.plan_many(profile, topology, scenarios, problem=problem, backend=b, energy_tiers=tiers)
            for b in ("cpu", "numpy")]
    assert set(runs[0].columns) == set(runs[1].columns)
    for key in runs[0].columns:
        np.testing.assert_array_equal(runs[0].columns[key], runs[1].columns[key], err_msg=key)


def test_without_energy_tiers_the_columns_are_unchanged():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    scenarios = {"bandwidth": {0: np.array([5e5, 5e6])}, "min_accuracy": np.array([0.9, 0.9])}
    plain = ef.plan_many(profile, topology, scenarios)
    assert "energy" not in plain.columns and plain.plan(0).energy is None
    with_energy = ef.plan_many(profile, topology, scenarios, energy_tiers="all")
    for key in plain.columns:
        np.testing.assert_array_equal(plain.columns[key], with_energy.columns[key], err_msg=key)
    # The energy of each plan is the Planner's evaluation of it, counting the same tiers.
    planner = ef.Planner(profile, topology.with_link(0, bandwidth=5e6), energy_tiers="all")
    plan = planner.min_latency(min_accuracy=0.9, max_energy=1e9)  # any finite bound: an energy question
    assert with_energy.plan(1).energy == plan.energy


def test_energy_errors_are_named():
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    with pytest.raises(ValueError, match="max_energy: needs an energy model; give energy_tiers"):
        ef.plan_many(profile, topology, [{"min_accuracy": 0.9, "max_energy": 1.0}])
    with pytest.raises(ValueError, match="problem='min_energy': needs an energy model"):
        ef.plan_many(profile, topology, [{}], problem="min_energy")
    with pytest.raises(ValueError, match=r"scenarios\[1\].max_energy = nan"):
        ef.plan_many(profile, topology, [{"min_accuracy": 0.9}, {"min_accuracy": 0.9, "max_energy": math.nan}],
                     energy_tiers="source")
    with pytest.raises(ValueError, match="energy_tiers"):
        ef.plan_many(profile, topology, [{"min_accuracy": 0.9}], energy_tiers="battery")
    with pytest.raises(ValueError, match="the energy questions .* take the mean latency only"):
        ef.plan_many(profile, topology, [{"min_accuracy": 0.9, "max_energy": 1.0}], quantile=0.9,
                     energy_tiers="source")


def test_core_batch_with_energy_equals_single_searches():
    """_core.pareto_many with max_energy and answer="min_energy" is _core.pareto / _core.min_energy per
    scenario; tables with and without energy tables together are refused."""
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables = ef.cost_tables(profile, topology)
    energy = energy_tables(profile, topology, energy_tiers="all")
    t = _core.Tables(*tables, energy=energy)
    lo, hi, cap = np.array([0.9, 0.9, 0.5]), np.array([math.inf, 0.2, math.inf]), np.array([1.0, 5.0, math.inf])
    out = _core.pareto_many([t], np.zeros(3, np.int64), lo, hi, max_energy=cap)
    for s in range(3):
        one = _core.pareto(t, min_accuracy=lo[s], max_latency=hi[s], max_energy=cap[s])
        mine = out["scenario"] == s
        for key in VALUES:
            np.testing.assert_array_equal(out[key][mine], one[key], err_msg=key)
    out = _core.pareto_many([t], np.zeros(3, np.int64), lo, hi, answer="min_energy")
    for s in range(3):
        one = _core.min_energy(t, min_accuracy=lo[s], max_latency=hi[s])
        np.testing.assert_array_equal(out["energy"][out["scenario"] == s], one["energy"])
    with pytest.raises(ValueError, match=r"tables\[1\]: carries no energy tables"):
        _core.pareto_many([t, _core.Tables(*tables)], np.array([0, 1]), lo[:2], hi[:2])
    with pytest.raises(ValueError, match=r"max_energy\[0\] = nan"):
        _core.pareto_many([t], np.array([0]), lo[:1], hi[:1], max_energy=np.array([math.nan]))
