"""The runtime end to end on a tiny trained network: export checked against torch, a 3-tier plan served
by worker processes over ZeroMQ with emulated links, faults, and bad input refused by name.

Every socket is on 127.0.0.1; every run is bounded by its timeout and cleans up its processes.
"""
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
pytest.importorskip("onnxruntime", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
pytest.importorskip("onnxscript", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")
pytest.importorskip("zmq", reason="needs the runtime extra: pip install 'eepart_fast[runtime]'")

from eepart_fast import Topology
from eepart_fast.nn import data as D
from eepart_fast.nn.earlyexit import EarlyExitNet
from eepart_fast.nn.resnet_cifar import cifar_resnet
from eepart_fast.nn.train import TrainConfig, train_model
from eepart_fast.runtime import (
    ManifestError,
    RunFailed,
    TensorMismatch,
    load_manifest,
    run_local,
)
from eepart_fast.runtime.executor import (
    PartitionRunner,
    normalised_entropy,
    run_plan_inline,
    tensor_from_bytes,
)
from eepart_fast.runtime.export import PartitionModule, export_partitions
from eepart_fast.runtime.netem import LinkEmulator, topology_dict

pytestmark = [pytest.mark.train, pytest.mark.usefixtures("one_torch_thread")]

TIERS = ["device", "edge", "cloud"]
P = [1, 2, 4]
BANDWIDTH = [200e6, 400e6]    # bit/s: fast enough for CI, slow enough to see (100 kbit tensors: 0.5 ms)
LATENCY = [0.002, 0.003]      # s
RATIO = [3.0, 2.0, 1.0]
N_SAMPLES = 48


@pytest.fixture(scope="module")
def fmnist():
    try:
        return D.load_fashion_mnist(train_limit=512, profile_limit=64, test_limit=N_SAMPLES, seed=0)
    except D.DatasetMissing as exc:
        pytest.skip(f"Fashion-MNIST missing (apt-get install -y dataset-fashion-mnist): {exc}")


@pytest.fixture(scope="module")
def trained(fmnist, tmp_path_factory):
    torch.manual_seed(0)
    net = EarlyExitNet.full(cifar_resnet(8, in_channels=1, classes=10, width=4), (1, 28, 28))
    train_model(net, fmnist.train, TrainConfig(epochs=2, batch_size=32, lr=0.05),
                tmp_path_factory.mktemp("w") / "joint.pt", progress=False, log=lambda m: None)
    return net.eval()


@pytest.fixture(scope="module")
def samples(fmnist):
    x, y = fmnist.test.batch(torch.arange(len(fmnist.test)))
    return x, y


@pytest.fixture(scope="module")
def threshold(trained, samples):
    # A threshold that sends samples out at every partition: the candidate giving the most even split.
    with torch.no_grad():
        outs = trained(samples[0])
    e1, e2 = normalised_entropy(outs[0].numpy()), normalised_entropy(outs[1].numpy())
    best, best_share = None, -1.0
    for t in np.quantile(np.concatenate([e1, e2]), np.linspace(0.05, 0.95, 37)):
        exits = np.where(e1 < t, 1, np.where(e2 < t, 2, 3))
        share = min(np.mean(exits == k) for k in (1, 2, 3))
        if share > best_share:
            best, best_share = float(t), share
    assert best_share * len(e1) >= 3, f"no threshold splits the samples over the three exits ({best_share})"
    return best


@pytest.fixture(scope="module")
def deploy(trained, samples, threshold, tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy")
    plan = {"partitions": P, "tier_names": TIERS, "threshold": threshold, "source": "device",
            "destination": "device"}
    export_partitions(trained, plan, out, (1, 28, 28), {"backbone": "resnet8-w4"}, check=samples[0][:4])
    return out


def topology():
    return Topology.chain(TIERS, RATIO, BANDWIDTH, LATENCY)


@torch.no_grad()
def torch_plan(net, x, threshold):
    """The plan's exits and predictions computed by torch, partition by partition."""
    exits, preds = [], []
    for s in range(len(x)):
        h, prev = x[s:s + 1], 0
        for k, q in enumerate(P, 1):
            out = PartitionModule(list(net.blocks[prev:q]), net.branches[str(q)], k == len(P))(h)
            h, logits = (None, out) if k == len(P) else out
            if k == len(P) or normalised_entropy(logits.numpy())[0] < threshold:
                exits.append(k)
                preds.append(int(logits.argmax()))
                break
            prev = q
    return np.array(exits), np.array(preds)


def test_exported_partitions_match_torch(trained, deploy, samples, threshold):
    m = load_manifest(deploy)
    assert [p.blocks for p in m.partitions] == [(1, 1), (2, 2), (3, 4)]
    assert [p.tier for p in m.partitions] == TIERS and m.threshold == threshold
    assert m.partition(1).inputs[0] == {"name": "x", "shape": [1, 1, 28, 28], "dtype": "float32"}
    assert m.partition(1).output("h")["shape"] == [1, 4, 28, 28] and m.partition(3).output("h") is None
    x = samples[0]
    prev, h = 0, x
    for part in m.partitions:
        runner = PartitionRunner(m, part)
        module = PartitionModule(list(trained.blocks[prev:part.exit]), trained.branches[str(part.exit)], part.last)
        with torch.no_grad():
            ref = module(h)
        ref_h, ref_logits = (None, ref) if part.last else ref
        got_h = []
        for s in range(len(x)):
            values, cpu, wall = runner.run(h[s:s + 1].numpy())
            assert cpu >= 0 and wall > 0
            np.testing.assert_allclose(values["logits"], ref_logits[s:s + 1].numpy(), atol=1e-4, rtol=1e-4)
            if not part.last:
                got_h.append(values["h"])
        if not part.last:
            np.testing.assert_allclose(np.concatenate(got_h), ref_h.numpy(), atol=1e-4, rtol=1e-4)
            h = ref_h
        prev = part.exit
    # The whole plan in one process: the same exits and predictions as torch.
    inline = run_plan_inline(m, x.numpy())
    exits, preds = torch_plan(trained, x, threshold)
    np.testing.assert_array_equal(inline["exit_partition"], exits)
    np.testing.assert_array_equal(inline["prediction"], preds)
    assert set(exits.tolist()) == {1, 2, 3}, "the threshold should send samples out at every partition"


def crossed_links(rec, m):
    """(bits, links) of every route a sample's messages crossed, from the topology (not the records)."""
    names, sizes = TIERS, {}
    for part in m.partitions:
        if not part.last:
            sizes[part.index] = 32 * int(np.prod(part.output("h")["shape"]))
    routes = []
    e = rec["exit_partition"]
    for k in range(1, e):
        routes.append((sizes[k], names.index(m.partition(k).tier), names.index(m.partition(k + 1).tier)))
    routes.append((32 * 10, names.index(m.partition(e).tier), names.index(m.destination)))
    routes = [(b, a, c) for b, a, c in routes if a != c]
    return routes


def min_transfer(routes):
    total = 0.0
    for bits, a, b in routes:
        for j in range(min(a, b), max(a, b)):
            total += bits / BANDWIDTH[j] + LATENCY[j]
    return total


def no_children_with(path):
    """No process is left whose command line names `path` (the workers and the emulator of a run)."""
    left = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(path) in cmd and "pytest" not in cmd:
                left.append((pid, cmd.replace("\0", " ")))
    return left


def test_three_tier_run_matches_the_exported_network(deploy, samples, tmp_path):
    m = load_manifest(deploy)
    x, y = samples[0].numpy(), samples[1].numpy()
    records = tmp_path / "records.jsonl"
    result = run_local(deploy, topology(), x, y, timeout=10.0, records_path=records)
    assert not no_children_with(deploy)
    recs = result.records
    assert [r["sample"] for r in recs] == list(range(len(x)))
    inline = run_plan_inline(m, x)
    np.testing.assert_array_equal([r["exit_partition"] for r in recs], inline["exit_partition"])
    np.testing.assert_array_equal([r["prediction"] for r in recs], inline["prediction"])
    s = result.summary()
    for k in (1, 2, 3):
        assert s["exit_fraction"][k - 1] == pytest.approx(np.mean(inline["exit_partition"] == k), abs=1e-12)
    assert s["accuracy"] == pytest.approx(np.mean(inline["prediction"] == y), abs=1e-12)
    assert len(records.read_text().splitlines()) == len(x)
    for r in recs:
        routes = crossed_links(r, m)
        assert r["latency"] >= min_transfer(routes) - 1e-6
        links = [h for h in r["hops"] if h["kind"] == "link"]
        # Every link hop: the whole message serialised at the link's bandwidth, then its propagation.
        expect = []
        for bits, a, b in routes:
            step = 1 if b > a else -1
            for j in range(a, b, step):
                lo = min(j, j + step)
                expect.append((bits, bits / BANDWIDTH[lo], LATENCY[lo]))
        got = [(h["bits"], h["transfer"], h["propagation"]) for h in links]
        assert np.array(got).shape == np.array(expect).shape
        np.testing.assert_allclose(np.array(got), np.array(expect), rtol=1e-12)
        for h in links:
            assert h["arrive"] - h["enter"] >= h["transfer"] + h["propagation"] - 1e-6  # time.time() resolution
        computes = [h for h in r["hops"] if h["kind"] == "compute"]
        assert [h["tier"] for h in computes] == TIERS[:r["exit_partition"]]
        for h in computes:
            ratio = RATIO[TIERS.index(h["tier"])]
            assert h["end"] - h["start"] >= ratio * h["cpu"] - 1e-6, "compute must be stretched to ratio x CPU time"


def test_open_loop_with_profile_clock(deploy, samples):
    from eepart_fast import Profile
    x = samples[0].numpy()[:16]
    # Fixed service times from a profile: partition k on tier a takes ratio[a] x (its blocks + its branch).
    profile = Profile(block_time=[1e-3, 2e-3, 3e-3, 4e-3], branch_time=[5e-4] * 4, output_bits=[1e5] * 4,
                      input_bits=25088, result_bits=320, accuracy=[0.5] * 4, thresholds=[0.0],
                      exit_rate=[[0, 0, 0, 1]])
    service = {1: 1.5e-3, 2: 2.5e-3, 3: 3e-3 + 4e-3 + 5e-4}
    with pytest.raises(ValueError, match="needs profile="):
        run_local(deploy, topology(), x, clock="profile")
    result = run_local(deploy, topology(), x, mode="open", rate=100.0, timeout=10.0, seed=1, clock="profile",
                       profile=profile)
    assert [r["sample"] for r in result.records] == list(range(16))
    inline = run_plan_inline(load_manifest(deploy), x)
    np.testing.assert_array_equal([r["exit_partition"] for r in result.records], inline["exit_partition"])
    assert result.summary()["samples"] == 16 and "accuracy" not in result.summary()
    for r in result.records:
        for h in r["hops"]:
            if h["kind"] == "compute":
                ratio = RATIO[TIERS.index(h["tier"])]
                assert h["target"] == pytest.approx(ratio * service[h["partition"]], rel=1e-12)
                assert h["end"] - h["start"] >= h["target"] - 1e-6


def test_killed_worker_stops_the_run_naming_the_tier(deploy, samples, tmp_path):
    x = samples[0].numpy()
    records = tmp_path / "r.jsonl"

    def kill_edge(done, control):
        if done == 5:
            control.kill("edge")

    t0 = time.monotonic()
    with pytest.raises(RunFailed, match="tier 'edge'") as info:
        run_local(deploy, topology(), x, timeout=3.0, records_path=records, hook=kill_edge)
    assert time.monotonic() - t0 < 30
    assert info.value.tier == "edge"
    assert len(info.value.records) >= 5
    assert len(records.read_text().splitlines()) == len(info.value.records)
    assert not no_children_with(deploy)


def test_ctrl_c_while_workers_start_stops_within_a_second(deploy):
    # Interrupted before any worker has said hello: none has heard a stop, so none may be waited for.
    import threading

    import _thread
    fired = {}

    def interrupt():
        fired["t"] = time.monotonic()
        _thread.interrupt_main()

    timer = threading.Timer(0.05, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_local(deploy, topology(), np.zeros((4, 1, 28, 28), np.float32), timeout=3.0)
            time.sleep(5)  # the run ended before the interrupt came: let it arrive here, and fail below
    finally:
        timer.cancel()
    assert time.monotonic() - fired["t"] < 1.0, "a worker that never said hello was waited for"
    assert not no_children_with(deploy)


def test_hung_worker_and_bad_tensor_stop_the_run_naming_the_tier(deploy, samples):
    x = samples[0].numpy()

    def pause_cloud(done, control):
        if done == 2:
            control.pause("cloud")

    t0 = time.monotonic()
    with pytest.raises(RunFailed, match="tier 'cloud'") as info:
        run_local(deploy, topology(), x, timeout=2.0, hook=pause_cloud)
    assert time.monotonic() - t0 < 30 and info.value.tier == "cloud" and len(info.value.records) >= 2
    assert not no_children_with(deploy)

    def bad_tensor(done, control):
        if done == 1:
            control.send("edge", {"kind": "tensor", "sample": 10_000, "partition": 2, "t0": time.time()}, b"\0" * 12)

    with pytest.raises(RunFailed, match=r"tier 'edge' refused: TensorMismatch: partition 2 \(edge\), sample 10000: "
                                        r"payload of 12 bytes") as info:
        run_local(deploy, topology(), x, timeout=5.0, hook=bad_tensor)
    assert info.value.tier == "edge" and len(info.value.records) >= 1
    assert not no_children_with(deploy)


def test_malformed_messages_stop_the_run_by_name_not_a_crash(deploy, samples):
    # What a faulty or foreign peer might send: each ends the run with a named error; no process crashes.
    x = samples[0].numpy()[:6]
    now = time.time()
    cases = [("edge", {"kind": "tensor", "sample": 10_000, "partition": [2], "t0": now},
              r"tier 'edge' refused: Malformed: tensor.partition = \[2\]: expected an integer in \[1, 16\]"),
             ("edge", {"kind": "tensor", "sample": 10_000, "partition": 2, "t0": now, "hold_until": "soon"},
              r"tier 'edge' refused: Malformed: tensor.hold_until = 'soon': expected a finite time"),
             # a result for sample 1 (sent next, so in flight when this arrives) with its fields missing
             ("driver", {"kind": "done", "tier": "device", "sample": 1},
              r"malformed 'done' message from tier 'device'"),
             ("driver", {"kind": "heartbeat", "tier": ["x"]}, r"malformed 'heartbeat' message"),
             ("netem", {"kind": "tensor", "src": "device", "dst": "edge", "t_send": "now"},
              r"tier 'netem' refused: Malformed: tensor: field 'sample' missing")]
    for to, header, msg in cases:
        def hook(done, control, to=to, header=header):
            if done == 1:
                run = control._run
                if to in ("driver", "netem"):  # sent with the driver's own key: authenticated, yet malformed
                    run.out.send(run.addr if to == "driver" else run.netem, header,
                                 key=run.ident.public if to == "driver" else run.keys["netem"])
                else:
                    control.send(to, header)

        with pytest.raises(RunFailed, match=msg) as info:
            run_local(deploy, topology(), x, timeout=5.0, hook=hook)
        assert "exited with code" not in str(info.value)
        assert not no_children_with(deploy)


def test_bad_addresses_are_refused_not_waited_on(deploy, samples, capsys):
    from eepart_fast.cli import main
    x = samples[0].numpy()[:2]
    # A remote worker at an address ZeroMQ cannot connect to: a PUSH socket without a peer blocks for
    # ever on send, so this hung in the driver's stop(); now refused by name.
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="address 'bogus'"):
        run_local(deploy, topology(), x, timeout=2.0, remote={"edge": "bogus"}, startup_timeout=20.0, insecure=True)
    assert time.monotonic() - t0 < 20
    assert not no_children_with(deploy)
    with pytest.raises(ValueError, match="bind = 'bogus'"):
        run_local(deploy, topology(), x, bind="bogus")
    assert main(["worker", "--tier", "edge", "--bind", "bogus", "--artifacts", str(deploy), "--insecure"]) == 2
    assert "--bind 'bogus'" in capsys.readouterr().err
    assert main(["worker", "--tier", "edge", "--bind", "tcp://127.0.0.1:*", "--artifacts", str(deploy),
                 "--idle-timeout", "-1"]) == 2
    assert "--idle-timeout -1" in capsys.readouterr().err


def test_stalled_link_stops_the_run_naming_the_link(deploy, samples):
    x = samples[0].numpy()
    # Samples that leave at partition 1 never cross edge-cloud; the first that does must stall there.
    exits = run_plan_inline(load_manifest(deploy), x)["exit_partition"]
    assert (exits == 3).any()

    def stall(done, control):
        if done == 1:
            control.stall("edge-cloud")

    t0 = time.monotonic()
    with pytest.raises(RunFailed, match="link edge-cloud") as info:
        run_local(deploy, topology(), x, timeout=1.5, hook=stall)
    assert time.monotonic() - t0 < 30
    assert len(info.value.records) >= 1 and info.value.tier == "edge"
    assert not no_children_with(deploy)


def test_bad_manifests_and_tensors_are_refused(deploy, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(deploy, bad)
    data = bytearray((bad / "part-2.onnx").read_bytes())
    data[-1] ^= 0xFF
    (bad / "part-2.onnx").write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=r"partition 2 \(edge\).*sha256"):
        load_manifest(bad)
    with pytest.raises(ManifestError, match="partition 2"):
        run_local(bad, topology(), np.zeros((1, 1, 28, 28), np.float32), timeout=2.0)
    manifest = json.loads((deploy / "manifest.json").read_text())
    for path, value, msg in [(("plan", "threshold"), "high", "plan.threshold"),
                             (("partitions", 1, "blocks"), [3, 3], r"partitions\[1\].blocks"),
                             (("partitions", 0, "inputs", 0, "dtype"), "float99", r"partitions\[0\].inputs\[0\].dtype"),
                             (("partitions", 2, "file"), "../x.onnx", r"partitions\[2\].file"),
                             (("version",), 7, "version")]:
        broken = json.loads(json.dumps(manifest))
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        (bad / "manifest.json").write_text(json.dumps(broken))
        with pytest.raises(ManifestError, match=msg):
            load_manifest(bad, verify=False)
    # A manifest edited to shapes or dtypes its (unchanged, checksummed) ONNX files do not have.
    for path, value, msg in [(("partitions", 0, "inputs", 0, "shape"), [1, 1, 32, 32],
                              (r"partitions\[0\].inputs\[0\] = float32 \[1, 1, 32, 32\]: the ONNX file part-1.onnx "
                               r"has 'x' as float32 \[1, 1, 28, 28\]")),
                             (("partitions", 2, "outputs", 0, "dtype"), "float16",
                              r"partitions\[2\].outputs\[0\] = float16 \[1, 10\].*'logits' as float32")]:
        broken = json.loads(json.dumps(manifest))
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        if path[-1] == "shape":
            broken["model"]["input_shape"] = value[1:]
        shutil.rmtree(bad)
        shutil.copytree(deploy, bad)
        (bad / "manifest.json").write_text(json.dumps(broken))
        m = load_manifest(bad)
        with pytest.raises(TensorMismatch, match=msg):
            run_plan_inline(m, np.zeros((1, *m.input_shape), np.float32))
    m = load_manifest(deploy)
    runner = PartitionRunner(m, m.partition(2))
    with pytest.raises(TensorMismatch, match=r"partition 2 \(edge\).*float32 \[1, 4, 28, 28\].*\[1, 1, 28, 28\]"):
        runner.run(np.zeros((1, 1, 28, 28), np.float32))
    with pytest.raises(TensorMismatch, match="float32"):
        runner.run(np.zeros((1, 4, 28, 28), np.float64))
    with pytest.raises(TensorMismatch, match="payload of 12 bytes"):
        tensor_from_bytes(b"\0" * 12, "float32", [1, 4, 28, 28], "partition 2")
    with pytest.raises(ManifestError, match="'edge' is not in the topology"):
        run_local(deploy, Topology.chain(["device", "x", "cloud"], RATIO, BANDWIDTH, LATENCY),
                  np.zeros((1, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="images: expected shape"):
        run_local(deploy, topology(), np.zeros((2, 3, 28, 28), np.float32))


def test_bad_plans_are_refused_before_anything_is_written(trained, tmp_path):
    good = {"partitions": P, "tier_names": TIERS, "threshold": 0.5, "source": "device", "destination": "device"}
    for field, value, msg in [("threshold", float("nan"), r"plan.threshold = nan: expected a normalised entropy"),
                              ("threshold", -0.5, r"plan.threshold = -0.5"), ("threshold", 1.5, "plan.threshold = 1.5"),
                              ("threshold", "high", "plan.threshold = 'high'"), ("threshold", True, "plan.threshold"),
                              ("source", None, "plan.source = None"), ("destination", "", "plan.destination = ''"),
                              ("tier_names", ["device", "", "cloud"], "a tier name is empty")]:
        out = tmp_path / f"{field}-{value}"
        with pytest.raises(ValueError, match=msg):
            export_partitions(trained, {**good, field: value}, out, (1, 28, 28))
        assert not out.exists()


def test_ctrl_c_during_export_leaves_no_half_written_file(trained, tmp_path, monkeypatch):
    real = torch.onnx.export
    calls = []

    def interrupted(module, args, f, **kw):
        calls.append(f)
        if len(calls) == 2:  # partition 2: a few bytes written, then Ctrl-C
            Path(f).write_bytes(b"\x08\x07partial")
            raise KeyboardInterrupt
        return real(module, args, f, **kw)

    monkeypatch.setattr(torch.onnx, "export", interrupted)
    plan = {"partitions": P, "tier_names": TIERS, "threshold": 0.5, "source": "device", "destination": "device"}
    with pytest.raises(KeyboardInterrupt):
        export_partitions(trained, plan, tmp_path, (1, 28, 28))
    assert sorted(f.name for f in tmp_path.iterdir()) == ["part-1.onnx"]  # whole, and no manifest


def test_link_fifo_and_store_and_forward_by_hand():
    emu = LinkEmulator(topology_dict(Topology.chain(["a", "b", "c"], [1, 1, 1], [1000.0, 500.0], [0.1, 0.2])))
    # Two 100-bit messages a -> c at t = 0: link a-b takes 0.1 s each, the second waits for the first.
    t0, hops0 = emu.schedule("a", "c", 100, 0.0, {"sample": 0})
    t1, hops1 = emu.schedule("a", "c", 100, 0.0, {"sample": 1})
    # One 50-bit message b -> a at t = 0: the other direction of link a-b, no wait.
    t2, hops2 = emu.schedule("b", "a", 50, 0.0, {"sample": 2})

    def times(hops):
        return [v for h in hops for v in (h["start"], h["sent"], h["arrive"])]

    # sample 0: a-b 0..0.1, arrives 0.2; b-c starts 0.2, 0.2 s of transfer, arrives 0.4 + 0.2 = 0.6
    assert times(hops0) == pytest.approx([0, 0.1, 0.2, 0.2, 0.4, 0.6]) and t0 == pytest.approx(0.6)
    # sample 1: a-b waits till 0.1, sent 0.2, arrives 0.3; b-c busy till 0.4: sent 0.6, arrives 0.8
    assert times(hops1) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.6, 0.8]) and t1 == pytest.approx(0.8)
    assert [(h["link"], h["start"], h["arrive"]) for h in hops2] == [("b-a", 0.0, pytest.approx(0.15))]
    assert t2 == pytest.approx(0.15)
    # A stalled link holds what would cross it, and says so.
    emu.stalled.add("b-c")
    assert emu.schedule("a", "c", 100, 1.0, {"sample": 3}) is None
    assert emu.in_flight() == [{"sample": 3, "link": "b-c", "since": pytest.approx(1.2)}]


def test_cli_run_and_worker(deploy, samples, tmp_path, capsys):
    from eepart_fast.cli import main
    np.savez(tmp_path / "s.npz", x=samples[0].numpy()[:8], y=samples[1].numpy()[:8])
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"names": TIERS, "ratio": RATIO, "bandwidth": BANDWIDTH, "latency": LATENCY}))
    rc = main(["run", "--deploy", str(deploy), "--images", str(tmp_path / "s.npz"), "--topology", str(topo),
               "--samples", "8", "--records", str(tmp_path / "r.jsonl"), "--summary", str(tmp_path / "s.json"),
               "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "8 samples, closed loop" in out
    assert json.loads((tmp_path / "s.json").read_text())["summary"]["samples"] == 8
    assert main(["worker", "--tier", "nowhere", "--bind", "tcp://127.0.0.1:*", "--artifacts", str(deploy)]) == 2
    assert "--tier 'nowhere'" in capsys.readouterr().err


def test_cli_run_refuses_bad_sample_counts_and_image_files(deploy, tmp_path, capsys):
    from eepart_fast.cli import main
    good, nox = tmp_path / "good.npz", tmp_path / "nox.npz"
    np.savez(good, x=np.zeros((3, 1, 28, 28), np.float32), y=np.zeros(3, np.int64))
    np.savez(nox, images=np.zeros((3, 1, 28, 28), np.float32))
    np.savez(tmp_path / "obj.npz", x=np.array([{}], dtype=object))
    topo = tmp_path / "t.json"
    topo.write_text(json.dumps({"names": TIERS, "ratio": RATIO, "bandwidth": BANDWIDTH, "latency": LATENCY}))
    for args, msg in [(["--images", str(good), "--samples", "0"], "--samples 0: must be >= 1"),
                      (["--images", str(good), "--samples", "-5"], "--samples -5: must be >= 1"),
                      (["--images", str(nox)], f"--images {nox}: no array 'x'"),
                      (["--images", str(tmp_path / "obj.npz")], "--images .*obj.npz: Object arrays")]:
        assert main(["run", "--deploy", str(deploy), "--topology", str(topo), "--no-progress", "--timeout", "3",
                     *args]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert __import__("re").search(msg, err), err
    with pytest.raises(ValueError, match="no samples"):
        run_local(deploy, topology(), np.zeros((0, 1, 28, 28), np.float32))
    for bad in (float("inf"), float("nan"), -1.0, 0):
        with pytest.raises(ValueError, match=f"timeout = {bad!r}: must be a finite"):
            run_local(deploy, topology(), np.zeros((1, 1, 28, 28), np.float32), timeout=bad)


def tiny_run_folder(run_dir):
    """A run folder of a ResNet-8 trained on one batch: enough for `eepart export` and `eepart run`."""
    from eepart_fast.nn.run import RunSpec, train_run
    spec = RunSpec(backbone="resnet8", limit=64, separate="none",
                   joint=TrainConfig(epochs=1, batch_size=32, max_batches=1).as_dict())
    train_run(run_dir, spec, progress=False, log=lambda m: None)
    return run_dir


def test_cli_export_from_a_run_folder(fmnist, tmp_path, capsys):
    from eepart_fast.cli import main
    run_dir = tiny_run_folder(tmp_path / "run")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"best": {"partitions": [2, 4], "tier_names": ["edge", "cloud"], "threshold": 0.5,
                                         "source": "device", "destination": "device", "latency": 0.01}}))
    assert main(["export", "--run-dir", str(run_dir), "--plan", str(plan), "--out", str(tmp_path / "d"),
                 "--check-samples", "2"]) == 0
    assert "partition 2: blocks 3-4 on cloud" in capsys.readouterr().out
    m = load_manifest(tmp_path / "d")
    assert m.tiers == ["device", "edge", "cloud"] and m.data["model"]["backbone"] == "resnet8"
    assert m.data["partitions"][0]["check"]["samples"] == 2
    plan.write_text(json.dumps({"best": {"partitions": [2, 9], "tier_names": ["edge", "cloud"], "threshold": 0.5,
                                         "source": "device", "destination": "device"}}))
    assert main(["export", "--run-dir", str(run_dir), "--plan", str(plan), "--out", str(tmp_path / "e")]) == 2
    assert "the network has 4 blocks" in capsys.readouterr().err
    assert main(["export", "--run-dir", str(run_dir), "--plan", str(plan), "--out", str(tmp_path / "e"),
                 "--check-samples", "-1"]) == 2
    assert "--check-samples -1: must be >= 0" in capsys.readouterr().err


