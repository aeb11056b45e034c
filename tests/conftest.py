# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the tests exercise this checkout: ``gnuradio.eeamc`` from python/ and ``training`` from the root,
ahead of any installed copy (which may be older than the source being tested)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `training` of this checkout, with or without setup's .pth file
from training.checkout import use_source_tree  # noqa: E402

use_source_tree()


@pytest.fixture(scope="session")
def platform():
    """GRC's own Platform with this tree's block YAML (last, so it overrides an installed copy), as
    GNU Radio Companion loads it: for tests that open flowgraphs or look up blocks as GRC would."""
    from gnuradio import gr
    from gnuradio.grc.core.platform import Platform

    grc = Platform(
        version=gr.version(),
        version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()),
        prefs=gr.prefs(),
    )
    grc.build_library(path=[*grc.config.block_paths, str(ROOT / "grc")])
    return grc


@pytest.fixture(scope="session")
def module_path(tmp_path_factory) -> Path:
    """A folder where gnuradio/eeamc is this checkout's python/eeamc: PYTHONPATH for child processes
    that run ``python -m gnuradio.eeamc...`` as a user would, on the source being tested."""
    folder = tmp_path_factory.mktemp("pythonpath")
    (folder / "gnuradio").mkdir()
    (folder / "gnuradio" / "eeamc").symlink_to(ROOT / "python" / "eeamc")
    return folder
