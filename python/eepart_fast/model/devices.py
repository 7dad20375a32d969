"""One device's own measurements of a profiled network (docs/model.md "Measured compute", "Serialisation").

A profile may carry, per device name, either the device's own block and branch times or its own time for
every contiguous partition (p, q] (blocks p+1..q and exit branch q, measured as one piece), and optionally
its (de)serialisation time of every tensor it may send or receive. A topology's tier names the device
whose measurements it uses; a tier naming none keeps ratio x the reference device's block times.
"""
from __future__ import annotations

import numpy as np

from .._checks import at_least, float_array, integer
from .._deprecated import positional

FIELDS = ("block_time", "branch_time", "partition_time", "serialize_time", "deserialize_time")


def running_sums(block_time: np.ndarray, branch_time: np.ndarray) -> np.ndarray:
    """(N+1, N+1): blocks p+1..q and branch q, zero where p >= q.

    Parameters
    ----------
    block_time, branch_time : numpy.ndarray, shape (N,)
        Seconds per block and per exit branch.

    Returns
    -------
    numpy.ndarray, shape (N+1, N+1)
        Each a running sum from p (not a difference of prefix sums), so short spans keep their digits.
    """
    n = block_time.shape[0]
    base = np.zeros((n + 1, n + 1))
    for p in range(n):
        # A running sum from p, not a difference of prefix sums: short spans after long ones keep their digits.
        base[p, p + 1:] = np.cumsum(block_time[p:]) + branch_time[p:]
    return base


