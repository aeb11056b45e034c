# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the multi-channel path (eeamc.scanner, eeamc.channel_classifier) must survive in a running
flowgraph: a second run (it repeats the first exactly), time stamps of each window, an engine that fails
for a while, bad input (scaled far up or down, denormals, zeros, too short, a storm of tags) and model
files of other shapes. eeamc.classifier's counterparts are in python/eeamc/qa_classifier.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pmt
import pytest
import torch
from flowgraph_runs import messages, run
from gnuradio import blocks, eeamc, gr
from gnuradio.eeamc.qa_classifier import VARIANTS, FlakyEngine, RecordingLogger, rx_time, tag, write_variant

from training.wideband import BAND_RATE, UPSAMPLING, band

CENTRE = 312.5e3
FREQ_ERROR = 3e3
SIGNALS = [("QPSK", -400.2e3), ("BPSK", CENTRE)]


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    """0.4 s of a band with two signals (and a radio's frequency error and DC spike)."""
    return band(SIGNALS, 0.4, freq_error=FREQ_ERROR, seed=21)[0]


def channel_classifier(**kwargs) -> eeamc.channel_classifier:
    return eeamc.channel_classifier(BAND_RATE, freq_offset=CENTRE + FREQ_ERROR, device="cpu", **kwargs)


def summary(found: list[dict]) -> list[tuple]:
    return [
        (m.get("channel"), m["offset"], m["window"], m["label"], round(m["freq_offset"], 3)) for m in found
    ]


def scaled(samples: np.ndarray, exponent: int) -> np.ndarray:
    """``samples`` times 2**exponent: exact in floating point while nothing under- or overflows."""
    return (np.ldexp(samples.real, exponent) + 1j * np.ldexp(samples.imag, exponent)).astype(np.complex64)


# ---- a second run ---------------------------------------------------------------------------------------


