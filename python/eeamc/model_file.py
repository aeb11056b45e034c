# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The model file: one self-describing file with everything the block needs to classify.

Layout (a ``torch.save`` of plain containers, loaded with ``weights_only=True`` so nothing in the file
is ever executed):

    format        "gr-eeamc-model"
    version       1
    config        {"exits": [...], "num_classes": int, "input_length": int,
                   "classes": [...], "normalization": "l1" | "l2" | "none",
                   "contract": {"sample_rate": S/s, "samples_per_symbol", "rolloff",
                                "occupied_bandwidth": Hz, "max_carrier_offset": Hz}}
    thresholds    [float per early exit], entropy (log10) thresholds calibrated for the model
    provenance    {dataset, seed, epochs, metrics, ...}: how the file was made
    state_dict    the network's weights
    int8          optional: {"params": quantization.calibrate_int8's activation scales (plain numbers),
                   "check": {fp32 and int8 accuracy overall and >= 10 dB on the test split, their
                   agreement, calibration windows, data file and split, passed: bool}}
                   (``python -m training quantize`` writes it)
    sha256        digest of all the above (``payload_digest``): a damaged file is refused

The input contract is the window length and normalisation (config input_length / normalization) plus
the signal the network was trained on (config contract: see contract.py); ``Model.contract_summary()``
presents the three together. ``contract`` was added to version 1 without a version change: a file
without it (written before it existed) loads with RML22's values and a note in its provenance. ``int8``
was added the same way: a file without it loads with ``Model.int8`` None (fp32 only).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .contract import RML22_CONTRACT, SignalContract
from .files import atomic_output
from .networks import EarlyExitNet, cpu_state, resolve_exits
from .windows import NORMALIZATIONS

FORMAT = "gr-eeamc-model"
#: The payload's SHA-256 (``payload_digest``): files written before it existed load with a note.
DIGEST_KEY = "sha256"
DIGEST_MISSING_NOTE = "this file predates the model file's digest: damage to its weights cannot be detected"
VERSION = 1

#: File name of the model the block uses when none is given.
DEFAULT_MODEL_NAME = "eeamc.pt"

#: The optional int8 section (see the module docstring); the digest covers it only where a file has one,
#: so files written before it existed keep their digest.
INT8_KEY = "int8"

#: provenance["contract_note"] of a file loaded without a contract entry.
CONTRACT_ASSUMED_NOTE = "this file predates the input contract: RML22's values assumed"


class ModelFileError(ValueError):
    """A model file that cannot be used; the message names the file, the problem and the fix."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"model file {self.path}: {problem}")


@dataclass
class Model:
    """A loaded model: the network (in eval mode) and what it needs to be used correctly.

    ``signal`` is what the network's input must look like besides its window length and normalisation
    (sample rate, samples per symbol, bandwidth, carrier offsets); see ``contract_summary()``. ``int8``
    is the file's int8 section ({"params": ..., "check": ...}) or None.
    """

    net: EarlyExitNet
    classes: list[str]
    normalization: str = "l1"
    thresholds: list[float] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    signal: SignalContract = RML22_CONTRACT
    int8: dict[str, Any] | None = None

    @property
    def input_length(self) -> int:
        return self.net.input_length

    def contract_summary(self) -> dict[str, Any]:
        """The whole input contract in one dict: the signal's facts, the symbol rate they imply, the
        window length (samples and seconds) and the normalisation."""
        return {
            **self.signal.to_dict(),
            "symbol_rate": self.signal.symbol_rate,
            "window_length": self.input_length,
            "window_seconds": self.input_length / self.signal.sample_rate,
            "normalization": self.normalization,
        }

    def config(self) -> dict[str, Any]:
        return {
            "exits": list(self.net.exit_points),
            "num_classes": self.net.num_classes,
            "input_length": self.net.input_length,
            "classes": list(self.classes),
            "normalization": self.normalization,
            "contract": self.signal.to_dict(),
        }


def save_model_over(model: Model, path: str | os.PathLike) -> None:
    """Save ``model`` over the file at ``path`` (a command updating a model in place), after copying
    the file there to <name>.bak: what the user had is never lost."""
    path = Path(path)
    if path.is_file():
        shutil.copy2(path, path.with_name(path.name + ".bak"))
    save_model(model, path)


def save_model_update(model: Model, source: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Where a command that updates a model file writes it: to ``out``, or (None) over ``source``, the
    file it was loaded from, keeping the original as <name>.bak. Returns the path written."""
    if out is None:
        save_model_over(model, source)
        return Path(source)
    save_model(model, out)
    return Path(out)


