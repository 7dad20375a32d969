"""Studies on a Dask LocalCluster (2 worker processes on 127.0.0.1): every scenario's rows equal the single
calls (pareto, min_latency, max_accuracy, sweep) on that scenario; a worker and then the driver killed mid-
study, the rerun completes with every scenario exactly once."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="needs the study extra: pip install 'eepart_fast[study]'")
pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra: pip install 'eepart_fast[study]'")
distributed = pytest.importorskip("dask.distributed", reason="needs the study extra: pip install 'eepart_fast[study]'")

import eepart_fast as ef
from eepart_fast.io.arrow import ROW_WIDTH, plan_names
from eepart_fast.study import StudyFailed, load_study, read_study, runner, scenario
from eepart_fast.study.runner import MANIFEST, done_scenarios

from _instances import random_profile

PYTHONPATH = os.pathsep.join(p for p in sys.path if p)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def small_study(tmp_path) -> dict:
    """Two random profiles (files) x a chain grid and a route topology with a trace x 2 destinations x 3 bounds,
    every kind of result: 84 scenarios, some without a plan under their bound."""
    rng = np.random.default_rng(14)
    for name, N, K in (("a", 6, 4), ("b", 4, 3)):
        p = random_profile(rng, N, K, rising_accuracy=True)
        p.name = f"profile-{name}"
        p.save(tmp_path / f"{name}.json")
    lat = [[0, 0.01, 0.03], [0.01, 0, 0.02], [0.03, 0.02, 0]]
    inv = [[0, 1e-7, 2e-8], [1e-7, 0, 1e-8], [2e-8, 1e-8, 0]]
    (tmp_path / "trace.csv").write_text('time,"bandwidth[0,2]",ratio[1]\n'
                                      "0,5e7,4\n60,1e7,4\n120,2e8,2.5\n")
    return {
        "name": "small",
        "profiles": ["a.json", {"profile": "b.json", "name": "bee"}],
        "topologies": [
            {"topology": "mobile", "grid": {"bandwidth[1]": [1e6, 2e7], "latency[0]": [0.006, 0.03]}},
            {"topology": {"names": ["dev", "edge", "cloud"], "ratio": [50, 5, 1], "path_latency": lat,
                          "path_inv_bandwidth": inv}, "name": "routes", "trace": "trace.csv"},
        ],
        "destinations": [0, 1],
        "bounds": [{"min_accuracy": 0.5}, {"max_latency": 0.3}, {"min_accuracy": 0.6, "max_latency": 0.05}],
        "compute": ["frontier", "plans", "sweep"],
        "batch_size": 5,
    }


def plan_row(p):
    return (p.latency, p.accuracy, p.threshold_index, list(p.partitions), list(p.placement))


def plan_list(row, letter):
    """P or A of a study's row: its columns P1..P16 (A1..A16) up to the -1 pads."""
    return [int(v) for v in (getattr(row, f"{letter}{k + 1}") for k in range(ROW_WIDTH)) if v >= 0]


def table_rows(df):
    return [(r.latency, r.accuracy, int(r.threshold_index), plan_list(r, "P"), plan_list(r, "A"))
            for r in df.itertuples()]


