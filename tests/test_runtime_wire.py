"""The runtime's wire (issue 19 items 1-3): the header schema, workers and the link emulator that survive any
message, bounded resources, CURVE authentication and encryption, and workers that serve run after run.

Every process runs on 127.0.0.1 with a tiny deployment built by onnx.helper (tests/_tiny_deploy.py, no
torch); every wait is bounded and every process started here is killed at the end.
"""
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
pytest.importorskip("onnxruntime", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
zmq = pytest.importorskip("zmq", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eepart_fast.runtime import (  # noqa: E402
    RunFailed,
    load_manifest,
    run_local,
    schema,  # noqa: E402
)
from eepart_fast.runtime.schema import Malformed  # noqa: E402

from _tiny_deploy import images, make_deploy, start_worker, stop, topology_dict  # noqa: E402

WAIT = 20.0  # s: the bound on any one wait for a process's answer


@pytest.fixture(scope="module")
def deploy(tmp_path_factory):
    return make_deploy(tmp_path_factory.mktemp("wire") / "d")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """keys/driver, keys/device, keys/cloud (public .key and secret .key_secret), made by `eepart keys`."""
    from eepart_fast.cli import main
    folder = tmp_path_factory.mktemp("keys")
    for name in ("driver", "device", "cloud"):
        assert main(["keys", "--out", str(folder / name)]) == 0
    return folder


def env():
    import eepart_fast
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(eepart_fast.__file__).resolve().parents[1]),
                                                        os.environ.get("PYTHONPATH", "")]))


class FakeDriver:
    """A PULL socket on 127.0.0.1 standing in for a driver: what a worker or the emulator reports to it."""

    def __init__(self, ctx):
        self.sock = ctx.socket(zmq.PULL)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind("tcp://127.0.0.1:*")
        self.addr = self.sock.getsockopt(zmq.LAST_ENDPOINT).decode()

    def expect(self, kind, where=lambda h: True):
        """The next message of `kind` for which where(header) holds (others are skipped); bounded by WAIT."""
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            if self.sock.poll(100):
                frames = self.sock.recv_multipart()
                header = json.loads(frames[0])
                if header["kind"] == kind and where(header):
                    return header
        raise AssertionError(f"no {kind!r} message within {WAIT} s")


def push(ctx, addr, curve=None, monitored=False):
    """A PUSH socket connected to addr; monitored: (socket, its monitor), the monitor attached before connect."""
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SNDTIMEO, 5000)
    if curve:
        public, secret, server = curve
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = public.encode(), secret.encode(), server.encode()
    mon = s.get_monitor_socket() if monitored else None
    s.connect(addr)
    return (s, mon) if monitored else s


def raw(sock, header, payload=b""):
    sock.send_multipart([header if isinstance(header, bytes) else json.dumps(header).encode(), payload])


def config(deploy, driver, heartbeat=0.05, **extra):
    m = load_manifest(deploy)
    cfg = {"kind": "config", "driver": driver, "peers": {t: "tcp://127.0.0.1:9" for t in m.tiers}, "via": None,
           "ratio": 1.0, "clock": "none", "checksums": {str(k): v for k, v in m.checksums().items()},
           "heartbeat": heartbeat}
    cfg.update(extra)
    return cfg


def stderr_until(p, needle):
    """A process's stderr lines until one holds `needle` (bounded by WAIT; what was read is returned)."""
    import select
    fd = p.stderr.fileno()  # raw reads: a buffered readline could hold the next line where select cannot see it
    data, end = b"", time.monotonic() + WAIT
    while needle.encode() not in data and time.monotonic() < end:
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


def threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def rss_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- the schema, without processes ------------------------------------------------------------------------

