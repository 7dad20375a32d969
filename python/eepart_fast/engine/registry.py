"""Backend choice, in one place, per operation.

Every backend is a module with the operations of `Backend` on cost tables. `auto` takes, for each
operation, the first backend that can run here in that operation's order, fastest measured first:
`evaluate` and `sweep` run fastest on a GPU (cuda, then cupy; bench/results), `pareto` on the CPU (cuda's
layered search is slower than cpu on every measured row of bench/results/gpu_check_h100.md).
EEPART_FAST_BACKEND overrides auto for every operation.
"""
from __future__ import annotations

import importlib
import os
from typing import Protocol, runtime_checkable

ORDER = ("cuda", "cupy", "cpu", "numpy")
OPERATIONS = ("evaluate", "sweep", "pareto", "min_energy")
# Fastest measured first, per operation (bench/results/gpu_check_h100.md); min_energy only where it runs.
AUTO_ORDER = {
    "evaluate": ("cuda", "cupy", "cpu", "numpy"),
    "sweep": ("cuda", "cupy", "cpu", "numpy"),
    "pareto": ("cpu", "cuda", "numpy"),
    "min_energy": ("cpu", "numpy"),
}
ENV = "EEPART_FAST_BACKEND"
# The operations that take energy tables on some backends only, and those backends (docs/backends.md); auto
# asked for energy picks among them. Every backend's evaluate and sweep take energy tables; no search does
# on the GPU.
ENERGY = {"pareto": ("cpu", "numpy")}
_cache: dict = {}


@runtime_checkable
class Backend(Protocol):
    """What a backend module provides: each operation's signature, written once.

    Tables are a CostTables (docs/model.md "Engine form"); rows come back as columns: latency, accuracy,
    threshold_index, num_partitions, partitions, placement (-1 padded). `quantile` None: latency is the
    mean; q in (0, 1]: its q-quantile over the exits, and latency bounds apply to it (docs/model.md
    "Tail latency"); a bad q: TypeError / ValueError naming `quantile`, alike on every backend.
    The backends are modules (engine/backends/): numpy (the reference), cpu (the C++ core), cuda and
    cupy; `backends()` says which run here. A module's functions may take these options by position too
    (a wider signature still satisfies the Protocol); callers pass them by keyword.

    Parameters
    ----------
    *args, **kwargs
        None: a Protocol is never instantiated; ``isinstance(module, Backend)`` checks that a module
        provides available, evaluate, sweep, pareto and min_energy.

    Examples
    --------
    >>> from eepart_fast.engine.registry import get_backend
    >>> numpy_backend = get_backend("numpy")
    >>> isinstance(numpy_backend, ef.engine.Backend)
    True
    >>> tables = ef.cost_tables(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> rows = numpy_backend.pareto(tables, min_accuracy=0.92)
    >>> sorted(rows)
    ['accuracy', 'latency', 'num_partitions', 'partitions', 'placement', 'threshold_index']
    >>> bool((rows["accuracy"] >= 0.92).all())
    True
    """

    def available(self) -> tuple:
        """Whether this backend can run here; never raises.

        Returns
        -------
        tuple
            (True, why) or (False, why not): not built, no device, CuPy missing.
        """

    def evaluate(self, tables, threshold_index, num_partitions, partitions, placement, *, quantile=None,
                 threads=0, energy=None) -> tuple:
        """(latency, accuracy) of each configuration, and its energy with `energy`.

        Parameters
        ----------
        tables : CostTables
            The model in engine form.
        threshold_index, num_partitions : numpy.ndarray of int64, shape (n,)
            Each configuration's t and its number of partitions L.
        partitions, placement : numpy.ndarray of int64, shape (n, Lmax)
            Each configuration's P (block counts, strictly increasing) and A (tiers), -1 padded
            (`eepart_fast.model.configs.pack_configs` builds all four from (t, P, A) tuples).
        quantile : float, optional
            None: the mean latency; q in (0, 1]: its q-quantile (docs/model.md "Tail latency").
        threads : int
            CPU threads (0: all); a backend without threads does not take it.
        energy : EnergyTables, optional
            The energy tables (docs/model.md "Energy"), on every backend.

        Returns
        -------
        tuple
            (latency, accuracy), or (latency, accuracy, energy) with `energy`: float64 arrays of shape (n,),
            latency in seconds, energy in joules.
        """

    def sweep(self, tables, *, min_accuracy=..., max_latency=..., quantile=None, threads=0, max_rows=...,
              time_limit=..., max_energy=..., energy=None) -> dict:
        """Every configuration meeting the bounds, in canonical order.

        Parameters
        ----------
        tables : CostTables
            The model in engine form.
        min_accuracy : float
            Keep rows of at least this accuracy (-inf: no bound).
        max_latency : float
            Keep rows of at most this latency in seconds (inf: no bound); with `quantile`, of the quantile.
        quantile : float, optional
            As for `evaluate`.
        threads : int
            CPU threads (0: all).
        max_rows : int
            More kept rows than this: ValueError.
        time_limit : float
            Seconds (inf: none); TimeoutError once past it.
        max_energy : float
            Keep rows of at most this energy in joules (inf: no bound); needs `energy`.
        energy : EnergyTables, optional
            As for `evaluate`: the rows then have an energy column.

        Returns
        -------
        dict
            The columns latency, accuracy, threshold_index, num_partitions, partitions, placement (and
            energy with `energy`).
        """

    def pareto(self, tables, *, min_accuracy=..., max_latency=..., quantile=None, threads=0, max_memory=...,
               time_limit=..., max_energy=..., objectives=2, energy=None) -> dict:
        """The frontier of the configurations meeting the bounds.

        Parameters
        ----------
        tables : CostTables
            The model in engine form.
        min_accuracy, max_latency : float
            The bounds, as for `sweep`.
        quantile : float, optional
            As for `evaluate`; the frontier is then of (quantile latency, accuracy).
        threads : int
            CPU threads (0: all).
        max_memory : int
            Bytes the search may hold; a search that would need more: ValueError (cupy's memory is bounded
            by its window whatever it says).
        time_limit : float
            As for `sweep`.
        max_energy : float
            Plans of at most this energy in joules only (inf: no bound); needs `energy`, and the mean latency.
        objectives : {2, 3}
            2: the frontier of (latency, accuracy); 3: of (latency, accuracy, energy), as
            `frontier.frontier3_indices` gives it over the sweep, in its order (needs `energy`; the mean).
        energy : EnergyTables, optional
            The energy tables: the rows then have an energy column. cuda and cupy refuse energy
            (NotImplementedError).

        Returns
        -------
        dict
            The frontier's rows, latency rising, as `sweep`'s columns (and "energy" with `energy`).
        """

    def min_energy(self, tables, *, min_accuracy=..., max_latency=..., threads=0, max_memory=..., time_limit=...,
                   energy=None) -> dict:
        """The plan of least energy meeting the bounds (docs/model.md "Energy"): the first point of the
        frontier of (energy, accuracy) of the plans with accuracy >= min_accuracy and mean latency <=
        max_latency.

        Parameters
        ----------
        tables : CostTables
            The model in engine form.
        min_accuracy, max_latency : float
            The bounds, as for `sweep` (the latency is the mean).
        threads, max_memory, time_limit
            As for `pareto`.
        energy : EnergyTables
            The energy tables (required; cuda and cupy refuse them: NotImplementedError).

        Returns
        -------
        dict
            `pareto`'s columns with "energy": one row, or none when no plan meets the bounds.
        """


