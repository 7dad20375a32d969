"""Many searches per call, side by side in one run: 10,000 scenarios of the shipped ResNet-20 profile on the
paper's mobile chain, the three links' bandwidths varied over a 25 x 20 x 20 grid, P_lat at accuracy >= 0.85
each (every scenario a network of its own: no two share tables).

1. The engine-only floor: the scenarios' tables prebuilt (`_core.Tables`), searched by the compiled batch
   entry point (`_core.pareto_many`) on 2 threads, and by single `_core.pareto(threads=1)` calls on 2 Python
   threads; the floor is the faster of the two.
2. `plan_many` end to end on 2 threads (checks the scenarios, builds each network's tables, searches).
3. Today's way: one Planner, `set_bandwidth` on the three links and `min_latency`, per scenario.
4. The same scenarios as a study on a Dask LocalCluster (a worker process per core, one thread each,
   Parquet written; the cluster started before the clock).

Each records seconds per scenario (the median of 7 rounds: a round is under a second, and a loaded
second moves a median of 3) and its ratio to the floor (extra_info "x_floor"); plans are checked
equal across the four. Run: bash bench/run.sh -k batch
"""
from __future__ import annotations

import importlib
import os
import threading

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core

PROFILE, TOPOLOGY = "resnet20-fashionmnist", "mobile"
GRID = {"bandwidth[0]": {"geomspace": [1e5, 5e7, 25]}, "bandwidth[1]": {"geomspace": [1e6, 1e9, 20]},
        "bandwidth[2]": {"geomspace": [1e7, 1e10, 20]}}
MIN_ACCURACY = 0.85
THREADS = 2
GROUP = "batch: 10,000 scenarios (P_lat), per scenario"
_seconds: dict = {}


def _grid():
    v = [np.geomspace(*GRID[f"bandwidth[{j}]"]["geomspace"]) for j in range(3)]
    grid = np.array(np.meshgrid(*v, indexing="ij")).reshape(3, -1).T  # the study's order: the last link fastest
    return grid


@pytest.fixture(scope="module")
def case():
    profile, topology = ef.Profile.preset(PROFILE), ef.Topology.preset(TOPOLOGY)
    bw = _grid()
    assert bw.shape[0] == 10_000
    planner = ef.Planner(profile, topology, backend="cpu")
    tables = []
    for row in bw:
        for j in range(3):
            planner.set_bandwidth(j, row[j])
        tables.append(_core.Tables(*planner.tables))
    return profile, topology, bw, tables


def record(benchmark, name, n, latency):
    seconds = benchmark.stats.stats.median
    _seconds[name] = seconds / n
    benchmark.extra_info.update(scenarios=n, seconds_per_scenario=seconds / n, load_average=os.getloadavg())
    floor = min(_seconds.get("floor_batch", np.inf), _seconds.get("floor_threads", np.inf))
    if np.isfinite(floor) and not name.startswith("floor"):
        benchmark.extra_info["x_floor"] = (seconds / n) / floor
    _seconds.setdefault("latency", latency)
    np.testing.assert_array_equal(latency, _seconds["latency"])  # the same plans, to the bit


def test_floor_batch_entry_point(benchmark, case):
    tables = case[3]
    benchmark.group = GROUP
    n = len(tables)
    index, lo, hi = np.arange(n), np.full(n, MIN_ACCURACY), np.full(n, np.inf)
    out = benchmark.pedantic(lambda: _core.pareto_many(tables, index, lo, hi, answer="min_latency", threads=THREADS),
                             rounds=7, iterations=1, warmup_rounds=1)
    latency = np.full(n, np.nan)
    latency[out["scenario"]] = out["latency"]
    record(benchmark, "floor_batch", n, latency)


def test_floor_single_calls_on_threads(benchmark, case):
    tables = case[3]
    benchmark.group = GROUP
    n = len(tables)
    latency = np.full(n, np.nan)

    def work(k):
        for i in range(k, n, THREADS):
            r = _core.pareto(tables[i], min_accuracy=MIN_ACCURACY, threads=1)
            if r["latency"].shape[0]:
                latency[i] = r["latency"][0]

    def run():
        workers = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    benchmark.pedantic(run, rounds=7, iterations=1, warmup_rounds=1)
    record(benchmark, "floor_threads", n, latency)


def test_plan_many(benchmark, case):
    profile, topology, bw, _ = case
    benchmark.group = GROUP
    n = bw.shape[0]
    cols = {"bandwidth": {j: bw[:, j] for j in range(3)}, "min_accuracy": np.full(n, MIN_ACCURACY)}
    out = benchmark.pedantic(lambda: ef.plan_many(profile, topology, cols, threads=THREADS, backend="cpu"),
                             rounds=7, iterations=1)
    latency = np.full(n, np.nan)
    latency[out.columns["scenario"]] = out.columns["latency"]
    record(benchmark, "plan_many", n, latency)


def test_planner_per_scenario(benchmark, case):
    profile, topology, bw, _ = case
    benchmark.group = GROUP
    n = bw.shape[0]

    def loop():
        planner = ef.Planner(profile, topology, backend="cpu", threads=1)
        out = np.full(n, np.nan)
        for i in range(n):
            for j in range(3):
                planner.set_bandwidth(j, bw[i, j])
            plan = planner.min_latency(min_accuracy=MIN_ACCURACY)
            if plan is not None:
                out[i] = plan.latency
        return out

    latency = benchmark.pedantic(loop, rounds=1, iterations=1)
    record(benchmark, "planner_loop", n, latency)


def test_study_local_cluster(benchmark, case, tmp_path):
    distributed = pytest.importorskip("dask.distributed", reason="needs the study extra")
    pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra")
    from eepart_fast.study import load_study, run_study

    benchmark.group = GROUP
    spec = load_study({"name": "batch", "profiles": [PROFILE], "topologies": [{"topology": TOPOLOGY, "grid": GRID}],
                       "bounds": [{"min_accuracy": MIN_ACCURACY}], "compute": "plans", "backend": "cpu"})
    assert spec.scenarios == 10_000
    cores = os.cpu_count() or 1
    cluster = distributed.LocalCluster(n_workers=cores, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0")
    client = distributed.Client(cluster)
    client.run(importlib.import_module, "eepart_fast.study.tasks")  # workers ready, as a running cluster's are
    runs = iter(range(100))
    try:
        result = benchmark.pedantic(lambda: run_study(spec, tmp_path / f"out{next(runs)}", client=client,
                                                      progress=False), rounds=1, iterations=1)
    finally:
        client.close()
        cluster.close()
    table = pq.read_table(result.path, columns=["scenario", "latency"]).sort_by("scenario")
    record(benchmark, "study", spec.scenarios, table.column("latency").to_numpy(zero_copy_only=False))
    benchmark.extra_info["workers"] = cores
