# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""eeamc_native (native/reporting.cc): the tags and window messages the blocks build in C++ are exactly
the ones they build in Python.

Each test runs the same real flowgraph twice, once with the extension and once with EEAMC_NATIVE=0, and
compares every tag (offset, key, srcid, value) and every message by their PMT serialisation, which
holds each value's type (symbol, long, uint64, double, f32vector, bool, tuple) and bits (NaN included).
The engine runs one window per call (max_batch 1), so that a window's float results do not depend on how
the scheduler cut the stream into work() calls. Where the extension is not built these tests are skipped
(saying so); where it is built but does not import, they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pmt
import pytest
from gnuradio import blocks, eeamc, gr
from gnuradio.eeamc import reports
from gnuradio.eeamc.qa_classifier import L, noise, rx_time, tag, tags_named, write_model

from training.wideband import BAND_RATE, band

ROOT = Path(__file__).resolve().parents[1]


def native_or_skip():
    """The extension; the test is skipped where none was built, and fails where one does not import."""
    built = reports.native_built()
    if built is None:
        pytest.skip(
            "no eeamc_native on this Python's path (not built: no pybind11-dev when CMake ran; or not "
            "installed: scripts/setup.sh): the blocks report in Python"
        )
    module, source, _ = reports._import_native()
    assert module is not None, f"eeamc_native was built ({built}) but is not usable: {source}"
    return module


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("model") / "v1.pt")
    write_model(path)
    return path


@pytest.fixture
def native():
    return native_or_skip()


def stream() -> tuple[np.ndarray, list[gr.tag_t]]:
    """150 windows with an unclassifiable (NaN) and an all-zero window; rx_freq from window 3 (a double,
    later a long), UHD rx_time from window 10 (and again later), an rx_rate tag that changes the rate
    windows are dated at from window 100."""
    samples = noise(150, seed=3)
    samples[20 * L + 5] = np.nan
    samples[40 * L : 41 * L] = 0
    tags = [
        tag(3 * L + 7, "rx_freq", pmt.from_double(433.92e6)),
        tag(10 * L, "rx_time", rx_time(1_700_000_000, 0.875)),
        tag(60 * L + 1, "rx_freq", pmt.from_long(868_000_000)),
        tag(70 * L + 3, "rx_time", rx_time(1_700_000_123, 0.5)),
        tag(100 * L, "rx_rate", pmt.from_double(1e6)),
    ]
    return samples, tags


def run_classifier(monkeypatch, native: bool, samples, tags, prepare=None, **options):
    """The classifier's tags ("amc") and messages of one run, and the block."""
    monkeypatch.setenv(reports.NATIVE_ENV, "1" if native else "0")
    top = gr.top_block()
    block = eeamc.classifier(device="cpu", max_batch=1, **options)
    if prepare:
        prepare(block)
    sink = blocks.vector_sink_c()
    debug = blocks.message_debug()
    top.connect(blocks.vector_source_c(samples.tolist(), False, 1, tags), block, sink)
    top.msg_connect(block, "classification", debug, "store")
    top.run()
    messages = [debug.get_message(i) for i in range(debug.num_messages())]
    return block, tags_named(sink, "amc"), messages


def serialized(value: pmt.pmt_base) -> bytes:
    return pmt.serialize_str(value)


def assert_same_tags(first: list[gr.tag_t], second: list[gr.tag_t]) -> None:
    assert len(first) == len(second), f"{len(first)} tags against {len(second)}"
    for index, (a, b) in enumerate(zip(first, second)):
        assert (a.offset, pmt.symbol_to_string(a.key)) == (b.offset, pmt.symbol_to_string(b.key)), index
        assert pmt.equal(a.srcid, b.srcid), f"tag {index}: srcid {a.srcid} against {b.srcid}"
        assert serialized(a.value) == serialized(b.value), f"tag {index}: {a.value} against {b.value}"


def assert_same_messages(first: list[pmt.pmt_base], second: list[pmt.pmt_base]) -> None:
    assert len(first) == len(second), f"{len(first)} messages against {len(second)}"
    for index, (a, b) in enumerate(zip(first, second)):
        assert serialized(a) == serialized(b), f"message {index}:\n{a}\nagainst\n{b}"


