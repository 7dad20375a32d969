"""The search state shared by the Planner and plan tables: one network state's snapshot (`_State`: the
models, their cost tables and the answers found on them) and one exact search on it (`_search_rows`).

Thread safety: a snapshot is never changed once built, except its note that its costs were checked
(written once, to the same value by any thread); its tables are read-only arrays, so threads may search one
snapshot at once. Its engine form (`engine_tables`) is built on first use; two threads building it at once
build equal objects, and either is kept. The answers found on a snapshot (`_Answers`) are guarded by their
own lock.
"""
from __future__ import annotations

import importlib
import math
import threading

import numpy as np

from .._checks import MAX_COST, finite_costs
from ..engine.frontier import frontier_indices
from ..engine.registry import get_backend
from ..model.energy import energy_tables
from ..model.profile import Profile
from ..model.tables import (
    CostTables,
    MoveFiller,
    block_sums,
    compute_row,
    compute_table,
)
from ..model.topology import Topology

_core = importlib.import_module("eepart_fast._core")  # by name, as planner.py loads it

_MOVES = ("input", "forward", "result")
_MOVE_TABLES = ("input_cost", "forward_cost", "result_cost")
_BUILDING = threading.Lock()  # a state's unbuilt topology is built once (rare: a lock for all states)
_largest = np.maximum.reduce  # nan propagates: a nan cost is caught as one over MAX_COST
_COSTS = ("input_cost", "compute_cost", "forward_cost", "result_cost")  # what finite_costs checks


def _frozen(tables: CostTables) -> CostTables:
    """The Planner's own tables made read-only: a snapshot is shared by threads and never written."""
    for a in tables:
        a.flags.writeable = False
    return tables


