# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""From a wideband stream to channels the model can classify: detection and channelisation in numpy.

No GNU Radio here: the blocks (``signal_detector``, ``multi_channel_classifier`` and the hier blocks
``scanner`` and ``channel_classifier`` built from them) call these pieces, and tests use them directly.

- Detection: a Welch power spectrum, a noise floor from its median, runs of bins above it become
  ``Detection`` records (centre, bandwidth above the noise, SNR in that bandwidth); ``ChannelTracker`` gives
  them ids that stay the same while a signal lasts.
- Channelisation: ``OverlapSaveBank`` takes one FFT per block of the input, and each ``ChannelPath``
  picks its bins from it: mixing to 0 Hz, filtering, decimation and resampling to the channel's rate in
  one step (a fast-convolution filter bank, so channels cost a small inverse FFT each, not a filter at
  the input rate). The same spectrum gives each path its residual carrier offset (removed by moving its
  bins), its SNR (for the squelch) and a notch for a radio's DC spike when the channel covers 0 Hz.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from .contract import SignalContract

#: At the model's own rate its classes measure 0.23-1.8 x its occupied bandwidth (AM-DSB, narrowest,
#: to WBFM, widest, at 10-30 dB SNR; ``scripts/measure_bandwidths.py``): a signal inside this range is
#: classified at the model's rate as it is; one outside is resampled so that its bandwidth becomes the
#: model's. (A digital signal at half the model's symbol rate is therefore not resampled.)
SAME_RATE_BANDWIDTHS = (0.2, 1.9)
#: Flat part of a channel's filter, as a fraction of its rate; a raised-cosine edge falls to zero at 0.5
#: (the model saw noise across its whole band, so the filter is as wide as aliasing allows).
PASSBAND_FRACTION = 0.42
#: A signal's edges are where its spectrum falls to this multiple of the noise floor (3 dB above it):
#: for RRC pulses that is their occupied bandwidth, (1 + roll-off) x the symbol rate, at any useful SNR.
EDGE_RATIO = 2.0
#: Input-spectrum resolution the channeliser aims for (Hz per FFT bin).
BIN_HZ = 40.0
#: Half-width of the notch put on a radio's DC spike in a channel that covers 0 Hz.
DC_NOTCH_HZ = 100.0


def channel_rate(bandwidth: float, contract: SignalContract) -> float:
    """Sample rate (input-referred) at which a signal of ``bandwidth`` Hz looks like the model's data."""
    ratio = bandwidth / contract.occupied_bandwidth
    low, high = SAME_RATE_BANDWIDTHS
    return contract.sample_rate if low <= ratio <= high else contract.sample_rate * ratio


# ---- detection ---------------------------------------------------------------------------------------------


@dataclass
class Detection:
    """One signal found in a spectrum."""

    freq_offset: float  # Hz from the input's centre: the power-weighted centre
    bandwidth: float  # Hz where the signal stands EDGE_RATIO above the noise floor
    snr_db: float  # signal power / noise power in that bandwidth
    power: float  # signal power (PSD units x bins), for ranking


def noise_floor(power: np.ndarray) -> float:
    """Mean noise power per bin, from the median of a power spectrum that is mostly noise.

    A single periodogram's bins are exponentially distributed (median = mean x ln 2); an average of
    many is nearly Gaussian (median = mean). ``power`` here is an average: the median is returned."""
    return float(np.median(power))