@pytest.mark.parametrize("data,needle", [
    (b"[" * 100_000 + b"]" * 100_000, "header of 200000 bytes: more than 65536"),
    (b"[" * 30_000 + b"]" * 30_000, "nested 30000 deep"),
    (b'{"kind": "ping", "a": ' + b"[" * 6 + b"]" * 6 + b"}", "nested 7 deep"),
    (b'{"kind": "ping", "x": "' + b"a" * 70_000 + b'"}', "header of 70025 bytes"),
    (b'{"kind": "config", "ratio": NaN}', "NaN is not a number"),
    (b'{"kind": "tensor", "hold_until": ' + b"9" * 400 + b"}", "integer of 400 digits"),
    (b'["kind"]', "expected a JSON object, got list"),
    (b'{"kind": 5}', "header.kind = 5"),
    (b"\xff\xfe", "not JSON"),
])
def test_headers_are_bounded_before_json(data, needle):
    with pytest.raises(Malformed, match=needle):
        schema.parse(data)


def test_nesting_is_counted_outside_strings_only():
    assert schema.nesting(b'{"a": "[[[[[[[[", "b": "\\"[[[[", "c": [[1]]}') == 3
    assert schema.nesting(b'{"a": "x\\\\", "b": [[[]]]}') == 4  # an escaped backslash ends the string
    rng = np.random.default_rng(0)
    for _ in range(200):  # random documents: the count agrees with the parsed structure
        def build(d):
            if d == 0 or rng.random() < 0.3:
                return str(rng.choice(["[", "]", "{", '"', "\\", "x"], 4).tolist())
            return [build(d - 1) for _ in range(int(rng.integers(0, 3)))] if rng.random() < 0.5 else \
                {str(i): build(d - 1) for i in range(int(rng.integers(0, 3)))}
        doc = build(int(rng.integers(0, 6)))

        def depth(v):
            return 1 + max([depth(x) for x in (v.values() if isinstance(v, dict) else v)], default=0) \
                if isinstance(v, (list, dict)) else 0
        assert schema.nesting(json.dumps(doc).encode()) == depth(doc)
    for _ in range(500):  # the quick path (no backslash, few brackets) agrees with the vectorised one
        s = bytes(rng.choice(list(b'[]{}"ab'), int(rng.integers(0, 400))).tolist())
        assert schema.nesting(s) == schema.nesting(s + b"\\"), s


@pytest.mark.parametrize("edit,needle", [
    (lambda c: c.pop("driver"), "config: field 'driver' missing"),
    (lambda c: c.update(checksums=[]), r"config.checksums = \[\]: expected an object"),
    (lambda c: c.update(checksums=None), "config.checksums = None: expected an object"),
    (lambda c: c.update(checksums="x"), "config.checksums = 'x'"),
    (lambda c: c.update(checksums=1), "config.checksums = 1"),
    (lambda c: c.update(checksums={"1": "abc"}), r"config.checksums\['1'\] = 'abc': expected a sha256"),
    (lambda c: c.update(ratio=0), r"config.ratio = 0: expected a finite number in \(0, 1e\+06\]"),
    (lambda c: c.update(ratio=1e300), "config.ratio = 1e[+]300"),
    (lambda c: c.update(heartbeat=0), r"config.heartbeat = 0: expected a finite number in \[0.01, 10\]"),
    (lambda c: c.update(clock="fast"), "config.clock = 'fast'"),
    (lambda c: c.update(peers={"edge": "bogus"}), r"config.peers\['edge'\] = 'bogus': expected a ZeroMQ address"),
    (lambda c: c.update(extra=1), "config: field 'extra' is not one it has"),
])
def test_config_fields_are_refused_by_name(deploy, edit, needle):
    cfg = config(deploy, "tcp://127.0.0.1:5600")
    schema.check(dict(cfg), "worker")
    edit(cfg)
    with pytest.raises(Malformed, match=needle):
        schema.check(cfg, "worker")


@pytest.mark.parametrize("field,value,needle", [
    ("hold_until", 25 * 86400, "tensor.hold_until = .*: expected a finite time within 3600 s"),
    ("hold_until", 1e300, "tensor.hold_until = 1e[+]300"),
    ("hops", "x", "tensor.hops = 'x': expected a list"),
    ("hops", [{"kind": "compute", "start": [1]}], r"tensor.hops\[0\].start = \[1\]"),
    ("hops", [{"kind": "teleport"}], r"tensor.hops\[0\].kind = 'teleport'"),
    ("partition", 0, r"tensor.partition = 0: expected an integer in \[1, 16\]"),
    ("sample", True, "tensor.sample = True"),
    ("t0", "now", "tensor.t0 = 'now'"),
])
def test_tensor_fields_are_refused_by_name(field, value, needle):
    now = time.time()
    h = {"kind": "tensor", "sample": 1, "partition": 1, "t0": now, "hold_until": now + 1}
    schema.check(dict(h), "worker")
    h[field] = value + now if field == "hold_until" and value < 1e10 else value
    with pytest.raises(Malformed, match=needle):
        schema.check(h, "worker")


