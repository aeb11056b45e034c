#!/usr/bin/env bash
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# Issue 10: the shipped model on the RML22-profile test split, the robust-profile test split (split by
# stream) and the independent check set (training/checkset.py, every window), per SNR, per class and per
# decision over N windows, beside the previous shipped model (the paper reproduction's V1 joint); then
# reports/shipped_model.md. Each test split is read here once. No timings (a loaded machine's are noise:
# `make bench` measures speed).
#   scripts/evaluate_shipped.sh [MODEL] [PREVIOUS] [EARLIER]   (defaults: models/eeamc.pt,
#       models/eeamc_rml22.pt, models/robust_v3/shipped_before_mix.pt; EARLIER "" leaves it out)
# PREVIOUS: the model the issue compares with (the paper reproduction's V1 joint); EARLIER (optional): the
# model shipped before this one (now models/robust_v3/shipped_before_mix.pt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
MODEL="${1:-models/eeamc.pt}"
PREVIOUS="${2:-models/eeamc_rml22.pt}"
EARLIER="${3-models/robust_v3/shipped_before_mix.pt}"  # "" for none
OUT=reports/eval/shipped
cd "$ROOT"
[[ -f data/rml22.h5 ]] || "$PYTHON" -m training generate --out data/rml22.h5 --quiet
[[ -f data/robust.h5 ]] || "$PYTHON" -m training generate --profile robust --out data/robust.h5 --quiet
[[ -f data/check.h5 ]] || "$PYTHON" -m training checkset --out data/check.h5 --per 1000 --snrs -20:20:2 --quiet
source scripts/evaluation_cache.sh
evaluate() {  # name model data split [options]: (re)run unless its metrics are newer and of this model
    local out="$OUT/$1"
    if stale_evaluation "$out" "$2" "$3"; then
        "$PYTHON" -m training evaluate --model "$2" --data "$3" --split "$4" --out "$out" --timing-repeats 0 \
            --threads 1 "${@:5}"
    fi
}
evals=()
evaluate_sets() {  # prefix label model [options]: the three test sets, each added to the summary
    evaluate "${1}rml22_test" "$3" data/rml22.h5 test "${@:4}"
    evaluate "${1}robust_test" "$3" data/robust.h5 test "${@:4}"
    evaluate "${1}check" "$3" data/check.h5 all "${@:4}"
    evals+=(--eval "${2}RML22 test=$OUT/${1}rml22_test" --eval "${2}robust test=$OUT/${1}robust_test"
            --eval "${2}check set=$OUT/${1}check")
}
evaluate_sets "" "" "$MODEL"
evaluate_sets previous_ "paper model, " "$PREVIOUS"
[[ -z "$EARLIER" ]] || evaluate_sets earlier_ "shipped before, " "$EARLIER"
has_int8() { "$PYTHON" -c "import sys; from gnuradio.eeamc.model_file import load_model; sys.exit(0 if load_model('$1').int8 else 1)"; }
if has_int8 "$MODEL"; then
    evaluate_sets int8_ "int8, " "$MODEL" --precision int8
fi
if has_int8 "$PREVIOUS"; then
    evaluate previous_int8_rml22_test "$PREVIOUS" data/rml22.h5 test --precision int8
    evals+=(--eval "paper model int8, RML22 test=$OUT/previous_int8_rml22_test")
fi
"$PYTHON" scripts/shipped_summary.py "${evals[@]}" --out reports/shipped_model.md
