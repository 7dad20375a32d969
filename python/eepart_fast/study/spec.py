"""The study file: its axes (profiles, topologies with parameter grids or traces, sources, destinations,
bounds) and what to compute per scenario, checked once and expanded into numbered scenarios.

Scenario numbering is mixed radix, never materialised: profile, topology, source, destination, then the
topology's variant (grid point or trace row) and the bound, the last running fastest. A scenario's number is
its place in that order; its id is a hash of what it computes, the same in every study that holds it.
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import float_array, read_text
from .._core import DEFAULT_MAX_MEMORY
from .._deprecated import positional
from ..engine.registry import ORDER as BACKENDS
from ..model.energy import counted_tiers
from ..model.load import QUEUES, _link_servers
from ..model.profile import Profile
from ..model.quantile import parse_quantile
from ..model.tables import measured_tiers
from ..model.topology import PRESETS, Topology, _NoAliasLoader, _yaml_error

COMPUTE = ("frontier", "plans", "min_energy", "sweep")
MAX_SCENARIOS = 100_000_000  # the cap a study's driver runs within its stated memory (docs/studies.md)
MAX_VARIANTS = 10_000_000  # grid points of one topology
MAX_TRACE_ROWS = 1_000_000  # rows of one trace (read as text first)
MAX_MEMORY_GB = 1e6  # a memory budget beyond any machine (and below int overflow)
STUDY_KEYS = {"name", "profiles", "topologies", "sources", "destinations", "bounds", "compute", "backend",
              "batch_size", "max_memory_gb", "energy_tiers"}
TOPOLOGY_KEYS = {"topology", "name", "grid", "trace", "sources", "destinations"}
BOUND_KEYS = {"min_accuracy", "max_latency", "max_energy", "quantile", "rate", "fleet", "link_queues", "queues"}
LOAD_KEYS = ("rate", "fleet", "link_queues", "queues")  # a bound's load (docs/model.md "Load"): with rate only
_PARAM = re.compile(r"^(bandwidth|latency|ratio)\[([^\]]+)\]$")


@dataclass(frozen=True)
class Param:
    """One varied quantity: a chain link's (or a route's) bandwidth or latency, or a tier's ratio."""
    field: str  # "bandwidth" | "latency" | "ratio"
    key: object  # link index j, a route (a, b), or a tier index
    column: str  # canonical name, tiers as indices: bandwidth[1], latency[0,2], ratio[3]


class GridValues:
    """A grid's points as a read-only (points, parameters) float64 array whose rows are computed when asked
    for (row v is the v-th of itertools.product over the parameters' values, the last fastest), so a grid of
    10 M points costs its axes, not 80 MB per parameter. Indexing by a row, a slice, an integer array, or
    (rows, column) gives ndarrays; iteration gives rows; np.asarray() gives the whole array."""

    dtype = np.dtype(np.float64)
    ndim = 2
    CHUNK = 1 << 16  # rows per piece when iterating or hashing

    def __init__(self, axes: list):
        self.axes = [np.ascontiguousarray(a, dtype=np.float64).reshape(-1) for a in axes]
        self.sizes = tuple(a.size for a in self.axes)
        self.shape = (int(np.prod(self.sizes, dtype=np.int64)), len(self.axes))

    def __len__(self) -> int:
        return self.shape[0]

    def rows(self, index) -> np.ndarray:
        """Rows at the integer positions `index` (any shape), as index.shape + (parameters,)."""
        index = np.asarray(index, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= self.shape[0]):
            raise IndexError(f"grid row out of range for {self.shape[0]} points")
        coords = np.unravel_index(index, self.sizes)
        out = np.empty(index.shape + (len(self.axes),), dtype=np.float64)
        for j, (axis, c) in enumerate(zip(self.axes, coords)):
            out[..., j] = axis[c]
        return out

    def __getitem__(self, key):
        if isinstance(key, tuple):
            head, rest = key[0], key[1:]
            got = self[head]
            return got[rest] if got.ndim == 1 else got[(slice(None),) + rest]
        if isinstance(key, slice):
            return self.rows(np.arange(*key.indices(self.shape[0]), dtype=np.int64))
        if isinstance(key, (int, np.integer)):
            k = int(key) + (self.shape[0] if key < 0 else 0)
            return self.rows(np.int64(k))
        return self.rows(key)

    def __iter__(self):
        for start in range(0, self.shape[0], self.CHUNK):
            yield from self[start:start + self.CHUNK]

    def __array__(self, dtype=None, copy=None):
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def digest(self, h) -> None:
        """h.update() with the rows' bytes in order, piece by piece: what np.asarray(self).tobytes() gives."""
        for start in range(0, self.shape[0], self.CHUNK):
            h.update(self[start:start + self.CHUNK])


