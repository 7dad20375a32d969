"""Tail latency from the profiler's per-sample records: a plan's latency when block times vary from run
to run (docs/model.md "Tail latency", "From the records").

The engine's quantile takes every step at its profiled time (one statistic of single runs). The records
hold more: each timed run's own block and branch times (`block_seconds`, `branch_seconds`, R runs × N).
A sample that leaves at partition k's exit, in a run whose times are run r's, takes

    ell_k(r) = input + sum_{j <= k} ratio[A_j] * (run r's blocks and branch of partition j) + forwards + result

so the latency is a mixture the records describe: exit k with share E_k, then run r with share 1/R. This
module evaluates it for given configurations (it is not searched: the search works on the tables). The
moves (input, forward, result, serialisation) are the tables' own; a tier with measured compute of its own
(`devices`) has no per-run records, and is refused.
"""
from __future__ import annotations

import numpy as np

from .._deprecated import positional
from ..io.records import load_records
from ..model.configs import pack_configs
from ..model.profile import Profile
from ..model.quantile import QUANTILE_SLACK, check_quantile
from ..model.tables import cost_tables, measured_tiers
from ..model.topology import Topology

MAX_ATOMS = 50_000_000  # exits x runs held at once for one configuration


def _runs(records, N: int):
    if not isinstance(records, dict):
        records = load_records(records)
    out = []
    for key in ("block_seconds", "branch_seconds"):
        if key not in records:
            raise ValueError(f"records: no {key!r} (per-run times); re-run `eepart profile` to record them")
        x = np.asarray(records[key])
        if x.dtype.kind not in "fiu" or x.ndim != 2 or x.shape[1] != N or x.shape[0] == 0:
            raise ValueError(f"records[{key!r}]: expected a (runs > 0, N = {N}) array of seconds, got shape "
                             f"{x.shape} of {x.dtype}")
        x = x.astype(np.float64)
        bad = np.argwhere(~np.isfinite(x) | (x < 0))
        if bad.size:
            r, i = bad[0]
            raise ValueError(f"records[{key!r}][{r}, {i}] = {float(x[r, i])!r}: must be a finite time >= 0")
        out.append(x)
    return out


@positional("source", "destination")
def record_latencies(profile: Profile, topology: Topology, configs, records, *, source=0, destination=0):
    """Per configuration, the latency of a sample leaving at each of its exits in each recorded run, and
    the share of samples leaving at each exit.

    Parameters
    ----------
    profile : Profile
        The profile the records were taken with.
    topology : Topology
        The tiers and links; no tier may compute with measurements of its own (`devices`).
    configs : sequence of (t, P, A)
        The configurations (A as tier indices or names).
    records : dict or path
        The per-run times (`block_seconds`, `branch_seconds`: runs x N seconds), as
        io.records.load_records returns them, or a <name>.samples.npz path.
    source, destination : int or str, default 0
        Where samples are produced and results must arrive.

    Returns
    -------
    list of tuple
        Per configuration, (latency (L, R) in seconds, share (L,)).

    Raises
    ------
    ValueError
        Records without per-run times, of the wrong shape, negative or not finite; a tier with measured
        compute; more than MAX_ATOMS latencies for one configuration.
    """
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
    measured = measured_tiers(profile, topology)
    if measured:
        a = measured[0]
        raise ValueError(f"topology.devices[{a}] = {topology.devices[a]!r}: a tier with measured compute has no "
                         "per-run records; record quantiles need ratio x the profile's own runs on every tier")
    blocks, branches = _runs(records, profile.N)
    R = blocks.shape[0]
    tables = cost_tables(profile, topology, source=source, destination=destination)
    t_idx, L_arr, P_arr, A_arr = pack_configs(configs, tables.N, tables.M, tables.K, tier=topology.tier)
    if int(L_arr.max(initial=0)) * R > MAX_ATOMS:
        raise ValueError(f"records: {R} runs x {int(L_arr.max())} exits is more than {MAX_ATOMS} latencies")
    out = []
    for t, L, P, A in zip(t_idx, L_arr, P_arr, A_arr):
        c = tables.cum_exit[t]
        clock = np.full(R, tables.input_cost[A[0]])
        ell = np.empty((L, R))
        share = np.empty(L)
        prev = 0
        for k in range(L):
            q, a = int(P[k]), int(A[k])
            # run r's blocks p+1..q summed from p (as the tables' block sums, not differences of prefix
            # sums, which lose the digits of short partitions after long ones), then branch q
            work = np.cumsum(blocks[:, prev:q], axis=1)[:, -1] + branches[:, q - 1]
            clock = clock + topology.ratio[a] * work
            ell[k] = clock + tables.result_cost[a]
            share[k] = (1.0 - c[prev]) if k == L - 1 else (c[q] - c[prev])
            if k + 1 < L:
                clock = clock + tables.forward_cost[q - 1, a, A[k + 1]]
            prev = q
        out.append((ell, share))
    return out


def mixture_quantile(latency: np.ndarray, share: np.ndarray, q: float) -> float:
    """The q-quantile of exits (rows of `latency`, weights `share`) each spread evenly over its runs.

    Parameters
    ----------
    latency : ndarray
        (exits, runs) seconds.
    share : ndarray
        (exits,) the share of samples leaving at each exit.
    q : float
        In (0, 1].

    Returns
    -------
    float
        Seconds.
    """
    q = check_quantile(q)
    R = latency.shape[1]
    weight = np.repeat(share / R, R)
    flat = latency.ravel()
    order = np.argsort(flat, kind="stable")
    mass = np.cumsum(weight[order])
    ok = (mass >= q - QUANTILE_SLACK) & (weight[order] > 0)
    return float(flat[order[np.argmax(ok)]]) if ok.any() else float(flat[weight > 0].max())


@positional("quantiles", "source", "destination")
def record_quantiles(profile: Profile, topology: Topology, configs, records, *, source=0, destination=0,
                     quantiles=(0.5, 0.9, 0.99, 1.0)) -> np.ndarray:
    """Each configuration's latency quantiles over the records' runs: each step at each run's own time
    (docs/model.md "From the records").

    Parameters
    ----------
    profile, topology, configs, records
        As for record_latencies.
    source, destination : int or str, default 0
        Where samples are produced and results must arrive.
    quantiles : sequence of float, default (0.5, 0.9, 0.99, 1.0)
        Each in (0, 1].

    Returns
    -------
    ndarray
        (configurations, quantiles) seconds.
    """
    qs = [check_quantile(q) for q in quantiles]
    return np.array([[mixture_quantile(ell, share, q) for q in qs]
                     for ell, share in record_latencies(profile, topology, configs, records, source=source,
                                                          destination=destination)])
