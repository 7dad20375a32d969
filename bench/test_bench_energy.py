"""The energy model's cost beside the latency's, side by side in one run (issue 22):

    PYTHONPATH=python python -m pytest bench/test_bench_energy.py --benchmark-group-by=group

`fill`: energy_tables (every tier counted, radios on every link, serialisation) against cost_tables on
the same profile and topology. `evaluate`: the NumPy reference's evaluate_energy (the latency's code on
the energy tables) against its evaluate, on the same 100,000 configurations drawn uniformly. `sweep`:
the compiled sweep of every configuration with and without the energy column (and with max_energy), and
the reference's with energy. `frontier3`: the exact 3-objective search against the bounded sweep plus
frontier3_indices with the same bounds (issue 22's goal: at least 20x), and the search unbounded (no sweep
can: 412,835,400 configurations). `min_energy`: with both bounds, beside min_latency's search (its frontier
with the same accuracy bound) on the same instance. The searches' label counts are in extra_info.
"""
from __future__ import annotations

import numpy as np
import pytest

from eepart_fast import _core
from eepart_fast.engine import reference
from eepart_fast.engine.frontier import frontier3_indices
from eepart_fast.model.energy import energy_tables
from eepart_fast.model.tables import cost_tables

from _bench_instances import chain, realistic_profile

CASES = {"N10-M4-K20": (10, 4, 20), "N30-M5-K20": (30, 5, 20)}
RADIO = {"energy_per_bit_j": 4.4e-7, "power_w": 1.2, "energy_per_transfer_j": 11.0}


def instance(name):
    N, M, K = CASES[name]
    topology = chain(M).replace(active_power_w=np.linspace(1, 200, M).tolist(), idle_power_w=[0.1] * M,
                                link_energy=[{"send": [RADIO, RADIO], "receive": [RADIO, RADIO]}] * (M - 1),
                                serialize=[1e-9] * M, deserialize=[1e-9] * M)
    return realistic_profile(N, K), topology


def configurations(tables, n=100_000, seed=0):
    """n configurations drawn uniformly from the reference sweep's canonical order."""
    rows = reference.sweep(tables)
    pick = np.random.default_rng(seed).choice(rows["latency"].size, n)
    return [rows[k][pick] for k in ("threshold_index", "num_partitions", "partitions", "placement")]


@pytest.mark.parametrize("name", list(CASES))
def test_fill_cost_tables(benchmark, name):
    profile, topology = instance(name)
    benchmark.group = f"fill {name}"
    benchmark.pedantic(lambda: cost_tables(profile, topology), rounds=20, warmup_rounds=1)


@pytest.mark.parametrize("name", list(CASES))
def test_fill_energy_tables(benchmark, name):
    profile, topology = instance(name)
    benchmark.group = f"fill {name}"
    energy = benchmark.pedantic(lambda: energy_tables(profile, topology, energy_tiers="all"), rounds=20,
                                warmup_rounds=1)
    assert energy.compute_energy.any() and energy.forward_energy.any()


@pytest.mark.parametrize("name", ["N10-M4-K20"])
def test_evaluate_latency(benchmark, name):
    profile, topology = instance(name)
    tables = cost_tables(profile, topology)
    packed = configurations(tables)
    benchmark.group = f"evaluate {name}"
    benchmark.pedantic(lambda: reference.evaluate(tables, *packed), rounds=10, warmup_rounds=1)


@pytest.mark.parametrize("name", ["N10-M4-K20"])
def test_evaluate_energy(benchmark, name):
    profile, topology = instance(name)
    tables = cost_tables(profile, topology)
    energy = energy_tables(profile, topology, energy_tiers="all")
    packed = configurations(tables)
    benchmark.group = f"evaluate {name}"
    out = benchmark.pedantic(lambda: reference.evaluate_energy(energy, tables.cum_exit, *packed), rounds=10,
                             warmup_rounds=1)
    assert (out > 0).all()


def _sweep_case(name):
    profile, topology = instance(name)
    tables = cost_tables(profile, topology)
    return tables, energy_tables(profile, topology, energy_tiers="all")


