"""Plan tables: the optimal plan of P_lat or P_acc over a range of one network parameter, exactly.

A configuration's latency is affine in x, the parameter's *affine coordinate*: 1/bandwidth of a link,
a link's latency, a tier's ratio, or 1/s when every bandwidth is scaled by s (docs/model.md: every table
entry is a latency plus bits x a sum of 1/bandwidths, or ratio x block sums). Every slope is >= 0: a
slower network never makes a configuration faster. So:

- P_lat's latency is the lower envelope of the feasible configurations' lines (the feasible set does not
  depend on x). A plan optimal at both ends of an interval is optimal inside it; if the ends' plans
  differ, their lines cross at x*, and a search at x* either finds nothing below the crossing (x* is a
  breakpoint) or a plan strictly below it, which splits the interval in two. Each search finds a
  breakpoint or a new piece of the envelope: searches = O(breakpoints).
- P_acc's accuracy falls as x rises (feasible sets only shrink). At an accuracy level ell the plan is P_lat
  with bound ell (the envelope above), until that envelope crosses the latency bound; there the next
  level is the next frontier point below ell (one search). Searches = O(breakpoints) again.

Breakpoints are computed from the two lines (their values at the ends of the interval, in float64) and
checked: the engine is searched at every breakpoint and its answer must tie (1e-12 relative) with both
neighbours' plans; where P_acc's accuracy jumps (a plan's latency reaching the bound), the breakpoint is
then placed to the ulp by the engine's own evaluation of that plan. Where a route rule makes a table
entry only piecewise affine (bottleneck: 1/min of the route's bandwidths), the range is cut at the other
links' bandwidths first and each piece solved alone.

Ties follow the engine: at a breakpoint the table holds the plan the engine returns there (`point_plan`).
A plan table only reads its Planner's snapshot; it is safe to build from several threads.
"""
from __future__ import annotations

import bisect
import math
import time
from typing import NamedTuple

import numpy as np

from .._checks import bound, finite_costs, timed_out
from .._checks import time_limit as check_time_limit
from .._deprecated import positional
from ..engine.frontier import RTOL
from ..engine.registry import get_backend
from ..io.format import digits
from ..model.routes import route_cost
from ..model.tables import measured_tiers
from ._state import _search_rows
from .plan import Plan
from .plot import display_unit, plot_plan_table

PARAMETERS = ("bandwidth", "latency", "ratio", "scale")
PROBLEMS = ("min_latency", "max_accuracy")
SNAP_BITS = 1100  # bound of the bracket doublings and bisections placing a P_acc breakpoint (float64 range)
MAX_SEARCHES = 100_000  # a table stops (RuntimeError) past this many engine searches, or 4x as many steps


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * max(abs(a), abs(b))


class _Pt(NamedTuple):
    """A parameter value v and its affine coordinate x."""
    x: float
    v: float


class _Choice(NamedTuple):
    """An engine's answer: the configuration (t, P, A) and its accuracy."""
    config: tuple
    accuracy: float


class PlanTableRow(NamedTuple):
    """One interval [low, high] of the parameter (its own unit, low < high; low == high only in the one row
    of a zero-width range) and the plan optimal on it (None fields where no plan meets the bound).

    Rows are made by Planner.plan_table; `config` is the plan's (t, P, A), or None.

    Parameters
    ----------
    low, high : float
        The interval, in the parameter's unit (bit/s, s or a factor).
    threshold_index : int or None
        The plan's t.
    partitions : tuple of int or None
        The plan's P (end blocks).
    placement : tuple of int or None
        The plan's A (tier indices).
    tier_names : tuple of str or None
        The names of the plan's tiers.
    accuracy : float or None
        The plan's accuracy.
    latency_low, latency_high : float or None
        The plan's latency (s) at low and at high; in between it is affine in the parameter's affine
        coordinate (1/value for a bandwidth or a scale, the value itself for a latency or a ratio).
    energy_low, energy_high : float or None
        The plan's energy (J per sample, the Planner's energy_tiers) at low and at high, affine in the same
        coordinate in between (docs/model.md "Affine in a parameter"); None on a Planner without
        energy_tiers.

    Examples
    --------
    >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> row = planner.plan_table("bandwidth", 0, 1e5, 1e8, min_accuracy=0.9).rows[-1]
    >>> row.high, row.accuracy >= 0.9, row.config == (row.threshold_index, row.partitions, row.placement)
    (100000000.0, True, True)
    """
    low: float
    high: float
    threshold_index: int | None
    partitions: tuple | None
    placement: tuple | None
    tier_names: tuple | None
    accuracy: float | None
    latency_low: float | None
    latency_high: float | None
    energy_low: float | None = None
    energy_high: float | None = None

    @property
    def config(self):
        return None if self.partitions is None else (self.threshold_index, self.partitions, self.placement)


def _number(name: str, value) -> float:
    """A plan table's bound or value: a finite number (an int such as 10**400, which no float holds, is
    refused by name, as inf is)."""
    value = bound(name, value, huge_is_infinite=False)
    if not math.isfinite(value):
        raise ValueError(f"{name} = {value}: must be a finite number")
    return value


