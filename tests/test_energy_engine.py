"""Energy in the engines (docs/model.md "Energy"): the compiled evaluate and sweep against the NumPy
reference to the bit on random instances, max_energy keeping exactly the reference's rows (with the
tabulated and the walked sweep, with a quantile), the raw model's energy through the public API, bad
energy tables named by table and entry, with_moves keeping or replacing the energies, and auto's choice
with energy (the GPU backends' energy: tests/test_energy_gpu.py)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.engine import reference
from eepart_fast.engine.frontier import frontier_indices
from eepart_fast.model.configs import pack_configs
from eepart_fast.model.energy import EnergyTables, energy_tables
from eepart_fast.planning.plot import sample_configs

from _instances import instances, random_profile
from _raw_model import energy as raw_energy
from test_energy_model import with_random_energy
from test_fillers import instance

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONFIG_COLUMNS = ("threshold_index", "num_partitions", "partitions", "placement")


def random_energy(rng, M, N, zeros=False):
    """Energy tables of random magnitudes (some entries 0), in the shapes of cost tables of M tiers, N blocks."""
    scale = 10.0 ** rng.uniform(-6, 2)
    tables = [rng.uniform(0, scale, shape) for shape in ((M,), (M, N + 1, N + 1), (N, M, M), (M,))]
    if zeros:
        for t in tables:
            t[rng.random(t.shape) < 0.3] = 0.0
    return EnergyTables(*tables)


def case(inst, seed):
    profile, topo, src, dst = inst
    rng = np.random.default_rng(seed)
    tables = ef.cost_tables(profile, topo, source=src, destination=dst)
    return tables, random_energy(rng, topo.M, profile.N, zeros=bool(rng.random() < 0.5)), rng


def assert_same_rows(got: dict, want: dict):
    """Row for row and bit for bit, energy included."""
    assert set(got) == set(want)
    for key, column in want.items():
        np.testing.assert_array_equal(np.asarray(got[key]), column, err_msg=key)


@SETTINGS
@given(inst=instances(max_N=10, max_M=5, max_K=4), seed=st.integers(0, 2**32 - 1))
def test_evaluate_matches_the_reference_to_the_bit(inst, seed):
    tables, energy, rng = case(inst, seed)
    packed = pack_configs(sample_configs(tables.N, tables.M, tables.K, 300, rng), tables.N, tables.M, tables.K)
    want = reference.evaluate(tables, *packed, energy=energy)
    got = _core.evaluate(tables, *packed, energy=energy)
    assert len(got) == 3
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    # The energy is the latency's form on other tables: with the cost tables as energy tables, the latency.
    np.testing.assert_array_equal(_core.evaluate(tables, *packed, energy=tables[:4])[2], want[0])
    # The quantile changes the latency column only.
    q = _core.evaluate(tables, *packed, quantile=0.9, energy=energy)
    np.testing.assert_array_equal(q[0], reference.evaluate(tables, *packed, quantile=0.9)[0])
    np.testing.assert_array_equal(q[2], want[2])


@SETTINGS
@given(inst=instances(max_N=7, max_M=4, max_K=3), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_max_energy_keeps_exactly_the_reference_rows(inst, seed, data):
    """The bounds at drawn quantiles of every configuration's values; the tabulated sweep, the walked one
    (table_limit 0) on tiny work items, and the reference keep the same rows, bit for bit."""
    tables, energy, _ = case(inst, seed)
    every = reference.sweep(tables, energy=energy)
    bounds = {"max_energy": float(np.quantile(every["energy"], data.draw(st.floats(0, 1)))),
              "max_latency": float(np.quantile(every["latency"], data.draw(st.floats(0, 1)))),
              "min_accuracy": float(np.quantile(every["accuracy"], data.draw(st.floats(0, 0.5))))}
    keep = ((every["energy"] <= bounds["max_energy"]) & (every["latency"] <= bounds["max_latency"])
            & (every["accuracy"] >= bounds["min_accuracy"]))
    want = {k: v[keep] for k, v in every.items()}
    assert_same_rows(reference.sweep(tables, energy=energy, **bounds), want)
    assert_same_rows(_core.sweep(tables, energy=energy, **bounds), want)
    assert_same_rows(_core._sweep_tuned(tables, bounds["max_latency"], bounds["min_accuracy"], 2**62, 0, np.inf, 0, 7,
                                        max_energy=bounds["max_energy"], energy=energy), want)
    only_energy = every["energy"] <= bounds["max_energy"]
    assert_same_rows(_core.sweep(_core.Tables(*tables, energy=energy), max_energy=bounds["max_energy"]),
                     {k: v[only_energy] for k, v in every.items()})


@SETTINGS
@given(inst=instances(max_N=6, max_M=4, max_K=3), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_max_energy_with_a_quantile(inst, seed, data):
    tables, energy, _ = case(inst, seed)
    every = reference.sweep(tables, energy=energy, quantile=0.95)
    bounds = {"max_energy": float(np.quantile(every["energy"], data.draw(st.floats(0, 1)))),
              "max_latency": float(np.quantile(every["latency"], data.draw(st.floats(0, 1))))}
    keep = (every["energy"] <= bounds["max_energy"]) & (every["latency"] <= bounds["max_latency"])
    want = {k: v[keep] for k, v in every.items()}
    assert_same_rows(reference.sweep(tables, energy=energy, quantile=0.95, **bounds), want)
    assert_same_rows(_core.sweep(tables, energy=energy, quantile=0.95, **bounds), want)


def test_unbounded_sweep_has_every_energy_and_the_empty_one_a_column():
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables, energy = ef.cost_tables(profile, topo), energy_tables(profile, topo, energy_tiers="all")
    every = reference.sweep(tables, energy=energy)
    assert len(every["energy"]) == ef.count_configurations(profile.N, topo.M, profile.K)
    assert_same_rows(_core.sweep(tables, energy=energy), every)
    # Past the tables' own energy bound: every row, counted in closed form.
    assert_same_rows(_core.sweep(tables, energy=energy, max_energy=1e308), every)
    for backend in (reference, _core):
        none = backend.sweep(tables, energy=energy, max_energy=-1.0)
        assert len(none["energy"]) == 0 and none["energy"].dtype == np.float64


@pytest.mark.parametrize("filler", ["chain", "graph_bottleneck_mtu", "everything"])
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_public_api_matches_the_raw_model(filler, backend):
    """ef.evaluate and ef.sweep with energy_tiers: every configuration's energy to 1e-12 of the raw model's,
    computed from the topology's links and powers without tables."""
    profile, topo, src, dst = instance(filler, 3)
    topo, tiers = with_random_energy(np.random.default_rng(3), topo, src)
    rows = ef.sweep(profile, topo, source=src, destination=dst, energy_tiers=tiers, backend=backend)
    want = np.array([raw_energy(profile, topo, src, dst, t, P, A, tiers=tiers) for t, P, A in rows.configs()])
    assert want.max() > 0
    np.testing.assert_allclose(rows.energy, want, rtol=1e-12, atol=0)
    some = rows.configs()[::7]
    e = ef.evaluate(profile, topo, source=src, destination=dst, configs=some, energy_tiers=tiers, backend=backend)
    np.testing.assert_array_equal(e.energy, rows.energy[::7])
    # Given tables are the filled ones; a bound keeps what it should; take() carries the column.
    energy = energy_tables(profile, topo, source=src, destination=dst, energy_tiers=tiers)
    cap = float(np.median(rows.energy))
    bounded = ef.sweep(profile, topo, source=src, destination=dst, energy=energy, max_energy=cap, backend=backend)
    assert bounded.configs() == [c for c, x in zip(rows.configs(), rows.energy) if x <= cap]
    np.testing.assert_array_equal(bounded.pareto().energy,
                                  bounded.energy[frontier_indices(bounded.latency, bounded.accuracy)])


