# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wideband bands for the channel front end (its tests, benchmark and measurements): the model's own
modulations (training/modulators.py, the generator of its training data) upsampled into one wideband
stream at chosen frequencies, with a common frequency error, white noise and a DC spike, as a radio
would deliver them. Everything is seeded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gnuradio.eeamc.contract import RML22_CONTRACT
from scipy.signal import resample_poly

from training import audio
from training.modulators import make_modulator

MODEL_RATE = RML22_CONTRACT.sample_rate
#: The band's rate: an integer multiple of the model's, close to an RTL-SDR's 2.4 MS/s.
UPSAMPLING = 80
BAND_RATE = MODEL_RATE * UPSAMPLING


@dataclass
class Placed:
    """One signal in the band: class, nominal centre (Hz) and when it is on (input samples)."""

    label: str
    freq_offset: float
    start: int
    stop: int


def modulated(label: str, samples: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` of one modulation at the model's rate, unit power."""
    modulator = make_modulator(label)
    source = audio.read_wav(audio.ensure_default_audio())[0] if modulator.uses_audio else None
    pieces, have = [], 0
    while have < samples:  # some modulators give fewer samples than source items
        piece = modulator.modulate(rng, 1, samples + 64, source).reshape(-1)
        pieces.append(piece)
        have += len(piece)
    signal = np.concatenate(pieces)[:samples]
    return (signal / np.sqrt(np.mean(np.abs(signal) ** 2))).astype(np.complex64)


def noise(samples: int, power: float, rng: np.random.Generator) -> np.ndarray:
    scale = np.sqrt(power / 2)
    return (scale * (rng.standard_normal(samples) + 1j * rng.standard_normal(samples))).astype(np.complex64)


def band(
    signals: list[tuple[str, float]] | list[Placed],
    seconds: float,
    *,
    snr_db: float = 20.0,
    freq_error: float = 3e3,
    dc_level: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, list[Placed]]:
    """A band at BAND_RATE: each signal unit power, ``snr_db`` over the noise in the model's occupied
    bandwidth, shifted by its offset plus ``freq_error``; returns the samples and what was placed."""
    rng = np.random.default_rng(seed)
    total = int(seconds * BAND_RATE)
    placed = [s if isinstance(s, Placed) else Placed(s[0], s[1], 0, total) for s in signals]
    samples = noise(total, BAND_RATE / (RML22_CONTRACT.occupied_bandwidth * 10 ** (snr_db / 10)), rng)
    samples += np.complex64(dc_level)
    for signal in placed:
        length = signal.stop - signal.start
        baseband = resample_poly(modulated(signal.label, length // UPSAMPLING + 64, rng), UPSAMPLING, 1)
        n = np.arange(signal.start, signal.stop)
        tone = np.exp(2j * np.pi * (signal.freq_offset + freq_error) * n / BAND_RATE)
        samples[signal.start : signal.stop] += (baseband[:length] * tone).astype(np.complex64)
    return samples, placed
