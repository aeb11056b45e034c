#!/usr/bin/env bash
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 10: the shipped model on the RML22-profile test split, the robust-profile test split (split by
# stream) and the independent check set (training/checkset.py, every window), per SNR, per class and per
# decision over N windows, beside the previous shipped model (the paper reproduction's V1 joint); then
# reports/shipped_model.md. Each test split is read here once. No timings (a loaded machine's are noise:
# `make bench` measures speed).
#   scripts/evaluate_shipped.sh [MODEL] [PREVIOUS] [EARLIER]
# PREVIOUS: the model the issue compares with (the paper reproduction's V1 joint); EARLIER (optional): a
# model shipped in between (the one trained on version 2 of the robust profile).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
MODEL="${1:-models/eeamc.pt}"
PREVIOUS="${2:-models/eeamc_rml22.pt}"
EARLIER="${3:-}"
OUT=reports/eval/shipped
cd "$ROOT"
[[ -f data/rml22.h5 ]] || "$PYTHON" -m training generate --out data/rml22.h5 --quiet
[[ -f data/robust.h5 ]] || "$PYTHON" -m training generate --profile robust --out data/robust.h5 --quiet
[[ -f data/check.h5 ]] || "$PYTHON" -m training checkset --out data/check.h5 --per 1000 --snrs -20:20:2 --quiet
evaluate() {  # name model data split [options]
    local out="$OUT/$1"
    if [[ ! -f "$out/metrics.json" || "$2" -nt "$out/metrics.json" || "$3" -nt "$out/metrics.json" ]]; then
        "$PYTHON" -m training evaluate --model "$2" --data "$3" --split "$4" --out "$out" --timing-repeats 0 \
            --threads 1 "${@:5}"
    fi
}
evaluate rml22_test "$MODEL" data/rml22.h5 test
evaluate robust_test "$MODEL" data/robust.h5 test
evaluate check "$MODEL" data/check.h5 all
evaluate previous_rml22_test "$PREVIOUS" data/rml22.h5 test
evaluate previous_robust_test "$PREVIOUS" data/robust.h5 test
evaluate previous_check "$PREVIOUS" data/check.h5 all
evals=(--eval "RML22 test=$OUT/rml22_test" --eval "robust test=$OUT/robust_test" --eval "check set=$OUT/check"
       --eval "previous, RML22 test=$OUT/previous_rml22_test" --eval "previous, robust test=$OUT/previous_robust_test"
       --eval "previous, check set=$OUT/previous_check")
if [[ -n "$EARLIER" ]]; then
    evaluate earlier_rml22_test "$EARLIER" data/rml22.h5 test
    evaluate earlier_robust_test "$EARLIER" data/robust.h5 test
    evaluate earlier_check "$EARLIER" data/check.h5 all
    evals+=(--eval "earlier, RML22 test=$OUT/earlier_rml22_test" --eval "earlier, robust test=$OUT/earlier_robust_test"
            --eval "earlier, check set=$OUT/earlier_check")
fi
has_int8() { "$PYTHON" -c "import sys; from gnuradio.eeamc.model_file import load_model; sys.exit(0 if load_model('$1').int8 else 1)"; }
if has_int8 "$MODEL"; then
    evaluate int8_rml22_test "$MODEL" data/rml22.h5 test --precision int8
    evaluate int8_robust_test "$MODEL" data/robust.h5 test --precision int8
    evaluate int8_check "$MODEL" data/check.h5 all --precision int8
    evals+=(--eval "int8, RML22 test=$OUT/int8_rml22_test" --eval "int8, robust test=$OUT/int8_robust_test"
            --eval "int8, check set=$OUT/int8_check")
fi
if has_int8 "$PREVIOUS"; then
    evaluate previous_int8_rml22_test "$PREVIOUS" data/rml22.h5 test --precision int8
    evals+=(--eval "previous int8, RML22 test=$OUT/previous_int8_rml22_test")
fi
"$PYTHON" scripts/shipped_summary.py "${evals[@]}" --out reports/shipped_model.md
