# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Audio for the analog classes (WBFM, AM-DSB): a radio-programme-like mix of speech and music.

RML22 modulated a recorded podcast. gr-eeamc ships none; it synthesises a programme instead, the same
on every machine with the same espeak-ng: the paragraphs of ``training/speech.txt`` read by espeak-ng
in several voices, speeds and pitches (natural pauses between sentences, longer ones between
paragraphs), some over a quiet music bed, with music interludes between some of them. The music is
synthetic but music-like: chord progressions with harmonics and envelopes, a bass line, a melody,
kick and hi-hat. A low noise floor stands in for a microphone's. The result (about 7 minutes,
44.1 kHz, 16-bit mono WAV) is made once and cached under ``data/audio/``; its file name carries a hash
of everything it is made from, so a change to the text or the recipe makes a new one.

Users with a real recording can pass it instead (``generate --audio FILE.wav``).
"""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AUDIO_RATE_HZ = 44100
#: Bump when the synthesis below changes, so cached files are remade.
RECIPE_VERSION = 1
AUDIO_SEED = 2022
TEXT_PATH = Path(__file__).with_name("speech.txt")
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / "data" / "audio"
#: espeak-ng voices (language + variant) the paragraphs rotate through.
VOICES = ("en-us", "en-gb+f3", "en-us+m3", "en-gb-x-rp+f2", "en-gb-scotland+m1", "en-us+f4", "en+m7")
SPEECH_RMS = 0.1
MUSIC_RMS = 0.08
MUSIC_BED_DB = -16.0
NOISE_FLOOR_RMS = 10 ** (-62 / 20)
PEAK = 0.95
ESPEAK_MISSING = (
    "espeak-ng was not found: the analog classes (WBFM, AM-DSB) modulate speech synthesised with it. "
    "Install it (`sudo apt-get install espeak-ng`; setup.sh does this) or pass --audio FILE.wav "
    "with a recording of your own"
)


@dataclass(frozen=True)
class AudioSource:
    """Mono audio at 44.1 kHz in [-1, 1] plus what identifies it in a dataset's provenance."""

    samples: np.ndarray
    path: str
    sha256: str


def espeak_version() -> str:
    """``espeak-ng --version``'s first line; ``FileNotFoundError`` saying how to install it if absent."""
    executable = shutil.which("espeak-ng")
    if executable is None:
        raise FileNotFoundError(ESPEAK_MISSING)
    result = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[0].split("  Data at:")[0].strip()


