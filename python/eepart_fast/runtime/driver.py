"""The driver: starts (or reaches) one worker per tier and the link emulator, streams samples from the
source tier, collects per-sample records, and stops the run with a named error when something fails.

    result = run_local("deploy/", Topology.load("t.yaml"), images, labels, mode="closed")  # then keyword-only
    result.summary()  # mean, p50, p99 latency (s), accuracy, exit fractions

Per-sample record: sample, label, prediction, correct, exit_partition, exit_block, latency (s, from the
source worker taking the sample to the destination worker receiving its result: what the model
predicts), app_latency (the driver's own round trip, local hops included), hops (each link crossed:
enter/start/sent/arrive, bits, transfer and propagation; each partition computed: start/end, cpu,
wall, target), t_sent; and error, only for a sample that failed: "non-finite logits at partition k"
(its logits held NaN or infinities; prediction None, correct False, exit_partition where it stopped).
"""
from __future__ import annotations

import json
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..model.topology import Topology
from . import protocol as proto
from . import security
from .adapt import Switcher
from .errors import AddressError, Malformed, ManifestError, RunFailed, TransportError
from .manifest import load_manifest
from .netem import link_ids, resolve_traces, topology_dict
from .network import open_transport
from .schema import MAX_NAME
from .trace import load_trace

MODES = ("closed", "open")


@dataclass
class RunResult:
    """What `run_local` returns: the per-sample records and the run's settings.

    Parameters
    ----------
    records : list of dict
        One per sample, sorted by sample (fields in the module's docstring).
    settings : dict, optional
        mode, rate, clock, emulate, timeout, security, partitions, tiers, threshold, load_average.

    Examples
    --------
    >>> from eepart_fast.runtime import RunResult
    >>> r = RunResult([{"sample": 0, "latency": 0.002, "exit_partition": 1, "correct": True}],
    ...               {"partitions": 2})
    >>> r.summary()["accuracy"], r.summary()["exit_fraction"]
    (1.0, [1.0, 0.0])
    """
    records: list
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The records' summary (see `summarize`)."""
        return summarize(self.records, partitions=self.settings.get("partitions", 0))


def summarize(records: list, partitions: int = 0) -> dict:
    """samples, latency mean/p50/p99/max (s), exit_fraction per partition (1..max(partitions, last exit)),
    accuracy (when every record has `correct`), errors and error_fraction (when a sample failed)."""
    if not records:
        return {"samples": 0}
    lat = np.array([r["latency"] for r in records])
    exits = np.array([r["exit_partition"] for r in records])
    failed = np.array([bool(r.get("error")) for r in records])
    L = max(partitions, int(exits.max()))
    # A failed sample (non-finite logits) stopped at its partition but did not exit there: exit fractions
    # count only samples that exited, so they sum to 1 - error_fraction.
    out = {"samples": len(records), "mean": float(lat.mean()), "p50": float(np.percentile(lat, 50)),
           "p99": float(np.percentile(lat, 99)), "max": float(lat.max()),
           "exit_fraction": [float(((exits == k) & ~failed).mean()) for k in range(1, L + 1)]}
    if failed.any():
        out["errors"] = int(failed.sum())
        out["error_fraction"] = float(failed.mean())
    if all(r.get("correct") is not None for r in records):
        out["accuracy"] = float(np.mean([r["correct"] for r in records]))
    return out


class _Control:
    """What a fault-injection hook may do during a run (tests): kill a tier's worker, stall a link."""

    def __init__(self, run):
        self._run = run

    def kill(self, tier: str) -> None:
        self._run.procs[tier].kill()

    def stall(self, link: str) -> None:
        run = self._run
        run.out.send(run.netem, {"kind": "stall", "link": link, "token": run.token}, key=run.keys.get("netem"))

    def pause(self, tier: str) -> None:
        """SIGSTOP the tier's worker: alive but silent (the driver kills it when the run ends)."""
        os.kill(self._run.procs[tier].pid, signal.SIGSTOP)

    def send(self, tier: str, header: dict, payload: bytes = b"") -> None:
        """A raw message to a tier's worker, as a faulty peer would send it."""
        self._run.out.send(self._run.peers[tier], header, payload, key=self._run.keys.get(tier))


