# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decisions over several windows of one signal: the one definition the blocks and the evaluation share.

The rule: the decision at a window is the argmax of the mean log-probabilities of the last ``average``
classified windows of the same signal (that window included). Averaging log-probabilities multiplies
the windows' likelihoods, as independent looks at one signal should; the averaged distribution reported
is that mean, exponentiated and normalised (the normalised geometric mean of the windows'
distributions). A probability of 0 is clamped to ``PROBABILITY_FLOOR`` (1e-12) before its log, so one
window certain that a class is impossible weighs as -27.6 nats instead of vetoing the class for ever.

``confidence`` is the averaged distribution's probability of the decided class (its largest entry): for
one window, the window's own largest probability, which is what the blocks report today.

Hysteresis, for ``change`` reports: besides its ``label`` (the argmax), every window has a ``held``
decision, the one a ``change`` report follows. The held class switches to the window's label only when
the label's mean log-probability beats the held class's by at least ``hysteresis`` nats (the new class
is at least e^hysteresis times as likely, geometric mean over the windows); ``changed`` marks the
windows where the held decision switches, and there ``held == label``, so a change report names the
class it changed to. With ``hysteresis`` 0 the held decision is the label itself.

Unclassified windows (NaN/Inf or all-zero input, a failed engine call) neither enter the average nor
get a decision: label -1, confidence 0, probabilities 0, as the blocks report them. As the blocks'
``change`` rule has it, such a window is a change from a class (and the first classified window after
it a change back); the average itself goes on over the classified windows around it.

``average`` 1 with the default hysteresis is today's per-window behaviour exactly: label = argmax of the
window's probabilities, the same probabilities, and ``changed`` = the label differs from the previous
window's (the first window of a signal is always a change).

No GNU Radio here: the training package uses it to measure accuracy per decision (training/averaging.py).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np

#: Probabilities are clamped to at least this before their log (a 0 would give -inf).
PROBABILITY_FLOOR = 1e-12
#: The label of a window without a decision; the value of reports.UNCLASSIFIABLE (that module needs
#: pmt, this one must not).
UNDECIDED = -1
#: The held decision of a signal before its first window (differs from every label, UNDECIDED included,
#: so the first window is always a change, as in the blocks' ``change`` rule).
_NOTHING_YET = -2
#: The hysteresis (nats) used when none is given and ``average`` > 1: the new class must be e (2.7)
#: times as likely as the held one, geometric mean over the averaged windows. Measured with the shipped
#: model on rml22_nominal.h5 (windows of 0, 10, 20 dB in runs of 40 of one class): at average 8, change
#: reports inside a run fell from 51.5 / 14.9 / 4.4 per 1000 windows without hysteresis to 4.4 / 3.8 /
#: 1.8, and a change of class was reported a median 6 / 6 / 5 windows after it instead of 5 / 5 / 5.
DEFAULT_HYSTERESIS = 1.0


@dataclass(frozen=True)
class Decisions:
    """One ``update``'s decisions, one row per window given (float64, int64 and bool arrays)."""

    label: np.ndarray  # int64 [n]: argmax of the averaged distribution; -1 for an unclassified window
    confidence: np.ndarray  # float64 [n]: probabilities[i, label[i]]; 0 for an unclassified window
    probabilities: np.ndarray  # float64 [n, C]: the averaged distribution, sums to 1; 0 if unclassified
    changed: np.ndarray  # bool [n]: the held decision switches at this window (a ``change`` report)
    held: np.ndarray  # int64 [n]: the decision a ``change`` report follows (hysteresis); -1 unclassified
    windows: np.ndarray  # int64 [n]: how many classified windows the average holds (0 if unclassified)

    def __len__(self) -> int:
        return int(self.label.shape[0])


@dataclass
class _Signal:
    """What is kept per signal between updates: the log-probabilities of its last average - 1 classified
    windows (zero rows in front until there are that many) and its held decision."""

    history: np.ndarray  # float64 [average - 1, C]
    seen: int = 0  # classified windows so far (those beyond average - 1 no longer matter)
    held: int = _NOTHING_YET


