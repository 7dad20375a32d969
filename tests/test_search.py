"""The exact search of the C++ core (_core.pareto) against the full sweep's frontier and a brute force."""
import itertools
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.tables import cost_tables

from _instances import instances, random_profile, random_topology

_core = pytest.importorskip("eepart_fast._core")

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COLUMNS = ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement")
ORACLE = "cpu" if ef.backends()["cpu"]["available"] and hasattr(_core, "sweep") else "numpy"


def sweep_rows(tables):
    from eepart_fast.engine.registry import get_backend

    return get_backend(ORACLE).sweep(tables)


def feasible_frontier(rows, min_accuracy=-np.inf, max_latency=np.inf):
    keep = np.flatnonzero((rows["latency"] <= max_latency) & (rows["accuracy"] >= min_accuracy))
    idx = keep[frontier_indices(rows["latency"][keep], rows["accuracy"][keep])]
    return rows["latency"][idx], rows["accuracy"][idx]


def assert_same_points(got, lat, acc):
    assert got["latency"].shape == lat.shape, (got["latency"], lat)
    if ORACLE == "cpu":
        # Both sum the terms in its canonical order: the same bits, not merely close.
        np.testing.assert_array_equal(got["latency"], lat)
        np.testing.assert_array_equal(got["accuracy"], acc)
    else:
        np.testing.assert_allclose(got["latency"], lat, rtol=1e-12, atol=0)
        np.testing.assert_allclose(got["accuracy"], acc, rtol=1e-12, atol=0)


def assert_rows_reevaluate(tables, got):
    """Every row is a valid configuration (docs/model.md) whose own evaluation gives the row's numbers."""
    n = got["latency"].shape[0]
    lmax = min(tables.M, tables.N)
    assert got["partitions"].shape == got["placement"].shape == (n, lmax)
    for i in range(n):
        L = got["num_partitions"][i]
        P, A = got["partitions"][i], got["placement"][i]
        assert 1 <= L <= lmax and np.all(P[L:] == -1) and np.all(A[L:] == -1)
        assert np.all(np.diff(P[:L]) > 0) and 1 <= P[0] and P[L - 1] <= tables.N
        assert len(set(A[:L].tolist())) == L and np.all((0 <= A[:L]) & (A[:L] < tables.M))
    if n:
        from eepart_fast.engine.reference import evaluate

        lat, acc = evaluate(tables, got["threshold_index"], got["num_partitions"], got["partitions"].astype(np.int64),
                            got["placement"].astype(np.int64))
        np.testing.assert_array_equal(lat, got["latency"])
        np.testing.assert_array_equal(acc, got["accuracy"])


@settings(SETTINGS, max_examples=100)
@given(inst=instances(max_N=10, max_M=5, max_K=4))
def test_pareto_is_the_sweeps_frontier(inst):
    profile, topo, src, dst = inst
    tables = cost_tables(profile, topo, source=src, destination=dst)
    got = _core.pareto(tables)
    assert_same_points(got, *feasible_frontier(sweep_rows(tables)))
    assert np.all(np.diff(got["latency"]) > 0) and np.all(np.diff(got["accuracy"]) > 0)
    assert_rows_reevaluate(tables, got)


@SETTINGS
@given(inst=instances(max_N=10, max_M=5, max_K=4), data=st.data())
def test_bounded_pareto_is_the_feasible_frontier(inst, data):
    """Bounds drawn from the sweep's own values (ties on the bound included) and bounds nothing meets."""
    profile, topo, src, dst = inst
    tables = cost_tables(profile, topo, source=src, destination=dst)
    rows = sweep_rows(tables)
    n = rows["latency"].shape[0]
    pick = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2))
    cases = [(rows["accuracy"][pick[0]], np.inf), (-np.inf, rows["latency"][pick[1]]),
             (rows["accuracy"][pick[0]], rows["latency"][pick[1]]),
             (rows["accuracy"].max() + 1e-9, np.inf), (-np.inf, np.nextafter(rows["latency"].min(), 0))]
    for min_acc, max_lat in cases:
        got = _core.pareto(tables, min_accuracy=min_acc, max_latency=max_lat)
        assert_same_points(got, *feasible_frontier(rows, min_acc, max_lat))
        assert np.all(got["accuracy"] >= min_acc) and np.all(got["latency"] <= max_lat)
    # The last two bounds: nothing is feasible, and that is an empty answer, not an error.
    assert _core.pareto(tables, min_accuracy=rows["accuracy"].max() + 1e-9)["latency"].shape == (0,)


def brute_force(tables):
    """Every configuration, evaluated line by line with docs/model.md in plain Python floats."""
    inp, comp, fwd, res, cum, acc = (np.asarray(x).tolist() for x in tables)
    N, M, K = tables.N, tables.M, tables.K
    points = []
    for t in range(K):
        c = cum[t]
        for L in range(1, min(M, N) + 1):
            for P in itertools.combinations(range(1, N + 1), L):
                for A in itertools.permutations(range(M), L):
                    lat, a, p = inp[A[0]], 0.0, 0
                    for k in range(L):
                        q, last = P[k], k == L - 1
                        E = 1.0 - c[p] if last else c[q] - c[p]
                        lat += (1.0 - c[p]) * comp[A[k]][p][q]
                        lat += E * res[A[k]]
                        if not last:
                            lat += (1.0 - c[q]) * fwd[q - 1][A[k]][A[k + 1]]
                        a += acc[q - 1] * E
                        p = q
                    points.append((lat, a))
    return points


