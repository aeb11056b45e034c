# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The GNU Radio block: classify the modulation of every window of a complex stream.

Samples pass through unchanged. Each ``work()`` call frames all its complete windows (the output
multiple is the window length, so windows never straddle calls), normalises them as the model was
trained, classifies them in one batched early-exit engine call, and reports each window as a stream
tag on its first sample and as a message on the ``classification`` port. A stream whose stated rate
(``samp_rate``, or else an upstream ``rx_rate`` tag) is not the model's gets one warning in the log.

Each message's ``rx_time`` is its own window's: the latest upstream ``rx_time`` tag plus the samples
since it at the stream's rate (``samp_rate``, else the latest ``rx_rate`` tag, else the model's rate).
Every run starts afresh (``start()``): offsets and window counts from 0, no metadata of the last run.

The end of a stream: the last ``len % window_length`` samples (less than one window) are neither
classified nor passed on. GNU Radio calls a block with an output multiple only for whole multiples and
ends it when its upstream is done and less than that is left; a block without one cannot tell the end of
a stream from a slow source (Python blocks see no "input done"), so it would have to hold the partial
window back forever, and a window's tag must sit on its first sample, written before the window is
complete. To keep every sample in a file-to-file chain, take the file sink's stream from before the
classifier (the classifier then feeds a null sink, and its tags travel as messages).

