"""Planned by the mean or by the p99, then run: which plan meets a deadline on 99 % of the samples?

The runtime experiment's ResNet-20 (its joint weights, the profile of mean onnxruntime times
experiments/results/runtime/profile-ort-mean.json, the same 3-tier chain device - edge - cloud). For each
deadline, P_acc under the deadline on the mean and on the p99 (`max_accuracy(..., quantile=0.99)`); both
plans are exported and run with `run_local` (closed loop, compute stretched to ratio x CPU time, links
emulated) on the same test images, and the share of samples over the deadline is counted.

    python experiments/tail_runtime.py --run-dir RUN [--samples 1000]
        ->  experiments/results/tail_runtime.{md,json}
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

from eepart_fast import Planner, Profile, Topology  # noqa: E402
from eepart_fast.runtime import run_local  # noqa: E402
from eepart_fast.runtime.export import export_partitions, load_run_net  # noqa: E402

RUNTIME = ROOT / "experiments" / "results" / "runtime"
DEADLINES_MS = (40, 44, 48)


def measured(records, deadline: float) -> dict:
    lat = np.array([r["latency"] for r in records])
    exits = np.array([r["exit_partition"] for r in records])
    return {"samples": int(lat.size), "mean": float(lat.mean()),
            "p99": float(np.quantile(lat, 0.99, method="inverted_cdf")),
            "over_deadline": float((lat > deadline).mean()),
            "accuracy": float(np.mean([r["correct"] for r in records])),
            "exit_fraction": [float((exits == k).mean()) for k in range(1, int(exits.max()) + 1)]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", required=True, help="the trained run folder of the runtime experiment")
    ap.add_argument("--samples", type=int, default=1000, help="test images per plan")
    ap.add_argument("--out", default=str(ROOT / "experiments" / "results"))
    ap.add_argument("--work", default="/tmp/eepart-tail-runtime")
    a = ap.parse_args()
    profile = Profile.load(RUNTIME / "profile-ort-mean.json")
    topology = Topology.load(RUNTIME / "topology.json")
    _, data, net, _ = load_run_net(a.run_dir)
    torch.set_num_threads(1)
    x, y = (t.numpy() for t in data.test.batch(torch.arange(a.samples)))
    planner = Planner(profile, topology)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    rows, started = [], time.time()
    for ms in DEADLINES_MS:
        deadline = ms / 1e3
        for by, plan in (("mean", planner.max_accuracy(max_latency=deadline)),
                         ("p99", planner.max_accuracy(max_latency=deadline, quantile=0.99))):
            deploy = work / f"{ms}-{by}"
            export_partitions(net, plan, deploy, data.input_shape, {"backbone": "resnet20"})
            load = os.getloadavg()[0]
            res = run_local(deploy, topology, x, y, timeout=20.0)
            m = measured(res.records, deadline)
            rows.append({"deadline_ms": ms, "by": by, "config": [plan.threshold_index, list(plan.partitions),
                                                                   list(plan.tier_names)],
                         "threshold": plan.threshold, "predicted_mean": plan.mean_latency,
                         "predicted_p99": plan.quantiles["p99"], "predicted_accuracy": plan.accuracy,
                         "model_exit_fraction": [e["share"] for e in plan.exit_latencies], "measured": m,
                         "load_average": load})
            print(f"{ms} ms by {by}: t={plan.threshold:.3f} P={list(plan.partitions)} {list(plan.tier_names)}: "
                  f"p99 predicted {plan.quantiles['p99'] * 1e3:.1f} measured {m['p99'] * 1e3:.1f} ms, "
                  f"{100 * m['over_deadline']:.2f} % over", flush=True)
    out = Path(a.out)
    (out / "tail_runtime.json").write_text(json.dumps({"rows": rows, "samples": a.samples,
                                                       "seconds": time.time() - started}, indent=1) + "\n")
    lines = ["# Planned by the mean or by the p99, then run (ResNet-20, 3 emulated tiers)", "",
             f"Regenerate: `python experiments/tail_runtime.py --run-dir RUN` ({a.samples} test images per plan, "
             "closed loop). P_acc under each deadline on the mean and on the p99; `over` is the share of the "
             "run's samples that took longer than the deadline.", "",
             "| deadline (ms) | by | plan | exits % (profile) | exits % (run) | accuracy (model / run) | "
             "mean ms (model / run) | p99 ms (model / run) | over |",
             "| ---: | --- | --- | --- | --- | --- | --- | --- | ---: |"]
    for r in rows:
        m = r["measured"]
        t, P, tiers = r["config"]
        plan = ", ".join(f"{1 if k == 0 else P[k - 1] + 1}-{e}@{n}" for k, (e, n) in enumerate(zip(P, tiers)))
        lines.append(f"| {r['deadline_ms']} | {r['by']} | t={r['threshold']:.3f}: {plan} | "
                     f"{'/'.join(f'{100 * s:.1f}' for s in r['model_exit_fraction'])} | "
                     f"{'/'.join(f'{100 * s:.1f}' for s in m['exit_fraction'])} | "
                     f"{r['predicted_accuracy']:.4f} / {m['accuracy']:.4f} | "
                     f"{r['predicted_mean'] * 1e3:.1f} / {m['mean'] * 1e3:.1f} | "
                     f"{r['predicted_p99'] * 1e3:.1f} / {m['p99'] * 1e3:.1f} | {100 * m['over_deadline']:.2f} % |")
    (out / "tail_runtime.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'tail_runtime.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
