"""The compiled GPU engine (built where nvcc is found). Private: use `eepart_fast` with backend='cuda'.
Same Tables, evaluate / sweep / pareto as `_core`, on the device; device_count() and device_name() never
raise."""
from collections.abc import Sequence
from typing import Any

import numpy.typing as npt

from ._core import Tables as _CoreTables
from ._core import evaluate as evaluate  # the same signature: one copy

EMULATED: bool

_Array = npt.ArrayLike

class Tables(_CoreTables): ...

_Tables = Tables | Sequence[_Array]

def device_count() -> int: ...
def device_name() -> str: ...
def sweep(
    tables: _Tables, max_latency: float = ..., min_accuracy: float = ..., max_rows: int = ..., threads: int = 0,
    time_limit: float = ..., chunk_items: int = 0, window_rows: int = 0, table_limit: int = 0,
    quantile: float | None = None, max_energy: float = ..., energy: Any = None,
) -> dict[str, npt.NDArray[Any]]: ...
def pareto(
    tables: _Tables, min_accuracy: float = ..., max_latency: float = ..., threads: int = 0,
    max_memory: int = 4294967296, time_limit: float = ..., chunk_slots: int = 0, engine: str = "auto",
    fused_room: int = 0,
) -> dict[str, npt.NDArray[Any]]: ...
def _pareto_stats(
    tables: _Tables, min_accuracy: float = ..., max_latency: float = ..., max_memory: int = 4294967296,
    time_limit: float = ..., chunk_slots: int = 0, engine: str = "auto", fused_room: int = 0,
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]: ...
