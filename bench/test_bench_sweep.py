"""Sweep throughput (configurations per second): `cpu` beside the numpy reference, and `cpu` alone on
the large bounded sweep of issue 2 (N=30, M=5, K=20: 412,835,400 configurations).

Run: PYTHONPATH=python python -m pytest bench/ --benchmark-only
Each benchmark records in extra_info: configurations, rows kept, configurations per second, per core
(all cores in use), and for `cpu` its ratio to the numpy reference measured in the same run. The large
one is marked `large` (deselect with -m "not large").
"""
import os
from math import comb, perm

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core, reference
from eepart_fast.tables import cost_tables

CORES = os.cpu_count() or 1
_seconds = {}  # (case, backend) -> median seconds, for the ratios


def seeded_tables(N, M, K, seed=2022):
    """A random but fixed profile on a chain of M tiers, each slower than the next (the paper's shape)."""
    rng = np.random.default_rng(seed)
    exit_rate = rng.dirichlet(np.ones(N), size=K)
    exit_rate = exit_rate[np.argsort(exit_rate[:, 0])]  # earlier exits as the threshold rises
    profile = ef.Profile(block_time=rng.uniform(1e-4, 5e-3, N), branch_time=rng.uniform(1e-5, 1e-3, N),
                         output_bits=rng.uniform(1e3, 1e6, N), input_bits=98304.0, result_bits=320.0,
                         accuracy=np.sort(rng.uniform(0.3, 0.95, N)), thresholds=np.linspace(0.05, 0.95, K),
                         exit_rate=exit_rate)
    topology = ef.Topology.chain([f"tier{j}" for j in range(M)], np.geomspace(200.0, 1.0, M),
                                 np.geomspace(5e5, 1e9, M - 1), np.linspace(5e-3, 5e-2, M - 1))
    return cost_tables(profile, topology, 0, 0)


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
        return _core.sweep(*tables, **bounds)
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


def few_rows_bounds(tables, n=200_000, seed=0):
    """Bounds that keep few rows, found on a uniform random sample of the configurations: its 1e-4
    latency quantile, and the median accuracy of the sampled configurations that meet it."""
    rng = np.random.default_rng(seed)
    N, M, K = tables.N, tables.M, tables.K
    lmax = min(M, N)
    share = np.array([comb(N, L) * perm(M, L) for L in range(1, lmax + 1)], dtype=np.float64)
    L = rng.choice(np.arange(1, lmax + 1), n, p=share / share.sum())
    cols = np.arange(lmax)[None, :]
    P = np.sort(rng.random((n, N)).argsort(axis=1)[:, :lmax] + 1, axis=1)
    P = np.where(cols < L[:, None], np.sort(np.where(cols < L[:, None], P, N + 1), axis=1), -1)
    A = np.where(cols < L[:, None], rng.random((n, M)).argsort(axis=1)[:, :lmax], -1)
    lat, acc = _core.evaluate(*tables, rng.integers(0, K, n), L, P, A)
    max_latency = float(np.quantile(lat, 1e-4))
    return {"max_latency": max_latency, "min_accuracy": float(np.median(acc[lat <= max_latency]))}


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
