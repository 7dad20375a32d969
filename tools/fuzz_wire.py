"""The wire's fuzz part (tools/fuzz.py --parts wire): random and mutated messages against live processes on
127.0.0.1 — a worker (unconfigured, then configured by this process acting as its driver), the link
emulator, and the driver's receiving side — for a fixed time and message budget.

What must hold: no worker or emulator dies (each refuses what is malformed and serves on: it still answers
a configuration at the end); a worker's RSS after the run stays under 2x its idle RSS; the driver ends a run
with RunFailed or a result, never another exception. Every case comes from a seeded generator: the same
--seed replays the same messages. Needs the runtime extra (pyzmq, onnx, onnxruntime).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TOKEN = "fuzz-token-0123456789abcdef"
WAIT = 20.0  # s: the bound on any one wait for a process


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- messages ---------------------------------------------------------------------------------------------

WEIRD = [0, -1, 1, 1.5, -0.0, 1e300, -1e300, 5e-324, 2**53, 2**63, 2**64 + 1, True, False, None, "", "x" * 300,
         "tcp://127.0.0.1:1", "device", "cloud", "netem", [], {}, [[[]]], {"a": {"b": {"c": {}}}}, [1, 2, 3],
         {"kind": "compute"}, "\u0000", "\ud7ff" * 3]
RAW = [b"NaN", b"Infinity", b"-Infinity", b"1" + b"0" * 400, b"1e400", b"-1e400", b"[" * 6 + b"]" * 6,
       b'"\\ud800"', b"1" * 19, b"0.1e-400", b'"' + b"\\" * 7 + b'"']


def templates(role: str, now: float, m, sink: str, driver: str, rng) -> list:
    """Valid (header, payload) messages a `role` takes, for the tiny deployment `m`."""
    img = np.zeros((1, 1, 2, 2), np.float32).tobytes()
    checks = {str(k): v for k, v in m.checksums().items()}
    peers = {t: sink for t in m.tiers}
    hop = {"kind": "compute", "tier": "device", "partition": 1, "start": now, "end": now, "cpu": 0.0}
    tensor = {"kind": "tensor", "sample": int(rng.integers(0, 1000)), "label": 0, "partition": int(rng.integers(1, 3)),
              "t0": now, "hops": [hop]}
    result = {**tensor, "kind": "result", "partition": 2, "exit_partition": 2, "exit_block": 2, "prediction": 1}
    if role == "worker":
        cfg = {"kind": "config", "driver": driver, "peers": peers, "via": None, "ratio": 1.0, "clock": "none",
               "checksums": checks, "heartbeat": 0.05}
        return [(cfg, b""), ({"kind": "ping"}, b""),
                ({"kind": "input", "sample": int(rng.integers(0, 1000)), "label": 1, "t_app": now}, img),
                (tensor, img), ({**tensor, "hold_until": now + float(rng.uniform(-5, 60))}, img), (result, img)]
    # netem: control carries the run's token; samples carry their route
    route = {"src": str(rng.choice(m.tiers)), "dst": str(rng.choice(m.tiers)), "t_send": now}
    return [({"kind": "config", "peers": peers, "token": TOKEN}, b""), ({"kind": "ping", "token": TOKEN}, b""),
            ({"kind": "stall", "link": str(rng.choice(["device-cloud", "cloud-device", "x"])), "token": TOKEN}, b""),
            ({**tensor, **route}, img), ({**result, **route}, img)]


def mutate(header: dict, payload: bytes, rng) -> list:
    """Frames of a message: the valid one, or one of many ways of breaking it."""
    h = json.loads(json.dumps(header))
    op = int(rng.integers(0, 14))
    raw = None
    keys = [k for k in h if k != "kind"]
    if op == 1 and keys:
        h.pop(str(rng.choice(keys)))
    elif op == 2 and keys:
        h[str(rng.choice(keys))] = WEIRD[int(rng.integers(len(WEIRD)))]
    elif op == 3:
        h[str(rng.choice(["extra", "hold_until", "hops", "tier", "token", "keys", "src"]))] = \
            WEIRD[int(rng.integers(len(WEIRD)))]
    elif op == 4 and keys:
        h[str(rng.choice(keys))] = "__RAW__"
        raw = RAW[int(rng.integers(len(RAW)))]
    elif op == 5:
        h["kind"] = str(rng.choice(["config", "tensor", "result", "input", "ping", "hello", "done", "error",
                                    "heartbeat", "ready", "stall", "teleport", "", "STOP"]))
    elif op == 6 and isinstance(h.get("hops"), list) and h["hops"]:
        h["hops"][0][str(rng.choice(["start", "kind", "x" * 40]))] = WEIRD[int(rng.integers(len(WEIRD)))]
    elif op == 7:
        payload = bytes(int(rng.choice([0, 1, 12, 15, 17, 4096, 65536])))
    text = json.dumps(h, separators=(",", ":")).encode()
    if raw is not None:
        text = text.replace(b'"__RAW__"', raw)
    if op == 8:  # bytes of the header: truncated, flipped, or an insertion
        cut = int(rng.integers(0, len(text) + 1))
        how = int(rng.integers(3))
        if how == 0:
            text = text[:cut]
        elif how == 1 and text:
            b = bytearray(text)
            b[min(cut, len(b) - 1)] ^= int(rng.integers(1, 256))
            text = bytes(b)
        else:
            text = text[:cut] + bytes(rng.choice([b"[", b"{", b"\\", b'"', b"\x00", b"\xff", b"]"])) + text[cut:]
    elif op == 9:
        depth = int(rng.choice([6, 100, 1000, 30_000]))
        text = b'{"kind":"ping","a":' + b"[" * depth + b"]" * depth + b"}"
    elif op == 10:
        text = rng.bytes(int(rng.integers(0, 200)))
    elif op == 11:
        return [text] if rng.random() < 0.5 else [text, payload, b"extra"]
    elif op == 12:
        text = b'{"kind":"ping","s":"' + b"a" * int(rng.choice([1000, 60_000, 70_000])) + b'"}'
    if b"stop" in text.lower():  # a valid stop ends the process by design: not a finding
        text = text.lower().replace(b"stop", b"spot")
    text = text.replace(b'"kind":"end"', b'"kind":"eend"')  # nor is an end (it closes the run)
    return [text, payload]


# --- the processes ----------------------------------------------------------------------------------------

class Harness:
    def __init__(self, workdir: Path):
        import zmq

        from eepart_fast.runtime import load_manifest

        from _tiny_deploy import make_deploy
        self.zmq = zmq
        self.deploy = make_deploy(workdir / "deploy")
        self.m = load_manifest(self.deploy)
        self.ctx = zmq.Context()
        self.driver = self._pull()
        self.sink = self._pull()
        self.procs = []
        self.spare = []

    def _pull(self):
        s = self.ctx.socket(self.zmq.PULL)
        s.setsockopt(self.zmq.LINGER, 0)
        s.bind("tcp://127.0.0.1:*")
        return s

    @staticmethod
    def addr(sock) -> str:
        import zmq
        return sock.getsockopt(zmq.LAST_ENDPOINT).decode()

    def push(self, addr: str):
        s = self.ctx.socket(self.zmq.PUSH)
        s.setsockopt(self.zmq.LINGER, 0)
        s.setsockopt(self.zmq.SNDTIMEO, 2000)
        s.connect(addr)
        return s

    def env(self):
        import eepart_fast
        return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
            [str(Path(eepart_fast.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]))

    def start_worker(self, tier: str):
        p = subprocess.Popen([sys.executable, "-m", "eepart_fast.cli", "worker", "--tier", tier, "--bind",
                              "tcp://127.0.0.1:*", "--artifacts", str(self.deploy), "--insecure", "--idle-timeout",
                              "120"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                             text=True, env=self.env())
        self.procs.append(p)
        line = p.stdout.readline()
        if " listening on " not in line:
            raise RuntimeError(f"worker {tier} did not start (exit {p.poll()})")
        return p, line.split()[-1]

    def start_netem(self):
        from _tiny_deploy import topology_dict
        p = subprocess.Popen([sys.executable, "-m", "eepart_fast.runtime.netem", "--bind", "tcp://127.0.0.1:*",
                              "--announce", self.addr(self.driver), "--topology", json.dumps(topology_dict()),
                              "--idle-timeout", "120"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=self.env())
        self.procs.append(p)
        p.stdin.write(json.dumps({"token": TOKEN, "keys": None, "driver": None}).encode())
        p.stdin.close()
        return p, self.expect("hello", lambda h: h.get("tier") == "netem")["endpoint"]

    def drain(self) -> None:
        for s in (self.sink, self.driver):
            for _ in range(10_000):
                if not s.poll(0):
                    break
                s.recv_multipart()

    def expect(self, kind, where=lambda h: True, sock=None) -> dict:
        sock = self.driver if sock is None else sock
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            self.drain_sink()
            if sock.poll(50):
                frames = sock.recv_multipart()
                try:
                    h = json.loads(frames[0])
                except ValueError:
                    continue
                if isinstance(h, dict) and h.get("kind") == kind and where(h):
                    return h
        raise TimeoutError(f"no {kind!r} message within {WAIT:g} s")

    def drain_sink(self) -> None:
        for _ in range(1000):
            if not self.sink.poll(0):
                return
            self.sink.recv_multipart()

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass
            if p.stdout:
                p.stdout.close()
        self.ctx.destroy(0)


def _blast(h: Harness, sock, role: str, deadline: float, rng, max_messages: int, proc, marker: list,
           ready=lambda x: True, after=None, sync_every: int = 100, target: str = "") -> tuple:
    """Random and mutated messages on `sock` until the deadline or the count: (messages sent, answered). Every
    `sync_every` messages a valid configuration (`marker`, then `after` if given) follows on the same
    connection and its `ready` is awaited, so the process has handled (nearly) all that was sent: the count is
    of messages taken, not queued. answered is False when no ready came within WAIT (a hung process).
    A frame over the receiver's cap goes on a connection of its own (`big`): ZeroMQ drops the connection
    that sends one, with whatever it still held (the marker among them)."""
    from eepart_fast.runtime.schema import MAX_HEADER
    sent = 0
    big_sock = h.push(target) if target else sock
    while time.monotonic() < deadline and sent < max_messages and proc.poll() is None:
        options = templates(role, time.time(), h.m, h.addr(h.sink), h.addr(h.driver), rng)
        header, payload = options[int(rng.integers(len(options)))]
        frames = mutate(header, payload, rng)
        big = max(len(f) for f in frames) > MAX_HEADER
        try:
            (big_sock if big else sock).send_multipart(frames, flags=h.zmq.NOBLOCK if big else 0)
        except h.zmq.Again:  # its queue is full: let it catch up
            h.drain()
            continue
        sent += 1
        if sent % sync_every == 0:
            h.drain()
            sock.send_multipart(marker)
            try:
                h.expect("ready", ready)
            except TimeoutError:
                h.spare.append(big_sock)
                return sent, False
            if after:
                sock.send_multipart(after)
    h.drain()
    h.spare.append(big_sock)  # closed with the harness (closing a socket mid-reconnect has aborted libzmq)
    return sent, True


def _worker_part(h: Harness, deadline: float, rng) -> dict:
    p, addr = h.start_worker("cloud")
    ctl = h.push(addr)
    cfg, _ = templates("worker", time.time(), h.m, h.addr(h.sink), h.addr(h.driver), rng)[0]
    ctl.send_multipart([json.dumps(cfg).encode(), b""])
    h.expect("ready")
    time.sleep(0.5)
    idle = _rss_kib(p.pid)  # configured (onnxruntime loaded) and idle
    ctl.send_multipart([b'{"kind":"end"}', b""])  # the run is over: unconfigured, serving on
    marker, end = [json.dumps(cfg).encode(), b""], [b'{"kind":"end"}', b""]
    n, alive = _blast(h, ctl, "worker", min(deadline, time.monotonic() + (deadline - time.monotonic()) / 3), rng,
                      100_000, p, marker, after=end, target=addr)
    if alive:  # configured by us again: the refusals come back as errors, samples go to the sink
        ctl.send_multipart(marker)
        h.expect("ready")
        more, alive = _blast(h, ctl, "worker", deadline, rng, 1_000_000, p, marker, target=addr)
        n += more
    # still serving: it takes a new configuration after every message before it, and answers
    alive = alive and p.poll() is None
    refused = None
    if alive:
        ctl.send_multipart([json.dumps(cfg).encode(), b""])
        try:
            h.expect("ready")
            refused = h.expect("heartbeat")["refused"]
        except TimeoutError:
            alive = False
    rss = _rss_kib(p.pid)
    ctl.close(0)
    lost = 0 if alive and p.poll() is None else 1
    code = p.poll()
    p.kill()  # its heartbeats must not be taken for the next part's
    p.wait(10)
    h.drain()
    return {"sent": n, "lost": lost, "idle_kib": idle, "after_kib": rss, "refused": refused, "exit": code}


def _raw_tcp(addr: str, rng, deadline: float, n: int) -> int:
    """Raw TCP to a ZeroMQ port: random bytes, or a ZMTP 3.0 greeting (NULL mechanism) and a PUSH READY
    followed by frames that claim up to 2^64 - 1 bytes. Returns the connections made."""
    import socket
    import struct
    host, port = addr.rsplit("/", 1)[-1].rsplit(":", 1)
    greeting = b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" + b"\0" * 31
    props = b"\x0bSocket-Type" + struct.pack(">I", 4) + b"PUSH"
    ready = b"\x04" + bytes([len(b"\x05READY" + props)]) + b"\x05READY" + props
    made = 0
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        kind = int(rng.integers(3))
        if kind == 0:
            data = rng.bytes(int(rng.integers(1, 300)))
        else:
            sizes = [2**64 - 1, 2**63, 2**31, 70_000, 65_536, 10]
            size = sizes[int(rng.integers(len(sizes)))]
            data = greeting + ready + b"\x02" + struct.pack(">Q", size) + rng.bytes(int(rng.integers(0, 64)))
            if kind == 2:
                data = data[:int(rng.integers(1, len(data)))]
        try:
            with socket.create_connection((host, int(port)), timeout=2) as c:
                c.sendall(data)
            made += 1
        except OSError:
            pass
    return made


def _secure_part(h: Harness, deadline: float, rng) -> dict:
    """A worker with keys: unauthenticated messages (NULL mechanism), a CURVE peer whose key is not allowed,
    and raw TCP get no connection; it must be alive after, take its driver's configuration, and have refused
    nothing (nothing reached it)."""
    import zmq

    from eepart_fast.runtime.security import load_secret, write_keypair
    keys = h.deploy.parent / "keys"
    keys.mkdir(exist_ok=True)
    for name in ("driver", "cloud"):
        write_keypair(keys / name, overwrite=True)
    p = subprocess.Popen([sys.executable, "-m", "eepart_fast.cli", "worker", "--tier", "cloud", "--bind",
                          "tcp://127.0.0.1:*", "--artifacts", str(h.deploy), "--key", str(keys / "cloud.key_secret"),
                          "--allow", str(keys), "--idle-timeout", "120"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, env=h.env())
    h.procs.append(p)
    line = p.stdout.readline()
    if " listening on " not in line:
        raise RuntimeError(f"the secure worker did not start (exit {p.poll()})")
    addr = line.split()[-1]
    stranger = zmq.curve_keypair()
    other = h.ctx.socket(zmq.PUSH)
    other.setsockopt(zmq.LINGER, 0)
    other.curve_publickey, other.curve_secretkey = stranger
    other.curve_serverkey = load_secret(keys / "cloud.key_secret")[0].encode()
    other.connect(addr)
    plain = h.push(addr)
    h.spare += [other, plain]
    sent = 0
    half = time.monotonic() + (deadline - time.monotonic()) / 2
    while time.monotonic() < half and p.poll() is None:
        options = templates("worker", time.time(), h.m, h.addr(h.sink), h.addr(h.driver), rng)
        header, payload = options[int(rng.integers(len(options)))]
        frames = mutate(header, payload, rng)
        if rng.random() < 0.2:  # the unmutated stop, too: it must have no effect
            frames = [b'{"kind":"stop"}', b""]
        for sock in (plain, other):
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK)
                sent += 1
            except zmq.Again:
                pass
    raw = _raw_tcp(addr, rng, deadline, 500)
    # the driver, with its key: configured, and nothing was refused (nothing got through); its inbox is a
    # CURVE server too (the worker reports only to the key that configured it)
    public, secret = load_secret(keys / "driver.key_secret")
    inbox = h.ctx.socket(zmq.PULL)
    inbox.setsockopt(zmq.LINGER, 0)
    inbox.curve_secretkey, inbox.curve_publickey, inbox.curve_server = secret.encode(), public.encode(), True
    inbox.bind("tcp://127.0.0.1:*")
    h.spare.append(inbox)
    drv = h.ctx.socket(zmq.PUSH)
    drv.setsockopt(zmq.LINGER, 0)
    drv.curve_publickey, drv.curve_secretkey = public.encode(), secret.encode()
    drv.curve_serverkey = load_secret(keys / "cloud.key_secret")[0].encode()
    drv.connect(addr)
    h.spare.append(drv)
    refused, alive = None, p.poll() is None
    if alive:
        cfg, _ = templates("worker", time.time(), h.m, h.addr(h.sink), h.addr(inbox), rng)[0]
        cfg["keys"] = {"device": public}  # where its results would go: a key it allows
        drv.send_multipart([json.dumps(cfg).encode(), b""])
        try:
            h.expect("ready", sock=inbox)
            refused = h.expect("heartbeat", sock=inbox)["refused"]
        except TimeoutError:
            alive = False
    lost, code = (0 if alive and p.poll() is None else 1), p.poll()
    p.kill()
    p.wait(10)
    h.drain()
    return {"sent": sent, "raw": raw, "lost": lost, "refused": refused, "exit": code}


def _netem_part(h: Harness, deadline: float, rng) -> dict:
    p, addr = h.start_netem()
    ctl = h.push(addr)
    ctl.send_multipart([json.dumps({"kind": "config", "peers": {t: h.addr(h.sink) for t in h.m.tiers},
                                    "token": TOKEN}).encode(), b""])
    h.expect("ready", lambda x: x.get("tier") == "netem")
    idle = _rss_kib(p.pid)
    marker = [json.dumps({"kind": "config", "peers": {t: h.addr(h.sink) for t in h.m.tiers},
                          "token": TOKEN}).encode(), b""]
    n, alive = _blast(h, ctl, "netem", deadline, rng, 1_000_000, p, marker, lambda x: x.get("tier") == "netem",
                      target=addr)
    alive = alive and p.poll() is None
    if alive:
        ctl.send_multipart([json.dumps({"kind": "config", "peers": {"device": h.addr(h.sink)},
                                        "token": TOKEN}).encode(), b""])
        try:
            h.expect("ready", lambda x: x.get("tier") == "netem")
        except TimeoutError:
            alive = False
    rss = _rss_kib(p.pid)
    ctl.close(0)
    return {"sent": n, "lost": 0 if alive and p.poll() is None else 1, "idle_kib": idle, "after_kib": rss,
            "exit": p.poll()}


def _driver_part(h: Harness, deadline: float, rng) -> dict:
    """The driver's receiving side, in this process: every message ends in a header or RunFailed."""
    from eepart_fast.model.topology import Topology
    from eepart_fast.runtime.driver import _Run
    from eepart_fast.runtime.errors import RunFailed
    from eepart_fast.runtime.netem import topology_dict
    topo = topology_dict(Topology.chain(["device", "cloud"], [1.0, 1.0], [1e9], [1e-4]))
    run = _Run(h.m, topo, "none", 5.0, 1.0, {}, True, "tcp://127.0.0.1:*", 10.0, insecure=True)
    run.pending = {i: time.time() for i in range(1000)}
    sock = h.push(run.addr)
    sent = failed = 0
    other = []
    try:
        while time.monotonic() < deadline:
            now = time.time()
            hop = {"kind": "compute", "tier": "cloud", "start": now, "end": now}
            done = {"kind": "done", "tier": "device", "sample": int(rng.integers(0, 1200)), "partition": 2, "t0": now,
                    "exit_partition": 2, "exit_block": 2, "prediction": 1, "t_end": now, "hops": [hop]}
            options = [done, {"kind": "heartbeat", "tier": "cloud", "busy": None, "since": None, "last": None},
                       {"kind": "heartbeat", "tier": "netem", "in_flight": [], "stalled": []},
                       {"kind": "ready", "tier": "cloud"}, {"kind": "hello", "tier": "cloud",
                                                            "endpoint": "tcp://127.0.0.1:1", "pid": 1},
                       {"kind": "error", "tier": "cloud", "error": "X", "message": "m"}]
            frames = mutate(options[int(rng.integers(len(options)))], b"", rng)
            sock.send_multipart(frames)
            sent += 1
            try:
                for _ in range(3):
                    if run._recv(100) is not None or not run.inbox.poll(timeout_ms=0):
                        break
            except RunFailed:
                failed += 1
            except Exception as exc:  # noqa: BLE001 - any other exception is the finding
                other.append(f"{type(exc).__name__}: {exc} <- {frames[0][:120]!r}")
    finally:
        sock.close(0)
        run.stop()
    return {"sent": sent, "run_failed": failed, "other": other[:5], "n_other": len(other)}


