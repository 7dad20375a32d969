"""The CIFAR-style ResNet of He et al. (2016, section 4.2): 6n+2 layers, three stages of n basic blocks.

ResNet-20 (n = 3) cuts into N = 10 blocks: the stem and nine residual blocks, as in the paper.
Shortcuts are option A (subsample and zero-pad channels), parameter-free as in the original.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .earlyexit import Backbone


class Stem(nn.Sequential):
    def __init__(self, in_channels: int, width: int):
        super().__init__(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                         nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def shortcut(self, x):
        if self.stride != 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.pad:
            x = F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return x

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def _init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight)


def cifar_resnet(depth: int = 20, in_channels: int = 3, classes: int = 10, width: int = 16) -> Backbone:
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth: a CIFAR ResNet has 6n+2 layers (8, 14, 20, 32, ...), got {depth}")
    n = (depth - 2) // 6
    blocks = [Stem(in_channels, width)]
    cin = width
    for stage in range(3):
        cout = width * 2 ** stage
        for b in range(n):
            blocks.append(BasicBlock(cin, cout, 2 if stage and b == 0 else 1))
            cin = cout
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))
    for m in (*blocks, head):
        _init(m)
    return Backbone(f"resnet{depth}", blocks, head, {"depth": depth, "width": width, "shortcut": "A"})
