"""The profiling phase (paper 2.2) of a trained run, written as a Profile and per-sample records.

- block_time, branch_time: 99th percentile of single samples after warm-up, on this machine
  (block_time_statistic "p99").
- output_bits, input_bits, result_bits: the real tensors of one sample (numel x element size x 8).
- exit_rate: the exit rule of records.py at evenly spaced thresholds, on the profiling split.
- accuracy: each exit's separate model on the test split (the joint branches when there are none).
"""
from __future__ import annotations

import datetime
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .._checks import read_json
from ..io.atomic import atomic_path
from ..io.records import exit_rates, normalised_entropy, records_path, save_records
from ..model.profile import Profile
from .energy import measure
from .train import accuracy, predict

PERCENTILE = 99.0


def tensor_bits(t: torch.Tensor) -> int:
    return int(t.numel() * t.element_size() * 8)


@torch.inference_mode()
def tensor_sizes(net, input_shape):
    """output_bits of every block, input_bits and result_bits, from one real sample's tensors."""
    net.eval()
    x = torch.zeros(1, *input_shape)
    out, h = [], x
    for block in net.blocks:
        h = block(h)
        out.append(tensor_bits(h))
    logits = net.branches[str(net.N)](h)
    return np.array(out, dtype=np.float64), tensor_bits(x), tensor_bits(logits)


CLOCKS = ("auto", "cpu", "wall")


def pick_clock(clock: str) -> str:
    """'auto' is the thread's CPU time with one torch thread, wall time otherwise.

    On a shared machine wall time counts the slices other processes take, so its 99th percentile
    measures the scheduler, not the network; with one torch thread all the work runs in the calling
    thread and its CPU time is the network's own. Several threads need wall time.
    """
    if clock not in CLOCKS:
        raise ValueError(f"clock: expected one of {CLOCKS}, got {clock!r}")
    if clock == "auto":
        return "cpu" if torch.get_num_threads() == 1 else "wall"
    return clock


def _timing_setup(net, clock: str):
    """(clock function, blocks, branches) of a full-configuration net, put in eval mode."""
    clock = time.thread_time_ns if pick_clock(clock) == "cpu" else time.perf_counter_ns
    net.eval()
    n = net.N
    if str(n) not in net.branches or net.exits != list(range(1, n + 1)):
        raise ValueError("timing needs the full configuration: a branch after every block")
    return clock, list(net.blocks), [net.branches[str(i)] for i in range(1, n + 1)]


@torch.inference_mode()
def time_single_samples(net, split, samples: int, warmup: int, progress: bool = True, clock: str = "auto",
                        energy=None):
    """Seconds per block and per branch for single samples, shape (samples, N) each; warm-up untimed.
    `energy` (an energy.measure.Span) is started after the warm-up and stopped after the last sample."""
    clock, blocks, branches = _timing_setup(net, clock)
    n = net.N
    block_s = np.empty((samples, n))
    branch_s = np.empty((samples, n))
    for s in tqdm(range(warmup + samples), desc="timing", disable=None if progress else True, mininterval=2.0):
        if s == warmup and energy is not None:
            energy.start()
        h, _ = split.batch(torch.tensor([s % len(split)]))
        for i in range(n):
            t0 = clock()
            h = blocks[i](h)
            t1 = clock()
            branches[i](h)
            t2 = clock()
            if s >= warmup:
                block_s[s - warmup, i] = (t1 - t0) * 1e-9
                branch_s[s - warmup, i] = (t2 - t1) * 1e-9
    if energy is not None:
        energy.stop()
    return block_s, branch_s


@torch.inference_mode()
def time_partitions(net, split, samples: int, warmup: int, progress: bool = True, clock: str = "auto") -> list:
    """Every contiguous partition (p, q] run as one piece on this machine: blocks p+1..q, then branch q, on
    single samples, each fed the real output of block p. Returns [[first block, last block, seconds], ...]
    (the PERCENTILE of the samples), the `partition_time` of a device (docs/model.md "Measured compute")."""
    if samples < 1 or warmup < 0:
        raise ValueError(f"partition timing needs samples >= 1 and warmup >= 0, got {samples}, {warmup}")
    clock, blocks, branches = _timing_setup(net, clock)
    n = net.N
    seconds = np.empty((samples, n, n))  # [sample, p, q - 1]
    for s in tqdm(range(warmup + samples), desc="timing partitions", disable=None if progress else True,
                  mininterval=2.0):
        h, _ = split.batch(torch.tensor([s % len(split)]))
        inputs = [h]  # inputs[p]: what enters block p+1
        for i in range(n - 1):
            inputs.append(blocks[i](inputs[-1]))
        for p in range(n):
            for q in range(p + 1, n + 1):
                t0 = clock()
                h = inputs[p]
                for i in range(p, q):
                    h = blocks[i](h)
                branches[q - 1](h)
                t1 = clock()
                if s >= warmup:
                    seconds[s - warmup, p, q - 1] = (t1 - t0) * 1e-9
    return [[p + 1, q, float(np.percentile(seconds[:, p, q - 1], PERCENTILE))]
            for p in range(n) for q in range(p + 1, n + 1)]


