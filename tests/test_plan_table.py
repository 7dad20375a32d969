"""Plan tables (issue 13): the optimal plan over a range of one network parameter, against the engine
re-run at every breakpoint, just beside it and at many interior points, and against the NumPy reference's
full sweep; the searches they take; a hand-computed breakpoint; the errors."""
import math

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine import reference

from _instances import random_profile

STEP = 1e-7  # relative step beside a breakpoint


def chain(rng, M, rule="store_and_forward"):
    return ef.Topology.chain([f"t{j}" for j in range(M)], rng.uniform(0.5, 50.0, M), rng.uniform(1e5, 1e8, M - 1),
                             rng.uniform(0, 0.05, M - 1), route_rule=rule)


def network_at(topology, parameter, target, v):
    """The topology with the parameter at v, built without the plan table's code."""
    if parameter == "bandwidth":
        return topology.with_link(target, bandwidth=v)
    if parameter == "latency":
        return topology.with_link(target, latency=v)
    if parameter == "ratio":
        return topology.with_ratio(target, v)
    d = topology.to_dict()
    if "bandwidth" in d:
        return ef.Topology.chain(d["names"], d["ratio"], [b * v for b in d["bandwidth"]], d["latency"],
                                 route_rule=topology.route_rule)
    return ef.Topology(d["names"], d["ratio"], d["path_latency"], np.asarray(d["path_inv_bandwidth"]) / v)


def engine(profile, topology, problem, bound):
    planner = ef.Planner(profile, topology)
    if problem == "min_latency":
        return planner.min_latency(min_accuracy=bound)
    return planner.max_accuracy(max_latency=bound)


def sweep_optimum(profile, topology, problem, bound):
    """The optimum's value by the NumPy reference's full sweep: least latency or highest accuracy, or None."""
    rows = reference.sweep(ef.cost_tables(profile, topology))
    if problem == "min_latency":
        ok = rows["accuracy"] >= bound
        return float(rows["latency"][ok].min()) if ok.any() else None
    ok = rows["latency"] <= bound
    return float(rows["accuracy"][ok].max()) if ok.any() else None


def check_table(profile, topology, table, problem, bound, parameter, target, n_interior=40, rng=None):
    rng = rng or np.random.default_rng(0)
    lo, hi = table.low, table.high
    points = [("breakpoint", b) for b in table.breakpoints]
    points += [("beside", b * (1 + s)) for b in table.breakpoints for s in (-STEP, STEP)]
    inner = rng.uniform(lo, hi, n_interior) if parameter in ("latency", "ratio") else \
        np.exp(rng.uniform(math.log(lo), math.log(hi), n_interior))
    points += [("interior", float(v)) for v in inner] + [("end", lo), ("end", hi)]
    for kind, v in points:
        want = engine(profile, network_at(topology, parameter, target, v), problem, bound)
        got = table.at(v)
        assert (want is None) == (got is None), (kind, v)
        if want is None:
            continue
        assert got.config() == want.config(), (kind, v, got, want)
        assert got.latency == pytest.approx(want.latency, rel=1e-12)
        assert got.accuracy == pytest.approx(want.accuracy, rel=1e-12)
    for v in inner[:3]:  # the optimum's value, independently of the engine
        want = sweep_optimum(profile, network_at(topology, parameter, target, float(v)), problem, bound)
        got = table.at(float(v))
        assert (want is None) == (got is None)
        if want is not None:
            value = got.latency if problem == "min_latency" else got.accuracy
            assert value == pytest.approx(want, rel=1e-12)
    # rows tile the range; breakpoints are their joints
    assert table.rows[0].low == lo and table.rows[-1].high == hi
    assert [r.low for r in table.rows[1:]] == [r.high for r in table.rows[:-1]] == table.breakpoints
    assert all(r.low < r.high for r in table.rows)


def bounds(profile, topology, rng):
    rows = reference.sweep(ef.cost_tables(profile, topology))
    return {"min_latency": float(np.quantile(rows["accuracy"], rng.uniform(0.3, 1.0))),
            "max_latency": float(np.quantile(rows["latency"], rng.uniform(0.05, 0.6)))}


