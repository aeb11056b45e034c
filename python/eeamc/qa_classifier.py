#!/usr/bin/env python3
"""QA for eeamc.classifier: real flowgraphs, vector source -> classifier -> vector sink + message debug."""

import os
import tempfile

import numpy as np
import pmt
import torch
from gnuradio import blocks, eeamc, gr, gr_unittest
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

    def run_graph(self, samples, tags=(), chunk=None, **kwargs):
        """Run samples through the classifier; ``chunk`` caps upstream work() sizes (odd boundaries)."""
        tb = gr.top_block()
        source = blocks.vector_source_c(samples.tolist(), False, 1, list(tags))
        block = eeamc.classifier(model=self.model_path, device="cpu", **kwargs)
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
        messages = [pmt.to_python(debug.get_message(i)) for i in range(debug.num_messages())]
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

    def test_construction_errors_are_clear(self):
        with self.assertRaisesRegex(eeamc.ModelFileError, "no such file"):
            eeamc.classifier(model=os.path.join(self.tmp.name, "missing.pt"))
        with self.assertRaisesRegex(ValueError, "not available"):
            eeamc.classifier(model=self.model_path, device="cuda:7")
        with self.assertRaisesRegex(ValueError, "report must be"):
            eeamc.classifier(model=self.model_path, report="sometimes")


if __name__ == "__main__":
    gr_unittest.run(qa_classifier)
