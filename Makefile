# gr-eeamc: every target sets itself up first (scripts/setup.sh is quick when nothing changed).
#   make demo            live classification, no radio needed (DEMO_SECONDS=60, DEMO_ARGS="...")
#   make test            ctest (QA flowgraphs against the build) + pytest (against the installed module)
#   make lint            ruff check + ruff format --check
#   make format          ruff format + ruff check --fix
#   make band            synthetic band through the scanner, scored (BAND_SECONDS=30, BAND_ARGS="...")
#   make bench           benchmarks/bench_classifier.py (BENCH_ARGS="--quick" for a short run)
#   make reproduce       the paper's experiments end to end; reproduce-quick on a small set
#   make setup           only the set-up
#   make clean           remove build/ (the venv stays; `make distclean` removes it too)

VENV := .venv
PYTHON := $(VENV)/bin/python
RUFF := $(VENV)/bin/ruff
BUILD := build
DEMO_SECONDS ?= 60
DEMO_ARGS ?=
BENCH_ARGS ?=
BAND_SECONDS ?= 30
BAND_ARGS ?=
# pytest options, e.g. PYTEST_ARGS="-k engine -x"
PYTEST_ARGS ?=

.PHONY: setup demo band test ctest pytest lint format bench reproduce reproduce-quick clean distclean

setup:
	@scripts/setup.sh

demo: setup
	$(PYTHON) examples/live_demo.py --seconds $(DEMO_SECONDS) $(DEMO_ARGS)

band: setup
	$(PYTHON) examples/synthetic_band.py --seconds $(BAND_SECONDS) $(BAND_ARGS)

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

reproduce: setup
	scripts/reproduce.sh

reproduce-quick: setup
	scripts/reproduce.sh --quick

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV)
