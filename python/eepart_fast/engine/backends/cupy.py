"""The `cupy` backend: evaluate and sweep on a GPU through CuPy, for installs built without nvcc.

The kernels are the compiled engine's own (cpp/cuda/kernels/kernels.cuh, installed as eepart_fast/cuda/kernels.cuh),
compiled by NVRTC at first use and cached by CuPy; the host side below follows cpp/cuda/host/cuda_sweep.cpp,
with the same plan of items and chunks (_core.plan_sweep: core/sweep_plan.hpp, one copy for both).
So rows, their order and every bit of their latency and accuracy (and energy, with energy tables: energy=
or carried by a Tables object, checked by the compiled engine's rules) are those of the `cpu` and `cuda`
backends. `pareto` has no search here: it sweeps (bounds applied on the device) and cuts each window of
rows to its own staircase on the device, which is exact, but limited to MAX_PARETO_CONFIGS configurations;
with a quantile it is the sweep bounded a priori and frontier_indices (_pareto_by_sweep), as for `cuda`.
`quantile` (None: the mean) is checked before CuPy is touched, with the compiled modules' errors.
CuPy is optional (`pip install eepart_fast[cupy]`) and imported only when this backend is used.
"""
from __future__ import annotations

import operator
import time
from importlib import resources

import numpy as np

import eepart_fast._core as _core  # by name: `from ... import` reads as importing the whole package

from ..._checks import timed_out
from ...errors import RowLimitError
from ...model.configs import count_configurations
from ...model.quantile import QUANTILE_SLACK, check_quantile
from .._pareto_by_sweep import pareto_by_sweep
from ..frontier import frontier_indices
from ._no_energy import refuse_energy

MAX_PARETO_CONFIGS = 1 << 36
COLUMNS = ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement")
COST_TABLES = ("input_cost", "compute_cost", "forward_cost", "result_cost", "cum_exit", "accuracy")

_state: dict = {}


def _check_call(threads, time_limit) -> float:
    """threads and time_limit checked as the compiled modules check them; the call's deadline."""
    if isinstance(threads, bool):
        raise TypeError(f"threads: expected an integer, got {threads!r}")
    try:
        threads = operator.index(threads)
    except TypeError:
        raise TypeError(f"threads: expected an integer, got {threads!r}") from None
    if not 0 <= threads <= _core.MAX_THREADS:
        raise ValueError(f"threads = {threads}: must be in 0..{_core.MAX_THREADS} (0: one per core)")
    if isinstance(time_limit, (bool, str)) or not float(time_limit) > 0:
        raise ValueError(f"time_limit = {time_limit}: must be > 0 seconds (inf: none)")
    return time.monotonic() + float(time_limit)


def _check_deadline(deadline: float, what: str, time_limit) -> None:
    if time.monotonic() > deadline:
        raise timed_out(what, time_limit)


def _quantile_args(quantile) -> tuple:
    """The kernels' (quantile, theta): 0 for the mean, else q and q less the slack, as the `cuda` host
    code forms them (core/quantile.hpp's quantile_theta)."""
    q = 0.0 if quantile is None else check_quantile(quantile)
    return np.float64(q), np.float64(q - QUANTILE_SLACK)


def _cupy():
    import cupy  # noqa: PLC0415 - optional, imported on first use only
    return cupy


def available():
    """(True, 'available: <device>') or (False, why not): CuPy missing, or no device."""
    try:
        cp = _cupy()
    except Exception as exc:  # ImportError, or a CuPy that fails to load its CUDA libraries
        return False, f"CuPy missing or broken ({type(exc).__name__}: {exc}); pip install eepart_fast[cupy]"
    try:
        n = cp.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return False, f"no CUDA device visible to CuPy ({exc})"
    if n == 0:
        return False, "no CUDA device visible to CuPy"
    return True, f"available: {device_name()}"


def device_name() -> str:
    cp = _cupy()
    name = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def _kernel(name: str):
    """A kernel of kernels.cuh; each sweep instantiation is compiled the first time it is needed."""
    if name not in _state:
        cp = _cupy()
        if "source" not in _state:
            _state["source"] = (resources.files("eepart_fast") / "cuda" / "kernels.cuh").read_text()
        templated = "<" in name  # extern "C" kernels are found by name; templates need their expression
        module = cp.RawModule(code=_state["source"], options=("--std=c++17",),
                              name_expressions=[name] if templated else None)
        _state[name] = module.get_function(name)
    return _state[name]


