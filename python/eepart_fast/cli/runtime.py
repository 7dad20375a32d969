"""`eepart export`, `eepart worker`, `eepart run`: the command-line side of eepart_fast.runtime.

Registering them imports neither torch, onnx, onnxruntime nor pyzmq; each command first checks that what it
needs is installed (one line naming the extra otherwise), then imports it.
"""
from __future__ import annotations

import argparse
import json
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._extras import require
from ..model.profile import Profile
from ..model.topology import PRESETS, Topology
from ..runtime.arguments import add_security_arguments, add_worker_arguments
from .options import add_progress

INSECURE_WARNING = "INSECURE: no authentication, no encryption (--insecure)"
EXPORT_NEEDS = ("torch", "onnx", "onnxscript", "onnxruntime")  # torch.onnx.export(dynamo=True), checked by ORT
SERVE_NEEDS = ("onnxruntime", "zmq")


def _load_plan(path: str, index: int | None):
    try:
        raw = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"--plan {path}: not JSON ({exc})") from None
    if isinstance(raw, dict) and isinstance(raw.get("frontier"), list) and index is not None:
        raw = raw["frontier"]
    if isinstance(raw, list):
        if index is None:
            raise ValueError(f"--plan {path}: a list of {len(raw)} plans (a frontier); pick one with --index")
        if not -len(raw) <= index < len(raw):
            raise ValueError(f"--index {index}: out of range for {len(raw)} plans")
        raw = raw[index]
    return raw


def _count(name: str, value: int, least: int) -> int:
    if value < least:
        raise ValueError(f"{name} {value}: must be >= {least}")
    return value


def _images(path: str, n: int):
    """The first n samples of an .npz (x, optional y), refused by name when the archive lacks them."""
    damaged = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"--images {path}: no such file") from None
    except damaged as exc:
        raise ValueError(f"--images {path}: not an .npz archive of arrays x (and y) "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"--images {path}: a single .npy array; expected an .npz archive of arrays x (and y): "
                         f"np.savez(path, x=images, y=labels)")
    with z:
        if "x" not in z.files:
            raise ValueError(f"--images {path}: no array 'x' (it holds {sorted(z.files)})")
        try:
            return z["x"][:n], (z["y"][:n] if "y" in z.files else None)
        except damaged as exc:  # an array that cannot be read: told apart by its type, not its message
            msg = str(exc)
            plain = isinstance(exc, ValueError) and not isinstance(exc, KeyError)
            raise ValueError(f"--images {path}: "
                             + (msg if plain else f"damaged archive ({type(exc).__name__}: {msg})")) from None


def _load_table(path: str) -> dict:
    try:
        raw = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"--table {path}: not JSON ({exc})") from None
    except FileNotFoundError:
        raise ValueError(f"--table {path}: no such file") from None
    if not isinstance(raw, dict):
        raise TypeError(f"--table {path}: expected `eepart plan --over ... --json` output (an object)")
    return raw


def cmd_export(a) -> int:
    require(*EXPORT_NEEDS, what="eepart export")
    from ..runtime.export import export_run
    _count("--check-samples", a.check_samples, 0)
    if (a.plan is None) == (a.table is None):
        raise ValueError("give --plan FILE (one plan) or --table FILE (a plan table: eepart plan --over ... --json)")
    what = _load_plan(a.plan, a.index) if a.plan is not None else _load_table(a.table)
    m = export_run(a.run_dir, what, a.out, check_samples=a.check_samples, allow_partial=a.allow_partial,
                   table=a.table is not None)
    seen = set()
    for j, plan in enumerate(m.plans or [m]):
        for p in plan.partitions:
            entry = next(e for e in (m.data["table"]["plans"][j]["partitions"] if m.table else m.data["partitions"])
                         if e["index"] == p.index)
            check = entry.get("check")
            diff = "" if not check else f", |onnx - torch| <= {max(check['max_abs_diff'].values()):.2g}"
            again = " (exported above)" if p.file in seen else diff
            seen.add(p.file)
            head = f"plan {j} " if m.table else ""
            print(f"{head}partition {p.index}: blocks {p.blocks[0]}-{p.blocks[1]} on {p.tier} -> {p.file}{again}")
    if m.table:
        t = m.table
        print(f"wrote {Path(a.out) / 'manifest.json'}: a table of {len(t['rows'])} intervals of link {t['link']}'s "
              f"{t['parameter']}, {len(m.plans)} plans, {len(seen)} files")
    else:
        print(f"wrote {Path(a.out) / 'manifest.json'} (threshold {m.threshold:g}, source {m.source}, "
              f"destination {m.destination})")
    return 0


def cmd_worker(a) -> int:
    require(*SERVE_NEEDS, what="eepart worker")
    from ..runtime.worker import run
    return run(a)


