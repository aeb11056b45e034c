# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""eeamc.qtgui_sink's live views, headless (QT_QPA_PLATFORM=offscreen): the class timeline and the exit
shares after a real run of the synthetic band through the scanner, checked against the scanner's own
messages; the screenshot (scripts/screenshot_live_view.py's code path) read back pixel by pixel; the
history's bins, time bases and batches; the GRC block's options. (The table: tests/test_examples_radio.py.)
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter, defaultdict

import pmt
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gnuradio import eeamc  # noqa: E402
from gnuradio.eeamc import reports  # noqa: E402
from gnuradio.eeamc.qtgui_sink import (  # noqa: E402
    HISTORY_BINS,
    NO_OFFSET,
    UNCLASSIFIABLE,
    WENT_BACK,
    ClassHistory,
    class_colour,
    exit_colour,
    records_of,
    time_ticks,
)
from PyQt5 import QtCore, QtGui, QtWidgets  # noqa: E402
from test_grc import compile_flowgraph  # noqa: E402
from test_jsonl import batch_message  # noqa: E402

from scripts import screenshot_live_view  # noqa: E402
from scripts.screenshot_live_view import BAND_RATE, band_samples, live_view  # noqa: E402

SECONDS = 1.0
#: A little longer than the run, so the timeline holds every window the scanner reported.
HISTORY_S = 1.25
MODEL_CLASSES = tuple(eeamc.load_model().classes)


@pytest.fixture(scope="module")
def qapp():
    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(["test_qtgui_sink"])


@pytest.fixture(scope="module")
def band_run(qapp, tmp_path_factory):
    """One second of the synthetic band through the scanner into the sink; its screenshot."""
    run = live_view(band_samples(SECONDS, BAND_RATE, seed=0), BAND_RATE, HISTORY_S, "test", device="cpu")
    path = tmp_path_factory.mktemp("screenshot") / "live_view.png"
    run.sink.qwidget().save_screenshot(path)
    records = [record for message in run.messages for record in reports.records(message)]
    return run, records, path


def expected_lanes(history: ClassHistory, records: list[dict]) -> dict[int, dict[int, str]]:
    """Per channel, per time bin: the class most of its windows had (ties: the model's order first)."""
    counts: dict[int, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for record in records:
        bin_index = history.bin_of(record["offset"] / BAND_RATE)
        counts[record["channel"]][bin_index][record["label"]] += 1
    order = {name: index for index, name in enumerate(MODEL_CLASSES)}
    return {
        channel: {b: min(c, key=lambda name: (-c[name], order.get(name, 99))) for b, c in bins.items()}
        for channel, bins in counts.items()
    }


def test_the_timeline_holds_each_channels_classes_as_the_messages_say(band_run):
    run, records, _ = band_run
    assert len(records) > 500  # about 1000 windows in a second of six signals
    timeline = run.sink.timeline()
    first = round(timeline.start / timeline.bin_s)
    shown = {
        lane.channel: {first + p: timeline.classes[c] for p, c in enumerate(lane.cells) if c >= 0}
        for lane in timeline.lanes
    }
    assert shown == expected_lanes(run.sink.history, records)
    assert first + HISTORY_BINS - 1 == run.sink.history.bin_of(max(r["offset"] for r in records) / BAND_RATE)
    # Lanes run by frequency, as the table's rows, and each is mostly the class of the signal it is.
    assert [lane.channel for lane in timeline.lanes] == [row.channel for row in run.sink.rows()]
    on_air = {
        s.label: s.centre for s in eeamc.synthetic_band(BAND_RATE, seed=0).truth(0, int(SECONDS * BAND_RATE))
    }
    for lane in timeline.lanes:
        majority = timeline.classes[lane.class_counts.argmax()]
        assert abs(on_air[majority] - lane.frequency) < 10e3, (majority, lane.frequency, on_air)
    assert len(timeline.lanes) >= 4


def test_exit_shares_add_up_and_match_the_messages(band_run):
    run, records, _ = band_run
    timeline = run.sink.timeline()
    per_channel: dict[int, Counter] = defaultdict(Counter)
    for record in records:
        per_channel[record["channel"]][record["exit"]] += 1
    assert timeline.exits == ("exit 0 (conv2)", "exit 1 (conv6, final)")  # the shipped model's two exits
    for lane in timeline.lanes:
        assert dict(enumerate(lane.exit_counts.tolist())) == {
            e: per_channel[lane.channel][e] for e in range(len(timeline.exits))
        }
        assert lane.exit_counts.sum() == lane.class_counts.sum() == sum(per_channel[lane.channel].values())
    totals = timeline.exit_totals()
    assert totals.sum() == len(records)
    assert (totals / totals.sum()).sum() == pytest.approx(1.0)
    assert totals.min() > 0  # this model sends some windows out early and some to the end


def pixel(image: QtGui.QImage, point: QtCore.QPoint) -> str:
    return image.pixelColor(point).name()


def test_screenshot_shows_the_classes_in_the_raster_and_the_legend(band_run):
    run, _, path = band_run
    widget = run.sink.qwidget()
    image = QtGui.QImage(str(path))
    assert image.size() == widget.size() and image.width() >= 560
    view = widget.timeline_view
    areas, timeline = view.areas(), view.timeline
    to_image = lambda point: view.mapTo(widget, point)  # noqa: E731
    # Every painted time bin of every lane, read back from the file: the colour of its class.
    checked = Counter()
    for index, lane in enumerate(timeline.lanes[: areas.shown]):
        for position, column in enumerate(lane.cells):
            if column >= 0:
                rect = view.cell_rect(areas, index, position)
                wanted = class_colour(timeline.classes, column).name()
                assert pixel(image, to_image(rect.center())) == wanted, (lane.channel, position)
                checked[timeline.classes[column]] += 1
    assert areas.shown == len(timeline.lanes) and len(checked) >= 4
    # The legend names every class of the model in its colour, the exits in theirs.
    assert set(MODEL_CLASSES) <= set(areas.swatches)
    for name, swatch in areas.swatches.items():
        if name in timeline.classes:
            wanted = class_colour(timeline.classes, timeline.classes.index(name))
        else:
            wanted = exit_colour(timeline.exits.index(name), len(timeline.exits))
        assert pixel(image, to_image(swatch.center())) == wanted.name(), name
    # The all-channels bar starts in exit 0's colour and ends in the last exit's.
    bar = view.bar_rect(areas, None)
    ends = (QtCore.QPoint(bar.left() + 1, bar.top() + 1), QtCore.QPoint(bar.right() - 1, bar.top() + 1))
    assert [pixel(image, to_image(p)) for p in ends] == [exit_colour(0, 2).name(), exit_colour(1, 2).name()]


def test_thousands_of_messages_cost_one_redraw_and_all_are_counted(qapp):
    sink = eeamc.qtgui_sink("", update_hz=10, samp_rate=1000.0, history_s=30.0)
    emitted = []
    sink.qwidget().bridge.changed.connect(lambda: emitted.append(1))
    builder = reports.MessageBuilder(MODEL_CLASSES, 2)
    for index in range(3000):  # as GNU Radio's thread calls the handler: 3000 windows of 3 channels
        extra = {"channel": pmt.from_long(index % 3)}
        sink._handle(builder.message(index % 2, index % 2, 0.1, 0.9, [0.1] * 10, 10 * index, index, extra))
    before = sink.qwidget().redraws
    deadline = time.monotonic() + 20  # only stops a hang: the queued redraw comes within 1/update_hz
    while sink.qwidget().redraws == before and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.005)
    assert len(emitted) == 1 and sink.qwidget().redraws == before + 1
    timeline = sink.qwidget().timeline_view.timeline  # what the view drew
    assert [int(lane.class_counts.sum()) for lane in timeline.lanes] == [1000, 1000, 1000]
    assert timeline.exit_totals().tolist() == [1500, 1500]


def test_batched_messages_are_unrolled_into_the_timeline(qapp):
    sink = eeamc.qtgui_sink("", samp_rate=1000.0, history_s=3.0)
    names = list(MODEL_CLASSES)
    bpsk, qpsk = names.index("BPSK"), names.index("QPSK")
    batch = batch_message(
        offsets=[0, 128, 256],
        classes=[bpsk, qpsk, -1],
        exits=[0, 1, -1],
        entropies=[0.1, 0.2, float("nan")],
        confidences=[0.9, 0.8, 0.0],
        probabilities=[0.1] * (3 * len(names)),
        names=names,
        channel=7,
        freq_offset=1e3,
    )
    sink._handle(batch)
    sink._handle(pmt.from_long(5))  # not a classification: logged once, skipped
    sink._handle(pmt.from_long(6))
    (lane,) = sink.timeline().lanes
    classes = sink.timeline().classes
    assert {classes[c]: int(n) for c, n in enumerate(lane.class_counts) if n} == {
        "BPSK": 1, "QPSK": 1, UNCLASSIFIABLE: 1
    }  # fmt: skip
    assert lane.exit_counts.tolist() == [1, 1]  # the unclassifiable window took no exit
    assert "MessageError" in sink._logged and len(sink._logged) == 1


def test_records_of_reads_lists_columns_and_batches():
    columns = {"label": ["CPFSK", "WBFM"], "channel": [5, 6], "confidence": [0.25, 0.75]}
    assert [(r["label"], r["channel"]) for r in records_of(columns)] == [("CPFSK", 5), ("WBFM", 6)]
    assert [r["label"] for r in records_of(({"label": "A"}, ({"label": "B"}, None)))] == ["A", "B"]
    with pytest.raises(ValueError, match="cannot unroll"):
        records_of({"classes": [0, 1], "exits": [0], "class_names": ["A"], "probabilities": [1.0, 1.0]})


def history(**options) -> ClassHistory:
    return ClassHistory(["A", "B"], ["exit 0", "exit 1"], **options)


def test_old_bins_leave_the_history_and_a_restarted_stream_starts_it_afresh():
    h = history(history_s=3.0, samp_rate=1000.0)  # bins of 10 ms
    assert h.add([{"label": "A", "offset": 0, "exit": 0}, {"label": "B", "offset": 15, "exit": 1}]) == set()
    (lane,) = h.snapshot().lanes
    # The timeline ends at the newest bin: bins 0 and 1 are its last two.
    assert lane.cells[-2:].tolist() == [0, 1] and lane.cells[:-2].max() == -1
    h.add([{"label": "B", "offset": 2995, "exit": 0}])  # the newest bin is now 299: bins 0 and 1 still in
    assert h.snapshot().lanes[0].class_counts.tolist() == [1, 2]
    h.add([{"label": "B", "offset": 3005, "exit": 0}])  # bin 300: bin 0 leaves
    assert h.snapshot().lanes[0].class_counts.tolist() == [0, 3]
    assert h.snapshot().lanes[0].exit_counts.tolist() == [2, 1]
    assert h.add([{"label": "A", "offset": 5}]) == {WENT_BACK}  # 3 s back: a new run of the flowgraph
    assert h.snapshot().lanes[0].class_counts.tolist() == [1, 0]
    assert h.add([{"label": "A"}]) == {NO_OFFSET}


def test_arrival_time_scrolls_with_the_clock_and_drops_silent_channels():
    now = [100.0]
    h = history(history_s=6.0, clock=lambda: now[0])  # bins of 20 ms, ending now
    h.add(
        [{"label": "A", "channel": 1, "freq_offset": 5e3}, {"label": "Z", "channel": 2, "freq_offset": -5e3}]
    )
    now[0] += 1.0
    h.add([{"label": "A", "channel": 1, "freq_offset": 5e3}])
    timeline = h.snapshot()
    assert timeline.classes == ("A", "B", "Z")  # a label the model lacks joins the legend
    assert [lane.channel for lane in timeline.lanes] == [2, 1]  # by frequency
    cells = timeline.lanes[1].cells
    assert (cells >= 0).sum() == 2 and cells[-1] == 0 and timeline.end == pytest.approx(101.0, abs=0.03)
    now[0] += 5.5  # channel 2's only window is now older than the history
    assert [lane.channel for lane in h.snapshot().lanes] == [1]
    now[0] += 1.0
    assert h.snapshot().lanes == ()


def test_time_axis_ticks_stream_seconds_or_seconds_ago():
    h = history(history_s=4.5, samp_rate=1000.0)
    h.add([{"label": "A", "offset": 4490}])
    assert [text for _, text in time_ticks(h.snapshot(), 10)][:3] == ["0 s", "0.5 s", "1 s"]
    arrival = history(history_s=60.0, clock=lambda: 1000.0).snapshot()
    ticks = time_ticks(arrival, 5)
    assert [text for _, text in ticks] == ["now", "-20 s", "-40 s", "-60 s"]
    assert [fraction for fraction, _ in ticks] == pytest.approx([1, 2 / 3, 1 / 3, 0], abs=1e-9)


def test_bad_timeline_settings_say_which_and_why(qapp):
    with pytest.raises(ValueError, match="history_s must be > 0"):
        eeamc.qtgui_sink("", history_s=0)
    with pytest.raises(ValueError, match="samp_rate must be >= 0"):
        history(samp_rate=-1.0)
    with pytest.raises(OSError, match="could not write the screenshot"):
        eeamc.qtgui_sink("").qwidget().save_screenshot("/nonexistent/folder/view.png")


@pytest.mark.skipif(shutil.which("grcc") is None, reason="grcc (gnuradio-companion) missing")
def test_grc_writes_the_timeline_options_only_when_set(tmp_path):
    flowgraph = tmp_path / "view.grc"
    flowgraph.write_text(GRC_FLOWGRAPH)
    script = compile_flowgraph(flowgraph, tmp_path).read_text()
    assert (
        "eeamc.qtgui_sink('set', stale_after=5, drop_after=60, update_hz=10, samp_rate=rate, history_s=4)"
        in script
    )
    assert "eeamc.qtgui_sink('plain', stale_after=5, drop_after=60, update_hz=10)\n" in script
    assert "self.set_view.set_timing(4, self.rate)" in script  # follows the rate variable


def _sink_block(name: str, title: str, y: int, **parameters: str) -> str:
    lines = "".join(f"    {key}: {value}\n" for key, value in parameters.items())
    return (
        f"- name: {name}\n  id: eeamc_qtgui_sink\n  parameters:\n    name: {title}\n{lines}"
        f"  states: {{coordinate: [300, {y}], rotation: 0, state: enabled}}\n"
    )


GRC_FLOWGRAPH = (
    """options:
  parameters: {id: view, generate_options: qt_gui, output_language: python, title: view}
  states: {coordinate: [8, 8], rotation: 0, state: enabled}
blocks:
- name: rate
  id: variable
  parameters: {value: '2.4e6'}
  states: {coordinate: [200, 8], rotation: 0, state: enabled}
"""
    + _sink_block("set_view", "set", 100, samp_rate="rate", history_s="'4'")
    + _sink_block("plain_view", "plain", 300)
    + """- name: strobe
  id: blocks_message_strobe
  parameters: {msg: pmt.intern("x"), period: '1000'}
  states: {coordinate: [8, 200], rotation: 0, state: enabled}
connections:
- [strobe, strobe, set_view, classification]
- [strobe, strobe, plain_view, classification]
metadata: {file_format: 1}
"""
)


def test_the_screenshot_script_refuses_bad_seconds(capsys):
    with pytest.raises(SystemExit) as stopped:
        screenshot_live_view.main(["--seconds", "0"])
    assert stopped.value.code == 2 and "--seconds must be > 0" in capsys.readouterr().err
