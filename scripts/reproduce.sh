#!/usr/bin/env bash
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# Reproduces the paper's experiments end to end on our RML22 reproduction, and is safe to run again: every
# step that is already done is skipped (and said so), an interrupted training resumes from its checkpoint.
#   1. dataset     python -m training generate            (skipped when the file exists)
#   2. training    python -m training train, per network  (skipped when the model file exists; --resume
#                  when only its checkpoint does; left alone while another process is training it)
#   3. evaluation  python -m training evaluate, per network and threshold, on the test split (skipped when
#                  metrics.json is newer than the model file)
#   4. report      scripts/make_report.py: results.md and figures (networks without a model are listed as
#                  missing); a full run also copies the chosen network to models/eeamc_rml22.pt
#
# Full run: data/rml22.h5, models/rml22_<arch>.pt, models/checkpoints/<arch>.ckpt (committed while a network
# is unfinished, so a later session or clone resumes it), reports/training/<arch>.log.jsonl,
# reports/eval/<arch>/T<t>/, reports/results.md, reports/figures/. --quick: a small dataset
# (data/rml22_quick.h5, 60 windows per class and SNR), 2 epochs in batches of 100, short timings, the rest under
# runs/quick/ so that the committed results are never overwritten.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="$ROOT/.venv/bin/python"
# The paper's five networks, then two it does not have: V1 trained with the joint scheme, and a cascade with
# two early exits (V1's and V3's branch points).
ALL_ARCHS="baseline v0 v1 v2 v3 v1_joint v1_v3"
# Thresholds each early-exit network is evaluated at: cal = its own calibrated thresholds; 0.35, 0.6 and
# 0.05 are the paper's (figures 4 to 6).
THRESHOLDS=(cal 0.35 0.6 0.05)
# The training recipe (why it is not the authors' 50 epochs at lr 1e-4: see the report).
TRAIN_ARGS=(--lr 2e-3 --lr-schedule onecycle --threads 1)
EPOCHS=10
# Networks trained at the same time, one torch thread each: two side by side on two cores take about as
# long per epoch as one alone, so the default is one job per core, at most two (each holds the training
# set in memory, about 1 GB).
JOBS=$(($(nproc) >= 2 ? 2 : 1))
EVAL_ARGS=(--split test)
EVAL_THREADS=1

usage() {
    cat <<EOF
usage: scripts/reproduce.sh [--quick] [--archs "NAMES"] [--no-train | --train-only] [--jobs N] [--ship ARCH] [--eval-threads N]

Regenerates the dataset, trains the baseline and the early-exit networks V0..V3 (and, beyond the paper,
V1 with the joint scheme, v1_joint, and a cascade with V1's and V3's exits, v1_v3), evaluates them at the
calibrated thresholds and at T = 0.35, 0.6 and 0.05, and writes reports/results.md with its figures.
Steps already done are skipped; an interrupted training resumes.

  --quick           small dataset, 2 epochs, short timings; outputs under runs/quick/ (a few minutes;
                    the committed results are left alone)
  --archs "A B"     networks to train and evaluate (default: "$ALL_ARCHS"); the report always covers all
                    of them and lists the ones without a model as missing
  --no-train        train nothing: evaluate and report the models that exist
  --train-only      train, then stop: no evaluation, no report (e.g. to train in the background now and
                    evaluate later on an idle machine, where the timings are clean)
  --jobs N          networks trained at the same time, one torch thread each (default: $JOBS); with
                    more than one, each training's output goes to runs/<name>.train.out
  --ship ARCH       ship this network as models/eeamc_rml22.pt whatever the choice rule says (e.g. while
                    other networks are still training); the report says it was chosen by hand
  --eval-threads N  torch CPU threads for evaluation and its timings (default: $EVAL_THREADS)
EOF
}

# Training arguments that say what network NAME is (models/rml22_NAME.pt).
network_args() {
    case "$1" in
    v1_joint) echo --arch v1 --scheme joint ;;
    v1_v3) echo --arch conv2,conv5 ;;
    *) echo --arch "$1" ;;
    esac
}

say() { printf '[reproduce] %s\n' "$*"; }
die() {
    printf '[reproduce] error: %s\n' "$*" >&2
    exit 1
}

