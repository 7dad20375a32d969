"""The Pareto frontier and the two problems of docs/model.md (P_lat, P_acc) by exact search, and a
Planner that re-plans when the network moves without rebuilding what did not change.

    planner = Planner(profile, Topology.preset("mobile"))
    best = planner.min_latency(min_accuracy=0.9)   # P_lat: fastest plan with accuracy >= 0.9, or None
    planner.set_bandwidth(1, 5e6)                  # the phone's 4G link drops to 5 Mbit/s
    best = planner.min_latency(min_accuracy=0.9)   # re-planned on the new link

Thread safety: a Planner may be shared by threads. Its state (models, tables, answers) is an immutable
snapshot; `set_*` build a new snapshot under a lock and swap it in with one assignment. A search reads
the snapshot current when it starts and stores its answer in that snapshot's cache only, so an answer is
never filed under a network state it was not computed on.
"""
from __future__ import annotations

import importlib
import math
import threading
import warnings

from .._checks import bound
from .._checks import threads as check_threads
from .._checks import time_limit as check_time_limit
from .._deprecated import REMOVED_IN, positional
from ..engine.registry import resolve
from ..model.energy import check_energy_tables
from ..model.profile import Profile
from ..model.quantile import check_quantile
from ..model.tables import CostTables, check_tables, measured_tiers
from ..model.topology import Topology
from ._state import _Answers, _check_models, _search_rows, _State
from .plan import Plan, breakdown
from .plantable import PlanTable, build
from .under_load import UnderLoad

# The compiled core's constants and checks (one definition, in C++), loaded by name as engine/backends/cpu.py
# loads it: grimp sees no compiled module, so an import statement would read as one of the whole package.
_core = importlib.import_module("eepart_fast._core")

__all__ = ["Plan", "Planner", "pareto", "min_latency", "max_accuracy", "min_energy", "breakdown"]


def _max_memory(max_memory) -> int | None:
    return None if max_memory is None else _core.check_max_memory(max_memory)


class _Frontier:
    """A backend's frontier rows (columns), made into Plans only when asked for: P_lat and P_acc need one,
    made from the columns' entries alone."""

    def __init__(self, rows: dict, state: _State, quantile: float | None = None):
        self._rows = rows
        self._state = state
        self._quantile = quantile
        self._plans: dict = {}  # filled lazily; two threads making the same Plan make equal ones
        self._n = len(rows["latency"])

    def __len__(self) -> int:
        return self._n

    def plan(self, i: int) -> Plan:
        plan = self._plans.get(i)
        if plan is None:
            r = self._rows
            L = r["num_partitions"].item(i)  # .item: Python numbers, as Plan._on_state takes them
            energy = r["energy"].item(i) if "energy" in r else None
            plan = self._plans[i] = Plan._on_state(self._state, r["latency"].item(i), r["accuracy"].item(i),
                                                   r["threshold_index"].item(i), r["partitions"][i].tolist()[:L],
                                                   r["placement"][i].tolist()[:L], self._quantile, energy)
        return plan

    def plans(self) -> list:
        if len(self._plans) < self._n:
            r = self._rows
            columns = zip(*(r[k].tolist() for k in ("latency", "accuracy", "threshold_index", "num_partitions",
                                                    "partitions", "placement")),
                          r["energy"].tolist() if "energy" in r else [None] * self._n)
            for i, (lat, acc, t, L, P, A, energy) in enumerate(columns):
                if i not in self._plans:
                    self._plans[i] = Plan._on_state(self._state, lat, acc, t, P[:L], A[:L], self._quantile, energy)
        return [self._plans[i] for i in range(self._n)]


