# Every target bootstraps .venv itself, so `make run` and `make test` work on a fresh clone.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SCENARIO ?= scenarios/default.toml

.PHONY: run ui test test-random-order lint lock stack bench stability compare clean

# constraints.txt pins every package to the version CI tested, so a fresh machine next month installs the
# same; a package it does not list (one a newer pyproject adds) still installs, unpinned.
$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Re-resolve pyproject.toml's ranges in a fresh virtualenv and pin the result in constraints.txt; then run
# `make test` and commit both files.
lock:
	rm -rf .venv-lock
	$(PY) -m venv .venv-lock
	.venv-lock/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	{ echo "# pip constraints: the versions make test ran with; refresh with make lock"; \
	  .venv-lock/bin/pip freeze --exclude-editable; } > constraints.txt
	rm -rf .venv-lock

run: $(STAMP)
	$(BIN)/brownout run $(SCENARIO)

ui: $(STAMP)
	$(BIN)/brownout run $(SCENARIO) --ui

# Four workers, one test file each at a time: most tests wait on real processes and sockets, not the CPU
# (593 tests: 3 min 49 s with four, 4 min 22 s with three, on 2 cores at load 2-4).
test: $(STAMP)
	$(BIN)/ruff check brownout targets tests locustfiles bench
	$(BIN)/mypy brownout targets
	$(BIN)/pytest -q -n 4 --dist loadfile tests

# Once in a while: the whole suite in a random order (module buckets; SEED=n to repeat an order).
test-random-order: $(STAMP)
	$(BIN)/pytest -q -n 4 --dist loadfile -p random_order --random-order-bucket=module \
		--random-order-seed=$(or $(SEED),$(shell date +%s)) tests

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
	rm -rf $(VENV) .venv-lock build *.egg-info .mypy_cache .ruff_cache .pytest_cache results/stack
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
