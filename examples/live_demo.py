#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live modulation classification with no radio: gr-eeamc's main demo.

Runs the flowgraph of live_demo.grc headless: ten modulations made by GNU Radio blocks (BPSK, QPSK, 8PSK,
QAM16, QAM64, PAM4 with RRC pulses; GFSK; CPFSK; WBFM and AM-DSB carrying speech and music), one picked
by a selector, through Rayleigh fading, a carrier frequency offset and noise at a set SNR, throttled to
--rate, into eeamc.classifier. Every --switch-every seconds the modulation, SNR and offset change (every
class in turn, in a seeded random order). Each second prints the truth, the majority prediction, the
share of windows at each exit and the windows per second; the end prints the accuracy against the truth,
the exit shares, and the classifier's throughput with and without early exits on a recording of the
stream (no throttle, same run). Windows at a switch are left out of the scores.

Without --model the shipped model is used.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import demo_stream
import numpy as np
from demo_stream import SELECTOR_ORDER, Segment, Truth, WindowResult

HIGH_SNR_DB = 10.0


# ---- command line ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="live_demo.py",
        description=__doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[1].replace("\n", " "),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the live run lasts")
    parser.add_argument("--switch-every", type=float, default=4.0, help="seconds between switches")
    parser.add_argument("--snrs", default="0,10,20", help="SNRs (dB) to cycle through, comma-separated")
    parser.add_argument(
        "--classes", default=",".join(SELECTOR_ORDER), help="modulations to cycle through, comma-separated"
    )
    parser.add_argument("--model", default="", help="model file; empty = the shipped model")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--threshold", type=float, default=-1.0, help="entropy threshold; -1 = the model's calibrated ones"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for inference (the flowgraph's blocks need CPU too)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the schedule and every random source")
    parser.add_argument("--rate", type=float, default=200e3, help="stream rate in samples/s (the throttle's)")
    parser.add_argument(
        "--high-snr",
        type=float,
        default=HIGH_SNR_DB,
        help="SNR (dB) from which the summary's high-SNR score counts",
    )
    parser.add_argument(
        "--bench-windows",
        type=int,
        default=20000,
        help="windows per throughput measurement at the end (0 = skip)",
    )
    parser.add_argument(
        "--json", type=Path, help="also write the summary (and every segment) to this JSON file"
    )
    parser.add_argument(
        "--zmq-address",
        default=flowgraph_default("zmq_address"),
        help="where the flowgraph publishes the classifications (ZMQ PUB, bound; "
        "python -m gnuradio.eeamc.listen ADDRESS shows them)",
    )
    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def flowgraph_default(name: str) -> Any:
    """The default of one of live_demo.grc's parameters, as grcc wrote it into the flowgraph."""
    return inspect.signature(demo_stream.flowgraph_class()).parameters[name].default


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        args.snr_list = [float(value) for value in args.snrs.split(",") if value.strip()]
    except ValueError:
        parser.error(f"--snrs must be numbers separated by commas, got {args.snrs!r}")
    args.class_list = [name.strip() for name in args.classes.split(",") if name.strip()]
    unknown = sorted(set(args.class_list) - set(SELECTOR_ORDER))
    if unknown:
        parser.error(f"--classes: unknown {unknown}; the flowgraph makes {', '.join(SELECTOR_ORDER)}")
    if not args.snr_list or not args.class_list:
        parser.error("--snrs and --classes need at least one value each")
    if args.seconds <= 0 or args.switch_every <= 0 or args.rate <= 0 or args.threads < 1:
        parser.error("--seconds, --switch-every, --rate and --threads must be positive")


# ---- the model ---------------------------------------------------------------------------------------------


def choose_model(args: argparse.Namespace) -> str:
    """The model file to run: --model, else the shipped one (a clear error if it is missing)."""
    if args.model:
        return args.model
    shipped = demo_stream.shipped_model_path()
    if not shipped.is_file():
        raise SystemExit(
            f"error: the shipped model {shipped} is missing: reinstall gr-eeamc (make setup), "
            "or give a model file with --model"
        )
    return str(shipped)


