"""The `eepart` command: plan (exact frontier and best plan), sweep (every row to a file), backends."""
from __future__ import annotations

import argparse
import csv
import difflib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from .._core import DEFAULT_MAX_MEMORY
from .._extras import MissingExtra, extra_of, require
from ..engine.registry import backends, get_backend, resolve
from ..errors import RowLimitError
from ..io.atomic import atomic_path
from ..io.format import decimals, digits
from ..io.results import SweepResult
from ..model.configs import count_configurations, row_bytes
from ..model.load import Load, LoadModel
from ..model.profile import Profile
from ..model.quantile import parse_quantile, quantile_label
from ..model.tables import cost_tables
from ..model.topology import PRESETS, Topology
from ..planning import load as under_load
from ..planning.planner import Planner
from ..planning.rate_table import rate_table
from .nn import add_subcommands as add_training_subcommands
from .options import add_progress
from .runtime import add_subcommands as add_runtime_subcommands

DEFAULT_PROFILE = "resnet20-fashionmnist"
# Exit codes: 0 done, 2 bad input or a limit reached (--max-memory-gb, --time-limit; one line on stderr),
# 3 `plan` found no configuration meeting the bound, 130 interrupted.
EXIT_USAGE = 2
EXIT_NO_PLAN = 3
FRONTIER_ROWS = 10  # frontier points `eepart plan` prints unless --frontier says otherwise
STUDY_NEEDS = ("pyarrow", "dask", "distributed")

EPILOG = """\
examples:
  eepart plan                                   # shipped ResNet-20 profile on the paper's mobile chain
  eepart plan --topology iot --min-accuracy 0.9
  eepart plan --profile my.json --topology my.yaml --max-latency-ms 150 --plot frontier.png
  eepart plan --quantile p99 --max-latency-ms 100      # the bound on the 99th percentile of the latency
  eepart plan --rate 30 --fleet 4 --min-accuracy 0.9   # under load: 30 samples/s from each of 4 sources
  eepart sweep --profile my.json --topology mobile --max-latency-ms 200 --out rows.parquet
  eepart study study.yaml --out results/        # many scenarios on Dask (docs/studies.md)
  eepart backends

files: a profile is JSON (see docs/file-formats.md); a topology is YAML or JSON: a chain (names, ratio,
bandwidth in bit/s, latency in s, one per link), a graph (names, ratio, links: [a, b, bandwidth, latency];
routes: shortest or given) or routes (names, ratio, path_latency, path_inv_bandwidth as M x M matrices);
optional route_rule (store_and_forward or bottleneck), devices, serialize, deserialize. Tiers may be given
by index or by name. The model: docs/model.md.

units: latencies on the command line are in milliseconds (--max-latency-ms, --over latency:..., the printed
tables), memory in GiB (--max-memory-gb), times in seconds (--time-limit); profiles, topologies, study files
and the Python API use seconds and bytes.

exit codes: 0 done; 2 bad input, or a limit reached (--max-memory-gb, --time-limit), one line on stderr;
3 `plan`: no configuration meets the bound; 130 interrupted.
"""


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """argparse with its errors in one line, exit code 2, like every other bad input; a mistyped flag,
    subcommand or choice gets the closest valid one (difflib): "did you mean --min-accuracy?"."""

    _seen: list = []  # the arguments this parser was last given (the suggestion looks for a mistyped flag)
    _bad_choice = None  # (value, choices) of the choice argparse is refusing, if that is the error
    _unrecognized: list = []  # the arguments refused as unrecognized, if that is the error

    def parse_known_args(self, args=None, namespace=None):
        self._seen = list(sys.argv[1:] if args is None else args)
        self._bad_choice, self._unrecognized = None, []
        return super().parse_known_args(args, namespace)

    def parse_args(self, args=None, namespace=None):
        ns, extra = self.parse_known_args(args, namespace)
        if extra:  # said by the subcommand's parser where one was chosen: its flags, its --help
            sub = self._subcommand(getattr(ns, "command", None)) or self
            sub._unrecognized = list(extra)
            sub.error(f"unrecognized arguments: {' '.join(extra)}")
        return ns

    def _check_value(self, action, value):
        # Remembered for the suggestion: the refused value and its choices, not parsed back from the message.
        if action.choices is not None and value not in action.choices:
            self._bad_choice = (str(value), [str(c) for c in action.choices])
        super()._check_value(action, value)

    def _subcommand(self, name):
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and name in action.choices:
                return action.choices[name]
        return None

    def _known(self, flag: str) -> bool:
        options = self._option_string_actions
        return flag in options or (self.allow_abbrev and flag.startswith("--")
                                   and sum(o.startswith(flag) for o in options) == 1)

    def suggestion(self) -> str:
        """"; did you mean X?" for a mistyped choice (subcommand, --backend ...) or flag, else ""."""
        if self._bad_choice is not None:
            value, options = self._bad_choice
            close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
            return f"; did you mean {close[0]!r}?" if close else ""
        seen = self._seen
        if any(isinstance(a, argparse._SubParsersAction) for a in self._actions):  # the main parser: its own
            seen = seen[:next((i for i, a in enumerate(seen) if not a.startswith("-")), len(seen))]  # flags only
        flags = sorted(o for o in self._option_string_actions if o.startswith("--"))
        for arg in seen:
            if arg == "--":
                break
            flag = arg.split("=", 1)[0]
            if flag.startswith("--") and not self._known(flag):
                close = difflib.get_close_matches(flag, flags, n=1, cutoff=0.6)
                if close:  # named where the message does not (a required flag missing because of it)
                    named = arg in self._unrecognized
                    return f"; did you mean {close[0]}?" if named else f"; {flag}: did you mean {close[0]}?"
        return ""

    def error(self, message):
        message = " ".join(str(message).split())  # one line
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{self.suggestion()} (see {self.prog} --help)\n")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number")
    return value


