"""The study file: scenarios numbered as documented, parameters applied as the Planner applies them, and
bad input a clear error naming the field (checked before anything large is built)."""
import numpy as np
import pytest

pytest.importorskip("pyarrow", reason="needs the study extra: pip install 'eepart_fast[study]'")

import eepart_fast as ef
from eepart_fast.cli import main
from eepart_fast.study import apply_params, load_study, scenario

BASE = {"profiles": ["resnet20-fashionmnist"], "topologies": ["mobile"], "bounds": [{"min_accuracy": 0.9}]}


def study(**changes):
    d = dict(BASE)
    d.update(changes)
    return d


def test_scenarios_are_numbered_bound_fastest(tmp_path):
    (tmp_path / "t.csv").write_text("time,bandwidth[0],ratio[micro datacenter]\n0,1e7,5\n1,2e7,4\n")
    spec = load_study(study(
        profiles=["resnet20-fashionmnist", "mobilenetv2-fashionmnist"],
        topologies=[{"topology": "mobile", "grid": {"bandwidth[1]": ["1e6", 2e6, 3e6], "latency[smartwatch,smartphone]":
                                                    {"linspace": [0.01, 0.02, 2]}}},
                    {"topology": "iot", "trace": "t.csv", "destinations": [0, "global cloud"]}],
        bounds=[{"min_accuracy": 0.9}, {"max_latency": 0.1}]), base_dir=tmp_path)
    # per profile: mobile 3*2 variants x 1 destination + iot 2 variants x 2 destinations; x 2 bounds
    assert spec.scenarios == 2 * (6 + 4) * 2 == 40
    assert spec.param_columns() == ["bandwidth[1]", "latency[0]", "bandwidth[0]", "ratio[1]"]
    sc = scenario(spec, 3)  # profile 0, mobile, variant 1 (bandwidth 1e6, latency 0.02), bound 1
    assert sc["params"] == {"bandwidth[1]": 1e6, "latency[0]": 0.02} and sc["bound"] == {"max_latency": 0.1}
    assert sc["topology"].links == {"bandwidth": [500e3, 1e6, 500e6], "latency": [0.02, 0.040, 0.050]}
    sc = scenario(spec, 12 + 2 * 2 + 1)  # profile 0, iot, destination 3, trace row 0, bound 1
    assert sc["topology_label"] == "iot" and sc["destination"] == 3 and sc["params"] == {"bandwidth[0]": 1e7,
                                                                                       "ratio[1]": 5.0}
    assert sc["topology"].ratio.tolist() == [100.0, 5.0, 2.5, 1.0]
    assert scenario(spec, 20)["profile_label"] == "mobilenetv2-fashionmnist"
    with pytest.raises(IndexError):
        scenario(spec, 40)


