# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The live demo's stream: the compiled flowgraph, its audio, its switching schedule and its taps.

Used by ``live_demo.py`` (classify the stream live). The flowgraph itself is ``live_demo.grc``;
``live_demo_flowgraph.py`` is what ``grcc`` makes of it and is never edited by hand.
"""

from __future__ import annotations

import bisect
import importlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

EXAMPLES_DIR = Path(__file__).resolve().parent
SOURCE_TREE = EXAMPLES_DIR.parent

#: Samples a work() call may still move with the old settings after a setter returns (one buffer).
IN_FLIGHT_SAMPLES = 8192

#: Audio rate the flowgraph's WBFM modulator and AM resampler expect.
AUDIO_RATE = 44100


# ---- the module and the flowgraph ---------------------------------------------------------------------


def import_eeamc() -> Any:
    """``gnuradio.eeamc``: the installed module, or else the source tree's python/eeamc, made importable
    under that same name (so the grcc-generated flowgraph and the training package find it, and every
    ``gnuradio.eeamc.*`` submodule is loaded once)."""
    try:
        from gnuradio import eeamc

        return eeamc
    except ImportError:
        source = SOURCE_TREE / "python"
        if not (source / "eeamc" / "__init__.py").is_file():
            raise ImportError(
                "gr-eeamc is not installed (no gnuradio.eeamc) and this script is not in its source tree: "
                "install the module (see the README) or run the script from a checkout"
            ) from None
        import gnuradio

        gnuradio.__path__.append(str(source))
        return importlib.import_module("gnuradio.eeamc")


#: Input order of the flowgraph's selector (variable ``modulation``): live_demo.grc wires its modulators
#: into the selector in the model's class order, so the selector index is the class index.
SELECTOR_ORDER: tuple[str, ...] = tuple(import_eeamc().RML22_CLASSES)


def rml22_max_cfo() -> float:
    """RML22's largest carrier frequency offset in cycles per sample, from the model's contract."""
    import_eeamc()
    from gnuradio.eeamc.contract import RML22_MAX_CARRIER_OFFSET, RML22_SAMPLE_RATE

    return RML22_MAX_CARRIER_OFFSET / RML22_SAMPLE_RATE


#: RML22's largest carrier frequency offset, 500 Hz at 29,998.5 samples/s, in cycles per sample.
MAX_CFO = rml22_max_cfo()


def flowgraph_class() -> type:
    """The top block class that grcc generated from live_demo.grc."""
    import_eeamc()
    sys.path.insert(0, str(EXAMPLES_DIR))
    module = importlib.import_module("live_demo_flowgraph")
    return module.live_demo_flowgraph


def shipped_model_path() -> Path:
    """The block's default model; in a checkout whose installed module lacks it, the checkout's models/."""
    eeamc = import_eeamc()
    default = Path(eeamc.default_model_path())
    checkout = SOURCE_TREE / "models" / eeamc.model_file.DEFAULT_MODEL_NAME
    return checkout if not default.is_file() and checkout.is_file() else default


def optional_training_module(name: str) -> Any | None:
    """``training.<name>`` from the source tree (the training package is not installed), or None."""
    if (SOURCE_TREE / "training" / "__init__.py").is_file() and str(SOURCE_TREE) not in sys.path:
        sys.path.append(str(SOURCE_TREE))
    try:
        if (
            importlib.util.find_spec("training") is None
            or importlib.util.find_spec(f"training.{name}") is None
        ):
            return None
    except ImportError:
        return None
    return importlib.import_module(f"training.{name}")


def settle_samples(flowgraph: Any) -> int:
    """Samples after a switch that are not the new segment's yet: the power estimate's settling time
    (four time constants) plus one buffer that may still carry the old settings."""
    return int(4 / flowgraph.power_alpha) + IN_FLIGHT_SAMPLES


# ---- audio ------------------------------------------------------------------------------------------------

#: Fallback speech when training/audio.py is not available (written for gr-eeamc).
FALLBACK_TEXT = (
    "Good evening and welcome back. Tonight we talk about the radio waves around us, about the music, "
    "the voices and the data that travel through the air every second. "
    "First, a few words about the weather: cloudy in the morning, some rain in the afternoon, and a clear, "
    "cold night. Now back to our guest, who builds receivers in her garage and listens to the sky."
)


def make_audio(directory: Path, seed: int, seconds: float = 20.0) -> tuple[Path, str]:
    """A mono 44.1 kHz WAV of speech and music-like content for the analog classes, and its origin.

    The training data's programme (training/audio.py) when the training package is at hand, so the
    demo's WBFM and AM-DSB carry what the model was trained on; else a short fallback made here."""
    audio = optional_training_module("audio")
    if audio is not None and shutil.which("espeak-ng"):
        path = audio.ensure_default_audio()
        return Path(path), f"training/audio.py programme (espeak-ng speech + synthetic music), {path}"
    path = directory / "demo_audio.wav"
    samples = np.concatenate([fallback_speech(directory), fallback_music(seed, seconds / 2)])
    write_wav(path, samples)
    origin = "espeak-ng speech + synthetic music" if shutil.which("espeak-ng") else "synthetic music only"
    return path, f"{origin} (live demo fallback: training/audio.py not available)"