def accuracy_arg(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: an accuracy is a fraction in [0, 1] (0.9 for 90 %)")
    return value


def positive_arg(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be > 0")
    return value


def nonnegative_arg(text: str) -> float:
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be >= 0")
    return value


def memory_arg(text: str) -> float:
    value = positive_arg(text)
    if value > 2.0**40:
        raise argparse.ArgumentTypeError(f"{text!r}: more than 2^40 GiB")
    return value


class Clock:
    """--time-limit for a whole command: each engine call gets what is left of it."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.deadline = math.inf if seconds is None else time.monotonic() + seconds

    def left(self):
        """Seconds left (None: no limit); past the limit, TimeoutError."""
        if self.seconds is None:
            return None
        left = self.deadline - time.monotonic()
        if not left > 0:
            raise self.timed_out()
        return left

    def timed_out(self) -> TimeoutError:
        return TimeoutError(f"stopped at --time-limit {self.seconds:g} s without an answer: raise --time-limit, "
                            "or narrow the question (bounds, fewer tiers or blocks)")


def quantile_arg(text: str) -> float:
    """--quantile: a fraction in (0, 1] (0.99) or its name (p99, p99.9)."""
    try:
        return parse_quantile(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def frontier_arg(text: str):
    if text == "all":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of points or 'all'")
    return int(text)


def _model_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--profile", metavar="FILE|PRESET",
                   help=f"profile JSON file or shipped preset: {', '.join(Profile.presets()) or 'none'} "
                        f"(default: {DEFAULT_PROFILE})")
    g.add_argument("--topology", metavar="FILE|PRESET", default="mobile",
                   help=f"topology YAML/JSON file or shipped preset: {', '.join(PRESETS)} (the paper's chains; "
                        "mobile-energy: mobile with published powers) (default: mobile)")
    g.add_argument("--source", metavar="TIER", default="0", help="tier where samples are produced (default: 0)")
    g.add_argument("--destination", metavar="TIER", default="0", help="tier where results must arrive (default: 0)")
    g.add_argument("--backend", default="auto", choices=["auto", "cuda", "cupy", "cpu", "numpy"],
                   help="engine backend (default: auto = per operation the fastest measured that runs here: "
                        "cpu for plan's search; cuda, then cupy, then cpu for sweep)")


def _bounds(p: argparse.ArgumentParser, exclusive: bool) -> None:
    g = p.add_mutually_exclusive_group() if exclusive else p.add_argument_group("bounds")
    g.add_argument("--min-accuracy", type=accuracy_arg, metavar="X", help="keep accuracy >= X (0..1)")
    g.add_argument("--max-latency-ms", type=positive_arg, metavar="Y",
                   help="keep end-to-end latency <= Y milliseconds (> 0; the Python API's max_latency is in "
                        "seconds); with --quantile, that quantile of it")
    p.add_argument("--quantile", type=quantile_arg, metavar="Q",
                   help="latency as its Q-quantile over samples instead of the mean: a fraction in (0, 1] or "
                        "pNN (0.99 or p99); the latency bound and the outputs are then on it")


def _latency_label(quantile) -> str:
    """"latency" for the mean, "p99 latency" for a quantile."""
    return "latency" if quantile is None else f"{quantile_label(quantile)} latency"


def _time_limit(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--time-limit", type=positive_arg, metavar="SECONDS",
                   help=f"stop {what} past this many seconds with one line on stderr and exit code 2 "
                        "(default: no limit)")


def _tier(value: str):
    return int(value) if value.lstrip("-").isdigit() else value


def load_models(args):
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
    if args.topology in PRESETS:
        topology = Topology.preset(args.topology)
    elif Path(args.topology).exists():
        topology = Topology.load(args.topology)
    else:
        raise UsageError(f"--topology {args.topology!r}: no such file or preset (presets: {', '.join(PRESETS)})")
    source = topology.tier(_tier(args.source), field="--source")
    destination = topology.tier(_tier(args.destination), field="--destination")
    return profile, topology, source, destination


def writable(option: str, path: str) -> None:
    """Refuses an output path whose folder does not exist, or a figure whose file type matplotlib does not
    write, before any work is done."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path!r}: folder {str(folder)!r} does not exist")
    if option == "--plot":
        from matplotlib.backend_bases import FigureCanvasBase  # only where a figure is asked for

        kinds = FigureCanvasBase.get_supported_filetypes()
        kind = Path(path).suffix.lstrip(".").lower()
        if kind and kind not in kinds:  # none: matplotlib's default type (png), its suffix added
            raise UsageError(f"--plot {path!r}: the figure's file type {kind!r} is not one matplotlib "
                             f"writes: {', '.join(sorted(kinds))}")


def frontier_table(plans, quantile=None, least=(3, 4)) -> str:
    """One row per plan; latency and accuracy with as many digits as it takes to tell rows apart (at least
    `least` decimals: ms, accuracy)."""
    lat = digits([p.latency * 1e3 for p in plans], least[0])
    acc = digits([p.accuracy for p in plans], least[1])
    # Plans an energy question found carry their energy (mJ per sample): a column of its own.
    en = digits([p.energy * 1e3 for p in plans], 3) if plans and getattr(plans[0], "energy", None) is not None else None
    head = f"{_latency_label(quantile)} (ms)"
    wl, wa = max([len(head), *map(len, lat)]), max([8, *map(len, acc)])
    we = 0 if en is None else max([11, *map(len, en)])
    energy_head = "" if en is None else f"  {'energy (mJ)':>{we}}"
    lines = [f"{head:>{wl}}  {'accuracy':>{wa}}{energy_head}  {'threshold':>9}  partitions (blocks @ tier)"]
    for i, (p, lt, ac) in enumerate(zip(plans, lat, acc)):
        parts = "  ".join(f"{b['blocks'][0]}-{b['blocks'][1]}@{b['tier_name']}" for b in p.breakdown)
        energy = "" if en is None else f"  {en[i]:>{we}}"
        lines.append(f"{lt:>{wl}}  {ac:>{wa}}{energy}  {p.threshold:9.4g}  {parts}")
    return "\n".join(lines)


def frontier_summary(plans, shown, quantile=None) -> str:
    """The frontier in a few lines: its size and range, and `shown` points spread along it (None: all)."""
    n = len(plans)
    if not n:
        return "Pareto frontier: empty"
    if shown is None or shown >= n:
        idx = list(range(n))
    elif shown == 0:
        idx = []
    else:
        idx = sorted({round(i * (n - 1) / max(shown - 1, 1)) for i in range(shown)}) if shown > 1 else [0]
    # The head's ends with the digits the rows printed use, enough to tell every shown point (and the two
    # ends) from its neighbour: 4 significant digits made points differing in the 5th look equal.
    ends = sorted({*idx, 0, n - 1})
    lat = digits([plans[i].latency * 1e3 for i in ends], 3)
    acc = digits([plans[i].accuracy for i in ends], 4)
    least = (decimals(lat, 3), decimals(acc, 4))
    head = (f"Pareto frontier: {n} points, {_latency_label(quantile)} {lat[0]} to {lat[-1]} ms, "
            f"accuracy {acc[0]} to {acc[-1]}")
    if len(idx) == n:
        return head + "\n" + frontier_table(plans, quantile, least)
    if not idx:
        return head + " (--frontier N or all to list them)"
    return (head + f"; {len(idx)} of them, evenly spaced (--frontier all lists every point):\n"
            + frontier_table([plans[i] for i in idx], quantile, least))


def _objective(args):
    """What the best plan minimises or maximises: --objective, or the bound given (--min-accuracy: the
    latency; --max-latency-ms: the accuracy); None for the frontier alone. Each objective takes the bounds
    that make it a question: latency needs --min-accuracy alone, accuracy --max-latency-ms alone."""
    given = {"--min-accuracy": args.min_accuracy is not None, "--max-latency-ms": args.max_latency_ms is not None}
    objective = args.objective
    if objective is None:
        if all(given.values()):
            raise UsageError("--min-accuracy and --max-latency-ms: give one (or both with --objective energy)")
        return "latency" if given["--min-accuracy"] else "accuracy" if given["--max-latency-ms"] else None
    need = {"latency": "--min-accuracy", "accuracy": "--max-latency-ms"}.get(objective)
    if need is not None and (not given[need] or sum(given.values()) > 1):
        raise UsageError(f"--objective {objective}: give {need} alone (the bound of that question)")
    return objective


def _energy_tiers(text: str):
    """--energy-tiers: source, all, or tiers by name or index separated by commas."""
    return text if text in ("source", "all") else [_tier(t.strip()) for t in text.split(",") if t.strip()]


def _reach(frontier, quantile) -> str:
    """What the plans reach at best, for a bound none meets (a bound typed in the wrong unit shows here)."""
    if not frontier:
        return ""
    return (f"; the plans' least {_latency_label(quantile)} is {frontier[0].latency * 1e3:.3f} ms and their "
            f"highest accuracy {frontier[-1].accuracy:.4f}")


def _note_free_compute(topology, source: int, energy_tiers) -> None:
    """A note on stderr where a tier whose energy counts has no active power (0 W): computing there is free,
    so the least-energy plan tends to run there however slowly (the presets' watch has no published power)."""
    if energy_tiers == "source":
        counted = [source]
    elif energy_tiers == "all":
        counted = range(topology.M)
    else:
        counted = [topology.tier(t) for t in energy_tiers]
    free = [topology.names[a] for a in counted if not topology.active_power_w[a]]
    if free:
        who = f"the source {free[0]!r} has" if energy_tiers == "source" else \
            (f"the counted tier {free[0]!r} has" if len(free) == 1 else
             f"the counted tiers {', '.join(map(repr, free))} have")
        print(f"eepart: note: {who} no active power (0 W): computing there costs no energy, only radio and idle "
              "time do (docs/energy.md)", file=sys.stderr)


def cmd_plan(args) -> int:
    for option in ("plot", "frontier_out"):
        if getattr(args, option):
            writable("--" + option.replace("_", "-"), getattr(args, option))
    if args.frontier_out and not args.frontier_out.endswith((".csv", ".json")):
        raise UsageError(f"--frontier-out {args.frontier_out!r}: the file name must end in .csv or .json")
    clock = Clock(args.time_limit)
    q = args.quantile
    if args.over is not None and args.over.startswith("rate:"):
        return cmd_plan_rate_table(args)
    if args.rate is not None:
        return cmd_plan_load(args)
    if args.fleet != 1 or args.link_queues or args.queues != "mg1":
        raise UsageError("--fleet, --link-queues, --queues: only with --rate (the load they describe)")
    if args.over:
        if q is not None:
            raise UsageError("--quantile: not with --over: plan tables are for the mean latency only (a quantile "
                             "is only piecewise affine in a parameter)")
        return cmd_plan_over(args, clock)
    if args.plot and q is not None:
        raise UsageError("--plot: draws mean latencies; not with --quantile (use --frontier-out or --json)")
    objective = _objective(args)
    energy = objective == "energy" or args.max_energy_mj is not None
    if energy and q is not None:
        raise UsageError("--quantile: not with --max-energy-mj or --objective energy (the energy search takes the "
                         "mean latency only)")
    profile, topology, source, destination = load_models(args)
    if energy and topology.link_energy is None and not (np.any(topology.active_power_w) or
                                                        np.any(topology.idle_power_w)):
        # Every plan would cost 0 J: a least-energy plan would be any plan, a bound would drop none.
        raise UsageError(f"--objective energy, --max-energy-mj: topology {args.topology!r} has no energy inputs "
                         "(active_power_w, idle_power_w, link_energy), so every plan costs 0 J; use --topology "
                         "mobile-energy or add them (docs/energy.md)")
    planner = Planner(profile, topology, source=source, destination=destination, backend=args.backend,
                      energy_tiers=_energy_tiers(args.energy_tiers) if energy else None)
    if energy:
        _note_free_compute(topology, planner.source, planner.energy_tiers)
    max_energy = None if args.max_energy_mj is None else args.max_energy_mj / 1e3
    within = "" if max_energy is None else f", energy <= {args.max_energy_mj} mJ"
    best, bound = None, None
    try:
        frontier = planner.pareto(quantile=q, time_limit=clock.left(), max_energy=max_energy)
        if objective == "energy":
            bounds = [f"accuracy >= {args.min_accuracy}"] if args.min_accuracy is not None else []
            if args.max_latency_ms is not None:
                bounds.append(f"latency <= {args.max_latency_ms} ms")
            bound = "least energy" + (f" with {', '.join(bounds)}" if bounds else "") + within
            best = planner.min_energy(min_accuracy=args.min_accuracy, time_limit=clock.left(),
                                      max_latency=None if args.max_latency_ms is None else args.max_latency_ms / 1e3)
            if best is not None and max_energy is not None and best.energy > max_energy:
                best = None
        elif objective == "latency":
            bound = f"accuracy >= {args.min_accuracy}{within}"
            best = planner.min_latency(min_accuracy=args.min_accuracy, quantile=q, time_limit=clock.left(),
                                       max_energy=max_energy)
        elif objective == "accuracy":
            bound = f"{_latency_label(q)} <= {args.max_latency_ms} ms{within}"
            best = planner.max_accuracy(max_latency=args.max_latency_ms / 1e3, quantile=q, time_limit=clock.left(),
                                        max_energy=max_energy)
    except TimeoutError:
        raise clock.timed_out() from None
    if args.frontier_out:
        write_frontier(args.frontier_out, frontier, q)
    if args.plot:
        from ..planning.plot import plot_frontier

        plot_frontier(args.plot, profile, topology, frontier, source=source, destination=destination, best=best,
                      backend=args.backend)
    code = EXIT_NO_PLAN if bound is not None and best is None else 0
    if args.json:
        stat = {} if q is None else {"quantile": q}
        print(json.dumps({"profile": profile.name, "topology": topology.names, "source": source,
                          "destination": destination, "bound": bound, **stat,
                          "best": best.to_dict() if best else None,
                          "frontier": [p.to_dict() for p in frontier]}, indent=1))
        return code
    print(f"profile {profile.name} (N={profile.N}, K={profile.K}) on {' - '.join(topology.names)}; "
          f"source {topology.names[source]}, destination {topology.names[destination]}")
    if bound is not None:
        print(f"\nbest plan under {bound}:")
        print(str(best) if best else f"  none: no configuration meets the bound{_reach(frontier, q)} (exit code "
                                     f"{EXIT_NO_PLAN})")
    print()
    print(frontier_summary(frontier, args.frontier, q))
    if bound is None:
        print("\n(give --min-accuracy or --max-latency-ms to choose one plan)")
    if args.plot:
        print(f"\nplot written to {args.plot}")
    return code


class _LoadRow:
    """A frontier point under load, shaped as frontier_table reads a Plan."""

    def __init__(self, point, profile, topology):
        self.latency, self.accuracy = point.latency, point.accuracy
        self.threshold = float(profile.thresholds[point.threshold_index])
        bounds = zip((0, *point.partitions), point.partitions)
        self.breakdown = [{"blocks": (p + 1, q), "tier_name": topology.names[a]}
                          for (p, q), a in zip(bounds, point.placement)]
        self.point = point

    def to_dict(self, load: Load) -> dict:
        pt = self.point
        return {"latency": pt.latency, "accuracy": pt.accuracy, "threshold_index": pt.threshold_index,
                "threshold": self.threshold, "partitions": pt.partitions, "placement": pt.placement,
                "tier_names": [b["tier_name"] for b in self.breakdown], "rate": load.rate, "fleet": load.fleet}


def cmd_plan_load(args) -> int:
    """`eepart plan --rate R`: the frontier and the best plan under load (docs/model.md "Load")."""
    refused = (("quantile", "the load model is for the mean latency"),
               ("over", "plan tables under load are over the rate: --over rate:LOW:HIGH without --rate"),
               ("plot", "draws the unloaded configurations"))
    for option, why in refused:
        if getattr(args, option) is not None:
            raise UsageError(f"--{option.replace('_', '-')}: not with --rate ({why})")
    if args.fleet < 1:
        raise UsageError(f"--fleet {args.fleet}: a number of sources >= 1")
    profile, topology, source, destination = load_models(args)
    load = Load(args.rate, fleet=args.fleet, queues=args.queues)
    common = {"load": load, "source": source, "destination": destination, "backend": args.backend,
              "link_queues": args.link_queues}
    rows = under_load.load_pareto(profile, topology, **common)
    frontier = [_LoadRow(pt, profile, topology) for pt in under_load.points(rows)]
    best, bound = None, None
    if args.min_accuracy is not None:
        bound = f"accuracy >= {args.min_accuracy}"
        best = under_load.load_min_latency(profile, topology, min_accuracy=args.min_accuracy, **common)
    elif args.max_latency_ms is not None:
        bound = f"mean latency <= {args.max_latency_ms} ms"
        best = under_load.load_max_accuracy(profile, topology, max_latency=args.max_latency_ms / 1e3, **common)
    details = None
    if best is not None:
        model = LoadModel(profile, topology, load=load, source=source, destination=destination,
                          link_queues=args.link_queues)
        at = model.evaluate((best.threshold_index, best.partitions, best.placement))
        details = {"unloaded_latency": at.base,
                   "servers": [{"server": _server_name(key, topology.names), "visits": s.visits,
                                "utilisation": s.utilisation, "wait": s.wait} for key, s in at.servers.items()]}
        if args.max_latency_ms is not None:
            cap = under_load.plan_max_rate(profile, topology, (best.threshold_index, best.partitions, best.placement),
                                load=load, source=source, destination=destination,
                                max_latency=args.max_latency_ms / 1e3, link_queues=args.link_queues)
            details["max_rate"] = None if cap is None else [cap.rate, cap.upper]
    if args.frontier_out:
        write_load_frontier(args.frontier_out, frontier, load)
    code = EXIT_NO_PLAN if bound is not None and best is None else 0
    if args.json:
        print(json.dumps({"profile": profile.name, "topology": topology.names, "source": source,
                          "destination": destination, "rate": load.rate, "fleet": load.fleet,
                          "link_queues": args.link_queues, "queues": args.queues, "bound": bound,
                          "best": None if best is None else {**_LoadRow(best, profile, topology).to_dict(load),
                                                              **details},
                          "frontier": [r.to_dict(load) for r in frontier]}, indent=1))
        return code
    print(f"profile {profile.name} (N={profile.N}, K={profile.K}) on {' - '.join(topology.names)}; "
          f"source {topology.names[source]}, destination {topology.names[destination]}")
    print(f"load: {load.rate:g} samples/s from each of {load.fleet} source(s); tiers "
          f"{'and links queue' if args.link_queues else 'queue, links do not (--link-queues)'} "
          f"({'M/G/1' if args.queues == 'mg1' else 'QNA tandem'} waits, "
          "docs/model.md \"Load\")")
    if bound is not None:
        print(f"\nbest plan under {bound}:")
        if best is None:
            print(f"  none: no configuration meets the bound at this rate (exit code {EXIT_NO_PLAN})")
        else:
            row = _LoadRow(best, profile, topology)
            parts = "  ".join(f"{b['blocks'][0]}-{b['blocks'][1]}@{b['tier_name']}" for b in row.breakdown)
            print(f"  mean latency {best.latency * 1e3:.3f} ms under load ({details['unloaded_latency'] * 1e3:.3f} "
                  f"ms idle), accuracy {best.accuracy:.4f}, threshold {row.threshold:g}: {parts}")
            for s in details["servers"]:
                print(f"  {s['server']}: utilisation {s['utilisation']:.3f}, wait {s['wait'] * 1e3:.3f} ms, "
                      f"{s['visits']:.1%} of samples")
            if details.get("max_rate"):
                lo, hi = details["max_rate"]
                print(f"  this plan meets the bound up to {lo:.12g} samples/s per source (not at {hi:.12g})")
    print()
    print(frontier_summary(frontier, args.frontier, None).replace("Pareto frontier", "Pareto frontier under load", 1))
    return code


def cmd_plan_rate_table(args) -> int:
    """`eepart plan --over rate:LOW:HIGH --min-accuracy X`: P_lat under load for every rate in the range, in
    certified pieces with each change of plan bracketed (planning/rate_table.py)."""
    parts = args.over.split(":")
    if len(parts) != 3:
        raise UsageError(f"--over {args.over!r}: expected rate:LOW:HIGH (samples per second per source)")
    try:
        low, high = float(parts[1]), float(parts[2])
    except ValueError:
        raise UsageError(f"--over {args.over!r}: LOW and HIGH must be numbers") from None
    for option, why in (("rate", "the rate is what varies"), ("quantile", "the load model is for the mean latency"),
                        ("max_latency_ms", "a rate table is of P_lat: give --min-accuracy"),
                        ("plot", "no drawing of rate tables yet")):
        if getattr(args, option) is not None:
            raise UsageError(f"--{option.replace('_', '-')}: not with --over rate ({why})")
    if args.link_queues:
        raise UsageError("--link-queues: not with --over rate (rate tables have compute queues only)")
    if args.queues != "mg1":
        raise UsageError(f"--queues {args.queues}: not with --over rate (rate tables hold M/G/1 waits only)")
    if args.min_accuracy is None:
        raise UsageError("--over rate: needs --min-accuracy (the table gives P_lat at every rate)")
    if args.fleet < 1:
        raise UsageError(f"--fleet {args.fleet}: a number of sources >= 1")
    profile, topology, source, destination = load_models(args)
    load = Load(0.0, fleet=args.fleet)
    table = rate_table(profile, topology, load=load, low=low, high=high, source=source, destination=destination,
                       min_accuracy=args.min_accuracy, backend=args.backend)

    def plan_text(pt):
        if pt is None:
            return "none meets the bound"
        return "  ".join(f"{p + 1}-{q}@{topology.names[a]}"
                         for (p, q), a in zip(zip((0, *pt.partitions), pt.partitions), pt.placement))

    if args.json:
        print(json.dumps({"profile": profile.name, "topology": topology.names, "source": source,
                          "destination": destination, "fleet": load.fleet, "min_accuracy": args.min_accuracy,
                          "pieces": [{"low": x.low, "high": x.high, "certified": x.certified,
                                      "plan": None if x.point is None else x.point._asdict(),
                                      "then": None if x.then is None else x.then._asdict()} for x in table]},
                         indent=1))
        return 0
    print(f"P_lat under load, accuracy >= {args.min_accuracy}, rate {low:g} to {high:g} samples/s per source, "
          f"fleet {load.fleet} (docs/model.md \"Load\")")
    for x in table:
        if x.certified:
            print(f"  {x.low:.9g} .. {x.high:.9g}: {plan_text(x.point)}")
        else:
            print(f"  {x.low:.9g} .. {x.high:.9g}: the plan changes inside (from {plan_text(x.point)} to "
                  f"{plan_text(x.then)})")
    return 0


def _server_name(key: tuple, names: list) -> str:
    if key[0] == "tier":
        return f"{names[key[1]]} compute"
    return f"{key[0]} {'' if key[0] == 'route' else str(key[1]) + ' '}{names[key[-2]]} -> {names[key[-1]]}"


def write_load_frontier(path: str, frontier, load: Load) -> None:
    """The frontier under load as JSON or CSV, each row with the rate and fleet it holds for."""
    if path.endswith(".json"):
        text = json.dumps([r.to_dict(load) for r in frontier], indent=1) + "\n"
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        return
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["latency_ms", "accuracy", "threshold_index", "threshold", "partitions", "placement", "tiers",
                    "rate", "fleet"])
        for r in frontier:
            d = r.to_dict(load)
            w.writerow([repr(d["latency"] * 1e3), repr(d["accuracy"]), d["threshold_index"], repr(d["threshold"]),
                        " ".join(map(str, d["partitions"])), " ".join(map(str, d["placement"])),
                        " | ".join(d["tier_names"]), repr(load.rate), load.fleet])


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
            target = topology.tier(_tier(t), field="--over tier")
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


