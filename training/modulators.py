# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ten RML22 modulations, each made by GNU Radio's own blocks, for a batch of streams at once.

A batch's sources (random symbols or bits, or audio excerpts) are concatenated and run through one
modulator flowgraph; the output is then cut back into one row per stream. The few samples at each cut
where one stream's filter memory spills into the next fall in the 1000 samples RML22 drops from the
start of every stream, so the kept samples are those of independent streams.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from gnuradio import analog, blocks, digital, filter, gr
from gnuradio.eeamc.contract import RML22_ROLLOFF

# RML22's modulator settings, constellations and pulse shaper: one definition, in the installed module
# (its synthetic band makes its signals the same way; it cannot import training, so they live there).
from gnuradio.eeamc.synthetic_band import (
    AM_CARRIER_LEVEL,
    AUDIO_RATE_HZ,
    CONSTELLATIONS,
    CPFSK_INDEX,
    GFSK_BT,
    GFSK_SENSITIVITY,
    RRC_FILTERS,
    RRC_SPAN_SYMBOLS,
    SAMPLES_PER_SYMBOL,
    WBFM_DEVIATION_HZ,
    WBFM_TAU_S,
    rrc_shaper,
    unit_energy,
)
from gnuradio.filter import firdes, pfb

from training import robust
from training.channel import SAMPLE_RATE_HZ

#: The RRC roll-off (what generate records).
EXCESS_BANDWIDTH = RML22_ROLLOFF
#: Extra source items after the last stream so filter delays never leave the last row short.
TAIL_PADDING = 64
#: The robust profile's FSK classes are modulated at this many samples per symbol, then resampled to the
#: drawn (fractional) rate: GNU Radio's FSK modulators take whole samples per symbol.
FSK_OVERSAMPLING = 4


def _run(source: gr.basic_block, chain: list[gr.basic_block]) -> np.ndarray:
    """Run source -> chain -> vector sink to completion and return the complex output."""
    top = gr.top_block()
    sink = blocks.vector_sink_c()
    top.connect(source, *chain, sink)
    top.run()
    return np.array(sink.data(), dtype=np.complex64)


class Modulator(ABC):
    """One modulation class: draws a batch's source, runs GNU Radio, returns [streams, samples]."""

    name: str
    uses_audio = False

    @abstractmethod
    def output_length(self, stream_items: int) -> int:
        """Complex samples one stream of ``stream_items`` source items becomes."""

    @abstractmethod
    def _source(self, rng: np.random.Generator, streams: int, stream_items: int, audio: np.ndarray | None):
        """The GNU Radio source block for ``streams`` concatenated streams (plus tail padding)."""

    @abstractmethod
    def _chain(self) -> list[gr.basic_block]:
        """Fresh modulator blocks, source -> complex baseband at the channel's sample rate."""

    def _chain_for(self, draw: robust.StreamDraw) -> list[gr.basic_block]:
        """Modulator blocks with one stream's drawn parameters (the robust profile)."""
        raise NotImplementedError(f"{self.name} has no robust-profile parameters")

    def _stream_source(
        self, rng: np.random.Generator, draw: robust.StreamDraw, stream_items: int, audio: np.ndarray | None
    ) -> gr.basic_block:
        return self._source(rng, 1, stream_items, audio)

    def modulate_each(
        self,
        rng: np.random.Generator,
        draws: list[robust.StreamDraw],
        stream_items: int,
        length: int,
        audio: np.ndarray | None = None,
    ) -> np.ndarray:
        """One stream per draw, each with its own parameters, in one flowgraph: complex64 [streams, length].

        Each stream has its own source and chain, so parameters can differ per stream."""
        top = gr.top_block()
        sinks = []
        for draw in draws:
            sink = blocks.vector_sink_c()
            top.connect(self._stream_source(rng, draw, stream_items, audio), *self._chain_for(draw), sink)
            sinks.append(sink)
        top.run()
        rows = [np.array(sink.data(), dtype=np.complex64) for sink in sinks]
        short = [row.shape[0] for row in rows if row.shape[0] < length]
        if short:  # a drawn rate below the profile's minimum would mean a bug in the draw: fail loudly
            raise RuntimeError(f"{self.name}: a stream gave {min(short)} samples, {length} needed")
        return np.stack([row[:length] for row in rows])

    def _row_starts(self, streams: int, stream_items: int) -> np.ndarray:
        return np.arange(streams) * self.output_length(stream_items)

    def modulate(
        self, rng: np.random.Generator, streams: int, stream_items: int, audio: np.ndarray | None = None
    ) -> np.ndarray:
        """Modulate ``streams`` independent streams; complex64 [streams, output_length]."""
        output = _run(self._source(rng, streams, stream_items, audio), self._chain())
        length = self.output_length(stream_items)
        starts = self._row_starts(streams, stream_items)
        if starts[-1] + length > output.shape[0]:  # would mean a block changed its rate: fail loudly
            raise RuntimeError(f"{self.name}: modulator gave {output.shape[0]} samples, expected more")
        return output[starts[:, None] + np.arange(length)[None, :]]


