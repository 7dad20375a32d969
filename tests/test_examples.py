"""examples/README.md runs as written: every `eepart` command of its bash blocks and every Python snippet,
each in a fresh process in a scratch folder holding a copy of examples/, and what they print and write is
checked against the Python API on the same files (the commands are read from the README, never written
twice)."""
import csv
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import eepart_fast as ef

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
README = EXAMPLES / "README.md"
STUDY_EXTRA = "needs the study extra: pip install 'eepart_fast[study]'"

pytestmark = pytest.mark.skipif(not README.exists(), reason="examples/ not beside the tests")


def blocks(lang: str) -> list:
    return re.findall(rf"^```{lang}\n(.*?)^```", README.read_text(), re.S | re.M)


def commands() -> list:
    """The commands of the bash blocks, continuation lines joined, comments and blank lines left out."""
    found = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                found.append(line.strip())
    return found


# Each kind of command the README may hold, and the test that checks it: a command of no kind fails
# test_every_example_is_checked, so that none is added without a test.
KINDS = {
    "plan": lambda argv: argv[:2] == ["eepart", "plan"] and "--json" not in argv,
    "plan --json": lambda argv: argv[:2] == ["eepart", "plan"] and "--json" in argv,
    "sweep": lambda argv: argv[:2] == ["eepart", "sweep"],
    "study": lambda argv: argv[:2] == ["eepart", "study"],
}


def command(kind: str) -> list:
    (argv,) = [a for a in map(shlex.split, commands()) if KINDS[kind](a)]
    return argv


def option(argv: list, name: str) -> str:
    return argv[argv.index(name) + 1]


def snippet(marker: str) -> str:
    (code,) = [b for b in blocks("python") if marker in b]
    return code


def test_every_example_is_checked():
    argvs = [shlex.split(c) for c in commands()]
    for argv in argvs:
        assert sum(match(argv) for match in KINDS.values()) == 1, f"no test checks {' '.join(argv)!r}"
    assert sorted(k for a in argvs for k, match in KINDS.items() if match(a)) == sorted(KINDS)
    assert len(blocks("python")) == 2  # the API snippet and the study reader, each run below
    # every file the page lists is there, and every example file is listed
    listed = set(re.findall(r"^\| `([^`]+)` \|", README.read_text(), re.M))
    assert listed == {p.name for p in EXAMPLES.iterdir() if p.name != "README.md"}


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    return tmp_path


def run(argv, cwd, timeout=120):
    """A README command in a fresh process: the installed `eepart` script where it is beside this Python."""
    if argv[0] == "eepart":
        script = Path(sys.executable).with_name("eepart")
        argv = ([str(script)] if script.exists() else [sys.executable, "-m", "eepart_fast.cli"]) + argv[1:]
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def python(code: str, cwd) -> str:
    return run([sys.executable, "-c", code], cwd)


def models(workdir, argv):
    return (ef.Profile.load(workdir / option(argv, "--profile")),
            ef.Topology.load(workdir / option(argv, "--topology")))


def plan_tuple(p):
    return (p.latency, p.accuracy, p.threshold_index, list(p.partitions), list(p.placement))


def test_plan(workdir):
    argv = command("plan")
    out = run(argv, workdir)
    profile, topology = models(workdir, argv)
    bound = float(option(argv, "--min-accuracy"))
    best = ef.min_latency(profile, topology, min_accuracy=bound)
    front = ef.pareto(profile, topology)
    assert f"best plan under accuracy >= {bound}:\nlatency {best.latency * 1e3:.3f} ms" in out
    assert f"accuracy {best.accuracy:.4f}, threshold {best.threshold:g} (index {best.threshold_index})" in out
    assert f"Pareto frontier: {len(front)} points" in out
    # what the README says of this plan is true
    assert f"{best.latency * 1e3:.3f} ms, accuracy {best.accuracy:.4f}" in README.read_text()
    assert (best.threshold, list(best.partitions), list(best.placement)) == (0.4, [1, 4], [0, 1])
    assert profile.exit_rate[best.threshold_index, 0] == 0.35
    # the example is worth showing: its frontier mixes thresholds and tiers
    assert len({p.threshold for p in front}) > 1 and len({tuple(p.placement) for p in front}) > 2


def test_plan_json_on_the_graph(workdir):
    argv = command("plan --json")
    doc = json.loads(run(argv, workdir))
    profile, topology = models(workdir, argv)
    assert topology.graph is not None  # the graph example, routes by lowest latency
    destination = topology.tier(option(argv, "--destination"))
    bound = float(option(argv, "--max-latency-ms")) / 1e3
    best = ef.max_accuracy(profile, topology, max_latency=bound, destination=destination)
    b = doc["best"]
    assert (b["latency"], b["accuracy"], b["threshold_index"], b["partitions"], b["placement"]) == plan_tuple(best)
    assert b["latency"] <= bound and doc["destination"] == destination == 2
    front = ef.pareto(profile, topology, source=0, destination=destination)
    assert [(p["latency"], p["accuracy"], p["threshold_index"], p["partitions"], p["placement"])
            for p in doc["frontier"]] == [plan_tuple(p) for p in front]
    # the direct phone-cloud link carries the input: the route's latency is that link's, not the chain's
    assert topology.path_latency[0, 2] == 0.025


