"""Per-device measurements in profiles: `eepart profile --partitions` times every contiguous partition on
this machine, `eepart profile --merge-device NAME FILE` merges a device's measurements made elsewhere."""
import json

import numpy as np
import pytest

import eepart_fast as ef

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
from eepart_fast.cli.commands import main  # noqa: E402
from eepart_fast.nn.earlyexit import EarlyExitNet  # noqa: E402
from eepart_fast.nn.profiling import time_partitions  # noqa: E402
from eepart_fast.nn.resnet_cifar import cifar_resnet  # noqa: E402


class Split:
    def __init__(self, n=4):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 1, 28, 28, generator=g)

    def __len__(self):
        return self.x.shape[0]

    def batch(self, index):
        return self.x[index], torch.zeros(len(index), dtype=torch.int64)


def base_profile(n):
    return ef.Profile(block_time=[1e-3] * n, branch_time=[1e-4] * n, output_bits=[8e3] * n, input_bits=8e3,
                      result_bits=320, accuracy=np.linspace(0.5, 0.9, n), thresholds=[0.0, 0.5],
                      exit_rate=[[0] * (n - 1) + [1], [1 / n] * n])


@pytest.mark.train
def test_time_partitions_covers_every_partition():
    torch.manual_seed(0)
    net = EarlyExitNet.full(cifar_resnet(8, in_channels=1, classes=10, width=4), (1, 28, 28))
    rows = time_partitions(net, Split(), samples=3, warmup=1, progress=False)
    n = net.N
    assert sorted((a, b) for a, b, _ in rows) == [(p, q) for p in range(1, n + 1) for q in range(p, n + 1)]
    assert all(s > 0 for _, _, s in rows)
    profile = base_profile(n).with_device("here", {"partition_time": rows})
    topo = ef.Topology.chain(["here", "cloud"], [1.0, 1.0], [1e6], [0.0], devices=["here", None])
    c = ef.cost_tables(profile, topo).compute_cost
    for a, b, s in rows:
        assert c[0, a - 1, b] == s


def test_merge_device_from_each_form(tmp_path, capsys):
    n = 3
    path = tmp_path / "p.json"
    base_profile(n).save(path)
    parts = {"partition_time": [[p, q, 0.001 * (q - p + 1)] for p in range(1, n + 1) for q in range(p, n + 1)]}
    (tmp_path / "parts.json").write_text(json.dumps(parts))
    assert main(["profile", "--merge-device", "pi", str(tmp_path / "parts.json"), "--out", str(path)]) == 0
    blocks = {"block_time": [2e-3] * n, "branch_time": [0.0] * n, "serialize_time": [1e-4] * (n + 2)}
    (tmp_path / "blocks.json").write_text(json.dumps(blocks))
    assert main(["profile", "--merge-device", "jetson", str(tmp_path / "blocks.json"), "--out", str(path)]) == 0
    other = base_profile(n)
    other.block_time = other.block_time * 7
    other.save(tmp_path / "other.json")
    assert main(["profile", "--merge-device", "phone", str(tmp_path / "other.json"), "--out", str(path)]) == 0
    merged = ef.Profile.load(path)
    assert list(merged.devices) == ["pi", "jetson", "phone"]
    assert merged.devices["pi"].partition[0, 3] == pytest.approx(0.003)
    assert merged.devices["jetson"].serialize_time.tolist() == [1e-4] * (n + 2)
    assert merged.devices["phone"].partition[0, 1] == pytest.approx(7e-3 + 1e-4)
    assert "merged device 'phone'" in capsys.readouterr().out

    bad = {"partition_time": parts["partition_time"][:-1]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert main(["profile", "--merge-device", "x", str(tmp_path / "bad.json"), "--out", str(path)]) == 2
    assert "missing" in capsys.readouterr().err
    base_profile(5).save(tmp_path / "five.json")
    assert main(["profile", "--merge-device", "x", str(tmp_path / "five.json"), "--out", str(path)]) == 2
    assert "N = 5" in capsys.readouterr().err
    assert list(ef.Profile.load(path).devices) == ["pi", "jetson", "phone"]  # a refused merge changes nothing


@pytest.mark.train
def test_profile_command_with_partitions(tmp_path):
    """`eepart profile --train ... --partitions 2` on a tiny Fashion-MNIST run: the profile carries this
    machine's partition times as device 'here', and a tier naming it plans with them."""
    from eepart_fast.cli import nn as cli
    from eepart_fast.nn.data import DatasetMissing, load_fashion_mnist

    try:
        load_fashion_mnist(train_limit=1, profile_limit=1, test_limit=1)
    except DatasetMissing as exc:
        pytest.skip(f"Fashion-MNIST missing: {exc}")
    before = torch.get_num_threads()
    try:
        out = tmp_path / "tiny.json"
        assert cli.main(["profile", "--train", "--backbone", "resnet8", "--limit", "64", "--epochs", "1",
                         "--max-batches", "1", "--batch-size", "32", "--separate", "none", "--threads", "1",
                         "--no-progress", "--run-dir", str(tmp_path / "run"), "--out", str(out),
                         "--timing-samples", "2", "--warmup", "0", "--thresholds", "3",
                         "--partitions", "2", "--device-name", "here"]) == 0
    finally:
        torch.set_num_threads(before)
    p = ef.Profile.load(out)
    assert list(p.devices) == ["here"] and p.meta["partition_timing"]["samples"] == 2
    assert "--partitions 2 --device-name here" in p.meta["command"]
    assert len(p.devices["here"].partition_list) == p.N * (p.N + 1) // 2
    topo = ef.Topology.chain(["here", "cloud"], [1.0, 1.0], [1e6], [0.01], devices=["here", None])
    assert ef.Planner(p, topo).pareto()


@pytest.mark.parametrize("args,needle", [(["--partitions", "-5"], "--partitions = -5"),
                                         (["--partitions", "2", "--device-name", ""], "--device-name = ''")])
def test_bad_partition_options_refused_before_any_work(tmp_path, capsys, args, needle):
    """Checked before training and profiling (minutes of work), not after them: the run folder named here
    does not even exist, and the error is about the option."""
    assert main(["profile", "--train", "--run-dir", str(tmp_path / "run"), "--out", str(tmp_path / "p.json"),
                 *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()
