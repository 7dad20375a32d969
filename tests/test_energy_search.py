"""The exact search with energy (docs/model.md "Energy"): max_energy on the 2-D frontier, min_energy and the
3-objective frontier of the compiled search against every configuration of the NumPy reference
(every_configuration_energy) on random instances and the shipped profiles, bit for bit; the energy column;
the errors."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.engine import reference
from eepart_fast.engine.frontier import frontier3_indices, frontier_indices
from eepart_fast.model.energy import energy_tables

from _instances import instances, random_topology
from test_energy_engine import case
from test_energy_model import with_random_energy

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONFIG = ("threshold_index", "num_partitions", "partitions", "placement")
VALUES = ("latency", "accuracy", "energy")


def feasible(every, min_accuracy=-np.inf, max_latency=np.inf, max_energy=np.inf):
    return np.flatnonzero((every["accuracy"] >= min_accuracy) & (every["latency"] <= max_latency)
                          & (every["energy"] <= max_energy))


def assert_rows(got, every, idx, configs=True):
    """The search's rows are every's rows idx, values (energy included) bit for bit, and where asked the
    configurations too; every row re-evaluates to its values."""
    assert got["latency"].shape == (idx.size,), (got["latency"], every["latency"][idx])
    for key in VALUES + (CONFIG if configs else ()):
        np.testing.assert_array_equal(np.asarray(got[key]), every[key][idx], err_msg=key)


def assert_reevaluates(tables, energy, got):
    if got["latency"].size:
        packed = [np.asarray(got[k]).astype(np.int64) for k in CONFIG]
        for key, column in zip(VALUES, reference.evaluate(tables, *packed, energy=energy)):
            np.testing.assert_array_equal(got[key], column, err_msg=key)


def least_energy(every, **bounds):
    keep = feasible(every, **bounds)
    return keep[frontier_indices(every["energy"][keep], every["accuracy"][keep])[:1]]


def drawn(every, data, key, low=0.0, high=1.0):
    return float(np.quantile(every[key], data.draw(st.floats(low, high))))


@SETTINGS
@given(inst=instances(max_N=8, max_M=4, max_K=3), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_max_energy_frontier_is_the_feasible_rows_frontier(inst, seed, data):
    """The 2-D frontier of the plans within max_energy (and the other bounds): frontier_indices over every
    configuration meeting them; min_latency and max_accuracy are its ends."""
    tables, energy, _ = case(inst, seed)
    every = reference.every_configuration_energy(tables, energy)
    bounds = {"max_energy": drawn(every, data, "energy"), "min_accuracy": drawn(every, data, "accuracy", 0, 0.6),
              "max_latency": drawn(every, data, "latency", 0.3, 1)}
    if data.draw(st.booleans()):
        bounds.update(min_accuracy=-np.inf, max_latency=np.inf)
    keep = feasible(every, **bounds)
    want = keep[frontier_indices(every["latency"][keep], every["accuracy"][keep])]
    got = _core.pareto(tables, energy=energy, **bounds)
    assert_rows(got, every, want, configs=False)
    assert_reevaluates(tables, energy, got)
    assert np.all(got["energy"] <= bounds["max_energy"])


@SETTINGS
@given(inst=instances(max_N=8, max_M=4, max_K=3), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_min_energy_is_the_least_feasible_row(inst, seed, data):
    """P_lat with energy for latency: the first point of the (energy, accuracy) frontier (frontier_indices)
    of every configuration meeting min_accuracy and max_latency (either, both or none)."""
    tables, energy, _ = case(inst, seed)
    every = reference.every_configuration_energy(tables, energy)
    bounds = {}
    if data.draw(st.booleans()):
        bounds["min_accuracy"] = drawn(every, data, "accuracy")
    if data.draw(st.booleans()):
        bounds["max_latency"] = drawn(every, data, "latency")
    got = _core.min_energy(tables, energy=energy, **bounds)
    assert_rows(got, every, least_energy(every, **bounds))


@SETTINGS
@given(inst=instances(max_N=8, max_M=4, max_K=3), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_frontier3_is_frontier3_indices_over_every_configuration(inst, seed, data):
    tables, energy, _ = case(inst, seed)
    every = reference.every_configuration_energy(tables, energy)
    bounds = {}
    if data.draw(st.booleans()):
        bounds = {"min_accuracy": drawn(every, data, "accuracy", 0, 0.7),
                  "max_latency": drawn(every, data, "latency", 0.3, 1),
                  "max_energy": drawn(every, data, "energy", 0.3, 1)}
    keep = feasible(every, **bounds)
    want = keep[frontier3_indices(every["latency"][keep], every["accuracy"][keep], every["energy"][keep])]
    got = _core.pareto(tables, energy=energy, objectives=3, **bounds)
    assert_rows(got, every, want)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(max_N=7, max_M=4, max_K=2), seed=st.integers(0, 2**32 - 1),
       degenerate=st.sampled_from(["energy is latency", "zero energy", "coarse"]))
def test_degenerate_energies(inst, seed, degenerate):
    """Energy equal to the latency, energy all zero, or every value on a coarse grid: many exact ties in
    the third coordinate, which dominance and the tie rule must settle as the reference does."""
    tables, energy, _ = case(inst, seed)
    if degenerate == "energy is latency":
        energy = type(energy)(*tables[:4])
    elif degenerate == "zero energy":
        energy = type(energy)(*(np.zeros_like(t) for t in energy))
    else:
        tables = type(tables)(*(np.round(t * 4) / 4 if i < 4 else t for i, t in enumerate(tables)))
        energy = type(energy)(*(np.round(t / t.max() * 3) if t.max() > 0 else t for t in energy))
    every = reference.every_configuration_energy(tables, energy)
    want = frontier3_indices(every["latency"], every["accuracy"], every["energy"])
    assert_rows(_core.pareto(tables, energy=energy, objectives=3), every, want, configs=False)
    assert_rows(_core.min_energy(tables, energy=energy), every, least_energy(every), configs=False)
    cap = float(np.median(every["energy"]))
    keep = feasible(every, max_energy=cap)
    want = keep[frontier_indices(every["latency"][keep], every["accuracy"][keep])]
    assert_rows(_core.pareto(tables, energy=energy, max_energy=cap), every, want, configs=False)


@pytest.mark.parametrize("profile", ["resnet20-fashionmnist", "mobilenetv2-fashionmnist"])
@pytest.mark.parametrize("tiers", ["source", "all"])
def test_shipped_profiles_on_the_energy_preset(profile, tiers):
    """The shipped profiles on the mobile chain with its radio and power presets: every question against
    every configuration, configurations included."""
    p, topo = ef.Profile.preset(profile), ef.Topology.preset("mobile-energy")
    tables, energy = ef.cost_tables(p, topo), energy_tables(p, topo, energy_tiers=tiers)
    every = reference.every_configuration_energy(tables, energy)
    assert_rows(_core.pareto(tables, energy=energy, objectives=3), every,
                frontier3_indices(every["latency"], every["accuracy"], every["energy"]))
    min_acc, max_lat = np.quantile(every["accuracy"], 0.8), np.quantile(every["latency"], 0.3)
    assert_rows(_core.min_energy(tables, energy=energy, min_accuracy=min_acc, max_latency=max_lat), every,
                least_energy(every, min_accuracy=min_acc, max_latency=max_lat))
    cap = float(np.quantile(every["energy"], 0.2))
    keep = feasible(every, max_energy=cap)
    assert_rows(_core.pareto(tables, energy=energy, max_energy=cap), every,
                keep[frontier_indices(every["latency"][keep], every["accuracy"][keep])])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_energy_filled_from_a_topology(seed):
    """Energy tables the filler makes from random powers and radios (not random tables): the 3-D frontier."""
    rng = np.random.default_rng(seed)
    from _instances import random_profile

    profile, topo = random_profile(rng, int(rng.integers(2, 8)), int(rng.integers(1, 3))), random_topology(rng, 3)
    topo, tiers = with_random_energy(rng, topo, 0)
    tables, energy = ef.cost_tables(profile, topo), energy_tables(profile, topo, energy_tiers=tiers)
    every = reference.every_configuration_energy(tables, energy)
    assert_rows(_core.pareto(tables, energy=energy, objectives=3), every,
                frontier3_indices(every["latency"], every["accuracy"], every["energy"]))


def test_energy_column_and_options_object():
    """Tables that carry energy give the plain frontier an energy column (evaluate's); the options object
    holds max_energy and objectives, with defaults."""
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables, energy = ef.cost_tables(p, topo), energy_tables(p, topo)
    got = _core.pareto(_core.Tables(*tables, energy=energy))
    assert_reevaluates(tables, energy, got)
    assert "energy" not in _core.pareto(tables)
    opt = _core.SearchOptions()
    assert (opt.max_energy, opt.objectives) == (np.inf, 2)
    opt.objectives, opt.max_energy = 3, 0.05
    assert "objectives=3" in repr(opt) and "max_energy=0.05" in repr(opt)
    a = _core.pareto(tables, energy=energy, options=opt)
    b = _core.pareto(tables, energy=energy, objectives=3, max_energy=0.05)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    many = _core.pareto(tables, energy=energy, objectives=3, threads=2)
    single = _core.pareto(tables, energy=energy, objectives=3, threads=1)
    for key in many:
        np.testing.assert_array_equal(many[key], single[key])


@pytest.mark.parametrize("kwargs, error, message", [
    ({"max_energy": 1.0}, ValueError, "max_energy: the tables carry no energy tables"),
    ({"objectives": 3}, ValueError, "the 3-objective frontier: the tables carry no energy tables"),
    ({"objectives": 4}, ValueError, "objectives = 4: must be 2"),
    ({"objectives": "3"}, TypeError, "objectives: expected 2 or 3"),
    ({"max_energy": float("nan")}, ValueError, "max_energy"),
])
def test_bad_energy_options_name_the_field(kwargs, error, message):
    tables = ef.cost_tables(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    with pytest.raises(error, match=message):
        _core.pareto(tables, **kwargs)


def test_quantile_with_energy_is_refused_clearly():
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables, energy = ef.cost_tables(p, topo), energy_tables(p, topo)
    with pytest.raises(ValueError, match="max_energy takes the mean latency only"):
        _core.pareto(tables, energy=energy, max_energy=1.0, quantile=0.9)
    with pytest.raises(ValueError, match="min_energy takes the mean latency only"):
        _core.min_energy(tables, energy=energy, options=_core.SearchOptions(quantile=0.9))
    with pytest.raises(ValueError, match="min_energy: the tables carry no energy tables"):
        _core.min_energy(tables)
    # Without an energy bound or goal the quantile search runs, and its points carry their energy.
    got = _core.pareto(tables, energy=energy, quantile=0.9)
    packed = [np.asarray(got[k]).astype(np.int64) for k in CONFIG]
    np.testing.assert_array_equal(got["energy"], reference.evaluate(tables, *packed, energy=energy)[2])


def test_a_large_3d_frontier_through_the_snapshots():
    """A frontier of hundreds of points, so that the search's snapshot of it (front3.hpp) is rebuilt many
    times and asked through several levels; one thread and two. The compiled sweep is the oracle here (it
    equals the reference to the bit: test_energy_engine.py), the reference's would take minutes."""
    from _instances import random_profile
    from test_energy_engine import random_energy

    rng = np.random.default_rng(3)
    tables = ef.cost_tables(random_profile(rng, 14, 2, rising_accuracy=True), random_topology(rng, 4))
    energy = random_energy(rng, 4, 14)
    every = _core.sweep(tables, energy=energy)
    want = frontier3_indices(every["latency"], every["accuracy"], every["energy"])
    assert want.size > 300
    for threads in (1, 2):
        assert_rows(_core.pareto(tables, energy=energy, objectives=3, threads=threads), every, want)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(max_N=7, max_M=4, max_K=2), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_every_backend_with_the_search_agrees(inst, seed, data):
    """The backends' pareto (max_energy, objectives=3) and min_energy: the reference's (by sweep) and the
    compiled search's, row for row and bit for bit."""
    from eepart_fast.engine.registry import get_backend

    tables, energy, _ = case(inst, seed)
    every = reference.every_configuration_energy(tables, energy)
    bounds = {"min_accuracy": drawn(every, data, "accuracy", 0, 0.5), "max_latency": drawn(every, data, "latency")}
    cap = drawn(every, data, "energy")
    numpy_backend, cpu_backend = get_backend("numpy"), get_backend("cpu")
    for call in ({"max_energy": cap}, {"objectives": 3}, {"objectives": 3, "max_energy": cap}):
        want = numpy_backend.pareto(tables, energy=energy, **bounds, **call)
        got = cpu_backend.pareto(tables, energy=energy, **bounds, **call)
        assert set(got) == set(want)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{call} {key}")
    want = numpy_backend.min_energy(tables, energy=energy, **bounds)
    got = cpu_backend.min_energy(tables, energy=energy, **bounds)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


@pytest.mark.parametrize("name", ["cuda", "cupy"])
def test_gpu_backends_refuse_the_energy_search(name):
    """Refused before anything runs, whether or not the backend is available here."""
    import importlib

    module = importlib.import_module(f"eepart_fast.engine.backends.{name}")
    p, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables, energy = ef.cost_tables(p, topo), energy_tables(p, topo)
    for call in ({"energy": energy}, {"max_energy": 1.0}, {"objectives": 3}):
        with pytest.raises(NotImplementedError, match=f"the {name} backend's search has no energy yet"):
            module.pareto(tables, **call)
    with pytest.raises(NotImplementedError, match="min_energy and the 3-objective frontier"):
        module.min_energy(tables, energy=energy)
