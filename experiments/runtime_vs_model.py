"""Measured vs predicted: run plans from the Pareto frontier on emulated tiers and compare with the model.

    python experiments/runtime_vs_model.py --run-dir RUN \
        --out experiments/results/runtime --plans 12 --samples 300

1. Profile with the runtime's executor: every block and branch of the run's joint network exported to
   ONNX alone and timed with onnxruntime (one thread) as the MEAN CPU time of single samples; onnxruntime's
   per-call overhead (separate calls minus one fused call of the whole network) is taken off each block, so
   a partition's blocks plus its one branch cost what its single fused call costs. Sizes from the real
   tensors; exit rates at 20 thresholds on the held-out profile split and accuracies of the joint
   network's exits on the test split (the runtime serves the joint network's branches).
2. Plan on a 3-tier chain (topology below) and take --plans plans evenly along the frontier.
3. Run each exported plan with `run_local` (closed loop, --samples test images, compute stretched to
   ratio x CPU time, links emulated in user space), and compare mean / p50 / p99 with the prediction:
   the model's latency (the profile's exit rates), and the model's latency for the exits this run took.
4. Open loop on one plan at rising arrival rates: where queueing (which the model has not) shows.
Writes results.json, results.md, runtime_vs_model.png and the profile (profile-ort-mean.json) to --out.
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
sys.path.insert(0, str(ROOT / "python"))

from eepart_fast import Planner, Profile, Topology, cost_tables
from eepart_fast.io.records import exit_rates, normalised_entropy
from eepart_fast.nn.profiling import tensor_sizes
from eepart_fast.nn.train import predict
from eepart_fast.runtime import RunFailed, load_manifest, run_local
from eepart_fast.runtime.driver import summarize
from eepart_fast.runtime.export import (
    export_partitions,
    load_run_net,
)
from eepart_fast.runtime.ort_profile import profile_times

# Ratios are relative to this machine running onnxruntime on one thread (ResNet-20's blocks sum to about
# 0.5 ms here); every tier is at least 10x slower, so the stretch (ratio x CPU time) has room on a loaded
# machine whose wall time runs 2-4x the CPU time.
GAP = 0.01  # s idle before each timed call, as a worker idles between samples
TOPOLOGY = {"names": ["device", "edge", "cloud"], "ratio": [200.0, 40.0, 10.0],
            "bandwidth": [10e6, 25e6], "latency": [0.010, 0.030]}


def committed_run_dir(run_dir) -> str:
    """The run folder as committed outputs name it: runs/<its name>, never this machine's path."""
    return f"runs/{Path(run_dir).resolve().name}"


def build_profile(run_dir, work: Path, timing_samples: int, allow_partial: bool):
    _spec, data, net, meta = load_run_net(run_dir, allow_partial)
    torch.set_num_threads(1)
    xs = [data.profile.batch(torch.tensor([i]))[0].numpy() for i in range(64)]
    times = profile_times(net, data.input_shape, xs, work / "timing", timing_samples, GAP)
    probs, _labels = predict(net, data.profile)
    entropy = normalised_entropy(probs.numpy())
    thresholds = np.linspace(0.0, 1.0, 20)
    tprobs, tlabels = predict(net, data.test)
    acc = (tprobs.numpy().argmax(2) == tlabels.numpy()[:, None]).mean(0)
    out_bits, in_bits, res_bits = tensor_sizes(net, data.input_shape)
    fields = {"block_time": times["block_time"], "branch_time": times["branch_time"],
                  "output_bits": out_bits, "input_bits": float(in_bits), "result_bits": float(res_bits),
                  "accuracy": acc, "thresholds": thresholds, "exit_rate": exit_rates(entropy, thresholds)}
    pmeta = {"timing": {"executor": "onnxruntime, 1 intra-op thread, CPUExecutionProvider, batch 1",
                        "statistic": f"MEAN CPU time of the calling thread, single calls each after {GAP} s idle",
                        "rule": "block i: marginal cold time of prefix partitions 1..i minus their branch; "
                                "branch q: its own cold call (see eepart_fast.runtime.ort_profile)",
                        "samples": timing_samples, "prefix_mean": times["prefix_mean"].tolist(),
                        "prefix_p99": times["prefix_p99"].tolist(), "clipped_blocks": times["clipped_blocks"],
                        "load_average": list(os.getloadavg())},
             "accuracy_source": "joint network's exits on the test split (the weights the runtime serves)",
             "exit_rate_split": "profile", **meta, "run_dir": committed_run_dir(run_dir)}
    return Profile(**fields, name="resnet20-fashionmnist-ort-mean", meta=pmeta, block_time_statistic="mean"), data, net


