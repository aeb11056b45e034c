# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The independent check set: its file as the loader reads it, true SNR, noise without tones, the
fractional resampler, determinism across workers, and that it shares no code with training.generate."""

import ast
from pathlib import Path

import h5py
import numpy as np
import pytest

from training import checkset
from training.cli import main
from training.datasets import RML22_CLASSES, load_dataset

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = (
    "training.generate",
    "training.modulators",
    "training.channel",
    "training.audio",
    "gnuradio.eeamc.synthetic_band",
)
#: An averaged periodogram bin this many times the mean bin is a tone (white noise stays near 2).
TONE_RATIO = 15.0


def write(path: Path, *options: str) -> Path:
    assert main(["checkset", "--out", str(path), "--quiet", *options]) == 0
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Every class at two SNRs, 6 windows each in streams of 4 (so one stream of each job is cut short)."""
    path = tmp_path_factory.mktemp("checkset") / "tiny.h5"
    return write(path, "--per", "6", "--snrs", "-10,10", "--windows-per-stream", "4", "--workers", "1")


def test_the_loader_reads_every_class_in_the_projects_order_plus_noise(tiny):
    data = load_dataset(tiny)
    assert data.classes == [*RML22_CLASSES, "noise"]
    assert data.x.shape == (11 * 2 * 6, 2, 128) and data.x.dtype == np.float32
    assert np.bincount(data.y).tolist() == [12] * 11
    assert data.snrs == [-10, 10]
    # L1-normalised as the model expects: sum |x| = 1 in every window.
    np.testing.assert_allclose(np.hypot(data.x[:, 0], data.x[:, 1]).sum(axis=1), 1.0, rtol=1e-5)


def test_streams_are_consecutive_and_every_range_and_the_command_are_recorded(tiny):
    with h5py.File(tiny) as file:
        s, y, z = file["S"][...], file["Y"][...], file["Z"][...]
        attrs = dict(file.attrs)
        stream_class = file["streams/class"][...]
        samples_per_symbol = file["streams/samples_per_symbol"][...]
    assert np.all(np.diff(s) >= 0) and np.unique(s).size == 11 * 2 * 2  # ceil(6 / 4) streams per job
    assert np.bincount(s).tolist() == [4, 2] * 22
    assert np.array_equal(stream_class[s], y)  # one class per stream
    assert all(np.unique(z[s == k]).size == 1 for k in np.unique(s))
    for name, bounds in checkset.RANGES.items():
        assert list(attrs[f"range_{name}"]) == list(bounds)
    for name, options in checkset.CHOICES.items():
        assert list(attrs[f"choice_{name}"]) == list(options)
    assert attrs["seed"] == checkset.DEFAULT_SEED and attrs["generator"] == "training.checkset"
    assert "--per 6" in attrs["command_line"] and "code_version" in attrs
    drawn = samples_per_symbol[~np.isnan(samples_per_symbol)]
    assert drawn.size > 0 and np.all((drawn >= 1.8) & (drawn <= 2.3))


@pytest.mark.parametrize("name", ["QAM64", "8PSK", "CPFSK", "WBFM", "AM-DSB"])
def test_the_snr_label_is_the_true_snr_on_a_clean_channel(name):
    for snr in (-10, 0, 10, 20):
        seed = checkset.stream_seed(3, name, snr, 0)
        noisy, _ = checkset.make_stream(name, snr, seed, 16 * 128, channel="awgn")
        clean, _ = checkset.make_stream(name, None, seed, 16 * 128, channel="awgn")
        measured = 10 * np.log10(np.mean(np.abs(clean) ** 2) / np.mean(np.abs(noisy - clean) ** 2))
        assert abs(measured - snr) < 1.0, (name, snr, measured)


def tone_ratio(windows: np.ndarray) -> float:
    """Largest bin of the windows' averaged periodogram over the mean bin."""
    spectrum = np.mean(np.abs(np.fft.fft(windows[:, 0] + 1j * windows[:, 1], axis=1)) ** 2, axis=0)
    return float(spectrum.max() / spectrum.mean())