class Planner:
    """Builds the cost tables once and answers the frontier, P_lat and P_acc on them; `set_*` change one
    part of the network and re-derive only the tables that depend on it. Answers are cached per state.

    `Planner(profile, topology, ...)` derives the tables with the fillers of model/tables.py (measured
    compute, serialisation, routes: whatever the models carry); `Planner.from_tables(tables)` plans on a
    CostTables of one's own (then only `set_tables` changes it). Tiers may be given by index or name
    everywhere. `tables` is the current CostTables; its arrays are never changed in place.

    Energy (docs/model.md "Energy"): `min_energy` answers the least-energy plan within an accuracy and a
    latency bound, `max_energy` bounds the other questions' plans, and `pareto(objectives=3)` is the exact
    frontier of (latency, accuracy, energy); their plans carry `energy` (J per sample). The energy tables
    are filled from the models counting `energy_tiers` (whose energy counts: "source", "all" or a list of
    tiers), once per network state, or given with bare CostTables (`from_tables(energy=...)`). Energy
    questions take the mean latency only (a quantile with them is refused: ValueError).

    Every question takes `quantile` (None: the mean latency; q in (0, 1]: its q-quantile, 0.99 for p99,
    docs/model.md "Tail latency"): the plans' latency and the latency bound are then that quantile, and
    the answers are cached per quantile. Each question also takes `time_limit` (seconds, None: none): a
    search still running past it stops with TimeoutError, and nothing is cached; an answer already cached
    is returned whatever the limit.

    Safe to share between threads: a Planner's state is an immutable snapshot; `set_*` build a new one
    under a lock and swap it in with one assignment, and a search stores its answer in the snapshot it
    read only (see the module's docstring).

    Parameters
    ----------
    profile : Profile
        The network's blocks and exits. (A CostTables here is deprecated: use `Planner.from_tables`;
        it is removed in 0.3.0.)
    topology : Topology
        The tiers and the links between them.
    source : int or str, default 0
        The tier where samples are produced (index or name).
    destination : int or str, default 0
        The tier where results must arrive.
    backend : str, default "auto"
        The search's backend ("auto", "cpu", "cuda", "cupy", "numpy"; see ef.backends()).
    threads : int, default 0
        CPU threads of a search, where the backend takes them (cpu, cuda's host side); 0: one per core.
    max_memory : int, optional
        Bytes the search's partial plans may take, where the backend takes it (cpu: 2 GiB unless given);
        a search that needs more raises ValueError.
    energy_tiers : "source", "all" or list of (int or str), optional
        Whose energy the energy questions count (`eepart_fast.model.energy_tables`); None: the Planner
        answers no energy question (ValueError naming this argument).

    Raises
    ------
    TypeError
        `profile` or `topology` is not a Profile / Topology.
    ValueError
        An unknown or unavailable backend, a bad `threads` or `max_memory`, or a tier that does not exist.

    Examples
    --------
    >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> best = planner.min_latency(min_accuracy=0.9)
    >>> round(best.latency, 4), best.tier_names
    (0.094, ('smartphone',))
    >>> planner.set_bandwidth(0, 1e8)  # the watch's link to the phone gets faster
    >>> round(planner.min_latency(min_accuracy=0.9).latency, 4) < round(best.latency, 4)
    True
    """

    @positional("source", "destination", "backend", "max_memory")
    def __init__(self, profile, topology: Topology | None = None, *, source=0, destination=0,
                 backend: str = "auto", threads: int = 0, max_memory: int | None = None, energy_tiers=None):
        self._setup(backend, threads, max_memory)
        self.energy_tiers = energy_tiers
        if isinstance(profile, CostTables):
            if topology is not None:
                raise TypeError("topology: not used when planning on CostTables (the tables hold the routes)")
            warnings.warn("Planner(tables): use Planner.from_tables(tables); planning on CostTables through "
                          f"Planner() is removed in {REMOVED_IN}", DeprecationWarning, stacklevel=3)
            self._now = _Answers(_State(None, None, None, None, check_tables(profile)))
            return
        _check_models(profile, topology)
        self._now = _Answers(_State.of(profile, topology, source, destination))

    def _setup(self, backend, threads, max_memory) -> None:
        self.backend = resolve(backend, "pareto")
        self.threads = check_threads(threads)
        self.max_memory = _max_memory(max_memory)
        self._write = threading.Lock()  # one change at a time; readers never wait for it

    @classmethod
    def from_tables(cls, tables: CostTables, *, backend: str = "auto", threads: int = 0,
                    max_memory: int | None = None, energy=None) -> Planner:
        """A Planner on a CostTables of one's own: the tables hold the routes, so there is no topology to
        change; only `set_tables` changes it.

        Parameters
        ----------
        tables : CostTables
            The cost tables (docs/model.md "Engine form").
        backend : str, default "auto"
            As for Planner.
        threads : int, default 0
            As for Planner (0: one per core).
        max_memory : int, optional
            As for Planner (bytes).
        energy : EnergyTables, optional
            Energy tables of the same tiers and blocks, for the energy questions (docs/model.md "Energy").

        Returns
        -------
        Planner

        Raises
        ------
        TypeError, ValueError
            `tables` is not a valid CostTables, or `energy` not valid energy tables for them.

        Examples
        --------
        >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
        >>> planner = ef.Planner.from_tables(ef.cost_tables(profile, topology))
        >>> planner.min_latency(min_accuracy=0.9).config()
        (0, (6,), (1,))
        """
        self = cls.__new__(cls)
        self._setup(backend, threads, max_memory)
        self.energy_tiers = None
        self._now = _Answers(_state_on_tables(check_tables(tables), energy))
        return self

    # --- the models (of the current state) -------------------------------------------------------

    @property
    def _state(self) -> _State:
        """The current snapshot (its answers are `self._now`'s)."""
        return self._now.state

    @property
    def profile(self) -> Profile | None:
        """The current profile (None on CostTables)."""
        return self._state.profile

    @property
    def topology(self) -> Topology | None:
        """The current topology (None on CostTables)."""
        return self._state.topology

    @property
    def source(self) -> int | None:
        """The source tier's index (None on CostTables)."""
        return self._state.source

    @property
    def destination(self) -> int | None:
        """The destination tier's index (None on CostTables)."""
        return self._state.destination

    @property
    def tables(self) -> CostTables:
        """The current cost tables (read-only arrays, never changed in place)."""
        return self._state.tables

    @property
    def version(self) -> int:
        """How many changes (`set_*`) this Planner has taken: a plan made at version v answers for the
        network as it was after the v-th change."""
        return self._state.version

    # --- the three questions ----------------------------------------------------------------------

    def _search(self, min_accuracy: float, max_latency: float, time_limit, quantile=None, max_energy=None,
                goal: str = "frontier") -> _Frontier:
        time_limit = math.inf if time_limit is None else check_time_limit(time_limit)
        quantile = None if quantile is None else check_quantile(quantile)
        max_energy = math.inf if max_energy is None else bound("max_energy", max_energy)
        now = self._now  # one read: everything below works on this snapshot
        key = (min_accuracy, max_latency, quantile, max_energy, goal)  # a mean's answer is never a quantile's
        found = now.cached(key)
        if found is not None:
            return found
        state = now.state
        energy = None
        if goal != "frontier" or max_energy != math.inf:
            if quantile is not None:
                raise ValueError(f"quantile = {quantile}: the energy questions (max_energy, min_energy, objectives=3) "
                                 "take the mean latency only")
            energy = state.energy_tables(self.energy_tiers)
        rows = _search_rows(self.backend, self.max_memory, state, min_accuracy, max_latency, time_limit, quantile,
                            self.threads, energy, max_energy, goal)
        return now.store(key, _Frontier(rows, state, quantile))

    @positional("time_limit", "quantile")
    def pareto(self, *, quantile=None, time_limit=None, max_energy=None, objectives: int = 2) -> list:
        """The Pareto frontier: one Plan per point, latency and accuracy rising; with objectives=3 the exact
        frontier of (latency, accuracy, energy) (`engine.frontier.frontier3_indices`' points and order).

        Parameters
        ----------
        quantile : float, optional
            None: the plans' latency is the mean; q in (0, 1]: the q-quantile (0.99: p99).
        time_limit : float, optional
            Seconds (None: no limit).
        max_energy : float, optional
            Only plans spending at most this many joules per sample (None: no bound).
        objectives : {2, 3}
            2: (latency, accuracy); 3: (latency, accuracy, energy).

        Returns
        -------
        list of Plan

        Raises
        ------
        ValueError
            An energy question on a Planner without energy_tiers (or energy tables), or with a quantile;
            `objectives` not 2 or 3.
        TimeoutError
            The search ran past `time_limit`.

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> front = planner.pareto()
        >>> all(a.latency <= b.latency and a.accuracy <= b.accuracy for a, b in zip(front, front[1:]))
        True

        The frontier of the watch's battery, latency and accuracy, on the chain with radio and power presets:

        >>> watch = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy"),
        ...                    energy_tiers="source")
        >>> front3 = watch.pareto(objectives=3)
        >>> len(front3) > len(watch.pareto()), all(p.energy is not None for p in front3)
        (True, True)
        """
        if objectives not in (2, 3) or isinstance(objectives, bool):
            raise ValueError(f"objectives = {objectives!r}: must be 2 (latency, accuracy) or 3 (latency, accuracy, "
                             "energy)")
        goal = "frontier3" if objectives == 3 else "frontier"
        return self._search(-math.inf, math.inf, time_limit, quantile, max_energy, goal).plans()

    @positional("min_accuracy", "time_limit", "quantile")
    def min_latency(self, *, min_accuracy, quantile=None, time_limit=None, max_energy=None) -> Plan | None:
        """P_lat: the fastest plan with accuracy >= min_accuracy, fastest by the mean or by the
        `quantile`-quantile (0.99: the least p99).

        Parameters
        ----------
        min_accuracy : float
            The accuracy bound. An integer too large for a float (10**400) is +inf (no plan), as it
            compares; -10**400 is -inf (no bound).
        quantile : float, optional
            None: the mean latency; q in (0, 1]: its q-quantile.
        time_limit : float, optional
            Seconds (None: no limit).
        max_energy : float, optional
            Only plans spending at most this many joules per sample (None: no bound; needs energy_tiers).

        Returns
        -------
        Plan or None
            None when no plan reaches the bound.

        Raises
        ------
        TypeError, ValueError
            A bound that is not a number, or nan.
        TimeoutError
            The search ran past `time_limit`.

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> planner.min_latency(min_accuracy=0.9).accuracy >= 0.9
        True
        >>> planner.min_latency(min_accuracy=0.99) is None
        True
        """
        front = self._search(bound("min_accuracy", min_accuracy), math.inf, time_limit, quantile, max_energy)
        return front.plan(0) if len(front) else None

    @positional("max_latency", "time_limit", "quantile")
    def max_accuracy(self, *, max_latency, quantile=None, time_limit=None, max_energy=None) -> Plan | None:
        """P_acc: the most accurate plan with latency <= max_latency (s); with `quantile` = q the bound is
        on the q-quantile (0.99: p99 <= max_latency).

        Parameters
        ----------
        max_latency : float
            The latency bound (s). An integer too large for a float (10**400) is +inf (no latency
            bound), as it compares.
        quantile : float, optional
            None: the mean latency; q in (0, 1]: its q-quantile.
        time_limit : float, optional
            Seconds (None: no limit).
        max_energy : float, optional
            Only plans spending at most this many joules per sample (None: no bound; needs energy_tiers).

        Returns
        -------
        Plan or None
            None when no plan is that fast.

        Raises
        ------
        TypeError, ValueError
            A bound that is not a number, or nan.
        TimeoutError
            The search ran past `time_limit`.

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> planner.max_accuracy(max_latency=0.2).latency <= 0.2
        True
        >>> planner.max_accuracy(max_latency=0.01) is None
        True
        """
        front = self._search(-math.inf, bound("max_latency", max_latency), time_limit, quantile, max_energy)
        return front.plan(len(front) - 1) if len(front) else None

    def min_energy(self, *, min_accuracy=None, max_latency=None, time_limit=None) -> Plan | None:
        """The plan of least energy (J per sample, counting the Planner's energy_tiers) with accuracy >=
        min_accuracy and mean latency <= max_latency (s), either bound optional: P_lat with energy for
        latency, so of plans of equal energy the most accurate (docs/model.md "Energy").

        Parameters
        ----------
        min_accuracy : float, optional
            The accuracy bound (None: none).
        max_latency : float, optional
            The mean latency bound, s (None: none).
        time_limit : float, optional
            Seconds (None: no limit).

        Returns
        -------
        Plan or None
            None when no plan meets the bounds.

        Raises
        ------
        TypeError, ValueError
            A bound that is not a number, or nan; a Planner without energy_tiers (or energy tables).
        TimeoutError
            The search ran past `time_limit`.

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy"),
        ...                      energy_tiers="source")
        >>> frugal = planner.min_energy(min_accuracy=0.9, max_latency=0.2)
        >>> frugal.accuracy >= 0.9 and frugal.latency <= 0.2
        True
        >>> fastest = planner.min_latency(min_accuracy=0.9, max_energy=1e9)  # 94 ms: within both bounds too
        >>> bool(frugal.energy <= fastest.energy)
        True
        """
        front = self._search(bound("min_accuracy", min_accuracy, default=-math.inf),
                             bound("max_latency", max_latency, default=math.inf), time_limit, goal="min_energy")
        return front.plan(0) if len(front) else None

    def plan_table(self, parameter: str, target=None, low=None, high=None, *, min_accuracy=None,
                   max_latency=None, quantile=None, time_limit=None) -> PlanTable:
        """The exact optimal plan of P_lat (`min_accuracy`) or P_acc (`max_latency`, s) over a range of one
        network parameter, as a PlanTable: intervals with their plan, and the breakpoints between them.

        The searches it took are `table.searches`, proportional to the breakpoints (docs/model.md "Plans
        over a range"). The Planner is not changed; safe to call from several threads.

        Plan tables are for the mean latency only: a quantile is the latency of one exit, which changes
        with the parameter, so it is only piecewise affine in a link's parameter and the table's exact
        breakpoint rule does not hold for it.

        The bound and the range's ends are finite numbers: an integer too large for a float64 (10**400) is
        refused by name (ValueError), as is inf (a plan table with no bound is one plan: use max_accuracy).
        A range one ulp wide, or of zero width (low == high), is one row: the plan optimal at that value.

        Parameters
        ----------
        parameter : str
            "bandwidth" of a link (bit/s), "latency" of a link (s), "ratio" of a tier, or "scale" (every
            bandwidth times a factor).
        target : int, str or tuple, optional
            The link, named as set_bandwidth names it, or the tier; None for "scale".
        low, high : float
            The range, in the parameter's unit.
        min_accuracy : float, optional
            P_lat's bound: give exactly one of min_accuracy and max_latency.
        max_latency : float, optional
            P_acc's bound (s).
        quantile : None
            Anything else is a ValueError (plan tables are for the mean latency only).
        time_limit : float, optional
            Seconds for the whole table (None: none): each search gets what is left of it.

        Returns
        -------
        PlanTable

        Raises
        ------
        TypeError
            Not exactly one bound, or a bound that is not a number.
        ValueError
            An unknown parameter or target, a bad range, a quantile, or a Planner on CostTables.
        TimeoutError
            The table ran past `time_limit`.

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> table = planner.plan_table("bandwidth", 0, 1e5, 1e8, min_accuracy=0.9)
        >>> len(table.rows) == len(table.breakpoints) + 1
        True
        """
        if quantile is not None:
            raise ValueError(f"quantile = {quantile!r}: plan tables are for the mean latency only (a quantile "
                             "is only piecewise affine in a parameter); re-plan with quantile at each value instead")
        return build(self, parameter, target, low, high, min_accuracy=min_accuracy, max_latency=max_latency,
                     time_limit=time_limit)

    def under(self, load, *, source=None, link_queues: bool = False) -> UnderLoad:
        """This Planner's questions under `load` (docs/model.md "Load"): the frontier, P_lat and P_acc by the
        mean latency under load, and capacity (`max_rate`, `plan_max_rate`), on the Planner's network as it is
        at each call, so that after `set_bandwidth` and the like the same view re-plans under the same load.

        Parameters
        ----------
        load : eepart_fast.model.Load
            The arrival rate per source and the tiers' load inputs (fleet, background, ...).
        source : int, optional, keyword-only
            Only for a Planner on CostTables: the tier its tables' samples come from (default 0), the one
            each source of a fleet has to itself.
        link_queues : bool, default False, keyword-only
            Whether links queue too (needs a Planner on a Profile and a Topology).

        Returns
        -------
        UnderLoad

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> idle, busy = planner.min_latency(min_accuracy=0.9), planner.under(ef.model.Load(40.0))
        >>> busy.min_latency(min_accuracy=0.9).latency > idle.latency
        True
        """
        return UnderLoad(self, load, source=source, link_queues=link_queues)

    # --- re-planning ------------------------------------------------------------------------------

    def _models(self) -> _State:
        state = self._state
        if state.profile is None:  # not .topology: a state may leave it unbuilt until read
            raise ValueError("this Planner plans on CostTables: there is no topology to change; "
                             "give it new tables with set_tables")
        return state

    def _set_link(self, link, field: str, value) -> None:
        # Named as a study names the link (bandwidth[1], bandwidth[smartphone,edge server]).
        where = ",".join(map(str, link)) if isinstance(link, (tuple, list)) else link
        value = bound(f"{field}[{where}]", value, huge_is_infinite=False)
        with self._write:
            state = self._models()
            self._now = _Answers(state.with_link(link, *((value, None) if field == "bandwidth" else (None, value))))

    def set_bandwidth(self, link, bits_per_s) -> None:
        """A link's bandwidth. Re-derives the move tables only.

        Parameters
        ----------
        link : int, str or tuple
            A chain's link index j or (a, b); a graph's link index or its two tiers; for a topology given
            as routes, the route a <-> b.
        bits_per_s : float
            The bandwidth (bit/s), > 0; an integer too large for a float64 (10**400) is refused.

        Raises
        ------
        ValueError
            No such link, a bad value, or a Planner on CostTables.
        """
        self._set_link(link, "bandwidth", bits_per_s)

    def set_latency(self, link, seconds) -> None:
        """A link's propagation latency. Re-derives the move tables only.

        Parameters
        ----------
        link : int, str or tuple
            As set_bandwidth names it.
        seconds : float
            The latency (s), >= 0.

        Raises
        ------
        ValueError
            No such link, a bad value, or a Planner on CostTables.
        """
        self._set_link(link, "latency", seconds)

    def set_ratio(self, tier, ratio) -> None:
        """How many times slower than the reference device `tier` computes. Re-derives its compute row only
        (into a new table: the old one may still be read by a running search).

        Parameters
        ----------
        tier : int or str
            The tier (index or name).
        ratio : float
            The factor, > 0.

        Raises
        ------
        ValueError
            The tier computes with its own measurements (its ratio is not used), or a bad value.
        """
        ratio = bound("ratio", ratio, huge_is_infinite=False)
        with self._write:
            state = self._models()
            a = state.topology.tier(tier, field="tier")
            if a in measured_tiers(state.profile, state.topology):
                raise ValueError(f"tier {state.topology.names[a]!r} computes with device "
                                 f"{state.topology.devices[a]!r}'s own measurements; its ratio is not used")
            self._now = _Answers(state.derive(state.topology.with_ratio(a, ratio), compute=[a]))

    def set_destination(self, tier) -> None:
        """Where results must arrive. Re-derives the result table only.

        Parameters
        ----------
        tier : int or str
            The tier (index or name).
        """
        with self._write:
            state = self._models()
            destination = state.topology.tier(tier, field="destination")
            self._now = _Answers(state.derive(destination=destination, moves={"result"}))

    def set_source(self, tier) -> None:
        """Where samples are produced. Re-derives the input table only.

        Parameters
        ----------
        tier : int or str
            The tier (index or name).
        """
        with self._write:
            state = self._models()
            self._now = _Answers(state.derive(source=state.topology.tier(tier, field="source"), moves={"input"}))

    def set_topology(self, topology: Topology) -> None:
        """A new topology altogether (source and destination keep their indices).

        Parameters
        ----------
        topology : Topology
            The new topology; it must have the source's and the destination's tiers.
        """
        if not isinstance(topology, Topology):
            raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
        with self._write:
            state = self._models()
            topology.tier(state.source, field="source")
            topology.tier(state.destination, field="destination")
            self._now = _Answers(state.derive(topology, compute="all", moves={"input", "forward", "result"}))

    def set_tables(self, tables: CostTables, *, energy=None) -> None:
        """New cost tables for a Planner made on CostTables (Planner.from_tables).

        Parameters
        ----------
        tables : CostTables
            The new tables.
        energy : EnergyTables, optional
            Their energy tables (None: the energy questions are refused until given).

        Raises
        ------
        ValueError
            This Planner derives its tables from a profile and a topology (change those instead).
        """
        tables = check_tables(tables)
        with self._write:
            if self._state.topology is not None:
                raise ValueError("this Planner derives its tables from a profile and a topology; change those")
            self._now = _Answers(_state_on_tables(tables, energy, version=self._state.version + 1))

    def __repr__(self) -> str:
        s = self._state
        if s.topology is None:
            return f"Planner(CostTables N={s.tables.N}, M={s.tables.M}, K={s.tables.K}, backend={self.backend!r})"
        return (f"Planner(N={s.profile.N}, K={s.profile.K}, tiers={s.topology.names}, "
                f"source={s.source}, destination={s.destination}, backend={self.backend!r})")


