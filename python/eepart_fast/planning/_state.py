"""The search state shared by the Planner and plan tables: one network state's snapshot (`_State`: the
models, their cost tables and the answers found on them) and one exact search on it (`_search_rows`).

Thread safety: a snapshot is never changed once built, except its answer cache (guarded by its own lock);
its tables are read-only arrays, so threads may search one snapshot at once.
"""
from __future__ import annotations

import inspect
import math
import threading

import numpy as np

from .._checks import finite_costs
from ..engine.frontier import frontier_indices
from ..engine.registry import get_backend
from ..model.profile import Profile
from ..model.tables import (
    CostTables,
    block_sums,
    compute_row,
    compute_table,
    forward_table,
    input_table,
    result_table,
    serialisation,
)
from ..model.topology import Topology


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
        """Every table derived from the models by the fillers of model/tables.py."""
        source = topology.tier(source, field="source")
        destination = topology.tier(destination, field="destination")
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


def _takes(function, name: str) -> bool:
    """Whether a backend's operation takes the keyword `name` (the numpy reference takes no threads)."""
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):  # a compiled function without a signature: it takes what cpu's does
        return True


def _search_rows(backend: str, max_memory, state: _State, min_accuracy: float, max_latency: float,
                 time_limit: float = math.inf, quantile: float | None = None, threads: int = 0) -> dict:
    """One exact search on a snapshot's tables: the frontier's rows as columns (latency: the mean, or the
    `quantile`-quantile). `threads` (0: one per core) goes to the backends that take it."""
    module = get_backend(backend)
    extra = {} if max_memory is None else {"max_memory": max_memory}
    if threads and _takes(module.pareto, "threads"):
        extra["threads"] = threads
    finite_costs(state.tables)  # the model's rule, on the snapshot searched, before any backend sees it
    rows = module.pareto(state.tables, min_accuracy=min_accuracy, max_latency=max_latency, time_limit=time_limit,
                         quantile=quantile, **extra)
    if backend not in ("cpu", "numpy"):
        # The frontier rule once more: idempotent on a correct frontier (cpu and numpy apply it).
        idx = frontier_indices(rows["latency"], rows["accuracy"])
        rows = {k: np.asarray(v)[idx] for k, v in rows.items() if k != "stats"}
    return {k: np.asarray(v) for k, v in rows.items() if k != "stats"}


def _check_models(profile, topology) -> None:
    """A Profile and a Topology, or a TypeError naming the one that is not (a CostTables is handled by the
    callers that take one)."""
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile or CostTables, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
