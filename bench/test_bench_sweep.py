"""Sweep throughput (configurations per second): `cpu` beside the numpy reference, and `cpu` alone on
the large bounded sweep of issue 2 (N=30, M=5, K=20: 412,835,400 configurations).

Run: PYTHONPATH=python python -m pytest bench/ --benchmark-only
Each benchmark records in extra_info: configurations, rows kept, configurations per second, per core
(all cores in use), and for `cpu` its ratio to the numpy reference measured in the same run. The large
one is marked `large` (deselect with -m "not large").
"""
import os

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.engine import reference

from _bench_instances import few_rows_bounds, seeded_tables

CORES = os.cpu_count() or 1
_seconds = {}  # (case, backend) -> median seconds, for the ratios


def record(benchmark, case, backend, total, rows):
    if benchmark.stats is None:  # --benchmark-disable
        return
    seconds = benchmark.stats.stats.median
    _seconds[case, backend] = seconds
    benchmark.extra_info.update(configurations=total, rows_kept=rows, cores=CORES,
                                configs_per_s=total / seconds, configs_per_s_per_core=total / seconds / CORES)
    if backend == "cpu" and (case, "numpy") in _seconds:
        benchmark.extra_info["speedup_vs_numpy"] = _seconds[case, "numpy"] / seconds


def run(backend, tables, **bounds):
    if backend == "cpu":
        return _core.sweep(tables, **bounds)
    return reference.sweep(tables, **bounds)


# numpy first, so that each cpu run can quote its ratio.
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("N", [10, 20])
def test_sweep_every_row(benchmark, N, backend):
    """Unbounded: every configuration is a row of the result."""
    M, K = 4, 20
    tables = seeded_tables(N, M, K)
    total = ef.count_configurations(N, M, K)
    benchmark.group = f"sweep N={N} M={M} K={K}, every row kept"
    rounds = 3 if backend == "numpy" else 10
    rows = benchmark.pedantic(run, args=(backend, tables), rounds=rounds, iterations=1, warmup_rounds=1)
    assert len(rows["latency"]) == total
    record(benchmark, f"all{N}", backend, total, total)


# The counting pass first, so that the closed form quotes its ratio to it.
@pytest.mark.parametrize("counted", [True, False], ids=["counting-pass", "closed-form"])
@pytest.mark.parametrize("N", [10, 20])
def test_sweep_every_row_counting_pass(benchmark, N, counted):
    """Every row kept, with and without the counting pass: no bound (the row count in closed form), and a
    latency bound just above the largest latency (the tables cannot prove it: the rows are counted first)."""
    M, K = 4, 20
    tables = seeded_tables(N, M, K)
    total = ef.count_configurations(N, M, K)
    bounds = {}
    if counted:
        bounds["max_latency"] = float(np.nextafter(_core.sweep(tables)["latency"].max(), np.inf))
    benchmark.group = f"sweep N={N} M={M} K={K}, every row: counting pass or not"
    rows = benchmark.pedantic(_core.sweep, args=(tables,), kwargs=bounds, rounds=10, iterations=1, warmup_rounds=1)
    assert len(rows["latency"]) == total
    seconds = benchmark.stats.stats.median
    _seconds["counted" if counted else "closed", N] = seconds
    benchmark.extra_info.update(configurations=total, load_average=os.getloadavg())
    if not counted and ("counted", N) in _seconds:
        benchmark.extra_info["speedup_vs_counting_pass"] = _seconds["counted", N] / seconds


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("N", [10, 20])
def test_sweep_bounded(benchmark, N, backend):
    """Bounded so that few rows are kept: the engine's own speed, not the writing of the result."""
    M, K = 4, 20
    tables = seeded_tables(N, M, K)
    total = ef.count_configurations(N, M, K)
    bounds = few_rows_bounds(tables)
    benchmark.group = f"sweep N={N} M={M} K={K}, few rows kept"
    rounds = 3 if backend == "numpy" else 20
    rows = benchmark.pedantic(run, args=(backend, tables), kwargs=bounds, rounds=rounds, iterations=1,
                              warmup_rounds=1)
    record(benchmark, f"few{N}", backend, total, len(rows["latency"]))


@pytest.mark.large
def test_sweep_large_bounded(benchmark):
    """Issue 2's large sweep, bounded so that few rows are kept."""
    N, M, K = 30, 5, 20
    tables = seeded_tables(N, M, K)
    total = ef.count_configurations(N, M, K)
    bounds = few_rows_bounds(tables)
    benchmark.group = f"sweep N={N} M={M} K={K}"
    rows = benchmark.pedantic(run, args=("cpu", tables), kwargs=bounds, rounds=5, iterations=1, warmup_rounds=1)
    assert 0 < len(rows["latency"]) < total // 1000
    record(benchmark, "large", "cpu", total, len(rows["latency"]))
    benchmark.extra_info.update(bounds)


@pytest.mark.large
def test_sweep_large_nothing_pruned(benchmark):
    """The same size with tables made so that no bound prunes anything: every configuration's latency
    is computed to the end and compared (the result cost, 1 s for every sample, alone reaches the bound;
    the prefixes stay under it). The worst case of the bounded sweep."""
    N, M, K = 30, 5, 20
    tables = seeded_tables(N, M, K)
    tables = tables._replace(input_cost=np.zeros(M), result_cost=np.ones(M),
                             compute_cost=tables.compute_cost * 1e-9, forward_cost=tables.forward_cost * 1e-9)
    total = ef.count_configurations(N, M, K)
    benchmark.group = f"sweep N={N} M={M} K={K}"
    rows = benchmark.pedantic(run, args=("cpu", tables), kwargs={"max_latency": 1.0}, rounds=3, iterations=1,
                              warmup_rounds=1)
    assert len(rows["latency"]) == 0
    record(benchmark, "large-unpruned", "cpu", total, 0)
