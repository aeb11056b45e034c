# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The training loop: epochs of the chosen scheme, every exit validated, the best weights kept, early
stopping, a checkpoint and a log line each epoch (``python -m training train`` runs it: train.py).

Under torchrun (several processes, one per GPU or CPU share, on one machine or several) the network is
wrapped in DistributedDataParallel. Every process draws the same seeded order of the training windows
each epoch and takes every ``size``-th window of each global batch from its rank on, so the global
batches are those of a one-process run and a checkpoint resumes with any number of processes. (torch's
DistributedSampler shards a permutation the same way, but its order, seeded by seed + epoch, is not a
one-process run's, and it pads each epoch with repeated windows to a multiple of the processes.)
Validation is sharded the same way and its sums all-reduced, so every process takes the same
early-stopping decision; only rank 0 writes the checkpoint and the log.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist
from gnuradio.eeamc.model_file import load_model
from gnuradio.eeamc.networks import EarlyExitNet, build_network, cpu_state
from gnuradio.eeamc.windows import normalize
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from training.checkpoints import (
    TrainState,
    append_log,
    read_checkpoint,
    restore_checkpoint,
    rewrite_log,
    save_checkpoint,
)
from training.datasets import Dataset, resolve_split_by
from training.schemes import train_step, trainable_parameters

if TYPE_CHECKING:  # the command's records; train.py imports this module
    from training.train import Paths, TrainConfig


@dataclass(frozen=True)
class World:
    """This process among the training processes: torchrun's RANK of WORLD_SIZE (alone: rank 0 of 1).
    With more than one, torch.distributed's default process group is initialised (train.py does it)."""

    rank: int = 0
    size: int = 1

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        """The process that writes (checkpoint, log, model file) and prints."""
        return self.rank == 0

    def shard(self, windows: torch.Tensor) -> torch.Tensor:
        """This process's share of a batch: every ``size``-th entry from its rank on."""
        return windows[self.rank :: self.size]

    def sum(self, values: np.ndarray, device: torch.device) -> np.ndarray:
        """``values`` summed over the processes (all-reduced in float64: counts stay exact)."""
        if not self.distributed:
            return values
        total = torch.as_tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(total)
        return total.cpu().numpy()


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


def steps_per_epoch(n: int, batch_size: int, processes: int = 1) -> int:
    """Batches per epoch; a last batch with fewer than two windows per process is dropped (BatchNorm
    cannot train on one window)."""
    return n // batch_size + (1 if n % batch_size >= 2 * processes else 0)


def start_from(net: EarlyExitNet, path: str, classes: Sequence[str], config: TrainConfig) -> None:
    """Load a model file's weights into ``net`` (--init), after checking it is the same network."""
    model = load_model(path)
    theirs = (list(model.net.exit_points), list(model.classes), model.net.input_length)
    ours = (list(config.exits), list(classes), config.length)
    if theirs != ours:
        raise ValueError(
            f"--init {path}: exits, classes and window length {theirs} differ from this run's {ours}; "
            "start from a model of the same --arch trained on the same classes, or leave --init out"
        )
    net.load_state_dict(model.net.state_dict())


# ------------------------------------------------------------------------------------------- the loop


def fit(
    config: TrainConfig,
    train_set: Dataset,
    val_set: Dataset,
    paths: Paths,
    device: torch.device,
    resume: bool = False,
    restart: bool = False,
    world: World = World(),
) -> tuple[EarlyExitNet, TrainState]:
    """Train with early stopping and per-epoch checkpoints; return the network with the best weights.
    ``config.batch_size`` is the global batch, shared among ``world``'s processes."""
    generator = seed_everything(config.seed)
    net = build_network(config.exits, num_classes=len(train_set.classes), input_length=config.length)
    if config.init:
        start_from(net, config.init, train_set.classes, config)
    net = net.to(device)
    optimizer = torch.optim.Adam(trainable_parameters(net), lr=config.lr, weight_decay=config.weight_decay)
    steps = steps_per_epoch(len(train_set), config.batch_size, world.size)
    scheduler = make_scheduler(config.lr_schedule, optimizer, config.lr, config.epochs * steps)
    state = TrainState()
    # Checkpoints made before --split-by existed split as "auto" does now (RML22's files by window).
    missing = {"split_by": resolve_split_by(train_set, "auto"), "init": None, "mix": []}
    payload = checkpoint_to_resume(paths, asdict(config), missing, resume, restart, world)
    if payload is not None:
        state = restore_checkpoint(payload, net, optimizer, scheduler, generator, device)
    model = parallel(net, config, device, world)
    if world.main:
        rewrite_log(paths.log, state.history)
    x_train, y_train = to_tensors(train_set, config.normalization, device)
    x_val, y_val = (world.shard(t) for t in to_tensors(val_set, config.normalization, device))
    while state.epoch < config.epochs and state.epochs_without_improvement < config.patience:
        started = time.perf_counter()
        seed_dropout(config.seed, world, state.epoch)
        train_metrics = train_epoch(
            model, optimizer, scheduler, x_train, y_train, config, generator, state.epoch, world
        )
        average_batchnorm_statistics(net, world)
        val_loss, val_acc = evaluate_exits(net, x_val, y_val, world)
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
        if world.main:
            save_checkpoint(paths.checkpoint, asdict(config), net, optimizer, scheduler, generator, state)
            append_log(paths.log, record)
            print(epoch_line(record, config.epochs), file=sys.stderr)
    state.stopped_early = state.epochs_without_improvement >= config.patience
    if state.stopped_early and world.main:
        print(f"early stop: no improvement for {config.patience} epochs", file=sys.stderr)
    if state.best_state is not None:
        net.load_state_dict(state.best_state)
    return net, state


def checkpoint_to_resume(
    paths: Paths,
    config: dict[str, Any],
    missing: dict[str, Any],
    resume: bool,
    restart: bool,
    world: World,
) -> dict[str, Any] | None:
    """The checkpoint to continue from (None: start afresh). Rank 0 reads it and hands it to the other
    processes, so every process starts from the same state and other machines need not see the file;
    a refusal reaches every process, so none is left waiting for the others."""
    payload, error = None, None
    if world.main:
        try:
            payload = read_checkpoint_to_resume(paths.checkpoint, config, missing, resume, restart)
        except ValueError as refusal:
            error = str(refusal)
    if world.distributed:
        shared = [payload, error]
        dist.broadcast_object_list(shared, src=0)
        payload, error = shared
    if error is not None:
        raise ValueError(error)
    return payload


def read_checkpoint_to_resume(
    path: Path, config: dict[str, Any], missing: dict[str, Any], resume: bool, restart: bool
) -> dict[str, Any] | None:
    if resume and path.is_file():
        payload = read_checkpoint(path, config, missing)
        print(f"resuming {path} after epoch {payload['state']['epoch']}", file=sys.stderr)
        return payload
    if resume:
        print(f"no checkpoint at {path}: starting from scratch", file=sys.stderr)
    elif path.is_file() and not restart:
        raise ValueError(
            f"checkpoint {path} exists from an earlier run: add --resume to continue it or "
            "--restart to train from scratch (and overwrite it)"
        )
    return None


def parallel(
    net: EarlyExitNet, config: TrainConfig, device: torch.device, world: World
) -> EarlyExitNet | DistributedDataParallel:
    """The network to train: itself, or under several processes its DistributedDataParallel wrapper.

    Algorithm 1's cut between segments leaves no parameter unused (each segment's loss reaches it), but
    an exit of weight 0 is left out of the graph (schemes.combined_loss), and then so are the layers only
    it trains: DDP must look for such parameters every step or it waits for their gradients forever."""
    if not world.distributed:
        return net
    return DistributedDataParallel(
        net,
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=any(w == 0 for w in config.exit_weights),
    )


def seed_dropout(seed: int, world: World, epoch: int) -> None:
    """Give each process other than rank 0 its own dropout masks, seeded by (seed, rank, epoch) so that
    a resumed run draws them again; rank 0 keeps the stream its checkpoint saves (a one-process run's)."""
    if world.rank > 0:
        torch.manual_seed(int(np.random.SeedSequence([seed, world.rank, epoch]).generate_state(1)[0]))


@torch.no_grad()
def average_batchnorm_statistics(net: nn.Module, world: World) -> None:
    """Average BatchNorm's running statistics over the processes: each normalised only its share of every
    batch, so each has its own estimate (DDP would otherwise go on with rank 0's alone)."""
    if world.distributed:
        for buffer in net.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer)
                buffer /= world.size


