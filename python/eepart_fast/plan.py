"""Plans: the Pareto frontier and the two problems of docs/model.md (P_lat, P_acc) by exact search, and a
Planner that re-plans when the network moves without rebuilding what did not change.

    planner = Planner(profile, Topology.preset("mobile"))
    best = planner.min_latency(0.9)          # P_lat: fastest plan with accuracy >= 0.9, or None
    planner.set_bandwidth(1, 5e6)            # the phone's 4G link drops to 5 Mbit/s
    best = planner.min_latency(0.9)          # re-planned on the new link

Thread safety: a Planner may be shared by threads. Its state (models, tables, answers) is an immutable
snapshot; `set_*` build a new snapshot under a lock and swap it in with one assignment. A search reads
the snapshot current when it starts and stores its answer in that snapshot's cache only, so an answer is
never filed under a network state it was not computed on.
"""
from __future__ import annotations

import math
import numbers
import threading

import numpy as np

from . import _core
from ._checks import finite_costs
from ._checks import time_limit as check_time_limit
from .backends import get_backend, resolve
from .frontier import frontier_indices
from .profile import Profile
from .quantile import check_quantile, quantile_label
from .tables import (
    CostTables,
    block_sums,
    check_tables,
    compute_row,
    compute_table,
    forward_table,
    input_table,
    measured_tiers,
    result_table,
    serialisation,
)
from .topology import Topology

__all__ = ["Plan", "Planner", "pareto", "min_latency", "max_accuracy", "breakdown"]


def breakdown(tables: CostTables, t: int, P, A) -> dict:
    """One configuration's latency split into the engine form's terms, read from the cost tables: the
    input's trip, then per partition its fractions and its compute, forward and result latency (s)."""
    c = tables.cum_exit[t]
    acc = tables.accuracy_row(t)
    L = len(P)
    input_latency = float(tables.input_cost[A[0]])
    parts, latency, accuracy = [], input_latency, 0.0
    for k in range(L):
        p, q, a = (P[k - 1] if k else 0), P[k], A[k]
        last = k == L - 1
        in_k = 1.0 - c[p]
        E_k = 1.0 - c[p] if last else c[q] - c[p]
        S_k = 0.0 if last else 1.0 - c[q]
        comp = in_k * tables.compute_cost[a, p, q]
        forward = 0.0 if last else S_k * tables.forward_cost[q - 1, a, A[k + 1]]
        result = E_k * tables.result_cost[a]
        latency += comp + result + forward
        accuracy += acc[q - 1] * E_k
        parts.append({"blocks": (p + 1, q), "tier": int(a), "entering": float(in_k), "exit": float(E_k),
                      "stay": float(S_k), "compute": float(comp), "forward": float(forward), "result": float(result)})
    return {"input": input_latency, "partitions": parts, "latency": latency, "accuracy": accuracy}


def _frozen(tables: CostTables) -> CostTables:
    """The Planner's own tables made read-only: a snapshot is shared by threads and never written."""
    for a in tables:
        a.flags.writeable = False
    return tables


