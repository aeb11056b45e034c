# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The GNU Radio block that classifies channels of a wideband stream with one engine.

Each channel (given by ``channels`` messages, as the signal detector sends them, or set by the channel
classifier) is brought to the model's input contract by ``channels.ChannelPath``: its bins of the
input's block FFT are mixed to 0 Hz, filtered and resampled to the rate at which its bandwidth matches
the model's, its residual carrier offset is followed, and a DC spike under it is notched. The windows of
every channel that ``work()`` completes go through ONE batched engine call, so batching and the early
exit pay off across channels. Channels whose SNR is below ``squelch_db`` are not classified.

Messages on ``classification``: the classifier's dict (``reports.py``) plus ``channel``, ``freq_offset``
(Hz, the tracked centre), ``bandwidth`` (Hz), ``snr_db``, and ``offset`` in this block's input samples;
with an upstream ``rx_freq`` tag also ``freq`` (absolute Hz) and the tag itself, and with an ``rx_time``
tag the window's own time (the tag's plus the input samples since it / ``samp_rate``, UHD's tuple form).
With ``message_mode="batch"`` one message per ``work()`` call holds every channel's reported windows, the
channel keys as per-window columns (``reports.BATCH_COLUMNS``). Window messages are built and sent in
C++ where the ``eeamc_native`` extension is there (one call per ``work()`` call, the same PMTs), as the
classifier's are. ``classify_every``, ``on_overload`` and ``average`` act per channel's stream of
windows, as the classifier's do on its one stream.

