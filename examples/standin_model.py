"""A stand-in model for the live demo, trained in under a minute, for when the shipped model is missing.

The shipped model (models/eeamc_rml22.pt) comes from the full reproduction. Until it exists, the demo
still runs: this module records windows from the demo's own flowgraph (the classifier detached, no
throttle) over every modulation at a few SNRs, trains a V1 early-exit network on them with the paper's
Algorithm 1 (``training.train.train_step``) for a few epochs at a high learning rate, calibrates its
threshold (``training.calibrate``) and caches the file under data/live_demo/. It is labelled a stand-in
in its provenance and everywhere the demo prints it: it is small, briefly trained, and has only seen
this flowgraph's signals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import demo_stream
import numpy as np
import torch
from tqdm import tqdm

#: Bump when the recipe below changes, so cached stand-ins are remade.
RECIPE_VERSION = 1
ARCH = "v1"
CACHE_DIR = demo_stream.SOURCE_TREE / "data" / "live_demo"


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the stand-in (its hash names the cached file)."""

    seed: int = 0
    snrs: tuple[float, ...] = (0.0, 4.0, 8.0, 12.0, 16.0, 20.0)
    windows_per_segment: int = 120
    epochs: int = 12
    lr: float = 3e-3
    batch_size: int = 128
    val_fraction: float = 0.2
    budget_pp: float = 1.0
    version: int = RECIPE_VERSION

    def cache_path(self) -> Path:
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]
        return CACHE_DIR / f"standin_{ARCH}_{digest}.pt"


def training_modules() -> tuple[Any, Any, Any]:
    """training.train, training.calibrate and training.datasets, or a clear error."""
    modules = [demo_stream.optional_training_module(name) for name in ("train", "calibrate", "datasets")]
    if any(module is None for module in modules):
        raise RuntimeError(
            "no model to run: the shipped model is missing and the stand-in needs the training package "
            "of the source tree (training/train.py, calibrate.py, datasets.py). Pass --model FILE, or run "
            "from a checkout"
        )
    return modules[0], modules[1], modules[2]


def obtain_standin(recipe: Recipe, audio_file: Path, log=print) -> Path:
    """The cached stand-in for ``recipe``, trained now if it is not cached yet."""
    path = recipe.cache_path()
    if path.is_file():
        log(f"stand-in model: using the cached {path} (delete it to retrain)")
        return path
    train, calibrate, datasets = training_modules()
    started = time.perf_counter()
    classes = list(datasets.RML22_CLASSES)
    windows, labels, snrs = record_windows(recipe, audio_file, classes, log)
    log(f"stand-in model: training {ARCH} on {len(labels)} windows for {recipe.epochs} epochs ...")
    model, metrics = fit(recipe, windows, labels, snrs, classes, train, calibrate, datasets)
    model.provenance = {
        **model.provenance,  # the calibration record
        "stand_in": True,
        "note": "live-demo stand-in, NOT the shipped model: briefly trained on the demo flowgraph's own "
        "signals only (examples/standin_model.py)",
        "recipe": asdict(recipe),
        "audio": str(audio_file),
        "metrics": metrics,
        "seconds": round(time.perf_counter() - started, 1),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "torch": str(torch.__version__),
    }
    eeamc = demo_stream.import_eeamc()
    eeamc.save_model(model, path)
    log(
        f"stand-in model: {path} in {model.provenance['seconds']} s; validation accuracy "
        f"{metrics['val_accuracy_exits_off']:.1%} (exits off), {metrics['val_accuracy']:.1%} with "
        f"threshold {model.thresholds}"
    )
    return path


