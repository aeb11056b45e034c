# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Choose a model's early-exit thresholds on the validation split and store them in the model file.

The thresholds keep the accuracy within --budget percentage points of the same network with its early
exits off (overall and, with --high-snr, also over the windows at or above that SNR, where a user
notices a loss most), while as many windows as possible leave early (--objective exits, the default) or
the mean compute per window is the least (--objective macs, which may switch off an exit that does not
pay for its own branch). Every exit is run once on every window; the outcome of any thresholds is then derived
exactly (see training.evaluate), so every candidate threshold is tried, not a coarse grid.

One early exit: the best threshold over all the sorted entropies of the windows (exact). Several early
exits: a greedy allocation of the budget (repeatedly raise the one threshold that saves the most per
window of accuracy lost, over a grid of entropy quantiles), then coordinate passes that move each
threshold to its best exact value with the others fixed, until nothing improves.

The thresholds and a `calibration` record (budget, split, accuracies with and without early exits,
exit shares, date) are written into the model's provenance; the file is replaced atomically.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from gnuradio.eeamc.model_file import Model, load_model, save_model_update
from gnuradio.eeamc.networks import EarlyExitNet

from training.datasets import Dataset, load_split, parse_snr_list
from training.evaluate import command_line, percent
from training.metrics import summarize
from training.outcomes import ExitOutputs, as_net, derive_outcome, exit_outputs

OBJECTIVES = ("exits", "macs")

#: Entropy quantiles per exit that the greedy phase steps through (the final passes are exact).
GREEDY_LEVELS = 100


@dataclass
class Calibration:
    """Chosen thresholds and what they give on the data they were fitted on."""

    thresholds: list[float]
    budget_pp: float
    high_snr_db: float | None  # the budget also held over windows at or above this SNR (None: overall only)
    objective: str
    windows: int
    accuracy: float
    exits_off_accuracy: float
    exit_share: list[float]
    early_exit_share: float
    early_exits_accuracy: float | None
    macs_per_window: float
    exits_off_macs_per_window: float

    def record(self, **context: Any) -> dict[str, Any]:
        """The provenance entry: these numbers plus where they come from (split, data, date, ...)."""
        return {
            **asdict(self),
            "method": "exact per-exit search over sorted entropies"
            + ("" if len(self.thresholds) <= 1 else ", greedy budget allocation then coordinate passes"),
            **context,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }


@dataclass
class Options:
    """Every distinct outcome of one exit's threshold, the others fixed. Option 0 switches the exit off;
    option j >= 1 lets the ``leaving[j]`` lowest entropies among the windows reaching the exit leave there
    (only where a tie group of entropies ends can a threshold split them). Counts are exact integers."""

    leaving: np.ndarray  # int64 [options]
    correct: np.ndarray  # int64 [options]: correct windows of the whole set
    correct_high: np.ndarray  # int64 [options]: correct windows at or above the high SNR
    final: np.ndarray  # int64 [options]: windows of the whole set that go through the whole backbone
    macs: np.ndarray  # int64 [options]: multiply-accumulates of the whole set
    entropy: np.ndarray  # float32, sorted: entropies of the windows reaching the exit
    largest_entropy: float  # log10(classes): no window can be less certain

    def threshold(self, option: int) -> float:
        """A threshold letting exactly ``leaving[option]`` windows through, midway to the next entropy so
        that rounding differences between batch sizes cannot move a window across it; float32 values
        like the engine's."""
        if option == 0:
            return 0.0
        i = int(self.leaving[option])
        low = np.float32(self.entropy[i - 1])
        if i == len(self.entropy):
            value = max(low, np.float32(self.largest_entropy))
        else:
            high = np.float32(self.entropy[i])
            middle = np.float32((float(low) + float(high)) / 2)
            value = middle if low < middle < high else low
        return float(max(value, np.nextafter(np.float32(0), np.float32(1))))  # > 0, or the exit is off

    def leaving_at(self, threshold: float) -> int:
        """How many of the reaching windows leave at ``threshold`` (0 = off)."""
        if threshold == 0:
            return 0
        return int(np.searchsorted(self.entropy, np.float32(threshold), side="right"))

    def grid(self) -> np.ndarray:
        """Options where the share leaving first reaches each of GREEDY_LEVELS quantiles."""
        if len(self.leaving) == 1:
            return np.zeros(0, dtype=np.int64)
        targets = np.ceil(np.arange(1, GREEDY_LEVELS + 1) * len(self.entropy) / GREEDY_LEVELS)
        return np.unique(np.searchsorted(self.leaving, targets).clip(1, len(self.leaving) - 1))


@dataclass
class State:
    """Totals of the whole set at some thresholds."""

    correct: int
    final: int
    macs: int


