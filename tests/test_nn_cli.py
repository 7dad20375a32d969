"""`eepart train` / `eepart profile` through argparse, on a tiny subset of real Fashion-MNIST."""
import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
from eepart_fast.cli import nn as cli  # noqa: E402
from eepart_fast.model.profile import Profile  # noqa: E402
from eepart_fast.nn.data import DatasetMissing, load_fashion_mnist  # noqa: E402

pytestmark = pytest.mark.train


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", autouse=True)
def needs_fmnist():
    try:
        load_fashion_mnist(train_limit=1, profile_limit=1, test_limit=1)
    except DatasetMissing as exc:
        pytest.skip(f"Fashion-MNIST missing (apt-get install -y dataset-fashion-mnist): {exc}")


def test_subcommands_register_with_help():
    parser = argparse.ArgumentParser(prog="eepart")
    cli.add_subcommands(parser.add_subparsers(dest="command"))
    text = parser.format_help()
    assert "train" in text and "profile" in text
    a = parser.parse_args(["profile", "--run-dir", "r", "--out", "p.json"])
    assert a.func is cli.run_profile and a.backbone == "resnet20" and a.thresholds == 20 and not a.train
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--run-dir", "r", "--threads", "0"])


TINY = ["--backbone", "resnet8", "--limit", "160", "--epochs", "1", "--max-batches", "1", "--batch-size", "32",
        "--separate-epochs", "1", "--threads", "1", "--no-progress"]


def test_train_then_profile(tmp_path, capsys):
    run, out = str(tmp_path / "run"), str(tmp_path / "p" / "tiny.json")
    assert cli.main(["train", *TINY, "--run-dir", run]) == 0
    assert (tmp_path / "run" / "joint.pt").exists() and (tmp_path / "run" / "separate-4.pt").exists()
    assert "training done" in (tmp_path / "run" / "train.log").read_text()
    assert cli.main(["profile", *TINY, "--run-dir", run, "--out", out, "--timing-samples", "5", "--warmup", "1"]) == 0
    p = Profile.load(out)
    assert p.name == "tiny" and p.N == 4 and p.K == 20
    assert p.meta["split_sizes"] == {"train": 160, "profile": 160, "test": 160}
    cmd = p.meta["command"]
    assert cmd.startswith("eepart profile --train --backbone resnet8") and f"--out {out}" in cmd
    # Training options come from what was trained, whatever the profile command said.
    p2 = str(tmp_path / "p" / "again.json")
    assert cli.main(["profile", "--run-dir", run, "--out", p2, "--epochs", "99", "--timing-samples", "2",
                     "--warmup", "0", "--no-progress"]) == 0
    assert "--epochs 1 " in Profile.load(p2).meta["command"]
    assert (tmp_path / "p" / "tiny.samples.npz").exists()
    assert "wrote" in capsys.readouterr().out


def test_profile_train_in_one_command_and_rebuild_line(tmp_path):
    run, out = str(tmp_path / "run"), str(tmp_path / "one.json")
    args = ["profile", "--train", *TINY, "--separate", "none", "--run-dir", run, "--out", out,
            "--timing-samples", "3", "--warmup", "0", "--thresholds", "5"]
    assert cli.main(args) == 0
    p = Profile.load(out)
    np.testing.assert_array_equal(p.thresholds, np.linspace(0, 1, 5))
    assert p.meta["accuracy_source"].startswith("joint")
    # The recorded line parses back to the same options.
    parser = argparse.ArgumentParser(prog="eepart")
    cli.add_subcommands(parser.add_subparsers(dest="command"))
    back = vars(parser.parse_args(p.meta["command"].split()[1:]))
    again = vars(parser.parse_args(args))
    # Progress bars do not change the profile; the separate defaults are spelled out in the line.
    assert back.pop("progress") is True and again.pop("progress") is False
    assert (back.pop("separate_lr"), back.pop("separate_max_batches")) == (0.1, 1)  # --separate none: --lr
    assert (again.pop("separate_lr"), again.pop("separate_max_batches")) == (None, None)
    assert back == again


def test_missing_dataset_message(tmp_path, capsys):
    with pytest.raises(DatasetMissing, match="apt-get install"):
        cli.main(["train", "--data-dir", str(tmp_path), "--run-dir", str(tmp_path / "r"), "--no-progress"])
