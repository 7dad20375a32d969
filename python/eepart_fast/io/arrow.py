"""Rows of plans as Arrow columns, for Parquet: (t, P, A) with P and A as fixed-width integer columns.

Schema version 2 (`eepart.schema` = "2" in a sweep file's metadata): latency, accuracy, threshold_index,
threshold, then P1..PW (int16) and A1..AW (int8), -1 where a row has fewer than W partitions, so any
Parquet reader gets P and A without this package. Version 1 (files without `eepart.schema`) held P and A as
list<int32> columns `partitions` and `placement`; `partitions_placement` reads both. Why columns and not
lists (or P packed as a bitmask): docs/file-formats.md, "Parquet rows".

Needs pyarrow (the `study` extra, also in `test`); imported only where Parquet is read or written.
"""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from .._checks import MAX_TIERS

SCHEMA_VERSION = 2
META_SCHEMA = b"eepart.schema"
SCALAR_NAMES = ("latency", "accuracy", "threshold_index", "threshold")
# A study's parts all have this width (any topology's L fits), so that every part of a study has one schema
# and a dataset reader reads them as one table; a sweep file is as wide as its rows, min(M, N).
ROW_WIDTH = MAX_TIERS
WRITE_BATCH_ROWS = 1 << 16


def plan_names(width: int) -> tuple:
    """The P and A column names of a file W wide: (["P1", ..., "PW"], ["A1", ..., "AW"]), as the CSV's.

    Parameters
    ----------
    width : int
        W.

    Returns
    -------
    tuple of list of str

    Examples
    --------
    >>> from eepart_fast.io.arrow import plan_names
    >>> plan_names(2)
    (['P1', 'P2'], ['A1', 'A2'])
    """
    return [f"P{k + 1}" for k in range(width)], [f"A{k + 1}" for k in range(width)]


def row_fields(width: int, *, nullable: bool) -> list:
    """The row columns W wide. P and A are never null (-1 pads); the four scalars are nullable where a
    study writes a scenario without a plan (`nullable`), and not in a sweep's file, which Parquet then
    writes without definition levels (half the time of a nullable column).

    Parameters
    ----------
    width : int
        W, the P and A columns.
    nullable : bool
        Whether latency, accuracy, threshold_index and threshold may be null.

    Returns
    -------
    list of pyarrow.Field
    """
    p_names, a_names = plan_names(width)
    return ([pa.field("latency", pa.float64(), nullable=nullable),  # seconds
             pa.field("accuracy", pa.float64(), nullable=nullable),
             pa.field("threshold_index", pa.int32(), nullable=nullable),
             pa.field("threshold", pa.float64(), nullable=nullable)]
            + [pa.field(n, pa.int16(), nullable=False) for n in p_names]  # end blocks P_1 < ... < P_L (N <= 1000)
            + [pa.field(n, pa.int8(), nullable=False) for n in a_names])  # tier of each partition (M <= 16)


ROW_FIELDS = row_fields(ROW_WIDTH, nullable=True)  # a study's row columns


def writer_options(schema: pa.Schema) -> dict:
    """ParquetWriter options for a file of rows (a sweep's, or a study's part), chosen by measurement
    (docs/file-formats.md): no dictionary on the row columns (hashing them cost more than it saved),
    latency uncompressed (float64 seconds do not compress), snappy elsewhere, and no statistics on P and
    A (a filter on them is rare; min/max cost a pass over each), and values handed to the encoder 64 Ki at a
    time (pyarrow's 1 Ki costs 15 % of the write in per-batch work; pages stay near 1 MiB). A study's other
    columns (labels, the scenario's values) keep their dictionary pages.

    Parameters
    ----------
    schema : pyarrow.Schema
        The file's schema.

    Returns
    -------
    dict
        Keyword arguments for pyarrow.parquet.ParquetWriter.
    """
    names = schema.names
    plan = {n for n in names if n[:1] in "PA" and n[1:].isdigit()}
    return {"compression": {n: "none" if n == "latency" else "snappy" for n in names},
            "use_dictionary": [n for n in names if n not in plan and n not in SCALAR_NAMES],
            "write_statistics": [n for n in names if n not in plan],
            "write_batch_size": WRITE_BATCH_ROWS}