def compare_classifier_runs(monkeypatch, samples, tags, **options):
    """Both paths' tags and messages, asserted identical; returns the C++ run's."""
    cpp = run_classifier(monkeypatch, True, samples, tags, **options)
    python = run_classifier(monkeypatch, False, samples, tags, **options)
    assert cpp[0].reports_in_cpp and not python[0].reports_in_cpp
    assert_same_tags(cpp[1], python[1])
    assert_same_messages(cpp[2], python[2])
    assert cpp[1], "the run reported something"
    return cpp


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"report": "change"},
        {"report": "every_n", "report_every": 4},
        {"classify_every": 3},
        {"average": 4, "report": "change"},
        {"samp_rate": 2e6},
    ],
    ids=str,
)
def test_classifier_tags_and_window_messages_are_the_pythons(monkeypatch, native, model_path, options):
    samples, tags = stream()
    block, cpp_tags, messages = compare_classifier_runs(
        monkeypatch, samples, tags, model=model_path, **options
    )
    # One C++ call per work() call, not per window.
    assert 0 < block._native.calls < len(cpp_tags) or len(cpp_tags) == 1
    records = [pmt.to_python(message) for message in messages]
    assert "rx_freq" not in records[0] and "rx_time" not in records[0], "no tag before the first window"
    assert any(isinstance(record.get("rx_time"), tuple) for record in records)
    if not options:
        assert records[20]["unclassifiable"] and records[40]["unclassifiable"]
        assert records[70]["rx_freq"] == 868_000_000 and records[5]["rx_freq"] == 433.92e6


def test_classifier_message_types(monkeypatch, native, model_path):
    """The PMT types of a window's message, as reports.py documents them (the comparisons above then
    hold them for both paths)."""
    samples, tags = stream()
    _, cpp_tags, messages = run_classifier(monkeypatch, True, samples, tags, model=model_path)
    message = messages[80]
    checks = {
        "label": pmt.is_symbol,
        "class": pmt.is_integer,
        "exit": pmt.is_integer,
        "entropy": pmt.is_real,
        "confidence": pmt.is_real,
        "unclassifiable": pmt.is_bool,
        "offset": pmt.is_uint64,
        "probabilities": pmt.is_f32vector,
        "window": pmt.is_uint64,
        "rx_freq": pmt.is_integer,
        "rx_time": pmt.is_tuple,
    }
    for key, is_type in checks.items():
        assert is_type(pmt.dict_ref(message, pmt.intern(key), pmt.PMT_NIL)), key
    stamp = pmt.dict_ref(message, pmt.intern("rx_time"), pmt.PMT_NIL)
    assert pmt.is_uint64(pmt.tuple_ref(stamp, 0)) and pmt.is_real(pmt.tuple_ref(stamp, 1))
    assert pmt.to_uint64(pmt.dict_ref(message, pmt.intern("offset"), pmt.PMT_NIL)) == cpp_tags[80].offset


def test_classifier_batch_mode_tags_go_through_cpp_and_its_batches_are_unchanged(
    monkeypatch, native, model_path
):
    """Tags compared as above; batches hold the windows of a work() call, which the scheduler cuts
    differently from run to run, so they are compared window by window (reports.records, exact)."""
    samples, tags = stream()
    cpp = run_classifier(monkeypatch, True, samples, tags, model=model_path, message_mode="batch")
    python = run_classifier(monkeypatch, False, samples, tags, model=model_path, message_mode="batch")
    assert cpp[0].reports_in_cpp and cpp[0]._native.calls > 0 and not python[0].reports_in_cpp
    assert_same_tags(cpp[1], python[1])
    assert len(cpp[1]) == 150
    assert all(reports.is_batch(reports.to_json(message)) for message in cpp[2])
    unrolled = [
        [record for message in run[2] for record in reports.records(message)] for run in (cpp, python)
    ]
    assert len(unrolled[0]) == 150 and unrolled[0] == unrolled[1]


