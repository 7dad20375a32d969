"""Accuracy estimators of the model and their predictions (numpy only, no torch).

The model (docs/model.md) predicts accuracy = sum_k acc[P_k] * E_k. What `acc` holds decides how good that is:

- "joint": the full-configuration network's branch accuracies. The paper (3.2) shows it underestimates.
- "separate": one separately trained model per exit (the paper's choice, paper 2.2).
- "fitted" (per threshold, shape K x N): from the profiler's per-sample records. For every partitioning
  (all of them, or a seeded sample when there are too many) and threshold, the records give the accuracy
  the full-configuration network reaches when only that partitioning's exits are kept (each sample leaves
  at the first kept exit whose normalised entropy is below the threshold). Per threshold, acc[t] is the
  least-squares solution of  sum_k acc[t][P_k] * E_k(t, P) = that accuracy  over the partitionings:
  the table that makes the model's own formula best reproduce what the records show. It captures what
  a single accuracy per branch cannot: the samples a partition's exit takes are the confident ones
  (above its branch's average accuracy), and the last exit gets the hard rest (below it). Finally
  each branch is shifted by (separate test accuracy - joint accuracy on the records' split), so that
  a final model trained like the separate models is what it predicts (at threshold 0 it equals
  "separate" exactly).

- "exiting" (per threshold, K x N): the accuracy of branch i on the samples that leave at branch i in
  the full configuration (plain accuracy where none do), with the same shift. The intuitive table, and a
  poor one: in a final model an exit also takes the samples the dropped exits before it would have
  taken, and the last exit takes everything left. Kept for comparison.

The records' exit rule is records.exit_points; predicted_* follow docs/model.md's formulas line by line and
accept (N,) or (K, N) accuracy tables.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..io.records import exit_points

ESTIMATORS = ("joint", "separate", "exiting", "fitted")
RECOMMENDED = "fitted"
MAX_FIT_PARTITIONINGS = 4096


def _partitioning(P, n: int) -> np.ndarray:
    p = np.asarray(P, dtype=np.int64)
    if p.ndim != 1 or p.size == 0 or p[0] < 1 or p[-1] > n or np.any(np.diff(p) <= 0):
        raise ValueError(f"partitioning: expected strictly increasing block counts in 1..{n}, got {list(P)}")
    return p


def accuracy_table(acc, k: int, n: int) -> np.ndarray:
    """An accuracy input of shape (N,) or (K, N) as a (K, N) float64 array."""
    a = np.asarray(acc, dtype=np.float64)
    if a.shape == (n,):
        return np.broadcast_to(a, (k, n))
    if a.shape != (k, n):
        raise ValueError(f"accuracy: expected shape ({n},) or ({k}, {n}), got {a.shape}")
    return a


def predicted_exit(exit_rate, P) -> np.ndarray:
    """E_k per threshold, shape (K, L), by docs/model.md from the profile's exit rates alpha (K, N)."""
    alpha = np.asarray(exit_rate, dtype=np.float64)
    k, n = alpha.shape
    p = _partitioning(P, n)
    c = np.zeros((k, n + 1))
    c[:, 1:] = np.minimum(np.cumsum(alpha, axis=1), 1.0)
    c[:, n] = 1.0
    prev = np.concatenate([[0], p[:-1]])
    e = c[:, p] - c[:, prev]
    e[:, -1] = 1.0 - c[:, prev[-1]]
    return e


def predicted_accuracy(exit_rate, acc, P) -> np.ndarray:
    """The model's accuracy per threshold, shape (K,): sum_k acc[t][P_k] * E_k (acc (N,) or (K, N))."""
    e = predicted_exit(exit_rate, P)
    table = accuracy_table(acc, e.shape[0], np.asarray(exit_rate).shape[1])
    p = _partitioning(P, table.shape[1])
    return (table[:, p - 1] * e).sum(axis=1)


def kept_exit_outcome(norm_entropy, correct, thresholds):
    """Exit fractions (K, L) and accuracy (K,) of a network whose exits are the columns given.

    norm_entropy, correct: (samples, L), one column per kept exit in order; the exit rule of records.py.
    """
    h = np.asarray(norm_entropy)
    ok = np.asarray(correct, dtype=bool)
    if h.ndim != 2 or h.shape != ok.shape or h.shape[0] == 0:
        raise ValueError(f"norm_entropy, correct: expected two equal shapes (samples > 0, L), got {h.shape}, "
                         f"{ok.shape}")
    s, n_exits = h.shape
    thr = np.asarray(thresholds, dtype=np.float64)
    k = thr.shape[0]
    # The first exit whose entropy is below t is the first where the running minimum is: so the exit
    # index is how many running minima are still >= t (at most L - 1), for every threshold at once.
    running = np.minimum.accumulate(h, axis=1)
    x = np.zeros((k, s), dtype=np.int64)
    for j in range(n_exits - 1):
        x += running[None, :, j] >= thr[:, None]
    fractions = np.bincount((x + n_exits * np.arange(k)[:, None]).ravel(), minlength=k * n_exits)
    fractions = fractions.reshape(k, n_exits) / s
    accuracy = ok.T[x, np.arange(s)[None, :]].mean(1)
    return fractions, accuracy


def all_partitionings(n: int, max_partitions: int | None = None):
    """Every partitioning (tuple of block counts) with at most max_partitions parts, shortest first."""
    top = n if max_partitions is None else min(n, max_partitions)
    return [tuple(c) for length in range(1, top + 1) for c in itertools.combinations(range(1, n + 1), length)]


