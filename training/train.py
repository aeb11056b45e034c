# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The `train` command: options, data and splits, the run, and the model file it writes (thresholds,
contract, provenance); the loop itself is training/fitting.py.

The paper's Algorithm 1 (--scheme paper, the default): one forward pass with the graph cut between
segments, then the sum of the exits' cross-entropy losses goes back in one backward pass. Each exit's
loss therefore reaches only its own segment and its own branch: with one early exit, loss 1 trains the
common layers and the exit branch, loss 2 only the layers after the branch point; with more exits, each
exit trains the layers since the previous exit plus its branch. --scheme joint instead back-propagates a
weighted sum of all exit losses through the whole network.

Defaults are the authors': Adam lr 1e-4, weight decay 5e-4, batch 500, 50 epochs, no schedule, the
checkpoint with the lowest validation loss (the mean of the exit losses) kept, early stop after 8 epochs
without improvement, seed 25, the paper's stratified 80/10/10 split. On a CPU that is about 95 minutes
per network; a higher --lr with --lr-schedule onecycle over about 15 epochs converges in a fraction.

Every epoch a checkpoint (model, optimizer, schedule, RNG states, early-stopping state) is written
atomically and a JSON line appended to the log; --resume continues an interrupted run exactly where it
stopped. At the end the best weights are saved as the model file with its provenance, and the early-exit
thresholds are calibrated on the validation split (training.calibrate) unless --no-calibrate.

Several processes (GPUs, or CPU shares; one machine or several): start the same command under torchrun,
e.g. `torchrun --nproc-per-node 4 -m training train ...` (env:// rendezvous; NCCL on CUDA, gloo on the
CPU; --device auto or cuda means cuda:LOCAL_RANK). The network is trained with DistributedDataParallel:
--batch-size stays the global batch, each process trains on its share of every batch, validation and
early stopping are over all processes, and only rank 0 writes the checkpoint, the log and the model file.
BatchNorm normalises each process's share (batch / processes windows) and its running statistics are
averaged over the processes every epoch. --resume works with any number of processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import shlex
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from gnuradio.eeamc.contract import (
    RML22_CONTRACT,
    RML22_MAX_CARRIER_OFFSET,
    RML22_ROLLOFF,
    RML22_SAMPLES_PER_SYMBOL,
    SignalContract,
    rrc_contract,
)
from gnuradio.eeamc.engine import resolve_device
from gnuradio.eeamc.model_file import Model, save_model
from gnuradio.eeamc.networks import build_network, count_parameters, resolve_exits
from gnuradio.eeamc.windows import NORMALIZATIONS

from training.checkpoints import TrainState
from training.datasets import (
    SPLIT_BY,
    WINDOW_MODES,
    Dataset,
    concatenate,
    load_dataset,
    parse_class_list,
    parse_snr_list,
    plain,
    resolve_split_by,
    split_indices,
)
from training.fitting import World, fit, fmt
from training.provenance import code_version
from training.schemes import SCHEMES, parse_exit_weights

LR_SCHEDULES = ("none", "onecycle", "cosine")

#: The paper's entropy threshold, used for every early exit when calibration is skipped or unavailable.
PAPER_THRESHOLD = 0.35