class _State:
    """One network state: the models (None when planned on bare CostTables) and the tables. Never changed
    once built, except its note that its costs were checked (written once). The answers found on it are
    kept beside it (`_Answers`), not in it.

    What a state derives from its models is kept with it and handed on by `derive` while the models it
    comes from stay: the reference's block sums, the move tables' (de)serialisation terms (`filler`,
    computed once per profile and topology serialisation fields), which tables are new since the last
    check of the model's cost rule (`_unchecked`), and the engine form of the tables (`engine_tables`):
    a state whose compute, cum_exit and accuracy tables are its parent's shares the parent's copy of them
    in the engine (`_engine_base`) and has only its move tables copied. A link change on a state that has
    an engine form (a re-plan) fills its move tables, checks them and builds its engine form in one
    compiled call (`MoveFiller.compiled`, the same sums to the bit).

    A state made by a link change (`with_link`) keeps its topology unbuilt: a built one (`_pending[0]`, the
    first of the states before it that was read) and the fields the change gives it; `topology` builds it on
    first read. A re-plan that never reads it makes no Topology, and no state keeps the states before it."""

    __slots__ = ("profile", "_topology", "_pending", "source", "destination", "tables", "names", "thresholds",
                 "base", "version", "filler", "_unchecked", "_engine", "_engine_base", "energy", "_energy")

    def __init__(self, profile, topology, source, destination, tables, base=None, version=0, filler=None,
                 unchecked=_COSTS, engine_base=None, pending=None, names=None):
        self.profile, self._topology, self._pending = profile, topology, pending
        self.source, self.destination = source, destination
        self.tables = tables
        if names is None:
            names = list(topology.names) if topology is not None else [f"tier {j}" for j in range(tables.M)]
        self.names = names
        self.thresholds = profile.thresholds if profile is not None else None
        self.base = base
        self.version = version  # the Planner's count of changes when this state was made
        self.filler = filler
        self._unchecked = unchecked  # the tables not yet checked by finite_costs' rule (none: checked)
        self._engine = None
        self._engine_base = engine_base  # an engine Tables with this state's compute, cum_exit, accuracy
        self.energy = None  # EnergyTables given (Planner.from_tables(energy=...), ef.pareto(energy=...))
        self._energy = {}  # the energy tables filled from the models, by energy_tiers (energy_tables)

    @classmethod
    def of(cls, profile, topology, source, destination) -> _State:
        """Every table derived from the models by the fillers of model/tables.py."""
        source = topology.tier(source, field="source")
        destination = topology.tier(destination, field="destination")
        base = block_sums(profile)
        fill = MoveFiller(profile, topology)
        pl, inv = topology.path_latency, topology.path_inv_bandwidth
        with np.errstate(over="ignore"):  # an overflow is refused, with its place, by finite_costs
            tables = CostTables(fill.input(pl, inv, source), compute_table(profile, topology, base),
                                fill.forward(pl, inv), fill.result(pl, inv, destination), profile.cum_exit(),
                                profile.accuracy.copy())
        return cls(profile, topology, source, destination, _frozen(tables), base, filler=fill)

    @property
    def topology(self) -> Topology | None:
        """The topology (None on CostTables); one left unbuilt by a link change is built here, once."""
        topology = self._topology
        if topology is None and self._pending is not None:
            with _BUILDING:
                topology = self._topology
                if topology is None:
                    base, fields = self._pending
                    topology = self._topology = base._derived(**fields)
        return topology

    def _built(self) -> Topology | None:
        """A built topology with this state's tiers, links' ends and serialisation fields (all that a link
        change leaves): its own, or the one its unbuilt topology is made from."""
        topology = self._topology
        return topology if topology is not None or self._pending is None else self._pending[0]

    def _link_fields(self, link, bandwidth, latency) -> tuple:
        """(kind, where, base, fields): link_index's answer, and the new topology after the change as a
        built topology `base` with `fields` (Topology._link_change's; None where the quick path does not
        apply), found without building this state's topology."""
        base = self._topology
        now = None
        if base is None:
            base, now = self._pending
        kind, where = base.link_index(link)
        return kind, where, base, base._link_change(kind, where, bandwidth, latency, now)

    def with_link(self, link, bandwidth=None, latency=None) -> _State:
        """derive(topology.with_link(link, ...), moves=all three), to the bit, with the new topology left
        unbuilt until read: what a re-plan after a link change makes."""
        kind, where, base, fields = self._link_fields(link, bandwidth, latency)
        if fields is None:  # a value the quick path leaves to the whole rebuild's checks
            return self.derive(self.topology._rebuilt_with_link(kind, where, bandwidth, latency), moves=_MOVES)
        return self.derive(moves=_MOVES, pending=(base, fields))

    def derive(self, topology=None, source=None, destination=None, compute=None, moves=None,
               pending=None) -> _State:
        """A new state with some models changed: `compute` / `moves` say which tables to re-derive
        ("all" or a list of tiers for compute; a set of "input", "forward", "result" for moves).

        Only those tables are made anew (never written in place: other threads may be reading the old
        ones); the (de)serialisation terms are recomputed only if `topology` changes its serialisation
        fields (serialize, deserialize, devices), and the move tables are filled from its route matrices.
        `pending` (base, fields), instead of `topology`: a link change's topology, left unbuilt."""
        if pending is None:
            topo = self.topology if topology is None else topology
            serial = topo
        else:
            topo, serial = None, pending[0]
        src = self.source if source is None else source
        dst = self.destination if destination is None else destination
        t = self.tables
        comp = t.compute_cost
        if compute == "all":
            comp = compute_table(self.profile, topo, self.base)
        elif compute:
            comp = comp.copy()
            for a in compute:
                comp[a] = compute_row(self.profile, topo, a, self.base)
        moves = moves or ()
        fill = self.filler
        inp, fwd, res = t.input_cost, t.forward_cost, t.result_cost
        new = ["compute_cost"] if compute else []
        if pending is not None and not compute and len(moves) == 3 and fill is not None \
                and (self._engine or self._engine_base) is not None:
            # A link change on a state the engine has seen (a re-plan): the move tables, their check against
            # the cost rule and the engine's copy of them, in one compiled call.
            path = pending[1]
            inp, fwd, res, engine = fill.compiled().moved(self._engine or self._engine_base, path["path_latency"],
                                                          path["path_inv_bandwidth"], src, dst, MAX_COST)
            if engine is None:  # an entry over MAX_COST (or NaN): check_costs names it when the state is searched
                unchecked = tuple(set(self._unchecked).union(_MOVE_TABLES))
            else:
                unchecked = tuple(n for n in self._unchecked if n not in _MOVE_TABLES)
            state = _State(self.profile, topo, src, dst, CostTables(inp, comp, fwd, res, t.cum_exit, t.accuracy),
                           self.base, self.version + 1, fill, unchecked, self._engine or self._engine_base, pending,
                           self.names)
            state._engine = engine
            return state
        if moves:
            before = self._built()
            if fill is None or getattr(serial, "_serial", serial) is not getattr(before, "_serial", before):
                fill = MoveFiller(self.profile, serial)
            if pending is None:
                pl, inv = topo.path_latency, topo.path_inv_bandwidth
            else:
                pl, inv = pending[1]["path_latency"], pending[1]["path_inv_bandwidth"]
            inp, fwd, res = _moved(fill, pl, inv, src, dst, moves, t)
            new += [name for name, move in (("input_cost", "input"), ("forward_cost", "forward"),
                                            ("result_cost", "result")) if move in moves]
        tables = CostTables(inp, comp, fwd, res, t.cum_exit, t.accuracy)
        for name in new:
            getattr(tables, name).setflags(write=False)  # cheaper than through .flags
        unchecked = tuple(set(self._unchecked).union(new)) if self._unchecked else tuple(new)
        shared = None if compute else (self._engine or self._engine_base)
        return _State(self.profile, topo, src, dst, tables, self.base, self.version + 1, fill, unchecked, shared,
                      pending, self.names if pending is not None else None)

    def tables_with_routes(self, path_latency, path_inv) -> CostTables:
        """This state's tables with the move tables filled from other route matrices of the same tiers
        (what derive would hold for a topology with those routes and this one's serialisation), without a
        Topology or a snapshot: plan tables evaluate a plan at many values of a link this way."""
        t = self.tables
        fill = self.filler or MoveFiller(self.profile, self.topology)
        inp, fwd, res = _moved(fill, path_latency, path_inv, self.source, self.destination, _MOVES, t)
        return CostTables(inp, t.compute_cost, fwd, res, t.cum_exit, t.accuracy)

    def tables_with_link(self, link, bandwidth=None, latency=None) -> CostTables:
        """The tables of this state with one link (as Topology.link_index names it) at a new bandwidth or
        latency: the tables `derive(topology.with_link(...), moves=all three)` holds, to the bit, without
        the topology or the snapshot (for many scenarios of one state). Not checked by the cost rule: a
        caller searching them runs finite_costs first, as _search_rows does for a state."""
        kind, where, _, fields = self._link_fields(link, bandwidth, latency)
        if fields is None:  # a value the quick path leaves to the whole rebuild's checks
            return self.derive(self.topology._rebuilt_with_link(kind, where, bandwidth, latency), moves=_MOVES).tables
        return self.tables_with_routes(fields["path_latency"], fields["path_inv_bandwidth"])

    def engine_tables(self):
        """The tables in the compiled engine's form (`_core.Tables`), built once per state: from the shared
        tables of the state it was derived from where it has them, copying only its move tables."""
        engine = self._engine
        if engine is None:
            t = self.tables
            if self._engine_base is not None:
                engine = self._engine_base.with_moves(t.input_cost, t.forward_cost, t.result_cost)
            else:
                engine = _core.Tables(*t)
            self._engine = engine
        return engine

    def energy_tables(self, energy_tiers):
        """The energy tables of this snapshot (docs/model.md "Energy"): those given with bare CostTables, or
        filled from the models counting `energy_tiers`, once per state and energy_tiers. They are filled
        whole on each state a change makes, not carried along as the move tables are: the energy filler has
        no per-table path yet (a state's first energy question pays one fill; `Tables.with_moves` could
        then take the new move energies)."""
        if self.energy is not None:
            return self.energy
        if self.profile is None:
            if self.energy is None:
                raise ValueError("this Planner plans on CostTables without energy tables: give energy= (an "
                                 "EnergyTables) to Planner.from_tables or set_tables")
            return self.energy
        if energy_tiers is None:
            raise ValueError("this Planner has no energy model: give energy_tiers= ('source', 'all' or a list of "
                             "tiers: whose energy counts) to the Planner")
        key = energy_tiers if isinstance(energy_tiers, str) else tuple(energy_tiers)
        found = self._energy.get(key)
        if found is None:  # two threads may both fill them: equal tables, either is kept
            found = self._energy[key] = energy_tables(self.profile, self.topology, source=self.source,
                                                      destination=self.destination, energy_tiers=energy_tiers)
        return found

    def check_costs(self) -> None:
        """The model's cost rule (finite_costs) on this snapshot, before any backend sees it: checked once
        per state, on the tables that are new since the last state checked."""
        unchecked = self._unchecked
        if unchecked:
            tables = self.tables
            for name in unchecked:
                arr = getattr(tables, name)
                if arr.ndim == 1 and arr.size <= 64:  # a row of M: a list is cheaper than a numpy reduction
                    within = all([v <= MAX_COST for v in arr.tolist()])  # noqa: C419 - a list: faster; nan fails
                else:
                    within = not arr.size or _largest(arr, axis=None) <= MAX_COST  # nan fails too
                if not within:
                    finite_costs(tables)  # raises, naming the place
            self._unchecked = ()



