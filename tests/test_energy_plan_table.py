"""Plan tables with energy (docs/model.md "Affine in a parameter", "Plans over a range"): each row's plan
energy at both ends, and a Plan's at any value of the range, from the energy tables at the cuts alone,
equal the NumPy reference's evaluation of that plan on the network rebuilt at the value (1e-12 relative);
random chains with random powers and radios, both route rules, route matrices, every parameter."""
import math

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine import reference
from eepart_fast.model.energy import energy_tables

from _instances import random_profile
from test_energy_model import with_random_energy
from test_plan_table import bounds, chain
from test_plan_table import network_at as plan_table_network_at

CASES = [("bandwidth", 0, 1e5, 1e9), ("bandwidth", 1, 1e4, 1e10), ("latency", 0, 0.0, 0.2),
         ("ratio", 1, 0.5, 200.0), ("scale", None, 0.01, 100.0)]


def network_at(topology, parameter, target, v):
    """The topology with the parameter at v, its energy inputs kept, built without the plan table's code
    (test_plan_table's, but for scale, which it rebuilds from the routes alone)."""
    if parameter != "scale":
        return plan_table_network_at(topology, parameter, target, v)
    if topology.links is not None:
        return topology.replace(bandwidth=[b * v for b in topology.links["bandwidth"]])
    return topology.replace(path_inv_bandwidth=(topology.path_inv_bandwidth / v).tolist())


def reference_energy(profile, topology, tiers, config) -> float:
    t, P, A = config
    tables = ef.cost_tables(profile, topology)
    energy = energy_tables(profile, topology, energy_tiers=tiers)
    packed = (np.array([t]), np.array([len(P)]), np.array([list(P)]), np.array([list(A)]))
    return float(reference.evaluate(tables, *packed, energy=energy)[2][0])


def check_energy(profile, topology, tiers, table, parameter, target, rng):
    for r in table.rows:
        if r.config is None:
            assert r.energy_low is None and r.energy_high is None
            continue
        for v, got in ((r.low, r.energy_low), (r.high, r.energy_high)):
            want = reference_energy(profile, network_at(topology, parameter, target, v), tiers, r.config)
            assert got == pytest.approx(want, rel=1e-12, abs=1e-300), (v, r)
    lo, hi = table.low, table.high
    inner = rng.uniform(lo, hi, 8) if parameter in ("latency", "ratio") else \
        np.exp(rng.uniform(math.log(lo), math.log(hi), 8))
    for v in inner.tolist():
        plan = table.at(v)
        if plan is None:
            continue
        want = reference_energy(profile, network_at(topology, parameter, target, v), tiers, plan.config())
        assert plan.energy == pytest.approx(want, rel=1e-12, abs=1e-300), v


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("parameter,target,low,high", CASES)
@pytest.mark.parametrize("rule", ["store_and_forward", "bottleneck"])
def test_row_energies_are_the_references(seed, parameter, target, low, high, rule):
    rng = np.random.default_rng(500 * seed + len(parameter) + len(rule))
    N, M, K = int(rng.integers(2, 6)), int(rng.integers(3, 5)), int(rng.integers(1, 4))
    profile = random_profile(rng, N, K, rising_accuracy=bool(seed % 2))
    topology, tiers = with_random_energy(rng, chain(rng, M, rule), 0)
    b = bounds(profile, topology, rng)
    planner = ef.Planner(profile, topology, energy_tiers=tiers)
    for kw in ({"min_accuracy": b["min_latency"]}, {"max_latency": b["max_latency"]}):
        table = planner.plan_table(parameter, target, low, high, **kw)
        check_energy(profile, topology, tiers, table, parameter, target, rng)
        # The plans are those of the table without energy (energy is carried, not optimised).
        plain = ef.Planner(profile, topology).plan_table(parameter, target, low, high, **kw)
        assert [r.config for r in plain.rows] == [r.config for r in table.rows]


@pytest.mark.parametrize("seed", range(3))
def test_route_matrices(seed):
    rng = np.random.default_rng(90 + seed)
    profile = random_profile(rng, 4, 2)
    base = chain(rng, 3)
    routes = ef.Topology(base.names, base.ratio, base.path_latency, base.path_inv_bandwidth)
    topology, tiers = with_random_energy(rng, routes, 0)
    b = bounds(profile, topology, rng)
    table = ef.Planner(profile, topology, energy_tiers=tiers).plan_table("bandwidth", (0, 2), 1e4, 1e10,
                                                                         min_accuracy=b["min_latency"])
    check_energy(profile, topology, tiers, table, "bandwidth", (0, 2), rng)


def test_without_energy_tiers_rows_have_no_energy():
    planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy"))
    table = planner.plan_table("bandwidth", 0, 1e5, 1e8, min_accuracy=0.9)
    assert all(r.energy_low is None and r.energy_high is None for r in table.rows)
    assert table.at(1e6).energy is None
    assert table.to_dict()["rows"][0]["energy_low"] is None
