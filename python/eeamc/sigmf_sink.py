# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The GNU Radio block that writes classifications live as SigMF annotations beside a recording.

    source --> file sink (NAME.sigmf-data) ...
           \\-> eeamc.scanner / channel_classifier --classification--> eeamc.sigmf_sink (NAME.sigmf-meta)

The meta file (global fields, one capture with the centre frequency, the ``eeamc`` extension declared)
is written when the flowgraph starts, rewritten with the annotations closed so far at most once every
``WRITE_INTERVAL`` seconds, and completed when it stops. Annotations are made exactly as ``annotate``
makes them (sigmf_annotations.py), so ``offset`` must count the samples the file sink records: feed the
classifier and the file sink from the same stream. Every write is validated with the ``sigmf`` package
and replaces the file atomically. A message it cannot use or a failed write is logged once and the
flowgraph carries on.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pmt
from gnuradio import gr

from .model_file import default_model_path, load_model
from .reports import records
from .sigmf_annotations import (
    GENERATOR,
    AnnotationContext,
    Segmenter,
    add_annotations,
    model_identity,
    new_meta,
    write_meta,
)

PORT = pmt.intern("classification")
#: Seconds between rewrites of the meta file while annotations are closing.
WRITE_INTERVAL = 1.0


class sigmf_sink(gr.basic_block):  # noqa: N801 (GNU Radio's block naming)
    """Write the classifications of a recording as SigMF annotations, live.

    Args:
        path: the recording's data file (what the file sink writes, e.g. ``capture.sigmf-data``) or its
            ``.sigmf-meta``; the meta is written beside the data as NAME.sigmf-meta (a data file not
            named .sigmf-data is named in ``core:dataset``).
        samp_rate: the recording's sample rate (S/s).
        center_freq: its centre frequency (Hz); 0 = not known (frequency edges are then relative).
        datatype: the SigMF data type of the file sink's items (cf32_le for complex64).
        model: the model file the classifier uses ("" = the shipped one), for ``eeamc:model`` and its
            SHA-256 and the window length.
        overwrite: replace an existing meta file (else refused, naming it).
        description: ``core:description`` of the recording ("" = none).
    """

    def __init__(
        self,
        path: str,
        samp_rate: float,
        center_freq: float = 0.0,
        datatype: str = "cf32_le",
        model: str = "",
        overwrite: bool = False,
        description: str = "",
    ) -> None:
        gr.basic_block.__init__(self, name="eeamc_sigmf_sink", in_sig=None, out_sig=None)
        if not samp_rate > 0:
            raise ValueError(f"samp_rate must be > 0 S/s (the recording's sample rate), got {samp_rate}")
        self.meta_path, dataset = meta_path_for(Path(path))
        if self.meta_path.exists() and not overwrite:
            raise ValueError(f"{self.meta_path} exists; set overwrite to replace it, or choose another path")
        centre = float(center_freq) or None
        extra = {"core:description": description} if description else {}
        extra["core:recorder"] = "GNU Radio"
        self._record = new_meta(samp_rate, datatype, centre, dataset, **extra)
        try:
            self._record.validate()
        except Exception as error:  # noqa: BLE001 - the sigmf package raises jsonschema's errors
            raise ValueError(
                f"datatype {datatype!r} is not a SigMF data type (cf32_le for complex64, ci16_le, cu8 ...)"
            ) from error
        loaded = load_model(model or default_model_path())
        name, sha256 = model_identity(loaded.path)
        self._segmenter = Segmenter(
            AnnotationContext(
                samp_rate=float(samp_rate),
                centre_freq=centre,
                window_length=loaded.input_length,
                contract=loaded.signal,
                model_name=name,
                model_sha256=sha256,
                generator=GENERATOR,
            )
        )
        self._lock = threading.Lock()
        self._pending: list[dict] = []
        self._last_write = 0.0
        self._warned: set[str] = set()
        self.annotations = 0
        self.message_port_register_in(PORT)
        self.set_msg_handler(PORT, self._on_message)

    def start(self) -> bool:
        self._write(force=True)
        return True

    def stop(self) -> bool:
        with self._lock:
            self._pending += self._segmenter.flush()
        self._write(force=True)
        return True

    def _on_message(self, message: pmt.pmt_base) -> None:
        try:
            new = records(message)
        except ValueError as error:
            self._warn_once(
                "message", f"ignored a message that is not a classification ({error}; logged once)"
            )
            return
        with self._lock:
            for record in new:
                if "offset" in record and "label" in record:
                    self._pending += self._segmenter.add(record)
        self._write()

    def _write(self, force: bool = False) -> None:
        with self._lock:
            if not force and (not self._pending or time.monotonic() - self._last_write < WRITE_INTERVAL):
                return
            add_annotations(self._record, self._pending)
            self.annotations += len(self._pending)
            self._pending = []
            self._last_write = time.monotonic()
            try:
                write_meta(self._record, self.meta_path)
            except Exception as error:  # noqa: BLE001 - disk full, schema: log, keep the flowgraph going
                self._warn_once("write", f"could not write {self.meta_path}: {error} (logged once)")

    def _warn_once(self, what: str, text: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            self.logger.warn(text)


def meta_path_for(path: Path) -> tuple[Path, str | None]:
    """The meta file beside a data file (or given itself), and the data file's name when it is not
    NAME.sigmf-data (SigMF's non-conforming dataset, named in ``core:dataset``)."""
    if path.suffix == ".sigmf-meta":
        return path, None
    meta = path.with_suffix(".sigmf-meta")
    return meta, None if path.suffix == ".sigmf-data" else path.name