class ConstellationModulator(Modulator):
    """Random symbols -> ``chunks_to_symbols_bc`` -> RRC resampler (BPSK ... QAM64, PAM4)."""

    def __init__(self, name: str, constellation: digital.constellation):
        self.name = name
        self.points = unit_energy(constellation.points())
        self.bits_per_symbol = int(np.log2(len(self.points)))

    def symbols_per_stream(self, stream_items: int) -> int:
        # RML22's source items are bits; a symbol carries bits_per_symbol of them.
        return stream_items // self.bits_per_symbol

    def output_length(self, stream_items: int) -> int:
        return self.symbols_per_stream(stream_items) * SAMPLES_PER_SYMBOL

    def _source(self, rng, streams, stream_items, audio):
        count = streams * self.symbols_per_stream(stream_items) + TAIL_PADDING
        symbols = rng.integers(0, len(self.points), count, dtype=np.uint8)
        return blocks.vector_source_b(symbols.tolist())

    def _chain(self):
        return [digital.chunks_to_symbols_bc(self.points), rrc_shaper()]

    def _chain_for(self, draw):
        # One polyphase resampler is both the pulse shaper (the drawn pulse) and the fractional rate.
        rate = draw.samples_per_symbol * draw.sample_rate_ratio
        return [
            digital.chunks_to_symbols_bc(self.points),
            filter.pfb_arb_resampler_ccf(rate, pulse_taps(draw), RRC_FILTERS),
        ]


