"""Export a plan's partitions from a trained early-exit network to ONNX, with a manifest (torch needed).

Partition k of a plan holds blocks P_{k-1}+1 .. P_k and the exit branch after block P_k. Its ONNX graph
takes the incoming tensor (batch 1) and returns `logits` of that exit and, unless it is the last
partition, `h`, the output of block P_k that the next partition takes. ONNX run by onnxruntime is the
portable choice: the same file runs on a phone, a Raspberry Pi or a server without torch.
"""
from __future__ import annotations

import contextlib
import datetime
import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..io.atomic import atomic_path
from .manifest import FORMAT, MANIFEST, VERSION, load_manifest, sha256_file
from .tablespec import MAX_FILES, table_spec


class PartitionModule(nn.Module):
    """Blocks and the exit branch after the last of them; returns (h, logits), or logits alone when last."""

    def __init__(self, blocks, branch, last: bool):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.branch = branch
        self.last = last

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        logits = self.branch(x)
        return logits if self.last else (x, logits)


def plan_spec(plan) -> dict:
    """A Plan, a Plan.to_dict(), or `eepart plan --json` output (its 'best') as the fields export needs."""
    if hasattr(plan, "to_dict"):
        plan = plan.to_dict()
    if not isinstance(plan, dict):
        raise TypeError(f"plan: expected a Plan or a JSON object, got {type(plan).__name__}")
    if "partitions" not in plan and isinstance(plan.get("best"), dict):
        plan = plan["best"]
    for field in ("partitions", "tier_names", "threshold", "source", "destination"):
        if field not in plan:
            raise ValueError(f"plan: field {field!r} missing (give a Plan's to_dict(), a frontier entry, or "
                             "`eepart plan --json` output with a best plan)")
    P, names = plan["partitions"], plan["tier_names"]
    if (not isinstance(P, list) or not P or not all(isinstance(p, int) and not isinstance(p, bool) for p in P)
            or any(b <= a for a, b in zip(P, P[1:])) or P[0] < 1):
        raise ValueError(f"plan.partitions = {P!r}: expected rising block counts >= 1")
    if not isinstance(names, list) or len(names) != len(P) or not all(isinstance(t, str) for t in names):
        raise ValueError(f"plan.tier_names = {names!r}: expected one tier name per partition ({len(P)})")
    if len(set(names)) != len(names):
        raise ValueError(f"plan.tier_names = {names!r}: a tier appears twice")
    if not all(names):
        raise ValueError(f"plan.tier_names = {names!r}: a tier name is empty")
    thr = plan["threshold"]
    if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0.0 <= thr <= 1.0:
        raise ValueError(f"plan.threshold = {thr!r}: expected a normalised entropy in [0, 1]")
    for field in ("source", "destination"):
        if not isinstance(plan[field], str) or not plan[field]:
            raise ValueError(f"plan.{field} = {plan[field]!r}: expected a tier name")
    keep = ("partitions", "tier_names", "threshold", "threshold_index", "source", "destination", "latency",
            "accuracy", "placement")
    return {k: plan[k] for k in keep if k in plan}


def export_onnx(module: nn.Module, example: torch.Tensor, path, input_name="x", output_names=("logits",)) -> None:
    """torch.onnx.export (dynamo) into one self-contained file, written to a temporary name then renamed."""
    module.eval()
    # Ctrl-C or a failed export: no half-written file left behind (atomic_path).
    with atomic_path(path) as tmp, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), str(tmp), dynamo=True, external_data=False, verbose=False,
                          input_names=[input_name], output_names=list(output_names))


def _spec(name: str, t: torch.Tensor) -> dict:
    return {"name": name, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}


