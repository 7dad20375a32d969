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
    _nested_shape,
    agreed_length,
    at_least,
    claimed_length,
    count,
    float_array,
    read_json,
    strictly_increasing,
    within,
)
from .._deprecated import positional
from .devices import DeviceTimes

FIELDS = ("block_time", "branch_time", "output_bits", "input_bits", "result_bits", "accuracy", "thresholds",
          "exit_rate")
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


def _wrong_shape(value, shape: tuple, limit: int | None = None) -> bool:
    """Whether float_array(name, value, shape, limit) refuses `value` for its shape (rather than for being
    missing, too long or not numbers): the same reading of nested lists and arrays, decided from the value."""
    if value is None or isinstance(value, (str, bytes)):
        return False
    if limit is not None and hasattr(value, "__len__") and len(value) > limit:
        return False
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiu":
            return False
        found = list(value.shape)
    else:
        found = _nested_shape(value, len(shape) + 1)
    return not (len(found) == len(shape) and all(w is None or w == f for w, f in zip(shape, found)))


def _accuracy(value, k: int, n: int) -> np.ndarray:
    """accuracy as (N,) or, when its entries are lists (or it is a 2-d array), (K, N) per threshold."""
    if isinstance(value, np.ndarray):
        nested = value.ndim == 2
    else:
        nested = isinstance(value, (list, tuple)) and len(value) > 0 and isinstance(value[0], (list, tuple, np.ndarray))
    shape = (k, n) if nested else (n,)
    try:
        return float_array("accuracy", value, shape)
    except ValueError as exc:
        if _wrong_shape(value, shape):
            raise ValueError(f"{exc} (accuracy is ({n},), or ({k}, {n}) with a row per threshold)") from None
        raise


