"""Plans under load (docs/model.md "Load"): the exact frontier, P_lat and P_acc at a stated arrival rate, and
capacity, the largest rate a plan (or the best plan) carries within a latency bound.

The search is the engine's, once per threshold on the tables `model.load_tables` fills for the rate (the
compute waits are per-partition entries, so the engine's dominance stays exact), the thresholds' frontiers
merged. With `link_queues` the links' waits depend on the whole plan (results converge on the destination's
links), which the tables cannot carry: then partial plans carry each link's sums (`_load_labels.py`). With
`Load(queues="qna")` a wait depends on the servers before it on the path: `_load_qna.py`.
"""
from __future__ import annotations

import math
from itertools import combinations, permutations
from typing import NamedTuple

import numpy as np

from .._checks import bound, integer, number
from ..engine.frontier import frontier_indices
from ..engine.registry import get_backend
from ..model.load import INFEASIBLE, Load, LoadModel, load_tables
from ..model.profile import Profile
from ..model.tables import CostTables
from ._load_labels import frontier_rows
from ._load_qna import bound_rows, label_rows
from .evaluation import _tables

COLUMNS = ("latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement")
# Below the mark of an overloaded server (model.load.INFEASIBLE), above every feasible latency.
FEASIBLE = math.nextafter(INFEASIBLE, 0.0)
BISECTIONS = 2200  # enough to halve any float64 bracket to rtol


class LoadPoint(NamedTuple):
    """One configuration under load: mean latency (s), accuracy, threshold index, end blocks, tiers."""

    latency: float
    accuracy: float
    threshold_index: int
    partitions: list
    placement: list

    def config(self) -> tuple:
        """(threshold index, end blocks P, tiers A), as Plan.config gives it: what plan_max_rate takes."""
        return self.threshold_index, tuple(self.partitions), tuple(self.placement)


class Capacity(NamedTuple):
    """The largest rate found: `rate` meets the bounds, `upper` does not (the true largest rate is in
    [rate, upper], upper - rate <= rtol x upper; inf when no rate fails), with the plan and its latency and
    accuracy at `rate`."""

    rate: float
    upper: float
    point: LoadPoint


def _config(config) -> tuple:
    """(t, P, A) of a configuration given as a tuple, a Plan or a LoadPoint (anything with `config()`)."""
    if hasattr(config, "config") and callable(config.config):
        config = config.config()
    try:
        t, P, A = config
        return int(t), [int(x) for x in P], [int(x) for x in A]
    except (TypeError, ValueError):
        raise TypeError(f"config: expected (threshold index, end blocks, tiers), a Plan or a LoadPoint, got "
                        f"{config!r}") from None


def _load(load) -> Load:
    if not isinstance(load, Load):
        raise TypeError(f"load: expected a eepart_fast.model.Load, got {type(load).__name__}")
    return load


def _empty(lmax: int) -> dict:
    return {"latency": np.zeros(0), "accuracy": np.zeros(0), "threshold_index": np.zeros(0, np.int32),
            "num_partitions": np.zeros(0, np.int32), "partitions": np.zeros((0, lmax), np.int32),
            "placement": np.zeros((0, lmax), np.int32)}


def _merge(parts: list, lmax: int) -> dict:
    """The frontier of rows gathered in canonical order (threshold first): its first row of a point wins."""
    if not parts:
        return _empty(lmax)
    rows = {k: np.concatenate([p[k] for p in parts]) for k in COLUMNS}
    idx = frontier_indices(rows["latency"], rows["accuracy"])
    return {k: v[idx] for k, v in rows.items()}


def _by_tables(tables: CostTables, load: Load, source: int, min_accuracy: float, max_latency: float,
               backend: str, threads: int) -> dict:
    engine = get_backend(backend, "pareto")
    parts = []
    for t, table in enumerate(load_tables(tables, load=load, source=source)):
        rows = engine.pareto(table, min_accuracy=min_accuracy, max_latency=min(max_latency, FEASIBLE),
                             threads=threads)
        rows = {k: np.asarray(rows[k]) for k in COLUMNS}
        rows["threshold_index"] = np.full(len(rows["latency"]), t, np.int32)
        parts.append(rows)
    return _merge(parts, min(tables.M, tables.N))


