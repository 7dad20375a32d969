"""The exact quantile search (_core.pareto with quantile=q) against a brute force over every configuration."""
import itertools

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.tables import CostTables, cost_tables

from _instances import random_profile, random_topology

_core = pytest.importorskip("eepart_fast._core")

QUANTILES = (0.5, 0.9, 0.99, 1.0)


def brute_quantile(tables, t, P, A, q):
    """The q-quantile of one configuration by a plain tally: exits sorted by latency, shares summed in that
    order (not the engine's order), the first to reach q."""
    c = tables.cum_exit[t]
    clock = float(tables.input_cost[A[0]])
    exits = []
    prev = 0
    for k, (end, tier) in enumerate(zip(P, A)):
        clock += tables.compute_cost[tier, prev, end]
        share = (1.0 - c[prev]) if k == len(P) - 1 else (c[end] - c[prev])
        exits.append((clock + tables.result_cost[tier], share))
        if k + 1 < len(P):
            clock += tables.forward_cost[end - 1, tier, A[k + 1]]
        prev = end
    total = 0.0
    for latency, share in sorted(exits):
        total += share
        if share > 0 and total >= q - 1e-12:
            return latency
    return max(latency for latency, share in exits if share > 0)


def brute_frontier(tables, q, min_accuracy=-np.inf, max_latency=np.inf):
    acc_rows = np.broadcast_to(np.asarray(tables.accuracy), (tables.K, tables.N))
    lat, acc = [], []
    for t in range(tables.K):
        c = tables.cum_exit[t]
        for L in range(1, min(tables.N, tables.M) + 1):
            for P in itertools.combinations(range(1, tables.N + 1), L):
                a = 0.0
                prev = 0
                for k, end in enumerate(P):
                    a += acc_rows[t, end - 1] * ((1.0 - c[prev]) if k == L - 1 else (c[end] - c[prev]))
                    prev = end
                for A in itertools.permutations(range(tables.M), L):
                    x = brute_quantile(tables, t, P, A, q)
                    if x <= max_latency and a >= min_accuracy:
                        lat.append(x)
                        acc.append(a)
    lat, acc = np.array(lat), np.array(acc)
    idx = frontier_indices(lat, acc)
    return lat[idx], acc[idx]


def adversarial_tables(rng, N, M, K):
    """Random tables where early exits far from the destination are slower than later ones (result
    costs up to the compute of the whole network), with shares on a grid of 1/100 (ties at q) and zeros."""
    ratio = rng.uniform(0.2, 5, M)
    ck, cb = rng.uniform(0.1, 1, N), rng.uniform(0, 0.2, N)
    compute = np.zeros((M, N + 1, N + 1))
    for a in range(M):
        for p in range(N):
            for q in range(p + 1, N + 1):
                compute[a, p, q] = ratio[a] * (ck[p:q].sum() + cb[q - 1])
    cum = np.zeros((K, N + 1))
    for t in range(K):
        cum[t, 1:N] = np.sort(rng.integers(0, 101, N - 1)) / 100.0
        if rng.random() < 0.3:
            cum[t, 1:N] = 0.0
        cum[t, N] = 1.0
    accuracy = rng.uniform(0.3, 1, (K, N)) if rng.random() < 0.5 else np.sort(rng.uniform(0.3, 1, N))
    return CostTables(rng.uniform(0, 1, M), compute, rng.uniform(0, 2, (N, M, M)), rng.uniform(0, 3, M), cum, accuracy)


def assert_frontier(got, lat, acc, tables, q):
    np.testing.assert_allclose(got["latency"], lat, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got["accuracy"], acc, rtol=1e-12, atol=0)
    # Each configuration returned reaches its point, bit for bit as evaluate sums it.
    columns = [got[k] for k in ("threshold_index", "num_partitions", "partitions", "placement")]
    e_lat, e_acc = ef.engine.reference.evaluate(tables, *columns, quantile=q)
    np.testing.assert_array_equal(e_lat, got["latency"])
    np.testing.assert_array_equal(e_acc, got["accuracy"])
    # Of the configurations reaching a point exactly, the one of least mean latency is returned.
    every = ef.engine.reference.sweep(tables, quantile=q)
    every_mean = ef.engine.reference.evaluate(tables,
                                              *(every[k] for k in ("threshold_index", "num_partitions", "partitions",
                                                                     "placement")))[0]
    got_mean = ef.engine.reference.evaluate(tables, *columns)[0]
    for i in range(got["latency"].size):
        same = (every["latency"] == got["latency"][i]) & (every["accuracy"] == got["accuracy"][i])
        assert got_mean[i] == every_mean[same].min()


@pytest.mark.parametrize("seed", range(12))
def test_adversarial_frontier_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    tables = adversarial_tables(rng, int(rng.integers(1, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 4)))
    for q in QUANTILES:
        assert_frontier(_core.pareto(tables, quantile=q), *brute_frontier(tables, q), tables, q)


@pytest.mark.parametrize("seed", range(8))
def test_model_frontier_and_bounds_equal_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    N, M, K = int(rng.integers(2, 7)), int(rng.integers(2, 5)), int(rng.integers(1, 4))
    tables = cost_tables(random_profile(rng, N, K), random_topology(rng, M), source=int(rng.integers(0, M)),
                         destination=int(rng.integers(0, M)))
    q = float(rng.choice([0.5, 0.95, 0.99]))
    lat, acc = brute_frontier(tables, q)
    assert_frontier(_core.pareto(tables, quantile=q), lat, acc, tables, q)
    i = len(lat) // 2
    bounds = {"max_latency": float(lat[i]), "min_accuracy": float(acc[max(0, i - 1)])}
    for threads in (1, 2):
        got = _core.pareto(tables, quantile=q, threads=threads, **bounds)
        assert_frontier(got, *brute_frontier(tables, q, **bounds), tables, q)


def test_threads_and_larger_instances_agree():
    """Above the serial cut-off the thresholds run on threads sharing one frontier: the same points with
    1, 2 and 7 threads; on N = 10, M = 4, K = 20 the same as the reference's sweep and frontier."""
    rng = np.random.default_rng(5)
    tables = cost_tables(random_profile(rng, 10, 20, rising_accuracy=True), random_topology(rng, 4))
    for q in (0.5, 0.99):
        ref = ef.engine.reference.pareto(tables, quantile=q)
        for threads in (1, 2, 7):
            got = _core.pareto(tables, quantile=q, threads=threads)
            assert_frontier(got, ref["latency"], ref["accuracy"], tables, q)


def test_single_exit_quantiles_are_the_mean():
    """With one partition there is one exit: every quantile is the latency, the mean's frontier holds."""
    rng = np.random.default_rng(3)
    tables = cost_tables(random_profile(rng, 6, 3), random_topology(rng, 1))
    mean = _core.pareto(tables)
    for q in QUANTILES:
        got = _core.pareto(tables, quantile=q)
        np.testing.assert_array_equal(got["latency"], mean["latency"])
        np.testing.assert_array_equal(got["accuracy"], mean["accuracy"])


def test_quantile_search_memory_cap_and_stats():
    rng = np.random.default_rng(11)
    tables = cost_tables(random_profile(rng, 30, 4), random_topology(rng, 5))
    with pytest.raises(ValueError, match=r"quantile search needs more than max_memory = 4096 bytes"):
        _core.pareto(tables, quantile=0.99, max_memory=4096)
    stats = _core.pareto(tables, quantile=0.99, stats=True)["stats"]
    assert stats["terminals"] <= ef.count_configurations(30, 5, 4)
    assert stats["labels"] <= stats["candidates"]
