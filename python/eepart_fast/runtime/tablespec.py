"""A plan table as a deployment takes it: the parameter (a chain link's bandwidth or delay), the intervals
and, once each, the plans they use, with everything export needs (threshold values, tier names). No torch.

    spec = table_spec(planner.plan_table("bandwidth", 0, 1e6, 50e6, min_accuracy=0.9))
    spec = table_spec(json.load(open("table.json")))   # `eepart plan --over bandwidth:... --json` output
    spec["rows"][i]["plan"], spec["plans"][j]["partitions"]
"""
from __future__ import annotations

import math

from .manifest import MAX_PLANS, MAX_ROWS, TABLE_PARAMETERS
from .schema import MAX_FILES

__all__ = ["MAX_FILES", "table_spec"]

_PLAN_FIELDS = ("partitions", "tier_names", "threshold", "threshold_index", "source", "destination")


def _inside(low: float, high: float) -> float:
    """A value strictly inside [low, high] (a plan table's row; its ends may be breakpoints)."""
    if high <= low:
        return low
    mid = math.sqrt(low * high) if low > 0 else 0.5 * (low + high)
    return mid if low < mid < high else 0.5 * (low + high)


def _from_plan_table(table) -> dict:
    d = table.to_dict()
    rows = []
    for r in table.rows:
        if r.config is None:
            rows.append({"low": r.low, "high": r.high, "plan": None})
            continue
        p = table.at(_inside(r.low, r.high)).to_dict()
        rows.append({"low": r.low, "high": r.high, "accuracy": r.accuracy, "latency_low": r.latency_low,
                     "latency_high": r.latency_high, "plan": {f: p[f] for f in _PLAN_FIELDS}})
    return {**{k: d[k] for k in ("parameter", "target", "problem", "bound", "low", "high", "breakpoints")},
            "target_name": d["target_name"], "rows": rows}


def _from_json(d: dict) -> dict:
    """`eepart plan --over --json`: rows with threshold_index, the profile's thresholds and tier names."""
    for field in ("parameter", "target", "problem", "bound", "low", "high", "rows", "thresholds", "topology",
                  "source", "destination"):
        if field not in d:
            extra = " (written by `eepart plan --over ... --json` since issue 24)" if field == "thresholds" else ""
            raise ValueError(f"table: field {field!r} missing{extra}")
    names, thresholds = d["topology"], d["thresholds"]

    def tier(v, field):
        if isinstance(v, str) and v in names:
            return v
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(names):
            return names[v]
        raise ValueError(f"table.{field} = {v!r}: expected a tier of {names}")

    source, destination = tier(d["source"], "source"), tier(d["destination"], "destination")
    rows = []
    for i, r in enumerate(d["rows"]):
        if not isinstance(r, dict):
            raise TypeError(f"table.rows[{i}]: expected an object")
        if r.get("partitions") is None:
            rows.append({"low": r.get("low"), "high": r.get("high"), "plan": None})
            continue
        t = r.get("threshold_index")
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < len(thresholds):
            raise ValueError(f"table.rows[{i}].threshold_index = {t!r}: expected 0..{len(thresholds) - 1}")
        plan = {"partitions": r["partitions"], "tier_names": r.get("tier_names"), "threshold": thresholds[t],
                "threshold_index": t, "source": source, "destination": destination}
        rows.append({"low": r.get("low"), "high": r.get("high"), "accuracy": r.get("accuracy"),
                     "latency_low": r.get("latency_low"), "latency_high": r.get("latency_high"), "plan": plan})
    return {**{k: d[k] for k in ("parameter", "target", "problem", "bound", "low", "high")},
            "breakpoints": d.get("breakpoints", []), "target_name": d.get("target_name"), "rows": rows}


def table_spec(table) -> dict:
    """A plan table as `export_table` deploys it: each distinct plan once, rows pointing at them.

    Parameters
    ----------
    table : PlanTable or dict
        A Planner's plan table, or `eepart plan --over ... --json` output (which lists the profile's
        thresholds and the tiers' names beside the rows).

    Returns
    -------
    dict
        parameter, link (the chain link's index), link_name, problem, bound, low, high, breakpoints,
        rows [{low, high, plan (index), accuracy, latency_low, latency_high}] and plans [{partitions,
        tier_names, threshold, threshold_index, source, destination}].

    Raises
    ------
    ValueError
        A table over a parameter the runtime cannot measure (a tier's ratio, every link's scale) or over a
        route or a graph link, a row where no plan meets the bound (named by index and interval), more
        than MAX_PLANS plans, a field missing.

    Examples
    --------
    >>> import eepart_fast as ef
    >>> from eepart_fast.runtime.tablespec import table_spec
    >>> planner = ef.Planner(ef.Profile.preset("resnet20-fashionmnist"), ef.Topology.preset("mobile"))
    >>> spec = table_spec(planner.plan_table("bandwidth", 1, 1e6, 100e6, max_latency=0.08))
    >>> spec["link"], spec["link_name"], len(spec["rows"]), len(spec["plans"])
    (1, 'link 1 (smartphone - edge server)', 14, 14)
    >>> spec["plans"][spec["rows"][0]["plan"]]["tier_names"]
    ['smartphone', 'edge server']
    """
    raw = _from_plan_table(table) if hasattr(table, "rows") and hasattr(table, "to_dict") else None
    if raw is None:
        if not isinstance(table, dict):
            raise TypeError(f"table: expected a PlanTable or its JSON, got {type(table).__name__}")
        raw = _from_json(table)
    if raw["parameter"] not in TABLE_PARAMETERS:
        raise ValueError(f"table.parameter = {raw['parameter']!r}: the runtime measures a link's "
                         f"{' or '.join(TABLE_PARAMETERS)} only")
    target = raw["target"]
    if not (isinstance(target, (list, tuple)) and len(target) == 2 and target[0] == "chain"
            and isinstance(target[1], int) and not isinstance(target[1], bool)):
        raise ValueError(f"table.target = {target!r}: the runtime emulates the links of a chain topology "
                         "(expected ['chain', index])")
    plans, index, rows = [], {}, []
    for i, r in enumerate(raw["rows"]):
        lo, hi, plan = r["low"], r["high"], r["plan"]
        if plan is None:
            raise ValueError(f"table.rows[{i}] = [{lo!r}, {hi!r}]: no plan meets the bound there; a deployed "
                             "table needs a plan everywhere (narrow the range or loosen the bound)")
        key = (tuple(plan["partitions"]), tuple(plan["tier_names"] or ()), plan["threshold_index"],
               plan["source"], plan["destination"])
        if key not in index:
            if len(plans) == MAX_PLANS:
                raise ValueError(f"table: more than {MAX_PLANS} distinct plans")
            index[key] = len(plans)
            plans.append({f: (list(v) if isinstance(v, tuple) else v) for f, v in plan.items()})
        rows.append({"low": lo, "high": hi, "plan": index[key],
                     **{f: r[f] for f in ("accuracy", "latency_low", "latency_high") if r.get(f) is not None}})
    if len(rows) > MAX_ROWS:
        raise ValueError(f"table: {len(rows)} rows, more than {MAX_ROWS}")
    return {"parameter": raw["parameter"], "link": target[1], "link_name": raw.get("target_name"),
            "problem": raw["problem"], "bound": raw["bound"], "low": raw["low"], "high": raw["high"],
            "breakpoints": list(raw["breakpoints"]), "rows": rows, "plans": plans}
