"""Tail latency's public front (docs/model.md "Tail latency"): evaluate, sweep, the searches, Plans, the
Planner and the command line with `quantile`, against per-sample tallies and brute force."""
import itertools
import json
import math
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.io.records import exit_points, exit_rates, load_records
from eepart_fast.model.configs import pack_configs
from eepart_fast.model.quantile import quantile_label

import _raw_model as raw
from _instances import random_profile, random_topology
from test_cli import run
from test_quantile_backends import MODULES
from test_worked_example import spec_profile

QS = (0.5, 0.9, 0.99, 0.999, 1.0)
PRESETS = Path(ef.__file__).parent / "presets" / "profiles"
BACKENDS = [name for name, info in ef.backends().items() if info["available"]]
# The tallies also run on the cuda backend's kernels on the host emulator, where the build has it.
EMULATED = MODULES.get("cuda_emu")
TALLY_BACKENDS = BACKENDS + (["cuda_emu"] if EMULATED is not None else [])


def evaluate_on(backend, profile, topology, configs, source, destination, quantile=None):
    """ef.evaluate, or on "cuda_emu" the emulated cuda module's evaluate on the same tables."""
    if backend != "cuda_emu":
        return ef.evaluate(profile, topology, configs=configs, source=source, destination=destination, backend=backend,
                           quantile=quantile)
    tables = ef.cost_tables(profile, topology, source=source, destination=destination)
    latency, accuracy = EMULATED.evaluate(tables, *pack_configs(configs, tables.N, tables.M, tables.K),
                                          quantile=quantile)
    return SimpleNamespace(latency=np.asarray(latency), accuracy=np.asarray(accuracy), quantile=quantile,
                           latency_statistic=quantile_label(quantile))


# --- brute force ----------------------------------------------------------------------------------

def tally_quantile(latencies, q: float) -> float:
    """The ceil(q n)-th smallest of n per-sample latencies (q taken as the decimal it is written as)."""
    s = sorted(latencies)
    return s[math.ceil(Fraction(str(q)) * len(s)) - 1]


def raw_exit_latencies(profile, topology, source, destination, P, A) -> list:
    """ℓ_k of each partition exit from the raw model: the input's trip, the partitions' compute and the
    forwards up to k, and the result's trip from partition k's tier."""
    n = profile.N
    clock = raw.move(profile, topology, 0, source, A[0])
    out = []
    for k, (q, a) in enumerate(zip(P, A)):
        p = P[k - 1] if k else 0
        clock += raw.compute(profile, topology, a, p, q)
        out.append(clock + raw.move(profile, topology, n + 1, a, destination))
        if k + 1 < len(P):
            clock += raw.move(profile, topology, q, a, A[k + 1])
    return out


def table_exit_latencies(tables, P, A) -> list:
    """ℓ_k summed in plain Python from the cost tables, in docs/model.md's order."""
    clock = float(tables.input_cost[A[0]])
    out = []
    for k, (q, a) in enumerate(zip(P, A)):
        p = P[k - 1] if k else 0
        clock += float(tables.compute_cost[a, p, q])
        out.append(clock + float(tables.result_cost[a]))
        if k + 1 < len(P):
            clock += float(tables.forward_cost[q - 1, a, A[k + 1]])
    return out


def partition_of(branches, P) -> np.ndarray:
    """The partition each sample leaves at: branch i (1-based) inside partition k leaves at its end; past
    the last partition's end, at the last."""
    return np.minimum(np.searchsorted(np.asarray(P), branches, side="left"), len(P) - 1)


def tally(ell, branches, P, q) -> float:
    return tally_quantile(np.asarray(ell)[partition_of(branches, P)].tolist(), q)


def every_config(N, M, K):
    for t in range(K):
        for L in range(1, min(M, N) + 1):
            for P in itertools.combinations(range(1, N + 1), L):
                for A in itertools.permutations(range(M), L):
                    yield t, list(P), list(A)


def profile_of_exits(rng, N, K, n):
    """A random profile whose exit rates are the tallies of n samples' random exit branches (some branches
    never taken), and those branches (1-based), (K, n)."""
    profile = random_profile(rng, N, K)
    branches = np.empty((K, n), dtype=np.int64)
    for t in range(K):
        weights = rng.random(N) * (rng.random(N) < 0.7)
        weights[-1] += 0.1
        branches[t] = rng.choice(np.arange(1, N + 1), n, p=weights / weights.sum())
    rates = np.stack([np.bincount(b - 1, minlength=N) / n for b in branches])
    d = profile.to_dict()
    d["exit_rate"] = rates.tolist()
    return ef.Profile.from_dict(d), branches