class _State:
    """One network state: the models (None when planned on bare CostTables), the tables, and the answers
    found on them. Never changed once built, except its answer cache (guarded by its own lock)."""

    __slots__ = ("profile", "topology", "source", "destination", "tables", "names", "thresholds", "base",
                 "version", "_cache", "_lock")

    def __init__(self, profile, topology, source, destination, tables, base=None, version=0):
        self.profile, self.topology = profile, topology
        self.source, self.destination = source, destination
        self.tables = tables
        self.names = list(topology.names) if topology is not None else [f"tier {j}" for j in range(tables.M)]
        self.thresholds = profile.thresholds if profile is not None else None
        self.base = base
        self.version = version  # the Planner's count of changes when this state was made
        self._cache: dict = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, profile, topology, source, destination) -> "_State":
        """Every table derived from the models by the fillers of tables.py."""
        source, destination = topology.tier(source, "source"), topology.tier(destination, "destination")
        base = block_sums(profile)
        tables = CostTables(input_table(profile, topology, source), compute_table(profile, topology, base),
                            forward_table(profile, topology), result_table(profile, topology, destination),
                            profile.cum_exit(), profile.accuracy.copy())
        return cls(profile, topology, source, destination, _frozen(tables), base)

    def derive(self, topology=None, source=None, destination=None, compute=None, moves=None) -> "_State":
        """A new state with some models changed: `compute` / `moves` say which tables to re-derive
        ("all" or a list of tiers for compute; a set of "input", "forward", "result" for moves)."""
        topo = self.topology if topology is None else topology
        src = self.source if source is None else source
        dst = self.destination if destination is None else destination
        t = self.tables
        comp = t.compute_cost
        if compute == "all":
            comp = compute_table(self.profile, topo, self.base)
        elif compute:
            comp = comp.copy()  # never written in place: other threads may be reading the old one
            for a in compute:
                comp[a] = compute_row(self.profile, topo, a, self.base)
        moves = moves or set()
        ser = serialisation(self.profile, topo) if moves else None
        tables = CostTables(input_table(self.profile, topo, src, ser) if "input" in moves else t.input_cost, comp,
                            forward_table(self.profile, topo, ser) if "forward" in moves else t.forward_cost,
                            result_table(self.profile, topo, dst, ser) if "result" in moves else t.result_cost,
                            t.cum_exit, t.accuracy)
        return _State(self.profile, topo, src, dst, _frozen(tables), self.base, self.version + 1)

    def cached(self, key):
        with self._lock:
            return self._cache.get(key)

    def store(self, key, value):
        with self._lock:
            if key not in self._cache and len(self._cache) >= 32:  # many bounds asked: keep the latest only
                del self._cache[next(iter(self._cache))]
            return self._cache.setdefault(key, value)


# The quantiles every Plan shows (Plan.quantiles): name -> q.
SHOWN_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}