@dataclass
class TopologyAxis:
    label: str
    topology: Topology
    params: list  # [Param]
    values: np.ndarray | GridValues  # (variants, len(params)) float64 (a grid's computed row by row)
    time: np.ndarray | None  # (variants,) from a trace's `time` column
    sources: list  # tier indices
    destinations: list

    @property
    def variants(self) -> int:
        return self.values.shape[0]


@dataclass
class Group:
    """Scenarios sharing (profile, topology, source, destination): one Planner serves them all."""
    profile: int
    topology: int
    source: int
    destination: int
    offset: int  # number of its first scenario
    size: int  # variants x bounds


@dataclass
class StudySpec:
    """A checked study: what `load_study` makes of a study file, and what `run_study` runs.

    Parameters
    ----------
    name : str
        The study's name.
    profiles : list of (str, Profile)
        Each profile with its label.
    topologies : list of TopologyAxis
        Each topology with its parameter grid or trace, sources and destinations.
    bounds : list of dict
        Each bound: ``min_accuracy`` and/or ``max_latency`` (seconds), optionally ``quantile`` and
        ``max_energy`` (J per sample; needs `energy_tiers`), or a load (``rate`` per source, ``fleet``,
        ``link_queues``, ``queues``: the latency is then the mean under load); ``{}`` none.
    compute : list of str
        What each scenario computes: some of ``frontier``, ``plans``, ``min_energy`` (the least-energy plan
        within the bound, kind "P_energy"; needs `energy_tiers`), ``sweep``.
    backend : str, default "auto"
        The engine backend.
    batch_size : int, optional
        Scenarios per task (default: sized to the work).
    max_memory : int, default 2 GiB
        Bytes of rows one sweep task may keep.
    groups : list of Group
        The scenarios' numbering (made by `load_study`).
    energy_tiers : "source", "all" or list of (int or str), optional
        Whose energy counts (as the Planner's): then every row has an ``energy`` column (J per sample) and
        the results a ``max_energy`` column; None: no energy.

    Examples
    --------
    >>> from eepart_fast.study import load_study
    >>> spec = load_study({"name": "s", "profiles": ["resnet20-fashionmnist"],
    ...                    "topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": [1e7, 2e7]}}],
    ...                    "compute": ["frontier"], "bounds": [{"min_accuracy": 0.9}, {}]})
    >>> spec.scenarios, spec.param_columns(), spec.has_time()
    (4, ['bandwidth[1]'], False)
    >>> spec.summary()["topologies"][0]["variants"]
    2
    """
    name: str
    profiles: list  # [(label, Profile)]
    topologies: list  # [TopologyAxis]
    bounds: list  # [{"min_accuracy": x, "max_latency": y}] (keys optional)
    compute: list  # subset of COMPUTE, in COMPUTE's order
    backend: str = "auto"
    batch_size: int | None = None
    max_memory: int = DEFAULT_MAX_MEMORY
    groups: list = field(default_factory=list)
    energy_tiers: object = None
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def scenarios(self) -> int:
        return sum(g.size for g in self.groups)

    def param_columns(self) -> list:
        """Every varied quantity of the study, in first-seen order: the parameter columns of the results."""
        seen = {}
        for axis in self.topologies:
            for p in axis.params:
                seen.setdefault(p.column, None)
        return list(seen)

    def has_time(self) -> bool:
        """True when a topology follows a trace with a time column (the results then have one)."""
        return any(axis.time is not None for axis in self.topologies)

    def fingerprint(self) -> str:
        """Hash of everything that decides the results (not the backend or the batching); computed once."""
        if self._fingerprint is not None:
            return self._fingerprint
        h = hashlib.sha256()
        h.update(json.dumps({"compute": self.compute, "bounds": self.bounds}, sort_keys=True).encode())
        if self.energy_tiers is not None:  # absent: a study's fingerprint as before energy
            h.update(json.dumps({"energy_tiers": self.energy_tiers}).encode())
        for label, profile in self.profiles:
            h.update(label.encode() + b"\0" + profile_hash(profile).encode())
        for axis in self.topologies:
            h.update(json.dumps([axis.label, axis.topology.to_dict(), [p.column for p in axis.params],
                                 axis.sources, axis.destinations], sort_keys=True).encode())
            if isinstance(axis.values, GridValues):
                axis.values.digest(h)  # the bytes of the whole array, never all in memory
            else:
                h.update(np.ascontiguousarray(axis.values))
            h.update(b"" if axis.time is None else np.ascontiguousarray(axis.time))
        self._fingerprint = h.hexdigest()[:32]
        return self._fingerprint

    def summary(self) -> dict:
        """The study in brief, as JSON-ready data: name, scenarios, compute, bounds, profiles, topologies."""
        return {"name": self.name, "scenarios": self.scenarios, "compute": self.compute, "bounds": self.bounds,
                "energy_tiers": self.energy_tiers,
                "profiles": [label for label, _ in self.profiles],
                "topologies": [{"label": a.label, "variants": a.variants, "params": [p.column for p in a.params],
                                "sources": a.sources, "destinations": a.destinations} for a in self.topologies]}


