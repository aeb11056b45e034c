# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every exit of a network run once on every window of a dataset, and the outcome of any thresholds
derived from those outputs exactly as the early-exit engine (Algorithm 2) would decide: which exit each
window leaves at, its answer and its multiply-accumulates. The sweep, the calibration and the metrics all
start from here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from gnuradio.eeamc.engine import EarlyExitEngine, entropy_log10, parse_thresholds, resolve_device
from gnuradio.eeamc.model_file import Model
from gnuradio.eeamc.networks import EarlyExitNet, fold_batchnorm
from gnuradio.eeamc.quantization import int8_network
from gnuradio.eeamc.windows import normalize
from tqdm import tqdm

from training.datasets import Dataset


@dataclass
class ExitOutputs:
    """What every exit says about every window: enough to replay Algorithm 2 for any thresholds."""

    predictions: np.ndarray  # int64 [exits, N]: argmax of each exit's softmax
    entropies: np.ndarray  # float32 [exits, N]: log10 entropy of each exit's softmax
    labels: np.ndarray  # int64 [N]: true class
    snrs: np.ndarray  # int64 [N]
    macs_per_exit: Callable[[Sequence[bool]], list[int]]  # EarlyExitNet.macs_per_exit
    #: float32 [exits, N, classes]: each exit's softmax (for decisions over several windows)
    probabilities: np.ndarray | None = field(default=None, repr=False)
    _macs_cache: dict[tuple[bool, ...], np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def num_exits(self) -> int:
        return int(self.predictions.shape[0])

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def exit_costs(self, enabled: Sequence[bool]) -> np.ndarray:
        """MACs of a window leaving at each exit when only the ``enabled`` early exits run."""
        key = tuple(bool(e) for e in enabled)
        if key not in self._macs_cache:
            self._macs_cache[key] = np.asarray(self.macs_per_exit(list(key)), dtype=np.int64)
        return self._macs_cache[key]


@dataclass
class Outcome:
    """Per-window result of Algorithm 2 for one threshold vector (derived, or from the engine)."""

    label: np.ndarray  # int64 [N]
    exit: np.ndarray  # int64 [N]
    macs: np.ndarray  # int64 [N]


def as_net(model: Model | EarlyExitNet) -> EarlyExitNet:
    return model.net if isinstance(model, Model) else model


def normalization_of(model: Model | EarlyExitNet) -> str:
    """A bare network gets the windows as they are; a model file names its normalisation."""
    return model.normalization if isinstance(model, Model) else "none"


def model_windows(windows: np.ndarray, normalization: str) -> torch.Tensor:
    """Windows as the model expects them (the block normalises the same way before its engine)."""
    return torch.from_numpy(np.ascontiguousarray(normalize(windows, normalization), dtype=np.float32))


@torch.inference_mode()
def exit_outputs(
    model: Model | EarlyExitNet,
    dataset: Dataset,
    device: str | torch.device = "cpu",
    batch_size: int = 1024,
    precision: str = "fp32",
    int8_params: dict | None = None,
) -> ExitOutputs:
    """Run every exit of the network on every window of ``dataset`` (eval mode, batched), in
    ``precision`` fp32 or int8 (CPU only, with the model's ``int8_params``)."""
    net = as_net(model)
    check_windows(net, dataset)
    target = resolve_device(device)
    net = precise_network(net, precision, int8_params, target)
    count = len(dataset)
    predictions = np.empty((net.num_exits, count), dtype=np.int64)
    entropies = np.empty((net.num_exits, count), dtype=np.float32)
    probabilities = np.empty((net.num_exits, count, net.num_classes), dtype=np.float32)
    for start in tqdm(range(0, count, batch_size), desc="all exits", unit="batch", leave=False):
        stop = min(start + batch_size, count)
        x = model_windows(dataset.x[start:stop], normalization_of(model)).to(target)
        for k, logits in enumerate(net(x)):
            # The same softmax -> max -> entropy as EarlyExitEngine.classify, so outcomes match it.
            p = torch.softmax(logits, dim=1)
            predictions[k, start:stop] = p.max(dim=1).indices.cpu().numpy()
            probabilities[k, start:stop] = p.float().cpu().numpy()
            entropies[k, start:stop] = entropy_log10(p).float().cpu().numpy()
    return ExitOutputs(
        predictions,
        entropies,
        np.asarray(dataset.y, dtype=np.int64),
        np.asarray(dataset.snr, dtype=np.int64),
        net.macs_per_exit,
        probabilities,
    )


def precise_network(
    net: EarlyExitNet, precision: str, int8_params: dict | None, device: torch.device
) -> torch.nn.Module:
    """The network EarlyExitEngine runs in that precision (the folded copy, or its int8 form), so that
    outcomes derived from its outputs match the engine's."""
    if precision == "fp32":
        return fold_batchnorm(net).to(device)
    if precision != "int8":
        raise ValueError(f"precision {precision!r}: evaluation runs fp32 or int8")
    if device.type != "cpu":
        raise ValueError(f"precision int8 runs on the CPU only, device is {device}: use --device cpu")
    if int8_params is None:
        raise ValueError(
            "precision int8 needs the model's int8 parameters: run python -m training quantize first"
        )
    return int8_network(net, int8_params)


def check_windows(net: EarlyExitNet, dataset: Dataset) -> None:
    shape = tuple(dataset.x.shape[1:])
    if shape != (2, net.input_length):
        raise ValueError(
            f"dataset windows are shaped {list(shape)} but the model takes [2, {net.input_length}]: "
            f"load the data with length={net.input_length}"
        )


def derive_outcome(outputs: ExitOutputs, thresholds: Sequence[float] | float) -> Outcome:
    """Algorithm 2 replayed on stored outputs: a window leaves at the first enabled exit whose entropy is
    within its threshold, else at the end of the backbone."""
    values = parse_thresholds(thresholds, outputs.num_exits - 1)
    last = outputs.num_exits - 1
    exits = np.full(len(outputs), last, dtype=np.int64)
    undecided = np.ones(len(outputs), dtype=bool)
    for k, threshold in enumerate(values):
        if threshold == 0:
            continue  # exit off, as in the engine (even for an entropy of exactly 0)
        # Compare in float32 like the engine, whose entropies are float32 tensors.
        leave = undecided & (outputs.entropies[k] <= np.float32(threshold))
        exits[leave] = k
        undecided &= ~leave
    labels = outputs.predictions[exits, np.arange(len(outputs))]
    macs = outputs.exit_costs([t > 0 for t in values])[exits]
    return Outcome(labels, exits, macs)


def engine_outcome(engine: EarlyExitEngine, windows: torch.Tensor, batch_size: int = 1024) -> Outcome:
    """The same outcome from the engine itself (the ground truth derive_outcome is tested against)."""
    parts = [
        engine.classify(windows[start : start + batch_size]) for start in range(0, len(windows), batch_size)
    ]
    return Outcome(
        torch.cat([p.label for p in parts]).numpy(),
        torch.cat([p.exit for p in parts]).numpy(),
        torch.cat([p.macs for p in parts]).numpy(),
    )
