"""Plans: the Pareto frontier and the two problems of SPEC (P_lat, P_acc) by exact search, and a Planner
that re-plans when the network moves without rebuilding what did not change.

    planner = Planner(profile, Topology.preset("mobile"))
    best = planner.min_latency(0.9)          # P_lat: fastest plan with accuracy >= 0.9, or None
    planner.set_bandwidth(1, 5e6)            # the phone's 4G link drops to 5 Mbit/s
    best = planner.min_latency(0.9)          # re-planned on the new link
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._checks import finite_costs
from .backends import get_backend, resolve
from .frontier import frontier_indices
from .profile import Profile
from .reference import breakdown as reference_breakdown
from .tables import CostTables, block_sums, move_tables
from .topology import Topology

__all__ = ["Plan", "Planner", "pareto", "min_latency", "max_accuracy"]


class Plan:
    """One configuration (t, P, A) with its latency (s) and accuracy, and a per-partition breakdown
    computed from SPEC's formulas on the profile and topology it was planned on.

    `partitions` are block counts P_1 < ... < P_L, `placement` the tier index of each partition,
    `tier_names` their names. `breakdown` lists, per partition: blocks (first, last), tier, tier_name,
    the entering, exit and stay fractions, and its compute, forward and result latency (s);
    `input_latency` is the input's trip from the source to the first tier.
    """

    __slots__ = ("latency", "accuracy", "threshold_index", "threshold", "partitions", "placement", "tier_names",
                 "source", "destination", "_context", "_breakdown")

    def __init__(self, latency, accuracy, threshold_index, partitions, placement, profile, topology, source,
                 destination):
        self.latency = float(latency)
        self.accuracy = float(accuracy)
        self.threshold_index = int(threshold_index)
        self.threshold = float(profile.thresholds[self.threshold_index])
        self.partitions = tuple(map(int, partitions))
        self.placement = tuple(map(int, placement))
        self.tier_names = tuple(topology.names[a] for a in self.placement)
        self.source = int(source)
        self.destination = int(destination)
        # The models as they were when planned: a Planner replaces (never mutates) its topology.
        self._context = (profile, topology)
        self._breakdown = None

    @property
    def num_partitions(self) -> int:
        return len(self.partitions)

    def config(self) -> tuple:
        """(t, P, A), as `evaluate` takes it."""
        return self.threshold_index, self.partitions, self.placement

    def _details(self) -> dict:
        if self._breakdown is None:
            profile, topology = self._context
            d = reference_breakdown(profile, topology, self.source, self.destination, self.threshold_index,
                                    self.partitions, self.placement)
            for k, part in enumerate(d["partitions"]):
                part["tier_name"] = topology.names[part["tier"]]
                part["to_tier"] = self.placement[k + 1] if k + 1 < self.num_partitions else None
            self._breakdown = d
        return self._breakdown

    @property
    def breakdown(self) -> list:
        return self._details()["partitions"]

    @property
    def input_latency(self) -> float:
        return self._details()["input"]

    def to_dict(self) -> dict:
        """Plain JSON-able values: seconds, fractions, indices and names."""
        topology = self._context[1]
        parts = [{"blocks": list(b["blocks"]), "tier": int(b["tier"]), "tier_name": b["tier_name"],
                  "entering": float(b["entering"]), "exit": float(b["exit"]), "stay": float(b["stay"]),
                  "compute": float(b["compute"]), "forward": float(b["forward"]), "result": float(b["result"])}
                 for b in self.breakdown]
        return {"latency": self.latency, "accuracy": self.accuracy, "threshold_index": self.threshold_index,
                "threshold": self.threshold, "partitions": list(self.partitions), "placement": list(self.placement),
                "tier_names": list(self.tier_names), "source": topology.names[self.source],
                "destination": topology.names[self.destination], "input_latency": float(self.input_latency),
                "breakdown": parts}

    def __str__(self) -> str:
        names = self._context[1].names
        lines = [f"latency {self.latency * 1e3:.3f} ms, accuracy {self.accuracy:.4f}, "
                 f"threshold {self.threshold:g} (index {self.threshold_index}); "
                 f"samples from {names[self.source]}, results to {names[self.destination]}",
                 f"  input {names[self.source]} -> {self.tier_names[0]}: {self.input_latency * 1e3:.3f} ms"]
        for b in self.breakdown:
            first, last = b["blocks"]
            blocks = f"block {first}" if first == last else f"blocks {first}-{last}"
            fwd = "" if b["to_tier"] is None else f", forward to {names[b['to_tier']]} {b['forward'] * 1e3:.3f} ms"
            lines.append(f"  {blocks} on {b['tier_name']}: {b['entering']:.1%} enter, {b['exit']:.1%} exit, "
                         f"{b['stay']:.1%} go on; compute {b['compute'] * 1e3:.3f} ms{fwd}, "
                         f"result {b['result'] * 1e3:.3f} ms")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Plan(latency={self.latency!r}, accuracy={self.accuracy!r}, t={self.threshold_index}, "
                f"P={list(self.partitions)}, A={list(self.tier_names)})")


class _Frontier:
    """A backend's frontier rows, made into Plans only when asked for (P_lat and P_acc need one)."""

    def __init__(self, rows: dict, profile, topology, source: int, destination: int):
        self._rows = {k: np.asarray(v) for k, v in rows.items() if k != "stats"}
        self._context = (profile, topology, source, destination)
        self._plans: dict = {}
        self._n = int(self._rows["latency"].shape[0])

    def __len__(self) -> int:
        return self._n

    def plan(self, i: int) -> Plan:
        if i not in self._plans:
            r = self._rows
            L = int(r["num_partitions"][i])
            self._plans[i] = Plan(r["latency"][i], r["accuracy"][i], r["threshold_index"][i],
                                  r["partitions"][i, :L].tolist(), r["placement"][i, :L].tolist(), *self._context)
        return self._plans[i]

    def plans(self) -> list:
        if len(self._plans) < self._n:
            r = self._rows
            columns = zip(*(r[k].tolist() for k in ("latency", "accuracy", "threshold_index", "num_partitions",
                                                    "partitions", "placement")))
            for i, (lat, acc, t, L, P, A) in enumerate(columns):
                if i not in self._plans:
                    self._plans[i] = Plan(lat, acc, t, P[:L], A[:L], *self._context)
        return [self._plans[i] for i in range(self._n)]


