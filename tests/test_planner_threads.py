"""A Planner shared by threads (issue 12): every answer is the single-threaded answer on the network state
it reports, a search running while the network changes never files its answer under the new state, and
set_ratio never writes a table another thread may be reading."""
import threading

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine.registry import get_backend
from eepart_fast.planning.planner import Planner

from _instances import random_profile

BANDWIDTHS = (1e3, 1e5, 1e7, 1e9)
ACCURACIES = (0.0, 0.4, 0.6, 0.8)


def answer(plan):
    return None if plan is None else (plan.latency, plan.accuracy, plan.config())


def test_concurrent_replans_equal_single_threaded_answers():
    """1,000 re-plans across 8 threads: each sets link 0's bandwidth and asks P_lat; every answer equals
    the single-threaded answer on the network state the plan was made on, and re-evaluates to itself there."""
    rng = np.random.default_rng(12)
    profile = random_profile(rng, 8, 3, rising_accuracy=True)
    topo = ef.Topology.chain(["d", "p", "e", "c"], [50.0, 10.0, 2.0, 1.0], [1e6, 1e7, 1e8], [0.005, 0.02, 0.04])
    want = {(bw, x): answer(Planner(profile, topo.with_link(0, bandwidth=bw)).min_latency(min_accuracy=x))
            for bw in BANDWIDTHS for x in ACCURACIES}
    planner = Planner(profile, topo)
    errors, plans = [], []
    lock = threading.Lock()

    def worker(seed):
        r = np.random.default_rng(seed)
        for _ in range(125):
            bw, x = BANDWIDTHS[r.integers(len(BANDWIDTHS))], ACCURACIES[r.integers(len(ACCURACIES))]
            try:
                planner.set_bandwidth(0, bw)
                before = planner.version
                plan = planner.min_latency(min_accuracy=x)
                after = planner.version
                with lock:
                    plans.append((x, plan, before, after))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(plans) == 1000
    assert planner.version == 1000
    for x, plan, before, after in plans:
        # Made on a state current at some moment of the call (never an older answer filed under a newer
        # state), and equal to the single-threaded answer on that state.
        assert before <= plan._state.version <= after
        state_bw = plan.topology.links["bandwidth"][0]
        assert answer(plan) == want[(state_bw, x)]
    # And the last state is the one the planner reports.
    final = planner.topology.links["bandwidth"][0]
    assert answer(planner.min_latency(min_accuracy=0.6)) == want[(final, 0.6)]


def test_search_running_during_set_bandwidth(monkeypatch):
    """Issue 12's reproducer, made deterministic: 8 identical tiers with free links; a search is held inside
    the engine while another thread calls set_bandwidth(0, 1e3). Its answer belongs to the old network; the
    next question is answered on the new one, as a fresh single-threaded Planner answers it."""
    rng = np.random.default_rng(0)
    profile = random_profile(rng, 6, 2, rising_accuracy=True)
    names = [f"t{j}" for j in range(8)]
    topo = ef.Topology.chain(names, [1.0] * 8, [1e15] * 7, [0.0] * 7)
    planner = Planner(profile, topo)
    module = get_backend(planner.backend)
    real = module.pareto
    entered, release = threading.Event(), threading.Event()

    def held(tables, **kw):
        entered.set()
        assert release.wait(30)
        return real(tables, **kw)

    monkeypatch.setattr(module, "pareto", held)
    got = {}
    searcher = threading.Thread(target=lambda: got.update(plan=planner.min_latency(min_accuracy=0.5)))
    searcher.start()
    assert entered.wait(30)
    planner.set_bandwidth(0, 1e3)  # while the search runs
    release.set()
    searcher.join(30)
    monkeypatch.setattr(module, "pareto", real)
    old = Planner(profile, topo).min_latency(min_accuracy=0.5)
    new = Planner(profile, topo.with_link(0, bandwidth=1e3)).min_latency(min_accuracy=0.5)
    assert answer(got["plan"]) == answer(old) and got["plan"].topology is topo
    after = planner.min_latency(min_accuracy=0.5)
    assert answer(after) == answer(new) and after._state.version == planner.version == 1
    ev = ef.evaluate(profile, planner.topology, configs=[after.config()])
    assert ev.latency[0] == pytest.approx(after.latency, rel=1e-12)


def test_set_ratio_never_writes_a_table_in_use():
    rng = np.random.default_rng(1)
    profile = random_profile(rng, 5, 2)
    planner = Planner(profile, ef.Topology.preset("mobile"))
    before = planner.tables
    snapshot = before.compute_cost.copy()
    planner.set_ratio(1, 3.0)
    np.testing.assert_array_equal(before.compute_cost, snapshot)  # the old table is untouched
    assert not any(a.flags.writeable for a in planner.tables)  # and no table of a snapshot can be written
    assert planner.tables.compute_cost is not before.compute_cost
    np.testing.assert_array_equal(planner.tables.compute_cost,
                                  ef.cost_tables(profile, ef.Topology.preset("mobile").with_ratio(1, 3.0)).compute_cost)


def test_replanning_keeps_every_topology_field():
    """set_bandwidth / set_latency / set_ratio re-derive the tables from the whole topology: devices,
    serialisation, the route rule and the graph survive, and the tables equal a fresh cost_tables."""
    from test_fillers import instance

    for filler in ("everything", "graph_given_routes", "chain_bottleneck", "serialize_per_bit"):
        profile, topo, src, dst = instance(filler, 5, N=4, M=3, K=2)
        planner = Planner(profile, topo, source=src, destination=dst)
        planner.set_bandwidth(0, 123e6)
        planner.set_latency(0, 0.0123)
        unmeasured = [a for a in range(topo.M) if topo.devices[a] is None]
        if unmeasured:
            planner.set_ratio(unmeasured[0], 7.5)
        d, d0 = planner.topology.to_dict(), topo.to_dict()
        assert set(d) == set(d0)
        for key in ("devices", "serialize", "deserialize", "route_rule", "mtu_bits", "routes", "route_by"):
            assert d.get(key) == d0.get(key), key
        fresh = ef.cost_tables(profile, planner.topology, source=src, destination=dst)
        for x, y in zip(planner.tables, fresh):
            np.testing.assert_array_equal(x, y)
        measured = [a for a in range(topo.M) if topo.devices[a] is not None]
        if measured:
            with pytest.raises(ValueError, match="own measurements"):
                planner.set_ratio(measured[0], 2.0)


def test_threads_reading_an_unbuilt_topology_get_one_object():
    """A re-plan's topology is built on first read (issue 21): threads reading it at once all get the same
    Topology, equal to the one with_link builds."""
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    for v in (2e6, 3e6, 4e6, 5e6):
        planner = Planner(profile, topo)
        planner.set_bandwidth(1, v)
        seen, start = [], threading.Barrier(8)

        def read(planner=planner, seen=seen, start=start):
            start.wait()
            seen.append(planner.topology)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(seen) == 8 and all(t is seen[0] for t in seen)
        assert seen[0].to_dict() == topo.with_link(1, bandwidth=v).to_dict()
