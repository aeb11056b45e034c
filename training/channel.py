# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""RML22's channel, vectorised over many streams: clock error (SRO, CFO), ETU70 fading, phase, noise.

Every function works on a batch of streams at once ([streams, samples] arrays); nothing loops over
samples in Python. The fading itself is GNU Radio's ``channels.selective_fading_model``, one block
per stream (a fresh seed each, as RML22), all of a batch in one flowgraph.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gnuradio import blocks, channels, gr
from gnuradio.eeamc.contract import RML22_MAX_CARRIER_OFFSET, RML22_SAMPLE_RATE

#: RML22: 2 samples per symbol, symbol time 66.67 us -> 29,998.5 Hz (the model's contract).
SAMPLE_RATE_HZ = RML22_SAMPLE_RATE

# ETU70 (3GPP extended typical urban, 70 Hz Doppler), Rayleigh, as RML22 configured it.
ETU70_DELAYS_NS = (0, 50, 120, 200, 230, 500, 1600, 2300, 5000)
ETU70_GAINS_DB = (-1, -1, -1, 0, 0, 0, -3, -5, -7)
DOPPLER_HZ = 70.0
FADING_SINUSOIDS = 8
FADING_TAPS = 8
RICE_K_FACTOR = 4.0  # unused by a Rayleigh (no line of sight) model, passed as RML22 did
#: Samples the fading model runs before the first sample that is kept, so its tap filter has settled.
FADING_SETTLE = 64

# Clock: a 10 MHz crystal whose frequency error random-walks; the 1 GHz LO and the 100 MHz sample
# clock are derived from it, so their errors are the crystal's times 100 and times 10.
XO_FREQUENCY_HZ = 10e6
XO_STEP_STD_HZ = 1e-4
CARRIER_HZ = 1e9
CONVERTER_CLOCK_HZ = 100e6
CFO_PER_XO_ERROR = CARRIER_HZ / XO_FREQUENCY_HZ  # 100
#: 5 Hz: the crystal error that makes the contract's largest carrier offset (500 Hz) at 1 GHz.
XO_MAX_ERROR_HZ = RML22_MAX_CARRIER_OFFSET / CFO_PER_XO_ERROR
SRO_PER_XO_ERROR = CONVERTER_CLOCK_HZ / XO_FREQUENCY_HZ  # 10: SRO at most 50 Hz on 100 MHz


def reflect_into(values: np.ndarray, bound: float) -> np.ndarray:
    """Fold values into [-bound, bound] as if they bounced off the limits (a triangle wave).

    Folding an unconstrained random walk this way gives exactly a random walk with reflecting
    barriers, which is what lets the clock walk be one cumsum instead of a per-sample loop.
    """
    period = 4.0 * bound
    folded = np.mod(values + bound, period)
    return np.where(folded > 2.0 * bound, period - folded, folded) - bound


def oscillator_error(rng: np.random.Generator, streams: int, samples: int) -> np.ndarray:
    """Crystal frequency error in Hz, [streams, samples]: a random walk kept within +-5 Hz.

    As RML22: a start bias uniform in +-(5 - 1e-4) Hz, then steps of standard deviation 1e-4 Hz per
    sample. RML22 redraws a step that would leave +-5 Hz (a per-sample loop); here the walk is one
    cumulative sum folded back at the limits (reflecting barriers). The two differ only for walks that
    touch a limit, i.e. that start within a few hundredths of a hertz of it (under 1 % of streams),
    and both stay a bounded random walk with the same step statistics.
    """
    bias = rng.uniform(-(XO_MAX_ERROR_HZ - XO_STEP_STD_HZ), XO_MAX_ERROR_HZ - XO_STEP_STD_HZ, (streams, 1))
    steps = rng.standard_normal((streams, samples)) * XO_STEP_STD_HZ
    return reflect_into(bias + np.cumsum(steps, axis=1), XO_MAX_ERROR_HZ)


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    """Running sum along axis 1 that starts at 0 (element n = sum of elements before n)."""
    total = np.cumsum(values, axis=1)
    return np.concatenate([np.zeros_like(total[:, :1]), total[:, :-1]], axis=1)