class _Exporter:
    """Exports partitions of one network into one folder, each distinct (blocks, last) once, each checked
    against torch on the check samples at its input (the prefix's output computed once per block)."""

    def __init__(self, net, out: Path, input_shape, check, atol: float):
        self.net, self.out, self.atol = net, out, atol
        x = torch.zeros(1, *input_shape)
        self.example = [x]           # example input of a partition starting after block b, b = 0..N
        self.samples = None if check is None else [[check[i:i + 1].float() for i in range(len(check))]]
        for block in net.blocks:
            self.example.append(block(self.example[-1]))
            if self.samples is not None:
                self.samples.append([block(t) for t in self.samples[-1]])
        self.done = {}               # (first, last block, last partition) -> the entry's file fields

    def entry(self, first: int, q: int, last: bool, file: str) -> dict:
        key = (first, q, last)
        if key not in self.done:
            module = PartitionModule(list(self.net.blocks[first - 1:q]), self.net.branches[str(q)], last)
            x = self.example[first - 1]
            result = module(x)
            h, logits = (x, result) if last else result
            names = ("logits",) if last else ("h", "logits")
            export_onnx(module, x, self.out / file, "x", names)
            entry = {"blocks": [first, q], "exit": q, "file": file, "sha256": sha256_file(self.out / file),
                     "bytes": (self.out / file).stat().st_size, "inputs": [_spec("x", x)],
                     "outputs": ([] if last else [_spec("h", h)]) + [_spec("logits", logits)]}
            if self.samples is not None:
                entry["check"] = _check(self.out / file, module, self.samples[first - 1], names, self.atol, file)
            self.done[key] = entry
        return self.done[key]

    def plan(self, spec: dict, name) -> list:
        """The manifest's partitions of one plan; `name(first, q, last, k)` names a new file."""
        parts, prev = [], 0
        P = spec["partitions"]
        for k, q in enumerate(P, 1):
            last = k == len(P)
            entry = self.entry(prev + 1, q, last, name(prev + 1, q, last, k))
            parts.append({"index": k, **{f: entry[f] for f in ("blocks", "exit")},
                          "tier": spec["tier_names"][k - 1],
                          **{f: v for f, v in entry.items() if f not in ("blocks", "exit")}})
            prev = q
        return parts


def _check_fits(net, spec: dict, where: str = "plan") -> None:
    P = spec["partitions"]
    if P[-1] > net.N:
        raise ValueError(f"{where}.partitions = {P}: the network has {net.N} blocks")
    missing = [q for q in P if str(q) not in net.branches]
    if missing:
        raise ValueError(f"{where}.partitions: no exit branch after block {missing[0]} in this network "
                         f"(exits {net.exits})")


def _manifest_data(net, input_shape, model_meta, spec, parts) -> dict:
    return {"format": FORMAT, "version": VERSION,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "torch": torch.__version__, "opset": "torch.onnx.export(dynamo=True) default",
            "model": {"N": net.N, "input_shape": list(input_shape),
                      "classes": int(parts[-1]["outputs"][-1]["shape"][-1]), **(model_meta or {})},
            "plan": spec,
            "exit_rule": "exit at partition k when entropy(softmax(logits)) / log(classes) < threshold (strictly); "
                         "the last partition takes every sample left",
            "partitions": parts}


@torch.inference_mode()
def export_partitions(net, plan, out_dir, input_shape, model_meta: dict | None = None,
                      check: torch.Tensor | None = None, atol: float = 1e-4):
    """Write part-<k>.onnx for every partition of `plan` and manifest.json into `out_dir`; returns the Manifest.

    `check` (n, *input_shape): samples on which every exported partition is compared with the torch
    partition (max |difference| of h and logits recorded in the manifest; over `atol` is a ValueError).
    """
    spec = plan_spec(plan)
    _check_fits(net, spec)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # no stale manifest over half-written files
    net.eval()
    parts = _Exporter(net, out, input_shape, check, atol).plan(spec, lambda first, q, last, k: f"part-{k}.onnx")
    with atomic_path(out / MANIFEST) as tmp:
        tmp.write_text(json.dumps(_manifest_data(net, input_shape, model_meta, spec, parts), indent=1) + "\n")
    return load_manifest(out)


@torch.inference_mode()
def export_table(net, table, out_dir, input_shape, model_meta: dict | None = None,
                 check: torch.Tensor | None = None, atol: float = 1e-4):
    """Export a plan table: every distinct partition its plans use, once (part-<first>-<last>.onnx, and
    ...-last.onnx where it ends a plan: that one has no `h`), and manifest.json listing the table (the
    parameter, the link, the intervals and their plans); plan 0 is also the manifest's plan. Returns the
    Manifest.

    `table`: a PlanTable, `eepart plan --over ... --json` output, or `table_spec`'s dict. `check` as in
    export_partitions, each file checked once.
    """
    spec = table_spec(table)
    spec["plans"] = [plan_spec(p) for p in spec["plans"]]
    for j, p in enumerate(spec["plans"]):
        _check_fits(net, p, f"table.plans[{j}]")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    net.eval()
    exporter = _Exporter(net, out, input_shape, check, atol)

    def name(first, q, last, k):
        return f"part-{first}-{q}{'-last' if last else ''}.onnx"

    plans = [{"plan": p, "partitions": exporter.plan(p, name)} for p in spec["plans"]]
    if len(exporter.done) > MAX_FILES:
        raise ValueError(f"table: {len(exporter.done)} distinct partitions, more than a deployment's {MAX_FILES}")
    data = _manifest_data(net, input_shape, model_meta, plans[0]["plan"], plans[0]["partitions"])
    data["table"] = {**{k: v for k, v in spec.items() if k != "plans"}, "plans": plans}
    with atomic_path(out / MANIFEST) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n")
    return load_manifest(out)


