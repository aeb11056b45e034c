"""``python -m gnuradio.eeamc COMMAND``: the module's command lines, one subcommand a module.

Each command module has ``HELP`` (one line), ``DESCRIPTION`` (its --help text), ``add_arguments(parser)``
and ``run(args) -> exit status``; adding one is a line in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import info

COMMANDS = {"info": info}


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
    try:
        return COMMANDS[args.command].run(args)
    except BrokenPipeError:  # output piped into `head` & co.: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
