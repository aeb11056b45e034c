# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which network ships: the choice rule, applied to evaluation results (metrics.json as evaluate writes).

Among the early-exit networks whose test accuracy at their calibrated thresholds is within ``margin_pp``
percentage points of the baseline network's, overall and at >= 10 dB, those whose measured batched
speed-up (over the same backbone with its early exits off, timed in the same run) is within ``tolerance``
of the largest; of these, the most accurate. If no network is within the margin (or none has a measured
speed-up), the most accurate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The accuracies a candidate must keep within the margin of the baseline's.
ACCURACY_KEYS = ("accuracy", "accuracy_high_snr")


@dataclass(frozen=True)
class Choice:
    """The chosen network and the sets the rule went through (names as given in ``candidates``).

    ``arch`` is None when there was nothing to choose from. ``ties`` empty means the fallback (the most
    accurate of all candidates) decided; else ``fastest`` had the largest batched speed-up ``top`` and
    ``ties`` are the eligible networks within the tolerance of it.
    """

    arch: str | None
    margin_pp: float
    tolerance: float
    eligible: Sequence[str] = ()
    ties: Sequence[str] = ()
    fastest: str | None = None
    top: float | None = None
    accuracy: float | None = None

    def reason(self, labels: Mapping[str, str] | None = None) -> str:
        """The choice in one sentence (``labels``: names to print for the networks)."""
        name = (lambda arch: arch) if labels is None else (lambda arch: labels.get(arch, arch))
        if self.arch is None:
            return "no choice: the baseline's or every early-exit network's results are missing"
        if not self.ties:
            return (
                f"{name(self.arch)}: no early-exit network is within {self.margin_pp:g} pp of the baseline's "
                "test accuracy overall and at ≥ 10 dB with a measured speed-up, so the most accurate one "
                f"({percent(self.accuracy)})"
            )
        text = (
            f"{name(self.arch)}: the most accurate ({percent(self.accuracy)}) of "
            f"{', '.join(name(a) for a in self.ties)}, whose batched speed-ups are within {self.tolerance:g} "
            f"of the largest ({self.top:.2f}×, {name(self.fastest)}) among the early-exit networks within "
            f"{self.margin_pp:g} pp of the baseline's test accuracy overall and at ≥ 10 dB at their "
            "calibrated thresholds"
        )
        if self.top <= 1 + self.tolerance:
            text += "; none of them is measurably faster than the baseline network on this machine"
        return text


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


def batched_speedup(metrics: Mapping[str, Any]) -> float | None:
    """The measured batched speed-up of an evaluation, None where it was not timed."""
    return metrics.get("timing", {}).get("batched", {}).get("speedup")


def within_margin(metrics: Mapping[str, Any], baseline: Mapping[str, Any], margin_pp: float) -> bool:
    return all(metrics[key] >= baseline[key] - margin_pp / 100 for key in ACCURACY_KEYS)


def choose_network(
    baseline: Mapping[str, Any] | None,
    candidates: Mapping[str, Mapping[str, Any]],
    margin_pp: float = 1.0,
    tolerance: float = 0.05,
) -> Choice:
    """Apply the rule (module docstring) to the baseline's and the early-exit networks' test metrics at
    their calibrated thresholds. Speed-ups within ``tolerance`` are one speed: the timings scatter by
    that much (the same network at two thresholds that exit nearly the same windows measured up to 0.05
    apart)."""
    if not margin_pp >= 0 or not tolerance >= 0:
        raise ValueError(f"margin and tolerance must be >= 0, got {margin_pp} and {tolerance}")
    if baseline is None or not candidates:
        return Choice(None, margin_pp, tolerance)
    eligible = [arch for arch, metrics in candidates.items() if within_margin(metrics, baseline, margin_pp)]
    timed = [arch for arch in eligible if batched_speedup(candidates[arch]) is not None]
    if not timed:
        arch = max(candidates, key=lambda a: candidates[a]["accuracy"])
        return Choice(arch, margin_pp, tolerance, eligible, accuracy=candidates[arch]["accuracy"])
    fastest = max(timed, key=lambda a: batched_speedup(candidates[a]))
    top = batched_speedup(candidates[fastest])
    ties = [a for a in timed if batched_speedup(candidates[a]) >= top - tolerance]
    arch = max(ties, key=lambda a: candidates[a]["accuracy"])
    return Choice(arch, margin_pp, tolerance, eligible, ties, fastest, top, candidates[arch]["accuracy"])
