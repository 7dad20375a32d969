"""The compiled move-table fill (`_core.MoveFill`, cpp/model/move_fill.hpp) against its formula in Python
(model/tables.py MoveFiller.all), to the bit, and a re-plan's tables and engine copy through it against
the network built from scratch."""
import math

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast._checks import MAX_COST
from eepart_fast.model.tables import MoveFiller

from test_fillers import FILLERS, instance


def bits(a):
    """The array's bits: equal values that differ in sign of zero or NaN payload differ here."""
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def engine_moves(tables):
    return tables.input_cost, tables.forward_cost, tables.result_cost


@pytest.mark.parametrize("filler", FILLERS)
@pytest.mark.parametrize("seed", range(4))
def test_compiled_fill_gives_the_formulas_bits_and_the_engine_copy_with_moves_gives(filler, seed):
    profile, topo, _, _ = instance(filler, seed)
    fill = MoveFiller(profile, topo)
    base = _core.Tables(*ef.cost_tables(profile, topo))
    rng = np.random.default_rng(seed)
    # Other routes of the same tiers: the routes a link change would give.
    pl = topo.path_latency * rng.uniform(0.5, 2.0, topo.path_latency.shape)
    inv = topo.path_inv_bandwidth * rng.uniform(0.5, 2.0, topo.path_inv_bandwidth.shape)
    for source in range(topo.M):
        for destination in range(topo.M):
            with np.errstate(over="ignore"):
                want = fill.all(pl, inv, source, destination)
            *got, engine = fill.compiled().moved(base, pl, inv, source, destination, MAX_COST)
            for w, g, name in zip(want, got, ("input_cost", "forward_cost", "result_cost")):
                assert g.shape == w.shape, name
                np.testing.assert_array_equal(bits(g), bits(w), err_msg=name)
                assert not g.flags.writeable, name
            expected = base.with_moves(*want)
            for w, g in zip(engine_moves(expected), engine_moves(engine)):
                np.testing.assert_array_equal(bits(g), bits(w))
            assert np.array_equal(engine.compute_cost, base.compute_cost)


def test_an_entry_over_max_cost_or_nan_gives_the_tables_without_an_engine_copy():
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    fill, base = MoveFiller(profile, topo), _core.Tables(*ef.cost_tables(profile, topo))
    inv = topo.path_inv_bandwidth.copy()
    inv[0, 1] = inv[1, 0] = 1e299  # times a tensor's bits: over MAX_COST (1e300 s)
    *moves, engine = fill.compiled().moved(base, topo.path_latency, inv, 0, 0, MAX_COST)
    assert engine is None and moves[1].max() > MAX_COST
    *_, engine = fill.compiled().moved(base, topo.path_latency, inv, 0, 0, math.inf)
    assert engine is not None  # the bound is the caller's: the engine's own rule allows 1e305 s
    inv[0, 1] = np.nan
    *_, engine = fill.compiled().moved(base, topo.path_latency, inv, 0, 0, math.inf)
    assert engine is None


def test_bad_arguments_name_the_field():
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    fill, base = MoveFiller(profile, topo).compiled(), _core.Tables(*ef.cost_tables(profile, topo))
    pl, inv = topo.path_latency, topo.path_inv_bandwidth
    with pytest.raises(ValueError, match=r"path_latency: expected shape \(4, 4\), got \(3, 4\)"):
        fill.moved(base, pl[:3], inv, 0, 0, MAX_COST)
    with pytest.raises(ValueError, match=r"path_inv_bandwidth: expected shape \(4, 4\), got \(16,\)"):
        fill.moved(base, pl, inv.ravel(), 0, 0, MAX_COST)
    with pytest.raises(ValueError, match=r"source = 4: expected a tier index in 0..3"):
        fill.moved(base, pl, inv, 4, 0, MAX_COST)
    with pytest.raises(ValueError, match=r"destination = -1: expected a tier index in 0..3"):
        fill.moved(base, pl, inv, 0, -1, MAX_COST)
    three = ef.Topology.chain(["a", "b", "c"], [10.0, 1.0, 0.5], [1e6, 1e7], [0.01, 0.02])
    other = _core.Tables(*ef.cost_tables(profile, three))
    with pytest.raises(ValueError, match=r"base: tables of N = 10, M = 3, this fill's are N = 10, M = 4"):
        fill.moved(other, pl, inv, 0, 0, MAX_COST)
    with pytest.raises(ValueError, match=r"receive: expected shape \(4, 12\), got \(4, 11\)"):
        _core.MoveFill(np.ones(12), np.zeros((4, 12)), np.zeros((4, 11)))
    with pytest.raises(ValueError, match=r"bits: expected a 1-D array of N\+2"):
        _core.MoveFill(np.ones(2), np.zeros((4, 2)), np.zeros((4, 2)))


@pytest.mark.parametrize("filler", ["serialize_per_tensor", "everything", "graph_store_and_forward", "block_time"])
@pytest.mark.parametrize("seed", range(3))
def test_a_searched_planner_after_link_changes_holds_the_tables_and_engine_copy_built_from_scratch(filler, seed):
    """A re-plan (a link change on a state the engine has searched) goes through the compiled fill: its
    tables, to the bit, and the engine's copy are those of the changed topology built from scratch."""
    profile, topo, src, dst = instance(filler, seed, M=4)
    planner = ef.Planner(profile, topo, source=src, destination=dst)
    rng = np.random.default_rng(seed)
    kind = "chain" if topo.links is not None else "graph"
    count = topo.M - 1 if kind == "chain" else len(topo.graph["links"])
    for _ in range(6):
        planner.pareto()  # the state the change is made to has its engine copy
        link = int(rng.integers(count))
        if rng.random() < 0.5:
            planner.set_bandwidth(link, float(10 ** rng.uniform(5, 9)))
        else:
            planner.set_latency(link, float(rng.uniform(0, 0.05)))
        assert planner._state._engine is not None  # the compiled path was taken
        scratch = ef.cost_tables(profile, planner.topology, source=src, destination=dst)
        for name, a, b in zip(scratch._fields, planner.tables, scratch):
            np.testing.assert_array_equal(bits(a), bits(b), err_msg=name)
        want = _core.Tables(*scratch)
        for a, b in zip(engine_moves(planner._state.engine_tables()), engine_moves(want)):
            np.testing.assert_array_equal(bits(a), bits(b))
        fresh = ef.Planner(profile, planner.topology, source=src, destination=dst)
        assert [p.config() for p in planner.pareto()] == [p.config() for p in fresh.pareto()]


def test_a_link_change_to_costs_over_max_cost_is_refused_at_the_search_naming_the_entry():
    planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    planner.pareto()
    planner.set_bandwidth(0, 1e-297)  # 1/bandwidth is finite, bits x 1e297 s is not below MAX_COST
    with pytest.raises(ValueError, match=r"input_cost\[1\] = .* must be finite"):
        planner.min_latency(min_accuracy=0.5)
    planner.set_bandwidth(0, 5e5)  # back to a bandwidth the model takes: planned again
    assert planner.min_latency(min_accuracy=0.5) is not None
