"""Four rough edges of issue 18, each through the command a user runs (`eepart plan --topology`,
`eepart plan --profile`, `eepart study`): the error names the field that is wrong or missing, says what a
trace's `time` column must hold, and how to replace a folder's results (`--overwrite`, overwrite=True)."""
import json
import os
import subprocess
import sys

import pytest

import eepart_fast as ef

PYTHONPATH = os.pathsep.join(p for p in sys.path if p)
STUDY_EXTRA = "needs the study extra: pip install 'eepart_fast[study]'"


def eepart(*args, cwd=None, timeout=120):
    """`eepart ARGS` in a fresh process: (exit code, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    r = subprocess.run([sys.executable, "-m", "eepart_fast.cli", *map(str, args)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def one_line_error(code, out, err) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eepart: error: "), err
    return lines[0]


# -- 1. a topology missing a field names that field ------------------------------------------------------

def test_chain_missing_bandwidth_names_bandwidth(tmp_path):
    (tmp_path / "bad.yaml").write_text("names: [phone, edge, cloud]\nratio: [8, 2, 1]\nlatency: [0.01, 0.03]\n")
    line = one_line_error(*eepart("plan", "--topology", tmp_path / "bad.yaml", "--min-accuracy", "0.9"))
    assert "missing field 'bandwidth'" in line, line
    assert "fields ['latency']" not in line  # the old message named the field given


@pytest.mark.parametrize("fields,missing", [
    ({"bandwidth": [1e7, 1e8]}, "latency"),                                    # a chain
    ({"latency": [0.01, 0.03]}, "bandwidth"),
    ({"path_latency": [[0, 0.01, 0.02], [0.01, 0, 0.01], [0.02, 0.01, 0]]}, "path_inv_bandwidth"),  # routes
    ({"path_inv_bandwidth": [[0, 1e-7, 1e-7], [1e-7, 0, 1e-7], [1e-7, 1e-7, 0]]}, "path_latency"),
    ({"routes": "shortest", "route_by": "hops"}, "links"),                     # a graph
])
def test_each_form_names_its_missing_field(tmp_path, fields, missing):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"names": ["a", "b", "c"], "ratio": [4, 2, 1], **fields}))
    with pytest.raises(ValueError, match=rf"^topology: missing field '{missing}'") as exc:
        ef.Topology.load(path)
    given = sorted(fields)
    assert all(f in str(exc.value) for f in given)  # and what was given instead


@pytest.mark.parametrize("drop", ["names", "ratio"])
def test_missing_names_or_ratio_is_named(tmp_path, drop):
    d = {"names": ["a", "b"], "ratio": [2, 1], "bandwidth": [1e7], "latency": [0.01]}
    del d[drop]
    (tmp_path / "t.yaml").write_text(json.dumps(d))
    line = one_line_error(*eepart("plan", "--topology", tmp_path / "t.yaml"))
    assert f"missing field '{drop}'" in line, line


def test_misspelt_and_mixed_fields():
    base = {"names": ["a", "b"], "ratio": [2, 1]}
    with pytest.raises(ValueError, match=r"unknown field 'bandwith' \(did you mean 'bandwidth'\?\)"):
        ef.Topology.from_dict({**base, "bandwith": [1e7], "latency": [0.01]})
    with pytest.raises(ValueError, match=r"fields \['latency'\] of a chain and \['links'\] of a graph mixed"):
        ef.Topology.from_dict({**base, "latency": [0.01], "links": [[0, 1, 1e7, 0.01]]})
    with pytest.raises(ValueError, match="missing its links"):
        ef.Topology.from_dict(base)
    # the three forms still load
    assert ef.Topology.from_dict({**base, "bandwidth": [1e7], "latency": [0.01]}).path_latency[0, 1] == 0.01
    assert ef.Topology.from_dict({**base, "links": [["a", "b", 1e7, 0.02]]}).path_latency[1, 0] == 0.02
    assert ef.Topology.from_dict({**base, "path_latency": [[0, 0.03], [0.03, 0]],
                                  "path_inv_bandwidth": [[0, 1e-7], [1e-7, 0]]}).path_latency[0, 1] == 0.03


# -- 2. a per-block field of the wrong length is the one named -------------------------------------------

@pytest.mark.parametrize("field", ["block_time", "branch_time", "output_bits", "accuracy"])
def test_short_per_block_field_is_named(tmp_path, field):
    d = ef.Profile.preset("resnet20-fashionmnist").to_dict()  # N = 10
    d[field] = d[field][:9]
    (tmp_path / "bad.json").write_text(json.dumps(d))
    line = one_line_error(*eepart("plan", "--profile", tmp_path / "bad.json", "--min-accuracy", "0.9"))
    assert f"error: {field}: expected shape (10,), got (9,)" in line, line


def test_block_time_wrong_names_block_time_and_who_says_n(tmp_path):
    d = ef.Profile.preset("resnet20-fashionmnist").to_dict()
    d["block_time"] = d["block_time"][:9]
    (tmp_path / "bad.json").write_text(json.dumps(d))
    line = one_line_error(*eepart("plan", "--profile", tmp_path / "bad.json"))
    assert "branch_time" not in line.split(":")[1]  # the old message blamed branch_time
    assert line.endswith("N = 10 blocks by branch_time, output_bits, exit_rate"), line


def test_exit_rate_columns_wrong_names_exit_rate():
    d = ef.Profile.preset("resnet20-fashionmnist").to_dict()
    d["exit_rate"] = [row[:9] for row in d["exit_rate"]]
    with pytest.raises(ValueError, match=r"^exit_rate: expected shape \(20, 10\), got \(20, 9\)"):
        ef.Profile.from_dict(d)


def test_a_tie_keeps_block_time_as_n():
    # Two fields say 9, two say 10: N is block_time's, and the first other field is named.
    d = ef.Profile.preset("resnet20-fashionmnist").to_dict()
    d["block_time"], d["output_bits"] = d["block_time"][:9], d["output_bits"][:9]
    with pytest.raises(ValueError, match=r"^branch_time: expected shape \(9,\), got \(10,\)"):
        ef.Profile.from_dict(d)


# -- 3. a trace's time column must be numeric, and the error says so --------------------------------------

STUDY = """profiles: [resnet20-fashionmnist]
topologies:
  - topology: mobile
    trace: day.csv