class Plan:
    """One configuration (t, P, A) with its latency (s) and accuracy, and a per-partition breakdown read
    from the cost tables it was planned on.

    `latency` is the statistic the plan was searched for: the mean over samples, or with `quantile` = q
    (a plan found by a quantile search) the q-quantile. Whichever it is, `mean_latency` is the mean,
    `latency_quantile(q)` any quantile, `quantiles` the p50, p90, p99 and max, and `exit_latencies` the
    distribution they are read from: per partition exit, its latency and the share of samples leaving
    there (docs/model.md "Tail latency").

    `partitions` are end blocks P_1 < ... < P_L, `placement` the tier index of each partition,
    `tier_names` their names. `breakdown` lists, per partition: blocks (first, last), tier, tier_name,
    the entering, exit and stay fractions, and its compute, forward and result latency (s);
    `input_latency` is the input's trip from the source to the first tier. `threshold` is None when the
    plan was made on bare CostTables (no profile to name the thresholds).
    """

    __slots__ = ("latency", "accuracy", "threshold_index", "threshold", "partitions", "placement", "tier_names",
                 "source", "destination", "quantile", "_state", "_breakdown", "_exits", "_mean")

    def __init__(self, latency, accuracy, threshold_index, partitions, placement, profile, topology=None, source=0,
                 destination=0, quantile=None):
        # `profile` may be the planner's state (its snapshot); otherwise the models, as users call it.
        state = profile if isinstance(profile, _State) else _State.of(profile, topology, source, destination)
        self.latency = float(latency)
        self.accuracy = float(accuracy)
        self.threshold_index = int(threshold_index)
        th = state.thresholds
        self.threshold = None if th is None else float(th[self.threshold_index])
        self.partitions = tuple(map(int, partitions))
        self.placement = tuple(map(int, placement))
        self.tier_names = tuple(state.names[a] for a in self.placement)
        self.source = int(state.source) if state.source is not None else None
        self.destination = int(state.destination) if state.destination is not None else None
        self.quantile = None if quantile is None else check_quantile(quantile)
        self._state = state
        self._breakdown = None
        self._exits = None
        self._mean = None

    @property
    def num_partitions(self) -> int:
        return len(self.partitions)

    @property
    def topology(self) -> Topology | None:
        """The topology this plan was planned on (a Planner's later changes do not touch it)."""
        return self._state.topology

    @property
    def profile(self) -> Profile | None:
        return self._state.profile

    @property
    def tables(self) -> CostTables:
        """The cost tables this plan was planned on."""
        return self._state.tables

    def config(self) -> tuple:
        """(t, P, A), as `evaluate` takes it."""
        return self.threshold_index, self.partitions, self.placement

    def optimal_range(self, table, value=None):
        """From a PlanTable (Planner.plan_table): the widest range of the table's parameter around `value`
        (default: this plan's own network's value) over which this plan stays optimal, as (low, high), or
        None if the table's plan there is another."""
        return table.optimal_range(self, value)

    def _details(self) -> dict:
        if self._breakdown is None:
            d = breakdown(self._state.tables, self.threshold_index, self.partitions, self.placement)
            for k, part in enumerate(d["partitions"]):
                part["tier_name"] = self._state.names[part["tier"]]
                part["to_tier"] = self.placement[k + 1] if k + 1 < self.num_partitions else None
            self._breakdown = d
        return self._breakdown

    @property
    def breakdown(self) -> list:
        return self._details()["partitions"]

    @property
    def input_latency(self) -> float:
        return self._details()["input"]

    @property
    def latency_statistic(self) -> str:
        """What `latency` is: "mean", or the quantile searched for ("p99")."""
        return quantile_label(self.quantile)

    def _config_arrays(self):
        return (np.array([self.threshold_index]), np.array([self.num_partitions]), np.array([self.partitions]),
                np.array([self.placement]))

    def _exit_arrays(self):
        if self._exits is None:
            from .reference import exit_latencies

            self._exits = exit_latencies(self._state.tables, *self._config_arrays())
        return self._exits

    @property
    def exit_latencies(self) -> list:
        """Per partition exit k: `latency` (s), the end-to-end time of a sample leaving there, and `share`,
        the fraction of samples that do (E_k), with its blocks and tier."""
        ell, share = self._exit_arrays()
        return [{"blocks": b["blocks"], "tier": b["tier"], "tier_name": b["tier_name"],
                 "latency": float(ell[0, k]), "share": float(share[0, k])} for k, b in enumerate(self.breakdown)]

    @property
    def mean_latency(self) -> float:
        """The mean latency (s) over samples: `latency` itself for a plan of the mean."""
        if self.quantile is None:
            return self.latency
        if self._mean is None:
            from .reference import evaluate

            self._mean = float(evaluate(self._state.tables, *self._config_arrays())[0][0])
        return self._mean

    def latency_quantile(self, q) -> float:
        """The q-quantile (s) of this plan's latency over samples, q in (0, 1] (0.99: p99)."""
        from .reference import quantile_of_exits

        q = check_quantile(q)
        ell, share = self._exit_arrays()
        return float(quantile_of_exits(ell, share, [self.num_partitions], q)[0])

    @property
    def quantiles(self) -> dict:
        """{"p50", "p90", "p99", "max"}: those quantiles (s) of this plan's latency."""
        return {name: self.latency_quantile(q) for name, q in SHOWN_QUANTILES.items()}

    def record_quantiles(self, records, quantiles=(0.5, 0.9, 0.99, 1.0)) -> dict:
        """Quantiles (s) of this plan's latency over the profiler's recorded runs (`records`: a dict from
        nn.records.load_records, or a <name>.samples.npz path): each step at each run's own time, not at
        the profile's one statistic (docs/model.md "From the records"). Needs the plan's profile and
        topology (not bare CostTables)."""
        from .tail import record_quantiles

        if self.profile is None or self.topology is None:
            raise ValueError("record_quantiles: this plan was made from CostTables; it needs a profile and a topology")
        qs = list(quantiles)
        values = record_quantiles(self.profile, self.topology, [self.config()], records, qs, self.source,
                                  self.destination)[0]
        return {q: float(v) for q, v in zip(qs, values)}

    def _end(self, j):
        return None if j is None else self._state.names[j]

    def to_dict(self) -> dict:
        """Plain JSON-able values: seconds, fractions, indices and names."""
        parts = [{"blocks": list(b["blocks"]), "tier": int(b["tier"]), "tier_name": b["tier_name"],
                  "entering": b["entering"], "exit": b["exit"], "stay": b["stay"],
                  "compute": b["compute"], "forward": b["forward"], "result": b["result"]}
                 for b in self.breakdown]
        exits = [{"latency": e["latency"], "share": e["share"]} for e in self.exit_latencies]
        return {"latency": self.latency, "accuracy": self.accuracy, "threshold_index": self.threshold_index,
                "threshold": self.threshold, "partitions": list(self.partitions), "placement": list(self.placement),
                "tier_names": list(self.tier_names), "source": self._end(self.source),
                "destination": self._end(self.destination), "input_latency": float(self.input_latency),
                "breakdown": parts, "latency_statistic": self.latency_statistic, "quantile": self.quantile,
                "mean_latency": self.mean_latency, "quantiles": self.quantiles, "exit_latencies": exits}

    def __str__(self) -> str:
        names = self._state.names
        th = f"threshold {self.threshold:g} (index {self.threshold_index})" if self.threshold is not None else \
            f"threshold index {self.threshold_index}"
        ends = "" if self.source is None else \
            f"; samples from {names[self.source]}, results to {names[self.destination]}"
        first = "the source" if self.source is None else names[self.source]
        if self.quantile is None:
            latency = f"latency {self.latency * 1e3:.3f} ms (p99 {self.latency_quantile(0.99) * 1e3:.3f} ms)"
        else:
            other = "" if self.quantile == 0.99 else f", p99 {self.latency_quantile(0.99) * 1e3:.3f} ms"
            latency = (f"{self.latency_statistic} latency {self.latency * 1e3:.3f} ms "
                       f"(mean {self.mean_latency * 1e3:.3f} ms{other})")
        lines = [f"{latency}, accuracy {self.accuracy:.4f}, {th}{ends}",
                 f"  input {first} -> {self.tier_names[0]}: {self.input_latency * 1e3:.3f} ms"]
        for b in self.breakdown:
            first, last = b["blocks"]
            blocks = f"block {first}" if first == last else f"blocks {first}-{last}"
            fwd = "" if b["to_tier"] is None else f", forward to {names[b['to_tier']]} {b['forward'] * 1e3:.3f} ms"
            lines.append(f"  {blocks} on {b['tier_name']}: {b['entering']:.1%} enter, {b['exit']:.1%} exit, "
                         f"{b['stay']:.1%} go on; compute {b['compute'] * 1e3:.3f} ms{fwd}, "
                         f"result {b['result'] * 1e3:.3f} ms")
        return "\n".join(lines)

    def __repr__(self) -> str:
        stat = "" if self.quantile is None else f", quantile={self.quantile!r}"
        return (f"Plan(latency={self.latency!r}{stat}, accuracy={self.accuracy!r}, t={self.threshold_index}, "
                f"P={list(self.partitions)}, A={list(self.tier_names)})")


