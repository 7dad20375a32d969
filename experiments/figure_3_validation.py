"""Figure 3 of the paper (3.2): the model's predictions against final models of ResNet-20.

With no arguments it redraws the committed figure and table from experiments/results/figure_3_report.json.
With --run-dir and --profile it (re)builds everything: `eepart validate` on the trained run (28 random
partitionings, final models fine-tuned from the joint weights with only their exits; resumable), the
report against that run's profile, the figure, the Markdown table, and copies of what a fresh machine
needs to repeat it: the run's profile and records (figure_3_profile.json, .samples.npz) and the model
weights of the joint network and of every final model (figure_3_weights/, model state only).

    python experiments/figure_3_validation.py                      # redraw from the committed report
    eepart profile --train ... --run-dir runs/r20 --out runs/r20.json   # the shipped profile's meta.command
    python experiments/figure_3_validation.py --run-dir runs/r20 --profile runs/r20.json --threads 1

The predictions must come from the profile of the same run the final models start from: the joint
network's exit rates and records are what the model is asked to predict from.
"""
from __future__ import annotations

import argparse
import datetime
import json
import shutil
from pathlib import Path

import numpy as np

from eepart_fast.nn.validate import build_report, load_report, plot_report, validate

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def table(report: dict) -> str:
    s, fm = report["summary"], report["final_models"]
    rec = report["recommended"]
    lines = [f"# Figure 3: the model against {fm['finished']} final models ({report['profile']})", "",
             "Regenerate: `python experiments/figure_3_validation.py` (redraw) or with `--run-dir` (retrain).", "",
             f"Final models: {fm['mode']} from the joint weights with only the partitioning's exits, "
             f"{fm['train']['max_batches'] or 'all'} batches of {fm['train']['batch_size']} x {fm['train']['epochs']} "
             f"epoch(s), lr {fm['train']['lr']} (cosine), seed {fm['train']['seed']}: exactly how the profile's "
             f"separate models were trained. Partitionings: {fm['finished']} drawn uniformly (seed {fm['seed']}) "
             f"among those of at most {fm['max_partitions']} parts; {len(report['thresholds'])} thresholds each. "
             f"Training took {fm['train_seconds'] / 60:.1f} min and measuring on the 10,000 test images "
             f"{fm['measure_seconds'] / 60:.1f} min of one CPU thread"
             + (f" ({fm['wall']})" if fm.get("wall") else "") + ".", "",
             "| accuracy estimator | R² | slope | intercept | MAE (points) | points |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, st in s["accuracy"].items():
        mark = " (recommended)" if name == rec else ""
        lines.append(f"| {name}{mark} | {st['r2']:.4f} | {st['slope']:.3f} | {st['intercept']:.3f} | "
                     f"{100 * st['mae']:.2f} | {st['points']} |")
    lines += ["", "| exit rate | R² | slope | intercept | MAE (points) | points |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for label, key in (("every exit and threshold", "exit_rate"), ("per exit, mean over thresholds (paper's 3c)",
                                                                   "exit_rate_threshold_mean")):
        st = s[key]
        lines.append(f"| {label} | {st['r2']:.4f} | {st['slope']:.3f} | "
                     f"{st['intercept']:.3f} | {100 * st['mae']:.2f} | {st['points']} |")
    lines += ["", "Estimators: " + "; ".join(f"**{n}**: {e['note']}" for n, e in report["estimators"].items()) + ".",
              "", ("R² is about y = x (1 - residual / total sum of squares of the final models' values); slope and "
              "intercept are the least-squares line of actual on predicted."), "",
              "| # | P | train (s) | last exit accuracy (t = 0) | MAE " + " | MAE ".join(report["estimators"]) + " |",
              "| ---: | --- | ---: | ---: | " + " | ".join("---:" for _ in report["estimators"]) + " |"]
    for r in report["partitionings"]:
        act = np.array(r["actual"]["accuracy"])
        maes = [100 * np.abs(np.array(r["predicted"]["accuracy"][n]) - act).mean() for n in report["estimators"]]
        lines.append(f"| {r['index']} | {r['P']} | {r['train_seconds']:.0f} | {100 * act[0]:.2f} % | "
                     + " | ".join(f"{m:.2f}" for m in maes) + " |")
    return "\n".join(lines) + "\n"


def wall_clock(out_dir: Path) -> str | None:
    infos = [json.loads(p.read_text()) for p in sorted(out_dir.glob("final-*.json"))]
    if not infos:
        return None
    times = sorted(datetime.datetime.strptime(i["finished"], "%Y-%m-%dT%H:%M:%SZ") for i in infos)
    first = min(infos, key=lambda i: i["finished"])
    start = times[0] - datetime.timedelta(seconds=first["train_seconds"] + first["measure_seconds"])
    return (f"wall clock {start:%Y-%m-%d %H:%M} to {times[-1]:%H:%M} UTC, "
            f"{(times[-1] - start).total_seconds() / 60:.0f} min, on a 2-core machine shared with other jobs")


def committed(text: str, *paths: Path) -> str:
    """A JSON text as committed: the folders holding the run and its profile named runs/, never by this
    machine's path (absolute forms only: a relative "run" is a word too)."""
    for path in paths:
        for form in {str(path.resolve().parent), str(path.absolute().parent)}:
            if form != "/":
                text = text.replace(json.dumps(form + "/")[1:-1], "runs/")
    return text


def export(run_dir: Path, work: Path, profile: Path, out: Path) -> None:
    """What repeating the figure needs: the run's profile and records, joint and final model weights."""
    import torch

    from eepart_fast.io.records import records_path
    dest = out / "figure_3_weights"
    dest.mkdir(parents=True, exist_ok=True)
    for ck in [run_dir / "joint.pt", *sorted(work.glob("final-??.pt"))]:
        state = torch.load(ck, map_location="cpu", weights_only=True)["model"]
        torch.save(state, dest / ck.name)
    for src, to in [(work / "validate.json", dest / "validate.json"), (run_dir / "run.json", dest / "run.json"),
                    (profile, out / "figure_3_profile.json")]:
        to.write_text(committed(src.read_text(), run_dir, profile))
    shutil.copy(records_path(profile), out / "figure_3_profile.samples.npz")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", help="a trained ResNet-20 run (the shipped profile's meta.command makes it)")
    p.add_argument("--profile", help="that run's profile (eepart profile --run-dir RUN_DIR --out ...)")
    p.add_argument("--work-dir", help="final models and their outputs (default: RUN_DIR/validate)")
    p.add_argument("--report-only", action="store_true", help="report from the final models done so far")
    p.add_argument("--partitionings", type=int, default=28)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out-dir", default=str(RESULTS))
    a = p.parse_args()
    out = Path(a.out_dir)
    target = out / "figure_3_report.json"
    if a.run_dir:
        if not a.profile:
            p.error("--run-dir needs --profile: the profile of that same run")
        work = Path(a.work_dir or Path(a.run_dir) / "validate")
        if a.threads:
            import torch
            torch.set_num_threads(a.threads)
        if a.report_only:
            from eepart_fast import Profile
            from eepart_fast.io.records import load_records, records_path
            report = build_report(Profile.load(a.profile), work, load_records(records_path(a.profile)))
        else:
            report = validate(a.run_dir, a.profile, work, a.partitionings)
        report["final_models"]["wall"] = wall_clock(work)
        out.mkdir(parents=True, exist_ok=True)
        target.write_text(committed(json.dumps(report, indent=1) + "\n", Path(a.run_dir), Path(a.profile)))
        export(Path(a.run_dir), work, Path(a.profile), out)
    report = load_report(target)
    plot_report(report, out / "figure_3.png")
    (out / "figure_3.md").write_text(table(report))
    print(f"wrote {out / 'figure_3.png'} and {out / 'figure_3.md'}")


if __name__ == "__main__":
    main()
