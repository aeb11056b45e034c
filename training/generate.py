# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate an RML22-style dataset with GNU Radio: 10 modulations x SNRs x windows, as HDF5 (or RML pickle).

Follows RML22's procedure: GNU Radio's own modulators (constellations + RRC 0.35 at 2 samples/symbol,
gfsk_mod, cpfsk_bc, wfm_tx, AM-DSB), then per stream of 128*50+1000 source items: sample-rate offset ->
ETU70 selective_fading_model -> carrier-frequency offset -> random phase -> AWGN, the first 1000 samples
dropped, 128-sample windows taken with random gaps, each window divided by sum|x|. The analog classes
modulate a synthesised speech-and-music programme (espeak-ng; see training/audio.py and
docs/dataset.md) or a WAV you give with --audio.

By default the signal is scaled to unit power (per stream, after fading) before the noise, so the SNR
label is the true SNR; --nominal-snr adds the noise to the signal as the modulators made it, as RML22
did. The same --seed gives identical X/Y/Z whatever --workers is. --format rml writes RML22's pickle
(dict (mod, snr) -> float32 [n,2,128]) to --out, and the HDF5 with all provenance next to it (.h5).
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import pickle
import re
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import h5py
import numpy as np
from gnuradio.eeamc.synthetic_band import ANALOG_CLASSES
from gnuradio.eeamc.windows import NORMALIZATIONS, frame, normalize
from tqdm import tqdm

from training import audio as audio_source
from training import channel, robust
from training.datasets import RML22_CLASSES
from training.modulators import EXCESS_BANDWIDTH, SAMPLES_PER_SYMBOL, Modulator, make_modulator
from training.provenance import code_version

WINDOW_LENGTH = 128
WINDOWS_PER_STREAM = 50  # RML22: a stream is 128*50 + 1000 source items
TRANSIENT = 1000  # output samples dropped from the start of every stream
GAP_FRACTION = 0.05  # gaps between windows uniform in [0, 0.05 x kept stream length)
STREAMS_PER_FLOWGRAPH = 32  # streams modulated / faded together in one flowgraph run
DEFAULT_SNRS = tuple(range(-20, 21, 2))
#: What each --impairments choice turns on.
IMPAIRMENTS = {
    "all": frozenset({"clock", "fading", "noise"}),
    "clean": frozenset(),
    "awgn": frozenset({"noise"}),
    "fading": frozenset({"fading"}),
    "clock": frozenset({"clock"}),  # SRO + CFO + phase offset, as RML22's ClockOnly
}
FORMATS = ("h5", "rml")
#: 2: per-window stream ids (S), the robust profile and its noise class. 3: the robust profile draws the
#: constellation pulse (RRC, RC, Gaussian), sample-spaced multipath, a receiver filter, FM deviation 5-75 kHz.
GENERATOR_VERSION = 3
#: Stream ids: job index x this + the stream's index within the job (a job never has this many).
STREAMS_PER_JOB_LIMIT = 1 << 20


@dataclass(frozen=True)
class GenerationConfig:
    """Everything that decides the windows; stored as the output file's attributes."""

    classes: tuple[str, ...]
    snrs: tuple[int, ...]
    per: int = 2000
    impairments: str = "all"
    seed: int = 0
    nominal_snr: bool = False
    normalization: str = "l1"
    window_length: int = WINDOW_LENGTH
    audio_path: str | None = None  # WAV for the analog classes; None: no analog class chosen
    profile: str = "rml22"  # rml22: the paper's single values; robust: per-stream draws (training/robust.py)

    @property
    def stream_items(self) -> int:
        """RML22's stream length in source items (the robust profile sets its lengths per class)."""
        return self.window_length * WINDOWS_PER_STREAM + TRANSIENT

    @property
    def effects(self) -> frozenset[str]:
        return IMPAIRMENTS[self.impairments]


def job_seeds(seed: int, class_name: str, snr: int) -> list[np.random.SeedSequence]:
    """Independent seeds for one (class, SNR): signal, framing, clock, fading, phase, noise.

    Derived from the global seed, the class name and the SNR only, so a job's windows do not depend on
    which other jobs run, in which process or order. Separate streams per effect keep, for example,
    the modulated signal the same whether or not noise is added.
    """
    entropy = [seed, zlib.crc32(class_name.encode()), snr + 2**16]
    return np.random.SeedSequence(entropy).spawn(6)


