# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""examples/recording.py on small recordings written here: a raw .cfile and SigMF (cu8 as rtl_sdr writes)."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import sigmf
from gnuradio import blocks, gr
from gnuradio.eeamc.synthetic_band import record

ROOT = Path(__file__).resolve().parents[1]
RATE = 1.2e6
CENTRE = 433.92e6
SIGNALS = [("BPSK", -300e3, 20.0), ("CPFSK", 200e3, 18.0)]


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


recording = load_example("recording")


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    """0.6 s of a two-signal band (the synthetic band's truth is the expectation)."""
    return record(0.6, RATE, signals=SIGNALS, freq_error=0.0, seed=5)[0]


def write_cu8(samples: np.ndarray, path: Path, datatype: str = "cu8") -> Path:
    """A SigMF recording of unsigned 8-bit I/Q (gain 8 so the band spans most of the byte range)."""
    interleaved = np.stack([samples.real, samples.imag], axis=1) * 8 * 127.5 + 127.5
    np.clip(np.round(interleaved), 0, 255).astype(np.uint8).tofile(path.with_suffix(".sigmf-data"))
    meta = sigmf.SigMFFile(
        data_file=str(path.with_suffix(".sigmf-data")),
        global_info={sigmf.DATATYPE_KEY: datatype, sigmf.SAMPLE_RATE_KEY: RATE},
    )
    meta.add_capture(0, metadata={sigmf.FREQUENCY_KEY: CENTRE})
    meta.tofile(str(path.with_suffix(".sigmf-meta")))
    return path.with_suffix(".sigmf-meta")


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_found_both(lines: list[dict]) -> None:
    assert lines, "no classifications written"
    for label, freq_offset, _ in SIGNALS:
        mine = [r for r in lines if abs(r["freq_offset"] - freq_offset) < 5e3]
        assert mine, f"{label} at {freq_offset} Hz not reported"
        labels = [r["label"] for r in mine]
        assert labels.count(label) > len(labels) / 2, f"{label}: {labels}"
    assert all(isinstance(r["probabilities"], list) and isinstance(r["offset"], int) for r in lines)


def test_raw_cfile_gives_a_json_line_per_classification(samples, tmp_path, capsys):
    path = tmp_path / "band.cfile"
    samples.tofile(path)
    out = tmp_path / "band.jsonl"
    assert recording.main([str(path), "--samp-rate", str(RATE), "--freq", "100e6", "--out", str(out)]) == 0
    lines = read_lines(out)
    check_found_both(lines)
    assert all(r["freq"] == pytest.approx(100e6 + r["freq_offset"]) for r in lines)
    assert f"{len(lines)} classifications" in capsys.readouterr().out


def test_sigmf_cu8_rate_and_centre_come_from_the_meta(samples, tmp_path):
    meta = write_cu8(samples, tmp_path / "capture")
    assert recording.main([str(meta), "--quiet"]) == 0
    lines = read_lines(tmp_path / "capture.eeamc.jsonl")
    check_found_both(lines)
    assert all(r["freq"] == pytest.approx(CENTRE + r["freq_offset"]) for r in lines)
    assert all(r["time_s"] == pytest.approx(r["offset"] / RATE) for r in lines)


def test_each_sigmf_type_reads_to_the_same_complex_samples(samples, tmp_path):
    """cf32_le, ci16_le, ci8 and cu8 files of the same samples come out of the source alike."""
    piece = samples[:4096] / np.max(np.abs(np.stack([samples[:4096].real, samples[:4096].imag]))) * 0.9
    parts = np.stack([piece.real, piece.imag], axis=1)
    encodings = {
        "cf32_le": (piece.astype(np.complex64), 1e-6),
        "ci16_le": (np.round(parts * 32767).astype("<i2"), 1e-4),
        "ci8": (np.round(parts * 127).astype(np.int8), 1e-2),
        "cu8": (np.round(parts * 127.5 + 127.5).astype(np.uint8), 1e-2),
    }
    for datatype, (data, tolerance) in encodings.items():
        data_path = tmp_path / f"{datatype}.sigmf-data"
        data.tofile(data_path)
        meta = sigmf.SigMFFile(
            data_file=str(data_path), global_info={sigmf.DATATYPE_KEY: datatype, sigmf.SAMPLE_RATE_KEY: RATE}
        )
        meta.tofile(str(data_path.with_suffix(".sigmf-meta")))
        opened = recording.open_recording(data_path.with_suffix(".sigmf-meta"), None, None)
        top = gr.top_block()
        sink = blocks.vector_sink_c()
        top.connect(*recording.source_blocks(opened), sink)
        top.run()
        np.testing.assert_allclose(np.array(sink.data()), piece, atol=tolerance, err_msg=datatype)


def test_unreadable_inputs_are_refused_saying_what_to_do(samples, tmp_path, capsys):
    path = tmp_path / "band.cfile"
    samples[:1000].tofile(path)
    assert recording.main([str(path)]) == 2
    assert "--samp-rate" in capsys.readouterr().err
    meta = write_cu8(samples[:1000], tmp_path / "odd", datatype="ri16_le")
    assert recording.main([str(meta)]) == 2
    assert "convert it" in capsys.readouterr().err
    assert recording.main([str(tmp_path / "missing.cfile"), "--samp-rate", "1e6"]) == 2
    assert "no such file" in capsys.readouterr().err
