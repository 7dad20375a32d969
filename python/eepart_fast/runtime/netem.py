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
    """The schedule alone (no sockets): each message crosses its route's links in FIFO order per link.

    `schedule` books every link of the route at once, in the order messages are submitted (for a message
    that crosses several links this orders it at later links by its send time, not by its arrival there:
    exact in closed loop, an approximation under open-loop load on multi-link routes).
    """

    def __init__(self, topology: dict):
        self.routes = routes_of(topology)
        self.free = {}             # link id -> time it finishes its last accepted message
        self.stalled = set()       # link ids that hold every message (fault injection)
        self.held = []             # (time, link, header) held by a stalled link

    def schedule(self, src: str, dst: str, bits: float, t_send: float, header: dict):
        """(arrival time, link hops) of a message sent at t_send; None when a stalled link holds it."""
        route = self.routes.get((src, dst))
        if route is None:
            raise ValueError(f"no route from tier {src!r} to tier {dst!r}")
        t, hops = t_send, []
        for link, inv_bw, prop in route:
            if link in self.stalled:
                self.held.append((t, link, header))
                return None
            start = max(t, self.free.get(link, 0.0))
            done = start + bits * inv_bw
            self.free[link] = done
            hops.append({"kind": "link", "link": link, "enter": t, "start": start, "sent": done,
                         "arrive": done + prop, "bits": bits, "transfer": bits * inv_bw, "propagation": prop})
            t = done + prop
        return t, hops

    def in_flight(self) -> list:
        """Messages a stalled link holds: sample, link, since when."""
        return [{"sample": h.get("sample"), "link": link, "since": t} for t, link, h in self.held]


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
            if time.monotonic() - last_beat > heartbeat:
                last_beat = time.monotonic()
                out.send(announce, {"kind": "heartbeat", "tier": "netem", "in_flight": emu.in_flight()[:32],
                                    "stalled": sorted(emu.stalled)})
            if not inbox.poll(int(heartbeat * 1000)):
                if time.monotonic() - last_driver > idle_timeout:
                    print(f"netem: no word from the driver for {idle_timeout:.0f} s, stopping", file=sys.stderr)
                    return 3
                continue
            header, payload = proto.recv(inbox, zmq.NOBLOCK)
            if header is None:
                continue
            kind = header["kind"]
            if kind in ("ping", "config", "stall"):
                last_driver = time.monotonic()
            if kind == "config":
                peers = header["peers"]
                out.send(announce, {"kind": "ready", "tier": "netem"})
            elif kind == "stall":
                if isinstance(header.get("link"), str):
                    emu.stalled.add(header["link"])
            elif kind == "stop":
                return 0
            elif kind in ("input", "tensor", "result"):
                try:
                    booked = emu.schedule(header["src"], header["dst"], 8.0 * len(payload), header["t_send"], header)
                except (KeyError, ValueError, TypeError) as exc:  # a faulty peer's message: refused, not a crash
                    out.send(announce, {"kind": "error", "tier": "netem", "error": type(exc).__name__,
                                        "message": str(exc)})
                    continue
                if booked is not None:
                    # Sent on at once: the receiving worker holds it until `hold_until`, so the time this
                    # process and the sockets take is hidden inside the link's delay.
                    header["hold_until"] = booked[0]
                    header.setdefault("hops", []).extend(booked[1])
                    out.send(peers[header["dst"]], header, payload)
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
