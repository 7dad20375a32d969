"""User-space link emulation: every message between tiers crosses its route's links, one FIFO per link
and direction, each applying bandwidth (serialisation: a message waits for those ahead of it) and then
propagation delay. Store and forward, as the model's path_inv_bandwidth assumes: each link transmits the
whole message before the next one starts.

A chain topology's route a -> b uses links min(a,b)..max(a,b)-1; a topology given as routes has one
virtual link per ordered pair (its path_latency and 1 / path_inv_bandwidth).
The emulator runs in its own process (`python -m eepart_fast.runtime.netem`), between the workers: a
worker sends to it, it books the message on its links (from the sender's time stamp), and passes it on
at once with the time it arrives; the receiving worker holds it until then. So the emulator's own
wake-ups and socket hops never add to the emulated delay (as long as they are shorter than it).
"""
from __future__ import annotations

import argparse
import collections
import hmac
import json
import math
import os
import sys
import time
from pathlib import Path

from . import protocol as proto
from . import security
from .errors import AddressError, TransportError
from .network import open_transport
from .schema import MAX_NAME, MAX_STR
from .trace import KINDS as TRACE_KINDS
from .trace import load_trace
from .transport import Received, receive_or_refuse

MAX_TIERS = 64
MAX_STALLED = 1024           # messages a stalled link holds (the rest are refused)
REPORTS_PER_S = 20
CONTROL = ("ping", "config", "stall", "stop", "start")  # taken from the run's driver only
MAX_SPEED = 1e6


def check_topology(topology) -> dict:
    """The emulator's topology (names, ratio, and bandwidth + latency or the two path matrices), refused by
    field, index and value when it is not one."""
    if not isinstance(topology, dict):
        raise ValueError(f"topology: expected an object, got {type(topology).__name__}")
    names = topology.get("names")
    if (not isinstance(names, list) or not 1 <= len(names) <= MAX_TIERS
            or not all(isinstance(n, str) and 0 < len(n) <= MAX_NAME for n in names) or len(set(names)) != len(names)):
        raise ValueError(f"topology.names = {str(names)[:80]}: expected 1..{MAX_TIERS} distinct tier names")
    m = len(names)

    def numbers(field, n, positive):
        v = topology.get(field)
        if not isinstance(v, list) or len(v) != n:
            raise ValueError(f"topology.{field}: expected a list of {n} numbers, got {str(v)[:80]}")
        for i, x in enumerate(v):
            ok = (not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)
                  and (x > 0 if positive else x >= 0))
            if not ok:
                raise ValueError(f"topology.{field}[{i}] = {x!r}: expected a finite number "
                                 f"{'> 0' if positive else '>= 0'}")

    if topology.get("bandwidth") is not None:
        numbers("bandwidth", m - 1, True)
        numbers("latency", m - 1, False)
    else:
        for field in ("path_latency", "path_inv_bandwidth"):
            rows = topology.get(field)
            if not isinstance(rows, list) or len(rows) != m:
                raise ValueError(f"topology.{field}: expected {m} rows of {m} numbers")
            for i, row in enumerate(rows):
                if not isinstance(row, list) or len(row) != m:
                    raise ValueError(f"topology.{field}[{i}]: expected {m} numbers")
                for j, x in enumerate(row):
                    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
                        raise ValueError(f"topology.{field}[{i}][{j}] = {x!r}: expected a finite number >= 0")
    return topology


def routes_of(topology: dict) -> dict:
    """{(a, b): [(link id, seconds per bit, propagation s), ...]} for tier names a != b."""
    names = topology["names"]
    routes = {}
    if topology.get("bandwidth") is not None:
        bw, lat = topology["bandwidth"], topology["latency"]
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                if i == j:
                    continue
                step = 1 if j > i else -1
                hops = range(i, j) if j > i else range(i - 1, j - 1, -1)
                routes[(a, b)] = [(f"{names[h]}-{names[h + 1]}" if step > 0 else f"{names[h + 1]}-{names[h]}",
                                   1.0 / bw[h], float(lat[h])) for h in hops]
    else:
        pl, inv = topology["path_latency"], topology["path_inv_bandwidth"]
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                if i != j:
                    routes[(a, b)] = [(f"{a}-{b}", float(inv[i][j]), float(pl[i][j]))]
    return routes


