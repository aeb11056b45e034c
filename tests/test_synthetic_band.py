# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""eeamc.synthetic_band in real flowgraphs: its truth matches its spectrum, and its seed fixes its samples."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gnuradio import eeamc
from gnuradio.eeamc.synthetic_band import SignalSpec
from gnuradio.eeamc.synthetic_band import record as record_band

RATE = 2.4e6
FREQ_ERROR = 3e3
FFT = 4096
# Short schedules so that a fraction of a second shows a signal both on and off.
SIGNALS = [
    SignalSpec("BPSK", -700e3, 20.0),
    SignalSpec("CPFSK", 400e3, 15.0, start_s=0.1, period_s=0.2, duty=0.5),
    SignalSpec("QPSK", 900e3, 25.0, symbol_rate_scale=2.0, start_s=0.15),
]
EMPTY_HZ = -300e3


def record(seconds: float, **kwargs) -> tuple[np.ndarray, eeamc.synthetic_band]:
    """Run the block alone in a flowgraph and return its first ``seconds`` of output."""
    return record_band(seconds, RATE, **kwargs)


@pytest.fixture(scope="module")
def band_output():
    return record(0.4, signals=SIGNALS, freq_error=FREQ_ERROR, seed=3)


def spectrum(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectrum (Hann, FFT bins) and its frequencies, centred."""
    rows = samples[: len(samples) // FFT * FFT].reshape(-1, FFT) * np.hanning(FFT)
    power = np.mean(np.abs(np.fft.fft(rows, axis=1)) ** 2, axis=0)
    return np.fft.fftshift(np.fft.fftfreq(FFT, 1 / RATE)), np.fft.fftshift(power)


def band_power_db(freqs, power, centre, bandwidth) -> float:
    """Mean power within +-bandwidth/2 of centre, in dB over the noise floor (the median bin)."""
    inside = np.abs(freqs - centre) <= bandwidth / 2
    return 10 * np.log10(power[inside].mean() / np.median(power))


def stretch(samples: np.ndarray, band, start_s: float, seconds: float = 0.04) -> tuple[np.ndarray, list]:
    first, count = int(start_s * RATE), int(seconds * RATE)
    return samples[first : first + count], band.truth(first, count)


def test_each_signal_sits_at_its_true_centre_only_while_on(band_output):
    samples, band = band_output
    for start_s in (0.02, 0.105, 0.155, 0.25, 0.35):
        piece, truth = stretch(samples, band, start_s)
        freqs, power = spectrum(piece)
        on = {signal.index for signal in truth}
        assert all(signal.coverage == 1.0 for signal in truth), "stretches must not straddle an edge"
        for index, spec in enumerate(SIGNALS):
            level = band_power_db(freqs, power, spec.freq_offset + FREQ_ERROR, spec.bandwidth / 2)
            if index in on:
                assert level > 10, (
                    f"{spec.label} should be on at {start_s} s, is {level:.1f} dB over the floor"
                )
            else:
                assert abs(level) < 1.0, f"{spec.label} should be off at {start_s} s, is {level:.1f} dB"
        assert abs(band_power_db(freqs, power, EMPTY_HZ, 40e3)) < 1.0


def test_truth_follows_the_schedule(band_output):
    _, band = band_output
    on_at = {
        s: {t.label for t in band.truth(int(s * RATE), 1000) if t.coverage == 1.0}
        for s in (0.05, 0.12, 0.16, 0.22)
    }
    assert on_at == {
        0.05: {"BPSK"},
        0.12: {"BPSK", "CPFSK"},
        0.16: {"BPSK", "CPFSK", "QPSK"},
        0.22: {"BPSK", "QPSK"},
    }
    (qpsk,) = [t for t in band.truth(int(0.3 * RATE)) if t.label == "QPSK"]
    assert qpsk.centre == 900e3 + FREQ_ERROR
    assert qpsk.bandwidth == pytest.approx(2 * eeamc.contract.RML22_CONTRACT.occupied_bandwidth)


def test_the_gate_switches_where_truth_says(band_output):
    """CPFSK's power around its centre rises at 0.1 s and falls at 0.2 s, as truth() has it."""
    samples, band = band_output
    spec = SIGNALS[1]
    offsets = np.arange(0, len(samples) - FFT, FFT)
    freqs = np.fft.fftshift(np.fft.fftfreq(FFT, 1 / RATE))
    inside = np.abs(freqs - spec.freq_offset - FREQ_ERROR) <= spec.bandwidth / 4
    rows = np.fft.fftshift(
        np.abs(np.fft.fft(samples[offsets[:, None] + np.arange(FFT)], axis=1)) ** 2, axes=1
    )
    level_db = 10 * np.log10(rows[:, inside].mean(axis=1) / np.median(rows, axis=1))
    edges_measured = np.flatnonzero(np.diff((level_db > 6).astype(int))) * FFT
    coverage = np.array([sum(s.coverage for s in band.truth(o, FFT) if s.index == 1) for o in offsets])
    edges_truth = np.flatnonzero(np.diff((coverage > 0.5).astype(int))) * FFT
    assert len(edges_truth) == 3  # on at 0.1, off at 0.2, on at 0.3
    np.testing.assert_allclose(edges_measured, edges_truth, atol=FFT)


def test_snr_is_measured_in_the_signals_own_bandwidth(band_output):
    samples, band = band_output
    piece, _ = stretch(samples, band, 0.3, 0.1)
    freqs, power = spectrum(piece)
    floor = np.median(power)
    for spec in (SIGNALS[0], SIGNALS[2]):
        inside = np.abs(freqs - spec.freq_offset - FREQ_ERROR) <= spec.bandwidth / 2
        snr = 10 * np.log10(np.sum(power[inside] - floor) / (floor * inside.sum()))
        assert snr == pytest.approx(spec.snr_db, abs=1.0), spec.label


def test_dc_spike_at_zero_hz(band_output):
    samples, _ = band_output
    freqs, power = spectrum(samples[: int(0.1 * RATE)])
    centre = int(np.argmin(np.abs(freqs)))
    assert 10 * np.log10(power[centre] / np.median(power)) > 20
    assert freqs[int(np.argmax(power))] == 0.0 or power[centre] > 0.5 * power.max()


def test_same_seed_same_samples_other_seed_other_samples():
    first, _ = record(0.05, seed=7)
    again, _ = record(0.05, seed=7)
    other, _ = record(0.05, seed=8)
    # Equal to float rounding: VOLK's aligned and unaligned dot products (which one a FIR filter calls
    # depends on where work() calls split the stream) may differ in the last bit of a few samples.
    rms = np.sqrt(np.mean(np.abs(first) ** 2))
    assert np.max(np.abs(first - again)) < 1e-5 * rms
    assert np.mean(first == again) > 0.99
    assert np.sqrt(np.mean(np.abs(first - other) ** 2)) > 0.5 * rms


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SignalSpec("BPSK", 1.19e6, 10.0), "outside the band"),
        (SignalSpec("OOK", 0.0, 10.0), "unknown label"),
        (SignalSpec("BPSK", 0.0, 10.0, duty=0.0), "duty"),
        (SignalSpec("BPSK", 0.0, 10.0, symbol_rate_scale=0.0), "symbol_rate_scale"),
    ],
)
def test_bad_signal_is_refused_naming_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        eeamc.synthetic_band(samp_rate=RATE, signals=[spec])