duration() {
    local seconds="$1"
    printf '%dh %02dm %02ds' $((seconds / 3600)) $((seconds % 3600 / 60)) $((seconds % 60))
}

# Runs one command, printing it first and how long it took after.
step() {
    local started=$SECONDS
    say "\$ $*"
    "$@"
    say "done in $(duration $((SECONDS - started)))"
}

# PIDs of other processes running `python -m training COMMAND ... --out PATH`: their output must not be
# written to by a second process at the same time.
running_elsewhere() {
    local command="$1" path="$2"
    pgrep -f -- "-m training $command .*--out ([^ ]*/)?$path( |\$)" || true
}

# How this run was started, for the report.
INVOCATION="scripts/reproduce.sh$(printf ' %q' "$@")"
QUICK=0
ARCHS="$ALL_ARCHS"
TRAIN=1
EVALUATE=1
SHIP_ARCH=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --archs)
        [ $# -ge 2 ] || die "--archs needs a value, e.g. --archs \"baseline v1\""
        ARCHS="$2"
        shift
        ;;
    --no-train) TRAIN=0 ;;
    --train-only) EVALUATE=0 ;;
    --ship)
        [ $# -ge 2 ] || die "--ship needs a network, e.g. --ship v1"
        SHIP_ARCH="$2"
        shift
        ;;
    --eval-threads)
        [ $# -ge 2 ] || die "--eval-threads needs a number"
        EVAL_THREADS="$2"
        shift
        ;;
    --jobs)
        [ $# -ge 2 ] || die "--jobs needs a number"
        JOBS="$2"
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown option '$1' (see scripts/reproduce.sh --help)" ;;
    esac
    shift
done
for arch in $ARCHS; do
    case " $ALL_ARCHS " in
    *" $arch "*) ;;
    *) die "unknown network '$arch' in --archs: choose from $ALL_ARCHS" ;;
    esac
done
[ "$TRAIN" -eq 1 ] || [ "$EVALUATE" -eq 1 ] || die "--no-train and --train-only together leave nothing to do"
[[ "$EVAL_THREADS" =~ ^[1-9][0-9]*$ ]] || die "--eval-threads must be a positive whole number, got '$EVAL_THREADS'"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive whole number, got '$JOBS'"
[ -x "$PYTHON" ] || die "$PYTHON not found: run 'make setup' (scripts/setup.sh) first"

if [ "$QUICK" -eq 1 ]; then
    DATA=data/rml22_quick.h5
    GENERATE_ARGS=(--per 60)
    MODELS=runs/quick/models
    CHECKPOINTS=runs/quick/train
    LOGS=runs/quick/training
    EVALS=runs/quick/eval
    REPORT=runs/quick
    OUTPUTS=runs/quick
    EPOCHS=2
    # Batches of 100: two epochs of a small set in batches of 500 are too few steps to learn anything.
    TRAIN_ARGS+=(--batch-size 100)
    EVAL_ARGS+=(--timing-repeats 1 --timing-windows 20 --no-plots)
    REPORT_ARGS=(--quick)
else
    DATA=data/rml22.h5
    GENERATE_ARGS=()
    MODELS=models
    CHECKPOINTS=models/checkpoints
    LOGS=reports/training
    EVALS=reports/eval
    REPORT=reports
    OUTPUTS=runs
    REPORT_ARGS=(--ship-to models/eeamc_rml22.pt ${SHIP_ARCH:+--ship-arch "$SHIP_ARCH"})
fi
EVAL_ARGS+=(--threads "$EVAL_THREADS")

cd "$ROOT"
say "$([ "$QUICK" -eq 1 ] && echo quick || echo full) run of: $ARCHS (started $(date -u +%FT%TZ) on $(nproc) cores)"

generate_dataset() {
    if [ -f "$DATA" ]; then
        say "skip generate: $DATA exists (delete it to regenerate)"
        return
    fi
    local pids
    pids="$(running_elsewhere generate "$DATA")"
    [ -z "$pids" ] || die "$DATA is being generated by process(es) $(echo $pids): wait for it, then run again"
    step "$PYTHON" -m training generate --out "$DATA" "${GENERATE_ARGS[@]}"
}