def link_ids(topology: dict, link) -> tuple:
    """(index, (id one way, id the other way)) of a chain topology's link, given as its index (int or digits),
    or its two tiers as "a-b" or "a,b" (either order); ValueError naming the link otherwise."""
    names = topology["names"]
    if topology.get("bandwidth") is None:
        raise ValueError(f"link {link!r}: this topology is given as routes (path matrices), not links; traces "
                         "follow the links of a chain topology")
    if isinstance(link, str) and link.strip().isdigit():
        link = int(link)
    if isinstance(link, int) and not isinstance(link, bool):
        if not 0 <= link < len(names) - 1:
            raise ValueError(f"link {link}: expected an index 0..{len(names) - 2} (link i joins tiers i and i+1)")
        i = link
    else:
        text = str(link)
        pair = None
        for sep in (",", "-"):
            a, found, b = text.partition(sep)
            if found and a.strip() in names and b.strip() in names:
                pair = sorted((names.index(a.strip()), names.index(b.strip())))
                break
        if pair is None or pair[1] != pair[0] + 1:
            raise ValueError(f"link {text[:80]!r}: expected an index or two neighbouring tiers 'a-b' of {names}")
        i = pair[0]
    return i, (f"{names[i]}-{names[i + 1]}", f"{names[i + 1]}-{names[i]}")


def topology_dict(topology) -> dict:
    """A Topology as the plain lists the emulator takes."""
    d = {"names": list(topology.names), "ratio": [float(r) for r in topology.ratio]}
    if topology.links is not None:
        d["bandwidth"] = [float(v) for v in topology.links["bandwidth"]]
        d["latency"] = [float(v) for v in topology.links["latency"]]
    else:
        d["path_latency"] = topology.path_latency.tolist()
        d["path_inv_bandwidth"] = topology.path_inv_bandwidth.tolist()
    return d


class LinkEmulator:
    """The schedule alone (no sockets): each message crosses its route's links in FIFO order per link.

    `schedule` books every link of the route at once, in the order messages are submitted (for a message
    that crosses several links this orders it at later links by its send time, not by its arrival there:
    exact in closed loop, an approximation under open-loop load on multi-link routes).
    """

    def __init__(self, topology: dict, traces: dict | None = None, speed: float = 1.0):
        self.routes = routes_of(check_topology(topology))
        self.links = {link for route in self.routes.values() for link, _, _ in route}
        self.free = {}             # link id -> time it finishes its last accepted message
        self.stalled = set()       # link ids that hold every message (fault injection)
        self.held = []             # (time, link, header) held by a stalled link
        # link id -> {kind: Trace}; both directions of a chain link follow its traces
        self.traces = {}
        for link, by_kind in (traces or {}).items():
            _, ids = link_ids(topology, link)
            for lid in ids:
                self.traces.setdefault(lid, {}).update(by_kind)
        if not (isinstance(speed, (int, float)) and 0 < speed <= MAX_SPEED):
            raise ValueError(f"trace speed = {speed!r}: expected a number in (0, {MAX_SPEED:g}]")
        self.speed = float(speed)
        self.t0 = math.inf         # real time of trace time 0 (set by `start`); before it, each trace's first value

    def start(self, t0: float) -> None:
        """Trace time 0 is real time `t0` (the run's first sample)."""
        self.t0 = float(t0)

    def trace_time(self, t: float) -> float:
        return max(0.0, (t - self.t0) * self.speed) if self.t0 < math.inf else 0.0

    def schedule(self, src: str, dst: str, bits: float, t_send: float, header: dict):
        """(arrival time, link hops) of a message sent at t_send; None when a stalled link holds it."""
        route = self.routes.get((src, dst))
        if route is None:
            raise ValueError(f"no route from tier {src!r} to tier {dst!r}")
        t, hops = t_send, []
        for link, inv_bw, prop in route:
            if link in self.stalled:
                if len(self.held) >= MAX_STALLED:
                    raise ValueError(f"link {link}: stalled, holding {MAX_STALLED} messages already")
                self.held.append((t, link, header))
                return None
            start = max(t, self.free.get(link, 0.0))
            trace = self.traces.get(link, {})
            transfer = bits * inv_bw
            if "bandwidth" in trace:
                t0 = self.t0 if self.t0 < math.inf else start
                done = trace["bandwidth"].finish(start, bits=bits, speed=self.speed, t0=t0)
                transfer = done - start
            else:
                done = start + transfer
            if "latency" in trace:
                prop = trace["latency"].value_at(self.trace_time(done))
            self.free[link] = done
            hops.append({"kind": "link", "link": link, "enter": t, "start": start, "sent": done,
                         "arrive": done + prop, "bits": bits, "transfer": transfer, "propagation": prop})
            t = done + prop
        return t, hops

    def in_flight(self) -> list:
        """Messages a stalled link holds: sample, link, since when."""
        return [{"sample": h.get("sample"), "link": link, "since": t} for t, link, h in self.held]


