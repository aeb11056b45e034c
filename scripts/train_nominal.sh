#!/usr/bin/env bash
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 10: does RML22's nominal SNR explain why our reproduction scores lower than the authors?
# Generates the dataset with --nominal-snr (the signal as the modulators made it, as RML22 did), trains
# the baseline and V1 on it with the reproduction's recipe (scripts/reproduce.sh: 10 epochs, one-cycle to
# 2e-3, the paper's per-window split) and evaluates them on its test split into reports/eval/nominal/.
# Safe to rerun: finished steps are skipped, an interrupted training resumes from its checkpoint.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="$ROOT/.venv/bin/python"
DATA="$ROOT/data/rml22_nominal.h5"
TRAIN_ARGS=(--lr 2e-3 --lr-schedule onecycle --threads 1 --epochs 10)
cd "$ROOT"
[[ -f "$DATA" ]] || "$PYTHON" -m training generate --nominal-snr --out "$DATA" --quiet
mkdir -p models/nominal models/checkpoints reports/training/nominal reports/eval/nominal
for arch in ${ARCHS:-baseline v1}; do
    model="models/nominal/rml22_nominal_$arch.pt"
    checkpoint="models/checkpoints/nominal_$arch.ckpt"
    if [[ ! -f "$model" ]]; then
        resume=()
        [[ -f "$checkpoint" ]] && resume=(--resume)
        "$PYTHON" -m training train --data "$DATA" --arch "$arch" --out "$model" --checkpoint "$checkpoint" \
            --log "reports/training/nominal/$arch.log.jsonl" "${TRAIN_ARGS[@]}" "${resume[@]}"
    fi
    out="reports/eval/nominal/$arch"
    if [[ ! -f "$out/metrics.json" || "$model" -nt "$out/metrics.json" ]]; then
        "$PYTHON" -m training evaluate --model "$model" --data "$DATA" --out "$out" --split test --threads 1
    fi
done
