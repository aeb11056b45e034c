# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""reports.report_mask (the report modes with numpy) against the per-window rule, the batch builder's
columns unrolled, and running.WindowSelection's behind / caught-up logic (the flowgraph side of these is
in python/eeamc/qa_classifier.py and tests/test_scanner_batch.py)."""

import math

import numpy as np
import pmt
import pytest
from gnuradio.eeamc import reports, running


def per_window(report: str, every: int, seen: int, labels: list[int], previous: int | None) -> list[bool]:
    """The report modes as the blocks applied them window by window before the numpy version."""
    out = []
    for count, label in enumerate(labels, start=seen + 1):
        if report == "change":
            out.append(label != previous)
        elif report == "every_n":
            out.append((count - 1) % every == 0)
        else:
            out.append(True)
        previous = label
    return out


@pytest.mark.parametrize("report", reports.REPORT_MODES)
def test_report_mask_is_the_per_window_rule(report):
    rng = np.random.default_rng(3)
    for seen, previous in ((0, None), (17, 2), (5, -1)):
        labels = rng.integers(-1, 3, 40)
        mask = reports.report_mask(report, 6, seen, labels, previous)
        assert mask.tolist() == per_window(report, 6, seen, labels.tolist(), previous)
    assert reports.report_mask(report, 6, 0, np.array([], dtype=np.int64), None).tolist() == []


def test_a_built_batch_unrolls_with_its_columns():
    builder = reports.BatchBuilder(["A", "B"])
    columns = {
        "rx_time_seconds": reports.u64_column(np.array([0, 7, 8])),
        "rx_time_fractions": reports.f64_column(np.array([math.nan, 0.5, 0.25])),
        "rx_freqs": reports.f64_column(np.array([math.nan, 1e6, 2e6])),
        "channels": reports.s32_column(np.array([3, 3, 4])),
    }
    message = builder.message(
        np.array([0, 128, 256]),
        np.array([0, 1, 2]),
        np.array([1, -1, 0]),
        np.array([0, -1, 1]),
        np.array([0.25, math.nan, 0.5], dtype=np.float32),
        np.array([0.75, 0.0, 0.5], dtype=np.float32),
        np.array([[0.25, 0.75], [0, 0], [0.5, 0.5]], dtype=np.float32),
        {"freq_offset": pmt.from_double(-5.0)},
        columns,
    )
    rows = reports.records(message)
    assert [r["label"] for r in rows] == ["B", "unclassifiable", "A"]
    assert [r["window"] for r in rows] == [0, 1, 2]
    assert "rx_time" not in rows[0] and "rx_freq" not in rows[0]  # no tag before the first window
    assert rows[1]["rx_time"] == [7, 0.5] and rows[2]["rx_freq"] == 2e6
    assert [r["channel"] for r in rows] == [3, 3, 4] and all(r["freq_offset"] == -5.0 for r in rows)
    assert rows[1]["entropy"] is None and rows[1]["unclassifiable"] is True
    assert all(set(r) <= reports.MESSAGE_KEYS for r in rows)


class Block:
    """What WindowSelection asks of a block."""

    def __init__(self, limit: int = 0) -> None:
        self.limit = limit

    def is_set_max_noutput_items(self) -> bool:
        return bool(self.limit)

    def max_noutput_items(self) -> int:
        return self.limit


def test_selection_thins_while_behind_and_recovers():
    lines = []
    selection = running.WindowSelection(1, "keep_up", lambda level, text: lines.append((level, text)), 0)
    block, indices = Block(), np.arange(64)
    for _ in range(running.BEHIND_CALLS - 1):
        selection.observe(block, 4096, 8192)  # half the buffer: what a full one gives a call
    assert selection.chosen(indices).all(), "not behind yet"
    selection.observe(block, 4096, 8192)
    assert selection.chosen(indices).tolist() == (indices % 2 == 0).tolist()
    assert selection.skipped == 32 and lines[-1][0] == "warn" and "one window in 2" in lines[-1][1]
    for _ in range(running.BEHIND_CALLS * 20):
        selection.observe(block, 4096, 8192)
    assert selection.stride == running.MAX_OVERLOAD_STRIDE
    for _ in range(running.BEHIND_CALLS * 6):
        selection.observe(block, 512, 8192)  # small calls: caught up
    assert selection.stride == 1 and lines[-1][0] == "info" and "caught up" in lines[-1][1]


def test_queue_and_small_calls_never_thin():
    queue = running.WindowSelection(2, "queue", lambda *_: None)
    keep_up = running.WindowSelection(1, "keep_up", lambda *_: None)
    for _ in range(50):
        queue.observe(Block(), 4096, 8192)
        keep_up.observe(Block(), 1024, 8192)  # a radio's chunks, a quarter of the buffer
    assert queue.chosen(np.arange(10)).tolist() == [True, False] * 5 and queue.skipped == 0
    assert keep_up.chosen(np.arange(10)).all()


def test_a_max_noutput_items_limit_counts_as_a_full_call():
    selection = running.WindowSelection(1, "keep_up", lambda *_: None)
    for _ in range(running.BEHIND_CALLS):
        selection.observe(Block(limit=1024), 1024, 8192)
    assert selection.stride == 2
