#!/usr/bin/env bash
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 10: choose the shipped model among robust-profile candidates on VALIDATION splits only (the test
# splits are read once, afterwards, by scripts/evaluate_shipped.sh). Each candidate is evaluated on the
# validation split of data/robust.h5 and of data/rml22.h5, the paper model (REFERENCE) on the latter.
# Rule: the issue's RML22 goal checked on validation first: candidates whose RML22 validation accuracy at
# >= 0 dB is no worse than the paper model's; among them (or among all, when none is), the highest robust
# validation accuracy at the candidate's calibrated thresholds, a tie within 0.1 pp going to the higher
# accuracy at >= 10 dB. Writes reports/eval/choice/<name>/ (robust) and <name>_rml22/ per candidate and
# reports/eval/choice/choice.json, and prints the chosen file.
#   scripts/choose_robust.sh MODEL [MODEL ...]        (REFERENCE=models/eeamc_rml22.pt by default)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
REFERENCE="${REFERENCE:-models/eeamc_rml22.pt}"
OUT=reports/eval/choice
cd "$ROOT"
[[ $# -ge 1 ]] || { echo "usage: scripts/choose_robust.sh MODEL [MODEL ...]" >&2; exit 2; }
source scripts/evaluation_cache.sh
evaluate_val() {  # model data out: the validation split, unless already measured for this model and data
    if stale_evaluation "$3" "$1" "$2"; then
        "$PYTHON" -m training evaluate --model "$1" --data "$2" --split val --out "$3" \
            --timing-repeats 0 --threads 1 --no-plots >&2
    fi
}
evaluate_val "$REFERENCE" data/rml22.h5 "$OUT/reference_$(basename "$REFERENCE" .pt)_rml22"
for model in "$@"; do
    evaluate_val "$model" data/robust.h5 "$OUT/$(basename "$model" .pt)"
    evaluate_val "$model" data/rml22.h5 "$OUT/$(basename "$model" .pt)_rml22"
done
"$PYTHON" - "$OUT" "$REFERENCE" "$@" <<'PY'
import json, sys
from pathlib import Path

sys.path.insert(0, "scripts")
from shipped_summary import weighted

out, reference, models = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
read = lambda name: json.loads((out / name / "metrics.json").read_text())
goal = weighted(read(f"reference_{Path(reference).stem}_rml22")["per_snr"], 0)
rows = []
for model in models:
    robust, rml22 = read(Path(model).stem), read(f"{Path(model).stem}_rml22")
    rows.append({"model": model, "val_accuracy": robust["accuracy"], "val_accuracy_high_snr": robust["accuracy_high_snr"],
                 "rml22_val_accuracy_0db": weighted(rml22["per_snr"], 0)})
meeting = [row for row in rows if goal is not None and (row["rml22_val_accuracy_0db"] or 0.0) >= goal]
pool = meeting or rows
best = max(row["val_accuracy"] for row in pool)
tied = [row for row in pool if row["val_accuracy"] >= best - 0.001]
chosen = max(tied, key=lambda row: row["val_accuracy_high_snr"])
rule = ("candidates whose RML22 validation accuracy at >= 0 dB is no worse than the reference's (all when none is); "
        "among them the highest robust validation accuracy at calibrated thresholds; ties within 0.1 pp: higher at >= 10 dB")
(out / "choice.json").write_text(json.dumps({"rule": rule, "reference": reference, "reference_rml22_val_accuracy_0db": goal,
                                             "candidates": rows, "chosen": chosen["model"]}, indent=2) + "\n")
print(f"  reference {reference}: RML22 val >= 0 dB {100 * (goal or 0):.2f} %" + ("" if meeting else "; no candidate reaches it"), file=sys.stderr)
for row in rows:
    mark = "*" if row is chosen else " "
    print(f"{mark} {row['model']}: robust val {100 * row['val_accuracy']:.2f} %, >= 10 dB {100 * row['val_accuracy_high_snr']:.2f} %, "
          f"RML22 val >= 0 dB {100 * (row['rml22_val_accuracy_0db'] or 0):.2f} %", file=sys.stderr)
print(chosen["model"])
PY
