"""The NumPy reference backend: docs/model.md's engine form as code, to be read line by line beside it.

Every other backend must agree with this one to 1e-12 relative. Vectorised over configurations only,
never over the formulas' structure, so that each line is one line of docs/model.md.
"""
from __future__ import annotations

import time
from itertools import combinations, islice, permutations
from math import perm

import numpy as np

import eepart_fast._core as _core  # by name: `from .. import` reads as importing the whole package

from .._checks import time_limit as check_time_limit
from .._checks import timed_out
from ..errors import RowLimitError
from ..model.configs import count_configurations, row_bytes
from ..model.quantile import QUANTILE_SLACK, check_quantile
from ..model.tables import CostTables
from .frontier import frontier3_indices, frontier_indices

COLUMNS = ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement")


def available():
    """The reference runs everywhere (the Backend Protocol's `available`).

    Returns
    -------
    tuple
        (True, "always available").
    """
    return True, "always available"


def accuracy_rows(accuracy, K: int) -> np.ndarray:
    """The accuracy table as (K, N), a row per threshold: an (N,) table holds for every threshold."""
    accuracy = np.asarray(accuracy, dtype=np.float64)
    return np.broadcast_to(accuracy, (K, accuracy.shape[-1]))


def evaluate(tables: CostTables, threshold_index, num_partitions, partitions, placement, quantile=None, threads=0,
             energy=None):
    """Latency (s) and accuracy of each configuration, from the cost tables (docs/model.md "Engine form").
    The latency is the mean, or with `quantile` = q in (0, 1] its q-quantile (docs/model.md "Tail latency").
    With `energy`, each configuration's energy (J) too (evaluate_energy).

    Parameters
    ----------
    tables : CostTables
        The model in engine form.
    threshold_index, num_partitions, partitions, placement : array_like of int
        The configurations packed as the Backend Protocol's `evaluate` takes them (pack_configs).
    quantile : float, optional
        None: the mean latency; q in (0, 1]: its q-quantile.
    threads : int
        Taken, as the Backend Protocol declares, and ignored: the reference runs on one thread.
    energy : EnergyTables, optional
        The energy tables (same M and N): an energy column is returned too.

    Returns
    -------
    tuple
        (latency, accuracy), or (latency, accuracy, energy) with `energy`, float64 arrays of shape (n,).
    """
    if energy is not None:
        columns = evaluate(tables, threshold_index, num_partitions, partitions, placement, quantile=quantile)
        return (*columns, evaluate_energy(energy, tables.cum_exit, threshold_index, num_partitions, partitions,
                                          placement))
    if quantile is not None:
        q = check_quantile(quantile)
        _, accuracy = evaluate(tables, threshold_index, num_partitions, partitions, placement)
        return latency_quantile(tables, threshold_index, num_partitions, partitions, placement, q), accuracy
    t = np.asarray(threshold_index)
    L = np.asarray(num_partitions)
    P = np.asarray(partitions)
    A = np.asarray(placement)
    n = t.shape[0]
    rows = np.arange(n)
    c = tables.cum_exit[t]  # c_i per configuration, (n, N+1)
    acc_table = accuracy_rows(tables.accuracy, tables.K)  # acc of branch i at threshold t: acc_table[t, i-1]
    latency = tables.input_cost[A[:, 0]].copy()  # input: source -> A_1
    accuracy = np.zeros(n)
    p_prev = np.zeros(n, dtype=np.int64)  # P_0 = 0
    for k in range(P.shape[1]):
        active = k < L
        last = k == L - 1
        q = np.where(active, P[:, k], 1)
        a = np.where(active, A[:, k], 0)
        c_prev, c_q = c[rows, p_prev], c[rows, q]
        in_k = 1.0 - c_prev  # entering fraction
        E_k = np.where(last, 1.0 - c_prev, c_q - c_prev)  # exit rate; the last exit takes all that is left
        S_k = np.where(last, 0.0, 1.0 - c_q)  # stay rate
        comp = in_k * tables.compute_cost[a, p_prev, q]
        result = E_k * tables.result_cost[a]
        latency = latency + np.where(active, comp, 0.0)
        latency = latency + np.where(active, result, 0.0)
        if k + 1 < P.shape[1]:
            b = np.where(active & ~last, A[:, k + 1], a)
            forward = S_k * tables.forward_cost[q - 1, a, b]
            latency = latency + np.where(active & ~last, forward, 0.0)
        accuracy = accuracy + np.where(active, acc_table[t, q - 1] * E_k, 0.0)
        p_prev = np.where(active, q, p_prev)
    return latency, accuracy