def configure_parser(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data", required=True, metavar="FILE", help="dataset file (any layout training.datasets reads)"
    )
    data.add_argument(
        "--classes",
        help="comma list of classes to train on, in label order (all the file has when not given)",
    )
    data.add_argument(
        "--snrs", help="SNRs to train on: comma list and/or start:stop:step ranges (all when not given)"
    )
    data.add_argument(
        "--length", type=int, default=128, help="window length in samples (the network's input)"
    )
    data.add_argument(
        "--window-mode",
        choices=WINDOW_MODES,
        default="split",
        help="records longer than --length (RML2018): split into windows or crop",
    )
    data.add_argument(
        "--normalization",
        choices=NORMALIZATIONS,
        default="l1",
        help="per-window normalisation applied to the data and recorded in the model file",
    )
    data.add_argument(
        "--test-fraction", type=float, default=0.1, help="share of each (class, SNR) group for test"
    )
    data.add_argument("--val-fraction", type=float, default=0.1, help="share of the rest for validation")
    data.add_argument(
        "--split-by",
        choices=SPLIT_BY,
        default="auto",
        help="window: the paper's per-window split; stream: every window of one generated stream in one "
        "split (files with stream ids S); auto: what the data file recommends (its split_unit: stream "
        "for generate's robust profile, window for RML22)",
    )
    data.add_argument(
        "--mix",
        action="append",
        metavar="FILE",
        help="also train on FILE's training split and validate on its validation split (repeatable). "
        "FILE is split as it recommends, with the same seed and fractions, so its test split stays "
        "unseen; its classes are matched by name to those of --data, which must include them (a file "
        "may lack some, e.g. RML22 has no noise)",
    )

    model = parser.add_argument_group("network and training")
    model.add_argument(
        "--arch",
        required=True,
        help="baseline, v0, v1, v2, v3 or a comma list of exit points such as conv2,conv5",
    )
    model.add_argument("--out", required=True, metavar="MODEL", help="model file to write")
    model.add_argument(
        "--scheme",
        choices=SCHEMES,
        default="paper",
        help="paper: Algorithm 1 gradient routing; joint: weighted sum through the whole network",
    )
    model.add_argument(
        "--exit-weights",
        help="comma list, one weight per exit (early exits first); when not given 1 each for paper "
        "(each loss trains its own segment), equal weights summing to 1 for joint",
    )
    model.add_argument("--epochs", type=int, default=50, help="maximum epochs")
    model.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (the peak for onecycle)")
    model.add_argument("--weight-decay", type=float, default=5e-4, help="Adam (L2) weight decay")
    model.add_argument(
        "--batch-size",
        type=int,
        default=500,
        help="windows per optimizer step over all processes (global): under torchrun each of N processes "
        "trains on batch/N of them, so results stay comparable with one process",
    )
    model.add_argument(
        "--patience", type=int, default=8, help="stop after this many epochs without improvement"
    )
    model.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default="none",
        help="learning-rate schedule over --epochs, stepped every batch",
    )
    model.add_argument(
        "--seed", type=int, default=25, help="seed of the split, initial weights, batches, dropout"
    )
    model.add_argument(
        "--init",
        metavar="MODEL",
        help="start from this model file's weights instead of random ones (fine-tuning); its exits, "
        "classes and window length must be the run's",
    )

    run_group = parser.add_argument_group("running")
    run_group.add_argument(
        "--device",
        default="auto",
        help="auto, cpu, cuda or cuda:N; under torchrun auto and cuda mean cuda:LOCAL_RANK",
    )
    run_group.add_argument(
        "--threads",
        "--workers",
        dest="threads",
        type=int,
        default=0,
        help="CPU threads for torch per process (0: the cores this process may use, shared among the "
        "processes torchrun starts on this machine)",
    )
    run_group.add_argument("--checkpoint", metavar="PATH", help="checkpoint file (MODEL.ckpt when not given)")
    run_group.add_argument(
        "--log",
        metavar="PATH",
        help="JSON-lines log, one line per epoch (MODEL stem + .log.jsonl when not given)",
    )
    run_group.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    run_group.add_argument("--restart", action="store_true", help="start over even if a checkpoint exists")
    run_group.add_argument(
        "--no-calibrate",
        action="store_true",
        help=f"skip threshold calibration and store the paper's T={PAPER_THRESHOLD}",
    )
    run_group.add_argument(
        "--budget",
        type=float,
        default=0.5,
        help="calibration: accuracy budget (percentage points) against early exits off",
    )


@dataclass
class TrainConfig:
    """Everything that decides the outcome of a run (stored in checkpoint and provenance)."""

    data: str
    exits: list[str]
    arch: str
    classes: list[str] | None
    snrs: list[int] | None
    length: int = 128
    window_mode: str = "split"
    normalization: str = "l1"
    scheme: str = "paper"
    exit_weights: list[float] = field(default_factory=list)
    epochs: int = 50
    lr: float = 1e-4
    weight_decay: float = 5e-4
    batch_size: int = 500
    patience: int = 8
    lr_schedule: str = "none"
    seed: int = 25
    test_fraction: float = 0.1
    val_fraction: float = 0.1
    split_by: str = "auto"  # as asked; the run stores what it resolved to (window or stream)
    init: str | None = None  # a model file whose weights the run starts from (fine-tuning)
    mix: list[str] = field(default_factory=list)  # more files whose train / val splits join --data's


