# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m gnuradio.eeamc COMMAND``: the module's command lines, one subcommand a module.

Each command module follows ``commands.py``'s convention; adding one is a line in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import annotate, info, listen
from .commands import run_command

COMMANDS = {"info": info, "listen": listen, "annotate": annotate}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gnuradio.eeamc",
        description="gr-eeamc's command-line tools (the blocks themselves are used from GNU Radio).",
        epilog="Run 'python -m gnuradio.eeamc COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        module.add_arguments(commands.add_parser(name, help=module.HELP, description=module.DESCRIPTION))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(COMMANDS[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
