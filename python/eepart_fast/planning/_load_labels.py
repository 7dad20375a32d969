"""The exact search under load with link queues (docs/model.md "Load"): partial plans carry each link
server's sums, and dominate by them.

A link's wait depends on every move of the plan that crosses it, so no table entry holds it. A partial plan
(label) carries, per link server j, its visits s_j, work B_j and second moment A_j so far; its latency holds
every other term (the unloaded steps and the compute waits, which are per partition). A completion adds the
same amounts to two labels of one state (the open partition's first and last block, its tier, the tiers used),
and the final link term sum_j s_j g_j A_j / (2 (1 - g_j B_j)) rises in each sum, so a label no slower, no less
accurate and with no sum higher than another's leads to completions no worse: the other is dropped. A label
that already loads a link to 1 or more is dropped (its sums only grow).
"""
from __future__ import annotations

import numpy as np

from ..model.load import INFEASIBLE, LoadModel, load_tables


def _links(model: LoadModel, rate: float):
    """Server index per link key, arrivals per server, and per route (a, b): (server indices, s per bit)."""
    keys = sorted({key for hops in model.routes.values() for key, _ in hops})
    index = {key: j for j, key in enumerate(keys)}
    g = np.array([model.arrival(key, rate=rate) for key in keys])
    routes = {pair: (np.array([index[k] for k, _ in hops], np.int64), np.array([inv for _, inv in hops]))
              for pair, hops in model.routes.items()}
    return g, routes


class _Labels:
    """The non-dominated labels of one state: latency, accuracy, link sums (S x 3) and the partial plan."""

    def __init__(self):
        self.items = []  # (latency, accuracy, sums, P, A)

    def add(self, lat, acc, sums, P, A) -> None:
        for l2, a2, s2, P2, A2 in self.items:
            # Of equal labels the one first in canonical order stays (the same completions follow).
            if (l2 <= lat and a2 >= acc and (s2 <= sums).all()
                    and (l2 < lat or a2 > acc or (s2 < sums).any() or (P2, A2) <= (P, A))):
                return
        self.items = [it for it in self.items
                      if not (lat <= it[0] and acc >= it[1] and (sums <= it[2]).all())]
        self.items.append((lat, acc, sums, P, A))


def _a_priori(model, per_t, routes, g, move, link_term, overloaded) -> float:
    """The least latency of a most accurate single-partition plan (inf if none is feasible): every
    configuration is at most as accurate, so nothing slower is on the frontier."""
    best_acc, best = -np.inf, np.inf
    for _t, table in enumerate(per_t):
        acc = table.accuracy_row(0)
        q = int(np.argmax(acc)) + 1
        for a in range(model.tables.M):
            if table.compute_cost[a, 0, q] >= INFEASIBLE:
                continue
            sums = move(move(np.zeros((len(g), 3)), model.source, a, model.profile.input_bits, 1.0),
                        a, model.destination, model.profile.result_bits, 1.0)
            if overloaded(sums):
                continue
            lat = (float(table.input_cost[a]) + table.compute_cost[a, 0, q] + float(table.result_cost[a])
                   + link_term(sums))
            if acc[q - 1] > best_acc:
                best_acc, best = acc[q - 1], lat
            elif acc[q - 1] == best_acc:
                best = min(best, lat)
    return best


def frontier_rows(model: LoadModel, rate: float, min_accuracy: float, max_latency: float) -> list:
    """(latency, accuracy, t, P, A) of every complete plan that survives dominance, meeting the bounds: a
    superset of the frontier's rows (the caller takes the frontier)."""
    tables = model.tables
    N, M = tables.N, tables.M
    load = model.load.replace(rate=rate)
    per_t = load_tables(tables, load=load, source=model.source)
    g, routes = _links(model, rate)
    S = len(g)
    profile, D = model.profile, model.destination
    out = []

    def move(sums, a, b, bits, share):
        if a == b or share == 0.0 or (a, b) not in routes:
            return sums
        idx, inv = routes[(a, b)]
        service = bits * inv
        sums = sums.copy()  # a route's hops are distinct servers: plain fancy indexing adds once each
        sums[idx, 0] += share
        sums[idx, 1] += share * service
        sums[idx, 2] += share * service * service
        return sums

    def overloaded(sums) -> bool:
        return bool(((g * sums[:, 1] >= 1.0) & (sums[:, 0] > 0)).any())

    def link_term(sums) -> float:
        s, B, A2 = sums[:, 0], sums[:, 1], sums[:, 2]
        used = s > 0
        return float((s[used] * g[used] * A2[used] / 2 / (1.0 - g[used] * B[used])).sum())

    max_latency = min(max_latency, _a_priori(model, per_t, routes, g, move, link_term, overloaded))
    for t, table in enumerate(per_t):
        c = table.cum_exit[0]
        acc_row = table.accuracy_row(0)
        comp = table.compute_cost
        states: dict = {}  # (p, q, a, used) -> _Labels; q is the open partition's last block
        for q in range(1, N + 1):
            for a in range(M):
                if comp[a, 0, q] >= INFEASIBLE:
                    continue
                sums = move(np.zeros((S, 3)), model.source, a, profile.input_bits, 1.0)
                if overloaded(sums):
                    continue
                lat = float(table.input_cost[a]) + comp[a, 0, q]
                states.setdefault((0, q, a, 1 << a), _Labels()).add(lat, 0.0, sums, (q,), (a,))
        for q in range(1, N + 1):  # every state's open partition ends at q; extensions end later
            for (p, _qq, a, used), labels in [item for item in states.items() if item[0][1] == q]:
                for lat, acc, sums, P, A in labels.items:
                    # Close here: the last exit takes everyone left.
                    share = 1.0 - c[p]
                    end = move(sums, a, D, profile.result_bits, share)
                    if not overloaded(end):
                        final_acc = acc + float(acc_row[q - 1]) * share
                        final = lat + share * float(table.result_cost[a]) + link_term(end)
                        if final <= max_latency and final_acc >= min_accuracy:
                            out.append((final, final_acc, t, P, A))
                    # Go on: partition p+1..q exits c_q - c_p, the rest move on to tier b.
                    leave, stay = c[q] - c[p], 1.0 - c[q]
                    base = move(sums, a, D, profile.result_bits, leave)
                    lat2 = lat + leave * float(table.result_cost[a])
                    acc2 = acc + float(acc_row[q - 1]) * leave
                    for b in range(M):
                        if used >> b & 1:
                            continue
                        fwd = move(base, a, b, profile.output_bits[q - 1], stay)
                        if overloaded(fwd):
                            continue
                        lat3 = lat2 + stay * float(table.forward_cost[q - 1, a, b])
                        if lat3 + link_term(fwd) > max_latency:
                            continue  # every term still to come is >= 0
                        for q2 in range(q + 1, N + 1):
                            if comp[b, q, q2] >= INFEASIBLE:
                                continue
                            states.setdefault((q, q2, b, used | 1 << b), _Labels()).add(
                                lat3 + stay * comp[b, q, q2], acc2, fwd, P + (q2,), A + (b,))
    return out
