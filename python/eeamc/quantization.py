# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""int8 inference for the early-exit networks (CPU only), kept apart from the float network as
torchvision keeps its quantizable models.

``calibrate_int8(net, windows)`` runs the BatchNorm-folded float network on training windows and picks
one scale and zero point per activation (the input, every convolution's ReLU output, every Linear's
output but each exit's last) from histograms, the range that minimises the expected squared
quantisation error. The result is plain data (numbers and strings) that the model file stores.
``int8_network(net, params)`` builds the int8 network from the float weights and those numbers:
per-output-channel symmetric int8 weights, uint8 activations, each conv fused with its ReLU; each exit's
last Linear has int8 weights and an int8 input but returns float logits, so softmax and entropy (the
early-exit decision) are computed in float as in fp32.

The tool, chosen by measurement (benchmarks/bench_int8.py; the commit that added this file has the
figures): torch's quantized CPU kernels called directly through ``torch.ops.quantized``, the
convolutions packed for oneDNN (1.4x faster than fbgemm's on this AVX2 EPYC, the 2-channel first layer
2x) and the Linear layers for fbgemm (the ``x86`` engine; its float-output Linear has no oneDNN form).
``torch.ao.quantization`` (eager-mode prepare/convert) runs fbgemm's kernels too, about 10 % slower
from its module overhead, and prints deprecation warnings in torch 2.13; its successor (PT2E via
torchao and torch.export) is not installed here and has open bugs. The one warning left, torch's
"quantized tensor creation functions are deprecated", is raised once per process by the first
quantize call; ``quiet_quantization`` catches it around the calls that can raise it and nowhere else.

Activations use 7 of their 8 bits (0..127): on a CPU without VNNI (AVX2 only, as here) the kernels sum
two uint8 x int8 products in an int16 (vpmaddubsw) that saturates for full-range activations; torch's
own x86 qconfig does the same (reduce_range). Measured on the shipped model (RML22 nominal test
windows): with 8 bits int8 agreed with fp32 on 82 % (early exit) and 90 % (backbone) of the windows and
lost 1 pp at >= 10 dB; with 7 bits 95.5 % and 95.5 %, and accuracy within 0.1 pp.
"""

from __future__ import annotations

import hashlib
import math
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .channels_last import gather_rows
from .engine import DEFAULT_MAX_BATCH
from .networks import EarlyExitNet, fold_batchnorm

#: What a block's, the engine's or a command's ``precision`` may be.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "int8")

#: The int8 parameters' own format tag and version (inside the model file's ``int8`` section).
PARAMS_FORMAT = "gr-eeamc-int8"
PARAMS_VERSION = 1

#: torch's quantized CPU engines the kernels come from: oneDNN's convolutions, fbgemm's (x86) Linear
#: layers (the float-output Linear exists only there).
CONV_ENGINE = "onednn"
LINEAR_ENGINE = "x86"
ENGINES = (CONV_ENGINE, LINEAR_ENGINE)

#: Largest activation code: 7 bits, so the kernels' int16 pair sums cannot saturate without VNNI.
ACTIVATION_QMAX = 127
#: Weights: symmetric int8, per output channel.
WEIGHT_QMAX = 127

#: Histogram bins per activation for choosing its range.
HISTOGRAM_BINS = 2048
#: Tail masses (each side) clipped by the candidate ranges; the one with the least expected error wins.
TAIL_MASSES = (0.0, 1e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
#: Windows per forward pass during calibration.
CALIBRATION_BATCH = 1024
#: oneDNN keeps, per packed convolution, one primitive: the one made for the first input shape it ran on;
#: any other batch size builds a new primitive on every call (about 40 us per convolution on this
#: project's EPYC: 0.29 ms a batch for V1, 5 % of a batch of 256 windows, 37 % of one of 8). So a segment
#: pads its batch with copies of its last window up to a multiple of PAD_ROWS, and each padded size up to
#: MAX_PADDED_ROWS (the blocks' default max_batch) gets its own packed weights, made the first time it
#: runs or, in the blocks, all at once when they make their engine (Int8EarlyExitNet.pack_every_size;
#: 5-10 ms and 0.7 MiB each with oneDNN's primitive, 22 MiB for all 32 sizes);
#: larger batches run unpadded on one more copy, at the cost of the new primitive.
PAD_ROWS = 8
MAX_PADDED_ROWS = DEFAULT_MAX_BATCH
#: The CPU capabilities (torch.backends.cpu.get_cpu_capability()) with fast int8 kernels (see fast_int8_cpu).
FAST_INT8_CAPABILITIES = ("AVX2", "AVX512")


# ---- the layers, in order -------------------------------------------------------------------------------


@dataclass
class Step:
    """One layer of the int8 network: ``kind`` is conv_relu, maxpool, flatten, linear or linear_out (an
    exit's last Linear, float output); ``name`` names the float layer it comes from."""

    kind: str
    name: str
    module: nn.Module


def plan_layers(module: nn.Module, prefix: str) -> list[Step]:
    """The int8 steps of one stage, branch or head of a BatchNorm-folded network, in order."""
    # Identity (a folded BatchNorm) and Dropout do nothing in eval mode
    children = [
        (name, layer)
        for name, layer in flatten_sequential(module, prefix)
        if not isinstance(layer, (nn.Identity, nn.Dropout))
    ]
    steps: list[Step] = []
    for index, (name, layer) in enumerate(children):
        following = children[index + 1 :]
        if isinstance(layer, nn.Conv1d):
            if not following or not isinstance(following[0][1], nn.ReLU):
                raise ValueError(f"{name}: a Conv1d without a ReLU after it has no int8 form here")
            steps.append(Step("conv_relu", name, layer))
        elif isinstance(layer, nn.Linear):
            last = not any(isinstance(later, nn.Linear) for _, later in following)
            steps.append(Step("linear_out" if last else "linear", name, layer))
        elif isinstance(layer, nn.MaxPool1d):
            steps.append(Step("maxpool", name, layer))
        elif isinstance(layer, nn.Flatten):
            steps.append(Step("flatten", name, layer))
        elif isinstance(layer, nn.BatchNorm1d):
            raise ValueError(f"{name}: BatchNorm left unfolded; pass the network through fold_batchnorm")
        elif not (isinstance(layer, nn.ReLU) and index and isinstance(children[index - 1][1], nn.Conv1d)):
            # (a ReLU right after a conv is fused into it)
            raise ValueError(f"{name}: layer {type(layer).__name__} has no int8 form here")
    return steps


def flatten_sequential(module: nn.Module, prefix: str) -> Iterator[tuple[str, nn.Module]]:
    """The leaf layers of nested Sequentials, with their qualified names."""
    if not isinstance(module, nn.Sequential):
        yield prefix, module
        return
    for name, child in module.named_children():
        yield from flatten_sequential(child, f"{prefix}.{name}")


def network_plan(folded: EarlyExitNet) -> tuple[list[list[Step]], list[list[Step]]]:
    """(steps of each backbone segment, steps of each exit) of a folded network."""
    bounds = folded.segment_bounds
    segments = [
        [step for index in range(a, b) for step in plan_layers(folded.stages[index], f"stages.{index}")]
        for a, b in zip(bounds, bounds[1:])
    ]
    exits = [plan_layers(branch, f"branches.{k}") for k, branch in enumerate(folded.branches)]
    exits.append(plan_layers(folded.head, "head"))
    for index, steps in enumerate(exits):
        if not steps or steps[-1].kind != "linear_out":
            raise ValueError(f"exit {index} does not end in a Linear layer")
    return segments, exits


def quantized_points(segments: list[list[Step]], exits: list[list[Step]]) -> list[str]:
    """Names of every activation that gets its own scale: the input, then conv and Linear outputs."""
    return ["input"] + [
        step.name for steps in [*segments, *exits] for step in steps if step.kind in ("conv_relu", "linear")
    ]


def float_step(step: Step, h: torch.Tensor) -> torch.Tensor:
    """The float layer of a step (a conv with its ReLU)."""
    out = step.module(h)
    return torch.relu(out) if step.kind == "conv_relu" else out


# ---- calibration -----------------------------------------------------------------------------------------


@torch.inference_mode()
def calibrate_int8(
    net: EarlyExitNet, windows: torch.Tensor, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Activation scales and zero points of ``net`` from ``windows`` [N, 2, L] (normalised as the model
    expects; use the model's training data: the scales are only right for what they were measured on).
    ``progress(count)`` is told of every batch of windows run (two passes: ranges, then histograms).

    Returns plain data for the model file: format, version, engine, the activation bits, the method,
    the number of windows, the digest of the float weights they belong to and, per activation, its
    ``scale`` and ``zero_point``.
    """
    check_windows(net, windows)
    folded = fold_batchnorm(net)
    segments, exits = network_plan(folded)
    ranges = activation_ranges(folded, segments, exits, windows, progress)
    histograms = activation_histograms(folded, segments, exits, windows, ranges, progress)
    activations = {name: choose_qparams(histograms[name], *ranges[name], ACTIVATION_QMAX) for name in ranges}
    return {
        "format": PARAMS_FORMAT,
        "version": PARAMS_VERSION,
        "engines": {"conv": CONV_ENGINE, "linear": LINEAR_ENGINE},
        "activation_qmax": ACTIVATION_QMAX,
        "weights": "int8, symmetric per output channel",
        "method": f"histograms ({HISTOGRAM_BINS} bins) of the folded float network's activations; "
        "per activation the range with the least expected squared error",
        "windows": int(len(windows)),
        "weights_digest": weights_digest(net),
        "activations": activations,
    }


def check_windows(net: EarlyExitNet, windows: torch.Tensor) -> None:
    if windows.dim() != 3 or tuple(windows.shape[1:]) != (2, net.input_length):
        raise ValueError(
            f"calibration windows must be shaped [N, 2, {net.input_length}], got {list(windows.shape)}"
        )
    if len(windows) == 0:
        raise ValueError("no calibration windows: pass windows of the model's training split")
    if not bool(torch.isfinite(windows).all()):
        raise ValueError("calibration windows contain NaN or Inf: drop those windows first")


def observe(
    folded: EarlyExitNet,
    segments: list[list[Step]],
    exits: list[list[Step]],
    windows: torch.Tensor,
    record: Callable[[str, torch.Tensor], None],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Run every exit of the folded network on ``windows`` in batches, handing each quantised
    activation to ``record(name, values)`` (and each batch's size to ``progress``)."""
    for start in range(0, len(windows), CALIBRATION_BATCH):
        batch = windows[start : start + CALIBRATION_BATCH].float()
        record("input", batch)
        h = batch
        for segment, exit_steps in zip(segments, exits):
            for step in segment:
                h = float_step(step, h)
                if step.kind == "conv_relu":
                    record(step.name, h)
            branch = h
            for step in exit_steps[:-1]:
                branch = float_step(step, branch)
                if step.kind == "linear":
                    record(step.name, branch)
        if progress is not None:
            progress(len(batch))


def activation_ranges(
    folded: EarlyExitNet,
    segments: list[list[Step]],
    exits: list[list[Step]],
    windows: torch.Tensor,
    progress: Callable[[int], None] | None = None,
) -> dict[str, tuple[float, float]]:
    """Smallest and largest value of every quantised activation over ``windows``."""
    ranges: dict[str, tuple[float, float]] = {}

    def record(name: str, values: torch.Tensor) -> None:
        low, high = float(values.min()), float(values.max())
        old = ranges.get(name, (low, high))
        ranges[name] = (min(low, old[0]), max(high, old[1]))

    observe(folded, segments, exits, windows, record, progress)
    return ranges


def activation_histograms(
    folded: EarlyExitNet,
    segments: list[list[Step]],
    exits: list[list[Step]],
    windows: torch.Tensor,
    ranges: dict[str, tuple[float, float]],
    progress: Callable[[int], None] | None = None,
) -> dict[str, torch.Tensor]:
    """Histogram (float64 counts) of every quantised activation over its whole range."""
    histograms = {name: torch.zeros(HISTOGRAM_BINS, dtype=torch.float64) for name in ranges}

    def record(name: str, values: torch.Tensor) -> None:
        low, high = histogram_span(*ranges[name])
        histograms[name] += torch.histc(values.float(), HISTOGRAM_BINS, low, high).double()

    observe(folded, segments, exits, windows, record, progress)
    return histograms


def histogram_span(low: float, high: float) -> tuple[float, float]:
    """The histogram's span: the observed range, widened to include 0 (an exact code) and never empty."""
    low, high = min(low, 0.0), max(high, 0.0)
    return low, high if high > low else low + 1e-6


def choose_qparams(histogram: torch.Tensor, low: float, high: float, qmax: int) -> dict[str, float | int]:
    """Scale and zero point for codes 0..qmax: among ranges that clip each tail by a mass from
    TAIL_MASSES, the one with the least expected squared error (rounding inside, clipping outside)."""
    span_low, span_high = histogram_span(low, high)
    edges = torch.linspace(span_low, span_high, HISTOGRAM_BINS + 1, dtype=torch.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    cdf = histogram.cumsum(0) / histogram.sum().clamp_min(1)
    best: tuple[float, float, int] | None = None
    for tail in TAIL_MASSES:
        lower = span_low if tail == 0 else float(edges[int(torch.searchsorted(cdf, tail))])
        top = min(int(torch.searchsorted(cdf, 1 - tail)), HISTOGRAM_BINS - 1)  # 1 - tail may round above cdf
        upper = span_high if tail == 0 else float(edges[top + 1])
        lower, upper = min(lower, 0.0), max(upper, 0.0)
        scale = max((upper - lower) / qmax, 1e-12)
        zero_point = int(min(max(round(-lower / scale), 0), qmax))
        clip_low, clip_high = -zero_point * scale, (qmax - zero_point) * scale
        error = torch.where(
            centres < clip_low,
            (centres - clip_low) ** 2,
            torch.where(
                centres > clip_high, (centres - clip_high) ** 2, torch.full_like(centres, scale**2 / 12)
            ),
        )
        total = float((histogram * error).sum())
        if best is None or total < best[0]:
            best = (total, scale, zero_point)
    assert best is not None
    return {"scale": best[1], "zero_point": best[2]}


def weights_digest(net: nn.Module) -> str:
    """SHA-256 of the float weights, so int8 parameters are never used with weights they do not fit."""
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{list(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


# ---- the int8 network ------------------------------------------------------------------------------------


@contextmanager
def quiet_quantization() -> Iterator[None]:
    """Silence torch's one deprecation warning for quantized tensors ("quantized tensor creation
    functions ... are deprecated") around a call that creates one; every other warning passes."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*quantized tensor creation functions", category=UserWarning
        )
        yield


def quantize_weight(weight: torch.Tensor) -> torch.Tensor:
    """Symmetric int8 per output channel (the first axis)."""
    flat = weight.detach().float().reshape(weight.shape[0], -1)
    scales = (flat.abs().amax(dim=1) / WEIGHT_QMAX).clamp_min(1e-12).double()
    zeros = torch.zeros(weight.shape[0], dtype=torch.int64)
    with quiet_quantization():
        return torch.quantize_per_channel(weight.detach().float(), scales, zeros, 0, torch.qint8)


class Int8Step(nn.Module):
    """One layer of the int8 network (its packed weights, and the scale of what it outputs)."""

    def __init__(
        self, step: Step, activations: dict[str, dict[str, float | int]], input_q: tuple[float, int]
    ):
        super().__init__()
        self.kind = step.kind
        self.input_scale, self.input_zero_point = input_q
        self.output_q = input_q
        layer = step.module
        if self.kind in ("conv_relu", "linear"):
            entry = activations[step.name]
            self.output_q = (float(entry["scale"]), int(entry["zero_point"]))
        if self.kind == "conv_relu":
            self.conv = (
                quantize_weight(layer.weight), bias(layer), list(layer.stride), list(layer.padding),
                list(layer.dilation), layer.groups,
            )  # fmt: skip
            self.packed_by_rows: dict[int, Any] = {}  # padded batch size (0: any other) -> packed weights
            self.packed_per_size = True  # False: key 0 for every size (Int8EarlyExitNet.pad_batches)
            self.packed_for(0)  # the copy for sizes without their own, packed while the model loads
        elif self.kind in ("linear", "linear_out"):
            with quantized_engine(LINEAR_ENGINE):
                self.packed = torch.ops.quantized.linear_prepack(quantize_weight(layer.weight), bias(layer))
        elif self.kind == "maxpool":
            self.pool = (int(layer.kernel_size), int(layer.stride))

    def packed_for(self, rows: int) -> Any:
        """The convolution's weights packed for batches of ``rows`` windows (see PAD_ROWS)."""
        key = rows if self.packed_per_size and rows <= MAX_PADDED_ROWS and rows % PAD_ROWS == 0 else 0
        packed = self.packed_by_rows.get(key)
        if packed is None:
            with quantized_engine(CONV_ENGINE):
                packed = self.packed_by_rows[key] = torch.ops.quantized.conv1d_prepack(*self.conv)
        return packed

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.kind == "conv_relu":
            return torch.ops.quantized.conv1d_relu(h, self.packed_for(h.shape[0]), *self.output_q)
        if self.kind == "linear":
            return torch.ops.quantized.linear(h, self.packed, *self.output_q)
        if self.kind == "linear_out":  # int8 x int8 in int32, float logits out
            return torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32(
                h.dequantize(), self.input_scale, self.input_zero_point, self.packed
            )
        if self.kind == "maxpool":
            return torch.max_pool1d(h, *self.pool)
        return h.flatten(1)


def padded_rows(rows: int) -> int:
    """The batch size a segment runs ``rows`` windows at: the next multiple of PAD_ROWS up to
    MAX_PADDED_ROWS, ``rows`` itself beyond (see PAD_ROWS)."""
    return rows if rows > MAX_PADDED_ROWS else -(-rows // PAD_ROWS) * PAD_ROWS


def pad_rows(h: torch.Tensor, rows: int) -> torch.Tensor:
    """``h`` with copies of its last row appended up to ``rows`` rows (a real window, so every layer sees
    values it was calibrated for; what the copies give is dropped), in ``h``'s memory layout."""
    if rows == h.shape[0]:
        return h
    return gather_rows(h, torch.arange(rows).clamp_(max=h.shape[0] - 1))


def bias(layer: nn.Module) -> torch.Tensor | None:
    return None if layer.bias is None else layer.bias.detach().float()


def int8_steps(
    steps: Sequence[Step], activations: dict[str, dict[str, float | int]], input_q: tuple[float, int]
) -> nn.Sequential:
    """The int8 layers of ``steps``, each knowing the scale of its input."""
    built = []
    for step in steps:
        built.append(Int8Step(step, activations, input_q))
        input_q = built[-1].output_q
    return nn.Sequential(*built)


class Int8EarlyExitNet(nn.Module):
    """The int8 form of an EarlyExitNet, with the interface the engine uses: ``run_segment(h, i)``
    (segment 0 takes the float windows; later segments take what the previous one returned, a quantized
    tensor), ``exit_logits(h, i)`` (float logits), ``forward(x)`` (every exit's logits), ``num_exits``,
    ``num_classes``, ``input_length``, ``macs_per_exit(enabled)``. CPU only."""

    def __init__(self, net: EarlyExitNet, params: dict[str, Any]) -> None:
        super().__init__()
        folded = fold_batchnorm(net)
        activations = params["activations"]
        segments, exits = network_plan(folded)
        missing = [name for name in quantized_points(segments, exits) if name not in activations]
        if missing:
            raise ValueError(
                f"int8 parameters lack activation scales for {missing}: calibrate this network again"
            )
        self.num_classes = folded.num_classes
        self.input_length = folded.input_length
        self.exit_points = folded.exit_points
        self.macs_per_exit = folded.macs_per_exit
        self.input_q = (float(activations["input"]["scale"]), int(activations["input"]["zero_point"]))
        built, outputs = [], []
        q = self.input_q
        for steps in segments:
            built.append(int8_steps(steps, activations, q))
            q = built[-1][-1].output_q if len(built[-1]) else q
            outputs.append(q)
        self.segments = nn.ModuleList(built)
        self.exits = nn.ModuleList(int8_steps(steps, activations, q) for steps, q in zip(exits, outputs))
        self.pad_batches = True
        self.eval()
        # torch warns once per process on its first quantize_per_tensor: take that warning here, so that
        # run_segment (in a block's work(), other threads running) never touches the warning filters.
        with quiet_quantization():
            torch.quantize_per_tensor(torch.zeros(1), *self.input_q, torch.quint8)

    @property
    def num_exits(self) -> int:
        return len(self.exits)

    @property
    def pad_batches(self) -> bool:
        """Pad each segment's batch to a packed size with its own packed weights (PAD_ROWS; the default).
        False runs every batch at its own size on one packing per convolution, as torch's kernels do
        alone (benchmarks/bench_int8_batch_sizes.py measures the difference)."""
        return self._pad_batches

    @pad_batches.setter
    def pad_batches(self, on: bool) -> None:
        self._pad_batches = bool(on)
        for module in self.modules():
            if isinstance(module, Int8Step):
                module.packed_per_size = self._pad_batches

    @torch.inference_mode()
    def pack_every_size(self) -> None:
        """Run zeros of every padded batch size through every segment and exit once, so that each size's
        packed weights and oneDNN primitive exist before a stream starts: made lazily, they cost the
        first call of each size 5-10 ms (0.16-0.3 s over the 32 sizes), while a radio's samples wait,
        and a benchmark of a fresh block would time them. No-op without ``pad_batches``."""
        if not self.pad_batches:
            return
        for rows in range(PAD_ROWS, MAX_PADDED_ROWS + 1, PAD_ROWS):
            self.forward(torch.zeros(rows, 2, self.input_length))

    def run_segment(self, h: torch.Tensor, segment: int) -> torch.Tensor:
        rows = h.shape[0]
        if self.pad_batches:
            h = pad_rows(h, padded_rows(rows))
        if segment == 0:
            h = torch.quantize_per_tensor(h.float().contiguous(), *self.input_q, torch.quint8)
        h = self.segments[segment](h)
        return h if h.shape[0] == rows else h[:rows]

    def exit_logits(self, h: torch.Tensor, exit_index: int) -> torch.Tensor:
        return self.exits[exit_index](h)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs, h = [], x
        for index in range(self.num_exits):
            h = self.run_segment(h, index)
            outputs.append(self.exit_logits(h, index))
        return outputs


def int8_network(net: EarlyExitNet, int8_params: dict[str, Any]) -> Int8EarlyExitNet:
    """The int8 network of ``net`` (its float weights, BatchNorm folded here) with the activation scales
    ``int8_params`` from ``calibrate_int8``; ValueError where the parameters are not for this network."""
    check_params(net, int8_params)
    missing = [name for name in ENGINES if name not in torch.backends.quantized.supported_engines]
    if missing:
        raise ValueError(
            f"this torch build lacks the quantized engine(s) {missing} "
            f"(it has {torch.backends.quantized.supported_engines}): use precision fp32"
        )
    return Int8EarlyExitNet(net, int8_params)


#: Held while torch's process-wide quantized engine is switched to pack weights: convolutions are also
#: packed while flowgraphs run (a new padded batch size), perhaps in two blocks' threads at once.
PACKING_LOCK = threading.RLock()


@contextmanager
def quantized_engine(name: str) -> Iterator[None]:
    """Pack weights for one quantized engine (a packed layer runs on the engine that packed it)."""
    with PACKING_LOCK:
        previous = torch.backends.quantized.engine
        torch.backends.quantized.engine = name
        try:
            yield
        finally:
            torch.backends.quantized.engine = previous


def check_params(net: EarlyExitNet, params: Any) -> None:
    if not isinstance(params, dict) or params.get("format") != PARAMS_FORMAT:
        raise ValueError(
            "these are not gr-eeamc int8 parameters (no format entry): make them with calibrate_int8"
        )
    if params.get("version") != PARAMS_VERSION:
        raise ValueError(
            f"int8 parameters of version {params.get('version')!r}; this gr-eeamc reads {PARAMS_VERSION}"
        )
    if params.get("weights_digest") != weights_digest(net):
        raise ValueError(
            "the int8 parameters were calibrated for other weights: run python -m training quantize on "
            "this model file again"
        )


# ---- which precision -------------------------------------------------------------------------------------


def fast_int8_cpu() -> bool:
    """Whether this CPU runs the int8 network faster than fp32: x86 with AVX2 or better, as torch
    reports it (torch.backends.cpu.get_cpu_capability()), and torch's oneDNN and x86 quantized engines.

    Measured with benchmarks/bench_int8.py on an AVX2-only AMD EPYC (no VNNI), one thread, batch 256,
    the shipped model: int8 35,700 windows/s against fp32's (channels-last) 22,200 with exits off, 36,400
    against 23,300 with its early exit (1.6x; the same ratio in CPU time on the loaded machine). Both
    engines have int8 kernels from AVX2 up (VNNI and AMX faster still);
    below AVX2 they fall back to reference code, and other architectures (qnnpack) are not measured:
    fp32 there.
    """
    capability = torch.backends.cpu.get_cpu_capability()
    return all(name in torch.backends.quantized.supported_engines for name in ENGINES) and any(
        capability.startswith(name) for name in FAST_INT8_CAPABILITIES
    )


def resolve_precision(precision: str, device: str | torch.device, model: Any) -> tuple[str, str]:
    """The precision to run (fp32 or int8) and a one-line reason for the log.

    ``auto``: int8 on a CPU with fast int8 when ``model`` (a model_file.Model) has int8 parameters that
    passed their accuracy check; fp32 otherwise and on CUDA. ``int8`` where it cannot run (CUDA, no
    int8 parameters in the model file) is a ValueError naming the fix.
    """
    name = str(precision).strip().lower()
    if name not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if name == "fp32":
        return "fp32", "fp32 requested"
    on_cuda = device_type(device) == "cuda"
    section = getattr(model, "int8", None)
    where = getattr(model, "path", None) or "the model"
    if name == "int8":
        if on_cuda:
            raise ValueError(
                f"precision int8 runs on the CPU only, device is {device}: use device cpu, or precision "
                "auto or fp32"
            )
        if not section:
            raise ValueError(
                f"{where} has no int8 parameters: add them with python -m training quantize --model "
                f"{where} --data <its training data>, or use precision fp32"
            )
        checked = "passed" if section.get("check", {}).get("passed") else "did NOT pass"
        return "int8", f"int8 requested (its accuracy check {checked}; fast int8 CPU: {fast_int8_cpu()})"
    if on_cuda:
        return "fp32", f"auto: fp32 on {device} (int8 runs on the CPU only)"
    if not section:
        return (
            "fp32",
            "auto: fp32, the model file has no int8 parameters (python -m training quantize adds them)",
        )
    check = section.get("check", {})
    if not check.get("passed"):
        return "fp32", "auto: fp32, the model's int8 parameters did not pass their accuracy check"
    if "thresholds" in check and [float(t) for t in check["thresholds"]] != [
        float(t) for t in model.thresholds
    ]:
        return (
            "fp32",
            "auto: fp32, the int8 accuracy check was made at other thresholds than the model's now "
            "(python -m training quantize again checks these)",
        )
    if not fast_int8_cpu():
        return (
            "fp32",
            f"auto: fp32, this CPU ({torch.backends.cpu.get_cpu_capability()}) has no fast int8 kernels",
        )
    return "int8", (
        f"auto: int8 ({torch.backends.cpu.get_cpu_capability()} CPU; test accuracy "
        f"{percent(check.get('int8_accuracy'))} against fp32 {percent(check.get('fp32_accuracy'))})"
    )


def device_type(device: str | torch.device) -> str:
    """'cuda' or 'cpu' for a device name ('auto' = CUDA when present), without checking it exists."""
    name = str(device).strip().lower() or "auto"
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if name.startswith("cuda") else "cpu"


def percent(value: float | None) -> str:
    """A share as '12.34 %' ('-' for none)."""
    return "-" if value is None or not math.isfinite(value) else f"{100 * value:.2f} %"
