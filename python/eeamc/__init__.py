# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""gr-eeamc: early-exit automatic modulation classification for GNU Radio.

The data path, one module per step:

    samples   -> channels        signal_detector (finds signals), channels (channeliser, numpy)
    channels  -> windows         multi_channel_classifier, windows (framing, normalisation)
    windows   -> engine          engine (batched early exit), networks, model_file, contract
    engine    -> reports         reports (the message schema)

Blocks (``from gnuradio import eeamc``): ``classifier`` (a stream already at the model's rate),
``channel_classifier`` (the signal at one frequency of a radio's stream), ``scanner`` (every signal in
a band), and their parts ``signal_detector`` and ``multi_channel_classifier``. The networks, the engine,
the model file and the contract are plain PyTorch / numpy modules that the training package shares.
"""

from .contract import RML22_CONTRACT, RML22_SAMPLE_RATE, SignalContract, rates_match
from .engine import Classification, EarlyExitEngine, resolve_device
from .model_file import (
    Model,
    ModelFileError,
    default_model_path,
    load_model,
    save_model,
)
from .networks import (
    PRESETS,
    RML22_CLASSES,
    STAGE_NAMES,
    EarlyExitNet,
    build_network,
    count_parameters,
)

try:
    from .channel_classifier import channel_classifier
    from .classifier import classifier
    from .jsonl_sink import jsonl_sink
    from .multi_channel_classifier import multi_channel_classifier
    from .scanner import scanner
    from .sigmf_sink import sigmf_sink
    from .signal_detector import signal_detector
    from .synthetic_band import DEFAULT_SIGNALS, SignalSpec, TrueSignal, synthetic_band
except ImportError as _error:  # GNU Radio missing: the PyTorch parts stay usable (e.g. for training)
    if _error.name not in ("gnuradio.gr", "pmt"):
        raise

try:
    from .qtgui_sink import qtgui_sink
except ImportError as _error:  # PyQt5 (or GNU Radio) missing: everything else stays usable
    if not (_error.name or "").startswith(("PyQt5", "gnuradio", "pmt")):
        raise

__all__ = [
    "DEFAULT_SIGNALS",
    "PRESETS",
    "RML22_CLASSES",
    "RML22_CONTRACT",
    "RML22_SAMPLE_RATE",
    "STAGE_NAMES",
    "Classification",
    "EarlyExitEngine",
    "EarlyExitNet",
    "Model",
    "ModelFileError",
    "SignalContract",
    "SignalSpec",
    "TrueSignal",
    "build_network",
    "channel_classifier",
    "classifier",
    "count_parameters",
    "default_model_path",
    "jsonl_sink",
    "load_model",
    "multi_channel_classifier",
    "qtgui_sink",
    "rates_match",
    "resolve_device",
    "save_model",
    "scanner",
    "sigmf_sink",
    "signal_detector",
    "synthetic_band",
]
