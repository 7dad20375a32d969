"""evaluate and sweep: the public front of the engine, on profiles and topologies or on CostTables."""
from __future__ import annotations

import numpy as np

from . import _core
from ._checks import number
from ._checks import time_limit as check_time_limit
from .backends import get_backend, resolve
from .configs import pack_configs
from .configs import row_bytes as configs_row_bytes
from .profile import Profile
from .quantile import check_quantile
from .results import Evaluation, SweepResult
from .tables import CostTables, check_tables, cost_tables
from .topology import Topology

DEFAULT_MAX_MEMORY = _core.DEFAULT_MAX_MEMORY  # bytes of kept rows a sweep may hold


def _check_models(profile, topology):
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile or CostTables, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")


def _tables(profile, topology, source, destination):
    """(tables, thresholds, tier names, tier lookup) from the models or from a CostTables."""
    if isinstance(profile, CostTables):
        if topology is not None:
            raise TypeError("topology: not used with CostTables (the tables hold the routes)")
        tables = check_tables(profile)
        return tables, None, [f"tier {j}" for j in range(tables.M)], None
    _check_models(profile, topology)
    return cost_tables(profile, topology, source, destination), profile.thresholds, topology.names, topology.tier


def _bound(name: str, value, default: float) -> float:
    if value is None:
        return default
    value = number(name, value)  # "0.2", True, 1j refused, never converted
    if np.isnan(value):
        raise ValueError(f"{name} = nan: must be a number")
    return value


def evaluate(profile, topology=None, configs=None, source=0, destination=0, backend: str = "auto",
             quantile=None) -> Evaluation:
    """Latency (s) and accuracy of each (t, P, A) in `configs` (P as end blocks, A as tiers or names), on
    (profile, topology) or on a CostTables: `evaluate(tables, configs)`. The latency is the mean over
    samples, or with `quantile` = q in (0, 1] its q-quantile (0.99: p99; docs/model.md "Tail latency")."""
    q = None if quantile is None else check_quantile(quantile)
    if isinstance(profile, CostTables) and configs is None and not isinstance(topology, Topology):
        topology, configs = None, topology
    if configs is None:
        raise TypeError("configs: required")
    tables, _, _, tier = _tables(profile, topology, source, destination)
    packed = pack_configs(configs, tables.N, tables.M, tables.K, tier=tier)
    name = resolve(backend, "evaluate")
    if packed[0].shape[0] == 0:
        return Evaluation(np.zeros(0), np.zeros(0), name, quantile=q)
    latency, accuracy = get_backend(name).evaluate(tables, *packed, quantile=q)
    return Evaluation(np.asarray(latency), np.asarray(accuracy), name, quantile=q)


def row_bytes(profile, topology=None) -> int:
    """Memory one kept sweep row takes."""
    if isinstance(profile, CostTables):
        return configs_row_bytes(profile.N, profile.M)
    return configs_row_bytes(profile.N, topology.M)


def sweep(profile, topology=None, source=0, destination=0, max_latency=None, min_accuracy=None,
          backend: str = "auto", max_memory: int = DEFAULT_MAX_MEMORY, time_limit=None, quantile=None) -> SweepResult:
    """Every configuration (docs/model.md), keeping the rows with latency <= max_latency (s) and
    accuracy >= min_accuracy, on (profile, topology) or on a CostTables. Stops with a ValueError if the
    kept rows would pass `max_memory` bytes, and with a TimeoutError once past `time_limit` seconds
    (None: no limit). With `quantile` = q in (0, 1], the latency column and max_latency are the
    q-quantile of each configuration's latency instead of its mean."""
    q = None if quantile is None else check_quantile(quantile)
    max_latency = _bound("max_latency", max_latency, np.inf)
    min_accuracy = _bound("min_accuracy", min_accuracy, -np.inf)
    time_limit = check_time_limit(time_limit)
    max_memory = _core.check_max_memory(max_memory)
    tables, thresholds, names, _ = _tables(profile, topology, source, destination)
    name = resolve(backend, "sweep")
    max_rows = max_memory // row_bytes(tables)
    columns = get_backend(name).sweep(tables, max_latency=max_latency, min_accuracy=min_accuracy, max_rows=max_rows,
                                      time_limit=time_limit, quantile=q)
    if thresholds is None:  # bare tables: thresholds known by index only
        thresholds = np.arange(tables.K, dtype=np.float64)
    return SweepResult(columns, thresholds, names, name, quantile=q, tables=tables)
