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


def time_calls(paths: list, inputs: list, samples: int, gap: float, warmup: int = 5) -> np.ndarray:
    """CPU seconds of single calls, shape (samples, len(paths)): each call after `gap` seconds idle.

    `inputs[j]` are the samples for `paths[j]`, cycled. The files take turns, one call each per round, so
    a burst of load on a shared machine falls on all of them alike, not on one file's whole series.
    """
    sessions = [open_session(p) for p in paths]
    names = [s.get_inputs()[0].name for s in sessions]
    for sess, name, xs in zip(sessions, names, inputs):
        for s in range(warmup):
            sess.run(None, {name: xs[s % len(xs)]})
    out = np.empty((samples, len(paths)))
    for s in range(samples):
        for j, (sess, name, xs) in enumerate(zip(sessions, names, inputs)):
            if gap > 0:
                time.sleep(gap)
            x = xs[s % len(xs)]
            c = time.thread_time()
            sess.run(None, {name: x})
            out[s, j] = time.thread_time() - c
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
    hs = [torch.from_numpy(x) for x in inputs]
    paths, feeds = [], []
    it = range(1, n + 1)
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="exporting prefixes and branches")
    for q in it:
        prefix = PartitionModule(list(net.blocks[:q]), net.branches[str(q)], q == n)
        export_onnx(prefix, torch.zeros(1, *input_shape), work / f"prefix-{q}.onnx", "x",
                    ("logits",) if q == n else ("h", "logits"))
        with torch.inference_mode():
            hs = [net.blocks[q - 1](h) for h in hs]
        export_onnx(net.branches[str(q)], hs[0], work / f"branch-{q}.onnx", "x", ("logits",))
        paths += [work / f"prefix-{q}.onnx", work / f"branch-{q}.onnx"]
        feeds += [inputs, [h.numpy() for h in hs]]
    t = time_calls(paths, feeds, samples, gap)
    F = np.concatenate([[0.0], t[:, 0::2].mean(0)])
    B = np.concatenate([[0.0], t[:, 1::2].mean(0)])
    marginal = np.diff(F - B)
    return {"block_time": np.maximum(marginal, 0.0), "branch_time": B[1:].copy(), "prefix_mean": F[1:],
            "prefix_p99": np.percentile(t[:, 0::2], 99, 0), "branch_mean": B[1:], "samples": samples, "gap": gap,
            "clipped_blocks": [int(i) + 1 for i in np.flatnonzero(marginal < 0)]}
