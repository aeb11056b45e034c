# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced by scripts/choose_robust.sh and scripts/evaluate_shipped.sh (needs $PYTHON): whether a
# `python -m training evaluate` result can be reused.
#   stale_evaluation OUT MODEL DATA   succeeds (evaluate again) unless OUT/metrics.json exists, is newer
#                                     than MODEL and DATA, and measured MODEL (the same path)
stale_evaluation() {
    [[ ! -f "$1/metrics.json" || "$2" -nt "$1/metrics.json" || "$3" -nt "$1/metrics.json" ]] && return 0
    [[ "$("$PYTHON" -c "import json, sys; print(json.load(open(sys.argv[1]))['model']['path'])" \
        "$1/metrics.json")" != "$2" ]]
}