def configurations(N: int, M: int, K: int):
    """Every configuration (t, P, A) in canonical order (t, then L, then P, then A, each lexicographic).

    Parameters
    ----------
    N, M, K : int
        Blocks, tiers, thresholds.

    Yields
    ------
    tuple
        (t, P, A), P and A tuples of int.
    """
    for t in range(K):
        for L in range(1, min(M, N) + 1):
            for P in combinations(range(1, N + 1), L):
                for A in permutations(range(M), L):
                    yield t, P, A


def _columns(rows: list, lmax: int) -> dict:
    """The frontier of (latency, accuracy, t, P, A) rows given in canonical order, as columns."""
    if not rows:
        return _empty(lmax)
    out = {"latency": np.array([r[0] for r in rows]), "accuracy": np.array([r[1] for r in rows]),
           "threshold_index": np.array([r[2] for r in rows], np.int32),
           "num_partitions": np.array([len(r[3]) for r in rows], np.int32)}
    for key, j in (("partitions", 3), ("placement", 4)):
        out[key] = np.array([list(r[j]) + [-1] * (lmax - len(r[j])) for r in rows], np.int32).reshape(-1, lmax)
    return _merge([out], lmax)


def _by_labels(model: LoadModel, min_accuracy: float, max_latency: float, rate: float) -> dict:
    lmax = min(model.tables.M, model.tables.N)
    if model.load.queues == "qna":
        search = bound_rows if model.routes else label_rows
    else:
        search = frontier_rows
    rows = search(model, rate, min_accuracy, min(max_latency, FEASIBLE))
    rows.sort(key=lambda r: (r[2], len(r[3]), r[3], r[4]))  # canonical order: the first of a point wins
    return _columns(rows, lmax)


class _Question:
    """One network under one Load: the frontier at any rate, by the loaded tables or (link_queues) by labels."""

    def __init__(self, profile, topology, load, source, destination, backend, threads, link_queues):
        self.load = _load(load)
        self.tables, _, _, tier = _tables(profile, topology, source, destination)
        self.source = tier(source, field="source") if tier is not None else integer("source", source)
        self.backend, self.threads = backend, threads
        self.model = None
        if link_queues or self.load.queues != "mg1":
            if not isinstance(profile, Profile):
                raise TypeError("link_queues, queues='qna': need a Profile and a Topology (the links and the "
                                "path), not CostTables")
            self.model = LoadModel(profile, topology, load=self.load, source=source, destination=destination,
                                   link_queues=link_queues)

    def frontier(self, rate: float, min_accuracy: float, max_latency: float) -> dict:
        if self.model is not None:
            return _by_labels(self.model, min_accuracy, max_latency, rate)
        return _by_tables(self.tables, self.load.replace(rate=rate), self.source, min_accuracy, max_latency,
                          self.backend, self.threads)


def _point(rows: dict, i: int) -> LoadPoint:
    L = int(rows["num_partitions"][i])
    return LoadPoint(float(rows["latency"][i]), float(rows["accuracy"][i]), int(rows["threshold_index"][i]),
                     rows["partitions"][i][:L].tolist(), rows["placement"][i][:L].tolist())


def points(rows: dict) -> list:
    """`load_pareto`'s columns as a list of LoadPoint, latency rising.

    Parameters
    ----------
    rows : dict
        The columns `load_pareto` returns.

    Returns
    -------
    list of LoadPoint

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> front = ef.planning.load.points(ef.planning.load.load_pareto(p, topo, load=ef.model.Load(30.0)))
    >>> front[0].latency < front[-1].latency
    True
    """
    return [_point(rows, i) for i in range(len(rows["latency"]))]


