"""Energy on the GPU backends (docs/backends.md): the same energy per configuration on every backend.

cuda's and cupy's evaluate and sweep against the cpu backend, every column bit for bit (the cpu backend
is held to the NumPy reference by tests/test_energy_engine.py): energy tables given or carried by a Tables
object, max_energy with the other bounds, with a quantile, across the device sweep's chunk and window
seams; the latency-only rows keep their six columns; the errors are the cpu backend's. Marked `gpu`: run
on a device, or on the host emulator with EEPART_FAST_CUDA_MODULE=_cuda_emu (smaller instances there).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast.engine import reference
from eepart_fast.engine.registry import _probe
from eepart_fast.model.configs import pack_configs
from eepart_fast.model.energy import energy_tables
from eepart_fast.planning.plot import sample_configs

from _instances import gpu_instances
from test_energy_engine import assert_same_rows, case
from test_energy_model import with_random_energy
from test_fillers import instance
from test_gpu import GPU, sweep_with

pytestmark = pytest.mark.gpu
# Each GPU backend available here, as `gpu`.
ON_GPU = pytest.mark.parametrize("gpu", GPU or [pytest.param("none", marks=pytest.mark.skip(reason="no GPU backend"))])
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COLUMNS = {"latency", "accuracy", "threshold_index", "num_partitions", "partitions", "placement"}


def module_of(name):
    """The backend's module functions: cuda's compiled module itself (its sweep takes the seam sizes), cupy's."""
    return _probe("cuda")[0]._cuda if name == "cuda" else _probe(name)[0]


def as_int32(rows: dict) -> dict:
    """The cpu sweep's rows as the GPU sweeps type them (int32 index columns, the same values)."""
    return {k: (v.astype(np.int32) if k not in ("latency", "accuracy", "energy") else v) for k, v in rows.items()}


@ON_GPU
@SETTINGS
@given(inst=gpu_instances(max_N=10, max_M=5, max_K=4), seed=st.integers(0, 2**32 - 1))
def test_evaluate_energy_matches_cpu_to_the_bit(gpu, inst, seed):
    tables, energy, rng = case(inst, seed)
    packed = pack_configs(sample_configs(tables.N, tables.M, tables.K, 200, rng), tables.N, tables.M, tables.K)
    module = module_of(gpu)
    want = _core.evaluate(tables, *packed, energy=energy)
    for got in (module.evaluate(tables, *packed, energy=energy),
                module.evaluate(_core.Tables(*tables, energy=energy), *packed)):  # carried by the tables
        assert len(got) == 3
        for g, w, name in zip(got, want, ("latency", "accuracy", "energy")):
            np.testing.assert_array_equal(g, w, err_msg=name)
    # The quantile changes the latency column only; the energy stays the mean's form.
    q = module.evaluate(tables, *packed, quantile=0.9, energy=energy)
    np.testing.assert_array_equal(q[0], _core.evaluate(tables, *packed, quantile=0.9)[0])
    np.testing.assert_array_equal(q[2], want[2])
    # With the cost tables as energy tables, the energy is the latency.
    np.testing.assert_array_equal(module.evaluate(tables, *packed, energy=tables[:4])[2], want[0])
    assert len(module.evaluate(tables, *packed)) == 2  # no energy asked: no column


