# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m gnuradio.eeamc info [MODEL]``: what a model file holds, for people (text) or tools (--json).

It prints the model's input contract (what the stream must look like), its classes in order, its exits
with their cost, the calibrated thresholds, the parameter count, its int8 parameters' accuracy check
(when the file has them), the file's SHA-256 and its provenance.
The text form summarises nested provenance (long lists and deep dicts) so that it stays readable;
``--json`` gives everything, the provenance in full.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .model_file import VERSION, Model, ModelFileError, default_model_path, load_model
from .networks import STAGE_NAMES, count_parameters
from .quantization import percent

HELP = "print a model file's input contract, classes, exits, thresholds and provenance"
DESCRIPTION = (
    "Print what a gr-eeamc model file holds: its input contract (sample rate, samples per symbol, "
    "symbol rate, roll-off, occupied bandwidth, carrier offsets, window length, normalisation), its "
    "classes in output order, its exits with their cost in MAC per window, the calibrated early-exit "
    "thresholds, the parameter count, the int8 parameters' accuracy check (python -m training quantize), "
    "the file's SHA-256 and how it was made (provenance). "
    "Exit status 2 if the file cannot be used."
)

#: What each normalisation does to a window, in words.
NORMALIZATION_WORDS = {
    "l1": "each window divided by sum|x|",
    "l2": "each window scaled to unit energy",
    "none": "windows used as they come",
}
#: A provenance dict with more entries than this is printed as one wrapped key=value paragraph.
LONG_DICT = 12
#: Lists longer than this are shown by their length and first and last items.
LONG_LIST = 8
WIDTH = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        nargs="?",
        default="",
        metavar="MODEL",
        help=f"a gr-eeamc model file (.pt); default: the shipped model ({default_model_path()})",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (the provenance in full) instead of text"
    )


def run(args: argparse.Namespace) -> int:
    """Print the model's description; exit status 2 (and one line on stderr) for a file that is unusable."""
    try:
        model = load_model(args.model or None)
    except ModelFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    description = describe(model)
    print(json.dumps(description, indent=2, default=str) if args.json else render(description))
    return 0


# ---- the description (one dict; text and JSON both come from it) ---------------------------------------


def describe(model: Model) -> dict[str, Any]:
    path = Path(model.path) if model.path else default_model_path()
    data = path.read_bytes()
    return {
        "path": str(path),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "format_version": VERSION,
        "contract": model.contract_summary(),
        "classes": list(model.classes),
        "exits": exits(model),
        "thresholds": list(model.thresholds),
        "parameters": count_parameters(model.net),
        "int8": model.int8,
        "provenance": model.provenance,
    }


def exits(model: Model) -> list[dict[str, Any]]:
    """Each exit: the backbone stage it taps, its calibrated threshold (early exits), the MAC a window
    costs when it leaves there (the backbone so far plus every exit classifier it ran)."""
    net = model.net
    stages = [*net.exit_points, STAGE_NAMES[-1]]
    macs = net.macs_per_exit()
    return [
        {
            "index": index,
            "stage": stage,
            "kind": "early" if index < len(net.exit_points) else "final",
            "macs_per_window": macs[index],
            "threshold": model.thresholds[index] if index < len(model.thresholds) else None,
        }
        for index, stage in enumerate(stages)
    ]


# ---- text ------------------------------------------------------------------------------------------------


def render(description: Mapping[str, Any]) -> str:
    contract = description["contract"]
    lines = [
        f"model file   {description['path']}",
        f"sha256       {description['sha256']}",
        f"size         {description['bytes']:,} bytes (format version {description['format_version']})",
        "",
        "input contract (what the stream must look like)",
        *rows(contract_rows(contract), indent=2),
        "",
        f"classes ({len(description['classes'])}, in output order)",
        *wrap(", ".join(f"{i} {name}" for i, name in enumerate(description["classes"])), indent=2),
        "",
        f"exits ({len(description['exits'])})",
        *(exit_line(entry) for entry in description["exits"]),
        "",
        f"thresholds   {format_list(description['thresholds']) or 'none (no early exit)'}"
        + (
            " (log10 entropy; a window leaves at an early exit below its threshold)"
            if description["thresholds"]
            else ""
        ),
        f"parameters   {description['parameters']:,}",
        *int8_lines(description["int8"]),
        "",
        "provenance",
        *provenance_lines(description["provenance"]),
    ]
    return "\n".join(lines)


