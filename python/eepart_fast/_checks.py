"""Input checks shared by the data model: every message names the field, the index and the value.

Numbers are strict: a JSON/YAML string ("0.002"), a boolean, a complex number or null is refused, never
converted; values are printed with repr so that 1.0000001 does not read as 1.
"""
from __future__ import annotations

import json
import numbers

import numpy as np

# The engine's limits (cpp/core/tables.hpp, read from the engine), checked here before any table is built.
from ._core import MAX_BLOCKS, MAX_THRESHOLDS, MAX_TIERS  # noqa: F401  (model/ reads them from here)

# Devices measured in one profile: each holds an (N+1, N+1) table (8 MB at N = MAX_BLOCKS).
MAX_DEVICES = 64
# A cost above this many seconds is refused: a latency sums at most 3 * MAX_TIERS + 1 costs, so no sum of
# accepted costs can overflow to inf.
MAX_COST = 1e300


# A model file larger than this is refused before it is read: the largest profile the engine takes
# (K = N = 1000) is about 25 MB of JSON.
MAX_FILE_BYTES = 64 * 1024**2


def read_text(path, what: str) -> str:
    """A model file's text, refused before reading when it is larger than any model can be."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"{what} {str(path)!r}: {size} bytes, more than the limit of {MAX_FILE_BYTES}")
        return path.read_text()
    except OSError as exc:
        raise ValueError(f"{what} {str(path)!r}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {str(path)!r}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_json(path, what: str, kind: str):
    """A JSON model file parsed, every failure one ValueError naming the file (`what`, e.g. "profile
    file") and, for too deep a nesting, what it should have been (`kind`, e.g. "a profile")."""
    text = read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} {str(path)!r}: not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"{what} {str(path)!r}: nested too deeply to be {kind}") from None


def _where(name: str, flat_index: int, shape: tuple) -> str:
    if not shape:
        return name
    return name + "".join(f"[{i}]" for i in np.unravel_index(flat_index, shape))


def show(value) -> str:
    """A value as the user should read it: every digit of a float, short for anything else."""
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        text = str(int(value)) if abs(int(value)) < 10**30 else f"an integer of {len(str(abs(int(value))))} digits"
        return text
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number(name: str, value) -> float:
    """One scalar as a float: ints and floats only (bool, str, None, complex refused), no overflow."""
    if value is None:
        raise ValueError(f"{name} is null (missing): expected a number")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} = {show(value)}: expected a number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} = {show(value)}: too large for a float64") from None