def cmd_plan_over(args, clock: Clock) -> int:
    """plan --over: the exact plan table of P_lat or P_acc over a range of one parameter."""
    if args.min_accuracy is None and args.max_latency_ms is None:
        raise UsageError("--over: give the bound, --min-accuracy (P_lat) or --max-latency-ms (P_acc)")
    if args.frontier_out:
        raise UsageError("--frontier-out: a plan table has no frontier to write; use --json for the table")
    profile, topology, source, destination = load_models(args)
    parameter, target, low, high = parse_over(args.over, topology)
    planner = Planner(profile, topology, source=source, destination=destination, backend=args.backend)
    bound = {"min_accuracy": args.min_accuracy} if args.min_accuracy is not None else \
        {"max_latency": args.max_latency_ms / 1e3}
    try:
        table = planner.plan_table(parameter, target, low, high, **bound, time_limit=clock.left())
    except TimeoutError:
        raise clock.timed_out() from None
    if args.plot:
        table.plot(args.plot, title=f"{profile.name} on {' - '.join(topology.names)}")
    code = EXIT_NO_PLAN if all(r.config is None for r in table.rows) else 0
    if args.json:
        print(json.dumps({"profile": profile.name, "topology": topology.names, "source": source,
                          "destination": destination, "thresholds": profile.thresholds.tolist(),
                          **table.to_dict()}, indent=1))
        return code
    print(f"profile {profile.name} (N={profile.N}, K={profile.K}) on {' - '.join(topology.names)}; "
          f"source {topology.names[source]}, destination {topology.names[destination]}")
    print(table)
    if code:
        print(f"none: no configuration meets the bound anywhere in the range (exit code {EXIT_NO_PLAN})")
    if args.plot:
        print(f"\nplot written to {args.plot}")
    return code


