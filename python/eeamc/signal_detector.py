# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The GNU Radio block that finds the signals in a band and says where they are, as messages.

It averages a Welch power spectrum of its input, finds every run of bins standing above the noise floor
(``channels.find_signals``: any frequency, not a grid), measures each signal's centre, bandwidth and SNR,
and follows them with stable ids (``channels.SignalFinder``). The channel map goes out on the port
``channels`` as a PMT vector of dicts ``{channel, freq_offset, bandwidth, snr_db, offset}`` whenever the
set of channels changes, and at least every ``refresh_s`` while any is present. The scanner runs the same
finder inside its classifier (so that detection and classification see the stream in step); this block
is for flowgraphs that want the map alone, or feed it to a ``multi_channel_classifier``.
"""

from __future__ import annotations

import math

import numpy as np
import pmt
from gnuradio import gr

from .channels import Channel, SignalFinder

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
        min_bandwidth: narrower signals (carriers) are ignored, Hz; a DC spike at 0 Hz always is.
        fft_size: the spectrum's FFT size (resolution samp_rate / fft_size), a power of two.
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
        self.finder = SignalFinder(
            samp_rate,
            min_snr_db=min_snr_db,
            max_channels=max_channels,
            min_bandwidth=min_bandwidth,
            fft_size=fft_size,
            average_s=average_s,
            update_s=update_s,
            refresh_s=refresh_s,
        )
        self.message_port_register_out(CHANNELS_PORT)

    def set_min_snr_db(self, min_snr_db: float) -> None:
        self.finder.min_snr_db = float(min_snr_db)

    def start(self) -> bool:
        """Each run starts afresh (GNU Radio's item counters restart at 0): spectrum, tracks and ids."""
        self.finder.reset()
        return super().start()

    def work(self, input_items, output_items):
        samples = np.nan_to_num(input_items[0], nan=0.0, posinf=0.0, neginf=0.0)
        for _, update in self.finder.pieces(samples):
            if update is not None and update.publish:
                self.message_port_pub(CHANNELS_PORT, channel_map(update.channels, update.offset))
        return len(input_items[0])


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