def profile_hash(profile: Profile) -> str:
    d = profile.to_dict()
    d.pop("name", None)
    d.pop("meta", None)
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:32]


def topology_hash(topology: Topology) -> str:
    return topology_dict_hash(topology.to_dict())


def topology_dict_hash(form: dict) -> str:
    """topology_hash of the topology whose to_dict() is `form`."""
    return hashlib.sha256(json.dumps(form, sort_keys=True).encode()).hexdigest()[:32]


# --- reading -------------------------------------------------------------------------------------------

@positional("base_dir")
def load_study(study, *, base_dir=None) -> StudySpec:
    """A checked StudySpec from a study file (YAML or JSON, docs/studies.md) or its content as a mapping.

    Parameters
    ----------
    study : str, Path, dict or StudySpec
        The study file, or its content (a StudySpec is returned as it is).
    base_dir : str or Path, optional, keyword-only
        What file paths in a mapping are relative to (default: the working directory); a file's paths are
        relative to its folder.

    Returns
    -------
    StudySpec

    Raises
    ------
    ValueError, TypeError
        A field that is wrong, named with its place in the file.

    Examples
    --------
    >>> from eepart_fast.study import load_study
    >>> spec = load_study({"name": "s", "profiles": ["resnet20-fashionmnist"], "topologies": ["mobile", "iot"],
    ...                    "compute": ["plans"], "bounds": [{"min_accuracy": 0.9}, {"max_latency": 0.1}]})
    >>> spec.name, spec.scenarios
    ('s', 4)
    """
    if isinstance(study, StudySpec):
        return study
    if isinstance(study, dict):
        return parse_study(study, Path(base_dir or "."))
    path = Path(study)
    text = read_text(path, "study file")
    import yaml

    try:
        d = yaml.load(text, Loader=_NoAliasLoader)  # the topology files' SafeLoader: no aliases, nesting capped
    except ValueError as exc:  # an alias or too deep, refused by _NoAliasLoader
        raise ValueError(f"study file {str(path)!r}: {exc}") from None
    except RecursionError:
        raise ValueError(f"study file {str(path)!r}: nested too deeply to be a study") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"study file {str(path)!r}: not valid YAML ({_yaml_error(exc)})") from None
    return parse_study(d, path.parent, default_name=path.stem)


def _list(d: dict, key: str, default=None) -> list:
    value = d.get(key, default)
    if value is None:
        raise ValueError(f"study: missing field {key!r}")
    value = value if isinstance(value, list) else [value]
    if not value:  # an empty axis is a study of no scenarios, or of nothing computed: surely a mistake
        raise ValueError(f"{key}: needs at least one entry, got []")
    return value


