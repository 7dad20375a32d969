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
OPERATIONS = ("evaluate", "sweep", "pareto")
# Fastest measured first, per operation (bench/results/gpu_check_h100.md).
AUTO_ORDER = {
    "evaluate": ("cuda", "cupy", "cpu", "numpy"),
    "sweep": ("cuda", "cupy", "cpu", "numpy"),
    "pareto": ("cpu", "cuda", "numpy"),
}
ENV = "EEPART_FAST_BACKEND"
_cache: dict = {}


@runtime_checkable
class Backend(Protocol):
    """What a backend module provides: each operation's signature, written once.

    Tables are a CostTables (docs/model.md "Engine form"); rows come back as columns: latency, accuracy,
    threshold_index, num_partitions, partitions, placement (-1 padded). `quantile` None: latency is the
    mean; q in (0, 1]: its q-quantile over the exits, and latency bounds apply to it (docs/model.md
    "Tail latency"); a bad q: TypeError / ValueError naming `quantile`, alike on every backend."""

    def available(self) -> tuple:
        """(True, why) or (False, why not); never raises."""

    def evaluate(self, tables, threshold_index, num_partitions, partitions, placement, threads=0,
                 quantile=None) -> tuple:
        """(latency, accuracy) of each configuration. `quantile` None: the mean latency; q in (0, 1]: its
        q-quantile (docs/model.md "Tail latency"), for every operation and its latency bound."""

    def sweep(self, tables, max_latency=..., min_accuracy=..., max_rows=..., threads=0, time_limit=...,
              quantile=None) -> dict:
        """Every configuration meeting the bounds, in canonical order. More than `max_rows` kept rows:
        ValueError. `time_limit` (seconds, inf: none): TimeoutError once past it."""

    def pareto(self, tables, min_accuracy=..., max_latency=..., threads=0, max_memory=..., time_limit=...,
               quantile=None) -> dict:
        """The frontier of the configurations meeting the bounds. A search that would need more than
        `max_memory` bytes: ValueError (cupy's memory is bounded by its window whatever it says).
        `time_limit` as for sweep."""


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
    and the operations `auto` sends to it here."""
    auto = {op: _auto(op) for op in OPERATIONS}
    return {name: {"available": _probe(name)[1], "reason": _probe(name)[2],
                   "auto_for": [op for op in OPERATIONS if auto[op] == name]} for name in ORDER}


def _auto(operation: str) -> str:
    return next(name for name in AUTO_ORDER[operation] if _probe(name)[1])


def resolve(backend: str = "auto", operation: str = "evaluate") -> str:
    """The backend name that `backend` stands for here for `operation`; a requested backend that cannot
    run is an error."""
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
            return _auto(operation)
    if backend not in ORDER:
        raise ValueError(f"backend = {backend!r}: unknown; choose one of auto, {', '.join(ORDER)}")
    module, ok, reason = _probe(backend)
    if not ok:
        raise ValueError(f"backend = {backend!r} is not available here: {reason}")
    return backend


def get_backend(backend: str = "auto", operation: str = "evaluate") -> Backend:
    """The module implementing the operations on cost tables for `backend` (auto: for `operation`)."""
    return _probe(resolve(backend, operation))[0]
