"""Per-sample records of the profiling split and the exit rule on them (numpy only, no torch).

The rule (paper 2.1): a sample leaves at the first branch whose normalised entropy
(entropy / log classes, in 0..1) is strictly below the threshold; the last branch takes the rest.
So threshold 0 sends every sample to the last branch.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._deprecated import positional

RECORD_FIELDS = ("norm_entropy", "correct", "prediction", "label", "thresholds", "exit_rate",
                 "block_seconds", "branch_seconds")


def normalised_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy over the last axis divided by log(classes), with 0 log 0 = 0; NaN for a row holding a
    non-finite value (never 0, which would pass every threshold: the runtime's rule, runtime/executor.py).

    Parameters
    ----------
    probs : array_like, shape (..., classes)
        Class probabilities.

    Returns
    -------
    numpy.ndarray, shape (...)
        In [0, 1], or NaN.
    """
    p = np.asarray(probs, dtype=np.float64)
    bad = ~np.isfinite(p).all(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return np.where(bad, np.nan, terms.sum(-1) / np.log(p.shape[-1]))


def exit_points(norm_entropy: np.ndarray, threshold: float) -> np.ndarray:
    """The 0-based branch each sample leaves at, for one threshold.

    Parameters
    ----------
    norm_entropy : array_like, shape (samples, N)
        Each sample's normalised entropy at each branch.
    threshold : float
        A sample leaves at the first branch strictly below it; the last branch takes the rest.

    Returns
    -------
    numpy.ndarray of int, shape (samples,)
    """
    below = np.asarray(norm_entropy) < threshold
    last = below.shape[1] - 1
    return np.where(below.any(1), below.argmax(1), last)


def exit_rates(norm_entropy: np.ndarray, thresholds) -> np.ndarray:
    """alpha, shape (K, N): the fraction of samples leaving at each branch, per threshold.

    Parameters
    ----------
    norm_entropy : array_like, shape (samples, N)
        Each sample's normalised entropy at each branch.
    thresholds : array_like, shape (K,)
        The thresholds.

    Returns
    -------
    numpy.ndarray, shape (K, N)
        Rows summing to 1.
    """
    e = np.asarray(norm_entropy, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] == 0:
        raise ValueError(f"norm_entropy: expected shape (samples > 0, N), got {e.shape}")
    n, branches = e.shape
    return np.stack([np.bincount(exit_points(e, t), minlength=branches) / n for t in thresholds])


def records_path(profile_path) -> Path:
    """Where the records of a profile JSON lie: <name>.samples.npz beside it.

    Parameters
    ----------
    profile_path : str or os.PathLike
        The profile file.

    Returns
    -------
    pathlib.Path
    """
    p = Path(profile_path)
    return p.with_name(p.stem + ".samples.npz")


def save_records(path, **arrays) -> None:
    """Writes per-sample records as a compressed .npz (no pickled objects).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    **arrays
        At least RECORD_FIELDS (norm_entropy, correct, prediction, label, thresholds, exit_rate,
        block_seconds, branch_seconds), each array_like.

    Raises
    ------
    ValueError
        A field of RECORD_FIELDS missing.
    """
    missing = [k for k in RECORD_FIELDS if k not in arrays]
    if missing:
        raise ValueError(f"records: missing {missing[0]!r}")
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in arrays.items()})


ACCURACY_FIELDS = ("norm_entropy", "correct")  # what the accuracy estimators read (eepart validate)


@positional("need")
def load_records(path, *, need=()) -> dict:
    """The arrays of a records file; no pickled objects are ever loaded. `need`: the arrays the caller
    reads. A file that is no .npz archive, a damaged member or a missing array is a ValueError naming the
    file (and the array).

    Parameters
    ----------
    path : str or os.PathLike
        The records file (.npz).
    need : sequence of str
        The arrays the caller reads; each must be there.

    Returns
    -------
    dict
        name -> numpy.ndarray.

    Raises
    ------
    FileNotFoundError
        No file at `path`.
    ValueError
        Not an .npz archive, a damaged member, or an array of `need` missing.
    """
    damaged = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except damaged as exc:
        raise ValueError(f"{path}: not a records archive (.npz; {type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: a single .npy array, not a records archive (.npz of {', '.join(RECORD_FIELDS)})")
    with z:
        missing = [k for k in need if k not in z.files]
        if missing:
            raise ValueError(f"{path}: no array {missing[0]!r} (it holds {sorted(z.files)}); re-run `eepart "
                             f"profile` to write the records")
        out = {}
        for k in z.files:
            try:
                out[k] = z[k]
            except damaged as exc:
                raise ValueError(f"{path}: array {k!r} is damaged ({type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:200]})") from None
    return out


def load_accuracy_records(path, N: int | None = None) -> dict:
    """A records file as the accuracy estimators read it, checked: norm_entropy a (samples > 0, N) array of
    numbers in [0, 1] (no NaN), correct a boolean (or 0/1) array of the same shape. ValueError naming the
    file, the array and the first bad index otherwise.

    Parameters
    ----------
    path : str or os.PathLike
        The records file.
    N : int, optional
        The number of branches norm_entropy must have.

    Returns
    -------
    dict
        norm_entropy and correct, checked.
    """
    rec = load_records(path, need=ACCURACY_FIELDS)
    e, c = rec["norm_entropy"], rec["correct"]
    if e.dtype.kind not in "fiu" or e.ndim != 2 or e.shape[0] == 0 or (N is not None and e.shape[1] != N):
        raise ValueError(f"{path}: norm_entropy of shape {e.shape} ({e.dtype}), expected (samples > 0, "
                         f"{'N' if N is None else f'N = {N}'}) numbers")
    bad = np.argwhere(~(np.isfinite(e) & (e >= 0) & (e <= 1 + 1e-6)))
    if bad.size:
        r, i = bad[0]
        raise ValueError(f"{path}: norm_entropy[{r}, {i}] = {float(e[r, i])!r} ({len(bad)} of {e.size} such): "
                         "expected a normalised entropy in [0, 1]")
    if c.shape != e.shape or c.dtype.kind not in "biu" or (c.dtype.kind != "b" and not np.isin(c, (0, 1)).all()):
        raise ValueError(f"{path}: correct of shape {c.shape} ({c.dtype}), expected booleans of norm_entropy's "
                         f"shape {e.shape}")
    return rec