def write_frontier(path: str, frontier, quantile=None) -> None:
    """The frontier as JSON or CSV, written whole or not at all (an interruption leaves the old file).
    A quantile's frontier: the CSV's latency column is `latency_p99_ms` (the mean's beside it); an energy
    question's: an `energy_mj` column."""
    if path.endswith(".json"):
        text = json.dumps([p.to_dict() for p in frontier], indent=1) + "\n"
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    elif path.endswith(".csv"):
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            # Plans an energy question found carry their energy: an energy_mj column after the accuracy.
            energy = bool(frontier) and getattr(frontier[0], "energy", None) is not None
            tail = ["threshold_index", "threshold", "partitions", "placement", "tiers"]
            if quantile is None:
                w.writerow(["latency_ms", "accuracy", *(["energy_mj"] if energy else []), *tail])
            else:
                w.writerow([f"latency_{quantile_label(quantile)}_ms", "mean_latency_ms", "accuracy", *tail])
            for p in frontier:
                mean = [] if quantile is None else [repr(p.mean_latency * 1e3)]
                joules = [repr(p.energy * 1e3)] if energy else []
                w.writerow([repr(p.latency * 1e3), *mean, repr(p.accuracy), *joules, p.threshold_index,
                            repr(p.threshold), " ".join(map(str, p.partitions)), " ".join(map(str, p.placement)),
                            " | ".join(p.tier_names)])
    else:
        raise UsageError(f"--frontier-out {path!r}: the file name must end in .csv or .json")