def _sweep_kernel(L: int, write: bool, energy: bool):
    lc = L if L <= 8 else 16
    return _kernel(f"eep_sweep<{lc}, {int(write)}, {int(energy)}>")


def _with_energy(tables, energy):
    """The call's tables with their energy tables, built and checked as the compiled engine builds them (its
    rules, its errors), when the call asks for energy (energy=, or a Tables object that carries them);
    else None."""
    if energy is None:
        if not getattr(tables, "has_energy", False):
            return None
        energy = tables  # its energy tables, read by name
    return _core.Tables(*(getattr(tables, name) for name in COST_TABLES), energy=energy)


def _device_tables(tables, names=COST_TABLES[:4]):
    """The tables on the device in the kernels' layout (kernels.cuh); `names`: the four tables in the cost
    tables' places (the energy tables for the energy's launches)."""
    cp = _cupy()
    input_, compute, forward, result = (getattr(tables, name) for name in names)
    compT = np.ascontiguousarray(np.transpose(compute, (1, 2, 0)))  # [p][q][a]
    accuracy = np.broadcast_to(tables.accuracy, (tables.K, tables.N))  # a row per threshold, as the kernels read it
    return tuple(cp.asarray(np.ascontiguousarray(a, dtype=np.float64)) for a in
                 (input_, compT, forward, result, tables.cum_exit, accuracy))


def _device_energy(joules):
    """The energy tables on the device (the first four of _device_tables' in their layout)."""
    return _device_tables(joules, ("input_energy", "compute_energy", "forward_energy", "result_energy"))[:4]


