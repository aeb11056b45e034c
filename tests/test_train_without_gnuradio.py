# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Training needs no GNU Radio (only generating data does): on a machine where GNU Radio cannot be
imported, gnuradio.eeamc's PyTorch parts import, its blocks say what is missing, and
``python -m training train`` trains under torchrun and writes a model file.

GNU Radio is installed here, so the child processes are made to run as if it were not: a sitecustomize
on their PYTHONPATH puts a finder in front of the import system that refuses pmt and every gnuradio
module but gnuradio.eeamc."""

import os
import subprocess
import sys
import textwrap

import pytest
import test_train
from gnuradio.eeamc.model_file import load_model
from test_train import FAST

data_file = test_train.data_file  # the tiny generated set of tests/test_train.py (a pytest fixture)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BLOCKER = '''
"""As if GNU Radio were not installed: pmt and gnuradio.* (but gnuradio.eeamc) cannot be imported."""
import importlib.abc
import sys


class NoGnuRadio(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        gnuradio = name.startswith("gnuradio.") and not name.startswith("gnuradio.eeamc")
        if gnuradio or name == "pmt" or name.startswith("pmt."):
            raise ModuleNotFoundError(f"No module named {name!r} (GNU Radio blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, NoGnuRadio())
'''


@pytest.fixture(scope="module")
def without_gnuradio(tmp_path_factory, module_path):
    """The environment of a child process that cannot import GNU Radio, using this checkout."""
    folder = tmp_path_factory.mktemp("no_gnuradio")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    environment = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    environment["PYTHONPATH"] = os.pathsep.join([str(folder), str(module_path), ROOT])
    return environment


def run_python(environment, *argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *argv], env=environment, capture_output=True, text=True, timeout=120, **kwargs
    )


def test_the_pytorch_parts_import_and_the_blocks_say_what_is_missing(without_gnuradio):
    script = textwrap.dedent(
        """
        import sys
        for name in ("pmt", "gnuradio.gr", "gnuradio.blocks"):
            try:
                __import__(name)
            except ImportError:
                pass
            else:
                sys.exit(f"{name} imported: the blocker does not work")
        import gnuradio.eeamc, gnuradio.eeamc.networks, gnuradio.eeamc.model_file
        from training import train, evaluate
        loaded = sorted(m for m in sys.modules if m.startswith(("gnuradio.", "pmt")))
        assert all(m.startswith("gnuradio.eeamc") for m in loaded), loaded
        assert "training.generate" not in sys.modules
        try:
            from gnuradio.eeamc import classifier
        except ImportError as error:
            print(error)
        """
    )
    result = run_python(without_gnuradio, "-c", script)
    assert result.returncode == 0, result.stderr
    assert (
        "gnuradio.eeamc.classifier is a GNU Radio block and GNU Radio cannot be imported here"
        in result.stdout
    )
    assert "install GNU Radio 3.10" in result.stdout and "python -m training train" in result.stdout


def test_train_runs_under_torchrun_without_gnuradio(without_gnuradio, data_file, tmp_path):
    out = tmp_path / "m.pt"
    argv = ["--data", data_file, "--arch", "v1", "--out", out, "--epochs", 1, *FAST, "--no-calibrate"]
    torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "training"]
    result = run_python(without_gnuradio, *torchrun, "train", *map(str, argv), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    model = load_model(out)
    assert model.provenance["processes"] == 2 and model.provenance["backend"] == "gloo"
    assert model.provenance["epochs_run"] == 1 and len(model.classes) == 3
