#!/usr/bin/env bash
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 10: choose the shipped model among robust-profile candidates on the VALIDATION split of
# data/robust.h5 (the test splits are read once, afterwards, by scripts/evaluate_shipped.sh). Rule: the
# highest validation accuracy at the candidate's calibrated thresholds; a tie within 0.1 pp goes to the
# higher accuracy at >= 10 dB. Writes reports/eval/choice/<name>/ per candidate and
# reports/eval/choice/choice.json, and prints the chosen file.
#   scripts/choose_robust.sh MODEL [MODEL ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
OUT=reports/eval/choice
cd "$ROOT"
[[ $# -ge 1 ]] || { echo "usage: scripts/choose_robust.sh MODEL [MODEL ...]" >&2; exit 2; }
for model in "$@"; do
    out="$OUT/$(basename "$model" .pt)"
    if [[ ! -f "$out/metrics.json" || "$model" -nt "$out/metrics.json" ]]; then
        "$PYTHON" -m training evaluate --model "$model" --data data/robust.h5 --split val --out "$out" \
            --timing-repeats 0 --threads 1 --no-plots >&2
    fi
done
"$PYTHON" - "$OUT" "$@" <<'PY'
import json, sys
from pathlib import Path

out, models = Path(sys.argv[1]), sys.argv[2:]
rows = []
for model in models:
    metrics = json.loads((out / Path(model).stem / "metrics.json").read_text())
    rows.append({"model": model, "val_accuracy": metrics["accuracy"], "val_accuracy_high_snr": metrics["accuracy_high_snr"]})
best = max(row["val_accuracy"] for row in rows)
tied = [row for row in rows if row["val_accuracy"] >= best - 0.001]
chosen = max(tied, key=lambda row: row["val_accuracy_high_snr"])
rule = "highest validation accuracy at calibrated thresholds; ties within 0.1 pp: higher at >= 10 dB"
(out / "choice.json").write_text(json.dumps({"rule": rule, "candidates": rows, "chosen": chosen["model"]}, indent=2) + "\n")
for row in rows:
    mark = "*" if row is chosen else " "
    print(f"{mark} {row['model']}: val {100 * row['val_accuracy']:.2f} %, >= 10 dB {100 * row['val_accuracy_high_snr']:.2f} %", file=sys.stderr)
print(chosen["model"])
PY
