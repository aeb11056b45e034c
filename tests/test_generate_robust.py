# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The robust generator profile: per-stream draws inside their ranges, the noise class, stream ids and
the split that keeps one stream's windows together, true SNR, determinism."""

import dataclasses

import h5py
import numpy as np
import pytest
from gnuradio.eeamc.synthetic_band import RRC_FILTERS

from training import audio, channel, robust
from training.datasets import load_dataset, load_split
from training.generate import GenerationConfig, generate_dataset, generate_windows, profile_classes
from training.modulators import pulse_taps, raised_cosine

SNR = 10
DRAW = robust.draw_streams(np.random.default_rng(1), 1)[0]


@pytest.fixture(scope="module")
def audio_wav(tmp_path_factory):
    rng = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("audio") / "music.wav"
    audio.write_wav(path, 0.5 * audio.music(rng, 4.0))
    return path


def robust_config(classes, per=60, snrs=(SNR,), wav=None, seed=0, normalization="none"):
    return GenerationConfig(
        classes=tuple(classes),
        snrs=tuple(snrs),
        per=per,
        seed=seed,
        normalization=normalization,
        profile="robust",
        audio_path=None if wav is None else str(wav),
    )


def test_draws_stay_inside_their_ranges_and_vary():
    draws = robust.draw_streams(np.random.default_rng(0), 400)
    for name in (
        "rolloff", "gaussian_pulse_bt", "samples_per_symbol", "fsk_index", "gfsk_bt", "wbfm_deviation_hz",
        "carrier_offset_hz",
    ):  # fmt: skip
        values = np.array([getattr(d, name) for d in draws])
        low, high = robust.RANGES[name]
        assert values.min() >= low and values.max() <= high
        assert values.max() - values.min() > 0.8 * (high - low)  # spread over the range, not one value
    assert {d.fading for d in draws} == set(robust.FADING_CHOICES)
    assert {d.audio for d in draws} == set(robust.AUDIO_CHOICES)
    assert {d.pulse for d in draws} == set(robust.PULSE_CHOICES)
    filtered = np.array([d.receiver_filter_bandwidth for d in draws])
    assert 0.4 < np.mean(filtered > 0) < 0.6  # RECEIVER_FILTER_SHARE of the streams
    low, high = robust.RANGES["receiver_filter_bandwidth"]
    assert filtered[filtered > 0].min() >= low and filtered.max() <= high
    paths = {len(d.multipath_delays_samples) for d in draws}
    assert paths == {2, 3, 4} and all(d.multipath_delays_samples[0] == 0.0 for d in draws)
    delays = np.concatenate([d.multipath_delays_samples[1:] for d in draws])
    assert delays.min() >= 0.1 and delays.max() <= 2.0 and delays.max() > 1.5


def test_pulses_raised_cosine_is_nyquist_and_every_pulse_has_the_same_gain():
    taps = raised_cosine(0.3, 705)
    centre = 352
    zeros = taps[centre + RRC_FILTERS * np.array([-3, -2, -1, 1, 2, 3])]
    assert np.max(np.abs(zeros)) < 1e-6 * taps[centre]  # no ISI at the symbol instants
    sums = [np.sum(pulse_taps(dataclasses.replace(DRAW, pulse=pulse))) for pulse in robust.PULSE_CHOICES]
    np.testing.assert_allclose(sums, RRC_FILTERS, rtol=1e-4)
    with pytest.raises(ValueError, match="unknown pulse 'sinc'"):
        pulse_taps(dataclasses.replace(DRAW, pulse="sinc"))


def test_gaussian_pulse_is_wider_the_lower_its_bt():
    def width(bt):  # samples above half the peak
        taps = np.array(pulse_taps(dataclasses.replace(DRAW, pulse="gaussian", gaussian_pulse_bt=bt)))
        return np.sum(taps > taps.max() / 2)

    assert width(0.5) > 1.5 * width(1.2)


def test_receiver_filter_passes_its_band_cuts_the_rest_and_leaves_unfiltered_streams_alone():
    margin = robust.RECEIVER_FILTER_TAPS // 2
    n = np.arange(-margin, 128 + margin)
    tones = np.array(
        [np.exp(2j * np.pi * 0.05 * n), np.exp(2j * np.pi * 0.45 * n), np.exp(2j * np.pi * 0.45 * n)]
    )
    draws = [
        dataclasses.replace(DRAW, receiver_filter_bandwidth=0.6),
        dataclasses.replace(DRAW, receiver_filter_bandwidth=0.0),
    ]
    out = robust.receiver_filter(tones, draws, [2, 1])
    assert out.shape == (3, 128)
    assert 0.95 < np.mean(np.abs(out[0])) < 1.05  # in band: through at unit gain
    assert np.mean(np.abs(out[1])) < 0.05  # 0.45 x the rate, outside the 0.6 x rate band: cut
    np.testing.assert_allclose(out[2], tones[2, margin:-margin], rtol=1e-6)  # no filter drawn


