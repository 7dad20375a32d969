"""Is the plan right? The paper's validation (3.2, Figure 3) on a user's own trained and profiled run.

For R random partitionings P (uniform, seeded), a *final model* keeps only P's exits (the backbone cut
after P_L, a branch at every P_k) and is trained the way the user picks: "finetune" starts from the run's
joint weights and trains with only those exits (by default exactly as the run trained its separate
models), "scratch" from a fresh initialisation with the run's joint settings. On the test split it
is measured at every profile threshold (accuracy, fraction leaving at each exit) and compared with the
model's prediction for (t, P) under each accuracy estimator of estimators.py.

Layout of the output folder (resumable; Ctrl-C keeps every finished final model):
  validate.json          what was asked (partitionings, training); a different ask is refused
  final-XX.pt           the training checkpoint of final model XX (train.train_model's)
  final-XX.npz          its test-split outputs: normalised entropy and prediction per kept exit, labels
  final-XX.json         its partitioning and seconds of training and measuring
  report.json           predicted vs actual, per partitioning and threshold, and the fit statistics

Torch is imported only where final models are built, trained or run; building a report and drawing it
need numpy (and matplotlib for the figure).
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path
from ..io.records import load_accuracy_records, load_records, normalised_entropy, records_path
from ..model.profile import Profile
from .estimators import (
    ESTIMATORS,
    RECOMMENDED,
    accuracy_table,
    exiting_accuracy,
    fit_stats,
    fitted_accuracy,
    kept_exit_outcome,
    predicted_accuracy,
    predicted_exit,
    sample_partitionings,
)

FINAL_MODES = ("finetune", "scratch")
DEFAULT_PARTITIONINGS = 28
DEFAULT_MAX_PARTITIONS = 4  # the paper's topologies have four tiers, so at most four partitions


def _write_atomic(path: Path, write) -> None:
    """write(tmp_path) then rename (_atomic.atomic_path), so an interrupted write never leaves a half file
    at `path` nor a stray temporary. `write` must write exactly the path it is given."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        write(tmp)


def _savez(path: Path, arrays: dict) -> None:
    # Through a file object: given a name, np.savez would append ".npz" to the temporary's.
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def _write_json(path: Path, obj) -> None:
    _write_atomic(path, lambda p: p.write_text(json.dumps(obj, indent=1) + "\n"))


# ---------------------------------------------------------------- the plan of a validation


def validation_plan(run_dir, n_blocks: int, partitionings: int = DEFAULT_PARTITIONINGS, seed: int = 0,
                    final: str = "finetune", train: dict | None = None,
                    max_partitions: int | None = DEFAULT_MAX_PARTITIONS) -> dict:
    if final not in FINAL_MODES:
        raise ValueError(f"final: expected one of {FINAL_MODES}, got {final!r}")
    return {"run_dir": str(run_dir), "blocks": int(n_blocks), "final": final, "seed": int(seed),
            "count": int(partitionings),
            "max_partitions": max_partitions, "train": train,
            "partitionings": [list(p) for p in sample_partitionings(n_blocks, partitionings, seed, max_partitions)]}


def open_validation(out_dir, plan: dict) -> dict:
    """Write validate.json for a new validation, or check that `plan` is the one already there."""
    path = Path(out_dir) / "validate.json"
    if path.exists():
        stored = _read_json(path)
        keys = ("final", "seed", "count", "max_partitions", "train", "partitionings")
        diff = {k: (stored.get(k), plan[k]) for k in keys if stored.get(k) != plan[k]}
        if diff:
            raise ValueError(f"validation folder {out_dir} holds another validation (stored vs asked: {diff}); "
                             "pick another --out-dir")
        return stored
    _write_json(path, plan)
    return plan


# ---------------------------------------------------------------- final models (torch)


def final_net(joint, P):
    """Blocks 1..P_L of `joint` and only the branches at P (deep copies): the final model of P."""
    from .earlyexit import EarlyExitNet
    P = [int(p) for p in P]
    missing = [p for p in P if p not in joint.exits]
    if missing:
        raise ValueError(f"partitioning {P}: block {missing[0]} has no branch in the trained network")
    return EarlyExitNet(copy.deepcopy(list(joint.blocks[:P[-1]])),
                        {p: copy.deepcopy(joint.branches[str(p)]) for p in P})


