# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What both classifying blocks need to keep going in a running flowgraph.

``eeamc.classifier`` and ``eeamc.multi_channel_classifier`` (inside ``scanner`` and
``channel_classifier``) share three things here, so that they behave alike:

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
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pmt
import torch

from .engine import EarlyExitEngine, classify_in_batches
from .windows import normalize, valid_windows

#: Upstream tags whose value at a window's first sample its message carries (USRP / RTL-SDR sources).
METADATA_KEYS = ("rx_freq", "rx_time")
#: The sample rate a radio source states (UHD and gr-osmosdr tag it; a double, S/s).
RX_RATE = "rx_rate"
#: A failing engine is logged at most this often (s) after its first failure.
FAILURE_LOG_INTERVAL_S = 5.0

#: ``log(level, text)``: level is a GNU Radio logger method name ("warn", "error", "info").
Log = Callable[[str, str], None]
T = TypeVar("T")


# ---- upstream tags and time stamps ---------------------------------------------------------------------


def time_after(value: pmt.pmt_base, seconds: float) -> pmt.pmt_base | None:
    """An ``rx_time`` value moved on by ``seconds``, in the same form: UHD's (uint64 s, double fraction)
    tuple, or a plain number; None if ``value`` is neither (it cannot be advanced)."""
    if pmt.is_tuple(value) and pmt.length(value) == 2:
        whole, fraction = pmt.tuple_ref(value, 0), pmt.tuple_ref(value, 1)
        if not (pmt.is_integer(whole) or pmt.is_uint64(whole)) or not pmt.is_number(fraction):
            return None
        whole = pmt.to_uint64(whole) if pmt.is_uint64(whole) else pmt.to_long(whole)
        # The whole seconds stay an integer: a double holding seconds since 1970 keeps only ~0.1 us.
        total = pmt.to_double(fraction) + seconds
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
    """Per-window results of one work() call as Python lists (indexing a tensor costs microseconds, paid
    several times per reported window otherwise); ``classified[i]`` False: window i is unclassifiable."""

    classified: list[bool]
    label: list[int]
    exit: list[int]
    entropy: list[float]
    confidence: list[float]
    probabilities: list[list[float]]

    @classmethod
    def unclassifiable(cls, count: int, num_classes: int) -> Results:
        """``count`` windows none of which could be classified."""
        return cls([False] * count, [-1] * count, [-1] * count, [math.nan] * count, [0.0] * count,
                   [[0.0] * num_classes] * count)  # fmt: skip


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

        def spread(values: torch.Tensor, fill: float) -> list:
            """One row per window: the engine's row for a classified window, ``fill`` for the others."""
            rows = np.full((count, *values.shape[1:]), fill, dtype=values.numpy().dtype)
            rows[valid] = values.numpy()
            rows[~classified] = fill
            return rows.tolist()

        return Results(
            classified.tolist(),
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
