# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
"""ctest guard: `from gnuradio import eeamc` must load the copy staged in the build tree.

If an installed copy shadowed it (for example one under /usr/lib/python3/dist-packages/gnuradio, which
comes before PYTHONPATH entries in GNU Radio's package path), the QA tests would test that copy instead.
"""

import os
import sys

from gnuradio import eeamc

staged = os.path.realpath(sys.argv[1])
loaded = os.path.dirname(os.path.realpath(eeamc.__file__))
if loaded != staged:
    sys.exit(
        f"gnuradio.eeamc was loaded from {loaded}, not from the build tree {staged}: "
        "uninstall the other copy or remove it from the Python path"
    )
print(f"gnuradio.eeamc loaded from the build tree: {loaded}")
