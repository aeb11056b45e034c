# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every gr-eeamc command line shares: the command module convention and how one is run.

A command module (``info``, ``listen``, ``annotate``) has ``HELP`` (one line), ``DESCRIPTION`` (its
--help text), ``add_arguments(parser)`` and ``run(args) -> exit status``. It runs as a subcommand of
``python -m gnuradio.eeamc`` or on its own as ``python -m gnuradio.eeamc.<name>``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType


def run_command(module: ModuleType, args: argparse.Namespace) -> int:
    try:
        return module.run(args)
    except BrokenPipeError:  # output piped into `head` & co.: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def standalone(module: ModuleType, name: str, argv: Sequence[str] | None = None) -> int:
    """Run ``module`` as ``python -m gnuradio.eeamc.<name>``."""
    parser = argparse.ArgumentParser(prog=f"python -m gnuradio.eeamc.{name}", description=module.DESCRIPTION)
    module.add_arguments(parser)
    return run_command(module, parser.parse_args(argv))


def add_classifier_arguments(parser: argparse.ArgumentParser, *, scanner: bool = True) -> None:
    """The options every command that classifies takes: the model, the device, the threshold and (for
    the scanner) its detection SNR."""
    parser.add_argument("--model", default="", help="gr-eeamc model file (default: the shipped model)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=-1.0,
        help="early-exit entropy threshold: -1 the model's calibrated ones, 0 early exits off (default -1)",
    )
    if scanner:
        parser.add_argument(
            "--min-snr-db", type=float, default=6.0, help="the scanner's detection SNR, dB (default 6)"
        )
