"""Offline half of gr-eeamc: regenerate RML22-like data, train early-exit networks, evaluate per SNR."""
