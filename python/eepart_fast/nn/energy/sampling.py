"""Energy from sampled power: samples (seconds, watts) gathered by a background thread, integrated by the
trapezoid rule over the window a measurement asks for. The NVML reader's fallback and the tegrastats
reader both read power, not energy."""
from __future__ import annotations

import threading

import numpy as np

# A sampler's thread stops by itself after this many samples (about 58 hours at 20 per second): every loop
# that waits on another thread or a process ends even if nobody stops it.
MAX_SAMPLES = 4_194_304


def check_interval(interval: float) -> float:
    """Seconds between samples, at most 1 so that a sampling thread stops within a second of being told."""
    if not 0 < interval <= 1.0:
        raise ValueError(f"interval: expected seconds in (0, 1] (the thread stops within it), got {interval!r}")
    return float(interval)


def integrate(times, watts, t0: float, t1: float) -> float:
    """Joules from `t0` to `t1` of power known at sample times: the trapezoid rule over the samples inside
    the window, the power at each edge interpolated between the samples around it (held at the nearest
    sample where the samples do not reach the edge).

    Examples
    --------
    >>> integrate([0.0, 1.0, 2.0], [10.0, 20.0, 10.0], 0.0, 2.0)  # (10 + 20) / 2 + (20 + 10) / 2
    30.0
    >>> integrate([1.0], [5.0], 0.0, 3.0)  # one sample: held over the window
    15.0
    """
    t = np.asarray(times, dtype=np.float64)
    w = np.asarray(watts, dtype=np.float64)
    if t.size == 0:
        raise ValueError("no power sample to integrate")
    if not t1 >= t0:
        raise ValueError(f"the window ends (t1 = {t1}) before it starts (t0 = {t0})")
    grid = np.concatenate(([t0], t[(t > t0) & (t < t1)], [t1]))
    p = np.interp(grid, t, w)
    return float(np.sum((p[1:] + p[:-1]) * np.diff(grid)) / 2.0)


class PowerTrace:
    """Power samples appended by one thread and waited for and integrated by another (thread-safe)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._times: list = []
        self._watts: list = []
        self._ended = False

    def add(self, t: float, watts: float) -> None:
        with self._cond:
            self._times.append(float(t))
            self._watts.append(float(watts))
            self._cond.notify_all()

    def end(self) -> None:
        """No more samples will come (the sampling thread has returned)."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def wait(self, *, count: int = 1, after: float | None = None, timeout: float) -> bool:
        """Whether, within `timeout` seconds, `count` samples arrived (and one at or after time `after`)."""
        def ready():
            return len(self._times) >= count and (after is None or self._times[-1] >= after)
        with self._cond:
            return self._cond.wait_for(lambda: ready() or self._ended, timeout) and ready()

    def __len__(self) -> int:
        with self._cond:
            return len(self._times)

    def energy(self, t0: float, t1: float) -> float:
        with self._cond:
            times, watts = list(self._times), list(self._watts)
        return integrate(times, watts, t0, t1)


class PowerSampler:
    """Reads `read_watts()` once at once, then every `interval` seconds in a background thread, until
    `stop()`, which takes a last sample and returns the joules from the first sample to the last.

    The thread waits on an event, so it stops within `interval` of `stop()`; `wait(event, seconds)` (the
    event's own wait by default) is what a test replaces to decide how many samples the thread takes.
    """

    def __init__(self, read_watts, *, interval: float, clock, max_samples: int = MAX_SAMPLES, wait=None):
        self._read, self._clock, self._interval = read_watts, clock, check_interval(interval)
        self._max_samples = max_samples
        self._wait = wait or (lambda event, seconds: event.wait(seconds))
        self._stopped = threading.Event()
        self._error: BaseException | None = None
        self._full = False
        self.trace = PowerTrace()
        self.t0 = clock()
        self.trace.add(self.t0, read_watts())
        self._thread = threading.Thread(target=self._run, name="eepart-power-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for _ in range(self._max_samples - 2):  # the first and the last sample are the caller's
                if self._wait(self._stopped, self._interval) or self._stopped.is_set():
                    return
                self.trace.add(self._clock(), self._read())
            self._full = True
        except BaseException as exc:  # noqa: BLE001 - handed to stop(), in the caller's thread
            self._error = exc
        finally:
            self.trace.end()

    def stop(self) -> float:
        self._stopped.set()
        self._thread.join(timeout=10 * self._interval + 5.0)
        if self._thread.is_alive():
            raise TimeoutError(f"the power reading did not return within {10 * self._interval + 5.0:g} s")
        if self._error is not None:
            raise self._error
        if self._full:
            raise OverflowError(f"power sampled {self._max_samples} times (every {self._interval} s) without a "
                                "stop: measure shorter stretches")
        t1 = self._clock()
        self.trace.add(t1, self._read())
        return self.trace.energy(self.t0, t1)