def fallback_speech(directory: Path) -> np.ndarray:
    """espeak-ng speech at 44.1 kHz, peak 0.8; empty when espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        return np.zeros(0, dtype=np.float32)
    spoken = directory / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "160", "-w", str(spoken), FALLBACK_TEXT], check=True, timeout=60)
    samples, rate = read_wav(spoken)
    return scale_peak(resample(samples, rate, AUDIO_RATE), 0.8)


def fallback_music(seed: int, seconds: float) -> np.ndarray:
    """A melody of harmonic notes with attack/decay envelopes over a bass line, peak 0.8."""
    rng = np.random.default_rng(seed)
    note_length = int(0.25 * AUDIO_RATE)
    t = np.arange(note_length) / AUDIO_RATE
    envelope = np.minimum(t / 0.01, 1.0) * np.exp(-t / 0.12)
    scale = 220.0 * 2 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12]) / 12)
    notes = []
    for index in range(int(seconds / 0.25)):
        pitch = rng.choice(scale)
        bass = scale[0] / 2 * (1.5 if index // 8 % 2 else 1.0)
        tone = sum(np.sin(2 * np.pi * k * pitch * t) / k**1.5 for k in range(1, 6))
        notes.append(envelope * tone + 0.4 * np.sin(2 * np.pi * bass * t))
    return scale_peak(np.concatenate(notes), 0.8)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as handle:
        frames = handle.readframes(handle.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768, handle.getframerate()


def write_wav(path: Path, samples: np.ndarray, rate: int = AUDIO_RATE) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    from scipy.signal import resample_poly

    divisor = np.gcd(rate, target)
    return resample_poly(samples, target // divisor, rate // divisor).astype(np.float32)


def scale_peak(samples: np.ndarray, peak: float) -> np.ndarray:
    largest = float(np.max(np.abs(samples))) if samples.size else 0.0
    return (samples * (peak / largest)).astype(np.float32) if largest > 0 else samples.astype(np.float32)


def temporary_directory() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="eeamc_live_demo_")


# ---- switching schedule and ground truth ------------------------------------------------------------------


@dataclass
class Segment:
    """One stretch of the stream with fixed modulation, SNR and CFO.

    ``start`` is the first sample offset that surely carries these settings (after the switch and the
    settling time); ``end`` the first offset that may carry the next segment's (None while it runs).
    """

    modulation: str
    snr_db: float
    cfo: float
    start: int = 0
    end: int | None = None

    def covers(self, offset: int, length: int) -> bool:
        return offset >= self.start and (self.end is None or offset + length <= self.end)


def plan_segments(
    count: int, modulations: list[str], snrs: list[float], rng: np.random.Generator
) -> list[Segment]:
    """``count`` segments cycling through every modulation (each round a fresh random order) and
    through the SNRs (likewise), so a run of ``len(modulations)`` segments shows every class."""
    order: list[str] = []
    levels: list[float] = []
    while len(order) < count:
        order.extend(rng.permutation(modulations).tolist())
    while len(levels) < count:
        levels.extend(rng.permutation(snrs).tolist())
    return [Segment(order[i], float(levels[i]), float(rng.uniform(-MAX_CFO, MAX_CFO))) for i in range(count)]


class Truth:
    """The segments as they were switched in, with the sample offsets where each one holds."""

    def __init__(self, window_length: int) -> None:
        self.window_length = window_length
        self.segments: list[Segment] = []
        self._starts: list[int] = []

    def switch(self, flowgraph: Any, segment: Segment) -> None:
        """Apply ``segment`` to the flowgraph now and record from which sample offset it holds.

        The selector and the noise source count their output items; every block after them is 1:1, so
        those counts are offsets of the classifier's input. The old segment surely ends at the earlier
        of the two counts; the new one surely holds after the later one plus the settling time."""
        flowgraph.set_modulation(SELECTOR_ORDER.index(segment.modulation))
        flowgraph.set_cfo(segment.cfo)
        flowgraph.set_snr_db(segment.snr_db)
        modulation_at = int(flowgraph.selector.nitems_written(0))
        noise_at = int(flowgraph.noise.nitems_written(0))
        if self.segments:
            self.segments[-1].end = min(modulation_at, noise_at)
        segment.start = max(modulation_at, noise_at) + settle_samples(flowgraph)
        self.segments.append(segment)
        self._starts.append(segment.start)

    def segment_at(self, offset: int) -> Segment | None:
        """The segment that surely holds for the whole window at ``offset``, or None (at a switch)."""
        index = bisect.bisect_right(self._starts, offset) - 1
        if index < 0:
            return None
        segment = self.segments[index]
        return segment if segment.covers(offset, self.window_length) else None


# ---- taps on the stream -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowResult:
    """What the classifier's message said about one window."""

    offset: int
    label: int  # index into the model's classes; -1 = unclassifiable
    exit: int