def load_pareto(profile, topology=None, *, load, source=0, destination=0, min_accuracy=None, max_latency=None,
                backend: str = "auto", threads: int = 0, link_queues: bool = False) -> dict:
    """The exact (mean latency under load, accuracy) frontier (docs/model.md "Load").

    Parameters
    ----------
    profile : Profile or CostTables
        The profile, or the unloaded model's tables (then `topology` is omitted).
    topology : Topology, optional
        The tiers and links (required with a Profile).
    load : eepart_fast.model.Load
        The arrival rate and the tiers' load inputs.
    source, destination : int or str, default 0
        Where samples are produced and results are due.
    min_accuracy, max_latency : float, optional
        Bounds on the rows kept.
    backend : str, default "auto"
        The search's backend.
    threads : int, default 0
        CPU threads, where the backend takes them.
    link_queues : bool, default False
        Whether links queue too; then the search carries each link's sums (planning/_load_labels.py).

    Returns
    -------
    dict
        The frontier's rows, latency rising, as a backend's pareto columns; a plan that loads a server to 1
        or more is not among them.

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> idle = ef.planning.load.load_pareto(p, topo, load=ef.model.Load(0.0))
    >>> busy = ef.planning.load.load_pareto(p, topo, load=ef.model.Load(30.0))
    >>> len(idle["latency"]) == len(ef.pareto(p, topo)), bool(busy["latency"][0] > idle["latency"][0])
    (True, True)
    """
    q = _Question(profile, topology, load, source, destination, backend, threads, link_queues)
    return q.frontier(q.load.rate, bound("min_accuracy", min_accuracy, -math.inf),
                      bound("max_latency", max_latency, math.inf))


def load_min_latency(profile, topology=None, *, load, source=0, destination=0, min_accuracy=None,
                     backend: str = "auto", threads: int = 0, link_queues: bool = False) -> LoadPoint | None:
    """P_lat under load: the least mean latency with accuracy >= min_accuracy (None: nothing meets it).

    Parameters
    ----------
    profile, topology, load, source, destination, backend, threads, link_queues
        As for `load_pareto`.
    min_accuracy : float
        The accuracy bound.

    Returns
    -------
    LoadPoint or None

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> best = ef.planning.load.load_min_latency(p, topo, load=ef.model.Load(30.0), min_accuracy=0.9)
    >>> best.accuracy >= 0.9
    True
    """
    rows = load_pareto(profile, topology, load=load, source=source, destination=destination,
                       min_accuracy=min_accuracy, backend=backend, threads=threads, link_queues=link_queues)
    return _point(rows, 0) if len(rows["latency"]) else None


def load_max_accuracy(profile, topology=None, *, load, source=0, destination=0, max_latency=None,
                      backend: str = "auto", threads: int = 0, link_queues: bool = False) -> LoadPoint | None:
    """P_acc under load: the highest accuracy with mean latency <= max_latency (None: nothing meets it).

    Parameters
    ----------
    profile, topology, load, source, destination, backend, threads, link_queues
        As for `load_pareto`.
    max_latency : float
        The latency bound, seconds.

    Returns
    -------
    LoadPoint or None

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> best = ef.planning.load.load_max_accuracy(p, topo, load=ef.model.Load(30.0), max_latency=0.1)
    >>> best.latency <= 0.1
    True
    """
    rows = load_pareto(profile, topology, load=load, source=source, destination=destination,
                       max_latency=max_latency, backend=backend, threads=threads, link_queues=link_queues)
    return _point(rows, len(rows["latency"]) - 1) if len(rows["latency"]) else None


def _largest(meets, rtol: float):
    """(rate, upper, answer at rate) for a predicate `meets(rate)` -> answer or None that holds at 0 and,
    once it fails, fails at every higher rate: doubling, then bisection to upper - rate <= rtol x upper."""
    rtol = number("rtol", rtol)
    if not 0 < rtol < 1:
        raise ValueError(f"rtol = {rtol!r}: expected a number in (0, 1)")
    answer = meets(0.0)
    if answer is None:
        return None
    lo, hi = 0.0, 1.0
    while (got := meets(hi)) is not None:
        lo, answer = hi, got
        hi *= 2.0
        if not math.isfinite(hi):
            return lo, math.inf, answer
    for _ in range(BISECTIONS):
        if hi - lo <= rtol * hi:
            break
        mid = lo + (hi - lo) / 2
        if (got := meets(mid)) is not None:
            lo, answer = mid, got
        else:
            hi = mid
    return lo, hi, answer


