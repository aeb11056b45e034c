#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Install the candidate scripts/choose_robust.sh chose as the shipped model (issue 10).

Reads reports/eval/choice/choice.json, copies its chosen model file to --out (models/eeamc.pt; the file
there is kept as <name>.bak) and records the choice in the file's provenance under 'shipped': the
source, the rule, every candidate's validation figures, the recipe and the date. The int8 section is
added afterwards by `python -m training quantize` (its check reads the test split), then
scripts/evaluate_shipped.sh measures the shipped file on the test sets once.
    .venv/bin/python scripts/ship_robust.py --recipe "INIT=... scripts/train_robust.sh"
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from gnuradio.eeamc.model_file import Model, load_model, save_model_over

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from training.prior import class_offsets  # noqa: E402

CHOICE = ROOT / "reports" / "eval" / "choice" / "choice.json"


def shipped_record(chosen: Model, choice: dict, recipe: str, note: str | None) -> dict:
    """The 'shipped' provenance entry for ``chosen``, the candidate ``choice`` names."""
    calibration = chosen.provenance.get("calibration", {})
    steps = [
        f"thresholds calibrated within {calibration.get('budget_pp')} pp"
        f" (also at >= {calibration.get('high_snr_db')} dB) by {calibration.get('command', 'calibrate')}"
    ]
    steps += [f"{name} prior +{total:g}" for name, total in class_offsets(chosen.provenance).items()]
    record = {
        "source": f"{choice['chosen']} ({'; '.join(steps)}; int8: python -m training quantize)",
        "reason": f"scripts/choose_robust.sh's rule ({choice['rule']}); reports/eval/choice/choice.json",
        "choice": {
            "rule": choice["rule"],
            "split": "val of data/robust.h5 (val_accuracy*) and of data/rml22.h5 (rml22_val_accuracy_0db)",
            "reference": choice.get("reference"),
            "reference_rml22_val_accuracy_0db": rounded(choice.get("reference_rml22_val_accuracy_0db")),
            "candidates": {
                row["model"]: {
                    key: rounded(row.get(key))
                    for key in ("val_accuracy", "val_accuracy_high_snr", "rml22_val_accuracy_0db")
                }
                for row in choice["candidates"]
            },
        },
        "recipe": recipe,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if note:
        record["choice"]["note"] = note
    return record


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--recipe", help="the commands that made the chosen candidate (required unless --restamp)"
    )
    parser.add_argument("--note", default=None, help="anything the choice's reader must know")
    parser.add_argument("--out", default=str(ROOT / "models" / "eeamc.pt"))
    parser.add_argument(
        "--restamp",
        action="store_true",
        help="rewrite only the 'shipped' record of --out from choice.json, keeping its weights, thresholds, "
        "int8 section and recorded recipe (the file is kept as <name>.bak)",
    )
    args = parser.parse_args()
    choice = json.loads(CHOICE.read_text())
    if args.restamp:
        model = load_model(args.out)
        recipe = args.recipe or model.provenance.get("shipped", {}).get("recipe")
        if recipe is None:
            parser.error(f"{args.out} has no recorded recipe: give --recipe")
    else:
        if not args.recipe:
            parser.error("--recipe is required")
        model, recipe = load_model(ROOT / choice["chosen"]), args.recipe
    model.provenance = {**model.provenance, "shipped": shipped_record(model, choice, recipe, args.note)}
    save_model_over(model, args.out)
    if args.restamp:
        print(f"rewrote the shipped record of {args.out}")
    else:
        print(
            f"wrote {args.out} from {choice['chosen']}; "
            f"next: python -m training quantize --model {args.out} --data data/robust.h5"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