def plan_windows(
    rng: np.random.Generator, kept_length: int, count: int, window_length: int
) -> list[np.ndarray]:
    """Window starts (relative to the kept part) for as many streams as ``count`` windows need.

    RML22's rule: the first window after a gap, every next one after the previous plus a gap, gaps
    uniform in [0, 0.05 x kept length), as long as the window ends before the stream does.
    """
    if kept_length <= window_length:
        raise ValueError(f"streams of {kept_length} kept samples cannot hold a {window_length}-sample window")
    max_gap = max(1, int(kept_length * GAP_FRACTION))
    draws = kept_length // window_length + 1  # more than a stream can hold
    plans: list[np.ndarray] = []
    total = 0
    while total < count:
        starts = np.cumsum(rng.integers(0, max_gap, draws)) + window_length * np.arange(draws)
        starts = starts[starts + window_length < kept_length][: count - total]
        if starts.size:
            plans.append(starts)
            total += starts.size
    return plans


class _StreamBatch:
    """One flowgraph's worth of streams going through the channel; windows come out at the end."""

    def __init__(self, modulated: np.ndarray, plans: list[np.ndarray], window_length: int):
        self.samples = modulated  # complex64 [streams, samples]
        self.plans = plans
        self.window_length = window_length
        self.ends = np.array([TRANSIENT + plan[-1] + window_length for plan in plans])
        self.xo_error: np.ndarray | None = None

    def clock_drift(self, rng: np.random.Generator) -> None:
        self.xo_error = channel.oscillator_error(rng, *self.samples.shape)
        self.samples = channel.apply_sample_rate_offset(self.samples, self.xo_error)

    def fading(self, rng: np.random.Generator) -> None:
        # Only the samples that can end up in a window go through the (slow) fading model; it starts
        # FADING_SETTLE samples early so its filter has settled by the first kept sample.
        begin = TRANSIENT - channel.FADING_SETTLE
        seeds = rng.integers(0, 2**31 - 1, len(self.plans))
        segments = [row[begin:end] for row, end in zip(self.samples, self.ends, strict=True)]
        faded = channel.fade(segments, seeds)
        self._put_back(begin, faded)

    def fading_each(self, draws: list[robust.StreamDraw]) -> None:
        """The robust profile: each stream through its own drawn fading channel."""
        begin = TRANSIENT - channel.FADING_SETTLE
        faders = [
            channel.fader(d.fading, d.doppler_hz, d.rician_k, d.seed, d.delay_profiles()) for d in draws
        ]
        segments = [row[begin:end] for row, end in zip(self.samples, self.ends, strict=True)]
        self._put_back(begin, channel.run_through(segments, faders))

    def _put_back(self, begin: int, segments: list[np.ndarray]) -> None:
        for row, end, segment in zip(self.samples, self.ends, segments, strict=True):
            row[begin:end] = segment

    def rotate(self, rotation: np.ndarray) -> None:
        """Multiply the kept part of every stream by ``rotation`` [streams, kept samples]."""
        kept = self.samples[:, TRANSIENT:]
        kept *= rotation[:, : kept.shape[1]]

    @property
    def counts(self) -> list[int]:
        return [len(plan) for plan in self.plans]

    def windows(self, unit_power: bool, phase_rng: np.random.Generator | None, margin: int = 0) -> np.ndarray:
        """Cut the windows (with ``margin`` more samples each side); scale each stream to unit power; rotate
        by CFO and phase when the clock is on."""
        offsets = np.arange(-margin, self.window_length + margin)[None, :]
        phase = None if self.xo_error is None else channel.carrier_phase(self.xo_error)
        phase_offsets = None if phase_rng is None else phase_rng.uniform(0, 2 * np.pi, len(self.plans))
        cut = []
        for stream, (plan, end) in enumerate(zip(self.plans, self.ends, strict=True)):
            index = TRANSIENT + plan[:, None] + offsets
            windows = self.samples[stream, index]
            if unit_power:  # power of the kept stream, after fading: the SNR label is then true
                windows = windows / np.sqrt(np.mean(np.abs(self.samples[stream, TRANSIENT:end]) ** 2))
            if phase is not None:
                windows = windows * np.exp(1j * (phase[stream, index] + phase_offsets[stream]))
            cut.append(windows.astype(np.complex64))
        return np.concatenate(cut)


