"""The energy model's cost beside the latency's, side by side in one run (issue 22):

    PYTHONPATH=python python -m pytest bench/test_bench_energy.py --benchmark-group-by=group

`fill`: energy_tables (every tier counted, radios on every link, serialisation) against cost_tables on
the same profile and topology. `evaluate`: the NumPy reference's evaluate_energy (the latency's code on
the energy tables) against its evaluate, on the same 100,000 configurations drawn uniformly. `sweep`:
the compiled sweep of every configuration with and without the energy column (and with max_energy), and
the reference's with energy.
"""
from __future__ import annotations

import numpy as np
import pytest

from eepart_fast import _core
from eepart_fast.engine import reference
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
