"""One test per validation rule: a clear ValueError or TypeError that names the field (and index)."""
import json

import numpy as np
import pytest

import eepart_fast as ef

from test_worked_example import spec_profile

GOOD = spec_profile().to_dict()


def profile_with(**changes):
    d = {**GOOD, **changes}
    return ef.Profile.from_dict(d)


@pytest.mark.parametrize("field,value,match", [
    ("block_time", [1e-3, 2e-3], r"block_time: expected shape \(3,\), got \(2,\)"),  # N from the others
    ("branch_time", [1e-3, 1e-3], r"branch_time: expected shape \(3,\)"),
    ("output_bits", [[1, 2, 3]], r"output_bits: expected shape"),
    ("accuracy", [0.5, 0.6], r"accuracy: expected shape \(3,\)"),
    ("exit_rate", [[0, 0, 1]], r"exit_rate: 1 row, one per threshold, but thresholds has 2 entries \(expected "
                               r"shape \(2, 3\)\)"),
    ("input_bits", [1, 2], r"input_bits: expected shape \(\)"),
])
def test_wrong_shapes(field, value, match):
    with pytest.raises(ValueError, match=match):
        profile_with(**{field: value})


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_infinite(bad):
    with pytest.raises(ValueError, match=r"block_time\[1\] = .*must be finite"):
        profile_with(block_time=[1e-3, bad, 1e-3])
    with pytest.raises(ValueError, match=r"result_bits = .*must be finite"):
        profile_with(result_bits=bad)


@pytest.mark.parametrize("field", ["block_time", "branch_time", "output_bits"])
def test_negative_times_and_sizes(field):
    value = list(GOOD[field])
    value[2] = -1.0
    with pytest.raises(ValueError, match=rf"{field}\[2\] = -1.0: must be >= 0"):
        profile_with(**{field: value})
    with pytest.raises(ValueError, match=r"input_bits = -5.0: must be >= 0"):
        profile_with(input_bits=-5)


def test_accuracy_outside_unit_interval():
    with pytest.raises(ValueError, match=r"accuracy\[1\] = 1.5: must be in \[0.0, 1.0\]"):
        profile_with(accuracy=[0.5, 1.5, 0.9])
    with pytest.raises(ValueError, match=r"accuracy\[0\] = -0.1"):
        profile_with(accuracy=[-0.1, 0.5, 0.9])


def test_exit_rate_entries_and_row_sums():
    with pytest.raises(ValueError, match=r"exit_rate\[1\]\[0\] = -0.1: must be >= 0"):
        profile_with(exit_rate=[[0, 0, 1], [-0.1, 0.6, 0.5]])
    with pytest.raises(ValueError, match=r"exit_rate\[1\] sums to 0.9.*must sum to 1"):
        profile_with(exit_rate=[[0, 0, 1], [0.3, 0.1, 0.5]])
    profile_with(exit_rate=[[0, 0, 1], [0.3, 0.2, 0.5 + 5e-7]])  # within the 1e-6 tolerance


def test_thresholds_strictly_increasing():
    with pytest.raises(ValueError, match=r"thresholds\[1\] = 0.0: must be > thresholds\[0\] = 0.0"):
        profile_with(thresholds=[0.0, 0.0])


def test_bandwidth_must_be_positive():
    with pytest.raises(ValueError, match=r"bandwidth\[1\] = 0.0: must be > 0"):
        ef.Topology.chain(["a", "b", "c"], [1, 1, 1], [1e6, 0.0], [0.01, 0.01])
    with pytest.raises(ValueError, match=r"bandwidth\[0\] = -1.0"):
        ef.Topology.chain(["a", "b"], [1, 1], [-1.0], [0.01])