compute: [plans]
bounds: [{min_accuracy: 0.9}]
"""


def test_trace_time_of_day_names_file_row_column_and_the_rule(tmp_path):
    pytest.importorskip("pyarrow", reason=STUDY_EXTRA)
    pytest.importorskip("dask.distributed", reason=STUDY_EXTRA)
    (tmp_path / "s.yaml").write_text(STUDY)
    (tmp_path / "day.csv").write_text("time,bandwidth[1]\n0,1e7\n08:00,2e7\n")
    line = one_line_error(*eepart("study", tmp_path / "s.yaml", "--out", tmp_path / "out", cwd=tmp_path))
    for part in ("day.csv", "line 3", "column 'time'", "'08:00' is not a number",
                 "the time column must be numeric, in seconds"):
        assert part in line, (part, line)
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_trace_parameter_not_a_number_says_units(tmp_path):
    pytest.importorskip("pyarrow", reason=STUDY_EXTRA)
    pytest.importorskip("dask.distributed", reason=STUDY_EXTRA)
    from eepart_fast.study import load_study

    (tmp_path / "s.yaml").write_text(STUDY)
    (tmp_path / "day.csv").write_text("time,bandwidth[1]\n0,10M\n")
    with pytest.raises(ValueError, match=r"day.csv' line 2, column 'bandwidth\[1\]': '10M' is not a number; "
                                         r"parameters are numbers in SI units"):
        load_study(tmp_path / "s.yaml")


# -- 4. the refusal of a folder holding another study names --overwrite and overwrite=True ---------------

def test_other_study_refusal_names_overwrite(tmp_path):
    pytest.importorskip("pyarrow", reason=STUDY_EXTRA)
    pytest.importorskip("dask.distributed", reason=STUDY_EXTRA)
    (tmp_path / "s.yaml").write_text(STUDY)
    (tmp_path / "day.csv").write_text("time,bandwidth[1]\n0,1e7\n3600,2e7\n")
    out = tmp_path / "out"
    code, text, err = eepart("study", "s.yaml", "--out", out, "--workers", "1", "--no-progress", cwd=tmp_path)
    assert code == 0, err
    assert "2 scenarios run" in text
    (tmp_path / "s.yaml").write_text(STUDY.replace("0.9", "0.85"))  # another study
    line = one_line_error(*eepart("study", "s.yaml", "--out", out, "--workers", "1", "--no-progress", cwd=tmp_path))
    assert "holds the results of another study" in line
    assert "--overwrite" in line and "overwrite=True" in line, line
    with pytest.raises(ValueError, match=r"another study.*--overwrite.*overwrite=True"):
        # refused before it connects (a scheduler nobody listens on: were it not refused, a quick OSError)
        ef.study.run_study(tmp_path / "s.yaml", out, scheduler="tcp://127.0.0.1:9", progress=False)
    # and the flag the message names does what it says
    code, text, err = eepart("study", "s.yaml", "--out", out, "--workers", "1", "--no-progress", "--overwrite",
                             cwd=tmp_path)
    assert code == 0, err
    assert "2 scenarios run, 0 already written" in text
    import pyarrow.dataset as ds

    bounds = ds.dataset(out, format="parquet").to_table(columns=["min_accuracy"]).column(0).to_pylist()
    assert bounds == [0.85, 0.85]  # the new study's rows only


def test_unreadable_manifest_names_overwrite_and_overwrite_replaces_it(tmp_path):
    # The refusal's advice works: --overwrite replaces a folder whose _study.json cannot be read (it used
    # to be read, and refused, before --overwrite was looked at).
    pytest.importorskip("pyarrow", reason=STUDY_EXTRA)
    pytest.importorskip("dask.distributed", reason=STUDY_EXTRA)
    (tmp_path / "s.yaml").write_text(STUDY)
    (tmp_path / "day.csv").write_text("time,bandwidth[1]\n0,1e7\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "_study.json").write_text("{not json")
    line = one_line_error(*eepart("study", "s.yaml", "--out", out, "--workers", "1", cwd=tmp_path))
    assert "_study.json: unreadable" in line and "--overwrite" in line and "overwrite=True" in line, line
    code, text, err = eepart("study", "s.yaml", "--out", out, "--workers", "1", "--no-progress", "--overwrite",
                             cwd=tmp_path)
    assert code == 0, err
    assert "1 scenarios run, 0 already written" in text
    assert json.loads((out / "_study.json").read_text())["scenarios"] == 1
