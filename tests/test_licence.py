# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The project is GPL-3.0-or-later: LICENSE holds the licence, and every source file git tracks says so
in an SPDX line near its top (grcc-generated scripts carry the header grcc writes)."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_SUFFIXES = {".py", ".sh", ".yml", ".toml", ".cmake"}
SOURCE_NAMES = {"CMakeLists.txt", "Makefile", "run"}


def tracked_sources() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    paths = [ROOT / name for name in names.split()]
    return [
        p for p in paths if p.suffix in SOURCE_SUFFIXES or p.name in SOURCE_NAMES or p.name.endswith(".in")
    ]


def test_licence_file_is_the_gpl_3():
    text = (ROOT / "LICENSE").read_text()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 3, 29 June 2007" in text


def test_every_source_file_names_its_licence():
    missing = [
        str(path.relative_to(ROOT))
        for path in tracked_sources()
        if path.is_file() and "SPDX-License-Identifier: GPL-3.0" not in path.read_text()[:600]
    ]
    assert not missing, missing
