#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make docs/images/live_view.png: the synthetic band through the scanner into eeamc.qtgui_sink, headless.

A few seconds of ``eeamc.synthetic_band`` (six signals, two of which come and go) are classified by
``eeamc.scanner`` in a real flowgraph whose classifications go to an ``eeamc.qtgui_sink`` while Qt's
event loop runs, as in a GRC window; then the sink's widget (table, class timeline, exit shares) is
grabbed and saved. tests/test_qtgui_sink.py checks this same code path (``band_samples``,
``live_view``, ``ResultsWidget.save_screenshot``) against the messages.

    .venv/bin/python scripts/screenshot_live_view.py [--seconds 4.5]   (headless: offscreen unless
    QT_QPA_PLATFORM says otherwise)
    xvfb-run .venv/bin/python scripts/screenshot_live_view.py --out /tmp/view.png
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from training.checkout import ROOT, use_source_tree

use_source_tree()  # this checkout's gnuradio.eeamc, installed or not

import numpy as np  # noqa: E402
import pmt  # noqa: E402
from gnuradio import blocks, eeamc, gr  # noqa: E402
from gnuradio.eeamc.synthetic_band import record  # noqa: E402
from PyQt5 import QtWidgets  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "images" / "live_view.png"
BAND_RATE = 2.4e6
#: The screenshot's size: room for the six channels' rows and lanes, legible when a README scales it.
SIZE = (1000, 640)


@dataclass
class LiveRun:
    """What ``live_view`` left: the sink (its widget drawn), and every message the scanner published."""

    sink: eeamc.qtgui_sink
    messages: list[pmt.pmt_base]


def band_samples(seconds: float, samp_rate: float = BAND_RATE, seed: int = 0) -> np.ndarray:
    """The first ``seconds`` of ``eeamc.synthetic_band(samp_rate, seed=seed)`` (default signals)."""
    return record(seconds, samp_rate, seed=seed)[0]


def live_view(
    samples: np.ndarray,
    samp_rate: float,
    history_s: float,
    title: str = "",
    **scanner_options: object,
) -> LiveRun:
    """``samples`` through ``eeamc.scanner`` into an ``eeamc.qtgui_sink`` (stream time, ``history_s``
    of timeline) and a message_debug, with Qt's event loop running until the flowgraph is done. A
    QApplication must exist."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        raise RuntimeError("live_view needs a QApplication (make one first; QT_QPA_PLATFORM=offscreen)")
    sink = eeamc.qtgui_sink(title, samp_rate=samp_rate, history_s=history_s)
    sink.qwidget().resize(*SIZE)
    sink.qwidget().show()
    scanner = eeamc.scanner(samp_rate, **scanner_options)
    debug = blocks.message_debug()
    top = gr.top_block()
    top.connect(blocks.vector_source_c(samples, False), scanner)
    top.msg_connect(scanner, "classification", sink, "classification")
    top.msg_connect(scanner, "classification", debug, "store")
    top.start()
    waiter = threading.Thread(target=top.wait)
    waiter.start()
    while waiter.is_alive():  # the GUI thread's work meanwhile: the sink's queued redraws
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    return LiveRun(sink, [debug.get_message(index) for index in range(debug.num_messages())])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"PNG to write (default {DEFAULT_OUT})")
    parser.add_argument(
        "--seconds", type=float, default=4.5, help="seconds of band (default 4.5: a signal comes and goes)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the synthetic band's seed (default 0)")
    parser.add_argument("--device", default="cpu", help="the scanner's torch device (default cpu)")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error(f"--seconds must be > 0, got {args.seconds}")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QtWidgets.QApplication(sys.argv[:1])  # noqa: F841 - must live while the sink does
    samples = band_samples(args.seconds, BAND_RATE, args.seed)
    title = f"eeamc.scanner on eeamc.synthetic_band (seed {args.seed}, {args.seconds:g} s at 2.4 MS/s)"
    run = live_view(samples, BAND_RATE, history_s=args.seconds, title=title, device=args.device)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    run.sink.qwidget().save_screenshot(args.out)
    print(f"{args.out}: {len(run.messages)} classifications, {len(run.sink.rows())} channels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
