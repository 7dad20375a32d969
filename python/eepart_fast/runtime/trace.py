"""Link traces: a link's bandwidth (bit/s) or one-way delay (s) as a time series, replayed by the link
emulator (netem.py) in real time or time-scaled.

A trace file is CSV with the header ``time_s,value`` and one row per change: the value holds from its
time until the next row's (a step function), and the last value holds after the last row. Times start
at 0 and rise strictly. Replayed at ``speed`` s, trace time = speed x (seconds since the run's start).

    trace = load_trace("traces/step.csv", kind="bandwidth")
    trace.value_at(12.5)                       # bit/s at trace time 12.5 s
    trace.finish(1.0, bits=8e5, speed=1.0)    # when 8e5 bits that start at 1.0 s are through
"""
from __future__ import annotations

import bisect
import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

KINDS = ("bandwidth", "latency")
HEADER = ("time_s", "value")
MAX_ROWS = 1_000_000
MAX_BYTES = 64 << 20
MAX_TIME = 1e7          # s of trace (about 115 days)
MAX_VALUE = {"bandwidth": 1e15, "latency": 3600.0}
MIN_VALUE = {"bandwidth": 1.0, "latency": 0.0}


@dataclass(frozen=True)
class Trace:
    """A step function of trace time: `values[i]` holds on [times[i], times[i + 1]), the last one after.

    Parameters
    ----------
    times : tuple of float
        Rising strictly, the first 0.
    values : tuple of float
        bit/s (bandwidth, >= 1) or s (latency, >= 0), one per time.
    kind : {'bandwidth', 'latency'}
        What the values are.
    name : str
        Where it came from (a file name), for messages.

    Examples
    --------
    >>> from eepart_fast.runtime.trace import Trace
    >>> t = Trace((0.0, 10.0), (1e6, 4e6), "bandwidth", "step")
    >>> t.value_at(5.0), t.value_at(10.0), t.value_at(99.0)
    (1000000.0, 4000000.0, 4000000.0)
    >>> t.finish(9.0, bits=3e6)  # 1e6 bits in the first second, 2e6 at 4 Mbit/s: 0.5 s more
    10.5
    """
    times: tuple
    values: tuple
    kind: str
    name: str = "trace"

    def __post_init__(self):
        check_series(self.times, self.values, self.kind, self.name)

    def value_at(self, t: float) -> float:
        """The value at trace time `t` (the first value before 0).

        Parameters
        ----------
        t : float
            Trace time, s.
        """
        return self.values[max(0, bisect.bisect_right(self.times, t) - 1)]

    def mean(self, *, duration: float | None = None) -> float:
        """The time-weighted mean over [0, duration] (default: up to the last row, or the one value).

        Parameters
        ----------
        duration : float, optional, keyword-only
            Trace seconds to average over.
        """
        end = self.times[-1] if duration is None else float(duration)
        if end <= 0:
            return self.values[0]
        total, t = 0.0, 0.0
        for i, v in enumerate(self.values):
            nxt = self.times[i + 1] if i + 1 < len(self.times) else max(end, self.times[-1])
            nxt = min(nxt, end)
            if nxt > t:
                total += v * (nxt - t)
                t = nxt
            if t >= end:
                break
        return total / end if t >= end else self.values[-1]

    def finish(self, t: float, *, bits: float, speed: float = 1.0, t0: float = 0.0) -> float:
        """When `bits` that start serialising at real time `t` are through, the bandwidth following this
        trace (exact for the step function: bits are summed segment by segment).

        Parameters
        ----------
        t : float
            Real time (s) the transmission starts.
        bits : float, keyword-only
            The message's size.
        speed : float, default 1.0, keyword-only
            Trace seconds per real second.
        t0 : float, default 0.0, keyword-only
            The real time of trace time 0.
        """
        if self.kind != "bandwidth":
            raise ValueError(f"{self.name}: a {self.kind} trace has no transfer time")
        tau = max(0.0, (t - t0) * speed)
        i = max(0, bisect.bisect_right(self.times, tau) - 1)
        left = float(bits)
        # Bounded: one step per row of the trace, then the last value holds.
        for j in range(i, len(self.times)):
            rate = self.values[j]
            if j + 1 == len(self.times):
                return t + left / rate
            seg_end = t0 + self.times[j + 1] / speed
            room = (seg_end - t) * rate
            if room >= left:
                return t + left / rate
            left -= room
            t = seg_end
        return t + left / self.values[-1]


