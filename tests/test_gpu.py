"""The GPU backends (`cuda`, `cupy`) against `cpu` and the NumPy reference, and their packaging.

Tests marked `gpu` need a visible device (conftest skips them otherwise); they run on every GPU backend
that is available. Set EEPART_FAST_CUDA_MODULE=_cuda_emu (a build with EEPART_FAST_EMULATOR=ON) to run the
`cuda` ones on the host emulator (slow, but the same kernels and host logic).
"""
import importlib
from importlib import resources

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast.engine import reference
from eepart_fast.engine.registry import _probe
from eepart_fast.model.configs import pack_configs
from eepart_fast.planning.plot import sample_configs

from _instances import assert_close, drawn_bounds, gpu_instances, random_profile, random_topology

GPU = [name for name in ("cuda", "cupy") if ef.backends()[name]["available"]]
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
INTS = ("threshold_index", "num_partitions", "partitions", "placement")


@pytest.fixture(params=GPU or ["none"])
def gpu(request):
    if request.param == "none":
        pytest.skip("no GPU backend available here")
    return request.param


def gpu_module(name):
    return _probe(name)[0]


def sweep_with(name, tables, chunk, window, table_limit=0, **bounds):
    """The GPU sweep with small chunks and windows, so that small instances cross their seams."""
    if name == "cuda":
        return gpu_module("cuda")._cuda.sweep(tables, chunk_items=chunk, window_rows=window,
                                              table_limit=table_limit, **bounds)
    kw = {"table_limit": table_limit} if table_limit else {}
    return gpu_module("cupy").sweep(tables, chunk_items=chunk, window_rows=window, **kw, **bounds)


def assert_rows_equal(got, ref):
    assert len(got["latency"]) == len(ref["latency"])
    for col in INTS:
        np.testing.assert_array_equal(np.asarray(got[col]), np.asarray(ref[col]).astype(np.int32), err_msg=col)
    assert_close(got["latency"], ref["latency"])
    assert_close(got["accuracy"], ref["accuracy"])


def tables_of(inst):
    profile, topo, src, dst = inst
    return ef.cost_tables(profile, topo, source=src, destination=dst)


# ---- packaging: no device needed ----------------------------------------------------------------

def test_gpu_backends_report_availability_with_a_reason():
    info = ef.backends()
    for name in ("cuda", "cupy"):
        assert isinstance(info[name]["available"], bool)
        reason = info[name]["reason"]
        if info[name]["available"]:
            assert reason.startswith("available")
        else:
            assert any(w in reason for w in ("not built", "no CUDA device", "failed to load", "CuPy missing",
                                             "CUDA runtime error", "EEPART_FAST_CUDA_MODULE")), reason


def test_kernel_source_ships_with_the_package():
    text = (resources.files("eepart_fast") / "cuda" / "kernels.cuh").read_text()
    assert "eep_sweep" in text and "eep_evaluate" in text
    assert "#include" not in text.replace("// ", "")  # NVRTC gets it as is: no header may be needed


def test_cuda_module_counts_devices_without_raising():
    try:
        cuda = importlib.import_module("eepart_fast._cuda")
    except ImportError:
        pytest.skip("eepart_fast._cuda is not built here")
    n = cuda.device_count()
    assert isinstance(n, int) and n >= 0
    assert isinstance(cuda.device_name(), str)
    assert (cuda.device_name() == "") == (n == 0)


@pytest.mark.parametrize("name", ["cuda", "cupy"])
def test_an_unavailable_gpu_backend_is_an_error_not_a_fallback(name):
    info = ef.backends()[name]
    if info["available"]:
        pytest.skip(f"{name} is available here")
    profile = random_profile(np.random.default_rng(0), 3, 1)
    topo = ef.Topology.preset("mobile")
    with pytest.raises(ValueError, match=name):
        ef.sweep(profile, topo, backend=name)


# ---- against the CPU and the reference: need a device --------------------------------------------

@pytest.mark.gpu
@SETTINGS
@given(inst=gpu_instances(12, 5, 4), data=st.data())
def test_evaluate_matches_cpu_and_reference(gpu, inst, data):
    tables = tables_of(inst)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    configs = sample_configs(tables.N, tables.M, tables.K, 300, rng)
    packed = pack_configs(configs, tables.N, tables.M, tables.K)
    lat, acc = gpu_module(gpu).evaluate(tables, *packed)
    ref_lat, ref_acc = reference.evaluate(tables, *packed)
    cpu_lat, cpu_acc = gpu_module("cpu").evaluate(tables, *packed)
    assert_close(lat, ref_lat)
    assert_close(acc, ref_acc)
    assert_close(lat, cpu_lat)
    assert_close(acc, cpu_acc)


@pytest.mark.gpu
@SETTINGS
@given(inst=gpu_instances(9, 5, 3), data=st.data())
def test_every_sweep_row_matches_cpu_and_reference(gpu, inst, data):
    tables = tables_of(inst)
    ref = reference.sweep(tables)
    assert len(ref["latency"]) == ef.count_configurations(tables.N, tables.M, tables.K)
    got = sweep_with(gpu, tables, data.draw(st.integers(1, 64)), data.draw(st.integers(1, 5000)))
    assert_rows_equal(got, ref)
    assert_rows_equal(got, gpu_module("cpu").sweep(tables))


