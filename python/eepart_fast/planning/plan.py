"""Plans: one configuration (t, P, A) found by a search, with its latency (s), accuracy and the
per-partition breakdown read from the cost tables it was planned on (`Plan`, `breakdown`)."""
from __future__ import annotations

import numpy as np

from .._deprecated import positional
from ..engine.reference import evaluate as reference_evaluate
from ..engine.reference import exit_latencies, quantile_of_exits
from ..model.profile import Profile
from ..model.quantile import check_quantile, quantile_label
from ..model.tables import CostTables, check_tables
from ..model.topology import Topology
from ._state import _check_models, _frozen, _State
from .tail import record_quantiles

__all__ = ["Plan", "breakdown"]


def breakdown(tables: CostTables, t: int, P, A) -> dict:
    """One configuration's latency split into the engine form's terms, read from the cost tables: the
    input's trip, then per partition its fractions and its compute, forward and result latency (s).

    Parameters
    ----------
    tables : CostTables
        The cost tables (docs/model.md "Engine form").
    t : int
        The threshold index.
    P : sequence of int
        The partitions' end blocks, rising.
    A : sequence of int
        The tier index of each partition.

    Returns
    -------
    dict
        "input" (s), "partitions" (per partition: blocks, tier, entering, exit and stay fractions, compute,
        forward and result latency in s), "latency" (s) and "accuracy".

    Examples
    --------
    >>> from eepart_fast.planning.plan import breakdown
    >>> tables = ef.cost_tables(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> round(breakdown(tables, 0, [6], [1])["latency"], 4)
    0.094
    """
    c = tables.cum_exit[t]
    acc = tables.accuracy_row(t)
    L = len(P)
    input_latency = float(tables.input_cost[A[0]])
    parts, latency, accuracy = [], input_latency, 0.0
    for k in range(L):
        p, q, a = (P[k - 1] if k else 0), P[k], A[k]
        last = k == L - 1
        in_k = 1.0 - c[p]
        E_k = 1.0 - c[p] if last else c[q] - c[p]
        S_k = 0.0 if last else 1.0 - c[q]
        comp = in_k * tables.compute_cost[a, p, q]
        forward = 0.0 if last else S_k * tables.forward_cost[q - 1, a, A[k + 1]]
        result = E_k * tables.result_cost[a]
        latency += comp + result + forward
        accuracy += acc[q - 1] * E_k
        parts.append({"blocks": (p + 1, q), "tier": int(a), "entering": float(in_k), "exit": float(E_k),
                      "stay": float(S_k), "compute": float(comp), "forward": float(forward), "result": float(result)})
    return {"input": input_latency, "partitions": parts, "latency": latency, "accuracy": accuracy}


# The quantiles every Plan shows (Plan.quantiles): name -> q.
SHOWN_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}


