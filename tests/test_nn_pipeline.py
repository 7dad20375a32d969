"""Train, profile and validate a tiny early-exit ResNet on a few hundred real Fashion-MNIST images."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
from eepart_fast.io.records import exit_rates, load_records, records_path  # noqa: E402
from eepart_fast.model.profile import Profile  # noqa: E402
from eepart_fast.nn import data as D  # noqa: E402
from eepart_fast.nn.earlyexit import EarlyExitNet  # noqa: E402
from eepart_fast.nn.profiling import make_profile, pick_clock, profile_net, profile_run, time_single_samples  # noqa: E402
from eepart_fast.nn.resnet_cifar import cifar_resnet  # noqa: E402
from eepart_fast.nn.run import RunSpec, load_trained, train_run  # noqa: E402
from eepart_fast.nn.train import TrainConfig, accuracy, load_checkpoint, train_model  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.usefixtures("one_torch_thread")]
THRESHOLDS = 20


@pytest.fixture(scope="module")
def fmnist():
    try:
        return D.load_fashion_mnist(train_limit=384, profile_limit=256, test_limit=256, seed=0)
    except D.DatasetMissing as exc:
        pytest.skip(f"Fashion-MNIST missing (apt-get install -y dataset-fashion-mnist): {exc}")


def tiny_net(seed=0):
    torch.manual_seed(seed)
    return EarlyExitNet.full(cifar_resnet(8, in_channels=1, classes=10, width=4), (1, 28, 28))


@pytest.fixture(scope="module")
def trained(fmnist, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    net = tiny_net()
    train_model(net, fmnist.train, TrainConfig(epochs=3, batch_size=32, lr=0.05), folder / "joint.pt", progress=False,
                log=lambda m: None)
    separate = {}
    for i in net.exits:
        sep = net.separate(i)
        train_model(sep, fmnist.train, TrainConfig(epochs=1, batch_size=32, lr=0.01), folder / f"s{i}.pt",
                    progress=False, log=lambda m: None)
        separate[i] = sep
    fields, meta, records = profile_net(net, separate, fmnist, timing_samples=20, warmup=3,
                                        n_thresholds=THRESHOLDS, progress=False)
    return net, separate, make_profile(fields, name="tiny", meta=meta), records


def test_profile_passes_validation_and_round_trips(trained, tmp_path):
    _, _, profile, _ = trained
    assert isinstance(profile, Profile) and profile.N == 4 and profile.K == THRESHOLDS
    profile.save(tmp_path / "p.json")
    back = Profile.load(tmp_path / "p.json")
    np.testing.assert_array_equal(back.exit_rate, profile.exit_rate)
    assert back.meta["timing"]["torch_threads"] == 1


def test_exit_rate_rows_and_thresholds(trained):
    _, _, p, _ = trained
    np.testing.assert_allclose(p.exit_rate.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(p.thresholds, np.linspace(0, 1, THRESHOLDS))
    # Threshold 0: no entropy is strictly below 0, every sample goes to the last exit.
    np.testing.assert_array_equal(p.exit_rate[0], [0, 0, 0, 1])
    cum = np.cumsum(p.exit_rate, axis=1)
    assert np.all(np.diff(cum, axis=0) >= -1e-12), "a cumulative exit rate fell as the threshold rose"


def test_times_and_sizes_positive(trained):
    _, _, p, _ = trained
    for field in (p.block_time, p.branch_time, p.output_bits):
        assert np.all(field > 0)
    assert p.input_bits > 0 and p.result_bits > 0


def test_sizes_are_the_real_tensors(trained):
    net, _, p, _ = trained
    # By hand: width 4 on 28 x 28 -> stem and stage 1: 4x28x28, stage 2: 8x14x14, stage 3: 16x7x7, float32.
    assert p.output_bits.tolist() == [4 * 28 * 28 * 32, 4 * 28 * 28 * 32, 8 * 14 * 14 * 32, 16 * 7 * 7 * 32]
    assert p.input_bits == 28 * 28 * 32
    assert p.result_bits == 10 * 32
    x = torch.zeros(1, 1, 28, 28)
    for i, block in enumerate(net.eval().blocks):
        x = block(x)
        assert p.output_bits[i] == x.numel() * x.element_size() * 8


def test_records_reproduce_exit_rates(trained):
    _, _, p, rec = trained
    e = rec["norm_entropy"]
    assert e.shape == (256, 4) and np.all((e >= 0) & (e <= 1 + 1e-12))
    np.testing.assert_array_equal(exit_rates(e, p.thresholds), p.exit_rate)
    # The rule again, sample by sample.
    for k, t in enumerate(p.thresholds):
        counts = np.zeros(4)
        for row in e:
            below = [i for i in range(4) if row[i] < t]
            counts[below[0] if below else 3] += 1
        np.testing.assert_array_equal(counts / len(e), p.exit_rate[k])
    np.testing.assert_array_equal(rec["correct"], rec["prediction"] == rec["label"][:, None])
    np.testing.assert_allclose(rec["correct"].mean(0), p.meta["joint_profile_split_accuracy"])
    assert rec["block_seconds"].shape == (20, 4)
    np.testing.assert_allclose(np.percentile(rec["block_seconds"], 99, axis=0), p.block_time)


def test_accuracy_comes_from_the_separate_models(trained, fmnist):
    net, separate, p, _ = trained
    want = [accuracy(separate[i], fmnist.test)[0] for i in net.exits]
    np.testing.assert_allclose(p.accuracy, want)
    np.testing.assert_allclose(p.meta["joint_test_accuracy"], accuracy(net, fmnist.test))
    # Trained, not chance: the last exit of this tiny net learns something in three epochs.
    assert p.accuracy[-1] > 0.3


def test_separate_model_starts_from_joint_weights():
    net = tiny_net()
    sep = net.separate(2)
    assert len(sep.blocks) == 2 and sep.exits == [2]
    for a, b in zip(sep.state_dict().values(), [net.state_dict()[k] for k in sep.state_dict()]):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="exit"):
        net.separate(7)


class Interrupting:
    """A split that raises KeyboardInterrupt at its n-th batch, as a Ctrl-C would."""

    def __init__(self, split, at):
        self.split, self.at, self.calls = split, at, 0

    def __len__(self):
        return len(self.split)

    def batch(self, index):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.split.batch(index)


def test_ctrl_c_checkpoint_resumes_to_the_same_weights(fmnist, tmp_path):
    cfg = TrainConfig(epochs=2, batch_size=64, lr=0.05)
    straight = tiny_net()
    train_model(straight, fmnist.train, cfg, tmp_path / "a.pt", progress=False, log=lambda m: None)
    resumed = tiny_net()
    with pytest.raises(KeyboardInterrupt):
        # 6 batches per epoch: stop in the middle of epoch 2.
        train_model(resumed, Interrupting(fmnist.train, 9), cfg, tmp_path / "b.pt", progress=False,
                    log=lambda m: None)
    ck = load_checkpoint(tmp_path / "b.pt")
    assert (ck["epoch"], ck["batch"]) == (1, 2)
    again = tiny_net(seed=123)
    train_model(again, fmnist.train, cfg, tmp_path / "b.pt", progress=False, log=lambda m: None)
    for k, v in straight.state_dict().items():
        torch.testing.assert_close(again.state_dict()[k], v, rtol=1e-6, atol=1e-7, msg=k)
    with pytest.raises(ValueError, match="trained with"):
        train_model(tiny_net(), fmnist.train, TrainConfig(epochs=3), tmp_path / "b.pt", progress=False)


def test_run_folder_train_then_profile(fmnist, tmp_path):
    spec = RunSpec(backbone="resnet8", joint=TrainConfig(epochs=1, batch_size=128, max_batches=2).as_dict(),
                   separate="finetune", separate_train=TrainConfig(epochs=1, lr=0.01, max_batches=1).as_dict())
    train_run(tmp_path / "run", spec, data=fmnist, progress=False, log=lambda m: None)
    with pytest.raises(ValueError, match="another run"):
        train_run(tmp_path / "run", RunSpec(backbone="resnet20"), data=fmnist, progress=False)
    # The separate settings may change, but a separate model trained under others is never reused.
    other = RunSpec(**{**spec.as_dict(), "separate_train": TrainConfig(epochs=2, lr=0.01, max_batches=1).as_dict()})
    with pytest.raises(ValueError, match="trained with"):
        train_run(tmp_path / "run", other, data=fmnist, progress=False, log=lambda m: None)
    with pytest.raises(ValueError, match="remove it"):
        load_trained(tmp_path / "run", data=fmnist)
    train_run(tmp_path / "run", spec, data=fmnist, progress=False, log=lambda m: None)
    p = profile_run(tmp_path / "run", tmp_path / "out" / "r8.json", timing_samples=5, warmup=1, data=fmnist,
                    command="eepart profile ...", progress=False)
    stored = json.loads((tmp_path / "out" / "r8.json").read_text())
    assert stored["name"] == "r8" and stored["meta"]["command"] == "eepart profile ..."
    assert stored["meta"]["backbone"] == "resnet8" and stored["meta"]["N"] == 4
    assert set(stored["meta"]["training_seconds"]) == {"joint", "1", "2", "3", "4"}
    assert records_path(tmp_path / "out" / "r8.json").exists()
    rec = load_records(records_path(tmp_path / "out" / "r8.json"))
    np.testing.assert_array_equal(exit_rates(rec["norm_entropy"], p.thresholds), p.exit_rate)
    _, _, net, separate, _ = load_trained(tmp_path / "run", data=fmnist)
    assert sorted(separate) == [1, 2, 3, 4] and net.N == 4


def test_profile_of_unfinished_run_is_refused(fmnist, tmp_path):
    spec = RunSpec(backbone="resnet8", joint=TrainConfig(epochs=1, max_batches=1).as_dict(), separate="none")
    with pytest.raises(FileNotFoundError, match="train first"):
        load_trained(tmp_path / "nothing", data=fmnist)
    train_run(tmp_path / "r", spec, data=fmnist, progress=False, log=lambda m: None)
    (tmp_path / "r" / "joint.pt").unlink()
    with pytest.raises(FileNotFoundError, match="finish training"):
        load_trained(tmp_path / "r", data=fmnist)


def test_clocks(fmnist):
    net = tiny_net()
    assert pick_clock("auto") == "cpu"  # this module runs on one torch thread
    for clock in ("cpu", "wall"):
        block_s, branch_s = time_single_samples(net, fmnist.profile, 3, 1, progress=False, clock=clock)
        assert block_s.shape == branch_s.shape == (3, 4) and np.all(block_s > 0)
    with pytest.raises(ValueError, match="clock"):
        pick_clock("gpu")
