"""Parquet rows, schema version 2 (issue 21, item 4): P and A as columns P1..PW and A1..AW, -1 padded. A
sweep's file reads back to the same rows, every column and pad; pandas and polars rebuild P and A as
docs/file-formats.md shows, without this package; a file of schema version 1 (list columns, written here
by pyarrow directly) still reads back; a newer version is refused by name and value; a study's parts are
all 16 wide whatever their topology, and a part of the old schema is rewritten, not mixed in."""
import json

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow", reason="needs the study extra: pip install 'eepart_fast[study]'")
pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra: pip install 'eepart_fast[study]'")

import eepart_fast as ef
from eepart_fast.io import results
from eepart_fast.io.arrow import ROW_WIDTH, partitions_placement, row_columns
from eepart_fast.io.results import SweepResult

from _instances import random_profile

COLUMNS = ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement")


def assert_same_rows(got: SweepResult, want: SweepResult) -> None:
    for k in COLUMNS:
        np.testing.assert_array_equal(getattr(got, k), getattr(want, k), err_msg=k)
        assert getattr(got, k).dtype == getattr(want, k).dtype, k
    np.testing.assert_array_equal(got.thresholds, want.thresholds)
    assert got.tier_names == want.tier_names and got.quantile == want.quantile


@pytest.fixture(scope="module")
def rows():
    """Every configuration of N=7 on the 4-tier chain (L = 1..4: every pad width), from the cpu backend."""
    return ef.sweep(random_profile(np.random.default_rng(5), 7, 3), ef.Topology.preset("mobile"), backend="cpu")


