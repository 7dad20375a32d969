"""`SweepResult.save` / `eepart sweep --out`: Parquet rows equal the sweep's, and an interrupted write leaves
nothing at the output path (nor a temporary beside it)."""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.cli import main
from eepart_fast.io import results

from _instances import random_profile

pq = pytest.importorskip("pyarrow.parquet", reason="needs the study extra: pip install 'eepart_fast[study]'")


@pytest.fixture(scope="module")
def rows():
    profile = random_profile(np.random.default_rng(3), 8, 5)
    return ef.sweep(profile, ef.Topology.preset("iot"), backend="cpu")


def test_parquet_round_trip(rows, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "SAVE_CHUNK_ROWS", 1000)  # several row groups
    rows.save(tmp_path / "r.parquet", progress=False)
    f = pq.ParquetFile(tmp_path / "r.parquet")
    assert f.metadata.num_row_groups == -(-len(rows) // 1000)
    t = f.read()
    np.testing.assert_array_equal(t.column("latency").to_numpy(), rows.latency)
    np.testing.assert_array_equal(t.column("accuracy").to_numpy(), rows.accuracy)
    np.testing.assert_array_equal(t.column("threshold_index").to_numpy(), rows.threshold_index)
    np.testing.assert_array_equal(t.column("threshold").to_numpy(), rows.thresholds[rows.threshold_index])
    width = rows.partitions.shape[1]
    P = np.column_stack([t.column(f"P{k + 1}").to_numpy() for k in range(width)])
    A = np.column_stack([t.column(f"A{k + 1}").to_numpy() for k in range(width)])
    assert f"P{width + 1}" not in t.column_names and f"A{width + 1}" not in t.column_names
    np.testing.assert_array_equal(P, rows.partitions)
    np.testing.assert_array_equal(A, rows.placement)
    meta = f.schema_arrow.metadata
    assert json.loads(meta[b"eepart.tier_names"]) == rows.tier_names
    assert json.loads(meta[b"eepart.thresholds"]) == rows.thresholds.tolist()


def test_empty_sweep_writes_an_empty_table(rows, tmp_path):
    rows.take(np.zeros(0, dtype=int)).save(tmp_path / "e.parquet", progress=False)
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".npz"])
def test_a_failed_write_leaves_the_path_alone(rows, tmp_path, monkeypatch, suffix):
    """Interrupted after the first chunk: nothing at the path (or the previous file, untouched), no temporary."""
    monkeypatch.setattr(results, "SAVE_CHUNK_ROWS", 1000)
    calls = []

    def interrupt_second(*args, **kwargs):
        calls.append(1)
        if len(calls) % 2 == 0 or suffix == ".npz":
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    if suffix == ".csv":
        real = np.savetxt
        monkeypatch.setattr(np, "savetxt", interrupt_second)
    elif suffix == ".parquet":
        real = pq.ParquetWriter.write_table
        monkeypatch.setattr(pq.ParquetWriter, "write_table", lambda self, *a, **k: interrupt_second(self, *a, **k))
    else:
        real = np.savez
        monkeypatch.setattr(np, "savez", interrupt_second)
    path = tmp_path / f"r{suffix}"
    with pytest.raises(KeyboardInterrupt):
        rows.save(path, progress=False)
    assert os.listdir(tmp_path) == []
    path.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt):
        rows.save(path, progress=False)
    assert os.listdir(tmp_path) == [path.name] and path.read_bytes() == b"previous"


SCRIPT = r"""
import sys, numpy as np, eepart_fast as ef
from _instances import random_profile
rows = ef.sweep(random_profile(np.random.default_rng(0), 20, 20), ef.Topology.preset("mobile"), backend="cpu")
print(len(rows), flush=True)
try:
    rows.save(sys.argv[1], progress=False)   # ~2.9M rows of CSV: many seconds
except KeyboardInterrupt:
    sys.exit(130)
print("finished", flush=True)
"""


def test_ctrl_c_during_sweep_write_leaves_no_file(tmp_path):
    out = tmp_path / "rows.csv"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__)] + sys.path))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert int(proc.stdout.readline()) > 2_000_000
        deadline = 200  # wait (bounded) until the temporary file has begun
        while deadline and not list(tmp_path.glob(".rows.csv.*.tmp")):
            deadline -= 1
            proc.wait(0.05) if proc.poll() is not None else __import__("time").sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out_text, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "finished" not in out_text
    assert os.listdir(tmp_path) == []


def test_cli_sweep_parquet(tmp_path, capsys):
    out = tmp_path / "rows.parquet"
    assert main(["sweep", "--topology", "iot", "--max-latency-ms", "120", "--out", str(out), "--no-progress"]) == 0
    expected = ef.sweep(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("iot"), max_latency=0.12)
    t = pq.read_table(out)
    assert t.num_rows == len(expected) > 0
    np.testing.assert_array_equal(t.column("latency").to_numpy(), expected.latency)
    assert f"{len(expected):,} rows written" in capsys.readouterr().out
