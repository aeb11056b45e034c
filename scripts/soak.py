#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Soak run (not a test): push many samples through eeamc.classifier and eeamc.scanner and watch memory.

Each block runs in a real flowgraph fed from a seeded recording read over and over (file_source with
repeat, cut by head): the classifier a model-rate stream of the model's own modulations, the scanner a
band from training/wideband.py. While it runs the script prints the process's resident memory (RSS) at
intervals; at the end it compares the windows the block framed with the messages that came out (every
window is reported with report="all", so they must match) and the memory late in the run with memory
early in it. Output is plain text, meant for reports/soak_<date>.txt.

    python scripts/soak.py                           # 1e8 samples through each (minutes)
    python scripts/soak.py --samples 2e6 --only scanner
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pmt
import torch

from training.checkout import use_source_tree

use_source_tree()  # this checkout's eeamc, ahead of an installed one
from gnuradio import blocks, eeamc, gr  # noqa: E402

from training.wideband import BAND_RATE, MODEL_RATE, band, modulated, noise  # noqa: E402

#: The scanner's band: five signals at 20 dB, as tests/test_scanner.py places them.
BAND_SIGNALS = [
    ("QPSK", -612.3e3),
    ("GFSK", -201.7e3),
    ("BPSK", 253.1e3),
    ("AM-DSB", 498.9e3),
    ("CPFSK", 803.4e3),
]
#: The classifier's stream: these classes one after another, each for a second, at 10 dB.
STREAM_CLASSES = ["BPSK", "QPSK", "8PSK", "PAM4", "GFSK", "CPFSK", "AM-DSB", "WBFM"]


class message_counter(gr.basic_block):
    """Counts classification messages (and unclassifiable ones) without keeping them: a message_debug
    would store every message and grow by itself."""

    def __init__(self) -> None:
        gr.basic_block.__init__(self, name="soak_message_counter", in_sig=None, out_sig=None)
        self.messages = 0
        self.unclassifiable = 0
        self.last_window: dict[int, int] = {}  # per channel (the classifier: channel -1)
        self.message_port_register_in(pmt.intern("in"))
        self.set_msg_handler(pmt.intern("in"), self.handle)

    def handle(self, message: pmt.pmt_base) -> None:
        self.messages += 1
        if pmt.to_bool(pmt.dict_ref(message, pmt.intern("unclassifiable"), pmt.PMT_F)):
            self.unclassifiable += 1
        channel = pmt.to_long(pmt.dict_ref(message, pmt.intern("channel"), pmt.from_long(-1)))
        self.last_window[channel] = pmt.to_uint64(
            pmt.dict_ref(message, pmt.intern("window"), pmt.from_uint64(0))
        )


def rss_mib() -> float:
    """This process's resident memory (VmRSS), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Soak:
    """One block's soak: what ran, the memory trace and the counts at the end."""

    name: str
    samples: int
    rss: list[tuple[float, int, float]] = field(default_factory=list)  # (s, samples read, MiB)
    lines: list[str] = field(default_factory=list)


