"""Measure a model on a dataset split, per SNR: accuracy, accuracy of the early exits, share of windows
leaving at each exit, MACs per window, measured inference time (batched and batch 1) against the same
network with early exits off, confusion matrices and a threshold sweep.

Writes DIR/metrics.json, DIR/per_snr.csv, DIR/sweep.csv and PNG plots. Every exit is run once on every
window; the outcome for any thresholds (the sweep, calibration) is derived from those outputs exactly as
the early-exit engine (Algorithm 2) would decide. Timings go through the engine itself.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gnuradio.eeamc.engine import DEFAULT_MAX_BATCH, EarlyExitEngine, entropy_log10, resolve_device
from gnuradio.eeamc.model_file import Model, load_model
from gnuradio.eeamc.networks import EarlyExitNet, fold_batchnorm
from gnuradio.eeamc.windows import normalize
from tqdm import tqdm

from training.datasets import Dataset, load_split, parse_snr_list

#: Thresholds of the default sweep (log10 entropy; 1.0 is the largest entropy of 10 classes).
DEFAULT_SWEEP = (0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
                 1.0)  # fmt: skip

#: SNRs at or above this (dB) make the "high SNR" confusion matrix and accuracy, as in the paper's table.
HIGH_SNR_DB = 10


# ---------------------------------------------------------------------------------------------------
# Every exit on every window, once; outcomes for any thresholds derived from that.


@dataclass
class ExitOutputs:
    """What every exit says about every window: enough to replay Algorithm 2 for any thresholds."""

    predictions: np.ndarray  # int64 [exits, N]: argmax of each exit's softmax
    entropies: np.ndarray  # float32 [exits, N]: log10 entropy of each exit's softmax
    labels: np.ndarray  # int64 [N]: true class
    snrs: np.ndarray  # int64 [N]
    macs_per_exit: Callable[[Sequence[bool]], list[int]]  # EarlyExitNet.macs_per_exit
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
) -> ExitOutputs:
    """Run every exit of the network on every window of ``dataset`` (eval mode, batched)."""
    net = as_net(model)
    check_windows(net, dataset)
    target = resolve_device(device)
    # The same folded copy EarlyExitEngine runs, so that outcomes derived from these match it exactly.
    net = fold_batchnorm(net).to(target)
    count = len(dataset)
    predictions = np.empty((net.num_exits, count), dtype=np.int64)
    entropies = np.empty((net.num_exits, count), dtype=np.float32)
    for start in tqdm(range(0, count, batch_size), desc="all exits", unit="batch", leave=False):
        stop = min(start + batch_size, count)
        x = model_windows(dataset.x[start:stop], normalization_of(model)).to(target)
        for k, logits in enumerate(net(x)):
            # The same softmax -> max -> entropy as EarlyExitEngine.classify, so outcomes match it.
            p = torch.softmax(logits, dim=1)
            predictions[k, start:stop] = p.max(dim=1).indices.cpu().numpy()
            entropies[k, start:stop] = entropy_log10(p).float().cpu().numpy()
    return ExitOutputs(
        predictions,
        entropies,
        np.asarray(dataset.y, dtype=np.int64),
        np.asarray(dataset.snr, dtype=np.int64),
        net.macs_per_exit,
    )


def check_windows(net: EarlyExitNet, dataset: Dataset) -> None:
    shape = tuple(dataset.x.shape[1:])
    if shape != (2, net.input_length):
        raise ValueError(
            f"dataset windows are shaped {list(shape)} but the model takes [2, {net.input_length}]: "
            f"load the data with length={net.input_length}"
        )


def parse_thresholds(thresholds: Sequence[float] | float, num_early_exits: int) -> list[float]:
    """One value for every early exit, or one per early exit (the engine's rule)."""
    values = (
        [float(thresholds)] * num_early_exits
        if isinstance(thresholds, (int, float))
        else [float(t) for t in thresholds]
    )
    if len(values) != num_early_exits:
        raise ValueError(f"expected {num_early_exits} threshold(s), one per early exit, got {len(values)}")
    if any(not math.isfinite(t) or t < 0 for t in values):
        raise ValueError(f"thresholds must be finite and >= 0 (0 disables an exit), got {values}")
    return values


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


# ---------------------------------------------------------------------------------------------------
# Summaries.


def ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def summarize(outcome: Outcome, labels: np.ndarray, num_exits: int) -> dict[str, Any]:
    """Accuracy, exit shares, accuracy per exit and mean MACs of one set of windows."""
    correct = outcome.label == labels
    count = len(labels)
    per_exit = [outcome.exit == k for k in range(num_exits)]
    early = outcome.exit < num_exits - 1
    return {
        "windows": int(count),
        "accuracy": ratio(correct.sum(), count),
        "exit_share": [ratio(m.sum(), count) for m in per_exit],
        "early_exit_share": ratio(early.sum(), count),
        # Accuracy of the windows that left at each exit (None where none left there).
        "exit_accuracy": [ratio((correct & m).sum(), m.sum()) for m in per_exit],
        "early_exit_accuracy": [ratio((correct & m).sum(), m.sum()) for m in per_exit[:-1]],
        "early_exits_accuracy": ratio((correct & early).sum(), early.sum()),
        "macs_per_window": ratio(outcome.macs.sum(), count),
    }


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> list[list[int]]:
    """Counts [true class][predicted class]."""
    matrix = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return matrix.reshape(num_classes, num_classes).astype(int).tolist()


def snr_key(snr: int) -> str:
    return str(int(snr))


def accuracy_metrics(
    outputs: ExitOutputs,
    thresholds: Sequence[float],
    num_classes: int,
    high_snr_db: int = HIGH_SNR_DB,
) -> dict[str, Any]:
    """Overall and per-SNR summaries at ``thresholds`` and with early exits off, plus confusion matrices."""
    outcome = derive_outcome(outputs, thresholds)
    exits_off = derive_outcome(outputs, 0.0)
    exits = outputs.num_exits
    metrics = summarize(outcome, outputs.labels, exits)
    baseline = summarize(exits_off, outputs.labels, exits)
    metrics["exits_off_accuracy"] = baseline["accuracy"]
    metrics["exits_off_macs_per_window"] = baseline["macs_per_window"]
    high = outputs.snrs >= high_snr_db
    metrics["high_snr_db"] = high_snr_db
    metrics["accuracy_high_snr"] = ratio((outcome.label == outputs.labels)[high].sum(), high.sum())
    per_snr, confusion_per_snr = {}, {}
    for snr in np.unique(outputs.snrs):
        mask = outputs.snrs == snr
        part = Outcome(outcome.label[mask], outcome.exit[mask], outcome.macs[mask])
        entry = summarize(part, outputs.labels[mask], exits)
        entry["exits_off_accuracy"] = ratio((exits_off.label == outputs.labels)[mask].sum(), mask.sum())
        per_snr[snr_key(snr)] = entry
        confusion_per_snr[snr_key(snr)] = confusion_matrix(
            outputs.labels[mask], outcome.label[mask], num_classes
        )
    metrics["per_snr"] = per_snr
    metrics["confusion"] = {
        "rows": "true class",
        "columns": "predicted class",
        "overall": confusion_matrix(outputs.labels, outcome.label, num_classes),
        "high_snr": confusion_matrix(outputs.labels[high], outcome.label[high], num_classes),
        "per_snr": confusion_per_snr,
    }
    return metrics


def threshold_sweep(outputs: ExitOutputs, thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """Accuracy, exit shares and MACs for each threshold (the same value at every early exit)."""
    exits = outputs.num_exits
    rows = []
    for threshold in thresholds:
        outcome = derive_outcome(outputs, float(threshold))
        row = {
            "threshold": float(threshold),
            **summarize(outcome, outputs.labels, exits),
        }
        correct = outcome.label == outputs.labels
        row["per_snr"] = {
            snr_key(snr): {
                "accuracy": ratio(correct[outputs.snrs == snr].sum(), (outputs.snrs == snr).sum()),
                "early_exit_share": ratio(
                    (outcome.exit[outputs.snrs == snr] < exits - 1).sum(),
                    (outputs.snrs == snr).sum(),
                ),
            }
            for snr in np.unique(outputs.snrs)
        }
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------------
# Timing through the engine.


def time_batched(engine: EarlyExitEngine, windows: torch.Tensor, batch_size: int) -> float:
    """Seconds to classify ``windows`` in batches of ``batch_size``."""
    start = time.perf_counter()
    for first in range(0, len(windows), batch_size):
        engine.classify(windows[first : first + batch_size])
    return time.perf_counter() - start


def time_one_by_one(engine: EarlyExitEngine, windows: torch.Tensor) -> float:
    """Seconds to classify ``windows`` one call per window (how a per-window loop would run them)."""
    singles = [windows[i : i + 1] for i in range(len(windows))]
    start = time.perf_counter()
    for window in singles:
        engine.classify(window)
    return time.perf_counter() - start


def timing_entry(early_exits_s: float, exits_off_s: float, windows: int) -> dict[str, Any]:
    return {
        "windows": int(windows),
        "early_exits_s": early_exits_s,
        "exits_off_s": exits_off_s,
        "early_exits_us_per_window": 1e6 * early_exits_s / windows if windows else None,
        "exits_off_us_per_window": 1e6 * exits_off_s / windows if windows else None,
        "speedup": exits_off_s / early_exits_s if early_exits_s > 0 else None,
    }


def measure_timing(
    net: EarlyExitNet,
    windows_by_snr: dict[str, torch.Tensor],
    thresholds: Sequence[float],
    device: str | torch.device,
    batch_size: int = 1024,
    batch1_windows: int = 200,
    repeats: int = 3,
    seed: int = 25,
) -> dict[str, Any]:
    """Time the engine per SNR with ``thresholds`` and with early exits off, in the same run.

    Batched: every window of the SNR in batches of ``batch_size``. Batch 1: a seeded sample of
    ``batch1_windows`` windows per SNR, one call each. Each measurement is repeated ``repeats`` times,
    alternating which configuration goes first, and the fastest repeat is kept (the least disturbed by
    other work on the machine).
    """
    early = EarlyExitEngine(net, list(thresholds), device)
    off = EarlyExitEngine(net, 0.0, device)
    same = not any(t > 0 for t in thresholds)  # no early exit on: both configurations are one network
    rng = np.random.default_rng(seed)
    samples = {
        key: x[np.sort(rng.choice(len(x), min(batch1_windows, len(x)), replace=False))]
        for key, x in windows_by_snr.items()
    }
    warm = next(iter(windows_by_snr.values()))
    for engine in (early, off):  # first calls allocate and spin up threads: keep them out of the numbers
        time_batched(engine, warm[:batch_size], batch_size)
        time_one_by_one(engine, warm[:8])

    def time_once(engine: EarlyExitEngine, mode: str, key: str) -> float:
        if mode == "batched":
            return time_batched(engine, windows_by_snr[key], batch_size)
        return time_one_by_one(engine, samples[key])

    best: dict[tuple[str, str, str], float] = {}
    with tqdm(total=repeats * len(windows_by_snr), desc="timing", unit="SNR", leave=False) as progress:
        for repeat in range(repeats):
            order = [("early", early), ("off", off)] if repeat % 2 == 0 else [("off", off), ("early", early)]
            for key in windows_by_snr:
                for name, engine in order:
                    if same and name == "off":
                        continue
                    for mode in ("batched", "batch1"):
                        seconds = time_once(engine, mode, key)
                        best[key, mode, name] = min(seconds, best.get((key, mode, name), math.inf))
                progress.update()
    if same:
        for (key, mode, _name), value in list(best.items()):
            best[key, mode, "off"] = value
    per_snr = {
        key: {
            "batched": timing_entry(best[key, "batched", "early"], best[key, "batched", "off"], len(x)),
            "batch1": timing_entry(
                best[key, "batch1", "early"],
                best[key, "batch1", "off"],
                len(samples[key]),
            ),
        }
        for key, x in windows_by_snr.items()
    }
    overall = {}
    for mode in ("batched", "batch1"):
        entries = [per_snr[key][mode] for key in per_snr]
        overall[mode] = timing_entry(
            sum(e["early_exits_s"] for e in entries),
            sum(e["exits_off_s"] for e in entries),
            sum(e["windows"] for e in entries),
        )
    overall["batched"]["batch_size"] = batch_size
    overall["repeats"] = repeats
    overall["statistic"] = "fastest of the repeats"
    overall["device"] = str(resolve_device(device))
    overall["threads"] = torch.get_num_threads()
    return {"overall": overall, "per_snr": per_snr}


# ---------------------------------------------------------------------------------------------------
# Provenance.


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(device: str | torch.device) -> dict[str, Any]:
    resolved = resolve_device(device)
    description = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "device": str(resolved),
    }
    if resolved.type == "cuda":
        description["gpu"] = torch.cuda.get_device_name(resolved)
    return description


def json_safe(value: Any) -> Any:
    """Containers of plain JSON values; anything else (tensors, arrays, objects) as text or lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    return str(value)


def model_summary(model: Model, max_chars: int = 2000) -> dict[str, Any]:
    """Where the model came from; bulky provenance entries (learning curves, ...) are named, not copied."""
    provenance, omitted = {}, []
    for key, value in model.provenance.items():
        safe = json_safe(value)
        if len(json.dumps(safe)) <= max_chars:
            provenance[key] = safe
        else:
            omitted.append(key)
    net = model.net
    return {
        "path": model.path,
        "exits": list(net.exit_points),
        "num_exits": net.num_exits,
        "classes": list(model.classes),
        "normalization": model.normalization,
        "input_length": net.input_length,
        "stored_thresholds": list(model.thresholds),
        "macs_per_exit": net.macs_per_exit(),
        "provenance": provenance,
        "provenance_omitted": omitted,
    }


def dataset_summary(dataset: Dataset, path: str) -> dict[str, Any]:
    attrs = {
        key: value for key, value in json_safe(dict(dataset.attrs)).items() if len(json.dumps(value)) <= 2000
    }
    return {
        "path": str(path),
        "source": dataset.source,
        "classes": list(dataset.classes),
        "windows": len(dataset),
        "snrs": sorted(int(s) for s in np.unique(dataset.snr)),
        "attrs": attrs,
    }


# ---------------------------------------------------------------------------------------------------
# The whole evaluation.


#: Batched timings run in batches of the block's default max_batch: what the block does. Larger batches
#: are no faster per window on a CPU (at 1024 the activations outgrow the caches and the timings scatter).
TIMING_BATCH = DEFAULT_MAX_BATCH


def evaluate(
    model: Model,
    dataset: Dataset,
    thresholds: Sequence[float] | float | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 1024,
    sweep: Sequence[float] = DEFAULT_SWEEP,
    timing_windows: int = 200,
    timing_repeats: int = 3,
    seed: int = 25,
    high_snr_db: int = HIGH_SNR_DB,
    timing_batch: int = TIMING_BATCH,
) -> dict[str, Any]:
    """Every number of metrics.json except the provenance of the run (see ``run``)."""
    net = model.net
    values = parse_thresholds(model.thresholds if thresholds is None else thresholds, net.num_exits - 1)
    if list(dataset.classes) != list(model.classes):
        raise ValueError(
            f"the dataset's classes {list(dataset.classes)} are not the model's {list(model.classes)} "
            "(same names, same order): load the data with classes=model.classes"
        )
    outputs = exit_outputs(model, dataset, device, batch_size)
    metrics = {
        "thresholds": values,
        **accuracy_metrics(outputs, values, len(model.classes), high_snr_db),
    }
    metrics["sweep"] = threshold_sweep(outputs, sweep)
    if timing_repeats > 0:
        windows_by_snr = {
            snr_key(snr): model_windows(dataset.x[dataset.snr == snr], model.normalization)
            for snr in np.unique(dataset.snr)
        }
        timing = measure_timing(
            net,
            windows_by_snr,
            values,
            device,
            timing_batch,
            timing_windows,
            timing_repeats,
            seed,
        )
        metrics["timing"] = timing["overall"]
        for key, entry in timing["per_snr"].items():
            metrics["per_snr"][key]["timing"] = entry
    return metrics


def thresholds_argument(text: str | None) -> list[float] | None:
    if text is None or not text.strip():
        return None
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise ValueError(f"--threshold {text!r}: expected a number or a comma list of numbers") from error


def resolve_thresholds(text: str | None, model: Model) -> list[float]:
    """--threshold: absent -> the model's calibrated values; one value -> every early exit; else one each."""
    values = thresholds_argument(text)
    early = model.net.num_exits - 1
    if values is None:
        return parse_thresholds(model.thresholds, early)
    return parse_thresholds(values[0] if len(values) == 1 else values, early)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file (.pt) to evaluate")
    parser.add_argument(
        "--data",
        required=True,
        help="dataset file (our HDF5, RML22/RML2016 pickle, RML2018 HDF5)",
    )
    parser.add_argument(
        "--out",
        required=True,
        help="output folder for metrics.json, CSV files and plots",
    )
    parser.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test", "all"),
        help="which part of the paper's split to evaluate ('all' = every window of the file)",
    )
    parser.add_argument(
        "--threshold",
        default=None,
        help="entropy threshold(s): one value for every early exit or a comma list, one per "
        "early exit; 0 = early exits off; none = the model's calibrated thresholds",
    )
    parser.add_argument(
        "--thresholds-sweep",
        default=",".join(str(t) for t in DEFAULT_SWEEP),
        help="comma list of thresholds for the sweep (same value at every early exit)",
    )
    parser.add_argument(
        "--snrs", default=None, help="SNRs to keep: a comma list or start:stop:step; none = all"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=1024,
        help="batch size for inference",
    )
    parser.add_argument(
        "--timing-batch",
        type=int,
        default=TIMING_BATCH,
        help="batch size of the batched timing (the block's default max_batch)",
    )
    parser.add_argument(
        "--timing-windows",
        type=int,
        default=200,
        help="windows per SNR timed one by one (batch 1)",
    )
    parser.add_argument(
        "--timing-repeats",
        type=int,
        default=3,
        help="repeats of every timing (the fastest is kept); 0 = no timing",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads; none = torch's choice",
    )
    parser.add_argument(
        "--high-snr",
        type=int,
        default=HIGH_SNR_DB,
        help="SNR (dB) from which the high-SNR accuracy and confusion matrix are counted",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=25,
        help="seed of the dataset split and timing samples",
    )
    parser.add_argument("--no-plots", action="store_true", help="write JSON and CSV only")


