"""In-place network changes (issue 21): after random sequences of set_bandwidth / set_latency / set_ratio /
set_source / set_destination, a Planner's tables are exactly those of the same network built from scratch
(ef.cost_tables on Topology.chain / from_graph / the route matrices), on chains (both route rules, with
fragments and serialisation), graphs (shortest by latency or hops, given routes, parallel links) and
topologies given as routes; with_link's and with_ratio's topologies are the ones built from scratch; bad
values are refused with the words a topology built from scratch uses; plan tables' quick evaluation gives
the tables of the rebuilt network at many values."""
import math

import numpy as np
import pytest

import eepart_fast as ef

from _instances import random_profile

NAMES = ["t0", "t1", "t2", "t3", "t4"]


class Network:
    """One network's raw fields, changed by hand and built from scratch on demand."""

    def __init__(self, form, rng, rule="store_and_forward", mtu_bits=None, serialised=False):
        self.form, self.rule, self.mtu_bits = form, rule, mtu_bits
        m = len(NAMES)
        self.ratio = rng.uniform(0.5, 50.0, m).tolist()
        self.extras = {}
        if serialised:
            self.extras = {"serialize": rng.uniform(0, 1e-8, m).tolist(),
                           "deserialize": rng.uniform(0, 1e-8, m).tolist()}
        if form == "chain":
            self.links = [[j, j + 1, float(rng.uniform(1e5, 1e9)), float(rng.uniform(0, 0.05))] for j in range(m - 1)]
        elif form.startswith("graph"):
            pairs = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 2), (1, 3), (0, 4), (2, 4), (1, 2)]  # (1, 2) twice: parallel
            self.links = [[a, b, float(rng.uniform(1e5, 1e9)), float(rng.uniform(0, 0.05))] for a, b in pairs]
            self.routes = "shortest"
            if form == "graph-given":
                self.routes = {f"{a}->{b}": list(range(a, b + 1)) if a < b else list(range(a, b - 1, -1))
                               for a in range(m) for b in range(m) if a != b}
        else:
            chain = ef.Topology.chain(NAMES, self.ratio, rng.uniform(1e5, 1e9, m - 1), rng.uniform(0, 0.05, m - 1))
            self.pl, self.inv = chain.path_latency.copy(), chain.path_inv_bandwidth.copy()

    def build(self):
        if self.form == "chain":
            return ef.Topology.chain(NAMES, self.ratio, [x[2] for x in self.links], [x[3] for x in self.links],
                                     route_rule=self.rule, mtu_bits=self.mtu_bits, **self.extras)
        if self.form.startswith("graph"):
            by = "hops" if self.form == "graph-hops" else "latency"
            return ef.Topology.from_graph(NAMES, self.ratio, self.links, routes=self.routes, route_by=by,
                                          route_rule=self.rule, mtu_bits=self.mtu_bits, **self.extras)
        return ef.Topology(NAMES, self.ratio, self.pl, self.inv, **self.extras)

    def copy(self):
        new = Network.__new__(Network)
        new.__dict__.update(self.__dict__)
        new.ratio = list(self.ratio)
        if self.form == "routes":
            new.pl, new.inv = self.pl.copy(), self.inv.copy()
        else:
            new.links = [list(x) for x in self.links]
        return new

    def link(self, rng):
        """A link (as set_bandwidth names it) and where its values are kept here."""
        if self.form == "routes":
            a, b = rng.choice(len(NAMES), 2, replace=False)
            return (int(a), int(b))
        return int(rng.integers(len(self.links)))

    def set(self, link, field, value):
        if self.form == "routes":
            a, b = link
            if field == "bandwidth":
                self.inv[a, b] = self.inv[b, a] = 1.0 / value
            else:
                self.pl[a, b] = self.pl[b, a] = value
        else:
            self.links[link][2 if field == "bandwidth" else 3] = value


FORMS = [("chain", {}), ("chain", {"rule": "bottleneck", "mtu_bits": 12000.0}), ("chain", {"serialised": True}),
         ("graph", {}), ("graph-hops", {"rule": "bottleneck"}), ("graph-given", {"serialised": True}), ("routes", {})]