def test_default_preset_fits_an_rtl_sdr_band_with_distinct_classes():
    band = eeamc.synthetic_band()
    labels = [spec.label for spec in band.signals]
    assert len(labels) == len(set(labels)) >= 5
    assert any(spec.start_s > 0 or spec.period_s > 0 for spec in band.signals)
    assert all(label in eeamc.RML22_CLASSES for label in labels)


# ---- examples/synthetic_band.py: the band through the scanner, scored against the truth ------------


def load_example(name: str):
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_example_scoring_matches_reports_to_what_is_on():
    """judge/summarise on hand-made reports: right place and class, wrong class, nothing there."""
    example = load_example("synthetic_band")
    signals = [SignalSpec("BPSK", -500e3, 20.0), SignalSpec("GFSK", 300e3, 20.0, start_s=1.0)]
    band = eeamc.synthetic_band(samp_rate=RATE, signals=signals, freq_error=FREQ_ERROR)
    span = 10_000

    def report(offset_s, freq, label, channel):
        return {
            "offset": int(offset_s * RATE),
            "freq_offset": freq,
            "label": label,
            "exit": 0,
            "channel": channel,
        }

    reports = [
        report(0.5, -497.1e3, "BPSK", 0),
        report(0.6, -496.9e3, "QPSK", 0),
        report(0.5, 303e3, "GFSK", 1),  # GFSK is not on yet: a false detection
        report(1.5, 302.5e3, "GFSK", 1),
    ]
    summary = example.summarise(reports, signals, band.truth, span, RATE, 2.0, 1.0, FREQ_ERROR)
    bpsk, gfsk = summary["signals"]
    assert bpsk["found"] and bpsk["windows"] == 2 and bpsk["class_accuracy"] == 0.5
    assert bpsk["freq_error_hz"] == pytest.approx(0.0, abs=1.0)
    assert (
        gfsk["windows"] == 1
        and gfsk["class_accuracy"] == 1.0
        and gfsk["freq_error_hz"] == pytest.approx(-500)
    )
    assert summary["false_detections"] == 1 and summary["false_detection_times_s"] == [0.5]