class _Netem:
    """The emulator process: receive from workers, book each message on its links, deliver to its tier.
    Control (config, stall, ping, stop) is taken from its driver only: the run's token, and on a secure run
    the driver's key; anything else is refused by name and counted."""

    def __init__(self, bind, announce, topology, idle_timeout, heartbeat, ident, driver_key, token, max_message,
                 traces=None, speed=1.0):
        self.announce, self.idle_timeout, self.heartbeat = announce, idle_timeout, heartbeat
        self.ident, self.driver_key, self.token = ident, driver_key, token
        self.emu = LinkEmulator(topology, traces, speed)
        self.names = set(topology["names"])
        self.inbox = open_transport(bind, identity=ident, max_message=max_message)
        self.out = self.inbox.sender()
        self.peers, self.keys = {}, {}
        self.refused = 0
        self._reports = collections.deque(maxlen=REPORTS_PER_S)

    def close(self):
        self.out.close()
        self.inbox.close()

    def _tell(self, header: dict) -> None:
        try:
            self.out.send(self.announce, {**header, "tier": "netem"}, key=self.driver_key)
        except (TransportError, ValueError):
            pass  # the driver is gone: it stops this process, or the idle timeout does

    def refuse(self, message: str, error: str = "Malformed", sample=None) -> None:
        self.refused += 1
        t = time.monotonic()
        if len(self._reports) == self._reports.maxlen and t - self._reports[0] < 1.0:
            return
        self._reports.append(t)
        self._tell({"kind": "error", "error": error, "message": message[:MAX_STR], "refused": self.refused,
                    "sample": proto.plain_sample(sample)})

    def _from_driver(self, header, peer) -> bool:
        if self.ident is not None and peer != self.driver_key:
            return False
        return hmac.compare_digest(str(header.get("token", "")).encode(), self.token.encode())

    def _admit(self, got: Received):
        """None for a message its sender may send; the refusal of control not from this emulator's driver."""
        kind = got.header["kind"]
        if kind in CONTROL and not self._from_driver(got.header, got.peer):
            return f"{kind}: not from this emulator's driver (token or key)", "NotDriver"
        return None

    def configure(self, header) -> None:
        peers, keys = header["peers"], header.get("keys") or {}
        unknown = [t for t in peers if t not in self.names]
        if unknown:
            raise ValueError(f"config.peers: tier {unknown[0]!r} is not in the topology")
        if self.ident is not None:
            for t in peers:
                if t not in keys:
                    raise ValueError(f"config.keys: no public key for tier {t!r}")
            for t, k in keys.items():
                if not self.ident.allows(k):
                    raise ValueError(f"config.keys[{t!r}] = {k[:8]}...: not in the emulator's allow-list")
        self.out.close()
        self.peers, self.keys = dict(peers), dict(keys)

    def forward(self, header, payload) -> None:
        dst = header["dst"]
        if dst not in self.peers:
            raise ValueError(f"dst = {dst!r}: no configured tier of that name")
        booked = self.emu.schedule(header["src"], dst, 8.0 * len(payload), header["t_send"], header)
        if booked is not None:
            # Sent on at once: the receiving worker holds it until `hold_until`, so the time this
            # process and the sockets take is hidden inside the link's delay.
            header["hold_until"] = booked[0]
            header.setdefault("hops", []).extend(booked[1])
            self.out.send(self.peers[dst], header, payload, key=self.keys.get(dst))

    def serve(self) -> int:
        self._tell({"kind": "hello", "endpoint": self.inbox.endpoint, "pid": os.getpid()})
        last_driver = time.monotonic()
        last_beat = 0.0
        while True:
            if time.monotonic() - last_driver > self.idle_timeout:
                print(f"netem: no word from the driver for {self.idle_timeout:.0f} s, stopping", file=sys.stderr)
                return 3
            if time.monotonic() - last_beat > self.heartbeat:
                last_beat = time.monotonic()
                self._tell({"kind": "heartbeat", "in_flight": self.emu.in_flight()[:32],
                            "stalled": sorted(self.emu.stalled)[:32], "refused": self.refused})
            got = receive_or_refuse(self.inbox, "netem", timeout_ms=int(self.heartbeat * 1000), refuse=self.refuse,
                                    admit=self._admit)
            if got is None:
                continue
            header, payload, _ = got
            kind = header["kind"]
            try:
                if kind in CONTROL:
                    last_driver = time.monotonic()
                    if kind == "stop":
                        return 0
                    if kind == "config":
                        self.configure(header)
                        self._tell({"kind": "ready"})
                    elif kind == "start":
                        self.emu.start(header["t0"])
                    elif kind == "stall":
                        if header["link"] not in self.emu.links:
                            raise ValueError(f"stall.link = {header['link']!r}: no such link "
                                             f"({sorted(self.emu.links)[:8]})")
                        self.emu.stalled.add(header["link"])
                else:
                    self.forward(header, payload)
            except Exception as exc:  # noqa: BLE001 - a faulty peer's message: refused by name, not a crash
                self.refuse(str(exc), type(exc).__name__, header.get("sample"))


