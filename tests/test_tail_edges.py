"""Edge cases of tail latency (issue 13) that a hostile review found broken, each fixed since: the
docstrings say what went wrong. Small hand-built instances; the expected values follow docs/model.md
"Tail latency" (worked by hand in each docstring)."""
import numpy as np
import pytest

import eepart_fast
from eepart_fast.engine import reference
from eepart_fast.model.quantile import quantile_label
from eepart_fast.model.tables import CostTables


def _two_exit_tables():
    """N = 2, M = 2: 99 % of the samples leave at branch 1 (latency 1 s on either tier), the last 1 %
    after a 10 s forward and block 2 (latency 12 s). p99 of P = [1, 2], A = [0, 1] is 1 s (shares
    tallied in hundredths reach 0.99), its max 12 s."""
    N, M = 2, 2
    compute = np.zeros((M, N + 1, N + 1))
    compute[:, 0, 1] = 1.0
    compute[:, 1, 2] = 1.0
    compute[:, 0, 2] = 2.0
    forward = np.zeros((N, M, M))
    forward[0, 0, 1] = forward[0, 1, 0] = 10.0
    return CostTables(np.zeros(M), compute, forward, np.zeros(M), np.array([[0.0, 0.99, 1.0]]), np.array([0.5, 0.9]))


def test_float32_quantile_is_the_decimal_it_prints_as():
    """np.float32(0.99) is accepted (numpy types are documented as taken) but becomes 0.9900000095..., which
    the 1e-12 slack cannot absorb: the answer is the max (12 s), while the result says "p99"."""
    tb = _two_exit_tables()
    cfg = [(0, [1, 2], [0, 1])]
    want = eepart_fast.evaluate(tb, configs=cfg, quantile=0.99)
    got = eepart_fast.evaluate(tb, configs=cfg, quantile=np.float32(0.99))
    assert want.latency[0] == 1.0
    assert got.latency_statistic == "p99"
    assert got.latency[0] == want.latency[0]


def test_numpy_bool_is_refused_like_bool():
    """quantile=True is a TypeError, but np.True_ passes as q = 1 and silently answers the max."""
    tb = _two_exit_tables()
    with pytest.raises(TypeError, match="quantile"):
        eepart_fast.evaluate(tb, configs=[(0, [1, 2], [0, 1])], quantile=True)
    with pytest.raises(TypeError, match="quantile"):
        eepart_fast.evaluate(tb, configs=[(0, [1, 2], [0, 1])], quantile=np.True_)


@pytest.mark.parametrize("q", [0.9999999, 0.999999999])
def test_quantile_label_does_not_call_a_lower_quantile_p100(q):
    """results.quantile_label rounds with :g (6 significant digits): q = 0.9999999 is labelled "p100",
    the label of q = 1 (the max), in CSV headers (latency_p100_ms), reprs and Plan.to_dict. Two different
    quantiles must not share a label; 0.12345678 and 0.1234567 do too ("p12.3457")."""
    assert quantile_label(q) != quantile_label(1.0)
    assert quantile_label(0.12345678) != quantile_label(0.1234567)


def _tie_tables():
    """N = 2, M = 3, one threshold, half the samples leave at branch 1. P = [1, 2] with partition 1 on
    tier 0 or tier 1 and partition 2 on tier 2: exit latencies (2.5, 3) on A = [0, 2] (tier 0's result
    costs 1.5) and (1, 3) on A = [1, 2]. Both have max (q = 1) 3 s and accuracy 0.7; means 2.75 and 2.
    Of the configurations reaching one point the one of least mean latency is kept: A = [1, 2]."""
    N, M = 2, 3
    compute = np.full((M, N + 1, N + 1), 100.0)
    for p in range(N + 1):
        compute[:, p, : p + 1] = 0.0
    compute[0, 0, 1] = compute[1, 0, 1] = 1.0
    compute[2, 1, 2] = 2.0
    return CostTables(np.zeros(M), compute, np.zeros((N, M, M)), np.array([1.5, 0.0, 0.0]),
                      np.array([[0.0, 0.5, 1.0]]), np.array([0.5, 0.9]))


def test_sweep_result_pareto_of_a_quantile_sweep_keeps_the_least_mean():
    """SweepResult.pareto() calls frontier_indices without `tie`, so on a quantile sweep it keeps the first
    row of a point in canonical order (A = [0, 2], mean 2.75) where eepart_fast.pareto(quantile=...) and
    docs/model.md keep the least mean (A = [1, 2], mean 2)."""
    tb = _tie_tables()
    searched = [p for p in eepart_fast.pareto(tb, quantile=1.0, backend="numpy") if p.latency == 3.0]
    assert [list(p.placement) for p in searched] == [[1, 2]]
    front = eepart_fast.sweep(tb, quantile=1.0).pareto()
    i = int(np.flatnonzero(front.latency == 3.0)[0])
    assert front.placement[i].tolist() == [1, 2]


