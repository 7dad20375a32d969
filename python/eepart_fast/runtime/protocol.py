"""Messages between the driver, the workers and the link emulator: [header JSON, payload bytes].

Header kinds: hello, config, ready, input, tensor, result, done, heartbeat, error, ping, stall, stop, end;
each kind's fields, types and ranges are in schema.py, checked on receipt before any use. How a message
is framed, sent and received (and refused) is transport.py's: the processes speak only its interface, and
its ZeroMQ implementation (zmq_transport.py) caps inbound frames at `max_message` below and, unless the
run is --insecure, authenticates and encrypts every connection (CURVE, keys from security.py).
Times are time.time() seconds (one clock for every process of a host; across hosts, synchronise clocks
or keep source and destination on one host, since the end-to-end latency is taken between them).
"""
from __future__ import annotations

import time

import numpy as np

from .schema import MAX_HEADER

SPIN = 0.001  # s: the last stretch of a wait is spun, not slept (a loaded machine wakes sleepers late)


def now() -> float:
    return time.time()


def sleep_until(t: float) -> None:
    """Return at time t (time.time()); sleeps, then spins the last SPIN seconds. Ends once t has passed."""
    while True:
        rest = t - time.time()
        if rest <= 0:
            return
        if rest > SPIN:
            time.sleep(rest - SPIN)


def plain_sample(value):
    """A sample id as a faulty message may carry it, safe to echo back (an int, else its repr)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53):
        return value
    return repr(value)[:40]


def max_message(manifest) -> int:
    """The largest frame a runtime inbox takes: the manifest's largest tensor, or a header."""
    largest = 0
    for p in manifest.all_partitions():
        for t in [*p.inputs, *p.outputs]:
            largest = max(largest, int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize)
    return max(MAX_HEADER, largest)
