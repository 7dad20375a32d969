"""A Planner's questions under load (docs/model.md "Load"): `Planner.under(load)` asks them of the Planner's
current network, so that a scheduler re-plans under the same load after `set_bandwidth` and the like.

Each call reads the Planner's snapshot once (as the Planner's own questions do) and runs the load search of
planning/load.py on its tables, or on its models where links queue; nothing is cached (the load is the
view's, not the snapshot's). Thread safety: as the Planner's; a view holds no state of its own but the load.
"""
from __future__ import annotations

from .._checks import integer
from .load import Capacity, LoadPoint, _load, load_pareto, max_rate, plan_max_rate, points


class UnderLoad:
    """The frontier, P_lat, P_acc and capacity of a Planner's current network under `load`.

    Made by `Planner.under`; the answers are LoadPoints (mean latency under load, accuracy, the
    configuration), equal to planning.load's functions on the Planner's current models.

    Parameters
    ----------
    planner : Planner
        Whose network (read at each call, so later changes to it count).
    load : eepart_fast.model.Load
        The arrival rate and the tiers' load inputs.
    source : int, optional, keyword-only
        The source tier, for a Planner on CostTables (whose tables were filled for some source: the one tier
        each source of a fleet has to itself); a Planner on models uses its own (default) and refuses another.
    link_queues : bool, default False, keyword-only
        Whether links queue too (needs a Planner on a Profile and a Topology).

    Examples
    --------
    >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> busy = planner.under(ef.model.Load(30.0))
    >>> best = busy.min_latency(min_accuracy=0.9)
    >>> best.accuracy >= 0.9, best.latency > planner.min_latency(min_accuracy=0.9).latency
    (True, True)
    >>> planner.set_bandwidth(1, 50e6)  # a faster 4G link: the same load, re-planned
    >>> busy.min_latency(min_accuracy=0.9).latency < best.latency
    True
    """

    def __init__(self, planner, load, *, source=None, link_queues: bool = False):
        self.planner = planner
        self.load = _load(load)
        if not isinstance(link_queues, bool):
            raise TypeError(f"link_queues: expected True or False, got {link_queues!r}")
        self.link_queues = link_queues
        state = planner._now.state
        if source is not None:
            if state.profile is not None:
                raise ValueError(f"source = {source!r}: this Planner plans on models with its own source "
                                 f"({state.source}); change it with set_source")
            source = integer("source", source)
            if not 0 <= source < state.tables.M:
                raise ValueError(f"source = {source}: expected a tier index in 0..{state.tables.M - 1}")
        self.source = source  # a Planner on CostTables: the tables' source (None: tier 0)

    def _models(self) -> tuple:
        """(profile or tables, topology or None, source, destination) of the Planner's snapshot, read once."""
        state = self.planner._now.state
        if self.link_queues or self.load.queues == "qna":  # a wait that depends on the path: the models price it
            if state.profile is None:
                what = "link_queues" if self.link_queues else "queues='qna'"
                raise ValueError(f"{what}: this Planner plans on CostTables; that load model needs a Profile and "
                                 "a Topology (the links and the path)")
            return state.profile, state.topology, state.source, state.destination
        if state.profile is None:
            return state.tables, None, self.source or 0, 0
        return state.tables, None, state.source, 0  # the tables hold the routes and the destination

    def _options(self) -> dict:
        p = self.planner
        return {"backend": p.backend, "threads": p.threads, "link_queues": self.link_queues}

    def pareto(self, *, min_accuracy=None, max_latency=None) -> list:
        """The exact (mean latency under load, accuracy) frontier, latency rising.

        Parameters
        ----------
        min_accuracy, max_latency : float, optional, keyword-only
            Bounds on the points kept.

        Returns
        -------
        list of LoadPoint

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> front = planner.under(ef.model.Load(30.0)).pareto()
        >>> all(a.latency <= b.latency and a.accuracy <= b.accuracy for a, b in zip(front, front[1:]))
        True
        """
        profile, topology, source, destination = self._models()
        return points(load_pareto(profile, topology, load=self.load, source=source, destination=destination,
                                  min_accuracy=min_accuracy, max_latency=max_latency, **self._options()))

    def min_latency(self, *, min_accuracy) -> LoadPoint | None:
        """P_lat under load: the least mean latency with accuracy >= min_accuracy (None: nothing meets it).

        Parameters
        ----------
        min_accuracy : float, keyword-only
            The accuracy bound.

        Returns
        -------
        LoadPoint or None

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> planner.under(ef.model.Load(30.0)).min_latency(min_accuracy=0.99) is None
        True
        """
        front = self.pareto(min_accuracy=min_accuracy)
        return front[0] if front else None

    def max_accuracy(self, *, max_latency) -> LoadPoint | None:
        """P_acc under load: the highest accuracy with mean latency under load <= max_latency (s).

        Parameters
        ----------
        max_latency : float, keyword-only
            The latency bound, seconds.

        Returns
        -------
        LoadPoint or None

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> planner.under(ef.model.Load(30.0)).max_accuracy(max_latency=0.1).latency <= 0.1
        True
        """
        front = self.pareto(max_latency=max_latency)
        return front[-1] if front else None

    def max_rate(self, *, min_accuracy=None, max_latency, rtol: float = 1e-6) -> Capacity | None:
        """The plan that carries the most load within both bounds (planning.load.max_rate); the view's load
        gives the other inputs (fleet, background, ...), its rate is what is sought.

        Parameters
        ----------
        min_accuracy : float, optional, keyword-only
            The accuracy bound.
        max_latency : float, keyword-only
            The bound on the mean latency, seconds.
        rtol : float, default 1e-6, keyword-only
            The bracket's relative width.

        Returns
        -------
        Capacity or None
            None when nothing meets both bounds even unloaded.

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> cap = planner.under(ef.model.Load(0.0)).max_rate(min_accuracy=0.9, max_latency=0.2)
        >>> cap.point.accuracy >= 0.9 and cap.point.latency <= 0.2
        True
        """
        profile, topology, source, destination = self._models()
        return max_rate(profile, topology, load=self.load, source=source, destination=destination,
                        min_accuracy=min_accuracy, max_latency=max_latency, rtol=rtol, **self._options())

    def plan_max_rate(self, config, *, max_latency, rtol: float = 1e-9) -> Capacity | None:
        """The largest rate at which the configuration (t, P, A), or a Plan, meets max_latency under the view's
        load (planning.load.plan_max_rate); needs a Planner on a Profile and a Topology.

        Parameters
        ----------
        config : tuple, Plan or LoadPoint
            (threshold index, end blocks P, tiers A), or a Plan or LoadPoint (its `config()`): this view's
            answers are taken back as they come.
        max_latency : float, keyword-only
            The bound on the mean latency, seconds.
        rtol : float, default 1e-9, keyword-only
            The bracket's relative width.

        Returns
        -------
        Capacity or None
            None when the plan misses the bound even unloaded.

        Examples
        --------
        >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> plan = planner.min_latency(min_accuracy=0.9)
        >>> cap = planner.under(ef.model.Load(0.0)).plan_max_rate(plan, max_latency=2 * plan.latency)
        >>> cap.rate > 0
        True
        """
        state = self.planner._now.state
        if state.profile is None:
            raise ValueError("plan_max_rate: this Planner plans on CostTables; it needs a Profile and a Topology")
        return plan_max_rate(state.profile, state.topology, config, load=self.load, source=state.source,
                             destination=state.destination, max_latency=max_latency,
                             link_queues=self.link_queues, rtol=rtol)

    def __repr__(self) -> str:
        return f"UnderLoad(rate={self.load.rate:g}, fleet={self.load.fleet}, link_queues={self.link_queues})"