def describe_model(model: Any) -> str:
    exits = ", ".join(model.net.exit_points) or "no early exit"
    return (
        f"model {model.path}: early exit(s) after {exits}, {len(model.classes)} classes, "
        f"calibrated thresholds {format_thresholds(model.thresholds)}"
    )


# ---- results -----------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts over a set of windows."""

    windows: int = 0
    scored: int = 0
    correct: int = 0
    exits: Counter = field(default_factory=Counter)

    def add(self, result: WindowResult, segment: Segment | None, classes: list[str]) -> None:
        self.windows += 1
        self.exits[result.exit] += 1
        if segment is not None:
            self.scored += 1
            self.correct += int(
                0 <= result.label < len(classes) and classes[result.label] == segment.modulation
            )

    @property
    def accuracy(self) -> float:
        return self.correct / self.scored if self.scored else math.nan

    def exit_shares(self, num_exits: int) -> list[float]:
        return [self.exits[k] / self.windows if self.windows else 0.0 for k in range(num_exits)]


def exit_names(num_exits: int) -> list[str]:
    return [f"exit{k + 1}" for k in range(num_exits - 1)] + ["final"]


def format_shares(shares: list[float]) -> str:
    return " ".join(f"{name} {share:4.0%}" for name, share in zip(exit_names(len(shares)), shares))


def live_line(
    second: float,
    results: list[WindowResult],
    truth: Truth,
    classes: list[str],
    num_exits: int,
    elapsed: float,
) -> str:
    """One line: time, truth, majority prediction, its share right, exit shares, windows/s."""
    tally = Tally()
    segments = Counter()
    for result in results:
        segment = truth.segment_at(result.offset)
        tally.add(result, segment, classes)
        if segment is not None:
            segments[id(segment)] += 1
    current = next((s for s in reversed(truth.segments) if id(s) in segments), None)
    true_text = f"{current.modulation:>6} {current.snr_db:+4.0f} dB" if current else f"{'(switch)':>14}"
    labels = Counter(r.label for r in results)
    predicted = classes[labels.most_common(1)[0][0]] if labels and labels.most_common(1)[0][0] >= 0 else "-"
    right = f"{tally.accuracy:4.0%} right" if tally.scored else "  n/a    "
    switching = " *" if tally.scored < tally.windows else "  "
    return (
        f"{second:5.0f} s | true {true_text}{switching}| pred {predicted:>6} {right} | "
        f"{format_shares(tally.exit_shares(num_exits))} | {len(results) / elapsed:6.0f} win/s"
    )


# ---- the live run ------------------------------------------------------------------------------------------


def run_live(args: argparse.Namespace, flowgraph: Any, collector: Any, classes: list[str], num_exits: int):
    """Start, switch on schedule, print a line a second, stop; return every result and the truth."""
    count = max(1, math.ceil(args.seconds / args.switch_every))
    segments = demo_stream.plan_segments(
        count, args.class_list, args.snr_list, np.random.default_rng(args.seed)
    )
    truth = Truth(flowgraph.amc.window_length)
    results: list[WindowResult] = []
    flowgraph.start()
    started = time.monotonic()
    truth.switch(flowgraph, segments[0])
    switched, last_line = 1, started
    try:
        for second in range(1, math.ceil(args.seconds) + 1):
            deadline = started + min(second, args.seconds)
            while switched < count and started + switched * args.switch_every <= deadline:
                sleep_until(started + switched * args.switch_every)
                truth.switch(flowgraph, segments[switched])
                switched += 1
            sleep_until(deadline)
            fresh = collector.drain()
            now = time.monotonic()
            print(live_line(now - started, fresh, truth, classes, num_exits, now - last_line), flush=True)
            results.extend(fresh)
            last_line = now
    except KeyboardInterrupt:
        print("interrupted: the summary covers the run so far", flush=True)
    finally:
        flowgraph.stop()
        flowgraph.wait()
    results.extend(collector.drain())
    return results, truth, time.monotonic() - started


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