@settings(max_examples=30, deadline=None)
@given(inst=instances(max_N=6, max_M=3, max_K=2), degenerate=st.sampled_from(["none", "flat", "free", "ties"]))
def test_pareto_matches_brute_force_also_on_degenerate_tables(inst, degenerate):
    """Equal accuracies everywhere, free compute and moves, or values on a coarse grid: many exact ties."""
    profile, topo, src, dst = inst
    tables = cost_tables(profile, topo, source=src, destination=dst)
    if degenerate == "flat":
        tables = tables._replace(accuracy=np.full(tables.N, 0.5))
    elif degenerate == "free":
        tables = tables._replace(compute_cost=np.zeros_like(tables.compute_cost), input_cost=np.zeros(tables.M))
    elif degenerate == "ties":
        grid = lambda x: np.round(x * 4) / 4  # noqa: E731
        cum = np.maximum.accumulate(grid(tables.cum_exit), axis=1)
        cum[:, 0], cum[:, -1] = 0.0, 1.0
        tables = tables._replace(cum_exit=cum, accuracy=grid(tables.accuracy),
                                 forward_cost=np.ascontiguousarray(grid(tables.forward_cost * 100)))
    pts = brute_force(tables)
    idx = frontier_indices([p[0] for p in pts], [p[1] for p in pts])
    got = _core.pareto(tables)
    np.testing.assert_array_equal(got["latency"], [pts[i][0] for i in idx])
    np.testing.assert_array_equal(got["accuracy"], [pts[i][1] for i in idx])


def test_threads_do_not_change_the_answer():
    rng = np.random.default_rng(7)
    tables = cost_tables(random_profile(rng, 25, 12), random_topology(rng, 5), source=1, destination=3)
    one = _core.pareto(tables, threads=1)
    for threads in (0, 2, 3):
        other = _core.pareto(tables, threads=threads)
        np.testing.assert_array_equal(other["latency"], one["latency"])
        np.testing.assert_array_equal(other["accuracy"], one["accuracy"])


def test_columns_and_shapes():
    rng = np.random.default_rng(1)
    tables = cost_tables(random_profile(rng, 6, 3), random_topology(rng, 4))
    got = _core.pareto(tables)
    assert set(got) == set(COLUMNS)
    assert got["latency"].dtype == got["accuracy"].dtype == np.float64
    for k in COLUMNS[2:]:
        assert got[k].dtype == np.int32
    assert got["partitions"].shape[1] == 4
    none = _core.pareto(tables, max_latency=0.0)
    assert none["latency"].shape == (0,) and none["partitions"].shape == (0, 4)
    stats = _core.pareto(tables, stats=True)["stats"]
    assert stats["terminals"] <= ef.count_configurations(6, 4, 3)


@pytest.mark.parametrize("N,M,K", [(1, 1, 1), (1, 4, 2), (5, 1, 3), (2, 5, 1)])
def test_smallest_shapes(N, M, K):
    rng = np.random.default_rng(N * 100 + M * 10 + K)
    tables = cost_tables(random_profile(rng, N, K), random_topology(rng, M))
    got = _core.pareto(tables)
    pts = brute_force(tables)
    idx = frontier_indices([p[0] for p in pts], [p[1] for p in pts])
    np.testing.assert_array_equal(got["latency"], [pts[i][0] for i in idx])
    assert got["partitions"].shape[1] == min(M, N)


def test_memory_cap_stops_with_a_clear_error():
    rng = np.random.default_rng(3)
    tables = cost_tables(random_profile(rng, 30, 4), random_topology(rng, 5))
    with pytest.raises(ValueError, match=r"max_memory = 4096 bytes.*N = 30, M = 5, K = 4"):
        _core.pareto(tables, max_memory=4096)
    assert _core.pareto(tables)["latency"].size > 0  # the default cap is far away


@pytest.mark.parametrize("kwargs,message", [
    ({"min_accuracy": math.nan}, "min_accuracy = nan"),
    ({"max_latency": math.nan}, "max_latency = nan"),
    ({"threads": -1}, "threads = -1"),
    ({"max_memory": 0}, "max_memory = 0"),
])
def test_bad_arguments_name_the_field(kwargs, message):
    rng = np.random.default_rng(0)
    tables = cost_tables(random_profile(rng, 3, 2), random_topology(rng, 2))
    with pytest.raises(ValueError, match=message):
        _core.pareto(tables, **kwargs)


def test_bad_tables_name_the_table():
    rng = np.random.default_rng(0)
    tables = cost_tables(random_profile(rng, 3, 2), random_topology(rng, 2))
    bad = tables._replace(result_cost=np.array([0.1, -1.0]))
    with pytest.raises(ValueError, match=r"result_cost\[1\] = -1"):
        _core.pareto(bad)
    with pytest.raises(ValueError, match="forward_cost"):
        _core.pareto(tables._replace(forward_cost=np.zeros((2, 2, 2))))


CTRL_C = r"""
import sys, numpy as np, eepart_fast as ef
from eepart_fast import _core
from eepart_fast.model.tables import cost_tables
from _instances import random_profile
# Identical tiers joined by free links: no placement beats another, so little can be pruned (minutes).
M = 14
topo = ef.Topology.chain([f"t{j}" for j in range(M)], np.ones(M), np.full(M - 1, 1e15), np.zeros(M - 1))
tables = cost_tables(random_profile(np.random.default_rng(0), 100, 2, rising_accuracy=True), topo)
print("start", flush=True)
try:
    _core.pareto(tables)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


def test_ctrl_c_stops_a_long_search():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__)] + sys.path))
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)  # a correct search stops within a second
    finally:
        proc.kill()
    assert "interrupted" in out and proc.returncode == 130