def parse_study(d, base: Path, default_name: str = "study") -> StudySpec:
    if not isinstance(d, dict):
        raise TypeError(f"study: expected a mapping, got {type(d).__name__}")
    unknown = sorted(set(d) - STUDY_KEYS)
    if unknown:
        raise ValueError(f"study: unknown field {unknown[0]!r} (fields: {', '.join(sorted(STUDY_KEYS))})")
    name = str(d.get("name", default_name))
    profiles = [_profile(f"profiles[{i}]", ref, base) for i, ref in enumerate(_list(d, "profiles"))]
    _unique("profiles", [label for label, _ in profiles])
    default_src, default_dst = _list(d, "sources", [0]), _list(d, "destinations", [0])
    topologies = [_topology_axis(f"topologies[{i}]", t, base, default_src, default_dst)
                  for i, t in enumerate(_list(d, "topologies"))]
    _unique("topologies", [a.label for a in topologies])
    _check_devices(profiles, topologies)
    compute = _list(d, "compute", ["plans"])
    for i, c in enumerate(compute):
        if c not in COMPUTE:
            raise ValueError(f"compute[{i}] = {c!r}: must be one of {', '.join(COMPUTE)}")
    compute = [c for c in COMPUTE if c in compute]
    bounds = [_bound(f"bounds[{i}]", b) for i, b in enumerate(_list(d, "bounds", [{}]))]
    if "sweep" in compute:
        for i, b in enumerate(bounds):
            if "rate" in b:
                raise ValueError(f"bounds[{i}].rate: not with compute 'sweep' (its rows are priced unloaded); "
                                 "under load compute frontier or plans")
    for i, b in enumerate(bounds):
        if b.get("link_queues"):
            for t, axis in enumerate(topologies):
                try:
                    _link_servers(axis.topology)  # the load model's rule for which routes can queue
                except ValueError as exc:
                    raise ValueError(f"bounds[{i}].link_queues with topologies[{t}] ({axis.label!r}): {exc}") from None
    energy_tiers = _energy_tiers(d.get("energy_tiers"), topologies, bounds, compute)
    if energy_tiers is not None and any("rate" in b for b in bounds):
        i = next(i for i, b in enumerate(bounds) if "rate" in b)
        raise ValueError(f"bounds[{i}].rate: not in a study with energy_tiers (the load model prices latency "
                         "only; run the energy questions and the loads as two studies)")
    if "plans" in compute:
        for i, b in enumerate(bounds):
            if not {"min_accuracy", "max_latency"} & set(b):
                raise ValueError(f"bounds[{i}] = {b}: compute 'plans' needs min_accuracy (P_lat) or max_latency "
                                 "(P_acc) in every bound")
    backend = d.get("backend", "auto")
    if backend not in ("auto", *BACKENDS):
        raise ValueError(f"backend = {backend!r}: choose one of auto, {', '.join(BACKENDS)}")
    spec = StudySpec(name, profiles, topologies, bounds, compute, backend=backend, energy_tiers=energy_tiers)
    if "batch_size" in d:
        b = d["batch_size"]
        if isinstance(b, bool) or not isinstance(b, int) or b < 1:
            raise ValueError(f"batch_size = {b!r}: must be a positive integer")
        spec.batch_size = b
    if "max_memory_gb" in d:
        gb = _number("max_memory_gb", d["max_memory_gb"])
        if not 0 < gb <= MAX_MEMORY_GB:
            raise ValueError(f"max_memory_gb = {gb}: must be > 0 and at most {MAX_MEMORY_GB:g}")
        spec.max_memory = int(gb * 1024**3)
    _number_scenarios(spec)
    return spec


def _check_devices(profiles: list, topologies: list) -> None:
    """Every profile has the devices every topology names, and no parameter varies the ratio of a tier that
    computes with its device's own measurements (the ratio is not used there): refused before any task runs."""
    for label, profile in profiles:
        for axis in topologies:
            try:
                measured = measured_tiers(profile, axis.topology)
            except ValueError as exc:
                raise ValueError(f"profile {label!r} on topology {axis.label!r}: {exc}") from None
            for p in axis.params:
                if p.field == "ratio" and p.key in measured:
                    raise ValueError(f"topology {axis.label!r}: {p.column} varies the ratio of tier "
                                     f"{axis.topology.names[p.key]!r}, which computes with device "
                                     f"{axis.topology.devices[p.key]!r}'s own measurements in profile {label!r}")


def _unique(field_name: str, labels: list) -> None:
    seen = {}
    for i, label in enumerate(labels):
        if label in seen:
            raise ValueError(f"{field_name}[{i}]: label {label!r} repeats {field_name}[{seen[label]}]; "
                             "give each a distinct `name`")
        seen[label] = i


def _resolve(base: Path, ref: str) -> Path:
    p = Path(ref).expanduser()
    return p if p.is_absolute() else base / p


