"""evaluate and sweep: the public front of the engine, on profiles and topologies."""
from __future__ import annotations

import numpy as np

from ._checks import number
from .backends import get_backend, resolve
from .configs import pack_configs
from .configs import row_bytes as configs_row_bytes
from .profile import Profile
from .results import Evaluation, SweepResult
from .tables import cost_tables
from .topology import Topology

DEFAULT_MAX_MEMORY = 2 * 1024**3  # bytes of kept rows a sweep may hold


def _check_models(profile, topology):
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")


def _bound(name: str, value, default: float) -> float:
    if value is None:
        return default
    value = number(name, value)  # "0.2", True, 1j refused, never converted
    if np.isnan(value):
        raise ValueError(f"{name} = nan: must be a number")
    return value


def evaluate(profile, topology, configs, source=0, destination=0, backend: str = "auto") -> Evaluation:
    """Latency (s) and accuracy of each (t, P, A) in `configs` (P as block counts, A as tiers or names)."""
    _check_models(profile, topology)
    tables = cost_tables(profile, topology, source, destination)
    packed = pack_configs(configs, profile.N, topology.M, profile.K, tier=topology.tier)
    name = resolve(backend)
    if packed[0].shape[0] == 0:
        return Evaluation(np.zeros(0), np.zeros(0), name)
    latency, accuracy = get_backend(name).evaluate(tables, *packed)
    return Evaluation(np.asarray(latency), np.asarray(accuracy), name)


def row_bytes(profile, topology) -> int:
    """Memory one kept sweep row takes."""
    return configs_row_bytes(profile.N, topology.M)


def sweep(profile, topology, source=0, destination=0, max_latency=None, min_accuracy=None,
          backend: str = "auto", max_memory: int = DEFAULT_MAX_MEMORY) -> SweepResult:
    """Every configuration of SPEC, keeping the rows with latency <= max_latency (s) and
    accuracy >= min_accuracy. Stops with a ValueError if the kept rows would pass `max_memory` bytes."""
    _check_models(profile, topology)
    max_latency = _bound("max_latency", max_latency, np.inf)
    min_accuracy = _bound("min_accuracy", min_accuracy, -np.inf)
    if isinstance(max_memory, bool) or not isinstance(max_memory, (int, np.integer)) or max_memory <= 0:
        raise ValueError(f"max_memory = {max_memory!r}: must be a positive number of bytes")
    tables = cost_tables(profile, topology, source, destination)
    name = resolve(backend)
    max_rows = int(max_memory) // row_bytes(profile, topology)
    columns = get_backend(name).sweep(tables, max_latency=max_latency, min_accuracy=min_accuracy, max_rows=max_rows)
    return SweepResult(columns, profile.thresholds, topology.names, name)
