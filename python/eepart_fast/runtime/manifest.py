"""The deployment manifest: what each exported partition is, where it runs, and how to check its files.

manifest.json (written by export.py) holds:
  format, version; model (backbone, N, input_shape, classes, provenance);
  plan: threshold, threshold_index, partitions (block counts P_k), tier_names, source, destination, and the
        model's predicted latency/accuracy when the plan came with them;
  exit_rule: normalised entropy of the exit's softmax strictly below the threshold leaves; the last partition
        takes every sample still in the network;
  partitions[k]: index (1-based), blocks [first, last], exit (block q), tier, file, sha256, bytes,
        inputs / outputs as {name, shape, dtype}; output "h" (the block q output) only where a partition follows.
  table (optional, a deployed plan table: `export_table`): parameter (bandwidth or latency), link (a chain
        link's index), link_name, problem, bound, low, high, breakpoints, rows [{low, high, plan}], and
        plans[j] {plan, partitions} as the top level's; plans[0] is the top level's plan, so a reader that
        knows no tables runs plan 0. Plans share files: each distinct partition is one file.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import ManifestError

FORMAT = "eepart-partitions"
VERSION = 1
MANIFEST = "manifest.json"
DTYPES = ("float32", "float16", "float64", "int64", "int32", "uint8")
MAX_PARTITIONS = 16
MAX_PLANS = 64           # plans of a deployed table
MAX_ROWS = 4096          # intervals of a deployed table
TABLE_PARAMETERS = ("bandwidth", "latency")


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


MAX_DEPTH = 32           # nesting of a manifest's JSON (export writes 5)
MAX_DIGITS = 20          # digits of an integer in a manifest (no field needs more than an int64)
MAX_ARTIFACT = 4 << 30   # bytes of one partition's ONNX file


def open_regular(path, what: str):
    """`path` opened for reading without following a symbolic link, refused (ManifestError naming `what`)
    when it is a link, is not a regular file, or is missing. The open file is what gets read, so the file
    checked is the file used (no swap between a check by name and the open)."""
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if path.is_symlink():  # where O_NOFOLLOW is missing (Windows), and for a clearer message
        raise ManifestError(f"{what}: {path} is a symbolic link (to {os.readlink(path)}); the runtime opens "
                            f"only regular files inside the deployment folder, never through a link")
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ManifestError(f"{what}: {path} missing") from None
    except OSError as exc:
        if path.is_symlink():
            raise ManifestError(f"{what}: {path} is a symbolic link; the runtime opens only regular files "
                                f"inside the deployment folder, never through a link") from None
        raise ManifestError(f"{what}: {path} cannot be opened ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ManifestError(f"{what}: {path} is not a regular file")
    return os.fdopen(fd, "rb")


def read_artifact(manifest, part, limit: int = MAX_ARTIFACT) -> bytes:
    """A partition's ONNX file as bytes, opened without following links and checked against the manifest's
    sha256 (the bytes hashed are the bytes served), refused by name otherwise."""
    what = f"partitions[{part.index - 1}].file = {part.file!r}"
    with open_regular(manifest.path(part), what) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ManifestError(f"{what}: more than {limit} bytes, larger than any partition this runtime serves")
    digest = hashlib.sha256(data).hexdigest()
    if digest != part.sha256:
        raise ManifestError(f"partition {part.index} ({part.tier}): {part.file} has sha256 {digest[:16]}..., "
                            f"the manifest says {part.sha256[:16]}... (file changed or corrupt)")
    return data


class _HugeInt:
    """An integer literal too long for any manifest field: kept as a marker, so the field it sits in is
    refused by name (it is no int) instead of json failing on the whole file."""

    def __init__(self, digits: int):
        self.digits = digits

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


def _parse_int(text: str):
    return int(text) if len(text.lstrip("-")) <= MAX_DIGITS else _HugeInt(len(text.lstrip("-")))


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


def _too_deep(text: str, limit: int = MAX_DEPTH):
    """The path (e.g. 'model.provenance[0]') of the first value nested deeper than `limit`, or None."""
    stack = []  # per open container: [kind, key or index, expecting a key]
    for m in _TOKEN.finditer(text):
        t = m.group()
        if t in "[{":
            if len(stack) >= limit:
                return _path(stack)
            stack.append(["[", 0, False] if t == "[" else ["{", None, True])
        elif t in "]}":
            if stack:
                stack.pop()
        elif t == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
            elif stack:
                stack[-1][2] = True
        elif t == ":":
            if stack:
                stack[-1][2] = False
        elif stack and stack[-1][0] == "{" and stack[-1][2]:
            stack[-1][1] = t[1:-1][:40]
    return None


def _path(stack) -> str:
    out = ""
    for kind, key, _ in stack:
        out += f"[{key}]" if kind == "[" else f"{'.' if out else ''}{key}"
    return out or "(top level)"


def _tensor_spec(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected {{name, shape, dtype}}, got {value!r}")
    name, shape, dtype = value.get("name"), value.get("shape"), value.get("dtype")
    if not isinstance(name, str) or not name:
        raise ManifestError(f"{where}.name: expected a tensor name, got {name!r}")
    if (not isinstance(shape, list) or not shape or len(shape) > 8
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 1 << 24 for d in shape)):
        raise ManifestError(f"{where}.shape: expected 1..8 positive integer dimensions, got {shape!r}")
    if dtype not in DTYPES:
        raise ManifestError(f"{where}.dtype: expected one of {DTYPES}, got {dtype!r}")
    return {"name": name, "shape": list(shape), "dtype": dtype}


@dataclass
class PartitionSpec:
    index: int                 # 1-based partition number k
    blocks: tuple              # (first, last) blocks, 1-based inclusive
    tier: str
    file: str
    sha256: str
    inputs: list
    outputs: list
    last: bool

    @property
    def exit(self) -> int:
        return self.blocks[1]

    def output(self, name: str) -> dict | None:
        return next((o for o in self.outputs if o["name"] == name), None)


@dataclass
class Manifest:
    """A checked deployment: its folder, the manifest's data and each partition (see the module).

    Made by `load_manifest`, which checks every field first; build one by hand only for tests.

    Parameters
    ----------
    folder : Path
        The deployment folder (the partitions' files are relative to it).
    data : dict
        manifest.json as read.
    partitions : list of PartitionSpec
        Partition k at index k - 1.
    threshold : float
        The exit rule's normalised entropy threshold.
    tier_names : list of str
        Each partition's tier, in order.
    source, destination : str
        Where samples enter and where results are delivered.
    input_shape : list of int
        One sample's shape.
    classes : int
        The number of classes.

    Examples
    --------
    >>> from pathlib import Path
    >>> from eepart_fast.runtime import Manifest
    >>> m = Manifest(folder=Path("deploy"), data={}, partitions=[], threshold=0.5, tier_names=["edge", "cloud"],
    ...              source="device", destination="device", input_shape=[3, 32, 32], classes=10)
    >>> m.tiers
    ['device', 'edge', 'cloud']
    """
    folder: Path
    data: dict
    partitions: list
    threshold: float
    tier_names: list
    source: str
    destination: str
    input_shape: list
    classes: int
    plans: list | None = None
    table: dict | None = None

    def plan(self, index: int) -> Manifest:
        """Plan `index` of a deployed table (a Manifest of its own partitions); plan 0 of a single plan is itself.

        Parameters
        ----------
        index : int
            The plan's index in the table's plans.
        """
        plans = self.plans or [self]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(plans):
            raise ManifestError(f"plan {index!r}: this deployment has plans 0..{len(plans) - 1}")
        return plans[index]

    def all_partitions(self) -> list:
        """Every plan's partitions (a file may appear in several plans)."""
        return [p for m in (self.plans or [self]) for p in m.partitions]

    def partition(self, index: int) -> PartitionSpec:
        """Partition `index` (1-based, as the manifest numbers them).

        Parameters
        ----------
        index : int
            The partition's number k, 1 for the first.
        """
        return self.partitions[index - 1]

    def path(self, spec: PartitionSpec) -> Path:
        """Where a partition's ONNX file lies: inside the deployment folder.

        Parameters
        ----------
        spec : PartitionSpec
            One of `partitions`.
        """
        return self.folder / spec.file

    @property
    def tiers(self) -> list:
        """The tiers a run needs: source, every partition's, destination (first appearance order), over
        every plan of a deployed table."""
        out = []
        for m in self.plans or [self]:
            for t in [m.source, *m.tier_names, m.destination]:
                if t not in out:
                    out.append(t)
        return out

    def checksums(self) -> dict:
        """{file: its sha256} as the manifest records them, every file of every plan once."""
        return {p.file: p.sha256 for p in self.all_partitions()}


def load_manifest(folder, *, verify: bool = True) -> Manifest:
    """Read and check a deployment folder (manifest.json and the partitions' ONNX files).

    Parameters
    ----------
    folder : str or Path
        The folder `eepart export --out` wrote.
    verify : bool, default True, keyword-only
        Also check every partition file's sha256 against the manifest.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        Naming the field (and partition) that is wrong, or the file that is missing, too large, a symbolic
        link or altered.

    Examples
    --------
    >>> from eepart_fast.runtime import load_manifest
    >>> load_manifest("no-such-folder")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    eepart_fast.runtime.errors.ManifestError: no-such-folder/manifest.json: no manifest (export the plan first...
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file() and not path.is_symlink():
        raise ManifestError(f"{path}: no manifest (export the plan first: eepart export ...)")
    with open_regular(path, MANIFEST) as f:
        raw_bytes = f.read((1 << 20) + 1)
    if len(raw_bytes) > 1 << 20:
        raise ManifestError(f"{path}: more than a manifest's 1 MiB")
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text ({exc})") from None
    deep = _too_deep(text)
    if deep is not None:
        raise ManifestError(f"{path}: {deep}: nested deeper than {MAX_DEPTH} levels (a manifest needs 5)")
    try:
        data = json.loads(text, parse_int=_parse_int, parse_constant=lambda c: (_ for _ in ()).throw(
            ManifestError(f"{path}: {c} is not a number a manifest may hold")))
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not JSON ({exc})") from None
    except RecursionError:  # the scan above bounds the depth; this is a last guard
        raise ManifestError(f"{path}: nested too deeply") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a JSON object")
    if data.get("format") != FORMAT:
        raise ManifestError(f"{path}: format = {data.get('format')!r}, expected {FORMAT!r}")
    if data.get("version") != VERSION:
        raise ManifestError(f"{path}: version = {data.get('version')!r}, this runtime reads version {VERSION}")
    plan, model = data.get("plan"), data.get("model")
    for name, value in (("plan", plan), ("model", model)):
        if not isinstance(value, dict):
            raise ManifestError(f"{path}: {name} = {str(value)[:60]}: expected an object")
    shape, classes = model.get("input_shape"), model.get("classes")
    if (not isinstance(shape, list) or not 1 <= len(shape) <= 7
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= 1 << 24 for d in shape)):
        raise ManifestError(f"model.input_shape = {shape!r}: expected 1..7 positive integers")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ManifestError(f"model.classes: expected an integer >= 2, got {classes!r}")
    m = _plan_manifest(folder, data, plan, data.get("partitions"), shape, classes, model, "")
    if data.get("table") is not None:
        m.plans, m.table = _table(folder, data, data["table"], shape, classes, model), data["table"]
    if verify:
        seen = {}
        for p in m.all_partitions():
            if p.file in seen:
                if seen[p.file] != p.sha256:
                    raise ManifestError(f"{p.file}: two sha256 in one manifest ({seen[p.file][:16]}..., "
                                        f"{p.sha256[:16]}...)")
                continue
            seen[p.file] = p.sha256
            h = hashlib.sha256()
            with open_regular(m.path(p), f"partitions[{p.index - 1}].file = {p.file!r} ({p.tier})") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):  # noqa: B023 (f is this loop's file)
                    h.update(chunk)
            digest = h.hexdigest()
            if digest != p.sha256:
                raise ManifestError(f"partition {p.index} ({p.tier}): {p.file} has sha256 {digest[:16]}..., "
                                    f"the manifest says {p.sha256[:16]}... (file changed or corrupt)")
    return m


def _table(folder, data, table, shape, classes, model) -> list:
    """A deployed table's plans (Manifests), its fields refused by name."""
    if not isinstance(table, dict):
        raise ManifestError(f"table = {str(table)[:60]}: expected an object")
    if table.get("parameter") not in TABLE_PARAMETERS:
        raise ManifestError(f"table.parameter = {table.get('parameter')!r}: a deployed table follows a link's "
                            f"{' or '.join(TABLE_PARAMETERS)}")
    link = table.get("link")
    if isinstance(link, bool) or not isinstance(link, int) or not 0 <= link < 64:
        raise ManifestError(f"table.link = {link!r}: expected a chain link's index")
    for field in ("low", "high", "bound"):
        v = table.get(field)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ManifestError(f"table.{field} = {v!r}: expected a finite number >= 0")
    raw = table.get("plans")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PLANS:
        raise ManifestError(f"table.plans: expected a list of 1..{MAX_PLANS} plans")
    plans = []
    for j, entry in enumerate(raw):
        where = f"table.plans[{j}]."
        if not isinstance(entry, dict):
            raise ManifestError(f"{where[:-1]}: expected an object {{plan, partitions}}")
        plan = entry.get("plan")
        if not isinstance(plan, dict):
            raise ManifestError(f"{where}plan = {str(plan)[:60]}: expected an object")
        plans.append(_plan_manifest(folder, data, plan, entry.get("partitions"), shape, classes, model, where))
    rows = table.get("rows")
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_ROWS:
        raise ManifestError(f"table.rows: expected a list of 1..{MAX_ROWS} intervals")
    prev = None
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise ManifestError(f"table.rows[{i}]: expected {{low, high, plan}}")
        lo, hi, j = r.get("low"), r.get("high"), r.get("plan")
        ok = all(not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi))
        if not ok or lo > hi or (prev is not None and lo != prev):
            raise ManifestError(f"table.rows[{i}] = [{lo!r}, {hi!r}]: expected low <= high, rising, each row "
                                f"starting where the previous ends ({prev!r})")
        if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < len(plans):
            raise ManifestError(f"table.rows[{i}].plan = {j!r}: expected a plan index 0..{len(plans) - 1}")
        prev = hi
    return plans


