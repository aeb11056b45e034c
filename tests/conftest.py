"""Make the tests exercise this checkout: ``gnuradio.eeamc`` from python/ and ``training`` from the root,
ahead of any installed copy (which may be older than the source being tested)."""

import sys
from pathlib import Path

import gnuradio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
gnuradio.__path__.insert(0, str(ROOT / "python"))
