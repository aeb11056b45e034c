# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Training under torch.distributed (DistributedDataParallel): two CPU processes on the gloo backend
train like one process, keep Algorithm 1's gradient routing, write only from rank 0 and resume; and the
run's split (--split-by) as recorded and checked on resume.

The processes are started with torch.multiprocessing.spawn and join on a free loopback port with the
environment torchrun would set (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so the command
finds its place among them as it does under torchrun (tests/test_train_without_gnuradio.py runs torchrun
itself)."""

import argparse
import os
import socket
from dataclasses import replace
from types import SimpleNamespace

from training.checkout import use_source_tree

use_source_tree()  # the spawned processes import this module afresh, without tests/conftest.py

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import test_train  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from gnuradio.eeamc.model_file import load_model  # noqa: E402
from gnuradio.eeamc.networks import build_network  # noqa: E402
from test_train import FAST, common_and_later_parameters, read_log, snapshot, train_cli  # noqa: E402

from training import fitting, schemes, train  # noqa: E402

PROCESSES = 2
data_file = test_train.data_file  # the tiny generated set of tests/test_train.py (a pytest fixture)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_processes(function, *args) -> None:
    """``function(rank, *args)`` in PROCESSES processes joined in one gloo group (an assertion that fails
    in any of them fails the test, with its traceback)."""
    mp.spawn(join_and_run, args=(free_port(), function, args), nprocs=PROCESSES, join=True)


def join_and_run(rank: int, port: int, function, args) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(PROCESSES),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(PROCESSES),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="env://")
    try:
        function(rank, *args)
    finally:
        train.leave_process_group()  # as the command does: without it, a process could abort at exit


# ------------------------------------------------------------------------------------- Algorithm 1


def routing_under_ddp(rank: int) -> None:
    world = fitting.World(rank=rank, size=PROCESSES)
    torch.manual_seed(0)  # the same network and batch in both processes; each takes its share
    x, y = torch.randn(30, 2, 128), torch.randint(0, 10, (30,))

    # Weights 1, 1: DDP's averaged gradient of the two shards is the one-process gradient of the batch
    # (eval mode: BatchNorm and dropout fixed, so the shards are the only difference).
    alone = build_network("v1").eval()
    net = build_network("v1").eval()
    net.load_state_dict(alone.state_dict())
    schemes.combined_loss(
        schemes.exit_losses(schemes.forward_for_scheme(alone, x, "paper"), y), [1.0, 1.0]
    ).backward()
    model = fitting.parallel(net, SimpleNamespace(exit_weights=[1.0, 1.0]), torch.device("cpu"), world)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.0)
    mine = world.shard(torch.arange(30))
    schemes.train_step(model, optimizer, x[mine], y[mine], "paper", [1.0, 1.0], scale=1.0)
    for (name, p), q in zip(net.named_parameters(), alone.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-7, msg=name)

    # Weights 0, 1: loss 2 alone never reaches the common layers or the first exit, whose parameters
    # DDP must find unused; Adam with weight decay then leaves them exactly as they were.
    torch.manual_seed(1)
    net = build_network("v1").train()
    model = fitting.parallel(net, SimpleNamespace(exit_weights=[0.0, 1.0]), torch.device("cpu"), world)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=5e-4)
    common, later = common_and_later_parameters(net)
    untouched = common + list(net.branches[0].parameters())
    before_untouched, before_later = snapshot(untouched), snapshot(later)
    for _ in range(2):  # without find_unused_parameters the second step raises (tried: DDP's reducer)
        schemes.train_step(model, optimizer, x[mine], y[mine], "paper", [0.0, 1.0], scale=1.0)
    assert all(torch.equal(a, p) for a, p in zip(before_untouched, untouched))
    assert all(not torch.equal(a, p) for a, p in zip(before_later, later))
    assert all(p.grad is None for p in untouched)

    # Validation: once BatchNorm's running statistics (each process's own after training steps) are
    # averaged, each process passes its share and both get the figures of the whole set.
    fitting.average_batchnorm_statistics(net, world)
    net.eval()
    whole = fitting.evaluate_exits(net, x, y)
    shared = fitting.evaluate_exits(net, x[mine], y[mine], world)
    np.testing.assert_allclose(shared, whole, rtol=1e-6)


# ------------------------------------------------------------------------------------------ training


def without_dropout(build):
    """``build_network`` with dropout off, so that what is left to tell one process from two is BatchNorm
    normalising half batches (dropout masks would make every step differ)."""

    def build_without_dropout(*args, **kwargs):
        net = build(*args, **kwargs)
        for module in net.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        return net

    return build_without_dropout


def train_runs(rank: int, common: tuple, folder) -> None:
    """Algorithm 1 under DDP; then two epochs straight, and one, then --resume to two; all in the same
    two processes (starting them is most of the test's time)."""
    routing_under_ddp(rank)
    fitting.build_network = without_dropout(fitting.build_network)
    finished = []
    fit = train.fit
    train.fit = lambda *args, **kwargs: finished.append(fit(*args, **kwargs)) or finished[-1]
    assert train_cli(*common, "--out", folder / "two.pt", "--epochs", 2) == 0
    assert train_cli(*common, "--out", folder / "split.pt", "--epochs", 1) == 0
    assert train_cli(*common, "--out", folder / "split.pt", "--epochs", 2, "--resume") == 0
    # Every process ends with the same weights and BatchNorm statistics (DDP and the averaging kept
    # them in step) and the same early-stopping state.
    net, state = finished[0]
    values = torch.cat([v.detach().flatten().double() for v in net.state_dict().values()])
    gathered = [torch.zeros_like(values) for _ in range(PROCESSES)]
    dist.all_gather(gathered, values)
    assert all(torch.equal(gathered[0], v) for v in gathered)
    decisions = [None] * PROCESSES
    dist.all_gather_object(decisions, (state.best_epoch, state.epoch, state.history[-1]["val_loss"]))
    assert all(d == decisions[0] for d in decisions)


def test_two_processes_keep_algorithm_1_train_like_one_and_resume(data_file, tmp_path, monkeypatch):
    monkeypatch.setattr(fitting, "build_network", without_dropout(fitting.build_network))
    common = ("--data", data_file, "--arch", "v1", *FAST, "--no-calibrate")
    assert train_cli(*common, "--out", tmp_path / "one.pt", "--epochs", 2) == 0
    run_processes(train_runs, common, tmp_path)

    two = read_log(tmp_path / "two.log.jsonl")
    assert [r["epoch"] for r in two] == [1, 2]  # one line per epoch: only rank 0 writes the log
    # Exactly what one process computes when each half of every global batch goes forward and back on
    # its own (BatchNorm over the half) and the gradients are averaged: the weights after the last epoch.
    reference, reference_loss = half_batch_reference(common, epochs=2)
    final = torch.load(tmp_path / "two.pt.ckpt", weights_only=True)["model"]
    for name, value in reference.items():
        torch.testing.assert_close(final[name], value, rtol=1e-5, atol=1e-6, msg=name)  # measured 6e-8
    np.testing.assert_allclose(two[-1]["train_loss"], reference_loss, rtol=1e-5)

    # Against one process (BatchNorm over whole batches) the runs agree within a tolerance. Measured:
    # best validation loss per exit 0.0055 / 0.0016 alone, 0.0156 / 0.0020 in two processes, accuracy
    # 1.0 both; weights within 27 % (norm of the difference / norm, worst layer).
    alone, together = load_model(tmp_path / "one.pt"), load_model(tmp_path / "two.pt")
    np.testing.assert_allclose(together.provenance["val_loss"], alone.provenance["val_loss"], atol=0.05)
    np.testing.assert_allclose(
        together.provenance["val_accuracy"], alone.provenance["val_accuracy"], atol=0.05
    )
    others = together.net.state_dict()
    for name, value in alone.net.state_dict().items():
        if name.endswith("weight") and value.dim() > 1:  # convolutions and linear layers
            assert float((others[name] - value).norm() / value.norm()) < 0.5, name
    prov = together.provenance
    assert prov["processes"] == 2 and prov["backend"] == "gloo" and prov["batch_per_process"] == 12.5
    assert alone.provenance["processes"] == 1 and alone.provenance["backend"] is None

    resumed = load_model(tmp_path / "split.pt")  # --resume under two processes continues exactly
    for key, value in together.net.state_dict().items():
        assert torch.equal(value, resumed.net.state_dict()[key]), key
    keys = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "best")
    split = read_log(tmp_path / "split.log.jsonl")
    assert [{k: r[k] for k in keys} for r in split] == [{k: r[k] for k in keys} for r in two]

    # and a two-process checkpoint goes on in one process (the same global batches, its state whole)
    assert train_cli(*common, "--out", tmp_path / "two.pt", "--epochs", 3, "--resume") == 0
    assert [r["epoch"] for r in read_log(tmp_path / "two.log.jsonl")] == [1, 2, 3]
    assert load_model(tmp_path / "two.pt").provenance["processes"] == 1


def half_batch_reference(argv: tuple, epochs: int) -> tuple[dict, list[float]]:
    """One process doing the two processes' arithmetic: the same seeded batch order, each global batch's
    two shards forward and backward apart, gradients averaged, one Adam step. Returns the weights after
    ``epochs`` (not BatchNorm's running statistics, which two processes average only before each
    validation) and the last epoch's mean training loss per exit."""
    parser = argparse.ArgumentParser()
    train.configure_parser(parser)
    args = parser.parse_args([str(a) for a in argv] + ["--out", "unused.pt"])
    config = train.config_from_args(args)
    train_set, _ = train.load_train_val(config)
    generator = fitting.seed_everything(config.seed)
    net = without_dropout(build_network)(config.exits, len(train_set.classes), config.length)
    optimizer = torch.optim.Adam(
        schemes.trainable_parameters(net), lr=config.lr, weight_decay=config.weight_decay
    )
    x, y = fitting.to_tensors(train_set, config.normalization, torch.device("cpu"))
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(x), generator=generator)
        sums, seen = np.zeros(net.num_exits), 0
        for step in range(fitting.steps_per_epoch(len(x), config.batch_size, PROCESSES)):
            batch = order[step * config.batch_size : (step + 1) * config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            for rank in range(PROCESSES):
                mine = batch[rank::PROCESSES]
                losses = schemes.exit_losses(schemes.forward_for_scheme(net, x[mine], config.scheme), y[mine])
                (schemes.combined_loss(losses, config.exit_weights) * mine.numel() / batch.numel()).backward()
                sums += np.array([float(loss.detach()) for loss in losses]) * mine.numel()
                seen += mine.numel()
            optimizer.step()
    return {name: p.detach() for name, p in net.named_parameters()}, (sums / seen).tolist()


def test_the_global_batch_must_give_each_process_two_windows(data_file, tmp_path, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "8")
    monkeypatch.setenv("RANK", "0")
    argv = ("--data", data_file, "--arch", "v0", "--out", tmp_path / "m.pt", "--batch-size", 10)
    with pytest.raises(
        ValueError, match=r"--batch-size 10 is the global batch: 8 processes need at least 16"
    ):
        train_cli(*argv)


# ------------------------------------------------------------------- split by stream, older checkpoints


def test_split_by_stream_is_passed_through_recorded_and_checked_on_resume(tmp_path):
    x, y, z = test_train.synthetic_windows(per_group=40)
    path = tmp_path / "streams.h5"
    with h5py.File(path, "w") as file:  # four consecutive windows per stream, as a generator cuts them
        file["X"], file["Y"], file["Z"], file["S"] = x, y, z, np.arange(len(y)) // 4
        file.attrs["classes"] = test_train.CLASSES
        file.attrs["split_unit"] = "stream"
    argv = ("--data", path, "--arch", "v0", "--epochs", 1, *FAST, "--no-calibrate")
    assert train_cli(*argv, "--out", tmp_path / "auto.pt") == 0  # auto: what the file recommends
    assert train_cli(*argv, "--out", tmp_path / "window.pt", "--split-by", "window") == 0
    assert load_model(tmp_path / "auto.pt").provenance["split_by"] == "stream"
    assert load_model(tmp_path / "window.pt").provenance["config"]["split_by"] == "window"
    config = train.TrainConfig(data=str(path), exits=[], arch="v0", classes=None, snrs=None)
    for split_by, shared in (("auto", False), ("window", True)):
        parts = train.load_train_val(replace(config, split_by=split_by))
        assert bool(np.intersect1d(parts[0].stream, parts[1].stream).size) == shared, split_by

    # A checkpoint from before --split-by (no split_by in its settings) split as auto does now.
    checkpoint = tmp_path / "auto.pt.ckpt"
    payload = torch.load(checkpoint, weights_only=True)
    del payload["config"]["split_by"]
    torch.save(payload, checkpoint)
    with pytest.raises(ValueError, match=r"different settings \(split_by: 'stream' -> 'window'\)"):
        train_cli(*argv, "--out", tmp_path / "auto.pt", "--resume", "--split-by", "window", "--epochs", 2)
    assert train_cli(*argv, "--out", tmp_path / "auto.pt", "--resume", "--epochs", 2) == 0
    assert load_model(tmp_path / "auto.pt").provenance["epochs_run"] == 2
