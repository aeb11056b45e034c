#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark eeamc.scanner: MS/s of wideband input it keeps up with, for 1, 4 and 8 occupied channels.

One run prints the machine and, for each number of channels, the MS/s through a real flowgraph
(vector source (repeat) -> head -> scanner, no throttle) with early exits on (the model's calibrated
thresholds) and off (threshold 0), the windows classified per second, and the floor of the same graph
with a null sink instead of the scanner. The band is 2.4 MS/s (an RTL-SDR's rate, as 80 x the model's)
made by training/wideband.py from the model's own modulations at 20 dB, with a DC spike and a common
frequency error; the goal is to keep up with an RTL-SDR (2.4 MS/s) with 8 occupied channels on 2 cores.
Figures are printed (and written with --json), never asserted. Each is the median of --repeats runs.

    .venv/bin/python benchmarks/bench_scanner.py [--channels 1,4,8] [--seconds 4] [--threads 1] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import bench_classifier  # the machine description and the module choice, shared with the classifier's bench
import torch

#: Classes in the order channels are added to the band (spread over the model's families).
CLASSES = ("QPSK", "GFSK", "BPSK", "CPFSK", "PAM4", "AM-DSB", "8PSK", "WBFM")
RTL_SDR_RATE = 2.4e6


def channel_frequencies(count: int, band_rate: float) -> list[float]:
    """``count`` centres spread over the middle 80 % of the band, off any grid, none at 0 Hz."""
    span = 0.8 * band_rate
    return [(-0.5 + (index + 0.5) / count) * span + 1234.5 for index in range(count)]


def make_band(count: int, seconds: float, seed: int) -> Any:
    from training import wideband

    signals = [
        (CLASSES[i % len(CLASSES)], f) for i, f in enumerate(channel_frequencies(count, wideband.BAND_RATE))
    ]
    samples, _ = wideband.band(signals, seconds, snr_db=20.0, seed=seed)
    return samples, wideband.BAND_RATE


def run_graph(samples, total: int, sink_factory) -> tuple[float, Any]:
    """Seconds to push ``total`` samples (``samples`` repeated) into the block ``sink_factory`` makes."""
    from gnuradio import blocks, gr

    top = gr.top_block()
    source = blocks.vector_source_c(samples, True)
    head = blocks.head(gr.sizeof_gr_complex, total)
    sink = sink_factory()
    top.connect(source, head, sink)
    start = time.perf_counter()
    top.run()
    return time.perf_counter() - start, sink


def bench_channels(args: argparse.Namespace, count: int) -> dict[str, Any]:
    eeamc = bench_classifier.eeamc
    from gnuradio import blocks, gr

    samples, rate = make_band(count, args.band_seconds, seed=count)
    samples = samples.tolist()  # vector_source copies a list once; the timed run does not convert
    total = int(args.seconds * rate)
    row: dict[str, Any] = {"channels": count, "band_rate": rate, "samples": total}
    floor = [run_graph(samples, total, lambda: blocks.null_sink(gr.sizeof_gr_complex))[0] for _ in range(2)]
    row["floor_msps"] = total / min(floor) / 1e6
    for mode, threshold in (("early_exit", -1), ("exits_off", 0)):
        times, windows, found = [], [], []
        for _ in range(args.repeats):
            seconds, scanner = run_graph(samples, total, lambda t=threshold: eeamc.scanner(rate, threshold=t))
            times.append(seconds)
            windows.append(scanner.classifier.windows_classified)
            found.append(len(scanner.classifier.channels()))
        seconds = statistics.median(times)
        row[mode] = {
            "msps": total / seconds / 1e6,
            "seconds": seconds,
            "windows_per_s": statistics.median(windows) / seconds,
            "channels_followed_at_end": found[-1],
            "precision": scanner.classifier.engine.precision,  # what precision="auto" chose
            "keeps_up_with_rtl_sdr": total / seconds >= RTL_SDR_RATE,
        }
    return row


def print_row(row: dict[str, Any]) -> None:
    for mode in ("early_exit", "exits_off"):
        figures = row[mode]
        verdict = "keeps up" if figures["keeps_up_with_rtl_sdr"] else "does NOT keep up"
        print(
            f"  {row['channels']} channel(s) {mode:10s} {figures['precision']} {figures['msps']:6.2f} MS/s "
            f"({figures['windows_per_s']:7.0f} windows/s, {figures['channels_followed_at_end']} followed) "
            f"-> {verdict} with an RTL-SDR (2.4 MS/s)"
        )
    print(f"  {row['channels']} channel(s) floor      {row['floor_msps']:6.2f} MS/s (source -> null sink)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--channels", default="1,4,8", help="numbers of occupied channels, comma-separated")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of band pushed per figure")
    parser.add_argument("--band-seconds", type=float, default=1.0, help="seconds of band made (repeated)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--source-tree", action="store_true", help="measure this checkout's python/eeamc")
    parser.add_argument("--json", type=Path, help="also write the figures and the machine here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench_classifier.use_eeamc(args.source_tree)
    if args.threads:
        torch.set_num_threads(args.threads)
    machine = bench_classifier.machine_info(torch.device("cpu"))
    print("== Machine")
    for key, value in machine.items():
        print(f"  {key:24s} {value}")
    print(f"== Scanner: median of {args.repeats} runs of {args.seconds:g} s of band each, shipped model")
    rows = []
    for count in (int(c) for c in args.channels.split(",")):
        rows.append(bench_channels(args, count))
        print_row(rows[-1])
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "scanner": rows}, indent=2) + "\n")
        print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
