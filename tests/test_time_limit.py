"""`time_limit` on every backend and through the public API and the CLI (issue 12): a call that cannot
finish stops with TimeoutError soon after its limit; a call that can finish returns what it returns
without one; bad limits are refused by name. The numpy pareto's memory stays within its stated factor.

The elapsed times asserted are upper bounds only, generous for a loaded machine: the calls would
otherwise run for minutes or years. Measured overshoot is quoted in README, not asserted.
"""
import time
import tracemalloc

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.cli import commands as cli
from eepart_fast.engine import reference
from eepart_fast.engine.registry import get_backend
from eepart_fast.model.configs import count_configurations, row_bytes

from _instances import random_profile, random_topology

GENEROUS = 20.0  # seconds past the limit that still count as "stopped": only a hang fails


def identical_tiers(N=100, M=16, K=1, seed=0):
    """The search's worst case: M identical tiers joined by free links (labels grow like N M 2^M)."""
    rng = np.random.default_rng(seed)
    topo = ef.Topology([f"t{j}" for j in range(M)], np.ones(M), np.zeros((M, M)), np.zeros((M, M)))
    return random_profile(rng, N, K), topo


def unprunable_sweep():
    """1.6e17 configurations of which none is kept and none can be pruned: the result cost alone reaches
    the latency bound while every prefix stays under it."""
    rng = np.random.default_rng(7)
    t = ef.cost_tables(random_profile(rng, 100, 20), random_topology(rng, 8))
    M = t.M
    return t._replace(input_cost=np.zeros(M), result_cost=np.ones(M), compute_cost=t.compute_cost * 1e-9,
                      forward_cost=t.forward_cost * 1e-9)


def stops(call, limit, what):
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=rf"{what}: stopped at its time limit \(time_limit = {limit:g} s\)"):
        call()
    assert time.monotonic() - start < limit + GENEROUS


def test_sweep_stops_at_its_time_limit(backend):
    tables = unprunable_sweep()
    stops(lambda: ef.sweep(tables, max_latency=1.0, backend=backend, time_limit=0.05), 0.05, "sweep")
    stops(lambda: get_backend(backend, "sweep").sweep(tables, max_latency=1.0, time_limit=0.05), 0.05, "sweep")


def test_pareto_stops_at_its_time_limit(backend):
    profile, topo = identical_tiers()
    big = {"max_memory": 2**40} if backend != "numpy" else {}  # a time limit, not the memory cap, stops it
    stops(lambda: ef.pareto(profile, topo, backend=backend, time_limit=0.2, **big), 0.2, "pareto")
    planner = ef.Planner(profile, topo, backend=backend, **big)
    stops(lambda: planner.min_latency(min_accuracy=0.5, time_limit=0.2), 0.2, "pareto")
    stops(lambda: planner.max_accuracy(max_latency=1.0, time_limit=0.2), 0.2, "pareto")
    stops(lambda: ef.min_latency(profile, topo, min_accuracy=0.5, backend=backend, time_limit=0.2, **big), 0.2,
          "pareto")
    stops(lambda: ef.max_accuracy(profile, topo, max_latency=1.0, backend=backend, time_limit=0.2, **big), 0.2,
          "pareto")


def test_plan_table_limit_is_for_the_whole_table(backend):
    profile, topo = identical_tiers()
    planner = ef.Planner(profile, topo, backend=backend, **({"max_memory": 2**40} if backend != "numpy" else {}))
    stops(lambda: planner.plan_table("scale", None, 0.5, 2.0, min_accuracy=0.5, time_limit=0.2), 0.2, "plan table")


def spec_instance():
    from test_worked_example import spec_profile

    return spec_profile(), ef.Topology.preset("mobile")


def test_a_generous_limit_changes_nothing(backend):
    rng = np.random.default_rng(3)
    profile, topo = random_profile(rng, 9, 3), random_topology(rng, 4)
    want, got = ef.sweep(profile, topo, backend=backend), ef.sweep(profile, topo, backend=backend, time_limit=600)
    assert len(want) == count_configurations(9, 4, 3)
    for k in reference.COLUMNS:
        np.testing.assert_array_equal(getattr(got, k), getattr(want, k))
    key = lambda p: (p.latency, p.accuracy, p.threshold_index, list(p.partitions), list(p.placement))
    front = ef.pareto(profile, topo, backend=backend)
    assert len(front) > 1
    assert list(map(key, ef.pareto(profile, topo, backend=backend, time_limit=600))) == list(map(key, front))
    planner = ef.Planner(profile, topo, backend=backend)
    fresh = lambda: ef.Planner(profile, topo, backend=backend)
    assert key(planner.min_latency(min_accuracy=0.5, time_limit=600)) == key(fresh().min_latency(min_accuracy=0.5))
    assert key(planner.max_accuracy(max_latency=front[-1].latency,
                                    time_limit=np.inf)) == key(fresh().max_accuracy(max_latency=front[-1].latency))
    table = planner.plan_table("scale", None, 0.5, 2.0, min_accuracy=0.5, time_limit=600)
    assert table.rows == ef.Planner(profile, topo, backend=backend).plan_table("scale", None, 0.5, 2.0,
                                                                               min_accuracy=0.5).rows