def from_numpy(values, mask=None) -> pa.Array:
    """pyarrow.array(values, mask=mask) for a 1-D numpy array of numbers or bools, made from its buffers:
    pyarrow.array asks pandas about every input, which imports pandas (about a quarter second) in each
    process that writes, a study's workers included.

    Parameters
    ----------
    values : numpy.ndarray
        1-D, numbers or bools.
    mask : numpy.ndarray of bool, optional
        True where the entry is null.

    Returns
    -------
    pyarrow.Array

    Examples
    --------
    >>> from eepart_fast.io.arrow import from_numpy
    >>> from_numpy(np.array([1.5, 2.0, 3.0]), mask=np.array([False, True, False])).to_pylist()
    [1.5, None, 3.0]
    """
    values = np.ascontiguousarray(values)
    n = values.shape[0]
    if values.dtype == np.bool_:
        type_, data = pa.bool_(), pa.py_buffer(np.packbits(values, bitorder="little"))
    else:
        type_, data = pa.from_numpy_dtype(values.dtype), pa.py_buffer(values)
    if mask is None:
        return pa.Array.from_buffers(type_, n, [None, data], null_count=0)
    mask = np.asarray(mask, dtype=bool)
    valid = pa.py_buffer(np.packbits(~mask, bitorder="little"))
    return pa.Array.from_buffers(type_, n, [valid, data], null_count=int(np.count_nonzero(mask)))


def strings(values) -> pa.Array:
    """pyarrow.array(values, type=pyarrow.string()) for a list of str, made from its buffers (from_numpy
    says why).

    Parameters
    ----------
    values : list of str

    Returns
    -------
    pyarrow.Array

    Examples
    --------
    >>> from eepart_fast.io.arrow import strings
    >>> strings(["P_lat", "", "é"]).to_pylist()
    ['P_lat', '', 'é']
    """
    encoded = [v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets),
                                                             pa.py_buffer(b"".join(encoded))], null_count=0)


def row_columns(latency, accuracy, threshold_index, thresholds, num_partitions, partitions, placement, *,
                width: int = ROW_WIDTH) -> list:
    """The row columns' arrays for n rows (sweep columns, or plans gathered into the same shape), W wide.

    Parameters
    ----------
    latency, accuracy : array_like, shape (n,)
        Seconds, and accuracy.
    threshold_index : array_like, shape (n,)
        Indexes `thresholds`.
    thresholds : array_like, shape (K,)
        The profile's thresholds.
    num_partitions : array_like, shape (n,)
        Each row's L; not stored (a row's L is its count of P >= 0).
    partitions, placement : array_like, shape (n, Lmax)
        P and A, -1 padded, Lmax <= width.
    width : int, keyword-only
        W, the P and A columns written (the study's ROW_WIDTH unless given).

    Returns
    -------
    list of pyarrow.Array
        latency, accuracy, threshold_index, threshold, P1..PW, A1..AW.

    Raises
    ------
    ValueError
        Rows wider than `width`.
    """
    del num_partitions  # the -1 pads say it
    threshold_index = np.asarray(threshold_index, dtype=np.int32)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    threshold = thresholds[threshold_index] if threshold_index.size else np.zeros(0)
    partitions, placement = np.asarray(partitions), np.asarray(placement)
    n, lmax = partitions.shape
    if lmax > width:
        raise ValueError(f"partitions: rows {lmax} wide, more than width = {width}")
    # One transposing copy each: P1..PW are then rows of a C array, handed to Arrow without another copy.
    P, A = np.array(partitions.T, dtype=np.int16), np.array(placement.T, dtype=np.int8)
    p_pad, a_pad = np.full(n, -1, dtype=np.int16), np.full(n, -1, dtype=np.int8)
    return ([from_numpy(np.asarray(latency, dtype=np.float64)), from_numpy(np.asarray(accuracy, dtype=np.float64)),
             from_numpy(threshold_index), from_numpy(threshold)]
            + [from_numpy(P[k] if k < lmax else p_pad) for k in range(width)]
            + [from_numpy(A[k] if k < lmax else a_pad) for k in range(width)])


def schema_version(metadata, names) -> int:
    """Which schema a file of rows has: its `eepart.schema` metadata, else 1 where it has the list columns
    (files before version 2) and the current version where it has P1 (a study's parts, whose file
    metadata the study writes).

    Parameters
    ----------
    metadata : dict or None
        The file's key-value metadata (bytes keys, as pyarrow gives it).
    names : list of str
        The file's column names.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        A version this package does not read (a newer one), or not an integer; or no P and A columns.
    """
    raw = (metadata or {}).get(META_SCHEMA)
    if raw is None:
        if "partitions" in names:
            return 1
        if "P1" in names:
            return SCHEMA_VERSION
        raise ValueError("not a file of plan rows: no column P1 (nor partitions, before schema version 2)")
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    if not text.isdigit():
        raise ValueError(f"{META_SCHEMA.decode()} = {text!r}: not a schema version (an integer)")
    version = int(text)
    if not 1 <= version <= SCHEMA_VERSION:
        raise ValueError(f"{META_SCHEMA.decode()} = {version}: this eepart_fast reads schema versions 1 to "
                         f"{SCHEMA_VERSION}; the file was written by a newer one (upgrade eepart_fast)")
    return version


