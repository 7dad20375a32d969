"""evaluate and sweep: the public front of the engine, on profiles and topologies or on CostTables."""
from __future__ import annotations

import importlib
import warnings

import numpy as np

from .._checks import bound
from .._checks import threads as _threads
from .._checks import time_limit as check_time_limit
from .._deprecated import REMOVED_IN, positional
from ..engine.registry import get_backend, resolve
from ..io.results import Evaluation, SweepResult
from ..model.configs import pack_configs
from ..model.configs import row_bytes as configs_row_bytes
from ..model.quantile import check_quantile
from ..model.tables import CostTables, check_tables, cost_tables
from ..model.topology import Topology
from ._state import _check_models

# The compiled core's constants and checks (one definition, in C++), loaded by name as engine/backends/cpu.py
# loads it: grimp sees no compiled module, so an import statement would read as one of the whole package.
_core = importlib.import_module("eepart_fast._core")

DEFAULT_MAX_MEMORY = _core.DEFAULT_MAX_MEMORY  # bytes of kept rows a sweep may hold


def _tables(profile, topology, source, destination):
    """(tables, thresholds, tier names, tier lookup) from the models or from a CostTables."""
    if isinstance(profile, CostTables):
        if topology is not None:
            raise TypeError("topology: not used with CostTables (the tables hold the routes)")
        tables = check_tables(profile)
        return tables, None, [f"tier {j}" for j in range(tables.M)], None
    _check_models(profile, topology)
    tables = cost_tables(profile, topology, source=source, destination=destination)
    return tables, profile.thresholds, topology.names, topology.tier


@positional("configs", "source", "destination", "backend", "quantile")
def evaluate(profile, topology=None, *, source=0, destination=0, configs=None, quantile=None,
             backend: str = "auto", threads: int = 0) -> Evaluation:
    """Latency (s) and accuracy of each given configuration (t, P, A).

    Parameters
    ----------
    profile : Profile or CostTables
        The profile, or the cost tables (then `topology` is omitted).
    topology : Topology, optional
        The tiers and links (required with a Profile).
    source, destination : int or str, default 0
        Where samples are produced and results must arrive (tier index or name).
    configs : sequence of (t, P, A)
        Required. t a threshold index, P the partitions' end blocks (rising), A their tiers (indices or
        names).
    quantile : float, optional
        None: the latency is the mean over samples; q in (0, 1]: its q-quantile (0.99: p99;
        docs/model.md "Tail latency").
    backend : str, default "auto"
        The backend that evaluates.
    threads : int, default 0
        CPU threads, where the backend takes them (0: one per core).

    Returns
    -------
    Evaluation
        `latency` (s) and `accuracy`, one entry per configuration.

    Raises
    ------
    TypeError, ValueError
        No `configs`, or a configuration that is not one of the model's.

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> r = ef.evaluate(profile, topology, configs=[(0, [6], [1]), (0, [10], ["cloud"])])
    >>> np.round(r.latency, 4).tolist(), np.round(r.accuracy, 4).tolist()
    ([0.094, ...], [0.9129, ...])
    """
    q = None if quantile is None else check_quantile(quantile)
    if isinstance(profile, CostTables) and configs is None and topology is not None \
            and not isinstance(topology, Topology):
        warnings.warn("evaluate(tables, configs): pass configs by keyword (configs=...); positional use is "
                      f"removed in {REMOVED_IN}", DeprecationWarning, stacklevel=3)
        topology, configs = None, topology
    if configs is None:
        raise TypeError("configs: required")
    threads = _threads(threads)
    tables, _, _, tier = _tables(profile, topology, source, destination)
    packed = pack_configs(configs, tables.N, tables.M, tables.K, tier=tier)
    name = resolve(backend, "evaluate")
    if packed[0].shape[0] == 0:
        return Evaluation(np.zeros(0), np.zeros(0), quantile=q, backend=name)
    module = get_backend(name)
    latency, accuracy = module.evaluate(tables, *packed, quantile=q, threads=threads)
    return Evaluation(np.asarray(latency), np.asarray(accuracy), quantile=q, backend=name)


def row_bytes(profile, topology=None) -> int:
    """Memory one kept sweep row takes."""
    if isinstance(profile, CostTables):
        return configs_row_bytes(profile.N, profile.M)
    return configs_row_bytes(profile.N, topology.M)


@positional("source", "destination", "max_latency", "min_accuracy", "backend", "max_memory", "time_limit",
            "quantile")
def sweep(profile, topology=None, *, source=0, destination=0, min_accuracy=None, max_latency=None, quantile=None,
          backend: str = "auto", threads: int = 0, max_memory: int = DEFAULT_MAX_MEMORY,
          time_limit=None) -> SweepResult:
    """Every configuration (docs/model.md), keeping the rows with latency <= max_latency (s) and
    accuracy >= min_accuracy.

    Parameters
    ----------
    profile : Profile or CostTables
        The profile, or the cost tables (then `topology` is omitted).
    topology : Topology, optional
        The tiers and links (required with a Profile).
    source, destination : int or str, default 0
        Where samples are produced and results must arrive (tier index or name).
    min_accuracy : float, optional
        Keep rows at least this accurate (None: no bound).
    max_latency : float, optional
        Keep rows at most this slow (s; None: no bound). An integer too large for a float (10**400) is
        +inf, as it compares.
    quantile : float, optional
        None: the latency column and max_latency are the mean; q in (0, 1]: the q-quantile of each
        configuration's latency.
    backend : str, default "auto"
        The backend that sweeps.
    threads : int, default 0
        CPU threads, where the backend takes them (0: one per core).
    max_memory : int, default 2 GiB
        Bytes the kept rows may take.
    time_limit : float, optional
        Seconds (None: no limit).

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        The kept rows would pass `max_memory` bytes, or a bound is nan.
    TimeoutError
        The sweep ran past `time_limit`.

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> rows = ef.sweep(profile, topology, min_accuracy=0.92, max_latency=0.2)
    >>> bool((rows.latency <= 0.2).all() and (rows.accuracy >= 0.92).all())
    True
    """
    q = None if quantile is None else check_quantile(quantile)
    max_latency = bound("max_latency", max_latency, default=np.inf)
    min_accuracy = bound("min_accuracy", min_accuracy, default=-np.inf)
    time_limit = check_time_limit(time_limit)
    threads = _threads(threads)
    max_memory = _core.check_max_memory(max_memory)
    tables, thresholds, names, _ = _tables(profile, topology, source, destination)
    name = resolve(backend, "sweep")
    max_rows = max_memory // row_bytes(tables)
    module = get_backend(name)
    columns = module.sweep(tables, max_latency=max_latency, min_accuracy=min_accuracy, max_rows=max_rows,
                           time_limit=time_limit, quantile=q, threads=threads)
    if thresholds is None:  # bare tables: thresholds known by index only
        thresholds = np.arange(tables.K, dtype=np.float64)
    return SweepResult(columns, thresholds, names, quantile=q, backend=name, tables=tables)