def test_small_study_matches_single_calls(client, tmp_path):
    d = small_study(tmp_path)
    spec = load_study(d, base_dir=tmp_path)
    assert spec.scenarios == 2 * (4 * 2 + 3 * 2) * 3 == 84
    result = ef.study.run_study(spec, tmp_path / "out", client=client, progress=False)
    assert (result.scenarios, result.ran, result.skipped) == (84, 84, 0)
    df = read_study(tmp_path / "out").to_pandas()
    assert len(df) == result.rows
    assert df.scenario_id.groupby(df.scenario).nunique().eq(1).all()
    assert df.groupby("scenario").scenario_id.first().is_unique  # a distinct id per distinct scenario
    found_none = {"frontier": 0, "P_lat": 0, "P_acc": 0, "row": 0}
    for i, rows in df.groupby("scenario"):
        sc = scenario(spec, i)
        prof, topo, s, t, bound = sc["profile"], sc["topology"], sc["source"], sc["destination"], sc["bound"]
        lo, hi = bound.get("min_accuracy"), bound.get("max_latency")
        head = rows.iloc[0]
        assert (head.profile, head.topology) == (sc["profile_label"], sc["topology_label"])
        assert (head.source, head.destination) == (topo.names[s], topo.names[t])
        for column, value in sc["params"].items():
            assert (rows[column] == value).all()
        assert rows.min_accuracy.isna().all() if lo is None else (rows.min_accuracy == lo).all()
        assert rows.max_latency.isna().all() if hi is None else (rows.max_latency == hi).all()
        by_kind = {k: g.sort_values("point") for k, g in rows.groupby("kind", observed=True)}
        assert set(by_kind) == {"frontier", "row"} | ({"P_lat"} if lo is not None else set()) | (
            {"P_acc"} if hi is not None else set())

        def check(kind, expected, by_kind=by_kind):
            got = by_kind[kind]
            if not expected:  # one row saying so
                found_none[kind] += 1
                assert len(got) == 1 and not got.found.iloc[0] and np.isnan(got.latency.iloc[0])
                return
            assert got.found.all() and list(got.point) == list(range(len(expected)))
            assert table_rows(got) == expected

        front = ef.pareto(prof, topo, source=s, destination=t)
        check("frontier", [plan_row(p) for p in front
                           if (lo is None or p.accuracy >= lo) and (hi is None or p.latency <= hi)])
        if lo is not None:
            best = ef.min_latency(prof, topo, min_accuracy=lo, source=s, destination=t)
            check("P_lat", [plan_row(best)] if best and (hi is None or best.latency <= hi) else [])
        if hi is not None:
            best = ef.max_accuracy(prof, topo, max_latency=hi, source=s, destination=t)
            check("P_acc", [plan_row(best)] if best and (lo is None or best.accuracy >= lo) else [])
        sw = ef.sweep(prof, topo, source=s, destination=t, max_latency=hi, min_accuracy=lo)
        check("row", [(sw.latency[k], sw.accuracy[k], t_, list(P), list(A))
                      for k, (t_, P, A) in enumerate(sw.configs())])
        got = by_kind["row"]
        if len(sw):
            np.testing.assert_array_equal(got.threshold, prof.thresholds[sw.threshold_index])
    assert set(df.scenario) == set(range(84))
    # the bounds were chosen so that both cases occur
    assert 0 < found_none["P_lat"] + found_none["P_acc"] < 84
    # done: a second run computes nothing
    again = ef.study.run_study(spec, tmp_path / "out", client=client, progress=False)
    assert (again.ran, again.skipped) == (0, 84)


def test_quantile_bounds_match_single_calls(client, tmp_path):
    """A bound with `quantile`: the frontier, the plans and the rows are the quantile's, as the single calls
    give them, and the quantile column says which; a bound without one stays the mean (null)."""
    rng = np.random.default_rng(21)
    p = random_profile(rng, 5, 3, rising_accuracy=True)
    p.save(tmp_path / "p.json")
    d = {"name": "tail", "profiles": ["p.json"],
         "topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": [2e6, 5e7]}}],
         "bounds": [{"max_latency": 0.5, "quantile": 0.99}, {"min_accuracy": 0.5, "quantile": "ninety"},
                    {"max_latency": 0.5}],
         "compute": ["frontier", "plans", "sweep"]}
    with pytest.raises(ValueError, match=r"bounds\[1\]\.quantile: 'ninety' is not a quantile"):
        load_study(d, base_dir=tmp_path)
    d["bounds"][1]["quantile"] = True
    with pytest.raises(TypeError, match=r"bounds\[1\]\.quantile: expected a number"):
        load_study(d, base_dir=tmp_path)
    d["bounds"][1]["quantile"] = "p90"  # as the command line writes it
    spec = load_study(d, base_dir=tmp_path)
    ef.study.run_study(spec, tmp_path / "out", client=client, progress=False)
    df = read_study(tmp_path / "out").to_pandas()
    assert set(df.scenario) == set(range(spec.scenarios)) and spec.scenarios == 6
    found = 0
    for i, rows in df.groupby("scenario"):
        sc = scenario(spec, i)
        prof, topo, bound = sc["profile"], sc["topology"], sc["bound"]
        q, lo, hi = bound.get("quantile"), bound.get("min_accuracy"), bound.get("max_latency")
        assert rows["quantile"].isna().all() if q is None else (rows["quantile"] == q).all()
        by_kind = {k: g.sort_values("point") for k, g in rows.groupby("kind", observed=True)}

        def expect(kind, want, by_kind=by_kind):
            if not want:  # one row saying so
                assert len(by_kind[kind]) == 1 and not by_kind[kind].found.iloc[0]
            else:
                assert table_rows(by_kind[kind]) == want

        expect("frontier", [plan_row(x) for x in ef.pareto(prof, topo, quantile=q)
                            if (lo is None or x.accuracy >= lo) and (hi is None or x.latency <= hi)])
        for kind, limit, ask, bound in (("P_lat", lo, ef.min_latency, "min_accuracy"),
                                        ("P_acc", hi, ef.max_accuracy, "max_latency")):
            if limit is None:
                assert kind not in by_kind
            else:
                best = ask(prof, topo, **{bound: limit}, quantile=q)
                expect(kind, [] if best is None else [plan_row(best)])
        sw = ef.sweep(prof, topo, max_latency=hi, min_accuracy=lo, quantile=q)
        expect("row",
               [(sw.latency[k], sw.accuracy[k], t_, list(P), list(A)) for k, (t_, P, A) in enumerate(sw.configs())])
        found += by_kind["frontier"].found.iloc[0]
    assert found > 1  # the bounds leave plans in most scenarios


