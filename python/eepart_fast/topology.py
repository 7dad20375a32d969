"""Topology: M tiers, how slow each computes, and the routes between them (SPEC "Inputs")."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

try:
    import yaml
except ImportError:  # pragma: no cover - pyyaml is a dependency; JSON topologies work without it
    yaml = None

from ._checks import MAX_TIERS, at_least, count, float_array, integer, read_text

# The paper's two chains (SPEC "The paper's topologies"): names, ratio, bandwidth (bit/s), latency (s).
PRESETS = {
    "mobile": (["smartwatch", "smartphone", "edge server", "cloud"], [500.0, 10.0, 2.5, 1.0],
               [500e3, 10e6, 500e6], [0.006, 0.040, 0.050]),
    "iot": (["raspberry pi", "micro datacenter", "local cloud", "global cloud"], [100.0, 5.0, 2.5, 1.0],
            [10e6, 40e6, 500e6], [0.010, 0.010, 0.050]),
}


def _names(names) -> list:
    """Tier names: a list of at most MAX_TIERS non-empty strings, checked before anything is built."""
    if names is None:
        raise ValueError("names is null (missing): expected a list of tier names")
    if not isinstance(names, (list, tuple)):
        raise TypeError(f"names: expected a list of non-empty strings, got {type(names).__name__}")
    count("names", len(names), MAX_TIERS, "tiers")
    for j, n in enumerate(names):
        if not isinstance(n, str) or not n:
            raise TypeError(f"names[{j}] = {n!r:.60}: expected a non-empty string")
    return list(names)


class _NoAliasLoader(yaml.SafeLoader if yaml else object):
    """safe_load without anchors and aliases: a few hundred bytes of nested aliases expand to gigabytes."""

    MAX_DEPTH = 32  # a topology nests 3 deep; PyYAML slows quadratically with depth before it recurses out

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise ValueError(f"line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not "
                             "accepted in a topology; write the values out")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > self.MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ValueError(f"line {mark.line + 1}: nested more than {self.MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


if yaml is not None:
    # YAML 1.2 floats: PyYAML (YAML 1.1) reads 500e3 and 1e-3 as strings, which are refused as numbers.
    _NoAliasLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
        r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"), list("-+.0123456789"))


def _yaml_error(exc) -> str:
    """A YAML parser error in one line: where, and what."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + " ".join(str(problem).split())


class Topology:
    """Tiers with their compute ratio and the summed latency and 1/bandwidth of the route a -> b."""

    def __init__(self, names, ratio, path_latency, path_inv_bandwidth, links=None):
        self.names = _names(names)
        m = len(self.names)
        if m < 1:
            raise ValueError("names: a topology needs at least one tier, got 0")
        seen = {}
        for j, n in enumerate(self.names):
            if n in seen:
                raise ValueError(f"names[{j}] = {n!r}: repeats names[{seen[n]}]")
            seen[n] = j
        self.ratio = float_array("ratio", ratio, (m,))
        at_least("ratio", self.ratio, 0.0, strict=True)
        self.path_latency = float_array("path_latency", path_latency, (m, m))
        self.path_inv_bandwidth = float_array("path_inv_bandwidth", path_inv_bandwidth, (m, m))
        for field in ("path_latency", "path_inv_bandwidth"):
            arr = getattr(self, field)
            at_least(field, arr, 0.0)
            diag = np.flatnonzero(np.diag(arr) != 0)
            if diag.size:
                j = int(diag[0])
                raise ValueError(f"{field}[{j}][{j}] = {arr[j, j]}: a tier's route to itself must cost 0")
        # For chains, the links they were built from, so that one link can be changed later.
        self.links = links

    @property
    def M(self) -> int:
        return len(self.names)

    @classmethod
    def chain(cls, names, ratio, bandwidth, latency) -> "Topology":
        """The paper's chain: link j joins tiers j and j+1 with `bandwidth[j]` bit/s and `latency[j]` s."""
        names = _names(names)
        m = len(names)
        if m < 1:
            raise ValueError(f"names: a chain needs at least one tier, got {names!r}")
        bw = float_array("bandwidth", bandwidth, (m - 1,))
        at_least("bandwidth", bw, 0.0, strict=True)
        pl = float_array("latency", latency, (m - 1,))
        at_least("latency", pl, 0.0)
        # Route a -> b crosses links min(a,b) .. max(a,b)-1, each transmitting the whole message.
        # Summed link by link, not as differences of prefix sums, so that no route loses precision.
        path_latency = np.zeros((m, m))
        path_inv = np.zeros((m, m))
        for a in range(m):
            for b in range(a + 1, m):
                path_latency[a, b] = path_latency[b, a] = float(np.sum(pl[a:b]))
                path_inv[a, b] = path_inv[b, a] = float(np.sum(1.0 / bw[a:b]))
        return cls(names, ratio, path_latency, path_inv, links={"bandwidth": bw.tolist(), "latency": pl.tolist()})

    @classmethod
    def preset(cls, name: str) -> "Topology":
        if name not in PRESETS:
            raise ValueError(f"topology preset {name!r} is unknown; presets: {', '.join(PRESETS)}")
        return cls.chain(*PRESETS[name])

    def tier(self, tier, field: str = "tier") -> int:
        """A tier index from an index or a name."""
        if isinstance(tier, str):
            if tier not in self.names:
                raise ValueError(f"{field} = {tier!r}: unknown tier; tiers are {', '.join(map(repr, self.names))}")
            return self.names.index(tier)
        j = integer(field, tier)
        if not 0 <= j < self.M:
            raise ValueError(f"{field} = {j}: out of range for {self.M} tiers (0..{self.M - 1})")
        return j

    def to_dict(self) -> dict:
        if self.links is not None:
            return {"names": self.names, "ratio": self.ratio.tolist(), **self.links}
        return {"names": self.names, "ratio": self.ratio.tolist(), "path_latency": self.path_latency.tolist(),
                "path_inv_bandwidth": self.path_inv_bandwidth.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Topology":
        if not isinstance(d, dict):
            raise TypeError(f"topology: expected a mapping, got {type(d).__name__}")
        for f in ("names", "ratio"):
            if f not in d:
                raise ValueError(f"topology: missing field {f!r}")
        chain = {"bandwidth", "latency"}
        general = {"path_latency", "path_inv_bandwidth"}
        keys = set(d) - {"names", "ratio"}
        if keys == chain:
            return cls.chain(d["names"], d["ratio"], d["bandwidth"], d["latency"])
        if keys == general:
            return cls(d["names"], d["ratio"], d["path_latency"], d["path_inv_bandwidth"])
        raise ValueError(
            f"topology: fields {sorted(keys)} — give either a chain (bandwidth, latency: one per link) "
            "or routes (path_latency, path_inv_bandwidth: M x M)")

    def save(self, path) -> None:
        path = Path(path)
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        else:
            path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path) -> "Topology":
        path = Path(path)
        text = read_text(path, "topology file")
        where = f"topology file {str(path)!r}"
        try:
            if path.suffix.lower() in (".yaml", ".yml"):
                d = yaml.load(text, Loader=_NoAliasLoader)
            else:
                d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not valid JSON ({exc})") from None
        except RecursionError:
            raise ValueError(f"{where}: nested too deeply to be a topology") from None
        except ValueError as exc:  # an alias, refused by _NoAliasLoader
            raise ValueError(f"{where}: {exc}") from None
        except yaml.YAMLError as exc:
            raise ValueError(f"{where}: not valid YAML ({_yaml_error(exc)})") from None
        return cls.from_dict(d)

    def __repr__(self) -> str:
        return f"Topology({self.names})"
