# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Accuracy numbers of an outcome, overall and per SNR: accuracy, the early exits' accuracy, the share of
windows leaving at each exit, MACs per window, confusion matrices and a threshold sweep (what
metrics.json holds besides timings and provenance)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from training.outcomes import ExitOutputs, Outcome, derive_outcome

#: SNRs at or above this (dB) make the "high SNR" confusion matrix and accuracy, as in the paper's table.
HIGH_SNR_DB = 10


def ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def summarize(outcome: Outcome, labels: np.ndarray, num_exits: int) -> dict[str, Any]:
    """Accuracy, exit shares, accuracy per exit and mean MACs of one set of windows."""
    correct = outcome.label == labels
    count = len(labels)
    per_exit = [outcome.exit == k for k in range(num_exits)]
    early = outcome.exit < num_exits - 1
    return {
        "windows": int(count),
        "accuracy": ratio(correct.sum(), count),
        "exit_share": [ratio(m.sum(), count) for m in per_exit],
        "early_exit_share": ratio(early.sum(), count),
        # Accuracy of the windows that left at each exit (None where none left there).
        "exit_accuracy": [ratio((correct & m).sum(), m.sum()) for m in per_exit],
        "early_exit_accuracy": [ratio((correct & m).sum(), m.sum()) for m in per_exit[:-1]],
        "early_exits_accuracy": ratio((correct & early).sum(), early.sum()),
        "macs_per_window": ratio(outcome.macs.sum(), count),
    }


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> list[list[int]]:
    """Counts [true class][predicted class]."""
    matrix = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return matrix.reshape(num_classes, num_classes).astype(int).tolist()


def snr_key(snr: int) -> str:
    return str(int(snr))


def accuracy_metrics(
    outputs: ExitOutputs,
    thresholds: Sequence[float],
    num_classes: int,
    high_snr_db: int = HIGH_SNR_DB,
) -> dict[str, Any]:
    """Overall and per-SNR summaries at ``thresholds`` and with early exits off, plus confusion matrices."""
    outcome = derive_outcome(outputs, thresholds)
    exits_off = derive_outcome(outputs, 0.0)
    exits = outputs.num_exits
    metrics = summarize(outcome, outputs.labels, exits)
    baseline = summarize(exits_off, outputs.labels, exits)
    metrics["exits_off_accuracy"] = baseline["accuracy"]
    metrics["exits_off_macs_per_window"] = baseline["macs_per_window"]
    high = outputs.snrs >= high_snr_db
    metrics["high_snr_db"] = high_snr_db
    metrics["accuracy_high_snr"] = ratio((outcome.label == outputs.labels)[high].sum(), high.sum())
    per_snr, confusion_per_snr = {}, {}
    for snr in np.unique(outputs.snrs):
        mask = outputs.snrs == snr
        part = Outcome(outcome.label[mask], outcome.exit[mask], outcome.macs[mask])
        entry = summarize(part, outputs.labels[mask], exits)
        entry["exits_off_accuracy"] = ratio((exits_off.label == outputs.labels)[mask].sum(), mask.sum())
        per_snr[snr_key(snr)] = entry
        confusion_per_snr[snr_key(snr)] = confusion_matrix(
            outputs.labels[mask], outcome.label[mask], num_classes
        )
    metrics["per_snr"] = per_snr
    metrics["confusion"] = {
        "rows": "true class",
        "columns": "predicted class",
        "overall": confusion_matrix(outputs.labels, outcome.label, num_classes),
        "high_snr": confusion_matrix(outputs.labels[high], outcome.label[high], num_classes),
        "per_snr": confusion_per_snr,
    }
    return metrics


def threshold_sweep(outputs: ExitOutputs, thresholds: Sequence[float]) -> list[dict[str, Any]]:
    """Accuracy, exit shares and MACs for each threshold (the same value at every early exit)."""
    exits = outputs.num_exits
    rows = []
    for threshold in thresholds:
        outcome = derive_outcome(outputs, float(threshold))
        row = {
            "threshold": float(threshold),
            **summarize(outcome, outputs.labels, exits),
        }
        correct = outcome.label == outputs.labels
        row["per_snr"] = {
            snr_key(snr): {
                "accuracy": ratio(correct[outputs.snrs == snr].sum(), (outputs.snrs == snr).sum()),
                "early_exit_share": ratio(
                    (outcome.exit[outputs.snrs == snr] < exits - 1).sum(),
                    (outputs.snrs == snr).sum(),
                ),
            }
            for snr in np.unique(outputs.snrs)
        }
        rows.append(row)
    return rows
