"""The worked example of docs/model.md: five rows computed by hand, on every backend, to 1e-9 ms."""
import numpy as np
import pytest

import eepart_fast as ef

ROWS = [  # t, P, A, D, latency (ms), accuracy
    (1, [1, 3], [1, 3], 0, 384.587930, 0.81),
    (1, [2], [0], 0, 2750.000000, 0.75),
    (1, [1, 2, 3], [0, 1, 3], 3, 1746.894592, 0.78),
    (0, [2, 3], [2, 1], 0, 375.935600, 0.90),
    (1, [1, 3], [3, 1], 0, 476.501882, 0.81),
]
# docs/model.md prints six decimals; the first row's sum by hand has more.
FIRST_ROW_EXACT_MS = 384.5879296


def spec_profile():
    return ef.Profile(block_time=[2e-3, 3e-3, 4e-3], branch_time=[0.5e-3, 0.5e-3, 1e-3],
                      output_bits=[262144, 131072, 65536], input_bits=98304, result_bits=320,
                      accuracy=[0.60, 0.75, 0.90], thresholds=[0.0, 0.5], exit_rate=[[0, 0, 1], [0.3, 0.2, 0.5]])


@pytest.mark.parametrize("row", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_worked_example(backend, row):
    t, P, A, D, latency_ms, accuracy = row
    r = ef.evaluate(spec_profile(), ef.Topology.preset("mobile"), configs=[(t, P, A)], source=0, destination=D,
                    backend=backend)
    assert r.latency.dtype == np.float64
    assert abs(r.latency[0] * 1e3 - latency_ms) < 5e-7  # docs/model.md rounds to 1e-6 ms
    assert abs(r.accuracy[0] - accuracy) < 1e-12


def test_first_row_by_hand(backend):
    r = ef.evaluate(spec_profile(), ef.Topology.preset("mobile"), configs=[(1, [1, 3], [1, 3])], backend=backend)
    assert abs(r.latency[0] * 1e3 - FIRST_ROW_EXACT_MS) < 1e-9


def test_tier_names_in_configs(backend):
    topo = ef.Topology.preset("mobile")
    by_name = ef.evaluate(spec_profile(), topo, configs=[(1, [1, 3], ["smartphone", "cloud"])], backend=backend)
    by_index = ef.evaluate(spec_profile(), topo, configs=[(1, [1, 3], [1, 3])], backend=backend)
    assert by_name.latency[0] == by_index.latency[0]
    assert ef.evaluate(spec_profile(), topo, configs=[(1, [1, 3], [1, 3])], destination="cloud",
                       backend=backend).latency[0] == ef.evaluate(spec_profile(), topo, configs=[(1, [1, 3], [1, 3])],
                                                                  destination=3, backend=backend).latency[0]


def test_breakdown_matches_rows():
    """The plan breakdown, read from the cost tables, adds up to each row, as does the raw model."""
    from eepart_fast.planning.plan import breakdown

    from _raw_model import latency_accuracy

    topo = ef.Topology.preset("mobile")
    for t, P, A, D, latency_ms, accuracy in ROWS:
        raw = latency_accuracy(spec_profile(), topo, 0, D, t, P, A)
        assert abs(raw[0] * 1e3 - latency_ms) < 5e-7 and abs(raw[1] - accuracy) < 1e-12
        b = breakdown(ef.cost_tables(spec_profile(), topo, source=0, destination=D), t, P, A)
        assert abs(b["latency"] * 1e3 - latency_ms) < 5e-7
        assert abs(b["accuracy"] - accuracy) < 1e-12
        parts = b["partitions"]
        assert abs(b["input"] + sum(p["compute"] + p["forward"] + p["result"] for p in parts) - b["latency"]) < 1e-15