def evaluate(tables, threshold_index, num_partitions, partitions, placement, threads=0, quantile=None,
             chunk=1 << 22, energy=None):
    q_args = _quantile_args(quantile)
    joules = _with_energy(tables, energy)
    cp = _cupy()
    dt = _device_tables(tables)
    n = len(threshold_index)
    width = np.asarray(partitions).shape[1]
    lat, acc = np.empty(n), np.empty(n)
    spent = None if joules is None else np.empty(n)
    de = None if joules is None else _device_energy(joules) + dt[4:]  # the energy tables in the cost tables' places
    kernel = _kernel("eep_evaluate")
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        args = [cp.asarray(np.ascontiguousarray(a[s:e], dtype=np.int64))
                for a in (threshold_index, num_partitions, partitions, placement)]
        out_l, out_a = cp.empty(e - s), cp.empty(e - s)
        shape = (np.int32(tables.N), np.int32(tables.M), np.uint64(e - s), np.int32(width))
        kernel(((e - s + 255) // 256,), (256,), (*dt, *shape, *args, *q_args, out_l, out_a))
        lat[s:e], acc[s:e] = out_l.get(), out_a.get()
        if de is not None:  # the mean's form on the energy tables, whatever the quantile (as the cuda host)
            out_e = cp.empty(e - s)
            # The accuracy is written again, the same bits (kernels.cuh, eep_evaluate).
            kernel(((e - s + 255) // 256,), (256,), (*de, *shape, *args, np.float64(0), np.float64(0), out_e, out_a))
            spent[s:e] = out_e.get()
    return (lat, acc) if joules is None else (lat, acc, spent)


def _check_max_energy(max_energy, joules) -> np.float64:
    """max_energy as the compiled sweep checks it: a number, never nan, and only with energy tables unless inf."""
    if isinstance(max_energy, (bool, str)):
        raise TypeError(f"max_energy: expected a number, got {max_energy!r}")
    value = np.float64(max_energy)
    if np.isnan(value):
        raise ValueError("max_energy = nan: must be a number (or +-inf)")
    if value != np.inf and joules is None:
        raise ValueError("max_energy: the tables carry no energy tables (give energy= with them)")
    return value


def _windows(tables, max_latency, min_accuracy, max_rows, chunk_items, window_rows, table_limit, stop=None,
             quantile=None, joules=None, max_energy=np.inf):
    """Yields the kept rows, in canonical order, as dicts of CuPy arrays of at most window_rows rows, with
    the energy column when `joules` (_with_energy's tables) is given, rows kept at most max_energy.
    `stop()`, called between chunks, raises to end the sweep (the time limit)."""
    q_args = _quantile_args(quantile)
    cp = _cupy()
    N, M, K = tables.N, tables.M, tables.K
    Lmax = min(N, M)
    plan = _core.plan_sweep(N, M, K, chunk_items, table_limit)
    total = plan["total"]
    dt = _device_tables(tables)
    with_energy = joules is not None
    # The energy launches' arguments; the latency-only kernels never read them (dt's in their places).
    energy_args = (*(_device_energy(joules) if with_energy else dt[:4]), np.float64(max_energy))
    binom = cp.asarray(plan["binom"])
    codes = cp.asarray(plan["codes"]) if len(plan["codes"]) else cp.zeros(1, dtype=np.uint64)
    radix = cp.asarray(plan["radix"])
    # Per L, its placement table and radix as offsets into the plan's arrays (views: no copies).
    segments = plan["segments"]
    dev_codes = {int(s[0]): codes[int(s[6]):] if s[6] >= 0 else codes for s in segments}
    dev_radix = {int(s[0]): radix[int(s[7]):] for s in segments}
    ip_all, grid_y, first = plan["ip"], plan["grid_y"], plan["chunk_first"]
    kept_so_far = 0
    for k, items in enumerate(plan["chunk_items"].tolist()):
        if stop is not None:
            stop()
        ip = ip_all[first[k]:first[k + 1]]
        # (L, w0, w1, thresholds) of each launch: EEP_IP_L, EEP_IP_W0, EEP_IP_W1 of its descriptor, and grid y.
        launches = [(int(row[3]), int(row[9]), int(row[10]), int(nt))
                    for row, nt in zip(ip, grid_y[first[k]:first[k + 1]])]
        d_ip = cp.asarray(ip)
        counts = cp.empty(items, dtype=np.uint64)

        def run(write, lo=0, hi=0, out=None, counts=counts, offsets=None, d_ip=d_ip, launches=launches):
            dummy_f, dummy_i = cp.empty(1), cp.empty(1, dtype=np.int32)
            o = out or {"latency": dummy_f, "accuracy": dummy_f, "threshold_index": dummy_i,
                        "num_partitions": dummy_i, "partitions": dummy_i, "placement": dummy_i, "energy": dummy_f}
            for i, (L, w0, w1, nt) in enumerate(launches):
                gx = -(-(w1 - w0) // _core.SWEEP_BLOCK_WARPS)
                _sweep_kernel(L, write, with_energy)(
                    (gx, nt), (_core.SWEEP_BLOCK_WARPS * 32,),
                    (*dt, binom, dev_codes[L], dev_radix[L], d_ip[i], np.float64(max_latency), np.float64(min_accuracy),
                     *q_args, counts, offsets if offsets is not None else counts, np.uint64(lo), np.uint64(hi),
                     *(o[c] for c in COLUMNS), *energy_args, o.get("energy", dummy_f)))

        run(False)
        offsets = cp.cumsum(counts) - counts
        kept = int(offsets[-1].get() + counts[-1].get())
        if kept > max_rows - kept_so_far:
            raise RowLimitError(max_rows, total)
        kept_so_far += kept
        for lo in range(0, kept, window_rows):
            hi = min(kept, lo + window_rows)
            n = hi - lo
            out = {"latency": cp.empty(n), "accuracy": cp.empty(n),
                   "threshold_index": cp.empty(n, dtype=np.int32), "num_partitions": cp.empty(n, dtype=np.int32),
                   "partitions": cp.empty((n, Lmax), dtype=np.int32), "placement": cp.empty((n, Lmax), dtype=np.int32)}
            if with_energy:
                out["energy"] = cp.empty(n)
            run(True, lo, hi, out, offsets=offsets)
            yield out


def _empty(Lmax: int, with_energy: bool = False) -> dict:
    rows = {"latency": np.zeros(0), "accuracy": np.zeros(0), "threshold_index": np.zeros(0, np.int32),
            "num_partitions": np.zeros(0, np.int32), "partitions": np.zeros((0, Lmax), np.int32),
            "placement": np.zeros((0, Lmax), np.int32)}
    if with_energy:
        rows["energy"] = np.zeros(0)
    return rows


def _concat(parts: list, Lmax: int, with_energy: bool = False) -> dict:
    if not parts:
        return _empty(Lmax, with_energy)
    return {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}


def sweep(tables, max_latency=np.inf, min_accuracy=-np.inf, max_rows=_core.DEFAULT_MAX_ROWS, threads=0,
          time_limit=np.inf, quantile=None, chunk_items=_core.SWEEP_CHUNK_ITEMS, window_rows=_core.SWEEP_WINDOW_ROWS,
          table_limit=_core.SWEEP_MAX_CODES, max_energy=np.inf, energy=None):
    _quantile_args(quantile)
    joules = _with_energy(tables, energy)
    max_energy = _check_max_energy(max_energy, joules)
    deadline = _check_call(threads, time_limit)
    stop = lambda: _check_deadline(deadline, "sweep", time_limit)
    parts = [{c: v.get() for c, v in w.items()}
             for w in _windows(tables, max_latency, min_accuracy, max_rows, chunk_items, window_rows, table_limit,
                               stop, quantile, joules, max_energy)]
    return _concat(parts, min(tables.N, tables.M), joules is not None)


def _running_max(x):
    cp = _cupy()
    try:
        return cp.maximum.accumulate(x)
    except (AttributeError, NotImplementedError, TypeError):  # older CuPy: one column through the host
        return cp.asarray(np.maximum.accumulate(x.get()))


def pareto(tables, min_accuracy=-np.inf, max_latency=np.inf, threads=0, max_memory=None, time_limit=np.inf,
           quantile=None, chunk_items=_core.SWEEP_CHUNK_ITEMS, window_rows=_core.SWEEP_WINDOW_ROWS,
           max_configs=MAX_PARETO_CONFIGS, max_energy=np.inf, objectives=2, energy=None):
    """The model's frontier by sweep: each window of rows is cut on the device to the rows more accurate than every
    faster row of the window (first of equal rows kept), then frontier_indices runs on what is left.
    Its memory is bounded by the window and chunk sizes, whatever `max_memory` says (accepted so that every
    backend takes the same arguments). With `quantile`: this backend's sweep bounded a priori by the most
    accurate single-partition plan, then frontier_indices (_pareto_by_sweep); max_memory caps its rows.
    Energy refused (docs/backends.md)."""
    refuse_energy("cupy", tables, energy, max_energy, objectives)
    _quantile_args(quantile)
    cp = _cupy()
    deadline = _check_call(threads, time_limit)
    total = count_configurations(tables.N, tables.M, tables.K)
    if total > max_configs:
        raise ValueError(f"pareto on backend 'cupy' sweeps every configuration, and N = {tables.N}, M = {tables.M}, "
                         f"K = {tables.K} give {total} > {max_configs}; use backend='cuda' or 'cpu', whose exact "
                         "search does not enumerate them")
    if quantile is not None:
        return pareto_by_sweep(sweep, evaluate, tables, min_accuracy, max_latency, quantile, max_memory=max_memory,
                               threads=threads, time_limit=time_limit, chunk_items=chunk_items,
                               window_rows=window_rows)
    parts = []
    stop = lambda: _check_deadline(deadline, "pareto", time_limit)
    for w in _windows(tables, max_latency, min_accuracy, _core.DEFAULT_MAX_ROWS, chunk_items, window_rows,
                      _core.SWEEP_MAX_CODES, stop):
        lat, acc = w["latency"], w["accuracy"]
        order = cp.lexsort(cp.stack((-acc, lat)))  # latency rising, accuracy falling, canonical order last
        best = _running_max(acc[order])
        keep = cp.concatenate((cp.ones(1, dtype=bool), acc[order][1:] > best[:-1]))
        idx = cp.sort(order[keep])  # back in canonical order, so that frontier_indices keeps the first of equals
        parts.append({c: w[c][idx].get() for c in COLUMNS})
    rows = _concat(parts, min(tables.N, tables.M))
    idx = frontier_indices(rows["latency"], rows["accuracy"])
    return {c: v[idx] for c, v in rows.items()}


def min_energy(tables, *args, energy=None, **kwargs):
    """Refused: this backend's sweep carries no energy (docs/backends.md)."""
    refuse_energy("cupy", tables, energy, objectives=1)
