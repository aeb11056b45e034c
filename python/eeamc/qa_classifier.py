#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA for eeamc.classifier: real flowgraphs, vector source -> classifier -> vector sink + message debug.

Besides what a window's tag and message say: what a running flowgraph must survive (a second run, time
stamps, an engine that fails for a while, bad input, model files of other shapes), batched messages
against window messages, classify_every, and falling behind a fast source (on_overload). ``FlakyEngine``
and ``RecordingLogger`` are used by tests/test_reliability.py for the multi-channel path too.
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pmt
import torch
from gnuradio import blocks, eeamc, gr, gr_unittest
from gnuradio.eeamc import quantization, reports
from gnuradio.eeamc.contract import RML22_SAMPLE_RATE
from gnuradio.eeamc.decisions import DecisionAverager
from gnuradio.eeamc.engine import EarlyExitEngine, entropy_log10
from gnuradio.eeamc.windows import frame, normalize

CLASSES = list(eeamc.RML22_CLASSES)
L = 128


def write_model(path: str) -> eeamc.Model:
    """A V1 network with fixed random weights: untrained, but deterministic, which is all QA needs.
    Its threshold is the median early-exit entropy of test-like data, so both exits get used."""
    torch.manual_seed(7)
    net = eeamc.build_network("v1").eval()
    with torch.no_grad():
        logits, _ = net.forward_to_exit(torch.from_numpy(normalize(frame(noise(64, seed=99), L), "l1")), 0)
    entropies = entropy_log10(logits.softmax(dim=1)).sort().values
    threshold = float(entropies[31] + entropies[32]) / 2
    model = eeamc.Model(net, CLASSES, "l1", [threshold], {"made_by": "qa"})
    eeamc.save_model(model, path)
    return model


