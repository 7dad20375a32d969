"""An accuracy table of shape (K, N), a row per threshold, on every backend.

A per-threshold estimator (validation) gives each threshold its own branch accuracies. Every backend
takes the table as (N,) or (K, N); these tests check it against the NumPy reference and brute force on
random instances whose rows differ, and that an (N,) table gives the bits of its rows repeated.
The GPU ones (marker `gpu`) also run on the host emulator (EEPART_FAST_CUDA_MODULE=_cuda_emu).
"""
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast.engine import reference
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.engine.registry import _probe

from _instances import assert_close, random_profile, random_topology

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
INTS = ("threshold_index", "num_partitions", "partitions", "placement")
GPU = [name for name in ("cuda", "cupy") if ef.backends()[name]["available"]]


@st.composite
def per_threshold_tables(draw, max_N=8, max_M=4, max_K=4):
    """Cost tables with a (K, N) accuracy: rows unrelated (an estimator may rank branches differently
    per threshold), sometimes with exact ties between rows or a row repeated."""
    N, M, K = draw(st.integers(1, max_N)), draw(st.integers(1, max_M)), draw(st.integers(1, max_K))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tables = ef.cost_tables(random_profile(rng, N, K), random_topology(rng, M),
                            source=draw(st.integers(0, M - 1)), destination=draw(st.integers(0, M - 1)))
    acc = rng.uniform(0.05, 1.0, (K, N))
    kind = draw(st.sampled_from(["random", "rising", "repeated", "quantised"]))
    if kind == "rising":
        acc = np.sort(acc, axis=1)
    elif kind == "repeated" and K > 1:
        acc[1:] = acc[0]
    elif kind == "quantised":  # exact ties between thresholds and branches
        acc = np.round(acc * 4) / 4
    return tables._replace(accuracy=np.ascontiguousarray(acc))


def module(name):
    return _probe(name)[0]


def brute(tables):
    """Every configuration, evaluated by the reference one by one (no sweep involved)."""
    N, M, K = tables.N, tables.M, tables.K
    lmax = min(N, M)
    rows = [(t, P, A) for t in range(K) for L in range(1, lmax + 1)
            for P in itertools.combinations(range(1, N + 1), L) for A in itertools.permutations(range(M), L)]
    t = np.array([r[0] for r in rows])
    L = np.array([len(r[1]) for r in rows])
    P = np.full((len(rows), lmax), -1)
    A = np.full((len(rows), lmax), -1)
    for i, (_, p, a) in enumerate(rows):
        P[i, :len(p)], A[i, :len(a)] = p, a
    lat, acc = reference.evaluate(tables, t, L, P, A)
    # By hand for one row: SPEC's accuracy sum with row t of the table.
    i = len(rows) // 2
    c = tables.cum_exit[t[i]]
    prev, want = 0, 0.0
    for k in range(L[i]):
        q = P[i, k]
        exit_k = (c[q] - c[prev]) if k + 1 < L[i] else 1.0 - c[prev]
        want += tables.accuracy[t[i], q - 1] * exit_k
        prev = q
    assert acc[i] == want
    return lat, acc, t, L, P, A


@pytest.mark.parametrize("name", [b for b in ("numpy", "cpu") if ef.backends()[b]["available"]])
@SETTINGS
@given(tables=per_threshold_tables())
def test_cpu_and_reference_sweep_evaluate_and_pareto(name, tables):
    be = module(name)
    lat, acc, t, L, P, A = brute(tables)
    rows = be.sweep(tables)
    np.testing.assert_array_equal(rows["threshold_index"], t)
    np.testing.assert_array_equal(rows["partitions"], P)
    np.testing.assert_array_equal(rows["placement"], A)
    assert_close(rows["latency"], lat)
    assert_close(rows["accuracy"], acc)
    ev = be.evaluate(tables, t, L, P, A)
    assert_close(ev[0], lat)
    assert_close(ev[1], acc)
    front = be.pareto(tables)
    idx = frontier_indices(lat, acc)
    assert_close(front["latency"], lat[idx])
    assert_close(front["accuracy"], acc[idx])
    # Each frontier row reaches its own point.
    again = reference.evaluate(tables, *[np.asarray(front[c], dtype=np.int64) for c in INTS])
    assert_close(again[0], front["latency"])
    assert_close(again[1], front["accuracy"])


@pytest.mark.skipif(not ef.backends()["cpu"]["available"], reason="no compiled core")
@SETTINGS
@given(tables=per_threshold_tables(max_N=10, max_M=5, max_K=4), data=st.data())
def test_cpu_bounds_prune_with_per_threshold_accuracy(tables, data):
    """min_accuracy skips partitionings, and the search's accuracy upper bounds are per threshold: a
    bound taken from another row would drop points (rows are unrelated here)."""
    be = module("cpu")
    every = be.sweep(tables)
    q = data.draw(st.floats(0, 1))
    min_acc = float(np.quantile(every["accuracy"], q))
    max_lat = float(np.quantile(every["latency"], data.draw(st.floats(0.2, 1))))
    keep = (every["accuracy"] >= min_acc) & (every["latency"] <= max_lat)
    rows = be.sweep(tables, min_accuracy=min_acc, max_latency=max_lat)
    for c in ("latency", "accuracy", *INTS):
        np.testing.assert_array_equal(rows[c], every[c][keep])
    front = be.pareto(tables, min_accuracy=min_acc, max_latency=max_lat)
    idx = np.flatnonzero(keep)[frontier_indices(every["latency"][keep], every["accuracy"][keep])]
    np.testing.assert_array_equal(front["latency"], every["latency"][idx])
    np.testing.assert_array_equal(front["accuracy"], every["accuracy"][idx])