def sweep_rows(tables, backend: str, max_latency, min_accuracy, max_memory: int, max_memory_gb: float,
               progress: bool = True, clock: Clock | None = None, quantile=None):
    """The backend's sweep one threshold at a time, with a progress bar; the rows as one SweepResult's
    columns, in the canonical order, identical to one sweep of every threshold. `clock`: --time-limit;
    `quantile`: latency (and max_latency) as that quantile."""
    from tqdm import tqdm

    module = get_backend(backend)
    per_threshold = count_configurations(tables.N, tables.M, 1)
    max_rows = max_memory // row_bytes(tables.N, tables.M)
    parts, kept = [], 0
    with tqdm(total=per_threshold * tables.K, unit=" configs", unit_scale=True, disable=None if progress else True,
              file=sys.stderr,
              desc=f"sweep ({backend})") as bar:
        for t in range(tables.K):
            one = tables._replace(cum_exit=tables.cum_exit[t:t + 1], accuracy=tables.accuracy_row(t))
            limit = {} if clock is None or clock.seconds is None else {"time_limit": clock.left()}
            if quantile is not None:
                limit["quantile"] = quantile
            try:
                cols = dict(module.sweep(one, max_latency=max_latency, min_accuracy=min_accuracy,
                                         max_rows=max_rows - kept, **limit))
            except TimeoutError:
                raise clock.timed_out() from None
            except RowLimitError:
                raise UsageError(f"the sweep would keep more than {max_rows:,} rows, more than --max-memory-gb "
                                 f"{max_memory_gb:g} holds: tighten --max-latency-ms / --min-accuracy or raise "
                                 "--max-memory-gb") from None
            cols.pop("stats", None)
            cols["threshold_index"] = np.asarray(cols["threshold_index"], dtype=np.int32) + np.int32(t)
            kept += len(cols["latency"])
            parts.append(cols)
            bar.update(per_threshold)
    return {key: np.concatenate([np.asarray(p.pop(key)) for p in parts]) for key in list(parts[0])}


