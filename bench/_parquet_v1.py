"""The Parquet writer of schema version 1 (before issue 21), kept as the benchmarks' reference and the tests'
maker of old files: P and A as list<int32> columns `partitions` and `placement`, every field nullable,
dictionary pages on all but latency and accuracy, snappy, statistics everywhere; `SweepResult.save`'s
chunks of SAVE_CHUNK_ROWS rows, atomically replaced. A copy of io/arrow.py and SweepResult._save_parquet
as they were at 5b7decd, not to be improved: it is what the new schema is measured against."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from eepart_fast.io.atomic import atomic_path
from eepart_fast.io.results import SAVE_CHUNK_ROWS

ROW_FIELDS = [
    pa.field("latency", pa.float64()),
    pa.field("accuracy", pa.float64()),
    pa.field("threshold_index", pa.int32()),
    pa.field("threshold", pa.float64()),
    pa.field("partitions", pa.list_(pa.int32())),
    pa.field("placement", pa.list_(pa.int32())),
]


def writer_options(schema: pa.Schema) -> dict:
    return {"compression": "snappy",
            "use_dictionary": [f.name for f in schema if f.name not in ("latency", "accuracy")]}


def list_column(padded: np.ndarray, lengths: np.ndarray) -> pa.Array:
    lengths = np.asarray(lengths, dtype=np.int32)
    offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.ascontiguousarray(padded, dtype=np.int32).reshape(-1)
    values = flat[flat >= 0]
    if values.shape[0] != offsets[-1]:
        raise ValueError(f"list column: {values.shape[0]} entries >= 0 for lengths summing to {offsets[-1]}")
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))


def row_columns(latency, accuracy, threshold_index, thresholds, num_partitions, partitions, placement) -> list:
    threshold_index = np.asarray(threshold_index, dtype=np.int32)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    threshold = thresholds[threshold_index] if threshold_index.size else np.zeros(0)
    return [pa.array(np.asarray(latency, dtype=np.float64)), pa.array(np.asarray(accuracy, dtype=np.float64)),
            pa.array(threshold_index), pa.array(threshold),
            list_column(np.asarray(partitions), num_partitions), list_column(np.asarray(placement), num_partitions)]


def save_v1(rows, path, chunk_rows: int = SAVE_CHUNK_ROWS) -> None:
    """`rows` (a SweepResult) written as SweepResult.save wrote `.parquet` at 5b7decd."""
    metadata = {"eepart.thresholds": json.dumps(rows.thresholds.tolist()),
                "eepart.tier_names": json.dumps(rows.tier_names)}
    if rows.quantile is not None:
        metadata["eepart.quantile"] = json.dumps(rows.quantile)
    schema = pa.schema(ROW_FIELDS, metadata=metadata)
    n = len(rows)
    chunks = [(i, min(n, i + chunk_rows)) for i in range(0, n, chunk_rows)] or [(0, 0)]
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, **writer_options(schema)) as writer:
        for a, b in chunks:
            cols = row_columns(rows.latency[a:b], rows.accuracy[a:b], rows.threshold_index[a:b], rows.thresholds,
                               rows.num_partitions[a:b], rows.partitions[a:b], rows.placement[a:b])
            writer.write_table(pa.Table.from_arrays(cols, schema=schema))
