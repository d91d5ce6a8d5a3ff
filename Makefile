# One set of scripts for people and CI. Every target creates .venv if it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test check bench bench-smoke lint typecheck imports clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

## run: the main job: the web app on a fresh embedded SQLite database with synthetic demo data
run: $(STAMP)
	$(BIN)/msinfusion demo

## test: the whole test suite (installs Debian's chromium and PostgreSQL when missing)
test: $(STAMP)
	scripts/ensure-test-deps
	$(BIN)/python -m pytest -q

## check: ruff, mypy --strict on src/, import-linter layer contracts
check: lint typecheck imports

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict src

imports: $(STAMP)
	$(BIN)/lint-imports

## bench: speed benchmarks (results go to docs/benchmarks.md by hand, with machine and date)
bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks -q --benchmark-enable --benchmark-only \
		--benchmark-columns=min,median,mean,max,rounds -p no:randomly

## bench-smoke: every benchmark once at its small size, untimed (CI runs it so none rots)
bench-smoke: $(STAMP)
	scripts/ensure-test-deps
	$(BIN)/python -m pytest benchmarks -q --benchmark-disable -p no:randomly

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