def _kind_ok(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "fiu"


def _flatten(name: str, value, ndim: int, shape: list, prefix: str, out: list) -> None:
    """Walks nested lists of depth `ndim`, checking each leaf, recording the shape met first."""
    if ndim == 0:
        out.append(number(name + prefix, value))
        return
    if isinstance(value, np.ndarray):
        if value.ndim != ndim:
            raise ValueError(f"{name}{prefix}: expected {ndim} nested level(s) of numbers, got an array of shape "
                             f"{value.shape}")
        if not _kind_ok(value):
            raise TypeError(f"{name}{prefix}: expected numbers, got an array of {value.dtype}")
        level = len(shape) - ndim
        for d, n in enumerate(value.shape):
            if shape[level + d] is None:
                shape[level + d] = n
            elif shape[level + d] != n:
                raise ValueError(f"{name}{prefix}: ragged: {n} entries where others have {shape[level + d]}")
        out.extend(value.astype(np.float64).ravel().tolist())
        return
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        if value is None:
            raise ValueError(f"{name}{prefix} is null (missing): expected a list of numbers")
        raise TypeError(f"{name}{prefix} = {show(value)}: expected a list of numbers, got {type(value).__name__}")
    level = len(shape) - ndim
    if shape[level] is None:
        shape[level] = len(value)
    elif shape[level] != len(value):
        raise ValueError(f"{name}{prefix}: ragged: {len(value)} entries where others have {shape[level]}")
    if ndim == 1 and all(type(v) is float for v in value):  # the common case, without a call per entry
        out.extend(value)
        return
    for i, v in enumerate(value):
        _flatten(name, v, ndim - 1, shape, f"{prefix}[{i}]", out)


def _nested_shape(value, depth: int) -> list:
    """The shape nested lists claim, read along their first entries (NumPy's rule); ragged lists are
    found later, entry by entry."""
    found = []
    while len(found) < depth and (isinstance(value, (list, tuple)) or
                                  (isinstance(value, np.ndarray) and value.ndim)):
        found.append(len(value))
        if not len(value):
            break
        value = value[0]
    return found


def agreed_length(claims: dict, prefer: str) -> int | None:
    """The length most of `claims` (field -> the length its value claims, None where it claims none) agree
    on; a tie goes to `prefer`'s. Used to tell which of several fields sharing a dimension is the odd one
    out, so that the error names the field that is wrong, not the first one checked after it."""
    votes: dict = {}
    for n in claims.values():
        if n is not None:
            votes[n] = votes.get(n, 0) + 1
    if not votes:
        return None
    best = max(votes.values())
    if claims.get(prefer) is not None and votes[claims[prefer]] == best:
        return claims[prefer]
    return next(n for n, v in votes.items() if v == best)


def claimed_length(value, level: int = 0) -> int | None:
    """The length nested lists (or an array) claim at `level`, read along first entries; None if none."""
    found = _nested_shape(value, level + 1)
    return found[level] if len(found) > level else None


def _shape_text(shape) -> str:
    return "(" + ", ".join("any" if w is None else str(w) for w in shape) + ("," if len(shape) == 1 else "") + ")"


def float_array(name: str, value, shape: tuple | None = None, limit: int | None = None) -> np.ndarray:
    """`value` as a float64 array of `shape` (None entries match any length), finite everywhere.

    Lists are checked entry by entry (strict numbers); `limit` caps the first dimension, checked before
    the entries are read.
    """
    if shape is None:
        shape = (None,) * (np.ndim(value) if isinstance(value, np.ndarray) else 1)
    if value is None:
        raise ValueError(f"{name} is null (missing): expected {'a number' if not shape else 'a list of numbers'}")
    sized = shape and hasattr(value, "__len__") and not isinstance(value, (str, bytes))
    if limit is not None and sized and len(value) > limit:
        raise ValueError(f"{name}: {len(value)} entries, more than the limit of {limit}")
    if isinstance(value, np.ndarray) and _kind_ok(value):
        arr = value.astype(np.float64)
    elif isinstance(value, np.ndarray):
        raise TypeError(f"{name}: expected numbers, got an array of {value.dtype}")
    elif not shape and isinstance(value, (list, tuple)):
        raise ValueError(f"{name}: expected shape (), got {tuple(_nested_shape(value, 8))}")
    elif not shape:
        arr = np.array(number(name, value.item() if isinstance(value, np.generic) else value))
    else:
        found = _nested_shape(value, len(shape) + 1)
        ok = len(found) == len(shape) and all(w is None or w == f for w, f in zip(shape, found))
        if not ok:
            raise ValueError(f"{name}: expected shape {_shape_text(shape)}, got {tuple(found)}")
        flat: list = []
        _flatten(name, value, len(shape), list(found), "", flat)
        arr = np.array(flat, dtype=np.float64).reshape(found)
    ok = arr.ndim == len(shape) and all(w is None or w == s for w, s in zip(shape, arr.shape))
    if not ok:
        raise ValueError(f"{name}: expected shape {_shape_text(shape)}, got {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_where(name, i, arr.shape)} = {show(arr.flat[i])}: must be finite")
    return arr if arr.ndim == 0 else np.ascontiguousarray(arr)


def at_least(name: str, arr: np.ndarray, low: float, strict: bool = False) -> None:
    bad = arr <= low if strict else arr < low
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        op = ">" if strict else ">="
        raise ValueError(f"{_where(name, i, arr.shape)} = {show(arr.flat[i])}: must be {op} {low}")


def within(name: str, arr: np.ndarray, low: float, high: float) -> None:
    bad = (arr < low) | (arr > high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{_where(name, i, arr.shape)} = {show(arr.flat[i])}: must be in [{low}, {high}]")


def strictly_increasing(name: str, arr: np.ndarray) -> None:
    bad = np.flatnonzero(np.diff(arr) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise ValueError(f"{name}[{i}] = {show(arr[i])}: must be > {name}[{i - 1}] = {show(arr[i - 1])} "
                         "(strictly increasing)")


def integer(name: str, value) -> int:
    """An integer: int or NumPy integer only; 0.9, True, "1" are refused, never truncated."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer, got {show(value)}")
    return int(value)


def count(name: str, n: int, limit: int, what: str) -> None:
    """A size against one of the engine's limits, before anything of that size is built."""
    if n > limit:
        raise ValueError(f"{name}: {n} {what}, more than the limit of {limit}")


def finite_costs(tables) -> None:
    """The model's rule, once for every backend: each cost is finite and at most MAX_COST seconds.

    A cost overflows when, say, a profile's output_bits cross a route of tiny bandwidth; refusing it here
    gives every backend the same clear error instead of NaN, inf or dropped rows.
    """
    for name in ("input_cost", "compute_cost", "forward_cost", "result_cost"):
        arr = np.asarray(getattr(tables, name))
        bad = ~(arr <= MAX_COST)  # NaN fails the comparison too
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{_where(name, i, arr.shape)} = {show(arr.flat[i])} s: costs must be finite and at "
                             f"most {MAX_COST:g} s (bits over a slow route, or a block's time times a tier's "
                             "ratio, overflowed)")


ENERGY_TABLES = ("input_energy", "compute_energy", "forward_energy", "result_energy")


def finite_energy(energy) -> None:
    """The cost tables' rule (finite_costs) for the energy tables: each entry finite, >= 0 and at most
    MAX_COST joules, so that no energy sum of accepted entries overflows either.
    """
    for name in ENERGY_TABLES:
        arr = np.asarray(getattr(energy, name))
        bad = ~((arr >= 0) & (arr <= MAX_COST))  # NaN fails both comparisons
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{_where(name, i, arr.shape)} = {show(arr.flat[i])} J: energies must be finite, >= 0 "
                             f"and at most {MAX_COST:g} J (a power times a long time, or bits times J/bit, "
                             "overflowed)")


def time_limit(value) -> float:
    """A call's `time_limit` in seconds: None or inf for none, else a finite number > 0."""
    if value is None:
        return float("inf")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"time_limit = {show(value)}: expected a number of seconds or None, got {type(value).__name__}")
    if not float(value) > 0:  # nan, 0 and negatives
        raise ValueError(f"time_limit = {show(value)}: must be > 0 seconds (None or inf: no limit)")
    return float(value)