def _state_on_tables(tables: CostTables, energy, version: int = 0) -> _State:
    """A snapshot of bare CostTables, with their energy tables (checked against them) where given."""
    state = _State(None, None, None, None, tables, version=version)
    if energy is not None:
        state.energy = check_energy_tables(energy, tables.M, tables.N)
    return state


def _planner(profile, topology, source, destination, backend, threads, max_memory, energy=None,
             energy_tiers=None) -> Planner:
    """A one-question Planner on (profile, topology) or on a CostTables, with the energy model asked for:
    energy tables given (`energy`), or whose energy the filler counts (`energy_tiers`, models only)."""
    if energy is not None and energy_tiers is not None:
        raise TypeError("energy and energy_tiers: give one (the energy tables, or whose energy the filler counts)")
    if isinstance(profile, CostTables):
        if topology is not None:
            raise TypeError("topology: not used when planning on CostTables (the tables hold the routes)")
        if energy_tiers is not None:
            raise TypeError("energy_tiers: needs a Profile and a Topology; with CostTables give energy= (EnergyTables)")
        return Planner.from_tables(profile, backend=backend, threads=threads, max_memory=max_memory, energy=energy)
    planner = Planner(profile, topology, source=source, destination=destination, backend=backend, threads=threads,
                      max_memory=max_memory, energy_tiers=energy_tiers)
    if energy is not None:
        tables = planner.tables
        planner._state.energy = check_energy_tables(energy, tables.M, tables.N)
    return planner


