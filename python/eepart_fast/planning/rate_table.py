"""P_lat over a range of arrival rates (docs/model.md "Load"): the optimal plan for every rate in [low, high],
in certified pieces, with every change of plan bracketed.

A latency under load is not affine in the rate, so the plan tables of plantable.py do not apply. What holds
instead: every configuration's mean latency L_Z(rate) rises with the rate, and so does every server's wait.
So on [a, b] the only configurations that might beat X are those with L_Z(a) <= L_X(b), found by one
bounded sweep of the loaded tables; and Z cannot beat X on [a, b] if the servers Z and X share alike cancel
and the rest give base_Z - base_X + (Z's other waits at a) - (X's other waits at b) >= 0. A piece [l, h] is
certified for X when X is optimal at l and every such Z is shown, by that monotone test on ever finer
sub-intervals, never to be below X (or to have X's latency at every rate: a tie). Where that fails, the interval
is halved; an interval narrower than rtol x its upper end whose two ends have different optimal plans (or that
cannot be certified: a tie) is a bracket: the plan changes somewhere inside it.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import NamedTuple

import numpy as np

from .._checks import bound, number
from ..engine.registry import get_backend
from ..model.load import Load, LoadModel, load_tables, wait
from .load import FEASIBLE, LoadPoint, load_min_latency

MAX_PIECES = 10_000  # intervals examined, at most (a guard: each takes a few searches)


class RatePiece(NamedTuple):
    """Rates [low, high]: `point` (at `low`) is optimal on the whole interval when `certified`; otherwise
    the interval is a bracket no wider than rtol x high inside which the optimal plan changes (from `point`,
    optimal at low, to `then`, optimal at high; None: no plan meets the bound)."""

    low: float
    high: float
    certified: bool
    point: LoadPoint | None
    then: LoadPoint | None


def rate_table(profile, topology, *, load, low, high, source=0, destination=0, min_accuracy, backend="auto",
               threads: int = 0, rtol: float = 1e-6) -> list:
    """P_lat (the least mean latency with accuracy >= min_accuracy) for every rate in [low, high].

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and links.
    load : eepart_fast.model.Load
        The load's other inputs (fleet, background, ...); its rate is what varies. Compute queues only.
    low, high : float
        The rates, samples per second per source, 0 <= low < high.
    source, destination : int or str, default 0
        As for `cost_tables`.
    min_accuracy : float
        The accuracy bound.
    backend : str, default "auto"
        The searches' and sweeps' backend.
    threads : int, default 0
        CPU threads, where the backend takes them.
    rtol : float, default 1e-6
        A bracket's width, relative to its upper end.

    Returns
    -------
    list of RatePiece
        Covering [low, high] in order: certified pieces and brackets.

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> table = ef.planning.rate_table.rate_table(p, topo, load=ef.model.Load(0.0), low=0.0, high=40.0,
    ...                                           min_accuracy=0.9)
    >>> table[0].low, table[-1].high, all(a.high == b.low for a, b in zip(table, table[1:]))
    (0.0, 40.0, True)
    """
    if not isinstance(load, Load):
        raise TypeError(f"load: expected a eepart_fast.model.Load, got {type(load).__name__}")
    if load.queues != "mg1":
        raise ValueError(f"load.queues = {load.queues!r}: rate tables certify on the loaded tables, which hold "
                         "M/G/1 waits only (queues='mg1')")
    low, high = number("low", low), number("high", high)
    if not (math.isfinite(low) and math.isfinite(high) and 0 <= low < high):
        raise ValueError(f"low, high = {low!r}, {high!r}: expected rates 0 <= low < high, finite")
    min_accuracy = bound("min_accuracy", min_accuracy)
    rtol = number("rtol", rtol)
    if not 0 < rtol < 1:
        raise ValueError(f"rtol = {rtol!r}: expected a number in (0, 1)")
    model = LoadModel(profile, topology, load=load, source=source, destination=destination, link_queues=False)
    sweeper = get_backend(backend, "sweep")

    def best(rate):
        return load_min_latency(profile, topology, load=load.replace(rate=rate), source=source,
                                destination=destination, min_accuracy=min_accuracy, backend=backend, threads=threads)

    loads, signatures = {}, {}

    def latency(config, rate):
        if config not in loads:
            loads[config] = model.loads(config)
        return model.price(loads[config], rate=rate).latency

    def signature(c):
        if c not in signatures:
            latency(c, 0.0)
            signatures[c] = model.signature(loads[c])
        return signatures[c]

    def gap_below(z, x, lo, hi) -> float:
        """A lower bound of L_z - L_x on [lo, hi]: the servers both have alike cancel; of the others, z's
        waits are at least those at lo, x's at most those at hi (every wait rises with the rate)."""
        (bz, rz), (bx, rx) = signature(z), signature(x)
        only_z, only_x = Counter(rz) - Counter(rx), Counter(rx) - Counter(rz)
        gap = bz - bx
        for rows, rate, sign in ((only_z, lo, 1.0), (only_x, hi, -1.0)):
            for (share, B, A2, per_rate, bg, res), n in rows.items():
                gap += sign * n * share * float(wait(per_rate * rate, B, A2, bg, res))
        return gap

    def beaten(x, a, b):
        """A rate in [a, b] where some configuration is faster than x (meeting the bound), None where x is
        shown optimal on [a, b], or False where it cannot be shown (an interval down to rtol)."""
        top = latency(x, b)
        if not top < FEASIBLE:
            return False
        cut = min(top * (1 + 1e-9), FEASIBLE)
        for t, table in enumerate(load_tables(model.tables, load=load.replace(rate=a), source=model.source)):
            rows = sweeper.sweep(table, min_accuracy=min_accuracy, max_latency=cut, threads=threads)
            for i in range(len(rows["latency"])):
                L = int(rows["num_partitions"][i])
                z = (t, tuple(rows["partitions"][i][:L].tolist()), tuple(rows["placement"][i][:L].tolist()))
                if z == x or signature(z) == signature(x):
                    continue  # the same latency at every rate: a tie, never faster
                stack = [(a, b)]
                while stack:
                    lo, hi = stack.pop()
                    if gap_below(z, x, lo, hi) >= 0:
                        continue
                    mid = lo + (hi - lo) / 2
                    if latency(z, mid) < latency(x, mid):
                        return mid
                    if hi - lo <= rtol * hi:
                        return False
                    stack += [(lo, mid), (mid, hi)]
        return None

    pieces, todo, seen = [], [(low, high, best(low), best(high))], 0
    while todo:
        seen += 1
        if seen > MAX_PIECES:
            raise ValueError(f"rate_table: more than {MAX_PIECES} intervals; widen rtol or narrow [low, high]")
        a, b, pa, pb = todo.pop()
        same = pa is not None and pb is not None and pa.config() == pb.config()
        if same:
            found = beaten(pa.config(), a, b)
            if found is None:
                pieces.append(RatePiece(a, b, True, pa, pb))
                continue
        elif pa is None and pb is None:
            pieces.append(RatePiece(a, b, True, None, None))  # nothing meets the bound at a: nor later
            continue
        if b - a <= rtol * b:
            pieces.append(RatePiece(a, b, False, pa, pb))
            continue
        mid = a + (b - a) / 2
        pm = best(mid)
        todo += [(mid, b, pm, pb), (a, mid, pa, pm)]  # the lower half first: pieces come out in order
    return _merged(sorted(pieces, key=lambda piece: piece.low))