def pick_plans(frontier, k: int) -> list:
    if len(frontier) <= k:
        return list(frontier)
    idx = np.unique(np.round(np.linspace(0, len(frontier) - 1, k)).astype(int))
    return [frontier[i] for i in idx]


def per_sample_model(tables, plan, exits) -> np.ndarray:
    """The model's latency of a sample that leaves at partition e (1-based), for each e in `exits`."""
    P, A = (0, *plan.partitions), plan.placement
    lat = []
    for e in exits:
        t = tables.input_cost[A[0]]
        for k in range(e):
            t += tables.compute_cost[A[k]][P[k]][P[k + 1]]
            if k < e - 1:
                t += tables.forward_cost[P[k + 1] - 1][A[k]][A[k + 1]]
        t += tables.result_cost[A[e - 1]]
        lat.append(t)
    return np.array(lat)


def services(plan, profile, topo) -> dict:
    """Per server (tier, link direction): [(share of samples, service seconds)] of each kind of job it does."""
    jobs = {}
    names = topo.names
    bw = topo.links["bandwidth"]

    def link(a, b, bits, share):
        step = 1 if b > a else -1
        for j in range(a, b, step):
            lo = min(j, j + step)
            jobs.setdefault(f"{names[j]}-{names[j + step]}", []).append((share, bits / bw[lo]))

    A, P = plan.placement, (0, *plan.partitions)
    link(plan.source, A[0], profile.input_bits, 1.0)
    for k, b in enumerate(plan.breakdown):
        work = topo.ratio[A[k]] * (profile.block_time[P[k]:P[k + 1]].sum() + profile.branch_time[P[k + 1] - 1])
        jobs.setdefault(b["tier_name"], []).append((b["entering"], work))
        if k + 1 < len(A):
            link(A[k], A[k + 1], profile.output_bits[P[k + 1] - 1], b["stay"])
        link(A[k], plan.destination, profile.result_bits, b["exit"])
    return jobs


def busy_times(plan, profile, topo) -> dict:
    """Seconds each server is busy per sample on average."""
    return {k: float(sum(f * s for f, s in v)) for k, v in services(plan, profile, topo).items()}


def queueing_delay(plan, profile, topo, rate: float) -> float:
    """Mean waiting per sample summed over servers, each taken as M/G/1 (Pollaczek-Khinchine):
    W = rate x E[S^2] / (2 (1 - rho)) per visit, weighted by the share of samples that visit. An estimate
    (downstream arrivals are not Poisson), drawn to show what the model leaves out."""
    total = 0.0
    for jobs in services(plan, profile, topo).values():
        rho = rate * sum(f * x for f, x in jobs)
        if rho >= 1:
            return float("inf")
        # Every job at this server waits W; the jobs per sample are sum(f).
        total += sum(f for f, _ in jobs) * rate * sum(f * x * x for f, x in jobs) / (2 * (1 - rho))
    return total


def partition_cpu(records, plan, profile) -> list:
    """Per partition: mean CPU seconds of its onnxruntime call in the run, and the profile's blocks + branch."""
    out, prev = [], 0
    for k, q in enumerate(plan.partitions, 1):
        cpu = [h["cpu"] for r in records for h in r["hops"] if h["kind"] == "compute" and h["partition"] == k]
        model = float(profile.block_time[prev:q].sum() + profile.branch_time[q - 1])
        out.append({"partition": k, "calls": len(cpu), "run_cpu_mean": float(np.mean(cpu)) if cpu else None,
                    "profile": model})
        prev = q
    return out


