"""The cost tables of SPEC's engine form: the only thing every backend sees."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import finite_costs
from .profile import Profile
from .topology import Topology


class CostTables(NamedTuple):
    """Seconds per sample that takes each step (SPEC "Engine form"); all float64, C-contiguous.

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
    n = profile.N
    base = np.zeros((n + 1, n + 1))
    for p in range(n):
        # A running sum from p, not a difference of prefix sums: short spans after long ones keep their digits.
        base[p, p + 1:] = np.cumsum(profile.block_time[p:]) + profile.branch_time[p:]
    return base


def compute_table(profile: Profile, ratio: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # an overflow is refused, with its place, by finite_costs
        return np.ascontiguousarray(ratio[:, None, None] * block_sums(profile)[None, :, :])


def move_tables(profile: Profile, topology: Topology, source: int, destination: int):
    """input_cost, forward_cost, result_cost: the parts that depend on links, source and destination."""
    pl, inv = topology.path_latency, topology.path_inv_bandwidth
    with np.errstate(over="ignore"):  # an overflow is refused, with its place, by finite_costs
        return _move_tables(profile, pl, inv, source, destination)


def _move_tables(profile: Profile, pl, inv, source: int, destination: int):
    input_cost = pl[source, :] + profile.input_bits * inv[source, :]
    forward_cost = pl[None, :, :] + profile.output_bits[:, None, None] * inv[None, :, :]
    result_cost = pl[:, destination] + profile.result_bits * inv[:, destination]
    return (np.ascontiguousarray(input_cost), np.ascontiguousarray(forward_cost),
            np.ascontiguousarray(result_cost))


def cost_tables(profile: Profile, topology: Topology, source=0, destination=0) -> CostTables:
    """The paper's model in engine form, for samples produced at `source` and results due at `destination`.

    `source` and `destination` take a tier index or name.
    """
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
    source = topology.tier(source, "source")
    destination = topology.tier(destination, "destination")
    input_cost, forward_cost, result_cost = move_tables(profile, topology, source, destination)
    tables = CostTables(input_cost, compute_table(profile, topology.ratio), forward_cost, result_cost,
                        profile.cum_exit(), profile.accuracy.copy())
    finite_costs(tables)
    return tables
