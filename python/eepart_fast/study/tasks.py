"""One task of a study: a batch of scenarios sharing (profile, topology, source, destination), their plans
found by the batch entry point (planning/batch.py: each distinct network built once, every search in one
engine call per kind), written to one Parquet file at once (or not at all).

The file's name comes from its first scenario, so a retried task replaces its own file and never adds a
second copy; its metadata lists the scenarios it holds, which is how a rerun knows what is done.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..io import arrow
from ..io.arrow import constant, from_numpy, row_columns, strings, writer_options
from ..io.atomic import atomic_path
from ..model.load import Load
from ..planning.batch import _Batch
from ..planning.evaluation import sweep
from ..planning.load import COLUMNS as LOAD_COLUMNS
from ..planning.load import load_pareto
from .schema import (
    FILE_PREFIX,
    LABEL,
    META_ROWS,
    META_SCENARIOS,
    META_STUDY,
    encode_ranges,
    result_schema,
)
from .spec import topology_dict_hash, topology_hash

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
    energy_tiers: object = None  # the study's (None: no energy columns)

    # A batch is sent as these few numbers and its variants' rows, not as arrays per scenario: what the
    # driver (and Dask's logs of recent messages) holds per task in flight stays small.

    @property
    def load(self) -> bool:
        """Whether the study has a load in some bound: then every part has the rate, fleet and link_queues
        columns (a study without one writes the columns it always did)."""
        return any("rate" in bound for bound in self.bounds)

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
                topology_digest: str | None = None, energy_tiers=None) -> str:
    """What the scenario is, hashed: the profile's numbers, the network as planned on (parameters applied),
    the tiers, the bound and whose energy counts (where a study has energy_tiers; without, the id is as
    before energy). The same scenario has the same id in every study, however it was spelled.
    `topology_digest`: topology_hash(topology), where the caller has it already."""
    text = "|".join([profile_hash, topology_digest or topology_hash(topology), str(source), str(destination),
                     ";".join(f"{k}={bound[k]!r}" for k in sorted(bound))])
    if energy_tiers is not None:
        text += f"|energy_tiers={energy_tiers!r}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _network_digests(planned: _Batch) -> list:
    """topology_hash of each network where the batch has its chain links (no Topology made: the base's
    to_dict with the network's links), None for the others."""
    links = planned.chain_links()
    if links is None:
        return [None] * len(planned.sc.keys)
    form = planned.base.topology.to_dict()
    if not all(type(v) is float for v in form["bandwidth"] + form["latency"]):  # as given: kept where not changed
        return [None] * len(planned.sc.keys)
    return [topology_dict_hash({**form, "bandwidth": bw, "latency": lat}) if ok else None
            for bw, lat, ok in zip(links[0].tolist(), links[1].tolist(), links[2].tolist())]


def _network_columns(b: Batch, variant: np.ndarray) -> dict:
    """The batch's scenarios as plan_many's columns: each parameter's value by scenario."""
    cols: dict = {"source": np.full(variant.shape[0], b.source)}  # says how many, with no parameter at all
    for j, p in enumerate(b.params):
        cols.setdefault(p.field, {})[p.key] = b.values[variant, j]
    return cols


def _found_rows(pos, kind: str, point, columns: dict, keep, lmax: int) -> dict:
    """Rows of one kind: the plans kept (`keep` over the columns' rows) and, for each of `pos`'s scenarios
    without one, a row that says so."""
    n = keep.sum()
    rows = {"pos": columns["scenario"][keep], "point": point[keep], "found": np.ones(n, bool)}
    for k in ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement") + \
            (("energy",) if "energy" in columns else ()):
        rows[k] = columns[k][keep]
    missing = np.setdiff1d(pos, rows["pos"])
    m = missing.shape[0]
    none = {"pos": missing, "point": np.zeros(m, np.int64), "found": np.zeros(m, bool), "latency": np.full(m, np.nan),
            "accuracy": np.full(m, np.nan), "threshold_index": np.zeros(m, np.int32),
            "num_partitions": np.zeros(m, np.int32), "partitions": np.full((m, lmax), -1, np.int32),
            "placement": np.full((m, lmax), -1, np.int32), "energy": np.full(m, np.nan)}
    out = {k: np.concatenate([rows[k], none[k]]) for k in rows}
    out["kind"] = np.full(out["pos"].shape[0], kind, dtype=object)
    return out


def _plans(planned: _Batch, table: _Table, compute: list, backend: str, max_memory, lmax: int) -> list:
    """Every scenario's plans (frontier points, P_lat, P_acc, P_energy) by the batch entry point, a search
    per kind and quantile: the rows a Planner per scenario gave (the frontier bounded by max_energy alone,
    then cut by the other bounds; P_lat under min_accuracy and max_energy, P_acc under max_latency and
    max_energy, each then held to the other bound; P_energy, min_energy's plan, under all three).
    max_energy bounds the searches, not their answers: a frontier point dominated only by plans over it
    is on the bounded frontier, so it is not a cut afterwards."""
    n = planned.sc.n
    inf = np.full(n, math.inf)
    lo, hi, has_lo, has_hi = table.min_acc, table.max_lat, table.has_lo, table.has_hi
    cap = table.max_en if planned.energy_tiers is not None else None  # inf where a bound has none
    extra = {"backend": backend, "threads": 1, "max_memory": max_memory, "max_energy": cap}
    parts = []
    for q in np.unique(np.where(table.has_q, table.quantile, -1.0)):
        quantile = None if q < 0 else float(q)
        group = (table.quantile == q) if quantile is not None else ~table.has_q
        which = np.flatnonzero(group & ~table.has_rate)
        if not which.size:
            continue
        if "frontier" in compute:
            cols, _ = planned.search("frontier", which=which, min_accuracy=-inf, max_latency=inf,
                                          quantile=quantile, **extra)
            s = cols["scenario"]
            keep = (~has_lo[s] | (cols["accuracy"] >= lo[s])) & (~has_hi[s] | (cols["latency"] <= hi[s]))
            # each kept point's place among its scenario's kept points
            first = np.searchsorted(s[keep], s[keep])
            point = np.zeros(s.shape[0], np.int64)
            point[keep] = np.arange(int(keep.sum())) - first
            parts.append(_found_rows(which, "frontier", point, cols, keep, lmax))
        if "plans" in compute:
            w = which[has_lo[which]]
            if w.size:
                cols, _ = planned.search("min_latency", which=w, min_accuracy=lo, max_latency=inf, quantile=quantile,
                                         **extra)
                s = cols["scenario"]
                keep = ~has_hi[s] | (cols["latency"] <= hi[s])
                parts.append(_found_rows(w, "P_lat", np.zeros(s.shape[0], np.int64), cols, keep, lmax))
            w = which[has_hi[which]]
            if w.size:
                cols, _ = planned.search("max_accuracy", which=w, min_accuracy=-inf, max_latency=hi, quantile=quantile,
                                         **extra)
                s = cols["scenario"]
                keep = ~has_lo[s] | (cols["accuracy"] >= lo[s])
                parts.append(_found_rows(w, "P_acc", np.zeros(s.shape[0], np.int64), cols, keep, lmax))
        if "min_energy" in compute:
            cols, _ = planned.search("min_energy", which=which, min_accuracy=np.where(has_lo, lo, -math.inf),
                                     max_latency=np.where(has_hi, hi, math.inf), quantile=quantile, **extra)
            parts.append(_found_rows(which, "P_energy", np.zeros(cols["scenario"].shape[0], np.int64), cols,
                                     np.ones(cols["scenario"].shape[0], bool), lmax))
    loaded = np.flatnonzero(table.has_rate)
    if loaded.size:
        parts += _loaded_plans(planned, table, loaded, compute, backend, lmax)
    return parts


def _loaded_plans(planned: _Batch, table: _Table, which: np.ndarray, compute: list, backend: str, lmax: int) -> list:
    """The rows of the scenarios with a load (rate, fleet, link_queues in their bound), by the exact search
    under load (planning/load.py), one scenario at a time: the same rows a Planner's `under(load)` gives
    (the frontier cut by the bounds, which is the frontier within them; P_lat and P_acc as `_plans` holds
    them to the other bound)."""
    b = table.batch
    lo, hi, has_lo, has_hi = table.min_acc, table.max_lat, table.has_lo, table.has_hi
    kinds = {k: [] for k in ("frontier", "P_lat", "P_acc")}
    for i in which.tolist():
        bound = b.bounds[table.bound[i]]
        load = Load(bound["rate"], fleet=bound.get("fleet", 1), queues=bound.get("queues", "mg1"))
        rows = load_pareto(b.profile, planned.topology(i), load=load, source=b.source, destination=b.destination,
                           min_accuracy=lo[i] if has_lo[i] else None, max_latency=hi[i] if has_hi[i] else None,
                           backend=backend, threads=1, link_queues=bound.get("link_queues", False))
        n = rows["latency"].shape[0]
        rows = {**rows, "scenario": np.full(n, i, np.int64)}
        if "frontier" in compute:
            kinds["frontier"].append((rows, np.ones(n, bool), np.arange(n, dtype=np.int64)))
        if "plans" in compute:
            first = np.arange(n) == 0
            if has_lo[i]:
                kinds["P_lat"].append((rows, first, np.zeros(n, np.int64)))
            if has_hi[i]:
                kinds["P_acc"].append((rows, np.arange(n) == n - 1, np.zeros(n, np.int64)))
    parts = []
    for kind, found in kinds.items():
        if not found:
            continue
        cols = {k: np.concatenate([r[k] for r, _, _ in found]) for k in ("scenario", *LOAD_COLUMNS)}
        keep = np.concatenate([k for _, k, _ in found])
        point = np.concatenate([p for _, _, p in found])
        pos = which if kind == "frontier" else which[(has_lo if kind == "P_lat" else has_hi)[which]]
        parts.append(_found_rows(pos, kind, point, {**cols, "partitions": _padded(cols["partitions"], lmax),
                                                    "placement": _padded(cols["placement"], lmax)}, keep, lmax))
    return parts


def _padded(a: np.ndarray, lmax: int) -> np.ndarray:
    """(n, lmax) int32, -1 where a row has fewer slots (the load search's width is min(M, N) too)."""
    out = np.full((a.shape[0], lmax), -1, np.int32)
    out[:, :a.shape[1]] = a
    return out


class _Table:
    """Builds the study's table for rows of one batch: scenario columns taken by each row's position."""

    def __init__(self, batch: Batch):
        self.batch = batch
        self.schema = result_schema(batch.param_columns, batch.has_time, energy=batch.energy_tiers is not None,
                                    load=batch.load)
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
        self.max_en = np.array([b.bounds[i].get("max_energy", np.inf) for i in self.bound])
        self.has_en = np.array(["max_energy" in b.bounds[i] for i in self.bound], dtype=bool)
        self.has_q = np.array(["quantile" in b.bounds[i] for i in self.bound], dtype=bool)
        self.rate = np.array([b.bounds[i].get("rate", np.nan) for i in self.bound])
        self.has_rate = np.array(["rate" in b.bounds[i] for i in self.bound], dtype=bool)
        self.fleet = np.array([b.bounds[i].get("fleet", 1) for i in self.bound], dtype=np.int32)
        self.link_queues = np.array([b.bounds[i].get("link_queues", False) for i in self.bound], dtype=bool)
        self.queues = [b.bounds[i].get("queues", "mg1") if "rate" in b.bounds[i] else None for i in self.bound]
        self.names = b.topology.names

    def build(self, pos: np.ndarray, kind, point, found, result: list, energy=None) -> pa.Table:
        """The rows at `pos` (scenarios of the batch), with their row columns (`result`) and, in a study
        with energy, their energy (J; NaN where not found)."""
        b, n = self.batch, pos.shape[0]
        cols = [from_numpy(self.scenario[pos]), strings(self.ids).take(from_numpy(pos)),
                constant(b.profile_label, n, LABEL), constant(b.topology_label, n, LABEL),
                constant(self.names[b.source], n, LABEL), constant(self.names[b.destination], n, LABEL)]
        varied = {p.column: j for j, p in enumerate(b.params)}
        for c in b.param_columns:
            cols.append(from_numpy(b.values[self.variant[pos], varied[c]]) if c in varied
                        else pa.nulls(n, pa.float64()))
        if b.has_time:
            cols.append(pa.nulls(n, pa.float64()) if b.time is None else from_numpy(b.time[self.variant[pos]]))
        cols.append(from_numpy(self.min_acc[pos], mask=~self.has_lo[pos]))
        cols.append(from_numpy(self.max_lat[pos], mask=~self.has_hi[pos]))
        if b.energy_tiers is not None:
            cols.append(from_numpy(self.max_en[pos], mask=~self.has_en[pos]))
        cols.append(from_numpy(self.quantile[pos], mask=~self.has_q[pos]))
        if b.load:
            cols.append(from_numpy(self.rate[pos], mask=~self.has_rate[pos]))
            cols.append(from_numpy(self.fleet[pos], mask=~self.has_rate[pos]))
            cols.append(from_numpy(self.link_queues[pos], mask=~self.has_rate[pos]))
            cols.append(pa.array([self.queues[i] for i in pos.tolist()], pa.string()).dictionary_encode().cast(LABEL))
        cols.append(kind if isinstance(kind, pa.Array) else strings(kind).dictionary_encode().cast(LABEL))
        cols.append(from_numpy(np.asarray(point, dtype=np.int32)))
        found = np.asarray(found, dtype=bool)
        cols.append(from_numpy(found))
        missing = ~found
        if missing.any():  # a scenario without a plan: its values are null, its lists empty
            result = [from_numpy(c.to_numpy(zero_copy_only=False), mask=missing) for c in result[:4]] + list(result[4:])
        if b.energy_tiers is not None:
            result = list(result) + [from_numpy(np.asarray(energy, dtype=np.float64), mask=missing)]
        return pa.Table.from_arrays(cols + result, schema=self.schema)


def run_batch(batch: Batch) -> dict:
    """Runs the batch's scenarios and writes its file; returns what it wrote."""
    out = Path(batch.out)
    if not out.is_dir():
        raise FileNotFoundError(f"study output folder {batch.out!r} is not visible on this worker: a study on a "
                                "cluster needs --out on a filesystem every worker shares")
    b = batch
    n = b.count
    table = _Table(b)
    lmax = min(b.profile.N, b.topology.M)
    schema = table.schema.with_metadata({META_SCENARIOS: encode_ranges(range(b.first, b.first + n)),
                                         META_STUDY: b.study.encode(),
                                         arrow.META_SCHEMA: str(arrow.SCHEMA_VERSION).encode()})
    variant, bound_index = table.variant, table.bound
    planned = _Batch(b.profile, b.topology, _network_columns(b, variant), source=b.source,
                     destination=b.destination, problem="frontier", energy_tiers=b.energy_tiers)
    digests = _network_digests(planned)  # a network's topology hash, once per distinct network
    for i, u in enumerate(planned.sc.inverse.tolist()):
        if digests[u] is None:
            digests[u] = topology_hash(planned.topology(i))
        table.ids[i] = scenario_id(b.profile_hash, None, b.source, b.destination, b.bounds[bound_index[i]],
                                   digests[u], b.energy_tiers)
    plan_kinds = [c for c in b.compute if c != "sweep"]
    parts = _plans(planned, table, plan_kinds, b.backend, b.max_memory, lmax) if plan_kinds else []
    pending, pending_rows, written_rows = [], 0, 0
    with atomic_path(out / b.file) as tmp:
        with pq.ParquetWriter(tmp, schema, **writer_options(schema)) as writer:
            empty = []  # scenarios whose sweep kept no row
            for i in range(n) if "sweep" in b.compute else ():
                bound = b.bounds[bound_index[i]]
                r = sweep(b.profile, planned.topology(i), source=b.source, destination=b.destination,
                          max_latency=bound.get("max_latency"), min_accuracy=bound.get("min_accuracy"),
                          backend=b.backend, max_memory=b.max_memory, quantile=bound.get("quantile"),
                          max_energy=bound.get("max_energy"), energy_tiers=b.energy_tiers)
                k = len(r)
                if k:
                    pending.append(table.build(
                        np.full(k, i, dtype=np.int64), constant("row", k, LABEL), np.arange(k), np.ones(k, bool),
                        row_columns(r.latency, r.accuracy, r.threshold_index, b.profile.thresholds,
                                    r.num_partitions, r.partitions, r.placement), r.energy))
                else:
                    empty.append(i)
                pending_rows += k
                if pending_rows >= FLUSH_ROWS:
                    writer.write_table(pa.concat_tables(pending))
                    written_rows += pending_rows
                    pending, pending_rows = [], 0
            if empty:
                none = np.zeros(0, bool)
                parts.append(_found_rows(np.asarray(empty, np.int64), "row", np.zeros(0, np.int64),
                                         {"scenario": np.zeros(0, np.int64), "latency": np.zeros(0),
                                          "accuracy": np.zeros(0), "threshold_index": np.zeros(0, np.int32),
                                          "num_partitions": np.zeros(0, np.int32),
                                          "partitions": np.zeros((0, lmax), np.int32),
                                          "placement": np.zeros((0, lmax), np.int32),
                                          **({} if b.energy_tiers is None else {"energy": np.zeros(0)})},
                                         none, lmax))
            if parts:
                rows = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
                order = np.argsort(rows["pos"], kind="stable")  # a scenario's rows: its kinds in order
                rows = {k: v[order] for k, v in rows.items()}
                m = rows["pos"].shape[0]
                pending.append(table.build(rows["pos"], rows["kind"].tolist(), rows["point"], rows["found"],
                                           row_columns(rows["latency"], rows["accuracy"], rows["threshold_index"],
                                                       b.profile.thresholds, rows["num_partitions"],
                                                       rows["partitions"], rows["placement"]), rows.get("energy")))
                pending_rows += m
            if pending:
                whole = pa.concat_tables(pending)
                writer.write_table(whole.sort_by([("scenario", "ascending")]) if "sweep" not in b.compute else whole)
                written_rows += pending_rows
            # The footer's own row count is checked against this on resume: a part emptied or cut short
            # (with its metadata kept) is recomputed, not trusted.
            writer.add_key_value_metadata({META_ROWS: str(written_rows).encode()})
        size = tmp.stat().st_size
    return {"file": b.file, "scenarios": n, "rows": written_rows, "bytes": size}
