"""The exact search under load with QNA waits (docs/model.md "Tandem queues"): a server's wait depends on
the variability of the arrivals the servers before it pass on, so partial plans carry it.

Compute queues only (`link_queues=False`): a tier is fed by the one partition before it, so the squared
coefficient of variation of the flow leaving the open partition's tier, c_d^2, is fixed by the partial plan.
Every wait still to come rises with it (the next tier's c_a^2 = p c_d^2 + 1 - p; an Allen-Cunneen wait
rises with c_a^2; c_d^2 = rho^2 c_s^2 + (1 - rho^2) c_a^2 rises with c_a^2), so a label no slower, no less
accurate and with c_d^2 no higher than another of its state (the open partition's two ends, its tier, the
tiers used) leads to completions no worse: the other is dropped (`_load_labels._Labels`).

Links queueing too: a later move can join a link an earlier flow crossed and change that link's departures,
hence the waits of servers already placed, and c_d^2 falls with the load when c_s^2 < c_a^2, so no
per-label quantity orders the completions. That search is branch and bound over the configurations: a
partial plan is dropped when its unloaded latency so far (every wait is >= 0) passes the bound, or when a
complete plan already priced is faster than it and at least as accurate as its best completion could be.
"""
from __future__ import annotations

import numpy as np

from ..model.load import LoadModel, departure_cv2, split_cv2, wait
from ._load_labels import _Labels


def _tier_steps(model: LoadModel, t: int, rate: float):
    """Per (a, p, q): the step (compute + overhead), its second moment, and whether it overloads tier a."""
    load, tables = model.load, model.tables
    M, N = tables.M, tables.N
    raw = tables.compute_cost
    h = model.overhead[:, None, None]
    step = raw + h
    second = (1.0 + model.cv2)[:, None, None] * raw * raw + 2.0 * h * raw + h * h
    g = load.replace(rate=rate).arrival(M, source=model.source)
    enter = 1.0 - tables.cum_exit[t]
    rho = g[:, None, None] * enter[None, :, None] * step + model.background[:, None, None]
    over = (rho >= 1.0) & (enter[None, :, None] > 0) & np.triu(np.ones((N + 1, N + 1), bool), 1)[None]
    return step, second, g, over


def label_rows(model: LoadModel, rate: float, min_accuracy: float, max_latency: float) -> list:
    """(latency, accuracy, t, P, A) of every complete plan that survives dominance (compute queues only)."""
    out = []
    for t in range(model.tables.K):
        _labels(model, t, rate, min_accuracy, max_latency, out)
    return out


