# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shift one class's prior: add an offset, chosen on the validation split, to that class's logit at every
exit, folded into each exit's output bias (the engine and the blocks need nothing new).

Why: a window of pure noise looks exactly like a signal buried far below 0 dB, and training labels
such windows with their modulation. Left alone, the network names a modulation for many windows that
hold nothing (31 % of the noise windows of the robust validation split, for the model shipped before).
Raising the ``noise`` class's log-prior makes it say "noise" for those instead; the price is that
signals near 0 dB are sometimes called noise too, and below 0 dB that is the honest answer (issue 10).
The offset is chosen by a stated rule on the validation split only: the one that maximises accuracy
over the windows at or above --min-snr (noise windows included), with the early exits off; a tie goes
to the smaller offset.

The early-exit thresholds were fitted to the old outputs, so the command calibrates them again with the
model's recorded calibration settings (budget, high-SNR bound, objective) on the same split. An int8
section was calibrated on the old outputs too: it is dropped, and `python -m training quantize` adds a
new one. The record (offset, grid, rule, accuracies before and after, and every class's offset so far
under `totals`: runs add up) goes into the file's provenance under `class_offset`. When no offset above
0 helps, the file is left as it was.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from gnuradio.eeamc.model_file import Model, load_model, save_model_update
from gnuradio.eeamc.networks import shift_class_logit

from training.calibrate import add_model_update_options, calibrate_model
from training.datasets import load_split
from training.evaluate import command_line, percent
from training.outcomes import ExitOutputs, exit_outputs

#: Offsets tried unless told otherwise: 0 to 3 in steps of 0.05 (a log-prior of e^3 = 20x is far more
#: than the shipped model needed).
DEFAULT_OFFSETS = "0:3:0.05"


@dataclass
class ClassOffset:
    """The chosen offset and what it gives on the data it was chosen on (exits off)."""

    class_name: str
    offset: float
    min_snr_db: float
    accuracy_before: float  # at >= min_snr_db
    accuracy_after: float
    class_recall_before: float  # the class's own windows at every SNR
    class_recall_after: float
    called_class_before: float  # share of other classes' windows at >= min_snr_db called this class
    called_class_after: float
    offsets_tried: list[float]
    windows: int


def parse_offsets(text: str) -> list[float]:
    """'start:stop:step' (stop included) or a comma list; every offset >= 0."""
    try:
        if ":" in text:
            start, stop, step = (float(part) for part in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            values = list(np.round(np.arange(start, stop + step / 2, step), 6))
        else:
            values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"offsets {text!r}: give start:stop:step (e.g. 0:3:0.05) or a comma list") from None
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"offsets {text!r}: need at least one offset, each finite and >= 0")
    return [float(v) for v in values]


def final_log_probabilities(outputs: ExitOutputs) -> np.ndarray:
    """float64 [N, classes]: the last exit's log-probabilities (-inf where a probability underflowed)."""
    with np.errstate(divide="ignore"):
        return np.log(outputs.probabilities[-1].astype(np.float64))


def answers_with_offset(log_probabilities: np.ndarray, class_index: int, offset: float) -> np.ndarray:
    """The argmax after adding ``offset`` to one class's log-probability (= to its logit)."""
    shifted = log_probabilities.copy()
    shifted[:, class_index] += offset
    return shifted.argmax(axis=1)


def choose_offset(
    outputs: ExitOutputs, class_index: int, class_name: str, offsets: list[float], min_snr_db: float
) -> ClassOffset:
    """The offset with the highest exits-off accuracy over the windows at or above ``min_snr_db``."""
    log_p = final_log_probabilities(outputs)
    labels, high = outputs.labels, outputs.snrs >= min_snr_db
    if not high.any():
        raise ValueError(f"no window at or above {min_snr_db:g} dB: lower --min-snr or check the data")
    if not (labels == class_index).any():
        raise ValueError(f"the data hold no {class_name!r} window: the offset cannot be chosen on them")
    others_high = high & (labels != class_index)

    def measure(offset: float) -> tuple[float, float, float]:
        answers = answers_with_offset(log_p, class_index, offset)
        return (
            float((answers[high] == labels[high]).mean()),
            float((answers[labels == class_index] == class_index).mean()),
            float((answers[others_high] == class_index).mean()) if others_high.any() else 0.0,
        )

    scores = [measure(offset) for offset in offsets]
    best = max(range(len(offsets)), key=lambda i: (scores[i][0], -offsets[i]))
    (accuracy_before, recall_before, called_before), after = measure(0.0), scores[best]
    return ClassOffset(
        class_name=class_name,
        offset=offsets[best],
        min_snr_db=min_snr_db,
        accuracy_before=accuracy_before,
        accuracy_after=after[0],
        class_recall_before=recall_before,
        class_recall_after=after[1],
        called_class_before=called_before,
        called_class_after=after[2],
        offsets_tried=list(offsets),
        windows=len(outputs),
    )


