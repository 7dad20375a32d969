"""Case IV (paper 3.3.4): the destination of the results changes the plan.

P_lat on the IoT topology with accuracy of at least 80 %, results due at tier 0 (the Raspberry Pi; the
paper's "tier 1") or at the last tier (the global cloud; the paper's "tier 4"). The paper (Inception V3,
CIFAR-10) finds the same P with A = [2, 3] against A = [2, 4]. Here: both shipped profiles (Inception V3 is
not shipped); each destination's plan is also scored under the other destination, which is what a model
blind to the destination would deliver.

    python experiments/case_4_destination.py   ->  experiments/results/case_4_destination.{png,md}
"""
from __future__ import annotations

from pathlib import Path

from cases import PLAN_HEADER, PROFILES, Space, args, ef, figure, plan_line, plt, write

FLOOR = 0.80


def main():
    out = Path(args(__doc__).out_dir)
    lines = ["# Case IV: the destination changes the plan (P_lat, IoT, accuracy >= 80 %)", "",
             "Regenerate: `python experiments/case_4_destination.py`. Source 0 (Raspberry Pi); tiers counted from 0.",
             ""]
    fig, axes = plt.subplots(len(PROFILES), 2, figsize=(13, 4.3 * len(PROFILES)), dpi=120)
    for row, name in enumerate(PROFILES):
        spaces = {d: Space(name, "iot", d) for d in (0, 3)}
        plans = {}
        for d, s in spaces.items():
            i = s.min_latency(FLOOR)
            s.check_exact(i, ef.min_latency(s.profile, s.topology, min_accuracy=FLOOR, destination=d))
            plans[d] = (i, s.describe(i))
        lines += [f"## {name}", "", PLAN_HEADER]
        for d, (_, p) in plans.items():
            lines.append(plan_line(f"results to tier {d} ({spaces[d].topology.names[d]})", p))
        lines.append("")
        for d, (_, p) in plans.items():
            other = 3 - d
            s = spaces[d]
            blind = ef.evaluate(s.profile, s.topology, configs=[(p["t"], p["P"], plans[other][1]["A_index"])],
                                destination=d).latency[0] * 1e3
            lines.append(f"- results to tier {d}: the plan made for tier {other} would take {blind:.3f} ms here, "
                         f"{blind - p['latency_ms']:.3f} ms ({100 * (blind / p['latency_ms'] - 1):.1f} %) more "
                         f"than the plan made for tier {d}.")
        same_p = plans[0][1]["P"] == plans[3][1]["P"]
        differ = plans[0][1]["A"] != plans[3][1]["A"]
        lines += ["", ("The case occurs: the same P, " if same_p and differ else
                       "The plans differ in P as well: " if differ else "The case does not occur: the same plan, ")
                  + f"placed on {', '.join(plans[0][1]['A'])} for tier 0 and on {', '.join(plans[3][1]['A'])} "
                  "for tier 3.", ""]
        for col, (d, (i, p)) in enumerate(plans.items()):
            s = spaces[d]
            figure(None, s, [(f"plan for tier {d}", i, "*")], bound=("accuracy", FLOOR),
                   xlim=(0.8 * p["latency_ms"], 2.0 * p["latency_ms"]), ylim=(100 * FLOOR - 3, 100 * FLOOR + 8),
                   title=f"Case IV, {name}, IoT, results to {s.topology.names[d]}: P = {p['P']}, A = {p['A']}",
                   ax=axes[row][col])
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "case_4_destination.png")
    print(f"wrote {out / 'case_4_destination.png'}")
    lines += ["Figure: `case_4_destination.png` (rows: profiles; columns: results to tier 0, to tier 3).", "",
              ("The paper's plans had two partitions; here one partition wins under both destinations (the "
              "network trimmed after its first few blocks already reaches 80 %), so the case shows as the "
              "same P placed on another tier.")]
    write(out / "case_4_destination.md", "\n".join(lines))


if __name__ == "__main__":
    main()
