"""A deployed plan table: exported with each distinct partition once, served by workers that load every
partition their tier may run, and driven by a runtime that measures the table's link and switches plans
as a bandwidth trace steps (issue 24). Tiny network, every socket on 127.0.0.1, every run bounded."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
pytest.importorskip("onnxruntime", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
pytest.importorskip("onnxscript", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
pytest.importorskip("zmq", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")

import eepart_fast as ef
from eepart_fast.runtime import ManifestError, load_manifest, run_local
from eepart_fast.runtime.executor import normalised_entropy, run_plan_inline
from eepart_fast.runtime.export import export_table
from eepart_fast.runtime.tablespec import table_spec
from eepart_fast.runtime.trace import Trace

import test_runtime as _tiny

pytestmark = [pytest.mark.train, pytest.mark.usefixtures("one_torch_thread")]
# test_runtime's tiny trained network and its samples, as this module's fixtures
fmnist, trained, samples, threshold = _tiny.fmnist, _tiny.trained, _tiny.samples, _tiny.threshold

TIERS = ["device", "edge", "cloud"]
RATIO = [10.0, 3.0, 1.0]
OUTPUT_BITS = [100352, 100352, 50176, 25088]   # the tiny network's block outputs, float32
WINDOW, HYSTERESIS = 3, 0.05
WITHIN = WINDOW + 2   # samples sent after a step by which the runtime runs the table's plan (see below)


def hand_table(threshold):
    """`eepart plan --over --json`-shaped: three plans over link 1, sharing partitions."""
    rows = [(1e6, 5e6, [1, 4], ["device", "edge"]), (5e6, 20e6, [1, 4], ["device", "cloud"]),
            (20e6, 1e8, [4], ["cloud"])]
    return {"profile": "tiny", "topology": TIERS, "source": 0, "destination": 0, "thresholds": [threshold],
            "parameter": "bandwidth", "target": ["chain", 1], "target_name": "link 1 (edge - cloud)",
            "problem": "min_latency", "bound": 0.5, "low": 1e6, "high": 1e8, "searches": 3,
            "breakpoints": [5e6, 20e6],
            "rows": [{"low": lo, "high": hi, "threshold_index": 0, "partitions": P, "placement": None,
                      "tier_names": names, "accuracy": 0.8, "latency_low": 0.01, "latency_high": 0.01}
                     for lo, hi, P, names in rows]}


@pytest.fixture(scope="module")
def hand_deploy(trained, samples, threshold, tmp_path_factory):
    out = tmp_path_factory.mktemp("table")
    export_table(trained, hand_table(threshold), out, (1, 28, 28), {"backbone": "resnet8-w4"}, check=samples[0][:4])
    return out


def test_table_export_shares_files_and_every_plan_runs_as_exported(trained, samples, threshold, hand_deploy):
    x, tmp_path = samples[0][:12], hand_deploy
    m = load_manifest(hand_deploy)
    # Five partitions in three plans, three distinct files: blocks 1 (not last), 2-4 (last), 1-4 (last).
    files = sorted(p.name for p in tmp_path.glob("*.onnx"))
    assert files == ["part-1-1.onnx", "part-1-4-last.onnx", "part-2-4-last.onnx"]
    assert [[(p.blocks, p.tier, p.file) for p in m.plan(j).partitions] for j in range(3)] == [
        [((1, 1), "device", "part-1-1.onnx"), ((2, 4), "edge", "part-2-4-last.onnx")],
        [((1, 1), "device", "part-1-1.onnx"), ((2, 4), "cloud", "part-2-4-last.onnx")],
        [((1, 4), "cloud", "part-1-4-last.onnx")]]
    assert m.tiers == TIERS and m.table["link"] == 1 and m.table["parameter"] == "bandwidth"
    assert [(r["low"], r["high"], r["plan"]) for r in m.table["rows"]] == [(1e6, 5e6, 0), (5e6, 20e6, 1),
                                                                          (20e6, 1e8, 2)]
    assert set(m.checksums()) == set(files)
    # plan 0 is the manifest's own plan: a reader of single plans sees it
    assert [p.file for p in m.partitions] == [p.file for p in m.plan(0).partitions] and m.threshold == threshold
    # Each plan in one process equals torch's exits, via the shared files.
    with torch.no_grad():
        outs = trained(x)
    ent = [normalised_entropy(o.numpy()) for o in outs]
    for j, exits in ((0, [1, 4]), (1, [1, 4]), (2, [4])):
        inline = run_plan_inline(m.plan(j), x.numpy())
        want = []
        for s in range(len(x)):
            q = next(q for q in exits if q == exits[-1] or ent[q - 1][s] < threshold)
            want.append(int(outs[q - 1][s].argmax()))
        np.testing.assert_array_equal(inline["prediction"], want)
    # Every plan on the workers, pinned: the workers of edge and cloud hold every partition they may run.
    topo = ef.Topology.chain(TIERS, RATIO, [200e6, 30e6], [0.001, 0.001])
    for j in range(3):
        recs = run_local(tmp_path, topo, x.numpy(), samples[1][:12].numpy(), clock="none", switch=j).records
        inline = run_plan_inline(m.plan(j), x.numpy())
        assert [r["plan"] for r in recs] == [j] * len(x)
        np.testing.assert_array_equal([r["prediction"] for r in recs], inline["prediction"])
        np.testing.assert_array_equal([r["exit_partition"] for r in recs], inline["exit_partition"])
        crossed = {h["link"] for r in recs for h in r["hops"] if h["kind"] == "link"}
        assert ("edge-cloud" in crossed) == (j > 0)


def test_bad_tables_are_refused_by_name(trained, samples, threshold, tmp_path):
    t = hand_table(threshold)
    t["rows"][1]["partitions"] = None
    with pytest.raises(ValueError, match=r"table.rows\[1\] = \[5000000.0, 20000000.0\]: no plan meets the bound"):
        table_spec(t)
    with pytest.raises(ValueError, match="the runtime measures a link's bandwidth or latency only"):
        table_spec({**hand_table(threshold), "parameter": "ratio"})
    with pytest.raises(ValueError, match="field 'thresholds' missing"):
        table_spec({k: v for k, v in hand_table(threshold).items() if k != "thresholds"})
    with pytest.raises(ValueError, match=r"table.plans\[2\].partitions = \[5\]: the network has 4 blocks"):
        bad = hand_table(threshold)
        bad["rows"][2]["partitions"] = [5]
        export_table(trained, bad, tmp_path / "bad", (1, 28, 28))
    export_table(trained, hand_table(threshold), tmp_path / "ok", (1, 28, 28))
    path = tmp_path / "ok" / "manifest.json"
    good = json.loads(path.read_text())
    for edit, says in ((lambda d: d["table"]["rows"][1].update(plan=7), r"table.rows\[1\].plan = 7"),
                       (lambda d: d["table"]["rows"][1].update(low=6e6), r"table.rows\[1\] = \[6000000.0"),
                       (lambda d: d["table"]["plans"][1]["partitions"][1].update(tier="device"),
                        r"table.plans\[1\].partitions: tiers \[.device., .device.\] repeat"),
                       (lambda d: d["table"]["plans"][2]["plan"].update(threshold=2),
                        r"table.plans\[2\].plan.threshold = 2"),
                       (lambda d: d["table"].update(link=True), "table.link = True")):
        d = json.loads(json.dumps(good))
        edit(d)
        path.write_text(json.dumps(d))
        with pytest.raises(ManifestError, match=says):
            load_manifest(tmp_path / "ok")


def test_cli_runs_a_table_over_a_trace_with_the_oracle(hand_deploy, samples, tmp_path, capsys):
    from eepart_fast.cli import main
    np.savez(tmp_path / "s.npz", x=samples[0].numpy()[:16], y=samples[1].numpy()[:16])
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"names": TIERS, "ratio": RATIO, "bandwidth": [200e6, 30e6], "latency": [1e-3, 1e-3]}))
    (tmp_path / "trace.csv").write_text("time_s,value\n0,30e6\n0.08,2e6\n0.2,8e6\n")
    args = ["run", "--deploy", str(hand_deploy), "--images", str(tmp_path / "s.npz"), "--topology", str(topo),
            "--samples", "16", "--clock", "none", "--no-progress", "--trace", f"edge-cloud={tmp_path / 'trace.csv'}"]
    rc = main([*args, "--switch", "oracle", "--records", str(tmp_path / "r.jsonl"), "--summary",
               str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert rc == 0 and "16 samples, closed loop" in out and "oracle" in out
    settings = json.loads((tmp_path / "s.json").read_text())["settings"]
    t0 = settings["trace_t0"]
    # the oracle: each sample runs the table's plan at the trace's value when it is sent
    for line in (tmp_path / "r.jsonl").read_text().splitlines():
        r = json.loads(line)
        dt = r["t_sent"] - t0
        # a sample sent within a millisecond of a step may have read either side of it
        near = [abs(dt - t) < 1e-3 for t in (0.08, 0.2)]
        want = 2 if dt < 0.08 else 0 if dt < 0.2 else 1
        assert r["plan"] == want or any(near), (dt, r["plan"])
    for bad, says in ((["--switch", "fast"], "--switch 'fast': expected adaptive, oracle or a plan index"),
                      (["--switch", "3"], "plan 3: this deployment has plans 0..2"),
                      (["--trace", "edge-cloud"], "--trace 'edge-cloud': expected LINK=FILE"),
                      (["--trace", "device-cloud=x.csv"], "two neighbouring tiers")):
        assert main([*args, *bad]) == 2
        assert says in capsys.readouterr().err


def tiny_profile(trained, samples, threshold):
    """The tiny network's profile: synthetic times, its real tensor sizes and exit rates at `threshold`."""
    with torch.no_grad():
        outs = trained(samples[0])
    ent = np.stack([normalised_entropy(o.numpy()) for o in outs])
    left = np.ones(ent.shape[1], bool)
    rate = []
    for q in range(4):
        out = left & ((ent[q] < threshold) if q < 3 else True)
        rate.append(out.mean())
        left &= ~out
    y = samples[1].numpy()
    acc = [float((o.argmax(1).numpy() == y).mean()) for o in outs]
    return ef.Profile(block_time=[5e-4] * 4, branch_time=[5e-5] * 4, output_bits=OUTPUT_BITS, input_bits=25088,
                      result_bits=320, accuracy=acc, thresholds=[threshold], exit_rate=[rate])


