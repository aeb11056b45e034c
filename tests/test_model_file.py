"""The model file: a round trip, and one clear error for every way a file can be wrong."""

import pytest
import torch
from gnuradio.eeamc.model_file import Model, ModelFileError, load_model, save_model
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
    save_model(make_model(), tmp_path / "m.pt")
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    change(payload)
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
    ],
)
def test_mismatched_files(tmp_path, change, message):
    with pytest.raises(ModelFileError, match=message) as error:
        load_model(rewrite(tmp_path, change))
    assert "bad.pt" in str(error.value)


def test_save_refuses_an_inconsistent_model(tmp_path):
    with pytest.raises(ModelFileError, match="threshold"):
        save_model(make_model(thresholds=()), tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
