# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Early-exit CNNs for automatic modulation classification.

One backbone (the 1D CNN of Mohammed et al. 2023, itself after the RML22 paper) plus any ordered set of
exit branches tapped from named points of it. The four networks of the paper, V0..V3, are presets with a
single early exit; a cascade is just a longer list of exit points. Both the GNU Radio block and the
training package build their networks here, so there is exactly one definition.

Exit numbering: exit 0 is the first early exit; the last exit is the end of the backbone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

#: The ten RML22 classes in the authors' label order (index = label): what a 10-output network means.
RML22_CLASSES: tuple[str, ...] = (
    "QAM16",
    "QAM64",
    "8PSK",
    "WBFM",
    "BPSK",
    "CPFSK",
    "AM-DSB",
    "GFSK",
    "PAM4",
    "QPSK",
)

#: Names of the backbone stages, in order. An early exit taps the output of one of them.
STAGE_NAMES: tuple[str, ...] = ("conv1", "conv2", "pool2", "conv3", "conv4", "conv5", "conv6")

#: The paper's networks: where the single early exit branches off.
PRESETS: dict[str, tuple[str, ...]] = {
    "baseline": (),
    "v0": ("conv1",),  # after conv 1 and its pool, 64 x 64
    "v1": ("conv2",),  # after conv 2, before its pool, 64 x 64
    "v2": ("conv3",),  # after conv 3, 64 x 32
    "v3": ("conv5",),  # after conv 5, 32 x 32
}

#: The flattened size every exit branch feeds its first Linear layer with (the authors' 1024).
BRANCH_FEATURES = 1024


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """Conv1d(kernel 3, padding 1) -> BatchNorm1d -> ReLU, the backbone's only convolution unit."""
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm1d(out_channels),
        nn.ReLU(inplace=True),
    )


def make_backbone_stages(in_channels: int = 2) -> list[nn.Module]:
    """The backbone split at every point an exit may tap, in the order of STAGE_NAMES."""
    return [
        nn.Sequential(conv_bn_relu(in_channels, 64), nn.MaxPool1d(2, 2)),
        conv_bn_relu(64, 64),
        nn.MaxPool1d(2, 2),
        conv_bn_relu(64, 64),
        conv_bn_relu(64, 32),
        conv_bn_relu(32, 32),
        nn.Sequential(conv_bn_relu(32, 16), nn.MaxPool1d(2, 2), nn.Flatten()),
    ]


def make_head(in_features: int, num_classes: int, dropout: float) -> nn.Sequential:
    """The backbone's classifier: three Linear layers, no activation between them (as the authors')."""
    return nn.Sequential(
        nn.Linear(in_features, 256),
        nn.Dropout(dropout),
        nn.Linear(256, 64),
        nn.Dropout(dropout),
        nn.Linear(64, num_classes),
    )