def _profile(where: str, ref, base: Path):
    name = None
    if isinstance(ref, dict):
        extra = sorted(set(ref) - {"profile", "name"})
        if extra or "profile" not in ref:
            raise ValueError(f"{where}: expected a preset name, a file, or {{profile: ..., name: ...}}")
        name, ref = ref.get("name"), ref["profile"]
    if not isinstance(ref, str):
        raise TypeError(f"{where}: expected a preset name or a profile file, got {ref!r}")
    path = _resolve(base, ref)
    if ref.endswith(".json") or path.exists():
        profile = Profile.load(path)
        label = name or profile.name or path.stem
    elif ref in Profile.presets():
        profile = Profile.preset(ref)
        label = name or ref
    else:
        raise ValueError(f"{where} = {ref!r}: no such file or preset (shipped presets: "
                         f"{', '.join(Profile.presets()) or 'none'})")
    return str(label), profile


def _topology_axis(where: str, entry, base: Path, default_src: list, default_dst: list) -> TopologyAxis:
    if not isinstance(entry, dict):
        entry = {"topology": entry}
    unknown = sorted(set(entry) - TOPOLOGY_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(sorted(TOPOLOGY_KEYS))})")
    if "topology" not in entry:
        raise ValueError(f"{where}: missing field 'topology' (a preset, a file, or the topology itself)")
    ref = entry["topology"]
    if isinstance(ref, dict):
        topology, label = Topology.from_dict(ref), "topology"
    elif isinstance(ref, str) and ref in PRESETS:
        topology, label = Topology.preset(ref), ref
    elif isinstance(ref, str):
        topology, label = Topology.load(_resolve(base, ref)), Path(ref).stem
    else:
        raise TypeError(f"{where}.topology: expected a preset name, a file or a mapping, got {ref!r}")
    label = str(entry.get("name", label))
    if "grid" in entry and "trace" in entry:
        raise ValueError(f"{where}: give either a grid or a trace, not both")
    time = None
    if "grid" in entry:
        params, values = _grid(f"{where}.grid", entry["grid"], topology)
    elif "trace" in entry:
        params, values, time = _trace(f"{where}.trace", _resolve(base, str(entry["trace"])), topology)
    else:
        params, values = [], np.zeros((1, 0))
    tiers = {}
    for key, default in (("sources", default_src), ("destinations", default_dst)):
        items = entry.get(key, default)
        items = items if isinstance(items, list) else [items]
        if not items:
            raise ValueError(f"{where}.{key}: needs at least one tier")
        tiers[key] = sorted({topology.tier(t, field=f"{where}.{key}[{i}]") for i, t in enumerate(items)})
    return TopologyAxis(label, topology, params, values, time, tiers["sources"], tiers["destinations"])


def parse_param(where: str, name, topology: Topology) -> Param:
    """`bandwidth[j]`, `latency[j]` (a chain's link j, or a route `[a,b]`), `ratio[tier]`: tiers by index or name."""
    m = _PARAM.match(name) if isinstance(name, str) else None
    if not m:
        raise ValueError(f"{where}: parameter {name!r} must be bandwidth[link], latency[link] or ratio[tier]")
    kind, inner = m.group(1), m.group(2).strip()

    def tier(text):
        return topology.tier(int(text) if text.lstrip("-").isdigit() else text, field=f"{where} {name!r}")

    if kind == "ratio":
        t = tier(inner)
        return Param(kind, t, f"ratio[{t}]")
    if "," in inner:
        link = tuple(tier(x.strip()) for x in inner.split(",", 1))
    elif inner.isascii() and inner.isdigit() and len(inner) <= 6:
        link = int(inner)
    else:
        raise ValueError(f"{where} {name!r}: expected a link index or two tiers [a,b]")
    # What the Planner's set_bandwidth / set_latency will name: a chain's or a graph's link index, or a
    # route (a, b) of a topology given as routes.
    try:
        how, key = topology.link_index(link)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} {name!r}: {exc}") from None
    if how == "route":
        return Param(kind, key, f"{kind}[{key[0]},{key[1]}]")
    return Param(kind, key, f"{kind}[{key}]")


