"""A hostile review of the compiled re-plan (a link change on a searched state: _State.derive's compiled
branch, MoveFiller.compiled, _core.MoveFill): threads changing and asking one Planner at once, sequences
mixing compiled and Python derives (ratio, source, topology, energy, quantiles, the numpy backend,
max_memory), odd link values, tiny networks, memory over 100,000 re-plans, and direct misuse of the
private _core.MoveFill. Every answer is checked against a fresh Planner on the network the answer reports."""
import json
import math
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast import _core
from eepart_fast._checks import MAX_COST
from eepart_fast.model.energy import energy_tables
from eepart_fast.model.tables import MoveFiller

from _instances import random_profile
from test_energy_model import with_random_energy
from test_fillers import instance


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def same_bits(a, b):
    return all(np.array_equal(bits(x), bits(y)) for x, y in zip(a, b))


def answer(plan):
    return None if plan is None else (plan.latency, plan.accuracy, plan.energy, plan.config())


def outcome(call):
    """("ok", value) or (error type, message): what a call did, to compare two ways of doing it."""
    try:
        return "ok", call()
    except Exception as exc:  # noqa: BLE001 - the comparison is the test
        return type(exc).__name__, str(exc)


def compiled(planner):
    """The current state was made by the compiled fill (a link change's unbuilt topology and an engine copy)."""
    return planner._state._pending is not None and planner._state._engine is not None


def counting_compiled(monkeypatch):
    """Counts the re-plans that went through MoveFiller.compiled (list.append: safe from threads)."""
    calls, real = [], MoveFiller.compiled
    monkeypatch.setattr(MoveFiller, "compiled", lambda self: calls.append(1) or real(self))
    return calls


def links_of(topo):
    if topo.links is not None:
        return list(range(topo.M - 1))
    if topo.graph is not None:
        return list(range(len(topo.graph["links"])))
    return [(a, b) for a in range(topo.M) for b in range(a + 1, topo.M)]


# --- 1. threads ------------------------------------------------------------------------------------------