def resolve_traces(traces: dict, topology: dict, folder) -> dict:
    """`run_local`'s traces ({"LINK" or "LINK:kind": file or Trace}) checked against the topology, as the
    emulator's --traces: {link index: {kind: file}}; Trace objects are written into `folder`."""
    from .trace import Trace, save_trace
    if not isinstance(traces, dict):
        raise TypeError(f"traces: expected {{link: file}}, got {type(traces).__name__}")
    out = {}
    for n, (spec, value) in enumerate(traces.items()):
        link, _, kind = str(spec).rpartition(":") if str(spec).endswith(TRACE_KINDS) else (spec, "", "bandwidth")
        if kind not in TRACE_KINDS:
            raise ValueError(f"traces[{spec!r}]: kind {kind!r}, expected one of {TRACE_KINDS}")
        i, _ = link_ids(topology, link)
        if isinstance(value, Trace):
            if value.kind != kind:
                raise ValueError(f"traces[{spec!r}]: a {value.kind} trace given as {kind}")
            path = Path(folder) / f"trace-{n}.csv"
            save_trace(value, path)
        else:
            path = Path(value)
            load_trace(path, kind=kind)  # refused here, by file and row, before any process starts
        if kind in out.get(str(i), {}):
            raise ValueError(f"traces[{spec!r}]: link {i} has a {kind} trace already")
        out.setdefault(str(i), {})[kind] = str(path.resolve())
    return out


def load_traces(spec) -> dict:
    """{link: {kind: file}} (as the driver passes it) -> {link: {kind: Trace}}, each file checked."""
    if not isinstance(spec, dict) or len(spec) > MAX_TIERS:
        raise ValueError(f"--traces: expected an object of at most {MAX_TIERS} links")
    out = {}
    for link, by_kind in spec.items():
        if not isinstance(by_kind, dict) or not set(by_kind) <= set(TRACE_KINDS):
            raise ValueError(f"--traces[{link!r}]: expected {{kind: file}} with kinds {TRACE_KINDS}")
        out[link] = {kind: load_trace(path, kind=kind) for kind, path in by_kind.items()}
    return out


def serve(bind: str, announce: str, topology: dict, idle_timeout: float = 10.0, heartbeat: float = 0.1,
          ident=None, driver_key=None, token: str = "", max_message: int | None = None, traces=None,
          speed: float = 1.0) -> int:
    """The emulator process (see _Netem)."""
    if len(token) < 16:
        raise ValueError("netem: a token of at least 16 characters is needed (the driver gives it on stdin)")
    n = _Netem(bind, announce, topology, idle_timeout, heartbeat, ident, driver_key, token, max_message, traces,
               speed)
    try:
        return n.serve()
    finally:
        n.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eepart_fast.runtime.netem")
    p.add_argument("--bind", required=True)
    p.add_argument("--announce", required=True, help="the driver's address")
    p.add_argument("--topology", required=True, help="JSON of names/ratio and bandwidth+latency or the path matrices")
    p.add_argument("--idle-timeout", type=float, default=10.0)
    p.add_argument("--max-message", type=int, default=None, help="largest frame taken (bytes)")
    p.add_argument("--traces", default=None, help='JSON {"LINK": {"bandwidth": FILE, "latency": FILE}}')
    p.add_argument("--trace-speed", type=float, default=1.0, help="trace seconds per real second")
    a = p.parse_args(argv)
    # The run's token, keys and the driver's key come on stdin (never on the command line, which others see).
    raw = sys.stdin.buffer.read(64 * 1024 + 1)
    try:
        if len(raw) > 64 * 1024:
            raise ValueError("stdin: more than 64 KiB")
        d = json.loads(raw)
        if not isinstance(d, dict) or not isinstance(d.get("token"), str):
            raise ValueError("stdin: expected the driver's JSON object with a token")
        ident = None if d.get("keys") is None else security.Identity.from_wire(d["keys"])
        driver_key = None if ident is None else security.check_key(d.get("driver"), "driver")
        topology = check_topology(json.loads(a.topology))
        if a.max_message is not None and not 0 < a.max_message <= 1 << 31:
            raise ValueError(f"--max-message {a.max_message}: expected 1..2^31 bytes")
        if not (math.isfinite(a.idle_timeout) and a.idle_timeout > 0):
            raise ValueError(f"--idle-timeout {a.idle_timeout}: expected a finite number > 0")
        traces = load_traces(json.loads(a.traces)) if a.traces else None
    except ValueError as exc:
        print(f"netem: error: {exc}", file=sys.stderr)
        return 2
    try:
        return serve(a.bind, a.announce, topology, a.idle_timeout, ident=ident, driver_key=driver_key,
                     token=d["token"], max_message=a.max_message, traces=traces, speed=a.trace_speed)
    except AddressError as exc:
        print(f"netem: error: --bind {a.bind!r}: {exc.reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