def read_paragraphs(path: Path = TEXT_PATH) -> list[str]:
    """Paragraphs of the speech text (blank-line separated, ``#`` lines skipped)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    paragraphs = " ".join(line.strip() or "\n" for line in lines).split("\n")
    return [" ".join(p.split()) for p in paragraphs if p.strip()]


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Integer-PCM WAV -> (float32 mono samples in [-1, 1], sample rate); channels are averaged."""
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels, rate = wav.getsampwidth(), wav.getnchannels(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except wave.Error as error:
        raise ValueError(
            f"{path}: not a PCM WAV file ({error}); convert it, e.g. `sox in out.wav`"
        ) from error
    if width not in (1, 2, 4):
        raise ValueError(f"{path}: {8 * width}-bit WAV not supported; convert it to 16-bit PCM")
    if width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        dtype = np.int16 if width == 2 else np.int32
        samples = np.frombuffer(raw, dtype).astype(np.float32) / float(np.iinfo(dtype).max + 1)
    return samples.reshape(-1, channels).mean(axis=1), rate


def write_wav(path: Path, samples: np.ndarray, rate: int = AUDIO_RATE_HZ) -> None:
    """float samples in [-1, 1] -> 16-bit PCM mono WAV."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())


def resample(samples: np.ndarray, rate: int, target: int = AUDIO_RATE_HZ) -> np.ndarray:
    """Resample with GNU Radio's rational resampler (its default anti-alias filter)."""
    if rate == target:
        return samples.astype(np.float32)
    from gnuradio import blocks, filter, gr

    common = math.gcd(rate, target)
    top = gr.top_block()
    source = blocks.vector_source_f(samples.astype(np.float32).tolist())
    sink = blocks.vector_sink_f()
    top.connect(source, filter.rational_resampler_fff(target // common, rate // common), sink)
    top.run()
    return np.array(sink.data(), dtype=np.float32)


def speak(text: str, voice: str, words_per_minute: int, pitch: int) -> np.ndarray:
    """espeak-ng reading ``text`` -> float32 samples at 44.1 kHz."""
    espeak_version()  # clear error when missing
    with tempfile.TemporaryDirectory() as folder:
        wav_path = Path(folder) / "speech.wav"
        command = [
            "espeak-ng",
            "-v",
            voice,
            "-s",
            str(words_per_minute),
            "-p",
            str(pitch),
            "-w",
            str(wav_path),
            text,
        ]
        subprocess.run(command, check=True, capture_output=True)
        samples, rate = read_wav(wav_path)
    return resample(samples, rate)


def _rms_scaled(samples: np.ndarray, rms: float) -> np.ndarray:
    return samples * (rms / max(float(np.sqrt(np.mean(samples**2))), 1e-12))


def _tone(frequency: float, seconds: float, harmonics: int, rng: np.random.Generator) -> np.ndarray:
    """A note: harmonics falling as 1/h^1.3 (none above 18 kHz), random phases."""
    t = np.arange(int(seconds * AUDIO_RATE_HZ)) / AUDIO_RATE_HZ
    orders = np.arange(1, harmonics + 1)
    orders = orders[orders * frequency < 18e3][:, None]
    phases = rng.uniform(0, 2 * np.pi, orders.shape)
    return (orders**-1.3 * np.sin(2 * np.pi * frequency * orders * t + phases)).sum(axis=0)


def _envelope(samples: int, attack_s: float, decay_s: float) -> np.ndarray:
    """Linear attack, exponential decay, 10 ms release to zero at the end."""
    t = np.arange(samples) / AUDIO_RATE_HZ
    release = np.clip((samples - np.arange(samples)) / (0.01 * AUDIO_RATE_HZ), 0.0, 1.0)
    return np.minimum(t / attack_s, 1.0) * np.exp(-t / decay_s) * release


def _midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _add(track: np.ndarray, start_s: float, sound: np.ndarray) -> None:
    start = min(int(start_s * AUDIO_RATE_HZ), track.shape[0])
    end = min(track.shape[0], start + sound.shape[0])
    track[start:end] += sound[: end - start]


MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PROGRESSIONS = ((0, 4, 5, 3), (5, 3, 0, 4), (0, 3, 4, 3), (1, 4, 0, 5), (0, 5, 3, 4))


def music(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A synthetic band playing a four-chord loop: pads, bass, melody, kick and hi-hat."""
    beat = 60.0 / rng.uniform(72, 132)
    scale = MAJOR if rng.random() < 0.6 else MINOR
    root = int(rng.integers(45, 57))
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    track = np.zeros(int(seconds * AUDIO_RATE_HZ) + AUDIO_RATE_HZ)

    def degree(step: int, octave: int = 0) -> float:
        return root + scale[step % 7] + 12 * (step // 7 + octave)

    for bar in range(math.ceil(seconds / (4 * beat))):
        bar_start = 4 * beat * bar
        chord = progression[bar % len(progression)]
        for step in (chord, chord + 2, chord + 4):  # the triad, held for the bar
            pad = _tone(_midi_hz(degree(step, 1)), 4 * beat, 6, rng)
            _add(track, bar_start, 0.15 * pad * _envelope(pad.shape[0], 0.12, 3.0))
        for beat_index in range(4):
            start = bar_start + beat_index * beat
            bass = _tone(_midi_hz(degree(chord, -1)), beat, 4, rng)
            _add(track, start, 0.3 * bass * _envelope(bass.shape[0], 0.01, 0.3))
            if beat_index % 2 == 0:  # kick: a sine falling from 110 to 45 Hz
                t = np.arange(int(0.25 * AUDIO_RATE_HZ)) / AUDIO_RATE_HZ
                sweep = np.sin(2 * np.pi * np.cumsum(45 + 65 * np.exp(-t / 0.03)) / AUDIO_RATE_HZ)
                _add(track, start, 0.4 * sweep * np.exp(-t / 0.08))
            for half in (0.0, 0.5):
                hat = np.diff(rng.standard_normal(int(0.03 * AUDIO_RATE_HZ) + 1))  # differenced = bright
                _add(track, start + half * beat, 0.04 * hat * _envelope(hat.shape[0], 0.001, 0.01))
                if rng.random() < 0.7:  # melody in eighth notes, some rests
                    step = chord + int(rng.choice([0, 2, 4, 7, 1, 3, 5]))
                    note = _tone(_midi_hz(degree(step, 2)), beat / 2, 5, rng)
                    _add(track, start + half * beat, 0.2 * note * _envelope(note.shape[0], 0.005, 0.2))
    return track[: int(seconds * AUDIO_RATE_HZ)]


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * AUDIO_RATE_HZ))


def programme(rng: np.random.Generator, paragraphs: list[str]) -> np.ndarray:
    """Jingle, then each paragraph read by a rotating voice: dry, over a music bed, or with an interlude."""
    parts = [_rms_scaled(music(rng, 6.0), MUSIC_RMS), _silence(0.6)]
    for index, paragraph in enumerate(paragraphs):
        voice = VOICES[index % len(VOICES)]
        speech = _rms_scaled(
            speak(paragraph, voice, int(rng.integers(135, 185)), int(rng.integers(25, 75))), SPEECH_RMS
        )
        style = rng.choice(["dry", "bed", "interlude"], p=[0.45, 0.3, 0.25])
        if style == "bed":
            bed = _rms_scaled(
                music(rng, speech.shape[0] / AUDIO_RATE_HZ), MUSIC_RMS * 10 ** (MUSIC_BED_DB / 20)
            )
            speech = speech + bed
        parts += [speech, _silence(rng.uniform(0.4, 1.5))]
        if style == "interlude":
            parts += [
                _rms_scaled(music(rng, rng.uniform(8.0, 20.0)), MUSIC_RMS),
                _silence(rng.uniform(0.3, 0.8)),
            ]
    mix = np.concatenate(parts)
    mix += rng.standard_normal(mix.shape[0]) * NOISE_FLOOR_RMS
    return (mix * (PEAK / np.max(np.abs(mix)))).astype(np.float32)


def default_audio_path(cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """Where the synthesised programme is cached: named by a hash of text, recipe and espeak-ng."""
    recipe = (
        f"{RECIPE_VERSION}|{AUDIO_SEED}|{VOICES}|{espeak_version()}|{TEXT_PATH.read_text(encoding='utf-8')}"
    )
    return Path(cache_dir) / f"speech_music_{hashlib.sha256(recipe.encode()).hexdigest()[:12]}.wav"


def ensure_default_audio(cache_dir: Path = DEFAULT_CACHE_DIR) -> Path:
    """Path of the synthesised programme, making it (a few seconds) if it is not cached yet."""
    path = default_audio_path(cache_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.wav")
        write_wav(partial, programme(np.random.default_rng(AUDIO_SEED), read_paragraphs()))
        partial.replace(path)  # atomic: a concurrent reader never sees half a file
    return path


def load_audio(path: Path) -> AudioSource:
    """A WAV file as 44.1 kHz mono float32, with its SHA-256 for provenance."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file {path} not found")
    samples, rate = read_wav(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return AudioSource(samples=resample(samples, rate), path=str(path), sha256=digest)
