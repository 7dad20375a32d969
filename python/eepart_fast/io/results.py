"""What evaluate and sweep return: columns of float64 and int32, and a way back to (t, P, A)."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._deprecated import positional
from .._extras import require
from ..engine.frontier import frontier_indices
from ..engine.reference import least_mean_ties
from ..model.quantile import quantile_label
from .atomic import atomic_path

SAVE_CHUNK_ROWS = 1 << 20  # rows per write (and Parquet row group): progress and Ctrl-C between chunks


class Evaluation:
    """Latency (s) and accuracy of each configuration given to `evaluate`, in the order given.

    Parameters
    ----------
    latency : numpy.ndarray, shape (n,)
        Each configuration's latency in seconds: the mean over samples, or its q-quantile.
    accuracy : numpy.ndarray, shape (n,)
        Each configuration's accuracy.
    quantile : float, optional
        None when `latency` is the mean over samples, q when it is the q-quantile.
    backend : str
        The backend that computed them.
    energy : numpy.ndarray, shape (n,), optional
        Each configuration's energy in joules per sample, when energy tables were given (else None).

    Examples
    --------
    >>> p, t = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> result = ef.evaluate(p, t, configs=[(0, [10], [3]), (0, [4, 10], [0, 3])], backend="numpy")
    >>> result
    Evaluation(2 configurations, backend='numpy')
    >>> len(result), result.latency_statistic
    (2, 'mean')
    >>> ef.io.Evaluation(np.array([0.05]), np.array([0.9]), quantile=0.99, backend="numpy")
    Evaluation(1 configurations, latency=p99, backend='numpy')
    """

    @positional("backend", "quantile")
    def __init__(self, latency: np.ndarray, accuracy: np.ndarray, *, quantile: float | None = None,
                 backend: str, energy: np.ndarray | None = None):
        self.latency = latency
        self.accuracy = accuracy
        self.energy = energy
        self.backend = backend
        self.quantile = quantile

    @property
    def latency_statistic(self) -> str:
        """"mean", or the quantile's name ("p99")."""
        return quantile_label(self.quantile)

    def __len__(self) -> int:
        return self.latency.shape[0]

    def __repr__(self) -> str:
        stat = "" if self.quantile is None else f", latency={self.latency_statistic}"
        return f"Evaluation({len(self)} configurations{stat}, backend={self.backend!r})"