def test_classifier_rx_time_of_another_form_and_no_subscriber(monkeypatch, native, model_path):
    """A plain-number rx_time (each window's own value, worked out in Python) and a message port nobody
    listens to (tags only)."""
    samples = noise(30, seed=4)
    tags = [tag(2 * L, "rx_time", pmt.from_double(12.5)), tag(0, "rx_freq", pmt.from_double(1e9))]
    compare_classifier_runs(monkeypatch, samples, tags, model=model_path)

    def unsubscribed(native: bool):
        monkeypatch.setenv(reports.NATIVE_ENV, "1" if native else "0")
        top = gr.top_block()
        block = eeamc.classifier(model=model_path, device="cpu", max_batch=1)
        sink = blocks.vector_sink_c()
        top.connect(blocks.vector_source_c(samples.tolist(), False, 1, tags), block, sink)
        top.run()
        return tags_named(sink, "amc")

    assert_same_tags(unsubscribed(True), unsubscribed(False))


def test_a_failing_cpp_call_logs_once_and_reports_the_same_in_python(monkeypatch, native, model_path):
    """The extension checks its input before it tags or sends anything: a call it refuses leaves nothing
    behind, and the block reports the same windows in Python from then on."""
    from gnuradio.eeamc.qa_classifier import RecordingLogger

    samples, tags = stream()
    logger = RecordingLogger()

    def break_first_call(block):
        block.logger = logger
        good = block._tags.window_columns
        block._tags.window_columns = lambda *args: [("no such kind", pmt.intern("x"), 0)] + good(*args)

    broken = run_classifier(monkeypatch, True, samples, tags, prepare=break_first_call, model=model_path)
    python = run_classifier(monkeypatch, False, samples, tags, model=model_path)
    assert not broken[0].reports_in_cpp, "the block reports in Python after the failure"
    errors = logger.at("error")
    assert len(errors) == 1 and "unknown metadata column kind 'no such kind'" in errors[0], errors
    assert_same_tags(broken[1], python[1])
    assert_same_messages(broken[2], python[2])


def one_window(classes: int) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """report()'s arrays for one window at offset 0 of class 0, exit 0: (offsets ... confidences), and
    its probabilities row."""
    one = np.zeros(1, dtype=np.uint64)
    args = (one, one, np.array([0]), np.array([0]), np.zeros(1, np.float32), np.zeros(1, np.float32))
    return args, np.zeros((1, classes), np.float32)


def test_bad_input_to_the_reporter_is_a_clear_error(native, model_path):
    block = eeamc.classifier(model=model_path, device="cpu")
    port, key, bases = pmt.intern("classification"), pmt.intern("amc"), block._tag_bases
    reporter = native.Reporter(block.to_basic_block(), port, key, bases, pmt.PMT_NIL, pmt.PMT_NIL)
    classes = len(block.classes)
    args, rows = one_window(classes)
    one = args[0]
    with pytest.raises(
        ValueError, match=rf"probabilities must be \[windows, classes\], one row of the {classes}"
    ):
        reporter.report(*args, np.zeros((1, 3), np.float32), [], True, False)
    with pytest.raises(ValueError, match="windows must be a 1-D array of one entry per window"):
        reporter.report(one, np.zeros(2, np.uint64), *args[2:], rows, [], True, False)
    with pytest.raises(ValueError, match=f"class 99, exit 0 is not one of the model's {classes} classes"):
        reporter.report(*args[:2], np.array([99]), *args[3:], rows, [], True, False)
    with pytest.raises(ValueError, match="metadata column 'offset' would add a key the message already has"):
        reporter.report(*args, rows, [("shared", pmt.intern("offset"), pmt.PMT_T)], False, True)
    with pytest.raises(ValueError, match="unknown metadata column kind 'nope'"):
        reporter.report(*args, rows, [("nope", pmt.intern("x"), pmt.PMT_T)], False, True)
    assert reporter.calls == 0
    with pytest.raises(ValueError, match="no output message port nowhere"):
        native.Reporter(block.to_basic_block(), pmt.intern("nowhere"), key, bases, pmt.PMT_NIL, pmt.PMT_NIL)
    holding_offset = [[pmt.dict_add(pmt.make_dict(), pmt.intern("offset"), pmt.PMT_T)]]
    with pytest.raises(ValueError, match="already holds 'offset', a key it adds itself"):
        native.Reporter(block.to_basic_block(), port, key, holding_offset, pmt.PMT_NIL, pmt.PMT_NIL)