def noise(windows: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Varying amplitude per window so the untrained network gives a spread of entropies.
    scale = np.repeat(rng.uniform(0.1, 10.0, windows), L)
    return ((rng.standard_normal(windows * L) + 1j * rng.standard_normal(windows * L)) * scale).astype(
        np.complex64
    )


#: A flowgraph run in a child process, whose output carries GNU Radio's log (spdlog writes to the
#: process's stdout, out of Python's reach in-process). argv: the folder holding this eeamc package, a
#: JSON spec. Prints a RESULT line: the reported classes and how many work() calls classified windows.
RATE_CHECK_CHILD = """
import json, sys
import gnuradio
gnuradio.__path__.insert(0, sys.argv[1])  # the same eeamc package as the parent test
import numpy as np, pmt
from gnuradio import blocks, eeamc, gr
spec = json.loads(sys.argv[2])
tags = [gr.tag_utils.python_to_tag((offset, pmt.intern("rx_rate"), pmt.from_double(rate)))
        for offset, rate in spec["rx_rate_tags"]]
tb = gr.top_block()
source = blocks.vector_source_c(np.load(spec["samples"]).tolist(), False, 1, tags)
block = eeamc.classifier(model=spec["model"], device="cpu", samp_rate=spec["samp_rate"])
block.set_max_noutput_items(spec["chunk"])
calls = []
classify = block._classify
block._classify = lambda windows: calls.append(len(windows)) or classify(windows)
debug = blocks.message_debug()
tb.connect(source, block, blocks.null_sink(gr.sizeof_gr_complex))
tb.msg_connect(block, "classification", debug, "store")
tb.run()
classes = [pmt.to_python(debug.get_message(i))["class"] for i in range(debug.num_messages())]
print("RESULT", json.dumps({"classes": classes, "work_calls": len(calls)}), flush=True)
"""


class FlakyEngine:
    """An engine whose classify() raises (as CUDA does when out of memory) on the calls numbered in
    ``failing`` (from 0) and works on the others; everything else is the wrapped engine's."""

    def __init__(self, engine: EarlyExitEngine, failing) -> None:
        self._engine = engine
        self.failing = set(failing)
        self.calls: list[tuple[int, bool]] = []  # (windows, failed) per call

    def classify(self, windows):
        failed = len(self.calls) in self.failing
        self.calls.append((len(windows), failed))
        if failed:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (test)")
        return self._engine.classify(windows)

    def __getattr__(self, name):
        return getattr(self._engine, name)


class SlowEngine:
    """An engine that takes ``seconds`` longer per call (a CPU too slow for its radio)."""

    def __init__(self, engine: EarlyExitEngine, seconds: float) -> None:
        self._engine = engine
        self.seconds = seconds
        self.windows = 0

    def classify(self, windows):
        time.sleep(self.seconds)
        self.windows += len(windows)
        return self._engine.classify(windows)

    def __getattr__(self, name):
        return getattr(self._engine, name)


FLOAT_FIELDS = ("entropy", "confidence", "probabilities")


def assert_same_records(first: list[dict], second: list[dict]) -> None:
    """Two runs' records are the same: every field equal, the float ones within 1e-5. A window's float
    results differ in their last bits with the size of the batch it was classified in, and that depends
    on how the scheduler cut the stream into work() calls (a window's message holds doubles, a batch
    float32, too)."""
    if len(first) != len(second):
        raise AssertionError(f"{len(first)} records against {len(second)}")
    for index, (a, b) in enumerate(zip(first, second)):
        exact_a, exact_b = ({k: v for k, v in r.items() if k not in FLOAT_FIELDS} for r in (a, b))
        if exact_a != exact_b:
            raise AssertionError(f"record {index} differs: {exact_a} against {exact_b}")
        for key in FLOAT_FIELDS:
            np.testing.assert_allclose(
                np.asarray(a.get(key), dtype=float),
                np.asarray(b.get(key), dtype=float),
                rtol=1e-5,
                atol=1e-6,
                equal_nan=True,
                err_msg=f"record {index}: {key}",
            )


class RecordingLogger:
    """Stands in for a block's ``logger`` (GNU Radio's writes where Python cannot read it in-process)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __getattr__(self, level):
        return lambda text: self.lines.append((level, str(text)))

    def at(self, level: str) -> list[str]:
        return [text for line_level, text in self.lines if line_level == level]


def write_variant(path: str, exits, classes, normalization: str, input_length: int = L) -> eeamc.Model:
    """A model file of another shape (exits, classes, normalisation, window length), fixed random weights."""
    torch.manual_seed(11)
    net = eeamc.build_network(exits, num_classes=len(classes), input_length=input_length).eval()
    thresholds = [0.3] * (net.num_exits - 1)  # with random weights some windows leave at each exit
    model = eeamc.Model(net, list(classes), normalization, thresholds, {"made_by": "qa"})
    eeamc.save_model(model, path)
    return model


#: Model files of other shapes than the shipped one: (name, exits, classes, normalisation, window length).
VARIANTS = (
    ("window256", "v1", CLASSES, "l1", 256),
    ("four_classes", "v1", CLASSES[:4], "l1", L),
    ("l2", "v2", CLASSES, "l2", L),
    ("none", "v1", CLASSES, "none", L),
    ("cascade", ("conv1", "conv3"), CLASSES, "l1", L),
)


def rx_time(seconds: int, fraction: float):
    return pmt.make_tuple(pmt.from_uint64(seconds), pmt.from_double(fraction))


def tag(offset: int, key: str, value):
    return gr.tag_utils.python_to_tag((offset, pmt.intern(key), value))


def tags_named(sink: blocks.vector_sink_c, key: str) -> list:
    return [tag for tag in sink.tags() if pmt.symbol_to_string(tag.key) == key]


class qa_classifier(gr_unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model_path = os.path.join(cls.tmp.name, "v1.pt")
        cls.model = write_model(cls.model_path)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_graph(self, samples, tags=(), chunk=None, prepare=None, as_records=False, **kwargs):
        """Run samples through the classifier; ``chunk`` caps upstream work() sizes (odd boundaries);
        ``prepare(block)`` runs before the flowgraph does. Messages as pmt.to_python reads them, or
        (``as_records``) as ``reports.records`` does, batches unrolled: a list per message."""
        tb = gr.top_block()
        source = blocks.vector_source_c(samples.tolist(), False, 1, list(tags))
        kwargs.setdefault("model", self.model_path)
        block = eeamc.classifier(device="cpu", **kwargs)
        if prepare:
            prepare(block)
        sink = blocks.vector_sink_c()
        debug = blocks.message_debug()
        if chunk:
            limiter = blocks.copy(gr.sizeof_gr_complex)
            limiter.set_max_noutput_items(chunk)
            tb.connect(source, limiter, block)
        else:
            tb.connect(source, block)
        tb.connect(block, sink)
        tb.msg_connect(block, "classification", debug, "store")
        tb.run()
        read = reports.records if as_records else pmt.to_python
        messages = [read(debug.get_message(i)) for i in range(debug.num_messages())]
        return block, sink, messages

    def expected(self, samples, threshold=None):
        engine = EarlyExitEngine(
            self.model.net, self.model.thresholds if threshold is None else threshold, "cpu"
        )
        return engine.classify(torch.from_numpy(normalize(frame(samples, L), "l1")))

    def test_samples_pass_unchanged(self):
        samples = noise(40)
        _, sink, _ = self.run_graph(samples)
        np.testing.assert_array_equal(np.array(sink.data(), dtype=np.complex64), samples)

    def test_work_sees_batches_larger_than_the_default_buffer(self):
        # GNU Radio's default buffer holds 64 windows of 128 complex samples; the block's history makes
        # the buffer in front of it hold 2 x max_batch windows, so a fast source fills larger calls.
        tb = gr.top_block()
        source = blocks.vector_source_c(noise(2000).tolist(), False)
        block = eeamc.classifier(model=self.model_path, device="cpu", max_batch=256)
        batches = []
        classify = block._classify
        block._classify = lambda windows: batches.append(len(windows)) or classify(windows)
        tb.connect(source, block, blocks.null_sink(gr.sizeof_gr_complex))
        tb.run()
        self.assertEqual(sum(batches), 2000)
        self.assertGreater(max(batches), 64)

    def test_one_tag_per_window_start(self):
        samples = noise(30)
        _, sink, _ = self.run_graph(samples)
        offsets = [tag.offset for tag in tags_named(sink, "amc")]
        self.assertEqual(offsets, list(range(0, 30 * L, L)))

    def test_tag_and_message_contents(self):
        samples = noise(50)
        expected = self.expected(samples)
        self.assertGreater(int((expected.exit == 0).sum()), 0, "test data should use the early exit")
        self.assertGreater(int((expected.exit == 1).sum()), 0, "test data should use the final exit")
        _, sink, messages = self.run_graph(samples)
        tags = tags_named(sink, "amc")
        self.assertEqual(len(messages), 50)
        for index, (tag, message) in enumerate(zip(tags, messages)):
            value = pmt.to_python(tag.value)
            label = int(expected.label[index])
            self.assertEqual(value["class"], label)
            self.assertEqual(value["label"], CLASSES[label])
            self.assertEqual(value["exit"], int(expected.exit[index]))
            self.assertAlmostEqual(value["entropy"], float(expected.entropy[index]), places=5)
            self.assertAlmostEqual(value["confidence"], float(expected.confidence[index]), places=5)
            self.assertFalse(value["unclassifiable"])
            for key in value:
                self.assertEqual(message[key], value[key])
            self.assertEqual(message["offset"], index * L)
            self.assertEqual(message["window"], index)
            np.testing.assert_allclose(
                message["probabilities"], expected.probabilities[index].numpy(), rtol=1e-5
            )

    def test_boundaries_kept_across_odd_work_sizes(self):
        samples = noise(64)
        _, sink_whole, _ = self.run_graph(samples)
        _, sink_odd, _ = self.run_graph(samples, chunk=77)
        whole = [(t.offset, pmt.to_python(t.value)["class"]) for t in tags_named(sink_whole, "amc")]
        odd = [(t.offset, pmt.to_python(t.value)["class"]) for t in tags_named(sink_odd, "amc")]
        self.assertEqual(len(whole), 64)
        self.assertEqual(whole, odd)
        np.testing.assert_array_equal(np.array(sink_odd.data(), dtype=np.complex64), samples)

    def test_report_on_change(self):
        samples = noise(60)
        labels = self.expected(samples).label.tolist()
        changes = [i for i, label in enumerate(labels) if i == 0 or label != labels[i - 1]]
        self.assertLess(len(changes), 60, "test data should repeat a class")
        _, sink, messages = self.run_graph(samples, report="change")
        self.assertEqual([m["window"] for m in messages], changes)
        self.assertEqual([t.offset for t in tags_named(sink, "amc")], [i * L for i in changes])

    def test_report_every_n(self):
        samples = noise(25)
        _, sink, messages = self.run_graph(samples, report="every_n", report_every=10)
        self.assertEqual([m["window"] for m in messages], [0, 10, 20])
        self.assertEqual([t.offset for t in tags_named(sink, "amc")], [0, 10 * L, 20 * L])

    def test_rx_freq_and_rx_time_propagate(self):
        samples = noise(6)
        tags = [
            gr.tag_utils.python_to_tag((0, pmt.intern("rx_freq"), pmt.from_double(433.92e6))),
            gr.tag_utils.python_to_tag((300, pmt.intern("rx_freq"), pmt.from_double(868e6))),
            gr.tag_utils.python_to_tag(
                (0, pmt.intern("rx_time"), pmt.make_tuple(pmt.from_uint64(5), pmt.from_double(0.25)))
            ),
        ]
        # chunk=128: one window per work() call, so the tag at 300 arrives after that call's only
        # window start (256) and must still reach the next window.
        for chunk in (None, 128):
            _, _, messages = self.run_graph(samples, tags=tags, chunk=chunk)
            self.assertEqual(
                [m["rx_freq"] for m in messages], [433.92e6, 433.92e6, 433.92e6, 868e6, 868e6, 868e6]
            )
            self.assertEqual(messages[0]["rx_time"], (5, 0.25))
            # Each window its own time: 5.25 s + its offset / the model's rate (no rate stated or tagged).
            for message in messages:
                seconds, fraction = message["rx_time"]
                self.assertEqual(seconds, 5)
                self.assertAlmostEqual(fraction, 0.25 + message["offset"] / RML22_SAMPLE_RATE, places=12)

    def test_rx_time_is_each_windows_own_at_the_stated_or_tagged_rate(self):
        samples = noise(12)
        tags = [tag(0, "rx_time", rx_time(100, 0.999)), tag(700, "rx_time", rx_time(200, 0.5))]
        for rate, extra_tags in ((RML22_SAMPLE_RATE, []), (0, [tag(0, "rx_rate", pmt.from_double(2e5))])):
            with self.subTest(rate=rate):
                _, _, messages = self.run_graph(samples, tags=tags + extra_tags, samp_rate=rate, chunk=300)
                used = rate or 2e5
                self.assertEqual(len(messages), 12)
                for message in messages:
                    offset = message["offset"]
                    base, since = ((100, 0.999), offset) if offset < 700 else ((200, 0.5), offset - 700)
                    exact = base[0] + base[1] + since / used
                    seconds, fraction = message["rx_time"]
                    self.assertIsInstance(seconds, int)  # UHD's form: whole seconds stay an integer
                    self.assertTrue(0 <= fraction < 1, fraction)
                    self.assertAlmostEqual(seconds + fraction, exact, places=9)
                # 0.999 s + 128 / 29,998.5 S/s crosses into second 101 at the second window
                self.assertEqual(messages[1]["rx_time"][0], 101 if rate else 100)

    def test_a_second_run_starts_afresh(self):
        # One window repeated: every window has the same class, so "change" reports only a run's first.
        window = noise(1, seed=5)
        tb = gr.top_block()
        source = blocks.vector_source_c(window.tolist(), True)
        head = blocks.head(gr.sizeof_gr_complex, 20 * L)
        block = eeamc.classifier(model=self.model_path, device="cpu", report="change")
        debug = blocks.message_debug()
        tb.connect(source, head, block, blocks.null_sink(gr.sizeof_gr_complex))
        tb.msg_connect(block, "classification", debug, "store")
        tb.run()
        head.reset()
        tb.run()
        messages = [pmt.to_python(debug.get_message(i)) for i in range(debug.num_messages())]
        self.assertEqual([(m["offset"], m["window"]) for m in messages], [(0, 0), (0, 0)])

    def test_a_second_run_counts_from_its_first_sample_and_forgets_the_last_runs_tags(self):
        tags = [tag(0, "rx_freq", pmt.from_double(433.92e6)), tag(0, "rx_time", rx_time(7, 0.0))]
        tb = gr.top_block()
        source = blocks.vector_source_c(noise(30).tolist(), False, 1, tags)
        head = blocks.head(gr.sizeof_gr_complex, 30 * L)
        block = eeamc.classifier(model=self.model_path, device="cpu")
        debug = blocks.message_debug()
        tb.connect(source, head, block, blocks.null_sink(gr.sizeof_gr_complex))
        tb.msg_connect(block, "classification", debug, "store")
        tb.run()
        first = debug.num_messages()
        source.set_data(noise(30, seed=2).tolist(), [])  # the second run's stream carries no tags
        head.reset()
        tb.run()
        messages = [pmt.to_python(debug.get_message(i)) for i in range(debug.num_messages())]
        self.assertEqual(first, 30)
        self.assertIn("rx_freq", messages[0])
        second = messages[first:]
        self.assertEqual([m["offset"] for m in second], list(range(0, 30 * L, L)))
        self.assertEqual([m["window"] for m in second], list(range(30)))
        self.assertEqual([m for m in second if "rx_freq" in m or "rx_time" in m], [])

    def run_failing(self, failing, interval_s, windows=40):
        """The classifier with an engine that fails on the calls in ``failing``, one window a call."""
        logger = RecordingLogger()
        flaky = []

        def prepare(block):
            block.engine = FlakyEngine(block.engine, failing)
            flaky.append(block.engine)
            block.logger = logger
            block.window_classifier.failures.interval_s = interval_s
            block.set_max_noutput_items(L)  # one window, so one engine call, per work()

        samples = noise(windows)
        _, sink, messages = self.run_graph(samples, prepare=prepare)
        np.testing.assert_array_equal(np.array(sink.data(), dtype=np.complex64), samples)
        return messages, flaky[0].calls, logger

    def test_engine_failures_are_logged_once_reported_unclassifiable_and_recovered_from(self):
        messages, calls, logger = self.run_failing(range(2, 12), interval_s=3600)
        self.assertEqual(len(messages), 40)
        failed = [index for index, (count, bad) in enumerate(calls) for _ in range(count) if bad]
        windows_failed = sum(count for count, bad in calls if bad)
        self.assertGreaterEqual(windows_failed, 10)
        first_failed = sum(count for count, _ in calls[:2])
        unclassifiable = [m["window"] for m in messages if m["unclassifiable"]]
        self.assertEqual(unclassifiable, list(range(first_failed, first_failed + windows_failed)), failed)
        expected = self.expected(noise(40)).label.tolist()
        for message in messages:
            if not message["unclassifiable"]:
                self.assertEqual(message["class"], expected[message["window"]])
        errors = logger.at("error")
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("RuntimeError: CUDA out of memory", errors[0])
        recovered = [text for text in logger.at("warn") if "works again" in text]
        self.assertEqual(len(recovered), 1, logger.lines)
        self.assertIn(f"after 10 failed engine call(s) ({windows_failed} window(s)", recovered[0])

    def test_engine_failure_logs_are_limited_by_the_interval_alone(self):
        # With no interval every failing call is logged: the rate limit is what keeps the log short.
        _, calls, logger = self.run_failing(range(0, 6), interval_s=0)
        self.assertEqual(len(logger.at("error")), 6)
        self.assertIn("still failing", logger.at("error")[1])

    def test_nan_inf_bursts_extreme_values_and_denormals(self):
        rng = np.random.default_rng(4)
        clean = noise(24, seed=8)
        samples = clean.copy()
        samples[130:700] = np.nan  # a burst over windows 1-5
        samples[9 * L + 3 : 9 * L + 40] = np.inf * (1 - 1j)
        samples[11 * L] = -np.inf
        # Windows 14-17 scaled by powers of two to near float32's largest values, 18-21 into denormals:
        # normalisation is scale-invariant, so they must be classified as the clean windows are.
        for window in range(14, 22):
            part = slice(window * L, (window + 1) * L)
            peak = np.abs(np.concatenate([clean[part].real, clean[part].imag])).max()
            exponent = (127 if window < 18 else -134) - int(np.ceil(np.log2(peak))) + int(rng.integers(-2, 1))
            samples[part] = np.ldexp(clean[part].real, exponent) + 1j * np.ldexp(clean[part].imag, exponent)
        self.assertGreater(np.abs(samples[14 * L : 18 * L].real).max(), 1e38)
        self.assertLess(np.abs(samples[18 * L : 22 * L].real).max(), np.finfo(np.float32).tiny)
        _, sink, messages = self.run_graph(samples)
        np.testing.assert_array_equal(np.array(sink.data(), dtype=np.complex64), samples)
        self.assertEqual([m["window"] for m in messages if m["unclassifiable"]], [1, 2, 3, 4, 5, 9, 11])
        expected = self.expected(clean)
        for window in range(14, 18):  # powers of two change no bit
            self.assertEqual(messages[window]["class"], int(expected.label[window]))
            np.testing.assert_allclose(
                messages[window]["probabilities"], expected.probabilities[window], rtol=1e-6, atol=1e-6
            )  # (atol: the block's batches are cut otherwise than expected's, which moves last bits)
        for window in range(18, 22):  # denormals keep fewer bits: close, not equal
            np.testing.assert_allclose(
                messages[window]["probabilities"], expected.probabilities[window], atol=1e-3
            )

    def test_all_zeros_are_unclassifiable_and_pass_through(self):
        samples = np.zeros(10 * L, dtype=np.complex64)
        _, sink, messages = self.run_graph(samples)
        self.assertEqual([m["unclassifiable"] for m in messages], [True] * 10)
        self.assertEqual(len(sink.data()), 10 * L)

    def test_a_stream_ending_mid_window_loses_its_last_partial_window(self):
        # Documented: GNU Radio never calls a block with output_multiple for less than that multiple.
        for length in (100, 10 * L + 50):
            with self.subTest(length=length):
                samples = noise(11)[:length]
                _, sink, messages = self.run_graph(samples)
                whole = length // L
                self.assertEqual(len(messages), whole)
                np.testing.assert_array_equal(np.array(sink.data(), dtype=np.complex64), samples[: whole * L])

    def test_a_storm_of_unrelated_tags_changes_nothing(self):
        samples = noise(20)
        storm = [tag(offset, "junk", pmt.from_long(offset)) for offset in range(0, 20 * L)]
        storm += [tag(offset, "rx_freq", pmt.from_double(1e6 + offset)) for offset in range(0, 20 * L, 7)]
        _, sink, messages = self.run_graph(samples, tags=storm, chunk=300)
        _, _, plain = self.run_graph(samples)
        self.assertEqual([m["class"] for m in messages], [m["class"] for m in plain])
        for message in messages:  # the latest rx_freq at or before the window's first sample
            self.assertEqual(message["rx_freq"], 1e6 + message["offset"] // 7 * 7)
        self.assertEqual(len(tags_named(sink, "junk")), 20 * L)  # passed on, all of them

    def test_model_files_of_other_shapes(self):
        for name, exits, classes, normalization, length in VARIANTS:
            with self.subTest(model=name):
                path = os.path.join(self.tmp.name, f"{name}.pt")
                model = write_variant(path, exits, classes, normalization, length)
                samples = noise(12 * length // L)
                _, sink, messages = self.run_graph(samples, model=path)
                engine = EarlyExitEngine(model.net, model.thresholds, "cpu")
                expected = engine.classify(torch.from_numpy(normalize(frame(samples, length), normalization)))
                self.assertEqual(len(messages), 12)
                self.assertEqual([m["offset"] for m in messages], list(range(0, len(samples), length)))
                self.assertEqual(
                    [m["label"] for m in messages], [classes[i] for i in expected.label.tolist()]
                )
                self.assertEqual([m["exit"] for m in messages], expected.exit.tolist())
                self.assertEqual({len(m["probabilities"]) for m in messages}, {len(classes)})
                self.assertEqual(len(sink.data()), len(samples))
                if name == "cascade":
                    self.assertEqual(engine.num_exits, 3)

    def test_no_metadata_without_upstream_tags(self):
        _, _, messages = self.run_graph(noise(2))
        self.assertNotIn("rx_freq", messages[0])

    def test_nan_inf_and_zero_windows_are_unclassifiable(self):
        samples = noise(8)
        samples[1 * L + 5] = np.nan
        samples[3 * L + 9] = np.inf
        samples[5 * L : 6 * L] = 0
        _, sink, messages = self.run_graph(samples)
        bad = [m["window"] for m in messages if m["unclassifiable"]]
        self.assertEqual(bad, [1, 3, 5])
        self.assertEqual(messages[1]["class"], -1)
        self.assertEqual(len(tags_named(sink, "amc")), 8)
        expected = self.expected(samples[:L])
        self.assertEqual(messages[0]["class"], int(expected.label[0]))

    def test_threshold_zero_disables_early_exits(self):
        samples = noise(20)
        _, _, messages = self.run_graph(samples, threshold=0)
        self.assertEqual({m["exit"] for m in messages}, {1})

    def test_threshold_settable_while_built(self):
        block = eeamc.classifier(model=self.model_path, device="cpu")
        self.assertEqual(block.threshold(), self.model.thresholds)
        block.set_threshold(0.5)
        self.assertEqual(block.threshold(), [0.5])
        block.set_threshold(-1)
        self.assertEqual(block.threshold(), self.model.thresholds)

    def run_rate_check(self, samples, samp_rate=0.0, rx_rate_tags=()):
        """Run the classifier in a child process, one window per work() call; (its warnings, result)."""
        path = os.path.join(self.tmp.name, "rate_check.npy")
        np.save(path, samples)
        spec = dict(
            samples=path, model=self.model_path, samp_rate=samp_rate, rx_rate_tags=list(rx_rate_tags), chunk=L
        )
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(eeamc.__file__)))
        child = subprocess.run(
            [sys.executable, "-c", RATE_CHECK_CHILD, package_parent, json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=dict(os.environ, OMP_NUM_THREADS="1"),  # a 32-window batch needs no thread pool
        )
        self.assertEqual(child.returncode, 0, child.stderr)
        lines = (child.stdout + child.stderr).splitlines()
        warnings = [line for line in lines if ":warning:" in line]
        result = json.loads(next(line for line in lines if line.startswith("RESULT "))[len("RESULT ") :])
        self.assertGreaterEqual(result["work_calls"], 30, "the check must hold over many work() calls")
        self.assertEqual(result["classes"], self.expected(samples).label.tolist(), "windows still classified")
        return warnings, result

    def test_stated_rate_mismatch_logs_one_warning_and_classifies_on(self):
        warnings, _ = self.run_rate_check(noise(32), samp_rate=2.4e6)
        self.assertEqual(len(warnings), 1, warnings)
        for text in ("2,400,000.0 S/s", "samp_rate", "29,998.5 S/s", "2 samples/symbol", "20.2 kHz"):
            self.assertIn(text, warnings[0])
        self.assertIn("eeamc.channel_classifier", warnings[0])
        self.assertIn("eeamc.scanner", warnings[0])

    def test_rx_rate_tag_mismatch_logs_one_warning_over_many_work_calls(self):
        tags = [(index * L, 2.4e6) for index in range(32)]  # a tag in every work() call
        warnings, _ = self.run_rate_check(noise(32), rx_rate_tags=tags)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("rx_rate tag at sample 0", warnings[0])
        self.assertIn("eeamc.channel_classifier", warnings[0])

    def test_matching_rx_rate_tags_log_nothing(self):
        tags = [(index * L, RML22_SAMPLE_RATE) for index in range(0, 32, 4)]
        warnings, _ = self.run_rate_check(noise(32), rx_rate_tags=tags)
        self.assertEqual(warnings, [])

    def test_a_matching_stated_rate_logs_nothing_and_wins_over_a_stale_rx_rate_tag(self):
        # After a resampler the source's rx_rate tag still says the radio's rate; the stated one is true.
        tags = [(index * L, 2.4e6) for index in range(0, 32, 4)]
        warnings, _ = self.run_rate_check(noise(32), samp_rate=RML22_SAMPLE_RATE, rx_rate_tags=tags)
        self.assertEqual(warnings, [])

    # ---- message_mode, classify_every, on_overload, precision -----------------------------------------

    def test_batch_messages_equal_window_messages_window_by_window(self):
        samples = noise(90)
        tags = [
            tag(0, "rx_freq", pmt.from_double(433.92e6)),
            tag(5000, "rx_freq", pmt.from_double(868e6)),  # within a work() call: a column then
            tag(0, "rx_time", rx_time(1_700_000_000, 0.999)),
            tag(9000, "rx_time", rx_time(1_700_000_100, 0.25)),
        ]
        for options in (
            {},
            {"report": "change"},
            {"report": "every_n", "report_every": 7},
            {"classify_every": 3},
        ):
            with self.subTest(**options):
                runs = {}
                for mode in ("window", "batch"):
                    _, sink, messages = self.run_graph(
                        samples, tags=tags, chunk=40 * L, as_records=True, message_mode=mode, **options
                    )
                    amc = [(t.offset, pmt.to_python(t.value)) for t in tags_named(sink, "amc")]
                    runs[mode] = (messages, amc)
                windows, batches = runs["window"][0], runs["batch"][0]
                self.assertTrue(all(len(m) == 1 for m in windows))
                self.assertLess(len(batches), len(windows), "a batch per work() call, not per window")
                unrolled = [record for batch in batches for record in batch]
                self.assertGreater(len(unrolled), 5)
                assert_same_records(unrolled, [m[0] for m in windows])
                tags_of = {mode: [dict(value, offset=o) for o, value in runs[mode][1]] for mode in runs}
                assert_same_records(tags_of["batch"], tags_of["window"])  # tags do not depend on message_mode
                self.assertEqual([r["offset"] for r in unrolled], [offset for offset, _ in runs["batch"][1]])
                self.assertEqual({r["rx_freq"] for r in unrolled}, {433.92e6, 868e6})

    def test_batch_message_holds_vectors_that_match_the_engine(self):
        samples = noise(100)
        samples[3 * L] = np.nan  # one unclassifiable window
        expected = self.expected(np.where(np.isfinite(samples), samples, 0))
        tb = gr.top_block()
        block = eeamc.classifier(model=self.model_path, device="cpu", message_mode="batch")
        debug = blocks.message_debug()
        tb.connect(
            blocks.vector_source_c(samples.tolist(), False), block, blocks.null_sink(gr.sizeof_gr_complex)
        )
        tb.msg_connect(block, "classification", debug, "store")
        tb.run()
        batches = [debug.get_message(i) for i in range(debug.num_messages())]
        self.assertGreater(len(batches), 0)

        def column(batch, key):
            return pmt.dict_ref(batch, pmt.intern(key), pmt.PMT_NIL)

        offsets, classes, exits, entropies, probabilities = [], [], [], [], []
        for batch in batches:
            self.assertTrue(pmt.is_u64vector(column(batch, "offsets")))
            self.assertTrue(pmt.is_s32vector(column(batch, "classes")))
            self.assertTrue(pmt.is_s32vector(column(batch, "exits")))
            self.assertTrue(pmt.is_f32vector(column(batch, "entropies")))
            self.assertTrue(pmt.is_f32vector(column(batch, "confidences")))
            self.assertEqual(pmt.to_python(column(batch, "class_names")), CLASSES)
            offsets += pmt.u64vector_elements(column(batch, "offsets"))
            classes += list(pmt.s32vector_elements(column(batch, "classes")))
            exits += list(pmt.s32vector_elements(column(batch, "exits")))
            entropies += list(pmt.f32vector_elements(column(batch, "entropies")))
            probabilities += list(pmt.f32vector_elements(column(batch, "probabilities")))
        self.assertEqual(offsets, list(range(0, 100 * L, L)))
        labels, exit_taken = expected.label.tolist(), expected.exit.tolist()
        labels[3] = exit_taken[3] = -1
        self.assertEqual(classes, labels)
        self.assertEqual(exits, exit_taken)
        rows = np.array(probabilities, dtype=np.float32).reshape(100, len(CLASSES))
        good = [i for i in range(100) if i != 3]
        np.testing.assert_allclose(rows[good], expected.probabilities.numpy()[good], rtol=1e-5)
        np.testing.assert_array_equal(rows[3], 0)
        np.testing.assert_allclose(np.array(entropies)[good], expected.entropy.numpy()[good], rtol=1e-5)
        self.assertTrue(np.isnan(entropies[3]))

    def test_classify_every_n_runs_only_those_windows_through_the_network(self):
        samples = noise(43)
        seen = []

        def prepare(block):
            classify = block._classify
            block._classify = lambda windows: seen.append(len(windows)) or classify(windows)

        _, sink, messages = self.run_graph(samples, prepare=prepare, classify_every=4, chunk=13 * L)
        picked = list(range(0, 43, 4))
        self.assertEqual(sum(seen), len(picked))
        self.assertEqual([m["window"] for m in messages], picked)
        self.assertEqual([t.offset for t in tags_named(sink, "amc")], [i * L for i in picked])
        expected = self.expected(samples)
        self.assertEqual([m["class"] for m in messages], [int(expected.label[i]) for i in picked])
        np.testing.assert_array_equal(np.array(sink.data(), dtype=np.complex64), samples)

    def run_behind(self, on_overload, windows=600):
        """A throttle-free source into a classifier whose engine is slow; (block, messages, engine, log)."""
        logger = RecordingLogger()
        engines = []

        def prepare(block):
            block.engine = SlowEngine(block.engine, 0.002)
            engines.append(block.engine)
            block.logger = logger
            # At most 8 windows a call from an input buffer of 128: the fast source keeps it full, as a
            # radio does for a block behind it. (With no limit a call takes all it is given, and whether
            # the source refills the buffer before the next call is a race between two threads.)
            block.set_max_noutput_items(8 * L)

        samples = noise(windows)
        block, sink, messages = self.run_graph(
            samples, prepare=prepare, on_overload=on_overload, max_batch=64
        )
        np.testing.assert_array_equal(np.array(sink.data(), dtype=np.complex64), samples)
        return block, messages, engines[0], logger

    def test_keep_up_classifies_fewer_windows_when_behind_and_counts_the_skipped(self):
        block, messages, engine, logger = self.run_behind("keep_up")
        skipped = block.windows_skipped()
        self.assertGreater(skipped, 300, "a block that stays behind thins its windows")
        self.assertEqual(engine.windows + skipped, 600)
        self.assertEqual(len(messages), engine.windows)
        expected = self.expected(noise(600)).label.tolist()
        self.assertEqual([m["class"] for m in messages], [expected[m["window"]] for m in messages])
        warnings = [text for text in logger.at("warn") if "behind the source" in text]
        self.assertGreaterEqual(len(warnings), 1)
        self.assertIn("window(s) skipped", warnings[0])

    def test_queue_classifies_every_window_however_far_behind(self):
        block, messages, engine, _ = self.run_behind("queue", windows=200)
        self.assertEqual(block.windows_skipped(), 0)
        self.assertEqual(engine.windows, 200)
        self.assertEqual([m["window"] for m in messages], list(range(200)))

    def test_precision_auto_and_fp32_classify_as_the_fp32_engine_and_int8_needs_int8_parameters(self):
        expected = self.expected(noise(4)).label.tolist()
        for precision in ("auto", "fp32"):  # the QA model file has no int8 section: auto is fp32
            block, _, messages = self.run_graph(noise(4), precision=precision)
            self.assertEqual(block.engine.precision, "fp32")
            self.assertEqual([m["class"] for m in messages], expected)
        with self.assertRaisesRegex(ValueError, "no int8 parameters"):
            eeamc.classifier(model=self.model_path, device="cpu", precision="int8")
        with self.assertRaisesRegex(ValueError, "precision must be one of"):
            eeamc.classifier(model=self.model_path, precision="fp16")

    def test_average_reports_the_decision_over_the_last_n_windows(self):
        samples = noise(60)
        expected = self.expected(samples)
        decisions = DecisionAverager(len(CLASSES), 4).update(
            expected.probabilities.numpy(), np.ones(60, dtype=bool)
        )
        self.assertNotEqual(decisions.label.tolist(), expected.label.tolist(), "averaging must matter here")
        _, sink, messages = self.run_graph(samples, average=4, chunk=7 * L)
        self.assertEqual([m["class"] for m in messages], decisions.label.tolist())
        self.assertEqual([m["exit"] for m in messages], expected.exit.tolist())  # the window's own
        np.testing.assert_allclose([m["probabilities"] for m in messages], decisions.probabilities, rtol=1e-5)
        np.testing.assert_allclose([m["confidence"] for m in messages], decisions.confidence, rtol=1e-5)
        tags = [pmt.to_python(t.value)["class"] for t in tags_named(sink, "amc")]
        self.assertEqual(tags, decisions.label.tolist())
        _, _, changes = self.run_graph(
            samples, average=4, report="change", message_mode="batch", as_records=True
        )
        reported = [record["window"] for batch in changes for record in batch]
        self.assertEqual(reported, np.flatnonzero(decisions.changed).tolist())

    def test_precision_int8_runs_the_int8_engine_of_the_model_files_parameters(self):
        if not quantization.fast_int8_cpu():
            self.skipTest("no fast int8 kernels on this CPU (auto would choose fp32)")
        windows = torch.from_numpy(normalize(frame(noise(256, seed=3), L), "l1"))
        params = quantization.calibrate_int8(self.model.net, windows)
        path = os.path.join(self.tmp.name, "int8.pt")
        check = {"passed": True, "int8_accuracy": 0.5, "fp32_accuracy": 0.5}  # QA's stand-in for training's
        eeamc.save_model(dataclasses.replace(self.model, int8={"params": params, "check": check}), path)
        samples = noise(40)
        int8 = EarlyExitEngine(
            self.model.net, self.model.thresholds, "cpu", precision="int8", int8_params=params
        )
        expected = int8.classify(torch.from_numpy(normalize(frame(samples, L), "l1")))
        for precision in ("int8", "auto"):  # auto: int8 here, the check passed and the CPU has fast int8
            block, _, messages = self.run_graph(samples, model=path, precision=precision)
            self.assertEqual(block.engine.precision, "int8")
            self.assertEqual([m["class"] for m in messages], expected.label.tolist())
            np.testing.assert_allclose(
                [m["probabilities"] for m in messages], expected.probabilities.numpy(), atol=1e-6
            )

    def test_adaptive_exits_stop_running_an_exit_no_window_leaves_at(self):
        samples = noise(1200)
        block, _, messages = self.run_graph(samples, threshold=1e-9, adaptive_exits=True)
        self.assertEqual(block.engine.skipped_exits, [0])  # nothing leaves at exit 0 with this threshold
        self.assertEqual([m["class"] for m in messages], self.expected(samples, 1e-9).label.tolist())
        plain, _, _ = self.run_graph(noise(8), threshold=1e-9)
        self.assertIsNone(plain.engine.adaptive)

    def test_reports_are_built_in_cpp_where_eeamc_native_was_built(self):
        """ctest runs against the build tree, which holds the build's eeamc_native where CMake made one:
        the block must then use it (tests/test_native_reporting.py holds its reports to the Python ones),
        so that a build that does not import fails here instead of passing on the slower path."""
        if reports.native_built() is None:
            self.skipTest("eeamc_native is not built (no pybind11-dev when CMake ran)")
        if os.environ.get(reports.NATIVE_ENV) == "0":
            self.skipTest(f"{reports.NATIVE_ENV}=0 asks for the Python path")
        block, sink, messages = self.run_graph(noise(12))
        self.assertTrue(block.reports_in_cpp)
        self.assertGreaterEqual(block._native.calls, 1)
        self.assertEqual([tag.offset for tag in tags_named(sink, "amc")], [i * L for i in range(12)])
        self.assertEqual([message["offset"] for message in messages], [i * L for i in range(12)])

    def test_construction_errors_are_clear(self):
        with self.assertRaisesRegex(eeamc.ModelFileError, "no such file"):
            eeamc.classifier(model=os.path.join(self.tmp.name, "missing.pt"))
        with self.assertRaisesRegex(ValueError, "not available"):
            eeamc.classifier(model=self.model_path, device="cuda:7")
        with self.assertRaisesRegex(ValueError, "report must be"):
            eeamc.classifier(model=self.model_path, report="sometimes")
        with self.assertRaisesRegex(ValueError, "samp_rate must be >= 0"):
            eeamc.classifier(model=self.model_path, samp_rate=-1)
        with self.assertRaisesRegex(ValueError, "message_mode must be one of"):
            eeamc.classifier(model=self.model_path, message_mode="windows")
        with self.assertRaisesRegex(ValueError, "classify_every must be a whole number >= 1"):
            eeamc.classifier(model=self.model_path, classify_every=0)
        with self.assertRaisesRegex(ValueError, "on_overload must be one of"):
            eeamc.classifier(model=self.model_path, on_overload="drop")
        with self.assertRaisesRegex(ValueError, "average must be a whole number of windows >= 1"):
            eeamc.classifier(model=self.model_path, average=0)


if __name__ == "__main__":
    gr_unittest.run(qa_classifier)
