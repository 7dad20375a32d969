"""The tail model against the runtime: each plan's predicted p50 / p99 against what `eepart run` measured.

Reads the runtime experiment's results (experiments/results/runtime/: 12 frontier plans of ResNet-20 run on
emulated tiers, 400 test images each, per-sample latencies kept) and its profile and topology, and puts
beside each plan's measured mean, p50 and p99 the engine's (docs/model.md "Tail latency"):

- with the profile's exit rates (what a planner knows in advance);
- with the exits this run took (its shares at each partition exit, put into the tables' cum_exit), which
  separates the model's error from the difference between the profile split's exit rates and the 400 test
  images'.

No runtime is run here.

    python experiments/tail_vs_runtime.py   ->  experiments/results/tail_vs_runtime.md
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cases import args, ef, write

RUNTIME = Path(__file__).resolve().parent / "results" / "runtime"


def run_exit_tables(tables, t, P, shares):
    """The tables with threshold t's cumulative exits replaced by the run's: c at partition end P_k is the
    share that left at exits 1..k, constant up to the next end."""
    cum = tables.cum_exit.copy()
    ends = list(P)
    c = np.concatenate([[0.0], np.cumsum(shares)])
    for i in range(tables.N + 1):
        k = sum(1 for e in ends if e <= i)
        cum[t, i] = min(c[k], 1.0)
    cum[t, tables.N] = 1.0
    return tables._replace(cum_exit=cum)


def measured(latencies_ms) -> dict:
    """Mean, p50 and p99 of a run's per-sample latencies (s), the quantiles by the model's rule: the
    ceil(q n)-th smallest (the runtime's own summary interpolates between samples)."""
    x = np.asarray(latencies_ms) / 1e3
    return {"mean": float(x.mean()), **{k: float(np.quantile(x, q, method="inverted_cdf"))
                                         for k, q in (("p50", 0.5), ("p99", 0.99))}}


def main():
    out = Path(args(__doc__).out_dir)
    res = json.loads((RUNTIME / "results.json").read_text())
    profile = ef.Profile.load(RUNTIME / "profile-ort-mean.json")
    topology = ef.Topology.load(RUNTIME / "topology.json")
    tables = ef.cost_tables(profile, topology)
    ms = 1e3
    rows, err = [], {"mean": [], "p50": [], "p99 (profile exits)": [], "p99 (run exits)": []}
    for p in res["plans"]:
        t = int(np.argmin(np.abs(profile.thresholds - p["threshold"])))
        P = p["partitions"]
        A = [topology.tier(name, field="tier") for name in p["tiers"]]
        cfg = [(t, P, A)]
        mean = ef.evaluate(tables, configs=cfg).latency[0]
        q = {x: ef.evaluate(tables, configs=cfg, quantile=x).latency[0] for x in (0.5, 0.99)}
        run_tables = run_exit_tables(tables, t, P, p["exit_fraction"])
        q_run = {x: ef.evaluate(run_tables, configs=cfg, quantile=x).latency[0] for x in (0.5, 0.99)}
        m = measured(p["latencies_ms"])
        err["mean"].append(mean / m["mean"])
        err["p50"].append(q[0.5] / m["p50"])
        err["p99 (profile exits)"].append(q[0.99] / m["p99"])
        err["p99 (run exits)"].append(q_run[0.99] / m["p99"])
        blocks = ", ".join(f"{1 if k == 0 else P[k - 1] + 1}-{e}@{n}" for k, (e, n) in enumerate(zip(P, p["tiers"])))
        shares = "/".join(f"{100 * s:.1f}" for s in p["exit_fraction"])
        model_shares = "/".join(f"{100 * s:.1f}" for s in p["model_exit_fraction"])
        rows.append(f"| {p['plan']} | {p['threshold']:.3f} | {blocks} | {model_shares} | {shares} | "
                    f"{m['mean'] * ms:.2f} | {mean * ms:.2f} | {m['p50'] * ms:.2f} | {q[0.5] * ms:.2f} | "
                    f"{m['p99'] * ms:.2f} | {q[0.99] * ms:.2f} | {q_run[0.99] * ms:.2f} |")
    lines = ["# The tail model against the runtime (ResNet-20, 3 emulated tiers, 400 test images per plan)", "",
             "Regenerate: `python experiments/tail_vs_runtime.py` (reads experiments/results/runtime/, runs "
             "nothing). Block times: the profile's mean onnxruntime times (`block_time_statistic` of the "
             "runtime profile: mean), so the engine's quantiles are over exits with every step at its mean. "
             "Measured quantiles by the model's rule (the ceil(q n)-th smallest of the n = 400 samples).", "",
             "| plan | t | partitions | exits % (profile) | exits % (run) | measured mean (ms) | model mean | "
             "measured p50 | model p50 | measured p99 | model p99 (profile exits) | model p99 (run exits) |",
             "| ---: | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", *rows, "",
             "Model / measured, over the 12 plans:", "",
             "| statistic | min | median | max |", "| --- | ---: | ---: | ---: |"]
    for k, v in err.items():
        lines.append(f"| {k} | {min(v):.3f} | {np.median(v):.3f} | {max(v):.3f} |")
    write(out / "tail_vs_runtime.md", "\n".join(lines))


if __name__ == "__main__":
    main()
