"""Messages between the driver, the workers and the link emulator: [header JSON, payload bytes].

Header kinds: hello, config, ready, input, tensor, result, done, heartbeat, error, ping, stall, stop.
Times are time.time() seconds (one clock for every process of a host; across hosts, synchronise clocks
or keep source and destination on one host, since the end-to-end latency is taken between them).
"""
from __future__ import annotations

import json
import time

import zmq

MAX_HEADER = 1 << 20
SEND_TIMEOUT_MS = 2000


def now() -> float:
    return time.time()


SPIN = 0.001  # s: the last stretch of a wait is spun, not slept (a loaded machine wakes sleepers late)


def sleep_until(t: float) -> None:
    """Return at time t (time.time()); sleeps, then spins the last SPIN seconds. Ends once t has passed."""
    while True:
        rest = t - time.time()
        if rest <= 0:
            return
        if rest > SPIN:
            time.sleep(rest - SPIN)


def send(sock, header: dict, payload: bytes = b"") -> None:
    sock.send_multipart([json.dumps(header, separators=(",", ":")).encode(), payload], copy=False)


def recv(sock, flags=0):
    """(header, payload) or (None, None) when nothing is waiting (NOBLOCK) or the frames are not a message."""
    try:
        frames = sock.recv_multipart(flags, copy=True)
    except zmq.Again:
        return None, None
    if len(frames) != 2 or len(frames[0]) > MAX_HEADER:
        return None, None
    try:
        header = json.loads(frames[0])
    except ValueError:
        return None, None
    if not isinstance(header, dict) or not isinstance(header.get("kind"), str):
        return None, None
    return header, frames[1]


def socket(ctx, kind, linger_ms: int = 0):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, linger_ms)
    return s


class Outbox:
    """PUSH sockets by address, connected on first use."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.socks = {}

    def send(self, addr: str, header: dict, payload: bytes = b"") -> None:
        """Raises ValueError for an address ZeroMQ cannot connect to, ConnectionError when the peer has
        taken nothing for SEND_TIMEOUT_MS (a PUSH socket blocks without a peer: never wait unbounded)."""
        s = self.socks.get(addr)
        if s is None:
            s = socket(self.ctx, zmq.PUSH)
            s.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
            try:
                s.connect(addr)
            except zmq.ZMQError as exc:
                s.close(0)
                raise ValueError(f"address {addr!r}: {exc.strerror} (expected e.g. tcp://10.0.0.2:5601)") from None
            self.socks[addr] = s
        try:
            send(s, header, payload)
        except zmq.Again:
            raise ConnectionError(f"{addr}: took no message for {SEND_TIMEOUT_MS / 1000:g} s (its queue is full "
                                  "or nothing listens there)") from None

    def close(self) -> None:
        for s in self.socks.values():
            s.close(0)
        self.socks.clear()
