"""Every backbone builds, runs every exit, and profiles on random input (small inputs, seconds)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'eepart_fast[train]'")
pytest.importorskip("torchvision", reason="needs the train extra: pip install 'eepart_fast[train]'")
from torch import nn  # noqa: E402

from eepart_fast.nn.backbones import make_backbone  # noqa: E402
from eepart_fast.nn.data import ArraySplit, Data  # noqa: E402
from eepart_fast.nn.earlyexit import EarlyExitNet, branch_like  # noqa: E402
from eepart_fast.nn.profiling import make_profile, profile_net  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.usefixtures("one_torch_thread")]

# (name, granularity, input side, expected N): the stem plus every residual / inverted-residual /
# Inception module, or the stem plus one block per stage.
CASES = [
    ("resnet20", "block", 16, 10),
    ("resnet18", "block", 32, 9), ("resnet18", "stage", 32, 5),
    ("resnet50", "block", 32, 17), ("resnet50", "stage", 32, 5),
    ("mobilenetv2", "block", 32, 19), ("mobilenetv2", "stage", 32, 9),
    ("inceptionv3", "block", 75, 12), ("inceptionv3", "stage", 75, 4),
]


def random_data(channels, side, classes, n=4):
    g = torch.Generator().manual_seed(0)
    split = ArraySplit(torch.randint(0, 256, (n, channels, side, side), dtype=torch.uint8, generator=g),
                       torch.randint(0, classes, (n,), generator=g), (0.5,) * channels, (0.25,) * channels)
    return Data("random", split, split, split, channels, (side, side), classes)


@pytest.mark.parametrize("name,granularity,side,n_blocks", CASES)
def test_backbone_every_exit_and_profile(name, granularity, side, n_blocks):
    channels, classes = 2, 7
    torch.manual_seed(0)
    net = EarlyExitNet.full(make_backbone(name, channels, classes, granularity), (channels, side, side))
    assert net.N == n_blocks and net.exits == list(range(1, n_blocks + 1))
    net.eval()
    with torch.no_grad():
        outs = net(torch.randn(2, channels, side, side))
    assert len(outs) == n_blocks
    assert all(o.shape == (2, classes) and torch.isfinite(o).all() for o in outs)
    data = random_data(channels, side, classes)
    fields, meta, records = profile_net(net, {}, data, timing_samples=2, warmup=1, n_thresholds=5, progress=False)
    p = make_profile(fields, name=name, meta=meta)
    assert p.N == n_blocks and np.all(p.block_time > 0) and np.all(p.branch_time > 0)
    assert p.input_bits == channels * side * side * 32 and p.result_bits == classes * 32
    np.testing.assert_array_equal(p.exit_rate[0], np.eye(n_blocks)[-1])
    assert meta["accuracy_source"].startswith("joint")


def test_branches_copy_the_backbone_classifier():
    bb = make_backbone("mobilenetv2", 1, 5, "stage")
    net = EarlyExitNet.full(bb, (1, 32, 32))
    assert net.branches[str(net.N)] is bb.head
    first = net.branches["1"]
    # Same layers as the classifier (pooling, flatten, dropout, linear), the linear resized to the stem's 32 channels.
    assert [type(m) for m in first.modules()] == [type(m) for m in bb.head.modules()]
    linears = [m for m in first.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(32, 5)]


def test_branch_like_needs_a_linear():
    with pytest.raises(ValueError, match="nn.Linear"):
        branch_like(nn.Sequential(nn.AdaptiveAvgPool2d(1)), 8)


def test_unknown_backbone_and_granularity():
    with pytest.raises(ValueError, match="unknown 'vgg'"):
        make_backbone("vgg", 3, 10)
    with pytest.raises(ValueError, match="granularity"):
        make_backbone("resnet18", 3, 10, "layer")
    from eepart_fast.nn.resnet_cifar import cifar_resnet
    with pytest.raises(ValueError, match="6n\\+2"):
        cifar_resnet(21)


def test_the_torch_free_names_are_the_backbones_built():
    # `eepart train --help` lists choices.BACKBONE_NAMES without torch; backbones.py builds BACKBONES.
    from eepart_fast.nn.backbones import BACKBONES
    from eepart_fast.nn.choices import BACKBONE_NAMES

    assert tuple(BACKBONES) == BACKBONE_NAMES
