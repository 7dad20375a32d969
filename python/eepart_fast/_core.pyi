"""The compiled CPU engine. Private: use the functions of `eepart_fast`. Tables as in docs/model.md's
engine form; `tables` is a `Tables` or the six arrays in order (a `CostTables`), built into one per call."""
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

# The engine's limits and constants (one definition, in C++; the Python layer reads them from here).
MAX_TIERS: int
MAX_BLOCKS: int
MAX_THRESHOLDS: int
MAX_THREADS: int
QUANTILE_SLACK: float
FRONTIER_RTOL: float
DEFAULT_MAX_ROWS: int
DEFAULT_MAX_MEMORY: int  # bytes a pareto search (and the rows of a sweep, by default) may hold
DEFAULT_DEVICE_MEMORY: int  # device bytes a GPU pareto search may hold
SWEEP_SPLIT: int
SWEEP_IP_SIZE: int
SWEEP_BLOCK_WARPS: int
SWEEP_MAX_CODES: int
SWEEP_CHUNK_ITEMS: int
SWEEP_WINDOW_ROWS: int
SWEEP_MAX_TOTAL: int

_Array = npt.ArrayLike

class Tables:
    """The six cost tables, and optionally the four energy tables (an EnergyTables), copied into the engine's
    memory and checked once; immutable."""

    def __init__(self, input_cost: _Array, compute_cost: _Array, forward_cost: _Array, result_cost: _Array,
                 cum_exit: _Array, accuracy: _Array, *, energy: Any = None) -> None: ...
    def with_moves(self, input_cost: _Array, forward_cost: _Array, result_cost: _Array, *,
                   input_energy: _Array | None = None, forward_energy: _Array | None = None,
                   result_energy: _Array | None = None) -> Tables: ...
    @property
    def has_energy(self) -> bool: ...
    @property
    def input_energy(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def compute_energy(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def forward_energy(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def result_energy(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def N(self) -> int: ...
    @property
    def M(self) -> int: ...
    @property
    def K(self) -> int: ...
    @property
    def input_cost(self) -> npt.NDArray[np.float64]: ...
    @property
    def compute_cost(self) -> npt.NDArray[np.float64]: ...
    @property
    def forward_cost(self) -> npt.NDArray[np.float64]: ...
    @property
    def result_cost(self) -> npt.NDArray[np.float64]: ...
    @property
    def cum_exit(self) -> npt.NDArray[np.float64]: ...
    @property
    def accuracy(self) -> npt.NDArray[np.float64]: ...

_Tables = Tables | Sequence[_Array]

class MoveFill:
    """The move tables' formula (model/tables.py MoveFiller.all, to the bit), compiled, for one profile and
    one set of tiers (cpp/model/move_fill.hpp)."""

    def __init__(self, bits: _Array, send: _Array, receive: _Array) -> None: ...
    @property
    def N(self) -> int: ...
    @property
    def M(self) -> int: ...
    def moved(self, base: Tables, path_latency: _Array, path_inv_bandwidth: _Array, source: int, destination: int,
              max_cost: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64],
                                        Tables | None]: ...

class SweepOptions:
    """The options of sweep, each checked when set."""

    max_latency: float
    min_accuracy: float
    max_rows: int
    threads: int
    time_limit: float
    quantile: float | None  # None: the mean; q in (0, 1]: the q-quantile of the latency
    max_energy: float  # J; anything but inf needs tables with energy tables
    def __init__(self, *, max_latency: float = ..., min_accuracy: float = ..., max_rows: int = ..., threads: int = 0,
                 time_limit: float = ..., quantile: float | None = None, max_energy: float = ...) -> None: ...

class SearchOptions:
    """The options of pareto, each checked when set."""

    min_accuracy: float
    max_latency: float
    threads: int
    max_memory: int
    time_limit: float
    quantile: float | None  # None: the mean; q in (0, 1]: the q-quantile of the latency
    max_energy: float  # J; anything but inf needs energy tables
    objectives: int  # 2: (latency, accuracy); 3: (latency, accuracy, energy)
    def __init__(self, *, min_accuracy: float = ..., max_latency: float = ..., threads: int = 0,
                 max_memory: int = 2147483648, time_limit: float = ..., quantile: float | None = None,
                 max_energy: float = ..., objectives: int = 2) -> None: ...

def evaluate(
    tables: _Tables, threshold_index: _Array, num_partitions: _Array, partitions: _Array, placement: _Array,
    threads: int = 0, quantile: float | None = None, energy: Any = None,
) -> tuple[npt.NDArray[np.float64], ...]: ...  # (latency, accuracy), and energy when the tables carry energy
def sweep(
    tables: _Tables, max_latency: float = ..., min_accuracy: float = ..., max_rows: int = ..., threads: int = 0,
    time_limit: float = ..., quantile: float | None = None, options: SweepOptions | None = None,
    max_energy: float = ..., energy: Any = None,
) -> dict[str, npt.NDArray[Any]]: ...
def pareto(
    tables: _Tables, *, min_accuracy: float = ..., max_latency: float = ..., threads: int = 0,
    max_memory: int = 2147483648, time_limit: float = ..., quantile: float | None = None,
    max_energy: float = ..., objectives: int = 2, energy: Any = None,
    options: SearchOptions | None = None, stats: bool = False,
) -> dict[str, Any]: ...  # and "energy" when the tables carry energy
def min_energy(
    tables: _Tables, *, min_accuracy: float = ..., max_latency: float = ..., threads: int = 0,
    max_memory: int = 2147483648, time_limit: float = ..., energy: Any = None,
    options: SearchOptions | None = None, stats: bool = False,
) -> dict[str, Any]: ...  # pareto's columns, one row or none
def pareto_many(
    tables: Sequence[_Tables], table_index: np.ndarray, min_accuracy: np.ndarray, max_latency: np.ndarray, *,
    answer: str = "frontier", threads: int = 0, max_memory: int = 2147483648, time_limit: float = ...,
    quantile: float | None = None, max_energy: np.ndarray | None = None,
) -> dict[str, Any]: ...
def plan_sweep(N: int, M: int, K: int, chunk_items: int = 0, table_limit: int = 0) -> dict[str, Any]: ...
def check_max_memory(max_memory: int) -> int: ...
