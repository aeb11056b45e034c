"""The GNU Radio block: classify the modulation of every window of a complex stream.

Samples pass through unchanged. Each ``work()`` call frames all its complete windows (the output
multiple is the window length, so windows never straddle calls), normalises them as the model was
trained, classifies them in one batched early-exit engine call, and reports each window as a stream
tag on its first sample and as a message on the ``classification`` port. A stream whose stated rate
(``samp_rate``, or else an upstream ``rx_rate`` tag) is not the model's gets one warning in the log.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pmt
import torch
from gnuradio import gr

from .contract import rates_match
from .engine import (
    DEFAULT_MAX_BATCH,
    Classification,
    EarlyExitEngine,
    classify_in_batches,
    requested_thresholds,
)
from .model_file import load_model
from .reports import check_report, wants_report
from .windows import frame, normalize, valid_windows

TAG_KEY = pmt.intern("amc")
PORT = pmt.intern("classification")
#: Upstream tags whose latest value each message carries (as USRP / RTL-SDR sources emit them).
METADATA_KEYS = ("rx_freq", "rx_time")
#: The sample rate a radio source states (UHD and gr-osmosdr sources tag it; a double, S/s).
RX_RATE = pmt.intern("rx_rate")
UNCLASSIFIABLE = -1

_KEYS = {
    name: pmt.intern(name)
    for name in (
        "label",
        "class",
        "exit",
        "entropy",
        "confidence",
        "unclassifiable",
        "offset",
        "probabilities",
        "window",
        *METADATA_KEYS,
    )
}
_SUMMARY_KEYS = tuple(
    _KEYS[name] for name in ("label", "class", "exit", "entropy", "confidence", "unclassifiable")
)


@dataclass
class _Rows:
    """One work() call's results as Python lists, converted once: indexing a tensor costs microseconds,
    paid five times per reported window otherwise."""

    label: list[int]
    exit: list[int]
    entropy: list[float]
    confidence: list[float]
    probabilities: list[list[float]]

    @classmethod
    def of(cls, results: Classification) -> _Rows:
        return cls(
            results.label.tolist(),
            results.exit.tolist(),
            results.entropy.tolist(),
            results.confidence.tolist(),
            results.probabilities.tolist(),
        )


class classifier(gr.sync_block):
    """Early-exit modulation classifier.

    Args:
        model: path of a gr-eeamc model file; "" uses the shipped model.
        device: "auto", "cpu", "cuda" or "cuda:N".
        threshold: entropy threshold for every early exit; -1 or None uses the model's calibrated
            thresholds, 0 turns early exits off. Settable while running.
        report: "all" (every window), "change" (a window whose class differs from the previous one) or
            "every_n" (every ``report_every``-th window).
        report_every: N for ``report="every_n"``.
        max_batch: most windows per engine call; also sizes the buffers around the block so that work()
            sees up to that many windows a call.
        samp_rate: the input's sample rate in S/s, checked against the model's contract; 0 = not stated,
            in which case upstream ``rx_rate`` tags are checked instead (a stated rate wins: a tag is
            stale after any resampler). A mismatch is logged once; classification carries on.
    """

    def __init__(
        self,
        model: str = "",
        device: str = "auto",
        threshold: float | Sequence[float] | None = -1,
        report: str = "all",
        report_every: int = 1,
        max_batch: int = DEFAULT_MAX_BATCH,
        samp_rate: float = 0,
    ) -> None:
        gr.sync_block.__init__(self, name="eeamc_classifier", in_sig=[np.complex64], out_sig=[np.complex64])
        self.model = load_model(model)
        self.classes = list(self.model.classes)
        self.window_length = self.model.input_length
        self.engine = EarlyExitEngine(self.model.net, self.model.thresholds, device)
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.max_batch = int(max_batch)
        self._lock = threading.Lock()  # set_threshold() comes from the GUI / another thread
        self.set_threshold(threshold)
        self.set_report(report, report_every)

        self.set_output_multiple(self.window_length)
        self.set_min_output_buffer(self.window_length * self.max_batch)
        # GNU Radio sizes the buffer in front of a block to at least twice its history, and the default
        # one holds only 64 windows, so work() would see about 24 windows a call. A history of max_batch
        # windows (never read: work() skips it) lets it see up to max_batch; the engine runs batches of
        # that size several times faster per window.
        self.set_history(self.window_length * self.max_batch)
        self.message_port_register_out(PORT)

        # PMTs are immutable, so the per-window values that come from a small set are made once.
        self._label_pmts = [pmt.intern(name) for name in self.classes]
        self._class_pmts = [pmt.from_long(index) for index in range(len(self.classes))]
        self._exit_pmts = [pmt.from_long(index) for index in range(self.engine.num_exits)]
        self._unclassifiable_fields = (
            pmt.intern("unclassifiable"),
            pmt.from_long(UNCLASSIFIABLE),
            pmt.from_long(-1),
            pmt.from_double(float("nan")),
            pmt.from_double(0.0),
            pmt.PMT_T,
        )
        self._zero_probabilities = [0.0] * len(self.classes)
        self._publishing = True  # whether the message port has subscribers; checked every work() call
        self._windows_seen = 0
        self._previous_class: int | None = None
        self._metadata: dict[str, tuple[int, pmt.pmt_base]] = {}
        self._unclassifiable_count = 0
        self._check_rate_stated(samp_rate)

    # ---- runtime settings (GRC callbacks) ------------------------------------------------------------

    def set_threshold(self, threshold: float | Sequence[float] | None) -> None:
        """-1/None: the model's calibrated thresholds; 0: early exits off; else one value for all exits
        (or one per exit)."""
        values = requested_thresholds(threshold, self.model.thresholds)
        with self._lock:
            self.engine.set_thresholds(values)

    def threshold(self) -> list[float]:
        return list(self.engine.thresholds)

    def set_report(self, report: str, report_every: int = 1) -> None:
        self.report, self.report_every = check_report(report, report_every)

    def set_report_every(self, report_every: int) -> None:
        self.set_report(self.report, report_every)

    # ---- streaming ------------------------------------------------------------------------------------

    def work(self, input_items, output_items):
        samples = input_items[0][self.history() - 1 :]  # the history only enlarges the input buffer
        count = len(output_items[0]) - len(output_items[0]) % self.window_length
        output_items[0][:count] = samples[:count]
        if count == 0:
            return 0
        first = self.nitems_written(0)
        windows = frame(samples[:count], self.window_length)
        valid = valid_windows(windows)
        results = self._classify(windows[valid]) if valid.any() else None
        rows = _Rows.of(results) if results is not None else None
        # Row of each window in ``rows``; None for windows that could not be classified.
        row_of = (np.cumsum(valid) - 1).tolist()
        is_valid = valid.tolist()
        metadata_tags = self._metadata_tags(count)
        if self._watch_rx_rate:
            self._check_rx_rate(count)
        # Messages nobody receives (port not connected) are not built: a third of the reporting cost.
        self._publishing = pmt.length(self.message_subscribers(PORT)) > 0
        for index in range(len(windows)):
            offset = first + index * self.window_length
            self._absorb_metadata(metadata_tags, offset)
            row = row_of[index] if is_valid[index] and rows is not None else None
            self._report(offset, rows, row)
        # Tags after the last window start belong to the next window: keep them, or a window's
        # rx_freq / rx_time would depend on where the scheduler split the stream.
        self._absorb_metadata(metadata_tags, first + count)
        return count

    def _classify(self, windows: np.ndarray) -> Classification | None:
        """Classify valid windows in batches of at most max_batch; None if the engine failed."""
        batch = torch.from_numpy(normalize(windows, self.model.normalization))
        try:
            with self._lock:
                return classify_in_batches(self.engine, batch, self.max_batch)
        except Exception as error:  # noqa: BLE001 - a running flowgraph must survive (e.g. CUDA OOM)
            self.logger.error(f"classification failed, windows reported unclassifiable: {error}")
            return None

    def _metadata_tags(self, count: int) -> list[gr.tag_t]:
        start = self.nitems_read(0)
        tags = [
            tag
            for key in METADATA_KEYS
            for tag in self.get_tags_in_range(0, start, start + count, pmt.intern(key))
        ]
        return sorted(tags, key=lambda tag: tag.offset)

    def _check_rate_stated(self, samp_rate: float) -> None:
        if not np.isfinite(samp_rate) or samp_rate < 0:
            raise ValueError(f"samp_rate must be >= 0 S/s (0 = not stated), got {samp_rate}")
        self.samp_rate = float(samp_rate)
        # Tags are read only while no rate is stated and nothing has been logged yet.
        self._watch_rx_rate = self.samp_rate == 0
        if self.samp_rate:
            self._check_rate(self.samp_rate, "the samp_rate parameter")

    def _check_rx_rate(self, count: int) -> None:
        start = self.nitems_read(0)
        for tag in self.get_tags_in_range(0, start, start + count, RX_RATE):
            if pmt.is_real(tag.value) or pmt.is_integer(tag.value):
                if self._check_rate(pmt.to_double(tag.value), f"an rx_rate tag at sample {tag.offset}"):
                    return

    def _check_rate(self, rate: float, source: str) -> bool:
        """Log once if ``rate`` is not the model's; True if it was not."""
        contract = self.model.signal
        if rates_match(rate, contract.sample_rate):
            return False
        self._watch_rx_rate = False
        self.logger.warn(
            f"input rate {rate:,.1f} S/s ({source}) is not the model's: {self.model.path} expects "
            f"{contract.describe()}; at another rate its answers mean little. Feed a radio's "
            "samples to eeamc.channel_classifier (one signal) or eeamc.scanner (a whole band), which "
            "bring them to the model's contract. Classifying on (logged once)."
        )
        return True

    def _absorb_metadata(self, tags: list[gr.tag_t], offset: int) -> None:
        """Remember the latest rx_freq / rx_time tagged at or before ``offset``."""
        while tags and tags[0].offset <= offset:
            tag = tags.pop(0)
            self._metadata[pmt.symbol_to_string(tag.key)] = (tag.offset, tag.value)

    def _report(self, offset: int, rows: _Rows | None, row: int | None) -> None:
        self._windows_seen += 1
        label = rows.label[row] if row is not None else UNCLASSIFIABLE
        if not self._should_report(label):
            return
        summary = self._summary(rows, row)
        self.add_item_tag(0, offset, TAG_KEY, summary)
        if self._publishing:
            self.message_port_pub(PORT, self._message(summary, rows, row, offset))

    def _should_report(self, label: int) -> bool:
        previous, self._previous_class = self._previous_class, label
        return wants_report(self.report, self.report_every, self._windows_seen, label, previous)

    def _summary(self, rows: _Rows | None, row: int | None) -> pmt.pmt_base:
        """The tag's dict: label, class, exit, entropy, confidence, unclassifiable."""
        if row is None:
            fields = self._unclassifiable_fields
            if self._unclassifiable_count == 0:
                self.logger.warn("NaN/Inf or all-zero window: reported as unclassifiable (logged once)")
            self._unclassifiable_count += 1
        else:
            label = rows.label[row]
            fields = (
                self._label_pmts[label],
                self._class_pmts[label],
                self._exit_pmts[rows.exit[row]],
                pmt.from_double(rows.entropy[row]),
                pmt.from_double(rows.confidence[row]),
                pmt.PMT_F,
            )
        summary = pmt.make_dict()
        for key, value in zip(_SUMMARY_KEYS, fields):
            summary = pmt.dict_add(summary, key, value)
        return summary

    def _message(
        self, summary: pmt.pmt_base, rows: _Rows | None, row: int | None, offset: int
    ) -> pmt.pmt_base:
        """The message: the tag's dict plus offset, probabilities, window count and rx metadata."""
        probabilities = rows.probabilities[row] if row is not None else self._zero_probabilities
        message = pmt.dict_add(summary, _KEYS["offset"], pmt.from_uint64(offset))
        message = pmt.dict_add(
            message, _KEYS["probabilities"], pmt.init_f32vector(len(probabilities), probabilities)
        )
        message = pmt.dict_add(message, _KEYS["window"], pmt.from_uint64(self._windows_seen - 1))
        for key, (_, value) in self._metadata.items():
            message = pmt.dict_add(message, _KEYS[key], value)
        return message
