"""The driver's memory during a large study: peak RSS of the process running `run_study` (its own, with the
LocalCluster's scheduler in it; the worker processes are not counted), sampled as it runs, for a study of
`--scenarios` scenarios whose work per scenario is trivially cheap (the frontier of a 2-block, 1-threshold
profile on the paper's `mobile` chain, filtered by 100 latency bounds), so that what is measured is the
driver's bookkeeping, not the planning.

    python bench/study_memory.py --scenarios 1000000 --out /tmp/study-1m [--batch-size 10000] [--workers 2]

Prints one JSON object: scenarios, seconds, scenarios/s, rows, files, the driver's RSS after loading the
study (before any cluster), its peak (VmHWM and getrusage), and RSS samples over the run. README "Studies"
states the bound these measurements support.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np

BOUNDS = 100


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def tiny_profile(path: Path):
    import eepart_fast as ef

    p = ef.Profile(np.array([1e-3, 2e-3]), np.array([1e-4, 1e-4]), np.array([1e4, 1e3]), 1e4, 10.0,
                   np.array([0.8, 0.9]), np.array([0.5]), np.array([[0.3, 0.7]]))
    p.name = "tiny"
    p.save(path)


def study(scenarios: int, profile: Path) -> dict:
    if scenarios % BOUNDS:
        raise SystemExit(f"--scenarios must be a multiple of {BOUNDS}")
    return {"name": f"memory-{scenarios}", "profiles": [str(profile)], "compute": "frontier",
            "topologies": [{"topology": "mobile",
                            "grid": {"bandwidth[1]": {"geomspace": [1e6, 1e8, scenarios // BOUNDS]}}}],
            "bounds": [{"max_latency": float(x)} for x in np.linspace(0.001, 0.05, BOUNDS)]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", type=int, required=True)
    ap.add_argument("--out", required=True, help="result folder (replaced)")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--every", type=float, default=2.0, help="seconds between RSS samples")
    args = ap.parse_args(argv)

    from eepart_fast.study import load_study, run_study

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    profile = out.parent / f"{out.name}-tiny.json"
    tiny_profile(profile)
    spec = load_study(study(args.scenarios, profile))
    spec.fingerprint()
    base = rss_mb()
    samples, stop = [], threading.Event()
    t0 = time.perf_counter()

    def sample():
        while not stop.wait(args.every):
            samples.append((round(time.perf_counter() - t0, 1), round(rss_mb(), 1)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = run_study(spec, out, workers=args.workers, batch_size=args.batch_size, progress=False)
    stop.set()
    sampler.join()
    seconds = time.perf_counter() - t0
    peak = rss_mb("VmHWM")
    q = [samples[int(f * (len(samples) - 1))] for f in (0.25, 0.5, 0.75, 1.0)] if samples else []
    print(json.dumps({
        "scenarios": result.scenarios, "ran": result.ran, "seconds": round(seconds, 1),
        "scenarios_per_s": round(result.ran / seconds), "rows": result.rows, "files": result.files,
        "bytes": result.bytes, "batch_size": json.loads((out / "_study.json").read_text())["batch_size"],
        "workers": args.workers or os.cpu_count(), "rss_after_load_mb": round(base, 1),
        "peak_rss_mb": round(peak, 1),
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_samples_quartiles": q, "samples": len(samples),
        "max_sample_mb": max((s[1] for s in samples), default=None),
        "load_average": os.getloadavg()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