def save_model(model: Model, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` atomically: a crash mid-write never leaves a half file behind."""
    check_model(model, path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config(),
        "thresholds": [float(t) for t in model.thresholds],
        # a note that this file lacked a digest is not true of the file written here
        "provenance": {key: value for key, value in model.provenance.items() if key != "digest_note"},
        "state_dict": cpu_state(model.net),
    }
    if model.int8 is not None:
        payload[INT8_KEY] = model.int8
    payload[DIGEST_KEY] = payload_digest(payload)
    with atomic_output(path) as temporary:
        torch.save(payload, temporary)


def load_model(path: str | os.PathLike | None = None) -> Model:
    """Load a model file (``None`` or "" = the shipped default) without running code from it."""
    path = Path(path) if path else default_model_path()
    if not path.is_file():
        raise ModelFileError(path, "no such file: check the path, or leave it empty for the shipped model")
    payload = read_payload(path)
    config = payload["config"]
    try:
        net = EarlyExitNet(
            config["exits"], num_classes=int(config["num_classes"]), input_length=int(config["input_length"])
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(path, f"network configuration {config!r} is not valid ({error})") from error
    try:
        net.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as error:
        raise ModelFileError(
            path, f"weights do not match the configured network (exits {config['exits']}): {error}"
        ) from error
    provenance = dict(payload.get("provenance", {}))
    model = Model(
        net=net.eval(),
        classes=list(config.get("classes", [])),
        normalization=config.get("normalization", "l1"),
        thresholds=[float(t) for t in payload.get("thresholds", [])],
        provenance=provenance,
        path=str(path),
        signal=read_contract(path, config, provenance),
        int8=read_int8(path, payload),
    )
    check_model(model, path)
    return model


def read_contract(path: Path, config: dict[str, Any], provenance: dict[str, Any]) -> SignalContract:
    """The file's input contract; RML22's, noted in ``provenance``, for a file written before it existed."""
    if "contract" not in config:
        provenance.setdefault("contract_note", CONTRACT_ASSUMED_NOTE)
        return RML22_CONTRACT
    try:
        return SignalContract.from_dict(config["contract"])
    except (TypeError, ValueError) as error:
        raise ModelFileError(
            path,
            f"input contract (config 'contract') is not valid: {error}; write the file with "
            "gnuradio.eeamc.save_model and a SignalContract as Model.signal (or drop the entry to "
            "assume RML22's values)",
        ) from error


def read_int8(path: Path, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The file's int8 section, None where it has none; a malformed one is refused."""
    section = payload.get(INT8_KEY)
    if section is None:
        return None
    if not isinstance(section, dict) or not isinstance(section.get("params"), dict):
        raise ModelFileError(
            path,
            "has an int8 section without its params: write it again with python -m training quantize "
            "(or re-save the model without int8)",
        )
    return section


def read_payload(path: Path) -> dict[str, Any]:
    """The file's top-level dict, or a ModelFileError saying why it is not a gr-eeamc model file."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for truncated, corrupt or unsafe files
        raise ModelFileError(
            path, f"cannot be read as a gr-eeamc model (truncated, corrupt or not a torch file: {error})"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(
            path,
            f"is not a gr-eeamc model file (no format={FORMAT!r} entry); a bare state_dict or another "
            "project's checkpoint must be converted with training (python -m training train ... --out)",
        )
    if payload.get("version") != VERSION:
        raise ModelFileError(
            path, f"has format version {payload.get('version')!r}; this gr-eeamc reads version {VERSION}"
        )
    missing = [key for key in ("config", "state_dict") if not isinstance(payload.get(key), dict)]
    if missing:
        raise ModelFileError(path, f"lacks its {' and '.join(missing)} entry")
    check_digest(path, payload)
    return payload


def payload_digest(payload: dict[str, Any]) -> str:
    """SHA-256 over everything in the file but the digest: torch keeps no checksum, so without this a
    damaged byte inside the weights would load as other weights."""
    digest = hashlib.sha256()
    described = {key: payload.get(key) for key in ("format", "version", "config", "thresholds", "provenance")}
    if INT8_KEY in payload:
        described[INT8_KEY] = payload[INT8_KEY]
    digest.update(json.dumps(described, sort_keys=True, default=repr).encode())
    for name in sorted(payload["state_dict"]):
        tensor = payload["state_dict"][name]
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"state_dict entry {name!r} is not a tensor")
        digest.update(f"{name}:{tensor.dtype}:{list(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def check_digest(path: Path, payload: dict[str, Any]) -> None:
    """A file whose contents do not match its digest is damaged; one without a digest predates it."""
    stored = payload.get(DIGEST_KEY)
    if stored is None:
        payload.setdefault("provenance", {})
        if isinstance(payload["provenance"], dict):
            payload["provenance"].setdefault("digest_note", DIGEST_MISSING_NOTE)
        return
    try:
        actual = payload_digest(payload)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ModelFileError(path, f"has a malformed entry ({error}): the file is damaged") from error
    if actual != stored:
        raise ModelFileError(
            path,
            "does not match its SHA-256 digest: the file is damaged (a changed byte, a bad copy); "
            "copy it again or re-save it from its source",
        )


def check_model(model: Model, path: str | os.PathLike) -> None:
    """Raise ModelFileError where the model's parts do not fit together."""
    net = model.net
    if len(model.classes) != net.num_classes:
        raise ModelFileError(
            path, f"lists {len(model.classes)} class names for a network with {net.num_classes} outputs"
        )
    if model.normalization not in NORMALIZATIONS:
        raise ModelFileError(
            path, f"names normalisation {model.normalization!r}; known: {', '.join(NORMALIZATIONS)}"
        )
    if len(model.thresholds) != net.num_exits - 1:
        raise ModelFileError(
            path, f"has {len(model.thresholds)} threshold(s) for {net.num_exits - 1} early exit(s)"
        )
    if any(not math.isfinite(t) or t < 0 for t in model.thresholds):
        raise ModelFileError(path, f"has invalid thresholds {model.thresholds} (finite, >= 0 expected)")
    if not isinstance(model.signal, SignalContract):
        raise ModelFileError(path, f"has input contract {model.signal!r}; a SignalContract is expected")
    resolve_exits(list(net.exit_points))


def default_model_path() -> Path:
    """The shipped model: installed under the module's data folder, or in the source tree."""
    candidates = []
    if os.environ.get("EEAMC_MODEL_DIR"):
        candidates.append(Path(os.environ["EEAMC_MODEL_DIR"]) / DEFAULT_MODEL_NAME)
    try:
        from ._install_paths import MODEL_DIR  # written by CMake at install time

        candidates.append(Path(MODEL_DIR) / DEFAULT_MODEL_NAME)
    except ImportError:
        pass
    candidates.append(Path(__file__).resolve().parents[2] / "models" / DEFAULT_MODEL_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]
