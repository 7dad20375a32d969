"""The adaptive runtime's estimator and switching rule, by hand: no processes."""
import pytest

from eepart_fast.runtime.adapt import LinkEstimator, Switcher

TABLE = {"parameter": "bandwidth", "rows": [{"low": 1e6, "high": 4e6, "plan": 0}, {"low": 4e6, "high": 10e6, "plan": 1},
                                            {"low": 10e6, "high": 10.2e6, "plan": 0},
                                            {"low": 10.2e6, "high": 50e6, "plan": 2}]}


def test_windowed_harmonic_mean_by_hand():
    e = LinkEstimator(window=4)
    assert e.estimate is None
    for v in (8e6, 8e6, 8e6, 8e6, 2e6):       # the first 8 leaves the window
        e.observe(v)
    assert e.estimate == pytest.approx(4 / (3 / 8e6 + 1 / 2e6), rel=1e-15)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        e.observe(bad)                        # ignored: no throughput
    assert e.count == 5
    d = LinkEstimator(window=2, parameter="latency")
    for v in (0.01, 0.03, 0.05):
        d.observe(v)
    assert d.estimate == pytest.approx(0.04)
    with pytest.raises(ValueError, match="window = 0"):
        LinkEstimator(window=0)


def test_hysteresis_keeps_a_plan_near_its_breakpoint_and_switches_past_it():
    # 5 %: up past 4 x 1.05 = 4.2 Mbit/s, down past 4 / 1.05 = 3.8095 Mbit/s
    sw = Switcher(TABLE, plan=0, window=1, hysteresis=0.05)
    for i, (v, want) in enumerate([(4.1e6, 0), (4.19e6, 0), (4.21e6, 1), (3.9e6, 1), (3.81e6, 1), (3.8e6, 0)]):
        sw.observe(v, t=float(i))
        assert sw.decide(t=float(i), sample=i) == want, (v, want)
    assert [(s["sample"], s["old"], s["new"]) for s in sw.switches] == [(2, 0, 1), (5, 1, 0)]
    assert sw.switches[0]["estimate"] == 4.21e6 and sw.switches[1]["time"] == 5.0


def test_a_plan_is_kept_across_a_narrow_gap_and_the_ends_extend():
    sw = Switcher(TABLE, plan=0, window=1, hysteresis=0.05)
    sw.observe(10.1e6, t=0.0)
    assert sw.decide(t=0.0) == 0                  # plan 0's own interval [10, 10.2] Mbit/s
    sw.observe(10.6e6, t=1.0)                     # 3.9 % above it: kept (plan 2 is the table's there)
    assert sw.plan_at(10.6e6) == 2 and sw.decide(t=1.0) == 0
    sw.observe(11e6, t=2.0)
    assert sw.decide(t=2.0) == 2
    sw.observe(500e6, t=3.0)                      # beyond the table: its last plan
    assert sw.decide(t=3.0) == 2
    sw.observe(1e3, t=4.0)                        # below it: its first
    assert sw.plan_at(1e3) == 0 and sw.decide(t=4.0) == 0


def test_a_plan_table_and_its_cli_json_deploy_alike(capsys):
    import json

    import eepart_fast as ef
    from eepart_fast.cli import main
    from eepart_fast.runtime.tablespec import table_spec
    planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    table = planner.plan_table("bandwidth", 1, 1e6, 100e6, max_latency=0.08)
    assert main(["plan", "--profile", "resnet20-fashionmnist", "--topology", "mobile", "--over",
                 "bandwidth:1:1M:100M", "--max-latency-ms", "80", "--json"]) == 0
    from_cli = table_spec(json.loads(capsys.readouterr().out))
    spec = table_spec(table)
    assert from_cli == spec
    # each row's plan is the table's configuration there, each distinct plan once
    assert len(spec["rows"]) == len(table.rows) and len(spec["plans"]) == len({r.config for r in table.rows})
    for row, r in zip(spec["rows"], table.rows):
        plan = spec["plans"][row["plan"]]
        assert (plan["threshold_index"], tuple(plan["partitions"]), tuple(plan["tier_names"])) == \
            (r.threshold_index, r.partitions, r.tier_names)
        assert plan["threshold"] == planner.profile.thresholds[r.threshold_index]
        assert (plan["source"], plan["destination"]) == ("smartwatch", "smartwatch")
