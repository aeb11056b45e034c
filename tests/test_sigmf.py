# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""SigMF annotations: runs of windows merged (Segmenter on hand-made records), `annotate` on real SigMF
recordings written here (scanner and channel classifier, --out and in place), and eeamc.sigmf_sink writing
the same annotations live beside a file sink. Every meta written is validated with the sigmf package."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import sigmf
from gnuradio import blocks, eeamc, gr
from gnuradio.eeamc import annotate
from gnuradio.eeamc.contract import RML22_CONTRACT
from gnuradio.eeamc.model_file import default_model_path
from gnuradio.eeamc.sigmf_annotations import AnnotationContext, Segmenter
from gnuradio.eeamc.synthetic_band import record as record_band
from sigmf import sigmffile

RATE = 1.2e6
CENTRE = 433.92e6
SIGNALS = [("BPSK", -300e3, 20.0), ("CPFSK", 200e3, 18.0)]
MODEL_SHA256 = hashlib.sha256(default_model_path().read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    """0.5 s of a two-signal band."""
    return record_band(0.5, RATE, signals=SIGNALS, freq_error=0.0, seed=11)[0]


def write_recording(samples: np.ndarray, path: Path, datatype: str) -> Path:
    """NAME.sigmf-data in ``datatype`` (cf32_le or cu8) and its meta, with fields of other tools."""
    data = path.with_suffix(".sigmf-data")
    if datatype == "cu8":
        parts = np.stack([samples.real, samples.imag], axis=1) * 8 * 127.5 + 127.5
        np.clip(np.round(parts), 0, 255).astype(np.uint8).tofile(data)
    else:
        samples.astype(np.complex64).tofile(data)
    meta = sigmffile.SigMFFile(
        data_file=str(data),
        global_info={
            sigmf.DATATYPE_KEY: datatype,
            sigmf.SAMPLE_RATE_KEY: RATE,
            "core:author": "a test",
            "core:description": "two signals",
            "core:hw": "a radio",
        },
    )
    meta.add_capture(0, metadata={sigmf.FREQUENCY_KEY: CENTRE, "core:datetime": "2024-01-02T03:04:05Z"})
    meta.add_annotation(1000, 500, metadata={"core:label": "by hand", "core:comment": "kept"})
    meta.tofile(str(path.with_suffix(".sigmf-meta")))
    return path.with_suffix(".sigmf-meta")


def read_meta(path: Path) -> dict:
    """The meta as JSON, after the sigmf package has validated it."""
    sigmffile.fromfile(str(path), skip_checksum=True).validate()
    return json.loads(path.read_text())


def ours(meta: dict) -> list[dict]:
    return [a for a in meta["annotations"] if "eeamc:model" in a]


def check_annotations(annotations: list[dict], signals, total: int) -> None:
    """Each signal covered mostly by annotations of its class, at its frequency; runs merged."""
    assert annotations, "no annotations"
    for annotation in annotations:
        assert (
            0
            <= annotation["core:sample_start"]
            < annotation["core:sample_start"] + annotation["core:sample_count"]
        )
        assert annotation["core:sample_start"] + annotation["core:sample_count"] <= total + 4096
        assert annotation["eeamc:model"] == default_model_path().name
        assert annotation["eeamc:model_sha256"] == MODEL_SHA256
        assert annotation["core:generator"].startswith("gr-eeamc")
        assert sum(annotation["eeamc:exits"]) == annotation["eeamc:windows"]
        assert 0 < annotation["eeamc:confidence"] <= 1 and annotation["eeamc:entropy"] >= 0
    for label, freq_offset, _ in signals:
        here = [
            a
            for a in annotations
            if a["core:freq_lower_edge"] < CENTRE + freq_offset < a["core:freq_upper_edge"]
        ]
        assert here, f"{label} at {freq_offset} Hz not annotated"
        covered = {}
        for annotation in here:
            covered[annotation["core:label"]] = (
                covered.get(annotation["core:label"], 0) + annotation["core:sample_count"]
            )
        assert max(covered, key=covered.get) == label, covered
        assert sum(covered.values()) > 0.6 * total, covered  # the signal is on all the time
        windows = sum(a["eeamc:windows"] for a in here)
        assert len(here) < windows / 3, f"{len(here)} annotations for {windows} windows: runs not merged"


# ---- Segmenter on hand-made records -----------------------------------------------------------------------


def context() -> AnnotationContext:
    return AnnotationContext(
        samp_rate=RML22_CONTRACT.sample_rate,
        centre_freq=100e6,
        window_length=128,
        contract=RML22_CONTRACT,
        model_name="m.pt",
        model_sha256="ab",
    )


def record(offset: int, label: str, channel: int = 0, exit: int = 0, **extra) -> dict:
    return {
        "label": label,
        "exit": exit,
        "confidence": 0.5,
        "entropy": 0.25,
        "offset": offset,
        "channel": channel,
        "freq_offset": 1000.0,
        "bandwidth": RML22_CONTRACT.occupied_bandwidth,
        **extra,
    }


def test_consecutive_windows_of_one_class_are_one_annotation_and_gaps_or_changes_split():
    segmenter = Segmenter(context())
    closed = []
    for index in range(4):
        closed += segmenter.add(record(128 * index, "BPSK", exit=index % 2))
    closed += segmenter.add(record(128 * 4, "QPSK"))  # class change
    closed += segmenter.add(record(128 * 10, "QPSK"))  # a gap of 5 windows (squelched)
    closed += segmenter.flush()
    assert [(a["core:sample_start"], a["core:sample_count"], a["core:label"]) for a in closed] == [
        (0, 512, "BPSK"),
        (512, 128, "QPSK"),
        (1280, 128, "QPSK"),
    ]
    first = closed[0]
    assert first["eeamc:exits"] == [2, 2] and first["eeamc:windows"] == 4 and first["eeamc:channel"] == 0
    assert first["core:freq_lower_edge"] == pytest.approx(
        100e6 + 1000 - RML22_CONTRACT.occupied_bandwidth / 2
    )
    assert first["core:freq_upper_edge"] == pytest.approx(
        100e6 + 1000 + RML22_CONTRACT.occupied_bandwidth / 2
    )


def test_channels_are_merged_apart_and_a_quiet_channel_is_closed():
    segmenter = Segmenter(context())
    closed = []
    for index in range(3):
        closed += segmenter.add(record(128 * index, "BPSK", channel=1))
        closed += segmenter.add(record(128 * index, "GFSK", channel=2))
    assert closed == []
    for index in range(3, 20):  # channel 1 went; channel 2 goes on
        closed += segmenter.add(record(128 * index, "GFSK", channel=2))
    assert [(a["eeamc:channel"], a["core:label"], a["core:sample_count"]) for a in closed] == [
        (1, "BPSK", 384)
    ]
    assert [(a["eeamc:channel"], a["eeamc:windows"]) for a in segmenter.flush()] == [(2, 20)]


def test_unclassifiable_windows_end_a_run_but_are_not_annotated():
    segmenter = Segmenter(context())
    closed = segmenter.add(record(0, "BPSK")) + segmenter.add(record(128, "unclassifiable"))
    closed += segmenter.add(record(256, "BPSK")) + segmenter.flush()
    assert [(a["core:sample_start"], a["core:label"]) for a in closed] == [(0, "BPSK"), (256, "BPSK")]


# ---- annotate ----------------------------------------------------------------------------------------------


def test_annotate_a_cu8_recording_through_the_scanner_into_a_new_meta(samples, tmp_path, capsys):
    meta = write_recording(samples, tmp_path / "capture", "cu8")
    before = meta.read_bytes()
    out = tmp_path / "annotated.sigmf-meta"
    assert annotate.main([str(meta), "--out", str(out), "--no-progress"]) == 0
    assert meta.read_bytes() == before  # --out leaves the recording alone
    written = read_meta(out)
    check_annotations(ours(written), SIGNALS, len(samples))
    assert all(a["core:generator"] == "gr-eeamc eeamc.scanner" for a in ours(written))
    assert {"name": "eeamc", "version": "1.0.0", "optional": True} in written["global"]["core:extensions"]
    assert f"-> {out}" in capsys.readouterr().out


def test_annotate_in_place_keeps_every_field_and_writes_a_backup_first(samples, tmp_path):
    meta = write_recording(samples, tmp_path / "capture", "cf32_le")
    original = json.loads(meta.read_text())
    assert annotate.main([str(meta), "--freq-offset=-300e3", "--no-progress"]) == 0
    assert json.loads((tmp_path / "capture.sigmf-meta.bak").read_text()) == original
    updated = read_meta(meta)
    for section in ("global", "captures"):
        old, new = original[section], updated[section]
        for old_item, new_item in zip(
            [old] if section == "global" else old, [new] if section == "global" else new
        ):
            kept = {k: v for k, v in old_item.items() if k != "core:version"}  # sigmf writes its spec version
            assert kept.items() <= new_item.items(), section
    assert original["annotations"][0] in updated["annotations"]
    mine = ours(updated)
    check_annotations(mine, SIGNALS[:1], len(samples))
    assert all(a["core:generator"] == "gr-eeamc eeamc.channel_classifier" for a in mine)
    # a second run: another backup; --replace drops the first run's annotations, not the others
    assert annotate.main([str(meta), "--freq-offset=-300e3", "--no-progress", "--replace"]) == 0
    assert (tmp_path / "capture.sigmf-meta.bak.1").exists()
    again = read_meta(meta)
    assert ours(again) == mine and original["annotations"][0] in again["annotations"]


def test_annotate_refuses_what_it_cannot_use_saying_what_to_do(samples, tmp_path, capsys):
    meta = write_recording(samples[:20000], tmp_path / "capture", "cf32_le")
    assert annotate.main([str(meta.with_suffix(".sigmf-data"))]) == 2
    assert ".sigmf-meta" in capsys.readouterr().err
    assert annotate.main([str(meta), "--out", str(meta)]) == 2
    assert "exists" in capsys.readouterr().err
    assert annotate.main([str(tmp_path / "missing.sigmf-meta")]) == 2
    assert "not a readable SigMF recording" in capsys.readouterr().err


# ---- the live block ---------------------------------------------------------------------------------------


def test_the_sink_writes_the_annotations_annotate_makes_while_a_file_sink_records(samples, tmp_path):
    data = tmp_path / "live.sigmf-data"
    top = gr.top_block()
    source = blocks.vector_source_c(samples.tolist())
    scanner = eeamc.scanner(RATE)
    sink = eeamc.sigmf_sink(str(data), RATE, CENTRE, description="live")
    top.connect(source, blocks.file_sink(gr.sizeof_gr_complex, str(data)))
    top.connect(source, scanner)
    top.msg_connect(scanner, "classification", sink, "classification")
    top.run()
    live = read_meta(data.with_suffix(".sigmf-meta"))
    assert live["global"]["core:datatype"] == "cf32_le" and live["global"]["core:description"] == "live"
    assert live["captures"][0]["core:frequency"] == CENTRE
    # the recording it described, annotated afterwards: the same annotations (but for the generator)
    out = tmp_path / "after.sigmf-meta"
    assert annotate.main([str(data.with_suffix(".sigmf-meta")), "--out", str(out), "--no-progress"]) == 0
    after = [a for a in read_meta(out)["annotations"] if a["core:generator"] == "gr-eeamc eeamc.scanner"]

    def strip(annotations):
        return [{k: v for k, v in a.items() if k != "core:generator"} for a in annotations]

    assert strip(after) == strip(live["annotations"])
    check_annotations(live["annotations"], SIGNALS, len(samples))
    with pytest.raises(ValueError, match="overwrite"):
        eeamc.sigmf_sink(str(data), RATE)
    with pytest.raises(ValueError, match="not a SigMF data type"):
        eeamc.sigmf_sink(str(tmp_path / "other.sigmf-data"), RATE, datatype="complex")