class _Run:
    def __init__(self, manifest, topology: dict, clock: str, timeout: float, heartbeat_timeout: float,
                 remote: dict, emulate: bool, bind: str, startup_timeout: float, service: dict | None = None,
                 advertise: str | None = None, ident: security.Identity | None = None, insecure: bool = False,
                 traces: dict | None = None, trace_speed: float = 1.0):
        self.service = service
        self.traces, self.trace_speed = traces, trace_speed  # {link index: {kind: file}} for the emulator
        self.m, self.topology, self.clock, self.timeout = manifest, topology, clock, timeout
        self.hb_timeout, self.remote, self.emulate = heartbeat_timeout, remote, emulate
        self.startup_timeout = startup_timeout
        self.insecure = insecure
        self.token = secrets.token_urlsafe(24)  # the link emulator takes control messages carrying it only
        self.keys, self.children = {}, {}       # name -> public key of its process; name -> a child's Identity
        self.ident = None if insecure else self._identities(ident)
        try:
            self.inbox = open_transport(bind, identity=self.ident)
        except AddressError as exc:
            raise AddressError(f"bind = {bind!r}: {exc.reason} (expected e.g. tcp://127.0.0.1:*)", bind,
                               exc.reason) from None
        self.addr = advertise or self.inbox.endpoint
        self.out = self.inbox.sender()
        self.procs, self.peers, self.beats, self.seen = {}, {}, {}, {}
        self.netem = None
        self.done, self.pending, self.records = {}, {}, []
        self.last_ping = 0.0
        self.sink = None
        self.switcher = None     # adapt.Switcher of a deployed table, when the run adapts
        self.link_ids = ()       # the table's link, both directions (its hops feed the switcher)
        self.probes = 0
        self.sample_observations = 0  # observations the samples' own crossings gave (probes not counted)
        self.probe_out = None    # (probe number, time sent) of the probe not yet reported

    # --- processes --------------------------------------------------------------------------------

    def _identities(self, ident):
        """Keys for this run: the driver's (its files, or made for this run), each process it starts (made for
        this run; the driver's own when it has key files, so that remote workers know them), and each
        remote worker's (the allow-list key named as its tier)."""
        own = ident is not None
        ident = ident or security.Identity.ephemeral()
        by_name = {}
        for key, name in ident.allowed.items():
            by_name.setdefault(name, key)
        for tier, addr in self.remote.items():
            if tier not in by_name:
                raise ValueError(f"--worker {tier}={addr}: no public key named {tier!r} in the allow-list "
                                 f"(expected a file {tier}.key among --allow)")
            self.keys[tier] = by_name[tier]
        local = [t for t in self.m.tiers if t not in self.remote] + (["netem"] if self.emulate else [])
        for name in local:
            child = security.Identity(ident.public, ident.secret) if own else security.Identity.ephemeral()
            self.children[name] = child
            self.keys[name] = child.public
        peers = {key: name for name, key in self.keys.items()}
        peers[ident.public] = "driver"
        for child in self.children.values():
            child.allowed = dict(peers)
        return security.Identity(ident.public, ident.secret, {**ident.allowed, **peers})

    def _spawn(self, name: str, args: list, stdin: dict) -> None:
        env = dict(os.environ)
        pkg_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.setdefault("OMP_NUM_THREADS", "1")
        # stderr to a file, not a pipe: a child that writes while nobody reads never blocks on a full pipe
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        p = subprocess.Popen([sys.executable, "-m", *args], env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=log)
        p.log = log
        self.procs[name] = p
        # Keys and token on stdin: a command line is visible to every user of the host, a pipe is not.
        try:
            p.stdin.write(json.dumps(stdin).encode())
            p.stdin.close()
        except OSError:
            pass  # the child died at once: _check_procs says so

    def _child_keys(self, name: str):
        child = self.children.get(name)
        return None if child is None else child.to_wire()

    def start(self) -> None:
        idle = str(max(10.0, 4 * self.timeout))
        driver_key = None if self.ident is None else self.ident.public
        if self.emulate:
            self._spawn("netem", ["eepart_fast.runtime.netem", "--bind", "tcp://127.0.0.1:*", "--announce", self.addr,
                                  "--topology", json.dumps(self.topology), "--idle-timeout", idle,
                                  "--max-message", str(proto.max_message(self.m)),
                                  *(["--traces", json.dumps(self.traces), "--trace-speed", repr(self.trace_speed)]
                                    if self.traces else [])],
                        {"token": self.token, "keys": self._child_keys("netem"), "driver": driver_key})
        for tier in self.m.tiers:
            if tier in self.remote:
                self.peers[tier] = self.remote[tier]
                continue
            keys = self._child_keys(tier)
            self._spawn(tier, ["eepart_fast.runtime.worker", "--tier", tier, "--bind", "tcp://127.0.0.1:*",
                               "--artifacts", str(self.m.folder), "--announce", self.addr, "--idle-timeout", idle,
                               "--keys-stdin"], None if keys is None else {**keys, "driver": driver_key})
        want = set(self.procs)
        deadline = time.monotonic() + self.startup_timeout
        while want - set(self.peers) - ({"netem"} if self.netem else set()):
            self._check_procs()
            self._ping()
            if time.monotonic() > deadline:
                missing = sorted(want - set(self.peers) - {"netem" if self.netem else ""})
                raise RunFailed(f"workers {missing} did not start within {self.startup_timeout:g} s",
                                tier=missing[0] if missing else None)
            header = self._recv(50)
            if header and header["kind"] == "hello" and header["tier"] in want:
                if header["tier"] == "netem":
                    self.netem = header["endpoint"]
                else:
                    self.peers[header["tier"]] = header["endpoint"]
        checksums = self.m.checksums()
        ratio = dict(zip(self.topology["names"], self.topology["ratio"]))
        secure = {} if self.ident is None else {"keys": dict(self.keys)}
        if self.netem:
            self.out.send(self.netem, {"kind": "config", "peers": self.peers, "token": self.token, **secure},
                          key=self.keys.get("netem"))
        for tier in self.m.tiers:
            try:
                self.out.send(self.peers[tier], {"kind": "config", "driver": self.addr, "peers": self.peers,
                                                 "via": self.netem, "ratio": ratio[tier], "clock": self.clock,
                                                 "checksums": checksums, "heartbeat": 0.1,
                                                 "service": self.service, **secure}, key=self.keys.get(tier))
            except ConnectionError as exc:
                raise RunFailed(f"tier {tier!r} takes no configuration: {exc}{self._hint([tier])}",
                                tier=tier) from None
        ready = set()
        need = set(self.m.tiers) | ({"netem"} if self.netem else set())
        while ready != need:
            self._check_procs()
            self._ping()
            if time.monotonic() > deadline:
                raise RunFailed(f"tiers {sorted(need - ready)} were not ready within {self.startup_timeout:g} s"
                                + self._hint(need - ready), tier=min(need - ready))
            header = self._recv(50)
            if header and header["kind"] == "ready":
                ready.add(header["tier"])
        now = time.monotonic()
        self.beats = {t: now for t in self.m.tiers}

    def _hint(self, tiers) -> str:
        far = sorted(t for t in tiers if t in self.remote)
        keys = ("started with --insecure too" if self.insecure else
                "this driver's public key in their --allow and theirs in this one")
        return f" (remote {far}: running, reachable, {keys}?)" if far else ""

    def stop(self) -> None:
        # The processes this run started stop; remote workers only hear that the run is over and serve on.
        told = [(addr, {"kind": "end" if tier in self.remote else "stop"}, tier) for tier, addr in self.peers.items()]
        if self.netem:
            told.append((self.netem, {"kind": "stop", "token": self.token}, "netem"))
        for addr, header, name in told:
            try:
                self.out.send(addr, header, key=self.keys.get(name), wait=False)  # what takes nothing is killed
            except (TransportError, ValueError):
                pass
        # Only a process that said hello has heard the stop; the others (Ctrl-C during start) are killed at
        # once, and no wait exceeds half a second, so an interrupted run ends within a second.
        told = set(self.peers) | ({"netem"} if self.netem else set())
        deadline = time.monotonic() + 0.5
        for name, p in self.procs.items():
            if name not in told and p.poll() is None:
                p.kill()
            try:
                p.wait(max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(2.0)
            p.log.close()
        self.out.close(linger_ms=500 if self.remote else 0)  # the remote workers' `end` is delivered (bounded)
        self.inbox.close()

    # --- watching ---------------------------------------------------------------------------------

    def _check_procs(self) -> None:
        for name, p in self.procs.items():
            rc = p.poll()
            if rc is not None:
                p.log.seek(max(0, p.log.seek(0, 2) - 4096))
                err = p.log.read().decode(errors="replace").strip().splitlines()[-3:]
                what = "link emulator" if name == "netem" else f"worker for tier {name!r}"
                raise RunFailed(f"{what} (pid {p.pid}) exited with code {rc}"
                                + (f": {' | '.join(err)}" if err else ""), self.records, tier=name)

    def _recv(self, ms: int):
        if not self.inbox.poll(timeout_ms=ms):
            return None
        try:
            got = self.inbox.receive("driver")
        except Malformed as exc:  # a faulty or foreign peer: the run stops by name, never with a traceback
            head = getattr(exc, "header", None) or {}
            tier = head.get("tier") if isinstance(head.get("tier"), str) and len(head["tier"]) <= 64 else None
            what = f"malformed {exc.kind!r} message" if exc.kind else "malformed message"
            raise RunFailed(f"{what}{f' from tier {tier!r}' if tier else ''}: {exc}", self.records,
                            tier=tier) from None
        if got is None:
            return None
        header, _, peer = got
        kind, tier = header["kind"], header["tier"]
        if tier not in self.m.tiers and not (tier == "netem" and self.emulate):
            raise RunFailed(f"{kind!r} message from tier {tier!r}, which is not in this run ({self.m.tiers})",
                            self.records)
        if self.ident is not None and peer != self.keys.get(tier):
            raise RunFailed(f"{kind!r} message from tier {tier!r} signed by another key ({str(peer)[:8]}...)",
                            self.records, tier=tier)
        if kind == "error":
            raise RunFailed(f"tier {tier!r} refused: {header['error']}: {header['message']}", self.records, tier=tier)
        try:
            if kind == "heartbeat":
                self.beats[header["tier"]] = time.monotonic()
                self.seen[header["tier"]] = header
            elif kind == "done":
                self._finish(header)
            elif kind == "probed":
                if self.probe_out is not None and header["probe"] == self.probe_out[0]:
                    self.probe_out = None
                self._observe(header["hops"])
        except (KeyError, TypeError, ValueError) as exc:  # a faulty or foreign peer: stop by name, not a traceback
            tier = header.get("tier")
            raise RunFailed(f"malformed {kind!r} message from tier {tier!r}: {type(exc).__name__}: {exc}",
                            self.records, tier=tier if isinstance(tier, str) else None) from None
        return header

    def _finish(self, h: dict) -> None:
        i = h["sample"]
        if not isinstance(i, int) or i not in self.pending:
            return
        float(h["t_end"]) - float(h["t0"]), int(h["exit_partition"])  # checked before the sample is taken off
        t_sent = self.pending.pop(i)
        label = h.get("label")
        error = h.get("error")  # the sample failed where it stopped (non-finite logits): no prediction
        error = None if error is None else str(error)[:300]
        rec = {"sample": i, "label": label, "prediction": None if error else h["prediction"],
               "correct": None if label is None else bool(not error and h["prediction"] == label),
               "exit_partition": h["exit_partition"], "exit_block": h["exit_block"],
               "latency": h["t_end"] - h["t0"], "app_latency": proto.now() - t_sent, "t_sent": t_sent,
               "hops": h.get("hops", [])}
        if self.m.table is not None:
            rec["plan"] = h.get("plan", 0)
        self.sample_observations += self._observe(rec["hops"])
        if self.insecure:
            rec["insecure"] = True  # unauthenticated and unencrypted: any host that reached a port could forge it
        if error:
            rec["error"] = error
        self.records.append(rec)
        if self.sink:
            self.sink.write(json.dumps(rec) + "\n")
            self.sink.flush()

    def _observe(self, hops: list) -> int:
        """Each crossing of the table's link, as its switcher's observation (see adapt.py); how many."""
        if self.switcher is None:
            return 0
        n = 0
        for hop in hops:
            if hop.get("kind") != "link" or hop.get("link") not in self.link_ids:
                continue
            try:
                if self.switcher.parameter == "bandwidth":
                    transfer = float(hop["sent"]) - float(hop["start"])
                    if transfer > 0:
                        self.switcher.observe(float(hop["bits"]) / transfer, t=float(hop["sent"]))
                        n += 1
                else:
                    self.switcher.observe(float(hop["propagation"]), t=float(hop["arrive"]))
                    n += 1
            except (KeyError, TypeError, ValueError):
                continue  # a hop without its times observes nothing
        return n

    def probe(self, size: int) -> None:
        """Send `size` bytes over the table's link (from its first tier to its second), unless a probe is
        out (one at a time; one unanswered for a second is given up)."""
        if self.probe_out is not None and proto.now() - self.probe_out[1] < 1.0:
            return
        a, b = self.link_ids[0].split("-", 1) if self.link_ids else (None, None)
        if a not in self.peers or b not in self.peers:
            return
        self.probes += 1
        self.probe_out = (self.probes, proto.now())
        self.out.send(self.peers[a], {"kind": "probe", "probe": self.probes, "to": b, "bytes": int(size)},
                      key=self.keys.get(a))

    def _where(self, i: int) -> tuple:
        net = self.seen.get("netem", {})
        for f in net.get("in_flight", []):
            if f.get("sample") == i:
                stalled = " (stalled)" if f["link"] in net.get("stalled", []) else ""
                return f"held on link {f['link']}{stalled}", f["link"].split("-")[0]
        for tier in self.m.tiers:
            s = self.seen.get(tier, {})
            if s.get("busy") == i:
                return f"computing on tier {tier!r}", tier
        sent = [(s["last"]["t"], tier, s["last"]) for tier, s in self.seen.items()
                if tier in self.m.tiers and (s.get("last") or {}).get("sample") == i]
        if sent:
            _, tier, last = max(sent)
            return f"last sent by tier {tier!r} to tier {last['to']!r} as {last['kind']}", last["to"]
        return f"never seen past tier {self.m.source!r}", self.m.source

    def _ping(self) -> None:
        """Tell every worker heard from so far that the driver lives (they stop after --idle-timeout)."""
        t = time.monotonic()
        if t - self.last_ping > 0.5:
            self.last_ping = t
            # Never waited for: a peer that takes nothing is found by its heartbeats or the startup timeout.
            for tier, addr in self.peers.items():
                self.out.send(addr, {"kind": "ping"}, key=self.keys.get(tier), wait=False)
            if self.netem:
                self.out.send(self.netem, {"kind": "ping", "token": self.token}, key=self.keys.get("netem"),
                              wait=False)

    def watch(self, ms: int = 20) -> None:
        """One bounded wait for messages, then every fault check."""
        self._ping()
        end = time.monotonic() + ms / 1000
        for _ in range(10000):
            if self._recv(max(0, int((end - time.monotonic()) * 1000))) is None:
                break
        self._check_procs()
        now = time.monotonic()
        for tier, beat in self.beats.items():
            if now - beat > self.hb_timeout:
                raise RunFailed(f"worker for tier {tier!r} sent no heartbeat for {now - beat:.1f} s "
                                f"(dead, hung or unreachable)", self.records, tier=tier)
        if self.pending:
            i, t_sent = min(self.pending.items(), key=lambda kv: kv[1])
            waited = proto.now() - t_sent
            if waited > self.timeout:
                where, tier = self._where(i)
                raise RunFailed(f"sample {i} has no result after {waited:.1f} s (timeout {self.timeout:g} s); "
                                f"it was {where}", self.records, tier=tier)

    def start_traces(self) -> float:
        """Trace time 0 is now (the first sample): the emulator is told, the driver keeps it for the records."""
        t0 = proto.now()
        if self.netem and self.traces:
            self.out.send(self.netem, {"kind": "start", "t0": t0, "token": self.token}, key=self.keys.get("netem"))
        return t0

    def send(self, i: int, image: np.ndarray, label, plan: int | None = None) -> None:
        header = {"kind": "input", "sample": i, "label": None if label is None else int(label)}
        if plan is not None:
            header["plan"] = plan
        source = self.m.plan(plan or 0).source
        self.pending[i] = proto.now()
        header["t_app"] = self.pending[i]
        self.out.send(self.peers[source], header, np.ascontiguousarray(image).tobytes(), key=self.keys.get(source))


def _policy(m, switch, window, hysteresis, probe_bytes):
    """None (one plan), 'fixed', 'adaptive' or 'oracle'; the arguments refused by name."""
    if m.table is None:
        if switch is not None:
            raise ValueError(f"switch = {switch!r}: this deployment holds one plan, not a table (export_table)")
        return None
    if switch is None or switch == "adaptive":
        policy = "adaptive"
    elif switch == "oracle":
        policy = "oracle"
    elif isinstance(switch, int) and not isinstance(switch, bool):
        m.plan(switch)  # ManifestError naming the plans there are
        policy = "fixed"
    else:
        raise ValueError(f"switch = {switch!r}: expected 'adaptive', 'oracle' or a plan index")
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 10_000:
        raise ValueError(f"window = {window!r}: expected an integer in 1..10000")
    if not (isinstance(hysteresis, (int, float)) and 0 <= hysteresis < 10):
        raise ValueError(f"hysteresis = {hysteresis!r}: expected a relative margin in [0, 10)")
    if probe_bytes is not None and not (isinstance(probe_bytes, int) and 1 <= probe_bytes <= proto.max_message(m)):
        raise ValueError(f"probe_bytes = {probe_bytes!r}: expected 1..{proto.max_message(m)} bytes")
    return policy


def progress_bar(total: int, progress: bool = True, file=None):
    """The samples' progress bar on stderr, or None: only where asked (progress) and stderr is a terminal,
    so a log that is piped or redirected gets no bar (as `eepart sweep` and `study`)."""
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc="samples", mininterval=1.0, file=sys.stderr if file is None else file,
                disable=None)