class _Answers:
    """A snapshot (`state`) and the answers found on it, by question: what a Planner holds, swapped in with
    one assignment so that an answer is never filed under a state it was not computed on.

    The answers are kept here, not in the state: a Plan holds its state, and a state holding the answers that
    hold its plans would make a reference cycle, so every state a re-plan swaps out would wait, with its
    tables and engine copy, for the next garbage collection; this way it is freed at once (issue 21)."""

    __slots__ = ("_cache", "_lock", "state")

    def __init__(self, state: _State):
        self.state = state
        self._cache: dict = {}
        self._lock = threading.Lock()

    def cached(self, key):
        with self._lock:
            return self._cache.get(key)

    def store(self, key, value):
        with self._lock:
            if key not in self._cache and len(self._cache) >= 32:  # many bounds asked: keep the latest only
                del self._cache[next(iter(self._cache))]
            return self._cache.setdefault(key, value)


def _moved(fill: MoveFiller, path_latency, path_inv, source: int, destination: int, moves, tables) -> tuple:
    """(input, forward, result) with the tables named in `moves` filled from the route matrices, the others
    those of `tables`."""
    with np.errstate(over="ignore"):  # an overflow is refused, with its place, by finite_costs
        if "input" in moves and "forward" in moves and "result" in moves:
            return fill.all(path_latency, path_inv, source, destination)
        return (fill.input(path_latency, path_inv, source) if "input" in moves else tables.input_cost,
                fill.forward(path_latency, path_inv) if "forward" in moves else tables.forward_cost,
                fill.result(path_latency, path_inv, destination) if "result" in moves else tables.result_cost)