def _merged(pieces: list) -> list:
    """Adjacent certified pieces of one plan joined; adjacent brackets joined (a crossing leaves an interval on
    each side that the monotone test cannot certify)."""
    out = []
    for piece in pieces:
        if out:
            last = out[-1]
            key = None if piece.point is None else piece.point.config()
            if last.certified and piece.certified and (None if last.point is None else last.point.config()) == key:
                out[-1] = last._replace(high=piece.high, then=piece.then)
                continue
            if not last.certified and not piece.certified:
                out[-1] = last._replace(high=piece.high, then=piece.then)
                continue
        out.append(piece)
    return out


def plan_at(table: list, rate: float) -> LoadPoint | None:
    """The plan a rate table gives at `rate`: its certified piece's, or at a bracket the plan optimal at the
    bracket's low end (within rtol of the change).

    Parameters
    ----------
    table : list of RatePiece
        From `rate_table`.
    rate : float
        Samples per second per source.

    Returns
    -------
    LoadPoint or None

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> table = ef.planning.rate_table.rate_table(p, topo, load=ef.model.Load(0.0), low=0.0, high=40.0,
    ...                                           min_accuracy=0.9)
    >>> ef.planning.rate_table.plan_at(table, 0.0).placement
    [1]
    """
    rate = number("rate", rate)
    lows = np.array([piece.low for piece in table])
    i = int(np.searchsorted(lows, rate, side="right")) - 1
    if i < 0 or rate > table[-1].high:
        raise ValueError(f"rate = {rate!r}: outside the table's [{table[0].low!r}, {table[-1].high!r}]")
    return table[i].point