def _bound_in_topology_slot(profile, topology, value, field: str):
    """0.1's `min_latency(tables, 0.9)`: with CostTables, a bound given where the topology would go is the
    bound (deprecated: pass it by keyword)."""
    if isinstance(profile, CostTables) and topology is not None and not isinstance(topology, Topology):
        if value is not None:
            raise TypeError(f"{field}: given twice (with CostTables, the second argument is {field})")
        warnings.warn(f"{field} where the topology goes (with CostTables): pass {field} by keyword "
                      f"({field}=...); positional use is removed in {REMOVED_IN}", DeprecationWarning, stacklevel=4)
        return None, topology
    return topology, value


@positional("source", "destination", "backend", "max_memory", "time_limit", "quantile")
def pareto(profile, topology: Topology | None = None, *, source=0, destination=0, quantile=None,
           backend: str = "auto", threads: int = 0, max_memory: int | None = None, time_limit=None,
           max_energy=None, objectives: int = 2, energy=None, energy_tiers=None) -> list:
    """The Pareto frontier as a list of Plans, latency rising (exact search); with objectives=3 that of
    (latency, accuracy, energy).

    Parameters
    ----------
    profile : Profile or CostTables
        The profile, or the cost tables (then `topology` is omitted).
    topology : Topology, optional
        The tiers and links (required with a Profile).
    source, destination : int or str, default 0
        Where samples are produced and results must arrive (tier index or name).
    quantile : float, optional
        None: the mean latency; q in (0, 1]: the frontier of (q-quantile latency, accuracy).
    backend : str, default "auto"
        The search's backend.
    threads : int, default 0
        CPU threads, where the backend takes them (0: one per core).
    max_memory : int, optional
        Bytes the search may take, where the backend takes it.
    time_limit : float, optional
        Seconds (None: no limit).
    max_energy : float, optional
        Only plans spending at most this many joules per sample (None: no bound); needs energy tables.
    energy : EnergyTables, optional
        Energy tables of the same tiers and blocks (docs/model.md "Energy").
    energy_tiers : "source", "all" or list of (int or str), optional
        With a Profile and Topology: fill the energy tables from the topology's powers and radios, counting
        these tiers' energy (`eepart_fast.model.energy_tables`). Give `energy` or this, not both.
    objectives : {2, 3}
        2: the frontier of (latency, accuracy); 3: of (latency, accuracy, energy), needing energy tables.

    Returns
    -------
    list of Plan

    Raises
    ------
    ValueError
        An unknown or unavailable backend, a tier that does not exist, or a bad `quantile`, `threads`,
        `max_memory` or `time_limit`.
    TimeoutError
        The search ran past `time_limit`.

    Examples
    --------
    >>> front = ef.pareto(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> len(front), round(front[-1].accuracy, 4)
    (185, 0.9248)
    """
    quantile = None if quantile is None else check_quantile(quantile)
    planner = _planner(profile, topology, source, destination, backend, threads, max_memory, energy, energy_tiers)
    return planner.pareto(quantile=quantile, time_limit=time_limit, max_energy=max_energy, objectives=objectives)