@dataclass
class DecisionAverager:
    """Decisions over the last ``average`` classified windows of each signal (one state per ``key``).

    Args:
        num_classes: C, the width of every probability row.
        average: N >= 1 windows per decision; 1 = every window decides alone.
        hysteresis: nats (>= 0) by which a new class's mean log-probability must beat the held class's
            before a ``change`` is reported; None = 0 for ``average`` 1 (today's rule) and
            ``DEFAULT_HYSTERESIS`` otherwise.

    ``update`` takes one signal's windows in order; ``forget(key)`` drops a signal (a channel that
    went away), ``reset()`` all of them (a new run).
    """

    num_classes: int
    average: int = 1
    hysteresis: float | None = None
    _signals: dict[Hashable, _Signal] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if int(self.num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1 (the model's class count), got {self.num_classes}")
        if isinstance(self.average, bool) or int(self.average) != self.average or self.average < 1:
            raise ValueError(f"average must be a whole number of windows >= 1 (1 = no averaging), got "
                             f"{self.average!r}")  # fmt: skip
        self.num_classes, self.average = int(self.num_classes), int(self.average)
        if self.hysteresis is None:
            self.hysteresis = 0.0 if self.average == 1 else DEFAULT_HYSTERESIS
        if not (math.isfinite(self.hysteresis) and self.hysteresis >= 0):
            raise ValueError(f"hysteresis must be a finite number of nats >= 0 (0 = none), got "
                             f"{self.hysteresis!r}")  # fmt: skip
        self.hysteresis = float(self.hysteresis)

    def forget(self, key: Hashable) -> None:
        """Drop a signal's state (a key never seen is ignored): its next window starts afresh."""
        self._signals.pop(key, None)

    def reset(self) -> None:
        """Drop every signal's state."""
        self._signals.clear()

    def update(self, probabilities: np.ndarray, classified: np.ndarray, key: Hashable = 0) -> Decisions:
        """The decisions at the next ``n`` windows of signal ``key``, in order.

        Args:
            probabilities: [n, C] each window's class probabilities (rows of unclassified windows are
                ignored).
            classified: [n] bool, False where a window could not be classified.
            key: which signal (a channel id); each keeps its own average and held decision.
        """
        rows, valid = self._checked(probabilities, classified)
        signal = self._signal(key)
        count = len(valid)
        probs = np.zeros((count, self.num_classes))
        windows = np.zeros(count, dtype=np.int64)
        if valid.any():
            probs[valid], windows[valid] = self._averaged(signal, rows[valid])
        label = np.where(valid, probs.argmax(axis=1), UNDECIDED)
        confidence = probs[np.arange(count), np.maximum(label, 0)] * valid
        held = self._hold(signal, label, probs)
        previous = np.concatenate(([signal.held], held[:-1])) if count else held
        signal.held = int(held[-1]) if count else signal.held
        return Decisions(label, confidence, probs, held != previous, held, windows)

    # ---- the parts of an update -----------------------------------------------------------------------

    def _checked(self, probabilities: np.ndarray, classified: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(probabilities, dtype=np.float64)
        valid = np.asarray(classified)
        if rows.ndim != 2 or rows.shape[1] != self.num_classes:
            raise ValueError(
                f"probabilities must be [windows, {self.num_classes}] (one row of the model's "
                f"{self.num_classes} classes per window), got shape {rows.shape}"
            )
        if valid.dtype != bool or valid.shape != (rows.shape[0],):
            raise ValueError(
                f"classified must be a bool array of one entry per window ({rows.shape[0]}), got "
                f"{valid.dtype} of shape {valid.shape}"
            )
        if not np.isfinite(rows[valid]).all():
            raise ValueError(
                "probabilities hold NaN or Inf in windows marked classified: mark those windows "
                "classified=False (unclassifiable), as the blocks do"
            )
        return rows, valid

    def _signal(self, key: Hashable) -> _Signal:
        if key not in self._signals:
            self._signals[key] = _Signal(np.zeros((self.average - 1, self.num_classes)))
        return self._signals[key]

    def _averaged(self, signal: _Signal, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The averaged distribution at each of ``rows`` (classified windows, in order), and how many
        windows each average holds; moves the signal's history on."""
        if self.average == 1:  # each window alone, as below (the blocks' default: no logs to take)
            return rows, np.ones(len(rows), dtype=np.int64)
        logs = np.log(np.maximum(rows, PROBABILITY_FLOOR))
        stacked = np.concatenate((signal.history, logs))
        # Each sum adds its N rows in the same order however the windows came in pieces, so a recording
        # gives the same decisions bit for bit however fast it is read (a running sum would not). Zero
        # rows in front of a young signal add nothing; the count divides by the real ones.
        sums = stacked[: len(rows)].copy()
        for shift in range(1, self.average):
            sums += stacked[shift : shift + len(rows)]
        windows = np.minimum(signal.seen + np.arange(1, len(rows) + 1), self.average)
        means = sums / windows[:, None]
        averaged = np.exp(means - means.max(axis=1, keepdims=True))
        averaged /= averaged.sum(axis=1, keepdims=True)
        # One window's average is that window: its own probabilities, bit for bit (exp(log p) is not).
        single = windows == 1
        averaged[single] = rows[single]
        signal.history = stacked[len(stacked) - (self.average - 1) :]
        signal.seen += len(rows)
        return averaged, windows

    def _hold(self, signal: _Signal, label: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """The held decision at each window (see the module's docstring).

        Whether window i switches away from a held class depends only on that class, so the test is
        made for every possible held class at once ([n, C + 2]); only the walk from one switch to the
        next is sequential, a step per switch (and switches are what hysteresis makes rare)."""
        count = len(label)
        if self.hysteresis == 0 or count == 0:
            return label.copy()  # the label always wins by a margin >= 0: it is the argmax
        logs = np.log(np.maximum(probs, PROBABILITY_FLOOR))
        top = logs[np.arange(count), np.maximum(label, 0)][:, None]  # the label's log-probability
        other = label[:, None]
        beats = (other != np.arange(self.num_classes)) & ((other < 0) | (top - logs >= self.hysteresis))
        # Columns: held = nothing yet (-2), undecided (-1), class 0 .. C-1; any other label switches those.
        switch = np.concatenate((other != _NOTHING_YET, other != UNDECIDED, beats), axis=1)
        # next_switch[i, h + 2]: the first window at or after i that switches away from held class h.
        index = np.where(switch, np.arange(count)[:, None], count)
        next_switch = np.minimum.accumulate(index[::-1], axis=0)[::-1]
        switches, current, position = [], signal.held, 0
        while position < count and (at := int(next_switch[position, current + 2])) < count:
            switches.append(at)
            current, position = int(label[at]), at + 1
        # Each window holds the label of the latest switch at or before it (the signal's held before any).
        latest = np.full(count, -1)
        latest[switches] = switches
        latest = np.maximum.accumulate(latest)
        return np.where(latest >= 0, label[np.maximum(latest, 0)], signal.held)
