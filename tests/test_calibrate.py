# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""calibrate: thresholds within the accuracy budget on the data they were fitted on, exact for one early exit,
and stored in the model file."""

import itertools

import numpy as np
import pytest
import torch
from gnuradio.eeamc.model_file import Model, load_model, save_model
from gnuradio.eeamc.networks import build_network
from test_evaluate import CLASSES, make_model, one_torch_thread, run_command, write_dataset  # noqa: F401

from training import calibrate as calibrate_command
from training.calibrate import Search, calibrate, calibrate_outputs, calibrate_thresholds
from training.datasets import load_dataset, load_split
from training.metrics import summarize
from training.outcomes import derive_outcome, exit_outputs


def accuracy_and_share(outputs, thresholds) -> tuple[float, float]:
    summary = summarize(derive_outcome(outputs, thresholds), outputs.labels, outputs.num_exits)
    return summary["accuracy"], summary["early_exit_share"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "toy.h5")


@pytest.fixture(scope="module")
def dataset(data_file):
    return load_dataset(data_file, classes=CLASSES)


@pytest.fixture
def model():
    return make_model("v1")


@pytest.fixture(params=["v1", "conv1,conv3"])
def outputs(request, dataset):
    return exit_outputs(make_model(request.param), dataset, "cpu")


@pytest.mark.parametrize("budget", [0.0, 0.5, 2.0, 10.0])
@pytest.mark.parametrize("objective", ["exits", "macs"])
def test_thresholds_respect_the_budget_on_the_fitting_data(outputs, budget, objective):
    result = calibrate_outputs(outputs, budget, objective, len(CLASSES))
    accuracy, share = accuracy_and_share(outputs, result.thresholds)
    exits_off, _ = accuracy_and_share(outputs, 0.0)
    assert accuracy >= exits_off - budget / 100 - 1e-12
    assert (result.accuracy, result.exits_off_accuracy, result.early_exit_share) == (
        accuracy,
        exits_off,
        share,
    )
    assert len(result.thresholds) == outputs.num_exits - 1
    if budget >= 2.0:  # the toy data have confident, right early answers: some must be taken
        assert share > 0.2


def test_one_exit_takes_the_most_windows_the_budget_allows(dataset, model):
    outputs = exit_outputs(model, dataset, "cpu")
    exits_off, _ = accuracy_and_share(outputs, 0.0)
    for budget in (0.0, 0.5, 1.0, 3.0):
        result = calibrate_outputs(outputs, budget, "exits", len(CLASSES))
        # Brute force: every distinct entropy as the threshold.
        feasible = [
            share
            for t in np.unique(outputs.entropies[0]).tolist()
            for accuracy, share in [accuracy_and_share(outputs, max(t, 1e-30))]
            if accuracy >= exits_off - budget / 100 - 1e-12
        ]
        assert result.early_exit_share == max(feasible, default=0.0), budget


def test_the_budget_binds_somewhere(dataset, model):
    """On this data the early exit is less accurate than the end: a larger budget lets more windows out."""
    outputs = exit_outputs(model, dataset, "cpu")
    shares = [
        calibrate_outputs(outputs, b, "exits", len(CLASSES)).early_exit_share for b in (0.0, 1.0, 5.0, 100.0)
    ]
    assert shares == sorted(shares) and shares[0] < shares[-1] == 1.0


def test_candidate_outcomes_equal_derived_outcomes(outputs):
    """The search's one-pass bookkeeping of every threshold equals replaying Algorithm 2 for it."""
    search = Search(outputs, 1.0, "macs", len(CLASSES))
    rng = np.random.default_rng(0)
    for thresholds in itertools.islice(
        (
            [0.0 if rng.random() < 0.3 else float(rng.uniform(0, 0.5)) for _ in range(outputs.num_exits - 1)]
            for _ in itertools.count()
        ),
        6,
    ):
        for k in range(len(thresholds)):
            options = search.options(thresholds, k)
            for j in sorted({0, 1, len(options.leaving) // 2, len(options.leaving) - 1}):
                trial = [*thresholds]
                trial[k] = options.threshold(j)
                assert options.leaving_at(trial[k]) == options.leaving[j]
                state = search.score(trial)
                assert (state.correct, state.final, state.macs) == (
                    options.correct[j],
                    options.final[j],
                    options.macs[j],
                )


def test_objective_macs_never_costs_more_than_exits_off(outputs):
    result = calibrate_outputs(outputs, 0.5, "macs", len(CLASSES))
    assert result.macs_per_window <= result.exits_off_macs_per_window


def test_bare_network_and_baseline(dataset, model):
    net = model.net.train()
    thresholds = calibrate_thresholds(net, dataset, 0.5, "cpu")  # windows used as they are (already L1)
    assert net.training, "the caller's mode is restored"
    net.eval()
    assert thresholds == calibrate_thresholds(model, dataset, 0.5, "cpu")
    baseline = Model(build_network("baseline", num_classes=len(CLASSES)).eval(), list(CLASSES), "l1", [])
    assert calibrate_thresholds(baseline, dataset) == []


def test_bad_budget_and_mismatched_classes(dataset, model):
    with pytest.raises(ValueError, match="percentage points"):
        calibrate(model, dataset, -1.0)
    other = Model(model.net, list(reversed(CLASSES)), "l1", model.thresholds)
    with pytest.raises(ValueError, match="classes"):
        calibrate(other, dataset)


def test_calibrate_command_updates_the_model_file(model, data_file, tmp_path, capsys):
    path = tmp_path / "model.pt"
    save_model(Model(model.net, list(CLASSES), "l1", [0.3], {"arch": "v1", "note": "keep me"}), path)
    assert (
        run_command(
            calibrate_command,
            ["--model", str(path), "--data", str(data_file), "--budget", "1", "--device", "cpu"],
        )
        == 0
    )
    updated = load_model(path)
    assert load_model(tmp_path / "model.pt.bak").thresholds == [0.3]  # the original, kept
    expected = calibrate_thresholds(updated, load_split(data_file, "val", classes=CLASSES), 1.0, "cpu")
    assert updated.thresholds == expected
    record = updated.provenance["calibration"]
    assert updated.provenance["note"] == "keep me"
    assert record["budget_pp"] == 1.0 and record["split"] == "val" and record["thresholds"] == expected
    assert record["accuracy"] >= record["exits_off_accuracy"] - 0.01
    assert {"exit_share", "date", "data", "seed", "command", "objective"} <= set(record)
    for a, b in zip(updated.net.state_dict().values(), model.net.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert "thresholds" in capsys.readouterr().out

    elsewhere = tmp_path / "calibrated.pt"
    before = path.read_bytes()
    run_command(
        calibrate_command,
        [
            "--model",
            str(path),
            "--data",
            str(data_file),
            "--budget",
            "5",
            "--split",
            "all",
            "--out",
            str(elsewhere),
            "--device",
            "cpu",
        ],
    )
    assert path.read_bytes() == before
    assert load_model(elsewhere).provenance["calibration"]["split"] == "all"


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_command(calibrate_command, ["--help"])
    assert exit_info.value.code == 0
    assert "--budget" in capsys.readouterr().out


def high_snr_accuracy(outputs, thresholds, high_snr_db):
    outcome = derive_outcome(outputs, thresholds)
    high = outputs.snrs >= high_snr_db
    correct = outputs.predictions[outcome.exit, np.arange(len(outputs))] == outputs.labels
    return correct[high].mean()


@pytest.mark.parametrize("budget", [0.0, 0.5, 2.0, 10.0])
def test_high_snr_budget_holds_at_high_snr_too(outputs, budget):
    high_snr_db = float(np.median(outputs.snrs))
    result = calibrate_outputs(outputs, budget, "exits", len(CLASSES), high_snr_db=high_snr_db)
    exits_off = high_snr_accuracy(outputs, 0.0, high_snr_db)
    assert high_snr_accuracy(outputs, result.thresholds, high_snr_db) >= exits_off - budget / 100 - 1e-12
    overall, _ = accuracy_and_share(outputs, result.thresholds)
    assert overall >= result.exits_off_accuracy - budget / 100 - 1e-12
    assert result.high_snr_db == high_snr_db
    if outputs.num_exits == 2:  # one early exit: the search is exact, so a constraint more can only cost
        unconstrained = calibrate_outputs(outputs, budget, "exits", len(CLASSES))
        assert result.early_exit_share <= unconstrained.early_exit_share + 1e-12
