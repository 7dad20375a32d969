"""Studies and Parquet output, each beside its reference in one run.

1. A study of 100,000 scenarios (the two shipped profiles x the paper's mobile and iot chains x a
   50 x 50 x 10 grid of their three links' bandwidths; P_lat at accuracy >= 0.85 each) on a Dask
   LocalCluster of one worker process per core, Parquet written, against a plain Python loop calling
   `min_latency` once per scenario on the same machine, run before and after the study (the machine is
   shared: the two bracket the study's conditions). Scenarios per second, CPU seconds, and the ratios; the
   loop's plans are checked against the study's rows.
2. Every row of a bounded N=30, M=5, K=20 sweep (about 4 million rows of 412,835,400 configurations)
   written to Parquet by `SweepResult.save`, in rows/s and bytes/s, against this machine's sequential write
   speed measured in the same run (the same number of bytes in 8 MiB blocks, fsync'd as `save` does).

Run (with history): bash bench/run.sh -k study      (see README "Performance"); the study ones are marked
`large` (minutes: the loop runs twice).
"""
import importlib
import os
import time

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.io.results import SweepResult
from eepart_fast.model.configs import row_bytes

from _bench_instances import latency_quantile, seeded_tables

pa = pytest.importorskip("pyarrow", reason="needs the study extra: pip install 'eepart_fast[study]'")
pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra: pip install 'eepart_fast[study]'")
distributed = pytest.importorskip("dask.distributed", reason="needs the study extra: pip install 'eepart_fast[study]'")

CORES = os.cpu_count() or 1
PROFILES = ["resnet20-fashionmnist", "mobilenetv2-fashionmnist"]
TOPOLOGIES = ["mobile", "iot"]
GRID = {"bandwidth[0]": {"geomspace": [1e5, 5e7, 50]}, "bandwidth[1]": {"geomspace": [1e6, 1e9, 50]},
        "bandwidth[2]": {"geomspace": [1e7, 1e10, 10]}}
MIN_ACCURACY = 0.85
KEPT = 0.01  # share of the N=30 sweep's configurations that its latency bound keeps
_seconds = {}


def study_dict():
    return {"name": "bench", "profiles": PROFILES,
            "topologies": [{"topology": t, "grid": GRID} for t in TOPOLOGIES],
            "bounds": [{"min_accuracy": MIN_ACCURACY}], "compute": "plans"}


def load(benchmark):
    benchmark.extra_info["load_average"] = os.getloadavg()


@pytest.fixture(scope="module")
def spec():
    from eepart_fast.study import load_study

    s = load_study(study_dict())
    assert s.scenarios == 100_000
    return s


@pytest.fixture(scope="module")
def loop_latency():
    return {}


def plain_loop(benchmark, spec, loop_latency, when):
    """The reference: one `min_latency` call per scenario, its topology built from the scenario's links.
    Run before and after the study: the machine is shared, and the two bracket the study's conditions."""
    from eepart_fast.study import apply_params

    benchmark.group = "study: 100,000 scenarios (P_lat)"
    work = [(profile, axis) for _, profile in spec.profiles for axis in spec.topologies]
    cpu = []

    def loop():
        out = []
        cpu.append(time.process_time())
        for profile, axis in work:
            for values in axis.values:
                plan = ef.min_latency(profile, apply_params(axis.topology, params=axis.params, values=values),
                                      min_accuracy=MIN_ACCURACY)
                out.append(np.nan if plan is None else plan.latency)
        cpu.append(time.process_time())
        return np.array(out)

    latency = benchmark.pedantic(loop, rounds=1, iterations=1)
    loop_latency["latency"] = latency
    seconds = benchmark.stats.stats.median
    _seconds[f"loop_{when}"] = seconds
    _seconds[f"loop_cpu_{when}"] = cpu[1] - cpu[0]
    benchmark.extra_info.update(scenarios=spec.scenarios, scenarios_per_s=spec.scenarios / seconds, cores=CORES,
                                cpu_seconds=cpu[1] - cpu[0], scenarios_per_cpu_s=spec.scenarios / (cpu[1] - cpu[0]))
    if when == "after" and "study" in _seconds:
        loop_s = (_seconds["loop_before"] + seconds) / 2
        benchmark.extra_info["study_speedup_vs_mean_loop"] = loop_s / _seconds["study"]
    load(benchmark)


@pytest.mark.large
def test_study_plain_loop_before(benchmark, spec, loop_latency):
    plain_loop(benchmark, spec, loop_latency, "before")


