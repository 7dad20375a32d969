"""The energy case study's computation (experiments/energy_case.py) on small instances: its brute-force
least-energy plan under both bounds against an independent enumeration (itertools over (t, P, A), each
configuration scored by tests/_raw_model.py, which computes from the topology's links and powers without
the tables), its device-only class, and the local search's gap, never negative and zero once it has looked
everywhere."""
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

import eepart_fast as ef

from _instances import random_profile
from _raw_model import energy as raw_energy
from _raw_model import latency_accuracy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import energy_case

DEVICE = 1
POWERS = {"active_power_w": [0.8, 6.4, 10.0, 200.0], "idle_power_w": [0.05, 2.7, 3.0, 90.0]}


def small_case(seed):
    rng = np.random.default_rng(seed)
    profile = random_profile(rng, N=4, K=3)
    topo = ef.Topology.preset("mobile-energy").replace(**POWERS)
    return profile, topo


def enumeration(profile, topo):
    """Every (t, P, A) by the model's rules (P strictly increasing in 1..N, A distinct tiers), scored raw."""
    out = []
    for L in range(1, min(profile.N, topo.M) + 1):
        for P in itertools.combinations(range(1, profile.N + 1), L):
            for A in itertools.permutations(range(topo.M), L):
                for t in range(profile.K):
                    lat, acc = latency_accuracy(profile, topo, DEVICE, DEVICE, t, P, A)
                    out.append(((t, P, A), lat, acc, raw_energy(profile, topo, DEVICE, DEVICE, t, P, A)))
    return out


def between(values, q):
    """A bound halfway between two neighbouring distinct values, so that rounding cannot move a row across."""
    v = np.unique(np.round(values, 9))
    i = min(max(int(q * len(v)), 1), len(v) - 1)
    return float((v[i - 1] + v[i]) / 2)


@pytest.mark.parametrize("seed", range(4))
def test_least_energy_matches_an_independent_enumeration(seed):
    profile, topo = small_case(seed)
    rows = energy_case.every_configuration(profile, topo, DEVICE)
    every = enumeration(profile, topo)
    assert len(every) == len(rows["energy"])
    lat = np.array([x[1] for x in every])
    acc = np.array([x[2] for x in every])
    energy = np.array([x[3] for x in every])
    by_config = {energy_case.config_of(rows, i): i for i in range(len(rows["energy"]))}
    assert set(by_config) == {x[0] for x in every}
    mine = np.array([rows["energy"][by_config[x[0]]] for x in every])
    np.testing.assert_allclose(mine, energy, rtol=1e-12, atol=0)
    checked = 0
    for qa, ql in [(0.2, 0.8), (0.5, 0.5), (0.8, 0.3), (0.95, 0.95), (0.0, 1.0)]:
        amin, lmax = between(acc, qa), between(lat, ql)
        ok = (acc >= amin) & (lat <= lmax)
        best = energy_case.min_energy(rows, amin, lmax)
        if not ok.any():
            assert best is None
            continue
        assert rows["energy"][best] == pytest.approx(energy[ok].min(), rel=1e-12)
        assert rows["accuracy"][best] >= amin and rows["latency"][best] <= lmax
        # Device-only: the enumeration's configurations with one partition on the device.
        alone = ok & np.array([x[0][2] == (DEVICE,) for x in every])
        dev = energy_case.min_energy(rows, amin, lmax, energy_case.on_one_tier(rows, DEVICE))
        assert (dev is None) == (not alone.any())
        if dev is not None:
            assert rows["energy"][dev] == pytest.approx(energy[alone].min(), rel=1e-12)
            assert rows["energy"][dev] >= rows["energy"][best]
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("seed", range(3))
def test_local_search_gap(seed):
    """Its best feasible plan is never below the brute-force optimum; each restart's best is no worse than
    the last; with many restarts on a space this small it reaches the optimum."""
    profile, topo = small_case(seed)
    rows = energy_case.every_configuration(profile, topo, DEVICE)
    amin, lmax = between(rows["accuracy"], 0.3), between(rows["latency"], 0.7)
    best = energy_case.min_energy(rows, amin, lmax)
    assert best is not None
    trace = energy_case.local_search(rows, amin, lmax, N=profile.N, M=topo.M, K=profile.K, restarts=60, seed=seed)
    found = [rows["energy"][i] for i, _ in trace if i is not None]
    assert found and all(e >= rows["energy"][best] * (1 - 1e-12) for e in found)
    assert all(a >= b for a, b in zip(found, found[1:]))
    assert [n for _, n in trace] == sorted(n for _, n in trace)
    for i, _ in trace:
        if i is not None:
            assert rows["accuracy"][i] >= amin and rows["latency"][i] <= lmax
    assert found[-1] == pytest.approx(rows["energy"][best], rel=1e-12)


def test_neighbours_are_one_move():
    """A split, a merge, a boundary or threshold step or a tier change; nothing else."""
    moves = set(energy_case.neighbours((1, (2, 4), (0, 3)), N=4, M=4, K=3))
    assert (0, (2, 4), (0, 3)) in moves and (2, (2, 4), (0, 3)) in moves
    assert (1, (1, 4), (0, 3)) in moves and (1, (2, 3), (0, 3)) in moves
    assert (1, (2, 4), (1, 3)) in moves and (1, (4,), (3,)) in moves and (1, (4,), (0,)) in moves
    assert (1, (1, 2, 4), (2, 0, 3)) in moves and (1, (2, 3, 4), (0, 1, 3)) in moves
    assert (1, (2, 4), (3, 0)) not in moves and (1, (1, 3), (0, 3)) not in moves


@pytest.mark.parametrize("seed", range(3))
def test_envelope_is_the_least_energy_at_every_power(seed):
    """The watch section's exact lower envelope in x against the minimum over every line at many x, the
    breakpoints included."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 1, 300), rng.uniform(0, 2, 300)
    a[:5], b[:5] = 0.0, rng.uniform(0.5, 2, 5)  # on-device: no radio
    b[5:10] = 0.0  # offloaded entirely: no busy time
    ok = rng.random(300) < 0.7
    lat = rng.uniform(0, 1, 300)
    env = energy_case.envelope(a, b, lat, ok)
    starts = [x for x, _ in env]
    assert starts[0] == 0.0 and starts == sorted(starts)
    for x in np.concatenate([np.linspace(0, 5, 201), starts]):
        piece = env[int(np.searchsorted(starts, x, side="right")) - 1][1]
        assert ok[piece]
        assert a[piece] + b[piece] * x == pytest.approx((a[ok] + b[ok] * x).min(), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_latency_only_plan_row(seed):
    """The latency-only planner's plan, found among the rows, is the fastest row at its accuracy floor."""
    profile, topo = small_case(seed)
    rows = energy_case.every_configuration(profile, topo, DEVICE)
    amin = between(rows["accuracy"], 0.6)
    plan = ef.min_latency(profile, topo, source=DEVICE, destination=DEVICE, min_accuracy=amin)
    i = energy_case.row_of(rows, plan)
    assert energy_case.config_of(rows, i) == (plan.threshold_index, tuple(plan.partitions), tuple(plan.placement))
    assert rows["latency"][i] == pytest.approx(rows["latency"][rows["accuracy"] >= amin].min(), rel=1e-12)