def final_outputs(net, split, batch_size: int = 500) -> dict:
    """Per test sample and kept exit: normalised entropy (float32) and prediction, and the labels."""
    from .train import predict
    probs, labels = predict(net, split, batch_size)
    probs = probs.numpy()
    return {"norm_entropy": normalised_entropy(probs).astype(np.float32),
            "prediction": probs.argmax(2).astype(np.int16), "label": labels.numpy().astype(np.int64)}


def load_joint(run_dir, data=None):
    """The run's spec, data and trained joint network (the separate models are not needed here)."""
    from .data import load_data
    from .run import build_net, open_run
    from .train import TrainConfig, load_checkpoint, load_weights
    run_dir = Path(run_dir)
    spec = open_run(run_dir)
    data = data or load_data(spec.data, spec.data_dir, spec.profile_size, spec.size, spec.limit)
    net = build_net(spec, data)
    path, cfg = run_dir / "joint.pt", TrainConfig(**spec.joint)
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; train the run first (eepart train --run-dir {run_dir})")
    ck = load_checkpoint(path, need=("config", "epoch"))  # weights alone: one line naming the field
    if ck["config"] != cfg.as_dict() or ck["epoch"] < cfg.epochs:
        raise ValueError(f"{path}: not the finished joint training run.json asks for "
                         f"(epoch {ck['epoch']} of {cfg.epochs}); finish training first")
    load_weights(net, ck["model"], path)
    return spec, data, net


def default_train(spec, final: str, batches: int | None = None, epochs: int | None = None,
                  lr: float | None = None) -> dict:
    """How final models train: by default as the run's separate models (finetune) or its joint one (scratch)."""
    from .train import TrainConfig
    if final == "finetune":
        base = dict(spec.separate_train) if spec.separate != "none" else TrainConfig(epochs=1, lr=0.01).as_dict()
    else:
        base = dict(spec.joint)
    if batches is not None:
        if batches < 0:
            raise ValueError(f"final batches: expected >= 0 (0: whole epochs), got {batches}")
        base["max_batches"] = int(batches)
    if epochs is not None:
        if epochs < 1:
            raise ValueError(f"final epochs: expected at least 1, got {epochs}")
        base["epochs"] = int(epochs)
    if lr is not None:
        if not lr > 0:
            raise ValueError(f"final lr: expected > 0, got {lr}")
        base["lr"] = float(lr)
    return TrainConfig(**base).as_dict()


