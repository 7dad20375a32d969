"""Brute force straight from the raw model (docs/model.md "Formulas" and "Fillers"): one configuration's
latency and accuracy from the profile's and topology's own fields (links, routes, devices, serialisation),
in plain Python floats, without tables.py or routes.py. Routes of a graph are found here by Floyd-Warshall,
so the tests must use graphs whose shortest routes are unique. `energy` is docs/model.md "Energy" the same
way: from the topology's dict form (links, powers, link_energy), without model/energy.py."""
from __future__ import annotations

import math


def _floyd(m, links, by):
    inf = math.inf
    dist = [[0.0 if a == b else inf for b in range(m)] for a in range(m)]
    nxt = [[b if a == b else None for b in range(m)] for a in range(m)]
    for a, b, _bw, lat in links:
        w = lat if by == "latency" else 1.0
        for x, y in ((a, b), (b, a)):
            if w < dist[x][y]:
                dist[x][y], nxt[x][y] = w, y
    for k in range(m):
        for i in range(m):
            for j in range(m):
                if dist[i][k] + dist[k][j] < dist[i][j]:
                    dist[i][j], nxt[i][j] = dist[i][k] + dist[k][j], nxt[i][k]
    routes = {}
    for a in range(m):
        for b in range(m):
            if a != b:
                path, x = [a], a
                while x != b:
                    x = nxt[x][b]
                    path.append(x)
                routes[(a, b)] = path
    return routes


def _hops(topology):
    """(routes, {frozenset(a, b): (bandwidth, latency)}) of a chain or a graph; None for given matrices."""
    m = topology.M
    if topology.links is not None:
        bw, lat = topology.links["bandwidth"], topology.links["latency"]
        links = [(j, j + 1, bw[j], lat[j]) for j in range(m - 1)]
        routes = {(a, b): list(range(a, b + 1)) if a < b else list(range(a, b - 1, -1))
                  for a in range(m) for b in range(m) if a != b}
    elif topology.graph is not None:
        links = [tuple(x) for x in topology.graph["links"]]
        if topology.graph["routes"] == "shortest":
            routes = _floyd(m, links, topology.graph.get("route_by", "latency"))
        else:
            routes = {tuple(int(v) for v in k.split("->")): p for k, p in topology.graph["routes"].items()}
    else:
        return None, None
    table = {}
    for a, b, bw, lat in links:
        key = frozenset((a, b))
        if key not in table or (lat, -bw) < (table[key][1], -table[key][0]):
            table[key] = (bw, lat)
    return routes, table


def transfer(topology, bits, a, b):
    """Seconds for a message of `bits` from tier a to tier b over the route, by the topology's route rule."""
    if a == b:
        return 0.0
    routes, table = _hops(topology)
    if routes is None:
        return topology.path_latency[a][b] + bits * topology.path_inv_bandwidth[a][b]
    path = routes[(a, b)]
    hops = [table[frozenset((x, y))] for x, y in zip(path[:-1], path[1:])]
    latency = sum(lat for _, lat in hops)
    if topology.route_rule == "store_and_forward":
        return latency + sum(bits / bw for bw, _ in hops)
    slowest = min(bw for bw, _ in hops)
    t = latency + bits / slowest
    if topology.mtu_bits is not None and len(hops) > 1:
        rest = [bw for bw, _ in hops]
        rest.remove(slowest)
        t += sum(topology.mtu_bits / bw for bw in rest)
    return t


def _device(profile, topology, a):
    name = topology.devices[a]
    return None if name is None else profile.devices[name]


def compute(profile, topology, a, p, q):
    """Blocks p+1..q and branch q on tier a."""
    dev = _device(profile, topology, a)
    if dev is not None and dev.partition_list is not None:
        return next(s for first, last, s in dev.partition_list if (first, last) == (p + 1, q))
    if dev is not None:
        return sum(dev.block_time[p:q]) + dev.branch_time[q - 1]
    return topology.ratio[a] * (sum(profile.block_time[p:q]) + profile.branch_time[q - 1])


def _tensor_bits(profile, i):
    n = profile.N
    return profile.input_bits if i == 0 else profile.result_bits if i == n + 1 else profile.output_bits[i - 1]


def serialise(profile, topology, a, i, receive=False):
    """Tier a's time to serialise (or deserialise) tensor i: 0 the input, q block q's output, N+1 the result."""
    dev = _device(profile, topology, a)
    measured = None if dev is None else (dev.deserialize_time if receive else dev.serialize_time)
    if measured is not None:
        return measured[i]
    per_bit = topology.deserialize[a] if receive else topology.serialize[a]
    return per_bit * _tensor_bits(profile, i)


def move(profile, topology, i, a, b):
    if a == b:
        return 0.0
    return (transfer(topology, _tensor_bits(profile, i), a, b) + serialise(profile, topology, a, i)
            + serialise(profile, topology, b, i, receive=True))


def _cumulative_exits(profile, t):
    """c_0..c_N at threshold t: running sums of the exit rates, capped at 1, c_N = 1 exactly."""
    c = [0.0]
    for i in range(profile.N):
        c.append(min(c[-1] + profile.exit_rate[t][i], 1.0))
    c[profile.N] = 1.0
    return c