def test_step_trace_switches_to_the_tables_plan_within_a_few_samples(trained, samples, threshold, tmp_path):
    """The Done-when test of issue 24. Table: P_lat over link 1's (edge - cloud) bandwidth, made by the Planner
    for the tiny network; the trace steps high -> low -> high. Closed loop, compute emulated by the profile's
    times (every sample takes at least a few ms, so the steps fall inside the run).

    Why WINDOW + 2 samples: a switch needs the window's harmonic mean beyond the breakpoint (by the
    hysteresis), at worst WINDOW observations after the step; every sample sent after the step brings one
    (its own crossing of the link, or the probe sent before it when its plan does not cross), except the one
    whose observation straddles the step, and one in flight while the last observation comes in.
    """
    profile = tiny_profile(trained, samples, threshold)
    topo = ef.Topology.chain(TIERS, RATIO, [200e6, 30e6], [0.001, 0.001])
    table = ef.Planner(profile, topo).plan_table("bandwidth", 1, 1e6, 100e6, min_accuracy=max(profile.accuracy) - 1e-9)
    plans = {r.config for r in table.rows}
    assert len(plans) >= 2, f"the table should change plans over the range: {table}"
    high = table.rows[-1]
    low = table.rows[0]
    v_high, v_low = 30e6 if high.low < 30e6 / 1.2 < high.high else high.high, low.low * 1.5
    assert table.config_at(v_high) != table.config_at(v_low)
    m = export_table(trained, table, tmp_path, (1, 28, 28))
    trace = Trace((0.0, 0.4, 0.8), (v_high, v_low, v_high), "bandwidth")
    x = np.concatenate([samples[0].numpy()] * 5)[:200]
    y = np.concatenate([samples[1].numpy()] * 5)[:200]
    result = run_local(tmp_path, topo, x, y, clock="profile", profile=profile, traces={"edge-cloud": trace},
                       window=WINDOW, hysteresis=HYSTERESIS, probe_bytes=500, timeout=10.0)
    recs, st = result.records, result.settings
    # none lost, none repeated, every record complete
    assert [r["sample"] for r in recs] == list(range(len(x)))
    for r in recs:
        assert {"plan", "prediction", "correct", "exit_partition", "exit_block", "latency", "t_sent", "hops"} <= set(r)
        assert r["prediction"] is not None and r["latency"] > 0 and r["hops"]
        # each sample ran its plan from source to destination: its computes on that plan's tiers only
        plan = m.plan(r["plan"])
        tiers = [h["tier"] for h in r["hops"] if h["kind"] == "compute"]
        assert tiers == [p.tier for p in plan.partitions][:len(tiers)] and len(tiers) == r["exit_partition"]
    # the plan each sample ran is the one switched to before it was sent
    switches = st["switches"]
    plan_of = {}
    current = st["adapt"]["initial_plan"]
    for r in recs:
        for s in switches:
            if s["sample"] == r["sample"]:
                current = s["new"]
        plan_of[r["sample"]] = current
        assert r["plan"] == current
    # after each step: the table's plan within WITHIN samples, and kept until the next step
    index = {tuple(p.partitions[-1].tier for _ in [0]) + tuple(q.blocks for q in p.partitions): j
             for j, p in enumerate(m.plans)}
    assert len(index) == len(m.plans)
    t0 = st["trace_t0"]
    steps = [t0 + t for t in trace.times[1:]]
    assert recs[-1]["t_sent"] > steps[-1] + 0.2, "the run ended before the last step: give it more samples"
    for k, (t_step, value) in enumerate(zip(steps, trace.values[1:])):
        want = m.table["rows"][next(i for i, row in enumerate(m.table["rows"])
                                    if row["low"] <= value <= row["high"])]["plan"]
        first = next(r["sample"] for r in recs if r["t_sent"] > t_step)
        end = steps[k + 1] if k + 1 < len(steps) else np.inf
        until = [r["sample"] for r in recs if r["t_sent"] < end][-1]
        assert plan_of[first + WITHIN] == want, (k, switches)
        assert all(plan_of[i] == want for i in range(first + WITHIN, until + 1)), (k, switches)
    assert len(switches) == 2 and all(s["old"] != s["new"] for s in switches)
    for s in switches:
        assert {"time", "sample", "estimate", "old", "new"} <= set(s)