def run_final_models(run_dir, out_dir, partitionings: int = DEFAULT_PARTITIONINGS, seed: int = 0,
                     final: str = "finetune", batches: int | None = None, epochs: int | None = None,
                     lr: float | None = None, max_partitions: int | None = DEFAULT_MAX_PARTITIONS,
                     progress: bool = True, log=print, data=None, profile=None) -> dict:
    """Train and measure every final model not yet done in `out_dir`; returns the validation plan.

    `profile`: the profile the report will compare with, refused here (before any training) when it is
    another network's.
    """
    from tqdm import tqdm

    from .run import build_net
    from .train import TrainConfig, train_model
    spec, data, joint = load_joint(run_dir, data)
    if profile is not None:
        _same_network(profile, joint.N, f"run {run_dir}")
    cfg = TrainConfig(**default_train(spec, final, batches, epochs, lr))
    plan = open_validation(out_dir, validation_plan(run_dir, joint.N, partitionings, seed, final, cfg.as_dict(),
                                                    max_partitions))
    out_dir = Path(out_dir)
    todo = [i for i in range(len(plan["partitionings"])) if not (out_dir / f"final-{i:02d}.json").exists()]
    log(f"validate {run_dir}: {len(plan['partitionings'])} partitionings ({final}, {cfg.max_batches or 'all'} "
        f"batches x {cfg.epochs} epochs, lr {cfg.lr}); {len(todo)} to do")
    bar = tqdm(total=len(plan["partitionings"]), initial=len(plan["partitionings"]) - len(todo),
               desc="final models", disable=None if progress else True)
    for i in todo:
        P = plan["partitionings"][i]
        # scratch: build_net seeds with the joint seed, so every final model starts where the joint one did.
        net = final_net(joint if final == "finetune" else build_net(spec, data), P)
        ck_path = out_dir / f"final-{i:02d}.pt"
        ck = train_model(net, data.train, cfg, ck_path, log, f"final {i + 1}/{len(plan['partitionings'])} P={P}",
                         progress)
        started = time.perf_counter()
        outputs = final_outputs(net, data.test)
        measured = time.perf_counter() - started
        _write_atomic(out_dir / f"final-{i:02d}.npz", lambda p, o=outputs: _savez(p, o))
        seconds = float(ck["seconds"])
        _write_json(out_dir / f"final-{i:02d}.json", {"index": i, "P": P, "train_seconds": seconds,
                                                     "measure_seconds": measured, "test_samples": len(data.test),
                                                     "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        acc = (outputs["prediction"][np.arange(len(outputs["label"])), -1] == outputs["label"]).mean()
        log(f"final {i + 1}/{len(plan['partitionings'])} P={P}: trained {seconds:.0f} s, measured {measured:.0f} s, "
            f"last exit test accuracy {acc:.4f}")
        bar.update(1)
    bar.close()
    return plan


# ---------------------------------------------------------------- estimators of a profile


def estimator_tables(profile, records: dict | None = None, max_partitions: int | None = DEFAULT_MAX_PARTITIONS) -> dict:
    """{name: accuracy table} for the estimators this profile and its records allow (N,) or (K, N)."""
    meta = profile.meta or {}
    tables, notes = {}, {}
    joint = meta.get("joint_test_accuracy")
    if joint is not None:
        tables["joint"] = np.asarray(joint, dtype=np.float64)
        notes["joint"] = "the joint network's branch accuracies on the test split (meta.joint_test_accuracy)"
    separate = meta.get("separate_test_accuracy")
    if separate:
        tables["separate"] = np.asarray(separate, dtype=np.float64)
        notes["separate"] = "each exit's separate model on the test split (meta.separate_test_accuracy; the paper's)"
    elif getattr(profile, "accuracy_estimator", None) == "separate" and np.ndim(profile.accuracy) == 1:
        tables["separate"] = np.asarray(profile.accuracy, dtype=np.float64)
        notes["separate"] = "the profile's accuracy (separate models)"
    if records is not None:
        corr = np.asarray(records["correct"], dtype=bool)
        shift = None
        if "separate" in tables:
            shift = tables["separate"] - corr.mean(0)
        tables["exiting"] = exiting_accuracy(records["norm_entropy"], corr, profile.thresholds, shift)
        notes["exiting"] = ("per threshold (K x N): each branch's accuracy on the samples leaving there in the "
                            "full network (per-sample records)" + (", same shift" if shift is not None else ""))
        tables["fitted"] = fitted_accuracy(records["norm_entropy"], corr, profile.thresholds, max_partitions, shift)
        notes["fitted"] = ("per threshold (K x N): least-squares fit of the model's accuracy formula to the "
                           "per-sample records of every partitioning with at most "
                           f"{max_partitions} parts, shifted per branch by separate minus joint accuracy"
                           if shift is not None else "per threshold (K x N), fitted to the per-sample records")
    return {"tables": tables, "notes": notes}


def profile_with_estimator(profile, records: dict | None, name: str = RECOMMENDED,
                           max_partitions: int | None = DEFAULT_MAX_PARTITIONS):
    """A copy of `profile` whose accuracy is estimator `name`'s table (the engine plans with it)."""
    tables = estimator_tables(profile, records, max_partitions)["tables"]
    if name not in tables:
        need = "the profile's records (<name>.samples.npz beside it)" if name in ("fitted", "exiting") else \
            f"meta.{name}_test_accuracy in the profile"
        raise ValueError(f"estimator {name!r}: not available for this profile; it needs {need}")
    return profile.with_accuracy(tables[name], estimator=name)


# ---------------------------------------------------------------- the report


def _read_json(path) -> dict:
    """A JSON object this command wrote (validate.json, final-NN.json), refused by name when damaged."""
    try:
        value = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: damaged ({type(exc).__name__}: {exc}); remove it to redo that step") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: damaged (a JSON {type(value).__name__}, expected an object); remove it to "
                         "redo that step")
    return value


def _same_network(profile, blocks: int, what: str) -> None:
    if profile.N != blocks:
        raise ValueError(f"profile {profile.name!r}: N = {profile.N} blocks, but the {what} network has {blocks}; "
                         "give the profile made from this run (eepart profile --run-dir ...)")


def _outcome(out_dir: Path, i: int, thresholds):
    z = load_records(out_dir / f"final-{i:02d}.npz", need=("norm_entropy", "prediction", "label"))
    correct = z["prediction"] == z["label"][:, None]
    return kept_exit_outcome(z["norm_entropy"], correct, thresholds)


def build_report(profile, out_dir, records: dict | None = None, plan: dict | None = None) -> dict:
    """Predicted against actual for every finished final model in `out_dir`, with the fit statistics."""
    out_dir = Path(out_dir)
    plan = plan or _read_json(out_dir / "validate.json")
    if plan.get("blocks") is not None:
        _same_network(profile, plan["blocks"], f"validated run {plan.get('run_dir')}")
    est = estimator_tables(profile, records, plan.get("max_partitions"))
    tables = est["tables"]
    if not tables:
        raise ValueError("profile: meta has neither joint_test_accuracy nor separate_test_accuracy and no "
                         "records were given; nothing to predict accuracy with")
    rows = []
    for i, P in enumerate(plan["partitionings"]):
        info_path = out_dir / f"final-{i:02d}.json"
        if not info_path.exists():
            continue
        if P[-1] > profile.N:
            raise ValueError(f"partitioning {P}: the profile has only {profile.N} blocks")
        fractions, accuracy = _outcome(out_dir, i, profile.thresholds)
        info = _read_json(info_path)
        rows.append({"index": i, "P": P, "train_seconds": info["train_seconds"],
                     "measure_seconds": info["measure_seconds"],
                     "actual": {"accuracy": accuracy.tolist(), "exit_fraction": fractions.tolist()},
                     "predicted": {"exit_fraction": predicted_exit(profile.exit_rate, P).tolist(),
                                   "accuracy": {name: predicted_accuracy(profile.exit_rate, t, P).tolist()
                                                for name, t in tables.items()}}})
    if not rows:
        raise ValueError(f"{out_dir}: no final model has finished yet")
    summary = summarise(rows, list(tables))
    recommended = RECOMMENDED if RECOMMENDED in tables else ("separate" if "separate" in tables else next(iter(tables)))
    return {
        "profile": profile.name, "run_dir": plan.get("run_dir"), "thresholds": profile.thresholds.tolist(),
        "final_models": {"mode": plan["final"], "train": plan["train"], "seed": plan["seed"],
                         "max_partitions": plan.get("max_partitions"), "asked": plan["count"],
                         "finished": len(rows),
                         "train_seconds": sum(r["train_seconds"] for r in rows),
                         "measure_seconds": sum(r["measure_seconds"] for r in rows)},
        "estimators": {name: {"note": est["notes"][name], "accuracy": accuracy_table(
            t, profile.K, profile.N).tolist() if np.ndim(t) == 2 else np.asarray(t).tolist()}
            for name, t in tables.items()},
        "recommended": recommended,
        "summary": summary,
        "partitionings": rows,
        "statistics": "r2 = 1 - sum (actual - predicted)^2 / sum (actual - mean actual)^2 (about y = x); slope and "
                      "intercept: least squares of actual on predicted; mae: mean |actual - predicted|",
    }


def summarise(rows, estimators) -> dict:
    acc_actual = np.concatenate([r["actual"]["accuracy"] for r in rows])
    out = {"accuracy": {name: fit_stats(np.concatenate([r["predicted"]["accuracy"][name] for r in rows]), acc_actual)
                        for name in estimators}}
    pe = np.concatenate([np.ravel(r["predicted"]["exit_fraction"]) for r in rows])
    ae = np.concatenate([np.ravel(r["actual"]["exit_fraction"]) for r in rows])
    out["exit_rate"] = fit_stats(pe, ae)
    # The paper's Figure 3(c): each exit's rate averaged over the thresholds.
    pm = np.concatenate([np.mean(r["predicted"]["exit_fraction"], 0) for r in rows])
    am = np.concatenate([np.mean(r["actual"]["exit_fraction"], 0) for r in rows])
    out["exit_rate_threshold_mean"] = fit_stats(pm, am)
    return out


def load_report(path) -> dict:
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"report {str(path)!r}: {exc}") from exc
    for key in ("partitionings", "summary", "estimators"):
        if key not in report:
            raise ValueError(f"report {str(path)!r}: missing {key!r}; not a validation report")
    return report


