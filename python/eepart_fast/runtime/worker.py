"""A tier's worker: serves its partition(s) of a plan, forwards what does not exit, delivers results.

One process per tier. It binds one PULL socket and waits for a driver's `config` (peer addresses, the
link emulator if any, its speed ratio); the same process serves a tier on another host:

    eepart worker --tier edge --bind tcp://0.0.0.0:5601 --artifacts deploy/

Compute emulation (`clock` in the config): 'cpu' stretches each partition call to ratio x the CPU time
this thread spent in onnxruntime (sleeping the rest; immune to other processes' load), 'wall' sleeps
(ratio - 1) x the call's wall time, 'profile' takes ratio x the partition's profiled time (a fixed
service time, given by the driver), 'none' runs at this machine's speed (a real deployment).
"""
from __future__ import annotations

import argparse
import collections
import heapq
import math
import sys
import threading
import time

import numpy as np
import zmq

from . import protocol as proto
from .errors import ManifestError, TensorMismatch
from .executor import PartitionRunner, normalised_entropy, tensor_from_bytes
from .manifest import load_manifest

CLOCKS = ("cpu", "wall", "profile", "none")
WARMUP_CALLS = 5


class Worker:
    def __init__(self, tier: str, bind: str, artifacts, announce: str | None = None, idle_timeout: float = 0.0):
        self.tier, self.artifacts, self.announce, self.idle_timeout = tier, artifacts, announce, idle_timeout
        self.ctx = zmq.Context()
        self.inbox = proto.socket(self.ctx, zmq.PULL)
        try:
            self.inbox.bind(bind)
        except zmq.ZMQError:
            self.inbox.close(0)
            self.ctx.term()
            raise
        self.endpoint = self.inbox.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.out = proto.Outbox(self.ctx)
        self.local = collections.deque()
        self.held = []  # (hold_until, seq, header, payload): messages still crossing an emulated link
        self.seq = 0
        self.config = None
        self.runners = {}
        self.state = {"busy": None, "since": None, "last": None}
        self._stop = threading.Event()

    # --- the driver side ------------------------------------------------------------------------

    def _report(self, header: dict) -> None:
        if self.config is not None:
            self.out.send(self.config["driver"], {**header, "tier": self.tier})
        elif self.announce:
            self.out.send(self.announce, {**header, "tier": self.tier})

    def _heartbeats(self, driver: str, every: float) -> None:
        sock = proto.socket(self.ctx, zmq.PUSH)
        sock.connect(driver)
        try:
            while not self._stop.wait(every):
                proto.send(sock, {"kind": "heartbeat", "tier": self.tier, **self.state})
        finally:
            sock.close(0)

    def _configure(self, cfg: dict) -> None:
        manifest = load_manifest(self.artifacts)
        mine = [p for p in manifest.partitions if p.tier == self.tier]
        theirs = {int(k): v for k, v in cfg["checksums"].items()}
        for p in manifest.partitions:
            if theirs.get(p.index) != p.sha256:
                raise ManifestError(f"partition {p.index}: this worker's {p.file} has sha256 {p.sha256[:16]}..., "
                                    f"the driver's manifest says {str(theirs.get(p.index))[:16]}...")
        if cfg.get("clock", "cpu") not in CLOCKS:
            raise ValueError(f"clock = {cfg.get('clock')!r}: expected one of {CLOCKS}")
        if cfg.get("clock") == "profile" and not all(str(p.index) in (cfg.get("service") or {}) for p in mine):
            raise ValueError("clock = 'profile' needs a service time for every partition of this tier")
        self.manifest = manifest
        self.runners = {p.index: PartitionRunner(manifest, p) for p in mine}
        for r in self.runners.values():
            x = np.zeros(r.shape, r.dtype)
            for _ in range(WARMUP_CALLS):
                r.run(x)
        self.config = cfg
        threading.Thread(target=self._heartbeats, args=(cfg["driver"], cfg.get("heartbeat", 0.1)),
                         daemon=True).start()

    # --- moving samples -------------------------------------------------------------------------

    def _send(self, header: dict, payload: bytes, dst: str) -> None:
        header["src"], header["dst"] = self.tier, dst
        if dst == self.tier:
            self.local.append((header, payload))
            return
        header["t_send"] = proto.now()
        via = self.config.get("via")
        self.out.send(via or self.config["peers"][dst], header, payload)
        self.state["last"] = {"sample": header.get("sample"), "kind": header["kind"], "to": dst, "t": header["t_send"]}

    def _compute(self, header: dict, payload: bytes) -> None:
        k = header.get("partition")
        runner = self.runners.get(k)
        if runner is None:
            raise TensorMismatch(f"sample {header.get('sample')}: partition {k!r} does not run on tier "
                                 f"{self.tier!r} (it serves {sorted(self.runners)})")
        x = tensor_from_bytes(payload, runner.dtype.name, runner.shape,
                              f"partition {k} ({self.tier}), sample {header.get('sample')}")
        self.state.update(busy=header.get("sample"), since=proto.now())
        start = proto.now()
        values, cpu, wall = runner.run(x)
        ratio, clock = float(self.config.get("ratio", 1.0)), self.config.get("clock", "cpu")
        if clock == "profile":
            target = ratio * float(self.config["service"][str(k)])
        else:
            target = ratio * cpu if clock == "cpu" else ratio * wall if clock == "wall" else 0.0
        proto.sleep_until(start + target)
        end = proto.now()
        logits = values["logits"]
        entropy = float(normalised_entropy(logits)[0])
        header.setdefault("hops", []).append({"kind": "compute", "tier": self.tier, "partition": k,
                                              "start": start, "end": end, "cpu": cpu, "wall": wall,
                                              "target": target, "entropy": entropy})
        self.state.update(busy=None, since=None)
        part = runner.part
        if part.last or entropy < self.manifest.threshold:
            header.update(kind="result", exit_partition=k, exit_block=part.exit,
                          prediction=int(np.asarray(logits)[0].argmax()))
            self._send(header, np.ascontiguousarray(logits).tobytes(), self.manifest.destination)
        else:
            header.update(partition=k + 1)
            nxt = self.manifest.partition(k + 1).tier
            self._send(header, np.ascontiguousarray(values["h"]).tobytes(), nxt)

    def _handle(self, header: dict, payload: bytes) -> bool:
        kind = header["kind"]
        if kind == "stop":
            return False
        if kind == "config":
            try:
                self._configure(header)
            except (ValueError, OSError, KeyError) as exc:
                self._report({"kind": "error", "message": str(exc), "error": type(exc).__name__})
                return True
            self._report({"kind": "ready", "pid": _pid()})
            return True
        if self.config is None or kind == "ping":
            return True
        try:
            if kind == "input":
                header.update(kind="tensor", partition=1, t0=proto.now())
                self._send(header, payload, self.manifest.partition(1).tier)
            elif kind == "tensor":
                self._compute(header, payload)
            elif kind == "result":
                header.update(kind="done", t_end=proto.now())
                self._report(header)
        except (TensorMismatch, ValueError, KeyError, TypeError, IndexError) as exc:  # a faulty peer's message
            self._report({"kind": "error", "sample": _plain(header.get("sample")), "message": str(exc),
                          "error": type(exc).__name__})
        return True

    def serve(self) -> int:
        if self.announce:
            self.out.send(self.announce, {"kind": "hello", "tier": self.tier, "endpoint": self.endpoint,
                                          "pid": _pid()})
        heard = time.monotonic()
        try:
            while True:
                if self.idle_timeout and time.monotonic() - heard > self.idle_timeout:
                    print(f"worker {self.tier}: no word from a driver for {self.idle_timeout:g} s, stopping",
                          file=sys.stderr)
                    return 3
                if self.held and self.held[0][0] - proto.now() <= proto.SPIN:
                    due, _, header, payload = heapq.heappop(self.held)
                    proto.sleep_until(due)
                elif self.local:
                    header, payload = self.local.popleft()
                else:
                    wait = 0.1 if not self.held else max(0.0, self.held[0][0] - proto.now() - proto.SPIN)
                    if not self.inbox.poll(max(0, int(wait * 1000))):
                        continue
                    header, payload = proto.recv(self.inbox, zmq.NOBLOCK)
                    if header is None:
                        continue
                    if header["kind"] in ("ping", "config", "input", "stop"):
                        heard = time.monotonic()
                    if "hold_until" in header:
                        due = header.pop("hold_until")
                        if isinstance(due, bool) or not isinstance(due, (int, float)) or not math.isfinite(due):
                            self._report({"kind": "error", "sample": _plain(header.get("sample")),
                                          "error": "TensorMismatch",
                                          "message": f"hold_until = {due!r}: expected a finite time"})
                            continue
                        self.seq += 1
                        heapq.heappush(self.held, (float(due), self.seq, header, payload))
                        continue
                if not self._handle(header, payload):
                    return 0
        finally:
            self._stop.set()
            self.out.close()
            self.inbox.close(0)