# ---- throughput: the same model, early exits on and off, on a recording of the stream ---------------------


def attach_recording(flowgraph: Any, path: Path, args: argparse.Namespace) -> None:
    """Keep a slice of every second of the classifier's input in a file, for the throughput check."""
    from gnuradio import blocks, gr

    per_second = flowgraph.amc.window_length * max(1, math.ceil(args.bench_windows / args.seconds))
    keep = blocks.keep_m_in_n(gr.sizeof_gr_complex, min(per_second, int(args.rate)), int(args.rate), 0)
    flowgraph.connect(flowgraph.throttle, keep, blocks.file_sink(gr.sizeof_gr_complex, str(path), False))


def measure_throughput(model_path: str, recording: Path, args: argparse.Namespace, threshold: float) -> float:
    """Windows/s of the classifier block on the recording (repeated to --bench-windows), no throttle."""
    from gnuradio import blocks, gr

    eeamc = demo_stream.import_eeamc()
    top = gr.top_block()
    source = blocks.file_source(gr.sizeof_gr_complex, str(recording), True)
    classifier = eeamc.classifier(model=model_path, device=args.device, threshold=threshold, report="all")
    head = blocks.head(gr.sizeof_gr_complex, args.bench_windows * classifier.window_length)
    top.connect(source, head, classifier, blocks.null_sink(gr.sizeof_gr_complex))
    started = time.perf_counter()
    top.run()
    return args.bench_windows / (time.perf_counter() - started)


def throughput(model_path: str, recording: Path, args: argparse.Namespace) -> dict[str, float] | None:
    """Best of two alternating runs each, early exits on (the run's threshold) and off (threshold 0)."""
    if args.bench_windows <= 0 or not recording.is_file() or recording.stat().st_size == 0:
        return None
    print(
        f"measuring throughput on {args.bench_windows} recorded windows, early exits on and off ...",
        flush=True,
    )
    on, off = [], []
    for _ in range(2):
        on.append(measure_throughput(model_path, recording, args, args.threshold))
        off.append(measure_throughput(model_path, recording, args, 0.0))
    return {
        "exits_on_windows_per_s": max(on),
        "exits_off_windows_per_s": max(off),
        "windows": args.bench_windows,
        "threads": args.threads,
    }


# ---- summary -----------------------------------------------------------------------------------------------


def score(results: list[WindowResult], truth: Truth, classes: list[str]) -> dict[str, Any]:
    """Tallies overall, per SNR, per class at high SNR and per segment."""
    overall, per_snr, per_segment = Tally(), {}, {}
    for result in results:
        segment = truth.segment_at(result.offset)
        overall.add(result, segment, classes)
        if segment is None:
            continue
        per_snr.setdefault(segment.snr_db, Tally()).add(result, segment, classes)
        per_segment.setdefault(id(segment), Tally()).add(result, segment, classes)
    return {"overall": overall, "per_snr": per_snr, "per_segment": per_segment}


def segment_majority_right(
    results: list[WindowResult], truth: Truth, classes: list[str]
) -> list[bool | None]:
    """Per segment: did most of its scored windows get its class (None when it has none)?"""
    votes: dict[int, Counter] = {}
    for result in results:
        segment = truth.segment_at(result.offset)
        if segment is not None:
            votes.setdefault(id(segment), Counter())[result.label] += 1
    verdicts = []
    for segment in truth.segments:
        counter = votes.get(id(segment))
        if not counter:
            verdicts.append(None)
            continue
        label = counter.most_common(1)[0][0]
        verdicts.append(0 <= label < len(classes) and classes[label] == segment.modulation)
    return verdicts


