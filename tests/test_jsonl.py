# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Classifications as plain JSON (reports.to_json / records, batches unrolled) and eeamc.jsonl_sink in
real flowgraphs writing real files."""

import json
import math

import numpy as np
import pmt
import pytest
from gnuradio import blocks, eeamc, gr
from gnuradio.eeamc import reports
from gnuradio.eeamc.networks import RML22_CLASSES

from training.wideband import modulated

CLASSES = list(RML22_CLASSES)


def classifier_stream(windows: int = 40, seed: int = 0) -> np.ndarray:
    """BPSK then QPSK at the model's rate, ``windows`` windows of 128 samples in all."""
    rng = np.random.default_rng(seed)
    half = windows // 2 * 128
    return np.concatenate([modulated("BPSK", half, rng), modulated("QPSK", half, rng)])


def run_classifier(samples: np.ndarray, sink: gr.basic_block | None = None) -> list[pmt.pmt_base]:
    """eeamc.classifier over ``samples``; every message it published (and ``sink`` got them too)."""
    top = gr.top_block()
    classifier = eeamc.classifier(report="all")
    debug = blocks.message_debug()
    top.connect(blocks.vector_source_c(samples.tolist()), classifier, blocks.null_sink(gr.sizeof_gr_complex))
    top.msg_connect(classifier, "classification", debug, "store")
    if sink is not None:
        top.msg_connect(classifier, "classification", sink, "classification")
    top.run()
    return [debug.get_message(i) for i in range(debug.num_messages())]


# ---- the conversion ---------------------------------------------------------------------------------------


def test_a_window_message_becomes_plain_json_types():
    builder = reports.MessageBuilder(["A", "B"], 2)
    rx_time = pmt.make_tuple(pmt.from_uint64(1700000000), pmt.from_double(0.25))
    message = builder.message(
        1, 0, 0.125, 0.875, [0.1, 0.9], 2**40, 7, {"rx_time": rx_time, "channel": pmt.from_long(3)}
    )
    record = reports.to_json(message)
    assert record == {
        "label": "B",
        "class": 1,
        "exit": 0,
        "entropy": 0.125,
        "confidence": 0.875,
        "unclassifiable": False,
        "offset": 2**40,
        "probabilities": [0.1, 0.9],  # float32s written as the shortest decimal that reads back the same
        "window": 7,
        "rx_time": [1700000000, 0.25],
        "channel": 3,
    }
    assert list(record) == list(reports.to_json(message))  # keys in the order the block added them
    assert np.float32(record["probabilities"][0]) == np.float32(0.1)
    json.dumps(record, allow_nan=False)


def test_an_unclassifiable_window_is_strict_json():
    record = reports.records(reports.MessageBuilder(["A"], 1).unclassifiable(0, 0, {}))[0]
    assert (
        record["entropy"] is None and record["unclassifiable"] is True and record["label"] == "unclassifiable"
    )
    json.dumps(record, allow_nan=False)


def batch_message(
    offsets, classes, exits, entropies, confidences, probabilities, names, **shared
) -> pmt.pmt_base:
    """A message_mode="batch" message as the later issue defines it: a PMT dict of vectors."""
    message = pmt.make_dict()
    fields = {
        "offsets": pmt.init_u64vector(len(offsets), offsets),
        "classes": pmt.init_s32vector(len(classes), classes),
        "exits": pmt.init_s32vector(len(exits), exits),
        "entropies": pmt.init_f32vector(len(entropies), entropies),
        "confidences": pmt.init_f32vector(len(confidences), confidences),
        "probabilities": pmt.init_f32vector(len(probabilities), probabilities),
        "class_names": pmt.to_pmt(names),
        **{key: pmt.to_pmt(value) for key, value in shared.items()},
    }
    for key, value in fields.items():
        message = pmt.dict_add(message, pmt.intern(key), value)
    return message