def _check_values(where: str, param: Param, values: np.ndarray) -> None:
    bad = values < 0 if param.field == "latency" else values <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        op = ">= 0" if param.field == "latency" else "> 0"
        raise ValueError(f"{where}[{i}] = {values[i]}: {param.field} must be {op}")
    if param.field == "bandwidth":  # the route tables hold 1/bandwidth: a subnormal one overflows there
        with np.errstate(divide="ignore", over="ignore"):
            bad = ~np.isfinite(1.0 / values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{where}[{i}] = {values[i]}: bandwidth so small that 1/bandwidth overflows")


def _number(where: str, v) -> float:
    """A finite number; YAML 1.1 reads 1e6 (no dot) as a string, so numeric strings count."""
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise TypeError(f"{where}: expected a number, got {v!r}") from None
    return float(float_array(where, v, ()))


def _values(where: str, spec) -> np.ndarray:
    if isinstance(spec, dict):
        if len(spec) != 1 or next(iter(spec)) not in ("linspace", "geomspace"):
            raise ValueError(f"{where}: expected a list of values or {{linspace|geomspace: [start, stop, num]}}")
        how, args = next(iter(spec.items()))
        if not isinstance(args, list) or len(args) != 3:
            raise ValueError(f"{where}.{how}: expected [start, stop, num], got {args!r}")
        start, stop = (_number(f"{where}.{how}[{i}]", v) for i, v in enumerate(args[:2]))
        num = args[2]
        if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= MAX_VARIANTS:
            raise ValueError(f"{where}.{how}[2] = {num!r}: num must be an integer in 1..{MAX_VARIANTS}")
        if how == "geomspace" and not (start > 0 and stop > 0):
            raise ValueError(f"{where}.geomspace: start and stop must be > 0, got {start}, {stop}")
        return (np.geomspace if how == "geomspace" else np.linspace)(start, stop, num)
    items = spec if isinstance(spec, list) else [spec]
    values = np.array([_number(f"{where}[{i}]", v) for i, v in enumerate(items)], dtype=np.float64)
    if values.size == 0:
        raise ValueError(f"{where}: needs at least one value")
    return values


def _grid(where: str, grid, topology: Topology):
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"{where}: expected a mapping of parameter -> values, e.g. {{'bandwidth[1]': [1e6, 1e7]}}")
    params, axes, count = [], [], 1
    for name, spec in grid.items():
        param = parse_param(where, name, topology)
        if param.column in {p.column for p in params}:
            raise ValueError(f"{where} {name!r}: varies {param.column} twice")
        values = _values(f"{where}.{name}", spec)
        _check_values(f"{where}.{name}", param, values)
        count *= values.size
        if count > MAX_VARIANTS:
            raise ValueError(f"{where}: the grid has more than {MAX_VARIANTS:,} points; split the study")
        params.append(param)
        axes.append(values)
    return params, GridValues(axes)


def _trace(where: str, path: Path, topology: Topology):
    """CSV with a header row: parameter columns (bandwidth[1], ...) and optionally `time`; one variant a row."""
    try:
        with open(path, newline="") as f:
            rows = list(itertools.islice(csv.reader(f), MAX_TRACE_ROWS + 2))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{where} {str(path)!r}: cannot be read ({exc})") from exc
    if len(rows) > MAX_TRACE_ROWS + 1:
        raise ValueError(f"{where} {str(path)!r}: more than {MAX_TRACE_ROWS:,} rows; split the trace")
    if len(rows) < 2:
        raise ValueError(f"{where} {str(path)!r}: needs a header row and at least one row of values")
    header = [h.strip() for h in rows[0]]
    time_col = header.index("time") if "time" in header else None
    params, cols = [], []
    for c, name in enumerate(header):
        if c == time_col:
            continue
        param = parse_param(f"{where} column {c}", name, topology)
        if param.column in {p.column for p in params}:
            raise ValueError(f"{where} column {c} {name!r}: varies {param.column} twice")
        params.append(param)
        cols.append(c)
    if not params:
        raise ValueError(f"{where} {str(path)!r}: no parameter column (bandwidth[j], latency[j], ratio[t])")
    table = np.empty((len(rows) - 1, len(header)))
    for r, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ValueError(f"{where} {str(path)!r} line {r + 2}: {len(row)} fields, the header has {len(header)}")
        for c, text in enumerate(row):
            try:
                table[r, c] = float(text)
            except ValueError:
                rule = ("the time column must be numeric, in seconds (e.g. 0, 3600, 28800; not 08:00 or "
                        "a date)") if c == time_col else "parameters are numbers in SI units (bit/s, s, a ratio)"
                raise ValueError(f"{where} {str(path)!r} line {r + 2}, column {header[c]!r}: "
                                 f"{text!r} is not a number; {rule}") from None
    bad = ~np.isfinite(table)
    if bad.any():
        r, c = map(int, np.argwhere(bad)[0])
        raise ValueError(f"{where} {str(path)!r} line {r + 2}, column {header[c]!r}: {table[r, c]} must be finite")
    for p, c in zip(params, cols):
        _check_values(f"{where} column {header[c]!r}", p, table[:, c])
    time = None if time_col is None else np.ascontiguousarray(table[:, time_col])
    return params, np.ascontiguousarray(table[:, cols]), time


