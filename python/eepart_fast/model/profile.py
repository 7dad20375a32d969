"""Profile: what the paper's profiling phase measures of a backbone cut into N blocks (docs/model.md "Inputs")."""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import numpy as np

from .._checks import (
    MAX_BLOCKS,
    MAX_DEVICES,
    MAX_THRESHOLDS,
    agreed_length,
    at_least,
    claimed_length,
    count,
    float_array,
    read_json,
    strictly_increasing,
    within,
)

FIELDS = ("block_time", "branch_time", "output_bits", "input_bits", "result_bits", "accuracy", "thresholds", "exit_rate")
OPTIONAL_FIELDS = ("devices", "accuracy_estimator", "block_time_statistic")
EXIT_RATE_ATOL = 1e-6
# What `accuracy` holds (eepart_fast.nn.estimators): the joint network's branches, separately trained
# models (the paper's), a per-threshold table fitted to the profiler's records, or anything else.
ACCURACY_ESTIMATORS = ("joint", "separate", "fitted", "exiting", "custom")


def _estimator(value):
    if value is None:
        return None
    if not isinstance(value, str) or value not in ACCURACY_ESTIMATORS:
        raise ValueError(f"accuracy_estimator: expected one of {', '.join(ACCURACY_ESTIMATORS)} (or none), "
                         f"got {value!r}")
    return value


# Which statistic of single runs the block and branch times are (docs/model.md "Tail latency"): a named one,
# or a percentile pNN (p1 .. p99.99; p50 is the median). `eepart profile` records p99.
BLOCK_TIME_STATISTICS = ("mean", "median", "min", "max")
_PERCENTILE = re.compile(r"p(?:[1-9][0-9]?)(?:\.[0-9]{1,2})?")


def _statistic(value):
    if value is None:
        return None
    if isinstance(value, str) and (value in BLOCK_TIME_STATISTICS or _PERCENTILE.fullmatch(value)):
        return value
    if not isinstance(value, str):
        raise TypeError(f"block_time_statistic: expected a string such as \"p99\" or \"mean\", got {value!r:.60}")
    raise ValueError(f"block_time_statistic: expected one of {', '.join(BLOCK_TIME_STATISTICS)} or a percentile "
                     f"pNN such as p90, p99, p99.9 (or none), got {value!r:.60}")


def _accuracy(value, k: int, n: int) -> np.ndarray:
    """accuracy as (N,) or, when its entries are lists (or it is a 2-d array), (K, N) per threshold."""
    if isinstance(value, np.ndarray):
        nested = value.ndim == 2
    else:
        nested = isinstance(value, (list, tuple)) and len(value) > 0 and isinstance(value[0], (list, tuple, np.ndarray))
    try:
        return float_array("accuracy", value, (k, n) if nested else (n,))
    except ValueError as exc:
        if "expected shape" in str(exc):
            raise ValueError(f"{exc} (accuracy is ({n},), or ({k}, {n}) with a row per threshold)") from None
        raise