# --- evaluate against per-sample tallies ----------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    profile = ef.Profile.preset("resnet20-fashionmnist")
    records = load_records(PRESETS / "resnet20-fashionmnist.samples.npz")
    return profile, records


def test_shipped_exit_rates_are_the_records_tallies(shipped):
    profile, records = shipped
    # The shipped profile's exit_rate is exactly (bit for bit) the tally of its 5,000 records.
    assert np.array_equal(exit_rates(records["norm_entropy"], profile.thresholds), profile.exit_rate)
    assert np.array_equal(records["thresholds"], profile.thresholds)


@pytest.mark.parametrize("backend", TALLY_BACKENDS)
@pytest.mark.parametrize("ends", [(0, 0), (0, 3), (2, 1)])
def test_evaluate_quantile_is_the_tally_of_the_records(shipped, backend, ends):
    profile, records = shipped
    topology = ef.Topology.preset("mobile")
    source, destination = ends
    rng = np.random.default_rng(sum(ends))
    configs = list(every_config(profile.N, topology.M, profile.K))
    configs = [configs[i] for i in rng.choice(len(configs), 150, replace=False)]
    branches = {t: exit_points(records["norm_entropy"], profile.thresholds[t]) + 1 for t in range(profile.K)}
    # Each sample's latency: the exit latency of the partition it leaves at, sorted once per configuration.
    samples = [sorted(np.asarray(raw_exit_latencies(profile, topology, source, destination, P, A))
                      [partition_of(branches[t], P)].tolist()) for t, P, A in configs]
    for q in QS:
        got = evaluate_on(backend, profile, topology, configs, source, destination, quantile=q)
        assert got.quantile == q and got.latency_statistic in ("p50", "p90", "p99", "p99.9", "p100")
        want = [tally_quantile(s, q) for s in samples]
        np.testing.assert_allclose(got.latency, want, rtol=1e-12, atol=0)
        mean = evaluate_on(backend, profile, topology, configs, source, destination)
        np.testing.assert_array_equal(got.accuracy, mean.accuracy)


@pytest.mark.parametrize("backend", TALLY_BACKENDS)
@pytest.mark.parametrize("seed", range(6))
def test_evaluate_quantile_on_random_per_sample_exits(backend, seed):
    rng = np.random.default_rng(100 + seed)
    N, M, K = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    n = int(rng.choice([200, 1000]))
    profile, branches = profile_of_exits(rng, N, K, n)
    topology = random_topology(rng, M)
    source, destination = int(rng.integers(M)), int(rng.integers(M))
    configs = list(every_config(N, M, K))
    # Besides QS, every q that is exactly the share leaving by some branch (a decimal, as n is 200 or
    # 1000): where a partition ends there, the quantile is the last sample of that exit, not the next one.
    edges = sorted({int((b <= i).sum()) / n for b in branches for i in range(1, N + 1)} - {0.0})
    for q in QS + tuple(edges):
        got = evaluate_on(backend, profile, topology, configs, source, destination, quantile=q)
        want = [tally(raw_exit_latencies(profile, topology, source, destination, P, A), branches[t], P, q)
                for t, P, A in configs]
        np.testing.assert_allclose(got.latency, want, rtol=1e-12, atol=0)


def test_mean_is_unchanged_bit_for_bit():
    profile, topology = spec_profile(), ef.Topology.preset("mobile")
    configs = list(every_config(profile.N, topology.M, profile.K))
    from eepart_fast.engine import reference
    from eepart_fast.model.configs import pack_configs

    tables = ef.cost_tables(profile, topology)
    want = reference.evaluate(tables, *pack_configs(configs, profile.N, topology.M, profile.K))
    got = ef.evaluate(profile, topology, configs=configs, backend="numpy", quantile=None)
    assert got.quantile is None and got.latency_statistic == "mean"
    np.testing.assert_array_equal(got.latency, want[0])
    rows = ef.sweep(profile, topology, backend="numpy")
    assert rows.quantile is None and "latency=" not in repr(rows)


