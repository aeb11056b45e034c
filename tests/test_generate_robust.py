# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The robust generator profile: per-stream draws inside their ranges, the noise class, stream ids and
the split that keeps one stream's windows together, true SNR, determinism."""

import dataclasses

import h5py
import numpy as np
import pytest

from training import audio, robust
from training.datasets import load_dataset, load_split
from training.generate import GenerationConfig, generate_dataset, generate_windows, profile_classes

SNR = 10


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
    for name in ("rolloff", "samples_per_symbol", "fsk_index", "gfsk_bt", "carrier_offset_hz"):
        values = np.array([getattr(d, name) for d in draws])
        low, high = robust.RANGES[name]
        assert values.min() >= low and values.max() <= high
        assert values.max() - values.min() > 0.8 * (high - low)  # spread over the range, not one value
    assert {d.fading for d in draws} == set(robust.FADING_CHOICES)
    assert {d.audio for d in draws} == set(robust.AUDIO_CHOICES)


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
