"""Many plans in one call (`plan_many`): a scheduler's or a study's scenarios (per-link bandwidths and
latencies, tier ratios, source, destination, bounds), their cost tables built once per distinct network,
and every search run by the compiled engine in one call per chunk, the GIL released, across threads.

The tables of a network are derived by the Planner's own rules (`_State.derive` on `Topology.with_link` /
`with_ratio`), in one function (`_network_state`); where the networks change only links of a chain, a
chunk's move tables are filled at once instead (`_stacked_moves`: the same formulas on stacked route
matrices, the same bits, no Topology or state per network), and each network's engine tables share the
compute, cum_exit and accuracy tables (`Tables.with_moves`). The cpu backend searches a chunk of scenarios
while the next chunk's tables are built on a second thread. The other backends search one scenario at a time (the
numpy reference is the specification the batch is tested against).

Thread safety: plan_many keeps no state between calls; threads may call it at once, on the same models.
"""
from __future__ import annotations

import concurrent.futures
import functools
import importlib
import math
import numbers
import threading
import time

import numpy as np

from .._checks import MAX_COST, finite_costs, show
from .._checks import threads as check_threads
from .._checks import time_limit as check_time_limit
from ..engine.registry import resolve
from ..model.quantile import check_quantile
from ..model.routes import route_costs
from ..model.tables import measured_tiers
from ._state import _check_models, _search_rows, _State
from .plan import Plan

_core = importlib.import_module("eepart_fast._core")  # by name, as planner.py loads it

__all__ = ["MAX_SCENARIOS", "PlanBatch", "plan_many"]

MAX_SCENARIOS = 10_000_000  # checked before anything else: a batch's columns and answers stay in memory
_PROBLEMS = ("min_latency", "max_accuracy", "frontier", "min_energy")
_LINK_FIELDS = ("bandwidth", "latency")
_FIELDS = ("bandwidth", "latency", "ratio", "source", "destination", "min_accuracy", "max_latency", "max_energy")
_CHUNK = 256  # scenarios per engine call: the next chunk's tables are built meanwhile
_COLUMNS = ("scenario", "latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement")


class PlanBatch:
    """The answers of `plan_many` as columns, one scenario's rows contiguous and in scenario order; Plans
    are made only when asked for (`plan`, `plans`). Made by plan_many, not by hand.

    Parameters
    ----------
    columns : dict of numpy arrays
        "scenario" (each row's scenario index), "latency", "accuracy", "threshold_index",
        "num_partitions", "partitions" and "placement" (rows × most partitions, padded with -1); with
        energy_tiers, "energy" (J per sample) too.
    counts : numpy.ndarray
        Rows per scenario: 0 where no plan meets the scenario's bounds, 1 for min_latency / max_accuracy /
        min_energy otherwise, the frontier's length for "frontier".
    problem : str
        "min_latency", "max_accuracy", "min_energy" or "frontier".
    state_of : callable
        A network's index to the snapshot its plans were found on.
    network : numpy.ndarray
        (scenarios,) each scenario's network index.
    quantile : float or None
        The latency's quantile (None: the mean).

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> batch = ef.plan_many(profile, topology, [{"min_accuracy": 0.9}, {"min_accuracy": 0.99}])
    >>> batch.counts.tolist(), batch.columns["scenario"].tolist(), batch.plan(1) is None
    ([1, 0], [0], True)
    """

    def __init__(self, columns: dict, counts: np.ndarray, problem: str, state_of, network: np.ndarray, quantile):
        self.columns = columns
        self.counts = counts
        self.problem = problem
        self._state_of, self._network, self._quantile = state_of, network, quantile
        self._offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    @property
    def found(self) -> np.ndarray:
        """(scenarios,) bool: whether the scenario has an answer."""
        return self.counts > 0

    def topology(self, i: int):
        """The Topology scenario `i` was planned on (its links and ratios applied).

        Parameters
        ----------
        i : int
            The scenario's index.
        """
        return self._state_of(self._network[self._index(i)]).topology

    def _index(self, i) -> int:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not -len(self) <= i < len(self):
            raise IndexError(f"scenario {i!r}: out of range for {len(self)} scenarios")
        return int(i) % len(self)

    def plans(self, i: int) -> list:
        """Scenario `i`'s answer as Plans (the frontier's points, latency rising; one plan, or none).

        Parameters
        ----------
        i : int
            The scenario's index.
        """
        i = self._index(i)
        state = self._state_of(self._network[i])
        c = self.columns
        out = []
        energy = c.get("energy")
        for r in range(self._offsets[i], self._offsets[i + 1]):
            L = int(c["num_partitions"][r])
            plan = Plan(c["latency"][r], c["accuracy"][r], c["threshold_index"][r],
                        c["partitions"][r, :L].tolist(), c["placement"][r, :L].tolist(), state,
                        quantile=self._quantile)
            if energy is not None:
                plan.energy = float(energy[r])
            out.append(plan)
        return out

    def plan(self, i: int) -> Plan | None:
        """Scenario `i`'s plan (min_latency / max_accuracy batches), None where no plan meets its bounds.

        Parameters
        ----------
        i : int
            The scenario's index.
        """
        if self.problem == "frontier":
            raise ValueError("plan(i): a frontier batch has many plans per scenario; use plans(i)")
        found = self.plans(i)
        return found[0] if found else None

    def __repr__(self) -> str:
        return (f"PlanBatch(problem={self.problem!r}, scenarios={len(self)}, "
                f"found={int(self.found.sum())}, rows={int(self._offsets[-1])})")


