"""One task of a study: a batch of scenarios sharing (profile, topology, source, destination), run on one
Planner whose links change from scenario to scenario, written to one Parquet file at once (or not at all).

The file's name comes from its first scenario, so a retried task replaces its own file and never adds a
second copy; its metadata lists the scenarios it holds, which is how a rerun knows what is done.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..io.arrow import constant, row_columns, writer_options
from ..io.atomic import atomic_path
from ..planning.evaluation import sweep
from ..planning.planner import Planner
from .schema import (
    FILE_PREFIX,
    LABEL,
    META_ROWS,
    META_SCENARIOS,
    META_STUDY,
    encode_ranges,
    result_schema,
)
from .spec import topology_hash

FLUSH_ROWS = 1 << 20  # rows held before a row group is written: a task's memory stays bounded


@dataclass
class Batch:
    out: str
    study: str  # the study's fingerprint
    param_columns: list  # the study's parameter columns (the schema)
    has_time: bool
    compute: list
    backend: str
    max_memory: int
    profile: object
    profile_label: str
    profile_hash: str
    topology: object  # before parameters
    topology_label: str
    params: list  # [Param] this topology varies
    source: int
    destination: int
    bounds: list  # the study's bounds
    first: int  # number of its first scenario in the study
    start: int  # its first scenario's place in its group: variant * len(bounds) + bound
    count: int  # scenarios, consecutive
    values: np.ndarray  # (variants it spans, len(params)) float64: the rows of variants start // len(bounds) ..
    time: np.ndarray | None  # (variants it spans,)

    # A batch is sent as these few numbers and its variants' rows, not as arrays per scenario: what the
    # driver (and Dask's logs of recent messages) holds per task in flight stays small.

    @property
    def scenarios(self) -> np.ndarray:
        """(count,) int64: the study's numbers of its scenarios."""
        return np.arange(self.first, self.first + self.count, dtype=np.int64)

    @property
    def bound(self) -> np.ndarray:
        """(count,) int64: each scenario's index into bounds."""
        return (self.start + np.arange(self.count, dtype=np.int64)) % len(self.bounds)

    @property
    def variant(self) -> np.ndarray:
        """(count,) int64: each scenario's row of values (and time)."""
        B = len(self.bounds)
        return (self.start + np.arange(self.count, dtype=np.int64)) // B - self.start // B

    @property
    def file(self) -> str:
        return f"{FILE_PREFIX}{int(self.first):012d}.parquet"


def scenario_id(profile_hash: str, topology, source: int, destination: int, bound: dict,
                topology_digest: str | None = None) -> str:
    """What the scenario is, hashed: the profile's numbers, the network as planned on (parameters applied),
    the tiers and the bound. The same scenario has the same id in every study, however it was spelled.
    `topology_digest`: topology_hash(topology), where the caller has it already."""
    text = "|".join([profile_hash, topology_digest or topology_hash(topology), str(source), str(destination),
                     ";".join(f"{k}={bound[k]!r}" for k in sorted(bound))])
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class _Rows:
    """Plans gathered row by row (frontier points, P_lat, P_acc), turned into columns at the end."""

    def __init__(self, lmax: int):
        self.lmax = lmax
        self.pos, self.kind, self.point, self.found = [], [], [], []
        self.latency, self.accuracy, self.t, self.L, self.P, self.A = [], [], [], [], [], []

    def __len__(self):
        return len(self.pos)

    def add(self, pos: int, kind: str, point: int, plan) -> None:
        self.pos.append(pos)
        self.kind.append(kind)
        self.point.append(point)
        self.found.append(plan is not None)
        pad = [-1] * self.lmax
        if plan is None:
            self.latency.append(np.nan)
            self.accuracy.append(np.nan)
            self.t.append(0)
            self.L.append(0)
            self.P.append(pad)
            self.A.append(pad)
            return
        L = plan.num_partitions
        self.latency.append(plan.latency)
        self.accuracy.append(plan.accuracy)
        self.t.append(plan.threshold_index)
        self.L.append(L)
        self.P.append(list(plan.partitions) + pad[L:])
        self.A.append(list(plan.placement) + pad[L:])


