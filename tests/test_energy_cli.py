"""`eepart plan` with energy: --objective energy, --max-energy-mj and --energy-tiers against the Python API on
the shipped profile and the mobile-energy preset (whose plans the API's tests check against every
configuration), the frontier file's energy column, and one-line usage errors."""
import csv
import json

import pytest

import eepart_fast as ef
from eepart_fast.cli import main

PROFILE, TOPOLOGY = "resnet20-fashionmnist", "mobile-energy"


def run(capsys, *argv):
    code = main(["plan", "--profile", PROFILE, "--topology", TOPOLOGY, *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def models():
    return ef.Profile.preset(PROFILE), ef.Topology.preset(TOPOLOGY)


def test_objective_energy_is_min_energy(capsys):
    code, out, err = run(capsys, "--objective", "energy", "--min-accuracy", 0.9, "--max-latency-ms", 200,
                         "--energy-tiers", "all", "--json")
    assert code == 0, err
    best = json.loads(out)["best"]
    want = ef.min_energy(*models(), min_accuracy=0.9, max_latency=0.2, energy_tiers="all")
    assert (best["latency"], best["accuracy"], best["energy"]) == (want.latency, want.accuracy, want.energy)
    assert best["partitions"] == list(want.partitions) and best["placement"] == list(want.placement)


def test_max_energy_bounds_the_best_plan_and_the_frontier(capsys, tmp_path):
    path = tmp_path / "front.csv"
    code, out, err = run(capsys, "--min-accuracy", 0.9, "--max-energy-mj", 40, "--energy-tiers", "all",
                         "--frontier-out", path)
    assert code == 0, err
    want = ef.min_latency(*models(), min_accuracy=0.9, max_energy=0.04, energy_tiers="all")
    assert f"energy {want.energy * 1e3:.3f} mJ" in out and "energy <= 40.0 mJ" in out
    rows = list(csv.DictReader(path.open()))
    front = ef.pareto(*models(), max_energy=0.04, energy_tiers="all")
    assert [float(r["energy_mj"]) for r in rows] == [p.energy * 1e3 for p in front]
    assert all(float(r["energy_mj"]) <= 40 for r in rows)


def test_no_plan_within_the_energy_bound_exits_with_its_code(capsys):
    code, out, _ = run(capsys, "--objective", "energy", "--min-accuracy", 0.99)
    assert code != 0 and "none: no configuration meets the bound" in out


@pytest.mark.parametrize("argv, message", [
    (["--objective", "latency", "--max-latency-ms", "100"], "--objective latency: give --min-accuracy alone"),
    (["--min-accuracy", "0.9", "--max-latency-ms", "100"], "give one (or both with --objective energy)"),
    (["--max-energy-mj", "10", "--quantile", "p99"], "--quantile: not with --max-energy-mj"),
    (["--max-energy-mj", "0"], "--max-energy-mj"),
])
def test_usage_errors_are_one_line(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_energy_on_a_topology_without_energy_inputs_is_refused_in_one_line(capsys):
    """Every plan would cost 0 J there: a least-energy plan would be any plan, silently."""
    for argv in (["--objective", "energy", "--min-accuracy", "0.9"], ["--min-accuracy", "0.9", "--max-energy-mj", "5"]):
        code = main(["plan", "--profile", PROFILE, "--topology", "mobile", *argv])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "has no energy inputs" in err and "mobile-energy" in err


def test_a_source_without_active_power_is_noted(capsys):
    """The preset's watch has no published power: computing on it is free, and the CLI says so."""
    code, out, err = run(capsys, "--objective", "energy", "--min-accuracy", 0.9)
    assert code == 0
    assert "the source 'smartwatch' has no active power (0 W)" in err
    code, out, err = run(capsys, "--objective", "energy", "--min-accuracy", 0.9, "--energy-tiers", "all")
    assert code == 0 and "the counted tier 'smartwatch' has no active power (0 W)" in err  # the others have power
    code, out, err = run(capsys, "--objective", "energy", "--min-accuracy", 0.9, "--energy-tiers", "1,2")
    assert code == 0 and "no active power" not in err  # the phone and the edge server: neither is free
