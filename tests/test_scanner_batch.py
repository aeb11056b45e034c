# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scanner's and the channel classifier's message_mode="batch" and classify_every in real flowgraphs:
a batch per work() call unrolls (reports.records) to exactly the records of the window messages of the
same run, channel fields, rx_freq / freq and rx_time included; classify_every N classifies one window
in N of each channel."""

import numpy as np
import pmt
import pytest
from gnuradio import blocks, eeamc, gr
from gnuradio.eeamc import reports
from gnuradio.eeamc.decisions import DecisionAverager
from gnuradio.eeamc.qa_classifier import SlowEngine, assert_same_records, rx_time, tag

from training.wideband import BAND_RATE, Placed, band

SIGNALS = [("QPSK", -401.3e3), ("BPSK", 253.1e3)]
RX_FREQ = 433.5e6


def run_records(block: gr.hier_block2, samples: np.ndarray) -> list[list[dict]]:
    """Feed ``samples`` (with an rx_freq and a UHD rx_time tag at 0) to ``block``; each message's records."""
    tags = [
        tag(0, "rx_freq", pmt.from_double(RX_FREQ)),
        tag(0, "rx_time", rx_time(1_700_000_000, 0.75)),
    ]
    top = gr.top_block()
    debug = blocks.message_debug()
    top.connect(blocks.vector_source_c(samples.tolist(), False, 1, tags), block)
    top.msg_connect(block, "classification", debug, "store")
    top.run()
    return [reports.records(debug.get_message(i)) for i in range(debug.num_messages())]


@pytest.fixture(scope="module")
def busy():
    samples, _ = band(SIGNALS, 0.4, freq_error=0, seed=5)
    return samples


@pytest.mark.parametrize("options", [{}, {"report": "change"}, {"classify_every": 3}], ids=str)
def test_scanner_batches_unroll_to_its_window_messages(busy, options):
    windows = run_records(eeamc.scanner(BAND_RATE, **options), busy)
    batches = run_records(eeamc.scanner(BAND_RATE, message_mode="batch", **options), busy)
    assert all(len(records) == 1 for records in windows)
    unrolled = [record for records in batches for record in records]
    assert len(batches) < len(unrolled), "one message per work() call, not per window"
    assert {record["channel"] for record in unrolled} == {0, 1}, "both channels in the batches"
    assert_same_records(unrolled, [m[0] for m in windows])
    first = unrolled[0]
    assert first["rx_freq"] == RX_FREQ and first["freq"] == RX_FREQ + first["freq_offset"]
    assert first["rx_time"][0] == 1_700_000_000 and 0.75 <= first["rx_time"][1] < 1
    assert set(first) <= reports.MESSAGE_KEYS


def test_scanner_classify_every_picks_one_window_in_n_of_each_channel(busy):
    every = [r for m in run_records(eeamc.scanner(BAND_RATE), busy) for r in m]
    third = [r for m in run_records(eeamc.scanner(BAND_RATE, classify_every=3), busy) for r in m]
    for channel in (0, 1):
        all_windows = [r for r in every if r["channel"] == channel]
        picked = [r for r in third if r["channel"] == channel]
        assert [r["window"] for r in picked] == [r["window"] for r in all_windows if r["window"] % 3 == 0]
        assert len(picked) > 10
        # the same windows, classified as when every window is classified (in other batches: float
        # results differ in their last bits with the batch's size)
        by_window = {r["window"]: r for r in all_windows}
        for record in picked:
            same = by_window[record["window"]]
            assert (record["offset"], record["label"]) == (same["offset"], same["label"])
            np.testing.assert_allclose(record["probabilities"], same["probabilities"], atol=1e-5)


def test_channel_classifier_batches_unroll_to_its_window_messages():
    samples, _ = band([Placed("GFSK", 312.5e3, 0, int(0.3 * BAND_RATE))], 0.3, freq_error=0, seed=3)
    windows = run_records(eeamc.channel_classifier(BAND_RATE, freq_offset=312.5e3), samples)
    batches = run_records(
        eeamc.channel_classifier(BAND_RATE, freq_offset=312.5e3, message_mode="batch"), samples
    )
    unrolled = [record for records in batches for record in records]
    assert len(unrolled) > 30 and len(batches) < len(unrolled)
    assert_same_records(unrolled, [m[0] for m in windows])


def test_bad_new_parameters_are_refused_naming_the_values():
    with pytest.raises(ValueError, match="message_mode must be one of"):
        eeamc.scanner(BAND_RATE, message_mode="vectors")
    with pytest.raises(ValueError, match="classify_every must be a whole number >= 1"):
        eeamc.channel_classifier(BAND_RATE, classify_every=0)
    with pytest.raises(ValueError, match="precision must be one of"):
        eeamc.scanner(BAND_RATE, precision="bf16")


def test_scanner_averages_each_channel_on_its_own(busy):
    plain = [r for m in run_records(eeamc.scanner(BAND_RATE), busy) for r in m]
    averaged = [r for m in run_records(eeamc.scanner(BAND_RATE, average=4), busy) for r in m]
    assert [(r["channel"], r["window"]) for r in averaged] == [(r["channel"], r["window"]) for r in plain]
    for channel in (0, 1):
        own = [r for r in plain if r["channel"] == channel]
        probabilities = np.array([r["probabilities"] for r in own])
        decisions = DecisionAverager(probabilities.shape[1], 4).update(probabilities, np.ones(len(own), bool))
        mine = [r for r in averaged if r["channel"] == channel]
        assert [r["class"] for r in mine] == decisions.label.tolist()
        reported = np.array([r["probabilities"] for r in mine])
        np.testing.assert_allclose(reported, decisions.probabilities, atol=1e-6)
        assert np.abs(reported - probabilities).max() > 0.01, "the average must change what is reported"
        assert [r["exit"] for r in averaged if r["channel"] == channel] == [r["exit"] for r in own]


def test_scanner_behind_its_source_skips_windows_and_counts_them(busy):
    """A slow engine, and work() calls of one channeliser block from a full input (a throttle-free
    source): keep_up classifies fewer windows; those and the skipped add up to what queue classifies."""
    found = {}
    for mode in ("queue", "keep_up"):
        scanner = eeamc.scanner(BAND_RATE, on_overload=mode)
        inner = scanner.classifier
        inner.engine = SlowEngine(inner.engine, 0.002)
        inner.set_max_noutput_items(inner.bank.fft_size)
        found[mode] = (sum(len(m) for m in run_records(scanner, busy)), scanner.windows_skipped(), inner)
    classified, skipped, inner = found["keep_up"]
    assert found["queue"][1] == 0 and skipped > 0
    assert classified + skipped == found["queue"][0]
    assert inner.engine.windows == classified