def apply_offset(model: Model, result: ClassOffset, **context: Any) -> None:
    """Fold the offset into ``model``'s network and record it: this run, and every class's offset so far
    (``totals``, which earlier runs on this or other classes add to). The int8 section, calibrated on
    the old outputs, is dropped."""
    index = list(model.classes).index(result.class_name)
    shift_class_logit(model.net, index, result.offset)
    totals = class_offsets(model.provenance)
    totals[result.class_name] = totals.get(result.class_name, 0.0) + result.offset
    record = {
        **asdict(result),
        "total_offset": totals[result.class_name],
        "totals": totals,
        "rule": f"highest accuracy at >= {result.min_snr_db:g} dB, early exits off; ties: the smaller offset",
        **context,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    model.provenance = {**model.provenance, "class_offset": record}
    model.int8 = None


def class_offsets(provenance: dict[str, Any]) -> dict[str, float]:
    """Every class's log-prior offset so far, from a model's provenance (empty: none was ever raised)."""
    record = provenance.get("class_offset", {})
    if "totals" in record:
        return dict(record["totals"])
    if "class_name" in record:  # written before the record kept totals: one class
        return {record["class_name"]: record.get("total_offset", record.get("offset", 0.0))}
    return {}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file (.pt) to adjust")
    parser.add_argument("--data", required=True, help="dataset file the model was trained on")
    parser.add_argument("--class-name", "--class", default="noise", help="the class whose prior to raise")
    parser.add_argument(
        "--offsets",
        default=DEFAULT_OFFSETS,
        help="offsets to try: start:stop:step (stop included) or a comma list",
    )
    parser.add_argument(
        "--min-snr",
        type=float,
        default=0.0,
        help="the offset maximises accuracy over the windows at or above this SNR (dB)",
    )
    parser.add_argument(
        "--split", default="val", choices=("train", "val", "test", "all"), help="split to choose on"
    )
    add_model_update_options(parser, "the adjusted model")


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    if args.class_name not in model.classes:
        raise ValueError(f"class {args.class_name!r} is not one of the model's classes {list(model.classes)}")
    offsets = parse_offsets(args.offsets)
    dataset = load_split(
        args.data, args.split, seed=args.seed, classes=list(model.classes), length=model.input_length
    )
    outputs = exit_outputs(model, dataset, args.device, args.batch_size)
    index = list(model.classes).index(args.class_name)
    result = choose_offset(outputs, index, args.class_name, offsets, args.min_snr)
    if result.offset == 0:
        print_summary(result, model, args.split, None, False)
        return 0
    had_int8 = model.int8 is not None
    context = {
        "split": args.split,
        "data": str(args.data),
        "seed": args.seed,
        "command": command_line("prior", args),
    }
    apply_offset(model, result, **context)
    recalibrate(model, dataset, args.device, context)
    out = save_model_update(model, args.model, args.out)
    print_summary(result, model, args.split, str(out), had_int8)
    return 0


def recalibrate(model: Model, dataset, device: str, context: dict[str, Any]) -> None:
    """New thresholds for the shifted outputs, with the settings of the model's last calibration."""
    if not model.thresholds:
        return
    settings = model.provenance.get("calibration", {})
    calibrate_model(
        model,
        dataset,
        settings.get("budget_pp", 0.5),
        device,
        settings.get("objective", "exits"),
        high_snr_db=settings.get("high_snr_db", 10.0),
        **context,
    )


def print_summary(result: ClassOffset, model: Model, split: str, out: str | None, had_int8: bool) -> None:
    """What was chosen and what it changes; ``out`` None: no offset helps, nothing was written."""
    name, snr = result.class_name, f">= {result.min_snr_db:g} dB"
    print(
        f"{name} offset {result.offset:g} (of {len(result.offsets_tried)} tried) on {result.windows} {split} "
        f"windows, early exits off: accuracy at {snr} {percent(result.accuracy_before)} -> "
        f"{percent(result.accuracy_after)}; {name} windows recognised {percent(result.class_recall_before)} "
        f"-> {percent(result.class_recall_after)}; other windows at {snr} called {name} "
        f"{percent(result.called_class_before)} -> {percent(result.called_class_after)}"
    )
    if out is None:
        print(f"no offset above 0 helps: {name}'s prior stays, the model file is unchanged")
        return
    if model.thresholds:
        print(f"thresholds recalibrated: {[round(t, 6) for t in model.thresholds]}")
    if had_int8:
        print("the int8 section was dropped (fitted to the old outputs): run python -m training quantize")
    print(f"wrote {out}")