@pytest.mark.parametrize("name", [b for b in ("numpy", "cpu") if ef.backends()[b]["available"]])
@SETTINGS
@given(tables=per_threshold_tables())
def test_a_one_row_table_gives_the_bits_of_its_rows_repeated(name, tables):
    be = module(name)
    one = tables._replace(accuracy=np.ascontiguousarray(tables.accuracy[0]))
    rep = tables._replace(accuracy=np.ascontiguousarray(np.tile(one.accuracy, (tables.K, 1))))
    a, b = be.sweep(one), be.sweep(rep)
    for c in a:
        np.testing.assert_array_equal(a[c], b[c])
    a, b = be.pareto(one), be.pareto(rep)
    for c in a:
        np.testing.assert_array_equal(a[c], b[c])


def test_the_frontier_takes_each_thresholds_own_row():
    """By hand: N = 1, M = 1, two thresholds whose single branch differs: the frontier is the better
    row's point, at that threshold, on every backend."""
    tables = ef.CostTables(np.array([1.0]), np.array([[[0.0, 2.0], [0.0, 0.0]]]), np.zeros((1, 1, 1)),
                           np.array([0.5]), np.array([[0.0, 1.0], [0.0, 1.0]]), np.array([[0.25], [0.75]]))
    for name in (b for b, info in ef.backends().items() if info["available"]):
        front = module(name).pareto(tables)
        assert list(front["threshold_index"]) == [1], name
        assert list(front["latency"]) == [3.5] and list(front["accuracy"]) == [0.75], name
        _, acc = module(name).evaluate(tables, np.array([0, 1]), np.array([1, 1]), np.array([[1], [1]]),
                                         np.array([[0], [0]]))
        assert list(acc) == [0.25, 0.75], name


@pytest.mark.skipif(not ef.backends()["cpu"]["available"], reason="no compiled core")
@pytest.mark.parametrize("accuracy, message", [
    (np.full((3, 4), 0.5), r"accuracy: expected shape \(2, 4\), got \(3, 4\)"),
    (np.full((2, 4, 1), 0.5), r"accuracy: expected shape \(N,\) or \(K, N\), got \(2, 4, 1\)"),
    (np.array([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 1.5, 0.5]]), r"accuracy\[1\]\[2\] = 1.5: must be in \[0, 1\]"),
])
def test_compiled_modules_check_the_table(accuracy, message):
    rng = np.random.default_rng(0)
    tables = ef.cost_tables(random_profile(rng, 4, 2), random_topology(rng, 2))._replace(accuracy=accuracy)
    mods = [module("cpu")._core] + ([module("cuda")._cuda] if ef.backends()["cuda"]["available"] else [])
    for m in mods:
        with pytest.raises(ValueError, match=message):
            m.pareto(tables)
        with pytest.raises(ValueError, match=message):
            m.sweep(tables)


@pytest.fixture(params=GPU or ["none"])
def gpu(request):
    if request.param == "none":
        pytest.skip("no GPU backend available here")
    return request.param


@pytest.mark.gpu
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tables=per_threshold_tables(max_N=7, max_M=4, max_K=3), data=st.data())
def test_gpu_backends_match_the_reference(gpu, tables, data):
    be = module(gpu)
    lat, acc, t, L, P, A = brute(tables)
    rows = be.sweep(tables)
    np.testing.assert_array_equal(np.asarray(rows["partitions"]), P)
    np.testing.assert_array_equal(np.asarray(rows["threshold_index"]), t)
    assert_close(rows["latency"], lat)
    assert_close(rows["accuracy"], acc)
    ev = be.evaluate(tables, t, L, P, A)
    assert_close(ev[0], lat)
    assert_close(ev[1], acc)
    min_acc = float(np.quantile(acc, data.draw(st.floats(0, 1))))
    bounded = be.sweep(tables, min_accuracy=min_acc)
    keep = acc >= min_acc
    np.testing.assert_array_equal(np.asarray(bounded["placement"]), A[keep])
    cpu = module("cpu").pareto(tables)
    engines = ["layered", "auto"] if gpu == "cuda" else [None]
    for engine in engines:
        front = be._cuda.pareto(tables, engine=engine) if engine else be.pareto(tables)
        np.testing.assert_array_equal(front["latency"], cpu["latency"])
        np.testing.assert_array_equal(front["accuracy"], cpu["accuracy"])
        for c in INTS:
            np.testing.assert_array_equal(np.asarray(front[c]), cpu[c])
    idx = frontier_indices(lat, acc)
    assert_close(cpu["latency"], lat[idx])
    assert_close(cpu["accuracy"], acc[idx])
