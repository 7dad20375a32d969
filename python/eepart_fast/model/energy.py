"""The energy tables (docs/model.md "Energy"): joules per sample that takes each step, in the engine form of
the cost tables, so that every backend computes a configuration's energy with its latency code on them.

The filler reads the topology's powers (active_power_w, idle_power_w) and radio models (link_energy), the
same routes, serialisation and compute times as the cost tables' fillers (model/tables.py, model/routes.py:
one copy of every rule), and counts only the tiers of `energy_tiers`.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import MAX_BLOCKS, MAX_TIERS, count, finite_energy
from .link_energy import route_entry
from .profile import Profile
from .routes import chain_routes, graph_routes, link_choice
from .tables import compute_table, serialisation, tensor_bits
from .topology import Topology


class EnergyTables(NamedTuple):
    """Joules per sample that takes each step (docs/model.md "Energy"), with the shapes of the cost tables.

    A configuration's energy is the latency's formula (docs/model.md "Engine form") with these four tables
    in place of the four cost tables, term for term (`reference.evaluate_energy`).

    Parameters
    ----------
    input_energy : numpy.ndarray, shape (M,)
        Joules to bring an input sample from the source to tier a.
    compute_energy : numpy.ndarray, shape (M, N+1, N+1)
        Joules of blocks p+1..q with branch q on tier a; zero where p >= q.
    forward_energy : numpy.ndarray, shape (N, M, M)
        Joules to move block q's output (row q-1) from tier a to tier b; zero where a == b.
    result_energy : numpy.ndarray, shape (M,)
        Joules to bring a result from tier a to the destination.

    Examples
    --------
    >>> from eepart_fast.model.energy import energy_tables
    >>> topo = ef.Topology.preset("mobile-energy")
    >>> energy = energy_tables(ef.Profile.preset("resnet20-fashionmnist"), topo)
    >>> energy.compute_energy.shape, energy.forward_energy.shape
    ((4, 11, 11), (10, 4, 4))
    """

    input_energy: np.ndarray  # (M,)
    compute_energy: np.ndarray  # (M, N+1, N+1)
    forward_energy: np.ndarray  # (N, M, M)
    result_energy: np.ndarray  # (M,)


def counted_tiers(topology: Topology, energy_tiers, source: int) -> np.ndarray:
    """(M,) of 1.0 where a tier's energy counts, else 0.0.

    Parameters
    ----------
    topology : Topology
        The tiers.
    energy_tiers : "source", "all" or list of (int or str)
        The source's battery, the whole system, or the tiers named (by index or name).
    source : int
        The source tier.

    Returns
    -------
    numpy.ndarray, shape (M,)

    Raises
    ------
    ValueError, TypeError
        Anything else, an empty list, an unknown or repeated tier; the message names the entry.
    """
    weight = np.zeros(topology.M)
    if isinstance(energy_tiers, str):
        if energy_tiers == "source":
            weight[source] = 1.0
        elif energy_tiers == "all":
            weight[:] = 1.0
        else:
            raise ValueError(f"energy_tiers = {energy_tiers!r:.60}: expected 'source', 'all' or a list of tiers "
                             f"(names or indices); for one tier, [{energy_tiers!r:.60}]")
        return weight
    if not isinstance(energy_tiers, (list, tuple)):
        raise TypeError(f"energy_tiers: expected 'source', 'all' or a list of tiers, got {energy_tiers!r:.60}")
    if not energy_tiers:
        raise ValueError("energy_tiers = []: names no tier, so every energy would be 0; give 'source', 'all' or "
                         "the tiers whose energy counts")
    count("energy_tiers", len(energy_tiers), MAX_TIERS, "tiers")
    for i, t in enumerate(energy_tiers):
        a = topology.tier(t, field=f"energy_tiers[{i}]")
        if weight[a]:
            raise ValueError(f"energy_tiers[{i}] = {t!r}: tier {a} is named twice")
        weight[a] = 1.0
    return weight


def route_hops(topology: Topology):
    """(a, b) -> [(sender, receiver, link index), ...] along each route of a chain or graph, the links taken
    as the route matrices take them (routes.link_choice); None for a topology given as route matrices.

    Parameters
    ----------
    topology : Topology
        The tiers and their routes.

    Returns
    -------
    dict or None
    """
    m = topology.M
    if topology.links is not None:
        links = [(j, j + 1, bw, lat) for j, (bw, lat) in
                 enumerate(zip(topology.links["bandwidth"], topology.links["latency"]))]
        paths = chain_routes(m)
    elif topology.graph is not None:
        links = [tuple(x) for x in topology.graph["links"]]
        given = topology.graph["routes"]
        if given == "shortest":
            paths = graph_routes(m, links, topology.graph.get("route_by", "latency"))
        else:  # to_dict's form: "a->b" by index
            paths = {tuple(int(v) for v in key.split("->")): list(p) for key, p in given.items()}
    else:
        return None
    chosen = link_choice(links)
    return {pair: [(x, y, chosen[(x, y)]) for x, y in zip(path[:-1], path[1:])] for pair, path in paths.items()}


def _links(topology: Topology):
    """(first tier, bandwidth) per link of a chain or graph, by link index."""
    if topology.links is not None:
        return [(j, bw) for j, bw in enumerate(topology.links["bandwidth"])]
    return [(x[0], x[2]) for x in topology.graph["links"]]


def _radio(topology: Topology, hops, weight: np.ndarray, a: int, b: int, bits: np.ndarray) -> np.ndarray:
    """Joules the counted tiers' radios spend moving messages of `bits` (per tensor) from a to b: per hop,
    the sender's send values and the receiver's receive values on the hop's link, each
    bits * energy_per_bit_j + power_w * (the hop's transfer time) + energy_per_transfer_j."""
    out = np.zeros_like(bits)
    if topology.link_energy is None:
        return out
    inv = topology.path_inv_bandwidth
    if hops is None:  # route matrices: one hop a -> b, end 0 = a, end 1 = b
        entry = route_entry(topology.link_energy, a, b)
        if entry is None:
            return out
        t = bits * inv[a, b]
        for role, (who, end) in enumerate(((a, 0), (b, 1))):
            if weight[who]:
                per_bit, power, per_transfer = entry[role, end]
                out = out + (bits * per_bit + power * t + per_transfer)
        return out
    links = _links(topology)
    for x, y, ell in hops[(a, b)]:
        first, bw = links[ell]
        # store_and_forward: the hop carries the whole message at its own bandwidth; bottleneck: the
        # streamed message keeps every radio on while the slowest link paces it.
        t = bits / bw if topology.route_rule == "store_and_forward" else bits * inv[a, b]
        entry = topology.link_energy[ell]
        for role, who in enumerate((x, y)):
            if weight[who]:
                per_bit, power, per_transfer = entry[role, 0 if who == first else 1]
                out = out + (bits * per_bit + power * t + per_transfer)
    return out


def move_energy(profile: Profile, topology: Topology, weight: np.ndarray, destination: int) -> np.ndarray:
    """(M, M, N+2): joules of moving tensor i (0 the input, q block q's output, N+1 the result) from tier a
    to tier b, zero where a == b: the counted radios, (de)serialisation at the active power, and the
    destination's idle power over the step's time it is not (de)serialising itself.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers, their routes and energy inputs.
    weight : numpy.ndarray, shape (M,)
        counted_tiers.
    destination : int
        The tier where results are due (the one that waits).

    Returns
    -------
    numpy.ndarray, shape (M, M, N+2)
    """
    m = topology.M
    bits = tensor_bits(profile)
    send, receive = serialisation(profile, topology)
    hops = route_hops(topology)
    busy = weight * topology.active_power_w  # W of (de)serialising, per tier, where it counts
    idle = weight[destination] * topology.idle_power_w[destination]
    pl, inv = topology.path_latency, topology.path_inv_bandwidth
    out = np.zeros((m, m, bits.shape[0]))
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused, with its place, by finite_energy
        for a in range(m):
            for b in range(m):
                if a == b:
                    continue
                e = _radio(topology, hops, weight, a, b, bits)
                e = e + busy[a] * send[a] + busy[b] * receive[b]
                if idle:
                    waiting = pl[a, b] + bits * inv[a, b]
                    if a != destination:
                        waiting = waiting + send[a]
                    if b != destination:
                        waiting = waiting + receive[b]
                    e = e + idle * waiting
                out[a, b] = e
    return out


def compute_energy_table(profile: Profile, topology: Topology, weight: np.ndarray, destination: int) -> np.ndarray:
    """(M, N+1, N+1): compute_cost (model/tables.py) times the watts counted while tier a computes: its
    active power, and the destination's idle power when it is another tier.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers and their energy inputs.
    weight : numpy.ndarray, shape (M,)
        counted_tiers.
    destination : int
        The tier where results are due.

    Returns
    -------
    numpy.ndarray, shape (M, N+1, N+1)
    """
    watts = weight * topology.active_power_w
    waiting = weight[destination] * topology.idle_power_w[destination]
    watts = watts + np.where(np.arange(topology.M) != destination, waiting, 0.0)
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(watts[:, None, None] * compute_table(profile, topology))


def energy_tables(profile: Profile, topology: Topology, *, source=0, destination=0,
                  energy_tiers="source") -> EnergyTables:
    """The energy model in engine form, for samples produced at `source` and results due at `destination`.

    Parameters
    ----------
    profile : Profile
        The profiled network.
    topology : Topology
        The tiers, their routes and their energy inputs (active_power_w, idle_power_w, link_energy; all 0
        by default, which gives zero tables).
    source : int or str
        The tier where samples are produced, by index or name.
    destination : int or str
        The tier where results are due, by index or name.
    energy_tiers : "source", "all" or list of (int or str)
        Whose energy counts: the source's (its battery; the default), every tier's (the system's), or
        the tiers named.

    Returns
    -------
    EnergyTables
        float64, C-contiguous, every entry finite, >= 0 and at most 1e300 J.

    Raises
    ------
    TypeError
        `profile` not a Profile, `topology` not a Topology.
    ValueError
        An unknown tier, bad energy_tiers, or an energy that overflows (named by its table and entry).

    Examples
    --------
    >>> from eepart_fast.model.energy import energy_tables
    >>> p, t = ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile-energy")
    >>> battery = energy_tables(p, t)
    >>> system = energy_tables(p, t, energy_tiers="all")
    >>> bool((system.compute_energy >= battery.compute_energy).all())
    True
    """
    if not isinstance(profile, Profile):
        raise TypeError(f"profile: expected a Profile, got {type(profile).__name__}")
    if not isinstance(topology, Topology):
        raise TypeError(f"topology: expected a Topology, got {type(topology).__name__}")
    source = topology.tier(source, field="source")
    destination = topology.tier(destination, field="destination")
    weight = counted_tiers(topology, energy_tiers, source)
    moves = move_energy(profile, topology, weight, destination)
    n = profile.N
    energy = EnergyTables(np.ascontiguousarray(moves[source, :, 0]),
                          compute_energy_table(profile, topology, weight, destination),
                          np.ascontiguousarray(moves[:, :, 1:n + 1].transpose(2, 0, 1)),
                          np.ascontiguousarray(moves[:, destination, n + 1]))
    finite_energy(energy)
    return energy


def check_energy_tables(energy, M: int, N: int) -> EnergyTables:
    """Energy tables from the user: shapes those of cost tables of M tiers and N blocks, every entry finite,
    >= 0 and at most 1e300 J.

    Parameters
    ----------
    energy : EnergyTables
        Tables of one's own (or energy_tables').
    M, N : int
        The cost tables' tiers and blocks.

    Returns
    -------
    EnergyTables
        float64, C-contiguous copies where needed.

    Raises
    ------
    TypeError
        Not an EnergyTables, or a table not of numbers.
    ValueError
        A shape that disagrees, an entry out of range.
    """
    if not isinstance(energy, EnergyTables):
        raise TypeError(f"energy: expected an EnergyTables, got {type(energy).__name__}")
    count("M", M, MAX_TIERS, "tiers")
    count("N", N, MAX_BLOCKS, "blocks")
    want = {"input_energy": (M,), "compute_energy": (M, N + 1, N + 1), "forward_energy": (N, M, M),
            "result_energy": (M,)}
    arrays = []
    for name, x in zip(EnergyTables._fields, energy):
        arr = np.asarray(x)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"energy.{name}: expected an array of numbers, got {arr.dtype}")
        if arr.shape != want[name]:
            raise ValueError(f"energy.{name}: expected shape {want[name]} (M={M}, N={N}), got {arr.shape}")
        arrays.append(np.ascontiguousarray(arr, dtype=np.float64))
    checked = EnergyTables(*arrays)
    finite_energy(checked)
    return checked