@positional("min_accuracy", "source", "destination", "backend", "max_memory", "time_limit", "quantile")
def min_latency(profile, topology: Topology | None = None, *, source=0, destination=0, min_accuracy=None,
                quantile=None, backend: str = "auto", threads: int = 0, max_memory: int | None = None,
                time_limit=None, max_energy=None, energy=None, energy_tiers=None) -> Plan | None:
    """P_lat: the fastest plan with accuracy >= min_accuracy (exact search).

    Parameters
    ----------
    profile : Profile or CostTables
        The profile, or the cost tables (then `topology` is omitted).
    topology : Topology, optional
        The tiers and links (required with a Profile).
    source, destination : int or str, default 0
        Where samples are produced and results must arrive (tier index or name).
    min_accuracy : float
        The accuracy bound (required). 10**400 is +inf (no plan), -10**400 is -inf (no bound).
    quantile : float, optional
        None: fastest by the mean latency; q in (0, 1]: by its q-quantile.
    backend : str, default "auto"
        The search's backend.
    threads : int, default 0
        CPU threads, where the backend takes them (0: one per core).
    max_memory : int, optional
        Bytes the search may take, where the backend takes it.
    time_limit : float, optional
        Seconds (None: no limit).
    max_energy : float, optional
        Only plans spending at most this many joules per sample (None: no bound); needs energy tables.
    energy : EnergyTables, optional
        Energy tables of the same tiers and blocks (docs/model.md "Energy").
    energy_tiers : "source", "all" or list of (int or str), optional
        With a Profile and Topology: fill the energy tables from the topology's powers and radios, counting
        these tiers' energy (`eepart_fast.model.energy_tables`). Give `energy` or this, not both.

    Returns
    -------
    Plan or None
        None when no plan reaches the bound.

    Raises
    ------
    TypeError
        No `min_accuracy`, or one that is not a number.
    ValueError
        An unknown or unavailable backend, a tier that does not exist, or a bad `quantile`, `threads`,
        `max_memory` or `time_limit`.
    TimeoutError
        The search ran past `time_limit`.

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> plan = ef.min_latency(profile, topology, min_accuracy=0.9)
    >>> round(plan.latency, 4), round(plan.accuracy, 4)
    (0.094, 0.9129)
    """
    quantile = None if quantile is None else check_quantile(quantile)
    topology, min_accuracy = _bound_in_topology_slot(profile, topology, min_accuracy, "min_accuracy")
    if min_accuracy is None:
        raise TypeError("min_accuracy: required")
    planner = _planner(profile, topology, source, destination, backend, threads, max_memory, energy, energy_tiers)
    return planner.min_latency(min_accuracy=min_accuracy, quantile=quantile, time_limit=time_limit,
                               max_energy=max_energy)