def partitions_placement(table: pa.Table, version: int | None = None) -> tuple:
    """P and A of every row of a table of rows (a sweep's file or a study's), either schema version.

    Parameters
    ----------
    table : pyarrow.Table
        The rows, with P1..PW and A1..AW (version 2) or the list columns partitions and placement (1).
    version : int, optional
        The schema version (None: from the table's metadata and columns, `schema_version`).

    Returns
    -------
    tuple of numpy.ndarray
        P and A, int32, shape (n, W), -1 padded: W is the file's width (version 1: the longest row).

    Raises
    ------
    ValueError
        A missing column, or P and A of different widths.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from eepart_fast.io.arrow import partitions_placement
    >>> old = pa.table({"partitions": [[3], [1, 3]], "placement": [[0], [2, 0]]})
    >>> P, A = partitions_placement(old)
    >>> P.tolist(), A.tolist()
    ([[3, -1], [1, 3]], [[0, -1], [2, 0]])
    """
    names = table.column_names
    if version is None:
        version = schema_version(table.schema.metadata, names)
    if version == 1:
        missing = [c for c in ("partitions", "placement") if c not in names]
        if missing:
            raise ValueError(f"schema version 1: no column {missing[0]}")
        P, A = (_padded(table.column(c)) for c in ("partitions", "placement"))
        width = max(P.shape[1], A.shape[1])
        return _widen(P, width), _widen(A, width)
    width = 0
    while f"P{width + 1}" in names:
        width += 1
    p_names, a_names = plan_names(width)
    missing = [c for c in ["P1"] + a_names if c not in names]
    if missing or f"A{width + 1}" in names:
        raise ValueError(f"schema version {version}: "
                         f"{'no column ' + missing[0] if missing else 'more A than P columns'}")
    P, A = np.empty((table.num_rows, width), np.int32), np.empty((table.num_rows, width), np.int32)
    for k in range(width):
        P[:, k] = table.column(p_names[k]).to_numpy()
        A[:, k] = table.column(a_names[k]).to_numpy()
    return P, A


def _padded(column) -> np.ndarray:
    """A list<int> column as an (n, longest) int32 array, -1 padded (a null list: no entries)."""
    import pyarrow.compute as pc

    lists = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy().astype(np.int64)
    values = lists.flatten().to_numpy().astype(np.int32)
    out = np.full((len(lists), int(lengths.max(initial=0))), -1, dtype=np.int32)
    rows = np.repeat(np.arange(len(lists)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lists) else np.zeros(0, np.int64)
    out[rows, np.arange(values.shape[0]) - np.repeat(starts, lengths)] = values
    return out


def _widen(a: np.ndarray, width: int) -> np.ndarray:
    return a if a.shape[1] >= width else np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=-1)


def read_rows(path) -> dict:
    """A sweep's rows from a Parquet file `SweepResult.save` wrote (this schema version or an older one), as
    `SweepResult.load` takes them.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    dict
        columns (SweepResult's six), thresholds, tier_names, quantile, and backend as the file records it
        ("unknown" before schema version 2). A version 1 file does not record N: its rows are
        min(M, its largest end block) wide, which is min(M, N) unless no row reaches block N.

    Raises
    ------
    ValueError
        Not a sweep's file (no `eepart.thresholds` / `eepart.tier_names` metadata), or a schema version this
        package does not read.
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    missing = [k for k in (b"eepart.thresholds", b"eepart.tier_names") if k not in meta]
    if missing:
        raise ValueError(f"{str(path)!r}: not a sweep's rows (no {missing[0].decode()} metadata)")
    try:
        version = schema_version(meta, table.column_names)
    except ValueError as exc:
        raise ValueError(f"{str(path)!r}: {exc}") from None
    tier_names = json.loads(meta[b"eepart.tier_names"])
    P, A = partitions_placement(table, version)
    if version == 1:
        width = min(len(tier_names), max(int(P.max(initial=0)), P.shape[1]))
        P, A = _widen(P, width), _widen(A, width)
    columns = {c: table.column(c).to_numpy() for c in SCALAR_NAMES[:3]}
    columns.update(num_partitions=(P >= 0).sum(axis=1, dtype=np.int32), partitions=P, placement=A)
    return {"columns": columns, "tier_names": tier_names,
            "thresholds": np.asarray(json.loads(meta[b"eepart.thresholds"]), dtype=np.float64),
            "quantile": json.loads(meta.get(b"eepart.quantile", b"null")),
            "backend": meta.get(b"eepart.backend", b"unknown").decode()}


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
        one = strings([value]) if pa.types.is_string(type_.value_type) else pa.array([value], type=type_.value_type)
        return pa.DictionaryArray.from_arrays(from_numpy(np.zeros(n, dtype=np.int32)), one)
    if value is None:
        return pa.nulls(n, type_)
    if pa.types.is_floating(type_) or pa.types.is_integer(type_):
        return from_numpy(np.full(n, value, dtype=type_.to_pandas_dtype()))
    return pa.array([value] * n, type=type_)
