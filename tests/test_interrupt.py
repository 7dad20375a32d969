"""Ctrl-C stops a long sweep: the process ends with KeyboardInterrupt instead of running on."""
import os
import signal
import subprocess
import sys
import time

import pytest

import eepart_fast as ef

SCRIPT = r"""
import sys, numpy as np, eepart_fast as ef
from _instances import random_profile, random_topology
rng = np.random.default_rng(0)
profile, topo = random_profile(rng, 200, 50), random_topology(rng, 6)   # every partitioning visited: hours
print("start", flush=True)
try:
    ef.sweep(profile, topo, max_latency=0.0, backend=sys.argv[1])
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


@pytest.mark.parametrize("name", [b for b in ("cpu", "cuda", "cupy") if ef.backends()[b]["available"]])
def test_ctrl_c_stops_a_long_sweep(name):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__)] + sys.path))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, name], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(1.0)  # inside the engine by now
        proc.send_signal(signal.SIGINT)
        # Generous: a correct engine stops within a second; one that ignores Ctrl-C runs for hours.
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "interrupted" in out and proc.returncode == 130
