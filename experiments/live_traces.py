"""Static, adaptive and oracle plans on moving links: a deployed plan table run over bandwidth traces.

A small early-exit network (ResNet-8, width 4, trained here on 2,048 Fashion-MNIST images, a few seconds)
with a profile of synthetic times (0.5 ms a block on the reference device, 0.05 ms a branch) and its real
tensor sizes, exit rates and exit accuracies; a 3-tier chain device (ratio 10) - 200 Mbit/s, 1 ms - edge
(ratio 4) - traced, 1 ms - cloud (ratio 1), source and destination the device. The plan table: P_lat
(accuracy at least the final exit's less 0.02) over the edge - cloud bandwidth, 0.5 to 40 Mbit/s; deployed
once (`export_table`). Each shipped trace (experiments/traces/: step, fade, bursty) is replayed `--speed`
times faster; the same Poisson arrivals (open loop, `--rate`) run three times:

- static: the table's plan at the trace's mean bandwidth, pinned;
- adaptive: the runtime's estimate (windowed harmonic mean of 4 transfers, 5 % hysteresis, probes);
- oracle: the table's plan at the trace's true bandwidth when each sample is sent.

Per run: mean and p99 latency, the share of samples over the deadline, accuracy, the plans' shares, switches.
The switch's cost: for each true crossing of a breakpoint, the time until the adaptive run's first sample on
the new plan (and the samples sent meanwhile); the partitions' extra bytes (every file a tier loads beyond
its largest single plan's); probes sent. Compute is emulated with the profile's times (`clock='profile'`),
so the numbers are the emulated tiers', with the runtime's own per-message overhead on top.

    python experiments/live_traces.py [--speed 5] [--rate 50] [--deadline-ms 15 25] [--seed 1] [--name N]
        -> experiments/results/live_traces.{md,json} (or N.md, N.json)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
try:
    import eepart_fast  # noqa: F401 - installed, or already on the path (as in the tests that import this file)
except ImportError:  # run from a source checkout: the package beside it, without touching an importer's path
    sys.path.insert(0, str(ROOT / "python"))

import eepart_fast as ef
from eepart_fast.nn import data as D
from eepart_fast.nn.earlyexit import EarlyExitNet
from eepart_fast.nn.resnet_cifar import cifar_resnet
from eepart_fast.nn.train import TrainConfig, train_model
from eepart_fast.runtime import load_trace, run_local
from eepart_fast.runtime.executor import normalised_entropy
from eepart_fast.runtime.export import export_table

TIERS = ["device", "edge", "cloud"]
RATIO = [10.0, 4.0, 1.0]
TRACES = ("step", "fade", "bursty")
LINK = "edge-cloud"


def network(work: Path):
    torch.manual_seed(0)
    data = D.load_fashion_mnist(train_limit=2048, profile_limit=512, test_limit=1000, seed=0)
    net = EarlyExitNet.full(cifar_resnet(8, in_channels=1, classes=10, width=4), (1, 28, 28))
    train_model(net, data.train, TrainConfig(epochs=4, batch_size=32, lr=0.05), work / "joint.pt", progress=False,
                log=lambda m: None)
    return net.eval(), data


def profile_of(net, data) -> ef.Profile:
    """Synthetic times, the network's tensor sizes, and its exits' rates (at three thresholds) and
    accuracies on the profile split."""
    x, y = data.profile.batch(torch.arange(len(data.profile)))
    with torch.no_grad():
        outs = net(x)
        bits = [int(np.prod(h.shape[1:])) * 32 for h in _block_outputs(net, x[:1])]
    ent = np.stack([normalised_entropy(o.numpy()) for o in outs])
    thresholds = [0.2, 0.35, 0.5]
    rates = []
    for t in thresholds:
        left, row = np.ones(ent.shape[1], bool), []
        for q in range(len(outs)):
            out = left & ((ent[q] < t) if q < len(outs) - 1 else True)
            row.append(float(out.mean()))
            left &= ~out
        rates.append(row)
    acc = [float((o.argmax(1).numpy() == y.numpy()).mean()) for o in outs]
    n = len(outs)
    return ef.Profile(block_time=[5e-4] * n, branch_time=[5e-5] * n, output_bits=bits,
                      input_bits=int(np.prod(x.shape[1:])) * 32, result_bits=320, accuracy=acc,
                      thresholds=thresholds, exit_rate=rates, name="resnet8-w4 (synthetic times)")


def _block_outputs(net, x):
    out = []
    for block in net.blocks:
        x = block(x)
        out.append(x)
    return out


def measured(records, deadlines: list, t_end: float) -> dict:
    recs = [r for r in records if r["t_sent"] <= t_end]
    lat = np.array([r["latency"] for r in recs])
    plans = np.array([r["plan"] for r in recs])
    return {"samples": int(lat.size), "mean_ms": float(lat.mean() * 1e3),
            "p99_ms": float(np.quantile(lat, 0.99, method="inverted_cdf") * 1e3),
            "over_deadline": {f"{d * 1e3:g}": float((lat > d).mean()) for d in deadlines},
            "accuracy": float(np.mean([r["correct"] for r in recs])),
            "plan_share": {str(j): float((plans == j).mean()) for j in sorted(set(plans.tolist()))}}


def crossings(trace, table_rows, duration: float) -> list:
    """(trace time, new plan) where the table's plan at the trace's value changes, within [0, duration]."""
    def plan_at(v):
        return crossings_plan(table_rows, v)
    out, prev = [], plan_at(trace.values[0])
    for t, v in zip(trace.times, trace.values):
        if t > duration:
            break
        j = plan_at(v)
        if j != prev:
            out.append((t, j))
            prev = j
    return out


def crossings_plan(table_rows, v: float) -> int:
    """The table's plan at v (clamped to its range)."""
    v = min(max(v, table_rows[0]["low"]), table_rows[-1]["high"])
    return next(r["plan"] for r in table_rows if r["low"] <= v <= r["high"])


