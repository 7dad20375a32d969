"""Issue 12's reproducers on the Python side: loose input, limits before building, overflow, the numpy
backend's memory cap and the command line's rough edges. Crashing reproducers run in a subprocess."""
import json
import os
import resource
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.cli import commands as cli
from eepart_fast.engine import reference
from eepart_fast.model.configs import count_configurations, row_bytes

from test_cli import run
from test_worked_example import spec_profile

GOOD = spec_profile().to_dict()
# Under tools/sanitize.sh: ASan reserves terabytes of address space, so no address-space cap there.
SANITIZED = bool(os.environ.get("EEPART_FAST_SANITIZED"))


def eepart(*argv, cwd=None, memory_gb=4):
    """`eepart ARGV` in a subprocess with its address space capped, so that a regression cannot take the
    machine with it; returns (exit code, stdout, stderr)."""
    def cap():
        if SANITIZED:
            return
        limit = int(memory_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "eepart_fast.cli", *map(str, argv)], capture_output=True, text=True,
                       timeout=120, cwd=cwd, env=env, preexec_fn=cap, check=False)
    return r.returncode, r.stdout, r.stderr


def one_line_error(code, err, needle=""):
    assert code == 2, err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err, err
    assert needle in err, err


def write_profile(tmp_path, text: str, name="p.json"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- limits before anything large is built ----------------------------------------------------------

def big_profile_dict(n: int) -> dict:
    return {**GOOD, "block_time": [1e-3] * n, "branch_time": [1e-3] * n, "output_bits": [1.0] * n,
            "accuracy": [0.5] * n, "exit_rate": [[0.0] * (n - 1) + [1.0]] * 2}


def test_n_20000_is_refused_before_any_table():
    d = big_profile_dict(20_000)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="block_time: 20000 entries, more than the limit of 1000"):
            ef.Profile.from_dict(d)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024**2  # the (N+1)^2 tables would be gigabytes


def test_n_20000_on_the_command_line(tmp_path):
    path = write_profile(tmp_path, json.dumps(big_profile_dict(20_000)))
    code, _, err = eepart("plan", "--profile", path, memory_gb=3)
    one_line_error(code, err, "limit of 1000")


def test_chain_of_3000_tiers_is_refused_before_its_routes():
    names = [f"t{j}" for j in range(3000)]
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="names: 3000 tiers, more than the limit of 16"):
            ef.Topology.chain(names, [1.0] * 3000, [1e6] * 2999, [0.0] * 2999)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024**2


def test_thresholds_over_the_limit():
    d = {**GOOD, "thresholds": list(np.linspace(0, 1, 1001)), "exit_rate": [[0, 0, 1]] * 1001}
    with pytest.raises(ValueError, match="thresholds: 1001 entries, more than the limit of 1000"):
        ef.Profile.from_dict(d)


def test_files_larger_than_any_model_are_not_read(tmp_path, monkeypatch):
    from eepart_fast import _checks

    monkeypatch.setattr(_checks, "MAX_FILE_BYTES", 100)
    path = write_profile(tmp_path, json.dumps(GOOD))
    with pytest.raises(ValueError, match=r"bytes, more than the limit of 100"):
        ef.Profile.load(path)


def yaml_bomb() -> str:
    lines = ["names: [a, b]", "ratio: [1, 1]", "bandwidth: &a0 [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]"]
    for k in range(1, 8):
        lines.append(f"x{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]")
    lines.append("latency: *a7")
    return "\n".join(lines) + "\n"


def test_yaml_aliases_are_refused_not_expanded(tmp_path):
    text = yaml_bomb()
    assert len(text.encode()) < 600  # 10^8 floats once expanded
    (tmp_path / "bomb.yaml").write_text(text)
    with pytest.raises(ValueError, match=r"line 4: YAML aliases \(\*a0\) are not accepted"):
        ef.Topology.load(tmp_path / "bomb.yaml")
    code, _, err = eepart("plan", "--topology", tmp_path / "bomb.yaml", memory_gb=3)
    one_line_error(code, err, "aliases")


