# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The training schemes: what one optimizer step back-propagates, each exit's loss and weight, and which
parameters train.

The paper's Algorithm 1 (scheme "paper"): one forward pass with the graph cut between segments, then the
sum of the exits' cross-entropy losses goes back in one backward pass, so each exit's loss reaches only
its own segment and branch. Scheme "joint": a weighted sum of all exit losses through the whole network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from gnuradio.eeamc.networks import EarlyExitNet
from torch import nn

SCHEMES = ("paper", "joint")


def parse_exit_weights(text: str | None, num_exits: int, scheme: str) -> list[float]:
    """One non-negative weight per exit; the scheme's default when none are given."""
    if not text:
        return [1.0] * num_exits if scheme == "paper" else [1.0 / num_exits] * num_exits
    try:
        weights = [float(w) for w in text.split(",") if w.strip()]
    except ValueError as error:
        raise ValueError(f"--exit-weights {text!r}: expected numbers separated by commas") from error
    if len(weights) != num_exits or any(not math.isfinite(w) or w < 0 for w in weights) or not any(weights):
        raise ValueError(
            f"--exit-weights {text!r}: need {num_exits} non-negative weights (early exits first, "
            "the backbone's last), not all zero"
        )
    return weights


def exit_losses(outputs: Sequence[torch.Tensor], y: torch.Tensor) -> list[torch.Tensor]:
    """Cross-entropy of every exit's logits."""
    return [nn.functional.cross_entropy(logits, y) for logits in outputs]


def combined_loss(losses: Sequence[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """Weighted sum of the exit losses. Exits of weight 0 are left out of the graph entirely, so layers
    only they would train keep ``grad = None`` and Adam (weight decay included) leaves them untouched."""
    terms = [w * loss for w, loss in zip(weights, losses) if w != 0]
    return torch.stack(terms).sum()


def forward_for_scheme(net: EarlyExitNet | nn.Module, x: torch.Tensor, scheme: str) -> list[torch.Tensor]:
    """Every exit's logits; for the paper's scheme with the graph cut between segments (Algorithm 1).
    ``net`` may be the DistributedDataParallel wrapper of an EarlyExitNet (it passes the keyword on)."""
    return net(x, detach_between_segments=scheme == "paper")


def biases_before_batchnorm(net: nn.Module) -> list[nn.Parameter]:
    """Convolution biases that a BatchNorm directly follows (every conv of the backbone)."""
    return [
        block[0].bias
        for block in net.modules()
        if isinstance(block, nn.Sequential)
        and len(block) > 1
        and isinstance(block[0], nn.Conv1d)
        and isinstance(block[1], nn.BatchNorm1d)
        and block[0].bias is not None
    ]


def trainable_parameters(net: nn.Module) -> list[nn.Parameter]:
    """What the optimiser updates: everything except the conv biases in front of a BatchNorm, which are
    zeroed and held there. In training mode BatchNorm subtracts them again, so their gradient is ~0, yet
    Adam still moves them by about lr per step (its step does not shrink with the gradient, and weight
    decay adds a pull). After conv 1, whose outputs are ~3e-3 for x/sum|x| windows, a 1e-3 wobble per
    step is a third of the signal: the running mean BatchNorm uses in eval mode cannot follow it, and
    validation accuracy collapsed to chance in our first full-size run. The parameters stay in the
    network, so the model file and the parameter count are the authors'."""
    frozen = {id(bias) for bias in biases_before_batchnorm(net)}
    with torch.no_grad():
        for bias in biases_before_batchnorm(net):
            bias.zero_()
    return [p for p in net.parameters() if id(p) not in frozen]


def train_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    scheme: str,
    weights: Sequence[float],
    scale: float = 1.0,
) -> tuple[list[float], list[int]]:
    """One optimizer step; returns each exit's loss and number of correct answers on the batch.

    ``net`` is the network or its DistributedDataParallel wrapper. ``scale`` multiplies the loss that
    goes back (not the losses returned): DDP averages the processes' gradients, so a process holding
    ``n`` of a global batch's ``N`` windows scales by ``n * processes / N`` and the step is that of the
    global batch's mean loss even when the batch does not divide evenly."""
    optimizer.zero_grad(set_to_none=True)
    outputs = forward_for_scheme(net, x, scheme)
    losses = exit_losses(outputs, y)
    loss = combined_loss(losses, weights)
    (loss if scale == 1.0 else loss * scale).backward()
    optimizer.step()
    correct = [int((logits.argmax(dim=1) == y).sum()) for logits in outputs]
    return [float(loss.detach()) for loss in losses], correct