def plan_max_rate(profile, topology, config, *, load, source=0, destination=0, max_latency,
                  link_queues: bool = False, rtol: float = 1e-9) -> Capacity | None:
    """The largest rate per source at which the configuration's mean latency under load meets max_latency.

    The latency rises with the rate (every wait does), so the rate is bracketed by doubling and bisection:
    `rate` meets the bound, `upper` does not, upper - rate <= rtol x upper.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and links.
    config : tuple, Plan or LoadPoint
        (threshold index, end blocks P, tiers A), or a Plan or LoadPoint (its `config()`).
    load : eepart_fast.model.Load
        The load's other inputs (fleet, background, ...); its rate is what is sought.
    source, destination : int or str, default 0
        As for `cost_tables`.
    max_latency : float
        The bound on the mean latency, seconds.
    link_queues : bool, default False
        Whether links queue too.
    rtol : float, default 1e-9
        The bracket's relative width.

    Returns
    -------
    Capacity or None
        None when the plan misses the bound even unloaded.

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> cap = ef.planning.load.plan_max_rate(p, topo, (5, [4, 10], [1, 3]), load=ef.model.Load(0.0),
    ...                                      max_latency=0.2)
    >>> cap.point.latency <= 0.2, cap.upper - cap.rate <= 1e-9 * cap.upper
    (True, True)
    """
    model = LoadModel(profile, topology, load=_load(load), source=source, destination=destination,
                      link_queues=link_queues)
    max_latency = bound("max_latency", max_latency)
    t, P, A = _config(config)

    def meets(rate):
        r = model.evaluate((t, P, A), rate=rate)
        return LoadPoint(r.latency, r.accuracy, t, P, A) if r.latency <= max_latency else None

    found = _largest(meets, rtol)
    return None if found is None else Capacity(*found)


def max_rate(profile, topology=None, *, load, source=0, destination=0, min_accuracy=None, max_latency,
             backend: str = "auto", threads: int = 0, link_queues: bool = False,
             rtol: float = 1e-6) -> Capacity | None:
    """The plan that carries the most load: the largest rate per source at which some configuration has
    accuracy >= min_accuracy and mean latency under load <= max_latency, and that configuration.

    Exact to the bracket: every configuration's latency rises with the rate, so the set meeting both
    bounds only shrinks as the rate grows, and feasibility (one exact search, P_lat) is monotone; doubling
    and bisection give `rate` (feasible, with the plan returned) and `upper` (infeasible),
    upper - rate <= rtol x upper. Each step is one search under load (K engine searches).

    Parameters
    ----------
    profile, topology, source, destination, backend, threads, link_queues
        As for `load_pareto`.
    load : eepart_fast.model.Load
        The load's other inputs (fleet, background, ...); its rate is what is sought.
    min_accuracy : float, optional
        The accuracy bound.
    max_latency : float
        The bound on the mean latency, seconds.
    rtol : float, default 1e-6
        The bracket's relative width.

    Returns
    -------
    Capacity or None
        None when nothing meets both bounds even unloaded.

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> cap = ef.planning.load.max_rate(p, topo, load=ef.model.Load(0.0), min_accuracy=0.9, max_latency=0.2)
    >>> cap.point.accuracy >= 0.9 and cap.point.latency <= 0.2
    True
    """
    q = _Question(profile, topology, load, source, destination, backend, threads, link_queues)
    min_accuracy = bound("min_accuracy", min_accuracy, -math.inf)
    max_latency = bound("max_latency", max_latency)

    def meets(rate):
        rows = q.frontier(rate, min_accuracy, max_latency)
        return _point(rows, 0) if len(rows["latency"]) else None

    found = _largest(meets, rtol)
    return None if found is None else Capacity(*found)