What costs time besides the network is kept off the per-window path: the windows ``report`` selects are
chosen with numpy, and only those get a tag (a dict built on a prebuilt one per class and exit) and, with
``message_mode="window"``, a message; ``message_mode="batch"`` publishes one message of vectors per
``work()`` call instead (``reports.BatchBuilder``). Where the ``eeamc_native`` extension is built, tags
and window messages are made and sent in C++, one call per ``work()`` call (``reports.NativeReports``:
the same PMTs at a fraction of the cost, docs/native.md); else, or with ``EEAMC_NATIVE=0``, in Python
(the block logs which, once). ``classify_every`` and ``on_overload`` decide which
windows go through the network at all (``running.WindowSelection``); ``average`` reports decisions over
several windows (``running.Reporting``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pmt
from gnuradio import gr

from .contract import rates_match
from .engine import DEFAULT_MAX_BATCH, requested_thresholds
from .model_file import load_model
from .reports import (
    UNCLASSIFIABLE,
    BatchBuilder,
    NativeReports,
    check_message_mode,
    check_report,
    native_reports,
)
from .running import (
    METADATA_KEYS,
    Reporting,
    Results,
    UpstreamTags,
    WindowClassifier,
    WindowSelection,
    check_selection,
    engine_for,
)
from .windows import frame

TAG_KEY = pmt.intern("amc")
PORT = pmt.intern("classification")

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


class classifier(gr.sync_block):
    """Early-exit modulation classifier.

    Args:
        model: path of a gr-eeamc model file; "" uses the shipped model.
        device: "auto", "cpu", "cuda" or "cuda:N".
        threshold: entropy threshold for every early exit; -1 or None uses the model's calibrated
            thresholds, 0 turns early exits off. Settable while running.
        report: "all" (every classified window), "change" (a window whose class differs from the
            previous classified one's) or "every_n" (every ``report_every``-th classified window).
        report_every: N for ``report="every_n"``.
        max_batch: most windows per engine call; also sizes the buffers around the block so that work()
            sees up to that many windows a call.
        samp_rate: the input's sample rate in S/s, checked against the model's contract; 0 = not stated,
            in which case upstream ``rx_rate`` tags are checked instead (a stated rate wins: a tag is
            stale after any resampler). A mismatch is logged once; classification carries on. The
            rate also dates each window: rx_time = latest rx_time tag + samples since it / rate.
        message_mode: "window" (a message per reported window) or "batch" (one message per work() call
            with every window it reported, as vectors: see ``reports``). Tags are the same in both.
        classify_every: classify one window in N (those whose index in the stream is a multiple of N);
            the others pass through unclassified and unreported. Settable while running.
        on_overload: "queue" (classify every window however far behind the source the block falls: a
            recording is read more slowly, a radio overflows) or "keep_up" (when the input buffer stays
            full, classify fewer windows; skipped ones are counted, ``windows_skipped()``, and logged).
        precision: "auto", "fp32" or "int8": the engine's arithmetic (what auto chose is logged once).
        average: report each window's decision over the last N classified windows (mean
            log-probabilities, ``decisions.DecisionAverager``; a ``change`` report then has hysteresis);
            1 = each window's own class. Exit and entropy stay each window's own.
        adaptive_exits: stop running an early exit that few windows leave at (low SNR, where it only
            costs), probing it now and then (``engine.AdaptiveExits``); results then depend on the
            batches before.

    A stream's last samples short of a whole window are neither classified nor passed on (see the
    module's docstring for why). An engine call that fails (CUDA out of memory, a lost device) is
    logged once, then at most every few seconds; its windows are reported unclassifiable and the next
    call tries again.
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
        message_mode: str = "window",
        classify_every: int = 1,
        on_overload: str = "queue",
        precision: str = "auto",
        average: int = 1,
        adaptive_exits: bool = False,
    ) -> None:
        gr.sync_block.__init__(self, name="eeamc_classifier", in_sig=[np.complex64], out_sig=[np.complex64])
        self.model = load_model(model)
        self.classes = list(self.model.classes)
        self.window_length = self.model.input_length
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.max_batch = int(max_batch)
        self.selection = WindowSelection(classify_every, on_overload, self._log)
        self.message_mode = check_message_mode(message_mode)
        self.reporting = Reporting(len(self.classes), average, *check_report(report, report_every))
        self.engine = engine_for(self.model, device, precision, self._log, bool(adaptive_exits))
        self.window_classifier = WindowClassifier(
            self.model.normalization, len(self.classes), self.max_batch, self._log
        )
        self.set_threshold(threshold)

        self.set_output_multiple(self.window_length)
        self.set_min_output_buffer(self.window_length * self.max_batch)
        # GNU Radio sizes the buffer in front of a block to at least twice its history, and the default
        # one holds only 64 windows, so work() would see about 24 windows a call. A history of max_batch
        # windows (never read: work() skips it) lets it see up to max_batch; the engine runs batches of
        # that size several times faster per window.
        self.set_history(self.window_length * self.max_batch)
        self.message_port_register_out(PORT)

        self._build_tag_values()
        self._native = self._native_reports()
        self._batches = BatchBuilder(self.classes)
        self._publishing = True  # whether the message port has subscribers; checked every work() call
        self._tags = UpstreamTags(self._log)
        self._check_rate_stated(samp_rate)
        self.start()

    def _build_tag_values(self) -> None:
        """PMTs are immutable and a dict shares the tail it was built on, so each window's tag is its
        (class, exit) dict, made once here, plus entropy and confidence: two dict_adds a window."""
        fields = (_KEYS["label"], _KEYS["class"], _KEYS["exit"], _KEYS["unclassifiable"])

        def base(*values: pmt.pmt_base) -> pmt.pmt_base:
            summary = pmt.make_dict()
            for key, value in zip(fields, values):
                summary = pmt.dict_add(summary, key, value)
            return summary

        self._tag_bases = [
            [base(pmt.intern(name), pmt.from_long(label), pmt.from_long(exit), pmt.PMT_F) for exit in
             range(self.engine.num_exits)]
            for label, name in enumerate(self.classes)
        ]  # fmt: skip
        unclassifiable = base(
            pmt.intern("unclassifiable"), pmt.from_long(UNCLASSIFIABLE), pmt.from_long(-1), pmt.PMT_T
        )
        unclassifiable = pmt.dict_add(unclassifiable, _KEYS["entropy"], pmt.from_double(float("nan")))
        self._unclassifiable_tag = pmt.dict_add(unclassifiable, _KEYS["confidence"], pmt.from_double(0.0))

    def _native_reports(self) -> NativeReports | None:
        """The C++ reporter over this block's tag dicts, where the extension is there (logged either way)."""
        return native_reports(self._log, self, PORT, TAG_KEY, self._tag_bases, self._unclassifiable_tag, None)

    @property
    def reports_in_cpp(self) -> bool:
        """Whether this block builds its tags and window messages in C++ (``eeamc_native``)."""
        return self._native is not None

    def start(self) -> bool:
        """A new run (GNU Radio calls this on every tb.start() / run()): its item counters start from 0
        again, so do offsets, window counts, skips and the report mode's memory; the last run's tags are
        gone."""
        self.reporting.reset()
        self.selection.reset()
        self._tags.reset()
        self.engine.reset_adaptive()  # which exits pay is learnt afresh: a rerun gives the same results
        return True

    def _log(self, level: str, text: str) -> None:
        getattr(self.logger, level)(text)

    # ---- runtime settings (GRC callbacks) ------------------------------------------------------------

    def set_threshold(self, threshold: float | Sequence[float] | None) -> None:
        """-1/None: the model's calibrated thresholds; 0: early exits off; else one value for all exits
        (or one per exit)."""
        values = requested_thresholds(threshold, self.model.thresholds)
        with self.window_classifier.lock:
            self.engine.set_thresholds(values)

    def threshold(self) -> list[float]:
        return list(self.engine.thresholds)

    def set_report(self, report: str, report_every: int = 1) -> None:
        self.reporting.report, self.reporting.report_every = check_report(report, report_every)

    def set_report_every(self, report_every: int) -> None:
        self.set_report(self.reporting.report, report_every)

    @property
    def report(self) -> str:
        return self.reporting.report

    def set_classify_every(self, classify_every: int) -> None:
        """Classify one window in ``classify_every`` from the next work() call on."""
        self.selection.classify_every, _ = check_selection(classify_every, self.selection.on_overload)

    def windows_skipped(self) -> int:
        """Windows this run left unclassified because it was behind its source (on_overload keep_up)."""
        return self.selection.skipped

    # ---- streaming ------------------------------------------------------------------------------------

    def work(self, input_items, output_items):
        samples = input_items[0][self.history() - 1 :]  # the history only enlarges the input buffer
        count = len(output_items[0]) - len(output_items[0]) % self.window_length
        output_items[0][:count] = samples[:count]
        if count == 0:
            return 0
        first = self.nitems_written(0)
        self._tags.read(self, count)
        if self._watch_rx_rate:
            self._check_rx_rate(first + count)
        # Every call returns whole windows, so the stream's window index is the item count / L.
        indices = first // self.window_length + np.arange(count // self.window_length)
        selection = self.selection
        selection.observe(self, len(samples), self.min_output_buffer(0))
        chosen = selection.chosen(indices)
        if chosen.any():
            windows = frame(samples[:count], self.window_length)
            results = self._classify(windows if chosen.all() else windows[chosen])
            self._report(indices[chosen], results)
        # Tags after the last window start still apply to the next call's first window.
        self._tags.forget_before(first + count)
        return count

    def _classify(self, windows: np.ndarray) -> Results:
        """Every window's result (unclassifiable where its input, the engine or its output failed)."""
        return self.window_classifier.classify(self.engine, windows)

    def _check_rate_stated(self, samp_rate: float) -> None:
        if not np.isfinite(samp_rate) or samp_rate < 0:
            raise ValueError(f"samp_rate must be >= 0 S/s (0 = not stated), got {samp_rate}")
        self.samp_rate = float(samp_rate)
        # Tags are checked only while no rate is stated and nothing has been logged yet.
        self._watch_rx_rate = self.samp_rate == 0
        self._rate_checked_at = -1
        if self.samp_rate:
            self._check_rate(self.samp_rate, "the samp_rate parameter")

    def _check_rx_rate(self, end: int) -> None:
        """Check the rx_rate tags read so far (those before ``end``) against the model's rate."""
        tag = self._tags.latest("rx_rate", end - 1)
        rate = self._tags.rate(end - 1)
        if rate is not None and tag[0] != self._rate_checked_at:
            self._rate_checked_at = tag[0]
            self._check_rate(rate, f"an rx_rate tag at sample {tag[0]}")

    def _rate(self, offset: int) -> float:
        """The stream's rate at ``offset``, to date windows: stated, else tagged, else the model's."""
        return self.samp_rate or self._tags.rate(offset) or self.model.signal.sample_rate

    def _rates(self, offsets: np.ndarray) -> float | np.ndarray:
        """``_rate`` of many windows: one number, unless an rx_rate tag falls among them (rare)."""
        if self.samp_rate or self._tags.latest("rx_rate", offsets[0]) == self._tags.latest(
            "rx_rate", offsets[-1]
        ):
            return self._rate(int(offsets[0]))
        return np.array([self._rate(offset) for offset in offsets.tolist()])

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

    # ---- reports --------------------------------------------------------------------------------------

    def _report(self, indices: np.ndarray, results: Results) -> None:
        """Tag (and publish) the windows ``report`` selects of those classified (stream ``indices``)."""
        results, picked = self.reporting.select(results)
        if len(picked) == 0:
            return
        indices = indices[picked]
        offsets = indices * self.window_length
        # Messages nobody receives (port not connected) are not built: a third of the reporting cost.
        self._publishing = pmt.length(self.message_subscribers(PORT)) > 0
        window_messages = self._publishing and self.message_mode == "window"
        if self._native is not None and not self._report_in_cpp(
            offsets, indices, results, picked, window_messages
        ):
            self._native = None  # it failed (logged) before sending anything: Python from here on
        if self._native is None:
            self._report_in_python(offsets, indices, results, picked, window_messages)
        if self._publishing and self.message_mode == "batch":
            self.message_port_pub(PORT, self._batch(offsets, indices, results, picked))

    def _report_in_cpp(
        self, offsets: np.ndarray, indices: np.ndarray, results: Results, picked: np.ndarray, messages: bool
    ) -> bool:
        """``_report_in_python`` in one eeamc_native call; False if it failed."""
        columns = self._tags.window_columns(offsets, self._rates(offsets)) if messages else []
        return self._native.report(offsets, indices, results.rows(picked), columns, True, messages)

    def _report_in_python(
        self, offsets: np.ndarray, indices: np.ndarray, results: Results, picked: np.ndarray, messages: bool
    ) -> None:
        """Tag the picked windows, and with ``messages`` publish each one's message, built in Python."""
        summaries = self._tag_values(results, picked)
        add_item_tag = self.add_item_tag
        for offset, summary in zip(offsets.tolist(), summaries):
            add_item_tag(0, offset, TAG_KEY, summary)
        if not messages:
            return
        for offset, index, summary, probabilities in zip(
            offsets.tolist(), indices.tolist(), summaries, results.probabilities[picked].tolist()
        ):
            self.message_port_pub(PORT, self._message(summary, probabilities, offset, index))

    def _tag_values(self, results: Results, picked: np.ndarray) -> list[pmt.pmt_base]:
        """The tag's dict of each picked window: label, class, exit, entropy, confidence, unclassifiable."""
        bases, unclassifiable = self._tag_bases, self._unclassifiable_tag
        entropy_key, confidence_key = _KEYS["entropy"], _KEYS["confidence"]
        dict_add, from_double = pmt.dict_add, pmt.from_double
        values = []
        for label, exit_index, entropy, confidence in zip(
            results.label[picked].tolist(),
            results.exit[picked].tolist(),
            results.entropy[picked].tolist(),
            results.confidence[picked].tolist(),
        ):
            if label < 0:
                values.append(unclassifiable)
                continue
            summary = dict_add(bases[label][exit_index], entropy_key, from_double(entropy))
            values.append(dict_add(summary, confidence_key, from_double(confidence)))
        return values

    def _message(
        self, summary: pmt.pmt_base, probabilities: list[float], offset: int, index: int
    ) -> pmt.pmt_base:
        """A window's message: its tag's dict plus offset, probabilities, window index and rx metadata."""
        message = pmt.dict_add(summary, _KEYS["offset"], pmt.from_uint64(offset))
        message = pmt.dict_add(
            message, _KEYS["probabilities"], pmt.init_f32vector(len(probabilities), probabilities)
        )
        message = pmt.dict_add(message, _KEYS["window"], pmt.from_uint64(index))
        for key, value in self._tags.fields(offset, self._rate(offset)).items():
            message = pmt.dict_add(message, _KEYS[key], value)
        return message

    def _batch(
        self, offsets: np.ndarray, indices: np.ndarray, results: Results, picked: np.ndarray
    ) -> pmt.pmt_base:
        """One message with every picked window of this call, as vectors (``reports.BatchBuilder``)."""
        shared, columns = self._tags.columns(offsets, self._rates(offsets))
        return self._batches.message(
            offsets,
            indices,
            results.label[picked],
            results.exit[picked],
            results.entropy[picked],
            results.confidence[picked],
            results.probabilities[picked],
            shared,
            columns,
        )
