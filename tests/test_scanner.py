# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""eeamc.scanner in real flowgraphs: signals anywhere in a band (with a radio's frequency error and DC
spike) are found within a few kHz of their centres and classified, ids stay stable while signals come
and go, nothing is reported in an empty band, offsets and absolute frequencies are right."""

from collections import Counter, defaultdict

import numpy as np
import pmt
import pytest
from flowgraph_runs import messages, run, rx_freq_tags
from gnuradio import blocks, eeamc, gr
from gnuradio.eeamc import reports

from training.wideband import BAND_RATE, Placed, band

PORTS = ("classification", "channels")
FREQ_ERROR = 3e3
#: Signals away from 0 Hz, at frequencies on no grid, of classes the model tells apart well at 20 dB.
SIGNALS = [("QPSK", -612.3e3), ("GFSK", -201.7e3), ("BPSK", 253.1e3), ("AM-DSB", 498.9e3), ("CPFSK", 803.4e3)]


def nearest(found: float, placed: list[Placed]) -> Placed:
    return min(placed, key=lambda p: abs(p.freq_offset + FREQ_ERROR - found))


@pytest.fixture(scope="module")
def busy_band():
    samples, placed = band(SIGNALS, 1.5, freq_error=FREQ_ERROR, seed=11)
    return run(eeamc.scanner(BAND_RATE), samples, PORTS), placed


def test_every_signal_found_near_its_centre(busy_band):
    found, placed = busy_band
    last_map = found["channels"][-1]
    assert len(last_map) == len(SIGNALS)
    for channel in last_map:
        truth = nearest(channel["freq_offset"], placed)
        assert abs(channel["freq_offset"] - (truth.freq_offset + FREQ_ERROR)) < 2e3, (channel, truth)
        # placed at 20 dB in the model's bandwidth; the SNR is measured in the signal's own
        expected = 20 + 10 * np.log10(20249 / channel["bandwidth"])
        assert abs(channel["snr_db"] - expected) < 3, (channel, expected)
    assert {nearest(c["freq_offset"], placed).label for c in last_map} == {s[0] for s in SIGNALS}


def test_most_windows_classified_right(busy_band):
    found, placed = busy_band
    per_signal = defaultdict(Counter)
    for message in found["classification"]:
        truth = nearest(message["freq_offset"], placed)
        assert abs(message["freq_offset"] - (truth.freq_offset + FREQ_ERROR)) < 5e3  # no false detection
        per_signal[truth.label][message["label"]] += 1
    for label, counts in per_signal.items():
        assert counts[label] > 0.6 * sum(counts.values()), (label, counts)
    # every signal reported through most of the run: about 1.5 s / (128 / 29,998.5 S/s) windows each
    assert all(sum(counts.values()) > 250 for counts in per_signal.values()), per_signal


def test_messages_carry_the_channel_fields(busy_band):
    found, _ = busy_band
    message = found["classification"][-1]
    for key in ("label", "class", "exit", "entropy", "confidence", "offset", "probabilities", "window"):
        assert key in message
    assert {"channel", "freq_offset", "bandwidth", "snr_db"} <= set(message)
    assert set(message) <= reports.MESSAGE_KEYS  # the one schema every consumer reads
    # a window of the model's rate spans 128 x 80 input samples (to the channeliser's 0.3 % of rate)
    assert message["window_samples"] == pytest.approx(128 * 80, rel=0.003)
    assert "freq" not in message  # no rx_freq tag upstream
    assert message["offset"] < 1.5 * BAND_RATE


def test_an_empty_band_reports_nothing():
    samples, _ = band([], 1.0, seed=12)  # noise and a DC spike
    found = run(eeamc.scanner(BAND_RATE), samples, PORTS)
    assert found["classification"] == []
    assert all(channel_map == [] for channel_map in found["channels"])


def test_signals_that_come_and_go_keep_their_ids():
    total = int(1.5 * BAND_RATE)
    comes, goes = int(0.6 * BAND_RATE), int(0.9 * BAND_RATE)
    placed = [
        Placed("BPSK", -400e3, 0, total),
        Placed("GFSK", 100e3, 0, goes),
        Placed("CPFSK", 600e3, comes, total),
    ]
    samples, _ = band(placed, 1.5, freq_error=0, seed=13)
    found = run(eeamc.scanner(BAND_RATE), samples, PORTS)["classification"]
    ids = defaultdict(set)
    offsets = defaultdict(list)
    for message in found:
        truth = min(placed, key=lambda p: abs(p.freq_offset - message["freq_offset"]))
        ids[truth.label].add(message["channel"])
        offsets[truth.label].append(message["offset"])
    assert all(len(channel_ids) == 1 for channel_ids in ids.values()), ids  # one id per signal
    assert len(set().union(*ids.values())) == 3  # and a different one for each
    # Offsets count the scanner's input samples: reports start after a signal comes, end when it goes.
    assert comes - 0.05 * BAND_RATE <= min(offsets["CPFSK"]) <= comes + 0.3 * BAND_RATE
    assert goes - 0.1 * BAND_RATE <= max(offsets["GFSK"]) <= goes + 0.1 * BAND_RATE
    assert max(offsets["BPSK"]) > 1.4 * BAND_RATE


def test_rx_freq_tag_gives_absolute_frequencies():
    samples, _ = band([("BPSK", 250e3)], 0.6, freq_error=0, seed=14)
    found = run(eeamc.scanner(BAND_RATE), samples, tags=rx_freq_tags((0, 433.92e6)))["classification"]
    assert found
    for message in found:
        assert message["rx_freq"] == 433.92e6
        assert message["freq"] == pytest.approx(433.92e6 + message["freq_offset"], abs=1e-3)
        assert abs(message["freq"] - (433.92e6 + 250e3)) < 2e3


def test_a_signal_at_twice_the_model_symbol_rate_is_resampled():
    """Rates the model never saw: 30 kBd QPSK measures twice the model's bandwidth and is resampled."""
    from scipy.signal import resample_poly

    from training.wideband import UPSAMPLING, modulated, noise

    rng = np.random.default_rng(15)
    stream = modulated("QPSK", int(0.5 * BAND_RATE / (UPSAMPLING // 2)), rng)
    wide = resample_poly(stream, UPSAMPLING // 2, 1).astype(np.complex64)
    n = np.arange(len(wide))
    samples = wide * np.exp(2j * np.pi * -350e3 * n / BAND_RATE)
    samples = (samples + noise(len(n), BAND_RATE / (40e3 * 100), rng)).astype(np.complex64)
    found = run(eeamc.scanner(BAND_RATE), samples, PORTS)
    assert found["channels"][-1][0]["bandwidth"] == pytest.approx(2 * 20249, rel=0.15)
    labels = [m["label"] for m in found["classification"]]
    assert labels.count("QPSK") > 0.6 * len(labels), Counter(labels)


def test_nan_bursts_and_huge_values_do_not_stop_it():
    samples, _ = band([("BPSK", 250e3)], 1.0, freq_error=0, seed=16)
    samples[int(0.4 * BAND_RATE) : int(0.41 * BAND_RATE)] = np.nan
    samples[int(0.6 * BAND_RATE) : int(0.6 * BAND_RATE) + 100] = 3e38
    found = run(eeamc.scanner(BAND_RATE), samples, PORTS)["classification"]
    late = [m for m in found if m["offset"] > 0.8 * BAND_RATE]
    assert late and [m["label"] for m in late].count("BPSK") > 0.8 * len(late)


def test_a_separate_detector_drives_the_multi_channel_classifier():
    """The GRC way of building a scanner by hand: signal_detector's map into multi_channel_classifier."""
    samples, _ = band([("GFSK", -150e3), ("CPFSK", 420e3)], 1.0, freq_error=0, seed=17)
    top = gr.top_block()
    source = blocks.vector_source_c(samples.tolist())
    throttle = blocks.throttle(gr.sizeof_gr_complex, 4 * BAND_RATE)  # keeps the two blocks near in step
    detector = eeamc.signal_detector(BAND_RATE, fft_size=2048)
    classifier = eeamc.multi_channel_classifier(BAND_RATE)
    debug = blocks.message_debug()
    top.connect(source, throttle)
    top.connect(throttle, detector)
    top.connect(throttle, classifier)
    top.msg_connect(detector, "channels", classifier, "channels")
    top.msg_connect(classifier, "classification", debug, "store")
    top.run()
    found = messages(debug)
    by_frequency = defaultdict(Counter)
    for message in found:
        by_frequency[round(message["freq_offset"], -5)][message["label"]] += 1
    assert by_frequency[-200e3]["GFSK"] > 100 and by_frequency[400e3]["CPFSK"] > 100, by_frequency


def test_a_malformed_channel_map_is_ignored():
    classifier = eeamc.multi_channel_classifier(BAND_RATE)
    classifier.set_channel(3, 100e3, 20e3)
    classifier._on_channels(pmt.to_pmt([{"freq_offset": 1.0}]))  # no channel id
    assert [path.id for path in classifier.channels()] == [3]
    classifier._on_channels(pmt.to_pmt([{"channel": 4, "freq_offset": -5e4, "bandwidth": 2e4}]))
    assert [path.id for path in classifier.channels()] == [4]


def test_entries_that_are_no_channel_of_the_band_are_left_out_and_the_rest_followed():
    classifier = eeamc.multi_channel_classifier(BAND_RATE)
    good = {"channel": 1, "freq_offset": -5e4, "bandwidth": 2e4}
    bad = [
        {"channel": 2, "freq_offset": 2e6, "bandwidth": 2e4},  # outside the band
        {"channel": 3, "freq_offset": 1e5, "bandwidth": float("nan")},
        {"channel": 4, "freq_offset": 2e5, "bandwidth": -2e4},
    ]
    classifier._on_channels(pmt.to_pmt([good, *bad]))  # must not raise: it runs in the block's thread
    assert [path.id for path in classifier.channels()] == [1]


def test_a_new_bandwidth_rebuilds_the_channel_at_its_rate():
    classifier = eeamc.multi_channel_classifier(BAND_RATE)
    classifier.set_channel(1, 1e5, 2e4)
    assert classifier.channels()[0].rate == pytest.approx(29998.5)
    classifier._on_channels(pmt.to_pmt([{"channel": 1, "freq_offset": 1e5, "bandwidth": 2e5}]))
    path = classifier.channels()[0]
    assert path.bandwidth == 2e5 and path.rate == pytest.approx(29998.5 * 2e5 / 20249, rel=1e-3)


def test_the_finder_reports_no_more_than_max_channels():
    from gnuradio.eeamc.channels import ChannelTracker, Detection

    tracker = ChannelTracker(max_channels=2)
    everyone = [Detection(f, 20e3, snr, 1.0) for f, snr in ((-3e5, 10.0), (0.0, 30.0), (3e5, 20.0))]
    for _ in range(3):
        found = tracker.update(everyone)
    assert [c.freq_offset for c in found] == [0.0, 3e5]  # the strongest two
    for _ in range(2):  # the strongest goes quiet: held, but the two heard now are reported
        found = tracker.update(everyone[::2])
    assert [c.freq_offset for c in found] == [-3e5, 3e5]


def test_a_separate_detector_starts_afresh_on_each_run():
    samples, _ = band([("BPSK", 250e3)], 0.5, freq_error=0, seed=18)
    top = gr.top_block()
    source = blocks.vector_source_c(samples.tolist())
    detector = eeamc.signal_detector(BAND_RATE, fft_size=2048)
    debug = blocks.message_debug()
    top.connect(source, detector)
    top.msg_connect(detector, "channels", debug, "store")
    maps = []
    for _ in range(2):
        source.rewind()
        top.run()
        maps.append(messages(debug))
    second = maps[1][len(maps[0]) :]
    assert second == maps[0]  # the same maps, ids from 0 again, offsets from the run's first sample


def test_a_retuned_radio_gets_its_band_found_afresh():
    """rx_freq changes half-way (the radio retuned): another signal now sits at the same offset; it is a
    new channel (a new id), not the old one carried on."""
    half = int(0.6 * BAND_RATE)
    placed = [Placed("BPSK", 250e3, 0, half), Placed("GFSK", 250e3, half, 2 * half)]
    samples, _ = band(placed, 1.2, freq_error=0, seed=19)
    tags = rx_freq_tags((0, 433.0e6), (half, 434.0e6))
    found = run(eeamc.scanner(BAND_RATE), samples, tags=tags)["classification"]
    before = {m["channel"] for m in found if m["offset"] < half - 0.05 * BAND_RATE}
    after = {m["channel"] for m in found if m["offset"] > half + 0.05 * BAND_RATE}
    assert before and after and not before & after, (before, after)
    late = [m for m in found if m["offset"] > half + 0.3 * BAND_RATE]
    assert late and all(m["freq"] == pytest.approx(434.0e6 + m["freq_offset"], abs=1e-3) for m in late)
    assert [m["label"] for m in late].count("GFSK") > 0.8 * len(late)
