# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""prior: one class's logit offset chosen on the validation split by the stated rule, folded into every
exit's output bias, with the thresholds recalibrated and a stale int8 section dropped."""

import argparse
import shlex

import numpy as np
import pytest
import torch
from gnuradio.eeamc.model_file import Model, load_model, save_model
from gnuradio.eeamc.networks import shift_class_logit
from test_evaluate import CLASSES, make_model, one_torch_thread, run_command, write_dataset  # noqa: F401

from training import prior as prior_command
from training.datasets import load_split
from training.outcomes import exit_outputs
from training.prior import answers_with_offset, choose_offset, final_log_probabilities, parse_offsets

#: The toy data have no noise class: the class raised here is the one the toy network confuses most at
#: its lowest SNR, which is what the noise class is to the shipped model.
RAISED = "QAM16"


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "toy.h5")


@pytest.fixture
def model():
    return make_model("v1")


def test_shift_moves_one_logit_at_every_exit_by_the_offset(model):
    x = torch.randn(8, 2, 128)
    with torch.no_grad():
        before = model.net(x)
        shift_class_logit(model.net, 3, 0.75)
        after = model.net(x)
    for old, new in zip(before, after):
        torch.testing.assert_close(new[:, 3], old[:, 3] + 0.75)
        torch.testing.assert_close(new[:, :3], old[:, :3])
    with pytest.raises(ValueError, match="outside the network's 4 classes"):
        shift_class_logit(model.net, 4, 1.0)


def test_the_chosen_offset_is_the_best_by_the_rule(model, data_file):
    outputs = exit_outputs(model, load_split(data_file, "val", classes=CLASSES), "cpu")
    offsets = parse_offsets("0:4:0.25")
    result = choose_offset(outputs, CLASSES.index(RAISED), RAISED, offsets, min_snr_db=-10)
    log_p, high = final_log_probabilities(outputs), outputs.snrs >= -10
    accuracy = [
        (answers_with_offset(log_p, CLASSES.index(RAISED), o)[high] == outputs.labels[high]).mean()
        for o in offsets
    ]
    assert result.accuracy_after == pytest.approx(max(accuracy))
    assert result.offset == offsets[int(np.argmax(accuracy))]  # the first (smallest) of any tie
    assert result.accuracy_before == pytest.approx(accuracy[0])
    # a huge offset names the raised class for everything
    flooded = choose_offset(outputs, CLASSES.index(RAISED), RAISED, [1000.0], min_snr_db=-10)
    assert flooded.class_recall_after == 1.0 and flooded.called_class_after == 1.0


def test_offsets_and_bad_input():
    assert parse_offsets("0:1:0.5") == [0.0, 0.5, 1.0]
    assert parse_offsets("0.2,1") == [0.2, 1.0]
    for bad in ("1:0:0.1", "0:1:0", "-1,2", "a,b", "", "nan", "inf", "1e400"):
        with pytest.raises(ValueError, match="offsets"):
            parse_offsets(bad)


def test_prior_command_updates_the_model_file(model, data_file, tmp_path, capsys):
    path = tmp_path / "model.pt"
    fake_int8 = {"params": {}, "check": {"passed": True}}
    save_model(
        Model(
            model.net,
            list(CLASSES),
            "l1",
            [0.3],
            {"calibration": {"budget_pp": 1.0, "high_snr_db": None}},
            int8=fake_int8,
        ),
        path,
    )
    argv = [
        "--model",
        str(path),
        "--data",
        str(data_file),
        "--class",
        RAISED,
        "--min-snr",
        "-10",
        "--device",
        "cpu",
    ]
    assert run_command(prior_command, [*argv, "--offsets", "1.5"]) == 0  # one offset: it is taken
    updated, original = load_model(path), load_model(tmp_path / "model.pt.bak")
    record = updated.provenance["class_offset"]
    assert original.int8 is not None and updated.int8 is None  # stale int8 dropped, the original kept
    assert (
        record["class_name"] == RAISED
        and record["split"] == "val"
        and record["total_offset"] == record["offset"]
    )
    assert record["offset"] == 1.5
    index, changed = CLASSES.index(RAISED), []
    for (name, new), old in zip(updated.net.state_dict().items(), original.net.state_dict().values()):
        if not torch.equal(new, old):
            changed.append(name)
            torch.testing.assert_close(new[index], old[index] + 1.5)
            torch.testing.assert_close(new[:index], old[:index])
    assert sorted(changed) == ["branches.0.6.bias", "head.4.bias"]  # the two exits' output layers only
    # recalibrated, by this command, with the recorded settings (budget 1 point, overall only)
    calibration = updated.provenance["calibration"]
    assert "training prior" in calibration["command"] and calibration["windows"] > 0
    assert calibration["budget_pp"] == 1.0 and calibration["high_snr_db"] is None
    out = capsys.readouterr().out
    assert f"{RAISED} offset" in out and "int8 section was dropped" in out

    # the recorded command is one the parser takes (it reproduces the run)
    recorded = shlex.split(record["command"])
    assert recorded[:4] == ["python", "-m", "training", "prior"]
    parser = argparse.ArgumentParser()
    prior_command.configure_parser(parser)
    assert parser.parse_args(recorded[4:]).class_name == RAISED

    # runs add up, per class
    run_command(prior_command, [*argv, "--offsets", "0.5"])
    run_command(
        prior_command,
        [*argv[:4], "--class", "BPSK", "--min-snr", "-10", "--device", "cpu", "--offsets", "0.25"],
    )
    final = load_model(path)
    assert final.provenance["class_offset"]["totals"] == {RAISED: 2.0, "BPSK": 0.25}
    bias = dict(final.net.state_dict())["head.4.bias"]
    torch.testing.assert_close(bias[index], original.net.state_dict()["head.4.bias"][index] + 2.0)


def test_no_helpful_offset_leaves_the_file_as_it_was(model, data_file, tmp_path, capsys):
    path = tmp_path / "model.pt"
    save_model(model, path)
    before = path.read_bytes()
    argv = ["--model", str(path), "--data", str(data_file), "--class", RAISED, "--device", "cpu"]
    assert run_command(prior_command, [*argv, "--offsets", "0", "--min-snr", "-10"]) == 0
    assert path.read_bytes() == before and not (tmp_path / "model.pt.bak").exists()
    assert "model file is unchanged" in capsys.readouterr().out


def test_unknown_class_is_refused_clearly(model, data_file, tmp_path):
    path = tmp_path / "model.pt"
    save_model(model, path)
    with pytest.raises(ValueError, match="class 'noise' is not one of the model's classes"):
        run_command(prior_command, ["--model", str(path), "--data", str(data_file), "--device", "cpu"])
