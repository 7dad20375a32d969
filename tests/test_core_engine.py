"""The compiled CPU engine (`eepart_fast._core`) on its own: hand-computed values, brute force over
itertools, bounds, the row cap, validation messages and the GIL."""
import functools
import itertools
import threading
import time

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.model.tables import cost_tables

from _instances import random_profile, random_topology

COLUMNS = ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement")


# --- tables built by hand ---------------------------------------------------------------------------

def tiny_tables():
    """N=2, M=2, K=1 with numbers whose sums are exact in binary (the rows below are worked by hand)."""
    input_cost = np.array([1.0, 2.0])
    compute_cost = np.zeros((2, 3, 3))
    compute_cost[0, 0, 1], compute_cost[0, 0, 2], compute_cost[0, 1, 2] = 4.0, 8.0, 6.0
    compute_cost[1, 0, 1], compute_cost[1, 0, 2], compute_cost[1, 1, 2] = 0.5, 1.0, 0.75
    forward_cost = np.array([[[0.0, 3.0], [5.0, 0.0]],    # block 1's output
                             [[0.0, 7.0], [9.0, 0.0]]])   # block 2's output
    result_cost = np.array([0.25, 2.0])
    cum_exit = np.array([[0.0, 0.25, 1.0]])
    accuracy = np.array([0.5, 1.0])
    return input_cost, compute_cost, forward_cost, result_cost, cum_exit, accuracy


# Canonical order: L=1: P=[1] A=[0],[1]; P=[2] A=[0],[1]; L=2: P=[1,2] A=[0,1],[1,0].
TINY_ROWS = [
    ([1], [0], 1 + 4 + 0.25, 0.5),
    ([1], [1], 2 + 0.5 + 2, 0.5),
    ([2], [0], 1 + 8 + 0.25, 1.0),
    ([2], [1], 2 + 1 + 2, 1.0),
    # input 1; 1·4; 0.25·0.25; 0.75·3 forward to tier 1; 0.75·0.75 there; 0.75·2 back
    ([1, 2], [0, 1], 1 + 4 + 0.0625 + 2.25 + 0.5625 + 1.5, 0.5 * 0.25 + 1.0 * 0.75),
    ([1, 2], [1, 0], 2 + 0.5 + 0.5 + 3.75 + 4.5 + 0.1875, 0.875),
]


def mobile_tables(destination):
    """The worked example of docs/model.md in engine form, filled by hand from its formulas (not tables.py)."""
    R = np.array([500.0, 10.0, 2.5, 1.0])
    bw = np.array([500e3, 10e6, 500e6])
    pl_link = np.array([6e-3, 40e-3, 50e-3])
    M = 4
    pl = np.zeros((M, M))
    inv = np.zeros((M, M))
    for a in range(M):
        for b in range(M):
            links = range(min(a, b), max(a, b))
            pl[a, b] = sum(pl_link[j] for j in links)
            inv[a, b] = sum(1.0 / bw[j] for j in links)
    CK = np.array([2e-3, 3e-3, 4e-3])
    CB = np.array([0.5e-3, 0.5e-3, 1e-3])
    O = np.array([262144.0, 131072.0, 65536.0])  # noqa: E741  the model's O (output_bits, docs/model.md)
    N = 3
    compute = np.zeros((M, N + 1, N + 1))
    for a in range(M):
        for p in range(N):
            for q in range(p + 1, N + 1):
                compute[a, p, q] = R[a] * (CK[p:q].sum() + CB[q - 1])
    forward = pl[None, :, :] + O[:, None, None] * inv[None, :, :]
    return (pl[0] + 98304 * inv[0], compute, forward, pl[:, destination] + 320 * inv[:, destination],
            np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.3, 0.5, 1.0]]), np.array([0.60, 0.75, 0.90]))


WORKED_ROWS = [  # t, P, A, D, latency (ms), accuracy
    (1, [1, 3], [1, 3], 0, 384.587930, 0.81),
    (1, [2], [0], 0, 2750.000000, 0.75),
    (1, [1, 2, 3], [0, 1, 3], 3, 1746.894592, 0.78),
    (0, [2, 3], [2, 1], 0, 375.935600, 0.90),
    (1, [1, 3], [3, 1], 0, 476.501882, 0.81),
]


def pack(rows, width):
    """(t, P, A) rows as the int64 arrays _core.evaluate takes, -1 padded to `width` columns."""
    t = np.array([r[0] for r in rows], dtype=np.int64)
    L = np.array([len(r[1]) for r in rows], dtype=np.int64)
    P = np.full((len(rows), width), -1, dtype=np.int64)
    A = np.full((len(rows), width), -1, dtype=np.int64)
    for i, (_, p, a) in enumerate(rows):
        P[i, :len(p)] = p
        A[i, :len(a)] = a
    return t, L, P, A


