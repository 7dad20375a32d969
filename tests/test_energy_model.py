"""The energy model (docs/model.md "Energy"): the worked example by hand, the filler against the raw model's
energy on random chains, graphs and routes (serialisation, both route rules, every energy_tiers form), zero
inputs giving zero tables, bad inputs named, and the brute-force 3-objective frontier on a hand-made case."""
import json

import numpy as np
import pytest

import eepart_fast as ef
from eepart_fast.engine import reference
from eepart_fast.engine.frontier import frontier3_indices
from eepart_fast.model.configs import pack_configs
from eepart_fast.model.energy import EnergyTables, check_energy_tables, energy_tables

from _instances import random_profile
from _raw_model import energy as raw_energy
from test_fillers import FILLERS, every_config, instance
from test_worked_example import spec_profile

# docs/model.md "Energy": the watch's link-0 radio and its idle power, the first row of the worked example.
WATCH_ENERGY = {"active_power_w": [1.0, 3.0, 20.0, 200.0], "idle_power_w": [0.1, 0.5, 10.0, 100.0],
                "link_energy": [{"send": [{"energy_per_bit_j": 1e-7, "power_w": 0.5, "energy_per_transfer_j": 0.002},
                                          {"energy_per_bit_j": 2e-7, "power_w": 1.0, "energy_per_transfer_j": 0.5}],
                                 "receive": [{"energy_per_bit_j": 5e-8, "power_w": 0.5},
                                             {"energy_per_bit_j": 1e-7, "power_w": 1.0}]},
                                None, None]}
FIRST_ROW_J = 0.14892919296  # by hand in docs/model.md


def worked_topology():
    return ef.Topology.preset("mobile").replace(**WATCH_ENERGY)


def energy_of(profile, topo, configs, *, source=0, destination=0, energy_tiers="source"):
    tables = ef.cost_tables(profile, topo, source=source, destination=destination)
    energy = energy_tables(profile, topo, source=source, destination=destination, energy_tiers=energy_tiers)
    packed = pack_configs(configs, profile.N, topo.M, profile.K)
    return reference.evaluate_energy(energy, tables.cum_exit, *packed)


def test_worked_example_by_hand():
    e = energy_of(spec_profile(), worked_topology(), [(1, [1, 3], [1, 3])])
    assert e.dtype == np.float64
    assert abs(e[0] - FIRST_ROW_J) <= 1e-12 * FIRST_ROW_J
    raw = raw_energy(spec_profile(), worked_topology(), 0, 0, 1, [1, 3], [1, 3])
    assert abs(raw - FIRST_ROW_J) <= 1e-12 * FIRST_ROW_J
    # The watch's idle energy is 0.1 W x the whole latency (it computes nothing itself), the rest its radio.
    latency = ef.evaluate(spec_profile(), worked_topology(), configs=[(1, [1, 3], [1, 3])], backend="numpy").latency[0]
    radio = 0.0098304 + 0.5 * 98304 / 500e3 + 0.002 + (320 * 5e-8 + 0.5 * 320 / 500e3)
    assert abs(e[0] - (0.1 * latency + radio)) <= 1e-12 * e[0]


def test_worked_example_every_tier_and_the_source_only():
    """The system's energy exceeds the battery's; a tier list of the source alone equals 'source'."""
    topo, p = worked_topology(), spec_profile()
    battery = energy_of(p, topo, [(1, [1, 3], [1, 3])])[0]
    assert energy_of(p, topo, [(1, [1, 3], [1, 3])], energy_tiers=["smartwatch"])[0] == battery
    system = energy_of(p, topo, [(1, [1, 3], [1, 3])], energy_tiers="all")[0]
    raw = raw_energy(p, topo, 0, 0, 1, [1, 3], [1, 3], tiers="all")
    assert system > battery and abs(system - raw) <= 1e-12 * raw


def with_random_energy(rng, topo, src):
    """`topo` with random powers and radio models, and a random energy_tiers form."""
    m = topo.M
    end = lambda: {"energy_per_bit_j": float(rng.uniform(0, 1e-7)), "power_w": float(rng.uniform(0, 2)),
                   "energy_per_transfer_j": float(rng.uniform(0, 0.1))}
    entry = lambda: None if rng.random() < 0.15 else {
        "send": [end(), None if rng.random() < 0.2 else end()], "receive": [end(), end()]}
    if topo.links is not None:
        link_energy = [entry() for _ in range(m - 1)]
    elif topo.graph is not None:
        link_energy = [entry() for _ in topo.graph["links"]]
    else:
        pairs = [(a, b) for a in range(m) for b in range(m) if a != b]
        link_energy = {f"t{a}->t{b}": entry() for a, b in pairs if rng.random() < 0.6}
    new = topo.replace(active_power_w=rng.uniform(0, 10, m).tolist(), idle_power_w=rng.uniform(0, 2, m).tolist(),
                       link_energy=link_energy)
    tiers = ["source", "all", sorted({int(x) for x in rng.integers(0, m, int(rng.integers(1, m + 1)))})][
        int(rng.integers(0, 3))]
    return new, tiers