def _search_rows(backend: str, max_memory, state: _State, min_accuracy: float, max_latency: float,
                 time_limit: float = math.inf, quantile: float | None = None) -> dict:
    """One exact search on a snapshot's tables: the frontier's rows as columns (latency: the mean, or the
    `quantile`-quantile)."""
    module = get_backend(backend)
    extra = {} if max_memory is None else {"max_memory": max_memory}
    finite_costs(state.tables)  # the model's rule, on the snapshot searched, before any backend sees it
    rows = module.pareto(state.tables, min_accuracy=min_accuracy, max_latency=max_latency, time_limit=time_limit,
                         quantile=quantile, **extra)
    if backend not in ("cpu", "numpy"):
        # The frontier rule once more: idempotent on a correct frontier (cpu and numpy apply it).
        idx = frontier_indices(rows["latency"], rows["accuracy"])
        rows = {k: np.asarray(v)[idx] for k, v in rows.items() if k != "stats"}
    return {k: np.asarray(v) for k, v in rows.items() if k != "stats"}


class _Frontier:
    """A backend's frontier rows, made into Plans only when asked for (P_lat and P_acc need one)."""

    def __init__(self, rows: dict, state: _State, quantile: float | None = None):
        self._rows = {k: np.asarray(v) for k, v in rows.items() if k != "stats"}
        self._state = state
        self._quantile = quantile
        self._plans: dict = {}  # filled lazily; two threads making the same Plan make equal ones
        self._n = int(self._rows["latency"].shape[0])

    def __len__(self) -> int:
        return self._n

    def plan(self, i: int) -> Plan:
        if i not in self._plans:
            r = self._rows
            L = int(r["num_partitions"][i])
            self._plans[i] = Plan(r["latency"][i], r["accuracy"][i], r["threshold_index"][i],
                                  r["partitions"][i, :L].tolist(), r["placement"][i, :L].tolist(), self._state,
                                  quantile=self._quantile)
        return self._plans[i]

    def plans(self) -> list:
        if len(self._plans) < self._n:
            r = self._rows
            columns = zip(*(r[k].tolist() for k in ("latency", "accuracy", "threshold_index", "num_partitions",
                                                    "partitions", "placement")))
            for i, (lat, acc, t, L, P, A) in enumerate(columns):
                if i not in self._plans:
                    self._plans[i] = Plan(lat, acc, t, P[:L], A[:L], self._state, quantile=self._quantile)
        return [self._plans[i] for i in range(self._n)]


