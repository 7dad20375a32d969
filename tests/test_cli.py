"""The `eepart` command: plans, files, plots, and exit code 2 with one line on bad input."""
import json
import subprocess
import sys

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.cli import main

from test_worked_example import spec_profile


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_json_is_the_exact_frontier(capsys, profile_file):
    code, out, err = run(capsys, "plan", "--profile", profile_file, "--topology", "mobile", "--json",
                         "--min-accuracy", "0.8")
    assert code == 0, err
    doc = json.loads(out)
    rows = ef.sweep(spec_profile(), ef.Topology.preset("mobile"), backend="numpy")
    front = rows.pareto()
    np.testing.assert_allclose([p["latency"] for p in doc["frontier"]], front.latency, rtol=1e-12)
    feasible = rows.accuracy >= 0.8
    assert doc["best"]["latency"] == pytest.approx(rows.latency[feasible].min(), rel=1e-12)
    assert doc["best"]["accuracy"] >= 0.8


def test_plan_text_names_tiers_and_ms(capsys, profile_file):
    code, out, _ = run(capsys, "plan", "--profile", profile_file, "--max-latency-ms", "400", "--destination", "cloud")
    assert code == 0
    assert "best plan under latency <= 400.0 ms" in out and "Pareto frontier" in out
    assert any(name in out for name in ("smartphone", "edge server", "cloud"))


def test_plan_with_nothing_feasible(capsys, profile_file):
    code, out, _ = run(capsys, "plan", "--profile", profile_file, "--max-latency-ms", "1")
    assert code == 3 and "none: no configuration meets the bound" in out
    # what the plans reach, so that a bound in the wrong unit shows: the frontier's ends
    front = ef.Planner(ef.Profile.load(profile_file), ef.Topology.preset("mobile")).pareto()
    assert (f"the plans' least latency is {front[0].latency * 1e3:.3f} ms and their highest accuracy "
            f"{front[-1].accuracy:.4f}") in out


def test_plan_writes_frontier_and_plot(capsys, profile_file, tmp_path):
    png, csv = tmp_path / "f.png", tmp_path / "f.csv"
    code, _, err = run(capsys, "plan", "--profile", profile_file, "--topology", "iot", "--plot", str(png),
                       "--frontier-out", str(csv), "--min-accuracy", "0.85")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = csv.read_text().splitlines()
    n_front = len(ef.sweep(spec_profile(), ef.Topology.preset("iot"), backend="numpy").pareto())
    assert lines[0].startswith("latency_ms,accuracy") and len(lines) == 1 + n_front


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_sweep_writes_every_kept_row(capsys, profile_file, tmp_path, suffix):
    out = tmp_path / f"rows{suffix}"
    code, text, err = run(capsys, "sweep", "--profile", profile_file, "--max-latency-ms", "500", "--out", str(out))
    assert code == 0, err
    expected = ef.sweep(spec_profile(), ef.Topology.preset("mobile"), max_latency=0.5, backend="numpy")
    if suffix == ".npz":
        with np.load(out, allow_pickle=False) as z:
            np.testing.assert_allclose(z["latency"], expected.latency, rtol=1e-12)
            np.testing.assert_array_equal(z["partitions"], expected.partitions)
    else:
        table = np.loadtxt(out, delimiter=",", skiprows=1, ndmin=2)
        assert table.shape[0] == len(expected)
        np.testing.assert_allclose(table[:, 0], expected.latency * 1e3, rtol=1e-12)
    assert f"{len(expected):,} rows" in text


@pytest.mark.parametrize("argv,needle", [
    (["plan", "--profile", "nope.json"], "nope.json"),
    (["plan", "--profile", "PROFILE", "--topology", "mars"], "mars"),
    (["plan", "--profile", "PROFILE", "--destination", "moon"], "destination"),
    (["plan", "--profile", "PROFILE", "--source", "9"], "source = 9"),
    (["sweep", "--profile", "PROFILE", "--out", "rows.txt"], ".csv, .npz or .parquet"),
    (["plan", "--profile", "PROFILE", "--backend", "numpy", "--frontier-out", "f.xml"], ".csv or .json"),
])
def test_bad_input_exits_2_with_one_line(capsys, profile_file, argv, needle):
    argv = [profile_file if a == "PROFILE" else a for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("eepart: error:") and needle in err


def test_bad_profile_file_names_the_field(capsys, tmp_path):
    d = spec_profile().to_dict()
    d["accuracy"] = [0.5, 1.2, 0.9]
    (tmp_path / "bad.json").write_text(json.dumps(d))
    code, _, err = run(capsys, "plan", "--profile", str(tmp_path / "bad.json"))
    assert code == 2 and "accuracy[1] = 1.2" in err


def test_help_runs_as_a_program():
    r = subprocess.run([sys.executable, "-m", "eepart_fast.cli", "plan", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--min-accuracy" in r.stdout and "--topology" in r.stdout
    r = subprocess.run([sys.executable, "-m", "eepart_fast.cli", "backends"], capture_output=True, text=True)
    assert r.returncode == 0 and "numpy" in r.stdout and "available" in r.stdout


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_frontier_out_interrupted_leaves_the_old_file(tmp_path, suffix):
    """Ctrl-C while --frontier-out is written: the file at the path is the old one, whole, and no
    temporary stays beside it."""
    import eepart_fast as ef
    from eepart_fast.cli.commands import write_frontier

    frontier = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")).pareto()

    class Interrupted:
        def __getattr__(self, name):
            raise KeyboardInterrupt

    path = tmp_path / f"front{suffix}"
    path.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        write_frontier(str(path), [*frontier[:3], Interrupted()])
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    write_frontier(str(path), frontier)
    assert len(path.read_text().splitlines()) >= len(frontier)
