"""Topology: M tiers, how slow each computes, and the routes between them (docs/model.md "Inputs").

Three ways to give the routes: a chain (the paper's), a graph of links (routes by shortest path or given),
or the two route matrices directly. Each tier may also name the device whose measurements in the profile
it uses, and carry its own (de)serialisation time per bit (docs/model.md "Fillers").
"""
from __future__ import annotations

import difflib
import json
import math
import numbers
import re
from pathlib import Path

import numpy as np

try:
    import yaml
except ImportError:  # pragma: no cover - pyyaml is a dependency; JSON topologies work without it
    yaml = None

from .._checks import MAX_TIERS, at_least, count, float_array, integer, number, read_text
from .._deprecated import positional
from . import link_energy as _link_energy  # the energy inputs (kept apart from the routes' import line)
from .power_presets import PRESET_ENERGY
from .routes import ROUTE_BY, ROUTE_RULES, Routing, graph_routes, route_matrices, update_routes

# Optional per-topology fields, each with its default; they travel through to_dict/from_dict, so that
# anything deriving a changed topology from the dict form (the Planner) keeps them.
EXTRA_FIELDS = ("devices", "serialize", "deserialize", "route_rule", "mtu_bits")
# The energy inputs (docs/model.md "Energy"): optional, default 0, carried like the fields above.
ENERGY_FIELDS = ("active_power_w", "idle_power_w", "link_energy")
EXTRA_FIELDS = EXTRA_FIELDS + ENERGY_FIELDS
MAX_LINKS = 1024  # links of a graph topology (parallel links allowed), checked before any is read

# The paper's two chains (the paper's Table 1): names, ratio, bandwidth (bit/s), latency (s).
PRESETS = {
    "mobile": (["smartwatch", "smartphone", "edge server", "cloud"], [500.0, 10.0, 2.5, 1.0],
               [500e3, 10e6, 500e6], [0.006, 0.040, 0.050]),
    "iot": (["raspberry pi", "micro datacenter", "local cloud", "global cloud"], [100.0, 5.0, 2.5, 1.0],
            [10e6, 40e6, 500e6], [0.010, 0.010, 0.050]),
}
PRESETS["mobile-energy"] = PRESETS["mobile"]  # with the published powers of power_presets.PRESET_ENERGY


def _names(names) -> list:
    """Tier names: a list of at most MAX_TIERS non-empty strings, checked before anything is built."""
    if names is None:
        raise ValueError("names is null (missing): expected a list of tier names")
    if not isinstance(names, (list, tuple)):
        raise TypeError(f"names: expected a list of non-empty strings, got {type(names).__name__}")
    count("names", len(names), MAX_TIERS, "tiers")
    for j, n in enumerate(names):
        if not isinstance(n, str) or not n:
            raise TypeError(f"names[{j}] = {n!r:.60}: expected a non-empty string")
    return list(names)


def _invertible(name: str, bw: np.ndarray, scalar: bool = False) -> None:
    """Routes hold 1/bandwidth: a subnormal bandwidth overflows there, so it is refused here, by its name."""
    with np.errstate(divide="ignore", over="ignore"):
        bad = np.flatnonzero(~np.isfinite(1.0 / bw))
    if bad.size:
        j = int(bad[0])
        where = name if scalar else f"{name}[{j}]"
        raise ValueError(f"{where} = {float(bw[j])!r}: so small that 1/bandwidth overflows (bit/s expected)")


class YamlRefused(ValueError):
    """A YAML topology file uses what the loader refuses: aliases (which expand to gigabytes) or nesting
    deeper than a topology needs."""