def test_example_runs_the_band_through_the_scanner(tmp_path, capsys):
    example = load_example("synthetic_band")
    out = tmp_path / "summary.json"
    assert example.main(["--seconds", "3", "--no-throttle", "--seed", "1", "--json", str(out)]) == 0
    summary = json.loads(out.read_text())
    printed = capsys.readouterr().out
    assert "Summary:" in printed and "false detections" in printed
    assert summary["reports"] > 0
    on_in_run = [s for s in summary["signals"] if s["label"] != "PAM4"]  # PAM4 starts at 2 s
    for signal in on_in_run:
        assert signal["found"], f"{signal['label']} not found"
        assert abs(signal["freq_error_hz"]) < 2e3, signal
        assert len(signal["channel_ids"]) == 1, f"{signal['label']} changed channel id: {signal}"
    # The classes the model knows best at high SNR (99-100 % at >= 10 dB): most windows right.
    for signal in summary["signals"]:
        if signal["label"] in ("BPSK", "CPFSK", "GFSK", "AM-DSB") and signal["windows"]:
            assert signal["class_accuracy"] > 0.8, signal
    assert summary["false_detections"] <= 0.01 * summary["reports"]


#: Run in a child process: the band (every kind of branch: each class, gates with and without a delay,
#: twice the model's rate, with and without the DC spike) -> head -> vector sink, and plain tb.run().
RUN_TO_COMPLETION = r"""
import sys
import gnuradio
gnuradio.__path__.insert(0, sys.argv[1])
from gnuradio import blocks, eeamc, gr
from gnuradio.eeamc.synthetic_band import LABELS, SignalSpec
every_label = [
    SignalSpec(label, -1.0e6 + 200e3 * index, 15.0, start_s=0.01 * (index % 3), period_s=0.02 * (index % 2))
    for index, label in enumerate(LABELS)
]
for signals, dc_spike_db in ((None, -10.0), (every_label, None)):
    band = eeamc.synthetic_band(samp_rate=2.4e6, signals=signals, dc_spike_db=dc_spike_db, seed=4)
    top = gr.top_block()
    sink = blocks.vector_sink_c()
    top.connect(band, blocks.head(gr.sizeof_gr_complex, 100_000), sink)
    top.run()
    print(len(sink.data()))
"""


def test_head_after_the_band_ends_the_flowgraph():
    """tb.run() returns once head has its samples: every branch of the band stops when its output does."""
    checkout = Path(__file__).resolve().parents[1] / "python"
    # The timeout only stops a hang (so that it fails here instead of stalling the suite); nothing is timed.
    result = subprocess.run(
        [sys.executable, "-c", RUN_TO_COMPLETION, str(checkout)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["100000", "100000"]
