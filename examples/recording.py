#!/usr/bin/env python3
"""A recording through the scanner: every signal in it found and classified, results printed and saved.

    file source (.cfile or SigMF) -> to complex64 -> eeamc.scanner -> JSON lines + the terminal

A raw ``.cfile`` (complex64, as GNU Radio's file sink writes) needs ``--samp-rate`` (and ``--freq``
for absolute frequencies). A SigMF recording (``NAME.sigmf-meta`` beside ``NAME.sigmf-data``) states
its sample rate, centre frequency and data type itself; cf32_le, ci16_le, ci8 and cu8 (what rtl_sdr
writes) are read. The meta file is read with the ``sigmf`` package (it validates the file against the
SigMF schema). Each classification becomes one JSON line (plain JSON types: the scanner's message,
plus ``time_s`` and, with a centre frequency, ``freq`` in Hz); the terminal shows each channel's class
when it changes and a per-channel summary at the end. examples/recording.grc is the same flowgraph for
a .cfile in GNU Radio Companion.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pmt
from gnuradio import blocks, eeamc, gr

#: SigMF data types this example reads: item size in bytes of one component, and how to convert.
SIGMF_TYPES = ("cf32_le", "ci16_le", "ci8", "cu8")


@dataclasses.dataclass(frozen=True)
class Recording:
    """Where the samples are and what they are."""

    data: Path
    datatype: str  # one of SIGMF_TYPES
    samp_rate: float
    freq: float | None  # centre frequency in Hz, when known
    header_bytes: int = 0


class RecordingError(ValueError):
    """A recording that cannot be read, with what to do about it."""


def sigmf_recording(meta: Path) -> Recording:
    """Sample rate, centre frequency, data type and data file of a SigMF recording."""
    import sigmf  # only SigMF recordings need it
    from sigmf import sigmffile

    try:
        record = sigmffile.fromfile(str(meta))
    except (sigmf.error.SigMFError, ValueError, OSError) as error:
        raise RecordingError(f"{meta}: not a readable SigMF recording ({error})") from error
    datatype = record.get_global_field(sigmf.DATATYPE_KEY)
    if datatype not in SIGMF_TYPES:
        raise RecordingError(
            f"{meta}: data type {datatype!r} is not read here; convert it to one of {list(SIGMF_TYPES)}"
        )
    if record.get_global_field(sigmf.NUM_CHANNELS_KEY, 1) != 1:
        raise RecordingError(
            f"{meta}: {record.get_global_field(sigmf.NUM_CHANNELS_KEY)} channels; only one is read"
        )
    rate = record.get_global_field(sigmf.SAMPLE_RATE_KEY)
    if not rate:
        raise RecordingError(f"{meta}: no core:sample_rate; add it to the meta file")
    captures = record.get_captures()
    freq = captures[0].get(sigmf.FREQUENCY_KEY) if captures else None
    data = meta.with_suffix(".sigmf-data")
    if not data.exists():
        raise RecordingError(f"{meta}: its data file {data.name} is missing")
    header = int(captures[0].get("core:header_bytes", 0)) if captures else 0
    return Recording(data, datatype, float(rate), None if freq is None else float(freq), header)


def open_recording(path: Path, samp_rate: float | None, freq: float | None) -> Recording:
    """A .cfile (with --samp-rate) or a SigMF recording (either of its two files)."""
    if path.suffix in (".sigmf-meta", ".sigmf-data", ".sigmf"):
        recording = sigmf_recording(path.with_suffix(".sigmf-meta"))
        if samp_rate:
            raise RecordingError(f"{path}: a SigMF recording states its sample rate; leave out --samp-rate")
        return recording if freq is None else dataclasses.replace(recording, freq=freq)
    if not path.exists():
        raise RecordingError(f"{path}: no such file")
    if not samp_rate:
        raise RecordingError(f"{path}: a raw recording does not say its sample rate; give --samp-rate")
    return Recording(path, "cf32_le", float(samp_rate), freq)


def source_blocks(recording: Recording) -> list[gr.basic_block]:
    """File source -> complex64 in [-1, 1] for the recording's data type."""
    kind = recording.datatype
    component = {"cf32_le": gr.sizeof_gr_complex, "ci16_le": gr.sizeof_short}.get(kind, gr.sizeof_char)
    if recording.header_bytes % component:
        raise RecordingError(f"{recording.data}: header of {recording.header_bytes} bytes is not whole items")
    source = blocks.file_source(component, str(recording.data), False, recording.header_bytes // component, 0)
    if kind == "cf32_le":
        return [source]
    if kind == "ci16_le":
        return [source, blocks.interleaved_short_to_complex(False, False, 32768.0)]
    if kind == "ci8":
        return [source, blocks.interleaved_char_to_complex(False, 128.0)]
    # cu8 (rtl_sdr's): unsigned bytes centred on 127.5, I then Q. Two floats side by side are one
    # complex64 in memory, so pairs of floats (items of 8 bytes) feed the complex input as they are.
    return [
        source,
        blocks.uchar_to_float(),
        blocks.add_const_ff(-127.5),
        blocks.multiply_const_ff(1 / 127.5),
        blocks.stream_to_vector(gr.sizeof_float, 2),
    ]


def plain(value):
    """A PMT-converted value as plain JSON types (numpy scalars and arrays become numbers and lists)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


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
        record = plain(pmt.to_python(message))
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
    parser.add_argument("--model", default="", help="gr-eeamc model file (default: the shipped model)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=-1.0,
        help="entropy threshold: -1 the model's calibrated one, 0 exits off",
    )
    parser.add_argument(
        "--min-snr-db", type=float, default=6.0, help="scanner's detection SNR, dB (default 6)"
    )
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
