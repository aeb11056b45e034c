# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
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
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gnuradio.eeamc.engine import invalid_thresholds, parse_thresholds
from gnuradio.eeamc.files import atomic_output, write_text_atomic
from gnuradio.eeamc.model_file import Model, load_model
from gnuradio.eeamc.quantization import resolve_precision

from training.averaging import decision_accuracy, format_table
from training.datasets import SPLIT_BY, Dataset, load_split, parse_snr_list, recorded_split
from training.metrics import HIGH_SNR_DB, accuracy_metrics, snr_key, threshold_sweep
from training.outcomes import derive_outcome, exit_outputs, model_windows
from training.provenance import machine_description
from training.timing import TIMING_BATCH, measure_timing

#: Thresholds of the default sweep (log10 entropy; 1.0 is the largest entropy of 10 classes).
DEFAULT_SWEEP = (0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9,
                 1.0)  # fmt: skip


# ---------------------------------------------------------------------------------------------------
# Provenance.


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
        "int8_check": model.int8.get("check") if model.int8 else None,
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
    precision: str = "fp32",
) -> dict[str, Any]:
    """Every number of metrics.json except the provenance of the run (see ``run``); ``precision`` fp32
    or int8 (the model file's int8 parameters, CPU only) for every output and timing."""
    net = model.net
    values = parse_thresholds(model.thresholds if thresholds is None else thresholds, net.num_exits - 1)
    if list(dataset.classes) != list(model.classes):
        raise ValueError(
            f"the dataset's classes {list(dataset.classes)} are not the model's {list(model.classes)} "
            "(same names, same order): load the data with classes=model.classes"
        )
    int8_params = model.int8["params"] if precision == "int8" and model.int8 else None
    outputs = exit_outputs(model, dataset, device, batch_size, precision, int8_params)
    metrics = {
        "precision": precision,
        "thresholds": values,
        **accuracy_metrics(outputs, values, len(model.classes), high_snr_db),
    }
    metrics["sweep"] = threshold_sweep(outputs, sweep)
    # Decisions over several windows of one generated stream: only where a split keeps a stream's windows
    # together (a per-window split leaves a scattered sample of each stream, which no block ever sees).
    if dataset.stream is not None and dataset.attrs.get("split_by") != "window":
        taken = outputs.probabilities[derive_outcome(outputs, values).exit, np.arange(len(outputs))]
        metrics["decisions"] = decision_accuracy(
            taken, outputs.labels, outputs.snrs, dataset.stream, high_snr_db=high_snr_db
        )
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
            precision,
            int8_params,
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
        "--split-by",
        choices=SPLIT_BY,
        default="auto",
        help="window: the paper's per-window split; stream: a stream's windows in one split; auto: what "
        "the file says (robust-profile files: stream)",
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
        "--precision",
        default="fp32",
        choices=("fp32", "int8"),
        help="fp32, or int8 with the model file's int8 parameters (python -m training quantize; CPU only)",
    )
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
        default=None,
        help="seed of the dataset split and timing samples (default: the seed the model file records "
        "it was trained with, so its test split is the one it never saw; as train's, 25, for a model "
        "that records none)",
    )
    parser.add_argument("--no-plots", action="store_true", help="write JSON and CSV only")


def float_list(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise ValueError(f"{option} {text!r}: expected a comma list of numbers") from error
    if invalid_thresholds(values):
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
    model = load_model(args.model)
    precision, _reason = resolve_precision(args.precision, args.device, model)  # int8 impossible: ValueError
    thresholds = resolve_thresholds(args.threshold, model)
    split = model_split(model, args)
    args.seed = split["seed"]  # the command recorded with the results names the seed it used
    torch.manual_seed(args.seed)
    sweep = float_list(args.thresholds_sweep, "--thresholds-sweep")
    dataset = load_split(
        args.data,
        args.split,
        seed=args.seed,
        test_fraction=split["test_fraction"],
        val_fraction=split["val_fraction"],
        classes=list(model.classes),
        snrs=parse_snr_list(args.snrs),
        length=model.input_length,
        split_by=args.split_by,
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
        precision,
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


def model_split(model: Model, args: argparse.Namespace) -> dict[str, Any]:
    """Seed and fractions of the split to evaluate: those the model was trained with (train's recorded
    config, or train's defaults when it records none), the seed replaced by --seed when given. Warns
    when that --seed is not the model's: windows the model was trained on may then sit in this split."""
    recorded = recorded_split(model.provenance, args.data)
    split = {name: recorded[name] for name in ("seed", "test_fraction", "val_fraction")}
    trained_seed = "seed" in model.provenance.get("config", {})
    if trained_seed and args.seed is not None and args.seed != split["seed"] and args.split != "all":
        print(
            f"warning: {args.model or 'the model'} was trained on a split with seed {split['seed']}; this "
            f"{args.split} split (seed {args.seed}) may hold windows it was trained on: leave --seed out, "
            f"or pass --seed {split['seed']}",
            file=sys.stderr,
        )
    return {**split, "seed": split["seed"] if args.seed is None else args.seed}


def write_results(metrics: dict[str, Any], out: Path, plots: bool = True) -> None:
    """metrics.json, per_snr.csv, sweep.csv and (unless ``plots`` is False) the PNG plots."""
    write_text_atomic(out / "metrics.json", json.dumps(json_safe(metrics), indent=1) + "\n")
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
    with atomic_output(path) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def print_summary(metrics: dict[str, Any], out: Path) -> None:
    print(
        f"{metrics['precision']}, thresholds {metrics['thresholds']}: "
        f"accuracy {percent(metrics['accuracy'])} "
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
    if "decisions" in metrics:
        print(format_table(metrics["decisions"]))
    print(f"wrote {out}/metrics.json, per_snr.csv, sweep.csv")
