#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark int8 against fp32 inference: the early-exit engine's windows/s at batch 256 (the block's
default max_batch) with 1 and 2 torch threads, early exits off and at the model's thresholds, and how
often int8 gives fp32's answer, in one run with the machine printed first.

The int8 parameters come from the model file's int8 section (``python -m training quantize``), else
they are calibrated here on --calibration-windows windows of the data's training split (printed so).
Windows: the test split of --data (any layout training.datasets reads). fp32 and int8 take turns; each
figure is the fastest of --repeats timed passes over the same windows after a warm-up (the least
disturbed by other work on the machine, whose load average is printed); nothing is asserted.

    .venv/bin/python benchmarks/bench_int8.py [--model FILE] [--data data/rml22_nominal.h5] [--json OUT]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's training package, which measures this checkout's module
from training.checkout import use_source_tree  # noqa: E402

use_source_tree()

from gnuradio.eeamc import quantization  # noqa: E402
from gnuradio.eeamc.engine import DEFAULT_MAX_BATCH, EarlyExitEngine  # noqa: E402
from gnuradio.eeamc.model_file import load_model  # noqa: E402

from training.datasets import load_split, recorded_split  # noqa: E402
from training.outcomes import model_windows  # noqa: E402
from training.provenance import machine_description  # noqa: E402
from training.quantize import calibration_windows  # noqa: E402

DEFAULT_DATA = REPO / "data" / "rml22_nominal.h5"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="", help="model file (default: the shipped model)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="dataset file whose test split is timed")
    parser.add_argument("--windows", type=int, default=4096, help="test windows timed (a seeded sample)")
    parser.add_argument("--batch", type=int, default=DEFAULT_MAX_BATCH, help="windows per engine call")
    parser.add_argument("--threads", default="1,2", help="comma list of torch thread counts")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per figure (fastest kept)")
    parser.add_argument(
        "--calibration-windows",
        type=int,
        default=10000,
        help="training windows to calibrate on when the model file has no int8 section",
    )
    parser.add_argument("--seed", type=int, default=25, help="seed of the split and the samples")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if min(args.windows, args.batch, args.repeats, args.calibration_windows) < 1:
        parser.error("--windows, --batch, --repeats and --calibration-windows must be at least 1")
    return args


