# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A synthetic radio band that knows its own truth: ``eeamc.synthetic_band``, a source for the scanner.

What an RTL-SDR would hand the scanner, made from GNU Radio's own blocks: several signals of the
model's classes at different frequencies and powers in one wideband complex stream, some appearing and
disappearing on a deterministic schedule, a frequency error common to all of them (a crystal's), a DC
spike at 0 Hz and white noise. Each signal is modulated as the model's training data were (RML22's
recipe, see training/modulators.py: RRC roll-off 0.35 at 2 samples/symbol, Gray constellations, GFSK
and CPFSK at 2 samples/symbol, WBFM and AM-DSB carrying audio) at the model's sample rate times its
``symbol_rate_scale``, scaled to its SNR, gated by its schedule, resampled into the band
(``pfb.arb_resampler_ccf``) and rotated to its frequency:

    symbols/audio -> modulator -> gain -> x gate -> resample to samp_rate -> rotate -+
                                                              ... one per signal ... +-> sum -> + DC
                                                                  white noise -------+

Because it built the band, the block can say, for any stretch of its output, which signals are on and
where (``truth(offset, count)``): the examples and tests score the scanner against that. The same
``seed`` gives the same samples (to float rounding: VOLK's aligned and unaligned dot products, picked by
where work() calls split the stream, can differ in the last bit of a few samples in 10^4). The
installed module cannot import ``training``, so the streaming modulator chains live here; their
constants are RML22's and come from the contract where it has them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from gnuradio import analog, blocks, digital, filter, gr
from gnuradio.digital import qam
from gnuradio.filter import firdes, pfb

from .contract import RML22_CONTRACT, RML22_ROLLOFF, RML22_SAMPLE_RATE, RML22_SAMPLES_PER_SYMBOL

# RML22's modulator settings: the one definition, which training/modulators.py (the training-set generator)
# imports too, so the band's signals are made exactly as the model's training data were.
SAMPLES_PER_SYMBOL = int(RML22_SAMPLES_PER_SYMBOL)
RRC_FILTERS = 32
RRC_SPAN_SYMBOLS = 11
GFSK_SENSITIVITY = 1.57
GFSK_BT = 0.3
CPFSK_INDEX = 0.5
AUDIO_RATE_HZ = 44100
WBFM_TAU_S = 75e-6
WBFM_DEVIATION_HZ = 75e3
AM_CARRIER_LEVEL = 1.0

# The programme the analog signals carry: a chord whose loudness swells slowly, over band-limited
# noise (breath, hiss), at about the speech level of the training audio (RMS ~0.1).
AUDIO_CHORD_HZ = (262.0, 330.0, 392.0, 1047.0)
AUDIO_TONE_AMPLITUDE = 0.08
AUDIO_SWELL_HZ = 0.7
AUDIO_NOISE_RMS = 0.03
AUDIO_NOISE_CUTOFF_HZ = 3000.0

# Resampling into the band: the middle rate is at least IMAGE_MARGIN x the signal's, pfb's
# resampler lets through up to PFB_STOPBAND x the signal's rate, the interpolator's images are
# IMAGE_REJECTION_DB down.
IMAGE_MARGIN = 4
PFB_STOPBAND = 0.6
IMAGE_REJECTION_DB = 80

#: Samples in the noise source's pool.
NOISE_POOL = 1 << 18

#: Longest gate period in samples (the on/off pattern of one period is held in memory).
MAX_GATE_PERIOD_SAMPLES = 1 << 24


@dataclass(frozen=True)
class SignalSpec:
    """One signal of the band.

    ``freq_offset`` is the nominal centre in Hz from the band's centre (the band's ``freq_error`` is
    added to it); ``snr_db`` is its power over the noise power in its own bandwidth (the model's
    occupied bandwidth times ``symbol_rate_scale``). ``symbol_rate_scale`` multiplies the model's
    symbol (and sample) rate: 2.0 is a signal twice as fast and twice as wide. The schedule: off before
    ``start_s``, then on for ``duty`` of every ``period_s`` seconds (``period_s`` 0 = on for good).
    """

    label: str
    freq_offset: float
    snr_db: float
    symbol_rate_scale: float = 1.0
    start_s: float = 0.0
    period_s: float = 0.0
    duty: float = 1.0

    @property
    def rate(self) -> float:
        """The signal's own sample rate (the model's rate times its scale)."""
        return RML22_SAMPLE_RATE * self.symbol_rate_scale

    @property
    def bandwidth(self) -> float:
        """Occupied bandwidth in Hz: the model's, scaled with the symbol rate."""
        return RML22_CONTRACT.occupied_bandwidth * self.symbol_rate_scale