def test_yaml_numbers_with_exponents_still_read(tmp_path):
    # PyYAML reads 500e3 as a string; the README's own example must stay a valid topology.
    (tmp_path / "t.yaml").write_text("names: [watch, phone]\nratio: [500, 10]\nbandwidth: [500e3]\nlatency: [6e-3]\n")
    t = ef.Topology.load(tmp_path / "t.yaml")
    assert t.links == {"bandwidth": [500e3], "latency": [6e-3]}


# --- overflow, recursion and memory errors: exit 2 and one line ------------------------------------

def test_400_digit_integer(tmp_path):
    text = json.dumps(GOOD).replace('"input_bits": 98304.0', '"input_bits": ' + "9" * 400)
    path = write_profile(tmp_path, text)
    with pytest.raises(ValueError, match="input_bits = an integer of 400 digits: too large for a float64"):
        ef.Profile.load(path)
    code, _, err = eepart("plan", "--profile", path)
    one_line_error(code, err, "input_bits")


def test_max_memory_gb_inf(tmp_path):
    code, _, err = eepart("sweep", "--out", tmp_path / "r.csv", "--max-memory-gb", "inf")
    one_line_error(code, err, "--max-memory-gb")


@pytest.mark.parametrize("kind", ["profile", "topology"])
def test_deep_json(tmp_path, kind):
    path = write_profile(tmp_path, "[" * 100_000 + "]" * 100_000, f"{kind}.json")
    code, _, err = eepart("plan", f"--{kind}", path)
    one_line_error(code, err, "nested too deeply")


@pytest.mark.skipif(SANITIZED, reason="needs an address-space cap, which ASan cannot run under")
def test_memory_error_is_one_line(tmp_path):
    # Every row kept (about 250 M of them, 14 GB), allowed 64 GiB, in a process capped at 1.5 GiB.
    n = 60
    d = {**big_profile_dict(n), "thresholds": list(np.linspace(0, 1, 20)), "exit_rate": [[1.0 / n] * n] * 20}
    path = write_profile(tmp_path, json.dumps(d))
    code, _, err = eepart("sweep", "--profile", path, "--backend", "cpu", "--out", tmp_path / "r.npz",
                          "--max-memory-gb", "64", memory_gb=1.5)
    one_line_error(code, err, "out of memory")


# --- strict numbers --------------------------------------------------------------------------------

@pytest.mark.parametrize("value,error,needle", [
    ("0.002", TypeError, "block_time[1] = '0.002': expected a number, got str"),
    (True, TypeError, "block_time[1] = True: expected a number, got bool"),
    (1 + 0j, TypeError, "block_time[1] = (1+0j): expected a number, got complex"),
    (None, ValueError, "block_time[1] is null (missing): expected a number"),
    ([1e-3], TypeError, "block_time[1] = [0.001]: expected a number, got list"),
])
def test_only_numbers_are_numbers(value, error, needle):
    with pytest.raises(error) as info:
        ef.Profile.from_dict({**GOOD, "block_time": [1e-3, value, 1e-3]})
    assert needle in str(info.value)


@pytest.mark.parametrize("field,value", [("input_bits", "98304"), ("input_bits", False), ("input_bits", None),
                                         ("thresholds", None), ("thresholds", "0.5")])
def test_scalars_and_missing_lists(field, value):
    with pytest.raises((TypeError, ValueError), match=field):
        ef.Profile.from_dict({**GOOD, field: value})


def test_numpy_arrays_of_booleans_or_strings_refused():
    with pytest.raises(TypeError, match="array of bool"):
        ef.Profile.from_dict({**GOOD, "block_time": np.array([True, False, True])})
    with pytest.raises(TypeError, match="ratio: expected numbers"):
        ef.Topology.chain(["a", "b"], np.array(["1", "2"]), [1e6], [0.0])


def test_strings_in_topology_files(tmp_path):
    (tmp_path / "t.json").write_text(json.dumps({"names": ["a", "b"], "ratio": [1, 1], "bandwidth": ["1e6"],
                                                 "latency": [0.0]}))
    with pytest.raises(TypeError, match="bandwidth\\[0\\] = '1e6': expected a number"):
        ef.Topology.load(tmp_path / "t.json")