def _search_rows(backend: str, max_memory, state: _State, min_accuracy: float, max_latency: float,
                 time_limit: float = math.inf, quantile: float | None = None, threads: int = 0,
                 energy=None, max_energy: float = math.inf, goal: str = "frontier") -> dict:
    """One exact search on a snapshot's tables: the frontier's rows as columns (latency: the mean, or the
    `quantile`-quantile). `threads` (0: one per core) goes to every backend (the Backend Protocol takes it;
    the reference ignores it). With `energy` (EnergyTables): the rows have an energy column, `max_energy`
    bounds them and `goal` is "frontier", "frontier3" (latency, accuracy, energy) or "min_energy"."""
    module = get_backend(backend)
    state.check_costs()  # the model's rule, on the snapshot searched, before any backend sees it
    tables = state.engine_tables() if backend == "cpu" else state.tables
    if energy is None and max_memory is None:  # a re-plan's question: the call as plain as it can be
        rows = module.pareto(tables, min_accuracy=min_accuracy, max_latency=max_latency, time_limit=time_limit,
                             quantile=quantile, threads=threads)
    else:
        options = {"min_accuracy": min_accuracy, "max_latency": max_latency, "time_limit": time_limit,
                   "threads": threads}
        if max_memory is not None:
            options["max_memory"] = max_memory
        if goal == "min_energy":
            rows = module.min_energy(tables, energy=energy, **options)
        elif energy is not None:
            rows = module.pareto(tables, quantile=quantile, energy=energy, max_energy=max_energy,
                                 objectives=3 if goal == "frontier3" else 2, **options)
        else:
            rows = module.pareto(tables, quantile=quantile, **options)
    rows.pop("stats", None)
    if backend not in ("cpu", "numpy") and energy is None:
        # The frontier rule once more: idempotent on a correct frontier (cpu and numpy apply it).
        idx = frontier_indices(rows["latency"], rows["accuracy"])
        rows = {k: np.asarray(v)[idx] for k, v in rows.items()}
    return rows


def _check_models(profile, topology) -> None:
    """A Profile and a Topology, or a TypeError naming the one that is not (a CostTables is handled by the
    callers that take one)."""
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile or CostTables, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
