#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""No radio needed: a synthetic band through the scanner, scored live against what is really there.

    eeamc.synthetic_band (signals, freq error, DC spike, noise) -> throttle -> eeamc.scanner

Once a second it prints what the scanner found where (channel id, frequency, class, confidence, share
of windows leaving at the early exit) next to the true signal there; at the end, per true signal:
found or not, frequency error, class accuracy of its windows (windows while it is on), the channel ids
it was given, and the false detections (reports where no signal is), windows/s. ``--json`` writes the
summary. examples/synthetic_band.grc is the same flowgraph for GNU Radio Companion.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pmt
from gnuradio import blocks, eeamc, gr
from gnuradio.eeamc.commands import add_classifier_arguments
from gnuradio.eeamc.zmq_publish import add_zmq_argument

#: A report this close to a true centre (or within its half bandwidth, when wider) is that signal's.
MATCH_HZ = 5e3


class message_collector(gr.basic_block):  # noqa: N801 (GNU Radio's block naming)
    """Keeps every message of its input port as a plain Python dict (thread-safe)."""

    def __init__(self) -> None:
        gr.basic_block.__init__(self, "message_collector", in_sig=None, out_sig=None)
        self.message_port_register_in(pmt.intern("in"))
        self.set_msg_handler(pmt.intern("in"), self._store)
        self._lock = threading.Lock()
        self._messages: list[dict] = []

    def _store(self, message: pmt.pmt_base) -> None:
        value = pmt.to_python(message)
        if isinstance(value, dict):
            with self._lock:
                self._messages.append(value)

    def messages(self, start: int = 0) -> list[dict]:
        with self._lock:
            return self._messages[start:]


@dataclass
class Scored:
    """One report judged against the truth: which signal it is (or None) and whether it counts."""

    report: dict
    signal: eeamc.TrueSignal | None
    whole: bool  # the signal was on for the whole window: its class counts


def judge(report: dict, truth: Callable[[int, int], list], span: int) -> Scored:
    """Match a report to the true signal nearest its frequency that is on during its window."""
    on = truth(int(report["offset"]), span)
    near = [s for s in on if abs(report["freq_offset"] - s.centre) <= max(MATCH_HZ, s.bandwidth / 2)]
    if not near:
        return Scored(report, None, False)
    signal = min(near, key=lambda s: abs(report["freq_offset"] - s.centre))
    return Scored(report, signal, signal.coverage >= 1.0)


def early_share(reports: Sequence[dict]) -> float | None:
    return float(np.mean([r["exit"] == 0 for r in reports])) if reports else None


def summarise(
    reports: Sequence[dict],
    signals: Sequence[eeamc.SignalSpec],
    truth: Callable[[int, int], list],
    span: int,
    samp_rate: float,
    band_seconds: float,
    wall_seconds: float,
    freq_error: float,
) -> dict:
    """The end-of-run score: per true signal, false detections, rates (plain JSON types)."""
    scored = [judge(r, truth, span) for r in reports if not r.get("unclassifiable")]
    per_signal = []
    for index, spec in enumerate(signals):
        mine = [s for s in scored if s.signal is not None and s.signal.index == index]
        whole = [s for s in mine if s.whole]
        errors = [s.report["freq_offset"] - s.signal.centre for s in mine]
        per_signal.append(
            {
                "label": spec.label,
                "true_centre_hz": spec.freq_offset + freq_error,
                "snr_db": spec.snr_db,
                "found": bool(mine),
                "freq_error_hz": float(np.median(errors)) if errors else None,
                "windows": len(whole),
                "class_accuracy": float(np.mean([s.report["label"] == spec.label for s in whole]))
                if whole
                else None,
                "classes": dict(Counter(s.report["label"] for s in whole).most_common(3)),
                "early_exit_share": early_share([s.report for s in whole]),
                "channel_ids": sorted({int(s.report["channel"]) for s in mine}),
            }
        )
    false = [s.report for s in scored if s.signal is None]
    return {
        "band_seconds": band_seconds,
        "wall_seconds": wall_seconds,
        "reports": len(reports),
        "windows_per_s": len(reports) / wall_seconds if wall_seconds > 0 else None,
        "early_exit_share": early_share(reports),
        "signals": per_signal,
        "false_detections": len(false),
        "false_detection_freqs_hz": sorted({round(float(r["freq_offset"]), -3) for r in false}),
        # When they happened (s of band, the first 20): next to a signal's switching off, or anywhere?
        "false_detection_times_s": [round(int(r["offset"]) / samp_rate, 4) for r in false[:20]],
    }


def live_lines(recent: Sequence[dict], truth: Callable[[int, int], list], span: int) -> list[str]:
    """One line per channel reported in the last second, then the true signals nobody reported."""
    by_channel = defaultdict(list)
    for report in recent:
        by_channel[int(report["channel"])].append(report)
    lines, seen = [], set()
    for channel, mine in sorted(by_channel.items()):
        label, count = Counter(r["label"] for r in mine).most_common(1)[0]
        freq = float(np.median([r["freq_offset"] for r in mine]))
        matched = [s.signal for s in (judge(r, truth, span) for r in mine) if s.signal is not None]
        false = len(mine) - len(matched)
        if matched:
            signal = Counter(matched).most_common(1)[0][0]
            seen.add(signal.index)
            there = (
                f"true {signal.label:6} at {signal.centre / 1e3:8.1f} kHz ({freq - signal.centre:+5.0f} Hz)"
            )
        else:
            there = "nothing there"
        if false:
            there += f", {false} false"
        confidence = np.mean([r["confidence"] for r in mine])
        lines.append(
            f"  ch {channel:3d} {freq / 1e3:8.1f} kHz  {label:6} {count / len(mine):4.0%} of {len(mine):3d}"
            f"  conf {confidence:.2f}  early {early_share(mine):4.0%}  | {there}"
        )
    if recent:
        for signal in truth(int(recent[-1]["offset"]), span):
            if signal.index not in seen and signal.coverage >= 1.0:
                lines.append(f"  (not reported: {signal.label} at {signal.centre / 1e3:.1f} kHz)")
    return lines