def _plans(planner: Planner, compute: list, bound: dict, pos: int, rows: _Rows) -> None:
    lo, hi, q = bound.get("min_accuracy"), bound.get("max_latency"), bound.get("quantile")
    if "frontier" in compute:
        front = [p for p in planner.pareto(quantile=q) if (lo is None or p.accuracy >= lo) and (hi is None or p.latency <= hi)]
        for i, plan in enumerate(front):
            rows.add(pos, "frontier", i, plan)
        if not front:
            rows.add(pos, "frontier", 0, None)
    if "plans" in compute:
        if lo is not None:
            best = planner.min_latency(min_accuracy=lo, quantile=q)
            rows.add(pos, "P_lat", 0, best if best is None or hi is None or best.latency <= hi else None)
        if hi is not None:
            best = planner.max_accuracy(max_latency=hi, quantile=q)
            rows.add(pos, "P_acc", 0, best if best is None or lo is None or best.accuracy >= lo else None)


class _Table:
    """Builds the study's table for rows of one batch: scenario columns taken by each row's position."""

    def __init__(self, batch: Batch):
        self.batch = batch
        self.schema = result_schema(batch.param_columns, batch.has_time)
        b = batch
        self.scenario = b.scenarios
        self.bound = b.bound
        self.variant = b.variant
        self.ids = [""] * b.count  # filled as the scenarios run
        self.min_acc = np.array([b.bounds[i].get("min_accuracy", np.nan) for i in self.bound])
        self.max_lat = np.array([b.bounds[i].get("max_latency", np.nan) for i in self.bound])
        self.has_lo = np.array(["min_accuracy" in b.bounds[i] for i in self.bound], dtype=bool)
        self.has_hi = np.array(["max_latency" in b.bounds[i] for i in self.bound], dtype=bool)
        self.quantile = np.array([b.bounds[i].get("quantile", np.nan) for i in self.bound])
        self.has_q = np.array(["quantile" in b.bounds[i] for i in self.bound], dtype=bool)
        self.names = b.topology.names

    def build(self, pos: np.ndarray, kind, point, found, result: list) -> pa.Table:
        b, n = self.batch, pos.shape[0]
        cols = [pa.array(self.scenario[pos]), pa.array(self.ids, type=pa.string()).take(pa.array(pos)),
                constant(b.profile_label, n, LABEL), constant(b.topology_label, n, LABEL),
                constant(self.names[b.source], n, LABEL), constant(self.names[b.destination], n, LABEL)]
        varied = {p.column: j for j, p in enumerate(b.params)}
        for c in b.param_columns:
            cols.append(pa.array(b.values[self.variant[pos], varied[c]]) if c in varied else pa.nulls(n, pa.float64()))
        if b.has_time:
            cols.append(pa.nulls(n, pa.float64()) if b.time is None else pa.array(b.time[self.variant[pos]]))
        cols.append(pa.array(self.min_acc[pos], mask=~self.has_lo[pos]))
        cols.append(pa.array(self.max_lat[pos], mask=~self.has_hi[pos]))
        cols.append(pa.array(self.quantile[pos], mask=~self.has_q[pos]))
        cols.append(kind if isinstance(kind, pa.Array) else
                    pa.array(kind, type=pa.string()).dictionary_encode().cast(LABEL))
        cols.append(pa.array(np.asarray(point, dtype=np.int32)))
        found = np.asarray(found, dtype=bool)
        cols.append(pa.array(found))
        missing = ~found
        if missing.any():  # a scenario without a plan: its values are null, its lists empty
            result = [pa.array(c.to_numpy(zero_copy_only=False), mask=missing) for c in result[:4]] + list(result[4:])
        return pa.Table.from_arrays(cols + result, schema=self.schema)


