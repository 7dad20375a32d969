"""Record quantiles (eepart_fast.planning.tail): the mixture of exits and recorded runs against a brute-force tally
of every (sample, run) pair of the shipped ResNet-20 records."""
import math
from importlib import resources

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.io.records import exit_points, exit_rates, load_records
from eepart_fast.planning import tail

PRESET = "resnet20-fashionmnist"


@pytest.fixture(scope="module")
def shipped():
    profile = ef.Profile.preset(PRESET)
    records = load_records(resources.files("eepart_fast") / "presets" / "profiles" / f"{PRESET}.samples.npz")
    return profile, records


def test_shipped_exit_rates_are_the_records_tallies(shipped):
    profile, records = shipped
    np.testing.assert_array_equal(profile.exit_rate, exit_rates(records["norm_entropy"], profile.thresholds))


def pair_tally(profile, topology, config, records, q):
    """Every profiled sample in every timed run: its exit from its own entropies, its latency from the run's
    block times, summed in plain Python per distinct (exit, run); the ceil(q * pairs)-th smallest."""
    t, P, A = config
    tables = ef.cost_tables(profile, topology)
    branch = exit_points(records["norm_entropy"], profile.thresholds[t])  # 0-based branch per sample
    ends = np.asarray(P)
    part = np.minimum(np.searchsorted(ends, branch + 1), len(P) - 1)  # the partition whose exit it takes
    runs = records["block_seconds"].shape[0]
    lat = np.empty((len(P), runs))
    for r in range(runs):
        clock, prev = float(tables.input_cost[A[0]]), 0
        for k, (end, a) in enumerate(zip(P, A)):
            work = (sum(float(x) for x in records["block_seconds"][r, prev:end])
                    + float(records["branch_seconds"][r, end - 1]))
            clock += topology.ratio[a] * work
            lat[k, r] = clock + tables.result_cost[a]
            if k + 1 < len(P):
                clock += tables.forward_cost[end - 1, a, A[k + 1]]
            prev = end
    every = np.sort(lat[part].ravel())  # (samples x runs) latencies
    return every[math.ceil(q * every.size - 1e-9) - 1]


@pytest.mark.parametrize("config", [(10, [3, 10], [1, 3]), (5, [10], [0]), (19, [2, 5, 10], [0, 1, 2]),
                                    (12, [4, 7], [2, 3]), (0, [9], [3])])
def test_record_quantiles_equal_the_pair_tally(shipped, config):
    profile, records = shipped
    topology = ef.Topology.preset("mobile")
    qs = (0.5, 0.9, 0.99, 0.999, 1.0)
    got = tail.record_quantiles(profile, topology, [config], records, quantiles=qs)[0]
    want = [pair_tally(profile, topology, config, records, q) for q in qs]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_constant_runs_give_the_engine_quantile(shipped):
    """Runs that all take the profile's block times: the mixture is the engine's discrete quantile."""
    profile = shipped[0]
    flat = {"block_seconds": np.tile(profile.block_time, (3, 1)),
            "branch_seconds": np.tile(profile.branch_time, (3, 1))}
    topology = ef.Topology.preset("mobile")
    configs = [(10, [3, 10], [1, 3]), (15, [1, 4, 8], [0, 1, 3])]
    for q in (0.5, 0.99, 1.0):
        got = tail.record_quantiles(profile, topology, configs, flat, quantiles=(q,))[:, 0]
        want = ef.engine.reference.evaluate(ef.cost_tables(profile, topology),
                                            *ef.model.configs.pack_configs(configs, 10, 4, 20),
                                     quantile=q)[0]
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_bad_records_and_tiers_are_refused(shipped):
    profile, records = shipped
    topology = ef.Topology.preset("mobile")
    cfg = [(0, [10], [0])]
    with pytest.raises(ValueError, match=r"records\['block_seconds'\]: expected a \(runs > 0, N = 10\)"):
        tail.record_quantiles(profile, topology, cfg,
                              {"block_seconds": np.zeros((4, 9)), "branch_seconds": np.zeros((4, 10))})
    bad = dict(records, branch_seconds=records["branch_seconds"].copy())
    bad["branch_seconds"][2, 3] = np.nan
    with pytest.raises(ValueError, match=r"records\['branch_seconds'\]\[2, 3\] = nan"):
        tail.record_quantiles(profile, topology, cfg, bad)
    with pytest.raises(ValueError, match="no 'block_seconds'"):
        tail.record_quantiles(profile, topology, cfg, {"branch_seconds": records["branch_seconds"]})
    with pytest.raises(ValueError, match=r"quantile = 1.5: must be in \(0, 1\]"):
        tail.record_quantiles(profile, topology, cfg, records, quantiles=(1.5,))


def test_plan_record_quantiles_are_the_module_function(shipped):
    profile, records = shipped
    topology = ef.Topology.preset("mobile")
    plan = ef.max_accuracy(profile, topology, max_latency=0.1, quantile=0.99)
    got = plan.record_quantiles(records, quantiles=(0.5, 0.99))
    want = tail.record_quantiles(profile, topology, [plan.config()], records, quantiles=(0.5, 0.99))[0]
    assert list(got) == [0.5, 0.99] and list(got.values()) == want.tolist()
    bare = ef.pareto(ef.cost_tables(profile, topology))[0]
    with pytest.raises(ValueError, match="made from CostTables"):
        bare.record_quantiles(records)