@pytest.mark.parametrize("bad, error, message", [
    (0, ValueError, "time_limit = 0: must be > 0 seconds"),
    (-1.5, ValueError, r"time_limit = -1.5: must be > 0 seconds"),
    (float("nan"), ValueError, "time_limit = nan: must be > 0 seconds"),
    ("5", TypeError, "time_limit = '5': expected a number of seconds"),
    (True, TypeError, "time_limit = True: expected a number of seconds"),
])
def test_bad_limits_are_refused_by_name(bad, error, message):
    profile, topo = spec_instance()
    planner = ef.Planner(profile, topo, backend="numpy")
    calls = [lambda: ef.sweep(profile, topo, backend="numpy", time_limit=bad),
             lambda: ef.pareto(profile, topo, backend="numpy", time_limit=bad),
             lambda: ef.min_latency(profile, topo, min_accuracy=0.5, time_limit=bad),
             lambda: ef.max_accuracy(profile, topo, max_latency=0.2, time_limit=bad),
             lambda: planner.pareto(time_limit=bad),
             lambda: planner.plan_table("scale", None, 0.5, 2.0, min_accuracy=0.5, time_limit=bad),
             lambda: reference.sweep(ef.cost_tables(profile, topo), time_limit=bad),
             lambda: reference.pareto(ef.cost_tables(profile, topo), time_limit=bad)]
    for call in calls:
        with pytest.raises(error, match=message):
            call()


def test_numpy_pareto_peak_within_its_stated_factor():
    """The numpy pareto's max_memory covers the swept rows and the frontier's work on them; its peak stays
    within 1.5x max_memory (the sweep's factor), plus a chunk's temporaries."""
    rng = np.random.default_rng(1)
    tables = ef.cost_tables(random_profile(rng, 14, 6), random_topology(rng, 4))
    total = count_configurations(14, 4, 6)
    cap = total * (row_bytes(14, 4) + reference.FRONTIER_BYTES)  # every row kept: exactly what it needs
    want = reference.pareto(tables, max_memory=2**40)
    tracemalloc.start()
    try:
        got = reference.pareto(tables, max_memory=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    for k in reference.COLUMNS:
        np.testing.assert_array_equal(got[k], want[k])
    slack = reference.MIN_CHUNK * reference._chunk_bytes(14, 4) + 1024**2
    assert peak <= 1.5 * cap + slack, peak / cap
    with pytest.raises(ValueError, match="more than .* rows"):
        reference.pareto(tables, max_memory=cap // 2)


# --- the command line -----------------------------------------------------------------------------

def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def slow_models(tmp_path):
    profile, topo = identical_tiers()
    profile.save(tmp_path / "p.json")
    topo.save(tmp_path / "t.json")
    return str(tmp_path / "p.json"), str(tmp_path / "t.json")


@pytest.mark.parametrize("extra", [[], ["--min-accuracy", "0.5"], ["--over", "scale:0.5:2", "--min-accuracy", "0.5"]])
def test_cli_plan_time_limit_is_one_line_and_exit_2(capsys, slow_models, extra):
    start = time.monotonic()
    code, out, err = run(capsys, "plan", "--profile", slow_models[0], "--topology", slow_models[1],
                         "--backend", "numpy", "--time-limit", "0.2", *extra)
    assert time.monotonic() - start < 0.2 + GENEROUS
    assert code == 2 and out == ""
    assert err == ("eepart: error: stopped at --time-limit 0.2 s without an answer: raise --time-limit, or narrow "
                   "the question (bounds, fewer tiers or blocks)\n")


def test_cli_sweep_time_limit(capsys, slow_models, tmp_path):
    out_file = tmp_path / "rows.csv"
    code, out, err = run(capsys, "sweep", "--profile", slow_models[0], "--topology", slow_models[1], "--backend",
                         "numpy", "--time-limit", "0.2", "--out", out_file, "--no-progress")
    assert code == 2 and out == "" and "stopped at --time-limit 0.2 s" in err and err.count("\n") == 1
    assert not out_file.exists()
    for bad in ("0", "-1", "nan", "soon"):
        code, _, err = run(capsys, "sweep", "--time-limit", bad, "--out", out_file)
        assert code == 2 and "--time-limit" in err and err.count("\n") == 1


def test_cli_generous_limit_changes_nothing(capsys):
    code, out, err = run(capsys, "plan", "--backend", "numpy", "--json", "--min-accuracy", "0.8")
    assert code == 0, err
    code2, out2, _ = run(capsys, "plan", "--backend", "numpy", "--json", "--min-accuracy", "0.8",
                            "--time-limit", "600")
    assert (code2, out2) == (0, out)
