"""Running a study on Dask: the scenarios not yet written are batched into tasks, each task writes one
Parquet file, and a rerun (after a failure, a killed worker or Ctrl-C) computes only what is missing.

The output folder holds `_study.json` (what the study is), `_study.lock` (held by the run in progress: a
second run on the folder is refused, see lock.py) and `part-<first scenario>.parquet` files; every file's
metadata names its study (the fingerprint), its scenarios and its row count, and a rerun verifies each part
against them before counting it done (parts.py: foreign, empty or truncated parts are rewritten). Files
appear whole or not at all (temporary name, then rename).

The driver streams the batches: a generator makes each one as a slot frees, and at most
WINDOW_PER_THREAD tasks per worker thread are in flight, so its memory does not grow with the study's size
(one byte per batch of bookkeeping; see docs/studies.md for the bound measured).
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._deprecated import positional
from ..io.atomic import atomic_path, remove_stale
from ..model.configs import count_configurations
from .lock import FolderLock, StudyLocked  # noqa: F401 (StudyLocked: what a busy folder raises)
from .parts import Check, Layout, check_parts
from .schema import FILE_PREFIX, META_SCENARIOS, OPTIONAL_COLUMNS, decode_ranges
from .spec import StudySpec, load_study, profile_hash
from .tasks import Batch, run_batch

log = logging.getLogger(__name__)

MANIFEST = "_study.json"
FORMAT = 1
TASKS_PER_THREAD = 4  # at least this many tasks per worker thread, so that a slow one does not hold the end
SWEEP_CONFIGS_PER_TASK = 50_000_000
MAX_TASKS = 2000  # plans and frontiers: batches grow past their default size to keep to this many tasks
WINDOW_PER_THREAD = 2  # tasks in flight per worker thread: one running, one queued behind it
DASK_LOG_LENGTH = 10  # recent messages Dask keeps per connection (each up to 1 MB), for a client and cluster made here


class StudyFailed(RuntimeError):
    """Some tasks failed after their retries; the scenarios they held are not written (rerun to retry).

    `run_study` raises it once every other task has finished, naming the failed ones; the command line
    prints it in one line with exit code 1.

    Examples
    --------
    >>> from eepart_fast.study import StudyFailed
    >>> issubclass(StudyFailed, RuntimeError)
    True
    """


@dataclass
class StudyResult:
    """What one `run_study` call did: the scenarios it ran and skipped and the files it wrote.

    Parameters
    ----------
    path : Path
        The result folder.
    scenarios : int
        Scenarios in the study.
    skipped : int
        Scenarios already written by an earlier run.
    ran : int
        Scenarios computed by this run.
    rows : int
        Rows written by this run.
    bytes : int
        Bytes of the files written by this run.
    files : int
        Files written by this run.
    seconds : float
        Wall time of the run.
    rewritten : dict, optional
        Part files found in the folder that did not verify, by reason (parts.REASONS): recomputed.

    Examples
    --------
    >>> from pathlib import Path
    >>> from eepart_fast.study import StudyResult
    >>> r = StudyResult(path=Path("results"), scenarios=8, skipped=2, ran=6, rows=120, bytes=4096, files=3,
    ...                 seconds=1.5)
    >>> r
    StudyResult(8 scenarios at 'results': 6 run, 2 already there; 120 rows in 3 files, 1.5 s)
    >>> r.rejected
    0
    """
    path: Path
    scenarios: int  # in the study
    skipped: int  # already written by an earlier run
    ran: int  # computed by this run
    rows: int  # written by this run
    bytes: int
    files: int
    seconds: float
    rewritten: dict = None  # parts found there that did not verify, by reason (parts.REASONS): recomputed

    @property
    def rejected(self) -> int:
        return sum((self.rewritten or {}).values())

    def __repr__(self) -> str:
        bad = (f"; {self.rejected} part files there did not verify and were rewritten "
               f"({', '.join(f'{n} {r}' for r, n in self.rewritten.items() if n)})") if self.rejected else ""
        return (f"StudyResult({self.scenarios:,} scenarios at {str(self.path)!r}: {self.ran:,} run, "
                f"{self.skipped:,} already there; {self.rows:,} rows in {self.files} files, {self.seconds:.1f} s{bad})")


def result_files(out) -> list:
    return sorted(Path(out).glob(f"{FILE_PREFIX}*.parquet"))


def done_scenarios(out, total: int) -> np.ndarray:
    """Which scenarios the folder's files claim to hold (each file's metadata, unverified; a run verifies
    each part against its study before trusting it: parts.check_parts)."""
    import pyarrow.parquet as pq

    done = np.zeros(total, dtype=bool)
    for f in result_files(out):
        try:
            meta = pq.read_metadata(f).metadata or {}
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise ValueError(f"{f}: not a readable Parquet file ({exc}); "
                             "remove it to recompute its scenarios") from None
        if META_SCENARIOS not in meta:
            raise ValueError(f"{f}: not a study result file (no {META_SCENARIOS.decode()} metadata)")
        for start, stop in decode_ranges(meta[META_SCENARIOS]):
            if stop > total:
                raise ValueError(f"{f}: holds scenario {stop - 1}, but the study has {total}")
            if done[start:stop].any():
                dup = start + int(np.flatnonzero(done[start:stop])[0])
                raise ValueError(f"{f}: scenario {dup} is also in another file of {out}")
            done[start:stop] = True
    return done


# How to replace a folder's results, from either door: the command line's flag and the Python keyword.
OVERWRITE = "--overwrite (eepart study STUDY.yaml --out DIR --overwrite; in Python, overwrite=True)"


def _read_manifest(out: Path, overwrite: bool = False):
    """The folder's manifest (None where it has none); an unreadable one is an error, or with `overwrite`
    another study's ({}), to be replaced."""
    try:
        d = json.loads((out / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        if overwrite:
            return {}
        raise ValueError(f"{out / MANIFEST}: unreadable ({exc}); choose another folder, or replace it with "
                         f"{OVERWRITE}") from exc
    return d if isinstance(d, dict) else {}


def _clear(out: Path, spec: StudySpec, overwrite: bool) -> dict | None:
    """The folder's manifest if it holds this study; another study's results are an error (or removed)."""
    manifest = _read_manifest(out, overwrite)
    if manifest is not None and manifest.get("fingerprint") == spec.fingerprint():
        size = manifest.get("batch_size")
        if not isinstance(size, bool) and isinstance(size, int) and size >= 1:
            return manifest
        if not overwrite:
            raise ValueError(f"{out / MANIFEST}: batch_size = {size!r} is not a positive integer; replace the "
                             f"folder's results with {OVERWRITE}")
    if manifest is None and not result_files(out):
        return None
    if not overwrite:
        what = "the results of another study (or of this one before its files changed)" if manifest is not None \
            else f"result files without {MANIFEST}"
        raise ValueError(f"out = {str(out)!r} holds {what}: choose another folder, or replace them with "
                         f"{OVERWRITE}")
    for f in result_files(out):
        f.unlink()
    (out / MANIFEST).unlink(missing_ok=True)
    return None


def _batch_size(spec: StudySpec, threads: int) -> int:
    """Scenarios per task: long enough to amortise scheduling, and at least TASKS_PER_THREAD tasks a thread."""
    if spec.batch_size is not None:
        return spec.batch_size
    if "sweep" in spec.compute:
        biggest = max(count_configurations(p.N, a.topology.M, p.K) for _, p in spec.profiles for a in spec.topologies)
        size = max(1, SWEEP_CONFIGS_PER_TASK // biggest)
    else:
        size = 250 if "frontier" in spec.compute else 1000
        # A search under load is K engine searches, and one with link queues a label search (about a second
        # on the shipped profiles): a task stays seconds to minutes long, not hours.
        if any(b.get("link_queues") for b in spec.bounds):
            size = 8
        elif any("rate" in b for b in spec.bounds):
            size = min(size, 100)
        # A large study in fewer, larger tasks: each task costs a Planner, a file and its fsync, and
        # Dask's scheduling (tens of ms together on a loaded 2-core machine), most of a task of 250 cheap scenarios.
        size = max(size, math.ceil(spec.scenarios / MAX_TASKS))
    return min(size, max(1, math.ceil(spec.scenarios / (TASKS_PER_THREAD * max(1, threads)))))


def make_batches(spec: StudySpec, out: Path, done, batch_size: int):
    """The tasks still to run, made one at a time (a generator: a study's batches are never all in memory).
    Batches are fixed slices of each group (from the batch size the folder recorded), so a rerun, a retry
    or a late task of a dead run writes the same file with the same rows. `done`: one bool per batch of
    parts.Layout(spec, batch_size), true where a verified part holds it (None: nothing done)."""
    fingerprint = spec.fingerprint()
    params, has_time = spec.param_columns(), spec.has_time()
    B = len(spec.bounds)
    phash = [profile_hash(p) for _, p in spec.profiles]
    index = 0
    for g in spec.groups:
        axis = spec.topologies[g.topology]
        label, profile = spec.profiles[g.profile]
        for start in range(0, g.size, batch_size):
            skip = done is not None and bool(done[index])
            index += 1
            if skip:
                continue
            stop = min(g.size, start + batch_size)
            v0, v1 = start // B, (stop - 1) // B + 1  # the variants it spans
            yield Batch(
                out=str(out), study=fingerprint, param_columns=params, has_time=has_time, compute=spec.compute,
                backend=spec.backend, max_memory=spec.max_memory, profile=profile, profile_label=label,
                profile_hash=phash[g.profile], topology=axis.topology, topology_label=axis.label,
                params=axis.params, source=g.source, destination=g.destination,
                bounds=spec.bounds, first=g.offset + start, start=start, count=stop - start,
                values=np.ascontiguousarray(axis.values[v0:v1], dtype=np.float64),
                time=None if axis.time is None else np.array(axis.time[v0:v1], dtype=np.float64),
                energy_tiers=spec.energy_tiers)


def _local_client(workers, threads):
    from dask.distributed import Client, LocalCluster

    for name, value in (("workers", workers), ("threads", threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} = {value!r}: must be a positive integer")
    n = workers or os.cpu_count() or 1
    # The engine releases the GIL, so threads share a process well; processes also isolate a crash.
    # No dashboard; the scheduler's HTTP server on a free port of 127.0.0.1 (by default it tries 8787 and
    # warns on stderr when another cluster holds it).
    cluster = LocalCluster(n_workers=n, threads_per_worker=threads or 1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False})
    return Client(cluster), cluster


def _running(client, futures: dict) -> bool:
    """Whether a worker is computing one of `futures` now (the scheduler's `processing`)."""
    try:
        busy = {key for keys in client.processing().values() for key in keys}
    except Exception:  # the scheduler gone: nothing runs
        return False
    return any(f.key in busy for f in futures)


def _stalled(client, futures: dict, seconds: float) -> str:
    """Why a run stopped waiting: how long, for which tasks, on how many workers."""
    try:
        workers = len(client.scheduler_info()["workers"])
    except Exception as exc:  # the scheduler itself may be gone; the message must still come out
        workers = f"unknown ({type(exc).__name__})"
    first = min(info[0] for info in futures.values())
    statuses = sorted({f.status for f in futures})
    why = ("no worker has joined the scheduler" if workers == 0 else
           "none of the workers is running this study's tasks: do they run and import eepart_fast (the same "
           "version)?")
    return (f"no task finished in stall_timeout = {seconds:g} s, and {why} ({len(futures)} in flight from "
            f"scenario {first}, status {', '.join(statuses)}; workers: {workers}). The scenarios written are kept: "
            "rerun into the same folder to go on")


def _kill_workers(cluster) -> None:
    """Ctrl-C: the local cluster's worker processes end now rather than after their graceful close (seconds);
    what they were writing stays a hidden temporary, removed below."""
    for nanny in list(getattr(cluster, "workers", {}).values()):
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def run_study(study, out, *, client=None, scheduler: str | None = None, workers: int | None = None,
              threads: int | None = None, batch_size: int | None = None, progress: bool | None = None,
              overwrite: bool = False, retries: int = 2, stall_timeout: float = 600.0) -> StudyResult:
    """Runs (or resumes) `study` into the folder `out`, on Dask; the results a Parquet dataset.

    Scenarios already in `out` are skipped, so a rerun after a failure, a killed worker or Ctrl-C computes
    only what is missing. Failed tasks are retried `retries` times; if some still fail, StudyFailed names
    them after the others have finished.

    One run at a time per folder: the run holds an OS lock on `out/_study.lock`, and another run on the
    folder raises StudyLocked (a ValueError) naming the holder, before it connects to anything. The parts
    already there are verified against this study (fingerprint, scenarios, row count; parts.py) and those
    that fail are rewritten: the result's `rewritten` counts them by reason, and a warning says so.

    Parameters
    ----------
    study : str, Path, dict or StudySpec
        A study file (YAML or JSON, docs/studies.md), its content as a mapping, or a loaded StudySpec.
    out : str or Path
        The result folder, on a filesystem every worker sees.
    client : dask.distributed.Client, optional, keyword-only
        Where to run; default: `scheduler`, else a LocalCluster made for this call.
    scheduler : str, optional, keyword-only
        A running Dask scheduler, "tcp://host:port".
    workers : int, optional, keyword-only
        The LocalCluster's worker processes (default: one per core).
    threads : int, optional, keyword-only
        The LocalCluster's threads per worker (default 1).
    batch_size : int, optional, keyword-only
        Scenarios per task (default: sized to the work).
    progress : bool or None, keyword-only
        A tqdm bar; None (default): only on a terminal.
    overwrite : bool, default False, keyword-only
        Replace another study's results in `out`.
    retries : int, default 2, keyword-only
        How often a failed task is retried.
    stall_timeout : float, default 600, keyword-only
        Seconds without any task finishing, and none running on a worker, after which the run stops with
        StudyFailed (workers that never come up, or cannot import this package, would otherwise be waited for
        forever); a task still computing is waited for. The parts written so far are kept.

    Returns
    -------
    StudyResult
        What this run ran, skipped and wrote.

    Raises
    ------
    StudyLocked
        When another run holds `out`.
    StudyFailed
        When some tasks still failed after their retries, or none finished for `stall_timeout` seconds.
    ValueError
        When the study or an option is invalid (named).

    Examples
    --------
    >>> from eepart_fast.study import load_study, run_study
    >>> spec = load_study({"name": "tiny", "profiles": ["resnet20-fashionmnist"], "topologies": ["mobile"],
    ...                    "compute": ["frontier"], "bounds": [{"min_accuracy": 0.9}]})
    >>> spec.scenarios
    1
    >>> result = run_study(spec, "results/", workers=2, progress=False)  # doctest: +SKIP
    >>> result.ran  # doctest: +SKIP
    1
    """
    spec = load_study(study)
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size = {batch_size!r}: must be a positive integer")
        spec.batch_size = batch_size
    if isinstance(stall_timeout, bool) or not isinstance(stall_timeout, (int, float)) or not (
            0 < stall_timeout < math.inf):
        raise ValueError(f"stall_timeout = {stall_timeout!r}: expected a finite number of seconds > 0")
    out = Path(out).absolute()  # workers may run elsewhere: the same path on a shared filesystem
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with FolderLock(out, spec.name, spec.fingerprint()), _short_logs(client is None):
        return _run_locked(spec, out, started, client, scheduler, workers, threads, progress, overwrite, retries,
                           stall_timeout)


def _short_logs(own: bool):
    """Dask keeps its last `distributed.admin.low-level-log-length` messages (default 1000) on every
    connection, each task's arguments with them: on a client and a LocalCluster made here the logs are
    DASK_LOG_LENGTH long, which bounds what they hold in the driver. (A client passed in keeps its own.)"""
    if not own:
        return contextlib.nullcontext()
    import dask

    return dask.config.set({"distributed.admin.low-level-log-length": DASK_LOG_LENGTH})


def _verify(out: Path, spec: StudySpec, size: int, fingerprint: str, result: StudyResult) -> Check:
    """The parts in `out` that verify; the others are removed (to be recomputed) and counted in `result`."""
    check = check_parts(out, Layout(spec, size), fingerprint)
    for reason, paths in check.bad.items():
        for path in paths:
            path.unlink(missing_ok=True)
        result.rewritten[reason] += len(paths)
    if check.rejected:
        names = [p.name for paths in check.bad.values() for p in paths]
        log.warning(f"{out}: {check.summary()} part files did not verify against study {spec.name!r} and are "
                    f"rewritten: {', '.join(names[:3])}{', ...' if len(names) > 3 else ''}")
    return check


def _run_locked(spec, out, started, client, scheduler, workers, threads, progress, overwrite, retries,
                stall_timeout) -> StudyResult:
    from tqdm.auto import tqdm

    from .parts import REASONS

    manifest = _clear(out, spec, overwrite)
    if manifest is not None and spec.batch_size is not None and manifest.get("batch_size") != spec.batch_size:
        raise ValueError(f"batch_size = {spec.batch_size}: {out} was started with batch_size "
                         f"{manifest.get('batch_size')}; resume with that (or none)")
    remove_stale(out, FILE_PREFIX)
    fingerprint = spec.fingerprint()
    result = StudyResult(out, spec.scenarios, 0, 0, 0, 0, 0, 0.0, rewritten={r: 0 for r in REASONS})
    check = None
    if manifest is not None:
        check = _verify(out, spec, int(manifest["batch_size"]), fingerprint, result)
        result.skipped = check.scenarios
        if check.scenarios == spec.scenarios:
            result.seconds = time.perf_counter() - started
            return result
    own, cluster = client is None, None
    if client is None:
        if scheduler is not None:
            from dask.distributed import Client

            client = Client(scheduler, timeout="20s")
        else:
            client, cluster = _local_client(workers, threads)
    futures = {}  # in flight: future -> (first scenario, last, count, profile label, topology label)
    failed, first_failure, lost, submitted = 0, None, 0, 0
    try:
        from dask.distributed import wait

        nthreads = sum(client.nthreads().values())
        if manifest is None:
            manifest = {"format": FORMAT, "fingerprint": fingerprint,
                        "batch_size": _batch_size(spec, nthreads), **spec.summary()}
            with atomic_path(out / MANIFEST) as tmp:
                tmp.write_text(json.dumps(manifest, indent=1) + "\n")
            check = Check(np.zeros(len(Layout(spec, int(manifest["batch_size"]))), dtype=bool))
        batches = make_batches(spec, out, check.done, int(manifest["batch_size"]))
        window = max(2, WINDOW_PER_THREAD * nthreads)

        def submit() -> None:
            """The next batch made and submitted, if any: called once per slot, then as each task ends."""
            nonlocal submitted
            b = next(batches, None)
            if b is None:
                return
            fut = client.submit(run_batch, b, retries=retries, pure=False)
            futures[fut] = (b.first, b.first + b.count - 1, b.count, b.profile_label, b.topology_label)
            submitted += 1

        for _ in range(window):
            submit()
        with tqdm(total=spec.scenarios - check.scenarios, unit="scenario",
                  disable=(None if progress is None else not progress), desc=f"study {spec.name}") as bar:
            while futures:
                try:
                    done, _ = wait(list(futures), timeout=stall_timeout, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    # A task ending as the wait timed out, or still computing, is no stall: collect or wait for it.
                    if any(f.status != "pending" for f in futures) or _running(client, futures):
                        continue
                    raise StudyFailed(_stalled(client, futures, stall_timeout)) from None
                for fut in sorted(done, key=lambda f: futures[f][0]):
                    info = futures.pop(fut)
                    if fut.status == "error":
                        failed += 1
                        lost += info[2]
                        if first_failure is None:
                            first_failure = (info, fut.exception())
                    else:
                        r = fut.result()
                        result.ran += r["scenarios"]
                        result.rows += r["rows"]
                        result.bytes += r["bytes"]
                        result.files += 1
                    bar.update(info[2])
                    fut.release()
                    del fut
                    submit()
    except BaseException as exc:
        if futures and not own:
            client.cancel(list(futures))
        if cluster is not None and isinstance(exc, KeyboardInterrupt):
            _kill_workers(cluster)
        raise
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
            remove_stale(out, FILE_PREFIX)
    result.seconds = time.perf_counter() - started
    if first_failure is not None:
        (first, last, _, plabel, tlabel), exc = first_failure
        raise StudyFailed(f"{failed} of {submitted} tasks failed ({lost:,} scenarios not written); first: "
                          f"scenarios {first}..{last} ({plabel} on {tlabel}): {type(exc).__name__}: {exc}. Rerun the "
                          "same study into the same folder to retry them: the scenarios written are kept")
    final = check_parts(out, Layout(spec, int(manifest["batch_size"])), fingerprint)
    if final.scenarios != spec.scenarios:
        missing = int(np.flatnonzero(~final.done)[0])
        raise StudyFailed(f"{spec.scenarios - final.scenarios:,} scenarios are missing from {out} after the run "
                          f"(first: {Layout(spec, int(manifest['batch_size'])).scenarios(missing)[0]}; parts that "
                          f"did not verify: {final.summary()}); was the folder changed meanwhile? "
                          "Rerun to compute them")
    return result


@positional("columns", "filters")
def read_study(out, *, columns=None, filters=None):
    """The results in `out` as one pyarrow Table (`.to_pandas()` for pandas).

    Parameters
    ----------
    out : str or Path
        A result folder `run_study` wrote (or any folder of Parquet files).
    columns : list of str, optional, keyword-only
        Read only these columns; ``energy`` and ``max_energy`` asked of results without them (a study
        without energy_tiers, or written before energy) read as nulls.
    filters : list, optional, keyword-only
        Row filters, as ``pyarrow.parquet.read_table`` takes them, e.g. ``[("min_accuracy", "=", 0.9)]``.

    Returns
    -------
    pyarrow.Table

    Examples
    --------
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> from pathlib import Path
    >>> from eepart_fast.study import read_study
    >>> Path("results").mkdir()
    >>> pq.write_table(pa.table({"scenario": [0, 1, 2], "latency": [0.1, 0.2, 0.3]}), "results/part-0.parquet")
    >>> read_study("results", columns=["scenario"]).column("scenario").to_pylist()
    [0, 1, 2]
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if columns is None:
        return pq.read_table(out, columns=columns, filters=filters)
    # A study without energy (or written before it) has no energy columns: asked for, they read as nulls.
    names = set(pq.ParquetDataset(out).schema.names)
    absent = [c for c in columns if c in OPTIONAL_COLUMNS and c not in names]
    table = pq.read_table(out, columns=[c for c in columns if c not in absent], filters=filters)
    for c in absent:
        table = table.add_column(columns.index(c), pa.field(c, pa.float64()), pa.nulls(table.num_rows, pa.float64()))
    return table
