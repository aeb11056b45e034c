# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write an independent check set: the ten RML22 classes plus ``noise``, made by code of its own.

Nothing here comes from ``training.generate`` and its modulators, channel and audio (the test parses this
file's imports): numpy/scipy modulators with other pulse filters, samples per symbol drawn in 1.8..2.3
through a fractional resampler of its own, GFSK/CPFSK over a range of modulation indices, FM and AM of a
synthetic audio-like source (tones, formant-filtered noise, chirps), and a channel of its own: multipath
with time-varying Rayleigh/Rician taps, carrier offset up to +-600 Hz, phase noise, IQ imbalance, a
receiver's channel filter, AWGN at the true SNR. Only the model's input contract is shared: its sample
rate (``contract.RML22_SAMPLE_RATE``) and its per-window normalisation (``windows.normalize``, "l1").

Every stream draws its own parameters from ``RANGES`` / ``CHOICES`` (all stored in the file's attributes,
each stream's draw under ``streams/``) and gives ``--windows-per-stream`` consecutive 128-sample windows;
``S`` names the stream of each window. Streams are seeded from (seed, class, SNR, stream number), so the
same --seed gives the same file whatever --workers is. See docs/checkset.md.
"""

from __future__ import annotations

import argparse
import datetime
import math
import multiprocessing
import os
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from gnuradio.eeamc.contract import RML22_SAMPLE_RATE
from gnuradio.eeamc.windows import normalize
from scipy import signal as scipy_signal
from tqdm import tqdm

from training.datasets import RML22_CLASSES, parse_snr_list
from training.provenance import code_version

SAMPLE_RATE_HZ = float(RML22_SAMPLE_RATE)
WINDOW_LENGTH = 128
NOISE_CLASS = "noise"
#: The project's class order, then the class of windows without a signal.
CLASSES: tuple[str, ...] = (*RML22_CLASSES, NOISE_CLASS)
DEFAULT_SNRS = "-20:20:2"
DEFAULT_PER = 300
DEFAULT_WINDOWS_PER_STREAM = 16
DEFAULT_SEED = 20261201
GENERATOR_VERSION = 1
CHANNEL_SETTINGS = ("full", "awgn")

#: Digital streams are pulse-shaped at this many samples per symbol, then resampled to the drawn rate.
OVERSAMPLING = 8
#: FM is modulated at this multiple of the sample rate, then brought down by the resampler (whose
#: low-pass is the receiver's channel filter for the part of a wide FM signal outside the band).
FM_OVERSAMPLING = 4
#: Samples made before and after each stream's kept part, so filter and delay transients are cut off.
GUARD = 48
#: Interpolation kernel: zero crossings of the sinc each side (at the output rate), Blackman-windowed.
KERNEL_ZEROS = 10
#: The resampler's low-pass edge as a fraction of the output Nyquist frequency.
RESAMPLER_CUTOFF = 0.9
#: Pulse spans, in symbols each side of the centre.
PULSE_SPAN = {"rrc": 8, "rc": 8, "gaussian": 3}
#: Sum-of-sinusoids fading: paths per tap.
FADING_PATHS = 12

#: Every continuous parameter, drawn uniformly per stream from [low, high].
RANGES: dict[str, tuple[float, float]] = {
    "samples_per_symbol": (1.8, 2.3),
    "rrc_rolloff": (0.2, 0.5),
    "rc_rolloff": (0.2, 0.5),
    "gaussian_pulse_bt": (0.6, 1.0),  # linear modulations with a Gaussian pulse (some ISI, by design)
    "timing_offset_symbols": (0.0, 1.0),
    "fsk_index": (0.5, 1.0),  # GFSK and CPFSK
    "gfsk_bt": (0.3, 0.5),
    "fm_peak_deviation_hz": (5e3, 25e3),
    "am_depth": (0.3, 1.0),
    "audio_bandwidth_hz": (3e3, 5e3),
    "audio_tones": (2, 6),  # integer
    "audio_tone_hz": (100.0, 5e3),  # below the stream's audio bandwidth
    "audio_envelope_hz": (2.0, 8.0),
    "audio_formant_hz": (300.0, 3000.0),
    "audio_formant_bandwidth_hz": (80.0, 300.0),
    "carrier_offset_hz": (-600.0, 600.0),
    "phase_noise_rad_per_sample": (0.0, 0.01),  # Wiener phase noise, std of each step
    "iq_gain_imbalance": (-0.05, 0.05),  # I gain 1 + e/2, Q gain 1 - e/2
    "iq_phase_imbalance_deg": (-3.0, 3.0),
    "doppler_hz": (1.0, 80.0),
    "rician_k_db": (0.0, 10.0),
    "multipath_taps": (2, 4),  # integer, the first at delay 0
    "multipath_delay_samples": (0.05, 1.5),
    "multipath_tap_power_db": (-12.0, -3.0),  # taps after the first, relative to it
    "receiver_filter_bandwidth": (0.7, 0.95),  # two-sided, fraction of the sample rate
    "noise_filter_bandwidth": (0.3, 0.95),  # empty channel: what a channel filter passes
}
#: Every discrete choice and its probabilities.
CHOICES: dict[str, dict[str, float]] = {
    "pulse": {"rrc": 1 / 3, "rc": 1 / 3, "gaussian": 1 / 3},
    "audio": {"tones": 1 / 3, "formant_noise": 1 / 3, "chirp": 1 / 3},
    "fm_preemphasis_us": {"0": 1 / 3, "50": 1 / 3, "75": 1 / 3},
    "fading": {"none": 0.2, "rayleigh": 0.2, "rician": 0.2, "multipath": 0.4},
    "receiver_filter": {"off": 0.5, "on": 0.5},
    "noise_kind": {"white": 0.5, "band_limited": 0.5},
}

#: Constellations, scaled to unit mean power where they are used.
CONSTELLATIONS: dict[str, Callable[[], np.ndarray]] = {
    "BPSK": lambda: np.array([-1.0, 1.0], dtype=complex),
    "QPSK": lambda: np.exp(1j * (np.pi / 4 + np.pi / 2 * np.arange(4))),
    "8PSK": lambda: np.exp(1j * np.pi / 4 * np.arange(8)),
    "PAM4": lambda: np.array([-3.0, -1.0, 1.0, 3.0], dtype=complex),
    "QAM16": lambda: square_qam(4),
    "QAM64": lambda: square_qam(8),
}

Params = dict[str, float | str]


def square_qam(side: int) -> np.ndarray:
    levels = np.arange(side) * 2.0 - (side - 1)
    return (levels[:, None] + 1j * levels[None, :]).reshape(-1)


# ------------------------------------------------------------------------------------------ drawing


def draw(rng: np.random.Generator, name: str) -> float:
    """One value of RANGES[name], uniform."""
    low, high = RANGES[name]
    return float(rng.uniform(low, high))


def draw_int(rng: np.random.Generator, name: str) -> int:
    low, high = RANGES[name]
    return int(rng.integers(int(low), int(high) + 1))


def choose(rng: np.random.Generator, name: str) -> str:
    """One option of CHOICES[name], with its probability."""
    options = CHOICES[name]
    return str(rng.choice(list(options), p=list(options.values())))


# ------------------------------------------------------------------------------- filters, resampling


def kernel(offsets: np.ndarray, cutoff: float) -> np.ndarray:
    """Blackman-windowed sinc low-pass at ``cutoff`` x Nyquist (unit gain at DC), at fractional offsets."""
    u = np.clip(offsets * (cutoff / KERNEL_ZEROS), -1.0, 1.0)  # -1..1 across the window
    window = 0.42 + 0.5 * np.cos(np.pi * u) + 0.08 * np.cos(2 * np.pi * u)
    return cutoff * np.sinc(cutoff * offsets) * window


def interpolate(x: np.ndarray, positions: np.ndarray, cutoff: float) -> np.ndarray:
    """Band-limited values of ``x`` at fractional sample ``positions`` (zeros outside ``x``)."""
    half = math.ceil(KERNEL_ZEROS / cutoff)
    base = np.floor(positions).astype(np.int64)
    index = base[:, None] + np.arange(-half + 1, half + 1)[None, :]
    weights = kernel(positions[:, None] - index, cutoff)
    padded = np.concatenate([np.zeros(half, x.dtype), x, np.zeros(half + 1, x.dtype)])
    return (padded[np.clip(index + half, 0, padded.size - 1)] * weights).sum(axis=1)


def resample(x: np.ndarray, step: float, start: float, count: int) -> np.ndarray:
    """``count`` samples of ``x`` at input positions start, start + step, ...: the fractional resampler
    (step > 1 decimates, with an anti-alias low-pass at RESAMPLER_CUTOFF of the new Nyquist)."""
    cutoff = RESAMPLER_CUTOFF * min(1.0, 1.0 / step)
    return interpolate(x, start + step * np.arange(count), cutoff)


def lowpass(x: np.ndarray, bandwidth: float) -> np.ndarray:
    """Linear-phase FIR low-pass passing ``bandwidth`` x the sample rate (two-sided), same length."""
    half = math.ceil(KERNEL_ZEROS / bandwidth)
    return np.convolve(x, kernel(np.arange(-half, half + 1, dtype=float), bandwidth), mode="same")


# -------------------------------------------------------------------------------------------- pulses


def pulse(kind: str, shape: float) -> np.ndarray:
    """Pulse taps at OVERSAMPLING samples per symbol: rrc/rc (roll-off ``shape``), gaussian (BT)."""
    t = np.arange(-PULSE_SPAN[kind] * OVERSAMPLING, PULSE_SPAN[kind] * OVERSAMPLING + 1) / OVERSAMPLING
    if kind == "rc":
        taps = np.sinc(t) * raised_cosine_factor(t, shape)
    elif kind == "rrc":
        taps = root_raised_cosine(t, shape)
    else:
        taps = gaussian(t, shape)
    return taps / np.sqrt(np.sum(taps**2))


def raised_cosine_factor(t: np.ndarray, rolloff: float) -> np.ndarray:
    """cos(pi b t) / (1 - (2 b t)^2), with its limit pi/4 where the denominator vanishes."""
    denominator = 1.0 - (2.0 * rolloff * t) ** 2
    singular = np.abs(denominator) < 1e-9
    safe = np.where(singular, 1.0, denominator)
    return np.where(singular, np.pi / 4, np.cos(np.pi * rolloff * t) / safe)


def root_raised_cosine(t: np.ndarray, rolloff: float) -> np.ndarray:
    """The RRC impulse response (symbol time 1), with its values at t = 0 and |t| = 1 / (4 b)."""
    b = rolloff
    denominator = np.pi * t * (1.0 - (4.0 * b * t) ** 2)
    singular = np.abs(denominator) < 1e-9
    numerator = np.sin(np.pi * t * (1 - b)) + 4 * b * t * np.cos(np.pi * t * (1 + b))
    taps = numerator / np.where(singular, 1.0, denominator)
    at_zero = 1 - b + 4 * b / np.pi
    at_edge = (
        b
        / np.sqrt(2)
        * ((1 + 2 / np.pi) * np.sin(np.pi / (4 * b)) + (1 - 2 / np.pi) * np.cos(np.pi / (4 * b)))
    )
    taps = np.where(singular & (np.abs(t) < 1e-9), at_zero, taps)
    return np.where(singular & (np.abs(t) >= 1e-9), at_edge, taps)


def gaussian(t: np.ndarray, bt: float) -> np.ndarray:
    """Gaussian pulse of bandwidth-time product ``bt`` (symbol time 1)."""
    sigma = np.sqrt(np.log(2.0)) / (2.0 * np.pi * bt)
    return np.exp(-(t**2) / (2.0 * sigma**2))


# --------------------------------------------------------------------------------------- modulators


def symbols_needed(count: int, sps: float, span: int) -> int:
    return math.ceil(count / sps) + 2 * span + 2


def linear_stream(name: str, rng: np.random.Generator, count: int) -> tuple[np.ndarray, Params]:
    """Random symbols of a constellation, pulse-shaped, at a fractional samples-per-symbol."""
    points = CONSTELLATIONS[name]()
    points = points / np.sqrt(np.mean(np.abs(points) ** 2))
    sps = draw(rng, "samples_per_symbol")
    kind = choose(rng, "pulse")
    shape = draw(rng, {"rrc": "rrc_rolloff", "rc": "rc_rolloff", "gaussian": "gaussian_pulse_bt"}[kind])
    symbols = points[rng.integers(0, points.size, symbols_needed(count, sps, PULSE_SPAN[kind]))]
    impulses = np.zeros(symbols.size * OVERSAMPLING, dtype=complex)
    impulses[::OVERSAMPLING] = symbols
    shaped = np.convolve(impulses, pulse(kind, shape))
    start = (PULSE_SPAN[kind] + draw(rng, "timing_offset_symbols")) * OVERSAMPLING
    params: Params = {"samples_per_symbol": sps, "pulse": kind, "pulse_shape": shape}
    return resample(shaped, OVERSAMPLING / sps, start, count), params


def fsk_stream(gaussian_filtered: bool, rng: np.random.Generator, count: int) -> tuple[np.ndarray, Params]:
    """Binary continuous-phase FSK: rectangular frequency pulses (CPFSK) or Gaussian-filtered (GFSK)."""
    sps = draw(rng, "samples_per_symbol")
    index = draw(rng, "fsk_index")
    span = PULSE_SPAN["gaussian"]
    bits = rng.choice([-1.0, 1.0], symbols_needed(count, sps, span))
    frequency = np.repeat(bits, OVERSAMPLING)
    params: Params = {"samples_per_symbol": sps, "fsk_index": index}
    if gaussian_filtered:
        bt = draw(rng, "gfsk_bt")
        taps = gaussian(np.arange(-span * OVERSAMPLING, span * OVERSAMPLING + 1) / OVERSAMPLING, bt)
        frequency = np.convolve(frequency, taps / taps.sum(), mode="same")
        params["gfsk_bt"] = bt
    # A symbol moves the phase by pi * index (frequency deviation index / 2 x the symbol rate).
    phase = np.pi * index * np.cumsum(frequency) / OVERSAMPLING + rng.uniform(0, 2 * np.pi)
    start = (span + draw(rng, "timing_offset_symbols")) * OVERSAMPLING
    return resample(np.exp(1j * phase), OVERSAMPLING / sps, start, count), params


def audio(rng: np.random.Generator, rate: float, count: int) -> tuple[np.ndarray, Params]:
    """An audio-like programme at ``rate``: tones, formant-filtered noise or a chirp, band-limited and
    scaled to peak 1."""
    kind = choose(rng, "audio")
    bandwidth = draw(rng, "audio_bandwidth_hz")
    pad = math.ceil(KERNEL_ZEROS * rate / (2 * bandwidth))  # the band-limiting filter's transient
    t = np.arange(count + 2 * pad) / rate
    if kind == "tones":
        tones = draw_int(rng, "audio_tones")
        freqs = rng.uniform(RANGES["audio_tone_hz"][0], bandwidth, tones)
        amps = rng.uniform(0.2, 1.0, tones)
        phases = rng.uniform(0, 2 * np.pi, tones)
        programme = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    elif kind == "formant_noise":
        programme = formant_noise(rng, rate, t.size)
    else:
        programme = chirp(rng, t, bandwidth)
    envelope_hz = draw(rng, "audio_envelope_hz")  # syllable-like loudness changes
    programme = programme * (0.6 + 0.4 * np.sin(2 * np.pi * envelope_hz * t + rng.uniform(0, 2 * np.pi)))
    programme = lowpass(programme, 2 * bandwidth / rate)[pad : pad + count]
    params: Params = {"audio": kind, "audio_bandwidth_hz": bandwidth}
    return programme / max(np.max(np.abs(programme)), 1e-12), params


def formant_noise(rng: np.random.Generator, rate: float, count: int) -> np.ndarray:
    """White noise through two resonators (speech-like formants), warmed up before the kept part."""
    warmup = int(rate * 0.02)
    programme = rng.standard_normal(count + warmup)
    for _ in range(2):
        radius = np.exp(-np.pi * draw(rng, "audio_formant_bandwidth_hz") / rate)
        theta = 2 * np.pi * draw(rng, "audio_formant_hz") / rate
        programme = scipy_signal.lfilter([1.0], [1.0, -2 * radius * np.cos(theta), radius**2], programme)
    return programme[warmup:]


def chirp(rng: np.random.Generator, t: np.ndarray, bandwidth: float) -> np.ndarray:
    """A linear sweep between two frequencies below ``bandwidth``, with a second harmonic."""
    low, high = rng.uniform(RANGES["audio_tone_hz"][0], bandwidth / 2, 2)
    duration = max(t[-1], 1e-9)
    phase = 2 * np.pi * (low * t + (high - low) * t**2 / (2 * duration))
    return np.sin(phase) + rng.uniform(0, 0.5) * np.sin(2 * phase)


def wbfm_stream(rng: np.random.Generator, count: int) -> tuple[np.ndarray, Params]:
    """Wide FM of the audio programme (peak deviation several x the audio bandwidth), with optional
    pre-emphasis, made at FM_OVERSAMPLING x the sample rate and brought down by the resampler."""
    rate = SAMPLE_RATE_HZ * FM_OVERSAMPLING
    programme, params = audio(rng, rate, (count + 4 * KERNEL_ZEROS) * FM_OVERSAMPLING)
    tau_us = float(choose(rng, "fm_preemphasis_us"))
    if tau_us > 0:  # first-order high-frequency boost, as broadcast FM transmitters apply
        tau = tau_us * 1e-6 * rate
        programme = programme + tau * np.diff(programme, prepend=programme[0])
        programme = programme / max(np.max(np.abs(programme)), 1e-12)
    deviation = draw(rng, "fm_peak_deviation_hz")
    phase = 2 * np.pi * deviation * np.cumsum(programme) / rate + rng.uniform(0, 2 * np.pi)
    params.update(fm_peak_deviation_hz=deviation, fm_preemphasis_us=tau_us)
    return resample(np.exp(1j * phase), FM_OVERSAMPLING, 2 * KERNEL_ZEROS * FM_OVERSAMPLING, count), params


def am_stream(rng: np.random.Generator, count: int) -> tuple[np.ndarray, Params]:
    """Double-sideband AM with its carrier: 1 + depth x programme."""
    programme, params = audio(rng, SAMPLE_RATE_HZ, count)
    depth = draw(rng, "am_depth")
    params["am_depth"] = depth
    return (1.0 + depth * programme).astype(complex), params


def noise_stream(rng: np.random.Generator, count: int) -> tuple[np.ndarray, Params]:
    """No signal: white noise, or noise as a receiver's channel filter passes it when a channel is empty."""
    kind = choose(rng, "noise_kind")
    noise = complex_noise(rng, count + 2 * GUARD)
    params: Params = {"noise_kind": kind}
    if kind == "band_limited":
        bandwidth = draw(rng, "noise_filter_bandwidth")
        noise = lowpass(noise, bandwidth)
        params["noise_filter_bandwidth"] = bandwidth
    return noise[GUARD : GUARD + count], params


def modulate(name: str, rng: np.random.Generator, count: int) -> tuple[np.ndarray, Params]:
    """``count`` samples of class ``name`` at the sample rate, before the channel."""
    if name in CONSTELLATIONS:
        return linear_stream(name, rng, count)
    if name in ("GFSK", "CPFSK"):
        return fsk_stream(name == "GFSK", rng, count)
    if name == "WBFM":
        return wbfm_stream(rng, count)
    if name == "AM-DSB":
        return am_stream(rng, count)
    raise ValueError(f"no modulator for class {name!r}; the classes are {', '.join(CLASSES)}")


# ------------------------------------------------------------------------------------------ channel


def complex_noise(rng: np.random.Generator, count: int) -> np.ndarray:
    """Circular complex Gaussian noise of unit power."""
    return (rng.standard_normal(count) + 1j * rng.standard_normal(count)) / np.sqrt(2.0)


def fading_gain(rng: np.random.Generator, count: int, doppler: float, k_factor: float) -> np.ndarray:
    """A time-varying complex gain of unit mean power: sum of sinusoids with random arrival angles
    (Rayleigh), plus a line-of-sight part of power K / (K + 1) when ``k_factor`` > 0 (Rician)."""
    n = np.arange(count) / SAMPLE_RATE_HZ
    angles = rng.uniform(0, 2 * np.pi, FADING_PATHS)
    phases = rng.uniform(0, 2 * np.pi, FADING_PATHS)
    scatter = np.exp(1j * (2 * np.pi * doppler * np.cos(angles)[:, None] * n + phases[:, None])).sum(axis=0)
    scatter /= np.sqrt(FADING_PATHS)
    line_of_sight = np.exp(
        1j * (2 * np.pi * doppler * np.cos(rng.uniform(0, 2 * np.pi)) * n + rng.uniform(0, 2 * np.pi))
    )
    return np.sqrt(k_factor / (k_factor + 1)) * line_of_sight + np.sqrt(1 / (k_factor + 1)) * scatter


def fade(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """None, flat Rayleigh, flat Rician or 2..4-tap multipath with fractional delays (first tap Rician)."""
    profile = choose(rng, "fading")
    params: Params = {"fading": profile}
    if profile == "none":
        return x, params
    doppler = draw(rng, "doppler_hz")
    params["doppler_hz"] = doppler
    k_db = draw(rng, "rician_k_db") if profile in ("rician", "multipath") else None
    k_factor = 0.0 if k_db is None else 10 ** (k_db / 10)
    if k_db is not None:
        params["rician_k_db"] = k_db
    out = fading_gain(rng, x.size, doppler, k_factor) * x
    if profile != "multipath":
        return out, params
    taps = draw_int(rng, "multipath_taps")
    delays = np.sort(rng.uniform(*RANGES["multipath_delay_samples"], taps - 1))
    powers = 10 ** (rng.uniform(*RANGES["multipath_tap_power_db"], taps - 1) / 10)
    for delay, power in zip(delays, powers):
        delayed = interpolate(x, np.arange(x.size) - delay, 1.0)
        out = out + np.sqrt(power) * fading_gain(rng, x.size, doppler, 0.0) * delayed
    params.update(multipath_taps=taps, multipath_max_delay_samples=float(delays[-1]))
    return out / np.sqrt(1.0 + powers.sum()), params


def oscillators(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """Carrier offset, random start phase and Wiener phase noise (transmitter and receiver oscillators)."""
    offset = draw(rng, "carrier_offset_hz")
    step = draw(rng, "phase_noise_rad_per_sample")
    phase = 2 * np.pi * offset * np.arange(x.size) / SAMPLE_RATE_HZ + rng.uniform(0, 2 * np.pi)
    phase = phase + np.cumsum(rng.standard_normal(x.size) * step)
    return x * np.exp(1j * phase), {"carrier_offset_hz": offset, "phase_noise_rad_per_sample": step}


def iq_imbalance(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Params]:
    """A receiver's IQ mixer: gains 1 +- e/2 on I and Q, and Q's local oscillator off by phi."""
    gain = draw(rng, "iq_gain_imbalance")
    phi = np.deg2rad(draw(rng, "iq_phase_imbalance_deg"))
    i = (1 + gain / 2) * x.real
    q = (1 - gain / 2) * (x.imag * np.cos(phi) - x.real * np.sin(phi))
    return i + 1j * q, {"iq_gain_imbalance": gain, "iq_phase_imbalance_deg": float(np.rad2deg(phi))}


# ------------------------------------------------------------------------------------------- streams


@dataclass(frozen=True)
class StreamPlan:
    """What one job (one class at one SNR) makes."""

    class_name: str
    snr: int
    per: int
    windows_per_stream: int
    seed: int
    channel: str  # "full" or "awgn"

    @property
    def streams(self) -> int:
        return math.ceil(self.per / self.windows_per_stream)


def stream_seed(seed: int, class_name: str, snr: int, stream: int) -> np.random.SeedSequence:
    """Seed material of one stream: stable across runs, platforms and worker counts (no hash())."""
    return np.random.SeedSequence(
        int(seed) & 0xFFFFFFFFFFFFFFFF,
        spawn_key=(zlib.crc32(class_name.encode()), int(snr) + (1 << 16), stream),
    )


def make_stream(
    class_name: str, snr: float | None, seed: np.random.SeedSequence, count: int, channel: str = "full"
) -> tuple[np.ndarray, Params]:
    """``count`` complex samples of one stream and the parameters drawn for it. The signal is scaled to
    unit power over the kept samples, then noise of power 10^(-snr/10) is added (``snr`` None: no noise;
    the signal is the same, since signal, channel and noise draw from separate generators)."""
    # Children named by their spawn keys, not seed.spawn(): the same seed gives the same stream each call.
    signal_rng, channel_rng, noise_rng = (
        np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, part)))
        for part in range(3)
    )
    if class_name == NOISE_CLASS:
        return noise_stream(signal_rng, count)
    x, params = modulate(class_name, signal_rng, count + 2 * GUARD)
    bandwidth = None
    if channel == "full":
        for effect in (fade, oscillators, iq_imbalance):
            x, drawn = effect(x, channel_rng)
            params.update(drawn)
        if choose(channel_rng, "receiver_filter") == "on":
            bandwidth = draw(channel_rng, "receiver_filter_bandwidth")
            params["receiver_filter_bandwidth"] = bandwidth
    x = x / np.sqrt(np.mean(np.abs(x[GUARD : GUARD + count]) ** 2))
    if snr is not None:
        x = x + complex_noise(noise_rng, x.size) * 10 ** (-snr / 20)
    if bandwidth is not None:  # after the noise: the receiver filters what the antenna gave it
        x = lowpass(x, bandwidth)
    return x[GUARD : GUARD + count], params


def to_windows(samples: np.ndarray) -> np.ndarray:
    """Complex samples -> float32 [n, 2, 128], each window L1-normalised as the model expects."""
    iq = samples.reshape(-1, WINDOW_LENGTH)
    return normalize(np.stack([iq.real, iq.imag], axis=1).astype(np.float32), "l1")


def run_job(plan: StreamPlan) -> tuple[np.ndarray, list[Params]]:
    """All windows of one (class, SNR): float32 [per, 2, 128], and each stream's parameters."""
    windows, params = [], []
    for stream in range(plan.streams):
        count = min(plan.windows_per_stream, plan.per - stream * plan.windows_per_stream)
        seed = stream_seed(plan.seed, plan.class_name, plan.snr, stream)
        samples, drawn = make_stream(plan.class_name, plan.snr, seed, count * WINDOW_LENGTH, plan.channel)
        windows.append(to_windows(samples))
        params.append(drawn)
    return np.concatenate(windows), params


def _indexed_job(job: tuple[int, StreamPlan]) -> tuple[int, np.ndarray, list[Params]]:
    index, plan = job
    return (index, *run_job(plan))


@dataclass
class CheckSet:
    x: np.ndarray  # float32 [N, 2, 128]
    y: np.ndarray  # int64 [N], index into classes
    z: np.ndarray  # int64 [N], SNR label in dB
    s: np.ndarray  # int64 [N], stream id (windows of one stream are consecutive)
    classes: list[str]
    stream_params: list[Params]  # indexed by stream id
    stream_class: np.ndarray  # int64 [streams]
    stream_snr: np.ndarray  # int64 [streams]


def generate_checkset(
    classes: Sequence[str],
    snrs: Sequence[int],
    per: int,
    windows_per_stream: int,
    seed: int,
    channel: str = "full",
    workers: int = 1,
    progress: bool = True,
) -> CheckSet:
    """Every (class, SNR) job, ordered by class (the order given), then SNR, then stream."""
    plans = [StreamPlan(c, int(snr), per, windows_per_stream, seed, channel) for c in classes for snr in snrs]
    results: list[tuple[np.ndarray, list[Params]] | None] = [None] * len(plans)
    bar = tqdm(total=len(plans), desc="checkset", unit="job", disable=not progress)
    pool = multiprocessing.get_context("spawn").Pool(min(workers, len(plans))) if workers > 1 else None
    try:
        jobs = list(enumerate(plans))
        for index, windows, params in (
            pool.imap_unordered(_indexed_job, jobs) if pool else map(_indexed_job, jobs)
        ):
            results[index] = (windows, params)
            bar.update()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    return assemble(plans, results, list(classes))


def assemble(plans: list[StreamPlan], results: list, classes: list[str]) -> CheckSet:
    """Concatenate the jobs' windows; number the streams in file order."""
    x = np.concatenate([windows for windows, _ in results])
    y = np.repeat([classes.index(p.class_name) for p in plans], [p.per for p in plans]).astype(np.int64)
    z = np.repeat([p.snr for p in plans], [p.per for p in plans]).astype(np.int64)
    per_stream = [
        min(p.windows_per_stream, p.per - k * p.windows_per_stream) for p in plans for k in range(p.streams)
    ]
    s = np.repeat(np.arange(len(per_stream)), per_stream).astype(np.int64)
    stream_plans = [p for p in plans for _ in range(p.streams)]
    return CheckSet(
        x=x,
        y=y,
        z=z,
        s=s,
        classes=classes,
        stream_params=[params for _, job_params in results for params in job_params],
        stream_class=np.array([classes.index(p.class_name) for p in stream_plans], dtype=np.int64),
        stream_snr=np.array([p.snr for p in stream_plans], dtype=np.int64),
    )


# ------------------------------------------------------------------------------------------- output


def provenance(
    args: argparse.Namespace, classes: Sequence[str], version: str | None, elapsed_s: float
) -> dict[str, Any]:
    """The file's attributes: the options, every range and choice, the definitions, who/when/how."""
    attrs: dict[str, Any] = {
        "classes": list(classes),
        "snrs": [int(s) for s in args.snrs],
        "per": args.per,
        "windows_per_stream": args.windows_per_stream,
        "seed": args.seed,
        "channel": args.channel,
        "generator": "training.checkset",
        "generator_version": GENERATOR_VERSION,
        "code_version": version or "unknown",
        "command_line": equivalent_command(args),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed_s, 3),
        "normalization": "l1",
        "window_length": WINDOW_LENGTH,
        "sample_rate_hz": SAMPLE_RATE_HZ,
        "snr_definition": "true: signal scaled to unit power per stream (after the channel), then noise of "
        "power 10**(-snr/10) over the full sample rate, before the receiver filter",
        "noise_snr_label": "noise windows carry the SNR of the grid they were made for; they hold no signal",
        "oversampling": OVERSAMPLING,
        "fm_oversampling": FM_OVERSAMPLING,
        "resampler": f"Blackman-windowed sinc ({KERNEL_ZEROS} zero crossings each side), "
        f"low-pass at {RESAMPLER_CUTOFF} x the output Nyquist",
        "fading_paths": FADING_PATHS,
        "pulse_span_symbols": [f"{k}={v}" for k, v in PULSE_SPAN.items()],
    }
    attrs.update({f"range_{name}": list(bounds) for name, bounds in RANGES.items()})
    for name, options in CHOICES.items():
        attrs[f"choice_{name}"] = list(options)
        attrs[f"choice_{name}_probability"] = list(options.values())
    return attrs


