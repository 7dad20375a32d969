"""The `cupy` backend: evaluate and sweep on a GPU through CuPy, for installs built without nvcc.

The kernels are the compiled engine's own (cpp/cuda/kernels/kernels.cuh, installed as eepart_fast/cuda/kernels.cuh),
compiled by NVRTC at first use and cached by CuPy; the host side below mirrors cpp/cuda/host/cuda_sweep.cpp.
So rows, their order and every bit of their latency and accuracy are those of the `cpu` and `cuda`
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
from math import comb, perm

import numpy as np

from ..._checks import timed_out
from .._pareto_by_sweep import pareto_by_sweep
from ...model.configs import count_configurations
from ..frontier import frontier_indices
from ...model.quantile import QUANTILE_SLACK, check_quantile

SPLIT = 2048            # EEP_SPLIT of kernels.cuh: placements per warp item when a P has more
MAX_CODES = 1 << 16     # placements of one L tabulated at most; beyond, unranked in the kernel
CHUNK_ITEMS = 1 << 20   # warp items per chunk: bounds device memory, and Ctrl-C is seen between chunks
WINDOW_ROWS = 1 << 23   # rows written to the device per window
MAX_TOTAL = 1 << 63
MAX_PARETO_CONFIGS = 1 << 36
IP_SIZE = 16            # EEP_IP_SIZE
WARPS_PER_BLOCK = 8
COLUMNS = ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement")

_state: dict = {}
MAX_THREADS = 1024      # as the compiled modules: threads is checked alike everywhere (the device needs none)


def _check_call(threads, time_limit) -> float:
    """threads and time_limit checked as the compiled modules check them; the call's deadline."""
    if isinstance(threads, bool):
        raise TypeError(f"threads: expected an integer, got {threads!r}")
    try:
        threads = operator.index(threads)
    except TypeError:
        raise TypeError(f"threads: expected an integer, got {threads!r}") from None
    if not 0 <= threads <= MAX_THREADS:
        raise ValueError(f"threads = {threads}: must be in 0..{MAX_THREADS} (0: one per core)")
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


def _sweep_kernel(L: int, write: bool):
    lc = L if L <= 8 else 16
    return _kernel(f"eep_sweep<{lc}, {1 if write else 0}>")


def _device_tables(tables):
    cp = _cupy()
    compT = np.ascontiguousarray(np.transpose(tables.compute_cost, (1, 2, 0)))  # [p][q][a]
    accuracy = np.broadcast_to(tables.accuracy, (tables.K, tables.N))  # a row per threshold, as the kernels read it
    return tuple(cp.asarray(np.ascontiguousarray(a, dtype=np.float64)) for a in
                 (tables.input_cost, compT, tables.forward_cost, tables.result_cost, tables.cum_exit, accuracy))


def evaluate(tables, threshold_index, num_partitions, partitions, placement, threads=0, quantile=None,
             chunk=1 << 22):
    q_args = _quantile_args(quantile)
    cp = _cupy()
    dt = _device_tables(tables)
    n = len(threshold_index)
    width = np.asarray(partitions).shape[1]
    lat, acc = np.empty(n), np.empty(n)
    kernel = _kernel("eep_evaluate")
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        args = [cp.asarray(np.ascontiguousarray(a[s:e], dtype=np.int64))
                for a in (threshold_index, num_partitions, partitions, placement)]
        out_l, out_a = cp.empty(e - s), cp.empty(e - s)
        kernel(((e - s + 255) // 256,), (256,), (*dt, np.int32(tables.N), np.int32(tables.M), np.uint64(e - s),
                                                np.int32(width), *args, *q_args, out_l, out_a))
        lat[s:e], acc[s:e] = out_l.get(), out_a.get()
    return lat, acc


def _placements(M: int, L: int) -> list:
    """4-bit codes of the L-permutations of range(M), in itertools.permutations order."""
    from itertools import permutations
    return [sum(a << (4 * k) for k, a in enumerate(p)) for p in permutations(range(M), L)]