# --- the p99 frontier and the two problems against brute force ------------------------------------

def brute_rows(profile, topology, branches, q):
    """(latency quantile, accuracy) of every configuration, by tally and the raw accuracy."""
    tables = ef.cost_tables(profile, topology)
    lat, acc = [], []
    for t, P, A in every_config(profile.N, topology.M, profile.K):
        lat.append(tally(table_exit_latencies(tables, P, A), branches[t], P, q))
        acc.append(raw.latency_accuracy(profile, topology, 0, 0, t, P, A)[1])
    return np.array(lat), np.array(acc)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(5))
def test_p99_frontier_and_problems_are_brute_force(backend, seed):
    rng = np.random.default_rng(200 + seed)
    N, M, K = int(rng.integers(2, 6)), int(rng.integers(2, 4)), int(rng.integers(1, 4))
    profile, branches = profile_of_exits(rng, N, K, n=300)
    topology = random_topology(rng, M)
    lat, acc = brute_rows(profile, topology, branches, 0.99)
    idx = frontier_indices(lat, acc)
    front = ef.pareto(profile, topology, backend=backend, quantile=0.99)
    assert all(p.quantile == 0.99 for p in front)
    np.testing.assert_allclose([p.latency for p in front], lat[idx], rtol=1e-12, atol=0)
    np.testing.assert_allclose([p.accuracy for p in front], acc[idx], rtol=1e-12, atol=0)
    for p in front:  # each plan's own quantile is the latency it was found by
        assert p.latency_quantile(0.99) == pytest.approx(p.latency, rel=1e-12)
    for level in (0.0, 0.3, 0.7, 1.0):
        min_acc = float(np.quantile(acc, level))
        plan = ef.min_latency(profile, topology, min_accuracy=min_acc, backend=backend, quantile=0.99)
        assert plan.latency == pytest.approx(lat[acc >= min_acc].min(), rel=1e-12) and plan.accuracy >= min_acc
        max_lat = float(np.quantile(lat, level))  # a configuration's own p99: the bound holds with equality
        plan = ef.max_accuracy(profile, topology, max_latency=max_lat, backend=backend, quantile=0.99)
        assert plan.accuracy == pytest.approx(acc[lat <= max_lat].max(), rel=1e-12)
        assert plan.latency <= max_lat * (1 + 1e-12)
    assert ef.max_accuracy(profile, topology, max_latency=lat.min() * 0.5, backend=backend, quantile=0.99) is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_sweep_quantile_rows_and_bound(backend):
    profile, topology = spec_profile(), ef.Topology.preset("mobile")
    every = ef.sweep(profile, topology, backend=backend, quantile=0.9)
    assert every.quantile == 0.9 and every.latency_statistic == "p90" and "latency=p90" in repr(every)
    got = ef.evaluate(profile, topology, configs=every.configs(), backend="numpy", quantile=0.9)
    np.testing.assert_allclose(every.latency, got.latency, rtol=1e-12, atol=0)
    bound = float(np.median(every.latency))
    kept = ef.sweep(profile, topology, backend=backend, quantile=0.9, max_latency=bound)
    assert len(kept) == int((every.latency <= bound).sum()) and kept.take([0]).quantile == 0.9
    assert kept.pareto().quantile == 0.9


# --- Plan quantiles ------------------------------------------------------------------------------

def hand_tables():
    """N = 2, M = 2: P = [1, 2] on tiers [0, 1]. The early exit is slower than the late one: ℓ_1 = 1 + 2 +
    10 = 13 s (70 % of samples), ℓ_2 = 1 + 2 + 3 + 4 + 1 = 11 s (30 %); the mean is 12.4 s."""
    compute = np.zeros((2, 3, 3))
    compute[0, 0, 1], compute[1, 1, 2] = 2.0, 4.0
    compute[0, 0, 2] = compute[1, 0, 1] = compute[1, 0, 2] = compute[0, 1, 2] = 1.0
    forward = np.zeros((2, 2, 2))
    forward[0, 0, 1] = forward[0, 1, 0] = 3.0
    return ef.CostTables(np.array([1.0, 1.0]), compute, forward, np.array([10.0, 1.0]),
                         np.array([[0.0, 0.7, 1.0]]), np.array([0.5, 0.9]))


