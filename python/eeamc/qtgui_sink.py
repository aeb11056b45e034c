"""``eeamc.qtgui_sink``: a Qt GUI block showing the latest classification of every channel, live.

The data path, and the thread each part runs in:

    message handler (GNU Radio's thread): PMT -> plain records (:func:`records_of`)
        -> :class:`ChannelBoard` (thread-safe, no Qt): one row per channel
        -> at most one queued Qt signal while a redraw is pending
    :class:`ResultsWidget` (Qt's GUI thread): redraws its views at most ``update_hz`` times a second

so thousands of messages a second cost the GUI ``update_hz`` redraws, and no Qt object is touched from
GNU Radio's threads. A view is anything with ``refresh(rows)``: the table (:class:`ChannelTable`) is the
first; a raster or exit shares can be added beside it with :meth:`ResultsWidget.add_view`, fed the same
snapshot.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pmt
from gnuradio import gr
from PyQt5 import QtCore, QtGui, QtWidgets

PORT = "classification"
#: Keys of the classifier's, channel classifier's and scanner's messages (see their docstrings).
KNOWN_KEYS = frozenset(
    {
        "label", "class", "exit", "entropy", "confidence", "unclassifiable", "offset", "probabilities",
        "window", "rx_freq", "rx_time", "channel", "freq", "freq_offset", "bandwidth", "snr_db",
    }
)  # fmt: skip
COLUMNS = ("channel", "frequency", "class", "confidence", "exit", "SNR", "windows", "last update")
#: Row key of messages without a ``channel`` key (a plain classifier or one channel classifier).
NO_CHANNEL = -1


# ---- records: what a message holds, as plain Python ------------------------------------------------------


class MessageError(ValueError):
    """A message this block cannot show (not a dict, or a batch of unequal columns)."""


def records_of(message: Any) -> list[dict[str, Any]]:
    """The classification records in a message, converted by ``pmt.to_python``.

    A dict is one record; a list, tuple or vector of dicts (PMT lists arrive as nested pairs) is a batch;
    a dict whose ``label`` or ``class`` is a sequence is a batch in columns (one row per element; scalar
    fields apply to every row). Anything else raises :class:`MessageError`.
    """
    if message is None:  # the end of a PMT list
        return []
    if isinstance(message, dict):
        return _split_columns(message)
    if isinstance(message, (list, tuple)):
        return [record for item in message for record in records_of(item)]
    raise MessageError(f"a {type(message).__name__} is not a classification dict")


def _is_column(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) >= 1


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


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _integer(value: Any, default: int | None = None) -> int | None:
    number = _number(value)
    return int(number) if number is not None else default


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
                channel = _integer(record.get("channel"), NO_CHANNEL)
                self._rows[channel] = self._merged(self._rows.get(channel), channel, record, now)
            request, self._pending = not self._pending, True
        return request

    @staticmethod
    def _merged(previous: ChannelRow | None, channel: int, record: dict[str, Any], now: float) -> ChannelRow:
        absolute = _number(record.get("freq")) is not None
        frequency = _number(record.get("freq") if absolute else record.get("freq_offset"))
        if bool(record.get("unclassifiable", False)):
            label = "unclassifiable"
        else:
            label = str(record.get("label", record.get("class", "?")))
        return ChannelRow(
            channel=channel,
            frequency=frequency,
            absolute=absolute,
            label=label,
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
        return sorted(aged, key=lambda row: (row.frequency is None, row.frequency or 0.0, row.channel))


# ---- Qt: views and the widget that rate-limits their redraws ---------------------------------------------


def format_cells(row: ChannelRow) -> tuple[str, ...]:
    """The table's text for one row, in COLUMNS order."""
    if row.frequency is None:
        frequency = "-"
    elif row.absolute:
        frequency = f"{row.frequency / 1e6:.4f} MHz"
    else:
        frequency = f"{row.frequency / 1e3:+.1f} kHz"
    return (
        "-" if row.channel == NO_CHANNEL else str(row.channel),
        frequency,
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


class _Bridge(QtCore.QObject):
    """Lives in the GUI thread; a signal emitted from GNU Radio's thread is queued to it."""

    changed = QtCore.pyqtSignal()


class ResultsWidget(QtWidgets.QWidget):
    """A titled stack of views of a :class:`ChannelBoard`, redrawn at most ``update_hz`` times a second
    when reports arrive, and once a second regardless so that silent channels age."""

    def __init__(
        self,
        board: ChannelBoard,
        title: str = "",
        update_hz: float = 10.0,
        parent: QtWidgets.QWidget | None = None,
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

        self.bridge = _Bridge(self)
        self.bridge.changed.connect(self._schedule)  # queued: emitted from another thread
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.redraw)
        self._ageing = QtCore.QTimer(self)
        self._ageing.timeout.connect(self.redraw)
        self._ageing.start(1000)

    def add_view(self, view: QtWidgets.QWidget) -> None:
        """Another view (a widget with ``refresh(rows)``), shown below the others."""
        self._views.append(view)
        self.layout().addWidget(view)

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


# ---- the block -------------------------------------------------------------------------------------------


class qtgui_sink(gr.basic_block):
    """Qt GUI table of live classifications, one row per channel.

    Args:
        name: title shown above the table ("" for none).
        stale_after: seconds without a report after which a channel's row is greyed out.
        drop_after: seconds without a report after which the row is removed (0 = never).
        update_hz: most redraws per second.
        parent: Qt parent of the widget.

    A QApplication must exist before the block is made (GRC's generated scripts make one first). Put
    :meth:`qwidget` in a layout; :meth:`rows` gives the current rows without Qt.
    """

    def __init__(
        self,
        name: str = "Classifications",
        stale_after: float = 5.0,
        drop_after: float = 60.0,
        update_hz: float = 10.0,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        gr.basic_block.__init__(self, name="eeamc_qtgui_sink", in_sig=None, out_sig=None)
        if QtWidgets.QApplication.instance() is None:
            raise RuntimeError(
                "eeamc.qtgui_sink needs a QApplication: make one (Qt.QApplication(sys.argv)) before the "
                "flowgraph, as GRC's generated scripts do; set QT_QPA_PLATFORM=offscreen to run headless"
            )
        self.board = ChannelBoard(stale_after, drop_after)
        self._widget = ResultsWidget(self.board, name, update_hz, parent)
        self._logged: set[str] = set()
        self.message_port_register_in(pmt.intern(PORT))
        self.set_msg_handler(pmt.intern(PORT), self._handle)

    def qwidget(self) -> ResultsWidget:
        return self._widget

    def rows(self) -> list[ChannelRow]:
        return self.board.snapshot()

    def set_ageing(self, stale_after: float, drop_after: float) -> None:
        self.board.set_ageing(stale_after, drop_after)

    def _handle(self, message: pmt.pmt_base) -> None:
        # A running flowgraph must survive any message: log each kind of problem once and carry on.
        try:
            records = records_of(pmt.to_python(message))
        except Exception as error:  # noqa: BLE001 - pmt.to_python raises assorted errors on odd PMTs
            self._log_once(type(error).__name__, f"ignoring a message it cannot show: {error} (logged once)")
            return
        unknown = sorted({key for record in records for key in record if key not in KNOWN_KEYS})
        for key in unknown:
            self._log_once(f"key {key}", f"ignoring the unknown message key {key!r} (logged once)")
        if self.board.update(records):
            self._widget.bridge.changed.emit()

    def _log_once(self, kind: str, text: str) -> None:
        if kind not in self._logged:
            self._logged.add(kind)
            self.logger.warn(text)