def test_topology_shapes_and_values():
    with pytest.raises(ValueError, match=r"ratio: expected shape \(2,\)"):
        ef.Topology.chain(["a", "b"], [1, 1, 1], [1e6], [0.01])
    with pytest.raises(ValueError, match=r"latency\[0\] = -0.01: must be >= 0"):
        ef.Topology.chain(["a", "b"], [1, 1], [1e6], [-0.01])
    with pytest.raises(ValueError, match=r"ratio\[1\] = 0.0: must be > 0"):
        ef.Topology.chain(["a", "b"], [1, 0], [1e6], [0.01])
    with pytest.raises(ValueError, match=r"path_latency\[0\]\[1\] = nan"):
        ef.Topology(["a", "b"], [1, 1], [[0, np.nan], [0, 0]], [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match=r"names\[1\] = 'a': repeats names\[0\]"):
        ef.Topology.chain(["a", "a"], [1, 1], [1e6], [0.01])


def test_unknown_tier_name():
    topo = ef.Topology.preset("mobile")
    with pytest.raises(ValueError, match=r"configs\[0\].A\[1\] = 'moon': unknown tier"):
        ef.evaluate(spec_profile(), topo, configs=[(0, [1, 3], ["cloud", "moon"])], backend="numpy")
    with pytest.raises(ValueError, match=r"destination = 'moon': unknown tier"):
        ef.sweep(spec_profile(), topo, destination="moon", backend="numpy")
    with pytest.raises(ValueError, match=r"topology preset 'mars' is unknown"):
        ef.Topology.preset("mars")


def test_source_and_destination_out_of_range():
    topo = ef.Topology.preset("mobile")
    with pytest.raises(ValueError, match=r"source = 4: out of range for 4 tiers"):
        ef.sweep(spec_profile(), topo, source=4, backend="numpy")
    with pytest.raises(ValueError, match=r"destination = -1: out of range"):
        ef.evaluate(spec_profile(), topo, configs=[(0, [3], [0])], destination=-1, backend="numpy")


CONFIG_RULES = [
    ((0, [2, 1], [0, 1]), ValueError, r"configs\[0\].P\[1\] = 1: must be > P\[0\] = 2"),
    ((0, [1, 1], [0, 1]), ValueError, r"configs\[0\].P\[1\] = 1: must be > P\[0\] = 1"),
    ((0, [1, 4], [0, 1]), ValueError, r"configs\[0\].P\[1\] = 4: block counts must be in 1..N = 3"),
    ((0, [0, 2], [0, 1]), ValueError, r"configs\[0\].P\[0\] = 0: block counts must be in 1..N"),
    ((0, [1, 2], [1, 1]), ValueError, r"configs\[0\].A\[1\] = 1: tier repeated"),
    ((0, [1, 2, 3], [0, 1]), ValueError, r"configs\[0\].A = \[0, 1\]: 2 tiers for 3 partitions"),
    ((2, [3], [0]), ValueError, r"configs\[0\].t = 2: threshold index out of range 0..1"),
    ((-1, [3], [0]), ValueError, r"configs\[0\].t = -1"),
    ((0.5, [3], [0]), TypeError, r"configs\[0\].t: expected an integer"),
    ((0, [3], [7]), ValueError, r"configs\[0\].A\[0\] = 7: out of range for 4 tiers \(0..3\)"),
    ((0, [], []), ValueError, r"configs\[0\].P = \[\]: L = 0 partitions"),
    ((0, [3],), TypeError, r"configs\[0\]: expected a \(t, P, A\) tuple"),
]


@pytest.mark.parametrize("config,exc,match", CONFIG_RULES)
def test_configuration_rules(backend, config, exc, match):
    with pytest.raises(exc, match=match):
        ef.evaluate(spec_profile(), ef.Topology.preset("mobile"), configs=[config], backend=backend)


def test_more_partitions_than_tiers(backend):
    two = ef.Topology.chain(["a", "b"], [1, 1], [1e6], [0.01])
    with pytest.raises(ValueError,
                       match=r"configs\[0\].P = \[1, 2, 3\]: L = 3 partitions, must be in 1..min\(M, N\) = 2"):
        ef.evaluate(spec_profile(), two, configs=[(0, [1, 2, 3], [0, 1, 0])], backend=backend)


def test_files_name_the_problem(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({k: v for k, v in GOOD.items() if k != "accuracy"}))
    with pytest.raises(ValueError, match=r"missing field 'accuracy'"):
        ef.Profile.load(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"not valid JSON"):
        ef.Profile.load(bad)
    topo = tmp_path / "t.yaml"
    topo.write_text("names: [a, b]\nratio: [1, 1]\nbandwidth: [0]\nlatency: [0.01]\n")
    with pytest.raises(ValueError, match=r"bandwidth\[0\] = 0.0: must be > 0"):
        ef.Topology.load(topo)


def test_bounds_and_backend_names():
    with pytest.raises(ValueError, match=r"min_accuracy = nan"):
        ef.sweep(spec_profile(), ef.Topology.preset("mobile"), min_accuracy=float("nan"), backend="numpy")
    with pytest.raises(ValueError, match=r"backend = 'fortran': unknown"):
        ef.sweep(spec_profile(), ef.Topology.preset("mobile"), backend="fortran")
