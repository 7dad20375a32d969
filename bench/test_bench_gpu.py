"""GPU backends beside the CPU, in one run (issue 5): sweep throughput (configurations per second) of
cpu, cupy and cuda on N=20, M=4, K=20 and N=30, M=5, K=20 (one case with energy tables and max_energy, issue
22: beside the same bounds without energy, the energy's cost); pareto time of cpu and cuda on the search
issue's instances: cuda-layered and cuda-fused are the two engines of the cuda search (fused: one
launch, a thread block per threshold, the layered engine where a threshold outgrows its room).

    python -m pytest bench/test_bench_gpu.py --benchmark-only --benchmark-group-by=group

Backends that are not available are skipped. Every GPU result is checked against the cpu one before it
is timed (rows equal, frontier equal to 1e-12). EEPART_BENCH_SUMMARY=path.json writes the numbers (and
the device) as one JSON file at the end. The instances are those of test_bench_sweep.py and
test_bench_search.py (same seeds and shapes), copied so that this file runs on its own.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine.registry import _probe
from eepart_fast.model.configs import count_configurations
from eepart_fast.model.tables import cost_tables

from _bench_instances import chain, few_rows_bounds, realistic_profile, seeded_tables

CORES = os.cpu_count() or 1
SUMMARY: dict = {"cores": CORES, "sweep": {}, "pareto": {}}
AVAILABLE = {name: info["available"] for name, info in ef.backends().items()}


def backend(name):
    if not AVAILABLE[name]:
        pytest.skip(f"{name}: {ef.backends()[name]['reason']}")
    return _probe(name)[0]


def dump():
    """Writes the numbers so far (after every benchmark: a run stopped by a time limit keeps them)."""
    for name in ("cuda", "cupy"):
        if AVAILABLE[name] and "device" not in SUMMARY:
            SUMMARY["device"] = _probe(name)[0].device_name()
    path = os.environ.get("EEPART_BENCH_SUMMARY")
    if path:
        with open(path, "w") as f:
            json.dump(SUMMARY, f, indent=1)


# ---- instances (test_bench_sweep.py) --------------------------------------------------------------

def unpruned_tables(N, M, K):
    """No bound prunes anything: the result cost alone reaches max_latency = 1 (test_bench_sweep.py)."""
    t = seeded_tables(N, M, K)
    return t._replace(input_cost=np.zeros(M), result_cost=np.ones(M), compute_cost=t.compute_cost * 1e-9,
                      forward_cost=t.forward_cost * 1e-9)


# ---- instances (test_bench_search.py) -------------------------------------------------------------

# ---- sweep ----------------------------------------------------------------------------------------

_tables: dict = {}
_reference: dict = {}

SWEEPS = {  # case: (N, M, K, bounds)
    "N20-M4-K20 every row": (20, 4, 20, None),
    "N20-M4-K20 few rows": (20, 4, 20, "few"),
    "N30-M5-K20 few rows": (30, 5, 20, "few"),
    "N30-M5-K20 latency bound only": (30, 5, 20, "latency"),
    "N30-M5-K20 nothing pruned": (30, 5, 20, "unpruned"),
    "N30-M5-K20 few rows, energy": (30, 5, 20, "energy"),
}
COLUMNS = ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement", "energy")


def seeded_energy(tables, seed=7):
    """Energy tables of the cost tables' shapes, seeded (joules of the order of the costs' seconds)."""
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(0, 1e-2, np.shape(t)) for t in tables[:4])


def sweep_case(case):
    if case not in _tables:
        N, M, K, kind = SWEEPS[case]
        tables = unpruned_tables(N, M, K) if kind == "unpruned" else seeded_tables(N, M, K)
        bounds = {}
        if kind in ("few", "latency", "energy"):
            bounds = few_rows_bounds(tables)
            if kind == "energy":  # max_energy at the median energy of the rows the other bounds keep
                energy = seeded_energy(tables)
                kept = _probe("cpu")[0].sweep(tables, energy=energy, **bounds)["energy"]
                bounds = {**bounds, "energy": energy, "max_energy": float(np.median(kept))}
            if kind == "latency":
                bounds = {"max_latency": bounds["max_latency"]}
        elif kind == "unpruned":
            bounds = {"max_latency": 1.0}
        _tables[case] = (tables, bounds)
    return _tables[case]


def cpu_rows(case):
    if case not in _reference:
        tables, bounds = sweep_case(case)
        _reference[case] = _probe("cpu")[0].sweep(tables, **bounds)
    return _reference[case]


@pytest.mark.parametrize("name", ["cpu", "cupy", "cuda"])
@pytest.mark.parametrize("case", list(SWEEPS))
def test_sweep(benchmark, case, name):
    mod = backend(name)
    tables, bounds = sweep_case(case)
    total = count_configurations(tables.N, tables.M, tables.K)
    benchmark.group = f"sweep {case}"
    if name != "cpu":  # exact: the same rows as the cpu engine, before any timing
        got, ref = mod.sweep(tables, **bounds), cpu_rows(case)
        assert len(got["latency"]) == len(ref["latency"])
        assert set(got) == set(ref)
        for col in (c for c in COLUMNS if c in ref):
            np.testing.assert_array_equal(np.asarray(got[col]), np.asarray(ref[col]), err_msg=col)
    rounds = 3 if name == "cpu" and total > 1e8 else 10
    rows = benchmark.pedantic(lambda: mod.sweep(tables, **bounds), rounds=rounds, iterations=1, warmup_rounds=1)
    if benchmark.stats is None:
        return
    seconds = benchmark.stats.stats.median
    info = {"configurations": total, "rows": int(len(rows["latency"])), "seconds": seconds,
            "configs_per_s": total / seconds, "bounds": {k: v for k, v in bounds.items() if k != "energy"}}
    benchmark.extra_info.update(info)
    SUMMARY["sweep"].setdefault(case, {})[name] = info
    dump()


# ---- pareto ---------------------------------------------------------------------------------------

PARETO = {"N10-M4-K20": (10, 4, 20), "N30-M5-K20": (30, 5, 20), "N55-M3-K10": (55, 3, 10),
          "N55-M4-K10": (55, 4, 10), "N100-M8-K20": (100, 8, 20)}
_fronts: dict = {}


ENGINES = {"cuda-layered": "layered", "cuda-fused": "auto"}


def pareto_call(name, tables):
    if name in ENGINES:
        cuda = backend("cuda")._cuda
        return lambda: cuda.pareto(tables, engine=ENGINES[name])
    mod = backend(name)
    return lambda: mod.pareto(tables)


@pytest.mark.parametrize("name", ["cpu", "cuda-layered", "cuda-fused"])
@pytest.mark.parametrize("case", list(PARETO))
def test_pareto(benchmark, case, name):
    call = pareto_call(name, None)  # skips before any work when the backend is missing
    N, M, K = PARETO[case]
    key = ("pareto", case)
    if key not in _tables:
        _tables[key] = cost_tables(realistic_profile(N, K), chain(M))
    tables = _tables[key]
    call = pareto_call(name, tables)
    benchmark.group = f"pareto {case}"
    if case not in _fronts:
        t0 = time.perf_counter()
        _fronts[case] = _probe("cpu")[0].pareto(tables)
        SUMMARY["pareto"].setdefault(case, {})["cpu_first_call_s"] = time.perf_counter() - t0
    if name != "cpu":  # exact: the cpu search's points, to the bit, before any timing
        got, ref = call(), _fronts[case]
        np.testing.assert_array_equal(got["latency"], ref["latency"])
        np.testing.assert_array_equal(got["accuracy"], ref["accuracy"])
    front = benchmark.pedantic(call, rounds=10, iterations=1, warmup_rounds=1)
    if benchmark.stats is None:
        return
    seconds = benchmark.stats.stats.median
    info = {"configurations": count_configurations(N, M, K), "points": int(len(front["latency"])), "seconds": seconds}
    if name != "cpu":  # where the time goes: steps (the device synchronised after each) and device phases
        info["search"] = backend("cuda")._cuda._pareto_stats(tables, engine=ENGINES[name])[1]
    benchmark.extra_info.update(info)
    SUMMARY["pareto"].setdefault(case, {})[name] = info
    dump()
