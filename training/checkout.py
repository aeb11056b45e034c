# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""This checkout's gnuradio.eeamc, for the tests and the scripts that must measure the source they sit in
(not an installed copy that may be older): the one place that puts python/ ahead on gnuradio's path.

The training package itself is found through the .pth file that scripts/setup.sh writes into the venv
(and through tests/conftest.py under pytest); the examples use the installed module.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "python"


def use_source_tree() -> ModuleType:
    """Import ``gnuradio.eeamc`` from this checkout's python/ (call before anything imports it)."""
    import gnuradio

    if "gnuradio.eeamc" in sys.modules and not sys.modules["gnuradio.eeamc"].__file__.startswith(str(SOURCE)):
        raise RuntimeError("gnuradio.eeamc was imported from elsewhere before use_source_tree() was called")
    if str(SOURCE) not in gnuradio.__path__:
        gnuradio.__path__.insert(0, str(SOURCE))
    return importlib.import_module("gnuradio.eeamc")