def test_noise_windows_hold_no_tone_and_the_measure_finds_a_carrier():
    kinds = set()
    for stream in range(12):
        samples, params = checkset.make_stream(
            "noise", 0, checkset.stream_seed(5, "noise", 0, stream), 16 * 128
        )
        kinds.add(params["noise_kind"])
        assert tone_ratio(checkset.to_windows(samples)) < TONE_RATIO, params
    assert kinds == {"white", "band_limited"}
    am, _ = checkset.make_stream("AM-DSB", 20, checkset.stream_seed(5, "AM-DSB", 20, 0), 16 * 128, "awgn")
    assert tone_ratio(checkset.to_windows(am)) > TONE_RATIO  # its carrier


@pytest.mark.parametrize("step", [0.43, 1.0, 3.6, 4.35])
def test_the_fractional_resampler_gives_a_tone_at_the_new_instants(step):
    frequency = 0.03 / max(step, 1.0)  # cycles per input sample, inside the new band
    tone = np.exp(2j * np.pi * frequency * np.arange(6000))
    start = 300.25
    out = checkset.resample(tone, step, start, 400)
    expected = np.exp(2j * np.pi * frequency * (start + step * np.arange(400)))
    assert np.max(np.abs(out - expected)) < 1e-3


def test_the_same_seed_gives_the_same_file_for_any_number_of_workers(tmp_path):
    options = ("--per", "8", "--snrs", "0,20", "--classes", "GFSK,WBFM,noise", "--windows-per-stream", "4")
    one = write(tmp_path / "one.h5", *options, "--workers", "1")
    two = write(tmp_path / "two.h5", *options, "--workers", "2")
    other = write(tmp_path / "other.h5", *options, "--workers", "1", "--seed", "7")
    with h5py.File(one) as a, h5py.File(two) as b, h5py.File(other) as c:
        for key in ("X", "Y", "Z", "S", "streams/fsk_index", "streams/audio"):
            equal_nan = a[key].dtype.kind == "f"
            assert np.array_equal(a[key][...], b[key][...], equal_nan=equal_nan), key
        assert not np.array_equal(a["X"][...], c["X"][...])
        same = {k: v for k, v in a.attrs.items() if k not in ("date", "elapsed_s", "command_line")}
        assert all(np.array_equal(v, b.attrs[k]) for k, v in same.items())
        assert a.attrs["command_line"].replace("one.h5", "two.h5") == b.attrs["command_line"]


@pytest.mark.parametrize(
    "options, words",
    [
        (["--per", "0"], "--per"),
        (["--windows-per-stream", "0"], "--windows-per-stream"),
    ],
)
def test_bad_numbers_are_refused_naming_the_option(tmp_path, capsys, options, words):
    assert main(["checkset", "--out", str(tmp_path / "x.h5"), "--quiet", *options]) == 2
    assert words in capsys.readouterr().err


def test_an_unknown_class_is_refused_naming_the_classes(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["checkset", "--out", str(tmp_path / "x.h5"), "--classes", "BPSK,FM"])
    error = capsys.readouterr().err
    assert "FM" in error and "noise" in error and "QAM16" in error


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` / ``from ... import`` statement in ``path`` names (relative ones resolved
    against the training package), with the names imported from it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = ("training." * (node.level > 0)) + (node.module or "")
            found.add(module.rstrip("."))
            found.update(f"{module}.{alias.name}".replace("training..", "training.") for alias in node.names)
    return found


def test_checkset_shares_no_code_with_the_training_generator():
    imports = imported_modules(ROOT / "training" / "checkset.py")
    assert "training.datasets" in imports  # the parser sees the file's imports
    assert not [m for m in imports if m.startswith(FORBIDDEN)]
    # From the module itself only the model's input contract: its sample rate and its normalisation.
    assert {m for m in imports if m.startswith("gnuradio")} == {
        "gnuradio.eeamc.contract",
        "gnuradio.eeamc.contract.RML22_SAMPLE_RATE",
        "gnuradio.eeamc.windows",
        "gnuradio.eeamc.windows.normalize",
    }
