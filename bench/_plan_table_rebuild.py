"""Plan tables as they were built before issue 21, for the side-by-side benchmark: every value of the
parameter a table looks at rebuilt the whole network (Topology.to_dict -> from_dict -> chain ->
route_matrices, then every move table from the public fillers, serialisation recomputed per table) and
every engine search probed the backend's signature. `rebuilt()` patches that back into planning/plantable
for the duration of a `with` block; the table it gives must be the same, only slower.
"""
from __future__ import annotations

import contextlib
import inspect

from eepart_fast.model.tables import (
    CostTables,
    compute_row,
    forward_table,
    input_table,
    result_table,
    serialisation,
)
from eepart_fast.planning import _state, plantable
from eepart_fast.planning._state import _frozen, _State


def _with_link(topo, where, bandwidth=None, latency=None):
    """Topology.with_link before issue 21: a change of one link was a whole rebuild from the dict form
    (kept, as Topology._rebuilt_with_link, for the values the quick path leaves to the rebuild's checks)."""
    return topo._rebuilt_with_link(*where, bandwidth, latency)


def _topology(param, v: float):
    topo = param.topology
    if param.parameter == "bandwidth":
        return _with_link(topo, param.where, bandwidth=v)
    if param.parameter == "latency":
        return _with_link(topo, param.where, latency=v)
    if param.parameter == "ratio":
        ratio = topo.ratio.tolist()
        ratio[param.where] = v
        return topo.replace(ratio=ratio)
    if topo.links is not None:
        return topo.replace(bandwidth=[b * v for b in topo.links["bandwidth"]])
    if topo.graph is not None:
        return topo.replace(links=[[a, b, bw * v, lat] for a, b, bw, lat in topo.graph["links"]])
    return topo.replace(path_inv_bandwidth=(topo.path_inv_bandwidth / v).tolist())


def _derive(state, topo, compute=None, moves=()):
    """_State.derive before issue 21: serialisation recomputed, the named tables refilled."""
    t = state.tables
    comp = t.compute_cost
    if compute:
        comp = comp.copy()
        for a in compute:
            comp[a] = compute_row(state.profile, topo, a, state.base)
    ser = serialisation(state.profile, topo) if moves else None
    src, dst = state.source, state.destination
    tables = CostTables(input_table(state.profile, topo, src, ser) if "input" in moves else t.input_cost, comp,
                        forward_table(state.profile, topo, ser) if "forward" in moves else t.forward_cost,
                        result_table(state.profile, topo, dst, ser) if "result" in moves else t.result_cost,
                        t.cum_exit, t.accuracy)
    return _State(state.profile, topo, src, dst, _frozen(tables), state.base, state.version + 1)


def _state_at(self, v: float):
    if v not in self._states:
        topo = _topology(self, v)
        if self.parameter == "ratio":
            self._states[v] = _derive(self.state, topo, compute=[self.where])
        else:
            self._states[v] = _derive(self.state, topo, moves={"input", "forward", "result"})
    return self._states[v]


def _tables_at(self, v: float):
    return _state_at(self, v).tables  # every plan evaluated on a rebuilt network


def _search_rows(backend, max_memory, state, *args, **kwargs):
    module = _state.get_backend(backend)
    try:
        inspect.signature(module.pareto)  # the signature probe every search made (_takes)
    except (TypeError, ValueError):
        pass
    return _state._search_rows(backend, max_memory, state, *args, **kwargs)


@contextlib.contextmanager
def rebuilt():
    """Plan tables built as before issue 21 inside the block."""
    saved = (plantable._Parameter.state_at, plantable._Parameter.tables_at, plantable._Parameter.line,
             plantable._search_rows)
    plantable._Parameter.state_at, plantable._Parameter.tables_at = _state_at, _tables_at
    plantable._Parameter.line = lambda self, config: None  # no plan's line: every plan evaluated on tables
    plantable._search_rows = _search_rows
    try:
        yield
    finally:
        (plantable._Parameter.state_at, plantable._Parameter.tables_at, plantable._Parameter.line,
         plantable._search_rows) = saved
