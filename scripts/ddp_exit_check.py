#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Does a torchrun job abort at exit after its work succeeded? (training.train.leave_process_group)

Runs a minimal two-process gloo job under torchrun --runs times in each of two ways and counts the runs
that exit non-zero or print "terminate called": a DistributedDataParallel model is made and trained in a
function that returns, then the process group is destroyed,
- ``plain``: with dist.destroy_process_group() alone;
- ``leave``: with training.train.leave_process_group() (gc.collect() first), as the train command does.
    .venv/bin/python scripts/ddp_exit_check.py --runs 24
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("plain", "leave")


def child(mode: str) -> None:
    """One process of the job."""
    import torch
    import torch.distributed as dist

    sys.path.insert(0, str(ROOT))
    from training.train import leave_process_group

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="env://")

    def work() -> None:
        model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(10, 10))
        optimizer = torch.optim.Adam(model.parameters())
        for _ in range(3):
            model(torch.randn(4, 10)).sum().backward()
            optimizer.step()

    work()
    if mode == "leave":
        leave_process_group()
    else:
        dist.destroy_process_group()


def aborted(mode: str) -> bool:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    result = subprocess.run(
        [*command, __file__, "--child", mode], capture_output=True, text=True, cwd=ROOT, check=False
    )
    return result.returncode != 0 or "terminate called" in result.stdout + result.stderr


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=24, help="torchrun jobs per way")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    for mode in MODES:
        failures = sum(aborted(mode) for _ in range(args.runs))
        print(f"{mode}: {failures} of {args.runs} torchrun jobs aborted at exit", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
