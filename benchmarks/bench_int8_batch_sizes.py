#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark the int8 engine on batches of every size, as a block's work() calls give it: each segment's
batch padded to a packed size (quantization.PAD_ROWS, what the engine does) against every batch run at
its own size on one packing per convolution (torch's kernels alone, as the engine ran before), in one
run with the machine printed first.

oneDNN keeps one primitive per packed convolution, made for the first input shape it ran on, and builds
a new one on every call of another shape; padding to multiples of PAD_ROWS, each with its own packed
weights, turns nearly every call into one with a ready primitive. The two engines take turns batch by
batch over the same seeded sizes (uniform in 1..--max-batch) and windows, early exits on at the model's
thresholds and off; the windows are noise unless --data names a dataset file, whose test split is then
sampled (the share of windows leaving early is printed: with the shipped model, which knows noise, none
of the noise leaves early, so only --data exercises the batches gathered after the exit). Figures are
printed (and written with --json), never asserted.

    .venv/bin/python benchmarks/bench_int8_batch_sizes.py [--model FILE] [--batches 3000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import bench_classifier  # the machine description and the module choice, shared with the classifier's bench
import numpy as np
import torch


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="", help="model file with an int8 section (default: the shipped one)"
    )
    parser.add_argument(
        "--data", default="", help="dataset file whose test split is sampled (default: noise)"
    )
    parser.add_argument("--batches", type=int, default=3000, help="timed batches per engine and mode")
    parser.add_argument("--max-batch", type=int, default=256, help="largest batch (a block's max_batch)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=1, help="seed of the batch sizes and the windows")
    parser.add_argument("--source-tree", action="store_true", help="measure this checkout's python/eeamc")
    parser.add_argument("--json", type=Path, help="also write the figures and the machine here")
    return parser.parse_args(argv)


def test_windows(model: Any, args: argparse.Namespace) -> tuple[torch.Tensor, str]:
    """--max-batch windows, normalised as the model expects, and what they are."""
    if args.data:
        from training.datasets import load_split

        data = load_split(args.data, "test", classes=list(model.classes), allow_missing_classes=True)
        rows = np.random.default_rng(args.seed).choice(len(data), args.max_batch, replace=False)
        raw, what = data.x[np.sort(rows)], f"{args.max_batch} test windows of {args.data}"
    else:
        shape = (args.max_batch, 2, model.net.input_length)
        raw, what = np.random.default_rng(args.seed).standard_normal(shape), "Gaussian noise"
    normalized = bench_classifier.windows_module.normalize(raw.astype(np.float32), model.normalization)
    return torch.from_numpy(normalized), what


def rates(engines: dict[str, Any], windows: torch.Tensor, sizes: np.ndarray) -> dict[str, float]:
    """Windows/s of each engine over ``sizes`` batches, the engines taking turns batch by batch."""
    busy = dict.fromkeys(engines, 0.0)
    for size in range(1, len(windows) + 1):  # warm-up: every size once, so every padded size is packed
        for engine in engines.values():
            engine.classify(windows[:size])
    for size in sizes:
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.classify(windows[:size])
            busy[name] += time.perf_counter() - start
    return {name: float(sizes.sum() / seconds) for name, seconds in busy.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_classifier.use_eeamc(args.source_tree)
    eeamc = bench_classifier.eeamc
    torch.set_num_threads(args.threads)
    model = eeamc.load_model(args.model or None)
    if not model.int8:
        print(f"{model.path}: no int8 section; add one with python -m training quantize", file=sys.stderr)
        return 2
    machine = bench_classifier.machine_info(torch.device("cpu"))
    print("== Machine")
    for key in (
        "cpu",
        "cores_available",
        "load_average_1_5_15",
        "torch",
        "torch_cpu_capability",
        "torch_threads",
    ):
        print(f"  {key:24} {machine[key]}")
    windows, what = test_windows(model, args)
    sizes = np.random.default_rng(args.seed).integers(1, args.max_batch + 1, args.batches)
    print(f"== {args.batches} batches of 1..{args.max_batch} windows (mean {sizes.mean():.0f}) of {what}")
    rows = []
    early_mode = f"early exit T={', '.join(f'{t:.3f}' for t in model.thresholds)}"
    for mode, thresholds in (("exits off", 0.0), (early_mode, model.thresholds)):
        engines = {
            padded: eeamc.EarlyExitEngine(
                model.net, thresholds, "cpu", precision="int8", int8_params=model.int8["params"]
            )
            for padded in ("padded", "own size")
        }
        engines["own size"].net.pad_batches = False
        measured = rates(engines, windows, sizes)
        ratio = measured["padded"] / measured["own size"]
        early_share = float(
            (engines["padded"].classify(windows).exit < model.net.num_exits - 1).float().mean()
        )
        print(
            f"  {mode:24} {early_share:4.0%} leave early   padded {measured['padded']:7,.0f} windows/s   "
            f"own size {measured['own size']:7,.0f} windows/s   ({ratio:.2f}x)"
        )
        rows.append(
            {
                "mode": mode,
                "early_share": early_share,
                "windows_per_s": measured,
                "padded_over_own_size": ratio,
            }
        )
    if args.json:
        report = {"machine": machine, "windows": what, "batches": args.batches, "max_batch": args.max_batch}
        args.json.write_text(json.dumps({**report, "rows": rows}, indent=2) + "\n")
        print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