def test_plan_quantiles_by_hand():
    plan = ef.Plan(12.4, 0.62, 0, [1, 2], [0, 1], ef.Planner.from_tables(hand_tables())._state)
    assert plan.quantile is None and plan.mean_latency == 12.4 and plan.latency_statistic == "mean"
    exits = plan.exit_latencies
    assert [e["latency"] for e in exits] == [13.0, 11.0]
    assert [e["share"] for e in exits] == pytest.approx([0.7, 0.3], abs=1e-15)
    assert exits[0]["blocks"] == (1, 1) and exits[1]["tier"] == 1
    assert plan.latency_quantile(0.2) == plan.latency_quantile(0.3) == 11.0
    assert plan.latency_quantile(0.31) == plan.latency_quantile(0.5) == 13.0
    assert plan.quantiles == {"p50": 13.0, "p90": 13.0, "p99": 13.0, "max": 13.0}
    d = json.loads(json.dumps(plan.to_dict()))
    assert d["quantiles"]["p99"] == 13.0 and d["latency_statistic"] == "mean" and d["quantile"] is None
    assert d["mean_latency"] == 12.4 and [e["latency"] for e in d["exit_latencies"]] == [13.0, 11.0]
    assert str(plan).startswith("latency 12400.000 ms (p99 13000.000 ms)")


def test_a_p99_plan_knows_its_quantile():
    tables = hand_tables()
    best = ef.min_latency(tables, min_accuracy=0.0, quantile=0.2, backend="numpy")
    assert best.quantile == 0.2 and best.latency_statistic == "p20"
    assert best.latency == ef.evaluate(tables, configs=[best.config()], backend="numpy", quantile=0.2).latency[0]
    plans = ef.pareto(tables, quantile=0.99, backend="numpy")
    for p in plans:
        assert p.quantile == 0.99 and p.latency == p.quantiles["p99"]
        mean = ef.evaluate(tables, configs=[p.config()], backend="numpy").latency[0]
        assert p.mean_latency == mean
        text = str(p)
        assert text.startswith(f"p99 latency {p.latency * 1e3:.3f} ms (mean {mean * 1e3:.3f} ms)")
        d = p.to_dict()
        assert d["quantile"] == 0.99 and d["latency"] == p.latency and d["mean_latency"] == mean
        assert "quantile=0.99" in repr(p)


def test_mean_plan_quantiles_match_the_reference(shipped):
    profile, _ = shipped
    topology = ef.Topology.preset("mobile")
    for plan in ef.pareto(profile, topology)[::20]:
        for q in QS:
            want = ef.evaluate(profile, topology, configs=[plan.config()], backend="numpy", quantile=q).latency[0]
            assert plan.latency_quantile(q) == want
        ell = [e["latency"] for e in plan.exit_latencies]
        share = [e["share"] for e in plan.exit_latencies]
        assert sum(share) == pytest.approx(1.0, abs=1e-12)
        assert sum(s * x for s, x in zip(share, ell)) == pytest.approx(plan.latency, rel=1e-12)
        assert plan.quantiles["max"] == max(x for s, x in zip(share, ell) if s > 0)


# --- the Planner's cache --------------------------------------------------------------------------

def test_planner_caches_per_quantile():
    rng = np.random.default_rng(8)  # an instance whose p99 frontier is not its mean frontier
    profile, _ = profile_of_exits(rng, 5, 2, n=100)
    topology = random_topology(rng, 3)
    planner = ef.Planner(profile, topology, backend="numpy")
    p99 = planner.pareto(quantile=0.99)
    mean = planner.pareto()
    fresh = ef.Planner(profile, topology, backend="numpy").pareto()
    assert [p.latency for p in mean] == [p.latency for p in fresh]
    assert all(p.quantile is None for p in mean) and all(p.quantile == 0.99 for p in p99)
    assert [p.latency for p in mean] != [p.latency for p in p99]
    assert planner.pareto(quantile=0.99)[0] is p99[0]  # cached, per quantile
    assert planner.pareto(quantile=0.9)[0] is not p99[0]
    bound = float(np.median([p.latency for p in p99]))
    best99 = planner.max_accuracy(max_latency=bound, quantile=0.99)
    best = planner.max_accuracy(max_latency=bound)
    assert best.quantile is None and best99.quantile == 0.99
    assert best.latency == ef.max_accuracy(profile, topology, max_latency=bound, backend="numpy").latency
    assert best99.latency == ef.max_accuracy(profile, topology, max_latency=bound, backend="numpy",
                                             quantile=0.99).latency
    # With auto, a quantile goes to a backend that computes one; the mean stays on the Planner's own.
    auto = ef.Planner(profile, topology)
    assert [p.latency for p in auto.pareto(quantile=0.99)] == pytest.approx([p.latency for p in p99], rel=1e-12)


