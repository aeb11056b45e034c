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
