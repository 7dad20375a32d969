"""The CUDA search's two engines (`fused`: one launch, a thread block per threshold; `layered`: every
threshold at once, layer by layer) against the cpu search, which the sweep tests pin down.

Marked `gpu`: they run where the cuda backend is available, or on the host emulator
(EEPART_FAST_CUDA_MODULE=_cuda_emu, a build with EEPART_FAST_EMULATOR=ON).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eepart_fast as ef
from eepart_fast.engine import reference
from eepart_fast.engine.registry import _probe

from _instances import assert_close, drawn_bounds, gpu_instances, random_profile, random_topology

pytestmark = pytest.mark.gpu
INTS = ("threshold_index", "num_partitions", "partitions", "placement")


@pytest.fixture(scope="module")
def cuda():
    if not ef.backends()["cuda"]["available"]:
        pytest.skip("cuda backend not available")
    return _probe("cuda")[0]._cuda


def cpu_pareto(tables, **bounds):
    return _probe("cpu")[0].pareto(tables, **bounds)


def assert_same_frontier(got, want, tables):
    """Points equal to the bit, and every configuration returned reaches its own point."""
    np.testing.assert_array_equal(got["latency"], want["latency"])
    np.testing.assert_array_equal(got["accuracy"], want["accuracy"])
    lat, acc = reference.evaluate(tables, *[np.asarray(got[c], dtype=np.int64) for c in INTS])
    assert_close(lat, got["latency"])
    assert_close(acc, got["accuracy"])


def tables_of(inst):
    profile, topo, src, dst = inst
    return ef.cost_tables(profile, topo, source=src, destination=dst)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(inst=gpu_instances(10, 5, 3), bounded=st.booleans(), room=st.sampled_from([0, 16, 64, 128]),
       data=st.data())
def test_fused_frontier_is_the_cpu_one(cuda, inst, bounded, room, data):
    """Small rooms make a layer's candidates compacted while they are gathered, and plans merged in
    several steps; a room too small for a threshold hands the search to the layered engine."""
    tables = tables_of(inst)
    bounds = drawn_bounds(tables, data) if bounded else {}
    got, stats = cuda._pareto_stats(tables, engine="auto", fused_room=room, **bounds)
    assert stats["engine"] in ("fused", "fused, out of room; layered")
    if room == 0:
        assert stats["engine"] == "fused"
    assert_same_frontier(got, cpu_pareto(tables, **bounds), tables)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inst=gpu_instances(7, 4, 2), degenerate=st.sampled_from(["flat", "free", "ties"]),
       engine=st.sampled_from(["fused", "layered"]))
def test_exact_ties_give_the_cpu_points_to_the_bit(cuda, inst, degenerate, engine):
    """Equal accuracies, free compute, or values on a coarse grid: many exact ties in labels and plans."""
    tables = tables_of(inst)
    if degenerate == "flat":
        tables = tables._replace(accuracy=np.full(tables.N, 0.5))
    elif degenerate == "free":
        tables = tables._replace(compute_cost=np.zeros_like(tables.compute_cost), input_cost=np.zeros(tables.M))
    else:
        grid = lambda x: np.round(x * 4) / 4  # noqa: E731
        cum = np.maximum.accumulate(grid(tables.cum_exit), axis=1)
        cum[:, 0], cum[:, -1] = 0.0, 1.0
        tables = tables._replace(cum_exit=cum, accuracy=grid(tables.accuracy),
                                 forward_cost=np.ascontiguousarray(grid(tables.forward_cost * 100)))
    got = cuda.pareto(tables, engine=engine, chunk_slots=64)
    assert_same_frontier(got, cpu_pareto(tables), tables)


def test_exact_ties_keep_the_configuration_first_in_canonical_order(cuda):
    """Identical tiers and free links: every placement of a partitioning ties exactly. Of each tie, the
    fused engine keeps the configuration the sweep lists first, as the cpu search does."""
    rng = np.random.default_rng(5)
    profile = random_profile(rng, 5, 2, rising_accuracy=True)
    topo = ef.Topology(["a", "b", "c"], np.ones(3), np.zeros((3, 3)), np.zeros((3, 3)))
    tables = ef.cost_tables(profile, topo, source=0, destination=0)
    got = cuda.pareto(tables, engine="fused")
    want = cpu_pareto(tables)
    assert_same_frontier(got, want, tables)
    for col in INTS:
        np.testing.assert_array_equal(np.asarray(got[col]), np.asarray(want[col]), err_msg=col)


def test_a_larger_instance_on_both_engines(cuda):
    """Room 64 is less than a layer's candidates here: they are compacted while gathered, and the plans
    merged into the staircase in many steps."""
    rng = np.random.default_rng(21)
    tables = ef.cost_tables(random_profile(rng, 24, 3), random_topology(rng, 5), source=0, destination=2)
    want = cpu_pareto(tables)
    for engine, room in (("fused", 0), ("fused", 64), ("layered", 0)):
        got, stats = cuda._pareto_stats(tables, engine=engine, fused_room=room)
        assert stats["engine"] == engine
        assert stats["labels"] > 0 and stats["terminals"] > 0
        assert_same_frontier(got, want, tables)


def test_many_thresholds_share_few_blocks_and_many_rows_come_back(cuda):
    """More thresholds than blocks (each block runs several, reusing its scratch), and more staircase
    points than the first copy back brings (256)."""
    rng = np.random.default_rng(11)
    tables = ef.cost_tables(random_profile(rng, 9, 40, rising_accuracy=True), random_topology(rng, 4), source=0,
                            destination=0)
    got, stats = cuda._pareto_stats(tables, engine="fused")
    assert stats["staircase_points"] > 256
    assert_same_frontier(got, cpu_pareto(tables), tables)


def test_layers_wider_than_a_block(cuda):
    """N = 120, M = 5: the first layer alone has 595 labels, more than the block's 512 threads, so the
    scans, the running maxima and the sorts work over several tiles."""
    rng = np.random.default_rng(12)
    tables = ef.cost_tables(random_profile(rng, 120, 1, rising_accuracy=True), random_topology(rng, 5), source=0,
                            destination=0)
    got, stats = cuda._pareto_stats(tables, engine="fused")
    assert stats["labels"] > 512
    assert_same_frontier(got, cpu_pareto(tables), tables)


def test_out_of_room_falls_back_or_says_so(cuda):
    rng = np.random.default_rng(3)
    tables = ef.cost_tables(random_profile(rng, 12, 2), random_topology(rng, 5), source=0, destination=0)
    want = cpu_pareto(tables)
    got, stats = cuda._pareto_stats(tables, engine="auto", fused_room=1)
    assert stats["engine"] == "fused, out of room; layered"
    assert_same_frontier(got, want, tables)
    with pytest.raises(ValueError, match=r"outgrew the room of one thread block \(fused_room = 1,"):
        cuda.pareto(tables, engine="fused", fused_room=1)


def test_bad_engine_and_room_are_errors_that_name_them(cuda):
    tables = ef.cost_tables(random_profile(np.random.default_rng(4), 4, 2),
                            random_topology(np.random.default_rng(4), 3))
    with pytest.raises(ValueError, match="engine = 'fast': must be 'auto', 'fused' or 'layered'"):
        cuda.pareto(tables, engine="fast")
    with pytest.raises(ValueError, match="fused_room = -1"):
        cuda.pareto(tables, fused_room=-1)
    with pytest.raises(ValueError, match=r"fused_room = 134217728: must be at most 2\*\*26"):
        cuda.pareto(tables, fused_room=2**27)


def test_single_partition_and_single_tier_instances(cuda):
    """Lmax = 1 (no bounds are built, only the root's plans) and N = 1."""
    rng = np.random.default_rng(8)
    for N, M in ((6, 1), (1, 4), (1, 1)):
        tables = ef.cost_tables(random_profile(rng, N, 3), random_topology(rng, M), source=0, destination=0)
        assert_same_frontier(cuda.pareto(tables, engine="fused"), cpu_pareto(tables), tables)