def test_a_batch_unrolls_to_one_record_per_window():
    message = batch_message(
        offsets=[0, 128, 256],
        classes=[2, 0, -1],
        exits=[0, 1, -1],
        entropies=[0.5, 0.25, float("nan")],
        confidences=[0.75, 0.5, 0.0],
        probabilities=[0.125, 0.125, 0.75, 0.5, 0.25, 0.25, 0.0, 0.0, 0.0],  # 3 windows x 3 classes
        names=["X", "Y", "Z"],
        channel=4,
        freq_offset=-1500.0,
    )
    rows = reports.records(message)
    assert [r["label"] for r in rows] == ["Z", "X", "unclassifiable"]
    assert [r["offset"] for r in rows] == [0, 128, 256]
    assert [r["exit"] for r in rows] == [0, 1, -1]
    assert [r["probabilities"] for r in rows] == [[0.125, 0.125, 0.75], [0.5, 0.25, 0.25], [0.0, 0.0, 0.0]]
    assert [r["unclassifiable"] for r in rows] == [False, False, True]
    assert rows[2]["entropy"] is None and rows[0]["entropy"] == 0.5 and rows[1]["confidence"] == 0.5
    assert all(r["channel"] == 4 and r["freq_offset"] == -1500.0 for r in rows)
    assert all("class_names" not in r and "offsets" not in r for r in rows)
    # a window's record has the keys of a single window's message
    single = reports.to_json(reports.MessageBuilder(["X"], 1).message(0, 0, 0.5, 0.5, [1.0], 0, 0, {}))
    assert set(single) - {"window"} <= set(rows[0])


def test_a_batch_with_a_first_window_number_counts_on():
    message = batch_message([0, 128], [0, 0], [0, 0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0], ["X"], window=10)
    assert [r["window"] for r in reports.records(message)] == [10, 11]


def test_malformed_batches_and_non_dicts_are_refused_saying_why():
    uneven = batch_message([0, 128], [0], [0], [0.0], [1.0], [1.0], ["X"])
    with pytest.raises(ValueError, match="differ in length"):
        reports.records(uneven)
    short = batch_message([0, 128], [0, 0], [0, 0], [0.0, 0.0], [1.0, 1.0], [1.0], ["X"])
    with pytest.raises(ValueError, match="probabilities"):
        reports.records(short)
    with pytest.raises(ValueError, match="not a classification"):
        reports.records(pmt.from_long(3))


# ---- the sink ---------------------------------------------------------------------------------------------


def test_the_sink_writes_every_classification_of_a_flowgraph_as_a_json_line(tmp_path):
    path = tmp_path / "out.jsonl"
    sink = eeamc.jsonl_sink(str(path))
    sent = run_classifier(classifier_stream(), sink)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(sent) == 40 and sink.lines == 40
    assert lines == [record for message in sent for record in reports.records(message)]
    assert [line["offset"] for line in lines] == [128 * i for i in range(40)]
    for line, message in zip(lines, sent):  # the values are the PMT's, to float32 precision
        probabilities = pmt.f32vector_elements(
            pmt.dict_ref(message, pmt.intern("probabilities"), pmt.PMT_NIL)
        )
        np.testing.assert_array_equal(np.float32(line["probabilities"]), np.float32(probabilities))
        assert line["label"] == CLASSES[line["class"]]
        assert math.isclose(line["confidence"], max(line["probabilities"]), rel_tol=1e-6)
    labels = [line["label"] for line in lines]
    assert labels[:20].count("BPSK") > 15, labels  # the model tells the two halves apart
    assert labels[20:].count("BPSK") < 5, labels


def test_an_existing_file_is_refused_unless_appended_to_or_truncated(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"earlier": true}\n')
    with pytest.raises(ValueError, match="if_exists"):
        eeamc.jsonl_sink(str(path))
    assert path.read_text() == '{"earlier": true}\n'
    samples = classifier_stream(windows=4)
    run_classifier(samples, eeamc.jsonl_sink(str(path), if_exists="append", flush="interval"))
    lines = path.read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[0]) == {"earlier": True}
    run_classifier(samples, eeamc.jsonl_sink(str(path), if_exists="truncate"))
    assert len(path.read_text().splitlines()) == 4
    with pytest.raises(ValueError, match="flush"):
        eeamc.jsonl_sink(str(path), if_exists="append", flush="sometimes")


def test_path_dash_writes_to_stdout(capfd):
    sink = eeamc.jsonl_sink("-")
    sent = run_classifier(classifier_stream(windows=4), sink)
    out = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    assert out == [record for message in sent for record in reports.records(message)]


def test_a_list_of_dicts_stays_a_list_of_dicts():
    first = pmt.dict_add(pmt.make_dict(), pmt.intern("channel"), pmt.from_long(1))
    second = pmt.dict_add(pmt.make_dict(), pmt.intern("channel"), pmt.from_long(2))
    assert reports.to_json(pmt.list2(first, second)) == [{"channel": 1}, {"channel": 2}]
    assert reports.to_json(pmt.list2(pmt.from_long(1), pmt.intern("x"))) == [1, "x"]
    assert reports.to_json(pmt.cons(pmt.from_long(1), pmt.from_double(2.5))) == [1, 2.5]