def timed_out(what: str, time_limit: float) -> TimeoutError:
    """The error of a call stopped at its time limit, worded as the compiled engines word it."""
    return TimeoutError(f"{what}: stopped at its time limit (time_limit = {time_limit:g} s) without an answer; "
                        "raise time_limit, or narrow the question (bounds, fewer tiers or blocks)")


def bound(name: str, value, default: float | None = None, huge_is_infinite: bool = True) -> float:
    """A bound of a search (min_accuracy, max_latency) or a value of the network (a bandwidth, a latency, a
    ratio) as a float, by one rule for every caller.

    None is `default` where the caller has one (a bound left out: no bound), else refused. A string, a
    boolean, a complex number is refused (TypeError), never converted; nan is refused (ValueError). An
    integer beyond float64's range (10**400) is, as a bound, the infinity of its sign: it compares with
    every latency and accuracy exactly as that infinity does (max_latency=10**400: no latency bound;
    min_accuracy=10**400: no plan). Where it is a value of the network (`huge_is_infinite` False) it is
    refused by name (ValueError).
    """
    if type(value) is float:  # the common case, without the checks below (an ABC isinstance is slow)
        if value != value:
            raise ValueError(f"{name} = nan: must be a number")
        return value
    if value is None and default is not None:
        return default
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} = {show(value)}: expected a number, got {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:
        if not huge_is_infinite:
            raise ValueError(f"{name} = {show(value)}: too large for a float64") from None
        value = float("inf") if value > 0 else float("-inf")
    if value != value:
        raise ValueError(f"{name} = nan: must be a number")
    return value


MAX_THREADS = 1024  # as the compiled engines check it


def threads(value) -> int:
    """A call's `threads`, as the engines take it: an integer from 0 (one per core) to MAX_THREADS."""
    value = integer("threads", value)
    if not 0 <= value <= MAX_THREADS:
        raise ValueError(f"threads = {value}: must be in 0..{MAX_THREADS} (0: one per core)")
    return value
