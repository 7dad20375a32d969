"""A training run in one folder: run.json (what was asked), joint.pt, separate-<i>.pt, train.log.

Running the same command again resumes it; asking for something else in the same folder is an error,
so checkpoints never mix two configurations.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .backbones import make_backbone
from .data import DEFAULT_PROFILE_SIZE, load_data
from .earlyexit import EarlyExitNet
from .train import TrainConfig, load_checkpoint, load_weights, train_model

SEPARATE_MODES = ("finetune", "scratch", "none")
SEPARATE_KEYS = {"separate", "separate_train"}


@dataclass
class RunSpec:
    backbone: str = "resnet20"
    granularity: str = "block"
    data: str = "fashion-mnist"
    data_dir: str | None = None
    size: list | None = None
    profile_size: int = DEFAULT_PROFILE_SIZE
    limit: int | None = None
    joint: dict = field(default_factory=lambda: TrainConfig().as_dict())
    separate: str = "finetune"
    separate_train: dict = field(default_factory=lambda: TrainConfig(epochs=1, lr=0.01).as_dict())

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Logger:
    """Lines to stdout and appended to a file, time-stamped."""

    def __init__(self, path: Path | None):
        self.path = path

    def __call__(self, msg: str) -> None:
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, flush=True)
        if self.path:
            with open(self.path, "a") as f:
                f.write(line + "\n")


def build_net(spec: RunSpec, data) -> EarlyExitNet:
    """The full-configuration network, freshly initialised from the joint seed."""
    torch.manual_seed(spec.joint["seed"])
    return EarlyExitNet.full(make_backbone(spec.backbone, data.channels, data.classes, spec.granularity),
                             data.input_shape)


def read_spec(path) -> RunSpec:
    """A run.json as a RunSpec, refused by name (ValueError naming the file and the field) when it is not
    JSON, not an object, names a field a run does not have, or holds training settings that are not."""
    path = Path(path)
    try:
        text = path.read_text()
        stored = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: not a run.json ({type(exc).__name__}: {exc}); remove the folder's run.json "
                         "and checkpoints, or pick another --run-dir") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: a directory, not a run.json") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{path}: expected a JSON object of run settings, got {type(stored).__name__}")
    fields = set(RunSpec.__dataclass_fields__)
    unknown = sorted(set(stored) - fields)
    if unknown:
        raise ValueError(f"{path}: field {unknown[0]!r} is not a run setting (fields: {', '.join(sorted(fields))})")
    train_fields = set(TrainConfig.__dataclass_fields__)
    for key in ("joint", "separate_train"):
        if key in stored:
            v = stored[key]
            if not isinstance(v, dict) or set(v) - train_fields:
                bad = sorted(set(v) - train_fields)[0] if isinstance(v, dict) else None
                raise ValueError(f"{path}: {key}" + (f".{bad} is not a training setting" if bad else
                                 f" = {str(v)[:60]}: expected an object of training settings"))
    def is_int(v, least):
        return isinstance(v, int) and not isinstance(v, bool) and v >= least

    checks = {"backbone": (lambda v: isinstance(v, str), "a string"),
              "granularity": (lambda v: isinstance(v, str), "a string"),
              "data": (lambda v: isinstance(v, str), "a string"),
              "data_dir": (lambda v: v is None or isinstance(v, str), "a folder name or null"),
              "separate": (lambda v: v in SEPARATE_MODES, f"one of {SEPARATE_MODES}"),
              "profile_size": (lambda v: is_int(v, 1), "an integer >= 1"),
              "limit": (lambda v: v is None or is_int(v, 1), "an integer >= 1 or null"),
              "size": (lambda v: v is None or (isinstance(v, list) and len(v) == 2 and all(is_int(d, 1) for d in v)),
                       "[H, W] or null")}
    for key, (ok, want) in checks.items():
        if key in stored and not ok(stored[key]):
            raise ValueError(f"{path}: {key} = {str(stored[key])[:60]}: expected {want}")
    return RunSpec(**stored)


def started(run_dir) -> bool:
    """Whether a run has begun training: a checkpoint exists. Before that its run.json binds nothing."""
    return any(Path(run_dir).glob("*.pt"))


def open_run(run_dir, spec: RunSpec | None = None, write: bool = True) -> RunSpec:
    """Write run.json for a new run, or check that `spec` matches the one already there.

    A folder whose run never started (no checkpoint: say the data was missing) takes a new spec.
    With write=False only the check is made.
    """
    run_dir = Path(run_dir)
    path = run_dir / "run.json"
    if path.exists():
        stored = read_spec(path)
        if spec is None or spec.as_dict() == stored.as_dict():
            return stored
        diff = {k: (stored.as_dict()[k], v) for k, v in spec.as_dict().items() if stored.as_dict()[k] != v}
        if set(diff) - SEPARATE_KEYS and started(run_dir):
            raise ValueError(f"run folder {run_dir} holds another run (stored vs asked: {diff}); "
                             "pick a new --run-dir")
        # The separate models may be asked differently later: each separate checkpoint records its own
        # settings and refuses to resume under others, so nothing can mix.
    elif spec is None:
        raise FileNotFoundError(f"run folder {run_dir} has no run.json: train first (eepart train --run-dir ...)")
    if spec.separate not in SEPARATE_MODES:
        raise ValueError(f"separate: expected one of {SEPARATE_MODES}, got {spec.separate!r}")
    if write:
        run_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(spec.as_dict(), indent=1) + "\n")
    return spec


def separate_net(spec: RunSpec, joint: EarlyExitNet, data, i: int) -> EarlyExitNet:
    """The separate model of exit i: from the joint weights (finetune) or a fresh initialisation (scratch)."""
    if spec.separate == "finetune":
        return joint.separate(i)
    torch.manual_seed(spec.separate_train["seed"] + i)
    return EarlyExitNet.full(make_backbone(spec.backbone, data.channels, data.classes, spec.granularity),
                             data.input_shape).separate(i)


def _resumable(net, split, cfg, checkpoint, log, desc, progress):
    """train_model; a checkpoint whose weights do not fit the network is refused in one line naming it
    (train.CheckpointMismatch, a ValueError)."""
    return train_model(net, split, cfg, checkpoint, log, desc, progress)


def train_run(run_dir, spec: RunSpec, data=None, progress: bool = True, log=None):
    """Joint training, then one separate model per exit; every stage resumes from its checkpoint."""
    run_dir = Path(run_dir)
    spec = open_run(run_dir, spec, write=False)
    # The data first: a run that cannot start (no data) leaves no run.json to hold its folder.
    data = data or load_data(spec.data, spec.data_dir, spec.profile_size, spec.size, spec.limit)
    spec = open_run(run_dir, spec)
    log = log or Logger(run_dir / "train.log")
    net = build_net(spec, data)
    log(f"run {run_dir}: {spec.backbone} ({spec.granularity}, N={net.N}) on {data.name} "
        f"train {len(data.train)} / profile {len(data.profile)} / test {len(data.test)}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    _resumable(net, data.train, TrainConfig(**spec.joint), run_dir / "joint.pt", log, "joint", progress)
    if spec.separate != "none":
        for i in net.exits:
            sep = separate_net(spec, net, data, i)
            _resumable(sep, data.train, TrainConfig(**spec.separate_train), run_dir / f"separate-{i}.pt", log,
                        f"separate {i}/{net.N}", progress)
    log("training done")
    return spec, data, net


def load_trained(run_dir, data=None):
    """The run's spec, data, trained joint network and separate models (dict exit -> net, empty for 'none')."""
    run_dir = Path(run_dir)
    spec = open_run(run_dir)
    data = data or load_data(spec.data, spec.data_dir, spec.profile_size, spec.size, spec.limit)
    net = build_net(spec, data)
    checkpoints = {"joint": (run_dir / "joint.pt", TrainConfig(**spec.joint))}
    if spec.separate != "none":
        checkpoints.update({i: (run_dir / f"separate-{i}.pt", TrainConfig(**spec.separate_train)) for i in net.exits})
    loaded = {}
    for key, (path, cfg) in checkpoints.items():
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing; finish training first (eepart train --run-dir {run_dir})")
        ck = load_checkpoint(path, need=("config", "epoch", "seconds"))  # weights alone: the field named
        if ck["config"] != cfg.as_dict():
            raise ValueError(f"{path}: trained with {ck['config']}, run.json asks {cfg.as_dict()}; "
                             "remove it and train again")
        if ck["epoch"] < cfg.epochs:
            raise ValueError(f"{path}: trained {ck['epoch']} of {cfg.epochs} epochs; resume training first")
        loaded[key] = ck
    load_weights(net, loaded["joint"]["model"], checkpoints["joint"][0])
    separate = {}
    for i in ([] if spec.separate == "none" else net.exits):
        sep = net.separate(i)
        load_weights(sep, loaded[i]["model"], checkpoints[i][0])
        separate[i] = sep
    seconds = {str(k): float(ck["seconds"]) for k, ck in loaded.items()}
    return spec, data, net, separate, seconds
