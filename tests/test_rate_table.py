"""P_lat over a range of rates (planning/rate_table.py): at every rate of a certified piece its plan is as fast
as the fastest configuration (brute force over every configuration at that rate), and the brackets are
narrow."""
from __future__ import annotations

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.model.load import Load, LoadModel
from eepart_fast.planning.load import configurations
from eepart_fast.planning.rate_table import plan_at, rate_table

from _instances import random_profile, random_topology


def brute_best(model, configs, rate, eps):
    best = np.inf
    for c in configs:
        r = model.evaluate(c, rate=rate)
        if r.accuracy >= eps:
            best = min(best, r.latency)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_certified_pieces_are_optimal(seed):
    rng = np.random.default_rng(300 + seed)
    N, M, K = int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(1, 3))
    p, topo = random_profile(rng, N, K), random_topology(rng, M)
    load = Load(0.0, fleet=int(rng.integers(1, 3)), background=rng.uniform(0, 0.4, M))
    model = LoadModel(p, topo, load=load, link_queues=False)
    configs = list(configurations(N, M, K))
    acc = np.array([model.evaluate(c, rate=0.0).accuracy for c in configs])
    eps = float(np.quantile(acc, 0.3))
    busy = ef.cost_tables(p, topo).compute_cost
    high = float(6.0 / busy[busy > 0].mean())  # far enough that plans overload and the answer changes
    rtol = 1e-6
    table = rate_table(p, topo, load=load, low=0.0, high=high, min_accuracy=eps, rtol=rtol)
    assert table[0].low == 0.0 and table[-1].high == high
    assert all(a.high == b.low for a, b in zip(table, table[1:]))
    for piece in table:
        if not piece.certified:
            assert piece.high - piece.low <= 4 * rtol * piece.high
    rates = np.concatenate([rng.uniform(0, high, 25), [x for piece in table for x in (piece.low, piece.high)]])
    for rate in rates:
        piece = next(x for x in table if x.low <= rate <= x.high and x.certified) if any(
            x.certified and x.low <= rate <= x.high for x in table) else None
        if piece is None:
            continue
        best = brute_best(model, configs, rate, eps)
        if piece.point is None:
            assert best == np.inf
            continue
        got = model.evaluate((piece.point.threshold_index, piece.point.partitions, piece.point.placement),
                             rate=rate).latency
        assert got == pytest.approx(best, rel=1e-12)


def test_worked_example_table():
    """The shipped ResNet-20 on the mobile chain, accuracy >= 0.9: the phone alone, then phone and edge,
    then the edge alone, as the phone fills up."""
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    table = rate_table(p, topo, load=Load(0.0), low=0.0, high=40.0, min_accuracy=0.9)
    plans = [(x.point.partitions, x.point.placement) for x in table if x.certified]
    assert plans == [([6], [1]), ([5, 8], [1, 2]), ([6], [2])]
    brackets = [(x.low, x.high) for x in table if not x.certified]
    assert len(brackets) == 2 and 22.15 < brackets[0][0] < brackets[0][1] < 22.152
    assert plan_at(table, 10.0).placement == [1] and plan_at(table, 35.0).placement == [2]
