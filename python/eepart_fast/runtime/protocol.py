"""Messages between the driver, the workers and the link emulator: [header JSON, payload bytes].

Header kinds: hello, config, ready, input, tensor, result, done, heartbeat, error, ping, stall, stop, end;
each kind's fields, types and ranges are in schema.py, checked on receipt before any use (`receive`).
Every socket caps inbound frames (ZMQ_MAXMSGSIZE: the manifest's largest tensor, or a header) and, unless
the run is --insecure, is a CURVE server or client (security.py).
Times are time.time() seconds (one clock for every process of a host; across hosts, synchronise clocks
or keep source and destination on one host, since the end-to-end latency is taken between them).
"""
from __future__ import annotations

import json
import time

import numpy as np
import zmq

from . import schema, security
from .schema import MAX_HEADER, Malformed

SEND_TIMEOUT_MS = 2000
RCVHWM = 256           # messages queued per peer before it is pushed back
MAX_FRAMES = 2         # header, payload: a message of more frames is drained and refused
HANDSHAKE_MS = 5000    # a connection that has not completed its (CURVE) handshake by then is dropped


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


def plain_sample(value):
    """A sample id as a faulty message may carry it, safe to echo back (an int, else its repr)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and abs(value) <= 2**53):
        return value
    return repr(value)[:40]


def send(sock, header: dict, payload: bytes = b"", flags: int = 0) -> None:
    data = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    if len(data) > MAX_HEADER:
        raise ValueError(f"{header.get('kind')!r} header of {len(data)} bytes: more than {MAX_HEADER}")
    sock.send_multipart([data, payload], flags=flags, copy=False)


def max_message(manifest) -> int:
    """The largest frame a runtime socket takes: the manifest's largest tensor, or a header."""
    largest = 0
    for p in manifest.partitions:
        for t in [*p.inputs, *p.outputs]:
            largest = max(largest, int(np.prod(t["shape"])) * np.dtype(t["dtype"]).itemsize)
    return max(MAX_HEADER, largest)


def _peer(frame):
    """The CURVE public key (Z85) the authenticator admitted the sender with; None on an insecure socket."""
    try:
        user = frame.get("User-Id")
    except (zmq.ZMQError, AttributeError, TypeError):
        return None
    return user if isinstance(user, str) and len(user) == security.KEY_LEN else None


def receive(sock, role: str | None, flags: int = 0):
    """(header, payload, peer) of the next message for `role` ('worker', 'driver', 'netem'), or None when
    nothing waits (NOBLOCK). Anything that is not such a message (frames, size, nesting, JSON, a field's type
    or range) raises schema.Malformed, with `.peer` set; the frames are consumed either way."""
    try:
        first = sock.recv(flags, copy=False)
    except zmq.Again:
        return None
    frames = [first]
    extra = 0
    while sock.getsockopt(zmq.RCVMORE):
        f = sock.recv(copy=False)
        if len(frames) < MAX_FRAMES:
            frames.append(f)
        else:
            extra += 1
    peer = _peer(first)
    header = None
    try:
        if extra or len(frames) != MAX_FRAMES:
            raise Malformed(f"message of {len(frames) + extra} frames: expected {MAX_FRAMES} (header, payload)")
        header = schema.parse(first.buffer)
        payload = frames[1].bytes
        if role is not None:
            schema.check(header, role, len(payload))
    except Malformed as exc:
        exc.peer, exc.header = peer, header
        raise
    return header, payload, peer


def recv(sock, flags=0):
    """(header, payload) or (None, None): the header parsed (size, nesting, JSON) but not checked by kind
    (tools and tests; the runtime's processes use `receive`)."""
    try:
        got = receive(sock, None, flags)
    except Malformed:
        return None, None
    return (None, None) if got is None else got[:2]


def socket(ctx, kind, linger_ms: int = 0, max_message: int | None = None):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, linger_ms)
    s.setsockopt(zmq.MAXMSGSIZE, int(max_message or MAX_HEADER))
    s.setsockopt(zmq.RCVHWM, RCVHWM)
    s.setsockopt(zmq.HANDSHAKE_IVL, HANDSHAKE_MS)
    return s


class Outbox:
    """PUSH sockets by address, connected on first use; CURVE clients of the receiver's key unless insecure."""

    def __init__(self, ctx, ident=None):
        self.ctx = ctx
        self.ident = ident
        self.socks = {}  # address -> (socket, the receiver's public key)

    def send(self, addr: str, header: dict, payload: bytes = b"", key: str | None = None, wait: bool = True) -> bool:
        """Raises ValueError for an address ZeroMQ cannot connect to (or a secure send without the receiver's
        key), ConnectionError when the peer has taken nothing for SEND_TIMEOUT_MS (a PUSH socket blocks
        without a peer: never wait unbounded). With wait=False nothing blocks: False when not sent."""
        s, known = self.socks.get(addr, (None, None))
        if s is not None and known != key:
            s.close(0)
            s = None
        if s is None:
            if self.ident is not None and key is None:
                raise ValueError(f"address {addr!r}: no public key is known for it (a secure run needs the "
                                 "receiver's key in the allow-list)")
            s = socket(self.ctx, zmq.PUSH)
            s.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
            security.make_client(s, self.ident, key)
            try:
                s.connect(addr)
            except zmq.ZMQError as exc:
                s.close(0)
                raise ValueError(f"address {addr!r}: {exc.strerror} (expected e.g. tcp://10.0.0.2:5601)") from None
            self.socks[addr] = (s, key)
        try:
            send(s, header, payload, flags=0 if wait else zmq.NOBLOCK)
        except zmq.Again:
            if not wait:
                return False
            raise ConnectionError(f"{addr}: took no message for {SEND_TIMEOUT_MS / 1000:g} s (its queue is full "
                                  "or nothing listens there)") from None
        return True

    def close(self, linger_ms: int = 0) -> None:
        """linger_ms: how long what is queued may still be delivered (then dropped)."""
        for s, _ in self.socks.values():
            s.close(linger_ms)
        self.socks.clear()
