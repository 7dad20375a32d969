"""experiments/load_vs_runtime.py: its queue simulation against hand-computed cases, and its committed results
against what docs/model.md "Load" says of them."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.model.load import Load, LoadModel

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results" / "load" / "results.json"


@pytest.fixture(scope="module")
def experiment():
    pytest.importorskip("torch")
    pytest.importorskip("zmq")
    spec = importlib.util.spec_from_file_location("load_vs_runtime", ROOT / "experiments" / "load_vs_runtime.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_simulate_by_hand(experiment):
    # Two FIFO servers: A (2 s, then 1 s delay), B (3 s). Arrivals 0, 1, 10.
    paths = [[("A", 2.0, 1.0), ("B", 3.0, 0.0)]] * 3
    got = experiment.simulate(paths, np.array([0.0, 1.0, 10.0]))
    # A: 0-2, 2-4, 10-12; B gets 3, 5, 13: 3-6, 6-9, 13-16.
    assert got.tolist() == [6.0, 8.0, 6.0]
    # Handling adds to A's service: A 0-3, 3-6, 10-13; B gets 4, 7, 14: 4-7, 7-10, 14-17.
    assert experiment.simulate(paths, np.array([0.0, 1.0, 10.0]), {"A": 1.0}).tolist() == [7.0, 9.0, 7.0]
    # A path that skips a server (an early exit) passes it by.
    mixed = [[("A", 2.0, 0.0)], [("A", 2.0, 0.0), ("B", 3.0, 0.0)]]
    assert experiment.simulate(mixed, np.array([0.0, 0.0])).tolist() == [2.0, 7.0]


def test_routes_give_the_unloaded_model(experiment):
    """Through idle servers a sample's simulated latency is the model's latency for its exit."""
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), experiment.topology()
    model = LoadModel(profile, topo, load=Load(1.0))
    config = (7, [4, 10], [1, 2])
    paths = experiment.routes(model, config, np.array([1, 2]))
    got = experiment.simulate(paths, np.array([0.0, 100.0]))
    tables = model.tables
    first = tables.input_cost[1] + tables.compute_cost[1, 0, 4] + tables.result_cost[1]
    second = (tables.input_cost[1] + tables.compute_cost[1, 0, 4] + tables.forward_cost[3, 1, 2]
              + tables.compute_cost[2, 4, 10] + tables.result_cost[2])
    assert got == pytest.approx([first, second], rel=1e-12)


def test_committed_results():
    """Five plans or more with different bottleneck servers, every rate run; the load-aware plan misses fewer
    deadlines than the one-sample optimum at some rate (docs/model.md "Load")."""
    d = json.loads(RESULTS.read_text())
    plans = d["plans"]
    assert len({tuple(p["bottleneck"]) for p in plans}) >= 5
    for i, _p in enumerate(plans):
        for u in (0.1, 0.3, 0.5, 0.7, 0.8, 0.9):
            row = d["runs"][f"open/{i}/{u}"]
            assert row["samples"] >= 100 and "model" in row
    v = d["versus"]
    assert any(d["runs"][f"versus/{r}/aware"]["misses"][k] < d["runs"][f"versus/{r}/idle"]["misses"][k]
               for r in v["rates"] for k in range(len(v["rates"][r]["deadlines"])))


@pytest.mark.parametrize(("config", "within"), [((0, [2, 10], [0, 1]), 0.06), ((0, [3, 10], [0, 2]), 0.06),
                                               ((0, [4, 10], [0, 1]), 0.15)])
def test_qna_follows_long_ideal_runs(experiment, config, within):
    """Tandems (the device, then a 10 Mbit/s device-edge link, then edge or cloud; no early exits) at 0.8 of
    capacity, 20 000 Poisson arrivals through ideal FIFO servers: M/G/1 overstates the waits after the device
    (its departures are smoother than Poisson), QNA follows the run; least well (+14 %) where the device
    (41.4 ms) feeds a link of nearly the same service (40.1 ms), which then never waits: QNA sees only the
    departures' c^2, not their least spacing (docs/model.md "Tandem queues")."""
    profile = ef.Profile.preset("resnet20-fashionmnist")
    topo = ef.Topology.chain(["device", "edge", "cloud"], [20.0, 6.0, 2.0], [10e6, 50e6], [0.005, 0.020])
    model = LoadModel(profile, topo, load=Load(1.0))
    cap, _key = experiment.capacity(model, config)
    rate = 0.8 * cap
    rng = np.random.default_rng(7)
    exits = 1 + rng.choice(len(config[1]), 20000, p=experiment.exit_shares(model, config))
    run = experiment.simulate(experiment.routes(model, config, exits),
                              np.cumsum(rng.exponential(1.0 / rate, len(exits)))).mean()
    mg1 = model.evaluate(config, rate=rate).latency
    qna = LoadModel(profile, topo, load=Load(rate, queues="qna")).evaluate(config).latency
    assert mg1 / run - 1 > 0.12
    assert abs(qna / run - 1) < within
    assert abs(qna / run - 1) < abs(mg1 / run - 1) / 2