def run_local(deploy_dir, topology, images, labels=None, *, mode: str = "closed", rate: float | None = None,
              timeout: float = 10.0, clock: str = "cpu", emulate: bool = True, records_path=None,
              remote: dict | None = None, seed: int = 0, heartbeat_timeout: float | None = None,
              startup_timeout: float = 60.0, bind: str = "tcp://127.0.0.1:*", hook=None,
              progress: bool = False, profile=None, advertise: str | None = None, key=None, allow=None,
              insecure: bool = False, traces: dict | None = None, trace_speed: float = 1.0, switch=None,
              window: int = 4, hysteresis: float = 0.05, probe: bool = True,
              probe_bytes: int | None = None) -> RunResult:
    """Run an exported plan on `images` and return the per-sample records.

    Starts one worker per tier and the link emulator on 127.0.0.1 (or uses the `remote` workers already
    running), streams the samples from the source tier and collects each sample's record. Every socket is
    authenticated and encrypted (CURVE): the processes started here get keys made for this run. Each call
    owns its processes, sockets and transport, so calls from several threads may run at once (their
    emulated tiers then share this machine's CPUs, which skews the timings).

    Parameters
    ----------
    deploy_dir : str or Path
        An exported deployment (manifest.json and the partitions' ONNX files, from `eepart export`).
    topology : Topology or dict
        The tiers' speed ratios and the links between them (a Topology, or the dict of netem.topology_dict).
    images : array_like, shape (n, *input_shape)
        The samples, as float32.
    labels : array_like of int, shape (n,), optional
        Their classes; records then say whether each prediction is correct.
    mode : {'closed', 'open'}, keyword-only
        'closed': one sample in flight; 'open': Poisson arrivals at `rate`.
    rate : float, optional, keyword-only
        Arrivals per second (open loop only).
    timeout : float, default 10.0, keyword-only
        Seconds any sample may take; a dead or silent worker stops the run within about max(1, timeout / 2) s.
    clock : {'cpu', 'wall', 'profile', 'none'}, keyword-only
        Compute emulation: ratio x the call's CPU time, ratio x its wall time, ratio x the partition's time
        in `profile` (a fixed service time, e.g. to isolate queueing under open-loop load), or as is.
    emulate : bool, default True, keyword-only
        Send through the link emulator; False sends straight to the workers (real links).
    records_path : str or Path, optional, keyword-only
        JSON lines written as samples finish (kept when the run fails).
    remote : dict of {str: str}, optional, keyword-only
        {tier: address} of workers already running (`eepart worker`) instead of starting them here; they
        keep running after the run.
    seed : int, default 0, keyword-only
        Seed of the open loop's arrival times.
    heartbeat_timeout : float, optional, keyword-only
        Seconds without a worker's heartbeat before the run stops (default max(1, timeout / 2)).
    startup_timeout : float, default 60.0, keyword-only
        Seconds the workers may take to start and load their partitions.
    bind : str, keyword-only
        Where the driver listens (default a free port on 127.0.0.1).
    hook : callable, optional, keyword-only
        ``hook(done, control)``, called after every finished sample (fault injection in tests).
    progress : bool, default False, keyword-only
        A progress bar on stderr (only when it is a terminal).
    profile : Profile, optional, keyword-only
        The profiled times for ``clock='profile'``.
    advertise : str, optional, keyword-only
        The driver's address as workers on other hosts reach it (default: the bound address, which must then
        not be 0.0.0.0).
    key : str or Path, optional, keyword-only
        This driver's secret key file (.key_secret, from `eepart keys`); with `allow`, needed for `remote`.
    allow : list of str or Path, optional, keyword-only
        Public key files or folders: each remote tier's as TIER.key.
    insecure : bool, default False, keyword-only
        No authentication, no encryption: anyone who reaches a port controls the run (records and errors
        say so). Excludes `key` and `allow`.
    traces : dict, optional, keyword-only
        Links whose bandwidth (or delay) follows a trace: {"LINK": file or Trace} for bandwidth,
        {"LINK:latency": ...} for delay; LINK a chain link's index or its tiers "a-b" (runtime/trace.py has
        the CSV). Trace time 0 is the first sample; the topology's value is not used on that link.
    trace_speed : float, default 1.0, keyword-only
        Trace seconds per real second (2.0 replays a trace twice as fast).
    switch : {None, 'adaptive', 'oracle'} or int, keyword-only
        Which plan of a deployed table (`export_table`) each sample runs: 'adaptive' (the default for a
        table) estimates the table's link from the transfers observed and switches plans (adapt.py); an
        int pins that plan; 'oracle' takes the table's plan at the link's true value when the sample is sent
        (needs the link's trace). Records then carry `plan`; settings `switches` (time, sample, estimate, old
        and new plan). Not for a single-plan deployment.
    window : int, default 4, keyword-only
        Observations in the estimator's windowed harmonic mean.
    hysteresis : float, default 0.05, keyword-only
        Relative margin beyond the current plan's intervals before a switch.
    probe : bool, default True, keyword-only
        Adaptive runs: before a sample, when no sample crossed the table's link since the previous sample was
        sent, a probe of `probe_bytes` crosses it (one at a time): a plan that stops using the link would
        otherwise never see it recover.
    probe_bytes : int, optional, keyword-only
        A probe's size (default: one input sample's).

    Returns
    -------
    RunResult
        The records, sorted by sample (see the module for their fields), and the run's settings.

    Raises
    ------
    ManifestError
        A deployment the runtime cannot serve, or whose tiers are not the topology's.
    KeyFileError
        A key file or allow-list that cannot be used.
    ValueError
        An argument out of its range (named), an address that cannot be bound or reached (AddressError).
    RunFailed
        The run stopped early (a worker died or refused a message, a link stalled, a sample timed out); its
        `records` hold every sample finished before.

    Examples
    --------
    >>> from eepart_fast import Topology
    >>> from eepart_fast.runtime import run_local
    >>> result = run_local("deploy/", Topology.preset("mobile"), images, labels,
    ...                    mode="open", rate=50.0)  # doctest: +SKIP
    >>> result.summary()["p99"]  # doctest: +SKIP
    0.0123
    """
    m = load_manifest(deploy_dir)
    topo = topology_dict(topology) if isinstance(topology, Topology) else topology
    odd = [t for t in m.tiers if len(t) > MAX_NAME or not t.isprintable()]
    if odd:
        raise ManifestError(f"tier {odd[0][:40]!r}: a tier name on the wire is at most {MAX_NAME} printable "
                            f"characters ({len(odd[0])} here)")
    unknown = [t for t in m.tiers if t not in topo["names"]]
    if unknown:
        raise ManifestError(f"manifest tier {unknown[0]!r} is not in the topology's tiers {topo['names']}")
    if mode not in MODES:
        raise ValueError(f"mode = {mode!r}: expected one of {MODES}")
    if mode == "open" and not (isinstance(rate, (int, float)) and rate > 0):
        raise ValueError(f"rate = {rate!r}: an open-loop run needs a positive arrival rate (samples/s)")
    if not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
        raise ValueError(f"timeout = {timeout!r}: must be a finite number of seconds > 0 (every wait is bounded)")
    images = np.asarray(images, dtype=np.float32)
    want = (len(images), *m.input_shape)
    if images.ndim != len(want) or tuple(images.shape[1:]) != tuple(m.input_shape):
        raise ValueError(f"images: expected shape (n, {', '.join(map(str, m.input_shape))}), got {images.shape}")
    if len(images) == 0:
        raise ValueError("images: no samples to run (n = 0)")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels: {len(labels)} labels for {len(images)} images")
    service = None
    if clock == "profile":
        if profile is None:
            raise ValueError("clock = 'profile' needs profile= (the Profile whose times the tiers take)")
        if profile.N != m.data["model"].get("N", profile.N):
            raise ValueError(f"profile: N = {profile.N}, the exported network has {m.data['model']['N']} blocks")
        service = {p.file: float(profile.block_time[p.blocks[0] - 1:p.blocks[1]].sum()
                                 + profile.branch_time[p.blocks[1] - 1]) for p in m.all_partitions()}
    elif clock not in ("cpu", "wall", "none"):
        raise ValueError(f"clock = {clock!r}: expected cpu, wall, profile or none")
    hb = heartbeat_timeout if heartbeat_timeout is not None else max(1.0, timeout / 2)
    if insecure and (key is not None or allow is not None):
        raise ValueError("insecure=True with key/allow: choose one")
    if (key is None) != (allow is None):
        raise ValueError("key and allow go together: this driver's .key_secret file and the peers' public keys")
    if remote and key is None and not insecure:
        raise ValueError("remote workers need keys: key= (this driver's .key_secret, from `eepart keys`) and allow= "
                         "(the workers' public keys, TIER.key), or insecure=True to run unauthenticated and "
                         "unencrypted")
    ident = None if key is None else security.Identity.from_files(key, allow)
    policy = _policy(m, switch, window, hysteresis, probe_bytes)
    if policy in ("adaptive", "oracle") and not emulate:
        raise ValueError(f"switch = {policy!r}: the table's link is measured on the link emulator's hops (and an "
                         "oracle reads its trace); with emulate=False pin a plan (switch=INDEX)")
    trace_dir = tempfile.TemporaryDirectory(prefix="eepart-traces-") if traces else None
    try:
        link_traces = resolve_traces(traces, topo, trace_dir.name) if traces else None
        if traces and not emulate:
            raise ValueError("traces: they are replayed by the link emulator; not with emulate=False")
        if not (isinstance(trace_speed, (int, float)) and 0 < trace_speed <= 1e6):
            raise ValueError(f"trace_speed = {trace_speed!r}: expected a number in (0, 1e6]")
        switcher, oracle = None, None
        if policy is not None and policy != "fixed":
            table = m.table
            _, ids = link_ids(topo, table["link"])
            nominal = topo["bandwidth" if table["parameter"] == "bandwidth" else "latency"][table["link"]]
            switcher = Switcher(table, window=window, hysteresis=hysteresis)
            switcher.plan = switcher.plan_at(nominal)
            if policy == "oracle":
                path = (link_traces or {}).get(str(table["link"]), {}).get(table["parameter"])
                if path is None:
                    raise ValueError(f"switch = 'oracle': needs the {table['parameter']} trace of the table's link "
                                     f"{table['link']} (traces=)")
                oracle = load_trace(path, kind=table["parameter"])
        run = _Run(m, topo, clock, timeout, hb, dict(remote or {}), emulate, bind, startup_timeout, service=service,
                   advertise=advertise, ident=ident, insecure=insecure, traces=link_traces, trace_speed=trace_speed)
    except BaseException:
        if trace_dir:
            trace_dir.cleanup()
        raise
    if switcher is not None and oracle is None:
        run.switcher, run.link_ids = switcher, ids
    size = probe_bytes or int(np.prod(m.input_shape)) * 4
    seen = [-1]  # observations from samples when the previous sample was sent

    def choose(i: int):
        if policy is None:
            return None
        if policy == "fixed":
            return int(switch)
        t = proto.now()
        if oracle is not None:
            return switcher.plan_at(oracle.value_at(max(0.0, (t - t_start) * trace_speed)))
        if probe and run.sample_observations == seen[0]:
            run.probe(size)
        seen[0] = run.sample_observations
        return switcher.decide(t=t, sample=i)

    if records_path:
        run.sink = open(records_path, "w")  # noqa: SIM115 (closed in the finally below)
    control = _Control(run)
    try:
        run.start()
        n = len(images)
        rng = np.random.default_rng(seed)
        arrivals = np.cumsum(rng.exponential(1.0 / rate, n)) if mode == "open" else None
        t_start = run.start_traces()
        bar = progress_bar(n, progress)
        for i in range(n):
            label = None if labels is None else labels[i]
            if mode == "closed":
                run.send(i, images[i:i + 1], label, choose(i))
                while i in run.pending:
                    run.watch()
            else:
                while proto.now() - t_start < arrivals[i]:
                    run.watch(max(1, min(20, int((arrivals[i] - (proto.now() - t_start)) * 1000))))
                run.send(i, images[i:i + 1], label, choose(i))
            if bar is not None:
                bar.n = len(run.records)
                bar.refresh()
            if hook is not None:
                hook(len(run.records), control)
        while run.pending:
            run.watch()
            if hook is not None:
                hook(len(run.records), control)
        if bar is not None:
            bar.close()
        settings = {"mode": mode, "rate": rate, "clock": clock, "emulate": emulate, "timeout": timeout,
                    "security": "insecure" if insecure else "curve",
                    "partitions": len(m.partitions), "tiers": m.tiers, "threshold": m.threshold,
                    "load_average": list(os.getloadavg())}
        if link_traces:
            settings.update(traces=link_traces, trace_speed=trace_speed, trace_t0=t_start)
        if policy is not None:
            mean = "harmonic" if m.table["parameter"] == "bandwidth" else "arithmetic"
            settings["adapt"] = {"switch": switch if policy == "fixed" else policy, "link": m.table["link"],
                                 "parameter": m.table["parameter"], "window": window, "hysteresis": hysteresis,
                                 "estimator": f"windowed {mean} mean of the last {window} observations",
                                 "probe": probe, "probe_bytes": size, "probes": run.probes,
                                 "initial_plan": None if switcher is None else
                                 (switcher.switches[0]["old"] if switcher.switches else switcher.plan)}
            settings["switches"] = [] if switcher is None or oracle is not None else list(switcher.switches)
        return RunResult(sorted(run.records, key=lambda r: r["sample"]), settings)
    except RunFailed as exc:
        records = sorted(run.records, key=lambda r: r["sample"])
        if insecure:
            raise RunFailed(f"{exc} [{security.INSECURE}]", records, tier=exc.tier) from None
        exc.records = records
        raise
    finally:
        run.stop()
        if run.sink:
            run.sink.close()
        if trace_dir:
            trace_dir.cleanup()
