# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""The model's input contract: what a stream must look like before the network's answers mean anything.

A model only ever saw windows of one sample rate, one symbol rate and a small range of carrier offsets.
The model file records these facts; the channel front end (``channels.py``) brings a radio's samples to
them, and the blocks compare a stated stream rate with them. RML22's values are defined here once.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

#: RML22's sample rate: 2 samples per symbol of 66.67 us.
RML22_SAMPLE_RATE = 2 / 66.67e-6
RML22_SAMPLES_PER_SYMBOL = 2.0
#: RML22's root-raised-cosine roll-off (excess bandwidth).
RML22_ROLLOFF = 0.35
#: RML22's largest carrier offset: a 10 MHz oscillator off by at most 5 Hz, at a 1 GHz carrier.
RML22_MAX_CARRIER_OFFSET = 500.0


@dataclass(frozen=True)
class SignalContract:
    """The signal side of the contract (the window length and normalisation live in the network config).

    ``occupied_bandwidth`` is the bandwidth of the model's signals in Hz at ``sample_rate``: for RRC
    pulses (1 + roll-off) x the symbol rate, about 20.25 kHz for RML22. Construction checks the values,
    so a contract that exists is a usable one.
    """

    sample_rate: float
    samples_per_symbol: float
    rolloff: float
    occupied_bandwidth: float
    max_carrier_offset: float

    def __post_init__(self) -> None:
        values = asdict(self)
        bad = [name for name, value in values.items() if not _is_finite_number(value)]
        if bad:
            raise ValueError(f"{', '.join(bad)}: not a finite number, in {values}")
        if self.sample_rate <= 0 or self.samples_per_symbol <= 0 or self.occupied_bandwidth <= 0:
            raise ValueError(f"rates and bandwidth must be > 0, got {values}")
        if self.occupied_bandwidth > self.sample_rate:
            raise ValueError(
                f"occupied bandwidth {self.occupied_bandwidth} Hz exceeds the sample rate "
                f"{self.sample_rate} S/s"
            )
        if self.rolloff < 0 or self.max_carrier_offset < 0:
            raise ValueError(f"roll-off and carrier offset must be >= 0, got {values}")

    @property
    def symbol_rate(self) -> float:
        return self.sample_rate / self.samples_per_symbol

    def to_dict(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SignalContract:
        """From a model file's ``contract`` entry; raises ValueError naming what is missing or wrong.

        Keys beyond the five are ignored, so a later, additive version of the entry still loads."""
        if not isinstance(values, dict):
            raise ValueError(f"expected a dict of {', '.join(cls.__dataclass_fields__)}, got {values!r}")
        missing = [name for name in cls.__dataclass_fields__ if name not in values]
        if missing:
            raise ValueError(f"lacks {', '.join(missing)} (has {', '.join(map(str, values)) or 'nothing'})")
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})

    def describe(self) -> str:
        """One line for people: rate, samples/symbol, symbol rate, roll-off, bandwidth, offsets."""
        return (
            f"{self.sample_rate:,.1f} S/s, {self.samples_per_symbol:g} samples/symbol "
            f"({self.symbol_rate:,.1f} symbols/s), RRC roll-off {self.rolloff:g}, "
            f"~{self.occupied_bandwidth / 1e3:.1f} kHz occupied, carrier offsets up to "
            f"{self.max_carrier_offset:g} Hz"
        )


def _is_finite_number(value: Any) -> bool:
    # bool is an int to Python, but True as a sample rate is a mistake, not a value.
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def rrc_contract(
    sample_rate: float, samples_per_symbol: float, rolloff: float, max_carrier_offset: float
) -> SignalContract:
    """The contract of RRC-shaped signals: occupied bandwidth (1 + roll-off) x symbol rate."""
    return SignalContract(
        sample_rate=sample_rate,
        samples_per_symbol=samples_per_symbol,
        rolloff=rolloff,
        occupied_bandwidth=(1 + rolloff) * sample_rate / samples_per_symbol,
        max_carrier_offset=max_carrier_offset,
    )


#: What RML22 (and so every model trained on it) expects.
RML22_CONTRACT = rrc_contract(
    RML22_SAMPLE_RATE, RML22_SAMPLES_PER_SYMBOL, RML22_ROLLOFF, RML22_MAX_CARRIER_OFFSET
)


def rates_match(stated: float, expected: float, tolerance: float = 1e-3) -> bool:
    """Whether a stream's stated sample rate is the model's, within a relative ``tolerance``."""
    return abs(stated - expected) <= tolerance * expected