class Plan:
    """One configuration (t, P, A) with its latency (s) and accuracy, and a per-partition breakdown read
    from the cost tables it was planned on.

    Plans are what `pareto`, `min_latency`, `max_accuracy` and a `Planner` return; one may also be made
    for any configuration of one's own, on (profile, topology) or on a CostTables.

    `latency` is the statistic the plan was searched for: the mean over samples, or with `quantile` = q
    (a plan found by a quantile search) the q-quantile. Whichever it is, `mean_latency` is the mean,
    `latency_quantile(q)` any quantile, `quantiles` the p50, p90, p99 and max, and `exit_latencies` the
    distribution they are read from: per partition exit, its latency and the share of samples leaving
    there (docs/model.md "Tail latency").

    `partitions` are end blocks P_1 < ... < P_L, `placement` the tier index of each partition,
    `tier_names` their names. `energy` is its energy (J per sample) where an energy question found it
    (max_energy, min_energy, the 3-objective frontier; docs/model.md "Energy"), else None. `breakdown`
    lists, per partition: blocks (first, last), tier, tier_name, the entering, exit and stay fractions, and
    its compute, forward and result latency (s);
    `input_latency` is the input's trip from the source to the first tier. `threshold` is None when the
    plan was made on bare CostTables (no profile to name the thresholds).

    Parameters
    ----------
    latency : float
        The plan's latency (s): the mean, or the `quantile`-quantile.
    accuracy : float
        The plan's accuracy.
    threshold_index : int
        t, the index of the exit threshold.
    partitions : sequence of int
        P, the partitions' end blocks, rising.
    placement : sequence of int
        A, the tier index of each partition.
    profile : Profile or CostTables
        The profile planned on, or the cost tables (then `topology` is omitted).
    topology : Topology, optional
        The topology planned on.
    source, destination : int or str, default 0
        Where samples are produced and results must arrive (tier index or name).
    quantile : float, optional
        None: `latency` is the mean; q in (0, 1]: the q-quantile it is.

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> plan = ef.min_latency(profile, topology, min_accuracy=0.9)
    >>> plan.config(), plan.tier_names
    ((0, (6,), (1,)), ('smartphone',))
    >>> round(plan.latency, 4), round(plan.accuracy, 4)
    (0.094, 0.9129)
    >>> same = ef.Plan(plan.latency, plan.accuracy, *plan.config(), profile, topology)
    >>> round(same.breakdown[0]["compute"], 4)
    0.0312
    """

    __slots__ = ("latency", "accuracy", "threshold_index", "threshold", "partitions", "placement", "tier_names",
                 "source", "destination", "quantile", "energy", "_state", "_breakdown", "_exits", "_mean")

    @positional("source", "destination", "quantile")
    def __init__(self, latency, accuracy, threshold_index, partitions, placement, profile, topology=None, *,
                 source=0, destination=0, quantile=None):
        # `profile` may be the planner's state (its snapshot); otherwise the models, as users call it.
        if isinstance(profile, _State):
            state = profile
        elif isinstance(profile, CostTables):
            if topology is not None:
                raise TypeError("topology: not used with CostTables (the tables hold the routes)")
            state = _State(None, None, None, None, _frozen(check_tables(profile)))
        else:
            _check_models(profile, topology)
            state = _State.of(profile, topology, source, destination)
        self._set(state, latency, accuracy, threshold_index, partitions, placement, quantile)

    @classmethod
    def _on_state(cls, state: _State, latency, accuracy, threshold_index, partitions, placement,
                  quantile=None, energy=None) -> Plan:
        """A plan found on a Planner's snapshot, from a search's columns as Python numbers (float, float,
        int, lists of int; its energy, float or None) and its checked quantile: no models to check (the
        snapshot's were), nothing to convert (a re-plan makes one per search)."""
        self = cls.__new__(cls)
        self.energy = energy
        self.latency, self.accuracy, self.threshold_index = latency, accuracy, threshold_index
        th = state.thresholds
        self.threshold = None if th is None else th.item(threshold_index)
        self.partitions, self.placement = tuple(partitions), tuple(placement)
        names = state.names
        self.tier_names = tuple([names[a] for a in placement])
        self.source, self.destination = state.source, state.destination  # ints (Topology.tier's) or None
        self.quantile = quantile
        self._state = state
        self._breakdown = self._exits = self._mean = None
        return self

    def _set(self, state, latency, accuracy, threshold_index, partitions, placement, quantile) -> None:
        self.energy = None
        self.latency = float(latency)
        self.accuracy = float(accuracy)
        self.threshold_index = int(threshold_index)
        th = state.thresholds
        self.threshold = None if th is None else float(th[self.threshold_index])
        self.partitions = tuple(map(int, partitions))
        self.placement = tuple(map(int, placement))
        self.tier_names = tuple(state.names[a] for a in self.placement)
        self.source = int(state.source) if state.source is not None else None
        self.destination = int(state.destination) if state.destination is not None else None
        self.quantile = None if quantile is None else check_quantile(quantile)
        self._state = state
        self._breakdown = None
        self._exits = None
        self._mean = None

    @property
    def num_partitions(self) -> int:
        return len(self.partitions)

    @property
    def topology(self) -> Topology | None:
        """The topology this plan was planned on (a Planner's later changes do not touch it)."""
        return self._state.topology

    @property
    def profile(self) -> Profile | None:
        return self._state.profile

    @property
    def tables(self) -> CostTables:
        """The cost tables this plan was planned on."""
        return self._state.tables

    def config(self) -> tuple:
        """(t, P, A), as `evaluate` takes it.

        Returns
        -------
        tuple
            (threshold_index, partitions, placement).
        """
        return self.threshold_index, self.partitions, self.placement

    def optimal_range(self, table, value=None):
        """From a PlanTable (Planner.plan_table): the widest range of the table's parameter around `value`
        over which this plan stays optimal.

        Parameters
        ----------
        table : PlanTable
            A plan table of the same problem, on the same models.
        value : float, optional
            Where to look, in the parameter's unit (bit/s, s or a factor); default: this plan's own
            network's value of the parameter.

        Returns
        -------
        tuple of float or None
            (low, high), or None if the table's plan there is another.
        """
        return table.optimal_range(self, value)

    def _details(self) -> dict:
        if self._breakdown is None:
            d = breakdown(self._state.tables, self.threshold_index, self.partitions, self.placement)
            for k, part in enumerate(d["partitions"]):
                part["tier_name"] = self._state.names[part["tier"]]
                part["to_tier"] = self.placement[k + 1] if k + 1 < self.num_partitions else None
            self._breakdown = d
        return self._breakdown

    @property
    def breakdown(self) -> list:
        return self._details()["partitions"]

    @property
    def input_latency(self) -> float:
        return self._details()["input"]

    @property
    def latency_statistic(self) -> str:
        """What `latency` is: "mean", or the quantile searched for ("p99")."""
        return quantile_label(self.quantile)

    def _config_arrays(self):
        return (np.array([self.threshold_index]), np.array([self.num_partitions]), np.array([self.partitions]),
                np.array([self.placement]))

    def _exit_arrays(self):
        if self._exits is None:
            self._exits = exit_latencies(self._state.tables, *self._config_arrays())
        return self._exits

    @property
    def exit_latencies(self) -> list:
        """Per partition exit k: `latency` (s), the end-to-end time of a sample leaving there, and `share`,
        the fraction of samples that do (E_k), with its blocks and tier."""
        ell, share = self._exit_arrays()
        return [{"blocks": b["blocks"], "tier": b["tier"], "tier_name": b["tier_name"],
                 "latency": float(ell[0, k]), "share": float(share[0, k])} for k, b in enumerate(self.breakdown)]

    @property
    def mean_latency(self) -> float:
        """The mean latency (s) over samples: `latency` itself for a plan of the mean."""
        if self.quantile is None:
            return self.latency
        if self._mean is None:
            self._mean = float(reference_evaluate(self._state.tables, *self._config_arrays())[0][0])
        return self._mean

    def latency_quantile(self, q) -> float:
        """The q-quantile (s) of this plan's latency over samples.

        Parameters
        ----------
        q : float
            In (0, 1] (0.99: p99; 1: the slowest exit).

        Returns
        -------
        float
            Seconds.

        Raises
        ------
        TypeError, ValueError
            `q` is not a number in (0, 1].
        """
        q = check_quantile(q)
        ell, share = self._exit_arrays()
        return float(quantile_of_exits(ell, share, [self.num_partitions], q)[0])

    @property
    def quantiles(self) -> dict:
        """{"p50", "p90", "p99", "max"}: those quantiles (s) of this plan's latency."""
        return {name: self.latency_quantile(q) for name, q in SHOWN_QUANTILES.items()}

    @positional("quantiles")
    def record_quantiles(self, records, *, quantiles=(0.5, 0.9, 0.99, 1.0)) -> dict:
        """Quantiles (s) of this plan's latency over the profiler's recorded runs: each step at each run's
        own time, not at the profile's one statistic (docs/model.md "From the records").

        Parameters
        ----------
        records : dict or path
            A dict from io.records.load_records, or a <name>.samples.npz path.
        quantiles : sequence of float, default (0.5, 0.9, 0.99, 1.0)
            Each in (0, 1].

        Returns
        -------
        dict
            q -> seconds.

        Raises
        ------
        ValueError
            The plan was made on bare CostTables (it needs a profile and a topology), or the records do
            not fit the profile.
        """
        if self.profile is None or self.topology is None:
            raise ValueError("record_quantiles: this plan was made from CostTables; it needs a profile and a topology")
        qs = list(quantiles)
        values = record_quantiles(self.profile, self.topology, [self.config()], records, source=self.source,
                                  destination=self.destination, quantiles=qs)[0]
        return {q: float(v) for q, v in zip(qs, values)}

    def _end(self, j):
        return None if j is None else self._state.names[j]

    def to_dict(self) -> dict:
        """Plain JSON-able values: seconds, fractions, indices and names.

        Returns
        -------
        dict
            latency, accuracy, threshold_index, threshold, partitions, placement, tier_names, source,
            destination, input_latency, breakdown, latency_statistic, quantile, mean_latency, quantiles,
            exit_latencies and energy (J, or None).
        """
        parts = [{"blocks": list(b["blocks"]), "tier": int(b["tier"]), "tier_name": b["tier_name"],
                  "entering": b["entering"], "exit": b["exit"], "stay": b["stay"],
                  "compute": b["compute"], "forward": b["forward"], "result": b["result"]}
                 for b in self.breakdown]
        exits = [{"latency": e["latency"], "share": e["share"]} for e in self.exit_latencies]
        return {"latency": self.latency, "accuracy": self.accuracy, "threshold_index": self.threshold_index,
                "threshold": self.threshold, "partitions": list(self.partitions), "placement": list(self.placement),
                "tier_names": list(self.tier_names), "source": self._end(self.source),
                "destination": self._end(self.destination), "input_latency": float(self.input_latency),
                "breakdown": parts, "latency_statistic": self.latency_statistic, "quantile": self.quantile,
                "mean_latency": self.mean_latency, "quantiles": self.quantiles, "exit_latencies": exits,
                "energy": self.energy}

    def __str__(self) -> str:
        names = self._state.names
        th = f"threshold {self.threshold:g} (index {self.threshold_index})" if self.threshold is not None else \
            f"threshold index {self.threshold_index}"
        ends = "" if self.source is None else \
            f"; samples from {names[self.source]}, results to {names[self.destination]}"
        first = "the source" if self.source is None else names[self.source]
        if self.quantile is None:
            latency = f"latency {self.latency * 1e3:.3f} ms (p99 {self.latency_quantile(0.99) * 1e3:.3f} ms)"
        else:
            other = "" if self.quantile == 0.99 else f", p99 {self.latency_quantile(0.99) * 1e3:.3f} ms"
            latency = (f"{self.latency_statistic} latency {self.latency * 1e3:.3f} ms "
                       f"(mean {self.mean_latency * 1e3:.3f} ms{other})")
        energy = "" if self.energy is None else f", energy {self.energy * 1e3:.3f} mJ"
        lines = [f"{latency}, accuracy {self.accuracy:.4f}{energy}, {th}{ends}",
                 f"  input {first} -> {self.tier_names[0]}: {self.input_latency * 1e3:.3f} ms"]
        for b in self.breakdown:
            first, last = b["blocks"]
            blocks = f"block {first}" if first == last else f"blocks {first}-{last}"
            fwd = "" if b["to_tier"] is None else f", forward to {names[b['to_tier']]} {b['forward'] * 1e3:.3f} ms"
            lines.append(f"  {blocks} on {b['tier_name']}: {b['entering']:.1%} enter, {b['exit']:.1%} exit, "
                         f"{b['stay']:.1%} go on; compute {b['compute'] * 1e3:.3f} ms{fwd}, "
                         f"result {b['result'] * 1e3:.3f} ms")
        return "\n".join(lines)

    def __repr__(self) -> str:
        stat = "" if self.quantile is None else f", quantile={self.quantile!r}"
        if self.energy is not None:
            stat += f", energy={self.energy!r}"
        return (f"Plan(latency={self.latency!r}{stat}, accuracy={self.accuracy!r}, t={self.threshold_index}, "
                f"P={list(self.partitions)}, A={list(self.tier_names)})")