class _Parameter:
    """One network parameter of a Planner's snapshot: how a value of it becomes a network state."""

    def __init__(self, state, parameter: str, target):
        if parameter not in PARAMETERS:
            raise ValueError(f"parameter = {parameter!r}: one of {', '.join(PARAMETERS)}")
        topo = state.topology
        if topo is None:
            raise ValueError("this Planner plans on CostTables: there is no network parameter to vary")
        self.state, self.parameter, self.topology = state, parameter, topo
        self.where = None
        if parameter in ("bandwidth", "latency"):
            self.where = topo.link_index(target)
            kind, i = self.where
            if kind == "graph":
                a, b = topo.graph["links"][i][:2]
                if sum({x, y} == {a, b} for x, y, _, _ in topo.graph["links"]) > 1:
                    raise ValueError(f"link = {target!r}: tiers {a} and {b} are joined by parallel links; which one "
                                     "a route takes depends on their values, so its cost is not affine in one")
                if parameter == "latency" and topo.graph["routes"] == "shortest" and \
                        topo.graph.get("route_by", "latency") == "latency":
                    raise ValueError(f"link = {target!r}: routes are chosen by latency in this graph, so a link's "
                                     "latency changes the routes; give the routes or route_by: hops to vary it")
        elif parameter == "ratio":
            self.where = topo.tier(target, field="tier")
            if self.where in measured_tiers(state.profile, topo):
                raise ValueError(f"tier {topo.names[self.where]!r} computes with device "
                                 f"{topo.devices[self.where]!r}'s own measurements; its ratio is not used")
        elif target is not None:
            raise ValueError(f"scale: scales every bandwidth, takes no link (got {target!r})")
        self.inverse = parameter in ("bandwidth", "scale")
        self._states: dict = {}
        self._tables: dict = {}

    def check_range(self, low, high) -> tuple:
        low, high = _number("low", low), _number("high", high)
        positive = self.parameter != "latency"
        for name, v in (("low", low), ("high", high)):
            if v < 0 or (positive and v == 0):
                raise ValueError(f"{name} = {v}: a {self.parameter} must be {'> 0' if positive else '>= 0'}")
        if not low <= high:  # low == high: one value, one row (as is a range narrower than x's float)
            raise ValueError(f"low = {low}, high = {high}: the range needs low < high (or low == high)")
        return low, high

    def point(self, v: float) -> _Pt:
        return _Pt(1.0 / v if self.inverse else v, v)

    def at_x(self, x: float) -> _Pt:
        return _Pt(x, 1.0 / x if self.inverse else x)

    def _link_values(self, topo, field: int):
        """Every link's (or route's) value of field 2 (bandwidth) or 3 (latency) in `topo`."""
        if topo.links is not None:
            return list(topo.links["bandwidth" if field == 2 else "latency"])
        if topo.graph is not None:
            return [link[field] for link in topo.graph["links"]]
        return None

    def kinks(self, low: float, high: float) -> list:
        """Values inside (low, high) where some table entry stops being affine: with the bottleneck rule, a
        link's 1/bandwidth counts only while it is a route's slowest, so the other links' bandwidths cut."""
        if self.parameter != "bandwidth" or self.topology.route_rule != "bottleneck" or self.where[0] == "route":
            return []
        values = self._link_values(self.topology, 2)
        others = {v for i, v in enumerate(values) if i != self.where[1]}
        return sorted(v for v in others if low < v < high)

    def value_of(self, topology) -> float:
        """This parameter's value in `topology` (for scale: its bandwidths over the planner's)."""
        if self.parameter == "ratio":
            return float(topology.ratio[self.where])
        if self.parameter == "scale":
            mine, base = topology.path_inv_bandwidth, self.topology.path_inv_bandwidth
            i = np.flatnonzero(mine.ravel())
            return float(base.ravel()[i[0]] / mine.ravel()[i[0]]) if i.size else 1.0
        kind, where = self.where
        field = 2 if self.parameter == "bandwidth" else 3
        if kind == "route":
            a, b = where
            if field == 2:
                return 1.0 / float(topology.path_inv_bandwidth[a, b])
            return float(topology.path_latency[a, b])
        return float(self._link_values(topology, field)[where])

    def _topology(self, v: float):
        topo = self.topology
        if self.parameter == "bandwidth":
            return topo.with_link(self._target(), bandwidth=v)
        if self.parameter == "latency":
            return topo.with_link(self._target(), latency=v)
        if self.parameter == "ratio":
            return topo.with_ratio(self.where, v)
        scaled = topo._scaled(v)
        if scaled is not None:
            return scaled
        if topo.links is not None:  # a value the quick path leaves to the rebuild's checks
            return topo.replace(bandwidth=[b * v for b in topo.links["bandwidth"]])
        if topo.graph is not None:
            return topo.replace(links=[[a, b, bw * v, lat] for a, b, bw, lat in topo.graph["links"]])
        return topo.replace(path_inv_bandwidth=(topo.path_inv_bandwidth / v).tolist())

    def _target(self):
        return self.where[1]  # a link's index, or a route's (a, b)

    def tables_at(self, v: float):
        """The cost tables with the parameter at v, as state_at(v) holds them (the same fillers, so the
        same bits), but for a link's value without building a Topology or a snapshot: only the route
        matrices' entries that cross the link are re-summed, then the move tables filled. Evaluating a plan
        at many values (the crossings placed to the ulp) costs this, not a rebuild of the network."""
        state = self._states.get(v)
        if state is not None:
            return state.tables
        tables = self._tables.get(v)
        if tables is None:
            if self.parameter not in ("bandwidth", "latency"):
                return self.state_at(v).tables
            change = (v, None) if self.inverse else (None, v)
            if self.where[0] == "chain" and self.topology._routes() is not None and \
                    (not self.inverse or 1.0 / v < math.inf):  # a value with_link takes as it is
                tables = self.state.tables_with_routes(*self.topology._chain_routes(self.where[1], *change))
            else:
                tables = self.state.tables_with_link(self._target(), *change)
            self._tables[v] = tables
        return tables

    def line(self, config):
        """The plan's _PlanLine, or None where the tables are needed (scale, a topology without routes)."""
        if self.parameter == "ratio" or (self.parameter in ("bandwidth", "latency") and
                                         (self.where[0] == "route" or self.topology._routes() is not None)):
            return _PlanLine(self, config)
        return None

    def state_at(self, v: float):
        """The Planner's snapshot with the parameter at v (cached: a table asks each value a few times)."""
        if v not in self._states:
            topo = self._topology(v)
            if self.parameter == "ratio":
                self._states[v] = self.state.derive(topo, compute=[self.where])
            else:
                self._states[v] = self.state.derive(topo, moves={"input", "forward", "result"})
        return self._states[v]