def _bound(name: str, value, huge_is_infinite: bool = True) -> float:
    """A bound (or a network value) as a float. An integer beyond float64's range (10**400) is, as a bound,
    the infinity of its sign: it compares with every latency and accuracy exactly as that infinity does
    (max_latency=10**400: no latency bound; min_accuracy=10**400: no plan). Where it is a value of the
    network (`huge_is_infinite` False: set_bandwidth, set_latency, set_ratio) it is refused by name."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:
        if not huge_is_infinite:
            raise ValueError(f"{name} = an integer of {len(str(abs(int(value))))} digits: too large for a "
                             "float64") from None
        value = math.inf if value > 0 else -math.inf
    if math.isnan(value):
        raise ValueError(f"{name} = nan: must be a number")
    return value


class Planner:
    """Builds the cost tables once and answers the frontier, P_lat and P_acc on them; `set_*` change one
    part of the network and re-derive only the tables that depend on it. Answers are cached per state.

    `Planner(profile, topology, ...)` derives the tables with the fillers of tables.py (measured compute,
    serialisation, routes: whatever the models carry); `Planner(tables)` plans on a CostTables of one's
    own (then only `set_tables` changes it). Tiers may be given by index or name everywhere. `tables` is
    the current CostTables; its arrays are never changed in place. `max_memory` (bytes) caps the search's
    partial plans where the backend takes it (cpu: 2 GiB unless given); passing it is a ValueError.

    Every question takes `quantile` (None: the mean latency; q in (0, 1]: its q-quantile, 0.99 for p99,
    docs/model.md "Tail latency"): the plans' latency and the latency bound are then that quantile, and
    the answers are cached per quantile.

    Safe to share between threads: see the module's docstring.
    """

    def __init__(self, profile, topology: Topology | None = None, source=0, destination=0, backend: str = "auto",
                 max_memory: int | None = None):
        self.backend = resolve(backend, "pareto")
        self.max_memory = None if max_memory is None else _core.check_max_memory(max_memory)
        self._write = threading.Lock()  # one change at a time; readers never wait for it
        if isinstance(profile, CostTables):
            if topology is not None:
                raise TypeError("topology: not used when planning on CostTables (the tables hold the routes)")
            self._state = _State(None, None, None, None, check_tables(profile))
            return
        if not isinstance(profile, Profile):
            raise TypeError(f"profile: expected a Profile or CostTables, got {type(profile).__name__}")
        if not isinstance(topology, Topology):
            raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
        self._state = _State.of(profile, topology, source, destination)

    # --- the models (of the current state) -------------------------------------------------------

    @property
    def profile(self) -> Profile | None:
        return self._state.profile

    @property
    def topology(self) -> Topology | None:
        return self._state.topology

    @property
    def source(self) -> int | None:
        return self._state.source

    @property
    def destination(self) -> int | None:
        return self._state.destination

    @property
    def tables(self) -> CostTables:
        return self._state.tables

    @property
    def version(self) -> int:
        """How many changes (`set_*`) this Planner has taken: a plan made at version v answers for the
        network as it was after the v-th change."""
        return self._state.version

    # --- the three questions ----------------------------------------------------------------------

    def _search(self, min_accuracy: float, max_latency: float, time_limit, quantile=None) -> "_Frontier":
        time_limit = check_time_limit(time_limit)
        quantile = None if quantile is None else check_quantile(quantile)
        state = self._state  # one read: everything below works on this snapshot
        key = (min_accuracy, max_latency, quantile)  # a mean's answer is never served for a quantile's
        found = state.cached(key)
        if found is not None:
            return found
        rows = _search_rows(self.backend, self.max_memory, state, min_accuracy, max_latency, time_limit, quantile)
        return state.store(key, _Frontier(rows, state, quantile))

    # Each question takes `time_limit` (seconds, None: none): a search still running past it stops with
    # TimeoutError, and nothing is cached. An answer already cached is returned whatever the limit.

    def pareto(self, time_limit=None, quantile=None) -> list:
        """The Pareto frontier: one Plan per point, latency and accuracy rising (latency: the mean, or the
        `quantile`-quantile)."""
        return self._search(-math.inf, math.inf, time_limit, quantile).plans()

    def min_latency(self, min_accuracy, time_limit=None, quantile=None) -> Plan | None:
        """P_lat: the fastest plan with accuracy >= min_accuracy, or None when none reaches it; fastest by
        the mean, or by the `quantile`-quantile (0.99: the least p99). An integer min_accuracy too large for
        a float (10**400) is +inf (no plan), as it compares; -10**400 is -inf (no bound)."""
        front = self._search(_bound("min_accuracy", min_accuracy), math.inf, time_limit, quantile)
        return front.plan(0) if len(front) else None

    def max_accuracy(self, max_latency, time_limit=None, quantile=None) -> Plan | None:
        """P_acc: the most accurate plan with latency <= max_latency (s), or None when none is that fast;
        with `quantile` = q the bound is on the q-quantile (0.99: p99 <= max_latency). An integer
        max_latency too large for a float (10**400) is +inf (no latency bound), as it compares."""
        front = self._search(-math.inf, _bound("max_latency", max_latency), time_limit, quantile)
        return front.plan(len(front) - 1) if len(front) else None

    def plan_table(self, parameter: str, target=None, low=None, high=None, *, min_accuracy=None,
                   max_latency=None, time_limit=None, quantile=None):
        """The exact optimal plan of P_lat (`min_accuracy`) or P_acc (`max_latency`, s) over a range of one
        network parameter, as a PlanTable: intervals with their plan, and the breakpoints between them.

        `parameter`: "bandwidth" of a link (bit/s), "latency" of a link (s), "ratio" of a tier, or "scale"
        (every bandwidth times a factor; target None). `target` names the link as set_bandwidth does, or
        the tier. [low, high] is the range in the parameter's unit. The searches it took are
        `table.searches`, proportional to the breakpoints (docs/model.md "Plans over a range"). The
        Planner is not changed; safe to call from several threads. `time_limit` (seconds, None: none) is
        for the whole table: each search gets what is left of it.

        Plan tables are for the mean latency only: a quantile is the latency of one exit, which changes
        with the parameter, so it is only piecewise affine in a link's parameter and the table's exact
        breakpoint rule does not hold for it. `quantile` other than None: ValueError.

        The bound and the range's ends are finite numbers: an integer too large for a float64 (10**400) is
        refused by name (ValueError), as is inf (a plan table with no bound is one plan: use max_accuracy).
        A range one ulp wide, or of zero width (low == high), is one row: the plan optimal at that value."""
        from .plantable import build

        if quantile is not None:
            raise ValueError(f"quantile = {quantile!r}: plan tables are for the mean latency only (a quantile "
                             "is only piecewise affine in a parameter); re-plan with quantile at each value instead")

        return build(self, parameter, target, low, high, min_accuracy=min_accuracy, max_latency=max_latency,
                     time_limit=time_limit)

    # --- re-planning ------------------------------------------------------------------------------

    def _models(self) -> _State:
        state = self._state
        if state.topology is None:
            raise ValueError("this Planner plans on CostTables: there is no topology to change; "
                             "give it new tables with set_tables")
        return state

    def _set_link(self, link, field: str, value) -> None:
        value = _bound(field, value, huge_is_infinite=False)
        with self._write:
            state = self._models()
            topology = state.topology.with_link(link, **{field: value})
            self._state = state.derive(topology, moves={"input", "forward", "result"})

    def set_bandwidth(self, link, bits_per_s) -> None:
        """A link's bandwidth (bit/s): a chain's link index j or (a, b); a graph's link index or its two
        tiers; for a topology given as routes, the route a <-> b. Re-derives the move tables only."""
        self._set_link(link, "bandwidth", bits_per_s)

    def set_latency(self, link, seconds) -> None:
        """A link's propagation latency (s), as set_bandwidth names it. Re-derives the move tables only."""
        self._set_link(link, "latency", seconds)

    def set_ratio(self, tier, ratio) -> None:
        """How many times slower than the reference device `tier` computes. Re-derives its compute row only
        (into a new table: the old one may still be read by a running search)."""
        ratio = _bound("ratio", ratio, huge_is_infinite=False)
        with self._write:
            state = self._models()
            a = state.topology.tier(tier, "tier")
            if a in measured_tiers(state.profile, state.topology):
                raise ValueError(f"tier {state.topology.names[a]!r} computes with device "
                                 f"{state.topology.devices[a]!r}'s own measurements; its ratio is not used")
            self._state = state.derive(state.topology.with_ratio(a, ratio), compute=[a])

    def set_destination(self, tier) -> None:
        """Where results must arrive. Re-derives the result table only."""
        with self._write:
            state = self._models()
            self._state = state.derive(destination=state.topology.tier(tier, "destination"), moves={"result"})

    def set_source(self, tier) -> None:
        """Where samples are produced. Re-derives the input table only."""
        with self._write:
            state = self._models()
            self._state = state.derive(source=state.topology.tier(tier, "source"), moves={"input"})

    def set_topology(self, topology: Topology) -> None:
        """A new topology altogether (source and destination keep their indices)."""
        if not isinstance(topology, Topology):
            raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
        with self._write:
            state = self._models()
            topology.tier(state.source, "source")
            topology.tier(state.destination, "destination")
            self._state = state.derive(topology, compute="all", moves={"input", "forward", "result"})

    def set_tables(self, tables: CostTables) -> None:
        """New cost tables for a Planner made on CostTables."""
        tables = check_tables(tables)
        with self._write:
            if self._state.topology is not None:
                raise ValueError("this Planner derives its tables from a profile and a topology; change those")
            self._state = _State(None, None, None, None, tables, version=self._state.version + 1)

    def __repr__(self) -> str:
        s = self._state
        if s.topology is None:
            return f"Planner(CostTables N={s.tables.N}, M={s.tables.M}, K={s.tables.K}, backend={self.backend!r})"
        return (f"Planner(N={s.profile.N}, K={s.profile.K}, tiers={s.topology.names}, "
                f"source={s.source}, destination={s.destination}, backend={self.backend!r})")