def stats(lat) -> dict:
    lat = np.asarray(lat)
    return {"mean": float(lat.mean()), "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", default=None, help="a trained run folder (eepart train ... --run-dir RUN)")
    ap.add_argument("--out", default=str(ROOT / "experiments" / "results" / "runtime"))
    ap.add_argument("--work", default="/tmp/eepart-runtime-experiment")
    ap.add_argument("--plans", type=int, default=12)
    ap.add_argument("--samples", type=int, default=200, help="test images per plan and pass")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--timing-samples", type=int, default=200)
    ap.add_argument("--open-samples", type=int, default=200)
    ap.add_argument("--allow-partial", action="store_true")
    ap.add_argument("--open-only", action="store_true", help="reuse the closed-loop rows of the last run")
    ap.add_argument("--open-clock", default="profile", choices=("profile", "cpu"),
                    help="open loop compute: the profile's fixed times (default: isolates queueing) or R x CPU")
    ap.add_argument("--report-only", action="store_true", help="rewrite results.md and the plot from results.json")
    a = ap.parse_args()
    if a.run_dir is None and not a.report_only:
        ap.error("--run-dir: give the trained run folder (eepart train --backbone resnet20 ... --run-dir RUN)")
    if a.report_only:
        result = json.loads((Path(a.out) / "results.json").read_text())
        write_markdown(result, Path(a.out) / "results.md")
        plot(result, Path(a.out) / "runtime_vs_model.png")
        return 0
    out, work = Path(a.out), Path(a.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    if a.open_only:
        profile = Profile.load(out / "profile-ort-mean.json")
        _, data, net, _ = load_run_net(a.run_dir, a.allow_partial)
    else:
        profile, data, net = build_profile(a.run_dir, work, a.timing_samples, a.allow_partial)
        profile.save(out / "profile-ort-mean.json")
    topo = Topology.chain(TOPOLOGY["names"], TOPOLOGY["ratio"], TOPOLOGY["bandwidth"], TOPOLOGY["latency"])
    planner = Planner(profile, topo, source=0, destination=0)
    frontier = planner.pareto()
    plans = pick_plans(frontier, a.plans)
    tables = cost_tables(profile, topo, source=0, destination=0)
    xt, yt = data.test.batch(torch.arange(a.samples))
    x, y = xt.numpy(), yt.numpy()
    rows = []
    cache = work / "closed.json"
    if a.open_only:
        rows = json.loads(cache.read_text())
    runs = {i: [] for i in range(len(plans))}
    # Several passes over the plans, so a burst of load on the shared machine hits one pass of a plan,
    # not all its samples; each pass's ratio is reported beside the pooled one.
    for p in range(0 if a.open_only else a.passes):
        for i, plan in enumerate(plans):
            deploy = work / f"plan-{i}"
            if p == 0:
                export_partitions(net, plan, deploy, data.input_shape, {"backbone": "resnet20"})
            load0 = os.getloadavg()[0]
            res = run_local(deploy, topo, x, y, timeout=20.0)
            runs[i].append((res, load0, os.getloadavg()[0]))
            lat = np.mean([r["latency"] for r in res.records])
            print(f"pass {p} plan {i}: {list(plan.tier_names)} P={list(plan.partitions)} T={plan.threshold:.3f}: "
                  f"predicted {plan.latency * 1e3:.2f} ms, measured mean {lat * 1e3:.2f} ms "
                  f"({lat / plan.latency:.3f}); load {load0:.1f}", flush=True)
    for i, plan in enumerate(plans):
        if a.open_only:
            break
        records = [r for res, _, _ in runs[i] for r in res.records]
        lat = [r["latency"] for r in records]
        exits = [r["exit_partition"] for r in records]
        model_run = per_sample_model(tables, plan, exits)
        s = summarize(records, len(plan.partitions))
        row = {"plan": i, "threshold": plan.threshold, "partitions": list(plan.partitions),
               "tiers": list(plan.tier_names), "predicted": plan.latency, "predicted_accuracy": plan.accuracy,
               "predicted_for_run_exits": stats(model_run), "measured": stats(lat),
               "measured_app": stats([r["app_latency"] for r in records]),
               "pass_ratios": [float(np.mean([r["latency"] for r in res.records]) / plan.latency)
                               for res, _, _ in runs[i]],
               "accuracy": s["accuracy"], "exit_fraction": s["exit_fraction"],
               "model_exit_fraction": [b["exit"] for b in plan.to_dict()["breakdown"]],
               "samples": len(lat), "load_average": [v for _, l0, l1 in runs[i] for v in (l0, l1)],
               "latencies_ms": [round(v * 1e3, 3) for v in lat],
               "partition_cpu": partition_cpu(records, plan, profile)}
        row["ratio"] = row["measured"]["mean"] / plan.latency
        row["ratio_run_exits"] = row["measured"]["mean"] / row["predicted_for_run_exits"]["mean"]
        rows.append(row)
        print(f"plan {i}: predicted {plan.latency * 1e3:.2f} ms (run's exits "
              f"{row['predicted_for_run_exits']['mean'] * 1e3:.2f}), measured mean {row['measured']['mean'] * 1e3:.2f} "
              f"p99 {row['measured']['p99'] * 1e3:.2f} ms, ratio {row['ratio']:.3f} / {row['ratio_run_exits']:.3f}, "
              f"passes {' '.join(f'{v:.3f}' for v in row['pass_ratios'])}", flush=True)
    if not a.open_only:
        cache.write_text(json.dumps(rows))
    # Open loop: the plan with the most partitions (ties: the fastest), at rising load.
    plan_i = max(range(len(plans)), key=lambda j: (len(plans[j].partitions), -plans[j].latency))
    plan = plans[plan_i]
    busy = busy_times(plan, profile, topo)
    capacity = 1.0 / max(busy.values())
    xo = data.test.batch(torch.arange(a.open_samples))[0].numpy()
    open_rows = []
    for u in (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95):
        try:
            res = run_local(work / f"plan-{plan_i}", topo, xo, mode="open", rate=u * capacity, timeout=30.0, seed=1,
                            clock=a.open_clock, profile=profile)
        except RunFailed as exc:  # queues past the timeout: say so, keep going
            print(f"open loop at {u:.2f} of capacity failed: {exc}", flush=True)
            open_rows.append({"utilisation": u, "rate": u * capacity, "failed": str(exc)})
            continue
        m = stats([r["latency"] for r in res.records])
        pk = plan.latency + queueing_delay(plan, profile, topo, u * capacity)
        open_rows.append({"utilisation": u, "rate": u * capacity, **m, "pollaczek_khinchine": pk,
                          "load_average": os.getloadavg()[0]})
        print(f"open loop at {u:.2f} of capacity ({u * capacity:.1f}/s): mean {m['mean'] * 1e3:.2f} ms, "
              f"p99 {m['p99'] * 1e3:.2f} ms (model {plan.latency * 1e3:.2f})", flush=True)
    result = {"topology": TOPOLOGY, "profile": "profile-ort-mean.json", "samples_per_plan": a.samples * a.passes,
              "passes": a.passes, "load_average_end": list(os.getloadavg()),
              "run_dir": committed_run_dir(a.run_dir),
              "joint_epochs_trained": load_manifest(work / "plan-0").data["model"].get(
                  "joint_epochs_trained"),
              "clock": "compute stretched to ratio x the partition call's CPU time; links emulated in user space",
              "plans": rows, "open_loop": {"plan": plan_i, "bottleneck_busy_s": busy, "capacity_per_s": capacity,
                                           "predicted": plan.latency, "runs": open_rows,
                                           "clock": a.open_clock},
              "seconds": time.time() - t_start, "cpu": os.cpu_count()}
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    write_markdown(result, out / "results.md")
    plot(result, out / "runtime_vs_model.png")
    return 0


def decomposition(r: dict, row: dict) -> tuple:
    """(compute difference, everything else) in s: measured mean minus the model for the run's exits, split
    into the stretched CPU time the run's calls took beyond the profile's, and the runtime's own handling."""
    ratio = dict(zip(r["topology"]["names"], r["topology"]["ratio"]))
    d = sum(p["calls"] / row["samples"] * ratio[t] * (p["run_cpu_mean"] - p["profile"])
            for p, t in zip(row["partition_cpu"], row["tiers"]) if p["run_cpu_mean"] is not None)
    gap = row["measured"]["mean"] - row["predicted_for_run_exits"]["mean"]
    return d, gap - d


def write_markdown(r: dict, path: Path) -> None:
    lines = [("| plan | tiers (blocks) | T | predicted (ms) | pred., run's exits (ms) | measured mean (ms) | "
             "measured / predicted | per pass | p50 (ms) | p99 (ms) | model p99, run's exits (ms) | "
              "accuracy (model / run) | load |"),
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: |"]
    for row in r["plans"]:
        prev, parts = 0, []
        for q, t in zip(row["partitions"], row["tiers"]):
            parts.append(f"{t} {prev + 1}-{q}")
            prev = q
        m = row["measured"]
        lines.append(f"| {row['plan']} | {', '.join(parts)} | {row['threshold']:.3f} | {row['predicted'] * 1e3:.2f} | "
                     f"{row['predicted_for_run_exits']['mean'] * 1e3:.2f} | {m['mean'] * 1e3:.2f} | "
                     f"{row['ratio']:.3f} ({row['ratio_run_exits']:.3f}) | "
                     f"{' '.join(f'{v:.3f}' for v in row['pass_ratios'])} | "
                     f"{m['p50'] * 1e3:.2f} | {m['p99'] * 1e3:.2f} | "
                     f"{row['predicted_for_run_exits']['p99'] * 1e3:.2f} | "
                     f"{row['predicted_accuracy']:.4f} / {row['accuracy']:.4f} | "
                     f"{min(row['load_average']):.1f}-{max(row['load_average']):.1f} |")
    lines += ["", ("Where the difference comes from (per sample, ms; measured mean minus the model for the run's exits "
              "= compute + runtime):"), "",
              ("| plan | CPU per call, run / profile (us) | compute: R x (run CPU - profile CPU) | runtime: "
              "sockets, handling, wake-ups |"), "| ---: | --- | ---: | ---: |"]
    for row in r["plans"]:
        d, rest = decomposition(r, row)
        cpu = ", ".join(f"{p['run_cpu_mean'] * 1e6:.0f} / {p['profile'] * 1e6:.0f}" for p in row["partition_cpu"]
                        if p["run_cpu_mean"] is not None)
        lines.append(f"| {row['plan']} | {cpu} | {d * 1e3:+.2f} | {rest * 1e3:+.2f} |")
    o = r["open_loop"]
    lines += ["", (f"Open loop, plan {o['plan']} (model: {o['predicted'] * 1e3:.2f} ms at any rate; bottleneck "
              f"capacity {o['capacity_per_s']:.1f} samples/s, set by "
              f"{max(o['bottleneck_busy_s'], key=o['bottleneck_busy_s'].get)}):"), "",
              "| load (of capacity) | rate (1/s) | mean (ms) | p50 (ms) | p99 (ms) | model + M/G/1 waits (ms) |",
              "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in o["runs"]:
        if "failed" in row:
            lines.append(f"| {row['utilisation']:.2f} | {row['rate']:.1f} | failed: {row['failed']} | | |")
            continue
        lines.append(f"| {row['utilisation']:.2f} | {row['rate']:.1f} | {row['mean'] * 1e3:.2f} | "
                     f"{row['p50'] * 1e3:.2f} | {row['p99'] * 1e3:.2f} | {row['pollaczek_khinchine'] * 1e3:.2f} |")
    path.write_text("\n".join(lines) + "\n")


def plot(r: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    pred = np.array([row["predicted"] for row in r["plans"]]) * 1e3
    mean = np.array([row["measured"]["mean"] for row in r["plans"]]) * 1e3
    p99 = np.array([row["measured"]["p99"] for row in r["plans"]]) * 1e3
    lim = [0, max(p99.max(), pred.max()) * 1.08]
    ax.fill_between(lim, [v * 0.95 for v in lim], [v * 1.05 for v in lim], color="0.85", label="±5 %")
    ax.plot(lim, lim, "k-", lw=0.8)
    ax.plot(pred, mean, "o", label="measured mean")
    ax.plot(pred, p99, "^", mfc="none", label="measured p99")
    ax.set(xlabel="model latency (ms)", ylabel="measured latency (ms)", xlim=lim, ylim=lim,
           title=f"{len(pred)} frontier plans, {r['samples_per_plan']} samples each (closed loop)")
    ax.legend()
    o = r["open_loop"]
    ok = [row for row in o["runs"] if "failed" not in row]
    u = [row["utilisation"] for row in ok]
    bx.plot(u, [row["mean"] * 1e3 for row in ok], "o-", label="measured mean")
    bx.plot(u, [row["p99"] * 1e3 for row in ok], "^-", mfc="none", label="measured p99")
    bx.axhline(o["predicted"] * 1e3, color="k", lw=0.8, label="model (no queues)")
    bx.plot(u, [row["pollaczek_khinchine"] * 1e3 for row in ok], "k:", label="model + M/G/1 waits (estimate)")
    bx.set(xlabel="arrival rate / bottleneck capacity", ylabel="latency (ms)",
           title=f"open loop, plan {o['plan']}, compute: {o.get('clock', 'cpu')} clock")
    bx.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
