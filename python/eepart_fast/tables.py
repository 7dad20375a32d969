"""The cost tables of the engine form (docs/model.md "Engine form"): the only thing every backend sees,
and the fillers that build them from a profile and a topology (docs/model.md "Fillers").

Each cost input is one filler of the same tables: measured compute fills compute_cost per tier,
(de)serialisation adds to the three move tables, the route rule fills the route matrices the move
tables read. A cost model of one's own builds a CostTables directly; every public function takes one.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .devices import running_sums
from .profile import Profile
from .topology import Topology


class CostTables(NamedTuple):
    """Seconds per sample that takes each step (docs/model.md "Engine form"); all float64, C-contiguous.

    forward_cost has N rows: row q-1 is block q's output. accuracy is (N,), entry i-1 the accuracy of
    branch i at every threshold, or (K, N), row t the accuracies at threshold t (a per-threshold
    estimator); every backend takes both, and an (N,) table gives the same bits as its rows repeated.
    """

    input_cost: np.ndarray  # (M,)
    compute_cost: np.ndarray  # (M, N+1, N+1), zero where p >= q
    forward_cost: np.ndarray  # (N, M, M)
    result_cost: np.ndarray  # (M,)
    cum_exit: np.ndarray  # (K, N+1)
    accuracy: np.ndarray  # (N,) or (K, N)

    @property
    def N(self) -> int:
        return self.accuracy.shape[-1]

    @property
    def M(self) -> int:
        return self.input_cost.shape[0]

    @property
    def K(self) -> int:
        return self.cum_exit.shape[0]


def block_sums(profile: Profile) -> np.ndarray:
    """(N+1, N+1): blocks p+1..q and branch q on the reference device, zero where p >= q."""
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
    """The tiers whose compute comes from their own measurements (ratio unused there)."""
    return [a for a in range(topology.M) if _device(profile, topology, a) is not None]


def compute_row(profile: Profile, topology: Topology, a: int, base: np.ndarray | None = None) -> np.ndarray:
    """compute_cost[a]: tier a's own measured partition times, or ratio[a] x the reference's block sums."""
    dev = _device(profile, topology, a)
    if dev is not None:
        return dev.partition
    return topology.ratio[a] * (block_sums(profile) if base is None else base)


def compute_table(profile: Profile, topology: Topology, base: np.ndarray | None = None) -> np.ndarray:
    """compute_cost (M, N+1, N+1); `base` (block_sums of the profile) when the caller has it already."""
    base = block_sums(profile) if base is None else base
    return np.ascontiguousarray(np.stack([compute_row(profile, topology, a, base) for a in range(topology.M)]))


def tensor_bits(profile: Profile) -> np.ndarray:
    """(N+2,): the bits of each tensor that may move: input, block 1..N outputs, result."""
    return np.concatenate([[profile.input_bits], profile.output_bits, [profile.result_bits]])


def serialisation(profile: Profile, topology: Topology):
    """(send, receive), each (M, N+2): seconds tier a spends serialising / deserialising each tensor
    (index as tensor_bits). A tier's device's per-tensor times where measured, else its per-bit time x bits."""
    bits = tensor_bits(profile)
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

def input_table(profile: Profile, topology: Topology, source: int, ser=None) -> np.ndarray:
    """input_cost; `ser` is serialisation(profile, topology) when the caller has it already."""
    pl, inv = topology.path_latency, topology.path_inv_bandwidth
    cost = pl[source, :] + profile.input_bits * inv[source, :]
    send, receive = ser or serialisation(profile, topology)
    if send.any() or receive.any():
        cost = cost + (np.arange(topology.M) != source) * (send[source, 0] + receive[:, 0])
    return np.ascontiguousarray(cost)


def forward_table(profile: Profile, topology: Topology, ser=None) -> np.ndarray:
    pl, inv = topology.path_latency, topology.path_inv_bandwidth
    cost = pl[None, :, :] + profile.output_bits[:, None, None] * inv[None, :, :]
    send, receive = ser or serialisation(profile, topology)
    if send.any() or receive.any():
        n = profile.N
        hop = send[:, 1:n + 1].T[:, :, None] + receive[:, 1:n + 1].T[:, None, :]  # (N, M, M): sender a, receiver b
        cost = cost + (1.0 - np.eye(topology.M))[None, :, :] * hop
    return np.ascontiguousarray(cost)


def result_table(profile: Profile, topology: Topology, destination: int, ser=None) -> np.ndarray:
    pl, inv = topology.path_latency, topology.path_inv_bandwidth
    cost = pl[:, destination] + profile.result_bits * inv[:, destination]
    send, receive = ser or serialisation(profile, topology)
    if send.any() or receive.any():
        n = profile.N
        cost = cost + (np.arange(topology.M) != destination) * (send[:, n + 1] + receive[destination, n + 1])
    return np.ascontiguousarray(cost)


def move_tables(profile: Profile, topology: Topology, source: int, destination: int):
    """input_cost, forward_cost, result_cost: the parts that depend on routes, (de)serialisation, source and
    destination."""
    ser = serialisation(profile, topology)
    return (input_table(profile, topology, source, ser), forward_table(profile, topology, ser),
            result_table(profile, topology, destination, ser))


def cost_tables(profile: Profile, topology: Topology, source=0, destination=0) -> CostTables:
    """The model in engine form, for samples produced at `source` and results due at `destination`.

    `source` and `destination` take a tier index or name.
    """
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
    source = topology.tier(source, "source")
    destination = topology.tier(destination, "destination")
    input_cost, forward_cost, result_cost = move_tables(profile, topology, source, destination)
    return CostTables(input_cost, compute_table(profile, topology), forward_cost, result_cost,
                      profile.cum_exit(), profile.accuracy.copy())


def check_tables(tables) -> CostTables:
    """A CostTables from the user, its shapes checked against each other (values are checked by the engine)."""
    if not isinstance(tables, CostTables):
        raise TypeError(f"tables: expected a CostTables, got {type(tables).__name__}")
    arrays = [np.ascontiguousarray(np.asarray(x, dtype=np.float64)) for x in tables]
    t = CostTables(*arrays)
    M, N, K = t.M, t.N, t.K
    want = {"input_cost": (M,), "compute_cost": (M, N + 1, N + 1), "forward_cost": (N, M, M),
            "result_cost": (M,), "cum_exit": (K, N + 1)}
    for name, shape in want.items():
        if getattr(t, name).shape != shape:
            raise ValueError(f"tables.{name}: expected shape {shape} (M={M}, N={N}, K={K}), got {getattr(t, name).shape}")
    if t.accuracy.ndim == 2 and t.accuracy.shape[0] != K:
        raise ValueError(f"tables.accuracy: expected shape ({N},) or ({K}, {N}), got {t.accuracy.shape}")
    return t
