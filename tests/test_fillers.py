"""Each cost input is a filler of the same engine tables (docs/model.md "Fillers"): per-tier measured compute
(block or partition times), (de)serialisation per bit or per tensor, graph topologies with shortest or given
routes under both route rules. On random instances of each: the tables against the raw model computed by
brute force, every backend against the NumPy reference, the Planner against the sweep, and the files."""
import json

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine import reference
from eepart_fast.planning.planner import Planner

from _instances import random_profile
from _raw_model import latency_accuracy

FILLERS = ("partition_time", "block_time", "serialize_per_bit", "serialize_per_tensor", "graph_store_and_forward",
           "graph_bottleneck", "graph_bottleneck_mtu", "graph_hops", "graph_given_routes", "chain_bottleneck",
           "everything")


def random_graph(rng, m, tree=False):
    """Links [a, b, bandwidth, latency]: a random spanning tree, plus random extra links unless `tree`.
    Latencies are random floats, so shortest routes by latency are unique; by hops only on a tree."""
    links = []
    for b in range(1, m):
        links.append([int(rng.integers(0, b)), b, float(rng.uniform(1e5, 1e9)), float(rng.uniform(1e-4, 0.05))])
    if not tree:
        for _ in range(int(rng.integers(0, m))):
            a, b = rng.choice(m, 2, replace=False)
            links.append([int(a), int(b), float(rng.uniform(1e5, 1e9)), float(rng.uniform(1e-4, 0.05))])
    return links


def device(rng, profile, kind, tensors=False):
    n = profile.N
    d = {}
    if kind == "partition_time":
        d["partition_time"] = [[p + 1, q, float(rng.uniform(1e-4, 1e-2) * (q - p))]
                               for p in range(n) for q in range(p + 1, n + 1)]
        rng.shuffle(d["partition_time"])
    else:
        d["block_time"] = rng.uniform(1e-4, 5e-3, n).tolist()
        d["branch_time"] = rng.uniform(1e-5, 1e-3, n).tolist()
    if tensors:
        d["serialize_time"] = rng.uniform(0, 1e-3, n + 2).tolist()
        d["deserialize_time"] = rng.uniform(0, 1e-3, n + 2).tolist()
    return d


def instance(filler: str, seed: int, N=None, M=None, K=None):
    """(profile, topology, source, destination) exercising `filler`."""
    rng = np.random.default_rng(seed)
    N = N or int(rng.integers(1, 7))
    M = M or int(rng.integers(1, 5))
    K = K or int(rng.integers(1, 4))
    profile = random_profile(rng, N, K)
    names = [f"t{j}" for j in range(M)]
    ratio = rng.uniform(0.5, 100.0, M)
    extras = {}
    if filler in ("partition_time", "block_time", "serialize_per_tensor", "everything"):
        kind = "block_time" if filler == "block_time" else "partition_time"
        tensors = filler in ("serialize_per_tensor", "everything")
        devs = {f"dev{j}": device(rng, profile, kind if j % 2 == 0 else "block_time", tensors) for j in range(2)}
        profile = ef.Profile(**{k: v for k, v in profile.to_dict().items() if k not in ("name", "meta")}, devices=devs)
        # Some tiers measured, some keeping ratio x reference.
        extras["devices"] = [None if rng.random() < 0.4 else f"dev{int(rng.integers(0, 2))}" for _ in range(M)]
    if filler in ("serialize_per_bit", "serialize_per_tensor", "everything"):
        extras["serialize"] = rng.uniform(0, 1e-8, M).tolist()
        extras["deserialize"] = rng.uniform(0, 1e-8, M).tolist()
    if filler.startswith("graph") or filler == "everything":
        rule = "bottleneck" if "bottleneck" in filler or filler == "everything" else "store_and_forward"
        mtu = 72000.0 if filler in ("graph_bottleneck_mtu", "everything") else None
        links = random_graph(rng, M, tree=filler == "graph_hops")
        routes = "shortest"
        if filler == "graph_given_routes":
            # Given routes: a route and its reverse along the spanning tree's unique paths.
            from _raw_model import _floyd
            routes = {f"{a}->{b}": p for (a, b), p in _floyd(M, links, "latency").items()}
        topo = ef.Topology.from_graph(names, ratio, links, routes=routes,
                                      route_by="hops" if filler == "graph_hops" else "latency",
                                      route_rule=rule, mtu_bits=mtu, **extras)
    elif filler == "chain_bottleneck":
        topo = ef.Topology.chain(names, ratio, rng.uniform(1e5, 1e9, M - 1), rng.uniform(0, 0.05, M - 1),
                                 route_rule="bottleneck", **extras)
    else:
        topo = ef.Topology.chain(names, ratio, rng.uniform(1e5, 1e9, M - 1), rng.uniform(0, 0.05, M - 1), **extras)
    return profile, topo, int(rng.integers(0, M)), int(rng.integers(0, M))