def _bound(where: str, b) -> dict:
    if b is None:
        return {}
    if not isinstance(b, dict):
        raise TypeError(f"{where}: expected a mapping with min_accuracy and/or max_latency (s), got {b!r}")
    unknown = sorted(set(b) - BOUND_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r} (bounds: min_accuracy, max_latency in seconds, "
                         "max_energy in joules, quantile; rate, fleet, link_queues, queues)")
    out = {k: _number(f"{where}.{k}", b[k]) for k in sorted(b) if k in ("min_accuracy", "max_latency", "max_energy")}
    if not 0.0 <= out.get("min_accuracy", 0.0) <= 1.0:  # as the CLI's --min-accuracy: 90 meant 0.9
        raise ValueError(f"{where}.min_accuracy = {b['min_accuracy']!r}: an accuracy is a fraction in [0, 1] "
                         "(0.9 for 90 %)")
    if b.get("quantile") is not None:  # the latency (and max_latency) is this quantile; absent: the mean
        out["quantile"] = parse_quantile(b["quantile"], field=f"{where}.quantile")
    out.update(_load_fields(where, b))
    return dict(sorted(out.items()))


def _load_fields(where: str, b: dict) -> dict:
    """A bound's load: `rate` (samples/s per source, Poisson), `fleet` (sources sharing the tiers, default 1)
    and `link_queues` (whether links queue, default false); the latency is then the mean under that load."""
    if "rate" not in b:
        for k in ("fleet", "link_queues", "queues"):
            if k in b:
                raise ValueError(f"{where}.{k}: only with rate (the load it describes)")
        return {}
    rate = _number(f"{where}.rate", b["rate"]) + 0.0  # -0.0 is 0.0: one scenario, one id
    if not 0 <= rate < np.inf:
        raise ValueError(f"{where}.rate = {rate!r}: expected a finite number of samples per second >= 0")
    if b.get("quantile") is not None:
        raise ValueError(f"{where}: rate and quantile together: the load model gives the mean latency only")
    out = {"rate": rate}
    if "fleet" in b:
        fleet = b["fleet"]
        if isinstance(fleet, bool):
            raise TypeError(f"{where}.fleet = {fleet!r}: expected a whole number of sources, not a boolean")
        number = _number(f"{where}.fleet", fleet)  # 4, 4.0, "4" and YAML's string "1e2" alike
        if not (number == int(number) if np.isfinite(number) else False) or not 1 <= number <= 1_000_000:
            raise ValueError(f"{where}.fleet = {fleet!r}: expected a whole number of sources in 1..1000000")
        fleet = int(number)
        if fleet > 1:  # the default left out: one scenario, one id, however it is spelled
            out["fleet"] = fleet
    if "link_queues" in b:
        if not isinstance(b["link_queues"], bool):
            raise ValueError(f"{where}.link_queues = {b['link_queues']!r}: expected true or false")
        if b["link_queues"]:
            out["link_queues"] = True
    if "queues" in b:
        if b["queues"] not in QUEUES:
            raise ValueError(f"{where}.queues = {b['queues']!r}: expected one of {', '.join(QUEUES)}")
        if b["queues"] != "mg1":
            out["queues"] = b["queues"]
    return out


def _energy_tiers(tiers, topologies: list, bounds: list, compute: list):
    """The study's energy_tiers, checked on every topology (None: no energy, and then no bound or compute
    may ask for it); a bound with both quantile and an energy question is refused, naming both."""
    asks = [f"bounds[{i}].max_energy" for i, b in enumerate(bounds) if "max_energy" in b]
    asks += ["compute 'min_energy'"] if "min_energy" in compute else []
    if tiers is None:
        if asks:
            raise ValueError(f"{asks[0]}: needs energy_tiers (whose energy counts: 'source', 'all' or a list of "
                             "tiers)")
        return None
    if isinstance(tiers, tuple):
        tiers = list(tiers)
    for axis in topologies:
        try:
            counted_tiers(axis.topology, tiers, 0)
        except (TypeError, ValueError) as e:
            raise type(e)(f"energy_tiers, on topology {axis.label!r}: {e}") from None
    for i, b in enumerate(bounds):
        if "quantile" in b and ("max_energy" in b or "min_energy" in compute):
            what = f"bounds[{i}].max_energy" if "max_energy" in b else "compute 'min_energy'"
            raise ValueError(f"bounds[{i}].quantile = {b['quantile']} with {what}: the energy questions take the "
                             "mean latency only (docs/model.md \"Energy\", \"Tail latency\"); give the quantile and "
                             "the energy question in different bounds")
    return tiers