def _models_and_value(profile, topology, value, field: str):
    """pareto / min_latency / max_accuracy take (profile, topology, ...) or (tables, ...): with tables, a
    bound given where the topology would go is the bound."""
    if isinstance(profile, CostTables) and topology is not None and not isinstance(topology, Topology):
        if value is not None:
            raise TypeError(f"{field}: given twice (with CostTables, the second argument is {field})")
        return None, topology
    return topology, value


def pareto(profile, topology: Topology | None = None, source=0, destination=0, backend: str = "auto",
           max_memory: int | None = None, time_limit=None, quantile=None) -> list:
    """The Pareto frontier as a list of Plans, latency rising (exact search), on (profile, topology) or on
    a CostTables. Past `time_limit` seconds (None: no limit) the search stops with TimeoutError. With
    `quantile` = q in (0, 1], the frontier of (q-quantile latency, accuracy)."""
    quantile = None if quantile is None else check_quantile(quantile)
    return Planner(profile, topology, source, destination, backend, max_memory).pareto(time_limit, quantile)


def min_latency(profile, topology: Topology | None = None, min_accuracy=None, source=0, destination=0,
                backend: str = "auto", max_memory: int | None = None, time_limit=None, quantile=None) -> Plan | None:
    """P_lat: the fastest plan with accuracy >= min_accuracy, or None; `min_latency(tables, 0.9)` works too.
    `time_limit` and `quantile` as for pareto."""
    quantile = None if quantile is None else check_quantile(quantile)
    topology, min_accuracy = _models_and_value(profile, topology, min_accuracy, "min_accuracy")
    if min_accuracy is None:
        raise TypeError("min_accuracy: required")
    planner = Planner(profile, topology, source, destination, backend, max_memory)
    return planner.min_latency(min_accuracy, time_limit, quantile)


def max_accuracy(profile, topology: Topology | None = None, max_latency=None, source=0, destination=0,
                 backend: str = "auto", max_memory: int | None = None, time_limit=None, quantile=None) -> Plan | None:
    """P_acc: the most accurate plan with latency <= max_latency (s), or None; `max_accuracy(tables, 0.1)` too.
    `time_limit` and `quantile` as for pareto (with a quantile, the bound is on it)."""
    quantile = None if quantile is None else check_quantile(quantile)
    topology, max_latency = _models_and_value(profile, topology, max_latency, "max_latency")
    if max_latency is None:
        raise TypeError("max_latency: required")
    planner = Planner(profile, topology, source, destination, backend, max_memory)
    return planner.max_accuracy(max_latency, time_limit, quantile)
