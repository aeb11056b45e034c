# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The GNU Radio block that writes each classification as one JSON line, to a file or stdout.

Each message becomes one line per window (``reports.records``: plain JSON types, batches unrolled), the
same lines ``python -m gnuradio.eeamc.listen --json`` prints, so ``jq`` and other programs read either.
A file that exists is appended to or truncated only when ``if_exists`` says so; otherwise the block
refuses it, naming the fix. Lines are flushed one by one (``flush="line"``), or at most
``FLUSH_INTERVAL`` seconds late (``flush="interval"``, fewer writes when thousands of windows a second
are reported). A message it cannot convert is logged once and skipped.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO

import pmt
from gnuradio import gr

from .reports import records

PORT = pmt.intern("classification")
IF_EXISTS = ("error", "append", "truncate")
FLUSH_MODES = ("line", "interval")
#: Longest a written line waits in the buffer with ``flush="interval"`` (seconds).
FLUSH_INTERVAL = 0.5


class jsonl_sink(gr.basic_block):  # noqa: N801 (GNU Radio's block naming)
    """Write every classification as one JSON line.

    Args:
        path: the output file; "-" or "" writes to stdout.
        if_exists: what to do with a file that exists: "error" (refuse; the default), "append" or
            "truncate".
        flush: "line" (each line reaches the file at once) or "interval" (within FLUSH_INTERVAL s).
    """

    def __init__(self, path: str = "-", if_exists: str = "error", flush: str = "line") -> None:
        gr.basic_block.__init__(self, name="eeamc_jsonl_sink", in_sig=None, out_sig=None)
        if if_exists not in IF_EXISTS:
            raise ValueError(f"if_exists must be one of {IF_EXISTS}, got {if_exists!r}")
        if flush not in FLUSH_MODES:
            raise ValueError(f"flush must be one of {FLUSH_MODES}, got {flush!r}")
        self.path = "" if path in ("", "-") else str(path)
        self._per_line = flush == "line"
        self._lock = threading.Lock()
        self._file: TextIO | None = self._open(if_exists)
        self._dirty = False
        self._stopping = threading.Event()
        self._flusher: threading.Thread | None = None
        self._warned = False
        self.lines = 0
        self.message_port_register_in(PORT)
        self.set_msg_handler(PORT, self._on_message)

    def _open(self, if_exists: str) -> TextIO:
        if not self.path:
            return sys.stdout
        try:
            mode = {"error": "x", "append": "a", "truncate": "w"}[if_exists]
            return open(self.path, mode, encoding="utf-8")  # noqa: SIM115 - open until stop()
        except FileExistsError:
            raise ValueError(
                f"{self.path} exists; set if_exists to 'append' or 'truncate', or choose another path"
            ) from None

    def start(self) -> bool:
        with self._lock:
            if self._file is None:  # a restarted flowgraph: carry on after what was written
                self._file = sys.stdout if not self.path else open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        if not self._per_line:
            self._stopping.clear()
            self._flusher = threading.Thread(target=self._flush_periodically, daemon=True)
            self._flusher.start()
        return True

    def stop(self) -> bool:
        self._stopping.set()
        if self._flusher is not None:
            self._flusher.join()
        with self._lock:
            if self._file is not None:
                self._file.flush()
                if self._file is not sys.stdout:
                    self._file.close()
                self._file = None
        return True

    def _on_message(self, message: pmt.pmt_base) -> None:
        try:
            lines = [json.dumps(record, allow_nan=False) for record in records(message)]
        except ValueError as error:
            if not self._warned:
                self._warned = True
                self.logger.warn(f"skipped a message that is not a classification ({error}; logged once)")
            return
        with self._lock:
            if self._file is None:
                return
            self._file.write("".join(line + "\n" for line in lines))
            self.lines += len(lines)
            if self._per_line:
                self._file.flush()
            else:
                self._dirty = True

    def _flush_periodically(self) -> None:
        while not self._stopping.wait(FLUSH_INTERVAL):
            with self._lock:
                if self._dirty and self._file is not None:
                    self._file.flush()
                    self._dirty = False
