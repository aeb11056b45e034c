# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""grcc compiles every flowgraph that uses the block, and the compiled smoke flowgraph runs."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from gnuradio.eeamc.model_file import Model, save_model
from gnuradio.eeamc.networks import RML22_CLASSES, build_network

ROOT = Path(__file__).resolve().parents[1]
FLOWGRAPHS = sorted([*ROOT.glob("examples/*.grc"), *ROOT.glob("tests/flowgraphs/*.grc")])
CLASSES = list(RML22_CLASSES)

pytestmark = pytest.mark.skipif(shutil.which("grcc") is None, reason="grcc (gnuradio-companion) missing")


def compile_flowgraph(grc: Path, out_dir: Path) -> Path:
    # The repository's block YAML first, so the test checks this tree's YAML, installed or not.
    env = dict(os.environ, GRC_BLOCKS_PATH=str(ROOT / "grc"))
    result = subprocess.run(
        ["grcc", str(grc), "-o", str(out_dir)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Error" not in result.stdout + result.stderr, result.stdout + result.stderr
    scripts = sorted(out_dir.glob("*.py"))
    assert scripts, f"grcc wrote no Python for {grc.name}"
    return scripts[0]


@pytest.mark.parametrize("grc", FLOWGRAPHS, ids=[g.name for g in FLOWGRAPHS])
def test_grcc_compiles(grc, tmp_path):
    compile_flowgraph(grc, tmp_path)


def test_compiled_flowgraph_runs_the_block(tmp_path):
    torch.manual_seed(0)
    save_model(Model(build_network("v1").eval(), CLASSES, "l1", [0.35]), tmp_path / "m.pt")
    script = compile_flowgraph(ROOT / "tests/flowgraphs/classifier_smoke.grc", tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "--model-path",
            str(tmp_path / "m.pt"),
            "--windows",
            "50",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_block_sits_in_the_block_tree(platform):
    """GRC's own loader puts every block of grc/ under Early-Exit AMC, in the role eeamc.tree.yml gives."""
    ids = [yml.name.removesuffix(".block.yml") for yml in sorted((ROOT / "grc").glob("*.block.yml"))]
    roles = {"Front End", "Scanner", "Classifier", "Outputs", "Sources"}
    for block_id in ids:
        category = platform.blocks[block_id].category
        assert category[0] == "Early-Exit AMC" and category[1] in roles, (block_id, category)