@dataclass(frozen=True)
class TrueSignal:
    """What is on the air: signal ``index`` of the band, its true centre (freq_error included)."""

    index: int
    label: str
    centre: float
    bandwidth: float
    snr_db: float
    coverage: float  # share of the asked-for samples during which it is on, (0, 1]


#: About six signals across an RTL-SDR's 2.4 MHz, of classes the shipped model gets right 99-100 % of
#: the time at >= 10 dB (BPSK, CPFSK, AM-DSB, GFSK, PAM4; QPSK 81 %: reports/eval/v1_joint/Tcal),
#: at different powers, one twice as fast as the model's rate, two that come and go.
DEFAULT_SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec("BPSK", -900e3, 20.0),
    SignalSpec("GFSK", -560e3, 18.0, start_s=0.5, period_s=4.0, duty=0.5),
    SignalSpec("AM-DSB", -250e3, 24.0),
    SignalSpec("CPFSK", 310e3, 16.0),
    SignalSpec("PAM4", 640e3, 22.0, start_s=2.0),
    SignalSpec("QPSK", 960e3, 20.0, symbol_rate_scale=2.0),
)


# ---------------------------------------------------------------------------------------------------
# Modulators: (source, chain, output power) per class, at the signal's own rate
# ---------------------------------------------------------------------------------------------------


def unit_energy(points: Sequence[complex]) -> list[complex]:
    """Scale constellation points to mean energy 1 (GNU Radio's QPSK and QAM64 are not)."""
    array = np.asarray(points, dtype=np.complex128)
    return list(array / np.sqrt(np.mean(np.abs(array) ** 2)))


def gray_pam4() -> digital.constellation:
    """PAM4 as a real 4-level Gray-mapped constellation: values 0,1,3,2 -> -3,-1,+1,+3."""
    levels = {0: -3.0, 1: -1.0, 3: 1.0, 2: 3.0}
    return digital.constellation_calcdist([complex(levels[v]) for v in range(4)], [], 2, 1)


CONSTELLATIONS = {
    "BPSK": digital.constellation_bpsk,
    "QPSK": digital.constellation_qpsk,
    "8PSK": digital.constellation_8psk,
    "QAM16": digital.constellation_16qam,
    "QAM64": lambda: qam.qam_constellation(64, differential=False, mod_code=digital.mod_codes.GRAY_CODE),
    "PAM4": gray_pam4,
}
ANALOG_CLASSES = ("WBFM", "AM-DSB")
LABELS = (*CONSTELLATIONS, "GFSK", "CPFSK", *ANALOG_CLASSES)


def rrc_taps() -> list[float]:
    """RML22's pulse: RRC roll-off 0.35 over 11 symbols for a 32-arm polyphase resampler."""
    return list(
        firdes.root_raised_cosine(
            RRC_FILTERS, RRC_FILTERS, 1.0, RML22_ROLLOFF, RRC_FILTERS * RRC_SPAN_SYMBOLS * SAMPLES_PER_SYMBOL
        )
    )


def rrc_shaper() -> filter.pfb_arb_resampler_ccf:
    """RML22's pulse shaper: the RRC taps in a 32-arm polyphase resampler to 2 samples/symbol."""
    return filter.pfb_arb_resampler_ccf(SAMPLES_PER_SYMBOL, rrc_taps(), RRC_FILTERS)


