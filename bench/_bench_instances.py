"""The benchmarks' instances, shared by the sweep, search and GPU benchmarks: seeded, so every run and
every backend times the same work."""
from __future__ import annotations

from math import comb, perm

import numpy as np

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.model.tables import cost_tables


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
    return cost_tables(profile, topology, source=0, destination=0)


def sample_configurations(tables, n=200_000, seed=0):
    """(latency, accuracy) of n configurations drawn uniformly from all of them."""
    rng = np.random.default_rng(seed)
    N, M, K = tables.N, tables.M, tables.K
    lmax = min(M, N)
    share = np.array([comb(N, L) * perm(M, L) for L in range(1, lmax + 1)], dtype=np.float64)
    L = rng.choice(np.arange(1, lmax + 1), n, p=share / share.sum())
    cols = np.arange(lmax)[None, :]
    P = np.sort(rng.random((n, N)).argsort(axis=1)[:, :lmax] + 1, axis=1)
    P = np.where(cols < L[:, None], np.sort(np.where(cols < L[:, None], P, N + 1), axis=1), -1)
    A = np.where(cols < L[:, None], rng.random((n, M)).argsort(axis=1)[:, :lmax], -1)
    return _core.evaluate(tables, rng.integers(0, K, n), L, P, A)


def latency_quantile(tables, q, n=200_000, seed=0):
    """A latency bound keeping about a share q of all configurations (from a uniform sample)."""
    return float(np.quantile(sample_configurations(tables, n, seed)[0], q))


def few_rows_bounds(tables, n=200_000, seed=0):
    """Bounds that keep few rows, found on a uniform random sample of the configurations: its 1e-4
    latency quantile, and the median accuracy of the sampled configurations that meet it."""
    lat, acc = sample_configurations(tables, n, seed)
    max_latency = float(np.quantile(lat, 1e-4))
    return {"max_latency": max_latency, "min_accuracy": float(np.median(acc[lat <= max_latency]))}


def realistic_profile(N: int, K: int, seed: int = 0) -> ef.Profile:
    rng = np.random.default_rng(seed)
    block_time = rng.uniform(0.5e-3, 3e-3, N)
    branch_time = rng.uniform(0.05e-3, 0.5e-3, N)
    output_bits = 32 * 16 * 32 * 32 * np.geomspace(1, 1 / 16, N) * rng.uniform(0.8, 1.2, N)
    depth = np.arange(1, N + 1) / N
    accuracy = np.clip(0.35 + 0.6 * (1 - np.exp(-3 * depth)) + rng.normal(0, 0.015, N), 0, 1)
    thresholds = np.linspace(0.05, 0.95, K)
    exit_rate = np.zeros((K, N))
    for t, th in enumerate(thresholds):
        c = depth ** (4 * (1 - th) + 0.3) * th  # more samples leave early at higher thresholds
        c[-1] = 1.0
        exit_rate[t] = np.diff(np.concatenate([[0.0], c]))
    return ef.Profile(block_time, branch_time, output_bits, 3 * 32 * 32 * 32, 320, accuracy, thresholds, exit_rate)


def chain(M: int) -> ef.Topology:
    if M == 4:
        return ef.Topology.preset("mobile")
    return ef.Topology.chain([f"tier{j}" for j in range(M)], np.geomspace(500, 1, M), np.geomspace(500e3, 1e9, M - 1),
                             np.linspace(0.005, 0.05, M - 1))
