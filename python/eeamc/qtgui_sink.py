# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""``eeamc.qtgui_sink``: a Qt GUI view of live classifications: a table of every channel's latest class,
the class over time (one lane per channel) and the share of windows per exit.

The data path, and the thread each part runs in:

    message handler (GNU Radio's thread): PMT -> plain records (:func:`records_of`)
        -> :class:`ChannelBoard` (thread-safe, no Qt): one row per channel
        -> :class:`ClassHistory` (thread-safe, no Qt): per channel, the windows of each class and of each
           exit in time bins over the last ``history_s`` seconds (memory bounded, O(1) a window)
        -> at most one queued Qt signal while a redraw is pending
    :class:`ResultsWidget` (Qt's GUI thread): redraws its views at most ``update_hz`` times a second

so thousands of messages a second cost the GUI ``update_hz`` redraws, and no Qt object is touched from
GNU Radio's threads. A view is anything with ``refresh(rows)``: the table (:class:`ChannelTable`) and
the timeline (:class:`TimelineView`: the class raster with the model's classes as its legend, and each
lane's exit shares); more can be added with :meth:`ResultsWidget.add_view`, fed the same snapshot.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pmt
from gnuradio import gr
from PyQt5 import QtCore, QtGui, QtWidgets

from . import reports
from .info import exits as model_exits
from .model_file import Model, load_model

PORT = "classification"
COLUMNS = ("channel", "frequency", "class", "confidence", "exit", "SNR", "windows", "last update")
#: Row key of messages without a ``channel`` key (a plain classifier or one channel classifier).
NO_CHANNEL = -1
UNCLASSIFIABLE = "unclassifiable"
#: Time bins the timeline keeps (its resolution): each is history_s / HISTORY_BINS seconds.
HISTORY_BINS = 300


# ---- records: what a message holds, as plain Python ------------------------------------------------------


class MessageError(ValueError):
    """A message this block cannot show (not a dict, or a batch of unequal columns)."""


def plain_message(message: pmt.pmt_base) -> Any:
    """A message as plain Python: ``pmt.to_python``'s reading, which is twice as fast as
    ``reports.to_json``'s, or ``reports.to_json``'s where to_python cannot read it (a batch's uint64
    columns). (to_json is not used for everything: it reads a PMT list of dicts as one dict.)"""
    try:
        return pmt.to_python(message)
    except ValueError:
        return reports.to_json(message)


def records_of(message: Any) -> list[dict[str, Any]]:
    """The classification records in a message, converted by :func:`plain_message`.

    A dict is one record; a list, tuple or vector of dicts (PMT lists arrive as nested pairs) is a batch;
    a dict whose ``label`` or ``class`` is a sequence is a batch in columns (one row per element; scalar
    fields apply to every row); a batched message (``classes``, ``exits`` ... columns, as
    ``reports.records`` reads them) is one record per window. Anything else raises :class:`MessageError`.
    """
    if message is None:  # the end of a PMT list
        return []
    if isinstance(message, dict):
        return _unrolled_batch(message) if _is_batch(message) else _split_columns(message)
    if isinstance(message, (list, tuple)):
        return [record for item in message for record in records_of(item)]
    raise MessageError(f"a {type(message).__name__} is not a classification dict")


def _is_column(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) >= 1


def _is_batch(record: dict[str, Any]) -> bool:
    # reports.is_batch, for columns that pmt.to_python left as numpy arrays too
    return _is_column(record.get("classes")) and "label" not in record


def _unrolled_batch(record: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return reports.unroll_batch(reports.plain(record))
    except (KeyError, TypeError, ValueError) as error:
        raise MessageError(f"a batched message it cannot unroll: {error}") from error


def _split_columns(record: dict[str, Any]) -> list[dict[str, Any]]:
    anchor = next((record[key] for key in ("label", "class") if key in record), None)
    if anchor is None or not _is_column(anchor):
        return [record]
    count = len(anchor)
    # ``probabilities`` of one window is a vector too; only columns as long as the batch are split.
    columns = {key: value for key, value in record.items() if _is_column(value) and len(value) == count}
    if any(_is_column(record.get(key)) and key not in columns for key in ("label", "class", "exit")):
        raise MessageError("a batch whose label, class and exit columns differ in length")
    shared = {key: value for key, value in record.items() if key not in columns}
    return [{**shared, **{key: value[i] for key, value in columns.items()}} for i in range(count)]


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _integer(value: Any, default: int | None = None) -> int | None:
    number = _number(value)
    return int(number) if number is not None else default


def channel_of(record: dict[str, Any]) -> int:
    return _integer(record.get("channel"), NO_CHANNEL)


def label_of(record: dict[str, Any]) -> str:
    """The class a record shows: its label, or ``unclassifiable``."""
    if bool(record.get("unclassifiable", False)):
        return UNCLASSIFIABLE
    return str(record.get("label", record.get("class", "?")))


def frequency_of(record: dict[str, Any]) -> tuple[float | None, bool]:
    """(Hz, absolute): the absolute ``freq`` when the source tagged rx_freq, else ``freq_offset``."""
    absolute = _number(record.get("freq")) is not None
    return _number(record.get("freq") if absolute else record.get("freq_offset")), absolute


def by_frequency(item: Any) -> tuple[bool, float, int]:
    """Sort key of rows and lanes: by frequency (as in the waterfall), those without one last."""
    return (item.frequency is None, item.frequency or 0.0, item.channel)


# ---- the board: one row per channel, shared between GNU Radio's thread and the GUI's ---------------------


@dataclass(frozen=True)
class ChannelRow:
    """What the table shows of one channel; ``age`` and ``stale`` are filled in by a snapshot."""

    channel: int
    frequency: float | None
    absolute: bool  # frequency is ``freq`` (absolute Hz) rather than ``freq_offset``
    label: str
    confidence: float | None
    exit: int | None
    snr_db: float | None
    windows: int
    last_update: float
    age: float = 0.0
    stale: bool = False


class ChannelBoard:
    """The latest record of every channel, safe to update from one thread and read from another.

    Args:
        stale_after: seconds without a report after which a row is shown greyed out.
        drop_after: seconds without a report after which a row is removed; 0 keeps rows for ever.
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(
        self, stale_after: float = 5.0, drop_after: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.set_ageing(stale_after, drop_after)
        self._clock = clock
        self._rows: dict[int, ChannelRow] = {}
        self._lock = threading.Lock()
        self._pending = False

    def set_ageing(self, stale_after: float, drop_after: float) -> None:
        if not stale_after > 0:
            raise ValueError(f"stale_after must be > 0 seconds, got {stale_after}")
        if drop_after < 0 or (drop_after and drop_after < stale_after):
            raise ValueError(
                f"drop_after must be 0 (never drop) or >= stale_after ({stale_after} s), got {drop_after}"
            )
        self.stale_after, self.drop_after = float(stale_after), float(drop_after)

    def update(self, records: Iterable[dict[str, Any]]) -> bool:
        """Merge records into the rows; True if a redraw must now be requested (none was pending)."""
        records = list(records)
        if not records:
            return False
        now = self._clock()
        with self._lock:
            for record in records:
                channel = channel_of(record)
                self._rows[channel] = self._merged(self._rows.get(channel), channel, record, now)
            request, self._pending = not self._pending, True
        return request

    @staticmethod
    def _merged(previous: ChannelRow | None, channel: int, record: dict[str, Any], now: float) -> ChannelRow:
        frequency, absolute = frequency_of(record)
        return ChannelRow(
            channel=channel,
            frequency=frequency,
            absolute=absolute,
            label=label_of(record),
            confidence=_number(record.get("confidence")),
            exit=_integer(record.get("exit")),
            snr_db=_number(record.get("snr_db")),
            windows=(previous.windows if previous else 0) + 1,
            last_update=now,
        )

    def snapshot(self) -> list[ChannelRow]:
        """Rows by frequency (as in the waterfall), aged now; drops expired rows; clears the pending flag."""
        now = self._clock()
        with self._lock:
            self._pending = False
            if self.drop_after:
                self._rows = {
                    key: row for key, row in self._rows.items() if now - row.last_update <= self.drop_after
                }
            rows = list(self._rows.values())
        aged = [
            replace(row, age=now - row.last_update, stale=now - row.last_update > self.stale_after)
            for row in rows
        ]
        return sorted(aged, key=by_frequency)


# ---- the history: per channel, windows per class and per exit in time bins --------------------------------

#: What :meth:`ClassHistory.add` could not place, for the block to log.
NO_OFFSET = "a record without an offset (needed for stream time); it is not in the timeline"
WENT_BACK = "stream time went back by more than the history (the flowgraph started again?); timeline cleared"


@dataclass(frozen=True)
class Lane:
    """One channel's last ``history_s`` seconds. ``cells[p]`` is the class (a column of
    ``Timeline.classes``) of most windows in time bin p, -1 where there were none; p = 0 is the oldest."""

    channel: int
    frequency: float | None
    absolute: bool
    cells: np.ndarray  # HISTORY_BINS ints
    class_counts: np.ndarray  # windows per class over the history
    exit_counts: np.ndarray  # windows per exit over the history (an unclassifiable window took none)


@dataclass(frozen=True)
class Timeline:
    """What the timeline view draws: the lanes by frequency and the span they cover."""

    classes: tuple[str, ...]
    exits: tuple[str, ...]
    start: float  # seconds (the stream's with a sample rate, else the clock's) at which bin 0 starts
    bin_s: float
    stream: bool
    lanes: tuple[Lane, ...] = field(default=())

    @property
    def end(self) -> float:
        return self.start + self.bin_s * HISTORY_BINS

    def exit_totals(self) -> np.ndarray:
        """Windows per exit, all lanes together."""
        return sum((lane.exit_counts for lane in self.lanes), np.zeros(len(self.exits), np.int64))


class _Counts:
    """One channel's counters: a ring of HISTORY_BINS slots, slot s holding time bin ``bins[s]``."""

    def __init__(self, classes: int, exits: int) -> None:
        self.bins = np.full(HISTORY_BINS, -1, np.int64)
        self.classes = np.zeros((HISTORY_BINS, classes), np.int64)
        self.exits = np.zeros((HISTORY_BINS, exits), np.int64)
        self.frequency: float | None = None
        self.absolute = False

    def add(self, bin_index: int, column: int, exit_index: int | None) -> None:
        slot = bin_index % HISTORY_BINS
        if self.bins[slot] != bin_index:  # the slot's bin has left the history: reuse it
            self.bins[slot] = bin_index
            self.classes[slot] = 0
            self.exits[slot] = 0
        self.classes[slot, column] += 1
        if exit_index is not None and exit_index >= 0:
            self.exits[slot, exit_index] += 1

    def widen(self, classes: int, exits: int) -> None:
        self.classes = np.pad(self.classes, ((0, 0), (0, classes - self.classes.shape[1])))
        self.exits = np.pad(self.exits, ((0, 0), (0, exits - self.exits.shape[1])))

    def lane(self, channel: int, first: int) -> Lane | None:
        """The lane of bins first .. first + HISTORY_BINS - 1; None when none of them has a window."""
        positions = np.arange(first, first + HISTORY_BINS)
        slots = positions % HISTORY_BINS
        held = self.bins[slots] == positions
        if not held.any():
            return None
        classes = self.classes[slots] * held[:, None]
        exits = self.exits[slots] * held[:, None]
        # The majority class of each bin (ties: the class listed first).
        cells = np.where(classes.any(axis=1), classes.argmax(axis=1), -1)
        return Lane(channel, self.frequency, self.absolute, cells, classes.sum(axis=0), exits.sum(axis=0))


class ClassHistory:
    """Per channel, how many windows of each class and of each exit came in each time bin of the last
    ``history_s`` seconds; safe to add to from one thread and read from another.

    Args:
        classes: the model's class names (the legend's order; labels the model lacks are appended).
        exits: a name for each of the model's exits.
        history_s: seconds kept (in HISTORY_BINS bins).
        samp_rate: the rate of the messages' ``offset`` (the scanner's or channel classifier's input rate,
            the classifier's input rate): time is then the stream's, offset / samp_rate, so the view shows
            what the signals did when, however fast or slow the flowgraph runs. 0: a record's time is when
            it arrived.
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(
        self,
        classes: Sequence[str],
        exits: Sequence[str],
        history_s: float = 60.0,
        samp_rate: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._classes = {str(name): column for column, name in enumerate(classes)}
        self._exits = [str(name) for name in exits]
        self.set_timing(history_s, samp_rate)

    def set_timing(self, history_s: float, samp_rate: float) -> None:
        """A new span or time base: the history starts afresh (its bins would mean something else)."""
        if not history_s > 0:
            raise ValueError(f"history_s must be > 0 seconds, got {history_s}")
        if not samp_rate >= 0:
            raise ValueError(f"samp_rate must be >= 0 (0: time of arrival), got {samp_rate}")
        with self._lock:
            self.history_s, self.samp_rate = float(history_s), float(samp_rate)
            self.bin_s = self.history_s / HISTORY_BINS
            self._lanes: dict[int, _Counts] = {}
            self._newest: int | None = None

    def bin_of(self, seconds: float) -> int:
        """The time bin that holds ``seconds``."""
        return math.floor(seconds / self.bin_s)

    def add(self, records: Iterable[dict[str, Any]]) -> set[str]:
        """Count records in; the problems met (NO_OFFSET, WENT_BACK) for the caller to log."""
        problems: set[str] = set()
        now = self._clock()
        with self._lock:
            for record in records:
                problem = self._add(record, now)
                if problem:
                    problems.add(problem)
        return problems

    def _add(self, record: dict[str, Any], now: float) -> str | None:
        problem = None
        if self.samp_rate:
            offset = _number(record.get("offset"))
            if offset is None:
                return NO_OFFSET
            bin_index = self.bin_of(offset / self.samp_rate)
            if self._newest is not None and bin_index <= self._newest - HISTORY_BINS:
                self._lanes.clear()
                self._newest, problem = None, WENT_BACK
            self._newest = bin_index if self._newest is None else max(self._newest, bin_index)
        else:
            bin_index = self.bin_of(now)
        column = self._column(label_of(record))
        exit_index = _integer(record.get("exit"))
        if exit_index is not None and exit_index >= len(self._exits):  # a model with more exits
            self._exits += [f"exit {index}" for index in range(len(self._exits), exit_index + 1)]
            self._widen()
        channel = channel_of(record)
        counts = self._lanes.get(channel)
        if counts is None:
            counts = self._lanes[channel] = _Counts(len(self._classes), len(self._exits))
        counts.frequency, counts.absolute = frequency_of(record)
        counts.add(bin_index, column, exit_index)
        return problem

    def _column(self, label: str) -> int:
        column = self._classes.get(label)
        if column is None:  # not one of the model's classes (unclassifiable, or another model's)
            column = self._classes[label] = len(self._classes)
            self._widen()
        return column

    def _widen(self) -> None:
        for counts in self._lanes.values():
            counts.widen(len(self._classes), len(self._exits))

    def snapshot(self) -> Timeline:
        """The lanes of the last ``history_s`` seconds (ending at the newest record's time, or now when
        time is arrival time); channels with nothing left in it are dropped."""
        now = self._clock()
        with self._lock:
            newest = self._newest if self.samp_rate else self.bin_of(now)
            first = 0 if newest is None else newest - HISTORY_BINS + 1
            lanes = []
            for channel, counts in list(self._lanes.items()):
                lane = counts.lane(channel, first)
                if lane is None:
                    del self._lanes[channel]
                else:
                    lanes.append(lane)
            return Timeline(
                classes=tuple(self._classes),
                exits=tuple(self._exits),
                start=first * self.bin_s,
                bin_s=self.bin_s,
                stream=bool(self.samp_rate),
                lanes=tuple(sorted(lanes, key=by_frequency)),
            )


# ---- Qt: colours, views and the widget that rate-limits their redraws ------------------------------------

#: Class colours by legend position: distinct hues (Tableau's), none of them grey.
CLASS_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#393b79", "#98df8a", "#c5b0d5", "#f7b6d2", "#dbdb8d",
)  # fmt: skip
UNCLASSIFIABLE_COLOUR = "#5f5f5f"
#: A time bin with no window of the lane's channel.
EMPTY_COLOUR = "#ffffff"
#: Exits from the first (lightest) to the last (darkest): one hue, as they are an order, not kinds.
EXIT_COLOURS = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")


def class_colour(classes: Sequence[str], column: int) -> QtGui.QColor:
    """The colour of class ``classes[column]`` in the raster and the legend."""
    if classes[column] == UNCLASSIFIABLE:
        return QtGui.QColor(UNCLASSIFIABLE_COLOUR)
    return QtGui.QColor(CLASS_COLOURS[column % len(CLASS_COLOURS)])


def exit_colour(index: int, count: int) -> QtGui.QColor:
    """Exit ``index`` of ``count``: spread over EXIT_COLOURS, light (first) to dark (last)."""
    if count <= 1:
        return QtGui.QColor(EXIT_COLOURS[-1])
    return QtGui.QColor(EXIT_COLOURS[round(index * (len(EXIT_COLOURS) - 1) / (count - 1))])


def format_frequency(frequency: float | None, absolute: bool) -> str:
    if frequency is None:
        return "-"
    return f"{frequency / 1e6:.4f} MHz" if absolute else f"{frequency / 1e3:+.1f} kHz"


def format_cells(row: ChannelRow) -> tuple[str, ...]:
    """The table's text for one row, in COLUMNS order."""
    return (
        "-" if row.channel == NO_CHANNEL else str(row.channel),
        format_frequency(row.frequency, row.absolute),
        row.label,
        "-" if row.confidence is None else f"{100 * row.confidence:.0f} %",
        "-" if row.exit is None else str(row.exit),
        "-" if row.snr_db is None else f"{row.snr_db:.1f} dB",
        str(row.windows),
        f"{row.age:.1f} s ago",
    )


class ChannelTable(QtWidgets.QTableWidget):
    """The table view: one row per channel, stale rows greyed out."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        # Columns as wide as their text (a few rows, redrawn at most update_hz times a second).
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setMinimumSize(560, 160)
        self._stale_brush = QtGui.QBrush(QtGui.QColor("gray"))
        self._live_brush = self.palette().brush(QtGui.QPalette.Text)

    def refresh(self, rows: Sequence[ChannelRow]) -> None:
        self.setRowCount(len(rows))
        for index, row in enumerate(rows):
            brush = self._stale_brush if row.stale else self._live_brush
            for column, text in enumerate(format_cells(row)):
                item = self.item(index, column)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    self.setItem(index, column, item)
                item.setText(text)
                item.setForeground(brush)

    def cells(self) -> list[tuple[str, ...]]:
        """The text shown, row by row (for tests and scripts)."""
        return [
            tuple(self.item(r, c).text() for c in range(self.columnCount())) for r in range(self.rowCount())
        ]


MARGIN_PX, GAP_PX, SWATCH_PX = 6, 10, 12
EXIT_BAR_PX = 170
#: The percentages on the exit bars, in a font this much smaller than the widget's (they fit a lane).
BAR_TEXT_SCALE = 0.8
MIN_LANE_PX, MAX_LANE_PX = 8, 24
#: Tick spacings the time axis picks from (seconds), at most one tick per TICK_PX of raster.
TICK_STEPS = tuple(mantissa * 10.0**power for power in range(-3, 4) for mantissa in (1, 2, 5))
TICK_PX = 70
ALL_CHANNELS = "all channels"


def time_ticks(timeline: Timeline, most: int) -> list[tuple[float, str]]:
    """(fraction of the raster's width, label) of at most ``most`` ticks: stream seconds at round values,
    or seconds before now when time is arrival time."""
    span = timeline.end - timeline.start
    step = next((step for step in TICK_STEPS if span / step <= max(most, 1)), TICK_STEPS[-1])
    if timeline.stream:
        values = [
            k * step for k in range(math.ceil(timeline.start / step), math.floor(timeline.end / step) + 1)
        ]
        return [((value - timeline.start) / span, f"{value:g} s") for value in values]
    count = math.floor(span / step + 1e-9)
    return [((span - k * step) / span, f"-{k * step:g} s" if k else "now") for k in range(count + 1)]


@dataclass(frozen=True)
class TimelineAreas:
    """Where :class:`TimelineView` draws each part, in its own coordinates."""

    lane_px: int
    shown: int  # lanes drawn (the rest do not fit)
    labels_x: int
    raster: QtCore.QRect  # the shown lanes (one lane high when there is none)
    bars_x: int
    axis_y: int
    total_y: int  # the all-channels exit bar's row
    swatches: dict[str, QtCore.QRect]  # legend: class or exit name -> its colour square


class TimelineView(QtWidgets.QWidget):
    """The class over time, one lane per channel (colour = class, the model's classes as the legend), and
    at each lane's right end the share of its windows per exit (one more bar: all channels), over the
    history's last ``history_s`` seconds."""

    def __init__(self, history: ClassHistory, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.timeline = history.snapshot()
        self.setMinimumSize(560, 170)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Expanding)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt's name)
        return QtCore.QSize(760, 300)

    def refresh(self, _rows: Sequence[ChannelRow]) -> None:
        self.timeline = self.history.snapshot()
        self.update()  # paints from the GUI thread's event loop

    # -- where things go -------------------------------------------------------------------------------

    def areas(self) -> TimelineAreas:
        metrics = self.fontMetrics()
        line = metrics.height() + 4
        labels = [lane_label(lane) for lane in self.timeline.lanes]
        labels_w = max(metrics.horizontalAdvance(text) for text in [*labels, "channel"]) + GAP_PX
        bars_x = self.width() - MARGIN_PX - EXIT_BAR_PX
        left = MARGIN_PX + labels_w
        top = MARGIN_PX + line  # below the titles
        swatches, legend_h = self._legend(MARGIN_PX, self.width() - MARGIN_PX, line)
        room = self.height() - top - 2 * line - GAP_PX - legend_h - MARGIN_PX  # axis, total bar, legend
        lanes = len(self.timeline.lanes)
        lane_px = min(MAX_LANE_PX, max(MIN_LANE_PX, room // max(lanes, 1)))
        shown = min(lanes, max(room // lane_px, 1))
        raster = QtCore.QRect(left, top, max(bars_x - GAP_PX - left, 1), lane_px * max(shown, 1))
        axis_y = raster.bottom() + 1
        legend_y = axis_y + 2 * line + GAP_PX
        return TimelineAreas(
            lane_px=lane_px,
            shown=shown,
            labels_x=MARGIN_PX,
            raster=raster,
            bars_x=bars_x,
            axis_y=axis_y,
            total_y=axis_y + line,
            swatches={name: rect.translated(0, legend_y) for name, rect in swatches.items()},
        )

    def _legend(self, left: int, right: int, line: int) -> tuple[dict[str, QtCore.QRect], int]:
        """Swatch squares of the classes, then of the exits, flowed into rows from y = 0; and the height."""
        metrics = self.fontMetrics()
        swatches: dict[str, QtCore.QRect] = {}
        x, y = left, 0
        for group in (self.timeline.classes, self.timeline.exits):
            for name in group:
                width = SWATCH_PX + 4 + metrics.horizontalAdvance(name) + GAP_PX
                if x > left and x + width > right:
                    x, y = left, y + line
                swatches[name] = QtCore.QRect(x, y + (line - SWATCH_PX) // 2, SWATCH_PX, SWATCH_PX)
                x += width
            x, y = left, y + line  # exits on a row of their own
        return swatches, y

    def cell_x(self, areas: TimelineAreas, position: int) -> int:
        """Left edge of time bin ``position`` (0 = oldest; HISTORY_BINS = the raster's right edge)."""
        return areas.raster.left() + round(position * areas.raster.width() / HISTORY_BINS)

    def cell_rect(self, areas: TimelineAreas, lane: int, position: int) -> QtCore.QRect:
        """Lane ``lane``'s (in timeline order) time bin ``position`` as painted."""
        x0, x1 = self.cell_x(areas, position), self.cell_x(areas, position + 1)
        return QtCore.QRect(x0, areas.raster.top() + lane * areas.lane_px, max(x1 - x0, 1), areas.lane_px - 1)

    def bar_rect(self, areas: TimelineAreas, lane: int | None) -> QtCore.QRect:
        """The exit bar of lane ``lane``, or of all channels for None."""
        y = areas.total_y if lane is None else areas.raster.top() + lane * areas.lane_px
        height = (areas.lane_px if lane is not None else self.fontMetrics().height() + 4) - 3
        return QtCore.QRect(areas.bars_x, y + 1, EXIT_BAR_PX, max(height, 2))

    # -- painting --------------------------------------------------------------------------------------

    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        areas = self.areas()
        painter = QtGui.QPainter(self)
        try:
            self._paint_titles(painter, areas)
            self._paint_lanes(painter, areas)
            self._paint_axis(painter, areas)
            self._paint_exit_bars(painter, areas)
            self._paint_legend(painter, areas)
        finally:
            painter.end()

    def _paint_titles(self, painter: QtGui.QPainter, areas: TimelineAreas) -> None:
        line = self.fontMetrics().height() + 4
        clock = "stream time" if self.timeline.stream else "time of arrival"
        title = f"class over the last {self.history.history_s:g} s ({clock})"
        left = QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter
        painter.drawText(QtCore.QRect(areas.labels_x, MARGIN_PX, areas.raster.right(), line), left, title)
        painter.drawText(QtCore.QRect(areas.bars_x, MARGIN_PX, EXIT_BAR_PX, line), left, "windows per exit")

    def _paint_lanes(self, painter: QtGui.QPainter, areas: TimelineAreas) -> None:
        lanes = self.timeline.lanes[: areas.shown]
        if not lanes:
            painter.fillRect(areas.raster, QtGui.QColor(EMPTY_COLOUR))
            waiting = f"no classifications in the last {self.history.history_s:g} s"
            painter.drawText(areas.raster, QtCore.Qt.AlignCenter, waiting)
            return
        for index, lane in enumerate(lanes):
            y = areas.raster.top() + index * areas.lane_px
            label = QtCore.QRect(areas.labels_x, y, areas.raster.left() - areas.labels_x, areas.lane_px)
            painter.drawText(label, QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter, lane_label(lane))
            # One rectangle per run of bins of the same class (a few per lane while a signal is steady).
            changes = np.flatnonzero(np.diff(lane.cells)) + 1
            for start, stop in zip([0, *changes], [*changes, HISTORY_BINS]):
                column = int(lane.cells[start])
                colour = (
                    QtGui.QColor(EMPTY_COLOUR) if column < 0 else class_colour(self.timeline.classes, column)
                )
                x0, x1 = self.cell_x(areas, start), self.cell_x(areas, stop)
                painter.fillRect(QtCore.QRect(x0, y, x1 - x0, areas.lane_px - 1), colour)
        hidden = len(self.timeline.lanes) - len(lanes)
        if hidden:
            painter.drawText(areas.raster, QtCore.Qt.AlignRight | QtCore.Qt.AlignBottom, f"+{hidden} lanes")

    def _paint_axis(self, painter: QtGui.QPainter, areas: TimelineAreas) -> None:
        raster, metrics = areas.raster, self.fontMetrics()
        for fraction, text in time_ticks(self.timeline, raster.width() // TICK_PX):
            x = raster.left() + round(fraction * raster.width())
            painter.drawLine(x, areas.axis_y, x, areas.axis_y + 3)
            # Centred on its tick, but kept under the raster (the first and last ticks are its edges).
            width = metrics.horizontalAdvance(text)
            left = min(max(x - width // 2, raster.left()), raster.right() + 1 - width)
            painter.drawText(
                QtCore.QRect(left, areas.axis_y + 4, width, metrics.height()), QtCore.Qt.AlignLeft, text
            )

    def _paint_exit_bars(self, painter: QtGui.QPainter, areas: TimelineAreas) -> None:
        for index, lane in enumerate(self.timeline.lanes[: areas.shown]):
            self._paint_bar(painter, self.bar_rect(areas, index), lane.exit_counts)
        total = self.bar_rect(areas, None)
        label = QtCore.QRect(
            areas.raster.left(), total.top(), areas.bars_x - GAP_PX - areas.raster.left(), total.height()
        )
        painter.drawText(label, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, f"{ALL_CHANNELS}:")
        self._paint_bar(painter, total, self.timeline.exit_totals())

    def _paint_bar(self, painter: QtGui.QPainter, rect: QtCore.QRect, counts: np.ndarray) -> None:
        """A bar split by share of windows per exit, each part labelled with its percentage if it fits."""
        painter.fillRect(rect, QtGui.QColor(EMPTY_COLOUR))
        total = int(counts.sum())
        if not total:
            return
        painter.save()
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * BAR_TEXT_SCALE)
        painter.setFont(font)
        metrics, x = QtGui.QFontMetrics(font), rect.left()
        for index, count in enumerate(counts):
            width = round(rect.width() * count / total) if index < len(counts) - 1 else rect.right() + 1 - x
            colour = exit_colour(index, len(counts))
            part = QtCore.QRect(x, rect.top(), width, rect.height())
            painter.fillRect(part, colour)
            text = f"{100 * count / total:.0f}%"
            if width > metrics.horizontalAdvance(text) + 2 and rect.height() >= metrics.ascent():
                painter.setPen(QtGui.QColor("white" if colour.lightness() < 128 else "black"))
                painter.drawText(part, QtCore.Qt.AlignCenter, text)
            x += width
        painter.restore()

    def _paint_legend(self, painter: QtGui.QPainter, areas: TimelineAreas) -> None:
        line = self.fontMetrics().height() + 4
        exits = len(self.timeline.exits)
        for name, swatch in areas.swatches.items():
            if name in self.timeline.classes:
                colour = class_colour(self.timeline.classes, self.timeline.classes.index(name))
            else:
                colour = exit_colour(self.timeline.exits.index(name), exits)
            painter.fillRect(swatch, colour)
            text = QtCore.QRect(swatch.right() + 5, swatch.center().y() - line // 2, 400, line)
            painter.drawText(text, QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter, name)


def lane_label(lane: Lane) -> str:
    channel = "-" if lane.channel == NO_CHANNEL else str(lane.channel)
    return f"{channel}  {format_frequency(lane.frequency, lane.absolute)}"


class _Bridge(QtCore.QObject):
    """Lives in the GUI thread; a signal emitted from GNU Radio's thread is queued to it."""

    changed = QtCore.pyqtSignal()


class ResultsWidget(QtWidgets.QWidget):
    """A titled stack of views (the table; the timeline when given a history) of a :class:`ChannelBoard`,
    redrawn at most ``update_hz`` times a second when reports arrive, and once a second regardless so
    that silent channels age."""

    def __init__(
        self,
        board: ChannelBoard,
        title: str = "",
        update_hz: float = 10.0,
        parent: QtWidgets.QWidget | None = None,
        history: ClassHistory | None = None,
    ) -> None:
        super().__init__(parent)
        if not update_hz > 0:
            raise ValueError(f"update_hz must be > 0, got {update_hz}")
        self.board = board
        self.redraws = 0
        self._min_interval_ms = int(1000 / update_hz)
        self._last_redraw = QtCore.QElapsedTimer()
        self._views: list[Any] = []
        layout = QtWidgets.QVBoxLayout(self)
        if title:
            layout.addWidget(QtWidgets.QLabel(title, self))
        self.table = ChannelTable(self)
        self.add_view(self.table)
        self.timeline_view = TimelineView(history, self) if history is not None else None
        if self.timeline_view is not None:
            self.add_view(self.timeline_view)

        self.bridge = _Bridge(self)
        self.bridge.changed.connect(self._schedule)  # queued: emitted from another thread
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.redraw)
        self._ageing = QtCore.QTimer(self)
        self._ageing.timeout.connect(self.redraw)
        self._ageing.start(1000)

    def add_view(self, view: QtWidgets.QWidget, stretch: int = 1) -> None:
        """Another view (a widget with ``refresh(rows)``), shown below the others."""
        self._views.append(view)
        self.layout().addWidget(view, stretch)

    def _schedule(self) -> None:
        if self._timer.isActive():
            return
        since = self._last_redraw.elapsed() if self._last_redraw.isValid() else self._min_interval_ms
        self._timer.start(max(0, self._min_interval_ms - since))

    def redraw(self) -> None:
        rows = self.board.snapshot()
        for view in self._views:
            view.refresh(rows)
        self._last_redraw.start()
        self.redraws += 1

    def save_screenshot(self, path: str) -> QtGui.QImage:
        """Redraw, render the widget as it is shown and write it to ``path`` (PNG); the image."""
        self.redraw()
        image = self.grab().toImage()
        if not image.save(str(path)):
            raise OSError(
                f"could not write the screenshot {path}: check that its folder exists and is writable"
            )
        return image


# ---- the block -------------------------------------------------------------------------------------------


def exit_names(model: Model) -> list[str]:
    """The legend's name of each exit: its index and the backbone stage it taps."""
    return [
        f"exit {e['index']} ({e['stage']}{', final' if e['kind'] == 'final' else ''})"
        for e in model_exits(model)
    ]


class qtgui_sink(gr.basic_block):  # noqa: N801 (GNU Radio's block naming)
    """Qt GUI view of live classifications: a table with one row per channel, the class over time
    (one lane per channel) and the share of windows per exit.

    Args:
        name: title shown above the views ("" for none).
        stale_after: seconds without a report after which a channel's row is greyed out.
        drop_after: seconds without a report after which the row is removed (0 = never).
        update_hz: most redraws per second.
        parent: Qt parent of the widget.
        model: the model file the classifying block uses ("" = the shipped one): its classes are the
            legend, its exits the bars' parts.
        samp_rate: the rate of the messages' ``offset`` (the scanner's or channel classifier's input
            rate; the classifier's input rate): the timeline then runs on stream time. 0: on the time
            messages arrive.
        history_s: seconds of the timeline and the exit shares.

    A QApplication must exist before the block is made (GRC's generated scripts make one first). Put
    :meth:`qwidget` in a layout; :meth:`rows` and :meth:`timeline` give what it shows without Qt.
    """

    def __init__(
        self,
        name: str = "Classifications",
        stale_after: float = 5.0,
        drop_after: float = 60.0,
        update_hz: float = 10.0,
        parent: QtWidgets.QWidget | None = None,
        model: str = "",
        samp_rate: float = 0.0,
        history_s: float = 60.0,
    ) -> None:
        gr.basic_block.__init__(self, name="eeamc_qtgui_sink", in_sig=None, out_sig=None)
        if QtWidgets.QApplication.instance() is None:
            raise RuntimeError(
                "eeamc.qtgui_sink needs a QApplication: make one (Qt.QApplication(sys.argv)) before the "
                "flowgraph, as GRC's generated scripts do; set QT_QPA_PLATFORM=offscreen to run headless"
            )
        self.board = ChannelBoard(stale_after, drop_after)
        loaded = load_model(model)
        self.history = ClassHistory(loaded.classes, exit_names(loaded), history_s, samp_rate)
        self._widget = ResultsWidget(self.board, name, update_hz, parent, self.history)
        self._logged: set[str] = set()
        self.message_port_register_in(pmt.intern(PORT))
        self.set_msg_handler(pmt.intern(PORT), self._handle)

    def qwidget(self) -> ResultsWidget:
        return self._widget

    def rows(self) -> list[ChannelRow]:
        return self.board.snapshot()

    def timeline(self) -> Timeline:
        return self.history.snapshot()

    def set_ageing(self, stale_after: float, drop_after: float) -> None:
        self.board.set_ageing(stale_after, drop_after)

    def set_timing(self, history_s: float, samp_rate: float) -> None:
        """A new timeline span or offset rate (GRC's callback); the timeline starts afresh."""
        self.history.set_timing(history_s, samp_rate)

    def _handle(self, message: pmt.pmt_base) -> None:
        # A running flowgraph must survive any message: log each kind of problem once and carry on.
        try:
            records = records_of(plain_message(message))
        except Exception as error:  # noqa: BLE001 - PMT conversions raise assorted errors on odd PMTs
            self._log_once(type(error).__name__, f"ignoring a message it cannot show: {error} (logged once)")
            return
        unknown = sorted({key for record in records for key in record if key not in reports.MESSAGE_KEYS})
        for key in unknown:
            self._log_once(f"key {key}", f"ignoring the unknown message key {key!r} (logged once)")
        for problem in self.history.add(records):
            self._log_once(problem, f"timeline: {problem} (logged once)")
        if self.board.update(records):
            self._widget.bridge.changed.emit()

    def _log_once(self, kind: str, text: str) -> None:
        if kind not in self._logged:
            self._logged.add(kind)
            self.logger.warn(text)
