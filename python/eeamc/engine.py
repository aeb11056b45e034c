# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Batched early-exit inference (the paper's Algorithm 2, for a whole batch at once).

Plain PyTorch, no GNU Radio: the block, the evaluation code and the benchmarks all classify through
``EarlyExitEngine.classify``. Windows whose entropy at an exit is within that exit's threshold leave
there; only the others are gathered and carried through the deeper layers, resuming from the tensor
saved at the exit, so a window that left early never costs another backbone layer.

What an exit costs beyond its branch is kept small: softmax and entropy come from one log_softmax, the
undecided windows are gathered once per exit with index_select, results stay on the device (written in
place, a window that goes deeper is simply overwritten later) and come back in one copy at the end of
the batch; on CUDA the windows go up from a reused pinned buffer and the only synchronisation per exit
is the one that learns how many windows go on (their number sizes the deeper layers' work).

Precision: ``fp32`` runs the BatchNorm-folded network, on the CPU channels-last (channels_last.py: the
first convolution is ~10x faster so); ``int8`` runs ``quantization.int8_network`` (CPU only, float
logits, so the entropies and the exit decision are computed in float as in fp32). ``auto`` is resolved
before the engine (quantization.resolve_precision).

Adaptive exits (``adaptive_exits=True``, the paper's future work): an early exit that few windows take
(low SNR) only adds its branch to every window's cost. ``AdaptiveExits`` watches the share leaving at
each exit and stops running an exit whose share fell below its break-even, probing it on one batch in
``probe_every`` and running it again once the probes show windows leaving. A skipped exit's windows go
on to the next exit (at least as accurate); which exits ran is in each window's MACs.
"""

from __future__ import annotations

import copy
import math
import numbers
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .channels_last import channels_last_network, gather_rows
from .networks import EarlyExitNet, fold_batchnorm

#: Windows per classify() call the block uses unless told otherwise (its max_batch); evaluation times
#: batches of this size.
DEFAULT_MAX_BATCH = 256

#: What the engine runs (``auto`` is resolved before it, by quantization.resolve_precision).
ENGINE_PRECISIONS: tuple[str, ...] = ("fp32", "int8")

_LN10 = math.log(10.0)


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


#: ln p below which p is taken as 0: exp of anything lower is a float32 subnormal, and arithmetic on
#: subnormals is ~100x slower on x86 (a confident window's softmax has them: at 10..20 dB the final
#: exit's exp, max and product took ~0.5 ms of a 14 ms batch of 256 with them).
LOG_P_FLOOR = -87.0


def softmax_and_entropy(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(softmax probabilities, log10 entropy) of float logits [B, classes] from one log_softmax pass:
    E = -sum p ln p / ln 10, where ln p comes from log_softmax. A probability under e**-87 (1.6e-38) is
    reported as 0 (0 log 0 = 0), never as a subnormal."""
    log_p = torch.log_softmax(logits.float(), dim=1)
    p = torch.where(log_p > LOG_P_FLOOR, log_p, -math.inf).exp_()
    # Where p = 0, ln p may be -inf (a logit of -inf): the floor keeps 0 * ln p at 0 instead of NaN.
    entropy = (p * log_p.clamp_min(-1e30)).sum(dim=1).mul_(-1.0 / _LN10)
    return p, entropy


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


def check_precision(precision: str, device: torch.device) -> str:
    """'fp32' or 'int8' (any case); ValueError naming the fix for anything else, or int8 on CUDA."""
    name = str(precision).strip().lower()
    if name not in ENGINE_PRECISIONS:
        raise ValueError(
            f"precision {precision!r}: the engine runs fp32 or int8 (resolve 'auto' first with "
            "quantization.resolve_precision)"
        )
    if name == "int8" and device.type != "cpu":
        raise ValueError(f"precision int8 runs on the CPU only, device is {device}: use device cpu or fp32")
    return name


def runnable_network(
    net: EarlyExitNet, folded: EarlyExitNet, precision: str, int8_params: dict | None, device: torch.device
) -> torch.nn.Module:
    """What classify() runs: the int8 network, the channels-last fp32 network (CPU) or the folded one."""
    if precision == "int8":
        try:
            from . import quantization
        except ImportError as error:
            raise ValueError(
                f"precision int8 is not available in this installation ({error}): use precision fp32"
            ) from error
        if int8_params is None:
            raise ValueError(
                "precision int8 needs the model's int8 parameters (int8_params): add them with "
                "python -m training quantize, or use precision fp32"
            )
        return quantization.int8_network(net, int8_params)
    if device.type == "cpu":
        return channels_last_network(folded)
    # A copy: Module.to moves in place, and the folded network stays on the CPU, where its MACs are counted.
    return copy.deepcopy(folded).to(device)


class AdaptiveExits:
    """Which early exits to run: skips an exit whose share of leaving windows is below its break-even.

    Each exit's share is counted over at least ``window`` windows that reached it; below ``min_share``
    the exit is skipped, and while skipped one batch in ``probe_every`` still runs it (a probe) so its
    share keeps being measured; when the probes' share is back at ``min_share`` or above, it runs again.
    The engine gives ``min_share`` as each exit's break-even measured on its own network and machine
    (``measured_break_even_shares``): the share at which the branch's time, with the decision and the
    gathering of the windows that go on, equals what the leaving windows save. That is several times
    the break-even in multiply-accumulates (``break_even_shares``, 0.083 for V1), which leaves out every
    fixed cost: for the shipped V1 on this project's 2-core EPYC, 0.22-0.26 (fp32) and 0.33-0.38 (int8)
    (`make bench` prints it).
    Not thread-safe by itself: the engine calls it under its lock.
    """

    def __init__(
        self,
        min_share: Sequence[float],
        window: int = 512,
        probe_every: int = 8,
    ) -> None:
        if window < 1 or probe_every < 1:
            raise ValueError(f"window and probe_every must be >= 1, got {window} and {probe_every}")
        self.min_share = [float(s) for s in min_share]
        self.window = int(window)
        self.probe_every = int(probe_every)
        self.reset()

    def reset(self) -> None:
        """Forget what was seen (new thresholds: every exit runs again and is measured afresh)."""
        count = len(self.min_share)
        self.skipped = [False] * count
        self._arrived = [0] * count
        self._left = [0] * count
        self._since_probe = [0] * count

    def plan(self, enabled: Sequence[bool]) -> list[bool]:
        """Of the exits switched on (threshold > 0), those to run on the next batch."""
        run = []
        for k, on in enumerate(enabled):
            if on and self.skipped[k]:
                self._since_probe[k] += 1
                on = self._since_probe[k] >= self.probe_every
                if on:
                    self._since_probe[k] = 0
            run.append(on)
        return run

    def record(self, exit_index: int, arrived: int, left: int) -> None:
        """``arrived`` windows reached exit ``exit_index`` (which ran) and ``left`` of them left there."""
        self._arrived[exit_index] += arrived
        self._left[exit_index] += left
        if self._arrived[exit_index] >= self.window:
            share = self._left[exit_index] / self._arrived[exit_index]
            self.skipped[exit_index] = share < self.min_share[exit_index]
            self._arrived[exit_index] = self._left[exit_index] = 0
            self._since_probe[exit_index] = 0


def break_even_shares(net: EarlyExitNet) -> list[float]:
    """Per early exit: the share of windows that must leave there for its branch to pay, in MACs
    (branch cost / the backbone and head a leaving window skips)."""
    segments, classifiers = net.segment_macs(), net.exit_macs()
    return [
        classifiers[k] / max(1, sum(segments[k + 1 :]) + classifiers[-1]) for k in range(net.num_exits - 1)
    ]


#: What measured_break_even_shares times: a batch of this many windows (about what one work() call of
#: the classifier block hands the engine), the median of this many interleaved repeats after a warm-up.
BREAK_EVEN_BATCH = 128
BREAK_EVEN_REPEATS = 5


def measured_break_even_shares(engine: EarlyExitEngine) -> list[float]:
    """Per early exit: the share of windows that must leave there for its branch to pay in time, on
    ``engine``'s network, precision and device. A batch of random windows goes through the engine's own
    path with only exit k on, at thresholds that let none, about half and all of them leave there, and
    with the exit off; the break-even is where the time, interpolated between those shares, falls to
    the time with the exit off (the half point carries the cost of gathering the windows that go on).
    Clamped to [the break-even in MACs, 1]; 1 where leaving never pays."""
    generator = torch.Generator().manual_seed(0)
    h = torch.randn(BREAK_EVEN_BATCH, 2, engine.input_length, generator=generator) / engine.input_length
    h = h.to(engine.device)
    macs = break_even_shares(engine._folded)
    shares = []
    for k in range(engine.num_exits - 1):
        only_k = [j == k for j in range(engine.num_exits - 1)]
        configs = {
            "none": (only_k, 1e-30),  # an entropy threshold no window meets
            "half": (only_k, median_entropy_at(engine, h, k)),
            "all": (only_k, threshold_every_window_meets(engine.num_classes)),
            "off": ([False] * (engine.num_exits - 1), 0.0),
        }
        timed = time_configs(engine, h, k, configs)
        points = [timed[name] for name in ("none", "half", "all")]  # (share left, seconds)
        shares.append(min(1.0, max(macs[k], break_even(points, timed["off"][1]))))
    return shares


def threshold_every_window_meets(num_classes: int) -> float:
    """An entropy threshold above any window's entropy (log10 entropy <= log10 of the classes): every
    window reaching the exit leaves there."""
    return 2 * math.log10(num_classes)


def break_even(points: Sequence[tuple[float, float]], off_seconds: float) -> float:
    """The smallest share at which the time, linear between the (share, seconds) ``points`` (in share
    order), is no more than ``off_seconds``; 1 if it never is."""
    for (s0, t0), (s1, t1) in zip(points, points[1:]):
        if t0 <= off_seconds:
            return s0
        if t1 <= off_seconds and s1 > s0:
            return s0 + (s1 - s0) * (t0 - off_seconds) / (t0 - t1)
    return 1.0 if points[-1][1] > off_seconds else points[-1][0]


@torch.inference_mode()
def median_entropy_at(engine: EarlyExitEngine, h: torch.Tensor, exit_index: int) -> float:
    """The median entropy of exit ``exit_index`` over ``h``: a threshold about half of it meets."""
    for segment in range(exit_index + 1):
        h = engine.net.run_segment(h, segment)
    _, entropy = softmax_and_entropy(engine.net.exit_logits(h, exit_index))
    return max(1e-30, float(entropy.float().median()))


@torch.inference_mode()
def time_configs(
    engine: EarlyExitEngine, h: torch.Tensor, exit_index: int, configs: dict[str, tuple[list[bool], float]]
) -> dict[str, tuple[float, float]]:
    """Per config (which exits run, exit ``exit_index``'s threshold): (share of the windows that left at
    that exit, median seconds of ``engine._run`` on ``h``), interleaved; the thresholds are restored."""
    saved = list(engine.thresholds)
    samples: dict[str, list[float]] = {name: [] for name in configs}
    left: dict[str, float] = {}
    try:
        for repeat in range(BREAK_EVEN_REPEATS + 1):  # the first round warms up
            for name, (run, threshold) in configs.items():
                engine.thresholds = [threshold if j == exit_index else 0.0 for j in range(len(saved))]
                synchronize(engine.device)
                start = time.perf_counter()
                _, _, _, arrivals = engine._run(h, run)
                synchronize(engine.device)
                if repeat:
                    samples[name].append(time.perf_counter() - start)
                arrived, gone = arrivals.get(exit_index, (1, 0))
                left[name] = gone / max(1, arrived)
    finally:
        engine.thresholds = saved
    return {name: (left[name], statistics.median(values)) for name, values in samples.items()}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class EarlyExitEngine:
    """Classifies batches of windows [B, 2, L] with early exits.

    ``thresholds`` holds one entropy threshold per early exit; a threshold of 0 switches that exit off
    (even for a window whose entropy is exactly 0), so all zeros is the plain backbone. The engine runs
    its own copy of ``net`` with BatchNorm folded into the convolutions (``fold_batchnorm``), in
    ``precision`` fp32 or int8 (with the model's ``int8_params``): later changes to ``net`` do not reach
    it. ``adaptive_exits`` skips early exits that are not paying (see AdaptiveExits; off by default so
    that a batch's results never depend on the batches before it, as evaluation needs). classify() may
    be called from several threads (one call at a time runs).
    """

    def __init__(
        self,
        net: EarlyExitNet,
        thresholds: Sequence[float] | float | None = None,
        device: str | torch.device = "auto",
        precision: str = "fp32",
        int8_params: dict | None = None,
        adaptive_exits: bool = False,
    ) -> None:
        self.device = resolve_device(device)
        self.precision = check_precision(precision, self.device)
        self._folded = fold_batchnorm(net)  # fp32, plain layout, on the CPU: the MACs bookkeeping
        self.net = runnable_network(net, self._folded, self.precision, int8_params, self.device)
        self.num_classes = int(net.num_classes)
        self.input_length = int(net.input_length)
        self._lock = threading.RLock()
        self._macs: dict[tuple[bool, ...], torch.Tensor] = {}
        self._staging: torch.Tensor | None = None  # pinned host buffer for CUDA uploads
        self.adaptive = None
        self.thresholds = [0.0] * (net.num_exits - 1)
        if adaptive_exits:
            self.adaptive = AdaptiveExits(measured_break_even_shares(self))
        self.set_thresholds(0.0 if thresholds is None else thresholds)

    @property
    def num_exits(self) -> int:
        return self._folded.num_exits

    def warm_up(self) -> None:
        """Build now what the network would otherwise build on its first calls (int8: the packed weights
        of every padded batch size), so that a block's first seconds on a live stream run at full
        speed. The blocks call it when they make their engine; results do not depend on it."""
        with self._lock:
            pack = getattr(self.net, "pack_every_size", None)
            if pack is not None:
                pack()

    @property
    def skipped_exits(self) -> list[int]:
        """Early exits adaptive exits is skipping now (empty without adaptive exits)."""
        with self._lock:
            return [k for k, skipped in enumerate(self.adaptive.skipped) if skipped] if self.adaptive else []

    def reset_adaptive(self) -> None:
        """Forget what adaptive exits learnt (a new run starts as the first did)."""
        with self._lock:
            if self.adaptive:
                self.adaptive.reset()

    def set_thresholds(self, thresholds: Sequence[float] | float) -> None:
        """One value for every early exit, or one per early exit; negative, NaN or Inf is refused."""
        values = parse_thresholds(thresholds, len(self.thresholds))
        with self._lock:
            self.thresholds = values
            # A disabled exit's branch is never run, so it costs nothing.
            self.exit_macs = self.macs_for([t > 0 for t in values])
            if self.adaptive:
                self.adaptive.reset()

    def macs_for(self, run: Sequence[bool]) -> torch.Tensor:
        """MACs of a window leaving at each exit when the early exits ``run`` ran (cached)."""
        key = tuple(bool(r) for r in run)
        if key not in self._macs:
            self._macs[key] = torch.tensor(self._folded.macs_per_exit(list(key)), dtype=torch.int64)
        return self._macs[key]

    @torch.inference_mode()
    def classify(self, windows: torch.Tensor) -> Classification:
        """Classify a batch [B, 2, L] (already normalised as the model expects)."""
        if windows.dim() != 3 or windows.shape[1] != 2 or windows.shape[2] != self.input_length:
            raise ValueError(
                f"expected windows shaped [batch, 2, {self.input_length}], got {list(windows.shape)}"
            )
        if len(windows) == 0:  # nothing to run (and some kernels refuse empty batches)
            empty = torch.zeros(0, self.num_classes)
            nothing = torch.zeros(0, dtype=torch.int64)
            return Classification(
                nothing, nothing.clone(), torch.zeros(0), torch.zeros(0), empty, nothing.clone()
            )
        with self._lock:
            enabled = [t > 0 for t in self.thresholds]
            run = self.adaptive.plan(enabled) if self.adaptive else enabled
            probabilities, entropy, exits, arrivals = self._run(self._upload(windows), run)
            if self.adaptive:
                for k, (arrived, left) in arrivals.items():
                    self.adaptive.record(k, arrived, left)
            confidence, label = probabilities.max(dim=1)
            label, exits, entropy, confidence, probabilities = self._download(
                label, exits, entropy, confidence, probabilities
            )
            return Classification(label, exits, entropy, confidence, probabilities, self.macs_for(run)[exits])

    def _run(
        self, h: torch.Tensor, run: Sequence[bool]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[int, tuple[int, int]]]:
        """(probabilities, entropy, exit, {early exit: (windows arrived, windows left)}) on the device."""
        batch, last = h.shape[0], self.num_exits - 1
        probabilities = torch.empty(batch, self.num_classes, device=self.device)
        entropy = torch.empty(batch, device=self.device)
        exits = torch.empty(batch, dtype=torch.int64, device=self.device)
        pending: torch.Tensor | None = None  # original row of each row of h; None: all, in order
        arrivals = {}
        for exit_index in range(self.num_exits):
            h = self.net.run_segment(h, exit_index)
            if exit_index < last and not run[exit_index]:
                continue  # exit switched off or skipped: its branch is not even run
            p, e = softmax_and_entropy(self.net.exit_logits(h, exit_index))
            # Every window here gets this exit's results; those that go on are overwritten deeper.
            if pending is None:
                probabilities.copy_(p)
                entropy.copy_(e)
                exits.fill_(exit_index)
            else:
                probabilities.index_copy_(0, pending, p)
                entropy.index_copy_(0, pending, e)
                exits.index_fill_(0, pending, exit_index)
            if exit_index == last:
                break
            # NaN entropy stays undecided, as a window whose entropy is over the threshold.
            stay = torch.nonzero(~(e <= self.thresholds[exit_index])).squeeze(1)  # the one sync
            arrivals[exit_index] = (len(e), len(e) - len(stay))
            if len(stay) == 0:
                break
            if len(stay) < len(e):
                h = gather_rows(h, stay)
                pending = stay if pending is None else pending.index_select(0, stay)
        return probabilities, entropy, exits, arrivals

    def _upload(self, windows: torch.Tensor) -> torch.Tensor:
        """The windows as float32 on the device; to CUDA in one copy from a reused pinned buffer."""
        if self.device.type == "cpu" or windows.device == self.device:
            return windows.to(self.device, torch.float32)
        batch = windows.shape[0]
        if self._staging is None or self._staging.shape[0] < batch:
            self._staging = torch.empty((batch, *windows.shape[1:]), dtype=torch.float32, pin_memory=True)
        # Safe to reuse: the previous batch's upload finished before its results were downloaded.
        staged = self._staging[:batch]
        staged.copy_(windows)
        return staged.to(self.device, non_blocking=True)

    def _download(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """The results on the CPU; from CUDA in one copy (``packed_to_host``)."""
        return list(tensors) if self.device.type == "cpu" else packed_to_host(tensors)


def packed_to_host(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """``tensors`` (one row per window each) on the CPU in one device-to-host copy: packed side by side
    into one float32 tensor, copied, and split back into their shapes and dtypes (integers up to 2**24,
    class and exit indices, survive float32 exactly)."""
    columns = [t.float().reshape(len(t), -1) for t in tensors]
    host = torch.cat(columns, dim=1).cpu()
    parts, start = [], 0
    for tensor, column in zip(tensors, columns):
        part = host[:, start : start + column.shape[1]].reshape(tensor.shape)
        parts.append(part.to(tensor.dtype).contiguous())
        start += column.shape[1]
    return parts


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