def make_branch(channels: int, length: int, num_classes: int, dropout: float) -> nn.Sequential:
    """An exit branch: pool down to at most BRANCH_FEATURES features, then three Linear layers."""
    pool = max(1, channels * length // BRANCH_FEATURES)
    layers: list[nn.Module] = [nn.MaxPool1d(pool, pool)] if pool > 1 else []
    layers += [
        nn.Flatten(),
        nn.Linear(channels * (length // pool), 64),
        nn.Dropout(dropout),
        nn.Linear(64, 32),
        nn.Dropout(dropout),
        nn.Linear(32, num_classes),
    ]
    return nn.Sequential(*layers)


def resolve_exits(arch: str | Sequence[str]) -> tuple[str, ...]:
    """Turn a preset name ('v1'), a comma list ('conv2,conv5') or a sequence of stage names into exits."""
    if isinstance(arch, str):
        key = arch.strip().lower()
        if key in PRESETS:
            return PRESETS[key]
        arch = [name.strip() for name in key.split(",") if name.strip()]
    exits = tuple(arch)
    unknown = [name for name in exits if name not in STAGE_NAMES[:-1]]
    if unknown:
        raise ValueError(
            f"unknown exit point(s) {unknown}: choose a preset {sorted(PRESETS)} or stage names "
            f"from {list(STAGE_NAMES[:-1])}"
        )
    order = [STAGE_NAMES.index(name) for name in exits]
    if order != sorted(set(order)):
        raise ValueError(f"exit points {list(exits)} must be distinct and in backbone order")
    return exits


class EarlyExitNet(nn.Module):
    """The backbone plus one branch per early exit.

    ``forward`` returns every exit's logits (early exits first, the backbone's last), which is what
    training needs. Inference goes segment by segment: ``run_segment`` runs the backbone stages between
    two exits, resuming from the intermediate tensor the previous segment returned, and ``exit_logits``
    classifies that tensor at the segment's exit.
    """

    def __init__(
        self,
        exits: str | Sequence[str] = (),
        num_classes: int = 10,
        input_length: int = 128,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if input_length < 8 or input_length % 8:
            raise ValueError(f"input_length must be a positive multiple of 8, got {input_length}")
        self.exit_points = resolve_exits(exits)
        self.num_classes = num_classes
        self.input_length = input_length
        self.stages = nn.ModuleList(make_backbone_stages())
        self.head = make_head(16 * input_length // 8, num_classes, dropout)
        tapped = [STAGE_NAMES.index(name) for name in self.exit_points]
        # Segment k runs stages [bounds[k], bounds[k+1]); the last segment ends the backbone.
        self.segment_bounds = [0, *(index + 1 for index in tapped), len(STAGE_NAMES)]
        self.stage_shapes = stage_output_shapes(self.stages, input_length)
        self.branches = nn.ModuleList(
            make_branch(*self.stage_shapes[index], num_classes, dropout) for index in tapped
        )

    @property
    def num_exits(self) -> int:
        """Early exits plus the backbone's own output."""
        return len(self.exit_points) + 1

    def run_segment(self, h: torch.Tensor, segment: int) -> torch.Tensor:
        """Run the backbone stages of one segment on ``h`` (the input, or the previous segment's output)."""
        for stage in self.stages[self.segment_bounds[segment] : self.segment_bounds[segment + 1]]:
            h = stage(h)
        return h

    def exit_logits(self, h: torch.Tensor, exit_index: int) -> torch.Tensor:
        """Logits of exit ``exit_index`` from the output of its segment."""
        if exit_index == len(self.branches):
            return self.head(h)
        return self.branches[exit_index](h)

    def forward_to_exit(
        self, x: torch.Tensor, exit_index: int, resume_from: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run segments ``resume_from``..``exit_index`` and return (that exit's logits, the tensor there).

        ``x`` is the network input when ``resume_from`` is 0, else the tensor returned at exit
        ``resume_from - 1``; the backbone never reruns the layers before it.
        """
        h = x
        for segment in range(resume_from, exit_index + 1):
            h = self.run_segment(h, segment)
        return self.exit_logits(h, exit_index), h

    def forward(self, x: torch.Tensor, detach_between_segments: bool = False) -> list[torch.Tensor]:
        """Logits of every exit. ``detach_between_segments`` stops each exit's loss from reaching the
        layers of earlier segments (the gradient routing of the paper's Algorithm 1)."""
        outputs = []
        h = x
        for segment in range(self.num_exits):
            if detach_between_segments and segment > 0:
                h = h.detach()
            h = self.run_segment(h, segment)
            outputs.append(self.exit_logits(h, segment))
        return outputs

    def segment_parameters(self, segment: int) -> list[nn.Parameter]:
        """Parameters of one segment's backbone stages and of the exit that closes it."""
        stages = self.stages[self.segment_bounds[segment] : self.segment_bounds[segment + 1]]
        closing = self.head if segment == len(self.branches) else self.branches[segment]
        return [*stages.parameters(), *closing.parameters()]

    def segment_macs(self) -> list[int]:
        """Multiply-accumulates of each segment's backbone stages, for one window."""
        return [
            count_macs(
                nn.Sequential(*self.stages[a:b]),
                (2, self.input_length) if a == 0 else self.stage_shapes[a - 1],
            )
            for a, b in zip(self.segment_bounds, self.segment_bounds[1:])
        ]

    def exit_macs(self) -> list[int]:
        """Multiply-accumulates of each exit's classifier (the branches, then the head), for one window."""
        taps = [self.stage_shapes[bound - 1] for bound in self.segment_bounds[1:]]
        return [count_macs(branch, shape) for branch, shape in zip(self.branches, taps)] + [
            count_macs(self.head, taps[-1])
        ]

    def macs_per_exit(self, enabled: Sequence[bool] | None = None) -> list[int]:
        """Multiply-accumulates a window costs when it leaves at each exit: the backbone up to there,
        the exit's classifier, and every enabled early exit before it (which ran and declined)."""
        enabled = [True] * len(self.branches) if enabled is None else list(enabled)
        segments, classifiers = self.segment_macs(), self.exit_macs()
        totals, spent = [], 0
        for k in range(self.num_exits):
            spent += segments[k]
            totals.append(spent + classifiers[k])
            if k < len(enabled) and enabled[k]:
                spent += classifiers[k]
        return totals


def output_layers(net: EarlyExitNet) -> list[nn.Linear]:
    """Each exit's last layer (the branches', then the head's): the one whose outputs are the logits."""
    return [exit_classifier[-1] for exit_classifier in [*net.branches, net.head]]


@torch.no_grad()
def shift_class_logit(net: EarlyExitNet, class_index: int, offset: float) -> None:
    """Add ``offset`` to one class's logit at every exit (a log-prior shift), in the output biases."""
    if not 0 <= class_index < net.num_classes:
        raise ValueError(f"class index {class_index} is outside the network's {net.num_classes} classes")
    for layer in output_layers(net):
        layer.bias[class_index] += offset


def stage_output_shapes(stages: nn.ModuleList, input_length: int) -> list[tuple[int, ...]]:
    """Output shape (without batch) of every stage for a [2, input_length] window."""
    shapes = []
    with torch.no_grad(), evaluating(stages):  # BatchNorm refuses a batch of one in training mode
        h = torch.zeros(1, 2, input_length)
        for stage in stages:
            h = stage(h)
            shapes.append(tuple(h.shape[1:]))
    return shapes


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode for a probe pass, then restore each one's own mode."""
    modes = {sub: sub.training for sub in module.modules()}
    module.eval()
    try:
        yield module
    finally:
        for sub, training in modes.items():
            sub.training = training


def cpu_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of ``net``'s weights on the CPU, detached from it (for saving, or to keep a best epoch)."""
    return {name: value.detach().cpu().clone() for name, value in net.state_dict().items()}


def fold_batchnorm(net: EarlyExitNet) -> EarlyExitNet:
    """An eval-mode copy of ``net`` for inference, each BatchNorm folded into the convolution before it.

    In eval mode BatchNorm is a fixed per-channel scale and shift, so folding it into the convolution's
    weights gives the same outputs (to float rounding) for less CPU time: one pass less over every
    activation (benchmarks/bench_classifier.py's "BatchNorm unfolded" row measures the difference).
    ``net`` itself is left as it is, trainable.
    """
    folded = copy.deepcopy(net).eval()
    for unit in folded.modules():
        if isinstance(unit, nn.Sequential):
            for i in range(len(unit) - 1):
                if isinstance(unit[i], nn.Conv1d) and isinstance(unit[i + 1], nn.BatchNorm1d):
                    unit[i] = fuse_conv_bn_eval(unit[i], unit[i + 1])
                    unit[i + 1] = nn.Identity()
    return folded.requires_grad_(False)


def count_macs(module: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of the Conv1d and Linear layers of ``module`` for one input of that shape."""
    macs = 0

    def conv_hook(layer: nn.Conv1d, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal macs
        macs += output.shape[1] * output.shape[2] * layer.in_channels * layer.kernel_size[0]

    def linear_hook(layer: nn.Linear, _inputs: tuple, _output: torch.Tensor) -> None:
        nonlocal macs
        macs += layer.in_features * layer.out_features

    handles = []
    for layer in module.modules():
        if isinstance(layer, nn.Conv1d):
            handles.append(layer.register_forward_hook(conv_hook))
        elif isinstance(layer, nn.Linear):
            handles.append(layer.register_forward_hook(linear_hook))
    try:
        with torch.no_grad(), evaluating(module):
            module(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
    return macs


def build_network(arch: str | Sequence[str], num_classes: int = 10, input_length: int = 128) -> EarlyExitNet:
    """A network by preset name ('baseline', 'v0'..'v3') or exit list ('conv2,conv5')."""
    return EarlyExitNet(resolve_exits(arch), num_classes=num_classes, input_length=input_length)


def count_parameters(net: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