def _topology(ref: str):
    return Topology.preset(ref) if ref in PRESETS else Topology.load(ref)


def _profile(ref: str):
    return Profile.preset(ref) if ref in Profile.presets() else Profile.load(ref)


def cmd_run(a) -> int:
    require(*SERVE_NEEDS, what="eepart run")
    if a.plan is not None or a.table is not None:
        require(*EXPORT_NEEDS, what="eepart run --plan/--table (it exports the plan or table first)")
    elif a.run_dir is not None and a.images is None:
        require("torch", what="eepart run --run-dir (its test images)")
    from ..runtime.driver import run_local, summarize
    from ..runtime.errors import RunFailed
    from ..runtime.manifest import load_manifest
    _count("--samples", a.samples, 1)
    if a.plan is not None and a.table is not None:
        raise ValueError("--plan and --table: give one (a plan, or a plan table to adapt over)")
    source = a.plan if a.plan is not None else a.table
    if a.deploy is None and (source is None or a.run_dir is None):
        raise ValueError("give --deploy DIR (an exported plan or table), or --plan/--table and --run-dir to export "
                         "one first")
    deploy = a.deploy
    if source is not None:
        from ..runtime.export import export_run
        deploy = deploy or str(Path(a.run_dir) / "deploy")
        what = _load_plan(a.plan, a.index) if a.plan is not None else _load_table(a.table)
        export_run(a.run_dir, what, deploy, allow_partial=a.allow_partial, table=a.table is not None)
    m = load_manifest(deploy)
    if a.run_dir is None and a.images is None:
        raise ValueError("samples: give --run-dir (its dataset's test split) or --images FILE.npz (arrays x, y)")
    if a.images is not None:
        x, y = _images(a.images, a.samples)
    else:
        import torch

        from ..runtime.export import load_run_net
        _, data, _, _ = load_run_net(a.run_dir, allow_partial=True)
        n = min(a.samples, len(data.test))
        xt, yt = data.test.batch(torch.arange(n))
        x, y = xt.numpy(), yt.numpy()
    remote = _pairs(a.worker, "--worker", "TIER=ADDRESS (e.g. edge=tcp://10.0.0.2:5601)")
    if a.insecure and (a.key or a.allow):
        raise ValueError("--insecure with --key/--allow: choose one")
    if remote and not a.insecure and not (a.key and a.allow):
        raise ValueError("--worker: remote workers are reached with keys: give --key FILE.key_secret and --allow "
                         "KEYS (see `eepart keys`), or --insecure to run unauthenticated and unencrypted")
    if bool(a.key) != bool(a.allow):
        raise ValueError("--key and --allow go together (this driver's secret key, the workers' public keys)")
    if a.insecure:
        print(f"eepart run: {INSECURE_WARNING}", file=sys.stderr)
    traces = _pairs(a.trace, "--trace", "LINK=FILE or LINK:latency=FILE (LINK an index or 'a-b')")
    adapt = {}
    if m.table is not None:
        switch = a.switch if a.switch in (None, "adaptive", "oracle") else _switch_index(a.switch)
        adapt = {"switch": switch, "window": a.window, "hysteresis": a.hysteresis}
    elif a.switch is not None:
        raise ValueError(f"--switch {a.switch}: {deploy} holds one plan, not a table (export with --table)")
    try:
        result = run_local(deploy, _topology(a.topology), x, y, mode=a.mode, rate=a.rate, timeout=a.timeout,
                           clock=a.clock, emulate=not a.no_emulation, records_path=a.records, remote=remote,
                           seed=a.seed, bind=a.bind, progress=a.progress,
                           profile=_profile(a.profile) if a.profile else None, advertise=a.advertise,
                           key=a.key, allow=a.allow, insecure=a.insecure, traces=traces or None,
                           trace_speed=a.trace_speed, **adapt)
    except RunFailed as exc:
        s = summarize(exc.records, partitions=len(m.partitions))
        print(f"eepart run: {exc}", file=sys.stderr)
        print(f"{s['samples']} samples finished before the failure"
              + (f"; their records are in {a.records}" if a.records else ""), file=sys.stderr)
        return 1
    s = result.summary()
    plan = m.data["plan"]
    print(f"{s['samples']} samples, {a.mode} loop{f' at {a.rate:g}/s' if a.mode == 'open' else ''}: "
          f"latency mean {s['mean'] * 1e3:.3f} ms, p50 {s['p50'] * 1e3:.3f} ms, p99 {s['p99'] * 1e3:.3f} ms; "
          f"accuracy {s.get('accuracy', float('nan')):.4f}; exit fractions "
          + " ".join(f"{f:.3f}" for f in s["exit_fraction"]) + (f" [{INSECURE_WARNING}]" if a.insecure else ""))
    if s.get("errors"):
        failed = [r for r in result.records if r.get("error")]
        print(f"{s['errors']} samples failed ({100 * s['error_fraction']:.1f} %), counted as wrong; the first: "
              f"sample {failed[0]['sample']}: {failed[0]['error']}")
    if "latency" in plan:
        print(f"model: latency {plan['latency'] * 1e3:.3f} ms, accuracy {plan.get('accuracy', float('nan')):.4f} "
              f"(measured mean / model = {s['mean'] / plan['latency']:.3f})")
    if m.table is not None:
        st = result.settings
        used = np.bincount([r["plan"] for r in result.records], minlength=len(m.plans))
        print(f"table over link {m.table['link']}'s {m.table['parameter']}: {st['adapt']['switch']}, "
              f"{len(st['switches'])} switches, {st['adapt']['probes']} probes; samples per plan "
              + " ".join(f"{j}:{n}" for j, n in enumerate(used) if n))
        for sw in st["switches"][:20]:
            print(f"  switch at sample {sw['sample']}: estimate {sw['estimate']:.6g}, plan {sw['old']} -> {sw['new']}")
    if a.summary:
        Path(a.summary).write_text(json.dumps({"summary": s, "settings": result.settings, "plan": plan}, indent=1))
    return 0