def _runs(mask: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """[start, stop) of the True runs of ``mask``, runs closer than ``max_gap`` False bins merged."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    runs: list[tuple[int, int]] = []
    for start, stop in zip(edges[::2], edges[1::2]):
        if runs and start - runs[-1][1] <= max_gap:
            runs[-1] = (runs[-1][0], int(stop))
        else:
            runs.append((int(start), int(stop)))
    return runs


def _extend(smoothed: np.ndarray, start: int, stop: int, level: float) -> tuple[int, int]:
    """Widen the run [start, stop) outwards while the smoothed spectrum stays above ``level``."""
    while start > 0 and smoothed[start - 1] > level:
        start -= 1
    while stop < len(smoothed) and smoothed[stop] > level:
        stop += 1
    return start, stop


def _measure(excess: np.ndarray, freqs: np.ndarray, floor: float, bin_hz: float) -> Detection:
    """A run's power-weighted centre, width (less the window's one-bin spread) and SNR in that width."""
    power = float(excess.sum())
    bandwidth = max(len(excess) - 1, 1) * bin_hz
    centre = float((freqs * excess).sum() / power)
    snr_db = 10 * math.log10(power / (floor * bandwidth / bin_hz))
    return Detection(centre, bandwidth, snr_db, power)


def find_signals(
    psd: np.ndarray,
    freqs: np.ndarray,
    *,
    min_snr_db: float,
    min_bandwidth: float,
    max_channels: int,
    averages: int,
) -> list[Detection]:
    """Signals in an averaged power spectrum (``freqs`` ascending, Hz), strongest first.

    Bins whose smoothed power exceeds the floor by half the power a signal of ``min_snr_db`` would add
    (and by five standard deviations of an ``averages``-fold average of noise) form runs; runs a few
    bins apart are one signal; each is measured and kept if it is wide and strong enough."""
    bin_hz = float(freqs[1] - freqs[0])
    psd = _without_dc_spike(psd, freqs, bin_hz)
    floor = noise_floor(psd)
    if floor <= 0:
        return []
    smoothed = np.convolve(psd, np.ones(3) / 3, mode="same")
    ratio = max(1 + 0.5 * 10 ** (min_snr_db / 10), 1 + 5 / math.sqrt(max(averages, 1)))
    detections = []
    for start, stop in _runs(smoothed > floor * ratio, max_gap=3):
        start, stop = _extend(smoothed, start, stop, floor * EDGE_RATIO)
        excess = np.clip(psd[start:stop] - floor, 0, None)
        if excess.sum() <= 0:
            continue
        detection = _measure(excess, freqs[start:stop], floor, bin_hz)
        if detection.bandwidth >= min_bandwidth and detection.snr_db >= min_snr_db:
            detections.append(detection)
    detections.sort(key=lambda d: d.power, reverse=True)
    return detections[:max_channels]


def _without_dc_spike(psd: np.ndarray, freqs: np.ndarray, bin_hz: float) -> np.ndarray:
    """The spectrum with the bins at 0 Hz (a radio's DC spike) replaced by their neighbours' level."""
    centre = np.flatnonzero(np.abs(freqs) < 1.5 * bin_hz)
    if len(centre) == 0 or centre[0] < 3 or centre[-1] + 3 >= len(psd):
        return psd
    psd = psd.copy()
    psd[centre] = 0.5 * (psd[centre[0] - 3] + psd[centre[-1] + 3])
    return psd


class WelchSpectrum:
    """A running power spectrum: Hann-windowed FFTs of consecutive segments, exponentially averaged."""

    def __init__(self, samp_rate: float, fft_size: int, average_s: float) -> None:
        self.fft_size = int(fft_size)
        self.window = np.hanning(self.fft_size).astype(np.float32)
        self.window /= np.sqrt((self.window**2).mean())  # noise power per bin unchanged by the window
        self.freqs = np.fft.fftshift(np.fft.fftfreq(self.fft_size, 1 / samp_rate))
        self.segments_per_average = max(1.0, average_s * samp_rate / self.fft_size)
        self.reset()

    def reset(self) -> None:
        """Forget every segment (a new stream)."""
        self.psd: np.ndarray | None = None
        self.segments = 0  # how many segments the average holds (for the detection threshold)
        self._pending = np.zeros(0, dtype=np.complex64)

    def update(self, samples: np.ndarray) -> int:
        """Add ``samples``; returns how many new segments went into the average."""
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        count = len(data) // self.fft_size
        self._pending = data[count * self.fft_size :].copy()
        if count == 0:
            return 0
        segments = data[: count * self.fft_size].reshape(count, self.fft_size) * self.window
        # float64 powers: samples near float32's limits must not overflow into inf
        power = np.abs(scipy.fft.fft(segments, axis=1)).astype(np.float64) ** 2 / self.fft_size
        for row in np.fft.fftshift(power, axes=1):
            if not np.isfinite(row).all():
                continue  # a segment that overflowed even so tells nothing about the band
            # A plain mean until the average is full, then exponential: no single noisy periodogram
            # ever stands for the spectrum.
            self.segments = min(self.segments + 1, int(self.segments_per_average))
            self.psd = row if self.psd is None else self.psd + (row - self.psd) / self.segments
        return count

    @property
    def settled(self) -> bool:
        """Whether the average holds as many segments as its time constant asks for."""
        return self.segments >= int(self.segments_per_average)


@dataclass
class Channel:
    """A tracked signal: an id that stays while it lasts, and its latest measurements."""

    id: int
    freq_offset: float
    bandwidth: float
    snr_db: float
    hits: int = 1
    misses: int = 0


class ChannelTracker:
    """Matches each update's detections to the signals already followed, so ids stay stable.

    A detection within half a bandwidth of a followed signal is that signal; a new one becomes a
    channel after ``confirm`` updates in a row, and a channel missed ``hold`` updates in a row is gone.
    At most ``max_channels`` are reported (those heard most recently, then the strongest), however many
    tracks are held through their missed updates."""

    def __init__(self, confirm: int = 2, hold: int = 4, max_channels: int | None = None) -> None:
        self.confirm, self.hold = int(confirm), int(hold)
        self.max_channels = max_channels
        self.tracks: list[Channel] = []
        self._next_id = 0

    def update(self, detections: list[Detection]) -> list[Channel]:
        unmatched = list(detections)
        for track in self.tracks:
            match = self._nearest(track, unmatched)
            if match is None:
                track.misses += 1
                continue
            unmatched.remove(match)
            track.freq_offset += 0.5 * (match.freq_offset - track.freq_offset)
            track.bandwidth, track.snr_db = match.bandwidth, match.snr_db
            track.hits, track.misses = track.hits + 1, 0
        self.tracks = [t for t in self.tracks if t.misses < self.hold]
        for detection in unmatched:
            self.tracks.append(Channel(-1, detection.freq_offset, detection.bandwidth, detection.snr_db))
        for track in self.tracks:
            if track.id < 0 and track.hits >= self.confirm:
                track.id, self._next_id = self._next_id, self._next_id + 1
        return self.channels()

    def channels(self) -> list[Channel]:
        """The confirmed channels (at most max_channels), by frequency."""
        confirmed = sorted((t for t in self.tracks if t.id >= 0), key=lambda t: (t.misses, -t.snr_db))
        return sorted(confirmed[: self.max_channels], key=lambda t: t.freq_offset)

    @staticmethod
    def _nearest(track: Channel, detections: list[Detection]) -> Detection | None:
        best, best_distance = None, math.inf
        for detection in detections:
            distance = abs(detection.freq_offset - track.freq_offset)
            if distance < 0.5 * max(detection.bandwidth, track.bandwidth) and distance < best_distance:
                best, best_distance = detection, distance
        return best


@dataclass
class MapUpdate:
    """The channel map at one update of a ``SignalFinder``: at input sample ``offset``."""

    channels: list[Channel]
    offset: int
    publish: bool  # the map changed, or has not been sent for a while


class SignalFinder:
    """Spectrum, detection and tracking over a stream, updated every ``update_s`` of input samples.

    Updates fall on fixed sample counts (a multiple of the FFT size), so the same stream gives the same
    channel maps however it is cut into ``work()`` calls."""

    def __init__(
        self,
        samp_rate: float,
        *,
        min_snr_db: float,
        max_channels: int,
        min_bandwidth: float,
        fft_size: int,
        average_s: float = 0.1,
        update_s: float = 0.05,
        refresh_s: float = 0.5,
    ) -> None:
        if max_channels < 1:
            raise ValueError(f"max_channels must be >= 1, got {max_channels}")
        if fft_size < 16 or fft_size & (fft_size - 1):
            raise ValueError(f"fft_size must be a power of two >= 16, got {fft_size}")
        self.min_snr_db, self.max_channels = float(min_snr_db), int(max_channels)
        self.min_bandwidth = float(min_bandwidth)
        self.spectrum = WelchSpectrum(samp_rate, fft_size, average_s)
        self.update_samples = fft_size * max(1, round(update_s * samp_rate / fft_size))
        self.refresh_samples = int(refresh_s * samp_rate)
        self.reset()

    def reset(self) -> None:
        """Start over on a new stream: no spectrum, no channels, ids from 0, sample count from 0."""
        self.spectrum.reset()
        self.tracker = ChannelTracker(max_channels=self.max_channels)
        self._seen = 0  # input samples so far
        self._last_ids: tuple[int, ...] | None = None
        self._last_sent = 0

    def forget(self) -> None:
        """The band changed under the same stream (a radio retuned): the spectrum and the tracks go;
        the sample count and the ids go on, so a new signal never takes an old one's id."""
        self.spectrum.reset()
        self.tracker.tracks = []
        self._last_ids = None

    def pieces(self, samples: np.ndarray) -> Iterator[tuple[np.ndarray, MapUpdate | None]]:
        """``samples`` cut at the update points: each piece, and the update made at its end (or None)."""
        start = 0
        while start < len(samples):
            to_update = self.update_samples - self._seen % self.update_samples
            piece = samples[start : start + to_update]
            start += len(piece)
            self._seen += len(piece)
            self.spectrum.update(piece)
            at_update = self._seen % self.update_samples == 0 and self.spectrum.settled
            yield piece, self._update() if at_update else None

    def _update(self) -> MapUpdate:
        detections = find_signals(
            self.spectrum.psd,
            self.spectrum.freqs,
            min_snr_db=self.min_snr_db,
            max_channels=self.max_channels,
            min_bandwidth=self.min_bandwidth,
            averages=self.spectrum.segments,
        )
        channels = self.tracker.update(detections)
        ids = tuple(channel.id for channel in channels)
        stale = bool(channels) and self._seen - self._last_sent >= self.refresh_samples
        publish = ids != self._last_ids or stale
        if publish:
            self._last_ids, self._last_sent = ids, self._seen
        return MapUpdate(channels, self._seen, publish)


# ---- channelisation ----------------------------------------------------------------------------------------


def fft_size_for(samp_rate: float) -> int:
    """Power-of-two FFT size giving bins of about BIN_HZ (at least 256)."""
    return max(256, 1 << math.ceil(math.log2(samp_rate / BIN_HZ)))


class OverlapSaveBank:
    """Cuts the input into blocks of ``fft_size`` samples overlapping by half and yields their FFTs.

    Block b spans input samples [b S - N/4, b S + 3N/4) with S = N/2 (a quarter block of zeros comes
    first), so the middle half of each block, [b S, b S + N/2), is free of the circular wrap-around of
    filters shorter than N/4 and the kept halves tile the input."""

    def __init__(self, samp_rate: float, fft_size: int = 0) -> None:
        self.samp_rate = float(samp_rate)
        self.fft_size = int(fft_size) or fft_size_for(samp_rate)
        if self.fft_size % 4:
            raise ValueError(f"fft_size must be a multiple of 4, got {self.fft_size}")
        self.step = self.fft_size // 2
        self.bin_hz = self.samp_rate / self.fft_size
        self.reset()

    def reset(self) -> None:
        """Start over on a new stream: its sample 0 comes next (after the quarter block of zeros)."""
        self.block_index = 0
        self._buffer = np.zeros(self.fft_size // 4, dtype=np.complex64)

    @property
    def next_position(self) -> int:
        """The input sample where the next block's kept half starts (no channel sample before it is
        still to come)."""
        return self.block_index * self.step

    def blocks(self, samples: np.ndarray) -> Iterator[tuple[int, np.ndarray, float]]:
        """Add ``samples``; yield (block index, spectrum, noise power per bin) for each complete block."""
        self._buffer = np.concatenate([self._buffer, samples.astype(np.complex64, copy=False)])
        while len(self._buffer) >= self.fft_size:
            spectrum = scipy.fft.fft(self._buffer[: self.fft_size])
            power = _power(spectrum)
            # Bins of one periodogram are exponential: mean = median / ln 2.
            floor = float(np.partition(power, len(power) // 2)[len(power) // 2]) / math.log(2)
            if not (np.isfinite(spectrum).all() and math.isfinite(floor)):
                spectrum, floor = np.zeros_like(spectrum), 0.0  # overflowed: this block carries nothing
            yield self.block_index, spectrum, floor
            self.block_index += 1
            self._buffer = self._buffer[self.step :]


@dataclass
class ChannelPath:
    """One channel through the bank: its centre (tracked), rate, SNR, and samples at its rate.

    ``rate`` is input-referred: the channel's samples are ``rate`` apart in input time, and the model
    reads them as if they were at its own sample rate."""

    bank: OverlapSaveBank
    centre: float
    rate: float
    bandwidth: float
    search_hz: float  # how far from where it was tuned the residual-offset estimate looks for the signal
    id: int = 0
    max_drift: float = math.inf  # how far from where it was tuned the tracked centre may go
    snr_db: float = -math.inf
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.complex64))
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))

    def __post_init__(self) -> None:
        n = self.bank.fft_size
        self.size = max(4, 4 * round(n * self.rate / self.bank.samp_rate / 4))  # M, a multiple of 4
        self.bins = np.arange(-self.size // 2, self.size // 2)  # channel bins, ascending frequency
        bin_freqs = self.bins * self.bank.bin_hz
        self.response = _raised_cosine_lowpass(np.abs(bin_freqs), self.size * self.bank.bin_hz)
        self._bin_freqs = bin_freqs
        self._dc_bins = math.ceil(DC_NOTCH_HZ / self.bank.bin_hz)
        self.tuned = float(self.centre)
        self.first_bin = round(self.centre / self.bank.bin_hz)
        # The mix's phase is kept continuous across moves of the bins: this sign carries their history.
        self._sign = 1

    @property
    def actual_rate(self) -> float:
        """The rate the bank really delivers (M/N x the input rate; within 0.3 % of ``rate``)."""
        return self.size * self.bank.samp_rate / self.bank.fft_size

    def retune(self, centre: float) -> None:
        """Tune to ``centre`` (the offset tracking starts from there and stays within max_drift of it)."""
        self.tuned = self.centre = float(centre)
        self._move_bins(round(self.centre / self.bank.bin_hz), self.bank.block_index)

    def restart(self, centre: float) -> None:
        """Start over at ``centre`` on a new stream (the bank restarted): no samples, no SNR yet."""
        self.tuned = self.centre = float(centre)
        self.first_bin, self._sign = round(self.centre / self.bank.bin_hz), 1
        self.snr_db = -math.inf
        self.samples = np.zeros(0, np.complex64)
        self.positions = np.zeros(0, np.float64)

    def _move_bins(self, first_bin: int, next_block: int) -> None:
        """Take the bins from ``first_bin`` on, from block ``next_block``, without a phase step.

        The mix is referenced to input sample 0: moving by d bins turns it by pi d b at the start of
        block b's kept half (input b N/2), which the sign undoes for every later sample."""
        moved = self.first_bin - first_bin
        if (moved * next_block) % 2:
            self._sign = -self._sign
        self.first_bin = first_bin

    def process(self, block_index: int, spectrum: np.ndarray, floor: float) -> None:
        """Take this channel's part of one block: append its samples, then track its offset and SNR."""
        n = self.bank.fft_size
        first_bin = self.first_bin
        indices = (first_bin + self.bins) % n
        selected = spectrum[indices]
        power = _power(selected)
        shaped = selected * self.response
        near_dc = np.abs((indices + n // 2) % n - n // 2) <= self._dc_bins
        if near_dc.any():
            # A radio's DC spike sits there: out of the samples, and out of the offset and SNR
            # estimates (or it would pull the channel onto itself and hold the squelch open).
            shaped[near_dc] = 0
            power[near_dc] = floor
        samples = scipy.fft.ifft(np.fft.ifftshift(shaped)) * (self.size / n)
        kept = samples[self.size // 4 : 3 * self.size // 4]
        # Each block was mixed relative to its own first sample (input index b N/2 - N/4); this turns
        # that into one continuous mix relative to input sample 0: exp(-2 pi j k (b/2 - 1/4)).
        kept = kept * ((-1j) ** ((first_bin * (2 * block_index - 1)) % 4) * self._sign)
        start = block_index * self.bank.step
        positions = start + np.arange(len(kept)) * (n / self.size)
        self.samples = np.concatenate([self.samples, kept.astype(np.complex64)])
        self.positions = np.concatenate([self.positions, positions])
        self._track(power, floor, first_bin * self.bank.bin_hz, block_index)

    def _track(self, power: np.ndarray, floor: float, bins_centre: float, block_index: int) -> None:
        """Residual carrier offset (power-weighted centre of what stands above the noise near where the
        channel was tuned, through the channel's own filter) and SNR; moves the bins for later blocks."""
        if not floor > 0:  # nothing but zeros (or an overflowed block): the channel is silent
            self.snr_db = -math.inf
            return
        freqs = bins_centre + self._bin_freqs  # each bin's frequency, Hz from the input's centre
        in_band = np.abs(freqs - self.centre) <= self.bandwidth / 2
        snr = max(float(power[in_band].mean()) / floor - 1, 1e-6)
        # One block's estimate, not an average: it averages hundreds of bins already, and a squelch
        # that lagged would classify noise after a signal has gone.
        self.snr_db = 10 * math.log10(snr)
        # A neighbour outside the filter, or beyond the search around the tuned frequency, must not
        # pull the channel over to itself.
        excess = np.clip(power - floor, 0, None) * self.response**2
        excess[np.abs(freqs - self.tuned) > self.search_hz] = 0
        weight = excess.sum()
        if weight > 0 and self.snr_db > 0:
            estimate = float((freqs * excess).sum() / weight)
            centre = self.centre + 0.3 * (estimate - self.centre)
            self.centre = min(max(centre, self.tuned - self.max_drift), self.tuned + self.max_drift)
            # Move the bins only for offsets that matter (a few bins): the model tolerates 500 Hz.
            if abs(self.centre / self.bank.bin_hz - self.first_bin) > 3:
                self._move_bins(round(self.centre / self.bank.bin_hz), block_index + 1)

    def take_windows(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Complete windows [k, length] of this channel's samples and each one's first input sample."""
        count = len(self.samples) // length
        windows = self.samples[: count * length].reshape(count, length)
        offsets = np.round(self.positions[: count * length : length]).astype(np.int64)
        self.samples = self.samples[count * length :]
        self.positions = self.positions[count * length :]
        return windows, offsets


def _power(spectrum: np.ndarray) -> np.ndarray:
    """|X|^2 in float64, so that samples near float32's limits do not overflow."""
    return spectrum.real.astype(np.float64) ** 2 + spectrum.imag.astype(np.float64) ** 2


def _raised_cosine_lowpass(freqs: np.ndarray, rate: float) -> np.ndarray:
    """1 up to PASSBAND_FRACTION x rate, a raised-cosine edge down to 0 at rate / 2."""
    edge_start, edge_stop = PASSBAND_FRACTION * rate, 0.5 * rate
    t = np.clip((freqs - edge_start) / (edge_stop - edge_start), 0, 1)
    return (0.5 * (1 + np.cos(np.pi * t))).astype(np.float32)