@pytest.mark.gpu
@SETTINGS
@given(inst=gpu_instances(9, 5, 3), data=st.data())
def test_bounds_on_the_device_keep_exactly_the_rows_that_meet_them(gpu, inst, data):
    tables = tables_of(inst)
    every = reference.sweep(tables)
    lat, acc = np.unique(every["latency"]), np.unique(every["accuracy"])
    # half-way between two values, so that rounding cannot move a row across a bound
    i = data.draw(st.integers(0, max(len(lat) - 2, 0)))
    j = data.draw(st.integers(0, max(len(acc) - 2, 0)))
    max_latency = (lat[i] + lat[i + 1]) / 2 if len(lat) > 1 else np.inf
    min_accuracy = (acc[j] + acc[j + 1]) / 2 if len(acc) > 1 else -np.inf
    ref = reference.sweep(tables, max_latency=max_latency, min_accuracy=min_accuracy)
    got = sweep_with(gpu, tables, data.draw(st.integers(1, 16)), data.draw(st.integers(1, 300)),
                     max_latency=max_latency, min_accuracy=min_accuracy)
    assert_rows_equal(got, ref)


@pytest.mark.gpu
def test_unranked_placements_and_long_plans_match_cpu(gpu):
    """Placements past the table limit are unranked in the kernel; L > 8 uses the generic kernel."""
    rng = np.random.default_rng(11)
    t1 = ef.cost_tables(random_profile(rng, 6, 2), random_topology(rng, 5), source=1, destination=3)
    assert_rows_equal(sweep_with(gpu, t1, 7, 500, table_limit=1), gpu_module("cpu").sweep(t1))
    t2 = ef.cost_tables(random_profile(rng, 9, 1), random_topology(rng, 9), source=0, destination=8)
    # a latency bound that a few plans of all nine partitions meet
    A = np.array([rng.permutation(9) for _ in range(2000)])
    lat, _ = reference.evaluate(t2, np.zeros(2000, int), np.full(2000, 9), np.tile(np.arange(1, 10), (2000, 1)), A)
    bounds = {"max_latency": float(np.sort(lat)[5]), "min_accuracy": 0.0}
    cpu = gpu_module("cpu").sweep(t2, **bounds)
    assert (np.asarray(cpu["num_partitions"]) == 9).any()
    assert_rows_equal(sweep_with(gpu, t2, 1 << 20, 1 << 20, **bounds), cpu)


@pytest.mark.gpu
def test_sweep_past_max_rows_names_the_count(gpu):
    tables = ef.cost_tables(random_profile(np.random.default_rng(5), 6, 2),
                            random_topology(np.random.default_rng(6), 4))
    total = ef.count_configurations(6, 4, 2)
    with pytest.raises(ValueError, match=f"more than 100 rows of {total} configurations"):
        gpu_module(gpu).sweep(tables, max_rows=100)


@pytest.mark.gpu
@SETTINGS
@given(inst=gpu_instances(10, 5, 4), bounded=st.booleans(), data=st.data())
def test_frontier_matches_cpu_search_and_the_reference(gpu, inst, bounded, data):
    tables = tables_of(inst)
    bounds = drawn_bounds(tables, data) if bounded else {}
    ref = reference.pareto(tables, **bounds)
    cpu = gpu_module("cpu").pareto(tables, **bounds)
    if gpu == "cuda":
        # the layered engine in small steps (test_gpu_fused.py covers both engines and their seams)
        got = gpu_module("cuda")._cuda.pareto(tables, engine="layered", chunk_slots=data.draw(st.integers(1, 4096)),
                                              **bounds)
    else:
        got = gpu_module(gpu).pareto(tables, **bounds)
    for other in (ref, cpu):
        assert len(got["latency"]) == len(other["latency"])
        assert_close(got["latency"], other["latency"])
        assert_close(got["accuracy"], other["accuracy"])
    # every configuration returned reaches its own point
    cols = [np.asarray(got[c], dtype=np.int64) for c in INTS]
    lat, acc = reference.evaluate(tables, *cols)
    assert_close(lat, got["latency"])
    assert_close(acc, got["accuracy"])


@pytest.mark.gpu
def test_cuda_search_past_its_memory_cap_stops_with_a_message():
    if "cuda" not in GPU:
        pytest.skip("cuda backend not available")
    tables = ef.cost_tables(random_profile(np.random.default_rng(2), 12, 3),
                            random_topology(np.random.default_rng(3), 5))
    with pytest.raises(ValueError, match="max_memory"):
        gpu_module("cuda")._cuda.pareto(tables, max_memory=1000)


@pytest.mark.gpu
def test_cuda_rejects_a_bad_configuration_before_the_device():
    if "cuda" not in GPU:
        pytest.skip("cuda backend not available")
    tables = ef.cost_tables(random_profile(np.random.default_rng(4), 4, 2),
                            random_topology(np.random.default_rng(4), 3))
    t, L = np.array([0, 1]), np.array([1, 2])
    P, A = np.array([[2, -1], [1, 9]]), np.array([[0, -1], [1, 2]])
    with pytest.raises(ValueError, match=r"partitions\[1\]\[1\] = 9"):
        gpu_module("cuda").evaluate(tables, t, L, P, A)
    with pytest.raises(ValueError, match=r"placement\[1\]\[1\] = 1: repeats"):
        gpu_module("cuda").evaluate(tables, t, L, np.array([[2, -1], [1, 3]]), np.array([[0, -1], [1, 1]]))
