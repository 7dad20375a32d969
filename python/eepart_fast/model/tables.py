"""The cost tables of the engine form (docs/model.md "Engine form"): the only thing every backend sees,
and the fillers that build them from a profile and a topology (docs/model.md "Fillers").

Each cost input is one filler of the same tables: measured compute fills compute_cost per tier,
(de)serialisation adds to the three move tables, the route rule fills the route matrices the move
tables read. A cost model of one's own builds a CostTables directly; every public function takes one.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _core
from .._checks import MAX_BLOCKS, MAX_THRESHOLDS, MAX_TIERS, count, finite_costs
from .._deprecated import positional
from .devices import running_sums
from .profile import Profile
from .topology import Topology


class CostTables(NamedTuple):
    """Seconds per sample that takes each step (docs/model.md "Engine form"); all float64, C-contiguous.

    forward_cost has N rows: row q-1 is block q's output. accuracy is (N,), entry i-1 the accuracy of
    branch i at every threshold, or (K, N), row t the accuracies at threshold t (a per-threshold
    estimator); every backend takes both, and an (N,) table gives the same bits as its rows repeated.
    `cost_tables` builds them from a Profile and a Topology; a cost model of one's own builds them
    directly (the backends check them: shapes against each other, costs finite).

    Parameters
    ----------
    input_cost : numpy.ndarray, shape (M,)
        Seconds to bring an input sample from the source to tier a.
    compute_cost : numpy.ndarray, shape (M, N+1, N+1)
        Seconds tier a takes for blocks p+1..q with branch q; zero where p >= q.
    forward_cost : numpy.ndarray, shape (N, M, M)
        Seconds to move block q's output (row q-1) from tier a to tier b; zero where a == b.
    result_cost : numpy.ndarray, shape (M,)
        Seconds to bring a result from tier a to the destination.
    cum_exit : numpy.ndarray, shape (K, N+1)
        The cumulative exit rate c_i per threshold (c_0 = 0, c_N = 1).
    accuracy : numpy.ndarray, shape (N,) or (K, N)
        Accuracy of each branch, or a row per threshold.

    Examples
    --------
    >>> tables = ef.cost_tables(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> tables.N, tables.M, tables.K
    (10, 4, 20)
    >>> tables.compute_cost.shape, tables.forward_cost.shape
    ((4, 11, 11), (10, 4, 4))
    """

    input_cost: np.ndarray  # (M,)
    compute_cost: np.ndarray  # (M, N+1, N+1), zero where p >= q
    forward_cost: np.ndarray  # (N, M, M)
    result_cost: np.ndarray  # (M,)
    cum_exit: np.ndarray  # (K, N+1)
    accuracy: np.ndarray  # (N,) or (K, N)

    @property
    def N(self) -> int:
        """The number of blocks."""
        return self.accuracy.shape[-1]

    @property
    def M(self) -> int:
        """The number of tiers."""
        return self.input_cost.shape[0]

    @property
    def K(self) -> int:
        """The number of thresholds."""
        return self.cum_exit.shape[0]

    def accuracy_row(self, t: int) -> np.ndarray:
        """acc at threshold t, (N,): the table's row t, or the whole (N,) table, which holds at every t.

        Parameters
        ----------
        t : int
            The threshold index, 0..K-1.

        Returns
        -------
        numpy.ndarray, shape (N,)

        Examples
        --------
        >>> tables = ef.cost_tables(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
        >>> tables.accuracy_row(3).shape
        (10,)
        """
        return self.accuracy[t] if self.accuracy.ndim == 2 else self.accuracy


def block_sums(profile: Profile) -> np.ndarray:
    """(N+1, N+1): blocks p+1..q and branch q on the reference device, zero where p >= q.

    Parameters
    ----------
    profile : Profile
        The profiled network.

    Returns
    -------
    numpy.ndarray, shape (N+1, N+1)
    """
    return running_sums(profile.block_time, profile.branch_time)


def _device(profile: Profile, topology: Topology, a: int):
    name = topology.devices[a]
    if name is None:
        return None
    if name not in profile.devices:
        have = ", ".join(map(repr, profile.devices)) or "none"
        raise ValueError(f"devices[{a}] = {name!r} (tier {topology.names[a]!r}): the profile has no measurements "
                         f"of that device (it has: {have})")
    return profile.devices[name]


def measured_tiers(profile: Profile, topology: Topology) -> list:
    """The tiers whose compute comes from their own measurements (ratio unused there).

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.

    Returns
    -------
    list of int
    """
    return [a for a in range(topology.M) if _device(profile, topology, a) is not None]


def compute_row(profile: Profile, topology: Topology, a: int, base: np.ndarray | None = None) -> np.ndarray:
    """compute_cost[a]: tier a's own measured partition times, or ratio[a] x the reference's block sums.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    a : int
        The tier.
    base : numpy.ndarray, optional
        block_sums(profile), when the caller has it already.

    Returns
    -------
    numpy.ndarray, shape (N+1, N+1)
    """
    dev = _device(profile, topology, a)
    if dev is not None:
        return dev.partition
    with np.errstate(over="ignore"):  # an overflow is refused, with its place, by finite_costs
        return topology.ratio[a] * (block_sums(profile) if base is None else base)


def compute_table(profile: Profile, topology: Topology, base: np.ndarray | None = None) -> np.ndarray:
    """compute_cost (M, N+1, N+1); `base` (block_sums of the profile) when the caller has it already.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    base : numpy.ndarray, optional
        block_sums(profile).

    Returns
    -------
    numpy.ndarray, shape (M, N+1, N+1)
    """
    base = block_sums(profile) if base is None else base
    return np.ascontiguousarray(np.stack([compute_row(profile, topology, a, base) for a in range(topology.M)]))


def tensor_bits(profile: Profile) -> np.ndarray:
    """(N+2,): the bits of each tensor that may move: input, block 1..N outputs, result.

    Parameters
    ----------
    profile : Profile
        The profiled network.

    Returns
    -------
    numpy.ndarray, shape (N+2,)
    """
    return np.concatenate([[profile.input_bits], profile.output_bits, [profile.result_bits]])


def serialisation(profile: Profile, topology: Topology):
    """(send, receive), each (M, N+2): seconds tier a spends serialising / deserialising each tensor
    (index as tensor_bits). A tier's device's per-tensor times where measured, else its per-bit time x bits.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.

    Returns
    -------
    tuple
        (send, receive), each numpy.ndarray of shape (M, N+2).
    """
    bits = tensor_bits(profile)
    with np.errstate(over="ignore"):  # an overflow is refused, with its place, by finite_costs
        send = topology.serialize[:, None] * bits[None, :]
        receive = topology.deserialize[:, None] * bits[None, :]
    for a in range(topology.M):
        dev = _device(profile, topology, a)
        if dev is not None and dev.serialize_time is not None:
            send[a] = dev.serialize_time
        if dev is not None and dev.deserialize_time is not None:
            receive[a] = dev.deserialize_time
    return send, receive


# A move from a tier to itself costs nothing; any other move pays the route's transfer time, the sender's
# serialisation and the receiver's deserialisation of that tensor. Adding zero (no serialisation) changes
# no bit, so the paper's model comes out exactly as before; the (N, M, M) pass is skipped then.
# Overflows are let through (errstate) and refused, with their place, by finite_costs.

class MoveFiller:
    """The three move tables' formulas for one profile and one topology's (de)serialisation: what does not
    depend on the routes (bits, the (de)serialisation terms) is computed once, so that a Planner re-fills
    the move tables after a route change from the route matrices alone. input_table, forward_table and
    result_table are these formulas; there is no other copy.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers (their serialize, deserialize and devices are read; the routes are not).
    ser : tuple, optional
        serialisation(profile, topology), when the caller has it already.
    """

    def __init__(self, profile: Profile, topology: Topology, ser=None):
        send, receive = ser or serialisation(profile, topology)
        m, n = topology.M, profile.N
        self.M = m
        self.input_bits, self.result_bits = profile.input_bits, profile.result_bits
        self.output_bits = profile.output_bits[:, None, None]
        # Every tensor's bits, as `all` fills the three tables in one pass: outputs, input, result.
        self._bits = np.concatenate([profile.output_bits, [profile.input_bits, profile.result_bits]])[:, None, None]
        self.serialised = bool(send.any() or receive.any())
        self._send, self._receive = send, receive
        self.hop = None  # (N, M, M): what forward_cost adds to the route's time (a sends, b receives)
        if self.serialised:
            with np.errstate(over="ignore"):
                hop = send[:, 1:n + 1].T[:, :, None] + receive[:, 1:n + 1].T[:, None, :]
                self.hop = np.where(np.eye(m, dtype=bool)[None, :, :], 0.0, hop)
        self._n = n
        self._compiled = None

    def compiled(self):
        """This formula compiled (`_core.MoveFill`, cpp/model/move_fill.hpp: the same sums in the same order,
        so the same bits), made once: a re-plan fills its move tables and the engine's copy in one call."""
        if self._compiled is None:
            n = self._n
            bits = np.concatenate([[self.input_bits], self._bits[:n, 0, 0], [self.result_bits]])
            self._compiled = _core.MoveFill(bits, self._send, self._receive)
        return self._compiled

    def input_serialisation(self, source: int) -> np.ndarray:
        """(M,): what input_cost adds to the route's time (source serialises, a deserialises; 0 at a = source)."""
        return np.where(np.arange(self.M) != source, self._send[source, 0] + self._receive[:, 0], 0.0)

    def result_serialisation(self, destination: int) -> np.ndarray:
        """(M,): what result_cost adds to the route's time (a serialises, the destination deserialises)."""
        n = self._n
        return np.where(np.arange(self.M) != destination, self._send[:, n + 1] + self._receive[destination, n + 1],
                        0.0)

    @staticmethod
    def _transfer(path_latency, path_inv, bits):
        """A message of `bits` over the routes: route time plus bits x 1/bandwidth (the move tables' sum)."""
        return path_latency + bits * path_inv

    def all(self, path_latency, path_inv, source: int, destination: int) -> tuple:
        """(input_cost, forward_cost, result_cost) from the route matrices in one pass over every tensor's
        bits: the same sums as the three methods, so the same bits. Route matrices stacked (S, M, M) give
        tables stacked the same way ((S, M), (S, N, M, M), (S, M)), each to the bit a single call's."""
        n = self._n
        if path_latency.ndim == 3:  # stacked: a tensor axis after the stack's
            cost = self._transfer(path_latency[:, None], path_inv[:, None], self._bits)  # (S, N+2, M, M)
            inp, forward, result = cost[:, n, source, :], cost[:, :n], cost[:, n + 1, :, destination]
        else:  # one network state (a re-plan): plain indices, cheaper than an Ellipsis
            cost = self._transfer(path_latency, path_inv, self._bits)  # (N+2, M, M)
            inp, forward, result = cost[n, source], cost[:n], cost[n + 1, :, destination]
        if self.serialised:
            inp = inp + self.input_serialisation(source)
            forward = forward + self.hop
            result = result + self.result_serialisation(destination)
        return np.ascontiguousarray(inp), np.ascontiguousarray(forward), np.ascontiguousarray(result)

    def input(self, path_latency, path_inv, source: int) -> np.ndarray:
        """input_cost, (M,), from the route matrices."""
        cost = self._transfer(path_latency[source, :], path_inv[source, :], self.input_bits)
        if self.serialised:
            cost = cost + self.input_serialisation(source)
        return np.ascontiguousarray(cost)

    def forward(self, path_latency, path_inv) -> np.ndarray:
        """forward_cost, (N, M, M), from the route matrices."""
        cost = self._transfer(path_latency, path_inv, self.output_bits)  # (N, M, M)
        if self.serialised:
            cost = cost + self.hop
        return np.ascontiguousarray(cost)

    def result(self, path_latency, path_inv, destination: int) -> np.ndarray:
        """result_cost, (M,), from the route matrices."""
        cost = self._transfer(path_latency[:, destination], path_inv[:, destination], self.result_bits)
        if self.serialised:
            cost = cost + self.result_serialisation(destination)
        return np.ascontiguousarray(cost)


def input_table(profile: Profile, topology: Topology, source: int, ser=None) -> np.ndarray:
    """input_cost; `ser` is serialisation(profile, topology) when the caller has it already.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    source : int
        The tier where samples are produced.
    ser : tuple, optional
        serialisation(profile, topology).

    Returns
    -------
    numpy.ndarray, shape (M,)
    """
    with np.errstate(over="ignore"):
        return MoveFiller(profile, topology, ser).input(topology.path_latency, topology.path_inv_bandwidth, source)


def forward_table(profile: Profile, topology: Topology, ser=None) -> np.ndarray:
    """forward_cost: moving block q's output (row q-1) from tier a to tier b; zero where a == b.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    ser : tuple, optional
        serialisation(profile, topology).

    Returns
    -------
    numpy.ndarray, shape (N, M, M)
    """
    with np.errstate(over="ignore"):
        return MoveFiller(profile, topology, ser).forward(topology.path_latency, topology.path_inv_bandwidth)


def result_table(profile: Profile, topology: Topology, destination: int, ser=None) -> np.ndarray:
    """result_cost: bringing a result from tier a to `destination`.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    destination : int
        The tier where results are due.
    ser : tuple, optional
        serialisation(profile, topology).

    Returns
    -------
    numpy.ndarray, shape (M,)
    """
    with np.errstate(over="ignore"):
        return MoveFiller(profile, topology, ser).result(topology.path_latency, topology.path_inv_bandwidth,
                                                         destination)


def move_tables(profile: Profile, topology: Topology, source: int, destination: int):
    """input_cost, forward_cost, result_cost: the parts that depend on routes, (de)serialisation, source and
    destination.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    source, destination : int
        Tier indices.

    Returns
    -------
    tuple
        (input_cost, forward_cost, result_cost).
    """
    fill = MoveFiller(profile, topology)
    pl, inv = topology.path_latency, topology.path_inv_bandwidth
    with np.errstate(over="ignore"):
        return fill.input(pl, inv, source), fill.forward(pl, inv), fill.result(pl, inv, destination)


@positional("source", "destination")
def cost_tables(profile: Profile, topology: Topology, *, source=0, destination=0) -> CostTables:
    """The model in engine form, for samples produced at `source` and results due at `destination`.

    Each cost input fills the same tables: measured compute (a tier naming a device of the profile)
    or ratio x the reference's block times fills compute_cost, routes and (de)serialisation the three
    move tables (docs/model.md "Fillers").

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their routes.
    source : int or str
        The tier where samples are produced, by index or name.
    destination : int or str
        The tier where results are due, by index or name.

    Returns
    -------
    CostTables
        float64, C-contiguous, every cost finite.

    Raises
    ------
    TypeError
        `profile` not a Profile, `topology` not a Topology.
    ValueError
        An unknown source or destination, a tier naming a device the profile has no measurements of,
        or a cost that overflows (named by its place).

    Examples
    --------
    >>> p, t = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> tables = ef.cost_tables(p, t, source="smartwatch", destination="smartwatch")
    >>> [round(float(x), 6) for x in tables.input_cost]
    [0.0, 0.056176, 0.098685, 0.148735]
    """
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
    source = topology.tier(source, field="source")
    destination = topology.tier(destination, field="destination")
    input_cost, forward_cost, result_cost = move_tables(profile, topology, source, destination)
    tables = CostTables(input_cost, compute_table(profile, topology), forward_cost, result_cost,
                        profile.cum_exit(), profile.accuracy.copy())
    finite_costs(tables)
    return tables


def check_tables(tables) -> CostTables:
    """A CostTables from the user: numbers only, shapes checked against each other and against the engine's
    limits, costs finite (finite_costs); the engine checks the rest of the values.

    Parameters
    ----------
    tables : CostTables
        Tables of one's own.

    Returns
    -------
    CostTables
        float64, C-contiguous copies where needed.

    Raises
    ------
    TypeError
        Not a CostTables, or a table not of numbers.
    ValueError
        Shapes that disagree, a limit passed, a cost not finite.
    """
    if not isinstance(tables, CostTables):
        raise TypeError(f"tables: expected a CostTables, got {type(tables).__name__}")
    ndim = {"input_cost": 1, "compute_cost": 3, "forward_cost": 3, "result_cost": 1, "cum_exit": 2, "accuracy": 2}
    arrays = []
    for name, x in zip(CostTables._fields, tables):
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"tables.{name}: expected an array of numbers, got {arr.dtype}")
        if not 1 <= arr.ndim <= ndim[name] or (arr.ndim < ndim[name] and name != "accuracy"):
            raise ValueError(f"tables.{name}: expected {ndim[name]} dimensions, got shape {arr.shape}")
        arrays.append(np.ascontiguousarray(arr, dtype=np.float64))
    t = CostTables(*arrays)
    M, N, K = t.M, t.N, t.K
    count("tables.input_cost", M, MAX_TIERS, "tiers")
    count("tables.accuracy", N, MAX_BLOCKS, "blocks")
    count("tables.cum_exit", K, MAX_THRESHOLDS, "thresholds")
    want = {"input_cost": (M,), "compute_cost": (M, N + 1, N + 1), "forward_cost": (N, M, M),
            "result_cost": (M,), "cum_exit": (K, N + 1)}
    for name, shape in want.items():
        if getattr(t, name).shape != shape:
            raise ValueError(f"tables.{name}: expected shape {shape} (M={M}, N={N}, K={K}), got "
                             f"{getattr(t, name).shape}")
    if t.accuracy.ndim == 2 and t.accuracy.shape[0] != K:
        raise ValueError(f"tables.accuracy: expected shape ({N},) or ({K}, {N}), got {t.accuracy.shape}")
    finite_costs(t)
    return t
