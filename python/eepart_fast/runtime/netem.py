"""User-space link emulation: every message between tiers crosses its route's links, one FIFO per link
and direction, each applying bandwidth (serialisation: a message waits for those ahead of it) and then
propagation delay. Store and forward, as the model's path_inv_bandwidth assumes: each link transmits the
whole message before the next one starts.

A chain topology's route a -> b uses links min(a,b)..max(a,b)-1; a topology given as routes has one
virtual link per ordered pair (its path_latency and 1 / path_inv_bandwidth).
The emulator runs in its own process (`python -m eepart_fast.runtime.netem`), between the workers: a
worker sends to it, it delivers to the destination worker when the message has crossed its links.
"""
from __future__ import annotations

import argparse
import heapq
import itertools
import json
import sys
import time

import zmq

from . import protocol as proto


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
    """The schedule alone (no sockets): messages enter links at their send time and leave in FIFO order."""

    def __init__(self, topology: dict):
        self.routes = routes_of(topology)
        self.free = {}             # link id -> time it finishes its last accepted message
        self.events = []           # (time, seq, message, hop index)
        self.seq = itertools.count()
        self.stalled = set()       # link ids that hold every message (fault injection)
        self.held = []             # (time, link, message) held by a stalled link

    def submit(self, src: str, dst: str, bits: float, t_send: float, message) -> None:
        route = self.routes.get((src, dst))
        if route is None:
            raise ValueError(f"no route from tier {src!r} to tier {dst!r}")
        message["_route"], message["_hops"] = route, []
        heapq.heappush(self.events, (t_send, next(self.seq), message, 0, bits))

    def next_time(self):
        return self.events[0][0] if self.events else None

    def due(self, t_now: float) -> list:
        """Messages whose last link has delivered them by t_now; links entered as their time comes."""
        out = []
        while self.events and self.events[0][0] <= t_now:
            t, _, msg, hop, bits = heapq.heappop(self.events)
            route = msg["_route"]
            if hop == len(route):
                out.append(msg)
                continue
            link, inv_bw, prop = route[hop]
            if link in self.stalled:
                self.held.append((t, link, msg))
                continue
            start = max(t, self.free.get(link, 0.0))
            done = start + bits * inv_bw
            self.free[link] = done
            msg["_hops"].append({"kind": "link", "link": link, "enter": t, "start": start, "sent": done,
                                 "arrive": done + prop, "bits": bits, "transfer": bits * inv_bw,
                                 "propagation": prop})
            heapq.heappush(self.events, (done + prop, next(self.seq), msg, hop + 1, bits))
        return out

    def in_flight(self) -> list:
        """Messages on their way: sample, the link they are on (or enter next), since when."""
        held = [{"sample": m["header"].get("sample"), "link": link, "since": t} for t, link, m in self.held]
        moving = [{"sample": m["header"].get("sample"), "link": m["_route"][min(h, len(m["_route"])) - 1][0]
                   if h else m["_route"][0][0], "since": t} for t, _, m, h, _ in self.events]
        return held + moving


def serve(bind: str, announce: str, topology: dict, idle_timeout: float = 10.0, heartbeat: float = 0.1) -> int:
    """The emulator process: receive from workers, hold each message for its links, deliver to its tier."""
    ctx = zmq.Context()
    inbox = proto.socket(ctx, zmq.PULL)
    inbox.bind(bind)
    out = proto.Outbox(ctx)
    emu = LinkEmulator(topology)
    peers = {}
    proto.Outbox.send(out, announce, {"kind": "hello", "tier": "netem",
                                      "endpoint": inbox.getsockopt(zmq.LAST_ENDPOINT).decode()})
    last_driver = time.monotonic()
    last_beat = 0.0
    try:
        while True:
            t = proto.now()
            for msg in emu.due(t):
                h = msg["header"]
                h.setdefault("hops", []).extend(msg["_hops"])
                out.send(peers[h["dst"]], h, msg["payload"])
            if time.monotonic() - last_beat > heartbeat:
                last_beat = time.monotonic()
                out.send(announce, {"kind": "heartbeat", "tier": "netem", "in_flight": emu.in_flight()[:32],
                                    "stalled": sorted(emu.stalled)})
            nxt = emu.next_time()
            wait = min(0.05, nxt - proto.now()) if nxt is not None else 0.05
            if wait > 0.002:
                inbox.poll(int((wait - 0.001) * 1000))
            elif wait > 0:
                time.sleep(wait)
            for _ in range(1000):  # drain what has arrived, bounded
                header, payload = proto.recv(inbox, zmq.NOBLOCK)
                if header is None:
                    break
                kind = header["kind"]
                if kind in ("ping", "config", "stall"):
                    last_driver = time.monotonic()
                if kind == "config":
                    peers = header["peers"]
                    out.send(announce, {"kind": "ready", "tier": "netem"})
                elif kind == "stall":
                    emu.stalled.add(header["link"])
                elif kind == "stop":
                    return 0
                elif kind in ("input", "tensor", "result"):
                    try:
                        emu.submit(header["src"], header["dst"], 8.0 * len(payload), header["t_send"],
                                   {"header": header, "payload": payload})
                    except (KeyError, ValueError) as exc:
                        out.send(announce, {"kind": "error", "tier": "netem", "message": str(exc)})
            if time.monotonic() - last_driver > idle_timeout:
                print(f"netem: no word from the driver for {idle_timeout:.0f} s, stopping", file=sys.stderr)
                return 3
    finally:
        out.close()
        inbox.close(0)
        ctx.term()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eepart_fast.runtime.netem")
    p.add_argument("--bind", required=True)
    p.add_argument("--announce", required=True, help="the driver's address")
    p.add_argument("--topology", required=True, help="JSON of names/ratio and bandwidth+latency or the path matrices")
    p.add_argument("--idle-timeout", type=float, default=10.0)
    a = p.parse_args(argv)
    try:
        return serve(a.bind, a.announce, json.loads(a.topology), a.idle_timeout)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
