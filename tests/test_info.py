# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""`python -m gnuradio.eeamc info`, run as a user runs it: a child process of the venv's Python, with this
checkout's module on PYTHONPATH as gnuradio.eeamc."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from gnuradio.eeamc.contract import RML22_SAMPLE_RATE, rrc_contract
from gnuradio.eeamc.model_file import Model, save_model
from gnuradio.eeamc.networks import RML22_CLASSES, build_network, count_parameters

ROOT = Path(__file__).resolve().parents[1]
CLASSES = list(RML22_CLASSES)
SNRS = range(-20, 21, 2)


def info(module_path: Path, *args: str) -> subprocess.CompletedProcess:
    return command(module_path, "info", *args)


def command(module_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m gnuradio.eeamc ARGS`` with this checkout's module."""
    env = {key: value for key, value in os.environ.items() if key != "EEAMC_MODEL_DIR"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(module_path), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "gnuradio.eeamc", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=module_path,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> tuple[Path, Model]:
    """A V1+V3 cascade with a contract other than RML22's and nested metrics in its provenance."""
    torch.manual_seed(3)
    model = Model(
        build_network(["conv2", "conv5"]).eval(),
        CLASSES,
        "l2",
        [0.25, 0.5],
        {
            "dataset": "band.h5",
            "metrics": {"accuracy": 0.61234, "accuracy_per_snr": {str(snr): 0.5 for snr in SNRS}},
            "losses": [1.0 / (epoch + 1) for epoch in range(40)],
        },
    )
    model.signal = rrc_contract(250e3, 4.0, 0.25, 1500.0)
    path = tmp_path_factory.mktemp("model") / "small.pt"
    save_model(model, path)
    return path, model


def test_text_output_of_a_small_model(module_path, small_model):
    path, model = small_model
    result = info(module_path, str(path))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for expected in (
        f"model file   {path}",
        f"sha256       {hashlib.sha256(path.read_bytes()).hexdigest()}",
        "sample rate         250,000.0 S/s",
        "samples per symbol  4",
        "symbol rate         62,500.0 symbols/s",
        "roll-off            0.25 (root raised cosine)",
        "occupied bandwidth  78,125.0 Hz",
        "carrier offsets     up to ±1500 Hz",
        "window              128 samples (0.51 ms)",
        "normalisation       l2 (each window scaled to unit energy)",
        "0 QAM16, 1 QAM64, 2 8PSK, 3 WBFM, 4 BPSK, 5 CPFSK, 6 AM-DSB, 7 GFSK, 8 PAM4, 9 QPSK",
        "thresholds   0.25, 0.5",
        f"parameters   {count_parameters(model.net):,}",
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    macs = model.net.macs_per_exit()
    exit_lines = [line.split() for line in text.splitlines() if "MAC per window" in line]
    assert [(words[1], words[-1]) for words in exit_lines] == [
        ("conv2", "0.25"),
        ("conv5", "0.5"),
        ("conv6", "here"),
    ]
    assert [int(words[4 if words[2] == "early" else 5].replace(",", "")) for words in exit_lines] == macs
    # Nested provenance is summarised, not dumped.
    assert "accuracy: 0.6123" in text and "accuracy_per_snr: {21 entries}" in text
    assert "losses: [1, ..., 0.025] (40 items)" in text
    assert "'-20'" not in text and '"-20"' not in text
    assert "contract_note" not in text


def test_json_output_of_a_small_model(module_path, small_model):
    path, model = small_model
    result = info(module_path, str(path), "--json")
    assert result.returncode == 0, result.stderr
    description = json.loads(result.stdout)
    assert description["path"] == str(path)
    assert description["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert description["contract"] == pytest.approx(model.contract_summary())
    assert description["classes"] == CLASSES and description["thresholds"] == [0.25, 0.5]
    assert [(e["stage"], e["kind"], e["threshold"]) for e in description["exits"]] == [
        ("conv2", "early", 0.25),
        ("conv5", "early", 0.5),
        ("conv6", "final", None),
    ]
    assert [e["macs_per_window"] for e in description["exits"]] == model.net.macs_per_exit()
    assert description["parameters"] == count_parameters(model.net)
    assert description["provenance"] == model.provenance  # in full


def test_shipped_model_text_and_json(module_path):
    text = info(module_path)
    assert text.returncode == 0, text.stderr
    shipped = ROOT / "models" / "eeamc.pt"
    assert f"model file   {shipped}" in text.stdout
    assert "sample rate         29,998.5 S/s" in text.stdout and "up to ±750 Hz" in text.stdout  # robust
    assert "shipped:" in text.stdout
    description = json.loads(info(module_path, str(shipped), "--json").stdout)
    assert description["contract"]["sample_rate"] == pytest.approx(RML22_SAMPLE_RATE)
    assert description["contract"]["rolloff"] == 0.35 and description["contract"]["samples_per_symbol"] == 2
    assert description["classes"] == [*CLASSES, "noise"]  # the robust profile's classes
    assert "contract_note" not in description["provenance"], "the shipped file carries its contract"
    assert description["int8"]["check"]["passed"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [("hello", "cannot be read as a gr-eeamc model"), (None, "no such file")],
)
def test_a_bad_file_gives_exit_status_2_and_one_line(module_path, tmp_path, content, problem):
    path = tmp_path / "notes.pt"
    if content is not None:
        path.write_text(content)
    result = info(module_path, str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: model file {path}: {problem}"), result.stderr


def test_help_says_what_it_prints(module_path):
    result = info(module_path, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps to the terminal's width
    for words in ("[MODEL]", "--json", "input contract", "default: the shipped model", "Exit status 2"):
        assert words in text, text


def test_every_command_is_a_subcommand(module_path):
    result = command(module_path, "--help")
    assert result.returncode == 0, result.stderr
    for name in ("info", "listen", "annotate"):
        assert f"    {name} " in result.stdout, result.stdout
    assert command(module_path, "listen", "--help").returncode == 0
