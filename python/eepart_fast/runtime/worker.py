"""A tier's worker: serves its partition(s) of a plan, forwards what does not exit, delivers results.

One process per tier. It binds one PULL socket and waits for a driver's `config` (peer addresses, the
link emulator if any, its speed ratio); the same process serves a tier on another host:

    eepart worker --tier edge --bind tcp://0.0.0.0:5601 --artifacts deploy/ \
        --key keys/edge.key_secret --allow keys/        # keys from `eepart keys`; or --insecure

Every message is checked against its kind's schema (schema.py) before any use; a malformed one is refused
by name, counted and reported to the driver, and the worker serves on. It serves one run after another
(`end` closes a run; `--once` stops there); `stop` ends it.

Compute emulation (`clock` in the config): 'cpu' stretches each partition call to ratio x the CPU time
this thread spent in onnxruntime (sleeping the rest; immune to other processes' load), 'wall' sleeps
(ratio - 1) x the call's wall time, 'profile' takes ratio x the partition's profiled time (a fixed
service time, given by the driver), 'none' runs at this machine's speed (a real deployment).
"""
from __future__ import annotations

import argparse
import collections
import heapq
import json
import os
import sys
import threading
import time

import numpy as np

from . import protocol as proto
from . import security
from .errors import AddressError, LoadFailed, ManifestError, TensorMismatch, TransportError
from .executor import PartitionRunner, logits_error, normalised_entropy, tensor_from_bytes
from .manifest import load_manifest
from .network import open_transport
from .schema import MAX_STR
from .transport import Received, receive_or_refuse

CLOCKS = ("cpu", "wall", "profile", "none")
WARMUP_CALLS = 5
MAX_HELD = 1024                  # messages held for their link's arrival time
HELD_BYTES_MIN, HELD_BYTES_MAX = 16 << 20, 1 << 30
REPORTS_PER_S = 20               # refusals reported to the driver (the rest are counted)
MAX_STDIN = 64 * 1024
CONTROL = ("config", "stop", "end", "probe")


