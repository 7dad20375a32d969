"""Routes between tiers and a route's transfer time, as the two route matrices (docs/model.md "Routes").

A message of x bits on the route a -> b takes path_latency[a][b] + x * path_inv_bandwidth[a][b] seconds.
The route rule decides how the links of the route fill the two numbers:

- store_and_forward (the paper's): every link receives the whole message before sending it on, so the
  route's latency and 1/bandwidth are both sums over its links;
- bottleneck (PORTEND's): the message streams through, paced by the slowest link: latencies still add
  up, 1/bandwidth is that of the slowest link. With `mtu_bits`, the first fragment still has to cross every
  other link: each adds mtu_bits / bandwidth once (PORTEND's N * max_L + sum of the others).
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import MAX_TIERS, at_least, count, float_array

ROUTE_RULES = ("store_and_forward", "bottleneck")
_INF = math.inf
ROUTE_BY = ("latency", "hops")


def check_size(m: int) -> None:
    """The engine's tier limit, checked before any route is built: routes grow like M^3 in time and memory.

    Parameters
    ----------
    m : int
        The number of tiers.

    Raises
    ------
    ValueError
        More than MAX_TIERS.
    """
    count("names", m, MAX_TIERS, "tiers")


def graph_routes(m: int, links, route_by: str = "latency") -> dict:
    """(a, b) -> [a, ..., b] for every pair of distinct tiers: a shortest path by summed link latency or by
    hop count (networkx, Dijkstra). Parallel links between two tiers: the one with least latency is kept.
    A pair with no path is an error naming it.

    Parameters
    ----------
    m : int
        The number of tiers.
    links : list of tuple
        (a, b, bandwidth, latency) per link, tier indices.
    route_by : {"latency", "hops"}
        What a shortest path minimises.

    Returns
    -------
    dict
        (a, b) -> the tiers the route visits.
    """
    import networkx as nx  # noqa: PLC0415 - only graphs need it

    check_size(m)
    g = nx.Graph()
    g.add_nodes_from(range(m))
    for a, b, _bw, lat in links:
        w = lat if route_by == "latency" else 1.0
        if not g.has_edge(a, b) or w < g[a][b]["weight"]:
            g.add_edge(a, b, weight=w)
    paths = dict(nx.all_pairs_dijkstra_path(g, weight="weight"))
    routes = {}
    for a in range(m):
        for b in range(m):
            if a != b:
                if b not in paths[a]:
                    raise ValueError(f"links: no route from tier {a} to tier {b}; the graph is not connected")
                routes[(a, b)] = list(paths[a][b])
    return routes


def link_choice(links) -> dict:
    """{(a, b): index in `links`} both ways: the link a route's hop between a and b takes. Of parallel links,
    the one with least latency, then the fastest, then the first listed.

    Parameters
    ----------
    links : list of tuple
        (a, b, bandwidth, latency) per link, tier indices.

    Returns
    -------
    dict
        (a, b) -> the index of the link taken, for both directions of every linked pair.
    """
    chosen = {}
    for i, (a, b, bw, lat) in enumerate(links):
        for key in ((a, b), (b, a)):
            if key not in chosen or (lat, -bw) < (links[chosen[key]][3], -links[chosen[key]][2]):
                chosen[key] = i
    return chosen


def _link_table(links) -> dict:
    """{(a, b): (bandwidth, latency)} both ways, of the link `link_choice` takes."""
    return {key: (links[i][2], links[i][3]) for key, i in link_choice(links).items()}


def chain_routes(m: int) -> dict:
    """(a, b) -> [a, ..., b] on a chain: link j joins tiers j and j+1, so a route visits every tier between.

    Parameters
    ----------
    m : int
        The number of tiers.

    Returns
    -------
    dict
        (a, b) -> the tiers visited, for every ordered pair of distinct tiers.
    """
    return {(a, b): list(range(a, b + 1) if a < b else range(a, b - 1, -1))
            for a in range(m) for b in range(m) if a != b}


def route_matrices(m: int, links, routes: dict, rule: str = "store_and_forward", mtu_bits=None):
    """path_latency, path_inv_bandwidth (M x M) of `routes` ((a, b) -> tiers visited) over `links`
    ([a, b, bandwidth, latency], both directions) under `rule`. Pairs without a route are an error.

    Parameters
    ----------
    m : int
        The number of tiers.
    links : list of tuple
        (a, b, bandwidth bit/s, latency s) per link, tier indices.
    routes : dict
        (a, b) -> the tiers visited, a first and b last, for every ordered pair.
    rule : {"store_and_forward", "bottleneck"}
        Each link sends the whole message (1/bandwidth summed), or the slowest link paces it.
    mtu_bits : float, optional
        Fragment size pipelined over the route (bottleneck only): each other link adds mtu_bits/bandwidth.

    Returns
    -------
    tuple
        (path_latency, path_inv_bandwidth), each numpy.ndarray (M, M), sums correctly rounded (fsum).
    """
    if rule not in ROUTE_RULES:
        raise ValueError(f"route_rule = {rule!r}: must be one of {', '.join(ROUTE_RULES)}")
    check_size(m)
    if mtu_bits is not None:
        if rule != "bottleneck":
            raise ValueError(f"mtu_bits: only the bottleneck route rule pipelines fragments, not {rule!r}")
        mtu_bits = float(float_array("mtu_bits", mtu_bits, ()))
        at_least("mtu_bits", np.asarray(mtu_bits), 0.0, strict=True)
    table = _link_table(links)
    path_latency = [[0.0] * m for _ in range(m)]
    path_inv = [[0.0] * m for _ in range(m)]
    for a in range(m):
        for b in range(m):
            if a == b:
                continue
            if (a, b) not in routes:
                raise ValueError(f"routes: no route from tier {a} to tier {b}")
            path = routes[(a, b)]
            if len(path) < 2 or path[0] != a or path[-1] != b:
                raise ValueError(f"routes[{a}->{b}] = {path}: must start at tier {a} and end at tier {b}")
            for x, y in zip(path[:-1], path[1:]):
                if (x, y) not in table:
                    raise ValueError(f"routes[{a}->{b}] = {path}: no link joins tiers {x} and {y}")
            hops = [table[(x, y)] for x, y in zip(path[:-1], path[1:])]
            path_latency[a][b], path_inv[a][b] = route_cost(hops, rule, mtu_bits)
    return np.array(path_latency), np.array(path_inv)


def route_cost(hops: list, rule: str, mtu_bits) -> tuple:
    """(latency, 1/bandwidth) of one route, given the (bandwidth, latency) of its links in order: the one
    rule that both the whole matrices and a change of one link (`update_routes`) apply."""
    # Correctly rounded sums (fsum): no route loses digits, and a route and its reverse cost the
    # same to the bit, whatever order their links are listed in.
    try:
        latency = math.fsum([lat for _, lat in hops])
        if rule == "store_and_forward":
            return latency, math.fsum([1.0 / bw for bw, _ in hops])
        slow = min(range(len(hops)), key=lambda i: hops[i][0])
        if mtu_bits is not None and len(hops) > 1:
            latency = math.fsum([*(lat for _, lat in hops),
                                 *(mtu_bits / bw for i, (bw, _) in enumerate(hops) if i != slow)])
    except OverflowError:  # fsum's own words name nothing
        raise ValueError(f"a route over links of (bandwidth bit/s, latency s) {[tuple(h) for h in hops]}: its time "
                         "sums past the largest float (about 1.8e308 s); latencies are seconds, bandwidths bit/s") \
            from None
    return latency, 1.0 / hops[slow][0]


class Routing:
    """The routes of a chain or graph, kept beside its route matrices so that a change of one link
    re-sums only the routes that cross it (`update_routes`). Never changed in place: shared by the
    topologies derived from one another while the routes stay."""

    __slots__ = ("crossing", "paths", "table")

    def __init__(self, paths: dict, links):
        self.paths = paths  # (a, b) -> the tiers visited
        self.table = _link_table(links)
        # (x, y), x < y -> {the route's links: where it is in the matrices}: the routes crossing tiers x, y,
        # a route and its reverse together (the same numbers summed, by fsum: the same bits).
        self.crossing: dict = {}
        for (a, b), path in paths.items():
            route = min(tuple(path), tuple(path[::-1]))
            for x, y in zip(path[:-1], path[1:]):
                self.crossing.setdefault((min(x, y), max(x, y)), {}).setdefault(route, []).append((a, b))
        m = 1 + max((max(p) for p in paths.values()), default=0)
        for groups in self.crossing.values():  # as update_routes reads them: links -> flat indices a*M + b
            for route in list(groups):
                groups[tuple(zip(route[:-1], route[1:]))] = tuple(a * m + b for a, b in groups.pop(route))

    def with_links(self, links) -> Routing:
        """The same routes with `links`, every link joining the same two tiers x, y, as they now are (their
        best re-chosen as route_matrices chooses it)."""
        new = Routing.__new__(Routing)
        new.paths, new.crossing = self.paths, self.crossing
        new.table = table = dict(self.table)
        if len(links) == 1:  # a chain's link: the only one joining its tiers, no choice to make
            a, b, bw, lat = links[0]
            table[(a, b)] = table[(b, a)] = (bw, lat)
        else:
            table.update(_link_table(links))
        return new


def _short_sums(hops: list) -> tuple:
    """(latency, 1/bandwidth) of a store-and-forward route of one or two links by one addition each, where
    that is fsum's answer (one rounding is the correctly rounded sum); (None, None) where fsum must decide:
    longer routes, a zero latency (fsum's sign of zero) or an overflow (fsum raises)."""
    if len(hops) == 1:
        bw, latency = hops[0]
        if latency != 0:
            return latency, 1.0 / bw
    elif len(hops) == 2:
        (bw, lat), (bw2, lat2) = hops
        latency, inv = lat + lat2, 1.0 / bw + 1.0 / bw2
        if 0 < latency < _INF and inv < _INF:
            return latency, inv
    return None, None


def update_routes(routing: Routing, path_latency: np.ndarray, path_inv: np.ndarray, x: int, y: int, rule: str,
                  mtu_bits) -> tuple:
    """Copies of the route matrices with the routes that cross tiers x, y re-summed over `routing`'s links
    (route_cost: the same sums as route_matrices, so the same bits)."""
    path_latency, path_inv = path_latency.copy(), path_inv.copy()
    flat_latency, flat_inv = path_latency.reshape(-1), path_inv.reshape(-1)  # views: written through
    table = routing.table
    for links, where in routing.crossing.get((x, y) if x < y else (y, x), {}).items():
        hops = [table[k] for k in links]
        if rule != "store_and_forward":
            latency, inv = route_cost(hops, rule, mtu_bits)
        else:  # route_cost's sums, inline: a re-plan runs this per route crossing
            latency, inv = _short_sums(hops)
            if latency is None:
                latency, inv = route_cost(hops, rule, mtu_bits)
        for i in where:
            flat_latency[i] = latency
            flat_inv[i] = inv
    return path_latency, path_inv


def fsum_rows(terms) -> np.ndarray:
    """math.fsum of each row of `terms` (S, k), for many routes at once: the same correctly rounded sums
    (so the same bits) as route_cost's, by fsum's own algorithm (Shewchuk's partials, then its half-even
    correction) run on whole columns. Finite terms only: a row whose sum overflows is inf (fsum raises).

    Parameters
    ----------
    terms : numpy.ndarray
        (S, k) float64, finite.

    Returns
    -------
    numpy.ndarray
        (S,) each row's correctly rounded sum.

    Examples
    --------
    >>> fsum_rows(np.array([[0.1] * 10, [1e100, 1.0, -1e100, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])).tolist()
    [1.0, 1.0]
    """
    terms = np.asarray(terms, dtype=np.float64)
    partials: list = []  # kept at a fixed count (zeros where fsum drops one): the same non-zero partials
    with np.errstate(over="ignore", invalid="ignore"):
        for x in terms.T:
            for j, y in enumerate(partials):
                swap = np.abs(x) < np.abs(y)
                big, small = np.where(swap, y, x), np.where(swap, x, y)
                hi = big + small
                partials[j] = small - (hi - big)
                x = hi
            partials.append(x)
        hi = np.zeros(terms.shape[0])
        lo = np.zeros(terms.shape[0])
        stopped = np.zeros(terms.shape[0], dtype=bool)  # the top-down sum met its first inexact addition
        below = np.zeros(terms.shape[0])  # then: the first non-zero partial under it
        for y in reversed(partials):
            seek = stopped & (below == 0)
            below = np.where(seek, y, below)
            s = hi + y
            d = y - (s - hi)
            hi, lo = np.where(stopped, hi, s), np.where(stopped, lo, d)
            stopped |= d != 0
        # Half-even rounding across partials: fsum's correction where the rest pushes past the halfway point.
        twice = lo * 2.0
        up = hi + twice
        fix = ((lo < 0) & (below < 0)) | ((lo > 0) & (below > 0))
        hi = np.where(fix & (up - hi == twice), up, hi)
    return hi


def route_costs(hops: list, rule: str, mtu_bits) -> tuple:
    """route_cost for many values of one route's links at once: `hops` lists the route's links in order,
    each (bandwidths, latencies) as (S,) arrays; returns (latency, 1/bandwidth), each (S,), to the bit
    route_cost's on every row (fsum_rows)."""
    latency = np.stack([lat for _, lat in hops], axis=1)
    inv = np.stack([1.0 / bw for bw, _ in hops], axis=1)
    if rule == "store_and_forward":
        return fsum_rows(latency), fsum_rows(inv)
    bw = np.stack([b for b, _ in hops], axis=1)
    slow = np.argmin(bw, axis=1)  # the first slowest, as route_cost's min
    rows = np.arange(bw.shape[0])
    if mtu_bits is not None and len(hops) > 1:
        extra = mtu_bits / bw
        extra[rows, slow] = 0.0  # a zero term leaves a correctly rounded sum as it is
        latency = np.concatenate([latency, extra], axis=1)
    return fsum_rows(latency), inv[rows, slow]