def _partitions(c, P, A):
    """Per partition k: (k, p, q, its tier, whether last, in_k, E_k, S_k) (docs/model.md "Formulas")."""
    L = len(P)
    for k in range(L):
        p, q = (P[k - 1] if k else 0), P[k]
        last = k == L - 1
        yield k, p, q, A[k], last, 1.0 - c[p], (1.0 - c[p] if last else c[q] - c[p]), (0.0 if last else 1.0 - c[q])


def latency_accuracy(profile, topology, source, destination, t, P, A):
    n = profile.N
    c = _cumulative_exits(profile, t)
    latency = move(profile, topology, 0, source, A[0])
    accuracy = 0.0
    for k, p, q, a, last, in_k, E_k, S_k in _partitions(c, P, A):
        latency += in_k * compute(profile, topology, a, p, q)
        if not last:
            latency += S_k * move(profile, topology, q, a, A[k + 1])
        latency += E_k * move(profile, topology, n + 1, a, destination)
        acc = profile.accuracy[t] if profile.accuracy.ndim == 2 else profile.accuracy
        accuracy += acc[q - 1] * E_k
    return latency, accuracy


def _link_of_hops(topology):
    """(routes, {frozenset(a, b): link index}) of a chain or graph: of parallel links, least latency, then
    the fastest, then the first listed (as for `_hops`)."""
    if topology.links is not None:
        links = [(j, j + 1, bw, lat) for j, (bw, lat) in
                 enumerate(zip(topology.links["bandwidth"], topology.links["latency"]))]
    else:
        links = [tuple(x) for x in topology.graph["links"]]
    routes, _ = _hops(topology)
    index = {}
    for i, (a, b, bw, lat) in enumerate(links):
        key = frozenset((a, b))
        if key not in index or (lat, -bw) < (links[index[key]][3], -links[index[key]][2]):
            index[key] = i
    return routes, index, links


def _end(entry, role, end):
    """(J/bit, W, J/message) of one end of a hand-form link_energy entry."""
    if entry is None or entry.get(role) is None or entry[role][end] is None:
        return 0.0, 0.0, 0.0
    values = entry[role][end]
    return (values.get("energy_per_bit_j", 0.0), values.get("power_w", 0.0), values.get("energy_per_transfer_j", 0.0))


def _radio(topology, form, counted, bits, a, b):
    """Joules of the counted tiers' radios for a message of `bits` from a to b."""
    if form is None:
        return 0.0
    total = 0.0
    if topology.links is None and topology.graph is None:
        entry, ends = form.get(f"{a}->{b}"), (0, 1)
        if entry is None:
            entry, ends = form.get(f"{b}->{a}"), (1, 0)
        t = bits * topology.path_inv_bandwidth[a][b]
        for role, who, end in (("send", a, ends[0]), ("receive", b, ends[1])):
            if who in counted:
                per_bit, power, per_transfer = _end(entry, role, end)
                total += bits * per_bit + power * t + per_transfer
        return total
    routes, index, links = _link_of_hops(topology)
    path = routes[(a, b)]
    slowest = min(links[index[frozenset((x, y))]][2] for x, y in zip(path[:-1], path[1:]))
    for x, y in zip(path[:-1], path[1:]):
        i = index[frozenset((x, y))]
        first, bw = links[i][0], links[i][2]
        t = bits / bw if topology.route_rule == "store_and_forward" else bits / slowest
        for role, who in (("send", x), ("receive", y)):
            if who in counted:
                per_bit, power, per_transfer = _end(form[i], role, 0 if who == first else 1)
                total += bits * per_bit + power * t + per_transfer
    return total


def move_energy(profile, topology, form, counted, destination, i, a, b):
    if a == b:
        return 0.0
    bits = _tensor_bits(profile, i)
    ser, des = serialise(profile, topology, a, i), serialise(profile, topology, b, i, receive=True)
    e = _radio(topology, form, counted, bits, a, b)
    if a in counted:
        e += topology.active_power_w[a] * ser
    if b in counted:
        e += topology.active_power_w[b] * des
    if destination in counted:
        waiting = transfer(topology, bits, a, b) + (ser if a != destination else 0.0) + \
            (des if b != destination else 0.0)
        e += topology.idle_power_w[destination] * waiting
    return e


def energy(profile, topology, source, destination, t, P, A, tiers="source"):
    """Joules per sample of one configuration; `tiers`: "source", "all" or a list of tier indices."""
    counted = {source} if tiers == "source" else set(range(topology.M)) if tiers == "all" else set(tiers)
    form = topology.to_dict().get("link_energy")
    n = profile.N
    c = _cumulative_exits(profile, t)
    total = move_energy(profile, topology, form, counted, destination, 0, source, A[0])
    for k, p, q, a, last, in_k, E_k, S_k in _partitions(c, P, A):
        tau = compute(profile, topology, a, p, q)
        watts = (topology.active_power_w[a] if a in counted else 0.0) + \
            (topology.idle_power_w[destination] if destination in counted and a != destination else 0.0)
        total += in_k * watts * tau
        total += E_k * move_energy(profile, topology, form, counted, destination, n + 1, a, destination)
        if not last:
            total += S_k * move_energy(profile, topology, form, counted, destination, q, a, A[k + 1])
    return total