def contract_rows(contract: Mapping[str, Any]) -> list[tuple[str, str]]:
    normalization = contract["normalization"]
    return [
        ("sample rate", f"{contract['sample_rate']:,.1f} S/s"),
        ("samples per symbol", f"{contract['samples_per_symbol']:g}"),
        ("symbol rate", f"{contract['symbol_rate']:,.1f} symbols/s"),
        ("roll-off", f"{contract['rolloff']:g} (root raised cosine)"),
        ("occupied bandwidth", f"{contract['occupied_bandwidth']:,.1f} Hz"),
        ("carrier offsets", f"up to ±{contract['max_carrier_offset']:g} Hz"),
        ("window", f"{contract['window_length']} samples ({contract['window_seconds'] * 1e3:.2f} ms)"),
        ("normalisation", f"{normalization} ({NORMALIZATION_WORDS.get(normalization, '?')})"),
    ]


def exit_line(entry: Mapping[str, Any]) -> str:
    where = "early exit" if entry["kind"] == "early" else "end of backbone"
    threshold = f", threshold {entry['threshold']:.4g}" if entry["threshold"] is not None else ""
    return (
        f"  {entry['index']}  {entry['stage']:<6} {where:<15}  "
        f"{entry['macs_per_window']:>11,} MAC per window leaving here{threshold}"
    )


def int8_lines(section: Mapping[str, Any] | None) -> list[str]:
    """The int8 section in three lines: where it was calibrated, what the test split gave, the verdict."""
    if not section:
        return ["int8         none (fp32 only; python -m training quantize adds int8 parameters)"]
    params, check = section.get("params", {}), section.get("check", {})
    if not check:
        return [f"int8         calibrated on {params.get('windows')} windows, not checked"]
    high = check.get("high_snr_db")
    return [
        f"int8         calibrated on {params.get('windows')} {check.get('calibration_split')} windows of "
        f"{check.get('data')}",
        f"             test split ({check.get('windows')} windows): accuracy fp32 "
        f"{percent(check.get('fp32_accuracy'))}, int8 {percent(check.get('int8_accuracy'))}; at >= {high} dB "
        f"fp32 {percent(check.get('fp32_accuracy_high_snr'))}, "
        f"int8 {percent(check.get('int8_accuracy_high_snr'))}",
        f"             agreement {percent(check.get('agreement'))}; within {check.get('tolerance_pp')} pp: "
        f"{'passed' if check.get('passed') else 'FAILED'}",
    ]


def rows(pairs: list[tuple[str, str]], indent: int) -> list[str]:
    width = max(len(name) for name, _ in pairs)
    return [f"{' ' * indent}{name:<{width}}  {value}" for name, value in pairs]


def wrap(text: str, indent: int) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2))


def provenance_lines(provenance: Mapping[str, Any]) -> list[str]:
    """Top-level entries one a line; a nested dict's entries below it (a long one as a wrapped
    paragraph); anything deeper only counted (``--json`` has it all)."""
    if not provenance:
        return ["  (none recorded)"]
    lines = []
    for key, value in provenance.items():
        if isinstance(value, Mapping) and value:
            lines.append(f"  {key}:")
            if len(value) > LONG_DICT:
                lines += wrap(", ".join(f"{k}={brief(v)}" for k, v in value.items()), indent=4)
            else:
                lines += [line for k, v in value.items() for line in wrap(f"{k}: {brief(v)}", indent=4)]
        else:
            lines += wrap(f"{key}: {brief(value)}", indent=2)
    return lines


def brief(value: Any) -> str:
    """A value in a few words: numbers to 4 significant digits, long lists by length and ends, nested
    dicts by their size."""
    if isinstance(value, Mapping):
        return f"{{{len(value)} entries}}" if value else "{}"
    if isinstance(value, (list, tuple)):
        if len(value) > LONG_LIST:
            return f"[{brief(value[0])}, ..., {brief(value[-1])}] ({len(value)} items)"
        return format_list(value, brackets=True)
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def format_list(values: list[Any], brackets: bool = False) -> str:
    text = ", ".join(brief(v) for v in values)
    return f"[{text}]" if brackets else text
