"""Measure a link and switch plans: the driver's side of a deployed plan table.

The estimator is a windowed harmonic mean of the last `window` throughputs observed on the table's link,
each one message's bits / its transmission time (from the link hop's start, after any wait in the
link's queue, to its last bit sent; so queueing behind other messages does not read as a slow link).
The harmonic mean is the bits-weighted rate of equal-sized messages and is pulled down by a slow
outlier rather than up by a fast one: the cautious side. For a table over the link's delay the
observations are the hops' propagation times and the estimate is their arithmetic mean.

Switching, with hysteresis: the table's plan at the estimate replaces the current plan only when the
estimate lies further than `hysteresis` (relative) outside every interval where the current plan is
the table's plan. So an estimate wandering around a breakpoint does not flip plans, and a plan optimal
on several separate intervals is kept across the gaps narrower than the margin. Samples carry their
plan from the source to the destination: a switch applies to samples sent after it; those in flight
finish on the plan they started with (none dropped, none repeated).

    sw = Switcher(manifest.table, plan=0, window=4, hysteresis=0.05)
    sw.observe(12e6, t=...)         # one transfer's throughput (bit/s)
    sw.decide(t=..., sample=17)     # the plan index for the next sample; a switch is recorded
"""
from __future__ import annotations

import bisect
import collections
import math


class LinkEstimator:
    """Windowed mean of a link's observations: harmonic for bandwidth, arithmetic for delay.

    Parameters
    ----------
    window : int, default 4, keyword-only
        Observations kept (the last ones).
    parameter : {'bandwidth', 'latency'}, keyword-only
        What is observed.

    Examples
    --------
    >>> from eepart_fast.runtime.adapt import LinkEstimator
    >>> e = LinkEstimator(window=3)
    >>> for bw in (10e6, 10e6, 2.5e6, 5e6):
    ...     e.observe(bw)
    >>> e.estimate  # 3 / (1/10 + 1/2.5 + 1/5) Mbit/s
    4285714.285714285
    """

    def __init__(self, *, window: int = 4, parameter: str = "bandwidth"):
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 10_000:
            raise ValueError(f"window = {window!r}: expected an integer in 1..10000 observations")
        if parameter not in ("bandwidth", "latency"):
            raise ValueError(f"parameter = {parameter!r}: expected 'bandwidth' or 'latency'")
        self.parameter = parameter
        self.values = collections.deque(maxlen=window)
        self.count = 0

    def observe(self, value: float) -> None:
        """One observation (bit/s, > 0; or s, >= 0); a non-finite or out-of-range one is ignored.

        Parameters
        ----------
        value : float
            One message's throughput, or one hop's delay.
        """
        v = float(value)
        if not math.isfinite(v) or v < 0 or (self.parameter == "bandwidth" and v == 0):
            return
        self.values.append(v)
        self.count += 1

    @property
    def estimate(self) -> float | None:
        """The estimate, or None before any observation."""
        if not self.values:
            return None
        if self.parameter == "bandwidth":
            return len(self.values) / math.fsum(1.0 / v for v in self.values)
        return math.fsum(self.values) / len(self.values)


class Switcher:
    """Picks a deployed table's plan for each sample from a link estimate, with hysteresis (see the module).

    Parameters
    ----------
    table : dict
        The manifest's table: parameter, rows [{low, high, plan}], plans.
    plan : int, default 0, keyword-only
        The plan to start with (e.g. the table's plan at the topology's nominal value).
    window : int, default 4, keyword-only
        The estimator's window.
    hysteresis : float, default 0.05, keyword-only
        Relative margin beyond the current plan's intervals before it is replaced.

    Examples
    --------
    >>> from eepart_fast.runtime.adapt import Switcher
    >>> table = {"parameter": "bandwidth", "rows": [{"low": 1e6, "high": 5e6, "plan": 0},
    ...                                             {"low": 5e6, "high": 50e6, "plan": 1}]}
    >>> sw = Switcher(table, plan=0, window=1, hysteresis=0.1)
    >>> sw.observe(5.3e6, t=1.0); sw.decide(t=1.0, sample=3)   # inside the margin: kept
    0
    >>> sw.observe(5.6e6, t=2.0); sw.decide(t=2.0, sample=4)
    1
    >>> sw.switches[0]["old"], sw.switches[0]["new"], sw.switches[0]["sample"]
    (0, 1, 4)
    """

    def __init__(self, table: dict, *, plan: int = 0, window: int = 4, hysteresis: float = 0.05):
        if not (isinstance(hysteresis, (int, float)) and 0 <= hysteresis < 10):
            raise ValueError(f"hysteresis = {hysteresis!r}: expected a relative margin in [0, 10)")
        self.rows = [(float(r["low"]), float(r["high"]), int(r["plan"])) for r in table["rows"]]
        self.lows = [lo for lo, _, _ in self.rows]
        self.parameter = table["parameter"]
        self.estimator = LinkEstimator(window=window, parameter=self.parameter)
        self.hysteresis = float(hysteresis)
        self.plan = plan
        self.switches = []
        self.last_observed = -math.inf

    def observe(self, value: float, *, t: float) -> None:
        """One observation on the link at time `t`.

        Parameters
        ----------
        value : float
            bit/s, or s of delay.
        t : float, keyword-only
            When it was observed (time.time()).
        """
        self.estimator.observe(value)
        self.last_observed = max(self.last_observed, t)

    def plan_at(self, value: float) -> int:
        """The table's plan at `value` (clamped to the table's range).

        Parameters
        ----------
        value : float
            In the parameter's unit.
        """
        i = max(0, bisect.bisect_right(self.lows, value) - 1)
        return self.rows[i][2]

    def _distance(self, value: float, plan: int) -> float:
        """Relative distance from `value` to the nearest interval where `plan` is the table's (0 inside)."""
        first_low, last_high = self.rows[0][0], self.rows[-1][1]
        best = math.inf
        for lo, hi, j in self.rows:
            if j != plan:
                continue
            lo = -math.inf if lo == first_low else lo    # the table's ends extend: its end plans hold beyond
            hi = math.inf if hi == last_high else hi
            if lo <= value <= hi:
                return 0.0
            d = (lo - value) / max(abs(value), 1e-300) if value < lo else (value - hi) / max(abs(hi), 1e-300)
            best = min(best, d)
        return best

    def decide(self, *, t: float, sample: int | None = None) -> int:
        """The plan for the next sample; a switch (time, sample, estimate, old and new plan) is recorded.

        Parameters
        ----------
        t : float, keyword-only
            Now (time.time()).
        sample : int, optional, keyword-only
            The next sample's number (recorded with a switch).
        """
        est = self.estimator.estimate
        if est is None:
            return self.plan
        target = self.plan_at(est)
        if target != self.plan and self._distance(est, self.plan) > self.hysteresis:
            self.switches.append({"time": t, "sample": sample, "estimate": est, "old": self.plan, "new": target,
                                  "observations": self.estimator.count})
            self.plan = target
        return self.plan
