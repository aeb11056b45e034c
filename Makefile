# Copyright 2026 The gr-eeamc authors
# SPDX-License-Identifier: GPL-3.0-or-later
# gr-eeamc: every target sets itself up first (scripts/setup.sh is quick when nothing changed).
#   make demo            a synthetic radio band through the scanner, scored live against the truth,
#                        no radio needed (DEMO_SECONDS=30, DEMO_ARGS="--no-throttle --json out.json")
#   make demo-stream     one stream at the model's rate through eeamc.classifier (STREAM_SECONDS=60,
#                        STREAM_ARGS="...")
#   make test            ctest (QA flowgraphs against the build) + pytest (against the installed module)
#   make lint            ruff check + ruff format --check
#   make format          ruff format + ruff check --fix
#   make bench-scanner   benchmarks/bench_scanner.py: MS/s of band for 1, 4 and 8 channels
#   make bench           benchmarks/bench_classifier.py (BENCH_ARGS="--quick" for a short run)
#   make reproduce       the paper's experiments end to end; reproduce-quick on a small set
#   make setup           only the set-up
#   make clean           remove build/ (the venv stays; `make distclean` removes it too)

VENV := .venv
PYTHON := $(VENV)/bin/python
RUFF := $(VENV)/bin/ruff
BUILD := build
DEMO_SECONDS ?= 30
DEMO_ARGS ?=
STREAM_SECONDS ?= 60
STREAM_ARGS ?=
BENCH_ARGS ?=
# pytest options, e.g. PYTEST_ARGS="-k engine -x"
PYTEST_ARGS ?=

.PHONY: setup demo demo-stream test ctest pytest lint format bench bench-scanner reproduce reproduce-quick clean distclean

setup:
	@scripts/setup.sh

demo: setup
	$(PYTHON) examples/synthetic_band.py --seconds $(DEMO_SECONDS) $(DEMO_ARGS)

demo-stream: setup
	$(PYTHON) examples/live_demo.py --seconds $(STREAM_SECONDS) $(STREAM_ARGS)

test: setup
	$(MAKE) --no-print-directory -k ctest pytest

# The two halves, without the set-up (for when it was just done).
ctest:
	cd $(BUILD) && ctest --output-on-failure

pytest:
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

lint: setup
	$(RUFF) check .
	$(RUFF) format --check .

format: setup
	$(RUFF) format .
	$(RUFF) check --fix .

bench: setup
	$(PYTHON) benchmarks/bench_classifier.py $(BENCH_ARGS)

bench-scanner: setup
	$(PYTHON) benchmarks/bench_scanner.py $(BENCH_ARGS)

reproduce: setup
	scripts/reproduce.sh

reproduce-quick: setup
	scripts/reproduce.sh --quick

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV)