@pytest.mark.parametrize("config,needle", [
    ((0, [2.9], [0]), "configs[0].P[0]: expected an integer, got 2.9"),
    ((0.9, [3], [0]), "configs[0].t: expected an integer, got 0.9"),
    ((0, [3], [np.float64(1.0)]), "configs[0].A[0]: expected an integer, got 1.0"),
    ((True, [3], [0]), "configs[0].t: expected an integer, got True"),
])
def test_fractional_configurations_refused(config, needle):
    with pytest.raises(TypeError) as info:
        ef.evaluate(spec_profile(), ef.Topology.preset("mobile"), configs=[config])
    assert needle in str(info.value)


@pytest.mark.parametrize("value", ["0.2", True, 0.2j])
def test_sweep_bounds_are_numbers(value):
    with pytest.raises(TypeError, match="max_latency"):
        ef.sweep(spec_profile(), ef.Topology.preset("mobile"), max_latency=value, backend="numpy")


def test_thresholds_outside_unit_interval():
    with pytest.raises(ValueError, match=r"thresholds\[1\] = 7.0: must be in \[0.0, 1.0\]"):
        ef.Profile.from_dict({**GOOD, "thresholds": [0.0, 7.0]})
    with pytest.raises(ValueError, match=r"thresholds\[0\] = -0.5"):
        ef.Profile.from_dict({**GOOD, "thresholds": [-0.5, 0.5]})


@pytest.mark.parametrize("name", [5, ["x"], {"a": 1}, True])
def test_name_must_be_a_string(name):
    with pytest.raises(TypeError, match="name: expected a string"):
        ef.Profile.from_dict({**GOOD, "name": name})


def test_values_print_with_every_digit():
    with pytest.raises(ValueError, match=r"accuracy\[1\] = 1.0000001: must be in \[0.0, 1.0\]"):
        ef.Profile.from_dict({**GOOD, "accuracy": [0.5, 1.0000001, 0.9]})
    with pytest.raises(ValueError, match=r"input_bits = -1e-09: must be >= 0"):
        ef.Profile.from_dict({**GOOD, "input_bits": -1e-9})


def test_null_in_a_file_is_named(tmp_path):
    path = write_profile(tmp_path, json.dumps({**GOOD, "result_bits": None}))
    code, _, err = eepart("plan", "--profile", path)
    one_line_error(code, err, "result_bits is null")
    assert "nan" not in err


# --- costs must be finite: one rule, every backend ------------------------------------------------

def overflowing_model():
    profile = ef.Profile.from_dict({**GOOD, "output_bits": [1e300, 1e300, 1e300]})
    return profile, ef.Topology.chain(["a", "b"], [1.0, 1.0], [1e-10], [0.0])


def test_overflowing_costs_are_one_error_on_every_backend(backend):
    profile, topology = overflowing_model()
    needle = r"forward_cost\[0\]\[0\]\[1\] = inf s: costs must be finite"
    with pytest.raises(ValueError, match=needle):
        ef.sweep(profile, topology, backend=backend)
    with pytest.raises(ValueError, match=needle):
        ef.evaluate(profile, topology, configs=[(1, [1, 3], [0, 1])], backend=backend)
    with pytest.raises(ValueError, match=needle):
        ef.Planner(profile, topology, backend=backend).pareto()


def test_costs_that_could_overflow_a_sum_are_refused():
    # Each cost finite (1e307 s) but a latency summing a few of them would be inf.
    profile = ef.Profile.from_dict({**GOOD, "block_time": [1e307, 1e307, 1e307]})
    topology = ef.Topology.chain(["a", "b"], [1.0, 1.0], [1e6], [0.0])
    with pytest.raises(ValueError, match=r"compute_cost\[0\]\[0\]\[1\] = 1e\+307 s: costs must be finite and at most"):
        ef.sweep(profile, topology, backend="numpy")


# --- the numpy sweep's memory cap ------------------------------------------------------------------

