# Every target bootstraps .venv itself, so `make run` and `make test` work on a fresh clone.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SCENARIO ?= scenarios/default.toml

.PHONY: run ui test lint stack bench stability compare clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/brownout run $(SCENARIO)

ui: $(STAMP)
	$(BIN)/brownout run $(SCENARIO) --ui

# Three workers, one test file each at a time: most tests wait on real processes and sockets, not the CPU.
test: $(STAMP)
	$(BIN)/ruff check brownout targets tests locustfiles bench
	$(BIN)/mypy brownout targets
	$(BIN)/pytest -q -n 3 --dist loadfile tests

lint: $(STAMP)
	$(BIN)/ruff check brownout targets tests locustfiles bench
	$(BIN)/mypy brownout targets

stack: $(STAMP)
	$(BIN)/brownout stack up --run-dir results/stack

bench: $(STAMP)
	$(BIN)/python -m bench

# Shipped scenarios on a healthy build: smoke x20, ci x10, default x3 (about 40 minutes); passes and reasons.
stability: $(STAMP)
	$(BIN)/python -m bench.stability

# make compare BASE=results/a NEW=results/b [TOLERANCE=tolerance.toml] [OUT=dir]
compare: $(STAMP)
	$(BIN)/brownout compare $(BASE) $(NEW) $(if $(TOLERANCE),--tolerance $(TOLERANCE)) $(if $(OUT),--out $(OUT))

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache results/stack
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
