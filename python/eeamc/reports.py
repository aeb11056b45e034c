"""One classification as a PMT message: the keys every block publishes, built with cached PMTs.

A message is a PMT dict: ``label`` (symbol), ``class`` (long), ``exit`` (long), ``entropy`` and
``confidence`` (double), ``unclassifiable`` (bool), ``offset`` (uint64, the window's first input sample),
``probabilities`` (f32vector in the model's class order) and ``window`` (uint64 running count), plus
the extra keys a block adds (``channel``, ``freq_offset``, ``bandwidth``, ``snr_db``, ``freq``, and
``rx_freq`` / ``rx_time`` copied from upstream tags).
"""

from __future__ import annotations

from collections.abc import Sequence

import pmt

UNCLASSIFIABLE = -1
#: Which windows a block reports: every one, those whose class differs from the previous window's, or
#: every ``report_every``-th.
REPORT_MODES = ("all", "change", "every_n")


def check_report(report: str, report_every: int) -> tuple[str, int]:
    """The report mode and its N, checked (ValueError naming the valid values)."""
    if report not in REPORT_MODES:
        raise ValueError(f"report must be one of {REPORT_MODES}, got {report!r}")
    if int(report_every) < 1:
        raise ValueError(f"report_every must be >= 1, got {report_every}")
    return report, int(report_every)


def wants_report(report: str, report_every: int, window_count: int, label: int, previous: int | None) -> bool:
    """Whether the ``window_count``-th window (from 1) of a stream, of class ``label`` after a window of
    class ``previous``, is reported."""
    if report == "change":
        return label != previous
    if report == "every_n":
        return (window_count - 1) % report_every == 0
    return True


class MessageBuilder:
    """Builds classification messages for one model's classes and exits (PMTs of small sets made once)."""

    def __init__(self, classes: Sequence[str], num_exits: int) -> None:
        self._labels = [pmt.intern(name) for name in classes]
        self._classes = [pmt.from_long(index) for index in range(len(classes))]
        self._exits = [pmt.from_long(index) for index in range(num_exits)]
        self._keys: dict[str, pmt.pmt_base] = {}
        self._zero_probabilities = [0.0] * len(classes)

    def key(self, name: str) -> pmt.pmt_base:
        if name not in self._keys:
            self._keys[name] = pmt.intern(name)
        return self._keys[name]

    def message(
        self,
        label: int,
        exit_index: int,
        entropy: float,
        confidence: float,
        probabilities: Sequence[float],
        offset: int,
        window: int,
        extra: dict[str, pmt.pmt_base],
    ) -> pmt.pmt_base:
        """A classified window's message; ``extra`` holds the block's own keys, already PMTs."""
        fields = (
            ("label", self._labels[label]),
            ("class", self._classes[label]),
            ("exit", self._exits[exit_index]),
            ("entropy", pmt.from_double(entropy)),
            ("confidence", pmt.from_double(confidence)),
            ("unclassifiable", pmt.PMT_F),
        )
        return self._finish(fields, probabilities, offset, window, extra)

    def unclassifiable(self, offset: int, window: int, extra: dict[str, pmt.pmt_base]) -> pmt.pmt_base:
        """The message of a window that could not be classified (NaN/Inf or all zeros, engine failure)."""
        fields = (
            ("label", pmt.intern("unclassifiable")),
            ("class", pmt.from_long(UNCLASSIFIABLE)),
            ("exit", pmt.from_long(-1)),
            ("entropy", pmt.from_double(float("nan"))),
            ("confidence", pmt.from_double(0.0)),
            ("unclassifiable", pmt.PMT_T),
        )
        return self._finish(fields, self._zero_probabilities, offset, window, extra)

    def _finish(self, fields, probabilities, offset, window, extra) -> pmt.pmt_base:
        message = pmt.make_dict()
        for name, value in fields:
            message = pmt.dict_add(message, self.key(name), value)
        message = pmt.dict_add(message, self.key("offset"), pmt.from_uint64(int(offset)))
        message = pmt.dict_add(
            message, self.key("probabilities"), pmt.init_f32vector(len(probabilities), list(probabilities))
        )
        message = pmt.dict_add(message, self.key("window"), pmt.from_uint64(int(window)))
        for name, value in extra.items():
            message = pmt.dict_add(message, self.key(name), value)
        return message
