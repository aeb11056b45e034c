# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Classifications as SigMF annotations: consecutive windows of one signal and class become one.

``Segmenter`` takes classification records (``reports.records``: plain JSON types, in the order a block
publishes them) and closes one segment per run of windows of one channel with one class. A run ends
when the class changes, when the channel's windows stop following each other (a gap of more than
``GAP_WINDOWS`` windows: squelched, or the signal went), or when ``flush()`` is called. Each closed run
is a SigMF annotation:

- ``core:sample_start`` / ``core:sample_count``: the run's first input sample, and up to the end of its
  last window (``offset`` counts the classifying block's input samples, i.e. the recording's);
- ``core:label`` (the class), ``core:generator`` (gr-eeamc and the block);
- ``core:freq_lower_edge`` / ``core:freq_upper_edge``: the mean centre +- half the bandwidth, absolute
  when the recording states a centre frequency, else relative to its centre;
- in the ``eeamc`` extension: ``eeamc:exit`` (the exit most windows took), ``eeamc:exits`` (windows per
  exit, by index), ``eeamc:confidence`` / ``eeamc:entropy`` / ``eeamc:snr_db`` (means), ``eeamc:windows``,
  ``eeamc:channel``, ``eeamc:model`` (the model file's name) and ``eeamc:model_sha256``.

Writing goes through the ``sigmf`` package (``SigMFFile.add_annotation``, validation against the SigMF
schema before a file is replaced). annotate.py (a recording, afterwards) and sigmf_sink.py (live, beside a
file sink) share this module.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .channels import channel_rate
from .contract import SignalContract
from .files import write_text_atomic

#: The SigMF extension that holds the details (declared in the meta's ``core:extensions``).
EXTENSION = {"name": "eeamc", "version": "1.0.0", "optional": True}
GENERATOR = "gr-eeamc"
#: A channel's next window more than this many windows after its last one starts a new annotation.
GAP_WINDOWS = 1.5
#: A channel with no window for this many windows (while others go on) has its run closed.
QUIET_WINDOWS = 8
#: What no annotation is made of (the windows still end a run).
SKIPPED_LABELS = ("unclassifiable",)


@dataclass(frozen=True)
class AnnotationContext:
    """What every annotation of one recording shares."""

    samp_rate: float  # the recording's (the classifying block's input)
    centre_freq: float | None  # the recording's centre frequency, Hz; None: edges relative to it
    window_length: int  # the model's window, in its own samples
    contract: SignalContract  # the model's input contract
    model_name: str
    model_sha256: str
    generator: str = GENERATOR


def model_identity(path: str | os.PathLike) -> tuple[str, str]:
    """A model file's name and SHA-256 (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return Path(path).name, digest.hexdigest()


@dataclass
class _Run:
    """Windows of one channel and class, so far."""

    channel: int | None
    label: str
    start: int
    last: int  # the last window's offset
    exits: Counter = field(default_factory=Counter)
    sums: Counter = field(default_factory=Counter)  # confidence, entropy, snr_db, freq_offset, bandwidth
    counts: Counter = field(default_factory=Counter)

    def add(self, record: dict[str, Any]) -> None:
        self.last = int(record["offset"])
        self.exits[record.get("exit")] += 1
        for key in ("confidence", "entropy", "snr_db", "freq_offset", "bandwidth", "window_samples"):
            value = record.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                self.sums[key] += value
                self.counts[key] += 1

    def mean(self, key: str) -> float | None:
        return self.sums[key] / self.counts[key] if self.counts[key] else None

    @property
    def windows(self) -> int:
        return sum(self.exits.values())


class Segmenter:
    """Turns a stream of classification records into SigMF annotations (see the module docstring)."""

    def __init__(self, context: AnnotationContext) -> None:
        self.context = context
        self._runs: dict[int | None, _Run] = {}
        self._spacing: dict[int | None, int] = {}  # smallest step seen between a channel's windows

    def add(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Take one record; the annotations of the runs it closed (often none)."""
        channel, offset, label = record.get("channel"), int(record["offset"]), str(record["label"])
        closed = self._close_quiet(offset, channel)
        run = self._runs.get(channel)
        if run is not None:
            step = offset - run.last
            if step > 0:
                self._spacing[channel] = min(step, self._spacing.get(channel, step))
            if run.label == label and 0 < step <= GAP_WINDOWS * self._span(run, record):
                run.add(record)
                return closed
            closed += self._close(channel)
        run = _Run(channel, label, offset, offset)
        run.add(record)
        self._runs[channel] = run
        return closed

    def flush(self) -> list[dict[str, Any]]:
        """Close every open run (end of the recording)."""
        return [a for channel in list(self._runs) for a in self._close(channel)]

    def _close_quiet(self, offset: int, current: int | None) -> list[dict[str, Any]]:
        quiet = [
            channel
            for channel, run in self._runs.items()
            if channel != current and offset - run.last > QUIET_WINDOWS * self._span(run, None)
        ]
        return [a for channel in quiet for a in self._close(channel)]

    def _close(self, channel: int | None) -> list[dict[str, Any]]:
        run = self._runs.pop(channel)
        return [] if run.label in SKIPPED_LABELS else [self.annotation(run)]

    def _span(self, run: _Run, record: dict[str, Any] | None) -> float:
        """A window's length in input samples: as the message says (``window_samples``), else the
        smallest step seen between the channel's windows, else what the model's window at the
        channel's rate spans."""
        stated = (record or {}).get("window_samples") or run.mean("window_samples")
        if stated:
            return float(stated)
        if run.channel in self._spacing:
            return self._spacing[run.channel]
        bandwidth = (record or {}).get("bandwidth") or run.mean("bandwidth")
        if not bandwidth:  # eeamc.classifier: the stream is at the model's rate
            return self.context.window_length
        rate = channel_rate(bandwidth, self.context.contract)
        return self.context.window_length * self.context.samp_rate / rate

    def annotation(self, run: _Run) -> dict[str, Any]:
        """The SigMF annotation of a closed run."""
        context = self.context
        centre = run.mean("freq_offset") or 0.0
        bandwidth = run.mean("bandwidth") or context.contract.occupied_bandwidth
        base = context.centre_freq or 0.0
        annotation = {
            "core:sample_start": run.start,
            "core:sample_count": run.last - run.start + round(self._span(run, None)),
            "core:label": run.label,
            "core:generator": context.generator,
            "core:freq_lower_edge": base + centre - bandwidth / 2,
            "core:freq_upper_edge": base + centre + bandwidth / 2,
            "eeamc:exit": run.exits.most_common(1)[0][0],
            "eeamc:exits": exit_counts(run.exits),
            "eeamc:windows": run.windows,
            "eeamc:confidence": run.mean("confidence"),
            "eeamc:entropy": run.mean("entropy"),
            "eeamc:model": context.model_name,
            "eeamc:model_sha256": context.model_sha256,
        }
        if run.channel is not None:
            annotation["eeamc:channel"] = run.channel
        if run.counts["snr_db"]:
            annotation["eeamc:snr_db"] = run.mean("snr_db")
        return {key: value for key, value in annotation.items() if value is not None}


def exit_counts(exits: Counter) -> list[int]:
    """Windows per exit index (0 = the first exit) as a list."""
    indices = [index for index in exits if isinstance(index, int) and index >= 0]
    return [exits[index] for index in range(max(indices) + 1)] if indices else []


# ---- meta files ------------------------------------------------------------------------------------------


def declare_extension(record: Any) -> None:
    """Declare the eeamc extension in a SigMFFile's ``core:extensions`` (once)."""
    extensions = list(record.get_global_field("core:extensions", []))
    if not any(extension.get("name") == EXTENSION["name"] for extension in extensions):
        record.set_global_field("core:extensions", [*extensions, dict(EXTENSION)])


def add_annotations(record: Any, annotations: list[dict[str, Any]]) -> None:
    """Add annotations to a SigMFFile (with the package's add_annotation: kept in sample order)."""
    for annotation in annotations:
        fields = dict(annotation)
        start, count = fields.pop("core:sample_start"), fields.pop("core:sample_count")
        record.add_annotation(start, count, metadata=fields)


def is_ours(annotation: dict[str, Any]) -> bool:
    """Whether an annotation was written by gr-eeamc (it carries the model's hash)."""
    return "eeamc:model_sha256" in annotation


def new_meta(samp_rate: float, datatype: str, centre_freq: float | None, dataset: str | None, **fields: Any):
    """A SigMFFile for a recording being written: global fields, one capture, the extension declared.
    ``dataset`` names a data file not called NAME.sigmf-data (a non-conforming dataset)."""
    import sigmf
    from sigmf import sigmffile

    info = {sigmf.DATATYPE_KEY: datatype, sigmf.SAMPLE_RATE_KEY: float(samp_rate), **fields}
    if dataset:
        info["core:dataset"] = dataset
    record = sigmffile.SigMFFile(global_info=info)
    record.add_capture(0, metadata={} if centre_freq is None else {sigmf.FREQUENCY_KEY: float(centre_freq)})
    declare_extension(record)
    return record


def write_meta(record: Any, path: Path) -> None:
    """Validate a SigMFFile and write its meta to ``path`` atomically (a reader never sees half a file)."""
    record.validate()
    write_text_atomic(path, record.dumps(pretty=True) + "\n")