STUDY = """\
name: kill
profiles: [resnet20-fashionmnist]
topologies:
  - topology: mobile
    grid:
      bandwidth[1]: {geomspace: [1e6, 1e8, 50]}
      bandwidth[0]: {geomspace: [2e5, 2e6, 4]}
bounds: [{min_accuracy: 0.9}, {max_latency: 0.15}]
compute: plans
"""



def test_study_under_load_matches_single_calls(client, tmp_path):
    """A rate (with fleet and link queues) in a bound: each scenario's rows are what Planner.under(Load) gives
    on that scenario's network, with the load in the rate and fleet columns; a bound without a rate in the
    same study stays unloaded (rate null)."""
    rng = np.random.default_rng(23)
    p = random_profile(rng, 4, 2, rising_accuracy=True)
    p.save(tmp_path / "p.json")
    busy = ef.cost_tables(p, ef.Topology.preset("mobile")).compute_cost
    rate = float(0.5 / busy[busy > 0].mean())
    d = {"name": "loaded", "profiles": ["p.json"],
         "topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": [1e6, 2e7]}}],
         "compute": ["frontier", "plans"],
         "bounds": [{"min_accuracy": 0.5}, {"min_accuracy": 0.5, "rate": rate},
                    {"max_latency": 1.0, "rate": 2 * rate, "fleet": 2},
                    {"min_accuracy": 0.5, "max_latency": 0.5, "rate": rate, "link_queues": True},
                    {"min_accuracy": 0.5, "rate": 2 * rate, "fleet": 3, "queues": "qna"}],
         "batch_size": 3}
    spec = load_study(d, base_dir=tmp_path)
    ef.study.run_study(spec, tmp_path / "out", client=client, progress=False)
    df = read_study(tmp_path / "out").to_pandas()
    assert set(df.scenario) == set(range(spec.scenarios)) and spec.scenarios == 10
    for i, rows in df.groupby("scenario"):
        sc = scenario(spec, i)
        bound, topo = sc["bound"], sc["topology"]
        lo, hi = bound.get("min_accuracy"), bound.get("max_latency")
        by_kind = {k: g.sort_values("point") for k, g in rows.groupby("kind", observed=True)}
        planner = ef.Planner(sc["profile"], topo)
        if "rate" not in bound:
            assert rows.rate.isna().all() and rows.fleet.isna().all() and rows.link_queues.isna().all()
            assert rows.queues.isna().all()
            best = planner.min_latency(min_accuracy=lo)
            assert table_rows(by_kind["P_lat"]) == [plan_row(best)]
            continue
        assert (rows.rate == bound["rate"]).all() and (rows.fleet == bound.get("fleet", 1)).all()
        assert (rows.link_queues == bound.get("link_queues", False)).all()
        assert (rows.queues == bound.get("queues", "mg1")).all()
        view = planner.under(ef.model.Load(bound["rate"], fleet=bound.get("fleet", 1),
                                           queues=bound.get("queues", "mg1")),
                             link_queues=bound.get("link_queues", False))
        front = [q for q in view.pareto() if (lo is None or q.accuracy >= lo) and (hi is None or q.latency <= hi)]

        def rows_of(points):
            return [(q.latency, q.accuracy, q.threshold_index, list(q.partitions), list(q.placement)) for q in points]

        def check(kind, expected, by_kind=by_kind):
            got = by_kind[kind]
            if not expected:
                assert len(got) == 1 and not got.found.iloc[0]
                return
            assert got.found.all() and table_rows(got) == rows_of(expected)

        check("frontier", front)
        if lo is not None:
            check("P_lat", front[:1])
        if hi is not None:
            check("P_acc", front[-1:])
    assert df.found.any() and df.rate.notna().any()