# --- a worker survives any message -------------------------------------------------------------------------

MALFORMED = [  # (frames, what the worker's refusal names)
    ([b"[" * 30_000 + b"]" * 30_000, b""], "nested 30000 deep"),
    ([b'{"kind": "config", "ratio": NaN}', b""], "NaN is not a number"),
    (["tensor", {"hold_until": "+25d"}], "tensor.hold_until"),
    (["tensor", {"hold_until": 1e300}], "tensor.hold_until = 1e[+]300"),
    ([b'{"kind": "tensor", "sample": 1, "partition": 1, "t0": 1e9, "hold_until": 1' + b"0" * 400 + b"}", b""],
     "integer of 401 digits"),
    (["tensor", {"hops": 7}], "tensor.hops = 7: expected a list"),
    (["config", {"checksums": []}], r"config.checksums = \[\]"),
    (["config", {"checksums": None}], "config.checksums = None"),
    (["config", {"driver": None}], "config.driver = None"),
    (["config", {"ratio": -1}], "config.ratio = -1"),
    (["config", {"heartbeat": 0}], "config.heartbeat = 0"),
    ([b'{"kind": "stop"}', b"", b"extra"], "message of 3 frames"),
    ([b'{"kind": "teleport"}', b""], "kind = 'teleport': not a message a worker takes"),
    ([b'{"kind": "stop"}', b"payload"], "stop: payload of 7 bytes"),
    (["tensor", {"partition": 2}, b"\0" * 12], "payload of 12 bytes"),  # schema-valid, wrong tensor size
]


def frames_of(case, deploy, driver):
    frames, _ = case
    if isinstance(frames[0], bytes):
        return frames
    kind, edit = frames[0], frames[1]
    now = time.time()
    if kind == "config":
        h = config(deploy, driver)
    else:
        h = {"kind": "tensor", "sample": 5, "partition": 1, "t0": now}
    for k, v in edit.items():
        h[k] = now + 25 * 86400 if v == "+25d" else v
    if kind == "config" and "driver" in edit and edit["driver"] is None:
        h["driver"] = None
    return [json.dumps(h).encode(), frames[2] if len(frames) > 2 else b""]


def test_a_configured_worker_refuses_each_malformed_message_by_name_and_serves_on(deploy):
    ctx = zmq.Context()
    p = None
    try:
        driver = FakeDriver(ctx)
        p, addr = start_worker("cloud", deploy, "--insecure", env=env())
        s = push(ctx, addr)
        raw(s, config(deploy, driver.addr))
        driver.expect("ready")
        driver.expect("heartbeat")
        base_threads = threads(p.pid)
        for n, case in enumerate(MALFORMED, 1):
            for frame in frames_of(case, deploy, driver.addr)[:-1]:
                s.send(frame, zmq.SNDMORE)
            s.send(frames_of(case, deploy, driver.addr)[-1])
            err = driver.expect("error")
            assert err["tier"] == "cloud" and err["refused"] == n, err
            import re
            assert re.search(case[1], err["message"]), (case[1], err)
            assert p.poll() is None
        # Still serving: configured again (ten times), heartbeats name the refusals, one heartbeat thread.
        for _ in range(10):
            raw(s, config(deploy, driver.addr))
            driver.expect("ready")
        beat = driver.expect("heartbeat", lambda h: h.get("refused") == len(MALFORMED))
        assert beat["busy"] is None
        assert threads(p.pid) == base_threads
        # A frame larger than the manifest's largest tensor (or a header) never reaches the worker.
        # (ZeroMQ drops the connection that sent it; the worker serves the next one.)
        raw(s, {"kind": "ping"}, b"\0" * (schema.MAX_HEADER + 1))
        s2 = push(ctx, addr)  # (a socket closed with linger 0 drops what it has not sent: keep it open)
        raw(s2, {"kind": "stop"})
        assert p.wait(WAIT) == 0
        assert "refused message" not in p.stderr.read()
    finally:
        if p is not None:
            stop([p])
        ctx.destroy(0)


