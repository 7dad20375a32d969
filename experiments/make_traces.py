"""The shipped synthetic link traces (experiments/traces/*.csv): bandwidth patterns to replay on an
emulated link (`eepart run --trace LINK=FILE`). Fixed seed: running this again writes the same files.

    python experiments/make_traces.py [--out experiments/traces]

steady  20 Mbit/s for 60 s (the control).
step    20 -> 2 -> 20 -> 5 Mbit/s, a change every 15 s (handover, a cell edge).
fade    30 Mbit/s fading geometrically to 1 Mbit/s over 30 s and back (walking away from an access point),
        a row every 0.5 s.
bursty  around 12 Mbit/s (log-normal, sigma 0.3) with drops to 0.5-2 Mbit/s lasting 0.5-3 s (a two-state
        Markov chain, mean 6 s between drops), a row every 0.25 s: cross traffic on a shared WiFi link.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

try:
    import eepart_fast  # noqa: F401 - installed, or already on the path (as in the tests that import this file)
except ImportError:  # run from a source checkout: the package beside it, without touching an importer's path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from eepart_fast.runtime.trace import Trace, save_trace

SEED = 20261206
DURATION = 60.0


def traces(seed: int = SEED) -> dict:
    rng = np.random.default_rng(seed)
    out = {"steady": ([0.0], [20e6]),
           "step": ([0.0, 15.0, 30.0, 45.0], [20e6, 2e6, 20e6, 5e6])}
    t = np.arange(0.0, DURATION, 0.5)
    down = np.minimum(t, DURATION - t) / (DURATION / 2)  # 0 -> 1 -> 0
    out["fade"] = (t.tolist(), (30e6 * (1 / 30) ** down).round(0).tolist())
    t = np.arange(0.0, DURATION, 0.25)
    values, low, left = [], False, 0.0
    for _ in t:
        if left <= 0:
            low = not low if low else rng.random() < 0.25 / 6.0
            left = rng.uniform(0.5, 3.0) if low else 0.0
            drop = rng.uniform(0.5e6, 2e6)
        if low:
            left -= 0.25
            values.append(drop)
        else:
            values.append(12e6 * float(np.exp(rng.normal(0.0, 0.3))))
    out["bursty"] = (t.tolist(), np.round(values, 0).tolist())
    return {name: Trace(tuple(float(x) for x in ts), tuple(float(v) for v in vs), "bandwidth", name)
            for name, (ts, vs) in out.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "traces"))
    a = p.parse_args(argv)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name, trace in traces().items():
        save_trace(trace, Path(a.out) / f"{name}.csv")
        print(f"{name}: {len(trace.times)} rows, mean {trace.mean(duration=DURATION) / 1e6:.2f} Mbit/s over "
              f"{DURATION:g} s, min {min(trace.values) / 1e6:.2f}, max {max(trace.values) / 1e6:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