def test_round_trip_every_column_and_pad(rows, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "SAVE_CHUNK_ROWS", 997)  # several row groups, the last one short
    path = tmp_path / "rows.parquet"
    rows.save(path, progress=False)
    assert_same_rows(SweepResult.load(path), rows)
    assert SweepResult.load(path).backend == "cpu"
    f = pq.ParquetFile(path)
    assert f.metadata.num_row_groups == -(-len(rows) // 997)
    assert f.schema_arrow.metadata[b"eepart.schema"] == b"2"
    t = f.read()
    assert t.column_names == ["latency", "accuracy", "threshold_index", "threshold", "P1", "P2", "P3", "P4",
                              "A1", "A2", "A3", "A4"]
    np.testing.assert_array_equal(t.column("threshold").to_numpy(), rows.thresholds[rows.threshold_index])
    for k in range(4):  # the file's columns are the rows' slots: real values up to L, then -1
        P, A = t.column(f"P{k + 1}").to_numpy(), t.column(f"A{k + 1}").to_numpy()
        inside = k < rows.num_partitions
        assert (P[inside] >= 1).all() and (A[inside] >= 0).all()
        assert (P[~inside] == -1).all() and (A[~inside] == -1).all()
        assert inside.any() and (~inside).any() if k else inside.all()
    assert sorted(set(rows.num_partitions.tolist())) == [1, 2, 3, 4]


def test_a_narrow_sweep_a_quantile_and_no_rows_round_trip(tmp_path):
    """N=3 on 4 tiers: 3 slots (W = min(M, N)); a p99 sweep keeps its quantile; no rows: an empty file."""
    narrow = ef.sweep(random_profile(np.random.default_rng(6), 3, 2), ef.Topology.preset("mobile"), backend="cpu")
    p99 = ef.sweep(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("iot"), quantile=0.99,
                   max_latency=0.3, backend="cpu")
    assert narrow.partitions.shape[1] == 3 and p99.quantile == 0.99 and len(p99) > 0
    path = tmp_path / "rows.parquet"
    for rows in (narrow, p99, narrow.take(np.zeros(0, dtype=int)), p99.take(np.zeros(0, dtype=int))):
        rows.save(path, progress=False)
        assert_same_rows(SweepResult.load(path), rows)
        assert pq.read_schema(path).names[-1] == f"A{rows.partitions.shape[1]}"


def test_pandas_rebuilds_P_and_A_as_documented(rows, tmp_path):
    import pandas as pd

    rows.save(tmp_path / "rows.parquet", progress=False)
    # docs/file-formats.md, "Parquet rows":
    df = pd.read_parquet(tmp_path / "rows.parquet")
    P, A = df.filter(regex=r"^P\d+$").to_numpy(), df.filter(regex=r"^A\d+$").to_numpy()
    got = [(t, tuple(p[p >= 0].tolist()), tuple(a[a >= 0].tolist())) for t, p, a in zip(df.threshold_index, P, A)]
    assert got == rows.configs()
    assert (df.P1.dtype, df.A1.dtype) == (np.int16, np.int8)


def test_polars_rebuilds_P_and_A_as_documented(rows, tmp_path):
    pl = pytest.importorskip("polars", reason="polars is optional: pip install polars")
    rows.save(tmp_path / "rows.parquet", progress=False)
    # docs/file-formats.md, "Parquet rows":
    df = pl.read_parquet(tmp_path / "rows.parquet").with_columns(
        P=pl.concat_list(pl.col(r"^P\d+$")).list.filter(pl.element() >= 0),
        A=pl.concat_list(pl.col(r"^A\d+$")).list.filter(pl.element() >= 0))
    got = [(t, tuple(p), tuple(a)) for t, p, a in zip(df["threshold_index"], df["P"].to_list(), df["A"].to_list())]
    assert got == rows.configs()


def write_v1(rows: SweepResult, path) -> None:
    """`rows` as SweepResult.save wrote them before schema version 2: list<int32> columns, no eepart.schema."""
    P = [p[p >= 0].tolist() for p in rows.partitions]
    A = [a[a >= 0].tolist() for a in rows.placement]
    meta = {"eepart.thresholds": json.dumps(rows.thresholds.tolist()), "eepart.tier_names": json.dumps(rows.tier_names)}
    if rows.quantile is not None:
        meta["eepart.quantile"] = json.dumps(rows.quantile)
    table = pa.table({"latency": rows.latency, "accuracy": rows.accuracy, "threshold_index": rows.threshold_index,
                      "threshold": rows.thresholds[rows.threshold_index],
                      "partitions": pa.array(P, pa.list_(pa.int32())), "placement": pa.array(A, pa.list_(pa.int32()))})
    pq.write_table(table.replace_schema_metadata(meta), path, row_group_size=1000)


def test_old_schema_files_read_back(rows, tmp_path):
    path = tmp_path / "old.parquet"
    write_v1(rows, path)
    back = SweepResult.load(path)
    assert_same_rows(back, rows)
    assert back.backend == "unknown"  # version 1 did not record it
    q = ef.sweep(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("iot"), quantile=0.99,
                 max_latency=0.3, backend="cpu")
    write_v1(q, path)
    assert_same_rows(SweepResult.load(path), q)


def test_partitions_placement_reads_both_versions(rows, tmp_path):
    write_v1(rows, tmp_path / "old.parquet")
    rows.save(tmp_path / "new.parquet", progress=False)
    for name in ("old.parquet", "new.parquet"):
        P, A = partitions_placement(pq.read_table(tmp_path / name))
        np.testing.assert_array_equal(P, rows.partitions)
        np.testing.assert_array_equal(A, rows.placement)


NEWER = r"eepart\.schema = 3: this eepart_fast reads schema versions 1 to 2; the file was written by a newer one"


@pytest.mark.parametrize(("value", "match"), [(b"3", NEWER), (b"0", r"eepart\.schema = 0"),
                                              (b"two", r"eepart\.schema = 'two': not a schema version")])
def test_an_unknown_schema_version_is_refused_by_name(rows, tmp_path, value, match):
    path = tmp_path / "rows.parquet"
    rows.take(slice(0, 10)).save(path, progress=False)
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, b"eepart.schema": value}), path)
    with pytest.raises(ValueError, match=match):
        SweepResult.load(path)