class _PlanLine:
    """One plan's latency at any value of a link's bandwidth or latency, or of a tier's ratio, without
    building tables: its terms in the engine form's order (the input's trip, then per partition its compute,
    result and forward terms, each a share times a table entry; engine/reference.py `evaluate`), the entries
    the parameter does not reach read once from the snapshot's tables, the others recomputed at each value
    as the fillers compute them (a route crossing the link re-summed by route_cost, then route time plus
    bits x 1/bandwidth plus (de)serialisation; ratio x the block sums). The same operations in the same
    order as the engine's evaluation on the network rebuilt at that value, so the same bits
    (tests/test_network_changes.py): the plan's affine line, evaluated exactly."""

    def __init__(self, param, config):
        state, topo = param.state, param.topology
        tables, fill = state.tables, state.filler
        self.param, self.rule, self.mtu_bits = param, topo.route_rule, topo.mtu_bits
        t, P, A = config
        c = tables.cum_exit[t].tolist()
        s, d = state.source, state.destination
        self.ratio_of = param.where if param.parameter == "ratio" else None
        self.routing = None
        if self.ratio_of is None:
            kind, where = param.where
            if kind == "route":
                a, b = where
                self.link, crossing = None, {a * topo.M + b, b * topo.M + a}
            else:
                self.routing = topo._routes()
                x, y = (where, where + 1) if kind == "chain" else topo.graph["links"][where][:2]
                self.link = (x, y)
                crossing = {i for group in self.routing.crossing.get((min(x, y), max(x, y)), {}).values()
                            for i in group}
        pl, inv = topo.path_latency, topo.path_inv_bandwidth
        add_in = fill.input_serialisation(s).tolist() if fill.serialised else None
        add_out = fill.result_serialisation(d).tolist() if fill.serialised else None
        out_bits = fill.output_bits.ravel().tolist()
        # Each term: (share, entry); an entry is a number, or what it is made of at a value:
        # ("route", a, b, bits, added) or ("compute", block sum).
        terms = []

        def route(a, b, bits, added, fixed):
            if self.ratio_of is not None or a * topo.M + b not in crossing:
                return fixed
            return ("route", a, b, bits, added)

        terms.append((None, route(s, A[0], fill.input_bits, add_in and add_in[A[0]], float(tables.input_cost[A[0]]))))
        p = 0
        for k, (q, a) in enumerate(zip(P, A)):
            last = k == len(P) - 1
            comp = float(tables.compute_cost[a, p, q])
            if a == self.ratio_of:
                comp = ("compute", float(state.base[p, q]))
            terms.append((1.0 - c[p], comp))
            terms.append((1.0 - c[p] if last else c[q] - c[p],
                          route(a, d, fill.result_bits, add_out and add_out[a], float(tables.result_cost[a]))))
            if not last:
                b = A[k + 1]
                hop = float(fill.hop[q - 1, a, b]) if fill.serialised else None
                terms.append((1.0 - c[q], route(a, b, out_bits[q - 1], hop, float(tables.forward_cost[q - 1, a, b]))))
            p = q
        self.terms = terms
        self.pl, self.inv = pl, inv

    def __call__(self, v: float) -> float:
        param = self.param
        if self.routing is not None:
            table = self.routing.table
            bw, lat = table[self.link]
            bw, lat = (v, lat) if param.inverse else (bw, v)
            x, y = self.link
            changed = {(x, y): (bw, lat), (y, x): (bw, lat)}
        latency = None
        for share, entry in self.terms:
            if type(entry) is tuple:
                if entry[0] == "compute":
                    value = v * entry[1]  # compute_row: ratio x the reference's block sums
                else:
                    _, a, b, bits, added = entry
                    if self.routing is not None:
                        path = self.routing.paths[(a, b)]
                        hops = [changed.get(k) or table[k] for k in zip(path[:-1], path[1:])]
                        route_latency, route_inv = route_cost(hops, self.rule, self.mtu_bits)
                    elif param.inverse:
                        route_latency, route_inv = float(self.pl[a, b]), 1.0 / v
                    else:
                        route_latency, route_inv = v, float(self.inv[a, b])
                    value = route_latency + bits * route_inv  # the move tables' fillers (MoveFiller)
                    if added is not None:
                        value = value + added
            else:
                value = entry
            latency = value if share is None else latency + share * value
        return latency