def _pairs(specs, option: str, expected: str) -> dict:
    """Repeated NAME=VALUE options as a dict, refused by option and value when one lacks its value."""
    out = {}
    for spec in specs or []:
        name, _, value = spec.partition("=")
        if not value:
            raise ValueError(f"{option} {spec!r}: expected {expected}")
        out[name] = value
    return out


def _switch_index(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--switch {text!r}: expected adaptive, oracle or a plan index") from None


def cmd_keys(a) -> int:
    require("zmq", what="eepart keys")
    from ..runtime.security import write_keypair
    public, (pub, sec) = write_keypair(a.out, overwrite=a.overwrite)
    print(public)
    print(f"wrote {pub} (public: give it to the peers' --allow) and {sec} (secret, mode 0600: this process's "
          f"--key)", file=sys.stderr)
    return 0


def add_subcommands(sub) -> None:
    ks = sub.add_parser("keys", help="make a CURVE keypair for a worker or driver (eepart worker/run --key)",
                        description="Writes OUT.key (the public key: copy it into the peers' --allow folder) and "
                                    "OUT.key_secret (the secret key, mode 0600: this process's --key), each "
                                    "atomically, and prints the public key. Name each worker's keys after its "
                                    "tier (keys/edge), the driver's keys/driver.")
    ks.add_argument("--out", required=True, help="path without suffix, e.g. keys/edge")
    ks.add_argument("--overwrite", action="store_true", help="replace existing key files")
    ks.set_defaults(run=cmd_keys)

    ex = sub.add_parser("export", help="export a plan's partitions to ONNX with a manifest (needs torch)",
                        description="Cut a trained run's joint network as the plan says: one ONNX file per "
                                    "partition (its blocks and the exit after them), checked against torch, and "
                                    "manifest.json (tiers, threshold, tensor shapes and dtypes, sha256).")
    ex.add_argument("--run-dir", required=True, help="a trained run folder (run.json, joint.pt)")
    ex.add_argument("--plan", default=None, help="plan JSON: a Plan's to_dict(), `eepart plan --json` output "
                    "(its best plan), or a frontier list (--frontier-out F.json) with --index")
    ex.add_argument("--table", default=None, help="a plan table instead (`eepart plan --over bandwidth:LINK:... "
                    "--json` output): every distinct partition of its plans once, the table in the manifest")
    ex.add_argument("--index", type=int, default=None, help="which plan of a frontier list")
    ex.add_argument("--out", required=True, help="folder to write")
    ex.add_argument("--check-samples", type=int, default=16, help="test images compared with torch (default 16)")
    ex.add_argument("--allow-partial", action="store_true", help="export weights whose training is unfinished")
    ex.set_defaults(run=cmd_export)

    wk = sub.add_parser("worker", help="serve one tier of an exported plan (ZeroMQ), here or on another host",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Serves one tier's partitions, run after run; `eepart run --worker "
                                    "TIER=ADDRESS` drives it.\nEvery connection is authenticated and encrypted "
                                    "(ZeroMQ CURVE): --allow takes the public keys (NAME.key)\nof the driver and "
                                    "the other workers, each named after its tier, and only their holders get a\n"
                                    "connection. Without --key a worker refuses to start, unless --insecure.",
                        epilog="secure setup (once per process, then on each host):\n"
                               "  eepart keys --out keys/driver; eepart keys --out keys/edge; ...\n"
                               "  eepart worker --tier edge --bind tcp://0.0.0.0:5601 --artifacts deploy/ \\\n"
                               "      --key keys/edge.key_secret --allow keys/\n"
                               "  eepart run --deploy deploy/ --worker edge=tcp://10.0.0.2:5601 ... \\\n"
                               "      --key keys/driver.key_secret --allow keys/\n"
                               "(keys/ holds every public NAME.key; each secret NAME.key_secret stays on its host, "
                               "mode 0600)")
    add_worker_arguments(wk)
    wk.set_defaults(run=cmd_worker)

    rn = sub.add_parser("run", help="run an exported plan on its tiers, links emulated, and report latency",
                        description="Starts one worker per tier and the link emulator on 127.0.0.1 (or uses "
                                    "--worker TIER=ADDRESS workers), streams test samples from the source tier, "
                                    "and prints measured latency (mean, p50, p99), accuracy and exit fractions. "
                                    "Every connection is authenticated and encrypted (ZeroMQ CURVE): the "
                                    "processes started here get keys made for the run; workers on other hosts "
                                    "need --key (this driver's, from `eepart keys`) and --allow (theirs, named "
                                    "TIER.key), see `eepart worker --help`; they keep running after the run.")
    rn.add_argument("--deploy", default=None, help="an exported folder (eepart export --out)")
    rn.add_argument("--plan", default=None, help="export this plan first (with --run-dir)")
    rn.add_argument("--table", default=None, help="export this plan table first (with --run-dir; `eepart plan "
                    "--over bandwidth:LINK:... --json` output) and adapt over it")
    rn.add_argument("--trace", action="append", metavar="LINK=FILE", help="the link's bandwidth follows this CSV "
                    "(time_s,value; LINK an index or 'a-b'); LINK:latency=FILE for its delay; repeatable")
    rn.add_argument("--trace-speed", type=float, default=1.0, help="trace seconds per real second (default 1)")
    rn.add_argument("--switch", default=None, help="a deployed table: adaptive (default: measure the link and "
                    "switch), oracle (the table's plan at the trace's true value) or a plan index (pinned)")
    rn.add_argument("--window", type=int, default=4, help="observations in the link estimate (windowed "
                    "harmonic mean; default 4)")
    rn.add_argument("--hysteresis", type=float, default=0.05, help="relative margin past a breakpoint before a "
                    "switch (default 0.05)")
    rn.add_argument("--index", type=int, default=None, help="which plan of a frontier list")
    rn.add_argument("--run-dir", default=None, help="trained run folder: weights to export and test images")
    rn.add_argument("--allow-partial", action="store_true", help="export weights whose training is unfinished")
    rn.add_argument("--images", default=None, help="samples from an .npz (x: n x C x H x W float32, y: labels)")
    rn.add_argument("--topology", required=True, help="mobile, iot or a topology file (YAML/JSON)")
    rn.add_argument("--samples", type=int, default=200, help="samples to stream (default 200)")
    rn.add_argument("--mode", default="closed", choices=("closed", "open"),
                    help="closed: one sample in flight; open: Poisson arrivals at --rate")
    rn.add_argument("--rate", type=float, default=None, help="arrivals per second (open loop)")
    rn.add_argument("--timeout", type=float, default=10.0, help="seconds a sample may take before the run stops")
    rn.add_argument("--clock", default="cpu", choices=("cpu", "wall", "profile", "none"),
                    help="compute emulation: ratio x CPU time (cpu), ratio x wall time (wall), ratio x the "
                         "partition's time in --profile (profile), or as is (none)")
    rn.add_argument("--profile", default=None, help="profile JSON for --clock profile")
    rn.add_argument("--no-emulation", action="store_true", help="send straight to the workers (real links)")
    rn.add_argument("--worker", action="append", metavar="TIER=ADDRESS", help="a worker already running "
                    "(eepart worker --key ... --allow ...); it keeps running after the run")
    add_security_arguments(rn, "driver")
    rn.add_argument("--bind", default="tcp://127.0.0.1:*", help="where the driver listens (default: a free port "
                    "on 127.0.0.1; with workers on other hosts e.g. tcp://0.0.0.0:5600)")
    rn.add_argument("--advertise", default=None, help="the driver's address as other hosts reach it "
                    "(e.g. tcp://10.0.0.1:5600; default: the bound address)")
    rn.add_argument("--records", default=None, help="per-sample records, JSON lines, written as they finish")
    rn.add_argument("--summary", default=None, help="write the summary JSON here")
    rn.add_argument("--seed", type=int, default=0, help="arrival times' seed (open loop)")
    add_progress(rn, "no progress bar")
    rn.set_defaults(run=cmd_run)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="eepart")
    add_subcommands(parser.add_subparsers(dest="command", required=True))
    a = parser.parse_args(argv)
    return a.run(a)


if __name__ == "__main__":
    sys.exit(main())
