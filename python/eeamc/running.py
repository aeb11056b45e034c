# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What both classifying blocks need to keep going in a running flowgraph.

``eeamc.classifier`` and ``eeamc.multi_channel_classifier`` (inside ``scanner`` and
``channel_classifier``) share these here, so that they behave alike:

- ``UpstreamTags``: the ``rx_freq`` / ``rx_time`` / ``rx_rate`` tags a block has read, and for any window
  the metadata of its first sample: the latest ``rx_freq``, and an ``rx_time`` of its own, the latest
  ``rx_time`` tag plus (window offset - tag offset) / sample rate, in UHD's form (a tuple of uint64
  seconds and a double fraction).
- ``EngineFailures``: an engine call that raises (CUDA out of memory, a lost device) is logged once with
  its cause, then at most every ``FAILURE_LOG_INTERVAL_S`` with a count; its windows are reported
  unclassifiable, every later call tries again, and the recovery is logged.
- ``WindowClassifier``: one work() call's windows -> per-window results, with every window that cannot
  be classified (NaN/Inf or all-zero input, a failed engine call, a network whose output is not finite)
  marked so, and each cause logged once.
- ``WindowSelection``: which windows are run through the network at all: one in ``classify_every``, and
  with ``on_overload="keep_up"`` fewer while the block falls behind its source (counted and logged).
- ``Reporting``: what a block reports of one signal's classified windows: with ``average`` N the
  decision over its last N (``decisions.DecisionAverager``), and which windows ``report`` selects.
- ``engine_for``: the engine at the ``precision`` asked for (auto resolved, the reason logged once).
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pmt
import torch
from gnuradio import gr

from .decisions import DecisionAverager
from .engine import EarlyExitEngine, classify_in_batches
from .quantization import PRECISIONS, resolve_precision
from .reports import Log, f64_column, report_mask, u64_column
from .windows import normalize, valid_windows

#: Upstream tags whose value at a window's first sample its message carries (USRP / RTL-SDR sources).
METADATA_KEYS = ("rx_freq", "rx_time")
#: The sample rate a radio source states (UHD and gr-osmosdr tag it; a double, S/s).
RX_RATE = "rx_rate"
#: A failing engine is logged at most this often (s) after its first failure.
FAILURE_LOG_INTERVAL_S = 5.0
#: What a block does when it falls behind its source: classify every window anyway (its input buffer
#: stays full, and a radio source overflows), or classify fewer windows to keep up with it.
OVERLOAD_MODES = ("queue", "keep_up")
#: work() calls in a row that find the input full (or not) before a block counts as behind (caught up).
BEHIND_CALLS = 4
#: A call finds the input full when it holds at least this share of what the block's buffer lets it see.
FULL_SHARE = 0.9
#: Most a block behind its source thins its windows: it classifies at least one in this many.
MAX_OVERLOAD_STRIDE = 64
#: Skipped windows are logged at most this often (s).
SKIP_LOG_INTERVAL_S = 5.0

T = TypeVar("T")


# ---- upstream tags and time stamps ---------------------------------------------------------------------


def time_after(value: pmt.pmt_base, seconds: float) -> pmt.pmt_base | None:
    """An ``rx_time`` value moved on by ``seconds``, in the same form: UHD's (uint64 s, double fraction)
    tuple, or a plain number; None if ``value`` is neither (it cannot be advanced)."""
    if pmt.is_tuple(value):
        parts = uhd_time(value)
        if parts is None:
            return None
        whole, fraction = parts
        # The whole seconds stay an integer: a double holding seconds since 1970 keeps only ~0.1 us.
        total = fraction + seconds
        carry = math.floor(total)
        if whole + carry < 0:
            return None
        return pmt.make_tuple(pmt.from_uint64(int(whole + carry)), pmt.from_double(total - carry))
    if pmt.is_number(value) and not pmt.is_complex(value):
        return pmt.from_double(pmt.to_double(value) + seconds)
    return None


