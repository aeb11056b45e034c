# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""A training run on disk: the checkpoint it resumes from (weights, optimizer, schedule, every RNG state
and the early-stopping state, written whole or not at all) and its log, one JSON line per epoch."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gnuradio.eeamc.files import atomic_output
from torch import nn

CHECKPOINT_FORMAT = "gr-eeamc-train-checkpoint"


#: Settings a resumed run must share with its checkpoint (anything else, e.g. --patience, may change).
RESUME_MUST_MATCH = (
    "data", "exits", "classes", "snrs", "length", "window_mode", "normalization", "scheme", "exit_weights",
    "lr", "weight_decay", "batch_size", "seed", "lr_schedule", "test_fraction", "val_fraction", "split_by",
    "mix",
)  # fmt: skip


@dataclass
class TrainState:
    """What a checkpoint carries besides the tensors' owners (model, optimizer, schedule)."""

    epoch: int = 0  # epochs completed
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    epochs_without_improvement: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0  # seconds of training over all sessions
    stopped_early: bool = False


def save_checkpoint(
    path: Path,
    config: Mapping[str, Any],
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    generator: torch.Generator,
    state: TrainState,
) -> None:
    """Everything needed to continue exactly here, written atomically (a crash never leaves half a file)."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": dict(config),
        "model": net.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "state": asdict(state),
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "batches": generator.get_state(),
            "numpy": numpy_rng_state(),
            "python": random.getstate(),
        },
    }
    with atomic_output(path) as temporary:
        torch.save(payload, temporary)


def read_checkpoint(
    path: Path, config: Mapping[str, Any], missing: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A checkpoint's contents, after checking it belongs to the same experiment as ``config``;
    ``missing`` gives what a setting was in checkpoints made before it was recorded."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)  # never runs code from the file
    except Exception as error:  # truncated or foreign files raise many types
        raise ValueError(
            f"checkpoint {path} cannot be read ({error}); use --restart to start over"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"checkpoint {path} is not a gr-eeamc training checkpoint; use --restart to start over"
        )
    saved = {**(missing or {}), **payload["config"]}
    current = dict(config)
    changed = [key for key in RESUME_MUST_MATCH if saved.get(key) != current[key]]
    if current["lr_schedule"] != "none" and saved.get("epochs") != current["epochs"]:
        changed.append("epochs (the learning-rate schedule spans them)")
    if changed:
        details = "; ".join(
            f"{key}: {saved.get(key.split()[0])!r} -> {current[key.split()[0]]!r}" for key in changed
        )
        raise ValueError(
            f"checkpoint {path} was made with different settings ({details}); resume with the original "
            "settings or use --restart"
        )
    return payload


def restore_checkpoint(
    payload: Mapping[str, Any],
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    generator: torch.Generator,
    device: torch.device,
) -> TrainState:
    """Put a checkpoint's weights, optimizer, schedule and RNG states back; return its TrainState."""
    net.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    if scheduler is not None and payload["scheduler"] is not None:
        scheduler.load_state_dict(payload["scheduler"])
    rng = payload["rng"]
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] and torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])
    generator.set_state(rng["batches"])
    set_numpy_rng_state(rng["numpy"])
    random.setstate(rng["python"])
    net.to(device)
    return TrainState(**payload["state"])


def numpy_rng_state() -> dict[str, Any]:
    """numpy's global RNG state as tensors and numbers (what torch.load(weights_only=True) accepts)."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
            "has_gauss": int(has_gauss), "cached": float(cached)}  # fmt: skip


def set_numpy_rng_state(state: dict[str, Any]) -> None:
    keys = state["keys"].numpy().astype(np.uint32)
    np.random.set_state((state["name"], keys, state["position"], state["has_gauss"], state["cached"]))


def rewrite_log(path: Path, history: Sequence[dict[str, Any]]) -> None:
    """Start the log afresh, or from a resumed checkpoint's history (dropping epochs it never saved)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as log:
        log.writelines(json.dumps(record) + "\n" for record in history)


def append_log(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as log:
        log.write(json.dumps(record) + "\n")