# --- the scenarios, read and checked ---------------------------------------------------------------


def _count(scenarios) -> int:
    """How many scenarios, before anything is read (the limit is checked first)."""
    if isinstance(scenarios, dict):
        lengths = {}
        for field, value in scenarios.items():
            for key, column in (value.items() if isinstance(value, dict) else [(None, value)]):
                name = field if key is None else f"{field}[{key!r}]"
                if np.ndim(column) != 1:
                    raise ValueError(f"scenarios: column {name} must be 1-D (one value per scenario), got shape "
                                     f"{np.shape(column)}")
                lengths[name] = len(column)
        if len(set(lengths.values())) > 1:
            raise ValueError(f"scenarios: columns of different lengths ({lengths})")
        n = next(iter(lengths.values()), 0)
    elif isinstance(scenarios, (list, tuple)):
        n = len(scenarios)
    else:
        raise TypeError(f"scenarios: expected a list of dicts or a dict of columns, got {type(scenarios).__name__}")
    if n > MAX_SCENARIOS:
        raise ValueError(f"scenarios: {n} scenarios, more than MAX_SCENARIOS = {MAX_SCENARIOS}; split the batch")
    return n


def _as_columns(scenarios, n: int) -> dict:
    """A list of dicts as the columns form: network fields missing from a scenario are NaN (the topology's
    value), bounds missing are None entries."""
    if isinstance(scenarios, dict):
        for field in scenarios:
            if field not in _FIELDS:
                raise ValueError(f"scenarios: unknown field {field!r}; fields are {', '.join(_FIELDS)}")
        return dict(scenarios)
    cols: dict = {}
    for i, sc in enumerate(scenarios):
        if not isinstance(sc, dict):
            raise TypeError(f"scenarios[{i}]: expected a dict, got {type(sc).__name__}")
        for field, value in sc.items():
            if field not in _FIELDS:
                raise ValueError(f"scenarios[{i}]: unknown field {field!r}; fields are {', '.join(_FIELDS)}")
            if field in ("bandwidth", "latency", "ratio"):
                if not isinstance(value, dict):
                    raise TypeError(f"scenarios[{i}].{field}: expected a dict {{link or tier: value}}, got "
                                    f"{type(value).__name__}")
                for key, v in value.items():
                    if isinstance(key, list):
                        key = tuple(key)
                    col = cols.setdefault(field, {}).setdefault(key, [math.nan] * n)
                    col[i] = _scalar(f"scenarios[{i}].{field}[{key!r}]", v)
            else:
                cols.setdefault(field, [None] * n)[i] = value
    return cols


def _scalar(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} = {show(value)}: expected a number, got {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"{name} = {show(value)}: too large for a float64") from None
    if math.isnan(v):
        raise ValueError(f"{name} = nan: must be a number")
    return v


def _floats(name: str, column, n: int, missing: float) -> np.ndarray:
    """A column of numbers (None: `missing`), or an error naming the first bad scenario."""
    if isinstance(column, np.ndarray) and column.dtype.kind in "fiu":
        arr = column.astype(np.float64)
        nan = np.flatnonzero(np.isnan(arr))
        if nan.size:
            raise ValueError(f"scenarios[{int(nan[0])}].{name} = nan: must be a number")
        return arr
    out = np.empty(n)
    for i, v in enumerate(column):
        out[i] = missing if v is None else _scalar(f"scenarios[{i}].{name}", v)
    return out


