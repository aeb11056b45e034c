# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Accuracy per decision over N windows of one stream (N = 1, 4, 8, 16), overall, per SNR and at high SNR.

A decision is what ``eeamc.classifier`` reports with ``average`` = N: the argmax of the mean
log-probabilities of the last N windows of one signal, made by the blocks' own rule
(``gnuradio.eeamc.decisions.DecisionAverager``). Here the signal is a generated stream: its windows are
those with the same stream id (the dataset's per-window ``S``, ``Dataset.record``), taken in the order
they have in the file, so one decision never mixes two streams, wherever their windows lie. With a split
that keeps a stream's windows together they are the stream's consecutive windows; with the paper's
per-window split a stream's test windows are a sample of it, further apart in time than the block sees.

Which decisions count (``scheme``):

- ``sliding`` (the default, what the block reports): one decision at every window k of a stream that
  has N windows up to it, over windows k-N+1 .. k. A stream's first N-1 windows make no decision (the
  block does report them, over fewer windows; counting them would mix shorter averages into N's), so a
  stream of L windows gives L-N+1 decisions, and one shorter than N gives none. Neighbouring decisions
  share N-1 windows: they are not independent, though each is an unbiased look at a decision's accuracy.
- ``blocks``: non-overlapping runs of N consecutive windows of a stream, one decision each (windows
  N-1, 2N-1, ... of the sliding decisions); L // N per stream; the windows left over make none.

A decision is right when it names the stream's class (every window of a stream must have the same
label) and it counts at the SNR of its last window. Hysteresis plays no part: it changes which decisions
a ``change`` report carries, not the decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gnuradio.eeamc.decisions import DecisionAverager

from training.metrics import HIGH_SNR_DB, ratio, snr_key

#: The decisions' sizes evaluation reports (issue 10: N = 1, 4, 8, 16).
DEFAULT_N = (1, 4, 8, 16)
#: What each scheme counts, as metrics.json says it.
SCHEMES = {
    "sliding": "a decision at every window k of a stream with N windows up to it, over windows k-N+1..k "
    "(the block's average=N); a stream's first N-1 windows make none",
    "blocks": "one decision per run of N consecutive windows of a stream, runs not overlapping; windows "
    "left over at a stream's end make none",
}
#: How a decision is made (the blocks' rule), as metrics.json says it.
RULE = (
    "argmax of the mean log-probabilities (each probability clamped to >= 1e-12) of N windows of one "
    "stream, in file order (gnuradio.eeamc.decisions.DecisionAverager); right when it names the stream's "
    "class; counted at the SNR of its last window"
)


def decision_accuracy(
    probabilities: np.ndarray,
    y: np.ndarray,
    snr: np.ndarray,
    stream: np.ndarray,
    n_values: Sequence[int] = DEFAULT_N,
    scheme: str = "sliding",
    high_snr_db: int = HIGH_SNR_DB,
) -> dict[str, Any]:
    """Accuracy per decision over N windows for each N in ``n_values``, as a dict for metrics.json.

    Args:
        probabilities: [windows, C] each window's class probabilities (the exit it left at).
        y: [windows] true class; snr: [windows] dB; stream: [windows] the stream each was cut from.
        n_values: the decision sizes (windows per decision, each >= 1).
        scheme: "sliding" or "blocks" (see the module's docstring).
        high_snr_db: decisions at this SNR or above make ``accuracy_high_snr``.

    Returns ``{"rule", "scheme", "scheme_counts", "high_snr_db", "windows", "streams", "per_n": {"N":
    {"n", "decisions", "accuracy", "decisions_high_snr", "accuracy_high_snr", "streams_counted",
    "per_snr": {"snr": {"decisions", "accuracy"}}}}}``; an accuracy without decisions is None.
    """
    probabilities, y, snr, stream = _checked(probabilities, y, snr, stream, n_values, scheme)
    streams = stream_windows(stream, y)
    snrs = np.unique(snr)
    per_n = {}
    for n in n_values:
        last, label = decisions(probabilities, streams, int(n), scheme)
        per_n[str(int(n))] = _summary(int(n), label == y[last], snr[last], snrs, high_snr_db, streams)
    return {
        "rule": RULE,
        "scheme": scheme,
        "scheme_counts": SCHEMES[scheme],
        "high_snr_db": int(high_snr_db),
        "windows": int(len(y)),
        "streams": len(streams),
        "per_n": per_n,
    }