def test_the_environment_variable_is_checked(monkeypatch, model_path):
    monkeypatch.setenv(reports.NATIVE_ENV, "yes")
    with pytest.raises(ValueError, match="EEAMC_NATIVE='yes': use 0"):
        eeamc.classifier(model=model_path, device="cpu")
    monkeypatch.setenv(reports.NATIVE_ENV, "1")
    monkeypatch.setattr(reports, "_import_native", lambda: (None, "eeamc_native is not built (test)", "info"))
    with pytest.raises(
        ValueError, match=r"EEAMC_NATIVE=1 asks for reports built in C\+\+, but eeamc_native is"
    ):
        eeamc.classifier(model=model_path, device="cpu")
    monkeypatch.delenv(reports.NATIVE_ENV)
    assert not eeamc.classifier(model=model_path, device="cpu").reports_in_cpp


def test_where_built_the_blocks_use_it_by_default(monkeypatch, native, model_path):
    """A build that does not import, or a block that quietly reports in Python, fails here."""
    monkeypatch.delenv(reports.NATIVE_ENV, raising=False)
    assert native.API_VERSION == reports.NATIVE_API_VERSION
    assert eeamc.classifier(model=model_path, device="cpu").reports_in_cpp
    assert eeamc.multi_channel_classifier(BAND_RATE, model=model_path, device="cpu").reports_in_cpp


def scanner_messages(monkeypatch, native: bool, samples, **options) -> list[pmt.pmt_base]:
    monkeypatch.setenv(reports.NATIVE_ENV, "1" if native else "0")
    scanner = eeamc.scanner(BAND_RATE, device="cpu", precision="fp32", max_batch=1, **options)
    assert scanner.classifier.reports_in_cpp == native
    tags = [
        tag(0, "rx_time", rx_time(1_700_000_000, 0.75)),
        tag(500_000, "rx_freq", pmt.from_double(433.5e6)),
    ]
    top = gr.top_block()
    debug = blocks.message_debug()
    top.connect(blocks.vector_source_c(samples.tolist(), False, 1, tags), scanner)
    top.msg_connect(scanner, "classification", debug, "store")
    top.run()
    return [debug.get_message(i) for i in range(debug.num_messages())]


@pytest.mark.parametrize("options", [{}, {"report": "change"}], ids=str)
def test_scanner_window_messages_are_the_pythons(monkeypatch, native, options):
    """The multi-channel classifier's keys (channel, freq_offset, bandwidth, snr_db, window_samples,
    freq) and its key order, two channels' windows in one C++ call."""
    samples, _ = band([("QPSK", -401.3e3), ("BPSK", 253.1e3)], 0.3, freq_error=0, seed=5)
    cpp = scanner_messages(monkeypatch, True, samples, **options)
    assert_same_messages(cpp, scanner_messages(monkeypatch, False, samples, **options))
    records = [pmt.to_python(message) for message in cpp]
    assert {record["channel"] for record in records} == {0, 1}
    # rx_freq arrives at sample 500,000: no window that ends before it has a frequency. With report
    # "change" the messages are only those where a decision changed, perhaps none after the tag.
    before = [record for record in records if record["offset"] + record["window_samples"] <= 500_000]
    assert before and not any("freq" in record for record in before)
    if not options:
        assert any("freq" in record for record in records)


def test_tagging_outside_a_started_flowgraph_is_a_clear_error(native, model_path):
    """gr::block::add_item_tag dereferences the block's detail, which a block gets only in a started
    flowgraph: report(tag=True) on a block outside one crashed the process (segmentation fault)."""
    block = eeamc.classifier(model=model_path, device="cpu")
    reporter = native.Reporter(
        block.to_basic_block(), pmt.intern("classification"), pmt.intern("amc"), block._tag_bases,
        block._unclassifiable_tag, pmt.PMT_NIL,
    )  # fmt: skip
    args, rows = one_window(len(block.classes))
    with pytest.raises(ValueError, match="no output buffer to tag .* started flowgraph"):
        reporter.report(*args, rows, [], True, False)
    assert reporter.calls == 0


