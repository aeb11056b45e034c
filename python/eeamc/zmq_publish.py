# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing classifications to other programs over ZMQ: gr-zeromq's PUB message sink, bound to an
address, with an error that names the address and the fix (gr-zeromq's own names neither).
``python -m gnuradio.eeamc listen ADDRESS`` (listen.py) is the other end."""

from __future__ import annotations

import argparse

from gnuradio import gr, zeromq

#: Messages kept for a slow subscriber before the newest are dropped (gamutRF's choice too).
HIGH_WATER_MARK = 100


def publisher(address: str) -> gr.basic_block:
    """A PUB message sink bound to ``address`` (ValueError when it cannot be bound)."""
    try:
        return zeromq.pub_msg_sink(address, HIGH_WATER_MARK, True)
    except RuntimeError as error:
        raise ValueError(
            f"cannot publish on {address!r}: {error}; give tcp://HOST:PORT with a free port"
        ) from None


def publisher_option(address: str) -> gr.basic_block:
    """``publisher`` as an argparse ``type=``: the error reaches the user as argparse's own."""
    try:
        return publisher(address)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_zmq_argument(parser: argparse.ArgumentParser) -> None:
    """``--zmq ADDRESS``: also publish every classification there (its value is the bound sink)."""
    parser.add_argument(
        "--zmq",
        metavar="ADDRESS",
        type=publisher_option,
        help="also publish every classification on this ZMQ PUB address (gr-zeromq), e.g. "
        "tcp://127.0.0.1:5557; python -m gnuradio.eeamc listen ADDRESS shows them",
    )
