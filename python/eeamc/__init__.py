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
the model file and the contract are plain PyTorch / numpy modules that the training package shares; they
import without GNU Radio (a GPU server that only trains), and the blocks then say what is missing.
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

#: The blocks, which need GNU Radio; without it the names stay and say so when used (module __getattr__).
BLOCKS = (
    "DEFAULT_SIGNALS", "SignalSpec", "TrueSignal", "channel_classifier", "classifier", "jsonl_sink",
    "multi_channel_classifier", "qtgui_sink", "scanner", "sigmf_sink", "signal_detector", "synthetic_band",
)  # fmt: skip


def _gnuradio_missing() -> ImportError | None:
    """Why GNU Radio cannot be imported, or None. Asked apart from the blocks' own imports, so that a
    block module that fails for another reason still raises."""
    try:
        import pmt  # noqa: F401
        from gnuradio import gr  # noqa: F401
    except ImportError as error:  # e.g. a GPU server that only trains: the PyTorch parts stay usable
        return error
    return None


_GNURADIO_MISSING = _gnuradio_missing()
if _GNURADIO_MISSING is None:
    from .channel_classifier import channel_classifier
    from .classifier import classifier
    from .jsonl_sink import jsonl_sink
    from .multi_channel_classifier import multi_channel_classifier
    from .scanner import scanner
    from .sigmf_sink import sigmf_sink
    from .signal_detector import signal_detector
    from .synthetic_band import DEFAULT_SIGNALS, SignalSpec, TrueSignal, synthetic_band

_QT_MISSING: ImportError | None = _GNURADIO_MISSING
if _GNURADIO_MISSING is None:
    try:
        from .qtgui_sink import qtgui_sink
    except ImportError as _error:  # PyQt5 (or GNU Radio's Qt GUI) missing: everything else stays usable
        if not (_error.name or "").startswith(("PyQt5", "gnuradio", "sip")):
            raise
        _QT_MISSING = _error


def __getattr__(name: str) -> object:
    """A block asked for without GNU Radio: say what is missing and what still works."""
    if name == "qtgui_sink" and _QT_MISSING is not None and _GNURADIO_MISSING is None:
        raise ImportError(
            f"gnuradio.eeamc.qtgui_sink needs PyQt5 and GNU Radio's Qt GUI ({_QT_MISSING}); the other "
            "blocks work without them",
            name="gnuradio.eeamc.qtgui_sink",
        )
    if name in BLOCKS and _GNURADIO_MISSING is not None:
        raise ImportError(
            f"gnuradio.eeamc.{name} is a GNU Radio block and GNU Radio cannot be imported here "
            f"({_GNURADIO_MISSING}): install GNU Radio 3.10 (e.g. apt install gnuradio, or conda install "
            "-c conda-forge gnuradio) to use the blocks; networks, model_file, engine, windows and contract, "
            "and `python -m training train` / `evaluate`, work without it",
            name=f"gnuradio.eeamc.{name}",
        )
    raise AttributeError(f"module 'gnuradio.eeamc' has no attribute {name!r}")


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
if _GNURADIO_MISSING is not None:  # `from gnuradio.eeamc import *` still works without GNU Radio
    __all__ = [name for name in __all__ if name not in BLOCKS]