def build_summary(
    args: argparse.Namespace,
    results: list[WindowResult],
    truth: Truth,
    model: Any,
    seconds: float,
    speed: dict[str, float] | None,
    audio_origin: str,
) -> dict[str, Any]:
    classes = list(model.classes)
    num_exits = model.net.num_exits
    tallies = score(results, truth, classes)
    overall: Tally = tallies["overall"]
    high = Tally()
    per_class_high: dict[str, Tally] = {}
    for snr, tally in tallies["per_snr"].items():
        if snr >= args.high_snr:
            high.scored += tally.scored
            high.correct += tally.correct
    for result in results:
        segment = truth.segment_at(result.offset)
        if segment is not None and segment.snr_db >= args.high_snr:
            per_class_high.setdefault(segment.modulation, Tally()).add(result, segment, classes)
    shares = overall.exit_shares(num_exits)
    macs = model.net.macs_per_exit([t > 0 for t in effective_thresholds(model, args.threshold)])
    macs_off = model.net.macs_per_exit([False] * (num_exits - 1))[-1]
    mean_macs = float(np.dot(shares, macs)) if overall.windows else math.nan
    majority = segment_majority_right(results, truth, classes)
    return {
        "command": " ".join(sys.argv),
        "model": {"path": model.path, "exits": list(model.net.exit_points)},
        "thresholds": effective_thresholds(model, args.threshold),
        "audio": audio_origin,
        "rate": args.rate,
        "window_length": model.input_length,
        "seconds": round(seconds, 2),
        "seed": args.seed,
        "windows": overall.windows,
        "scored_windows": overall.scored,
        "accuracy": overall.accuracy,
        "high_snr_db": args.high_snr,
        "high_snr_windows": high.scored,
        "high_snr_accuracy": high.accuracy,
        "per_snr_accuracy": {str(snr): t.accuracy for snr, t in sorted(tallies["per_snr"].items())},
        "high_snr_per_class_accuracy": {name: t.accuracy for name, t in sorted(per_class_high.items())},
        "exit_share": shares,
        "macs_per_window": mean_macs,
        "exits_off_macs_per_window": macs_off,
        "segments_majority_right": sum(1 for v in majority if v),
        "segments_scored": sum(1 for v in majority if v is not None),
        "segments": [
            {**asdict(segment), "majority_right": verdict}
            for segment, verdict in zip(truth.segments, majority)
        ],
        "throughput": speed,
        "live_windows_per_s": overall.windows / seconds if seconds > 0 else math.nan,
    }


def format_thresholds(thresholds: list[float]) -> str:
    return "[" + ", ".join(f"{t:.3g}" for t in thresholds) + "]"


def effective_thresholds(model: Any, threshold: float) -> list[float]:
    count = model.net.num_exits - 1
    return list(model.thresholds) if threshold < 0 else [float(threshold)] * count


