# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""From complex samples to the network's input: framing, per-window normalisation, validity.

The block and the dataset generator both go through here, so a window is normalised the same way
at training time and on air.
"""

from __future__ import annotations

import numpy as np

#: Normalisations a model file may name. "l1" is RML22's x / sum|x|; "l2" scales to unit energy;
#: "none" passes samples through.
NORMALIZATIONS = ("l1", "l2", "none")


def frame(samples: np.ndarray, length: int) -> np.ndarray:
    """Complex samples [N * length] -> float32 windows [N, 2, length] (row 0 = I, row 1 = Q)."""
    count = samples.shape[0] // length
    iq = samples[: count * length].reshape(count, length)
    return np.stack([iq.real, iq.imag], axis=1).astype(np.float32, copy=False)


def normalize(windows: np.ndarray, method: str = "l1") -> np.ndarray:
    """Normalise each window [N, 2, L] as a model expects; windows of zero norm are left at zero."""
    if method == "none":
        return windows
    magnitude = np.sqrt(windows[:, 0] ** 2 + windows[:, 1] ** 2)
    if method == "l1":
        norm = magnitude.sum(axis=1)
    elif method == "l2":
        norm = np.sqrt((magnitude**2).sum(axis=1))
    else:
        raise ValueError(f"unknown normalisation {method!r}: use one of {NORMALIZATIONS}")
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norm > 0, 1.0 / norm, 0.0).astype(np.float32)
    return windows * scale[:, None, None]


def valid_windows(windows: np.ndarray) -> np.ndarray:
    """True for windows that can be classified: every value finite and not all zero."""
    finite = np.isfinite(windows).all(axis=(1, 2))
    nonzero = np.abs(np.where(np.isfinite(windows), windows, 0)).max(axis=(1, 2)) > 0
    return finite & nonzero