def route_instance(seed):
    """A topology given as route matrices (asymmetric), with serialisation."""
    rng = np.random.default_rng(1000 + seed)
    m, n = int(rng.integers(2, 5)), int(rng.integers(1, 6))
    lat, inv = rng.uniform(0, 0.05, (m, m)), rng.uniform(1e-9, 1e-5, (m, m))
    np.fill_diagonal(lat, 0)
    np.fill_diagonal(inv, 0)
    topo = ef.Topology([f"t{j}" for j in range(m)], rng.uniform(0.5, 100, m), lat, inv,
                       serialize=rng.uniform(0, 1e-8, m), deserialize=rng.uniform(0, 1e-8, m))
    return random_profile(rng, n, int(rng.integers(1, 4))), topo, int(rng.integers(0, m)), int(rng.integers(0, m))


@pytest.mark.parametrize("filler", [*FILLERS, "routes"])
@pytest.mark.parametrize("seed", range(4))
def test_filler_matches_the_raw_model(filler, seed):
    """Every configuration's energy from the energy tables (the reference's latency code on them) equals
    the raw model's, computed from the topology's links and powers, to 1e-12 relative."""
    profile, topo, src, dst = route_instance(seed) if filler == "routes" else instance(filler, seed)
    topo, tiers = with_random_energy(np.random.default_rng(seed), topo, src)
    tables = ef.cost_tables(profile, topo, source=src, destination=dst)
    energy = energy_tables(profile, topo, source=src, destination=dst, energy_tiers=tiers)
    configs, rows = every_config(tables)
    have = reference.evaluate_energy(energy, tables.cum_exit, rows["threshold_index"], rows["num_partitions"],
                                     rows["partitions"], rows["placement"])
    want = np.array([raw_energy(profile, topo, src, dst, t, P, A, tiers=tiers) for t, P, A in configs])
    assert want.max() > 0
    np.testing.assert_allclose(have, want, rtol=1e-12, atol=0)


def test_route_entry_serves_the_reverse_unless_given():
    """A route 'a->b' serves b -> a with its ends swapped; an entry of its own for 'b->a' replaces that."""
    lat = [[0, 0.01], [0.01, 0]]
    inv = [[0, 1e-6], [1e-6, 0]]
    send = [{"energy_per_bit_j": 1e-6}, {"energy_per_bit_j": 3e-6}]
    one = ef.Topology(["a", "b"], [1, 1], lat, inv, link_energy={"a->b": {"send": send}})
    p = spec_profile()
    e = energy_tables(p, one, energy_tiers="all")
    assert e.input_energy.tolist() == [0.0, 98304 * 1e-6]  # a sends: end 0
    assert e.result_energy[1] == 320 * 3e-6  # b sends back: end 1
    both = ef.Topology(["a", "b"], [1, 1], lat, inv, link_energy={"a->b": {"send": send},
                                                                  "1->0": {"send": [{"power_w": 2.0}, None]}})
    assert energy_tables(p, both, energy_tiers="all").result_energy[1] == 2.0 * 320 * 1e-6


def test_zero_inputs_give_zero_tables():
    p, topo = spec_profile(), ef.Topology.preset("mobile")
    for tiers in ("source", "all", [1, 2]):
        e = energy_tables(p, topo, destination=3, energy_tiers=tiers)
        assert all(not np.asarray(x).any() for x in e)
        assert e.compute_energy.shape == (4, 4, 4) and e.forward_energy.shape == (3, 4, 4)
    # ... and a topology with them changes nothing else: the cost tables are the same bits.
    same = ef.cost_tables(p, worked_topology())
    for a, b in zip(same, ef.cost_tables(p, topo)):
        assert np.array_equal(a, b)


def test_counted_tiers_only():
    """A tier's powers count only where energy_tiers names it: the cloud's alone here."""
    p, topo = spec_profile(), worked_topology()
    e = energy_tables(p, topo, energy_tiers=["cloud"])
    assert e.compute_energy[3, 0, 3] == pytest.approx(200.0 * 0.010, rel=1e-12)
    assert not e.compute_energy[:3].any() and not e.input_energy.any()