class SweepResult:
    """Kept rows of a sweep, columnar. `partitions` and `placement` are padded with -1 to min(M, N).

    Parameters
    ----------
    columns : dict
        latency (s, float64), accuracy (float64), threshold_index and num_partitions (int32, (n,)),
        partitions and placement (int32, (n, min(M, N)), -1 padded), as the backends return them; and
        energy (J, float64) when the sweep had energy tables (then `energy`, else None; not yet written by
        `save`).
    thresholds : numpy.ndarray, shape (K,)
        The profile's thresholds, which threshold_index indexes.
    tier_names : list of str
        The topology's tier names, which placement indexes.
    quantile : float, optional
        None when `latency` is each configuration's mean latency, q when it is its q-quantile (and the
        sweep's latency bound was on it); the files written say which.
    backend : str
        The backend that swept.
    tables : CostTables, optional
        The tables swept; with a quantile, `pareto` breaks ties between rows reaching one point by their
        mean latency from them.

    Examples
    --------
    >>> p, t = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    >>> rows = ef.sweep(p, t, max_latency=0.02, backend="numpy")
    >>> rows
    SweepResult(... rows, backend='numpy')
    >>> bool((rows.latency <= 0.02).all())
    True
    >>> front = rows.pareto()
    >>> bool(np.all(np.diff(front.accuracy) > 0))
    True
    """

    @positional("backend", "quantile", "tables")
    def __init__(self, columns: dict, thresholds: np.ndarray, tier_names: list, *, quantile: float | None = None,
                 backend: str, tables=None):
        self.latency = np.asarray(columns["latency"], dtype=np.float64)
        self.accuracy = np.asarray(columns["accuracy"], dtype=np.float64)
        self.threshold_index = np.asarray(columns["threshold_index"], dtype=np.int32)
        self.num_partitions = np.asarray(columns["num_partitions"], dtype=np.int32)
        self.partitions = np.asarray(columns["partitions"], dtype=np.int32)
        self.placement = np.asarray(columns["placement"], dtype=np.int32)
        self.energy = np.asarray(columns["energy"], dtype=np.float64) if "energy" in columns else None
        self.thresholds = thresholds
        self.tier_names = list(tier_names)
        self.backend = backend
        self.quantile = quantile
        self._tables = tables  # the CostTables swept: pareto() of a quantile's rows breaks ties by the mean

    @property
    def latency_statistic(self) -> str:
        """"mean", or the quantile's name ("p99")."""
        return quantile_label(self.quantile)

    def __len__(self) -> int:
        return self.latency.shape[0]

    def columns(self) -> dict:
        """The six columns by name, as the backends return them.

        Returns
        -------
        dict
            latency, accuracy, threshold_index, num_partitions, partitions, placement (the arrays
            themselves, not copies).
        """
        return {k: getattr(self, k) for k in ("latency", "accuracy", "threshold_index", "num_partitions",
                                               "partitions", "placement")}

    def row(self, i: int):
        """Row i as the (t, P, A) tuple that `evaluate` takes.

        Parameters
        ----------
        i : int
            The row, -len..len-1.

        Returns
        -------
        tuple
            (t, P, A): the threshold index, the block counts, the tiers.

        Raises
        ------
        IndexError
            `i` out of range.
        """
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"row {i}: out of range for {n} rows")
        L = int(self.num_partitions[i])
        return (int(self.threshold_index[i]), tuple(int(p) for p in self.partitions[i, :L]),
                tuple(int(a) for a in self.placement[i, :L]))

    def configs(self) -> list:
        """Every row as a (t, P, A) tuple (`row`), in order.

        Returns
        -------
        list of tuple
        """
        return [self.row(i) for i in range(len(self))]

    def take(self, index) -> SweepResult:
        """The rows `index` selects, as a SweepResult of the same sweep.

        Parameters
        ----------
        index : int array, boolean mask or slice
            Which rows, as NumPy indexes an array.

        Returns
        -------
        SweepResult
        """
        columns = {k: v[index] for k, v in self.columns().items()}
        if self.energy is not None:
            columns["energy"] = self.energy[index]
        return SweepResult(columns, self.thresholds, self.tier_names, quantile=self.quantile, backend=self.backend,
                           tables=self._tables)

    def pareto(self) -> SweepResult:
        """The frontier (docs/model.md) of these rows: latency rising, accuracy strictly rising, equal points once;
        of a quantile's rows reaching one point, the one of least mean latency (docs/model.md), as pareto().

        Returns
        -------
        SweepResult
        """
        idx = frontier_indices(self.latency, self.accuracy)
        if self.quantile is not None and self._tables is not None:
            idx = least_mean_ties(self._tables, self.columns(), idx)
        return self.take(idx)

    @classmethod
    def load(cls, path) -> SweepResult:
        """The rows `save` wrote to a `.parquet` (any schema version, docs/file-formats.md) or `.npz` file.

        Parameters
        ----------
        path : str or os.PathLike
            The file; its suffix picks the format.

        Returns
        -------
        SweepResult
            The rows, bit for bit (latency in s), with the file's thresholds, tier names and quantile.

        Raises
        ------
        ValueError
            Another suffix (a `.csv` holds latency rounded to 15 digits: not read back), a file that is not
            a sweep's rows, or a Parquet schema version newer than this package reads.
        eepart_fast._extras.MissingExtra
            .parquet without pyarrow.

        Examples
        --------
        >>> rows = ef.sweep(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"),
        ...                 max_latency=0.02, backend="numpy")
        >>> rows.save("rows.parquet", progress=False)
        >>> back = ef.io.SweepResult.load("rows.parquet")
        >>> back.configs() == rows.configs() and bool(np.array_equal(back.latency, rows.latency))
        True
        """
        path = str(path)
        if path.endswith(".parquet"):
            require("pyarrow", what="reading rows from Parquet")
            from .arrow import read_rows

            d = read_rows(path)
            return cls(d["columns"], d["thresholds"], d["tier_names"], quantile=d["quantile"], backend=d["backend"])
        if not path.endswith(".npz"):
            raise ValueError(f"path = {path!r}: the file name must end in .npz or .parquet")
        with np.load(path, allow_pickle=False) as f:
            columns = {k: f[k] for k in ("latency", "accuracy", "threshold_index", "num_partitions", "partitions",
                                         "placement")}
            quantile = float(f["quantile"]) if "quantile" in f.files else None
            return cls(columns, f["thresholds"], f["tier_names"].tolist(), quantile=quantile, backend="unknown")

    @positional("progress")
    def save(self, path, *, progress: bool | None = None) -> None:
        """Writes every row: `.npz` (the columns, no pickle, latency in s), `.csv` (latency_ms in ms, one column
        per partition slot, -1 pads)
        or `.parquet` (P and A as columns P1..PW and A1..AW, -1 pads, docs/file-formats.md; thresholds and tier
        names in the file's metadata; `load` reads it back).
        Rows of a quantile sweep say so: the CSV's column is `latency_p99_ms`, the `.npz` holds `quantile`,
        the Parquet metadata `eepart.quantile` (the mean's files are as they always were).

        The file appears at `path` only once complete (written beside it, then renamed): an error or Ctrl-C
        leaves `path` as it was.

        Parameters
        ----------
        path : str or os.PathLike
            The file; its suffix (.npz, .csv, .parquet) picks the format.
        progress : bool, optional
            A tqdm bar over the rows (None: only on a terminal).

        Raises
        ------
        ValueError
            Another suffix.
        eepart_fast._extras.MissingExtra
            .parquet without pyarrow (an ImportError naming the extra to install).

        Examples
        --------
        >>> rows = ef.sweep(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"),
        ...                 max_latency=0.02, backend="numpy")
        >>> rows.save("rows.csv", progress=False)
        >>> open("rows.csv").readline().split(",")[:3]
        ['latency_ms', 'accuracy', 'threshold_index']
        """
        path = str(path)
        writers = {".npz": self._save_npz, ".csv": self._save_csv, ".parquet": self._save_parquet}
        suffix = next((s for s in writers if path.endswith(s)), None)
        if suffix is None:
            raise ValueError(f"out = {path!r}: the file name must end in .csv, .npz or .parquet")
        if suffix == ".parquet":
            require("pyarrow", what="saving rows as Parquet")
        from tqdm.auto import tqdm

        with atomic_path(path) as tmp, tqdm(total=len(self), unit="row", unit_scale=True, desc=f"writing {path}",
                                            disable=None if progress is None else not progress) as bar:
            writers[suffix](tmp, bar)

    def _chunks(self):
        n = len(self)
        return [(i, min(n, i + SAVE_CHUNK_ROWS)) for i in range(0, n, SAVE_CHUNK_ROWS)]

    def _save_npz(self, tmp, bar) -> None:
        with open(tmp, "wb") as f:
            extra = {} if self.quantile is None else {"quantile": np.float64(self.quantile)}
            np.savez(f, thresholds=self.thresholds, tier_names=np.array(self.tier_names), **self.columns(), **extra)
        bar.update(len(self))

    def _save_csv(self, tmp, bar) -> None:
        lmax = self.partitions.shape[1]
        latency = "latency_ms" if self.quantile is None else f"latency_{self.latency_statistic}_ms"
        header = ",".join([latency, "accuracy", "threshold_index", "threshold", "num_partitions"]
                          + [f"P{k + 1}" for k in range(lmax)] + [f"A{k + 1}" for k in range(lmax)])
        # latency in ms, as the command line speaks; 15 significant digits: every value to 5e-16 relative,
        # without float64's noise digits (the .npz and .parquet keep the exact bits, latency in seconds).
        fmt = ["%.15g", "%.15g", "%d", "%.15g", "%d"] + ["%d"] * (2 * lmax)
        with open(tmp, "w") as f:
            f.write(header + "\n")
            for a, b in self._chunks():
                thr = self.thresholds[self.threshold_index[a:b]]
                table = np.column_stack([self.latency[a:b] * 1e3, self.accuracy[a:b], self.threshold_index[a:b], thr,
                                         self.num_partitions[a:b], self.partitions[a:b], self.placement[a:b]])
                np.savetxt(f, table, fmt=fmt, delimiter=",")
                bar.update(b - a)

    def _save_parquet(self, tmp, bar) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .arrow import (
            META_SCHEMA,
            SCHEMA_VERSION,
            row_columns,
            row_fields,
            writer_options,
        )

        metadata = {"eepart.thresholds": json.dumps(self.thresholds.tolist()),
                    "eepart.tier_names": json.dumps(self.tier_names), "eepart.backend": self.backend,
                    META_SCHEMA: str(SCHEMA_VERSION)}
        if self.quantile is not None:  # the latency column holds this quantile, not the mean
            metadata["eepart.quantile"] = json.dumps(self.quantile)
        width = self.partitions.shape[1]
        schema = pa.schema(row_fields(width, nullable=False), metadata=metadata)

        def table(a, b):
            return pa.Table.from_arrays(row_columns(
                self.latency[a:b], self.accuracy[a:b], self.threshold_index[a:b], self.thresholds,
                self.num_partitions[a:b], self.partitions[a:b], self.placement[a:b], width=width), schema=schema)

        # The next chunk's columns are built (NumPy copies, GIL released) while Parquet encodes this one.
        chunks = self._chunks() or [(0, 0)]
        with pq.ParquetWriter(tmp, schema, **writer_options(schema)) as writer, ThreadPoolExecutor(1) as pool:
            ahead = pool.submit(table, *chunks[0])
            for k, (a, b) in enumerate(chunks):
                done = ahead.result()
                if k + 1 < len(chunks):
                    ahead = pool.submit(table, *chunks[k + 1])
                writer.write_table(done)
                bar.update(b - a)

    def __repr__(self) -> str:
        stat = "" if self.quantile is None else f", latency={self.latency_statistic}"
        return f"SweepResult({len(self)} rows{stat}, backend={self.backend!r})"
