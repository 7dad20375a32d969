"""Rows of plans as Arrow columns, for Parquet: (t, P, A) with P and A as list<int32> columns.

Needs pyarrow (the `study` extra, also in `test`); imported only where Parquet is written.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

ROW_FIELDS = [
    pa.field("latency", pa.float64()),  # seconds
    pa.field("accuracy", pa.float64()),
    pa.field("threshold_index", pa.int32()),
    pa.field("threshold", pa.float64()),
    pa.field("partitions", pa.list_(pa.int32())),  # block counts P_1 < ... < P_L
    pa.field("placement", pa.list_(pa.int32())),  # tier index of each partition
]


def writer_options(schema: pa.Schema) -> dict:
    """ParquetWriter options: dictionary pages for the columns with few distinct values only (latency and
    accuracy rarely repeat, and trying a dictionary on them costs more than the rest of the write).

    Parameters
    ----------
    schema : pyarrow.Schema
        The file's schema.

    Returns
    -------
    dict
        Keyword arguments for pyarrow.parquet.ParquetWriter.
    """
    return {"compression": "snappy",
            "use_dictionary": [f.name for f in schema if f.name not in ("latency", "accuracy")]}


def list_column(padded: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """A list<int32> column from rows (n, Lmax) padded with -1 (every real entry is >= 0) and their lengths.

    Parameters
    ----------
    padded : numpy.ndarray, shape (n, Lmax)
        The rows, -1 padded.
    lengths : array_like, shape (n,)
        Each row's length.

    Returns
    -------
    pyarrow.ListArray

    Raises
    ------
    ValueError
        The entries >= 0 do not add up to the lengths.
    """
    lengths = np.asarray(lengths, dtype=np.int32)
    offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.ascontiguousarray(padded, dtype=np.int32).reshape(-1)
    values = flat[flat >= 0]
    if values.shape[0] != offsets[-1]:
        raise ValueError(f"list column: {values.shape[0]} entries >= 0 for lengths summing to {offsets[-1]}")
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))


def row_columns(latency, accuracy, threshold_index, thresholds, num_partitions, partitions, placement) -> list:
    """ROW_FIELDS' arrays for n rows (sweep columns, or plans gathered into the same shape).

    Parameters
    ----------
    latency, accuracy : array_like, shape (n,)
        Seconds, and accuracy.
    threshold_index : array_like, shape (n,)
        Indexes `thresholds`.
    thresholds : array_like, shape (K,)
        The profile's thresholds.
    num_partitions : array_like, shape (n,)
        Each row's L.
    partitions, placement : array_like, shape (n, Lmax)
        P and A, -1 padded.

    Returns
    -------
    list of pyarrow.Array
    """
    threshold_index = np.asarray(threshold_index, dtype=np.int32)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    threshold = thresholds[threshold_index] if threshold_index.size else np.zeros(0)
    return [pa.array(np.asarray(latency, dtype=np.float64)), pa.array(np.asarray(accuracy, dtype=np.float64)),
            pa.array(threshold_index), pa.array(threshold),
            list_column(np.asarray(partitions), num_partitions), list_column(np.asarray(placement), num_partitions)]


def constant(value, n: int, type_: pa.DataType) -> pa.Array:
    """`value` n times, cheaply (a dictionary column stores it once).

    Parameters
    ----------
    value : object
        The value (None: nulls).
    n : int
        How many rows.
    type_ : pyarrow.DataType
        The column's type.

    Returns
    -------
    pyarrow.Array
    """
    if pa.types.is_dictionary(type_):
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                              pa.array([value], type=type_.value_type))
    if value is None:
        return pa.nulls(n, type_)
    if pa.types.is_floating(type_) or pa.types.is_integer(type_):
        return pa.array(np.full(n, value, dtype=type_.to_pandas_dtype()))
    return pa.array([value] * n, type=type_)