class Worker:
    """One tier's worker process: its inbox bound to `bind`, configured by a driver (see the module).

    Raises AddressError when `bind` cannot be bound, ManifestError for a deployment it cannot serve.
    """

    def __init__(self, tier: str, bind: str, artifacts, announce: str | None = None, idle_timeout: float = 0.0,
                 ident: security.Identity | None = None, driver_key: str | None = None, once: bool = False,
                 manifest=None):
        self.tier, self.artifacts, self.announce, self.idle_timeout = tier, artifacts, announce, idle_timeout
        self.ident, self.once = ident, once
        self.manifest = manifest if manifest is not None else load_manifest(artifacts)
        self.max_message = proto.max_message(self.manifest)
        self.held_cap = min(HELD_BYTES_MAX, max(HELD_BYTES_MIN, 64 * self.max_message))
        self.inbox = open_transport(bind, identity=ident, max_message=self.max_message)
        self.endpoint = self.inbox.endpoint
        self.out = self.inbox.sender()
        self.local = collections.deque()
        self.held = []  # (hold_until, seq, header, payload): messages still crossing an emulated link
        self.held_bytes = 0
        self.seq = 0
        self.config = None
        self._announce_to = (announce, driver_key) if announce else None
        self.driver = self._announce_to  # where reports go: (address, key)
        self._logged = 0
        self.runners = {}
        self.refused = 0
        self._reports = collections.deque(maxlen=REPORTS_PER_S)
        self.state = {"busy": None, "since": None, "last": None}
        self._beat = None  # (driver address, key, interval) while configured; read by the heartbeat thread
        self._stop = threading.Event()
        self._hb = threading.Thread(target=self._heartbeats, name=f"heartbeat-{tier}", daemon=True)
        self._hb.start()

    # --- the driver side ------------------------------------------------------------------------

    def _log(self, text: str) -> None:
        """A line on stderr: the first 100, then every 1000th (a driver may read stderr only at the end)."""
        self._logged += 1
        if self._logged > 100 and self._logged % 1000:
            return
        mode = "" if self.ident is not None else f" ({security.INSECURE})"
        line = f"worker {self.tier}{mode}: {text}".encode("ascii", "backslashreplace").decode()
        print(line, file=sys.stderr, flush=True)

    def _report(self, header: dict) -> None:
        """To the driver, if one is known; never raises (a driver gone must not end the worker)."""
        if self.driver is None:
            return
        addr, key = self.driver
        try:
            self.out.send(addr, {**header, "tier": self.tier}, key=key)
        except (TransportError, ValueError) as exc:
            self._log(f"cannot report {header.get('kind')!r} to the driver at {addr}: {exc}")

    def _refuse(self, what: str, error: str = "Malformed", sample=None) -> None:
        """Count a refused message; tell the driver (at most REPORTS_PER_S a second), else stderr (sparsely)."""
        self.refused += 1
        t = time.monotonic()
        if len(self._reports) == self._reports.maxlen and t - self._reports[0] < 1.0:
            return
        self._reports.append(t)
        if self.driver is not None and self.config is not None:
            self._report({"kind": "error", "error": error, "message": what[:MAX_STR],
                          "sample": proto.plain_sample(sample),
                          "refused": self.refused})
        else:
            self._log(f"refused message #{self.refused}: {error}: {what[:300]}")

    def _may_control(self, peer) -> bool:
        """Configure, stop or end this worker: any peer when insecure, else a key not named after a tier of
        the plan (the keys named after tiers are the workers': they send samples only)."""
        if self.ident is None:
            return True
        return peer is not None and peer in self.ident.allowed and self.ident.allowed[peer] not in self.manifest.tiers

    def _admit(self, got: Received):
        """None for a message its sender may send; the refusal (message, error) of a control message from
        a key that may send samples only."""
        kind = got.header["kind"]
        if kind in CONTROL and not self._may_control(got.peer):
            name = self.ident.allowed.get(got.peer)
            return (f"{kind}: from the key of tier {name!r}, which may send samples, not control (a driver's "
                    "key is named after no tier)", "NotDriver")
        return None

    def _heartbeats(self) -> None:
        """One thread for the worker's life: a heartbeat to the configured driver every interval."""
        out = self.inbox.sender()  # this thread's own: a sender is used by one thread
        last = None
        try:
            while True:
                beat = self._beat
                if self._stop.wait(beat[2] if beat else 0.1):
                    return
                beat = self._beat
                if beat is None:
                    continue
                addr, key, _ = beat
                if (addr, key) != last:  # a new driver: the previous one's connection goes
                    out.close()
                    last = (addr, key)
                try:
                    out.send(addr, {"kind": "heartbeat", "tier": self.tier, "refused": self.refused, **self.state},
                             key=key, wait=False)
                except (TransportError, ValueError):
                    pass  # the driver is gone or slow: a heartbeat is never waited for
        finally:
            out.close()

    def _configure(self, cfg: dict, peer: str | None) -> None:
        # Reports about this configuration go to the driver that sent it (its key: the one it signed with).
        self.driver = (cfg["driver"], peer)
        keys = cfg.get("keys") or {}
        if self.ident is not None:
            if peer is None:
                raise ValueError("config: sender not authenticated")
            for name, key in keys.items():
                if not self.ident.allows(key):
                    raise ValueError(f"config.keys[{name!r}] = {key[:8]}...: not in this worker's allow-list")
        manifest = load_manifest(self.artifacts)
        if proto.max_message(manifest) > self.max_message:  # the socket's frame cap was set at start
            raise ManifestError(f"{self.artifacts}: re-exported with tensors of {proto.max_message(manifest)} bytes "
                                f"since this worker started (it takes {self.max_message}): restart it")
        if self.tier not in manifest.tiers:
            raise ManifestError(f"{self.artifacts}: re-exported without tier {self.tier!r} (it has "
                                f"{manifest.tiers}): restart this worker with its tier")
        # Every partition this tier may run, in any plan of a deployed table: each file once.
        mine = {}
        for p in manifest.all_partitions():
            if p.tier == self.tier:
                mine.setdefault(p.file, p)
        theirs, ours = cfg["checksums"], manifest.checksums()
        for file, sha in ours.items():
            if theirs.get(file) != sha:
                raise ManifestError(f"{file}: this worker's has sha256 {sha[:16]}..., the driver's manifest says "
                                    f"{str(theirs.get(file))[:16]}...")
        if len(theirs) != len(ours):
            raise ManifestError(f"config.checksums: {len(theirs)} files, this worker's manifest has {len(ours)}")
        missing = [t for t in manifest.tiers if t not in cfg["peers"]]
        if missing:
            raise ValueError(f"config.peers: no address for tier {missing[0]!r} (the plan uses {manifest.tiers})")
        if self.ident is not None:
            need = [t for t in manifest.tiers if t != self.tier] + (["netem"] if cfg.get("via") else [])
            unkeyed = [t for t in need if t not in keys]
            if unkeyed:
                raise ValueError(f"config.keys: no public key for {unkeyed[0]!r}")
        if cfg["clock"] == "profile" and not all(f in (cfg.get("service") or {}) for f in mine):
            raise ValueError("config.clock = 'profile' needs a service time for every partition of this tier")
        runners = {}
        for file, p in mine.items():
            try:
                runners[file] = PartitionRunner(manifest, p)
            except TensorMismatch:
                raise
            except Exception as exc:  # noqa: BLE001 - onnxruntime's own errors (InvalidProtobuf, Fail, ...)
                raise LoadFailed(f"tier {self.tier!r} cannot load partition {p.index} from {p.file}: "
                                 f"{type(exc).__name__}: {str(exc)[:300]}") from None
        for r in runners.values():
            x = np.zeros(r.shape, r.dtype)
            for _ in range(WARMUP_CALLS):
                r.run(x)
        self.out.close()  # the previous run's peers
        self.manifest, self.runners, self.config = manifest, runners, cfg
        self.local.clear()
        self.held.clear()
        self.held_bytes = 0
        self._beat = (cfg["driver"], peer, float(cfg["heartbeat"]))

    def _unconfigure(self) -> None:
        """The run is over: forget its peers and samples, keep serving for the next driver."""
        self.config, self._beat, self.runners = None, None, {}
        self.local.clear()
        self.held.clear()
        self.held_bytes = 0
        self.out.close()
        self.driver = self._announce_to

    # --- moving samples -------------------------------------------------------------------------

    def _key(self, name: str):
        return None if self.ident is None else (self.config.get("keys") or {}).get(name)

    def _send(self, header: dict, payload: bytes, dst: str) -> None:
        header["src"], header["dst"] = self.tier, dst
        if dst == self.tier:
            self.local.append((header, payload))
            return
        header["t_send"] = proto.now()
        via = self.config.get("via")
        if via:
            self.out.send(via, header, payload, key=self._key("netem"))
        else:
            self.out.send(self.config["peers"][dst], header, payload, key=self._key(dst))
        self.state["last"] = {"sample": header.get("sample"), "kind": header["kind"], "to": dst, "t": header["t_send"]}

    def _plan(self, header: dict):
        """The sample's plan (a deployed table's plan j, or the one plan), refused by name when unknown."""
        j = header.get("plan", 0)
        try:
            return self.manifest.plan(j)
        except ManifestError as exc:
            raise TensorMismatch(f"sample {header.get('sample')}: {exc}") from None

    def _compute(self, header: dict, payload: bytes) -> None:
        k = header["partition"]
        plan = self._plan(header)
        part = plan.partition(k) if k <= len(plan.partitions) else None
        runner = self.runners.get(part.file) if part is not None and part.tier == self.tier else None
        if runner is None:
            raise TensorMismatch(f"sample {header.get('sample')}: partition {k!r} of plan {header.get('plan', 0)} "
                                 f"does not run on tier {self.tier!r} (it serves {sorted(self.runners)})")
        x = tensor_from_bytes(payload, runner.dtype.name, runner.shape,
                              f"partition {k} ({self.tier}), sample {header.get('sample')}")
        self.state.update(busy=header.get("sample"), since=proto.now())
        start = proto.now()
        try:
            values, cpu, wall = runner.run(x)
        finally:
            self.state.update(busy=None, since=None)
        ratio, clock = float(self.config["ratio"]), self.config["clock"]
        if clock == "profile":
            target = ratio * float(self.config["service"][part.file])
        else:
            target = ratio * cpu if clock == "cpu" else ratio * wall if clock == "wall" else 0.0
        proto.sleep_until(start + target)
        end = proto.now()
        logits = values["logits"]
        entropy = float(normalised_entropy(logits)[0])
        error = logits_error(logits, k)
        header.setdefault("hops", []).append({"kind": "compute", "tier": self.tier, "partition": k,
                                              "start": start, "end": end, "cpu": cpu, "wall": wall,
                                              "target": target, "entropy": None if error else entropy})
        if error is not None:  # non-finite logits: the sample fails here, recorded as its error
            header.update(kind="result", exit_partition=k, exit_block=part.exit, prediction=None, error=error)
            self._send(header, b"", plan.destination)
        elif part.last or entropy < plan.threshold:
            header.update(kind="result", exit_partition=k, exit_block=part.exit,
                          prediction=int(np.asarray(logits)[0].argmax()))
            self._send(header, np.ascontiguousarray(logits).tobytes(), plan.destination)
        else:
            header.update(partition=k + 1)
            self._send(header, np.ascontiguousarray(values["h"]).tobytes(), plan.partition(k + 1).tier)

    def _handle(self, header: dict, payload: bytes, peer: str | None) -> bool:
        kind = header["kind"]
        if kind == "stop":
            return False
        if kind == "end":
            self._unconfigure()
            return not self.once
        if kind == "config":
            try:
                self._configure(header, peer)
            except Exception as exc:  # noqa: BLE001 - whatever fails, the driver hears it by name
                self.config, self._beat = None, None
                name = type(exc).__name__
                self._report({"kind": "error", "message": str(exc)[:MAX_STR], "error": name,
                              "refused": self.refused})
                if self.driver is None or isinstance(exc, LoadFailed):
                    self._log(f"configuration refused: {name}: {exc}")
                return True
            self._report({"kind": "ready", "pid": os.getpid()})
            return True
        if kind == "ping":
            return True
        if self.config is None:  # a sample before any configuration: nothing to run it with
            self._refuse(f"{kind}: this worker is not configured (no run)", "NotConfigured", header.get("sample"))
            return True
        try:
            if kind == "probe":
                to, size = header["to"], header["bytes"]
                if to == self.tier or to not in self.manifest.tiers:
                    raise ValueError(f"probe.to = {to!r}: expected another tier of the plan ({self.manifest.tiers})")
                if size > self.max_message:
                    raise ValueError(f"probe.bytes = {size}: more than the largest message ({self.max_message})")
                self._send({"kind": "probe_data", "probe": header["probe"]}, bytes(size), to)
            elif kind == "probe_data":
                self._report({"kind": "probed", "probe": header["probe"], "hops": header.get("hops", [])})
            elif kind == "input":
                plan = self._plan(header)
                if self.tier != plan.source:
                    raise TensorMismatch(f"sample {header['sample']}: input sent to tier {self.tier!r}, the "
                                         f"source is {plan.source!r}")
                header.update(kind="tensor", partition=1, t0=proto.now())
                self._send(header, payload, plan.partition(1).tier)
            elif kind == "tensor":
                self._compute(header, payload)
            elif kind == "result":
                header.update(kind="done", t_end=proto.now())
                for field in ("src", "dst", "t_send", "hold_until"):
                    header.pop(field, None)
                self._report(header)
        except Exception as exc:  # noqa: BLE001 - a faulty peer's message: refused by name, the worker serves on
            self._refuse(str(exc), type(exc).__name__, header.get("sample"))
        return True

    def _hold(self, header: dict, payload: bytes) -> None:
        due = header.pop("hold_until")
        if self.config is None:
            self._refuse(f"{header['kind']}: this worker is not configured (no run)", "NotConfigured",
                         header.get("sample"))
        elif len(self.held) >= MAX_HELD:
            self._refuse(f"hold_until: {MAX_HELD} messages already held (at most {MAX_HELD})", "Malformed",
                         header.get("sample"))
        elif self.held_bytes + len(payload) > self.held_cap:
            self._refuse(f"hold_until: {self.held_bytes} bytes already held, {len(payload)} more exceed "
                         f"{self.held_cap}", "Malformed", header.get("sample"))
        else:
            self.seq += 1
            self.held_bytes += len(payload)
            heapq.heappush(self.held, (float(due), self.seq, header, payload))

    def serve(self) -> int:
        if self.announce:
            self._report({"kind": "hello", "endpoint": self.endpoint, "pid": os.getpid()})
        heard = time.monotonic()
        try:
            while True:
                if self.idle_timeout and time.monotonic() - heard > self.idle_timeout:
                    self._log(f"no word from a driver for {self.idle_timeout:g} s, stopping")
                    return 3
                if self.held and self.held[0][0] - proto.now() <= proto.SPIN:
                    due, _, header, payload = heapq.heappop(self.held)
                    self.held_bytes -= len(payload)
                    proto.sleep_until(due)
                    peer = None
                elif self.local:
                    header, payload = self.local.popleft()
                    peer = None
                else:
                    wait = 0.1 if not self.held else max(0.0, self.held[0][0] - proto.now() - proto.SPIN)
                    got = receive_or_refuse(self.inbox, "worker", timeout_ms=max(0, min(100, int(wait * 1000))),
                                            refuse=self._refuse, admit=self._admit)
                    if got is None:
                        continue
                    header, payload, peer = got
                    if header["kind"] in ("ping", "config", "input", "stop", "end", "probe"):
                        heard = time.monotonic()
                    if "hold_until" in header:
                        self._hold(header, payload)
                        continue
                if not self._handle(header, payload, peer):
                    return 0
        finally:
            self._stop.set()
            self._hb.join(2.0)
            self.out.close()
            self.inbox.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="eepart worker", description="Serve one tier's partitions of an "
                                "exported plan; a driver (eepart run) configures it and sends the samples.")
    from .arguments import add_worker_arguments
    add_worker_arguments(p)
    return run(p.parse_args(argv))