def every_config(tables):
    rows = reference.sweep(tables)
    return [(int(t), list(P[:L]), list(A[:L])) for t, L, P, A in
            zip(rows["threshold_index"], rows["num_partitions"], rows["partitions"], rows["placement"])], rows


@pytest.mark.parametrize("filler", FILLERS)
@pytest.mark.parametrize("seed", range(6))
def test_tables_match_the_raw_model(filler, seed):
    """Every configuration's latency and accuracy from the filled tables (reference backend) equals the
    raw model's brute force, to 1e-12 relative."""
    profile, topo, src, dst = instance(filler, seed)
    tables = ef.cost_tables(profile, topo, source=src, destination=dst)
    configs, rows = every_config(tables)
    raw = np.array([latency_accuracy(profile, topo, src, dst, t, P, A) for t, P, A in configs])
    np.testing.assert_allclose(rows["latency"], raw[:, 0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(rows["accuracy"], raw[:, 1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("filler", FILLERS)
def test_every_backend_agrees_on_each_filler(filler, fast_backend):
    """Row for row, sweep and frontier, each compiled backend against the reference, on each filler."""
    for seed in range(3):
        profile, topo, src, dst = instance(filler, 100 + seed)
        ref = ef.sweep(profile, topo, source=src, destination=dst, backend="numpy")
        got = ef.sweep(profile, topo, source=src, destination=dst, backend=fast_backend)
        assert len(got) == len(ref) == ef.count_configurations(profile.N, topo.M, profile.K)
        np.testing.assert_allclose(got.latency, ref.latency, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(got.partitions, ref.partitions)
        np.testing.assert_array_equal(got.placement, ref.placement)
        want = [(p.latency, p.accuracy) for p in ef.pareto(profile, topo, source=src, destination=dst, backend="numpy")]
        have = [(p.latency, p.accuracy) for p in ef.pareto(profile, topo, source=src, destination=dst,
                                                           backend=fast_backend)]
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("filler", FILLERS)
def test_plan_breakdown_and_planner_on_each_filler(filler):
    profile, topo, src, dst = instance(filler, 7, N=5, M=3, K=2)
    planner = Planner(profile, topo, source=src, destination=dst)
    for plan in planner.pareto():
        raw = latency_accuracy(profile, topo, src, dst, *plan.config())
        assert plan.latency == pytest.approx(raw[0], rel=1e-12, abs=0)
        parts = plan.breakdown
        total = plan.input_latency + sum(b["compute"] + b["forward"] + b["result"] for b in parts)
        assert total == pytest.approx(plan.latency, rel=1e-12, abs=0)


@pytest.mark.parametrize("filler", FILLERS)
def test_files_round_trip_each_filler(filler, tmp_path):
    profile, topo, src, dst = instance(filler, 11)
    for suffix in (".json", ".yaml"):
        topo.save(tmp_path / f"t{suffix}")
        again = ef.Topology.load(tmp_path / f"t{suffix}")
        assert again.to_dict() == topo.to_dict()
    profile.save(tmp_path / "p.json")
    back = ef.Profile.load(tmp_path / "p.json")
    assert back.to_dict() == json.loads(json.dumps(profile.to_dict()))
    a, b = ef.cost_tables(profile, topo, source=src, destination=dst), ef.cost_tables(back, again, source=src,
                                                                                      destination=dst)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_route_rules_by_hand():
    """Three tiers in a line, 10 Mbit/s 20 ms then 400 Mbit/s 40 ms (PORTEND's setup): 0 -> 2 by each rule."""
    links = [[0, 1, 10e6, 0.020], [1, 2, 400e6, 0.040]]
    x = 8e5  # bits
    saf = ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], links)
    bot = ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], links, route_rule="bottleneck")
    mtu = ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], links, route_rule="bottleneck", mtu_bits=72000)
    assert saf.path_latency[0, 2] + x * saf.path_inv_bandwidth[0, 2] == pytest.approx(0.06 + x / 10e6 + x / 400e6)
    assert bot.path_latency[2, 0] + x * bot.path_inv_bandwidth[2, 0] == pytest.approx(0.06 + x / 10e6)
    assert mtu.path_latency[0, 2] + x * mtu.path_inv_bandwidth[0, 2] == pytest.approx(0.06 + x / 10e6 + 72000 / 400e6)
    chain = ef.Topology.chain(["a", "b", "c"], [1, 1, 1], [10e6, 400e6], [0.020, 0.040], route_rule="bottleneck")
    np.testing.assert_array_equal(chain.path_inv_bandwidth, bot.path_inv_bandwidth)
    # A shortcut link with less latency takes the shortest route.
    short = ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], links + [["a", "c", 1e6, 0.030]])
    assert short.path_latency[0, 2] == pytest.approx(0.030) and short.path_inv_bandwidth[0, 2] == pytest.approx(1e-6)
    hops = ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], links + [["a", "c", 1e6, 0.9]], route_by="hops")
    assert hops.path_latency[0, 2] == pytest.approx(0.9)