class _EnergyLines:
    """Plans' energy at any value of the range from the energy tables filled at the cuts alone (the
    range's ends, and the kinks of a bottleneck route): between two neighbouring cuts every energy term is
    affine in the affine coordinate x, so a plan's energy is on the line through its energies at the two
    cuts (docs/model.md "Affine in a parameter"). Interpolated from the lower cut, E_a + (E_b - E_a) t: no
    slope is negative, so E(x) >= E_b t and E_a (1 - t), and the rounding stays within a few ulps of E(x)."""

    def __init__(self, param: _Parameter, cuts: list, energy_tiers, module):
        self.param, self.cuts, self.tiers, self.module = param, cuts, energy_tiers, module
        self.xs = [c.x for c in cuts]
        self._tables: dict = {}
        self._at: dict = {}

    def at_cut(self, k: int, config) -> float:
        key = (k, config)
        if key not in self._at:
            v = self.cuts[k].v
            if k not in self._tables:
                state = self.param.state_at(v)
                self._tables[k] = (state.tables, state.energy_tables(self.tiers))
            tables, energy = self._tables[k]
            t, P, A = config
            arrays = (np.array([t], np.int64), np.array([len(P)], np.int64), np.array([P], np.int64),
                      np.array([A], np.int64))
            self._at[key] = float(self.module.evaluate(tables, *arrays, energy=energy)[2][0])
        return self._at[key]

    def __call__(self, p: _Pt, config) -> float:
        xs = self.xs
        k = min(max(bisect.bisect_right(xs, p.x) - 1, 0), len(xs) - 1)
        if xs[k] == p.x or k == len(xs) - 1:
            return self.at_cut(k, config)
        a, b = xs[k], xs[k + 1]
        if p.x == b:
            return self.at_cut(k + 1, config)
        low, high = self.at_cut(k, config), self.at_cut(k + 1, config)
        return low + (high - low) * ((p.x - a) / (b - a))


class _Rows:
    """A frontier's rows, made into choices only when asked for (a table reads one or two of them)."""

    def __init__(self, rows: dict):
        self.rows = rows
        self.accuracy = rows["accuracy"]

    def __len__(self) -> int:
        return len(self.accuracy)

    def choice(self, i: int) -> _Choice:
        r = self.rows
        L = int(r["num_partitions"][i])
        config = (int(r["threshold_index"][i]), tuple(r["partitions"][i, :L].tolist()),
                  tuple(r["placement"][i, :L].tolist()))
        return _Choice(config, float(r["accuracy"][i]))