@pytest.mark.parametrize("name", ["N10-M4-K20"])
@pytest.mark.parametrize("what", ["latency", "energy", "energy bounded"])
def test_sweep_cpu(benchmark, name, what):
    """The compiled sweep of every configuration: the latency alone, with the energy column, and with
    max_energy at the median energy (half the rows, pruned placement prefixes)."""
    tables, energy = _sweep_case(name)
    built = _core.Tables(*tables, energy=None if what == "latency" else energy)
    bound = {"max_energy": float(np.median(reference.sweep(tables, energy=energy)["energy"]))} \
        if what == "energy bounded" else {}
    benchmark.group = f"sweep {name}"
    rows = benchmark.pedantic(lambda: _core.sweep(built, **bound), rounds=20, warmup_rounds=2)
    assert ("energy" in rows) == (what != "latency")


@pytest.mark.parametrize("name", ["N10-M4-K20"])
def test_sweep_reference_energy(benchmark, name):
    tables, energy = _sweep_case(name)
    benchmark.group = f"sweep {name}"
    rows = benchmark.pedantic(lambda: reference.sweep(tables, energy=energy), rounds=3, warmup_rounds=1)
    assert rows["energy"].size == 170_000


def _search_case(tiers):
    profile, topology = instance("N30-M5-K20")
    tables = cost_tables(profile, topology)
    built = _core.Tables(*tables, energy=energy_tables(profile, topology, energy_tiers=tiers))
    front = _core.pareto(built, objectives=3)
    # Bounds at quantiles of the frontier's own values: a sweep of a few thousand rows out of 412 million.
    bounds = {"max_latency": float(np.quantile(front["latency"], 0.6)),
              "min_accuracy": float(np.quantile(front["accuracy"], 0.4)),
              "max_energy": float(np.quantile(front["energy"], 0.6))}
    return built, bounds


def _counts(benchmark, stats):
    benchmark.extra_info.update(labels=stats["labels"], candidates=stats["candidates"], pruned=stats["pruned"])


@pytest.mark.parametrize("tiers", ["all", "source"])
def test_frontier3_search_bounded(benchmark, tiers):
    built, bounds = _search_case(tiers)
    benchmark.group = f"frontier3 N30-M5-K20 {tiers}"
    rows = benchmark.pedantic(lambda: _core.pareto(built, objectives=3, stats=True, **bounds), rounds=10,
                              warmup_rounds=1)
    benchmark.extra_info["frontier_points"] = int(rows["latency"].size)
    _counts(benchmark, rows["stats"])


@pytest.mark.parametrize("tiers", ["all", "source"])
def test_frontier3_bounded_sweep_and_frontier3_indices(benchmark, tiers):
    built, bounds = _search_case(tiers)
    benchmark.group = f"frontier3 N30-M5-K20 {tiers}"

    def run():
        rows = _core.sweep(built, **bounds)
        return rows, frontier3_indices(rows["latency"], rows["accuracy"], rows["energy"])

    rows, idx = benchmark.pedantic(run, rounds=3, warmup_rounds=0)
    benchmark.extra_info.update(rows_kept=int(rows["latency"].size), frontier_points=int(idx.size))
    got = _core.pareto(built, objectives=3, **bounds)
    np.testing.assert_array_equal(got["energy"], rows["energy"][idx])


@pytest.mark.parametrize("tiers", ["all", "source"])
def test_frontier3_search_unbounded(benchmark, tiers):
    built, _ = _search_case(tiers)
    benchmark.group = f"frontier3 unbounded N30-M5-K20 {tiers}"
    rows = benchmark.pedantic(lambda: _core.pareto(built, objectives=3, stats=True), rounds=3, warmup_rounds=1)
    benchmark.extra_info["frontier_points"] = int(rows["latency"].size)
    _counts(benchmark, rows["stats"])


@pytest.mark.parametrize("tiers", ["all", "source"])
@pytest.mark.parametrize("question", ["min_energy", "min_latency"])
def test_min_energy_both_bounds(benchmark, tiers, question):
    """min_energy with min_accuracy and max_latency (the frontier's medians); min_latency's search with the
    same accuracy bound beside it."""
    built, _ = _search_case(tiers)
    front = _core.pareto(built, objectives=3)
    min_accuracy = float(np.median(front["accuracy"]))
    max_latency = float(np.median(front["latency"]))
    benchmark.group = f"min_energy N30-M5-K20 {tiers}"

    def call():
        if question == "min_energy":
            return _core.min_energy(built, min_accuracy=min_accuracy, max_latency=max_latency, stats=True)
        return _core.pareto(built, min_accuracy=min_accuracy, stats=True)

    rows = benchmark.pedantic(call, rounds=50, warmup_rounds=2)
    assert rows["latency"].size >= 1
    _counts(benchmark, rows["stats"])
