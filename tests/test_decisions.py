# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""DecisionAverager: decisions over several windows of one signal (mean log-probabilities), hysteresis for
``change`` reports, per-signal state, and average=1 being today's per-window behaviour exactly."""

import numpy as np
import pytest
from gnuradio.eeamc.decisions import DEFAULT_HYSTERESIS, UNDECIDED, DecisionAverager
from gnuradio.eeamc.reports import UNCLASSIFIABLE


def random_windows(count: int, classes: int = 5, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet probability rows (float32, as the engine gives them) and a few unclassified windows."""
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.full(classes, 0.5), size=count).astype(np.float32)
    classified = rng.random(count) > 0.1
    return probabilities, classified


def test_average_one_is_todays_per_window_behaviour():
    probabilities, classified = random_windows(300)
    probabilities[5] = [0.0, 1.0, 0.0, 0.0, 0.0]  # zeros and a certain window pass through unchanged
    decisions = DecisionAverager(5).update(probabilities, classified)
    assert np.array_equal(decisions.label, np.where(classified, probabilities.argmax(axis=1), UNCLASSIFIABLE))
    assert np.array_equal(decisions.probabilities[classified], probabilities[classified])
    assert not decisions.probabilities[~classified].any()
    assert np.array_equal(decisions.confidence, np.where(classified, probabilities.max(axis=1), 0.0))
    # The blocks' change rule: the label differs from the previous window's (the first is a change).
    labels = decisions.label.tolist()
    assert decisions.changed.tolist() == [i == 0 or labels[i] != labels[i - 1] for i in range(len(labels))]
    assert decisions.changed.sum() < len(decisions)  # a repeated label is no change: the test can fail
    assert np.array_equal(decisions.held, decisions.label)


def test_a_signals_first_window_decides_alone_with_its_own_probabilities():
    probabilities, classified = random_windows(3)
    decisions = DecisionAverager(5, average=8).update(probabilities[:1], np.array([True]))
    assert np.array_equal(decisions.probabilities[0], probabilities[0])
    assert decisions.label[0] == probabilities[0].argmax() and decisions.changed[0]


def test_decision_is_the_argmax_of_mean_log_probabilities():
    averager = DecisionAverager(2, average=2, hysteresis=0)
    decisions = averager.update(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([True, True]))
    # By hand: geometric means sqrt(0.18) : sqrt(0.08) = 1.5 : 1, so 0.6 / 0.4 (the arithmetic mean
    # would be 0.55 / 0.45).
    assert decisions.label.tolist() == [0, 0]
    np.testing.assert_allclose(decisions.probabilities[1], [0.6, 0.4], rtol=1e-12)
    assert decisions.confidence[1] == pytest.approx(0.6, rel=1e-12)
    assert decisions.windows.tolist() == [1, 2]


def test_the_average_slides_over_the_last_n_windows():
    a, b = [0.7, 0.3], [0.1, 0.9]
    decisions = DecisionAverager(2, average=2, hysteresis=0).update(
        np.array([a, a, b, b, a]), np.ones(5, dtype=bool)
    )
    # [a] a, [a a] a, [a b] b (0.7*0.1 < 0.3*0.9), [b b] b, [b a] b: window 1 has left the average.
    assert decisions.label.tolist() == [0, 0, 1, 1, 1]
    assert decisions.changed.tolist() == [True, False, True, False, False]


def test_zero_probabilities_are_clamped_not_minus_infinity():
    with np.errstate(all="raise"):
        decisions = DecisionAverager(2, average=2).update(
            np.array([[1.0, 0.0], [0.0, 1.0]]), np.ones(2, bool)
        )
    np.testing.assert_allclose(decisions.probabilities[1], [0.5, 0.5])
    assert np.isfinite(decisions.probabilities).all()


def test_unclassified_windows_neither_enter_the_average_nor_decide():
    rows = np.array([[0.9, 0.1], [np.nan, np.nan], [0.4, 0.6], [0.3, 0.7]])
    classified = np.array([True, False, True, True])
    decisions = DecisionAverager(2, average=2, hysteresis=0).update(rows, classified)
    assert decisions.label.tolist() == [0, UNDECIDED, 0, 1]  # window 3 averages windows 1 and 3
    assert decisions.windows.tolist() == [1, 0, 2, 2]
    assert decisions.confidence[1] == 0 and not decisions.probabilities[1].any()
    # As the blocks' change rule: to unclassifiable and back are changes.
    assert decisions.changed.tolist() == [True, True, True, True]
    assert decisions.held.tolist() == [0, UNDECIDED, 0, 1]


def test_hysteresis_switches_only_when_the_new_class_wins_by_the_margin():
    averager = DecisionAverager(2, average=1, hysteresis=1.0)
    rows = np.array([[0.9, 0.1], [0.45, 0.55], [0.4, 0.6], [0.2, 0.8], [0.6, 0.4], [0.8, 0.2]])
    decisions = averager.update(rows, np.ones(len(rows), dtype=bool))
    # log(0.55/0.45) = 0.20 and log(0.6/0.4) = 0.41 nats: not enough; log(0.8/0.2) = 1.39: a switch.
    assert decisions.label.tolist() == [0, 1, 1, 1, 0, 0]
    assert decisions.held.tolist() == [0, 0, 0, 1, 1, 0]
    assert decisions.changed.tolist() == [True, False, False, True, False, True]
    assert (decisions.held[decisions.changed] == decisions.label[decisions.changed]).all()


def test_hysteresis_stops_a_near_tie_from_flickering():
    # Two confusable classes, each window slightly favouring one at random: the average flips often.
    rng = np.random.default_rng(3)
    lean = rng.normal(0.05, 0.15, size=400)
    rows = np.stack([0.5 + lean, 0.5 - lean], axis=1).clip(0.01, 0.99)
    classified = np.ones(len(rows), dtype=bool)
    plain = DecisionAverager(2, average=4, hysteresis=0).update(rows, classified)
    held = DecisionAverager(2, average=4, hysteresis=0.5).update(rows, classified)
    assert np.array_equal(plain.label, held.label)  # hysteresis changes what is reported, not the label
    # Measured with this seed: 75 changes without hysteresis, 5 with 0.5 nats.
    assert plain.changed.sum() >= 50
    assert held.changed.sum() <= plain.changed.sum() / 10


def test_default_hysteresis_only_when_averaging():
    assert DecisionAverager(3).hysteresis == 0
    assert DecisionAverager(3, average=8).hysteresis == DEFAULT_HYSTERESIS
    assert DecisionAverager(3, average=8, hysteresis=0).hysteresis == 0


def test_updates_in_pieces_equal_one_update():
    probabilities, classified = random_windows(200, seed=11)
    whole = DecisionAverager(5, average=4).update(probabilities, classified)  # hysteresis 1 nat
    assert 0 < whole.changed.sum() < (whole.label[1:] != whole.label[:-1]).sum()
    assert (whole.held[whole.changed] == whole.label[whole.changed]).all()  # a change names its class
    averager = DecisionAverager(5, average=4)
    pieces = [
        averager.update(probabilities[a:b], classified[a:b]) for a, b in ((0, 1), (1, 1), (1, 37), (37, 200))
    ]
    for name in ("label", "confidence", "probabilities", "changed", "held", "windows"):
        np.testing.assert_array_equal(
            np.concatenate([getattr(p, name) for p in pieces]), getattr(whole, name)
        )


def test_signals_keep_their_own_state():
    first, first_ok = random_windows(60, seed=1)
    second, second_ok = random_windows(60, seed=2)
    alone = [DecisionAverager(5, average=8).update(p, c) for p, c in ((first, first_ok), (second, second_ok))]
    averager = DecisionAverager(5, average=8)
    mixed = {"a": [], "b": []}
    for start in range(0, 60, 10):  # interleaved, as a scanner sees channels
        for key, (p, c) in (("a", (first, first_ok)), ("b", (second, second_ok))):
            mixed[key].append(averager.update(p[start : start + 10], c[start : start + 10], key=key))
    for key, expected in zip("ab", alone):
        assert np.array_equal(np.concatenate([d.label for d in mixed[key]]), expected.label)
        assert np.array_equal(np.concatenate([d.changed for d in mixed[key]]), expected.changed)


def test_forget_and_reset_start_a_signal_afresh():
    averager = DecisionAverager(2, average=4)
    row, ok = np.array([[0.8, 0.2]]), np.array([True])
    averager.update(np.repeat(row, 3, axis=0), np.ones(3, bool), key=5)
    assert not averager.update(row, ok, key=5).changed[0]
    averager.forget(5)
    averager.forget("never seen")
    again = averager.update(row, ok, key=5)
    assert again.changed[0] and again.windows[0] == 1
    averager.reset()
    assert averager.update(row, ok, key=5).windows[0] == 1


def test_an_empty_update_changes_nothing():
    averager = DecisionAverager(3, average=2)
    empty = averager.update(np.zeros((0, 3)), np.zeros(0, bool))
    assert len(empty) == 0 and empty.probabilities.shape == (0, 3)
    assert averager.update(np.array([[0.2, 0.3, 0.5]]), np.array([True])).changed[0]


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 3, "average": 0}, "average"),
        ({"num_classes": 3, "average": 2.5}, "average"),
        ({"num_classes": 3, "hysteresis": -1}, "hysteresis"),
        ({"num_classes": 3, "hysteresis": float("nan")}, "hysteresis"),
    ],
)
def test_bad_settings_are_refused(arguments, words):
    with pytest.raises(ValueError, match=words):
        DecisionAverager(**arguments)


@pytest.mark.parametrize(
    ("probabilities", "classified", "words"),
    [
        (np.ones((4, 2)) / 2, np.ones(4, bool), r"\[windows, 3\]"),
        (np.ones(3) / 3, np.ones(1, bool), r"\[windows, 3\]"),
        (np.ones((4, 3)) / 3, np.ones(4), "bool"),
        (np.ones((4, 3)) / 3, np.ones(3, bool), "one entry per window"),
        (np.full((2, 3), np.nan), np.ones(2, bool), "classified=False"),
    ],
)
def test_bad_input_is_refused_naming_the_fix(probabilities, classified, words):
    with pytest.raises(ValueError, match=words):
        DecisionAverager(3).update(probabilities, classified)
