# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m gnuradio.eeamc.listen ADDRESS``: classifications published over ZMQ, live, anywhere.

A flowgraph publishes its ``classification`` messages with gr-zeromq's PUB message sink
(``zeromq.pub_msg_sink``, which sends each message as one frame of ``pmt.serialize_str``); this
subscribes with pyzmq, decodes each frame with ``pmt.deserialize_str`` and converts it with
``reports.records`` (plain JSON types, batched messages unrolled to one record per window). It shows a
table with one row per channel (one row when the messages have no ``channel``), redrawn in place on a
terminal and printed as one line per classification when piped; or, with ``--json``, one JSON object per
line for ``jq`` and other programs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pmt

from .commands import standalone
from .reports import records

HELP = "print the classifications a flowgraph publishes with a ZMQ PUB message sink, live"
DESCRIPTION = (
    "Subscribe to a GNU Radio flowgraph's ZMQ PUB Message Sink (gr-zeromq; connect the classification "
    "port of eeamc.classifier, channel_classifier or scanner to it) and print what arrives: a live table, "
    "one row per channel, or with --json one JSON object per classification per line (plain JSON types; "
    "batched messages unrolled; rx_time as [seconds, fraction]; NaN as null). Ctrl-C stops it. Exit "
    "status 0; 1 when --timeout passed without any message; 2 for an address that cannot be used."
)
#: Most table redraws per second on a terminal.
REDRAWS_PER_SECOND = 4
HEADER = (
    f"{'channel':>7}  {'frequency':>15}  {'class':<14} {'conf':>5}  {'exit':>4}  {'SNR dB':>6}  "
    f"{'windows':>8}  exits"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "address",
        metavar="ADDRESS",
        help="the PUB sink's ZMQ address, e.g. tcp://127.0.0.1:5555 (tcp://HOST:PORT from another host)",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per classification per line instead of the table"
    )
    parser.add_argument(
        "--count", type=int, metavar="N", help="stop after N classifications (windows; a batch counts each)"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="stop when no message has arrived for S seconds"
    )
    parser.add_argument(
        "--bind",
        action="store_true",
        help="bind ADDRESS and let the flowgraph connect (a PUB sink with Bind off); default: connect to it",
    )


def run(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        print(f"error: --count must be >= 1, got {args.count}", file=sys.stderr)
        return 2
    if args.timeout is not None and not args.timeout > 0:
        print(f"error: --timeout must be > 0 seconds, got {args.timeout}", file=sys.stderr)
        return 2
    view: View = JsonLines() if args.json else (LiveTable() if sys.stdout.isatty() else TableLines())
    # Ctrl-C stops it even when started by a process that ignores SIGINT (a child inherits "ignore", and
    # Python then never raises KeyboardInterrupt): nohup'd shells, test runners, supervisors.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        received = subscribe(args.address, args.bind, view.show, args.count, args.timeout)
    except AddressError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: the normal way to stop
        received = None
    except BrokenPipeError:  # piped into `head` & co.: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    view.close()
    return 1 if received == 0 else 0


class AddressError(ValueError):
    """A ZMQ address that cannot be connected to or bound."""


def subscribe(
    address: str, bind: bool, show: Callable[[dict[str, Any]], None], count: int | None, timeout: float | None
) -> int:
    """Receive and show records until ``count`` were shown or ``timeout`` s passed without a message;
    how many messages arrived."""
    import zmq  # pyzmq: Debian's python3-zmq, which GNU Radio's gr-zeromq depends on

    context = zmq.Context()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SUBSCRIBE, b"")
    try:
        (socket.bind if bind else socket.connect)(address)
    except zmq.ZMQError as error:
        socket.close()
        context.term()
        raise AddressError(f"{address}: {error} (expected e.g. tcp://127.0.0.1:5555)") from error
    messages, shown, warned, last = 0, 0, False, time.monotonic()
    try:
        while count is None or shown < count:
            if not socket.poll(int(1000 / REDRAWS_PER_SECOND)):
                show({})  # lets a live table age and redraw
                if timeout is not None and time.monotonic() - last >= timeout:
                    break
                continue
            last = time.monotonic()
            messages += 1
            payload = socket.recv_multipart()[-1]  # a PUB sink with a key sends [key, payload]
            try:
                new = records(pmt.deserialize_str(payload))
            except (RuntimeError, ValueError) as error:
                if not warned:
                    warned = True
                    print(
                        f"ignored a message that is not a classification ({error}; said once)",
                        file=sys.stderr,
                    )
                continue
            for record in new[: None if count is None else count - shown]:
                show(record)
                shown += 1
    finally:
        socket.close()
        context.term()
    return messages