def test_public_api_errors():
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables = ef.cost_tables(profile, topo)
    energy = energy_tables(profile, topo)
    with pytest.raises(ValueError, match="max_energy = 0.5: needs energy tables"):
        ef.sweep(profile, topo, max_energy=0.5)
    with pytest.raises(TypeError, match="energy and energy_tiers: give one"):
        ef.sweep(profile, topo, energy=energy, energy_tiers="all")
    with pytest.raises(TypeError, match="energy_tiers: needs a Profile and a Topology"):
        ef.evaluate(tables, configs=[(0, [10], [0])], energy_tiers="all")
    with pytest.raises(ValueError, match=r"energy.forward_energy: expected shape \(10, 4, 4\)"):
        ef.evaluate(tables, configs=[(0, [10], [0])], energy=energy._replace(forward_energy=np.zeros((10, 3, 3))))
    with pytest.raises(ValueError, match="max_energy = nan"):
        ef.sweep(profile, topo, max_energy=float("nan"), energy_tiers="source")
    with pytest.raises(ValueError, match="max_energy: the tables carry no energy tables"):
        _core.sweep(tables, max_energy=1.0)
    with pytest.raises(ValueError, match="max_energy = 1.0: needs energy tables"):
        reference.sweep(tables, max_energy=1.0)


@pytest.mark.parametrize("table, index, value, named", [
    ("input_energy", (2,), -1.0, r"input_energy\[2\] = -1"),
    ("compute_energy", (1, 0, 3), np.nan, r"compute_energy\[1\]\[0\]\[3\] = nan"),
    ("forward_energy", (0, 1, 2), np.inf, r"forward_energy\[0\]\[1\]\[2\] = inf"),
    ("result_energy", (0,), 2e300, r"result_energy\[0\] = 2e\+300"),
])
def test_bad_energy_tables_are_named(table, index, value, named):
    rng = np.random.default_rng(0)
    tables = ef.cost_tables(random_profile(rng, 4, 2), ef.Topology.preset("mobile"))
    energy = random_energy(rng, 4, 4)
    bad = getattr(energy, table).copy()
    bad[index] = value
    with pytest.raises(ValueError, match=named + ": energies must be finite, >= 0 and at most 1e\\+300 J"):
        _core.Tables(*tables, energy=energy._replace(**{table: bad}))


