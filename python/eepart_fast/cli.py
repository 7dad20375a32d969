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
  eepart sweep --profile my.json --topology mobile --max-latency-ms 200 --out rows.csv
  eepart backends

files: a profile is JSON (see README "File formats"); a topology is YAML or JSON: a chain (names, ratio,
bandwidth in bit/s, latency in s, one per link), a graph (names, ratio, links: [a, b, bandwidth, latency];
routes: shortest or given) or routes (names, ratio, path_latency, path_inv_bandwidth as M x M matrices);
optional route_rule (store_and_forward or bottleneck), devices, serialize, deserialize. Tiers may be given
by index or by name. The model: docs/model.md.
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
                   help="engine backend (default: auto = per operation the fastest measured that runs here: "
                        "cpu for plan's search; cuda, then cupy, then cpu for sweep)")


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

    if args.over:
        return cmd_plan_over(args)
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


OVER_UNITS = {"bandwidth": "bit/s (k, M, G suffixes allowed)", "latency": "ms", "ratio": "", "scale": ""}
SUFFIX = {"k": 1e3, "M": 1e6, "G": 1e9}


def parse_over(spec: str, topology):
    """--over KIND:TARGET:LOW:HIGH (scale:LOW:HIGH) -> (parameter, target, low, high) in the model's units."""
    parts = spec.split(":")
    kind = parts[0]
    want = 3 if kind == "scale" else 4
    if kind not in OVER_UNITS or len(parts) != want:
        raise UsageError(f"--over {spec!r}: expected bandwidth:LINK:LOW:HIGH, latency:LINK:LOW:HIGH, "
                         "ratio:TIER:LOW:HIGH or scale:LOW:HIGH")
    target = None
    if kind != "scale":
        t = parts[1]
        if kind == "ratio":
            target = topology.tier(_tier(t), "--over tier")
        else:  # a link index, or its two tiers "a,b" (by index or name)
            target = tuple(_tier(x.strip()) for x in t.split(",")) if "," in t else _tier(t)

    def number(text: str, name: str) -> float:
        scale = 1.0
        if kind == "bandwidth" and text[-1:] in SUFFIX:
            text, scale = text[:-1], SUFFIX[text[-1]]
        try:
            return float(text) * scale
        except ValueError:
            raise UsageError(f"--over {spec!r}: {name} = {text!r} is not a number") from None

    low, high = number(parts[-2], "LOW"), number(parts[-1], "HIGH")
    if kind == "latency":
        low, high = low / 1e3, high / 1e3
    return kind, target, low, high


def cmd_plan_over(args) -> int:
    """plan --over: the exact plan table of P_lat or P_acc over a range of one parameter."""
    from .plan import Planner

    if args.min_accuracy is None and args.max_latency_ms is None:
        raise UsageError("--over: give the bound, --min-accuracy (P_lat) or --max-latency-ms (P_acc)")
    if args.frontier_out:
        raise UsageError("--frontier-out: a plan table has no frontier to write; use --json for the table")
    profile, topology, source, destination = load_models(args)
    parameter, target, low, high = parse_over(args.over, topology)
    planner = Planner(profile, topology, source, destination, backend=args.backend)
    bound = {"min_accuracy": args.min_accuracy} if args.min_accuracy is not None else \
        {"max_latency": args.max_latency_ms / 1e3}
    table = planner.plan_table(parameter, target, low, high, **bound)
    if args.plot:
        table.plot(args.plot, title=f"{profile.name} on {' - '.join(topology.names)}")
    if args.json:
        print(json.dumps({"profile": profile.name, "topology": topology.names, "source": source,
                          "destination": destination, **table.to_dict()}, indent=1))
        return 0
    print(f"profile {profile.name} (N={profile.N}, K={profile.K}) on {' - '.join(topology.names)}; "
          f"source {topology.names[source]}, destination {topology.names[destination]}")
    print(table)
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

    if not (args.out.endswith(".csv") or args.out.endswith(".npz")):
        raise UsageError(f"--out {args.out!r}: the file name must end in .csv or .npz")
    profile, topology, source, destination = load_models(args)
    max_latency = None if args.max_latency_ms is None else args.max_latency_ms / 1e3
    rows = sweep(profile, topology, source, destination, max_latency=max_latency, min_accuracy=args.min_accuracy,
                 backend=args.backend, max_memory=int(args.max_memory_gb * 1024**3))
    rows.save(args.out)
    print(f"{len(rows):,} rows written to {args.out} (backend {rows.backend})")
    return 0


def cmd_backends(args) -> int:
    from .backends import backends

    for name, info in backends().items():
        auto = f"  [auto for {', '.join(info['auto_for'])}]" if info.get("auto_for") else ""
        print(f"{name:6s} {'available' if info['available'] else 'unavailable':11s}  {info['reason']}{auto}")
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
    plan.add_argument("--over", metavar="KIND:TARGET:LOW:HIGH",
                      help="the exact plan table over a range: bandwidth:LINK:LOW:HIGH (bit/s; k, M, G allowed), "
                           "latency:LINK:LOW:HIGH (ms), ratio:TIER:LOW:HIGH or scale:LOW:HIGH (every bandwidth "
                           "times a factor); LINK is a link index or its two tiers 'a,b'. Needs a bound; --plot "
                           "draws the table")
    plan.set_defaults(run=cmd_plan)

    sw = sub.add_parser("sweep", help="evaluate every configuration and write the kept rows",
                        description="Evaluates every configuration of the model and writes the rows meeting the bounds.")
    _model_args(sw)
    _bounds(sw, exclusive=False)
    sw.add_argument("--out", required=True, metavar="FILE.csv|FILE.npz", help="where to write the rows")
    sw.add_argument("--max-memory-gb", type=float, default=2.0, help="cap on the kept rows' memory (default 2)")
    sw.set_defaults(run=cmd_sweep)

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