# ---- views -------------------------------------------------------------------------------------------------


class View:
    def show(self, record: dict[str, Any]) -> None:
        """Show one record; an empty one means 'nothing new' (a live view may redraw)."""

    def close(self) -> None:
        pass


class JsonLines(View):
    def show(self, record: dict[str, Any]) -> None:
        if record:
            print(json.dumps(record, allow_nan=False), flush=True)


@dataclass
class Row:
    """What the table shows of one channel."""

    record: dict[str, Any]
    windows: int = 0
    exits: Counter = field(default_factory=Counter)


def frequency(record: dict[str, Any]) -> str:
    if isinstance(record.get("freq"), (int, float)):
        return f"{record['freq'] / 1e6:.4f} MHz"
    if isinstance(record.get("freq_offset"), (int, float)):
        return f"{record['freq_offset'] / 1e3:+.1f} kHz"
    return ""


def number(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "-"


def format_row(channel: Any, row: Row) -> str:
    record, name = row.record, "-" if channel is None else channel
    shares = " ".join(f"{index}:{count / row.windows:.0%}" for index, count in sorted(row.exits.items()))
    return (
        f"{name:>7}  {frequency(record):>15}  {str(record.get('label', '?')):<14} "
        f"{number(record.get('confidence'), '.2f'):>5}  {number(record.get('exit'), 'd'):>4}  "
        f"{number(record.get('snr_db'), '.1f'):>6}  {row.windows:>8}  {shares}"
    )


class TableLines(View):
    """The table for a pipe or a file: the header once, then one row per classification."""

    def __init__(self) -> None:
        self.rows: dict[Any, Row] = {}
        print(HEADER, flush=True)

    def update(self, record: dict[str, Any]) -> tuple[Any, Row]:
        channel = record.get("channel")
        row = self.rows.setdefault(channel, Row(record))
        row.record = record
        row.windows += 1
        row.exits[record.get("exit")] += 1
        return channel, row

    def show(self, record: dict[str, Any]) -> None:
        if record:
            print(format_row(*self.update(record)), flush=True)


class LiveTable(TableLines):
    """The table on a terminal: one row per channel, redrawn in place at most REDRAWS_PER_SECOND."""

    def __init__(self) -> None:
        self.rows = {}
        self._drawn = 0.0
        self._changed = True

    def show(self, record: dict[str, Any]) -> None:
        if record:
            self.update(record)
            self._changed = True
        if self._changed and time.monotonic() - self._drawn >= 1 / REDRAWS_PER_SECOND:
            self.draw()

    def draw(self) -> None:
        lines = [
            HEADER,
            *(format_row(channel, row) for channel, row in sorted(self.rows.items(), key=_order)),
        ]
        sys.stdout.write("\x1b[H\x1b[2J" + "\n".join(lines) + "\n")  # home, clear, the table
        sys.stdout.flush()
        self._drawn, self._changed = time.monotonic(), False

    def close(self) -> None:
        self.draw()


def _order(item: tuple[Any, Row]) -> tuple[int, str]:
    return (0, f"{item[0]:012d}") if isinstance(item[0], int) else (1, str(item[0]))


def main(argv: Sequence[str] | None = None) -> int:
    return standalone(sys.modules[__name__], "listen", argv)


if __name__ == "__main__":
    sys.exit(main())