def test_files_and_derived_topologies_keep_the_energy(tmp_path):
    topo = worked_topology()
    for name in ("t.json", "t.yaml"):
        topo.save(tmp_path / name)
        back = ef.Topology.load(tmp_path / name)
        assert back.to_dict() == topo.to_dict()
    for derived in (topo.with_link(1, bandwidth=2e7), topo.with_ratio("cloud", 0.5)):
        assert np.array_equal(derived.link_energy, topo.link_energy)
        assert derived.active_power_w.tolist() == topo.active_power_w.tolist()
        assert derived.idle_power_w.tolist() == topo.idle_power_w.tolist()
    assert "link_energy" not in ef.Topology.preset("mobile").to_dict()
    assert json.loads(json.dumps(topo.to_dict()))["idle_power_w"] == [0.1, 0.5, 10.0, 100.0]


@pytest.mark.parametrize("change, message", [
    ({"active_power_w": [1, 2, 3]}, "active_power_w: expected shape (4,)"),
    ({"idle_power_w": [0, -1.0, 0, 0]}, "idle_power_w[1] = -1.0: must be >= 0"),
    ({"active_power_w": [0, "2", 0, 0]}, "active_power_w[1] = '2': expected a number"),
    ({"link_energy": [None, None]}, "link_energy: 2 entries, but the topology has 3 links"),
    ({"link_energy": [None, {"send": [None, {"power_w": -2.0}]}, None]},
     "link_energy[1].send[1].power_w = -2.0: must be >= 0"),
    ({"link_energy": [None, None, {"receive": [{"energy_per_bit": 1e-9}, None]}]},
     "link_energy[2].receive[0]: unknown field 'energy_per_bit' (did you mean 'energy_per_bit_j'?)"),
    ({"link_energy": [{"sned": [None, None]}, None, None]},
     "link_energy[0]: unknown field 'sned' (did you mean 'send'?)"),
    ({"link_energy": [{"send": [None]}, None, None]}, "link_energy[0].send = [None]: expected a list of two ends"),
    ({"link_energy": [None, {"send": [{"energy_per_transfer_j": float("nan")}, None]}, None]},
     "link_energy[1].send[0].energy_per_transfer_j = nan: must be finite"),
    ({"link_energy": {"0->1": None}}, "link_energy: expected a list of one entry per link (3)"),
])
def test_bad_inputs_name_field_link_end_and_value(change, message):
    with pytest.raises((ValueError, TypeError)) as err:
        ef.Topology.preset("mobile").replace(**change)
    assert message in str(err.value)


def test_bad_route_keys_and_tiers_are_named():
    lat = [[0, 0.01], [0.01, 0]]
    inv = [[0, 1e-6], [1e-6, 0]]
    with pytest.raises(ValueError, match=r"link_energy\['a->c'\]: unknown tier 'c'"):
        ef.Topology(["a", "b"], [1, 1], lat, inv, link_energy={"a->c": None})
    with pytest.raises(ValueError, match=r"route 0->1 given twice"):
        ef.Topology(["a", "b"], [1, 1], lat, inv, link_energy={"a->b": None, "0->1": None})
    with pytest.raises(TypeError, match="given as routes: expected a mapping"):
        ef.Topology(["a", "b"], [1, 1], lat, inv, link_energy=[None])
    p, topo = spec_profile(), worked_topology()
    with pytest.raises(ValueError, match=r"energy_tiers = 'cloud': expected 'source', 'all' or a list"):
        energy_tables(p, topo, energy_tiers="cloud")
    with pytest.raises(ValueError, match=r"energy_tiers\[1\] = 'moon': unknown tier"):
        energy_tables(p, topo, energy_tiers=["cloud", "moon"])
    with pytest.raises(ValueError, match=r"energy_tiers\[1\] = 3: tier 3 is named twice"):
        energy_tables(p, topo, energy_tiers=["cloud", 3])
    with pytest.raises(ValueError, match=r"energy_tiers = \[\]: names no tier"):
        energy_tables(p, topo, energy_tiers=[])


def test_overflow_is_refused_by_table_and_entry():
    """Each input finite, their product not: refused by the finiteness rule of the cost tables."""
    topo = ef.Topology.preset("mobile").replace(active_power_w=[1e300, 0, 0, 0])
    with pytest.raises(ValueError,
                       match=r"compute_energy\[0\]\[0\]\[1\] = 1.25e\+300 J: energies must be finite, >= 0 and at most "
                             r"1e\+300 J"):
        energy_tables(spec_profile(), topo)
    bad = EnergyTables(np.zeros(2), np.zeros((2, 2, 2)), np.full((1, 2, 2), -1.0), np.zeros(2))
    with pytest.raises(ValueError, match=r"forward_energy\[0\]\[0\]\[0\] = -1.0 J"):
        check_energy_tables(bad, 2, 1)
    with pytest.raises(ValueError, match=r"energy.input_energy: expected shape \(3,\)"):
        check_energy_tables(bad, 3, 1)


