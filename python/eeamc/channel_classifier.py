# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The channel classifier: classify the one signal at a given frequency of a wideband stream.

    input --> multi_channel_classifier (one channel) --> classification

Inside, the channel is selected and decimated, resampled to the model's rate (or to the rate at which
``bandwidth`` matches the model's), its residual carrier offset is followed and removed, a DC spike is
notched when the channel covers 0 Hz, and windows under the squelch are not classified
(``channels.ChannelPath`` does the signal processing). ``offset`` in messages counts this block's input
samples, so a window can be found in the recording.
"""

from __future__ import annotations

from collections.abc import Sequence

from gnuradio import gr

from .engine import DEFAULT_MAX_BATCH
from .multi_channel_classifier import multi_channel_classifier

#: The id this block's one channel has in its messages.
CHANNEL_ID = 0


class channel_classifier(gr.hier_block2):
    """Classify the signal at ``freq_offset`` Hz from the input's centre.

    Args:
        samp_rate: the input's sample rate (S/s).
        freq_offset: the signal's centre, Hz from the input's centre; ``set_freq_offset`` while running.
            The residual offset (a radio's crystal error, a few kHz) is followed within the channel.
        bandwidth: the signal's occupied bandwidth, Hz; 0 = the model's (its samples are then taken at
            the model's rate).
        model, device, threshold, report, report_every, max_batch: as for ``eeamc.classifier``.
        squelch_db: windows are classified only while the channel's SNR reaches this (dB); -inf = always.
        message_mode, classify_every, on_overload, precision, average, adaptive_exits: as for
            ``eeamc.classifier`` (a batch
            message also carries the channel's fields, one value per window).
    """

    def __init__(
        self,
        samp_rate: float,
        freq_offset: float = 0.0,
        bandwidth: float = 0.0,
        model: str = "",
        device: str = "auto",
        threshold: float | Sequence[float] | None = -1,
        report: str = "all",
        report_every: int = 1,
        squelch_db: float = 6.0,
        max_batch: int = DEFAULT_MAX_BATCH,
        message_mode: str = "window",
        classify_every: int = 1,
        on_overload: str = "queue",
        precision: str = "auto",
        average: int = 1,
        adaptive_exits: bool = False,
    ) -> None:
        gr.hier_block2.__init__(
            self,
            "eeamc_channel_classifier",
            gr.io_signature(1, 1, gr.sizeof_gr_complex),
            gr.io_signature(0, 0, 0),
        )
        if bandwidth < 0:
            raise ValueError(f"bandwidth must be >= 0 Hz (0 = the model's), got {bandwidth}")
        self.message_port_register_hier_out("classification")
        self.classifier = multi_channel_classifier(
            samp_rate,
            model=model,
            device=device,
            threshold=threshold,
            report=report,
            report_every=report_every,
            squelch_db=squelch_db,
            max_batch=max_batch,
            message_mode=message_mode,
            classify_every=classify_every,
            on_overload=on_overload,
            precision=precision,
            average=average,
            adaptive_exits=adaptive_exits,
        )
        contract = self.classifier.contract
        self.bandwidth = float(bandwidth) or contract.occupied_bandwidth
        # The channel's rate: the model's, scaled by how much wider than the model's this signal is.
        self.rate = contract.sample_rate * self.bandwidth / contract.occupied_bandwidth
        # The residual offset (a crystal error of kHz) is searched for across the whole channel, and
        # followed as far as the signal stays inside the channel's filter.
        self._tracking = {
            "rate": self.rate,
            "search_hz": self.rate / 2,
            "max_drift": max(self.rate / 2 - self.bandwidth / 2, contract.max_carrier_offset),
        }
        self.set_freq_offset(freq_offset)
        self.connect(self, self.classifier)
        self.msg_connect(self.classifier, "classification", self, "classification")

    def set_freq_offset(self, freq_offset: float) -> None:
        """Retune (a GUI's slider may call this: a frequency outside the band is logged, not raised)."""
        try:
            self.classifier.set_channel(CHANNEL_ID, float(freq_offset), self.bandwidth, **self._tracking)
        except ValueError as error:
            if not self.classifier.channels():
                raise  # at construction: a bad parameter
            self.classifier.logger.error(f"set_freq_offset({freq_offset}) ignored: {error}")

    def freq_offset(self) -> float:
        return self.classifier.channels()[0].centre

    def set_threshold(self, threshold: float | Sequence[float] | None) -> None:
        self.classifier.set_threshold(threshold)

    def set_report(self, report: str, report_every: int = 1) -> None:
        self.classifier.set_report(report, report_every)

    def set_squelch_db(self, squelch_db: float) -> None:
        self.classifier.set_squelch(squelch_db)

    def set_classify_every(self, classify_every: int) -> None:
        self.classifier.set_classify_every(classify_every)

    def windows_skipped(self) -> int:
        """Windows left unclassified because the block was behind its source (on_overload keep_up)."""
        return self.classifier.windows_skipped()
