"""`eepart plan --rate R --fleet F`: the plan and frontier under load (docs/model.md "Load"), the same as the
Python API's, and the files carrying the rate."""
from __future__ import annotations

import csv
import json

import pytest

import eepart_fast as ef
from eepart_fast.cli import main
from eepart_fast.model.load import Load
from eepart_fast.planning.load import load_min_latency, load_pareto, plan_max_rate


def run(capsys, *args):
    code = main(["plan", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_under_load_json_matches_the_api(capsys):
    code, out, _ = run(capsys, "--rate", "30", "--fleet", "2", "--min-accuracy", "0.9", "--json")
    assert code == 0
    got = json.loads(out)
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    best = load_min_latency(p, topo, load=Load(30.0, fleet=2), min_accuracy=0.9)
    assert (got["rate"], got["fleet"], got["link_queues"]) == (30.0, 2, False)
    assert got["best"]["latency"] == best.latency
    assert (got["best"]["partitions"], got["best"]["placement"]) == (best.partitions, best.placement)
    assert got["best"]["latency"] > got["best"]["unloaded_latency"]
    assert len(got["frontier"]) == len(load_pareto(p, topo, load=Load(30.0, fleet=2))["latency"])
    assert all(r["rate"] == 30.0 for r in got["frontier"])


def test_plan_under_load_capacity_and_files(capsys, tmp_path):
    out_csv = tmp_path / "front.csv"
    code, out, _ = run(capsys, "--rate", "20", "--max-latency-ms", "150", "--frontier-out", str(out_csv))
    assert code == 0
    assert "this plan meets the bound up to" in out
    with open(out_csv) as f:
        rows = list(csv.DictReader(f))
    assert rows and all(r["rate"] == "20.0" and r["fleet"] == "1" for r in rows)
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    front = load_pareto(p, topo, load=Load(20.0))
    assert [float(r["latency_ms"]) for r in rows] == [x * 1e3 for x in front["latency"]]
    best = rows[max(i for i, r in enumerate(rows) if float(r["latency_ms"]) <= 150)]
    cap = plan_max_rate(p, topo, (int(best["threshold_index"]), [int(x) for x in best["partitions"].split()],
                                  [int(x) for x in best["placement"].split()]), load=Load(0.0), max_latency=0.15)
    assert f"{cap.rate:.12g} samples/s" in out


@pytest.mark.parametrize("args,message", [
    (["--fleet", "2"], "--fleet, --link-queues, --queues: only with --rate"),
    (["--rate", "2", "--quantile", "p99"], "--quantile: not with --rate"),
    (["--rate", "2", "--fleet", "0"], "--fleet 0"),
    (["--rate", "-1"], "must be >= 0"),
])
def test_plan_under_load_refusals(capsys, args, message):
    code, _, err = run(capsys, *args)
    assert code == 2 and message in err


def test_no_plan_at_an_overloading_rate(capsys):
    # At 100,000/s every tier is overloaded by any partition: nothing meets the bound (exit code 3).
    code, out, _ = run(capsys, "--rate", "1e5", "--min-accuracy", "0.5")
    assert code == 3 and "none: no configuration meets the bound at this rate" in out


def test_plan_over_rate(capsys):
    code, out, _ = run(capsys, "--over", "rate:0:40", "--min-accuracy", "0.9", "--json")
    assert code == 0
    pieces = json.loads(out)["pieces"]
    assert [p["plan"]["placement"] for p in pieces if p["certified"]] == [[1], [1, 2], [2]]
    assert pieces[0]["low"] == 0.0 and pieces[-1]["high"] == 40.0


@pytest.mark.parametrize("args,message", [
    (["--over", "rate:0:40"], "needs --min-accuracy"),
    (["--over", "rate:0:40", "--max-latency-ms", "100"], "--max-latency-ms: not with --over rate"),
    (["--over", "rate:0:40", "--min-accuracy", "0.9", "--rate", "3"], "--rate: not with --over rate"),
    (["--over", "rate:0", "--min-accuracy", "0.9"], "expected rate:LOW:HIGH"),
    (["--over", "rate:5:1", "--min-accuracy", "0.9"], "0 <= low < high"),
])
def test_plan_over_rate_refusals(capsys, args, message):
    code, _, err = run(capsys, *args)
    assert code == 2 and message in err


def test_plan_under_load_with_qna(capsys):
    code, out, _ = run(capsys, "--rate", "30", "--queues", "qna", "--min-accuracy", "0.9", "--json")
    assert code == 0
    got = json.loads(out)
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    best = load_min_latency(p, topo, load=Load(30.0, queues="qna"), min_accuracy=0.9)
    assert got["queues"] == "qna" and got["best"]["latency"] == best.latency
    assert (got["best"]["partitions"], got["best"]["placement"]) == (best.partitions, best.placement)
    code, _, err = run(capsys, "--queues", "qna", "--min-accuracy", "0.9")
    assert code == 2 and "--queues: only with --rate" in err
    code, _, err = run(capsys, "--over", "rate:0:10", "--queues", "qna", "--min-accuracy", "0.9")
    assert code == 2 and "--queues qna: not with --over rate" in err
