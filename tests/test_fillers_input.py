"""The cost-table fillers' inputs under issue 12's rules: the new topology and profile fields (graph links and
routes, route rule, devices, serialisation, measured times) parse numbers strictly, check their limits before
building anything, and any cost they overflow is refused once, by finite_costs, wherever tables are made
(cost_tables, a Planner's snapshots, a CostTables of one's own)."""
import json
import math

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast._checks import MAX_DEVICES

NAMES = ["device", "station", "cloud"]
LINKS = [["device", "station", 1e7, 0.02], ["station", "cloud", 4e8, 0.04]]


def graph(**changes):
    d = {"names": NAMES, "ratio": [1.0, 1.0, 1.0], "links": [list(x) for x in LINKS]}
    d.update(changes)
    return d


def small_profile(**changes):
    d = {"block_time": [1e-3, 2e-3, 3e-3], "branch_time": [1e-4, 1e-4, 1e-4], "output_bits": [1e4, 1e4, 1e4],
         "input_bits": 1e5, "result_bits": 100.0, "accuracy": [0.5, 0.7, 0.9], "thresholds": [0.1, 0.5],
         "exit_rate": [[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]}
    d.update(changes)
    return d


@pytest.mark.parametrize("changes, error, needle", [
    ({"links": [["device", "station", "1e7", 0.02]]}, TypeError, r"links\[0\]\.bandwidth = '1e7': expected a number"),
    ({"links": [["device", "station", True, 0.02]]}, TypeError, r"links\[0\]\.bandwidth = True"),
    ({"links": [["device", "station", 1e7, None]]}, ValueError, r"links\[0\]\.latency is null"),
    ({"links": [[0.0, 1, 1e7, 0.02]]}, TypeError, r"links\[0\]\[0\]: expected an integer, got 0\.0"),
    ({"links": [{"between": 5, "bandwidth": 1e7, "latency": 0.0}]}, ValueError, r"links\[0\]\.between = 5"),
    ({"links": [{"between": [0, 1], "bandwidth": 1e7, "latency": 0.0, "mtu": 1}]}, ValueError,
     r"links\[0\]: unknown field 'mtu'"),
    ({"links": "device-station"}, TypeError, r"links: expected a list"),
    ({"routes": {7: [0, 1]}}, ValueError, r"routes key 7: expected 'a->b'"),
    ({"routes": {"device->cloud": "device,cloud"}}, ValueError, r"expected a list of at most 3 tiers"),
    ({"route_by": ["latency"]}, ValueError, r"route_by = \['latency'\]: must be one of"),
    ({"route_rule": ["bottleneck"]}, ValueError, r"route_rule = \['bottleneck'\]: must be one of"),
    ({"mtu_bits": "9000", "route_rule": "bottleneck"}, TypeError, r"mtu_bits = '9000': expected a number"),
    ({"devices": {"device": "a1"}}, ValueError, r"devices: expected a list of 3 device names"),
    ({"devices": ["a1", 3, None]}, TypeError, r"devices\[1\]: expected a device name or null, got 3"),
    ({"serialize": [1e-9, "0", 0]}, TypeError, r"serialize\[1\] = '0': expected a number"),
    ({"deserialize": [1e-9, -1.0, 0]}, ValueError, r"deserialize\[1\] = -1\.0: must be >= 0"),
])
def test_graph_fields_are_strict(changes, error, needle):
    with pytest.raises(error, match=needle):
        ef.Topology.from_dict(graph(**changes))


def test_graph_limits_are_checked_before_reading():
    # Entries that would each be an error: the count is refused first, naming the limit.
    with pytest.raises(ValueError, match=r"links: 1025 entries, more than the limit of 1024"):
        ef.Topology.from_dict(graph(links=[None] * 1025))
    with pytest.raises(ValueError, match=r"routes: 7 entries, more than the 6 pairs of 3 tiers"):
        ef.Topology.from_dict(graph(routes={str(i): None for i in range(7)}))
    with pytest.raises(ValueError, match=r"names: 17 tiers, more than the limit of 16"):
        ef.Topology.from_dict(graph(names=[f"t{j}" for j in range(17)], ratio=[None]))


def test_graph_yaml_reads_as_yaml_1_2_and_refuses_aliases(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("names: [device, station, cloud]\nratio: [1, 1, 1]\nlinks:\n  - [device, station, 10e6, 2e-2]\n"
                    "  - [station, cloud, 400e6, 0.04]\nroute_rule: bottleneck\nmtu_bits: 72e3\n")
    t = ef.Topology.load(path)
    assert t.graph["links"] == [[0, 1, 1e7, 0.02], [1, 2, 4e8, 0.04]] and t.mtu_bits == 72000.0
    # device -> cloud: latencies add up, the slower link paces the message, the faster adds one fragment.
    assert t.path_latency[0, 2] == math.fsum([0.02, 0.04, 72000.0 / 4e8]) and t.path_inv_bandwidth[0, 2] == 1 / 1e7
    path.write_text("names: [device, station, cloud]\nratio: [1, 1, 1]\nlinks:\n  - &l [device, station, 1, 0]\n"
                    "  - *l\n")
    with pytest.raises(ValueError, match=r"YAML aliases \(\*l\) are not accepted"):
        ef.Topology.load(path)


def test_profile_devices_are_strict_and_capped():
    n_parts = [[1, 1, 1e-3], [1, 2, 2e-3], [1, 3, 3e-3], [2, 2, 1e-3], [2, 3, 2e-3], [3, 3, 1e-3]]
    ok = ef.Profile.from_dict(small_profile(devices={"a1": {"partition_time": n_parts}}))
    assert ok.devices["a1"].partition[0, 3] == 3e-3
    bad = [row[:] for row in n_parts]
    bad[4][2] = "2e-3"
    with pytest.raises(TypeError, match=r"devices\['a1'\]\.partition_time\[4\]\[2\] = '2e-3': expected a number"):
        ef.Profile.from_dict(small_profile(devices={"a1": {"partition_time": bad}}))
    bad[4] = [2, 3.0, 2e-3]
    with pytest.raises(TypeError, match=r"partition_time\[4\]\[1\]: expected an integer, got 3\.0"):
        ef.Profile.from_dict(small_profile(devices={"a1": {"partition_time": bad}}))
    with pytest.raises(TypeError, match=r"devices\['a1'\]\.block_time\[0\] = False"):
        ef.Profile.from_dict(small_profile(devices={"a1": {"block_time": [False, 1, 1], "branch_time": [0, 0, 0]}}))
    with pytest.raises(ValueError, match=r"serialize_time\[2\] = inf: must be finite"):
        ef.Profile(**small_profile(devices={"a1": {"partition_time": n_parts,
                                                   "serialize_time": [0, 0, np.inf, 0, 0]}}))
    # Too many devices: refused before any device's (N+1, N+1) table is built (the entries are not read).
    many = {f"d{i}": None for i in range(MAX_DEVICES + 1)}
    with pytest.raises(ValueError, match=rf"devices: {MAX_DEVICES + 1} devices, more than the limit of {MAX_DEVICES}"):
        ef.Profile.from_dict(small_profile(devices=many))


def test_profile_file_with_devices_keeps_the_file_limits(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(small_profile(devices={"a1": {"block_time": [1e-3] * 3, "branch_time": [0] * 3}})))
    assert ef.Profile.load(path).devices["a1"].partition[0, 2] == 2e-3
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(ValueError, match="nested too deeply to be a profile"):
        ef.Profile.load(path)


def serialising(per_bit):
    profile = ef.Profile.from_dict(small_profile())
    return profile, ef.Topology.from_dict(graph(serialize=[per_bit, 0, 0], deserialize=[0, 0, 0]))


def test_overflowing_serialisation_is_refused_by_finite_costs():
    profile, topology = serialising(1e299)  # x 1e5 input bits: 1e304 s to serialise the input
    needle = r"input_cost\[1\] = [0-9.]+e\+304 s: costs must be finite and at most 1e\+300 s"
    with pytest.raises(ValueError, match=needle):
        ef.cost_tables(profile, topology)
    with pytest.raises(ValueError, match=needle):
        ef.Planner(profile, topology, backend="numpy").pareto()
    with pytest.raises(ValueError, match=needle):
        ef.sweep(profile, topology, backend="numpy")


def test_overflowing_measured_compute_is_refused():
    parts = [[p + 1, q, 1e301 if (p, q) == (0, 3) else 1e-3] for p in range(3) for q in range(p + 1, 4)]
    profile = ef.Profile.from_dict(small_profile(devices={"big": {"partition_time": parts}}))
    topology = ef.Topology.from_dict(graph(devices=["big", None, None]))
    with pytest.raises(ValueError, match=r"compute_cost\[0\]\[0\]\[3\] = 1e\+301 s: costs must be finite"):
        ef.cost_tables(profile, topology)


def test_planner_snapshot_after_a_change_is_checked():
    """A link changed so that a transfer overflows: the search on that snapshot is refused (not the change,
    which only derives tables), and the error names the table, the place and the value."""
    profile, topology = serialising(0.0)
    planner = ef.Planner(profile, topology, backend="numpy")
    before = planner.min_latency(min_accuracy=0.0)
    planner.set_bandwidth(("station", "cloud"), 1e-300)  # the input's 1e5 bits / 1e-300 bit/s
    with pytest.raises(ValueError, match=r"input_cost\[2\] = 1e\+305 s: costs must be finite"):
        planner.pareto()
    planner.set_bandwidth(1, 4e8)  # the same link by its index: back to planning
    assert planner.min_latency(min_accuracy=0.0).latency == before.latency


def test_own_cost_tables_are_checked_like_the_models():
    t = ef.cost_tables(ef.Profile.from_dict(small_profile()), ef.Topology.from_dict(graph()))
    with pytest.raises(ValueError, match=r"compute_cost\[1\]\[0\]\[2\] = inf s: costs must be finite"):
        compute = t.compute_cost.copy()
        compute[1, 0, 2] = np.inf
        ef.pareto(t._replace(compute_cost=compute))
    with pytest.raises(ValueError, match=r"result_cost\[0\] = nan s"):
        ef.Planner.from_tables(t._replace(result_cost=np.array([np.nan, 0.0, 0.0])))
    with pytest.raises(TypeError, match=r"tables.input_cost: expected an array of numbers, got <U"):
        ef.evaluate(t._replace(input_cost=np.array(["0", "1", "2"])), configs=[(0, [3], [0])])
    with pytest.raises(ValueError, match=r"tables.forward_cost: expected 3 dimensions, got shape \(\)"):
        ef.sweep(t._replace(forward_cost=np.float64(1.0)))


def test_route_changes_take_strict_numbers():
    lat = np.array([[0, 0.01, 0.02], [0.01, 0, 0.01], [0.02, 0.01, 0]])
    t = ef.Topology(NAMES, [1, 1, 1], lat, lat * 1e-6)
    with pytest.raises(TypeError, match=r"bandwidth = '5e6': expected a number"):
        t.with_link(("device", "cloud"), bandwidth="5e6")
    with pytest.raises(TypeError, match=r"latency = True: expected a number"):
        t.with_link((0, 2), latency=True)
    assert t.with_link((2, 0), bandwidth=5e6).path_inv_bandwidth[0, 2] == 1 / 5e6