def test_serialisation_by_hand():
    """One move from tier 0 to tier 1 pays the sender's serialisation and the receiver's deserialisation."""
    profile = ef.Profile(block_time=[1e-3, 1e-3], branch_time=[0, 0], output_bits=[1000, 500], input_bits=2000,
                         result_bits=10, accuracy=[0.5, 0.9], thresholds=[0.0], exit_rate=[[0, 1]])
    topo = ef.Topology.chain(["d", "e"], [2, 1], [1e6], [0.01], serialize=[1e-6, 2e-6], deserialize=[3e-6, 4e-6])
    t = ef.cost_tables(profile, topo, source=0, destination=0)
    assert t.input_cost[0] == 0 and t.input_cost[1] == pytest.approx(0.01 + 2000e-6 + 2000 * (1e-6 + 4e-6))
    assert t.forward_cost[0, 0, 1] == pytest.approx(0.01 + 1000e-6 + 1000 * (1e-6 + 4e-6))
    assert t.forward_cost[1, 1, 0] == pytest.approx(0.01 + 500e-6 + 500 * (2e-6 + 3e-6))
    assert t.forward_cost[0, 0, 0] == 0 and t.result_cost[0] == 0
    assert t.result_cost[1] == pytest.approx(0.01 + 10e-6 + 10 * (2e-6 + 3e-6))


def test_measured_partition_times_by_hand():
    profile = ef.Profile(block_time=[1e-3, 2e-3], branch_time=[1e-4, 2e-4], output_bits=[8, 8], input_bits=8,
                         result_bits=8, accuracy=[0.5, 0.9], thresholds=[0.0], exit_rate=[[0, 1]],
                         devices={"pi": {"partition_time": [[1, 1, 0.5], [2, 2, 0.7], [1, 2, 1.0]]}})
    topo = ef.Topology.chain(["pi", "cloud"], [100.0, 1.0], [1e6], [0.0], devices=["pi", None])
    c = ef.cost_tables(profile, topo).compute_cost
    assert (c[0, 0, 1], c[0, 1, 2], c[0, 0, 2]) == (0.5, 0.7, 1.0)
    assert c[1, 0, 2] == pytest.approx(1e-3 + 2e-3 + 2e-4)


