# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the front-end blocks in real flowgraphs for the tests: samples from a file (as a recording
would come), messages collected by message_debug and turned into Python dicts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pmt
from gnuradio import blocks, gr


def messages(debug: blocks.message_debug) -> list:
    return [pmt.to_python(debug.get_message(i)) for i in range(debug.num_messages())]


def run(block: gr.basic_block, samples: np.ndarray, ports: tuple[str, ...] = ("classification",)) -> dict:
    """Feed ``samples`` (complex64) to ``block`` from a file source; the messages of each port."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "samples.cfile"
        samples.astype(np.complex64).tofile(path)
        top = gr.top_block()
        source = blocks.file_source(gr.sizeof_gr_complex, str(path), False)
        debugs = {port: blocks.message_debug() for port in ports}
        top.connect(source, block)
        if block.output_signature().min_streams() > 0:  # a pass-through block (eeamc.classifier)
            top.connect(block, blocks.null_sink(gr.sizeof_gr_complex))
        for port, debug in debugs.items():
            top.msg_connect(block, port, debug, "store")
        top.run()
    return {port: messages(debug) for port, debug in debugs.items()}