def test_an_unconfigured_worker_logs_refusals_holds_nothing_and_serves_on(deploy):
    ctx = zmq.Context()
    p = None
    try:
        p, addr = start_worker("cloud", deploy, "--insecure", env=env())
        s = push(ctx, addr)
        rss0 = rss_kib(p.pid)
        now = time.time()
        # Held messages from an unconfigured peer: refused, not kept (this was 6 x 64 MiB kept: 36 -> 421 MiB).
        for i in range(6):
            raw(s, {"kind": "tensor", "sample": i, "partition": 2, "t0": now, "hold_until": now + 3000},
                b"\0" * schema.MAX_HEADER)
        raw(s, {"kind": "config", "peers": {}})  # no driver, checksums, ...: refused by name
        raw(s, b"[" * 30_000 + b"]" * 30_000)  # this ended a worker before any configuration (exit 2)
        driver = FakeDriver(ctx)
        raw(s, config(deploy, driver.addr))  # then a driver: the worker still serves
        driver.expect("ready")
        # The configuration loads the partitions' onnxruntime sessions (35-40 MiB here, more on a loaded
        # machine); what was held before is the hundreds of MiB this bounds.
        assert rss_kib(p.pid) < rss0 + 96 * 1024
        raw(s, {"kind": "stop"})
        assert p.wait(WAIT) == 0
        err = p.stderr.read()
        assert "refused message #6: NotConfigured: tensor: this worker is not configured" in err, err
        assert "refused message #7: Malformed: config: field 'driver' missing" in err, err
        assert "refused message #8: Malformed: header nested 30000 deep" in err, err
    finally:
        if p is not None:
            stop([p])
        ctx.destroy(0)


def test_held_messages_are_capped_in_bytes(deploy):
    ctx = zmq.Context()
    p = None
    try:
        driver = FakeDriver(ctx)
        p, addr = start_worker("cloud", deploy, "--insecure", env=env())
        s = push(ctx, addr)
        raw(s, config(deploy, driver.addr))
        driver.expect("ready")
        rss0 = rss_kib(p.pid)
        now = time.time()
        # 300 x 64 KiB held for 50 minutes: the first 16 MiB are held, the rest refused by name.
        for i in range(300):
            raw(s, {"kind": "tensor", "sample": i, "partition": 2, "t0": now, "hold_until": now + 3000},
                b"\0" * schema.MAX_HEADER)
        err = driver.expect("error")
        assert "hold_until: 16777216 bytes already held" in err["message"], err
        assert err["sample"] == 256
        driver.expect("heartbeat", lambda h: h.get("refused") == 44)
        assert rss_kib(p.pid) < rss0 + 48 * 1024
        assert p.poll() is None
    finally:
        if p is not None:
            stop([p])
        ctx.destroy(0)


def test_held_messages_are_capped_in_count(deploy):
    ctx = zmq.Context()
    p = None
    try:
        driver = FakeDriver(ctx)
        p, addr = start_worker("cloud", deploy, "--insecure", env=env())
        s = push(ctx, addr)
        raw(s, config(deploy, driver.addr))
        driver.expect("ready")
        now = time.time()
        for i in range(1100):
            raw(s, {"kind": "tensor", "sample": i, "partition": 2, "t0": now, "hold_until": now + 3000},
                b"\0" * 16)
        err = driver.expect("error")
        assert err["message"] == "hold_until: 1024 messages already held (at most 1024)" and err["sample"] == 1024
        driver.expect("heartbeat", lambda h: h.get("refused") == 76)
        assert p.poll() is None
    finally:
        if p is not None:
            stop([p])
        ctx.destroy(0)