def test_filler_errors_name_the_field():
    profile = ef.Profile(block_time=[1e-3, 2e-3], branch_time=[0, 0], output_bits=[8, 8], input_bits=8,
                         result_bits=8, accuracy=[0.5, 0.9], thresholds=[0.0], exit_rate=[[0, 1]])
    with pytest.raises(ValueError, match=r"partition \[1, 2\].*missing"):
        profile.with_device("pi", {"partition_time": [[1, 1, 0.5], [2, 2, 0.7]]})
    with pytest.raises(ValueError, match="given twice"):
        profile.with_device("pi", {"partition_time": [[1, 1, 0.5], [1, 1, 0.5], [2, 2, 0.7]]})
    with pytest.raises(ValueError, match="4 entries for 3 partitions"):
        profile.with_device("pi", {"partition_time": [[1, 1, 0.5], [1, 1, 0.5], [2, 2, 0.7], [1, 2, 1]]})
    with pytest.raises(ValueError, match=r"devices\['pi'\].serialize_time: expected shape \(4,\)"):
        profile.with_device("pi", {"block_time": [1, 1], "branch_time": [0, 0], "serialize_time": [1, 2]})
    topo = ef.Topology.chain(["a", "b"], [1, 1], [1e6], [0.0], devices=["pi", None])
    with pytest.raises(ValueError, match=r"devices\[0\] = 'pi'.*no measurements"):
        ef.cost_tables(profile, topo)
    with pytest.raises(ValueError, match="route_rule = 'fastest'"):
        ef.Topology.chain(["a", "b"], [1, 1], [1e6], [0.0], route_rule="fastest")
    with pytest.raises(ValueError, match="no route from tier 0 to tier 2"):
        ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], [[0, 1, 1e6, 0.0]])
    with pytest.raises(ValueError, match=r"links\[0\].bandwidth"):
        ef.Topology.from_graph(["a", "b"], [1, 1], [[0, 1, 0, 0.0]])
    with pytest.raises(ValueError, match="no link joins tiers 0 and 2"):
        ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], [[0, 1, 1e6, 0], [1, 2, 1e6, 0]],
                               routes={"0->2": [0, 2], "2->0": [2, 1, 0], "0->1": [0, 1], "1->0": [1, 0],
                                       "1->2": [1, 2], "2->1": [2, 1]})
    with pytest.raises(ValueError, match="mtu_bits"):
        ef.Topology.chain(["a", "b"], [1, 1], [1e6], [0.0], mtu_bits=1000)
    ring = [[0, 1, 1e6, 0], [1, 2, 1e6, 0], [2, 0, 1e6, 0]]
    with pytest.raises(ValueError, match="visits a tier twice"):
        ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], ring, routes={"0->1": [0, 0, 1]})
    with pytest.raises(ValueError, match="two different tiers"):
        ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], ring, routes={"a->a": [0]})
    with pytest.raises(ValueError, match="more than the limit of 1024"):
        ef.Topology.from_graph(["a", "b"], [1, 1], [[0, 1, 1e6, 0]] * 2000)
    # two tiers joined by parallel links: naming the link by its tiers is ambiguous, by index it is not
    twin = ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], [[0, 1, 1e6, 0.01], [1, 2, 1e6, 0], [0, 1, 5e6, 0.02]])
    with pytest.raises(ValueError, match=r"link = \('a', 'b'\): tiers 0 and 1 are joined by parallel links 0, 2"):
        twin.with_link(("a", "b"), bandwidth=2e6)
    assert twin.with_link(2, bandwidth=2e6).graph["links"][2][2] == 2e6
    # a subnormal bandwidth: 1/bandwidth overflows; the error names the link, not a derived route matrix
    with pytest.raises(ValueError, match=r"bandwidth\[1\] = 1e-320"):
        ef.Topology.chain(["a", "b", "c"], [1, 1, 1], [1e6, 1e-320], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"links\[1\].bandwidth = 1e-320"):
        ef.Topology.from_graph(["a", "b", "c"], [1, 1, 1], [[0, 1, 1e6, 0], [1, 2, 1e-320, 0]])
    with pytest.raises(ValueError, match=r"bandwidth\[0\] = 1e-320"):
        ef.Planner(profile, ef.Topology.chain(["a", "b"], [1, 1], [1e6], [0.0])).set_bandwidth(0, 1e-320)