def float_list(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise ValueError(f"{option} {text!r}: expected a comma list of numbers") from error
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"{option} {text!r}: thresholds must be finite and >= 0")
    return values


def command_line(command: str, args: argparse.Namespace) -> str:
    """The command that reproduces this run, rebuilt from its parsed options (every default spelled out)."""
    parts = ["python -m training", command]
    for name, value in vars(args).items():
        if name in ("command", "handler") or value is None or value is False:
            continue
        option = "--" + name.replace("_", "-")
        parts.append(option if value is True else f"{option} {value}")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.timing_batch < 1:
        raise ValueError(f"--timing-batch must be at least 1, got {args.timing_batch}")
    torch.manual_seed(args.seed)
    model = load_model(args.model)
    thresholds = resolve_thresholds(args.threshold, model)
    sweep = float_list(args.thresholds_sweep, "--thresholds-sweep")
    dataset = load_split(
        args.data,
        args.split,
        seed=args.seed,
        classes=list(model.classes),
        snrs=parse_snr_list(args.snrs),
        length=model.input_length,
        allow_missing_classes=True,  # a file made elsewhere may lack some of the model's classes
    )
    if len(dataset) == 0:
        raise ValueError(f"{args.data}: the {args.split} split has no windows (check --snrs and --split)")
    absent = [name for index, name in enumerate(dataset.classes) if not (dataset.y == index).any()]
    if absent:
        print(f"warning: {args.data} has no {args.split} windows of class(es) {absent}", file=sys.stderr)
    metrics = evaluate(
        model,
        dataset,
        thresholds,
        args.device,
        args.batch_size,
        sweep,
        args.timing_windows,
        args.timing_repeats,
        args.seed,
        args.high_snr,
        args.timing_batch,
    )
    metrics.update(
        model=model_summary(model),
        dataset=dataset_summary(dataset, args.data),
        split=args.split,
        seed=args.seed,
        machine=machine_description(args.device),
        command=command_line("evaluate", args),
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    out = Path(args.out)
    write_results(metrics, out, plots=not args.no_plots)
    print_summary(metrics, out)
    return 0


# ---------------------------------------------------------------------------------------------------
# Files.


def write_results(metrics: dict[str, Any], out: Path, plots: bool = True) -> None:
    """metrics.json, per_snr.csv, sweep.csv and (unless ``plots`` is False) the PNG plots."""
    out.mkdir(parents=True, exist_ok=True)
    temporary = out / ".metrics.json.tmp"
    temporary.write_text(json.dumps(json_safe(metrics), indent=1) + "\n")
    os.replace(temporary, out / "metrics.json")
    write_csv(out / "per_snr.csv", per_snr_rows(metrics))
    write_csv(out / "sweep.csv", sweep_rows(metrics))
    if plots:
        from training import plots as plotting  # matplotlib only when plots are wanted

        plotting.plot_run(metrics, out)


def per_snr_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, entry in sorted(metrics["per_snr"].items(), key=lambda item: int(item[0])):
        row = {
            "snr": int(key),
            "windows": entry["windows"],
            "accuracy": entry["accuracy"],
            "exits_off_accuracy": entry["exits_off_accuracy"],
            "early_exit_share": entry["early_exit_share"],
            "early_exits_accuracy": entry["early_exits_accuracy"],
            "macs_per_window": entry["macs_per_window"],
        }
        row.update({f"exit_share_{k}": v for k, v in enumerate(entry["exit_share"])})
        row.update({f"early_exit_accuracy_{k}": v for k, v in enumerate(entry["early_exit_accuracy"])})
        for mode, timing in entry.get("timing", {}).items():
            row[f"{mode}_early_exits_us"] = timing["early_exits_us_per_window"]
            row[f"{mode}_exits_off_us"] = timing["exits_off_us_per_window"]
            row[f"{mode}_speedup"] = timing["speedup"]
        rows.append(row)
    return rows


def sweep_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    exits_off_macs = metrics["exits_off_macs_per_window"]
    rows = []
    for entry in metrics["sweep"]:
        row = {
            "threshold": entry["threshold"],
            "accuracy": entry["accuracy"],
            "early_exit_share": entry["early_exit_share"],
            "early_exits_accuracy": entry["early_exits_accuracy"],
            "macs_per_window": entry["macs_per_window"],
            "macs_relative_to_exits_off": entry["macs_per_window"] / exits_off_macs,
        }
        row.update({f"exit_share_{k}": v for k, v in enumerate(entry["exit_share"])})
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def print_summary(metrics: dict[str, Any], out: Path) -> None:
    print(
        f"thresholds {metrics['thresholds']}: accuracy {percent(metrics['accuracy'])} "
        f"(early exits off {percent(metrics['exits_off_accuracy'])}), early exits "
        f"{percent(metrics['early_exit_share'])} at accuracy {percent(metrics['early_exits_accuracy'])}, "
        f"{metrics['macs_per_window'] / 1e6:.3f} M MAC/window "
        f"(exits off {metrics['exits_off_macs_per_window'] / 1e6:.3f} M)"
    )
    timing = metrics.get("timing")
    if timing:
        for mode in ("batched", "batch1"):
            entry = timing[mode]
            print(
                f"{mode}: {entry['early_exits_us_per_window']:.1f} us/window with early exits, "
                f"{entry['exits_off_us_per_window']:.1f} us/window without: speed-up {entry['speedup']:.2f}x"
            )
    print(f"wrote {out}/metrics.json, per_snr.csv, sweep.csv")