def make_collector() -> Any:
    """A message sink for the classifier's ``classification`` port that keeps (offset, class, exit)."""
    import pmt
    from gnuradio import gr

    keys = {name: pmt.intern(name) for name in ("offset", "class", "exit")}

    class ClassificationCollector(gr.basic_block):
        def __init__(self) -> None:
            gr.basic_block.__init__(self, name="classification_collector", in_sig=None, out_sig=None)
            self.message_port_register_in(pmt.intern("in"))
            self.set_msg_handler(pmt.intern("in"), self._handle)
            self._lock = threading.Lock()
            self._results: list[WindowResult] = []

        def _handle(self, message: Any) -> None:
            result = WindowResult(
                int(pmt.to_uint64(pmt.dict_ref(message, keys["offset"], pmt.PMT_NIL))),
                int(pmt.to_long(pmt.dict_ref(message, keys["class"], pmt.PMT_NIL))),
                int(pmt.to_long(pmt.dict_ref(message, keys["exit"], pmt.PMT_NIL))),
            )
            with self._lock:
                self._results.append(result)

        def drain(self) -> list[WindowResult]:
            """The results received since the last call."""
            with self._lock:
                results, self._results = self._results, []
            return results

    return ClassificationCollector()


def make_recorder(capacity: int) -> Any:
    """A sink that keeps the first ``capacity`` samples it sees (and counts all of them)."""
    from gnuradio import gr

    class Recorder(gr.sync_block):
        def __init__(self) -> None:
            gr.sync_block.__init__(self, name="recorder", in_sig=[np.complex64], out_sig=None)
            self.samples = np.zeros(capacity, dtype=np.complex64)
            self.count = 0

        def work(self, input_items, output_items):
            chunk = input_items[0]
            room = max(0, min(len(chunk), capacity - self.count))
            self.samples[self.count : self.count + room] = chunk[:room]
            self.count += len(chunk)
            return len(chunk)

        def recorded(self) -> np.ndarray:
            return self.samples[: min(self.count, capacity)]

    return Recorder()