@ON_GPU
@SETTINGS
@given(inst=gpu_instances(max_N=8, max_M=4, max_K=3), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_sweep_energy_and_max_energy_match_cpu(gpu, inst, seed, data):
    """Bounds at drawn quantiles of every configuration's values, small chunks and windows so that the rows
    cross the device sweep's seams: the cpu backend's rows, bit for bit, the energy column included."""
    tables, energy, _ = case(inst, seed)
    every = reference.sweep(tables, energy=energy)
    bounds = {"max_energy": float(np.quantile(every["energy"], data.draw(st.floats(0, 1)))),
              "max_latency": float(np.quantile(every["latency"], data.draw(st.floats(0, 1)))),
              "min_accuracy": float(np.quantile(every["accuracy"], data.draw(st.floats(0, 0.5))))}
    chunk, window = data.draw(st.sampled_from([1, 3, 64])), data.draw(st.sampled_from([1, 5, 1 << 20]))
    table_limit = data.draw(st.sampled_from([0, 1]))  # 1: placements unranked, not read from a table
    want = as_int32(_core.sweep(tables, energy=energy, **bounds))
    assert_same_rows(sweep_with(gpu, tables, chunk, window, table_limit, energy=energy, **bounds), want)
    # max_energy alone, the energy tables carried by a Tables object.
    only = as_int32(_core.sweep(tables, energy=energy, max_energy=bounds["max_energy"]))
    assert_same_rows(sweep_with(gpu, _core.Tables(*tables, energy=energy), chunk, window,
                                max_energy=bounds["max_energy"]), only)
    # No energy asked: the six columns, the same rows as before energy existed.
    plain = sweep_with(gpu, tables, chunk, window, max_latency=bounds["max_latency"])
    assert set(plain) == COLUMNS
    assert_same_rows(plain, as_int32(_core.sweep(tables, max_latency=bounds["max_latency"])))


@ON_GPU
@SETTINGS
@given(inst=gpu_instances(max_N=7, max_M=4, max_K=3), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_sweep_energy_with_a_quantile(gpu, inst, seed, data):
    tables, energy, _ = case(inst, seed)
    every = reference.sweep(tables, energy=energy, quantile=0.95)
    bounds = {"max_energy": float(np.quantile(every["energy"], data.draw(st.floats(0, 1)))),
              "max_latency": float(np.quantile(every["latency"], data.draw(st.floats(0, 1))))}
    want = as_int32(_core.sweep(tables, energy=energy, quantile=0.95, **bounds))
    assert_same_rows(sweep_with(gpu, tables, 3, 7, energy=energy, quantile=0.95, **bounds), want)


@ON_GPU
def test_empty_and_unbounded_sweeps_with_energy(gpu):
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables, energy = ef.cost_tables(profile, topo), energy_tables(profile, topo, energy_tiers="all")
    module = module_of(gpu)
    none = module.sweep(tables, energy=energy, max_energy=-1.0)
    assert set(none) == COLUMNS | {"energy"} and len(none["energy"]) == 0 and none["energy"].dtype == np.float64
    # Past the tables' own energy bound: every row, each with the reference's energy.
    every = module.sweep(tables, energy=energy, max_energy=1e308, min_accuracy=0.9)
    assert_same_rows(every, as_int32(reference.sweep(tables, energy=energy, min_accuracy=0.9)))


@ON_GPU
def test_errors_are_the_cpu_backends(gpu):
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    tables, energy = ef.cost_tables(profile, topo), energy_tables(profile, topo)
    module = module_of(gpu)
    for backend in (_core, module):
        with pytest.raises(ValueError, match=r"max_energy: the tables carry no energy tables \(give energy="):
            backend.sweep(tables, max_energy=1.0)
        with pytest.raises(ValueError, match="max_energy = nan: must be a number"):
            backend.sweep(tables, max_energy=float("nan"), energy=energy)
        bad = energy.result_energy.copy()
        bad[1] = -2.0
        with pytest.raises(ValueError, match=r"result_energy\[1\] = -2"):
            backend.evaluate(tables, [0], [1], [[10]], [[0]], energy=energy._replace(result_energy=bad))
        with pytest.raises(ValueError, match=r"forward_energy: expected shape \(10, 4, 4\)"):
            backend.sweep(tables, energy=energy._replace(forward_energy=np.zeros((10, 3, 3))))


@ON_GPU
@pytest.mark.parametrize("filler", ["chain", "everything"])
def test_public_api_on_the_gpu_backends(gpu, filler):
    """ef.evaluate and ef.sweep with energy_tiers and max_energy: the cpu backend's answers."""
    profile, topo, src, dst = instance(filler, 3)
    topo, tiers = with_random_energy(np.random.default_rng(5), topo, src)
    kw = {"source": src, "destination": dst, "energy_tiers": tiers}
    want = ef.sweep(profile, topo, backend="cpu", min_accuracy=0.5, **kw)
    cap = float(np.median(want.energy))
    got = ef.sweep(profile, topo, backend=gpu, min_accuracy=0.5, max_energy=cap, **kw)
    assert got.backend == gpu and got.configs() == [c for c, e in zip(want.configs(), want.energy) if e <= cap]
    np.testing.assert_array_equal(got.energy, want.energy[want.energy <= cap])
    some = want.configs()[::5]
    e = ef.evaluate(profile, topo, configs=some, backend=gpu, **kw)
    np.testing.assert_array_equal(e.energy, want.energy[::5])