# --- brute force ------------------------------------------------------------------------------------

def straight(tables, t, P, A):
    """One configuration, as a plain loop in the engine form's order of additions (docs/model.md)."""
    input_cost, compute_cost, forward_cost, result_cost, cum_exit, accuracy = tables
    c = cum_exit[t]
    L = len(P)
    lat = float(input_cost[A[0]])
    acc = 0.0
    prev = 0
    for k in range(L):
        q, a = P[k], A[k]
        last = k == L - 1
        exit_ = 1.0 - c[prev] if last else c[q] - c[prev]
        lat += (1.0 - c[prev]) * compute_cost[a, prev, q]
        lat += exit_ * result_cost[a]
        if not last:
            lat += (1.0 - c[q]) * forward_cost[q - 1, a, A[k + 1]]
        acc += accuracy[q - 1] * exit_
        prev = q
    return lat, acc


def brute_sweep(tables, max_latency=np.inf, min_accuracy=-np.inf):
    """Every configuration in canonical order by itertools, filtered by the inclusive bounds."""
    N, M, K = tables[5].shape[0], tables[0].shape[0], tables[4].shape[0]
    lmax = min(M, N)
    rows = {k: [] for k in COLUMNS}
    for t in range(K):
        for L in range(1, lmax + 1):
            for P in itertools.combinations(range(1, N + 1), L):
                for A in itertools.permutations(range(M), L):
                    lat, acc = straight(tables, t, P, A)
                    if lat <= max_latency and acc >= min_accuracy:
                        rows["latency"].append(lat)
                        rows["accuracy"].append(acc)
                        rows["threshold_index"].append(t)
                        rows["num_partitions"].append(L)
                        rows["partitions"].append(list(P) + [-1] * (lmax - L))
                        rows["placement"].append(list(A) + [-1] * (lmax - L))
    return {"latency": np.array(rows["latency"], dtype=np.float64),
            "accuracy": np.array(rows["accuracy"], dtype=np.float64),
            "threshold_index": np.array(rows["threshold_index"], dtype=np.int32),
            "num_partitions": np.array(rows["num_partitions"], dtype=np.int32),
            "partitions": np.array(rows["partitions"], dtype=np.int32).reshape(-1, lmax),
            "placement": np.array(rows["placement"], dtype=np.int32).reshape(-1, lmax)}


@functools.cache
def random_tables(seed, N, M, K):
    rng = np.random.default_rng(seed)
    profile, topology = random_profile(rng, N, K), random_topology(rng, M)
    return cost_tables(profile, topology, source=int(rng.integers(M)), destination=int(rng.integers(M)))


@functools.cache
def brute_rows(seed, N, M, K, max_latency=np.inf, min_accuracy=-np.inf):
    return brute_sweep(random_tables(seed, N, M, K), max_latency, min_accuracy)


def assert_same_rows(got, want):
    assert set(got) == set(COLUMNS)
    for k in COLUMNS:
        assert got[k].dtype == want[k].dtype, k
        assert got[k].shape == want[k].shape, k
        # Bit for bit: the engine adds in the straight loop's order (docs/model.md "Engine form").
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


# Default tuning; every placement walked (no tables); some L tabulated, some walked; work items cut
# into single partitionings, and into runs that split a shared prefix.
TUNINGS = [dict(table_limit=1 << 16, item_configs=1 << 18), dict(table_limit=0, item_configs=1 << 18),
           dict(table_limit=20, item_configs=1), dict(table_limit=1 << 16, item_configs=7)]


def tuned(tables, max_latency=np.inf, min_accuracy=-np.inf, max_rows=2**62, threads=2, **tuning):
    return _core._sweep_tuned(tables, max_latency, min_accuracy, max_rows, threads, np.inf,
                              tuning["table_limit"], tuning["item_configs"])


# --- evaluate ---------------------------------------------------------------------------------------

def test_evaluate_tiny_by_hand():
    rows = [(0, P, A) for P, A, _, _ in TINY_ROWS]
    lat, acc = _core.evaluate(tiny_tables(), *pack(rows, 2))
    assert lat.dtype == np.float64 and acc.dtype == np.float64
    assert lat.tolist() == [r[2] for r in TINY_ROWS]
    assert acc.tolist() == [r[3] for r in TINY_ROWS]


