"""One partition on onnxruntime (one intra-op thread), the exit rule, and the whole plan run in one process.

The exit rule is the profiler's (nn/records.py): a sample leaves at partition k when the normalised
entropy of softmax(logits of exit q_k) is strictly below the plan's threshold; the last partition takes
every sample still in the network.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .errors import ManifestError, TensorMismatch
from .manifest import Manifest, PartitionSpec, read_artifact

ONNX_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
               "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(uint8)": "uint8"}


def session_options(threads: int = 1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    # One thread: the work runs on the calling thread, so its CPU time is the partition's own.
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return so


def open_session(path, threads: int = 1):
    """An onnxruntime session of a file name, or of the model's bytes (what PartitionRunner passes: the bytes
    it checked against the manifest)."""
    import onnxruntime as ort
    model = path if isinstance(path, (bytes, bytearray)) else str(path)
    return ort.InferenceSession(model, session_options(threads), providers=["CPUExecutionProvider"])


def normalised_entropy(logits: np.ndarray) -> np.ndarray:
    """Entropy of softmax over the last axis / log(classes), in float64, 0 log 0 = 0.

    A row with any non-finite logit (NaN, +-inf) has no softmax: its entropy is NaN, never a score that
    passes the exit rule (`NaN < threshold` is false); callers treat such a row as an error of its sample
    (`logits_error`) rather than as an exit.
    """
    z = np.asarray(logits, dtype=np.float64)
    bad = ~np.isfinite(z).all(-1)
    z = np.where(bad[..., None], 0.0, z)
    z = z - z.max(-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return np.where(bad, np.nan, terms.sum(-1) / np.log(p.shape[-1]))


def logits_error(logits: np.ndarray, k: int) -> str | None:
    """None when every logit is finite, else the sample's error: 'non-finite logits at partition k (...)'."""
    z = np.asarray(logits)
    if np.isfinite(z).all():
        return None
    nan, inf = int(np.isnan(z).sum()), int(np.isinf(z).sum())
    return f"non-finite logits at partition {k} ({nan} NaN, {inf} infinite of {z.size})"


class PartitionRunner:
    """A partition's ONNX session; `run` checks the tensor against the manifest and times the call."""

    def __init__(self, manifest: Manifest, part: PartitionSpec, threads: int = 1):
        self.part = part
        model = read_artifact(manifest, part)  # no link followed; the bytes hashed are the bytes loaded
        try:
            self.session = open_session(model, threads)
        except Exception as exc:  # onnxruntime's InvalidProtobuf, Fail, ...: named, not a traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise ManifestError(f"partitions[{part.index - 1}].file = {part.file!r} ({part.tier}): onnxruntime "
                                f"cannot load it: {type(exc).__name__}: {first}") from None
        spec = part.inputs[0]
        self.input_name = spec["name"]
        self.shape = tuple(spec["shape"])
        self.dtype = np.dtype(spec["dtype"])
        names = [o.name for o in self.session.get_outputs()]
        want = [o["name"] for o in part.outputs]
        if sorted(names) != sorted(want) or [i.name for i in self.session.get_inputs()] != [self.input_name]:
            raise TensorMismatch(f"partition {part.index} ({part.tier}): the ONNX file has inputs "
                                 f"{[i.name for i in self.session.get_inputs()]} and outputs {names}, the "
                                 f"manifest says {[self.input_name]} and {want}")
        self.output_names = want
        # The sha256 covers the ONNX file, not the manifest: a manifest edited to other shapes or dtypes
        # is refused here, by field, rather than failing inside onnxruntime on the first sample.
        graph = {t.name: t for t in [*self.session.get_inputs(), *self.session.get_outputs()]}
        for field, specs in (("inputs", part.inputs), ("outputs", part.outputs)):
            for i, t in enumerate(specs):
                g = graph[t["name"]]
                dtype = ONNX_DTYPES.get(g.type, g.type)
                fixed = all(isinstance(d, int) for d in g.shape)
                if dtype != t["dtype"] or (fixed and list(g.shape) != list(t["shape"])):
                    raise TensorMismatch(
                        f"partitions[{part.index - 1}].{field}[{i}] = {t['dtype']} {t['shape']}: the ONNX file "
                        f"{part.file} has {t['name']!r} as {dtype} {list(g.shape)}")

    def check(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray):
            raise TensorMismatch(f"partition {self.part.index} ({self.part.tier}): expected a numpy array, got "
                                 f"{type(x).__name__}")
        if x.dtype != self.dtype or tuple(x.shape) != self.shape:
            raise TensorMismatch(f"partition {self.part.index} ({self.part.tier}): input "
                                 f"{self.input_name!r} must be {self.dtype.name} {list(self.shape)}, got "
                                 f"{x.dtype.name} {list(x.shape)}")
        return np.ascontiguousarray(x)

    def run(self, x: np.ndarray):
        """(outputs by name, CPU seconds of this thread, wall seconds) of one call."""
        x = self.check(x)
        c0, w0 = time.thread_time(), time.perf_counter()
        values = self.session.run(self.output_names, {self.input_name: x})
        cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
        return dict(zip(self.output_names, values)), cpu, wall


def tensor_from_bytes(payload: bytes, dtype: str, shape, where: str) -> np.ndarray:
    """A tensor message's payload as an array, refused (TensorMismatch) when its size does not fit."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape)) * dt.itemsize
    if len(payload) != n:
        raise TensorMismatch(f"{where}: payload of {len(payload)} bytes, {dt.name} {list(shape)} needs {n}")
    return np.frombuffer(payload, dtype=dt).reshape(shape)


def run_plan_inline(manifest: Manifest, images: np.ndarray, threads: int = 1) -> dict:
    """The plan's answer per sample, computed in this process with the same sessions and exit rule.

    Returns exit_partition (1-based), exit_block, prediction, norm_entropy (of the exit taken), arrays
    of len(images), and error (a list: None, or why the sample failed: 'non-finite logits at partition k',
    where it stopped; its prediction is then -1 and its entropy NaN). The reference the distributed run is
    checked against.
    """
    runners = [PartitionRunner(manifest, p, threads) for p in manifest.partitions]
    n = len(images)
    out = {"exit_partition": np.zeros(n, np.int64), "exit_block": np.zeros(n, np.int64),
           "prediction": np.zeros(n, np.int64), "norm_entropy": np.zeros(n), "error": [None] * n}
    for s in range(n):
        h = np.asarray(images[s:s + 1], dtype=runners[0].dtype)
        for r in runners:
            values, _, _ = r.run(h)
            ent = float(normalised_entropy(values["logits"])[0])
            bad = logits_error(values["logits"], r.part.index)
            if bad:
                out["exit_partition"][s], out["exit_block"][s] = r.part.index, r.part.exit
                out["prediction"][s], out["norm_entropy"][s], out["error"][s] = -1, math.nan, bad
                break
            if r.part.last or ent < manifest.threshold:
                out["exit_partition"][s] = r.part.index
                out["exit_block"][s] = r.part.exit
                out["prediction"][s] = int(values["logits"][0].argmax())
                out["norm_entropy"][s] = ent
                break
            h = values["h"]
    return out
