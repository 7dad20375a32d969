"""Configurations (t, P, A) of docs/model.md: checked one by one, then packed into arrays for the backends."""
from __future__ import annotations

from math import comb, perm

import numpy as np

from .._checks import integer


def count_by_partitions(N: int, M: int) -> list:
    """Configurations per threshold with L = 1 .. min(M, N) partitions: C(N, L) * M!/(M-L)!, exactly.

    Parameters
    ----------
    N, M : int
        Blocks and tiers.

    Returns
    -------
    list of int
        Entry L-1 for L partitions.
    """
    return [comb(N, L) * perm(M, L) for L in range(1, min(M, N) + 1)]


def count_configurations(N: int, M: int, K: int) -> int:
    """The number of configurations (t, P, A): K * sum_{L=1}^{min(M,N)} C(N, L) * M!/(M-L)!, exactly.

    Parameters
    ----------
    N : int
        Blocks.
    M : int
        Tiers.
    K : int
        Thresholds.

    Returns
    -------
    int
        An exact Python integer (no overflow, however large).

    Examples
    --------
    >>> ef.count_configurations(10, 4, 20)
    170000
    >>> ef.count_configurations(2, 2, 1)  # L=1: 2 cuts x 2 tiers; L=2: 1 x 2 orders
    6
    """
    return K * sum(count_by_partitions(N, M))


def row_bytes(N: int, M: int) -> int:
    """Memory of one result row: latency and accuracy (float64), t and L (int32), P and A (int32 per slot).

    Parameters
    ----------
    N, M : int
        Blocks and tiers (a row has min(N, M) slots).

    Returns
    -------
    int
        Bytes.
    """
    return 8 + 8 + 4 + 4 + 8 * min(N, M)


def pack_configs(configs, N: int, M: int, K: int, tier=None):
    """Checks every (t, P, A) against the rules of docs/model.md and returns int64 arrays
    (threshold_index (n,), num_partitions (n,), partitions (n, Lmax), placement (n, Lmax)), -1 padded.

    `tier(value, field=...)` turns a tier name into its index (Topology.tier); without it, only indices pass.

    Parameters
    ----------
    configs : iterable of (t, P, A)
        Each configuration: threshold index t, block counts P (strictly increasing, 1..N), tiers A (one
        per partition, each once).
    N, M, K : int
        Blocks, tiers, thresholds.
    tier : callable, optional
        Topology.tier, to accept tier names in A.

    Returns
    -------
    tuple of numpy.ndarray
        threshold_index (n,), num_partitions (n,), partitions (n, Lmax), placement (n, Lmax); int64.

    Raises
    ------
    TypeError
        A configuration that is not a (t, P, A) tuple, or non-integer entries.
    ValueError
        A rule of docs/model.md broken; the message names the configuration and entry.
    """
    if isinstance(configs, (str, bytes)) or not hasattr(configs, "__iter__"):
        raise TypeError(f"configs: expected a list of (t, P, A) tuples, got {type(configs).__name__}")
    configs = list(configs)
    lmax_allowed = min(M, N)
    rows = []
    for i, cfg in enumerate(configs):
        where = f"configs[{i}]"
        try:
            t, P, A = cfg
        except (TypeError, ValueError):
            raise TypeError(f"{where}: expected a (t, P, A) tuple, got {cfg!r}") from None
        t = integer(f"{where}.t", t)
        if not 0 <= t < K:
            raise ValueError(f"{where}.t = {t}: threshold index out of range 0..{K - 1}")
        if isinstance(P, (str, bytes)) or not hasattr(P, "__iter__"):
            raise TypeError(f"{where}.P: expected a list of block counts, got {P!r}")
        if isinstance(A, (str, bytes)) or not hasattr(A, "__iter__"):
            raise TypeError(f"{where}.A: expected a list of tiers, got {A!r}")
        P = [integer(f"{where}.P[{k}]", p) for k, p in enumerate(P)]
        A = [tier(a, field=f"{where}.A[{k}]") if tier else integer(f"{where}.A[{k}]", a) for k, a in enumerate(A)]
        L = len(P)
        if not 1 <= L <= lmax_allowed:
            raise ValueError(f"{where}.P = {P}: L = {L} partitions, must be in 1..min(M, N) = {lmax_allowed}")
        if len(A) != L:
            raise ValueError(f"{where}.A = {A}: {len(A)} tiers for {L} partitions")
        for k, p in enumerate(P):
            if not 1 <= p <= N:
                raise ValueError(f"{where}.P[{k}] = {p}: block counts must be in 1..N = {N}")
            if k and p <= P[k - 1]:
                raise ValueError(f"{where}.P[{k}] = {p}: must be > P[{k - 1}] = {P[k - 1]} (strictly increasing)")
        for k, a in enumerate(A):
            if not 0 <= a < M:
                raise ValueError(f"{where}.A[{k}] = {a}: tier index out of range 0..{M - 1}")
            if a in A[:k]:
                raise ValueError(f"{where}.A[{k}] = {a}: tier repeated (each partition needs its own tier)")
        rows.append((t, P, A))
    n = len(rows)
    lmax = max((len(P) for _, P, _ in rows), default=1)
    threshold_index = np.empty(n, dtype=np.int64)
    num_partitions = np.empty(n, dtype=np.int64)
    partitions = np.full((n, lmax), -1, dtype=np.int64)
    placement = np.full((n, lmax), -1, dtype=np.int64)
    for i, (t, P, A) in enumerate(rows):
        threshold_index[i] = t
        num_partitions[i] = len(P)
        partitions[i, : len(P)] = P
        placement[i, : len(A)] = A
    return threshold_index, num_partitions, partitions, placement
