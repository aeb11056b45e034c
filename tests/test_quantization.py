# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""int8 inference: calibrated on training windows it keeps a small trained network's answers, its early
exits work through the engine, its parameters survive the model file (and its digest), loading and
running it prints no warning, precision resolution, and the quantize command end to end."""

import dataclasses
import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from gnuradio.eeamc import quantization
from gnuradio.eeamc.engine import EarlyExitEngine
from gnuradio.eeamc.model_file import ModelFileError, load_model, save_model
from gnuradio.eeamc.quantization import PRECISIONS, calibrate_int8, int8_network, resolve_precision
from gnuradio.eeamc.running import engine_for
from test_evaluate import make_model, make_windows, one_torch_thread, run_command, write_dataset  # noqa: F401

from training import evaluate as evaluate_command
from training import quantize as quantize_command
from training.datasets import recorded_split


@functools.cache
def calibrated_model(arch: str) -> tuple:
    """A briefly trained model (training windows: make_windows seed 1), its int8 parameters calibrated on
    those training windows, and held-out windows (seed 2) with their labels."""
    model = make_model(arch)
    train_x, _, _ = make_windows(25, seed=1)
    params = calibrate_int8(model.net, torch.from_numpy(train_x))
    x, y, _ = make_windows(25, seed=2)
    return model, params, torch.from_numpy(x), torch.from_numpy(y)


@pytest.fixture(params=["v1", "conv1,conv3"])
def calibrated(request):
    return calibrated_model(request.param)


def test_int8_keeps_the_answers_of_fp32(calibrated):
    model, params, x, y = calibrated
    int8 = int8_network(model.net, params)
    with torch.inference_mode():
        fp32_logits, int8_logits = model.net.eval()(x), int8(x)
    for k, (f, q) in enumerate(zip(fp32_logits, int8_logits)):
        assert q.dtype == torch.float32 and q.shape == f.shape
        agreement = float((f.argmax(1) == q.argmax(1)).float().mean())
        delta = float((q.argmax(1) == y).float().mean() - (f.argmax(1) == y).float().mean())
        print(
            f"{model.provenance['arch']} exit {k}: agreement {agreement:.3f}, "
            f"accuracy int8 - fp32 {delta:+.3f}"
        )
        assert agreement >= 0.9, f"exit {k}: int8 agrees with fp32 on only {agreement:.1%} of the windows"
        assert abs(delta) <= 0.05, f"exit {k}: int8 accuracy differs from fp32 by {delta:+.1%}"


def test_early_exits_work_in_int8_through_the_engine(calibrated):
    model, params, x, _ = calibrated
    thresholds = [0.3] * (model.net.num_exits - 1)
    fp32 = EarlyExitEngine(model.net, thresholds, "cpu").classify(x)
    int8 = EarlyExitEngine(model.net, thresholds, "cpu", precision="int8", int8_params=params).classify(x)
    assert int8.probabilities.dtype == torch.float32
    torch.testing.assert_close(int8.probabilities.sum(1), torch.ones(len(x)))
    assert len(set(fp32.exit.tolist())) > 1, "the data should leave at more than one exit"
    assert set(int8.exit.tolist()) == set(fp32.exit.tolist())
    assert float((int8.exit == fp32.exit).float().mean()) >= 0.85
    # the engine's int8 answers are the int8 network's own, exit by exit
    with torch.inference_mode():
        logits = int8_network(model.net, params)(x)
    for k in range(model.net.num_exits):
        rows = int8.exit == k
        torch.testing.assert_close(int8.probabilities[rows], logits[k][rows].softmax(1), rtol=1e-5, atol=1e-6)


def test_a_batch_of_any_size_is_padded_to_a_packed_size_and_gives_each_windows_own_answer(calibrated):
    model, params, x, _ = calibrated
    net = int8_network(model.net, params)
    with torch.inference_mode():
        alone = torch.cat([net(x[i : i + 1])[-1] for i in range(13)])
        together = net(x[:13])[-1]  # padded to 16 rows with copies of the 13th window
        torch.testing.assert_close(together, alone, rtol=0, atol=0)
        big = quantization.MAX_PADDED_ROWS + 3
        wide = net(x[torch.arange(big) % len(x)])[-1]  # beyond the padded sizes: run as it is
        torch.testing.assert_close(wide[:13], alone, rtol=0, atol=0)
    convolutions = [m for m in net.modules() if getattr(m, "kind", None) == "conv_relu"]
    # one packed copy per padded size seen (8 for the single windows, 16), and one for any other size
    assert convolutions and all(sorted(c.packed_by_rows) == [0, 8, 16] for c in convolutions)
    assert [quantization.padded_rows(n) for n in (1, 8, 9, 256, 257)] == [8, 8, 16, 256, 257]
    unpadded = int8_network(model.net, params)
    unpadded.pad_batches = False  # torch's kernels alone: every size on the one packing
    with torch.inference_mode():
        torch.testing.assert_close(unpadded(x[:13])[-1], alone, rtol=0, atol=0)
        unpadded(x[:16])
    steps = [m for m in unpadded.modules() if getattr(m, "kind", None) == "conv_relu"]
    assert all(sorted(c.packed_by_rows) == [0] for c in steps)


def test_parameters_are_plain_data_for_this_network_only(calibrated):
    model, params, _, _ = calibrated
    assert json.loads(json.dumps(params)) == params  # numbers and strings only
    assert params["windows"] == 400 and params["activation_qmax"] == 127
    other = make_model("v0")
    with pytest.raises(ValueError, match="calibrated for other weights"):
        int8_network(other.net, params)
    with pytest.raises(ValueError, match="not gr-eeamc int8 parameters"):
        int8_network(model.net, {"activations": {}})


def test_an_outlier_is_clipped_not_given_the_range():
    """A million values in [0, 1] and one at 100: the range stays near [0, 1] (all 127 codes spent on
    where the values are), where the largest value alone would make every code 100/127 wide."""
    values = torch.cat(
        [torch.rand(1_000_000, generator=torch.Generator().manual_seed(0)), torch.tensor([100.0])]
    )
    histogram = torch.histc(values, quantization.HISTOGRAM_BINS, 0, 100).double()
    chosen = quantization.choose_qparams(histogram, 0.0, 100.0, 127)
    assert chosen["zero_point"] == 0 and 0.9 / 127 < chosen["scale"] < 1.2 / 127
    signed = quantization.choose_qparams(
        torch.histc(values - 0.5, 2048, -0.5, 99.5).double(), -0.5, 99.5, 127
    )
    assert 50 < signed["zero_point"] < 77 and signed["scale"] < 1.2 / 127


def test_bad_calibration_windows_are_refused():
    net = make_model("v1").net
    with pytest.raises(ValueError, match=r"shaped \[N, 2, 128\]"):
        calibrate_int8(net, torch.zeros(4, 2, 64))
    with pytest.raises(ValueError, match="no calibration windows"):
        calibrate_int8(net, torch.zeros(0, 2, 128))
    with pytest.raises(ValueError, match="NaN or Inf"):
        calibrate_int8(net, torch.full((4, 2, 128), float("nan")))


def test_a_blocks_engine_has_every_padded_size_packed_before_its_first_call(calibrated):
    model, params, x, _ = calibrated
    logged = []
    engine = engine_for(int8_model(calibrated), "cpu", "int8", lambda *line: logged.append(line))
    convolutions = [m for m in engine.net.modules() if getattr(m, "kind", None) == "conv_relu"]
    sizes = [0, *range(quantization.PAD_ROWS, quantization.MAX_PADDED_ROWS + 1, quantization.PAD_ROWS)]
    assert convolutions and all(sorted(c.packed_by_rows) == sizes for c in convolutions)
    fresh = EarlyExitEngine(model.net, model.thresholds, "cpu", precision="int8", int8_params=params)
    torch.testing.assert_close(engine.classify(x[:13]).probabilities, fresh.classify(x[:13]).probabilities)
    assert any("int8" in text for _level, text in logged)


def int8_model(calibrated, passed: bool = True):
    """A copy of the calibrated model with an int8 section whose check did or did not pass."""
    model, params, _, _ = calibrated
    check = {"passed": passed, "fp32_accuracy": 0.9, "int8_accuracy": 0.9}
    return dataclasses.replace(model, int8={"params": params, "check": check})


def test_model_file_round_trip_and_digest(calibrated, tmp_path):
    model = int8_model(calibrated)
    path = tmp_path / "int8.pt"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.int8 == model.int8
    x = calibrated[2]
    with torch.inference_mode():
        for a, b in zip(
            int8_network(model.net, model.int8["params"])(x),
            int8_network(loaded.net, loaded.int8["params"])(x),
        ):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    # the digest covers the int8 section: a changed scale is a damaged file
    payload = torch.load(path, weights_only=True)
    first = next(iter(payload["int8"]["params"]["activations"]))
    payload["int8"]["params"]["activations"][first]["scale"] *= 1.01
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_model(path)
    # a file without the section loads as fp32 only
    model.int8 = None
    save_model(model, path)
    assert load_model(path).int8 is None


def test_loading_and_running_int8_prints_no_warning(tmp_path, module_path):
    """In a fresh process (torch warns once per process, so only a fresh one shows it), with every
    warning an error: load the model file, build the int8 engine, classify."""
    path = tmp_path / "int8.pt"
    save_model(int8_model(calibrated_model("v1")), path)
    script = (
        "import torch\n"
        "from gnuradio.eeamc.engine import EarlyExitEngine\n"
        "from gnuradio.eeamc.model_file import load_model\n"
        f"model = load_model({str(path)!r})\n"
        "engine = EarlyExitEngine(model.net, model.thresholds, 'cpu', precision='int8', "
        "int8_params=model.int8['params'])\n"
        "result = engine.classify(torch.randn(300, 2, 128) / 200)\n"
        "print(len(result), sorted(set(result.exit.tolist())))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(module_path), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    assert result.stdout.startswith("300 ")


def test_resolve_precision(calibrated, monkeypatch):
    assert PRECISIONS == ("auto", "fp32", "int8")
    model = int8_model(calibrated)
    monkeypatch.setattr(quantization, "fast_int8_cpu", lambda: True)
    assert resolve_precision("auto", "cpu", model)[0] == "int8"
    assert resolve_precision("AUTO", "cpu", model)[0] == "int8"
    assert resolve_precision("fp32", "cpu", model) == ("fp32", "fp32 requested")
    assert resolve_precision("int8", "cpu", model)[0] == "int8"
    precision, reason = resolve_precision("auto", "cuda:0", model)
    assert precision == "fp32" and "CPU only" in reason
    with pytest.raises(ValueError, match="CPU only"):
        resolve_precision("int8", "cuda", model)
    with pytest.raises(ValueError, match="not one of auto, fp32, int8"):
        resolve_precision("int4", "cpu", model)
    monkeypatch.setattr(quantization, "fast_int8_cpu", lambda: False)
    precision, reason = resolve_precision("auto", "cpu", model)
    assert precision == "fp32" and "no fast int8" in reason
    monkeypatch.setattr(quantization, "fast_int8_cpu", lambda: True)
    failed = int8_model(calibrated, passed=False)
    precision, reason = resolve_precision("auto", "cpu", failed)
    assert precision == "fp32" and "did not pass" in reason
    stale = int8_model(calibrated)
    stale.int8["check"]["thresholds"] = [t + 0.1 for t in stale.thresholds]  # calibrated again since
    precision, reason = resolve_precision("auto", "cpu", stale)
    assert precision == "fp32" and "other thresholds" in reason
    stale.int8["check"]["thresholds"] = list(stale.thresholds)
    assert resolve_precision("auto", "cpu", stale)[0] == "int8"
    failed.int8 = None
    precision, reason = resolve_precision("auto", "cpu", failed)
    assert precision == "fp32" and "no int8 parameters" in reason
    with pytest.raises(ValueError, match="training quantize"):
        resolve_precision("int8", "cpu", failed)


def test_fast_int8_cpu_follows_the_capability(monkeypatch):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert quantization.fast_int8_cpu()
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "DEFAULT")
    assert not quantization.fast_int8_cpu()


def test_quantize_command_end_to_end(tmp_path, capsys, module_path):
    data = write_dataset(tmp_path / "toy.h5", per_class_snr=40)
    model = make_model("v1")
    path = tmp_path / "model.pt"
    save_model(model, path)
    out = tmp_path / "model_int8.pt"
    argv = ["--model", str(path), "--data", str(data), "--calibration-windows", "300", "--out", str(out)]
    assert run_command(quantize_command, argv) == 0
    table = capsys.readouterr().out
    assert "agreement (same class)" in table and "int8 - fp32" in table
    check = load_model(out).int8["check"]
    train_windows = int(round(640 * 0.8))
    assert check["calibration_windows"] == 300 <= train_windows and check["windows"] == 64
    for key in (
        "fp32_accuracy",
        "int8_accuracy",
        "fp32_accuracy_high_snr",
        "int8_accuracy_high_snr",
        "agreement",
    ):
        assert 0 <= check[key] <= 1, key
    assert check["agreement"] >= 0.9
    assert check["passed"] == (
        check["int8_accuracy"] >= check["fp32_accuracy"] - 0.003
        and check["int8_accuracy_high_snr"] >= check["fp32_accuracy_high_snr"] - 0.003
    )
    assert load_model(path).int8 is None  # --out leaves the source as it was
    # in place: the original is kept as <name>.bak
    assert run_command(quantize_command, argv[:-2]) == 0
    assert load_model(path).int8 is not None and load_model(tmp_path / "model.pt.bak").int8 is None
    # evaluate in int8 records its precision
    metrics_dir = tmp_path / "eval"
    evaluate_argv = ["--model", str(out), "--data", str(data), "--out", str(metrics_dir), "--no-plots"]
    assert (
        run_command(evaluate_command, [*evaluate_argv, "--precision", "int8", "--timing-repeats", "0"]) == 0
    )
    metrics = json.loads((metrics_dir / "metrics.json").read_text())
    assert metrics["precision"] == "int8" and metrics["model"]["int8_check"]["passed"] == check["passed"]
    # info shows the section
    info = subprocess.run(
        [sys.executable, "-m", "gnuradio.eeamc", "info", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(module_path)},
        cwd=module_path,
        timeout=120,
        check=False,
    )
    assert info.returncode == 0, info.stderr
    assert "int8         calibrated on 300 train windows" in info.stdout and "agreement" in info.stdout


def test_evaluate_int8_without_parameters_names_the_fix(tmp_path):
    data = write_dataset(tmp_path / "toy.h5")
    path = tmp_path / "model.pt"
    save_model(make_model("v1"), path)
    argv = ["--model", str(path), "--data", str(data), "--out", str(tmp_path / "e"), "--precision", "int8"]
    with pytest.raises(ValueError, match="python -m training quantize"):
        run_command(evaluate_command, argv)


def test_calibration_sample_is_seeded():
    from training.datasets import Dataset

    x, y, z = make_windows(5, seed=3)
    dataset = Dataset(x, y, z, ["a", "b", "c", "d"], "toy", {})
    first = quantize_command.calibration_windows(dataset, 30, "l1", seed=4)
    assert torch.equal(first, quantize_command.calibration_windows(dataset, 30, "l1", seed=4))
    assert len(first) == 30 and len(quantize_command.calibration_windows(dataset, 999, "l1", 4)) == len(x)
    assert np.isfinite(first.numpy()).all()


def test_the_recorded_split_unit_is_for_the_training_file_only(calibrated, tmp_path):
    """A model trained on a robust file (split by stream) with an RML22 file mixed in: quantize on the
    RML22 file splits it as that file recommends, as train --mix did, not by the robust file's unit."""
    model = dataclasses.replace(calibrated[0])
    own = tmp_path / "robust.h5"
    model.provenance = {"config": {"data": str(own.resolve()), "split_by": "stream", "seed": 7}}
    assert recorded_split(model.provenance, str(own))["split_by"] == "stream"
    mixed = recorded_split(model.provenance, str(tmp_path / "rml22.h5"))
    assert mixed["split_by"] == "auto" and mixed["seed"] == 7