class GfskModulator(Modulator):
    """Random packed bytes -> ``digital.gfsk_mod(2, 1.57, 0.3)`` (one bit per 2 samples)."""

    name = "GFSK"

    def output_length(self, stream_items: int) -> int:
        return (stream_items // 8) * 8 * SAMPLES_PER_SYMBOL

    def _source(self, rng, streams, stream_items, audio):
        packed = rng.integers(0, 256, streams * (stream_items // 8) + TAIL_PADDING, dtype=np.uint8)
        return blocks.vector_source_b(packed.tolist())

    def _chain(self):
        return [digital.gfsk_mod(SAMPLES_PER_SYMBOL, GFSK_SENSITIVITY, GFSK_BT)]

    def _chain_for(self, draw):
        # gfsk_mod's sensitivity is the phase step per sample of a +-1 symbol: pi h / samples per symbol.
        sensitivity = np.pi * draw.fsk_index / FSK_OVERSAMPLING
        return [digital.gfsk_mod(FSK_OVERSAMPLING, sensitivity, draw.gfsk_bt), fractional_resampler(draw)]


class CpfskModulator(Modulator):
    """Random bits -> ``analog.cpfsk_bc(0.5, 1.0, 2)``."""

    name = "CPFSK"

    def output_length(self, stream_items: int) -> int:
        return stream_items * SAMPLES_PER_SYMBOL

    def _source(self, rng, streams, stream_items, audio):
        bits = rng.integers(0, 2, streams * stream_items + TAIL_PADDING, dtype=np.uint8)
        return blocks.vector_source_b(bits.tolist())

    def _chain(self):
        return [analog.cpfsk_bc(CPFSK_INDEX, 1.0, SAMPLES_PER_SYMBOL)]

    def _chain_for(self, draw):
        return [analog.cpfsk_bc(draw.fsk_index, 1.0, FSK_OVERSAMPLING), fractional_resampler(draw)]


class AudioModulator(Modulator):
    """Base for the analog classes: each stream is an audio excerpt from a random place."""

    uses_audio = True

    def _source(self, rng, streams, stream_items, audio):
        if audio is None or audio.shape[0] <= stream_items:
            raise ValueError(f"{self.name} needs an audio source longer than {stream_items} samples")
        starts = rng.integers(0, audio.shape[0] - stream_items, streams)
        excerpts = audio[starts[:, None] + np.arange(stream_items)[None, :]].reshape(-1)
        return _audio_block(excerpts)

    def _stream_source(self, rng, draw, stream_items, audio):
        if draw.audio == "programme":
            return self._source(rng, 1, stream_items, audio)
        return _audio_block(robust.synthetic_audio(draw.audio, stream_items, rng))


class WbfmModulator(AudioModulator):
    """Audio -> ``analog.wfm_tx(44100, 44100, 75e-6, 75e3)``.

    As in RML22 the output stays at 44.1 kHz (its quadrature rate was ceil(fs / 44.1 kHz) x 44.1 kHz
    = 44.1 kHz) and is then treated as samples at the channel rate; nothing resamples it.
    """

    name = "WBFM"

    def output_length(self, stream_items: int) -> int:
        return stream_items

    def _chain(self):
        return [analog.wfm_tx(AUDIO_RATE_HZ, AUDIO_RATE_HZ, WBFM_TAU_S, WBFM_DEVIATION_HZ)]

    def _chain_for(self, draw):
        wfm = analog.wfm_tx(AUDIO_RATE_HZ, AUDIO_RATE_HZ, WBFM_TAU_S, draw.wbfm_deviation_hz)
        return [wfm, pfb.arb_resampler_ccf(draw.sample_rate_ratio)]


class AmDsbModulator(AudioModulator):
    """Audio -> ``mmse_resampler_ff(0, 44100 / fs)`` to the channel rate -> complex, + 1.0 carrier.

    RML22 also multiplied by a 0 Hz carrier (a constant 1); that identity is left out.
    """

    name = "AM-DSB"

    def output_length(self, stream_items: int) -> int:
        return int(stream_items * SAMPLE_RATE_HZ / AUDIO_RATE_HZ)

    def _row_starts(self, streams, stream_items):
        # The resampler's output per stream is fractional; cut where each stream's audio begins.
        return np.floor(np.arange(streams) * stream_items * SAMPLE_RATE_HZ / AUDIO_RATE_HZ).astype(np.int64)

    def _chain(self):
        return [
            filter.mmse_resampler_ff(0.0, AUDIO_RATE_HZ / SAMPLE_RATE_HZ),
            blocks.float_to_complex(),
            blocks.add_const_cc(AM_CARRIER_LEVEL),
        ]

    def _chain_for(self, draw):
        return [
            filter.mmse_resampler_ff(0.0, AUDIO_RATE_HZ / SAMPLE_RATE_HZ / draw.sample_rate_ratio),
            blocks.multiply_const_ff(draw.am_depth / robust.AUDIO_PEAK),
            blocks.float_to_complex(),
            blocks.add_const_cc(AM_CARRIER_LEVEL),
        ]


def pulse_taps(draw: robust.StreamDraw) -> list[float]:
    """The drawn pulse as a polyphase prototype (RRC_FILTERS samples per symbol, RRC's span): root-raised
    or raised cosine of the drawn roll-off, or a Gaussian of the drawn BT; all with the same DC gain."""
    count = RRC_FILTERS * RRC_SPAN_SYMBOLS * SAMPLES_PER_SYMBOL
    if draw.pulse == "rrc":
        return list(firdes.root_raised_cosine(RRC_FILTERS, RRC_FILTERS, 1.0, draw.rolloff, count))
    if draw.pulse == "gaussian":
        return list(firdes.gaussian(RRC_FILTERS, RRC_FILTERS, draw.gaussian_pulse_bt, count))
    if draw.pulse == "rc":
        return list(raised_cosine(draw.rolloff, count) * RRC_FILTERS)
    raise ValueError(f"unknown pulse {draw.pulse!r}: choose from {list(robust.PULSE_CHOICES)}")


def raised_cosine(rolloff: float, count: int) -> np.ndarray:
    """Raised-cosine taps at RRC_FILTERS samples per symbol, centred, summing to 1."""
    t = (np.arange(count) - (count - 1) / 2) / RRC_FILTERS  # in symbols
    denominator = 1 - (2 * rolloff * t) ** 2
    at_pole = np.isclose(denominator, 0.0)
    h = np.sinc(t) * np.cos(np.pi * rolloff * t) / np.where(at_pole, 1.0, denominator)
    h[at_pole] = np.pi / 4 * np.sinc(1 / (2 * rolloff))
    return h / np.sum(h)


def fractional_resampler(draw: robust.StreamDraw) -> gr.hier_block2:
    """From FSK_OVERSAMPLING samples per symbol to the drawn rate (and its sample-rate offset)."""
    return pfb.arb_resampler_ccf(draw.samples_per_symbol * draw.sample_rate_ratio / FSK_OVERSAMPLING)


def _audio_block(samples: np.ndarray) -> gr.basic_block:
    padded = np.concatenate([np.asarray(samples, np.float32).reshape(-1), np.zeros(TAIL_PADDING, np.float32)])
    return blocks.vector_source_f(padded.tolist())


def make_modulator(name: str) -> Modulator:
    """The modulator for an RML22 class name (``ValueError`` naming the valid ones otherwise)."""
    if name in CONSTELLATIONS:
        return ConstellationModulator(name, CONSTELLATIONS[name]())
    others = {"GFSK": GfskModulator, "CPFSK": CpfskModulator, "WBFM": WbfmModulator, "AM-DSB": AmDsbModulator}
    if name in others:
        return others[name]()
    raise ValueError(f"unknown modulation {name!r}: use one of {sorted([*CONSTELLATIONS, *others])}")