def test_numpy_sweep_peak_within_its_stated_factor():
    from _instances import random_profile, random_topology

    rng = np.random.default_rng(1)
    profile, topology = random_profile(rng, 14, 6), random_topology(rng, 4)
    tables = ef.cost_tables(profile, topology)
    total = count_configurations(14, 4, 6)  # every row kept: the cap is exactly what the rows need
    cap = total * row_bytes(14, 4)
    tracemalloc.start()
    try:
        rows = reference.sweep(tables, max_rows=total)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(rows["latency"]) == total
    slack = reference.MIN_CHUNK * reference._chunk_bytes(14, 4) + 1024**2
    assert peak <= 1.5 * cap + slack, (peak / cap)  # was 3.76x


# --- the command line -----------------------------------------------------------------------------



def frontier_rows(out: str) -> list:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("latency (ms)"))
    rows = []
    for line in lines[start + 1:]:
        if not line.strip() or line.startswith("("):
            break
        rows.append(line)
    return rows


def test_plan_prints_a_summary_and_frontier_on_request(capsys):
    code, out, err = run(capsys, "plan", "--backend", "cpu")  # the shipped ResNet-20 profile: 185 points
    n = len(ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"),
                       backend="cpu").pareto())
    assert code == 0, err
    assert f"Pareto frontier: {n} points" in out and len(frontier_rows(out)) == cli.FRONTIER_ROWS
    code, out, _ = run(capsys, "plan", "--backend", "cpu", "--frontier", "3")
    assert len(frontier_rows(out)) == 3
    code, out, _ = run(capsys, "plan", "--backend", "cpu", "--frontier", "all")
    rows = frontier_rows(out)
    assert len(rows) == n
    # Every printed row tells its point apart from its neighbours.
    shown = [tuple(r.split()[:2]) for r in rows]
    assert len(set(shown)) == n


def test_frontier_rows_get_the_digits_they_need():
    class P:
        def __init__(self, lat, acc):
            self.latency, self.accuracy, self.threshold, self.breakdown = lat, acc, 0.5, []

    table = cli.frontier_table([P(0.1, 0.9), P(0.1000001, 0.90000001), P(0.2, 0.95)])
    rows = [tuple(line.split()[:2]) for line in table.splitlines()[1:]]
    assert len(set(rows)) == 3 and rows[0] == ("100.0000", "0.90000000")


def test_no_plan_has_its_own_exit_code(capsys, profile_file):
    code, out, _ = run(capsys, "plan", "--profile", profile_file, "--max-latency-ms", "1")
    assert code == cli.EXIT_NO_PLAN == 3 and "none: no configuration meets the bound" in out
    code, out, _ = run(capsys, "plan", "--profile", profile_file, "--max-latency-ms", "1", "--json")
    assert code == 3 and json.loads(out)["best"] is None
    code, _, _ = run(capsys, "plan", "--profile", profile_file, "--max-latency-ms", "5000")
    assert code == 0


