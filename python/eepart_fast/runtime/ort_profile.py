"""Block and branch times measured with onnxruntime, the executor the runtime serves partitions with,
in the regime the runtime calls it: one sample at a time after an idle gap.

Why the gap matters: a worker sleeps between samples (the emulated compute stretch, the links, the other
tiers), and on a shared machine its caches are cold when the next sample comes. Here a ResNet-20 stem
partition costs about 9 us of CPU back to back and about 170 us after a 10 ms pause: a per-call cost that
dwarfs the small blocks. So the times are CPU times of the calling thread (onnxruntime on one intra-op
thread runs on it) of single calls each made after `gap` seconds idle, and the statistic is the MEAN.

A fused call of blocks p+1..q and branch q is what a worker runs. With F(q) the cold time of the prefix
partition (blocks 1..q + branch q, one call) and B(q) that of branch q alone (one call):
    block_time[i]  = (F(i) - B(i)) - (F(i-1) - B(i-1))   (F(0) = B(0) = 0; clipped at 0)
    branch_time[q] = B(q)                                  (carries the one call's cold cost)
so partition (0, q) costs exactly F(q), and (p, q) costs F(q) - F(p) + B(p): the blocks' marginal
cost plus one cold call.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .executor import open_session


def time_calls(path, inputs: list, samples: int, gap: float, warmup: int = 5) -> np.ndarray:
    """CPU seconds of `samples` single calls of the ONNX file at `path`, each after `gap` seconds idle."""
    sess = open_session(path)
    name = sess.get_inputs()[0].name
    for s in range(warmup):
        sess.run(None, {name: inputs[s % len(inputs)]})
    out = np.empty(samples)
    for s in range(samples):
        if gap > 0:
            time.sleep(gap)
        x = inputs[s % len(inputs)]
        c = time.thread_time()
        sess.run(None, {name: x})
        out[s] = time.thread_time() - c
    return out


def profile_times(net, input_shape, inputs: list, work, samples: int = 200, gap: float = 0.01,
                  progress: bool = True) -> dict:
    """block_time, branch_time (mean cold CPU s, as above) and the raw means F, B of a full-configuration net.

    `inputs`: single samples (1, *input_shape) float32. Exports 2N ONNX files into `work` (torch needed).
    """
    import torch

    from .export import PartitionModule, export_onnx
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    n = net.N
    F, B, F99 = np.zeros(n + 1), np.zeros(n + 1), np.zeros(n + 1)
    hs = [torch.from_numpy(x) for x in inputs]
    it = range(1, n + 1)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="timing prefixes and branches")
    for q in it:
        prefix = PartitionModule(list(net.blocks[:q]), net.branches[str(q)], q == n)
        export_onnx(prefix, torch.zeros(1, *input_shape), work / f"prefix-{q}.onnx", "x",
                    ("logits",) if q == n else ("h", "logits"))
        with torch.inference_mode():
            hs = [net.blocks[q - 1](h) for h in hs]
        export_onnx(net.branches[str(q)], hs[0], work / f"branch-{q}.onnx", "x", ("logits",))
        f = time_calls(work / f"prefix-{q}.onnx", inputs, samples, gap)
        F[q], F99[q] = f.mean(), np.percentile(f, 99)
        B[q] = time_calls(work / f"branch-{q}.onnx", [h.numpy() for h in hs], samples, gap).mean()
    marginal = np.diff(F - B)
    return {"block_time": np.maximum(marginal, 0.0), "branch_time": B[1:].copy(), "prefix_mean": F[1:],
            "prefix_p99": F99[1:], "branch_mean": B[1:], "samples": samples, "gap": gap,
            "clipped_blocks": [int(i) + 1 for i in np.flatnonzero(marginal < 0)]}
