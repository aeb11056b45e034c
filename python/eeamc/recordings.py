# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading recordings for the blocks: a raw ``.cfile`` or a SigMF recording as a GNU Radio source.

A SigMF recording (``NAME.sigmf-meta`` beside ``NAME.sigmf-data``) states its sample rate, centre
frequency and data type; cf32_le, ci16_le, ci8 and cu8 (what rtl_sdr writes) are read, each turned into
complex64 samples in [-1, 1]. The meta file is read with the ``sigmf`` package, which validates it
against the SigMF schema (and checks the data's SHA-512 when the meta states one). A raw ``.cfile``
(complex64, as GNU Radio's file sink writes) says nothing about itself: its rate must be given.
examples/recording.py and ``python -m gnuradio.eeamc.annotate`` read recordings through this module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gnuradio import blocks, gr

#: SigMF data types read here.
SIGMF_TYPES = ("cf32_le", "ci16_le", "ci8", "cu8")
#: Bytes per complex sample of each.
SAMPLE_BYTES = {"cf32_le": 8, "ci16_le": 4, "ci8": 2, "cu8": 2}


@dataclasses.dataclass(frozen=True)
class Recording:
    """Where the samples are and what they are."""

    data: Path
    datatype: str  # one of SIGMF_TYPES
    samp_rate: float
    freq: float | None  # centre frequency in Hz, when known
    header_bytes: int = 0

    def sample_count(self) -> int:
        """Complex samples in the data file (after its header)."""
        return max(0, self.data.stat().st_size - self.header_bytes) // SAMPLE_BYTES[self.datatype]


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
    """A .cfile (with ``samp_rate``) or a SigMF recording (either of its two files)."""
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
    """File source -> complex64 in [-1, 1] for the recording's data type (connect them in order)."""
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
