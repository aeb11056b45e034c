#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A recording through the scanner: every signal in it found and classified, results printed and saved.

    file source (.cfile or SigMF) -> to complex64 -> eeamc.scanner -> JSON lines + the terminal

A raw ``.cfile`` (complex64, as GNU Radio's file sink writes) needs ``--samp-rate`` (and ``--freq``
for absolute frequencies). A SigMF recording (``NAME.sigmf-meta`` beside ``NAME.sigmf-data``) states
its sample rate, centre frequency and data type itself; cf32_le, ci16_le, ci8 and cu8 (what rtl_sdr
writes) are read (gnuradio.eeamc.recordings, with the ``sigmf`` package: it validates the meta file
against the SigMF schema). Each classification becomes one JSON line (reports.to_json's plain JSON
types: the scanner's message, plus ``time_s`` and, with a centre frequency, ``freq`` in Hz); the
terminal shows each channel's class when it changes and a per-channel summary at the end.
examples/recording.grc is the same flowgraph for a .cfile in GNU Radio Companion.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pmt
from gnuradio import eeamc, gr
from gnuradio.eeamc.commands import add_classifier_arguments
from gnuradio.eeamc.recordings import RecordingError, open_recording, source_blocks
from gnuradio.eeamc.reports import to_json
from gnuradio.eeamc.zmq_publish import add_zmq_argument


class jsonl_writer(gr.basic_block):  # noqa: N801 (GNU Radio's block naming)
    """Writes every classification message as one JSON line and prints each channel's changes."""

    def __init__(self, path: Path, samp_rate: float, freq: float | None, quiet: bool = False) -> None:
        gr.basic_block.__init__(self, "jsonl_writer", in_sig=None, out_sig=None)
        self.message_port_register_in(pmt.intern("in"))
        self.set_msg_handler(pmt.intern("in"), self._write)
        self._file = path.open("w", encoding="utf-8")
        self._samp_rate, self._freq, self._quiet = samp_rate, freq, quiet
        self._lock = threading.Lock()
        self.count = 0
        self.labels: dict[int, Counter] = defaultdict(Counter)
        self.freqs: dict[int, list[float]] = defaultdict(list)
        self._last: dict[int, str] = {}

    def _write(self, message: pmt.pmt_base) -> None:
        record = to_json(message)
        if not isinstance(record, dict):
            return
        record["time_s"] = record.get("offset", 0) / self._samp_rate
        if self._freq is not None and "freq" not in record and "freq_offset" in record:
            record["freq"] = self._freq + record["freq_offset"]
        with self._lock:
            self._file.write(json.dumps(record) + "\n")
            self.count += 1
            channel = int(record.get("channel", -1))
            self.labels[channel][record["label"]] += 1
            self.freqs[channel].append(float(record.get("freq_offset", 0.0)))
            if self._last.get(channel) != record["label"]:
                self._last[channel] = record["label"]
                self._print(record, channel)

    def _print(self, record: dict, channel: int) -> None:
        if self._quiet:
            return
        where = f"{record.get('freq_offset', 0.0) / 1e3:+9.1f} kHz"
        if "freq" in record:
            where += f" ({record['freq'] / 1e6:.4f} MHz)"
        snr = record.get("snr_db", float("nan"))
        print(
            f"t {record['time_s']:8.3f} s  ch {channel:3d} {where}  {record['label']:7} "
            f"conf {record['confidence']:.2f}  exit {record['exit']}  SNR {snr:4.1f} dB"
        )

    def close(self) -> None:
        with self._lock:
            self._file.close()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Find and classify every signal in a recording with eeamc.scanner. Reads a raw .cfile "
            "(complex64; give --samp-rate, and --freq for absolute frequencies) or a SigMF recording "
            "(.sigmf-meta; rate, centre frequency and data type cf32_le/ci16_le/ci8/cu8 from the meta). "
            "Prints each channel's class when it changes and writes every classification as a JSON line."
        )
    )
    parser.add_argument("recording", type=Path, help="a .cfile, or a SigMF .sigmf-meta (or its .sigmf-data)")
    parser.add_argument("--samp-rate", type=float, help="sample rate of a .cfile, S/s")
    parser.add_argument("--freq", type=float, help="centre frequency, Hz (a .cfile's; overrides SigMF's)")
    parser.add_argument(
        "--out", type=Path, help="JSON lines output (default: the recording's name + .eeamc.jsonl beside it)"
    )
    add_classifier_arguments(parser)
    add_zmq_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        recording = open_recording(args.recording, args.samp_rate, args.freq)
    except RecordingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = args.out or args.recording.with_name(args.recording.stem + ".eeamc.jsonl")
    centre = "unknown" if recording.freq is None else f"{recording.freq / 1e6:.4f} MHz"
    print(f"{recording.data}: {recording.datatype} at {recording.samp_rate / 1e6:g} MS/s, centre {centre}")
    top = gr.top_block("recording through the scanner")
    scanner = eeamc.scanner(
        recording.samp_rate,
        model=args.model,
        device=args.device,
        threshold=args.threshold,
        min_snr_db=args.min_snr_db,
    )
    writer = jsonl_writer(out, recording.samp_rate, recording.freq, args.quiet)
    top.connect(*source_blocks(recording), scanner)
    top.msg_connect(scanner, "classification", writer, "in")
    if args.zmq is not None:
        top.msg_connect(scanner, "classification", args.zmq, "in")
    top.run()
    writer.close()
    print(f"\n{writer.count} classifications -> {out}")
    for channel, labels in sorted(writer.labels.items()):
        total = sum(labels.values())
        shares = ", ".join(f"{label} {count / total:.0%}" for label, count in labels.most_common(3))
        freq = np.median(writer.freqs[channel]) / 1e3
        print(f"  ch {channel:3d} {freq:+9.1f} kHz  {total:6d} windows: {shares}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