def print_summary(summary: dict[str, Any]) -> None:
    pct = lambda value: "n/a" if value is None or math.isnan(value) else f"{value:.1%}"  # noqa: E731
    left_out = summary["windows"] - summary["scored_windows"]
    lines = [
        "",
        "=" * 100,
        f"Summary: {summary['seconds']:.0f} s at {summary['rate'] / 1e3:g} kS/s, "
        f"{summary['windows']:,} windows classified, {summary['scored_windows']:,} scored "
        f"({left_out:,} at switches left out)",
        f"  model: {summary['model']['path']} "
        f"(exits {', '.join(summary['model']['exits']) or 'none'}; "
        f"thresholds {format_thresholds(summary['thresholds'])})",
        f"  accuracy: {pct(summary['accuracy'])} overall, {pct(summary['high_snr_accuracy'])} at SNR >= "
        f"{summary['high_snr_db']:g} dB; segments right by majority: {summary['segments_majority_right']}"
        f"/{summary['segments_scored']}",
        "  per SNR: "
        + ", ".join(f"{float(s):g} dB {pct(a)}" for s, a in summary["per_snr_accuracy"].items()),
        f"  per class at SNR >= {summary['high_snr_db']:g} dB: "
        + ", ".join(f"{name} {pct(a)}" for name, a in summary["high_snr_per_class_accuracy"].items()),
        f"  exits: {format_shares(summary['exit_share'])}; {summary['macs_per_window'] / 1e6:.2f} M MAC "
        f"per window = {summary['macs_per_window'] / summary['exits_off_macs_per_window']:.0%} of early "
        "exits off",
    ]
    speed = summary["throughput"]
    if speed:
        on, off = speed["exits_on_windows_per_s"], speed["exits_off_windows_per_s"]
        length = summary["window_length"]
        live = summary["live_windows_per_s"]
        lines += [
            f"  throughput of the block on {speed['windows']:,} recorded windows, no throttle, same model, "
            f"{speed['threads']} torch thread(s):",
            f"    early exits on : {on:9,.0f} windows/s = {on * length / 1e6:5.2f} MS/s",
            f"    early exits off: {off:9,.0f} windows/s = {off * length / 1e6:5.2f} MS/s   -> early exits "
            f"{on / off:.2f}x as fast",
            f"    the live stream needed {live:,.0f} windows/s: {on / live:.1f}x headroom with early "
            "exits on",
        ]
    lines.append("=" * 100)
    print("\n".join(lines), flush=True)


def without_nan(value: Any) -> Any:
    """The summary with NaN (nothing to score) as null, so the JSON file is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nan(item) for item in value]
    return value


# ---- main --------------------------------------------------------------------------------------------------


@dataclass
class Setup:
    """Everything a run needs, built before the clock starts."""

    model: Any
    model_path: str
    flowgraph: Any
    collector: Any
    recording: Path
    audio_origin: str


def prepare(args: argparse.Namespace, workdir: Path) -> Setup:
    """Audio, model and flowgraph with its message collector and recording tap."""
    eeamc = demo_stream.import_eeamc()
    eeamc.resolve_device(args.device)  # a bad --device fails now, not after the audio is made
    audio_file, audio_origin = demo_stream.make_audio(workdir, args.seed)
    print(f"audio for WBFM / AM-DSB: {audio_origin}", flush=True)
    model_path = choose_model(args)
    model = eeamc.load_model(model_path)
    print(describe_model(model), flush=True)
    flowgraph = demo_stream.flowgraph_class()(
        samp_rate=args.rate,
        model_path=model_path,
        device=args.device,
        threshold=args.threshold,
        audio_file=str(audio_file),
        seed=args.seed,
        zmq_address=args.zmq_address,
    )
    collector = demo_stream.make_collector()
    flowgraph.msg_connect((flowgraph.amc, "classification"), (collector, "in"))
    recording = workdir / "recorded.cfile"
    if args.bench_windows > 0:
        attach_recording(flowgraph, recording, args)
    return Setup(model, model_path, flowgraph, collector, recording, audio_origin)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from gnuradio import gr

    torch.set_num_threads(args.threads)
    gr.logging().set_default_level(gr.log_levels.warn)  # no per-block info lines between the live lines
    with demo_stream.temporary_directory() as folder:
        try:
            setup = prepare(args, Path(folder))
        except (ValueError, RuntimeError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(
            f"running {args.seconds:g} s at {args.rate / 1e3:g} kS/s, switching every "
            f"{args.switch_every:g} s (classes {','.join(args.class_list)}; SNRs {args.snrs} dB; "
            f"seed {args.seed}); device {setup.flowgraph.amc.engine.device}",
            flush=True,
        )
        classes, num_exits = list(setup.model.classes), setup.model.net.num_exits
        results, truth, seconds = run_live(args, setup.flowgraph, setup.collector, classes, num_exits)
        speed = throughput(setup.model_path, setup.recording, args)
    summary = build_summary(args, results, truth, setup.model, seconds, speed, setup.audio_origin)
    print_summary(summary)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(without_nan(summary), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