Every run starts afresh (``start()``): the channeliser, each channel's samples, the finder (channels are
found again, ids from 0), window counts and offsets (GNU Radio's item counters restart from 0 too).
At the end of a stream, the samples of each channel's last incomplete window, and the input still in the
channeliser (up to three quarters of its FFT), are not classified.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pmt
from gnuradio import gr

from .channels import Channel, ChannelPath, OverlapSaveBank, SignalFinder, channel_rate
from .engine import DEFAULT_MAX_BATCH, requested_thresholds
from .model_file import load_model
from .reports import (
    UNCLASSIFIABLE,
    BatchBuilder,
    MessageBuilder,
    NativeReports,
    check_message_mode,
    check_report,
    f64_column,
    message_key,
    native_reports,
    s32_column,
)
from .running import (
    Reporting,
    Results,
    UpstreamTags,
    WindowClassifier,
    WindowSelection,
    check_selection,
    engine_for,
)
from .signal_detector import channel_map
from .windows import frame

PORT = pmt.intern("classification")
CHANNELS_PORT = pmt.intern("channels")
#: A batch's per-window channel columns and the window message's key each holds.
_CHANNEL_COLUMNS = {
    "channels": "channel",
    "freq_offsets": "freq_offset",
    "bandwidths": "bandwidth",
    "snrs_db": "snr_db",
    "window_sample_counts": "window_samples",
}
#: How far a channel's rate may be from the one asked for (the FFT sizes quantise it).
RATE_TOLERANCE = 0.005
#: Input the block's history (and so its input buffer) holds, in channeliser blocks.
HISTORY_BLOCKS = 4


@dataclass
class _ChannelState:
    """What the block keeps per channel besides its samples and its report memory (``Reporting``, by
    channel id): where it was tuned (a restart goes back there) and how many of its windows came (the
    index of the next in the channel's stream)."""

    path: ChannelPath
    tuned: float
    windows_seen: int = 0

    def retune(self, freq_offset: float) -> None:
        self.tuned = float(freq_offset)
        self.path.retune(freq_offset)

    def restart(self) -> None:
        self.path.restart(self.tuned)
        self.windows_seen = 0


class _Pending(NamedTuple):
    """One channel's windows completed by one channeliser block, waiting for the engine."""

    state: _ChannelState
    windows: np.ndarray  # [k, window_length] complex
    offsets: np.ndarray  # each window's first input sample
    indices: np.ndarray  # each window's index in the channel's stream
    fields: dict[str, pmt.pmt_base]  # the channel's keys as of that block


class _Reported(NamedTuple):
    """The windows of one _Pending that are reported, with the results reported for them."""

    fields: dict[str, pmt.pmt_base]
    results: Results
    offsets: np.ndarray
    indices: np.ndarray


class multi_channel_classifier(gr.sync_block):
    """Classify several channels of one complex stream in one batched engine call per ``work()``.

    Args:
        samp_rate: the input's sample rate (S/s).
        model, device, threshold, report, report_every, max_batch: as for ``eeamc.classifier``
            (``report`` applies per channel).
        squelch_db: channels whose SNR (in their bandwidth, measured on the input spectrum) is below
            this are not classified; -inf classifies everything.
        fft_size: the channeliser's FFT size; 0 picks bins of about 40 Hz.
        message_mode, classify_every, on_overload, precision, average, adaptive_exits: as for
            ``eeamc.classifier``
            (``average`` per channel);
            ``classify_every`` counts each channel's windows, a batch holds every channel's windows of a
            work() call (``channels``, ``freq_offsets`` ... columns), and "behind" means the input
            buffer stays full (the history lets work() see ``HISTORY_BLOCKS`` channeliser blocks).

    ``set_finder`` gives it a ``channels.SignalFinder`` that finds the channels in its own input (the
    scanner does this) instead of following ``channels`` messages; the finder's maps are then published on
    the output port ``channels``. Detection runs in step with classification, so a recording gives the
    same results however fast it is read.

    An engine call that fails (CUDA out of memory, a lost device) is logged once, then at most every few
    seconds; its windows are reported unclassifiable and the next call tries again.
    """

    def __init__(
        self,
        samp_rate: float,
        model: str = "",
        device: str = "auto",
        threshold: float | Sequence[float] | None = -1,
        report: str = "all",
        report_every: int = 1,
        squelch_db: float = 6.0,
        max_batch: int = DEFAULT_MAX_BATCH,
        fft_size: int = 0,
        message_mode: str = "window",
        classify_every: int = 1,
        on_overload: str = "queue",
        precision: str = "auto",
        average: int = 1,
        adaptive_exits: bool = False,
    ) -> None:
        gr.sync_block.__init__(
            self, name="eeamc_multi_channel_classifier", in_sig=[np.complex64], out_sig=None
        )
        if not samp_rate > 0:
            raise ValueError(f"samp_rate must be > 0 S/s (the input's sample rate), got {samp_rate}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.samp_rate = float(samp_rate)
        self.model = load_model(model)
        self.contract = self.model.signal
        self.window_length = self.model.input_length
        self.selection = WindowSelection(classify_every, on_overload, self._log)
        self.message_mode = check_message_mode(message_mode)
        self.reporting = Reporting(len(self.model.classes), average, *check_report(report, report_every))
        self.engine = engine_for(self.model, device, precision, self._log, bool(adaptive_exits))
        self.max_batch = int(max_batch)
        self.squelch_db = float(squelch_db)
        self.bank = OverlapSaveBank(self.samp_rate, fft_size)
        # GNU Radio sizes the buffer in front of a block to at least twice its history: a history of a
        # few channeliser blocks (never read) lets work() see that much input when it falls behind, so
        # the engine gets batches of many windows exactly when speed matters (the default buffer holds
        # 8192 samples, 3 ms at 2.4 MS/s: a handful of windows per call).
        self.set_history(HISTORY_BLOCKS * self.bank.fft_size)
        self._messages = MessageBuilder(self.model.classes, self.engine.num_exits)
        self._batches = BatchBuilder(self.model.classes)
        self.finder: SignalFinder | None = None
        # Channel changes and settings come from other threads; re-entrant: work() follows the finder.
        self._lock = threading.RLock()
        self._channels: dict[int, _ChannelState] = {}
        self._tags = UpstreamTags(self._log)
        self._tuned_to: float | None = None  # the radio's frequency (rx_freq) the channels were found at
        self._warned: set[str] = set()
        self.window_classifier = WindowClassifier(
            self.model.normalization, len(self.model.classes), self.max_batch, self._log
        )
        self.start()
        self.set_threshold(threshold)
        self.message_port_register_out(PORT)
        self._native = self._native_reports()
        self.message_port_register_in(CHANNELS_PORT)
        self.set_msg_handler(CHANNELS_PORT, self._on_channels)
        self.message_port_register_out(CHANNELS_PORT)

    def _native_reports(self) -> NativeReports | None:
        """The C++ reporter of window messages in ``MessageBuilder``'s key order, where the extension is
        there (logged either way). Tags: none, the block has no output stream."""
        bases, unclassifiable = self._messages.native_summaries()
        flag = message_key("unclassifiable")
        return native_reports(self._log, self, PORT, pmt.PMT_NIL, bases, unclassifiable, flag)

    @property
    def reports_in_cpp(self) -> bool:
        """Whether this block builds its window messages in C++ (``eeamc_native``)."""
        return self._native is not None

    def start(self) -> bool:
        """A new run (GNU Radio calls this on every tb.start() / run(), and its item counters restart from
        0): the channeliser and every channel start over; channels the finder found are found again."""
        with self._lock:
            self.bank.reset()
            if self.finder is not None:
                self.finder.reset()
                self._channels.clear()
            for state in self._channels.values():
                state.restart()
            self._tags.reset()
            self.reporting.reset()
            self.engine.reset_adaptive()
            self._tuned_to = None
            self.windows_classified = 0
            self.windows_squelched = 0
            self.selection.reset()
        return True

    def _log(self, level: str, text: str) -> None:
        getattr(self.logger, level)(text)

    # ---- settings ---------------------------------------------------------------------------------------

    def set_threshold(self, threshold: float | Sequence[float] | None) -> None:
        """-1/None: the model's calibrated thresholds; 0: early exits off; else one value or one per exit."""
        values = requested_thresholds(threshold, self.model.thresholds)
        with self.window_classifier.lock:
            self.engine.set_thresholds(values)

    def set_report(self, report: str, report_every: int = 1) -> None:
        self.reporting.report, self.reporting.report_every = check_report(report, report_every)

    def set_finder(self, finder: SignalFinder | None) -> None:
        """Find channels in the input with ``finder`` (None: follow ``channels`` messages again)."""
        with self._lock:
            self.finder = finder

    def set_squelch(self, squelch_db: float) -> None:
        self.squelch_db = float(squelch_db)

    def set_classify_every(self, classify_every: int) -> None:
        """Classify one window in ``classify_every`` of each channel from the next work() call on."""
        self.selection.classify_every, _ = check_selection(classify_every, self.selection.on_overload)

    def windows_skipped(self) -> int:
        """Windows this run left unclassified because it was behind its source (on_overload keep_up)."""
        return self.selection.skipped

    # ---- channels ---------------------------------------------------------------------------------------

    def set_channel(
        self,
        channel: int,
        freq_offset: float,
        bandwidth: float,
        rate: float = 0.0,
        search_hz: float = 0.0,
        max_drift: float = 0.0,
    ) -> None:
        """Follow a channel at ``freq_offset`` Hz of ``bandwidth`` Hz (re-tunes it if it exists).

        ``rate`` (input-referred S/s) defaults to the one at which the bandwidth matches the model's;
        ``search_hz`` (how far from ``freq_offset`` the residual-offset estimate looks) to half the
        bandwidth plus 1 kHz; ``max_drift`` (how far the tracked centre may go) to a quarter of the
        bandwidth. A new bandwidth that calls for another rate rebuilds the channel."""
        self._check_frequency(freq_offset)
        if not (math.isfinite(bandwidth) and bandwidth > 0):
            raise ValueError(f"bandwidth must be a finite number of Hz > 0, got {bandwidth}")
        if rate > self.samp_rate:
            raise ValueError(
                f"a {bandwidth:g} Hz wide channel needs {rate:g} S/s, more than the input's "
                f"{self.samp_rate:g} S/s: give a wider input, or a smaller bandwidth"
            )
        # A detected signal wider than the input's rate allows is taken at the input's rate.
        rate = rate or min(channel_rate(bandwidth, self.contract), self.samp_rate)
        with self._lock:
            state = self._channels.get(channel)
            if state is not None and abs(state.path.rate - rate) <= 0.01 * rate:
                state.path.bandwidth = float(bandwidth)
                if abs(float(freq_offset) - state.tuned) > bandwidth / 4:  # another signal: decide afresh
                    self.reporting.forget(channel)
                state.retune(freq_offset)
                return
            search = search_hz or min(rate / 2, bandwidth / 2 + 1e3)
            drift = max_drift or bandwidth / 4
            path = ChannelPath(self.bank, freq_offset, rate, bandwidth, search, id=channel, max_drift=drift)
            if abs(path.actual_rate - rate) > RATE_TOLERANCE * rate:
                raise ValueError(
                    f"the channeliser's {self.bank.fft_size}-point FFT gives a {rate:g} S/s channel "
                    f"{path.actual_rate:g} S/s: use a larger fft_size (0 picks one), or a wider channel"
                )
            self._channels[channel] = _ChannelState(path, float(freq_offset))

    def remove_channel(self, channel: int) -> None:
        with self._lock:
            self._channels.pop(channel, None)
            self.reporting.forget(channel)

    def channels(self) -> list[ChannelPath]:
        with self._lock:
            return [state.path for state in self._channels.values()]

    def _check_frequency(self, freq_offset: float) -> None:
        if not math.isfinite(freq_offset) or abs(freq_offset) >= self.samp_rate / 2:
            raise ValueError(
                f"frequency offset {freq_offset} Hz is outside the input's band "
                f"(+-{self.samp_rate / 2:g} Hz at {self.samp_rate:g} S/s)"
            )

    def _on_channels(self, message: pmt.pmt_base) -> None:
        """A channel map (a PMT vector of dicts channel/freq_offset/bandwidth): follow exactly those.
        Entries that are no channel of this band are left out, logged once; the rest is followed."""
        try:
            items = [
                (int(item["channel"]), float(item["freq_offset"]), float(item["bandwidth"]))
                for item in pmt.to_python(message)
            ]
        except (KeyError, TypeError, ValueError) as error:
            self._warn_once("channels", f"ignored a malformed channels message ({error!r}; logged once)")
            return
        wanted = {}
        for channel, freq_offset, bandwidth in items:
            problem = self._channel_problem(freq_offset, bandwidth)
            if problem:
                self._warn_once("bad channel", f"ignored channel {channel} of a channels message: {problem}")
            else:
                wanted[channel] = (freq_offset, bandwidth)
        self._follow(wanted)

    def _channel_problem(self, freq_offset: float, bandwidth: float) -> str | None:
        if not math.isfinite(freq_offset) or abs(freq_offset) >= self.samp_rate / 2:
            return f"frequency offset {freq_offset} Hz is outside the input's +-{self.samp_rate / 2:g} Hz"
        if not (math.isfinite(bandwidth) and bandwidth > 0):
            return f"bandwidth {bandwidth} Hz is not a bandwidth"
        return None

    def _follow(self, wanted: dict[int, tuple[float, float]]) -> None:
        """Follow exactly the channels ``wanted`` (id -> centre, bandwidth)."""
        with self._lock:
            for channel in [c for c in self._channels if c not in wanted]:
                del self._channels[channel]
                self.reporting.forget(channel)
            for channel, (freq_offset, bandwidth) in wanted.items():
                existing = self._channels.get(channel)
                moved = existing is not None and abs(existing.path.centre - freq_offset) > bandwidth / 4
                widened = existing is not None and abs(existing.path.bandwidth - bandwidth) > 0.2 * bandwidth
                if existing is None or widened:
                    try:
                        self.set_channel(channel, freq_offset, bandwidth)
                    except ValueError as error:  # in the message handler's thread: log, never die
                        self._warn_once("channel", f"cannot follow channel {channel}: {error} (logged once)")
                elif moved:
                    existing.retune(freq_offset)  # the detector knows better than the tracker here

    def _found(self, channels: list[Channel]) -> None:
        self._follow({channel.id: (channel.freq_offset, channel.bandwidth) for channel in channels})

    # ---- streaming --------------------------------------------------------------------------------------

    def work(self, input_items, output_items):
        samples = input_items[0][self.history() - 1 :]  # the history only enlarges the input buffer
        self._tags.read(self, len(samples))
        retunes = self._retunes(self.nitems_read(0), len(samples))
        self.selection.observe(self, len(samples), 2 * self.history())  # its input buffer: 2 histories
        if not np.isfinite(samples).all():
            self._warn_once("nonfinite", "NaN/Inf input samples replaced by 0 (logged once)")
            samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
        with self._lock:  # channels may be added, moved or removed from other threads
            pending = []
            for index, piece in enumerate(np.split(samples, retunes)):
                if index:
                    self._forget_band()
                if self.finder is None:
                    pending += self._channelise(piece)
                else:
                    pending += self._find_and_channelise(piece)
        if pending:
            self._classify_and_report(pending)
        self._tags.forget_before(self._oldest_pending())
        return len(samples)

    def _oldest_pending(self) -> int:
        """The earliest input sample a window still to come can start at (older tags are not needed)."""
        with self._lock:
            starts = [
                state.path.positions[0] for state in self._channels.values() if len(state.path.positions)
            ]
            return int(math.floor(min(starts, default=self.bank.next_position)))

    def _find_and_channelise(self, samples: np.ndarray) -> list[_Pending]:
        """As ``_channelise``, following the finder's channel map as it updates along the stream."""
        pending = []
        for piece, update in self.finder.pieces(samples):
            pending += self._channelise(piece)
            if update is not None:
                self._found(update.channels)
                if update.publish:
                    self.message_port_pub(CHANNELS_PORT, channel_map(update.channels, update.offset))
        return pending

    def _retunes(self, start: int, count: int) -> list[int]:
        """Where in this call's samples the radio retuned (an rx_freq tag with a new value), as indices."""
        points = []
        for offset, value in self._tags.between("rx_freq", start, start + count):
            if not (pmt.is_real(value) or pmt.is_integer(value)):
                continue
            frequency = pmt.to_double(value)
            if self._tuned_to is not None and frequency != self._tuned_to:
                points.append(offset - start)
            self._tuned_to = frequency
        return points

    def _forget_band(self) -> None:
        """The radio retuned: the signals found before are not where they were, so a block that finds
        its own channels drops them and finds the new band's afresh (new ids)."""
        if self.finder is not None:
            self.finder.forget()
            self._channels.clear()
            self.reporting.reset()

    def _channelise(self, samples: np.ndarray) -> list[_Pending]:
        """Every channel's complete windows (and their input offsets) from the blocks ``samples`` end."""
        pending = []
        for block_index, spectrum, floor in self.bank.blocks(samples):
            for state in self._channels.values():
                state.path.process(block_index, spectrum, floor)
                windows, offsets = state.path.take_windows(self.window_length)
                if len(windows) == 0:
                    continue
                if state.path.snr_db < self.squelch_db:
                    self.windows_squelched += len(windows)
                    continue
                indices = state.windows_seen + np.arange(len(windows))
                state.windows_seen += len(windows)
                chosen = self.selection.chosen(indices)
                if not chosen.any():
                    continue
                # The channel's centre and SNR as of the block that completed these windows, not as of
                # the end of the work() call: messages must not depend on how the stream was cut.
                fields = self._channel_fields(state.path)
                pending.append(_Pending(state, windows[chosen], offsets[chosen], indices[chosen], fields))
        return pending

    def _classify_and_report(self, pending: list[_Pending]) -> None:
        windows = frame(np.concatenate([part.windows.reshape(-1) for part in pending]), self.window_length)
        results = self._classify(windows)
        self.windows_classified += int(results.classified.sum())
        reported, start = [], 0
        for part in pending:  # each channel's reports (its own report memory and average)
            count = len(part.offsets)
            own, rows = self.reporting.select(results.rows(slice(start, start + count)), part.state.path.id)
            start += count
            if len(rows):
                reported.append(
                    _Reported(part.fields, own.rows(rows), part.offsets[rows], part.indices[rows])
                )
        if not reported or pmt.length(self.message_subscribers(PORT)) == 0:
            return
        if self.message_mode == "batch":
            self.message_port_pub(PORT, self._batch(reported))
            return
        if self._native is not None and not self._publish_in_cpp(reported):
            self._native = None  # it failed (logged) before sending anything: Python from here on
        if self._native is None:
            self._publish_in_python(reported)

    def _publish_in_python(self, reported: list[_Reported]) -> None:
        for fields, own, offsets, indices in reported:
            for row, (offset, index) in enumerate(zip(offsets.tolist(), indices.tolist())):
                self.message_port_pub(PORT, self._message(own, row, offset, index, fields))

    def _publish_in_cpp(self, reported: list[_Reported]) -> bool:
        """``_publish_in_python`` in one eeamc_native call (False if it failed): the same keys in the same
        order, each a column over every reported window of this call."""
        offsets, indices, results, channel = self._joined(reported)
        # MessageBuilder's rule: a window not classified is unclassifiable, with zero probabilities.
        unclassified = ~results.classified
        results.label[unclassified] = UNCLASSIFIABLE
        results.probabilities[unclassified] = 0.0
        columns = [("long", message_key("channel"), channel.pop("channels").astype(np.int64))]
        columns += [("double", message_key(_CHANNEL_COLUMNS[key]), values) for key, values in channel.items()]
        columns += self._tags.window_columns(offsets, self.samp_rate)
        frequencies = self._tags.numbers("rx_freq", offsets)  # NaN (no freq key) where no rx_freq tag
        columns.append(("optional_double", message_key("freq"), frequencies + channel["freq_offsets"]))
        return self._native.report(offsets, indices, results, columns, False, True)

    def _classify(self, windows: np.ndarray) -> Results:
        """Every window's result (unclassifiable where its input, the engine or its output failed)."""
        return self.window_classifier.classify(self.engine, windows)

    def _channel_fields(self, path: ChannelPath) -> dict[str, pmt.pmt_base]:
        return {
            "channel": pmt.from_long(path.id),
            "freq_offset": pmt.from_double(path.centre),
            "bandwidth": pmt.from_double(path.bandwidth),
            "snr_db": pmt.from_double(path.snr_db),
            # how many input samples a window spans at this channel's rate (for annotations' lengths)
            "window_samples": pmt.from_double(self.window_length * self.bank.fft_size / path.size),
        }

    def _message(self, results: Results, row: int, offset: int, window: int, extra) -> pmt.pmt_base:
        fields = {**extra, **self._tags.fields(offset, self.samp_rate)}
        if "rx_freq" in fields:
            # the same centre as the message's freq_offset: the one of the block the window came from
            fields["freq"] = pmt.from_double(
                pmt.to_double(fields["rx_freq"]) + pmt.to_double(fields["freq_offset"])
            )
        if not results.classified[row]:
            return self._messages.unclassifiable(offset, window, fields)
        return self._messages.message(
            int(results.label[row]),
            int(results.exit[row]),
            float(results.entropy[row]),
            float(results.confidence[row]),
            results.probabilities[row].tolist(),
            offset,
            window,
            fields,
        )

    @staticmethod
    def _joined(reported: list[_Reported]) -> tuple[np.ndarray, np.ndarray, Results, dict[str, np.ndarray]]:
        """Every reported window of this call in order: offsets, indices, results, and the channel keys
        as columns of numbers (``_CHANNEL_COLUMNS``)."""
        offsets = np.concatenate([part.offsets for part in reported])
        indices = np.concatenate([part.indices for part in reported])
        results = Results.joined([part.results for part in reported])
        per_part = [len(part.offsets) for part in reported]
        columns = {
            key: np.repeat([pmt.to_double(part.fields[name]) for part in reported], per_part)
            for key, name in _CHANNEL_COLUMNS.items()
        }
        return offsets, indices, results, columns

    def _batch(self, reported: list[_Reported]) -> pmt.pmt_base:
        """One message with every channel's reported windows of this call (``reports.BatchBuilder``)."""
        offsets, indices, results, columns = self._joined(reported)
        shared, tag_columns = self._tags.columns(offsets, self.samp_rate)
        frequencies = self._tags.numbers("rx_freq", offsets)
        if not np.isnan(frequencies).all():
            tag_columns["freqs"] = f64_column(frequencies + columns["freq_offsets"])
        channel_columns = {key: f64_column(values) for key, values in columns.items()}
        channel_columns["channels"] = s32_column(columns["channels"])
        return self._batches.message(
            offsets,
            indices,
            results.label,
            results.exit,
            results.entropy,
            results.confidence,
            results.probabilities,
            shared,
            {**channel_columns, **tag_columns},
        )

    def _warn_once(self, what: str, text: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            self.logger.warn(text)