def count_partitionings(n: int, max_partitions: int | None = None) -> int:
    top = n if max_partitions is None else min(n, max_partitions)
    return sum(math.comb(n, length) for length in range(1, top + 1))


def sample_partitionings(n: int, count: int, seed: int = 0, max_partitions: int | None = None):
    """`count` distinct partitionings drawn uniformly (seeded) from those with at most max_partitions parts.

    All of them, in order, when count >= their number. The length is drawn in proportion to how many
    partitionings have it, then its block counts uniformly, so every partitioning is equally likely.
    """
    if n < 1:
        raise ValueError(f"N: expected at least 1 block, got {n}")
    if count < 1:
        raise ValueError(f"partitionings: expected at least 1, got {count}")
    if max_partitions is not None and max_partitions < 1:
        raise ValueError(f"max_partitions: expected at least 1, got {max_partitions}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    total = count_partitionings(n, max_partitions)
    if count >= total:
        return all_partitionings(n, max_partitions)
    top = n if max_partitions is None else min(n, max_partitions)
    weights = np.array([math.comb(n, length) for length in range(1, top + 1)], dtype=np.float64)
    rng = np.random.default_rng(seed)
    chosen, seen = [], set()
    while len(chosen) < count:
        length = int(rng.choice(np.arange(1, top + 1), p=weights / weights.sum()))
        p = tuple(int(b) for b in np.sort(rng.choice(np.arange(1, n + 1), size=length, replace=False)))
        if p not in seen:
            seen.add(p)
            chosen.append(p)
    return chosen


def fitted_accuracy(norm_entropy, correct, thresholds, max_partitions: int | None = None,
                    shift=None, seed: int = 0, max_fit: int = MAX_FIT_PARTITIONINGS) -> np.ndarray:
    """The "fitted" (K, N) accuracy table from per-sample records of the full configuration.

    norm_entropy, correct: (samples, N) of every branch; shift: (N,) added to every row afterwards
    (separate minus joint accuracy), or None. The result is clipped to 0..1.
    """
    h = np.asarray(norm_entropy, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    if h.ndim != 2 or h.shape != ok.shape or h.shape[0] == 0:
        raise ValueError(f"records: norm_entropy and correct must share a shape (samples > 0, N), got "
                         f"{h.shape}, {ok.shape}")
    thresholds = np.asarray(thresholds, dtype=np.float64)
    s, n = h.shape
    k = thresholds.shape[0]
    parts = sample_partitionings(n, max_fit, seed, max_partitions)
    full = np.stack([exit_points(h, t) for t in thresholds])              # (K, samples), 0-based
    alpha = np.stack([np.bincount(x, minlength=n) / s for x in full])
    design = np.zeros((k, len(parts), n))
    target = np.empty((k, len(parts)))
    for j, p in enumerate(parts):
        cols = np.asarray(p) - 1
        design[:, j, cols] = predicted_exit(alpha, p)
        target[:, j] = kept_exit_outcome(h[:, cols], ok[:, cols], thresholds)[1]
    table = np.empty((k, n))
    plain = ok.mean(0)
    for t in range(k):
        # Branches no partitioning gives weight at this threshold (no sample could reach them as an
        # exit) keep their plain accuracy: lstsq leaves them at 0, the minimum-norm choice.
        used = np.abs(design[t]).sum(0) > 0
        sol = np.linalg.lstsq(design[t][:, used], target[t], rcond=None)[0]
        table[t] = plain
        table[t, used] = sol
    if shift is not None:
        table = table + np.asarray(shift, dtype=np.float64)[None, :]
    return np.clip(table, 0.0, 1.0)


def exiting_accuracy(norm_entropy, correct, thresholds, shift=None) -> np.ndarray:
    """The "exiting" (K, N) table: branch i's accuracy on the samples leaving at i in the full network."""
    h = np.asarray(norm_entropy, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    if h.ndim != 2 or h.shape != ok.shape or h.shape[0] == 0:
        raise ValueError(f"records: norm_entropy and correct must share a shape (samples > 0, N), got "
                         f"{h.shape}, {ok.shape}")
    n = h.shape[1]
    plain = ok.mean(0)
    table = np.empty((len(thresholds), n))
    for t, thr in enumerate(np.asarray(thresholds, dtype=np.float64)):
        x = exit_points(h, thr)
        hits = np.bincount(x, weights=ok[np.arange(len(x)), x], minlength=n)
        counts = np.bincount(x, minlength=n)
        table[t] = np.where(counts > 0, hits / np.maximum(counts, 1), plain)
    if shift is not None:
        table = table + np.asarray(shift, dtype=np.float64)[None, :]
    return np.clip(table, 0.0, 1.0)


def fit_stats(predicted, actual) -> dict:
    """R^2 of the prediction (about y = x), least-squares slope and intercept of actual on predicted,
    mean absolute error and the number of points."""
    p = np.ravel(np.asarray(predicted, dtype=np.float64))
    a = np.ravel(np.asarray(actual, dtype=np.float64))
    if p.shape != a.shape or p.size < 2:
        raise ValueError(f"predicted, actual: need two equal-length series of at least 2, got {p.size}, {a.size}")
    ss_tot = float(((a - a.mean()) ** 2).sum())
    ss_res = float(((a - p) ** 2).sum())
    var_p = float(((p - p.mean()) ** 2).sum())
    slope = float(((p - p.mean()) * (a - a.mean())).sum() / var_p) if var_p > 0 else float("nan")
    return {"r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"), "slope": slope,
            "intercept": float(a.mean() - slope * p.mean()) if var_p > 0 else float("nan"),
            "mae": float(np.abs(a - p).mean()), "points": int(p.size)}