def check_series(times, values, kind: str, name: str, rows=None) -> None:
    """Refuse a series that is no trace, naming the row (the file's line numbers `rows`; by default
    1-based with the header at row 1)."""
    if kind not in KINDS:
        raise ValueError(f"{name}: kind = {kind!r}, expected one of {KINDS}")
    if len(times) != len(values) or not times:
        raise ValueError(f"{name}: {len(times)} times and {len(values)} values; a trace needs one value per "
                         f"time and at least one row")
    lo, hi = MIN_VALUE[kind], MAX_VALUE[kind]
    unit = "bit/s" if kind == "bandwidth" else "s"
    prev = None
    for i, (t, v) in enumerate(zip(times, values)):
        row = i + 2 if rows is None else rows[i]
        if not (isinstance(t, float) and math.isfinite(t) and 0 <= t <= MAX_TIME):
            raise ValueError(f"{name}: row {row}: time_s = {t!r}: expected a finite number in [0, {MAX_TIME:g}] s")
        if i == 0 and t != 0:
            raise ValueError(f"{name}: row {row}: time_s = {t!r}: the first row's time must be 0")
        if prev is not None and not t > prev:
            raise ValueError(f"{name}: row {row}: time_s = {t!r}: times must rise strictly (previous {prev!r})")
        if not (isinstance(v, float) and math.isfinite(v) and lo <= v <= hi):
            raise ValueError(f"{name}: row {row}: value = {v!r}: expected a {kind} in [{lo:g}, {hi:g}] {unit}")
        prev = t


def load_trace(path, *, kind: str = "bandwidth") -> Trace:
    """Read a trace CSV (header ``time_s,value``; see the module), refused by file, row and value.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    kind : {'bandwidth', 'latency'}, keyword-only
        bit/s or seconds.

    Returns
    -------
    Trace

    Raises
    ------
    ValueError
        A missing or oversized file, a wrong header, a row that is not two numbers, times that do not rise
        from 0, values out of range.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from eepart_fast.runtime.trace import load_trace
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = f.write_text("time_s,value\\n0,2e6\\n5,-1\\n")
    >>> load_trace(f)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: ...t.csv: row 3: value = -1.0: expected a bandwidth in [1, 1e+15] bit/s
    """
    if kind not in KINDS:
        raise ValueError(f"kind = {kind!r}: expected one of {KINDS}")
    path = Path(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise ValueError(f"{path}: no such trace file") from None
    if size > MAX_BYTES:
        raise ValueError(f"{path}: {size} bytes, more than a trace's {MAX_BYTES >> 20} MiB")
    times, values, lines = [], [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        head = next(reader, None)
        if head is None or tuple(c.strip() for c in head) != HEADER:
            raise ValueError(f"{path}: row 1 = {head!r}: expected the header {','.join(HEADER)}")
        for row in reader:
            n = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(times) >= MAX_ROWS:
                raise ValueError(f"{path}: more than {MAX_ROWS} rows")
            if len(row) != 2:
                raise ValueError(f"{path}: row {n} = {row!r}: expected two columns, time_s and value")
            try:
                t, v = float(row[0]), float(row[1])
            except ValueError:
                raise ValueError(f"{path}: row {n} = {row!r}: expected two numbers") from None
            times.append(t)
            values.append(v)
            lines.append(n)
    if not times:
        raise ValueError(f"{path}: no rows after the header")
    check_series(times, values, kind, str(path), lines)
    return Trace(tuple(times), tuple(values), kind, str(path))


def save_trace(data: Trace, path) -> None:
    """Write a trace as the CSV load_trace reads (values as repr: read back exactly).

    Parameters
    ----------
    data : Trace
        The trace to write.
    path : str or Path
        Where.

    Returns
    -------
    None

    Raises
    ------
    OSError
        The file cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from eepart_fast.runtime.trace import Trace, load_trace, save_trace
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> save_trace(Trace((0.0, 1.5), (2e6, 1e6), "bandwidth"), f)
    >>> load_trace(f).values
    (2000000.0, 1000000.0)
    """
    lines = [",".join(HEADER)] + [f"{t!r},{v!r}" for t, v in zip(data.times, data.values)]
    Path(path).write_text("\n".join(lines) + "\n")