def test_apply_params_is_what_the_planner_does():
    rng = np.random.default_rng(0)
    lat = rng.uniform(0, 0.05, (3, 3))
    lat = (lat + lat.T) / 2
    np.fill_diagonal(lat, 0)
    routes = ef.Topology(["a", "b", "c"], [10, 2, 1], lat, np.where(lat > 0, 1e-7, 0))
    profile = ef.Profile.preset("resnet20-fashionmnist")
    for topo, items in ((ef.Topology.preset("iot"), [("bandwidth[2]", 3e8), ("latency[0]", 0.02), ("ratio[3]", 1.5)]),
                        (routes, [("bandwidth[a,c]", 5e6), ("latency[b,c]", 0.001), ("ratio[b]", 3.0)])):
        spec = load_study(study(topologies=[{"topology": topo.to_dict(), "grid": {k: [v] for k, v in items}}]))
        axis = spec.topologies[0]
        planner = ef.Planner(profile, topo)
        for p, (_, v) in zip(axis.params, items):
            {"bandwidth": planner.set_bandwidth, "latency": planner.set_latency, "ratio": planner.set_ratio}[p.field](
                p.key, v)
        direct = ef.Planner(profile, apply_params(topo, params=axis.params, values=axis.values[0]))
        for a, b in zip(planner.tables, direct.tables):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("changes,needle", [
    ({"colour": 1}, "unknown field 'colour'"),
    ({"profiles": ["nope"]}, "profiles[0] = 'nope'"),
    ({"topologies": [{"topology": "mobile", "grid": {"bandwidth[3]": [1e6]}}]}, "link index out of range"),
    ({"topologies": [{"topology": "mobile", "grid": {"speed[1]": [1e6]}}]}, "'speed[1]' must be"),
    ({"topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": [1e6, -5]}}]}, "bandwidth[1][1] = -5.0"),
    ({"topologies": [{"topology": "mobile", "grid": {"latency[0]": ["soon"]}}]}, "latency[0][0]: expected a number"),
    ({"topologies": [{"topology": "mobile", "grid": {"ratio[moon]": [1]}}]}, "unknown tier"),
    ({"topologies": [{"topology": "mobile", "grid": {"bandwidth[0,2]": [1]}}]}, "not neighbours"),
    ({"topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": {"geomspace": [0, 1, 3]}}}]}, "must be > 0"),
    ({"topologies": [{"topology": "mobile", "grid": {"bandwidth[0]": {"linspace": [1, 2, 10**5]},
                                                     "bandwidth[1]": {"linspace": [1, 2, 10**5]}}}]},
     "more than 10,000,000 points"),
    ({"topologies": ["mobile", "mobile"]}, "repeats topologies[0]"),
    ({"topologies": [{"topology": "mobile", "sources": ["cloud", 7]}]}, "sources[1] = 7"),
    ({"bounds": [{"min_accuracy": 0.9}, {}]}, "bounds[1] = {}: compute 'plans' needs"),
    ({"bounds": [{"max_latency_ms": 3}]}, "unknown field 'max_latency_ms'"),
    ({"bounds": [{"min_accuracy": float("nan")}]}, "must be finite"),
    # 90 meant 90 %: refused as the CLI's --min-accuracy refuses it, not a study of no plans
    ({"bounds": [{"min_accuracy": 90}]}, "bounds[0].min_accuracy = 90: an accuracy is a fraction in [0, 1]"),
    ({"bounds": [{"min_accuracy": -0.5}]}, "bounds[0].min_accuracy = -0.5: an accuracy is a fraction"),
    ({"compute": ["plans", "everything"]}, "compute[1] = 'everything'"),
    ({"batch_size": 0}, "batch_size = 0"),
    ({"backend": "tpu"}, "backend = 'tpu'"),
    # an empty axis would be a study of no scenarios that "succeeds" and writes nothing
    ({"profiles": []}, "profiles: needs at least one"),
    ({"topologies": []}, "topologies: needs at least one"),
    ({"bounds": []}, "bounds: needs at least one"),
    ({"compute": []}, "compute: needs at least one"),
    ({"max_memory_gb": 1e300}, "max_memory_gb = 1e+300"),
    # 1/bandwidth overflows to inf: refused at load, naming the value, not in every task of the run
    ({"topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": [1e6, 1e-320]}}]}, "bandwidth[1][1] = 1e-320"),
])
def test_bad_study_names_the_field(changes, needle):
    with pytest.raises((ValueError, TypeError)) as err:
        load_study(study(**changes))
    assert needle in str(err.value)


@pytest.mark.parametrize("text,needle", [
    ("bandwidth[1]\n1e6\nfast\n", "line 3, column 'bandwidth[1]': 'fast' is not a number"),
    ("bandwidth[1],time\n1e6\n", "line 2: 1 fields, the header has 2"),
    ("bandwidth[1]\n0\n", "bandwidth must be > 0"),
    ("time\n1\n", "no parameter column"),
    ("bandwidth[1]\n", "at least one row"),
    # one quantity in two columns: which value a scenario plans on would be a silent choice
    ("bandwidth[1],bandwidth[1]\n1e6,2e6\n", "varies bandwidth[1] twice"),
    ('bandwidth[1],"bandwidth[smartphone,edge server]"\n1e6,2e6\n', "varies bandwidth[1] twice"),
])
def test_bad_trace_names_line_and_column(tmp_path, text, needle):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(ValueError) as err:
        load_study(study(topologies=[{"topology": "mobile", "trace": "t.csv"}]), base_dir=tmp_path)
    assert needle in str(err.value)