def _check(path, module, samples, names, atol, what) -> dict:
    from .executor import open_session
    sess = open_session(path)
    worst = {n: 0.0 for n in names}
    for s in samples:
        ref = module(s)
        ref = (ref,) if len(names) == 1 else ref
        got = sess.run(list(names), {"x": s.numpy()})
        for n, r, g in zip(names, ref, got):
            worst[n] = max(worst[n], float(np.abs(r.numpy() - g).max()))
    if max(worst.values()) > atol:
        raise ValueError(f"partition {what}: onnxruntime differs from torch by {worst} (tolerance {atol})")
    return {"samples": len(samples), "max_abs_diff": worst, "tolerance": atol}


def load_run_net(run_dir, allow_partial: bool = False):
    """(spec, data, joint network) of a run folder; the joint weights must be fully trained unless allowed."""
    from ..nn.data import load_data
    from ..nn.run import build_net, open_run
    from ..nn.train import TrainConfig, load_checkpoint
    run_dir = Path(run_dir)
    spec = open_run(run_dir)
    path = run_dir / "joint.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; train first (eepart train --run-dir {run_dir})")
    ck = load_checkpoint(path)
    cfg = TrainConfig(**spec.joint)
    # Model weights alone (as experiments/results/*_weights commit them) record no epoch: taken as they are.
    trained = ck.get("epoch")
    if trained is not None and trained < cfg.epochs and not allow_partial:
        raise ValueError(f"{path}: trained {trained} of {cfg.epochs} epochs; finish training "
                         "(or pass --allow-partial)")
    data = load_data(spec.data, spec.data_dir, spec.profile_size, spec.size, spec.limit)
    net = build_net(spec, data)
    try:
        net.load_state_dict(ck["model"])
    except RuntimeError as exc:  # missing, unexpected or misshapen tensors: another network's weights
        first = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc))
        raise ValueError(f"{path}: field 'model' does not fit the {spec.backbone} ({spec.granularity}) network "
                         f"of {run_dir / 'run.json'}: {first[:300]}") from None
    net.eval()
    weights = "joint.pt (the joint network's blocks and branches)" if trained is not None else \
        "joint.pt (the joint network's blocks and branches; model weights only, epochs trained not recorded)"
    meta = {"backbone": spec.backbone, "granularity": spec.granularity, "dataset": data.name,
            "run_dir": str(run_dir), "weights": weights,
            "joint_epochs_trained": None if trained is None else int(trained), "joint_epochs": cfg.epochs}
    return spec, data, net, meta


def export_run(run_dir, plan, out_dir, check_samples: int = 16, allow_partial: bool = False, table: bool = False):
    """`eepart export`: a run folder's joint network cut as `plan` (or, with `table`, each plan of a plan
    table) says, checked on test samples."""
    _, data, net, meta = load_run_net(run_dir, allow_partial)
    check = None
    if check_samples:
        check, _ = data.test.batch(torch.arange(min(check_samples, len(data.test))))
    export = export_table if table else export_partitions
    return export(net, plan, out_dir, data.input_shape, meta, check)


def export_blocks(net, input_shape, out_dir) -> list:
    """Every block and every branch as its own ONNX file (block-<i>.onnx, branch-<i>.onnx), for timing.

    Returns [(block file, branch file or None, block input shape)] per block i = 1..N.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, *input_shape)
    files = []
    with torch.inference_mode():
        for i, block in enumerate(net.blocks, 1):
            export_onnx(block, x, out / f"block-{i}.onnx", "x", ("h",))
            shape = list(x.shape)
            x = block(x)
            branch = None
            if str(i) in net.branches:
                branch = out / f"branch-{i}.onnx"
                export_onnx(net.branches[str(i)], x, branch, "x", ("logits",))
            files.append((out / f"block-{i}.onnx", branch, shape))
    return files