def rrc_output_power(taps: Sequence[float]) -> float:
    """Mean power out of the RRC resampler for unit-energy i.i.d. symbols.

    Output sample n comes from arm (n x 32 / sps) mod 32, which weights the symbols by that arm's
    taps; its power is the sum of their squares, averaged over the arms the outputs use.
    """
    array = np.asarray(taps, dtype=np.float64)
    arms = [array[arm::RRC_FILTERS] for arm in range(0, RRC_FILTERS, RRC_FILTERS // SAMPLES_PER_SYMBOL)]
    return float(np.mean([np.sum(arm**2) for arm in arms]))


class AudioSource(gr.hier_block2):  # an internal part of the band, not a block of its own in GRC
    """Mono programme audio at 44.1 kHz from GNU Radio blocks: a swelling chord over band-limited noise."""

    def __init__(self, seed: int):
        gr.hier_block2.__init__(
            self, "eeamc_audio_source", gr.io_signature(0, 0, 0), gr.io_signature(1, 1, 4)
        )
        chord = blocks.add_ff()
        for port, tone_hz in enumerate(AUDIO_CHORD_HZ):
            tone = analog.sig_source_f(AUDIO_RATE_HZ, analog.GR_COS_WAVE, tone_hz, AUDIO_TONE_AMPLITUDE)
            self.connect(tone, (chord, port))
        # Loudness between 0 and 1, a swell every 1/0.7 s.
        swell = analog.sig_source_f(AUDIO_RATE_HZ, analog.GR_COS_WAVE, AUDIO_SWELL_HZ, 0.5, 0.5)
        loud_chord = blocks.multiply_ff()
        self.connect(chord, (loud_chord, 0))
        self.connect(swell, (loud_chord, 1))
        taps = self.noise_taps()
        noise_gain = AUDIO_NOISE_RMS / math.sqrt(float(np.sum(np.square(taps))))
        noise = analog.noise_source_f(analog.GR_GAUSSIAN, noise_gain, seed)
        hiss = filter.fir_filter_fff(1, taps)
        programme = blocks.add_ff()
        self.connect(noise, hiss, (programme, 0))
        self.connect(loud_chord, (programme, 1))
        self.connect(programme, self)

    @staticmethod
    def noise_taps() -> list[float]:
        return list(firdes.low_pass(1.0, AUDIO_RATE_HZ, AUDIO_NOISE_CUTOFF_HZ, AUDIO_NOISE_CUTOFF_HZ / 3))

    @staticmethod
    def mean_square() -> float:
        """The programme's mean square (what AM-DSB adds to its carrier's power)."""
        swell_mean_square = 0.5**2 + 0.5**2 / 2
        chord = len(AUDIO_CHORD_HZ) * AUDIO_TONE_AMPLITUDE**2 / 2 * swell_mean_square
        return chord + AUDIO_NOISE_RMS**2


def modulator(label: str, rate: float, seeds: tuple[int, int]) -> tuple[list[gr.basic_block], float]:
    """GNU Radio blocks source -> ... -> complex baseband at ``rate``, and that output's mean power.

    As in RML22, every class is made at 2 samples per symbol and its samples are then taken to be at
    the signal's rate; the analog classes' audio is at 44.1 kHz (WBFM's output stays at 44.1 kHz
    samples, read as samples at ``rate``; AM-DSB's audio is resampled to ``rate``).
    """
    symbols_seed, audio_seed = seeds
    if label in CONSTELLATIONS:
        points = unit_energy(CONSTELLATIONS[label]().points())
        source = analog.random_uniform_source_b(0, len(points), symbols_seed)
        return [source, digital.chunks_to_symbols_bc(points), rrc_shaper()], rrc_output_power(rrc_taps())
    if label == "GFSK":
        source = analog.random_uniform_source_b(0, 256, symbols_seed)  # packed bytes
        return [source, digital.gfsk_mod(SAMPLES_PER_SYMBOL, GFSK_SENSITIVITY, GFSK_BT)], 1.0
    if label == "CPFSK":
        source = analog.random_uniform_source_b(0, 2, symbols_seed)
        return [source, analog.cpfsk_bc(CPFSK_INDEX, 1.0, SAMPLES_PER_SYMBOL)], 1.0
    if label == "WBFM":
        fm = analog.wfm_tx(AUDIO_RATE_HZ, AUDIO_RATE_HZ, WBFM_TAU_S, WBFM_DEVIATION_HZ)
        return [AudioSource(audio_seed), fm], 1.0
    if label == "AM-DSB":
        chain = [
            AudioSource(audio_seed),
            filter.mmse_resampler_ff(0.0, AUDIO_RATE_HZ / rate),
            blocks.float_to_complex(),
            blocks.add_const_cc(AM_CARRIER_LEVEL),
        ]
        return chain, AM_CARRIER_LEVEL**2 + AudioSource.mean_square()
    raise ValueError(f"unknown signal label {label!r}: use one of {list(LABELS)}")


# ---------------------------------------------------------------------------------------------------
# Schedules: the gate in the flowgraph and the truth come from the same integer sample counts
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateSamples:
    """A schedule in samples of the signal's own rate: off for ``start``, then ``on`` of every ``period``."""

    start: int
    period: int  # 0 = on for good after start
    on: int

    @classmethod
    def of(cls, spec: SignalSpec) -> GateSamples:
        period = round(spec.period_s * spec.rate)
        return cls(round(spec.start_s * spec.rate), period, round(spec.duty * period))

    def on_before(self, n: np.ndarray | float) -> np.ndarray:
        """Samples on in [0, n) (n may be fractional: linear within a sample)."""
        since = np.maximum(np.asarray(n, dtype=np.float64) - self.start, 0.0)
        if self.period == 0:
            return since
        periods = np.floor(since / self.period)
        return periods * self.on + np.minimum(since - periods * self.period, self.on)


def gate_blocks(spec: SignalSpec) -> list[gr.basic_block]:
    """A complex 0/1 stream at the signal's rate that follows its schedule (empty when always on)."""
    gate = GateSamples.of(spec)
    if gate.start == 0 and (gate.period == 0 or gate.on == gate.period):
        return []
    if gate.period > MAX_GATE_PERIOD_SAMPLES:
        raise ValueError(
            f"{spec.label} at {spec.freq_offset:g} Hz: period_s {spec.period_s} is too long "
            f"({gate.period} samples, at most {MAX_GATE_PERIOD_SAMPLES}); use a shorter period"
        )
    if gate.period == 0:
        pattern: gr.basic_block = analog.sig_source_c(spec.rate, analog.GR_CONST_WAVE, 0.0, 1.0)
    else:
        pattern = blocks.vector_source_c([1.0] * gate.on + [0.0] * (gate.period - gate.on), True)
    return [pattern, blocks.delay(gr.sizeof_gr_complex, gate.start)] if gate.start else [pattern]


def as_spec(value: SignalSpec | Sequence | dict) -> SignalSpec:
    """A SignalSpec from itself, a tuple of its fields in order, or a dict of them (as GRC gives)."""
    if isinstance(value, SignalSpec):
        return value
    try:
        return SignalSpec(**value) if isinstance(value, dict) else SignalSpec(*value)
    except TypeError as error:
        raise TypeError(
            "a signal must be an eeamc.SignalSpec or a tuple (label, freq_offset, snr_db, symbol_rate_scale, "
            f"start_s, period_s, duty) with at least the first three, got {value!r}: {error}"
        ) from None


def check_spec(spec: SignalSpec, samp_rate: float, freq_error: float) -> None:
    """Refuse a signal that does not fit the band or has an impossible schedule, saying why."""
    where = f"signal {spec.label} at {spec.freq_offset:g} Hz"
    if spec.label not in LABELS:
        raise ValueError(f"{where}: unknown label; use one of {list(LABELS)}")
    if not spec.symbol_rate_scale > 0:
        raise ValueError(f"{where}: symbol_rate_scale must be > 0, got {spec.symbol_rate_scale}")
    if spec.rate > samp_rate:
        raise ValueError(f"{where}: its rate {spec.rate:g} S/s exceeds samp_rate {samp_rate:g}")
    edge = abs(spec.freq_offset + freq_error) + spec.bandwidth / 2
    if edge > samp_rate / 2:
        raise ValueError(
            f"{where}: reaches {edge:g} Hz from the centre, outside the band (+-{samp_rate / 2:g} Hz); "
            "move it inwards or raise samp_rate"
        )
    if spec.start_s < 0 or spec.period_s < 0 or not 0 < spec.duty <= 1:
        raise ValueError(
            f"{where}: schedule needs start_s >= 0, period_s >= 0 and 0 < duty <= 1, "
            f"got {spec.start_s}, {spec.period_s}, {spec.duty}"
        )
    if not math.isfinite(spec.snr_db):
        raise ValueError(f"{where}: snr_db must be a finite number, got {spec.snr_db}")


def into_band(rate: float, samp_rate: float) -> tuple[list[gr.basic_block], float]:
    """Blocks that resample a signal at ``rate`` to ``samp_rate``, and their delay in output samples.

    One ``pfb.arb_resampler_ccf`` straight to 2.4 MS/s costs ~0.7 s of CPU per second of band (two
    26-tap filters per output sample, in Python-sized calls). Instead it resamples to
    ``samp_rate / L`` (at least ``IMAGE_MARGIN`` times ``rate``), and a polyphase FIR interpolates
    by the integer L: ~0.05 s per second (measured on the 2-core CI machine).
    """
    interpolation = max(1, int(samp_rate / (IMAGE_MARGIN * rate)))
    middle_rate = samp_rate / interpolation
    # pfb's own design for the ratio: unit gain, passband 0.4 and stop band 0.6 of the signal's rate.
    resampler = pfb.arb_resampler_ccf(middle_rate / rate, flt_size=RRC_FILTERS)
    delay = float(resampler.pfb.group_delay()) * interpolation
    if interpolation == 1:
        return [resampler], delay
    # Keep what pfb passed (up to 0.6 x rate), reject the images from middle_rate - 0.6 x rate on.
    passband = PFB_STOPBAND * rate
    taps = firdes.low_pass_2(
        interpolation, samp_rate, middle_rate / 2, middle_rate - 2 * passband, IMAGE_REJECTION_DB
    )
    return [resampler, filter.interp_fir_filter_ccf(interpolation, taps)], delay + (len(taps) - 1) / 2


def derived_seeds(seed: int, index: int) -> tuple[int, int]:
    """Two non-zero 31-bit seeds for signal ``index`` (GNU Radio takes seed 0 to mean 'from the clock')."""
    state = np.random.SeedSequence([seed, index]).generate_state(2)
    return tuple(int(value) % (2**31 - 1) + 1 for value in state)


class synthetic_band(gr.hier_block2):  # noqa: N801 (GNU Radio's block naming)
    """A wideband complex source: ``signals`` (default ``DEFAULT_SIGNALS``) over white noise.

    ``samp_rate``: the band's rate (2.4 MS/s, as an RTL-SDR). ``freq_error``: Hz added to every
    signal's centre (a receiver crystal's error). ``noise_power_db``: the white noise's total power
    (dB re 1, i.e. re full scale). ``dc_spike_db``: a DC line at 0 Hz, its power in dB re the noise's
    total power (``None``: no spike). ``seed``: the same seed gives the same samples. ``signals`` may
    also be tuples of ``SignalSpec``'s fields (as GRC, which may not import gnuradio.eeamc, gives).
    """

    def __init__(
        self,
        samp_rate: float = 2.4e6,
        signals: Sequence[SignalSpec] | None = None,
        freq_error: float = 3e3,
        noise_power_db: float = -30.0,
        dc_spike_db: float | None = -10.0,
        seed: int = 0,
    ):
        gr.hier_block2.__init__(
            self,
            "eeamc_synthetic_band",
            gr.io_signature(0, 0, 0),
            gr.io_signature(1, 1, gr.sizeof_gr_complex),
        )
        if not samp_rate > 0:
            raise ValueError(f"samp_rate must be > 0, got {samp_rate}")
        self.samp_rate = float(samp_rate)
        self.freq_error = float(freq_error)
        self.signals = tuple(as_spec(spec) for spec in (DEFAULT_SIGNALS if signals is None else signals))
        for spec in self.signals:
            check_spec(spec, self.samp_rate, self.freq_error)
        self.noise_power = 10 ** (noise_power_db / 10)
        self._delays: list[float] = []

        # Sum of the signals and the noise, then the DC spike (the receiver's, so not shifted).
        total = blocks.add_vcc(1)
        for port, spec in enumerate(self.signals):
            self.connect(self._signal_path(port, spec, derived_seeds(seed, port)), (total, port))
        noise_seed = derived_seeds(seed, len(self.signals))[0]
        # fastnoise (draws from a seeded pool of Gaussian samples): 0.08 s of CPU per second at 2.4 MS/s,
        # noise_source_c 0.3 s.
        noise = analog.fastnoise_source_c(
            analog.GR_GAUSSIAN, math.sqrt(self.noise_power), noise_seed, NOISE_POOL
        )
        self.connect(noise, (total, len(self.signals)))
        if dc_spike_db is None:
            self.connect(total, self)
        else:
            dc = math.sqrt(self.noise_power * 10 ** (dc_spike_db / 10))
            self.connect(total, blocks.add_const_cc(dc), self)

    def _signal_path(self, port: int, spec: SignalSpec, seeds: tuple[int, int]) -> gr.basic_block:
        """Wire one signal's chain; returns its last block (complex at samp_rate, at its frequency)."""
        chain, power = modulator(spec.label, spec.rate, seeds)
        # SNR in its own bandwidth: the noise there is noise_power x bandwidth / samp_rate.
        wanted = 10 ** (spec.snr_db / 10) * self.noise_power * spec.bandwidth / self.samp_rate
        chain.append(blocks.multiply_const_cc(math.sqrt(wanted / power)))
        gate = gate_blocks(spec)
        if gate:
            switch = blocks.multiply_cc()
            self.connect(*chain, (switch, 0))
            self.connect(*gate, (switch, 1))
            chain = [switch]
        resampler, delay = into_band(spec.rate, self.samp_rate)
        self._delays.append(delay)
        centre = spec.freq_offset + self.freq_error
        # An oscillator times the signal rather than rotator_cc: the rotator's float phase renormalises
        # at work() boundaries, so its output differs in the last bits from run to run.
        carrier = analog.sig_source_c(self.samp_rate, analog.GR_COS_WAVE, centre, 1.0)
        shift = blocks.multiply_cc()
        self.connect(*chain, *resampler, (shift, 0))
        self.connect(carrier, (shift, 1))
        return shift

    def truth(self, offset: int, count: int = 1) -> list[TrueSignal]:
        """The signals on during output samples [offset, offset + count), with their share of it."""
        if count < 1 or offset < 0:
            raise ValueError(f"truth needs offset >= 0 and count >= 1, got {offset}, {count}")
        found = []
        for index, spec in enumerate(self.signals):
            # Output sample k is the signal's own sample (k - resampler delay) x rate / samp_rate.
            scale = spec.rate / self.samp_rate
            first, last = (np.array([offset, offset + count]) - self._delays[index]) * scale
            on = GateSamples.of(spec).on_before(np.array([first, last]))
            coverage = float(on[1] - on[0]) / ((last - first) or 1.0)
            if coverage > 0:
                centre = spec.freq_offset + self.freq_error
                found.append(
                    TrueSignal(index, spec.label, centre, spec.bandwidth, spec.snr_db, min(coverage, 1.0))
                )
        return found

    def active(self, offset: int) -> list[TrueSignal]:
        """The signals on at output sample ``offset``."""
        return self.truth(offset, 1)


def record(seconds: float, samp_rate: float = 2.4e6, **kwargs) -> tuple[np.ndarray, synthetic_band]:
    """The first ``seconds`` of a band (``synthetic_band(samp_rate, **kwargs)``) as complex64 samples,
    and the band itself (its truth): for tests, scripts and recordings made without GRC."""
    band = synthetic_band(samp_rate=samp_rate, **kwargs)
    top = gr.top_block()
    sink = blocks.vector_sink_c()
    top.connect(band, blocks.head(gr.sizeof_gr_complex, int(seconds * samp_rate)), sink)
    top.run()
    return np.array(sink.data(), dtype=np.complex64), band