def test_a_partition_that_onnxruntime_cannot_load_is_a_run_failed_naming_tier_and_file(deploy, tmp_path):
    import shutil

    from eepart_fast.runtime.manifest import sha256_file
    bad = tmp_path / "bad"
    shutil.copytree(deploy, bad)
    (bad / "part-2.onnx").write_bytes(b"\x08\x07 not a protobuf at all")
    data = json.loads((bad / "manifest.json").read_text())
    data["partitions"][1]["sha256"] = sha256_file(bad / "part-2.onnx")  # the checksum matches the damage
    (bad / "manifest.json").write_text(json.dumps(data))
    x, y = images()
    with pytest.raises(RunFailed, match=r"tier 'cloud' refused: LoadFailed: tier 'cloud' cannot load partition 2 "
                                        r"from part-2.onnx: ") as info:
        run_local(bad, topology_dict(), x, y, timeout=5.0, clock="none", startup_timeout=WAIT)
    assert info.value.tier == "cloud"


def test_a_deeply_nested_message_to_the_driver_is_run_failed(deploy):
    """Authenticated (the driver's own key) yet malformed: 30,000 levels of nesting, under the frame cap."""
    x, y = images()

    ctx = zmq.Context()
    socks = []

    def hook(done, control):
        if done == 1:
            me = control._run.ident
            socks.append(push(ctx, control._run.addr, (me.public, me.secret, me.public)))
            socks[-1].send_multipart([b"[" * 30_000 + b"]" * 30_000, b""])

    try:
        with pytest.raises(RunFailed, match="malformed message: header nested 30000 deep"):
            run_local(deploy, topology_dict(), x, y, timeout=5.0, clock="none", hook=hook)
    finally:
        ctx.destroy(0)


# --- the link emulator ------------------------------------------------------------------------------------