def test_cli_bad_study_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "s.yaml").write_text("profiles: [resnet20-fashionmnist]\ntopologies: [mars]\n")
    assert main(["study", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("eepart: error:") and "mars" in err


def test_scenario_ids_name_what_is_planned(tmp_path):
    """The same network spelled two ways (a preset with a grid, a file with the values in it) has the same id;
    another bound, another id. Batches run here, in-process, as a worker runs them."""
    from eepart_fast.study.runner import make_batches
    from eepart_fast.study.tasks import run_batch
    pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra: pip install 'eepart_fast[study]'")

    mobile = ef.Topology.preset("mobile")
    ef.Topology.chain(mobile.names, mobile.ratio, [500e3, 2e7, 500e6], [0.006, 0.040, 0.050]).save(tmp_path / "t.yaml")
    spec = load_study(study(topologies=[{"topology": "mobile", "grid": {"bandwidth[1]": [1e7, 2e7]}}, "t.yaml"],
                            bounds=[{"min_accuracy": 0.9}, {"min_accuracy": 0.8}]), base_dir=tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    for batch in make_batches(spec, out, np.zeros(spec.scenarios, bool), 3):
        run_batch(batch)
    ids = pq.read_table(out).to_pandas().groupby("scenario").scenario_id.first()
    for part in out.glob("part-*"):  # each part names its schema version, as a sweep's file does
        assert pq.read_schema(part).metadata[b"eepart.schema"] == b"2"
    # scenarios: mobile 1e7 (0.9, 0.8), mobile 2e7 (0.9, 0.8), file (0.9, 0.8)
    assert ids[2] == ids[4] and ids[3] == ids[5]
    assert len({ids[0], ids[1], ids[2], ids[3]}) == 4



def test_network_digests_are_the_topology_hashes_of_the_networks_planned():
    """A task hashes a chain's networks from their links, with no Topology made: the hash of the topology
    plan_many plans each on, a -0.0 latency (kept as given) included."""
    from eepart_fast.planning.batch import _Batch
    from eepart_fast.study.spec import topology_hash
    from eepart_fast.study.tasks import _network_digests

    profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    cols = {"bandwidth": {0: [1e5, 2e5, 2e5, 3e5], 2: [1e9, 1e9, 2e9, 1e9]}, "latency": {1: [0.01, -0.0, 0.02, 0.0]}}
    planned = _Batch(profile, topology, cols, source=0, destination=0, problem="frontier")
    digests = _network_digests(planned)
    assert digests.count(None) == 1  # the -0.0 one: left to topology_hash
    for i in range(4):
        u = planned.sc.inverse[i]
        assert digests[u] in (None, topology_hash(planned.topology(i)))
    assert len(set(digests)) == 4

def measured_network(tmp_path):
    """A profile with one measured device and a graph topology that uses it, with serialisation and
    PORTEND's bottleneck routes: every field apply_params must keep."""
    profile = ef.Profile.preset("resnet20-fashionmnist")
    n = profile.N
    profile = profile.with_device("a1", {"block_time": [5e-2] * n, "branch_time": [1e-3] * n})
    profile.save(tmp_path / "p.json")
    topo = ef.Topology.from_graph(["device", "station", "cloud"], [1.0, 4.0, 1.0],
                                  [["device", "station", 1e7, 0.02], ["station", "cloud", 4e8, 0.04],
                                   ["device", "cloud", 1e6, 0.2]],
                                  route_rule="bottleneck", mtu_bits=72000, devices=["a1", None, None],
                                  serialize=[2e-9, 1e-9, 0], deserialize=[0, 1e-9, 1e-9])
    return profile, topo


def test_apply_params_keeps_every_field_of_a_graph_topology(tmp_path):
    profile, topo = measured_network(tmp_path)
    items = [("bandwidth[device,station]", 3e6), ("latency[1]", 0.01), ("ratio[cloud]", 0.5)]
    spec = load_study(study(profiles=["p.json"], topologies=[{"topology": topo.to_dict(),
                                                              "grid": {k: [v] for k, v in items}}]),
                      base_dir=tmp_path)
    axis = spec.topologies[0]
    assert [p.column for p in axis.params] == ["bandwidth[0]", "latency[1]", "ratio[2]"]
    applied = apply_params(topo, params=axis.params, values=axis.values[0])
    assert applied.devices == ["a1", None, None] and applied.route_rule == "bottleneck" and applied.mtu_bits == 72000
    assert applied.serialize.tolist() == [2e-9, 1e-9, 0] and applied.deserialize.tolist() == [0, 1e-9, 1e-9]
    assert applied.graph["links"][0][2:] == [3e6, 0.02] and applied.graph["links"][1][2:] == [4e8, 0.01]
    assert applied.ratio.tolist() == [1.0, 4.0, 0.5]
    planner = ef.Planner(profile, topo)
    for p, (_, v) in zip(axis.params, items):
        {"bandwidth": planner.set_bandwidth, "latency": planner.set_latency, "ratio": planner.set_ratio}[p.field](
            p.key, v)
    direct = ef.Planner(profile, applied)
    for a, b in zip(planner.tables, direct.tables):
        np.testing.assert_array_equal(a, b)
    # The scenario as spelled out is what the planner planned, to the bit.
    assert scenario(spec, 0)["topology"].to_dict() == planner.topology.to_dict()


def test_study_checks_devices_before_running(tmp_path):
    _, topo = measured_network(tmp_path)
    with pytest.raises(ValueError, match=r"ratio\[0\] varies the ratio of tier 'device', which computes with "
                                         r"device 'a1'"):
        load_study(study(profiles=["p.json"], topologies=[{"topology": topo.to_dict(), "grid": {"ratio[0]": [2]}}]),
                   base_dir=tmp_path)
    with pytest.raises(ValueError, match=r"profile 'resnet20-fashionmnist' on topology 'topology': devices\[0\] = "
                                         r"'a1' \(tier 'device'\): the profile has no measurements of that device"):
        load_study(study(topologies=[{"topology": topo.to_dict()}]))


def test_a_study_on_a_graph_plans_what_single_calls_plan(tmp_path):
    from eepart_fast.study.runner import make_batches
    from eepart_fast.study.tasks import run_batch
    pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra: pip install 'eepart_fast[study]'")

    profile, topo = measured_network(tmp_path)
    spec = load_study(study(profiles=["p.json"], topologies=[{"topology": topo.to_dict(), "grid": {
        "bandwidth[station,cloud]": [1e6, 1e8], "latency[2]": [0.001, 0.3]}}], bounds=[{"min_accuracy": 0.9}]),
        base_dir=tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    for batch in make_batches(spec, out, np.zeros(spec.scenarios, bool), 2):
        run_batch(batch)
    from eepart_fast.io.arrow import partitions_placement

    table = pq.read_table(out).sort_by("scenario")
    rows, (_, A) = table.to_pandas(), partitions_placement(table)
    placement = [tuple(int(a) for a in r[r >= 0]) for r in A]
    assert len(rows) == spec.scenarios == 4
    for (_, row), tiers in zip(rows.iterrows(), placement):
        sc = scenario(spec, int(row.scenario))
        plan = ef.min_latency(profile, sc["topology"], min_accuracy=0.9)
        assert row.latency == plan.latency and tiers == tuple(plan.placement)
    # The direct device -> cloud link's latency decides between the cloud and the station.
    assert placement == [(2,), (1,), (2,), (1,)]


def test_study_file_follows_the_topology_files_yaml_rules(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("profiles: [resnet20-fashionmnist]\ntopologies:\n  - topology: mobile\n    grid:\n"
                    "      bandwidth[1]: [5e6, 1e7]\nbounds: [{min_accuracy: 0.9}]\n")
    assert load_study(path).topologies[0].values[:, 0].tolist() == [5e6, 1e7]  # YAML 1.2 numbers
    path.write_text("profiles: [resnet20-fashionmnist]\nx: &b [{min_accuracy: 0.9}]\ntopologies: [mobile]\n"
                    "bounds: *b\n")
    with pytest.raises(ValueError, match=r"study file .*: line 4: YAML aliases \(\*b\) are not accepted"):
        load_study(path)
    path.write_text("profiles: " + "[" * 100 + "]" * 100 + "\n")
    with pytest.raises(ValueError, match=r"nested more than 32 levels deep"):
        load_study(path)


def test_a_study_file_that_is_not_yaml_is_named_with_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nprofiles: [resnet20-fashionmnist\ntopologies: [mobile]\n")
    with pytest.raises(ValueError) as err:
        load_study(path)
    assert str(err.value) == (f"study file {str(path)!r}: not valid YAML (line 3, column 11: expected ',' or ']', "
                              "but got ':')")
