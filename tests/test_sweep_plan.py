"""The GPU sweep's plan (core/sweep_plan.hpp, _core.plan_sweep): the one copy of how cuda_sweep.cpp and the
CuPy backend cut the configurations into warp items and chunks. No GPU needed: the plan is host code.

Held here to what a plan must be, not to a second copy of its rules: every item of every (t, L) is in
exactly one chunk, in canonical order, each chunk within its cap of items; each item covers the
partitionings and placements it claims; and its tables against independent oracles (itertools'
permutations order, math.comb and math.perm). Also: the typed row-limit error every backend raises.
"""
import itertools
import os
import pickle
import re
from importlib import resources
from math import comb, perm

import numpy as np
import pytest

from eepart_fast import _core
from eepart_fast.engine import reference
from eepart_fast.errors import RowLimitError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_TOTAL = 2**63
COLUMNS = ("L", "nperm", "ncomb", "W", "splits", "items", "codes", "radix", "offset")


def check_plan(N, M, K, cap, table_limit):
    plan = _core.plan_sweep(N, M, K, cap, table_limit)
    Lmax = min(N, M)
    split, ip_size = _core.SWEEP_SPLIT, _core.SWEEP_IP_SIZE
    assert plan["total"] == K * sum(comb(N, L) * perm(M, L) for L in range(1, Lmax + 1))
    assert np.array_equal(plan["binom"], np.array([[min(comb(n, k), MAX_TOTAL) for k in range(Lmax + 1)]
                                                    for n in range(N + 1)], dtype=np.uint64))
    segs = [dict(zip(COLUMNS, map(int, row))) for row in plan["segments"]]
    assert [s["L"] for s in segs] == list(range(1, Lmax + 1))
    offset = 0
    for s in segs:
        L, nperm, W, splits = s["L"], s["nperm"], s["W"], s["splits"]
        assert nperm == perm(M, L) and s["ncomb"] == min(comb(N, L), MAX_TOTAL)
        # An item is W whole P's, or one P's run of at most `split` placements: together they cover all.
        assert W >= 1 and splits >= 1 and (W == 1 or splits == 1)
        assert (splits - 1) * split < nperm <= splits * split or (splits == 1 and nperm <= split)
        assert s["items"] == -(-s["ncomb"] // W) * splits and s["offset"] == offset
        offset += s["items"]
        radix = plan["radix"][s["radix"]:s["radix"] + L]
        assert radix.tolist() == [perm(M - k - 1, L - k - 1) for k in range(L)]
        if s["codes"] < 0:
            assert nperm > table_limit
        else:
            assert nperm <= table_limit
            codes = plan["codes"][s["codes"]:s["codes"] + nperm]
            decoded = [tuple((int(c) >> (4 * k)) & 15 for k in range(L)) for c in codes]
            assert decoded == list(itertools.permutations(range(M), L))
    per_t = plan["per_t"]
    assert per_t == offset

    ip, grid_y, first, items = plan["ip"], plan["grid_y"], plan["chunk_first"], plan["chunk_items"]
    assert ip.shape == (len(grid_y), ip_size) and first[0] == 0 and first[-1] == len(grid_y)
    assert np.all(np.diff(first) >= 1)
    by_L = {s["L"]: s for s in segs}
    start = 0  # the global index (t * per_t + item) the next chunk must begin at
    for k in range(len(items)):
        n = int(items[k])
        assert 1 <= n <= cap
        glob = np.full(n, -1, dtype=np.int64)
        for row, nt in zip(ip[first[k]:first[k + 1]], grid_y[first[k]:first[k + 1]]):
            L, t0, w0, w1, cbase, cstride = (int(row[i]) for i in (3, 8, 9, 10, 11, 12))
            s = by_L[L]
            assert tuple(row[:3]) == (N, M, Lmax) and not row[14:].any()
            assert tuple(row[4:8]) == (s["nperm"], s["W"], s["splits"], s["ncomb"])
            assert row[13] == (s["codes"] >= 0)
            assert 0 <= w0 < w1 <= s["items"] and 1 <= nt <= 65535 and 0 <= t0 and t0 + nt <= K
            for t in range(t0, t0 + int(nt)):
                local = cbase + (t - t0) * cstride + np.arange(w1 - w0)
                assert (glob[local] == -1).all(), "two launches count into one slot"
                glob[local] = t * per_t + s["offset"] + np.arange(w0, w1)
        # The chunk's counts are exactly the next n items, in canonical order.
        assert np.array_equal(glob, np.arange(start, start + n)), (N, M, K, cap, k)
        start += n
    assert start == K * per_t


CASES = [(N, M, K, cap, tl)
         for N in (1, 2, 3, 5, 8, 13)
         for M in (1, 2, 3, 4, 6)
         for K in (1, 3)
         for cap in (1, 3, 64, 1 << 20)
         for tl in (1, 24, 1 << 16)]
# Placements split over several items (M! / (M-L)! > SPLIT) and untabulated ones.
CASES += [(8, 8, 2, 7, 1 << 16), (8, 8, 2, 1 << 20, 100), (6, 16, 1, 1 << 20, 1 << 16), (9, 7, 2, 1000, 0)]


@pytest.mark.parametrize("N, M, K, cap, table_limit", CASES)
def test_plan_covers_every_configuration_once_in_order(N, M, K, cap, table_limit):
    check_plan(N, M, K, cap, table_limit or _core.SWEEP_MAX_CODES)


def test_plan_defaults_and_errors():
    plan = _core.plan_sweep(4, 3, 2)
    assert plan["chunk_items"].max() <= _core.SWEEP_CHUNK_ITEMS and (plan["segments"][:, 6] >= 0).all()
    # Whole thresholds share a chunk while they fit, never more than grid y holds.
    assert len(plan["chunk_items"]) == 1 and plan["grid_y"].tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match=r"^plan_sweep: N = 0: must be in 1\.\.1000$"):
        _core.plan_sweep(0, 3, 2)
    with pytest.raises(ValueError, match=r"^plan_sweep: M = 17: must be in 1\.\.16$"):
        _core.plan_sweep(4, 17, 2)
    with pytest.raises(ValueError, match="give more than 2\\^63 configurations, too many to enumerate"):
        _core.plan_sweep(1000, 16, 1000)
    with pytest.raises(TypeError, match="chunk_items: expected an integer"):
        _core.plan_sweep(4, 3, 2, chunk_items=1.5)