class _Solver:
    """The engine searches behind one plan table, counted and cached per (value, bounds)."""

    def __init__(self, param: _Parameter, search, evaluate):
        self.param, self._search, self._evaluate = param, search, evaluate
        self.searches = 0
        self._steps = 0  # every loop below counts here, and stops at a bound
        self._fronts: dict = {}
        self._lat: dict = {}
        self._lines: dict = {}  # config -> its _PlanLine (None: evaluated on tables)
        self.points: dict = {}  # x -> the engine's choice at that value (None: nothing meets the bound)

    def frontier(self, v: float, min_accuracy=-math.inf, max_latency=math.inf) -> _Rows:
        key = (v, min_accuracy, max_latency)
        if key not in self._fronts:
            self.searches += 1
            if self.searches > MAX_SEARCHES:
                raise RuntimeError(f"plan table: more than {MAX_SEARCHES} searches; the range is degenerate")
            self._fronts[key] = _Rows(self._search(self.param.state_at(v), min_accuracy, max_latency))
        return self._fronts[key]

    def p_lat(self, p: _Pt, level: float):
        front = self.frontier(p.v, min_accuracy=level)
        return front.choice(0) if len(front) else None

    def latency(self, p: _Pt, choice: _Choice) -> float:
        key = (p.v, choice.config)
        if key not in self._lat:
            line = self._lines.get(choice.config, False)
            if line is False:
                line = self._lines[choice.config] = self.param.line(choice.config)
            if line is not None and (not self.param.inverse or 1.0 / p.v < math.inf):
                self._lat[key] = line(p.v)
            else:
                self._lat[key] = self._evaluate(self.param.tables_at(p.v), choice.config)
        return self._lat[key]

    # --- P_lat: the lower envelope ------------------------------------------------------------------

    def envelope(self, level: float, a: _Pt, b: _Pt, ca: _Choice, cb: _Choice, out: list) -> None:
        """Appends (from, to, choice) pieces covering [a, b], given the engine's choices at a and b."""
        self.points.setdefault(a.x, ca)
        self.points.setdefault(b.x, cb)
        stack = [(a, b, ca, cb)]
        while stack:
            self._step()
            a, b, ca, cb = stack.pop()
            if ca.config == cb.config:
                out.append((a, b, ca))
                continue
            da = self.latency(a, ca) - self.latency(a, cb)  # <= 0: ca is optimal at a
            db = self.latency(b, ca) - self.latency(b, cb)  # >= 0: cb is optimal at b
            if not da - db < 0:  # ca no worse than cb at b either: both optimal at both ends, ca inside
                out.append((a, b, ca))
                continue
            x = a.x + min(max(da / (da - db), 0.0), 1.0) * (b.x - a.x)
            width = 4 * np.spacing(max(abs(a.x), abs(b.x)))
            if x - a.x <= width:  # cb ties ca at a already (the engine's tie rule chose ca there)
                out.append((a, b, cb))
                continue
            if b.x - x <= width:
                out.append((a, b, ca))
                continue
            m = self.param.at_x(x)
            cm = self.p_lat(m, level)
            self.points[m.x] = cm
            at_m = self.latency(m, cm)
            if _close(at_m, self.latency(m, ca)) and _close(at_m, self.latency(m, cb)):
                out.append((a, m, ca))  # nothing below the crossing: a breakpoint, checked
                out.append((m, b, cb))
            else:  # a plan below the crossing (or a crossing rounded off): two smaller intervals
                stack.append((m, b, cm, cb))
                stack.append((a, m, ca, cm))

    def _snap(self, r: _Pt, lo: _Pt, hi: _Pt, choice: _Choice, bound: float) -> _Pt:
        """The crossing of `choice`'s latency with the bound, moved to where the engine's own evaluation puts
        it: the last parameter value (x rising) at which `choice` meets the bound, to the ulp. The accuracy
        jumps there, and a sum of a few terms stays at the bound's float over many ulps of the parameter,
        so the crossing computed from the lines can be off by more than a query at the exact value tolerates.
        A bracket widened from r by doubling, then bisection: each bounded by the bits of a float64."""
        def feasible(p: _Pt) -> bool:
            self._step()
            return self.latency(p, choice) <= bound

        def toward(p: _Pt, d: float, up: bool) -> _Pt:  # d further along the parameter, toward larger x if up
            v = p.v + (d if up != self.param.inverse else -d)
            q = self.param.point(v) if v > 0 or not self.param.inverse else hi
            return (hi if not q.x < hi.x else q) if up else (lo if not q.x > lo.x else q)

        good, bad = (r, None) if feasible(r) else (None, r)
        for k in range(SNAP_BITS):
            if good is not None and bad is not None:
                break
            d = max(abs(r.v) * 2.0 ** (k - 52), 5e-324 * 2.0 ** k)
            if good is None:
                good = toward(r, d, False)
                if good is not lo and not feasible(good):
                    bad, good = good, None
            else:
                bad = toward(r, d, True)
                if bad is not hi and feasible(bad):
                    good, bad = bad, None
        if good is None or bad is None:
            return r
        for _ in range(2 * SNAP_BITS):
            mid = 0.5 * (good.v + bad.v)
            if mid in (good.v, bad.v):
                break
            m = self.param.point(mid)
            if feasible(m):
                good = m
            else:
                bad = m
        return good

    def _step(self) -> None:
        self._steps += 1
        if self._steps > 4 * MAX_SEARCHES:
            raise RuntimeError(f"plan table: more than {4 * MAX_SEARCHES} steps; the range is degenerate")

    def min_latency(self, level: float, a: _Pt, b: _Pt, out: list) -> None:
        ca, cb = self.p_lat(a, level), self.p_lat(b, level)
        if ca is None:  # the feasible set does not depend on the parameter: none anywhere
            self.points[a.x] = self.points[b.x] = None
            out.append((a, b, None))
            return
        self.envelope(level, a, b, ca, cb, out)

    # --- P_acc: levels of accuracy, each a P_lat envelope until it crosses the bound ---------------

    def max_accuracy(self, bound: float, a: _Pt, b: _Pt, out: list) -> None:
        front = self.frontier(a.v, max_latency=bound)
        if not len(front):
            self.points[a.x] = self.points[b.x] = None
            out.append((a, b, None))
            return
        x, cur = a, front.choice(len(front) - 1)
        self.points[a.x] = cur
        while True:
            level = cur.accuracy
            while True:  # the level's envelope, from x on, until it crosses the bound
                self._step()
                fx, fb = self.latency(x, cur), self.latency(b, cur)
                if fb <= bound:
                    r = b
                else:
                    t = (bound - fx) / (fb - fx)
                    r = self.param.at_x(x.x + min(max(t, 0.0), 1.0) * (b.x - x.x))
                    if r.x <= x.x:
                        r = x
                    else:
                        r = self._snap(r, x, b, cur, bound)
                if r.x == x.x:
                    cr = cur
                else:
                    cr = self.p_lat(r, level)
                    self.envelope(level, x, r, cur, cr, out)
                if r is b:
                    return
                if cr.config == cur.config or self.latency(r, cr) >= bound or _close(self.latency(r, cr), bound):
                    break  # the level ends at r
                x, cur = r, cr
            front = self.frontier(r.v, max_latency=bound)
            self.points[r.x] = front.choice(len(front) - 1) if len(front) else None
            acc = front.accuracy  # rising: the next level is the last point clearly below this one
            lower = np.flatnonzero((acc < level) & (np.abs(acc - level) > RTOL * np.maximum(np.abs(acc), abs(level))))
            below = front.choice(int(lower[-1])) if lower.size else None
            # A plan whose latency equals the bound at r and stays there (it never uses what varies) ties
            # with the leaving level's plan at r, so the frontier at r keeps only the more accurate of the
            # two. Such a plan is feasible at b too, and whatever is feasible at b is on all of [r, b]: the
            # plan at b is a lower bound of the next level (one search per piece, cached).
            end = self.frontier(b.v, max_latency=bound)
            last = end.choice(len(end) - 1) if len(end) else None
            if last is not None and (below is None or last.accuracy > below.accuracy):
                cur = self.p_lat(r, last.accuracy)
                if cur.config != last.config and not self.latency(r, cur) < bound:
                    cur = last  # the one tied at the bound that stays feasible
            elif below is None:
                out.append((r, b, None))
                self.points.setdefault(b.x, None)
                return
            else:
                cur = below
            x = r


