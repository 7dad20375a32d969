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
        raise ValueError(f"latency and accuracy: expected two 1-D arrays of one length, got {latency.shape} and "
                         f"{accuracy.shape}")
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


@positional("rtol")
def frontier3_indices(latency, accuracy, energy, *, rtol: float = RTOL) -> np.ndarray:
    """Indices of the non-dominated rows of (latency, accuracy, energy): no other row has latency and energy
    no higher and accuracy no lower, one of them strictly (beyond `rtol`, relative). Of rows equal within
    `rtol` in all three, the first in the order latency rising, accuracy falling, energy rising, then
    given order is kept. Quadratic in the frontier's size: a brute-force reference for tests.

    Parameters
    ----------
    latency, accuracy, energy : array_like, shape (n,)
        Each row's latency (lower is better), accuracy (higher is better) and energy (lower is better).
    rtol : float
        Relative tolerance under which two values are the same (default 1e-12).

    Returns
    -------
    numpy.ndarray of int64
        Row indices, in the order above.

    Raises
    ------
    ValueError
        Not three 1-D arrays of one length.

    Examples
    --------
    >>> from eepart_fast.engine.frontier import frontier3_indices
    >>> frontier3_indices([1.0, 2.0, 2.0, 3.0], [0.5, 0.5, 0.9, 0.9], [3.0, 1.0, 2.0, 2.0])
    array([0, 2, 1])
    """
    lat, acc, en = (np.asarray(x, dtype=np.float64) for x in (latency, accuracy, energy))
    if not lat.shape == acc.shape == en.shape or lat.ndim != 1:
        raise ValueError(f"latency, accuracy and energy: expected three 1-D arrays of one length, got {lat.shape}, "
                         f"{acc.shape} and {en.shape}")
    order = np.lexsort((np.arange(lat.size), en, -acc, lat))
    kept = np.zeros(0, dtype=np.int64)
    for i in order:
        k_lat, k_acc, k_en = lat[kept], acc[kept], en[kept]
        # "no worse" and "strictly better", each beyond the tolerance of the two values compared
        tol_lat = rtol * np.maximum(np.abs(k_lat), abs(lat[i]))
        tol_acc = rtol * np.maximum(np.abs(k_acc), abs(acc[i]))
        tol_en = rtol * np.maximum(np.abs(k_en), abs(en[i]))
        no_worse = (k_lat <= lat[i] + tol_lat) & (k_acc >= acc[i] - tol_acc) & (k_en <= en[i] + tol_en)
        if no_worse.any():  # dominated by, or equal to, a kept row
            continue
        beaten = (lat[i] <= k_lat + tol_lat) & (acc[i] >= k_acc - tol_acc) & (en[i] <= k_en + tol_en)
        kept = np.append(kept[~beaten], i)
    return kept[np.argsort(_rank(order, kept))]


def _rank(order: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Each of `rows`' position in `order`."""
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    return position[rows]
