# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The `robust` generator profile: per-stream draws from ranges where RML22 uses single values.

RML22 makes every stream with the same pulse (RRC 0.35), the same FSK indices, 2 samples per symbol and
the same ETU70 channel; a user's signals differ in all of these. This profile draws, for every stream,
the modulation parameters (the constellation classes' pulse: root-raised cosine, raised cosine or
Gaussian), the samples per symbol (what the front end of the channel classifier and the
scanner leaves: the model's 2 give or take the bandwidth spread it does not resample), the residual carrier
offset and drift the front end's tracking leaves, a sample-rate offset, one of several fading channels
(flat, 3GPP, or multipath with paths up to 2 samples apart), phase noise, IQ imbalance, a DC offset
and, for half the streams, a receiver's channel filter; the analog classes modulate one of several
audio sources. It also adds the `noise` class: windows with no signal, white or shaped as a channel
filter passes noise.

Everything is here once: the ranges (``RANGES``, written to the file's attributes and docs/dataset.md),
the per-stream draw (``draw_streams``) and the receiver-side impairments applied to the cut windows.
The modulators (training/modulators.py) and the fading (training/channel.py) take a drawn
``StreamDraw`` each.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from training.audio import AUDIO_RATE_HZ, PEAK
from training.channel import SAMPLE_RATE_HZ

PROFILES = ("rml22", "robust")
NOISE_CLASS = "noise"

#: Every range the profile draws from (uniform unless the name says otherwise), in one place.
RANGES: dict[str, tuple[float, float]] = {
    "rolloff": (0.15, 0.6),  # RRC roll-off of the constellation classes
    "samples_per_symbol": (1.7, 2.4),  # digital classes; fractional (one polyphase resampler)
    "fsk_index": (0.35, 1.1),  # GFSK and CPFSK modulation index h (RML22: GFSK 1.0, CPFSK 0.5)
    "gfsk_bt": (0.25, 0.6),  # GFSK Gaussian filter bandwidth-time product (RML22: 0.3)
    "am_depth": (0.3, 1.0),  # AM-DSB: audio peak / carrier
    "gaussian_pulse_bt": (0.5, 1.2),  # constellation classes with a Gaussian pulse (ISI, as some radios)
    "wbfm_deviation_hz": (5e3, 75e3),  # FM peak deviation, at RML22's 44.1 kHz quadrature rate
    "carrier_offset_hz": (-750.0, 750.0),  # residual after the front end's tracking (contract: 500)
    "carrier_drift_hz_per_s": (-100.0, 100.0),
    "sample_rate_offset_ppm": (-100.0, 100.0),
    "doppler_hz_log_uniform": (1.0, 300.0),
    "rician_k_db": (0.0, 10.0),
    "phase_noise_rad_per_sqrt_sample": (0.0, 0.015),  # Wiener phase noise
    "iq_amplitude_db": (-1.0, 1.0),
    "iq_phase_deg": (-5.0, 5.0),
    "dc_offset": (0.0, 0.05),  # magnitude relative to the unit-power signal, random phase
    "noise_bandwidth_fraction": (0.15, 1.0),  # `noise` class: shaped noise's bandwidth / sample rate
    # "multipath" fading: paths at whole and fractional sample delays, frequency-selective at this rate
    # (the 3GPP profiles' delays are a few microseconds, a fraction of one 33 us sample: nearly flat).
    "multipath_paths": (2, 4),  # integer: the first path at delay 0 and 0 dB
    "multipath_delay_samples": (0.1, 2.0),
    "multipath_path_power_db": (-12.0, -2.0),  # paths after the first, relative to it
    "receiver_filter_bandwidth": (0.6, 0.95),  # two-sided, fraction of the sample rate
}
#: Pulse of the constellation classes and how often each is drawn: root-raised cosine (RML22's, with a
#: matched receiver), raised cosine, Gaussian (neither Nyquist through an unmatched receiver: some ISI).
PULSE_CHOICES: dict[str, float] = {"rrc": 0.5, "rc": 0.25, "gaussian": 0.25}
#: Share of streams that pass a receiver's channel filter (after noise, IQ imbalance and DC, as a
#: receiver's digital filter does); the others reach the model unfiltered, as RML22's do.
RECEIVER_FILTER_SHARE = 0.5
#: The receiver filter's taps (odd); windows are cut with half of them of margin each side.
RECEIVER_FILTER_TAPS = 31
#: Fading channels and how often each is drawn (3GPP EPA/EVA/ETU profiles; flat Rayleigh and Rician;
#: "multipath": a drawn profile of 2-4 paths up to 2 samples apart, see RANGES).
FADING_CHOICES: dict[str, float] = {
    "none": 0.15,
    "rayleigh": 0.1,
    "rician": 0.15,
    "epa": 0.1,
    "eva": 0.1,
    "etu": 0.1,
    "multipath": 0.3,
}
#: 3GPP TS 36.104 Annex B delay profiles: (delays in ns, relative powers in dB).
DELAY_PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "epa": ((0, 30, 70, 90, 110, 190, 410), (0.0, -1.0, -2.0, -3.0, -8.0, -17.2, -20.8)),
    "eva": (
        (0, 30, 150, 310, 370, 710, 1090, 1730, 2510),
        (0.0, -1.5, -1.4, -3.6, -0.6, -9.1, -7.0, -12.0, -16.9),
    ),
    "etu": (
        (0, 50, 120, 200, 230, 500, 1600, 2300, 5000),
        (-1.0, -1.0, -1.0, 0.0, 0.0, 0.0, -3.0, -5.0, -7.0),
    ),
}
#: Audio sources the analog classes modulate, and how often: the speech/music programme, tones, noise-like.
AUDIO_CHOICES: dict[str, float] = {"programme": 0.5, "tones": 0.2, "noise": 0.15, "sweep": 0.15}
#: `noise` class: white noise, or noise shaped by a low-pass (what an empty channel's filter passes).
NOISE_SHAPES: dict[str, float] = {"white": 0.5, "lowpass": 0.5}
#: Kept samples per stream, in windows: fewer than RML22's 50, so that a split by stream has many streams.
#: RML22's random gaps between windows leave 9 to 15 windows in a stream of this length.
WINDOWS_PER_STREAM = 20


@dataclass(frozen=True)
class StreamDraw:
    """One stream's drawn parameters (every field is used by some class; others ignore it)."""

    pulse: str
    rolloff: float
    gaussian_pulse_bt: float
    samples_per_symbol: float
    fsk_index: float
    gfsk_bt: float
    am_depth: float
    wbfm_deviation_hz: float
    sample_rate_ratio: float  # 1 + SRO
    fading: str
    doppler_hz: float
    rician_k: float  # linear
    multipath_delays_samples: tuple[float, ...]  # "multipath" fading's paths (the first at 0)
    multipath_gains_db: tuple[float, ...]
    carrier_offset_hz: float
    carrier_drift_hz_per_s: float
    phase_noise: float
    iq_amplitude_db: float
    iq_phase_deg: float
    dc_offset: complex
    audio: str
    noise_shape: str
    noise_bandwidth_fraction: float
    receiver_filter_bandwidth: float  # 0: no receiver filter
    seed: int

    def as_record(self) -> dict:
        record = asdict(self)
        record["dc_offset"] = abs(self.dc_offset)
        return record

    def delay_profiles(self) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
        """The named delay profiles (ns, dB) this stream's fading may use: 3GPP's and its own multipath."""
        delays_ns = tuple(delay / SAMPLE_RATE_HZ * 1e9 for delay in self.multipath_delays_samples)
        return {**DELAY_PROFILES, "multipath": (delays_ns, self.multipath_gains_db)}


def _uniform(rng: np.random.Generator, name: str, count: int) -> np.ndarray:
    low, high = RANGES[name]
    return rng.uniform(low, high, count)


def _choice(rng: np.random.Generator, table: dict[str, float], count: int) -> np.ndarray:
    names = list(table)
    return rng.choice(names, size=count, p=np.array(list(table.values())) / sum(table.values()))


def draw_streams(rng: np.random.Generator, count: int) -> list[StreamDraw]:
    """``count`` independent streams' parameters."""
    low, high = RANGES["doppler_hz_log_uniform"]
    columns = {
        "pulse": _choice(rng, PULSE_CHOICES, count),
        "rolloff": _uniform(rng, "rolloff", count),
        "gaussian_pulse_bt": _uniform(rng, "gaussian_pulse_bt", count),
        "samples_per_symbol": _uniform(rng, "samples_per_symbol", count),
        "fsk_index": _uniform(rng, "fsk_index", count),
        "gfsk_bt": _uniform(rng, "gfsk_bt", count),
        "am_depth": _uniform(rng, "am_depth", count),
        "wbfm_deviation_hz": _uniform(rng, "wbfm_deviation_hz", count),
        "sample_rate_ratio": 1.0 + _uniform(rng, "sample_rate_offset_ppm", count) * 1e-6,
        "fading": _choice(rng, FADING_CHOICES, count),
        "doppler_hz": np.exp(rng.uniform(np.log(low), np.log(high), count)),
        "rician_k": 10 ** (_uniform(rng, "rician_k_db", count) / 10),
        "carrier_offset_hz": _uniform(rng, "carrier_offset_hz", count),
        "carrier_drift_hz_per_s": _uniform(rng, "carrier_drift_hz_per_s", count),
        "phase_noise": _uniform(rng, "phase_noise_rad_per_sqrt_sample", count),
        "iq_amplitude_db": _uniform(rng, "iq_amplitude_db", count),
        "iq_phase_deg": _uniform(rng, "iq_phase_deg", count),
        "dc_offset": _uniform(rng, "dc_offset", count) * np.exp(2j * np.pi * rng.random(count)),
        "audio": _choice(rng, AUDIO_CHOICES, count),
        "noise_shape": _choice(rng, NOISE_SHAPES, count),
        "noise_bandwidth_fraction": _uniform(rng, "noise_bandwidth_fraction", count),
        "receiver_filter_bandwidth": np.where(
            rng.random(count) < RECEIVER_FILTER_SHARE, _uniform(rng, "receiver_filter_bandwidth", count), 0.0
        ),
        "seed": rng.integers(0, 2**31 - 1, count),
    }
    paths = [_multipath(rng) for _ in range(count)]
    return [
        StreamDraw(
            **{key: _plain(values[i]) for key, values in columns.items()},
            multipath_delays_samples=paths[i][0],
            multipath_gains_db=paths[i][1],
        )
        for i in range(count)
    ]


def _multipath(rng: np.random.Generator) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """One stream's "multipath" profile: (delays in samples, powers in dB), the first path at 0 / 0 dB."""
    low, high = RANGES["multipath_paths"]
    later = int(rng.integers(int(low), int(high) + 1)) - 1
    delays = np.sort(_uniform(rng, "multipath_delay_samples", later))
    gains = _uniform(rng, "multipath_path_power_db", later)
    return (0.0, *map(float, delays)), (0.0, *map(float, gains))


def _plain(value):
    """numpy scalars as Python ones (the draws end up in GNU Radio constructors and JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def min_rate_ratio(digital: bool) -> float:
    """The smallest output/input length ratio a drawn stream can have, relative to 2 samples/symbol."""
    sro_low = 1.0 + RANGES["sample_rate_offset_ppm"][0] * 1e-6
    sps_low = RANGES["samples_per_symbol"][0] / 2.0 if digital else 1.0
    return sps_low * sro_low


# ----------------------------------------------------------------------------- channel, after fading


def carrier_rotation(draws: list[StreamDraw], samples: int, rng: np.random.Generator) -> np.ndarray:
    """exp(j phase) [streams, samples]: offset + linear drift + Wiener phase noise + a random start."""
    n = np.arange(samples)[None, :]
    t = n / SAMPLE_RATE_HZ
    offset = np.array([d.carrier_offset_hz for d in draws])[:, None]
    drift = np.array([d.carrier_drift_hz_per_s for d in draws])[:, None]
    sigma = np.array([d.phase_noise for d in draws])[:, None]
    wander = np.cumsum(rng.standard_normal((len(draws), samples)) * sigma, axis=1)
    start = rng.uniform(0, 2 * np.pi, (len(draws), 1))
    phase = 2 * np.pi * (offset * t + 0.5 * drift * t**2) + wander + start
    return np.exp(1j * phase).astype(np.complex64)


def receiver_impairments(windows: np.ndarray, draws: list[StreamDraw], counts: list[int]) -> np.ndarray:
    """IQ imbalance and DC offset of the receiver, on windows [N, L] (``counts[i]`` of stream i, in order).

    Applied after the noise, as a receiver does: y = mu x + nu conj(x) + dc, with amplitude imbalance g
    and phase imbalance phi giving mu = (1 + g e^-j phi) / 2, nu = (1 - g e^j phi) / 2.
    """
    g = np.repeat([10 ** (d.iq_amplitude_db / 20) for d in draws], counts)[:, None]
    phi = np.repeat([np.deg2rad(d.iq_phase_deg) for d in draws], counts)[:, None]
    dc = np.repeat([d.dc_offset for d in draws], counts)[:, None]
    mu = (1 + g * np.exp(-1j * phi)) / 2
    nu = (1 - g * np.exp(1j * phi)) / 2
    return (mu * windows + nu * np.conj(windows) + dc).astype(np.complex64)


def receiver_filter(windows: np.ndarray, draws: list[StreamDraw], counts: list[int]) -> np.ndarray:
    """The receiver's channel filter on the streams that drew one: windows [N, L + 2 margin] (cut with
    ``RECEIVER_FILTER_TAPS // 2`` samples of margin each side, so no window sees a filter edge) -> [N, L]."""
    margin = RECEIVER_FILTER_TAPS // 2
    out = windows[:, margin : windows.shape[1] - margin].copy()
    ends = np.cumsum(counts)
    for draw, end, count in zip(draws, ends.tolist(), counts, strict=True):
        if draw.receiver_filter_bandwidth <= 0:
            continue
        taps = lowpass_taps(draw.receiver_filter_bandwidth, RECEIVER_FILTER_TAPS)
        taps = taps / np.sum(taps)  # unit passband gain
        for row in range(end - count, end):  # the stream's windows, one filter
            out[row] = np.convolve(windows[row], taps, mode="valid")
    return out.astype(np.complex64)


def lowpass_taps(fraction: float, taps: int = 63) -> np.ndarray:
    """Hamming-windowed sinc low-pass passing ``fraction`` of the sample rate (two-sided), unit power gain."""
    n = np.arange(taps) - (taps - 1) / 2
    h = fraction * np.sinc(fraction * n) * np.hamming(taps)
    return h / np.sqrt(np.sum(h**2))


def noise_streams(draws: list[StreamDraw], samples: int, rng: np.random.Generator) -> np.ndarray:
    """The `noise` class's "signal": white, or low-passed as a channel filter passes an empty channel."""
    white = (
        rng.standard_normal((len(draws), samples)) + 1j * rng.standard_normal((len(draws), samples))
    ) / np.sqrt(2)
    rows = []
    for row, draw in zip(white, draws, strict=True):
        if draw.noise_shape == "lowpass":
            row = np.convolve(row, lowpass_taps(draw.noise_bandwidth_fraction), mode="same")
        rows.append(row)
    return np.array(rows, dtype=np.complex64)


def attributes() -> dict:
    """What the profile draws from, for the file's attributes (flat, HDF5-friendly)."""
    attrs: dict = {f"robust_{name}": list(bounds) for name, bounds in RANGES.items()}
    attrs["robust_fading_choices"] = [f"{name}:{share}" for name, share in FADING_CHOICES.items()]
    attrs["robust_audio_choices"] = [f"{name}:{share}" for name, share in AUDIO_CHOICES.items()]
    attrs["robust_noise_shapes"] = [f"{name}:{share}" for name, share in NOISE_SHAPES.items()]
    attrs["robust_pulse_choices"] = [f"{name}:{share}" for name, share in PULSE_CHOICES.items()]
    attrs["robust_receiver_filter_share"] = RECEIVER_FILTER_SHARE
    attrs["robust_receiver_filter_taps"] = RECEIVER_FILTER_TAPS
    for name, (delays, gains) in DELAY_PROFILES.items():
        attrs[f"robust_{name}_delays_ns"] = list(delays)
        attrs[f"robust_{name}_gains_db"] = list(gains)
    attrs["robust_windows_per_stream"] = WINDOWS_PER_STREAM
    return attrs


# ------------------------------------------------------------------------------------ audio sources

#: Peak level of every audio source: the synthesised programme's.
AUDIO_PEAK = PEAK


def synthetic_audio(kind: str, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Audio other than the speech/music programme, float32 at 44.1 kHz with peak AUDIO_PEAK.

    tones: one to four steady tones (100 Hz - 5 kHz, e.g. test tones, a carrier's hum, CTCSS-like);
    noise: noise low-passed at 1-8 kHz (a channel with hiss, an unmodulated programme's floor);
    sweep: a tone gliding across 200 Hz - 6 kHz (test signals, whistles).
    """
    t = np.arange(samples) / AUDIO_RATE_HZ
    if kind == "tones":
        count = int(rng.integers(1, 5))
        frequencies = rng.uniform(100, 5000, count)
        phases = rng.uniform(0, 2 * np.pi, count)
        audio = np.sum(np.sin(2 * np.pi * frequencies[:, None] * t[None, :] + phases[:, None]), axis=0)
    elif kind == "noise":
        audio = np.convolve(
            rng.standard_normal(samples), lowpass_taps(2 * rng.uniform(1000, 8000) / AUDIO_RATE_HZ), "same"
        )
    elif kind == "sweep":
        low, high = sorted(rng.uniform(200, 6000, 2))
        sweep_s = rng.uniform(0.05, 1.0)
        frequency = low + (high - low) * (np.mod(t, sweep_s) / sweep_s)
        audio = np.sin(2 * np.pi * np.cumsum(frequency) / AUDIO_RATE_HZ)
    else:
        raise ValueError(f"unknown audio source {kind!r}: choose from {list(AUDIO_CHOICES)}")
    return (audio * (AUDIO_PEAK / max(np.max(np.abs(audio)), 1e-12))).astype(np.float32)