def run_twice(block, samples: np.ndarray, ports: tuple[str, ...]) -> tuple[dict, dict]:
    """tb.run(), rewind the file and head.reset(), tb.run() again: each run's messages per port."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "band.cfile"
        samples.astype(np.complex64).tofile(path)
        top = gr.top_block()
        source = blocks.file_source(gr.sizeof_gr_complex, str(path), False)
        head = blocks.head(gr.sizeof_gr_complex, len(samples))
        debugs = {port: blocks.message_debug() for port in ports}
        top.connect(source, head, block)
        for port, debug in debugs.items():
            top.msg_connect(block, port, debug, "store")
        top.run()
        first = {port: messages(debug) for port, debug in debugs.items()}
        source.seek(0, os.SEEK_SET)
        head.reset()
        top.run()
    both = {port: messages(debug) for port, debug in debugs.items()}
    return first, {port: both[port][len(first[port]) :] for port in ports}


def test_a_second_run_of_the_scanner_repeats_the_first(samples):
    first, second = run_twice(eeamc.scanner(BAND_RATE, device="cpu"), samples, ("classification", "channels"))
    assert len(first["classification"]) > 100 and {m["channel"] for m in first["classification"]} == {0, 1}
    # offsets from the run's first sample, windows from 0, channels found again with the same ids
    assert summary(second["classification"]) == summary(first["classification"])
    assert second["channels"] == first["channels"]


def test_a_second_run_of_the_channel_classifier_repeats_the_first(samples):
    first, second = run_twice(channel_classifier(), samples, ("classification",))
    assert len(first["classification"]) > 50
    assert summary(second["classification"]) == summary(first["classification"])


# ---- time stamps ----------------------------------------------------------------------------------------


def run_tagged(block, samples: np.ndarray, tags: list) -> list[dict]:
    top = gr.top_block()
    source = blocks.vector_source_c(samples.tolist(), False, 1, tags)
    debug = blocks.message_debug()
    top.connect(source, block)
    top.msg_connect(block, "classification", debug, "store")
    top.run()
    return messages(debug)


def test_each_window_has_its_own_rx_time_and_the_absolute_frequency(samples):
    later = len(samples) // 2 + 12345
    tags = [
        tag(0, "rx_time", rx_time(1_700_000_000, 0.75)),
        tag(0, "rx_freq", pmt.from_double(433.0e6)),
        tag(later, "rx_time", rx_time(1_700_000_100, 0.0)),
    ]
    found = run_tagged(channel_classifier(), samples, tags)
    assert len(found) > 50 and any(m["offset"] >= later for m in found)
    for message in found:
        offset = message["offset"]
        whole, fraction = message["rx_time"]
        assert isinstance(whole, int) and 0 <= fraction < 1  # UHD's (uint64 s, double fraction)
        start, since = (
            ((1_700_000_000, 0.75), offset) if offset < later else ((1_700_000_100, 0.0), offset - later)
        )
        assert (whole - start[0]) + fraction == pytest.approx(start[1] + since / BAND_RATE, abs=1e-9)
        assert message["freq"] == pytest.approx(433.0e6 + message["freq_offset"], abs=1e-3)


# ---- engine failures ------------------------------------------------------------------------------------


def test_the_scanner_survives_an_engine_that_fails_for_a_while(samples):
    scanner = eeamc.scanner(BAND_RATE, device="cpu")
    inner = scanner.classifier
    inner.engine = FlakyEngine(inner.engine, range(2, 8))
    inner.logger = RecordingLogger()
    inner.window_classifier.failures.interval_s = 3600
    inner.set_max_noutput_items(16384)  # many work() calls, so engine calls before, during and after
    found = run(scanner, samples)["classification"]
    calls = inner.engine.calls
    failed_windows = sum(count for count, failed in calls if failed)
    assert len(calls) > 8 and failed_windows > 0
    unclassifiable = [m for m in found if m["unclassifiable"]]
    assert len(unclassifiable) == failed_windows
    assert all(m["label"] == "unclassifiable" and m["class"] == -1 for m in unclassifiable)
    # before the failures and after them, windows are classified
    assert not found[0]["unclassifiable"] and not found[-1]["unclassifiable"]
    errors = inner.logger.at("error")
    assert len(errors) == 1 and "RuntimeError: CUDA out of memory" in errors[0], inner.logger.lines
    assert [line for line in inner.logger.at("warn") if "works again after 6 failed" in line], (
        inner.logger.lines
    )


# ---- bad input ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(samples) -> list[dict]:
    return run(channel_classifier(), samples)["classification"]


@pytest.mark.parametrize("exponent", [-100, 100])
def test_a_band_scaled_far_down_or_up_gives_the_same_results(samples, reference, exponent):
    # 2^-100 ~ 8e-31, 2^100 ~ 1.3e30: every step (FFTs, powers, the squelch, normalisation) is
    # scale-invariant and a power of two changes no bit.
    found = run(channel_classifier(), scaled(samples, exponent))["classification"]
    assert summary(found) == summary(reference)
    np.testing.assert_allclose([m["snr_db"] for m in found], [m["snr_db"] for m in reference], atol=1e-9)


def test_a_band_of_denormals_is_still_classified(samples, reference):
    tiny = scaled(samples, -132)  # the band's peak ~ 2e-39: below float32's smallest normal, 1.2e-38
    assert np.abs(tiny.real).max() < np.finfo(np.float32).tiny
    found = run(channel_classifier(), tiny)["classification"]
    assert len(found) > 0.9 * len(reference) and not any(m["unclassifiable"] for m in found)
    labels = {m["offset"]: m["label"] for m in reference}
    same = sum(labels.get(m["offset"]) == m["label"] for m in found)
    assert same > 0.8 * len(found), (same, len(found))


@pytest.mark.parametrize("length", [1, 100, 20_000])
def test_zeros_and_streams_shorter_than_a_window_report_nothing(length):
    for block in (channel_classifier(), eeamc.scanner(BAND_RATE, device="cpu")):
        ports = ("classification", "channels") if isinstance(block, eeamc.scanner) else ("classification",)
        found = run(block, np.zeros(length, np.complex64), ports)
        assert found["classification"] == []
    assert all(channel_map == [] for channel_map in found["channels"])


def test_all_zeros_for_a_while_reports_nothing():
    found = run(eeamc.scanner(BAND_RATE, device="cpu"), np.zeros(int(0.3 * BAND_RATE), np.complex64))
    assert found["classification"] == []


def test_nan_bursts_inside_a_band_only_cost_the_windows_they_touch(samples, reference):
    burst = samples.copy()
    burst[100_000:100_500] = np.nan
    burst[500_000] = np.inf
    found = run(channel_classifier(), burst)["classification"]
    assert 0.8 * len(reference) < len(found) <= len(reference)
    assert all(np.isfinite(m["probabilities"]).all() for m in found)


def test_a_storm_of_unrelated_tags_changes_nothing(samples, reference):
    storm = [tag(offset, "junk", pmt.from_long(offset)) for offset in range(0, len(samples), 9)]
    found = run_tagged(channel_classifier(), samples, storm)
    assert summary(found) == summary(reference)


# ---- model files of other shapes ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS, ids=[variant[0] for variant in VARIANTS])
def test_model_files_of_other_shapes_through_the_channel_classifier(tmp_path, samples, variant):
    name, exits, classes, normalization, length = variant
    model = write_variant(str(tmp_path / f"{name}.pt"), exits, classes, normalization, length)
    block = channel_classifier(model=str(tmp_path / f"{name}.pt"))
    found = run(block, samples)["classification"]
    assert len(found) > 10
    assert {len(m["probabilities"]) for m in found} == {len(classes)}
    assert {m["label"] for m in found} <= set(classes)
    assert {m["exit"] for m in found} <= set(range(model.net.num_exits))
    # at (within 0.3 % of) the model's rate a window spans about length x UPSAMPLING input samples
    spacing = np.diff([m["offset"] for m in found])
    expected = length * BAND_RATE / block.classifier.channels()[0].actual_rate
    assert expected == pytest.approx(length * UPSAMPLING, rel=3e-3)
    assert np.abs(spacing - expected).max() <= 1, (spacing, expected)


def test_a_model_whose_weights_went_bad_gives_unclassifiable_windows_not_a_crash(tmp_path, samples):
    # A flipped byte in the weights loads (torch checks no CRC); one that makes a weight NaN makes every
    # output NaN, which must come out as unclassifiable windows, logged once.
    model = write_variant(str(tmp_path / "good.pt"), "v1", VARIANTS[0][2], "l1")
    with torch.no_grad():
        next(model.net.parameters()).view(-1)[0] = float("nan")
    eeamc.save_model(model, tmp_path / "nan.pt")
    direct = eeamc.classifier(model=str(tmp_path / "nan.pt"), device="cpu")
    stream = np.random.default_rng(2).standard_normal(40 * 128).astype(np.float32).view(np.complex64)
    channel = channel_classifier(model=str(tmp_path / "nan.pt"))
    for block, inner, source in ((direct, direct, stream), (channel, channel.classifier, samples)):
        inner.logger = RecordingLogger()
        found = run(block, source)["classification"]
        assert found and all(m["unclassifiable"] and m["label"] == "unclassifiable" for m in found)
        warnings = [text for text in inner.logger.at("warn") if "not finite" in text]
        assert len(warnings) == 1, inner.logger.lines


def test_freed_memory_goes_back_to_the_system_at_most_every_interval():
    from gnuradio.eeamc.running import FreedMemory

    calls = []
    memory = FreedMemory(interval_s=3600)
    memory._trim = calls.append  # glibc's malloc_trim, observed
    memory.release_if_due()
    assert calls == []  # not due yet
    memory.interval_s = 0
    memory.release_if_due()
    memory.release_if_due()
    assert calls == [0, 0]
    assert FreedMemory()._trim is not None  # glibc here: the real one is found
