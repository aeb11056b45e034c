# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The training loop: epochs of the chosen scheme, every exit validated, the best weights kept, early
stopping, a checkpoint and a log line each epoch (``python -m training train`` runs it: train.py)."""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from gnuradio.eeamc.networks import EarlyExitNet, build_network, cpu_state
from gnuradio.eeamc.windows import normalize
from torch import nn
from tqdm import tqdm

from training.checkpoints import TrainState, append_log, load_checkpoint, rewrite_log, save_checkpoint
from training.datasets import Dataset
from training.schemes import train_step, trainable_parameters

if TYPE_CHECKING:  # the command's records; train.py imports this module
    from training.train import Paths, TrainConfig

#: Windows per forward pass when measuring validation loss (no gradients, so larger than training's).
EVAL_BATCH = 2048


def to_tensors(
    dataset: Dataset, normalization: str, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows (normalised as the model will see them on air) and labels, on the training device."""
    x = torch.from_numpy(np.ascontiguousarray(normalize(dataset.x, normalization), dtype=np.float32))
    return x.to(device), torch.from_numpy(dataset.y.astype(np.int64)).to(device)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch (dropout, initial weights); return the batch-order generator."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def make_scheduler(
    kind: str, optimizer: torch.optim.Optimizer, lr: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A per-batch learning-rate schedule over the whole run, or None (the authors' constant rate)."""
    if kind == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches per epoch; a last batch of one window is dropped (BatchNorm cannot train on it)."""
    return n // batch_size + (1 if n % batch_size > 1 else 0)


# ---------------------------------------------------------------------------------------- Algorithm 1


# ------------------------------------------------------------------------------------------- the loop


def fit(
    config: TrainConfig,
    train_set: Dataset,
    val_set: Dataset,
    paths: Paths,
    device: torch.device,
    resume: bool = False,
    restart: bool = False,
) -> tuple[EarlyExitNet, TrainState]:
    """Train with early stopping and per-epoch checkpoints; return the network with the best weights."""
    generator = seed_everything(config.seed)
    net = build_network(config.exits, num_classes=len(train_set.classes), input_length=config.length).to(
        device
    )
    optimizer = torch.optim.Adam(trainable_parameters(net), lr=config.lr, weight_decay=config.weight_decay)
    steps = steps_per_epoch(len(train_set), config.batch_size)
    scheduler = make_scheduler(config.lr_schedule, optimizer, config.lr, config.epochs * steps)
    state = TrainState()
    if resume and paths.checkpoint.is_file():
        state = load_checkpoint(
            paths.checkpoint, asdict(config), net, optimizer, scheduler, generator, device
        )
        print(f"resuming {paths.checkpoint} after epoch {state.epoch}", file=sys.stderr)
    elif resume:
        print(f"no checkpoint at {paths.checkpoint}: starting from scratch", file=sys.stderr)
    elif paths.checkpoint.is_file() and not restart:
        raise ValueError(
            f"checkpoint {paths.checkpoint} exists from an earlier run: add --resume to continue it or "
            "--restart to train from scratch (and overwrite it)"
        )
    rewrite_log(paths.log, state.history)
    x_train, y_train = to_tensors(train_set, config.normalization, device)
    x_val, y_val = to_tensors(val_set, config.normalization, device)
    while state.epoch < config.epochs and state.epochs_without_improvement < config.patience:
        started = time.perf_counter()
        train_metrics = train_epoch(
            net, optimizer, scheduler, x_train, y_train, config, generator, state.epoch
        )
        val_loss, val_acc = evaluate_exits(net, x_val, y_val)
        state.epoch += 1
        objective = float(np.mean(val_loss))  # the authors' 0.5*l1 + 0.5*l2, for any number of exits
        improved = objective < state.best_loss
        if improved:
            state.best_loss, state.best_epoch, state.epochs_without_improvement = objective, state.epoch, 0
            state.best_state = cpu_state(net)
        else:
            state.epochs_without_improvement += 1
        seconds = time.perf_counter() - started
        state.elapsed += seconds
        record = {
            "epoch": state.epoch,
            **train_metrics,
            "val_loss": val_loss,
            "val_acc": val_acc,
            "val_objective": objective,
            "best": improved,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": round(seconds, 3),
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        state.history.append(record)
        save_checkpoint(paths.checkpoint, asdict(config), net, optimizer, scheduler, generator, state)
        append_log(paths.log, record)
        print(epoch_line(record, config.epochs), file=sys.stderr)
    state.stopped_early = state.epochs_without_improvement >= config.patience
    if state.stopped_early:
        print(f"early stop: no improvement for {config.patience} epochs", file=sys.stderr)
    if state.best_state is not None:
        net.load_state_dict(state.best_state)
    return net, state


def train_epoch(
    net: EarlyExitNet,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    epoch: int,
) -> dict[str, list[float]]:
    """One pass over the training windows in a seeded random order; mean loss and accuracy per exit."""
    net.train()
    order = torch.randperm(x.shape[0], generator=generator).to(x.device)
    steps = steps_per_epoch(x.shape[0], config.batch_size)
    loss_sums = np.zeros(net.num_exits)
    correct = np.zeros(net.num_exits)
    seen = 0
    with tqdm(
        total=steps, desc=f"epoch {epoch + 1}/{config.epochs}", unit="batch", leave=False, disable=None
    ) as bar:
        for step in range(steps):
            batch = order[step * config.batch_size : (step + 1) * config.batch_size]
            losses, hits = train_step(net, optimizer, x[batch], y[batch], config.scheme, config.exit_weights)
            if scheduler is not None:
                scheduler.step()
            loss_sums += np.asarray(losses) * batch.numel()
            correct += hits
            seen += batch.numel()
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
            bar.update()
    return {"train_loss": (loss_sums / seen).tolist(), "train_acc": (correct / seen).tolist()}


@torch.no_grad()
def evaluate_exits(net: EarlyExitNet, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
    """Mean cross-entropy and accuracy of every exit over all windows (eval mode, no dropout)."""
    net.eval()
    loss_sums = np.zeros(net.num_exits)
    correct = np.zeros(net.num_exits)
    for start in range(0, x.shape[0], EVAL_BATCH):
        xb, yb = x[start : start + EVAL_BATCH], y[start : start + EVAL_BATCH]
        for k, logits in enumerate(net(xb)):
            loss_sums[k] += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
            correct[k] += int((logits.argmax(dim=1) == yb).sum())
    return (loss_sums / x.shape[0]).tolist(), (correct / x.shape[0]).tolist()


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    return (
        f"epoch {record['epoch']}/{epochs}: train loss {fmt(record['train_loss'])} acc "
        f"{fmt(record['train_acc'])} | val loss {fmt(record['val_loss'])} acc {fmt(record['val_acc'])} | "
        f"lr {record['lr']:.2e} | {record['seconds']:.1f} s{' *best' if record['best'] else ''}"
    )


def fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"


# --------------------------------------------------------------------------------- checkpoint and log


# ------------------------------------------------------------------------------------- thresholds
