# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m gnuradio.eeamc.annotate REC.sigmf-meta``: classify a SigMF recording, write annotations.

    file source -> complex64 -> eeamc.scanner (or eeamc.channel_classifier with --freq-offset)
        -> classification records -> runs of one signal and class -> SigMF annotations

The recording's sample rate, centre frequency and data type (cf32_le, ci16_le, ci8, cu8) come from its
meta (gnuradio.eeamc.recordings). Annotations are made as sigmf_annotations.py describes: one per run of
windows of one signal and class, with the class, sample range, frequency edges (absolute when the
recording states a centre frequency) and the early-exit details in the ``eeamc`` extension. With
``--out NEW.sigmf-meta`` a copy of the meta is written with them; without it the recording's own meta
is updated in place after a backup copy (REC.sigmf-meta.bak, .bak.1, ...) is written. Every existing
field and annotation is kept (the ``sigmf`` package writes ``core:version`` as the spec version it
implements), and the result is validated against the SigMF schema before it replaces anything.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pmt
from gnuradio import gr

from .channel_classifier import channel_classifier
from .commands import add_classifier_arguments, standalone
from .recordings import Recording, RecordingError, sigmf_recording, source_blocks
from .reports import records
from .scanner import scanner
from .sigmf_annotations import (
    GENERATOR,
    AnnotationContext,
    Segmenter,
    add_annotations,
    declare_extension,
    is_ours,
    model_identity,
    write_meta,
)

