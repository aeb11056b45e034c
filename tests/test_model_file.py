# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The model file: a round trip, and one clear error for every way a file can be wrong."""

import dataclasses

import numpy as np
import pytest
import torch
from gnuradio.eeamc.contract import RML22_CONTRACT, RML22_SAMPLE_RATE, SignalContract, rrc_contract
from gnuradio.eeamc.model_file import (
    CONTRACT_ASSUMED_NOTE,
    DIGEST_KEY,
    Model,
    ModelFileError,
    load_model,
    payload_digest,
    save_model,
)
from gnuradio.eeamc.networks import RML22_CLASSES, build_network

CLASSES = list(RML22_CLASSES)


def make_model(arch="v1", thresholds=(0.35,)) -> Model:
    torch.manual_seed(0)
    provenance = {"dataset": "test.h5", "seed": 25, "epochs": 3, "metrics": {"accuracy": 0.5}}
    return Model(build_network(arch).eval(), CLASSES, "l1", list(thresholds), provenance)


def test_round_trip(tmp_path):
    model = make_model()
    save_model(model, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.classes == CLASSES and loaded.thresholds == [0.35] and loaded.normalization == "l1"
    assert loaded.provenance == model.provenance
    assert loaded.net.exit_points == ("conv2",) and not loaded.net.training
    x = torch.randn(3, 2, 128)
    for a, b in zip(loaded.net(x), model.net(x)):
        torch.testing.assert_close(a, b)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match=r"missing\.pt: no such file"):
        load_model(tmp_path / "missing.pt")


def test_truncated_file(tmp_path):
    save_model(make_model(), tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"cut\.pt: cannot be read.*truncated"):
        load_model(tmp_path / "cut.pt")


def test_not_a_torch_file(tmp_path):
    (tmp_path / "notes.pt").write_text("hello")
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_model(tmp_path / "notes.pt")


def test_foreign_checkpoint(tmp_path):
    torch.save(build_network("v1").state_dict(), tmp_path / "bare.pt")
    with pytest.raises(ModelFileError, match="not a gr-eeamc model file"):
        load_model(tmp_path / "bare.pt")


class Payload:  # a pickled object: loading it would mean running code from the file
    pass


def test_file_that_would_run_code_is_refused(tmp_path):
    torch.save({"format": "gr-eeamc-model", "evil": Payload()}, tmp_path / "code.pt")
    with pytest.raises(ModelFileError, match="cannot be read"):
        load_model(tmp_path / "code.pt")


def rewrite(tmp_path, change) -> str:
    """A file whose parts do not fit together, written with a digest that matches what it holds (as
    another tool might write it), so the checks behind the digest are what refuses it."""
    save_model(make_model(), tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    change(payload)
    try:
        payload[DIGEST_KEY] = payload_digest(payload)
    except KeyError:
        payload.pop(DIGEST_KEY)  # nothing left to digest: refused before the digest is looked at
    torch.save(payload, tmp_path / "bad.pt")
    return tmp_path / "bad.pt"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["config"].update(exits=["conv5"]), "weights do not match"),
        (lambda p: p["config"].update(input_length=256), "weights do not match"),
        (lambda p: p["config"].update(classes=CLASSES[:4]), "4 class names for a network with 10 outputs"),
        (lambda p: p["config"].update(num_classes=11), "weights do not match"),
        (lambda p: p["config"].update(exits=["conv9"]), "network configuration"),
        (lambda p: p["config"].update(normalization="zscore"), "normalisation 'zscore'"),
        (lambda p: p.update(thresholds=[0.1, 0.2]), "2 threshold"),
        (lambda p: p.update(thresholds=[-1.0]), "invalid thresholds"),
        (lambda p: p.update(version=99), "version 99"),
        (lambda p: p.pop("state_dict"), "lacks its state_dict"),
        (lambda p: p["config"].update(contract=[29998.5, 2]), "input contract .* expected a dict"),
        (lambda p: p["config"]["contract"].pop("rolloff"), "input contract .* lacks rolloff"),
        (lambda p: p["config"]["contract"].update(sample_rate="30k"), "sample_rate: not a finite number"),
        (lambda p: p["config"]["contract"].update(sample_rate=float("nan")), "sample_rate: not a finite"),
        (lambda p: p["config"]["contract"].update(samples_per_symbol=0.0), "must be > 0"),
        (lambda p: p["config"]["contract"].update(max_carrier_offset=-5.0), "offset must be >= 0"),
        (lambda p: p["config"]["contract"].update(occupied_bandwidth=1e6), "exceeds the sample rate"),
    ],
)
def test_mismatched_files(tmp_path, change, message):
    with pytest.raises(ModelFileError, match=message) as error:
        load_model(rewrite(tmp_path, change))
    assert "bad.pt" in str(error.value)