# Trains one network unless its model file exists or another process is training it right now.
train_network() {
    local arch="$1"
    local model="$MODELS/rml22_$arch.pt" checkpoint="$CHECKPOINTS/$arch.ckpt" log="$LOGS/$arch.log.jsonl"
    if [ -f "$model" ]; then
        say "skip train $arch: $model exists"
        return
    fi
    local pids
    pids="$(running_elsewhere train "$model")"
    if [ -n "$pids" ]; then
        say "skip train $arch: process(es) $(echo $pids) are training it; the report lists it as missing"
        return
    fi
    if [ "$TRAIN" -eq 0 ]; then
        say "skip train $arch: --no-train; the report lists it as missing"
        return
    fi
    local resume=()
    if [ -f "$checkpoint" ]; then
        resume=(--resume)
        say "train $arch: resuming from $checkpoint"
    fi
    mkdir -p "$MODELS" "$CHECKPOINTS" "$LOGS"
    # shellcheck disable=SC2046 # network_args prints separate words on purpose
    step "$PYTHON" -m training train --data "$DATA" $(network_args "$arch") --out "$model" --checkpoint "$checkpoint" \
        --log "$log" "${TRAIN_ARGS[@]}" --epochs "$EPOCHS" "${resume[@]}"
}

# Evaluates one network at one threshold ("cal": its calibrated thresholds; "": the baseline, no exits).
evaluate_network() {
    local arch="$1" threshold="$2" out="$3"
    local model="$MODELS/rml22_$arch.pt"
    if [ "$out/metrics.json" -nt "$model" ]; then
        say "skip evaluate $arch${threshold:+ at T=$threshold}: $out/metrics.json is newer than $model"
        return
    fi
    local threshold_args=()
    case "$threshold" in
    "" | cal) ;;
    *) threshold_args=(--threshold "$threshold") ;;
    esac
    step "$PYTHON" -m training evaluate --model "$model" --data "$DATA" --out "$out" "${EVAL_ARGS[@]}" \
        "${threshold_args[@]}"
}

evaluate_all() {
    local arch threshold
    for arch in $ARCHS; do
        if [ ! -f "$MODELS/rml22_$arch.pt" ]; then
            say "skip evaluate $arch: no $MODELS/rml22_$arch.pt yet"
            continue
        fi
        if [ -n "$(running_elsewhere train "$MODELS/rml22_$arch.pt")" ]; then
            say "skip evaluate $arch: its training is still running (it writes the model at the end)"
            continue
        fi
        if [ "$arch" = baseline ]; then
            evaluate_network baseline "" "$EVALS/baseline"
            continue
        fi
        for threshold in "${THRESHOLDS[@]}"; do
            evaluate_network "$arch" "$threshold" "$EVALS/$arch/T$threshold"
        done
    done
}

# Trains every network, up to JOBS at a time; stops at the first that fails (the others finish first).
train_all() {
    local arch running=0 failed=0
    mkdir -p "$OUTPUTS"
    for arch in $ARCHS; do
        if [ "$JOBS" -eq 1 ] || [ "$TRAIN" -eq 0 ] || [ -f "$MODELS/rml22_$arch.pt" ]; then
            train_network "$arch" # in the foreground: it trains alone or only says why it is skipped
            continue
        fi
        say "train $arch in the background (output: $OUTPUTS/$arch.train.out)"
        train_network "$arch" >"$OUTPUTS/$arch.train.out" 2>&1 &
        running=$((running + 1))
        if [ "$running" -ge "$JOBS" ]; then
            wait -n || failed=1
            running=$((running - 1))
            [ "$failed" -eq 0 ] || break
        fi
    done
    while [ "$running" -gt 0 ]; do
        wait -n || failed=1
        running=$((running - 1))
    done
    [ "$failed" -eq 0 ] || die "a training failed: see $OUTPUTS/*.train.out"
}

generate_dataset
train_all
if [ "$EVALUATE" -eq 0 ]; then
    say "--train-only: evaluation and report skipped; total run time: $(duration $SECONDS)"
    exit 0
fi
evaluate_all
step "$PYTHON" scripts/make_report.py --data "$DATA" --models "$MODELS" --logs "$LOGS" --evals "$EVALS" \
    --out "$REPORT" --command "$INVOCATION" "${REPORT_ARGS[@]}"
say "total run time: $(duration $SECONDS)"
