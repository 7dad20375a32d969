"""Every backend against the NumPy reference on random instances (issue 2's property tests)."""
import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast.planning.plot import sample_configs

from _instances import assert_close, instances

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def all_configs(N, M, K):
    """Every configuration (docs/model.md) by brute force, in canonical order."""
    return [(t, list(P), list(A)) for t in range(K) for L in range(1, min(M, N) + 1)
            for P in itertools.combinations(range(1, N + 1), L) for A in itertools.permutations(range(M), L)]


def assert_same_rows(got, ref, count):
    """Row for row: the same configurations in the same order, the same numbers to 1e-12, the count of docs/model.md."""
    assert len(got) == len(ref) == count
    for col in ("threshold_index", "num_partitions", "partitions", "placement"):
        np.testing.assert_array_equal(getattr(got, col), getattr(ref, col))
    assert_close(got.latency, ref.latency)
    assert_close(got.accuracy, ref.accuracy)


@SETTINGS
@given(inst=instances(max_N=12, max_M=5, max_K=5), data=st.data())
def test_evaluate_matches_reference(fast_backend, inst, data):
    profile, topo, src, dst = inst
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    configs = sample_configs(profile.N, topo.M, profile.K, 200, rng)
    ref = ef.evaluate(profile, topo, configs=configs, source=src, destination=dst, backend="numpy")
    got = ef.evaluate(profile, topo, configs=configs, source=src, destination=dst, backend=fast_backend)
    assert got.latency.dtype == np.float64 and got.accuracy.dtype == np.float64
    assert_close(got.latency, ref.latency)
    assert_close(got.accuracy, ref.accuracy)


@SETTINGS
@given(inst=instances(max_N=8, max_M=4, max_K=3))
def test_sweep_rows_match_reference(fast_backend, inst):
    profile, topo, src, dst = inst
    ref = ef.sweep(profile, topo, source=src, destination=dst, backend="numpy")
    got = ef.sweep(profile, topo, source=src, destination=dst, backend=fast_backend)
    assert_same_rows(got, ref, ef.count_configurations(profile.N, topo.M, profile.K))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inst=instances(max_N=12, max_M=5, max_K=5))
def test_large_sweep_matches_reference(fast_backend, inst):
    """Up to N 12, M 5, K 5 (the issue's range): row for row, count by the formula of docs/model.md."""
    profile, topo, src, dst = inst
    got = ef.sweep(profile, topo, source=src, destination=dst, backend=fast_backend)
    ref = ef.sweep(profile, topo, source=src, destination=dst, backend="numpy")
    assert_same_rows(got, ref, ef.count_configurations(profile.N, topo.M, profile.K))


@SETTINGS
@given(inst=instances(max_N=6, max_M=4, max_K=3))
def test_sweep_is_every_configuration_in_canonical_order(backend, inst):
    profile, topo, src, dst = inst
    rows = ef.sweep(profile, topo, source=src, destination=dst, backend=backend)
    brute = all_configs(profile.N, topo.M, profile.K)
    assert rows.configs() == [(t, tuple(P), tuple(A)) for t, P, A in brute]
    direct = ef.evaluate(profile, topo, configs=brute, source=src, destination=dst, backend="numpy")
    assert_close(rows.latency, direct.latency)
    assert_close(rows.accuracy, direct.accuracy)


@SETTINGS
@given(inst=instances(max_N=8, max_M=4, max_K=3), data=st.data())
def test_bounds_keep_exactly_the_rows_that_meet_them(backend, inst, data):
    profile, topo, src, dst = inst
    every = ef.sweep(profile, topo, source=src, destination=dst, backend="numpy")
    # Bounds half-way between two values, so that rounding cannot move a row across them.
    lat, acc = np.unique(every.latency), np.unique(every.accuracy)
    i = data.draw(st.integers(0, max(len(lat) - 2, 0)))
    j = data.draw(st.integers(0, max(len(acc) - 2, 0)))
    max_latency = (lat[i] + lat[i + 1]) / 2 if len(lat) > 1 else lat[0] * 2
    min_accuracy = (acc[j] + acc[j + 1]) / 2 if len(acc) > 1 else acc[0] / 2
    got = ef.sweep(profile, topo, source=src, destination=dst, max_latency=max_latency, min_accuracy=min_accuracy,
                   backend=backend)
    keep = (every.latency <= max_latency) & (every.accuracy >= min_accuracy)
    assert got.configs() == every.take(keep).configs()


def brute_frontier(lat, acc, rtol=1e-12):
    """Non-dominated points by definition (O(n^2)), equal points once."""
    points = []
    for i in range(len(lat)):
        dominated = np.any((lat <= lat[i]) & (acc >= acc[i]) & ((lat < lat[i]) | (acc > acc[i])))
        if not dominated:
            points.append((lat[i], acc[i]))
    points.sort()
    unique = []
    for p in points:
        if not unique or not (np.isclose(p[0], unique[-1][0], rtol=rtol, atol=0)
                              and np.isclose(p[1], unique[-1][1], rtol=rtol, atol=0)):
            unique.append(p)
    return np.array(unique).reshape(-1, 2)


@SETTINGS
@given(inst=instances(max_N=7, max_M=4, max_K=3))
def test_sweep_pareto_is_the_brute_force_frontier(backend, inst):
    profile, topo, src, dst = inst
    rows = ef.sweep(profile, topo, source=src, destination=dst, backend=backend)
    front = rows.pareto()
    expected = brute_frontier(rows.latency, rows.accuracy)
    assert len(front) == len(expected)
    assert_close(front.latency, expected[:, 0])
    assert_close(front.accuracy, expected[:, 1])
    assert np.all(np.diff(front.accuracy) > 0) and np.all(np.diff(front.latency) > 0)
    # Each frontier row reaches its point.
    again = ef.evaluate(profile, topo, configs=front.configs(), source=src, destination=dst, backend="numpy")
    assert_close(again.latency, front.latency)


def test_memory_cap_stops_with_count(backend):
    import pytest

    from test_worked_example import spec_profile

    # 2 floats, 2 ints, 3 x 2 ints
    assert ef.planning.evaluation.row_bytes(spec_profile(), ef.Topology.preset("mobile")) == 48
    with pytest.raises(ValueError, match=r"more than 2 rows of 144 configurations.*max_latency / min_accuracy"):
        ef.sweep(spec_profile(), ef.Topology.preset("mobile"), backend=backend, max_memory=2 * 48)
    assert len(ef.sweep(spec_profile(), ef.Topology.preset("mobile"), min_accuracy=0.9, backend=backend,
                       max_memory=200 * 48)) > 0
