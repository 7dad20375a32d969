"""The deployment manifest: what each exported partition is, where it runs, and how to check its files.

manifest.json (written by export.py) holds:
  format, version; model (backbone, N, input_shape, classes, provenance);
  plan: threshold, threshold_index, partitions (block counts P_k), tier_names, source, destination, and the
        model's predicted latency/accuracy when the plan came with them;
  exit_rule: normalised entropy of the exit's softmax strictly below the threshold leaves; the last partition
        takes every sample still in the network;
  partitions[k]: index (1-based), blocks [first, last], exit (block q), tier, file, sha256, bytes,
        inputs / outputs as {name, shape, dtype}; output "h" (the block q output) only where a partition follows.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

from .errors import ManifestError

FORMAT = "eepart-partitions"
VERSION = 1
MANIFEST = "manifest.json"
DTYPES = ("float32", "float16", "float64", "int64", "int32", "uint8")
MAX_PARTITIONS = 16


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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
    folder: Path
    data: dict
    partitions: list
    threshold: float
    tier_names: list
    source: str
    destination: str
    input_shape: list
    classes: int

    def partition(self, k: int) -> PartitionSpec:
        return self.partitions[k - 1]

    def path(self, part: PartitionSpec) -> Path:
        return self.folder / part.file

    @property
    def tiers(self) -> list:
        """The tiers a run needs: source, every partition's, destination (first appearance order)."""
        out = []
        for t in [self.source, *self.tier_names, self.destination]:
            if t not in out:
                out.append(t)
        return out

    def checksums(self) -> dict:
        return {p.index: p.sha256 for p in self.partitions}


def load_manifest(folder, verify: bool = True) -> Manifest:
    """Read and check a deployment folder; `verify` also checks every file's sha256.

    Raises ManifestError naming the field (and partition) that is wrong.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ManifestError(f"{path}: no manifest (export the plan first: eepart export ...)")
    if path.stat().st_size > 1 << 20:
        raise ManifestError(f"{path}: {path.stat().st_size} bytes, more than a manifest's 1 MiB")
    try:
        data = json.loads(path.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(
            ManifestError(f"{path}: {c} is not a number a manifest may hold")))
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a JSON object")
    if data.get("format") != FORMAT:
        raise ManifestError(f"{path}: format = {data.get('format')!r}, expected {FORMAT!r}")
    if data.get("version") != VERSION:
        raise ManifestError(f"{path}: version = {data.get('version')!r}, this runtime reads version {VERSION}")
    plan, model = data.get("plan"), data.get("model")
    if not isinstance(plan, dict) or not isinstance(model, dict):
        raise ManifestError(f"{path}: 'plan' and 'model' must be objects")
    thr = plan.get("threshold")
    if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not math.isfinite(thr):
        raise ManifestError(f"plan.threshold: expected a finite number, got {thr!r}")
    shape, classes = model.get("input_shape"), model.get("classes")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ManifestError(f"model.input_shape: expected positive integers, got {shape!r}")
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ManifestError(f"model.classes: expected an integer >= 2, got {classes!r}")
    raw = data.get("partitions")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PARTITIONS:
        raise ManifestError(f"partitions: expected a list of 1..{MAX_PARTITIONS}, got {type(raw).__name__}"
                            f"{'' if not isinstance(raw, list) else f' of {len(raw)}'}")
    parts, prev_last = [], 0
    for k, p in enumerate(raw, 1):
        where = f"partitions[{k - 1}]"
        if not isinstance(p, dict):
            raise ManifestError(f"{where}: expected an object")
        if p.get("index") != k:
            raise ManifestError(f"{where}.index = {p.get('index')!r}: expected {k}")
        blocks = p.get("blocks")
        if (not isinstance(blocks, list) or len(blocks) != 2 or not all(isinstance(b, int) for b in blocks)
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
        inputs = [_tensor_spec(t, f"{where}.inputs[{i}]") for i, t in enumerate(p.get("inputs") or [])]
        outputs = [_tensor_spec(t, f"{where}.outputs[{i}]") for i, t in enumerate(p.get("outputs") or [])]
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
        raise ManifestError(f"partitions[0].inputs[0].shape = {parts[0].inputs[0]['shape']}: expected "
                            f"[1, *model.input_shape] = {[1, *shape]}")
    tiers = [p.tier for p in parts]
    if len(set(tiers)) != len(tiers):
        raise ManifestError(f"partitions: tiers {tiers} repeat; a plan places each partition on its own tier")
    for field in ("source", "destination"):
        if not isinstance(plan.get(field), str):
            raise ManifestError(f"plan.{field}: expected a tier name, got {plan.get(field)!r}")
    m = Manifest(folder, data, parts, float(thr), tiers, plan["source"], plan["destination"], list(shape),
                 int(classes))
    if verify:
        for p in parts:
            f = m.path(p)
            if not f.is_file():
                raise ManifestError(f"partition {p.index} ({p.tier}): file {f} missing")
            digest = sha256_file(f)
            if digest != p.sha256:
                raise ManifestError(f"partition {p.index} ({p.tier}): {p.file} has sha256 {digest[:16]}..., "
                                    f"the manifest says {p.sha256[:16]}... (file changed or corrupt)")
    return m