@dataclass
class Paths:
    out: Path
    checkpoint: Path
    log: Path


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    paths = paths_from_args(args)
    world = world_from_environment()
    if config.batch_size < 2 * world.size:
        raise ValueError(
            f"--batch-size {config.batch_size} is the global batch: {world.size} processes need at least "
            f"{2 * world.size} (two windows each, for BatchNorm)"
        )
    device = training_device(args.device, world)
    started_group = join_process_group(world, device)
    try:
        return train_and_save(args, config, paths, world, device)
    finally:
        if started_group:
            leave_process_group()


def leave_process_group() -> None:
    """Free what still holds the process group, then destroy it. DistributedDataParallel's reducer sits
    in reference cycles that outlive the function that made it; left to the interpreter's teardown,
    gloo's threads can be destroyed unjoined, and the process aborts ("terminate called without an
    active exception") after a run that succeeded, as tests/test_ddp.py's processes did."""
    gc.collect()
    dist.destroy_process_group()


def train_and_save(
    args: argparse.Namespace, config: TrainConfig, paths: Paths, world: World, device: torch.device
) -> int:
    """Train (this process's part of it) and, on rank 0, write the model file."""
    torch.set_num_threads(args.threads if args.threads > 0 else default_threads())
    train_set, val_set = load_train_val(config)
    config = replace(config, split_by=train_set.attrs["split_by"])  # auto -> what the file recommends
    if world.main:
        print(
            f"data {config.data}{''.join(f' + {path}' for path in config.mix)}: "
            f"{len(train_set)} train / {len(val_set)} val windows, "
            f"{len(train_set.classes)} classes, SNRs {train_set.snrs[0]}..{train_set.snrs[-1]} dB; "
            f"{config.arch} ({', '.join(config.exits) or 'no early exit'}), scheme {config.scheme}, "
            f"split by {config.split_by}, device {device}, {torch.get_num_threads()} threads"
            + (f", {world.size} processes" if world.distributed else ""),
            file=sys.stderr,
        )
    try:
        net, state = fit(
            config, train_set, val_set, paths, device, resume=args.resume, restart=args.restart, world=world
        )
    except KeyboardInterrupt:
        if world.main:
            print(
                f"\ninterrupted: continue with the same command and --resume ({paths.checkpoint})",
                file=sys.stderr,
            )
        return 130
    if not world.main:
        return 0
    signal, signal_source = signal_contract(train_set.attrs)
    model = Model(
        net=net.cpu().eval(),
        classes=list(train_set.classes),
        normalization=config.normalization,
        signal=signal,
    )
    model.provenance = provenance(config, args, train_set, val_set, state, paths, device, world)
    model.provenance["contract_source"] = signal_source
    threshold_note = set_thresholds(model, val_set, config, args)
    save_model(model, paths.out)
    best = state.history[state.best_epoch - 1] if state.best_epoch else {}
    print(
        f"wrote {paths.out}: best epoch {state.best_epoch} of {state.epoch}, val accuracy per exit "
        f"{fmt(best.get('val_acc', []))}, thresholds {fmt(model.thresholds)} ({threshold_note})"
    )
    return 0


# ------------------------------------------------------------------------------------- processes


