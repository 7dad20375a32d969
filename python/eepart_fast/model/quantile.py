"""Tail latency's one parameter: which quantile of a configuration's latency distribution is asked.

With deterministic step costs a configuration's latency is a discrete distribution over its exits
(docs/model.md "Tail latency"); every backend computes its q-quantile by the same rule, with the shares
at or below an exit reaching q less QUANTILE_SLACK, so that shares tallied from finite records (whose
sums round) count as reaching q exactly where the tally does.
"""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from .._core import QUANTILE_SLACK  # noqa: F401  the engine's (core/quantile.hpp); one definition, re-exported


def check_quantile(quantile, *, field: str = "quantile") -> float:
    """q as a float in (0, 1]; TypeError / ValueError naming `quantile` otherwise. A narrower float (NumPy's
    float32, float16) is taken as the decimal it prints as: float32(0.99) is 0.9900000095 as a double, past
    any slack, and would ask for a different quantile than the one written.

    Parameters
    ----------
    quantile : float
        The quantile asked, in (0, 1] (0.99 for p99).
    field : str, default "quantile"
        The name errors give it (a file's field, such as "bounds[2].quantile").

    Returns
    -------
    float

    Raises
    ------
    TypeError
        Not a real number (a string, a boolean, a complex number).
    ValueError
        Outside (0, 1], or not finite.
    """
    if isinstance(quantile, (bool, np.bool_, str, bytes, complex, np.complexfloating)):
        raise TypeError(f"{field}: expected a number in (0, 1], got {quantile!r}")
    if isinstance(quantile, np.floating) and np.finfo(quantile.dtype).bits < 64:
        quantile = float(str(quantile))
    try:
        q = float(quantile)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{field}: expected a number in (0, 1], got {quantile!r}") from None
    if not math.isfinite(q) or not 0.0 < q <= 1.0:
        raise ValueError(f"{field} = {quantile!r}: must be in (0, 1] (0.99 for p99)")
    return q


def parse_quantile(text, *, field: str | None = None) -> float:
    """A quantile as a user writes it: a fraction in (0, 1] (0.99) or its name (p99, p99.9, P50); text that
    is none is a ValueError saying what the text was (the caller names the field).

    Parameters
    ----------
    text : str or float
        "0.99", "p99", "P99.9", or a number (checked as `check_quantile` checks it).
    field : str, optional
        The name errors start with (None: a text's errors name the text alone, a number's "quantile").

    Returns
    -------
    float
    """
    if isinstance(text, str):
        prefix = f"{field}: " if field else ""
        number = text[1:] if text[:1] in ("p", "P") else None
        try:
            value = float(number) / 100 if number is not None else float(text)
        except ValueError:
            raise ValueError(f"{prefix}{text!r} is not a quantile: give a fraction in (0, 1] "
                             "or pNN (0.99 or p99)") from None
        if not (math.isfinite(value) and 0.0 < value <= 1.0):
            raise ValueError(f"{prefix}{text!r}: a quantile is in (0, 1] (0.99 or p99 for the 99th percentile)")
        return value
    return check_quantile(text, field=field or "quantile")


def quantile_label(quantile) -> str:
    """How outputs name a latency statistic: "mean", or "p99" for the 0.99-quantile ("p99.9", "p100"):
    the quantile's shortest decimal times 100, so that two quantiles never share a name (0.9999999 is
    "p99.99999", never "p100").

    Parameters
    ----------
    quantile : float or None
        None for the mean.

    Returns
    -------
    str
    """
    if quantile is None:
        return "mean"
    return "p" + format((Decimal(repr(float(quantile))) * 100).normalize(), "f")