def test_cli_exports_a_table_from_a_run_folder_and_runs_it(threshold, tmp_path, capsys):
    from eepart_fast.cli import main
    run_dir = _tiny.tiny_run_folder(tmp_path / "run")
    table = tmp_path / "table.json"
    table.write_text(json.dumps(hand_table(threshold)))
    out = tmp_path / "d"
    assert main(["export", "--run-dir", str(run_dir), "--table", str(table), "--out", str(out),
                 "--check-samples", "2"]) == 0
    text = capsys.readouterr().out
    assert "plan 1 partition 1: blocks 1-1 on device -> part-1-1.onnx (exported above)" in text
    assert "a table of 3 intervals of link 1's bandwidth, 3 plans, 3 files" in text
    assert load_manifest(out).table["rows"][2]["plan"] == 2
    assert main(["export", "--run-dir", str(run_dir), "--table", str(table), "--plan", str(table),
                 "--out", str(out)]) == 2
    assert "give --plan FILE (one plan) or --table FILE" in capsys.readouterr().err
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"names": TIERS, "ratio": RATIO, "bandwidth": [200e6, 30e6], "latency": [1e-3, 1e-3]}))
    assert main(["run", "--table", str(table), "--run-dir", str(run_dir), "--deploy", str(tmp_path / "e"),
                 "--topology", str(topo), "--samples", "6", "--clock", "none", "--switch", "1",
                 "--summary", str(tmp_path / "s.json"), "--no-progress"]) == 0
    assert "table over link 1's bandwidth: 1, 0 switches" in capsys.readouterr().out
    recs = json.loads((tmp_path / "s.json").read_text())
    assert recs["settings"]["adapt"]["switch"] == 1 and recs["summary"]["samples"] == 6
