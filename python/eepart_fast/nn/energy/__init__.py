"""Measured energy for the profiler: readers of the energy counters or power sensors a machine exposes.

Each reader (reader.py's `Reader`) has a `name`, the `domains` it sums, `describe()` (how it measures, in
one line) and `start()` -> token, `stop(token)` -> joules in between:

- ``powercap``: Linux powercap / RAPL counters of the CPU packages, cores, DRAM or platform (powercap.py);
- ``nvml``: NVIDIA GPUs' energy counters, or their sampled power, through nvidia-ml-py (nvml.py);
- ``tegrastats``: Jetson boards' power rails from the tegrastats utility (tegrastats.py).

`reader(name)` builds one by name; ``auto`` (`detect()`) takes the first that works here, in that order.
measure.py times a reader over a stretch of work.
"""
from __future__ import annotations

from .nvml import NvmlReader
from .powercap import PowercapReader
from .reader import Reader, ReaderUnavailable, counter_delta
from .tegrastats import TegrastatsReader

READERS = {"powercap": PowercapReader, "nvml": NvmlReader, "tegrastats": TegrastatsReader}
NAMES = ("auto", *READERS, "none")

__all__ = ["NAMES", "READERS", "Reader", "ReaderUnavailable", "counter_delta", "detect", "reader"]


def detect() -> Reader:
    """The first reader of READERS that works on this machine.

    Raises
    ------
    ReaderUnavailable
        None works: one line with each reader's reason.
    """
    reasons = []
    for cls in READERS.values():
        try:
            return cls()
        except (ReaderUnavailable, ImportError) as exc:  # ImportError: nvidia-ml-py not installed
            reasons.append(str(exc))
    raise ReaderUnavailable("no energy reader works on this machine: " + "; ".join(reasons))


def reader(name: str, **options):
    """The reader called `name` (one of NAMES), built with `options`; None for ``none``.

    Examples
    --------
    >>> reader("none") is None
    True
    >>> reader("rapl")
    Traceback (most recent call last):
    ...
    ValueError: energy reader 'rapl': expected one of auto, powercap, nvml, tegrastats, none
    """
    if name == "none":
        return None
    if name == "auto":
        if options:
            raise ValueError(f"energy reader 'auto' takes no options (got {', '.join(options)}): name the reader")
        return detect()
    if name not in READERS:
        raise ValueError(f"energy reader {name!r}: expected one of {', '.join(NAMES)}")
    return READERS[name](**options)