def test_energy_shapes_and_ignored_entries():
    rng = np.random.default_rng(1)
    tables = ef.cost_tables(random_profile(rng, 4, 2), ef.Topology.preset("mobile"))
    energy = random_energy(rng, 4, 4)
    with pytest.raises(ValueError, match=r"compute_energy: expected shape \(4, 5, 5\), got \(4, 5\)"):
        _core.Tables(*tables, energy=energy._replace(compute_energy=np.zeros((4, 5))))
    with pytest.raises(ValueError, match=r"input_energy: expected shape \(4,\), got \(3,\)"):
        _core.Tables(*tables, energy=energy._replace(input_energy=np.zeros(3)))
    with pytest.raises(TypeError, match="energy: expected an EnergyTables"):
        _core.Tables(*tables, energy=object())
    # Entries no configuration reads are ignored, as the cost tables' are, and 0 in the engine's copy.
    unread = energy.compute_energy.copy()
    unread[0, 3, 1] = -5.0
    forward = energy.forward_energy.copy()
    forward[3, 0, 1] = np.nan  # block N's output is never sent
    forward[0, 2, 2] = -1.0  # no move within a tier
    built = _core.Tables(*tables, energy=energy._replace(compute_energy=unread, forward_energy=forward))
    assert built.compute_energy[0, 3, 1] == 0 and built.forward_energy[3, 0, 1] == 0
    assert built.forward_energy[0, 2, 2] == 0
    assert built.has_energy and "energy" in repr(built)
    plain = _core.Tables(*tables)
    assert not plain.has_energy and plain.input_energy is None
    assert len(_core.evaluate(plain, [0], [1], [[4]], [[0]])) == 2


def test_with_moves_keeps_or_replaces_the_energy():
    rng = np.random.default_rng(2)
    profile = random_profile(rng, 5, 2)
    tables = ef.cost_tables(profile, ef.Topology.preset("mobile"))
    moved = tables._replace(input_cost=3 * tables.input_cost, forward_cost=3 * tables.forward_cost,
                            result_cost=3 * tables.result_cost)
    energy, other = random_energy(rng, 4, 5), random_energy(rng, 4, 5)
    base = _core.Tables(*tables, energy=energy)
    moves = (moved.input_cost, moved.forward_cost, moved.result_cost)
    kept = base.with_moves(*moves)
    every = reference.sweep(moved, energy=energy)
    assert_same_rows(_core.sweep(kept), every)
    replaced = kept.with_moves(*moves, input_energy=other.input_energy, forward_energy=other.forward_energy,
                               result_energy=other.result_energy)
    mixed = energy._replace(input_energy=other.input_energy, forward_energy=other.forward_energy,
                            result_energy=other.result_energy)
    assert_same_rows(_core.sweep(replaced, max_energy=float(np.median(every["energy"]))),
                     reference.sweep(moved, energy=mixed, max_energy=float(np.median(every["energy"]))))
    with pytest.raises(TypeError, match="give input_energy, forward_energy and result_energy together"):
        base.with_moves(*moves, input_energy=other.input_energy)
    bad = other.result_energy.copy()
    bad[1] = -2.0
    with pytest.raises(ValueError, match=r"result_energy\[1\] = -2"):
        base.with_moves(*moves, input_energy=other.input_energy, forward_energy=other.forward_energy, result_energy=bad)
    with pytest.raises(ValueError, match="these tables carry no energy tables"):
        _core.Tables(*tables).with_moves(*moves, input_energy=other.input_energy, forward_energy=other.forward_energy,
                                         result_energy=other.result_energy)


def test_auto_asked_for_energy(monkeypatch):
    """With the GPU backends faked available, auto picks cuda for evaluate and sweep, energy or not (every
    backend has it); the search with energy only where it runs (cpu, numpy: the GPU's is skipped)."""
    from eepart_fast.engine import registry

    real = registry._probe
    monkeypatch.setattr(registry, "_probe", lambda name: (None, True, "faked") if name in ("cuda", "cupy")
                        else real(name))
    monkeypatch.delenv(registry.ENV, raising=False)
    for operation in ("evaluate", "sweep"):
        assert registry.resolve("auto", operation) == "cuda"
        assert registry.resolve("auto", operation, energy=True) == "cuda"
    assert registry.resolve("numpy", "sweep", energy=True) == "numpy"
    # The search: cpu first anyway; with cpu gone too, cuda for the latency's, numpy for energy's.
    monkeypatch.setattr(registry, "_probe", lambda name: (None, name != "cpu", "faked") if name != "numpy"
                        else real(name))
    assert registry.resolve("auto", "pareto") == "cuda"
    assert registry.resolve("auto", "pareto", energy=True) == "numpy"