def start_netem(driver_addr, token="t" * 24):
    p = subprocess.Popen([sys.executable, "-m", "eepart_fast.runtime.netem", "--bind", "tcp://127.0.0.1:*",
                          "--announce", driver_addr, "--topology", json.dumps(topology_dict()),
                          "--idle-timeout", "30"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env())
    p.stdin.write(json.dumps({"token": token, "keys": None, "driver": None}).encode())
    p.stdin.close()
    return p


def test_the_link_emulator_survives_malformed_messages_and_takes_control_from_its_driver_only(tmp_path):
    ctx = zmq.Context()
    p = None
    try:
        driver = FakeDriver(ctx)
        p = start_netem(driver.addr)
        hello = driver.expect("hello")
        s = push(ctx, hello["endpoint"])
        now = time.time()
        cases = [([b"[" * 30_000 + b"]" * 30_000, b""], "Malformed", "nested 30000 deep"),
                 ([b'{"kind": "tensor", "src": "device", "dst": "cloud", "t_send": "now"}', b""], "Malformed",
                  "tensor: field 'sample' missing"),
                 ([json.dumps({"kind": "tensor", "sample": 1, "partition": 1, "t0": now, "src": "device",
                               "dst": "mars", "t_send": now}).encode(), b""], "ValueError", "dst = 'mars'"),
                 ([json.dumps({"kind": "config", "peers": {"cloud": "tcp://127.0.0.1:9"},
                               "token": "x" * 24}).encode(), b""], "NotDriver", "not from this emulator's driver"),
                 ([json.dumps({"kind": "stall", "link": "device-cloud"}).encode(), b""], "Malformed",
                  "stall: field 'token' missing"),
                 ([json.dumps({"kind": "stall", "link": "nowhere", "token": "t" * 24}).encode(), b""],
                  "ValueError", "stall.link = 'nowhere': no such link"),
                 ([json.dumps({"kind": "stop", "token": "x" * 24}).encode(), b""], "NotDriver", "not from")]
        for n, (frames, error, needle) in enumerate(cases, 1):
            s.send_multipart(frames)
            err = driver.expect("error")
            assert err["tier"] == "netem" and err["error"] == error and needle in err["message"], err
            assert err["refused"] == n
        driver.expect("heartbeat", lambda h: h.get("refused") == len(cases))
        assert p.poll() is None
        raw(s, {"kind": "config", "peers": {"device": "tcp://127.0.0.1:9"}, "token": "t" * 24})
        driver.expect("ready")
        raw(s, {"kind": "stop", "token": "t" * 24})
        assert p.wait(WAIT) == 0
    finally:
        if p is not None:
            stop([p])
        ctx.destroy(0)


def test_the_link_emulator_checks_its_topology():
    from eepart_fast.runtime.netem import LinkEmulator
    for topo, needle in [({"names": ["a", "b"], "ratio": [1, 1], "bandwidth": [0], "latency": [0]},
                          r"topology.bandwidth\[0\] = 0: expected a finite number > 0"),
                         ({"names": ["a", "a"], "bandwidth": [1], "latency": [0]}, "distinct tier names"),
                         ({"names": ["a", "b"], "bandwidth": [1], "latency": [float("nan")]},
                          r"topology.latency\[0\] = nan"),
                         ({"names": ["a", "b"], "path_latency": [[0, 1]], "path_inv_bandwidth": [[0, 1], [1, 0]]},
                          "topology.path_latency: expected 2 rows")]:
        with pytest.raises(ValueError, match=needle):
            LinkEmulator(topo)


# --- keys and CURVE ---------------------------------------------------------------------------------------

def test_keys_are_written_atomically_with_a_private_secret(keys, tmp_path, capsys):
    from eepart_fast.cli import main
    from eepart_fast.runtime.security import load_allowed, load_secret
    assert stat.S_IMODE((keys / "driver.key_secret").stat().st_mode) == 0o600
    assert stat.S_IMODE((keys / "driver.key").stat().st_mode) == 0o644
    public, secret = load_secret(keys / "driver.key_secret")
    assert load_allowed([keys])[public] == "driver" and sorted(load_allowed([keys]).values()) == ["cloud", "device",
                                                                                                  "driver"]
    import zmq.auth
    assert zmq.auth.load_certificate(keys / "driver.key_secret") == (public.encode(), secret.encode())
    capsys.readouterr()
    assert main(["keys", "--out", str(tmp_path / "k")]) == 0
    out = capsys.readouterr().out.split()
    assert out == [load_secret(tmp_path / "k.key_secret")[0]]
    assert main(["keys", "--out", str(tmp_path / "k")]) == 2
    assert "exists (--overwrite to replace it)" in capsys.readouterr().err
    assert sorted(f.name for f in tmp_path.iterdir()) == ["k.key", "k.key_secret"]  # no temporary left
    os.chmod(tmp_path / "k.key_secret", 0o644)
    with pytest.raises(ValueError, match="readable by others; chmod 600"):
        load_secret(tmp_path / "k.key_secret")


def test_keys_command_registers_without_zmq():
    code = ("import sys; sys.modules['zmq'] = None; import argparse; from eepart_fast.cli.runtime import "
            "add_subcommands; p = argparse.ArgumentParser(); add_subcommands(p.add_subparsers()); "
            "a = p.parse_args(['keys', '--out', 'x']); print(a.out)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env())
    assert r.returncode == 0 and r.stdout.strip() == "x", r.stderr


def test_a_worker_without_keys_refuses_to_start(deploy, keys, capsys):
    from eepart_fast.cli import main
    base = ["worker", "--tier", "cloud", "--bind", "tcp://127.0.0.1:*", "--artifacts", str(deploy)]
    for extra, needle in [([], "no --key: a worker serves only peers it can authenticate"),
                          (["--key", str(keys / "cloud.key_secret")], "--key without --allow"),
                          (["--key", str(keys / "cloud.key"), "--allow", str(keys)], "holds no secret-key"),
                          (["--insecure", "--key", str(keys / "cloud.key_secret")], "--insecure with --key")]:
        assert main(base + extra) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, err


def wait_for_handshake_failure(pair):
    """True once ZeroMQ reports that the peer refused the handshake of a push(..., monitored=True) socket
    (bounded by WAIT); False when it succeeded or nothing was heard."""
    sock, mon = pair
    try:
        from zmq.utils.monitor import recv_monitor_message
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            if mon.poll(100):
                ev = recv_monitor_message(mon)["event"]
                if ev in (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                          zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_DISCONNECTED):
                    return True
                if ev == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    return False
        return False
    finally:
        sock.disable_monitor()
        mon.close(0)


def secure_worker(tier, deploy, keys, *extra):
    return start_worker(tier, deploy, "--key", keys / f"{tier}.key_secret", "--allow", keys, *extra, env=env())


def test_secure_end_to_end_with_two_remote_workers_run_after_run(deploy, keys, tmp_path, capsys):
    """The documented setup: `eepart keys` for the driver and each tier, `eepart worker --key --allow` for each,
    `eepart run --worker TIER=ADDR --key --allow`; an unauthenticated stop and a peer with a key outside the
    allow-list get no connection; the workers serve a second run (emulated links) and stay up after it."""
    from eepart_fast.cli import main
    from eepart_fast.runtime.security import load_secret
    ctx = zmq.Context()
    procs = []
    try:
        dev, dev_addr = secure_worker("device", deploy, keys)
        procs.append(dev)
        cloud, cloud_addr = secure_worker("cloud", deploy, keys)
        procs.append(cloud)
        # An unauthenticated peer's stop, and a CURVE peer whose key is not allowed: refused at the handshake.
        plain = push(ctx, dev_addr, monitored=True)
        raw(plain[0], {"kind": "stop"})
        assert wait_for_handshake_failure(plain)
        stranger = zmq.curve_keypair()
        other = push(ctx, cloud_addr, (stranger[0].decode(), stranger[1].decode(), load_secret(
            keys / "cloud.key_secret")[0]), monitored=True)
        raw(other[0], {"kind": "stop"})
        assert wait_for_handshake_failure(other)
        x, y = images()
        np.savez(tmp_path / "s.npz", x=x, y=y)
        (tmp_path / "t.json").write_text(json.dumps(topology_dict()))
        argv = ["run", "--deploy", str(deploy), "--images", str(tmp_path / "s.npz"), "--topology",
                str(tmp_path / "t.json"), "--samples", "4", "--worker", f"device={dev_addr}", "--worker",
                f"cloud={cloud_addr}", "--no-progress", "--clock", "none", "--summary", str(tmp_path / "s.json")]
        assert main(argv) == 2
        assert "remote workers are reached with keys" in capsys.readouterr().err
        secure = ["--key", str(keys / "driver.key_secret"), "--allow", str(keys)]
        assert main(argv + secure + ["--no-emulation"]) == 0
        out = capsys.readouterr().out
        assert "4 samples, closed loop" in out and "accuracy 1.0000" in out, out
        assert json.loads((tmp_path / "s.json").read_text())["settings"]["security"] == "curve"
        assert dev.poll() is None and cloud.poll() is None  # the driver left them running
        assert main(argv + secure) == 0  # again, through the link emulator (started here, with the driver's key)
        assert "4 samples, closed loop" in capsys.readouterr().out
        assert dev.poll() is None and cloud.poll() is None
        # A third run, the device tier started here (with the driver's key, which the remote cloud allows).
        result = run_local(deploy, topology_dict(), x, y, remote={"cloud": cloud_addr}, clock="none",
                           key=keys / "driver.key_secret", allow=[keys / "device.key", keys / "cloud.key"])
        assert [r["prediction"] for r in result.records] == [0, 2, 0, 2]
        assert dev.poll() is None and cloud.poll() is None
    finally:
        stop(procs)
        ctx.destroy(0)


def test_a_forged_done_to_a_secure_driver_is_not_recorded(deploy):
    ctx = zmq.Context()
    x, y = images()
    forged = {}

    def hook(done, control):
        if done == 1 and not forged:
            s = push(ctx, control._run.addr, monitored=True)
            raw(s[0], {"kind": "done", "tier": "device", "sample": 1, "partition": 1, "t0": time.time(),
                    "exit_partition": 1, "exit_block": 1, "prediction": 1, "t_end": time.time() + 1})
            raw(s[0], {"kind": "error", "tier": "cloud", "error": "Forged", "message": "abort the run"})
            forged["refused"] = wait_for_handshake_failure(s)
            s[0].close(0)

    try:
        result = run_local(deploy, topology_dict(), x, y, timeout=10.0, clock="none", hook=hook)
    finally:
        ctx.destroy(0)
    assert forged["refused"]
    assert [(r["exit_partition"], r["prediction"]) for r in result.records] == [(1, 0), (2, 2), (1, 0), (2, 2)]
    assert result.settings["security"] == "curve" and not any("insecure" in r for r in result.records)


def test_an_insecure_run_says_so_in_its_records_and_errors(deploy):
    x, y = images()
    result = run_local(deploy, topology_dict(), x, y, timeout=10.0, clock="none", insecure=True)
    assert result.settings["security"] == "insecure" and all(r["insecure"] for r in result.records)

    def bad(done, control):
        if done == 1:
            control.send("cloud", {"kind": "tensor", "sample": 9, "partition": 5, "t0": time.time()})

    with pytest.raises(RunFailed, match=r"tier 'cloud' refused: TensorMismatch: .*\[INSECURE: no authentication"):
        run_local(deploy, topology_dict(), x, y, timeout=10.0, clock="none", insecure=True, hook=bad)


def test_the_wire_fuzz_part_loses_no_process(tmp_path):
    """tools/fuzz.py's wire part for a few seconds: random and mutated messages to a live worker, link
    emulator and driver; none is lost and the worker stays under 2x its idle RSS."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from fuzz_wire import fuzz_wire
    line, failures = fuzz_wire(time.monotonic() + 6.0, 1, tmp_path)
    assert failures == [], (line, failures)
    assert "worker" in line and ", 0 lost" in line and "0 other" in line, line


def test_a_secure_worker_ignores_an_insecure_driver_which_says_what_to_check(deploy, keys):
    p = None
    try:
        p, addr = secure_worker("cloud", deploy, keys)
        x, y = images()
        # (refused at its handshake: the configuration waits in this driver's queue, or finds none)
        with pytest.raises(RunFailed, match=r"(tiers \['cloud'\] were not ready within 3 s|tier 'cloud' takes no "
                                            r"configuration: .*) \(remote \['cloud'\]: running, reachable, "
                                            r"started with --insecure too\?\)"):
            run_local(deploy, topology_dict(), x, y, remote={"cloud": addr}, insecure=True, startup_timeout=3.0,
                      emulate=False, clock="none")
        assert p.poll() is None
    finally:
        if p is not None:
            stop([p])


def test_tier_names_the_wire_cannot_carry_are_refused_before_the_run(tmp_path):
    from eepart_fast.runtime import ManifestError
    long = ("d" * 129, "cloud")
    d = make_deploy(tmp_path / "d", tiers=long, source=long[0], destination=long[0])
    x, y = images()
    with pytest.raises(ManifestError, match="a tier name on the wire is at most 128 printable characters"):
        run_local(d, topology_dict(long), x, y, clock="none")


def test_a_workers_key_may_send_samples_but_not_control(deploy, keys):
    """cloud.key is allowed (the device worker sends it samples) but named after a tier: its config and stop
    are refused; the driver's key (named after no tier) stops it."""
    from eepart_fast.runtime.security import load_secret
    ctx = zmq.Context()
    p = None
    try:
        p, addr = secure_worker("device", deploy, keys)
        server = load_secret(keys / "device.key_secret")[0]
        cloud = push(ctx, addr, (*load_secret(keys / "cloud.key_secret"), server))
        raw(cloud, config(deploy, "tcp://127.0.0.1:9"))
        raw(cloud, {"kind": "stop"})
        err = stderr_until(p, "refused message #2")  # both handled (then the driver's stop, on its own connection)
        assert "refused message #1: NotDriver: config: from the key of tier 'cloud'" in err, err
        assert "refused message #2: NotDriver: stop: from the key of tier 'cloud'" in err, err
        assert p.poll() is None
        driver = push(ctx, addr, (*load_secret(keys / "driver.key_secret"), server))
        raw(driver, {"kind": "stop"})
        assert p.wait(WAIT) == 0
    finally:
        if p is not None:
            stop([p])
        ctx.destroy(0)
