"""An early-exit network: a backbone cut into N blocks, with an exit branch after chosen blocks.

Branch i copies the backbone's own final classifier (pooling + linear layers), resized to block i's
output, as the paper does; the branch after the last block is that classifier itself.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class Backbone:
    """A backbone as an ordered list of blocks with one tensor between neighbours, plus its classifier.

    `head` maps the last block's output to logits and holds the pooling, so copies of it can sit
    after any block.
    """

    name: str
    blocks: list
    head: nn.Module
    info: dict = field(default_factory=dict)


def branch_like(head: nn.Module, in_features: int) -> nn.Module:
    """A fresh copy of `head` whose first linear layer takes `in_features` inputs."""
    branch = copy.deepcopy(head)
    for parent in branch.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                setattr(parent, name, nn.Linear(in_features, child.out_features, bias=child.bias is not None))
                return branch
    raise ValueError("head: the backbone's classifier has no nn.Linear to resize for a branch")


class EarlyExitNet(nn.Module):
    """Blocks 1..n and branches keyed by the (1-based) block they follow; forward returns every exit's logits."""

    def __init__(self, blocks, branches: dict):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        bad = [i for i in branches if not 1 <= int(i) <= len(self.blocks)]
        if bad:
            raise ValueError(f"branches: exit {bad[0]} is outside blocks 1..{len(self.blocks)}")
        self.exits = sorted(int(i) for i in branches)
        self.branches = nn.ModuleDict({str(i): branches[i] for i in sorted(branches, key=int)})

    @classmethod
    def full(cls, backbone: Backbone, input_shape) -> EarlyExitNet:
        """The full configuration: a branch after every block, sized by a probe of `input_shape` (C, H, W)."""
        was_training = [b.training for b in backbone.blocks]
        x = torch.zeros(2, *input_shape)
        widths = []
        with torch.no_grad():
            for block in backbone.blocks:
                block.eval()
                x = block(x)
                if x.dim() < 2:
                    raise ValueError(f"backbone {backbone.name}: a block's output has shape {tuple(x.shape)}")
                widths.append(int(x.shape[1]))
        for block, mode in zip(backbone.blocks, was_training):
            block.train(mode)
        n = len(backbone.blocks)
        branches = {i: branch_like(backbone.head, w) for i, w in enumerate(widths[:-1], 1)}
        branches[n] = backbone.head
        return cls(backbone.blocks, branches)

    @property
    def N(self) -> int:
        return len(self.blocks)

    def forward(self, x):
        out = []
        for i, block in enumerate(self.blocks, 1):
            x = block(x)
            branch = self.branches[str(i)] if str(i) in self.branches else None
            if branch is not None:
                out.append(branch(x))
        return out

    def separate(self, i: int) -> EarlyExitNet:
        """A copy of blocks 1..i and branch i alone: the separate model for exit i (paper 2.2)."""
        if i not in self.exits:
            raise ValueError(f"exit: {i} is not one of this network's exits {self.exits}")
        return EarlyExitNet(copy.deepcopy(list(self.blocks[:i])), {i: copy.deepcopy(self.branches[str(i)])})
