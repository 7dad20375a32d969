"""A study's result folder (issue 19, item 5): one study at a time (an OS lock on `_study.lock`, a second
run refused by name, and by a real second process), a different study in a finished folder refused unless
--overwrite, parts verified on resume (a foreign, an emptied, a zero-byte and a truncated part rewritten and
counted, the rows then equal to a fresh run's), and the driver streaming its batches (a generator; the
batches alive at once bounded by the window of tasks in flight, not by the study's size)."""
import gc
import inspect
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="needs the study extra: pip install 'eepart_fast[study]'")
pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra: pip install 'eepart_fast[study]'")
distributed = pytest.importorskip("dask.distributed", reason="needs the study extra: pip install 'eepart_fast[study]'")

import eepart_fast as ef
from eepart_fast.study import load_study, read_study, runner
from eepart_fast.study.lock import LOCK_FILE, FolderLock, StudyLocked
from eepart_fast.study.parts import Layout, check_parts, part_name
from eepart_fast.study.tasks import Batch

PYTHONPATH = os.pathsep.join(p for p in sys.path if p)


def study_text(name: str, min_accuracy: float, points: int = 10) -> str:
    return f"""\
name: {name}
profiles: [resnet20-fashionmnist]
topologies:
  - topology: mobile
    grid:
      bandwidth[1]: {{geomspace: [1e6, 1e8, {points}]}}
bounds: [{{min_accuracy: {min_accuracy}}}, {{max_latency: 0.15}}]
compute: plans
"""


def eepart(*args, timeout=120):
    return subprocess.Popen([sys.executable, "-m", "eepart_fast.cli", *map(str, args)],
                            env=dict(os.environ, PYTHONPATH=PYTHONPATH), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=120):
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
    return proc.returncode, out, err


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def rows(out):
    """The folder's rows as plain tuples, in a fixed order (files and their dictionaries differ run to run)."""
    return sorted((tuple(r.values()) for r in read_study(out).to_pylist()), key=lambda r: r[:1] + r[-9:-7])


@pytest.fixture(scope="module")
def client():
    import dask

    # Dask's logs of recent messages off (each would hold a task's arguments): the Batch objects alive in
    # this process are then the driver's own and the in-process scheduler's of the tasks in flight.
    with dask.config.set({"distributed.admin.low-level-log-length": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address="127.0.0.1:0")
        c = distributed.Client(cluster)
        yield c
        c.close()
        cluster.close()


# -- one study at a time -----------------------------------------------------------------------------------

def test_a_held_folder_is_refused_by_name(client, tmp_path):
    (tmp_path / "s.yaml").write_text(study_text("second", 0.9))
    out = tmp_path / "out"
    out.mkdir()
    with FolderLock(out, study="first", fingerprint="f" * 32):
        # in this process (another open of the lock file) ...
        with pytest.raises(StudyLocked, match=r"is in use: study 'first' \(fingerprint f{32}\), run by pid "
                                              rf"{os.getpid()}"):
            ef.study.run_study(tmp_path / "s.yaml", out, client=client, progress=False)
        # ... and from another process, refused in one line before any work, exit 2
        code, text, err = finish(eepart("study", tmp_path / "s.yaml", "--out", out, "--scheduler",
                                        client.scheduler.address, "--no-progress"))
        assert code == 2, err
        assert err.count("\n") == 1 and "is in use: study 'first'" in err and "two studies cannot share" in err, err
        assert not list(out.glob("part-*")) and not (out / runner.MANIFEST).exists()
    # released: the lock file stays (empty), and the folder is free
    assert (out / LOCK_FILE).read_text() == ""
    r = ef.study.run_study(tmp_path / "s.yaml", out, client=client, progress=False)
    assert r.ran == r.scenarios == 20


def test_two_concurrent_studies_on_one_folder(tmp_path):
    """Study A runs (on a cluster without workers yet, so it cannot finish early); study B on the same folder
    is refused by name while A holds it; A then completes with its own rows and manifest; B afterwards is
    refused as another study's folder, naming --overwrite, and with --overwrite replaces A."""
    (tmp_path / "a.yaml").write_text(study_text("alpha", 0.9))
    (tmp_path / "b.yaml").write_text(study_text("beta", 0.85))
    out = tmp_path / "out"
    cluster = distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address="127.0.0.1:0")
    client = distributed.Client(cluster)
    a = None
    try:
        a = eepart("study", tmp_path / "a.yaml", "--out", out, "--scheduler", cluster.scheduler_address,
                   "--batch-size", "3", "--no-progress")
        lock = out / LOCK_FILE
        wait_for(lambda: lock.exists() and "alpha" in lock.read_text() and (out / runner.MANIFEST).exists(), 60,
                 "study A to hold the folder")
        code, text, err = finish(eepart("study", tmp_path / "b.yaml", "--out", out, "--workers", "1",
                                        "--no-progress"))
        assert code == 2 and "is in use: study 'alpha'" in err, err
        assert a.poll() is None, "A ended before B was refused"
        cluster.scale(2)
        code, text, err = finish(a)
        assert code == 0, err
        assert "20 scenarios run" in text
    finally:
        if a is not None:
            a.kill()
        client.close()
        cluster.close()
    manifest = json.loads((out / runner.MANIFEST).read_text())
    assert manifest["name"] == "alpha"
    assert set(read_study(out, columns=["min_accuracy"]).column(0).drop_null().to_pylist()) == {0.9}
    # finished, and a different study: refused without --overwrite, naming it
    code, text, err = finish(eepart("study", tmp_path / "b.yaml", "--out", out, "--workers", "1",
                                    "--no-progress"))
    assert code == 2 and "another study" in err and "--overwrite" in err, err
    code, text, err = finish(eepart("study", tmp_path / "b.yaml", "--out", out, "--workers", "1",
                                    "--no-progress", "--overwrite"))
    assert code == 0, err
    assert json.loads((out / runner.MANIFEST).read_text())["name"] == "beta"
    assert set(read_study(out, columns=["min_accuracy"]).column(0).drop_null().to_pylist()) == {0.85}
    assert np.array_equal(np.sort(read_study(out, columns=["scenario"]).column(0).to_numpy()),
                          np.arange(20))