def same_tables(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize(("form", "options"), FORMS, ids=[f"{f}-{'-'.join(o) or 'plain'}" for f, o in FORMS])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_planner_after_random_changes_holds_the_tables_of_the_network_built_from_scratch(form, options, seed):
    rng = np.random.default_rng(seed)
    profile = random_profile(rng, 6, 4)
    net = Network(form, rng, **options)
    planner = ef.Planner(profile, net.build())
    source = destination = 0
    for _ in range(25):
        op = rng.integers(5)
        if op == 0:
            link, v = net.link(rng), float(10 ** rng.uniform(5, 9))
            planner.set_bandwidth(link, v)
            net.set(link, "bandwidth", v)
        elif op == 1:
            link, v = net.link(rng), float(rng.choice([0.0, rng.uniform(0, 0.08)]))
            planner.set_latency(link, v)
            net.set(link, "latency", v)
        elif op == 2:
            a, v = int(rng.integers(len(NAMES))), float(10 ** rng.uniform(-1, 2))
            planner.set_ratio(a, v)
            net.ratio[a] = v
        elif op == 3:
            source = int(rng.integers(len(NAMES)))
            planner.set_source(source)
        else:
            destination = int(rng.integers(len(NAMES)))
            planner.set_destination(destination)
        scratch = net.build()
        assert same_tables(planner.tables, ef.cost_tables(profile, scratch, source=source, destination=destination))
        assert np.array_equal(planner.topology.path_latency, scratch.path_latency)
        assert np.array_equal(planner.topology.path_inv_bandwidth, scratch.path_inv_bandwidth)
        assert planner.topology.to_dict() == scratch.to_dict()
    fresh = ef.Planner(profile, net.build(), source=source, destination=destination)
    assert [p.config() for p in planner.pareto()] == [p.config() for p in fresh.pareto()]


@pytest.mark.parametrize(("form", "options"), FORMS, ids=[f"{f}-{'-'.join(o) or 'plain'}" for f, o in FORMS])
def test_with_link_and_with_ratio_give_the_topology_built_from_scratch(form, options):
    rng = np.random.default_rng(7)
    net = Network(form, rng, **options)
    topology = net.build()
    for _ in range(10):
        link = net.link(rng)
        field = "bandwidth" if rng.random() < 0.5 else "latency"
        v = float(10 ** rng.uniform(5, 9)) if field == "bandwidth" else float(rng.uniform(0, 0.08))
        changed = topology.with_link(link, **{field: v})
        net.set(link, field, v)
        a, r = int(rng.integers(len(NAMES))), float(rng.uniform(0.5, 50))
        changed = changed.with_ratio(a, r)
        net.ratio[a] = r
        scratch = net.build()
        assert np.array_equal(changed.path_latency, scratch.path_latency)
        assert np.array_equal(changed.path_inv_bandwidth, scratch.path_inv_bandwidth)
        assert np.array_equal(changed.ratio, scratch.ratio)
        assert changed.to_dict() == scratch.to_dict()
        assert changed is not topology and topology.to_dict() != changed.to_dict()  # the old one is untouched
        topology = changed


def test_a_derived_topology_shares_nothing_that_can_be_written():
    t = ef.Topology.preset("mobile")
    u = t.with_link(1, bandwidth=5e6).with_ratio(0, 400.0)
    for field in ("ratio", "path_latency", "path_inv_bandwidth", "serialize", "deserialize"):
        assert not np.shares_memory(getattr(t, field), getattr(u, field)), field
    assert t.links["bandwidth"] is not u.links["bandwidth"] and t.names is not u.names
    u.links["bandwidth"][0] = 1.0
    assert t.links["bandwidth"][0] == 500e3


@pytest.mark.parametrize(("field", "value", "error", "message"), [
    ("bandwidth", -1.0, ValueError, "bandwidth[1] = -1.0: must be > 0.0"),
    ("bandwidth", 0, ValueError, "bandwidth[1] = 0.0: must be > 0.0"),
    ("bandwidth", math.inf, ValueError, "bandwidth[1] = inf: must be finite"),
    ("bandwidth", 1e-320, ValueError, "bandwidth[1] = 1e-320: so small that 1/bandwidth overflows (bit/s expected)"),
    ("bandwidth", "fast", TypeError, "bandwidth[1] = 'fast': expected a number, got str"),
    ("bandwidth", True, TypeError, "bandwidth[1] = True: expected a number, got bool"),
    ("latency", -0.5, ValueError, "latency[1] = -0.5: must be >= 0.0"),
    ("latency", math.nan, ValueError, "latency[1] = nan: must be finite"),
    ("latency", 10**400, ValueError, "latency[1] = an integer of 401 digits: too large for a float64"),
])
def test_bad_values_are_refused_as_a_chain_built_from_scratch_refuses_them(field, value, error, message):
    t = ef.Topology.preset("mobile")
    with pytest.raises(error) as got:
        t.with_link(1, **{field: value})
    assert str(got.value) == message
    values = t.to_dict()
    values[field] = [*values[field][:1], value, *values[field][2:]]
    with pytest.raises(error) as scratch:
        ef.Topology.from_dict(values)
    assert str(scratch.value) == message


@pytest.mark.parametrize(("ratio", "message"), [(-2.0, "ratio[1] = -2.0: must be > 0.0"),
                                                (math.inf, "ratio[1] = inf: must be finite")])
def test_a_bad_ratio_is_refused_by_name(ratio, message):
    with pytest.raises(ValueError, match=r"^" + message.replace("[", r"\[").replace("]", r"\]") + "$"):
        ef.Topology.preset("mobile").with_ratio(1, ratio)


def test_a_graph_link_refused_by_its_entry_and_a_route_by_its_rebuild():
    graph = ef.Topology.from_graph(["a", "b", "c"], [10.0, 2.0, 1.0], [[0, 1, 1e6, 0.01], [1, 2, 1e7, 0.02]])
    with pytest.raises(ValueError, match=r"^links\[1\]\.bandwidth = -3\.0: must be > 0\.0$"):
        graph.with_link(1, bandwidth=-3.0)
    routes = ef.Topology(["a", "b"], [2.0, 1.0], [[0, 0.01], [0.01, 0]], [[0, 1e-6], [1e-6, 0]])
    with pytest.raises(ValueError, match=r"^bandwidth = -1\.0: must be > 0 bit/s$"):
        routes.with_link((0, 1), bandwidth=-1.0)


def test_a_latency_change_moves_a_graphs_shortest_paths():
    links = [[0, 1, 1e7, 0.01], [1, 2, 1e7, 0.01], [0, 2, 1e6, 0.05]]
    graph = ef.Topology.from_graph(["a", "b", "c"], [10.0, 2.0, 1.0], links)
    assert graph.path_latency[0, 2] == 0.02  # a -> b -> c
    slower = graph.with_link(0, latency=0.1)  # now a -> c directly: 0.05 s
    assert slower.path_latency[0, 2] == 0.05 and slower.path_inv_bandwidth[0, 2] == 1e-6
    links[0][3] = 0.1
    scratch = ef.Topology.from_graph(["a", "b", "c"], [10.0, 2.0, 1.0], links)
    assert np.array_equal(slower.path_latency, scratch.path_latency)
    assert np.array_equal(slower.path_inv_bandwidth, scratch.path_inv_bandwidth)


RANGES = {"bandwidth": (1e5, 1e9), "latency": (0.0, 0.2), "ratio": (0.5, 50.0), "scale": (0.01, 100.0)}


def table_case(seed, form, options, parameter):
    """A random profile and network, a Planner (source 1, destination 3) and a P_acc table over parameter."""
    rng = np.random.default_rng(seed)
    profile = random_profile(rng, 6, 4)
    net = Network(form, rng, **options)
    planner = ef.Planner(profile, net.build(), source=1, destination=3)
    link = (1, 2) if form == "routes" else 0
    target = {"bandwidth": link, "latency": link, "ratio": 2, "scale": None}[parameter]
    table = planner.plan_table(parameter, target, *RANGES[parameter], max_latency=0.05)
    return rng, profile, net, planner, target, table


def network_at(net, parameter, target, v):
    """The network with the parameter at v, built from scratch."""
    if parameter in ("bandwidth", "latency"):
        at_v = net.copy()
        at_v.set(target, parameter, v)
        return at_v.build()
    d = net.build().to_dict()
    if parameter == "ratio":
        d["ratio"] = [*d["ratio"][:target], v, *d["ratio"][target + 1:]]
    elif "bandwidth" in d:
        d["bandwidth"] = [b * v for b in d["bandwidth"]]
    elif "links" in d:
        d["links"] = [[a, b, bw * v, lat] for a, b, bw, lat in d["links"]]
    else:
        d["path_inv_bandwidth"] = (np.asarray(d["path_inv_bandwidth"]) / v).tolist()
    return ef.Topology.from_dict(d)


@pytest.mark.parametrize(("form", "options"), [f for f in FORMS if f[0] != "graph"])
@pytest.mark.parametrize("parameter", ["bandwidth", "latency", "ratio", "scale"])
def test_a_plan_tables_quick_evaluation_holds_the_tables_of_the_rebuilt_network(form, options, parameter):
    rng, profile, net, _, target, table = table_case(3, form, options, parameter)
    low, high = RANGES[parameter]
    values = rng.uniform(low, high, 60) if parameter in ("latency", "ratio") else \
        np.exp(rng.uniform(math.log(low), math.log(high), 60))
    for v in [low, high, *table.breakpoints, *values.tolist()]:
        want = ef.cost_tables(profile, network_at(net, parameter, target, v), source=1, destination=3)
        assert same_tables(table._param.tables_at(v), want), v
        assert same_tables(table._param.state_at(v).tables, want), v


@pytest.mark.parametrize(("form", "options"), FORMS, ids=[f"{f}-{'-'.join(o) or 'plain'}" for f, o in FORMS])
def test_a_states_tables_with_one_link_changed_are_those_of_the_derived_state(form, options):
    rng = np.random.default_rng(11)
    profile = random_profile(rng, 6, 4)
    net = Network(form, rng, **options)
    state = ef.Planner(profile, net.build(), source=2, destination=1)._state
    for _ in range(8):
        link = net.link(rng)
        change = {"bandwidth": float(10 ** rng.uniform(5, 9))} if rng.random() < 0.5 else \
            {"latency": float(rng.uniform(0, 0.08))}
        quick = state.tables_with_link(link, **change)
        derived = state.derive(state.topology.with_link(link, **change), moves={"input", "forward", "result"})
        assert same_tables(quick, derived.tables)
        at_v = net.copy()
        at_v.set(link, *next(iter(change.items())))
        assert same_tables(quick, ef.cost_tables(profile, at_v.build(), source=2, destination=1))
    with pytest.raises(ValueError, match="must be > 0"):
        state.tables_with_link(net.link(rng), bandwidth=-1.0)


@pytest.mark.parametrize(("form", "options"), FORMS, ids=[f"{f}-{'-'.join(o) or 'plain'}" for f, o in FORMS])
@pytest.mark.parametrize("parameter", ["bandwidth", "latency", "ratio"])
def test_a_plans_line_is_the_engines_evaluation_on_the_rebuilt_network(form, options, parameter):
    if form == "graph" and parameter == "latency":
        pytest.skip("routes chosen by latency: a plan table refuses a link's latency there")
    rng, profile, net, planner, target, table = table_case(5, form, options, parameter)
    configs = {p.config() for p in planner.pareto()[::7]}  # plans of every shape: L partitions, tiers
    low, high = RANGES[parameter]
    values = rng.uniform(low, high, 25).tolist()
    for config in configs:
        line = table._param.line(config)
        assert line is not None
        for v in values:
            tables = ef.cost_tables(profile, network_at(net, parameter, target, v), source=1, destination=3)
            assert line(v) == ef.evaluate(tables, configs=[config], backend="cpu").latency[0], (config, v)


def test_route_sums_of_many_rows_are_fsums_to_the_bit():
    """fsum_rows (the stacked routes' sums) against math.fsum: random magnitudes, cancellation, and the
    halfway cases that need fsum's half-even correction across partials."""
    from eepart_fast.model.routes import fsum_rows

    rng = np.random.default_rng(11)
    halfway = [1.0, 2.0 ** -53, 2.0 ** -54, 2.0 ** -106, 1e16, -1e16, 0.1, 3.0, 0.0]
    for k in range(1, 8):
        rows = np.concatenate([rng.uniform(0, 1, (500, k)), np.exp(rng.uniform(-60, 60, (500, k))),
                               rng.normal(size=(500, k)) * np.exp(rng.uniform(-40, 40, (500, k))),
                               rng.choice(halfway, (2000, k))])
        want = np.array([math.fsum(r) for r in rows.tolist()])
        np.testing.assert_array_equal(fsum_rows(rows).view(np.int64), want.view(np.int64))
    assert fsum_rows(np.array([[1.0, 2.0 ** -53, 2.0 ** -106]]))[0] == 1.0 + 2.0 ** -52  # not 1.0: the correction


def test_a_changed_links_short_routes_are_summed_to_the_bits_of_the_whole_matrices():
    """update_routes sums routes of one or two links with one addition, where that is fsum's answer: zero
    and negative-zero latencies, subnormal and huge values, and halfway cases give the bits of the whole
    route matrices (fsum over every route) on a chain of four tiers."""
    from eepart_fast.model.routes import Routing, route_matrices, update_routes

    rng = np.random.default_rng(5)
    odd = [0.0, -0.0, 5e-324, 1e-300, 0.1, 0.2, 0.3, 1.0, 2.0 ** -53, 1e300, 8e307]
    odd_bw = [1e-300, 3.0, 7.0, 1e6, 2.0 ** 53, 1e300]
    paths = {(a, b): list(range(a, b + 1)) if a < b else list(range(a, b - 1, -1))
             for a in range(4) for b in range(4) if a != b}
    fixed = [([-0.0] * 3, -0.0), ([0.0, -0.0, 0.0], -0.0), ([1e308, 0.0, 0.0], 1e308), ([0.1, 0.2, 0.3], 0.2)]
    for i in range(400):
        if i < len(fixed):
            lat, new_lat = fixed[i]
            bw, new_bw = [3.0] * 3, 7.0
        else:
            lat = [float(rng.choice(odd)) if rng.random() < 0.6 else float(rng.uniform(0, 0.05)) for _ in range(3)]
            bw = [float(rng.choice(odd_bw)) if rng.random() < 0.6 else float(10 ** rng.uniform(5, 9)) for _ in range(3)]
            new_bw, new_lat = float(rng.choice(odd_bw)), float(rng.choice(odd))
        links = [(j, j + 1, bw[j], lat[j]) for j in range(3)]
        pl, inv = route_matrices(4, links, paths)
        j = 1 if i < len(fixed) else int(rng.integers(3))
        links[j] = (j, j + 1, new_bw, new_lat)
        try:
            want = route_matrices(4, links, paths)
        except ValueError:  # a route's time past float's range: the quick path must not answer either
            with pytest.raises(ValueError, match="sums past the largest float"):
                update_routes(Routing(paths, links), pl, inv, j, j + 1, "store_and_forward", None)
            continue
        got = update_routes(Routing(paths, links), pl, inv, j, j + 1, "store_and_forward", None)
        for w, g in zip(want, got):
            np.testing.assert_array_equal(w.view(np.int64), g.view(np.int64))


@pytest.mark.parametrize(("form", "options"), FORMS, ids=[f"{f}-{'-'.join(o) or 'plain'}" for f, o in FORMS])
def test_link_changes_with_the_topology_never_read_between_them_hold_the_network_built_from_scratch(form, options):
    """A re-plan leaves its topology unbuilt (issue 21): many link changes in a row, each on a state whose
    topology was never built, give the tables of the network built from scratch, and the topology read
    after them (and at any state before, through its plan) is that network's."""
    rng = np.random.default_rng(21)
    profile = random_profile(rng, 6, 4)
    net = Network(form, rng, **options)
    planner = ef.Planner(profile, net.build(), source=1, destination=3)
    earlier = []
    for step in range(12):
        link = net.link(rng)
        field, value = ("bandwidth", float(10 ** rng.uniform(5, 9))) if rng.random() < 0.5 else \
            ("latency", float(rng.choice([0.0, rng.uniform(0, 0.08)])))
        getattr(planner, f"set_{field}")(link, value)
        net.set(link, field, value)
        assert same_tables(planner.tables, ef.cost_tables(profile, net.build(), source=1, destination=3)), step
        if step in (3, 7):
            earlier.append((planner.min_latency(min_accuracy=0.0), net.copy().build()))
    for plan, scratch in [*earlier, (planner.min_latency(min_accuracy=0.0), net.build())]:
        assert plan.topology.to_dict() == scratch.to_dict()
        assert np.array_equal(plan.topology.path_latency, scratch.path_latency)
        assert np.array_equal(plan.topology.path_inv_bandwidth, scratch.path_inv_bandwidth)
    assert planner.topology is planner.topology is plan.topology  # built once per state


def test_a_replaced_state_is_freed_at_once_and_keeps_no_state_before_it():
    """No reference cycle holds a state a re-plan replaced (it would wait, with its tables, for the garbage
    collector), and a state whose topology is unbuilt keeps no state before it alive."""
    import gc
    import weakref

    planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    gc.disable()
    try:
        gone = []
        for v in (5e6, 6e6, 7e6, 8e6):
            planner.min_latency(min_accuracy=0.9)  # answers and their plans, cached with the state
            gone.append(weakref.ref(planner._state.tables.forward_cost))  # a state's own (a link change re-fills it)
            planner.set_bandwidth(1, v)
        assert [ref() for ref in gone] == [None] * 4
    finally:
        gc.enable()