@pytest.mark.large
def test_study_local_cluster(benchmark, spec, loop_latency, tmp_path):
    """The same scenarios as a study on a LocalCluster (one process per core), results written to Parquet."""
    benchmark.group = "study: 100,000 scenarios (P_lat)"
    started = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=CORES, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0")
    client = distributed.Client(cluster)
    client.run(importlib.import_module, "eepart_fast.study.tasks")  # workers ready, as a running cluster's are
    start_s = time.perf_counter() - started
    runs = iter(range(100))
    try:
        # CPU time of the workers and the driver, to tell the machine's load from the study's overhead.
        before = sum(client.run(time.process_time).values()) + time.process_time()
        result = benchmark.pedantic(lambda: ef.study.run_study(spec, tmp_path / f"out{next(runs)}", client=client,
                                                     progress=False), rounds=1, iterations=1)
        cpu = sum(client.run(time.process_time).values()) + time.process_time() - before
    finally:
        client.close()
        cluster.close()
    assert result.ran == spec.scenarios
    table = pq.read_table(result.path, columns=["scenario", "latency"]).sort_by("scenario")
    study_latency = table.column("latency").to_numpy(zero_copy_only=False)
    if "latency" in loop_latency:  # the same plans as the loop's, to the bit
        np.testing.assert_array_equal(study_latency, loop_latency["latency"])
    seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(scenarios=spec.scenarios, scenarios_per_s=spec.scenarios / seconds, cores=CORES,
                                workers=CORES, cluster_start_s=start_s, parquet_bytes=result.bytes,
                                files=result.files, cpu_seconds=cpu, scenarios_per_cpu_s=spec.scenarios / cpu)
    _seconds["study"] = seconds
    if "loop_before" in _seconds:
        benchmark.extra_info["speedup_vs_loop_before"] = _seconds["loop_before"] / seconds
        benchmark.extra_info["cpu_efficiency_vs_loop"] = _seconds["loop_cpu_before"] / cpu
    load(benchmark)


@pytest.mark.large
def test_study_plain_loop_after(benchmark, spec, loop_latency):
    plain_loop(benchmark, spec, loop_latency, "after")


@pytest.fixture(scope="module")
def big_sweep():
    """N=30, M=5, K=20 bounded by a latency that keeps about 1% of the configurations."""
    N, M, K = 30, 5, 20
    tables = seeded_tables(N, M, K)
    max_latency = latency_quantile(tables, KEPT)
    columns = _core.sweep(tables, max_latency=max_latency)
    rows = SweepResult(columns, np.linspace(0.05, 0.95, K), [f"tier{j}" for j in range(M)], backend="cpu")
    return rows, max_latency, ef.count_configurations(N, M, K)


def write_sequential(path, nbytes, block=8 << 20):
    buf = np.random.default_rng(0).integers(0, 256, block, dtype=np.uint8).tobytes()
    with open(path, "wb") as f:
        left = nbytes
        while left > 0:
            f.write(buf[:min(block, left)])
            left -= block
        f.flush()
        os.fsync(f.fileno())


def test_parquet_sequential_reference(benchmark, big_sweep, tmp_path):
    """This machine's sequential write speed, for as many bytes as the Parquet file below."""
    rows, _, _ = big_sweep
    path = tmp_path / "probe.parquet"
    rows.save(path, progress=False)
    nbytes = path.stat().st_size
    path.unlink()
    _seconds["parquet_bytes"] = nbytes
    benchmark.group = "Parquet: every row of a bounded N=30 M=5 K=20 sweep"
    benchmark.pedantic(write_sequential, args=(tmp_path / "seq.bin", nbytes), rounds=3, iterations=1)
    seconds = benchmark.stats.stats.median
    _seconds["sequential"] = seconds
    benchmark.extra_info.update(bytes=nbytes, bytes_per_s=nbytes / seconds)
    load(benchmark)


def test_parquet_sweep_rows(benchmark, big_sweep, tmp_path):
    rows, max_latency, total = big_sweep
    benchmark.group = "Parquet: every row of a bounded N=30 M=5 K=20 sweep"
    path = tmp_path / "rows.parquet"
    benchmark.pedantic(rows.save, args=(path,), kwargs={"progress": False}, rounds=3, iterations=1)
    seconds = benchmark.stats.stats.median
    nbytes = path.stat().st_size
    assert pq.read_metadata(path).num_rows == len(rows)
    benchmark.extra_info.update(configurations=total, rows=len(rows), max_latency=max_latency, file_bytes=nbytes,
                                rows_per_s=len(rows) / seconds, file_bytes_per_s=nbytes / seconds,
                                row_bytes_in_memory_per_s=len(rows) * row_bytes(30, 5) / seconds)
    if "sequential" in _seconds:
        seq_rate = _seconds["parquet_bytes"] / _seconds["sequential"]
        benchmark.extra_info.update(sequential_bytes_per_s=seq_rate,
                                    fraction_of_sequential=(nbytes / seconds) / seq_rate)
    load(benchmark)


@pytest.mark.large
@pytest.mark.parametrize("scenarios", [1_000_000, 3_000_000])
def test_study_driver_memory(benchmark, scenarios, tmp_path):
    """The driver's peak RSS for a study of 1 M and 3 M trivially cheap scenarios (bench/study_memory.py, a
    LocalCluster of one worker process per core, 10,000 scenarios a task): it does not grow with the count
    (README "Studies" states the bound)."""
    import json
    import subprocess
    import sys

    benchmark.group = "study: the driver's memory"
    script = os.path.join(os.path.dirname(__file__), "study_memory.py")
    cmd = [sys.executable, script, "--scenarios", str(scenarios), "--out", str(tmp_path / "out"),
           "--batch-size", "10000"]
    got = benchmark.pedantic(lambda: json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                                               text=True).stdout.splitlines()[-1]),
                             rounds=1, iterations=1)
    assert got["ran"] == scenarios
    benchmark.extra_info.update({k: got[k] for k in ("scenarios", "seconds", "scenarios_per_s", "peak_rss_mb",
                                                     "rss_after_load_mb", "max_sample_mb", "files", "workers")})
    assert got["peak_rss_mb"] < 300, got  # the bound README states
    load(benchmark)