def _probe(name: str):
    if name not in _cache:
        try:
            module = importlib.import_module(f".backends.{name}", __package__)
            ok, reason = module.available()
            if not isinstance(module, Backend):
                missing = [op for op in ("available", *OPERATIONS) if not hasattr(module, op)]
                ok, reason = False, f"incomplete backend: no {', '.join(missing)}"
        except Exception as exc:  # an optional backend must never break the others
            module, ok, reason = None, False, f"failed to load: {exc}"
        _cache[name] = (module, bool(ok), str(reason))
    return _cache[name]


def backends() -> dict:
    """Each backend with whether it can run here and, if not, why (not built, no device, CuPy missing),
    and the operations `auto` sends to it here.

    `auto` takes, per operation, the first backend that runs here in that operation's order, fastest
    measured first; the environment variable EEPART_FAST_BACKEND overrides it for every operation.

    Returns
    -------
    dict
        name -> {"available": bool, "reason": str, "auto_for": list of operations}, for cuda, cupy, cpu
        and numpy.

    Examples
    --------
    >>> info = ef.backends()
    >>> sorted(info)
    ['cpu', 'cuda', 'cupy', 'numpy']
    >>> info["numpy"]["available"], info["numpy"]["reason"]
    (True, 'always available')
    """
    auto = {op: _auto(op) for op in OPERATIONS}
    return {name: {"available": _probe(name)[1], "reason": _probe(name)[2],
                   "auto_for": [op for op in OPERATIONS if auto[op] == name]} for name in ORDER}


def _auto(operation: str, energy: bool = False) -> str:
    return next(name for name in AUTO_ORDER[operation]
                if _probe(name)[1] and (not energy or name in ENERGY.get(operation, ORDER)))


def resolve(backend: str = "auto", operation: str = "evaluate", energy: bool = False) -> str:
    """The backend name that `backend` stands for here for `operation`; a requested backend that cannot
    run is an error.

    Parameters
    ----------
    backend : str
        "auto" (EEPART_FAST_BACKEND if set, else the fastest that runs here for `operation`), or one of
        cuda, cupy, cpu, numpy.
    operation : {"evaluate", "sweep", "pareto", "min_energy"}
        Which operation auto chooses for.
    energy : bool
        Whether the call asks for energy: auto then picks among the backends that have it (ENERGY).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        An unknown backend (or EEPART_FAST_BACKEND), or one that cannot run here (with why).
    TypeError
        `backend` not a string.
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend: expected a string, got {type(backend).__name__}")
    if operation not in OPERATIONS:
        raise ValueError(f"operation = {operation!r}: one of {', '.join(OPERATIONS)}")
    if backend == "auto":
        forced = os.environ.get(ENV, "").strip()
        if forced and forced != "auto":
            if forced not in ORDER:
                raise ValueError(f"{ENV} = {forced!r}: unknown backend; choose one of auto, {', '.join(ORDER)}")
            backend = forced
        else:
            return _auto(operation, energy)
    if backend not in ORDER:
        raise ValueError(f"backend = {backend!r}: unknown; choose one of auto, {', '.join(ORDER)}")
    module, ok, reason = _probe(backend)
    if not ok:
        raise ValueError(f"backend = {backend!r} is not available here: {reason}")
    return backend


def get_backend(backend: str = "auto", operation: str = "evaluate") -> Backend:
    """The module implementing the operations on cost tables for `backend` (auto: for `operation`).

    Parameters
    ----------
    backend : str
        As for `resolve`.
    operation : {"evaluate", "sweep", "pareto", "min_energy"}
        As for `resolve`.

    Returns
    -------
    Backend
        The backend's module.
    """
    return _probe(resolve(backend, operation))[0]
