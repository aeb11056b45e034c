# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inference time measured through the early-exit engine, per SNR, batched and one window per call, with
the early exits on and off in the same run (the speed-up)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gnuradio.eeamc.engine import DEFAULT_MAX_BATCH, EarlyExitEngine, resolve_device
from gnuradio.eeamc.networks import EarlyExitNet
from tqdm import tqdm


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
    precision: str = "fp32",
    int8_params: dict | None = None,
) -> dict[str, Any]:
    """Time the engine per SNR with ``thresholds`` and with early exits off, in the same run, in
    ``precision`` (int8: with ``int8_params``).

    Batched: every window of the SNR in batches of ``batch_size``. Batch 1: a seeded sample of
    ``batch1_windows`` windows per SNR, one call each. Each measurement is repeated ``repeats`` times,
    alternating which configuration goes first, and the fastest repeat is kept (the least disturbed by
    other work on the machine).
    """
    early = EarlyExitEngine(net, list(thresholds), device, precision=precision, int8_params=int8_params)
    off = EarlyExitEngine(net, 0.0, device, precision=precision, int8_params=int8_params)
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
    overall["precision"] = precision
    return {"overall": overall, "per_snr": per_snr}


#: Batched timings run in batches of the block's default max_batch: what the block does. Larger batches
#: are no faster per window on a CPU (at 1024 the activations outgrow the caches and the timings scatter).
TIMING_BATCH = DEFAULT_MAX_BATCH
