#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark gr-eeamc: engine windows/s and classifier-block MS/s, exits off against early exit.

One run prints, for the same data:

1. the machine (CPU model and its int8/vector flags avx2, avx512, vnni, amx; cores, torch / GNU Radio /
   numpy versions, torch threads, device, date);
2. the engine's windows/s per precision (fp32, and int8 where the model file has int8 parameters), per
   SNR group (default -10..0, 0..10, 10..20 dB) and mode: early exits off (threshold 0, the plain
   backbone), on (the model's calibrated thresholds or --threshold), on with adaptive exits (an exit
   that is not paying is skipped and probed), and every window leaving at the first early exit (the
   ceiling of what that exit can save here, whatever the threshold); the modes are timed interleaved so
   that the machine's load swings hit them alike; with the share of windows leaving at each exit, mean
   multiply-accumulates per window and accuracy; then each mode against exits off, and the issue's
   goals against what was measured;
3. MS/s through ``eeamc.classifier`` in a real flowgraph (vector source -> head -> classifier -> null
   sink, no throttle) with (a) no reports, (b) a tag and a ``window`` message per window, (c) a tag per
   window and one ``batch`` message per work() call, (d) as (c) with classify_every 4, against the same
   flowgraph with a copy block (the floor), and whether that keeps up with an RTL-SDR and a B210; a
   block parameter this gr-eeamc lacks prints "not available";
4. a cProfile breakdown of the block's work() per window (framing, engine, tags, messages).

Figures are printed (and written with --json; ``--json auto`` names the file under reports/ by date and
machine), never asserted: they depend on the machine and its load. Each figure is the median of several
timed repeats after a warm-up, timed with time.perf_counter.