def _number_scenarios(spec: StudySpec) -> None:
    offset, groups = 0, []
    B = len(spec.bounds)
    for p in range(len(spec.profiles)):
        for t, axis in enumerate(spec.topologies):
            for s in axis.sources:
                for d in axis.destinations:
                    size = axis.variants * B
                    groups.append(Group(p, t, s, d, offset, size))
                    offset += size
                    if offset > MAX_SCENARIOS:
                        raise ValueError(f"study: more than {MAX_SCENARIOS:,} scenarios; split it into several studies")
    spec.groups = groups


# --- one scenario, as a single call would see it --------------------------------------------------------

@positional("params", "values")
def apply_params(topology: Topology, *, params: list, values) -> Topology:
    """The topology with each Param set to its value: what the study's Planner plans on (its set_ratio,
    set_bandwidth and set_latency make the same Topology.with_ratio / with_link changes), every other field
    (devices, serialisation, route rule, graph links) kept.

    Parameters
    ----------
    topology : Topology
        The topology of a study's axis.
    params : list of Param, keyword-only
        The axis's parameters (``StudySpec.topologies[i].params``).
    values : sequence of float, keyword-only
        One value per parameter (a row of the axis's grid or trace), in the model's units (bit/s, s).

    Returns
    -------
    Topology

    Examples
    --------
    >>> from eepart_fast.study import apply_params, load_study
    >>> spec = load_study({"name": "s", "profiles": ["resnet20-fashionmnist"], "compute": ["frontier"],
    ...                    "topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": [1e7, 2e7]}}]})
    >>> axis = spec.topologies[0]
    >>> apply_params(axis.topology, params=axis.params, values=axis.values[1]).to_dict()["bandwidth"]
    [500000.0, 20000000.0, 500000000.0]
    """
    for p, v in zip(params, values):
        if p.field == "ratio":
            topology = topology.with_ratio(p.key, float(v))
        else:
            topology = topology.with_link(p.key, **{p.field: float(v)})
    return topology


def scenario(spec: StudySpec, index: int) -> dict:
    """Scenario `index` spelled out: profile, topology (parameters applied), source, destination, bound.

    Parameters
    ----------
    spec : StudySpec
        The study.
    index : int
        The scenario's number, 0 to ``spec.scenarios - 1`` (the results' ``scenario`` column).

    Returns
    -------
    dict
        ``profile``, ``profile_label``, ``topology``, ``topology_label``, ``params``, ``source``,
        ``destination`` and ``bound``.

    Raises
    ------
    IndexError
        When `index` is out of range.

    Examples
    --------
    >>> from eepart_fast.study import load_study, scenario
    >>> spec = load_study({"name": "s", "profiles": ["resnet20-fashionmnist"], "compute": ["frontier"],
    ...                    "topologies": [{"topology": "mobile", "grid": {"bandwidth[1]": [1e7, 2e7]}}],
    ...                    "bounds": [{"min_accuracy": 0.9}, {}]})
    >>> s = scenario(spec, 3)
    >>> s["params"], s["bound"], s["source"], s["destination"]
    ({'bandwidth[1]': 20000000.0}, {}, 0, 0)
    """
    if not 0 <= index < spec.scenarios:
        raise IndexError(f"scenario {index}: out of range for {spec.scenarios} scenarios")
    for g in spec.groups:
        if g.offset <= index < g.offset + g.size:
            v, b = divmod(index - g.offset, len(spec.bounds))
            axis = spec.topologies[g.topology]
            label, profile = spec.profiles[g.profile]
            return {"profile": profile, "profile_label": label, "topology_label": axis.label,
                    "topology": apply_params(axis.topology, params=axis.params, values=axis.values[v]),
                    "params": {p.column: float(x) for p, x in zip(axis.params, axis.values[v])},
                    "source": g.source, "destination": g.destination, "bound": dict(spec.bounds[b])}
    raise AssertionError("unreachable")