def classifier_stream(seconds_per_class: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    per_class = int(seconds_per_class * MODEL_RATE)
    parts = [modulated(label, per_class, rng) + noise(per_class, 0.1, rng) for label in STREAM_CLASSES]
    return np.concatenate(parts).astype(np.complex64)


def run(name: str, top: gr.top_block, block, counter: message_counter, total: int, interval_s: float) -> Soak:
    """Run ``top`` to the end, sampling memory every ``interval_s`` (progress: the block's input count)."""
    soak = Soak(name, total)
    done = threading.Event()

    def watch() -> None:
        start = time.monotonic()
        while not done.wait(interval_s):
            read = block.nitems_read(0)
            soak.rss.append((time.monotonic() - start, read, rss_mib()))
            print(
                f"  {name}: {time.monotonic() - start:7.1f} s  {read:>12,} samples  RSS {rss_mib():8.1f} MiB",
                flush=True,
            )

    watcher = threading.Thread(target=watch, daemon=True)
    began = time.monotonic()
    top.start()
    watcher.start()
    top.wait()
    done.set()
    watcher.join()
    elapsed = time.monotonic() - began
    soak.rss.append((elapsed, block.nitems_read(0), rss_mib()))
    read = block.nitems_read(0)
    soak.lines.append(f"{name}: {read:,} samples in {elapsed:.1f} s ({read / elapsed / 1e6:.2f} MS/s)")
    return soak


def memory_verdict(soak: Soak) -> str:
    """RSS once a tenth and once half of the samples had passed, and at the end: start-up allocations
    (torch's, the allocator's arenas) settle early; a leak keeps growing through the second half."""

    def at(share: float) -> float:
        return next((mib for _, read, mib in soak.rss if read >= share * soak.samples), soak.rss[-1][2])

    tenth, half, end = at(0.1), at(0.5), soak.rss[-1][2]
    peak = max(mib for _, _, mib in soak.rss)
    return (
        f"  memory: {tenth:.1f} MiB at 10 % of the samples, {half:.1f} MiB at 50 %, {end:.1f} MiB at the end "
        f"(second half {end - half:+.1f} MiB), peak {peak:.1f} MiB"
    )


def soak_classifier(args: argparse.Namespace, directory: Path) -> Soak:
    path = directory / "stream.cfile"
    classifier_stream(1.0, args.seed).tofile(path)
    total = int(args.samples) // 128 * 128
    top = gr.top_block()
    source = blocks.file_source(gr.sizeof_gr_complex, str(path), True)
    head = blocks.head(gr.sizeof_gr_complex, total)
    block = eeamc.classifier(device="cpu", samp_rate=MODEL_RATE)
    counter = message_counter()
    top.connect(source, head, block, blocks.null_sink(gr.sizeof_gr_complex))
    top.msg_connect(block, "classification", counter, "in")
    soak = run("classifier", top, block, counter, total, args.interval)
    windows = total // block.window_length
    soak.lines.append(
        f"  windows framed {windows:,}, messages {counter.messages:,} "
        f"({counter.unclassifiable:,} unclassifiable), last window index {counter.last_window.get(-1)}: "
        + (
            "none lost"
            if counter.messages == windows and counter.last_window.get(-1) == windows - 1
            else "LOST WINDOWS"
        )
    )
    soak.lines.append(memory_verdict(soak))
    return soak


def soak_scanner(args: argparse.Namespace, directory: Path) -> Soak:
    path = directory / "band.cfile"
    samples, _ = band(BAND_SIGNALS, args.band_seconds, seed=args.seed)
    samples.astype(np.complex64).tofile(path)
    total = int(args.samples)
    top = gr.top_block()
    source = blocks.file_source(gr.sizeof_gr_complex, str(path), True)
    head = blocks.head(gr.sizeof_gr_complex, total)
    scanner = eeamc.scanner(BAND_RATE, device="cpu")
    counter = message_counter()
    top.connect(source, head, scanner)
    top.msg_connect(scanner, "classification", counter, "in")
    soak = run("scanner", top, scanner.classifier, counter, total, args.interval)
    inner = scanner.classifier
    # Every window the channeliser completed is either squelched or classified/unclassifiable and
    # reported; with report="all" the reported ones are exactly the messages.
    reported = inner.windows_classified + counter.unclassifiable
    soak.lines.append(
        f"  windows classified {inner.windows_classified:,} + unclassifiable {counter.unclassifiable:,} = "
        f"{reported:,}, messages {counter.messages:,}, squelched {inner.windows_squelched:,}, "
        f"channels at the end {len(inner.channels())}: "
        + ("none lost" if reported == counter.messages else "LOST WINDOWS")
    )
    soak.lines.append(memory_verdict(soak))
    return soak


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=float, default=1e8, help="samples through each block (default 1e8)")
    parser.add_argument("--only", choices=("classifier", "scanner"), help="soak one block only")
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between memory lines (default 10)"
    )
    parser.add_argument(
        "--band-seconds", type=float, default=2.0, help="length of the scanner's repeated band (s)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=3, help="seed of the streams (default 3)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"soak: {args.samples:.3g} samples per block, torch {torch.__version__} ({args.threads} thread(s)), "
        f"GNU Radio {gr.version()}, pid {os.getpid()}, {time.strftime('%Y-%m-%d %H:%M:%S')}",
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for name, soak in (("classifier", soak_classifier), ("scanner", soak_scanner)):
            if args.only in (None, name):
                results.append(soak(args, Path(directory)))
    print("\nsummary")
    for soak in results:
        print("\n".join(soak.lines))
    lost = any("LOST" in line for soak in results for line in soak.lines)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
