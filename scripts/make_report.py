#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the reproduction report: results.md and its figures, from the training logs and the evaluation
results that scripts/reproduce.sh leaves behind (nothing is measured or trained here).

Reads MODELS/rml22_<arch>.pt (only whether it exists, and to copy the chosen one), LOGS/<arch>.log.jsonl
(learning curves) and EVALS/baseline/metrics.json, EVALS/<arch>/T<t>/metrics.json for the early-exit
networks at t = cal (their calibrated thresholds), 0.35, 0.6 and 0.05. Writes OUT/results.md and
OUT/figures/*.png: learning curves, the paper's figures 4 (T = cal, 0.35, 0.6, 0.05), 5 (T = 0.35) and 6
(T = 0.6 and 0.05), and the measured speed-up per SNR. Every number of ours in results.md is read from
those files; the paper's and the authors' numbers are quoted with their source. Networks without a model
or without results are listed as missing, not guessed.

The page's prose is in scripts/report_template.md (string.Template blocks); this file computes the values
and the tables that fill it.

The shipped network is chosen by training.selection (its rule: --margin, --speed-tolerance) from the
results at the calibrated thresholds; --ship-to copies its model file there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import statistics
import string
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnuradio.eeamc.files import write_text_atomic
from gnuradio.eeamc.model_file import Model, load_model, save_model
from matplotlib.ticker import MaxNLocator  # ticker does not choose a backend

from training import plots  # the checkout is on the venv's path (scripts/setup.sh, link_training)
from training.selection import Choice, choose_network

plt = plots.plt  # matplotlib with the Agg backend plots.py selected

#: The paper's networks (its figures and the authors' numbers cover these).
PAPER_ARCHS = ("baseline", "v0", "v1", "v2", "v3")
#: Beyond the paper: V1 trained with the joint scheme, and a cascade with V1's and V3's early exits.
EXTRA_ARCHS = ("v1_joint", "v1_v3")
ARCHS = PAPER_ARCHS + EXTRA_ARCHS
#: The networks the "beyond the paper" figure and table compare: V1 as the paper trains it and its variants.
BEYOND_ARCHS = ("baseline", "v1", *EXTRA_ARCHS)
EARLY_EXIT_ARCHS = ARCHS[1:]
LABELS = {
    "baseline": "baseline",
    "v0": "V0",
    "v1": "V1",
    "v2": "V2",
    "v3": "V3",
    "v1_joint": "V1 joint",
    "v1_v3": "V1+V3",
}
#: Evaluation folders EVALS/<arch>/T<key>: "cal" = the network's calibrated thresholds.
THRESHOLD_KEYS = ("cal", "0.35", "0.6", "0.05")
#: The threshold the paper's main results (figures 4 and 5) use.
PAPER_T = "0.35"
#: The authors' numbers in the table are at these thresholds; T = 0.3 is read from our threshold sweep.
SWEEP_T = 0.3
#: SNRs of the per-SNR rows (dB).
SHARE_SNRS = (0, 20)
SPEEDUP_SNRS = (-20, -10, 0, 10, 20)

# ---------------------------------------------------------------------------------------------------
# The paper's and the authors' numbers (quoted, not measured here), with where each comes from.

AUTHORS_CODE = "authors' code, validation split of the published RML22"
AUTHORS_PLOT = "authors' code, read from a plot"
PAPER = "the paper (Mohammed, Mashaal, Abou-Zeid 2023), qualitative"

AUTHORS_LR = 1e-4
AUTHORS = {
    "baseline_accuracy": 0.629,
    # T = 0.05: early-exit share, accuracy of the early exits, overall accuracy.
    "t005": {
        "v0": (0.0142, 1.0, 0.6286),
        "v1": (0.2082, 0.9999, 0.6240),
        "v2": (0.2561, 0.9993, 0.6121),
        "v3": (0.3210, 0.9982, 0.6312),
    },
    # T = 0.3: early-exit share at 0 dB and at 20 dB.
    "t03_share": {
        0: {"v0": 0.16, "v1": 0.48, "v2": 0.55, "v3": 0.66},
        20: {"v0": 0.27, "v1": 0.62, "v2": 0.64, "v3": 0.87},
    },
    "baseline_accuracy_text": {-20: "about 15 %", 0: "about 75 %", 10: "about 88-90 % (10 to 20 dB)"},
    # Multiply-accumulates of a window that leaves at the early exit (at the end for the baseline).
    "exit_macs_text": {"baseline": "about 1.65 M", "v0": "about 0.12 M, 7 %", "v1": "about 0.9 M, 55 %"},
    "timing_text": "per-window loop on an i9-12900K + RTX 3080 Ti: at T = 0.3 every EE network slower than "
    "the batched baseline except V1..V3 at >= 18 dB (about 0.36 s against 0.48 s per SNR slice)",
}


# ---------------------------------------------------------------------------------------------------
# What the run left behind.


@dataclass
class Network:
    """One network's files: model, training log, evaluation results per threshold key."""

    arch: str
    model_path: Path
    log_path: Path
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # results of an earlier version of the model file
    int8_check: dict[str, Any] | None = None  # the model file's int8 check (python -m training quantize)

    @property
    def label(self) -> str:
        return LABELS[self.arch]

    @property
    def has_model(self) -> bool:
        return self.model_path.is_file()

    def at(self, key: str) -> dict[str, Any] | None:
        """Results at a threshold key; the baseline has one run, the same at every threshold."""
        return self.runs.get("none") if self.arch == "baseline" else self.runs.get(key)


def eval_folder(evals: Path, arch: str, key: str) -> Path:
    return evals / "baseline" if arch == "baseline" else evals / arch / f"T{key}"


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_network(arch: str, models: Path, logs: Path, evals: Path) -> Network:
    network = Network(arch, models / f"rml22_{arch}.pt", logs / f"{arch}.log.jsonl")
    network.history = read_log(network.log_path)  # also while it trains: the curves so far
    if not network.has_model:
        return network  # results left from an earlier model are not this network's
    model = load_model(network.model_path)
    network.int8_check = (model.int8 or {}).get("check")
    keys = ("none",) if arch == "baseline" else THRESHOLD_KEYS
    for key in keys:
        path = eval_folder(evals, arch, key) / "metrics.json"
        if not path.is_file():
            continue
        network.runs[key] = json.loads(path.read_text())
        if not evaluated_this_model(network.runs[key], model):
            network.stale.append(str(path))
    return network


def evaluated_this_model(run: Mapping[str, Any], model: Model) -> bool:
    """Whether ``run`` evaluated the model file as it is now: the same training (its date) and stored
    thresholds. Not the files' times: a checkout sets them at random, and re-saving a model with more
    metadata (its input contract, say) changes neither its weights nor its results."""
    recorded = run.get("model", {})
    same_training = recorded.get("provenance", {}).get("date") == model.provenance.get("date")
    return same_training and recorded.get("stored_thresholds") == list(model.thresholds)


def load_networks(models: Path, logs: Path, evals: Path) -> dict[str, Network]:
    return {arch: load_network(arch, models, logs, evals) for arch in ARCHS}


def any_run(networks: Mapping[str, Network]) -> dict[str, Any] | None:
    """The first evaluation result there is (for the machine, the dataset and the dates)."""
    for network in networks.values():
        for run in network.runs.values():
            return run
    return None


# ---------------------------------------------------------------------------------------------------
# Reading numbers out of metrics.json.


def per_snr(run: Mapping[str, Any] | None, snr: int, value: Callable[[Mapping[str, Any]], Any]) -> Any:
    if run is None or str(snr) not in run["per_snr"]:
        return None
    return value(run["per_snr"][str(snr)])


def timing(run: Mapping[str, Any] | None, mode: str, key: str = "speedup") -> float | None:
    if run is None or "timing" not in run:
        return None
    return run["timing"][mode].get(key)


def snr_timing(run: Mapping[str, Any] | None, snr: int, mode: str, key: str = "speedup") -> float | None:
    return per_snr(run, snr, lambda entry: entry.get("timing", {}).get(mode, {}).get(key))


def sweep_row(run: Mapping[str, Any] | None, threshold: float) -> dict[str, Any] | None:
    if run is None:
        return None
    for row in run.get("sweep", []):
        if math.isclose(row["threshold"], threshold):
            return row
    return None


def sweep_share(run: Mapping[str, Any] | None, threshold: float, snr: int) -> float | None:
    row = sweep_row(run, threshold)
    entry = None if row is None else row["per_snr"].get(str(snr))
    return None if entry is None else entry["early_exit_share"]


def provenance(run: Mapping[str, Any] | None) -> dict[str, Any]:
    return {} if run is None else run.get("model", {}).get("provenance", {})


def early_exit_macs(run: Mapping[str, Any]) -> int:
    """MACs of a window that leaves at the first exit (the end of the backbone for the baseline)."""
    return run["model"]["macs_per_exit"][0]


# ---------------------------------------------------------------------------------------------------
# Formatting.


def pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f} %"


def times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def mega(value: float | None) -> str:
    return "–" if value is None else f"{value / 1e6:.3f} M"


def pp(difference: float) -> str:
    return f"{100 * difference:+.2f} pp"


def thresholds_text(run: Mapping[str, Any] | None) -> str:
    if run is None:
        return "–"
    values = run.get("thresholds", [])
    return "none" if not values else ", ".join(f"{t:.4g}" for t in values)


def with_reference(ours: str, reference: str | None) -> str:
    return ours if reference is None else f"{ours} ({reference})"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


#: The page's prose, one string.Template per block (see the file's opening comment).
TEMPLATE_PATH = Path(__file__).with_name("report_template.md")
BLOCK_MARKER = re.compile(r"^<!-- template: (\w+) -->$", re.MULTILINE)


def read_templates(path: Path = TEMPLATE_PATH) -> dict[str, string.Template]:
    """The blocks of ``path`` by name; the text before the first marker (the file's comment) is none."""
    pieces = BLOCK_MARKER.split(path.read_text())[1:]
    return {name: string.Template(text.strip("\n")) for name, text in zip(pieces[::2], pieces[1::2])}


TEMPLATES = read_templates()


def fill(name: str, **values: object) -> str:
    """The template block ``name`` with ``values`` (a KeyError names a value the block needs and lacks)."""
    return TEMPLATES[name].substitute(values)


# ---------------------------------------------------------------------------------------------------
# Figures (drawn by training.plots; only the learning curves are drawn here, plots.py has none).


def plot_learning_curves(network: Network, path: Path) -> Path:
    """Loss and accuracy of every exit per epoch, training (solid) and validation (dashed)."""
    history = network.history
    epochs = [record["epoch"] for record in history]
    exits = len(history[0]["val_loss"])
    names = exit_names(network, exits)
    best = best_record(history)["epoch"]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.3))
    for axis, metric, ylabel in ((axes[0], "loss", "cross-entropy"), (axes[1], "acc", "accuracy (%)")):
        scale = 100 if metric == "acc" else 1
        for k, name in enumerate(names):
            (line,) = axis.plot(
                epochs, [scale * r[f"train_{metric}"][k] for r in history], "o-", ms=3, label=f"{name}, train"
            )
            axis.plot(
                epochs,
                [scale * r[f"val_{metric}"][k] for r in history],
                "s--",
                ms=3,
                color=line.get_color(),
                label=f"{name}, validation",
            )
        axis.axvline(best, color="gray", ls=":", label=f"best epoch ({best})")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(ylabel)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    axes[0].set_title(f"{network.label}: loss per exit")
    axes[1].set_title(f"{network.label}: accuracy per exit")
    return plots.save(figure, path)


def best_record(history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The epoch whose weights the model file keeps: the lowest validation objective (the first of equals)."""
    return min(history, key=lambda record: record["val_objective"])


def exit_names(network: Network, exits: int) -> list[str]:
    run = next(iter(network.runs.values()), None)
    points = [] if run is None else run["model"]["exits"]
    early = [f"early exit ({point})" for point in points] or [f"early exit {k}" for k in range(exits - 1)]
    return [*early[: exits - 1], "final exit"]


def comparable(
    networks: Mapping[str, Network], key: str, archs: Sequence[str] = PAPER_ARCHS
) -> tuple[list[dict[str, Any]], list[str]]:
    """The results at one threshold key of the networks ``archs`` that have them, with their labels; none
    when no early-exit network has results there (the baseline alone compares nothing)."""
    present = [networks[arch] for arch in archs if networks[arch].at(key) is not None]
    if all(network.arch == "baseline" for network in present):
        return [], []
    return [network.at(key) for network in present], [network.label for network in present]


def threshold_title(key: str) -> str:
    return "calibrated thresholds" if key == "cal" else f"T = {key}"


def file_key(key: str) -> str:
    return key.replace(".", "")


def make_figures(networks: Mapping[str, Network], figures: Path) -> dict[str, Path]:
    """Every figure the data allow; returns {name: path}."""
    made: dict[str, Path] = {}
    for network in networks.values():
        if network.history:
            made[f"learning_{network.arch}"] = plot_learning_curves(
                network, figures / f"learning_{network.arch}.png"
            )
    for key in THRESHOLD_KEYS:
        runs, labels = comparable(networks, key)
        if runs:
            made[f"fig4_{key}"] = plots.figure4(
                runs,
                labels,
                figures / f"fig4_T{file_key(key)}.png",
                title=f"Figure 4 on our data, {threshold_title(key)} (time: one window per call)",
            )
        early = [(run, label) for run, label in zip(runs, labels) if label != "baseline"]
        if early:
            made[f"speedup_{key}"] = plots.figure_speedup(
                [run for run, _ in early],
                [label for _, label in early],
                figures / f"speedup_T{file_key(key)}.png",
                title=f"Speed-up over the same backbone with early exits off, {threshold_title(key)}",
            )
    fig5 = [(networks[a].at(PAPER_T), networks[a].label) for a in ("v1", "v2") if networks[a].at(PAPER_T)]
    if fig5:
        made["fig5"] = plots.figure5(
            [run for run, _ in fig5],
            [label for _, label in fig5],
            figures / "fig5_T035.png",
            title=f"Figure 5 on our data: accuracy of the early exits, T = {PAPER_T}",
        )
    groups = {f"T = {key}": comparable(networks, key) for key in ("0.6", "0.05")}
    label_sets = {tuple(labels) for _, labels in groups.values()}
    if all(runs for runs, _ in groups.values()) and len(label_sets) == 1:
        made["fig6"] = plots.figure6(
            {name: runs for name, (runs, _) in groups.items()},
            list(label_sets.pop()),
            figures / "fig6_T06_T005.png",
        )
    runs, labels = comparable(networks, "cal", BEYOND_ARCHS)
    if any(networks[arch].at("cal") is not None for arch in EXTRA_ARCHS):
        made["beyond"] = plots.figure4(
            runs,
            labels,
            figures / "beyond_Tcal.png",
            title="Beyond the paper: V1 trained jointly, and two early exits (calibrated thresholds)",
        )
    return made


# ---------------------------------------------------------------------------------------------------
# The shipped network.


def choose(networks: Mapping[str, Network], margin_pp: float, tolerance: float = 0.05) -> Choice:
    """training.selection's rule on the networks' results at their calibrated thresholds."""
    candidates = {a: networks[a].at("cal") for a in EARLY_EXIT_ARCHS if networks[a].at("cal") is not None}
    return choose_network(networks["baseline"].at("cal"), candidates, margin_pp, tolerance)


def choice_rows(networks: Mapping[str, Network], choice: Choice) -> list[list[str]]:
    """The candidates of the choice, one row each (the table of the shipped-network section)."""
    baseline = networks["baseline"].at("cal")
    runs = {a: networks[a].at("cal") for a in EARLY_EXIT_ARCHS if networks[a].at("cal") is not None}
    if baseline is None:
        return []
    return [
        [
            LABELS[a],
            thresholds_text(run),
            pct(run["accuracy"]),
            pp(run["accuracy"] - baseline["accuracy"]),
            pp(run["accuracy_high_snr"] - baseline["accuracy_high_snr"]),
            "yes" if a in choice.eligible else "no",
            times(timing(run, "batched")),
            times(timing(run, "batch1")),
            mega(run["macs_per_window"]),
        ]
        for a, run in runs.items()
    ]


def ship(model: Path, destination: Path, metrics: Mapping[str, Any] | None, reason: str) -> None:
    """Write the chosen model to ``destination`` with its test metrics and the reason it was chosen in
    its provenance (save_model writes atomically: the block may be reading the old file)."""
    shipped = load_model(model)
    date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    shipped.provenance["shipped"] = {"source": str(model), "reason": reason, "date": date}
    if metrics is not None:
        shipped.provenance["test_metrics"] = test_summary(metrics)
    save_model(shipped, destination)


def test_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """What a user of the shipped model wants to know of its test run, read from metrics.json."""
    keys = ("accuracy", "accuracy_high_snr", "exit_share", "early_exit_accuracy", "macs_per_window",
            "exits_off_accuracy", "thresholds", "split", "date")  # fmt: skip
    summary = {key: metrics[key] for key in keys if key in metrics}
    summary["dataset"] = metrics.get("dataset", {}).get("path", metrics.get("dataset"))
    summary["accuracy_per_snr"] = {
        snr: entry["accuracy"] for snr, entry in metrics.get("per_snr", {}).items()
    }
    return summary


# ---------------------------------------------------------------------------------------------------
# results.md sections.


def status_section(networks: Mapping[str, Network], quick: bool) -> str:
    lines = [fill("status_quick")] if quick else []
    missing = [n.label for n in networks.values() if not n.has_model]
    unevaluated = [n.label for n in networks.values() if n.has_model and not n.runs]
    partial = [
        fill("status_partial_network", network=n.label, keys=", ".join(sorted(n.runs)))
        for n in networks.values()
        if n.arch != "baseline" and n.runs and len(n.runs) < len(THRESHOLD_KEYS)
    ]
    stale = [path for n in networks.values() for path in n.stale]
    lines += [fill("status_missing", networks=", ".join(missing))] if missing else []
    lines += [fill("status_unevaluated", networks=", ".join(unevaluated))] if unevaluated else []
    lines += [fill("status_partial", networks="; ".join(partial))] if partial else []
    lines += [fill("status_stale", paths=", ".join(stale))] if stale else []
    return "\n>\n".join(lines)


def how_section(networks: Mapping[str, Network], command: str, data: str, evals: Path) -> str:
    run = any_run(networks)
    if run is None:
        details = fill("how_no_results")
    else:
        details = "\n\n".join(
            [machine_text(run), dataset_text(run), recipe_text(networks), dates_text(networks)]
        )
    return fill("how", command=command, data=data, evals=evals, details=details)


MACHINE_KEYS = ("cpu", "cpu_count", "device", "threads", "platform", "python", "torch", "numpy")


def machine_text(run: Mapping[str, Any]) -> str:
    machine = run.get("machine", {})
    return fill("machine", **{key: machine.get(key, "?") for key in MACHINE_KEYS})


DATASET_ATTRS = (
    "generator",
    "generator_version",
    "code_version",
    "gnuradio_version",
    "date",
    "elapsed_s",
    "per",
    "seed",
    "impairments",
    "snr_definition",
    "normalization",
    "fading",
    "clock",
    "audio_origin",
    "command_line",
)


def dataset_text(run: Mapping[str, Any]) -> str:
    dataset = run["dataset"]
    attrs = dataset.get("attrs", {})
    rows = [[key, f"`{attrs[key]}`"] for key in DATASET_ATTRS if key in attrs]
    return fill(
        "dataset",
        path=dataset["path"],
        classes=len(dataset["classes"]),
        snr_min=min(dataset["snrs"]),
        snr_max=max(dataset["snrs"]),
        split=run["split"],
        windows=dataset["windows"],
        seed=run["seed"],
        table=table(["attribute", "value"], rows),
    )


RECIPE_HEADER = (
    "network",
    "epochs",
    "best epoch",
    "Adam lr, schedule",
    "batch, weight decay",
    "scheme",
    "threads",
    "training time",
    "calibrated T",
)


def recipe_row(network: Network) -> list[str]:
    """One network's training recipe, read from its model file's provenance (as its results record it)."""
    run = next(iter(network.runs.values()), None)
    prov = provenance(run)
    if not prov:
        return [network.label] + ["–"] * (len(RECIPE_HEADER) - 1)
    config = prov.get("config", {})
    arguments = prov.get("arguments", {})
    return [
        network.label,
        f"{prov.get('epochs_run', '?')} of {config.get('epochs', '?')}",
        str(prov.get("best_epoch", "?")),
        f"{config.get('lr', '?')}, {config.get('lr_schedule', '?')}",
        f"{config.get('batch_size', '?')}, wd {config.get('weight_decay', '?')}",
        str(config.get("scheme", "?")),
        f"{prov.get('threads', arguments.get('threads', '?'))}",
        duration(prov.get("train_seconds")),
        thresholds_text(run and {"thresholds": run["model"]["stored_thresholds"]}),
    ]


def recipe_text(networks: Mapping[str, Network]) -> str:
    rows = [recipe_row(network) for network in networks.values()]
    epoch_seconds = [record["seconds"] for network in networks.values() for record in network.history]
    ours = recipe_reason(networks)
    if epoch_seconds:
        median = statistics.median(epoch_seconds)
        epochs = fill(
            "recipe_epochs", median=f"{median:.0f}", count=len(epoch_seconds), duration=duration(50 * median)
        )
        ours = f"{epochs} {ours}"
    else:
        ours = ours[:1].upper() + ours[1:]
    return fill("recipe", table=table(RECIPE_HEADER, rows), ours=ours)


def recipe_reason(networks: Mapping[str, Network]) -> str:
    """Our recipe in words, from the first model file's provenance."""
    config = next((provenance(r).get("config") for n in networks.values() for r in n.runs.values()), None)
    if not config:
        return ""
    lr = config.get("lr")
    faster = " " + fill("recipe_faster", ratio=f"{lr / AUTHORS_LR:g}") if isinstance(lr, (int, float)) else ""
    return fill(
        "recipe_ours", epochs=config.get("epochs"), schedule=config.get("lr_schedule"), lr=lr, faster=faster
    )


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def dates_text(networks: Mapping[str, Network]) -> str:
    run = any_run(networks)
    trained = sorted(provenance(r).get("date", "") for n in networks.values() for r in n.runs.values())
    evaluated = sorted(r.get("date", "") for n in networks.values() for r in n.runs.values())
    return fill(
        "dates",
        dataset=run["dataset"].get("attrs", {}).get("date", "?"),
        trained=span([d for d in trained if d]),
        evaluated=span([d for d in evaluated if d]),
        now=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def span(dates: Sequence[str]) -> str:
    if not dates:
        return "–"
    return dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"


LEARNING_HEADER = (
    "network",
    "epochs logged",
    "best epoch (validation loss)",
    "last epoch's validation loss",
    "validation accuracy per exit at the best epoch",
)


def learning_section(networks: Mapping[str, Network], figures: Mapping[str, Path], out: Path) -> str:
    rows = []
    for network in networks.values():
        if not network.history:
            continue
        last = network.history[-1]
        best = best_record(network.history)
        rows.append(
            [
                network.label,
                str(len(network.history)),
                f"{best['epoch']} ({best['val_objective']:.4f})",
                f"{last['val_objective']:.4f}",
                ", ".join(pct(a) for a in best["val_acc"]),
            ]
        )
    if not rows:
        return fill("learning", body=fill("learning_none"))
    images = [image(figures[f"learning_{a}"], out) for a in ARCHS if f"learning_{a}" in figures]
    return fill("learning", body="\n".join([table(LEARNING_HEADER, rows), "", *images]))


def image(path: Path, out: Path) -> str:
    relative = path.relative_to(out) if path.is_relative_to(out) else path
    return f"![{path.stem}]({relative.as_posix()})\n"


@dataclass
class Row:
    """One row of the main table: ``value(run)`` of each network's results at ``run_key``, and the
    reference for a network (``reference(arch)``, None where there is none) in brackets."""

    quantity: str
    setting: str
    run_key: str
    value: Callable[[Mapping[str, Any]], str]
    reference: Callable[[str], str | None] = lambda arch: None
    source: str = ""
    early_exits_only: bool = False  # meaningless for the baseline, which has no early exit

    def cell(self, network: Network) -> str:
        if self.early_exits_only and network.arch == "baseline":
            return "n/a"
        run = network.at(self.run_key)
        if run is None:
            return "–" if network.has_model else "missing"
        return with_reference(self.value(run), self.reference(network.arch))

    def render(self, networks: Mapping[str, Network]) -> list[str]:
        return [self.quantity, self.setting, *(self.cell(networks[a]) for a in ARCHS), self.source]


def t005_reference(index: int) -> Callable[[str], str | None]:
    """The authors' T = 0.05 numbers: 0 early-exit share, 1 accuracy of the early exits, 2 overall."""
    return lambda arch: pct(AUTHORS["t005"][arch][index]) if arch in AUTHORS["t005"] else None


def share_reference(snr: int) -> Callable[[str], str | None]:
    shares = AUTHORS["t03_share"][snr]
    return lambda arch: pct(shares[arch], 0) if arch in shares else None


def comparison_rows() -> list[Row]:
    """The main table: the quantities the issue asks for, at the thresholds the authors published them."""
    overall_reference = t005_reference(2)
    rows = [
        Row(
            "overall accuracy",
            "T = 0.05",
            "0.05",
            lambda r: pct(r["accuracy"]),
            lambda a: pct(AUTHORS["baseline_accuracy"], 1) if a == "baseline" else overall_reference(a),
            AUTHORS_CODE,
        ),
        *(Row("overall accuracy", threshold_title(k), k, lambda r: pct(r["accuracy"])) for k in MAIN_KEYS),
        *(
            Row(
                "accuracy at ≥ 10 dB",
                threshold_title(k),
                k,
                lambda r: pct(r["accuracy_high_snr"]),
                lambda a: "88-90 % per SNR" if a == "baseline" else None,
                AUTHORS_PLOT,
            )
            for k in MAIN_KEYS
        ),
    ]
    for snr in SHARE_SNRS:
        rows.append(
            Row(
                f"early-exit share at {snr} dB",
                f"T = {SWEEP_T:g}",
                PAPER_T,
                lambda r, snr=snr: pct(sweep_share(r, SWEEP_T, snr)),
                share_reference(snr),
                f"{AUTHORS_PLOT}; ours from the threshold sweep of the T = {PAPER_T} evaluation",
                early_exits_only=True,
            )
        )
        rows += [
            Row(
                f"early-exit share at {snr} dB",
                threshold_title(k),
                k,
                lambda r, snr=snr: pct(share_at(r, snr)),
                early_exits_only=True,
            )
            for k in MAIN_KEYS
        ]
    rows += [
        Row(
            "early-exit share, all SNRs",
            "T = 0.05",
            "0.05",
            lambda r: pct(r["early_exit_share"]),
            t005_reference(0),
            AUTHORS_CODE,
            early_exits_only=True,
        ),
        Row(
            "accuracy of the early exits",
            "T = 0.05",
            "0.05",
            lambda r: pct(r["early_exits_accuracy"]),
            t005_reference(1),
            AUTHORS_CODE,
            early_exits_only=True,
        ),
        *(
            Row(
                "accuracy of the early exits",
                threshold_title(k),
                k,
                lambda r: pct(r["early_exits_accuracy"]),
                source=PAPER_FIG5,
                early_exits_only=True,
            )
            for k in MAIN_KEYS
        ),
        Row(
            "MACs of a window leaving at the first exit",
            "any",
            "cal",
            lambda r: (
                f"{mega(early_exit_macs(r))}, {pct(early_exit_macs(r) / r['exits_off_macs_per_window'], 0)}"
            ),
            lambda a: AUTHORS["exit_macs_text"].get(a),
            AUTHORS_MACS,
        ),
        *(
            Row("MACs per window (mean)", threshold_title(k), k, lambda r: mega(r["macs_per_window"]))
            for k in MAIN_KEYS
        ),
    ]
    rows += [
        Row(
            f"speed-up, all SNRs ({plots.TIMING_MODES[mode]})",
            threshold_title(k),
            k,
            lambda r, mode=mode: times(timing(r, mode)),
            source=PAPER_TIME,
            early_exits_only=True,
        )
        for k in MAIN_KEYS
        for mode in ("batched", "batch1")
    ]
    return rows


#: Our results at these threshold keys go in the main table next to the authors' T = 0.05 and 0.3 numbers.
MAIN_KEYS = ("cal", PAPER_T)
AUTHORS_MACS = "the authors' layer sizes (multiply-accumulates; % of the baseline)"


def without_repeated_sources(rows: list[list[str]]) -> list[list[str]]:
    """The source column only where it changes (rows of one quantity share it)."""
    previous = None
    for row in rows:
        source, row[-1] = row[-1], "" if row[-1] == previous else row[-1]
        previous = source
    return rows


PAPER_FIG5 = "paper, figure 5: V2's early exits clearly less accurate than V1's"
PAPER_TIME = "paper: V1, V2 faster than the baseline at positive SNRs; V0, V3 only at very high SNR"


def share_at(run: Mapping[str, Any], snr: int) -> float | None:
    return per_snr(run, snr, lambda entry: entry["early_exit_share"])


def comparison_section(networks: Mapping[str, Network]) -> str:
    header = ["quantity", "thresholds", *(LABELS[a] for a in ARCHS), "bracketed numbers from"]
    return fill(
        "comparison",
        authors_timing=AUTHORS["timing_text"],
        table=table(header, without_repeated_sources([row.render(networks) for row in comparison_rows()])),
        speedup=speedup_section(networks),
        baseline_accuracy=baseline_accuracy_section(networks),
    )


def speedup_cell(run: Mapping[str, Any] | None, snr: int) -> str:
    if run is None:
        return "missing"
    return f"{times(snr_timing(run, snr, 'batched'))} / {times(snr_timing(run, snr, 'batch1'))}"


def speedup_section(networks: Mapping[str, Network]) -> str:
    header = ["SNR", *(LABELS[a] for a in EARLY_EXIT_ARCHS)]
    parts = [fill("speedup")]
    for key in ("cal", PAPER_T):
        runs = [networks[arch].at(key) for arch in EARLY_EXIT_ARCHS]
        rows = [[f"{snr} dB", *(speedup_cell(run, snr) for run in runs)] for snr in SPEEDUP_SNRS]
        parts.append(fill("speedup_table", thresholds=threshold_title(key), table=table(header, rows)))
    baseline = networks["baseline"].at("cal")
    if baseline is None or "timing" not in baseline:
        return "\n\n".join(parts) + "\n"
    own = {
        mode: f"{timing(baseline, mode, 'early_exits_us_per_window'):.1f}" for mode in ("batched", "batch1")
    }
    return "\n\n".join([*parts, fill("speedup_baseline", **own)])


def baseline_accuracy_section(networks: Mapping[str, Network]) -> str:
    run = networks["baseline"].at("cal")
    if run is None:
        return ""
    rows = []
    for snr, text in AUTHORS["baseline_accuracy_text"].items():
        snrs = [s for s in range(snr, 21, 2)] if snr == 10 else [snr]
        ours = ", ".join(pct(per_snr(run, s, lambda e: e["accuracy"]), 1) for s in snrs)
        rows.append([f"{snr} dB" if snr != 10 else "10 to 20 dB", ours, text])
    return fill("baseline_accuracy", table=table(["SNR", "ours", f"authors' ({AUTHORS_PLOT})"], rows))


def choice_section(
    choice: Choice, rows: list[list[str]], shipped: Path | None, margin_pp: float, tolerance: float
) -> str:
    header = [
        "network",
        "calibrated T",
        "accuracy",
        "against the baseline",
        "at ≥ 10 dB against the baseline",
        f"both within {margin_pp:g} pp",
        "speed-up batched",
        "speed-up batch 1",
        "MACs per window",
    ]
    chosen = fill("choice_chosen", reason=choice.reason(LABELS))
    if shipped is not None and choice.arch is not None:
        chosen += "\n" + fill("choice_copied", path=shipped)
    rule = fill("choice", margin=f"{margin_pp:g}", tolerance=f"{tolerance:g}")
    return "\n\n".join([rule, table(header, rows), chosen] if rows else [rule, chosen])


BEYOND_HEADER = (
    "network",
    "early exits after",
    "calibrated T",
    "accuracy",
    "at ≥ 10 dB",
    "share per exit (early … final)",
    "accuracy of the early exits",
    "MACs per window",
    "speed-up batched / batch 1",
)


def beyond_row(arch: str, run: Mapping[str, Any]) -> list[str]:
    early = bool(run["model"]["exits"])
    return [
        LABELS[arch],
        ", ".join(run["model"]["exits"]) or "none",
        thresholds_text(run),
        pct(run["accuracy"]),
        pct(run["accuracy_high_snr"]),
        " / ".join(pct(share, 1) for share in run["exit_share"]),
        pct(run["early_exits_accuracy"]) if early else "n/a",
        mega(run["macs_per_window"]),
        f"{times(timing(run, 'batched'))} / {times(timing(run, 'batch1'))}" if early else "n/a",
    ]


def beyond_section(networks: Mapping[str, Network], figures: Mapping[str, Path], out: Path) -> str:
    """V1 as the paper trains it beside V1 trained with the joint scheme and a cascade with two early
    exits, all at their calibrated thresholds."""
    runs = {a: networks[a].at("cal") for a in BEYOND_ARCHS if networks[a].at("cal") is not None}
    if not any(a in runs for a in EXTRA_ARCHS):
        return ""
    rows = [beyond_row(arch, run) for arch, run in runs.items()]
    figure = [image(figures["beyond"], out)] if "beyond" in figures else []
    statements = [f"- {statement}" for statement in beyond_statements(runs)]
    return "\n".join([fill("beyond", table=table(BEYOND_HEADER, rows)), "", *statements, "", *figure])


INT8_HEADER = (
    "network",
    "thresholds",
    "fp32 accuracy",
    "int8 accuracy",
    "fp32 at >= 10 dB",
    "int8 at >= 10 dB",
    "agreement (at >= 10 dB)",
    "early exits fp32 / int8",
    "check",
)


def int8_section(networks: Mapping[str, Network]) -> str:
    """Every network's int8 parameters against fp32 on the test split, from its model file's int8 check
    (python -m training quantize); empty where no model file has one."""
    rows = [int8_row(n) for n in networks.values() if n.int8_check is not None]
    return fill("int8", table=table(INT8_HEADER, rows)) if rows else ""


def int8_row(network: Network) -> list[str]:
    check = network.int8_check
    thresholds = ", ".join(f"{t:.3f}" for t in check["thresholds"]) or "-"
    return [
        network.label,
        thresholds,
        pct(check["fp32_accuracy"]),
        pct(check["int8_accuracy"]),
        pct(check["fp32_accuracy_high_snr"]),
        pct(check["int8_accuracy_high_snr"]),
        f"{pct(check['agreement'], 1)} ({pct(check['agreement_high_snr'], 1)})",
        f"{pct(check['fp32_early_exit_share'], 1)} / {pct(check['int8_early_exit_share'], 1)}",
        f"{'passed' if check['passed'] else 'failed'} ({check['tolerance_pp']} pp)",
    ]


def beyond_statements(runs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What the variants change against V1 (paper scheme), in numbers."""
    statements = []
    v1 = runs.get("v1")
    for arch, change in (("v1_joint", "Joint training"), ("v1_v3", "A second early exit (after conv 5)")):
        run = runs.get(arch)
        if v1 is None or run is None:
            continue
        statements.append(
            fill(
                "beyond_statement",
                change=change,
                accuracy=pp(run["accuracy"] - v1["accuracy"]),
                share=pct(run["early_exit_share"], 1),
                v1_share=pct(v1["early_exit_share"], 1),
                macs=mega(run["macs_per_window"]),
                v1_macs=mega(v1["macs_per_window"]),
                speedup=times(timing(run, "batched")),
                v1_speedup=times(timing(v1, "batched")),
            )
        )
    return statements


def figure_captions() -> list[tuple[str, str]]:
    """The figures of the Figures section in their order, with their captions."""
    return [
        *[
            (f"fig4_{key}", fill("caption_fig4", thresholds=threshold_title(key)))
            for key in (PAPER_T, "0.6", "0.05", "cal")
        ],
        ("fig5", fill("caption_fig5", threshold=PAPER_T)),
        ("fig6", fill("caption_fig6")),
        ("beyond", fill("caption_beyond")),
        *[
            (f"speedup_{key}", fill("caption_speedup", thresholds=threshold_title(key)))
            for key in THRESHOLD_KEYS
        ],
    ]


def figures_section(figures: Mapping[str, Path], out: Path) -> str:
    parts = [fill("figures"), ""]
    for name, caption in figure_captions():
        if name in figures:
            parts += [fill("figure_caption", caption=caption), "", image(figures[name], out)]
    if len(parts) == 2:
        parts.append(fill("figures_none"))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------
# Where ours differ: statements generated from the numbers.


def differences_section(networks: Mapping[str, Network], choice: Choice, discussion: Path) -> str:
    """The generated statements, then the hand-written interpretation kept in ``discussion`` (a file
    beside the report, so that regenerating the page never loses it)."""
    statements = [
        *dataset_statements(networks),
        *authors_statements(networks),
        *claim_statements(networks),
        choice_statement(choice),
    ]
    return fill(
        "differences",
        # one bullet a line, each ending its line (no statements: no line)
        statements="".join(f"- {s}\n" for s in statements if s),
        discussion=discussion.read_text().strip()
        if discussion.is_file()
        else fill("discussion_missing", path=discussion),
    )


def dataset_statements(networks: Mapping[str, Network]) -> list[str]:
    run = any_run(networks)
    if run is None:
        return []
    attrs = run["dataset"].get("attrs", {})
    setup = fill(
        "statement_dataset",
        generator=attrs.get("generator", "?"),
        gnuradio=attrs.get("gnuradio_version", "?"),
        snr_definition=attrs.get("snr_definition", "?"),
        audio_origin=attrs.get("audio_origin", "?"),
    )
    if attrs.get("snr_definition", "").startswith("true"):
        setup += " " + fill("statement_nominal_snr")
    machine = run.get("machine", {})
    timing_note = fill(
        "statement_timing", **{key: machine.get(key, "?") for key in ("cpu", "device", "threads")}
    )
    return [setup, timing_note]


def authors_statements(networks: Mapping[str, Network]) -> list[str]:
    statements = []
    baseline = networks["baseline"].at("cal")
    if baseline is not None:
        statements.append(
            fill(
                "statement_baseline",
                accuracy=pct(baseline["accuracy"]),
                difference=pp(baseline["accuracy"] - AUTHORS["baseline_accuracy"]),
                high=pct(baseline["accuracy_high_snr"]),
            )
        )
    for arch, (share, accuracy, overall) in AUTHORS["t005"].items():
        run = networks[arch].at("0.05")
        if run is None:
            continue
        statements.append(
            fill(
                "statement_t005",
                network=LABELS[arch],
                share=pct(run["early_exit_share"]),
                share_difference=pp(run["early_exit_share"] - share),
                accuracy=pct(run["early_exits_accuracy"]),
                accuracy_difference=pp_or_dash(run["early_exits_accuracy"], accuracy),
                overall=pct(run["accuracy"]),
                overall_difference=pp(run["accuracy"] - overall),
            )
        )
    return statements + [s for s in map(lambda snr: share_statement(networks, snr), SHARE_SNRS) if s]


def share_statement(networks: Mapping[str, Network], snr: int) -> str:
    """Our early-exit shares at T = 0.3 and ``snr`` against the authors' (empty without any of ours)."""
    parts = []
    for arch, theirs in AUTHORS["t03_share"][snr].items():
        ours = sweep_share(networks[arch].at(PAPER_T), SWEEP_T, snr)
        if ours is not None:
            parts.append(
                fill(
                    "statement_share_network",
                    network=LABELS[arch],
                    share=pct(ours, 0),
                    difference=pp(ours - theirs),
                )
            )
    return fill("statement_share", snr=snr, shares=", ".join(parts)) if parts else ""


def pp_or_dash(value: float | None, reference: float) -> str:
    return "–" if value is None else pp(value - reference)


def claim_statements(networks: Mapping[str, Network]) -> list[str]:
    """The paper's claims, each checked against our T = 0.35 results."""
    runs = {a: networks[a].at(PAPER_T) for a in EARLY_EXIT_ARCHS if networks[a].at(PAPER_T) is not None}
    if not runs:
        return []
    rising = [
        fill(
            "statement_rising_network",
            network=LABELS[arch],
            low=pct(share_at(run, -10), 0),
            zero=pct(share_at(run, 0), 0),
            high=pct(share_at(run, 20), 0),
        )
        for arch, run in runs.items()
    ]
    statements = [fill("statement_rising", threshold=PAPER_T, shares="; ".join(rising))]
    if "v0" in runs and len(runs) > 1:
        lowest = min(runs, key=lambda a: runs[a]["early_exit_share"])
        statements.append(
            fill("statement_v0", share=pct(runs["v0"]["early_exit_share"]), lowest=LABELS[lowest])
        )
    if "v1" in runs and "v2" in runs:
        statements.append(v1_v2_statement(runs["v1"], runs["v2"]))
    for arch, run in runs.items():
        faster = [s for s in sorted(map(int, run["per_snr"])) if (snr_timing(run, s, "batch1") or 0) > 1]
        if "timing" in run:
            statements.append(
                fill(
                    "statement_faster",
                    network=LABELS[arch],
                    threshold=PAPER_T,
                    snrs=snr_list(faster),
                    speedup=times(timing(run, "batched")),
                )
            )
    return [s for s in statements if s] + threshold_statements(networks)


def v1_v2_statement(v1_run: Mapping[str, Any], v2_run: Mapping[str, Any]) -> str:
    """Paper: V2's early exits are less accurate than V1's (empty where either has no early exit)."""
    v1, v2 = v1_run["early_exits_accuracy"], v2_run["early_exits_accuracy"]
    if v1 is None or v2 is None:
        return ""
    return fill(
        "statement_v1_v2",
        difference=f"{abs(100 * (v1 - v2)):.2f}",
        direction="less" if v2 < v1 else "more",
        v2=pct(v2),
        v1=pct(v1),
        v2_share=pct(v2_run["early_exit_share"]),
        v1_share=pct(v1_run["early_exit_share"]),
    )


def snr_list(snrs: Sequence[int]) -> str:
    if not snrs:
        return fill("snrs_none")
    return fill("snrs", count=len(snrs), snrs=", ".join(str(s) for s in snrs))


def threshold_statements(networks: Mapping[str, Network]) -> list[str]:
    """Paper: a higher T gives more early exits and less accuracy."""
    parts = []
    for arch in EARLY_EXIT_ARCHS:
        runs = [networks[arch].at(t) for t in ("0.05", PAPER_T, "0.6")]
        if any(run is None for run in runs):
            continue
        steps = " → ".join(f"{pct(r['early_exit_share'], 0)}/{pct(r['accuracy'], 1)}" for r in runs)
        parts.append(fill("statement_threshold_network", network=LABELS[arch], steps=steps))
    return [fill("statement_threshold", networks="; ".join(parts))] if parts else []


def choice_statement(choice: Choice) -> str:
    if choice.arch is None:
        return ""
    return fill("statement_choice", reason=choice.reason(LABELS))


# ---------------------------------------------------------------------------------------------------
# The whole page.


def write_report(args: argparse.Namespace) -> tuple[Path, Choice]:
    out = Path(args.out)
    figures_dir = out / "figures"
    networks = load_networks(Path(args.models), Path(args.logs), Path(args.evals))
    figures = make_figures(networks, figures_dir)
    choice = choose(networks, args.margin, args.speed_tolerance)
    shipped = Path(args.ship_to) if args.ship_to else None
    quick = args.quick
    sections = [
        "# Reproducing “Using Early Exits for Fast Inference in AMC” on our RML22 reproduction",
        status_section(networks, quick),
        how_section(networks, args.command, args.data, Path(args.evals)),
        choice_section(
            choice,
            choice_rows(networks, choice),
            shipped if not quick else None,
            args.margin,
            args.speed_tolerance,
        ),
        comparison_section(networks),
        differences_section(networks, choice, out / "discussion.md"),
        beyond_section(networks, figures, out),
        int8_section(networks),
        figures_section(figures, out),
        learning_section(networks, figures, out),
    ]
    path = out / "results.md"
    write_text_atomic(path, "\n\n".join(s for s in sections if s) + "\n")
    return path, choice


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="models", help="folder with rml22_<arch>.pt")
    parser.add_argument("--logs", default="reports/training", help="folder with <arch>.log.jsonl")
    parser.add_argument("--evals", default="reports/eval", help="folder with <arch>/T<t>/metrics.json")
    parser.add_argument("--out", default="reports", help="folder for results.md and figures/")
    parser.add_argument("--data", default="data/rml22.h5", help="the dataset file (named in the page)")
    parser.add_argument(
        "--command",
        default="scripts/reproduce.sh",
        help="the command that made the results (named in the page)",
    )
    parser.add_argument(
        "--margin",
        type=float,
        default=1.0,
        help="accuracy (percentage points) the shipped network may lose against the baseline",
    )
    parser.add_argument(
        "--speed-tolerance",
        type=float,
        default=0.05,
        help="batched speed-ups closer than this to the largest count as equal (the timings' scatter)",
    )
    parser.add_argument("--ship-to", default=None, help="copy the chosen network's model file here")
    parser.add_argument(
        "--ship-arch",
        choices=ARCHS[1:],
        default=None,
        help="ship this network whatever the rule says (e.g. while some networks are still training)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the results are from a quick run: say so at the top, ship nothing",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    configure_parser(parser)
    args = parser.parse_args(argv)
    if args.quick and args.ship_to:
        parser.error("--ship-to with --quick: a quick run's networks are never shipped")
    path, choice = write_report(args)
    print(f"wrote {path} and {Path(args.out) / 'figures'}/")
    print(f"shipped network: {choice.reason(LABELS)}")
    if args.ship_to:
        ship_choice(choice, args)
    return 0


def ship_choice(choice: Choice, args: argparse.Namespace) -> None:
    missing = [arch for arch in ARCHS if not (Path(args.models) / f"rml22_{arch}.pt").is_file()]
    arch, reason = choice.arch, choice.reason(LABELS)
    if args.ship_arch:
        arch, reason = (
            args.ship_arch,
            f"chosen by hand (--ship-arch {args.ship_arch}); the rule: {choice.reason(LABELS)}",
        )
    elif choice.arch is None or missing:
        print(
            f"not copying a model to {args.ship_to}: "
            + (f"networks {missing} have no model yet" if missing else "no network could be chosen"),
            file=sys.stderr,
        )
        return
    source = Path(args.models) / f"rml22_{arch}.pt"
    metrics_path = eval_folder(Path(args.evals), arch, "cal") / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
    ship(source, Path(args.ship_to), metrics, reason)
    print(
        f"wrote {args.ship_to} from {source}" + ("" if metrics else f" (no {metrics_path}: no test metrics)")
    )


if __name__ == "__main__":
    sys.exit(main())