@positional("max_latency", "source", "destination", "backend", "max_memory", "time_limit", "quantile")
def max_accuracy(profile, topology: Topology | None = None, *, source=0, destination=0, max_latency=None,
                 quantile=None, backend: str = "auto", threads: int = 0, max_memory: int | None = None,
                 time_limit=None, max_energy=None, energy=None, energy_tiers=None) -> Plan | None:
    """P_acc: the most accurate plan with latency <= max_latency (s) (exact search).

    Parameters
    ----------
    profile : Profile or CostTables
        The profile, or the cost tables (then `topology` is omitted).
    topology : Topology, optional
        The tiers and links (required with a Profile).
    source, destination : int or str, default 0
        Where samples are produced and results must arrive (tier index or name).
    max_latency : float
        The latency bound (s, required); with `quantile` the bound is on that quantile. 10**400 is +inf
        (no latency bound).
    quantile : float, optional
        None: the mean latency; q in (0, 1]: its q-quantile.
    backend : str, default "auto"
        The search's backend.
    threads : int, default 0
        CPU threads, where the backend takes them (0: one per core).
    max_memory : int, optional
        Bytes the search may take, where the backend takes it.
    time_limit : float, optional
        Seconds (None: no limit).
    max_energy : float, optional
        Only plans spending at most this many joules per sample (None: no bound); needs energy tables.
    energy : EnergyTables, optional
        Energy tables of the same tiers and blocks (docs/model.md "Energy").
    energy_tiers : "source", "all" or list of (int or str), optional
        With a Profile and Topology: fill the energy tables from the topology's powers and radios, counting
        these tiers' energy (`eepart_fast.model.energy_tables`). Give `energy` or this, not both.

    Returns
    -------
    Plan or None
        None when no plan is that fast.

    Raises
    ------
    TypeError
        No `max_latency`, or one that is not a number.
    ValueError
        An unknown or unavailable backend, a tier that does not exist, or a bad `quantile`, `threads`,
        `max_memory` or `time_limit`.
    TimeoutError
        The search ran past `time_limit`.

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> plan = ef.max_accuracy(profile, topology, max_latency=0.2)
    >>> plan.latency <= 0.2, plan.accuracy >= 0.9
    (True, True)
    """
    quantile = None if quantile is None else check_quantile(quantile)
    topology, max_latency = _bound_in_topology_slot(profile, topology, max_latency, "max_latency")
    if max_latency is None:
        raise TypeError("max_latency: required")
    planner = _planner(profile, topology, source, destination, backend, threads, max_memory, energy, energy_tiers)
    return planner.max_accuracy(max_latency=max_latency, quantile=quantile, time_limit=time_limit,
                                max_energy=max_energy)