def _segments(N: int, M: int, Lmax: int, table_limit: int):
    """Per L: (L, nperm, ncomb, W, splits, items, codes or None, radix, offset), as cuda_sweep.cpp plans them."""
    segs, per_t = [], 0
    for L in range(1, Lmax + 1):
        nperm, ncomb = perm(M, L), comb(N, L)
        if nperm <= 16:
            g = 1
            while g < nperm:
                g <<= 1
            W, splits = 64 * (32 // g), 1
        elif nperm <= SPLIT:
            W, splits = max(1, SPLIT // nperm), 1
        else:
            W, splits = 1, -(-nperm // SPLIT)
        items = -(-ncomb // W) * splits
        codes = np.array(_placements(M, L), dtype=np.uint64) if nperm <= table_limit else None
        radix = np.array([perm(M - k - 1, L - k - 1) for k in range(L)], dtype=np.uint64)
        segs.append((L, nperm, ncomb, W, splits, items, codes, radix, per_t))
        per_t += items
    return segs, per_t


def _chunks(segs, K: int, per_t: int, cap: int):
    """Launches (L, t0, nt, w0, w1, cbase, cstride) per chunk, in canonical order."""
    if per_t <= cap:
        tc = min(cap // per_t, 65535)
        for t0 in range(0, K, tc):
            nt = min(tc, K - t0)
            yield [(s[0], t0, nt, 0, s[5], s[8], per_t) for s in segs if s[5]], per_t * nt
        return
    launches, items = [], 0
    for t in range(K):
        for s in segs:
            for w0 in range(0, s[5], cap):
                w1 = min(s[5], w0 + cap)
                if items + (w1 - w0) > cap:
                    yield launches, items
                    launches, items = [], 0
                launches.append((s[0], t, 1, w0, w1, items, 0))
                items += w1 - w0
    if items:
        yield launches, items


def _windows(tables, max_latency, min_accuracy, max_rows, chunk_items, window_rows, table_limit, stop=None,
             quantile=None):
    """Yields the kept rows, in canonical order, as dicts of CuPy arrays of at most window_rows rows.
    `stop()`, called between chunks, raises to end the sweep (the time limit)."""
    q_args = _quantile_args(quantile)
    cp = _cupy()
    N, M, K = tables.N, tables.M, tables.K
    Lmax = min(N, M)
    total = count_configurations(N, M, K)
    if total > MAX_TOTAL:
        raise ValueError(f"sweep: N = {N}, M = {M}, K = {K} give more than 2^63 configurations, too many to enumerate")
    segs, per_t = _segments(N, M, Lmax, table_limit)
    dt = _device_tables(tables)
    binom = cp.asarray(np.array([[min(comb(n, k), MAX_TOTAL) for k in range(Lmax + 1)] for n in range(N + 1)],
                                dtype=np.uint64))
    dev_codes = {s[0]: cp.asarray(s[6]) if s[6] is not None else cp.zeros(1, dtype=np.uint64) for s in segs}
    dev_radix = {s[0]: cp.asarray(s[7]) for s in segs}
    by_L = {s[0]: s for s in segs}
    kept_so_far = 0
    for launches, items in _chunks(segs, K, per_t, chunk_items):
        if stop is not None:
            stop()
        ip = np.zeros((len(launches), IP_SIZE), dtype=np.int64)
        for i, (L, t0, nt, w0, w1, cbase, cstride) in enumerate(launches):
            _, nperm, ncomb, W, splits, _, codes, _, _ = by_L[L]
            ip[i, :14] = (N, M, Lmax, L, nperm, W, splits, ncomb, t0, w0, w1, cbase, cstride, codes is not None)
        d_ip = cp.asarray(ip)
        counts = cp.empty(items, dtype=np.uint64)

        def run(write, lo=0, hi=0, out=None, counts=counts, offsets=None, d_ip=d_ip, launches=launches):
            dummy_f, dummy_i = cp.empty(1), cp.empty(1, dtype=np.int32)
            o = out or {"latency": dummy_f, "accuracy": dummy_f, "threshold_index": dummy_i,
                        "num_partitions": dummy_i, "partitions": dummy_i, "placement": dummy_i}
            for i, (L, t0, nt, w0, w1, *_rest) in enumerate(launches):
                gx = -(-(w1 - w0) // WARPS_PER_BLOCK)
                _sweep_kernel(L, write)(
                    (gx, nt), (WARPS_PER_BLOCK * 32,),
                    (*dt, binom, dev_codes[L], dev_radix[L], d_ip[i], np.float64(max_latency), np.float64(min_accuracy),
                     *q_args, counts, offsets if offsets is not None else counts, np.uint64(lo), np.uint64(hi),
                     *(o[c] for c in COLUMNS)))

        run(False)
        offsets = cp.cumsum(counts) - counts
        kept = int(offsets[-1].get() + counts[-1].get())
        if kept > max_rows - kept_so_far:
            raise ValueError(f"sweep would keep more than {max_rows} rows of {total} configurations: "
                             "tighten max_latency / min_accuracy or raise the memory cap")
        kept_so_far += kept
        for lo in range(0, kept, window_rows):
            hi = min(kept, lo + window_rows)
            n = hi - lo
            out = {"latency": cp.empty(n), "accuracy": cp.empty(n),
                   "threshold_index": cp.empty(n, dtype=np.int32), "num_partitions": cp.empty(n, dtype=np.int32),
                   "partitions": cp.empty((n, Lmax), dtype=np.int32), "placement": cp.empty((n, Lmax), dtype=np.int32)}
            run(True, lo, hi, out, offsets=offsets)
            yield out


def _empty(Lmax: int) -> dict:
    return {"latency": np.zeros(0), "accuracy": np.zeros(0), "threshold_index": np.zeros(0, np.int32),
            "num_partitions": np.zeros(0, np.int32), "partitions": np.zeros((0, Lmax), np.int32),
            "placement": np.zeros((0, Lmax), np.int32)}


def _concat(parts: list, Lmax: int) -> dict:
    if not parts:
        return _empty(Lmax)
    return {c: np.concatenate([p[c] for p in parts]) for c in COLUMNS}


def sweep(tables, max_latency=np.inf, min_accuracy=-np.inf, max_rows=2**62, threads=0, time_limit=np.inf,
          quantile=None, chunk_items=CHUNK_ITEMS, window_rows=WINDOW_ROWS, table_limit=MAX_CODES):
    _quantile_args(quantile)
    deadline = _check_call(threads, time_limit)
    stop = lambda: _check_deadline(deadline, "sweep", time_limit)
    parts = [{c: w[c].get() for c in COLUMNS}
             for w in _windows(tables, max_latency, min_accuracy, max_rows, chunk_items, window_rows, table_limit,
                               stop, quantile)]
    return _concat(parts, min(tables.N, tables.M))


def _running_max(x):
    cp = _cupy()
    try:
        return cp.maximum.accumulate(x)
    except (AttributeError, NotImplementedError, TypeError):  # older CuPy: one column through the host
        return cp.asarray(np.maximum.accumulate(x.get()))


def pareto(tables, min_accuracy=-np.inf, max_latency=np.inf, threads=0, max_memory=None, time_limit=np.inf,
           quantile=None, chunk_items=CHUNK_ITEMS, window_rows=WINDOW_ROWS, max_configs=MAX_PARETO_CONFIGS):
    """The model's frontier by sweep: each window of rows is cut on the device to the rows more accurate than every
    faster row of the window (first of equal rows kept), then frontier_indices runs on what is left.
    Its memory is bounded by the window and chunk sizes, whatever `max_memory` says (accepted so that every
    backend takes the same arguments). With `quantile`: this backend's sweep bounded a priori by the most
    accurate single-partition plan, then frontier_indices (_pareto_by_sweep); max_memory caps its rows."""
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
    for w in _windows(tables, max_latency, min_accuracy, 2**62, chunk_items, window_rows, MAX_CODES, stop):
        lat, acc = w["latency"], w["accuracy"]
        order = cp.lexsort(cp.stack((-acc, lat)))  # latency rising, accuracy falling, canonical order last
        best = _running_max(acc[order])
        keep = cp.concatenate((cp.ones(1, dtype=bool), acc[order][1:] > best[:-1]))
        idx = cp.sort(order[keep])  # back in canonical order, so that frontier_indices keeps the first of equals
        parts.append({c: w[c][idx].get() for c in COLUMNS})
    rows = _concat(parts, min(tables.N, tables.M))
    idx = frontier_indices(rows["latency"], rows["accuracy"])
    return {c: v[idx] for c, v in rows.items()}