def interpolate_at(samples: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row of ``samples`` at fractional ``positions`` (same shape).

    Positions outside the row hold the end value. Vectorised equivalent of np.interp per row on the
    real and imaginary parts.
    """
    length = samples.shape[1]
    positions = np.clip(positions, 0.0, length - 1.0)
    left = np.minimum(np.floor(positions).astype(np.int64), length - 2)
    fraction = (positions - left).astype(np.float32)
    x0 = np.take_along_axis(samples, left, axis=1)
    x1 = np.take_along_axis(samples, left + 1, axis=1)
    return (x0 + fraction * (x1 - x0)).astype(np.complex64)


def apply_sample_rate_offset(samples: np.ndarray, xo_error: np.ndarray) -> np.ndarray:
    """Resample each stream at the times a receiver clock with the given error would sample it.

    The converter clock runs fast by SRO = 10 x the crystal error (Hz on 100 MHz), so sample n is
    taken at n + sum_k<n SRO_k / 100 MHz (in samples). As in RML22 the effect is tiny: under 0.01
    sample of drift over a stream; it is kept for fidelity.
    """
    fractional_offset = xo_error * SRO_PER_XO_ERROR / CONVERTER_CLOCK_HZ
    positions = np.arange(samples.shape[1])[None, :] + _exclusive_cumsum(fractional_offset)
    return interpolate_at(samples, positions)


def carrier_phase(xo_error: np.ndarray, sample_rate: float = SAMPLE_RATE_HZ) -> np.ndarray:
    """Phase in radians, [streams, samples], of a carrier offset of CFO = 100 x the crystal error.

    The phase is the integral of the (slowly varying) offset, 2 pi sum_k<n CFO_k Ts, so it stays
    continuous where RML22's exp(j 2 pi CFO_n n Ts) would jump with every change of CFO_n.
    """
    return 2.0 * np.pi / sample_rate * _exclusive_cumsum(xo_error * CFO_PER_XO_ERROR)


def etu70_taps(sample_rate: float = SAMPLE_RATE_HZ) -> tuple[list[float], list[float]]:
    """ETU70 path delays in (fractional) samples and path amplitudes, as selective_fading_model wants."""
    return delay_taps(ETU70_DELAYS_NS, ETU70_GAINS_DB, sample_rate)


def delay_taps(
    delays_ns: Sequence[float], gains_db: Sequence[float], sample_rate: float
) -> tuple[list[float], list[float]]:
    """A delay profile (ns, dB) as path delays in samples and amplitudes."""
    return [delay * 1e-9 * sample_rate for delay in delays_ns], [10 ** (gain / 20.0) for gain in gains_db]


def fade(
    segments: Sequence[np.ndarray], seeds: Sequence[int], sample_rate: float = SAMPLE_RATE_HZ
) -> list[np.ndarray]:
    """Pass each segment through its own ETU70 ``selective_fading_model`` (seeded), one flowgraph."""
    delays, magnitudes = etu70_taps(sample_rate)
    faders = [
        channels.selective_fading_model(
            FADING_SINUSOIDS,
            DOPPLER_HZ / sample_rate,
            False,
            RICE_K_FACTOR,
            int(seed),
            delays,
            magnitudes,
            FADING_TAPS,
        )
        for seed in seeds
    ]
    return run_through(segments, faders)


def run_through(segments: Sequence[np.ndarray], blocks_per_segment: Sequence[gr.basic_block | None]):
    """Each segment through its own block (None: unchanged), all in one flowgraph; the outputs."""
    top = gr.top_block()
    sinks = []
    for segment, block in zip(segments, blocks_per_segment, strict=True):
        sink = blocks.vector_sink_c()
        chain = [blocks.vector_source_c(segment.tolist()), *([block] if block is not None else []), sink]
        top.connect(*chain)
        sinks.append(sink)
    top.run()
    return [np.array(sink.data(), dtype=np.complex64) for sink in sinks]


def fader(
    kind: str,
    doppler_hz: float,
    rician_k: float,
    seed: int,
    profiles: dict[str, tuple[Sequence[float], Sequence[float]]],
    sample_rate: float = SAMPLE_RATE_HZ,
) -> gr.basic_block | None:
    """A fading block: "none" (None), flat "rayleigh" or "rician", or a tapped-delay profile by name.

    ``profiles`` maps a profile name to (delays in ns, powers in dB), e.g. 3GPP's EPA/EVA/ETU.
    """
    doppler = doppler_hz / sample_rate
    if kind == "none":
        return None
    if kind in ("rayleigh", "rician"):
        return channels.fading_model(FADING_SINUSOIDS, doppler, kind == "rician", rician_k, int(seed))
    if kind not in profiles:
        raise ValueError(
            f"unknown fading {kind!r}: choose none, rayleigh, rician or one of {sorted(profiles)}"
        )
    delays, magnitudes = delay_taps(*profiles[kind], sample_rate)
    return channels.selective_fading_model(
        FADING_SINUSOIDS, doppler, False, rician_k, int(seed), delays, magnitudes, FADING_TAPS
    )


def complex_noise(rng: np.random.Generator, shape: tuple[int, ...], power: float) -> np.ndarray:
    """Circular complex Gaussian noise of total power ``power`` (I and Q each ``power / 2``).

    Same statistics as RML22's ``analog.noise_source_c(GR_GAUSSIAN, a)``, whose output has total
    power a**2 (measured: a = 0.5 gives 0.25, 0.125 per component).
    """
    scale = np.sqrt(power / 2.0)
    iq = rng.standard_normal((*shape, 2)) * scale
    return (iq[..., 0] + 1j * iq[..., 1]).astype(np.complex64)
