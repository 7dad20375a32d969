"""Tandem queues (docs/model.md "Tandem queues"): QNA's waits by hand, P-K where the arrivals are Poisson, the
per-job overhead, and the search under queues="qna" against brute force over every configuration."""
from __future__ import annotations

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.model.load import Load, LoadModel, load_tables, wait
from eepart_fast.planning.load import load_max_accuracy, load_min_latency, load_pareto, max_rate, plan_max_rate

from _instances import random_profile, random_topology
from test_load import ROW, assert_same_frontier, brute, fewer_thresholds, random_load, worked


def test_first_server_is_pollaczek_khinchine():
    """One partition from the source: Poisson arrivals, so QNA is P-K to the last bits that matter."""
    p, topo = worked()
    mg1 = ef.model.evaluate_load(p, topo, (1, [3], [1]), load=Load(5.0), link_queues=False)
    qna = ef.model.evaluate_load(p, topo, (1, [3], [1]), load=Load(5.0, queues="qna"), link_queues=False)
    assert qna.latency == pytest.approx(mg1.latency, rel=1e-12)
    # With links queueing the watch's uplink comes first: its wait is P-K; the phone after it waits less.
    mg1 = ef.model.evaluate_load(p, topo, (1, [3], [1]), load=Load(1.0), link_queues=True)
    qna = ef.model.evaluate_load(p, topo, (1, [3], [1]), load=Load(1.0, queues="qna"), link_queues=True)
    up = ("link", 0, 0, 1)
    assert qna.servers[up].wait == pytest.approx(mg1.servers[up].wait, rel=1e-12)
    assert qna.servers[("tier", 1)].wait < mg1.servers[("tier", 1)].wait


def test_tandem_by_hand():
    """The worked example's row, compute queues only: the phone (25 ms, deterministic) at rho 0.5 passes on
    departures of c^2 = 1 - 0.5^2 = 0.75; 70 % stay: c^2 = 0.7 x 0.75 + 0.3 = 0.825 at the cloud."""
    p, topo = worked()
    r = ef.model.evaluate_load(p, topo, ROW, load=Load(20.0, queues="qna"), link_queues=False)
    assert r.servers[("tier", 1)].wait == pytest.approx(0.0125, rel=1e-12)  # P-K, as M/G/1
    cloud = 0.825 * 14 * 0.008 ** 2 / 2 / 0.888  # (c_a^2 + 0) / 2 x rho / (1 - rho) x E[S]
    assert r.servers[("tier", 3)].wait == pytest.approx(cloud, rel=1e-12)
    assert r.latency == pytest.approx(0.3845879296 + 0.0125 + 0.7 * cloud, rel=1e-12)
    model = LoadModel(p, topo, load=Load(20.0, queues="qna"), link_queues=False)
    ca2 = model.arrival_cv2(model.loads(ROW))
    assert ca2[("tier", 1)] == pytest.approx(1.0, rel=1e-15)
    assert ca2[("tier", 3)] == pytest.approx(0.825, rel=1e-12)


def test_fleet_splits_a_shared_servers_departures():
    """Four sources share the edge; its departures go back to each source's own tier: the quarter of them
    for one source is a thinner, more Poisson-like flow (p = 1/4 of the edge's departures)."""
    p, topo = worked()
    config = (0, [1, 3], [1, 0])  # phone then watch (the source, private)
    load = Load(3.0, fleet=4, queues="qna")
    model = LoadModel(p, topo, load=load, link_queues=False)
    loads = model.loads(config)
    rho = 12.0 * loads.servers[("tier", 1)][1]
    stay = 1 - model.tables.cum_exit[0, 1]
    share = stay / 4
    assert model.arrival_cv2(loads)[("tier", 0)] == pytest.approx(share * (1 - rho ** 2) + 1 - share, rel=1e-12)


def test_wait_with_arrival_variability():
    # Allen-Cunneen: (c_a^2 + c_s^2) / 2 x rho / (1 - rho) x E[S]; c_s^2 = 1e-4 / 1e-2^2 - 1 = 0.
    assert float(wait(50.0, 0.01, 1e-4, arrival_cv2=0.5)) == pytest.approx(0.25 * 1.0 * 0.01, rel=1e-15)
    assert float(wait(50.0, 0.01, 1e-4, arrival_cv2=1.0)) == float(wait(50.0, 0.01, 1e-4))


def test_overhead_is_service():
    p, topo = worked()
    h = [0.001, 0.002, 0.0, 0.003]
    idle = ef.model.evaluate_load(p, topo, ROW, load=Load(0.0, overhead_s=h), link_queues=False)
    # Unloaded, every entering sample pays its tier's overhead once: 1 x 2 ms on the phone, 0.7 x 3 ms.
    assert idle.latency == pytest.approx(0.3845879296 + 0.002 + 0.7 * 0.003, rel=1e-12)
    busy = ef.model.evaluate_load(p, topo, ROW, load=Load(20.0, overhead_s=h), link_queues=False)
    # The phone: service 27 ms at 20/s, rho 0.54, W = 20 x 0.027^2 / 2 / 0.46.
    assert busy.servers[("tier", 1)].wait == pytest.approx(20 * 0.027 ** 2 / 2 / 0.46, rel=1e-12)
    # The loaded tables carry the same overhead.
    per_t = load_tables(ef.cost_tables(p, topo), load=Load(20.0, overhead_s=h))
    assert per_t[1].compute_cost[1, 0, 1] == pytest.approx(0.027 + 20 * 0.027 ** 2 / 2 / 0.46, rel=1e-12)
    with pytest.raises(ValueError, match=r"overhead_s\[1\] = -1.0"):
        Load(1.0, overhead_s=[0, -1.0, 0, 0]).overhead(4)


