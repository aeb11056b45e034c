# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a result records about how it was made: the source tree's version (git commit) and the machine.

One definition for everything the training package writes (datasets, model files, metrics.json) and for
the benchmarks.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

ROOT = Path(__file__).resolve().parents[1]
#: The code whose changes make a dataset or model differ: a local change elsewhere (docs, tests, reports)
#: does not mark a result "-dirty".
CODE_PATHS = ("training", "python")


def code_version() -> str | None:
    """The source tree's commit, with '-dirty' when the code in CODE_PATHS has uncommitted changes; None
    outside a git checkout (or without git)."""
    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS)
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def git(*arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *arguments], capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform knows of it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_description(device: str | torch.device) -> dict[str, Any]:
    """The machine a measurement ran on: platform, CPU, cores, library versions, torch threads, device."""
    # Imported here: training.generate's worker processes import this module for code_version alone.
    import numpy as np
    import torch
    from gnuradio.eeamc.engine import resolve_device

    resolved = resolve_device(device)
    description = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "threads": torch.get_num_threads(),
        "device": str(resolved),
    }
    if resolved.type == "cuda":
        description["gpu"] = torch.cuda.get_device_name(resolved)
    return description
