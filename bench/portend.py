"""PORTEND's published ResNet-20 / ResNet-110 measurements planned with PORTEND's semantics, beside its
Table III. Run alone (`python bench/portend.py`) it prints the comparison; bench/test_bench_portend.py
times the searches.

The data are read from the shared folder (never committed here; no licence): EEPART_PORTEND_DATA, else
../shared/peer-data/portend beside the repository, else /work/shared/peer-data/portend.

PORTEND's semantics (its performance_model.py and helper_functions_last.py), as eepart_fast's fillers:
- compute: each tier's own measured time of every contiguous partition (the slowest of the repeats, as
  PORTEND takes np.max), weighted by the fraction entering it;
- three tiers a1.medium (device) - m4.large (base station) - g4dn.xlarge (cloud), links 10 Mbit/s 20 ms and
  400 Mbit/s 40 ms; bottleneck routes with 9,000-byte fragments (its N * max_L + the other links' L);
- exits: c_i = max over j <= i of exit_count[t][j] / samples on the validation split, c_N = 1 (the data's
  README: PORTEND's counts are per branch run alone, cumulative-like); accuracy of branch i: its accuracy
  at threshold 1.0 (every sample), as PORTEND estimates it;
- tensors: float32 (numel x 32 bits) of the data's block input shapes; the result 10 float32 logits;
- source and destination the device (tier 0).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))

import eepart_fast as ef  # noqa: E402

TIERS = ("a1.medium", "m4.large", "g4dn.xlarge")
BANDWIDTH = (10e6, 400e6)  # bit/s
LATENCY = (0.020, 0.040)  # s
MTU_BITS = 9000 * 8
# PORTEND's Table III: the plans its search chose (tier: (first block, last block)), threshold T.
TABLE_III = {
    "resnet20": {"threshold": 0.7, "plan": [(0, 1, 9), (1, 10, 10)]},
    "resnet110": {"threshold": 0.1, "plan": [(0, 1, 25), (1, 26, 40)]},
}
FILES = {"resnet20": "resnet20-cifar10.json", "resnet110": "resnet110-cifar10.json"}
BOUNDS_BELOW_FULL = (0.02, 0.03, 0.04)
PORTEND_CODE_BOUND = 0.88  # plots/plot_latency_compare_speedup_newpoints_sec.py, both ResNets


def data_dir() -> Path | None:
    for cand in (os.environ.get("EEPART_PORTEND_DATA"), HERE.parent.parent / "shared" / "peer-data" / "portend",
                 Path("/work/shared/peer-data/portend")):
        if cand and (Path(cand) / FILES["resnet20"]).is_file():
            return Path(cand)
    return None


def load(model: str, folder: Path | None = None, split: str = "validation") -> tuple:
    """(profile, topology) of PORTEND's setup for `model` ("resnet20" or "resnet110"), exit rates and
    accuracies from `split` ("validation", PORTEND's estimator's, or "test")."""
    folder = folder or data_dir()
    d = json.loads((folder / FILES[model]).read_text())
    n = int(d["num_blocks"])
    val = d[split]
    samples = float(val["samples"])
    thresholds = np.array(d["thresholds"], dtype=float)
    counts = np.array(val["exit_count"], dtype=float)  # (K, N)
    c = np.maximum.accumulate(counts / samples, axis=1)
    c[:, -1] = 1.0
    exit_rate = np.diff(np.concatenate([np.zeros((len(thresholds), 1)), c], axis=1), axis=1)
    every = int(np.flatnonzero(thresholds == 1.0)[0])
    accuracy = np.array(val["correct_count"][every], float) / np.array(val["exit_count"][every], float)
    shapes = d["block_input_shape"]
    bits = lambda shape: float(np.prod(shape) * 32)  # noqa: E731
    output_bits = [bits(shapes[str(i + 1)]) if i + 1 < n else 10 * 32.0 for i in range(1, n + 1)]
    devices = {}
    for dev in TIERS:
        rows = d["partition_latency_ms"][dev]
        devices[dev] = {"partition_time": [[int(a), int(b), max(ms) / 1e3] for a, b, ms in rows]}
    single = {(a, b): max(ms) / 1e3 for a, b, ms in d["partition_latency_ms"]["m4.large"] if a == b}
    profile = ef.Profile(block_time=[single[(i, i)] for i in range(1, n + 1)], branch_time=np.zeros(n),
                         output_bits=output_bits, input_bits=bits(shapes["1"]), result_bits=10 * 32.0,
                         accuracy=accuracy, thresholds=thresholds, exit_rate=exit_rate,
                         name=f"portend-{model}", devices=devices)
    topology = ef.Topology.chain(list(TIERS), [1.0, 1.0, 1.0], list(BANDWIDTH), list(LATENCY), devices=list(TIERS),
                                 route_rule="bottleneck", mtu_bits=MTU_BITS)
    return profile, topology


def table_iii_config(model: str, profile) -> tuple:
    ref = TABLE_III[model]
    t = int(np.flatnonzero(np.isclose(profile.thresholds, ref["threshold"]))[0])
    return t, [last for _, _, last in ref["plan"]], [tier for tier, _, _ in ref["plan"]]


def describe(plan_or_config, profile, topology) -> str:
    t, P, A = plan_or_config
    first = 1
    parts = []
    for p, a in zip(P, A):
        parts.append(f"tier {a} ({topology.names[a]}) blocks {first}-{p}" if first != p else
                     f"tier {a} ({topology.names[a]}) block {p}")
        first = p + 1
    # One partition has one exit: every sample leaves there, whatever the threshold.
    return f"{'; '.join(parts)}; " + ("no early exit" if len(P) == 1 else f"T = {profile.thresholds[t]:g}")


def portend_accuracy(model: str, config, split: str = "validation") -> float:
    """PORTEND's own accuracy estimate (estimate_exitrate/accuracy_partitionwise_profiled): exit rates as
    differences of the raw per-branch counts at the partition ends (not made monotone), rounded to 4
    digits, the last partition taking the rest."""
    d = json.loads((data_dir() / FILES[model]).read_text())
    val = d[split]
    t, P, _ = config
    counts = np.array(val["exit_count"][t], float) / val["samples"]
    every = d["thresholds"].index(1.0)
    branch_acc = np.array(val["correct_count"][every], float) / (np.array(val["exit_count"][every], float) + 1e-9)
    rates, prev = [], 0.0
    for p in P:
        rates.append(round(counts[p - 1] - prev, 4))
        prev = counts[p - 1]
    if sum(rates) < 0.999:
        rates[-1] = 1 - sum(rates[:-1])
    return float(sum(branch_acc[p - 1] * e for p, e in zip(P, rates)))


def compare(model: str, backend: str = "auto") -> dict:
    """Our latency-optimal plans under accuracy bounds 2-4 points below the full model, and PORTEND's
    Table III plan evaluated in the same model."""
    profile, topology = load(model)
    planner = ef.Planner(profile, topology, backend=backend)
    full = float(profile.accuracy[-1])
    t3 = table_iii_config(model, profile)
    ev = ef.evaluate(profile, topology, configs=[t3])
    rows = []
    for below in BOUNDS_BELOW_FULL:
        plan = planner.min_latency(min_accuracy=full - below)
        rows.append({"bound": full - below, "label": f"full - {below:.2f}", "plan": plan})
    # Without trimming (the last partition ends at block N, as PORTEND's full-network baselines do).
    every = ef.sweep(profile, topology)
    last = every.partitions[np.arange(len(every)), every.num_partitions - 1]
    for below in BOUNDS_BELOW_FULL:
        ok = np.flatnonzero((last == profile.N) & (every.accuracy >= full - below))
        i = ok[np.argmin(every.latency[ok])]
        L = int(every.num_partitions[i])
        plan = ef.Plan(every.latency[i], every.accuracy[i], every.threshold_index[i], every.partitions[i, :L],
                       every.placement[i, :L], profile, topology)
        rows.append({"bound": full - below, "label": f"full - {below:.2f}, untrimmed", "plan": plan})
    # The Table III plan's own accuracy as the bound: is that plan on this model's frontier?
    at_t3 = planner.min_latency(min_accuracy=float(ev.accuracy[0]))
    rows.append({"bound": float(ev.accuracy[0]), "label": "Table III's own", "plan": at_t3})
    # PORTEND's plotting code compares plans at accuracy >= 0.88 measured on the test split.
    test_profile, _ = load(model, split="test")
    on_test = ef.min_latency(test_profile, topology, min_accuracy=PORTEND_CODE_BOUND, backend=backend)
    rows.append({"bound": PORTEND_CODE_BOUND, "label": "PORTEND's code, test split", "plan": on_test,
                 "split": "test"})
    return {"model": model, "profile": profile, "topology": topology, "full_accuracy": full,
            "table_iii": {"config": t3, "latency": float(ev.latency[0]), "accuracy": float(ev.accuracy[0]),
                          "exit_rates": [b["exit"] for b in ef.Plan(ev.latency[0], ev.accuracy[0], *t3, profile,
                                                                     topology).breakdown],
                          "portend_accuracy": portend_accuracy(model, t3)},
            "rows": rows, "frontier": planner.pareto()}


def report(result: dict) -> str:
    profile, topology = result["profile"], result["topology"]
    t3 = result["table_iii"]
    lines = [f"### {result['model']} (N = {profile.N}; full model accuracy {result['full_accuracy']:.4f}, "
             f"{len(result['frontier'])} frontier points)", "",
             "| accuracy bound | latency (ms) | accuracy | accuracy, PORTEND's estimator | plan |",
             "| --- | ---: | ---: | ---: | --- |"]
    for r in result["rows"]:
        p = r["plan"]
        lines.append(f"| >= {r['bound']:.4f} ({r['label']}) | {p.latency * 1e3:.2f} | {p.accuracy:.4f} | "
                     f"{portend_accuracy(result['model'], p.config(), r.get('split', 'validation')):.4f} | "
                     f"{describe(p.config(), profile, topology)} |")
    rates = " / ".join(f"{e:.1%}" for e in t3["exit_rates"])
    lines.append(f"| PORTEND Table III, in this model | {t3['latency'] * 1e3:.2f} | {t3['accuracy']:.4f} | "
                 f"{t3['portend_accuracy']:.4f} | {describe(t3['config'], profile, topology)} (exits {rates}) |")
    return "\n".join(lines)


def main() -> int:
    if data_dir() is None:
        print("PORTEND's data not found (set EEPART_PORTEND_DATA)", file=sys.stderr)
        return 1
    for model in ("resnet20", "resnet110"):
        print(report(compare(model)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