def print_summary(summary: dict) -> None:
    print(
        f"\nSummary: {summary['band_seconds']:.1f} s of band in {summary['wall_seconds']:.1f} s, "
        f"{summary['reports']} windows ({summary['windows_per_s']:.0f}/s), "
        f"early exit {summary['early_exit_share'] or 0:.0%}"
    )
    print(
        f"  {'signal':7} {'centre kHz':>10} {'SNR':>4}  found  {'f err Hz':>8}  {'windows':>7}  accuracy  ids"
    )
    for s in summary["signals"]:
        error = "-" if s["freq_error_hz"] is None else f"{s['freq_error_hz']:+.0f}"
        accuracy = "-" if s["class_accuracy"] is None else f"{s['class_accuracy']:.0%}"
        found = "yes" if s["found"] else "NO"
        print(
            f"  {s['label']:7} {s['true_centre_hz'] / 1e3:10.1f} {s['snr_db']:4.0f}  {found:5}"
            f"  {error:>8}  {s['windows']:7d}  {accuracy:>8}  {s['channel_ids']}"
        )
    where = ", ".join(f"{f / 1e3:.0f} kHz" for f in summary["false_detection_freqs_hz"]) or "-"
    print(f"  false detections: {summary['false_detections']} (at {where})")


def build(
    args: argparse.Namespace,
) -> tuple[gr.top_block, eeamc.synthetic_band, blocks.head, message_collector, int]:
    top = gr.top_block("synthetic band through the scanner")
    band = eeamc.synthetic_band(samp_rate=args.samp_rate, seed=args.seed)
    head = blocks.head(gr.sizeof_gr_complex, int(args.seconds * args.samp_rate))
    scanner = eeamc.scanner(
        args.samp_rate,
        model=args.model,
        device=args.device,
        threshold=args.threshold,
        min_snr_db=args.min_snr_db,
    )
    collector = message_collector()
    if args.no_throttle:
        top.connect(band, head, scanner)
    else:
        top.connect(band, blocks.throttle(gr.sizeof_gr_complex, args.samp_rate, True), head, scanner)
    top.msg_connect(scanner, "classification", collector, "in")
    if args.zmq is not None:
        top.msg_connect(scanner, "classification", args.zmq, "in")
    classifier = scanner.classifier
    span = int(round(classifier.window_length * args.samp_rate / classifier.contract.sample_rate))
    return top, band, head, collector, span


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Run a synthetic radio band (six signals of the model's classes, two coming and going, a 3 kHz "
            "frequency error, a DC spike, noise) through eeamc.scanner and score what it finds against the "
            "truth: live once a second and as a summary at the end."
        )
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of band to run (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the band's symbols, audio and noise")
    parser.add_argument(
        "--samp-rate", type=float, default=2.4e6, help="band sample rate, S/s (default 2.4e6)"
    )
    parser.add_argument(
        "--no-throttle", action="store_true", help="run as fast as the CPU allows instead of in real time"
    )
    parser.add_argument("--json", type=Path, help="write the summary to this JSON file")
    add_classifier_arguments(parser)
    add_zmq_argument(parser)
    args = parser.parse_args(argv)
    if not args.seconds > 0:
        parser.error("--seconds must be > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    top, band, head, collector, span = build(args)
    rate = args.samp_rate / 1e6
    print(f"Band: {len(band.signals)} signals at {rate:g} MS/s, freq error {band.freq_error:+.0f} Hz")
    for spec in band.signals:
        schedule = "always" if spec.period_s == 0 else f"{spec.duty:.0%} of every {spec.period_s:g} s"
        print(
            f"  {spec.label:7} {(spec.freq_offset + band.freq_error) / 1e3:8.1f} kHz  {spec.snr_db:4.0f} dB  "
            f"x{spec.symbol_rate_scale:g} rate  from {spec.start_s:g} s, {schedule}"
        )
    start = time.monotonic()
    top.start()
    finished = threading.Event()
    threading.Thread(target=lambda: (top.wait(), finished.set()), daemon=True).start()
    seen = 0
    try:
        while True:
            done = finished.wait(1.0)
            reports = collector.messages(seen)
            seen += len(reports)
            band_s = head.nitems_written(0) / args.samp_rate
            print(f"t = {band_s:5.1f} s of band, {len(reports) / 1.0:4.0f} windows in the last second")
            for line in live_lines(reports, band.truth, span):
                print(line)
            sys.stdout.flush()
            if done:
                break
    except KeyboardInterrupt:
        top.stop()
    top.wait()
    wall = time.monotonic() - start
    summary = summarise(
        collector.messages(),
        band.signals,
        band.truth,
        span,
        args.samp_rate,
        head.nitems_written(0) / args.samp_rate,
        wall,
        band.freq_error,
    )
    print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