class PlanTable:
    """The optimal plan over a range of one parameter: rows of intervals, each with its plan, and the
    breakpoints between them (see the module's docstring). `searches`: the engine searches it took.

    Made by Planner.plan_table, not directly. `at(value)` is the plan at any value of the range (a Plan
    on the network at that value, or None); `config_at(value)` its (t, P, A) without any search;
    `optimal_range(plan)` the interval around a plan's own value over which it stays optimal. A table
    only reads its Planner's snapshot; it is safe to build and read from several threads.

    Parameters
    ----------
    param : _Parameter
        The parameter varied, on the Planner's snapshot (internal).
    problem : str
        "min_latency" (P_lat) or "max_accuracy" (P_acc).
    bound : float
        The problem's bound: an accuracy, or a latency (s).
    low, high : float
        The range, in the parameter's unit.
    rows : list of PlanTableRow
        The intervals, rising.
    breakpoints : list of float
        The values between rows, rising.
    point_plans : list of tuple or None
        The engine's (t, P, A) at each breakpoint.
    searches : int
        The engine searches the table took.
    evaluate : callable
        Evaluates one configuration on tables (internal).

    Examples
    --------
    >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> table = planner.plan_table("ratio", "smartphone", 0.5, 50, min_accuracy=0.9)
    >>> table.target_name, [round(b, 2) for b in table.breakpoints]
    ('tier smartphone', [28.97])
    >>> [r.tier_names for r in table.rows]
    [('smartphone',), ('edge server',)]
    >>> plan = table.at(10)
    >>> plan.tier_names, [round(x, 2) for x in table.optimal_range(plan, value=10)]
    (('smartphone',), [0.5, 28.97])
    """

    def __init__(self, param: _Parameter, problem: str, bound: float, low: float, high: float, rows: list,
                 breakpoints: list, point_plans: list, searches: int, evaluate):
        self._param, self._evaluate = param, evaluate
        self.parameter = param.parameter
        self.problem, self.bound = problem, bound
        self.low, self.high = low, high
        self.rows = rows
        self.breakpoints = breakpoints  # parameter values, rising
        self.point_plans = point_plans  # the engine's choice at each breakpoint (a row's config or None)
        self.searches = searches
        self._energy = None  # _EnergyLines where the Planner has energy_tiers (set by build)

    @property
    def target_name(self) -> str:
        """What varies, in words: "link 1 (smartphone - edge server)", "tier cloud", "every link"."""
        names, where = self._param.topology.names, self._param.where
        if self.parameter == "scale":
            return "every link"
        if self.parameter == "ratio":
            return f"tier {names[where]}"
        kind, i = where
        if kind == "route":
            return f"route {names[i[0]]} - {names[i[1]]}"
        a, b = (i, i + 1) if kind == "chain" else self._param.topology.graph["links"][i][:2]
        return f"link {i} ({names[a]} - {names[b]})"

    @property
    def target(self):
        """The link (as Topology.link_index names it), the tier index, or None (scale)."""
        return self._param.where

    def config_at(self, value):
        """The plan's (t, P, A) at `value`, or None: the scheduler's lookup (no search, no tables built).

        Parameters
        ----------
        value : float
            In [low, high], the parameter's unit. At a breakpoint, the engine's own plan there.

        Returns
        -------
        tuple or None

        Raises
        ------
        ValueError
            `value` is outside the table's range.
        """
        value = _number("value", value)
        if not self.low <= value <= self.high:
            raise ValueError(f"value = {value}: outside the table's range [{self.low}, {self.high}]")
        i = bisect.bisect_left(self.breakpoints, value)
        if i < len(self.breakpoints) and self.breakpoints[i] == value:
            return self.point_plans[i]
        return self.rows[i].config

    def at(self, value):
        """The plan at `value`: a Plan on the network with the parameter at value, or None.

        Parameters
        ----------
        value : float
            In [low, high], the parameter's unit.

        Returns
        -------
        Plan or None
        """
        config = self.config_at(value)
        if config is None:
            return None
        state = self._param.state_at(float(value))
        latency, accuracy = self._evaluate(state.tables, config, both=True)
        plan = Plan(latency, accuracy, *config, state)
        if self._energy is not None:
            plan.energy = self._energy(self._param.point(float(value)), config)
        return plan

    def optimal_range(self, plan, value=None):
        """The widest interval around `value` on which `plan`'s configuration is the table's plan.

        Parameters
        ----------
        plan : Plan
            A plan on the same models.
        value : float, optional
            Where to look (default: the plan's own network's value of the parameter).

        Returns
        -------
        tuple of float or None
            (low, high), or None if the plan is not optimal there.
        """
        value = self._param.value_of(plan.topology) if value is None else _number("value", value)
        if not self.low <= value <= self.high:
            return None
        config = plan.config()
        if self.config_at(value) != config:
            return None
        i = bisect.bisect_left(self.breakpoints, value)
        on_point = i < len(self.breakpoints) and self.breakpoints[i] == value
        lo = hi = i
        if on_point:  # a breakpoint: the plan may hold on either side of it, or on it alone
            left, right = self.rows[i].config == config, self.rows[i + 1].config == config
            if not (left or right):
                return (value, value)
            lo, hi = (i if left else i + 1), (i + 1 if right else i)
        while lo > 0 and self.rows[lo - 1].config == config and self.point_plans[lo - 1] == config:
            lo -= 1
        while hi + 1 < len(self.rows) and self.rows[hi + 1].config == config and self.point_plans[hi] == config:
            hi += 1
        return (self.rows[lo].low, self.rows[hi].high)

    def to_dict(self) -> dict:
        """Plain JSON-able values: the parameter, its target, the problem and bound, the range, searches,
        breakpoints and rows.

        Returns
        -------
        dict
        """
        return {"parameter": self.parameter, "target": _plain(self.target), "target_name": self.target_name,
                "problem": self.problem,
                "bound": self.bound, "low": self.low, "high": self.high, "searches": self.searches,
                "breakpoints": list(self.breakpoints),
                "rows": [{**r._asdict(), "partitions": _plain(r.partitions), "placement": _plain(r.placement),
                          "tier_names": _plain(r.tier_names)} for r in self.rows]}

    def __str__(self) -> str:
        scale, unit = display_unit(self.parameter)
        bound = (f"accuracy >= {self.bound}" if self.problem == "min_latency"
                 else f"latency <= {self.bound * 1e3:g} ms")
        problem = "P_lat (min_latency)" if self.problem == "min_latency" else "P_acc (max_accuracy)"
        head = (f"{problem} with {bound}, {self.parameter} of {self.target_name} from {self.low / scale:g} to "
                f"{self.high / scale:g} {unit}: {len(self.rows)} intervals, {len(self.breakpoints)} breakpoints, "
                f"{self.searches} searches")
        w = max(12, len(unit) + 8)
        # Accuracies with the digits that tell neighbouring plans apart (0.8694 twice read as a tie).
        text = digits([r.accuracy for r in self.rows if r.config is not None], 4)
        wa, acc = max([8, *map(len, text)]), iter(text)
        lines = [head,
                 (f"{'from (' + unit + ')':>{w}}  {'to (' + unit + ')':>{w}}  {'accuracy':>{wa}}  "
                  f"{'latency (ms)':>19}  t  partitions (blocks @ tier)")]
        for r in self.rows:
            if r.config is None:
                body = f"{'-':>{wa}}  {'-':>19}  -  no plan meets the bound"
            else:
                ends = [0, *r.partitions]
                parts = "  ".join(f"{ends[k] + 1}-{ends[k + 1]}@{r.tier_names[k]}" for k in range(len(r.partitions)))
                lat = f"{r.latency_low * 1e3:.3f}-{r.latency_high * 1e3:.3f}"
                body = f"{next(acc):>{wa}}  {lat:>19}  {r.threshold_index}  {parts}"
            lines.append(f"{r.low / scale:{w}.6g}  {r.high / scale:{w}.6g}  {body}")
        return "\n".join(lines)

    @positional("title")
    def plot(self, path, *, title=None):
        """Draws the table (plot.plot_plan_table; needs matplotlib).

        Parameters
        ----------
        path : str or path or None
            Where to write the figure (its format from the suffix); None: not written.
        title : str, optional
            A first line of the title.

        Returns
        -------
        matplotlib.figure.Figure
        """
        return plot_plan_table(path, self, title=title)


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _evaluator(module):
    packed: dict = {}  # config -> its arrays: a table evaluates a few plans at many values

    def evaluate(tables, config, both=False):
        arrays = packed.get(config)
        if arrays is None:
            t, P, A = config
            arrays = packed[config] = (np.array([t], np.int64), np.array([len(P)], np.int64),
                                       np.array([P], np.int64), np.array([A], np.int64))
        lat, acc = module.evaluate(tables, *arrays)
        return (float(lat[0]), float(acc[0])) if both else float(lat[0])
    return evaluate