def _twin_tier_tables():
    """N = 4, M = 4; tiers 0 and 1 are identical and each tier runs only some blocks cheaply (1 s; every
    other partition 100 s), no transfer costs, a quarter of the samples leaving at each branch. The point
    (max 4 s, accuracy 0.375) is reached only by P = [1, 2, 3, 4] with A = [0, 1, 2, 3] or [1, 0, 2, 3],
    identical in every number (exits, mean, accuracy): the tie goes to the first in canonical order,
    A = [0, 1, 2, 3], as the reference (sweep + frontier) returns."""
    N, M = 4, 4
    compute = np.full((M, N + 1, N + 1), 100.0)
    for p in range(N + 1):
        compute[:, p, : p + 1] = 0.0
    compute[0, 0, 1] = compute[1, 0, 1] = 1.0
    compute[0, 1, 2] = compute[1, 1, 2] = 1.0
    compute[2, 2, 3] = 1.0
    compute[3, 3, 4] = 1.0
    return CostTables(np.zeros(M), compute, np.zeros((N, M, M)), np.zeros(M),
                      np.array([[0.0, 0.25, 0.5, 0.75, 1.0]]), np.array([0.1, 0.2, 0.3, 0.9]))


@pytest.mark.parametrize("q", [0.99, 1.0])
def test_quantile_search_breaks_exact_ties_in_canonical_order(q):
    """The exact search (cpp/core/search/quantile_search.cpp, keep_layer) sorts equal candidates by their
    parent's arena index, which is not canonical order (labels of a layer are sorted by tier set, block,
    tier): the label of A = [1, 0, 2] is kept over the identical [0, 1, 2] and the frontier reports
    A = [1, 0, 2, 3], where the reference and every sweep-based backend report [0, 1, 2, 3]."""
    tb = _twin_tier_tables()
    ref = reference.pareto(tb, quantile=q)
    i = int(np.flatnonzero(ref["latency"] == 4.0)[0])
    assert ref["placement"][i].tolist() == [0, 1, 2, 3]
    for backend in ("cpu",):
        got = [p for p in eepart_fast.pareto(tb, quantile=q, backend=backend) if p.latency == 4.0]
        assert [list(p.placement) for p in got] == [[0, 1, 2, 3]], backend


def test_record_quantiles_with_the_profiles_own_times_are_the_tables_quantile():
    """docs/model.md "From the records": "With runs that all take the profile's block times it is Q_q
    above." tail.record_latencies forms run r's partition work as a difference of prefix sums
    (starts[:, q] - starts[:, prev]), which docs/model.md ("The paper's compute") rules out because a short
    partition after a long one loses its digits: block times (1e6, 1e-6) s on tiers of ratio (1e-9, 1e6)
    give 1.00100761 s where the tables' quantile is 1.001 s (7.6e-6 relative, far beyond 1e-12)."""
    from eepart_fast.planning import tail

    profile = eepart_fast.Profile(block_time=[1e6, 1e-6], branch_time=[0.0, 0.0], output_bits=[0.0, 0.0],
                                  input_bits=0.0, result_bits=0.0, accuracy=[0.5, 0.9], thresholds=[0.5],
                                  exit_rate=[[0.0, 1.0]])
    topology = eepart_fast.Topology.chain(["a", "b"], [1e-9, 1e6], [1e9], [0.0])
    config = [(0, [1, 2], [0, 1])]
    records = {"block_seconds": np.array([[1e6, 1e-6]]), "branch_seconds": np.zeros((1, 2))}
    want = eepart_fast.evaluate(profile, topology, configs=config, quantile=1.0).latency[0]
    got = tail.record_quantiles(profile, topology, config, records, quantiles=(1.0,))[0, 0]
    assert got == pytest.approx(want, rel=1e-12)


def test_quantile_search_honours_time_limit_on_small_instances():
    """quantile_pareto_search runs the thresholds inline, with a `never` cancel flag, when
    K * N^2 * M^2 < 2e5 (the mean search's cut-off), so neither time_limit nor Ctrl-C is polled. The
    quantile search's labels cost far more than the mean's: here (N = 44, M = 6, K = 1, work 7e4) it runs
    about 1 s past time_limit = 0.05 s and returns instead of raising TimeoutError (N = 50, M = 6 runs 11 s;
    N = 30, M = 12 runs 9 s and then fails on max_memory, time_limit = 1 s)."""
    rng = np.random.default_rng(5)
    N, M = 44, 6
    # the instance of the review's script: uniform costs, exits spread, accuracy rising with the branch
    block = rng.uniform(0, 1.0, (M, N))
    branch = rng.uniform(0, 1.0, (M, N))
    compute = np.zeros((M, N + 1, N + 1))
    for p in range(N + 1):
        for q in range(p + 1, N + 1):
            compute[:, p, q] = block[:, p:q].sum(axis=1) + branch[:, q - 1]
    forward = rng.uniform(0, 1.0, (N, M, M)) * 0.01
    for a in range(M):
        forward[:, a, a] = 0.0
    forward[N - 1] = 0.0
    result = rng.uniform(0, 1.0, M) * 0.01
    w = rng.random(N)
    cum = np.concatenate([[0.0], np.cumsum(w / w.sum())])[None, :]
    cum[0, N] = 1.0
    tables = CostTables(rng.uniform(0, 0.01, M), compute, forward, result, cum, np.sort(rng.uniform(0.1, 1, N)))
    with pytest.raises(TimeoutError):
        eepart_fast.pareto(tables, quantile=0.5, backend="cpu", time_limit=0.05)
