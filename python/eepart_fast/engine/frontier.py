"""The Pareto frontier of docs/model.md: non-dominated (latency, accuracy) points, latency rising.

Points equal within ``rtol`` (relative) count once, so that backends whose sums differ in the last bits
return the same frontier.
"""
from __future__ import annotations

import numpy as np

from .._core import FRONTIER_RTOL as RTOL  # the searches' (cpp/core/search/constants.hpp): one definition
from .._deprecated import positional


def _close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b))


@positional("rtol")
def frontier_indices(latency, accuracy, *, rtol: float = RTOL) -> np.ndarray:
    """Indices of the rows that form the frontier, sorted by latency (accuracy strictly rising).

    The Pareto frontier of docs/model.md: the rows no other row beats in both latency and accuracy.
    Among rows that reach the same point, the first in the given order is chosen; points equal within
    `rtol` count once.

    Parameters
    ----------
    latency : array_like, shape (n,)
        Each row's latency (seconds, lower is better).
    accuracy : array_like, shape (n,)
        Each row's accuracy (higher is better).
    rtol : float
        Relative tolerance under which two latencies or accuracies are the same (default 1e-12), so
        that backends whose sums differ in the last bits return the same frontier.

    Returns
    -------
    numpy.ndarray of int64
        Row indices, latency rising and accuracy strictly rising.

    Raises
    ------
    ValueError
        `latency` and `accuracy` not two 1-D arrays of one length.

    Examples
    --------
    >>> ef.frontier_indices([0.3, 0.1, 0.2, 0.4], [0.9, 0.5, 0.5, 0.8])
    array([1, 0])
    >>> ef.frontier_indices([1.0, 1.0 + 1e-15], [0.5, 0.7], rtol=0.0)
    array([0, 1])
    """
    latency = np.asarray(latency, dtype=np.float64)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    if latency.shape != accuracy.shape or latency.ndim != 1:
        raise ValueError(f"latency and accuracy: expected two 1-D arrays of one length, got {latency.shape} and {accuracy.shape}")
    if latency.size == 0:
        return np.zeros(0, dtype=np.int64)
    # Latency rising, accuracy falling within a latency, original order last: the first row of a point wins.
    order = np.lexsort((np.arange(latency.size), -accuracy, latency))
    # A row can only be on the frontier if its accuracy beats every faster row's.
    best_before = np.maximum.accumulate(accuracy[order])
    candidates = order[np.concatenate(([True], accuracy[order][1:] > best_before[:-1]))]
    kept: list[int] = []
    for i in candidates:
        lat, acc = latency[i], accuracy[i]
        if kept:
            last = kept[-1]
            if acc <= accuracy[last] or _close(acc, accuracy[last], rtol):
                continue  # no better, within tolerance, than a faster point
            # As fast as the last kept point (within tolerance) and more accurate: it replaces it.
            while kept and _close(lat, latency[kept[-1]], rtol):
                kept.pop()
        kept.append(int(i))
    return np.asarray(kept, dtype=np.int64)