def generate_windows(
    config: GenerationConfig, class_name: str, snr: int, audio: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``config.per`` windows of one (class, SNR) as complex64 [per, L], before per-window scaling,
    and the index (within this job) of the stream each was cut from."""
    if config.profile == "robust":
        return generate_robust_windows(config, class_name, snr, audio)
    signal_seed, framing_seed, clock_seed, fading_seed, phase_seed, noise_seed = job_seeds(
        config.seed, class_name, snr
    )
    signal_rng = np.random.default_rng(signal_seed)
    clock_rng, fading_rng = np.random.default_rng(clock_seed), np.random.default_rng(fading_seed)
    phase_rng = np.random.default_rng(phase_seed)
    modulator: Modulator = make_modulator(class_name)
    kept_length = modulator.output_length(config.stream_items) - TRANSIENT
    plans = plan_windows(np.random.default_rng(framing_seed), kept_length, config.per, config.window_length)
    effects = config.effects
    cut = []
    for first in range(0, len(plans), STREAMS_PER_FLOWGRAPH):
        batch_plans = plans[first : first + STREAMS_PER_FLOWGRAPH]
        modulated = modulator.modulate(signal_rng, len(batch_plans), config.stream_items, audio)
        batch = _StreamBatch(modulated, batch_plans, config.window_length)
        if "clock" in effects:
            batch.clock_drift(clock_rng)
        if "fading" in effects:
            batch.fading(fading_rng)
        cut.append(batch.windows(not config.nominal_snr, phase_rng if "clock" in effects else None))
    windows = np.concatenate(cut)
    if "noise" in effects:
        noise_power = 10 ** (-snr / 10)
        windows += channel.complex_noise(np.random.default_rng(noise_seed), windows.shape, noise_power)
    return windows, stream_of_windows(plans)


def robust_stream_items(modulator: Modulator, length: int) -> int:
    """Source items that give at least ``length`` output samples at the robust profile's slowest rate."""
    ratio = robust.min_rate_ratio(digital=not modulator.uses_audio)
    needed = int(np.ceil(length / ratio)) + 1
    items = needed
    while modulator.output_length(items) < needed:
        items += max(1, needed - modulator.output_length(items))
    return items


def stream_of_windows(plans: list[np.ndarray]) -> np.ndarray:
    """For every window, in order, the index of the stream (plan) it was cut from."""
    return np.repeat(np.arange(len(plans), dtype=np.int64), [len(plan) for plan in plans])


def generate_robust_windows(
    config: GenerationConfig, class_name: str, snr: int, audio: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The robust profile's windows of one (class, SNR): every stream with its own drawn parameters.

    modulation (drawn pulse, index, samples per symbol and sample-rate offset) -> drawn fading ->
    carrier offset, drift, phase noise -> unit power -> windows (with a margin for the receiver filter)
    -> AWGN (true SNR) -> IQ imbalance and DC offset -> the drawn receiver filter, if any. The `noise`
    class has white or low-passed noise where the others have a modulated signal.
    """
    draw_seed, framing_seed, signal_seed, phase_seed, noise_seed, _ = job_seeds(config.seed, class_name, snr)
    draw_rng, signal_rng = np.random.default_rng(draw_seed), np.random.default_rng(signal_seed)
    phase_rng = np.random.default_rng(phase_seed)
    is_noise = class_name == robust.NOISE_CLASS
    modulator = None if is_noise else make_modulator(class_name)
    # Streams of about the same kept length for every class (RML22 counts source items, which makes a
    # QAM64 stream a sixth as long as a BPSK one); lengths are set for the slowest drawn rate.
    margin = robust.RECEIVER_FILTER_TAPS // 2
    length = TRANSIENT + robust.WINDOWS_PER_STREAM * config.window_length + margin
    items = length if is_noise else robust_stream_items(modulator, length)
    plans = plan_windows(
        np.random.default_rng(framing_seed), length - TRANSIENT - margin, config.per, config.window_length
    )
    draws = robust.draw_streams(draw_rng, len(plans))
    cut = []
    for first in range(0, len(plans), STREAMS_PER_FLOWGRAPH):
        batch_draws = draws[first : first + STREAMS_PER_FLOWGRAPH]
        if is_noise:
            rows = robust.noise_streams(batch_draws, length, signal_rng)
        else:
            rows = modulator.modulate_each(signal_rng, batch_draws, items, length, audio)
        batch = _StreamBatch(rows, plans[first : first + STREAMS_PER_FLOWGRAPH], config.window_length)
        if not is_noise:
            batch.fading_each(batch_draws)
            batch.rotate(robust.carrier_rotation(batch_draws, length - TRANSIENT, phase_rng))
        cut.append(batch.windows(True, None, margin))
    windows = np.concatenate(cut)
    windows += channel.complex_noise(np.random.default_rng(noise_seed), windows.shape, 10 ** (-snr / 10))
    counts = [len(plan) for plan in plans]
    windows = robust.receiver_impairments(windows, draws, counts)
    return robust.receiver_filter(windows, draws, counts), stream_of_windows(plans)


_AUDIO_CACHE: dict[str, np.ndarray] = {}


def _audio_for(config: GenerationConfig) -> np.ndarray | None:
    """The analog source, loaded once per process."""
    if config.audio_path is None:
        return None
    if config.audio_path not in _AUDIO_CACHE:
        _AUDIO_CACHE[config.audio_path] = audio_source.load_audio(Path(config.audio_path)).samples
    return _AUDIO_CACHE[config.audio_path]


def generate_job(config: GenerationConfig, class_name: str, snr: int) -> tuple[np.ndarray, np.ndarray]:
    """One (class, SNR): float32 [per, 2, L], normalised per window as ``config.normalization`` says,
    and each window's stream index within the job."""
    samples, streams = generate_windows(config, class_name, snr, _audio_for(config))
    return normalize(frame(samples.reshape(-1), config.window_length), config.normalization), streams


def _job_worker(job: tuple[int, GenerationConfig, str, int]) -> tuple[int, np.ndarray, np.ndarray]:
    index, config, class_name, snr = job
    return index, *generate_job(config, class_name, snr)


def generate_dataset(
    config: GenerationConfig, workers: int = 1, progress: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """X float32 [N,2,L], Y int64 (index into config.classes), Z int64 SNR, S int64 stream id (unique in
    the file; a stream's windows are consecutive), ordered by class, SNR, stream."""
    jobs = [
        (i, config, name, snr)
        for i, (name, snr) in enumerate((n, s) for n in config.classes for s in config.snrs)
    ]
    x = np.empty((len(jobs) * config.per, 2, config.window_length), dtype=np.float32)
    s = np.empty(len(jobs) * config.per, dtype=np.int64)
    bar = tqdm(total=len(jobs), desc="generate", unit="job", disable=not progress)
    if workers <= 1:
        results = map(_job_worker, jobs)
        pool = None
    else:  # spawn: GNU Radio's threads and fork do not mix
        pool = multiprocessing.get_context("spawn").Pool(min(workers, len(jobs)))
        results = pool.imap_unordered(_job_worker, jobs)
    try:
        for index, windows, streams in results:
            x[index * config.per : (index + 1) * config.per] = windows
            s[index * config.per : (index + 1) * config.per] = index * STREAMS_PER_JOB_LIMIT + streams
            bar.update()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    y = np.repeat([config.classes.index(name) for _, _, name, _ in jobs], config.per).astype(np.int64)
    z = np.repeat([snr for _, _, _, snr in jobs], config.per).astype(np.int64)
    return x, y, z, s


# ------------------------------------------------------------------------------------------- output


def equivalent_command(args: argparse.Namespace) -> str:
    """The command line that regenerates this file, every option spelled out (defaults included)."""
    parts = [
        "python -m training generate",
        f"--profile {args.profile}",
        f"--out {args.out}",
        f"--per {args.per}",
        "--snrs " + ",".join(str(s) for s in args.snrs),
        "--classes " + ",".join(args.classes),
        f"--impairments {args.impairments}",
        f"--seed {args.seed}",
        f"--workers {args.workers}",
        f"--format {args.file_format}",
        f"--normalization {args.normalization}",
        f"--length {args.length}",
    ]
    if args.nominal_snr:
        parts.append("--nominal-snr")
    if args.audio is not None:
        parts.append(f"--audio {args.audio}")
    return " ".join(parts)


def provenance(
    config: GenerationConfig, audio_info: dict[str, str], command: str, workers: int, elapsed_s: float
) -> dict:
    """The attributes stored with the data: every parameter, the channel constants, who/when/how."""
    from gnuradio import gr

    attrs = {key: value for key, value in asdict(config).items() if key != "audio_path"}
    attrs.update(
        generator="training.generate",
        generator_version=GENERATOR_VERSION,
        code_version=code_version() or "unknown",
        gnuradio_version=gr.version(),
        command_line=command,
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        elapsed_s=round(elapsed_s, 3),
        workers=workers,
        snr_definition="nominal (signal as modulated)"
        if config.nominal_snr
        else "true (unit signal power per stream)",
        noise_power="10**(-snr/10), circular complex Gaussian",
        sample_rate_hz=channel.SAMPLE_RATE_HZ,
        samples_per_symbol=SAMPLES_PER_SYMBOL,
        rolloff=EXCESS_BANDWIDTH,
        stream_items=config.stream_items,
        transient_samples=TRANSIENT,
        gap_fraction=GAP_FRACTION,
        fading="selective_fading_model ETU70 Rayleigh" if "fading" in config.effects else "off",
        fading_delays_ns=list(channel.ETU70_DELAYS_NS),
        fading_gains_db=list(channel.ETU70_GAINS_DB),
        fading_doppler_hz=channel.DOPPLER_HZ,
        fading_sinusoids=channel.FADING_SINUSOIDS,
        fading_taps=channel.FADING_TAPS,
        clock="on" if "clock" in config.effects else "off",
        xo_step_std_hz=channel.XO_STEP_STD_HZ,
        xo_max_error_hz=channel.XO_MAX_ERROR_HZ,
        cfo_per_xo_error=channel.CFO_PER_XO_ERROR,
        sro_per_xo_error=channel.SRO_PER_XO_ERROR,
        **audio_info,
    )
    if config.profile == "robust":  # the single values above are RML22's; this profile draws per stream
        attrs.update(
            robust.attributes(),
            fading="per stream, drawn: see robust_fading_choices",
            clock="per stream, drawn: see robust_sample_rate_offset_ppm and robust_carrier_*",
        )
    # Which split keeps a test honest: RML22 (and the paper) split windows; a robust file's windows of one
    # stream share its fading, offsets and audio, so they stay in one split (training.datasets).
    attrs["split_unit"] = "stream" if config.profile == "robust" else "window"
    return attrs


def write_hdf5(
    path: Path, x: np.ndarray, y: np.ndarray, z: np.ndarray, attrs: dict, s: np.ndarray | None = None
) -> None:
    """X/Y/Z (and S: stream ids) plus attributes (string lists stay lists; the class list is ``classes``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as file:
        file.create_dataset("X", data=x, chunks=(min(len(x), 1024), *x.shape[1:]) if len(x) else None)
        file.create_dataset("Y", data=y)
        file.create_dataset("Z", data=z)
        if s is not None:
            file.create_dataset("S", data=s)
        for key, value in attrs.items():
            file.attrs[key] = list(value) if isinstance(value, tuple) else value


def write_rml_pickle(
    path: Path, x: np.ndarray, y: np.ndarray, z: np.ndarray, classes: tuple[str, ...]
) -> None:
    """RML22's layout: dict (modulation name, snr) -> float32 [n, 2, L]."""
    table = {
        (name, int(snr)): x[(y == label) & (z == snr)]
        for label, name in enumerate(classes)
        for snr in np.unique(z)
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        pickle.dump(table, file, protocol=pickle.HIGHEST_PROTOCOL)


def output_paths(out: Path, file_format: str) -> dict[str, Path]:
    """{'h5': path} for h5; for rml the pickle at --out and the HDF5 beside it with suffix .h5."""
    if file_format == "h5":
        return {"h5": out}
    pickle_path = out.with_suffix(".pkl") if out.suffix in (".h5", ".hdf5") else out
    return {"rml": pickle_path, "h5": pickle_path.with_suffix(".h5")}


# ---------------------------------------------------------------------------------------------- CLI


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _name_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def configure_parser(parser: argparse.ArgumentParser) -> None:
    # Let "--snrs -20,-18" through: argparse otherwise takes a value starting with "-" for an option.
    parser._negative_number_matcher = re.compile(r"^-\d+(,-?\d+)*$|^-\d*\.\d+$")
    parser.add_argument(
        "--out", type=Path, required=True, help="output file (HDF5; the pickle with --format rml)"
    )
    parser.add_argument(
        "--profile",
        choices=robust.PROFILES,
        default="rml22",
        help="rml22: RML22's single values (the paper's reproduction); robust: per-stream draws of pulse, "
        "FSK index, samples/symbol, offsets, fading, phase noise, IQ imbalance, DC and audio source, plus "
        "a 'noise' class (ranges: docs/dataset.md)",
    )
    parser.add_argument("--per", type=int, default=2000, help="windows per (class, SNR)")
    parser.add_argument(
        "--snrs",
        type=_int_list,
        default=",".join(str(snr) for snr in DEFAULT_SNRS),  # argparse runs a string default through type
        help="comma-separated SNRs in dB",
    )
    parser.add_argument(
        "--classes",
        type=_name_list,
        default=None,
        help=f"comma-separated class names (default: RML22's ten; the robust profile adds "
        f"{robust.NOISE_CLASS!r})",
    )
    parser.add_argument(
        "--impairments", choices=list(IMPAIRMENTS), default="all", help="channel effects to apply"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="global seed; the same seed gives the same windows"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--format", choices=FORMATS, default="h5", dest="file_format", help="output layout")
    parser.add_argument(
        "--nominal-snr",
        action="store_true",
        help="do not scale the signal to unit power before the noise (RML22)",
    )
    parser.add_argument(
        "--normalization",
        choices=list(NORMALIZATIONS),
        default="l1",
        help="per-window scaling: l1 = RML22's x/sum|x|",
    )
    parser.add_argument(
        "--audio",
        type=Path,
        default=None,
        help="WAV for WBFM/AM-DSB; none: the speech/music programme synthesised with espeak-ng",
    )
    parser.add_argument("--length", type=int, default=WINDOW_LENGTH, help="samples per window")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> tuple[GenerationConfig, dict[str, str]]:
    """Validate the options; make or find the audio source when an analog class is chosen."""
    known = profile_classes(args.profile)
    if args.classes is None:
        args.classes = known
    unknown = [name for name in args.classes if name not in known]
    if unknown or not args.classes:
        raise ValueError(
            f"unknown or no classes {list(unknown)} for profile {args.profile}: choose from {','.join(known)}"
        )
    if args.profile == "robust" and (args.nominal_snr or args.impairments != "all"):
        raise ValueError(
            "the robust profile always applies every impairment at true SNR: "
            "drop --nominal-snr and --impairments (they are for the rml22 profile)"
        )
    if len(set(args.classes)) != len(args.classes) or len(set(args.snrs)) != len(args.snrs) or not args.snrs:
        raise ValueError("--classes and --snrs must be non-empty and without repeats")
    if args.per < 1 or args.length < 8:
        raise ValueError("--per must be at least 1 and --length at least 8")
    classes = tuple(name for name in known if name in args.classes)  # the project's label order
    audio_info: dict[str, str] = {}
    audio_path = None
    if any(name in ANALOG_CLASSES for name in classes):
        path = args.audio if args.audio is not None else audio_source.ensure_default_audio()
        loaded = audio_source.load_audio(path)
        audio_path = str(Path(path).resolve())
        audio_info = {
            "audio_file": Path(path).name,
            "audio_sha256": loaded.sha256,
            "audio_seconds": f"{loaded.samples.shape[0] / audio_source.AUDIO_RATE_HZ:.1f}",
            "audio_origin": "user-supplied"
            if args.audio is not None
            else (
                f"synthesised: espeak-ng ({audio_source.espeak_version()}) reading training/speech.txt + "
                f"synthetic music, recipe {audio_source.RECIPE_VERSION}"
            ),
        }
    config = GenerationConfig(
        classes=classes,
        snrs=tuple(args.snrs),
        per=args.per,
        impairments=args.impairments,
        seed=args.seed,
        nominal_snr=args.nominal_snr,
        normalization=args.normalization,
        window_length=args.length,
        audio_path=audio_path,
        profile=args.profile,
    )
    return config, audio_info


def profile_classes(profile: str) -> tuple[str, ...]:
    """The classes a profile can make, in the project's label order (noise last)."""
    return (*RML22_CLASSES, robust.NOISE_CLASS) if profile == "robust" else tuple(RML22_CLASSES)


def run(args: argparse.Namespace) -> int:
    config, audio_info = config_from_args(args)
    if args.workers < 1:
        raise ValueError("--workers must be at least 1")
    paths = output_paths(args.out, args.file_format)
    started = time.perf_counter()
    x, y, z, s = generate_dataset(config, args.workers, progress=not args.quiet)
    elapsed = time.perf_counter() - started
    attrs = provenance(config, audio_info, equivalent_command(args), args.workers, elapsed)
    write_hdf5(paths["h5"], x, y, z, attrs, s)
    if "rml" in paths:
        write_rml_pickle(paths["rml"], x, y, z, config.classes)
    print(
        f"{x.shape[0]} windows ({len(config.classes)} classes x {len(config.snrs)} SNRs x {config.per}) in "
        f"{elapsed:.1f} s ({x.shape[0] / max(elapsed, 1e-9):.0f} windows/s): "
        + ", ".join(str(p) for p in paths.values())
    )
    return 0
