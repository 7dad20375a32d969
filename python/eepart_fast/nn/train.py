"""Training of early-exit networks: the loss is the sum of every exit's cross-entropy.

The same loop trains the full configuration (all exits, paper 2.2 "joint") and each separate model
(blocks 1..i + branch i: one exit). Checkpoints are written at the end of every epoch and on Ctrl-C,
so a run resumes where it stopped, batch for batch: the shuffle of epoch e is fixed by seed + e.
"""
from __future__ import annotations

import math
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..io.atomic import atomic_path
from .data import batches


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    flip: bool = True
    max_batches: int = 0  # per epoch; 0 = the whole training split

    def as_dict(self) -> dict:
        return asdict(self)


class CheckpointMismatch(ValueError):
    """A checkpoint's weights do not fit the network being trained (another backbone, other exits)."""


def load_weights(module, weights, path) -> None:
    """module.load_state_dict(weights), a mismatch (another backbone, other shapes) refused in one line
    naming the checkpoint and the first tensor at fault: CheckpointMismatch."""
    try:
        module.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError) as exc:  # torch's refusals of weights that do not fit
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        first = lines[1] if len(lines) > 1 else (lines[0] if lines else type(exc).__name__)
        raise CheckpointMismatch(f"{path}: weights do not fit this run's network ({first[:240]}); was it trained "
                                 "with another run.json? Remove it and train again") from None


def save_atomic(obj, path: Path) -> None:
    """torch.save through a temporary file, so an interrupted save never leaves a broken checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:  # removed on any error or Ctrl-C, as every output of the package
        torch.save(obj, tmp)


def load_checkpoint(path: Path, need=()) -> dict:
    """A checkpoint train_model wrote ({"model", "optimizer", "rng", "config", "epoch", ...}), or bare model
    weights (a state_dict, as experiments/results/figure_3_weights holds them) as {"model": weights}.
    `need`: the fields the caller reads; one missing is a ValueError naming the file and the field."""
    path = Path(path)
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise ValueError(f"{path}: not a torch checkpoint ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(ck, dict):
        raise ValueError(f"{path}: not a checkpoint (holds a {type(ck).__name__}, not a dict)")
    if "model" not in ck and ck and all(isinstance(v, torch.Tensor) for v in ck.values()):
        ck = {"model": ck}  # model weights alone: no training state
    for field in ("model", *need):
        if field not in ck:
            what = "model weights only" if set(ck) == {"model"} else f"fields {sorted(map(str, ck))[:8]}"
            raise ValueError(f"{path}: field {field!r} missing ({what})")
    return ck


def _lr(cfg: TrainConfig, step: int, total: int) -> float:
    # Cosine decay by step, so a resumed run needs nothing but the step count.
    return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))


def train_model(net, split, cfg: TrainConfig, checkpoint, log=print, desc: str = "train",
                progress: bool = True) -> dict:
    """Train `net` on `split`, resuming from `checkpoint` when it exists; returns the checkpoint dict."""
    checkpoint = Path(checkpoint)
    per_epoch = (len(split) + cfg.batch_size - 1) // cfg.batch_size
    if cfg.max_batches:
        per_epoch = min(per_epoch, cfg.max_batches)
    total = per_epoch * cfg.epochs
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                          nesterov=True)
    state = {"epoch": 0, "batch": 0, "history": [], "seconds": 0.0}
    torch.manual_seed(cfg.seed)
    if checkpoint.exists():
        ck = load_checkpoint(checkpoint, need=("config", "optimizer", "rng", "epoch", "batch", "history", "seconds"))
        if ck["config"] != cfg.as_dict():
            raise ValueError(f"checkpoint {checkpoint}: trained with {ck['config']}, asked for {cfg.as_dict()}; "
                             "use another run folder or remove the checkpoint")
        load_weights(net, ck["model"], checkpoint)
        opt.load_state_dict(ck["optimizer"])
        torch.set_rng_state(ck["rng"])
        state = {k: ck[k] for k in state}
        if state["epoch"] >= cfg.epochs:
            return ck
        log(f"{desc}: resuming at epoch {state['epoch'] + 1} batch {state['batch']}")

    def snapshot():
        return {"model": net.state_dict(), "optimizer": opt.state_dict(), "rng": torch.get_rng_state(),
                "config": cfg.as_dict(), **state}

    net.train()
    try:
        while state["epoch"] < cfg.epochs:
            e = state["epoch"]
            started = time.perf_counter()
            seen = 0
            loss_sum, correct = 0.0, None
            bar = tqdm(total=per_epoch, initial=state["batch"], desc=f"{desc} epoch {e + 1}/{cfg.epochs}",
                       disable=None if progress else True, leave=False, mininterval=2.0)
            for x, y in batches(split, cfg.batch_size, shuffle=True, seed=cfg.seed + 1000 * (e + 1),
                                start=state["batch"]):
                if state["batch"] >= per_epoch:
                    break
                if cfg.flip:
                    flip = torch.rand(x.shape[0]) < 0.5
                    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
                for group in opt.param_groups:
                    group["lr"] = _lr(cfg, e * per_epoch + state["batch"], total)
                outs = net(x)
                loss = sum(F.cross_entropy(o, y) for o in outs)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                state["batch"] += 1
                with torch.no_grad():
                    hits = torch.stack([(o.argmax(1) == y).sum() for o in outs])
                correct = hits if correct is None else correct + hits
                seen += y.shape[0]
                loss_sum += float(loss.detach()) * y.shape[0]
                bar.update(1)
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", last_exit=f"{float(correct[-1]) / seen:.3f}")
            bar.close()
            state["seconds"] += time.perf_counter() - started
            state["history"].append({"epoch": e + 1, "loss": loss_sum / max(seen, 1),
                                     "train_accuracy": [float(c) / max(seen, 1)
                                                        for c in (correct if correct is not None else [])],
                                     "seconds": time.perf_counter() - started})
            state["epoch"], state["batch"] = e + 1, 0
            save_atomic(snapshot(), checkpoint)
            acc = state["history"][-1]["train_accuracy"]
            log(f"{desc}: epoch {e + 1}/{cfg.epochs} loss {loss_sum / max(seen, 1):.4f} "
                f"train acc (running) {' '.join(f'{a:.3f}' for a in acc)} "
                f"({state['history'][-1]['seconds']:.0f} s)")
    except KeyboardInterrupt:
        state["seconds"] += time.perf_counter() - started
        save_atomic(snapshot(), checkpoint)
        log(f"{desc}: interrupted; checkpoint saved to {checkpoint} (epoch {state['epoch'] + 1}, "
            f"batch {state['batch']}); run the same command again to resume")
        raise
    return snapshot()


@torch.no_grad()
def predict(net, split, batch_size: int = 500):
    """Every exit's softmax probabilities and the labels, over a whole split in order."""
    net.eval()
    probs, labels = [], []
    for x, y in batches(split, batch_size):
        probs.append(torch.stack([o.float().softmax(1) for o in net(x)], 1))
        labels.append(y)
    return torch.cat(probs).double(), torch.cat(labels)


def accuracy(net, split, batch_size: int = 500) -> list:
    p, y = predict(net, split, batch_size)
    return [float(v) for v in (p.argmax(2) == y[:, None]).double().mean(0)]