def fuzz_wire(deadline: float, base_seed: int, workdir: Path) -> tuple:
    """(summary line, failures) of the wire part: worker 35 %, a secure worker 10 %, link emulator 25 %,
    driver 30 % of the time."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import zmq  # noqa: F401
    except ImportError as exc:
        return f"wire: skipped ({exc.name} not installed: pip install 'eepart_fast[runtime]')", []
    rng = np.random.default_rng(base_seed)
    start = time.monotonic()
    total = max(1.0, deadline - start)
    h = Harness(workdir)
    failures = []
    try:
        w = _worker_part(h, start + 0.35 * total, rng)
        sec = _secure_part(h, start + 0.45 * total, rng)
        n = _netem_part(h, start + 0.70 * total, rng)
        d = _driver_part(h, deadline, rng)
    finally:
        h.close()
    for name, part in (("worker", w), ("link emulator", n)):
        if part["lost"]:
            failures.append(f"wire: the {name} was lost (exit {part['exit']}) after {part['sent']} messages; "
                            f"replay: python tools/fuzz.py --parts wire --seed {base_seed}")
        if part["after_kib"] >= 2 * part["idle_kib"]:
            failures.append(f"wire: the {name}'s RSS grew from {part['idle_kib']} to {part['after_kib']} KiB "
                            f"(2x its idle size or more)")
    if sec["lost"]:
        failures.append(f"wire: the secure worker was lost (exit {sec['exit']}) after {sec['sent']} "
                        f"unauthenticated messages and {sec['raw']} raw connections")
    elif sec["refused"] != 0:
        failures.append(f"wire: {sec['refused']} unauthenticated messages reached the secure worker")
    if d["n_other"]:
        failures.append(f"wire: the driver raised other than RunFailed {d['n_other']} times: {d['other']}")
    line = (f"wire: worker {w['sent']} messages, {w['lost']} lost, RSS {w['idle_kib'] / 1024:.0f} -> "
            f"{w['after_kib'] / 1024:.0f} MiB, {w['refused']} refused; secure worker {sec['sent']} "
            f"unauthenticated messages + {sec['raw']} raw TCP connections, {sec['lost']} lost, "
            f"{sec['refused']} reached it; link emulator {n['sent']} messages, "
            f"{n['lost']} lost, RSS {n['idle_kib'] / 1024:.0f} -> {n['after_kib'] / 1024:.0f} MiB; driver "
            f"{d['sent']} messages, {d['run_failed']} RunFailed, {d['n_other']} other")
    return line, failures


if __name__ == "__main__":
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        line, fails = fuzz_wire(time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 30), 0, Path(tmp))
    print(line)
    for f in fails:
        print("FAIL", f)
    sys.exit(1 if fails else 0)
