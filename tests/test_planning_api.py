"""The planning API's convention: the data first, the rest keyword-only; 0.1's positional calls and
Planner(tables) still run for one release, with a DeprecationWarning, and give the keyword form's answers;
Planner.from_tables plans as Planner(profile, topology) does on the same tables."""
import math

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast._checks import bound

FAST = "cpu" if ef.backends()["cpu"]["available"] else "numpy"
DEPRECATED = r"removed in 0\.3\.0"


@pytest.fixture(scope="module")
def models():
    return ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")


@pytest.fixture(scope="module")
def tables(models):
    profile, topology = models
    return ef.cost_tables(profile, topology, source=1, destination=3)


def configs(plans):
    return [p.config() for p in plans]


def same(a, b):
    if a is None or b is None:
        return a is b
    return (a.config(), a.latency, a.accuracy) == (b.config(), b.latency, b.accuracy)


def test_keyword_only_after_the_data(models):
    profile, topology = models
    for call in (lambda: ef.Planner(profile, topology, 1, 3, FAST, None, 2),
                 lambda: ef.min_latency(profile, topology, 0.9, 0, 0, FAST, None, None, None, 1)):
        with pytest.raises(TypeError, match="positional arguments"):
            call()


def test_positional_functions_warn_and_answer_as_keywords(models, tables):
    profile, topology = models
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.min_latency(profile, topology, 0.9, 1, 3, FAST)
    assert same(old, ef.min_latency(profile, topology, min_accuracy=0.9, source=1, destination=3, backend=FAST))
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.max_accuracy(profile, topology, 0.2, 1, 3)
    assert same(old, ef.max_accuracy(profile, topology, max_latency=0.2, source=1, destination=3))
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.pareto(profile, topology, 1, 3, FAST, None, None, 0.99)
    new = ef.pareto(profile, topology, source=1, destination=3, backend=FAST, quantile=0.99)
    assert configs(old) == configs(new) and [p.latency for p in old] == [p.latency for p in new]
    cfg = configs(new[:5])
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.evaluate(profile, topology, cfg, 1, 3)
    new = ef.evaluate(profile, topology, configs=cfg, source=1, destination=3)
    np.testing.assert_array_equal(old.latency, new.latency)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.sweep(profile, topology, 1, 3, 0.2, 0.9, FAST)
    new = ef.sweep(profile, topology, source=1, destination=3, max_latency=0.2, min_accuracy=0.9, backend=FAST)
    np.testing.assert_array_equal(old.latency, new.latency)
    np.testing.assert_array_equal(old.accuracy, new.accuracy)


def test_a_bound_or_configs_in_the_topology_slot_of_tables(tables):
    """0.1's `min_latency(tables, 0.9)` and `evaluate(tables, configs)`: the second argument sat where the
    topology goes."""
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.min_latency(tables, 0.9)
    assert same(old, ef.min_latency(tables, min_accuracy=0.9))
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.max_accuracy(tables, 0.2)
    assert same(old, ef.max_accuracy(tables, max_latency=0.2))
    cfg = [old.config()]
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        ev = ef.evaluate(tables, cfg)
    np.testing.assert_array_equal(ev.latency, ef.evaluate(tables, configs=cfg).latency)
    with pytest.raises(TypeError, match="min_accuracy: given twice"):
        ef.min_latency(tables, 0.9, min_accuracy=0.8)


def test_positional_planner_calls_warn_and_answer_as_keywords(models):
    profile, topology = models
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        old = ef.Planner(profile, topology, 1, 3, FAST)
    new = ef.Planner(profile, topology, source=1, destination=3, backend=FAST)
    assert (old.source, old.destination, old.backend) == (new.source, new.destination, new.backend)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert same(old.min_latency(0.9), new.min_latency(min_accuracy=0.9))
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert same(old.max_accuracy(0.2, None, 0.99), new.max_accuracy(max_latency=0.2, quantile=0.99))
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        assert configs(old.pareto(60)) == configs(new.pareto(time_limit=60))
    plan = new.min_latency(min_accuracy=0.9)
    with pytest.warns(DeprecationWarning, match=DEPRECATED):
        again = ef.Plan(plan.latency, plan.accuracy, *plan.config(), profile, topology, 1, 3)
    assert again.to_dict() == plan.to_dict()