def _plain(value):
    """A sample id as a faulty message may carry it, safe to echo back (an int, else its repr)."""
    return value if isinstance(value, int) or value is None else repr(value)[:40]


def _pid() -> int:
    import os
    return os.getpid()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="eepart worker", description="Serve one tier's partitions of an "
                                "exported plan; a driver (eepart run) configures it and sends the samples.")
    from .cli import add_worker_arguments
    add_worker_arguments(p)
    return run(p.parse_args(argv))


def run(a) -> int:
    try:
        manifest = load_manifest(a.artifacts)
    except ManifestError as exc:
        print(f"eepart worker: error: {exc}", file=sys.stderr)
        return 2
    if a.tier not in manifest.tiers:
        print(f"eepart worker: error: --tier {a.tier!r}: the plan uses tiers {manifest.tiers}", file=sys.stderr)
        return 2
    if not a.idle_timeout >= 0:
        print(f"eepart worker: error: --idle-timeout {a.idle_timeout}: must be >= 0 (0: wait forever)", file=sys.stderr)
        return 2
    try:
        w = Worker(a.tier, a.bind, a.artifacts, a.announce, a.idle_timeout)
    except zmq.ZMQError as exc:
        print(f"eepart worker: error: --bind {a.bind!r}: {exc.strerror}", file=sys.stderr)
        return 2
    if not a.announce:
        print(f"worker {a.tier} listening on {w.endpoint}", flush=True)
    try:
        return w.serve()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