def stream_windows(stream: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Each stream's window indices in file order (streams by id). ValueError if a stream holds windows
    of two classes: its ids then do not name one generated stream."""
    order = np.argsort(stream, kind="stable")
    ids, labels = stream[order], y[order]
    mixed = np.flatnonzero((ids[1:] == ids[:-1]) & (labels[1:] != labels[:-1]))
    if len(mixed):
        bad = ids[mixed[0]]
        classes = sorted({int(c) for c in y[stream == bad]})
        raise ValueError(
            f"stream {bad} holds windows of classes {classes}: stream ids must name one generated stream "
            "(pass the dataset's per-window stream ids, Dataset.record of a file with 'S')"
        )
    return np.split(order, np.flatnonzero(ids[1:] != ids[:-1]) + 1) if len(order) else []


def decisions(
    probabilities: np.ndarray, streams: list[np.ndarray], n: int, scheme: str
) -> tuple[np.ndarray, np.ndarray]:
    """The decisions over ``n`` windows that ``scheme`` counts: each one's last window (an index into the
    arrays) and its label."""
    averager = DecisionAverager(probabilities.shape[1], average=n, hysteresis=0)
    lasts, labels = [], []
    for windows in streams:
        if len(windows) < n:
            continue
        made = averager.update(probabilities[windows], np.ones(len(windows), dtype=bool))
        averager.reset()  # the next stream is another signal
        step = 1 if scheme == "sliding" else n
        counted = slice(n - 1, None, step)  # the first decision over n windows, then every step-th
        lasts.append(windows[counted])
        labels.append(made.label[counted])
    if not lasts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(lasts), np.concatenate(labels)


def _summary(
    n: int,
    correct: np.ndarray,
    snr: np.ndarray,
    snrs: np.ndarray,
    high_snr_db: int,
    streams: list[np.ndarray],
) -> dict[str, Any]:
    high = snr >= high_snr_db
    per_snr = {}
    for value in snrs:  # every SNR of the data, with or without decisions at N
        at = snr == value
        per_snr[snr_key(value)] = {"decisions": int(at.sum()), "accuracy": ratio(correct[at].sum(), at.sum())}
    return {
        "n": n,
        "decisions": int(len(correct)),
        "accuracy": ratio(correct.sum(), len(correct)),
        "decisions_high_snr": int(high.sum()),
        "accuracy_high_snr": ratio(correct[high].sum(), high.sum()),
        "streams_counted": sum(len(windows) >= n for windows in streams),
        "per_snr": per_snr,
    }


def _checked(
    probabilities: np.ndarray,
    y: np.ndarray,
    snr: np.ndarray,
    stream: np.ndarray,
    n_values: Sequence[int],
    scheme: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {tuple(SCHEMES)}, got {scheme!r}")
    if not len(n_values) or any(int(n) != n or n < 1 for n in n_values):
        raise ValueError(f"n_values must be whole numbers of windows >= 1, got {list(n_values)}")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be [windows, classes], got shape {probabilities.shape}")
    arrays = {"y": np.asarray(y), "snr": np.asarray(snr), "stream": np.asarray(stream)}
    for name, values in arrays.items():
        if values.shape != (len(probabilities),):
            raise ValueError(
                f"{name} must have one entry per window ({len(probabilities)}), got shape {values.shape}"
            )
    if not np.isfinite(probabilities).all():
        raise ValueError("probabilities hold NaN or Inf: evaluate only windows the network classified")
    return probabilities, arrays["y"].astype(np.int64), arrays["snr"], arrays["stream"]


def format_table(result: dict[str, Any]) -> str:
    """``decision_accuracy``'s result as a text table: accuracy (%) per SNR, overall and at high SNR,
    one column per N, and the number of decisions behind each column."""
    per_n = result["per_n"]
    columns = list(per_n)
    snrs = sorted(next(iter(per_n.values()))["per_snr"], key=int)
    rows = [(f"{snr} dB", [per_n[n]["per_snr"][snr]["accuracy"] for n in columns]) for snr in snrs]
    rows.append(("overall", [per_n[n]["accuracy"] for n in columns]))
    rows.append((f">= {result['high_snr_db']} dB", [per_n[n]["accuracy_high_snr"] for n in columns]))
    width = 9
    lines = [
        f"accuracy per decision over N windows of one stream ({result['scheme']}: {result['scheme_counts']})",
        "SNR".ljust(10) + "".join(f"N={n}".rjust(width) for n in columns),
    ]
    for name, values in rows:
        lines.append(name.ljust(10) + "".join(_percent(value).rjust(width) for value in values))
    lines.append("decisions".ljust(10) + "".join(str(per_n[n]["decisions"]).rjust(width) for n in columns))
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"