def test_files_that_are_not_rows_are_refused(tmp_path):
    pq.write_table(pa.table({"x": [1]}), tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="not a sweep's rows .no eepart.thresholds metadata"):
        SweepResult.load(tmp_path / "x.parquet")
    with pytest.raises(ValueError, match=r"must end in \.npz or \.parquet"):
        SweepResult.load(tmp_path / "rows.csv")


def test_row_columns_refuses_rows_wider_than_the_file():
    P = np.array([[1, 2, 3]])
    with pytest.raises(ValueError, match="partitions: rows 3 wide, more than width = 2"):
        row_columns([0.1], [0.5], [0], [0.5], [3], P, P - 1, width=2)


def test_study_parts_have_one_schema_and_old_parts_are_rewritten(tmp_path):
    pytest.importorskip("dask.distributed", reason="needs the study extra: pip install 'eepart_fast[study]'")
    from eepart_fast.study import load_study, read_study, scenario
    from eepart_fast.study.parts import Layout, check_parts
    from eepart_fast.study.runner import make_batches
    from eepart_fast.study.tasks import run_batch

    spec = load_study({"name": "widths", "profiles": ["resnet20-fashionmnist"],
                       "topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": [1e6]}},
                                      {"topology": "iot", "grid": {"bandwidth[0]": [1e6]}}],
                       "bounds": [{"min_accuracy": 0.85}, {"min_accuracy": 0.999}], "compute": "plans"})
    out = tmp_path / "out"
    out.mkdir()
    for batch in make_batches(spec, out, np.zeros(spec.scenarios, bool), 1):
        run_batch(batch)
    parts = sorted(out.glob("part-*.parquet"))
    schemas = {pq.read_schema(p).remove_metadata() for p in parts}
    assert len(parts) == 4 and len(schemas) == 1  # M = 4 and M = 3: one schema
    assert schemas.pop().names[-2 * ROW_WIDTH:] == [f"P{k + 1}" for k in range(16)] + [f"A{k + 1}" for k in range(16)]
    table = read_study(out).sort_by("scenario")
    P, A = partitions_placement(table)
    found = table.column("found").to_numpy()
    assert P.shape == (4, 16) and found.tolist() == [True, False, True, False]  # accuracy 0.999: no plan
    assert (P[~found] == -1).all() and (A[~found] == -1).all()
    for i in np.flatnonzero(found):
        sc = scenario(spec, int(i))
        plan = ef.min_latency(sc["profile"], sc["topology"], min_accuracy=0.85)
        L = plan.num_partitions
        assert (P[i, :L].tolist(), A[i, :L].tolist()) == (list(plan.partitions), list(plan.placement))
        assert (P[i, L:] == -1).all() and (A[i, L:] == -1).all()
    layout = Layout(spec, 1)
    assert check_parts(out, layout, spec.fingerprint()).done.all()
    # A part of schema version 1 (its metadata kept): rewritten, so that the folder holds one schema.
    old = pq.read_table(parts[0])
    lists = [pa.array([r[r >= 0].tolist() for r in x], pa.list_(pa.int32())) for x in partitions_placement(old)]
    old = old.drop_columns([n for n in old.column_names if n[:1] in "PA" and n[1:].isdigit()])
    pq.write_table(old.append_column("partitions", lists[0]).append_column("placement", lists[1])
                   .replace_schema_metadata(old.schema.metadata), parts[0])
    # ... and a part of a newer version (its footer says so).
    newer = pq.read_table(parts[1])
    pq.write_table(newer.replace_schema_metadata({**newer.schema.metadata, b"eepart.schema": b"3"}), parts[1])
    check = check_parts(out, layout, spec.fingerprint())
    assert check.bad["unverifiable"] == parts[:2] and check.done.sum() == len(parts) - 2