class Profile:
    """A profiled early-exit network, in SI units (seconds, bits).

    What the paper's profiling phase measures of a backbone cut into N blocks, each followed by an exit
    branch, with K exit thresholds (docs/model.md "Inputs"). Every field is checked on construction:
    finite numbers of the stated shapes, times and sizes >= 0.

    Parameters
    ----------
    block_time, branch_time : array_like, shape (N,)
        Seconds each block, and each block's exit branch, takes on the reference device (>= 0).
    output_bits : array_like, shape (N,)
        Bits of each block's output, the tensor sent when the next block runs elsewhere (>= 0).
    input_bits, result_bits : float
        Bits of an input sample and of a result (>= 0).
    accuracy : array_like, shape (N,) or (K, N)
        Accuracy of each branch, in [0, 1]: one per branch, or a row per threshold.
    thresholds : array_like, shape (K,)
        Normalised-entropy exit thresholds in [0, 1], strictly increasing; N <= MAX_BLOCKS blocks and
        K <= MAX_THRESHOLDS thresholds.
    exit_rate : array_like, shape (K, N)
        Share of samples leaving at each branch, per threshold (>= 0; each row sums to 1 within 1e-6).
    name : str, optional
        A label, shown in repr and written by `save`.
    meta : dict, optional
        Anything else to keep with the profile (written by `save`).
    devices : dict, optional
        Device name -> that device's own measurements (a DeviceTimes or its dict form), for tiers whose
        Topology names the device; at most MAX_DEVICES.
    accuracy_estimator : str, optional
        Which estimator produced `accuracy`: one of ACCURACY_ESTIMATORS ("joint", "separate", "fitted",
        "exiting", "custom"), or None when unknown.
    block_time_statistic : str, optional
        Which statistic of single runs block_time and branch_time are: "mean", "median", "min", "max" or
        a percentile pNN ("p99", "p99.9"), or None when unknown.

    Raises
    ------
    ValueError
        A field of the wrong shape, out of range, not finite, or exit_rate rows not summing to 1; the
        message names the field (and, where several fields share N, the odd one out).
    TypeError
        A field of the wrong type (a string where numbers are expected, a non-dict `meta`).

    Examples
    --------
    >>> p = ef.Profile(block_time=[0.01, 0.02], branch_time=[0.001, 0.001], output_bits=[8e3, 4e3],
    ...                input_bits=2e4, result_bits=320, accuracy=[0.8, 0.9], thresholds=[0.5],
    ...                exit_rate=[[0.4, 0.6]], name="tiny")
    >>> p
    Profile('tiny', N=2, K=1)
    >>> ef.Profile.preset("resnet20-fashionmnist")
    Profile('resnet20-fashionmnist', N=10, K=20)
    """

    @positional("name", "meta", "devices", "accuracy_estimator", "block_time_statistic")
    def __init__(self, block_time, branch_time, output_bits, input_bits, result_bits, accuracy,
                 thresholds, exit_rate, *, name: str | None = None, meta: dict | None = None,
                 devices: dict | None = None, accuracy_estimator: str | None = None,
                 block_time_statistic: str | None = None):
        # N is what most of the per-block fields say (a tie: block_time), so that one field of the wrong
        # length is the one named, whichever it is.
        per_block = {"block_time": claimed_length(block_time), "branch_time": claimed_length(branch_time),
                     "output_bits": claimed_length(output_bits), "exit_rate": claimed_length(exit_rate, 1)}
        agreed = agreed_length(per_block, "block_time")
        shape = (None,) if agreed is None or agreed == per_block["block_time"] or agreed > MAX_BLOCKS else (agreed,)
        try:
            self.block_time = float_array("block_time", block_time, shape, limit=MAX_BLOCKS)
        except ValueError as exc:
            if shape == (None,) or not _wrong_shape(block_time, shape, MAX_BLOCKS):
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
        try:
            shape = np.shape(exit_rate)
        except ValueError:  # ragged: float_array names it
            shape = ()
        rows = shape[0] if len(shape) == 2 else None
        if rows is not None and rows != k:  # a row per threshold: say which two fields disagree
            raise ValueError(f"exit_rate: {rows} row{'s' * (rows != 1)}, one per threshold, but thresholds has {k} "
                             f"entr{'ies' if k != 1 else 'y'} "
                             f"(expected shape ({k}, {n}))")
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
            raise ValueError(f"exit_rate[{t}] sums to {float(sums[t])!r}: each row must sum to 1 (within "
                             f"{EXIT_RATE_ATOL})")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a string, got {type(name).__name__}")
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f"meta: expected an object, got {type(meta).__name__}")
        self.name = name
        self.meta = dict(meta or {})
        if devices is not None and not isinstance(devices, dict):
            raise TypeError(f"devices: expected a mapping of device name -> measurements, got {type(devices).__name__}")
        count("devices", len(devices or {}), MAX_DEVICES, "devices")  # before any device's table is built
        self.devices = {}
        for dev, m in (devices or {}).items():
            if not isinstance(dev, str) or not dev:
                raise TypeError(f"devices: a device name must be a non-empty string, got {dev!r:.60}")
            self.devices[dev] = (m if isinstance(m, DeviceTimes)
                                 else DeviceTimes.from_dict(m, n, where=f"devices[{dev!r}]"))

    @property
    def N(self) -> int:
        """The number of blocks (and exit branches)."""
        return self.block_time.shape[0]

    @property
    def K(self) -> int:
        """The number of exit thresholds."""
        return self.thresholds.shape[0]

    @property
    def per_threshold_accuracy(self) -> bool:
        """True when `accuracy` has one row per threshold, shape (K, N)."""
        return self.accuracy.ndim == 2

    def accuracy_table(self) -> np.ndarray:
        """The accuracy as shape (K, N), a row per threshold (a read-only view when it is (N,)).

        Returns
        -------
        numpy.ndarray, shape (K, N)

        Examples
        --------
        >>> ef.Profile.preset("resnet20-fashionmnist").accuracy_table().shape
        (20, 10)
        """
        return np.broadcast_to(self.accuracy, (self.K, self.N))

    @positional("estimator")
    def with_accuracy(self, accuracy, *, estimator: str | None) -> Profile:
        """A copy of this profile with another accuracy and the estimator that made it.

        Parameters
        ----------
        accuracy : array_like, shape (N,) or (K, N)
            The new accuracy, in [0, 1]: one per branch, or a row per threshold.
        estimator : str or None
            One of ACCURACY_ESTIMATORS, or None when unknown.

        Returns
        -------
        Profile

        Raises
        ------
        ValueError
            `accuracy` of another shape or out of [0, 1], or an unknown estimator.

        Examples
        --------
        >>> p = ef.Profile.preset("resnet20-fashionmnist")
        >>> q = p.with_accuracy(np.full((p.K, p.N), 0.5), estimator="custom")
        >>> q.per_threshold_accuracy, q.accuracy_estimator
        (True, 'custom')
        """
        d = self.to_dict()
        d["accuracy"] = np.asarray(accuracy).tolist()
        d["accuracy_estimator"] = estimator
        return Profile.from_dict(d)

    def cum_exit(self) -> np.ndarray:
        """c_i per threshold, shape (K, N+1): c_0 = 0 and c_N = 1 exactly (docs/model.md "The exits").

        Returns
        -------
        numpy.ndarray, shape (K, N+1)
            The cumulative exit rate: the share of samples that left at branches 1..i.

        Examples
        --------
        >>> c = ef.Profile.preset("resnet20-fashionmnist").cum_exit()
        >>> c.shape, float(c[0, 0]), float(c[0, -1])
        ((20, 11), 0.0, 1.0)
        """
        c = np.zeros((self.K, self.N + 1))
        c[:, 1:] = np.minimum(np.cumsum(self.exit_rate, axis=1), 1.0)
        c[:, self.N] = 1.0
        return c

    def to_dict(self) -> dict:
        """Every field as plain values (lists, numbers, strings), as `save` writes them.

        Returns
        -------
        dict
            ``Profile.from_dict(p.to_dict())`` is the same profile.

        Examples
        --------
        >>> d = ef.Profile.preset("resnet20-fashionmnist").to_dict()
        >>> d["input_bits"], d["block_time_statistic"]
        (25088.0, 'p99')
        """
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

    def with_device(self, name: str, times) -> Profile:
        """A copy with device `name`'s measurements added or replaced.

        Parameters
        ----------
        name : str
            The device's name, as a Topology's `devices` names it.
        times : DeviceTimes or dict
            Its measurements in seconds: ``block_time`` and ``branch_time`` (N,), or ``partition_time``
            ((N+1, N+1), or the upper triangle); optionally ``serialize_time`` and ``deserialize_time``
            (N+2,).

        Returns
        -------
        Profile

        Raises
        ------
        ValueError, TypeError
            Measurements of the wrong shape or type, named by field.

        Examples
        --------
        >>> p = ef.Profile.preset("resnet20-fashionmnist")
        >>> q = p.with_device("jetson", {"block_time": p.block_time * 2, "branch_time": p.branch_time * 2})
        >>> list(q.devices)
        ['jetson']
        """
        d = self.to_dict()
        d.setdefault("devices", {})[name] = times.to_dict() if hasattr(times, "to_dict") else times
        return Profile.from_dict(d)

    @classmethod
    def from_dict(cls, data: dict) -> Profile:
        """A profile from its dict form (`to_dict`, or a profile file's JSON object).

        Parameters
        ----------
        data : dict
            The fields of Profile by name; ``name``, ``meta`` and the optional fields (devices,
            accuracy_estimator, block_time_statistic) may be left out.

        Returns
        -------
        Profile

        Raises
        ------
        ValueError
            A field missing or unknown, or a field's value refused (see Profile).
        TypeError
            `data` not a dict.

        Examples
        --------
        >>> p = ef.Profile.preset("resnet20-fashionmnist")
        >>> ef.Profile.from_dict(p.to_dict())
        Profile('resnet20-fashionmnist', N=10, K=20)
        """
        d = data
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
        """Writes the profile as JSON (`to_dict`), for `load`.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).

        Examples
        --------
        >>> p = ef.Profile.preset("resnet20-fashionmnist")
        >>> p.save("profile.json")
        >>> ef.Profile.load("profile.json").N
        10
        """
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path) -> Profile:
        """Reads a profile file (JSON, as `save` writes it).

        Parameters
        ----------
        path : str or os.PathLike
            The profile file.

        Returns
        -------
        Profile

        Raises
        ------
        ValueError
            The file is missing, not JSON, or not a valid profile (the message names the file or field).

        Examples
        --------
        >>> ef.Profile.preset("resnet20-fashionmnist").save("p.json")
        >>> ef.Profile.load("p.json")
        Profile('resnet20-fashionmnist', N=10, K=20)
        """
        return cls.from_dict(read_json(Path(path), "profile file", "a profile"))

    @staticmethod
    def presets() -> list[str]:
        """Names of the profiles shipped with the package.

        Returns
        -------
        list of str
            Sorted names, each one `preset` takes.

        Examples
        --------
        >>> ef.Profile.presets()
        ['mobilenetv2-fashionmnist', 'resnet20-fashionmnist']
        """
        folder = resources.files("eepart_fast") / "presets" / "profiles"
        if not folder.is_dir():
            return []
        return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))

    @classmethod
    def preset(cls, name: str) -> Profile:
        """A profile shipped with the package.

        Parameters
        ----------
        name : str
            One of `presets()`.

        Returns
        -------
        Profile

        Raises
        ------
        ValueError
            An unknown name (the message lists the shipped ones).

        Examples
        --------
        >>> p = ef.Profile.preset("resnet20-fashionmnist")
        >>> p.N, p.K, p.block_time_statistic
        (10, 20, 'p99')
        """
        names = cls.presets()
        if name not in names:
            raise ValueError(f"profile preset {name!r} is unknown; shipped presets: {', '.join(names) or 'none'}")
        path = resources.files("eepart_fast") / "presets" / "profiles" / f"{name}.json"
        return cls.from_dict(json.loads(path.read_text()))

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"Profile({label}N={self.N}, K={self.K})"
