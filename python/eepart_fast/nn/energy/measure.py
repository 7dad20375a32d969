"""A reader over a stretch of work or of rest: the joules and the seconds they took."""
from __future__ import annotations

import contextlib
import time


class Span:
    """Joules and seconds of one measurement by `reader` between `start()` and `stop()`.

    Examples
    --------
    >>> class Meter:  # a reader that counts one joule per measurement
    ...     def start(self): return 0
    ...     def stop(self, token): return 1.0
    >>> ticks = iter([10.0, 12.0])
    >>> span = Span(Meter(), clock=lambda: next(ticks))
    >>> span.start(); span.stop(); (span.joules, span.seconds, span.watts)
    (1.0, 2.0, 0.5)
    """

    def __init__(self, reader, *, clock=time.perf_counter):
        self.reader, self._clock = reader, clock
        self.joules = self.seconds = None
        self._token = None

    def start(self) -> None:
        self._t0 = self._clock()
        self._token = self.reader.start()

    def stop(self) -> None:
        if self._token is None:
            raise RuntimeError("Span.stop() before start()")
        self.joules = float(self.reader.stop(self._token))
        self.seconds = self._clock() - self._t0
        self._token = None

    def abandon(self) -> None:
        """Ends a measurement that work cut short (a tegrastats process would outlive it), discarding it."""
        if self._token is not None:
            token, self._token = self._token, None
            with contextlib.suppress(Exception):  # the work's own error is the one to report
                self.reader.stop(token)

    @property
    def watts(self) -> float:
        """Mean power over the span (joules / seconds)."""
        return self.joules / self.seconds if self.seconds > 0 else float("nan")


def idle(reader, seconds: float, *, sleep=time.sleep, clock=time.perf_counter) -> Span:
    """A Span of `seconds` of sleep: the machine's power at rest, for a profile's idle_power_w."""
    if not 0 < seconds <= 60:
        raise ValueError(f"idle seconds: expected a number in (0, 60], got {seconds!r}")
    span = Span(reader, clock=clock)
    span.start()
    try:
        sleep(seconds)
    finally:
        span.stop()
    return span