def train_epoch(
    model: EarlyExitNet | DistributedDataParallel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    epoch: int,
    world: World = World(),
) -> dict[str, list[float]]:
    """One pass over the training windows in a seeded random order (the same in every process, which
    trains on its share of each batch); mean loss and accuracy per exit over all processes."""
    model.train()
    order = torch.randperm(x.shape[0], generator=generator).to(x.device)
    steps = steps_per_epoch(x.shape[0], config.batch_size, world.size)
    num_exits = len(config.exits) + 1
    loss_sums = np.zeros(num_exits)
    correct = np.zeros(num_exits)
    seen = 0
    with tqdm(
        total=steps,
        desc=f"epoch {epoch + 1}/{config.epochs}",
        unit="batch",
        leave=False,
        disable=None if world.main else True,
    ) as bar:
        for step in range(steps):
            batch = order[step * config.batch_size : (step + 1) * config.batch_size]
            mine = world.shard(batch)
            losses, hits = train_step(
                model,
                optimizer,
                x[mine],
                y[mine],
                config.scheme,
                config.exit_weights,
                scale=mine.numel() * world.size / batch.numel(),
            )
            if scheduler is not None:
                scheduler.step()
            loss_sums += np.asarray(losses) * mine.numel()
            correct += hits
            seen += mine.numel()
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
            bar.update()
    totals = world.sum(np.concatenate([loss_sums, correct, [seen]]), x.device)
    loss_sums, correct, seen = totals[:num_exits], totals[num_exits:-1], totals[-1]
    return {"train_loss": (loss_sums / seen).tolist(), "train_acc": (correct / seen).tolist()}


