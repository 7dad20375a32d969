"""The columns of a study's results: one row per scenario and plan (or sweep row), every file the same.

scenario (number in the study), scenario_id (hash of what the scenario is, the same in any study),
profile, topology, source, destination (labels and tier names), one float column per varied parameter
(null where a topology does not vary it), time (when a trace gives one), min_accuracy and max_latency
(the scenario's bound, null where absent), in a study with energy_tiers max_energy (J, likewise), quantile
(the latency statistic of the bound and of the latency column: null for the mean, q for the q-quantile), in a
study with a load in some bound rate, fleet, link_queues and queues (samples/s per source, sources, whether links
queue, mg1 or qna; null where a scenario has none, and its latency is then the mean under that load), kind
(frontier, P_lat, P_acc, P_energy or row), point (the row's place among its scenario's rows of that kind),
found (false: the one row of a scenario with no plan under its bound, its values null), then latency (s),
accuracy, threshold_index, threshold, and P1..P16, A1..A16 (P and A, -1 padded to ROW_WIDTH = MAX_TIERS
slots: every part of a study has the same columns; io/arrow.py), and in a study with energy_tiers energy
(J per sample, counting those tiers). A study without energy_tiers writes neither energy column, and one
without a rate no load column, as before.
"""
from __future__ import annotations

import json

import pyarrow as pa

from ..io.arrow import ROW_FIELDS

LABEL = pa.dictionary(pa.int32(), pa.string())
KINDS = ("frontier", "P_lat", "P_acc", "P_energy", "row")
OPTIONAL_COLUMNS = ("max_energy", "energy")  # only in a study with energy_tiers
FILE_PREFIX = "part-"
META_SCENARIOS = b"eepart.scenarios"
META_STUDY = b"eepart.study"
META_ROWS = b"eepart.rows"  # rows the task wrote: a resumed run checks the footer's count against it


def result_schema(param_columns: list, has_time: bool, energy: bool = False, load: bool = False) -> pa.Schema:
    """The study's columns; with `energy` (a study with energy_tiers) max_energy after max_latency and
    energy (J per sample) last; with `load` (a rate in some bound) rate, fleet, link_queues and queues after
    quantile."""
    fields = [pa.field("scenario", pa.int64()), pa.field("scenario_id", pa.string()),
              pa.field("profile", LABEL), pa.field("topology", LABEL),
              pa.field("source", LABEL), pa.field("destination", LABEL)]
    fields += [pa.field(c, pa.float64()) for c in param_columns]
    if has_time:
        fields.append(pa.field("time", pa.float64()))
    fields += [pa.field("min_accuracy", pa.float64()), pa.field("max_latency", pa.float64())]
    fields += [pa.field("max_energy", pa.float64())] if energy else []
    fields += [pa.field("quantile", pa.float64())]
    if load:
        fields += [pa.field("rate", pa.float64()), pa.field("fleet", pa.int32()), pa.field("link_queues", pa.bool_()),
                   pa.field("queues", LABEL)]
    fields += [pa.field("kind", LABEL), pa.field("point", pa.int32()), pa.field("found", pa.bool_())]
    return pa.schema(fields + ROW_FIELDS + ([pa.field("energy", pa.float64())] if energy else []))


def encode_ranges(scenarios) -> bytes:
    """Sorted scenario numbers as [[start, stop), ...] runs: a file's scenarios, kept in its metadata."""
    if isinstance(scenarios, range) and scenarios.step == 1:  # a batch: one run
        return json.dumps([[scenarios.start, scenarios.stop]] if len(scenarios) else [], separators=(",", ":")).encode()
    runs = []
    for s in map(int, scenarios):
        if runs and runs[-1][1] == s:
            runs[-1][1] = s + 1
        else:
            runs.append([s, s + 1])
    return json.dumps(runs, separators=(",", ":")).encode()


def decode_ranges(blob: bytes) -> list:
    runs = json.loads(blob)
    if not isinstance(runs, list) or not all(isinstance(r, list) and len(r) == 2 and all(isinstance(x, int) for x in r)
                                             and 0 <= r[0] < r[1] for r in runs):
        raise ValueError("eepart.scenarios metadata: expected [[start, stop], ...]")
    return runs