def run_batch(batch: Batch) -> dict:
    """Runs the batch's scenarios and writes its file; returns what it wrote."""
    out = Path(batch.out)
    if not out.is_dir():
        raise FileNotFoundError(f"study output folder {batch.out!r} is not visible on this worker: a study on a "
                                "cluster needs --out on a filesystem every worker shares")
    b = batch
    n = b.count
    planner = Planner(b.profile, b.topology, source=b.source, destination=b.destination, backend=b.backend)
    table = _Table(b)
    lmax = min(b.profile.N, b.topology.M)
    schema = table.schema.with_metadata({META_SCENARIOS: encode_ranges(range(b.first, b.first + n)),
                                         META_STUDY: b.study.encode()})
    variant, bound_index = table.variant, table.bound
    plan_kinds = [c for c in b.compute if c != "sweep"]
    rows = _Rows(lmax)
    pending, pending_rows, written_rows = [], 0, 0
    current = [None] * len(b.params)
    digest = None  # the topology's hash, recomputed only when a parameter changes (bounds run fastest)
    with atomic_path(out / b.file) as tmp:
        with pq.ParquetWriter(tmp, schema, **writer_options(schema)) as writer:
            for i in range(n):
                for j, p in enumerate(b.params):
                    v = float(b.values[variant[i], j])
                    if current[j] != v:
                        if p.field == "ratio":
                            planner.set_ratio(p.key, v)
                        elif p.field == "bandwidth":
                            planner.set_bandwidth(p.key, v)
                        else:
                            planner.set_latency(p.key, v)
                        current[j] = v
                        digest = None
                if digest is None:
                    digest = topology_hash(planner.topology)
                bound = b.bounds[bound_index[i]]
                table.ids[i] = scenario_id(b.profile_hash, planner.topology, b.source, b.destination, bound, digest)
                if plan_kinds:
                    _plans(planner, plan_kinds, bound, i, rows)
                if "sweep" in b.compute:
                    r = sweep(b.profile, planner.topology, source=b.source, destination=b.destination,
                              max_latency=bound.get("max_latency"), min_accuracy=bound.get("min_accuracy"),
                              backend=b.backend, max_memory=b.max_memory, quantile=bound.get("quantile"))
                    k = len(r)
                    if k:
                        pending.append(table.build(
                            np.full(k, i, dtype=np.int64), constant("row", k, LABEL), np.arange(k), np.ones(k, bool),
                            row_columns(r.latency, r.accuracy, r.threshold_index, b.profile.thresholds,
                                        r.num_partitions, r.partitions, r.placement)))
                    else:
                        rows.add(i, "row", 0, None)
                    pending_rows += k
                    if pending_rows >= FLUSH_ROWS:
                        writer.write_table(pa.concat_tables(pending))
                        written_rows += pending_rows
                        pending, pending_rows = [], 0
            if len(rows):
                pos = np.asarray(rows.pos, dtype=np.int64)
                P = np.asarray(rows.P, dtype=np.int32).reshape(len(rows), lmax)
                A = np.asarray(rows.A, dtype=np.int32).reshape(len(rows), lmax)
                pending.append(table.build(pos, rows.kind, rows.point, rows.found,
                                           row_columns(rows.latency, rows.accuracy, rows.t, b.profile.thresholds,
                                                       rows.L, P, A)))
                pending_rows += len(rows)
            if pending:
                whole = pa.concat_tables(pending)
                writer.write_table(whole.sort_by([("scenario", "ascending")]) if "sweep" not in b.compute else whole)
                written_rows += pending_rows
            # The footer's own row count is checked against this on resume: a part emptied or cut short
            # (with its metadata kept) is recomputed, not trusted.
            writer.add_key_value_metadata({META_ROWS: str(written_rows).encode()})
        size = tmp.stat().st_size
    return {"file": b.file, "scenarios": n, "rows": written_rows, "bytes": size}
