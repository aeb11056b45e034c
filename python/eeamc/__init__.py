"""gr-eeamc: early-exit automatic modulation classification for GNU Radio.

``from gnuradio import eeamc`` gives the block ``eeamc.classifier``; the networks, the early-exit engine
and the model file are plain PyTorch modules that the training package shares.
"""

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
    from .classifier import classifier
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
    "STAGE_NAMES",
    "Classification",
    "EarlyExitEngine",
    "EarlyExitNet",
    "Model",
    "ModelFileError",
    "SignalSpec",
    "TrueSignal",
    "build_network",
    "classifier",
    "count_parameters",
    "default_model_path",
    "load_model",
    "qtgui_sink",
    "resolve_device",
    "save_model",
    "synthetic_band",
]
