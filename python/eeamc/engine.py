# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Batched early-exit inference (the paper's Algorithm 2, for a whole batch at once).

Plain PyTorch, no GNU Radio: the block, the evaluation code and the benchmarks all classify through
``EarlyExitEngine.classify``. Windows whose entropy at an exit is within that exit's threshold leave
there; only the others are gathered and carried through the deeper layers, resuming from the tensor
saved at the exit, so a window that left early never costs another backbone layer.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .networks import EarlyExitNet, fold_batchnorm

#: Windows per classify() call the block uses unless told otherwise (its max_batch); evaluation times
#: batches of this size.
DEFAULT_MAX_BATCH = 256


@dataclass
class Classification:
    """Per-window results of one ``classify`` call (tensors on the CPU, one row per window)."""

    label: torch.Tensor  # int64 [B], class index
    exit: torch.Tensor  # int64 [B], 0 = first early exit, num_exits - 1 = end of the backbone
    entropy: torch.Tensor  # float32 [B], log10 entropy at the exit taken
    confidence: torch.Tensor  # float32 [B], the largest softmax probability
    probabilities: torch.Tensor  # float32 [B, classes]
    macs: torch.Tensor  # int64 [B], multiply-accumulates spent on the window

    def __len__(self) -> int:
        return int(self.label.shape[0])


def entropy_log10(probabilities: torch.Tensor) -> torch.Tensor:
    """E = -sum p log10 p per row, with 0 log 0 = 0 (as scipy.stats.entropy(base=10))."""
    return -(probabilities * torch.log10(probabilities.clamp_min(1e-30))).sum(dim=1)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' (CUDA when present), 'cpu', 'cuda' or 'cuda:N', checked against what this machine has."""
    name = str(device).strip().lower() or "auto"
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"device {device!r} is not a device name: use auto, cpu, cuda or cuda:N") from error
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = resolved.index or 0
        if index >= count:
            raise ValueError(
                f"device {device!r} is not available: this machine has {count} CUDA device(s) "
                f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); use device 'cpu' or 'auto'"
            )
    elif resolved.type != "cpu":
        raise ValueError(f"device {device!r} is not supported: use auto, cpu, cuda or cuda:N")
    return resolved


class EarlyExitEngine:
    """Classifies batches of windows [B, 2, L] with early exits.

    ``thresholds`` holds one entropy threshold per early exit; a threshold of 0 switches that exit off
    (even for a window whose entropy is exactly 0), so all zeros is the plain backbone. The engine runs
    its own copy of ``net`` with BatchNorm folded into the convolutions (``fold_batchnorm``): later
    changes to ``net`` do not reach it.
    """

    def __init__(
        self,
        net: EarlyExitNet,
        thresholds: Sequence[float] | float | None = None,
        device: str | torch.device = "auto",
    ) -> None:
        self.device = resolve_device(device)
        self.net = fold_batchnorm(net).to(self.device)
        self.thresholds = [0.0] * (net.num_exits - 1)
        self.set_thresholds(0.0 if thresholds is None else thresholds)

    @property
    def num_exits(self) -> int:
        return self.net.num_exits

    def set_thresholds(self, thresholds: Sequence[float] | float) -> None:
        """One value for every early exit, or one per early exit; negative, NaN or Inf is refused."""
        values = parse_thresholds(thresholds, len(self.thresholds))
        self.thresholds = values
        # A disabled exit's branch is never run, so it costs nothing.
        enabled = [t > 0 for t in values]
        self.exit_macs = torch.tensor(self.net.macs_per_exit(enabled), dtype=torch.int64)

    @torch.inference_mode()
    def classify(self, windows: torch.Tensor) -> Classification:
        """Classify a batch [B, 2, L] (already normalised as the model expects)."""
        if windows.dim() != 3 or windows.shape[1] != 2 or windows.shape[2] != self.net.input_length:
            raise ValueError(
                f"expected windows shaped [batch, 2, {self.net.input_length}], got {list(windows.shape)}"
            )
        batch = windows.shape[0]
        num_classes = self.net.num_classes
        probabilities = torch.zeros(batch, num_classes)
        entropy = torch.zeros(batch)
        exits = torch.full((batch,), self.num_exits - 1, dtype=torch.int64)

        h = windows.to(self.device, torch.float32, non_blocking=True)
        pending = torch.arange(batch, device=self.device)  # original row of each row of h
        for exit_index in range(self.num_exits):
            h = self.net.run_segment(h, exit_index)
            last = exit_index == self.num_exits - 1
            if not last and self.thresholds[exit_index] == 0:
                continue  # exit switched off: its branch is not even run
            p = torch.softmax(self.net.exit_logits(h, exit_index), dim=1)
            e = entropy_log10(p)
            leave = torch.ones_like(e, dtype=torch.bool) if last else e <= self.thresholds[exit_index]
            rows = pending[leave].cpu()
            probabilities[rows] = p[leave].float().cpu()
            entropy[rows] = e[leave].float().cpu()
            exits[rows] = exit_index
            stay = ~leave
            if not bool(stay.any()):
                break
            h, pending = h[stay], pending[stay]

        confidence, label = probabilities.max(dim=1)
        return Classification(label, exits, entropy, confidence, probabilities, self.exit_macs[exits])


def parse_thresholds(thresholds: Sequence[float] | float, num_early_exits: int) -> list[float]:
    """One value for every early exit, or one per early exit, each finite and >= 0 (0 turns an exit
    off); ValueError naming the problem otherwise. The engine, calibration and evaluation all use this."""
    values = (
        [float(thresholds)] * num_early_exits
        if isinstance(thresholds, numbers.Real)
        else [float(t) for t in thresholds]
    )
    if len(values) != num_early_exits:
        raise ValueError(f"expected {num_early_exits} threshold(s), one per early exit, got {len(values)}")
    bad = invalid_thresholds(values)
    if bad:
        raise ValueError(f"thresholds must be finite and >= 0 (0 disables an exit), got {bad}")
    return values


def invalid_thresholds(values: Sequence[float]) -> list[float]:
    """The values that are no threshold: negative, NaN or infinite."""
    return [t for t in values if not math.isfinite(t) or t < 0]


def requested_thresholds(
    threshold: float | Sequence[float] | None, calibrated: Sequence[float]
) -> Sequence[float] | float:
    """What a block's ``threshold`` parameter means: -1 (any negative) or None = the model's
    ``calibrated`` thresholds, 0 = early exits off, else one value for every exit (or one per exit)."""
    if threshold is None or (isinstance(threshold, numbers.Real) and float(threshold) < 0):
        return list(calibrated)
    return float(threshold) if isinstance(threshold, numbers.Real) else [float(t) for t in threshold]


def classify_in_batches(engine: EarlyExitEngine, windows: torch.Tensor, max_batch: int) -> Classification:
    """Classify any number of windows in engine calls of at most ``max_batch`` (results concatenated)."""
    parts = [engine.classify(windows[i : i + max_batch]) for i in range(0, len(windows), max_batch)]
    if len(parts) == 1:
        return parts[0]
    return Classification(
        *(torch.cat([getattr(part, name) for part in parts]) for name in Classification.__dataclass_fields__)
    )
