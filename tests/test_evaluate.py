# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""evaluate: outcomes derived from stored exit outputs match the engine, and the command writes its files."""

import argparse
import csv
import dataclasses
import functools
import json

import h5py
import numpy as np
import pytest
import torch
from gnuradio.eeamc.engine import EarlyExitEngine
from gnuradio.eeamc.model_file import Model, load_model, save_model
from gnuradio.eeamc.networks import build_network
from gnuradio.eeamc.windows import normalize

from training import evaluate as evaluate_command
from training import plots
from training.datasets import load_dataset, load_split
from training.evaluate import evaluate
from training.metrics import summarize
from training.outcomes import derive_outcome, engine_outcome, exit_outputs, model_windows


def run_command(module, argv: list[str]) -> int:
    """Parse and run one ``python -m training`` command the way training/cli.py does (only this command's
    module is imported, so the test does not depend on the others)."""
    parser = argparse.ArgumentParser(description=module.__doc__)
    module.configure_parser(parser)
    return module.run(parser.parse_args(argv))


def evaluate_main(argv: list[str]) -> int:
    return run_command(evaluate_command, argv)


CLASSES = ["BPSK", "QPSK", "8PSK", "QAM16"]
SNRS = [-20, -10, 0, 10]


def make_windows(per_class_snr: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Toy signals a small network can learn quickly: one tone frequency per class in AWGN, L1 normalised."""
    rng = np.random.default_rng(seed)
    x, y, z = [], [], []
    n = np.arange(128)
    for label in range(len(CLASSES)):
        for snr in SNRS:
            phase = rng.uniform(0, 2 * np.pi, (per_class_snr, 1))
            tone = np.exp(1j * (2 * np.pi * (label + 1) / 16 * n + phase))
            noise = rng.standard_normal((per_class_snr, 128)) + 1j * rng.standard_normal((per_class_snr, 128))
            signal = tone + noise * 10 ** (-snr / 20) / np.sqrt(2)
            x.append(np.stack([signal.real, signal.imag], axis=1))
            y += [label] * per_class_snr
            z += [snr] * per_class_snr
    windows = normalize(np.concatenate(x).astype(np.float32), "l1")
    return windows, np.array(y), np.array(z)


def write_dataset(path, per_class_snr: int = 25, seed: int = 1):
    """The toy windows as a gr-eeamc HDF5 file."""
    x, y, z = make_windows(per_class_snr, seed)
    with h5py.File(path, "w") as file:
        file["X"], file["Y"], file["Z"] = x, y, z
        file.attrs["classes"] = CLASSES
        file.attrs["normalization"] = "l1"
        file.attrs["made_by"] = "tests/test_evaluate.py toy tones"
    return path


def train_briefly(arch: str, x: np.ndarray, y: np.ndarray, steps: int = 25) -> torch.nn.Module:
    """A few joint Adam steps so that exits are confident on easy windows and unsure on noisy ones."""
    torch.manual_seed(0)
    net = build_network(arch, num_classes=len(CLASSES))
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    inputs, labels = torch.from_numpy(x), torch.from_numpy(y)
    net.train()
    for step in range(steps):
        batch = torch.randperm(len(x), generator=torch.Generator().manual_seed(step))[:64]
        loss = sum(torch.nn.functional.cross_entropy(out, labels[batch]) for out in net(inputs[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # BatchNorm's running statistics lag far behind after so few steps (L1-normalised windows are tiny):
    # recompute them exactly so that eval mode sees what training saw.
    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, torch.nn.BatchNorm1d):
                layer.reset_running_stats()
                layer.momentum = None  # cumulative average
        net(inputs)
    return net.eval()


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One thread: these tiny batches gain nothing from more, and a busy shared machine slows threads down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def data_file(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "toy.h5")


@pytest.fixture(scope="session")
def dataset(data_file):
    return load_dataset(data_file, classes=CLASSES)


@functools.cache
def trained_net(arch: str) -> torch.nn.Module:
    """One briefly trained network per architecture for the whole session (test modules share it)."""
    x, y, _ = make_windows(25, seed=1)
    return train_briefly(arch, x, y)


def make_model(arch: str) -> Model:
    net = trained_net(arch)
    thresholds = [0.3] * (net.num_exits - 1)
    return Model(net, list(CLASSES), "l1", thresholds, {"arch": arch, "note": "test model"})


@pytest.fixture(scope="session")
def model():
    """V1 (one early exit, the paper's choice)."""
    return make_model("v1")


@pytest.fixture(scope="session")
def cascade():
    """Two early exits."""
    return make_model("conv1,conv3")


@pytest.fixture(params=["model", "cascade"])
def any_model(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def model_file(model, tmp_path):
    save_model(model, tmp_path / "model.pt")
    return tmp_path / "model.pt"


def midpoint_thresholds(outputs, quantile: float) -> list[float]:
    """Per early exit, a threshold halfway between two neighbouring entropies, so that rounding
    differences between batch compositions cannot move a window across it."""
    values = []
    for k in range(outputs.num_exits - 1):
        entropy = np.unique(outputs.entropies[k])
        i = min(len(entropy) - 2, int(quantile * len(entropy)))
        values.append(float(entropy[i] + entropy[i + 1]) / 2)
    return values


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_derived_outcomes_equal_the_engine(any_model, dataset, quantile):
    model = any_model
    outputs = exit_outputs(model, dataset, "cpu", batch_size=64)
    thresholds = midpoint_thresholds(outputs, quantile)
    derived = derive_outcome(outputs, thresholds)
    engine = EarlyExitEngine(model.net, thresholds, "cpu")
    truth = engine_outcome(engine, model_windows(dataset.x, "l1"), batch_size=50)
    assert len(set(truth.exit.tolist())) > 1, "the thresholds should split the windows between exits"
    np.testing.assert_array_equal(derived.exit, truth.exit)
    np.testing.assert_array_equal(derived.label, truth.label)
    np.testing.assert_array_equal(derived.macs, truth.macs)


def test_disabled_exit_in_a_cascade_matches_the_engine(cascade, dataset):
    model, net = cascade, cascade.net
    outputs = exit_outputs(model, dataset, "cpu")
    thresholds = [0.0, midpoint_thresholds(outputs, 0.5)[1]]
    truth = engine_outcome(EarlyExitEngine(net, thresholds, "cpu"), model_windows(dataset.x, "l1"))
    derived = derive_outcome(outputs, thresholds)
    assert not (truth.exit == 0).any()
    np.testing.assert_array_equal(derived.exit, truth.exit)
    np.testing.assert_array_equal(derived.macs, truth.macs)


def test_threshold_zero_is_the_network_without_early_exits(any_model, dataset):
    model = any_model
    outputs = exit_outputs(model, dataset, "cpu")
    off = summarize(derive_outcome(outputs, 0.0), outputs.labels, outputs.num_exits)
    assert off["early_exit_share"] == 0 and off["exit_share"][-1] == 1
    with torch.inference_mode():
        final = model.net(model_windows(dataset.x, "l1"))[-1].argmax(1).numpy()
    assert off["accuracy"] == pytest.approx(float((final == dataset.y).mean()))
    assert off["macs_per_window"] == model.net.macs_per_exit([False] * (outputs.num_exits - 1))[-1]
    metrics = evaluate(model, dataset, 0.0, "cpu", timing_repeats=0, sweep=[0.0, 0.5])
    assert metrics["accuracy"] == metrics["exits_off_accuracy"] == off["accuracy"]
    assert all(entry["early_exit_share"] == 0 for entry in metrics["per_snr"].values())
    assert metrics["sweep"][0]["accuracy"] == off["accuracy"]


def test_per_snr_numbers_add_up(model, dataset):
    metrics = evaluate(model, dataset, None, "cpu", timing_repeats=0)
    assert metrics["thresholds"] == model.thresholds
    assert sorted(metrics["per_snr"], key=int) == [str(s) for s in SNRS]
    total = sum(e["windows"] for e in metrics["per_snr"].values())
    assert total == len(dataset)
    weighted = sum(e["accuracy"] * e["windows"] for e in metrics["per_snr"].values()) / total
    assert weighted == pytest.approx(metrics["accuracy"])
    assert sum(metrics["exit_share"]) == pytest.approx(1.0)
    confusion = np.array(metrics["confusion"]["overall"])
    assert confusion.sum() == len(dataset)
    assert np.trace(confusion) / confusion.sum() == pytest.approx(metrics["accuracy"])
    high = sum(np.array(m).sum() for snr, m in metrics["confusion"]["per_snr"].items() if int(snr) >= 10)
    assert np.array(metrics["confusion"]["high_snr"]).sum() == high
    # Easy (high-SNR) windows leave early more often than noisy ones: the premise of the paper.
    shares = [metrics["per_snr"][str(s)]["early_exit_share"] for s in SNRS]
    assert shares[-1] > shares[0]
    macs = [row["macs_per_window"] for row in metrics["sweep"]]
    assert macs[0] == metrics["exits_off_macs_per_window"]
    assert metrics["sweep"][-1]["early_exit_share"] == 1.0  # T = 1 >= every entropy


@pytest.mark.parametrize("which", ["model", "cascade"])
def test_evaluate_command_writes_every_file(which, request, data_file, tmp_path, capsys):
    model_file = tmp_path / "model.pt"
    save_model(request.getfixturevalue(which), model_file)
    out = tmp_path / "eval"
    status = evaluate_main(
        [
            "--model",
            str(model_file),
            "--data",
            str(data_file),
            "--out",
            str(out),
            "--split",
            "all",
            "--device",
            "cpu",
            "--batch-size",
            "64",
            "--timing-windows",
            "5",
            "--timing-repeats",
            "1",
            "--thresholds-sweep",
            "0,0.1,0.3,1",
        ]
    )
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "accuracy",
        "exit_share",
        "macs_per_window",
        "per_snr",
        "early_exit_accuracy",
        "timing",
        "thresholds",
        "model",
        "dataset",
        "split",
        "machine",
        "command",
        "date",
        "sweep",
        "confusion",
    ):
        assert key in metrics, key
    model = load_model(model_file)
    assert len(metrics["exit_share"]) == model.net.num_exits
    assert metrics["thresholds"] == model.thresholds and metrics["split"] == "all"
    assert metrics["model"]["provenance"]["note"] == "test model"
    assert metrics["dataset"]["attrs"]["made_by"].startswith("tests/")
    assert {"platform", "cpu", "torch", "threads"} <= set(metrics["machine"])
    for entry in metrics["per_snr"].values():
        for key in ("accuracy", "exit_share", "macs_per_window", "early_exit_accuracy", "timing"):
            assert key in entry
        for mode in ("batched", "batch1"):
            timing = entry["timing"][mode]
            assert timing["early_exits_us_per_window"] > 0 and timing["exits_off_us_per_window"] > 0
            assert timing["speedup"] == pytest.approx(timing["exits_off_s"] / timing["early_exits_s"])
    assert metrics["per_snr"]["10"]["timing"]["batch1"]["windows"] == 5
    rows = list(csv.DictReader((out / "per_snr.csv").open()))
    assert [int(r["snr"]) for r in rows] == SNRS
    assert float(rows[0]["accuracy"]) == pytest.approx(metrics["per_snr"]["-20"]["accuracy"])
    sweep = list(csv.DictReader((out / "sweep.csv").open()))
    assert [float(r["threshold"]) for r in sweep] == [0, 0.1, 0.3, 1]
    for name in (
        "accuracy_vs_snr",
        "exit_share_vs_snr",
        "time_vs_snr",
        "confusion",
        "confusion_high_snr",
        "sweep",
    ):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG", name
    assert "speed-up" in capsys.readouterr().out


def test_threshold_option(model_file, data_file, tmp_path):
    model = load_model(model_file)
    early = model.net.num_exits - 1
    out = tmp_path / "eval"
    args = [
        "--model",
        str(model_file),
        "--data",
        str(data_file),
        "--out",
        str(out),
        "--split",
        "test",
        "--timing-repeats",
        "0",
        "--no-plots",
        "--device",
        "cpu",
    ]
    assert evaluate_main([*args, "--threshold", "0.25"]) == 0
    assert json.loads((out / "metrics.json").read_text())["thresholds"] == [0.25] * early
    assert evaluate_main([*args, "--threshold", ",".join(["0"] * early)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["early_exit_share"] == 0 and metrics["accuracy"] == metrics["exits_off_accuracy"]
    assert metrics["split"] == "test" and metrics["dataset"]["windows"] == len(load_split(data_file, "test"))
    with pytest.raises(ValueError, match="one per early exit"):
        evaluate_main([*args, "--threshold", "0.1,0.2,0.3"])


def test_multi_run_figures(model_file, data_file, tmp_path):
    runs = []
    for threshold in ("0.05", "0.6"):
        out = tmp_path / threshold
        evaluate_main(
            [
                "--model",
                str(model_file),
                "--data",
                str(data_file),
                "--out",
                str(out),
                "--split",
                "all",
                "--threshold",
                threshold,
                "--timing-windows",
                "3",
                "--timing-repeats",
                "1",
                "--no-plots",
                "--device",
                "cpu",
            ]
        )
        runs.append(out)
    written = [
        plots.figure4(runs, ["T=0.05", "T=0.6"], tmp_path / "fig4.png", title="toy", show_exits_off=True),
        plots.figure5(
            [json.loads((r / "metrics.json").read_text()) for r in runs], ["a", "b"], tmp_path / "fig5.png"
        ),
        plots.figure6({"T = 0.6": runs[1:], "T = 0.05": runs[:1]}, ["model"], tmp_path / "fig6.png"),
        plots.figure_speedup(runs, ["a", "b"], tmp_path / "speedup.png"),
    ]
    for path in written:
        assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="one label per run"):
        plots.figure4(runs, ["only one"], tmp_path / "bad.png")


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate_main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--thresholds-sweep" in text and "per SNR" in text


def test_network_without_early_exits(data_file, tmp_path):
    torch.manual_seed(0)
    baseline = Model(build_network("baseline", num_classes=len(CLASSES)).eval(), list(CLASSES), "l1", [])
    save_model(baseline, tmp_path / "baseline.pt")
    out = tmp_path / "eval"
    args = [
        "--model",
        str(tmp_path / "baseline.pt"),
        "--data",
        str(data_file),
        "--out",
        str(out),
        "--split",
        "val",
        "--timing-windows",
        "2",
        "--timing-repeats",
        "1",
        "--threshold",
        "0.35",
        "--device",
        "cpu",
    ]
    assert evaluate_main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (
        metrics["thresholds"] == []
        and metrics["exit_share"] == [1.0]
        and metrics["early_exit_accuracy"] == []
    )
    assert metrics["timing"]["batched"]["speedup"] == 1.0  # one network, measured once
    assert metrics["macs_per_window"] == baseline.net.macs_per_exit()[-1]
    assert (out / "exit_share_vs_snr.png").is_file()


def test_batched_timing_runs_in_the_timing_batch(any_model, dataset):
    metrics = evaluate(any_model, dataset, 0.3, "cpu", timing_repeats=1, timing_windows=2, timing_batch=7)
    assert metrics["timing"]["batched"]["batch_size"] == 7
    assert metrics["timing"]["batched"]["windows"] == len(dataset)


def test_decisions_over_windows_of_one_stream(model, tmp_path):
    """A file with stream ids gets accuracy per decision over N windows; N = 1 is the window accuracy."""
    path = write_dataset(tmp_path / "streams.h5", per_class_snr=32)
    with h5py.File(path, "a") as file:
        file["S"] = np.arange(len(file["Y"])) // 8  # streams of 8 consecutive windows (one class and SNR)
    dataset = load_split(path, "all", classes=CLASSES)
    metrics = evaluate(model, dataset, timing_repeats=0)
    per_n = metrics["decisions"]["per_n"]
    assert per_n["1"]["accuracy"] == pytest.approx(metrics["accuracy"])
    assert per_n["8"]["decisions"] == len(dataset) // 8  # one sliding decision per stream of 8
    assert per_n["16"]["decisions"] == 0  # no stream is that long
    assert "decisions" not in evaluate(
        model, load_split(write_dataset(tmp_path / "plain.h5"), "all"), timing_repeats=0
    )
    by_window = load_split(path, "test", classes=CLASSES, split_by="window")
    assert "decisions" not in evaluate(model, by_window, timing_repeats=0)


def test_the_split_is_the_models_own_unless_another_seed_is_asked_for(model, data_file, tmp_path, capsys):
    config = {"seed": 7, "test_fraction": 0.2, "val_fraction": 0.1}
    trained = dataclasses.replace(model, provenance={**model.provenance, "config": config})
    save_model(trained, tmp_path / "seed7.pt")
    argv = ["--model", str(tmp_path / "seed7.pt"), "--data", str(data_file), "--out", str(tmp_path / "e")]
    argv += ["--split", "test", "--timing-repeats", "0", "--no-plots", "--device", "cpu"]
    own = load_split(data_file, "test", seed=7, test_fraction=0.2, classes=CLASSES)
    assert evaluate_main(argv) == 0  # no --seed: the model's seed and fractions
    assert "trained on a split" not in capsys.readouterr().err
    metrics = json.loads((tmp_path / "e" / "metrics.json").read_text())
    assert (metrics["seed"], metrics["windows"]) == (7, len(own))
    assert "--seed 7" in metrics["command"]  # the recorded command reproduces the split
    assert evaluate_main([*argv, "--seed", "25"]) == 0
    assert "trained on a split with seed 7" in capsys.readouterr().err
    assert json.loads((tmp_path / "e" / "metrics.json").read_text())["seed"] == 25
    assert evaluate_main([*argv, "--seed", "7"]) == 0
    assert "trained on a split" not in capsys.readouterr().err