class DeviceTimes:
    """Seconds, measured on one device. `partition` is (N+1, N+1): partition[p][q] for blocks p+1..q with
    branch q (zero where p >= q). `serialize_time`, `deserialize_time`: None, or (N+2,) seconds per tensor:
    entry 0 the input sample, entry q block q's output (q = 1..N), entry N+1 the result.

    Parameters
    ----------
    n : int
        N, the profile's number of blocks.
    block_time, branch_time : array_like, shape (N,), optional
        The device's seconds per block and per exit branch (>= 0); give both, or `partition_time`.
    partition_time : list, optional
        Every contiguous partition once, as [first block, last block, seconds] (1 <= first <= last <= N;
        N(N+1)/2 entries, each measured as one piece with its last block's branch).
    serialize_time, deserialize_time : array_like, shape (N+2,), optional
        Seconds to (de)serialise each tensor: the input, block 1..N's outputs, the result (>= 0).
    where : str
        What to call the device in error messages.

    Raises
    ------
    ValueError
        Both forms or neither, a partition missing or given twice, a value out of range.
    TypeError
        `partition_time` not a list.

    Examples
    --------
    >>> from eepart_fast.model.devices import DeviceTimes
    >>> d = DeviceTimes(2, block_time=[0.01, 0.02], branch_time=[0.001, 0.002])
    >>> d, float(d.partition[0, 2])
    (DeviceTimes(blocks, N=2), 0.032)
    """

    @positional("block_time", "branch_time", "partition_time", "serialize_time", "deserialize_time", "where")
    def __init__(self, n: int, *, block_time=None, branch_time=None, partition_time=None, serialize_time=None,
                 deserialize_time=None, where: str = "device"):
        self.block_time = self.branch_time = self.partition_list = None
        if partition_time is not None:
            if block_time is not None or branch_time is not None:
                raise ValueError(f"{where}: give either block_time and branch_time or partition_time, not both")
            self.partition_list, self.partition = self._partitions(n, partition_time, where)
        elif block_time is not None and branch_time is not None:
            self.block_time = float_array(f"{where}.block_time", block_time, (n,))
            self.branch_time = float_array(f"{where}.branch_time", branch_time, (n,))
            at_least(f"{where}.block_time", self.block_time, 0.0)
            at_least(f"{where}.branch_time", self.branch_time, 0.0)
            self.partition = running_sums(self.block_time, self.branch_time)
        else:
            raise ValueError(f"{where}: needs block_time and branch_time (N each) or partition_time "
                             "(every contiguous partition as [first block, last block, seconds])")
        self.serialize_time = self._tensors(f"{where}.serialize_time", serialize_time, n)
        self.deserialize_time = self._tensors(f"{where}.deserialize_time", deserialize_time, n)

    @staticmethod
    def _tensors(name: str, value, n: int):
        if value is None:
            return None
        arr = float_array(name, value, (n + 2,))
        at_least(name, arr, 0.0)
        return arr

    @staticmethod
    def _partitions(n: int, value, where: str):
        name = f"{where}.partition_time"
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise TypeError(f"{name}: expected a list of [first block, last block, seconds]")
        if len(value) > n * (n + 1) // 2:  # checked before reading: one entry per partition, no more
            raise ValueError(f"{name}: {len(value)} entries for {n * (n + 1) // 2} partitions (N = {n}); "
                             "each contiguous partition is given once")
        table = np.full((n + 1, n + 1), np.nan)
        rows = []
        for i, row in enumerate(value):
            if isinstance(row, (str, bytes)) or not hasattr(row, "__len__") or len(row) != 3:
                raise ValueError(f"{name}[{i}]: expected [first block, last block, seconds], got {row!r:.80}")
            first, last = integer(f"{name}[{i}][0]", row[0]), integer(f"{name}[{i}][1]", row[1])
            if not 1 <= first <= last <= n:
                raise ValueError(f"{name}[{i}] = [{first}, {last}, ...]: blocks must satisfy 1 <= first <= last <= {n}")
            seconds = float(float_array(f"{name}[{i}][2]", row[2], ()))
            at_least(f"{name}[{i}][2]", np.asarray(seconds), 0.0)
            if not np.isnan(table[first - 1, last]):
                raise ValueError(f"{name}[{i}]: partition [{first}, {last}] given twice")
            table[first - 1, last] = seconds
            rows.append([first, last, seconds])
        for p in range(n):
            for q in range(p + 1, n + 1):
                if np.isnan(table[p, q]):
                    raise ValueError(f"{name}: partition [{p + 1}, {q}] (blocks {p + 1}..{q}) is missing; every "
                                     f"contiguous partition needs a time ({n * (n + 1) // 2} in all)")
        table[np.isnan(table)] = 0.0
        return rows, np.ascontiguousarray(table)

    @classmethod
    @positional("where")
    def from_dict(cls, data, n: int, *, where: str = "device") -> DeviceTimes:
        """The measurements from their dict form (`to_dict`, or a profile file's ``devices`` entry).

        Parameters
        ----------
        data : dict
            Fields of DeviceTimes by name (block_time, branch_time, partition_time, serialize_time,
            deserialize_time).
        n : int
            N, the profile's number of blocks.
        where : str
            What to call the device in error messages.

        Returns
        -------
        DeviceTimes

        Raises
        ------
        ValueError
            An unknown field, or a value refused as by DeviceTimes.
        TypeError
            `data` not a mapping.
        """
        d = data
        if not isinstance(d, dict):
            raise TypeError(f"{where}: expected a mapping, got {type(d).__name__}")
        unknown = sorted(set(d) - set(FIELDS))
        if unknown:
            raise ValueError(f"{where}: unknown field {unknown[0]!r} (a device has {', '.join(FIELDS)})")
        return cls(n, where=where, **d)

    def to_dict(self) -> dict:
        """The measurements as plain lists, in the form they were given (blocks or partitions).

        Returns
        -------
        dict
        """
        d = {}
        if self.partition_list is not None:
            d["partition_time"] = [list(r) for r in self.partition_list]
        else:
            d["block_time"], d["branch_time"] = self.block_time.tolist(), self.branch_time.tolist()
        for f in ("serialize_time", "deserialize_time"):
            if getattr(self, f) is not None:
                d[f] = getattr(self, f).tolist()
        return d

    def __repr__(self) -> str:
        kind = "partitions" if self.partition_list is not None else "blocks"
        return f"DeviceTimes({kind}, N={self.partition.shape[0] - 1})"
