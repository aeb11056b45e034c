# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's CPU layout: a folded network rebuilt to run its convolutions channels-last.

PyTorch's CPU convolution (oneDNN) is slow on the plain [batch, channels, length] layout when a layer
has few input channels: the first layer (2 channels, I and Q) took about 10x the time of the same
product run channels-last, more than the 16x larger second convolution (measured on a 2-core AMD EPYC,
AVX2, one torch thread, batch 256: about 11 ms against about 1 ms). Run as 2-D convolutions on
[batch, channels, 1, length] tensors stored channels-last, every layer is at least as fast, and
the first one no longer dominates. Same weights and products, so the outputs agree to float rounding.

``channels_last_network`` returns a copy of an ``EarlyExitNet`` whose stages and branches do exactly
this: the module tree keeps its shape (stage i is still ``net.stages[i]``), only the leaves change, so
``run_segment`` / ``exit_logits`` and forward hooks work as before. The network takes the usual
[batch, 2, length] input; tensors between segments are 4-D and channels-last.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .networks import EarlyExitNet


class ChannelsLastConv(nn.Module):
    """A Conv1d run as a 2-D convolution over [batch, channels, 1, length], channels-last."""

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        if conv.stride != (1,) or conv.dilation != (1,) or conv.groups != 1 or conv.padding_mode != "zeros":
            raise ValueError(f"only plain stride-1 convolutions are converted, got {conv}")
        weight = conv.weight.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last)
        self.weight = nn.Parameter(weight, requires_grad=False)
        bias = conv.bias.detach().clone() if conv.bias is not None else None
        self.bias = None if bias is None else nn.Parameter(bias, requires_grad=False)
        self.padding = (0, conv.padding[0])
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.conv2d(h, self.weight, self.bias, padding=self.padding)


class ChannelsLastPool(nn.Module):
    """MaxPool1d(k, k) over the length of a [batch, channels, 1, length] channels-last tensor.

    Done as a max over neighbouring rows of its memory ([batch, 1, length, channels]): F.max_pool2d
    with a (1, k) kernel took 5 ms channels-last (14 ms plain) for the first pool at batch 256, this
    0.3 ms (k = 2, torch.maximum of the two halves) or 0.5 ms (k = 4, amax); same values, NaN included.
    """

    def __init__(self, pool: nn.MaxPool1d) -> None:
        super().__init__()
        kernel, stride = as_int(pool.kernel_size), as_int(pool.stride or pool.kernel_size)
        if kernel != stride or pool.padding not in (0, (0,)) or pool.dilation not in (1, (1,)):
            raise ValueError(
                f"only max pools with stride = kernel, no padding or dilation are converted: {pool}"
            )
        self.kernel = kernel
        self.relu = False  # ReLU after the max (see pool_before_relu)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        rows = h.permute(0, 2, 3, 1)  # [batch, 1, length, channels]: contiguous for channels-last
        length = rows.shape[2] // self.kernel  # floor, as MaxPool1d drops a partial last window
        groups = rows[:, :, : length * self.kernel].unflatten(2, (length, self.kernel))
        if self.kernel == 2:
            pooled = torch.maximum(groups[:, :, :, 0], groups[:, :, :, 1])
        else:
            pooled = groups.amax(dim=3)
        if self.relu:
            pooled.clamp_min_(0.0)  # a new tensor: in place is safe
        return pooled.permute(0, 3, 1, 2)


class ChannelsLastFlatten(nn.Module):
    """Flatten a [batch, channels, 1, length] channels-last tensor to [batch, length * channels] as it
    lies in memory (no copy); the Linear layer it feeds has its weight columns put in that order
    (``reorder_columns``), so the products are the trained ones."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.permute(0, 2, 3, 1).flatten(1)  # a view: channels-last memory is [batch, 1, L, C]


def reorder_columns(linear: nn.Linear, channels: int, length: int) -> None:
    """A Linear layer trained on (channel, position)-ordered features, made to take (position, channel)."""
    if linear.in_features != channels * length:
        raise ValueError(f"{linear} does not take the {channels} x {length} features flattened before it")
    weight = linear.weight.detach().view(linear.out_features, channels, length).permute(0, 2, 1)
    linear.weight = nn.Parameter(weight.reshape(linear.out_features, -1).contiguous(), requires_grad=False)


class ToChannelsLast(nn.Module):
    """The network's [batch, channels, length] input as [batch, channels, 1, length], channels-last."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def as_int(value: int | tuple[int, ...]) -> int:
    return int(value[0]) if isinstance(value, tuple) else int(value)