def test_three_objective_frontier_by_hand():
    """Five rows: (1, .5, 3) and (2, .9, 2) and (2, .5, 1) each best at something; (3, .9, 2) is beaten by
    (2, .9, 2); a copy of a frontier row counts once (the first)."""
    lat = [1.0, 2.0, 2.0, 3.0, 2.0]
    acc = [0.5, 0.5, 0.9, 0.9, 0.9]
    en = [3.0, 1.0, 2.0, 2.0, 2.0]
    assert frontier3_indices(lat, acc, en).tolist() == [0, 2, 1]
    assert frontier3_indices(lat[:4], acc[:4], en[:4], rtol=0.0).tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match="three 1-D arrays"):
        frontier3_indices([1.0], [0.5, 0.6], [1.0])


def test_brute_force_frontier_on_the_worked_example():
    """Over every configuration of the worked example: each frontier row is dominated by none, and every
    other row is dominated by (or ties with) a frontier row; the system's energy adds points to the
    (latency, accuracy) frontier."""
    p, topo = spec_profile(), worked_topology()
    tables = ef.cost_tables(p, topo)
    rows = reference.every_configuration_energy(tables, energy_tables(p, topo, energy_tiers="all"))
    lat, acc, en = rows["latency"], rows["accuracy"], rows["energy"]
    front = frontier3_indices(lat, acc, en)
    for i in front:
        beats = (lat <= lat[i]) & (acc >= acc[i]) & (en <= en[i]) & ((lat < lat[i]) | (acc > acc[i]) | (en < en[i]))
        assert not beats.any()
    kept = np.zeros(lat.size, bool)
    kept[front] = True
    for i in np.flatnonzero(~kept):
        covered = (lat[front] <= lat[i]) & (acc[front] >= acc[i]) & (en[front] <= en[i])
        assert covered.any()
    two_d = ef.frontier_indices(lat, acc)
    assert set(two_d.tolist()) <= set(front.tolist()) and len(front) > len(two_d)


def test_mobile_energy_preset_numbers():
    """The preset is the paper's mobile chain plus the radio models of docs/model.md "Energy presets",
    converted from ARO's units: mW/Mbps -> J/bit, promotion and tail time x power -> J per message; the
    compute powers (active, idle): the phone the HTC Dream's CPU (PowerTutor: 4.3388 mW/% x 100 %, 0), the
    edge the Jetson Nano's MaxN budget (10 W, 0), the cloud the IBM x3550's SPECpower figures (222 W,
    58.4 W), the watch unread (0, 0)."""
    energy, mobile = ef.Topology.preset("mobile-energy"), ef.Topology.preset("mobile")
    d = energy.to_dict()
    powers = ("link_energy", "active_power_w", "idle_power_w")
    assert {k: v for k, v in d.items() if k not in powers} == mobile.to_dict()
    assert d["active_power_w"] == [0.0, pytest.approx(4.3388e-3 * 100, rel=1e-15), 10.0, 222.0]
    assert d["idle_power_w"] == [0.0, 0.0, 0.0, 58.4]
    lte_send = d["link_energy"][1]["send"][0]
    assert lte_send["energy_per_bit_j"] == pytest.approx(438.39e-9, rel=1e-15)
    assert lte_send["power_w"] == 1.2
    assert lte_send["energy_per_transfer_j"] == pytest.approx(0.26 * 1.21 + 10.12 * 1.06, rel=1e-15)
    assert d["link_energy"][1]["receive"][0] == {"energy_per_bit_j": pytest.approx(51.97e-9, rel=1e-15),
                                                 "power_w": 1.2, "energy_per_transfer_j": 0.0}
    assert d["link_energy"][0]["send"] == [{"energy_per_bit_j": 0.0, "power_w": 0.761,
                                            "energy_per_transfer_j": 0.0}] * 2
    idle = [{"energy_per_bit_j": 0.0, "power_w": 0.0, "energy_per_transfer_j": 0.0}] * 2
    assert d["link_energy"][2] == {"send": idle, "receive": idle}
    # The phone's battery pays the LTE tail on an input it forwards to the edge; the watch's does not.
    p = spec_profile()
    phone = energy_tables(p, energy, source="smartphone", destination="smartphone")
    assert phone.input_energy[2] == pytest.approx(98304 * 438.39e-9 + 1.2 * 98304 / 10e6 + 11.0418, rel=1e-12)
    watch = energy_tables(p, energy)
    assert watch.input_energy[2] == pytest.approx(0.761 * 98304 / 500e3, rel=1e-12)