def switch_delays(records, t0: float, speed: float, cross: list) -> list:
    """For each true crossing: seconds (real) until the first sample sent on its new plan, and samples sent
    in between (on the old plan); None when the run never ran it before the next crossing."""
    out = []
    for k, (t, j) in enumerate(cross):
        start = t0 + t / speed
        end = t0 + cross[k + 1][0] / speed if k + 1 < len(cross) else np.inf
        after = [r for r in records if start <= r["t_sent"] < end]
        first = next((r for r in after if r["plan"] == j), None)
        out.append(None if first is None else
                   {"trace_time": t, "plan": j, "delay_ms": (first["t_sent"] - start) * 1e3,
                    "samples_before": sum(1 for r in after if r["t_sent"] < first["t_sent"])})
    return out


def extra_bytes(m) -> dict:
    """Per tier: bytes of every partition file it loads, and of the largest single plan's files there."""
    out = {}
    for tier in m.tiers:
        files = {p.file for p in m.all_partitions() if p.tier == tier}
        size = {f: (m.folder / f).stat().st_size for f in files}
        single = max((sum(size[p.file] for p in plan.partitions if p.tier == tier) for plan in m.plans), default=0)
        if files:
            out[tier] = {"loaded": sum(size.values()), "largest_plan": single}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=float, default=5.0, help="trace seconds per real second")
    ap.add_argument("--rate", type=float, default=50.0, help="Poisson arrivals per second")
    ap.add_argument("--deadline-ms", type=float, nargs="+", default=[15.0, 25.0])
    ap.add_argument("--seed", type=int, default=1, help="the arrivals' seed")
    ap.add_argument("--name", default="live_traces", help="the results' file name (.md, .json)")
    ap.add_argument("--out", default=str(ROOT / "experiments" / "results"))
    ap.add_argument("--work", default="/tmp/eepart-live-traces")
    a = ap.parse_args()
    torch.set_num_threads(1)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    net, data = network(work)
    profile = profile_of(net, data)
    topology = ef.Topology.chain(TIERS, RATIO, [200e6, 20e6], [0.001, 0.001])
    bound = max(profile.accuracy) - 0.02
    table = ef.Planner(profile, topology).plan_table("bandwidth", 1, 0.5e6, 40e6, min_accuracy=bound)
    print(table)
    m = export_table(net, table, work / "deploy", (1, 28, 28), {"backbone": "resnet8-w4"})
    rows = m.table["rows"]
    x, y = (t.numpy() for t in data.test.batch(torch.arange(len(data.test))))
    deadlines = [d / 1e3 for d in a.deadline_ms]
    results = []
    for name in TRACES:
        path = ROOT / "experiments" / "traces" / f"{name}.csv"
        trace = load_trace(path)
        duration = 60.0
        n = int(a.rate * duration / a.speed)
        xs, ys = np.resize(x, (n, *x.shape[1:])), np.resize(y, n)
        mean_bw = trace.mean(duration=duration)
        static = crossings_plan(rows, mean_bw)
        cross = crossings(trace, rows, duration)
        entry = {"trace": name, "mean_bandwidth": mean_bw, "static_plan": static, "crossings": len(cross), "runs": {}}
        for policy in ("static", "adaptive", "oracle"):
            switch = static if policy == "static" else policy
            res = run_local(work / "deploy", topology, xs, ys, mode="open", rate=a.rate, seed=a.seed, clock="profile",
                            profile=profile, traces={LINK: path}, trace_speed=a.speed, switch=switch, timeout=20.0)
            st = res.settings
            t_end = st["trace_t0"] + duration / a.speed
            run = {**measured(res.records, deadlines, t_end), "switches": len(st["switches"]),
                   "probes": st["adapt"]["probes"], "load_average": st["load_average"]}
            if policy == "adaptive":
                run["switch_delays"] = switch_delays(res.records, st["trace_t0"], a.speed, cross)
            entry["runs"][policy] = run
            print(f"{name:7s} {policy:8s} mean {run['mean_ms']:.2f} ms p99 {run['p99_ms']:.2f} ms over "
                  f"{run['over_deadline']} acc {run['accuracy']:.3f} switches {run['switches']} "
                  f"probes {run['probes']} load {st['load_average'][0]:.1f}", flush=True)
        results.append(entry)
    plans = [{"partitions": [list(p.blocks) for p in plan.partitions], "tiers": [p.tier for p in plan.partitions],
              "threshold": plan.threshold} for plan in m.plans]
    report = {"table": str(table), "plans": plans, "rows": rows, "deadline_ms": a.deadline_ms, "rate": a.rate,
              "speed": a.speed, "seed": a.seed, "memory": extra_bytes(m), "results": results, "cpus": os.cpu_count(),
              "seconds": time.time() - started}
    out = Path(a.out)
    (out / f"{a.name}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / f"{a.name}.md").write_text(render(report))
    print(render(report))
    return 0


def render(rep: dict) -> str:
    dl = [f"{d:g}" for d in rep["deadline_ms"]]
    lines = [(f"Open loop at {rep['rate']:g} samples/s (seed {rep['seed']}); traces replayed {rep['speed']:g}x "
              "(60 trace seconds each); 1-minute load average when each run ended in the last column."), "",
             ("| trace | mean Mbit/s | policy | samples | mean (ms) | p99 (ms) | "
              + " | ".join(f"over {d} ms" for d in dl) + " | accuracy | switches | probes | load |"),
             "| --- | --- | --- | --- | --- | --- | " + "--- | " * len(dl) + "--- | --- | --- | --- |"]
    for e in rep["results"]:
        for policy, r in e["runs"].items():
            name = f"static (plan {e['static_plan']})" if policy == "static" else policy
            lines.append(f"| {e['trace']} | {e['mean_bandwidth'] / 1e6:.2f} | {name} | {r['samples']} | "
                         f"{r['mean_ms']:.2f} | {r['p99_ms']:.2f} | "
                         + " | ".join(f"{100 * r['over_deadline'][d]:.1f} %" for d in dl)
                         + f" | {r['accuracy']:.3f} | {r['switches']} | {r['probes']} | {r['load_average'][0]:.1f} |")
    lines += ["", ("| trace | breakpoint crossings | adaptive: delay to the new plan (ms), median / max | "
                   "samples sent meanwhile, max |"), "| --- | --- | --- | --- |"]
    for e in rep["results"]:
        d = [s for s in e["runs"]["adaptive"].get("switch_delays", []) if s is not None]
        missed = e["crossings"] - len(d)
        if d:
            ms = np.array([s["delay_ms"] for s in d])
            lines.append(f"| {e['trace']} | {e['crossings']} ({missed} never followed) | {np.median(ms):.1f} / "
                         f"{ms.max():.1f} | {max(s['samples_before'] for s in d)} |")
        else:
            lines.append(f"| {e['trace']} | {e['crossings']} ({missed} never followed) | - | - |")
    lines += ["", "| tier | partition bytes loaded | largest single plan's | extra |", "| --- | --- | --- | --- |"]
    for tier, b in rep["memory"].items():
        lines.append(f"| {tier} | {b['loaded']} | {b['largest_plan']} | {b['loaded'] - b['largest_plan']} |")
    lines += ["", "Plans: " + "; ".join(f"{j}: " + " ".join(f"{p[0]}-{p[1]}@{t}" for p, t in
                                                          zip(plan["partitions"], plan["tiers"]))
                                       + f" (threshold {plan['threshold']:g})" for j, plan in enumerate(rep["plans"])),
              ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
