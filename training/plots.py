# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plots of evaluation results (matplotlib, Agg backend: no display needed).

Every function takes data (``metrics.json`` dicts as ``training.evaluate`` writes them, or their paths)
and writes a PNG; nothing is recomputed here. ``plot_run`` draws one run's figures; ``figure4``,
``figure5`` and ``figure6`` compare several runs like the paper's figures 4, 5 and 6, and
``figure_speedup`` shows each run's measured speed-up over the same network with early exits off.

Inference time is drawn in microseconds per window, measured by the engine either one window per call
("batch1", how the paper's per-window loop runs) or in batches ("batched").
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

Run = Mapping[str, Any] | str | os.PathLike
TIMING_MODES = {"batch1": "batch 1", "batched": "batched"}


def load_run(run: Run) -> Mapping[str, Any]:
    """A metrics dict, or the metrics.json at a path (a folder means its metrics.json)."""
    if isinstance(run, Mapping):
        return run
    path = Path(run)
    if path.is_dir():
        path = path / "metrics.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ValueError(f"{path}: no such metrics file; run `python -m training evaluate` first") from error


def load_runs(runs: Sequence[Run], labels: Sequence[str]) -> list[Mapping[str, Any]]:
    if len(runs) != len(labels):
        raise ValueError(f"got {len(runs)} runs but {len(labels)} labels: give one label per run")
    return [load_run(run) for run in runs]


def snr_series(metrics: Mapping[str, Any], value) -> tuple[np.ndarray, np.ndarray]:
    """(SNRs ascending, value(entry) per SNR as floats, NaN where missing)."""
    keys = sorted(metrics["per_snr"], key=int)
    values = [value(metrics["per_snr"][key]) for key in keys]
    return np.array([int(k) for k in keys]), np.array(
        [np.nan if v is None else v for v in values], dtype=float
    )


def has_early_exits(metrics: Mapping[str, Any]) -> bool:
    return any(t > 0 for t in metrics.get("thresholds", []))


def timing_of(mode: str, which: str = "early_exits"):
    if mode not in TIMING_MODES:
        raise ValueError(f"timing {mode!r}: use one of {sorted(TIMING_MODES)}")

    def value(entry: Mapping[str, Any]) -> float | None:
        timing = entry.get("timing", {}).get(mode)
        return None if timing is None else timing[f"{which}_us_per_window"]

    return value


def percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def save(figure: plt.Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def style_snr_axis(axis: plt.Axes, ylabel: str, title: str) -> None:
    axis.set_xlabel("SNR (dB)")
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(True, alpha=0.3)


def threshold_text(metrics: Mapping[str, Any]) -> str:
    values = metrics.get("thresholds", [])
    return "no early exit" if not values else "T = " + ", ".join(f"{t:g}" for t in values)


# ---------------------------------------------------------------------------------------------------
# One run.


def plot_run(run: Run, out: str | os.PathLike) -> list[Path]:
    """All single-run figures into folder ``out``; returns the files written."""
    metrics = load_run(run)
    out = Path(out)
    written = [
        plot_accuracy(metrics, out / "accuracy_vs_snr.png"),
        plot_exit_share(metrics, out / "exit_share_vs_snr.png"),
        plot_sweep(metrics, out / "sweep.png"),
    ]
    if "timing" in metrics:
        written.append(plot_time(metrics, out / "time_vs_snr.png"))
    classes = metrics.get("model", {}).get("classes") or [
        str(i) for i in range(len(metrics["confusion"]["overall"]))
    ]
    confusion = metrics["confusion"]
    written.append(plot_confusion(confusion["overall"], classes, "all SNRs", out / "confusion.png"))
    written.append(
        plot_confusion(
            confusion["high_snr"],
            classes,
            f"SNR >= {metrics.get('high_snr_db', 10)} dB",
            out / "confusion_high_snr.png",
        )
    )
    return written


def plot_accuracy(run: Run, path: str | os.PathLike) -> Path:
    """Accuracy per SNR with early exits, with them off, and of the windows leaving at each early exit."""
    metrics = load_run(run)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    axis.plot(
        *snr_series(metrics, lambda e: percent(e["accuracy"])),
        "o-",
        label=f"early exits ({threshold_text(metrics)})",
    )
    axis.plot(
        *snr_series(metrics, lambda e: percent(e["exits_off_accuracy"])),
        "s--",
        label="early exits off",
    )
    for k in range(len(metrics.get("early_exit_accuracy", []))):
        axis.plot(
            *snr_series(metrics, lambda e, k=k: percent(e["early_exit_accuracy"][k])),
            "^:",
            label=f"windows leaving at early exit {k}",
        )
    axis.set_ylim(0, 102)
    style_snr_axis(axis, "accuracy (%)", "Accuracy per SNR")
    axis.legend(loc="lower right")
    return save(figure, path)


def plot_exit_share(run: Run, path: str | os.PathLike) -> Path:
    """Share of windows leaving at each early exit, and at any, per SNR."""
    metrics = load_run(run)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    early = len(metrics["exit_share"]) - 1
    for k in range(early):
        axis.plot(
            *snr_series(metrics, lambda e, k=k: percent(e["exit_share"][k])),
            "o-",
            label=f"early exit {k}",
        )
    if early > 1:
        axis.plot(
            *snr_series(metrics, lambda e: percent(e["early_exit_share"])),
            "k--",
            label="any early exit",
        )
    axis.set_ylim(0, 102)
    style_snr_axis(
        axis,
        "windows leaving early (%)",
        f"Early exits per SNR ({threshold_text(metrics)})",
    )
    if early:
        axis.legend()
    return save(figure, path)


def plot_time(run: Run, path: str | os.PathLike) -> Path:
    """Measured inference time per SNR, batched and batch 1, with and without early exits."""
    metrics = load_run(run)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for axis, mode in zip(axes, TIMING_MODES):
        overall = metrics["timing"][mode]
        axis.plot(
            *snr_series(metrics, timing_of(mode)),
            "o-",
            label=f"early exits ({threshold_text(metrics)})",
        )
        axis.plot(
            *snr_series(metrics, timing_of(mode, "exits_off")),
            "s--",
            label="early exits off",
        )
        title = f"{TIMING_MODES[mode]}"
        if mode == "batched":
            title += f" (batch size {overall.get('batch_size')})"
        speedup = overall.get("speedup")
        title += "" if speedup is None else f": speed-up {speedup:.2f}x overall"
        style_snr_axis(axis, "time per window (us)", title)
        axis.set_ylim(bottom=0)
        axis.legend()
    return save(figure, path)


def plot_confusion(
    matrix: Sequence[Sequence[int]],
    classes: Sequence[str],
    title: str,
    path: str | os.PathLike,
) -> Path:
    """A confusion matrix normalised per true class (rows), counts turned into percentages."""
    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = max(5.0, 0.6 * len(classes) + 2)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    image = axis.imshow(100 * shares, cmap="Blues", vmin=0, vmax=100)
    axis.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axis.set_yticks(range(len(classes)), classes)
    for (row, column), share in np.ndenumerate(shares):
        if share >= 0.005:
            axis.text(
                column,
                row,
                f"{100 * share:.0f}",
                ha="center",
                va="center",
                color="white" if share > 0.6 else "black",
                fontsize=8,
            )
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(f"Confusion matrix, {title} (% of each true class)")
    figure.colorbar(image, ax=axis, fraction=0.046)
    return save(figure, path)


def plot_sweep(run: Run, path: str | os.PathLike) -> Path:
    """Accuracy, share of early exits and MACs per window against the threshold."""
    metrics = load_run(run)
    sweep = metrics["sweep"]
    thresholds = [row["threshold"] for row in sweep]
    figure, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    axes[0].plot(
        thresholds,
        [percent(row["accuracy"]) for row in sweep],
        "o-",
        label="all windows",
    )
    axes[0].plot(
        thresholds,
        [
            np.nan if row["early_exits_accuracy"] is None else percent(row["early_exits_accuracy"])
            for row in sweep
        ],
        "^:",
        label="windows leaving early",
    )
    axes[0].set_ylabel("accuracy (%)")
    axes[0].legend()
    axes[1].plot(thresholds, [percent(row["early_exit_share"]) for row in sweep], "o-")
    axes[1].set_ylabel("windows leaving early (%)")
    axes[2].plot(thresholds, [row["macs_per_window"] / 1e6 for row in sweep], "o-")
    axes[2].axhline(
        metrics["exits_off_macs_per_window"] / 1e6,
        color="gray",
        ls="--",
        label="early exits off",
    )
    axes[2].set_ylabel("M MAC per window")
    axes[2].legend()
    for axis, title in zip(axes, ("Accuracy", "Early exits", "Compute")):
        axis.set_xlabel("entropy threshold T (same at every early exit)")
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
    return save(figure, path)


# ---------------------------------------------------------------------------------------------------
# Several runs, like the paper's figures.


def draw_accuracy(axis: plt.Axes, runs, labels, title: str) -> None:
    for metrics, label in zip(runs, labels):
        axis.plot(
            *snr_series(metrics, lambda e: percent(e["accuracy"])),
            "o-",
            ms=3,
            label=label,
        )
    axis.set_ylim(0, 102)
    style_snr_axis(axis, "accuracy (%)", title)
    axis.legend(loc="lower right")


def draw_time(axis: plt.Axes, runs, labels, title: str, timing: str, show_exits_off: bool) -> None:
    for metrics, label in zip(runs, labels):
        (line,) = axis.plot(*snr_series(metrics, timing_of(timing)), "o-", ms=3, label=label)
        if show_exits_off and has_early_exits(metrics):
            axis.plot(
                *snr_series(metrics, timing_of(timing, "exits_off")),
                "--",
                color=line.get_color(),
                alpha=0.6,
                label=f"{label}, early exits off",
            )
    axis.set_ylim(bottom=0)
    style_snr_axis(axis, f"time per window (us, {TIMING_MODES[timing]})", title)
    axis.legend(fontsize=8)


def figure4(
    runs: Sequence[Run],
    labels: Sequence[str],
    path: str | os.PathLike,
    title: str | None = None,
    timing: str = "batch1",
    show_exits_off: bool = False,
) -> Path:
    """Paper's figure 4 for several models at one threshold: (a) accuracy per SNR, (b) share of early
    exits per SNR, (c) inference time per SNR. Include the baseline network's run among ``runs``; models
    without an early exit are left out of (b). ``show_exits_off`` adds each model's own time with its
    early exits off (measured in the same run) as a dashed line."""
    runs = load_runs(runs, labels)
    figure, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    draw_accuracy(axes[0], runs, labels, "(a) accuracy")
    for metrics, label in zip(runs, labels):
        if len(metrics["exit_share"]) > 1:
            axes[1].plot(
                *snr_series(metrics, lambda e: percent(e["early_exit_share"])),
                "o-",
                ms=3,
                label=label,
            )
        else:
            axes[1].plot([], [])  # keep each label's colour the same in every panel
    axes[1].set_ylim(0, 102)
    style_snr_axis(axes[1], "windows leaving early (%)", "(b) share of early exits")
    axes[1].legend(loc="upper left")
    draw_time(axes[2], runs, labels, "(c) inference time", timing, show_exits_off)
    if title:
        figure.suptitle(title)
    return save(figure, path)


def figure5(
    runs: Sequence[Run],
    labels: Sequence[str],
    path: str | os.PathLike,
    title: str | None = None,
) -> Path:
    """Paper's figure 5: accuracy of the windows that left at the early exit(s), per SNR, as grouped bars
    (with several early exits, the windows leaving at any of them)."""
    runs = load_runs(runs, labels)
    figure, axis = plt.subplots(figsize=(11, 4.6))
    all_snrs = sorted({int(key) for metrics in runs for key in metrics["per_snr"]})
    step = min(np.diff(all_snrs), default=2)
    width = 0.8 * step / max(1, len(runs))  # each SNR's group of bars fills 80 % of the SNR spacing
    for i, (metrics, label) in enumerate(zip(runs, labels)):
        snrs, values = snr_series(metrics, lambda e: percent(e["early_exits_accuracy"]))
        axis.bar(snrs + (i - (len(runs) - 1) / 2) * width, values, width=width, label=label)
    axis.set_ylim(0, 102)
    axis.set_xticks(all_snrs)
    style_snr_axis(
        axis,
        "accuracy of early exits (%)",
        title or "Accuracy of the windows leaving early",
    )
    axis.legend()
    return save(figure, path)


def figure6(
    groups: Mapping[str, Sequence[Run]],
    labels: Sequence[str],
    path: str | os.PathLike,
    timing: str = "batch1",
    show_exits_off: bool = False,
) -> Path:
    """Paper's figure 6: for each group (one threshold, e.g. {"T = 0.6": runs, "T = 0.05": runs}) a column
    with inference time per SNR on top and accuracy per SNR below; the same ``labels`` in every group."""
    loaded = {name: load_runs(runs, labels) for name, runs in groups.items()}
    columns = len(loaded)
    figure, axes = plt.subplots(2, columns, figsize=(6.5 * columns, 8.5), squeeze=False)
    letters = "abcdefghijklmnopqrstuvwxyz"
    for column, (name, runs) in enumerate(loaded.items()):
        draw_time(
            axes[0, column],
            runs,
            labels,
            f"({letters[column]}) inference time, {name}",
            timing,
            show_exits_off,
        )
        draw_accuracy(
            axes[1, column],
            runs,
            labels,
            f"({letters[columns + column]}) accuracy, {name}",
        )
    return save(figure, path)


def figure_speedup(
    runs: Sequence[Run],
    labels: Sequence[str],
    path: str | os.PathLike,
    title: str | None = None,
) -> Path:
    """Measured speed-up of each model over itself with early exits off, per SNR, batch 1 and batched."""
    runs = load_runs(runs, labels)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, mode in zip(axes, TIMING_MODES):
        for metrics, label in zip(runs, labels):
            axis.plot(
                *snr_series(
                    metrics,
                    lambda e, mode=mode: e.get("timing", {}).get(mode, {}).get("speedup"),
                ),
                "o-",
                ms=3,
                label=label,
            )
        axis.axhline(1.0, color="gray", ls="--")
        style_snr_axis(axis, "speed-up over early exits off (x)", f"{TIMING_MODES[mode]}")
        axis.legend()
    if title:
        figure.suptitle(title)
    return save(figure, path)
