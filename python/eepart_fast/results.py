"""What evaluate and sweep return: columns of float64 and int32, and a way back to (t, P, A)."""
from __future__ import annotations

import numpy as np

from .frontier import frontier_indices


class Evaluation:
    """Latency (s) and accuracy of each configuration given to `evaluate`, in the order given."""

    def __init__(self, latency: np.ndarray, accuracy: np.ndarray, backend: str):
        self.latency = latency
        self.accuracy = accuracy
        self.backend = backend

    def __len__(self) -> int:
        return self.latency.shape[0]

    def __repr__(self) -> str:
        return f"Evaluation({len(self)} configurations, backend={self.backend!r})"


class SweepResult:
    """Kept rows of a sweep, columnar. `partitions` and `placement` are padded with -1 to min(M, N)."""

    def __init__(self, columns: dict, thresholds: np.ndarray, tier_names: list, backend: str):
        self.latency = np.asarray(columns["latency"], dtype=np.float64)
        self.accuracy = np.asarray(columns["accuracy"], dtype=np.float64)
        self.threshold_index = np.asarray(columns["threshold_index"], dtype=np.int32)
        self.num_partitions = np.asarray(columns["num_partitions"], dtype=np.int32)
        self.partitions = np.asarray(columns["partitions"], dtype=np.int32)
        self.placement = np.asarray(columns["placement"], dtype=np.int32)
        self.thresholds = thresholds
        self.tier_names = list(tier_names)
        self.backend = backend

    def __len__(self) -> int:
        return self.latency.shape[0]

    def columns(self) -> dict:
        return {k: getattr(self, k) for k in ("latency", "accuracy", "threshold_index", "num_partitions",
                                               "partitions", "placement")}

    def row(self, i: int):
        """Row i as the (t, P, A) tuple that `evaluate` takes."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"row {i}: out of range for {n} rows")
        L = int(self.num_partitions[i])
        return (int(self.threshold_index[i]), tuple(int(p) for p in self.partitions[i, :L]),
                tuple(int(a) for a in self.placement[i, :L]))

    def configs(self) -> list:
        return [self.row(i) for i in range(len(self))]

    def take(self, index) -> "SweepResult":
        return SweepResult({k: v[index] for k, v in self.columns().items()}, self.thresholds, self.tier_names,
                           self.backend)

    def pareto(self) -> "SweepResult":
        """SPEC's frontier of these rows: latency rising, accuracy strictly rising, equal points once."""
        return self.take(frontier_indices(self.latency, self.accuracy))

    def save(self, path) -> None:
        """Writes every row: `.npz` (the columns, no pickle, latency in s) or `.csv` (latency_ms in ms, 15
        significant digits, one column per partition slot, -1 pads)."""
        path = str(path)
        if path.endswith(".npz"):
            np.savez(path, thresholds=self.thresholds, tier_names=np.array(self.tier_names), **self.columns())
        elif path.endswith(".csv"):
            lmax = self.partitions.shape[1]
            header = ",".join(["latency_ms", "accuracy", "threshold_index", "threshold", "num_partitions"]
                              + [f"P{k + 1}" for k in range(lmax)] + [f"A{k + 1}" for k in range(lmax)])
            thr = self.thresholds[self.threshold_index] if len(self) else np.zeros(0)
            table = np.column_stack([self.latency * 1e3, self.accuracy, self.threshold_index, thr,
                                     self.num_partitions, self.partitions, self.placement]) \
                if len(self) else np.zeros((0, 5 + 2 * lmax))
            # 15 significant digits: every value to 5e-16 relative, without float64's noise digits; the .npz
            # keeps the exact bits (and latency in seconds, as the API).
            fmt = ["%.15g", "%.15g", "%d", "%.15g", "%d"] + ["%d"] * (2 * lmax)
            np.savetxt(path, table, fmt=fmt, delimiter=",", header=header, comments="")
        else:
            raise ValueError(f"out = {path!r}: the file name must end in .csv or .npz")

    def __repr__(self) -> str:
        return f"SweepResult({len(self)} rows, backend={self.backend!r})"