class Search:
    """Threshold search on stored exit outputs (no network runs).

    The cost compared is (windows reaching the end of the backbone, MACs) for objective "exits" and
    (MACs, windows reaching the end) for "macs", in that order of priority, in exact integers.
    """

    def __init__(
        self,
        outputs: ExitOutputs,
        budget_pp: float,
        objective: str,
        num_classes: int,
        high_snr_db: float | None = None,
    ) -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f"objective {objective!r}: use one of {OBJECTIVES}")
        if not math.isfinite(budget_pp) or budget_pp < 0:
            raise ValueError(f"budget {budget_pp!r}: expected percentage points >= 0, e.g. 0.5")
        self.outputs = outputs
        self.objective = objective
        self.count = len(outputs)
        self.last = outputs.num_exits - 1
        self.correct = outputs.predictions == outputs.labels[None, :]  # [exits, N]
        self.columns = np.arange(self.count)
        # Feasible: at least this many correct windows (the budget in points of accuracy, as a count).
        self.min_correct = int(self.correct[-1].sum()) - budget_pp / 100 * self.count - 1e-9
        # The same budget over the high-SNR windows (none: the constraint always holds).
        high = np.zeros(self.count, bool) if high_snr_db is None else outputs.snrs >= high_snr_db
        self.correct_high = self.correct & high[None, :]
        self.min_correct_high = int(self.correct_high[-1].sum()) - budget_pp / 100 * int(high.sum()) - 1e-9
        self.largest_entropy = math.log10(num_classes)
        # Greedy ranking only: one window fewer at the end outweighs any difference in MACs.
        most = float(outputs.exit_costs([True] * self.last).max())
        self.macs_weight = 1.0 / (2.0 * max(1, self.count) * most) if objective == "exits" else 1.0
        self.final_weight = 1.0 if objective == "exits" else 0.0

    def feasible(self, options: Options) -> np.ndarray:
        """Which options keep both budgets (overall and at high SNR)."""
        return (options.correct >= self.min_correct) & (options.correct_high >= self.min_correct_high)

    def keys(self, final: np.ndarray, macs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(primary, secondary) cost: lower is better."""
        return (final, macs) if self.objective == "exits" else (macs, final)

    def better(self, final: np.ndarray, macs: np.ndarray, state: State) -> np.ndarray:
        """Where (final, macs) costs strictly less than ``state``."""
        primary, secondary = self.keys(final, macs)
        current_primary, current_secondary = self.keys(np.int64(state.final), np.int64(state.macs))
        return (primary < current_primary) | ((primary == current_primary) & (secondary < current_secondary))

    def saving(self, final: np.ndarray, macs: np.ndarray, state: State) -> np.ndarray:
        """How much cheaper than ``state``, as one number (to rank greedy moves)."""
        return self.final_weight * (state.final - final) + self.macs_weight * (state.macs - macs)

    def score(self, thresholds: Sequence[float]) -> State:
        outcome = derive_outcome(self.outputs, thresholds)
        return State(
            correct=int(self.correct[outcome.exit, self.columns].sum()),
            final=int((outcome.exit == self.last).sum()),
            macs=int(outcome.macs.sum()),
        )

    def options(self, thresholds: Sequence[float], k: int) -> Options:
        """Every outcome of exit ``k``'s threshold with the other thresholds as given."""
        off = [*thresholds]
        off[k] = 0.0
        exits = derive_outcome(self.outputs, off).exit  # where each window goes with exit k off
        before = exits < k  # these never see exit k: their part is fixed
        reach = ~before
        enabled = [t > 0 for t in off]
        macs_off = self.outputs.exit_costs(enabled)
        enabled[k] = True
        macs_on = self.outputs.exit_costs(enabled)  # running exit k's branch costs the windows that pass
        fixed_macs = int(macs_off[exits[before]].sum())

        rest = exits[reach]  # where a reaching window goes when it does not leave at k
        order = np.argsort(self.outputs.entropies[k, reach], kind="stable")
        entropy = self.outputs.entropies[k, reach][order]
        ends = np.flatnonzero(np.append(entropy[:-1] < entropy[1:], True)) + 1 if len(entropy) else []
        ends = np.asarray(ends, dtype=np.int64)

        def kept(values: np.ndarray) -> np.ndarray:
            """Sum over the reaching windows that do not leave, for each option that lets some leave."""
            return values.sum() - np.cumsum(values[order])[ends - 1]

        def correct_counts(correct: np.ndarray) -> np.ndarray:
            """Correct windows (of those ``correct`` [exits, N] marks) for every option."""
            fixed = int(correct[exits[before], self.columns[before]].sum())
            rest_correct = correct[rest, self.columns[reach]].astype(np.int64)
            here = np.cumsum(correct[k, reach][order].astype(np.int64))[ends - 1]
            return np.concatenate([[rest_correct.sum()], here + kept(rest_correct)]) + fixed

        rest_final = (rest == self.last).astype(np.int64)
        return Options(
            leaving=np.concatenate([[0], ends]),
            correct=correct_counts(self.correct),
            correct_high=correct_counts(self.correct_high),
            final=np.concatenate([[rest_final.sum()], kept(rest_final)]),
            macs=np.concatenate([[macs_off[rest].sum()], ends * macs_on[k] + kept(macs_on[rest])])
            + fixed_macs,
            entropy=entropy,
            largest_entropy=self.largest_entropy,
        )

    def greedy(self, thresholds: list[float]) -> list[float]:
        """Spend the budget step by step on the move that saves the most cost per correct window lost,
        each move raising one threshold to one of GREEDY_LEVELS entropy quantiles of its exit; moves that
        lose nothing come first."""
        state = self.score(thresholds)
        for _ in range(len(thresholds) * GREEDY_LEVELS + 1):
            best_key, best_move = None, None
            for k in range(len(thresholds)):
                options = self.options(thresholds, k)
                grid = options.grid()
                grid = grid[
                    (options.leaving[grid] > options.leaving_at(thresholds[k]))
                    & self.feasible(options)[grid]
                    & self.better(options.final[grid], options.macs[grid], state)
                ]
                savings = self.saving(options.final[grid], options.macs[grid], state)
                for j, saving in zip(grid, savings):
                    lost = state.correct - int(options.correct[j])
                    key = (1, saving) if lost <= 0 else (0, saving / lost)
                    if best_key is None or key > best_key:
                        best_key, best_move = key, (k, options, int(j))
            if best_move is None:
                break
            k, options, j = best_move
            thresholds = [*thresholds]
            thresholds[k] = options.threshold(j)
            state = State(int(options.correct[j]), int(options.final[j]), int(options.macs[j]))
        return thresholds

    def polish(self, thresholds: list[float]) -> list[float]:
        """Coordinate passes: each threshold to its exact best (least cost, feasible), the others fixed."""
        state = self.score(thresholds)
        for _ in range(10):
            improved = False
            for k in range(len(thresholds)):
                options = self.options(thresholds, k)
                feasible = np.flatnonzero(self.feasible(options))
                if not len(feasible):
                    continue
                primary, secondary = self.keys(options.final[feasible], options.macs[feasible])
                # Least cost; among equal costs the most correct windows.
                j = int(feasible[np.lexsort((-options.correct[feasible], secondary, primary))[0]])
                if self.better(options.final[j], options.macs[j], state):
                    thresholds = [*thresholds]
                    thresholds[k] = options.threshold(j)
                    state = State(int(options.correct[j]), int(options.final[j]), int(options.macs[j]))
                    improved = True
            if not improved:
                break
        return thresholds

    def run(self) -> list[float]:
        thresholds = [0.0] * self.last
        if not thresholds:
            return thresholds
        return self.polish(self.greedy(thresholds))


def calibrate_outputs(
    outputs: ExitOutputs,
    budget_pp: float = 0.5,
    objective: str = "exits",
    num_classes: int | None = None,
    high_snr_db: float | None = None,
) -> Calibration:
    """Thresholds for stored exit outputs, and what they give on those windows (with ``high_snr_db``,
    the budget holds over the windows at or above it too)."""
    classes = num_classes or int(max(outputs.predictions.max(), outputs.labels.max()) + 1)
    search = Search(outputs, budget_pp, objective, classes, high_snr_db)
    thresholds = search.run()
    chosen = summarize(derive_outcome(outputs, thresholds), outputs.labels, outputs.num_exits)
    baseline = summarize(derive_outcome(outputs, 0.0), outputs.labels, outputs.num_exits)
    if chosen["accuracy"] < baseline["accuracy"] - budget_pp / 100 - 1e-12:  # the search guarantees it
        raise RuntimeError(f"calibration broke its budget: {chosen['accuracy']} vs {baseline['accuracy']}")
    return Calibration(
        thresholds=thresholds,
        budget_pp=float(budget_pp),
        high_snr_db=high_snr_db,
        objective=objective,
        windows=len(outputs),
        accuracy=chosen["accuracy"],
        exits_off_accuracy=baseline["accuracy"],
        exit_share=chosen["exit_share"],
        early_exit_share=chosen["early_exit_share"],
        early_exits_accuracy=chosen["early_exits_accuracy"],
        macs_per_window=chosen["macs_per_window"],
        exits_off_macs_per_window=baseline["macs_per_window"],
    )


def calibrate(
    model: Model | EarlyExitNet,
    dataset: Dataset,
    budget_pp: float = 0.5,
    device: str | torch.device = "cpu",
    objective: str = "exits",
    batch_size: int = 1024,
    high_snr_db: float | None = None,
) -> Calibration:
    """Run every exit once on ``dataset`` (windows normalised as the model file says) and calibrate."""
    if isinstance(model, Model) and list(dataset.classes) != list(model.classes):
        raise ValueError(
            f"the dataset's classes {list(dataset.classes)} are not the model's {list(model.classes)}: "
            "load the data with classes=model.classes"
        )
    if len(dataset) == 0:
        raise ValueError("cannot calibrate on an empty dataset: check the split and the SNR filter")
    outputs = exit_outputs(model, dataset, device, batch_size)
    return calibrate_outputs(outputs, budget_pp, objective, as_net(model).num_classes, high_snr_db)


def calibrate_thresholds(
    model: Model | EarlyExitNet,
    dataset: Dataset,
    budget_pp: float = 0.5,
    device: str | torch.device = "cpu",
    objective: str = "exits",
) -> list[float]:
    """Thresholds (one per early exit) within ``budget_pp`` points of the accuracy with exits off."""
    return calibrate(model, dataset, budget_pp, device, objective).thresholds


def calibrate_model(
    model: Model,
    dataset: Dataset,
    budget_pp: float = 0.5,
    device: str | torch.device = "cpu",
    objective: str = "exits",
    high_snr_db: float | None = None,
    **context: Any,
) -> Calibration:
    """Calibrate and store the result in ``model`` (thresholds and provenance["calibration"]); the caller
    saves the file. ``context`` (split, data, seed, ...) goes into the record."""
    result = calibrate(model, dataset, budget_pp, device, objective, high_snr_db=high_snr_db)
    model.thresholds = list(result.thresholds)
    model.provenance = {**model.provenance, "calibration": result.record(**context)}
    return result


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file (.pt) to calibrate")
    parser.add_argument("--data", required=True, help="dataset file the model was trained on")
    parser.add_argument(
        "--budget",
        type=float,
        default=0.5,
        help="accuracy the early exits may cost, in percentage points of the exits-off accuracy",
    )
    parser.add_argument(
        "--high-snr",
        type=_optional_float,
        default=10.0,
        help="the budget also holds over the windows at or above this SNR (dB); 'none': overall only",
    )
    parser.add_argument(
        "--split",
        default="val",
        choices=("train", "val", "test", "all"),
        help="part of the paper's split to fit on",
    )
    parser.add_argument(
        "--objective",
        default="exits",
        choices=OBJECTIVES,
        help="most windows leaving early, or least MACs per window",
    )
    parser.add_argument(
        "--snrs", default=None, help="SNRs to keep: a comma list or start:stop:step; none = all"
    )
    add_model_update_options(parser, "the calibrated model")


def add_model_update_options(parser: argparse.ArgumentParser, written: str) -> None:
    """The options of a command that runs a model over a split and writes it back: split seed, device,
    batch size and where ``written`` goes (in place by default, keeping a .bak)."""
    parser.add_argument("--seed", type=int, default=25, help="seed of the dataset split")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, default=1024, help="inference batch size")
    parser.add_argument(
        "--out",
        default=None,
        help=f"where to write {written}; none = update --model in place, the original kept as <name>.bak",
    )


