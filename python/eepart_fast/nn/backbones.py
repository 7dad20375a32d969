"""Backbones by name: the CIFAR ResNets and torchvision models cut into their natural units.

granularity "block" cuts at the finest architectural element (residual block, inverted residual,
Inception module), the paper's notion of a block; "stage" merges the units of one stage (same
resolution and width) into one block. The stem is always block 1. No weights are downloaded.
"""
from __future__ import annotations

from torch import nn

from .choices import GRANULARITIES
from .earlyexit import Backbone
from .resnet_cifar import cifar_resnet


def _group(units, granularity: str):
    """Merge consecutive (module, stage) units of one stage when granularity is 'stage'."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity: expected one of {GRANULARITIES}, got {granularity!r}")
    if granularity == "block":
        return [m for m, _ in units], [s for _, s in units]
    blocks, stages = [], []
    for module, stage in units:
        if stages and stages[-1] == stage:
            blocks[-1].append(module)
        else:
            blocks.append(nn.Sequential(module))
            stages.append(stage)
    return blocks, stages


def _new_conv(old: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                     bias=old.bias is not None)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return conv


def tv_resnet(depth: int, in_channels: int = 3, classes: int = 10, granularity: str = "block") -> Backbone:
    import torchvision.models as tvm
    m = {18: tvm.resnet18, 34: tvm.resnet34, 50: tvm.resnet50, 101: tvm.resnet101}[depth](weights=None,
                                                                                         num_classes=classes)
    if in_channels != 3:
        m.conv1 = _new_conv(m.conv1, in_channels)
    units = [(nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool), "stem")]
    for k in range(1, 5):
        units += [(block, f"layer{k}") for block in getattr(m, f"layer{k}")]
    blocks, stages = _group(units, granularity)
    head = nn.Sequential(m.avgpool, nn.Flatten(1), m.fc)
    return Backbone(f"resnet{depth}", blocks, head, {"source": f"torchvision.models.resnet{depth}",
                                                      "granularity": granularity, "stages": stages})


def tv_mobilenet_v2(in_channels: int = 3, classes: int = 10, granularity: str = "block") -> Backbone:
    import torchvision.models as tvm
    m = tvm.mobilenet_v2(weights=None, num_classes=classes)
    if in_channels != 3:
        m.features[0][0] = _new_conv(m.features[0][0], in_channels)
    # The inverted-residual settings (t, c, n, s) of the paper: n blocks per stage.
    per_stage = [1, 2, 3, 4, 3, 3, 1]
    labels = ["stem"] + [f"bottleneck{s + 1}" for s, n in enumerate(per_stage) for _ in range(n)] + ["last_conv"]
    units = list(zip(m.features, labels))
    blocks, stages = _group(units, granularity)
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), m.classifier)
    return Backbone("mobilenetv2", blocks, head, {"source": "torchvision.models.mobilenet_v2",
                                                   "granularity": granularity, "stages": stages})


def tv_inception_v3(in_channels: int = 3, classes: int = 10, granularity: str = "block") -> Backbone:
    """Inception V3 needs inputs of at least 75 x 75."""
    import torchvision.models as tvm
    from torchvision.models.inception import BasicConv2d
    m = tvm.inception_v3(weights=None, aux_logits=False, init_weights=True, transform_input=False,
                         num_classes=classes)
    if in_channels != 3:
        m.Conv2d_1a_3x3 = BasicConv2d(in_channels, 32, kernel_size=3, stride=2)
    stem = nn.Sequential(m.Conv2d_1a_3x3, m.Conv2d_2a_3x3, m.Conv2d_2b_3x3, m.maxpool1, m.Conv2d_3b_1x1,
                         m.Conv2d_4a_3x3, m.maxpool2)
    units = [(stem, "stem")]
    units += [(getattr(m, f"Mixed_5{c}"), "mixed5") for c in "bcd"]
    units += [(getattr(m, f"Mixed_6{c}"), "mixed6") for c in "abcde"]
    units += [(getattr(m, f"Mixed_7{c}"), "mixed7") for c in "abc"]
    blocks, stages = _group(units, granularity)
    head = nn.Sequential(m.avgpool, m.dropout, nn.Flatten(1), m.fc)
    return Backbone("inceptionv3", blocks, head, {"source": "torchvision.models.inception_v3",
                                                   "granularity": granularity, "stages": stages})


BACKBONES = {
    "resnet8": lambda c, k, g: cifar_resnet(8, c, k),
    "resnet20": lambda c, k, g: cifar_resnet(20, c, k),
    "resnet32": lambda c, k, g: cifar_resnet(32, c, k),
    "resnet18": lambda c, k, g: tv_resnet(18, c, k, g),
    "resnet34": lambda c, k, g: tv_resnet(34, c, k, g),
    "resnet50": lambda c, k, g: tv_resnet(50, c, k, g),
    "mobilenetv2": lambda c, k, g: tv_mobilenet_v2(c, k, g),
    "inceptionv3": lambda c, k, g: tv_inception_v3(c, k, g),
}


def make_backbone(name: str, in_channels: int, classes: int, granularity: str = "block") -> Backbone:
    """A fresh, randomly initialised backbone (seed torch first for a fixed initialisation)."""
    if name not in BACKBONES:
        raise ValueError(f"backbone: unknown {name!r}; choose one of {', '.join(BACKBONES)}")
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity: expected one of {GRANULARITIES}, got {granularity!r}")
    return BACKBONES[name](in_channels, classes, granularity)