def exit_latencies(tables: CostTables, threshold_index, num_partitions, partitions, placement):
    """(latency, share), each (n, Lmax): the end-to-end time of a sample leaving at partition k's exit, and
    the share E_k of samples leaving there; 0 beyond a row's L partitions (docs/model.md "Tail latency")."""
    t = np.asarray(threshold_index)
    L = np.asarray(num_partitions)
    P = np.asarray(partitions)
    A = np.asarray(placement)
    n, lmax = P.shape
    rows = np.arange(n)
    c = tables.cum_exit[t]
    ell = np.zeros((n, lmax))
    share = np.zeros((n, lmax))
    d = tables.input_cost[A[:, 0]].copy()  # the sample's clock: arrived at the first partition's tier
    p_prev = np.zeros(n, dtype=np.int64)
    for k in range(lmax):
        active = k < L
        last = k == L - 1
        q = np.where(active, P[:, k], 1)
        a = np.where(active, A[:, k], 0)
        c_prev = c[rows, p_prev]
        d = d + tables.compute_cost[a, p_prev, q]  # partition k's blocks and exit branch
        ell[:, k] = np.where(active, d + tables.result_cost[a], 0.0)  # leaves here: its result travels on
        share[:, k] = np.where(active, np.where(last, 1.0 - c_prev, c[rows, q] - c_prev), 0.0)
        if k + 1 < lmax:
            b = np.where(active & ~last, A[:, k + 1], a)
            d = d + np.where(active & ~last, tables.forward_cost[q - 1, a, b], 0.0)  # stays: the tensor moves
        p_prev = np.where(active, q, p_prev)
    return ell, share


def quantile_of_exits(ell, share, num_partitions, q: float):
    """The q-quantile of each row's discrete latency distribution (exit latencies `ell`, weights `share`):
    the least exit latency whose share at or below it reaches q (less QUANTILE_SLACK), over exits with a
    share; each share at or below summed in exit order."""
    ell = np.asarray(ell)
    share = np.asarray(share)
    L = np.asarray(num_partitions)
    n, lmax = ell.shape
    theta = q - QUANTILE_SLACK
    best = np.full(n, np.inf)
    for k in range(lmax):
        mass = np.zeros(n)
        for j in range(lmax):
            mass = mass + np.where((j < L) & (ell[:, j] <= ell[:, k]), share[:, j], 0.0)
        ok = (k < L) & (share[:, k] > 0) & (mass >= theta)
        best = np.where(ok, np.minimum(best, ell[:, k]), best)
    return best


def latency_quantile(tables: CostTables, threshold_index, num_partitions, partitions, placement, q: float):
    """The q-quantile of each configuration's latency (s)."""
    ell, share = exit_latencies(tables, threshold_index, num_partitions, partitions, placement)
    return quantile_of_exits(ell, share, num_partitions, q)


# Memory of one configuration while a chunk is evaluated: c (N+1 floats), P and A (int64 per slot) and
# about twenty (n,) temporaries of `evaluate`.
def _chunk_bytes(N: int, L: int) -> int:
    return 8 * (N + 1) + 32 * L + 256


MIN_CHUNK = 1024  # configurations; below this NumPy's per-call overhead dominates
# Under a time limit the clock is read between chunks of at most this many configurations (tens of ms
# each here), which bounds how far a call runs past its limit.
TIMED_CHUNK = 1 << 16