def cmd_sweep(args) -> int:
    if not args.out.endswith((".csv", ".npz", ".parquet")):
        raise UsageError(f"--out {args.out!r}: the file name must end in .csv, .npz or .parquet")
    if args.out.endswith(".parquet"):
        require("pyarrow", what="eepart sweep --out FILE.parquet")
    writable("--out", args.out)
    max_memory = int(args.max_memory_gb * 1024**3)
    profile, topology, source, destination = load_models(args)
    max_latency = math.inf if args.max_latency_ms is None else args.max_latency_ms / 1e3
    min_accuracy = -math.inf if args.min_accuracy is None else args.min_accuracy
    tables = cost_tables(profile, topology, source=source, destination=destination)
    name = resolve(args.backend, "sweep")
    columns = sweep_rows(tables, name, max_latency, min_accuracy, max_memory, args.max_memory_gb, args.progress,
                         Clock(args.time_limit), args.quantile)
    rows = SweepResult(columns, profile.thresholds, topology.names, quantile=args.quantile, backend=name, tables=tables)
    rows.save(args.out, progress=None if args.progress else False)
    stat = "" if args.quantile is None else f", latency as {rows.latency_statistic}"
    print(f"{len(rows):,} rows written to {args.out} (backend {rows.backend}{stat})")
    return 0


