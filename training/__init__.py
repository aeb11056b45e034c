# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""Offline half of gr-eeamc: regenerate RML22-like data, train early-exit networks, evaluate per SNR."""
