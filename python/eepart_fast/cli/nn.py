"""`eepart train`, `eepart profile` and `eepart validate`: the command-line side of eepart_fast.nn.

Importing this module and registering the commands (add_subcommands) needs no torch, so `eepart --help`
lists them everywhere; each command checks for torch before it starts. `main` runs these three alone.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .._extras import require
from ..io.records import load_accuracy_records, records_path
from ..model.profile import Profile
from ..nn.choices import BACKBONE_NAMES, DEFAULT_PROFILE_SIZE, GRANULARITIES, TRAIN_NEEDS
from ..nn.energy import NAMES as ENERGY_READERS
from .options import add_progress


def _threads(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def _add_run_args(p: argparse.ArgumentParser, run_dir_required: bool = True) -> None:
    g = p.add_argument_group("model and data")
    g.add_argument("--backbone", default="resnet20", choices=sorted(BACKBONE_NAMES),
                   help="backbone to cut into blocks (default: resnet20, the paper's)")
    g.add_argument("--granularity", default="block", choices=GRANULARITIES,
                   help="torchvision backbones: cut at every residual/inverted-residual/Inception module "
                        "(block, the paper's notion) or once per stage (stage). Default: block")
    g.add_argument("--data", default="fashion-mnist",
                   help="fashion-mnist (Debian package dataset-fashion-mnist), torchvision:<Class> "
                        "(e.g. torchvision:CIFAR10, already under --data-dir; never downloaded), or folder "
                        "(--data-dir/train/<class>/*, --data-dir/test/<class>/*). Default: fashion-mnist")
    g.add_argument("--data-dir", default=None, help="where the dataset lies (fashion-mnist: the idx files)")
    g.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="resize images (torchvision and folder datasets only)")
    g.add_argument("--profile-size", type=int, default=DEFAULT_PROFILE_SIZE,
                   help="training images held out for profiling, never trained on (default: %(default)s)")
    g.add_argument("--limit", type=int, default=None,
                   help="use at most this many images of each split, a fixed random subset (quick trials)")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=8, help="joint (full-configuration) epochs (default: 8)")
    t.add_argument("--batch-size", type=int, default=128, help="default: 128")
    t.add_argument("--lr", type=float, default=0.1, help="peak learning rate, cosine decay (default: 0.1)")
    t.add_argument("--weight-decay", type=float, default=5e-4, help="default: 5e-4")
    t.add_argument("--seed", type=int, default=0, help="default: 0")
    t.add_argument("--max-batches", type=int, default=0,
                   help="at most this many batches per epoch (0: the whole split)")
    t.add_argument("--separate", default="finetune", choices=("finetune", "scratch", "none"),
                   help="accuracy per exit from separate models (paper 2.2): started from the joint "
                        "weights (finetune, cheap), from scratch, or none (use the joint network's branches)")
    t.add_argument("--separate-epochs", type=int, default=1, help="epochs per separate model (default: 1)")
    t.add_argument("--separate-max-batches", type=int, default=None,
                   help="at most this many batches per separate epoch (default: --max-batches)")
    t.add_argument("--separate-lr", type=float, default=None,
                   help="default: 0.01 with finetune, --lr with scratch")
    p.add_argument("--run-dir", required=run_dir_required, help="folder for run.json, checkpoints and train.log; "
                   "the same command again resumes")
    p.add_argument("--threads", type=_threads, default=None, help="torch CPU threads (default: torch's own)")
    add_progress(p, "no tqdm bars (for logs)")


def _add_profile_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("profiling")
    g.add_argument("--out", required=True, help="profile JSON to write; the per-sample records go beside "
                   "it as <name>.samples.npz")
    g.add_argument("--name", default=None, help="profile name (default: the --out file's stem)")
    g.add_argument("--timing-samples", type=int, default=1000,
                   help="single samples timed per block and branch (99th percentile; default: 1000)")
    g.add_argument("--warmup", type=int, default=50, help="untimed single samples first (default: 50)")
    g.add_argument("--clock", default="auto", choices=("auto", "cpu", "wall"),
                   help="time blocks by the thread's CPU time (cpu: immune to other processes on a shared "
                        "machine, one torch thread only) or wall time; auto: cpu with --threads 1, else wall")
    g.add_argument("--thresholds", type=int, default=20,
                   help="thresholds evenly from 0 to 1 on normalised entropy (default: 20)")
    g.add_argument("--energy", default="none", choices=ENERGY_READERS,
                   help="also measure the power of the timed samples and of 1 s at rest before them, into the "
                        "profile's meta: powercap (Linux RAPL: CPU packages), nvml (NVIDIA GPUs, the energy "
                        "extra), tegrastats (Jetson rails), auto (the first that works here); default: none")
    d = p.add_argument_group("per-device measurements (docs/model.md \"Measured compute\")")
    d.add_argument("--partitions", type=int, nargs="?", const=100, default=0, metavar="SAMPLES",
                   help="also time every contiguous partition (blocks p+1..q and branch q as one piece) on this "
                        "machine, on SAMPLES single samples (default 100), stored as device --device-name")
    d.add_argument("--device-name", default="local", help="device name of --partitions' times (default: local)")
    d.add_argument("--merge-device", nargs=2, metavar=("NAME", "FILE"),
                   help="merge device NAME's measurements from FILE (partition_time, or block_time and "
                        "branch_time, or a profile made on that device) into the profile at --out; no training")


def _spec(a):
    from ..nn.run import RunSpec
    from ..nn.train import TrainConfig
    sep_lr = a.separate_lr if a.separate_lr is not None else (0.01 if a.separate == "finetune" else a.lr)
    joint = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, weight_decay=a.weight_decay,
                        seed=a.seed, max_batches=a.max_batches)
    sep_batches = a.max_batches if a.separate_max_batches is None else a.separate_max_batches
    sep = TrainConfig(epochs=a.separate_epochs, batch_size=a.batch_size, lr=sep_lr, weight_decay=a.weight_decay,
                      seed=a.seed, max_batches=sep_batches)
    return RunSpec(backbone=a.backbone, granularity=a.granularity, data=a.data, data_dir=a.data_dir,
                   size=list(a.size) if a.size else None, profile_size=a.profile_size, limit=a.limit,
                   joint=joint.as_dict(),
                   separate=a.separate, separate_train=sep.as_dict())


def rebuild_command(spec, a) -> str:
    """The `eepart profile --train` line, every option spelled out, that rebuilds this profile from nothing.

    Training options come from the run folder's run.json (what was trained), profiling options from `a`.
    """
    j, s = spec.joint, spec.separate_train
    words = ["eepart", "profile", "--train", "--backbone", spec.backbone, "--granularity", spec.granularity,
             "--data", spec.data]
    if spec.data_dir:
        words += ["--data-dir", spec.data_dir]
    if spec.size:
        words += ["--size", *spec.size]
    if spec.limit:
        words += ["--limit", spec.limit]
    words += ["--profile-size", spec.profile_size, "--epochs", j["epochs"], "--batch-size", j["batch_size"],
              "--lr", j["lr"], "--weight-decay", j["weight_decay"], "--seed", j["seed"],
              "--max-batches", j["max_batches"], "--separate", spec.separate, "--separate-epochs", s["epochs"],
              "--separate-lr", s["lr"], "--separate-max-batches", s["max_batches"]]
    if a.threads:
        words += ["--threads", a.threads]
    words += ["--timing-samples", a.timing_samples, "--warmup", a.warmup, "--clock", a.clock,
              "--thresholds", a.thresholds]
    if a.energy != "none":
        words += ["--energy", a.energy]
    if a.partitions:
        words += ["--partitions", a.partitions, "--device-name", a.device_name]
    words += ["--run-dir", a.run_dir, "--out", a.out]
    if a.name:
        words += ["--name", a.name]
    return " ".join(shlex.quote(str(w)) for w in words)


def run_train(a) -> int:
    require(*TRAIN_NEEDS, what="eepart train")
    import torch

    from ..nn.run import train_run
    if a.threads:
        torch.set_num_threads(a.threads)
    train_run(a.run_dir, _spec(a), progress=a.progress)
    return 0


def run_profile(a) -> int:
    # Checked before training and profiling: time_partitions would refuse them only minutes later.
    if a.partitions < 0:
        raise ValueError(f"--partitions = {a.partitions}: the samples to time each partition on must be >= 1 "
                         "(or 0: no partition timing)")
    if a.partitions and not a.device_name:
        raise ValueError("--device-name = '': the device of the partition times needs a non-empty name")
    require(*TRAIN_NEEDS, what="eepart profile")
    if a.merge_device:
        from ..nn.profiling import merge_device
        name, path = a.merge_device
        profile = merge_device(a.out, name, path)
        print(f"merged device {name!r} into {a.out} (devices: {', '.join(profile.devices)})")
        return 0
    if not a.run_dir:
        raise ValueError("--run-dir: required (except with --merge-device)")
    if a.energy == "nvml":
        require("pynvml", what="eepart profile --energy nvml")
    from ..nn.energy import reader
    energy = reader(a.energy)  # a machine without it is told now, not after training
    try:
        profile = _profile(a, energy)
    finally:
        if energy is not None:
            energy.close()
    m = profile.meta
    print(f"wrote {a.out} (N={profile.N}, K={profile.K}); separate accuracy "
          f"{' '.join(f'{v:.4f}' for v in profile.accuracy)}; joint accuracy "
          f"{' '.join(f'{v:.4f}' for v in m['joint_test_accuracy'])}")
    if "energy" in m:
        e = m["energy"]
        print(f"energy ({e['reader']}: {', '.join(e['domains'])}): {e['active_power_w']:.3f} W over the timed "
              f"samples, {e['idle_power_w']:.3f} W at rest")
    return 0


def _profile(a, energy):
    import torch

    from ..nn.profiling import profile_run
    if a.threads:
        torch.set_num_threads(a.threads)
    from ..nn.run import open_run, train_run
    if a.train:
        train_run(a.run_dir, _spec(a), progress=a.progress)
    command = rebuild_command(open_run(a.run_dir), a)
    return profile_run(a.run_dir, a.out, name=a.name, timing_samples=a.timing_samples, warmup=a.warmup,
                       n_thresholds=a.thresholds, command=command, progress=a.progress, clock=a.clock,
                       partitions=a.partitions, device_name=a.device_name, energy=energy)


def run_validate(a) -> int:
    from ..nn.validate import build_report, load_report, plot_report, validate
    if a.write_profile:
        if not a.profile:
            raise ValueError("--write-profile needs --profile (and its records beside it for fitted/exiting)")
        from ..nn.validate import profile_with_estimator
        rec = records_path(a.profile)
        profile = Profile.load(a.profile)
        out = profile_with_estimator(profile, load_accuracy_records(rec, profile.N) if rec.exists() else None,
                                     a.estimator, a.max_partitions or None)
        out.save(a.write_profile)
        print(f"wrote {a.write_profile} (accuracy: {a.estimator}, shape {'x'.join(map(str, out.accuracy.shape))})")
        return 0
    if a.report and not a.run_dir:
        if not a.plot:
            raise ValueError("--report without --run-dir redraws a report: give --plot F.png too")
        plot_report(load_report(a.report), a.plot)
        print(f"wrote {a.plot}")
        return 0
    if not a.run_dir or not a.profile:
        raise ValueError("--run-dir and --profile are needed to validate (or --report R.json --plot F.png to redraw)")
    if a.threads or not a.report_only:  # final models are trained and run with torch
        require(*TRAIN_NEEDS, what="eepart validate")
    if a.threads:
        import torch
        torch.set_num_threads(a.threads)
    out_dir = a.out_dir or f"{a.run_dir}/validate"
    if a.report_only:
        rec = records_path(a.profile)
        profile = Profile.load(a.profile)
        report = build_report(profile, out_dir, load_accuracy_records(rec, profile.N) if rec.exists() else None)
    else:
        report = validate(a.run_dir, a.profile, out_dir, a.partitionings, a.seed, a.final, a.final_batches,
                          a.final_epochs, a.final_lr, a.max_partitions or None, progress=a.progress)
    from ..nn.validate import _write_json
    target = a.report or f"{out_dir}/report.json"
    _write_json(Path(target), report)
    if a.plot:
        plot_report(report, a.plot)
    s = report["summary"]
    for name, st in s["accuracy"].items():
        mark = " (recommended)" if name == report["recommended"] else ""
        print(f"accuracy, {name}{mark}: R2 {st['r2']:.4f} slope {st['slope']:.3f} MAE {100 * st['mae']:.2f} pt "
              f"({st['points']} points)")
    st = s["exit_rate"]
    print(f"exit rate: R2 {st['r2']:.4f} slope {st['slope']:.3f} MAE {100 * st['mae']:.2f} pt ({st['points']} points)")
    print(f"wrote {target}" + (f" and {a.plot}" if a.plot else ""))
    return 0


def _add_validate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", default=None, help="a trained run (eepart train / profile --train)")
    p.add_argument("--profile", default=None, help="the run's profile JSON (its .samples.npz beside it gives "
                   "the fitted estimator)")
    p.add_argument("--out-dir", default=None, help="final models, their outputs and report.json "
                   "(default: RUN_DIR/validate); the same command again resumes")
    p.add_argument("--partitionings", type=_threads, default=28, help="random partitionings (default: 28, the paper's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the partitioning draw (default: 0)")
    p.add_argument("--max-partitions", type=int, default=4,
                   help="draw partitionings of at most this many parts (default: 4, the paper's topologies; "
                        "0: any)")
    p.add_argument("--final", default="finetune", choices=("finetune", "scratch"),
                   help="final models start from the joint weights (finetune, default) or a fresh initialisation")
    p.add_argument("--final-batches", type=int, default=None,
                   help="batches per epoch of a final model (default: as the run's separate models, or the "
                        "joint ones with --final scratch; 0: whole epochs)")
    p.add_argument("--final-epochs", type=int, default=None, help="epochs of a final model (default: as above)")
    p.add_argument("--final-lr", type=float, default=None, help="peak learning rate (default: as above)")
    p.add_argument("--report", default=None, help="where to write the JSON report (default: OUT_DIR/report.json); "
                   "alone with --plot: redraw that report without training")
    p.add_argument("--report-only", action="store_true", help="build the report from the final models done so far")
    p.add_argument("--plot", default=None, help="Figure 3 as a PNG: predicted vs actual accuracy per estimator "
                   "and exit rate")
    p.add_argument("--write-profile", metavar="OUT.json", default=None,
                   help="no training: write --profile with the accuracy of --estimator (per threshold for "
                        "fitted), for `eepart plan --profile OUT.json`")
    p.add_argument("--estimator", default="fitted", choices=("fitted", "separate", "joint", "exiting"),
                   help="with --write-profile: which accuracy estimator (default: fitted, the recommended one)")
    p.add_argument("--threads", type=_threads, default=None, help="torch CPU threads (default: torch's own)")
    add_progress(p, "no tqdm bars (for logs)")


def add_subcommands(subparsers) -> None:
    """Register `train`, `profile` and `validate` on an argparse subparsers object."""
    tr = subparsers.add_parser(
        "train", help="train an early-exit network (joint, then one separate model per exit)",
        description="Train the full-configuration early-exit network (sum of all exit losses), then one "
                    "separate model per exit for the accuracies (paper 2.2). Checkpoints every epoch "
                    "in --run-dir; Ctrl-C saves one; the same command resumes.")
    _add_run_args(tr)
    tr.set_defaults(func=run_train, run=run_train)
    pr = subparsers.add_parser(
        "profile", help="profile a trained run into a profile JSON (with --train: train first)",
        description="Measure block and branch times (99th percentile of single samples after warm-up, on "
                    "this machine), output sizes, exit rates at thresholds on normalised entropy on the "
                    "held-out profiling split, and accuracies of the separate models on the test split.")
    pr.add_argument("--train", action="store_true",
                    help="train (or resume) first, with the training options below; without it the "
                         "training options are ignored and --run-dir's run.json says what was trained")
    _add_run_args(pr, run_dir_required=False)
    _add_profile_args(pr)
    pr.set_defaults(func=run_profile, run=run_profile)
    va = subparsers.add_parser(
        "validate", help="check the model's predictions against final models (paper 3.2, Figure 3)",
        description="Train final models (only the chosen exits) for random partitionings of a profiled run, "
                    "measure their accuracy and exit rates on the test split at every profile threshold, and "
                    "compare with the model's predictions under the joint, separate and fitted accuracy "
                    "estimators. Resumable; Ctrl-C keeps every finished final model.")
    _add_validate_args(va)
    va.set_defaults(func=run_validate, run=run_validate)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="eepart", description="eepart_fast training and profiling (torch)")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)
    a = parser.parse_args(argv)
    try:
        return a.func(a)
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is kept, run the same command to resume", file=sys.stderr)
        return 130