def record_windows(
    recipe: Recipe, audio_file: Path, classes: list[str], log
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows [N, 2, 128], labels and SNRs recorded from the demo flowgraph, one segment per
    (class, SNR), each segment's windows taken where its settings surely hold."""
    eeamc = demo_stream.import_eeamc()
    length = 128
    rng = np.random.default_rng(recipe.seed)
    segments = [
        demo_stream.Segment(name, snr, float(rng.uniform(-demo_stream.MAX_CFO, demo_stream.MAX_CFO)))
        for name in demo_stream.SELECTOR_ORDER
        for snr in recipe.snrs
    ]
    segments = [segments[i] for i in rng.permutation(len(segments))]
    with demo_stream.temporary_directory() as folder:
        # The flowgraph's classifier needs some model to be built; it is detached before the run.
        placeholder = Path(folder) / "placeholder.pt"
        eeamc.save_model(eeamc.Model(eeamc.build_network(ARCH).eval(), classes, "l1", [0.1]), placeholder)
        flowgraph = demo_stream.flowgraph_class()(
            model_path=str(placeholder), device="cpu", audio_file=str(audio_file), seed=recipe.seed + 1000
        )
        needed = demo_stream.settle_samples(flowgraph) + recipe.windows_per_segment * length
        recorder = demo_stream.make_recorder(capacity=len(segments) * (needed + 65536))
        detach_classifier(flowgraph, recorder)
        truth = demo_stream.Truth(length)
        log(f"stand-in model: recording {len(segments)} segments of {recipe.windows_per_segment} windows ...")
        flowgraph.start()
        try:
            for segment in segments:
                truth.switch(flowgraph, segment)
                while recorder.count < segment.start + recipe.windows_per_segment * length:
                    time.sleep(0.005)
        finally:
            flowgraph.stop()
            flowgraph.wait()
        samples = recorder.recorded()
    if recorder.count > len(samples):
        raise RuntimeError("stand-in recorder overflowed; raise its capacity")
    return cut_windows(samples, truth.segments, recipe.windows_per_segment, length, classes)


def detach_classifier(flowgraph: Any, recorder: Any) -> None:
    """Take the throttle and the classifier out: the noisy channel output goes straight to ``recorder``."""
    flowgraph.disconnect(flowgraph.add_noise, flowgraph.throttle)
    flowgraph.disconnect(flowgraph.throttle, flowgraph.amc)
    flowgraph.disconnect(flowgraph.amc, flowgraph.sink)
    flowgraph.connect(flowgraph.add_noise, recorder)


def cut_windows(
    samples: np.ndarray, segments: list[Any], per_segment: int, length: int, classes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    eeamc = demo_stream.import_eeamc()
    windows, labels, snrs = [], [], []
    for segment in segments:
        chunk = samples[segment.start : segment.start + per_segment * length]
        framed = eeamc.windows.frame(chunk, length)
        windows.append(framed)
        labels.append(np.full(len(framed), classes.index(segment.modulation), dtype=np.int64))
        snrs.append(np.full(len(framed), int(round(segment.snr_db)), dtype=np.int64))
    return np.concatenate(windows), np.concatenate(labels), np.concatenate(snrs)


def fit(
    recipe: Recipe,
    windows: np.ndarray,
    labels: np.ndarray,
    snrs: np.ndarray,
    classes: list[str],
    train: Any,
    calibrate: Any,
    datasets: Any,
) -> tuple[Any, dict[str, Any]]:
    """Train with Algorithm 1 and a one-cycle schedule; calibrate the threshold on held-out windows."""
    threads = torch.get_num_threads()
    # One thread: on a small, shared machine two threads contend and train ten times slower.
    torch.set_num_threads(1)
    try:
        return fit_network(recipe, windows, labels, snrs, classes, train, calibrate, datasets)
    finally:
        torch.set_num_threads(threads)


def fit_network(
    recipe: Recipe,
    windows: np.ndarray,
    labels: np.ndarray,
    snrs: np.ndarray,
    classes: list[str],
    train: Any,
    calibrate: Any,
    datasets: Any,
) -> tuple[Any, dict[str, Any]]:
    eeamc = demo_stream.import_eeamc()
    generator = train.seed_everything(recipe.seed)
    order = torch.randperm(len(labels), generator=generator).numpy()
    val_count = int(len(labels) * recipe.val_fraction)
    val_rows, train_rows = order[:val_count], order[val_count:]
    x = torch.from_numpy(eeamc.windows.normalize(windows, "l1"))
    y = torch.from_numpy(labels)
    net = eeamc.build_network(ARCH, num_classes=len(classes))
    optimizer = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=5e-4)
    steps = train.steps_per_epoch(len(train_rows), recipe.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.lr, total_steps=recipe.epochs * steps
    )
    weights = [1.0] * net.num_exits
    for _ in tqdm(range(recipe.epochs), desc="stand-in epochs", unit="epoch", leave=False, disable=None):
        net.train()
        shuffled = train_rows[torch.randperm(len(train_rows), generator=generator).numpy()]
        for step in range(steps):
            batch = shuffled[step * recipe.batch_size : (step + 1) * recipe.batch_size]
            train.train_step(net, optimizer, x[batch], y[batch], "paper", weights)
            scheduler.step()
    _, val_accuracy = train.evaluate_exits(net, x[val_rows], y[val_rows])
    model = eeamc.Model(net.eval(), classes, "l1", [0.0] * (net.num_exits - 1))
    validation = datasets.Dataset(
        x=windows[val_rows],
        y=labels[val_rows],
        snr=snrs[val_rows],
        classes=classes,
        source="live demo",
        attrs={},
    )
    result = calibrate.calibrate_model(
        model, validation, budget_pp=recipe.budget_pp, split="stand-in validation"
    )
    metrics = {
        "val_windows": int(val_count),
        "train_windows": int(len(train_rows)),
        "val_accuracy_per_exit": [round(float(a), 4) for a in val_accuracy],
        "val_accuracy_exits_off": float(result.exits_off_accuracy),
        "val_accuracy": float(result.accuracy),
        "val_early_exit_share": float(result.early_exit_share),
    }
    return model, metrics


if __name__ == "__main__":
    # python examples/standin_model.py: make (or show) the cached stand-in for the default recipe.
    with demo_stream.temporary_directory() as folder:
        audio, _ = demo_stream.make_audio(Path(folder), 0)
        print(obtain_standin(Recipe(), audio), file=sys.stderr)