def test_threads_changing_and_asking_one_planner_get_a_fresh_planners_answers_on_the_state_they_report(monkeypatch):
    """4 threads change links, ratios, source and destination while 4 ask min_latency / pareto /
    max_accuracy / plan_table: each answer is a fresh Planner's on the network of the state it reports, a
    reader never sees an older state after a newer one, and the compiled fill was taken."""
    calls = counting_compiled(monkeypatch)
    rng = np.random.default_rng(3)
    profile = random_profile(rng, 5, 2, rising_accuracy=True)
    topo = ef.Topology.chain(["d", "p", "e", "c"], [50.0, 10.0, 2.0, 1.0], [1e6, 1e7, 1e8], [0.005, 0.02, 0.04])
    planner = ef.Planner(profile, topo)
    start, lock = threading.Barrier(8), threading.Lock()
    results, errors = [], []

    def writer(seed):
        r = np.random.default_rng(seed)
        start.wait()
        for _ in range(100):
            op = int(r.integers(5))
            try:
                if op <= 1:
                    planner.set_bandwidth(int(r.integers(3)), (1e5, 1e7, 1e9)[r.integers(3)])
                elif op == 2:
                    planner.set_latency(int(r.integers(3)), (0.0, 0.03)[r.integers(2)])
                elif op == 3:
                    planner.set_ratio(int(r.integers(4)), (1.0, 20.0)[r.integers(2)])
                else:
                    getattr(planner, ("set_source", "set_destination")[r.integers(2)])((0, 3)[r.integers(2)])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            time.sleep(0)  # let the readers in between changes

    def reader(seed):
        r = np.random.default_rng(seed)
        start.wait()
        mine = []
        for _ in range(50):
            q = int(r.integers(4))
            try:
                if q == 0:
                    got = planner.min_latency(min_accuracy=0.0)
                    state = got._state
                elif q == 1:
                    got = planner.pareto()
                    state = got[0]._state
                    assert all(p._state is state for p in got)
                elif q == 2:
                    got = planner.max_accuracy(max_latency=math.inf)
                    state = got._state
                else:
                    got = planner.plan_table("bandwidth", 0, 1e5, 1e8, min_accuracy=0.5)
                    state = got._param.state
                mine.append((q, got, state))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            time.sleep(0)
        with lock:
            results.append(mine)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # many thread switches: changes land between a question's steps
    try:
        threads = [threading.Thread(target=writer, args=(s,)) for s in range(4)] + \
                  [threading.Thread(target=reader, args=(s + 10,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(switch)
    assert not errors and [len(r) for r in results] == [50] * 4
    assert planner.version == 400 and calls  # every change taken; some through the compiled fill
    fresh = {}
    for mine in results:
        versions = [state.version for _, _, state in mine]
        assert versions == sorted(versions)
        for q, got, state in mine:
            key = (json.dumps(state.topology.to_dict(), sort_keys=True), state.source, state.destination)
            if key not in fresh:
                fresh[key] = ef.Planner(profile, state.topology, source=state.source, destination=state.destination)
            f = fresh[key]
            assert same_bits(state.tables, f.tables)
            if q == 0:
                assert answer(got) == answer(f.min_latency(min_accuracy=0.0))
            elif q == 1:
                assert [answer(p) for p in got] == [answer(p) for p in f.pareto()]
            elif q == 2:
                assert answer(got) == answer(f.max_accuracy(max_latency=math.inf))
            else:
                want = f.plan_table("bandwidth", 0, 1e5, 1e8, min_accuracy=0.5)
                assert got.rows == want.rows and got.breakpoints == want.breakpoints
    assert len(fresh) > 1  # the readers did see the network change under them


# --- 2. sequences mixing compiled and Python derives ----------------------------------------------------

@pytest.mark.parametrize(("filler", "seed"), [("everything", 0), ("serialize_per_tensor", 1),
                                              ("graph_bottleneck_mtu", 2), ("graph_given_routes", 3),
                                              ("chain_bottleneck", 4), ("block_time", 5)])
def test_random_changes_and_questions_match_a_fresh_planner_and_the_numpy_backend(filler, seed, monkeypatch):
    """Link, ratio, source and destination changes in random order, some on searched states (compiled),
    some not, with energy_tiers and max_memory: after each, the tables are the rebuilt network's to the
    bit, and a random question (P_lat, a quantile frontier, min_energy, the 3-objective frontier, P_acc)
    gets the fresh Planner's answer, on the cpu backend to the bit and on numpy's (never compiled)."""
    calls = counting_compiled(monkeypatch)
    profile, topo, src, dst = instance(filler, seed, M=4)
    rng = np.random.default_rng(seed + 100)
    topo, tiers = with_random_energy(rng, topo, src)
    links = links_of(topo)
    cpu = ef.Planner(profile, topo, source=src, destination=dst, energy_tiers=tiers, max_memory=2**30)
    numpy = ef.Planner(profile, topo, source=src, destination=dst, energy_tiers=tiers, backend="numpy")
    for step in range(12):
        op = int(rng.integers(6))
        if op <= 2:
            field = "bandwidth" if op < 2 else "latency"
            v = float(10 ** rng.uniform(4, 9)) if op < 2 else float(rng.uniform(0, 0.05))
            change = (f"set_{field}", links[int(rng.integers(len(links)))], v)
        elif op == 3:
            measured = [a for a in range(topo.M) if topo.devices[a] is not None]
            free = [a for a in range(topo.M) if a not in measured] or [None]
            change = ("set_ratio", free[int(rng.integers(len(free)))], float(rng.uniform(0.5, 50)))
            if change[1] is None:
                continue
        else:
            change = (("set_source", "set_destination")[op - 4], int(rng.integers(topo.M)))
        for planner in (cpu, numpy):
            getattr(planner, change[0])(*change[1:])
        fresh = ef.Planner(profile, cpu.topology, source=cpu.source, destination=cpu.destination, energy_tiers=tiers)
        assert same_bits(cpu.tables, fresh.tables) and same_bits(numpy.tables, fresh.tables), (step, change)
        q, x = int(rng.integers(5)), float(rng.uniform(0, 0.9))
        ask = [lambda p: [answer(a) for a in p.pareto(quantile=0.9)],
               lambda p, x=x: answer(p.min_latency(min_accuracy=x)),
               lambda p, x=x: answer(p.min_energy(min_accuracy=x)),
               lambda p: [answer(a) for a in p.pareto(objectives=3)],
               lambda p: answer(p.max_accuracy(max_latency=0.5))][q]
        want = ask(fresh)
        assert ask(cpu) == want, (step, change, q)
        assert ask(numpy) == want, (step, change, q)
    assert calls  # the compiled fill was among the derives


def test_a_searched_planner_after_set_ratio_then_set_bandwidth_uses_the_new_compute_row():
    """set_ratio makes a state with its own compute table (no shared engine); after a search, the compiled
    link change must build its engine copy on that table, not on the one before the ratio change."""
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    planner = ef.Planner(profile, topo)
    planner.min_latency(min_accuracy=0.9)
    planner.set_ratio(0, 1.0)  # the watch as fast as the cloud: plans move onto it
    planner.min_latency(min_accuracy=0.9)
    planner.set_bandwidth(0, 1e5)
    assert compiled(planner)
    want = topo.with_ratio(0, 1.0).with_link(0, bandwidth=1e5)
    assert np.array_equal(planner._state.engine_tables().compute_cost, _core.Tables(*ef.cost_tables(profile, want))
                          .compute_cost)
    fresh = ef.Planner(profile, want)
    assert [answer(p) for p in planner.pareto()] == [answer(p) for p in fresh.pareto()]


@pytest.mark.parametrize("change", ["set_source", "set_destination"])
def test_a_link_change_after_an_unsearched_tier_change_fills_from_the_shared_engine_copy(change):
    """set_source / set_destination on a searched state share its engine copy without building their own;
    a link change then goes through the compiled fill on that shared copy, with the new tier."""
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    planner = ef.Planner(profile, topo)
    planner.pareto()
    getattr(planner, change)(2)
    assert planner._state._engine is None and planner._state._engine_base is not None
    planner.set_bandwidth(1, 3e6)
    assert compiled(planner)
    tiers = {"source": 2 if change == "set_source" else 0, "destination": 2 if change == "set_destination" else 0}
    want = ef.cost_tables(profile, topo.with_link(1, bandwidth=3e6), **tiers)
    assert same_bits(planner.tables, want)
    engine = planner._state.engine_tables()
    assert same_bits((engine.input_cost, engine.result_cost), (want.input_cost, want.result_cost))
    fresh = ef.Planner(profile, topo.with_link(1, bandwidth=3e6), **tiers)
    assert [answer(p) for p in planner.pareto(quantile=0.5)] == [answer(p) for p in fresh.pareto(quantile=0.5)]


def test_set_topology_with_other_serialisation_then_a_link_change_fills_with_the_new_terms():
    """set_topology to tiers with other (de)serialisation times gives the state a new filler; the compiled
    link change after it must add the new terms, not those of the filler before."""
    profile = ef.Profile.preset("resnet20-fashionmnist")
    plain = ef.Topology.chain(["a", "b", "c"], [10.0, 2.0, 1.0], [1e6, 1e7], [0.01, 0.02])
    slow = plain.replace(serialize=[1e-7, 2e-7, 3e-7], deserialize=[3e-7, 1e-7, 2e-7])
    planner = ef.Planner(profile, plain, destination=2)
    planner.pareto()
    planner.set_topology(slow)
    planner.pareto()
    planner.set_bandwidth(1, 4e6)
    assert compiled(planner)
    assert same_bits(planner.tables, ef.cost_tables(profile, slow.with_link(1, bandwidth=4e6), destination=2))


def test_energy_questions_after_a_compiled_link_change_use_the_new_networks_energy_tables():
    """The energy tables of a re-planned state are filled from its (unbuilt until read) topology: the
    link's new bandwidth changes the radios' transfer energy, and min_energy answers on it."""
    rng = np.random.default_rng(8)
    profile = random_profile(rng, 5, 2)
    end = {"energy_per_bit_j": 1e-7, "power_w": 1.0, "energy_per_transfer_j": 0.0}
    topo = ef.Topology.chain(["d", "e", "c"], [20.0, 2.0, 1.0], [1e6, 1e7], [0.01, 0.02],
                             active_power_w=[3.0, 5.0, 9.0], idle_power_w=[0.5, 1.0, 2.0],
                             link_energy=[{"send": [end, end], "receive": [end, end]}] * 2)
    planner = ef.Planner(profile, topo, energy_tiers="all")
    before = planner.min_energy(min_accuracy=0.3)
    for v in (1e4, 1e8, 3e5):
        planner.set_bandwidth(0, v)
        assert compiled(planner)
        changed = topo.with_link(0, bandwidth=v)
        got = planner._state.energy_tables("all")
        assert same_bits(got, energy_tables(profile, changed, energy_tiers="all"))
        assert answer(planner.min_energy(min_accuracy=0.3)) == \
            answer(ef.Planner(profile, changed, energy_tiers="all").min_energy(min_accuracy=0.3))
    assert not same_bits(got, energy_tables(profile, topo, energy_tiers="all")) and before is not None


# --- 3. odd values --------------------------------------------------------------------------------------

ODD = [("bandwidth", v) for v in (1e-300, 5e-324, 2.2250738585072014e-308, 1e308, 1.7976931348623157e308, 10**6,
                                  10**400, np.float32(1e6), np.int64(10**6), np.float64(3e6), True, np.bool_(True),
                                  math.nan, math.inf, 0, -0.0, "1e6", None)] + \
      [("latency", v) for v in (math.nan, math.inf, -math.inf, 1e308, 5e-324, -0.0, 0, np.float32(0.01), 10**400,
                                True, -1e-300, 1e300)]


def odd_topologies():
    profile = ef.Profile.preset("resnet20-fashionmnist")
    routes = ef.Topology(["a", "b", "c"], [10.0, 2.0, 1.0], [[0, .01, .02], [.01, 0, .01], [.02, .01, 0]],
                         [[0, 1e-6, 2e-6], [1e-6, 0, 1e-6], [2e-6, 1e-6, 0]])
    parallel = ef.Topology.from_graph(["a", "b", "c"], [10.0, 2.0, 1.0],
                                      [[0, 1, 1e6, 0.01], [0, 1, 5e6, 0.02], [1, 2, 1e7, 0.005]],
                                      route_rule="bottleneck", mtu_bits=12000.0)
    by_latency = ef.Topology.from_graph(["a", "b", "c"], [10.0, 2.0, 1.0],
                                        [[0, 1, 1e6, 0.01], [1, 2, 1e7, 0.01], [0, 2, 1e6, 0.05]])
    return profile, {"chain": (ef.Topology.preset("mobile"), 1), "routes": (routes, (0, 2)),
                     "parallel-bottleneck-mtu": (parallel, 1), "graph-by-latency": (by_latency, 0)}


@pytest.mark.parametrize("form", ["chain", "routes", "parallel-bottleneck-mtu", "graph-by-latency"])
def test_odd_link_values_do_on_a_searched_planner_what_they_do_on_an_unsearched_one_and_from_scratch(form):
    """Each odd value (subnormal, overflowing, huge, integer, numpy scalar, bool, NaN, inf, None, a string):
    the compiled re-plan (searched state), the Python one (unsearched) and the numpy backend's refuse it
    alike or take it alike; taken, the tables are the network built from scratch to the bit, and the next
    question's answer or refusal is the same in all three and the fresh Planner's."""
    profile, topologies = odd_topologies()
    topo, link = topologies[form]
    dst = topo.M - 1
    for field, v in ODD:
        searched = ef.Planner(profile, topo, destination=dst)
        searched.min_latency(min_accuracy=0.5)
        unsearched = ef.Planner(profile, topo, destination=dst)
        numpy = ef.Planner(profile, topo, destination=dst, backend="numpy")
        numpy.pareto()
        did = [outcome(lambda p=p, f=field, v=v: getattr(p, f"set_{f}")(link, v))
               for p in (searched, unsearched, numpy)]
        assert did[0] == did[1] == did[2], (field, v)
        if isinstance(v, (bool, np.bool_, str)) or v is None:
            assert did[0][0] == "TypeError", (field, v)
        if v != v or v in (math.inf, -math.inf) and not (form == "routes" and field == "bandwidth"):
            assert did[0][0] == "ValueError", (field, v)  # NaN, and inf but a route's bandwidth (1/inf = 0)
        if did[0][0] != "ok":
            assert searched.version == unsearched.version == 0  # a refused change leaves the state
            continue
        scratch = topo.with_link(link, **{field: v})
        fresh = ef.Planner(profile, scratch, destination=dst)  # its tables unchecked until asked, as a re-plan's
        assert same_bits(searched.tables, fresh.tables) and same_bits(unsearched.tables, fresh.tables), (field, v)
        asked = [outcome(lambda p=p: answer(p.min_latency(min_accuracy=0.5))) for p in (searched, unsearched, numpy)]
        want = outcome(lambda p=fresh: answer(p.min_latency(min_accuracy=0.5)))
        assert asked[0] == asked[1] == want and asked[2][0] == want[0], (field, v)
        if want[0] != "ok":
            assert "must be finite and at most 1e+300 s" in want[1]
            assert searched._state._engine is None  # the compiled fill left it to the search's check


def test_a_refused_cost_is_named_at_the_search_and_the_next_change_plans_again_without_a_search_between():
    """A compiled change to costs over MAX_COST leaves no engine copy; the next change (on that state, never
    searched) goes through the compiled fill again on the state's shared copy and drops the refusal."""
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    planner = ef.Planner(profile, topo)
    planner.pareto()
    planner.set_latency(1, 1e301)
    assert planner._state._engine is None and planner._state._engine_base is not None
    planner.set_latency(1, 0.02)  # no search between: the state before had no engine copy of its own
    assert compiled(planner)
    fresh = ef.Planner(profile, topo.with_link(1, latency=0.02))
    assert answer(planner.min_latency(min_accuracy=0.9)) == answer(fresh.min_latency(min_accuracy=0.9))
    planner.set_latency(1, 1e301)
    with pytest.raises(ValueError, match=r"input_cost\[2\] = 1e\+301 s: costs must be finite"):
        planner.min_latency(min_accuracy=0.9)


def test_latencies_whose_route_sum_overflows_are_refused_by_name():
    planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    planner.pareto()
    planner.set_latency(1, 1e308)
    with pytest.raises(ValueError, match=r"\(500000000.0, 1e\+308\)\]: its time sums past the largest float"):
        planner.set_latency(2, 1e308)  # the watch -> cloud route: 1e308 + 1e308 s
    with pytest.raises(ValueError, match=r"its time sums past the largest float"):  # and built from scratch
        ef.Topology.chain(["a", "b", "c"], [1.0, 1.0, 1.0], [1e6, 1e6], [1e308, 1e308])


def test_one_block_and_one_tier():
    """N = 1: the compiled fill's smallest form (bits of 3 tensors); M = 1: no link to change."""
    rng = np.random.default_rng(0)
    profile = random_profile(rng, 1, 1)
    topo = ef.Topology.chain(["a", "b", "c"], [10.0, 2.0, 1.0], [1e6, 1e7], [0.01, 0.02])
    planner = ef.Planner(profile, topo, destination=2)
    for v in (3e6, 1e4, 1e9):
        planner.pareto()
        planner.set_bandwidth(1, v)
        assert compiled(planner)
        fresh = ef.Planner(profile, topo.with_link(1, bandwidth=v), destination=2)
        assert same_bits(planner.tables, fresh.tables)
        assert [answer(p) for p in planner.pareto()] == [answer(p) for p in fresh.pareto()]
    solo = ef.Planner(profile, ef.Topology.chain(["solo"], [3.0], [], []))
    solo.pareto()
    with pytest.raises(ValueError, match=r"^link = 0: link index out of range for 0 links"):
        solo.set_bandwidth(0, 1e6)
    with pytest.raises(ValueError, match=r"a link joins two different tiers"):
        solo.set_latency((0, 0), 0.01)
    assert solo.version == 0


# --- 4. memory ------------------------------------------------------------------------------------------

def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif(os.environ.get("EEPART_FAST_SANITIZED") == "1",
                    reason="AddressSanitizer keeps freed memory in quarantine: resident memory grows by design")
def test_100000_replans_do_not_grow_memory():
    """set_bandwidth + min_latency 100,000 times on M = 8 tiers: no state, engine copy or move table is
    kept past the next change (one leaked engine copy each would be ~200 MB here). Resident memory after
    the first 10,000 and after all of them, no timing."""
    rng = np.random.default_rng(0)
    profile = random_profile(rng, 3, 1)
    m = 8
    planner = ef.Planner(profile, ef.Topology.chain([f"t{j}" for j in range(m)], [1.0] * m, [1e7] * (m - 1),
                                                    [0.001] * (m - 1)))
    planner.min_latency(min_accuracy=0.0)
    bandwidths = (1e6, 2e6, 5e6, 1e7)

    def replans(start, count):
        for i in range(start, start + count):
            planner.set_bandwidth(i % (m - 1), bandwidths[i % 4])
            planner.min_latency(min_accuracy=0.0)

    replans(0, 10_000)
    assert compiled(planner)
    before = _resident_bytes()
    replans(10_000, 90_000)
    assert _resident_bytes() - before < 16 * 2**20
    assert planner.version == 100_000


# --- 5. direct misuse of _core.MoveFill -----------------------------------------------------------------

def _fill():
    profile, topo = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile")
    return MoveFiller(profile, topo), _core.Tables(*ef.cost_tables(profile, topo)), topo


@pytest.mark.parametrize(("args", "error", "message"), [
    ({"source": 2**31}, ValueError, r"^source = 2147483648: expected a tier index in 0..3$"),
    ({"destination": -2**63}, ValueError, r"^destination = -9223372036854775808: expected a tier index"),
    ({"source": 2**64}, TypeError, r"incompatible function arguments"),
    ({"source": None}, TypeError, r"incompatible function arguments"),
    ({"source": 1.0}, TypeError, r"incompatible function arguments"),
    ({"max_cost": None}, TypeError, r"incompatible function arguments"),
    ({"base": "tables"}, TypeError, r"incompatible function arguments"),
    ({"path_latency": None}, ValueError, r"^path_latency: expected shape \(4, 4\), got \(\)$"),
    ({"path_latency": "fast"}, TypeError, r"^path_latency: expected an array of numbers convertible to float64$"),
    ({"path_inv_bandwidth": np.array([[object()] * 4] * 4)}, TypeError, r"^path_inv_bandwidth: expected an array"),
    ({"path_inv_bandwidth": np.zeros((2, 4, 4))}, ValueError, r"expected shape \(4, 4\), got \(2, 4, 4\)$"),
    ({"path_latency": -np.ones((4, 4))}, ValueError, r"^input_cost\[0\] = -1: costs must be finite and >= 0$"),
    ({"path_latency": np.full((4, 4), np.inf), "max_cost": math.inf}, ValueError,
     r"^input_cost\[0\] = inf: costs must be finite and >= 0$"),
])
def test_misused_move_fill_calls_raise_clear_errors(args, error, message):
    fill, base, topo = _fill()
    call = {"base": base, "path_latency": topo.path_latency, "path_inv_bandwidth": topo.path_inv_bandwidth,
            "source": 0, "destination": 0, "max_cost": MAX_COST, **args}
    with pytest.raises(error, match=message):
        fill.compiled().moved(**call)


def test_a_base_of_other_blocks_is_refused_and_nan_or_inf_give_no_engine_copy():
    fill, base, topo = _fill()
    other = _core.Tables(*ef.cost_tables(random_profile(np.random.default_rng(1), 3, 1), topo))
    with pytest.raises(ValueError, match=r"^base: tables of N = 3, M = 4, this fill's are N = 10, M = 4$"):
        fill.compiled().moved(other, topo.path_latency, topo.path_inv_bandwidth, 0, 0, MAX_COST)
    for bad in (np.nan, np.inf):
        pl = topo.path_latency.copy()
        pl[2, 3] = bad
        *moves, engine = fill.compiled().moved(base, pl, topo.path_inv_bandwidth, 0, 0, MAX_COST)
        assert engine is None and not np.isfinite(moves[1][:, 2, 3]).any()
    *_, engine = fill.compiled().moved(base, topo.path_latency, topo.path_inv_bandwidth, 0, 0, math.nan)
    assert engine is None  # a NaN bound passes nothing


def test_non_contiguous_and_integer_route_matrices_give_the_contiguous_float64_calls_bits():
    fill, base, topo = _fill()
    rng = np.random.default_rng(4)
    pl = np.ascontiguousarray(topo.path_latency * rng.uniform(0.5, 2, (4, 4)))
    inv = topo.path_inv_bandwidth
    want = fill.compiled().moved(base, pl, inv, 1, 2, MAX_COST)
    wide = np.zeros((4, 8))
    wide[:, ::2] = pl
    for form in (np.asfortranarray(pl), wide[:, ::2], pl.T.copy().T):
        got = fill.compiled().moved(base, form, inv, 1, 2, MAX_COST)
        assert same_bits(got[:3], want[:3])
        assert same_bits((got[3].forward_cost,), (want[3].forward_cost,))
    integers = np.array([[0, 1, 2, 3], [1, 0, 1, 2], [2, 1, 0, 1], [3, 2, 1, 0]])
    got = fill.compiled().moved(base, integers, inv, 0, 3, MAX_COST)
    assert same_bits(got[:3], fill.compiled().moved(base, integers.astype(float), inv, 0, 3, MAX_COST)[:3])
    assert not any(a.flags.writeable for a in got[:3])


@pytest.mark.parametrize(("args", "error", "message"), [
    ((None, None, None), ValueError, r"^bits: expected a 1-D array of N\+2"),
    ((np.ones(12), None, np.zeros((4, 12))), TypeError, r"^send, receive: give both"),
    ((np.ones(12), None, None), TypeError, r"^send, receive: the tiers' \(de\)serialisation tables are needed"),
    ((np.ones((2, 12)), np.zeros((4, 12)), np.zeros((4, 12))), ValueError, r"^bits: expected a 1-D array"),
    ((np.ones(12), np.zeros((0, 12)), np.zeros((0, 12))), ValueError, r"^send: expected shape \(M, N\+2\)"),
    ((np.ones(12), np.zeros((17, 12)), np.zeros((17, 12))), ValueError, r"1 <= M <= 16"),
    ((np.ones(1003), np.zeros((1, 1003)), np.zeros((1, 1003))), ValueError, r"1 <= N <= 1000"),
    ((np.ones(12), np.zeros(12), np.zeros((4, 12))), ValueError, r"^send: expected shape"),
    ((np.ones(12), np.zeros((4, 12)), np.zeros((4, 11))), ValueError, r"^receive: expected shape \(4, 12\)"),
])
def test_a_misbuilt_move_fill_is_refused_by_name(args, error, message):
    with pytest.raises(error, match=message):
        _core.MoveFill(*args)


def test_a_none_base_is_a_type_error_not_a_crash():
    code = ("import eepart_fast as ef\nfrom eepart_fast.model.tables import MoveFiller\n"
            "p, t = ef.Profile.preset('resnet20-fashionmnist'), ef.Topology.preset('mobile')\n"
            "try:\n    MoveFiller(p, t).compiled().moved(None, t.path_latency, t.path_inv_bandwidth, 0, 0, 1e300)\n"
            "except (TypeError, ValueError) as exc:\n    print('refused:', exc)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("refused: "), (run.returncode, run.stderr[-500:])