def equivalent_command(args: argparse.Namespace) -> str:
    """The command that writes this file again (--workers left out: it does not change the content)."""
    return (
        f"python -m training checkset --out {args.out} --per {args.per} "
        f"--snrs {','.join(str(s) for s in args.snrs)} --classes {','.join(args.classes)} "
        f"--windows-per-stream {args.windows_per_stream} --channel {args.channel} --seed {args.seed}"
    )


def write_checkset(path: Path, data: CheckSet, attrs: dict[str, Any]) -> None:
    """X/Y/Z/S as training/datasets.py reads them; each stream's draw under streams/ (indexed by S)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as file:
        file.create_dataset("X", data=data.x, chunks=(min(len(data.x), 1024), 2, WINDOW_LENGTH))
        file.create_dataset("Y", data=data.y)
        file.create_dataset("Z", data=data.z)
        file.create_dataset("S", data=data.s)
        group = file.create_group("streams")
        group.create_dataset("class", data=data.stream_class)
        group.create_dataset("snr", data=data.stream_snr)
        for key, column in stream_columns(data.stream_params).items():
            group.create_dataset(key, data=column)
        for key, value in attrs.items():
            file.attrs[key] = value


def stream_columns(rows: list[Params]) -> dict[str, np.ndarray]:
    """Per-stream parameters as columns: numbers as float64 (NaN where not drawn), words as strings."""
    keys = sorted({key for row in rows for key in row})
    columns = {}
    for key in keys:
        values = [row.get(key) for row in rows]
        if any(isinstance(v, str) for v in values):
            columns[key] = np.array(["" if v is None else str(v) for v in values], dtype=h5py.string_dtype())
        else:
            columns[key] = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    return columns


# ---------------------------------------------------------------------------------------------- CLI


def class_list(text: str) -> list[str]:
    """Comma-separated class names -> the project's order; unknown names are refused naming the valid."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CLASSES]
    if unknown or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"classes {text!r}: unknown, repeated or none ({unknown}); choose from {','.join(CLASSES)}"
        )
    return [name for name in CLASSES if name in names]


