"""Plans, the three questions and the Planner: against the sweep, on the paper's cases, and re-planning."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast.model.tables import cost_tables
from eepart_fast.planning.planner import Plan, Planner, max_accuracy, min_latency, pareto

from _instances import instances, random_profile, random_topology
from test_worked_example import spec_profile

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FAST = "cpu" if ef.backends()["cpu"]["available"] else "numpy"


def best_latency(rows, min_acc):
    ok = rows.accuracy >= min_acc
    return rows.latency[ok].min() if ok.any() else None


def best_accuracy(rows, max_lat):
    ok = rows.latency <= max_lat
    return rows.accuracy[ok].max() if ok.any() else None


@SETTINGS
@given(inst=instances(max_N=10, max_M=5, max_K=4), data=st.data())
def test_three_questions_match_the_sweep(inst, data):
    profile, topo, src, dst = inst
    rows = ef.sweep(profile, topo, source=src, destination=dst, backend=FAST)
    planner = Planner(profile, topo, source=src, destination=dst, backend=FAST)
    front = planner.pareto()
    ref = rows.pareto()
    np.testing.assert_allclose([p.latency for p in front], ref.latency, rtol=1e-12, atol=0)
    np.testing.assert_allclose([p.accuracy for p in front], ref.accuracy, rtol=1e-12, atol=0)

    i, j = data.draw(st.integers(0, len(rows) - 1)), data.draw(st.integers(0, len(rows) - 1))
    for x in (rows.accuracy[i], rows.accuracy.min(), rows.accuracy.max(), rows.accuracy.max() + 1e-9):
        got, want = planner.min_latency(min_accuracy=x), best_latency(rows, x)
        if want is None:
            assert got is None
        else:
            assert got.latency == pytest.approx(want, rel=1e-12, abs=0) and got.accuracy >= x
    for y in (rows.latency[j], rows.latency.min(), rows.latency.max(), np.nextafter(rows.latency.min(), 0)):
        got, want = planner.max_accuracy(max_latency=y), best_accuracy(rows, y)
        if want is None:
            assert got is None
        else:
            assert got.accuracy == pytest.approx(want, rel=1e-12, abs=0) and got.latency <= y

    # Every plan re-evaluates to its own numbers through the public evaluate.
    plans = front + [p for p in (planner.min_latency(min_accuracy=rows.accuracy[i]),
                                 planner.max_accuracy(max_latency=rows.latency[j])) if p]
    again = ef.evaluate(profile, topo, configs=[p.config() for p in plans], source=src, destination=dst, backend=FAST)
    np.testing.assert_allclose(again.latency, [p.latency for p in plans], rtol=1e-12, atol=0)
    np.testing.assert_allclose(again.accuracy, [p.accuracy for p in plans], rtol=1e-12, atol=0)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(max_N=6, max_M=4, max_K=3))
def test_every_backend_gives_the_same_frontier(inst):
    profile, topo, src, dst = inst
    ref = [(p.latency, p.accuracy) for p in pareto(profile, topo, source=src, destination=dst, backend="numpy")]
    for name, info in ef.backends().items():
        if info["available"]:
            got = [(p.latency, p.accuracy) for p in pareto(profile, topo, source=src, destination=dst, backend=name)]
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0)


def test_plan_breakdown_explains_its_numbers():
    topo = ef.Topology.preset("mobile")
    plan = min_latency(spec_profile(), topo, min_accuracy=0.8, backend=FAST)
    assert plan.partitions == (3,) and plan.placement == (1,) and plan.tier_names == ("smartphone",)
    assert plan.threshold_index == 0 and plan.threshold == 0.0
    parts = plan.breakdown
    total = plan.input_latency + sum(b["compute"] + b["forward"] + b["result"] for b in parts)
    assert total == pytest.approx(plan.latency, rel=1e-12)
    # The worked example of docs/model.md, first row: its parts by hand.
    p = Plan(0.3845879296, 0.81, 1, [1, 3], [1, 3], spec_profile(), topo, source=0, destination=0)
    b = p.breakdown
    assert p.input_latency == pytest.approx(0.202608, abs=1e-12)
    assert [x["blocks"] for x in b] == [(1, 1), (2, 3)] and [x["tier_name"] for x in b] == ["smartphone", "cloud"]
    assert b[0]["compute"] == pytest.approx(0.025) and b[0]["result"] == pytest.approx(0.001992)
    assert b[0]["forward"] == pytest.approx(0.0817170816) and b[1]["forward"] == 0.0
    assert (b[0]["entering"], b[0]["exit"], b[0]["stay"]) == pytest.approx((1.0, 0.3, 0.7))
    assert (b[1]["entering"], b[1]["exit"], b[1]["stay"]) == pytest.approx((0.7, 0.7, 0.0))


def test_plan_text_and_dict():
    plan = max_accuracy(spec_profile(), ef.Topology.preset("mobile"), max_latency=0.4, destination="cloud",
                        backend=FAST)
    text = str(plan)
    assert f"{plan.latency * 1e3:.3f} ms" in text and "results to cloud" in text
    assert all(name in text for name in plan.tier_names)
    d = json.loads(json.dumps(plan.to_dict()))
    assert d["latency"] == plan.latency and d["partitions"] == list(plan.partitions)
    assert d["destination"] == "cloud" and len(d["breakdown"]) == plan.num_partitions
    assert d["breakdown"][0]["blocks"][0] == 1 and d["breakdown"][-1]["blocks"][1] == plan.partitions[-1]
    assert "Plan(" in repr(plan)


def test_nothing_feasible_is_none_not_an_error():
    profile, topo = spec_profile(), ef.Topology.preset("mobile")
    assert min_latency(profile, topo, min_accuracy=0.95) is None
    assert max_accuracy(profile, topo, max_latency=0.001) is None
    with pytest.raises(ValueError, match="min_accuracy = nan"):
        min_latency(profile, topo, min_accuracy=float("nan"))
    with pytest.raises(TypeError, match="max_latency"):
        max_accuracy(profile, topo, max_latency="fast")


# --- the paper's cases, on instances built so that each is optimal --------------------------------

def test_case_I_trimmed_network():
    """Accuracy saturates after block 2 and block 3 is slow: the fastest plan at 92 % drops block 3."""
    profile = ef.Profile(block_time=[2e-3, 3e-3, 40e-3], branch_time=[0.5e-3] * 3, output_bits=[65536] * 3,
                         input_bits=98304, result_bits=320, accuracy=[0.60, 0.93, 0.95], thresholds=[0.0, 0.5],
                         exit_rate=[[0, 0, 1], [0.3, 0.2, 0.5]])
    topo = ef.Topology.preset("mobile")
    plan = min_latency(profile, topo, min_accuracy=0.92, backend=FAST)
    rows = ef.sweep(profile, topo, backend="numpy")
    assert plan.latency == pytest.approx(best_latency(rows, 0.92), rel=1e-12)
    assert plan.partitions[-1] < profile.N


def iot_case_III():
    # Block 1 is heavy, 90 % of samples leave after it; the link to the global cloud is slow.
    return ef.Profile(block_time=[8e-3, 5e-3], branch_time=[0.2e-3, 0.2e-3], output_bits=[8e3, 8e3], input_bits=8e3,
                      result_bits=320, accuracy=[0.8, 0.9], thresholds=[0.5], exit_rate=[[0.9, 0.1]])


def test_case_III_non_consecutive_placement():
    """The heavy first partition on the local cloud, the rest back on the micro datacenter, nearer home."""
    profile, topo = iot_case_III(), ef.Topology.preset("iot")
    plan = min_latency(profile, topo, min_accuracy=0.805, backend=FAST)
    rows = ef.sweep(profile, topo, backend="numpy")
    assert plan.latency == pytest.approx(best_latency(rows, 0.805), rel=1e-12)
    assert plan.tier_names == ("local cloud", "micro datacenter")
    assert list(plan.placement) != sorted(plan.placement)


def test_case_IV_destination_changes_the_placement():
    """Same partitioning, different tiers, when results are due on the device or in the global cloud."""
    profile = ef.Profile(block_time=[1e-3, 10e-3], branch_time=[0.2e-3, 0.2e-3], output_bits=[8e4, 8e3],
                         input_bits=8e4, result_bits=320, accuracy=[0.75, 0.9], thresholds=[0.5],
                         exit_rate=[[0.5, 0.5]])
    topo = ef.Topology.preset("iot")
    plans = {}
    for dst in ("raspberry pi", "global cloud"):
        plans[dst] = min_latency(profile, topo, min_accuracy=0.8, destination=dst, backend=FAST)
        rows = ef.sweep(profile, topo, destination=dst, backend="numpy")
        assert plans[dst].latency == pytest.approx(best_latency(rows, 0.8), rel=1e-12)
    home, cloud = plans["raspberry pi"], plans["global cloud"]
    assert home.partitions == cloud.partitions == (1, 2)
    assert home.tier_names == ("micro datacenter", "local cloud")
    assert cloud.tier_names == ("local cloud", "global cloud")


# --- re-planning -----------------------------------------------------------------------------------

def same_tables(a, b):
    for x, y, name in zip(a, b, a._fields):
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_planner_rebuilds_only_what_changed():
    rng = np.random.default_rng(5)
    profile = random_profile(rng, 8, 3)
    topo = ef.Topology.preset("iot")
    planner = Planner(profile, topo, backend=FAST)
    before = planner.tables
    first = planner.min_latency(min_accuracy=0.5)

    planner.set_bandwidth(("micro datacenter", "local cloud"), 5e6)
    changed = ef.Topology.chain(topo.names, topo.ratio, [10e6, 5e6, 500e6], [0.010, 0.010, 0.050])
    after = planner.tables
    same_tables(after, cost_tables(profile, changed))
    assert after.compute_cost is before.compute_cost and after.cum_exit is before.cum_exit
    assert not np.array_equal(after.forward_cost, before.forward_cost)

    planner.set_latency(2, 0.2)
    changed = ef.Topology.chain(topo.names, topo.ratio, [10e6, 5e6, 500e6], [0.010, 0.010, 0.2])
    same_tables(planner.tables, cost_tables(profile, changed))

    moves = planner.tables
    planner.set_ratio("raspberry pi", 50.0)
    changed = ef.Topology.chain(topo.names, [50.0, 5.0, 2.5, 1.0], [10e6, 5e6, 500e6], [0.010, 0.010, 0.2])
    same_tables(planner.tables, cost_tables(profile, changed))
    assert planner.tables.forward_cost is moves.forward_cost and planner.tables.input_cost is moves.input_cost

    planner.set_destination("global cloud")
    same_tables(planner.tables, cost_tables(profile, changed, source=0, destination=3))
    assert planner.tables.forward_cost is moves.forward_cost
    planner.set_source(1)
    same_tables(planner.tables, cost_tables(profile, changed, source=1, destination=3))

    # Answers follow the network: each equals a fresh search on the changed models.
    for x in (0.3, 0.5, 0.7):
        got, fresh = planner.min_latency(min_accuracy=x), min_latency(profile, changed, min_accuracy=x, source=1,
                                                                      destination=3, backend=FAST)
        assert (got is None and fresh is None) or (got.latency, got.config()) == (fresh.latency, fresh.config())
    assert first is not None and planner.topology is not topo and topo.links["bandwidth"][1] == 40e6

    planner.set_topology(topo)
    same_tables(planner.tables, cost_tables(profile, topo, source=1, destination=3))


def test_planner_on_routes_and_bad_links():
    rng = np.random.default_rng(2)
    profile, topo = random_profile(rng, 5, 2), random_topology(rng, 3)
    if topo.links is not None:  # make it a topology given as routes
        topo = ef.Topology(topo.names, topo.ratio, topo.path_latency, topo.path_inv_bandwidth)
    planner = Planner(profile, topo, backend=FAST)
    planner.set_bandwidth((0, 2), 1e6)
    inv = topo.path_inv_bandwidth.copy()
    inv[0, 2] = inv[2, 0] = 1e-6
    same_tables(planner.tables, cost_tables(profile, ef.Topology(topo.names, topo.ratio, topo.path_latency, inv)))
    with pytest.raises(ValueError, match="routes"):
        planner.set_bandwidth(0, 1e6)
    with pytest.raises(ValueError, match="bandwidth = 0.0"):
        planner.set_bandwidth((0, 1), 0)

    chain = Planner(profile, ef.Topology.preset("mobile"), backend=FAST)
    with pytest.raises(ValueError, match="not neighbours"):
        chain.set_bandwidth(("smartwatch", "cloud"), 1e6)
    with pytest.raises(ValueError, match="link = 3"):
        chain.set_latency(3, 0.1)
    with pytest.raises(ValueError, match=r"bandwidth\[0\]"):
        chain.set_bandwidth(0, -5)
    with pytest.raises(ValueError, match="unknown tier"):
        chain.set_ratio("moon", 2.0)
    with pytest.raises(ValueError, match=r"ratio\[1\]"):
        chain.set_ratio(1, 0.0)
    with pytest.raises(ValueError, match="destination = 7"):
        chain.set_destination(7)
    with pytest.raises(TypeError, match="profile"):
        Planner("profile", topo)


def test_memory_cap_reaches_the_search(monkeypatch):
    from eepart_fast import _core
    from eepart_fast.engine.registry import get_backend

    module = get_backend("cpu")
    # The engine's own keyword, whether or not the backend module forwards it yet.
    monkeypatch.setattr(module, "pareto", lambda tables, max_memory=2**31, **kw: _core.pareto(
        tables, max_memory=max_memory, **kw))
    rng = np.random.default_rng(3)
    profile, topo = random_profile(rng, 30, 4), random_topology(rng, 5)
    with pytest.raises(ValueError, match="max_memory = 4096"):
        pareto(profile, topo, backend="cpu", max_memory=4096)
    assert pareto(profile, topo, backend="cpu", max_memory=2**30)
    with pytest.raises(ValueError, match="max_memory = 0"):
        Planner(profile, topo, max_memory=0)


def test_memory_cap_reaches_every_backend(backend):
    """A Planner's max_memory reaches the engine: a tiny cap is a clear ValueError, never a crash."""
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    if backend == "cupy":
        pytest.skip("cupy's search is bounded by its windows, not by max_memory")
    with pytest.raises(ValueError, match=r"max_memory|memory cap"):
        Planner(profile, topo, backend=backend, max_memory=1000).pareto()
    assert len(Planner(profile, topo, backend=backend).pareto()) > 0
