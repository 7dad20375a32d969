"""Tail latency's one parameter: which quantile of a configuration's latency distribution is asked.

With deterministic step costs a configuration's latency is a discrete distribution over its exits
(docs/model.md "Tail latency"); every backend computes its q-quantile by the same rule, with the shares
at or below an exit reaching q less QUANTILE_SLACK, so that shares tallied from finite records (whose
sums round) count as reaching q exactly where the tally does.
"""
from __future__ import annotations

import math

QUANTILE_SLACK = 1e-12


def check_quantile(quantile) -> float:
    """q as a float in (0, 1]; TypeError / ValueError naming `quantile` otherwise."""
    if isinstance(quantile, bool) or not isinstance(quantile, (int, float)) and not hasattr(quantile, "__float__"):
        raise TypeError(f"quantile: expected a number in (0, 1], got {quantile!r}")
    if isinstance(quantile, (str, bytes, complex)):
        raise TypeError(f"quantile: expected a number in (0, 1], got {quantile!r}")
    try:
        q = float(quantile)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"quantile: expected a number in (0, 1], got {quantile!r}") from None
    if not math.isfinite(q) or not 0.0 < q <= 1.0:
        raise ValueError(f"quantile = {quantile!r}: must be in (0, 1] (0.99 for p99)")
    return q
