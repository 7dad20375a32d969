"""The part files of a study's result folder: which file holds which scenarios, and whether a file there
really is the part this study expects (checked on every resume, not trusted from its name).

Scenarios are cut into batches by group (scenarios sharing profile, topology, source and destination) and
the folder's batch size: batch k of group g holds scenarios g.offset + k*B .. min(g.offset + (k+1)*B,
g.offset + g.size) - 1 and is written as `part-<first scenario>.parquet`. A file there verifies when its
footer says it was written by this study (the fingerprint), for exactly its batch's scenarios (its
metadata's ranges), with as many rows as its task wrote (the task's count against the footer's), every
row's scenario inside the batch (the footer's column statistics). Anything else is rewritten:

- foreign: another study's part, a part batched otherwise, or a `part-*.parquet` no batch of this study
  writes (it would otherwise be read with the results);
- empty: a file of no bytes, or of no rows where its task wrote some;
- truncated: a footer that cannot be read (a copy cut short), or fewer or more rows than its task wrote;
- unverifiable: a part without the row count, or of another schema version (P and A as list columns, or
  `eepart.schema` not this version's: a folder holds one schema, so that a dataset reader reads it as one
  table); written by another version, recomputed to be sure.

Only the footers are read (a few kB a file), so checking a folder costs little next to the run.
"""
from __future__ import annotations

import bisect
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io.arrow import META_SCHEMA, SCHEMA_VERSION
from .schema import FILE_PREFIX, META_ROWS, META_SCENARIOS, META_STUDY

PART = re.compile(rf"^{re.escape(FILE_PREFIX)}(\d+)\.parquet$")
REASONS = ("foreign", "empty", "truncated", "unverifiable")
CURRENT_SCHEMA = str(SCHEMA_VERSION).encode()


def part_name(start: int) -> str:
    return f"{FILE_PREFIX}{int(start):012d}.parquet"


class Layout:
    """The study's batches under one batch size, numbered 0.. in scenario order (one bool per batch is all
    the bookkeeping a run keeps: a study of S scenarios in batches of B holds S/B bytes of it)."""

    def __init__(self, spec, batch_size: int):
        self.batch_size = int(batch_size)
        self.groups = list(spec.groups)
        self.offsets = [g.offset for g in self.groups]
        counts = [math.ceil(g.size / self.batch_size) for g in self.groups]
        self.first = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).tolist()  # first batch of each group
        self.count = self.first[-1]

    def __len__(self) -> int:
        return self.count

    def find(self, start: int) -> int | None:
        """The batch beginning at scenario `start`, or None when no batch begins there."""
        g = bisect.bisect_right(self.offsets, start) - 1
        if g < 0:
            return None
        k, r = divmod(start - self.groups[g].offset, self.batch_size)
        if r or k >= self.first[g + 1] - self.first[g]:
            return None
        return self.first[g] + k

    def batch(self, index: int) -> tuple:
        """(group number, first scenario of the batch within the group, stop within the group)."""
        g = bisect.bisect_right(self.first, index) - 1
        start = (index - self.first[g]) * self.batch_size
        return g, start, min(self.groups[g].size, start + self.batch_size)

    def scenarios(self, index: int) -> tuple:
        """[first, stop) of the batch, as scenario numbers of the study."""
        g, start, stop = self.batch(index)
        return self.groups[g].offset + start, self.groups[g].offset + stop


@dataclass
class Check:
    done: np.ndarray  # (batches,) bool: a verified part holds the batch
    scenarios: int = 0  # scenarios held by verified parts
    bad: dict = field(default_factory=lambda: {r: [] for r in REASONS})  # reason -> [Path]

    @property
    def rejected(self) -> int:
        return sum(len(v) for v in self.bad.values())

    def summary(self) -> str:
        """"3 (1 foreign, 2 empty)"-style counts of the parts that did not verify."""
        parts = [f"{len(v)} {r}" for r, v in self.bad.items() if v]
        return f"{self.rejected} ({', '.join(parts)})" if parts else "0"


def _reason(path: Path, layout: Layout, fingerprint: str):
    """(batch index, None) for a part that verifies, else (None, reason)."""
    import pyarrow.parquet as pq

    m = PART.match(path.name)
    index = layout.find(int(m.group(1))) if m and path.name == part_name(int(m.group(1))) else None
    try:
        if path.stat().st_size == 0:
            return None, "empty"
        meta = pq.read_metadata(path)
    except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
        return None, "truncated"
    kv = meta.metadata or {}
    if index is None or kv.get(META_STUDY) != fingerprint.encode():
        return None, "foreign"
    first, stop = layout.scenarios(index)
    try:
        ranges = json.loads(kv.get(META_SCENARIOS, b"null"))
    except ValueError:
        ranges = None
    if ranges != [[first, stop]]:
        return None, "foreign"
    rows = kv.get(META_ROWS)
    if (rows is None or not rows.isdigit() or "P1" not in meta.schema.names
            or kv.get(META_SCHEMA, CURRENT_SCHEMA) != CURRENT_SCHEMA):
        return None, "empty" if meta.num_rows == 0 else "unverifiable"
    rows = int(rows)
    if meta.num_rows != rows:
        return None, "empty" if meta.num_rows == 0 else "truncated"
    try:
        column = meta.schema.names.index("scenario")
    except ValueError:
        return None, "foreign"
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(column).statistics
        if stats is not None and stats.has_min_max and not (first <= stats.min and stats.max < stop):
            return None, "foreign"
    return index, None


def check_parts(out, layout: Layout, fingerprint: str) -> Check:
    """Every `part-*.parquet` in `out` verified against the study's layout and fingerprint."""
    check = Check(np.zeros(len(layout), dtype=bool))
    with os.scandir(out) as entries:  # one entry at a time: no list of every file's path
        for entry in entries:
            if entry.name.startswith(FILE_PREFIX) and entry.name.endswith(".parquet"):
                _check_one(check, Path(entry.path), layout, fingerprint)
    for paths in check.bad.values():
        paths.sort()
    return check


def _check_one(check: Check, path: Path, layout: Layout, fingerprint: str) -> None:
    index, reason = _reason(path, layout, fingerprint)
    if reason is not None:
        check.bad[reason].append(path)
        return
    check.done[index] = True
    first, stop = layout.scenarios(index)
    check.scenarios += stop - first
