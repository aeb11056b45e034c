# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""One classification as a PMT message: the keys every block publishes, built with cached PMTs.

A window's message (``message_mode="window"``, ``MessageBuilder``) is a PMT dict: ``label`` (symbol),
``class`` (long), ``exit`` (long), ``entropy`` and ``confidence`` (double), ``unclassifiable`` (bool),
``offset`` (uint64, the window's first input sample), ``probabilities`` (f32vector in the model's class
order) and ``window`` (uint64, the window's index in its stream), plus
the extra keys a block adds (``channel``, ``freq_offset``, ``bandwidth``, ``snr_db``,
``window_samples``, ``freq``, and ``rx_freq`` / ``rx_time`` from upstream tags): ``MESSAGE_KEYS``.

A batch (``message_mode="batch"``, ``BatchBuilder``) carries every window one ``work()`` call reported
as a PMT dict of vectors, made from numpy arrays with nothing built per window: ``offsets`` (u64vector),
``windows`` (u64vector), ``classes`` and ``exits`` (s32vector), ``entropies`` and ``confidences``
(f32vector), ``probabilities`` (f32vector, windows x classes, row-major) and ``class_names`` (a vector of
symbols), plus the block's keys: shared by every window as a scalar (as ``rx_freq`` is when one tag
covers the whole batch), or one value per window in a column (``BATCH_COLUMNS``: ``channels``,
``freq_offsets`` ...; ``rx_time_seconds`` / ``rx_time_fractions`` for UHD's time stamps). ``records``
unrolls a batch into exactly the records the same windows' own messages give.

``to_json`` / ``records`` turn any such message (or a batch of them) into plain JSON types, the one
conversion the listener, the JSON lines sink and the SigMF annotations use.

``native_reports`` / ``NativeReports``: the same tags and window messages built and sent in C++ (the
``eeamc_native`` extension, native/reporting.cc), one call per ``work()`` call, where it was built and
imports; the blocks fall back to building them in Python otherwise, or with ``EEAMC_NATIVE=0``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pmt

UNCLASSIFIABLE = -1
#: Every key a classification message may carry (the classifier's, the channel classifier's, the scanner's).
MESSAGE_KEYS = frozenset(
    {
        "label", "class", "exit", "entropy", "confidence", "unclassifiable", "offset", "probabilities",
        "window", "rx_freq", "rx_time", "channel", "freq", "freq_offset", "bandwidth", "snr_db",
        "window_samples",
    }
)  # fmt: skip
#: Which windows a block reports: every one, those whose class differs from the previous window's, or
#: every ``report_every``-th.
REPORT_MODES = ("all", "change", "every_n")


#: A message key's symbol, made once per name (pmt.intern looks the name up in a table on every call).
message_key = functools.cache(pmt.intern)


def check_report(report: str, report_every: int) -> tuple[str, int]:
    """The report mode and its N, checked (ValueError naming the valid values)."""
    if report not in REPORT_MODES:
        raise ValueError(f"report must be one of {REPORT_MODES}, got {report!r}")
    if int(report_every) < 1:
        raise ValueError(f"report_every must be >= 1, got {report_every}")
    return report, int(report_every)


#: How a block publishes its reports: a message per window, or one per work() call with every window.
MESSAGE_MODES = ("window", "batch")


def check_message_mode(message_mode: str) -> str:
    """The message mode, checked (ValueError naming the valid values)."""
    if message_mode not in MESSAGE_MODES:
        raise ValueError(f"message_mode must be one of {MESSAGE_MODES}, got {message_mode!r}")
    return message_mode


def report_mask(
    report: str, report_every: int, seen: int, labels: np.ndarray, previous: int | None
) -> np.ndarray:
    """Which of a stream's next windows are reported (bool per window), without a loop over windows.

    ``seen``: how many windows of the stream came before these; ``labels``: their classes in order (-1
    unclassifiable); ``previous``: the class of the window before them (None: there was none)."""
    labels = np.asarray(labels)
    if report == "change":
        before = np.empty_like(labels)
        before[:1] = np.iinfo(labels.dtype).min if previous is None else previous  # no class is that
        before[1:] = labels[:-1]
        return labels != before
    if report == "every_n":
        return (seen + np.arange(len(labels))) % report_every == 0
    return np.ones(len(labels), dtype=bool)


class MessageBuilder:
    """Builds classification messages for one model's classes and exits (PMTs of small sets made once)."""

    def __init__(self, classes: Sequence[str], num_exits: int) -> None:
        self._labels = [pmt.intern(name) for name in classes]
        self._classes = [pmt.from_long(index) for index in range(len(classes))]
        self._exits = [pmt.from_long(index) for index in range(num_exits)]
        self._zero_probabilities = [0.0] * len(classes)

    def native_summaries(self) -> tuple[list[list[pmt.pmt_base]], pmt.pmt_base]:
        """What ``NativeReports`` starts each window's message from in this builder's key order: a dict
        of label, class and exit per (class, exit) (entropy, confidence and ``unclassifiable`` F follow),
        and the whole head of an unclassifiable window's message."""
        bases = [
            [self._head((("label", name), ("class", label), ("exit", exit))) for exit in self._exits]
            for name, label in zip(self._labels, self._classes)
        ]
        return bases, self._head(self._unclassifiable_fields())

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
        return self._finish(self._unclassifiable_fields(), self._zero_probabilities, offset, window, extra)

    @staticmethod
    def _unclassifiable_fields() -> tuple[tuple[str, pmt.pmt_base], ...]:
        return (
            ("label", pmt.intern("unclassifiable")),
            ("class", pmt.from_long(UNCLASSIFIABLE)),
            ("exit", pmt.from_long(-1)),
            ("entropy", pmt.from_double(float("nan"))),
            ("confidence", pmt.from_double(0.0)),
            ("unclassifiable", pmt.PMT_T),
        )

    @staticmethod
    def _head(fields: Sequence[tuple[str, pmt.pmt_base]]) -> pmt.pmt_base:
        message = pmt.make_dict()
        for name, value in fields:
            message = pmt.dict_add(message, message_key(name), value)
        return message

    def _finish(self, fields, probabilities, offset, window, extra) -> pmt.pmt_base:
        message = self._head(fields)
        message = pmt.dict_add(message, message_key("offset"), pmt.from_uint64(int(offset)))
        message = pmt.dict_add(
            message, message_key("probabilities"), pmt.init_f32vector(len(probabilities), list(probabilities))
        )
        message = pmt.dict_add(message, message_key("window"), pmt.from_uint64(int(window)))
        for name, value in extra.items():
            message = pmt.dict_add(message, message_key(name), value)
        return message


#: A batched message's per-window columns (``message_mode="batch"``) and the key each becomes in a
#: window's record. ``probabilities`` is windows x classes, row-major; ``class_names`` names the classes.
#: A column's None (a NaN in a float column) means the window has no such key, as its own message would.
BATCH_COLUMNS = {
    "offsets": "offset",
    "classes": "class",
    "exits": "exit",
    "entropies": "entropy",
    "confidences": "confidence",
    "windows": "window",
    "channels": "channel",
    "freq_offsets": "freq_offset",
    "bandwidths": "bandwidth",
    "snrs_db": "snr_db",
    "window_sample_counts": "window_samples",
    "freqs": "freq",
    "rx_freqs": "rx_freq",
    "rx_times": "rx_time",
}
#: UHD's rx_time (whole seconds, fraction) of each window in two columns (the record's [s, fraction]).
RX_TIME_COLUMNS = ("rx_time_seconds", "rx_time_fractions")
#: The keys of the core columns (every batch has them; a record always gets them, None or not).
_CORE = ("offset", "class", "exit", "entropy", "confidence", "window")


class BatchBuilder:
    """Builds the batched message of one work() call from numpy arrays (see the module docstring)."""

    def __init__(self, classes: Sequence[str]) -> None:
        self.num_classes = len(classes)
        self._names = pmt.make_vector(len(classes), pmt.PMT_NIL)
        for index, name in enumerate(classes):
            pmt.vector_set(self._names, index, pmt.intern(name))

    def message(
        self,
        offsets: np.ndarray,
        windows: np.ndarray,
        classes: np.ndarray,
        exits: np.ndarray,
        entropies: np.ndarray,
        confidences: np.ndarray,
        probabilities: np.ndarray,
        shared: dict[str, pmt.pmt_base],
        columns: dict[str, pmt.pmt_base],
    ) -> pmt.pmt_base:
        """The batch of these windows (one row each; ``probabilities`` [windows, classes]); ``shared``
        and ``columns`` hold the block's own keys, already PMTs (columns from ``column``)."""
        fields = {
            "offsets": u64_column(offsets),
            "windows": u64_column(windows),
            "classes": s32_column(classes),
            "exits": s32_column(exits),
            "entropies": f32_column(entropies),
            "confidences": f32_column(confidences),
            "probabilities": f32_column(np.asarray(probabilities).reshape(-1)),
            "class_names": self._names,
            **shared,
            **columns,
        }
        message = pmt.make_dict()
        for name, value in fields.items():
            message = pmt.dict_add(message, message_key(name), value)
        return message


# Lists convert faster than numpy arrays in GNU Radio 3.10's bindings (pybind11 reads each element).
def u64_column(values: np.ndarray) -> pmt.pmt_base:
    return pmt.init_u64vector(len(values), np.asarray(values, np.uint64).tolist())


def f32_column(values: np.ndarray) -> pmt.pmt_base:
    return pmt.init_f32vector(len(values), np.asarray(values, np.float32).tolist())


def f64_column(values: np.ndarray) -> pmt.pmt_base:
    return pmt.init_f64vector(len(values), np.asarray(values, np.float64).tolist())


def s32_column(values: np.ndarray) -> pmt.pmt_base:
    return pmt.init_s32vector(len(values), np.asarray(values, np.int32).tolist())


# ---- the same reports built in C++ (eeamc_native) --------------------------------------------------------

#: The environment variable that picks the reporting path: unset = C++ where it imports, else Python;
#: 0 = Python; 1 = C++ or an error saying why it cannot be had.
NATIVE_ENV = "EEAMC_NATIVE"
#: The extension's interface these blocks are written for (API_VERSION in native/reporting.cc).
NATIVE_API_VERSION = 1
#: The extension's module name (installed top-level next to the gnuradio package).
NATIVE_MODULE = "eeamc_native"
_REBUILD = "rerun scripts/setup.sh (or cmake + make install) to rebuild it"

#: ``log(level, text)``: level is a GNU Radio logger method name ("info", "warn", "error").
Log = Callable[[str, str], None]


@functools.cache
def _import_native() -> tuple[ModuleType | None, str, str]:
    """The extension (or None), a phrase saying where it came from or why it is not used, and the level
    at which a block logs that (a missing build is normal; one that does not import is a problem)."""
    try:
        module = importlib.import_module(NATIVE_MODULE)
    except ModuleNotFoundError as error:
        if error.name != NATIVE_MODULE:
            raise
        return None, f"{NATIVE_MODULE} is not built (CMake found no pybind11 or GNU Radio dev files)", "info"
    except Exception as error:  # noqa: BLE001 - an ABI mismatch shows as ImportError, or as anything
        return None, f"{NATIVE_MODULE} does not import ({type(error).__name__}: {error}); {_REBUILD}", "warn"
    version = getattr(module, "API_VERSION", None)
    if version != NATIVE_API_VERSION:
        return (
            None,
            f"{NATIVE_MODULE} at {module.__file__} has interface {version}, these blocks need "
            f"{NATIVE_API_VERSION}: {_REBUILD}",
            "warn",
        )
    stale = _stale_build(module)
    if stale:
        return None, stale, "warn"
    return module, f"{NATIVE_MODULE} from {module.__file__}", "info"


#: A checkout's source of the extension (absent where the package is installed): a build from other
#: source, e.g. an installed module older than the checkout being tested, is not used.
NATIVE_SOURCE = Path(__file__).resolve().parents[2] / "native" / "reporting.cc"


def _stale_build(module: ModuleType) -> str | None:
    """Why ``module`` was not built from this checkout's native/reporting.cc (None: it was, or there is
    no checkout source to compare with)."""
    if not NATIVE_SOURCE.is_file():
        return None
    source = hashlib.sha256(NATIVE_SOURCE.read_bytes()).hexdigest()
    if getattr(module, "SOURCE_SHA256", None) == source:
        return None
    return (
        f"{NATIVE_MODULE} at {module.__file__} was built from other source than this checkout's "
        f"{NATIVE_SOURCE} (a stale build): {_REBUILD}"
    )


def native_built() -> str | None:
    """Where an ``eeamc_native`` is on this Python's path (without importing it), or None: tests use
    this to require the C++ path wherever a build put one."""
    spec = importlib.util.find_spec(NATIVE_MODULE)
    return None if spec is None else spec.origin


def native_choice() -> tuple[ModuleType | None, str, str]:
    """Where the blocks build their reports, by ``EEAMC_NATIVE`` and what was built: the extension (or
    None for Python), a line saying which and why, and the level to log it at.

    Raises ValueError for an ``EEAMC_NATIVE`` other than unset, 0 or 1, and for 1 where the extension
    cannot be used (naming why)."""
    setting = os.environ.get(NATIVE_ENV, "")
    if setting not in ("", "0", "1"):
        raise ValueError(
            f"{NATIVE_ENV}={setting!r}: use 0 (reports built in Python), 1 (in C++, or fail) or leave it "
            "unset (C++ where it imports)"
        )
    if setting == "0":
        return None, f"reports: tags and messages built in Python ({NATIVE_ENV}=0)", "info"
    module, source, level = _import_native()
    if module is None:
        if setting == "1":
            raise ValueError(f"{NATIVE_ENV}=1 asks for reports built in C++, but {source}")
        return None, f"reports: tags and messages built in Python: {source}", level
    return module, f"reports: tags and messages built in C++ ({source})", "info"


def native_reports(
    log: Log,
    block: Any,
    port: pmt.pmt_base,
    tag_key: pmt.pmt_base,
    bases: list[list[pmt.pmt_base]],
    unclassifiable: pmt.pmt_base,
    flag_key: pmt.pmt_base | None,
) -> NativeReports | None:
    """A block's C++ reporter, or None where it reports in Python: ``native_choice`` decides, and the
    block's log says which, once (a block calls this when it is made).

    ``bases[label][exit]``: the dict each window of that class and exit starts from; ``unclassifiable``:
    the whole head of an unclassifiable window's; ``flag_key``: None where the bases already hold
    ``unclassifiable`` (the classifier's tags), else its key, added as False after entropy and confidence
    (``MessageBuilder``'s order).

    An extension that imports but refuses the block's PMTs (a pybind11 build that shares no types with
    GNU Radio's bindings gives a TypeError here) is logged and the block reports in Python; with
    ``EEAMC_NATIVE=1`` that is a ValueError saying why."""
    module, line, level = native_choice()
    if module is None:
        log(level, line)
        return None
    try:
        reporter = module.Reporter(
            block.to_basic_block(),
            port,
            tag_key,
            bases,
            unclassifiable,
            pmt.PMT_NIL if flag_key is None else flag_key,
        )
    except Exception as error:  # noqa: BLE001 - any failure here leaves the Python path, which works
        why = f"{NATIVE_MODULE} refused this block ({type(error).__name__}: {error}); {_REBUILD}"
        if os.environ.get(NATIVE_ENV) == "1":
            raise ValueError(f"{NATIVE_ENV}=1 asks for reports built in C++, but {why}") from error
        log("warn", f"reports: tags and messages built in Python: {why}")
        return None
    log(level, line)
    return NativeReports(reporter, log)


class NativeReports:
    """A block's C++ reporter (an ``eeamc_native.Reporter``, made by ``native_reports``): one ``report``
    call per work() call tags and publishes its reported windows, with the PMT dicts the Python path
    builds."""

    def __init__(self, reporter: Any, log: Log) -> None:
        self._reporter = reporter
        self._log = log

    @property
    def calls(self) -> int:
        """report() calls that tagged or published (the tests check that the C++ path ran)."""
        return self._reporter.calls

    def report(
        self,
        offsets: np.ndarray,
        windows: np.ndarray,
        results: Any,
        columns: list[tuple],
        tag: bool,
        publish: bool,
    ) -> bool:
        """Tag (``tag``) and publish (``publish``) these windows; ``results`` holds their rows (label -1:
        unclassifiable), ``columns`` their metadata keys in message order (``UpstreamTags.window_columns``).

        False when the extension failed (logged once, with nothing tagged or sent: it checks everything
        first): the caller then reports these windows in Python, as it should every later call."""
        try:
            self._reporter.report(
                np.ascontiguousarray(offsets, dtype=np.uint64),
                np.ascontiguousarray(windows, dtype=np.uint64),
                np.ascontiguousarray(results.label, dtype=np.int64),
                np.ascontiguousarray(results.exit, dtype=np.int64),
                np.ascontiguousarray(results.entropy, dtype=np.float32),
                np.ascontiguousarray(results.confidence, dtype=np.float32),
                np.ascontiguousarray(results.probabilities, dtype=np.float32),
                columns,
                tag,
                publish,
            )
        except Exception as error:  # noqa: BLE001 - a running flowgraph must survive a bad call
            self._log(
                "error",
                f"{NATIVE_MODULE} failed ({type(error).__name__}: {error}): reports are built in Python from "
                "now on (logged once)",
            )
            return False
        return True


# ---- plain JSON types (the listener, the JSON lines sink and the SigMF writer share these) ----------------


def to_json(message: pmt.pmt_base) -> Any:
    """A PMT as plain JSON types: dicts (symbol keys as strings, in the order they were added), lists,
    numbers, strings, booleans and None.

    Uniform vectors (``probabilities``, a batch's columns) and tuples become lists, so ``rx_time`` (UHD's
    tuple of whole seconds and a fractional second) becomes ``[seconds, fraction]``; a complex number
    becomes ``[real, imag]``; NaN and infinities become None, so the result is strict JSON (``jq``
    rejects NaN), e.g. the entropy of an unclassifiable window. float32 values are written as the
    shortest decimal that reads back as the same float32.
    """
    if pmt.is_uniform_vector(message):
        return plain(_uniform_elements(message))
    if pmt.is_vector(message):
        return [to_json(pmt.vector_ref(message, i)) for i in range(pmt.length(message))]
    if pmt.is_tuple(message):
        return [to_json(pmt.tuple_ref(message, i)) for i in range(pmt.length(message))]
    if pmt.is_pair(message):
        pairs = _association_list(message)
        if pairs is None:
            items = _list_items(message)
            if items is None:  # a plain pair (car . cdr)
                return [to_json(pmt.car(message)), to_json(pmt.cdr(message))]
            return [to_json(item) for item in items]
        # A PMT dict lists its newest key first; reversed, keys read in the order the block added them.
        return {str(to_json(key)): to_json(value) for key, value in reversed(pairs)}
    return plain(pmt.to_python(message))  # a scalar, a symbol, a bool or nil


#: Uniform vectors that pmt.to_python does not convert (GNU Radio 3.10), and how to read them.
_ELEMENTS = (
    (pmt.is_u64vector, pmt.u64vector_elements),
    (pmt.is_s64vector, pmt.s64vector_elements),
    (pmt.is_s8vector, pmt.s8vector_elements),
)


def _uniform_elements(vector: pmt.pmt_base) -> Any:
    for is_kind, elements in _ELEMENTS:
        if is_kind(vector):
            return list(elements(vector))
    return pmt.to_python(vector)  # a numpy array


def _association_list(value: pmt.pmt_base) -> list[tuple[pmt.pmt_base, pmt.pmt_base]] | None:
    """The (key, value) pairs of a PMT dict (a list of pairs), or None when ``value`` is not one."""
    pairs, node = [], value
    while pmt.is_pair(node):
        entry = pmt.car(node)
        if not pmt.is_pair(entry) or pmt.is_pair(pmt.car(entry)):
            return None  # an entry is (key . value) with a key that is no list: else this is a list
        pairs.append((pmt.car(entry), pmt.cdr(entry)))
        node = pmt.cdr(node)
    return pairs if pmt.is_null(node) else None


def _list_items(value: pmt.pmt_base) -> list[pmt.pmt_base] | None:
    """The items of a proper PMT list (pairs ending in nil), or None when ``value`` is not one."""
    items, node = [], value
    while pmt.is_pair(node):
        items.append(pmt.car(node))
        node = pmt.cdr(node)
    return items if pmt.is_null(node) else None


def plain(value: Any) -> Any:
    """A Python value (numpy's included) as plain JSON types (see ``to_json``)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        if value.dtype == np.float32:
            # The shortest decimal that reads back as the same float32 (0.1, not 0.10000000149011612).
            return [plain(float(text)) for text in value.astype(str).tolist()]
        return [plain(item) for item in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, complex):
        return [plain(value.real), plain(value.imag)]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(message: pmt.pmt_base) -> list[dict[str, Any]]:
    """The classification records of one message, in plain JSON types: one for a window's message, one
    per window for a batch (unrolled), each item's for a PMT list or vector of them.

    Raises ValueError for a message that holds no classification dict (say which)."""
    return unroll(to_json(message))


def unroll(value: Any) -> list[dict[str, Any]]:
    """``records`` for a value already in plain JSON types."""
    if isinstance(value, list):
        return [record for item in value for record in unroll(item)]
    if not isinstance(value, dict):
        raise ValueError(
            f"not a classification message (a {type(value).__name__}, not a dict): {value!r:.80}"
        )
    return unroll_batch(value) if is_batch(value) else [value]


def is_batch(record: dict[str, Any]) -> bool:
    """Whether a dict is a batched message (columns of windows) rather than one window's."""
    return isinstance(record.get("classes"), list) and "label" not in record


def unroll_batch(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per window of a batch, keyed as a window's message is.

    Each window gets its column entries under the singular key (``offsets`` -> ``offset`` ...), its row
    of ``probabilities``, ``label`` from ``class_names`` (``unclassifiable`` for class -1) and
    ``unclassifiable``; ``window`` counts on from a batch's scalar ``window`` (the first window's) when
    it has no ``windows`` column. The other columns (``BATCH_COLUMNS``, ``RX_TIME_COLUMNS``) give each
    window its value (none where None); every other key (channel, frequencies, rx_time ...) is shared."""
    columns = {
        key: batch[key] for key in (*BATCH_COLUMNS, *RX_TIME_COLUMNS) if isinstance(batch.get(key), list)
    }
    count = len(columns["classes"])
    if any(len(column) != count for column in columns.values()):
        lengths = {key: len(column) for key, column in columns.items()}
        raise ValueError(f"a batch whose columns differ in length: {lengths}")
    names = batch.get("class_names") or []
    probabilities = batch.get("probabilities") or []
    width = len(names) or (len(probabilities) // count if count else 0)
    if len(probabilities) != count * width:
        raise ValueError(
            f"a batch of {count} windows with {len(probabilities)} probabilities (not {count} x {width})"
        )
    shared = {
        key: value
        for key, value in batch.items()
        if key not in columns and key not in ("class_names", "probabilities", "window")
    }
    out = []
    for index in range(count):
        window = {BATCH_COLUMNS.get(key, key): column[index] for key, column in columns.items()}
        label = window["class"]
        record = {
            "label": names[label] if 0 <= label < len(names) else "unclassifiable",
            "class": label,
            "exit": window.get("exit"),
            "entropy": window.get("entropy"),
            "confidence": window.get("confidence"),
            "unclassifiable": label == UNCLASSIFIABLE,
            "offset": window.get("offset"),
            "probabilities": probabilities[index * width : (index + 1) * width],
        }
        if "window" in window or "window" in batch:
            record["window"] = window["window"] if "window" in window else batch["window"] + index
        record.update(_window_extras(window, columns, index))
        out.append({**record, **shared})
    return out


def _window_extras(window: dict[str, Any], columns: dict[str, list], index: int) -> dict[str, Any]:
    """A window's values of the batch's columns beyond the core ones (None: the window has none)."""
    extras = {key: value for key, value in window.items() if key not in (*_CORE, *RX_TIME_COLUMNS)}
    seconds, fractions = (columns.get(name) for name in RX_TIME_COLUMNS)
    if seconds is not None and fractions is not None:
        extras["rx_time"] = None if fractions[index] is None else [seconds[index], fractions[index]]
    return {key: value for key, value in extras.items() if value is not None}
