"""The compiled GPU engine (built where nvcc is found). Private: use `eepart_fast` with backend='cuda'.
Same evaluate / sweep / pareto as `_core`, on the device; device_count() and device_name() never raise."""
from typing import Any

import numpy as np
import numpy.typing as npt

EMULATED: bool

_Array = npt.ArrayLike

def device_count() -> int: ...
def device_name() -> str: ...
def evaluate(
    input_cost: _Array, compute_cost: _Array, forward_cost: _Array, result_cost: _Array, cum_exit: _Array,
    accuracy: _Array, threshold_index: _Array, num_partitions: _Array, partitions: _Array, placement: _Array,
    threads: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def sweep(
    input_cost: _Array, compute_cost: _Array, forward_cost: _Array, result_cost: _Array, cum_exit: _Array,
    accuracy: _Array, max_latency: float = ..., min_accuracy: float = ..., max_rows: int = ..., threads: int = 0,
    chunk_items: int = 0, window_rows: int = 0, table_limit: int = 0,
) -> dict[str, npt.NDArray[Any]]: ...
def pareto(
    input_cost: _Array, compute_cost: _Array, forward_cost: _Array, result_cost: _Array, cum_exit: _Array,
    accuracy: _Array, min_accuracy: float = ..., max_latency: float = ..., threads: int = 0,
    max_memory: int = 4294967296, chunk_slots: int = 0, engine: str = "auto", fused_room: int = 0,
) -> dict[str, npt.NDArray[Any]]: ...
def _pareto_stats(
    input_cost: _Array, compute_cost: _Array, forward_cost: _Array, result_cost: _Array, cum_exit: _Array,
    accuracy: _Array, min_accuracy: float = ..., max_latency: float = ..., max_memory: int = 4294967296,
    chunk_slots: int = 0, engine: str = "auto", fused_room: int = 0,
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]: ...