CASES = [("bandwidth", 0, 1e5, 1e9), ("bandwidth", 1, 1e5, 1e9), ("latency", 0, 0.0, 0.2),
         ("ratio", 1, 0.5, 200.0), ("scale", None, 0.01, 100.0)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("parameter,target,low,high", CASES)
def test_table_equals_engine_and_sweep(seed, parameter, target, low, high):
    rng = np.random.default_rng(1000 * seed + len(parameter))
    N, M, K = int(rng.integers(2, 6)), int(rng.integers(3, 5)), int(rng.integers(1, 4))
    profile = random_profile(rng, N, K, rising_accuracy=bool(seed % 2))
    topology = chain(rng, M)
    b = bounds(profile, topology, rng)
    planner = ef.Planner(profile, topology)
    for problem, kw in (("min_latency", {"min_accuracy": b["min_latency"]}),
                        ("max_accuracy", {"max_latency": b["max_latency"]})):
        bound = next(iter(kw.values()))
        table = planner.plan_table(parameter, target, low, high, **kw)
        check_table(profile, topology, table, problem, bound, parameter, target, rng=rng)
        # O(breakpoints): a couple of searches per breakpoint, a few per table
        assert table.searches <= 3 * len(table.breakpoints) + 3, (table.searches, len(table.breakpoints))


@pytest.mark.parametrize("seed", range(4))
def test_bottleneck_routes_and_given_routes(seed):
    """The bottleneck rule is affine only between the other links' bandwidths: the table cuts there. A
    topology given as route matrices varies one route's bandwidth."""
    rng = np.random.default_rng(77 + seed)
    profile = random_profile(rng, 4, 2)
    topology = chain(rng, 4, rule="bottleneck")
    b = bounds(profile, topology, rng)
    planner = ef.Planner(profile, topology)
    table = planner.plan_table("bandwidth", 1, 1e4, 1e10, max_latency=b["max_latency"])
    check_table(profile, topology, table, "max_accuracy", b["max_latency"], "bandwidth", 1, rng=rng)
    table = planner.plan_table("bandwidth", 1, 1e4, 1e10, min_accuracy=b["min_latency"])
    check_table(profile, topology, table, "min_latency", b["min_latency"], "bandwidth", 1, rng=rng)
    routes = ef.Topology(topology.names, topology.ratio, topology.path_latency, topology.path_inv_bandwidth)
    table = ef.Planner(profile, routes).plan_table("bandwidth", (0, 2), 1e4, 1e10, max_latency=b["max_latency"])
    check_table(profile, routes, table, "max_accuracy", b["max_latency"], "bandwidth", (0, 2), rng=rng)


def test_shipped_profile_many_breakpoints_searches_in_proportion():
    """The shipped ResNet-20 profile on the paper's mobile chain, the 4G link (phone - edge) from 1 to 100
    Mbit/s, P_acc under 80 ms: many plan changes, searches within a small multiple of the breakpoints."""
    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    table = ef.Planner(profile, topology).plan_table("bandwidth", 1, 1e6, 100e6, max_latency=0.08)
    assert len(table.breakpoints) >= 10
    assert table.searches <= 3 * len(table.breakpoints) + 3
    check_table(profile, topology, table, "max_accuracy", 0.08, "bandwidth", 1, n_interior=20)
    assert [r.accuracy for r in table.rows] == sorted(r.accuracy for r in table.rows)  # faster link, more accurate


def test_hand_computed_breakpoint():
    """One block, two tiers: on the watch it takes 50 x 3 ms = 150 ms; on the phone the input (1e5 bit) and
    the result (1e3 bit) cross the link (10 ms each way), plus 10 x 3 ms. They tie where
    20 ms + 1.01e5 bit / bw + 30 ms = 150 ms: bw = 1.01e5 / 0.1 = 1.01 Mbit/s."""
    profile = ef.Profile([2e-3], [1e-3], [5e4], 1e5, 1e3, [0.9], [0.5], [[1.0]])
    topology = ef.Topology.chain(["watch", "phone"], [50.0, 10.0], [1e6], [0.01])
    table = ef.Planner(profile, topology).plan_table("bandwidth", 0, 1e5, 1e8, min_accuracy=0.5)
    assert table.breakpoints == [pytest.approx(1.01e6, rel=1e-12)]
    assert [r.placement for r in table.rows] == [(0,), (1,)]
    assert table.rows[0].latency_low == table.rows[0].latency_high == pytest.approx(0.15, rel=1e-12)
    assert table.rows[1].latency_low == pytest.approx(0.15, rel=1e-12)
    assert table.rows[1].latency_high == pytest.approx(0.05 + 1.01e5 / 1e8, rel=1e-12)
    # the plan at 1 Mbit/s stays optimal up to the breakpoint; at 2 Mbit/s from it on
    slow = ef.Planner(profile, topology).min_latency(min_accuracy=0.5)
    assert slow.placement == (0,) and slow.optimal_range(table) == (1e5, table.breakpoints[0])
    fast = ef.Planner(profile, topology.with_link(0, bandwidth=2e6)).min_latency(min_accuracy=0.5)
    assert fast.placement == (1,) and fast.optimal_range(table) == (table.breakpoints[0], 1e8)
    assert slow.optimal_range(table, value=5e6) is None
    # P_acc with a 100 ms bound: only the phone meets it, from 1.01e5 / (0.1 - 0.05) = 2.02 Mbit/s on
    table = ef.Planner(profile, topology).plan_table("bandwidth", 0, 1e5, 1e8, max_latency=0.1)
    assert table.breakpoints == [pytest.approx(2.02e6, rel=1e-12)]
    assert table.rows[0].config is None and table.rows[1].placement == (1,)
    assert table.at(1e6) is None and table.at(3e6).placement == (1,)


def test_no_plan_anywhere_and_one_plan_everywhere():
    rng = np.random.default_rng(3)
    profile = random_profile(rng, 3, 2)
    planner = ef.Planner(profile, chain(rng, 3))
    none = planner.plan_table("latency", 0, 0.0, 1.0, min_accuracy=2.0)
    assert len(none.rows) == 1 and none.rows[0].config is None and none.breakpoints == []
    assert none.searches == 2
    none = planner.plan_table("ratio", 0, 1.0, 2.0, max_latency=1e-9)
    assert none.rows[0].config is None and none.at(1.5) is None


def test_errors_name_the_field():
    rng = np.random.default_rng(4)
    profile = random_profile(rng, 3, 2)
    planner = ef.Planner(profile, chain(rng, 3))
    with pytest.raises(TypeError, match="exactly one bound"):
        planner.plan_table("bandwidth", 0, 1e6, 1e7)
    with pytest.raises(TypeError, match="exactly one bound"):
        planner.plan_table("bandwidth", 0, 1e6, 1e7, min_accuracy=0.5, max_latency=1.0)
    with pytest.raises(ValueError, match="parameter = 'speed'"):
        planner.plan_table("speed", 0, 1e6, 1e7, min_accuracy=0.5)
    with pytest.raises(ValueError, match="low < high"):
        planner.plan_table("bandwidth", 0, 1e7, 1e6, min_accuracy=0.5)
    with pytest.raises(ValueError, match="low = 0.0"):
        planner.plan_table("bandwidth", 0, 0, 1e6, min_accuracy=0.5)
    with pytest.raises(ValueError, match="high = inf"):
        planner.plan_table("ratio", 0, 1, math.inf, min_accuracy=0.5)
    with pytest.raises(ValueError, match="link = 5"):
        planner.plan_table("bandwidth", 5, 1e6, 1e7, min_accuracy=0.5)
    with pytest.raises(ValueError, match="scale"):
        planner.plan_table("scale", 0, 0.5, 2, min_accuracy=0.5)
    with pytest.raises(TypeError, match="min_accuracy"):
        planner.plan_table("ratio", 0, 1, 2, min_accuracy="high")
    tables = ef.Planner.from_tables(ef.cost_tables(profile, chain(rng, 3)))
    with pytest.raises(ValueError, match="CostTables"):
        tables.plan_table("ratio", 0, 1, 2, min_accuracy=0.5)
    with pytest.raises(ValueError, match="outside the table's range"):
        planner.plan_table("ratio", 0, 1, 2, min_accuracy=0.0).at(3)
    # an end of the range at which the network's costs overflow: the error names that end
    with pytest.raises(ValueError, match=r"low = 1e-300: .*costs must be finite"):
        planner.plan_table("bandwidth", 0, 1e-300, 1e6, min_accuracy=0.5)
    with pytest.raises(ValueError, match=r"high = 1e\+306: .*costs must be finite"):
        planner.plan_table("ratio", 1, 1, 1e306, min_accuracy=0.5)


def test_cli_plan_over(capsys, tmp_path):
    """`eepart plan --over`: the table as the Planner gives it, in text, JSON and a plot; bad specs exit 2."""
    import json

    from eepart_fast.cli import main

    png = tmp_path / "table.png"
    assert main(["plan", "--over", "bandwidth:1:1M:100M", "--max-latency-ms", "80", "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "link 1 (smartphone - edge server)" in text and png.stat().st_size > 10_000
    assert main(["plan", "--over", "bandwidth:smartphone,edge server:1M:100M", "--max-latency-ms", "80",
                 "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")).plan_table(
        "bandwidth", 1, 1e6, 1e8, max_latency=0.08)
    assert got["breakpoints"] == want.breakpoints
    assert [tuple(r["placement"]) for r in got["rows"]] == [r.placement for r in want.rows]
    assert main(["plan", "--over", "latency:2:0:100", "--min-accuracy", "0.9", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["high"] == pytest.approx(0.1) and got["parameter"] == "latency"
    assert main(["plan", "--over", "ratio:1:1:2", "--min-accuracy", "1.0"]) == 3  # no plan anywhere
    assert "no configuration meets the bound anywhere" in capsys.readouterr().out
    for argv, message in ((["--over", "bandwidth:1:1M:100M"], "give the bound"),
                          (["--over", "bandwidth:1:2", "--min-accuracy", "0.5"], "expected bandwidth:LINK"),
                          (["--over", "bandwidth:1:x:2", "--min-accuracy", "0.5"], "LOW = 'x'"),
                          (["--over", "ratio:moon:1:2", "--min-accuracy", "0.5"], "unknown tier"),
                          (["--over", "scale:1:2", "--min-accuracy", "0.5", "--frontier-out", "f.csv"],
                           "--frontier-out")):
        assert main(["plan", *argv]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("seed", range(8))
def test_bound_equal_to_a_plan_the_link_does_not_touch(seed):
    """P_acc's bound set to the exact latency of a plan that never crosses the varied link (its latency is
    flat in the parameter, and equal to the bound everywhere): where a steeper, more accurate plan crosses
    the bound, the two tie, and the frontier there keeps only the more accurate; the flat plan must still
    take over right after."""
    rng = np.random.default_rng(500 + seed)
    profile = random_profile(rng, 4, 3, rising_accuracy=True)
    topology = ef.Topology.chain(["w", "p", "e"], [rng.uniform(20, 80), rng.uniform(5, 20), 1.0],
                                 [rng.uniform(1e5, 1e7), 1e7], [0.001, 0.01])
    rows = reference.sweep(ef.cost_tables(profile, topology))
    flat = (rows["placement"] != 2).all(axis=1)  # never on the edge: link 1 is never crossed
    i = rng.choice(np.flatnonzero(flat))
    bound = float(rows["latency"][i])
    table = ef.Planner(profile, topology).plan_table("bandwidth", 1, 1e4, 1e10, max_latency=bound)
    check_table(profile, topology, table, "max_accuracy", bound, "bandwidth", 1, n_interior=30, rng=rng)


@pytest.mark.parametrize("seed", range(3))
def test_optimal_range_is_the_widest_interval_around_the_plan(seed):
    """Plan.optimal_range: the plan the engine gives at v holds on the whole range returned (engine re-run
    inside it), and a step beyond either end that is not the table's end gives another plan."""
    rng = np.random.default_rng(900 + seed)
    profile, topology = random_profile(rng, 5, 3, rising_accuracy=True), chain(rng, 4)
    bound = bounds(profile, topology, rng)["max_latency"]
    table = ef.Planner(profile, topology).plan_table("latency", 1, 0.0, 0.3, max_latency=bound)
    for v in rng.uniform(0.0, 0.3, 4):
        plan = ef.Planner(profile, topology.with_link(1, latency=float(v))).max_accuracy(max_latency=bound)
        if plan is None:
            assert table.config_at(float(v)) is None
            continue
        lo, hi = plan.optimal_range(table)
        assert lo <= v <= hi
        for w in rng.uniform(lo, hi, 5):
            assert engine(profile, topology.with_link(1, latency=float(w)), "max_accuracy", bound).config() == \
                plan.config()
        for w, end in ((lo - 1e-7 * max(lo, 1e-3), table.low), (hi + 1e-7 * hi, table.high)):
            if w != end and table.low < w < table.high:
                other = engine(profile, topology.with_link(1, latency=float(w)), "max_accuracy", bound)
                assert other is None or other.config() != plan.config()


def test_graph_topology():
    """A graph of links (a ring, routes by hops): a link's bandwidth and latency vary along every route
    crossing it; a link with a parallel twin, or a latency that would change routes chosen by latency, are
    refused."""
    rng = np.random.default_rng(31)
    profile = random_profile(rng, 4, 2, rising_accuracy=True)
    links = [[0, 1, 1e6, 0.005], [1, 2, 2e7, 0.02], [2, 3, 1e8, 0.03], [3, 0, 5e6, 0.04]]
    ring = ef.Topology.from_graph(["a", "b", "c", "d"], [40.0, 8.0, 2.0, 1.0], links, route_by="hops")
    planner = ef.Planner(profile, ring)
    b = bounds(profile, ring, rng)
    for parameter, lo, hi in (("bandwidth", 1e5, 1e9), ("latency", 0.0, 0.2)):
        table = planner.plan_table(parameter, 3, lo, hi, max_latency=b["max_latency"])
        check_table(profile, ring, table, "max_accuracy", b["max_latency"], parameter, 3, n_interior=15, rng=rng)
        table = planner.plan_table(parameter, (3, 0), lo, hi, min_accuracy=b["min_latency"])
        check_table(profile, ring, table, "min_latency", b["min_latency"], parameter, 3, n_interior=15, rng=rng)
    by_latency = ef.Topology.from_graph(["a", "b", "c", "d"], [40.0, 8.0, 2.0, 1.0], links)
    with pytest.raises(ValueError, match="routes are chosen by latency"):
        ef.Planner(profile, by_latency).plan_table("latency", 1, 0.0, 0.1, min_accuracy=0.5)
    twin = ef.Topology.from_graph(["a", "b", "c", "d"], [40.0, 8.0, 2.0, 1.0], [*links, [0, 1, 2e6, 0.01]])
    with pytest.raises(ValueError, match="parallel links"):
        ef.Planner(profile, twin).plan_table("bandwidth", 0, 1e5, 1e7, min_accuracy=0.5)


def test_p_acc_breakpoint_is_exact_to_the_ulp():
    """A plan whose latency reaches the bound exactly at a round bandwidth (2 Mbit/s: 5.012 ms = the bound):
    the sum stays at the bound's float for many ulps of the bandwidth, so a crossing computed from the lines
    lands hundreds of ulps off, and a query at exactly 2e6 got the plan below. The table now agrees with
    the engine at 2e6, at its breakpoint and one ulp below it."""
    profile = ef.Profile(block_time=[0.001, 0.002], branch_time=[0.0, 0.0], output_bits=[16e3, 16e3], input_bits=8e3,
                         result_bits=8.0, accuracy=[0.4589285339322726, 0.6324424245489726], thresholds=[0.43],
                         exit_rate=[[0.22676259358502374, 0.7732374064149763]])
    topology = ef.Topology.chain(["t0", "t1", "t2", "t3"], [1.0, 4.0, 1.0, 2.0], [2e6] * 3, [0.0, 0.001, 0.001])
    table = ef.Planner(profile, topology, source=0, destination=3).plan_table("bandwidth", 0, 2e5, 1e7,
                                                                              max_latency=0.005012)
    assert len(table.breakpoints) == 1
    bp = table.breakpoints[0]
    for v in (2e6, bp, float(np.nextafter(bp, 0)), float(np.nextafter(bp, math.inf))):
        want = ef.Planner(profile, topology.with_link(0, bandwidth=v), source=0,
                          destination=3).max_accuracy(max_latency=0.005012)
        assert table.at(v).config() == want.config(), v
    assert table.at(2e6).accuracy == 0.6324424245489726
