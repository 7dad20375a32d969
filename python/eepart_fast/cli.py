"""The `eepart` command: plan (exact frontier and best plan), sweep (every row to a file), backends."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

DEFAULT_PROFILE = "resnet20-fashionmnist"

EPILOG = """\
examples:
  eepart plan                                   # shipped ResNet-20 profile on the paper's mobile chain
  eepart plan --topology iot --min-accuracy 0.9
  eepart plan --profile my.json --topology my.yaml --max-latency-ms 150 --plot frontier.png
  eepart sweep --profile my.json --topology mobile --max-latency-ms 200 --out rows.parquet
  eepart study study.yaml --out results/        # many scenarios on Dask (README "Studies")
  eepart backends

files: a profile is JSON (see README "File formats"); a topology is YAML or JSON, either a chain
(names, ratio, bandwidth in bit/s, latency in s, one per link) or routes (names, ratio, path_latency,
path_inv_bandwidth as M x M matrices). Tiers may be given by index or by name.
"""


class UsageError(Exception):
    pass


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--profile", metavar="FILE|PRESET",
                   help=f"profile JSON file or shipped preset name (default: {DEFAULT_PROFILE})")
    g.add_argument("--topology", metavar="mobile|iot|FILE", default="mobile",
                   help="the paper's 'mobile' or 'iot' chain, or a YAML/JSON file (default: mobile)")
    g.add_argument("--source", metavar="TIER", default="0", help="tier where samples are produced (default: 0)")
    g.add_argument("--destination", metavar="TIER", default="0", help="tier where results must arrive (default: 0)")
    g.add_argument("--backend", default="auto", choices=["auto", "cuda", "cupy", "cpu", "numpy"],
                   help="engine backend (default: auto = cuda, then cupy, then cpu)")


def _bounds(p: argparse.ArgumentParser, exclusive: bool) -> None:
    g = p.add_mutually_exclusive_group() if exclusive else p.add_argument_group("bounds")
    g.add_argument("--min-accuracy", type=float, metavar="X", help="keep accuracy >= X (0..1)")
    g.add_argument("--max-latency-ms", type=float, metavar="Y", help="keep end-to-end latency <= Y ms")


def _tier(value: str):
    return int(value) if value.lstrip("-").isdigit() else value


def load_models(args):
    from .profile import Profile
    from .topology import PRESETS, Topology

    ref = args.profile or DEFAULT_PROFILE
    if Path(ref).suffix == ".json" or Path(ref).exists():
        profile = Profile.load(ref)
    elif ref in Profile.presets():
        profile = Profile.preset(ref)
    else:
        shipped = ", ".join(Profile.presets()) or "none"
        raise UsageError(f"--profile {ref!r}: no such file or preset (shipped presets: {shipped})")
    if profile.name is None:
        profile.name = Path(ref).stem
    topology = Topology.preset(args.topology) if args.topology in PRESETS else Topology.load(args.topology)
    source = topology.tier(_tier(args.source), "--source")
    destination = topology.tier(_tier(args.destination), "--destination")
    return profile, topology, source, destination


def frontier_table(plans) -> str:
    lines = [f"{'latency (ms)':>13}  {'accuracy':>8}  {'threshold':>9}  partitions (blocks @ tier)"]
    for p in plans:
        parts = "  ".join(f"{b['blocks'][0]}-{b['blocks'][1]}@{b['tier_name']}" for b in p.breakdown)
        lines.append(f"{p.latency * 1e3:13.3f}  {p.accuracy:8.4f}  {p.threshold:9.3f}  {parts}")
    return "\n".join(lines)


def cmd_plan(args) -> int:
    from .plan import Planner

    profile, topology, source, destination = load_models(args)
    planner = Planner(profile, topology, source, destination, backend=args.backend)
    frontier = planner.pareto()
    best, bound = None, None
    if args.min_accuracy is not None:
        bound = f"accuracy >= {args.min_accuracy}"
        best = planner.min_latency(args.min_accuracy)
    elif args.max_latency_ms is not None:
        bound = f"latency <= {args.max_latency_ms} ms"
        best = planner.max_accuracy(args.max_latency_ms / 1e3)
    if args.frontier_out:
        write_frontier(args.frontier_out, frontier)
    if args.plot:
        from .plot import plot_frontier

        plot_frontier(args.plot, profile, topology, frontier, source, destination, best=best, backend=args.backend)
    if args.json:
        print(json.dumps({"profile": profile.name, "topology": topology.names, "source": source,
                          "destination": destination, "bound": bound,
                          "best": best.to_dict() if best else None,
                          "frontier": [p.to_dict() for p in frontier]}, indent=1))
        return 0
    print(f"profile {profile.name} (N={profile.N}, K={profile.K}) on {' - '.join(topology.names)}; "
          f"source {topology.names[source]}, destination {topology.names[destination]}")
    if bound is not None:
        print(f"\nbest plan under {bound}:")
        print(str(best) if best else "  none: no configuration meets the bound")
    print(f"\nPareto frontier ({len(frontier)} points):")
    print(frontier_table(frontier))
    if bound is None:
        print("\n(give --min-accuracy or --max-latency-ms to choose one plan)")
    if args.plot:
        print(f"\nplot written to {args.plot}")
    return 0


def write_frontier(path: str, frontier) -> None:
    if path.endswith(".json"):
        Path(path).write_text(json.dumps([p.to_dict() for p in frontier], indent=1) + "\n")
    elif path.endswith(".csv"):
        import csv

        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["latency_s", "accuracy", "threshold_index", "threshold", "partitions", "placement", "tiers"])
            for p in frontier:
                w.writerow([repr(p.latency), repr(p.accuracy), p.threshold_index, repr(p.threshold),
                            " ".join(map(str, p.partitions)), " ".join(map(str, p.placement)), " | ".join(p.tier_names)])
    else:
        raise UsageError(f"--frontier-out {path!r}: the file name must end in .csv or .json")


def cmd_sweep(args) -> int:
    from .api import sweep

    if not args.out.endswith((".csv", ".npz", ".parquet")):
        raise UsageError(f"--out {args.out!r}: the file name must end in .csv, .npz or .parquet")
    profile, topology, source, destination = load_models(args)
    max_latency = None if args.max_latency_ms is None else args.max_latency_ms / 1e3
    rows = sweep(profile, topology, source, destination, max_latency=max_latency, min_accuracy=args.min_accuracy,
                 backend=args.backend, max_memory=int(args.max_memory_gb * 1024**3))
    rows.save(args.out, progress=None if args.progress else False)
    print(f"{len(rows):,} rows written to {args.out} (backend {rows.backend})")
    return 0


def cmd_study(args) -> int:
    try:
        from .study import StudyFailed, load_study, run_study
    except ImportError as exc:
        raise UsageError(f"studies need pyarrow and dask[distributed] (pip install 'eepart_fast[study]'): {exc}")
    for flag, value in (("--workers", args.workers), ("--threads", args.threads)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} {value}: must be >= 1")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be >= 1")
    spec = load_study(args.file)
    print(f"study {spec.name}: {spec.scenarios:,} scenarios ({', '.join(spec.compute)}) into {args.out}", flush=True)
    try:
        result = run_study(spec, args.out, scheduler=args.scheduler, workers=args.workers,
                           threads=args.threads, batch_size=args.batch_size,
                           progress=None if args.progress else False, overwrite=args.overwrite)
    except StudyFailed as exc:
        print(f"eepart: error: {exc}", file=sys.stderr)
        return 1
    print(f"{result.ran:,} scenarios run, {result.skipped:,} already written; {result.rows:,} rows in "
          f"{result.files} files ({result.bytes / 1e6:.1f} MB) in {result.seconds:.1f} s")
    return 0


def cmd_backends(args) -> int:
    from .backends import backends

    for name, info in backends().items():
        print(f"{name:6s} {'available' if info['available'] else 'unavailable':11s}  {info['reason']}")
    return 0


def build_parser(with_training: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eepart", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Plan DNN partitioning with early exit across device, edge and cloud tiers "
                    "(the performance model of Ebrahimi et al., EdgeSys'22).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    plan = sub.add_parser("plan", help="exact Pareto frontier and the best plan under a bound",
                          description="Finds the exact Pareto frontier of (latency, accuracy) over every threshold, "
                                      "partitioning and placement, and the best plan under one bound.")
    _model_args(plan)
    _bounds(plan, exclusive=True)
    plan.add_argument("--plot", metavar="OUT.png", help="draw the configurations and the frontier (paper Fig. 4)")
    plan.add_argument("--json", action="store_true", help="print JSON instead of tables")
    plan.add_argument("--frontier-out", metavar="FILE.csv|FILE.json", help="write the frontier to a file")
    plan.set_defaults(run=cmd_plan)

    sw = sub.add_parser("sweep", help="evaluate every configuration and write the kept rows",
                        description="Evaluates every configuration of the model and writes the rows meeting the bounds.")
    _model_args(sw)
    _bounds(sw, exclusive=False)
    sw.add_argument("--out", required=True, metavar="FILE.csv|FILE.npz|FILE.parquet",
                    help="where to write the rows (the file appears only once complete)")
    sw.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar while writing")
    sw.add_argument("--max-memory-gb", type=float, default=2.0, help="cap on the kept rows' memory (default 2)")
    sw.set_defaults(run=cmd_sweep)

    st = sub.add_parser("study", help="run a study file's scenarios on Dask into a Parquet dataset",
                        description="Runs every scenario of a study file (README \"Studies\") on Dask and writes "
                                    "the results as a Parquet dataset; run it again to resume after a failure.")
    st.add_argument("file", metavar="STUDY.yaml", help="the study file")
    st.add_argument("--out", required=True, metavar="DIR", help="result folder (shared by every worker)")
    st.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="a running Dask scheduler (default: a local "
                    "cluster of worker processes on this machine)")
    st.add_argument("--workers", type=int, metavar="N", help="local cluster: worker processes (default: one per core)")
    st.add_argument("--threads", type=int, metavar="N", help="local cluster: threads per worker (default 1)")
    st.add_argument("--batch-size", type=int, metavar="N", help="scenarios per task (default: sized to the work)")
    st.add_argument("--overwrite", action="store_true", help="replace another study's results in DIR")
    st.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    st.set_defaults(run=cmd_study)

    be = sub.add_parser("backends", help="list the engine backends and whether each can run here")
    be.set_defaults(run=cmd_backends)

    if with_training:
        try:
            from .nn.cli import add_subcommands
        except ImportError as exc:
            raise UsageError(f"training and profiling need the train extra (pip install 'eepart_fast[train]'): {exc}")
        add_subcommands(sub)
    else:
        # Listed without importing torch, which takes seconds that planning should not pay.
        sub.add_parser("train", help="train an early-exit network (needs the train extra: torch)")
        sub.add_parser("profile", help="profile an early-exit network into a profile JSON (needs torch)")
    return parser


TRAINING_COMMANDS = ("train", "profile")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser(with_training=bool(argv) and argv[0] in TRAINING_COMMANDS)
    except UsageError as exc:
        print(f"eepart: error: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except BrokenPipeError:
        # The reader (say `| head`) has gone: stop quietly, as other command-line tools do.
        sys.stdout = open(os.devnull, "w")
        return 0
    except (UsageError, ValueError, TypeError, OSError) as exc:
        print(f"eepart: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eepart: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
