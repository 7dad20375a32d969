"""The NVML reader on a real NVIDIA GPU (issue 22 item 4), for a lent GPU machine without network.

1. What the reader sees (its GPUs, counter or sampled power) and its one-line description.
2. The GPU at rest for 1 s, then busy (float32 matrix products) for about 2 s: joules and mean watts from
   the reader, beside the same windows integrated from nvmlDeviceGetPowerUsage sampled every 20 ms by
   the package's own PowerSampler (two independent ways; they should agree to a few per cent, and busy
   should read well above rest).
3. `profile_net` of a tiny untrained early-exit network with the reader: meta["energy"] saved and loaded
   with the profile (the timing itself runs on the CPU, as the profiler's always does).

Writes $OUT/energy_check.json and prints it; exit status 1 where a check fails. nvidia-ml-py is needed:
where the machine lacks it, put pynvml.py (from any nvidia-ml-py wheel) on PYTHONPATH.

    OUT=/tmp/out PYTHONPATH=python:build/energy_check python tools/energy_check.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # _tiny_net.py


def busy(torch, seconds: float) -> int:
    """Matrix products on the GPU for about `seconds`; the number of products."""
    a = torch.randn(4096, 4096, device="cuda")
    n, t0 = 0, time.perf_counter()
    for _ in range(100_000):
        a = (a @ a).clamp_(-1, 1)
        n += 1
        if n % 16 == 0:
            torch.cuda.synchronize()
            if time.perf_counter() - t0 >= seconds:
                break
    torch.cuda.synchronize()
    return n


def both(reader, sampled_watts, work) -> dict:
    """The reader's joules over work() and, in the same window, sampled power integrated."""
    from eepart_fast.nn.energy.measure import Span
    from eepart_fast.nn.energy.sampling import PowerSampler
    span = Span(reader)
    sampler = PowerSampler(sampled_watts, interval=0.02, clock=time.perf_counter)
    span.start()
    work()
    span.stop()
    sampled = sampler.stop()
    return {"joules": span.joules, "seconds": span.seconds, "watts": span.watts, "sampled_joules": sampled,
            "sampled_over_reader": sampled / span.joules if span.joules else None}


def main() -> int:
    out = Path(os.environ.get("OUT", "/tmp/eepart_energy_check"))
    out.mkdir(parents=True, exist_ok=True)
    import pynvml
    import torch

    from eepart_fast.model.profile import Profile
    from eepart_fast.nn.energy import reader
    from eepart_fast.nn.profiling import make_profile, profile_net

    from _tiny_net import tiny_net_and_data

    r = reader("nvml", gpus=[0])
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)

    def watts():
        return pynvml.nvmlDeviceGetPowerUsage(handle) / 1e3
    report = {"reader": r.name, "domains": r.domains, "how": r.describe(), "torch": torch.__version__}
    torch.cuda.init()
    busy(torch, 0.5)  # warm: kernels loaded, clocks up
    time.sleep(2.0)  # and back to rest
    report["rest"] = both(r, watts, lambda: time.sleep(1.0))
    report["busy"] = both(r, watts, lambda: report.setdefault("products", busy(torch, 2.0)))

    net, data = tiny_net_and_data(profile_size=64)
    fields, meta, _ = profile_net(net, {}, data, timing_samples=50, warmup=5, n_thresholds=3, progress=False,
                                  energy=r)
    with tempfile.TemporaryDirectory() as tmp:
        make_profile(fields, name="tiny", meta=meta).save(Path(tmp) / "p.json")
        report["profile_energy"] = Profile.load(Path(tmp) / "p.json").meta["energy"]
    r.close()

    checks = {
        "rest and busy read energy": report["rest"]["joules"] > 0 and report["busy"]["joules"] > 0,
        "busy draws more than rest": report["busy"]["watts"] > 1.2 * report["rest"]["watts"],
        "counter and sampled power agree within 15 %": all(
            abs(report[k]["sampled_over_reader"] - 1) < 0.15 for k in ("rest", "busy")),
        "the profile keeps its energy": report["profile_energy"] == meta["energy"]
                                          and report["profile_energy"]["active_power_w"] > 0,
    }
    report["checks"] = checks
    text = json.dumps(report, indent=2, default=str)
    (out / "energy_check.json").write_text(text + "\n")
    print(text)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