def test_workers_started_by_hand_as_on_other_hosts(deploy, samples):
    """`eepart worker --insecure` processes started alone, then driven with remote= (as across hosts), no
    emulation, twice: they serve one run after another (the secure setup: tests/test_runtime_wire.py)."""
    import subprocess
    import sys
    x = samples[0].numpy()[:12]
    import eepart_fast
    # The package this test imported (installed or the source tree), never the source tree by path.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(eepart_fast.__file__).resolve().parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    procs, remote = [], {}
    try:
        for tier in TIERS:
            p = subprocess.Popen([sys.executable, "-m", "eepart_fast.cli", "worker", "--tier", tier, "--bind",
                                  "tcp://127.0.0.1:*", "--artifacts", str(deploy), "--idle-timeout", "20",
                                  "--insecure", *(["--once"] if tier == "cloud" else [])],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
            procs.append(p)
            line = p.stdout.readline()  # "worker <tier> (INSECURE: ...) listening on <address>"
            assert line.startswith(f"worker {tier} (INSECURE: no authentication, no encryption) listening on "
                                   "tcp://127.0.0.1:"), line
            remote[tier] = line.split()[-1]
        with pytest.raises(ValueError, match="remote workers need keys"):
            run_local(deploy, topology(), x, remote=remote, emulate=False, clock="none")
        inline = run_plan_inline(load_manifest(deploy), x)
        for _ in range(2):
            result = run_local(deploy, topology(), x, timeout=10.0, remote=remote, emulate=False, clock="none",
                               insecure=True)
            np.testing.assert_array_equal([r["exit_partition"] for r in result.records], inline["exit_partition"])
            assert all(h["kind"] == "compute" for r in result.records for h in r["hops"])  # no emulated links
            assert result.settings["security"] == "insecure" and all(r["insecure"] for r in result.records)
            if procs[2].poll() is None:  # cloud has --once: it stops when the first run ends
                assert procs[2].wait(10) == 0
                remote["cloud"] = None
                p = subprocess.Popen([sys.executable, "-m", "eepart_fast.cli", "worker", "--tier", "cloud",
                                      "--bind", "tcp://127.0.0.1:*", "--artifacts", str(deploy), "--idle-timeout",
                                      "20", "--insecure"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=env)
                procs.append(p)
                remote["cloud"] = p.stdout.readline().split()[-1]
        assert [p.poll() for p in procs[:2]] == [None, None]  # the driver left them running
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
            p.stdout.close()
