#!/usr/bin/env python3
# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Measure what the scanner's detector sees of each of the model's classes at the model's own rate.

Every RML22 class (made by training/modulators.py, as the training data) is placed in one 2.4 MS/s band
(training/wideband.py), the band's spectrum is averaged as ``eeamc.signal_detector`` does, and each
signal's detected bandwidth (as a multiple of the model's occupied bandwidth), SNR and centre error are
printed for several SNRs. channels.SAME_RATE_BANDWIDTHS, the range of bandwidths classified at the
model's rate without resampling, comes from this table.

    .venv/bin/python scripts/measure_bandwidths.py [--snrs 0,10,20,30] [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import sys

from gnuradio.eeamc.channels import WelchSpectrum, find_signals
from gnuradio.eeamc.contract import RML22_CONTRACT
from gnuradio.eeamc.networks import RML22_CLASSES
from gnuradio.eeamc.signal_detector import detector_fft_size

from training import wideband

SPACING_HZ = 220e3


def measure(snr_db: float, seconds: float, seed: int) -> dict[str, tuple[float, float, float]]:
    """Per class: detected bandwidth / the model's, SNR (dB), centre error (Hz)."""
    placed = {name: -1.0e6 + index * SPACING_HZ for index, name in enumerate(RML22_CLASSES)}
    samples, _ = wideband.band(list(placed.items()), seconds, snr_db=snr_db, freq_error=0, seed=seed)
    bandwidth = RML22_CONTRACT.occupied_bandwidth
    spectrum = WelchSpectrum(wideband.BAND_RATE, detector_fft_size(wideband.BAND_RATE, bandwidth), 0.1)
    spectrum.update(samples)
    found = find_signals(
        spectrum.psd,
        spectrum.freqs,
        min_snr_db=0,
        min_bandwidth=0,
        max_channels=32,
        averages=spectrum.segments,
    )
    table = {}
    for name, centre in placed.items():
        nearest = min(found, key=lambda d: abs(d.freq_offset - centre))
        if abs(nearest.freq_offset - centre) < SPACING_HZ / 2:
            table[name] = (nearest.bandwidth / bandwidth, nearest.snr_db, nearest.freq_offset - centre)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snrs", default="0,10,20,30", help="SNRs (dB, in the model's bandwidth)")
    parser.add_argument("--seconds", type=float, default=0.5, help="seconds of band per SNR")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    print("bandwidth / model's occupied bandwidth (SNR dB, centre error Hz); '-' = not found")
    print("SNR  " + " ".join(f"{name:>16s}" for name in RML22_CLASSES))
    for snr in (float(s) for s in args.snrs.split(",")):
        table = measure(snr, args.seconds, args.seed)
        cells = [
            f"{table[n][0]:5.2f} ({table[n][1]:3.0f},{table[n][2]:4.0f})" if n in table else "-"
            for n in RML22_CLASSES
        ]
        print(f"{snr:4.0f} " + " ".join(f"{cell:>16s}" for cell in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