@pytest.mark.parametrize("row", WORKED_ROWS, ids=[f"row{i}" for i in range(len(WORKED_ROWS))])
def test_evaluate_spec_worked_example(row):
    t, P, A, D, latency_ms, accuracy = row
    lat, acc = _core.evaluate(mobile_tables(D), *pack([(t, P, A)], 3))
    assert abs(lat[0] * 1e3 - latency_ms) < 5e-7  # docs/model.md prints 6 decimals
    assert abs(acc[0] - accuracy) < 1e-12
    if row is WORKED_ROWS[0]:
        assert abs(lat[0] * 1e3 - 384.5879296) < 1e-9  # the sum by hand in docs/model.md


def test_evaluate_matches_straight_loop_across_chunks():
    tables = random_tables(1, 9, 5, 3)
    rng = np.random.default_rng(2)
    n = 40000  # more than one chunk of work per thread
    t = rng.integers(0, 3, n)
    L = rng.integers(1, 6, n)
    P = np.sort(rng.random((n, 9)).argsort(axis=1)[:, :5] + 1, axis=1)  # 5 distinct blocks, rising
    A = rng.random((n, 5)).argsort(axis=1)                                 # 5 distinct tiers
    cols = np.arange(5)[None, :]
    P = np.where(cols < L[:, None], np.sort(np.where(cols < L[:, None], P, 99), axis=1), -1)
    A = np.where(cols < L[:, None], A, -1)
    lat, acc = _core.evaluate(tables, t, L, P, A, threads=2)
    for i in range(0, n, 97):
        assert (lat[i], acc[i]) == straight(tables, t[i], P[i, :L[i]], A[i, :L[i]])
    one_thread = _core.evaluate(tables, t, L, P, A, threads=1)
    np.testing.assert_array_equal(one_thread[0], lat)
    np.testing.assert_array_equal(one_thread[1], acc)


def test_evaluate_ignores_padding_and_takes_wide_rows():
    tables = tiny_tables()
    t, L, P, A = pack([(0, [1, 2], [1, 0])], 4)
    P[0, 2:], A[0, 2:] = 99, 99  # never read
    lat, acc = _core.evaluate(tables, t, L, P, A)
    assert (lat[0], acc[0]) == (11.4375, 0.875)


def test_evaluate_empty():
    lat, acc = _core.evaluate(tiny_tables(), np.zeros(0, int), np.zeros(0, int), np.zeros((0, 2), int),
                              np.zeros((0, 2), int))
    assert lat.shape == acc.shape == (0,)


@pytest.mark.parametrize("rows, width, message", [
    ([(1, [1], [0])], 2, r"threshold_index\[0\] = 1: must be in 0..0"),
    ([(0, [1], [0]), (-1, [1], [0])], 2, r"threshold_index\[1\] = -1"),
    ([(0, [1, 2], [0, 1]), (0, [1, 2, 2], [0, 1, 1])], 3, r"num_partitions\[1\] = 3: must be in 1..2"),
    ([(0, [2, 1], [0, 1])], 2, r"partitions\[0\]\[1\] = 1: must be > partitions\[0\]\[0\] = 2"),
    ([(0, [1, 1], [0, 1])], 2, r"partitions\[0\]\[1\] = 1: must be > partitions\[0\]\[0\] = 1"),
    ([(0, [0], [0])], 2, r"partitions\[0\]\[0\] = 0: must be in 1..2"),
    ([(0, [3], [0])], 2, r"partitions\[0\]\[0\] = 3: must be in 1..2"),
    ([(0, [1], [2])], 2, r"placement\[0\]\[0\] = 2: must be in 0..1"),
    ([(0, [1], [-1])], 2, r"placement\[0\]\[0\] = -1"),
    ([(0, [1], [0]), (0, [1, 2], [1, 1])], 2, r"placement\[1\]\[1\] = 1: repeats placement\[1\]\[0\]"),
])
def test_evaluate_rejects_bad_configurations(rows, width, message):
    with pytest.raises(ValueError, match=message):
        _core.evaluate(tiny_tables(), *pack(rows, width))


def test_evaluate_rejects_bad_shapes():
    tables = tiny_tables()
    t, L, P, A = pack([(0, [1], [0])], 2)
    with pytest.raises(ValueError, match="num_partitions: 2 rows, threshold_index has 1"):
        _core.evaluate(tables, t, np.array([1, 1]), P, A)
    with pytest.raises(ValueError, match=r"partitions and placement: column counts differ \(2 and 1\)"):
        _core.evaluate(tables, t, L, P, A[:, :1])
    with pytest.raises(ValueError, match="partitions: expected a 2-D array"):
        _core.evaluate(tables, t, L, P[0], A)
    with pytest.raises(ValueError, match=r"num_partitions\[0\] = 2: more than the 1 columns"):
        _core.evaluate(tables, t, np.array([2]), P[:, :1], A[:, :1])
    with pytest.raises(TypeError, match="threshold_index"):
        _core.evaluate(tables, np.array(["x"]), L, P, A)
    with pytest.raises(ValueError, match="compute_cost: expected shape"):
        _core.evaluate((tables[0], tables[1][:, :2], *tables[2:]), t, L, P, A)


