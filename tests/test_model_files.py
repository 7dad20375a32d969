"""Profile and Topology: presets as the paper's table, files that round-trip, chains routed as docs/model.md says."""
import numpy as np
import pytest

import eepart_fast as ef

from test_worked_example import spec_profile


def test_mobile_preset_matches_spec():
    t = ef.Topology.preset("mobile")
    assert t.names == ["smartwatch", "smartphone", "edge server", "cloud"]
    np.testing.assert_array_equal(t.ratio, [500, 10, 2.5, 1])
    # watch -> cloud crosses all three links, each transmitting the whole message.
    assert t.path_latency[0, 3] == pytest.approx(0.006 + 0.040 + 0.050, rel=1e-15)
    assert t.path_inv_bandwidth[3, 0] == pytest.approx(1 / 500e3 + 1 / 10e6 + 1 / 500e6, rel=1e-15)
    assert t.path_latency[2, 1] == pytest.approx(0.040)
    assert np.all(np.diag(t.path_latency) == 0)


def test_iot_preset_matches_spec():
    t = ef.Topology.preset("iot")
    np.testing.assert_array_equal(t.ratio, [100, 5, 2.5, 1])
    assert t.path_inv_bandwidth[0, 1] == pytest.approx(1 / 10e6)
    assert t.path_latency[1, 3] == pytest.approx(0.060)


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_topology_round_trip(tmp_path, suffix):
    for topo in (ef.Topology.preset("iot"),
                 ef.Topology(["x", "y"], [2.0, 1.0], [[0, 0.1], [0.2, 0]], [[0, 1e-6], [2e-6, 0]])):
        path = tmp_path / f"topo{suffix}"
        topo.save(path)
        back = ef.Topology.load(path)
        assert back.names == topo.names
        np.testing.assert_array_equal(back.path_latency, topo.path_latency)
        np.testing.assert_array_equal(back.path_inv_bandwidth, topo.path_inv_bandwidth)


def test_profile_round_trip(tmp_path):
    p = spec_profile()
    p.meta = {"backbone": "toy"}
    p.save(tmp_path / "p.json")
    back = ef.Profile.load(tmp_path / "p.json")
    for field in ("block_time", "branch_time", "output_bits", "accuracy", "thresholds", "exit_rate"):
        np.testing.assert_array_equal(getattr(back, field), getattr(p, field))
    assert back.input_bits == p.input_bits and back.meta == {"backbone": "toy"}


def test_cost_tables_follow_the_paper():
    p, t = spec_profile(), ef.Topology.preset("mobile")
    tables = ef.cost_tables(p, t, source=0, destination="cloud")
    assert (tables.N, tables.M, tables.K) == (3, 4, 2)
    # compute_cost[a][p][q] = R[a] * (sum CK_{p+1..q} + CB_q)
    assert tables.compute_cost[1, 0, 2] == pytest.approx(10 * (2e-3 + 3e-3 + 0.5e-3), rel=1e-15)
    assert tables.compute_cost[3, 1, 3] == pytest.approx(1 * (3e-3 + 4e-3 + 1e-3), rel=1e-15)
    assert tables.compute_cost[0, 2, 1] == 0.0
    assert tables.forward_cost[0, 0, 1] == pytest.approx(0.006 + 262144 / 500e3, rel=1e-15)
    assert tables.input_cost[0] == 0.0
    assert tables.result_cost[3] == 0.0  # the destination itself
    assert tables.result_cost[0] == pytest.approx(0.096 + 320 * (1 / 500e3 + 1 / 10e6 + 1 / 500e6), rel=1e-15)
    np.testing.assert_array_equal(tables.cum_exit, [[0, 0, 0, 1], [0, 0.3, 0.5, 1]])