def snr_list(text: str) -> list[int]:
    """'-20:20:2' or '-10,0,10' -> SNRs without repeats."""
    try:
        snrs = parse_snr_list(text) or []
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not snrs or len(set(snrs)) != len(snrs):
        raise argparse.ArgumentTypeError(f"SNR list {text!r}: give at least one SNR, none twice")
    return snrs


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Let "--snrs -20:20:2" and "--snrs -10,0" through (argparse takes a leading "-" for an option).
    parser._negative_number_matcher = re.compile(r"^-\d+([,:]-?\d+)*$")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="output HDF5 file")
    parser.add_argument("--per", type=int, default=DEFAULT_PER, metavar="N", help="windows per (class, SNR)")
    parser.add_argument(
        "--snrs",
        type=snr_list,
        metavar="LIST",
        default=DEFAULT_SNRS,
        help="SNRs in dB: start:stop:step (stop included) or a comma list",
    )
    parser.add_argument(
        "--classes",
        type=class_list,
        metavar="LIST",
        default=",".join(CLASSES),
        help="comma-separated class names",
    )
    parser.add_argument(
        "--windows-per-stream",
        metavar="N",
        type=int,
        default=DEFAULT_WINDOWS_PER_STREAM,
        help="consecutive 128-sample windows cut from each stream (one draw of every parameter)",
    )
    parser.add_argument(
        "--channel",
        choices=CHANNEL_SETTINGS,
        default="full",
        help="full: fading, oscillators, IQ imbalance, receiver filter, noise; awgn: noise only (a check "
        "of the modulators alone)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, metavar="S", help="the same seed gives the same windows"
    )
    parser.add_argument(
        "--workers",
        metavar="W",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (the content does not depend on it)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.per < 1 or args.windows_per_stream < 1 or args.workers < 1:
        raise ValueError("--per, --windows-per-stream and --workers must each be at least 1")
    version = code_version()  # before the run: the code that makes the windows
    started = time.perf_counter()
    data = generate_checkset(
        args.classes,
        args.snrs,
        args.per,
        args.windows_per_stream,
        args.seed,
        args.channel,
        args.workers,
        not args.quiet,
    )
    elapsed = time.perf_counter() - started
    write_checkset(args.out, data, provenance(args, args.classes, version, elapsed))
    print(
        f"{len(data.y)} windows in {len(data.stream_params)} streams ({len(args.classes)} classes x "
        f"{len(args.snrs)} SNRs x {args.per}) in {elapsed:.1f} s: {args.out}"
    )
    return 0
