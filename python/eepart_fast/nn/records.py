"""Per-sample records of the profiling split and the exit rule on them (numpy only, no torch).

The rule (paper 2.1): a sample leaves at the first branch whose normalised entropy
(entropy / log classes, in 0..1) is strictly below the threshold; the last branch takes the rest.
So threshold 0 sends every sample to the last branch.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

RECORD_FIELDS = ("norm_entropy", "correct", "prediction", "label", "thresholds", "exit_rate",
                 "block_seconds", "branch_seconds")


def normalised_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy over the last axis divided by log(classes), with 0 log 0 = 0."""
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(-1) / np.log(p.shape[-1])


def exit_points(norm_entropy: np.ndarray, threshold: float) -> np.ndarray:
    """The 0-based branch each sample leaves at, for one threshold."""
    below = np.asarray(norm_entropy) < threshold
    last = below.shape[1] - 1
    return np.where(below.any(1), below.argmax(1), last)


def exit_rates(norm_entropy: np.ndarray, thresholds) -> np.ndarray:
    """alpha, shape (K, N): the fraction of samples leaving at each branch, per threshold."""
    e = np.asarray(norm_entropy, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] == 0:
        raise ValueError(f"norm_entropy: expected shape (samples > 0, N), got {e.shape}")
    n, branches = e.shape
    return np.stack([np.bincount(exit_points(e, t), minlength=branches) / n for t in thresholds])


def records_path(profile_path) -> Path:
    """Where the records of a profile JSON lie: <name>.samples.npz beside it."""
    p = Path(profile_path)
    return p.with_name(p.stem + ".samples.npz")


def save_records(path, **arrays) -> None:
    missing = [k for k in RECORD_FIELDS if k not in arrays]
    if missing:
        raise ValueError(f"records: missing {missing[0]!r}")
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})


def load_records(path) -> dict:
    """The arrays of a records file; no pickled objects are ever loaded."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