def test_multipath_fading_is_frequency_selective_where_flat_fading_is_not():
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(16384) + 1j * rng.standard_normal(16384)).astype(np.complex64)
    two_paths = dataclasses.replace(DRAW, multipath_delays_samples=(0.0, 1.0), multipath_gains_db=(0.0, 0.0))

    def spread_db(kind):  # max / min of the output's averaged spectrum
        fader = channel.fader(kind, 1.0, 1.0, 100, two_paths.delay_profiles())
        (out,) = channel.run_through([noise], [fader])
        spectrum = np.mean(np.abs(np.fft.fft(out[4096:].reshape(-1, 64), axis=1)) ** 2, axis=0)
        return 10 * np.log10(spectrum.max() / spectrum.min())

    assert spread_db("rayleigh") < 3.0
    assert spread_db("multipath") > 10.0


@pytest.mark.parametrize("name", ["QPSK", "GFSK", "AM-DSB", "noise"])
def test_true_snr_every_stream_at_unit_power(name, audio_wav):
    windows, streams = generate_windows(
        robust_config([name], wav=audio_wav), name, SNR, audio.load_audio(audio_wav).samples
    )
    assert windows.shape == (60, 128) and streams.shape == (60,)
    # signal (unit power per stream) + noise (10^-snr/10) + a DC of at most 0.05: about 1.1 in all
    np.testing.assert_allclose(np.mean(np.abs(windows) ** 2), 1 + 10 ** (-SNR / 10), rtol=0.15)
    assert np.all(np.diff(streams) >= 0) and streams.max() >= 2  # several streams, windows in order


def spectral_flatness(windows):
    spectrum = np.mean(np.abs(np.fft.fft(windows, axis=1)) ** 2, axis=0)
    return np.exp(np.mean(np.log(spectrum))) / np.mean(spectrum)


def test_noise_class_has_no_signal_and_differs_from_a_modulation():
    config = robust_config(["noise", "BPSK"], snrs=(20,))
    noise, _ = generate_windows(config, "noise", 20)
    bpsk, _ = generate_windows(config, "BPSK", 20)
    # No tone or constellation in noise: its symbols-free samples are uncorrelated with a shifted copy
    # on average (white streams) or only low-passed; BPSK at 2 samples/symbol is strongly correlated.
    lag1 = lambda w: np.abs(np.mean(w[:, 1:] * np.conj(w[:, :-1])))  # noqa: E731
    assert lag1(noise) < lag1(bpsk)
    assert 0 < spectral_flatness(noise) <= 1


def test_file_has_stream_ids_and_the_split_keeps_streams_together(tmp_path):
    config = robust_config(["BPSK", "noise"], per=80, snrs=(0, 20), normalization="l1")
    x, y, z, s = generate_dataset(config, workers=1, progress=False)
    path = tmp_path / "robust.h5"
    with h5py.File(path, "w") as file:
        for key, value in {"X": x, "Y": y, "Z": z, "S": s}.items():
            file.create_dataset(key, data=value)
        file.attrs["classes"] = list(config.classes)
        file.attrs["split_unit"] = "stream"
    dataset = load_dataset(path)
    assert dataset.classes == ["BPSK", "noise"] and dataset.stream is not None
    parts = {name: load_split(path, name) for name in ("train", "val", "test")}
    assert sum(len(part) for part in parts.values()) == len(dataset)
    seen = [set(part.stream.tolist()) for part in parts.values()]
    assert all(len(part) for part in parts.values())
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert parts["test"].attrs["split_by"] == "stream"
    by_window = {name: load_split(path, name, split_by="window") for name in ("train", "test")}
    assert set(by_window["train"].stream.tolist()) & set(by_window["test"].stream.tolist())  # what it avoids


def test_same_seed_same_file_whatever_the_worker_count():
    config = robust_config(["QAM16", "CPFSK", "noise"], per=20, snrs=(-4, 8))
    one = generate_dataset(config, workers=1, progress=False)
    two = generate_dataset(config, workers=2, progress=False)
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(a, b)
    other = generate_dataset(dataclasses.replace(config, seed=5), workers=1, progress=False)
    assert not np.array_equal(one[0], other[0])


def test_profiles_classes_and_refusals(tmp_path, capsys):
    assert profile_classes("robust")[-1] == robust.NOISE_CLASS
    assert robust.NOISE_CLASS not in profile_classes("rml22")
    from training.cli import main

    assert main(["generate", "--profile", "robust", "--nominal-snr", "--out", str(tmp_path / "x.h5")]) == 2
    assert "robust profile" in capsys.readouterr().err


def test_a_model_trained_on_the_profile_states_its_carrier_offsets():
    from training.generate import provenance
    from training.train import signal_contract

    attrs = provenance(robust_config(["BPSK"]), {}, "test", 1, 0.0)
    contract, source = signal_contract(attrs)
    assert contract.max_carrier_offset == max(abs(b) for b in robust.RANGES["carrier_offset_hz"])
    assert "robust_carrier_offset_hz" in source
