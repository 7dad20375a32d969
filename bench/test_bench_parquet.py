"""Parquet rows: schema version 2 (P and A as fixed-width integer columns, SweepResult.save) beside version 1
(list columns, bench/_parquet_v1.py: the writer as it was) on the same rows in one run: every row of the
bounded N=30, M=5, K=20 sweep (the seeded instance of the sweep benchmarks bounded by a latency that keeps
1 % of its 412,835,400 configurations: 3,862,927 rows), each written to a file and fsync'd as `save` does.

extra_info: rows, file bytes, rows/s, and for version 2 its speed-up and size against version 1 (issue 21's
goal: at least 2.5x the rows/s, no larger): the ratio of the two benchmarks' medians, and, steadier on a
shared machine, `speedup_vs_v1_paired`: the median ratio of PAIRS writes of each, interleaved (v1, v2, v1,
...), so that both see the same load. Both files are read back and checked against the rows.

Run: /work/venv/bin/python -m pytest bench/test_bench_parquet.py --benchmark-only -p no:cacheprovider
"""
import os
import time

import numpy as np
import pytest

from eepart_fast import _core
from eepart_fast.io.results import SweepResult

from _bench_instances import latency_quantile, seeded_tables

pytest.importorskip("pyarrow", reason="needs the study extra: pip install 'eepart_fast[study]'")
from _parquet_v1 import save_v1

KEPT = 0.01
PAIRS = 5
_measured = {}  # schema -> (seconds, bytes)


@pytest.fixture(scope="module")
def big_sweep():
    N, M, K = 30, 5, 20
    tables = seeded_tables(N, M, K)
    columns = _core.sweep(tables, max_latency=latency_quantile(tables, KEPT))
    return SweepResult(columns, np.linspace(0.05, 0.95, K), [f"tier{j}" for j in range(M)], backend="cpu")


def same_rows(a, b) -> bool:
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in a.columns()) and a.tier_names == b.tier_names


# version 1 first, so that version 2 can quote its ratio.
@pytest.mark.parametrize("schema", ["v1-lists", "v2-columns"])
def test_parquet_write_rows(benchmark, big_sweep, tmp_path, schema):
    rows = big_sweep
    path = tmp_path / "rows.parquet"
    write = (lambda: save_v1(rows, path)) if schema == "v1-lists" else (lambda: rows.save(path, progress=False))
    benchmark.group = "Parquet: every row of a bounded N=30 M=5 K=20 sweep"
    benchmark.pedantic(write, rounds=5, iterations=1, warmup_rounds=1)
    back = SweepResult.load(path)  # the reader reads both versions
    assert len(back) == len(rows) > 3_000_000 and same_rows(back, rows)
    seconds, nbytes = benchmark.stats.stats.median, path.stat().st_size
    _measured[schema] = seconds, nbytes
    benchmark.extra_info.update(rows=len(rows), file_bytes=nbytes, rows_per_s=len(rows) / seconds,
                                load_average=os.getloadavg())
    if schema == "v2-columns" and "v1-lists" in _measured:
        v1_seconds, v1_bytes = _measured["v1-lists"]
        benchmark.extra_info.update(speedup_vs_v1=v1_seconds / seconds, size_vs_v1=nbytes / v1_bytes,
                                    v1_rows_per_s=len(rows) / v1_seconds, v1_file_bytes=v1_bytes,
                                    speedup_vs_v1_paired=paired_ratio(rows, tmp_path))


def paired_ratio(rows, folder) -> float:
    """Median over PAIRS of (v1's seconds / v2's seconds), each pair written back to back."""
    ratios = []
    for _ in range(PAIRS):
        t0 = time.perf_counter()
        save_v1(rows, folder / "v1.parquet")
        t1 = time.perf_counter()
        rows.save(folder / "v2.parquet", progress=False)
        ratios.append((t1 - t0) / (time.perf_counter() - t1))
    return float(np.median(ratios))