def _identity(a, manifest):
    """(Identity or None for --insecure, the driver's key or None); ValueError naming the option."""
    if getattr(a, "keys_stdin", False):
        raw = sys.stdin.buffer.read(MAX_STDIN + 1)
        if len(raw) > MAX_STDIN:
            raise ValueError("--keys-stdin: more than 64 KiB on stdin")
        try:
            d = json.loads(raw)
        except ValueError:
            raise ValueError("--keys-stdin: stdin is not the JSON the driver writes") from None
        if d is None:
            return None, None
        ident = security.Identity.from_wire(d)
        driver = d.get("driver")
        return ident, (security.check_key(driver, "keys.driver") if driver is not None else None)
    if a.insecure:
        if a.key or a.allow:
            raise ValueError("--insecure with --key/--allow: choose one")
        return None, None
    if not a.key:
        raise ValueError("no --key: a worker serves only peers it can authenticate; give --key FILE.key_secret "
                         "--allow KEYS (see `eepart keys`), or --insecure to serve anyone who can reach the port, "
                         "unauthenticated and unencrypted")
    if not a.allow:
        raise ValueError("--key without --allow: give the public keys (files or a folder) of the driver and the "
                         "other workers")
    return security.Identity.from_files(a.key, a.allow), None


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
        ident, driver_key = _identity(a, manifest)
    except ValueError as exc:
        print(f"eepart worker: error: {exc}", file=sys.stderr)
        return 2
    try:
        w = Worker(a.tier, a.bind, a.artifacts, a.announce, a.idle_timeout, ident, driver_key,
                   getattr(a, "once", False), manifest)
    except AddressError as exc:
        print(f"eepart worker: error: --bind {a.bind!r}: {exc.reason}", file=sys.stderr)
        return 2
    if not a.announce:
        mode = "" if ident is not None else f" ({security.INSECURE})"
        print(f"worker {a.tier}{mode} listening on {w.endpoint}", flush=True)
    try:
        return w.serve()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