def _bound(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} = nan: must be a number")
    return value


class Planner:
    """Builds the cost tables once and answers the frontier, P_lat and P_acc on them; `set_*` change one
    part of the network and rebuild only the tables that depend on it. Answers are cached until then.

    Tiers may be given by index or name everywhere. `tables` is the current CostTables (the arrays are
    updated in place by `set_ratio`). `max_memory` (bytes) caps the search's partial plans where the
    backend takes it (cpu: 2 GiB unless given); passing it is a ValueError, never an exhausted machine.
    """

    def __init__(self, profile: Profile, topology: Topology, source=0, destination=0, backend: str = "auto",
                 max_memory: int | None = None):
        if not isinstance(profile, Profile):
            raise TypeError(f"profile: expected a Profile, got {type(profile).__name__}")
        if not isinstance(topology, Topology):
            raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
        self.backend = resolve(backend)
        if max_memory is not None and (isinstance(max_memory, bool) or not isinstance(max_memory, numbers.Integral)
                                       or max_memory <= 0):
            raise ValueError(f"max_memory = {max_memory!r}: must be a positive number of bytes")
        self.max_memory = None if max_memory is None else int(max_memory)
        self._profile = profile
        self._block_sums = block_sums(profile)
        self._cum_exit = profile.cum_exit()
        self._accuracy = profile.accuracy.copy()
        self._topology = topology
        self._source = topology.tier(source, "source")
        self._destination = topology.tier(destination, "destination")
        self._rebuild_compute()
        self._rebuild_moves()

    # --- the models -------------------------------------------------------------------------------

    @property
    def profile(self) -> Profile:
        return self._profile

    @property
    def topology(self) -> Topology:
        return self._topology

    @property
    def source(self) -> int:
        return self._source

    @property
    def destination(self) -> int:
        return self._destination

    @property
    def tables(self) -> CostTables:
        return CostTables(self._input, self._compute, self._forward, self._result, self._cum_exit, self._accuracy)

    def _rebuild_compute(self) -> None:
        # Exactly tables.compute_table, without summing the blocks again.
        self._compute = np.ascontiguousarray(self._topology.ratio[:, None, None] * self._block_sums[None, :, :])
        self._cache = {}

    def _rebuild_moves(self) -> None:
        self._input, self._forward, self._result = move_tables(self._profile, self._topology, self._source,
                                                               self._destination)
        self._cache = {}

    # --- the three questions ----------------------------------------------------------------------

    def _search(self, min_accuracy: float, max_latency: float) -> "_Frontier":
        key = (min_accuracy, max_latency)
        if key not in self._cache:
            if len(self._cache) >= 32:  # a scheduler asking many bounds: keep the latest answers only
                del self._cache[next(iter(self._cache))]
            module = get_backend(self.backend)
            name = self.backend
            if not hasattr(module, "pareto"):  # a backend without its own search: the exact CPU one
                module, name = get_backend("cpu"), "cpu"
            extra = {} if self.max_memory is None else {"max_memory": self.max_memory}
            finite_costs(self.tables)
            rows = module.pareto(self.tables, min_accuracy=min_accuracy, max_latency=max_latency, **extra)
            if name not in ("cpu", "numpy"):
                # SPEC's frontier rule once more: idempotent on a correct frontier (cpu and numpy apply it).
                idx = frontier_indices(rows["latency"], rows["accuracy"])
                rows = {k: np.asarray(v)[idx] for k, v in rows.items() if k != "stats"}
            self._cache[key] = _Frontier(rows, self._profile, self._topology, self._source, self._destination)
        return self._cache[key]

    def pareto(self) -> list:
        """SPEC's Pareto frontier: one Plan per point, latency and accuracy rising."""
        return self._search(-math.inf, math.inf).plans()

    def min_latency(self, min_accuracy) -> Plan | None:
        """P_lat: the fastest plan with accuracy >= min_accuracy, or None when none reaches it."""
        front = self._search(_bound("min_accuracy", min_accuracy), math.inf)
        return front.plan(0) if len(front) else None

    def max_accuracy(self, max_latency) -> Plan | None:
        """P_acc: the most accurate plan with latency <= max_latency (s), or None when none is that fast."""
        front = self._search(-math.inf, _bound("max_latency", max_latency))
        return front.plan(len(front) - 1) if len(front) else None

    # --- re-planning ------------------------------------------------------------------------------

    def _link(self, link) -> tuple:
        """(a, b) for a link given as a chain's link index j (tiers j and j+1) or a pair of tiers."""
        topo = self._topology
        if isinstance(link, (tuple, list)):
            if len(link) != 2:
                raise ValueError(f"link = {link!r}: expected a link index or a pair of tiers (a, b)")
            a, b = topo.tier(link[0], "link[0]"), topo.tier(link[1], "link[1]")
            if a == b:
                raise ValueError(f"link = {link!r}: a link joins two different tiers")
            if topo.links is not None and abs(a - b) != 1:
                raise ValueError(f"link = {link!r}: tiers {a} and {b} are not neighbours; a chain's link j "
                                 f"joins tiers j and j+1")
            return (min(a, b), max(a, b)) if topo.links is not None else (a, b)
        if isinstance(link, bool) or not isinstance(link, numbers.Integral):
            raise TypeError(f"link: expected a link index or a pair of tiers, got {link!r}")
        if topo.links is None:
            raise ValueError(f"link = {link}: this topology is given as routes, not a chain of links; "
                             "name the route as a pair of tiers (a, b)")
        j = int(link)
        if not 0 <= j < topo.M - 1:
            raise ValueError(f"link = {j}: out of range for {topo.M - 1} links (0..{topo.M - 2})")
        return j, j + 1

    def _set_link(self, link, field: str, value) -> None:
        value = _bound(field, value)
        a, b = self._link(link)
        topo = self._topology
        if topo.links is not None:
            bandwidth, latency = list(topo.links["bandwidth"]), list(topo.links["latency"])
            (bandwidth if field == "bandwidth" else latency)[a] = value
            new = Topology.chain(topo.names, topo.ratio, bandwidth, latency)
        else:
            if field == "bandwidth" and not value > 0:
                raise ValueError(f"bandwidth = {value}: must be > 0 bit/s")
            pl, inv = topo.path_latency.copy(), topo.path_inv_bandwidth.copy()
            target, v = (inv, 1.0 / value) if field == "bandwidth" else (pl, value)
            target[a, b] = target[b, a] = v  # a route serves both directions
            new = Topology(topo.names, topo.ratio, pl, inv)
        self._topology = new
        self._rebuild_moves()

    def set_bandwidth(self, link, bits_per_s) -> None:
        """A link's bandwidth (bit/s): a chain's link index j or (a, b); for a topology given as routes,
        the route a <-> b. Rebuilds the input, forward and result tables only."""
        self._set_link(link, "bandwidth", bits_per_s)

    def set_latency(self, link, seconds) -> None:
        """A link's propagation latency (s), as set_bandwidth names it. Rebuilds the move tables only."""
        self._set_link(link, "latency", seconds)

    def set_ratio(self, tier, ratio) -> None:
        """How many times slower than the reference device `tier` computes. Rebuilds its compute table only."""
        a = self._topology.tier(tier, "tier")
        ratio = _bound("ratio", ratio)
        topo = self._topology
        new_ratio = topo.ratio.copy()
        new_ratio[a] = ratio
        if topo.links is not None:
            new = Topology.chain(topo.names, new_ratio, topo.links["bandwidth"], topo.links["latency"])
        else:
            new = Topology(topo.names, new_ratio, topo.path_latency, topo.path_inv_bandwidth)
        self._topology = new
        self._compute[a] = new_ratio[a] * self._block_sums
        self._cache = {}

    def set_destination(self, tier) -> None:
        """Where results must arrive. Rebuilds the result table only."""
        self._destination = self._topology.tier(tier, "destination")
        pl, inv = self._topology.path_latency, self._topology.path_inv_bandwidth
        self._result = np.ascontiguousarray(pl[:, self._destination] + self._profile.result_bits *
                                            inv[:, self._destination])
        self._cache = {}

    def set_source(self, tier) -> None:
        """Where samples are produced. Rebuilds the input table only."""
        self._source = self._topology.tier(tier, "source")
        pl, inv = self._topology.path_latency, self._topology.path_inv_bandwidth
        self._input = np.ascontiguousarray(pl[self._source, :] + self._profile.input_bits * inv[self._source, :])
        self._cache = {}

    def set_topology(self, topology: Topology) -> None:
        """A new topology altogether (source and destination keep their indices)."""
        if not isinstance(topology, Topology):
            raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
        topology.tier(self._source, "source")
        topology.tier(self._destination, "destination")
        self._topology = topology
        self._rebuild_compute()
        self._rebuild_moves()

    def __repr__(self) -> str:
        return (f"Planner(N={self._profile.N}, K={self._profile.K}, tiers={self._topology.names}, "
                f"source={self._source}, destination={self._destination}, backend={self.backend!r})")


def pareto(profile: Profile, topology: Topology, source=0, destination=0, backend: str = "auto",
           max_memory: int | None = None) -> list:
    """SPEC's Pareto frontier as a list of Plans, latency rising (exact search; numpy: sweep + frontier)."""
    return Planner(profile, topology, source, destination, backend, max_memory).pareto()


def min_latency(profile: Profile, topology: Topology, min_accuracy, source=0, destination=0,
                backend: str = "auto", max_memory: int | None = None) -> Plan | None:
    """SPEC's P_lat: the fastest plan with accuracy >= min_accuracy, or None."""
    return Planner(profile, topology, source, destination, backend, max_memory).min_latency(min_accuracy)


def max_accuracy(profile: Profile, topology: Topology, max_latency, source=0, destination=0,
                 backend: str = "auto", max_memory: int | None = None) -> Plan | None:
    """SPEC's P_acc: the most accurate plan with latency <= max_latency (s), or None."""
    return Planner(profile, topology, source, destination, backend, max_memory).max_accuracy(max_latency)
