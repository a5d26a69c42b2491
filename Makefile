# sscard: the README's commands.
PY := .venv/bin/python

.PHONY: run test bench tui fuzz soak setup setup-test clean

setup:
	@scripts/setup

setup-test:
	@scripts/setup --test

## make run: the main job: the full conformance suite against the built-in emulated gen1/gen2/gen3 cards
run: setup
	@$(PY) -m sscard run

## make test: every test; installs what it needs, starts pcscd for the integration tests, stops it
## (three workers on two cores: the one running the pcscd group mostly waits on the daemon)
test: setup-test
	@scripts/pcscd-up
	@status=0; $(PY) -m pytest -q -p no:cacheprovider -n 3 --dist loadgroup $(PYTEST_ARGS) || status=$$?; \
	  scripts/pcscd-down; exit $$status

## make bench: in-process micro-benchmarks
bench: setup-test
	@$(PY) -m benchmarks

## make fuzz: the coverage-guided fuzz targets, long (the card: FUZZ_APDUS APDUs)
FUZZ_APDUS ?= 1000000
FUZZ_RUNS ?= 100000000
fuzz: setup-test
	@mkdir -p reports; status=0; \
	  SSCARD_FUZZ_APDUS=$(FUZZ_APDUS) $(PY) -m fuzz.fuzz_transmit -runs=$(FUZZ_RUNS) -seed=1 -artifact_prefix=reports/ > reports/fuzz.log 2>&1 || status=$$?; \
	  $(PY) -m fuzz.fuzz_loaders -runs=$(or $(FUZZ_LOADER_RUNS),200000) -seed=1 -artifact_prefix=reports/ >> reports/fuzz.log 2>&1 || status=$$?; \
	  grep -E '^(fuzz_|Done|==|Traceback|AssertionError)' reports/fuzz.log; exit $$status

## make soak: tearing with many kills (10,000 forked, 1,000 real through pcscd), 100,000 APDUs through pcscd with restarts, 1,000 cards in one process
SOAK_TEAR_RUNS ?= 1000
SOAK_FORK_TEAR_RUNS ?= 10000
soak: setup-test
	@scripts/pcscd-up
	@status=0; \
	  SSCARD_TEAR_FORK_RUNS=$(SOAK_FORK_TEAR_RUNS) $(PY) -m pytest -q -s -p no:cacheprovider tests/unit/test_tearing_inprocess.py || status=$$?; \
	  SSCARD_TEAR_RUNS=$(SOAK_TEAR_RUNS) $(PY) -m pytest -q -s -p no:cacheprovider tests/integration/test_tearing.py || status=$$?; \
	  $(PY) -m benchmarks.soak || status=$$?; \
	  $(PY) -m benchmarks.scale || status=$$?; \
	  scripts/pcscd-down; exit $$status

tui: setup
	@$(PY) -m sscard tui

clean:
	rm -rf .venv reports .pytest_cache