# --- sweep ------------------------------------------------------------------------------------------

def test_sweep_tiny_by_hand():
    rows = _core.sweep(tiny_tables())
    assert rows["latency"].tolist() == [r[2] for r in TINY_ROWS]
    assert rows["accuracy"].tolist() == [r[3] for r in TINY_ROWS]
    assert rows["threshold_index"].tolist() == [0] * 6
    assert rows["num_partitions"].tolist() == [1, 1, 1, 1, 2, 2]
    assert rows["partitions"].tolist() == [[1, -1], [1, -1], [2, -1], [2, -1], [1, 2], [1, 2]]
    assert rows["placement"].tolist() == [[0, -1], [1, -1], [0, -1], [1, -1], [0, 1], [1, 0]]


@pytest.mark.parametrize("max_latency, min_accuracy, kept", [
    (9.25, -np.inf, [0, 1, 2, 3]),     # 9.25 is row 2's latency exactly: bounds are inclusive
    (np.inf, 0.875, [2, 3, 4, 5]),     # 0.875 is rows 4 and 5's accuracy exactly
    (9.375, 0.875, [2, 3, 4]),
    (4.5, 0.5, [1]),
    (4.4999, -np.inf, []),
    (np.inf, 1.0000001, []),
])
def test_sweep_bounds_are_inclusive(max_latency, min_accuracy, kept):
    rows = _core.sweep(tiny_tables(), max_latency=max_latency, min_accuracy=min_accuracy)
    assert rows["latency"].tolist() == [TINY_ROWS[i][2] for i in kept]
    assert rows["partitions"].shape == (len(kept), 2)


@pytest.mark.parametrize("tuning", TUNINGS, ids=["default", "walk", "mixed-items1", "items7"])
@pytest.mark.parametrize("seed, N, M, K", [(0, 1, 1, 1), (1, 1, 3, 2), (2, 3, 1, 2), (3, 5, 3, 2),
                                            (4, 6, 4, 2), (5, 4, 6, 1), (6, 7, 5, 1)])
def test_sweep_equals_brute_force(seed, N, M, K, tuning):
    tables = random_tables(seed, N, M, K)
    want = brute_rows(seed, N, M, K)
    assert len(want["latency"]) == ef.count_configurations(N, M, K)
    assert_same_rows(tuned(tables, **tuning), want)


@pytest.mark.parametrize("tuning", TUNINGS, ids=["default", "walk", "mixed-items1", "items7"])
@pytest.mark.parametrize("quantiles", [(0.3, 0.0), (1.0, 0.6), (0.2, 0.5), (0.001, 0.0)])
def test_sweep_bounds_equal_brute_force(quantiles, tuning):
    tables = random_tables(11, 7, 4, 2)
    every = brute_rows(11, 7, 4, 2)
    max_latency = float(np.quantile(every["latency"], quantiles[0], method="lower"))
    min_accuracy = float(np.quantile(every["accuracy"], quantiles[1], method="lower"))
    want = brute_rows(11, 7, 4, 2, max_latency, min_accuracy)
    assert 0 < len(want["latency"]) < len(every["latency"]) or quantiles == (1.0, 0.0)
    assert_same_rows(tuned(tables, max_latency, min_accuracy, **tuning), want)


def test_sweep_rows_are_evaluate_rows():
    tables = random_tables(21, 8, 4, 3)
    rows = _core.sweep(tables)
    lat, acc = _core.evaluate(tables, rows["threshold_index"], rows["num_partitions"], rows["partitions"],
                              rows["placement"])
    np.testing.assert_array_equal(lat, rows["latency"])
    np.testing.assert_array_equal(acc, rows["accuracy"])


def test_sweep_same_rows_on_any_thread_count():
    tables = random_tables(22, 12, 4, 3)
    cap = float(np.quantile(_core.sweep(tables, threads=1)["latency"], 0.05))
    one = tuned(tables, cap, threads=1, table_limit=1 << 16, item_configs=500)
    for threads in (2, 3, 8):
        assert_same_rows(tuned(tables, cap, threads=threads, table_limit=1 << 16, item_configs=500), one)