Data: --data FILE (any layout training.datasets reads: our HDF5, RML22 / RML2016 pickle, RML2018 HDF5),
else windows made by ``python -m training generate`` in-process (cached under ~/.cache/gr-eeamc), or with
--synthetic the generator's modulators with AWGN only (no channel impairments, nothing cached); the
output says which. The training package must be importable (this checkout's training/).

    .venv/bin/python benchmarks/bench_classifier.py --quick [--model FILE] [--threads 1] [--json auto]
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import datetime
import importlib
import inspect
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gnuradio import blocks, gr

REPO = Path(__file__).resolve().parents[1]

#: Sample rates a receiver must sustain with every window classified.
RECEIVERS = {"RTL-SDR (2.4 MS/s)": 2.4e6, "USRP B210 (61.44 MS/s)": 61.44e6}
#: report_every large enough that no window after the first is reported: the block without reports.
NO_REPORTS_EVERY = 2**62


#: gnuradio.eeamc as measured (see use_eeamc) and its windows module; set before anything else runs.
eeamc: Any = None
windows_module: Any = None


def use_eeamc(source_tree: bool) -> None:
    """Import gnuradio.eeamc: the installed module, or (``source_tree``, or none installed) this checkout's
    python/eeamc under that same name, so the training package, which imports gnuradio.eeamc, sees the
    very module measured."""
    global eeamc, windows_module
    try:
        if source_tree:
            raise ImportError
        eeamc = importlib.import_module("gnuradio.eeamc")
    except ImportError:
        from training.checkout import use_source_tree

        eeamc = use_source_tree()
    windows_module = importlib.import_module("gnuradio.eeamc.windows")


# ---- machine -------------------------------------------------------------------------------------------


def machine_info(device: torch.device) -> dict[str, Any]:
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": training_module("provenance").cpu_model(),
        "cores_available": len(os.sched_getaffinity(0)),
        "cores_total": os.cpu_count(),
        "load_average_1_5_15": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_flags": cpu_flags(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_quantized_engines": list(torch.backends.quantized.supported_engines),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "gnuradio": gr.version(),
        "numpy": np.__version__,
        "device": str(device),
        "eeamc_module": str(Path(eeamc.__file__).parent),
        "eeamc_reports": reporting_path(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def reporting_path() -> str:
    """Where the measured blocks build their tags and window messages: C++ (eeamc_native) or Python."""
    choice = getattr(importlib.import_module("gnuradio.eeamc.reports"), "native_choice", None)
    if choice is None:
        return "in Python (a gnuradio.eeamc without eeamc_native support)"
    return choice()[1].removeprefix("reports: tags and messages built ")


#: CPU flags that decide how fast fp32 and int8 run (as /proc/cpuinfo names them).
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8")


def cpu_flags() -> dict[str, bool]:
    """Which of CPU_FLAGS this CPU has (all False where /proc/cpuinfo cannot be read: not Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return dict.fromkeys(CPU_FLAGS, False)
    line = next((row for row in text.splitlines() if row.startswith(("flags", "Features"))), "")
    present = set(line.partition(":")[2].split())
    return {flag: flag in present for flag in CPU_FLAGS}


# ---- data ----------------------------------------------------------------------------------------------


@dataclass
class WindowSet:
    """Windows of one SNR group, normalised as the model expects, and the samples they came from."""

    name: str
    samples: np.ndarray  # complex64 [N * L], the windows back to back (what the block receives)
    windows: np.ndarray  # float32 [N, 2, L], framed and normalised exactly as the block does
    labels: np.ndarray  # int64 [N], the model's class index, -1 where the model lacks the class
    snrs: list[int]


def parse_snr_group(text: str) -> list[int]:
    """'10:20' -> 10, 12, ..., 20 (step 2, as RML22); '10:20:1' sets the step; '-4,0,4' lists them."""
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            low, high, step = (*parts, 2) if len(parts) == 2 else parts
            return list(range(low, high + 1, step))
        return [int(p) for p in text.split(",")]
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"SNR group {text!r}: use LOW:HIGH[:STEP] (dB) or a comma list, e.g. 10:20 or -4,0,4"
        ) from error


def group_name(snrs: Sequence[int]) -> str:
    return f"SNR {min(snrs)}..{max(snrs)} dB"


def synthetic_windows(
    classes: Sequence[str], snrs: Sequence[int], per: int, length: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows of the training package's own modulators (training/modulators.py through
    training.wideband.modulated: unit power at the model's rate) with AWGN at a true SNR and nothing else
    (no fading, clock or carrier offsets): (complex [N, L], class names [N], SNR [N])."""
    wideband = training_module("wideband")
    rng = np.random.default_rng(seed)
    parts, names, snr_labels = [], [], []
    for name in classes:
        for snr in snrs:
            # A class with no modulator (the robust profile's noise) is what it says: noise alone.
            known = name in training_module("generate").profile_classes("rml22")
            signal = wideband.modulated(name, per * length, rng) if known else np.zeros(per * length)
            noise = wideband.noise(per * length, 10 ** (-snr / 10), rng)
            parts.append((signal + noise).reshape(per, length))
            names += [name] * per
            snr_labels += [snr] * per
    return np.concatenate(parts).astype(np.complex64), np.array(names), np.array(snr_labels)


def training_module(name: str) -> Any:
    """training.<name> from this checkout (on the venv's path through setup's .pth file; imported once
    gnuradio.eeamc is, so that it uses that one)."""
    try:
        return importlib.import_module(f"training.{name}")
    except ImportError as error:
        raise SystemExit(
            f"the benchmark needs this checkout's training package ({REPO / 'training'}) and its "
            f"requirements: {error}"
        ) from error


def dataset_windows(
    path: Path, snrs: Sequence[int], length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(complex windows [N, L], class names [N], SNR [N]) of a dataset file in any layout training reads."""
    datasets = training_module("datasets")
    data = datasets.load_dataset(path, snrs=list(snrs), length=length)
    names = np.array(data.classes)[data.y]
    return (data.x[:, 0] + 1j * data.x[:, 1]).astype(np.complex64), names, data.snr


def generated_file(classes: Sequence[str], snrs: Sequence[int], per: int, seed: int, length: int) -> Path:
    """A dataset made by ``python -m training generate`` (run in-process, cached under ~/.cache/gr-eeamc
    keyed by its options, provenance in the file): the RML22 reproduction, or the robust profile for a
    model with classes only that profile makes (noise)."""
    generate = training_module("generate")
    profile = "rml22" if set(classes) <= set(generate.profile_classes("rml22")) else "robust"
    options = [
        *("--profile", profile),
        *("--classes", ",".join(classes), "--snrs", ",".join(map(str, snrs))),
        *("--per", str(per), "--seed", str(seed), "--length", str(length), "--workers", "1", "--quiet"),
    ]
    key = zlib.crc32(" ".join(options).encode()) ^ getattr(generate, "GENERATOR_VERSION", 0)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gr-eeamc"
    path = cache / f"bench-data-{key:08x}.h5"
    if not path.is_file():
        parser = argparse.ArgumentParser()
        generate.configure_parser(parser)
        print(f"generating benchmark data with training.generate into {path} (once; cached)", flush=True)
        generate.run(parser.parse_args(["--out", str(path), *options]))
    return path


def load_data(args: argparse.Namespace, model: Any) -> tuple[str, list[WindowSet]]:
    """(description of the data, one WindowSet per SNR group)."""
    length = model.input_length
    all_snrs = sorted({snr for group in args.snr_groups for snr in group})
    smallest_group = min(len(group) for group in args.snr_groups)
    per = max(1, -(-args.windows // (smallest_group * len(model.classes))))
    path = Path(args.data) if args.data else None
    if path is None and not args.synthetic:
        path = generated_file(model.classes, all_snrs, per, args.seed, length)
        made = f"made by training.generate, {per} per class and SNR, seed {args.seed}: "
    else:
        made = "file "
    if path is not None:
        iq, names, snrs = dataset_windows(path, all_snrs, length)
        source = f"{made}{path}"
    else:
        iq, names, snrs = synthetic_windows(model.classes, all_snrs, per, length, args.seed)
        source = (
            f"SYNTHETIC (--synthetic): the training package's modulators, AWGN only (no fading, clock or "
            f"carrier offsets); {per} per class and SNR, seed {args.seed}"
        )
    if iq.shape[1] != length:
        raise ValueError(f"data windows have {iq.shape[1]} samples; the model takes {length}")
    class_index = {name: i for i, name in enumerate(model.classes)}
    labels = np.array([class_index.get(str(name), -1) for name in names], dtype=np.int64)
    rng = np.random.default_rng(args.seed)
    sets = []
    for group in args.snr_groups:
        chosen = np.flatnonzero(np.isin(snrs, group))
        if len(chosen) == 0:
            raise ValueError(
                f"the data has no windows at SNR {group} dB (it has {sorted(set(snrs.tolist()))})"
            )
        chosen = rng.permutation(chosen)[: args.windows]  # mixed classes and SNRs, as on air
        samples = np.ascontiguousarray(iq[chosen]).ravel()
        windows = windows_module.normalize(windows_module.frame(samples, length), model.normalization)
        sets.append(WindowSet(group_name(group), samples, windows, labels[chosen], list(group)))
    return source, sets


# ---- timing --------------------------------------------------------------------------------------------


def median_rate(run_once: Callable[[], float], repeats: int) -> tuple[float, list[float]]:
    """Median and all of ``repeats`` rates returned by ``run_once``."""
    rates = [run_once() for _ in range(repeats)]
    return statistics.median(rates), rates


#: Clocks the engine can be timed with: wall time, or the CPU time this process used (steadier on a
#: machine shared with other jobs; with one torch thread it is the engine's own compute time).
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def engine_rates(
    engines: dict[str, Any], windows: torch.Tensor, batch: int, seconds: float, repeats: int, clock: str
) -> dict[str, dict[str, Any]]:
    """Windows/s of each engine's classify at one batch size, cycling over the data. The engines take
    turns batch by batch, so that a change in the machine's load hits every one of them alike; each
    repeat gives every engine about ``seconds / repeats`` of classifying (on ``clock``)."""
    now = CLOCKS[clock]
    batches = [windows[i : i + batch] for i in range(0, len(windows) - batch + 1, batch)] or [windows[:batch]]

    def timed(budget: float) -> dict[str, float]:
        busy = dict.fromkeys(engines, 0.0)
        done = dict.fromkeys(engines, 0)
        index = 0
        while min(busy.values()) < budget:
            part = batches[index % len(batches)]
            index += 1
            for name, engine in engines.items():
                start = now()
                engine.classify(part)
                busy[name] += now() - start
                done[name] += len(part)
        return {name: done[name] / busy[name] for name in engines}

    timed(min(0.2, seconds / 2))  # warm-up: allocator, oneDNN kernels, caches, adaptive exits' state
    runs = [timed(seconds / repeats) for _ in range(repeats)]
    return {
        name: {
            "batch": batch,
            "windows_per_s": statistics.median(run[name] for run in runs),
            "repeats": [run[name] for run in runs],
        }
        for name in engines
    }


def exit_statistics(engine: Any, data: WindowSet) -> dict[str, Any]:
    """Share of windows per exit, mean MACs per window and accuracy over the whole set (batches of 256,
    as timed, so that adaptive exits decide as they did while timed)."""
    parts = [
        engine.classify(torch.from_numpy(data.windows[i : i + 256])) for i in range(0, len(data.windows), 256)
    ]
    exits = torch.cat([p.exit for p in parts]).numpy()
    macs = torch.cat([p.macs for p in parts]).numpy()
    labels = torch.cat([p.label for p in parts]).numpy()
    known = data.labels >= 0
    return {
        "exit_share": [float(np.mean(exits == k)) for k in range(engine.num_exits)],
        "mean_macs": float(macs.mean()),
        "accuracy": float(np.mean(labels[known] == data.labels[known])) if known.any() else None,
        "skipped_exits": list(getattr(engine, "skipped_exits", [])),
        # adaptive exits: each exit's break-even share as the engine measured it when it was made
        "break_even_shares": list(engine.adaptive.min_share) if getattr(engine, "adaptive", None) else None,
    }


@dataclass
class Mode:
    """A way of running the model: early exits off (threshold 0), on, or on with adaptive exits."""

    name: str
    threshold: float | list[float]  # what the block's threshold parameter gets
    adaptive: bool = False


#: The mode every other is compared with.
EXITS_OFF = "exits off"
#: Engine only: a threshold above any entropy, so every window leaves at the first early exit. The most
#: an early exit at that point can save on this machine (informative; no goal applies to it).
CEILING = "every window leaves early (ceiling)"


def ceiling_mode(model: Any) -> list[Mode]:
    """The ceiling mode, for a network that has an early exit."""
    early_exits = model.net.num_exits - 1
    if not early_exits:
        return []
    engine_module = importlib.import_module("gnuradio.eeamc.engine")
    leave_all = engine_module.threshold_every_window_meets(model.net.num_classes)
    return [Mode(CEILING, [leave_all] + [0.0] * (early_exits - 1))]


def modes(model: Any, threshold: float | None) -> list[Mode]:
    early = (
        [float(threshold)] * (model.net.num_exits - 1) if threshold is not None else list(model.thresholds)
    )
    name = f"early exit T={fmt_thresholds(early)}"
    return [Mode(EXITS_OFF, 0.0), Mode(name, early), Mode(f"{name} adaptive", early, adaptive=True)]


def fmt_thresholds(values: Sequence[float]) -> str:
    return ",".join(f"{v:.3g}" for v in values) if values else "none"


def precisions(
    model: Any, device: torch.device, calibrate_on: list[WindowSet] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """({precision: the engine's keyword arguments} that can run here, {precision: why not}).

    ``calibrate_on`` (--int8-calibrate): where the model file has no int8 parameters, calibrate them on
    these windows (the benchmark's own data, not the model's training split): for speed figures only."""
    engine_options = inspect.signature(eeamc.EarlyExitEngine.__init__).parameters
    if "precision" not in engine_options:
        return {"fp32": {}}, {"int8": "this gr-eeamc's engine has no precision option"}
    available = {"fp32": {"precision": "fp32"}}
    try:
        quantization = importlib.import_module(f"{eeamc.__name__}.quantization")
    except ImportError as error:
        return available, {"int8": f"this gr-eeamc has no int8 module ({error})"}
    section = getattr(model, "int8", None)
    if device.type != "cpu":
        return available, {"int8": f"int8 runs on the CPU only, the device is {device}"}
    if (not section or not section.get("params")) and calibrate_on:
        windows = torch.from_numpy(np.concatenate([data.windows for data in calibrate_on]))
        print(f"  int8: calibrating on the benchmark's {len(windows)} windows (--int8-calibrate)", flush=True)
        params = quantization.calibrate_int8(model.net, windows)
        section = {"params": params, "check": {"passed": False, "note": "calibrated by bench_classifier"}}
    if not section or not section.get("params"):
        reason = (
            f"{model.path} has no int8 parameters (python -m training quantize adds them; "
            "--int8-calibrate calibrates on the benchmark's data for speed figures)"
        )
        return available, {"int8": reason}
    available["int8"] = {"precision": "int8", "int8_params": section["params"]}
    if not getattr(model, "int8", None):
        available["int8"]["model_file"] = str(model_file_with_int8(model, section))
    return available, {}


def model_file_with_int8(model: Any, section: dict[str, Any]) -> Path:
    """A temporary copy of the model file with the benchmark's int8 section, for the block's int8 rows
    (the block reads int8 parameters from its model file)."""
    with_int8 = copy.copy(model)
    with_int8.int8 = section
    folder = Path(tempfile.mkdtemp(prefix="bench-classifier-"))
    path = folder / f"{Path(model.path).stem}_int8_bench.pt"
    importlib.import_module(f"{eeamc.__name__}.model_file").save_model(with_int8, path)
    return path


def make_engine(model: Any, device: str, mode: Mode, options: dict[str, Any]) -> Any:
    options = {key: value for key, value in options.items() if key != "model_file"}
    adaptive = {"adaptive_exits": True} if mode.adaptive else {}
    if adaptive and "adaptive_exits" not in inspect.signature(eeamc.EarlyExitEngine.__init__).parameters:
        return None
    return eeamc.EarlyExitEngine(model.net, mode.threshold, device, **options, **adaptive)


def bench_engine(
    args: argparse.Namespace, model: Any, sets: list[WindowSet], available: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    results = []
    for precision, options in available.items():
        engines = {
            mode.name: make_engine(model, args.device, mode, options)
            for mode in [*modes(model, args.threshold), *ceiling_mode(model)]
        }
        engines = {name: engine for name, engine in engines.items() if engine is not None}
        for data in sets:
            results += engine_rows(args, engines, data, precision)
    # What folding BatchNorm into the convolutions (and the channels-last CPU layout) saves: the same
    # engine running the network as trained.
    unfolded = eeamc.EarlyExitEngine(model.net, 0.0, args.device)
    unfolded.net = copy.deepcopy(model.net).eval().to(unfolded.device)
    results += engine_rows(
        args, {"exits off, network as trained (BatchNorm unfolded)": unfolded}, sets[0], "fp32"
    )
    return results


def engine_rows(
    args: argparse.Namespace, engines: dict[str, Any], data: WindowSet, precision: str
) -> list[dict[str, Any]]:
    """Windows/s at each batch size (the engines interleaved) and exit statistics of each engine on one
    set, printed with each mode's rate against exits off."""
    windows = torch.from_numpy(data.windows)
    rows = {name: {"data": data.name, "precision": precision, "mode": name, "rates": []} for name in engines}
    for batch in args.batches:
        if batch <= len(windows):
            rates = engine_rates(engines, windows, batch, args.seconds, args.repeats, args.clock)
            for name, rate in rates.items():
                rows[name]["rates"].append(rate)
    for name, engine in engines.items():
        rows[name].update(exit_statistics(engine, data))
    baseline = rows.get(EXITS_OFF)
    for row in rows.values():
        if baseline is not None:
            row["vs_exits_off"] = [
                mine["windows_per_s"] / off["windows_per_s"]
                for mine, off in zip(row["rates"], baseline["rates"])
            ]
        print_engine_row(row)
    return list(rows.values())


def engine_goals(rows: list[dict[str, Any]], batch: int) -> list[dict[str, Any]]:
    """Issue 9's engine goals against the rows at ``batch``: the early exit >= 1.5x exits off at >= 10 dB
    and >= 0.95x at every SNR group (with and without adaptive exits)."""
    goals = []
    for row in rows:
        if row["mode"] in (EXITS_OFF, CEILING) or "vs_exits_off" not in row:
            continue
        ratio = next(
            (r for r, rate in zip(row["vs_exits_off"], row["rates"]) if rate["batch"] == batch), None
        )
        if ratio is None:
            continue
        high = min(row_snrs(row)) >= 10
        target = 1.5 if high else 0.95
        goals.append(
            {
                "precision": row["precision"],
                "mode": row["mode"],
                "data": row["data"],
                "batch": batch,
                "vs_exits_off": ratio,
                "goal": target,
                "met": ratio >= target,
            }
        )
    return goals


def row_snrs(row: dict[str, Any]) -> list[int]:
    """The SNRs of a row's group, from its name 'SNR low..high dB'."""
    low, high = row["data"].removeprefix("SNR ").removesuffix(" dB").split("..")
    return [int(low), int(high)]


# ---- flowgraph -----------------------------------------------------------------------------------------


#: The block's reporting measured: (name, classifier options, message port connected).
REPORTINGS: dict[str, tuple[dict[str, Any], bool]] = {
    "none (copy block)": ({}, False),
    "(a) no reports": ({"report": "every_n", "report_every": NO_REPORTS_EVERY}, False),
    "(b) tags+window messages": ({"message_mode": "window"}, True),
    "(c) tags+batch messages": ({"message_mode": "batch"}, True),
    "(d) as (c), classify_every 4": ({"message_mode": "batch", "classify_every": 4}, True),
}


@dataclass
class GraphConfig:
    """One flowgraph measured: which block, mode, precision and reporting."""

    data: str
    mode: str
    reporting: str  # a key of REPORTINGS
    threshold: float | list[float] | None = None
    precision: str = "fp32"
    adaptive: bool = False
    #: Windows the classifier's input buffer holds (head.set_min_output_buffer); 0 = what GNU Radio
    #: allocates (at least 2 x max_batch windows: the classifier's history asks for that).
    input_buffer_windows: int = 0
    result: dict[str, Any] = field(default_factory=dict)
    #: Why it was not measured (a block parameter this gr-eeamc lacks); empty when it was.
    not_available: str = ""


def block_parameters() -> set[str]:
    return set(inspect.signature(eeamc.classifier.__init__).parameters)


def block_options(args: argparse.Namespace, config: GraphConfig) -> dict[str, Any]:
    """The classifier's keyword arguments for ``config``, or ValueError naming a parameter it lacks."""
    options, _ = REPORTINGS[config.reporting]
    options = dict(options)
    if args.max_batch:
        options["max_batch"] = args.max_batch
    options["precision"] = config.precision
    if config.adaptive:
        options["adaptive_exits"] = True
    missing = sorted(set(options) - block_parameters())
    if missing == ["precision"] and config.precision == "fp32":
        del options["precision"]  # a block from before precision runs fp32
        missing = []
    if missing:
        raise ValueError(f"not available: the classifier has no {', '.join(missing)} parameter")
    return options


def build_graph(
    args: argparse.Namespace, samples: np.ndarray, total: int, config: GraphConfig
) -> tuple[gr.top_block, Any]:
    """vector source (repeat) -> head(total) -> classifier or copy -> null sink; returns (graph, block)."""
    graph = gr.top_block()
    source = blocks.vector_source_c(samples.tolist(), True)
    head = blocks.head(gr.sizeof_gr_complex, total)
    if config.input_buffer_windows:
        head.set_min_output_buffer(config.input_buffer_windows * args.window_length)
    if config.reporting == "none (copy block)":
        block = blocks.copy(gr.sizeof_gr_complex)
    else:
        options = block_options(args, config)
        model = args.model_files.get(config.precision, args.model)
        block = eeamc.classifier(model=model, device=args.device, threshold=config.threshold, **options)
    graph.connect(source, head, block, blocks.null_sink(gr.sizeof_gr_complex))
    if REPORTINGS[config.reporting][1]:
        debug = blocks.message_debug()
        graph.msg_connect(block, "classification", debug, "store")
        graph._keep = debug  # the Python object must outlive the run
    return graph, block


def run_graph(args: argparse.Namespace, samples: np.ndarray, total: int, config: GraphConfig) -> float:
    """Samples/s of one run (construction and model loading excluded)."""
    graph, block = build_graph(args, samples, total, config)
    engine = getattr(block, "engine", None)
    config.result["block_precision"] = getattr(engine, "precision", "fp32") if engine else "-"
    start, cpu = time.perf_counter(), time.process_time()
    graph.run()
    # Samples per CPU-second of the whole process (every scheduler thread): steadier than wall time on a
    # shared machine, and no more than what an idle machine would run through.
    config.result.setdefault("cpu_samples_per_s", []).append(total / max(1e-9, time.process_time() - cpu))
    return total / (time.perf_counter() - start)


def bench_graph(
    args: argparse.Namespace, samples: np.ndarray, config: GraphConfig, window_length: int
) -> None:
    """Pilot run (warm-up, sizes the runs to --seconds), then the median of --repeats runs."""
    if config.reporting != "none (copy block)":
        try:
            block_options(args, config)
        except ValueError as error:
            config.not_available = str(error)
            print_graph_row(config)
            return
    pilot_samples = window_length * 2048
    try:
        pilot_rate = run_graph(args, samples, pilot_samples, config)
    except ValueError as error:  # e.g. precision int8 with a model file without int8 parameters
        config.not_available = f"not available: {error}"
        print_graph_row(config)
        return
    total = max(pilot_samples, int(pilot_rate * args.seconds / args.repeats))
    total -= total % window_length
    config.result["cpu_samples_per_s"] = []  # the pilot's is not kept
    median, rates = median_rate(lambda: run_graph(args, samples, total, config), args.repeats)
    config.result.update(
        {
            "samples_per_s": median,
            "cpu_samples_per_s_median": statistics.median(config.result["cpu_samples_per_s"]),
            "windows_per_s": median / window_length,
            "samples_per_run": total,
            "repeats_samples_per_s": rates,
            "keeps_up": {name: median >= rate for name, rate in RECEIVERS.items()},
        }
    )
    print_graph_row(config)


def graph_configs(
    model: Any, args: argparse.Namespace, sets: list[WindowSet], available: Sequence[str]
) -> list[GraphConfig]:
    """The floor; per precision, exits off and on with every reporting on the first group; (b) on the
    other groups (not with --quick); adaptive exits with (b) on the lowest-SNR group; and, without
    --quick, (b) with batches as large as the block allows. --quick measures fewer rows for a second
    precision."""
    off, early, adaptive = modes(model, args.threshold)
    configs = [GraphConfig(sets[0].name, "-", "none (copy block)")]
    window = "(b) tags+window messages"
    lowest = min(sets, key=lambda data: min(data.snrs))
    for index, precision in enumerate(available):
        # --quick: every reporting for the first precision; the early exit with (b) and (c) for the others.
        short = args.quick and index > 0
        for mode in (early,) if short else (off, early):
            for reporting in list(REPORTINGS)[2:4] if short else list(REPORTINGS)[1:]:
                configs.append(GraphConfig(sets[0].name, mode.name, reporting, mode.threshold, precision))
        for data in [] if args.quick else sets[1:]:
            configs += [GraphConfig(data.name, m.name, window, m.threshold, precision) for m in (off, early)]
        configs.append(GraphConfig(lowest.name, adaptive.name, window, adaptive.threshold, precision, True))
        if not args.quick:  # the input buffer holds 2 x max_batch windows
            big = 2 * block_max_batch(args)
            configs.append(
                GraphConfig(sets[0].name, early.name, window, early.threshold, precision, False, big)
            )
    return configs


def block_max_batch(args: argparse.Namespace) -> int:
    default = inspect.signature(eeamc.classifier.__init__).parameters["max_batch"].default
    return args.max_batch or default


def bench_flowgraphs(
    args: argparse.Namespace, model: Any, sets: list[WindowSet], available: Sequence[str]
) -> list[dict[str, Any]]:
    by_name = {data.name: data for data in sets}
    configs = graph_configs(model, args, sets, available)
    for config in configs:
        bench_graph(args, by_name[config.data].samples, config, model.input_length)
    return [asdict(config) for config in configs]


def block_goals(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 9's block goals on a 2-core machine: (b) >= 2.4 MS/s (an RTL-SDR, every window classified
    and reported) and (c) >= 10 MS/s, for the early exit with the default input buffer."""
    targets = {"(b) tags+window messages": 2.4e6, "(c) tags+batch messages": 10e6}
    goals = []
    for config in configs:
        rate = config["result"].get("samples_per_s")
        if (
            config["reporting"] in targets
            and rate
            and config["mode"].startswith("early")
            and not (config["adaptive"] or config["input_buffer_windows"])
        ):
            target = targets[config["reporting"]]
            goals.append(
                {
                    "precision": config["precision"],
                    "data": config["data"],
                    "reporting": config["reporting"],
                    "samples_per_s": rate,
                    "goal": target,
                    "met": rate >= target,
                }
            )
    return goals


# ---- profile -------------------------------------------------------------------------------------------

#: Breakdown rows: (name, how to find the function in the profile: file suffix, function name).
PROFILE_ROWS = (
    ("work() total (incl. gateway)", "gateway.py", "handle_general_work"),
    ("  frame (windows.frame)", "windows.py", "frame"),
    ("  valid_windows", "windows.py", "valid_windows"),
    ("  _classify: normalise + engine", "classifier.py", "_classify"),
    ("    engine.classify", "engine.py", "classify"),
    ("  upstream tags (UpstreamTags.read)", "running.py", "read"),
    ("  _report", "classifier.py", "_report"),
    ("    _report_in_cpp: eeamc_native call", "classifier.py", "_report_in_cpp"),
    ("      window_columns: rx metadata", "running.py", "window_columns"),
    ("    _tag_values: tag dicts", "classifier.py", "_tag_values"),
    ("    _message: window message dicts", "classifier.py", "_message"),
    ("    _batch: batch message", "classifier.py", "_batch"),
    ("    add_item_tag", "", "add_item_tag"),
    ("    message_port_pub", "", "message_port_pub"),
)


def profile_block(args: argparse.Namespace, model: Any, data: WindowSet, mode: Mode) -> dict[str, Any]:
    """cProfile the block's work() (it runs on a scheduler thread, so the profiler is switched on and off
    around each call in that thread) over one (b) run, tags and window messages; per-window
    microseconds by part."""
    windows = min(len(data.windows) * 4, 10_000 if args.quick else 40_000)
    config = GraphConfig(data.name, mode.name, "(b) tags+window messages", mode.threshold)
    graph, block = build_graph(args, data.samples, windows * model.input_length, config)
    profiler = cProfile.Profile()
    handle = block.handle_general_work

    def profiled(*work_args: Any) -> Any:
        profiler.enable()
        try:
            return handle(*work_args)
        finally:
            profiler.disable()

    block.handle_general_work = profiled
    start = time.perf_counter()
    graph.run()
    elapsed = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats
    rows = {}
    for name, suffix, function in PROFILE_ROWS:
        matches = [
            value
            for (file, _, func), value in stats.items()
            if file.endswith(suffix)
            and (func == function or func.endswith(f"'{function}'") or f".{function}" in func)
        ]
        calls = sum(m[1] for m in matches)
        cumulative = sum(m[3] for m in matches)
        rows[name] = {"calls": calls, "us_per_window": 1e6 * cumulative / windows}
    calls = rows["work() total (incl. gateway)"]["calls"]
    return {
        "data": data.name,
        "mode": mode.name,
        "windows": windows,
        "work_calls": calls,
        "windows_per_work_call": windows / max(1, calls),
        "wall_s": elapsed,
        "rows": rows,
    }


# ---- printing ------------------------------------------------------------------------------------------


def print_machine(info: dict[str, Any], model: Any, source: str, args: argparse.Namespace) -> None:
    print("== Machine")
    for key, value in info.items():
        print(f"  {key:24s} {value}")
    print("== Model")
    print(f"  file                     {model.path}")
    print(f"  exits                    {list(model.net.exit_points) or 'none (baseline)'} + backbone end")
    print(f"  calibrated thresholds    {fmt_thresholds(model.thresholds)}")
    print(f"  MACs per exit            {model.net.macs_per_exit()}")
    print(f"  provenance               {provenance_summary(model.provenance)}")
    print("== Data")
    print(f"  {source}")
    print(f"  groups: {args.snr_groups_names}; {args.windows} windows each")
    print(
        f"== Timing: median of {args.repeats} repeats, {args.seconds:g} s per figure, after a warm-up; "
        f"engine on the {args.clock} clock, block on the wall clock; load average "
        f"{info['load_average_1_5_15']} on {info['cores_available']} cores (other jobs make figures noisy)"
    )


def provenance_summary(provenance: dict[str, Any]) -> str:
    """Where the model came from, in one line (the full provenance goes to --json)."""
    dataset = provenance.get("dataset")
    if isinstance(dataset, dict):
        dataset = dataset.get("path", "?")
    keys = ("made_by", "arch", "epochs_run", "epochs", "val_accuracy", "seed")
    parts = {"dataset": dataset, **{k: provenance.get(k) for k in keys}}
    if "calibration" not in provenance:  # else the training's own note is stale: the model line says
        parts["thresholds"] = provenance.get("thresholds")
    if "shipped" in provenance:
        parts["shipped from"] = str(provenance["shipped"].get("source", "?")).split(" (")[0]
    rounded = {k: [round(x, 3) for x in v] if isinstance(v, list) else v for k, v in parts.items()}
    return ", ".join(f"{k} {v}" for k, v in rounded.items() if v is not None) or "none recorded"


def print_engine_row(row: dict[str, Any]) -> None:
    shares = " / ".join(f"{100 * s:.1f}%" for s in row["exit_share"])
    accuracy = f"{100 * row['accuracy']:.1f}%" if row["accuracy"] is not None else "n/a"
    ratios = row.get("vs_exits_off") or [None] * len(row["rates"])
    rates = "  ".join(
        f"b{r['batch']}: {r['windows_per_s']:>8,.0f}" + (f" ({x:.2f}x)" if x is not None else "")
        for r, x in zip(row["rates"], ratios)
    )
    skipped = f" skipped {row['skipped_exits']}" if row.get("skipped_exits") else ""
    if row.get("break_even_shares"):
        skipped += f" break-even {','.join(f'{share:.2f}' for share in row['break_even_shares'])}"
    print(
        f"  {row['precision']:4s} {row['data']:18s} {row['mode']:30s} exits {shares:14s} "
        f"MACs/win {row['mean_macs'] / 1e6:5.3f}M acc {accuracy:6s}{skipped} | windows/s {rates}"
    )


def print_graph_row(config: GraphConfig) -> None:
    buffer = f"{config.input_buffer_windows} win" if config.input_buffer_windows else "default"
    label = f"  {config.precision:4s} {config.data:18s} {config.mode:33s} {config.reporting:30s} {buffer:8s}"
    if config.not_available:
        print(f"{label} {config.not_available}")
        return
    result = config.result
    keeps = "  ".join(
        f"{name.split(' ')[0]}: {'yes' if result['samples_per_s'] >= rate else 'NO '} "
        f"({result['samples_per_s'] / rate:.2f}x)"
        for name, rate in RECEIVERS.items()
    )
    ran = result.get("block_precision", config.precision)
    note = f"  [the block ran {ran}]" if ran not in (config.precision, "-") else ""
    print(
        f"{label}{result['samples_per_s'] / 1e6:8.2f} MS/s {result['windows_per_s']:>10,.0f} windows/s  "
        f"(per CPU-s {result['cpu_samples_per_s_median'] / 1e6:6.2f} MS)  {keeps}{note}"
    )


def print_goals(engine: list[dict[str, Any]], block: list[dict[str, Any]], missing: dict[str, str]) -> None:
    print("== Goals of issue 9 against the figures above (informative: nothing is asserted)")
    for goal in engine:
        print(
            f"  engine {goal['precision']:4s} {goal['data']:18s} {goal['mode']:30s} b{goal['batch']}: "
            f"{goal['vs_exits_off']:.2f}x exits off (goal >= {goal['goal']}x: "
            f"{'met' if goal['met'] else 'NOT met'})"
        )
    for goal in block:
        print(
            f"  block  {goal['precision']:4s} {goal['data']:18s} {goal['reporting']:30s} "
            f"{goal['samples_per_s'] / 1e6:.2f} MS/s (goal >= {goal['goal'] / 1e6:g} MS/s: "
            f"{'met' if goal['met'] else 'NOT met'})"
        )
    for precision, reason in missing.items():
        print(f"  {precision}: not available ({reason})")


def print_profile(profile: dict[str, Any]) -> None:
    print(
        f"== Profile of work(): {profile['data']}, {profile['mode']}, (b) tags+window messages, "
        f"{profile['windows']} windows in {profile['work_calls']} work() calls "
        f"({profile['windows_per_work_call']:.1f} windows/call; "
        "cProfile inflates Python-heavy parts)"
    )
    total = profile["rows"]["work() total (incl. gateway)"]["us_per_window"] or 1.0
    for name, row in profile["rows"].items():
        print(
            f"  {name:40s} {row['us_per_window']:8.2f} us/window  {100 * row['us_per_window'] / total:5.1f}%"
        )


# ---- command line --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="", help="model file; empty = the shipped model")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="early-exit threshold for every exit (default: the model's)",
    )
    parser.add_argument(
        "--data",
        default="",
        help="dataset file (our HDF5, RML22/2016 pickle, RML2018 HDF5) instead of generating",
    )
    parser.add_argument(
        "--snr-groups",
        nargs="+",
        type=parse_snr_group,
        default=None,
        metavar="LOW:HIGH",
        help="SNR groups reported apart (default: 10:20 0:10 -10:0)",
    )
    parser.add_argument(
        "--windows", type=int, default=None, help="windows per SNR group (default 4096, quick 2048)"
    )
    parser.add_argument(
        "--batches",
        type=lambda s: [int(b) for b in s.split(",")],
        default=None,
        help="engine batch sizes (default 1,32,256,1024; quick 256)",
    )
    parser.add_argument(
        "--max-batch", type=int, default=None, help="the block's max_batch (default: the block's)"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="timed seconds per figure (default 2, quick 0.5)"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per figure (default 5, quick 3)"
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="time the engine by wall time (default) or by this process's CPU time (steadier where other "
        "jobs share the machine; use with --threads 1)",
    )
    parser.add_argument(
        "--int8-calibrate",
        action="store_true",
        help="where the model file has no int8 parameters, calibrate them on the benchmark's own windows "
        "(speed figures only: int8's accuracy and exit shares then differ from a checked model's)",
    )
    parser.add_argument("--quick", action="store_true", help="shorter measurements (under a minute)")
    parser.add_argument("--no-flowgraph", action="store_true", help="skip the block measurements")
    parser.add_argument("--no-profile", action="store_true", help="skip the work() profile")
    parser.add_argument(
        "--source-tree",
        action="store_true",
        help="measure this checkout's python/eeamc even where gnuradio.eeamc is installed",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data")
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="the generator's modulators with AWGN only (no channel impairments, nothing cached) instead of "
        "training.generate's data",
    )
    parser.add_argument(
        "--json",
        default="",
        metavar="OUT",
        help="also write every figure to this JSON file; 'auto' = reports/bench_classifier_<date>_<cpu>.json "
        "(or the first free ..._run<N>.json: never over an earlier run)",
    )
    args = parser.parse_args(argv)
    args.snr_groups = args.snr_groups or [parse_snr_group(g) for g in ("10:20", "0:10", "-10:0")]
    args.snr_groups_names = [group_name(g) for g in args.snr_groups]
    args.windows = args.windows or (2048 if args.quick else 4096)
    args.batches = args.batches or ([256] if args.quick else [1, 32, 256, 1024])
    args.seconds = args.seconds or (0.5 if args.quick else 2.0)
    args.repeats = args.repeats or (3 if args.quick else 5)
    return args


def load_model_or_exit(path: str) -> Any:
    try:
        return eeamc.load_model(path)
    except eeamc.ModelFileError as error:
        hint = (
            "the shipped model is not there yet: pass --model FILE (a model from `python -m training train`)"
            if not path
            else "pass --model with a gr-eeamc model file"
        )
        sys.exit(f"error: {error}\n{hint}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    use_eeamc(args.source_tree)
    try:
        return run(args)
    except (ValueError, OSError) as error:  # bad --data, --device, --threshold ...: one clear line
        print(f"error: {error}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    gr.logging().set_default_level(gr.log_levels.warn)  # set_min_output_buffer logs at info per block
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model_or_exit(args.model)
    args.model = model.path  # the block loads the very same file
    args.window_length = model.input_length
    device = eeamc.resolve_device(args.device)
    info = machine_info(device)
    source, sets = load_data(args, model)
    available, missing = precisions(model, device, sets if args.int8_calibrate else None)
    args.model_files = {name: opts["model_file"] for name, opts in available.items() if "model_file" in opts}
    print_machine(info, model, source, args)
    for precision, reason in missing.items():
        print(f"  {precision}: not available ({reason})")
    if "int8" in available:
        print(f"  int8 parameters: {int8_source(model, available)}")
    report: dict[str, Any] = {
        "machine": info,
        "model": {
            "path": model.path,
            "exits": list(model.net.exit_points),
            "thresholds": model.thresholds,
            "macs_per_exit": model.net.macs_per_exit(),
            "provenance": model.provenance,
            "int8_check": (getattr(model, "int8", None) or {}).get("check"),
        },
        "data": {"source": source, "groups": args.snr_groups_names, "windows_per_group": args.windows},
        "timing": {"seconds_per_figure": args.seconds, "repeats": args.repeats, "statistic": "median"},
        "not_available": missing,
        "int8_parameters": int8_source(model, available),
    }
    print(
        "== Engine (EarlyExitEngine.classify, windows already framed and normalised; modes interleaved; "
        "(Nx) = against exits off)"
    )
    report["timing"]["engine_clock"] = args.clock
    report["engine"] = bench_engine(args, model, sets, available)
    goal_batch = 256 if 256 in args.batches else args.batches[-1]
    report["goals"] = {"engine": engine_goals(report["engine"], goal_batch), "block": []}
    if not args.no_flowgraph:
        print(
            "== Block: vector source -> head -> classifier -> null sink, no throttle, report mode all; "
            "columns: precision, data, mode, reporting, classifier input buffer"
        )
        report["flowgraph"] = bench_flowgraphs(args, model, sets, list(available))
        report["goals"]["block"] = block_goals(report["flowgraph"])
    if not args.no_profile:
        try:
            report["profile"] = profile_block(args, model, sets[0], modes(model, args.threshold)[1])
            print_profile(report["profile"])
        except ValueError as error:  # a block without message_mode
            print(f"== Profile of work(): {error}")
    print_goals(report["goals"]["engine"], report["goals"]["block"], missing)
    if args.json:
        path = auto_json_path(info) if args.json == "auto" else Path(args.json)
        path.write_text(json.dumps(report, indent=2))
        print(f"== Figures written to {path}")
    return 0


def int8_source(model: Any, available: dict[str, dict[str, Any]]) -> str | None:
    """Where the int8 rows' parameters came from (None: no int8 rows)."""
    if "int8" not in available:
        return None
    if "model_file" in available["int8"]:
        return "calibrated by this benchmark on its own windows (--int8-calibrate), not checked"
    passed = ((getattr(model, "int8", None) or {}).get("check") or {}).get("passed")
    return f"the model file's (python -m training quantize; accuracy check passed: {passed})"


def auto_json_path(info: dict[str, Any]) -> Path:
    """reports/bench_classifier_<date>_<cpu model>_<cores>c.json (the name says when and on what), or
    the first free ..._run<N>.json after it: a run never overwrites the figures of an earlier one."""
    cpu = "".join(c if c.isalnum() else "-" for c in str(info["cpu"])).strip("-").lower()
    cpu = "-".join(part for part in cpu.split("-") if part) or "unknown-cpu"
    stem = f"bench_classifier_{info['date'][:10]}_{cpu}_{info['cores_available']}c"
    path, run = REPO / "reports" / f"{stem}.json", 1
    while path.exists():
        run += 1
        path = path.with_name(f"{stem}_run{run}.json")
    return path


if __name__ == "__main__":
    sys.exit(main())
