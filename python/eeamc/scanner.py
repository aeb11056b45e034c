# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scanner: find and classify every signal in a band (a hier block around one classifier).

    input --> multi_channel_classifier [SignalFinder -> ChannelPath per signal -> engine]
                  --> classification, channels

The finder (``channels.SignalFinder``, what ``signal_detector`` runs too) finds occupied spectrum
anywhere in the band and follows each signal with a stable id; the multi-channel classifier brings every
signal to the model's input contract and classifies all of their windows in one batched engine call per
``work()``. Detection runs in the classifier's thread, in step with the stream, so a recording read as
fast as the disk allows gives the same results as the same samples from a radio.
"""

from __future__ import annotations

from collections.abc import Sequence

from gnuradio import gr

from .channels import SignalFinder
from .engine import DEFAULT_MAX_BATCH
from .multi_channel_classifier import multi_channel_classifier
from .signal_detector import detector_fft_size

#: Signals narrower than this share of the model's occupied bandwidth are not followed (carriers);
#: AM-DSB, the model's narrowest class, measures about a quarter of it at 10 dB.
MIN_BANDWIDTH_SHARE = 0.1
#: The classifier's squelch sits this far under the detection threshold, so a followed signal whose
#: SNR wobbles around the threshold is not cut in and out.
SQUELCH_MARGIN_DB = 3.0


class scanner(gr.hier_block2):
    """Find and classify every signal in a band.

    Args:
        samp_rate: the input's sample rate (S/s).
        model, device, threshold, report, report_every, max_batch: as for ``eeamc.classifier``
            (``report`` applies per channel).
        min_snr_db: a signal is followed when its SNR in its own bandwidth reaches this (dB).
        max_channels: most signals followed at once (the strongest).
        message_mode, classify_every, on_overload, precision, average, adaptive_exits: as for
            ``eeamc.classifier``;
            ``classify_every`` counts each channel's windows, and a batch message holds every channel's
            windows of a work() call (``channels``, ``freq_offsets`` ... one value per window).
    """

    def __init__(
        self,
        samp_rate: float,
        model: str = "",
        device: str = "auto",
        threshold: float | Sequence[float] | None = -1,
        report: str = "all",
        report_every: int = 1,
        min_snr_db: float = 6.0,
        max_channels: int = 8,
        max_batch: int = DEFAULT_MAX_BATCH,
        message_mode: str = "window",
        classify_every: int = 1,
        on_overload: str = "queue",
        precision: str = "auto",
        average: int = 1,
        adaptive_exits: bool = False,
    ) -> None:
        gr.hier_block2.__init__(
            self, "eeamc_scanner", gr.io_signature(1, 1, gr.sizeof_gr_complex), gr.io_signature(0, 0, 0)
        )
        self.message_port_register_hier_out("classification")
        self.message_port_register_hier_out("channels")

        # channels -> windows -> engine: one classifier serves every channel
        self.classifier = multi_channel_classifier(
            samp_rate,
            model=model,
            device=device,
            threshold=threshold,
            report=report,
            report_every=report_every,
            squelch_db=min_snr_db - SQUELCH_MARGIN_DB,
            max_batch=max_batch,
            message_mode=message_mode,
            classify_every=classify_every,
            on_overload=on_overload,
            precision=precision,
            average=average,
            adaptive_exits=adaptive_exits,
        )
        # samples -> channels: the finder resolves the model's bandwidth into about 16 bins
        bandwidth = self.classifier.contract.occupied_bandwidth
        self.finder = SignalFinder(
            samp_rate,
            min_snr_db=min_snr_db,
            max_channels=max_channels,
            min_bandwidth=MIN_BANDWIDTH_SHARE * bandwidth,
            fft_size=detector_fft_size(samp_rate, bandwidth),
        )
        self.classifier.set_finder(self.finder)
        self.connect(self, self.classifier)
        self.msg_connect(self.classifier, "channels", self, "channels")
        self.msg_connect(self.classifier, "classification", self, "classification")

    def set_threshold(self, threshold: float | Sequence[float] | None) -> None:
        self.classifier.set_threshold(threshold)

    def set_report(self, report: str, report_every: int = 1) -> None:
        self.classifier.set_report(report, report_every)

    def set_min_snr_db(self, min_snr_db: float) -> None:
        self.finder.min_snr_db = float(min_snr_db)
        self.classifier.set_squelch(min_snr_db - SQUELCH_MARGIN_DB)

    def set_classify_every(self, classify_every: int) -> None:
        self.classifier.set_classify_every(classify_every)

    def windows_skipped(self) -> int:
        """Windows left unclassified because the block was behind its source (on_overload keep_up)."""
        return self.classifier.windows_skipped()