class HierListener(gr.hier_block2):
    """A hier block with a message input that a message_debug inside it stores."""

    def __init__(self) -> None:
        gr.hier_block2.__init__(self, "listener", gr.io_signature(0, 0, 0), gr.io_signature(0, 0, 0))
        self.message_port_register_hier_in("in")
        self.debug = blocks.message_debug()
        self.msg_connect(self, "in", self.debug, "store")


def test_a_hier_block_subscribed_by_hand_is_skipped_as_message_port_pub_does(monkeypatch, native, model_path):
    """message_port_pub posts through msg_accepter::post, which drops a message to a hier_block2 (it has
    no queue; msg_connect to one is resolved to the block inside when the flowgraph is flattened). The
    C++ path posted to its queue instead, which threw half way through a call after the first window's
    tag: the Python fallback then tagged that window again (21 tags for 20 windows)."""
    port = pmt.intern("classification")

    def subscribe_a_hier_block(block):
        block.listener = HierListener()  # kept alive: the registry looks subscribers up by name
        block.message_port_sub(port, pmt.cons(block.listener.alias_pmt(), pmt.intern("in")))

    samples = noise(20, seed=6)
    cpp = run_classifier(monkeypatch, True, samples, [], prepare=subscribe_a_hier_block, model=model_path)
    python = run_classifier(monkeypatch, False, samples, [], prepare=subscribe_a_hier_block, model=model_path)
    assert cpp[0].reports_in_cpp, "the C++ path went on (nothing failed)"
    assert len(cpp[1]) == 20 and len(cpp[2]) == 20
    assert_same_tags(cpp[1], python[1])
    assert_same_messages(cpp[2], python[2])
    assert cpp[0].listener.debug.num_messages() == 0 == python[0].listener.debug.num_messages()


def test_a_subscriber_without_that_input_port_is_refused_before_anything_is_sent(native, model_path):
    """A block subscribed to a port it has no queue for (message_port_pub throws on it as well) is found
    before the first window: an exception after some windows went out would have them reported twice."""
    block = eeamc.classifier(model=model_path, device="cpu")
    port = pmt.intern("classification")
    debug = blocks.message_debug()
    block.message_port_sub(port, pmt.cons(debug.alias_pmt(), pmt.intern("store")))
    block.message_port_sub(port, pmt.cons(debug.alias_pmt(), pmt.intern("no_such_port")))
    reporter = native.Reporter(
        block.to_basic_block(), port, pmt.PMT_NIL, block._tag_bases, block._unclassifiable_tag, pmt.PMT_NIL
    )
    args, rows = one_window(len(block.classes))
    with pytest.raises(ValueError, match=r"subscriber \(message_debug\d+ \. no_such_port\) has no input"):
        reporter.report(*args, rows, [], False, True)
    assert reporter.calls == 0


class RefusingModule:
    """An extension that imports but takes no PMT or block of GNU Radio's: what a build against another
    pybind11 than GNU Radio's (other internals, where pmt_t is unknown) does when a block makes its
    Reporter. (Such a build now refuses to import, naming why; this is the fallback behind that.)"""

    API_VERSION = reports.NATIVE_API_VERSION
    __file__ = "/elsewhere/eeamc_native.so"

    class Reporter:
        def __init__(self, *args):
            raise TypeError("__init__(): incompatible constructor arguments")