def min_energy(profile, topology: Topology | None = None, *, source=0, destination=0, min_accuracy=None,
               max_latency=None, backend: str = "auto", threads: int = 0, max_memory: int | None = None,
               time_limit=None, energy=None, energy_tiers=None) -> Plan | None:
    """The plan of least energy with accuracy >= min_accuracy and mean latency <= max_latency, either bound
    optional (exact search; docs/model.md "Energy"): P_lat with energy for latency, so of plans of equal
    energy the most accurate. Needs energy tables: `energy`, or `energy_tiers` to fill them.

    Parameters
    ----------
    profile : Profile or CostTables
        The profile, or the cost tables (then `topology` is omitted).
    topology : Topology, optional
        The tiers and links (required with a Profile).
    source, destination : int or str, default 0
        Where samples are produced and results must arrive (tier index or name).
    min_accuracy : float, optional
        The accuracy bound (None: none).
    max_latency : float, optional
        The mean latency bound in seconds (None: none).
    backend : str, default "auto"
        The search's backend (cpu or numpy: the GPU backends have no energy).
    threads : int, default 0
        CPU threads, where the backend takes them (0: one per core).
    max_memory : int, optional
        Bytes the search may take, where the backend takes it.
    time_limit : float, optional
        Seconds (None: no limit).
    energy : EnergyTables, optional
        Energy tables of the same tiers and blocks.
    energy_tiers : "source", "all" or list of (int or str), optional
        With a Profile and Topology: fill the energy tables counting these tiers' energy. Give `energy` or
        this, not both.

    Returns
    -------
    Plan or None
        None when no plan meets the bounds.

    Raises
    ------
    TypeError
        A bound that is not a number; `energy` and `energy_tiers` together.
    ValueError
        No energy tables, bad ones, an unknown or unavailable backend, or a tier that does not exist.
    TimeoutError
        The search ran past `time_limit`.

    Examples
    --------
    The least the watch's battery spends per sample for 90 % accuracy within 200 ms, on the mobile chain
    with radio and power presets:

    >>> profile, watch = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    >>> plan = ef.min_energy(profile, watch, min_accuracy=0.9, max_latency=0.2, energy_tiers="source")
    >>> round(plan.energy, 4), plan.accuracy >= 0.9, plan.latency <= 0.2
    (0.0387, True, True)
    """
    planner = _planner(profile, topology, source, destination, backend, threads, max_memory, energy, energy_tiers)
    return planner.min_energy(min_accuracy=min_accuracy, max_latency=max_latency, time_limit=time_limit)