def test_planner_of_tables_warns_and_equals_from_tables(tables):
    with pytest.warns(DeprecationWarning, match=r"Planner\.from_tables.*removed in 0\.3\.0"):
        old = ef.Planner(tables)
    new = ef.Planner.from_tables(tables)
    assert old.topology is None and new.topology is None
    assert configs(old.pareto()) == configs(new.pareto())
    assert same(old.min_latency(min_accuracy=0.9), new.min_latency(min_accuracy=0.9))
    with pytest.raises(TypeError, match="topology: not used"):
        ef.Planner(tables, ef.Topology.preset("mobile"))


def test_from_tables_equals_the_models_planner(models, tables):
    profile, topology = models
    on_models = ef.Planner(profile, topology, source=1, destination=3, backend=FAST)
    on_tables = ef.Planner.from_tables(tables, backend=FAST)
    for a, b in zip(on_models.tables, on_tables.tables):
        np.testing.assert_array_equal(a, b)
    front_m, front_t = on_models.pareto(), on_tables.pareto()
    assert configs(front_m) == configs(front_t)
    assert [(p.latency, p.accuracy) for p in front_m] == [(p.latency, p.accuracy) for p in front_t]
    for x in (0.5, 0.9, 0.92):
        assert on_models.min_latency(min_accuracy=x).config() == on_tables.min_latency(min_accuracy=x).config()
    for y in (0.05, 0.1, 0.3):
        m, t = on_models.max_accuracy(max_latency=y), on_tables.max_accuracy(max_latency=y)
        assert (m and m.config()) == (t and t.config())
    p99_m = on_models.min_latency(min_accuracy=0.9, quantile=0.99)
    assert p99_m.config() == on_tables.min_latency(min_accuracy=0.9, quantile=0.99).config()
    with pytest.raises(ValueError, match="CostTables"):
        on_tables.set_bandwidth(0, 1e6)


def test_threads_reach_the_search_and_are_checked(models):
    profile, topology = models
    one = ef.Planner(profile, topology, backend=FAST, threads=1)
    every = ef.Planner(profile, topology, backend=FAST)
    assert one.threads == 1 and every.threads == 0
    assert configs(one.pareto()) == configs(every.pareto())
    assert same(ef.min_latency(profile, topology, min_accuracy=0.9, threads=2),
                ef.min_latency(profile, topology, min_accuracy=0.9))
    rows = ef.sweep(profile, topology, max_latency=0.1, threads=2)
    np.testing.assert_array_equal(rows.latency, ef.sweep(profile, topology, max_latency=0.1).latency)
    with pytest.raises(ValueError, match=r"threads = -1: must be in 0\.\.1024"):
        ef.Planner(profile, topology, threads=-1)
    with pytest.raises(TypeError, match="threads: expected an integer"):
        ef.pareto(profile, topology, threads=1.5)
    # the numpy reference takes no threads: it is not passed there
    assert configs(ef.pareto(profile, topology, backend="numpy", threads=2)) == configs(every.pareto())


def test_one_bound_rule():
    """_checks.bound, for sweep and the Planner alike: 10**400 is the infinity of its sign as a bound, refused
    as a network value; strings, booleans and nan are refused by name."""
    assert bound("max_latency", 10**400) == math.inf and bound("min_accuracy", -10**400) == -math.inf
    assert bound("max_latency", None, default=math.inf) == math.inf
    with pytest.raises(ValueError, match="bandwidth = an integer of 401 digits: too large for a float64"):
        bound("bandwidth", 10**400, huge_is_infinite=False)
    for value in ("0.2", True, None, 1j):
        with pytest.raises(TypeError, match=r"max_latency = .*: expected a number"):
            bound("max_latency", value)
    with pytest.raises(ValueError, match="max_latency = nan: must be a number"):
        bound("max_latency", float("nan"))


def test_sweep_takes_a_huge_bound_as_the_planner_does(models):
    profile, topology = models
    unbounded = ef.sweep(profile, topology, backend=FAST)
    np.testing.assert_array_equal(ef.sweep(profile, topology, max_latency=10**400, backend=FAST).latency,
                                  unbounded.latency)
    planner = ef.Planner(profile, topology, backend=FAST)
    assert planner.max_accuracy(max_latency=10**400).config() == planner.max_accuracy(max_latency=math.inf).config()