def test_options_refused_by_name():
    with pytest.raises(ValueError, match="queues = 'gg1'"):
        Load(1.0, queues="gg1")
    p, topo = worked()
    with pytest.raises(ValueError, match="queues = 'qna'"):
        load_tables(ef.cost_tables(p, topo), load=Load(1.0, queues="qna"))
    with pytest.raises(ValueError, match="queues = 'qna'"):
        ef.planning.rate_table.rate_table(p, topo, load=Load(0.0, queues="qna"), low=0.0, high=1.0, min_accuracy=0.5)
    with pytest.raises(TypeError, match="qna"):
        load_pareto(ef.cost_tables(p, topo), load=Load(1.0, queues="qna"))


def qna_load(rng, p, topo, s, d, M):
    load = random_load(rng, ef.cost_tables(p, topo, source=s, destination=d), M)
    return load.replace(queues="qna", overhead_s=rng.uniform(0, 1e-3, M) * rng.integers(0, 2))


@pytest.mark.parametrize("link_queues", [False, True])
@pytest.mark.parametrize("seed", range(25))
def test_search_equals_brute_force_random(seed, link_queues):
    rng = np.random.default_rng(300 + seed)
    N, M, K = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    p, topo = random_profile(rng, N, K), random_topology(rng, M)
    s, d = int(rng.integers(0, M)), int(rng.integers(0, M))
    load = qna_load(rng, p, topo, s, d, M)
    expected = brute(p, topo, load, s, d, link_queues=link_queues)
    kw = {"load": load, "source": s, "destination": d, "link_queues": link_queues}
    assert_same_frontier(load_pareto(p, topo, **kw), expected)
    _, _, _, (every_lat, every_acc, _) = expected
    feasible = np.isfinite(every_lat)
    if feasible.any():
        eps = float(rng.choice(every_acc[feasible]))
        best = load_min_latency(p, topo, min_accuracy=eps, **kw)
        assert best.latency == pytest.approx(every_lat[feasible & (every_acc >= eps)].min(), rel=1e-12)
        bound = float(rng.choice(every_lat[feasible]))
        top = load_max_accuracy(p, topo, max_latency=bound, **kw)
        assert top.accuracy == pytest.approx(every_acc[feasible & (every_lat <= bound)].max(), rel=1e-12)


@pytest.mark.parametrize("link_queues", [False, True])
def test_search_equals_brute_force_shipped(link_queues):
    p = fewer_thresholds(ef.Profile.preset("resnet20-fashionmnist"), [0, 9, 19])
    topo = ef.Topology.preset("mobile")
    rate = 2.0 if link_queues else 30.0  # the watch's uplink carries every input when links queue
    load = Load(rate, fleet=2, background=[0, 0, 0.3, 0], overhead_s=[5e-4] * 4, queues="qna")
    expected = brute(p, topo, load, 0, 0, link_queues=link_queues)
    assert_same_frontier(load_pareto(p, topo, load=load, link_queues=link_queues), expected)
    # QNA moves the answer off M/G/1's.
    mg1 = brute(p, topo, load.replace(queues="mg1"), 0, 0, link_queues=link_queues)
    assert not np.allclose(expected[0][:3], mg1[0][:3], rtol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_max_rate_is_the_best_plans_capacity(seed):
    rng = np.random.default_rng(400 + seed)
    N, M, K = int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(1, 3))
    p, topo = random_profile(rng, N, K), random_topology(rng, M)
    load = Load(0.0, fleet=int(rng.integers(1, 4)), background=rng.uniform(0, 0.5, M), queues="qna")
    _, _, _, (lat0, acc0, configs) = brute(p, topo, load, 0, 0)
    eps = float(np.quantile(acc0, 0.5))
    bound = float(np.quantile(lat0[acc0 >= eps], 0.5)) * 1.5
    best = max(plan_max_rate(p, topo, c, load=load, max_latency=bound, rtol=1e-12).rate
               for c, a, lt in zip(configs, acc0, lat0) if a >= eps and lt <= bound)
    cap = max_rate(p, topo, load=load, min_accuracy=eps, max_latency=bound, rtol=1e-9)
    assert cap.rate <= best * (1 + 1e-9) and best <= cap.upper * (1 + 1e-9)
    assert cap.point.accuracy >= eps and cap.point.latency <= bound


@pytest.mark.parametrize("seed", range(20))
def test_latency_rises_with_the_rate(seed):
    """max_rate's bisection needs the latency to rise with the rate; under QNA a server's departures get
    smoother as it is loaded, so a downstream c_a^2 falls: the sum still rises (checked on a grid)."""
    rng = np.random.default_rng(500 + seed)
    N, M, K = int(rng.integers(2, 6)), int(rng.integers(2, 4)), int(rng.integers(1, 3))
    p, topo = random_profile(rng, N, K), random_topology(rng, M)
    model = LoadModel(p, topo, load=Load(0.0, fleet=int(rng.integers(1, 3)), queues="qna",
                                         service_cv2=rng.uniform(0, 1, M) * rng.integers(0, 2)))
    for config in list(ef.planning.load.configurations(N, M, K))[::7]:
        loads = model.loads(config)
        util = max(model.arrival(k, rate=1.0) * B for k, (_s, B, _A) in loads.servers.items())
        lat = [model.price(loads, rate=r).latency for r in np.linspace(0, 0.999 / util, 60)]
        assert all(b >= a * (1 - 1e-12) for a, b in zip(lat, lat[1:]))
