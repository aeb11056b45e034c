# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reproduction report: scripts/make_report.py on a run made by the real commands (a tiny dataset,
two networks trained for two epochs, evaluated with short timings), and scripts/reproduce.sh's options."""

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from gnuradio.eeamc.model_file import load_model

from training import evaluate, quantize, train

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ["BPSK", "QPSK", "WBFM"]
SNRS = (-10, 0, 10, 20)


def load_make_report():
    """scripts/ is not a package: import make_report.py from its path."""
    spec = importlib.util.spec_from_file_location("make_report", ROOT / "scripts" / "make_report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_report"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


make_report = load_make_report()


def synthetic_windows(per_group: int, seed: int = 0):
    """A slow tone, a fast tone and random +-1 symbols in noise at unit signal power: easy to tell apart."""
    rng = np.random.default_rng(seed)
    n = np.arange(128)
    xs, ys, zs = [], [], []
    for label in range(len(CLASSES)):
        for snr in SNRS:
            if label == 2:
                signal = np.repeat(rng.choice([-1.0, 1.0], (per_group, 64)), 2, axis=1).astype(complex)
            else:
                signal = np.exp(2j * np.pi * ((0.02, 0.23)[label] * n + rng.random((per_group, 1))))
            noise = (
                rng.standard_normal((per_group, 128)) + 1j * rng.standard_normal((per_group, 128))
            ) / 2**0.5
            samples = signal + noise * 10 ** (-snr / 20)
            xs.append(np.stack([samples.real, samples.imag], axis=1).astype(np.float32))
            ys.append(np.full(per_group, label))
            zs.append(np.full(per_group, snr))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(zs)


def run_command(module, *argv) -> int:
    """One `python -m training` command, in this process."""
    parser = argparse.ArgumentParser()
    module.configure_parser(parser)
    return module.run(parser.parse_args([str(a) for a in argv]))


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """The layout scripts/reproduce.sh leaves: models/, training/ logs and eval/<arch>/T<t>/ for the
    baseline, V1 and the two-exit cascade V1+V3 (V0, V2, V3 and V1 joint missing, as while they are still
    training)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("run")
    data = root / "data.h5"
    x, y, z = synthetic_windows(per_group=40)
    with h5py.File(data, "w") as file:
        file["X"], file["Y"], file["Z"] = x, y, z
        file.attrs["classes"] = CLASSES
        file.attrs["made_by"] = "tests/test_reproduce.py synthetic_windows"
    for arch, network in (("baseline", "baseline"), ("v1", "v1"), ("v1_v3", "conv2,conv5")):
        model = root / "models" / f"rml22_{arch}.pt"
        (root / "training").mkdir(exist_ok=True)
        run_command(
            train, "--data", data, "--arch", network, "--out", model, "--checkpoint", root / f"{arch}.ckpt",
            "--log", root / "training" / f"{arch}.log.jsonl", "--epochs", "2", "--batch-size", "25",
            "--lr", "3e-3", "--normalization", "none", "--threads", "1", "--device", "cpu",
        )  # fmt: skip
        if arch == "v1":  # its int8 parameters, as issue 9's report column needs them
            run_command(
                quantize, "--model", model, "--data", data, "--threads", "1", "--calibration-windows", "200"
            )
        keys = {"baseline": [None], "v1": ["cal", "0.35"], "v1_v3": ["cal"]}[arch]
        for key in keys:
            out = root / "eval" / arch if key is None else root / "eval" / arch / f"T{key}"
            threshold = [] if key in (None, "cal") else ["--threshold", key]
            run_command(
                evaluate, "--model", model, "--data", data, "--out", out, "--device", "cpu", "--no-plots",
                "--timing-repeats", "1", "--timing-windows", "2", "--batch-size", "64", *threshold,
            )  # fmt: skip
    torch.set_num_threads(threads)
    return root


def report_arguments(root: Path, *extra) -> list[str]:
    return [
        "--models", root / "models", "--logs", root / "training", "--evals", root / "eval",
        "--out", root / "report", "--data", root / "data.h5", *extra,
    ]  # fmt: skip


def metrics(root: Path, *parts: str) -> dict:
    return json.loads((root / "eval").joinpath(*parts, "metrics.json").read_text())


def table_row(text: str, quantity: str, setting: str) -> list[str]:
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[:2] == [quantity, setting]:
            return cells
    raise AssertionError(f"no row {quantity!r} / {setting!r} in the report")


@pytest.fixture(scope="module")
def report(run_folder) -> str:
    """results.md as scripts/make_report.py writes it for the run (figures included)."""
    assert make_report.main([str(a) for a in report_arguments(run_folder)]) == 0
    return (run_folder / "report" / "results.md").read_text()


def test_report_numbers_come_from_the_metrics_files(run_folder, report):
    baseline, v1 = metrics(run_folder, "baseline"), metrics(run_folder, "v1", "Tcal")
    v1_paper = metrics(run_folder, "v1", "T0.35")
    row = table_row(report, "overall accuracy", "calibrated thresholds")
    assert row[2:7] == [make_report.pct(baseline["accuracy"]), "missing", make_report.pct(v1["accuracy"]),
                        "missing", "missing"]  # fmt: skip
    row = table_row(report, "early-exit share at 20 dB", "T = 0.35")
    assert row[2] == "n/a" and row[4] == make_report.pct(v1_paper["per_snr"]["20"]["early_exit_share"])
    row = table_row(report, "overall accuracy", "T = 0.05")  # V1 was not evaluated there: a dash, not a guess
    assert row[2:5] == [f"{make_report.pct(baseline['accuracy'])} (62.9 %)", "missing", "–"]
    row = table_row(report, "speed-up, all SNRs (batched)", "calibrated thresholds")
    assert row[4] == make_report.times(v1["timing"]["batched"]["speedup"])
    assert "**Missing** (no model file yet): V0, V2, V3, V1 joint." in report
    assert "**Evaluated at some thresholds only**: V1 (has 0.35, cal); V1+V3 (has cal)." in report
    assert f"<!-- interpretation: write {run_folder / 'report' / 'discussion.md'} -->" in report


def test_int8_table_holds_each_quantized_networks_check(run_folder, report):
    check = load_model(run_folder / "models" / "rml22_v1.pt").int8["check"]
    row = next(r for r in report.split("## int8")[1].splitlines() if r.startswith("| V1 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2:6] == [
        make_report.pct(check[key])
        for key in ("fp32_accuracy", "int8_accuracy", "fp32_accuracy_high_snr", "int8_accuracy_high_snr")
    ]
    assert cells[8].startswith("passed" if check["passed"] else "failed")
    section = report.split("## int8")[1].split("\n## ")[0]
    assert "| baseline |" not in section and "| V1+V3 |" not in section  # not quantized: no row


def test_networks_beyond_the_paper_get_no_authors_numbers(run_folder, report):
    cascade = metrics(run_folder, "v1_v3", "Tcal")
    row = table_row(report, "overall accuracy", "calibrated thresholds")
    assert row[7:9] == ["missing", make_report.pct(cascade["accuracy"])]
    row = table_row(report, "MACs of a window leaving at the first exit", "any")
    assert "(" not in row[8]  # the authors published nothing for a cascade


def test_beyond_the_paper_compares_the_variants_with_v1(run_folder, report):
    v1, cascade = metrics(run_folder, "v1", "Tcal"), metrics(run_folder, "v1_v3", "Tcal")
    section = report.split("## Beyond the paper")[1].split("\n## ")[0]
    row = next(line for line in section.splitlines() if line.startswith("| V1+V3 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1] == "conv2, conv5" and cells[3] == make_report.pct(cascade["accuracy"])
    assert cells[5] == " / ".join(make_report.pct(share, 1) for share in cascade["exit_share"])
    assert cells[7] == make_report.mega(cascade["macs_per_window"])
    assert "| V1 joint |" not in section  # no model: left out, not guessed
    assert (
        f"A second early exit (after conv 5): accuracy {make_report.pp(cascade['accuracy'] - v1['accuracy'])}"
        in section
    )
    assert "(figures/beyond_Tcal.png)" in section


def test_the_hand_written_discussion_survives_regeneration(run_folder):
    discussion = run_folder / "report" / "discussion.md"
    discussion.parent.mkdir(parents=True, exist_ok=True)
    discussion.write_text("### Interpretation\n\nOur data are harder at the same label.\n")
    try:
        assert make_report.main([str(a) for a in report_arguments(run_folder)]) == 0
        report = (run_folder / "report" / "results.md").read_text()
    finally:
        discussion.unlink()
    assert "### Interpretation\n\nOur data are harder at the same label." in report


def test_report_links_every_figure_the_results_allow(run_folder, report):
    figures = run_folder / "report" / "figures"
    for name in ("learning_baseline", "learning_v1", "fig4_Tcal", "fig4_T035", "fig5_T035", "speedup_Tcal"):
        assert (figures / f"{name}.png").stat().st_size > 0
        assert f"(figures/{name}.png)" in report
    # Only the baseline has results at T = 0.6 and 0.05: nothing to compare, so no figure 6.
    assert not (figures / "fig6_T06_T005.png").exists() and "fig6" not in report


def test_learning_curves_table_matches_the_log(run_folder, report):
    log = [json.loads(line) for line in (run_folder / "training" / "v1.log.jsonl").read_text().splitlines()]
    best = min(log, key=lambda record: record["val_objective"])
    row = next(line for line in report.splitlines() if line.startswith("| V1 | 2 |"))
    assert f"{best['epoch']} ({best['val_objective']:.4f})" in row


def test_nothing_is_shipped_while_networks_are_missing(run_folder, tmp_path, capsys):
    networks = make_report.load_networks(run_folder / "models", run_folder / "training", run_folder / "eval")
    choice = make_report.choose(networks, margin_pp=1.0)
    assert choice.arch in ("v1", "v1_v3")  # the early-exit networks with results
    shipped = tmp_path / "shipped.pt"
    args = argparse.Namespace(
        models=str(run_folder / "models"),
        evals=str(run_folder / "eval"),
        ship_to=str(shipped),
        ship_arch=None,
    )
    make_report.ship_choice(choice, args)
    assert not shipped.exists()
    assert "networks ['v0', 'v2', 'v3', 'v1_joint'] have no model yet" in capsys.readouterr().err


def test_shipping_by_hand_writes_the_model_with_its_test_metrics(run_folder, tmp_path, capsys):
    networks = make_report.load_networks(run_folder / "models", run_folder / "training", run_folder / "eval")
    choice = make_report.choose(networks, margin_pp=1.0)
    destination = tmp_path / "models" / "eeamc_rml22.pt"
    args = argparse.Namespace(
        models=str(run_folder / "models"),
        evals=str(run_folder / "eval"),
        ship_to=str(destination),
        ship_arch="v1",
    )
    make_report.ship_choice(choice, args)
    shipped, source = load_model(destination), load_model(run_folder / "models" / "rml22_v1.pt")
    for a, b in zip(shipped.net.state_dict().values(), source.net.state_dict().values()):
        assert torch.equal(a, b)
    assert shipped.thresholds == source.thresholds
    metrics = json.loads((run_folder / "eval" / "v1" / "Tcal" / "metrics.json").read_text())
    assert shipped.provenance["test_metrics"]["accuracy"] == metrics["accuracy"]
    assert shipped.provenance["test_metrics"]["accuracy_per_snr"] == {
        snr: entry["accuracy"] for snr, entry in metrics["per_snr"].items()
    }
    assert "--ship-arch v1" in shipped.provenance["shipped"]["reason"]
    assert shipped.provenance["made_by"] == source.provenance["made_by"]


def test_reproduce_script_options():
    script = ROOT / "scripts" / "reproduce.sh"
    help_text = subprocess.run([script, "--help"], capture_output=True, text=True, check=True).stdout
    assert "--quick" in help_text and "--archs" in help_text
    for bad in (
        ["--archs", "v9"],
        ["--bogus"],
        ["--eval-threads", "0"],
        ["--jobs", "0"],
        ["--no-train", "--train-only"],
    ):
        result = subprocess.run([script, *bad], capture_output=True, text=True)
        assert result.returncode == 1 and "error:" in result.stderr, bad