# -- parts verified on resume ---------------------------------------------------------------------------

def test_foreign_empty_and_truncated_parts_are_rewritten(client, tmp_path, caplog):
    (tmp_path / "a.yaml").write_text(study_text("alpha", 0.9))
    (tmp_path / "b.yaml").write_text(study_text("beta", 0.85))
    a, b, fresh = tmp_path / "a", tmp_path / "b", tmp_path / "fresh"
    for study, out in (("a.yaml", a), ("b.yaml", b), ("a.yaml", fresh)):
        r = ef.study.run_study(tmp_path / study, out, client=client, progress=False, batch_size=2)
        assert r.ran == 20 and r.files == 10
    # damage a's parts, each as the hostile test did
    (a / part_name(4)).write_bytes((b / part_name(4)).read_bytes())  # another study's part, in its place
    t = pq.read_table(a / part_name(6))
    pq.write_table(t.slice(0, 0), a / part_name(6))  # emptied: no rows, its metadata kept
    assert json.loads(pq.read_metadata(a / part_name(6)).metadata[b"eepart.scenarios"]) == [[6, 8]]
    (a / part_name(8)).write_bytes(b"")  # zero bytes
    whole = (a / part_name(10)).read_bytes()
    (a / part_name(10)).write_bytes(whole[:len(whole) // 2])  # cut short
    (a / part_name(3)).write_bytes((b / part_name(2)).read_bytes())  # a part no batch of this study writes
    spec = load_study(tmp_path / "a.yaml")
    check = check_parts(a, Layout(spec, 2), spec.fingerprint())
    assert {k: sorted(p.name for p in v) for k, v in check.bad.items()} == {
        "foreign": [part_name(3), part_name(4)], "empty": [part_name(6), part_name(8)],
        "truncated": [part_name(10)], "unverifiable": []}
    assert check.done.sum() == 6 and check.scenarios == 12
    with caplog.at_level("WARNING", logger="eepart_fast.study.runner"):
        r = ef.study.run_study(tmp_path / "a.yaml", a, client=client, progress=False)
    assert r.rewritten == {"foreign": 2, "empty": 2, "truncated": 1, "unverifiable": 0}
    assert (r.skipped, r.ran, r.files) == (12, 8, 4)
    assert "5 (2 foreign, 2 empty, 1 truncated) part files did not verify against study 'alpha'" in caplog.text
    assert "rewritten" in repr(r)
    assert rows(a) == rows(fresh)
    # and now every part verifies: nothing to do, nothing rewritten
    again = ef.study.run_study(tmp_path / "a.yaml", a, client=client, progress=False)
    assert (again.ran, again.skipped, again.rejected) == (0, 20, 0)


def test_the_command_line_says_how_many_parts_it_rewrote(client, tmp_path):
    (tmp_path / "a.yaml").write_text(study_text("alpha", 0.9))
    out = tmp_path / "out"
    ef.study.run_study(tmp_path / "a.yaml", out, client=client, progress=False, batch_size=5)
    (out / part_name(5)).write_bytes(b"")
    code, text, err = finish(eepart("study", tmp_path / "a.yaml", "--out", out, "--scheduler",
                                    client.scheduler.address, "--no-progress"))
    assert code == 0, err
    assert "1 (1 empty) part files did not verify" in err and part_name(5) in err, err
    assert "5 scenarios run, 15 already written" in text


# -- the driver streams its batches ---------------------------------------------------------------------------

def test_batches_are_made_lazily_and_bounded_by_the_window(client, tmp_path, monkeypatch):
    (tmp_path / "many.yaml").write_text(study_text("many", 0.9, points=60))
    spec = load_study(tmp_path / "many.yaml")
    assert inspect.isgenerator(runner.make_batches(spec, tmp_path, None, 1))
    nthreads = sum(client.nthreads().values())
    window = max(2, runner.WINDOW_PER_THREAD * nthreads)
    alive, made = [], []
    real = runner.make_batches

    def watched(*args, **kwargs):
        for batch in real(*args, **kwargs):
            made.append(1)
            gc.collect()
            # Batch objects in this process: the driver's and the (in-process) scheduler's copies
            alive.append(sum(isinstance(o, Batch) for o in gc.get_objects()))
            yield batch
            del batch

    monkeypatch.setattr(runner, "make_batches", watched)
    r = ef.study.run_study(spec, tmp_path / "out", client=client, progress=False, batch_size=1)
    assert r.ran == len(made) == 120
    # without streaming every batch would be alive at once (120); with it, those in flight and a few that
    # the scheduler has not forgotten yet
    print(f"batches alive at most: {max(alive)} (window {window}, batches {len(made)})")
    assert max(alive) <= 2 * window + 2, (window, alive)


def test_a_grid_is_computed_row_by_row_not_held():
    """A grid's points are GridValues: the rows of itertools.product, computed when asked for; the study's
    fingerprint is the one of the whole array's bytes, and a 10 M-point grid loads without holding them."""
    import hashlib
    import itertools
    import tracemalloc

    from eepart_fast.study.spec import GridValues

    axes = [np.geomspace(1e6, 1e8, 7), np.array([1.0, 2.0, 3.0]), np.linspace(0.01, 0.05, 5)]
    grid, whole = GridValues(axes), np.array(list(itertools.product(*axes)))
    assert grid.shape == whole.shape == (105, 3)
    np.testing.assert_array_equal(np.asarray(grid), whole)
    np.testing.assert_array_equal(np.array(list(grid)), whole)
    for key in (3, -1, slice(2, 50, 3), np.array([4, 9, 104]), (slice(None), 0), (5, 1), (slice(10, 20), slice(1, 3))):
        np.testing.assert_array_equal(grid[key], whole[key])
    h = hashlib.sha256()
    grid.digest(h)
    assert h.digest() == hashlib.sha256(whole.tobytes()).digest()
    tracemalloc.start()
    try:
        spec = load_study({"profiles": ["resnet20-fashionmnist"], "compute": "frontier", "topologies": [{
            "topology": "mobile", "grid": {"bandwidth[0]": {"geomspace": [1e5, 1e7, 1000]},
                                           "bandwidth[1]": {"geomspace": [1e6, 1e8, 100]},
                                           "bandwidth[2]": {"geomspace": [1e7, 1e9, 100]}}}]})
        spec.fingerprint()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert spec.scenarios == 10_000_000 and isinstance(spec.topologies[0].values, GridValues)
    assert peak < 40e6, peak  # the points would be 240 MB


def test_a_filesystem_without_locks_runs_with_a_warning(client, tmp_path, monkeypatch, caplog):
    import errno

    from eepart_fast.study import lock

    def no_locks(fd):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(lock, "_try_lock", no_locks)
    (tmp_path / "s.yaml").write_text(study_text("alpha", 0.9, points=2))
    with caplog.at_level("WARNING", logger="eepart_fast.study.lock"):
        r = ef.study.run_study(tmp_path / "s.yaml", tmp_path / "out", client=client, progress=False)
    assert r.ran == 4 and "cannot lock files (No locks available)" in caplog.text


def test_a_large_study_of_plans_keeps_to_max_tasks():
    """Cheap scenarios in many small tasks spend the run on per-task costs: a large study of plans or
    frontiers is cut into at most MAX_TASKS tasks, a small one as before."""
    grid = lambda n: {"profiles": ["resnet20-fashionmnist"], "compute": "frontier", "bounds": [{}],
                      "topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": {"geomspace": [1e6, 1e8, n]}}}]}
    big, small = load_study(grid(10_000_000)), load_study(grid(4000))
    assert runner._batch_size(big, 2) == 10_000_000 // runner.MAX_TASKS == 5000
    assert runner._batch_size(small, 2) == 250 and runner._batch_size(small, 16) == 63
