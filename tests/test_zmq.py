# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Classifications over ZMQ on 127.0.0.1: the scanner publishing through gr-zeromq's PUB message sink and
`python -m gnuradio.eeamc.listen` (a child process, as a user runs it) receiving every message intact;
--count, --timeout, the table and Ctrl-C; and two flowgraphs joined by gr-zeromq stream blocks (the radio
on one host, the classifier on another) classifying exactly as one flowgraph would."""

import gc
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pmt
from gnuradio import blocks, eeamc, gr, zeromq
from gnuradio.eeamc import listen, reports

from training.wideband import BAND_RATE, band, modulated

ROOT = Path(__file__).resolve().parents[1]
#: Longest wait for one line from the listener before the test fails (a guard against hanging, not a
#: timing check: lines normally arrive within milliseconds).
PATIENCE_S = 20


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


class Listener:
    """`python -m gnuradio.eeamc.listen` in a child process; its stdout lines arrive on a queue."""

    def __init__(self, module_path: Path, *args: str, ignore_sigint: bool = False) -> None:
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [str(module_path), os.environ.get("PYTHONPATH")])),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gnuradio.eeamc.listen", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=module_path,
            # As a parent that ignores SIGINT leaves it (nohup, some runners): a child inherits "ignore".
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self, timeout: float = PATIENCE_S) -> str:
        return self.lines.get(timeout=timeout)

    def rest(self) -> list[str]:
        """The lines printed and not read yet (after the process ended)."""
        lines = []
        while not self.lines.empty():
            lines.append(self.lines.get_nowait())
        return lines

    def finish(self, timeout: float = PATIENCE_S) -> tuple[int, str]:
        code = self.process.wait(timeout=timeout)
        return code, self.process.stderr.read()


class gated_source(gr.sync_block):  # noqa: N801
    """Emits ``samples`` once ``gate`` is set (so that nothing is published before the subscriber is in)."""

    def __init__(self, samples: np.ndarray, gate: threading.Event) -> None:
        gr.sync_block.__init__(self, "gated_source", in_sig=None, out_sig=[np.complex64])
        self.samples, self.gate, self.sent = samples, gate, 0

    def work(self, input_items, output_items):
        if not self.gate.wait(0.05):
            return 0
        count = min(len(output_items[0]), len(self.samples) - self.sent)
        if count == 0:
            return -1  # WORK_DONE
        output_items[0][:count] = self.samples[self.sent : self.sent + count]
        self.sent += count
        return count


def wait_until_subscribed(listener: Listener, sink: gr.basic_block) -> None:
    """PUB drops what it sends before a subscription arrives: probe through the sink until one comes out."""
    probe = pmt.to_pmt({"probe": 1})
    while True:
        sink.to_basic_block()._post(pmt.intern("in"), probe)
        try:
            if json.loads(listener.line(timeout=0.2)) == {"probe": 1}:
                break
        except queue.Empty:
            assert listener.process.poll() is None, listener.finish()


def test_the_listener_receives_every_message_of_a_scanner_intact(module_path):
    samples, _ = band([("BPSK", -300e3), ("GFSK", 400e3)], 0.4, seed=3)
    address = free_address()
    top = gr.top_block()
    gate = threading.Event()
    scanner = eeamc.scanner(BAND_RATE)
    publisher = zeromq.pub_msg_sink(address, 100, True)
    debug = blocks.message_debug()
    source = gated_source(samples, gate)  # held here: a Python block must outlive the flowgraph's run
    top.connect(source, scanner)
    top.msg_connect(scanner, "classification", publisher, "in")
    top.msg_connect(scanner, "classification", debug, "store")
    listener = Listener(module_path, address, "--json")
    top.start()
    wait_until_subscribed(listener, publisher)
    gate.set()
    top.wait()
    sent = [record for i in range(debug.num_messages()) for record in reports.records(debug.get_message(i))]
    assert len(sent) > 50 and {r["channel"] for r in sent} >= {0, 1}
    received = []
    while len(received) < len(sent):
        record = json.loads(listener.line())
        if record != {"probe": 1}:
            received.append(record)
    assert received == sent  # every message, in order, every field as the PMT had it
    assert {
        "label",
        "class",
        "exit",
        "confidence",
        "offset",
        "probabilities",
        "freq_offset",
        "snr_db",
    } <= set(sent[0])
    listener.process.send_signal(signal.SIGINT)  # Ctrl-C
    code, errors = listener.finish()
    assert code == 0 and "Traceback" not in errors, errors


def publish_until_done(address: str, listener: Listener, messages: list[pmt.pmt_base]) -> None:
    """A plain pyzmq PUB sending messages as gr-zeromq does (pmt.serialize_str), over and over, until the
    listener exits."""
    import zmq

    context = zmq.Context()
    publisher = context.socket(zmq.PUB)
    publisher.setsockopt(zmq.LINGER, 0)
    publisher.bind(address)
    try:
        index = 0
        while listener.process.poll() is None:
            publisher.send(pmt.serialize_str(messages[index % len(messages)]))
            index += 1
            threading.Event().wait(0.01)  # pacing only: nothing is asserted about time
    finally:
        publisher.close()
        context.term()


def window_message(window: int, channel: int) -> pmt.pmt_base:
    builder = reports.MessageBuilder(["BPSK", "QPSK"], 2)
    return builder.message(
        window % 2, 0, 0.1, 0.9, [0.9, 0.1], 128 * window, window, {"channel": pmt.from_long(channel)}
    )


def test_count_stops_after_n_classifications(module_path):
    address = free_address()
    listener = Listener(module_path, address, "--json", "--count", "5")
    publish_until_done(address, listener, [window_message(w, w % 3) for w in range(100)])
    code, errors = listener.finish()
    lines = [json.loads(line) for line in listener.rest()]
    assert code == 0, errors
    assert len(lines) == 5
    windows = [line["window"] for line in lines]
    assert windows == list(range(windows[0], windows[0] + 5))  # consecutive: none lost in between


def test_the_table_shows_a_row_per_classification_when_piped(module_path):
    address = free_address()
    listener = Listener(module_path, address, "--count", "3")
    publish_until_done(address, listener, [window_message(w, 7) for w in range(10)])
    code, errors = listener.finish()
    lines = listener.rest()
    assert code == 0, errors
    assert lines[0].split()[:3] == ["channel", "frequency", "class"]
    assert len(lines) == 4 and all(line.split()[0] == "7" for line in lines[1:])
    assert {line.split()[1] for line in lines[1:]} <= {"BPSK", "QPSK"}


def test_timeout_without_messages_exits_1_and_a_bad_address_2(capsys):
    assert listen.main([free_address(), "--json", "--timeout", "0.3"]) == 1
    assert capsys.readouterr().out == ""
    assert listen.main(["127.0.0.1:5555"]) == 2
    assert "tcp://" in capsys.readouterr().err


# ---- two flowgraphs: the radio on one host, the classifier on another -------------------------------------


def test_a_stream_over_zmq_is_classified_as_it_would_be_locally():
    samples = modulated("BPSK", 128 * 100, np.random.default_rng(4))
    address = free_address()
    windows = 60
    # "radio" host: the samples, for ever, to a PUB stream sink that waits for a slow subscriber
    radio = gr.top_block()
    radio.connect(
        blocks.vector_source_c(samples.tolist(), True),
        zeromq.pub_sink(gr.sizeof_gr_complex, 1, address, 100, False, -1, "", False),
    )
    # "classifier" host: a SUB stream source -> eeamc.classifier
    remote = gr.top_block()
    source = zeromq.sub_source(gr.sizeof_gr_complex, 1, address, 100, False, -1)
    classifier = eeamc.classifier(report="all")
    received, debug = blocks.vector_sink_c(), blocks.message_debug()
    remote.connect(
        source,
        blocks.head(gr.sizeof_gr_complex, 128 * windows),
        classifier,
        blocks.null_sink(gr.sizeof_gr_complex),
    )
    remote.connect(source, received)
    remote.msg_connect(classifier, "classification", debug, "store")
    radio.start()
    remote.run()
    over_zmq = [reports.records(debug.get_message(i))[0] for i in range(debug.num_messages())]
    remote.disconnect_all()
    del remote, source  # closes the SUB socket, so that the PUB sink stops waiting for it
    gc.collect()
    radio.stop()
    radio.wait()
    got = np.array(received.data(), dtype=np.complex64)[: 128 * windows]
    start = int(np.flatnonzero(samples == got[0])[0])  # where the subscriber came in
    np.testing.assert_array_equal(got, np.resize(np.roll(samples, -start), len(got)))  # nothing lost
    local = gr.top_block()
    reference, local_debug = eeamc.classifier(report="all"), blocks.message_debug()
    local.connect(blocks.vector_source_c(got.tolist()), reference, blocks.null_sink(gr.sizeof_gr_complex))
    local.msg_connect(reference, "classification", local_debug, "store")
    local.run()
    here = [reports.records(local_debug.get_message(i))[0] for i in range(local_debug.num_messages())]
    assert len(over_zmq) == windows and over_zmq == here
    assert [r["label"] for r in over_zmq].count("BPSK") > windows * 0.8


def test_ctrl_c_stops_the_listener_even_if_its_parent_ignored_sigint(module_path):
    address = free_address()
    top = gr.top_block()
    publisher = zeromq.pub_msg_sink(address, 100, True)
    probes = blocks.message_strobe(pmt.to_pmt({"probe": 1}), 100)  # what wait_until_subscribed looks for
    top.msg_connect(probes, "strobe", publisher, "in")
    listener = Listener(module_path, address, "--json", ignore_sigint=True)
    top.start()
    try:
        wait_until_subscribed(listener, publisher)  # it runs (and has set up Ctrl-C) once a probe is through
        listener.process.send_signal(signal.SIGINT)
        code, errors = listener.finish()
    finally:
        top.stop()
        top.wait()
    assert code == 0 and "Traceback" not in errors, errors