def test_cost_tables_given_directly():
    """Every public function takes a CostTables of one's own: same answers as the model's own tables."""
    profile, topo, src, dst = instance("everything", 3, N=5, M=3, K=2)
    tables = ef.cost_tables(profile, topo, source=src, destination=dst)
    configs = [(0, [2, 5], [1, 0]), (1, [3], [2])]
    a = ef.evaluate(profile, topo, configs=configs, source=src, destination=dst)
    b = ef.evaluate(tables, configs=configs)
    np.testing.assert_array_equal(a.latency, b.latency)
    assert len(ef.sweep(tables)) == len(ef.sweep(profile, topo, source=src, destination=dst))
    front = ef.pareto(tables)
    assert [p.latency for p in front] == [p.latency for p in ef.pareto(profile, topo, source=src, destination=dst)]
    acc = front[len(front) // 2].accuracy
    assert ef.min_latency(tables, min_accuracy=acc).latency == ef.min_latency(profile, topo, min_accuracy=acc,
                                                                              source=src, destination=dst).latency
    assert ef.max_accuracy(tables, max_latency=front[-1].latency).accuracy == front[-1].accuracy
    planner = Planner.from_tables(tables)
    assert planner.min_latency(min_accuracy=acc).config() == ef.min_latency(profile, topo, min_accuracy=acc, source=src,
                                                                            destination=dst).config()
    assert planner.min_latency(min_accuracy=acc).threshold is None
    assert "tier " in str(planner.min_latency(min_accuracy=acc))
    with pytest.raises(ValueError, match="set_tables"):
        planner.set_bandwidth(0, 1e6)
    planner.set_tables(ef.cost_tables(profile, topo, source=dst, destination=src))
    assert planner.pareto()[0].latency == ef.pareto(profile, topo, source=dst, destination=src)[0].latency
    with pytest.raises(ValueError, match=r"tables.compute_cost: expected shape"):
        ef.evaluate(tables._replace(compute_cost=tables.compute_cost[:, :-1]), configs=configs)


def test_readme_graph_topology_loads():
    """The docs' graph topology (docs/file-formats.md), as written, is a valid file: PORTEND's three tiers on
    bottleneck routes."""
    import re
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parent.parent / "docs" / "file-formats.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "links:" in b)
    topo = ef.Topology.from_dict(yaml.safe_load(block))
    assert topo.route_rule == "bottleneck" and topo.devices == ["a1.medium", "m4.large", None]
    assert topo.path_inv_bandwidth[0, 2] == pytest.approx(1 / 10e6)
    assert topo.path_latency[0, 2] == pytest.approx(0.060 + 72000 / 400e6)


@pytest.mark.parametrize("filler", ["everything", "graph_given_routes"])
def test_cli_plans_each_filler_from_files(filler, tmp_path, capsys):
    from eepart_fast.cli import main

    profile, topo, src, dst = instance(filler, 21, N=5, M=3, K=2)
    profile.save(tmp_path / "p.json")
    topo.save(tmp_path / "t.yaml")
    front = ef.pareto(profile, topo, source=src, destination=dst)
    x = front[len(front) // 2].accuracy
    assert main(["plan", "--profile", str(tmp_path / "p.json"), "--topology", str(tmp_path / "t.yaml"),
                 "--source", str(src), "--destination", str(dst), "--min-accuracy", repr(x), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    best = ef.min_latency(profile, topo, min_accuracy=x, source=src, destination=dst)
    assert out["best"]["latency"] == best.latency and out["best"]["partitions"] == list(best.partitions)
    assert len(out["frontier"]) == len(front)


def test_breakdown_reads_per_threshold_accuracy():
    """A CostTables with a (K, N) accuracy table: the plans' accuracies and their breakdown agree."""
    from eepart_fast.planning.plan import breakdown

    profile, topo, src, dst = instance("everything", 9, N=5, M=3, K=3)
    tables = ef.cost_tables(profile, topo, source=src, destination=dst)
    rng = np.random.default_rng(9)
    tables = tables._replace(accuracy=np.sort(rng.uniform(0.3, 0.95, (3, 5)), axis=1))
    for plan in Planner.from_tables(tables).pareto():
        d = breakdown(tables, *plan.config())
        assert d["accuracy"] == pytest.approx(plan.accuracy, rel=1e-12)
        assert d["latency"] == pytest.approx(plan.latency, rel=1e-12)


def test_sizes_and_mtu_checked_before_routes_are_built():
    # 3,000 tiers would mean 9 million routes of up to 3,000 tiers each: refused before any is built.
    with pytest.raises(ValueError, match="3000 tiers, more than the limit of 16"):
        ef.Topology.chain([f"t{j}" for j in range(3000)], [1.0] * 3000, [1e6] * 2999, [0.0] * 2999)
    with pytest.raises(ValueError, match="17 tiers"):
        ef.Topology.from_graph([f"t{j}" for j in range(17)], [1.0] * 17, [[0, 1, 1e6, 0.0]])
    with pytest.raises(ValueError, match="mtu_bits"):
        ef.Topology.chain(["a", "b", "c"], [1] * 3, [1e6] * 2, [0] * 2, route_rule="bottleneck", mtu_bits=-8)
    with pytest.raises(TypeError, match="mtu_bits"):
        ef.Topology.chain(["a", "b", "c"], [1] * 3, [1e6] * 2, [0] * 2, route_rule="bottleneck", mtu_bits="big")