HELP = "classify a SigMF recording and write each signal's classes into its meta as annotations"
DESCRIPTION = (
    "Classify every signal of a SigMF recording (REC.sigmf-meta beside REC.sigmf-data; data types "
    "cf32_le, ci16_le, ci8, cu8; sample rate and centre frequency from the meta) with eeamc.scanner, or "
    "the one signal at --freq-offset with eeamc.channel_classifier, and write SigMF annotations: one per "
    "run of windows of one signal and class, with core:sample_start/sample_count, core:label, "
    "core:freq_lower_edge/upper_edge (absolute when the meta has a centre frequency), core:generator, "
    "and eeamc:exit, eeamc:exits, eeamc:confidence, eeamc:entropy, eeamc:snr_db, eeamc:channel, "
    "eeamc:model and eeamc:model_sha256. Writes NEW.sigmf-meta with --out; otherwise updates "
    "REC.sigmf-meta in place after writing a backup beside it. Exit status 2 for a recording or an "
    "output that cannot be used."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("meta", type=Path, metavar="REC.sigmf-meta", help="the recording's SigMF meta file")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="NEW.sigmf-meta",
        help="write the annotated meta here (a new file) instead of updating REC.sigmf-meta in place",
    )
    parser.add_argument(
        "--freq-offset",
        type=float,
        metavar="HZ",
        help="classify only the signal this far from the recording's centre (eeamc.channel_classifier; "
        "write a negative one as --freq-offset=-300e3); default: find every signal (eeamc.scanner)",
    )
    parser.add_argument(
        "--bandwidth",
        type=float,
        default=0.0,
        metavar="HZ",
        help="with --freq-offset: the signal's occupied bandwidth (default 0: the model's)",
    )
    add_classifier_arguments(parser, scanner=False)
    parser.add_argument(
        "--min-snr-db",
        type=float,
        default=6.0,
        help="signals at least this far above the noise are classified, dB (scanner: detection; "
        "channel classifier: squelch; default 6)",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="drop the annotations an earlier gr-eeamc run wrote (others stay)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run(args: argparse.Namespace) -> int:
    """Classify, annotate, write; exit status 2 (one line on stderr) for unusable input or output."""
    try:
        recording = open_meta(args.meta)
        check_output(args.out)
        classifier = build_classifier(recording, args)
    except (RecordingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    annotations = classify(recording, classifier, not args.no_progress)
    written = write(args.meta, args.out, annotations, args.replace)
    labels = Counter(annotation["core:label"] for annotation in annotations)
    shares = ", ".join(f"{label} {count}" for label, count in labels.most_common())
    print(f"{len(annotations)} annotations ({shares or 'no signal classified'}) -> {written}")
    return 0


def open_meta(meta: Path) -> Recording:
    if meta.suffix != ".sigmf-meta":
        raise RecordingError(f"{meta}: give the recording's .sigmf-meta file")
    return sigmf_recording(meta)


def check_output(out: Path | None) -> None:
    if out is None:
        return
    if out.suffix != ".sigmf-meta":
        raise ValueError(f"--out {out}: name it NAME.sigmf-meta")
    if out.exists():
        raise ValueError(f"--out {out} exists; choose a new name, or leave out --out to update in place")


def build_classifier(recording: Recording, args: argparse.Namespace) -> gr.hier_block2:
    """The scanner, or the channel classifier at --freq-offset."""
    common = {"model": args.model, "device": args.device, "threshold": args.threshold}
    if args.freq_offset is None:
        return scanner(recording.samp_rate, min_snr_db=args.min_snr_db, **common)
    return channel_classifier(
        recording.samp_rate, args.freq_offset, args.bandwidth, squelch_db=args.min_snr_db, **common
    )


class AnnotationCollector(gr.basic_block):  # annotate's own message sink, not a block for GRC
    """Message sink: classification records -> annotations (kept in ``annotations``)."""

    def __init__(self, context: AnnotationContext) -> None:
        gr.basic_block.__init__(self, "eeamc_annotation_collector", in_sig=None, out_sig=None)
        self.message_port_register_in(pmt.intern("classification"))
        self.set_msg_handler(pmt.intern("classification"), self._on_message)
        self._segmenter = Segmenter(context)
        self._lock = threading.Lock()
        self.annotations: list[dict[str, Any]] = []
        self.windows = 0

    def _on_message(self, message: pmt.pmt_base) -> None:
        with self._lock:
            for record in records(message):
                self.windows += 1
                self.annotations += self._segmenter.add(record)

    def finish(self) -> list[dict[str, Any]]:
        with self._lock:
            self.annotations += self._segmenter.flush()
            return sorted(
                self.annotations, key=lambda a: (a["core:sample_start"], a.get("eeamc:channel", -1))
            )


def context_for(recording: Recording, classifier: gr.hier_block2) -> AnnotationContext:
    model = classifier.classifier.model  # the multi-channel classifier inside either block
    name, sha256 = model_identity(model.path)
    return AnnotationContext(
        samp_rate=recording.samp_rate,
        centre_freq=recording.freq,
        window_length=model.input_length,
        contract=model.signal,
        model_name=name,
        model_sha256=sha256,
        generator=f"{GENERATOR} eeamc.{type(classifier).__name__}",
    )


def classify(recording: Recording, classifier: gr.hier_block2, progress: bool) -> list[dict[str, Any]]:
    """Run the recording through ``classifier``; its annotations, in sample order."""
    from tqdm import tqdm

    top = gr.top_block("eeamc annotate")
    chain = source_blocks(recording)
    collector = AnnotationCollector(context_for(recording, classifier))
    top.connect(*chain, classifier)
    top.msg_connect(classifier, "classification", collector, "classification")
    with tqdm(
        total=recording.sample_count(), unit="S", unit_scale=True, disable=not progress, file=sys.stderr
    ) as bar:
        top.start()
        waiter = threading.Thread(target=top.wait, daemon=True)
        waiter.start()
        while waiter.is_alive():
            waiter.join(0.25)
            bar.update(chain[-1].nitems_written(0) - bar.n)  # samples into the classifier so far
    return collector.finish()


def write(meta: Path, out: Path | None, annotations: list[dict[str, Any]], replace: bool) -> Path:
    """The meta with ``annotations`` added, written to ``out`` or (after a backup) over ``meta``."""
    from sigmf import sigmffile

    record = sigmffile.fromfile(str(meta), skip_checksum=True)
    start = int(record.get_global_field("core:offset", 0) or 0)  # SigMF sample indices are absolute
    if replace:
        kept = [a for a in record.get_annotations() if not is_ours(a)]
        record._metadata[record.ANNOTATION_KEY] = kept  # the package has no removal call
    declare_extension(record)
    add_annotations(record, [{**a, "core:sample_start": a["core:sample_start"] + start} for a in annotations])
    if out is not None:
        write_meta(record, out)
        return out
    record.validate()  # before the backup, so that a failure leaves nothing behind
    shutil.copy2(meta, backup_path(meta))
    write_meta(record, meta)
    return meta


def backup_path(meta: Path) -> Path:
    """REC.sigmf-meta.bak, or .bak.1, .bak.2 ... whichever is free."""
    candidate, number = meta.with_name(meta.name + ".bak"), 0
    while candidate.exists():
        number += 1
        candidate = meta.with_name(f"{meta.name}.bak.{number}")
    return candidate


def main(argv: Sequence[str] | None = None) -> int:
    return standalone(sys.modules[__name__], "annotate", argv)


if __name__ == "__main__":
    sys.exit(main())