@pytest.mark.parametrize("argv,needle", [
    (["plan", "--min-accuracy", "2"], "--min-accuracy: '2': an accuracy is a fraction in [0, 1]"),
    (["plan", "--max-latency-ms", "-5"], "--max-latency-ms: '-5': must be > 0"),
    (["plan", "--max-latency-ms", "nan"], "must be a finite number"),
    (["sweep", "--out", "r.csv", "--min-accuracy", "-0.1"], "--min-accuracy"),
    (["plan", "--frontier", "ten"], "--frontier: 'ten'"),
    (["plan", "--topology", "datacenter"],
     "--topology 'datacenter': no such file or preset (presets: mobile, iot, mobile-energy)"),
    (["plan", "--plot", "/no/dir/x.png"], "--plot '/no/dir/x.png': folder '/no/dir' does not exist"),
    (["sweep", "--out", "/no/dir/x.csv"], "folder '/no/dir' does not exist"),
])
def test_bad_arguments_one_line(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    one_line_error(code, err, needle)


def test_yaml_with_tabs_is_one_line(capsys, tmp_path):
    (tmp_path / "t.yaml").write_text("names: [a, b]\nratio:\n\t- 1\n\t- 1\nbandwidth: [1e6]\nlatency: [0.0]\n")
    code, _, err = run(capsys, "plan", "--topology", tmp_path / "t.yaml")
    one_line_error(code, err, "not valid YAML (line 3, column 1:")


def test_help_lists_the_profile_presets(capsys):
    code, out, _ = run(capsys, "plan", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for name in ef.Profile.presets():
        assert name in flat


def test_backends_say_available_once(capsys):
    code, out, _ = run(capsys, "backends")
    assert code == 0 and all(line.count("available") == 1 for line in out.splitlines()), out
    assert any(line.split()[:2] == ["cpu", "available"] for line in out.splitlines())


def test_memory_cap_message_names_the_option(capsys, profile_file, tmp_path):
    code, _, err = run(capsys, "sweep", "--profile", profile_file, "--out", tmp_path / "r.csv",
                       "--max-memory-gb", "1e-6")
    one_line_error(code, err, "raise --max-memory-gb")


@pytest.mark.parametrize("per_threshold", [False, True])
@pytest.mark.parametrize("name", ["numpy", "cpu"])
def test_sweep_by_threshold_is_one_sweep(name, per_threshold):
    from eepart_fast.engine.registry import get_backend

    from _instances import random_profile, random_topology

    rng = np.random.default_rng(5)
    profile, topology = random_profile(rng, 7, 4), random_topology(rng, 3)
    tables = ef.cost_tables(profile, topology)
    if per_threshold:  # an accuracy table of shape (K, N)
        tables = tables._replace(accuracy=rng.uniform(0.1, 1.0, (tables.K, tables.N)))
    whole = get_backend(name).sweep(tables, max_latency=1.0, min_accuracy=0.3)
    parts = cli.sweep_rows(tables, name, 1.0, 0.3, 1 << 30, 1.0)
    assert len(parts["latency"]) > 0
    for key in ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement"):
        np.testing.assert_array_equal(parts[key], whole[key], err_msg=key)


def test_sweep_csv_in_ms_with_15_digits(capsys, profile_file, tmp_path):
    out = tmp_path / "r.csv"
    code, _, err = run(capsys, "sweep", "--profile", profile_file, "--out", out)
    assert code == 0, err
    lines = out.read_text().splitlines()
    assert lines[0].startswith("latency_ms,accuracy,")
    expected = ef.sweep(spec_profile(), ef.Topology.preset("mobile"), backend="numpy")
    table = np.loadtxt(out, delimiter=",", skiprows=1, ndmin=2)
    np.testing.assert_allclose(table[:, 0], expected.latency * 1e3, rtol=1e-14)
    digits = max(len(f.lstrip("-").replace(".", "").lstrip("0").split("e")[0]) for line in lines[1:]
                 for f in line.split(",")[:2])
    assert digits <= 15


# --- a profile run that never started does not hold its folder --------------------------------------

@pytest.mark.train
def test_failed_profile_train_does_not_poison_its_run_dir(tmp_path, capsys):
    pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
    from eepart_fast.cli import nn as nn_cli
    from eepart_fast.nn.data import DatasetMissing
    from eepart_fast.nn.run import RunSpec, open_run

    run_dir = tmp_path / "r"
    with pytest.raises(DatasetMissing):
        nn_cli.main(["profile", "--train", "--data-dir", str(tmp_path / "none"), "--run-dir", str(run_dir),
                     "--out", str(tmp_path / "p.json"), "--no-progress", "--epochs", "1"])
    assert not (run_dir / "run.json").exists()
    # A folder left by an older version, run.json and no checkpoint: the corrected spec is taken.
    run_dir.mkdir()
    open_run(run_dir, RunSpec(data_dir=str(tmp_path / "none")))
    fixed = RunSpec(data_dir=str(tmp_path / "data"))
    assert open_run(run_dir, fixed) == fixed
    (run_dir / "joint.pt").write_bytes(b"")  # once training began, the folder is that run's
    with pytest.raises(ValueError, match="holds another run"):
        open_run(run_dir, RunSpec(data_dir=str(tmp_path / "other")))
