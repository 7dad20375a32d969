"""A sweep that no bound can cut knows its row count in closed form and skips the counting pass: its rows
are the unbounded sweep's, the row cap still holds before anything is allocated, and bounds that only
look loose (just under the tables' latency bound, accuracy just above 0) still go through the count."""
from __future__ import annotations

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.errors import RowLimitError

from _instances import random_profile, random_topology


def _tables(seed):
    rng = np.random.default_rng(seed)
    profile = random_profile(rng, int(rng.integers(3, 7)), int(rng.integers(1, 4)))
    return _core.Tables(*ef.cost_tables(profile, random_topology(rng, int(rng.integers(2, 5)))))


def _same(a, b):
    for k in ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement"):
        assert np.array_equal(a[k], b[k]), k


@pytest.mark.parametrize("seed", range(5))
def test_bounds_every_configuration_meets_keep_every_row(seed):
    T = _tables(seed)
    every = _core.sweep(T)
    assert every["latency"].shape[0] == ef.count_configurations(T.N, T.M, T.K)
    top = float(every["latency"].max())
    # Loose bounds the tables prove (closed form) and the same rows through the counting pass (threads=1,
    # and a bound just above the largest latency: the count walks every row).
    _same(_core.sweep(T, max_latency=1e300, min_accuracy=0.0), every)
    _same(_core.sweep(T, max_latency=np.nextafter(top, np.inf), min_accuracy=-1.0, threads=1), every)
    # Bounds that drop rows: counted, and fewer.
    cut = _core.sweep(T, max_latency=top, min_accuracy=1e-300)
    kept = (every["latency"] <= top) & (every["accuracy"] >= 1e-300)
    assert cut["latency"].shape[0] == int(kept.sum())
    np.testing.assert_array_equal(cut["latency"], every["latency"][kept])


def test_quantile_unbounded_keeps_every_row():
    T = _tables(7)
    rows = _core.sweep(T, quantile=0.9)
    assert rows["latency"].shape[0] == ef.count_configurations(T.N, T.M, T.K)
    np.testing.assert_array_equal(rows["latency"], _core.sweep(T, quantile=0.9, max_latency=1e300)["latency"])


def test_row_cap_still_checked_without_a_counting_pass():
    T = _tables(2)
    total = ef.count_configurations(T.N, T.M, T.K)
    with pytest.raises(RowLimitError, match=f"more than {total - 1} rows of {total}"):
        _core.sweep(T, max_rows=total - 1)
    assert _core.sweep(T, max_rows=total)["latency"].shape[0] == total
