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
from ..model.energy import check_energy_tables, energy_tables
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


def _energy(profile, topology, tables, source, destination, energy, energy_tiers):
    """The energy tables asked for: `energy` checked against the cost tables, or filled from the models
    counting `energy_tiers`; None when neither is given."""
    if energy is not None and energy_tiers is not None:
        raise TypeError("energy and energy_tiers: give one (the energy tables, or whose energy the filler counts)")
    if energy is not None:
        return check_energy_tables(energy, tables.M, tables.N)
    if energy_tiers is None:
        return None
    if isinstance(profile, CostTables):
        raise TypeError("energy_tiers: needs a Profile and a Topology; with CostTables give energy= (EnergyTables)")
    return energy_tables(profile, topology, source=source, destination=destination, energy_tiers=energy_tiers)


@positional("configs", "source", "destination", "backend", "quantile")
def evaluate(profile, topology=None, *, source=0, destination=0, configs=None, quantile=None,
             backend: str = "auto", threads: int = 0, energy=None, energy_tiers=None) -> Evaluation:
    """Latency (s) and accuracy of each given configuration (t, P, A), and with energy tables its energy (J).

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
        The backend that evaluates (every backend takes energy tables; docs/backends.md).
    threads : int, default 0
        CPU threads, where the backend takes them (0: one per core).
    energy : EnergyTables, optional
        Energy tables of the same tiers and blocks (docs/model.md "Energy"): `energy` is evaluated too.
    energy_tiers : "source", "all" or list of (int or str), optional
        With a Profile and Topology: fill the energy tables from the topology's powers and radios, counting
        these tiers' energy (`eepart_fast.model.energy_tables`). Give `energy` or this, not both.

    Returns
    -------
    Evaluation
        `latency` (s), `accuracy` and, with energy tables, `energy` (J), one entry per configuration.

    Raises
    ------
    TypeError, ValueError
        No `configs`, or a configuration that is not one of the model's; bad energy tables (named by table
        and entry), or `energy` and `energy_tiers` together.

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> r = ef.evaluate(profile, topology, configs=[(0, [6], [1]), (0, [10], ["cloud"])])
    >>> np.round(r.latency, 4).tolist(), np.round(r.accuracy, 4).tolist()
    ([0.094, ...], [0.9129, ...])

    The watch's battery (the source's energy, J per sample) on the chain with radio and power presets:

    >>> watch = ef.Topology.preset("mobile-energy")
    >>> e = ef.evaluate(profile, watch, configs=[(0, [10], [0]), (0, [10], ["cloud"])], energy_tiers="source")
    >>> np.round(e.energy, 4).tolist()  # on the watch: no radio, and the watch's own power is not known
    [0.0, 0.0387]
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
    joules = _energy(profile, topology, tables, source, destination, energy, energy_tiers)
    packed = pack_configs(configs, tables.N, tables.M, tables.K, tier=tier)
    name = resolve(backend, "evaluate", energy=joules is not None)
    if packed[0].shape[0] == 0:
        return Evaluation(np.zeros(0), np.zeros(0), quantile=q, backend=name,
                          energy=None if joules is None else np.zeros(0))
    module = get_backend(name)
    extra = {} if joules is None else {"energy": joules}
    latency, accuracy, *spent = module.evaluate(tables, *packed, quantile=q, threads=threads, **extra)
    return Evaluation(np.asarray(latency), np.asarray(accuracy), quantile=q, backend=name,
                      energy=np.asarray(spent[0]) if spent else None)


def row_bytes(profile, topology=None, energy: bool = False) -> int:
    """Memory one kept sweep row takes (8 bytes more with an energy column)."""
    extra = 8 if energy else 0
    if isinstance(profile, CostTables):
        return configs_row_bytes(profile.N, profile.M) + extra
    return configs_row_bytes(profile.N, topology.M) + extra


@positional("source", "destination", "max_latency", "min_accuracy", "backend", "max_memory", "time_limit",
            "quantile")
def sweep(profile, topology=None, *, source=0, destination=0, min_accuracy=None, max_latency=None, quantile=None,
          backend: str = "auto", threads: int = 0, max_memory: int = DEFAULT_MAX_MEMORY,
          time_limit=None, max_energy=None, energy=None, energy_tiers=None) -> SweepResult:
    """Every configuration (docs/model.md), keeping the rows with latency <= max_latency (s) and
    accuracy >= min_accuracy, and with energy tables an energy column (J) and rows with energy <= max_energy.

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
        The backend that sweeps (every backend takes energy tables; docs/backends.md).
    threads : int, default 0
        CPU threads, where the backend takes them (0: one per core).
    max_memory : int, default 2 GiB
        Bytes the kept rows may take.
    time_limit : float, optional
        Seconds (None: no limit).
    max_energy : float, optional
        Keep rows spending at most this many joules per sample (None: no bound); needs energy tables.
    energy : EnergyTables, optional
        As for `evaluate`: the rows get an `energy` column.
    energy_tiers : "source", "all" or list of (int or str), optional
        As for `evaluate`: fill the energy tables from the topology, counting these tiers.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        The kept rows would pass `max_memory` bytes, a bound is nan, `max_energy` without energy tables, or
        bad energy tables.
    TimeoutError
        The sweep ran past `time_limit`.

    Examples
    --------
    >>> profile, topology = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> rows = ef.sweep(profile, topology, min_accuracy=0.92, max_latency=0.2)
    >>> bool((rows.latency <= 0.2).all() and (rows.accuracy >= 0.92).all())
    True

    The plans that spend at most 0.02 J of the watch's battery per sample:

    >>> frugal = ef.sweep(profile, ef.Topology.preset("mobile-energy"), max_energy=0.02, energy_tiers="source")
    >>> bool((frugal.energy <= 0.02).all()) and len(frugal) > 0
    True
    """
    q = None if quantile is None else check_quantile(quantile)
    max_latency = bound("max_latency", max_latency, default=np.inf)
    min_accuracy = bound("min_accuracy", min_accuracy, default=-np.inf)
    max_energy = bound("max_energy", max_energy, default=np.inf)
    time_limit = check_time_limit(time_limit)
    threads = _threads(threads)
    max_memory = _core.check_max_memory(max_memory)
    tables, thresholds, names, _ = _tables(profile, topology, source, destination)
    joules = _energy(profile, topology, tables, source, destination, energy, energy_tiers)
    if joules is None and max_energy != np.inf:
        raise ValueError(f"max_energy = {max_energy:g}: needs energy tables (energy= or energy_tiers=)")
    name = resolve(backend, "sweep", energy=joules is not None)
    max_rows = max_memory // row_bytes(tables, energy=joules is not None)
    module = get_backend(name)
    extra = {} if joules is None else {"energy": joules, "max_energy": max_energy}
    columns = module.sweep(tables, max_latency=max_latency, min_accuracy=min_accuracy, max_rows=max_rows,
                           time_limit=time_limit, quantile=q, threads=threads, **extra)
    if thresholds is None:  # bare tables: thresholds known by index only
        thresholds = np.arange(tables.K, dtype=np.float64)
    return SweepResult(columns, thresholds, names, quantile=q, backend=name, tables=tables)