def windows_per_second(
    engines: dict[str, EarlyExitEngine], windows: torch.Tensor, batch: int, repeats: int
) -> dict[str, tuple[float, float]]:
    """Per engine, (windows per wall-clock second, windows per CPU second of this process), each from
    the fastest of ``repeats`` passes over ``windows`` in calls of ``batch``. The engines take turns (the
    order alternating), so a change in the machine's load hits them alike; CPU time is what a pass
    cost when other work on a loaded machine kept it waiting."""
    for engine in engines.values():
        engine.classify(windows[:batch])  # warm-up: allocations, thread pool
    wall, cpu = dict.fromkeys(engines, math.inf), dict.fromkeys(engines, math.inf)
    for repeat in range(repeats):
        for name in list(engines)[:: 1 if repeat % 2 == 0 else -1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            for first in range(0, len(windows), batch):
                engines[name].classify(windows[first : first + batch])
            wall[name] = min(wall[name], time.perf_counter() - start)
            cpu[name] = min(cpu[name], time.process_time() - start_cpu)
    return {name: (len(windows) / wall[name], len(windows) / cpu[name]) for name in engines}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model = load_model(args.model or None)
    split = recorded_split(model.provenance, args.data)
    test = load_split(args.data, "test", classes=model.classes, length=model.input_length, **split)
    rng = np.random.default_rng(args.seed)
    chosen = np.sort(rng.choice(len(test), min(args.windows, len(test)), replace=False))
    windows = model_windows(test.x[chosen], model.normalization)
    if model.int8:
        params, source = (
            model.int8["params"],
            f"the model file's int8 section ({model.int8['params']['windows']} windows)",
        )
    else:
        train = load_split(args.data, "train", classes=model.classes, length=model.input_length, **split)
        params = quantization.calibrate_int8(
            model.net, calibration_windows(train, args.calibration_windows, model.normalization, args.seed)
        )
        source = f"calibrated here on {params['windows']} windows of {args.data}'s training split"
    load_before = os.getloadavg()  # other work on the machine slows every figure down
    results = measure(model, params, windows, args)
    report = {
        "machine": {
            **machine_description("cpu"),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "fast_int8_cpu": quantization.fast_int8_cpu(),
            "load_average_before": list(load_before),
            "load_average_after": list(os.getloadavg()),
        },
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": model.path,
        "data": str(args.data),
        "int8_parameters": source,
        "windows": len(windows),
        "batch": args.batch,
        "results": results,
    }
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


def measure(
    model: Any, params: dict, windows: torch.Tensor, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Per thread count and exit setting: fp32 and int8 windows/s, and int8's agreement with fp32."""
    rows = []
    settings = (
        {"exits off": 0.0, "early exits": list(model.thresholds)}
        if model.thresholds
        else {"no early exit": 0.0}
    )
    for threads in [int(t) for t in args.threads.split(",") if t.strip()]:
        torch.set_num_threads(threads)
        for name, thresholds in settings.items():
            engines = {
                "fp32": EarlyExitEngine(model.net, thresholds, "cpu"),
                "int8": EarlyExitEngine(model.net, thresholds, "cpu", precision="int8", int8_params=params),
            }
            rates = windows_per_second(engines, windows, args.batch, args.repeats)
            labels = [engine.classify(windows).label for engine in engines.values()]
            rows.append(
                {
                    "threads": threads,
                    "exits": name,
                    "fp32_windows_per_s": rates["fp32"][0],
                    "int8_windows_per_s": rates["int8"][0],
                    "speedup": rates["int8"][0] / rates["fp32"][0],
                    "fp32_windows_per_cpu_s": rates["fp32"][1],
                    "int8_windows_per_cpu_s": rates["int8"][1],
                    "cpu_speedup": rates["int8"][1] / rates["fp32"][1],
                    "agreement": float((labels[0] == labels[1]).float().mean()),
                }
            )
    return rows


def print_report(report: dict[str, Any]) -> None:
    machine = report["machine"]
    print(
        f"machine: {machine['cpu']} ({machine['cpu_count']} cores, {machine['cpu_capability']}, fast int8: "
        f"{machine['fast_int8_cpu']}), {machine['platform']}, torch {machine['torch']}; {report['date']}"
    )
    print(
        "load average (1 min) before and after the timings: "
        f"{machine['load_average_before'][0]:.1f}, {machine['load_average_after'][0]:.1f}"
    )
    print(
        f"model {report['model']}; {report['windows']} test windows of {report['data']}; "
        f"batch {report['batch']}"
    )
    print(f"int8 parameters: {report['int8_parameters']}")
    print("windows/s: per wall-clock second; per CPU s: per CPU second of this process (all its threads)")
    print(
        f"{'threads':>7}  {'exits':<12} {'fp32 windows/s':>14} {'int8 windows/s':>14} {'int8/fp32':>9} "
        f"{'fp32 per CPU s':>14} {'int8 per CPU s':>14} {'int8/fp32':>9} {'agreement':>9}"
    )
    for row in report["results"]:
        print(
            f"{row['threads']:>7}  {row['exits']:<12} {row['fp32_windows_per_s']:>14,.0f} "
            f"{row['int8_windows_per_s']:>14,.0f} {row['speedup']:>8.2f}x "
            f"{row['fp32_windows_per_cpu_s']:>14,.0f} {row['int8_windows_per_cpu_s']:>14,.0f} "
            f"{row['cpu_speedup']:>8.2f}x {100 * row['agreement']:>8.2f}%"
        )


if __name__ == "__main__":
    sys.exit(main())