def _load():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _measure_energy(reader, idle_seconds: float, timing):
    """timing(span) under `reader`, after `idle_seconds` at rest: (timing's result, the meta's energy entry)."""
    rest = measure.idle(reader, idle_seconds)
    span = measure.Span(reader)
    try:
        result = timing(span)
    finally:
        span.abandon()  # no-op once timing stopped it
    entry = {"reader": reader.name, "domains": list(reader.domains), "how": reader.describe(),
             "active_power_w": span.watts, "idle_power_w": rest.watts, "seconds": span.seconds,
             "joules": span.joules, "idle_seconds": rest.seconds, "idle_joules": rest.joules,
             "window": "the timed single samples (after the warm-up); idle: a sleep just before them"}
    return result, entry


def profile_net(net, separate: dict, data, timing_samples: int = 1000, warmup: int = 50,
                n_thresholds: int = 20, progress: bool = True, clock: str = "auto", energy=None,
                idle_seconds: float = 1.0):
    """(Profile fields, meta, records) of a trained full-configuration net and its separate models.
    With `energy` (an energy reader), meta["energy"] holds the mean power over the timed single samples and
    over `idle_seconds` of rest before them."""
    if timing_samples < 1 or warmup < 0 or n_thresholds < 1:
        raise ValueError(f"timing_samples >= 1, warmup >= 0, thresholds >= 1 needed; got "
                         f"{timing_samples}, {warmup}, {n_thresholds}")
    clock = pick_clock(clock)

    def timing(span=None):
        return time_single_samples(net, data.profile, timing_samples, warmup, progress, clock, energy=span)

    if energy is None:
        (block_s, branch_s), energy_entry = timing(), None
    else:
        (block_s, branch_s), energy_entry = _measure_energy(energy, idle_seconds, timing)
    output_bits, input_bits, result_bits = tensor_sizes(net, data.input_shape)
    probs, labels = predict(net, data.profile)
    probs, labels = probs.numpy(), labels.numpy()
    bad = ~np.isfinite(probs).all(axis=2)  # (samples, exits): NaN/inf logits have no entropy to exit by
    if bad.any():
        s, b = np.argwhere(bad)[0]
        raise ValueError(f"exit {net.exits[b]} of the trained network gives non-finite outputs on profiling "
                         f"sample {s} ({int(bad.any(1).sum())} of {len(probs)} samples): its weights hold NaN or "
                         "infinities (training diverged?); retrain, e.g. with a lower --lr")
    entropy = normalised_entropy(probs)
    prediction = probs.argmax(2)
    correct = prediction == labels[:, None]
    thresholds = np.linspace(0.0, 1.0, n_thresholds) if n_thresholds > 1 else np.array([0.0])
    alpha = exit_rates(entropy, thresholds)
    joint_test = accuracy(net, data.test)
    separate_test = {i: accuracy(m, data.test)[0] for i, m in sorted(separate.items())}
    acc = [separate_test[i] for i in net.exits] if separate else joint_test
    fields = dict(block_time=np.percentile(block_s, PERCENTILE, axis=0),
                  branch_time=np.percentile(branch_s, PERCENTILE, axis=0),
                  output_bits=output_bits, input_bits=float(input_bits), result_bits=float(result_bits),
                  accuracy=np.array(acc), thresholds=thresholds, exit_rate=alpha,
                  accuracy_estimator="separate" if separate else "joint",
                  block_time_statistic=f"p{PERCENTILE:g}")
    meta = {
        "accuracy_source": "separate models on the test split" if separate else
                           "joint network's branches on the test split (no separate models trained)",
        "joint_test_accuracy": joint_test,
        "separate_test_accuracy": [separate_test[i] for i in sorted(separate_test)],
        "joint_profile_split_accuracy": [float(v) for v in correct.mean(0)],
        "timing": {"statistic": f"percentile {PERCENTILE:g} over single samples (batch 1)",
                   "clock": {"cpu": "CPU time of the calling thread (time.thread_time_ns)",
                             "wall": "wall time (time.perf_counter_ns)"}[clock],
                   "samples": timing_samples, "warmup": warmup, "split": "profile",
                   "median_block_time": np.median(block_s, 0).tolist(),
                   "median_branch_time": np.median(branch_s, 0).tolist(),
                   "device": f"CPU: {_cpu_name()}", "cpu_count": os.cpu_count(),
                   "torch_threads": torch.get_num_threads(), "load_average": _load(),
                   "dtype": "float32", "mode": "eval, torch.inference_mode"},
        "exit_rule": "exit at the first branch whose entropy / log(classes) is strictly below the threshold; "
                     "the last branch takes the rest",
        "exit_rate_split": "profile",
        "profile_samples": int(len(labels)),
        "tensor_sizes": "numel x element size x 8 of one sample (batch 1), float32",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "host": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if energy_entry is not None:
        meta["energy"] = energy_entry
    try:
        import torchvision
        meta["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    records = dict(norm_entropy=entropy, correct=correct, prediction=prediction.astype(np.int16),
                   label=labels.astype(np.int64), thresholds=thresholds, exit_rate=alpha,
                   block_seconds=block_s, branch_seconds=branch_s)
    return fields, meta, records


def make_profile(fields: dict, name=None, meta=None):
    return Profile(**fields, name=name, meta=meta)


def profile_run(run_dir, out, name=None, timing_samples: int = 1000, warmup: int = 50, n_thresholds: int = 20,
                command: str | None = None, progress: bool = True, data=None, clock: str = "auto",
                partitions: int = 0, device_name: str = "local", energy=None):
    """Profile the trained run in `run_dir`; write the profile JSON to `out` and the records beside it.
    With `partitions` > 0, also time every contiguous partition on that many samples, stored as device
    `device_name`'s partition_time. With `energy` (an energy reader), measure the power of the timing too."""
    from .run import load_trained
    out = Path(out)
    spec, data, net, separate, seconds = load_trained(run_dir, data)
    fields, meta, records = profile_net(net, separate, data, timing_samples, warmup, n_thresholds, progress, clock,
                                        energy=energy)
    if partitions:
        rows = time_partitions(net, data.profile, partitions, min(warmup, partitions), progress, clock)
        fields["devices"] = {device_name: {"partition_time": rows}}
        meta["partition_timing"] = {"device": device_name, "samples": partitions,
                                    "statistic": f"percentile {PERCENTILE:g} over single samples",
                                    "host": f"CPU: {_cpu_name()}"}
    provenance = {
        "backbone": spec.backbone, "granularity": spec.granularity, "N": net.N,
        "dataset": data.name, "data": data.info,
        "split_sizes": {"train": len(data.train), "profile": len(data.profile), "test": len(data.test)},
        "input_shape": list(data.input_shape), "classes": data.classes,
        "joint_training": spec.joint, "separate_mode": spec.separate, "separate_training": spec.separate_train,
        "seed": spec.joint["seed"], "training_seconds": seconds,
        "records": records_path(out).name,
        "command": command,
    }
    return save_profile(fields, {**provenance, **meta}, records, out, name)


def save_profile(fields: dict, meta: dict, records: dict, out, name=None):
    """Validate and write the profile JSON at `out` and its records beside it; returns the Profile."""
    out = Path(out)
    profile = make_profile(fields, name=name or out.stem, meta=meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    profile.save(out)
    save_records(records_path(out), **records)
    return profile


def merge_device(profile_path, name: str, measurements_path):
    """Add device `name`'s measurements, made elsewhere, to the profile at `profile_path` (rewritten whole,
    through a temporary file, so an interrupted merge leaves the old profile). `measurements_path` holds a
    device's fields (partition_time, or block_time and branch_time; optionally serialize_time,
    deserialize_time) or a whole profile JSON of the same network made on that device (its own devices'
    measurements if it has exactly one, else its block and branch times)."""
    profile = Profile.load(profile_path)
    path = Path(measurements_path)
    # Refused before reading when larger than any model can be.
    d = read_json(path, "device file", "a device's measurements")
    if isinstance(d, dict) and "exit_rate" in d:  # a profile made on that device
        other = Profile.from_dict(d)
        if other.N != profile.N:
            raise ValueError(f"device file {str(path)!r}: a profile of N = {other.N} blocks, this one has {profile.N}")
        if len(other.devices) == 1:
            d = next(iter(other.devices.values())).to_dict()
        else:
            d = {"block_time": other.block_time.tolist(), "branch_time": other.branch_time.tolist()}
    merged = profile.with_device(name, d)
    with atomic_path(Path(profile_path)) as tmp:  # an interrupted merge leaves the old profile
        merged.save(tmp)
    return merged