def test_contract_round_trip(tmp_path):
    model = make_model()
    assert model.signal == RML22_CONTRACT  # the default: every model so far was trained on RML22
    model.signal = rrc_contract(250e3, 4.0, 0.25, 1500.0)
    save_model(model, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.signal == model.signal and loaded.signal.occupied_bandwidth == pytest.approx(78125.0)
    assert "contract_note" not in loaded.provenance
    assert torch.load(tmp_path / "m.pt", weights_only=True)["config"]["contract"] == model.signal.to_dict()


def test_file_written_before_the_contract_loads_with_rml22s_values(tmp_path):
    loaded = load_model(rewrite(tmp_path, lambda p: p["config"].pop("contract")))
    assert loaded.signal == RML22_CONTRACT
    assert loaded.signal.sample_rate == pytest.approx(29998.5, abs=0.01)
    assert loaded.provenance["contract_note"] == CONTRACT_ASSUMED_NOTE
    assert loaded.provenance["dataset"] == "test.h5"  # the rest of the provenance is kept


def test_contract_summary_presents_signal_window_and_normalisation():
    summary = make_model().contract_summary()
    assert summary["sample_rate"] == RML22_SAMPLE_RATE and summary["samples_per_symbol"] == 2
    assert summary["symbol_rate"] == pytest.approx(RML22_SAMPLE_RATE / 2)
    assert summary["rolloff"] == 0.35 and summary["max_carrier_offset"] == 500
    assert summary["occupied_bandwidth"] == pytest.approx(1.35 * RML22_SAMPLE_RATE / 2)
    assert summary["window_length"] == 128 and summary["normalization"] == "l1"
    assert summary["window_seconds"] == pytest.approx(128 / 29998.5)


def test_training_takes_the_contract_from_the_datasets_attributes():
    from training.train import signal_contract

    generated = {"sample_rate_hz": RML22_SAMPLE_RATE, "samples_per_symbol": 2, "rolloff": 0.35}
    generated.update(clock="on", xo_max_error_hz=5.0, cfo_per_xo_error=100.0)
    contract, source = signal_contract(generated)
    assert contract == RML22_CONTRACT and "attributes" in source
    contract, _ = signal_contract(
        {**generated, "sample_rate_hz": 1e6, "samples_per_symbol": 8, "clock": "off"}
    )
    assert contract.sample_rate == 1e6 and contract.symbol_rate == 125e3 and contract.max_carrier_offset == 0
    contract, source = signal_contract({"layout": "rml22-pickle"})  # records no rate
    assert contract == RML22_CONTRACT and "assumed" in source


def test_a_contract_is_checked_when_made():
    with pytest.raises(ValueError, match="exceeds the sample rate"):
        dataclasses.replace(RML22_CONTRACT, occupied_bandwidth=40e3)
    with pytest.raises(ValueError, match="not a finite number"):
        SignalContract(True, 2.0, 0.35, 20e3, 500.0)


def test_save_refuses_an_inconsistent_model(tmp_path):
    with pytest.raises(ModelFileError, match="threshold"):
        save_model(make_model(thresholds=()), tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
    model = make_model()
    model.signal = RML22_CONTRACT.to_dict()
    with pytest.raises(ModelFileError, match="SignalContract is expected"):
        save_model(model, tmp_path / "m.pt")


# ---- damaged files: a clear ModelFileError, or (where torch cannot tell) a model the block survives ----


def saved_bytes(tmp_path) -> bytes:
    save_model(make_model(), tmp_path / "m.pt")
    return (tmp_path / "m.pt").read_bytes()


def offsets_across(size: int, count: int) -> list[int]:
    """``count`` offsets spread over a file of ``size`` bytes, plus its first and last few."""
    spread = np.linspace(0, size - 1, count).astype(int).tolist()
    return sorted({*range(0, 64, 7), *spread, size - 22, size - 1})


def test_a_file_truncated_anywhere_gives_model_file_error(tmp_path):
    data = saved_bytes(tmp_path)
    for cut in offsets_across(len(data), 60):
        (tmp_path / "cut.pt").write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match=r"cut\.pt: (cannot be read|no such file|is not a gr-eeamc)"):
            load_model(tmp_path / "cut.pt")


def test_a_flipped_byte_gives_model_file_error_or_the_very_same_model(tmp_path):
    """torch's zip reader checks no CRC; the file's own digest catches every change to what it holds.
    A flip that loads at all (a byte torch never reads) gives exactly the saved model."""
    data = saved_bytes(tmp_path)
    original = load_model(tmp_path / "m.pt")
    outcomes = {"refused": 0, "loaded": 0}
    for offset in offsets_across(len(data), 60):
        flipped = bytearray(data)
        flipped[offset] ^= 0xFF
        (tmp_path / "flip.pt").write_bytes(bytes(flipped))
        try:
            model = load_model(tmp_path / "flip.pt")
        except ModelFileError:
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        weights, saved = model.net.state_dict(), original.net.state_dict()
        assert all(torch.equal(weights[name], saved[name]) for name in saved)
        assert model.provenance == original.provenance and model.thresholds == original.thresholds
    assert outcomes["refused"] > 40, outcomes


def test_a_changed_weight_is_refused_by_the_digest(tmp_path):
    save_model(make_model(), tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    name = max(payload["state_dict"], key=lambda key: payload["state_dict"][key].numel())
    payload["state_dict"][name].view(-1)[123] += 1e-3  # what a damaged byte inside the weights does
    torch.save(payload, tmp_path / "damaged.pt")
    with pytest.raises(ModelFileError, match="damaged.pt: does not match its SHA-256 digest"):
        load_model(tmp_path / "damaged.pt")


def test_a_file_written_before_the_digest_loads_with_a_note(tmp_path):
    save_model(make_model(), tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    payload.pop(DIGEST_KEY)
    torch.save(payload, tmp_path / "old.pt")
    model = load_model(tmp_path / "old.pt")
    assert "predates the model file's digest" in model.provenance["digest_note"]
    save_model(model, tmp_path / "resaved.pt")  # re-saving writes a digest, and drops the note
    assert "digest_note" not in load_model(tmp_path / "resaved.pt").provenance