def test_plan_constants_are_the_kernels():
    """EEP_SPLIT and EEP_IP_SIZE are the kernels' (kernels.cuh, shipped for NVRTC), the block's warps the
    launcher's (kernels/launch.hpp; cuda_sweep.cpp also asserts it where it is compiled)."""
    cuh = resources.files("eepart_fast") / "cuda" / "kernels.cuh"
    if not cuh.is_file():
        pytest.skip("kernels.cuh is not installed beside the package")
    text = cuh.read_text()
    assert int(re.search(r"#define EEP_SPLIT (\d+)", text).group(1)) == _core.SWEEP_SPLIT
    assert int(re.search(r"#define EEP_IP_SIZE (\d+)", text).group(1)) == _core.SWEEP_IP_SIZE
    launch = os.path.join(ROOT, "cpp", "cuda", "kernels", "launch.hpp")
    if os.path.exists(launch):
        with open(launch) as f:
            warps = re.search(r"kSweepWarpsPerBlock = (\d+)", f.read()).group(1)
        assert int(warps) == _core.SWEEP_BLOCK_WARPS


def _tables():
    from eepart_fast.model.tables import cost_tables

    from _instances import random_profile, random_topology
    rng = np.random.default_rng(5)
    return cost_tables(random_profile(rng, 6, 2), random_topology(rng, 3))


def _engines():
    """The sweeps this install has: the compiled CPU engine, the reference, and the GPU engine's host code
    (on the emulator where it is built)."""
    found = {"cpu": _core.sweep, "numpy": reference.sweep}
    for name in ("_cuda", "_cuda_emu"):
        try:
            module = __import__(f"eepart_fast.{name}", fromlist=["sweep"])
        except ImportError:
            continue
        if name == "_cuda_emu" or module.device_count() > 0:
            found[name] = module.sweep
    return found


@pytest.mark.parametrize("engine", sorted(_engines()))
def test_row_limit_error_is_typed_on_every_engine(engine):
    """Every sweep that would pass its row cap raises the package's RowLimitError (a ValueError), with the
    numbers and the message callers match; the CLI branches on the class."""
    tables = _tables()
    total = 2 * sum(comb(6, L) * perm(3, L) for L in range(1, 4))
    sweep = _engines()[engine]
    with pytest.raises(RowLimitError, match=f"^sweep would keep more than 5 rows of {total} configurations: "
                                            "tighten max_latency / min_accuracy or raise the memory cap$") as err:
        sweep(tables, max_rows=5)
    assert isinstance(err.value, ValueError) and (err.value.max_rows, err.value.total) == (5, total)
    again = pickle.loads(pickle.dumps(err.value))
    assert type(again) is RowLimitError and str(again) == str(err.value)


def test_max_memory_is_checked_once_for_every_backend():
    assert _core.check_max_memory(4096) == 4096
    for bad, error in ((0, ValueError), (-1, ValueError), (True, TypeError), (1.5, TypeError), ("8", TypeError)):
        with pytest.raises(error, match="max_memory"):
            _core.check_max_memory(bad)
        with pytest.raises(error, match="max_memory"):
            reference.pareto(_tables(), max_memory=bad)
    with pytest.raises(ValueError, match=r"^max_memory = 0: must be a positive number of bytes$"):
        _core.pareto(_tables(), max_memory=0)
