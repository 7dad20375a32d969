"""Input checks shared by the data model: every message names the field, the index and the value."""
from __future__ import annotations

import numbers

import numpy as np


def _where(name: str, flat_index: int, shape: tuple) -> str:
    if not shape:
        return name
    return name + "".join(f"[{i}]" for i in np.unravel_index(flat_index, shape))


def float_array(name: str, value, shape: tuple | None = None) -> np.ndarray:
    """`value` as a float64 array of `shape` (None entries match any length), finite everywhere."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name}: expected numbers, got {type(value).__name__}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected numbers, got {value!r:.80}") from exc
    if shape is not None:
        ok = arr.ndim == len(shape) and all(w is None or w == s for w, s in zip(shape, arr.shape))
        if not ok:
            want = "(" + ", ".join("any" if w is None else str(w) for w in shape) + ("," if len(shape) == 1 else "") + ")"
            raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_where(name, i, arr.shape)} = {arr.flat[i]}: must be finite")
    return arr if arr.ndim == 0 else np.ascontiguousarray(arr)


def at_least(name: str, arr: np.ndarray, low: float, strict: bool = False) -> None:
    bad = arr <= low if strict else arr < low
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        op = ">" if strict else ">="
        raise ValueError(f"{_where(name, i, arr.shape)} = {arr.flat[i]}: must be {op} {low}")


def within(name: str, arr: np.ndarray, low: float, high: float) -> None:
    bad = (arr < low) | (arr > high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_where(name, i, arr.shape)} = {arr.flat[i]}: must be in [{low}, {high}]")


def strictly_increasing(name: str, arr: np.ndarray) -> None:
    bad = np.flatnonzero(np.diff(arr) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise ValueError(f"{name}[{i}] = {arr[i]}: must be > {name}[{i - 1}] = {arr[i - 1]} (strictly increasing)")


def integer(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    return int(value)