def _optional_float(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of dB or 'none', got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    dataset = load_split(
        args.data,
        args.split,
        seed=args.seed,
        classes=list(model.classes),
        snrs=parse_snr_list(args.snrs),
        length=model.input_length,
    )
    previous = list(model.thresholds)
    result = calibrate_model(
        model,
        dataset,
        args.budget,
        args.device,
        args.objective,
        high_snr_db=args.high_snr,
        split=args.split,
        data=str(args.data),
        seed=args.seed,
        command=command_line("calibrate", args),
    )
    out = save_model_update(model, args.model, args.out)
    print_summary(result, previous, args.split, str(out))
    return 0


def print_summary(result: Calibration, previous: list[float], split: str, out: str) -> None:
    if not result.thresholds:
        print(f"the network has no early exit: nothing to calibrate; wrote {out}")
        return
    shares = ", ".join(percent(s) for s in result.exit_share[:-1])
    print(
        f"thresholds {previous} -> {[round(t, 6) for t in result.thresholds]} "
        f"(budget {result.budget_pp} points"
        + ("" if result.high_snr_db is None else f", also at >= {result.high_snr_db:g} dB")
        + f", objective {result.objective}, {result.windows} {split} windows)"
    )
    print(
        f"accuracy {percent(result.accuracy)} (early exits off {percent(result.exits_off_accuracy)}); "
        f"windows leaving at each early exit: {shares}; early exits' accuracy "
        f"{percent(result.early_exits_accuracy)}; {result.macs_per_window / 1e6:.3f} M MAC/window "
        f"(exits off {result.exits_off_macs_per_window / 1e6:.3f} M)"
    )
    print(f"wrote {out}")
