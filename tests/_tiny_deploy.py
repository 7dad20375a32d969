"""A tiny deployment built with onnx.helper (no torch), for the wire's tests and tools/fuzz.py.

Images 1x1x2x2 float32, 3 classes. Partition k's logits are 10 * pixels (k-1)..(k+1) of the flattened image
(the last partition: pixels 1..3); every partition but the last passes the image on as `h`. With threshold
0.5, an image [1, 0, 0, 0] leaves at partition 1 as class 0 and [0, 0, 0, 1] reaches the last as class 2.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path


def _partition(path: Path, input_name: str, first: int, with_h: bool) -> str:
    import onnx
    from onnx import TensorProto, helper
    inits = [helper.make_tensor("shape", TensorProto.INT64, [2], [1, 4]),
             helper.make_tensor("starts", TensorProto.INT64, [1], [first]),
             helper.make_tensor("ends", TensorProto.INT64, [1], [first + 3]),
             helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
             helper.make_tensor("ten", TensorProto.FLOAT, [], [10.0])]
    nodes = [helper.make_node("Reshape", [input_name, "shape"], ["flat"]),
             helper.make_node("Slice", ["flat", "starts", "ends", "axes"], ["three"]),
             helper.make_node("Mul", ["three", "ten"], ["logits"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])]
    if with_h:
        nodes.append(helper.make_node("Identity", [input_name], ["h"]))
        outputs.insert(0, helper.make_tensor_value_info("h", TensorProto.FLOAT, [1, 1, 2, 2]))
    graph = helper.make_graph(nodes, "p", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT,
                                                                         [1, 1, 2, 2])], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_deploy(folder, tiers=("device", "cloud"), source="device", destination="device",
                threshold: float = 0.5) -> Path:
    """One partition per tier of `tiers`, in order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = lambda name, shape: {"name": name, "shape": shape, "dtype": "float32"}  # noqa: E731
    parts = []
    for k, tier in enumerate(tiers, 1):
        last = k == len(tiers)
        name = "x" if k == 1 else "h"
        file = f"part-{k}.onnx"
        parts.append({"index": k, "blocks": [k, k], "exit": k, "tier": tier, "file": file,
                      "sha256": _partition(folder / file, name, 1 if last else min(k - 1, 1), not last),
                      "inputs": [spec(name, [1, 1, 2, 2])],
                      "outputs": ([] if last else [spec("h", [1, 1, 2, 2])]) + [spec("logits", [1, 3])]})
    data = {"format": "eepart-partitions", "version": 1,
            "model": {"N": len(tiers), "input_shape": [1, 2, 2], "classes": 3},
            "plan": {"partitions": list(range(1, len(tiers) + 1)), "tier_names": list(tiers),
                     "threshold": threshold, "source": source, "destination": destination},
            "partitions": parts}
    (folder / "manifest.json").write_text(json.dumps(data, indent=1))
    return folder


def images():
    """(x, y): two samples, one leaving at partition 1 (class 0), one at the last (class 2)."""
    import numpy as np
    x = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 0, 1]], np.float32).reshape(4, 1, 2, 2)
    return x, np.array([0, 2, 0, 2])


def topology_dict(tiers=("device", "cloud")) -> dict:
    n = len(tiers)
    return {"names": list(tiers), "ratio": [1.0] * n, "bandwidth": [1e9] * (n - 1), "latency": [1e-4] * (n - 1)}


def start_worker(tier, deploy, *extra, env=None):
    """`eepart worker` on 127.0.0.1 (a free port): (process, address), once it says where it listens."""
    p = subprocess.Popen([sys.executable, "-m", "eepart_fast.cli", "worker", "--tier", tier, "--bind",
                          "tcp://127.0.0.1:*", "--artifacts", str(deploy), *map(str, extra)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                         env=env)
    line = p.stdout.readline()  # "worker <tier> ... listening on <address>", or EOF when it refused to start
    if " listening on " not in line:
        p.wait(30)
        raise RuntimeError(f"worker {tier} did not start: exit {p.returncode}: {p.stderr.read()[-800:]}")
    return p, line.split()[-1]


def stop(procs, timeout: float = 10.0) -> None:
    """Kill what is still running among `procs` and reap them (bounded)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
    end = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        for f in (p.stdout, p.stderr, p.stdin):
            if f:
                f.close()
