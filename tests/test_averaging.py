# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""training.averaging: accuracy per decision over N windows of one stream, on data whose answer is known
by hand (independent errors, interleaved streams, short streams, a signal that changes class)."""

import itertools
import json
import math

import numpy as np
import pytest

from training.averaging import decision_accuracy, format_table

CLASSES = 4


def voting_windows(
    streams: int, per_stream: int, right: float, seed: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows whose answer is right with probability ``right``, errors independent and spread evenly
    over the other classes: each window gives 0.55 to the class it names and 0.15 to the others, so a
    mean of log-probabilities is a vote (the class named most often wins; ties to the lowest index)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(rng.integers(0, CLASSES, streams), per_stream)
    wrong = (y + rng.integers(1, CLASSES, len(y))) % CLASSES
    named = np.where(rng.random(len(y)) < right, y, wrong)
    probabilities = np.full((len(y), CLASSES), 0.15)
    probabilities[np.arange(len(y)), named] = 0.55
    stream = np.repeat(np.arange(streams), per_stream)
    return probabilities, y, np.full(len(y), 10), stream


def vote_bounds(n: int, right: float) -> tuple[float, float]:
    """P(the true class has strictly the most votes of n) and P(no class has more), by enumeration."""
    strict = tied = 0.0
    wrong = (1 - right) / (CLASSES - 1)
    for counts in itertools.product(range(n + 1), repeat=CLASSES):
        if sum(counts) != n:
            continue
        chance = math.factorial(n) / math.prod(math.factorial(c) for c in counts)
        chance *= right ** counts[0] * wrong ** (n - counts[0])
        others = max(counts[1:])
        strict += chance if counts[0] > others else 0.0
        tied += chance if counts[0] >= others else 0.0
    return strict, tied


def test_independent_errors_average_out_as_votes_do():
    data = voting_windows(streams=400, per_stream=32, right=0.6)
    result = decision_accuracy(*data, scheme="blocks")  # blocks: decisions independent, as the bounds
    per_window = result["per_n"]["1"]["accuracy"]
    assert per_window == pytest.approx(0.6, abs=0.02)
    for n in (4, 8, 16):
        entry = result["per_n"][str(n)]
        assert entry["decisions"] == 400 * (32 // n)
        strict, tied = vote_bounds(n, 0.6)
        slack = 3 * math.sqrt(tied * (1 - strict) / entry["decisions"])  # 3 sigma
        assert strict - slack <= entry["accuracy"] <= tied + slack, (n, strict, tied)
    # Far better than one window: the bounds for 8 are 0.86-0.94 (measured 0.902 with this seed).
    assert result["per_n"]["8"]["accuracy"] > per_window + 0.25


def test_sliding_counts_every_window_with_n_before_it():
    data = voting_windows(streams=50, per_stream=20, right=0.6)
    result = decision_accuracy(*data)
    assert result["scheme"] == "sliding"
    assert [result["per_n"][n]["decisions"] for n in ("1", "4", "8", "16")] == [1000, 850, 650, 250]
    assert result["per_n"]["16"]["accuracy"] > result["per_n"]["1"]["accuracy"] + 0.2


def test_streams_are_never_mixed_in_one_decision():
    # Two streams, windows interleaved in the file: each alone is always right, mixed they would tie.
    stream = np.tile([7, 3], 20)
    y = np.where(stream == 7, 0, 1)
    probabilities = np.where(y[:, None] == np.arange(2), 0.9, 0.1)
    result = decision_accuracy(probabilities, y, np.zeros(40), stream, n_values=(1, 4, 20))
    assert result["streams"] == 2
    assert [result["per_n"][n]["accuracy"] for n in ("1", "4", "20")] == [1.0, 1.0, 1.0]
    assert result["per_n"]["20"]["decisions"] == 2


def test_a_decision_uses_the_last_n_windows_of_its_stream():
    # One stream of class 0 whose first 4 windows look like class 1 (0.8), the next 4 like class 0 (0.9).
    probabilities = np.array([[0.2, 0.8]] * 4 + [[0.9, 0.1]] * 4)
    y, snr, stream = np.zeros(8, int), np.zeros(8), np.zeros(8, int)
    sliding = decision_accuracy(probabilities, y, snr, stream, n_values=(4,))["per_n"]["4"]
    # Windows 3..7: 4 x class 1 (wrong), 3 + 1 (wrong), 2 + 2 (0.9 x 0.2 > 0.8 x 0.1: right), right, right.
    assert (sliding["decisions"], sliding["accuracy"]) == (5, 3 / 5)
    blocks = decision_accuracy(probabilities, y, snr, stream, n_values=(4,), scheme="blocks")["per_n"]["4"]
    assert (blocks["decisions"], blocks["accuracy"]) == (2, 1 / 2)


def test_streams_shorter_than_n_make_no_decision():
    probabilities, y, snr, stream = voting_windows(streams=3, per_stream=5, right=1.0)
    result = decision_accuracy(probabilities, y, snr, stream, n_values=(1, 8))
    assert result["per_n"]["8"]["decisions"] == 0 and result["per_n"]["8"]["streams_counted"] == 0
    assert result["per_n"]["8"]["accuracy"] is None
    assert result["per_n"]["1"]["accuracy"] == 1.0
    assert "N=8" in format_table(result)


def test_per_snr_high_snr_and_one_window_decisions_are_per_window_accuracy():
    probabilities, y, _, stream = voting_windows(streams=60, per_stream=16, right=0.6)
    snr = np.where(stream % 3 == 0, 0, np.where(stream % 3 == 1, 10, 20))
    probabilities[snr == 20] = np.where(y[snr == 20, None] == np.arange(CLASSES), 0.7, 0.1)  # all right
    result = decision_accuracy(probabilities, y, snr, stream)
    single = result["per_n"]["1"]
    right = probabilities.argmax(axis=1) == y
    assert single["accuracy"] == right.mean()
    assert {key: entry["accuracy"] for key, entry in single["per_snr"].items()} == {
        str(value): right[snr == value].mean() for value in (0, 10, 20)
    }
    assert single["accuracy_high_snr"] == right[snr >= 10].mean()
    assert result["per_n"]["8"]["per_snr"]["20"]["accuracy"] == 1.0
    json.dumps(result)  # plain JSON types, ready for metrics.json


def test_the_table_shows_every_snr_and_n():
    result = decision_accuracy(*voting_windows(streams=20, per_stream=16, right=0.6))
    table = format_table(result).splitlines()
    assert table[1].split() == ["SNR", "N=1", "N=4", "N=8", "N=16"]
    assert [line.split()[0] for line in table[2:]] == ["10", "overall", ">=", "decisions"]
    overall = table[3].split()[1::2]
    assert overall == [f"{100 * result['per_n'][n]['accuracy']:.1f}" for n in ("1", "4", "8", "16")]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"y": np.array([0, 1, 1, 1])}, "stream 0 holds windows of classes"),
        ({"snr": np.zeros(3)}, "snr must have one entry per window"),
        ({"probabilities": np.ones(4) / 2}, r"\[windows, classes\]"),
        ({"probabilities": np.full((4, 2), np.nan)}, "NaN"),
        ({"n_values": (0, 4)}, "n_values"),
        ({"scheme": "overlapping"}, "scheme must be one of"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(change, words):
    arguments = {
        "probabilities": np.full((4, 2), 0.5),
        "y": np.zeros(4, int),
        "snr": np.zeros(4),
        "stream": np.array([0, 0, 1, 1]),
        **change,
    }
    with pytest.raises(ValueError, match=words):
        decision_accuracy(**arguments)