def test_study_load_fields_are_checked():
    base = {"profiles": ["resnet20-fashionmnist"], "topologies": ["mobile"], "compute": ["plans"]}
    for bound, match in (({"min_accuracy": 0.9, "rate": -1}, r"bounds\[0\]\.rate = -1\.0: expected a finite"),
                         ({"min_accuracy": 0.9, "fleet": 2}, r"bounds\[0\]\.fleet: only with rate"),
                         ({"min_accuracy": 0.9, "rate": 5, "fleet": 0}, r"bounds\[0\]\.fleet = 0: expected a whole"),
                         ({"min_accuracy": 0.9, "rate": 5, "link_queues": "yes"},
                          r"bounds\[0\]\.link_queues = 'yes': expected true or false"),
                         ({"max_latency": 0.1, "rate": 5, "quantile": 0.99}, r"bounds\[0\]: rate and quantile"),
                         ({"min_accuracy": 0.9, "rate": 5, "queues": "mm1"},
                          r"bounds\[0\]\.queues = 'mm1': expected one of mg1, qna"),
                         ({"min_accuracy": 0.9, "queues": "qna"}, r"bounds\[0\]\.queues: only with rate")):
        with pytest.raises(ValueError, match=match):
            load_study({**base, "bounds": [bound]})
    with pytest.raises(ValueError, match=r"bounds\[1\]\.rate: not with compute 'sweep'"):
        load_study({**base, "compute": ["sweep"], "bounds": [{}, {"rate": 5.0}]})
    with pytest.raises(ValueError, match=r"bounds\[1\]\.rate: not in a study with energy_tiers"):
        load_study({**base, "topologies": ["mobile-energy"], "energy_tiers": "source",
                    "bounds": [{"min_accuracy": 0.9}, {"min_accuracy": 0.9, "rate": 5.0}]})
    # The defaults are left out of the bound, so that one scenario has one id however it is spelled.
    a = load_study({**base, "bounds": [{"min_accuracy": 0.9, "rate": 5, "fleet": 1, "link_queues": False}]})
    assert a.bounds == [{"min_accuracy": 0.9, "rate": 5.0}]