def _plan_manifest(folder, data, plan, raw, shape, classes, model, prefix) -> Manifest:
    """One plan and its partitions as a Manifest, refused by field (under `prefix`, e.g. 'table.plans[2].')."""
    if not isinstance(plan, dict):
        raise ManifestError(f"{prefix}plan = {str(plan)[:60]}: expected an object")
    thr = plan.get("threshold")
    if (isinstance(thr, bool) or not isinstance(thr, (int, float)) or not math.isfinite(thr)
            or not 0 <= thr <= 1):
        raise ManifestError(f"{prefix}plan.threshold = {thr!r}: expected a normalised entropy in [0, 1]")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PARTITIONS:
        raise ManifestError(f"{prefix}partitions: expected a list of 1..{MAX_PARTITIONS}, got {type(raw).__name__}"
                            f"{'' if not isinstance(raw, list) else f' of {len(raw)}'}")
    parts, prev_last = [], 0
    for k, p in enumerate(raw, 1):
        where = f"{prefix}partitions[{k - 1}]"
        if not isinstance(p, dict):
            raise ManifestError(f"{where}: expected an object")
        if isinstance(p.get("index"), bool) or p.get("index") != k:
            raise ManifestError(f"{where}.index = {p.get('index')!r}: expected {k}")
        blocks = p.get("blocks")
        if (not isinstance(blocks, list) or len(blocks) != 2
                or not all(isinstance(b, int) and not isinstance(b, bool) for b in blocks)
                or blocks[0] != prev_last + 1 or blocks[1] < blocks[0]):
            raise ManifestError(f"{where}.blocks = {blocks!r}: expected [{prev_last + 1}, q] with q >= "
                                f"{prev_last + 1} (partitions cover consecutive blocks)")
        prev_last = blocks[1]
        for field in ("tier", "file", "sha256"):
            if not isinstance(p.get(field), str) or not p[field]:
                raise ManifestError(f"{where}.{field}: expected a non-empty string, got {p.get(field)!r}")
        file = p["file"]
        if "/" in file or "\\" in file or file.startswith("."):
            raise ManifestError(f"{where}.file = {file!r}: must be a plain file name inside the folder")
        if not re.fullmatch(r"[0-9a-f]{64}", p["sha256"]):
            raise ManifestError(f"{where}.sha256 = {p['sha256'][:80]!r}: expected 64 hex digits")
        for field in ("inputs", "outputs"):
            if not isinstance(p.get(field), list) or len(p[field]) > 8:
                raise ManifestError(f"{where}.{field} = {str(p.get(field))[:60]}: expected a list of tensors "
                                    f"{{name, shape, dtype}}")
        inputs = [_tensor_spec(t, f"{where}.inputs[{i}]") for i, t in enumerate(p["inputs"])]
        outputs = [_tensor_spec(t, f"{where}.outputs[{i}]") for i, t in enumerate(p["outputs"])]
        last = k == len(raw)
        if len(inputs) != 1:
            raise ManifestError(f"{where}.inputs: expected exactly one input tensor, got {len(inputs)}")
        names = [o["name"] for o in outputs]
        want = ["logits"] if last else ["h", "logits"]
        if sorted(names) != sorted(want):
            raise ManifestError(f"{where}.outputs: expected tensors {want}, got {names}")
        if k > 1 and inputs[0]["shape"] != parts[-1].output("h")["shape"]:
            raise ManifestError(f"{where}.inputs[0].shape = {inputs[0]['shape']}: partition {k - 1} sends "
                                f"{parts[-1].output('h')['shape']}")
        logits = next(o for o in outputs if o["name"] == "logits")
        if logits["shape"][-1] != classes:
            raise ManifestError(f"{where}: logits shape {logits['shape']} does not end in {classes} classes")
        parts.append(PartitionSpec(k, tuple(blocks), p["tier"], file, p["sha256"], inputs, outputs, last))
    if parts[0].inputs[0]["shape"][1:] != shape:
        raise ManifestError(f"{prefix}partitions[0].inputs[0].shape = {parts[0].inputs[0]['shape']}: expected "
                            f"[1, *model.input_shape] = {[1, *shape]}")
    tiers = [p.tier for p in parts]
    if len(set(tiers)) != len(tiers):
        raise ManifestError(f"{prefix}partitions: tiers {tiers} repeat; a plan places each partition on its own "
                            "tier")
    for field in ("source", "destination"):
        if not isinstance(plan.get(field), str) or not plan[field]:
            raise ManifestError(f"{prefix}plan.{field} = {plan.get(field)!r}: "
                                "expected a tier name (a non-empty string)")
    for field in ("latency", "accuracy"):  # optional: the model's prediction, printed beside the measurement
        v = plan.get(field)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0):
            raise ManifestError(f"{prefix}plan.{field} = {v!r}: expected a finite number >= 0 (or no such field)")
    n = model.get("N")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < parts[-1].blocks[1]):
        raise ManifestError(f"model.N = {n!r}: expected the network's block count, an integer >= "
                            f"{parts[-1].blocks[1]} (the last partition's last block)")
    return Manifest(folder, data, parts, float(thr), tiers, plan["source"], plan["destination"], list(shape),
                    int(classes))