def convert(module: nn.Module) -> nn.Module:
    """The channels-last equivalent of one leaf module (ReLU, Identity, Dropout and Linear stay)."""
    if isinstance(module, nn.Conv1d):
        return ChannelsLastConv(module)
    if isinstance(module, nn.MaxPool1d):
        return ChannelsLastPool(module)
    if isinstance(module, nn.Flatten):
        return ChannelsLastFlatten()  # the Linear after it: see reorder_flattened_features
    if isinstance(module, nn.BatchNorm1d):
        raise ValueError("fold BatchNorm into the convolutions first (networks.fold_batchnorm)")
    return module


def leaves(module: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """(parent, name, leaf) of every leaf module under ``module``, in the order they run."""
    found = []
    for name, child in module.named_children():
        found += leaves(child) if len(list(child.children())) else [(module, name, child)]
    return found


def pool_before_relu(stage: nn.Module) -> None:
    """Within one stage, ReLU then max pool becomes max pool then ReLU (max and ReLU commute): the ReLU
    touches half the values. Stage outputs (where exits tap) are unchanged."""
    order = leaves(stage)
    for (parent, name, module), (_, _, following) in zip(order, order[1:]):
        if isinstance(module, nn.ReLU) and isinstance(following, ChannelsLastPool):
            setattr(parent, name, nn.Identity())
            following.relu = True


def convert_children(module: nn.Module) -> None:
    for name, child in module.named_children():
        if len(list(child.children())) == 0:
            setattr(module, name, convert(child))
        else:
            convert_children(child)


def flattened_shapes(net: EarlyExitNet) -> dict[str, tuple[int, int]]:
    """The (channels, length) each Flatten of ``net`` receives, by module name (a probe pass)."""
    shapes: dict[str, tuple[int, int]] = {}
    handles = [
        module.register_forward_hook(
            lambda _module, inputs, _output, name=name: shapes.__setitem__(name, tuple(inputs[0].shape[1:]))
        )
        for name, module in net.named_modules()
        if isinstance(module, nn.Flatten)
    ]
    try:
        with torch.inference_mode():
            net(torch.zeros(1, 2, net.input_length))
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def reorder_flattened_features(net: EarlyExitNet, shapes: dict[str, tuple[int, int]]) -> None:
    """For each Flatten (by name), reorder the columns of the Linear layer that consumes its output: the
    next Linear in module order (a branch's own, or the head's after the backbone's last stage)."""
    names = [name for name, _ in net.named_modules()]
    modules = dict(net.named_modules())
    for name, (channels, length) in shapes.items():
        after = names[names.index(name) + 1 :]
        consumer = next(modules[n] for n in after if isinstance(modules[n], nn.Linear))
        reorder_columns(consumer, channels, length)


def channels_last_network(folded: EarlyExitNet) -> EarlyExitNet:
    """A copy of ``folded`` (BatchNorm already folded, eval mode) that runs channels-last on the CPU;
    ``folded`` itself is left as it is."""
    net = copy.deepcopy(folded)
    shapes = flattened_shapes(net)
    convert_children(net.stages)
    convert_children(net.branches)
    reorder_flattened_features(net, shapes)
    for stage in net.stages:
        pool_before_relu(stage)
    # The input is converted by the first stage, so run_segment(x, 0) takes the usual 3-D windows.
    net.stages[0] = nn.Sequential(ToChannelsLast(), *net.stages[0])
    return net.eval().requires_grad_(False)


def gather_rows(h: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Rows ``rows`` of a batch in one index_select, kept in ``h``'s memory layout: a channels-last
    tensor (the fp32 CPU network's, and the int8 convolutions' outputs) stays channels-last, so the next
    convolution does not convert it back (an int8 segment ran 2x slower on a plain-layout gather)."""
    order = sorted(range(h.dim()), key=lambda d: -h.stride(d))  # outermost dimension first (stable)
    physical = h.permute(*order)
    if h.is_contiguous() or order[0] != 0 or not physical.is_contiguous():
        return h.index_select(0, rows)
    return physical.index_select(0, rows).permute(*[order.index(d) for d in range(h.dim())])