def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_killed_worker_and_driver_then_rerun(client, tmp_path):
    study_file, out = tmp_path / "study.yaml", tmp_path / "out"
    study_file.write_text(STUDY)
    total = load_study(study_file).scenarios
    assert total == 400
    files = lambda: len(list(out.glob("part-*.parquet")))
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    driver = subprocess.Popen([sys.executable, "-m", "eepart_fast.cli", "study", str(study_file), "--out", str(out),
                               "--scheduler", client.scheduler.address, "--batch-size", "2", "--no-progress"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: out.is_dir() and files() >= 3, 60, "the first files")
        victim = next(iter(client.run(os.getpid).values()))
        os.kill(victim, signal.SIGKILL)  # a worker dies mid-task; the nanny starts another
        before = files()
        wait_for(lambda: files() >= before + 3, 60, "more files after the kill")
        driver.send_signal(signal.SIGKILL)  # then the driver itself
        driver.wait(timeout=30)
    finally:
        driver.kill()
        driver.communicate(timeout=30)
    written = files()
    assert written < total // 2, "the study finished before it was interrupted: nothing to resume"
    result = ef.study.run_study(study_file, out, client=client, progress=False)
    assert result.skipped >= written * 2 - 4 and result.ran > 0 and result.ran + result.skipped == total
    table = read_study(out, columns=["scenario", "kind", "found", "latency", "accuracy", "bandwidth[0]",
                                     "bandwidth[1]", *plan_names(ROW_WIDTH)[0]])
    scenarios = np.sort(table.column("scenario").to_numpy())
    np.testing.assert_array_equal(scenarios, np.arange(total))  # each exactly once: no duplicate, none missing
    assert done_scenarios(out, total).all()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary left
    df = table.to_pandas().set_index("scenario")
    spec = load_study(study_file)
    for i in np.random.default_rng(0).choice(total, 12, replace=False):
        sc = scenario(spec, int(i))
        row = df.loc[int(i)]
        b = sc["bound"]
        plan = (ef.min_latency(sc["profile"], sc["topology"],
                               min_accuracy=b["min_accuracy"]) if "min_accuracy" in b else
                ef.max_accuracy(sc["profile"], sc["topology"], max_latency=b["max_latency"]))
        assert row.kind == ("P_lat" if "min_accuracy" in b else "P_acc")
        assert (row.latency, row.accuracy, plan_list(row, "P")) == (plan.latency, plan.accuracy,
                                                                     list(plan.partitions))


def test_other_study_in_the_folder_is_refused(client, tmp_path):
    (tmp_path / "s.yaml").write_text(STUDY.replace("50]", "3]"))
    ef.study.run_study(tmp_path / "s.yaml", tmp_path / "out", client=client, progress=False)
    (tmp_path / "s.yaml").write_text(STUDY.replace("50]", "4]"))
    with pytest.raises(ValueError, match="another study"):
        ef.study.run_study(tmp_path / "s.yaml", tmp_path / "out", client=client, progress=False)
    r = ef.study.run_study(tmp_path / "s.yaml", tmp_path / "out", client=client, progress=False, overwrite=True)
    assert r.ran == r.scenarios == 32
    assert json.loads((tmp_path / "out" / MANIFEST).read_text())["scenarios"] == 32
    with pytest.raises(ValueError, match="batch_size"):
        ef.study.run_study(tmp_path / "s.yaml", tmp_path / "out", client=client, batch_size=7, progress=False)


def test_failed_tasks_are_named_and_the_rest_written(client, tmp_path):
    # A sweep over the memory cap fails in its task (after its retries); the other scenarios are written.
    d = {"profiles": ["resnet20-fashionmnist"], "topologies": ["mobile", "iot"], "compute": "sweep",
         "max_memory_gb": 1e-4, "bounds": [{"max_latency": 0.01}, {}], "batch_size": 1}
    with pytest.raises(StudyFailed, match=r"2 of 4 tasks failed .*memory cap"):
        ef.study.run_study(d, tmp_path / "out", client=client, progress=False)
    assert done_scenarios(tmp_path / "out", 4).tolist() == [True, False, True, False]


def test_ctrl_c_stops_a_local_study_then_it_resumes(client, tmp_path):
    study_file, out = tmp_path / "study.yaml", tmp_path / "out"
    study_file.write_text(STUDY)
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    proc = subprocess.Popen([sys.executable, "-m", "eepart_fast.cli", "study", str(study_file), "--out", str(out),
                             "--workers", "2", "--batch-size", "2", "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(list(out.glob("part-*.parquet"))) >= 2, 60, "the first files")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)  # generous: it stops within about a second
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted" in err
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    result = ef.study.run_study(study_file, out, client=client, progress=False)
    assert result.skipped > 0 and result.ran > 0 and result.skipped + result.ran == 400
    np.testing.assert_array_equal(np.sort(read_study(out, columns=["scenario"]).column("scenario").to_numpy()),
                                  np.arange(400))


def test_unreadable_result_file_is_named(tmp_path):
    """A damaged file in the results folder (a copy cut short, say): the error names it."""
    (tmp_path / "part-000000000005.parquet").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"part-000000000005\.parquet: not a readable Parquet file"):
        done_scenarios(tmp_path, 10)


def test_local_cluster_serves_http_on_a_free_localhost_port():
    """With port 8787 taken (another cluster on the machine), the study's own cluster neither warns about
    it on stderr nor listens anywhere but 127.0.0.1."""
    import socket
    import warnings

    from eepart_fast.study.runner import _local_client

    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 8787))
        blocker.listen()
    except OSError:
        pass  # taken already: the case this test is about
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client, cluster = _local_client(1, 1)
            try:
                http = [s.getsockname()[0] for s in cluster.scheduler.http_server._sockets.values()]
            finally:
                client.close()
                cluster.close()
        assert not [w for w in caught if "already in use" in str(w.message)]
        assert http and set(http) == {"127.0.0.1"}
    finally:
        blocker.close()