def cmd_study(args) -> int:
    require(*STUDY_NEEDS, what="eepart study")
    from ..study import StudyFailed, load_study, run_study

    for flag, value in (("--workers", args.workers), ("--threads", args.threads)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} {value}: must be >= 1")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size {args.batch_size}: must be >= 1")
    if not 0 < args.stall_timeout < float("inf"):
        raise UsageError(f"--stall-timeout {args.stall_timeout}: must be a finite number of seconds > 0")
    spec = load_study(args.file)
    print(f"study {spec.name}: {spec.scenarios:,} scenarios ({', '.join(spec.compute)}) into {args.out}", flush=True)
    try:
        result = run_study(spec, args.out, scheduler=args.scheduler, workers=args.workers,
                           threads=args.threads, batch_size=args.batch_size,
                           progress=None if args.progress else False, overwrite=args.overwrite,
                           stall_timeout=args.stall_timeout)
    except StudyFailed as exc:
        print(f"eepart: error: {exc}", file=sys.stderr)
        return 1
    print(f"{result.ran:,} scenarios run, {result.skipped:,} already written; {result.rows:,} rows in "
          f"{result.files} files ({result.bytes / 1e6:.1f} MB) in {result.seconds:.1f} s")
    return 0


def cmd_backends(args) -> int:
    for name, info in backends().items():
        # The reason only where it says more than the status ("available" twice read as a stutter).
        reason = "" if info["reason"].strip().lower() in ("available", "always available") else info["reason"]
        auto = f"  [auto for {', '.join(info['auto_for'])}]" if info.get("auto_for") else ""
        print(f"{name:6s} {'available' if info['available'] else 'unavailable':11s}  {reason}{auto}".rstrip())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `eepart` command's parser: every subcommand and flag, registered without any optional extra.

    docs/cli.md is generated from it (docs/hooks.py). Latencies on the command line are in milliseconds
    and memory in GiB, as each flag's help says; the Python API takes seconds and bytes.

    Returns
    -------
    Parser
        An ``argparse.ArgumentParser`` whose errors are one line with exit code 2.

    Examples
    --------
    >>> from eepart_fast.cli import build_parser
    >>> args = build_parser().parse_args(["plan", "--topology", "iot", "--max-latency-ms", "150"])
    >>> args.command, args.topology, args.max_latency_ms
    ('plan', 'iot', 150.0)
    >>> build_parser().parse_args(["sweep", "--out", "rows.csv", "--no-progress"]).progress
    False
    """
    parser = Parser(
        prog="eepart", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Plan DNN partitioning with early exit across device, edge and cloud tiers "
                    "(the performance model of Ebrahimi et al., EdgeSys'22).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    plan = sub.add_parser("plan", help="exact Pareto frontier and the best plan under a bound",
                          description="Finds the exact Pareto frontier of (latency, accuracy) over every threshold, "
                                      "partitioning and placement, and the best plan under one bound (or, with "
                                      "--objective energy, the least-energy plan under both).")
    _model_args(plan)
    _bounds(plan, exclusive=False)
    plan.add_argument("--objective", choices=["latency", "accuracy", "energy"],
                      help="what the best plan optimises: latency (the fastest with --min-accuracy; the default "
                           "with it), accuracy (the most accurate with --max-latency-ms; the default with it) or "
                           "energy (the least energy per sample with --min-accuracy and/or --max-latency-ms)")
    plan.add_argument("--max-energy-mj", type=positive_arg, metavar="E",
                      help="keep plans spending at most E millijoules per sample (the Python API's max_energy is "
                           "in joules), counting --energy-tiers; the topology's powers and radios give the energy "
                           "(the mobile-energy preset has published ones)")
    plan.add_argument("--energy-tiers", default="source", metavar="source|all|TIERS",
                      help="whose energy counts with --max-energy-mj or --objective energy: source (the device's "
                           "battery, default), all (the system), or tiers by name or index, comma separated")
    plan.add_argument("--plot", metavar="OUT.png", help="draw the configurations and the frontier (paper Fig. 4)")
    plan.add_argument("--json", action="store_true", help="print JSON instead of tables")
    plan.add_argument("--frontier-out", metavar="FILE.csv|FILE.json", help="write the frontier to a file")
    plan.add_argument("--over", metavar="KIND:TARGET:LOW:HIGH",
                      help="the exact plan table over a range: bandwidth:LINK:LOW:HIGH (bit/s; k, M, G allowed), "
                           "latency:LINK:LOW:HIGH (ms), ratio:TIER:LOW:HIGH or scale:LOW:HIGH (every bandwidth "
                           "times a factor); LINK is a link index or its two tiers 'a,b'. Needs a bound; --plot "
                           "draws the table. rate:LOW:HIGH (samples/s per source, with --min-accuracy): P_lat "
                           "under load at every rate, changes of plan bracketed")
    plan.add_argument("--frontier", type=frontier_arg, default=FRONTIER_ROWS, metavar="N|all",
                      help=f"frontier points to print, evenly spaced (default: {FRONTIER_ROWS}; all: every point)")
    g = plan.add_argument_group("load (docs/model.md \"Load\")")
    g.add_argument("--rate", type=nonnegative_arg, metavar="R",
                   help="samples per second from each source (Poisson): plan under load, each tier a queue "
                        "(M/G/1 waits); the latency bound is on the mean")
    g.add_argument("--fleet", type=int, default=1, metavar="F",
                   help="with --rate: identical sources sharing every tier but their own (default 1)")
    g.add_argument("--link-queues", action="store_true",
                   help="with --rate: links queue too, one server per link and direction (a slower exact search)")
    g.add_argument("--queues", choices=("mg1", "qna"), default="mg1",
                   help="with --rate: each server M/G/1 (default), or qna: the arrivals' variability carried from "
                        "server to server along the plan (Whitt's QNA; a slower exact search in Python)")
    _time_limit(plan, "the searches")
    plan.set_defaults(run=cmd_plan)

    sw = sub.add_parser("sweep", help="evaluate every configuration and write the kept rows",
                        description="Evaluates every configuration of the model and writes the rows meeting the "
                                    "bounds.")
    _model_args(sw)
    _bounds(sw, exclusive=False)
    sw.add_argument("--out", required=True, metavar="FILE.csv|FILE.npz|FILE.parquet",
                    help="where to write the rows (the file appears only once complete)")
    add_progress(sw)
    sw.add_argument("--max-memory-gb", type=memory_arg, default=DEFAULT_MAX_MEMORY / 1024**3, metavar="GB",
                    help="cap on the kept rows' memory in GiB, 2^30 bytes (the Python API's max_memory is in "
                         "bytes; default %(default)g)")
    _time_limit(sw, "the sweep")
    sw.set_defaults(run=cmd_sweep)

    st = sub.add_parser("study", help="run a study file's scenarios on Dask into a Parquet dataset",
                        description="Runs every scenario of a study file (docs/studies.md) on Dask and writes "
                                    "the results as a Parquet dataset; run it again to resume after a failure.")
    st.add_argument("file", metavar="STUDY.yaml", help="the study file")
    st.add_argument("--out", required=True, metavar="DIR", help="result folder (shared by every worker)")
    st.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="a running Dask scheduler (default: a local "
                    "cluster of worker processes on this machine)")
    st.add_argument("--workers", type=int, metavar="N", help="local cluster: worker processes (default: one per core)")
    st.add_argument("--threads", type=int, metavar="N", help="local cluster: threads per worker (default 1)")
    st.add_argument("--batch-size", type=int, metavar="N", help="scenarios per task (default: sized to the work)")
    st.add_argument("--overwrite", action="store_true", help="replace another study's results in DIR")
    st.add_argument("--stall-timeout", type=float, default=600.0, metavar="S",
                    help="stop when no task has finished for S seconds (workers that never come up); default 600")
    add_progress(st, "no progress bar")
    st.set_defaults(run=cmd_study)

    be = sub.add_parser("backends", help="list the engine backends and whether each can run here")
    be.set_defaults(run=cmd_backends)

    # Registered without importing torch, onnx, onnxruntime or pyzmq (cli/nn.py and cli/runtime.py import
    # none of them): each command checks for what it needs when it runs, so every --help works on a bare
    # install.
    add_training_subcommands(sub)
    add_runtime_subcommands(sub)
    return parser


def one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(args=None) -> int:
    """Run the `eepart` command: parse `args`, run the subcommand, and return its exit code.

    Every error is one line on stderr and exit code 2 (bad input or a limit reached); 3 when `plan` finds
    no configuration meeting the bound; 130 when interrupted.

    Parameters
    ----------
    args : list of str, optional
        The command line without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code.

    Examples
    --------
    >>> from eepart_fast.cli import main
    >>> main(["plan", "--topology", "iot", "--min-accuracy", "0.9", "--frontier", "0"])  # doctest: +ELLIPSIS
    profile resnet20-fashionmnist (N=..., K=...) on ...
    <BLANKLINE>
    best plan under accuracy >= 0.9:
    ...
    0
    """
    argv = sys.argv[1:] if args is None else list(args)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error, already printed in one line (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # overflows are refused with their place
            return args.run(args) or 0
    except BrokenPipeError:
        # The reader (say `| head`) has gone: stop quietly, as other command-line tools do.
        sys.stdout = open(os.devnull, "w")
        return 0
    except MissingExtra as exc:
        print(f"eepart: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:
        # A module that require() found but that fails to import: still one line, naming the extra.
        extra = extra_of(exc)
        if extra is None:
            raise
        print(f"eepart {args.command}: error: {one_line(exc)} (pip install 'eepart_fast[{extra}]')", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, ValueError, TypeError, OSError, OverflowError) as exc:  # OSError: TimeoutError too
        print(f"eepart: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except RecursionError:
        print("eepart: error: input nested too deeply", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("eepart: error: out of memory: the model is too large for this machine (tighten the bounds or "
              "use a smaller model)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("eepart: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