class Profile:
    """A profiled early-exit network, in SI units (seconds, bits).

    block_time, branch_time, output_bits: shape (N,); input_bits, result_bits: scalars;
    thresholds: shape (K,), strictly increasing; exit_rate: shape (K, N), rows summing to 1;
    accuracy: shape (N,) (one per branch) or (K, N) (per threshold); accuracy_estimator: which
    estimator produced it (ACCURACY_ESTIMATORS) or None when unknown; block_time_statistic: which
    statistic of single runs block_time and branch_time are ("p99", "median", ...; BLOCK_TIME_STATISTICS
    or pNN) or None when unknown.
    """

    def __init__(self, block_time, branch_time, output_bits, input_bits, result_bits, accuracy,
                 thresholds, exit_rate, name: str | None = None, meta: dict | None = None, devices: dict | None = None,
                 accuracy_estimator: str | None = None, block_time_statistic: str | None = None):
        # N is what most of the per-block fields say (a tie: block_time), so that one field of the wrong
        # length is the one named, whichever it is.
        per_block = {"block_time": claimed_length(block_time), "branch_time": claimed_length(branch_time),
                     "output_bits": claimed_length(output_bits), "exit_rate": claimed_length(exit_rate, 1)}
        agreed = agreed_length(per_block, "block_time")
        shape = (None,) if agreed is None or agreed == per_block["block_time"] or agreed > MAX_BLOCKS else (agreed,)
        try:
            self.block_time = float_array("block_time", block_time, shape, limit=MAX_BLOCKS)
        except ValueError as exc:
            if shape == (None,) or "expected shape" not in str(exc):
                raise
            others = [f for f, n in per_block.items() if n == agreed]
            raise ValueError(f"{exc}: N = {agreed} blocks by {', '.join(others)}") from None
        n = self.block_time.shape[0]
        if n < 1:
            raise ValueError("block_time: a profile needs at least one block, got 0")
        self.branch_time = float_array("branch_time", branch_time, (n,))
        self.output_bits = float_array("output_bits", output_bits, (n,))
        self.input_bits = float(float_array("input_bits", input_bits, ()))
        self.result_bits = float(float_array("result_bits", result_bits, ()))
        self.thresholds = float_array("thresholds", thresholds, (None,), limit=MAX_THRESHOLDS)
        k = self.thresholds.shape[0]
        if k < 1:
            raise ValueError("thresholds: a profile needs at least one threshold, got 0")
        self.accuracy = _accuracy(accuracy, k, n)
        self.accuracy_estimator = _estimator(accuracy_estimator)
        self.block_time_statistic = _statistic(block_time_statistic)
        self.exit_rate = float_array("exit_rate", exit_rate, (k, n))
        for field in ("block_time", "branch_time", "output_bits"):
            at_least(field, getattr(self, field), 0.0)
        at_least("input_bits", np.asarray(self.input_bits), 0.0)
        at_least("result_bits", np.asarray(self.result_bits), 0.0)
        within("accuracy", self.accuracy, 0.0, 1.0)
        within("thresholds", self.thresholds, 0.0, 1.0)  # normalised entropy
        strictly_increasing("thresholds", self.thresholds)
        at_least("exit_rate", self.exit_rate, 0.0)
        sums = self.exit_rate.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > EXIT_RATE_ATOL)
        if bad.size:
            t = int(bad[0])
            raise ValueError(f"exit_rate[{t}] sums to {float(sums[t])!r}: each row must sum to 1 (within {EXIT_RATE_ATOL})")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a string, got {type(name).__name__}")
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f"meta: expected an object, got {type(meta).__name__}")
        self.name = name
        self.meta = dict(meta or {})
        from .devices import DeviceTimes  # noqa: PLC0415 - devices.py imports nothing of this module's

        if devices is not None and not isinstance(devices, dict):
            raise TypeError(f"devices: expected a mapping of device name -> measurements, got {type(devices).__name__}")
        count("devices", len(devices or {}), MAX_DEVICES, "devices")  # before any device's table is built
        self.devices = {}
        for dev, m in (devices or {}).items():
            if not isinstance(dev, str) or not dev:
                raise TypeError(f"devices: a device name must be a non-empty string, got {dev!r:.60}")
            self.devices[dev] = m if isinstance(m, DeviceTimes) else DeviceTimes.from_dict(m, n, f"devices[{dev!r}]")

    @property
    def N(self) -> int:
        return self.block_time.shape[0]

    @property
    def K(self) -> int:
        return self.thresholds.shape[0]

    @property
    def per_threshold_accuracy(self) -> bool:
        """True when `accuracy` has one row per threshold, shape (K, N)."""
        return self.accuracy.ndim == 2

    def accuracy_table(self) -> np.ndarray:
        """The accuracy as shape (K, N), a row per threshold (a read-only view when it is (N,))."""
        return np.broadcast_to(self.accuracy, (self.K, self.N))

    def with_accuracy(self, accuracy, estimator: str | None) -> Profile:
        """A copy of this profile with another accuracy, (N,) or (K, N), and the estimator that made it."""
        d = self.to_dict()
        d["accuracy"] = np.asarray(accuracy).tolist()
        d["accuracy_estimator"] = estimator
        return Profile.from_dict(d)

    def cum_exit(self) -> np.ndarray:
        """c_i per threshold, shape (K, N+1): c_0 = 0 and c_N = 1 exactly (docs/model.md "The exits")."""
        c = np.zeros((self.K, self.N + 1))
        c[:, 1:] = np.minimum(np.cumsum(self.exit_rate, axis=1), 1.0)
        c[:, self.N] = 1.0
        return c

    def to_dict(self) -> dict:
        d = {f: (v.tolist() if isinstance(v := getattr(self, f), np.ndarray) else v) for f in FIELDS}
        if self.accuracy_estimator is not None:
            d["accuracy_estimator"] = self.accuracy_estimator
        if self.block_time_statistic is not None:
            d["block_time_statistic"] = self.block_time_statistic
        d["name"] = self.name
        d["meta"] = self.meta
        if self.devices:
            d["devices"] = {dev: m.to_dict() for dev, m in self.devices.items()}
        return d

    def with_device(self, name: str, times) -> "Profile":
        """A copy with device `name`'s measurements (a DeviceTimes or its dict form) added or replaced."""
        d = self.to_dict()
        d.setdefault("devices", {})[name] = times.to_dict() if hasattr(times, "to_dict") else times
        return Profile.from_dict(d)

    @classmethod
    def from_dict(cls, d: dict) -> "Profile":
        if not isinstance(d, dict):
            raise TypeError(f"profile: expected a JSON object, got {type(d).__name__}")
        missing = [f for f in FIELDS if f not in d]
        if missing:
            raise ValueError(f"profile: missing field {missing[0]!r} (a profile has {', '.join(FIELDS)})")
        unknown = sorted(set(d) - set(FIELDS) - set(OPTIONAL_FIELDS) - {"name", "meta"})
        if unknown:
            raise ValueError(f"profile: unknown field {unknown[0]!r}")
        meta = d.get("meta") or {}
        if not isinstance(meta, dict):
            raise TypeError(f"meta: expected an object, got {type(meta).__name__}")
        return cls(**{f: d[f] for f in FIELDS}, name=d.get("name"), meta=meta,
                   **{f: d[f] for f in OPTIONAL_FIELDS if f in d})

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path) -> "Profile":
        return cls.from_dict(read_json(Path(path), "profile file", "a profile"))

    @staticmethod
    def presets() -> list[str]:
        """Names of the profiles shipped with the package."""
        folder = resources.files("eepart_fast") / "presets" / "profiles"
        if not folder.is_dir():
            return []
        return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))

    @classmethod
    def preset(cls, name: str) -> "Profile":
        names = cls.presets()
        if name not in names:
            raise ValueError(f"profile preset {name!r} is unknown; shipped presets: {', '.join(names) or 'none'}")
        return cls.from_dict(json.loads((resources.files("eepart_fast") / "presets" / "profiles" / f"{name}.json").read_text()))

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"Profile({label}N={self.N}, K={self.K})"