def test_a_study_without_workers_stops_after_stall_timeout(client, tmp_path, monkeypatch):
    """A scheduler whose workers never come up (or cannot import the package): the run stops after
    stall_timeout seconds without a finished task, naming the wait and the worker count, instead of waiting
    forever; a rerun on working workers then completes."""
    cluster = distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None)
    empty = distributed.Client(cluster)
    d = {"profiles": ["resnet20-fashionmnist"], "topologies": ["mobile"], "compute": "plans",
         "bounds": [{"max_latency": 0.05}, {"min_accuracy": 0.9}], "batch_size": 1}
    try:
        t = time.monotonic()
        with pytest.raises(StudyFailed, match=r"no task finished in stall_timeout = 1\.5 s, and no worker has joined "
                                              r"the scheduler \(2 in flight from scenario 0, status pending; "
                                              r"workers: 0\)"):
            ef.study.run_study(d, tmp_path / "out", client=empty, progress=False, stall_timeout=1.5)
        assert time.monotonic() - t < 60  # bounded (generous: the point is that it returns at all)
    finally:
        empty.close()
        cluster.close()
    # A task still computing is no stall: searches under load with link queues (a second or so each) outlast
    # a short stall_timeout, and the run completes.
    busy = {"profiles": ["resnet20-fashionmnist"], "topologies": ["mobile"], "compute": "plans",
            "bounds": [{"min_accuracy": a, "rate": rate, "link_queues": True} for a in (0.8, 0.9) for rate in (5, 10)],
            "batch_size": 4}
    seen = []  # what the stall check found each time the wait ran out: the task still computing
    running = runner._running
    monkeypatch.setattr(runner, "_running", lambda *a: seen.append(running(*a)) or seen[-1])
    r = ef.study.run_study(busy, tmp_path / "busy", client=client, progress=False, stall_timeout=0.25)
    assert r.ran == 4 and True in seen
    for bad in (0, -1.0, float("inf"), float("nan"), True, "10"):
        with pytest.raises(ValueError, match=r"stall_timeout = .*: expected a finite number of seconds > 0"):
            ef.study.run_study(d, tmp_path / "out", progress=False, stall_timeout=bad)


def test_study_load_spellings():
    base = {"profiles": ["resnet20-fashionmnist"], "topologies": ["mobile"], "compute": ["plans"]}
    # -0.0 is 0.0, and a whole fleet may be spelled as a float or a string (YAML 1.1 reads 1e2 as one).
    a = load_study({**base, "bounds": [{"min_accuracy": 0.9, "rate": -0.0, "fleet": 4.0},
                                       {"min_accuracy": 0.9, "rate": 0, "fleet": "1e2"}]})
    assert a.bounds == [{"min_accuracy": 0.9, "rate": 0.0, "fleet": 4},
                        {"min_accuracy": 0.9, "rate": 0.0, "fleet": 100}]
    assert str(a.bounds[0]["rate"]) == "0.0"
    with pytest.raises(ValueError, match=r"bounds\[0\]\.fleet = 2\.5: expected a whole number"):
        load_study({**base, "bounds": [{"min_accuracy": 0.9, "rate": 1, "fleet": 2.5}]})
    # Links queue only where a route is one server per link: refused in the study file, by bound and topology.
    bottleneck = {"names": ["a", "b", "c"], "ratio": [4, 2, 1], "bandwidth": [1e6, 1e7], "latency": [0.01, 0.02],
                  "route_rule": "bottleneck"}
    with pytest.raises(ValueError, match=r"bounds\[1\]\.link_queues with topologies\[0\] \('bn'\): link_queues: a "
                                         r"'bottleneck' route"):
        load_study({**base, "topologies": [{"topology": bottleneck, "name": "bn"}],
                    "bounds": [{"min_accuracy": 0.9}, {"min_accuracy": 0.9, "rate": 1, "link_queues": True}]})
