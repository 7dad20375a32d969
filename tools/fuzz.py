"""The fuzz job: hypothesis over the model file formats (Profile and Topology loaders) and the `eepart`
command line, seeded random calls of the raw engine entry points `eepart_fast._core.*` in child
processes, and the runtime's wire (random and mutated messages to a live worker, link emulator and driver
on 127.0.0.1: tools/fuzz_wire.py), for a fixed time budget.

    python tools/fuzz.py [--seconds 150] [--seed 0]
    python tools/fuzz.py --core-case SEED          # replays one raw engine case (printed on a crash)

What must hold:
- a loader returns a model or raises ValueError / TypeError (never another exception, a hang, a crash);
- `eepart` exits 0, 2 (one line on stderr) or 3 (no plan meets the bound), nothing else;
- a raw engine call returns or raises ValueError / TypeError / MemoryError; its process never dies;
- a worker or the link emulator survives every message (0 lost) and ends under 2x its idle RSS; the driver
  ends a run with RunFailed or a result, never another exception (needs the runtime extra, else skipped).
Each part runs in batches of fixed hypothesis seeds (batch b uses seed SEED + b), so a failure is
replayed by the same command line. Prints the inputs tried per part and the time taken.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent

MODEL_ERRORS = (ValueError, TypeError)
CORE_ERRORS = (ValueError, TypeError, MemoryError)

# --- values that break loose parsers ---------------------------------------------------------------

weird_scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, 1, -1, 0.0, -0.0, 1e-320, 1e308, 1.0000001, 2**63, 2**64 + 1, True, False, None,
                     "0.002", "1e6", "", "nan", "inf", [], {}, [[]], {"a": 1}]),
    st.text(max_size=8),
)
json_values = st.recursive(weird_scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                                  st.dictionaries(st.text(max_size=6), inner,
                                                                                  max_size=4)),
                           max_leaves=30)


@st.composite
def profile_dicts(draw):
    """A valid small profile, then zero to three mutations of its fields, entries or structure."""
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rates = rng.dirichlet(np.ones(n), size=k)
    d = {"block_time": rng.uniform(0, 1e-2, n).tolist(), "branch_time": rng.uniform(0, 1e-3, n).tolist(),
         "output_bits": rng.uniform(0, 1e6, n).tolist(), "input_bits": float(rng.uniform(0, 1e6)),
         "result_bits": float(rng.uniform(0, 1e4)), "accuracy": rng.uniform(0, 1, n).tolist(),
         "thresholds": np.sort(rng.choice(np.linspace(0, 1, 101), k, replace=False)).tolist(),
         "exit_rate": rates.tolist(), "name": "fuzz"}
    if draw(st.booleans()):  # measured devices (docs/model.md "Measured compute"): d0 by blocks, d1 by partitions
        d["devices"] = {"d0": {"block_time": rng.uniform(0, 1e-2, n).tolist(),
                               "branch_time": rng.uniform(0, 1e-3, n).tolist()},
                        "d1": {"partition_time": [[p + 1, q, float(rng.uniform(0, 1e-2))]
                                                  for p in range(n) for q in range(p + 1, n + 1)],
                               "serialize_time": rng.uniform(0, 1e-3, n + 2).tolist()}}
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(sorted(d) + ["meta", "unknown"]))
        how = draw(st.sampled_from(["replace", "entry", "drop", "grow", "nest", "device"]))
        value = d.get(field)
        devs = d.get("devices")
        if how == "device" and isinstance(devs, dict) and all(isinstance(v, dict) for v in devs.values()) and devs:
            dev = devs[draw(st.sampled_from(sorted(devs)))]  # one field of one device, or one of its entries
            key = draw(st.sampled_from(sorted(dev) + ["deserialize_time", "unknown"]))
            if isinstance(dev.get(key), list) and dev[key] and draw(st.booleans()):
                i = draw(st.integers(0, len(dev[key]) - 1))
                entry = dev[key][i]
                if isinstance(entry, list):  # [first, last, seconds]
                    entry[draw(st.integers(0, 2))] = draw(weird_scalars)
                else:
                    dev[key][i] = draw(weird_scalars)
            else:
                dev[key] = draw(json_values)
        elif how == "replace" or value is None:
            d[field] = draw(json_values)
        elif how == "drop":
            d.pop(field, None)
        elif isinstance(value, list) and value:
            i = draw(st.integers(0, len(value) - 1))
            if how == "entry":
                value[i] = draw(weird_scalars)
            elif how == "grow":
                value.extend(value[:draw(st.integers(1, 3))])
            else:
                value[i] = [value[i]]
        else:
            d[field] = [value]
    return d


@st.composite
def topology_texts(draw):
    """A chain, graph or routes topology as YAML or JSON text, with or without the optional fields (devices,
    serialisation, route rule), mutated in its values or its bytes."""
    m = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    names = [f"t{j}" for j in range(m)]
    kind = draw(st.sampled_from(["chain", "graph", "routes"]))
    if kind == "chain":
        d = {"names": names, "ratio": rng.uniform(0.5, 100, m).tolist(),
             "bandwidth": rng.uniform(1e3, 1e9, m - 1).tolist(), "latency": rng.uniform(0, 0.05, m - 1).tolist()}
    elif kind == "graph":
        given = draw(st.sampled_from(["shortest", "given", "bad"]))
        # A spanning tree (a path when routes are given, so that every route is known), plus extra links
        # between tiers named by index or name (rarely a self-link, which is refused).
        links = [[b - 1 if given != "shortest" else int(rng.integers(0, b)), b, float(rng.uniform(1e3, 1e9)),
                  float(rng.uniform(0, 0.05))] for b in range(1, m)]
        for _ in range(int(rng.integers(0, 3))):
            a, b = rng.choice(m, 2, replace=m < 2 or rng.random() < 0.05)
            links.append([f"t{a}", int(b), float(rng.uniform(1e3, 1e9)), float(rng.uniform(0, 0.05))])
        d = {"names": names, "ratio": rng.uniform(0.5, 100, m).tolist(), "links": links, "routes": "shortest",
             "route_by": draw(st.sampled_from(["latency", "hops"]))}
        if given != "shortest":  # along the path; "bad": straight from a to b, a link that may not exist
            d["routes"] = {f"t{a}->{b}": (list(range(a, b + 1) if a < b else range(a, b - 1, -1))
                                          if given == "given" else [a, b])
                           for a in range(m) for b in range(m) if a != b}
    else:
        lat = rng.uniform(0, 0.05, (m, m))
        np.fill_diagonal(lat, 0)
        d = {"names": names, "ratio": rng.uniform(0.5, 100, m).tolist(), "path_latency": lat.tolist(),
             "path_inv_bandwidth": (lat * 1e-4).tolist()}
    if draw(st.booleans()):
        d["devices"] = [draw(st.sampled_from([None, "d0", "d1", "nope"])) for _ in range(m)]
    if draw(st.booleans()):
        d["serialize"] = rng.uniform(0, 1e-8, m).tolist()
        d["deserialize"] = rng.uniform(0, 1e-8, m).tolist()
    if draw(st.booleans()):
        d["route_rule"] = draw(st.sampled_from(["bottleneck", "store_and_forward", "fastest"]))
        if draw(st.booleans()):
            d["mtu_bits"] = 72000.0
    for _ in range(draw(st.integers(0, 2))):
        field = draw(st.sampled_from(sorted(d) + ["extra"]))
        keep = d.get(field)
        if draw(st.booleans()) or not isinstance(keep, list) or not keep:
            d[field] = draw(json_values)
        else:
            d[field] = [draw(weird_scalars)] + keep[1:]
    yaml_form = draw(st.booleans())
    if yaml_form:
        import yaml

        text = yaml.safe_dump(d, default_flow_style=draw(st.booleans()))
    else:
        text = json.dumps(d, allow_nan=True)
    edit = draw(st.sampled_from(["none", "none", "truncate", "insert", "alias", "tag", "deep"]))
    pos = draw(st.integers(0, max(len(text) - 1, 0)))
    if edit == "truncate":
        text = text[:pos]
    elif edit == "insert":
        text = text[:pos] + draw(st.sampled_from(["\t", "&a ", "*a", "!!python/object:os.system ", "[", "}", ":",
                                                  "\x00", "- ", "'", "1e999", "\n  "])) + text[pos:]
    elif edit == "alias":
        text = "x: &a [1.0, 1.0]\n" + text.replace("latency:", "latency: *a\nold_latency:", 1)
    elif edit == "tag":
        text = "ratio: !!python/name:os.system\n" + text
    elif edit == "deep":
        depth = draw(st.sampled_from([50, 5000, 100000]))
        text = "[" * depth + "]" * depth
    return (".yaml" if yaml_form else ".json"), text


def fuzz_formats(deadline: float, base_seed: int, workdir: Path) -> int:
    import eepart_fast as ef

    tried = [0]
    plain = ef.Topology.preset("mobile")
    measured = plain.replace(devices=["d0", "d1", None, None], serialize=[1e-9, 0, 0, 0])
    # Two measured devices, for topologies that name them.
    dev_profile = ef.Profile.preset("resnet20-fashionmnist")
    n = dev_profile.N
    dev_profile = dev_profile.with_device("d0", {"block_time": [1e-3] * n, "branch_time": [1e-4] * n})
    dev_profile = dev_profile.with_device("d1", {"partition_time": [[p + 1, q, 1e-3 * (q - p)] for p in range(n)
                                                                    for q in range(p + 1, n + 1)]})

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(profile_dicts(), st.booleans())
    def profile_case(d, as_text):
        tried[0] += 1
        path = workdir / "p.json"
        path.write_text(json.dumps(d, allow_nan=True) if as_text else json.dumps(d, allow_nan=True)[:-1])
        try:
            profile = ef.Profile.load(path)
        except MODEL_ERRORS:
            return
        # A profile that loads also plans, or says clearly why not.
        try:
            ef.Planner(profile, plain, backend="cpu").pareto()
            ef.sweep(profile, plain, backend="numpy", max_memory=1 << 24)
        except MODEL_ERRORS:
            pass
        if profile.devices:
            try:
                ef.Planner(profile, measured, backend="cpu").pareto()
            except MODEL_ERRORS:
                pass

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(topology_texts())
    def topology_case(case):
        tried[0] += 1
        suffix, text = case
        path = workdir / f"t{suffix}"
        path.write_text(text)
        try:
            topology = ef.Topology.load(path)
        except MODEL_ERRORS:
            return
        # A topology that loads also plans (its devices, serialisation, routes), or says clearly why not.
        try:
            planner = ef.Planner(dev_profile, topology, backend="cpu")
            planner.min_latency(min_accuracy=0.5)
            planner.set_bandwidth(0 if topology.links or topology.graph else (0, topology.M - 1), 1e-300)
            planner.pareto()
        except MODEL_ERRORS:
            pass

    batch = 0
    while time.monotonic() < deadline:
        seed(base_seed + batch)(profile_case)()
        seed(base_seed + batch)(topology_case)()
        batch += 1
    return tried[0]


# --- the command line ------------------------------------------------------------------------------

numbers_as_text = st.one_of(st.sampled_from(["0", "1", "-5", "2", "0.9", "nan", "inf", "-inf", "1e400", "",
                                             "0x10", "1_000", " 0.5", "1e-320", "all", "3", "-0"]),
                            st.floats(allow_nan=True).map(repr), st.integers(-10, 10**30).map(str))


@st.composite
def cli_argvs(draw, files):
    command = draw(st.sampled_from(["plan", "plan", "sweep", "backends", "bogus", ""]))
    argv = [command] if command else []
    options = {"--profile": st.sampled_from(files + ["resnet20-fashionmnist", "mobilenetv2-fashionmnist",
                                                     "nope", "/no/dir/p.json", ""]),
               "--topology": st.sampled_from(files + ["mobile", "iot", "datacenter"]),
               "--source": st.sampled_from(["0", "1", "3", "9", "-1", "cloud", "smartphone", "x"]),
               "--destination": st.sampled_from(["0", "3", "cloud", "99"]),
               "--min-accuracy": numbers_as_text, "--max-latency-ms": numbers_as_text,
               "--frontier": numbers_as_text, "--max-memory-gb": numbers_as_text,
               "--backend": st.sampled_from(["auto", "cpu", "numpy", "cuda", "gpu"]),
               "--quantile": st.one_of(numbers_as_text, st.sampled_from(["p99", "p50", "p0", "p100", "p99.9", "p"])),
               "--out": st.sampled_from(["OUT/r.csv", "OUT/r.npz", "OUT/r.txt", "/no/dir/r.csv"]),
               "--frontier-out": st.sampled_from(["OUT/f.csv", "OUT/f.json", "OUT/f.xml"]),
               "--json": st.just(None)}
    for name in draw(st.lists(st.sampled_from(sorted(options)), max_size=5)):
        value = draw(options[name])
        argv += [name] if value is None else [name, value]
    return argv


def check_cli(argv, outdir: str):
    from eepart_fast.cli import main

    argv = [a.replace("OUT/", outdir + "/") for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    text = err.getvalue()
    assert code in (0, 2, 3), (argv, code, text)
    if code == 2 and not (text == "" and "usage:" in out.getvalue()):  # no command: the help
        assert text.count("\n") == 1 and "error:" in text, (argv, text)
    assert "Traceback" not in text, (argv, text)


def check_cli_subprocess(argv, outdir: str):
    argv = [a.replace("OUT/", outdir + "/") for a in argv]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-m", "eepart_fast.cli", *argv], capture_output=True, text=True,
                       timeout=120, env=env, check=False)
    assert r.returncode in (0, 2, 3), (argv, r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr, (argv, r.stderr[-2000:])


def fuzz_cli(deadline: float, base_seed: int, workdir: Path) -> tuple:
    import yaml

    import eepart_fast as ef

    files = []
    good = ef.Profile.preset("resnet20-fashionmnist").to_dict()
    variants = {"good.json": good, "str.json": {**good, "input_bits": "1"}, "null.json": {**good, "name": None},
                "bool.json": {**good, "result_bits": True}, "big.json": {**good, "input_bits": 10**400}}
    for name, d in variants.items():
        (workdir / name).write_text(json.dumps(d))
        files.append(str(workdir / name))
    topo = ef.Topology.preset("iot").to_dict()
    (workdir / "t.yaml").write_text(yaml.safe_dump(topo))
    (workdir / "tab.yaml").write_text(yaml.safe_dump(topo).replace("  ", "\t"))
    (workdir / "deep.json").write_text("[" * 100000 + "]" * 100000)
    files += [str(workdir / n) for n in ("t.yaml", "tab.yaml", "deep.json")]
    outdir = str(workdir / "out")
    os.makedirs(outdir, exist_ok=True)
    tried, in_subprocess = [0], [0]

    @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(cli_argvs(files))
    def cli_case(argv):
        tried[0] += 1
        check_cli(argv, outdir)

    @settings(max_examples=2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(cli_argvs(files))
    def cli_process_case(argv):
        in_subprocess[0] += 1
        check_cli_subprocess(argv, outdir)

    batch = 0
    while time.monotonic() < deadline:
        seed(base_seed + batch)(cli_case)()
        seed(base_seed + batch)(cli_process_case)()
        batch += 1
    return tried[0], in_subprocess[0]


# --- the raw engine, in child processes ------------------------------------------------------------

def core_case(case_seed: int):
    """One raw call of eepart_fast._core: (function name, args, kwargs), from its seed alone."""
    rng = np.random.default_rng(case_seed)
    big = rng.random() < 0.05
    N = int(rng.choice([0, 1, 2, 3, 5, 8] + ([1001] if big else [])))
    M = int(rng.choice([0, 1, 2, 3, 4] + ([17] if big else [])))
    K = int(rng.choice([0, 1, 2, 3] + ([1001] if big else [])))

    def arr(shape, positive=True):
        shape = tuple(max(s, 0) for s in shape)
        if rng.random() < 0.1:  # a wrong shape
            shape = tuple(int(s + rng.integers(-1, 2)) for s in shape if s >= 0)
            shape = tuple(max(s, 0) for s in shape)
        if rng.random() < 0.05:
            shape = shape[:-1] if shape else (2,)
        a = rng.uniform(0, 1e-2, shape) if positive else rng.uniform(-1, 1, shape)
        r = rng.random()
        if r < 0.05 and a.size:
            a.flat[rng.integers(a.size)] = rng.choice([np.nan, np.inf, -np.inf, -1.0, 1e308, 5e-324])
        elif r < 0.10:
            a = a.astype(rng.choice([np.float32, np.int64, np.int32, bool, np.complex128]))
        elif r < 0.13 and a.ndim:
            a = np.asfortranarray(np.repeat(a, 2, axis=-1)[..., ::2])  # not C-contiguous
        elif r < 0.15:
            a = a.tolist()
        return a

    cum = np.zeros((K, N + 1))
    if N:
        cum[:, 1:] = np.cumsum(rng.dirichlet(np.ones(N), size=K), axis=1) if K else np.zeros((0, N))
        cum[:, N] = 1.0
    if rng.random() < 0.1 and cum.size:
        cum.flat[rng.integers(cum.size)] = rng.choice([np.nan, 1.5, -0.1])
    tables = [arr((M,)), arr((M, N + 1, N + 1)), arr((N, M, M)), arr((M,)),
              cum if rng.random() < 0.9 else arr((K, N + 1)),
              arr((N,)) if rng.random() < 0.8 else arr((K, N))]
    kw = {}
    if rng.random() < 0.5:
        kw["threads"] = int(rng.choice([-5, -1, 0, 1, 2, 3, 64]))
    if rng.random() < 0.2:
        kw["time_limit"] = float(rng.choice([np.inf, 5.0, 0.0, -1.0, np.nan]))
    if rng.random() < 0.3:  # a latency quantile, good or bad
        options = [0.5, 0.99, 1.0, 1e-300, 0.0, -0.5, 1.5, np.nan, np.inf, True, "0.9", None]
        kw["quantile"] = options[int(rng.integers(len(options)))]
    fn = str(rng.choice(["evaluate", "sweep", "pareto"]))
    # The engine takes the six tables as one argument (a Tables object, or the six arrays in order).
    tables = [tuple(tables) if rng.random() < 0.9 else tables[:5]]
    if fn == "evaluate":
        n = int(rng.choice([0, 1, 5, 50]))
        lmax = max(1, min(N, M)) + int(rng.choice([0, 0, 0, 1, -1]))
        L = rng.integers(1, max(lmax, 1) + 1, n)
        P = np.sort(rng.integers(1, max(N, 1) + 1, (n, max(lmax, 0))), axis=1)
        A = np.array([rng.permutation(max(M, lmax, 1))[:max(lmax, 0)] for _ in range(n)]).reshape(n, max(lmax, 0))
        t = rng.integers(0, max(K, 1), n)
        which = [t, L, P, A][rng.integers(4)]
        if rng.random() < 0.2 and which.size:
            which.flat[rng.integers(which.size)] = rng.choice([-1, 10**6, 2**31 - 1, -(2**31)])
        configs = [t, L, P, A]
        if rng.random() < 0.1:
            configs[rng.integers(4)] = arr((n,))  # floats where integers belong
        return fn, tables + configs, kw
    if fn == "sweep":
        if rng.random() < 0.5:
            kw["max_rows"] = int(rng.choice([0, 1, 10, -1, 2**62]))
        kw["max_latency"] = float(rng.choice([np.inf, 0.01, 0.0, -1.0, np.nan]))
        kw["min_accuracy"] = float(rng.choice([-np.inf, 0.5, 2.0, np.nan]))
        return fn, tables, kw
    if rng.random() < 0.5:
        kw["max_memory"] = int(rng.choice([1, 1 << 20, 1 << 31, 0, -1]))
    kw["max_latency"] = float(rng.choice([np.inf, 0.01, np.nan]))
    kw["min_accuracy"] = float(rng.choice([-np.inf, 0.5, np.nan]))
    kw["stats"] = bool(rng.random() < 0.3)
    return fn, tables, kw


def run_core_cases(first: int, deadline: float) -> None:
    """Child process: runs cases first, first+1, ... until the deadline, announcing each before the call."""
    from eepart_fast import _core

    case = first
    while time.time() < deadline:
        fn, args, kw = core_case(case)
        print(case, flush=True)
        try:
            getattr(_core, fn)(*args, **kw)
        except CORE_ERRORS:
            pass
        except Exception as exc:  # noqa: BLE001 - any other exception is the finding
            print(f"UNEXPECTED {case} {type(exc).__name__}: {exc}", flush=True)
            sys.exit(1)
        case += 1
    print("END", flush=True)


def fuzz_core(deadline: float, base_seed: int) -> tuple:
    first = base_seed * 10**7
    tried, children, failures = 0, 0, []
    while time.monotonic() < deadline:
        left = deadline - time.monotonic()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        proc = subprocess.run([sys.executable, __file__, "--core-child", str(first), str(time.time() + left)],
                              capture_output=True, text=True, timeout=left + 120, env=env, check=False)
        children += 1
        lines = proc.stdout.split()
        done = [int(x) for x in lines if x.isdigit()]
        tried += len(done)
        if proc.returncode != 0 or "END" not in lines:
            last = done[-1] if done else first
            fn, _, kw = core_case(last)
            failures.append(f"case {last} ({fn}, {kw}): exit {proc.returncode}; "
                            f"{(proc.stdout.splitlines() or [''])[-1]} {proc.stderr.strip()[-400:]}; "
                            f"replay: python tools/fuzz.py --core-case {last}")
            first = last + 1
        else:
            break
    return tried, children, failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=150.0, help="the whole budget (default 150)")
    ap.add_argument("--seed", type=int, default=0, help="first hypothesis seed / raw case block (default 0)")
    ap.add_argument("--parts", default="formats,cli,core,wire",
                    help="which parts to run, comma-separated (default: formats,cli,core,wire; the budget is "
                         "shared)")
    ap.add_argument("--core-case", type=int, help="replay one raw engine case in this process")
    ap.add_argument("--core-child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.core_child:
        run_core_cases(int(a.core_child[0]), float(a.core_child[1]))
        return 0
    if a.core_case is not None:
        fn, args, kw = core_case(a.core_case)
        print(fn, [np.asarray(x).shape if not isinstance(x, int) else x for x in args], kw, flush=True)
        from eepart_fast import _core

        print(getattr(_core, fn)(*args, **kw))
        return 0
    parts = set(a.parts.split(","))
    unknown = parts - {"formats", "cli", "core", "wire"}
    if unknown:
        ap.error(f"--parts: unknown {sorted(unknown)}")
    # Shares of the budget: file formats 30 %, command line 20 %, the wire 20 %, raw engine the rest.
    share = {"formats": 0.30 if "formats" in parts else 0.0, "cli": 0.20 if "cli" in parts else 0.0,
             "wire": 0.20 if "wire" in parts else 0.0}
    scale = 1.0 if "core" in parts else 1.0 / max(sum(share.values()), 1e-9)
    start = time.monotonic()
    budget = a.seconds
    failures = []
    n_formats = n_cli = n_cli_proc = n_core = children = 0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        if share["formats"]:
            try:
                n_formats = fuzz_formats(t0 + share["formats"] * scale * budget, a.seed, Path(tmp))
            except Exception as exc:  # noqa: BLE001 - hypothesis re-raises the shrunk failing example (printed above)
                traceback.print_exc()
                failures.append(f"file formats: {type(exc).__name__}: {exc}")
        t1 = time.monotonic()
        if share["cli"]:
            try:
                n_cli, n_cli_proc = fuzz_cli(t1 + share["cli"] * scale * budget, a.seed, Path(tmp))
            except Exception as exc:  # noqa: BLE001
                traceback.print_exc()
                failures.append(f"command line: {type(exc).__name__}: {exc}")
        t_wire = time.monotonic()
        wire_line = ""
        if share["wire"]:
            sys.path.insert(0, str(ROOT / "tools"))
            from fuzz_wire import fuzz_wire
            try:
                wire_line, wire_failures = fuzz_wire(t_wire + share["wire"] * scale * budget, a.seed,
                                                     Path(tmp) / "wire")
                failures += wire_failures
            except Exception as exc:  # noqa: BLE001 - the harness itself failed: that is a finding too
                traceback.print_exc()
                failures.append(f"wire: {type(exc).__name__}: {exc}")
        t2 = time.monotonic()
        if "core" in parts:
            n_core, children, core_failures = fuzz_core(start + budget, a.seed)
            failures += core_failures
        t3 = time.monotonic()
    print(f"fuzz: file formats {n_formats} inputs in {t1 - t0:.0f} s; command line {n_cli} in process + "
          f"{n_cli_proc} in subprocesses in {t_wire - t1:.0f} s; raw engine {n_core} calls in {children} child "
          f"process(es) in {t3 - t2:.0f} s; wire in {t2 - t_wire:.0f} s; total {t3 - start:.0f} s")
    if wire_line:
        print(f"fuzz: {wire_line}")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