def test_plan_tables_refuse_a_quantile():
    planner = ef.Planner(spec_profile(), ef.Topology.preset("mobile"))
    with pytest.raises(ValueError, match="quantile"):
        planner.plan_table("bandwidth", 1, 1e6, 1e8, max_latency=0.2, quantile=0.99)


# --- bad values, everywhere -----------------------------------------------------------------------

BAD = [(0, ValueError), (-1, ValueError), (1.5, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
       ("0.9", TypeError), (True, TypeError), ([0.9], TypeError)]


def entries():
    profile, topology = spec_profile(), ef.Topology.preset("mobile")
    planner = ef.Planner(profile, topology)
    plan = planner.pareto()[0]
    return {
        "evaluate": lambda q: ef.evaluate(profile, topology, configs=[(0, [3], [0])], quantile=q),
        "sweep": lambda q: ef.sweep(profile, topology, quantile=q),
        "pareto": lambda q: ef.pareto(profile, topology, quantile=q),
        "min_latency": lambda q: ef.min_latency(profile, topology, min_accuracy=0.5, quantile=q),
        "max_accuracy": lambda q: ef.max_accuracy(profile, topology, max_latency=0.5, quantile=q),
        "Planner.pareto": lambda q: planner.pareto(quantile=q),
        "Planner.min_latency": lambda q: planner.min_latency(min_accuracy=0.5, quantile=q),
        "Planner.max_accuracy": lambda q: planner.max_accuracy(max_latency=0.5, quantile=q),
        "Plan.latency_quantile": plan.latency_quantile,
        "Plan": lambda q: ef.Plan(0.1, 0.5, 0, [3], [0], profile, topology, quantile=q),
    }


@pytest.mark.parametrize("value,error", BAD, ids=[repr(v) for v, _ in BAD])
def test_bad_quantiles_are_refused_by_every_entry(value, error):
    for call in entries().values():
        with pytest.raises(error, match="quantile"):
            call(value)


# --- profiles say what their block times are ------------------------------------------------------

def test_block_time_statistic_round_trips_and_is_checked(tmp_path):
    d = spec_profile().to_dict()
    assert "block_time_statistic" not in d  # unknown unless said: old files stay as they were
    for value in ("p99", "p99.9", "p50", "mean", "median", "max"):
        p = ef.Profile.from_dict({**d, "block_time_statistic": value})
        p.save(tmp_path / "p.json")
        back = ef.Profile.load(tmp_path / "p.json")
        assert back.block_time_statistic == value
        assert back.with_accuracy(back.accuracy, estimator=None).block_time_statistic == value
    for value, error in (("p100", ValueError), ("p0", ValueError), ("99", ValueError), ("P99", ValueError),
                         ("average", ValueError), (99, TypeError), (True, TypeError)):
        with pytest.raises(error, match="block_time_statistic"):
            ef.Profile.from_dict({**d, "block_time_statistic": value})


@pytest.mark.parametrize("name", ef.Profile.presets())
def test_shipped_profiles_say_p99(name):
    p = ef.Profile.preset(name)
    # Their meta records how they were timed; the field says the same in the model's words.
    assert p.meta["timing"]["statistic"].startswith("percentile 99 ")
    assert p.block_time_statistic == "p99"


@pytest.mark.train
def test_the_profiler_writes_the_statistic(one_torch_thread):
    pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
    from eepart_fast.nn import data as D
    from eepart_fast.nn.profiling import make_profile, profile_net

    from test_nn_pipeline import tiny_net

    try:
        data = D.load_fashion_mnist(train_limit=32, profile_limit=32, test_limit=32, seed=0)
    except D.DatasetMissing as exc:
        pytest.skip(f"Fashion-MNIST missing: {exc}")
    fields, meta, _ = profile_net(tiny_net(), {}, data, timing_samples=5, warmup=1, n_thresholds=2, progress=False)
    assert fields["block_time_statistic"] == "p99" and meta["timing"]["statistic"].startswith("percentile 99 ")
    assert make_profile(fields, name="tiny", meta=meta).block_time_statistic == "p99"


# --- the command line -----------------------------------------------------------------------------

def test_cli_plan_quantile(capsys, profile_file, tmp_path):
    profile, topology = spec_profile(), ef.Topology.preset("mobile")
    front = ef.pareto(profile, topology, quantile=0.99, backend="numpy")
    code, out, err = run(capsys, "plan", "--profile", profile_file, "--quantile", "p99", "--json",
                         "--max-latency-ms", "300", "--frontier-out", tmp_path / "f.csv")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["quantile"] == 0.99 and doc["bound"] == "p99 latency <= 300.0 ms"
    assert [p["latency"] for p in doc["frontier"]] == [p.latency for p in front]
    best = ef.max_accuracy(profile, topology, max_latency=0.3, quantile=0.99, backend="numpy")
    assert doc["best"]["latency"] == best.latency and doc["best"]["quantile"] == 0.99
    lines = (tmp_path / "f.csv").read_text().splitlines()
    assert lines[0].startswith("latency_p99_ms,mean_latency_ms,accuracy,")
    assert [float(x.split(",")[0]) for x in lines[1:]] == [p.latency * 1e3 for p in front]
    code, out, err = run(capsys, "plan", "--profile", profile_file, "--quantile", "0.99", "--max-latency-ms", "300")
    assert code == 0, err
    assert "best plan under p99 latency <= 300.0 ms" in out and "p99 latency (ms)" in out
    assert f"p99 latency {best.latency * 1e3:.3f} ms (mean" in out
    code, out, _ = run(capsys, "plan", "--profile", profile_file, "--max-latency-ms", "300")
    assert "best plan under latency <= 300.0 ms" in out and "p99 latency (ms)" not in out


def test_cli_sweep_quantile_files(capsys, profile_file, tmp_path):
    rows = ef.sweep(spec_profile(), ef.Topology.preset("mobile"), quantile=0.9, max_latency=0.3, backend="numpy")
    for suffix in ("csv", "npz", "parquet"):
        out = tmp_path / f"r.{suffix}"
        code, text, err = run(capsys, "sweep", "--profile", profile_file, "--quantile", "0.9",
                              "--max-latency-ms", "300", "--no-progress", "--out", out)
        assert code == 0, err
        assert "latency as p90" in text
        if suffix == "csv":
            lines = out.read_text().splitlines()
            assert lines[0].startswith("latency_p90_ms,accuracy,")
            np.testing.assert_allclose([float(x.split(",")[0]) for x in lines[1:]], rows.latency * 1e3, rtol=1e-14)
        elif suffix == "npz":
            with np.load(out, allow_pickle=False) as z:
                assert float(z["quantile"]) == 0.9
                np.testing.assert_array_equal(z["latency"], rows.latency)
        else:
            pq = pytest.importorskip("pyarrow.parquet",
                                     reason="needs the study extra: pip install 'eepart_fast[study]'")
            meta = pq.read_schema(out).metadata
            assert json.loads(meta[b"eepart.quantile"]) == 0.9
    code, _, err = run(capsys, "sweep", "--profile", profile_file, "--no-progress", "--out", tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        assert "quantile" not in z.files  # the mean's files as they always were


@pytest.mark.parametrize("argv,needle", [
    (["plan", "--quantile", "0"], "--quantile: '0': a quantile is in (0, 1]"),
    (["plan", "--quantile", "-1"], "--quantile: '-1'"),
    (["plan", "--quantile", "1.5"], "--quantile: '1.5'"),
    (["plan", "--quantile", "nan"], "--quantile: 'nan'"),
    (["plan", "--quantile", "p101"], "--quantile: 'p101'"),
    (["plan", "--quantile", "ninety"], "--quantile: 'ninety' is not a quantile"),
    (["sweep", "--out", "r.csv", "--quantile", "2"], "--quantile: '2'"),
    (["plan", "--quantile", "0.99", "--over", "bandwidth:1:1M:100M", "--max-latency-ms", "80"],
     "--quantile: not with --over"),
    (["plan", "--quantile", "0.99", "--plot", "x.png"], "--plot: draws mean latencies"),
])
def test_cli_bad_quantile_one_line(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert needle in err, err
