"""The compiled CPU engine. Private: use the functions of `eepart_fast`. Tables as in SPEC's engine form."""
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

_Array = npt.ArrayLike

def count_configurations(N: int, M: int, K: int) -> int: ...
def evaluate(
    input_cost: _Array, compute_cost: _Array, forward_cost: _Array, result_cost: _Array, cum_exit: _Array,
    accuracy: _Array, threshold_index: _Array, num_partitions: _Array, partitions: _Array, placement: _Array,
    threads: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def sweep(
    input_cost: _Array, compute_cost: _Array, forward_cost: _Array, result_cost: _Array, cum_exit: _Array,
    accuracy: _Array, max_latency: float = ..., min_accuracy: float = ..., max_rows: int = ..., threads: int = 0,
) -> dict[str, npt.NDArray[Any]]: ...
def pareto(
    input_cost: _Array, compute_cost: _Array, forward_cost: _Array, result_cost: _Array, cum_exit: _Array,
    accuracy: _Array, *, min_accuracy: float = ..., max_latency: float = ..., threads: int = 0,
    max_memory: int = 2147483648, stats: bool = False,
) -> dict[str, Any]: ...
