"""A tiny untrained early-exit network (ResNet-8, width 4, 8 x 8 grey images, 10 classes) and random data
for it: the profiler's path in seconds without a dataset or training, for tests/test_energy_readers.py and
tools/energy_check.py."""
from __future__ import annotations


def tiny_net_and_data(profile_size: int = 6, seed: int = 0):
    """(net, Data) with train / profile / test splits of random images and labels."""
    import torch

    from eepart_fast.nn.data import ArraySplit, Data
    from eepart_fast.nn.earlyexit import EarlyExitNet
    from eepart_fast.nn.resnet_cifar import cifar_resnet

    torch.manual_seed(seed)
    net = EarlyExitNet.full(cifar_resnet(8, in_channels=1, classes=10, width=4), (1, 8, 8))
    gen = torch.Generator().manual_seed(seed)

    def split(n):
        return ArraySplit(torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8, generator=gen),
                          torch.randint(0, 10, (n,), generator=gen), (0.5,), (0.25,))
    return net, Data("random", split(4), split(profile_size), split(6), 1, (8, 8), 10)