def build(planner, parameter: str, target, low, high, min_accuracy=None, max_latency=None,
          time_limit=None) -> PlanTable:
    """Planner.plan_table's work (see there). A Planner with energy_tiers gives each row its plan's energy
    at both ends (_EnergyLines)."""
    time_limit = check_time_limit(time_limit)
    deadline = time.monotonic() + time_limit

    def search(state, lo, hi):
        left = deadline - time.monotonic()  # the table's limit, shared by its searches
        if not left > 0:
            raise timed_out("plan table", time_limit)
        try:
            return _search_rows(planner.backend, planner.max_memory, state, lo, hi, left,
                                threads=planner.threads)
        except TimeoutError:
            raise timed_out("plan table", time_limit) from None

    if (min_accuracy is None) == (max_latency is None):
        raise TypeError("plan_table: give exactly one bound, min_accuracy (P_lat) or max_latency (P_acc)")
    problem = "min_latency" if max_latency is None else "max_accuracy"
    bound = _number("min_accuracy", min_accuracy) if max_latency is None else _number("max_latency", max_latency)
    state = planner._state  # one snapshot for the whole table
    param = _Parameter(state, parameter, target)
    low, high = param.check_range(low, high)
    for name, v in (("low", low), ("high", high)):  # the network at each end (cached for the table)
        try:
            finite_costs(param.state_at(v).tables)  # the rule every search applies, checked here by its end
        except ValueError as exc:  # costs overflow there: say which end of the range did it
            raise ValueError(f"{name} = {v:g}: {exc}") from None
    module = get_backend(planner.backend)
    evaluate = _evaluator(module)
    solver = _Solver(param, search, evaluate)
    cuts = sorted({param.point(v) for v in (low, *param.kinks(low, high), high)})  # x rising
    pieces: list = []
    config = lambda c: None if c is None else c.config
    # A range of zero width, or one so narrow (one ulp of a bandwidth) that its ends share one affine
    # coordinate x = 1/value: one network state, so one row, with the plan optimal there.
    flat = cuts[0].x == cuts[-1].x
    if flat:
        a, b = param.point(low), param.point(high)
        if problem == "min_latency":
            c = solver.p_lat(a, bound)
        else:
            front = solver.frontier(a.v, max_latency=bound)
            c = front.choice(len(front) - 1) if len(front) else None
        solver.points[a.x] = c
        pieces.append((b, a, c) if param.inverse else (a, b, c))  # reversed below where x = 1/value
    else:
        for a, b in zip(cuts[:-1], cuts[1:]):
            if problem == "min_latency":
                solver.min_latency(bound, a, b, pieces)
            else:
                solver.max_accuracy(bound, a, b, pieces)
    merged: list = []
    start = None
    for a, b, c in pieces:
        if b.x <= a.x:  # one x: every configuration's latency is the same at a and b
            if flat:
                merged.append((a, b, c))
            elif merged:  # the plan before holds on it
                merged[-1] = (merged[-1][0], b, merged[-1][2])
            elif start is None:  # the next piece's plan holds on it
                start = a
            continue
        if start is not None:
            a, start = start, None
        if merged and config(merged[-1][2]) == config(c) and config(solver.points.get(a.x)) == config(c):
            merged[-1] = (merged[-1][0], b, merged[-1][2])
        else:
            merged.append((a, b, c))
    if param.inverse:  # x = 1/value: the parameter rises as x falls
        merged = [(b, a, c) for a, b, c in reversed(merged)]
    names = state.names
    energy = None if planner.energy_tiers is None else _EnergyLines(param, cuts, planner.energy_tiers, module)
    rows = []
    for a, b, c in merged:
        if c is None:
            rows.append(PlanTableRow(a.v, b.v, None, None, None, None, None, None, None))
        else:
            t, P, A = c.config
            joules = (None, None) if energy is None else (energy(a, c.config), energy(b, c.config))
            rows.append(PlanTableRow(a.v, b.v, t, P, A, tuple(names[j] for j in A), c.accuracy,
                                     solver.latency(a, c), solver.latency(b, c), *joules))
    breakpoints = [r.low for r in rows[1:]]
    point_plans = [config(solver.points.get(a.x)) for a, _, _ in merged[1:]]
    table = PlanTable(param, problem, bound, low, high, rows, breakpoints, point_plans, solver.searches, evaluate)
    table._energy = energy
    return table
