"""Plans under load (docs/model.md "Load"): Poisson arrivals, each tier's compute and each link direction a
first-come-first-served server, each taken as M/G/1 (Pollaczek-Khinchine waits, `queues="mg1"`) or, with
`queues="qna"`, as GI/G/1 fed by the servers before it (Whitt's Queueing Network Analyzer: each flow's squared
coefficient of variation of inter-arrival times carried along the plan, Allen-Cunneen waits).

Two ways to the same numbers: `evaluate_load` prices one configuration from the servers' loads (every
server's visits, first and second moments summed over the plan), and `load_tables` fills, per threshold,
cost tables whose compute entries carry the waits, so that the existing exact search answers under load.
They agree because a tier appears at most once in a placement: a tier's load comes from the one partition
placed on it, so its wait is a number per (threshold, tier, partition), an entry of compute_cost. Link
queues are not of that shape (the results of every partition converge on the destination's links, and a
partition forwarding to the destination shares that server with its own results), so the tables price
links as the unloaded model does and `evaluate_load` takes `link_queues`.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._checks import MAX_COST, float_array, integer, number
from .energy import route_hops
from .profile import Profile
from .tables import CostTables, cost_tables
from .topology import Topology

# A loaded table entry marks a server loaded to 1 or more so that every configuration taking it has a
# latency of at least INFEASIBLE; the base costs must stay under MAX_BASE_COST, so that no feasible
# configuration (at most 3M + 1 terms) reaches it.
INFEASIBLE = 1e290
MAX_BASE_COST = 1e280
# A share entering a partition below this cannot carry the mark within MAX_COST (INFEASIBLE / share).
MIN_MARKED_SHARE = INFEASIBLE / MAX_COST
QUEUES = ("mg1", "qna")


class Load:
    """The load a stream of samples puts on the tiers and links (docs/model.md "Load").

    Parameters
    ----------
    rate : float
        Samples per second from each source (Poisson), >= 0.
    fleet : int, default 1
        Identical sources sharing every tier but their own (`private`).
    background : array_like, shape (M,), optional
        Per tier, the utilisation other tenants take, in [0, 1) (default 0).
    background_residual : array_like, shape (M,), optional
        Per tier, the other tenants' mean residual service, E[S^2] / (2 E[S]) of their jobs, s (default 0).
    service_cv2 : array_like, shape (M,), optional
        Per tier, the squared coefficient of variation of a partition's compute time (0: the step costs are
        exact, M/D/1; 1: exponential, M/M/1); default 0.
    private : list of int, optional
        The tiers each source has to itself (arrivals at `rate`, not `rate x fleet`); default: the source.
    overhead_s : array_like, shape (M,), optional
        Per tier, seconds a worker spends on every job beyond its compute (receiving and decoding the message,
        sending the result), added to each job's service time there (default 0).
    queues : {"mg1", "qna"}, default "mg1"
        Each server as M/G/1 (Poisson arrivals everywhere), or with the arrivals' variability carried from
        server to server (QNA; exact at the first server, an approximation after it).

    Examples
    --------
    >>> load = ef.model.Load(50.0, fleet=4, background=[0, 0, 0.3, 0])
    >>> load.arrival(4, source=0).tolist()
    [50.0, 200.0, 200.0, 200.0]
    """

    def __init__(self, rate, *, fleet=1, background=None, background_residual=None, service_cv2=None,
                 private=None, overhead_s=None, queues="mg1"):
        self.rate = number("rate", rate)
        if not (math.isfinite(self.rate) and self.rate >= 0):
            raise ValueError(f"rate = {rate!r}: expected a finite number of samples per second >= 0")
        self.fleet = integer("fleet", fleet)
        if self.fleet < 1:
            raise ValueError(f"fleet = {fleet!r}: expected a number of sources >= 1")
        self.background = background
        self.background_residual = background_residual
        self.service_cv2 = service_cv2
        self.private = None if private is None else [integer(f"private[{i}]", a) for i, a in enumerate(private)]
        self.overhead_s = overhead_s
        if queues not in QUEUES:
            raise ValueError(f"queues = {queues!r}: expected one of {', '.join(map(repr, QUEUES))}")
        self.queues = queues

    def replace(self, **changes) -> Load:
        """A copy with some fields changed (the same keywords as the constructor).

        Parameters
        ----------
        **changes
            rate, fleet, background, background_residual, service_cv2, private, overhead_s, queues.

        Returns
        -------
        Load

        Examples
        --------
        >>> ef.model.Load(10.0).replace(rate=20.0).rate
        20.0
        """
        fields = {"rate": self.rate, "fleet": self.fleet, "background": self.background,
                  "background_residual": self.background_residual, "service_cv2": self.service_cv2,
                  "private": self.private, "overhead_s": self.overhead_s, "queues": self.queues}
        for k in changes:
            if k not in fields:
                raise TypeError(f"Load.replace: unknown field {k!r}")
        fields.update(changes)
        rate = fields.pop("rate")
        return Load(rate, **fields)

    def per_tier(self, M: int) -> tuple:
        """(background, background_residual, service_cv2), each (M,), checked by field and index.

        Parameters
        ----------
        M : int
            The number of tiers.

        Returns
        -------
        tuple of numpy.ndarray
        """
        return tuple(self._field(name, M, 0.0, high) for name, high in
                     (("background", 1.0), ("background_residual", math.inf), ("service_cv2", math.inf)))

    def _field(self, name: str, M: int, low: float, high: float) -> np.ndarray:
        value = getattr(self, name)
        arr = np.zeros(M) if value is None else float_array(name, value, (M,))
        bad = np.flatnonzero(~((arr >= low) & (arr < high)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name}[{i}] = {float(arr[i])!r}: expected a finite number in [{low:g}, {high:g})")
        return arr

    def overhead(self, M: int) -> np.ndarray:
        """Per tier, the seconds added to every job's service (`overhead_s`), (M,), checked by index.

        Parameters
        ----------
        M : int
            The number of tiers.

        Returns
        -------
        numpy.ndarray

        Examples
        --------
        >>> ef.model.Load(1.0, overhead_s=[0.0005, 0.001]).overhead(2).tolist()
        [0.0005, 0.001]
        """
        return self._field("overhead_s", M, 0.0, math.inf)

    def arrival(self, M: int, *, source=0) -> np.ndarray:
        """Samples per second each tier would get if every sample visited it: rate on a private tier,
        rate x fleet on a shared one.

        Parameters
        ----------
        M : int
            The number of tiers.
        source : int
            The source tier (private unless `private` says otherwise).

        Returns
        -------
        numpy.ndarray, shape (M,)
        """
        g = np.full(M, self.rate * self.fleet)
        g[self.private_tiers(M, source=source)] = self.rate
        return g

    def private_tiers(self, M: int, *, source=0) -> list:
        """The tiers each source has to itself: `private`, or the source; checked against M.

        Parameters
        ----------
        M : int
            The number of tiers.
        source : int
            The source tier.

        Returns
        -------
        list of int
        """
        private = [source] if self.private is None else self.private
        for i, a in enumerate(private):
            if not 0 <= a < M:
                raise ValueError(f"private[{i}] = {a}: expected a tier index in 0..{M - 1}")
        return list(private)


def wait(arrival, mean, second, background=0.0, residual=0.0, arrival_cv2=None):
    """The Pollaczek-Khinchine mean wait of an M/G/1 server, inf where it is loaded to 1 or more; with
    `arrival_cv2`, the Allen-Cunneen wait of a GI/G/1 server.

    W = (arrival E[S^2] / 2 + background x residual) / (1 - rho), rho = arrival E[S] + background: our
    stream (arrival, E[S], E[S^2]) and other tenants' (utilisation `background`, mean residual service
    `residual`) share one FCFS queue, and every job waits the same W. With our arrivals' squared coefficient
    of variation c_a^2 = `arrival_cv2`, our term is arrival (E[S^2] + (c_a^2 - 1) E[S]^2) / 2, that is
    (c_a^2 + c_s^2) / 2 x arrival E[S]^2: P-K when c_a^2 = 1 (the other tenants' arrivals stay Poisson).

    Parameters
    ----------
    arrival : float or numpy.ndarray
        Our jobs per second.
    mean, second : float or numpy.ndarray
        E[S] and E[S^2] of our jobs' service time (s, s^2).
    background, residual : float or numpy.ndarray
        The other tenants' utilisation and mean residual service (s).
    arrival_cv2 : float or numpy.ndarray, optional
        Our arrivals' squared coefficient of variation of inter-arrival times (None: Poisson, P-K).

    Returns
    -------
    numpy.ndarray
        Seconds; inf where rho >= 1.

    Examples
    --------
    >>> float(ef.model.load.wait(50.0, 0.01, 1e-4))  # M/D/1 at rho = 0.5: 50 x 1e-4 / 2 / 0.5
    0.005
    >>> float(ef.model.load.wait(50.0, 0.01, 1e-4, arrival_cv2=0.0))  # D/D/1: nobody waits
    0.0
    """
    arrival, mean, second = np.asarray(arrival, float), np.asarray(mean, float), np.asarray(second, float)
    rho = arrival * mean + background
    if arrival_cv2 is not None:
        second = second + (np.asarray(arrival_cv2, float) - 1.0) * mean * mean
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (arrival * second / 2 + background * residual) / (1.0 - rho)
    return np.where(rho < 1.0, w, np.inf)


def departure_cv2(utilisation, service_cv2, arrival_cv2):
    """QNA's squared coefficient of variation of a server's departures (Whitt 1983):
    c_d^2 = rho^2 c_s^2 + (1 - rho^2) c_a^2, rho our stream's utilisation of the server.

    Parameters
    ----------
    utilisation, service_cv2, arrival_cv2 : float or numpy.ndarray
        rho (< 1), c_s^2 of our jobs' service, c_a^2 of our arrivals.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> float(ef.model.load.departure_cv2(0.5, 0.0, 1.0))  # a deterministic server smooths Poisson arrivals
    0.75
    """
    rho2 = np.asarray(utilisation, float) ** 2
    return rho2 * np.asarray(service_cv2, float) + (1.0 - rho2) * np.asarray(arrival_cv2, float)


def split_cv2(share, cv2):
    """QNA's Bernoulli splitting: the part `share` of a flow of squared coefficient of variation `cv2`
    has p cv2 + 1 - p.

    Parameters
    ----------
    share : float or numpy.ndarray
        p, the part of the flow taken, in [0, 1].
    cv2 : float or numpy.ndarray
        The flow's c^2.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> float(ef.model.load.split_cv2(0.25, 0.0))  # a quarter of a regular stream, taken at random
    0.75
    """
    share = np.asarray(share, float)
    return share * np.asarray(cv2, float) + 1.0 - share


def load_tables(tables: CostTables, *, load: Load, source=0) -> list:
    """The cost tables under `load`, one CostTables per threshold (K = 1 each): `compute_cost[a, p, q]` +=
    the wait at tier a of the partition p+1..q, whose arrivals are `arrival[a]` x (1 - c_p) at that threshold.

    The mean latency the engine computes on table t is then the model's latency plus the compute waits
    (docs/model.md "Load"). An entry whose tier would be loaded to 1 or more is INFEASIBLE / (1 - c_p), so
    that a configuration taking it has a latency of at least INFEASIBLE (planning.load drops those). The
    move tables are unchanged: links are priced as in the unloaded model.

    Parameters
    ----------
    tables : CostTables
        The unloaded model's tables.
    load : Load
        The arrivals and the tiers' other inputs.
    source : int
        The source tier (for `Load.private`'s default).

    Returns
    -------
    list of CostTables
        Entry t is threshold t's tables: cum_exit its row, accuracy its row (or the (N,) table).

    Raises
    ------
    ValueError
        A base cost above MAX_BASE_COST, a finite wait above it, or an overloaded partition that fewer than
        MIN_MARKED_SHARE of the samples enter (no mark fits).

    Examples
    --------
    >>> tables = ef.cost_tables(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> per_t = ef.model.load_tables(tables, load=ef.model.Load(5.0))
    >>> len(per_t), per_t[0].K
    (20, 1)
    """
    if not isinstance(load, Load):
        raise TypeError(f"load: expected a Load, got {type(load).__name__}")
    if load.queues != "mg1":
        raise ValueError(f"load.queues = {load.queues!r}: a QNA wait depends on the servers before it on the "
                         "plan's path, which no table entry sees; the tables hold M/G/1 waits only (queues='mg1')")
    M, N = tables.M, tables.N
    for name in ("input_cost", "compute_cost", "forward_cost", "result_cost"):
        arr = getattr(tables, name)
        if arr.size and arr.max() > MAX_BASE_COST:
            i = np.unravel_index(int(arr.argmax()), arr.shape)
            raise ValueError(f"tables.{name}{list(map(int, i))} = {arr[i]!r}: under load every cost must be at most "
                             f"{MAX_BASE_COST:g} s, so that an overloaded server's mark stays above every feasible "
                             "latency")
    g = load.arrival(M, source=source)
    background, residual, cv2 = load.per_tier(M)
    upper = np.triu(np.ones((N + 1, N + 1), bool), 1)  # p < q: the entries a partition uses
    h = load.overhead(M)[:, None, None]
    raw = tables.compute_cost
    c = np.where(upper[None], raw + h, raw)  # every job of a partition pays its tier's overhead
    second = (1.0 + cv2)[:, None, None] * raw * raw + 2.0 * h * raw + h * h
    out = []
    for t in range(tables.K):
        enter = 1.0 - tables.cum_exit[t]  # share entering a partition that starts after block p
        lam = g[:, None, None] * enter[None, :, None]
        w = wait(lam, c, second, background[:, None, None], residual[:, None, None])
        visited = upper[None] & (enter[None, :, None] > 0)
        over = visited & ~np.isfinite(w)
        if over.any():
            small = over & (enter[None, :, None] < MIN_MARKED_SHARE)
            if small.any():
                a, p, q = map(int, np.argwhere(small)[0])
                raise ValueError(f"load: at threshold {t}, tier {a}'s partition {p + 1}..{q} is overloaded but only "
                                 f"{enter[p]!r} of the samples enter it, too few to mark it infeasible")
        big = visited & np.isfinite(w) & (w > MAX_BASE_COST)
        if big.any():
            a, p, q = map(int, np.argwhere(big)[0])
            raise ValueError(f"load: at threshold {t}, tier {a}'s partition {p + 1}..{q} waits {w[a, p, q]!r} s, "
                             f"above {MAX_BASE_COST:g} s")
        with np.errstate(divide="ignore"):
            mark = INFEASIBLE / enter[None, :, None]
        loaded = np.where(visited, np.where(over, mark, c + w), c)
        accuracy = tables.accuracy_row(t) if tables.accuracy.ndim == 2 else tables.accuracy
        out.append(CostTables(tables.input_cost, np.ascontiguousarray(loaded), tables.forward_cost,
                              tables.result_cost, np.ascontiguousarray(tables.cum_exit[t:t + 1]), accuracy))
    return out


class Server(NamedTuple):
    """One server of a plan under load: its visits per sample, utilisation and mean wait (s)."""

    visits: float
    utilisation: float
    wait: float


class Loads(NamedTuple):
    """A configuration's demands, the same at every rate: its unloaded latency and accuracy, per server
    its (visits, work B, second moment A) per sample, and per pair of servers (i, j) the share of samples
    that goes from i to j (i None: from the source, j None: to the destination), which QNA follows."""

    base: float
    accuracy: float
    servers: dict
    flows: dict = None


class LoadedLatency(NamedTuple):
    """A configuration under load: the mean latency (inf when a server is loaded to 1 or more), the
    unloaded model's latency, the accuracy, and per server (("tier", a), ("link", index, from, to) or
    ("route", from, to)) its Server."""

    latency: float
    base: float
    accuracy: float
    servers: dict


def _link_servers(topology: Topology) -> dict:
    """(a, b) -> [(server key, seconds per bit), ...] along the route a -> b: per link and direction on a
    chain or graph (store and forward), one server per ordered pair for route matrices."""
    hops = route_hops(topology)
    if hops is None:
        inv = topology.path_inv_bandwidth
        return {(a, b): [(("route", a, b), float(inv[a, b]))]
                for a in range(topology.M) for b in range(topology.M) if a != b}
    if topology.route_rule != "store_and_forward":
        raise ValueError(f"link_queues: a {topology.route_rule!r} route streams a message through every link at "
                         "once, which is not one server per link; use store_and_forward or link_queues=False")
    if topology.links is not None:
        bandwidth = list(topology.links["bandwidth"])
    else:
        bandwidth = [x[2] for x in topology.graph["links"]]
    return {pair: [(("link", ell, x, y), 1.0 / float(bandwidth[ell])) for x, y, ell in route]
            for pair, route in hops.items()}


class LoadModel:
    """The load model of one network, ready to price configurations at any rate (`evaluate_load` on many
    configurations or rates without rebuilding the tables and routes). Read-only after construction, so
    safe to share between threads.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    load : Load
        The arrivals (its rate is the default of `evaluate`).
    source, destination : int or str
        As for `cost_tables`.
    link_queues : bool, default True
        Whether links queue too (False: links as in the unloaded model, as `load_tables` prices them).

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> model = ef.model.LoadModel(p, topo, load=ef.model.Load(20.0), link_queues=False)
    >>> idle, busy = model.evaluate((5, [4, 10], [1, 3]), rate=0.0), model.evaluate((5, [4, 10], [1, 3]))
    >>> idle.latency == idle.base == busy.base < busy.latency
    True
    """

    def __init__(self, profile: Profile, topology: Topology, *, load: Load, source=0, destination=0,
                 link_queues: bool = True):
        if not isinstance(load, Load):
            raise TypeError(f"load: expected a Load, got {type(load).__name__}")
        self.profile, self.topology, self.load = profile, topology, load
        self.source = topology.tier(source, field="source")
        self.destination = topology.tier(destination, field="destination")
        self.tables = cost_tables(profile, topology, source=self.source, destination=self.destination)
        M = topology.M
        self.private = set(load.private_tiers(M, source=self.source))
        self.background, self.residual, self.cv2 = load.per_tier(M)
        self.overhead = load.overhead(M)
        self.routes = _link_servers(topology) if link_queues else {}

    def arrival(self, server, *, rate=None) -> float:
        """Samples per second a server would get if every sample visited it: `rate` where it is a source's
        own (a private tier, or a link ending at one), rate x fleet where the fleet shares it.

        Parameters
        ----------
        server : tuple
            ("tier", a), ("link", index, from, to) or ("route", from, to).
        rate : float, optional
            Samples per second per source (default: the load's).

        Returns
        -------
        float
        """
        rate = self.load.rate if rate is None else rate
        ends = server[1:2] if server[0] == "tier" else server[-2:]
        own = any(x in self.private for x in ends)
        return rate if own else rate * self.load.fleet

    def loads(self, config) -> Loads:
        """What a configuration asks of each server, at any rate: its unloaded latency and accuracy, and per
        server its visits s, work B and second moment A per sample (the rate enters only the waits).

        Parameters
        ----------
        config : tuple
            (t, P, A).

        Returns
        -------
        Loads
        """
        tables, profile = self.tables, self.profile
        t, P, A = int(config[0]), [int(x) for x in config[1]], [int(x) for x in config[2]]
        c = tables.cum_exit[t]
        acc = tables.accuracy_row(t)
        servers = {}  # key -> [visits s, E[S]-weighted B, E[S^2]-weighted A]
        flows = {}  # (from, to) -> share

        def visit(key, share, service, second, came):
            row = servers.setdefault(key, [0.0, 0.0, 0.0])
            row[0] += share
            row[1] += share * service
            row[2] += share * second
            if share > 0:
                flows[came, key] = flows.get((came, key), 0.0) + share
            return key

        def move(a, b, bits, share, came):
            for key, inv in self.routes.get((a, b), ()):
                came = visit(key, share, bits * inv, (bits * inv) ** 2, came)
            return came

        base = float(tables.input_cost[A[0]])
        came = move(self.source, A[0], profile.input_bits, 1.0, None)
        accuracy = 0.0
        p = 0
        for k, (q, a) in enumerate(zip(P, A)):
            last = k == len(P) - 1
            enter = 1.0 - c[p]
            exit_share = enter if last else c[q] - c[p]
            raw, h = float(tables.compute_cost[a, p, q]), float(self.overhead[a])
            step = raw + h
            base += enter * step + exit_share * float(tables.result_cost[a])
            here = visit(("tier", a), enter, step, (1.0 + self.cv2[a]) * raw * raw + 2.0 * h * raw + h * h, came)
            out = move(a, self.destination, profile.result_bits, exit_share, here)
            if exit_share > 0:
                flows[out, None] = flows.get((out, None), 0.0) + exit_share
            if not last:
                stay = 1.0 - c[q]
                base += stay * float(tables.forward_cost[q - 1, a, A[k + 1]])
                came = move(a, A[k + 1], profile.output_bits[q - 1], stay, here)
            accuracy += float(acc[q - 1]) * exit_share
            p = q
        # A server no sample visits does not count.
        return Loads(float(base), float(accuracy),
                     {key: tuple(map(float, row)) for key, row in servers.items() if row[0] > 0}, flows)

    def signature(self, loads: Loads) -> tuple:
        """What decides the latency at every rate: the unloaded latency and the sorted (visits, work, second
        moment, arrivals per unit rate, background, residual) of the servers. Two configurations with the
        same signature have the same latency at every rate.

        Parameters
        ----------
        loads : Loads
            From `loads`.

        Returns
        -------
        tuple
        """
        rows = []
        for key, (s, B, A2) in loads.servers.items():
            bg, res = (self.background[key[1]], self.residual[key[1]]) if key[0] == "tier" else (0.0, 0.0)
            rows.append((s, B, A2, self.arrival(key, rate=1.0), float(bg), float(res)))
        return loads.base, tuple(sorted(rows))

    def price(self, loads: Loads, *, rate=None) -> LoadedLatency:
        """The latency of `loads` at `rate`: the unloaded latency plus every server's visits x its wait.

        Parameters
        ----------
        loads : Loads
            From `loads`.
        rate : float, optional
            Samples per second per source, instead of the load's.

        Returns
        -------
        LoadedLatency
        """
        rate = self.load.rate if rate is None else number("rate", rate)
        if self.load.queues == "qna":
            return self._price_qna(loads, rate)
        latency = loads.base
        out = {}
        for key, (s, B, A2) in loads.servers.items():
            bg, res = (self.background[key[1]], self.residual[key[1]]) if key[0] == "tier" else (0.0, 0.0)
            arrival = self.arrival(key, rate=rate)
            # Per sample the server does B seconds of work: utilisation arrival x B, wait from arrival x A.
            w = float(wait(arrival, B, A2, bg, res))
            out[key] = Server(s, float(arrival * B + bg), w)
            latency += s * w
        return LoadedLatency(float(latency), loads.base, loads.accuracy, out)

    def arrival_cv2(self, loads: Loads, *, rate=None) -> dict:
        """QNA's squared coefficient of variation of each server's arrivals (docs/model.md "Tandem queues").

        The traffic-variability equations of Whitt's QNA on the plan's flows: per server j,
        s_j c_j^2 = e_j + sum_i f_ij (p_ij d_i + 1 - p_ij), d_i = rho_i^2 c_s,i^2 + (1 - rho_i^2) c_i^2, with
        e_j the share arriving from the source (Poisson, c^2 = 1), f_ij the share going from i to j and
        p_ij the part of i's departures that goes to j (a shared server's departures split among the fleet's
        private servers). Linear in the c_j^2: one solve.

        Parameters
        ----------
        loads : Loads
            From `loads`.
        rate : float, optional
            Samples per second per source (default: the load's).

        Returns
        -------
        dict
            Server key -> c_a^2 (inf everywhere when a server is loaded to 1 or more).
        """
        rate = self.load.rate if rate is None else number("rate", rate)
        keys = list(loads.servers)
        index = {key: j for j, key in enumerate(keys)}
        s, B, A2 = (np.array([loads.servers[k][i] for k in keys]) for i in range(3))
        unit = np.array([self.arrival(k, rate=1.0) for k in keys])  # 1 or the fleet
        rho = rate * unit * B
        with np.errstate(divide="ignore", invalid="ignore"):
            cs2 = np.where(B > 0, s * A2 / (B * B) - 1.0, 0.0)
        matrix, rhs = np.diag(s), np.zeros(len(keys))
        for (i, j), f in (loads.flows or {}).items():
            if j is None:
                continue
            if i is None:
                rhs[index[j]] += f
                continue
            a, b = index[i], index[j]
            p = min(unit[a], unit[b]) * f / (unit[a] * s[a])
            rhs[b] += f * (p * rho[a] ** 2 * cs2[a] + 1.0 - p)
            matrix[b, a] -= f * p * (1.0 - rho[a] ** 2)
        return dict(zip(keys, np.linalg.solve(matrix, rhs).tolist())) if keys else {}

    def _price_qna(self, loads: Loads, rate: float) -> LoadedLatency:
        """`price` with QNA's arrival variability: every server a GI/G/1 queue, Allen-Cunneen waits."""
        latency = loads.base
        out = {}
        utilisation = {}
        for key, (_s, B, _A2) in loads.servers.items():
            bg = self.background[key[1]] if key[0] == "tier" else 0.0
            utilisation[key] = self.arrival(key, rate=rate) * B + bg
        if any(u >= 1.0 for u in utilisation.values()):
            ca2 = dict.fromkeys(loads.servers, 1.0)  # no stable departures: every wait is inf anyway
        else:
            ca2 = self.arrival_cv2(loads, rate=rate)
        for key, (s, B, A2) in loads.servers.items():
            bg, res = (self.background[key[1]], self.residual[key[1]]) if key[0] == "tier" else (0.0, 0.0)
            arrival = self.arrival(key, rate=rate) * s  # jobs per second, each of E[S] = B / s, E[S^2] = A / s
            w = float(wait(arrival, B / s, A2 / s, bg, res, arrival_cv2=ca2[key]))
            out[key] = Server(s, float(utilisation[key]), w)
            latency += s * w
        return LoadedLatency(float(latency), loads.base, loads.accuracy, out)

    def evaluate(self, config, *, rate=None) -> LoadedLatency:
        """The configuration (threshold index, end blocks P, tiers A) at `rate` (default: the load's).

        Parameters
        ----------
        config : tuple
            (t, P, A).
        rate : float, optional
            Samples per second per source, instead of the load's.

        Returns
        -------
        LoadedLatency
        """
        return self.price(self.loads(config), rate=rate)


def evaluate_load(profile: Profile, topology: Topology, config, *, load: Load, source=0, destination=0,
                  link_queues: bool = True) -> LoadedLatency:
    """One configuration's mean latency under `load`, from the servers' loads (docs/model.md "Load").

    Every server sums its visits per sample s, E[S]-weighted visits B and E[S^2]-weighted visits A over the
    plan's steps; its utilisation is arrival x B + background, its wait W = (arrival x A / 2 + background x
    residual) / (1 - utilisation), and the latency is the unloaded model's plus s x W per server. A tier
    computes a partition in the model's step cost; a link direction transmits x bits in x / bandwidth (its
    propagation and the (de)serialisation are delays, not service). A server no sample visits does not count.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    config : tuple
        (threshold index, end blocks P, tiers A).
    load : Load
        The arrivals.
    source, destination : int or str
        As for `cost_tables`.
    link_queues : bool, default True
        Whether links queue too (False: links as in the unloaded model, as `load_tables` prices them).

    Returns
    -------
    LoadedLatency

    Examples
    --------
    >>> p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> r = ef.model.evaluate_load(p, topo, (5, [4, 10], [1, 3]), load=ef.model.Load(20.0))
    >>> r.latency > r.base
    True
    """
    model = LoadModel(profile, topology, load=load, source=source, destination=destination, link_queues=link_queues)
    return model.evaluate(config)