def test_an_extension_that_refuses_the_blocks_pmts_leaves_them_in_python(monkeypatch, model_path):
    """The block is made and reports in Python, saying why (it raised the TypeError before); with
    EEAMC_NATIVE=1 that is a ValueError."""
    monkeypatch.setattr(reports, "_import_native", lambda: (RefusingModule, "eeamc_native from test", "info"))
    monkeypatch.delenv(reports.NATIVE_ENV, raising=False)
    lines = []
    block = eeamc.classifier(model=model_path, device="cpu")
    assert not block.reports_in_cpp
    assert not eeamc.multi_channel_classifier(BAND_RATE, model=model_path, device="cpu").reports_in_cpp
    made = reports.native_reports(
        lambda level, text: lines.append((level, text)), block, pmt.intern("classification"),
        pmt.intern("amc"), block._tag_bases, block._unclassifiable_tag, None,
    )  # fmt: skip
    assert made is None
    assert len(lines) == 1 and lines[0][0] == "warn", lines
    assert (
        "built in Python: eeamc_native refused this block (TypeError: __init__(): incompatible" in lines[0][1]
    )
    monkeypatch.setenv(reports.NATIVE_ENV, "1")
    with pytest.raises(
        ValueError, match=r"EEAMC_NATIVE=1 asks for reports built in C\+\+, but eeamc_native refused"
    ):
        eeamc.classifier(model=model_path, device="cpu")


@pytest.fixture
def fresh_import():
    """_import_native's answer worked out again, before and after the test (it is cached)."""
    reports._import_native.cache_clear()
    yield
    reports._import_native.cache_clear()


def test_a_build_from_other_source_than_the_checkouts_is_not_used(
    monkeypatch, native, tmp_path, fresh_import
):
    """An eeamc_native built before native/reporting.cc changed (setup.sh not rerun) is not used by the
    checkout's blocks: its SOURCE_SHA256 is not the source's."""
    assert native.SOURCE_SHA256 == reports.hashlib.sha256(reports.NATIVE_SOURCE.read_bytes()).hexdigest()
    edited = tmp_path / "reporting.cc"
    edited.write_bytes(reports.NATIVE_SOURCE.read_bytes() + b"// edited\n")
    monkeypatch.setattr(reports, "NATIVE_SOURCE", edited)
    monkeypatch.delenv(reports.NATIVE_ENV, raising=False)
    module, line, level = reports.native_choice()
    assert module is None and level == "warn"
    assert f"built from other source than this checkout's {edited} (a stale build)" in line
    monkeypatch.setenv(reports.NATIVE_ENV, "1")
    with pytest.raises(ValueError, match="a stale build"):
        reports.native_choice()
    monkeypatch.setattr(reports, "NATIVE_SOURCE", tmp_path / "not_a_checkout.cc")  # an installed package
    reports._import_native.cache_clear()
    assert reports.native_choice()[0] is native


def test_a_build_against_another_pybind11_is_refused_at_import_and_the_blocks_report_in_python(
    native, model_path, tmp_path
):
    """A real mismatch: reporting.cc compiled with other pybind11 internals than GNU Radio's bindings
    (another PYBIND11_COMPILER_TYPE gives another internals ID, as another pybind11 version does). Its
    import says why, and a block made with it on the path reports in Python (it raised a TypeError
    when it made its Reporter before). One compile at -O0: the suite's slowest test here, ~10-15 s."""
    compiler = shutil.which("g++")
    if compiler is None or not Path("/usr/include/pybind11/pybind11.h").is_file():
        pytest.skip("no g++ or no system pybind11 headers to build a mismatched module with")
    source = reports.NATIVE_SOURCE
    digest = reports.hashlib.sha256(source.read_bytes()).hexdigest()
    built = tmp_path / f"{reports.NATIVE_MODULE}{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(
        [compiler, "-O0", "-fPIC", "-fvisibility=hidden", "-std=gnu++17", "-shared",
         f'-DEEAMC_NATIVE_SOURCE_SHA256="{digest}"', '-DPYBIND11_COMPILER_TYPE="_mismatch"',
         f"-I{sysconfig.get_paths()['include']}", str(source), "-o", str(built),
         "-lgnuradio-runtime", "-lgnuradio-pmt"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); sys.path.insert(1, {str(ROOT)!r})\n"
        "from training.checkout import use_source_tree; eeamc = use_source_tree()\n"
        f"block = eeamc.classifier(model={model_path!r}, device='cpu')\n"
        "print('reports_in_cpp', block.reports_in_cpp)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != reports.NATIVE_ENV}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "reports_in_cpp False" in output
    assert "built in Python: eeamc_native does not import (ImportError: eeamc_native (pybind11" in output
    assert "does not share GNU Radio's pybind11 internals: pmt_t and gr::basic_block are unknown" in output