class UpstreamTags:
    """The metadata tags a block has read, so that each window gets the values at its first sample.

    ``read`` once per work() call; ``forget_before`` drops what no later window can need (the latest
    tag at or before that offset is kept: it still applies); ``reset`` when a new run starts."""

    def __init__(self, log: Log) -> None:
        self._log = log
        self._keys = {name: pmt.intern(name) for name in (*METADATA_KEYS, RX_RATE)}
        self._history: dict[str, list[tuple[int, pmt.pmt_base]]] = {name: [] for name in self._keys}
        self._warned_time = False

    def reset(self) -> None:
        for history in self._history.values():
            history.clear()

    def read(self, block, count: int) -> None:
        """Remember the block's input tags on [nitems_read, nitems_read + count) of the keys above."""
        start = block.nitems_read(0)
        for name, key in self._keys.items():
            tags = block.get_tags_in_range(0, start, start + count, key)
            if tags:
                entries = sorted(((tag.offset, tag.value) for tag in tags), key=lambda entry: entry[0])
                self._history[name].extend(entries)

    def forget_before(self, offset: int) -> None:
        """Drop tags no window starting at or after ``offset`` can need."""
        for history in self._history.values():
            position = bisect.bisect_right(history, offset, key=lambda entry: entry[0])
            del history[: max(position - 1, 0)]

    def latest(self, name: str, offset: int) -> tuple[int, pmt.pmt_base] | None:
        """The latest ``name`` tag at or before ``offset``: (its offset, its value)."""
        history = self._history[name]
        position = bisect.bisect_right(history, offset, key=lambda entry: entry[0])
        return history[position - 1] if position else None

    def between(self, name: str, start: int, stop: int) -> list[tuple[int, pmt.pmt_base]]:
        """The ``name`` tags on input samples [start, stop), in order: (offset, value)."""
        return [entry for entry in self._history[name] if start <= entry[0] < stop]

    def rate(self, offset: int) -> float | None:
        """The rate the latest usable ``rx_rate`` tag at or before ``offset`` states (S/s), if any."""
        tag = self.latest(RX_RATE, offset)
        if tag is None or not (pmt.is_real(tag[1]) or pmt.is_integer(tag[1])):
            return None
        rate = pmt.to_double(tag[1])
        return rate if math.isfinite(rate) and rate > 0 else None

    def fields(self, offset: int, rate: float) -> dict[str, pmt.pmt_base]:
        """``rx_freq`` and ``rx_time`` of the window starting at input sample ``offset`` (where tagged);
        ``rate`` (S/s) turns samples since the ``rx_time`` tag into seconds."""
        fields = {}
        frequency = self.latest("rx_freq", offset)
        if frequency is not None:
            fields["rx_freq"] = frequency[1]
        stamp = self.latest("rx_time", offset)
        if stamp is not None:
            tag_offset, value = stamp
            moved = time_after(value, (offset - tag_offset) / rate)
            if moved is None and not self._warned_time:
                self._warned_time = True
                self._log(
                    "warn",
                    f"an rx_time tag holds {value}, neither UHD's (uint64 seconds, double fraction) tuple "
                    "nor a number: windows carry it as it is, not their own time (logged once)",
                )
            fields["rx_time"] = value if moved is None else moved
        return fields

    def columns(
        self, offsets: np.ndarray, rate: float
    ) -> tuple[dict[str, pmt.pmt_base], dict[str, pmt.pmt_base]]:
        """``fields`` for many windows at once (a batch's): (keys shared by all, per-window columns).

        rx_freq is shared where one tag covers every window, else the ``rx_freqs`` column (NaN: no tag
        yet); UHD time stamps become ``rx_time_seconds`` / ``rx_time_fractions``, worked out with numpy
        exactly as ``time_after`` does. Values of another form (rare) fall back to a vector of each
        window's own ``fields`` value (``rx_freqs`` / ``rx_times``), built window by window. ``rate``:
        one for all windows, or each window's."""
        shared: dict[str, pmt.pmt_base] = {}
        columns: dict[str, pmt.pmt_base] = {}
        offsets = np.asarray(offsets, dtype=np.int64)
        if self._history["rx_freq"]:
            which, values = self._latest_each("rx_freq", offsets)
            numbers = self._numbers(which, values)
            if which[0] >= 0 and (which == which[0]).all():
                shared["rx_freq"] = values[which[0]]
            elif np.isnan(numbers[which >= 0]).any():  # a value that is no number: each its own
                columns["rx_freqs"] = self._each("rx_freq", offsets, rate)
            else:
                columns["rx_freqs"] = f64_column(numbers)
        if self._history["rx_time"]:
            columns.update(self._time_columns(offsets, rate))
        return shared, columns

    def window_columns(self, offsets: np.ndarray, rate: float | np.ndarray) -> list[tuple]:
        """``fields`` of many windows, as ``reports.NativeReports`` takes them: a metadata column
        (kind, key, values...) per key, in ``fields``' order.

        rx_freq: each window's latest tag value itself (picked by index, -1 none); rx_time: UHD's tuple
        worked out with numpy as ``columns`` does (bit for bit ``time_after``'s), or, for stamps of
        another form (rare), each window's own ``fields`` value. ``rate``: one, or each window's."""
        offsets = np.asarray(offsets, dtype=np.int64)
        columns: list[tuple] = []
        if self._history["rx_freq"]:
            which, values = self._latest_each("rx_freq", offsets)
            columns.append(("pick", self._keys["rx_freq"], which, values))
        if self._history["rx_time"]:
            times = self._time_arrays(offsets, rate)
            if times is None:
                columns.append(("each", self._keys["rx_time"], self._each("rx_time", offsets, rate)))
            else:
                columns.append(("uhd_time", self._keys["rx_time"], *times))
        return columns

    def numbers(self, name: str, offsets: np.ndarray) -> np.ndarray:
        """The value of the latest ``name`` tag at or before each offset, as a number (NaN where there is
        no such tag, or its value is no number)."""
        if not self._history[name]:
            return np.full(len(offsets), math.nan)
        return self._numbers(*self._latest_each(name, np.asarray(offsets, dtype=np.int64)))

    @staticmethod
    def _numbers(which: np.ndarray, values: list[pmt.pmt_base]) -> np.ndarray:
        numbers = [pmt.to_double(v) if pmt.is_real(v) or pmt.is_integer(v) else math.nan for v in values]
        return np.array([*numbers, math.nan])[which]  # which = -1 (no tag yet) picks the NaN

    def _latest_each(self, name: str, offsets: np.ndarray) -> tuple[np.ndarray, list[pmt.pmt_base]]:
        """For each offset, the index of the latest ``name`` tag at or before it (-1: none; numpy picks
        the last entry of an array one longer for it), and the tags' values."""
        history = self._history[name]
        starts = np.fromiter((entry[0] for entry in history), dtype=np.int64, count=len(history))
        return np.searchsorted(starts, offsets, side="right") - 1, [entry[1] for entry in history]

    def _each(self, name: str, offsets: np.ndarray, rate: float | np.ndarray) -> pmt.pmt_base:
        """A PMT vector of every window's own ``fields`` value of ``name`` (nil where it has none)."""
        vector = pmt.make_vector(len(offsets), pmt.PMT_NIL)
        rates = np.broadcast_to(rate, offsets.shape).tolist()
        for index, (offset, window_rate) in enumerate(zip(offsets.tolist(), rates)):
            pmt.vector_set(vector, index, self.fields(offset, window_rate).get(name, pmt.PMT_NIL))
        return vector

    def _time_columns(self, offsets: np.ndarray, rate: float | np.ndarray) -> dict[str, pmt.pmt_base]:
        times = self._time_arrays(offsets, rate)
        if times is None:
            return {"rx_times": self._each("rx_time", offsets, rate)}
        seconds, fractions = times
        return {"rx_time_seconds": u64_column(seconds), "rx_time_fractions": f64_column(fractions)}

    def _time_arrays(
        self, offsets: np.ndarray, rate: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Each window's rx_time as UHD's (whole seconds: uint64, 0 where no tag came before; fraction:
        float64, NaN there), as ``time_after`` works it out; None where a stamp is of another form, or
        before 0 s (``time_after`` then gives the tag's own value: window by window, ``_each``)."""
        which, values = self._latest_each("rx_time", offsets)
        parts = [uhd_time(value) for value in values]
        if any(parts[index] is None for index in which[which >= 0]):
            return None
        wholes = np.array([part[0] if part else 0 for part in parts] + [0], dtype=np.int64)
        fractions = np.array([part[1] if part else 0.0 for part in parts] + [math.nan])
        starts = np.array([entry[0] for entry in self._history["rx_time"]] + [0], dtype=np.int64)
        total = fractions[which] + (offsets - starts[which]) / rate  # as time_after: fraction + seconds
        carry = np.floor(total)
        seconds = wholes[which] + np.nan_to_num(carry).astype(np.int64)
        if (seconds[which >= 0] < 0).any():
            return None
        return np.where(which >= 0, seconds, 0).astype(np.uint64), total - carry


def uhd_time(value: pmt.pmt_base) -> tuple[int, float] | None:
    """UHD's rx_time tuple (uint64 whole seconds, double fraction) as Python numbers; None if not one."""
    if not (pmt.is_tuple(value) and pmt.length(value) == 2):
        return None
    whole, fraction = pmt.tuple_ref(value, 0), pmt.tuple_ref(value, 1)
    if not (pmt.is_integer(whole) or pmt.is_uint64(whole)) or not pmt.is_number(fraction):
        return None
    return (pmt.to_uint64(whole) if pmt.is_uint64(whole) else pmt.to_long(whole)), pmt.to_double(fraction)


# ---- engine failures -----------------------------------------------------------------------------------


class EngineFailures:
    """Runs engine calls so that a failing one neither stops the flowgraph nor floods the log."""

    def __init__(
        self,
        log: Log,
        interval_s: float = FAILURE_LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self.interval_s = float(interval_s)
        self._clock = clock
        self.failing = False
        self.failed_calls = 0  # since the engine last worked
        self.failed_windows = 0
        self._unlogged_calls = 0  # failures since the last log line
        self._logged_at = -math.inf

    def call(self, classify: Callable[[], T], windows: int) -> T | None:
        """``classify()``'s result, or None if it raised (then logged as described above)."""
        try:
            result = classify()
        except Exception as error:  # noqa: BLE001 - a running flowgraph must survive (e.g. CUDA OOM)
            self._failed(error, windows)
            return None
        if self.failing:
            self._log(
                "warn",
                f"classification works again after {self.failed_calls} failed engine call(s) "
                f"({self.failed_windows} window(s) reported unclassifiable)",
            )
            self.failing, self.failed_calls, self.failed_windows, self._unlogged_calls = False, 0, 0, 0
        return result

    def _failed(self, error: Exception, windows: int) -> None:
        first = not self.failing
        self.failing = True
        self.failed_calls += 1
        self.failed_windows += windows
        self._unlogged_calls += 1
        now = self._clock()
        if not first and now - self._logged_at < self.interval_s:
            return
        cause = f"{type(error).__name__}: {error}"
        if first:
            text = (
                f"classification failed ({cause}); its {windows} window(s) are reported unclassifiable "
                f"and every later call tries again (logged at most every {self.interval_s:g} s)"
            )
        else:
            text = (
                f"classification still failing ({cause}): {self._unlogged_calls} more failed call(s), "
                f"{self.failed_windows} window(s) unclassifiable since it began"
            )
        self._log("error", text)
        self._logged_at, self._unlogged_calls = now, 0


# ---- one work() call's windows ---------------------------------------------------------------------------


@dataclass
class Results:
    """Per-window results of one work() call as numpy arrays (one row per window; a block picks the rows
    it reports with numpy and turns only those into Python values); ``classified[i]`` False: window i is
    unclassifiable (label and exit -1, entropy NaN, confidence and probabilities 0)."""

    classified: np.ndarray  # bool [N]
    label: np.ndarray  # int64 [N]
    exit: np.ndarray  # int64 [N]
    entropy: np.ndarray  # float32 [N]
    confidence: np.ndarray  # float32 [N]
    probabilities: np.ndarray  # float32 [N, classes]

    def __len__(self) -> int:
        return len(self.label)

    def rows(self, selection: slice | np.ndarray) -> Results:
        """These windows' results (a slice, indices or a mask)."""
        return Results(*(getattr(self, name)[selection] for name in Results.__dataclass_fields__))

    @classmethod
    def joined(cls, parts: list[Results]) -> Results:
        """The windows of several results, in order."""
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in cls.__dataclass_fields__))

    @classmethod
    def unclassifiable(cls, count: int, num_classes: int) -> Results:
        """``count`` windows none of which could be classified."""
        return cls(
            np.zeros(count, dtype=bool),
            np.full(count, -1, dtype=np.int64),
            np.full(count, -1, dtype=np.int64),
            np.full(count, np.nan, dtype=np.float32),
            np.zeros(count, dtype=np.float32),
            np.zeros((count, num_classes), dtype=np.float32),
        )


def conditioned(windows: np.ndarray, normalization: str) -> np.ndarray:
    """Windows scaled by a power of two each so that their largest value is about 1, for the l1 / l2
    normalisations: those are scale-invariant and a power of two changes no bit of the result (in
    float32's normal range), but values near float32's limits (or denormals) would overflow (underflow) in
    the norm otherwise and leave a window of zeros or infinities."""
    if normalization == "none" or len(windows) == 0:
        return windows
    peak = np.abs(windows).max(axis=(1, 2))
    _, exponent = np.frexp(np.where(peak > 0, peak, 1.0))
    return np.ldexp(windows, -exponent[:, None, None]).astype(np.float32, copy=False)


class FreedMemory:
    """Gives the memory glibc's allocator keeps after torch frees it back to the system, at most every
    ``interval_s``. Batches of many sizes (a block's work() calls) fragment the heap: without this the
    process grew for as long as it ran (scripts/soak.py, reports/soak_*.txt)."""

    def __init__(self, interval_s: float = 5.0) -> None:
        self.interval_s = interval_s
        self._trim = _malloc_trim()
        self._last = time.monotonic()

    def release_if_due(self) -> None:
        now = time.monotonic()
        if self._trim is not None and now - self._last >= self.interval_s:
            self._last = now
            self._trim(0)


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


class WindowClassifier:
    """Classifies a block's windows [N, 2, L] and says which could not be: what both blocks share."""

    def __init__(self, normalization: str, num_classes: int, max_batch: int, log: Log) -> None:
        self.normalization = normalization
        self.max_batch = int(max_batch)
        self.lock = threading.Lock()  # thresholds are set from other threads (GUI callbacks)
        self.failures = EngineFailures(log)
        self.memory = FreedMemory()
        self._log = log
        self.num_classes = int(num_classes)
        self._warned: set[str] = set()

    def classify(self, engine: EarlyExitEngine, windows: np.ndarray) -> Results:
        """Results for every window; classified False where the input, the engine or its output failed."""
        valid = valid_windows(windows)
        count = len(windows)
        if not valid.all():
            self._warn_once("input", "NaN/Inf or all-zero window: reported as unclassifiable (logged once)")
        results = None
        if valid.any():
            batch = torch.from_numpy(
                normalize(conditioned(windows[valid], self.normalization), self.normalization)
            )
            results = self.failures.call(lambda: self._run(engine, batch), int(valid.sum()))
            self.memory.release_if_due()
        if results is None:
            return Results.unclassifiable(count, self.num_classes)
        finite = (torch.isfinite(results.probabilities).all(dim=1) & torch.isfinite(results.entropy)).numpy()
        if not finite.all():
            self._warn_once(
                "output",
                "the network's output is not finite for some windows (a corrupt model file, or input it "
                "cannot handle): reported as unclassifiable (logged once)",
            )
        classified = np.zeros(count, dtype=bool)
        classified[valid] = finite

        def spread(values: torch.Tensor, fill: float) -> np.ndarray:
            """One row per window: the engine's row for a classified window, ``fill`` for the others."""
            rows = np.full((count, *values.shape[1:]), fill, dtype=values.numpy().dtype)
            rows[valid] = values.numpy()
            rows[~classified] = fill
            return rows

        return Results(
            classified,
            spread(results.label, -1),
            spread(results.exit, -1),
            spread(results.entropy, math.nan),
            spread(results.confidence, 0.0),
            spread(results.probabilities, 0.0),
        )

    def _run(self, engine: EarlyExitEngine, batch: torch.Tensor):
        with self.lock:
            return classify_in_batches(engine, batch, self.max_batch)

    def _warn_once(self, what: str, text: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            self._log("warn", text)


# ---- which windows are classified ------------------------------------------------------------------------


def check_selection(classify_every: int, on_overload: str) -> tuple[int, str]:
    """``classify_every`` and ``on_overload``, checked (ValueError naming the valid values)."""
    if int(classify_every) != classify_every or classify_every < 1:
        raise ValueError(
            f"classify_every must be a whole number >= 1 (1 = every window), got {classify_every}"
        )
    if on_overload not in OVERLOAD_MODES:
        raise ValueError(f"on_overload must be one of {OVERLOAD_MODES}, got {on_overload!r}")
    return int(classify_every), on_overload


class WindowSelection:
    """Which windows of a stream go through the network.

    One in ``classify_every`` (the windows whose index in the stream is a multiple of it; the others are
    not classified, nor reported). With ``on_overload="keep_up"`` a block that finds its input full on
    ``BEHIND_CALLS`` work() calls in a row (it is behind its source) classifies half as many windows
    again, down to one in ``MAX_OVERLOAD_STRIDE`` more, and as many again once it has found the input
    not full as often: ``skipped`` counts the windows so left out, logged at most every
    ``SKIP_LOG_INTERVAL_S``. ``on_overload="queue"`` classifies every window it is given however long it
    takes (a recording's reader waits; a radio's buffer overflows)."""

    def __init__(
        self,
        classify_every: int,
        on_overload: str,
        log: Log,
        interval_s: float = SKIP_LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.classify_every, self.on_overload = check_selection(classify_every, on_overload)
        self._log = log
        self.interval_s = float(interval_s)
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """A new run: nothing skipped, not behind."""
        self.stride = 1  # of the windows classify_every picks, one in this many is classified
        self.skipped = 0
        self._full_calls = self._calm_calls = 0
        self._most = 0  # the most input items a call of this run was given
        self._logged_at, self._logged_skipped = -math.inf, 0

    def observe(self, block: gr.basic_block, available: int, buffer_items: int) -> None:
        """One work() call of ``block`` was given ``available`` input items; ``buffer_items``: the size of
        the buffer that bounds what a call is given.

        GNU Radio 3.10 gives a call at most about half that buffer (measured: 4,096 items a call with an
        8,192-item output buffer, 16,384 with 32,768), and never more than the block's max_noutput_items;
        so a call is given a full buffer when it gets as much as the most any call of this run got, and
        at least half the buffer (a radio's chunks that a block keeps up with are smaller)."""
        if self.on_overload != "keep_up":
            return
        self._most = max(self._most, available)
        capacity = max(self._most, buffer_items // 2)
        if block.is_set_max_noutput_items():
            capacity = min(capacity, block.max_noutput_items())
        if available >= FULL_SHARE * capacity:
            self._full_calls, self._calm_calls = self._full_calls + 1, 0
            if self._full_calls >= BEHIND_CALLS and self.stride < MAX_OVERLOAD_STRIDE:
                self.stride, self._full_calls = self.stride * 2, 0
        else:
            self._calm_calls, self._full_calls = self._calm_calls + 1, 0
            if self._calm_calls >= BEHIND_CALLS and self.stride > 1:
                self.stride, self._calm_calls = self.stride // 2, 0
                if self.stride == 1:
                    self._log("info", f"caught up with the source: classifying again every window "
                                      f"picked ({self.skipped} skipped while behind)")  # fmt: skip

    def chosen(self, indices: np.ndarray) -> np.ndarray:
        """Which windows (by index in their stream, from 0) are classified: a bool per window."""
        picked = indices % self.classify_every == 0
        if self.stride == 1:
            return picked
        kept = picked & ((indices // self.classify_every) % self.stride == 0)
        self.skipped += int(picked.sum() - kept.sum())
        self._log_skips()
        return kept

    def _log_skips(self) -> None:
        now = self._clock()
        if now - self._logged_at < self.interval_s or self.skipped == self._logged_skipped:
            return
        self._log(
            "warn",
            f"behind the source (its input buffer stays full): classifying one window in "
            f"{self.stride * self.classify_every}; {self.skipped - self._logged_skipped} window(s) skipped "
            f"since the last report, {self.skipped} in all (on_overload='keep_up'; logged at most every "
            f"{self.interval_s:g} s)",
        )
        self._logged_at, self._logged_skipped = now, self.skipped


# ---- what is reported ------------------------------------------------------------------------------------


class Reporting:
    """The report mode and averaging of a block's signals (one state per key: a channel id, or 0).

    ``average`` 1 reports each window's own class (the averager is not even run, so results are the
    engine's bit for bit); N > 1 reports each window's decision over the last N classified windows of its
    signal, its confidence and averaged probabilities (exit and entropy stay the window's own), and a
    ``change`` report follows that decision's hysteresis."""

    def __init__(self, num_classes: int, average: int, report: str, report_every: int) -> None:
        self.averager = DecisionAverager(num_classes, average)  # checks average
        self.average = self.averager.average
        self.report, self.report_every = report, report_every
        self.reset()

    def reset(self) -> None:
        """A new run: every signal starts afresh."""
        self.averager.reset()
        self._seen: dict[Hashable, int] = {}
        self._previous: dict[Hashable, int | None] = {}

    def forget(self, key: Hashable) -> None:
        """A signal gone (a channel removed)."""
        self.averager.forget(key)
        self._seen.pop(key, None)
        self._previous.pop(key, None)

    def select(self, results: Results, key: Hashable = 0) -> tuple[Results, np.ndarray]:
        """The results to report for one signal's next classified windows (averaged with ``average`` >
        1), and the indices of the windows ``report`` selects of them."""
        seen, previous = self._seen.get(key, 0), self._previous.get(key)
        self._seen[key] = seen + len(results)
        if self.average > 1:
            decisions = self.averager.update(results.probabilities, results.classified, key)
            results = Results(
                results.classified,
                decisions.label,
                results.exit,
                results.entropy,
                decisions.confidence.astype(np.float32),
                decisions.probabilities.astype(np.float32),
            )
        if self.report == "change" and self.average > 1:
            mask = decisions.changed
        else:
            mask = report_mask(self.report, self.report_every, seen, results.label, previous)
        self._previous[key] = int(results.label[-1]) if len(results) else previous
        return results, np.flatnonzero(mask)


# ---- precision -------------------------------------------------------------------------------------------


def check_precision(precision: str) -> str:
    """The ``precision`` parameter, checked (ValueError naming the valid values)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def engine_for(model, device: str, precision: str, log: Log, adaptive_exits: bool = False) -> EarlyExitEngine:
    """The model's engine at ``precision`` on ``device``; what was chosen and why is logged once.

    ``auto`` is int8 on a CPU with fast int8 kernels when the model file has int8 parameters that passed
    their accuracy check, else fp32 (``quantization.resolve_precision``); ``int8`` where it cannot run
    (CUDA, a model file without int8 parameters) is a ValueError naming the fix. ``adaptive_exits``: the
    engine stops running an early exit that few windows leave at, probing it now and then."""
    check_precision(precision)
    chosen, reason = resolve_precision(precision, device, model)
    params = model.int8["params"] if chosen == "int8" else None
    engine = EarlyExitEngine(
        model.net,
        model.thresholds,
        device,
        precision=chosen,
        int8_params=params,
        adaptive_exits=adaptive_exits,
    )
    engine.warm_up()
    log("info", f"precision {reason}")
    return engine