def test_sweep(workdir):
    argv = command("sweep")
    out = run(argv, workdir)
    profile, topology = models(workdir, argv)
    hi, lo = float(option(argv, "--max-latency-ms")), float(option(argv, "--min-accuracy"))
    rows = list(csv.DictReader((workdir / option(argv, "--out")).open()))
    expected = ef.sweep(profile, topology, max_latency=hi / 1e3, min_accuracy=lo)
    assert 10 < len(rows) == len(expected)
    assert f"{len(rows)} rows written" in out
    got = sorted((float(r["latency_ms"]), float(r["accuracy"])) for r in rows)
    want = sorted(zip(expected.latency * 1e3, expected.accuracy))
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert all(lat <= hi and acc >= lo for lat, acc in got)
    parts = {int(r["num_partitions"]) for r in rows}
    assert parts <= {1, 2, 3} and len(parts) > 1  # on the phone alone, or split across tiers


def test_python_snippet(workdir):
    code = snippet("ef.Planner")
    out = python(code, workdir)
    profile = ef.Profile.load(workdir / "examples/profile.json")
    topology = ef.Topology.load(workdir / "examples/topology.yaml")
    best = ef.min_latency(profile, topology, min_accuracy=0.85)
    first, second = out.splitlines()[:2]
    ms, acc, thr = map(float, re.fullmatch(r"([\d.]+) ms, accuracy ([\d.]+), threshold ([\d.]+)", first).groups())
    assert (ms, acc, thr) == (round(best.latency * 1e3, 3), round(best.accuracy, 4), best.threshold)
    assert second == f"{len(ef.pareto(profile, topology))} points on the frontier"
    # the re-plan equals a plan on the topology with the trace's row at 7200 s applied
    trace = {float(r["time"]): r for r in csv.DictReader((workdir / "examples/trace.csv").open())}
    row = trace[7200.0]
    assert (float(row["bandwidth[0]"]), float(row["latency[0]"])) == (4e6, 0.030)
    moved = topology.with_link(0, bandwidth=4e6, latency=0.030)
    replanned = ef.min_latency(profile, moved, min_accuracy=0.85)
    assert str(replanned) in out and replanned.latency > best.latency


def row_tuple(r):
    """A study row as plan_tuple gives a plan: P and A from the columns P1..P16, A1..A16 up to the -1 pads."""
    P, A = ([int(v) for v in (getattr(r, f"{c}{k + 1}") for k in range(16)) if v >= 0] for c in "PA")
    return (r.latency, r.accuracy, r.threshold_index, P, A)


def test_study(workdir):
    pytest.importorskip("pyarrow", reason=STUDY_EXTRA)
    pytest.importorskip("dask.distributed", reason=STUDY_EXTRA)
    from eepart_fast.study import load_study, read_study, scenario

    argv = command("study")
    out = run(argv, workdir, timeout=300)
    spec = load_study(workdir / argv[2])
    assert spec.scenarios == 36 and "36 scenarios" in README.read_text()
    assert f"{spec.scenarios} scenarios run, 0 already written" in out
    df = read_study(workdir / option(argv, "--out")).to_pandas()
    assert sorted(set(df.scenario)) == list(range(spec.scenarios))
    times = sorted(float(r["time"]) for r in csv.DictReader((workdir / "examples/trace.csv").open()))
    assert sorted(set(df[df.topology == "chain"].time)) == times
    empty_frontiers = 0
    for i, rows in df.groupby("scenario"):
        sc = scenario(spec, i)
        prof, topo, s, t, bound = sc["profile"], sc["topology"], sc["source"], sc["destination"], sc["bound"]
        lo, hi = bound.get("min_accuracy"), bound.get("max_latency")
        kinds = {k: g.sort_values("point") for k, g in rows.groupby("kind", observed=True)}
        front = [plan_tuple(p) for p in ef.pareto(prof, topo, source=s, destination=t)
                 if (lo is None or p.accuracy >= lo) and (hi is None or p.latency <= hi)]
        got = [row_tuple(r) for r in kinds["frontier"].itertuples() if r.found]
        assert got == front and kinds["frontier"].found.all() == bool(front)
        empty_frontiers += not front
        kind, best = ("P_lat",
                      ef.min_latency(prof, topo, min_accuracy=lo, source=s, destination=t)) if lo is not None else \
            ("P_acc", ef.max_accuracy(prof, topo, max_latency=hi, source=s, destination=t))
        (r,) = kinds[kind].itertuples()
        assert bool(r.found) == (best is not None)
        if best is not None:
            assert row_tuple(r) == plan_tuple(best)
    assert 0 < empty_frontiers < spec.scenarios  # some scenarios have no plan within 100 ms
    # the reader snippet runs on what the command wrote (pandas, as it says)
    pytest.importorskip("pandas", reason="the reader snippet uses pandas: pip install pandas")
    printed = python(snippet("read_parquet"), workdir)
    chain = df[(df.kind == "P_lat") & (df.topology == "chain")]
    assert len(chain) == 2 * len(times)
    for r in chain.itertuples():
        assert re.search(rf"{r.profile}\s+{r.time:.1f}\s+.*{r.latency:.6f}", printed), (r, printed)