def world_from_environment() -> World:
    """This process's rank among the training processes, from torchrun's RANK and WORLD_SIZE (alone when
    they are not set)."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
    except ValueError as error:
        raise ValueError(f"RANK and WORLD_SIZE must be integers (torchrun sets them): {error}") from error
    if not 0 <= rank < size:
        raise ValueError(f"RANK {rank} is not in 0..WORLD_SIZE-1 (WORLD_SIZE {size}): start under torchrun")
    return World(rank=rank, size=size)


def local_processes() -> tuple[int, int]:
    """(LOCAL_RANK, LOCAL_WORLD_SIZE): this process among those torchrun started on this machine."""
    return int(os.environ.get("LOCAL_RANK", "0")), int(os.environ.get("LOCAL_WORLD_SIZE", "1"))


def training_device(option: str, world: World) -> torch.device:
    """The --device of this process: with several processes, auto and cuda mean this machine's GPU
    number LOCAL_RANK (one GPU per process, as torchrun expects); cuda:N is taken as given."""
    name = option.strip().lower()
    if world.distributed and name in ("auto", "cuda") and torch.cuda.is_available():
        name = f"cuda:{local_processes()[0]}"
    device = resolve_device(name)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL's collectives run on the current device
    return device


def join_process_group(world: World, device: torch.device) -> bool:
    """Join the other processes (env:// rendezvous: MASTER_ADDR, MASTER_PORT as torchrun sets them);
    True when this call started the group (a caller that started one itself keeps it)."""
    if not world.distributed:
        return False
    if dist.is_initialized():
        if dist.get_world_size() != world.size:
            raise ValueError(
                f"the process group has {dist.get_world_size()} processes but WORLD_SIZE is {world.size}"
            )
        return False
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo", init_method="env://")
    return True


# -------------------------------------------------------------------------------------------- set-up


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    exits = list(resolve_exits(args.arch))
    num_exits = len(exits) + 1
    for name in ("epochs", "batch_size", "length"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.lr <= 0 or args.weight_decay < 0 or args.patience < 1:
        raise ValueError("--lr must be > 0, --weight-decay >= 0 and --patience >= 1")
    return TrainConfig(
        data=str(Path(args.data).resolve()),
        exits=exits,
        arch=args.arch,
        classes=parse_class_list(args.classes),
        snrs=parse_snr_list(args.snrs),
        length=args.length,
        window_mode=args.window_mode,
        normalization=args.normalization,
        scheme=args.scheme,
        exit_weights=parse_exit_weights(args.exit_weights, num_exits, args.scheme),
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        patience=args.patience,
        lr_schedule=args.lr_schedule,
        seed=args.seed,
        test_fraction=args.test_fraction,
        val_fraction=args.val_fraction,
        split_by=args.split_by,
        init=str(Path(args.init).resolve()) if args.init else None,
        mix=[str(Path(path).resolve()) for path in args.mix or []],
    )


def paths_from_args(args: argparse.Namespace) -> Paths:
    out = Path(args.out)
    return Paths(
        out=out,
        checkpoint=Path(args.checkpoint) if args.checkpoint else Path(f"{out}.ckpt"),
        log=Path(args.log) if args.log else out.parent / f"{out.stem}.log.jsonl",
    )


def default_threads() -> int:
    """The cores this process may use, shared among the training processes on this machine."""
    return max(1, available_cores() // max(1, local_processes()[1]))


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def load_train_val(config: TrainConfig) -> tuple[Dataset, Dataset]:
    """The training and validation splits of --data, each joined by the same split of every --mix file
    (the test splits are never touched here)."""
    dataset = load_dataset(
        config.data,
        classes=config.classes,
        snrs=config.snrs,
        length=config.length,
        window_mode=config.window_mode,
    )
    train_set, val_set = train_val_splits(dataset, config, config.split_by)
    if not config.mix:
        return train_set, val_set
    mixed = [train_val_splits(load_mixed(path, dataset, config), config, "auto") for path in config.mix]
    joined = []
    for own, others in ((train_set, [pair[0] for pair in mixed]), (val_set, [pair[1] for pair in mixed])):
        part = concatenate([own, *others])
        part.attrs["mixed"] = [
            {"path": other.source, "windows": len(other), "split_by": other.attrs["split_by"]}
            for other in others
        ]
        joined.append(part)
    return joined[0], joined[1]


def train_val_splits(dataset: Dataset, config: TrainConfig, split_by: str) -> tuple[Dataset, Dataset]:
    """``dataset``'s training and validation splits with the run's seed and fractions."""
    parts = split_indices(dataset, config.seed, config.test_fraction, config.val_fraction, split_by)
    if parts["train"].size < 2 or parts["val"].size < 1:
        raise ValueError(
            f"dataset {dataset.source}: {len(dataset)} windows give {parts['train'].size} training and "
            f"{parts['val'].size} validation windows; use more data or larger fractions"
        )
    subsets = []
    for name in ("train", "val"):
        subset = dataset.subset(parts[name])
        subset.attrs.update(split=name, split_seed=config.seed, split_by=resolve_split_by(dataset, split_by))
        subsets.append(subset)
    return subsets[0], subsets[1]


def load_mixed(path: str, main: Dataset, config: TrainConfig) -> Dataset:
    """A --mix file with its labels renumbered to the classes of ``main`` (the --data file), which must
    hold every class the file has: a file may lack some of them (RML22 has no noise), never add one. Its
    recorded sample rate, where both record one, must be main's: the model's contract is main's."""
    classes = main.classes
    dataset = load_dataset(path, snrs=config.snrs, length=config.length, window_mode=config.window_mode)
    rates = [part.attrs.get("sample_rate_hz") for part in (main, dataset)]
    if None not in rates and not np.isclose(float(rates[0]), float(rates[1]), rtol=1e-6):
        raise ValueError(
            f"--mix {path}: recorded at {float(rates[1]):g} S/s, --data {main.source} at {float(rates[0]):g} "
            "S/s; a model has one input rate: resample or regenerate one of them"
        )
    extra = [name for name in dataset.classes if name not in classes]
    if extra:
        raise ValueError(
            f"--mix {path}: class(es) {extra} are not among the classes trained on ({list(classes)}); "
            "add them to --classes or leave the file out"
        )
    index = np.array([list(classes).index(name) for name in dataset.classes], dtype=np.int64)
    return replace(dataset, y=index[dataset.y], classes=list(classes))


def set_thresholds(model: Model, val_set: Dataset, config: TrainConfig, args: argparse.Namespace) -> str:
    """Calibrate the early-exit thresholds on the validation split (training.calibrate), or store the
    paper's T for every early exit; record which in the provenance and return it as a note."""
    early_exits = model.net.num_exits - 1
    model.thresholds = [PAPER_THRESHOLD] * early_exits
    if early_exits == 0:
        note = "no early exits"
    elif args.no_calibrate:
        note = f"paper's T={PAPER_THRESHOLD} (--no-calibrate)"
    else:
        note = calibrate(model, val_set, config, args)
    model.provenance["thresholds"] = note
    return note


def calibrate(model: Model, val_set: Dataset, config: TrainConfig, args: argparse.Namespace) -> str:
    """Thresholds from training.calibrate when it is installed; the paper's T (already set) otherwise."""
    try:
        from training import calibrate as calibration
    except ImportError as error:
        if error.name != "training.calibrate":  # calibrate.py exists but something it imports is broken
            raise
        print(f"training.calibrate not available: storing the paper's T={PAPER_THRESHOLD}", file=sys.stderr)
        return f"paper's T={PAPER_THRESHOLD} (training.calibrate not available)"
    if hasattr(calibration, "calibrate_model"):  # also records the calibration in the provenance
        calibration.calibrate_model(
            model,
            val_set,
            budget_pp=args.budget,
            device=args.device,
            split="val",
            data=config.data,
            seed=config.seed,
        )
    else:
        model.thresholds = [
            float(t)
            for t in calibration.calibrate_thresholds(
                model, val_set, budget_pp=args.budget, device=args.device
            )
        ]
    return f"calibrated on the validation split, budget {args.budget} pp"


# ------------------------------------------------------------------------------------- provenance


def signal_contract(attrs: Mapping[str, Any]) -> tuple[SignalContract, str]:
    """The input contract of a model trained on a dataset with these attributes, and where it came from.

    training.generate records the sample rate, samples per symbol, roll-off and its clock model (the
    largest carrier offset is the crystal's largest error times the carrier / crystal ratio). Other
    datasets (RML22's published pickles among them) record none of it: RML22's values are assumed.
    """
    if "sample_rate_hz" not in attrs:
        return RML22_CONTRACT, "the dataset does not record its sample rate: RML22's values assumed"
    recorded = [key for key in ("sample_rate_hz", "samples_per_symbol", "rolloff") if key in attrs]
    assumed = [key for key in ("samples_per_symbol", "rolloff") if key not in attrs]
    if "robust_carrier_offset_hz" in attrs:  # generate's robust profile draws the offset per stream
        max_offset = max(abs(float(bound)) for bound in attrs["robust_carrier_offset_hz"])
        recorded.append("robust_carrier_offset_hz")
    elif attrs.get("clock", "on") != "on":
        max_offset = 0.0  # trained without carrier offsets
        recorded.append("clock")
    elif "xo_max_error_hz" in attrs and "cfo_per_xo_error" in attrs:
        max_offset = float(attrs["xo_max_error_hz"]) * float(attrs["cfo_per_xo_error"])
        recorded.append("xo_max_error_hz x cfo_per_xo_error")
    else:
        max_offset = RML22_MAX_CARRIER_OFFSET
        assumed.append("carrier offset")
    contract = rrc_contract(
        float(attrs["sample_rate_hz"]),
        float(attrs.get("samples_per_symbol", RML22_SAMPLES_PER_SYMBOL)),
        float(attrs.get("rolloff", RML22_ROLLOFF)),
        max_offset,
    )
    source = f"the dataset's attributes {', '.join(recorded)}"
    if assumed:
        source += f"; {', '.join(assumed)} not recorded: RML22's assumed"
    return contract, source


def provenance(
    config: TrainConfig,
    args: argparse.Namespace,
    train_set: Dataset,
    val_set: Dataset,
    state: TrainState,
    paths: Paths,
    device: torch.device,
    world: World,
) -> dict[str, Any]:
    """How the model file was made: plain types only (the model file is loaded with weights_only)."""
    best = state.history[state.best_epoch - 1] if state.best_epoch else {}
    return plain(
        {
            "made_by": "python -m training train",
            "command": shlex.join(sys.argv),
            "arguments": {k: v for k, v in vars(args).items() if k not in ("handler", "command")},
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "git_commit": code_version(),
            "dataset": dataset_summary(train_set, val_set),
            "split_by": config.split_by,  # what --split-by resolved to: window or stream
            "config": asdict(config),
            "algorithm": (
                "Algorithm 1: each exit's loss trains only its own segment and branch"
                if config.scheme == "paper"
                else "joint: weighted sum of exit losses through the whole network"
            ),
            "parameters": count_parameters(
                build_network(config.exits, len(train_set.classes), config.length)
            ),
            "epochs_run": state.epoch,
            "best_epoch": state.best_epoch,
            "stopped_early": state.stopped_early,
            "val_loss": best.get("val_loss"),
            "val_accuracy": best.get("val_acc"),
            "val_objective": best.get("val_objective"),
            "train_seconds": round(state.elapsed, 1),
            "checkpoint": str(paths.checkpoint),
            "log": str(paths.log),
            "device": str(device),
            "processes": world.size,
            "backend": dist.get_backend() if world.distributed else None,
            "batch_per_process": config.batch_size / world.size,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "host": platform.node(),
        }
    )


def dataset_summary(train_set: Dataset, val_set: Dataset) -> dict[str, Any]:
    """The file, its recognised layout and its short attributes (long ones are only described)."""
    source = Path(train_set.source)
    stat = source.stat()
    attrs = {}
    for key, value in train_set.attrs.items():
        text = json.dumps(plain(value), default=str)
        attrs[key] = (
            plain(value) if len(text) <= 400 else f"<{type(value).__name__} of {len(text)} characters>"
        )
    return {
        "path": str(source.resolve()),
        "bytes": stat.st_size,
        "modified": dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).isoformat(timespec="seconds"),
        "layout": train_set.attrs.get("layout"),
        "classes": list(train_set.classes),
        "snrs": train_set.snrs,
        "train_windows": len(train_set),
        "val_windows": len(val_set),
        "attrs": attrs,
    }