def _network_value(name: str, arr: np.ndarray, rule: str) -> None:
    """A bandwidth (> 0), a latency (>= 0) or a ratio (> 0), finite; NaN (not given) passes."""
    given = ~np.isnan(arr)
    bad = given & ~(np.isfinite(arr) & ((arr >= 0) if rule == ">= 0" else (arr > 0)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"scenarios[{i}].{name} = {show(float(arr[i]))}: must be finite and {rule}")


def _tiers(name: str, column, n: int, topology, default: int) -> np.ndarray:
    if column is None:
        return np.full(n, default, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    known: dict = {}
    for i, v in enumerate(column.tolist() if isinstance(column, np.ndarray) else column):
        if v is None:
            out[i] = default
            continue
        key = (type(v), v)
        if key not in known:
            try:
                known[key] = topology.tier(v, field=f"scenarios[{i}].{name}")
            except TypeError as e:
                raise TypeError(str(e)) from None
        out[i] = known[key]
    return out


class _Scenarios:
    """The checked scenarios: the network columns (links and tiers normalised, NaN where not given), the
    tiers and the bounds, and which distinct network each scenario plans on."""

    def __init__(self, base: _State, scenarios, problem: str):
        n = self.n = _count(scenarios)
        cols = _as_columns(scenarios, n)
        listed = not isinstance(scenarios, dict)
        topo, profile = base.topology, base.profile
        # Each column of the network: (kind, key, values): a link's bandwidth or latency, a tier's ratio.
        self.network: list = []
        seen: dict = {}
        for field in ("bandwidth", "latency", "ratio"):
            given = cols.get(field, {})
            if not isinstance(given, dict):
                raise TypeError(f"scenarios: {field} must be a dict {{link or tier: column}}, got "
                                f"{type(given).__name__}")
            for key, column in given.items():
                where = f"{field}[{key!r}]"
                if field == "ratio":
                    norm = topo.tier(key, field=f"scenarios: {where}: tier")
                    if norm in measured_tiers(profile, topo):
                        raise ValueError(f"scenarios: {where}: tier {topo.names[norm]!r} computes with device "
                                         f"{topo.devices[norm]!r}'s own measurements; its ratio is not used")
                else:
                    try:
                        norm = topo.link_index(tuple(key) if isinstance(key, list) else key)
                    except (TypeError, ValueError) as e:
                        raise type(e)(f"scenarios: {where}: {e}") from None
                if (field, norm) in seen:
                    raise ValueError(f"scenarios: {where} and {field}[{seen[field, norm]!r}] name the same "
                                     f"{'tier' if field == 'ratio' else 'link'}")
                seen[field, norm] = key
                # From a list of dicts NaN marks a scenario that keeps the topology's value (each given
                # value was checked as it was read); in a column it is an error.
                arr = np.asarray(column, dtype=np.float64) if listed else _floats(where, column, n, math.nan)
                _network_value(where, arr, ">= 0" if field == "latency" else "> 0")
                self.network.append((field, key, arr))
        self.source = _tiers("source", cols.get("source"), n, topo, base.source)
        self.destination = _tiers("destination", cols.get("destination"), n, topo, base.destination)
        need = {"min_latency": "min_accuracy", "max_accuracy": "max_latency"}.get(problem)
        if need is not None and need not in cols and n:
            raise ValueError(f"scenarios: problem={problem!r} needs {need} in every scenario; none has it")
        lo, hi = cols.get("min_accuracy"), cols.get("max_latency")
        self.min_accuracy = np.full(n, -math.inf) if lo is None else _floats("min_accuracy", lo, n, math.nan)
        self.max_latency = np.full(n, math.inf) if hi is None else _floats("max_latency", hi, n, math.nan)
        if need is not None and n:
            missing = np.flatnonzero(np.isnan(self.min_accuracy if need == "min_accuracy" else self.max_latency))
            if missing.size:
                raise ValueError(f"scenarios[{int(missing[0])}]: {need} missing (problem={problem!r} needs it)")
        self.min_accuracy[np.isnan(self.min_accuracy)] = -math.inf
        self.max_latency[np.isnan(self.max_latency)] = math.inf
        cap = cols.get("max_energy")  # None: no scenario bounds its energy
        self.max_energy = None if cap is None else _floats("max_energy", cap, n, math.inf)
        # The distinct networks, by value: each is built and its tables checked once.
        key = np.column_stack([a for _, _, a in self.network] + [self.source, self.destination]) if n else \
            np.zeros((0, 2))
        self.keys, self.inverse = np.unique(key, axis=0, return_inverse=True)
        self.inverse = self.inverse.reshape(-1).astype(np.int64)


def _network_state(base: _State, network: list, row: np.ndarray, since: np.ndarray | None = None) -> _State:
    """The state of one network: `base` with the row's links and ratios, source and destination (the row's
    last two entries), its tables derived by the Planner's rules, as a Planner given the same changes holds
    them. `since`: the row `base` was built for (a neighbouring network with the same fields given), so only
    the entries that differ are changed, as a Planner re-planning from one to the other would; None: `base`
    is the batch's own, and every given entry is applied."""
    topo = base.topology
    links, ratios = {}, []
    values = row.tolist()  # Python floats: numpy scalars cost more to compare and convert
    before = since.tolist() if since is not None else None
    for j, ((field, key, _), v) in enumerate(zip(network, values)):
        if math.isnan(v) or (before is not None and before[j] == v):  # NaN: not given
            continue
        if field == "ratio":
            ratios.append((key, v))
        else:
            links.setdefault(key, {})[field] = v
    for key, change in links.items():
        topo = topo.with_link(key, **change)
    for key, v in ratios:
        topo = topo.with_ratio(key, v)
    source, destination = int(values[-2]), int(values[-1])
    compute = sorted({topo.tier(k) for k, _ in ratios}) if ratios else None
    moves = set()
    if links:
        moves |= {"input", "forward", "result"}
    if source != base.source:
        moves.add("input")
    if destination != base.destination:
        moves.add("result")
    if since is not None and not (links or ratios or moves):
        return base
    state = base.derive(topo, source=source, destination=destination, compute=compute, moves=moves)
    _check_costs(state)
    return state


def _chain_links(base: _State, network: list) -> list | None:
    """[(field, link j)] per network column where every column is a link's bandwidth or latency on a chain
    with its routes (what _stacked_moves fills), else None."""
    topo = base.topology
    if topo.links is None or topo._routes() is None or base.filler is None:
        return None
    compute = base.tables.compute_cost
    if compute.size and not np.max(compute) <= MAX_COST:  # a refused table: each network says so, one at a time
        return None
    out = []
    for field, key, _ in network:
        if field not in _LINK_FIELDS:
            return None
        out.append((field, topo.link_index(key)[1]))
    return out


def _chain_values(base: _State, links: list, keys: np.ndarray) -> tuple:
    """(bandwidth, latency, given, ok) of the chain's links in the networks `keys` (rows of _Scenarios.keys):
    (U, M-1) each, the base's value where a network gives none; ok[k] is False where network k has a value
    with_link checks or converts (not a finite bandwidth > 0 with a finite inverse, a latency not in
    [0, inf), -0.0): with_link makes such a network, one at a time."""
    topo = base.topology
    U = keys.shape[0]
    bw = np.tile(np.asarray(topo.links["bandwidth"], dtype=np.float64), (U, 1))
    lat = np.tile(np.asarray(topo.links["latency"], dtype=np.float64), (U, 1))
    given = np.zeros(bw.shape, dtype=bool)
    for c, (field, j) in enumerate(links):
        v = keys[:, c]
        has = ~np.isnan(v)
        (bw if field == "bandwidth" else lat)[has, j] = v[has]
        given[has, j] = True
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        ok = np.all((bw > 0) & (bw < math.inf) & (1.0 / bw < math.inf) & (lat >= 0) & (lat < math.inf)
                    & ~np.signbit(lat), axis=1)
    return bw, lat, given, ok


def _stacked_moves(base: _State, links: list, keys: np.ndarray) -> tuple:
    """((input, forward, result) stacked over the networks `keys` (rows of _Scenarios.keys), ok): each
    network's move tables as `base.derive` fills them after `with_link` on each given link, to the bit,
    without a Topology or a state per network: the crossed routes re-summed by route_costs (fsum's
    correctly rounded sums, as route_cost's), the tables by MoveFiller.all on the stacked route matrices.
    ok[k] is False where network k needs the one-at-a-time path: a value _chain_values leaves to it, a
    route that overflows, or a move cost over the rule's MAX_COST (that path raises the error, naming the
    place)."""
    topo = base.topology
    U = keys.shape[0]
    bw, lat, given, ok = _chain_values(base, links, keys)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        bw[~ok], lat[~ok] = 1.0, 0.0  # filled below like the others, then left to the one-at-a-time path
        pl = np.repeat(topo.path_latency[None], U, axis=0)
        inv = np.repeat(topo.path_inv_bandwidth[None], U, axis=0)
        for (a, b), path in topo._routes().paths.items():
            js = [min(x, y) for x, y in zip(path[:-1], path[1:])]
            crossed = given[:, js].any(axis=1)
            if crossed.any():
                latency, inverse = route_costs([(bw[:, j], lat[:, j]) for j in js], topo.route_rule, topo.mtu_bits)
                pl[:, a, b] = np.where(crossed, latency, pl[:, a, b])
                inv[:, a, b] = np.where(crossed, inverse, inv[:, a, b])
        ok &= np.isfinite(pl).all(axis=(1, 2)) & np.isfinite(inv).all(axis=(1, 2))
        source, destination = keys[:, -2].astype(np.int64), keys[:, -1].astype(np.int64)
        M, N = topo.M, base.profile.N
        inp, fwd, res = np.empty((U, M)), np.empty((U, N, M, M)), np.empty((U, M))
        for src, dst in np.unique(np.column_stack([source, destination]), axis=0).tolist():
            g = (source == src) & (destination == dst)
            inp[g], fwd[g], res[g] = base.filler.all(pl[g], inv[g], src, dst)
        largest = np.maximum(np.maximum(inp.max(axis=1), fwd.reshape(U, -1).max(axis=1)), res.max(axis=1))
    ok &= largest <= MAX_COST  # nan fails too
    return (inp, fwd, res), ok


def _check_costs(state: _State) -> None:
    """The model's cost rule on a network's tables, as a single search checks it (_search_rows): through the
    snapshot's own check where it has one (it checks only the tables new since its parent), else in full."""
    check = getattr(state, "check_costs", None)
    if check is not None:
        check()
    else:
        finite_costs(state.tables)


# --- the searches --------------------------------------------------------------------------------


def _cut(rows: dict, problem: str) -> dict:
    n = rows["latency"].shape[0]
    if problem == "frontier" or n == 0:
        return rows
    i = 0 if problem == "min_latency" else n - 1
    return {k: v[i:i + 1] for k, v in rows.items()}


def _loop(backend, batch: _Batch, which: np.ndarray, lo, hi, cap, problem, quantile, threads, max_memory,
          time_limit) -> list:
    """One search per scenario (the backends without a batch entry point)."""
    parts = []
    deadline = time.monotonic() + time_limit
    goal = "min_energy" if problem == "min_energy" else "frontier"
    for i in which.tolist():
        left = deadline - time.monotonic()
        state = batch.state(batch.sc.inverse[i])
        energy = None if batch.energy_tiers is None else state.energy_tables(batch.energy_tiers)
        rows = _cut(_search_rows(backend, max_memory, state, float(lo[i]), float(hi[i]),
                                 max(left, 1e-9) if math.isfinite(left) else math.inf, quantile, threads, energy,
                                 math.inf if cap is None else float(cap[i]), goal), problem)
        if goal == "min_energy" and cap is not None and rows["energy"].shape[0] and not rows["energy"][0] <= cap[i]:
            rows = {k: v[:0] for k, v in rows.items()}  # the least energy is over the bound: no plan within it
        rows["scenario"] = np.full(rows["latency"].shape[0], i, dtype=np.int64)
        parts.append(rows)
    return parts


def _batched(batch: _Batch, which: np.ndarray, lo, hi, cap, problem, quantile, threads, max_memory,
             time_limit) -> list:
    """The cpu engine's batch entry point, a chunk of networks per call, the next chunk built on a second
    thread meanwhile (the engine releases the GIL). The engine runs on the calling thread, so Ctrl-C reaches
    it; the builder stops at its next network."""
    inverse = batch.sc.inverse[which]
    order = np.argsort(inverse, kind="stable")
    nets, starts = np.unique(inverse[order], return_index=True)  # the networks searched, in order
    starts = np.append(starts, order.shape[0])
    # Chunk k is nets[bounds[k]:bounds[k + 1]]: about _CHUNK scenarios each, a network never split.
    cuts = np.searchsorted(starts, np.arange(_CHUNK, order.shape[0], _CHUNK), side="left")
    bounds = np.unique(np.concatenate([[0], cuts, [nets.shape[0]]])).tolist() if nets.shape[0] else [0]
    stop = threading.Event()

    def build(k: int) -> list:
        return batch.engine_tables_many(nets[bounds[k]:bounds[k + 1]].tolist(), stop)

    extra = {} if max_memory is None else {"max_memory": max_memory}
    if cap is not None:
        extra["max_energy"] = cap
    deadline = time.monotonic() + time_limit
    parts = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        try:
            tables = build(0) if len(bounds) > 1 else []
            for k in range(len(bounds) - 1):
                ahead = pool.submit(build, k + 1) if k + 2 < len(bounds) else None
                rank = order[starts[bounds[k]]:starts[bounds[k + 1]]]
                idx = which[rank]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"plan_many: stopped at its time limit (time_limit = {time_limit:g} s) "
                                       "without an answer; raise time_limit, or plan fewer scenarios")
                local = np.searchsorted(nets[bounds[k]:bounds[k + 1]], inverse[rank])
                if cap is not None:
                    extra["max_energy"] = cap[idx]
                rows = _core.pareto_many(tables, local, lo[idx], hi[idx], answer=problem, threads=threads,
                                         time_limit=left if math.isfinite(left) else None, quantile=quantile,
                                         **extra)
                rows.pop("counts")
                rows["scenario"] = idx[rows["scenario"]]
                parts.append(rows)
                tables = ahead.result() if ahead is not None else []
        finally:
            stop.set()
    return parts


class _Batch:
    """Checked scenarios on one base network, their networks' states built once each, on demand: several
    searches (P_lat, P_acc, the frontier; subsets of the scenarios) share them. Not shared between threads."""

    def __init__(self, profile, topology, scenarios, *, source, destination, problem: str, energy_tiers=None):
        _check_models(profile, topology)
        _count(scenarios)  # the limit, before the base tables are built
        self.base = _State.of(profile, topology, source, destination)
        self.sc = _Scenarios(self.base, scenarios, problem)
        self.energy_tiers = energy_tiers
        if energy_tiers is not None:
            self.base.energy_tables(energy_tiers)  # a bad energy_tiers is refused before any network is built
        elif problem == "min_energy" or self.sc.max_energy is not None:
            raise ValueError(f"{'problem=' + repr(problem) if problem == 'min_energy' else 'scenarios: max_energy'}"
                             ": needs an energy model; give energy_tiers= ('source', 'all' or a list of tiers: "
                             "whose energy counts)")
        self.states: list = [None] * len(self.sc.keys)
        self._tables: dict = {}
        self.lmax = min(profile.N, topology.M)
        self._links = _chain_links(self.base, self.sc.network)
        self._root = None  # the engine tables the stacked networks share compute, cum_exit and accuracy with

    def state(self, u: int) -> _State:
        """Network u's state, built from network u - 1's where that one is built and gives the same fields
        (the networks are sorted: neighbours mostly differ in one link), else from the base."""
        if self.states[u] is None:
            keys = self.sc.keys
            near = u > 0 and self.states[u - 1] is not None and \
                np.array_equal(np.isnan(keys[u]), np.isnan(keys[u - 1]))
            self.states[u] = _network_state(self.states[u - 1], self.sc.network, keys[u], keys[u - 1]) if near \
                else _network_state(self.base, self.sc.network, keys[u])
        return self.states[u]

    def engine_tables(self, u: int):
        """Network u's tables in the engine's form, built and checked once (the GIL released for the check);
        with energy_tiers, carrying the network's energy tables (filled whole from its state, the Planner's
        way: docs/model.md "In the engines")."""
        if u not in self._tables:
            state = self.state(u)
            if self.energy_tiers is None:
                self._tables[u] = state.engine_tables()
            else:
                _check_costs(state)
                self._tables[u] = _core.Tables(*state.tables, energy=state.energy_tables(self.energy_tiers))
        return self._tables[u]

    def engine_tables_many(self, us: list, stop: threading.Event | None = None) -> list:
        """engine_tables of each network in `us`: on a chain whose networks change only links, their move
        tables filled at once, stacked (_stacked_moves: no Topology or state per network; the same bits);
        a network the stacked fill leaves out (a value it does not take, a cost the rule refuses) is built
        one at a time, so that its error is the one a Planner gives. `stop` set: [] (the caller stopped)."""
        todo = [u for u in us if u not in self._tables]
        if self._links is not None and len(todo) > 1 and self.energy_tiers is None:
            moved, ok = _stacked_moves(self.base, self._links, self.sc.keys[todo])
            base = self.base.tables
            for k in np.flatnonzero(ok).tolist():
                if self._root is None:
                    self._root = _core.Tables(moved[0][k], base.compute_cost, moved[1][k], moved[2][k],
                                              base.cum_exit, base.accuracy)
                    self._tables[todo[k]] = self._root
                else:
                    self._tables[todo[k]] = self._root.with_moves(moved[0][k], moved[1][k], moved[2][k])
        out = []
        for u in us:
            if stop is not None and stop.is_set():
                return []
            out.append(self.engine_tables(u))
        return out

    def topology(self, i: int):
        return self.state(self.sc.inverse[i]).topology

    def chain_links(self) -> tuple | None:
        """(bandwidth, latency, ok) of every network's chain links, (networks, M-1) each, where the networks
        change only links of a chain (else None): the links `topology(i)` holds where ok (a study hashes
        the networks from them, with no Topology made)."""
        if self._links is None:
            return None
        bw, lat, _, ok = _chain_values(self.base, self._links, self.sc.keys)
        return bw, lat, ok

    def search(self, problem: str, *, which=None, min_accuracy=None, max_latency=None, max_energy=None,
               quantile=None, backend: str = "cpu", threads: int = 0, max_memory=None, time_limit=math.inf) -> tuple:
        """(columns, counts) of the scenarios `which` (all: None), with the scenarios' own bounds unless
        given (arrays over all scenarios; max_energy's None: the scenarios' own, which may be none)."""
        sc = self.sc
        which = np.arange(sc.n, dtype=np.int64) if which is None else np.asarray(which, dtype=np.int64)
        lo = sc.min_accuracy if min_accuracy is None else min_accuracy
        hi = sc.max_latency if max_latency is None else max_latency
        cap = sc.max_energy if max_energy is None else max_energy
        if quantile is not None and (problem == "min_energy" or cap is not None and np.isfinite(cap[which]).any()):
            raise ValueError(f"quantile = {quantile}: the energy questions (max_energy, problem='min_energy') take "
                             "the mean latency only (the quantile search carries no energy)")
        run = _batched if backend == "cpu" else functools.partial(_loop, backend)
        parts = run(self, which, lo, hi, cap, problem, quantile, threads, max_memory, time_limit)
        return _assemble(parts, sc.n, self.lmax, self.energy_tiers is not None)


def _assemble(parts: list, n: int, lmax: int, energy: bool = False) -> tuple:
    """The parts' rows in scenario order (rows of a scenario keep their order), and the counts; `energy`:
    with the energy column."""
    parts = [p for p in parts if p["latency"].shape[0]]
    if not parts:
        cols = {"scenario": np.zeros(0, np.int64), "latency": np.zeros(0), "accuracy": np.zeros(0),
                "threshold_index": np.zeros(0, np.int32), "num_partitions": np.zeros(0, np.int32),
                "partitions": np.zeros((0, lmax), np.int32), "placement": np.zeros((0, lmax), np.int32)}
        if energy:
            cols["energy"] = np.zeros(0)
        return cols, np.zeros(n, np.int64)
    cols = {}
    for k in _COLUMNS + (("energy",) if energy else ()):
        arrs = [np.asarray(p[k]) for p in parts]
        if k in ("partitions", "placement"):
            arrs = [np.pad(a, ((0, 0), (0, lmax - a.shape[1])), constant_values=-1) if a.shape[1] < lmax else a
                    for a in arrs]
        cols[k] = np.concatenate(arrs)
    order = np.argsort(cols["scenario"], kind="stable")
    if not np.array_equal(order, np.arange(order.shape[0])):
        cols = {k: v[order] for k, v in cols.items()}
    cols["latency"] = cols["latency"].astype(np.float64, copy=False)
    cols["accuracy"] = cols["accuracy"].astype(np.float64, copy=False)
    if energy:
        cols["energy"] = cols["energy"].astype(np.float64, copy=False)
    for k in ("threshold_index", "num_partitions", "partitions", "placement"):
        cols[k] = cols[k].astype(np.int32, copy=False)
    return cols, np.bincount(cols["scenario"], minlength=n).astype(np.int64)


def plan_many(profile, topology, scenarios, *, problem: str = "min_latency", source=0, destination=0,
              quantile=None, backend: str = "auto", threads: int = 0, max_memory: int | None = None,
              time_limit=None, energy_tiers=None) -> PlanBatch:
    """Many plans in one call: each scenario's network (links, ratios, source, destination) and bounds,
    answered exactly as a Planner given the same changes would answer it, for a fraction of the cost.

    The scenarios' distinct networks are built once each (the Planner's rules); the cpu backend then runs
    every search in its compiled batch entry point, the GIL released, each search on one thread and the
    scenarios spread over `threads` (the next chunk's tables are built meanwhile). The other backends
    search one scenario at a time.

    Parameters
    ----------
    profile : Profile
        The network's blocks and exits.
    topology : Topology
        The base network; each scenario changes some of its links and tiers.
    scenarios : list of dict, or dict of columns
        Each scenario as a dict, or the same fields as columns (one array per field, the faster form):

        - ``"bandwidth"``: ``{link: bit/s}`` (a link as `Planner.set_bandwidth` names it); columns:
          ``{link: array}``;
        - ``"latency"``: ``{link: s}``; ``"ratio"``: ``{tier: factor}``;
        - ``"source"``, ``"destination"``: a tier (index or name);
        - ``"min_accuracy"``, ``"max_latency"`` (s), ``"max_energy"`` (J per sample; needs `energy_tiers`):
          the bounds.

        What a scenario does not give is the topology's (and the `source` / `destination` keywords');
        a bound not given is no bound. min_latency needs min_accuracy in every scenario, max_accuracy
        needs max_latency; given both, the answer meets both (and max_energy where given).
    problem : {"min_latency", "max_accuracy", "frontier", "min_energy"}, default "min_latency"
        P_lat's plan, P_acc's plan, the frontier within the bounds, or the plan of least energy within
        them (`Planner.min_energy`'s; needs `energy_tiers`).
    source, destination : int or str, default 0
        The tiers of scenarios that do not name theirs.
    quantile : float, optional
        None: the mean latency; q in (0, 1]: its q-quantile, for every scenario.
    backend : str, default "auto"
        The search's backend ("cpu" has the batch entry point).
    threads : int, default 0
        Threads the scenarios are spread over (0: one per core); each search runs on one.
    max_memory : int, optional
        Bytes each scenario's search may take (cpu: 2 GiB unless given); so up to `threads` times it at once.
    time_limit : float, optional
        Seconds for the whole batch (None: none).
    energy_tiers : "source", "all" or list of (int or str), optional
        Whose energy counts (as the Planner's): each network's energy tables are filled from the
        topology's powers and radios, the answers carry an "energy" column (J per sample) and their Plans
        `energy`, and scenarios may bound it (max_energy) or ask for its least (problem="min_energy").
        None: no energy (max_energy and min_energy refused).

    Returns
    -------
    PlanBatch
        Columns, rows of one scenario contiguous; `plan(i)` / `plans(i)` make Plans on demand.

    Raises
    ------
    TypeError, ValueError
        More than MAX_SCENARIOS scenarios (checked first); a field, link, tier or value that is not
        valid, named with the scenario's index (``scenarios[3].bandwidth[0] = -1.0: ...``); a bad
        `problem`, `quantile`, `threads`, `max_memory` or `time_limit`; max_energy or min_energy without
        `energy_tiers`, or with a `quantile` (the energy questions take the mean latency only).
    TimeoutError
        The batch ran past `time_limit`.

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> batch = ef.plan_many(profile, topology, {"bandwidth": {0: [1e5, 1e6, 1e8]},
    ...                                          "min_accuracy": [0.9, 0.9, 0.99]})
    >>> batch.counts.tolist()
    [1, 1, 0]
    >>> batch.plan(1).latency == ef.Planner(profile, topology.with_link(0, bandwidth=1e6)).min_latency(
    ...     min_accuracy=0.9).latency
    True

    With energy: at most 10 mJ of the watch's battery per sample, at two Bluetooth speeds; at the slower
    one, offloading costs more, so the plan stays on the watch.

    >>> watch = ef.Topology.preset("mobile-energy")
    >>> capped = ef.plan_many(profile, watch, {"bandwidth": {0: [5e5, 5e6]}, "min_accuracy": [0.9, 0.9],
    ...                                        "max_energy": [0.01, 0.01]}, energy_tiers="source")
    >>> capped.plan(0).tier_names, capped.plan(1).tier_names, capped.columns["energy"].round(4).tolist()
    (('smartwatch',), ('smartphone',), [0.0, 0.0039])
    """
    if problem not in _PROBLEMS:
        raise ValueError(f"problem = {problem!r}: must be one of {', '.join(map(repr, _PROBLEMS))}")
    _count(scenarios)  # the limit first
    quantile = None if quantile is None else check_quantile(quantile)
    threads = check_threads(threads)
    time_limit = check_time_limit(time_limit)
    max_memory = None if max_memory is None else _core.check_max_memory(max_memory)
    backend = resolve(backend, "pareto")
    batch = _Batch(profile, topology, scenarios, source=source, destination=destination, problem=problem,
                   energy_tiers=energy_tiers)
    columns, counts = batch.search(problem, quantile=quantile, backend=backend, threads=threads,
                                   max_memory=max_memory, time_limit=time_limit)
    return PlanBatch(columns, counts, problem, batch.state, batch.sc.inverse, quantile)