def _labels(model: LoadModel, t: int, rate: float, min_accuracy: float, max_latency: float, out: list) -> None:
    """label_rows at threshold t, appended to `out`."""
    tables = model.tables
    N, M = tables.N, tables.M
    unit = np.array([model.arrival(("tier", a), rate=1.0) for a in range(M)])
    c = tables.cum_exit[t]
    acc_row = tables.accuracy_row(t)
    step, second, g, over = _tier_steps(model, t, rate)

    def place(a, p, q, x):
        """(the partition's mean time per entering sample, its departures' c^2) on tier a, fed with c^2 x."""
        e = 1.0 - c[p]
        if e <= 0:
            return float(step[a, p, q]), x
        lam, mean = g[a] * e, float(step[a, p, q])
        w = float(wait(lam, mean, second[a, p, q], model.background[a], model.residual[a], arrival_cv2=x))
        cs2 = second[a, p, q] / (mean * mean) - 1.0 if mean > 0 else 0.0
        return mean + w, float(departure_cv2(lam * mean, cs2, x))

    states: dict = {}  # (p, q, a, used) -> _Labels of (latency, accuracy, [c_d^2], P, A)
    for q in range(1, N + 1):
        for a in range(M):
            if over[a, 0, q]:
                continue
            time, d = place(a, 0, q, 1.0)  # the source's flow is Poisson
            states.setdefault((0, q, a, 1 << a), _Labels()).add(
                float(tables.input_cost[a]) + time, 0.0, np.array([d]), (q,), (a,))
    for q in range(1, N + 1):
        for (p, _qq, a, used), labels in [item for item in states.items() if item[0][1] == q]:
            enter = 1.0 - c[p]
            for lat, acc, d, P, A in labels.items:
                final = lat + enter * float(tables.result_cost[a])
                final_acc = acc + float(acc_row[q - 1]) * enter
                if final <= max_latency and final_acc >= min_accuracy:
                    out.append((final, final_acc, t, P, A))
                leave, stay = c[q] - c[p], 1.0 - c[q]
                lat2 = lat + leave * float(tables.result_cost[a])
                acc2 = acc + float(acc_row[q - 1]) * leave
                for b in range(M):
                    if used >> b & 1:
                        continue
                    lat3 = lat2 + stay * float(tables.forward_cost[q - 1, a, b])
                    if lat3 > max_latency:
                        continue  # every term still to come is >= 0
                    share = min(unit[a], unit[b]) * stay / (unit[a] * enter) if enter > 0 else 0.0
                    x = float(split_cv2(share, d[0]))
                    for q2 in range(q + 1, N + 1):
                        if over[b, q, q2]:
                            continue
                        time, d2 = place(b, q, q2, x)
                        states.setdefault((q, q2, b, used | 1 << b), _Labels()).add(
                            lat3 + stay * time, acc2, np.array([d2]), P + (q2,), A + (b,))


def bound_rows(model: LoadModel, rate: float, min_accuracy: float, max_latency: float) -> list:
    """(latency, accuracy, t, P, A) of every complete plan the branch and bound prices (links queueing)."""
    out, found = [], []  # found: (latency, accuracy) of the complete plans priced, for the pruning
    for t in range(model.tables.K):
        _bound(model, t, rate, min_accuracy, max_latency, out, found)
    return out


def _bound(model: LoadModel, t: int, rate: float, min_accuracy: float, max_latency: float, out: list,
           found: list) -> None:
    """bound_rows at threshold t, appended to `out` (and `found`, shared by the thresholds)."""
    tables = model.tables
    N, M = tables.N, tables.M

    def beaten(lower: float, best_accuracy: float) -> bool:
        return lower > max_latency or best_accuracy < min_accuracy or any(
            lat < lower and acc >= best_accuracy for lat, acc in found)

    c = tables.cum_exit[t]
    acc_row = tables.accuracy_row(t)
    best_after = np.maximum.accumulate(acc_row[::-1])[::-1]  # best_after[q - 1]: the best exit at q or later
    step, _second, _g, over = _tier_steps(model, t, rate)

    def grow(P, A, p, q, a, base, acc):
        enter = 1.0 - c[p]
        base = base + enter * float(step[a, p, q])
        if beaten(base, acc + enter * float(best_after[q - 1])):
            return
        final = model.evaluate((t, P, A), rate=rate)
        if final.latency <= max_latency and final.accuracy >= min_accuracy:
            out.append((final.latency, final.accuracy, t, P, A))
            found.append((final.latency, final.accuracy))
        leave, stay = c[q] - c[p], 1.0 - c[q]
        base2 = base + leave * float(tables.result_cost[a])
        acc2 = acc + float(acc_row[q - 1]) * leave
        for b in range(M):
            if b in A:
                continue
            base3 = base2 + stay * float(tables.forward_cost[q - 1, a, b])
            for q2 in range(q + 1, N + 1):
                if not over[b, q, q2]:
                    grow(P + (q2,), A + (b,), q, q2, b, base3, acc2)

    for q in range(1, N + 1):
        for a in range(M):
            if not over[a, 0, q]:
                grow((q,), (a,), 0, q, a, float(tables.input_cost[a]), 0.0)
