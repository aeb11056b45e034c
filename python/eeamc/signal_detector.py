"""The GNU Radio block that finds the signals in a band and says where they are, as messages.

It averages a Welch power spectrum of its input, finds every run of bins standing above the noise floor
(``channels.find_signals``: any frequency, not a grid), measures each signal's centre, bandwidth and SNR,
and follows them with stable ids (``channels.ChannelTracker``). The channel map goes out on the port
``channels`` as a PMT vector of dicts ``{channel, freq_offset, bandwidth, snr_db, offset}`` whenever the
set of channels changes, and at least every ``refresh_s`` while any is present. It is the scanner's
detector; on its own it drives any block that takes that map (``multi_channel_classifier``).
"""

from __future__ import annotations

import math

import numpy as np
import pmt
from gnuradio import gr

from .channels import Channel, ChannelTracker, WelchSpectrum, find_signals

CHANNELS_PORT = pmt.intern("channels")


def detector_fft_size(samp_rate: float, bandwidth: float) -> int:
    """A power-of-two FFT size resolving ``bandwidth`` into about 16 bins (at least 64)."""
    return max(64, 1 << math.ceil(math.log2(16 * samp_rate / bandwidth)))


class signal_detector(gr.sync_block):
    """Find signals in a complex stream and publish the channel map on ``channels``.

    Args:
        samp_rate: the input's sample rate (S/s).
        min_snr_db: a signal is reported when its power over the noise in its bandwidth reaches this.
        max_channels: most signals followed at once (the strongest win).
        min_bandwidth: narrower signals (a DC spike, a carrier) are ignored, Hz.
        fft_size: the spectrum's FFT size (resolution samp_rate / fft_size).
        average_s: time constant of the spectrum's average, s.
        update_s: how often the spectrum is searched, s.
        refresh_s: the map is re-sent at least this often while it holds channels, s.
    """

    def __init__(
        self,
        samp_rate: float,
        min_snr_db: float = 6.0,
        max_channels: int = 8,
        min_bandwidth: float = 2e3,
        fft_size: int = 2048,
        average_s: float = 0.1,
        update_s: float = 0.05,
        refresh_s: float = 0.5,
    ) -> None:
        gr.sync_block.__init__(self, name="eeamc_signal_detector", in_sig=[np.complex64], out_sig=None)
        if not samp_rate > 0:
            raise ValueError(f"samp_rate must be > 0 S/s, got {samp_rate}")
        if max_channels < 1:
            raise ValueError(f"max_channels must be >= 1, got {max_channels}")
        if fft_size < 16 or fft_size & (fft_size - 1):
            raise ValueError(f"fft_size must be a power of two >= 16, got {fft_size}")
        self.samp_rate = float(samp_rate)
        self.min_snr_db, self.max_channels = float(min_snr_db), int(max_channels)
        self.min_bandwidth = float(min_bandwidth)
        self.spectrum = WelchSpectrum(self.samp_rate, fft_size, average_s)
        self.tracker = ChannelTracker()
        self.update_samples = max(int(update_s * self.samp_rate), fft_size)
        self.refresh_samples = int(refresh_s * self.samp_rate)
        self._since_update = 0
        self._last_sent: tuple[int, ...] | None = None
        self._last_sent_at = 0
        self.message_port_register_out(CHANNELS_PORT)

    def set_min_snr_db(self, min_snr_db: float) -> None:
        self.min_snr_db = float(min_snr_db)

    def work(self, input_items, output_items):
        samples = input_items[0]
        if not np.isfinite(samples).all():
            samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
        self.spectrum.update(samples)
        self._since_update += len(samples)
        if self._since_update >= self.update_samples and self.spectrum.settled:
            self._since_update = 0
            self._update(self.nitems_read(0) + len(samples))
        return len(samples)

    def _update(self, offset: int) -> None:
        detections = find_signals(
            self.spectrum.psd,
            self.spectrum.freqs,
            min_snr_db=self.min_snr_db,
            min_bandwidth=self.min_bandwidth,
            max_channels=self.max_channels,
            averages=self.spectrum.segments,
        )
        channels = self.tracker.update(detections)
        ids = tuple(channel.id for channel in channels)
        stale = channels and offset - self._last_sent_at >= self.refresh_samples
        if ids != self._last_sent or stale:
            self._last_sent, self._last_sent_at = ids, offset
            self.message_port_pub(CHANNELS_PORT, channel_map(channels, offset))


def channel_map(channels: list[Channel], offset: int) -> pmt.pmt_base:
    """The ``channels`` message: a PMT vector of one dict per channel (a list in ``pmt.to_python``)."""
    message = pmt.make_vector(len(channels), pmt.PMT_NIL)
    for index, channel in enumerate(channels):
        item = pmt.make_dict()
        for key, value in (
            ("channel", pmt.from_long(channel.id)),
            ("freq_offset", pmt.from_double(channel.freq_offset)),
            ("bandwidth", pmt.from_double(channel.bandwidth)),
            ("snr_db", pmt.from_double(channel.snr_db)),
            ("offset", pmt.from_uint64(offset)),
        ):
            item = pmt.dict_add(item, pmt.intern(key), value)
        pmt.vector_set(message, index, item)
    return message