def test_sweep_zero_rows_keeps_shapes():
    rows = _core.sweep(random_tables(23, 5, 3, 2), min_accuracy=2.0)
    assert {k: v.shape for k, v in rows.items()} == {
        "latency": (0,), "accuracy": (0,), "threshold_index": (0,), "num_partitions": (0,),
        "partitions": (0, 3), "placement": (0, 3)}
    assert rows["partitions"].dtype == np.int32 and rows["latency"].dtype == np.float64


def test_count_configurations():
    assert ef.count_configurations(10, 4, 20) == 170_000
    assert ef.count_configurations(20, 4, 20) == 2_920_000
    assert ef.count_configurations(30, 5, 20) == 412_835_400
    assert ef.count_configurations(3, 5, 2) == 2 * (3 * 5 + 3 * 20 + 1 * 60)  # L stops at N
    # Beyond 64 bits, still exact.
    from math import comb, perm
    big = 1000 * sum(comb(1000, L) * perm(16, L) for L in range(1, 17))
    assert big > 2**64 and ef.count_configurations(1000, 16, 1000) == big


def test_sweep_row_cap():
    tables = random_tables(24, 6, 4, 2)
    total = ef.count_configurations(6, 4, 2)
    assert len(_core.sweep(tables, max_rows=total)["latency"]) == total
    with pytest.raises(ValueError, match=f"sweep would keep more than {total - 1} rows of {total} configurations: "
                                         "tighten max_latency / min_accuracy or raise the memory cap"):
        _core.sweep(tables, max_rows=total - 1, threads=2)
    # Only kept rows count.
    cap = float(np.quantile(_core.sweep(tables)["latency"], 0.1))
    kept = len(_core.sweep(tables, max_latency=cap)["latency"])
    assert len(_core.sweep(tables, max_latency=cap, max_rows=kept)["latency"]) == kept
    with pytest.raises(ValueError, match=f"more than {kept - 1} rows"):
        _core.sweep(tables, max_latency=cap, max_rows=kept - 1)
    # A cap of zero stops on the first row of a large sweep, long before it would end.
    with pytest.raises(ValueError, match="more than 0 rows of 412835400 configurations"):
        _core.sweep(random_tables(25, 30, 5, 20), max_rows=0)


def test_sweep_rejects_bad_arguments():
    tables = tiny_tables()
    with pytest.raises(ValueError, match="max_latency = nan"):
        _core.sweep(tables, max_latency=float("nan"))
    with pytest.raises(ValueError, match="min_accuracy = nan"):
        _core.sweep(tables, min_accuracy=float("nan"))
    with pytest.raises(ValueError, match="max_rows = -1: must be >= 0"):
        _core.sweep(tables, max_rows=-1)
    assert len(_core.sweep(tables, max_rows=2**100)["latency"]) == 6  # a cap above 64 bits: no cap
    with pytest.raises(ValueError, match="cum_exit"):
        _core.sweep((*tables[:4], np.array([[0.0, 0.5, 0.9]]), tables[5]))
    big = random_tables(26, 100, 16, 1)
    with pytest.raises(ValueError, match="more than 2\\^63 configurations"):
        _core.sweep(big)


def test_sweep_releases_the_gil():
    """Python keeps running in another thread while a sweep is inside the engine."""
    # Every leaf costs work and none is kept: the result cost alone (1 s per sample, every sample
    # returns once) reaches the bound, while the prefixes stay under it, so nothing is pruned.
    tables = random_tables(27, 20, 5, 40)
    M = tables.M
    tables = tables._replace(input_cost=np.zeros(M), result_cost=np.ones(M),
                             compute_cost=tables.compute_cost * 1e-9, forward_cost=tables.forward_cost * 1e-9)
    ticks = []
    window = {}
    done = threading.Event()

    def run():
        window["start"] = time.perf_counter()
        window["rows"] = len(_core.sweep(tables, max_latency=1.0, threads=1)["latency"])
        window["end"] = time.perf_counter()
        done.set()

    worker = threading.Thread(target=run)
    worker.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
    worker.join()
    start, end = window["start"], window["end"]
    assert window["rows"] == 0
    # With the GIL held, this thread could only run before the call took the GIL (one switch interval,
    # 5 ms) or after it returned; ticks from the middle of the call show that it ran during it.
    assert end - start > 0.05, "the sweep was too short to tell; make the instance larger"
    middle = [t for t in ticks if start + 0.02 + (end - start) * 0.25 < t < end - (end - start) * 0.25]
    assert len(middle) > 100