def plot_report(report: dict, path, title: str | None = None) -> None:
    """Figure 3 of the paper: predicted (x) against actual (y), y = x, R^2, slope and MAE in each panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["partitionings"]
    rec = report.get("recommended")

    def accuracy_panel(name):
        return (f"accuracy, {name} estimator" + (" (recommended)" if name == rec else ""),
                np.concatenate([r["predicted"]["accuracy"][name] for r in rows]),
                np.concatenate([r["actual"]["accuracy"] for r in rows]), report["summary"]["accuracy"][name])

    # The paper's three panels first (joint, separate, exit rate), then the other estimators and the
    # exit rate averaged over thresholds as the paper's 3(c) plots it.
    paper = [n for n in ("joint", "separate") if n in report["estimators"]]
    others = [n for n in report["estimators"] if n not in paper]
    others.sort(key=lambda n: n != rec)
    panels = [accuracy_panel(n) for n in paper]
    panels.append(("exit rate, every exit and threshold",
                   np.concatenate([np.ravel(r["predicted"]["exit_fraction"]) for r in rows]),
                   np.concatenate([np.ravel(r["actual"]["exit_fraction"]) for r in rows]),
                   report["summary"]["exit_rate"]))
    panels += [accuracy_panel(n) for n in others]
    if "exit_rate_threshold_mean" in report["summary"]:
        panels.append(("exit rate per exit, mean over thresholds",
                       np.concatenate([np.mean(r["predicted"]["exit_fraction"], 0) for r in rows]),
                       np.concatenate([np.mean(r["actual"]["exit_fraction"], 0) for r in rows]),
                       report["summary"]["exit_rate_threshold_mean"]))
    cols = min(3, len(panels))
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 4.4 * nrows), dpi=110, squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.axis("off")
    for ax, letter, (label, x, y, s) in zip(axes.ravel(), "abcdefgh", panels):
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        pad = 0.02 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="black", lw=1)
        ax.scatter(x, y, s=6, alpha=0.45, color="tab:blue" if "accuracy" in label else "tab:green", rasterized=True)
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(f"({letter}) {label}", fontsize=9)
        ax.set_xlabel("predicted by the model")
        ax.set_ylabel("final model (test split)")
        ax.text(0.04, 0.96, f"R² = {s['r2']:.4f}\nslope = {s['slope']:.3f}\nMAE = {100 * s['mae']:.2f} pt\n"
                            f"{s['points']} points", transform=ax.transAxes, va="top", fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    fm = report["final_models"]
    fig.suptitle(title or f"{report.get('profile')}: model vs {fm['finished']} final models ({fm['mode']}), "
                          f"{len(report['thresholds'])} thresholds", fontsize=10)
    fig.tight_layout()
    _write_atomic(Path(path), lambda p: fig.savefig(p, format=Path(path).suffix.lstrip(".") or "png"))
    plt.close(fig)


def validate(run_dir, profile_path, out_dir=None, partitionings: int = DEFAULT_PARTITIONINGS, seed: int = 0,
             final: str = "finetune", batches: int | None = None, epochs: int | None = None, lr: float | None = None,
             max_partitions: int | None = DEFAULT_MAX_PARTITIONS, progress: bool = True, log=print, data=None) -> dict:
    """The whole validation: train and measure the final models (resuming), then write report.json."""
    out_dir = Path(out_dir) if out_dir else Path(run_dir) / "validate"
    profile = Profile.load(profile_path)
    rec_path = records_path(profile_path)
    records = load_accuracy_records(rec_path, profile.N) if rec_path.exists() else None  # checked before training
    plan = run_final_models(run_dir, out_dir, partitionings, seed, final, batches, epochs, lr, max_partitions,
                            progress, log, data, profile)
    report = build_report(profile, out_dir, records, plan)
    _write_json(out_dir / "report.json", report)
    return report


__all__ = ["ESTIMATORS", "FINAL_MODES", "build_report", "estimator_tables", "final_net", "final_outputs",
           "load_report", "plot_report", "run_final_models", "validate"]