@torch.no_grad()
def evaluate_exits(
    net: EarlyExitNet, x: torch.Tensor, y: torch.Tensor, world: World = World()
) -> tuple[list[float], list[float]]:
    """Mean cross-entropy and accuracy of every exit over all windows (eval mode, no dropout); under
    several processes each passes its share and gets the figures over all shares."""
    net.eval()
    loss_sums = np.zeros(net.num_exits)
    correct = np.zeros(net.num_exits)
    for start in range(0, x.shape[0], EVAL_BATCH):
        xb, yb = x[start : start + EVAL_BATCH], y[start : start + EVAL_BATCH]
        for k, logits in enumerate(net(xb)):
            loss_sums[k] += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
            correct[k] += int((logits.argmax(dim=1) == yb).sum())
    totals = world.sum(np.concatenate([loss_sums, correct, [x.shape[0]]]), x.device)
    loss_sums, correct, count = totals[: net.num_exits], totals[net.num_exits : -1], totals[-1]
    return (loss_sums / count).tolist(), (correct / count).tolist()


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    return (
        f"epoch {record['epoch']}/{epochs}: train loss {fmt(record['train_loss'])} acc "
        f"{fmt(record['train_acc'])} | val loss {fmt(record['val_loss'])} acc {fmt(record['val_acc'])} | "
        f"lr {record['lr']:.2e} | {record['seconds']:.1f} s{' *best' if record['best'] else ''}"
    )


def fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.4f}" for v in values) + "]"