def _chunks(N: int, M: int, L: int, chunk: int):
    """(P, A) int64 arrays of at most `chunk` configurations (or one P's placements when they are more),
    in canonical order (P-major, then A), generated lazily: never all combinations at once."""
    n_perm = perm(M, L)
    combos = combinations(range(1, N + 1), L)
    if n_perm <= chunk:
        As = np.array(list(permutations(range(M), L)), dtype=np.int64).reshape(-1, L)
        step = max(1, chunk // n_perm)
        while len(Ps := np.array(list(islice(combos, step)), dtype=np.int64).reshape(-1, L)):
            yield np.repeat(Ps, n_perm, axis=0), np.tile(As, (len(Ps), 1))
        return
    for P in combos:
        perms = permutations(range(M), L)
        while len(As := np.array(list(islice(perms, chunk)), dtype=np.int64).reshape(-1, L)):
            yield np.repeat(np.array([P], dtype=np.int64), len(As), axis=0), As


def _empty(lmax: int) -> dict:
    return {"latency": np.zeros(0), "accuracy": np.zeros(0), "threshold_index": np.zeros(0, np.int32),
            "num_partitions": np.zeros(0, np.int32), "partitions": np.zeros((0, lmax), np.int32),
            "placement": np.zeros((0, lmax), np.int32)}


def sweep(tables: CostTables, max_latency=np.inf, min_accuracy=-np.inf, max_rows=_core.DEFAULT_MAX_ROWS, chunk=1 << 20,
          time_limit=np.inf, quantile=None, threads=0, max_energy=np.inf, energy=None):
    """Every configuration (docs/model.md) in canonical order (t, then L, then P, then A, each lexicographic),
    keeping rows with latency <= max_latency and accuracy >= min_accuracy, and with `energy` tables an
    energy column, keeping rows with energy <= max_energy.

    Memory: the kept rows are held in their final dtypes and joined column by column, and the chunk of
    configurations evaluated at once shrinks to a quarter of the cap (max_rows rows), so that the peak
    stays within 1.5x the cap, plus MIN_CHUNK configurations' temporaries.

    `time_limit` (seconds; inf or None: none): past it, TimeoutError. The clock is read between chunks
    (of at most TIMED_CHUNK configurations under a limit), so a call overruns its limit by one chunk.

    With `quantile` = q, the latency column (and max_latency) is the q-quantile of the latency.

    Parameters
    ----------
    tables : CostTables
        The model in engine form.
    max_latency, min_accuracy : float
        The bounds (inf, -inf: none).
    max_rows : int
        More kept rows than this: ValueError.
    chunk : int
        Configurations evaluated at once (at most).
    time_limit : float
        Seconds (inf or None: none); TimeoutError past it.
    quantile : float, optional
        As for `evaluate`.
    threads : int
        As for `evaluate` (ignored).
    max_energy : float
        Keep rows of at most this energy (J; inf: none); anything else needs `energy`.
    energy : EnergyTables, optional
        The energy tables: the rows have an energy column (evaluate_energy).

    Returns
    -------
    dict
        The columns of the Backend Protocol's `sweep` (and "energy" with `energy`).
    """
    if energy is None and max_energy != np.inf:
        raise ValueError(f"max_energy = {max_energy}: needs energy tables (energy=)")
    return _sweep(tables, max_latency, min_accuracy, max_rows, chunk, check_time_limit(time_limit), "sweep",
                  None if quantile is None else check_quantile(quantile), max_energy, energy)


def _sweep(tables, max_latency, min_accuracy, max_rows, chunk, time_limit: float, what: str, quantile=None,
           max_energy=np.inf, energy=None):
    deadline = time.monotonic() + time_limit
    if time_limit < np.inf:
        chunk = min(chunk, TIMED_CHUNK)
    N, M, K = tables.N, tables.M, tables.K
    lmax = min(M, N)
    cap_bytes = min(max_rows, _core.DEFAULT_MAX_ROWS) * row_bytes(N, M)
    parts = []
    kept = 0
    for t in range(K):
        for L in range(1, lmax + 1):
            step = max(MIN_CHUNK, min(chunk, cap_bytes // (4 * _chunk_bytes(N, L))))
            for P, A in _chunks(N, M, L, step):
                if time.monotonic() > deadline:
                    raise timed_out(what, time_limit)
                n = len(P)
                lat, acc, *joules = evaluate(tables, np.full(n, t), np.full(n, L), P, A, quantile=quantile,
                                             energy=energy)
                keep = (lat <= max_latency) & (acc >= min_accuracy)
                if joules:
                    keep &= joules[0] <= max_energy
                k = int(keep.sum())
                kept += k
                if kept > max_rows:
                    raise RowLimitError(max_rows, count_configurations(N, M, K))
                if k:
                    Pk = np.full((k, lmax), -1, np.int32)
                    Ak = np.full((k, lmax), -1, np.int32)
                    Pk[:, :L] = P[keep]
                    Ak[:, :L] = A[keep]
                    parts.append({"latency": lat[keep], "accuracy": acc[keep],
                                  "threshold_index": np.full(k, t, np.int32), "num_partitions": np.full(k, L, np.int32),
                                  "partitions": Pk, "placement": Ak, **({"energy": joules[0][keep]} if joules else {})})
                del P, A, lat, acc, keep, joules
    columns = COLUMNS if energy is None else (*COLUMNS, "energy")
    if not parts:
        return {**_empty(lmax), "energy": np.zeros(0)} if energy is not None else _empty(lmax)
    out = {}
    for key in columns:  # one column at a time, freeing its parts: never two copies of every row
        out[key] = np.concatenate([p.pop(key) for p in parts])
    return out


# Bytes per swept row that frontier_indices holds besides the rows (sort keys, order, running maximum,
# masks): 25 measured with tracemalloc on 203,448 rows; the pareto's whole peak is checked in
# tests/test_time_limit.py.
FRONTIER_BYTES = 48


def rows_in_memory(max_memory, N: int, M: int) -> int:
    """The swept rows that max_memory bytes (checked as the engines check it) hold with the frontier's work
    on them: the one rule of every pareto by sweep."""
    return _core.check_max_memory(max_memory) // (row_bytes(N, M) + FRONTIER_BYTES)


def pareto(tables: CostTables, min_accuracy=-np.inf, max_latency=np.inf, max_memory=_core.DEFAULT_MAX_MEMORY,
           time_limit=np.inf, quantile=None, threads=0, max_energy=np.inf, objectives=2, energy=None):
    """The frontier (docs/model.md) of the configurations meeting the bounds, by sweep: exact and slow.

    `max_memory` caps the bytes of the swept rows together with the frontier's work on them, so that the
    peak stays within 1.5x max_memory (the sweep's factor) plus MIN_CHUNK configurations' temporaries.
    `time_limit` as for sweep; the frontier of the kept rows is taken after the last check, unchecked
    (about 0.4 s per million rows). With `quantile` = q, the frontier of (q-quantile latency, accuracy).

    Parameters
    ----------
    tables : CostTables
        The model in engine form.
    min_accuracy, max_latency : float
        The bounds (-inf, inf: none).
    max_memory : int
        Bytes, as above; a sweep that would need more: ValueError.
    time_limit : float
        As for `sweep`.
    quantile : float, optional
        As for `evaluate`.
    threads : int
        As for `evaluate` (ignored).
    max_energy : float
        Keep plans of at most this energy (J; inf: none); anything else needs `energy`.
    objectives : {2, 3}
        2: the frontier of (latency, accuracy); 3: of (latency, accuracy, energy) (frontier3_indices),
        which needs `energy`.
    energy : EnergyTables, optional
        The energy tables: the rows then have an energy column.

    Returns
    -------
    dict
        The frontier's rows, latency rising, as `sweep`'s columns (and "energy" with `energy`).
    """
    time_limit = check_time_limit(time_limit)
    quantile = None if quantile is None else check_quantile(quantile)
    if objectives not in (2, 3) or isinstance(objectives, bool):
        raise ValueError(f"objectives = {objectives!r}: must be 2 (latency, accuracy) or 3 (latency, accuracy, "
                         "energy)")
    if objectives == 3 or max_energy != np.inf:
        _need_energy("the 3-objective frontier" if objectives == 3 else "max_energy", quantile, energy)
    rows = _rows_in_bounds(tables, "pareto", min_accuracy, max_latency, max_memory, time_limit, quantile, max_energy,
                           energy)
    if objectives == 3:
        idx = frontier3_indices(rows["latency"], rows["accuracy"], rows["energy"])
    else:
        idx = frontier_indices(rows["latency"], rows["accuracy"])
    if quantile is not None:
        idx = least_mean_ties(tables, rows, idx)
    return {k: v[idx] for k, v in rows.items()}


def min_energy(tables: CostTables, min_accuracy=-np.inf, max_latency=np.inf, max_memory=_core.DEFAULT_MAX_MEMORY,
               time_limit=np.inf, threads=0, energy=None):
    """The plan of least energy meeting the bounds, by sweep: the first point of the frontier of (energy,
    accuracy) (frontier_indices) of the configurations with accuracy >= min_accuracy and mean latency <=
    max_latency, as min_latency is the first of (latency, accuracy)'s (docs/model.md "Energy").

    Parameters
    ----------
    tables : CostTables
        The model in engine form.
    min_accuracy, max_latency : float
        The bounds (-inf, inf: none).
    max_memory, time_limit, threads
        As for `pareto`.
    energy : EnergyTables
        The energy tables (required).

    Returns
    -------
    dict
        `pareto`'s columns with "energy": one row, or none when no plan meets the bounds.
    """
    time_limit = check_time_limit(time_limit)
    _need_energy("min_energy", None, energy)
    rows = _rows_in_bounds(tables, "min_energy", min_accuracy, max_latency, max_memory, time_limit, energy=energy)
    idx = frontier_indices(rows["energy"], rows["accuracy"])[:1]
    return {k: v[idx] for k, v in rows.items()}


def _rows_in_bounds(tables, what: str, min_accuracy, max_latency, max_memory, time_limit: float, quantile=None,
                    max_energy=np.inf, energy=None) -> dict:
    """The swept rows a frontier is taken from: max_memory caps them with the frontier's work on them, and
    `time_limit` (checked) covers the sweep."""
    start = time.monotonic()
    rows = _sweep(tables, max_latency, min_accuracy, rows_in_memory(max_memory, tables.N, tables.M), 1 << 20,
                  time_limit, what, quantile, max_energy, energy)
    if time.monotonic() - start > time_limit:
        raise timed_out(what, time_limit)
    return rows


def _need_energy(goal: str, quantile, energy) -> None:
    """The energy search's rules, with the compiled search's messages."""
    if energy is None:
        raise ValueError(f"{goal}: the tables carry no energy tables (give energy= with them)")
    if quantile is not None:
        raise ValueError(f"quantile = {quantile}: {goal} takes the mean latency only (the quantile search carries "
                         "no energy)")


def least_mean_ties(tables: CostTables, rows: dict, idx, backend_evaluate=None) -> np.ndarray:
    """`idx` (frontier rows of a quantile's sweep, frontier_indices) with each point's row replaced by the
    one of least mean latency among the rows reaching that point exactly, then the first: the frontier's
    tie rule for a quantile (docs/model.md). Only the rows tied with a frontier point are evaluated, by
    `backend_evaluate` (a backend's evaluate; the reference's by default)."""
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size == 0:
        return idx
    key = rows["latency"].astype(np.complex128)
    key.imag = rows["accuracy"]
    cand = np.flatnonzero(np.isin(key, key[idx]))
    if cand.size == idx.size:  # no ties: every point reached by one row
        return idx
    mean = (backend_evaluate or evaluate)(tables, *(np.asarray(rows[k])[cand] for k in (
        "threshold_index", "num_partitions", "partitions", "placement")))[0]
    point = {k: j for j, k in enumerate(key[idx].tolist())}
    best = {}
    for r, m in zip(cand.tolist(), np.asarray(mean).tolist()):  # rows in order: the first wins ties of the mean
        j = point[key[r]]
        if j not in best or m < best[j][0]:
            best[j] = (m, r)
    return np.array([best[j][1] for j in range(idx.size)], dtype=np.int64)


def evaluate_energy(energy, cum_exit, threshold_index, num_partitions, partitions, placement):
    """Joules per sample of each configuration (docs/model.md "Energy"): the latency's formula, term for term
    and in its order, on the energy tables.

    Parameters
    ----------
    energy : EnergyTables
        The energy model in engine form (model.energy.energy_tables).
    cum_exit : array_like, shape (K, N+1)
        The cost tables' cum_exit: the shares that weight the steps.
    threshold_index, num_partitions, partitions, placement : array_like of int
        The configurations, packed as for `evaluate`.

    Returns
    -------
    numpy.ndarray
        float64, shape (n,).
    """
    cum_exit = np.asarray(cum_exit, dtype=np.float64)
    as_costs = CostTables(*energy, cum_exit, np.zeros(energy.forward_energy.shape[0]))
    return evaluate(as_costs, threshold_index, num_partitions, partitions, placement)[0]


def every_configuration_energy(tables: CostTables, energy) -> dict:
    """Brute force for tests: every configuration in canonical order with its latency, accuracy and energy
    columns (the sweep's columns and "energy").

    Parameters
    ----------
    tables : CostTables
        The model in engine form.
    energy : EnergyTables
        Its energy tables (same M and N).

    Returns
    -------
    dict
        The sweep's columns and "energy", float64.
    """
    return sweep(tables, energy=energy)
