#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tables of a model on several evaluations (metrics.json from `python -m training evaluate`), as Markdown.

    scripts/shipped_summary.py --eval "robust test=reports/eval/shipped/robust_test" \\
        --eval "RML22 test=reports/eval/shipped/rml22_test" --out reports/shipped_model.md

Per evaluation: accuracy overall, at >= 0 dB, at >= 10 dB and at 20 dB, per window and per decision over
8 windows of one stream (where the data have stream ids), and the share of early exits; then accuracy per
SNR, and per class at 20 dB (from the confusion matrices). Nothing is computed that metrics.json does not
hold: the numbers are window-weighted sums of its per-SNR entries.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

DECISION_N = "8"
TOP_SNR = "20"


def load(text: str) -> tuple[str, dict[str, Any]]:
    name, _, folder = text.partition("=")
    if not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=FOLDER, got {text!r}")
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{path}: no such file (run python -m training evaluate first)")
    return name, json.loads(path.read_text())


def weighted(per_snr: dict[str, dict[str, Any]], low: int, key: str = "accuracy") -> float | None:
    entries = [e for snr, e in per_snr.items() if int(snr) >= low and e.get(key) is not None]
    count = sum(e["windows"] if "windows" in e else e["decisions"] for e in entries)
    if not count:
        return None
    return sum(e[key] * (e["windows"] if "windows" in e else e["decisions"]) for e in entries) / count


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def decisions_at(metrics: dict[str, Any], low: int) -> float | None:
    decisions = metrics.get("decisions", {}).get("per_n", {}).get(DECISION_N)
    return None if decisions is None else weighted(decisions["per_snr"], low)


def summary_table(evaluations: list[tuple[str, dict[str, Any]]]) -> list[str]:
    lines = [
        f"| evaluation | windows | overall | >= 0 dB | >= 10 dB | {TOP_SNR} dB | {TOP_SNR} dB, decision over "
        f"{DECISION_N} | >= 10 dB, decision over {DECISION_N} | early exits |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in evaluations:
        per_snr = m["per_snr"]
        lines.append(
            f"| {name} | {m['windows']:,} | {percent(m['accuracy'])} | {percent(weighted(per_snr, 0))} | "
            f"{percent(weighted(per_snr, 10))} | {percent(per_snr.get(TOP_SNR, {}).get('accuracy'))} | "
            f"{percent(decisions_at(m, int(TOP_SNR)))} | {percent(decisions_at(m, 10))} | "
            f"{percent(m['early_exit_share'])} |"
        )
    return lines


def per_snr_table(evaluations: list[tuple[str, dict[str, Any]]]) -> list[str]:
    snrs = sorted({int(snr) for _, m in evaluations for snr in m["per_snr"]})
    lines = ["| SNR | " + " | ".join(name for name, _ in evaluations) + " |"]
    lines.append("| --- |" + " --- |" * len(evaluations))
    for snr in snrs:
        cells = [percent(m["per_snr"].get(str(snr), {}).get("accuracy")) for _, m in evaluations]
        lines.append(f"| {snr} dB | " + " | ".join(cells) + " |")
    return lines


def class_accuracy(metrics: dict[str, Any], snr: str) -> dict[str, float | None]:
    confusion = metrics["confusion"]
    matrix = confusion["per_snr"].get(snr)
    if matrix is None:
        return {}
    names = metrics["model"]["classes"]  # the matrix's rows are the true classes, in the model's order
    return {
        name: (row[i] / sum(row) if sum(row) else None)
        for i, (name, row) in enumerate(zip(names, matrix, strict=True))
    }


def per_class_table(evaluations: list[tuple[str, dict[str, Any]]]) -> list[str]:
    tables = [class_accuracy(m, TOP_SNR) for _, m in evaluations]
    names = list(dict.fromkeys(name for table in tables for name in table))
    lines = [f"| class ({TOP_SNR} dB) | " + " | ".join(name for name, _ in evaluations) + " |"]
    lines.append("| --- |" + " --- |" * len(evaluations))
    for cls in names:
        lines.append(f"| {cls} | " + " | ".join(percent(t.get(cls)) for t in tables) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--eval", type=load, action="append", required=True, help="NAME=FOLDER of metrics.json"
    )
    parser.add_argument("--title", default="The shipped model", help="heading of the Markdown")
    parser.add_argument("--out", type=Path, default=None, help="Markdown file to write (default: print)")
    args = parser.parse_args()
    lines = [
        f"## {args.title}",
        "",
        *summary_table(args.eval),
        "",
        "Accuracy per SNR:",
        "",
        *per_snr_table(args.eval),
    ]
    lines += ["", f"Accuracy per class at {TOP_SNR} dB:", "", *per_class_table(args.eval), ""]
    lines += ["Made by `scripts/shipped_summary.py` from:", ""]
    lines += [f"- {name}: `{m.get('command', '?')}` ({m.get('date', '?')})" for name, m in args.eval]
    text = "\n".join(lines) + "\n"
    if args.out is None:
        print(text, end="")
    else:
        args.out.write_text(text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
