# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m training <command>``: one sub-command per module, each with its own --help.

Every command module exposes ``configure_parser(parser)`` (adds its options) and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: sub-command -> (module, one-line help)
COMMANDS = {
    "generate": ("training.generate", "generate an RML22-style dataset with GNU Radio"),
    "train": ("training.train", "train an early-exit network with the paper's Algorithm 1"),
    "evaluate": ("training.evaluate", "accuracy, exits, MACs and speed per SNR, with plots"),
    "calibrate": ("training.calibrate", "choose early-exit thresholds within an accuracy budget"),
    "checkset": ("training.checkset", "write an independent check set (own modulators and channels)"),
    "quantize": ("training.quantize", "add int8 parameters, calibrated and checked, to a model file"),
    "prior": ("training.prior", "raise one class's prior (noise) by an offset chosen on validation"),
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the command docstrings' paragraphs, and shows defaults only where there is one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with ``command`` only of that one (of none when it names none):
    the other commands' modules are then not imported, so their dependencies need not be installed
    (``train`` runs without GNU Radio, which ``generate`` needs)."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Reproduce 'Using Early Exits for Fast Inference in AMC' and train gr-eeamc models.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, summary) in COMMANDS.items():
        if command is not None and name != command:
            commands.add_parser(name, help=summary)  # listed in --help, never run from this parser
            continue
        module = importlib.import_module(module_name)
        sub = commands.add_parser(
            name, help=summary, description=module.__doc__, formatter_class=HelpFormatter
        )
        module.configure_parser(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser(command or "").parse_args(argv)  # "": no command module imported
    try:
        return int(args.handler(args) or 0)
    except (ValueError, OSError) as error:  # user errors: one clear line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