class _NoAliasLoader(yaml.SafeLoader if yaml else object):
    """safe_load without anchors and aliases: a few hundred bytes of nested aliases expand to gigabytes."""

    MAX_DEPTH = 32  # a topology nests 3 deep; PyYAML slows quadratically with depth before it recurses out

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise YamlRefused(f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not "
                             "accepted (a few nested ones expand to gigabytes); write the values out")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > self.MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlRefused(f"line {mark.line + 1}: nested more than {self.MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


if yaml is not None:
    # YAML 1.2 floats: PyYAML (YAML 1.1) reads 500e3 and 1e-3 as strings, which are refused as numbers.
    _NoAliasLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
        r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"), list("-+.0123456789"))


def _yaml_error(exc) -> str:
    """A YAML parser error in one line: where, and what."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(str(problem).split())


class Topology:
    """Tiers with their compute ratio and the summed latency and 1/bandwidth of the route a -> b.

    Three ways to give the routes: `chain` (the paper's), `from_graph` (links, routes by shortest path or
    given), or the two route matrices directly (this constructor). `preset`, `load` and `from_dict` read
    the same forms.

    Parameters
    ----------
    names : list of str
        The M tiers' names: non-empty, distinct, at most MAX_TIERS.
    ratio : array_like, shape (M,)
        How many times slower than the profile's reference device each tier computes (> 0).
    path_latency : array_like, shape (M, M)
        Seconds of the route a -> b (>= 0; 0 on the diagonal).
    path_inv_bandwidth : array_like, shape (M, M)
        Summed 1/bandwidth (s/bit) of the route a -> b (>= 0; 0 on the diagonal).
    links : dict, optional
        For a chain, {"bandwidth": [...], "latency": [...]} it was built from (set by `chain`).
    devices : list of (str or None), optional
        Per tier, the device of the profile whose measurements it uses (None: ratio x the reference).
    serialize, deserialize : array_like, shape (M,), optional
        Seconds per bit each tier spends (de)serialising a tensor it sends (receives); default 0.
    route_rule : {"store_and_forward", "bottleneck"}
        How a route's links add up: each link sends the whole message (the paper's), or the slowest
        link paces it (PORTEND's).
    mtu_bits : float, optional
        Fragment size (bits, > 0) pipelined over a route; only with route_rule="bottleneck".
    graph : dict, optional
        For a graph, its links and routes (set by `from_graph`).
    active_power_w, idle_power_w : array_like, shape (M,), optional
        Watts each tier draws while it computes or (de)serialises, and while it waits for a result it
        must receive (>= 0; default 0: no energy). docs/model.md "Energy".
    link_energy : list or dict, optional
        Radio energy per link end, sending and receiving: one entry per link of a chain or graph, in link
        order, or a mapping "a->b" for a topology given as routes (docs/model.md "Energy").

    Raises
    ------
    ValueError
        A field of the wrong shape or out of range, repeated names, a route from a tier to itself that
        costs more than 0, mtu_bits without the bottleneck rule; the message names the field.
    TypeError
        A field of the wrong type (names not strings).

    Examples
    --------
    >>> t = ef.Topology.preset("mobile")
    >>> t
    Topology(['smartwatch', 'smartphone', 'edge server', 'cloud'])
    >>> t.M, t.ratio.tolist()
    (4, [500.0, 10.0, 2.5, 1.0])
    >>> two = ef.Topology(["phone", "cloud"], [10.0, 1.0], path_latency=[[0, 0.05], [0.05, 0]],
    ...                   path_inv_bandwidth=[[0, 1e-7], [1e-7, 0]])
    >>> float(two.path_latency[0, 1])
    0.05
    """

    @positional("links", "devices", "serialize", "deserialize", "route_rule", "mtu_bits", "graph")
    def __init__(self, names, ratio, path_latency, path_inv_bandwidth, *, links=None, devices=None,
                 serialize=None, deserialize=None, route_rule="store_and_forward", mtu_bits=None, graph=None,
                 active_power_w=None, idle_power_w=None, link_energy=None):
        self.names = _names(names)
        m = len(self.names)
        if m < 1:
            raise ValueError("names: a topology needs at least one tier, got 0")
        seen = {}
        for j, n in enumerate(self.names):
            if n in seen:
                raise ValueError(f"names[{j}] = {n!r}: repeats names[{seen[n]}]")
            seen[n] = j
        self.ratio = float_array("ratio", ratio, (m,))
        at_least("ratio", self.ratio, 0.0, strict=True)
        self.path_latency = float_array("path_latency", path_latency, (m, m))
        self.path_inv_bandwidth = float_array("path_inv_bandwidth", path_inv_bandwidth, (m, m))
        for field in ("path_latency", "path_inv_bandwidth"):
            arr = getattr(self, field)
            at_least(field, arr, 0.0)
            diag = np.flatnonzero(np.diag(arr) != 0)
            if diag.size:
                j = int(diag[0])
                raise ValueError(f"{field}[{j}][{j}] = {arr[j, j]}: a tier's route to itself must cost 0")
        # For chains, the links they were built from, so that one link can be changed later.
        self.links = links
        # For graphs: {"links": [[a, b, bandwidth, latency], ...], "routes": "shortest" | {...}, "route_by"}.
        self.graph = graph
        self.devices = self._devices(devices, m)
        self.serialize = self._per_bit("serialize", serialize, m)
        self.deserialize = self._per_bit("deserialize", deserialize, m)
        self.active_power_w = self._per_bit("active_power_w", active_power_w, m)
        self.idle_power_w = self._per_bit("idle_power_w", idle_power_w, m)
        n_links = m - 1 if links is not None else len(graph["links"]) if graph is not None else None
        self.link_energy = _link_energy.parse(link_energy, self.names, n_links)
        if not isinstance(route_rule, str) or route_rule not in ROUTE_RULES:
            raise ValueError(f"route_rule = {route_rule!r:.60}: must be one of {', '.join(ROUTE_RULES)}")
        self.route_rule = route_rule
        if mtu_bits is not None:
            mtu_bits = float(float_array("mtu_bits", mtu_bits, ()))
            at_least("mtu_bits", np.asarray(mtu_bits), 0.0, strict=True)
            if route_rule != "bottleneck":
                raise ValueError("mtu_bits: only the bottleneck route rule pipelines fragments; "
                                 f"this topology's route_rule is {route_rule!r}")
        self.mtu_bits = mtu_bits
        # The routes of a chain or graph (set by chain and from_graph: (routes, links) until a first change
        # of a link makes them a Routing), so that a changed link re-sums only the routes crossing it; and a
        # token shared by topologies whose serialisation fields are the same, so that a Planner re-derives
        # serialisation only when they change.
        self._routing = None
        self._serial = object()

    def _routes(self) -> Routing | None:
        """The Routing of a chain or graph (made on first use, then shared by the topologies derived from
        this one), or None (a topology given as routes)."""
        routing = getattr(self, "_routing", None)
        if isinstance(routing, tuple):
            routing = self._routing = Routing(*routing)  # two threads may both make it: equal ones
        return routing

    def _derived(self, **fields) -> Topology:
        """A copy with `fields` (checked by the caller) replaced, the rest copied as they are: a changed
        link or ratio skips re-checking every other field (with_link, with_ratio)."""
        new = object.__new__(Topology)
        d = new.__dict__
        d.update(self.__dict__)
        d["names"], d["devices"] = list(self.names), list(self.devices)
        for f in ("ratio", "path_latency", "path_inv_bandwidth", "serialize", "deserialize"):
            if f not in fields:
                d[f] = d[f].copy()
        if self.links is not None and "links" not in fields:
            d["links"] = {k: list(v) for k, v in self.links.items()}
        if self.graph is not None and "graph" not in fields:
            d["graph"] = {**self.graph, "links": [list(x) for x in self.graph["links"]]}
        d.update(fields)
        return new

    @staticmethod
    def _devices(devices, m: int) -> list:
        if devices is None:
            return [None] * m
        if not isinstance(devices, (list, tuple)) or len(devices) != m:
            raise ValueError(f"devices: expected a list of {m} device names (or null), got {devices!r:.80}")
        for j, d in enumerate(devices):
            if d is not None and not (isinstance(d, str) and d):
                raise TypeError(f"devices[{j}]: expected a device name or null, got {d!r:.60}")
        return list(devices)

    @staticmethod
    def _per_bit(name: str, value, m: int) -> np.ndarray:
        if value is None:
            return np.zeros(m)
        arr = float_array(name, value, (m,))
        at_least(name, arr, 0.0)
        return arr

    def _extras(self) -> dict:
        """The optional fields that differ from their defaults, as plain values."""
        d = {}
        if any(x is not None for x in self.devices):
            d["devices"] = list(self.devices)
        for f in ("serialize", "deserialize"):
            if getattr(self, f).any():
                d[f] = getattr(self, f).tolist()
        if self.route_rule != "store_and_forward":
            d["route_rule"] = self.route_rule
        if self.mtu_bits is not None:
            d["mtu_bits"] = self.mtu_bits
        for f in ("active_power_w", "idle_power_w"):
            if getattr(self, f).any():
                d[f] = getattr(self, f).tolist()
        if (form := _link_energy.to_form(self.link_energy)) is not None:
            d["link_energy"] = form
        return d

    @property
    def M(self) -> int:
        """The number of tiers."""
        return len(self.names)

    @classmethod
    @positional("route_rule", "mtu_bits")
    def chain(cls, names, ratio, bandwidth, latency, *, route_rule="store_and_forward", mtu_bits=None,
              **extras) -> Topology:
        """The paper's chain: link j joins tiers j and j+1 with `bandwidth[j]` bit/s and `latency[j]` s.

        Parameters
        ----------
        names : list of str
            The M tiers, in chain order.
        ratio : array_like, shape (M,)
            Each tier's compute time over the reference device's (> 0).
        bandwidth : array_like, shape (M-1,)
            Bit/s of each link (> 0, and large enough that 1/bandwidth is finite).
        latency : array_like, shape (M-1,)
            Seconds of each link (>= 0).
        route_rule : {"store_and_forward", "bottleneck"}
            "store_and_forward" (the paper's: each link sends the whole message, 1/bandwidth summed) or
            "bottleneck" (PORTEND's: the slowest link paces the message).
        mtu_bits : float, optional
            Fragment size pipelined over the route (bottleneck rule only).
        **extras
            devices, serialize, deserialize, as for Topology.

        Returns
        -------
        Topology

        Raises
        ------
        ValueError
            A list of the wrong length or a value out of range, named by field.

        Examples
        --------
        >>> t = ef.Topology.chain(["phone", "edge", "cloud"], [10.0, 2.0, 1.0], [10e6, 100e6], [0.01, 0.03])
        >>> t.path_latency[0].tolist()
        [0.0, 0.01, 0.04]
        >>> ef.Topology.chain(["phone", "cloud"], [10.0, 1.0], [10e6], [0.01], route_rule="bottleneck").route_rule
        'bottleneck'
        """
        names = _names(names)
        m = len(names)
        if m < 1:
            raise ValueError(f"names: a chain needs at least one tier, got {names!r}")
        bw = float_array("bandwidth", bandwidth, (m - 1,))
        at_least("bandwidth", bw, 0.0, strict=True)
        _invertible("bandwidth", bw)
        pl = float_array("latency", latency, (m - 1,))
        at_least("latency", pl, 0.0)
        # Route a -> b crosses links min(a,b) .. max(a,b)-1 (both directions alike).
        routes = {(a, b): list(range(a, b + 1) if a < b else range(a, b - 1, -1))
                  for a in range(m) for b in range(m) if a != b}
        links = [(j, j + 1, float(bw[j]), float(pl[j])) for j in range(m - 1)]
        path_latency, path_inv = route_matrices(m, links, routes, route_rule, mtu_bits)
        topology = cls(names, ratio, path_latency, path_inv,
                       links={"bandwidth": bw.tolist(), "latency": pl.tolist()}, route_rule=route_rule,
                       mtu_bits=mtu_bits, **extras)
        topology._routing = (routes, links)
        return topology

    @classmethod
    @positional("routes", "route_by", "route_rule", "mtu_bits")
    def from_graph(cls, names, ratio, links, *, routes="shortest", route_by="latency",
                   route_rule="store_and_forward", mtu_bits=None, **extras) -> Topology:
        """Tiers joined by links, with routes by shortest path or given.

        Parameters
        ----------
        names : list of str
            The M tiers.
        ratio : array_like, shape (M,)
            Each tier's compute time over the reference device's (> 0).
        links : list
            Each link ``[a, b, bandwidth (bit/s), latency (s)]`` or ``{"between": [a, b], "bandwidth": ..,
            "latency": ..}``; a, b: tier indices or names; a link serves both directions; parallel links
            allowed; at most MAX_LINKS.
        routes : "shortest" or dict
            "shortest" (by `route_by`, with networkx), or a mapping "a->b" (or (a, b)) -> the tiers the
            route visits, a first and b last, each tier once.
        route_by : {"latency", "hops"}
            What "shortest" minimises.
        route_rule : {"store_and_forward", "bottleneck"}
            As for `chain`.
        mtu_bits : float, optional
            As for `chain`.
        **extras
            devices, serialize, deserialize, as for Topology.

        Returns
        -------
        Topology

        Raises
        ------
        ValueError
            A malformed link or route, an unknown tier, a tier linked to itself, a route visiting a tier
            twice; the message names the entry.
        TypeError
            `links` not a list.

        Examples
        --------
        >>> links = [["phone", "edge", 10e6, 0.01], ["edge", "cloud", 100e6, 0.03], ["phone", "cloud", 1e6, 0.1]]
        >>> t = ef.Topology.from_graph(["phone", "edge", "cloud"], [10.0, 2.0, 1.0], links)
        >>> t.graph["routes"], round(float(t.path_latency[0, 2]), 6)  # phone -> edge -> cloud: 0.04 s < 0.1 s
        ('shortest', 0.04)
        >>> hops = ef.Topology.from_graph(["phone", "edge", "cloud"], [10.0, 2.0, 1.0], links, route_by="hops")
        >>> round(float(hops.path_latency[0, 2]), 6)  # the direct link
        0.1
        """
        names = _names(names)
        index = {n: j for j, n in enumerate(names) if isinstance(n, str)}
        tier = lambda v, field: cls._tier_of(names, index, v, field)  # noqa: E731
        if not isinstance(links, (list, tuple)):
            raise TypeError(f"links: expected a list of [a, b, bandwidth, latency], got {links!r:.80}")
        if len(links) > MAX_LINKS:
            raise ValueError(f"links: {len(links)} entries, more than the limit of {MAX_LINKS}")
        parsed = []
        for i, link in enumerate(links):
            if isinstance(link, dict):
                link = cls._link_of_dict(link, f"links[{i}]")
            if not isinstance(link, (list, tuple)) or len(link) != 4:
                raise ValueError(f"links[{i}]: expected [a, b, bandwidth, latency], got {link!r:.80}")
            a, b = tier(link[0], f"links[{i}][0]"), tier(link[1], f"links[{i}][1]")
            if a == b:
                raise ValueError(f"links[{i}]: joins tier {a} to itself")
            bw = float(float_array(f"links[{i}].bandwidth", link[2], ()))
            at_least(f"links[{i}].bandwidth", np.asarray(bw), 0.0, strict=True)
            _invertible(f"links[{i}].bandwidth", np.asarray([bw]), scalar=True)
            lat = float(float_array(f"links[{i}].latency", link[3], ()))
            at_least(f"links[{i}].latency", np.asarray(lat), 0.0)
            parsed.append((a, b, bw, lat))
        m = len(names)
        shortest = isinstance(routes, str) and routes == "shortest"
        if shortest:
            if not isinstance(route_by, str) or route_by not in ROUTE_BY:
                raise ValueError(f"route_by = {route_by!r:.60}: must be one of {', '.join(ROUTE_BY)}")
            table = graph_routes(m, parsed, route_by)
        elif isinstance(routes, dict):
            if len(routes) > m * (m - 1):  # one route per ordered pair, checked before any is read
                raise ValueError(f"routes: {len(routes)} entries, more than the {m * (m - 1)} pairs of {m} tiers")
            table = {}
            for key, path in routes.items():
                ends = key.split("->") if isinstance(key, str) else key
                if not isinstance(ends, (list, tuple)) or len(ends) != 2:
                    raise ValueError(f"routes key {key!r:.60}: expected 'a->b' or (a, b)")
                # "a->b" by names, or by indices as to_dict writes them.
                ends = [e.strip() if isinstance(e, str) else e for e in ends]
                ends = [int(e) if isinstance(e, str) and e not in index and e.isascii() and e.isdigit()
                        and len(e) <= 3 else e for e in ends]
                a, b = (tier(e, f"routes[{key!r}]") for e in ends)
                if a == b:
                    raise ValueError(f"routes[{key!r}]: a route joins two different tiers")
                if not isinstance(path, (list, tuple)) or len(path) > len(names):
                    raise ValueError(f"routes[{key!r}] = {path!r:.80}: expected a list of at most {len(names)} tiers")
                table[(a, b)] = [tier(v, f"routes[{key!r}]") for v in path]
                if len(set(table[(a, b)])) != len(path):
                    raise ValueError(f"routes[{key!r}] = {path!r:.80}: visits a tier twice")
        else:
            raise ValueError(f"routes = {routes!r:.80}: 'shortest' or a mapping 'a->b' -> [tiers]")
        path_latency, path_inv = route_matrices(m, parsed, table, route_rule, mtu_bits)
        graph = {"links": [[a, b, bw, lat] for a, b, bw, lat in parsed],
                 "routes": "shortest" if shortest else
                 {f"{a}->{b}": list(p) for (a, b), p in sorted(table.items())}}
        if shortest:
            graph["route_by"] = route_by
        topology = cls(names, ratio, path_latency, path_inv, graph=graph, route_rule=route_rule, mtu_bits=mtu_bits,
                       **extras)
        topology._routing = (table, parsed)
        return topology

    @staticmethod
    def _link_of_dict(link: dict, where: str) -> list:
        """{"between": [a, b], "bandwidth": .., "latency": ..} as [a, b, bandwidth, latency]."""
        unknown = sorted(set(link) - {"between", "bandwidth", "latency"}, key=str)
        if unknown:
            raise ValueError(f"{where}: unknown field {unknown[0]!r:.60} (a link has between, bandwidth, latency)")
        between = link.get("between")
        if not isinstance(between, (list, tuple)) or len(between) != 2:
            raise ValueError(f"{where}.between = {between!r:.60}: expected the two tiers [a, b]")
        return [*between, link.get("bandwidth"), link.get("latency")]

    @staticmethod
    def _tier_of(names, index, value, field):
        if isinstance(value, str):
            if value not in index:
                raise ValueError(f"{field} = {value!r}: unknown tier; tiers are {', '.join(map(repr, names))}")
            return index[value]
        j = integer(field, value)
        if not 0 <= j < len(names):
            raise ValueError(f"{field} = {j}: out of range for {len(names)} tiers (0..{len(names) - 1})")
        return j

    @classmethod
    def preset(cls, name: str) -> Topology:
        """One of the paper's two chains (its Table 1): "mobile" or "iot".

        Parameters
        ----------
        name : {"mobile", "iot"}
            mobile: smartwatch, smartphone, edge server, cloud; iot: raspberry pi, micro datacenter, local
            cloud, global cloud.

        Returns
        -------
        Topology

        Raises
        ------
        ValueError
            An unknown name.

        Examples
        --------
        >>> ef.Topology.preset("iot").names
        ['raspberry pi', 'micro datacenter', 'local cloud', 'global cloud']
        """
        if name not in PRESETS:
            raise ValueError(f"topology preset {name!r} is unknown; presets: {', '.join(PRESETS)}")
        return cls.chain(*PRESETS[name], **PRESET_ENERGY.get(name, {}))

    @positional("field")
    def tier(self, tier, *, field: str = "tier") -> int:
        """A tier index from an index or a name.

        Parameters
        ----------
        tier : int or str
            A tier's index (0..M-1) or its name.
        field : str
            What to call the value in an error message.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            An unknown name or an index out of range.
        TypeError
            Neither an integer nor a string.

        Examples
        --------
        >>> t = ef.Topology.preset("mobile")
        >>> t.tier("cloud"), t.tier(1)
        (3, 1)
        """
        if isinstance(tier, str):
            if tier not in self.names:
                raise ValueError(f"{field} = {tier!r}: unknown tier; tiers are {', '.join(map(repr, self.names))}")
            return self.names.index(tier)
        j = integer(field, tier)
        if not 0 <= j < self.M:
            raise ValueError(f"{field} = {j}: out of range for {self.M} tiers (0..{self.M - 1})")
        return j

    def to_dict(self) -> dict:
        """Every field, as the file formats write it; from_dict(to_dict()) is the same topology.

        Returns
        -------
        dict
            names, ratio, the routes in the form they were given (chain, graph or route matrices) and the
            optional fields that differ from their defaults.

        Examples
        --------
        >>> ef.Topology.chain(["phone", "cloud"], [10.0, 1.0], [1e6], [0.02]).to_dict()
        {'names': ['phone', 'cloud'], 'ratio': [10.0, 1.0], 'bandwidth': [1000000.0], 'latency': [0.02]}
        """
        head = {"names": list(self.names), "ratio": self.ratio.tolist()}
        if self.links is not None:
            return {**head, **self.links, **self._extras()}
        if self.graph is not None:
            return {**head, **self.graph, **self._extras()}
        return {**head, "path_latency": self.path_latency.tolist(),
                "path_inv_bandwidth": self.path_inv_bandwidth.tolist(), **self._extras()}

    def replace(self, **changes) -> Topology:
        """A new topology with some fields of the dict form changed, every other field kept.

        Parameters
        ----------
        **changes
            Fields of `to_dict`'s form (names, ratio, bandwidth, latency, links, devices, ...) and their
            new values, checked as `from_dict` checks them.

        Returns
        -------
        Topology

        Examples
        --------
        >>> ef.Topology.preset("mobile").replace(ratio=[400.0, 10.0, 2.5, 1.0]).ratio.tolist()
        [400.0, 10.0, 2.5, 1.0]
        """
        d = self.to_dict()
        d.update(changes)
        return Topology.from_dict(d)

    def with_ratio(self, tier, ratio) -> Topology:
        """A new topology with one tier's compute ratio changed.

        Parameters
        ----------
        tier : int or str
            The tier, by index or name.
        ratio : float
            Its new ratio (> 0).

        Returns
        -------
        Topology

        Examples
        --------
        >>> ef.Topology.preset("mobile").with_ratio("cloud", 0.5).ratio.tolist()
        [500.0, 10.0, 2.5, 0.5]
        """
        a = self.tier(tier, field="tier")
        value = _plain(ratio)
        if value is None or not 0 < value < math.inf:  # refused as a whole rebuild refuses it, same words
            new = self.ratio.tolist()
            new[a] = ratio
            return self.replace(ratio=new)
        ratios = self.ratio.copy()
        ratios[a] = value
        return self._derived(ratio=ratios)

    def link_index(self, link) -> tuple:
        """Which link `link` names: ("chain", j), ("graph", i) or ("route", (a, b)).

        A chain's link is its index j (tiers j and j+1) or the pair of neighbours; a graph's, its index in
        `links` or its two tiers; a topology given as routes has no links, only routes (a, b).

        Parameters
        ----------
        link : int or tuple
            A link index, or a pair of tiers (indices or names).

        Returns
        -------
        tuple
            (kind, where): ("chain", j), ("graph", i) or ("route", (a, b)).

        Raises
        ------
        ValueError
            No such link, tiers that are not neighbours in a chain, parallel links named by their tiers.
        TypeError
            Neither an index nor a pair.

        Examples
        --------
        >>> t = ef.Topology.preset("mobile")
        >>> t.link_index(1), t.link_index(("cloud", "edge server"))
        (('chain', 1), ('chain', 2))
        """
        if isinstance(link, (tuple, list)):
            if len(link) != 2:
                raise ValueError(f"link = {link!r}: expected a link index or a pair of tiers (a, b)")
            a, b = self.tier(link[0], field="link[0]"), self.tier(link[1], field="link[1]")
            if a == b:
                raise ValueError(f"link = {link!r}: a link joins two different tiers")
            if self.links is not None:
                if abs(a - b) != 1:
                    raise ValueError(f"link = {link!r}: tiers {a} and {b} are not neighbours; a chain's link j "
                                     f"joins tiers j and j+1")
                return "chain", min(a, b)
            if self.graph is not None:
                found = [i for i, (x, y, _, _) in enumerate(self.graph["links"]) if {x, y} == {a, b}]
                if not found:
                    raise ValueError(f"link = {link!r}: no link joins tiers {a} and {b} in this graph")
                if len(found) > 1:  # which one is meant would be a silent guess
                    raise ValueError(f"link = {link!r}: tiers {a} and {b} are joined by parallel links "
                                     f"{', '.join(map(str, found))}; name the link by its index")
                return "graph", found[0]
            return "route", (a, b)
        if isinstance(link, bool) or not isinstance(link, (int, np.integer)):
            raise TypeError(f"link: expected a link index or a pair of tiers, got {link!r}")
        j = int(link)
        if self.links is None and self.graph is None:
            raise ValueError(f"link = {j}: this topology is given as routes, not a chain of links; "
                             "name the route as a pair of tiers (a, b)")
        count = self.M - 1 if self.links is not None else len(self.graph["links"])
        if not 0 <= j < count:
            raise ValueError(f"link = {j}: link index out of range for {count} links (0..{count - 1})")
        return ("chain" if self.links is not None else "graph"), j

    @positional("bandwidth", "latency")
    def with_link(self, link, *, bandwidth=None, latency=None) -> Topology:
        """A new topology with one link's (or route's) bandwidth (bit/s) or latency (s) changed.

        Parameters
        ----------
        link : int or tuple
            The link, as `link_index` reads it; for a topology given as routes, the route (a, b), which
            changes in both directions.
        bandwidth : float, optional
            Its new bandwidth in bit/s (> 0); None keeps it.
        latency : float, optional
            Its new latency in seconds (>= 0); None keeps it.

        Returns
        -------
        Topology

        Raises
        ------
        ValueError
            No such link, or a value out of range.

        Examples
        --------
        >>> t = ef.Topology.preset("mobile").with_link(0, bandwidth=1e6)
        >>> t.to_dict()["bandwidth"]
        [1000000.0, 10000000.0, 500000000.0]
        """
        return self._with_link(link, bandwidth, latency)

    def _with_link(self, link, bandwidth, latency) -> Topology:
        kind, where = self.link_index(link)
        fields = self._link_change(kind, where, bandwidth, latency)
        if fields is None:
            return self._rebuilt_with_link(kind, where, bandwidth, latency)  # its checks name a bad value
        return self._derived(**fields)

    def _link_change(self, kind: str, where, bandwidth, latency, now: dict | None = None) -> dict | None:
        """The fields that change when link `where` (link_index's) takes a new bandwidth or latency: the
        route matrices with only the routes crossing it re-summed (a graph's shortest paths found again
        only where its latency can move them), its links and routes. None where the quick path does not
        apply (a value a rebuild would refuse or convert, a topology without its routes).

        `now`: fields this method returned earlier, for a topology derived from this one with them and not
        built (a Planner's state builds it only when read): the change is made to that topology. What a
        link change leaves (names, the links' tiers, the route rule) is the same in both."""
        bw, lat = _plain(bandwidth), _plain(latency)
        fast = (bandwidth is None or (bw is not None and 0 < bw < math.inf and 1.0 / bw < math.inf)) and \
            (latency is None or (lat is not None and 0 <= lat < math.inf))
        if now is None:
            path_latency, path_inv, links, graph = self.path_latency, self.path_inv_bandwidth, self.links, self.graph
            routing = self._routes() if fast and kind != "route" else None
        else:  # the keys a link change of this kind of topology returns, so all of them are there
            path_latency, path_inv = now["path_latency"], now["path_inv_bandwidth"]
            links, graph, routing = now.get("links"), now.get("graph"), now.get("_routing")
            if isinstance(routing, tuple):
                routing = Routing(*routing)
        if not fast or (kind != "route" and routing is None):
            return None
        if kind == "route":
            a, b = where
            pl, inv = path_latency.copy(), path_inv.copy()
            if bandwidth is not None:
                inv[a, b] = inv[b, a] = 1.0 / bw  # a route serves both directions
            if latency is not None:
                pl[a, b] = pl[b, a] = lat
            return {"path_latency": pl, "path_inv_bandwidth": inv}
        if kind == "chain":
            links = {"bandwidth": list(links["bandwidth"]), "latency": list(links["latency"])}
            if bandwidth is not None:
                links["bandwidth"][where] = bw
            if latency is not None:
                links["latency"][where] = lat
            x, y = where, where + 1
            joining = [(x, y, links["bandwidth"][where], links["latency"][where])]
            changed = {"links": links}
        else:
            graph = {**graph, "links": [list(v) for v in graph["links"]]}
            for i, value in ((2, bw), (3, lat)):
                if value is not None:
                    graph["links"][where][i] = value
            x, y = graph["links"][where][:2]
            joining = [v for v in graph["links"] if {v[0], v[1]} == {x, y}]
            changed = {"graph": graph}
            if latency is not None and graph["routes"] == "shortest" and graph.get("route_by") == "latency":
                # A link's latency may move shortest paths: the routes are found again, then summed.
                parsed = [tuple(v) for v in graph["links"]]
                paths = graph_routes(self.M, parsed, "latency")
                pl, inv = route_matrices(self.M, parsed, paths, self.route_rule, self.mtu_bits)
                return {"path_latency": pl, "path_inv_bandwidth": inv, "_routing": (paths, parsed), **changed}
        routing = routing.with_links(joining)
        pl, inv = update_routes(routing, path_latency, path_inv, x, y, self.route_rule, self.mtu_bits)
        return {"path_latency": pl, "path_inv_bandwidth": inv, "_routing": routing, **changed}

    def _chain_routes(self, j: int, bandwidth: float | None, latency: float | None) -> tuple:
        """(path_latency, path_inv_bandwidth) with chain link j at a valid new bandwidth or latency: what
        with_link's topology holds, without the topology (plan tables evaluate plans at many values)."""
        bw = self.links["bandwidth"][j] if bandwidth is None else bandwidth
        lat = self.links["latency"][j] if latency is None else latency
        routing = self._routes().with_links([(j, j + 1, bw, lat)])
        return update_routes(routing, self.path_latency, self.path_inv_bandwidth, j, j + 1, self.route_rule,
                             self.mtu_bits)

    def _scaled(self, factor: float) -> Topology | None:
        """Every bandwidth times `factor`, routes kept and re-summed (None where the quick path does not
        apply: a bandwidth whose inverse overflows, a topology given as routes or without its routes)."""
        routing = self._routes()
        if routing is None:
            return None
        if self.links is not None:
            bw = [b * factor for b in self.links["bandwidth"]]
            parsed = [(j, j + 1, bw[j], lat) for j, lat in enumerate(self.links["latency"])]
            changed = {"links": {**self.links, "bandwidth": bw, "latency": list(self.links["latency"])}}
        else:
            parsed = [(a, b, bw * factor, lat) for a, b, bw, lat in self.graph["links"]]
            changed = {"graph": {**self.graph, "links": [list(v) for v in parsed]}}
        if not all(0 < v[2] < math.inf and 1.0 / v[2] < math.inf for v in parsed):
            return None
        pl, inv = route_matrices(self.M, parsed, routing.paths, self.route_rule, self.mtu_bits)
        return self._derived(path_latency=pl, path_inv_bandwidth=inv, _routing=(routing.paths, parsed),
                             **changed)

    def _rebuilt_with_link(self, kind, where, bandwidth, latency) -> Topology:
        """with_link by a whole rebuild (to_dict, from_dict): for values the quick path does not take, so
        that a bad one is refused with the message a topology file's would get."""
        if kind == "chain":
            bw, pl = list(self.links["bandwidth"]), list(self.links["latency"])
            if bandwidth is not None:
                bw[where] = bandwidth
            if latency is not None:
                pl[where] = latency
            return self.replace(bandwidth=bw, latency=pl)
        if kind == "graph":
            links = [list(x) for x in self.graph["links"]]
            if bandwidth is not None:
                links[where][2] = bandwidth
            if latency is not None:
                links[where][3] = latency
            return self.replace(links=links)
        a, b = where
        pl, inv = self.path_latency.copy(), self.path_inv_bandwidth.copy()
        if bandwidth is not None:
            bandwidth = number("bandwidth", bandwidth)
            if not bandwidth > 0:
                raise ValueError(f"bandwidth = {bandwidth!r}: must be > 0 bit/s")
            inv[a, b] = inv[b, a] = 1.0 / bandwidth  # a route serves both directions
        if latency is not None:
            pl[a, b] = pl[b, a] = number("latency", latency)
        return self.replace(path_latency=pl.tolist(), path_inv_bandwidth=inv.tolist())

    @classmethod
    def from_dict(cls, data: dict) -> Topology:
        """A topology from its dict form (`to_dict`, or a topology file's object).

        Parameters
        ----------
        data : dict
            names, ratio, and one form of routes: a chain (bandwidth, latency), a graph (links, and
            optionally routes and route_by) or routes (path_latency, path_inv_bandwidth); optionally
            devices, serialize, deserialize, route_rule, mtu_bits.

        Returns
        -------
        Topology

        Raises
        ------
        ValueError
            A field missing or unknown (with the closest known name), or fields of two forms mixed.
        TypeError
            `data` not a mapping.

        Examples
        --------
        >>> ef.Topology.from_dict({"names": ["phone", "cloud"], "ratio": [10, 1], "bandwidth": [1e6],
        ...                        "latency": [0.02]})
        Topology(['phone', 'cloud'])
        """
        d = data
        if not isinstance(d, dict):
            raise TypeError(f"topology: expected a mapping, got {type(d).__name__}")
        for f in ("names", "ratio"):
            if f not in d:
                raise ValueError(f"topology: missing field {f!r}")
        chain = {"bandwidth", "latency"}
        general = {"path_latency", "path_inv_bandwidth"}
        extras = {f: d[f] for f in EXTRA_FIELDS if f in d}
        keys = set(d) - {"names", "ratio"} - set(EXTRA_FIELDS)
        if keys == chain:
            return cls.chain(d["names"], d["ratio"], d["bandwidth"], d["latency"], **extras)
        if keys == general:
            return cls(d["names"], d["ratio"], d["path_latency"], d["path_inv_bandwidth"], **extras)
        if "links" in keys and keys <= {"links", "routes", "route_by"}:
            return cls.from_graph(d["names"], d["ratio"], d["links"], routes=d.get("routes", "shortest"),
                                  route_by=d.get("route_by", "latency"), **extras)
        raise ValueError(cls._form_error(keys, chain, general))

    @staticmethod
    def _form_error(keys: set, chain: set, general: set) -> str:
        """Why the fields beside names and ratio make no topology: the field missing from the one form they
        begin, an unknown field, or fields of two forms mixed; else which forms there are."""
        graph = {"links", "routes", "route_by"}
        forms = "a chain (bandwidth, latency: one per link), a graph (links: [a, b, bandwidth, latency] each; " \
                "routes: shortest or given) or routes (path_latency, path_inv_bandwidth: M x M)"
        unknown = sorted(keys - chain - general - graph, key=str)
        if unknown:
            known = sorted(chain | general | graph | set(EXTRA_FIELDS))
            close = difflib.get_close_matches(str(unknown[0]), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return (f"topology: unknown field {unknown[0]!r:.60}{hint}; give {forms}; also names, ratio and "
                    f"optionally {', '.join(EXTRA_FIELDS)}")
        begun = [(what, have, need) for what, have, need in (
            ("a chain", keys & chain, ("bandwidth", "latency")),
            ("a graph", keys & graph, ("links",)),
            ("a topology given as routes", keys & general, ("path_latency", "path_inv_bandwidth"))) if have]
        if len(begun) > 1:
            (a, fa, _), (b, fb, _) = begun[:2]
            return (f"topology: fields {sorted(fa)} of {a} and {sorted(fb)} of {b} mixed; give one form: {forms}")
        if begun:
            what, have, need = begun[0]
            missing = [f for f in need if f not in have]
            given = ", ".join(sorted(have))
            return (f"topology: missing field {missing[0]!r}: {what} needs {' and '.join(need)}, "
                    f"this one gives only {given}")
        return f"topology: missing its links: give {forms}"

    def save(self, path) -> None:
        """Writes the topology (`to_dict`) as YAML (.yaml, .yml) or else JSON, for `load`.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists); its suffix picks the format.

        Examples
        --------
        >>> ef.Topology.preset("mobile").save("mobile.json")
        >>> ef.Topology.load("mobile.json").M
        4
        """
        path = Path(path)
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        else:
            path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path) -> Topology:
        """Reads a topology file: YAML (.yaml, .yml; no aliases, YAML 1.2 floats such as 500e3) or JSON.

        Parameters
        ----------
        path : str or os.PathLike
            The topology file, in `from_dict`'s form.

        Returns
        -------
        Topology

        Raises
        ------
        ValueError
            The file is missing, not valid JSON/YAML, uses YAML aliases, nests too deeply, or is not a
            topology; the message names the file (and line).

        Examples
        --------
        >>> ef.Topology.chain(["phone", "cloud"], [10.0, 1.0], [1e6], [0.02]).save("two.yaml")
        >>> ef.Topology.load("two.yaml")
        Topology(['phone', 'cloud'])
        """
        path = Path(path)
        text = read_text(path, "topology file")
        where = f"topology file {str(path)!r}"
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                d = yaml.load(text, Loader=_NoAliasLoader)
            else:
                d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not valid JSON ({exc})") from None
        except RecursionError:
            raise ValueError(f"{where}: nested too deeply to be a topology") from None
        except YamlRefused as exc:  # an alias or deep nesting, refused by _NoAliasLoader
            raise ValueError(f"{where}: {exc}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{where}: not valid YAML ({_yaml_error(exc)})") from None
        return cls.from_dict(d)

    def __repr__(self) -> str:
        return f"Topology({self.names})"


def _plain(value):
    """A new network value as a float where it is a plain real number (the quick path of with_link and
    with_ratio), else None (the whole rebuild then checks it and names what is wrong)."""
    if type(value) is float:
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    try:
        return float(value)
    except (OverflowError, ValueError):
        return None
