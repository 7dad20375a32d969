"""The model, engine and io layers' convention: the data first, the rest keyword-only; 0.1's positional
calls still run for one release, with a DeprecationWarning, and give the keyword form's answers; errors
are told apart by type, never by their message."""
import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.io import Evaluation, SweepResult
from eepart_fast.model.topology import YamlRefused

DEPRECATED = r"removed in 0\.3\.0"


@pytest.fixture(scope="module")
def models():
    return ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")


def test_positional_calls_warn_and_answer_as_keywords(models):
    profile, topology = models
    want = ef.cost_tables(profile, topology, source=1, destination="cloud")
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        got = ef.cost_tables(profile, topology, 1, "cloud")
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert topology.tier("cloud", "where") == topology.tier("cloud", field="where") == 3
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert topology.with_link(0, 1e6, 0.5).to_dict() == topology.with_link(0, bandwidth=1e6, latency=0.5).to_dict()
    args = (["a", "b"], [2.0, 1.0], [1e6], [0.01])
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.Topology.chain(*args, "bottleneck")
    assert old.to_dict() == ef.Topology.chain(*args, route_rule="bottleneck").to_dict()
    links = [["a", "b", 1e6, 0.01]]
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.Topology.from_graph(["a", "b"], [2.0, 1.0], links, "shortest", "hops")
    assert old.to_dict() == ef.Topology.from_graph(["a", "b"], [2.0, 1.0], links, route_by="hops").to_dict()
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = profile.with_accuracy(profile.accuracy, "custom")
    assert old.accuracy_estimator == "custom"
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert ef.frontier_indices([1.0, 2.0], [0.5, 0.6], 0.0).tolist() == [0, 1]
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert Evaluation(np.zeros(1), np.ones(1), "numpy", 0.5).latency_statistic == "p50"


def test_keyword_only_after_the_data(models):
    profile, topology = models
    with pytest.raises(TypeError, match="positional arguments"):
        ef.cost_tables(profile, topology, 0, 0, 0)
    with pytest.raises(TypeError, match="multiple values"):
        topology.tier("cloud", "where", field="there")


def test_constructors_take_options_by_keyword(models):
    profile, topology = models
    d = profile.to_dict()
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.Profile(*(d[f] for f in ("block_time", "branch_time", "output_bits", "input_bits", "result_bits",
                                          "accuracy", "thresholds", "exit_rate")), "named")
    assert old.name == "named"
    rows = ef.sweep(profile, topology, max_latency=0.02, backend="numpy")
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = SweepResult(rows.columns(), rows.thresholds, rows.tier_names, "numpy")
    assert old.backend == "numpy" and len(old) == len(rows)


def test_yaml_refusals_are_their_own_type(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("names: &n [a, b]\nratio: [1, 1]\nbandwidth: [1e6]\nlatency: [0.01]\nother: *n\n")
    with pytest.raises(ValueError, match="aliases"):
        ef.Topology.load(path)
    assert issubclass(YamlRefused, ValueError)


def test_accuracy_of_the_wrong_shape_says_both_shapes(models):
    profile, _ = models
    with pytest.raises(ValueError, match=r"accuracy: expected shape.*with a row per threshold"):
        profile.with_accuracy(np.zeros(3), estimator="custom")
    d = profile.to_dict()
    d["block_time"] = d["block_time"][:-1]
    with pytest.raises(ValueError, match=r"block_time: expected shape \(10,\).*N = 10 blocks by"):
        ef.Profile.from_dict(d)


def test_engine_backends_stays_the_function():
    ef.backends()  # loads the backend modules, whose package shares the name
    assert callable(ef.engine.backends) and ef.engine.backends is ef.backends
