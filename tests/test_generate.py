# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dataset generator: shapes, provenance, seeds, true SNR, what each impairment changes, RML pickle."""

import pickle

import h5py
import numpy as np
import pytest

from training import audio, channel
from training.cli import main
from training.datasets import RML22_CLASSES, load_dataset
from training.generate import (
    TRANSIENT,
    GenerationConfig,
    generate_dataset,
    generate_windows,
    plan_windows,
)
from training.modulators import make_modulator

FS = channel.SAMPLE_RATE_HZ


@pytest.fixture(scope="module")
def audio_wav(tmp_path_factory):
    """A few seconds of espeak-ng speech then synthetic music (the full programme takes longer to make)."""
    rng = np.random.default_rng(1)
    speech = audio.speak("Radio check. One, two, three. Do you read me?", "en-us", 160, 50)
    clip = np.concatenate([speech * 0.5, np.zeros(audio.AUDIO_RATE_HZ // 2), 0.3 * audio.music(rng, 3.0)])
    path = tmp_path_factory.mktemp("audio") / "clip.wav"
    audio.write_wav(path, clip)
    return path


def windows_of(name, impairments, snr=10, per=200, nominal=False, wav=None, seed=0):
    """Complex windows [per, 128] before per-window normalisation."""
    config = GenerationConfig(
        classes=(name,),
        snrs=(snr,),
        per=per,
        impairments=impairments,
        seed=seed,
        nominal_snr=nominal,
        normalization="none",
        audio_path=None if wav is None else str(wav),
    )
    source = None if wav is None else audio.load_audio(wav).samples
    return generate_windows(config, name, snr, source)[0]


def test_cli_writes_every_class_with_labels_and_provenance(tmp_path, audio_wav):
    out = tmp_path / "set.h5"
    code = main(
        [
            "generate",
            "--out",
            str(out),
            "--per",
            "10",
            "--snrs",
            "0,10",
            "--workers",
            "1",
            "--seed",
            "5",
            "--audio",
            str(audio_wav),
            "--quiet",
        ]
    )
    assert code == 0
    with h5py.File(out) as file:
        x, y, z = file["X"][...], file["Y"][...], file["Z"][...]
        attrs = dict(file.attrs)
    assert x.shape == (10 * 2 * 10, 2, 128) and x.dtype == np.float32
    assert [str(c) for c in attrs["classes"]] == RML22_CLASSES
    assert np.array_equal(np.bincount(y), np.full(10, 20))
    assert np.array_equal(y[:20], np.zeros(20)) and np.array_equal(z[:20], np.repeat([0, 10], 10))
    assert np.all(np.isfinite(x))
    np.testing.assert_allclose(np.abs(x[:, 0] + 1j * x[:, 1]).sum(axis=1), 1.0, rtol=1e-5)  # x / sum|x|
    assert attrs["seed"] == 5 and attrs["per"] == 10 and attrs["impairments"] == "all"
    assert attrs["normalization"] == "l1" and not attrs["nominal_snr"]
    for key in ("code_version", "command_line", "date", "elapsed_s", "gnuradio_version", "audio_sha256"):
        assert key in attrs, key
    assert "--per 10" in attrs["command_line"]
    loaded = load_dataset(out)  # the project's loader reads it back by content
    assert loaded.classes == RML22_CLASSES and np.array_equal(loaded.x, x)


def test_same_seed_same_windows_whatever_the_worker_count():
    config = GenerationConfig(classes=("BPSK", "GFSK", "QAM64"), snrs=(-4, 8), per=20, seed=11)
    one = generate_dataset(config, workers=1, progress=False)
    two = generate_dataset(config, workers=2, progress=False)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a, b)
    other_seed = generate_dataset(
        GenerationConfig(**{**config.__dict__, "seed": 12}), workers=1, progress=False
    )
    assert not np.array_equal(one[0], other_seed[0])


@pytest.mark.parametrize("name", ["QPSK", "QAM64", "CPFSK", "AM-DSB"])
@pytest.mark.parametrize("snr", [-10, 0, 10])
def test_awgn_run_has_the_labelled_snr(name, snr, audio_wav):
    # Same seed: the awgn run is the clean run plus noise, so the two give signal and noise exactly.
    clean = windows_of(name, "clean", snr, wav=audio_wav)
    noisy = windows_of(name, "awgn", snr, wav=audio_wav)
    noise = noisy - clean
    measured = 10 * np.log10(np.mean(np.abs(clean) ** 2) / np.mean(np.abs(noise) ** 2))
    assert abs(measured - snr) < 0.5
    # Blind check, no reference: total power = signal (1) + noise (10^(-snr/10)).
    np.testing.assert_allclose(np.mean(np.abs(noisy) ** 2), 1 + 10 ** (-snr / 10), rtol=0.1)


def test_nominal_snr_leaves_the_faded_signal_unscaled():
    true_snr = np.mean(np.abs(windows_of("BPSK", "fading")) ** 2)
    nominal = np.mean(np.abs(windows_of("BPSK", "fading", nominal=True)) ** 2)
    assert abs(true_snr - 1) < 0.1  # scaled to unit power per stream
    assert nominal > 2  # ETU70's path gains add up to several dB; RML22 left them in


def band_energy_share(windows, low):
    """Share of energy at |f| > low (cycles/sample), Hann-windowed against leakage."""
    spectrum = np.abs(np.fft.fft(windows * np.hanning(windows.shape[1]), axis=1)) ** 2
    frequencies = np.abs(np.fft.fftfreq(windows.shape[1]))
    return spectrum[:, frequencies > low].sum() / spectrum.sum()


def test_clean_is_noise_free_and_band_limited():
    clean = windows_of("BPSK", "clean")
    assert np.all(clean.imag == 0)  # a real constellation, no rotation, no noise
    # RRC 0.35 at 2 samples/symbol occupies |f| < 0.3375: almost nothing beyond 0.4 without noise.
    assert band_energy_share(windows_of("QPSK", "clean"), 0.4) < 1e-3
    assert band_energy_share(windows_of("QPSK", "awgn"), 0.4) > 5e-3
    assert np.array_equal(clean, windows_of("BPSK", "clean"))  # deterministic


def test_fading_varies_the_amplitude_and_the_rest_does_not():
    for impairments in ("clean", "clock"):  # GFSK has a constant envelope unless the channel fades it
        magnitude = np.abs(windows_of("GFSK", impairments))
        assert np.max(np.abs(magnitude - 1)) < 0.02, impairments
    faded = windows_of("GFSK", "fading")
    window_power = np.mean(np.abs(faded) ** 2, axis=1)
    assert np.std(window_power) / np.mean(window_power) > 0.3
    assert np.std(np.abs(faded[0])) > 0.01


def carrier_offsets_hz(windows):
    """Per-window carrier offset of BPSK: squaring removes the modulation, leaving a line at 2 x CFO."""
    squared = windows**2
    return np.angle(np.sum(squared[:, 1:] * np.conj(squared[:, :-1]), axis=1)) / (2 * 2 * np.pi) * FS


def test_clock_offsets_the_carrier_within_the_rml22_range():
    offsets = carrier_offsets_hz(windows_of("BPSK", "clock", per=400))
    assert np.max(np.abs(offsets)) <= 500 + 1  # CFO = 100 x a crystal error of at most 5 Hz
    assert np.std(offsets) > 100  # one uniform bias per stream spreads them over +-500 Hz
    assert np.max(np.abs(carrier_offsets_hz(windows_of("BPSK", "clean")))) < 1e-3
    assert np.std(carrier_offsets_hz(windows_of("BPSK", "awgn", snr=30))) < 20  # estimator noise only


def test_rml_format_round_trip(tmp_path):
    out = tmp_path / "rml22.pkl"
    main(
        [
            "generate",
            "--out",
            str(out),
            "--format",
            "rml",
            "--per",
            "6",
            "--snrs",
            "-2,4",
            "--classes",
            "QPSK,BPSK",
            "--workers",
            "1",
            "--quiet",
        ]
    )
    with open(out, "rb") as file:
        table = pickle.load(file)
    assert set(table) == {("BPSK", -2), ("BPSK", 4), ("QPSK", -2), ("QPSK", 4)}
    with h5py.File(out.with_suffix(".h5")) as file:  # the HDF5 with all attributes sits beside it
        x, y, z = file["X"][...], file["Y"][...], file["Z"][...]
        classes = [str(c) for c in file.attrs["classes"]]
    assert classes == ["BPSK", "QPSK"]  # the project's label order, not the command line's
    for (name, snr), windows in table.items():
        assert windows.dtype == np.float32 and windows.shape == (6, 2, 128)
        assert np.array_equal(windows, x[(y == classes.index(name)) & (z == snr)])


def test_bad_options_say_what_is_valid(tmp_path, capsys):
    assert main(["generate", "--out", str(tmp_path / "x.h5"), "--classes", "BPSK,OOK", "--quiet"]) == 2
    assert "OOK" in capsys.readouterr().err and "QAM16" in capsys.readouterr().err + "QAM16"
    with pytest.raises(SystemExit):
        main(["generate", "--out", str(tmp_path / "x.h5"), "--snrs", "0,1.5"])


def test_missing_espeak_ng_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FileNotFoundError, match="apt-get install espeak-ng"):
        audio.espeak_version()


def test_clock_walk_is_bounded_with_rml22_steps():
    error = channel.oscillator_error(np.random.default_rng(3), 200, 5000)
    assert np.all(np.abs(error) <= channel.XO_MAX_ERROR_HZ)
    steps = np.diff(error, axis=1)
    np.testing.assert_allclose(np.std(steps), channel.XO_STEP_STD_HZ, rtol=0.02)
    # Folding keeps a walk that crosses a limit continuous and inside it.
    walk = np.linspace(4.9, 5.3, 41)[None, :]
    folded = channel.reflect_into(walk, 5.0)
    assert np.all(folded <= 5.0) and np.max(np.abs(np.diff(folded))) <= 0.01 + 1e-12
    np.testing.assert_allclose(folded[0, -1], 4.7)


def test_windows_follow_rml22_framing():
    kept = make_modulator("QPSK").output_length(128 * 50 + TRANSIENT) - TRANSIENT
    plans = plan_windows(np.random.default_rng(0), kept, 500, 128)
    assert sum(len(p) for p in plans) == 500
    for plan in plans:
        gaps = np.diff(plan) - 128
        assert np.all(gaps >= 0) and np.all(gaps < int(0.05 * kept))
        assert plan[0] < int(0.05 * kept) and plan[-1] + 128 < kept


def test_speech_source_has_speech_and_pauses():
    paragraphs = audio.read_paragraphs()
    assert len(paragraphs) >= 8 and any("Four score" in p for p in paragraphs)
    speech = audio.speak("Hello. This is a test of the speech synthesiser.", "en-gb", 160, 50)
    assert speech.shape[0] > audio.AUDIO_RATE_HZ  # over a second at 44.1 kHz
    blocks = speech[: speech.shape[0] // 441 * 441].reshape(-1, 441)  # 10 ms blocks
    loudness = np.sqrt(np.mean(blocks**2, axis=1))
    assert np.mean(loudness < 0.01 * loudness.max()) > 0.05  # pauses
    assert np.mean(loudness > 0.1 * loudness.max()) > 0.3  # and speech
