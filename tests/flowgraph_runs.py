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


def rx_freq_tags(*tuned: tuple[int, float]) -> list[gr.tag_t]:
    """``rx_freq`` stream tags, one per (sample offset, frequency in Hz), as a radio source sets them."""
    tags = []
    for offset, frequency in tuned:
        tag = gr.tag_t()
        tag.offset, tag.key, tag.value = offset, pmt.intern("rx_freq"), pmt.from_double(frequency)
        tags.append(tag)
    return tags


def run(
    block: gr.basic_block,
    samples: np.ndarray,
    ports: tuple[str, ...] = ("classification",),
    tags: list[gr.tag_t] | None = None,
) -> dict:
    """Feed ``samples`` (complex64) to ``block`` from a file source, or with ``tags`` from a vector
    source that carries them; the messages of each port."""
    with tempfile.TemporaryDirectory() as directory:
        top = gr.top_block()
        if tags:
            source = blocks.vector_source_c(samples.astype(np.complex64).tolist(), False, 1, tags)
        else:
            path = Path(directory) / "samples.cfile"
            samples.astype(np.complex64).tofile(path)
            source = blocks.file_source(gr.sizeof_gr_complex, str(path), False)
        debugs = {port: blocks.message_debug() for port in ports}
        top.connect(source, block)
        if block.output_signature().min_streams() > 0:  # a pass-through block (eeamc.classifier)
            top.connect(block, blocks.null_sink(gr.sizeof_gr_complex))
        for port, debug in debugs.items():
            top.msg_connect(block, port, debug, "store")
        top.run()
    return {port: messages(debug) for port, debug in debugs.items()}
