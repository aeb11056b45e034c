# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""training.selection: the rule that picks the shipped network, on small hand-made metrics."""

import pytest

from training.selection import Choice, choose_network

BASELINE = {"accuracy": 0.60, "accuracy_high_snr": 0.90}


def metrics(offset: float, speedup: float | None, high_offset: float | None = None) -> dict:
    """Metrics ``offset`` from the baseline's accuracy (at >= 10 dB too, or ``high_offset``), with a
    batched speed-up (None: not timed)."""
    result = {
        "accuracy": BASELINE["accuracy"] + offset,
        "accuracy_high_snr": BASELINE["accuracy_high_snr"] + (offset if high_offset is None else high_offset),
    }
    if speedup is not None:
        result["timing"] = {"batched": {"speedup": speedup}, "batch1": {"speedup": 1.0}}
    return result


def test_the_fastest_network_within_the_margin():
    candidates = {
        "v2": metrics(-0.005, 1.5),
        "v3": metrics(-0.009, 1.2),
        "v0": metrics(-0.02, 3.0),  # the fastest, but 2 pp less accurate
        "v1": metrics(-0.03, 2.0),
    }
    choice = choose_network(BASELINE, candidates, margin_pp=1.0)
    assert (choice.arch, list(choice.eligible), list(choice.ties)) == ("v2", ["v2", "v3"], ["v2"])
    assert choose_network(BASELINE, candidates, margin_pp=2.5).arch == "v0"


def test_none_within_the_margin_gives_the_most_accurate():
    candidates = {"v0": metrics(-0.02, 3.0), "v1": metrics(-0.015, 2.0), "v2": metrics(-0.03, 1.5)}
    choice = choose_network(BASELINE, candidates, margin_pp=0.1)
    assert choice.arch == "v1" and not choice.eligible and not choice.ties
    assert choice.reason().startswith("v1: no early-exit network is within 0.1 pp")


def test_the_accuracy_at_high_snr_counts_too():
    candidates = {"v3": metrics(-0.005, 1.3, -0.02), "v2": metrics(-0.005, 1.1)}
    assert choose_network(BASELINE, candidates, margin_pp=1.0).arch == "v2"  # v3 loses 2 pp at >= 10 dB


def test_speed_ups_within_the_tolerance_go_to_the_most_accurate():
    candidates = {"v2": metrics(-0.008, 1.10), "v3": metrics(0.002, 1.07), "v0": metrics(0.004, 1.02)}
    choice = choose_network(BASELINE, candidates, margin_pp=1.0, tolerance=0.05)
    assert choice.arch == "v3" and list(choice.ties) == ["v2", "v3"]  # v0 is 0.08 slower: not a tie
    assert (choice.fastest, choice.top) == ("v2", 1.10)
    labels = {"v2": "V2", "v3": "V3"}
    assert "V3: the most accurate (60.20 %) of V2, V3" in choice.reason(labels)
    assert "not measurably faster" not in choice.reason(labels)
    assert choose_network(BASELINE, candidates, margin_pp=1.0, tolerance=0.01).arch == "v2"


def test_untimed_networks_are_never_the_fastest():
    candidates = {"v1": metrics(0.0, None), "v2": metrics(-0.005, 1.02)}
    choice = choose_network(BASELINE, candidates, margin_pp=1.0)
    assert choice.arch == "v2"
    assert choice.reason().endswith(
        "none of them is measurably faster than the baseline network on this machine"
    )
    # Nothing timed at all: the most accurate.
    assert choose_network(BASELINE, {"v1": metrics(0.0, None)}, margin_pp=1.0).arch == "v1"


def test_nothing_to_choose_from():
    assert choose_network(None, {"v1": metrics(0.0, 1.5)}) == Choice(None, 1.0, 0.05)
    assert choose_network(BASELINE, {}).reason().startswith("no choice")


@pytest.mark.parametrize("margin, tolerance", [(-1.0, 0.05), (1.0, float("nan"))])
def test_bad_settings_are_refused(margin, tolerance):
    with pytest.raises(ValueError, match="margin and tolerance must be >= 0"):
        choose_network(BASELINE, {"v1": metrics(0.0, 1.5)}, margin, tolerance)
